/* Configuration: defaults, drop-ins, and an exact message for every error. */
#include "unit.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static struct errors load_bad(const char *text) {
        struct errors e = { .n = 0 };
        struct config *c = NULL;

        ck_assert_int_eq(config_load_string("bad.conf", text, collect_error, &e, &c), -EINVAL);
        ck_assert_ptr_null(c);
        ck_assert_int_ge(e.n, 1);
        return e;
}

static bool has(const struct errors *e, const char *want) {
        for (int i = 0; i < e->n; i++)
                if (strstr(e->msgs[i], want))
                        return true;
        return false;
}

#define ASSERT_ERROR(text, want) do { \
        struct errors e_ = load_bad(text); \
        ck_assert_msg(has(&e_, want), "expected \"%s\", got \"%s\"", want, e_.msgs[0]); \
} while (0)

START_TEST(test_minimal_config_loads_with_defaults) {
        struct config *c = load_ok("[sensor k]\nkind = smoke\nroom = kitchen\ntopic = z2m/k\n");
        int k = config_find_sensor(c, "k");

        ck_assert_int_eq(k, 0);
        ck_assert_uint_eq(c->mqtt.port, 1883);
        ck_assert_uint_eq(c->mqtt.keepalive, 60 * USEC_PER_SEC);
        ck_assert_uint_eq(c->dispatch.retry_max, 60 * USEC_PER_SEC);
        ck_assert_str_eq(c->sensors[k].availability_topic, "z2m/k/availability");
        ck_assert_str_eq(c->sensors[k].keys[ATTR_SMOKE], "smoke");
        ck_assert_str_eq(c->sensors[k].keys[ATTR_BATTERY], "battery");
        ck_assert_ptr_null(c->sensors[k].keys[ATTR_MOTION]);
        ck_assert_uint_eq(c->sensors[k].supervision, USEC_PER_HOUR);
        config_free(c);
}
END_TEST

START_TEST(test_door_reads_contact_and_key_override_takes_dotted_path) {
        struct config *c = load_ok("[sensor d]\nkind = door\ntopic = z/d\n"
                                   "[sensor w]\nkind = wristband\ntopic = band/ye\nkey_heart_rate = vitals.hr\n"
                                   "[sensor s]\nkind = smoke\ntopic = z/s\nkey = state.alarm\n");

        ck_assert_str_eq(c->sensors[0].keys[ATTR_DOOR_OPEN], "contact");
        ck_assert_str_eq(c->sensors[1].keys[ATTR_HEART_RATE], "vitals.hr");
        ck_assert_str_eq(c->sensors[1].keys[ATTR_SOS], "sos");
        ck_assert_str_eq(c->sensors[2].keys[ATTR_SMOKE], "state.alarm");
        config_free(c);
}
END_TEST

START_TEST(test_unknown_key_is_an_error_with_file_and_line) {
        ASSERT_ERROR(BASE_CONFIG "[sensor k]\nkind = smoke\ntopic = t\ncolour = red\n",
                     "bad.conf:14: [sensor k] colour: unknown key");
}
END_TEST

START_TEST(test_unknown_section_is_an_error) {
        ASSERT_ERROR(BASE_CONFIG "[sensors]\nx = 1\n", "bad.conf:11: unknown section [sensors]");
}
END_TEST

START_TEST(test_unknown_kind_lists_the_valid_kinds) {
        ASSERT_ERROR(BASE_CONFIG "[sensor kitchen]\nkind = smok\ntopic = t\n",
                     "bad.conf:12: [sensor kitchen] kind: \"smok\" is not one of smoke, motion, door, "
                     "wristband, button, power, water, siren, relay");
}
END_TEST

START_TEST(test_duration_without_unit_is_an_error) {
        ASSERT_ERROR(BASE_CONFIG "retry_max = 60\n",
                     "bad.conf:11: [dispatch] retry_max: \"60\" is not a duration from 10ms to 1h 00min");
}
END_TEST

START_TEST(test_out_of_range_port_is_an_error) {
        ASSERT_ERROR(BASE_CONFIG "[mqtt]\nport = 70000\n",
                     "bad.conf:12: [mqtt] port: \"70000\" is not a whole number from 1 to 65535");
}
END_TEST

START_TEST(test_duplicate_sensor_id_names_the_first) {
        ASSERT_ERROR(BASE_CONFIG "[sensor a]\nkind = smoke\ntopic = t\n[sensor a]\nkind = smoke\ntopic = u\n",
                     "bad.conf:14: duplicate sensor id \"a\" (first declared at bad.conf:11)");
}
END_TEST

START_TEST(test_sensor_without_source_is_an_error) {
        ASSERT_ERROR(BASE_CONFIG "[sensor a]\nkind = smoke\nroom = kitchen\n",
                     "bad.conf:11: [sensor a] has no source");
}
END_TEST

START_TEST(test_key_set_twice_is_an_error) {
        ASSERT_ERROR(BASE_CONFIG "[sensor a]\nkind = smoke\ntopic = t\ntopic = u\n",
                     "bad.conf:14: [sensor a] topic: set twice in this section");
}
END_TEST

START_TEST(test_plain_http_to_a_remote_host_is_refused) {
        ASSERT_ERROR("[hub]\nid = h\n[resident]\nname = a\naddress = b\n[dispatch]\nurl = http://example.org/x\n",
                     "bad.conf:7: [dispatch] url: \"http://example.org/x\" must be https://");
}
END_TEST

START_TEST(test_long_line_and_syntax_error_are_reported) {
        char text[2048], longv[400];

        memset(longv, 'x', sizeof longv - 1);
        longv[sizeof longv - 1] = '\0';
        snprintf(text, sizeof text, BASE_CONFIG "[sensor a]\nkind = smoke\ntopic = %s\n", longv);
        ASSERT_ERROR(text, "bad.conf:13: [sensor a] line is longer than");
        ASSERT_ERROR(BASE_CONFIG "[sensor a]\nkind smoke\n", "bad.conf:12: syntax error");
}
END_TEST

START_TEST(test_missing_required_keys_are_errors) {
        struct errors e = load_bad("[hub]\nid = h\n[resident]\nname = a\n");

        ck_assert(has(&e, "bad.conf: [resident] address: missing"));
        ck_assert(has(&e, "bad.conf: [dispatch] url: missing"));
}
END_TEST

START_TEST(test_output_without_gpio_and_bad_timezone_are_errors) {
        ASSERT_ERROR(BASE_CONFIG "[sensor s]\nkind = siren\ntopic = t\n", "[sensor s] kind: siren is an output");
        ASSERT_ERROR("[hub]\nid = h\ntimezone = Mars/Olympus\n", "bad.conf:3: [hub] timezone: \"Mars/Olympus\" is not a known time zone");
}
END_TEST

START_TEST(test_gpio_sensor_is_refused_not_silently_unwatched) {
        ASSERT_ERROR(BASE_CONFIG "[sensor d]\nkind = door\ngpio_chip = gpiochip0\ngpio_line = 17\n",
                     "[sensor d] gpio_chip: GPIO sources are not supported");
}
END_TEST

START_TEST(test_every_error_in_a_file_is_reported) {
        struct errors e = load_bad(BASE_CONFIG "[mqtt]\nport = 0\nkeepalive = 1\nbogus = 1\n[x]\n");

        ck_assert_int_eq(e.n, 4);
}
END_TEST

static void write_file(const char *path, const char *text) {
        FILE *f = fopen(path, "w");
        ck_assert_ptr_nonnull(f);
        fputs(text, f);
        fclose(f);
}

START_TEST(test_dropins_override_and_add_and_secrets_are_read) {
        char dir[] = "/tmp/anju-unit-XXXXXX", p[256], main_text[1024];
        struct errors e = { .n = 0 };
        struct config *c = NULL;

        ck_assert_ptr_nonnull(mkdtemp(dir));
        snprintf(p, sizeof p, "%s/conf.d", dir);
        ck_assert_int_eq(mkdir(p, 0700), 0);
        snprintf(p, sizeof p, "%s/token", dir);
        write_file(p, "s3cret\n");
        snprintf(main_text, sizeof main_text, BASE_CONFIG "token_file = %s/token\n[mqtt]\nport = 1883\n"
                 "[sensor a]\nkind = smoke\ntopic = t/a\n", dir);
        snprintf(p, sizeof p, "%s/anju.conf", dir);
        write_file(p, main_text);
        snprintf(p, sizeof p, "%s/conf.d/10-local.conf", dir);
        write_file(p, "[mqtt]\nport = 1999\n[sensor b]\nkind = motion\ntopic = t/b\n");
        snprintf(p, sizeof p, "%s/anju.conf", dir);
        ck_assert_int_eq(config_load(p, collect_error, &e, &c), 0);
        ck_assert_uint_eq(c->mqtt.port, 1999);
        ck_assert_uint_eq(c->n_sensors, 2);
        ck_assert_str_eq(c->dispatch.token, "s3cret");
        config_free(c);

        snprintf(p, sizeof p, "%s/conf.d/20-dup.conf", dir);
        write_file(p, "[sensor a]\nkind = smoke\ntopic = t/x\n");
        snprintf(p, sizeof p, "%s/anju.conf", dir);
        ck_assert_int_eq(config_load(p, collect_error, &e, &c), -EINVAL);
        ck_assert(has(&e, "20-dup.conf:1: duplicate sensor id \"a\" (first declared at"));
        ck_assert(has(&e, "anju.conf:"));
}
END_TEST

START_TEST(test_missing_token_file_names_the_key) {
        ASSERT_ERROR(BASE_CONFIG "token_file = /nonexistent/anju.token\n",
                     "bad.conf:11: [dispatch] token_file: \"/nonexistent/anju.token\" cannot read it");
}
END_TEST

int main(void) {
        Suite *s = suite_create("config");
        TCase *t = tcase_create("config");

        tcase_add_test(t, test_minimal_config_loads_with_defaults);
        tcase_add_test(t, test_door_reads_contact_and_key_override_takes_dotted_path);
        tcase_add_test(t, test_unknown_key_is_an_error_with_file_and_line);
        tcase_add_test(t, test_unknown_section_is_an_error);
        tcase_add_test(t, test_unknown_kind_lists_the_valid_kinds);
        tcase_add_test(t, test_duration_without_unit_is_an_error);
        tcase_add_test(t, test_out_of_range_port_is_an_error);
        tcase_add_test(t, test_duplicate_sensor_id_names_the_first);
        tcase_add_test(t, test_sensor_without_source_is_an_error);
        tcase_add_test(t, test_key_set_twice_is_an_error);
        tcase_add_test(t, test_plain_http_to_a_remote_host_is_refused);
        tcase_add_test(t, test_long_line_and_syntax_error_are_reported);
        tcase_add_test(t, test_missing_required_keys_are_errors);
        tcase_add_test(t, test_output_without_gpio_and_bad_timezone_are_errors);
        tcase_add_test(t, test_gpio_sensor_is_refused_not_silently_unwatched);
        tcase_add_test(t, test_every_error_in_a_file_is_reported);
        tcase_add_test(t, test_dropins_override_and_add_and_secrets_are_read);
        tcase_add_test(t, test_missing_token_file_names_the_key);
        suite_add_tcase(s, t);
        return run_suite(s);
}
