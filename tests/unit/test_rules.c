/* Rules on a driven clock: fire is a level, SOS an event. */
#include "unit.h"
#include "rules.h"

#include <string.h>

static struct config *cfg;
static struct rules *rules;
static struct decision dec[4];
static uint64_t clock_now = 1000 * USEC_PER_SEC;

enum { K_SMOKE, B_SMOKE, PIR, BUTTON };

static void setup(void) {
        cfg = load_ok("[sensor k]\nkind = smoke\ntopic = a\n[sensor b]\nkind = smoke\ntopic = b\n"
                      "[sensor p]\nkind = motion\ntopic = c\n[sensor s]\nkind = button\ntopic = d\n");
        rules = rules_new(cfg);
        ck_assert_ptr_nonnull(rules);
}

static void teardown(void) {
        rules_free(rules);
        config_free(cfg);
}

static size_t feed(uint32_t sensor, enum event_attr a, double v, bool retained) {
        struct event e = { .sensor = sensor, .attr = a, .value = v, .mono = clock_now,
                           .wall = clock_now + 7, .retained = retained };
        clock_now += USEC_PER_SEC;
        return rules_feed(rules, &e, dec, 4);
}

START_TEST(test_smoke_raises_one_critical_fire_with_its_sensor_and_time) {
        uint64_t t = clock_now;

        ck_assert_uint_eq(feed(K_SMOKE, ATTR_SMOKE, 1, false), 1);
        ck_assert_int_eq(dec[0].kind, DECISION_RAISE);
        ck_assert_int_eq(dec[0].type, INCIDENT_FIRE);
        ck_assert_int_eq(dec[0].severity, SEVERITY_CRITICAL);
        ck_assert_uint_eq(dec[0].sensor, K_SMOKE);
        ck_assert_uint_eq(dec[0].mono, t);
        ck_assert_uint_eq(dec[0].wall, t + 7);
        ck_assert_uint_eq(feed(K_SMOKE, ATTR_SMOKE, 1, false), 0);   /* still smoke: no storm */
}
END_TEST

START_TEST(test_smoke_clear_then_again_raises_again) {
        ck_assert_uint_eq(feed(K_SMOKE, ATTR_SMOKE, 0, false), 0);   /* false first: nothing */
        ck_assert_uint_eq(feed(K_SMOKE, ATTR_SMOKE, 1, false), 1);
        ck_assert_uint_eq(feed(K_SMOKE, ATTR_SMOKE, 0, false), 1);
        ck_assert_int_eq(dec[0].kind, DECISION_CLEAR);
        ck_assert_uint_eq(feed(K_SMOKE, ATTR_SMOKE, 1, false), 1);
        ck_assert_int_eq(dec[0].kind, DECISION_RAISE);
}
END_TEST

START_TEST(test_retained_smoke_at_startup_raises_level_semantics) {
        ck_assert_uint_eq(feed(K_SMOKE, ATTR_SMOKE, 1, true), 1);
        ck_assert_int_eq(dec[0].type, INCIDENT_FIRE);
}
END_TEST

START_TEST(test_two_detectors_each_raise) {
        ck_assert_uint_eq(feed(K_SMOKE, ATTR_SMOKE, 1, false), 1);
        ck_assert_uint_eq(feed(B_SMOKE, ATTR_SMOKE, 1, false), 1);
        ck_assert_uint_eq(dec[0].sensor, B_SMOKE);
}
END_TEST

START_TEST(test_every_sos_press_raises_but_a_retained_one_does_not) {
        ck_assert_uint_eq(feed(BUTTON, ATTR_SOS, 1, false), 1);
        ck_assert_int_eq(dec[0].type, INCIDENT_SOS);
        ck_assert_int_eq(dec[0].severity, SEVERITY_CRITICAL);
        ck_assert_uint_eq(feed(BUTTON, ATTR_SOS, 1, false), 1);
        ck_assert_uint_eq(feed(BUTTON, ATTR_SOS, 1, true), 0);
        ck_assert_uint_eq(rules_get_stats(rules)->ignored_retained, 1);
}
END_TEST

START_TEST(test_event_for_unknown_sensor_is_ignored) {
        ck_assert_uint_eq(feed(99, ATTR_SMOKE, 1, false), 0);
}
END_TEST

START_TEST(test_a_normal_week_raises_nothing) {
        uint64_t decisions = 0;

        /* One event every 2 minutes for 7 days, on the driven clock. */
        for (int i = 0; i < 7 * 24 * 30; i++) {
                decisions += feed(PIR, ATTR_MOTION, i % 2, false);
                decisions += feed(K_SMOKE, ATTR_SMOKE, 0, false);
                decisions += feed(K_SMOKE, ATTR_BATTERY, 97 - i / 1000, false);
                decisions += feed(BUTTON, ATTR_BATTERY, 88, false);
                clock_now += 2 * USEC_PER_MIN;
        }
        ck_assert_uint_eq(decisions, 0);
        ck_assert_uint_eq(rules_get_stats(rules)->events, 7 * 24 * 30 * 4);
}
END_TEST

int main(void) {
        Suite *s = suite_create("rules");
        TCase *t = tcase_create("rules");

        tcase_add_checked_fixture(t, setup, teardown);
        tcase_add_test(t, test_smoke_raises_one_critical_fire_with_its_sensor_and_time);
        tcase_add_test(t, test_smoke_clear_then_again_raises_again);
        tcase_add_test(t, test_retained_smoke_at_startup_raises_level_semantics);
        tcase_add_test(t, test_two_detectors_each_raise);
        tcase_add_test(t, test_every_sos_press_raises_but_a_retained_one_does_not);
        tcase_add_test(t, test_event_for_unknown_sensor_is_ignored);
        tcase_add_test(t, test_a_normal_week_raises_nothing);
        suite_add_tcase(s, t);
        return run_suite(s);
}
