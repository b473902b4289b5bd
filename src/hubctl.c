/* The operators' side of the hub: anjuctl's requests on the control socket,
 * thresholds set at run time (stored, audited, published), signed remote
 * configuration on anju/<hub>/config/set, walk tests. docs/CONTROL.md. */
#include "hub-internal.h"
#include "alarm.h"
#include "anju-build.h"
#include "clock.h"
#include "dispatch.h"
#include "incident.h"
#include "mqtt.h"
#include "proto.h"
#include "rules.h"
#include "store.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A connection waiting for sensor events (walktest, test sensor) or for a
 * test call's answer. */
struct walk {
        struct walk *next;
        struct hub *hub;
        struct ctl_conn *conn;          /* NULL once the client went away */
        enum { WALK_ALL, WALK_ONE, WALK_DISPATCH } kind;
        uint32_t sensor;                /* WALK_ONE */
        bool *fired;                    /* WALK_ALL: per sensor */
        size_t left;
        sd_event_source *timeout;
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

static json_t *time_or_null(uint64_t wall) {
        char buf[40];

        return wall ? json_string(format_rfc3339(buf, sizeof buf, wall)) : json_null();
}

static const char *actor_of(struct ctl_conn *c, char *buf, size_t n) {
        snprintf(buf, n, "ctl:%s", ctl_conn_actor(c));
        return buf;
}

/* --- status, sensors --------------------------------------------------- */

static json_t *status(struct hub *h) {
        const struct dispatch_stats *ds = dispatch_get_stats(h->dispatch);
        int depth = h->store ? store_outbox_depth(h->store) : -1;
        json_t *open = json_array();

        for (int t = 0; t < _INCIDENT_TYPE_MAX; t++) {
                const char *id = incidents_open_id(h->incidents, (enum incident_type) t);
                if (id)
                        json_array_append_new(open, json_pack("{s:s, s:s}", "id", id, "type",
                                                              incident_type_to_string((enum incident_type) t)));
        }
        return json_pack("{s:b, s:s, s:s, s:o, s:o, s:f, s:s, s:s, s:o, s:{s:b, s:s, s:i},"
                         " s:{s:s, s:b, s:I, s:I, s:I}, s:o, s:o, s:{s:I, s:I}}",
                         "ok", 1, "hub", h->cfg->hub.id, "version", ANJU_VERSION,
                         "now", time_or_null(clock_wall()), "started", time_or_null(h->started),
                         "time_scale", clock_scale(), "resident", h->cfg->resident.name ? h->cfg->resident.name : "",
                         "presence", presence_to_string(rules_presence(h->rules)),
                         "last_activity", time_or_null(rules_last_activity(h->rules)),
                         "broker", "connected", h->mqtt && mqtt_is_connected(h->mqtt), "host", h->cfg->mqtt.host,
                         "port", (int) h->cfg->mqtt.port,
                         "dispatch", "url", h->cfg->dispatch.url, "link_up", dispatch_link_up(h->dispatch),
                         "pending", (json_int_t) dispatch_pending(h->dispatch),
                         "delivered", (json_int_t) ds->delivered, "failed_attempts", (json_int_t) ds->attempts_failed,
                         "outbox_depth", depth >= 0 ? json_integer(depth) : json_null(),
                         "open_incidents", open,
                         "sensors", "total", (json_int_t) h->cfg->n_sensors,
                         "offline", (json_int_t) hub_offline_count(h));
}

static json_t *sensors(struct hub *h) {
        json_t *list = json_array();

        for (uint32_t i = 0; i < h->cfg->n_sensors; i++) {
                const struct sensor_conf *s = &h->cfg->sensors[i];
                const struct sensor_live *l = &h->live[i];
                char line[300];

                /* MQTT: the topic; GPIO: "gpio:<chip>:<line>". */
                snprintf(line, sizeof line, "gpio:%s:%d", s->gpio_chip ? s->gpio_chip : "?", s->gpio_line);
                json_array_append_new(list, json_pack(
                        "{s:s, s:s, s:o, s:s, s:b, s:o, s:o, s:o}", "id", s->id,
                        "kind", sensor_kind_to_string(s->kind), "room", s->room ? json_string(s->room) : json_null(),
                        "source", s->topic ? s->topic : line, "online", hub_sensor_online(h, i),
                        "last_seen", time_or_null(l->last_seen),
                        "battery", l->battery >= 0 ? json_real(l->battery) : json_null(),
                        "value", isnan(l->value) ? json_null() : json_real(l->value)));
        }
        return json_pack("{s:b, s:o}", "ok", 1, "sensors", list);
}

/* --- incidents --------------------------------------------------------- */

static int row_to_array(int n, const char *const *cols, void *ud) {
        static const char *const names[] = { "id", "type", "severity", "state", "sensor", "reason",
                                             "opened_at", "closed_at" };
        json_t *o = json_object();

        for (int i = 0; i < n && i < (int) ELEMENTSOF(names); i++) {
                if (i >= 6)
                        json_object_set_new(o, names[i], cols[i] ? time_or_null((uint64_t) strtoull(cols[i], NULL, 10))
                                                                 : json_null());
                else
                        json_object_set_new(o, names[i], cols[i] ? json_string(cols[i]) : json_null());
        }
        json_array_append_new(ud, o);
        return 0;
}

static int timeline_row(int n, const char *const *cols, void *ud) {
        json_array_append_new(ud, json_pack("{s:o, s:s?, s:s?, s:s?, s:s?}",
                                            "at", time_or_null(cols[0] ? strtoull(cols[0], NULL, 10) : 0),
                                            "event", cols[1], "actor", cols[2], "channel", cols[3], "note", cols[4]));
        return 0;
}

static json_t *incidents(struct hub *h, json_t *req) {
        json_t *list = json_array();
        json_int_t limit = json_integer_value(json_object_get(req, "limit"));

        if (!h->store)
                return json_decref(list), error_reply("the database is not available");
        if (store_incidents_load(h->store, json_is_true(json_object_get(req, "open")), limit > 0 ? limit : 50,
                                 row_to_array, list) < 0)
                return json_decref(list), error_reply("reading the incidents failed (see the log)");
        return json_pack("{s:b, s:o}", "ok", 1, "incidents", list);
}

static json_t *show(struct hub *h, json_t *req) {
        const char *id = json_string_value(json_object_get(req, "id"));
        json_t *all = json_array(), *inc = NULL, *tl;

        if (!id)
                return json_decref(all), error_reply("show needs an incident id");
        if (!h->store || store_incidents_load(h->store, false, 100000, row_to_array, all) < 0)
                return json_decref(all), error_reply("reading the incidents failed (see the log)");
        for (size_t i = 0; i < json_array_size(all); i++)
                if (strcmp(json_string_value(json_object_get(json_array_get(all, i), "id")), id) == 0)
                        inc = json_incref(json_array_get(all, i));
        json_decref(all);
        if (!inc)
                return json_pack("{s:b, s:s, s:b}", "ok", 0, "error", "no such incident", "not_found", 1);
        tl = json_array();
        (void) store_timeline_load(h->store, id, timeline_row, tl);
        json_object_set_new(inc, "timeline", tl);
        return json_pack("{s:b, s:o}", "ok", 1, "incident", inc);
}

static json_t *answer(struct hub *h, struct ctl_conn *c, json_t *req) {
        const char *id = json_string_value(json_object_get(req, "id"));
        const char *action = json_string_value(json_object_get(req, "action"));
        const char *note = json_string_value(json_object_get(req, "note"));
        struct decision dec[RULES_MAX_DECISIONS];
        enum ack_result r;
        char actor[96];

        if (!id || !action)
                return error_reply("needs an incident id and an action");
        actor_of(c, actor, sizeof actor);
        if (strcmp(action, "cancel") == 0 && incidents_in_prealarm(h->incidents, id)) {
                size_t n = rules_cancel(h->rules, clock_mono(), clock_wall(), dec, ELEMENTSOF(dec));
                hub_apply(h, dec, n, actor, "ctl");
                hub_rearm(h);
                return json_pack("{s:b, s:s}", "ok", 1, "result", "pre-alarm cancelled");
        }
        if (strcmp(action, "cancel") == 0)
                action = "false_alarm";
        r = incidents_ack(h->incidents, id, action, actor, "ctl", note, clock_mono(), clock_wall());
        hub_rearm(h);
        if (r == ACK_APPLIED || r == ACK_RECORDED)
                return json_pack("{s:b, s:s}", "ok", 1, "result", ack_result_to_string(r));
        return json_pack("{s:b, s:s, s:b}", "ok", 0, "error", ack_result_to_string(r), "not_found",
                         r == ACK_UNKNOWN_INCIDENT);
}

/* --- settings ----------------------------------------------------------- */

static int audit_row(int n, const char *const *cols, void *ud) {
        json_array_append_new(ud, json_pack("{s:o, s:s?, s:s?, s:s?, s:s?, s:s?, s:s?}",
                                            "at", time_or_null(cols[0] ? strtoull(cols[0], NULL, 10) : 0),
                                            "key", cols[1], "old", cols[2], "new", cols[3], "actor", cols[4],
                                            "channel", cols[5], "result", cols[6]));
        return 0;
}

static json_t *settings_object(struct hub *h) {
        json_t *o = json_object();
        char name[96], val[64];

        for (size_t i = 0; config_setting_name(i, name, sizeof name); i++)
                if (config_setting_get(h->cfg, name, val, sizeof val) == 0)
                        json_object_set_new(o, name, json_string(val));
        return o;
}

static json_t *get(struct hub *h, json_t *req) {
        const char *key = json_string_value(json_object_get(req, "key"));
        char val[64];

        if (json_is_true(json_object_get(req, "history"))) {
                json_t *rows = json_array();
                if (h->store)
                        (void) store_audit_load(h->store, key, audit_row, rows);
                return json_pack("{s:b, s:o}", "ok", 1, "history", rows);
        }
        if (!key)
                return json_pack("{s:b, s:s, s:o}", "ok", 1, "risk", risk_tier_to_string(h->cfg->resident.risk),
                                 "settings", settings_object(h));
        if (config_setting_get(h->cfg, key, val, sizeof val) < 0)
                return json_pack("{s:b, s:s, s:b}", "ok", 0, "error", "unknown setting (anjuctl get lists them)",
                                 "not_found", 1);
        return json_pack("{s:b, s:s, s:s}", "ok", 1, "key", key, "value", val);
}

/* One change from anywhere (ctl, MQTT): checked like the file, applied at
 * once, stored with an audit row, published. NULL if applied, else why. */
static const char *set_one(struct hub *h, const char *key, const char *value, const char *actor,
                           const char *channel, char *err, size_t errn) {
        char old[64] = "";
        uint64_t at = clock_wall();

        if (config_setting_set(h->cfg, key, value, channel, old, sizeof old, err, errn) < 0) {
                if (h->store)
                        (void) store_audit_add(h->store, key, old[0] ? old : NULL, value, at, actor, channel, err);
                log_warning("setting %s = %s by %s via %s refused: %s", key, value, actor, channel, err);
                return err;
        }
        log_notice("setting %s changed from %s to %s by %s via %s", key, old, value, actor, channel);
        if (h->store && store_setting_put(h->store, key, old, value, at, actor, channel) < 0)
                log_error("setting %s: applied but not stored; it will not survive a restart", key);
        rules_params_changed(h->rules);
        hub_rearm(h);
        hubctl_publish_config(h);
        return NULL;
}

static json_t *set(struct hub *h, struct ctl_conn *c, json_t *req) {
        const char *key = json_string_value(json_object_get(req, "key"));
        const char *value = json_string_value(json_object_get(req, "value"));
        char actor[96], err[600], now[64];

        if (!key || !value)
                return error_reply("set needs a key and a value");
        if (set_one(h, key, value, actor_of(c, actor, sizeof actor), "ctl", err, sizeof err))
                /* An unknown key is "no such setting" (anjuctl exits 4), as for get. */
                return json_pack("{s:b, s:s, s:b}", "ok", 0, "error", err, "not_found",
                                 config_setting_get(h->cfg, key, now, sizeof now) < 0);
        (void) config_setting_get(h->cfg, key, now, sizeof now);
        return json_pack("{s:b, s:s, s:s}", "ok", 1, "key", key, "value", now);
}

void hubctl_publish_config(struct hub *h) {
        json_t *j;
        char *txt;

        if (!h->mqtt)
                return;
        j = json_pack("{s:s, s:s, s:s, s:o, s:o}", "schema", "anju.config.v1", "hub", h->cfg->hub.id,
                      "risk", risk_tier_to_string(h->cfg->resident.risk), "settings", settings_object(h),
                      "at", time_or_null(clock_wall()));
        txt = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        if (txt)
                (void) mqtt_publish(h->mqtt, h->config_topic, txt, strlen(txt), 1, true);
        free(txt);
        json_decref(j);
}

static int apply_stored(int n, const char *const *cols, void *ud) {
        struct hub *h = ud;
        char old[64], err[600];

        if (n < 2 || !cols[0] || !cols[1])
                return 0;
        if (config_setting_set(h->cfg, cols[0], cols[1], "database", old, sizeof old, err, sizeof err) < 0)
                log_warning("stored setting %s = %s no longer valid, ignored: %s", cols[0], cols[1], err);
        else if (strcmp(old, cols[1]) != 0)
                log_notice("setting %s = %s (set at run time by %s; the file says %s)", cols[0], cols[1],
                           cols[2] ? cols[2] : "?", old);
        return 0;
}

void hubctl_load_settings(struct hub *h) {
        if (h->store)
                (void) store_settings_load(h->store, apply_stored, h);
}

/* {"key", "value", "by", "ts", "sig"}: sig = HMAC-SHA256 with [hub]
 * operator_key_file of "<key>\n<value>\n<by>\n<ts>". The answer goes to
 * anju/<hub>/config/result. */
void hubctl_remote_set(struct hub *h, const char *topic, const void *payload, size_t len) {
        struct config_set_msg m;
        const char *why = NULL;
        char err[600], text[600], *txt;
        json_t *res;

        if (proto_parse_config_set(payload, len, &m, &why) < 0)
                ;
        else if (!h->cfg->hub.operator_key)
                why = "remote configuration is off: [hub] operator_key_file is not set";
        else if (proto_config_set_signed_text(&m, text, sizeof text) < 0)
                why = "message too long";
        else
                why = hub_check_signature(h, h->cfg->hub.operator_key, h->cfg->hub.operator_key_len, text, m.ts,
                                          m.sig);
        if (why) {
                log_warning("remote setting refused (%.60s by %.40s): %s", m.key[0] ? m.key : "?",
                            m.by[0] ? m.by : "?", why);
                if (h->store && m.key[0])
                        (void) store_audit_add(h->store, m.key, NULL, m.value, clock_wall(), m.by, "mqtt", why);
        } else {
                why = set_one(h, m.key, m.value, m.by, "mqtt", err, sizeof err);
        }
        res = json_pack("{s:s, s:s, s:b, s:s?}", "key", m.key, "value", m.value, "ok", why == NULL, "error", why);
        txt = res ? json_dumps(res, JSON_COMPACT) : NULL;
        if (txt && h->mqtt)
                (void) mqtt_publish(h->mqtt, h->config_result_topic, txt, strlen(txt), 1, false);
        free(txt);
        json_decref(res);
}

/* --- walk tests, sensor tests, test calls -------------------------------- */

static void walk_free(struct walk *w) {
        sd_event_source_disable_unref(w->timeout);
        free(w->fired);
        free(w);
}

static void walk_unlink(struct hub *h, struct walk *w) {
        for (struct walk **p = &h->walks; *p; p = &(*p)->next)
                if (*p == w) {
                        *p = w->next;
                        return;
                }
}

static void walk_end(struct walk *w) {
        struct hub *h = w->hub;

        if (w->conn)
                ctl_conn_set_data(w->conn, NULL);
        walk_unlink(h, w);
        walk_free(w);
}

void hubctl_closed(struct ctl_conn *c, void *userdata) {
        struct hub *h = userdata;
        struct walk *w = ctl_conn_get_data(c);

        if (!w)
                return;
        w->conn = NULL;
        if (w->kind == WALK_DISPATCH) {
                dispatch_forget_test(h->dispatch, w);
        }
        walk_end(w);
}

void hubctl_free_walks(struct hub *h) {
        while (h->walks) {
                struct walk *w = h->walks;
                if (w->conn)
                        ctl_conn_set_data(w->conn, NULL);
                if (w->kind == WALK_DISPATCH)
                        dispatch_forget_test(h->dispatch, w);
                h->walks = w->next;
                walk_free(w);
        }
}

static json_t *event_json(const struct hub *h, const struct event *ev) {
        const struct sensor_conf *s = &h->cfg->sensors[ev->sensor];

        return json_pack("{s:s, s:s, s:o, s:s, s:f, s:o}", "event", "fired", "sensor", s->id,
                         "room", s->room ? json_string(s->room) : json_null(),
                         "attr", event_attr_to_string(ev->attr), "value", ev->value, "at", time_or_null(ev->wall));
}

void hubctl_event(struct hub *h, const struct event *ev) {
        for (struct walk *w = h->walks, *next; w; w = next) {
                next = w->next;
                if (!w->conn || ev->retained || ev->attr == ATTR_ONLINE || ev->attr == ATTR_BATTERY)
                        continue;
                if (w->kind == WALK_ONE && ev->sensor == w->sensor) {
                        json_t *j = event_json(h, ev);
                        json_object_set_new(j, "ok", json_true());
                        ctl_send(w->conn, j);
                        walk_end(w);
                } else if (w->kind == WALK_ALL) {
                        json_t *j = event_json(h, ev);
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
}

static int on_walk_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        struct walk *w = userdata;

        if (w->conn)
                ctl_send(w->conn, json_pack("{s:b, s:s, s:b}", "ok", 0, "error",
                                            w->kind == WALK_DISPATCH ? "no answer from the dispatch center in time"
                                                                     : "the sensor did not report in time",
                                            "timeout", 1));
        if (w->kind == WALK_DISPATCH)
                dispatch_forget_test(w->hub->dispatch, w);
        walk_end(w);
        return 0;
}

static struct walk *walk_new(struct hub *h, struct ctl_conn *c, int kind, uint64_t timeout) {
        struct walk *w = calloc(1, sizeof *w);

        if (!w)
                return NULL;
        if (ctl_conn_get_data(c)) {
                free(w);
                return NULL;    /* one at a time per connection */
        }
        w->hub = h;
        w->conn = c;
        w->kind = kind;
        if (timeout && sd_event_add_time_relative(h->event, &w->timeout, CLOCK_MONOTONIC, timeout, USEC_PER_MSEC,
                                                  on_walk_timeout, w) < 0) {
                free(w);
                return NULL;
        }
        w->next = h->walks;
        h->walks = w;
        ctl_conn_set_data(c, w);
        return w;
}

static json_t *walktest(struct hub *h, struct ctl_conn *c) {
        struct walk *w = walk_new(h, c, WALK_ALL, 0);
        json_t *list = json_array();

        if (!w || !(w->fired = calloc(h->cfg->n_sensors + 1, sizeof *w->fired))) {
                json_decref(list);
                if (w)
                        walk_end(w);
                return error_reply("cannot start a walk test on this connection");
        }
        for (size_t i = 0; i < h->cfg->n_sensors; i++) {
                const struct sensor_conf *s = &h->cfg->sensors[i];
                if (s->kind == SENSOR_SIREN || s->kind == SENSOR_RELAY) {
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

static json_t *test_sensor(struct hub *h, struct ctl_conn *c, json_t *req) {
        const char *id = json_string_value(json_object_get(req, "id"));
        json_int_t secs = json_integer_value(json_object_get(req, "timeout"));
        int i = id ? config_find_sensor(h->cfg, id) : -1;
        struct walk *w;

        if (i < 0)
                return json_pack("{s:b, s:s, s:b}", "ok", 0, "error", "no such sensor", "not_found", 1);
        w = walk_new(h, c, WALK_ONE, (uint64_t) (secs > 0 ? secs : 60) * USEC_PER_SEC);
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

static json_t *test_dispatch(struct hub *h, struct ctl_conn *c) {
        const struct sensor_conf *none = NULL;
        struct alarm_info a = {
                .incident_id = "test", .type = INCIDENT_SOS, .severity = SEVERITY_CRITICAL, .sequence = 1,
                .started_at = clock_wall(), .raised_at = clock_wall(), .sensor = none,
                .reason = h->cfg->hub.language == LANG_ZH_CN ? "测试呼叫（anjuctl test dispatch），无需出警"
                                                              : "Test call (anjuctl test dispatch): no action needed",
                .test = true,
        };
        char *body = alarm_build_body(h->cfg, &a);
        struct walk *w;

        if (!body)
                return error_reply("cannot build the test call");
        w = walk_new(h, c, WALK_DISPATCH, 30 * USEC_PER_SEC);
        if (!w || dispatch_test_call(h->dispatch, body, on_test_call, w) < 0) {
                free(body);
                if (w)
                        walk_end(w);
                return error_reply("cannot start the test call");
        }
        free(body);
        log_notice("test call to the dispatch center started by %s", ctl_conn_actor(c));
        return NULL;
}

/* --- report ------------------------------------------------------------- */

struct report {
        struct hub *hub;
        json_t *rooms;                  /* room → [24 counts] */
};

static int report_row(int n, const char *const *cols, void *ud) {
        struct report *r = ud;
        int i = n >= 2 && cols[1] ? config_find_sensor(r->hub->cfg, cols[1]) : -1;
        const char *room;
        time_t t;
        struct tm tm;
        json_t *arr;

        if (i < 0 || !cols[0])
                return 0;
        room = r->hub->cfg->sensors[i].room ? r->hub->cfg->sensors[i].room : r->hub->cfg->sensors[i].id;
        t = (time_t) (strtoull(cols[0], NULL, 10) / USEC_PER_SEC);
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

static json_t *report(struct hub *h, json_t *req) {
        json_int_t days = json_integer_value(json_object_get(req, "days"));
        struct report r = { .hub = h, .rooms = json_object() };
        uint64_t now = clock_wall();

        if (days <= 0 || days > 365)
                days = 7;
        if (!h->store)
                return json_decref(r.rooms), error_reply("the database is not available");
        (void) store_flush(h->store);
        if (store_activity_load(h->store, now - (uint64_t) days * USEC_PER_DAY, report_row, &r) < 0)
                return json_decref(r.rooms), error_reply("reading the activity log failed");
        return json_pack("{s:b, s:I, s:o}", "ok", 1, "days", days, "rooms", r.rooms);
}

/* --- dispatch of requests ------------------------------------------------ */

void hubctl_request(struct ctl_conn *c, json_t *req, void *userdata) {
        struct hub *h = userdata;
        const char *cmd = json_string_value(json_object_get(req, "cmd"));
        json_t *res;

        if (strcmp(cmd, "status") == 0)
                res = status(h);
        else if (strcmp(cmd, "sensors") == 0)
                res = sensors(h);
        else if (strcmp(cmd, "incidents") == 0)
                res = incidents(h, req);
        else if (strcmp(cmd, "show") == 0)
                res = show(h, req);
        else if (strcmp(cmd, "answer") == 0)
                res = answer(h, c, req);
        else if (strcmp(cmd, "get") == 0)
                res = get(h, req);
        else if (strcmp(cmd, "set") == 0)
                res = set(h, c, req);
        else if (strcmp(cmd, "walktest") == 0)
                res = walktest(h, c);
        else if (strcmp(cmd, "test-sensor") == 0)
                res = test_sensor(h, c, req);
        else if (strcmp(cmd, "test-dispatch") == 0)
                res = test_dispatch(h, c);
        else if (strcmp(cmd, "report") == 0)
                res = report(h, req);
        else
                res = error_reply("unknown command \"%.40s\"", cmd);
        if (res)
                ctl_send(c, res);
}
