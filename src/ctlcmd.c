/* anjuctl's commands (see ctlcmd.h). */
#include "ctlcmd.h"
#include "anju-build.h"
#include "clock.h"
#include "config.h"
#include "ctl.h"
#include "hub.h"
#include "inbox.h"
#include "log.h"
#include "refusals.h"
#include "rules.h"
#include "settings.h"
#include "store.h"
#include "util.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The audit trail goes out a page at a time (anjuctl asks for the next). */
#define HISTORY_PAGE 200

/* A connection waiting for sensor events (walktest, test sensor) or for a
 * test call's answer. */
struct walk {
        struct walk *next;
        struct ctlcmd *cc;
        struct ctl_conn *conn;          /* NULL once the client went away */
        enum { WALK_ALL, WALK_ONE, WALK_DISPATCH } kind;
        uint32_t sensor;                /* WALK_ONE */
        bool *fired;                    /* WALK_ALL: per sensor */
        size_t left;
        sd_event_source *timeout;
};

struct ctlcmd {
        struct hub *hub;
        const struct config *cfg;
        struct ctl *ctl;
        struct walk *walks;
};

static json_t *error_reply(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static json_t *error_reply(const char *fmt, ...) {
        char buf[600];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(buf, sizeof buf, fmt, ap);
        va_end(ap);
        /* "%.40s" of a command may cut a character: no answer at all then */
        return json_pack("{s:b, s:s}", "ok", 0, "error", utf8_trim(buf));
}

static json_t *not_found(const char *what) {
        return json_pack("{s:b, s:s, s:b}", "ok", 0, "error", what, "not_found", 1);
}

static json_t *time_or_null(uint64_t wall) {
        char buf[40];

        return wall ? json_string(format_rfc3339(buf, sizeof buf, wall)) : json_null();
}

static const char *actor_of(struct ctl_conn *c, char *buf, size_t n) {
        snprintf(buf, n, "ctl:%s", ctl_conn_actor(c));
        return buf;
}

/* --- status, sensors --------------------------------------------------- */

static json_t *status(struct ctlcmd *cc) {
        const struct config *cfg = cc->cfg;
        struct hub_status st;
        json_t *open = json_array(), *refused = json_object();
        const char *id;
        enum incident_type type;

        hub_get_status(cc->hub, &st);
        for (size_t i = 0; hub_open_incident(cc->hub, i, &id, &type); i++)
                json_array_append_new(open, json_pack("{s:s, s:s}", "id", id, "type", incident_type_to_string(type)));
        for (int k = 0; k < _REFUSED_MAX; k++)
                json_object_set_new(refused, refusal_kind_to_string((enum refusal_kind) k),
                                    json_integer((json_int_t) st.refused[k]));
        return json_pack("{s:b, s:s, s:s, s:o, s:o, s:f, s:s, s:s, s:o, s:{s:b, s:b, s:b, s:s, s:i, s:I, s:I, s:o},"
                         " s:{s:s, s:b, s:I, s:I, s:I, s:I}, s:o, s:o, s:{s:I, s:I}, s:o, s:o, s:b, s:I}",
                         "ok", 1, "hub", cfg->hub.id, "version", ANJU_VERSION,
                         "now", time_or_null(clock_wall()), "started", time_or_null(st.started),
                         "time_scale", clock_scale(), "resident", cfg->resident.name ? cfg->resident.name : "",
                         "presence", st.presence, "last_activity", time_or_null(st.last_activity),
                         "broker", "connected", st.broker_connected, "safety_lane", st.safety_lane_connected,
                         "flapping", st.broker_flapping, "host", cfg->mqtt.host, "port", (int) cfg->mqtt.port,
                         "received_safety", (json_int_t) st.received[LANE_SAFETY],
                         "received_busy", (json_int_t) st.received[LANE_BUSY],
                         "dropped", st.broker_dropped >= 0 ? json_integer(st.broker_dropped) : json_null(),
                         "dispatch", "url", cfg->dispatch.url, "link_up", st.link_up, "pending", (json_int_t) st.pending,
                         "delivered", (json_int_t) st.delivered, "failed_attempts", (json_int_t) st.failed_attempts,
                         "refused_by_center", (json_int_t) st.refused_by_center,
                         "outbox_depth", st.outbox_depth >= 0 ? json_integer(st.outbox_depth) : json_null(),
                         "open_incidents", open,
                         "sensors", "total", (json_int_t) st.sensors, "offline", (json_int_t) st.offline,
                         "refused", refused,
                         "clock_synced", st.clock_synced < 0 ? json_null() : json_boolean(st.clock_synced),
                         "storage_ok", st.storage_ok, "messages", (json_int_t) st.messages);
}

static json_t *sensors(struct ctlcmd *cc) {
        json_t *list = json_array();

        for (uint32_t i = 0; i < cc->cfg->n_sensors; i++) {
                const struct sensor_conf *s = &cc->cfg->sensors[i];
                const struct sensor_live *l = hub_sensor_live(cc->hub, i);
                char line[300];

                /* MQTT: the topic; GPIO: "gpio:<chip>:<line>". */
                snprintf(line, sizeof line, "gpio:%s:%d", s->gpio_chip ? s->gpio_chip : "?", s->gpio_line);
                json_t *row = json_pack(
                        "{s:s, s:s, s:o, s:s, s:o, s:o, s:o, s:o}", "id", s->id,
                        "kind", sensor_kind_to_string(s->kind), "room", s->room ? json_string(s->room) : json_null(),
                        "source", s->topic ? s->topic : line,
                        /* null: behind a bridge that is offline, unknown */
                        "online", hub_sensor_unknown(cc->hub, i) ? json_null()
                                                                 : json_boolean(hub_sensor_online(cc->hub, i)),
                        "last_seen", time_or_null(l ? l->last_seen : 0),
                        "battery", l && l->battery >= 0 ? json_real(l->battery) : json_null(),
                        "value", !l || isnan(l->value) ? json_null() : json_real(l->value));

                /* A radar's or fall detector's: someone there (1) or not (0). */
                if (row && l && !isnan(l->presence))
                        json_object_set_new(row, "presence", json_real(l->presence));
                json_array_append_new(list, row);
        }
        return json_pack("{s:b, s:o}", "ok", 1, "sensors", list);
}

/* --- incidents ---------------------------------------------------------- */

static int incident_row(const struct store_incident *inc, void *ud) {
        json_t **slot = ud, *o;

        o = json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o}", "id", inc->id,
                      "type", incident_type_to_string(inc->type), "severity", severity_to_string(inc->severity),
                      "state", inc->state, "sensor", inc->sensor ? json_string(inc->sensor) : json_null(),
                      "reason", inc->reason ? json_string(inc->reason) : json_null(),
                      "opened_at", time_or_null(inc->opened_at), "closed_at", time_or_null(inc->closed_at));
        if (json_is_array(*slot))
                json_array_append_new(*slot, o);
        else
                *slot = o;
        return 0;
}

static int timeline_row(const struct store_timeline_row *row, void *ud) {
        json_array_append_new(ud, json_pack("{s:o, s:s, s:s?, s:s?, s:s?}", "at", time_or_null(row->at), "event",
                                            row->event, "actor", row->actor, "channel", row->channel, "note",
                                            row->note));
        return 0;
}

static json_t *incidents(struct ctlcmd *cc, json_t *req) {
        struct store *st = hub_store(cc->hub);
        json_int_t limit = json_integer_value(json_object_get(req, "limit"));
        json_t *list = json_array();

        if (!st)
                return json_decref(list), error_reply("the database is not available");
        if (store_incidents_foreach(st, json_is_true(json_object_get(req, "open")),
                                    limit > 1000 ? 1000 : limit > 0 ? limit : 50, incident_row, &list) < 0)
                return json_decref(list), error_reply("reading the incidents failed (see the log)");
        return json_pack("{s:b, s:o}", "ok", 1, "incidents", list);
}

static json_t *show(struct ctlcmd *cc, json_t *req) {
        const char *id = json_string_value(json_object_get(req, "id"));
        struct store *st = hub_store(cc->hub);
        json_t *inc = NULL, *tl;
        int r;

        if (!id)
                return error_reply("show needs an incident id");
        if (!st)
                return error_reply("the database is not available");
        r = store_incident_get(st, id, incident_row, &inc);
        if (r == -ENOENT || !inc)
                return json_decref(inc), not_found("no such incident");
        if (r < 0)
                return json_decref(inc), error_reply("reading the incident failed (see the log)");
        tl = json_array();
        (void) store_timeline_foreach(st, id, timeline_row, tl);
        json_object_set_new(inc, "timeline", tl);
        return json_pack("{s:b, s:o}", "ok", 1, "incident", inc);
}

static json_t *answer(struct ctlcmd *cc, struct ctl_conn *c, json_t *req) {
        const char *id = json_string_value(json_object_get(req, "id"));
        const char *action = json_string_value(json_object_get(req, "action"));
        const char *note = json_string_value(json_object_get(req, "note"));
        char actor[96];
        const char *why, *result = NULL;
        bool missing = false;

        if (!id || !action)
                return error_reply("needs an incident id and an action");
        why = hub_answer(cc->hub, id, action, actor_of(c, actor, sizeof actor), note, &result, &missing);
        if (!why)
                return json_pack("{s:b, s:s}", "ok", 1, "result", result ? result : "applied");
        return json_pack("{s:b, s:s, s:b}", "ok", 0, "error", why, "not_found", missing);
}

/* --- settings ------------------------------------------------------------- */

struct page {
        json_t *rows;
        int64_t last;
        size_t n;
};

static int audit_row(const struct store_audit_row *row, void *ud) {
        struct page *p = ud;

        json_array_append_new(p->rows, json_pack("{s:o, s:s?, s:s?, s:s?, s:s?, s:s?, s:s?}", "at",
                                                 time_or_null(row->at), "key", row->key, "old", row->old, "new",
                                                 row->value, "actor", row->actor, "channel", row->channel, "result",
                                                 row->result));
        p->last = row->seq;
        p->n++;
        return 0;
}

static json_t *settings_object(struct ctlcmd *cc) {
        json_t *o = json_object();
        char name[96], val[64];

        for (size_t i = 0; settings_name(i, name, sizeof name); i++)
                if (settings_get(hub_settings(cc->hub), name, val, sizeof val) == 0)
                        json_object_set_new(o, name, json_string(val));
        return o;
}

/* get --history: a page of HISTORY_PAGE rows after "after"; "next" says
 * where the next page starts (absent on the last). */
static json_t *history(struct ctlcmd *cc, const char *key, json_t *req) {
        struct page p = { .rows = json_array() };
        json_int_t after = json_integer_value(json_object_get(req, "after"));
        struct store *st = hub_store(cc->hub);
        json_t *res;

        if (st && store_audit_foreach(st, key, after > 0 ? after : 0, HISTORY_PAGE, audit_row, &p) < 0)
                return json_decref(p.rows), error_reply("reading the history failed (see the log)");
        res = json_pack("{s:b, s:o}", "ok", 1, "history", p.rows);
        if (p.n == HISTORY_PAGE)
                json_object_set_new(res, "next", json_integer(p.last));
        return res;
}

static json_t *get(struct ctlcmd *cc, json_t *req) {
        const char *key = json_string_value(json_object_get(req, "key"));
        char val[64];

        if (json_is_true(json_object_get(req, "history")))
                return history(cc, key, req);
        if (!key)
                return json_pack("{s:b, s:s, s:o}", "ok", 1, "risk", risk_tier_to_string(cc->cfg->resident.risk),
                                 "settings", settings_object(cc));
        if (settings_get(hub_settings(cc->hub), key, val, sizeof val) < 0)
                return not_found("unknown setting (anjuctl get lists them)");
        return json_pack("{s:b, s:s, s:s}", "ok", 1, "key", key, "value", val);
}

static json_t *set(struct ctlcmd *cc, struct ctl_conn *c, json_t *req) {
        const char *key = json_string_value(json_object_get(req, "key"));
        const char *value = json_string_value(json_object_get(req, "value"));
        char actor[96], err[600], now[64];

        if (!key || !value)
                return error_reply("set needs a key and a value");
        if (settings_set(hub_settings(cc->hub), key, value, actor_of(c, actor, sizeof actor), "ctl", err, sizeof err))
                /* An unknown key is "no such setting" (anjuctl exits 4), as for get. */
                return json_pack("{s:b, s:s, s:b}", "ok", 0, "error", err, "not_found",
                                 settings_get(hub_settings(cc->hub), key, now, sizeof now) < 0);
        (void) settings_get(hub_settings(cc->hub), key, now, sizeof now);
        return json_pack("{s:b, s:s, s:s}", "ok", 1, "key", key, "value", now);
}

/* --- walk tests, sensor tests, test calls ------------------------------------ */

static void on_tap(const struct event *ev, void *userdata);

static void walk_free(struct walk *w) {
        sd_event_source_disable_unref(w->timeout);
        free(w->fired);
        free(w);
}

static void walk_end(struct walk *w) {
        struct ctlcmd *cc = w->cc;

        if (w->conn) {
                ctl_conn_set_data(w->conn, NULL);
                ctl_conn_set_busy(w->conn, false);
        }
        if (w->kind == WALK_DISPATCH)
                hub_forget_test_call(cc->hub, w);
        else
                hub_remove_tap(cc->hub, on_tap, w);
        for (struct walk **p = &cc->walks; *p; p = &(*p)->next)
                if (*p == w) {
                        *p = w->next;
                        break;
                }
        walk_free(w);
}

static bool on_refused(const char *why, void *userdata) {
        struct ctlcmd *cc = userdata;

        return hub_refused(cc->hub, REFUSED_CTL, why);
}

static void on_closed(struct ctl_conn *c, void *userdata) {
        struct walk *w = ctl_conn_get_data(c);

        if (!w)
                return;
        w->conn = NULL;
        walk_end(w);
}

static json_t *event_json(const struct config *cfg, const struct event *ev) {
        const struct sensor_conf *s = &cfg->sensors[ev->sensor];

        return json_pack("{s:s, s:s, s:o, s:s, s:f, s:o}", "event", "fired", "sensor", s->id,
                         "room", s->room ? json_string(s->room) : json_null(),
                         "attr", event_attr_to_string(ev->attr), "value", ev->value, "at", time_or_null(ev->wall));
}

static void on_tap(const struct event *ev, void *userdata) {
        struct walk *w = userdata;
        const struct config *cfg = w->cc->cfg;

        if (!w->conn || ev->retained || ev->attr == ATTR_ONLINE || ev->attr == ATTR_BATTERY)
                return;
        if (w->kind == WALK_ONE && ev->sensor == w->sensor) {
                json_t *j = event_json(cfg, ev);
                json_object_set_new(j, "ok", json_true());
                ctl_send(w->conn, j);
                walk_end(w);
        } else if (w->kind == WALK_ALL) {
                json_t *j = event_json(cfg, ev);
                if (!w->fired[ev->sensor]) {
                        w->fired[ev->sensor] = true;
                        w->left--;
                }
                json_object_set_new(j, "left", json_integer((json_int_t) w->left));
                ctl_send(w->conn, j);
                if (w->left == 0) {
                        ctl_send(w->conn, json_pack("{s:s}", "event", "done"));
                        walk_end(w);
                }
        }
}

static int on_walk_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        struct walk *w = userdata;

        if (w->conn)
                ctl_send(w->conn, json_pack("{s:b, s:s, s:b}", "ok", 0, "error",
                                            w->kind == WALK_DISPATCH ? "no answer from the dispatch center in time"
                                                                     : "the sensor did not report in time",
                                            "timeout", 1));
        walk_end(w);
        return 0;
}

static struct walk *walk_new(struct ctlcmd *cc, struct ctl_conn *c, int kind, uint64_t timeout) {
        struct walk *w;

        if (ctl_conn_get_data(c))
                return NULL;    /* one at a time per connection */
        w = calloc(1, sizeof *w);
        if (!w)
                return NULL;
        w->cc = cc;
        w->conn = c;
        w->kind = kind;
        if ((timeout && sd_event_add_time_relative(hub_event(cc->hub), &w->timeout, CLOCK_MONOTONIC, timeout,
                                                   USEC_PER_MSEC, on_walk_timeout, w) < 0) ||
            (kind != WALK_DISPATCH && hub_add_tap(cc->hub, on_tap, w) < 0)) {
                walk_free(w);
                return NULL;
        }
        w->next = cc->walks;
        cc->walks = w;
        ctl_conn_set_data(c, w);
        /* Waiting for a sensor or a center is not idle. */
        ctl_conn_set_busy(c, true);
        return w;
}

static json_t *walktest(struct ctlcmd *cc, struct ctl_conn *c) {
        struct walk *w = walk_new(cc, c, WALK_ALL, 0);
        json_t *list = json_array();

        if (!w || !(w->fired = calloc(cc->cfg->n_sensors + 1, sizeof *w->fired))) {
                json_decref(list);
                if (w)
                        walk_end(w);
                return error_reply("cannot start a walk test on this connection");
        }
        for (size_t i = 0; i < cc->cfg->n_sensors; i++) {
                const struct sensor_conf *s = &cc->cfg->sensors[i];
                if (config_sensor_is_output(s)) {
                        w->fired[i] = true;     /* outputs do not fire */
                        continue;
                }
                w->left++;
                json_array_append_new(list, json_pack("{s:s, s:s, s:o}", "id", s->id, "kind",
                                                      sensor_kind_to_string(s->kind), "room",
                                                      s->room ? json_string(s->room) : json_null()));
        }
        log_notice("walk test started by %s: %zu sensors to fire", ctl_conn_actor(c), w->left);
        return json_pack("{s:b, s:s, s:o}", "ok", 1, "event", "started", "sensors", list);
}

static json_t *test_sensor(struct ctlcmd *cc, struct ctl_conn *c, json_t *req) {
        const char *id = json_string_value(json_object_get(req, "id"));
        json_int_t secs = json_integer_value(json_object_get(req, "timeout"));
        int i = id ? config_find_sensor(cc->cfg, id) : -1;
        struct walk *w;

        if (i < 0)
                return not_found("no such sensor");
        w = walk_new(cc, c, WALK_ONE, (uint64_t) (secs > 0 && secs <= 3600 ? secs : 60) * USEC_PER_SEC);
        if (!w)
                return error_reply("cannot start a sensor test on this connection");
        w->sensor = (uint32_t) i;
        return NULL;    /* the answer comes with the sensor's next message */
}

static void on_test_call(bool delivered, long status, const char *case_id, const char *why, void *userdata) {
        struct walk *w = userdata;

        if (w->conn)
                ctl_send(w->conn, delivered
                         ? json_pack("{s:b, s:s, s:i, s:s}", "ok", 1, "result", "delivered", "status", (int) status,
                                     "case_id", case_id)
                         : json_pack("{s:b, s:s, s:i, s:s}", "ok", 0, "error", "not delivered", "status", (int) status,
                                     "detail", why ? why : ""));
        log_notice("test call to the dispatch center: %s (HTTP %ld%s%s)", delivered ? "delivered" : "NOT delivered",
                   status, case_id ? ", case " : "", case_id ? case_id : "");
        walk_end(w);
}

static json_t *test_dispatch(struct ctlcmd *cc, struct ctl_conn *c) {
        struct walk *w = walk_new(cc, c, WALK_DISPATCH, 30 * USEC_PER_SEC);

        if (!w)
                return error_reply("cannot start the test call");
        if (hub_test_call(cc->hub, on_test_call, w) < 0) {
                walk_end(w);
                return error_reply("cannot start the test call");
        }
        log_notice("test call to the dispatch center started by %s", ctl_conn_actor(c));
        return NULL;
}

static void on_test_report(bool delivered, long status, const char *answer, const char *why, void *userdata) {
        struct walk *w = userdata;

        if (w->conn)
                ctl_send(w->conn, delivered
                         ? json_pack("{s:b, s:s, s:s}", "ok", 1, "result", "delivered", "case_id", answer)
                         : json_pack("{s:b, s:s, s:s}", "ok", 0, "error", "not delivered", "detail", why ? why : ""));
        walk_end(w);
}

/* anjuctl test receiver NAME: a 602 test report, end to end. */
static json_t *test_receiver(struct ctlcmd *cc, struct ctl_conn *c, json_t *req) {
        const char *id = json_string_value(json_object_get(req, "id"));
        struct walk *w;
        int r;

        if (!id || config_find_receiver(cc->cfg, id) < 0)
                return not_found("no such receiver");
        w = walk_new(cc, c, WALK_DISPATCH, 30 * USEC_PER_SEC);
        if (!w)
                return error_reply("cannot start the test report");
        if ((r = hub_test_receiver(cc->hub, id, on_test_report, w)) < 0) {
                walk_end(w);
                return error_reply(r == -EBUSY ? "too many test reports at once" : "cannot start the test report");
        }
        log_notice("test report to receiver %s started by %s", id, ctl_conn_actor(c));
        return NULL;
}

/* --- report ------------------------------------------------------------------ */

struct report {
        const struct config *cfg;
        json_t *rooms;                  /* room → [24 counts] */
};

static int report_row(uint64_t at, const char *sensor, void *ud) {
        struct report *r = ud;
        int i = config_find_sensor(r->cfg, sensor);
        const char *room;
        time_t t;
        struct tm tm;
        json_t *arr;

        if (i < 0)
                return 0;
        room = r->cfg->sensors[i].room ? r->cfg->sensors[i].room : r->cfg->sensors[i].id;
        t = (time_t) (at / USEC_PER_SEC);
        localtime_r(&t, &tm);
        arr = json_object_get(r->rooms, room);
        if (!arr) {
                arr = json_array();
                for (int k = 0; k < 24; k++)
                        json_array_append_new(arr, json_integer(0));
                json_object_set_new(r->rooms, room, arr);
        }
        json_array_set_new(arr, (size_t) tm.tm_hour,
                           json_integer(json_integer_value(json_array_get(arr, (size_t) tm.tm_hour)) + 1));
        return 0;
}

static json_t *report(struct ctlcmd *cc, json_t *req) {
        json_int_t days = json_integer_value(json_object_get(req, "days"));
        struct report r = { .cfg = cc->cfg, .rooms = json_object() };
        struct store *st = hub_store(cc->hub);
        uint64_t now = clock_wall();

        if (days <= 0 || days > 365)
                days = 7;
        if (!st)
                return json_decref(r.rooms), error_reply("the database is not available");
        (void) store_flush(st);
        if (store_activity_foreach(st, now - (uint64_t) days * USEC_PER_DAY, report_row, &r) < 0)
                return json_decref(r.rooms), error_reply("reading the activity log failed");
        return json_pack("{s:b, s:I, s:o}", "ok", 1, "days", days, "rooms", r.rooms);
}

/* --- requests -------------------------------------------------------------------- */

/* --- the wristband's position (issue 14) ---------------------------------- */

/* The last fix as the band sent it (with its datum), how old, and where it
 * is relative to the safe zone. Operators only: the socket is the
 * daemon's group's, and nothing of it goes to the journal. */
static json_t *location(struct ctlcmd *cc) {
        const struct config *cfg = cc->cfg;
        struct rules_fix f;
        double radius;
        bool enabled = hub_geofence(cc->hub, &radius);
        json_t *zone = json_pack("{s:b, s:o}", "enabled", enabled,
                                 "radius_m", radius > 0 ? json_integer((json_int_t) radius) : json_null());
        char url[320] = "";

        if (!hub_last_fix(cc->hub, &f))
                return json_pack("{s:b, s:o, s:o}", "ok", 1, "location", json_null(), "zone", zone);
        json_object_set_new(zone, "state", json_string(geofence_state_to_string(f.state)));
        if (cfg->hub.map != GEO_MAP_NONE &&
            geo_map_link((enum geo_map) cfg->hub.map, (struct geo_point) { f.raw.lat, f.raw.lon },
                         (enum geo_datum) f.raw.datum, NULL, url, sizeof url) < 0)
                url[0] = '\0';
        return json_pack("{s:b, s:{s:s, s:f, s:f, s:s, s:f, s:o, s:I, s:b, s:o, s:o, s:o}, s:o}", "ok", 1,
                         "location", "sensor", cfg->sensors[f.sensor].id, "lat", f.raw.lat, "lon", f.raw.lon,
                         "datum", geo_datum_to_string((enum geo_datum) f.raw.datum), "accuracy_m", f.raw.accuracy,
                         "fix_at", time_or_null(f.fix_wall), "age_s", (json_int_t) (f.age / USEC_PER_SEC),
                         "stale", f.stale, "at_home", f.at_home < 0 ? json_null() : json_boolean(f.at_home),
                         "distance_m", f.distance_m >= 0 ? json_integer((json_int_t) (f.distance_m + 0.5)) : json_null(),
                         "map_url", url[0] ? json_string(url) : json_null(),
                         "zone", zone);
}

static void on_request(struct ctl_conn *c, json_t *req, void *userdata) {
        struct ctlcmd *cc = userdata;
        const char *cmd = json_string_value(json_object_get(req, "cmd"));
        json_t *res;

        if (strcmp(cmd, "status") == 0)
                res = status(cc);
        else if (strcmp(cmd, "sensors") == 0)
                res = sensors(cc);
        else if (strcmp(cmd, "incidents") == 0)
                res = incidents(cc, req);
        else if (strcmp(cmd, "show") == 0)
                res = show(cc, req);
        else if (strcmp(cmd, "answer") == 0)
                res = answer(cc, c, req);
        else if (strcmp(cmd, "get") == 0)
                res = get(cc, req);
        else if (strcmp(cmd, "set") == 0)
                res = set(cc, c, req);
        else if (strcmp(cmd, "walktest") == 0)
                res = walktest(cc, c);
        else if (strcmp(cmd, "test-sensor") == 0)
                res = test_sensor(cc, c, req);
        else if (strcmp(cmd, "test-dispatch") == 0)
                res = test_dispatch(cc, c);
        else if (strcmp(cmd, "test-receiver") == 0)
                res = test_receiver(cc, c, req);
        else if (strcmp(cmd, "report") == 0)
                res = report(cc, req);
        else if (strcmp(cmd, "location") == 0)
                res = location(cc);
        else
                res = error_reply("unknown command \"%.40s\"", cmd);
        if (res)
                ctl_send(c, res);
}

int ctlcmd_new(struct hub *h, struct ctlcmd **ret) {
        struct ctlcmd *cc = calloc(1, sizeof *cc);
        const struct config *cfg = hub_config(h);
        int r;

        *ret = NULL;
        if (!cc)
                return -ENOMEM;
        cc->hub = h;
        cc->cfg = cfg;
        if (!cfg->hub.ctl_socket || !*cfg->hub.ctl_socket) {
                *ret = cc;
                return 0;
        }
        r = ctl_new(hub_event(h), cfg->hub.ctl_socket, cfg->hub.ctl_idle_timeout, on_request, on_closed, cc, &cc->ctl);
        if (r >= 0)
                ctl_set_refused_cb(cc->ctl, on_refused);
        if (r < 0) {
                log_warning("anjuctl will not reach this daemon: no control socket at %s", cfg->hub.ctl_socket);
                free(cc);
                return r;
        }
        *ret = cc;
        return 0;
}

void ctlcmd_free(struct ctlcmd *cc) {
        if (!cc)
                return;
        while (cc->walks) {
                struct walk *w = cc->walks;
                w->conn = NULL;
                walk_end(w);
        }
        ctl_free(cc->ctl);
        free(cc);
}
