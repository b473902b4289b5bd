/* Helpers: parsing, formatting, HMAC, ids, the topic map, the ratelimit. */
#include "unit.h"
#include "log.h"
#include "util.h"

#include <string.h>
#include <time.h>

START_TEST(test_durations_need_units) {
        uint64_t u;

        ck_assert_int_eq(parse_duration("30s", &u), 0); ck_assert_uint_eq(u, 30 * USEC_PER_SEC);
        ck_assert_int_eq(parse_duration("10m", &u), 0); ck_assert_uint_eq(u, 10 * USEC_PER_MIN);
        ck_assert_int_eq(parse_duration("4h", &u), 0); ck_assert_uint_eq(u, 4 * USEC_PER_HOUR);
        ck_assert_int_eq(parse_duration("1d", &u), 0); ck_assert_uint_eq(u, USEC_PER_DAY);
        ck_assert_int_eq(parse_duration("250ms", &u), 0); ck_assert_uint_eq(u, 250 * USEC_PER_MSEC);
        ck_assert_int_eq(parse_duration("1h30m", &u), 0); ck_assert_uint_eq(u, 90 * USEC_PER_MIN);
        ck_assert_int_eq(parse_duration("", &u), -EINVAL);
        ck_assert_int_eq(parse_duration("10", &u), -EINVAL);
        ck_assert_int_eq(parse_duration("5x", &u), -EINVAL);
        ck_assert_int_eq(parse_duration("-1s", &u), -EINVAL);
        ck_assert_int_eq(parse_duration("s", &u), -EINVAL);
}
END_TEST

START_TEST(test_times_bools_and_ranges) {
        unsigned m;
        bool b;
        long long v;

        ck_assert_int_eq(parse_time_of_day("07:30", &m), 0); ck_assert_uint_eq(m, 450);
        ck_assert_int_eq(parse_time_of_day("24:00", &m), -ERANGE);
        ck_assert_int_eq(parse_time_of_day("7:30", &m), -EINVAL);
        ck_assert_int_eq(parse_bool("Yes", &b), 0); ck_assert(b);
        ck_assert_int_eq(parse_bool("off", &b), 0); ck_assert(!b);
        ck_assert_int_eq(parse_bool("maybe", &b), -EINVAL);
        ck_assert_int_eq(parse_int_range("42", 1, 100, &v), 0); ck_assert_int_eq(v, 42);
        ck_assert_int_eq(parse_int_range("0", 1, 100, &v), -ERANGE);
        ck_assert_int_eq(parse_int_range("4x", 1, 100, &v), -EINVAL);
}
END_TEST

START_TEST(test_rfc3339_carries_the_zone_offset) {
        char buf[40];

        setenv("TZ", "Asia/Shanghai", 1);
        tzset();
        ck_assert_str_eq(format_rfc3339(buf, sizeof buf, 0), "1970-01-01T08:00:00+08:00");
        setenv("TZ", "UTC", 1);
        tzset();
        ck_assert_str_eq(format_rfc3339(buf, sizeof buf, 0), "1970-01-01T00:00:00+00:00");
}
END_TEST

START_TEST(test_hmac_sha256_matches_rfc4231_case_2) {
        char hex[65];

        ck_assert_int_eq(hmac_sha256_hex("Jefe", 4, "what do ya want for nothing?", 28, hex), 0);
        ck_assert_str_eq(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}
END_TEST

START_TEST(test_uuid_is_version_4) {
        char a[37], b[37];

        ck_assert_int_eq(uuid_random(a), 0);
        ck_assert_int_eq(uuid_random(b), 0);
        ck_assert_uint_eq(strlen(a), 36);
        ck_assert_int_eq(a[14], '4');
        ck_assert(strchr("89ab", a[19]) != NULL);
        ck_assert_str_ne(a, b);
}
END_TEST

START_TEST(test_strmap_grows_and_finds_by_length) {
        static char keys[20000][16];
        struct strmap *m = strmap_new(4);
        uint32_t v;

        for (uint32_t i = 0; i < 20000; i++) {
                snprintf(keys[i], sizeof keys[i], "z2m/s%u", i);
                ck_assert_int_eq(strmap_put(m, keys[i], i), 0);
        }
        ck_assert_int_eq(strmap_put(m, keys[7], 1), -EEXIST);
        for (uint32_t i = 0; i < 20000; i += 997) {
                ck_assert(strmap_get(m, keys[i], strlen(keys[i]), &v));
                ck_assert_uint_eq(v, i);
        }
        ck_assert(strmap_get(m, "z2m/s12xyz", 7, &v));          /* "z2m/s12" */
        ck_assert_uint_eq(v, 12);
        ck_assert(!strmap_get(m, "z2m/none", 8, &v));
        strmap_free(m);
}
END_TEST

START_TEST(test_ratelimit_reports_what_it_suppressed) {
        struct ratelimit rl = RATELIMIT_INIT(10 * USEC_PER_SEC, 3);
        unsigned suppressed = 99;
        int allowed = 0;

        for (int i = 0; i < 10; i++)
                allowed += ratelimit_below(&rl, USEC_PER_SEC + (uint64_t) i, &suppressed);
        ck_assert_int_eq(allowed, 3);
        ck_assert(ratelimit_below(&rl, 12 * USEC_PER_SEC, &suppressed));
        ck_assert_uint_eq(suppressed, 7);
}
END_TEST

int main(void) {
        Suite *s = suite_create("util");
        TCase *t = tcase_create("util");

        tcase_add_test(t, test_durations_need_units);
        tcase_add_test(t, test_times_bools_and_ranges);
        tcase_add_test(t, test_rfc3339_carries_the_zone_offset);
        tcase_add_test(t, test_hmac_sha256_matches_rfc4231_case_2);
        tcase_add_test(t, test_uuid_is_version_4);
        tcase_add_test(t, test_strmap_grows_and_finds_by_length);
        tcase_add_test(t, test_ratelimit_reports_what_it_suppressed);
        suite_add_tcase(s, t);
        return run_suite(s);
}
