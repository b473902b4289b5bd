/* Decoding real Zigbee2MQTT and wristband payloads (shared/fixtures), and
 * surviving everything else. */
#include "unit.h"
#include "decode.h"

#include <string.h>

#define SENSORS \
        "[sensor smoke]\nkind = smoke\nroom = kitchen\ntopic = zigbee2mqtt/kitchen_smoke\n" \
        "[sensor pir]\nkind = motion\ntopic = zigbee2mqtt/living_pir\n" \
        "[sensor door]\nkind = door\ntopic = zigbee2mqtt/front_door\n" \
        "[sensor sos]\nkind = button\ntopic = zigbee2mqtt/sos_button\n" \
        "[sensor leak]\nkind = water\ntopic = zigbee2mqtt/bathroom_leak\n" \
        "[sensor band]\nkind = wristband\ntopic = band/ye\n" \
        "[sensor custom]\nkind = smoke\ntopic = x/custom\nkey = state.alarm\ninvert = true\n"

enum { SMOKE, PIR, DOOR, SOS, LEAK, BAND, CUSTOM };

static struct config *cfg;
static struct event ev[24];
static struct decode_result res;

static void setup(void) {
        cfg = load_ok(SENSORS);
}

static void teardown(void) {
        config_free(cfg);
}

static size_t dec(int sensor, const char *payload) {
        memset(ev, 0, sizeof ev);
        return decode_state(&cfg->sensors[sensor], (uint32_t) sensor, payload, strlen(payload), 1000, 2000,
                            false, ev, 24, &res);
}

/* The value of attribute a in the last decode, or -999 if absent. */
static double val(enum event_attr a, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (ev[i].attr == a)
                        return ev[i].value;
        return -999;
}

START_TEST(test_fixture_smoke_true_gives_smoke_battery_and_tamper) {
        size_t n = dec(SMOKE, "{\"battery\":97,\"battery_low\":false,\"linkquality\":129,\"smoke\":true,\"tamper\":false,\"voltage\":3005}");

        ck_assert_int_eq(res.error, DECODE_OK);
        ck_assert(val(ATTR_SMOKE, n) == 1);
        ck_assert(val(ATTR_BATTERY, n) == 97);
        ck_assert(val(ATTR_BATTERY_LOW, n) == 0);
        ck_assert(val(ATTR_TAMPER, n) == 0);
        ck_assert_uint_eq(ev[0].sensor, SMOKE);
        ck_assert_uint_eq(ev[0].mono, 1000);
        ck_assert_uint_eq(ev[0].wall, 2000);
        n = dec(SMOKE, "{\"battery\":97,\"battery_low\":false,\"linkquality\":132,\"smoke\":false,\"tamper\":false,\"voltage\":3005}");
        ck_assert(val(ATTR_SMOKE, n) == 0);
}
END_TEST

START_TEST(test_fixture_motion_door_leak) {
        size_t n = dec(PIR, "{\"battery\":100,\"illuminance\":25,\"illuminance_lux\":25,\"linkquality\":87,\"occupancy\":true,\"voltage\":3035}");
        ck_assert(val(ATTR_MOTION, n) == 1);
        n = dec(DOOR, "{\"battery\":91,\"contact\":false,\"linkquality\":111,\"voltage\":2985}");
        ck_assert(val(ATTR_DOOR_OPEN, n) == 1);
        n = dec(DOOR, "{\"battery\":91,\"contact\":true,\"linkquality\":108,\"voltage\":2985}");
        ck_assert(val(ATTR_DOOR_OPEN, n) == 0);
        n = dec(LEAK, "{\"battery\":100,\"battery_low\":false,\"linkquality\":96,\"voltage\":3025,\"water_leak\":true}");
        ck_assert(val(ATTR_WATER_LEAK, n) == 1);
}
END_TEST

START_TEST(test_button_emergency_is_sos_and_single_is_not) {
        size_t n = dec(SOS, "{\"action\":\"emergency\",\"battery\":88,\"linkquality\":76}");
        ck_assert(val(ATTR_SOS, n) == 1);
        n = dec(SOS, "{\"action\":\"sos\"}");
        ck_assert(val(ATTR_SOS, n) == 1);
        n = dec(SOS, "{\"action\":\"single\",\"battery\":88}");
        ck_assert(val(ATTR_SOS, n) == -999);
        ck_assert(val(ATTR_BATTERY, n) == 88);
}
END_TEST

START_TEST(test_fixture_wristband_vitals_fall_and_sos) {
        size_t n = dec(BAND, "{\"heart_rate\":72,\"spo2\":97,\"steps\":1834,\"battery\":64,\"worn\":true}");
        ck_assert(val(ATTR_HEART_RATE, n) == 72);
        ck_assert(val(ATTR_SPO2, n) == 97);
        ck_assert(val(ATTR_STEPS, n) == 1834);
        ck_assert(val(ATTR_WORN, n) == 1);
        n = dec(BAND, "{\"fall\":true,\"heart_rate\":95,\"lat\":28.9702,\"lon\":118.8593,\"accuracy\":12}");
        ck_assert(val(ATTR_FALL, n) == 1);
        ck_assert(val(ATTR_LAT, n) == 28.9702);
        ck_assert(val(ATTR_LON, n) == 118.8593);
        n = dec(BAND, "{\"sos\":true,\"battery\":63}");
        ck_assert(val(ATTR_SOS, n) == 1);
        n = dec(BAND, "{\"sos\":false,\"battery\":63}");
        ck_assert(val(ATTR_SOS, n) == -999);
}
END_TEST

START_TEST(test_key_override_dotted_path_and_invert) {
        size_t n = dec(CUSTOM, "{\"state\":{\"alarm\":false}}");
        ck_assert(val(ATTR_SMOKE, n) == 1);     /* inverted */
        n = dec(CUSTOM, "{\"state\":{\"alarm\":\"ON\"}}");
        ck_assert(val(ATTR_SMOKE, n) == 0);
        n = dec(CUSTOM, "{\"smoke\":true}");
        ck_assert(val(ATTR_SMOKE, n) == -999);  /* the default key is no longer read */
}
END_TEST

START_TEST(test_booleans_as_devices_send_them) {
        ck_assert(val(ATTR_SMOKE, dec(SMOKE, "{\"smoke\":\"ON\"}")) == 1);
        ck_assert(val(ATTR_SMOKE, dec(SMOKE, "{\"smoke\":\"off\"}")) == 0);
        ck_assert(val(ATTR_SMOKE, dec(SMOKE, "{\"smoke\":1}")) == 1);
        ck_assert(val(ATTR_SMOKE, dec(SMOKE, "{\"smoke\":0}")) == 0);
}
END_TEST

START_TEST(test_bad_payloads_are_classified) {
        static char big[DECODE_MAX_PAYLOAD + 2];
        size_t n;

        ck_assert_uint_eq(dec(SMOKE, "not json"), 0);
        ck_assert_int_eq(res.error, DECODE_NOT_JSON);
        ck_assert_uint_eq(dec(SMOKE, "[1,2]"), 0);
        ck_assert_int_eq(res.error, DECODE_NOT_JSON);
        n = dec(SMOKE, "{\"smoke\":\"maybe\",\"battery\":50}");
        ck_assert_int_eq(res.error, DECODE_BAD_TYPE);
        ck_assert(val(ATTR_BATTERY, n) == 50);  /* the good key still counts */
        ck_assert(val(ATTR_SMOKE, n) == -999);
        ck_assert_str_eq(res.detail, "key smoke: expected a boolean");
        ck_assert_uint_eq(dec(SMOKE, "{}"), 0);
        ck_assert_int_eq(res.error, DECODE_NO_VALUE);
        ck_assert_uint_eq(dec(SMOKE, "{\"smoke\":true,\"smoke\":false}"), 0);
        ck_assert_int_eq(res.error, DECODE_NOT_JSON);
        memset(big, '{', sizeof big - 1);
        ck_assert_uint_eq(dec(SMOKE, big), 0);
        ck_assert_int_eq(res.error, DECODE_TOO_LARGE);
}
END_TEST

START_TEST(test_random_bytes_and_mutations_never_crash) {
        static const char *const seeds[] = {
                "{\"battery\":97,\"battery_low\":false,\"linkquality\":129,\"smoke\":true,\"tamper\":false}",
                "{\"fall\":true,\"heart_rate\":95,\"lat\":28.9702,\"lon\":118.8593,\"accuracy\":12}",
                "{\"action\":\"emergency\",\"battery\":88,\"linkquality\":76}",
        };
        char buf[256];
        unsigned seed = 12345;

        for (int i = 0; i < 20000; i++) {
                size_t len;
                if (i % 2) {
                        len = (size_t) (rand_r(&seed) % sizeof buf);
                        for (size_t k = 0; k < len; k++)
                                buf[k] = (char) rand_r(&seed);
                } else {
                        len = strlen(seeds[i % 3]);
                        memcpy(buf, seeds[i % 3], len);
                        for (int k = 0; k < 4; k++)
                                buf[rand_r(&seed) % len] = (char) rand_r(&seed);
                }
                for (int s = 0; s < 7; s++) {
                        size_t n = decode_state(&cfg->sensors[s], (uint32_t) s, buf, len, 1, 1, false, ev, 4, &res);
                        ck_assert_uint_le(n, 4);
                }
                (void) decode_availability(buf, len);
        }
}
END_TEST

START_TEST(test_availability_words_and_json) {
        ck_assert_int_eq(decode_availability("online", 6), 1);
        ck_assert_int_eq(decode_availability("offline", 7), 0);
        ck_assert_int_eq(decode_availability("{\"state\":\"online\"}", 18), 1);
        ck_assert_int_eq(decode_availability("{\"state\":\"offline\"}", 19), 0);
        ck_assert_int_eq(decode_availability("perhaps", 7), -EBADMSG);
        ck_assert_int_eq(decode_availability("{\"state\":1}", 11), -EBADMSG);
}
END_TEST

int main(void) {
        Suite *s = suite_create("decode");
        TCase *t = tcase_create("decode");

        tcase_add_checked_fixture(t, setup, teardown);
        tcase_add_test(t, test_fixture_smoke_true_gives_smoke_battery_and_tamper);
        tcase_add_test(t, test_fixture_motion_door_leak);
        tcase_add_test(t, test_button_emergency_is_sos_and_single_is_not);
        tcase_add_test(t, test_fixture_wristband_vitals_fall_and_sos);
        tcase_add_test(t, test_key_override_dotted_path_and_invert);
        tcase_add_test(t, test_booleans_as_devices_send_them);
        tcase_add_test(t, test_bad_payloads_are_classified);
        tcase_add_test(t, test_random_bytes_and_mutations_never_crash);
        tcase_add_test(t, test_availability_words_and_json);
        suite_add_tcase(s, t);
        return run_suite(s);
}
