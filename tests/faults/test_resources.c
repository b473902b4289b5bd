/* Resource faults (issue 6, docs/RELIABILITY.md): a database corrupted at
 * start, a database that cannot be created at all, a full disk (a file-size
 * limit on anjud), too few file descriptors. Each time the alarm still
 * reaches the dispatch center, the fault reaches the maintenance contact,
 * and anjud does not crash. */
#include "harness.h"

#include <check.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define SMOKE_ON "{\"battery\":97,\"smoke\":true}"
#define MAINT "anju/maintenance/fix"
#define CONTACT "[contact fix]\nrole = maintenance\nname = Fixer\ntopic = " MAINT "\n\n"

/* The rig with the maintenance contact (and more configuration), no
 * anjud yet: the test sets up the fault first. */
static void fault_up(struct h_rig *r, const char *more) {
        char config[512];

        snprintf(config, sizeof config, CONTACT "%s", more);
        h_rig_up(r, &(struct h_rig_opts) { .config = config, .no_anjud = true });
}

/* anjud, connected to the broker. */
static void start(struct h_rig *r) {
        h_rig_anjud(r);
        ck_assert_msg(h_wait_line(r->anjud, "mqtt: connected", 10000), "anjud did not connect");
}

/* The alarm goes out whatever happened to the storage. */
static void smoke_reaches_the_center(struct h_rig *r) {
        json_t *call;

        h_rig_pub(r, "zigbee2mqtt/kitchen_smoke", SMOKE_ON);
        call = h_sim_next_call(r->sim, 10000);
        ck_assert_msg(call != NULL, "the alarm did not reach the center");
        ck_assert_str_eq(json_string_value(json_object_get(json_object_get(call, "body"), "type")), "fire");
        json_decref(call);
}

/* An executable script in dir that runs anjud under prlimit. */
static const char *limited_anjud(const char *dir, const char *limit) {
        char script[1024];
        const char *path;

        snprintf(script, sizeof script, "#!/bin/sh\nexec prlimit %s %s \"$@\"\n", limit, getenv("ANJUD"));
        path = h_write_file(dir, "anjud-limited", script);
        ck_assert_int_eq(chmod(path, 0755), 0);
        return path;
}

START_TEST(test_a_corrupt_database_is_set_aside_and_the_alarm_goes_out) {
        struct h_rig r;
        char path[512];
        FILE *f;
        DIR *d;
        struct dirent *e;
        bool aside = false;

        fault_up(&r, "");
        snprintf(path, sizeof path, "%s/anju.db", r.dir);
        f = fopen(path, "w");
        ck_assert_ptr_nonnull(f);
        for (int i = 0; i < 4096; i++)
                fputc((i * 7919) & 0xff, f);    /* not a database */
        fclose(f);
        start(&r);
        ck_assert_msg(h_saw_message(r.sub, MAINT, "database", 10000), "maintenance not told about the database");
        smoke_reaches_the_center(&r);
        d = opendir(r.dir);
        while ((e = readdir(d)))
                aside |= strncmp(e->d_name, "anju.db.broken-", 15) == 0;
        closedir(d);
        ck_assert_msg(aside, "the damaged database was not kept for inspection");
        h_rig_down(&r);
}
END_TEST

START_TEST(test_no_database_at_all_runs_from_memory) {
        struct h_rig r;

        /* A database in a directory that does not exist and cannot be made. */
        fault_up(&r, "[hub]\ndatabase = /proc/anju-no-such-dir/anju.db\n");
        h_rig_anjud(&r);
        ck_assert(h_wait_line(r.anjud, "running from memory", 5000));
        ck_assert(h_wait_line(r.anjud, "mqtt: connected", 10000));
        ck_assert_msg(h_saw_message(r.sub, MAINT, "database", 10000), "maintenance not told about the database");
        smoke_reaches_the_center(&r);
        h_rig_down(&r);
}
END_TEST

START_TEST(test_a_full_disk_still_lets_the_alarm_out) {
        struct h_rig r;
        const char *real = getenv("ANJUD");
        char saved[512];

        fault_up(&r, "");
        snprintf(saved, sizeof saved, "%s", real);
        /* No file of anjud's may grow past 160 KiB: the database fills up. */
        setenv("ANJUD", limited_anjud(r.dir, "--fsize=163840"), 1);
        start(&r);
        setenv("ANJUD", saved, 1);
        /* Sensor chatter fills the sensor log until writes fail. */
        for (int i = 0; i < 400; i++) {
                char msg[2048];
                int l = snprintf(msg, sizeof msg, "{\"occupancy\":true,\"battery\":%d,\"pad\":\"", i % 100);
                while (l < 1900)
                        msg[l++] = 'x';
                snprintf(msg + l, sizeof msg - (size_t) l, "\"}");
                for (int k = 0; k < 50; k++)
                        h_rig_pub(&r, "zigbee2mqtt/living_pir", msg);
                if (h_wait_line(r.anjud, "not written", 200))
                        break;
        }
        smoke_reaches_the_center(&r);
        ck_assert_msg(h_saw_message(r.sub, MAINT, "database", 15000), "maintenance not told about the full disk");
        h_rig_down(&r);
}
END_TEST

START_TEST(test_out_of_file_descriptors_the_alarm_still_goes_out) {
        struct h_rig r;
        const char *real = getenv("ANJUD");
        char saved[512];
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fds[60], n = 0;

        fault_up(&r, "");
        snprintf(saved, sizeof saved, "%s", real);
        setenv("ANJUD", limited_anjud(r.dir, "--nofile=48"), 1);
        start(&r);
        setenv("ANJUD", saved, 1);
        /* Sixty operators' connections at once: anjud keeps its descriptors
         * for the alarms (at most 16 control connections). */
        snprintf(sa.sun_path, sizeof sa.sun_path, "%.100s", r.sock);
        for (int i = 0; i < 60; i++) {
                int fd = socket(AF_UNIX, SOCK_STREAM, 0);
                if (fd >= 0 && connect(fd, (struct sockaddr *) &sa, sizeof sa) == 0)
                        fds[n++] = fd;
                else if (fd >= 0)
                        close(fd);
        }
        smoke_reaches_the_center(&r);
        for (int i = 0; i < n; i++)
                close(fds[i]);
        h_rig_down(&r);
}
END_TEST

int main(void) {
        Suite *s = suite_create("resources");
        TCase *t = tcase_create("resources");

        tcase_set_timeout(t, 300);
        tcase_add_test(t, test_a_corrupt_database_is_set_aside_and_the_alarm_goes_out);
        tcase_add_test(t, test_no_database_at_all_runs_from_memory);
        tcase_add_test(t, test_a_full_disk_still_lets_the_alarm_out);
        tcase_add_test(t, test_out_of_file_descriptors_the_alarm_still_goes_out);
        suite_add_tcase(s, t);
        return run_suite(s);
}
