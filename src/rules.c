/* The rules of docs/DESIGN.md §5 as one pure state machine over the home.
 *
 * Levels (smoke, water, power, tamper) are re-derived from retained state
 * after a restart; events (SOS, fall, a press) are news only when they are
 * not retained. Every timed rule keeps a monotonic deadline; the day/night
 * split of a quiet spell is computed once, from the wall time at which the
 * spell began plus monotonic time, so setting the clock back or forward
 * neither fires nor suppresses a rule. */
#include "rules.h"
#include "config.h"
#include "geo.h"
#include "geofence.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum level { LEVEL_UNKNOWN = -1, LEVEL_OFF = 0, LEVEL_ON = 1 };

/* A timed condition: pending until its deadline, then raised until it ends. */
struct timed {
        uint64_t deadline;              /* mono, RULES_NEVER if not pending */
        uint64_t since_mono, since_wall;
        bool raised;
};

struct sensor_state {
        signed char smoke, water;       /* enum level */
        bool door_open;
        struct timed door;              /* door left open */
        struct timed power;             /* mains failed */
        struct timed vitals;            /* heart rate out of range (since_mono 0: in range) */
        double heart_rate;
        struct timed not_worn;
        double steps;                   /* last step count, -1 unknown */
        uint64_t last_seen, last_seen_wall;
        bool offline_raised, battery_raised, tamper_raised;
        bool battery_pct_low, battery_flag_low;
        bool armed;                     /* in rules.armed */
        /* Levels Zigbee2MQTT repeats in every message from its cache: only
         * a change is news. -1 unknown. */
        double motion;                  /* the movement value (0: none) */
        signed char present, fall_state, out_of_bed, sos_state;
        uint64_t fall_joined;           /* since_mono of the pre-alarm its fall joined, 0 none */
        bool fault_raised;
        bool unknown;                   /* its bridge is offline: neither online nor offline */
};

struct rules {
        const struct config *cfg;
        const struct rule_params *p;
        size_t n_sensors;
        struct sensor_state *s;
        uint32_t *armed;                /* sensors with a pending per-sensor deadline */
        size_t n_armed;
        size_t n_smoke_on;              /* sensors whose smoke is LEVEL_ON (asked every message) */

        /* activity and presence */
        uint64_t act_mono, act_wall;    /* last activity */
        uint32_t act_sensor;
        enum presence presence;
        uint64_t last_door;             /* mono of the last door event */
        uint64_t away_deadline;
        struct timed inactivity;        /* deadline computed from the last activity */
        bool morning_raised;
        int morning_day;                /* local day already checked (year * 1000 + yday) */
        uint64_t morning_deadline;
        struct timed night_exit;
        uint32_t night_exit_sensor;
        struct timed bath;              /* last motion was in a bathroom */
        uint32_t bath_sensor;
        struct timed fall;              /* pre-alarm window */
        uint32_t fall_sensor;
        struct timed bed;               /* out of bed at night, not back yet */
        uint32_t bed_sensor;
        uint64_t sweep;                 /* next offline check */
        bool bridge_raised;             /* a bridge is offline: its one warning is raised */
        /* the wristband's position and the safe zone */
        struct geofence fence;
        bool have_fix;
        struct event_fix raw;           /* the fence's last fix as the band sent it */
        uint32_t fix_sensor;
        enum incident_type fence_type;  /* what the fence raised: geofence, or night_exit it joined */
        struct rules_stats stats;
};

static const struct timed IDLE = { .deadline = RULES_NEVER };

static uint64_t min_u64(uint64_t a, uint64_t b) {
        return a < b ? a : b;
}

/* --- time of day ------------------------------------------------------ */

/* Local time of day of a wall time, usec after midnight, and the local day. */
static uint64_t time_of_day(uint64_t wall, int *ret_day) {
        time_t t = (time_t) (wall / USEC_PER_SEC);
        struct tm tm;

        localtime_r(&t, &tm);
        if (ret_day)
                *ret_day = (tm.tm_year + 1900) * 1000 + tm.tm_yday;
        return ((uint64_t) tm.tm_hour * 3600 + (uint64_t) tm.tm_min * 60 + (uint64_t) tm.tm_sec) *
               USEC_PER_SEC + wall % USEC_PER_SEC;
}

static bool in_window(uint64_t tod, unsigned start_min, unsigned end_min) {
        uint64_t s = start_min * USEC_PER_MIN, e = end_min * USEC_PER_MIN;

        return s < e ? tod >= s && tod < e : tod >= s || tod < e;
}

/* Usec from tod to the next start or end of the window. */
static uint64_t to_boundary(uint64_t tod, unsigned start_min, unsigned end_min) {
        uint64_t best = USEC_PER_DAY;
        uint64_t b[2] = { start_min * USEC_PER_MIN, end_min * USEC_PER_MIN };

        for (int i = 0; i < 2; i++) {
                uint64_t d = b[i] > tod ? b[i] - tod : USEC_PER_DAY - tod + b[i];
                if (d > 0 && d < best)
                        best = d;
        }
        return best;
}

/* How long after a spell that began at wall time `from` the spell is "too
 * long": each usec inside active hours uses 1/day_limit of the allowance,
 * each usec outside 1/night_limit (night_limit 0: nights do not count).
 * A spell entirely in the day fires after day_limit, entirely at night
 * after night_limit; one that spans both, in between. */
static uint64_t weighted_limit(uint64_t from, unsigned day_start, unsigned day_end,
                               uint64_t day_limit, uint64_t night_limit) {
        uint64_t tod = time_of_day(from, NULL), t = 0;
        double need = 1.0;

        for (int i = 0; i < 16; i++) {
                bool day = in_window(tod, day_start, day_end);
                uint64_t seg = to_boundary(tod, day_start, day_end);
                uint64_t lim = day ? day_limit : night_limit;

                if (lim > 0) {
                        double cap = (double) seg / (double) lim;
                        if (cap >= need)
                                return t + (uint64_t) (need * (double) lim);
                        need -= cap;
                }
                t += seg;
                tod = (tod + seg) % USEC_PER_DAY;
        }
        return t;
}

/* --- plumbing --------------------------------------------------------- */

struct out {
        struct decision *d;
        size_t n, max;
        struct rules *r;
};

static const enum severity severity_of[_INCIDENT_TYPE_MAX] = {
        [INCIDENT_FIRE] = SEVERITY_CRITICAL, [INCIDENT_SOS] = SEVERITY_CRITICAL,
        [INCIDENT_FALL] = SEVERITY_CRITICAL, [INCIDENT_INACTIVITY] = SEVERITY_URGENT,
        [INCIDENT_MORNING_CHECK] = SEVERITY_URGENT, [INCIDENT_NIGHT_EXIT] = SEVERITY_URGENT,
        [INCIDENT_BATHROOM_DWELL] = SEVERITY_URGENT, [INCIDENT_VITALS] = SEVERITY_URGENT,
        [INCIDENT_WATER_LEAK] = SEVERITY_URGENT, [INCIDENT_DEVICE_HEALTH] = SEVERITY_WARNING,
        [INCIDENT_POWER] = SEVERITY_WARNING, [INCIDENT_DOOR_OPEN] = SEVERITY_WARNING,
        [INCIDENT_BED_EXIT] = SEVERITY_URGENT, [INCIDENT_GEOFENCE] = SEVERITY_URGENT,
};

/* Appends a decision; false (nothing written) when out is full. */
static bool emit(struct out *o, enum decision_kind kind, enum incident_type type, uint32_t sensor,
                 uint64_t mono, uint64_t wall, uint64_t since_wall, uint64_t duration) {
        if (o->n >= o->max)
                return false;
        o->d[o->n++] = (struct decision) {
                .kind = kind, .type = type, .severity = severity_of[type], .sensor = sensor,
                .mono = mono, .wall = wall, .since_wall = since_wall, .duration = duration,
        };
        o->r->stats.decisions++;
        return true;
}

static struct decision *last(struct out *o) {
        return &o->d[o->n - 1];
}

static void arm(struct rules *r, uint32_t i) {
        if (r->s[i].armed)
                return;
        r->s[i].armed = true;
        r->armed[r->n_armed++] = i;
}

static void start_timed(struct timed *t, uint64_t mono, uint64_t wall, uint64_t after) {
        t->since_mono = mono;
        t->since_wall = wall;
        t->deadline = mono + after;
}

/* Ends a timed condition; a raised one is cleared (on the record). */
static void end_timed(struct out *o, struct timed *t, enum incident_type type, uint32_t sensor,
                      uint64_t mono, uint64_t wall) {
        if (t->raised && emit(o, DECISION_CLEAR, type, sensor, mono, wall, t->since_wall,
                              mono - t->since_mono))
                t->raised = false;
        if (!t->raised)
                t->deadline = RULES_NEVER;
}

/* Fires a due timed condition. */
static void fire_timed(struct out *o, struct timed *t, enum incident_type type, uint32_t sensor,
                       uint64_t mono, uint64_t wall) {
        if (t->deadline > mono || t->raised)
                return;
        if (emit(o, DECISION_RAISE, type, sensor, mono, wall, t->since_wall, mono - t->since_mono)) {
                t->raised = true;
                t->deadline = RULES_NEVER;
        }
}

/* --- lifecycle -------------------------------------------------------- */

static void plan_inactivity(struct rules *r);

/* The fence's parameters from the thresholds in force: without a center
 * there is no zone (inert, and at_home unknown). */
static void fence_params(const struct rule_params *p, struct geofence_params *g) {
        bool center = p->geo_center.lat != 0 || p->geo_center.lon != 0;

        *g = (struct geofence_params) {
                .enabled = p->geofence && center, .center = p->geo_center,
                .radius_m = center ? (double) p->geo_radius : 0, .hours = p->geo_hours, .grace = p->geo_grace,
                .min_accuracy_m = (double) p->geo_min_accuracy,
                .stale_after = p->geo_stale_after ? p->geo_stale_after : 15 * USEC_PER_MIN,
        };
}

struct rules *rules_new(const struct config *cfg, const struct rule_params *params, uint64_t mono, uint64_t wall) {
        struct rules *r = calloc(1, sizeof *r);
        size_t n = cfg->n_sensors ? cfg->n_sensors : 1;

        if (!r)
                return NULL;
        r->cfg = cfg;
        r->p = params;
        r->n_sensors = cfg->n_sensors;
        r->s = calloc(n, sizeof *r->s);
        r->armed = calloc(n, sizeof *r->armed);
        if (!r->s || !r->armed) {
                rules_free(r);
                return NULL;
        }
        for (size_t i = 0; i < r->n_sensors; i++)
                r->s[i] = (struct sensor_state) {
                        .smoke = LEVEL_UNKNOWN, .water = LEVEL_UNKNOWN, .door = IDLE, .power = IDLE,
                        .vitals = IDLE, .not_worn = IDLE, .steps = -1, .last_seen = mono,
                        .last_seen_wall = wall, .motion = -1, .present = LEVEL_UNKNOWN,
                        .fall_state = LEVEL_UNKNOWN, .out_of_bed = LEVEL_UNKNOWN, .sos_state = LEVEL_UNKNOWN,
                };
        r->act_mono = mono;
        r->act_wall = wall;
        r->act_sensor = SENSOR_NONE;
        r->presence = PRESENCE_HOME;
        r->away_deadline = RULES_NEVER;
        r->inactivity = IDLE;
        r->morning_day = -1;
        r->morning_deadline = mono;    /* decides at the first call */
        r->night_exit = r->bath = r->fall = r->bed = IDLE;
        r->sweep = mono;        /* computes the first offline deadline */
        plan_inactivity(r);     /* a resident quiet since the start is watched too */
        {
                struct geofence_params g;
                fence_params(params, &g);
                geofence_init(&r->fence, &g);
        }
        r->fence_type = INCIDENT_GEOFENCE;
        return r;
}

void rules_free(struct rules *r) {
        if (!r)
                return;
        free(r->s);
        free(r->armed);
        free(r);
}

/* --- home-wide rules -------------------------------------------------- */

/* The inactivity deadline follows from the last activity and presence. */
static void plan_inactivity(struct rules *r) {
        const struct rule_params *p = r->p;

        if (r->inactivity.raised)
                return;
        if (!p->inactivity || r->presence == PRESENCE_AWAY) {
                r->inactivity.deadline = RULES_NEVER;
                return;
        }
        r->inactivity.since_mono = r->act_mono;
        r->inactivity.since_wall = r->act_wall;
        r->inactivity.deadline = r->act_mono + weighted_limit(r->act_wall, p->day_start, p->day_end,
                                                              p->day_limit, p->night_limit);
}

/* The morning check runs when the local time reaches "by"; it fires if
 * nothing moved since "from" that day and the resident is not away. */
static void morning_check(struct rules *r, struct out *o, uint64_t mono, uint64_t wall) {
        const struct rule_params *p = r->p;
        int day;
        uint64_t tod = time_of_day(wall, &day);
        uint64_t by = p->morning_by * USEC_PER_MIN, from = p->morning_from * USEC_PER_MIN;

        if (tod >= by && day != r->morning_day) {
                uint64_t from_wall = wall - (tod - from);
                if (p->morning_check && r->presence != PRESENCE_AWAY && r->act_wall < from_wall &&
                    !r->morning_raised) {
                        if (!emit(o, DECISION_RAISE, INCIDENT_MORNING_CHECK, r->act_sensor, mono, wall,
                                  r->act_wall, mono - r->act_mono))
                                return;         /* out is full: again at the next call */
                        r->morning_raised = true;
                }
                r->morning_day = day;
        }
        r->morning_deadline = mono + (tod < by ? by - tod : USEC_PER_DAY - tod + by);
}

static void activity(struct rules *r, struct out *o, uint32_t sensor, uint64_t mono, uint64_t wall) {
        r->act_mono = mono;
        r->act_wall = wall;
        r->act_sensor = sensor;
        if (r->inactivity.raised) {
                end_timed(o, &r->inactivity, INCIDENT_INACTIVITY, sensor, mono, wall);
        }
        if (r->morning_raised && emit(o, DECISION_CLEAR, INCIDENT_MORNING_CHECK, sensor, mono, wall, 0, 0))
                r->morning_raised = false;
        plan_inactivity(r);
}

/* Motion inside after the last door event: the resident is home. */
static void motion(struct rules *r, struct out *o, uint32_t i, const struct event *ev) {
        const struct sensor_conf *sc = &r->cfg->sensors[i];

        if (ev->mono > r->last_door || r->last_door == 0) {
                if (r->presence != PRESENCE_HOME) {
                        r->presence = PRESENCE_HOME;
                        r->away_deadline = RULES_NEVER;
                }
                /* Back in: the door moved again after the night opening, then
                 * motion inside (a PIR seeing her walk out is not a return). */
                if ((r->night_exit.deadline != RULES_NEVER || r->night_exit.raised) &&
                    r->last_door > r->night_exit.since_mono)
                        end_timed(o, &r->night_exit, INCIDENT_NIGHT_EXIT, i, ev->mono, ev->wall);
        }
        if (sc->bathroom) {
                if (r->bath.deadline == RULES_NEVER && !r->bath.raised && r->p->bathroom) {
                        start_timed(&r->bath, ev->mono, ev->wall, r->p->bathroom_limit);
                        r->bath_sensor = i;
                }
        } else if (r->bath.deadline != RULES_NEVER || r->bath.raised) {
                end_timed(o, &r->bath, INCIDENT_BATHROOM_DWELL, i, ev->mono, ev->wall);
        }
        activity(r, o, i, ev->mono, ev->wall);
}

static void door(struct rules *r, struct out *o, uint32_t i, const struct event *ev) {
        struct sensor_state *s = &r->s[i];
        bool open = ev->value != 0;

        /* Door left open: a level, retained state counts. */
        if (open && !s->door_open && r->p->door_open) {
                start_timed(&s->door, ev->mono, ev->wall, r->p->door_open_limit);
                arm(r, i);
        } else if (!open) {
                end_timed(o, &s->door, INCIDENT_DOOR_OPEN, i, ev->mono, ev->wall);
        }
        s->door_open = open;
        if (ev->retained)
                return;
        /* Someone went through (or may have): leaving until motion inside. */
        r->last_door = ev->mono;
        if (r->presence != PRESENCE_AWAY || open) {
                r->presence = PRESENCE_LEAVING;
                r->away_deadline = ev->mono + r->p->away_after;
        }
        if (r->bath.deadline != RULES_NEVER || r->bath.raised)
                end_timed(o, &r->bath, INCIDENT_BATHROOM_DWELL, i, ev->mono, ev->wall);
        /* While the safe zone has her outside and raised, the door is her
         * coming back (or someone with her), not a new night exit. */
        if (open && r->p->night_exit && r->night_exit.deadline == RULES_NEVER && !r->night_exit.raised &&
            geofence_state(&r->fence) != GEOFENCE_STATE_RAISED &&
            in_window(time_of_day(ev->wall, NULL), r->p->night_start, r->p->night_end)) {
                start_timed(&r->night_exit, ev->mono, ev->wall, r->p->night_return);
                r->night_exit_sensor = i;
        }
        activity(r, o, i, ev->mono, ev->wall);
}

/* Does a radar or fall detector say someone is there now? */
static bool anyone_present(const struct rules *r) {
        for (size_t i = 0; i < r->n_sensors; i++)
                if (r->s[i].present == LEVEL_ON)
                        return true;
        return false;
}

/* A radar's presence: someone is home (not leaving, not away), but it is
 * not activity: someone present who does not move is the long lie the
 * inactivity rule is for. */
static void presence(struct rules *r, uint32_t i, const struct event *ev) {
        struct sensor_state *s = &r->s[i];

        s->present = ev->value != 0 ? LEVEL_ON : LEVEL_OFF;
        if (s->present == LEVEL_ON && (ev->mono > r->last_door || r->last_door == 0) &&
            r->presence != PRESENCE_HOME) {
                r->presence = PRESENCE_HOME;
                r->away_deadline = RULES_NEVER;
                plan_inactivity(r);     /* watched again (it paused while away) */
        }
}

/* Is anyone on a bed or chair pad now? */
static bool anyone_on_a_pad(const struct rules *r) {
        for (size_t i = 0; i < r->n_sensors; i++)
                if (r->s[i].out_of_bed == LEVEL_OFF)
                        return true;
        return false;
}

/* A bed or chair pad (Tynetec-style bed absence): out of bed inside the
 * night hours starts return_within, unless she is on another pad; back on
 * any pad ends it (or clears a raised one). Moving on or off a pad is
 * activity. */
static void bed(struct rules *r, struct out *o, uint32_t i, const struct event *ev) {
        struct sensor_state *s = &r->s[i];
        signed char was = s->out_of_bed;
        bool out = ev->value != 0;

        s->out_of_bed = out ? LEVEL_ON : LEVEL_OFF;
        if (was == s->out_of_bed || ev->retained)
                return;         /* the level repeated, or replayed by the broker */
        if (!out) {
                if (r->bed.deadline != RULES_NEVER || r->bed.raised)
                        end_timed(o, &r->bed, INCIDENT_BED_EXIT, i, ev->mono, ev->wall);
        } else if (r->p->bed_exit && r->bed.deadline == RULES_NEVER && !r->bed.raised && !anyone_on_a_pad(r) &&
                   in_window(time_of_day(ev->wall, NULL), r->p->bed_start, r->p->bed_end)) {
                start_timed(&r->bed, ev->mono, ev->wall, r->p->bed_return);
                r->bed_sensor = i;
        }
        activity(r, o, i, ev->mono, ev->wall);
}

/* --- the wristband ---------------------------------------------------- */

static void fall(struct rules *r, struct out *o, uint32_t i, const struct event *ev) {
        if (ev->retained) {
                r->stats.ignored_retained++;
                return;
        }
        if (r->fall.deadline != RULES_NEVER) {
                /* One pre-alarm at a time, its window unchanged. Another
                 * detector's fall is part of it, and on its record once (two
                 * detectors that saw her fall are worth telling a responder). */
                if (i != r->fall_sensor && r->s[i].fall_joined != r->fall.since_mono &&
                    emit(o, DECISION_PREALARM, INCIDENT_FALL, i, ev->mono, ev->wall, ev->wall,
                         r->fall.deadline > ev->mono ? r->fall.deadline - ev->mono : 0))
                        r->s[i].fall_joined = r->fall.since_mono;
                return;
        }
        if (!emit(o, DECISION_PREALARM, INCIDENT_FALL, i, ev->mono, ev->wall, ev->wall, r->p->fall_window))
                return;
        start_timed(&r->fall, ev->mono, ev->wall, r->p->fall_window);
        r->fall.raised = false;
        r->fall_sensor = i;
}

static size_t cancel(struct rules *r, struct out *o, uint32_t sensor, uint64_t mono, uint64_t wall) {
        if (r->fall.deadline == RULES_NEVER)
                return 0;
        if (!emit(o, DECISION_CANCEL, INCIDENT_FALL, sensor, mono, wall, r->fall.since_wall,
                  mono - r->fall.since_mono))
                return 0;
        last(o)->sensor = sensor;
        r->fall.deadline = RULES_NEVER;
        return 1;
}

/* A room fall detector's state: a change to "fall" starts the pre-alarm,
 * as the wristband's fall does; a possible fall is only on the record (the
 * sensor log); "normal" ends nothing. Zigbee2MQTT repeats the state in
 * every message until it changes, so only the change is a fall. */
static void fall_state(struct rules *r, struct out *o, uint32_t i, const struct event *ev) {
        struct sensor_state *s = &r->s[i];
        signed char was = s->fall_state;

        s->fall_state = (signed char) (ev->value >= 2 ? 2 : ev->value > 0 ? 1 : 0);
        if (s->fall_state == 2 && was != 2)
                fall(r, o, i, ev);
}

/* Out of range on every reading for at least `sustain`: one noisy optical
 * reading, or a reading followed by silence, pages nobody (a silent band
 * is device health's business). */
static void heart_rate(struct rules *r, struct out *o, uint32_t i, const struct event *ev) {
        struct sensor_state *s = &r->s[i];
        const struct rule_params *p = r->p;
        bool bad = ev->value < p->hr_low || ev->value > p->hr_high;

        if (ev->value <= 0 || ev->retained || s->not_worn.deadline != RULES_NEVER || s->not_worn.raised)
                return;         /* no reading, an old one, or not on the wrist */
        s->heart_rate = ev->value;
        if (!bad || !p->vitals) {
                if (s->vitals.since_mono || s->vitals.raised)
                        end_timed(o, &s->vitals, INCIDENT_VITALS, i, ev->mono, ev->wall);
                if (!s->vitals.raised)
                        s->vitals.since_mono = 0;
                return;
        }
        if (s->vitals.since_mono == 0) {
                s->vitals.since_mono = ev->mono;
                s->vitals.since_wall = ev->wall;
                return;
        }
        if (!s->vitals.raised && ev->mono - s->vitals.since_mono >= p->vitals_sustain &&
            emit(o, DECISION_RAISE, INCIDENT_VITALS, i, ev->mono, ev->wall, s->vitals.since_wall,
                 ev->mono - s->vitals.since_mono)) {
                last(o)->value = ev->value;
                s->vitals.raised = true;
        }
}

static void worn(struct rules *r, struct out *o, uint32_t i, const struct event *ev) {
        struct sensor_state *s = &r->s[i];
        const struct rule_params *p = r->p;

        if (ev->value != 0) {
                size_t before = o->n;
                end_timed(o, &s->not_worn, INCIDENT_DEVICE_HEALTH, i, ev->mono, ev->wall);
                if (o->n > before)
                        last(o)->problem = HEALTH_NOT_WORN;
                return;
        }
        /* Off the wrist: its heart rate means nothing now. */
        if (!s->vitals.raised)
                s->vitals.since_mono = 0;
        if (s->not_worn.deadline == RULES_NEVER && !s->not_worn.raised) {
                s->not_worn.since_mono = ev->mono;
                s->not_worn.since_wall = ev->wall;
                s->not_worn.deadline = ev->mono + weighted_limit(ev->wall, p->day_start, p->day_end,
                                                                 p->not_worn, 0);
                arm(r, i);
        }
}

static void steps(struct rules *r, struct out *o, uint32_t i, const struct event *ev) {
        struct sensor_state *s = &r->s[i];
        bool moved = s->steps >= 0 && ev->value > s->steps;

        s->steps = ev->value;
        if (moved && !ev->retained)
                activity(r, o, i, ev->mono, ev->wall);
}

/* --- levels and device health ----------------------------------------- */

static void level(struct out *o, signed char *state, const struct event *ev, enum incident_type type) {
        enum level was = *state, now = ev->value != 0 ? LEVEL_ON : LEVEL_OFF;

        if (now == LEVEL_ON && was != LEVEL_ON) {
                if (emit(o, DECISION_RAISE, type, ev->sensor, ev->mono, ev->wall, ev->wall, 0))
                        *state = LEVEL_ON;
        } else if (now == LEVEL_OFF && was == LEVEL_ON) {
                if (emit(o, DECISION_CLEAR, type, ev->sensor, ev->mono, ev->wall, 0, 0))
                        *state = LEVEL_OFF;
        } else {
                *state = (signed char) now;
        }
}

static void health(struct out *o, bool *raised, bool bad, enum health_problem what, const struct event *ev) {
        if (bad && !*raised) {
                if (emit(o, DECISION_RAISE, INCIDENT_DEVICE_HEALTH, ev->sensor, ev->mono, ev->wall, ev->wall, 0)) {
                        last(o)->problem = what;
                        last(o)->value = ev->value;
                        *raised = true;
                }
        } else if (!bad && *raised) {
                if (emit(o, DECISION_CLEAR, INCIDENT_DEVICE_HEALTH, ev->sensor, ev->mono, ev->wall, 0, 0)) {
                        last(o)->problem = what;
                        last(o)->value = ev->value;
                        *raised = false;
                }
        }
}

static void power(struct rules *r, struct out *o, uint32_t i, const struct event *ev) {
        struct sensor_state *s = &r->s[i];

        if (ev->value != 0) {
                if (s->power.deadline == RULES_NEVER && !s->power.raised) {
                        start_timed(&s->power, ev->mono, ev->wall, r->p->power_delay);
                        arm(r, i);
                }
        } else {
                end_timed(o, &s->power, INCIDENT_POWER, i, ev->mono, ev->wall);
        }
}

static bool supervised(const struct sensor_conf *sc) {
        return sc->topic && sc->kind != SENSOR_SIREN && sc->kind != SENSOR_RELAY;
}

/* An SOS press: raised at once; a retained one is history. */
static void sos(struct rules *r, struct out *o, uint32_t i, const struct event *ev) {
        if (ev->retained) {
                r->stats.ignored_retained++;
                return;
        }
        emit(o, DECISION_RAISE, INCIDENT_SOS, i, ev->mono, ev->wall, ev->wall, 0);
        activity(r, o, i, ev->mono, ev->wall);
}

/* --- the wristband's position and the safe zone ------------------------ */

/* One outcome of the fence as a decision. The door at night followed by a
 * fix outside is one incident: while night exit is pending or raised, the
 * fence raises (and later clears) night_exit with the band as its sensor,
 * which attaches the position; otherwise it raises geofence. */
static void fence_outcome(struct rules *r, struct out *o, const struct geofence_outcome *f, uint32_t band) {
        bool night = r->night_exit.deadline != RULES_NEVER || r->night_exit.raised;

        switch (f->kind) {
        case GEOFENCE_OUTSIDE:
                r->fence_type = night ? INCIDENT_NIGHT_EXIT : INCIDENT_GEOFENCE;
                if (night) {
                        if (emit(o, DECISION_RAISE, INCIDENT_NIGHT_EXIT, band, f->mono, f->wall,
                                 r->night_exit.since_wall, f->mono - r->night_exit.since_mono)) {
                                r->night_exit.raised = true;
                                r->night_exit.deadline = RULES_NEVER;
                        }
                } else {
                        emit(o, DECISION_RAISE, INCIDENT_GEOFENCE, band, f->mono, f->wall, f->left.fix_wall,
                             f->duration);
                }
                break;
        case GEOFENCE_BACK:
                if (r->fence_type == INCIDENT_NIGHT_EXIT && r->night_exit.raised) {
                        end_timed(o, &r->night_exit, INCIDENT_NIGHT_EXIT, band, f->mono, f->wall);
                        r->fence_type = INCIDENT_GEOFENCE;
                        return;
                }
                emit(o, DECISION_CLEAR, r->fence_type, band, f->mono, f->wall, f->left.fix_wall, f->duration);
                r->fence_type = INCIDENT_GEOFENCE;
                break;
        case GEOFENCE_STALE:
        case GEOFENCE_FRESH:
                /* On the incident's record (same sensor: no new call); the
                 * notices that follow say how old the position is. */
                if (emit(o, DECISION_RAISE, r->fence_type, band, f->mono, f->wall, f->left.fix_wall, f->duration))
                        last(o)->stale = f->kind == GEOFENCE_STALE;
                break;
        default:
                return;
        }
        if (o->n > 0 && last(o)->sensor == band)
                last(o)->value = f->distance_m;
}

static void fence_outcomes(struct rules *r, struct out *o, const struct geofence_outcome *f, size_t n) {
        for (size_t k = 0; k < n; k++)
                fence_outcome(r, o, &f[k], r->fix_sensor);
}

static void location(struct rules *r, struct out *o, uint32_t i, const struct event *ev) {
        struct geofence_outcome f[GEOFENCE_MAX_OUTCOMES];
        struct geofence_fix fix, last_fix;
        struct geo_point raw = { ev->fix.lat, ev->fix.lon };
        uint64_t age;
        size_t n;

        /* A retained fix without its own time would count as taken now. */
        if (ev->retained && ev->fix.at == 0) {
                r->stats.ignored_retained++;
                return;
        }
        fix = (struct geofence_fix) {
                .p = geo_convert(raw, (enum geo_datum) ev->fix.datum, GEO_DATUM_WGS84),
                .accuracy_m = ev->fix.accuracy, .fix_wall = ev->fix.at,
        };
        n = geofence_feed(&r->fence, &fix, ev->mono, ev->wall, f, sizeof f / sizeof f[0]);
        /* The fence keeps the newest fix by its own time: ours if it took it. */
        if (geofence_last_fix(&r->fence, ev->mono, &last_fix, &age) && last_fix.p.lat == fix.p.lat &&
            last_fix.p.lon == fix.p.lon && last_fix.accuracy_m == fix.accuracy_m) {
                r->have_fix = true;
                r->raw = ev->fix;
                r->fix_sensor = i;
        }
        fence_outcomes(r, o, f, n);
}

bool rules_last_fix(const struct rules *r, uint64_t mono, struct rules_fix *ret) {
        struct geofence_fix f;
        uint64_t age;
        int home;

        if (!r->have_fix || !geofence_last_fix(&r->fence, mono, &f, &age))
                return false;
        home = geofence_at_home(&r->fence);
        *ret = (struct rules_fix) {
                .sensor = r->fix_sensor, .raw = r->raw, .wgs = f.p, .fix_wall = f.fix_wall, .age = age,
                .at_home = home < 0 ? -1 : home,
                .distance_m = r->fence.p.radius_m > 0 ? geo_distance_m(r->fence.p.center, f.p) : -1,
                .stale = age >= r->fence.p.stale_after, .state = geofence_state(&r->fence),
        };
        return true;
}

size_t rules_track(const struct rules *r, struct geofence_fix *out, size_t max) {
        return geofence_track(&r->fence, out, max);
}

/* --- entry points ----------------------------------------------------- */

size_t rules_feed(struct rules *r, const struct event *ev, struct decision *out, size_t max) {
        struct out o = { out, 0, max, r };
        uint32_t i = ev->sensor;
        struct sensor_state *s;

        if (i >= r->n_sensors)
                return 0;
        s = &r->s[i];
        r->stats.events++;
        /* A message is a sign of life; "offline" from the bridge is not, nor
         * is a retained copy the broker replays for a sensor long dead. */
        if (!(ev->attr == ATTR_ONLINE && ev->value == 0) && !ev->retained) {
                s->last_seen = ev->mono;
                s->last_seen_wall = ev->wall;
                s->unknown = false;     /* it spoke: its bridge is there */
                if (s->offline_raised) {
                        uint64_t limit = r->cfg->sensors[i].supervision * r->p->offline_after;
                        health(&o, &s->offline_raised, false, HEALTH_OFFLINE, ev);
                        r->sweep = min_u64(r->sweep, ev->mono + limit);
                }
        }
        switch (ev->attr) {
        case ATTR_SMOKE: {
                bool was_on = s->smoke == LEVEL_ON;

                level(&o, &s->smoke, ev, INCIDENT_FIRE);
                if (was_on != (s->smoke == LEVEL_ON))
                        r->n_smoke_on = was_on ? r->n_smoke_on - 1 : r->n_smoke_on + 1;
                break;
        }
        case ATTR_WATER_LEAK:
                level(&o, &s->water, ev, INCIDENT_WATER_LEAK);
                break;
        case ATTR_SOS:
                sos(r, &o, i, ev);
                break;
        case ATTR_SOS_STATE: {
                /* A stateful button (Feibit): true stays in Zigbee2MQTT's
                 * cache until false; only false -> true is a press. */
                signed char was = s->sos_state;
                s->sos_state = ev->value != 0 ? LEVEL_ON : LEVEL_OFF;
                if (s->sos_state == LEVEL_ON && was != LEVEL_ON)
                        sos(r, &o, i, ev);
                break;
        }
        case ATTR_FALL:
                fall(r, &o, i, ev);
                break;
        case ATTR_CANCEL:
                if (ev->retained) {
                        r->stats.ignored_retained++;
                        break;
                }
                cancel(r, &o, i, ev->mono, ev->wall);
                activity(r, &o, i, ev->mono, ev->wall);
                break;
        case ATTR_MOTION: {
                /* A level Zigbee2MQTT repeats from its cache (a heartbeat
                 * with a stale occupancy: true is no sign of life): a new
                 * moving value is movement, a repeat is not. */
                double was = s->motion;
                s->motion = ev->value;
                if (ev->retained) {
                        r->stats.ignored_retained++;
                        break;
                }
                if (ev->value != 0 && ev->value != was)
                        motion(r, &o, i, ev);
                break;
        }
        case ATTR_ACTIVITY:
                if (ev->retained) {
                        r->stats.ignored_retained++;
                        break;
                }
                motion(r, &o, i, ev);
                break;
        case ATTR_PRESENCE:
                presence(r, i, ev);
                break;
        case ATTR_FALL_STATE:
                fall_state(r, &o, i, ev);
                break;
        case ATTR_OUT_OF_BED:
                bed(r, &o, i, ev);
                break;
        case ATTR_FAULT:
                health(&o, &s->fault_raised, ev->value != 0, HEALTH_FAULT, ev);
                break;
        case ATTR_DOOR_OPEN:
                if (ev->retained || (ev->value != 0) != s->door_open)
                        door(r, &o, i, ev);
                break;
        case ATTR_POWER_FAIL:
                power(r, &o, i, ev);
                break;
        case ATTR_TAMPER:
                health(&o, &s->tamper_raised, ev->value != 0, HEALTH_TAMPER, ev);
                break;
        case ATTR_BATTERY:
                /* Hysteresis: a battery near the limit does not flap. */
                s->battery_pct_low = ev->value < r->p->battery_low ||
                                     (s->battery_pct_low && ev->value < r->p->battery_low + 5);
                health(&o, &s->battery_raised, s->battery_pct_low || s->battery_flag_low, HEALTH_BATTERY, ev);
                break;
        case ATTR_BATTERY_LOW:
                s->battery_flag_low = ev->value != 0;
                health(&o, &s->battery_raised, s->battery_pct_low || s->battery_flag_low, HEALTH_BATTERY, ev);
                break;
        case ATTR_HEART_RATE:
                heart_rate(r, &o, i, ev);
                break;
        case ATTR_WORN:
                worn(r, &o, i, ev);
                break;
        case ATTR_STEPS:
                steps(r, &o, i, ev);
                break;
        case ATTR_LOCATION:
                location(r, &o, i, ev);
                break;
        case ATTR_ONLINE:
                /* Behind a bridge that is offline: unknown, and the bridge's
                 * one warning says so (not one per device). */
                if (ev->value == 0 && !s->unknown)
                        health(&o, &s->offline_raised, true, HEALTH_OFFLINE_BRIDGE, ev);
                break;
        default:
                break;
        }
        /* Due but not yet ticked: decide now (this event already counts). */
        if (ev->mono >= r->morning_deadline)
                morning_check(r, &o, ev->mono, ev->wall);
        return o.n;
}

static void tick_sensor(struct rules *r, struct out *o, uint32_t i, uint64_t mono, uint64_t wall) {
        struct sensor_state *s = &r->s[i];
        size_t before = o->n;

        fire_timed(o, &s->door, INCIDENT_DOOR_OPEN, i, mono, wall);
        fire_timed(o, &s->power, INCIDENT_POWER, i, mono, wall);
        fire_timed(o, &s->not_worn, INCIDENT_DEVICE_HEALTH, i, mono, wall);
        if (o->n > before)
                last(o)->problem = HEALTH_NOT_WORN;
}

static void sweep_offline(struct rules *r, struct out *o, uint64_t mono, uint64_t wall) {
        uint64_t next = RULES_NEVER;

        if (r->sweep > mono)
                return;
        for (size_t i = 0; i < r->n_sensors; i++) {
                const struct sensor_conf *sc = &r->cfg->sensors[i];
                struct sensor_state *s = &r->s[i];
                uint64_t limit = sc->supervision * r->p->offline_after;

                if (!supervised(sc) || s->offline_raised || s->unknown)
                        continue;
                if (mono - s->last_seen >= limit) {
                        if (!emit(o, DECISION_RAISE, INCIDENT_DEVICE_HEALTH, (uint32_t) i, mono, wall,
                                  s->last_seen_wall, mono - s->last_seen)) {
                                next = mono;
                                break;
                        }
                        last(o)->problem = HEALTH_OFFLINE;
                        s->offline_raised = true;
                } else if (s->last_seen + limit < next) {
                        next = s->last_seen + limit;
                }
        }
        r->sweep = next;
}

size_t rules_tick(struct rules *r, uint64_t mono, uint64_t wall, struct decision *out, size_t max) {
        struct out o = { out, 0, max, r };
        size_t k = 0;

        fire_timed(&o, &r->fall, INCIDENT_FALL, r->fall_sensor, mono, wall);
        if (r->away_deadline <= mono) {
                r->away_deadline = RULES_NEVER;
                if (anyone_present(r)) {
                        /* A radar still sees someone: nobody went out. */
                        r->presence = PRESENCE_HOME;
                } else {
                        r->presence = PRESENCE_AWAY;
                        if (!r->inactivity.raised)
                                r->inactivity.deadline = RULES_NEVER;
                }
        }
        fire_timed(&o, &r->bed, INCIDENT_BED_EXIT, r->bed_sensor, mono, wall);
        fire_timed(&o, &r->night_exit, INCIDENT_NIGHT_EXIT, r->night_exit_sensor, mono, wall);
        fire_timed(&o, &r->inactivity, INCIDENT_INACTIVITY, r->act_sensor, mono, wall);
        fire_timed(&o, &r->bath, INCIDENT_BATHROOM_DWELL, r->bath_sensor, mono, wall);
        if (mono >= r->morning_deadline)
                morning_check(r, &o, mono, wall);
        /* Per-sensor deadlines; a sensor with none left leaves the list. */
        while (k < r->n_armed) {
                uint32_t i = r->armed[k];
                struct sensor_state *s = &r->s[i];

                tick_sensor(r, &o, i, mono, wall);
                if (s->door.deadline == RULES_NEVER && s->power.deadline == RULES_NEVER &&
                    s->not_worn.deadline == RULES_NEVER) {
                        s->armed = false;
                        r->armed[k] = r->armed[--r->n_armed];
                } else {
                        k++;
                }
        }
        sweep_offline(r, &o, mono, wall);
        if (o.n < o.max && geofence_next_deadline(&r->fence) <= mono) {
                /* At most what still fits: the rest is due at the next call. */
                struct geofence_outcome f[GEOFENCE_MAX_OUTCOMES];
                size_t room = o.max - o.n;
                size_t n = geofence_tick(&r->fence, mono, wall, f, room < GEOFENCE_MAX_OUTCOMES ? room
                                                                                                 : GEOFENCE_MAX_OUTCOMES);
                fence_outcomes(r, &o, f, n);
        }
        return o.n;
}

/* A level still on after its incident closed: raised again, marked. */
static void level_again(struct rules *r, struct out *o, enum incident_type type, bool water, uint64_t mono,
                        uint64_t wall) {
        for (size_t i = 0; i < r->n_sensors; i++)
                if ((water ? r->s[i].water : r->s[i].smoke) == LEVEL_ON &&
                    emit(o, DECISION_RAISE, type, (uint32_t) i, mono, wall, wall, 0))
                        last(o)->again = true;
}

size_t rules_incident_closed(struct rules *r, enum incident_type type, uint64_t mono, uint64_t wall,
                             struct decision *out, size_t max) {
        struct out o = { out, 0, max, r };

        switch (type) {
        case INCIDENT_FIRE:
                level_again(r, &o, type, false, mono, wall);
                break;
        case INCIDENT_WATER_LEAK:
                level_again(r, &o, type, true, mono, wall);
                break;
        case INCIDENT_INACTIVITY:
        case INCIDENT_MORNING_CHECK:
                /* Someone has seen her: that is the last sign of life. */
                r->inactivity.raised = false;
                r->morning_raised = false;
                r->act_mono = mono;
                r->act_wall = wall;
                plan_inactivity(r);
                break;
        case INCIDENT_BATHROOM_DWELL:
                r->bath = IDLE;
                break;
        case INCIDENT_NIGHT_EXIT:
                r->night_exit = IDLE;
                break;
        case INCIDENT_BED_EXIT:
                r->bed = IDLE;
                break;
        case INCIDENT_VITALS:
                for (size_t i = 0; i < r->n_sensors; i++)
                        r->s[i].vitals = IDLE;
                break;
        default:
                break;
        }
        return o.n;
}

size_t rules_bridge(struct rules *r, const char *bridge, bool online, uint64_t mono, uint64_t wall,
                    struct decision *out, size_t max) {
        struct out o = { out, 0, max, r };
        size_t behind = 0, unknown = 0;

        for (size_t i = 0; i < r->n_sensors; i++) {
                const struct sensor_conf *sc = &r->cfg->sensors[i];
                struct sensor_state *s = &r->s[i];

                if (!sc->topic || !sc->bridge || strcmp(sc->bridge, bridge) != 0)
                        continue;
                behind++;
                if (online && s->unknown) {
                        /* Its silence was the bridge's: supervised from now. */
                        s->last_seen = mono;
                        s->last_seen_wall = wall;
                }
                s->unknown = !online;
        }
        if (behind == 0)
                return 0;
        for (size_t i = 0; i < r->n_sensors; i++)
                unknown += r->s[i].unknown;
        if ((unknown > 0) != r->bridge_raised &&
            emit(&o, unknown > 0 ? DECISION_RAISE : DECISION_CLEAR, INCIDENT_DEVICE_HEALTH, SENSOR_NONE, mono, wall,
                 wall, 0)) {
                last(&o)->problem = HEALTH_BRIDGE;
                last(&o)->value = (double) (unknown > 0 ? unknown : behind);
                r->bridge_raised = unknown > 0;
        }
        r->sweep = min_u64(r->sweep, mono);     /* decided again from the new last_seen */
        return o.n;
}

bool rules_sensor_unknown(const struct rules *r, uint32_t i) {
        return i < r->n_sensors && r->s[i].unknown;
}

bool rules_smoke_present(const struct rules *r) {
        return r->n_smoke_on > 0;
}

size_t rules_cancel(struct rules *r, uint64_t mono, uint64_t wall, struct decision *out, size_t max) {
        struct out o = { out, 0, max, r };

        return cancel(r, &o, SENSOR_NONE, mono, wall);
}

uint64_t rules_next_deadline(const struct rules *r) {
        uint64_t t = r->sweep;

        t = min_u64(t, r->fall.deadline);
        t = min_u64(t, r->away_deadline);
        t = min_u64(t, r->night_exit.deadline);
        t = min_u64(t, r->bed.deadline);
        t = min_u64(t, r->inactivity.deadline);
        t = min_u64(t, r->bath.deadline);
        t = min_u64(t, r->morning_deadline);
        t = min_u64(t, geofence_next_deadline(&r->fence));
        for (size_t k = 0; k < r->n_armed; k++) {
                const struct sensor_state *s = &r->s[r->armed[k]];
                t = min_u64(t, s->door.deadline);
                t = min_u64(t, s->power.deadline);
                t = min_u64(t, s->not_worn.deadline);
        }
        return t;
}

enum presence rules_presence(const struct rules *r) {
        return r->presence;
}

const char *presence_to_string(enum presence p) {
        switch (p) {
        case PRESENCE_HOME: return "home";
        case PRESENCE_LEAVING: return "leaving";
        case PRESENCE_AWAY: return "away";
        }
        return "?";
}

bool rules_sensor_offline(const struct rules *r, uint32_t i) {
        return i < r->n_sensors && r->s[i].offline_raised;
}

void rules_params_changed(struct rules *r) {
        struct geofence_params g;

        fence_params(r->p, &g);
        geofence_set_params(&r->fence, &g);
        plan_inactivity(r);
        r->morning_deadline = 0;        /* decided again at the next call */
        r->sweep = 0;
}

size_t rules_offline_count(const struct rules *r) {
        size_t n = 0;

        for (size_t i = 0; i < r->n_sensors; i++)
                n += r->s[i].offline_raised;
        return n;
}

uint64_t rules_last_activity(const struct rules *r) {
        return r->act_wall;
}

const struct rules_stats *rules_get_stats(const struct rules *r) {
        return &r->stats;
}
