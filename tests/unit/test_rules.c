/* The rules are pure: time is in the events. Fire is a level (start-up and
 * reconnect re-derive it from retained state), SOS is an event (each press
 * is news, a retained press is history). */
#include "unit.h"
#include "rules.h"
#include "util.h"

#include <string.h>
#include <time.h>

#define SENSORS \
        "[sensor kitchen_smoke]\nkind = smoke\nroom = kitchen\ntopic = z/kitchen_smoke\n" \
        "[sensor bedroom_smoke]\nkind = smoke\nroom = bedroom\ntopic = z/bedroom_smoke\n" \
        "[sensor sos_button]\nkind = button\nroom = bedroom\ntopic = z/sos\n" \
        "[sensor band]\nkind = wristband\ntopic = band/ye\n" \
        "[sensor living_pir]\nkind = motion\nroom = living\ntopic = z/pir\n" \
        "[sensor front_door]\nkind = door\nroom = hall\ntopic = z/door\n"

enum { KITCHEN, BEDROOM, BUTTON, BAND, PIR, DOOR, N_SENSORS };

/* 2026-11-22 08:00 +08:00, an arbitrary fixed start for the driven clock. */
#define WALL0 (UINT64_C(1795305600) * USEC_PER_SEC)
#define MONO0 (UINT64_C(3600) * USEC_PER_SEC)

static struct config *cfg;
static struct rules *rules;
static struct decision out[4];
static uint64_t clock_usec;     /* the driven clock: time since start */

static void setup(void) {
        cfg = load_ok(SENSORS);
        ck_assert_uint_eq(cfg->n_sensors, N_SENSORS);
        rules = rules_new(cfg, &cfg->rules, MONO0, WALL0);
        ck_assert_ptr_nonnull(rules);
        clock_usec = 0;
}

static void teardown(void) {
        rules_free(rules);
        config_free(cfg);
}

static struct event make(uint32_t sensor, enum event_attr a, double v, bool retained) {
        return (struct event) { .sensor = sensor, .attr = a, .value = v, .retained = retained,
                                .mono = MONO0 + clock_usec, .wall = WALL0 + clock_usec };
}

/* Feeds one event at the current driven time; returns the decisions. */
static size_t feed_r(uint32_t sensor, enum event_attr a, double v, bool retained) {
        struct event e = make(sensor, a, v, retained);

        memset(out, 0xee, sizeof out);
        return rules_feed(rules, &e, out, ELEMENTSOF(out));
}

static size_t feed(uint32_t sensor, enum event_attr a, double v) {
        return feed_r(sensor, a, v, false);
}

START_TEST(test_rules_smoke_raises_one_critical_fire_with_the_event_sensor_and_times) {
        clock_usec = 17 * USEC_PER_SEC;
        ck_assert_uint_eq(feed(KITCHEN, ATTR_SMOKE, 1), 1);
        ck_assert_int_eq(out[0].kind, DECISION_RAISE);
        ck_assert_int_eq(out[0].type, INCIDENT_FIRE);
        ck_assert_int_eq(out[0].severity, SEVERITY_CRITICAL);
        ck_assert_uint_eq(out[0].sensor, KITCHEN);
        ck_assert_uint_eq(out[0].mono, MONO0 + 17 * USEC_PER_SEC);
        ck_assert_uint_eq(out[0].wall, WALL0 + 17 * USEC_PER_SEC);
        ck_assert_uint_eq(rules_get_stats(rules)->decisions, 1);
        ck_assert_uint_eq(rules_get_stats(rules)->events, 1);
}
END_TEST

START_TEST(test_rules_repeated_smoke_does_not_raise_again) {
        ck_assert_uint_eq(feed(KITCHEN, ATTR_SMOKE, 1), 1);
        for (int i = 1; i <= 20; i++) {
                clock_usec = (uint64_t) i * 30 * USEC_PER_SEC;
                ck_assert_uint_eq(feed(KITCHEN, ATTR_SMOKE, 1), 0);
                ck_assert_uint_eq(feed_r(KITCHEN, ATTR_SMOKE, 1, true), 0);
        }
        ck_assert_uint_eq(rules_get_stats(rules)->decisions, 1);
}
END_TEST

START_TEST(test_rules_smoke_clearing_is_reported_and_returning_smoke_raises_again) {
        ck_assert_uint_eq(feed(KITCHEN, ATTR_SMOKE, 1), 1);
        clock_usec = 5 * USEC_PER_MIN;
        ck_assert_uint_eq(feed(KITCHEN, ATTR_SMOKE, 0), 1);
        ck_assert_int_eq(out[0].kind, DECISION_CLEAR);
        ck_assert_int_eq(out[0].type, INCIDENT_FIRE);
        ck_assert_uint_eq(out[0].sensor, KITCHEN);
        ck_assert_uint_eq(out[0].wall, WALL0 + 5 * USEC_PER_MIN);
        ck_assert_uint_eq(feed(KITCHEN, ATTR_SMOKE, 0), 0);     /* still clear: nothing */
        clock_usec = 6 * USEC_PER_MIN;
        ck_assert_uint_eq(feed(KITCHEN, ATTR_SMOKE, 1), 1);
        ck_assert_int_eq(out[0].kind, DECISION_RAISE);
        ck_assert_uint_eq(out[0].mono, MONO0 + 6 * USEC_PER_MIN);
}
END_TEST

/* The relay stays cut while any detector still reports smoke (hub.c asks
 * this after every message). */
START_TEST(test_rules_smoke_is_present_while_any_detector_reports_it) {
        ck_assert(!rules_smoke_present(rules));
        feed(KITCHEN, ATTR_SMOKE, 1);
        feed(KITCHEN, ATTR_SMOKE, 1);   /* a repeat counts once */
        feed(BEDROOM, ATTR_SMOKE, 1);
        ck_assert(rules_smoke_present(rules));
        feed(KITCHEN, ATTR_SMOKE, 0);
        ck_assert(rules_smoke_present(rules));
        feed(BEDROOM, ATTR_SMOKE, 0);
        feed(BEDROOM, ATTR_SMOKE, 0);
        ck_assert(!rules_smoke_present(rules));
        feed_r(BEDROOM, ATTR_SMOKE, 1, true);
        ck_assert(rules_smoke_present(rules));
}
END_TEST

START_TEST(test_rules_retained_smoke_at_start_up_raises) {
        /* After a restart the broker replays "smoke: true": the detector still
         * says fire, so the incident is raised (or kept). */
        ck_assert_uint_eq(feed_r(KITCHEN, ATTR_SMOKE, 1, true), 1);
        ck_assert_int_eq(out[0].kind, DECISION_RAISE);
        ck_assert_int_eq(out[0].type, INCIDENT_FIRE);
        ck_assert_uint_eq(rules_get_stats(rules)->ignored_retained, 0);
}
END_TEST

START_TEST(test_rules_smoke_false_first_raises_nothing) {
        ck_assert_uint_eq(feed(KITCHEN, ATTR_SMOKE, 0), 0);
        ck_assert_uint_eq(feed_r(BEDROOM, ATTR_SMOKE, 0, true), 0);
        ck_assert_uint_eq(rules_get_stats(rules)->decisions, 0);
        ck_assert_uint_eq(rules_get_stats(rules)->events, 2);
}
END_TEST

START_TEST(test_rules_two_detectors_each_raise) {
        ck_assert_uint_eq(feed(KITCHEN, ATTR_SMOKE, 1), 1);
        ck_assert_uint_eq(out[0].sensor, KITCHEN);
        clock_usec = 40 * USEC_PER_SEC;
        ck_assert_uint_eq(feed(BEDROOM, ATTR_SMOKE, 1), 1);
        ck_assert_int_eq(out[0].kind, DECISION_RAISE);
        ck_assert_uint_eq(out[0].sensor, BEDROOM);
        /* and each keeps its own level */
        ck_assert_uint_eq(feed(KITCHEN, ATTR_SMOKE, 0), 1);
        ck_assert_int_eq(out[0].kind, DECISION_CLEAR);
        ck_assert_uint_eq(out[0].sensor, KITCHEN);
        ck_assert_uint_eq(feed(BEDROOM, ATTR_SMOKE, 1), 0);
}
END_TEST

START_TEST(test_rules_every_sos_press_raises) {
        for (int i = 0; i < 3; i++) {
                clock_usec = (uint64_t) i * USEC_PER_SEC;
                ck_assert_uint_eq(feed(BUTTON, ATTR_SOS, 1), 1);
                ck_assert_int_eq(out[0].kind, DECISION_RAISE);
                ck_assert_int_eq(out[0].type, INCIDENT_SOS);
                ck_assert_int_eq(out[0].severity, SEVERITY_CRITICAL);
                ck_assert_uint_eq(out[0].sensor, BUTTON);
                ck_assert_uint_eq(out[0].wall, WALL0 + clock_usec);
        }
        ck_assert_uint_eq(feed(BAND, ATTR_SOS, 1), 1);
        ck_assert_uint_eq(out[0].sensor, BAND);
        ck_assert_uint_eq(rules_get_stats(rules)->decisions, 4);
}
END_TEST

START_TEST(test_rules_retained_sos_is_history_and_is_counted) {
        ck_assert_uint_eq(feed_r(BUTTON, ATTR_SOS, 1, true), 0);
        ck_assert_uint_eq(feed_r(BAND, ATTR_SOS, 1, true), 0);
        ck_assert_uint_eq(rules_get_stats(rules)->ignored_retained, 2);
        ck_assert_uint_eq(rules_get_stats(rules)->decisions, 0);
        /* a live press afterwards is news */
        ck_assert_uint_eq(feed(BUTTON, ATTR_SOS, 1), 1);
        ck_assert_uint_eq(rules_get_stats(rules)->ignored_retained, 2);
}
END_TEST

START_TEST(test_rules_event_for_an_unknown_sensor_index_is_ignored) {
        ck_assert_uint_eq(feed(N_SENSORS, ATTR_SMOKE, 1), 0);
        ck_assert_uint_eq(feed(UINT32_MAX, ATTR_SOS, 1), 0);
        ck_assert_uint_eq(rules_get_stats(rules)->events, 0);
        ck_assert_uint_eq(rules_get_stats(rules)->decisions, 0);
        /* the known sensors are unaffected */
        ck_assert_uint_eq(feed(KITCHEN, ATTR_SMOKE, 1), 1);
}
END_TEST

START_TEST(test_rules_no_room_for_decisions_writes_nothing) {
        struct event e = make(KITCHEN, ATTR_SMOKE, 1, false);
        struct decision none[1];

        memset(none, 0x77, sizeof none);
        ck_assert_uint_eq(rules_feed(rules, &e, none, 0), 0);
        ck_assert_uint_eq(none[0].sensor, 0x77777777);
}
END_TEST

/* One reading of a week of ordinary life: motion, the door, battery and
 * heart rate every few minutes; no smoke, no SOS. */
static void ordinary_event(uint64_t step, struct event *e) {
        switch (step % 6) {
        case 0: *e = make(PIR, ATTR_MOTION, step % 12 == 0, false); break;
        case 1: *e = make(BAND, ATTR_HEART_RATE, 60 + (double) (step % 25), false); break;
        case 2: *e = make(BAND, ATTR_STEPS, (double) step, false); break;
        case 3: *e = make(DOOR, ATTR_DOOR_OPEN, step % 4 == 3, false); break;
        case 4: *e = make(KITCHEN, ATTR_BATTERY, 97, false); break;
        default: *e = make(BUTTON, ATTR_BATTERY, 88, false); break;
        }
}

START_TEST(test_rules_a_week_of_normal_traffic_raises_nothing_and_runs_fast) {
        struct timespec t0, t1;
        uint64_t events = 0;
        size_t decisions = 0;
        struct event e;

        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (uint64_t step = 0; clock_usec < 7 * USEC_PER_DAY; step++) {
                clock_usec += (1 + step % 5) * USEC_PER_MIN / 2;        /* 30 s .. 2.5 min */
                ordinary_event(step, &e);
                events++;
                decisions += rules_feed(rules, &e, out, ELEMENTSOF(out));
                e = make(KITCHEN, ATTR_SMOKE, 0, step % 50 == 0);       /* periodic "all clear" */
                events++;
                decisions += rules_feed(rules, &e, out, ELEMENTSOF(out));
        }
        clock_gettime(CLOCK_MONOTONIC, &t1);
        ck_assert_uint_eq(decisions, 0);
        ck_assert_uint_gt(events, 10000);
        ck_assert_uint_eq(rules_get_stats(rules)->events, events);
        /* Not a benchmark (bench/ measures): a generous bound that only a rule
         * doing real work per event, or reading a clock and sleeping, breaks. */
        double secs = (double) (t1.tv_sec - t0.tv_sec) + (double) (t1.tv_nsec - t0.tv_nsec) / 1e9;
        ck_assert_msg(secs < 2.0, "a simulated week took %.3f s", secs);
        /* the rules are live at the end of the week */
        ck_assert_uint_eq(feed(KITCHEN, ATTR_SMOKE, 1), 1);
        ck_assert_uint_eq(out[0].wall, WALL0 + clock_usec);
}
END_TEST

int main(void) {
        Suite *s = suite_create("rules");
        TCase *t = tcase_create("fire and sos");

        tcase_add_checked_fixture(t, setup, teardown);
        tcase_add_test(t, test_rules_smoke_raises_one_critical_fire_with_the_event_sensor_and_times);
        tcase_add_test(t, test_rules_repeated_smoke_does_not_raise_again);
        tcase_add_test(t, test_rules_smoke_clearing_is_reported_and_returning_smoke_raises_again);
        tcase_add_test(t, test_rules_smoke_is_present_while_any_detector_reports_it);
        tcase_add_test(t, test_rules_retained_smoke_at_start_up_raises);
        tcase_add_test(t, test_rules_smoke_false_first_raises_nothing);
        tcase_add_test(t, test_rules_two_detectors_each_raise);
        tcase_add_test(t, test_rules_every_sos_press_raises);
        tcase_add_test(t, test_rules_retained_sos_is_history_and_is_counted);
        tcase_add_test(t, test_rules_event_for_an_unknown_sensor_index_is_ignored);
        tcase_add_test(t, test_rules_no_room_for_decisions_writes_nothing);
        tcase_add_test(t, test_rules_a_week_of_normal_traffic_raises_nothing_and_runs_fast);
        suite_add_tcase(s, t);
        return run_suite(s);
}
