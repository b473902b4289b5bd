/* The incident manager. */
#include "incident.h"
#include "alarm.h"
#include "config.h"
#include "dispatch.h"
#include "log.h"
#include "store.h"
#include "util.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct open_incident {
        bool open;
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
        struct open_incident open[_INCIDENT_TYPE_MAX];
};

static bool has_sensor(const struct open_incident *o, uint32_t s) {
        for (size_t i = 0; i < o->n_sensors; i++)
                if (o->sensors[i] == s)
                        return true;
        return false;
}

static int add_sensor(struct open_incident *o, uint32_t s) {
        uint32_t *n = realloc(o->sensors, (o->n_sensors + 1) * sizeof *n);

        if (!n)
                return -ENOMEM;
        o->sensors = n;
        o->sensors[o->n_sensors++] = s;
        return 0;
}

static int load_one(const struct store_incident *inc, void *ud) {
        struct incidents *m = ud;
        struct open_incident *o = &m->open[inc->type];
        int s;

        if (o->open)
                return 0;       /* two open of one type: keep the oldest */
        o->open = true;
        snprintf(o->id, sizeof o->id, "%s", inc->id);
        o->severity = inc->severity;
        o->opened_at = inc->opened_at;
        o->calls = 1;
        s = inc->sensor ? config_find_sensor(m->cfg, inc->sensor) : -1;
        if (s >= 0)
                (void) add_sensor(o, (uint32_t) s);
        log_notice("incident %s (%s) is still open from before the restart", inc->id,
                   incident_type_to_string(inc->type));
        return 0;
}

int incidents_new(const struct config *cfg, struct store *store, struct dispatch *dispatch,
                  struct incidents **ret) {
        struct incidents *m = calloc(1, sizeof *m);
        int r;

        if (!m)
                return -ENOMEM;
        m->cfg = cfg;
        m->store = store;
        m->dispatch = dispatch;
        if (store && (r = store_load_open_incidents(store, load_one, m)) < 0) {
                incidents_free(m);
                return r;
        }
        *ret = m;
        return 0;
}

void incidents_free(struct incidents *m) {
        if (!m)
                return;
        for (int t = 0; t < _INCIDENT_TYPE_MAX; t++)
                free(m->open[t].sensors);
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

/* Builds the call for this trigger, stores it (with the incident when
 * new), then hands it to dispatch. */
static int raise_call(struct incidents *m, struct open_incident *o, const struct decision *d,
                      bool update, const char *reason) {
        const struct sensor_conf *s = &m->cfg->sensors[d->sensor];
        struct alarm_info a = {
                .incident_id = o->id, .type = d->type, .severity = o->severity, .update = update,
                .sequence = o->calls + 1, .started_at = o->opened_at, .raised_at = d->wall,
                .sensor = s, .reason = reason,
        };
        struct store_call call = { .kind = "alarm", .incident = o->id };
        char key[37];
        int64_t call_id = 0;
        char *body = NULL;
        int r = 0;

        for (int tries = 0; tries < 5; tries++) {
                free(body);
                if (uuid_random(key) < 0 || !(body = alarm_build_body(m->cfg, &a)))
                        return log_error_errno(ENOMEM, "incident %s: cannot build the emergency call", o->id);
                call.key = key;
                call.body = body;
                if (!m->store)
                        break;
                if (update) {
                        r = store_incident_attach(m->store, o->id, s->id, d->wall, reason, &call, &call_id);
                        break;
                }
                struct store_incident inc = {
                        .type = d->type, .severity = o->severity, .state = "open",
                        .sensor = s->id, .room = s->room, .reason = reason, .opened_at = o->opened_at,
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

static int incident_raise(struct incidents *m, const struct decision *d) {
        struct open_incident *o = &m->open[d->type];
        const struct sensor_conf *s = &m->cfg->sensors[d->sensor];
        char reason[256];
        int r;

        alarm_reason(m->cfg, d->type, s, reason, sizeof reason);
        if (o->open && has_sensor(o, d->sensor)) {
                /* The same sensor again: on the record, no new call. */
                if (m->store)
                        (void) store_incident_attach(m->store, o->id, s->id, d->wall, reason, NULL, NULL);
                log_notice("incident %s: %s triggered again", o->id, s->id);
                return 0;
        }
        if (o->open) {
                log_notice("incident %s (%s): %s joins — %s", o->id, incident_type_to_string(d->type),
                           s->id, reason);
                (void) add_sensor(o, d->sensor);
                return raise_call(m, o, d, true, reason);
        }
        *o = (struct open_incident) { .open = true, .severity = d->severity, .opened_at = d->wall };
        r = make_id(d->wall, o->id, sizeof o->id);
        if (r < 0)
                snprintf(o->id, sizeof o->id, "%llu", (unsigned long long) d->wall);
        (void) add_sensor(o, d->sensor);
        log_notice("incident %s opened: %s (%s) — %s", o->id, incident_type_to_string(d->type),
                   severity_to_string(d->severity), reason);
        return raise_call(m, o, d, false, reason);
}

static int incident_clear(struct incidents *m, const struct decision *d) {
        struct open_incident *o = &m->open[d->type];
        const struct sensor_conf *s = &m->cfg->sensors[d->sensor];

        if (!o->open)
                return 0;
        log_notice("incident %s: %s no longer reports %s; the incident stays open until a "
                   "responder closes it", o->id, s->id, incident_type_to_string(d->type));
        if (m->store)
                return store_timeline_add(m->store, o->id, d->wall, "cleared", s->id, "rule", NULL);
        return 0;
}

int incidents_apply(struct incidents *m, const struct decision *d) {
        if (d->type < 0 || d->type >= _INCIDENT_TYPE_MAX || d->sensor >= m->cfg->n_sensors)
                return -EINVAL;
        return d->kind == DECISION_RAISE ? incident_raise(m, d) : incident_clear(m, d);
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
