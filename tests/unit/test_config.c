/* Configuration: defaults, drop-ins, secrets, and an exact
 * "file:line: [section] key: what" message for every error. */
#include "unit.h"
#include "dc09.h"
#include "inbox.h"
#include "util.h"

#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* BASE_CONFIG (unit.h) is lines 1–10; what a test appends starts at line 11. */

#define MINIMAL \
        "[hub]\nid = qz-doutan-0312\n" \
        "[resident]\nname = Ye\naddress = Doutan 3-2-301\n" \
        "[dispatch]\nurl = http://127.0.0.1:9/x\n" \
        "[sensor kitchen_smoke]\nkind = smoke\nroom = kitchen\ntopic = zigbee2mqtt/kitchen_smoke\n"

static struct errors load_bad(const char *text) {
        struct errors e = { .n = 0 };
        struct config *c = NULL;

        ck_assert_int_eq(load_full_string("bad.conf", text, &e, &c), -EINVAL);
        ck_assert_ptr_null(c);
        ck_assert_int_ge(e.n, 1);
        return e;
}

/* unit.h's load_ok prepends BASE_CONFIG; this one loads text as it is. */
static struct config *load_ok_text(const char *text) {
        struct errors e = { .n = 0 };
        struct config *c = NULL;
        int r = load_full_string("ok.conf", text, &e, &c);

        ck_assert_msg(r == 0, "%s: %s", text, e.n ? e.msgs[0] : "?");
        return c;
}

static bool has(const struct errors *e, const char *want) {
        for (int i = 0; i < e->n; i++)
                if (strstr(e->msgs[i], want))
                        return true;
        return false;
}

static bool starts(const char *s, const char *prefix) {
        return strncmp(s, prefix, strlen(prefix)) == 0;
}

static void dump(const struct errors *e) {
        for (int i = 0; i < e->n; i++)
                fprintf(stderr, "  got: %s\n", e->msgs[i]);
}

/* Exactly one message, and it is want. */
#define ASSERT_ONLY_ERROR(text, want) do { \
        struct errors e_ = load_bad(text); \
        if (e_.n != 1 || strcmp(e_.msgs[0], want) != 0) dump(&e_); \
        ck_assert_int_eq(e_.n, 1); \
        ck_assert_str_eq(e_.msgs[0], want); \
} while (0)

/* Some message contains want. */
#define ASSERT_ERROR(text, want) do { \
        struct errors e_ = load_bad(text); \
        if (!has(&e_, want)) dump(&e_); \
        ck_assert_msg(has(&e_, want), "no message contains \"%s\"", want); \
} while (0)

START_TEST(test_config_minimal_file_loads_with_defaults) {
        struct errors e = { .n = 0 };
        struct config *c = NULL;
        const struct sensor_conf *s;

        ck_assert_int_eq(config_load_string("anju.conf", MINIMAL, collect_error, &e, &c), 0);
        ck_assert_int_eq(e.n, 0);
        ck_assert_str_eq(c->hub.id, "qz-doutan-0312");
        ck_assert_str_eq(c->resident.address, "Doutan 3-2-301");
        ck_assert_int_eq(c->hub.language, LANG_ZH_CN);
        ck_assert_int_eq(c->resident.risk, RISK_STANDARD);
        ck_assert_str_eq(c->mqtt.host, "127.0.0.1");
        ck_assert_uint_eq(c->mqtt.port, 1883);
        ck_assert_uint_eq(c->mqtt.keepalive, 60 * USEC_PER_SEC);
        ck_assert_uint_eq(c->dispatch.heartbeat_interval, 90 * USEC_PER_SEC);
        ck_assert(!c->dispatch.insecure);
        ck_assert_ptr_null(c->dispatch.token);
        ck_assert_uint_eq(c->n_sensors, 1);
        ck_assert_int_eq(config_find_sensor(c, "kitchen_smoke"), 0);
        ck_assert_int_eq(config_find_sensor(c, "nope"), -1);
        s = &c->sensors[0];
        ck_assert_int_eq(s->kind, SENSOR_SMOKE);
        ck_assert_str_eq(s->room, "kitchen");
        ck_assert_str_eq(s->availability_topic, "zigbee2mqtt/kitchen_smoke/availability");
        ck_assert_str_eq(s->keys[ATTR_SMOKE], "smoke");
        ck_assert_str_eq(s->keys[ATTR_BATTERY], "battery");
        ck_assert_str_eq(s->keys[ATTR_BATTERY_LOW], "battery_low");
        ck_assert_str_eq(s->keys[ATTR_TAMPER], "tamper");
        ck_assert_ptr_null(s->keys[ATTR_MOTION]);
        ck_assert_ptr_null(s->keys[ATTR_DOOR_OPEN]);
        ck_assert_uint_eq(s->supervision, USEC_PER_HOUR);
        ck_assert_int_eq(s->gpio_line, -1);
        ck_assert_str_eq(s->file, "anju.conf");
        ck_assert_uint_eq(s->line, 8);
        config_free(c);
}
END_TEST

START_TEST(test_config_default_keys_follow_the_sensor_kind) {
        struct config *c = load_ok("[sensor d]\nkind = door\ntopic = z/d\n"
                                   "[sensor p]\nkind = motion\ntopic = z/p\n"
                                   "[sensor w]\nkind = water\ntopic = z/w\n"
                                   "[sensor b]\nkind = button\ntopic = z/b\n"
                                   "[sensor band]\nkind = wristband\ntopic = band/ye\n");

        ck_assert_str_eq(c->sensors[0].keys[ATTR_DOOR_OPEN], "contact");
        ck_assert_ptr_null(c->sensors[0].keys[ATTR_SMOKE]);
        ck_assert_str_eq(c->sensors[1].keys[ATTR_MOTION], "occupancy");
        ck_assert_str_eq(c->sensors[2].keys[ATTR_WATER_LEAK], "water_leak");
        ck_assert_str_eq(c->sensors[3].keys[ATTR_ACTION], "action");
        ck_assert_str_eq(c->sensors[4].keys[ATTR_HEART_RATE], "heart_rate");
        ck_assert_str_eq(c->sensors[4].keys[ATTR_SOS], "sos");
        ck_assert_str_eq(c->sensors[4].keys[ATTR_FALL], "fall");
        ck_assert_uint_eq(c->sensors[4].supervision, 10 * USEC_PER_MIN);
        config_free(c);
}
END_TEST

START_TEST(test_config_explicit_values_replace_defaults) {
        struct config *c = load_ok("[mqtt]\nport = 8883\nkeepalive = 30s\nhost = \"broker.lan\"\n"
                                   "[sensor k]\nkind = smoke\ntopic = z/k\navailability_topic = z/k/avail\n"
                                   "key = state.alarm\nsupervision = 2h\ninvert = yes\n");

        ck_assert_uint_eq(c->mqtt.port, 8883);
        ck_assert_uint_eq(c->mqtt.keepalive, 30 * USEC_PER_SEC);
        ck_assert_str_eq(c->mqtt.host, "broker.lan");   /* quotes stripped */
        ck_assert_int_eq(c->hub.language, LANG_EN);
        ck_assert_str_eq(c->hub.timezone, "Asia/Shanghai");
        ck_assert_str_eq(c->sensors[0].availability_topic, "z/k/avail");
        ck_assert_str_eq(c->sensors[0].keys[ATTR_SMOKE], "state.alarm");
        ck_assert_uint_eq(c->sensors[0].supervision, 2 * USEC_PER_HOUR);
        ck_assert(c->sensors[0].invert);
        config_free(c);
}
END_TEST

START_TEST(test_config_unknown_key_is_an_error_with_file_and_line) {
        ASSERT_ONLY_ERROR(BASE_CONFIG "[sensor k]\nkind = smoke\ntopic = t\ncolour = red\n",
                          "bad.conf:14: [sensor k] colour: unknown key");
}
END_TEST

START_TEST(test_config_unknown_section_is_an_error_listing_the_sections) {
        ASSERT_ONLY_ERROR(BASE_CONFIG "[sensors]\nx = 1\n",
                          "bad.conf:11: unknown section [sensors]: expected [hub], [resident], [mqtt], "
                          "[dispatch], [sensor ID], [contact ID], [rule NAME], [escalation SEVERITY] or [receiver NAME]");
}
END_TEST

START_TEST(test_config_unknown_kind_lists_the_valid_kinds) {
        ASSERT_ONLY_ERROR(BASE_CONFIG "[sensor kitchen]\nkind = smok\ntopic = t\n",
                          "bad.conf:12: [sensor kitchen] kind: \"smok\" is not one of smoke, motion, door, "
                          "wristband, button, power, water, siren, relay, presence, fall, bed");
}
END_TEST

START_TEST(test_config_duration_without_unit_is_an_error) {
        ASSERT_ONLY_ERROR(BASE_CONFIG "[mqtt]\nkeepalive = 60\n",
                          "bad.conf:12: [mqtt] keepalive: \"60\" is not a duration from 5s to 1h 00min "
                          "(with a unit: ms, s, m, h, d)");
}
END_TEST

START_TEST(test_config_out_of_range_port_is_an_error) {
        ASSERT_ONLY_ERROR(BASE_CONFIG "[mqtt]\nport = 70000\n",
                          "bad.conf:12: [mqtt] port: \"70000\" is not a whole number from 1 to 65535");
}
END_TEST

START_TEST(test_config_duplicate_sensor_id_says_where_it_was_first_declared) {
        ASSERT_ONLY_ERROR(BASE_CONFIG "[sensor a]\nkind = smoke\ntopic = t\n[sensor a]\nkind = smoke\ntopic = u\n",
                          "bad.conf:14: duplicate sensor id \"a\" (first declared at bad.conf:11)");
}
END_TEST

START_TEST(test_config_sensor_without_source_is_an_error) {
        ASSERT_ONLY_ERROR(BASE_CONFIG "[sensor a]\nkind = smoke\nroom = kitchen\n",
                          "bad.conf:11: [sensor a] has no source: set topic (MQTT) or gpio_chip and gpio_line");
}
END_TEST

START_TEST(test_config_key_set_twice_in_one_section_is_an_error) {
        ASSERT_ONLY_ERROR(BASE_CONFIG "[sensor a]\nkind = smoke\ntopic = t\ntopic = u\n",
                          "bad.conf:14: [sensor a] topic: set twice in this section");
}
END_TEST

START_TEST(test_config_value_key_set_twice_in_one_section_is_an_error) {
        /* "key" and "key_<attr>" are keys like any other: a second one must
         * not silently win. */
        ASSERT_ERROR(BASE_CONFIG "[sensor a]\nkind = smoke\ntopic = t\nkey = state.alarm\nkey = smoke\n",
                     "bad.conf:15: [sensor a] key: set twice in this section");
        ASSERT_ERROR(BASE_CONFIG "[sensor b]\nkind = wristband\ntopic = t\nkey_heart_rate = hr\n"
                     "key_heart_rate = vitals.hr\n",
                     "bad.conf:15: [sensor b] key_heart_rate: set twice in this section");
}
END_TEST

START_TEST(test_config_plain_http_to_a_remote_host_is_refused) {
        ASSERT_ONLY_ERROR("[hub]\nid = h\n[resident]\nname = a\naddress = b\n[dispatch]\nurl = http://example.org/x\n",
                          "bad.conf:7: [dispatch] url: \"http://example.org/x\" must be https:// "
                          "(http:// only to 127.0.0.1, ::1 or localhost)");
        ASSERT_ONLY_ERROR(BASE_CONFIG "fallback_url = http://10.0.0.1/x\n",
                          "bad.conf:11: [dispatch] fallback_url: \"http://10.0.0.1/x\" must be https:// "
                          "(http:// only to 127.0.0.1, ::1 or localhost)");
}
END_TEST

START_TEST(test_config_https_and_loopback_http_urls_are_accepted) {
        static const char *const ok[] = {
                "https://dispatch.example.org/api/v1/alarms", "http://127.0.0.1:8080/a",
                "http://localhost:9/x", "http://localhost/x", "http://[::1]:9/x",
        };
        char text[1024];

        for (size_t i = 0; i < ELEMENTSOF(ok); i++) {
                snprintf(text, sizeof text, "[hub]\nid = h\n[resident]\nname = a\naddress = b\n"
                         "[dispatch]\nurl = %s\n", ok[i]);
                config_free(load_ok_text(text));
        }
}
END_TEST

START_TEST(test_config_http_to_a_host_that_only_looks_like_loopback_is_refused) {
        /* "127.example.org" is a DNS name, "localhost:x@" is userinfo: both send
         * the alarm in clear text to a remote host. */
        ASSERT_ERROR("[hub]\nid = h\n[resident]\nname = a\naddress = b\n[dispatch]\nurl = http://127.example.org/x\n",
                     "bad.conf:7: [dispatch] url: \"http://127.example.org/x\" must be https://");
        ASSERT_ERROR("[hub]\nid = h\n[resident]\nname = a\naddress = b\n[dispatch]\nurl = http://localhost:pw@example.org/x\n",
                     "bad.conf:7: [dispatch] url: \"http://localhost:pw@example.org/x\" must be https://");
}
END_TEST

START_TEST(test_config_line_longer_than_the_limit_is_an_error) {
        char text[2048], longv[400];

        memset(longv, 'x', sizeof longv - 1);
        longv[sizeof longv - 1] = '\0';
        snprintf(text, sizeof text, BASE_CONFIG "[sensor a]\nkind = smoke\ntopic = %s\ncolour = red\n", longv);
        struct errors e = load_bad(text);
        if (e.n != 2)
                dump(&e);
        ck_assert_int_eq(e.n, 2);
        ck_assert_msg(starts(e.msgs[0], "bad.conf:13: [sensor a] line is longer than "), "%s", e.msgs[0]);
        ck_assert_str_eq(e.msgs[1], "bad.conf:14: [sensor a] colour: unknown key");
}
END_TEST

START_TEST(test_config_very_long_line_is_one_error_and_later_lines_keep_their_numbers) {
        static char text[16384];
        static char longv[6000];

        memset(longv, 'x', sizeof longv - 1);
        snprintf(text, sizeof text, BASE_CONFIG "[sensor a]\nkind = smoke\ntopic = %s\ncolour = red\n", longv);
        struct errors e = load_bad(text);
        if (e.n != 2)
                dump(&e);
        ck_assert_int_eq(e.n, 2);
        ck_assert_msg(starts(e.msgs[0], "bad.conf:13: [sensor a] line is longer than "), "%s", e.msgs[0]);
        ck_assert_str_eq(e.msgs[1], "bad.conf:14: [sensor a] colour: unknown key");
}
END_TEST

START_TEST(test_config_syntax_error_names_the_line) {
        ASSERT_ONLY_ERROR(BASE_CONFIG "[sensor a]\nkind = smoke\ntopic = t\nthis is not a setting\n",
                          "bad.conf:14: syntax error: expected \"[section]\", \"key = value\" or a comment");
}
END_TEST

START_TEST(test_config_every_syntax_error_line_is_reported) {
        struct errors e = load_bad(BASE_CONFIG "[sensor a]\nkind = smoke\ntopic = t\njunk one\nroom = x\njunk two\n");

        if (e.n != 2)
                dump(&e);
        ck_assert(has(&e, "bad.conf:14: syntax error"));
        ck_assert(has(&e, "bad.conf:16: syntax error"));
        ck_assert_int_eq(e.n, 2);
}
END_TEST

START_TEST(test_config_setting_outside_a_section_is_an_error) {
        ASSERT_ONLY_ERROR("port = 1\n" BASE_CONFIG, "bad.conf:1: \"port\" outside of any section");
}
END_TEST

START_TEST(test_config_missing_resident_address_is_an_error) {
        ASSERT_ONLY_ERROR("[hub]\nid = h\n[resident]\nname = Ye\n[dispatch]\nurl = https://d.example/x\n",
                          "bad.conf:3: [resident] address: missing: the dispatch center must know where to go");
}
END_TEST

START_TEST(test_config_missing_key_error_names_the_line_of_its_section) {
        /* The operator needs a line to go to: the [resident] header, line 3. */
        ASSERT_ONLY_ERROR("[hub]\nid = h\n[resident]\nname = Ye\n[dispatch]\nurl = https://d.example/x\n",
                          "bad.conf:3: [resident] address: missing: the dispatch center must know where to go");
}
END_TEST

START_TEST(test_config_output_without_gpio_is_an_error) {
        ASSERT_ERROR(BASE_CONFIG "[sensor siren1]\nkind = siren\nroom = hall\n",
                     "bad.conf:11: [sensor siren1] has no source: set topic (MQTT) or gpio_chip and gpio_line");
        ASSERT_ERROR(BASE_CONFIG "[sensor siren1]\nkind = siren\ntopic = z/siren\n",
                     "bad.conf:11: [sensor siren1] kind: siren is an output and needs gpio_chip and gpio_line");
}
END_TEST

START_TEST(test_config_insecure_must_be_spelled_out) {
        struct config *c;

        ASSERT_ONLY_ERROR("[hub]\nid = h\n[resident]\nname = a\naddress = b\n[dispatch]\nurl = https://d.example/x\n"
                          "insecure = yes\n",
                          "bad.conf:8: [dispatch] insecure: \"yes\" must be spelled out: true (TLS verification off, "
                          "for a test rig only) or false");
        ASSERT_ONLY_ERROR("[hub]\nid = h\n[resident]\nname = a\naddress = b\n[dispatch]\nurl = https://d.example/x\n"
                          "insecure = 1\n",
                          "bad.conf:8: [dispatch] insecure: \"1\" must be spelled out: true (TLS verification off, "
                          "for a test rig only) or false");
        c = load_ok_text("[hub]\nid = h\n[resident]\nname = a\naddress = b\n[dispatch]\nurl = https://d.example/x\n"
                         "insecure = true\n");
        ck_assert(c->dispatch.insecure);
        config_free(c);
}
END_TEST

START_TEST(test_config_relay_may_be_a_gpio_line_or_a_smart_plug) {
        struct config *c = load_ok("[sensor plug]\nkind = relay\ntopic = zigbee2mqtt/charger_plug\n"
                                   "[sensor r]\nkind = relay\ngpio_chip = gpiochip0\ngpio_line = 27\n");
        const struct sensor_conf *plug = &c->sensors[config_find_sensor(c, "plug")];
        const struct sensor_conf *r = &c->sensors[config_find_sensor(c, "r")];

        ck_assert(config_sensor_is_output(plug) && config_sensor_is_output(r));
        ck_assert(!config_sensor_is_gpio_input(plug) && !config_sensor_is_gpio_input(r));
        ck_assert_str_eq(plug->topic, "zigbee2mqtt/charger_plug");
        ck_assert_str_eq(r->gpio_chip, "gpiochip0");
        ck_assert_int_eq(r->gpio_line, 27);
        config_free(c);
}
END_TEST

START_TEST(test_config_gpio_sensor_loads_with_its_line_settings) {
        struct config *c = load_ok("[sensor front_door]\nkind = door\nroom = hall\ngpio_chip = gpiochip0\n"
                                   "gpio_line = 17\nactive_low = true\nbias = pull-up\n"
                                   "[sensor sos]\nkind = button\ngpio_chip = /dev/gpiochip1\ngpio_line = 4\n"
                                   "role = cancel\ndebounce = 80ms\n");
        const struct sensor_conf *d = &c->sensors[config_find_sensor(c, "front_door")];
        const struct sensor_conf *b = &c->sensors[config_find_sensor(c, "sos")];

        ck_assert(config_sensor_is_gpio_input(d) && config_sensor_is_gpio_input(b));
        ck_assert_ptr_null(d->topic);
        ck_assert_ptr_null(d->availability_topic);
        ck_assert_int_eq(d->gpio_line, 17);
        ck_assert(d->active_low);
        ck_assert_int_eq(d->bias, BIAS_PULL_UP);
        ck_assert_uint_eq(d->debounce, 30 * USEC_PER_MSEC);
        ck_assert_int_eq(b->role, BUTTON_CANCEL);
        ck_assert_uint_eq(b->debounce, 80 * USEC_PER_MSEC);
        ck_assert(!b->active_low);
        ck_assert_uint_eq(c->hub.gpio_supervision, 30 * USEC_PER_SEC);
        config_free(c);
        ASSERT_ONLY_ERROR("[hub]\nid = h\ngpio_supervision = 500ms\n[resident]\nname = a\naddress = b\n"
                          "[dispatch]\nurl = https://d.example/x\n",
                          "bad.conf:3: [hub] gpio_supervision: \"500ms\" is not a duration from 1s to 1h 00min "
                          "(with a unit: ms, s, m, h, d)");
}
END_TEST

START_TEST(test_config_gpio_needs_chip_and_line_and_no_wristband) {
        ASSERT_ONLY_ERROR(BASE_CONFIG "[sensor d]\nkind = door\ngpio_line = 17\n",
                          "bad.conf:11: [sensor d] gpio_chip: missing: gpio_line needs the chip it is on (e.g. gpiochip0)");
        ASSERT_ONLY_ERROR(BASE_CONFIG "[sensor d]\nkind = door\ngpio_chip = gpiochip0\n",
                          "bad.conf:11: [sensor d] gpio_line: missing: gpio_chip needs the line offset on it (e.g. 17)");
        ASSERT_ONLY_ERROR(BASE_CONFIG "[sensor band]\nkind = wristband\ngpio_chip = gpiochip0\ngpio_line = 3\n",
                          "bad.conf:11: [sensor band] gpio_chip: a wristband reports over MQTT: set topic");
        ASSERT_ONLY_ERROR(BASE_CONFIG "[sensor d]\nkind = door\ngpio_chip = gpiochip0\ngpio_line = 3\n"
                          "bias = pullup\n",
                          "bad.conf:15: [sensor d] bias: \"pullup\" is not one of as-is, disable, pull-up, pull-down");
}
END_TEST

START_TEST(test_config_unknown_time_zone_is_an_error) {
        ASSERT_ONLY_ERROR("[hub]\nid = h\ntimezone = Asia/Shanghia\n[resident]\nname = a\naddress = b\n"
                          "[dispatch]\nurl = https://d.example/x\n",
                          "bad.conf:3: [hub] timezone: \"Asia/Shanghia\" is not a known time zone (is tzdata installed?)");
        ASSERT_ERROR("[hub]\nid = h\ntimezone = ../../etc/passwd\n[resident]\nname = a\naddress = b\n"
                     "[dispatch]\nurl = https://d.example/x\n",
                     "bad.conf:3: [hub] timezone: \"../../etc/passwd\" is not a known time zone");
}
END_TEST

START_TEST(test_config_bad_values_of_every_type_are_errors) {
        ASSERT_ONLY_ERROR(BASE_CONFIG "[sensor a]\nkind = smoke\ntopic = t\ninvert = maybe\n",
                          "bad.conf:14: [sensor a] invert: \"maybe\" is not a boolean (true or false)");
        ASSERT_ONLY_ERROR(BASE_CONFIG "[sensor a]\nkind = smoke\ntopic = zigbee2mqtt/#\n",
                          "bad.conf:13: [sensor a] topic: \"zigbee2mqtt/#\" must be a plain topic without wildcards");
        ASSERT_ONLY_ERROR(BASE_CONFIG "[sensor bad/id]\nkind = smoke\ntopic = t\n",
                          "bad.conf:11: id \"bad/id\" must be letters, digits, '_', '-' or '.'");
        ASSERT_ONLY_ERROR(BASE_CONFIG "[sensor a]\nkind = smoke\ntopic = t\nkey_colour = c\n",
                          "bad.conf:14: [sensor a] key_colour: unknown attribute \"colour\"");
}
END_TEST

START_TEST(test_config_several_errors_in_one_file_are_all_reported) {
        struct errors e = load_bad(BASE_CONFIG
                                   "[mqtt]\n"                   /* 11 */
                                   "port = 0\n"                 /* 12 */
                                   "keepalive = 10\n"           /* 13 */
                                   "[sensor a]\n"               /* 14 */
                                   "kind = smok\n"              /* 15 */
                                   "topic = t\n"                /* 16 */
                                   "colour = red\n"             /* 17 */
                                   "[sensor b]\n"               /* 18 */
                                   "kind = door\n"              /* 19 */
                                   "active_low = perhaps\n");   /* 20 */

        if (e.n != 5)
                dump(&e);
        ck_assert_int_eq(e.n, 5);
        ck_assert(starts(e.msgs[0], "bad.conf:12: [mqtt] port: "));
        ck_assert(starts(e.msgs[1], "bad.conf:13: [mqtt] keepalive: "));
        ck_assert(starts(e.msgs[2], "bad.conf:15: [sensor a] kind: "));
        ck_assert_str_eq(e.msgs[3], "bad.conf:17: [sensor a] colour: unknown key");
        ck_assert(starts(e.msgs[4], "bad.conf:20: [sensor b] active_low: "));
}
END_TEST

START_TEST(test_config_without_error_callback_still_fails) {
        struct config *c = (struct config *) 0x1;

        ck_assert_int_eq(config_load_string("x.conf", "[nope]\n", NULL, NULL, &c), -EINVAL);
        ck_assert_ptr_eq(c, (struct config *) 0x1);
}
END_TEST

/* Files in a fresh directory per test under root; the parent process
 * removes root after the last test, so failing tests leave nothing behind. */
static char root[64], dir[96];

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(p);
}

static void root_setup(void) {
        snprintf(root, sizeof root, "/tmp/anju-config-XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(root));
}

static void root_teardown(void) {
        (void) nftw(root, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

static void dir_setup(void) {
        snprintf(dir, sizeof dir, "%s/XXXXXX", root);
        ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void write_file(const char *name, const char *text) {
        char p[256];
        FILE *f;

        snprintf(p, sizeof p, "%s/%s", dir, name);
        f = fopen(p, "w");
        ck_assert_ptr_nonnull(f);
        fputs(text, f);
        ck_assert_int_eq(fclose(f), 0);
}

static int load_dir(struct errors *e, struct config **c) {
        char p[256];

        snprintf(p, sizeof p, "%s/anju.conf", dir);
        return config_load(p, collect_error, e, c);
}

START_TEST(test_config_dropin_overrides_mqtt_and_adds_a_sensor) {
        char p[256];
        struct errors e = { .n = 0 };
        struct config *c = NULL;

        write_file("anju.conf", MINIMAL "[mqtt]\nport = 1883\nhost = 10.0.0.2\n");
        snprintf(p, sizeof p, "%s/conf.d", dir);
        ck_assert_int_eq(mkdir(p, 0755), 0);
        write_file("conf.d/10-more.conf", "[mqtt]\nport = 8883\n[sensor front_door]\nkind = door\ntopic = z/door\n");
        write_file("conf.d/30-ignored.txt", "this is not ini at all\n");
        ck_assert_int_eq(load_dir(&e, &c), 0);
        ck_assert_int_eq(e.n, 0);
        ck_assert_uint_eq(c->mqtt.port, 8883);
        ck_assert_str_eq(c->mqtt.host, "10.0.0.2");
        ck_assert_uint_eq(c->n_sensors, 2);
        ck_assert_int_eq(config_find_sensor(c, "front_door"), 1);
        ck_assert_str_eq(c->sensors[1].keys[ATTR_DOOR_OPEN], "contact");
        snprintf(p, sizeof p, "%s/conf.d/10-more.conf", dir);
        ck_assert_str_eq(c->sensors[1].file, p);
        ck_assert_uint_eq(c->sensors[1].line, 3);
        config_free(c);
}
END_TEST

START_TEST(test_config_dropin_redeclaring_a_sensor_names_both_files) {
        char p[256], want[600];
        struct errors e = { .n = 0 };
        struct config *c = NULL;

        write_file("anju.conf", MINIMAL);
        snprintf(p, sizeof p, "%s/conf.d", dir);
        ck_assert_int_eq(mkdir(p, 0755), 0);
        write_file("conf.d/20-dup.conf", "; again\n[sensor kitchen_smoke]\nkind = smoke\ntopic = z/k2\n");
        ck_assert_int_eq(load_dir(&e, &c), -EINVAL);
        ck_assert_ptr_null(c);
        ck_assert_int_ge(e.n, 1);
        snprintf(want, sizeof want, "%s/conf.d/20-dup.conf:2: duplicate sensor id \"kitchen_smoke\" "
                 "(first declared at %s/anju.conf:8)", dir, dir);
        ck_assert_str_eq(e.msgs[0], want);
}
END_TEST

START_TEST(test_config_missing_main_file_is_enoent) {
        struct errors e = { .n = 0 };
        struct config *c = NULL;

        ck_assert_int_eq(load_dir(&e, &c), -ENOENT);
        ck_assert_ptr_null(c);
        ck_assert_int_eq(e.n, 1);
        ck_assert_ptr_nonnull(strstr(e.msgs[0], "anju.conf: cannot open configuration: No such file"));
}
END_TEST

START_TEST(test_config_missing_token_file_is_an_error_naming_the_key) {
        ASSERT_ONLY_ERROR(BASE_CONFIG "token_file = /nonexistent/anju/dispatch.token\n",
                          "bad.conf:11: [dispatch] token_file: \"/nonexistent/anju/dispatch.token\" "
                          "cannot read it: No such file or directory");
}
END_TEST

START_TEST(test_config_token_file_is_read_without_its_trailing_newline) {
        char text[512];
        struct config *c;

        write_file("token", "s3cr3t-t0ken\n");
        snprintf(text, sizeof text, "token_file = %s/token\n", dir);
        c = load_ok(text);
        ck_assert_ptr_nonnull(c->dispatch.token);
        ck_assert_str_eq(c->dispatch.token, "s3cr3t-t0ken");
        config_free(c);
}
END_TEST

/* The sample's "token_file = dispatch.token": under systemd a credential,
 * by hand (anjud --check-config on the gateway) the file beside anju.conf,
 * wherever the command is run from. */
START_TEST(test_config_a_bare_secret_name_is_a_credential_or_beside_the_config) {
        struct errors e = { .n = 0 };
        struct config *c = NULL;
        char creds[300];

        write_file("anju.conf", MINIMAL "[dispatch]\ntoken_file = dispatch.token\n");
        write_file("dispatch.token", "beside-the-config\n");
        unsetenv("CREDENTIALS_DIRECTORY");
        ck_assert_int_eq(chdir("/"), 0);
        ck_assert_int_eq(load_dir(&e, &c), 0);
        ck_assert_int_eq(config_load_secrets(c, collect_error, NULL, &e), 0);
        ck_assert_str_eq(c->dispatch.token, "beside-the-config");
        config_free(c);
        snprintf(creds, sizeof creds, "%s/creds", dir);
        ck_assert_int_eq(mkdir(creds, 0700), 0);
        write_file("creds/dispatch.token", "from-systemd\n");
        setenv("CREDENTIALS_DIRECTORY", creds, 1);
        ck_assert_int_eq(load_dir(&e, &c), 0);
        ck_assert_int_eq(config_load_secrets(c, collect_error, NULL, &e), 0);
        ck_assert_str_eq(c->dispatch.token, "from-systemd");
        unsetenv("CREDENTIALS_DIRECTORY");
        config_free(c);
}
END_TEST

START_TEST(test_config_empty_token_file_is_an_error) {
        char text[512];
        struct errors e;

        write_file("token", "\n");
        snprintf(text, sizeof text, BASE_CONFIG "token_file = %s/token\n", dir);
        e = load_bad(text);
        ck_assert_int_eq(e.n, 1);
        ck_assert_ptr_nonnull(strstr(e.msgs[0], "[dispatch] token_file: "));
        ck_assert_ptr_nonnull(strstr(e.msgs[0], "file is empty"));
}
END_TEST

/* Issue 18: a signing key anyone could guess is refused; a secret others
 * may read, or a symbolic link, is named in a warning (the hub still
 * starts: the file is the installer's to fix). */
START_TEST(test_config_short_signing_key_is_refused_and_loose_secrets_are_warned_about) {
        struct errors e = { .n = 0 }, w = { .n = 0 };
        struct config *c = NULL;
        char text[1024], p[256], target[256];

        write_file("short.key", "k\n");
        snprintf(text, sizeof text, BASE_CONFIG "[contact wang]\nrole = volunteer\ntopic = t/wang\nkey_file = %s/short.key\n",
                 dir);
        ck_assert_int_eq(load_full_string("short.conf", text, &e, &c), -EINVAL);
        ck_assert_int_eq(e.n, 1);
        ck_assert_ptr_nonnull(strstr(e.msgs[0], "short.conf:14: [contact wang] key_file:"));
        ck_assert_ptr_nonnull(strstr(e.msgs[0], "a key of 1 bytes: a signing key needs at least 16"));

        write_file("loose.key", "0123456789abcdef0123\n");
        snprintf(p, sizeof p, "%s/loose.key", dir);
        ck_assert_int_eq(chmod(p, 0644), 0);
        snprintf(target, sizeof target, "%s/link.token", dir);
        ck_assert_int_eq(symlink(p, target), 0);
        snprintf(text, sizeof text, BASE_CONFIG "token_file = %s/link.token\n"
                 "[contact wang]\nrole = volunteer\ntopic = t/wang\nkey_file = %s/loose.key\n", dir, dir);
        e.n = 0;
        ck_assert_int_eq(config_load_string("loose.conf", text, collect_error, &e, &c), 0);
        ck_assert_int_eq(config_load_secrets(c, collect_error, collect_error, &w), 0);
        ck_assert_int_eq(w.n, 2);
        ck_assert_ptr_nonnull(strstr(w.msgs[0], "loose.conf:11: [dispatch] token_file:"));
        ck_assert_ptr_nonnull(strstr(w.msgs[0], "is a symbolic link"));
        ck_assert_ptr_nonnull(strstr(w.msgs[1], "loose.conf:15: [contact wang] key_file:"));
        ck_assert_ptr_nonnull(strstr(w.msgs[1], "mode 0644"));
        ck_assert_uint_eq(c->contacts[0].key_len, 20);
        config_free(c);
        /* The same files, private: no warning. */
        ck_assert_int_eq(chmod(p, 0600), 0);
        ck_assert_int_eq(unlink(target), 0);
        snprintf(text, sizeof text, BASE_CONFIG "[contact wang]\nrole = volunteer\ntopic = t/wang\nkey_file = %s/loose.key\n",
                 dir);
        w.n = 0;
        ck_assert_int_eq(config_load_string("tight.conf", text, collect_error, &e, &c), 0);
        ck_assert_int_eq(config_load_secrets(c, collect_error, collect_error, &w), 0);
        ck_assert_int_eq(w.n, 0);
        config_free(c);
}
END_TEST

/* anjuctl loads the file to find the socket: it never reads a secret. */
START_TEST(test_config_load_reads_no_secret_file) {
        struct errors e = { .n = 0 };
        struct config *c = NULL;
        char text[1024];

        snprintf(text, sizeof text, BASE_CONFIG "token_file = %s/none.token\n[hub]\nctl_socket = /run/x.sock\n", dir);
        ck_assert_int_eq(config_load_string("ctl.conf", text, collect_error, &e, &c), 0);
        ck_assert_ptr_null(c->dispatch.token);
        ck_assert_str_eq(c->hub.ctl_socket, "/run/x.sock");
        ck_assert_int_eq(config_load_secrets(c, collect_error, NULL, &e), -EINVAL);
        ck_assert_ptr_nonnull(strstr(e.msgs[0], "none.token\" cannot read it"));
        config_free(c);
}
END_TEST

START_TEST(test_config_file_with_a_very_long_line_keeps_later_line_numbers) {
        static char text[16384];
        static char longv[6000];
        struct errors e = { .n = 0 };
        struct config *c = NULL;
        char p[256];

        memset(longv, 'x', sizeof longv - 1);
        snprintf(text, sizeof text, BASE_CONFIG "[sensor a]\nkind = smoke\nroom = %s\ncolour = red\ntopic = t\n", longv);
        write_file("anju.conf", text);
        ck_assert_int_eq(load_dir(&e, &c), -EINVAL);
        if (e.n != 2)
                dump(&e);
        ck_assert_int_eq(e.n, 2);
        snprintf(p, sizeof p, "%s/anju.conf:14: [sensor a] colour: unknown key", dir);
        ck_assert_str_eq(e.msgs[1], p);
}
END_TEST


/* --- [rule X] and risk profiles ------------------------------------------ */

START_TEST(test_config_risk_profile_sets_the_rule_defaults) {
        struct config *c = load_ok("");         /* BASE_CONFIG: risk not set = standard */

        ck_assert_uint_eq(c->rules.day_limit, 4 * USEC_PER_HOUR);
        ck_assert_uint_eq(c->rules.night_limit, 12 * USEC_PER_HOUR);
        ck_assert(!c->rules.night_exit);
        ck_assert_uint_eq(c->rules.fall_window, 30 * USEC_PER_SEC);
        ck_assert_uint_eq(c->rules.morning_by, 10 * 60);
        config_free(c);
        c = load_ok("[resident]\nrisk = high\n");
        ck_assert_uint_eq(c->rules.day_limit, 2 * USEC_PER_HOUR);
        ck_assert_uint_eq(c->rules.night_limit, 10 * USEC_PER_HOUR);
        ck_assert(c->rules.night_exit);
        ck_assert_uint_eq(c->rules.bathroom_limit, 30 * USEC_PER_MIN);
        config_free(c);
        c = load_ok("[resident]\nrisk = elevated\n");
        ck_assert_uint_eq(c->rules.day_limit, 3 * USEC_PER_HOUR);
        ck_assert(c->rules.night_exit);
        config_free(c);
}
END_TEST

START_TEST(test_config_rule_keys_override_the_profile_wherever_they_are) {
        /* The override comes before the risk tier in the file: it still wins,
         * and what it does not set still comes from the tier. */
        struct config *c = load_ok("[rule inactivity]\nday_limit = 90m\nday_start = 06:30\n"
                                   "[rule night_exit]\nenabled = false\n"
                                   "[rule vitals]\nheart_rate_low = 45\nsustain = 2m\n"
                                   "[resident]\nrisk = high\n");

        ck_assert_uint_eq(c->rules.day_limit, 90 * USEC_PER_MIN);
        ck_assert_uint_eq(c->rules.day_start, 6 * 60 + 30);
        ck_assert_uint_eq(c->rules.night_limit, 10 * USEC_PER_HOUR);
        ck_assert(!c->rules.night_exit);
        ck_assert_uint_eq(c->rules.hr_low, 45);
        ck_assert_uint_eq(c->rules.hr_high, 130);
        ck_assert_uint_eq(c->rules.vitals_sustain, 2 * USEC_PER_MIN);
        config_free(c);
}
END_TEST

/* anjud would refuse to start; --check-config must say so first. */
START_TEST(test_config_two_sensors_on_one_topic_is_an_error_naming_both) {
        ASSERT_ONLY_ERROR(BASE_CONFIG "[sensor a]\nkind = smoke\ntopic = z/x\n[sensor b]\nkind = motion\ntopic = z/x\n",
                          "bad.conf:14: [sensor b] topic z/x is also used by sensor a (bad.conf:11)");
        ASSERT_ONLY_ERROR(BASE_CONFIG "[sensor a]\nkind = smoke\ntopic = z/x\navailability_topic = z/#\n",
                          "bad.conf:14: [sensor a] availability_topic: \"z/#\" must be a plain topic without wildcards");
}
END_TEST

START_TEST(test_config_rule_errors_name_the_rule_the_key_and_the_range) {
        ASSERT_ONLY_ERROR(BASE_CONFIG "[rule inactivty]\nday_limit = 3h\n",
                          "bad.conf:11: unknown rule \"inactivty\": expected one of fall, inactivity, "
                          "morning_check, presence, night_exit, door_open, bathroom_dwell, vitals, "
                          "device_health, power, bed_exit, geofence");
        ASSERT_ONLY_ERROR(BASE_CONFIG "[rule fire]\ndelay = 1s\n",
                          "bad.conf:11: [rule fire] has no settings: it always raises at once");
        ASSERT_ONLY_ERROR(BASE_CONFIG "[rule fall]\nwindow = 2s\n",
                          "bad.conf:12: [rule fall] window: \"2s\" is not a duration from 5s to 5min 00s "
                          "(with a unit: ms, s, m, h, d)");
        ASSERT_ONLY_ERROR(BASE_CONFIG "[rule fall]\ncountdown = 20s\n",
                          "bad.conf:12: [rule fall] countdown: unknown key: [rule fall] has window");
        ASSERT_ONLY_ERROR(BASE_CONFIG "[rule inactivity]\nday_start = 7am\n",
                          "bad.conf:12: [rule inactivity] day_start: \"7am\" is not a time of day HH:MM");
        ASSERT_ONLY_ERROR(BASE_CONFIG "[rule vitals]\n\nheart_rate_low = 90\nheart_rate_high = 85\n",
                          "bad.conf:14: [rule vitals] heart_rate_high: must be above heart_rate_low (90)");
}
END_TEST

/* [rule geofence]: the zone from the file, strict about its center and
 * hours, on in the high profile (inert without a center), and every key
 * settable at run time like the other thresholds. */
START_TEST(test_config_geofence_keys_from_the_file_and_at_run_time) {
        struct config *c = load_ok("[resident]\nrisk = high\n");
        char old[64], err[512], buf[64];

        ck_assert(c->rules.geofence);                                   /* the high profile */
        ck_assert(c->rules.geo_center.lat == 0 && c->rules.geo_center.lon == 0);
        ck_assert_uint_eq(c->rules.geo_radius, 300);
        ck_assert_uint_eq(c->rules.geo_grace, 10 * USEC_PER_MIN);
        ck_assert_uint_eq(c->rules.geo_stale_after, 15 * USEC_PER_MIN);
        ck_assert_uint_eq(c->hub.location_retention, 7 * USEC_PER_DAY);
        ck_assert_int_eq(rule_setting_get(&c->rules, "geofence.hours", buf, sizeof buf), 0);
        ck_assert_str_eq(buf, "20:00-07:00");
        ck_assert_int_eq(rule_setting_set(&c->rules, "geofence.center", "31.230416, 121.473701", "ctl", old,
                                          sizeof old, err, sizeof err), 0);
        ck_assert_str_eq(old, "unset");
        ck_assert_int_eq(rule_setting_get(&c->rules, "geofence.center", buf, sizeof buf), 0);
        ck_assert_str_eq(buf, "31.230416,121.473701");
        ck_assert_int_eq(rule_setting_set(&c->rules, "geofence.hours", "always", "ctl", old, sizeof old, err,
                                          sizeof err), 0);
        ck_assert_int_eq(rule_setting_set(&c->rules, "geofence.radius", "5", "ctl", old, sizeof old, err,
                                          sizeof err), -EINVAL);
        ck_assert_int_eq(rule_setting_set(&c->rules, "geofence.hours", "22:00-22:05", "ctl", old, sizeof old, err,
                                          sizeof err), -EINVAL);                /* shorter than the grace */
        ck_assert_msg(strstr(err, "grace"), "%s", err);
        config_free(c);
        c = load_ok("");
        ck_assert(!c->rules.geofence);
        ck_assert_int_eq(rule_setting_set(&c->rules, "geofence.enabled", "true", "ctl", old, sizeof old, err,
                                          sizeof err), -EINVAL);                /* no center yet */
        ck_assert_msg(strstr(err, "center"), "%s", err);
        config_free(c);
        ASSERT_ONLY_ERROR(BASE_CONFIG "[rule geofence]\nenabled = true\n",
                          "bad.conf:12: [rule geofence] enabled: needs center (the home, \"lat,lon\" in WGS-84)");
}
END_TEST

/* Issue 16: a door marked critical rides the life-safety MQTT session with
 * the smoke detector; an ordinary door and motion ride the busy one. */
START_TEST(test_config_critical_puts_a_sensor_on_the_life_safety_session) {
        struct config *c = load_ok("[sensor smoke]\nkind = smoke\ntopic = z/smoke\n"
                                   "[sensor front]\nkind = door\ntopic = z/front\ncritical = true\n"
                                   "[sensor back]\nkind = door\ntopic = z/back\n"
                                   "[sensor hall]\nkind = motion\ntopic = z/hall\n");

        ck_assert_int_eq(inbox_sensor_lane(c, (uint32_t) config_find_sensor(c, "smoke")), LANE_SAFETY);
        ck_assert_int_eq(inbox_sensor_lane(c, (uint32_t) config_find_sensor(c, "front")), LANE_SAFETY);
        ck_assert_int_eq(inbox_sensor_lane(c, (uint32_t) config_find_sensor(c, "back")), LANE_BUSY);
        ck_assert_int_eq(inbox_sensor_lane(c, (uint32_t) config_find_sensor(c, "hall")), LANE_BUSY);
        config_free(c);
}
END_TEST

/* Issue 15: a DC-09 alarm receiving centre, with the issue's defaults. */
START_TEST(test_config_receiver_loads_with_the_issues_defaults_and_sensor_zones) {
        struct config *c = load_ok("[sensor smoke]\nkind = smoke\ntopic = z/smoke\n"
                                   "[sensor door]\nkind = door\ntopic = z/door\nzone = 12\n"
                                   "[sensor band]\nkind = wristband\ntopic = z/band\n"
                                   "[receiver arc]\nprotocol = dc09\nhost = 127.0.0.1\nport = 5100\naccount = 1234\n"
                                   "[escalation critical]\nladder = receiver:arc 0s, dispatch 0s\n");
        const struct receiver_conf *r;

        ck_assert_uint_eq(c->n_receivers, 1);
        r = &c->receivers[0];
        ck_assert_str_eq(r->id, "arc");
        ck_assert_int_eq(config_find_receiver(c, "arc"), 0);
        ck_assert_int_eq(config_find_receiver(c, "other"), -1);
        ck_assert_int_eq(r->transport, RECEIVER_TCP);
        ck_assert_int_eq(r->format, DC09_FORMAT_CID);
        ck_assert_uint_eq(r->supervision, 90 * USEC_PER_SEC);
        ck_assert_uint_eq(r->timeout, 10 * USEC_PER_SEC);
        ck_assert_uint_eq(r->test_interval, 24 * USEC_PER_HOUR);
        ck_assert_uint_eq(r->key_len, 0);
        ck_assert_int_eq(r->fallback_index, -1);
        /* zone: set, else the order in the file */
        ck_assert_uint_eq(c->sensors[0].zone, 1);
        ck_assert_uint_eq(c->sensors[1].zone, 12);
        ck_assert_uint_eq(c->sensors[2].zone, 3);
        ck_assert_uint_eq(c->escalation[SEVERITY_CRITICAL].n_steps, 2);
        ck_assert_int_eq(c->escalation[SEVERITY_CRITICAL].steps[0].target, TARGET_RECEIVER);
        ck_assert_uint_eq(c->escalation[SEVERITY_CRITICAL].steps[0].receiver, 0);
        ck_assert_int_eq(c->escalation[SEVERITY_CRITICAL].steps[1].target, TARGET_DISPATCH);
        config_free(c);
}
END_TEST

START_TEST(test_config_receiver_errors_name_file_line_and_key) {
        /* lines: 11 [receiver arc], 12 protocol, 13 host, 14 port, 15 account */
        ASSERT_ONLY_ERROR(BASE_CONFIG "[receiver arc]\nprotocol = dc09\nhost = 127.0.0.1\nport = 5100\naccount = 12\n",
                          "bad.conf:15: [receiver arc] account: \"12\" must be 3 to 16 hex digits");
        ASSERT_ONLY_ERROR(BASE_CONFIG "[receiver arc]\nprotocol = dc09\nhost = 127.0.0.1\nport = 5100\n"
                          "account = 1234\nformat = xml\n",
                          "bad.conf:16: [receiver arc] format: \"xml\" is not one of cid, sia");
        ASSERT_ONLY_ERROR(BASE_CONFIG "[receiver arc]\nprotocol = dc09\nhost = 127.0.0.1\nport = 5100\n"
                          "account = 1234\nline = 12G\n",
                          "bad.conf:16: [receiver arc] line: \"12G\" must be 1 to 6 hex digits");
        ASSERT_ONLY_ERROR(BASE_CONFIG "[receiver arc]\nhost = 127.0.0.1\nport = 5100\naccount = 1234\n",
                          "bad.conf:11: [receiver arc] protocol: missing: expected dc09");
        ASSERT_ONLY_ERROR(BASE_CONFIG "[receiver arc]\nprotocol = dc09\nhost = 127.0.0.1\nport = 5100\n"
                          "account = 1234\nfallback = arc2\n",
                          "bad.conf:11: [receiver arc] fallback: there is no [receiver arc2]");
        ASSERT_ERROR(BASE_CONFIG "[receiver arc]\nprotocol = dc09\nhost = 127.0.0.1\nport = 5100\naccount = 1234\n"
                     "[receiver arc]\n", "bad.conf:16: duplicate receiver \"arc\" (first declared at bad.conf:11)");
        ASSERT_ONLY_ERROR(BASE_CONFIG "[escalation urgent]\nladder = receiver:nowhere 0s\n",
                          "bad.conf: [escalation urgent] ladder: \"receiver:nowhere\": there is no [receiver nowhere]");
        ASSERT_ONLY_ERROR(BASE_CONFIG "[sensor a]\nkind = smoke\ntopic = z/a\nzone = 2\n"
                          "[sensor b]\nkind = smoke\ntopic = z/b\n",
                          "bad.conf:15: [sensor b] zone: zone 2 is also sensor a's (bad.conf:11); "
                          "set zone = N on one of them");
}
END_TEST

/* A hub may have 10,000 sensors (DESIGN.md §11); only a DC-09 receiver runs
 * out of zone numbers, and then the first sensor without one is named. */
START_TEST(test_config_more_than_999_sensors_need_zones_only_for_a_receiver) {
        size_t n = 1001, cap = 64 * n + 512, len;
        char *text = malloc(cap);
        struct config *c;
        struct errors e;

        ck_assert_ptr_nonnull(text);
        len = (size_t) snprintf(text, cap, "%s", BASE_CONFIG);
        for (size_t i = 0; i < n; i++) /* sensor i: lines 11 + 3i .. 13 + 3i */
                len += (size_t) snprintf(text + len, cap - len, "[sensor s%zu]\nkind = door\ntopic = z/s%zu\n", i, i);
        c = load_ok_text(text);
        ck_assert_uint_eq(c->n_sensors, n);
        ck_assert_uint_eq(c->sensors[998].zone, 999);
        ck_assert_uint_eq(c->sensors[999].zone, 0);
        ck_assert_uint_eq(c->sensors[1000].zone, 0);
        config_free(c);

        snprintf(text + len, cap - len, "[receiver arc]\nprotocol = dc09\nhost = 127.0.0.1\nport = 5100\n"
                 "account = 1234\n");
        e = load_bad(text);
        if (e.n != 2)
                dump(&e);
        ck_assert_int_eq(e.n, 2);
        ck_assert_str_eq(e.msgs[0], "bad.conf:3008: [sensor s999] zone: a DC-09 receiver numbers sensors 1 to 999 "
                         "and this is sensor 1000; set zone = N");
        ck_assert_str_eq(e.msgs[1], "bad.conf:3011: [sensor s1000] zone: a DC-09 receiver numbers sensors 1 to 999 "
                         "and this is sensor 1001; set zone = N");
        free(text);
}
END_TEST

/* Unencrypted DC-09 leaves this machine only when spelled out. */
START_TEST(test_config_receiver_without_key_is_refused_unless_loopback_or_insecure) {
        struct config *c;

        ASSERT_ONLY_ERROR(BASE_CONFIG "[receiver arc]\nprotocol = dc09\nhost = arc.example.org\nport = 5100\n"
                          "account = 1234\n",
                          "bad.conf:11: [receiver arc] key_file: missing: DC-09 without encryption to "
                          "arc.example.org would send alarms in clear text (set key_file, or insecure = true "
                          "for a test rig)");
        c = load_ok("[receiver arc]\nprotocol = dc09\nhost = arc.example.org\nport = 5100\naccount = 1234\n"
                    "insecure = true\n");
        ck_assert(c->receivers[0].insecure);
        config_free(c);
}
END_TEST

START_TEST(test_config_receiver_key_file_is_read_as_hex_aes_key) {
        char text[1024];
        struct errors e = { .n = 0 };
        struct config *c = NULL;

        write_file("arc.key", "000102030405060708090a0b0c0d0e0f\n");
        snprintf(text, sizeof text, BASE_CONFIG "[receiver arc]\nprotocol = dc09\nhost = arc.example.org\n"
                 "port = 5100\naccount = 1234\nkey_file = %s/arc.key\n", dir);
        ck_assert_int_eq(load_full_string("ok.conf", text, &e, &c), 0);
        ck_assert_uint_eq(c->receivers[0].key_len, 16);
        ck_assert_uint_eq(c->receivers[0].key[15], 0x0f);
        config_free(c);
        write_file("arc.key", "not hex at all\n");
        e = load_bad(text);
        ck_assert_int_eq(e.n, 1);
        ck_assert_ptr_nonnull(strstr(e.msgs[0], "[receiver arc] key_file: "));
        ck_assert_ptr_nonnull(strstr(e.msgs[0], "not an AES key of 32, 48 or 64 hex digits"));
}
END_TEST

int main(void) {
        Suite *s = suite_create("config");
        TCase *t = tcase_create("strings");
        TCase *f = tcase_create("files");

        tcase_add_test(t, test_config_minimal_file_loads_with_defaults);
        tcase_add_test(t, test_config_geofence_keys_from_the_file_and_at_run_time);
        tcase_add_test(t, test_config_default_keys_follow_the_sensor_kind);
        tcase_add_test(t, test_config_explicit_values_replace_defaults);
        tcase_add_test(t, test_config_unknown_key_is_an_error_with_file_and_line);
        tcase_add_test(t, test_config_unknown_section_is_an_error_listing_the_sections);
        tcase_add_test(t, test_config_unknown_kind_lists_the_valid_kinds);
        tcase_add_test(t, test_config_duration_without_unit_is_an_error);
        tcase_add_test(t, test_config_out_of_range_port_is_an_error);
        tcase_add_test(t, test_config_duplicate_sensor_id_says_where_it_was_first_declared);
        tcase_add_test(t, test_config_sensor_without_source_is_an_error);
        tcase_add_test(t, test_config_key_set_twice_in_one_section_is_an_error);
        tcase_add_test(t, test_config_value_key_set_twice_in_one_section_is_an_error);
        tcase_add_test(t, test_config_plain_http_to_a_remote_host_is_refused);
        tcase_add_test(t, test_config_https_and_loopback_http_urls_are_accepted);
        tcase_add_test(t, test_config_http_to_a_host_that_only_looks_like_loopback_is_refused);
        tcase_add_test(t, test_config_line_longer_than_the_limit_is_an_error);
        tcase_add_test(t, test_config_very_long_line_is_one_error_and_later_lines_keep_their_numbers);
        tcase_add_test(t, test_config_syntax_error_names_the_line);
        tcase_add_test(t, test_config_every_syntax_error_line_is_reported);
        tcase_add_test(t, test_config_setting_outside_a_section_is_an_error);
        tcase_add_test(t, test_config_missing_resident_address_is_an_error);
        tcase_add_test(t, test_config_missing_key_error_names_the_line_of_its_section);
        tcase_add_test(t, test_config_output_without_gpio_is_an_error);
        tcase_add_test(t, test_config_insecure_must_be_spelled_out);
        tcase_add_test(t, test_config_relay_may_be_a_gpio_line_or_a_smart_plug);
        tcase_add_test(t, test_config_gpio_sensor_loads_with_its_line_settings);
        tcase_add_test(t, test_config_gpio_needs_chip_and_line_and_no_wristband);
        tcase_add_test(t, test_config_unknown_time_zone_is_an_error);
        tcase_add_test(t, test_config_bad_values_of_every_type_are_errors);
        tcase_add_test(t, test_config_several_errors_in_one_file_are_all_reported);
        tcase_add_test(t, test_config_without_error_callback_still_fails);
        tcase_add_test(t, test_config_missing_token_file_is_an_error_naming_the_key);
        tcase_add_test(t, test_config_risk_profile_sets_the_rule_defaults);
        tcase_add_test(t, test_config_rule_keys_override_the_profile_wherever_they_are);
        tcase_add_test(t, test_config_rule_errors_name_the_rule_the_key_and_the_range);
        tcase_add_test(t, test_config_two_sensors_on_one_topic_is_an_error_naming_both);
        tcase_add_test(t, test_config_receiver_loads_with_the_issues_defaults_and_sensor_zones);
        tcase_add_test(t, test_config_critical_puts_a_sensor_on_the_life_safety_session);
        tcase_add_test(t, test_config_receiver_errors_name_file_line_and_key);
        tcase_add_test(t, test_config_more_than_999_sensors_need_zones_only_for_a_receiver);
        tcase_add_test(t, test_config_receiver_without_key_is_refused_unless_loopback_or_insecure);
        suite_add_tcase(s, t);

        tcase_add_unchecked_fixture(f, root_setup, root_teardown);
        tcase_add_checked_fixture(f, dir_setup, NULL);
        tcase_add_test(f, test_config_dropin_overrides_mqtt_and_adds_a_sensor);
        tcase_add_test(f, test_config_dropin_redeclaring_a_sensor_names_both_files);
        tcase_add_test(f, test_config_missing_main_file_is_enoent);
        tcase_add_test(f, test_config_token_file_is_read_without_its_trailing_newline);
        tcase_add_test(f, test_config_empty_token_file_is_an_error);
        tcase_add_test(f, test_config_receiver_key_file_is_read_as_hex_aes_key);
        tcase_add_test(f, test_config_a_bare_secret_name_is_a_credential_or_beside_the_config);
        tcase_add_test(f, test_config_short_signing_key_is_refused_and_loose_secrets_are_warned_about);
        tcase_add_test(f, test_config_load_reads_no_secret_file);
        tcase_add_test(f, test_config_file_with_a_very_long_line_keeps_later_line_numbers);
        suite_add_tcase(s, f);
        return run_suite(s);
}
