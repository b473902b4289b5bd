/* Helpers: durations, times of day, booleans, ranges, RFC 3339 with the
 * zone offset, HMAC (RFC 4231), UUIDs, the topic map and the ratelimit. */
#include "unit.h"
#include "log.h"
#include "util.h"

#include <ctype.h>
#include <string.h>
#include <time.h>

static uint64_t dur(const char *s) {
        uint64_t u = 12345;

        ck_assert_msg(parse_duration(s, &u) == 0, "\"%s\" was refused", s);
        return u;
}

START_TEST(test_durations_with_units_give_exact_microseconds) {
        ck_assert_uint_eq(dur("30s"), UINT64_C(30000000));
        ck_assert_uint_eq(dur("10m"), UINT64_C(600000000));
        ck_assert_uint_eq(dur("4h"), UINT64_C(14400000000));
        ck_assert_uint_eq(dur("1d"), UINT64_C(86400000000));
        ck_assert_uint_eq(dur("250ms"), UINT64_C(250000));
        ck_assert_uint_eq(dur("1h30m"), UINT64_C(5400000000));
        ck_assert_uint_eq(dur("2min"), UINT64_C(120000000));
        ck_assert_uint_eq(dur("1m500ms"), UINT64_C(60500000));
}
END_TEST

START_TEST(test_durations_without_a_valid_unit_are_refused) {
        static const char *const bad[] = { "", "10", "5x", "-1s", "s", "1h30", "1.5h", " ", "10 s x" };
        uint64_t u = 777;

        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                ck_assert_msg(parse_duration(bad[i], &u) == -EINVAL, "\"%s\" was accepted", bad[i]);
        ck_assert_uint_eq(u, 777);      /* untouched on error */
        ck_assert_int_eq(parse_duration(NULL, &u), -EINVAL);
}
END_TEST

START_TEST(test_duration_sum_that_overflows_is_out_of_range) {
        uint64_t u = 0;

        /* Each part is below the per-part limit; the sum passes 2^64 usec and
         * must not wrap around to 0.45 s. */
        ck_assert_int_eq(parse_duration("9223372036854s9223372036854s2s", &u), -ERANGE);
        ck_assert_int_eq(parse_duration("99999999999999999999999s", &u), -ERANGE);
}
END_TEST

START_TEST(test_time_of_day_is_minutes_after_midnight) {
        unsigned m = 9999;

        ck_assert_int_eq(parse_time_of_day("07:30", &m), 0);
        ck_assert_uint_eq(m, 450);
        ck_assert_int_eq(parse_time_of_day("00:00", &m), 0);
        ck_assert_uint_eq(m, 0);
        ck_assert_int_eq(parse_time_of_day("23:59", &m), 0);
        ck_assert_uint_eq(m, 1439);
        ck_assert_int_eq(parse_time_of_day("24:00", &m), -ERANGE);
        ck_assert_int_eq(parse_time_of_day("12:60", &m), -ERANGE);
        ck_assert_int_eq(parse_time_of_day("7:30", &m), -EINVAL);
        ck_assert_int_eq(parse_time_of_day("07:30:00", &m), -EINVAL);
        ck_assert_int_eq(parse_time_of_day("0730", &m), -EINVAL);
        ck_assert_int_eq(parse_time_of_day("", &m), -EINVAL);
        ck_assert_uint_eq(m, 1439);     /* untouched by the refused ones */
}
END_TEST

START_TEST(test_time_of_day_accepts_only_two_digits_colon_two_digits) {
        unsigned m = 9999;

        ck_assert_int_eq(parse_time_of_day("+7:30", &m), -EINVAL);
        ck_assert_int_eq(parse_time_of_day(" 7:30", &m), -EINVAL);
        ck_assert_int_eq(parse_time_of_day("07:+5", &m), -EINVAL);
        ck_assert_uint_eq(m, 9999);
}
END_TEST

START_TEST(test_booleans_in_every_spelling_and_nothing_else) {
        static const char *const yes[] = { "1", "yes", "true", "on", "TRUE", "Yes", "ON" };
        static const char *const no[] = { "0", "no", "false", "off", "FALSE", "No", "Off" };
        static const char *const bad[] = { "", "maybe", "2", "yes!", "t", "enabled" };
        bool b;

        for (size_t i = 0; i < ELEMENTSOF(yes); i++) {
                b = false;
                ck_assert_int_eq(parse_bool(yes[i], &b), 0);
                ck_assert_msg(b, "%s", yes[i]);
        }
        for (size_t i = 0; i < ELEMENTSOF(no); i++) {
                b = true;
                ck_assert_int_eq(parse_bool(no[i], &b), 0);
                ck_assert_msg(!b, "%s", no[i]);
        }
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                ck_assert_msg(parse_bool(bad[i], &b) == -EINVAL, "\"%s\" accepted", bad[i]);
}
END_TEST

START_TEST(test_int_range_separates_not_a_number_from_out_of_range) {
        long long v = -1;

        ck_assert_int_eq(parse_int_range("42", 1, 100, &v), 0);
        ck_assert_int_eq(v, 42);
        ck_assert_int_eq(parse_int_range("1", 1, 100, &v), 0);
        ck_assert_int_eq(v, 1);
        ck_assert_int_eq(parse_int_range("100", 1, 100, &v), 0);
        ck_assert_int_eq(v, 100);
        ck_assert_int_eq(parse_int_range("0", 1, 100, &v), -ERANGE);
        ck_assert_int_eq(parse_int_range("101", 1, 100, &v), -ERANGE);
        ck_assert_int_eq(parse_int_range("99999999999999999999", 1, 100, &v), -ERANGE);
        ck_assert_int_eq(parse_int_range("4x", 1, 100, &v), -EINVAL);
        ck_assert_int_eq(parse_int_range("", 1, 100, &v), -EINVAL);
        ck_assert_int_eq(parse_int_range("x", 1, 100, &v), -EINVAL);
        ck_assert_int_eq(v, 100);
}
END_TEST

START_TEST(test_rfc3339_carries_the_zone_offset) {
        char buf[40];

        setenv("TZ", "Asia/Shanghai", 1);
        tzset();
        ck_assert_str_eq(format_rfc3339(buf, sizeof buf, 0), "1970-01-01T08:00:00+08:00");
        /* 2023-11-14T22:13:20Z; the sub-second part is dropped */
        ck_assert_str_eq(format_rfc3339(buf, sizeof buf, UINT64_C(1700000000999999)),
                         "2023-11-15T06:13:20+08:00");
        setenv("TZ", "America/New_York", 1);
        tzset();
        ck_assert_str_eq(format_rfc3339(buf, sizeof buf, UINT64_C(1700000000) * USEC_PER_SEC),
                         "2023-11-14T17:13:20-05:00");
        setenv("TZ", "UTC", 1);
        tzset();
        ck_assert_str_eq(format_rfc3339(buf, sizeof buf, 0), "1970-01-01T00:00:00+00:00");
}
END_TEST

START_TEST(test_durations_are_formatted_for_people) {
        char buf[32];

        ck_assert_str_eq(format_duration(buf, sizeof buf, 250 * USEC_PER_MSEC), "250ms");
        ck_assert_str_eq(format_duration(buf, sizeof buf, 30 * USEC_PER_SEC), "30s");
        ck_assert_str_eq(format_duration(buf, sizeof buf, 4 * USEC_PER_HOUR + 5 * USEC_PER_MIN),
                         "4h 05min");
}
END_TEST

START_TEST(test_hmac_sha256_matches_rfc4231_case_2) {
        char hex[65];

        ck_assert_int_eq(hmac_sha256_hex("Jefe", 4, "what do ya want for nothing?", 28, hex), 0);
        ck_assert_str_eq(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}
END_TEST

START_TEST(test_hmac_sha256_matches_rfc4231_case_1) {
        uint8_t key[20];
        char hex[65];

        memset(key, 0x0b, sizeof key);
        ck_assert_int_eq(hmac_sha256_hex(key, sizeof key, "Hi There", 8, hex), 0);
        ck_assert_str_eq(hex, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
}
END_TEST

static void assert_uuid_v4(const char *u) {
        ck_assert_uint_eq(strlen(u), 36);
        for (int i = 0; i < 36; i++) {
                if (i == 8 || i == 13 || i == 18 || i == 23)
                        ck_assert_msg(u[i] == '-', "%s: no '-' at %d", u, i);
                else
                        ck_assert_msg(isxdigit((unsigned char) u[i]) && !isupper((unsigned char) u[i]),
                                      "%s: bad digit at %d", u, i);
        }
        ck_assert_msg(u[14] == '4', "%s: not version 4", u);
        ck_assert_msg(strchr("89ab", u[19]) != NULL, "%s: not the RFC 4122 variant", u);
}

START_TEST(test_uuid_is_random_version_4_with_rfc4122_variant) {
        char a[37], b[37];

        for (int i = 0; i < 200; i++) {
                ck_assert_int_eq(uuid_random(a), 0);
                assert_uuid_v4(a);
        }
        ck_assert_int_eq(uuid_random(b), 0);
        ck_assert_str_ne(a, b);
}
END_TEST

#define N_KEYS 12000
static char keys[N_KEYS][20];

START_TEST(test_strmap_grows_past_ten_thousand_keys_and_finds_them_all) {
        struct strmap *m = strmap_new(4);
        uint32_t v;

        ck_assert_ptr_nonnull(m);
        for (uint32_t i = 0; i < N_KEYS; i++) {
                snprintf(keys[i], sizeof keys[i], "zigbee2mqtt/s%u", i);
                ck_assert_int_eq(strmap_put(m, keys[i], i * 3), 0);
        }
        for (uint32_t i = 0; i < N_KEYS; i++) {
                v = UINT32_MAX;
                ck_assert_msg(strmap_get(m, keys[i], strlen(keys[i]), &v), "%s lost", keys[i]);
                ck_assert_uint_eq(v, i * 3);
        }
        ck_assert(!strmap_get(m, "zigbee2mqtt/s12000", 18, &v));
        strmap_free(m);
}
END_TEST

START_TEST(test_strmap_refuses_a_duplicate_and_keeps_the_first_value) {
        struct strmap *m = strmap_new(0);
        char copy[] = "band/ye";
        uint32_t v = 0;

        ck_assert_int_eq(strmap_put(m, "band/ye", 7), 0);
        ck_assert_int_eq(strmap_put(m, copy, 8), -EEXIST);
        ck_assert(strmap_get(m, "band/ye", 7, &v));
        ck_assert_uint_eq(v, 7);
        strmap_free(m);
        strmap_free(NULL);
}
END_TEST

START_TEST(test_strmap_lookup_uses_the_key_length_not_a_nul) {
        struct strmap *m = strmap_new(8);
        const char topic[] = "z2m/door/availability";  /* an MQTT topic is not NUL-terminated */
        uint32_t v = 0;

        ck_assert_int_eq(strmap_put(m, "z2m/door", 1), 0);
        ck_assert_int_eq(strmap_put(m, "z2m/door/availability", 2), 0);
        ck_assert_int_eq(strmap_put(m, "z2m/d", 3), 0);
        ck_assert(strmap_get(m, topic, 8, &v));
        ck_assert_uint_eq(v, 1);
        ck_assert(strmap_get(m, topic, strlen(topic), &v));
        ck_assert_uint_eq(v, 2);
        ck_assert(strmap_get(m, topic, 5, &v));
        ck_assert_uint_eq(v, 3);
        ck_assert(!strmap_get(m, topic, 7, &v));        /* "z2m/doo": a prefix of a key */
        ck_assert(!strmap_get(m, topic, 9, &v));        /* "z2m/door/" */
        strmap_free(m);
}
END_TEST

START_TEST(test_strmap_a_prefix_of_a_stored_key_is_not_found) {
        /* Keys are the even-length prefixes of one long topic; looking up
         * every odd-length prefix (not NUL-terminated) must find nothing,
         * however the probe chains fall. */
        static char text[402], copies[200][402];
        struct strmap *m = strmap_new(0);
        uint32_t v;

        for (int i = 0; i < 401; i++)
                text[i] = (char) ('a' + i % 26);
        for (int i = 0; i < 200; i++) {
                memcpy(copies[i], text, (size_t) (2 * i + 2));
                copies[i][2 * i + 2] = '\0';
                ck_assert_int_eq(strmap_put(m, copies[i], (uint32_t) i), 0);
        }
        for (size_t len = 1; len < 400; len += 2)
                ck_assert_msg(!strmap_get(m, text, len, &v), "prefix of length %zu found as key %u", len, v);
        for (size_t len = 2; len <= 400; len += 2) {
                ck_assert(strmap_get(m, text, len, &v));
                ck_assert_uint_eq(v, len / 2 - 1);
        }
        strmap_free(m);
}
END_TEST

START_TEST(test_ratelimit_allows_a_burst_then_reports_what_it_suppressed) {
        struct ratelimit rl = RATELIMIT_INIT(10 * USEC_PER_SEC, 3);
        const uint64_t t0 = 5 * USEC_PER_SEC;
        unsigned suppressed = 99;
        int allowed = 0;

        for (int i = 0; i < 10; i++) {
                allowed += ratelimit_below(&rl, t0 + (uint64_t) i * USEC_PER_SEC / 2, &suppressed);
                ck_assert_uint_eq(suppressed, 0);
        }
        ck_assert_int_eq(allowed, 3);
        /* still inside the window */
        ck_assert(!ratelimit_below(&rl, t0 + 10 * USEC_PER_SEC - 1, &suppressed));
        ck_assert_uint_eq(suppressed, 0);
        /* the next window opens: the 8 dropped messages are reported once */
        ck_assert(ratelimit_below(&rl, t0 + 10 * USEC_PER_SEC, &suppressed));
        ck_assert_uint_eq(suppressed, 8);
        ck_assert(ratelimit_below(&rl, t0 + 10 * USEC_PER_SEC + 1, &suppressed));
        ck_assert_uint_eq(suppressed, 0);
        ck_assert(ratelimit_below(&rl, t0 + 10 * USEC_PER_SEC + 2, NULL));
        ck_assert(!ratelimit_below(&rl, t0 + 10 * USEC_PER_SEC + 3, NULL));
        ck_assert(ratelimit_below(&rl, t0 + 30 * USEC_PER_SEC, &suppressed));
        ck_assert_uint_eq(suppressed, 1);
}
END_TEST

START_TEST(test_enum_names_round_trip) {
        for (int k = 0; k < _SENSOR_KIND_MAX; k++)
                ck_assert_int_eq(sensor_kind_from_string(sensor_kind_to_string(k)), k);
        for (int a = 0; a < _ATTR_MAX; a++)
                ck_assert_int_eq(event_attr_from_string(event_attr_to_string(a)), a);
        for (int t = 0; t < _INCIDENT_TYPE_MAX; t++)
                ck_assert_int_eq(incident_type_from_string(incident_type_to_string(t)), t);
        ck_assert_str_eq(incident_type_to_string(INCIDENT_FIRE), "fire");
        ck_assert_str_eq(severity_to_string(SEVERITY_CRITICAL), "critical");
        ck_assert_int_eq(sensor_kind_from_string("smok"), _SENSOR_KIND_INVALID);
        ck_assert_ptr_null(sensor_kind_to_string(_SENSOR_KIND_MAX));
}
END_TEST

int main(void) {
        Suite *s = suite_create("util");
        TCase *t = tcase_create("util");

        tcase_add_test(t, test_durations_with_units_give_exact_microseconds);
        tcase_add_test(t, test_durations_without_a_valid_unit_are_refused);
        tcase_add_test(t, test_duration_sum_that_overflows_is_out_of_range);
        tcase_add_test(t, test_time_of_day_is_minutes_after_midnight);
        tcase_add_test(t, test_time_of_day_accepts_only_two_digits_colon_two_digits);
        tcase_add_test(t, test_booleans_in_every_spelling_and_nothing_else);
        tcase_add_test(t, test_int_range_separates_not_a_number_from_out_of_range);
        tcase_add_test(t, test_rfc3339_carries_the_zone_offset);
        tcase_add_test(t, test_durations_are_formatted_for_people);
        tcase_add_test(t, test_hmac_sha256_matches_rfc4231_case_2);
        tcase_add_test(t, test_hmac_sha256_matches_rfc4231_case_1);
        tcase_add_test(t, test_uuid_is_random_version_4_with_rfc4122_variant);
        tcase_add_test(t, test_strmap_grows_past_ten_thousand_keys_and_finds_them_all);
        tcase_add_test(t, test_strmap_refuses_a_duplicate_and_keeps_the_first_value);
        tcase_add_test(t, test_strmap_lookup_uses_the_key_length_not_a_nul);
        tcase_add_test(t, test_strmap_a_prefix_of_a_stored_key_is_not_found);
        tcase_add_test(t, test_ratelimit_allows_a_burst_then_reports_what_it_suppressed);
        tcase_add_test(t, test_enum_names_round_trip);
        suite_add_tcase(s, t);
        return run_suite(s);
}
