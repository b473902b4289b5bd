/* The rules: pure, deterministic state machines (docs/DESIGN.md §5, docs/RULES.md).
 * Input is normalised events and "now" (monotonic and wall time passed in);
 * output is decisions (raise, clear, pre-alarm, cancel) and the next time
 * at which rules_tick() must be called. No rule reads a clock, touches
 * SQLite, MQTT or curl, so a week of a resident's life replays in
 * milliseconds. Durations are monotonic; wall time is used only to know the
 * time of day (active hours, night hours, the morning check). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "anju/event.h"
#include "geofence.h"

struct config;
struct rule_params;
struct rules;

/* One call never writes more decisions than this; pass at least as many. */
#define RULES_MAX_DECISIONS 16
#define RULES_NEVER UINT64_MAX

enum presence { PRESENCE_HOME, PRESENCE_LEAVING, PRESENCE_AWAY };

struct rules_stats {
        uint64_t events;
        uint64_t decisions;
        uint64_t ignored_retained;      /* retained SOS/fall/motion: history, not news */
};

/* Creates rule state for the sensors of cfg with the thresholds params
 * (both borrowed, must outlive it; params are read at every use, so a
 * changed threshold takes effect at once). mono/wall is the start: the
 * resident counts as active then, every sensor as just seen. NULL on OOM. */
struct rules *rules_new(const struct config *cfg, const struct rule_params *params, uint64_t mono, uint64_t wall);
void rules_free(struct rules *r);

/* Feeds one event (its times are "now"). Returns the number of decisions
 * written to out (at most max). */
size_t rules_feed(struct rules *r, const struct event *ev, struct decision *out, size_t max);

/* Runs every deadline that is due at mono. Returns the decisions written;
 * when that equals max, call again (more may be due). */
size_t rules_tick(struct rules *r, uint64_t mono, uint64_t wall, struct decision *out, size_t max);

/* The resident cancels a pending fall pre-alarm by other means than a
 * sensor (the ack topic, anjuctl). 1 decision if one was pending, else 0. */
size_t rules_cancel(struct rules *r, uint64_t mono, uint64_t wall, struct decision *out, size_t max);

/* An incident of type was closed by a person. A condition that is still
 * there raises again at once (a detector still reporting smoke or water:
 * one decision per such sensor, marked `again`); a timed rule watches again
 * from now (the responder has seen her). Returns the decisions written. */
size_t rules_incident_closed(struct rules *r, enum incident_type type, uint64_t mono, uint64_t wall,
                             struct decision *out, size_t max);
/* bridge/state of a bridge (a sensor's `bridge`, "zigbee2mqtt") said
 * online or offline. Offline: every sensor behind it is unknown (not
 * offline: no warning of its own, no supervision) and one device-health
 * warning (HEALTH_BRIDGE, no sensor, value = how many are unknown) is
 * raised while any bridge is offline; online: supervised again from now,
 * the warning cleared. Returns the decisions written. */
size_t rules_bridge(struct rules *r, const char *bridge, bool online, uint64_t mono, uint64_t wall,
                    struct decision *out, size_t max);
/* Behind a bridge that is offline, and not heard from since. */
bool rules_sensor_unknown(const struct rules *r, uint32_t sensor);
/* True while any smoke detector reports smoke (the charger stays cut). */
bool rules_smoke_present(const struct rules *r);

/* Monotonic time of the earliest deadline, RULES_NEVER if none. */
uint64_t rules_next_deadline(const struct rules *r);

enum presence rules_presence(const struct rules *r);
const char *presence_to_string(enum presence p);
/* Sensors currently considered offline (silent or reported offline). */
size_t rules_offline_count(const struct rules *r);
bool rules_sensor_offline(const struct rules *r, uint32_t sensor);
/* A threshold changed at run time: the inactivity deadline is planned
 * again from the last activity, the morning check and the offline sweep
 * are decided again at the next tick. Other running timers keep the limit
 * they started with. */
void rules_params_changed(struct rules *r);
/* Wall time of the last activity seen (motion, door, steps, a button). */
uint64_t rules_last_activity(const struct rules *r);

const struct rules_stats *rules_get_stats(const struct rules *r);

/* The wristband's last known position (issue 14, docs/LOCATION.md). */
struct rules_fix {
        uint32_t sensor;                /* the band that sent it */
        struct event_fix raw;           /* as sent: the datum's coordinates, its time (0: arrival) */
        struct geo_point wgs;           /* in WGS-84 */
        uint64_t fix_wall;              /* when it was taken (the arrival if the band did not say) */
        uint64_t age;                   /* usec from then to the mono asked about */
        int at_home;                    /* 1 inside the zone, 0 outside, -1 unknown (no center) */
        double distance_m;              /* from the zone's center, -1 if no center */
        bool stale;                     /* older than [rule geofence] stale_after */
        enum geofence_state state;      /* of the safe zone */
};
/* The newest valid fix and what it means at mono; false if none yet. */
bool rules_last_fix(const struct rules *r, uint64_t mono, struct rules_fix *ret);
/* The safe zone's track since she last left (oldest first, WGS-84), at
 * most max; how many. */
size_t rules_track(const struct rules *r, struct geofence_fix *out, size_t max);
