/* Signed messages (src/sig.c): the HMAC, the 5-minute window on a
 * synchronised clock, and the replay guard that holds alone when the
 * clock cannot be trusted (issue 18, item 8). */
#include "unit.h"
#include "sig.h"
#include "util.h"

#include <string.h>

#define KEY "wang-secret-key-01"
#define NOW 1795363200LL

static struct sig_guard guard;

static void sign(const char *text, char hex[65]) {
        ck_assert_int_eq(hmac_sha256_hex(KEY, strlen(KEY), text, strlen(text), hex), 0);
}

static enum sig_result check(const char *text, long long ts, const char *sig, bool synced) {
        return sig_check(&guard, KEY, strlen(KEY), text, ts, sig, NOW, synced);
}

START_TEST(test_sig_a_good_signature_is_accepted_once) {
        char sig[65];

        memset(&guard, 0, sizeof guard);
        sign("i1\nack\nwang\n1795363200\n", sig);
        ck_assert_int_eq(check("i1\nack\nwang\n1795363200\n", NOW, sig, true), SIG_OK);
        ck_assert_int_eq(check("i1\nack\nwang\n1795363200\n", NOW, sig, true), SIG_REPLAYED);
}
END_TEST

START_TEST(test_sig_a_changed_text_or_another_key_is_a_bad_signature) {
        char sig[65];

        memset(&guard, 0, sizeof guard);
        sign("i1\nack\nwang\n1795363200\n", sig);
        ck_assert_int_eq(check("i1\nresolved\nwang\n1795363200\n", NOW, sig, true), SIG_BAD);
        ck_assert_int_eq(sig_check(&guard, "another-key-0123456", 19, "i1\nack\nwang\n1795363200\n", NOW, sig, NOW,
                                   true), SIG_BAD);
        /* A forgery learns nothing about the hub's clock: bad before stale. */
        ck_assert_int_eq(check("x", NOW - 3600, "00", true), SIG_BAD);
}
END_TEST

START_TEST(test_sig_the_window_applies_only_on_a_synchronised_clock) {
        char sig[65];

        memset(&guard, 0, sizeof guard);
        sign("i1\nack\nwang\n1795359600\n", sig);
        ck_assert_int_eq(check("i1\nack\nwang\n1795359600\n", NOW - 3600, sig, true), SIG_STALE);
        ck_assert_int_eq(check("i1\nack\nwang\n1795359600\n", NOW - 3600, sig, false), SIG_OK);
        /* and once accepted, a replay is refused either way */
        ck_assert_int_eq(check("i1\nack\nwang\n1795359600\n", NOW - 3600, sig, false), SIG_REPLAYED);
        sign("i1\nack\nwang\n1795363499\n", sig);
        ck_assert_int_eq(check("i1\nack\nwang\n1795363499\n", NOW + 299, sig, true), SIG_OK);
}
END_TEST

START_TEST(test_sig_a_key_shorter_than_16_bytes_never_verifies) {
        char sig[65];

        memset(&guard, 0, sizeof guard);
        ck_assert_int_eq(hmac_sha256_hex("k", 1, "t", 1, sig), 0);
        ck_assert_int_eq(sig_check(&guard, "k", 1, "t", NOW, sig, NOW, true), SIG_NO_KEY);
}
END_TEST

int main(void) {
        Suite *s = suite_create("sig");
        TCase *t = tcase_create("sig");

        tcase_add_test(t, test_sig_a_good_signature_is_accepted_once);
        tcase_add_test(t, test_sig_a_changed_text_or_another_key_is_a_bad_signature);
        tcase_add_test(t, test_sig_the_window_applies_only_on_a_synchronised_clock);
        tcase_add_test(t, test_sig_a_key_shorter_than_16_bytes_never_verifies);
        suite_add_tcase(s, t);
        return run_suite(s);
}
