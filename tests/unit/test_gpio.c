/* GPIO timing and meaning without any kernel (issue 8, item 5): debounce
 * and siren patterns on a driven clock, what a GPIO level means for each
 * sensor kind, and what the incidents ask of the siren and the relay. The
 * real lines are tested on a real kernel (tests/kernel). */
#include "unit.h"
#include "debounce.h"
#include "incident.h"
#include "pins.h"

#include <string.h>
#include <systemd/sd-event.h>

#define MS(x) ((uint64_t) (x) * USEC_PER_MSEC)
#define T0 (UINT64_C(1000) * USEC_PER_SEC)      /* an arbitrary monotonic start */

/* --- debounce ------------------------------------------------------------ */

START_TEST(test_debounce_reports_a_level_only_after_it_held_for_the_window) {
        struct debounce d;
        uint64_t next;

        debounce_init(&d, 0, MS(30));
        /* Contact bounce: 1, 0, 1 within 5 ms, then it holds. */
        ck_assert_int_eq(debounce_feed(&d, 1, T0, &next), 0);
        ck_assert_uint_eq(next, T0 + MS(30));
        ck_assert_int_eq(debounce_feed(&d, 0, T0 + MS(2), &next), 0);
        ck_assert_uint_eq(next, DEBOUNCE_NEVER);        /* back where it was: nothing to wait for */
        ck_assert_int_eq(debounce_feed(&d, 1, T0 + MS(5), &next), 0);
        ck_assert_uint_eq(next, T0 + MS(35));
        /* Too early: still the old level. */
        ck_assert_int_eq(debounce_poll(&d, T0 + MS(34), &next), 0);
        ck_assert_int_eq(d.stable, 0);
        /* Held for 30 ms since the last change: reported once. */
        ck_assert_int_eq(debounce_poll(&d, T0 + MS(35), &next), 1);
        ck_assert_int_eq(d.stable, 1);
        ck_assert_uint_eq(next, DEBOUNCE_NEVER);
        ck_assert_int_eq(debounce_poll(&d, T0 + MS(100), &next), 0);
}
END_TEST

START_TEST(test_debounce_ignores_a_glitch_shorter_than_the_window) {
        struct debounce d;
        uint64_t next;

        debounce_init(&d, 1, MS(30));
        ck_assert_int_eq(debounce_feed(&d, 0, T0, &next), 0);
        ck_assert_int_eq(debounce_feed(&d, 1, T0 + MS(29), &next), 0);
        ck_assert_int_eq(debounce_poll(&d, T0 + MS(60), &next), 0);
        ck_assert_int_eq(d.stable, 1);
        /* The same level read again (merged edges of the v1 uAPI) is no change. */
        ck_assert_int_eq(debounce_feed(&d, 1, T0 + MS(61), &next), 0);
        ck_assert_uint_eq(next, DEBOUNCE_NEVER);
}
END_TEST

START_TEST(test_debounce_zero_window_reports_at_once) {
        struct debounce d;
        uint64_t next;

        debounce_init(&d, 0, 0);
        ck_assert_int_eq(debounce_feed(&d, 1, T0, &next), 1);
        ck_assert_int_eq(d.stable, 1);
        ck_assert_int_eq(debounce_feed(&d, 0, T0, &next), 1);
        ck_assert_int_eq(d.stable, 0);
}
END_TEST

START_TEST(test_debounce_a_button_press_of_200ms_is_one_press_and_one_release) {
        struct debounce d;
        uint64_t next, t;
        int changes = 0, presses = 0;

        debounce_init(&d, 0, MS(30));
        /* Press with 8 ms of bounce, held 200 ms, release with bounce. */
        for (t = 0; t <= MS(8); t += MS(1))
                changes += debounce_feed(&d, (int) (t / MS(1)) % 2 == 0, T0 + t, &next);
        for (t = MS(9); t < MS(200); t += MS(1)) {
                int c = debounce_poll(&d, T0 + t, &next);
                changes += c;
                presses += c && d.stable == 1;
        }
        for (t = MS(200); t <= MS(206); t += MS(1))
                changes += debounce_feed(&d, (int) (t / MS(1)) % 2, T0 + t, &next);
        changes += debounce_feed(&d, 0, T0 + MS(207), &next);
        for (t = MS(208); t < MS(400); t += MS(1))
                changes += debounce_poll(&d, T0 + t, &next);
        ck_assert_int_eq(presses, 1);
        ck_assert_int_eq(changes, 2);
        ck_assert_int_eq(d.stable, 0);
}
END_TEST

/* --- siren patterns ----------------------------------------------------- */

START_TEST(test_siren_pulsed_is_half_a_second_on_half_a_second_off) {
        uint64_t next;

        ck_assert_int_eq(siren_level(SIREN_PULSED, T0, T0, &next), 1);
        ck_assert_uint_eq(next, T0 + MS(500));
        ck_assert_int_eq(siren_level(SIREN_PULSED, T0, T0 + MS(499), &next), 1);
        ck_assert_uint_eq(next, T0 + MS(500));
        ck_assert_int_eq(siren_level(SIREN_PULSED, T0, T0 + MS(500), &next), 0);
        ck_assert_uint_eq(next, T0 + MS(1000));
        ck_assert_int_eq(siren_level(SIREN_PULSED, T0, T0 + MS(1250), &next), 1);
        ck_assert_uint_eq(next, T0 + MS(1500));
        /* A minute later it is still beating in step. */
        ck_assert_int_eq(siren_level(SIREN_PULSED, T0, T0 + MS(60700), &next), 0);
        ck_assert_uint_eq(next, T0 + MS(61000));
}
END_TEST

START_TEST(test_siren_continuous_and_off_never_change_by_themselves) {
        uint64_t next;

        ck_assert_int_eq(siren_level(SIREN_CONTINUOUS, T0, T0 + MS(123456), &next), 1);
        ck_assert_uint_eq(next, DEBOUNCE_NEVER);
        ck_assert_int_eq(siren_level(SIREN_OFF, T0, T0 + MS(500), &next), 0);
        ck_assert_uint_eq(next, DEBOUNCE_NEVER);
        ck_assert_str_eq(siren_pattern_to_string(SIREN_PULSED), "pulsed");
}
END_TEST

/* --- what a level means ------------------------------------------------- */

#define GPIO_HOME \
        "[sensor smoke]\nkind = smoke\nroom = kitchen\ngpio_chip = gpiochip0\ngpio_line = 1\n" \
        "[sensor door]\nkind = door\nroom = hall\ngpio_chip = gpiochip0\ngpio_line = 0\nactive_low = true\n" \
        "[sensor cancel]\nkind = button\nrole = cancel\ngpio_chip = gpiochip0\ngpio_line = 2\n" \
        "[sensor sos]\nkind = button\ngpio_chip = gpiochip0\ngpio_line = 5\n" \
        "[sensor mains]\nkind = power\ngpio_chip = gpiochip0\ngpio_line = 6\ninvert = true\n" \
        "[sensor leak]\nkind = water\nroom = bathroom\ngpio_chip = gpiochip0\ngpio_line = 7\n" \
        "[sensor pir]\nkind = motion\nroom = living\ngpio_chip = gpiochip0\ngpio_line = 8\n" \
        "[sensor siren]\nkind = siren\ngpio_chip = gpiochip0\ngpio_line = 3\n" \
        "[sensor relay]\nkind = relay\ngpio_chip = gpiochip0\ngpio_line = 4\n"

static uint32_t idx(const struct config *c, const char *id) {
        int i = config_find_sensor(c, id);

        ck_assert_int_ge(i, 0);
        return (uint32_t) i;
}

START_TEST(test_gpio_levels_mean_what_their_mqtt_twins_say) {
        struct config *c = load_ok(GPIO_HOME);
        struct event ev;

        ck_assert(pins_level_event(c, idx(c, "smoke"), 1, false, 7, 8, &ev));
        ck_assert_int_eq(ev.attr, ATTR_SMOKE);
        ck_assert(ev.value == 1 && ev.mono == 7 && ev.wall == 8 && !ev.retained);
        /* Door: 1 = contact closed (shut), like Zigbee2MQTT's contact=true. */
        ck_assert(pins_level_event(c, idx(c, "door"), 0, false, 7, 8, &ev));
        ck_assert_int_eq(ev.attr, ATTR_DOOR_OPEN);
        ck_assert(ev.value == 1);
        ck_assert(pins_level_event(c, idx(c, "door"), 1, true, 7, 8, &ev));
        ck_assert(ev.value == 0 && ev.retained);
        ck_assert(pins_level_event(c, idx(c, "leak"), 1, false, 7, 8, &ev));
        ck_assert_int_eq(ev.attr, ATTR_WATER_LEAK);
        ck_assert(pins_level_event(c, idx(c, "pir"), 1, false, 7, 8, &ev));
        ck_assert_int_eq(ev.attr, ATTR_MOTION);
        /* invert: a "mains present" signal, 1 = power is there. */
        ck_assert(pins_level_event(c, idx(c, "mains"), 1, false, 7, 8, &ev));
        ck_assert_int_eq(ev.attr, ATTR_POWER_FAIL);
        ck_assert(ev.value == 0);
        ck_assert(pins_level_event(c, idx(c, "mains"), 0, false, 7, 8, &ev));
        ck_assert(ev.value == 1);
        /* Outputs are not sensors. */
        ck_assert(!pins_level_event(c, idx(c, "siren"), 1, false, 7, 8, &ev));
        config_free(c);
}
END_TEST

START_TEST(test_gpio_button_press_is_sos_or_cancel_and_release_is_nothing) {
        struct config *c = load_ok(GPIO_HOME);
        struct event ev;

        ck_assert(pins_level_event(c, idx(c, "sos"), 1, false, 7, 8, &ev));
        ck_assert_int_eq(ev.attr, ATTR_SOS);
        ck_assert(ev.value == 1);
        ck_assert(pins_level_event(c, idx(c, "cancel"), 1, false, 7, 8, &ev));
        ck_assert_int_eq(ev.attr, ATTR_CANCEL);
        ck_assert(!pins_level_event(c, idx(c, "cancel"), 0, false, 7, 8, &ev));
        /* Held down when the daemon starts: not a press. */
        ck_assert(!pins_level_event(c, idx(c, "sos"), 1, true, 7, 8, &ev));
        config_free(c);
}
END_TEST

/* --- what the incidents ask of the outputs ------------------------------- */

static struct decision decide(enum decision_kind k, enum incident_type t, enum severity s, uint32_t sensor,
                             uint64_t sec) {
        return (struct decision) { .kind = k, .type = t, .severity = s, .sensor = sensor,
                                   .mono = sec * USEC_PER_SEC, .wall = (UINT64_C(1795363200) + sec) * USEC_PER_SEC,
                                   .since_wall = (UINT64_C(1795363200) + sec) * USEC_PER_SEC };
}

static void outputs_now(struct incidents *m, enum siren_pattern want_siren, bool want_cut) {
        enum siren_pattern siren;
        bool cut;

        incidents_outputs(m, &siren, &cut);
        ck_assert_str_eq(siren_pattern_to_string(siren), siren_pattern_to_string(want_siren));
        ck_assert_int_eq(cut, want_cut);
}

/* The GPIO home with a wristband, and an incident manager over it (what
 * it decides is thrown away: only the outputs it asks for count here). */
struct home {
        struct config *c;
        struct incidents *m;
};

static struct action_list actions;

static void home_up(struct home *h) {
        *h = (struct home) { .c = load_ok(GPIO_HOME "[sensor band]\nkind = wristband\ntopic = band/ye\n") };
        ck_assert_int_ge(incidents_new(h->c, &h->c->rules, &h->m), 0);
}

static void home_down(struct home *h) {
        incidents_free(h->m);
        action_list_free(&actions);
        config_free(h->c);
}

START_TEST(test_fire_sounds_the_siren_until_acked_and_cuts_power_until_resolved) {
        struct home h;
        struct incidents *m;
        struct config *c;
        struct decision dec;
        const char *id;
        char fire[64];

        home_up(&h);
        m = h.m;
        c = h.c;
        outputs_now(m, SIREN_OFF, false);

        dec = decide(DECISION_RAISE, INCIDENT_FIRE, SEVERITY_CRITICAL, idx(c, "smoke"), 10);
        ck_assert_int_ge(incidents_apply(m, &dec, NULL, NULL, &actions), 0);
        outputs_now(m, SIREN_CONTINUOUS, true);
        id = incidents_open_id(m, INCIDENT_FIRE);
        ck_assert_ptr_nonnull(id);
        snprintf(fire, sizeof fire, "%s", id);

        /* The smoke clears: the incident stays open, and so does the relay. */
        dec = decide(DECISION_CLEAR, INCIDENT_FIRE, SEVERITY_CRITICAL, idx(c, "smoke"), 60);
        (void) incidents_apply(m, &dec, NULL, NULL, &actions);
        outputs_now(m, SIREN_CONTINUOUS, true);

        /* The center's automatic acceptance is not a person at the door. */
        incidents_center_answered(m, fire, "C-1", NULL, 65 * USEC_PER_SEC, dec.wall + 5 * USEC_PER_SEC, &actions);
        outputs_now(m, SIREN_CONTINUOUS, true);

        /* A person takes charge: the siren stops, the charger stays off. */
        ck_assert_int_eq(incidents_ack(m, fire, "ack", "wang", "mqtt", NULL, 70 * USEC_PER_SEC,
                                       dec.wall + 10 * USEC_PER_SEC, &actions), ACK_RECORDED);
        outputs_now(m, SIREN_OFF, true);
        ck_assert_int_eq(incidents_ack(m, fire, "arrived", "wang", "mqtt", NULL, 200 * USEC_PER_SEC,
                                       dec.wall + 140 * USEC_PER_SEC, &actions), ACK_APPLIED);
        outputs_now(m, SIREN_OFF, true);
        /* Only the resolution gives the power back. */
        ck_assert_int_eq(incidents_ack(m, fire, "resolved", "wang", "mqtt", NULL, 900 * USEC_PER_SEC,
                                       dec.wall + 840 * USEC_PER_SEC, &actions), ACK_APPLIED);
        outputs_now(m, SIREN_OFF, false);
        home_down(&h);
}
END_TEST

START_TEST(test_fall_prealarm_pulses_the_siren_until_the_resident_cancels) {
        struct home h;
        struct incidents *m;
        struct config *c;
        struct decision dec;

        home_up(&h);
        m = h.m;
        c = h.c;
        dec = decide(DECISION_PREALARM, INCIDENT_FALL, SEVERITY_CRITICAL, idx(c, "band"), 10);
        ck_assert_int_ge(incidents_apply(m, &dec, NULL, NULL, &actions), 0);
        ck_assert(incidents_in_prealarm(m, NULL));
        outputs_now(m, SIREN_PULSED, false);
        dec = decide(DECISION_CANCEL, INCIDENT_FALL, SEVERITY_CRITICAL, idx(c, "cancel"), 20);
        ck_assert_int_ge(incidents_apply(m, &dec, NULL, NULL, &actions), 0);
        ck_assert(!incidents_in_prealarm(m, NULL));
        outputs_now(m, SIREN_OFF, false);
        home_down(&h);
}
END_TEST

int main(void) {
        Suite *s = suite_create("gpio");
        TCase *t = tcase_create("gpio");

        tcase_add_test(t, test_debounce_reports_a_level_only_after_it_held_for_the_window);
        tcase_add_test(t, test_debounce_ignores_a_glitch_shorter_than_the_window);
        tcase_add_test(t, test_debounce_zero_window_reports_at_once);
        tcase_add_test(t, test_debounce_a_button_press_of_200ms_is_one_press_and_one_release);
        tcase_add_test(t, test_siren_pulsed_is_half_a_second_on_half_a_second_off);
        tcase_add_test(t, test_siren_continuous_and_off_never_change_by_themselves);
        tcase_add_test(t, test_gpio_levels_mean_what_their_mqtt_twins_say);
        tcase_add_test(t, test_gpio_button_press_is_sos_or_cancel_and_release_is_nothing);
        tcase_add_test(t, test_fire_sounds_the_siren_until_acked_and_cuts_power_until_resolved);
        tcase_add_test(t, test_fall_prealarm_pulses_the_siren_until_the_resident_cancels);
        suite_add_tcase(s, t);
        return run_suite(s);
}
