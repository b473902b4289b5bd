/* The escalation ladder (docs/DESIGN.md §6, the "1-3-10" rule) is pure: time is passed
 * in. The tests drive it like the daemon does: jump to ladder_next(), tick,
 * collect what is due, and compare the whole trace, (time, action) by
 * (time, action), with what the responders must notice. Every ladder comes
 * from a config loaded with load_ok(), so the [escalation SEVERITY] keys are
 * covered too. */
#include "unit.h"
#include "ladder.h"
#include "util.h"

#include <string.h>

/* An arbitrary monotonic time for the incident to open at: not 0, so a
 * ladder that forgot `opened` shows. */
#define T0 (UINT64_C(7200) * USEC_PER_SEC)
#define SEC(x) ((uint64_t) (x) * USEC_PER_SEC)

#define URGENT_1_3_10 \
        "[escalation urgent]\nladder = volunteer 0s, grid 60s, dispatch 180s\nrepeat = 60s\nonsite_within = 10m\n"

/* One action as collected, at its time after the incident opened. */
struct rec {
        uint64_t t;
        struct ladder_action a;
};

static struct config *cfg;
static struct ladder lad;
static struct rec recs[512];
static size_t n_recs;
static unsigned ticks, empty_ticks;     /* wake-ups, and those with nothing to do */

static void reset(void) {
        ladder_start(&lad, T0);
        n_recs = 0;
        ticks = empty_ticks = 0;
}

static void teardown(void) {
        config_free(cfg);
        cfg = NULL;
}

static const struct escalation_conf *esc(enum severity s) {
        return &cfg->escalation[s];
}

static const char *kind_str(enum ladder_action_kind k) {
        return k == LADDER_CALL ? "CALL" : "notify";
}

static void append(uint64_t now, const struct ladder_action *a) {
        ck_assert_msg(n_recs < ELEMENTSOF(recs), "too many actions");
        ck_assert_uint_ge(now, T0);
        recs[n_recs++] = (struct rec) { .t = now - T0, .a = *a };
}

/* One tick at now with room for max actions; collected. */
static size_t tick_abs(const struct escalation_conf *c, uint64_t now, size_t max) {
        struct ladder_action out[LADDER_MAX_ACTIONS + 1];
        size_t n;

        ck_assert_uint_le(max, ELEMENTSOF(out));
        memset(out, 0xee, sizeof out);
        n = ladder_tick(&lad, c, now, out, max);
        ck_assert_uint_le(n, max);
        ck_assert_uint_le(n, LADDER_MAX_ACTIONS);
        for (size_t i = n; i < ELEMENTSOF(out); i++)     /* nothing written past n */
                ck_assert_uint_eq(((unsigned char *) &out[i])[0], 0xee);
        for (size_t i = 0; i < n; i++)
                append(now, &out[i]);
        return n;
}

/* One tick at s seconds after the incident opened. */
static size_t tick_at(const struct escalation_conf *c, unsigned s, size_t max) {
        return tick_abs(c, T0 + SEC(s), max);
}

/* The daemon's loop: sleep until ladder_next(), tick, until T0 + until. */
static void drive(const struct escalation_conf *c, uint64_t until) {
        for (;;) {
                uint64_t next = ladder_next(&lad, c);
                size_t n;

                if (next == LADDER_NEVER || next > T0 + until)
                        return;
                ck_assert_msg(next >= T0, "ladder_next() before the incident opened");
                ck_assert_msg(ticks < 10000, "the ladder does not advance (next = %llu)",
                              (unsigned long long) (next - T0));
                n = tick_abs(c, next, LADDER_MAX_ACTIONS);
                ticks++;
                if (n == 0)
                        empty_ticks++;
                ck_assert_msg(ladder_next(&lad, c) > next, "ladder_next() did not move past a tick");
        }
}

static void format_rec(char *buf, size_t n, const struct rec *r) {
        snprintf(buf, n, "%llus %s %s step=%u repeat=%u%s",
                 (unsigned long long) (r->t / USEC_PER_SEC), kind_str(r->a.kind),
                 ladder_target_to_string(r->a.target) ? ladder_target_to_string(r->a.target) : "?",
                 r->a.step, r->a.repeat, r->a.onsite_overdue ? " overdue" : "");
}

static const char *trace(void) {
        static char buf[16384];
        size_t l = 0;

        buf[0] = '\0';
        for (size_t i = 0; i < n_recs && l < sizeof buf - 100; i++) {
                char one[128];
                format_rec(one, sizeof one, &recs[i]);
                l += (size_t) snprintf(buf + l, sizeof buf - l, "\n  %s", one);
        }
        return n_recs ? buf : " (nothing)";
}

/* What a responder notices: when, whom, first notice or a repeat, and
 * whether nobody arriving in time brought it. */
#define R (-1)                  /* a repeat: repeat ≥ 1, step not checked */
struct exp {
        unsigned t;             /* seconds after the incident opened */
        enum ladder_action_kind kind;
        enum ladder_target target;
        int step;               /* first notices and calls: the step's index */
        int repeat;             /* 0 = first notice, R = a repeat */
        bool overdue;
};

static int rec_cmp(const void *x, const void *y) {
        const struct rec *a = x, *b = y;

        if (a->t != b->t)
                return a->t < b->t ? -1 : 1;
        if (a->a.target != b->a.target)
                return a->a.target < b->a.target ? -1 : 1;
        if ((a->a.repeat > 0) != (b->a.repeat > 0))
                return a->a.repeat > 0 ? 1 : -1;
        return 0;
}

/* Compares the collected actions with e (in order of time, then target, a
 * first notice before a repeat; the order within one tick is not part of
 * the interface). */
static void check_trace(const struct exp *e, size_t n) {
        struct rec sorted[ELEMENTSOF(recs)];

        memcpy(sorted, recs, n_recs * sizeof recs[0]);
        qsort(sorted, n_recs, sizeof sorted[0], rec_cmp);
        ck_assert_msg(n_recs == n, "expected %zu actions, got %zu:%s", n, n_recs, trace());
        for (size_t i = 0; i < n; i++) {
                const struct rec *r = &sorted[i];
                char one[128];
                format_rec(one, sizeof one, r);
                ck_assert_msg(r->t == SEC(e[i].t) && r->a.kind == e[i].kind && r->a.target == e[i].target &&
                              (e[i].repeat == R ? r->a.repeat >= 1 : r->a.repeat == (unsigned) e[i].repeat) &&
                              (e[i].repeat == R || e[i].step < 0 || r->a.step == (unsigned) e[i].step) &&
                              r->a.onsite_overdue == e[i].overdue,
                              "action %zu is \"%s\", expected %us %s %s step=%d%s%s; all:%s", i, one,
                              e[i].t, kind_str(e[i].kind), ladder_target_to_string(e[i].target),
                              e[i].step, e[i].repeat == R ? " a repeat" : " first notice",
                              e[i].overdue ? " overdue" : "", trace());
        }
}

/* Invariants of every trace: only the center is called, it is called at
 * most once, never "notified", never repeated. */
static unsigned check_calls(void) {
        unsigned calls = 0;

        for (size_t i = 0; i < n_recs; i++) {
                const struct ladder_action *a = &recs[i].a;
                ck_assert_int_eq(a->kind == LADDER_CALL, a->target == TARGET_DISPATCH);
                if (a->kind == LADDER_CALL) {
                        ck_assert_uint_eq(a->repeat, 0);
                        calls++;
                }
        }
        ck_assert_msg(calls <= 1, "the dispatch center was called %u times:%s", calls, trace());
        return calls;
}

static size_t count(enum ladder_target t, bool repeats) {
        size_t n = 0;

        for (size_t i = 0; i < n_recs; i++)
                if (recs[i].a.target == t && (recs[i].a.repeat > 0) == repeats)
                        n++;
        return n;
}

#define N(t, who, step) { t, LADDER_NOTIFY, TARGET_##who, step, 0, false }
#define REP(t, who) { t, LADDER_NOTIFY, TARGET_##who, -1, R, false }
#define CALL(t, step) { t, LADDER_CALL, TARGET_DISPATCH, step, 0, false }
#define N_LATE(t, who, step) { t, LADDER_NOTIFY, TARGET_##who, step, 0, true }
#define CALL_LATE(t, step) { t, LADDER_CALL, TARGET_DISPATCH, step, 0, true }

/* ---- configuration ---- */

static void check_steps(const struct escalation_conf *e, const char *ladder, size_t n,
                        const enum ladder_target *who, const unsigned *after_s) {
        ck_assert_str_eq(e->ladder, ladder);
        ck_assert_uint_eq(e->n_steps, n);
        for (size_t i = 0; i < n; i++) {
                ck_assert_int_eq(e->steps[i].target, who[i]);
                ck_assert_uint_eq(e->steps[i].after, SEC(after_s[i]));
        }
}

START_TEST(test_ladder_defaults_are_the_1_3_10_ladder) {
        cfg = load_ok("");
        check_steps(esc(SEVERITY_URGENT), "volunteer 0s, grid 60s, dispatch 180s", 3,
                    (const enum ladder_target[]) { TARGET_VOLUNTEER, TARGET_GRID, TARGET_DISPATCH },
                    (const unsigned[]) { 0, 60, 180 });
        ck_assert_uint_eq(esc(SEVERITY_URGENT)->repeat, SEC(60));
        ck_assert_uint_eq(esc(SEVERITY_URGENT)->onsite_within, 10 * USEC_PER_MIN);
        check_steps(esc(SEVERITY_CRITICAL), "volunteer 0s, grid 0s, dispatch 0s", 3,
                    (const enum ladder_target[]) { TARGET_VOLUNTEER, TARGET_GRID, TARGET_DISPATCH },
                    (const unsigned[]) { 0, 0, 0 });
        ck_assert_uint_eq(esc(SEVERITY_CRITICAL)->repeat, SEC(60));
        ck_assert_uint_eq(esc(SEVERITY_CRITICAL)->onsite_within, 10 * USEC_PER_MIN);
        check_steps(esc(SEVERITY_WARNING), "maintenance 0s", 1,
                    (const enum ladder_target[]) { TARGET_MAINTENANCE }, (const unsigned[]) { 0 });
        ck_assert_uint_eq(esc(SEVERITY_WARNING)->repeat, 0);
        ck_assert_uint_eq(esc(SEVERITY_WARNING)->onsite_within, 0);
        ck_assert_uint_eq(esc(SEVERITY_WARNING)->per_device, USEC_PER_DAY);
}
END_TEST

START_TEST(test_ladder_escalation_keys_are_read_per_severity) {
        cfg = load_ok("[escalation urgent]\nladder = grid 0s, dispatch 30s\nrepeat = 20s\nonsite_within = 5m\n"
                      "[escalation warning]\nper_device = 12h\n");
        check_steps(esc(SEVERITY_URGENT), "grid 0s, dispatch 30s", 2,
                    (const enum ladder_target[]) { TARGET_GRID, TARGET_DISPATCH }, (const unsigned[]) { 0, 30 });
        ck_assert_uint_eq(esc(SEVERITY_URGENT)->repeat, SEC(20));
        ck_assert_uint_eq(esc(SEVERITY_URGENT)->onsite_within, 5 * USEC_PER_MIN);
        ck_assert_uint_eq(esc(SEVERITY_WARNING)->per_device, 12 * USEC_PER_HOUR);
        /* the others keep their defaults */
        ck_assert_str_eq(esc(SEVERITY_WARNING)->ladder, "maintenance 0s");
        ck_assert_uint_eq(esc(SEVERITY_CRITICAL)->n_steps, 3);
        ck_assert_uint_eq(esc(SEVERITY_CRITICAL)->steps[2].after, 0);
}
END_TEST

START_TEST(test_ladder_config_spellings_that_are_fine) {
        /* the longest ladder, equal delays, a trailing comma, quotes, odd spacing */
        cfg = load_ok("[escalation urgent]\nladder = volunteer 0s, volunteer 30s, grid 30s, grid 1m, "
                      "maintenance 90s, volunteer 2m, grid 2min30s, dispatch 3m,\n"
                      "[escalation critical]\nladder = \"volunteer 0s,grid 0s ,  dispatch 1d\"\n");
        check_steps(esc(SEVERITY_URGENT), "volunteer 0s, volunteer 30s, grid 30s, grid 1m, "
                    "maintenance 90s, volunteer 2m, grid 2min30s, dispatch 3m,", LADDER_MAX,
                    (const enum ladder_target[]) { TARGET_VOLUNTEER, TARGET_VOLUNTEER, TARGET_GRID, TARGET_GRID,
                                                   TARGET_MAINTENANCE, TARGET_VOLUNTEER, TARGET_GRID,
                                                   TARGET_DISPATCH },
                    (const unsigned[]) { 0, 30, 30, 60, 90, 120, 150, 180 });
        check_steps(esc(SEVERITY_CRITICAL), "volunteer 0s,grid 0s ,  dispatch 1d", 3,
                    (const enum ladder_target[]) { TARGET_VOLUNTEER, TARGET_GRID, TARGET_DISPATCH },
                    (const unsigned[]) { 0, 0, 86400 });
}
END_TEST

/* Loads BASE_CONFIG + extra, which must fail with exactly this one message. */
static void load_err(const char *extra, const char *expected) {
        char text[8192];
        struct errors e = { .n = 0 };
        struct config *c = NULL;
        int r;

        snprintf(text, sizeof text, "%s%s", BASE_CONFIG, extra);
        r = config_load_string("test.conf", text, collect_error, &e, &c);
        ck_assert_msg(r == -EINVAL, "\"%s\" loaded (r = %d)", extra, r);
        ck_assert_ptr_null(c);
        ck_assert_msg(e.n == 1, "\"%s\": %d errors, first \"%s\"", extra, e.n, e.n ? e.msgs[0] : "");
        ck_assert_str_eq(e.msgs[0], expected);
}

START_TEST(test_ladder_config_errors_say_what_is_wrong) {
        load_err("[escalation urgent]\nladder = volunteer 0s, dispatch 180s, grid 60s\n",
                 "test.conf:12: [escalation urgent] ladder: \"volunteer 0s, dispatch 180s, grid 60s\" "
                 "steps must be in order of time (\" grid 60s\" comes before an earlier step)");
        load_err("[escalation urgent]\nladder = volunteer 0s, police 60s\n",
                 "test.conf:12: [escalation urgent] ladder: \"volunteer 0s, police 60s\" "
                 "\"police\" is not one of volunteer, grid, maintenance, dispatch, receiver:NAME");
        load_err("[escalation urgent]\nladder = volunteer 0s, grid\n",
                 "test.conf:12: [escalation urgent] ladder: \"volunteer 0s, grid\" "
                 "step \" grid\": expected ROLE DELAY (e.g. \"grid 60s\")");
        load_err("[escalation critical]\nladder = volunteer 0s, grid 0s dispatch 0s\n",
                 "test.conf:12: [escalation critical] ladder: \"volunteer 0s, grid 0s dispatch 0s\" "
                 "step \" grid 0s dispatch 0s\": expected ROLE DELAY (e.g. \"grid 60s\")");
        load_err("[escalation urgent]\nladder = volunteer 0s,, grid 60s\n",
                 "test.conf:12: [escalation urgent] ladder: \"volunteer 0s,, grid 60s\" "
                 "step \"\": expected ROLE DELAY (e.g. \"grid 60s\")");
        load_err("[escalation urgent]\nladder = volunteer 0s, grid 60\n",
                 "test.conf:12: [escalation urgent] ladder: \"volunteer 0s, grid 60\" "
                 "\"60\" is not a delay from 0s to 1d (with a unit)");
        load_err("[escalation urgent]\nladder = volunteer 0s, dispatch 2d\n",
                 "test.conf:12: [escalation urgent] ladder: \"volunteer 0s, dispatch 2d\" "
                 "\"2d\" is not a delay from 0s to 1d (with a unit)");
        load_err("[escalation urgent]\nladder = volunteer 0s, grid 0s, volunteer 0s, grid 0s, volunteer 0s, "
                 "grid 0s, volunteer 0s, grid 0s, dispatch 0s\n",
                 "test.conf:12: [escalation urgent] ladder: \"volunteer 0s, grid 0s, volunteer 0s, grid 0s, "
                 "volunteer 0s, grid 0s, volunteer 0s, grid 0s, dispatch 0s\" has more than 8 steps");
        load_err("[escalation urgent]\nladder =\n",
                 "test.conf:12: [escalation urgent] ladder: \"\" must name at least one step");
        load_err("[escalation urgent]\nrepeat = 2d\n",
                 "test.conf:12: [escalation urgent] repeat: \"2d\" is not a duration from 0ms to 24h 00min "
                 "(with a unit: ms, s, m, h, d)");
        load_err("[escalation urgent]\nonsite_within = 10\n",
                 "test.conf:12: [escalation urgent] onsite_within: \"10\" is not a duration from 0ms to 24h 00min "
                 "(with a unit: ms, s, m, h, d)");
        load_err("[escalation urgent]\nrepeat = 60s\nladder = volunteer 0s\nrepeat = 30s\n",
                 "test.conf:14: [escalation urgent] repeat: set twice in this section");
        load_err("[escalation urgnet]\nladder = volunteer 0s\n",
                 "test.conf:11: unknown severity \"urgnet\": expected [escalation warning, urgent, critical]");
}
END_TEST

/* ---- urgent ---- */

/* Nobody answers for 10 minutes. */
static const struct exp urgent_unanswered[] = {
        N(0, VOLUNTEER, 0),
        REP(60, VOLUNTEER), N(60, GRID, 1),
        REP(120, VOLUNTEER), REP(120, GRID),
        REP(180, VOLUNTEER), REP(180, GRID), CALL(180, 2),
        REP(240, VOLUNTEER), REP(240, GRID),
        REP(300, VOLUNTEER), REP(300, GRID),
        REP(360, VOLUNTEER), REP(360, GRID),
        REP(420, VOLUNTEER), REP(420, GRID),
        REP(480, VOLUNTEER), REP(480, GRID),
        REP(540, VOLUNTEER), REP(540, GRID),
        REP(600, VOLUNTEER), REP(600, GRID),
};

static void check_urgent_unanswered(void) {
        drive(esc(SEVERITY_URGENT), SEC(600));
        check_trace(urgent_unanswered, ELEMENTSOF(urgent_unanswered));
        ck_assert_uint_eq(check_calls(), 1);
        ck_assert_uint_eq(count(TARGET_DISPATCH, true), 0);
        /* the volunteers' repeats count up 1, 2, 3, ... */
        unsigned last = 0;
        for (size_t i = 0; i < n_recs; i++)
                if (recs[i].a.target == TARGET_VOLUNTEER && recs[i].a.repeat > 0) {
                        ck_assert_uint_gt(recs[i].a.repeat, last);
                        last = recs[i].a.repeat;
                }
        ck_assert_uint_eq(last, 10);
        /* every wake-up had something to do; the next is the next repeat */
        ck_assert_uint_eq(empty_ticks, 0);
        ck_assert_uint_eq(ticks, 11);
        ck_assert_uint_eq(ladder_next(&lad, esc(SEVERITY_URGENT)), T0 + SEC(660));
}

START_TEST(test_ladder_urgent_nobody_answers_volunteers_grid_then_one_call) {
        cfg = load_ok(URGENT_1_3_10);
        reset();
        check_urgent_unanswered();
}
END_TEST

START_TEST(test_ladder_urgent_defaults_behave_the_same) {
        cfg = load_ok("");
        reset();
        check_urgent_unanswered();
}
END_TEST

START_TEST(test_ladder_urgent_nothing_before_its_time) {
        cfg = load_ok(URGENT_1_3_10);
        reset();
        ck_assert_uint_eq(ladder_next(&lad, esc(SEVERITY_URGENT)), T0);
        ck_assert_uint_eq(tick_at(esc(SEVERITY_URGENT), 0, LADDER_MAX_ACTIONS), 1);
        ck_assert_uint_eq(ladder_next(&lad, esc(SEVERITY_URGENT)), T0 + SEC(60));
        /* early or repeated wake-ups do nothing */
        ck_assert_uint_eq(tick_at(esc(SEVERITY_URGENT), 0, LADDER_MAX_ACTIONS), 0);
        ck_assert_uint_eq(tick_at(esc(SEVERITY_URGENT), 30, LADDER_MAX_ACTIONS), 0);
        ck_assert_uint_eq(tick_at(esc(SEVERITY_URGENT), 59, LADDER_MAX_ACTIONS), 0);
        ck_assert_uint_eq(ladder_next(&lad, esc(SEVERITY_URGENT)), T0 + SEC(60));
        ck_assert_uint_eq(n_recs, 1);
}
END_TEST

START_TEST(test_ladder_urgent_ack_at_30s_no_grid_no_call_no_repeats) {
        const struct exp e[] = { N(0, VOLUNTEER, 0) };

        cfg = load_ok(URGENT_1_3_10);
        reset();
        drive(esc(SEVERITY_URGENT), SEC(30));
        ladder_acked(&lad, esc(SEVERITY_URGENT), T0 + SEC(30));
        /* the next thing due is the onsite check, 10 min after the ack */
        ck_assert_uint_eq(ladder_next(&lad, esc(SEVERITY_URGENT)), T0 + SEC(30 + 600));
        /* the daemon waking where grid, call and repeats were due: nothing */
        ck_assert_uint_eq(tick_at(esc(SEVERITY_URGENT), 60, LADDER_MAX_ACTIONS), 0);
        ck_assert_uint_eq(tick_at(esc(SEVERITY_URGENT), 180, LADDER_MAX_ACTIONS), 0);
        ck_assert_uint_eq(tick_at(esc(SEVERITY_URGENT), 600, LADDER_MAX_ACTIONS), 0);
        drive(esc(SEVERITY_URGENT), SEC(30 + 600) - 1);
        check_trace(e, ELEMENTSOF(e));
        ck_assert_uint_eq(check_calls(), 0);
}
END_TEST

START_TEST(test_ladder_urgent_ack_at_90s_after_the_grid_no_call_repeats_stop) {
        const struct exp e[] = { N(0, VOLUNTEER, 0), REP(60, VOLUNTEER), N(60, GRID, 1) };

        cfg = load_ok(URGENT_1_3_10);
        reset();
        drive(esc(SEVERITY_URGENT), SEC(90));
        ladder_acked(&lad, esc(SEVERITY_URGENT), T0 + SEC(90));
        ck_assert_uint_eq(ladder_next(&lad, esc(SEVERITY_URGENT)), T0 + SEC(90 + 600));
        ck_assert_uint_eq(tick_at(esc(SEVERITY_URGENT), 120, LADDER_MAX_ACTIONS), 0);  /* no repeat */
        ck_assert_uint_eq(tick_at(esc(SEVERITY_URGENT), 180, LADDER_MAX_ACTIONS), 0);  /* no call */
        drive(esc(SEVERITY_URGENT), SEC(90 + 600) - 1);
        check_trace(e, ELEMENTSOF(e));
        ck_assert_uint_eq(check_calls(), 0);
        /* a second ack (another volunteer) changes nothing */
        ladder_acked(&lad, esc(SEVERITY_URGENT), T0 + SEC(300));
        ck_assert_uint_eq(ladder_next(&lad, esc(SEVERITY_URGENT)), T0 + SEC(90 + 600));
}
END_TEST

START_TEST(test_ladder_urgent_ack_between_ticks_counts_from_the_ack) {
        /* the ack comes in at 179 s, a second before the call: no call */
        const struct exp e[] = { N(0, VOLUNTEER, 0), REP(60, VOLUNTEER), N(60, GRID, 1),
                                 REP(120, VOLUNTEER), REP(120, GRID) };

        cfg = load_ok(URGENT_1_3_10);
        reset();
        drive(esc(SEVERITY_URGENT), SEC(179));
        ladder_acked(&lad, esc(SEVERITY_URGENT), T0 + SEC(179));
        drive(esc(SEVERITY_URGENT), SEC(179 + 600) - 1);
        check_trace(e, ELEMENTSOF(e));
        ck_assert_uint_eq(check_calls(), 0);
}
END_TEST

/* ---- acked, but nobody there ---- */

START_TEST(test_ladder_acked_but_nobody_onsite_climbs_every_10_min) {
        const struct exp e[] = { N(0, VOLUNTEER, 0), N_LATE(630, GRID, 1), CALL_LATE(1230, 2) };

        cfg = load_ok(URGENT_1_3_10);
        reset();
        drive(esc(SEVERITY_URGENT), SEC(30));
        ladder_acked(&lad, esc(SEVERITY_URGENT), T0 + SEC(30));
        drive(esc(SEVERITY_URGENT), 3 * USEC_PER_HOUR);
        check_trace(e, ELEMENTSOF(e));
        ck_assert_uint_eq(check_calls(), 1);
        /* the steps ran out: nothing is due any more, and no repeats came back */
        ck_assert_uint_eq(ladder_next(&lad, esc(SEVERITY_URGENT)), LADDER_NEVER);
        ck_assert_uint_eq(count(TARGET_VOLUNTEER, true) + count(TARGET_GRID, true), 0);
        ck_assert_uint_eq(empty_ticks, 0);
}
END_TEST

START_TEST(test_ladder_acked_after_the_grid_and_nobody_onsite_calls) {
        const struct exp e[] = { N(0, VOLUNTEER, 0), REP(60, VOLUNTEER), N(60, GRID, 1), CALL_LATE(690, 2) };

        cfg = load_ok(URGENT_1_3_10);
        reset();
        drive(esc(SEVERITY_URGENT), SEC(90));
        ladder_acked(&lad, esc(SEVERITY_URGENT), T0 + SEC(90));
        drive(esc(SEVERITY_URGENT), 3 * USEC_PER_HOUR);
        check_trace(e, ELEMENTSOF(e));
        ck_assert_uint_eq(check_calls(), 1);
        ck_assert_uint_eq(ladder_next(&lad, esc(SEVERITY_URGENT)), LADDER_NEVER);
}
END_TEST

START_TEST(test_ladder_onsite_stops_everything) {
        const struct exp e[] = { N(0, VOLUNTEER, 0) };

        cfg = load_ok(URGENT_1_3_10);
        reset();
        drive(esc(SEVERITY_URGENT), SEC(30));
        ladder_acked(&lad, esc(SEVERITY_URGENT), T0 + SEC(30));
        drive(esc(SEVERITY_URGENT), SEC(300));
        ladder_onsite(&lad);
        ck_assert_uint_eq(ladder_next(&lad, esc(SEVERITY_URGENT)), LADDER_NEVER);
        for (unsigned t = 300; t < 400; t += 10)
                ck_assert_uint_eq(tick_at(esc(SEVERITY_URGENT), t, LADDER_MAX_ACTIONS), 0);
        /* a late ack (the volunteer pressing "going" when already there) restarts nothing */
        ladder_acked(&lad, esc(SEVERITY_URGENT), T0 + SEC(400));
        ck_assert_uint_eq(ladder_next(&lad, esc(SEVERITY_URGENT)), LADDER_NEVER);
        ck_assert_uint_eq(tick_at(esc(SEVERITY_URGENT), 400 + 600, LADDER_MAX_ACTIONS), 0);
        ck_assert_uint_eq(tick_at(esc(SEVERITY_URGENT), 7200, LADDER_MAX_ACTIONS), 0);
        check_trace(e, ELEMENTSOF(e));
}
END_TEST

START_TEST(test_ladder_onsite_without_an_ack_stops_repeats_and_the_call) {
        const struct exp e[] = { N(0, VOLUNTEER, 0), REP(60, VOLUNTEER), N(60, GRID, 1) };

        cfg = load_ok(URGENT_1_3_10);
        reset();
        drive(esc(SEVERITY_URGENT), SEC(100));
        ladder_onsite(&lad);    /* a neighbour walked in, nobody pressed "going" */
        ck_assert_uint_eq(ladder_next(&lad, esc(SEVERITY_URGENT)), LADDER_NEVER);
        for (unsigned t = 100; t <= 3600; t += 20)
                ck_assert_uint_eq(tick_at(esc(SEVERITY_URGENT), t, LADDER_MAX_ACTIONS), 0);
        check_trace(e, ELEMENTSOF(e));
        ck_assert_uint_eq(check_calls(), 0);
}
END_TEST

START_TEST(test_ladder_onsite_within_0_never_climbs_after_an_ack) {
        const struct exp e[] = { N(0, VOLUNTEER, 0) };

        cfg = load_ok("[escalation urgent]\nonsite_within = 0s\n");
        reset();
        drive(esc(SEVERITY_URGENT), SEC(30));
        ladder_acked(&lad, esc(SEVERITY_URGENT), T0 + SEC(30));
        ck_assert_uint_eq(ladder_next(&lad, esc(SEVERITY_URGENT)), LADDER_NEVER);
        drive(esc(SEVERITY_URGENT), USEC_PER_DAY);
        check_trace(e, ELEMENTSOF(e));
}
END_TEST

/* ---- critical ---- */

START_TEST(test_ladder_critical_reaches_everyone_at_once) {
        const struct exp e[] = {
                N(0, VOLUNTEER, 0), N(0, GRID, 1), CALL(0, 2),
                REP(60, VOLUNTEER), REP(60, GRID),
                REP(120, VOLUNTEER), REP(120, GRID),
        };
        const char *const configs[] = {
                "", "[escalation critical]\nladder = volunteer 0s, grid 0s, dispatch 0s\n",
        };

        for (size_t i = 0; i < ELEMENTSOF(configs); i++) {
                cfg = load_ok(configs[i]);
                reset();
                /* one trigger, many responders: all three in the first tick */
                ck_assert_uint_eq(ladder_next(&lad, esc(SEVERITY_CRITICAL)), T0);
                ck_assert_uint_eq(tick_at(esc(SEVERITY_CRITICAL), 0, LADDER_MAX_ACTIONS), 3);
                ck_assert_uint_eq(ladder_next(&lad, esc(SEVERITY_CRITICAL)), T0 + SEC(60));
                drive(esc(SEVERITY_CRITICAL), SEC(120));
                check_trace(e, ELEMENTSOF(e));
                ck_assert_uint_eq(check_calls(), 1);
                config_free(cfg);
                cfg = NULL;
        }
}
END_TEST

START_TEST(test_ladder_critical_acked_stops_repeats_and_has_nothing_left_to_climb) {
        const struct exp e[] = { N(0, VOLUNTEER, 0), N(0, GRID, 1), CALL(0, 2) };

        cfg = load_ok("");
        reset();
        drive(esc(SEVERITY_CRITICAL), SEC(30));
        ladder_acked(&lad, esc(SEVERITY_CRITICAL), T0 + SEC(30));
        drive(esc(SEVERITY_CRITICAL), USEC_PER_DAY);
        check_trace(e, ELEMENTSOF(e));
        ck_assert_uint_eq(check_calls(), 1);
        ck_assert_uint_eq(ladder_next(&lad, esc(SEVERITY_CRITICAL)), LADDER_NEVER);
}
END_TEST

START_TEST(test_ladder_next_is_never_when_nothing_is_left) {
        /* docs/DESIGN.md §6 / ladder_next(): LADDER_NEVER if nothing is due. Acked
         * after every step was reached (the call is out), nothing can be
         * due: no step is left, and repeats stopped. A wake-up 10 min later
         * would be for nothing. */
        cfg = load_ok("");
        reset();
        drive(esc(SEVERITY_CRITICAL), SEC(30));
        ladder_acked(&lad, esc(SEVERITY_CRITICAL), T0 + SEC(30));
        ck_assert_uint_eq(ladder_next(&lad, esc(SEVERITY_CRITICAL)), LADDER_NEVER);
        config_free(cfg);

        cfg = load_ok(URGENT_1_3_10);
        reset();
        drive(esc(SEVERITY_URGENT), SEC(200));
        ladder_acked(&lad, esc(SEVERITY_URGENT), T0 + SEC(200));
        ck_assert_uint_eq(ladder_next(&lad, esc(SEVERITY_URGENT)), LADDER_NEVER);
}
END_TEST

/* ---- warning ---- */

START_TEST(test_ladder_warning_reaches_maintenance_once_and_never_calls) {
        const struct exp e[] = { N(0, MAINTENANCE, 0) };

        cfg = load_ok("");
        reset();
        drive(esc(SEVERITY_WARNING), 7 * USEC_PER_DAY);
        check_trace(e, ELEMENTSOF(e));
        ck_assert_uint_eq(check_calls(), 0);
        ck_assert_uint_eq(ticks, 1);
        ck_assert_uint_eq(ladder_next(&lad, esc(SEVERITY_WARNING)), LADDER_NEVER);
        /* an ack (the maintenance man will come tomorrow) starts no onsite clock */
        ladder_acked(&lad, esc(SEVERITY_WARNING), T0 + USEC_PER_HOUR);
        ck_assert_uint_eq(ladder_next(&lad, esc(SEVERITY_WARNING)), LADDER_NEVER);
        ck_assert_uint_eq(tick_at(esc(SEVERITY_WARNING), 86400, LADDER_MAX_ACTIONS), 0);
        check_trace(e, ELEMENTSOF(e));
}
END_TEST

/* ---- repeat, custom ladders ---- */

START_TEST(test_ladder_repeat_0_means_no_repeats) {
        const struct exp e[] = { N(0, VOLUNTEER, 0), N(60, GRID, 1), CALL(180, 2) };

        cfg = load_ok("[escalation urgent]\nrepeat = 0s\n");
        ck_assert_uint_eq(esc(SEVERITY_URGENT)->repeat, 0);
        reset();
        drive(esc(SEVERITY_URGENT), USEC_PER_DAY);
        check_trace(e, ELEMENTSOF(e));
        ck_assert_uint_eq(check_calls(), 1);
        ck_assert_uint_eq(ladder_next(&lad, esc(SEVERITY_URGENT)), LADDER_NEVER);
        ck_assert_uint_eq(ticks, 3);
}
END_TEST

START_TEST(test_ladder_custom_ladder_grid_first_then_the_center) {
        const struct exp e[] = {
                N(0, GRID, 0), REP(20, GRID), CALL(30, 1), REP(40, GRID), REP(60, GRID),
        };

        cfg = load_ok("[escalation urgent]\nladder = grid 0s, dispatch 30s\nrepeat = 20s\n");
        reset();
        drive(esc(SEVERITY_URGENT), SEC(60));
        check_trace(e, ELEMENTSOF(e));
        ck_assert_uint_eq(check_calls(), 1);
        ck_assert_uint_eq(count(TARGET_VOLUNTEER, false) + count(TARGET_VOLUNTEER, true), 0);
}
END_TEST

START_TEST(test_ladder_custom_ladder_without_the_center_never_calls) {
        /* each tier is notified again `repeat` after its own notice: the
         * grid worker, reached at 2 min, 5 min later (not at 5 min, 3 min
         * after the first notice, with the volunteers) */
        const struct exp e[] = {
                N(0, VOLUNTEER, 0), N(120, GRID, 1), REP(300, VOLUNTEER), REP(420, GRID),
                REP(600, VOLUNTEER), REP(720, GRID), REP(900, VOLUNTEER),
        };

        cfg = load_ok("[escalation urgent]\nladder = volunteer 0s, grid 2m\nrepeat = 5m\n");
        reset();
        drive(esc(SEVERITY_URGENT), SEC(900));
        check_trace(e, ELEMENTSOF(e));
        ck_assert_uint_eq(check_calls(), 0);
}
END_TEST

START_TEST(test_ladder_first_step_later_than_0_waits_and_repeats_only_after_it) {
        const struct exp e[] = { N(90, VOLUNTEER, 0), REP(150, VOLUNTEER), CALL(180, 1), REP(210, VOLUNTEER) };

        cfg = load_ok("[escalation urgent]\nladder = volunteer 90s, dispatch 3m\n");
        reset();
        ck_assert_uint_eq(ladder_next(&lad, esc(SEVERITY_URGENT)), T0 + SEC(90));
        drive(esc(SEVERITY_URGENT), SEC(210));
        check_trace(e, ELEMENTSOF(e));
}
END_TEST

/* ---- late ticks and little room: nothing lost ---- */

START_TEST(test_ladder_a_late_tick_catches_up) {
        /* the daemon was busy (or the machine suspended) until 200 s */
        const struct exp e[] = { N(200, VOLUNTEER, 0), N(200, GRID, 1), CALL(200, 2) };

        cfg = load_ok(URGENT_1_3_10);
        reset();
        tick_at(esc(SEVERITY_URGENT), 200, LADDER_MAX_ACTIONS);
        check_trace(e, ELEMENTSOF(e));
        ck_assert_uint_eq(check_calls(), 1);
        ck_assert_uint_ge(ladder_next(&lad, esc(SEVERITY_URGENT)), T0 + SEC(200) + 1);
}
END_TEST

START_TEST(test_ladder_max_smaller_than_due_gives_the_rest_next_time) {
        const struct exp crit[] = { N(0, VOLUNTEER, 0), N(0, GRID, 1), CALL(0, 2) };

        cfg = load_ok("");
        reset();
        ck_assert_uint_eq(tick_at(esc(SEVERITY_CRITICAL), 0, 0), 0);
        for (int i = 0; i < 3; i++)
                ck_assert_uint_eq(tick_at(esc(SEVERITY_CRITICAL), 0, 1), 1);
        ck_assert_uint_eq(tick_at(esc(SEVERITY_CRITICAL), 0, 1), 0);
        check_trace(crit, ELEMENTSOF(crit));
        ck_assert_uint_eq(check_calls(), 1);

        config_free(cfg);
        cfg = load_ok(URGENT_1_3_10);
        reset();
        ck_assert_uint_eq(tick_at(esc(SEVERITY_URGENT), 200, 2), 2);
        ck_assert_uint_eq(tick_at(esc(SEVERITY_URGENT), 200, 2), 1);
        ck_assert_uint_eq(tick_at(esc(SEVERITY_URGENT), 200, 2), 0);
        ck_assert_uint_eq(n_recs, 3);
        ck_assert_uint_eq(check_calls(), 1);
}
END_TEST

START_TEST(test_ladder_max_smaller_than_due_repeats_are_not_lost) {
        /* At 60 s the grid is reached and the volunteers' repeat is due: with
         * room for one action, the repeat must come on the next call. */
        cfg = load_ok(URGENT_1_3_10);
        reset();
        drive(esc(SEVERITY_URGENT), 0);
        ck_assert_uint_eq(tick_at(esc(SEVERITY_URGENT), 60, 1), 1);
        while (tick_at(esc(SEVERITY_URGENT), 60, 1) == 1)
                ck_assert_uint_lt(n_recs, 10);
        ck_assert_uint_eq(count(TARGET_GRID, false), 1);
        ck_assert_msg(count(TARGET_VOLUNTEER, true) == 1, "the volunteers' repeat at 60 s was lost:%s", trace());

        /* Critical at 60 s: two repeats due, room for one each time. */
        config_free(cfg);
        cfg = load_ok("");
        reset();
        drive(esc(SEVERITY_CRITICAL), 0);
        n_recs = 0;
        ck_assert_uint_eq(tick_at(esc(SEVERITY_CRITICAL), 60, 1), 1);
        ck_assert_uint_eq(tick_at(esc(SEVERITY_CRITICAL), 60, 1), 1);
        ck_assert_uint_eq(tick_at(esc(SEVERITY_CRITICAL), 60, 1), 0);
        ck_assert_msg(count(TARGET_VOLUNTEER, true) == 1 && count(TARGET_GRID, true) == 1,
                      "a repeat at 60 s was lost:%s", trace());
}
END_TEST

START_TEST(test_ladder_the_longest_ladder_fits_ladder_max_actions) {
        /* seven steps at 60 s, when the first repeat is due too */
        size_t n, firsts = 0;

        cfg = load_ok("[escalation urgent]\nladder = volunteer 0s, grid 60s, maintenance 60s, volunteer 60s, "
                      "grid 60s, maintenance 60s, volunteer 60s, dispatch 60s\nrepeat = 60s\n");
        ck_assert_uint_eq(esc(SEVERITY_URGENT)->n_steps, LADDER_MAX);
        reset();
        ck_assert_uint_eq(tick_at(esc(SEVERITY_URGENT), 0, LADDER_MAX_ACTIONS), 1);
        n = tick_at(esc(SEVERITY_URGENT), 60, LADDER_MAX_ACTIONS);
        ck_assert_uint_le(n, LADDER_MAX_ACTIONS);
        for (size_t i = 1; i < n_recs; i++)
                if (recs[i].a.repeat == 0) {
                        ck_assert_uint_eq(recs[i].a.step, ++firsts);
                        ck_assert_uint_eq(recs[i].t, SEC(60));
                }
        ck_assert_uint_eq(firsts, 7);
        ck_assert_uint_eq(tick_at(esc(SEVERITY_URGENT), 60, LADDER_MAX_ACTIONS), 0);
        ck_assert_uint_eq(check_calls(), 1);
        ck_assert_uint_eq(count(TARGET_DISPATCH, true), 0);
}
END_TEST

int main(void) {
        Suite *s = suite_create("ladder");
        TCase *t;

        t = tcase_create("config");
        tcase_add_checked_fixture(t, NULL, teardown);
        tcase_add_test(t, test_ladder_defaults_are_the_1_3_10_ladder);
        tcase_add_test(t, test_ladder_escalation_keys_are_read_per_severity);
        tcase_add_test(t, test_ladder_config_spellings_that_are_fine);
        tcase_add_test(t, test_ladder_config_errors_say_what_is_wrong);
        suite_add_tcase(s, t);

        t = tcase_create("urgent");
        tcase_add_checked_fixture(t, NULL, teardown);
        tcase_add_test(t, test_ladder_urgent_nobody_answers_volunteers_grid_then_one_call);
        tcase_add_test(t, test_ladder_urgent_defaults_behave_the_same);
        tcase_add_test(t, test_ladder_urgent_nothing_before_its_time);
        tcase_add_test(t, test_ladder_urgent_ack_at_30s_no_grid_no_call_no_repeats);
        tcase_add_test(t, test_ladder_urgent_ack_at_90s_after_the_grid_no_call_repeats_stop);
        tcase_add_test(t, test_ladder_urgent_ack_between_ticks_counts_from_the_ack);
        suite_add_tcase(s, t);

        t = tcase_create("onsite");
        tcase_add_checked_fixture(t, NULL, teardown);
        tcase_add_test(t, test_ladder_acked_but_nobody_onsite_climbs_every_10_min);
        tcase_add_test(t, test_ladder_acked_after_the_grid_and_nobody_onsite_calls);
        tcase_add_test(t, test_ladder_onsite_stops_everything);
        tcase_add_test(t, test_ladder_onsite_without_an_ack_stops_repeats_and_the_call);
        tcase_add_test(t, test_ladder_onsite_within_0_never_climbs_after_an_ack);
        suite_add_tcase(s, t);

        t = tcase_create("critical and warning");
        tcase_add_checked_fixture(t, NULL, teardown);
        tcase_add_test(t, test_ladder_critical_reaches_everyone_at_once);
        tcase_add_test(t, test_ladder_critical_acked_stops_repeats_and_has_nothing_left_to_climb);
        tcase_add_test(t, test_ladder_next_is_never_when_nothing_is_left);
        tcase_add_test(t, test_ladder_warning_reaches_maintenance_once_and_never_calls);
        suite_add_tcase(s, t);

        t = tcase_create("repeat and custom ladders");
        tcase_add_checked_fixture(t, NULL, teardown);
        tcase_add_test(t, test_ladder_repeat_0_means_no_repeats);
        tcase_add_test(t, test_ladder_custom_ladder_grid_first_then_the_center);
        tcase_add_test(t, test_ladder_custom_ladder_without_the_center_never_calls);
        tcase_add_test(t, test_ladder_first_step_later_than_0_waits_and_repeats_only_after_it);
        suite_add_tcase(s, t);

        t = tcase_create("late ticks and max");
        tcase_add_checked_fixture(t, NULL, teardown);
        tcase_add_test(t, test_ladder_a_late_tick_catches_up);
        tcase_add_test(t, test_ladder_max_smaller_than_due_gives_the_rest_next_time);
        tcase_add_test(t, test_ladder_max_smaller_than_due_repeats_are_not_lost);
        tcase_add_test(t, test_ladder_the_longest_ladder_fits_ladder_max_actions);
        suite_add_tcase(s, t);
        return run_suite(s);
}
