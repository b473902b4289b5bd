/* The incident manager. */
#include "incident.h"
#include "alarm.h"
#include "config.h"
#include "dispatch.h"
#include "log.h"
#include "mqtt.h"
#include "store.h"
#include "util.h"

#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct open_incident {
        bool open;
        bool prealarm;                  /* waiting for the resident to cancel */
        char id[INCIDENT_ID_MAX];
        enum severity severity;
        uint64_t opened_at;             /* wall usec */
        unsigned calls;                 /* calls made for it so far */
        uint32_t *sensors;              /* sensors that triggered it */
        size_t n_sensors;
};

struct incidents {
        const struct config *cfg;
        struct store *store;
        struct dispatch *dispatch;
        struct mqtt *mqtt;
        char *alert_topic, *prompt_topic;
        struct open_incident open[_INCIDENT_TYPE_MAX];
};

static bool has_sensor(const struct open_incident *o, uint32_t s) {
        for (size_t i = 0; i < o->n_sensors; i++)
                if (o->sensors[i] == s)
                        return true;
        return false;
}

static int add_sensor(struct open_incident *o, uint32_t s) {
        uint32_t *n;

        if (s == SENSOR_NONE)
                return 0;
        n = realloc(o->sensors, (o->n_sensors + 1) * sizeof *n);
        if (!n)
                return -ENOMEM;
        o->sensors = n;
        o->sensors[o->n_sensors++] = s;
        return 0;
}

static const struct sensor_conf *sensor_of(const struct incidents *m, uint32_t i) {
        return i < m->cfg->n_sensors ? &m->cfg->sensors[i] : NULL;
}

static int load_one(const struct store_incident *inc, void *ud) {
        struct incidents *m = ud;
        struct open_incident *o;
        int s;

        if (inc->type < 0 || inc->type >= _INCIDENT_TYPE_MAX)
                return 0;
        o = &m->open[inc->type];
        if (o->open)
                return 0;       /* two open of one type: keep the oldest */
        o->open = true;
        o->prealarm = inc->state && strcmp(inc->state, "prealarm") == 0;
        snprintf(o->id, sizeof o->id, "%s", inc->id);
        o->severity = inc->severity;
        o->opened_at = inc->opened_at;
        o->calls = o->prealarm || inc->severity == SEVERITY_WARNING ? 0 : 1;
        s = inc->sensor ? config_find_sensor(m->cfg, inc->sensor) : -1;
        if (s >= 0)
                (void) add_sensor(o, (uint32_t) s);
        log_notice("incident %s (%s, %s) is still open from before the restart", inc->id,
                   incident_type_to_string(inc->type), inc->state);
        return 0;
}

static int raise_call(struct incidents *m, struct open_incident *o, const struct decision *d,
                      bool update, const char *reason);

int incidents_new(const struct config *cfg, struct store *store, struct dispatch *dispatch,
                  struct incidents **ret) {
        struct incidents *m = calloc(1, sizeof *m);
        int r;

        if (!m)
                return -ENOMEM;
        m->cfg = cfg;
        m->store = store;
        m->dispatch = dispatch;
        if (asprintf(&m->alert_topic, "anju/%s/alert", cfg->hub.id) < 0 ||
            asprintf(&m->prompt_topic, "anju/%s/prompt", cfg->hub.id) < 0) {
                m->alert_topic = m->prompt_topic = NULL;
                incidents_free(m);
                return -ENOMEM;
        }
        if (store && (r = store_load_open_incidents(store, load_one, m)) < 0) {
                incidents_free(m);
                return r;
        }
        *ret = m;
        return 0;
}

void incidents_set_mqtt(struct incidents *m, struct mqtt *mqtt) {
        m->mqtt = mqtt;
}

/* A pre-alarm interrupted by a restart was not cancelled in its window (the
 * cancel would have been recorded): fail safe, call now. */
int incidents_resume(struct incidents *m, uint64_t mono, uint64_t wall) {
        int n = 0;

        for (int t = 0; t < _INCIDENT_TYPE_MAX; t++) {
                struct open_incident *o = &m->open[t];
                struct decision d = {
                        .kind = DECISION_RAISE, .type = (enum incident_type) t, .severity = o->severity,
                        .sensor = o->n_sensors ? o->sensors[0] : SENSOR_NONE, .mono = mono, .wall = wall,
                        .since_wall = o->opened_at, .duration = wall > o->opened_at ? wall - o->opened_at : 0,
                };
                if (!o->open || !o->prealarm)
                        continue;
                log_warning("incident %s: its pre-alarm was interrupted by a restart and not "
                            "cancelled; calling now", o->id);
                (void) incidents_apply(m, &d);
                n++;
        }
        return n;
}

void incidents_free(struct incidents *m) {
        if (!m)
                return;
        for (int t = 0; t < _INCIDENT_TYPE_MAX; t++)
                free(m->open[t].sensors);
        free(m->alert_topic);
        free(m->prompt_topic);
        free(m);
}

/* "20261122-a3f91c": the local date for people, 24 random bits so ids
 * do not repeat after the database is replaced. */
static int make_id(uint64_t wall, char *buf, size_t n) {
        time_t t = (time_t) (wall / USEC_PER_SEC);
        uint8_t rnd[3];
        char hex[7], date[16];
        struct tm tm;
        int r;

        r = random_bytes(rnd, sizeof rnd);
        if (r < 0)
                return r;
        hex_encode(rnd, sizeof rnd, hex);
        localtime_r(&t, &tm);
        strftime(date, sizeof date, "%Y%m%d", &tm);
        snprintf(buf, n, "%s-%s", date, hex);
        return 0;
}

/* The local alert on anju/<hub>/alert (QoS 1): what happened, in words. */
static void publish_alert(struct incidents *m, const struct open_incident *o, const struct decision *d,
                          const char *state, const char *reason) {
        const struct sensor_conf *s = sensor_of(m, d->sensor);
        char at[40], since[40];
        json_t *j;
        char *txt;

        if (!m->mqtt)
                return;
        format_rfc3339(at, sizeof at, d->wall);
        format_rfc3339(since, sizeof since, d->since_wall ? d->since_wall : d->wall);
        j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:s, s:s, s:I}",
                      "schema", "anju.alert.v1", "incident", o->id,
                      "type", incident_type_to_string(d->type),
                      "severity", severity_to_string(o->severity), "state", state,
                      "at", at, "text", reason,
                      "sensor", s ? json_string(s->id) : json_null(),
                      "room", s && s->room ? json_string(s->room) : json_null(),
                      "resident", m->cfg->resident.name ? m->cfg->resident.name : "",
                      "since", since, "duration_s", (json_int_t) (d->duration / USEC_PER_SEC));
        txt = j ? json_dumps(j, JSON_COMPACT) : NULL;
        if (txt)
                (void) mqtt_publish(m->mqtt, m->alert_topic, txt, strlen(txt), 1, false);
        free(txt);
        json_decref(j);
}

/* The prompt for the resident (a speaker or siren controller listens on
 * anju/<hub>/prompt; a GPIO siren plays the pulsed pattern). */
static void publish_prompt(struct incidents *m, const struct open_incident *o, bool start) {
        bool zh = m->cfg->hub.language == LANG_ZH_CN;
        unsigned secs = (unsigned) (m->cfg->rules.fall_window / USEC_PER_SEC);
        char text[256];
        json_t *j;
        char *txt;

        if (!m->mqtt)
                return;
        snprintf(text, sizeof text, zh ? "检测到您可能摔倒了。如果没事，请在%u秒内按取消键。"
                                       : "A fall was detected. If you are all right, press cancel within %u seconds.",
                 secs);
        j = start ? json_pack("{s:s, s:s, s:s, s:s, s:i, s:s}", "incident", o->id, "action", "start",
                              "type", "fall", "pattern", "pulsed", "window_s", (int) secs, "text", text)
                  : json_pack("{s:s, s:s}", "incident", o->id, "action", "stop");
        txt = j ? json_dumps(j, JSON_COMPACT) : NULL;
        if (txt)
                (void) mqtt_publish(m->mqtt, m->prompt_topic, txt, strlen(txt), 1, false);
        free(txt);
        json_decref(j);
}

static int build_call(struct incidents *m, struct open_incident *o, const struct decision *d,
                      bool update, const char *reason, char key[static 37], char **ret_body) {
        struct alarm_info a = {
                .incident_id = o->id, .type = d->type, .severity = o->severity, .update = update,
                .sequence = o->calls + 1, .started_at = o->opened_at, .raised_at = d->wall,
                .sensor = sensor_of(m, d->sensor), .reason = reason, .why = d,
        };

        if (uuid_random(key) < 0 || !(*ret_body = alarm_build_body(m->cfg, &a)))
                return log_error_errno(ENOMEM, "incident %s: cannot build the emergency call", o->id);
        return 0;
}

/* Builds the call for this trigger, stores it (with the incident when
 * new), then hands it to dispatch. */
static int raise_call(struct incidents *m, struct open_incident *o, const struct decision *d,
                      bool update, const char *reason) {
        const struct sensor_conf *s = sensor_of(m, d->sensor);
        struct store_call call = { .kind = "alarm", .incident = o->id };
        char key[37];
        int64_t call_id = 0;
        char *body = NULL;
        int r = 0;

        for (int tries = 0; tries < 5; tries++) {
                free(body);
                body = NULL;
                if ((r = build_call(m, o, d, update, reason, key, &body)) < 0)
                        return r;
                call.key = key;
                call.body = body;
                if (!m->store)
                        break;
                if (update) {
                        r = store_incident_attach(m->store, o->id, s ? s->id : NULL, d->wall, reason,
                                                  &call, &call_id);
                        break;
                }
                struct store_incident inc = {
                        .type = d->type, .severity = o->severity, .state = "open",
                        .sensor = s ? s->id : NULL, .room = s ? s->room : NULL, .reason = reason,
                        .opened_at = o->opened_at,
                };
                memcpy(inc.id, o->id, sizeof inc.id);
                r = store_incident_open(m->store, &inc, &call, &call_id);
                /* An id taken by an older incident: draw another, rebuild the body. */
                if (r != -EEXIST || make_id(d->wall, o->id, sizeof o->id) < 0)
                        break;
        }
        if (r < 0)
                log_error_errno(r, "incident %s could not be stored (%m): calling the dispatch "
                                "center from memory", o->id);
        o->calls++;
        r = dispatch_submit(m->dispatch, call_id, key, o->id, body, 0);
        free(body);
        return r;
}

/* A new incident in memory, with a fresh id. */
static struct open_incident *new_incident(struct incidents *m, const struct decision *d) {
        struct open_incident *o = &m->open[d->type];

        free(o->sensors);
        *o = (struct open_incident) { .open = true, .severity = d->severity, .opened_at = d->wall };
        if (make_id(d->wall, o->id, sizeof o->id) < 0)
                snprintf(o->id, sizeof o->id, "%llu", (unsigned long long) d->wall);
        (void) add_sensor(o, d->sensor);
        return o;
}

/* Stores an incident that makes no call (a pre-alarm, a warning). */
static void store_quiet(struct incidents *m, struct open_incident *o, const struct decision *d,
                        const char *state, const char *reason) {
        const struct sensor_conf *s = sensor_of(m, d->sensor);
        struct store_incident inc = {
                .type = d->type, .severity = o->severity, .state = state,
                .sensor = s ? s->id : NULL, .room = s ? s->room : NULL, .reason = reason,
                .opened_at = o->opened_at,
        };
        int r = -EEXIST;

        if (!m->store)
                return;
        for (int tries = 0; tries < 5 && r == -EEXIST; tries++) {
                memcpy(inc.id, o->id, sizeof inc.id);
                r = store_incident_open(m->store, &inc, NULL, NULL);
                if (r == -EEXIST && make_id(d->wall, o->id, sizeof o->id) < 0)
                        break;
        }
        if (r < 0)
                log_error_errno(r, "incident %s could not be stored: %m", o->id);
}

static int incident_prealarm(struct incidents *m, const struct decision *d, const char *reason) {
        struct open_incident *o = &m->open[d->type];
        const struct sensor_conf *s = sensor_of(m, d->sensor);

        if (o->open) {
                /* Another fall while this one is open: on its record. */
                if (m->store)
                        (void) store_timeline_add(m->store, o->id, d->wall, "prealarm",
                                                  s ? s->id : NULL, "rule", reason);
                log_notice("incident %s: %s", o->id, reason);
                publish_prompt(m, o, true);
                return 0;
        }
        o = new_incident(m, d);
        o->prealarm = true;
        log_notice("incident %s PRE-ALARM: %s", o->id, reason);
        store_quiet(m, o, d, "prealarm", reason);
        publish_prompt(m, o, true);
        publish_alert(m, o, d, "prealarm", reason);
        return 0;
}

static int incident_cancel(struct incidents *m, const struct decision *d, const char *reason,
                           const char *actor, const char *channel) {
        struct open_incident *o = &m->open[d->type];

        if (!o->open)
                return 0;
        publish_prompt(m, o, false);
        if (!o->prealarm) {
                /* The window of a later fall: the incident itself stays open. */
                if (m->store)
                        (void) store_timeline_add(m->store, o->id, d->wall, "prealarm_cancelled", actor,
                                                  channel, reason);
                return 0;
        }
        log_notice("incident %s cancelled by the resident (%s via %s): %s", o->id, actor, channel, reason);
        if (m->store)
                (void) store_incident_state(m->store, o->id, "cancelled", true, d->wall, "cancelled",
                                            actor, channel, reason, NULL, NULL);
        publish_alert(m, o, d, "cancelled", reason);
        o->open = false;
        return 0;
}

/* A pre-alarm not cancelled in its window becomes an open incident: the
 * state change and the call in one transaction. */
static int promote(struct incidents *m, struct open_incident *o, const struct decision *d,
                   const char *reason) {
        struct store_call call = { .kind = "alarm", .incident = o->id };
        char key[37];
        int64_t call_id = 0;
        char *body = NULL;
        int r;

        o->prealarm = false;
        log_notice("incident %s opened: %s (%s) — %s", o->id, incident_type_to_string(d->type),
                   severity_to_string(o->severity), reason);
        publish_prompt(m, o, false);
        publish_alert(m, o, d, "open", reason);
        if ((r = build_call(m, o, d, false, reason, key, &body)) < 0)
                return r;
        call.key = key;
        call.body = body;
        if (m->store) {
                r = store_incident_state(m->store, o->id, "open", false, d->wall, "opened", "rule",
                                         "rule", reason, &call, &call_id);
                if (r < 0)
                        log_error_errno(r, "incident %s could not be stored (%m): calling the dispatch "
                                        "center from memory", o->id);
        }
        o->calls++;
        r = dispatch_submit(m->dispatch, call_id, key, o->id, body, 0);
        free(body);
        return r;
}

static int incident_raise(struct incidents *m, const struct decision *d, const char *reason) {
        struct open_incident *o = &m->open[d->type];
        const struct sensor_conf *s = sensor_of(m, d->sensor);
        bool calls = d->severity != SEVERITY_WARNING;

        if (o->open && o->prealarm)
                return promote(m, o, d, reason);
        if (o->open && (d->sensor == SENSOR_NONE || has_sensor(o, d->sensor) || !calls)) {
                /* The same sensor again, or a warning: on the record, no new call. */
                if (m->store)
                        (void) store_incident_attach(m->store, o->id, s ? s->id : NULL, d->wall, reason,
                                                     NULL, NULL);
                (void) add_sensor(o, has_sensor(o, d->sensor) ? SENSOR_NONE : d->sensor);
                log_notice("incident %s: %s", o->id, reason);
                publish_alert(m, o, d, "open", reason);
                return 0;
        }
        if (o->open) {
                log_notice("incident %s (%s): %s joins — %s", o->id, incident_type_to_string(d->type),
                           s ? s->id : "-", reason);
                (void) add_sensor(o, d->sensor);
                publish_alert(m, o, d, "open", reason);
                return raise_call(m, o, d, true, reason);
        }
        o = new_incident(m, d);
        log_notice("incident %s opened: %s (%s) — %s", o->id, incident_type_to_string(d->type),
                   severity_to_string(d->severity), reason);
        publish_alert(m, o, d, "open", reason);
        if (!calls) {
                /* Warnings go to maintenance, never to the dispatch center. */
                store_quiet(m, o, d, "open", reason);
                return 0;
        }
        return raise_call(m, o, d, false, reason);
}

static int incident_clear(struct incidents *m, const struct decision *d, const char *reason) {
        struct open_incident *o = &m->open[d->type];
        const struct sensor_conf *s = sensor_of(m, d->sensor);

        if (!o->open)
                return 0;
        log_notice("incident %s: %s; it stays open until a responder closes it", o->id, reason);
        if (m->store)
                return store_timeline_add(m->store, o->id, d->wall, "cleared", s ? s->id : NULL, "rule",
                                          reason);
        return 0;
}

int incidents_apply_from(struct incidents *m, const struct decision *d, const char *actor,
                         const char *channel) {
        const struct sensor_conf *s;
        char reason[256];

        if (d->type < 0 || d->type >= _INCIDENT_TYPE_MAX ||
            (d->sensor != SENSOR_NONE && d->sensor >= m->cfg->n_sensors))
                return -EINVAL;
        s = sensor_of(m, d->sensor);
        alarm_explain(m->cfg, d, reason, sizeof reason);
        switch (d->kind) {
        case DECISION_RAISE:
                return incident_raise(m, d, reason);
        case DECISION_CLEAR:
                return incident_clear(m, d, reason);
        case DECISION_PREALARM:
                return incident_prealarm(m, d, reason);
        case DECISION_CANCEL:
                return incident_cancel(m, d, reason, actor ? actor : s ? s->id : "resident",
                                       channel ? channel : s ? "sensor" : "ack");
        default:
                return -EINVAL;
        }
}

int incidents_apply(struct incidents *m, const struct decision *d) {
        return incidents_apply_from(m, d, NULL, NULL);
}

size_t incidents_open_count(const struct incidents *m) {
        size_t n = 0;

        for (int t = 0; t < _INCIDENT_TYPE_MAX; t++)
                n += m->open[t].open;
        return n;
}

const char *incidents_open_id(const struct incidents *m, enum incident_type type) {
        return type >= 0 && type < _INCIDENT_TYPE_MAX && m->open[type].open ? m->open[type].id : NULL;
}

bool incidents_in_prealarm(const struct incidents *m, const char *id) {
        for (int t = 0; t < _INCIDENT_TYPE_MAX; t++)
                if (m->open[t].open && m->open[t].prealarm && (!id || strcmp(m->open[t].id, id) == 0))
                        return true;
        return false;
}
