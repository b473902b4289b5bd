/* Rules: fire and sos. Smoke is a level (a detector that still says smoke
 * after a restart raises or keeps its incident); SOS is an event (each press
 * is news, but a retained press replayed by the broker is history). */
#include "rules.h"
#include "config.h"

#include <stdlib.h>

enum level { LEVEL_UNKNOWN = -1, LEVEL_OFF = 0, LEVEL_ON = 1 };

struct rules {
        const struct config *cfg;
        size_t n_sensors;
        signed char *smoke;             /* enum level per sensor */
        struct rules_stats stats;
};

struct rules *rules_new(const struct config *cfg) {
        struct rules *r = calloc(1, sizeof *r);

        if (!r)
                return NULL;
        r->cfg = cfg;
        r->n_sensors = cfg->n_sensors;
        r->smoke = malloc(r->n_sensors ? r->n_sensors : 1);
        if (!r->smoke) {
                free(r);
                return NULL;
        }
        for (size_t i = 0; i < r->n_sensors; i++)
                r->smoke[i] = LEVEL_UNKNOWN;
        return r;
}

void rules_free(struct rules *r) {
        if (!r)
                return;
        free(r->smoke);
        free(r);
}

static size_t emit(struct rules *r, struct decision *out, size_t max, enum decision_kind kind,
                   enum incident_type type, enum severity sev, const struct event *ev) {
        if (max == 0)
                return 0;
        out[0] = (struct decision) {
                .kind = kind, .type = type, .severity = sev, .sensor = ev->sensor,
                .mono = ev->mono, .wall = ev->wall,
        };
        r->stats.decisions++;
        return 1;
}

static size_t rule_fire(struct rules *r, const struct event *ev, struct decision *out, size_t max) {
        enum level was = r->smoke[ev->sensor];
        enum level now = ev->value != 0 ? LEVEL_ON : LEVEL_OFF;

        r->smoke[ev->sensor] = (signed char) now;
        if (now == LEVEL_ON && was != LEVEL_ON)
                return emit(r, out, max, DECISION_RAISE, INCIDENT_FIRE, SEVERITY_CRITICAL, ev);
        if (now == LEVEL_OFF && was == LEVEL_ON)
                return emit(r, out, max, DECISION_CLEAR, INCIDENT_FIRE, SEVERITY_CRITICAL, ev);
        return 0;
}

static size_t rule_sos(struct rules *r, const struct event *ev, struct decision *out, size_t max) {
        if (ev->retained) {
                r->stats.ignored_retained++;
                return 0;
        }
        return emit(r, out, max, DECISION_RAISE, INCIDENT_SOS, SEVERITY_CRITICAL, ev);
}

size_t rules_feed(struct rules *r, const struct event *ev, struct decision *out, size_t max) {
        if (ev->sensor >= r->n_sensors)
                return 0;
        r->stats.events++;
        switch (ev->attr) {
        case ATTR_SMOKE:
                return rule_fire(r, ev, out, max);
        case ATTR_SOS:
                return rule_sos(r, ev, out, max);
        default:
                return 0;
        }
}

const struct rules_stats *rules_get_stats(const struct rules *r) {
        return &r->stats;
}
