/* The safe zone of a resident with dementia (issue 14, [rule geofence]): a
 * pure state machine on a time passed in, like the rules (rules.h). Input is
 * the wristband's location fixes (WGS-84: the caller converts a GCJ-02 band
 * first) and ticks; output is outcomes: she has been OUTSIDE the zone for
 * `grace` within the active hours (raise: urgent ladder), she is BACK inside
 * (clear), her last fix went STALE while she is out, and is FRESH again.
 * Monotonic usec for every duration; wall usec for the local time of day
 * (localtime_r, so TZ decides) and for the fixes' own timestamps.
 * Semantics in docs/LOCATION.md; in short:
 *   - a fix that fails geo_fix_check() is ignored; one not newer (by its own
 *     fix time) than the last usable one is ignored; one worse than min_accuracy_m
 *     moves nothing (never raises, never clears) but is kept as the last
 *     known fix;
 *   - outside = farther than radius_m from the center; back inside = nearer
 *     than radius_m - clamp(accuracy, 10 %, 50 % of radius_m) (hysteresis:
 *     a fix hovering at the border does not flap);
 *   - the grace counts only within the hours: from the first fix outside, or
 *     from the start of the hours if she left before; it must fit in one
 *     span of the hours (hours that end stop the count; the next span starts
 *     it again); a raised alarm lasts until she is back, hours or not;
 *   - a fix already stale when it arrives (taken stale_after or more ago)
 *     is kept as the last known fix and in the track but moves nothing;
 *   - no usable fix for stale_after while outside: STALE (the notices say
 *     so; the alarm, pending or raised, goes on). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "geo.h"

#define GEOFENCE_NEVER UINT64_MAX
/* One call never writes more outcomes than this; pass at least as many. */
#define GEOFENCE_MAX_OUTCOMES 4
/* Fixes kept in the track since she left (oldest dropped). */
#define GEOFENCE_TRACK_MAX 32
/* A fix time later than the hub's clock by more than this is not believed
 * (a band with a wrong clock would otherwise hide every later fix). */
#define GEOFENCE_FUTURE_SLACK (UINT64_C(5) * 60 * 1000000)

struct geofence_params {
        bool enabled;
        struct geo_point center;        /* the home, WGS-84 */
        double radius_m;                /* > 0 */
        struct geo_hours hours;
        uint64_t grace;                 /* usec outside, within the hours, before the alarm */
        double min_accuracy_m;          /* fixes with a larger accuracy are ignored; 0: none are */
        uint64_t stale_after;           /* usec without a usable fix: stale; > 0 */
};

/* One location reading, WGS-84. */
struct geofence_fix {
        struct geo_point p;
        double accuracy_m;
        uint64_t fix_wall;      /* when the band took it (wall usec); 0 = not said: when it arrived */
};

enum geofence_outcome_kind {
        GEOFENCE_OUTSIDE,       /* raise: outside for grace within the hours */
        GEOFENCE_BACK,          /* clear: a fix back inside after OUTSIDE */
        GEOFENCE_STALE,         /* raised, and no usable fix for stale_after */
        GEOFENCE_FRESH,         /* raised and stale, and a usable fix (still outside) again */
        _GEOFENCE_OUTCOME_MAX,
        _GEOFENCE_OUTCOME_INVALID = -1,
};

struct geofence_outcome {
        enum geofence_outcome_kind kind;
        uint64_t mono, wall;            /* when decided */
        struct geofence_fix fix;        /* the last usable fix (BACK: the one inside) */
        double distance_m;              /* of that fix from the center */
        uint64_t fix_age;               /* usec from that fix to the decision */
        bool stale;                     /* that fix is stale_after old or more */
        struct geofence_fix left;       /* the first fix outside: where and when she left */
        uint64_t duration;              /* usec since that fix (time outside so far) */
};

enum geofence_state {
        GEOFENCE_STATE_UNKNOWN,         /* no usable fix yet (counts as inside) */
        GEOFENCE_STATE_INSIDE,
        GEOFENCE_STATE_PENDING,         /* outside, the grace running (or waiting for the hours) */
        GEOFENCE_STATE_RAISED,          /* outside, OUTSIDE emitted */
        _GEOFENCE_STATE_MAX,
        _GEOFENCE_STATE_INVALID = -1,
};

struct geofence_stats {
        uint64_t fixes;                 /* fed */
        uint64_t invalid;               /* failed geo_fix_check() */
        uint64_t old;                   /* not newer than the last usable fix */
        uint64_t inaccurate;            /* worse than min_accuracy_m */
        uint64_t late;                  /* already stale on arrival */
        uint64_t future;                /* fix time ahead of the hub's clock: arrival time used */
};

/* The whole state, for the caller to embed (no allocation). Read it only
 * through the functions below. */
struct geofence {
        struct geofence_params p;
        enum geofence_state state;
        bool have_last, have_usable;
        struct geofence_fix last;       /* newest valid fix, any accuracy */
        uint64_t last_mono;             /* its time on the monotonic clock */
        struct geofence_fix usable;     /* newest fix within min_accuracy_m */
        uint64_t usable_mono;
        struct geofence_fix left;       /* first fix outside */
        uint64_t left_mono;
        uint64_t deadline;              /* PENDING: when OUTSIDE is due; GEOFENCE_NEVER if the
                                         * grace is longer than the hours */
        bool stale;
        struct geofence_fix track[GEOFENCE_TRACK_MAX];
        unsigned track_first, track_n;
        struct geofence_stats stats;
};

/* Starts a fence with params p (copied): no fix yet, nothing pending. */
void geofence_init(struct geofence *g, const struct geofence_params *p);
/* New parameters (a config reload). Disabled: the state is dropped without
 * an outcome (an open incident stays open; people close it). Otherwise a
 * pending grace is planned again from when she left, under the new hours
 * and grace; the zone itself is judged again at the next fix. */
void geofence_set_params(struct geofence *g, const struct geofence_params *p);

/* Feeds one fix arriving at mono/wall ("now"). Runs what was due first.
 * Returns the outcomes written to out (at most max). */
size_t geofence_feed(struct geofence *g, const struct geofence_fix *fix, uint64_t mono, uint64_t wall,
                     struct geofence_outcome *out, size_t max);
/* Runs every deadline due at mono. Returns the outcomes written; when that
 * equals max, call again. */
size_t geofence_tick(struct geofence *g, uint64_t mono, uint64_t wall, struct geofence_outcome *out,
                     size_t max);
/* Monotonic time of the next deadline, GEOFENCE_NEVER if none. */
uint64_t geofence_next_deadline(const struct geofence *g);

enum geofence_state geofence_state(const struct geofence *g);
const char *geofence_state_to_string(enum geofence_state s);
const char *geofence_outcome_kind_to_string(enum geofence_outcome_kind k);
/* The newest valid fix (any accuracy) and its age at mono: what a call
 * carries. false if there is none. */
bool geofence_last_fix(const struct geofence *g, uint64_t mono, struct geofence_fix *ret,
                       uint64_t *ret_age);
/* Whether that fix is inside the zone (distance <= radius_m): 1 inside, 0
 * outside, -ENODATA if there is no fix or no zone (radius_m <= 0). For the
 * call's at_home (null when unknown). */
int geofence_at_home(const struct geofence *g);
/* The track since she last left, oldest first: at most GEOFENCE_TRACK_MAX
 * fixes are copied to out (max of them); returns how many. Kept after she
 * is back, until she leaves again. */
size_t geofence_track(const struct geofence *g, struct geofence_fix *out, size_t max);
const struct geofence_stats *geofence_get_stats(const struct geofence *g);
