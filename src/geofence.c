/* The safe zone as a pure state machine (geofence.h, docs/LOCATION.md).
 *
 * Like the rules, a timed condition keeps a monotonic deadline computed once,
 * when it starts, from the wall time of day at which it started plus
 * monotonic time: setting the wall clock later neither fires nor suppresses
 * the alarm. */
#include "geofence.h"
#include "anju/event.h"

#include <errno.h>
#include <math.h>
#include <string.h>
#include <time.h>

struct out {
        struct geofence_outcome *o;
        size_t n, max;
};

/* --- time of day ------------------------------------------------------ */

/* Local time of day of a wall time, usec after midnight. */
static uint64_t time_of_day(uint64_t wall) {
        time_t t = (time_t) (wall / USEC_PER_SEC);
        struct tm tm;

        if (!localtime_r(&t, &tm))
                return 0;
        return ((uint64_t) tm.tm_hour * 3600 + (uint64_t) tm.tm_min * 60 + (uint64_t) tm.tm_sec) *
               USEC_PER_SEC + wall % USEC_PER_SEC;
}

/* Usec from tod forward to the next time the clock shows minute m (0 if it
 * shows it now). */
static uint64_t until_minute(uint64_t tod, unsigned m) {
        uint64_t at = (uint64_t) m * USEC_PER_MIN;

        return at >= tod ? at - tod : USEC_PER_DAY - tod + at;
}

/* How long after she left (at wall time left_wall) the alarm is due: the
 * grace must pass within one span of the hours. Inside a span it counts
 * from her leaving; before one, from its start; a span that ends first
 * stops the count, and the next span starts it again. GEOFENCE_NEVER if the
 * grace is longer than a whole span. */
static uint64_t raise_after(uint64_t left_wall, const struct geo_hours *h, uint64_t grace) {
        uint64_t tod, len, t = 0;

        if (h->always || h->start_min == h->end_min)
                return grace;
        len = (uint64_t) ((h->end_min + 1440 - h->start_min) % 1440) * USEC_PER_MIN;
        tod = time_of_day(left_wall);
        if (geo_hours_contain(h, (unsigned) (tod / USEC_PER_MIN))) {
                uint64_t rest = until_minute(tod, h->end_min);
                if (grace <= rest)
                        return grace;
                t = rest + (USEC_PER_DAY - len);        /* to the end, then to the next start */
        } else {
                t = until_minute(tod, h->start_min);
        }
        return grace <= len ? t + grace : GEOFENCE_NEVER;
}

/* --- plumbing --------------------------------------------------------- */

static uint64_t add_sat(uint64_t a, uint64_t b) {
        return a > GEOFENCE_NEVER - b ? GEOFENCE_NEVER : a + b;
}

static bool outside(const struct geofence *g) {
        return g->state == GEOFENCE_STATE_PENDING || g->state == GEOFENCE_STATE_RAISED;
}

/* Appends an outcome about the last usable fix; false (nothing written)
 * when out is full. */
static bool emit(struct geofence *g, struct out *o, enum geofence_outcome_kind kind, uint64_t mono,
                 uint64_t wall) {
        if (o->n >= o->max)
                return false;
        o->o[o->n++] = (struct geofence_outcome) {
                .kind = kind, .mono = mono, .wall = wall, .fix = g->usable,
                .distance_m = geo_distance_m(g->p.center, g->usable.p),
                .fix_age = mono > g->usable_mono ? mono - g->usable_mono : 0,
                .stale = g->stale, .left = g->left,
                .duration = mono > g->left_mono ? mono - g->left_mono : 0,
        };
        return true;
}

static void track_reset(struct geofence *g) {
        g->track_first = g->track_n = 0;
}

static void track_push(struct geofence *g, const struct geofence_fix *f) {
        if (g->track_n < GEOFENCE_TRACK_MAX) {
                g->track[(g->track_first + g->track_n) % GEOFENCE_TRACK_MAX] = *f;
                g->track_n++;
        } else {
                g->track[g->track_first] = *f;
                g->track_first = (g->track_first + 1) % GEOFENCE_TRACK_MAX;
        }
}

/* The distance under which a fix counts as back inside. The margin is the
 * fix's own accuracy (a fix that could still be outside is not "back"), at
 * least 10 % of the radius (GPS wanders 5-15 m from fix to fix, so a
 * resident standing at the border does not flap), at most 50 % (a zone that
 * only a very precise fix could re-enter would never clear with Wi-Fi or
 * cell positioning). */
static double back_within(const struct geofence_params *p, double accuracy_m) {
        double r = p->radius_m, margin = accuracy_m;

        if (margin < 0.1 * r)
                margin = 0.1 * r;
        if (margin > 0.5 * r)
                margin = 0.5 * r;
        return r - margin;
}

static void plan(struct geofence *g) {
        g->deadline = add_sat(g->left_mono, raise_after(g->left.fix_wall, &g->p.hours, g->p.grace));
}

/* --- lifecycle -------------------------------------------------------- */

void geofence_init(struct geofence *g, const struct geofence_params *p) {
        *g = (struct geofence) { .p = *p, .state = GEOFENCE_STATE_UNKNOWN, .deadline = GEOFENCE_NEVER };
}

void geofence_set_params(struct geofence *g, const struct geofence_params *p) {
        g->p = *p;
        if (!p->enabled) {
                g->state = GEOFENCE_STATE_UNKNOWN;
                g->deadline = GEOFENCE_NEVER;
                g->stale = false;
        } else if (g->state == GEOFENCE_STATE_PENDING) {
                plan(g);
        }
}

/* --- the machine ------------------------------------------------------ */

/* Everything due at mono: staleness first, so that an alarm raised at the
 * same moment says that its fix is stale. */
static void run_due(struct geofence *g, struct out *o, uint64_t mono, uint64_t wall) {
        if (!g->p.enabled || !outside(g))
                return;
        if (!g->stale && add_sat(g->usable_mono, g->p.stale_after) <= mono) {
                g->stale = true;
                if (g->state == GEOFENCE_STATE_RAISED && !emit(g, o, GEOFENCE_STALE, mono, wall)) {
                        g->stale = false;
                        return;         /* out is full: again at the next call */
                }
        }
        if (g->state == GEOFENCE_STATE_PENDING && g->deadline <= mono &&
            emit(g, o, GEOFENCE_OUTSIDE, mono, wall)) {
                g->state = GEOFENCE_STATE_RAISED;
                g->deadline = GEOFENCE_NEVER;
        }
}

/* A usable, timely fix (already g->usable) moves the state. */
static void judge(struct geofence *g, struct out *o, uint64_t mono, uint64_t wall) {
        const struct geofence_fix *f = &g->usable;
        double d = geo_distance_m(g->p.center, f->p);
        bool back = d < back_within(&g->p, f->accuracy_m);

        switch (g->state) {
        case GEOFENCE_STATE_UNKNOWN:
        case GEOFENCE_STATE_INSIDE:
                if (d <= g->p.radius_m) {
                        g->state = GEOFENCE_STATE_INSIDE;
                        break;
                }
                g->state = GEOFENCE_STATE_PENDING;
                g->left = *f;
                g->left_mono = g->usable_mono;
                g->stale = false;
                track_reset(g);
                track_push(g, f);
                plan(g);
                break;
        case GEOFENCE_STATE_PENDING:
                if (back) {
                        /* A fix inside ends the pending grace: nobody was told. */
                        g->state = GEOFENCE_STATE_INSIDE;
                        g->deadline = GEOFENCE_NEVER;
                }
                g->stale = false;
                break;
        case GEOFENCE_STATE_RAISED:
                if (back) {
                        g->stale = false;
                        if (emit(g, o, GEOFENCE_BACK, mono, wall))
                                g->state = GEOFENCE_STATE_INSIDE;
                } else if (g->stale) {
                        g->stale = false;
                        if (!emit(g, o, GEOFENCE_FRESH, mono, wall))
                                g->stale = true;
                }
                break;
        default:
                break;
        }
}

size_t geofence_feed(struct geofence *g, const struct geofence_fix *fix, uint64_t mono, uint64_t wall,
                     struct geofence_outcome *out, size_t max) {
        struct out o = { out, 0, max };
        struct geofence_fix f = *fix;
        uint64_t age, fmono;

        g->stats.fixes++;
        run_due(g, &o, mono, wall);
        if (geo_fix_check(f.p.lat, f.p.lon, f.accuracy_m) != GEO_FIX_OK) {
                g->stats.invalid++;
                return o.n;
        }
        if (f.fix_wall == 0)
                f.fix_wall = wall;
        else if (f.fix_wall > add_sat(wall, GEOFENCE_FUTURE_SLACK)) {
                g->stats.future++;
                f.fix_wall = wall;
        }
        age = wall > f.fix_wall ? wall - f.fix_wall : 0;
        fmono = mono > age ? mono - age : 0;
        if (!g->have_last || f.fix_wall > g->last.fix_wall) {
                g->last = f;
                g->last_mono = fmono;
                g->have_last = true;
        }
        if (!g->p.enabled)
                return o.n;
        if (g->p.min_accuracy_m > 0 && f.accuracy_m > g->p.min_accuracy_m) {
                g->stats.inaccurate++;
                return o.n;
        }
        if (g->have_usable && f.fix_wall <= g->usable.fix_wall) {
                g->stats.old++;
                return o.n;
        }
        g->usable = f;
        g->usable_mono = fmono;
        g->have_usable = true;
        if (outside(g))
                track_push(g, &f);
        if (age >= g->p.stale_after) {
                /* News too old to act on: where she was, not where she is. */
                g->stats.late++;
                return o.n;
        }
        judge(g, &o, mono, wall);
        run_due(g, &o, mono, wall);     /* she left long enough ago already */
        return o.n;
}

size_t geofence_tick(struct geofence *g, uint64_t mono, uint64_t wall, struct geofence_outcome *out,
                     size_t max) {
        struct out o = { out, 0, max };

        run_due(g, &o, mono, wall);
        return o.n;
}

uint64_t geofence_next_deadline(const struct geofence *g) {
        uint64_t t = GEOFENCE_NEVER;

        if (!g->p.enabled || !outside(g))
                return t;
        if (g->state == GEOFENCE_STATE_PENDING)
                t = g->deadline;
        if (!g->stale) {
                uint64_t s = add_sat(g->usable_mono, g->p.stale_after);
                if (s < t)
                        t = s;
        }
        return t;
}

/* --- queries ---------------------------------------------------------- */

enum geofence_state geofence_state(const struct geofence *g) {
        return g->state;
}

const char *geofence_state_to_string(enum geofence_state s) {
        static const char *const names[_GEOFENCE_STATE_MAX] = {
                [GEOFENCE_STATE_UNKNOWN] = "unknown", [GEOFENCE_STATE_INSIDE] = "inside",
                [GEOFENCE_STATE_PENDING] = "pending", [GEOFENCE_STATE_RAISED] = "raised",
        };
        return s >= 0 && s < _GEOFENCE_STATE_MAX ? names[s] : "?";
}

const char *geofence_outcome_kind_to_string(enum geofence_outcome_kind k) {
        static const char *const names[_GEOFENCE_OUTCOME_MAX] = {
                [GEOFENCE_OUTSIDE] = "outside", [GEOFENCE_BACK] = "back",
                [GEOFENCE_STALE] = "stale", [GEOFENCE_FRESH] = "fresh",
        };
        return k >= 0 && k < _GEOFENCE_OUTCOME_MAX ? names[k] : "?";
}

bool geofence_last_fix(const struct geofence *g, uint64_t mono, struct geofence_fix *ret, uint64_t *ret_age) {
        if (!g->have_last)
                return false;
        if (ret)
                *ret = g->last;
        if (ret_age)
                *ret_age = mono > g->last_mono ? mono - g->last_mono : 0;
        return true;
}

int geofence_at_home(const struct geofence *g) {
        if (!g->have_last || !(g->p.radius_m > 0))
                return -ENODATA;
        return geo_zone_where(g->p.center, g->p.radius_m, g->last.p).inside ? 1 : 0;
}

size_t geofence_track(const struct geofence *g, struct geofence_fix *out, size_t max) {
        size_t n = g->track_n < max ? g->track_n : max;

        for (size_t i = 0; i < n; i++)
                out[i] = g->track[(g->track_first + i) % GEOFENCE_TRACK_MAX];
        return n;
}

const struct geofence_stats *geofence_get_stats(const struct geofence *g) {
        return &g->stats;
}
