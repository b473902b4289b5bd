/* Problems of the hub itself and of its lines — the database failing, the
 * dispatch link down, the center refusing calls, the broker connection
 * flapping, a GPIO line lost — turned into device-health decisions for the
 * incident manager (warnings to maintenance, never a call). Pure: counts
 * and times come in; it keeps only what it needs to report each problem
 * once (a full disk fails every write: one warning per 10 minutes). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "anju/event.h"

struct health;

/* The broker connection flaps: this many drops within the window. */
#define HEALTH_FLAP_DROPS 3
#define HEALTH_FLAP_WINDOW (5 * USEC_PER_MIN)
/* ... and is steady again after this long without a drop. */
#define HEALTH_FLAP_STEADY (10 * USEC_PER_MIN)

struct health *health_new(void);
void health_free(struct health *h);

/* A decision about a problem: raise (bad) or clear, on sensor (or
 * SENSOR_NONE for the hub itself). */
struct decision health_decision(enum health_problem p, bool bad, uint32_t sensor, uint64_t mono, uint64_t wall);

/* The store has failed failures statements since it opened (fault: it did
 * not open as it was). True and *d if a warning is due now. */
bool health_storage(struct health *h, unsigned long failures, bool fault, uint64_t mono, uint64_t wall,
                    struct decision *d);
/* The broker connection dropped (up false) or came back (up true). True
 * and *d if that makes or ends a flapping problem. */
bool health_mqtt(struct health *h, bool up, uint64_t mono, uint64_t wall, struct decision *d);
/* Re-checked on a timer: the flapping has stopped. */
bool health_mqtt_tick(struct health *h, uint64_t mono, uint64_t wall, struct decision *d);
/* The connection is flapping now (for anjuctl status). */
bool health_mqtt_flapping(const struct health *h);
