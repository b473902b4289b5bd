/* The incident manager (see incident.h). Every function here decides and
 * appends actions; nothing is stored, sent or logged from this file. */
#include "incident.h"
#include "config.h"
#include "ladder.h"
#include "util.h"
#include "words.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum inc_state { STATE_PREALARM, STATE_OPEN, STATE_ACKED, STATE_ONSITE, _STATE_MAX };

static const char *const state_names[_STATE_MAX] = { "prealarm", "open", "acked", "onsite" };

struct incident {
        char id[ACTION_ID_MAX];
        enum incident_type type;
        uint32_t subject;               /* the device of a per-device incident, else SENSOR_NONE */
        enum health_problem problem;    /* a problem of the hub itself: part of the key */
        enum inc_state state;
        bool called;                    /* a call to the center exists for it */
        uint32_t reported;              /* bit per [receiver] (DC-09) it was reported to */
        uint32_t restored;              /* ... and sent the restore since (the condition cleared) */
        bool silenced;                  /* a person answered: the local siren may stop */
        enum severity severity;
        uint64_t opened_at;             /* wall */
        unsigned calls;
        uint32_t *sensors;              /* sensors that triggered it */
        size_t n_sensors;
        uint32_t *arrived;              /* contacts who arrived (they may close it) */
        size_t n_arrived;
        struct ladder ladder;
        struct decision first;          /* the decision that opened it (for calls made later) */
        char reason[ACTION_TEXT_MAX];   /* the sentence of that decision */
};

struct incidents {
        const struct config *cfg;
        const struct rule_params *params;
        struct incident **open;         /* oldest first */
        size_t n_open;
        size_t *by_order;               /* contact indexes sorted by `order` */
        uint64_t *warned;               /* per sensor, then per hub problem: mono of the last warning notice */
        char power_cut_by[ACTION_ID_MAX];       /* the fire the relays cut the power for */
        incident_id_fn make_id;
        void *make_id_ud;
        struct incidents_stats stats;
};

/* --- small helpers -------------------------------------------------------- */

static bool per_device(enum incident_type t) {
        return t == INCIDENT_DEVICE_HEALTH || t == INCIDENT_DOOR_OPEN || t == INCIDENT_POWER;
}

static const struct sensor_conf *sensor_of(const struct incidents *m, uint32_t i) {
        return i < m->cfg->n_sensors ? &m->cfg->sensors[i] : NULL;
}

static const char *sensor_id(const struct incidents *m, uint32_t i) {
        const struct sensor_conf *s = sensor_of(m, i);
        return s ? s->id : NULL;
}

static const struct escalation_conf *esc_of(const struct incidents *m, const struct incident *o) {
        return &m->cfg->escalation[o->severity];
}

static bool has(const uint32_t *v, size_t n, uint32_t x) {
        for (size_t i = 0; i < n; i++)
                if (v[i] == x)
                        return true;
        return false;
}

static int add_to(uint32_t **v, size_t *n, uint32_t x) {
        uint32_t *nv;

        if (has(*v, *n, x))
                return 0;
        nv = realloc(*v, (*n + 1) * sizeof *nv);
        if (!nv)
                return -ENOMEM;
        *v = nv;
        nv[(*n)++] = x;
        return 0;
}

static void add_sensor(struct incident *o, uint32_t s) {
        if (s != SENSOR_NONE)
                (void) add_to(&o->sensors, &o->n_sensors, s);
}

static struct incident *find_key(const struct incidents *m, enum incident_type type, uint32_t subject,
                                 enum health_problem problem) {
        for (size_t i = 0; i < m->n_open; i++) {
                struct incident *o = m->open[i];
                if (o->type == type && o->subject == subject && (subject != SENSOR_NONE || o->problem == problem))
                        return o;
        }
        return NULL;
}

static uint32_t subject_of(enum incident_type type, uint32_t sensor) {
        return per_device(type) ? sensor : SENSOR_NONE;
}

static struct incident *find_for(const struct incidents *m, const struct decision *d) {
        uint32_t subject = subject_of(d->type, d->sensor);
        return find_key(m, d->type, subject, subject == SENSOR_NONE && per_device(d->type) ? d->problem : HEALTH_NONE);
}

static struct incident *find_id(const struct incidents *m, const char *id) {
        for (size_t i = 0; i < m->n_open; i++)
                if (strcmp(m->open[i]->id, id) == 0)
                        return m->open[i];
        return NULL;
}

static void incident_free(struct incident *o) {
        if (!o)
                return;
        free(o->sensors);
        free(o->arrived);
        free(o);
}

static void forget(struct incidents *m, struct incident *o) {
        for (size_t i = 0; i < m->n_open; i++)
                if (m->open[i] == o) {
                        memmove(&m->open[i], &m->open[i + 1], (m->n_open - i - 1) * sizeof *m->open);
                        m->n_open--;
                        break;
                }
        incident_free(o);
}

static struct action *act(struct action_list *out, enum action_kind k, const struct incident *o, uint64_t wall) {
        struct action *a = action_add(out, k, o ? o->id : NULL);

        if (a) {
                a->wall = wall;
                if (o) {
                        a->type = o->type;
                        a->severity = o->severity;
                        a->state = state_names[o->state];
                        a->opened_at = o->opened_at;
                }
        }
        return a;
}

static void say_log(struct action_list *out, const struct incident *o, bool warn, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

static void say_log(struct action_list *out, const struct incident *o, bool warn, const char *fmt, ...) {
        struct action *a = act(out, ACT_LOG, o, 0);
        va_list ap;

        if (!a)
                return;
        a->warn = warn;
        va_start(ap, fmt);
        vsnprintf(a->text, sizeof a->text, fmt, ap);
        va_end(ap);
        utf8_trim(a->text);
}

static void timeline(struct action_list *out, const struct incident *o, uint64_t wall, const char *event,
                     const char *actor, const char *channel, const char *note) {
        struct action *a = act(out, ACT_TIMELINE, o, wall);

        if (!a)
                return;
        a->event = event;
        snprintf(a->actor, sizeof a->actor, "%s", actor ? actor : "");
        snprintf(a->channel, sizeof a->channel, "%s", channel ? channel : "");
        snprintf(a->text, sizeof a->text, "%s", note ? note : "");
}

static void alert(struct action_list *out, const struct incident *o, const struct decision *d, const char *state,
                  const char *text) {
        struct action *a = act(out, ACT_ALERT, o, d->wall);

        if (!a)
                return;
        a->type = d->type;
        a->state = state;
        a->sensor = d->sensor;
        a->why = *d;
        snprintf(a->text, sizeof a->text, "%s", text);
}

static void prompt(struct incidents *m, struct action_list *out, const struct incident *o, bool start,
                   uint64_t wall) {
        struct action *a = act(out, ACT_PROMPT, o, wall);

        if (!a)
                return;
        a->start = start;
        a->window = m->params->fall_window;
        if (start)
                words_prompt(m->cfg, a->window, a->text, sizeof a->text);
}

/* --- lifecycle --------------------------------------------------------------- */

static int default_id(uint64_t wall, char *buf, size_t n, void *userdata) {
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

static int cmp_order(const void *a, const void *b, void *ud) {
        const struct config *cfg = ud;
        const struct contact_conf *x = &cfg->contacts[*(const size_t *) a];
        const struct contact_conf *y = &cfg->contacts[*(const size_t *) b];

        return x->order != y->order ? (x->order < y->order ? -1 : 1) : strcmp(x->id, y->id);
}

int incidents_new(const struct config *cfg, const struct rule_params *params, struct incidents **ret) {
        struct incidents *m = calloc(1, sizeof *m);

        if (!m)
                return -ENOMEM;
        m->cfg = cfg;
        m->params = params;
        m->make_id = default_id;
        m->by_order = calloc(cfg->n_contacts + 1, sizeof *m->by_order);
        m->warned = calloc(cfg->n_sensors + _HEALTH_MAX + 1, sizeof *m->warned);
        if (!m->by_order || !m->warned) {
                incidents_free(m);
                return -ENOMEM;
        }
        for (size_t i = 0; i < cfg->n_contacts; i++)
                m->by_order[i] = i;
        qsort_r(m->by_order, cfg->n_contacts, sizeof *m->by_order, cmp_order, (void *) cfg);
        *ret = m;
        return 0;
}

void incidents_free(struct incidents *m) {
        if (!m)
                return;
        for (size_t i = 0; i < m->n_open; i++)
                incident_free(m->open[i]);
        free(m->open);
        free(m->by_order);
        free(m->warned);
        free(m);
}

void incidents_set_id_source(struct incidents *m, incident_id_fn fn, void *userdata) {
        m->make_id = fn ? fn : default_id;
        m->make_id_ud = userdata;
}

int incidents_rekey(struct incidents *m, const char *old_id, char *new_id, size_t n) {
        struct incident *o = find_id(m, old_id);
        int r;

        if (!o)
                return -ENOENT;
        if ((r = m->make_id(o->opened_at, o->id, sizeof o->id, m->make_id_ud)) < 0)
                return r;
        if (strcmp(m->power_cut_by, old_id) == 0)
                snprintf(m->power_cut_by, sizeof m->power_cut_by, "%s", o->id);
        snprintf(new_id, n, "%s", o->id);
        return 0;
}

static struct incident *new_incident(struct incidents *m, const struct decision *d, const char *reason,
                                     enum inc_state state) {
        struct incident *o = calloc(1, sizeof *o), **nv;

        if (!o)
                return NULL;
        nv = realloc(m->open, (m->n_open + 1) * sizeof *nv);
        if (!nv) {
                free(o);
                return NULL;
        }
        m->open = nv;
        *o = (struct incident) {
                .type = d->type, .subject = subject_of(d->type, d->sensor), .severity = d->severity,
                .opened_at = d->wall, .first = *d, .state = state,
                .problem = subject_of(d->type, d->sensor) == SENSOR_NONE ? d->problem : HEALTH_NONE,
        };
        snprintf(o->reason, sizeof o->reason, "%s", reason);
        if (m->make_id(d->wall, o->id, sizeof o->id, m->make_id_ud) < 0)
                snprintf(o->id, sizeof o->id, "%llu", (unsigned long long) d->wall);
        add_sensor(o, d->sensor);
        m->open[m->n_open++] = o;
        m->stats.opened++;
        return o;
}

/* The receivers it was reported to get its restore (DC-09 3xxx / xH),
 * once: when its condition clears, else when it closes. */
static void restore_reports(struct action_list *out, struct incident *o, uint64_t wall) {
        uint32_t due = o->reported & ~o->restored;

        o->restored |= due;
        for (unsigned i = 0; i < 32; i++) {
                struct action *a;
                if (!(due & (1u << i)) || !(a = act(out, ACT_CALL, o, wall)))
                        continue;
                a->target = TARGET_RECEIVER;
                a->receiver = i;
                a->restore = true;
                a->type = o->first.type;
                a->sensor = o->first.sensor;
                a->why = o->first;
                snprintf(a->text, sizeof a->text, "%s", o->reason);
        }
}

static void close_incident(struct incidents *m, struct action_list *out, struct incident *o, uint64_t wall) {
        restore_reports(out, o, wall);
        forget(m, o);
}

/* The rows of a new incident: the incident, its sensor, its first row. */
static void opened_rows(struct incidents *m, struct action_list *out, struct incident *o, const struct decision *d) {
        struct action *a = act(out, ACT_OPEN, o, o->opened_at);
        const char *sid = sensor_id(m, d->sensor);

        if (a) {
                a->sensor = d->sensor;
                a->why = *d;
                snprintf(a->text, sizeof a->text, "%s", o->reason);
        }
        if (d->sensor != SENSOR_NONE && (a = act(out, ACT_JOIN, o, o->opened_at)))
                a->sensor = d->sensor;
        timeline(out, o, o->opened_at, o->state == STATE_PREALARM ? "prealarm" : "opened", sid, "rule", o->reason);
}

/* --- contacts ---------------------------------------------------------------- */

static void notify_contact(struct incidents *m, struct action_list *out, struct incident *o, uint32_t k,
                           const char *kind, unsigned repeat, uint64_t wall, const char *text, const char *state) {
        const struct contact_conf *c = &m->cfg->contacts[k];
        struct action *a = act(out, ACT_NOTIFY, o, wall);
        char note[96];

        m->stats.notifications++;
        if (a) {
                a->contact = k;
                a->notice = kind;
                a->repeat = repeat;
                a->state = state;
                a->type = o->first.type;
                snprintf(a->text, sizeof a->text, "%s", text);
        }
        if (repeat)
                snprintf(note, sizeof note, "%s %u", kind, repeat);
        else
                snprintf(note, sizeof note, "%s", kind);
        if (c->topic)
                timeline(out, o, wall, "notified", c->id, "mqtt", note);
        if (c->webhook)
                timeline(out, o, wall, "notified", c->id, "webhook", note);
}

/* A ladder step or repeat: every contact of the role, in `order`. */
static void notify_role(struct incidents *m, struct action_list *out, struct incident *o,
                        const struct ladder_action *a, uint64_t wall) {
        const char *kind = a->onsite_overdue ? "nobody on site yet" : a->repeat ? "repeat" : "alert";
        char text[ACTION_TEXT_MAX];
        unsigned n = 0;

        words_notice(m->cfg, o->reason, o->id, text, sizeof text);
        for (size_t i = 0; i < m->cfg->n_contacts; i++) {
                uint32_t k = (uint32_t) m->by_order[i];
                if ((int) m->cfg->contacts[k].role != (int) a->target)
                        continue;
                notify_contact(m, out, o, k, kind, a->repeat, wall, text, state_names[o->state]);
                n++;
        }
        if (n == 0 && a->repeat == 0) {
                say_log(out, o, true, "incident %s: no %s contact is configured; ladder step skipped", o->id,
                        ladder_target_to_string(a->target));
                timeline(out, o, wall, "step_skipped", ladder_target_to_string(a->target), "ladder",
                         "no contact with this role");
        } else if (n > 0 && a->repeat == 0) {
                say_log(out, o, false, "incident %s: %s notified (%u contact%s)", o->id,
                        ladder_target_to_string(a->target), n, n == 1 ? "" : "s");
        }
}

/* Tells the contacts already reached what changed (someone took charge). */
static void inform_reached(struct incidents *m, struct action_list *out, struct incident *o, const char *what,
                           uint64_t wall, const char *state) {
        char text[ACTION_TEXT_MAX];

        words_notice(m->cfg, what, NULL, text, sizeof text);
        for (size_t i = 0; i < m->cfg->n_contacts; i++) {
                uint32_t k = (uint32_t) m->by_order[i];
                if (o->ladder.reached & (1u << m->cfg->contacts[k].role))
                        notify_contact(m, out, o, k, "update", 0, wall, text, state);
        }
}

/* --- calls ---------------------------------------------------------------------- */

/* A call to the center of the incident (its first, a ladder step's, or an
 * update when a further sensor joins), with its timeline row unless the
 * incident's own "opened" row says it. */
static void call(struct action_list *out, struct incident *o, const struct decision *d, bool update,
                 const char *reason) {
        struct action *a = act(out, ACT_CALL, o, d->wall);

        o->calls++;
        o->called = true;
        if (!a)
                return;
        a->target = TARGET_DISPATCH;
        a->update = update;
        a->sequence = o->calls;
        a->type = d->type;
        a->sensor = d->sensor;
        a->why = *d;
        snprintf(a->text, sizeof a->text, "%s", reason);
}

/* A report to a [receiver] (DC-09), once per incident and receiver. */
static void report(struct action_list *out, struct incident *o, const struct decision *d, unsigned receiver,
                   const char *reason) {
        struct action *a;

        if (receiver >= 32 || (o->reported & (1u << receiver)))
                return;
        o->reported |= 1u << receiver;
        if (!(a = act(out, ACT_CALL, o, d->wall)))
                return;
        a->target = TARGET_RECEIVER;
        a->receiver = receiver;
        a->type = d->type;
        a->sensor = d->sensor;
        a->why = *d;
        snprintf(a->text, sizeof a->text, "%s", reason);
}

/* The condition came back after its restore: the receivers hear the
 * alarm again. */
static void report_again(struct action_list *out, struct incident *o, const struct decision *d,
                         const char *reason) {
        uint32_t again = o->restored;

        for (unsigned i = 0; i < 32; i++)
                if (again & (1u << i)) {
                        o->reported &= ~(1u << i);
                        o->restored &= ~(1u << i);
                        report(out, o, d, i, reason);
                }
}

/* Where a warning's "told maintenance" time is kept: per device, and per
 * problem of the hub itself. */
static size_t warn_slot(const struct incidents *m, const struct incident *o) {
        if (o->first.sensor != SENSOR_NONE)
                return o->first.sensor;
        return m->cfg->n_sensors + (size_t) o->first.problem;
}

/* Carries out what the ladder says is due. */
static void escalate(struct incidents *m, struct action_list *out, struct incident *o, uint64_t mono,
                     uint64_t wall, const struct ladder_action *a, size_t n) {
        const struct escalation_conf *e = esc_of(m, o);
        uint64_t *warned = &m->warned[warn_slot(m, o)];

        for (size_t i = 0; i < n; i++) {
                if (a[i].kind == LADDER_CALL && a[i].target == TARGET_RECEIVER) {
                        struct decision d = o->first;
                        d.wall = wall;
                        d.mono = mono;
                        report(out, o, &d, a[i].receiver, o->reason);
                } else if (a[i].kind == LADDER_CALL) {
                        struct decision d = o->first;
                        if (o->called)
                                continue;       /* made before a restart */
                        d.wall = wall;
                        d.mono = mono;
                        d.duration = wall > d.since_wall && d.since_wall ? wall - d.since_wall : d.duration;
                        say_log(out, o, false, "incident %s: %s — calling the dispatch center", o->id,
                                a[i].onsite_overdue ? "nobody on site in time" : "nobody has taken charge");
                        timeline(out, o, wall, "called", "ladder", "ladder", o->reason);
                        call(out, o, &d, false, o->reason);
                } else if (o->severity == SEVERITY_WARNING && *warned && e->per_device &&
                           mono - *warned < e->per_device) {
                        timeline(out, o, wall, "notice_suppressed", "ladder", "ladder",
                                 "this device was reported within per_device");
                } else {
                        if (o->severity == SEVERITY_WARNING)
                                *warned = mono ? mono : 1;
                        notify_role(m, out, o, &a[i], wall);
                }
        }
}

/* Starts the ladder of an incident that just became open; its first step
 * (the center at once, for a critical one) is carried out now. */
static void start_ladder(struct incidents *m, struct action_list *out, struct incident *o, const struct decision *d,
                         bool first_row) {
        struct ladder_action a[LADDER_MAX_ACTIONS];
        size_t n;

        ladder_start(&o->ladder, d->mono);
        n = ladder_tick(&o->ladder, esc_of(m, o), d->mono, a, ELEMENTSOF(a));
        for (size_t i = 0; i < n; i++)
                if (a[i].kind == LADDER_CALL && a[i].target == TARGET_RECEIVER)
                        report(out, o, d, a[i].receiver, o->reason);
                else if (a[i].kind == LADDER_CALL && !o->called) {
                        if (!first_row)
                                timeline(out, o, d->wall, "called", "ladder", "ladder", o->reason);
                        call(out, o, d, false, o->reason);
                }
        /* The call is placed; the rest of the step's actions are notices. */
        for (size_t i = 0; i < n; i++)
                if (a[i].kind != LADDER_CALL && a[i].target != TARGET_DISPATCH && a[i].target != TARGET_RECEIVER)
                        escalate(m, out, o, d->mono, d->wall, &a[i], 1);
}

static int raise_new(struct incidents *m, struct action_list *out, const struct decision *d, const char *reason) {
        struct incident *o = new_incident(m, d, reason, STATE_OPEN);

        if (!o)
                return -ENOMEM;
        /* The relays are still cut for a fire closed while smoke went on:
         * this one owns the cut now. */
        if (d->type == INCIDENT_FIRE && m->power_cut_by[0])
                snprintf(m->power_cut_by, sizeof m->power_cut_by, "%s", o->id);
        say_log(out, o, false, "incident %s opened: %s (%s) — %s", o->id, incident_type_to_string(d->type),
                severity_to_string(d->severity), words_loggable(d->type, reason));
        opened_rows(m, out, o, d);
        alert(out, o, d, "open", reason);
        start_ladder(m, out, o, d, true);
        return 0;
}

/* A pre-alarm not cancelled in its window becomes an open incident, and
 * its ladder starts (a fall is critical: everyone and the center at once). */
static int promote(struct incidents *m, struct action_list *out, struct incident *o, const struct decision *d,
                   const char *reason) {
        struct action *a;

        o->state = STATE_OPEN;
        o->first = *d;
        snprintf(o->reason, sizeof o->reason, "%s", reason);
        say_log(out, o, false, "incident %s opened: %s (%s) — %s", o->id, incident_type_to_string(d->type),
                severity_to_string(o->severity), words_loggable(d->type, reason));
        prompt(m, out, o, false, d->wall);
        alert(out, o, d, "open", reason);
        if ((a = act(out, ACT_STATE, o, d->wall)))
                snprintf(a->text, sizeof a->text, "%s", reason);
        timeline(out, o, d->wall, "opened", "rule", "rule", reason);
        start_ladder(m, out, o, d, false);
        return 0;
}

static int incident_raise(struct incidents *m, struct action_list *out, const struct decision *d,
                          const char *reason) {
        struct incident *o = find_for(m, d);
        const char *sid = sensor_id(m, d->sensor);
        struct action *a;

        if (!o)
                return raise_new(m, out, d, reason);
        if (o->state == STATE_PREALARM)
                return promote(m, out, o, d, reason);
        report_again(out, o, d, reason);
        /* A later fall's window ran out: its prompt stops, it is on record. */
        if (d->type == INCIDENT_FALL)
                prompt(m, out, o, false, d->wall);
        if (d->sensor == SENSOR_NONE || has(o->sensors, o->n_sensors, d->sensor) || !o->called) {
                /* The same sensor again, or another before any call: on the record. */
                if (d->sensor != SENSOR_NONE && (a = act(out, ACT_JOIN, o, d->wall)))
                        a->sensor = d->sensor;
                timeline(out, o, d->wall, "triggered", sid, "rule", reason);
                add_sensor(o, d->sensor);
                say_log(out, o, false, "incident %s: %s", o->id, words_loggable(d->type, reason));
                alert(out, o, d, state_names[o->state], reason);
                return 0;
        }
        say_log(out, o, false, "incident %s (%s): %s joins — %s", o->id, incident_type_to_string(d->type),
                sid ? sid : "-", words_loggable(d->type, reason));
        add_sensor(o, d->sensor);
        alert(out, o, d, state_names[o->state], reason);
        if ((a = act(out, ACT_JOIN, o, d->wall)))
                a->sensor = d->sensor;
        timeline(out, o, d->wall, "triggered", sid, "rule", reason);
        call(out, o, d, true, reason);
        return 0;
}

static int incident_clear(struct incidents *m, struct action_list *out, const struct decision *d,
                          const char *reason) {
        struct incident *o = find_for(m, d);

        if (!o)
                return 0;
        say_log(out, o, false, "incident %s: %s; it stays open until a responder closes it", o->id,
                words_loggable(d->type, reason));
        timeline(out, o, d->wall, "cleared", sensor_id(m, d->sensor), "rule", reason);
        /* The zone the centre was told about is clear: its restore now. */
        if (d->sensor == o->first.sensor)
                restore_reports(out, o, d->wall);
        return 0;
}

static int incident_prealarm(struct incidents *m, struct action_list *out, const struct decision *d,
                             const char *reason) {
        struct incident *o = find_for(m, d);

        if (o) {
                /* Another fall while this one is open: on its record. A fall
                 * after the call has a window of its own (the prompt starts
                 * again); one that joins a running pre-alarm does not. */
                timeline(out, o, d->wall, "prealarm", sensor_id(m, d->sensor), "rule", reason);
                say_log(out, o, false, "incident %s: %s", o->id, words_loggable(d->type, reason));
                if (o->state != STATE_PREALARM)
                        prompt(m, out, o, true, d->wall);
                return 0;
        }
        o = new_incident(m, d, reason, STATE_PREALARM);
        if (!o)
                return -ENOMEM;
        say_log(out, o, false, "incident %s PRE-ALARM: %s", o->id, words_loggable(d->type, reason));
        opened_rows(m, out, o, d);
        prompt(m, out, o, true, d->wall);
        alert(out, o, d, "prealarm", reason);
        return 0;
}

static int incident_cancel(struct incidents *m, struct action_list *out, const struct decision *d,
                           const char *reason, const char *actor, const char *channel) {
        struct incident *o = find_for(m, d);
        struct action *a;

        if (!o)
                return 0;
        prompt(m, out, o, false, d->wall);
        if (o->state != STATE_PREALARM) {
                /* The window of a later fall: the incident itself stays open. */
                timeline(out, o, d->wall, "prealarm_cancelled", actor, channel, reason);
                return 0;
        }
        say_log(out, o, false, "incident %s cancelled by the resident (%s via %s): %s", o->id, actor, channel, reason);
        if ((a = act(out, ACT_STATE, o, d->wall))) {
                a->state = "cancelled";
                a->close = true;
        }
        timeline(out, o, d->wall, "cancelled", actor, channel, reason);
        alert(out, o, d, "cancelled", reason);
        m->stats.cancelled++;
        close_incident(m, out, o, d->wall);
        return 0;
}

int incidents_apply(struct incidents *m, const struct decision *d, const char *actor, const char *channel,
                    struct action_list *out) {
        const struct sensor_conf *s;
        char reason[ACTION_TEXT_MAX];

        if (d->type < 0 || d->type >= _INCIDENT_TYPE_MAX || d->severity < 0 || d->severity >= _SEVERITY_MAX ||
            (d->sensor != SENSOR_NONE && d->sensor >= m->cfg->n_sensors))
                return -EINVAL;
        s = sensor_of(m, d->sensor);
        words_explain(m->cfg, m->params, d, reason, sizeof reason);
        switch (d->kind) {
        case DECISION_RAISE:
                return incident_raise(m, out, d, reason);
        case DECISION_CLEAR:
                return incident_clear(m, out, d, reason);
        case DECISION_PREALARM:
                return incident_prealarm(m, out, d, reason);
        case DECISION_CANCEL:
                return incident_cancel(m, out, d, reason, actor ? actor : s ? s->id : "resident",
                                       channel ? channel : s ? "sensor" : "ack");
        default:
                return -EINVAL;
        }
}

/* --- start-up ---------------------------------------------------------------------- */

static enum inc_state state_from_string(const char *s) {
        for (int i = 0; i < _STATE_MAX; i++)
                if (s && strcmp(s, state_names[i]) == 0)
                        return (enum inc_state) i;
        return STATE_OPEN;
}

int incidents_restore(struct incidents *m, const struct incident_record *rec) {
        struct decision d = {
                .kind = DECISION_RAISE, .type = rec->type, .severity = rec->severity, .sensor = rec->sensor,
                .wall = rec->opened_at, .since_wall = rec->opened_at, .problem = rec->problem,
        };
        struct incident *o;

        if (rec->type < 0 || rec->type >= _INCIDENT_TYPE_MAX || rec->severity < 0 || rec->severity >= _SEVERITY_MAX ||
            (rec->sensor != SENSOR_NONE && rec->sensor >= m->cfg->n_sensors))
                return -EINVAL;
        if (find_for(m, &d))
                return 0;       /* two open of one key: keep the oldest */
        o = new_incident(m, &d, rec->reason ? rec->reason : "", state_from_string(rec->state));
        if (!o)
                return -ENOMEM;
        m->stats.opened--;
        snprintf(o->id, sizeof o->id, "%s", rec->id);
        o->calls = rec->calls;
        o->called = rec->calls > 0;
        /* Which receivers had it is not stored: an incident with reports is
         * taken as reported to every receiver of its ladder (a restore too
         * many is harmless; a missing one leaves an alarm standing). */
        if (rec->reports > 0) {
                const struct escalation_conf *e = esc_of(m, o);
                for (unsigned i = 0; i < e->n_steps; i++)
                        if (e->steps[i].target == TARGET_RECEIVER && e->steps[i].receiver < 32)
                                o->reported |= 1u << e->steps[i].receiver;
        }
        /* Who answered is in the timeline: the siren stays quiet after a
         * restart only if a person had. */
        o->silenced = o->state == STATE_ONSITE || (o->state == STATE_ACKED && rec->person_answered);
        if (o->type == INCIDENT_FIRE)
                snprintf(m->power_cut_by, sizeof m->power_cut_by, "%s", o->id);
        return 0;
}

void incidents_restore_sensor(struct incidents *m, const char *id, uint32_t sensor) {
        struct incident *o = find_id(m, id);

        if (o && sensor < m->cfg->n_sensors)
                add_sensor(o, sensor);
}

void incidents_restore_arrival(struct incidents *m, const char *id, uint32_t contact) {
        struct incident *o = find_id(m, id);

        if (o && contact < m->cfg->n_contacts)
                (void) add_to(&o->arrived, &o->n_arrived, contact);
}

void incidents_resume(struct incidents *m, uint64_t mono, uint64_t wall, struct action_list *out) {
        for (size_t i = 0; i < m->n_open; i++) {
                struct incident *o = m->open[i];
                uint64_t age = wall > o->opened_at ? wall - o->opened_at : 0;
                struct decision d = o->first;

                say_log(out, o, false, "incident %s (%s, %s) is still open from before the restart", o->id,
                        incident_type_to_string(o->type), state_names[o->state]);
                d.mono = mono;
                d.wall = wall;
                d.duration = age;
                if (o->state == STATE_PREALARM) {
                        char reason[ACTION_TEXT_MAX];
                        say_log(out, o, true, "incident %s: its pre-alarm was interrupted by a restart and not "
                                "cancelled; calling now", o->id);
                        words_explain(m->cfg, m->params, &d, reason, sizeof reason);
                        (void) promote(m, out, o, &d, reason);
                        continue;
                }
                ladder_start(&o->ladder, mono > age ? mono - age : 0);
                /* Taken charge of before the restart: the steps already due
                 * count as reached (no notices again), the onsite clock
                 * restarts now. Still open: the ladder runs again from its
                 * start, and notices the reached tiers again. */
                if (o->state == STATE_ACKED || o->state == STATE_ONSITE)
                        ladder_skip_due(&o->ladder, esc_of(m, o), mono);
                if (o->state == STATE_ACKED)
                        ladder_acked(&o->ladder, esc_of(m, o), mono);
                else if (o->state == STATE_ONSITE)
                        ladder_onsite(&o->ladder);
        }
}

/* --- answers ------------------------------------------------------------------------- */

const char *ack_result_to_string(enum ack_result r) {
        switch (r) {
        case ACK_APPLIED: return "applied";
        case ACK_RECORDED: return "recorded";
        case ACK_UNKNOWN_INCIDENT: return "unknown incident";
        case ACK_CLOSED_INCIDENT: return "incident already closed";
        case ACK_BAD_ACTION: return "not an action for this incident's state";
        case ACK_NOT_ALLOWED: return "not allowed: you may not close this incident as a false alarm "
                                     "(the hub's [escalation] false_alarm_by names who may)";
        default: return "?";
        }
}

/* May actor close o as a false alarm? (escalation false_alarm_by) */
static bool may_call_false(const struct incidents *m, const struct incident *o, const char *actor) {
        unsigned by = esc_of(m, o)->false_alarm_by;
        int k;

        if (by & CLOSER_ANYONE)
                return true;
        if (strncmp(actor, "ctl:", 4) == 0)
                return by & CLOSER_OPERATOR;
        k = config_find_contact(m->cfg, actor);
        if (k < 0)
                return false;
        if ((by & CLOSER_ONSITE) && has(o->arrived, o->n_arrived, (uint32_t) k))
                return true;
        switch (m->cfg->contacts[k].role) {
        case ROLE_VOLUNTEER: return by & CLOSER_VOLUNTEER;
        case ROLE_GRID: return by & CLOSER_GRID;
        case ROLE_MAINTENANCE: return by & CLOSER_MAINTENANCE;
        default: return false;
        }
}

enum ack_result incidents_ack(struct incidents *m, const char *id, const char *action, const char *actor,
                              const char *channel, const char *note, uint64_t mono, uint64_t wall,
                              struct action_list *out) {
        struct incident *o = find_id(m, id);
        enum inc_state to;
        bool close = false;
        const char *state;
        char what[ACTION_TEXT_MAX];
        struct action *a;
        int k;

        if (!o)
                return ACK_UNKNOWN_INCIDENT;
        if (o->state == STATE_PREALARM)
                return ACK_BAD_ACTION;  /* only the resident, with "cancel" */
        if (strcmp(action, "ack") == 0) {
                to = o->state == STATE_OPEN ? STATE_ACKED : o->state;
                state = state_names[to];
        } else if (strcmp(action, "arrived") == 0) {
                to = STATE_ONSITE;
                state = "onsite";
        } else if (strcmp(action, "resolved") == 0) {
                to = o->state;
                state = "resolved";
                close = true;
        } else if (strcmp(action, "false_alarm") == 0) {
                if (!may_call_false(m, o, actor)) {
                        m->stats.refused_closes++;
                        timeline(out, o, wall, "false_alarm_refused", actor, channel,
                                 "not allowed to close this incident as a false alarm");
                        return ACK_NOT_ALLOWED;
                }
                to = o->state;
                state = "cancelled";
                close = true;
        } else {
                return ACK_BAD_ACTION;
        }
        if (strcmp(action, "arrived") == 0 && (k = config_find_contact(m->cfg, actor)) >= 0)
                (void) add_to(&o->arrived, &o->n_arrived, (uint32_t) k);
        /* The center's automatic answer is not someone at the door: a fire's
         * siren keeps sounding until a person acks or arrives. */
        if (!words_is_center(actor))
                o->silenced = true;
        if (!close && to == o->state) {
                /* Another responder going, or arriving again: on the record. */
                timeline(out, o, wall, action, actor, channel, note);
                say_log(out, o, false, "incident %s: %s by %s (%s) recorded", o->id, action, actor, channel);
                return ACK_RECORDED;
        }
        if ((a = act(out, ACT_STATE, o, wall))) {
                a->state = state;
                a->close = close;
        }
        timeline(out, o, wall, action, actor, channel, note);
        say_log(out, o, false, "incident %s: %s by %s via %s — now %s", o->id, action, actor, channel, state);
        alert(out, o, &o->first, state, o->reason);
        words_answered(m->cfg, action, actor, note, what, sizeof what);
        if (close) {
                inform_reached(m, out, o, what, wall, state);
                (void) act(out, ACT_DROP_NOTICES, o, wall);
                m->stats.closed++;
                close_incident(m, out, o, wall);
                return ACK_APPLIED;
        }
        o->state = to;
        inform_reached(m, out, o, what, wall, state_names[to]);
        if (to == STATE_ONSITE)
                ladder_onsite(&o->ladder);
        else
                ladder_acked(&o->ladder, esc_of(m, o), mono);
        return ACK_APPLIED;
}

void incidents_center_answered(struct incidents *m, const char *id, const char *case_id, const char *receiver,
                               uint64_t mono, uint64_t wall, struct action_list *out) {
        struct incident *o = find_id(m, id);
        char note[128], actor[80];

        if (!o || o->state != STATE_OPEN)
                return;
        if (receiver) {
                snprintf(actor, sizeof actor, "receiver:%s", receiver);
                (void) incidents_ack(m, id, "ack", actor, "dc09", case_id, mono, wall, out);
                return;
        }
        snprintf(note, sizeof note, "case %s", case_id);
        (void) incidents_ack(m, id, "ack", "dispatch", "https", note, mono, wall, out);
}

/* --- the clock ------------------------------------------------------------------------ */

void incidents_tick(struct incidents *m, uint64_t mono, uint64_t wall, struct action_list *out) {
        for (size_t i = 0; i < m->n_open; i++) {
                struct incident *o = m->open[i];
                struct ladder_action a[LADDER_MAX_ACTIONS];
                size_t n;

                if (o->state == STATE_PREALARM)
                        continue;
                do {
                        n = ladder_tick(&o->ladder, esc_of(m, o), mono, a, ELEMENTSOF(a));
                        escalate(m, out, o, mono, wall, a, n);
                } while (n == ELEMENTSOF(a));
        }
}

uint64_t incidents_next_deadline(const struct incidents *m) {
        uint64_t next = UINT64_MAX;

        for (size_t i = 0; i < m->n_open; i++) {
                const struct incident *o = m->open[i];
                uint64_t x;
                if (o->state == STATE_PREALARM)
                        continue;
                x = ladder_next(&o->ladder, esc_of(m, o));
                if (x < next)
                        next = x;
        }
        return next;
}

void incidents_relay_switched(struct incidents *m, bool cut, uint64_t wall, struct action_list *out) {
        const char *id = m->power_cut_by;       /* the fire that cut it: now, or back then */
        struct action *a;

        if (cut) {
                const char *fire = incidents_open_id(m, INCIDENT_FIRE);
                snprintf(m->power_cut_by, sizeof m->power_cut_by, "%s", fire ? fire : "");
        }
        if (*id && (a = action_add(out, ACT_TIMELINE, id))) {
                a->wall = wall;
                a->event = cut ? "power_cut" : "power_restored";
                snprintf(a->actor, sizeof a->actor, "relay");
                snprintf(a->channel, sizeof a->channel, "output");
                snprintf(a->text, sizeof a->text, "%s",
                         cut ? "the charger's power is cut" : "the charger's power is back");
        }
        if (!cut)
                m->power_cut_by[0] = '\0';
}

/* --- what others need to know --------------------------------------------------------- */

void incidents_outputs(const struct incidents *m, enum siren_pattern *siren, bool *relay_cut) {
        *relay_cut = false;
        *siren = SIREN_OFF;
        for (size_t i = 0; i < m->n_open; i++) {
                const struct incident *o = m->open[i];
                if (o->type == INCIDENT_FIRE) {
                        *relay_cut = true;
                        if (!o->silenced)
                                *siren = SIREN_CONTINUOUS;
                }
        }
        for (size_t i = 0; i < m->n_open && *siren == SIREN_OFF; i++)
                if (m->open[i]->state == STATE_PREALARM)
                        *siren = SIREN_PULSED;
}

size_t incidents_open_count(const struct incidents *m) {
        return m->n_open;
}

bool incidents_open_at(const struct incidents *m, size_t i, const char **id, enum incident_type *type) {
        if (i >= m->n_open)
                return false;
        *id = m->open[i]->id;
        *type = m->open[i]->type;
        return true;
}

const char *incidents_open_id(const struct incidents *m, enum incident_type type) {
        for (size_t i = 0; i < m->n_open; i++)
                if (m->open[i]->type == type)
                        return m->open[i]->id;
        return NULL;
}

bool incidents_in_prealarm(const struct incidents *m, const char *id) {
        for (size_t i = 0; i < m->n_open; i++)
                if (m->open[i]->state == STATE_PREALARM && (!id || strcmp(m->open[i]->id, id) == 0))
                        return true;
        return false;
}

const struct incidents_stats *incidents_get_stats(const struct incidents *m) {
        return &m->stats;
}

size_t incidents_sensors(const struct incidents *m, const char *id, const uint32_t **ret) {
        const struct incident *o = id ? find_id(m, id) : NULL;

        *ret = o ? o->sensors : NULL;
        return o ? o->n_sensors : 0;
}
