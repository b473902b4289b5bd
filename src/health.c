/* Problems of the hub itself, as decisions (see health.h). */
#include "health.h"

#include <stdlib.h>
#include <string.h>

#define STORAGE_REPEAT (10 * USEC_PER_MIN)

struct health {
        unsigned long storage_seen;     /* failures already reported */
        uint64_t storage_warned;        /* mono */
        uint64_t drops[HEALTH_FLAP_DROPS];      /* mono of the last drops, a ring */
        unsigned next_drop;
        uint64_t last_drop;
        bool flapping;
};

struct health *health_new(void) {
        return calloc(1, sizeof(struct health));
}

void health_free(struct health *h) {
        free(h);
}

struct decision health_decision(enum health_problem p, bool bad, uint32_t sensor, uint64_t mono, uint64_t wall) {
        return (struct decision) {
                .kind = bad ? DECISION_RAISE : DECISION_CLEAR, .type = INCIDENT_DEVICE_HEALTH,
                .severity = SEVERITY_WARNING, .sensor = sensor, .mono = mono, .wall = wall, .since_wall = wall,
                .problem = p,
        };
}

bool health_storage(struct health *h, unsigned long failures, bool fault, uint64_t mono, uint64_t wall,
                    struct decision *d) {
        if (!fault && failures == h->storage_seen)
                return false;
        if (!fault && h->storage_warned && mono - h->storage_warned < STORAGE_REPEAT)
                return false;
        h->storage_warned = mono ? mono : 1;
        h->storage_seen = failures;
        *d = health_decision(HEALTH_STORAGE, true, SENSOR_NONE, mono, wall);
        return true;
}

bool health_mqtt(struct health *h, bool up, uint64_t mono, uint64_t wall, struct decision *d) {
        uint64_t oldest;

        if (up)
                return false;
        h->last_drop = mono;
        h->drops[h->next_drop] = mono ? mono : 1;
        h->next_drop = (h->next_drop + 1) % HEALTH_FLAP_DROPS;
        oldest = h->drops[h->next_drop];
        if (h->flapping || !oldest || mono - oldest > HEALTH_FLAP_WINDOW)
                return false;
        h->flapping = true;
        *d = health_decision(HEALTH_MQTT, true, SENSOR_NONE, mono, wall);
        d->duration = mono - oldest;
        d->since_wall = wall - d->duration;
        return true;
}

bool health_mqtt_tick(struct health *h, uint64_t mono, uint64_t wall, struct decision *d) {
        if (!h->flapping || mono - h->last_drop < HEALTH_FLAP_STEADY)
                return false;
        h->flapping = false;
        memset(h->drops, 0, sizeof h->drops);
        *d = health_decision(HEALTH_MQTT, false, SENSOR_NONE, mono, wall);
        return true;
}

bool health_mqtt_flapping(const struct health *h) {
        return h->flapping;
}
