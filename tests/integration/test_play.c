/* anju-play, the scenario player (docs/SCENARIOS.md): it publishes the
 * steps of a scenario to a real broker, in order, on the scaled clock, and
 * refuses a bad file with file:line messages. */
#include "harness.h"

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

/* Runs anju-play with args; returns its exit status, output in out. */
static int play(const char *args, char *out, size_t n) {
        char cmd[2048];
        FILE *p;
        size_t len = 0;
        int st;

        snprintf(cmd, sizeof cmd, "%s %s 2>&1", getenv("ANJU_PLAY"), args);
        p = popen(cmd, "r");
        ck_assert_ptr_nonnull(p);
        while (len + 1 < n && fgets(out + len, (int) (n - len), p))
                len = strlen(out);
        st = pclose(p);
        return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

START_TEST(test_a_scenario_is_published_in_order_on_the_scaled_clock) {
        char dir[256], args[1024], out[4096];
        int port = h_free_port();
        struct proc *broker = h_broker_start(port), *sub;
        const char *path;
        long long t0, took;
        char *m;

        snprintf(dir, sizeof dir, "%s", h_tmpdir());
        path = h_write_file(dir, "s.scn",
                          "# a short morning\n"
                          "07:00 z/pir {\"occupancy\":true}\n"
                          "07:00:30 retain z/door {\"contact\":false}\n"
                          "07:00:30 say she goes out\n"
                          "+10m z/pir {\"occupancy\":false,\"n\":3}\n");
        sub = h_sub_start(port, "z/#");
        snprintf(args, sizeof args, "-p %d --time-scale 600 --start 07:00 %s", port, path);
        t0 = h_now_ms();
        ck_assert_int_eq(play(args, out, sizeof out), 0);
        took = h_now_ms() - t0;
        /* 10 min 30 s of scenario at 600x: about 1.05 s. */
        ck_assert_int_ge(took, 900);
        ck_assert_int_lt(took, 5000);
        ck_assert_ptr_nonnull(strstr(out, "[07:00:30] z/door (retained)"));
        ck_assert_ptr_nonnull(strstr(out, "[07:10:30] z/pir"));
        m = h_wait_message(sub, "z/pir", "\"occupancy\":true", 5000);
        ck_assert_ptr_nonnull(m);
        free(m);
        m = h_wait_message(sub, "z/door", "contact", 5000);
        ck_assert_ptr_nonnull(m);
        free(m);
        m = h_wait_message(sub, "z/pir", "\"n\":3", 5000);
        ck_assert_ptr_nonnull(m);
        free(m);
        h_stop(sub, SIGTERM);
        h_stop(broker, SIGTERM);
}
END_TEST

START_TEST(test_a_bad_scenario_is_refused_line_by_line) {
        char dir[256], args[1024], out[4096];
        const char *path;

        snprintf(dir, sizeof dir, "%s", h_tmpdir());
        path = h_write_file(dir, "bad.scn",
                          "07:00 z/a {\"x\":1}\n"
                          "seven z/b {}\n"
                          "07:01 z/# {}\n"
                          "+5x z/c {}\n");
        snprintf(args, sizeof args, "--check %s", path);
        ck_assert_int_eq(play(args, out, sizeof out), 1);
        ck_assert_msg(strstr(out, "bad.scn:2: \"seven\" is not a time"), "%s", out);
        ck_assert_msg(strstr(out, "bad.scn:3: expected TOPIC PAYLOAD"), "%s", out);
        ck_assert_msg(strstr(out, "bad.scn:4: \"+5x\" is not +DURATION"), "%s", out);
}
END_TEST

START_TEST(test_the_demo_scenarios_are_valid) {
        char args[1024], out[8192];

        snprintf(args, sizeof args, "--check --start 07:00 %s/scenarios/morning.scn", getenv("SOURCE_ROOT"));
        ck_assert_msg(play(args, out, sizeof out) == 0, "%s", out);
        ck_assert_ptr_nonnull(strstr(out, "she goes out"));
}
END_TEST

int main(void) {
        Suite *s = suite_create("play");
        TCase *t = tcase_create("play");

        tcase_set_timeout(t, 60);
        tcase_add_test(t, test_a_scenario_is_published_in_order_on_the_scaled_clock);
        tcase_add_test(t, test_a_bad_scenario_is_refused_line_by_line);
        tcase_add_test(t, test_the_demo_scenarios_are_valid);
        suite_add_tcase(s, t);
        return run_suite(s);
}
