/* Outages (issue 6, docs/RELIABILITY.md), with the real anjud, broker and
 * HTTP server: the primary dispatch endpoint down (the fallback takes the
 * calls); both down for a simulated day while alarms keep coming (all
 * delivered, each incident's in the order raised, when the center returns); the
 * broker restarted 100 times during traffic (no alarm lost, none twice, a
 * reconnect every time); a center that answers after 30 s (the loop never
 * blocks: another incident's call still goes out at once, anjuctl still
 * answers). */
#include "harness.h"

#include <check.h>
#include <stdbool.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define HUB "test-hub"
#define SMOKE_ON "{\"battery\":97,\"smoke\":true}"

static long long now_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static char *smoke_sensors(int n, const char *more) {
        size_t cap = (size_t) n * 80 + strlen(more) + 64, len = 0;
        char *s = malloc(cap);

        ck_assert_ptr_nonnull(s);
        for (int i = 0; i < n; i++)
                len += (size_t) snprintf(s + len, cap - len, "[sensor smoke_%d]\nkind = smoke\ntopic = z/smoke_%d\n\n",
                                         i, i);
        snprintf(s + len, cap - len, "%s", more);
        return s;
}

static void smoke(int port, int i) {
        char topic[32];

        snprintf(topic, sizeof topic, "z/smoke_%d", i);
        h_publish(port, topic, SMOKE_ON, strlen(SMOKE_ON), true);
}

/* The sensor number of a call, -1 if not one of ours. */
static int sensor_of(json_t *call) {
        const char *id = json_string_value(json_object_get(json_object_get(json_object_get(call, "body"), "sensor"), "id"));
        int i;

        return id && sscanf(id, "smoke_%d", &i) == 1 ? i : -1;
}

/* Waits (bounded) until sql gives want: the daemon commits what it did. */
static long long db_wait(const char *dir, const char *sql, long long want, int timeout_ms);

static long long db_scalar(const char *dir, const char *sql) {
        char path[512];
        sqlite3 *db;
        sqlite3_stmt *q;
        long long v = -1;

        snprintf(path, sizeof path, "%s/anju.db", dir);
        ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
        sqlite3_busy_timeout(db, 5000);
        ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &q, NULL), SQLITE_OK);
        if (sqlite3_step(q) == SQLITE_ROW)
                v = sqlite3_column_int64(q, 0);
        sqlite3_finalize(q);
        sqlite3_close(db);
        return v;
}

static long long db_wait(const char *dir, const char *sql, long long want, int timeout_ms) {
        long long deadline = now_ms() + timeout_ms, v;
        struct timespec d = { 0, 20 * 1000000L };

        while ((v = db_scalar(dir, sql)) != want && now_ms() < deadline)
                nanosleep(&d, NULL);    /* polling a file with a bound, not waiting blind */
        return v;
}

/* The keys of the outbox, oldest first (the order the alarms were raised),
 * and the incident of each. */
static int outbox_keys(const char *dir, char keys[][40], char incidents[][40], int max) {
        char path[512];
        sqlite3 *db;
        sqlite3_stmt *q;
        int n = 0;

        snprintf(path, sizeof path, "%s/anju.db", dir);
        ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
        sqlite3_busy_timeout(db, 5000);
        ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT key, incident FROM outbox WHERE url IS NULL ORDER BY id", -1, &q,
                                            NULL), SQLITE_OK);
        while (n < max && sqlite3_step(q) == SQLITE_ROW) {
                snprintf(keys[n], 40, "%s", sqlite3_column_text(q, 0));
                snprintf(incidents[n++], 40, "%s", sqlite3_column_text(q, 1));
        }
        sqlite3_finalize(q);
        sqlite3_close(db);
        return n;
}

START_TEST(test_primary_down_the_fallback_takes_the_call) {
        char dir[256], extra[512];
        int mqtt_port = h_free_port(), down = h_free_port(), sim_port = h_free_port();
        struct proc *broker, *sim, *anjud;
        const char *config;
        json_t *call;

        snprintf(dir, sizeof dir, "%s", h_tmpdir());
        broker = h_broker_start(mqtt_port);
        sim = h_sim_start(sim_port, NULL);
        /* The primary is a port nobody listens on. */
        snprintf(extra, sizeof extra, "[dispatch]\nurl = http://127.0.0.1:%d/api/v1/alarms\n"
                 "fallback_url = http://127.0.0.1:%d/backup/v1/alarms\nfallback_after = 2\n", down, sim_port);
        config = h_write_config(dir, mqtt_port, down, extra);
        anjud = h_anjud_start(config);
        ck_assert(h_wait_status(mqtt_port, HUB, "online", 10000));
        h_publish(mqtt_port, "zigbee2mqtt/kitchen_smoke", SMOKE_ON, strlen(SMOKE_ON), false);
        call = h_sim_next_call(sim, 15000);
        ck_assert_msg(call != NULL, "the fallback never got the call");
        ck_assert_str_eq(json_string_value(json_object_get(call, "path")), "/backup/v1/alarms");
        json_decref(call);
        ck_assert(h_wait_line(anjud, "delivered to http://127.0.0.1", 5000));
        ck_assert_int_eq(db_wait(dir, "SELECT count(*) FROM deliveries WHERE url LIKE '%/backup/%'", 1, 5000), 1);
        ck_assert_int_ge(db_scalar(dir, "SELECT attempts FROM deliveries"), 3);
        h_stop(anjud, SIGTERM);
        h_stop(sim, SIGTERM);
        h_stop(broker, SIGTERM);
}
END_TEST

START_TEST(test_center_down_a_whole_day_everything_arrives_each_incident_in_order) {
        const int n = 12;
        char dir[256], more[512];
        int mqtt_port = h_free_port(), sim_port = h_free_port(), order[12], got = 0;
        const char *args[] = { "--time-scale", "14400", "--clock-start", "2026-11-23 08:00", NULL };
        struct proc *broker, *sim, *anjud;
        const char *config;
        char *extra;
        json_t *call;

        snprintf(dir, sizeof dir, "%s", h_tmpdir());
        broker = h_broker_start(mqtt_port);
        /* 14400x: a simulated day is 6 s. Retries back off to 10 min of the
         * daemon's clock; both endpoints are down (nothing listens). */
        snprintf(more, sizeof more, "[dispatch]\nretry_max = 10m\nfallback_url = http://127.0.0.1:%d/backup/v1/alarms\n",
                 sim_port);
        extra = smoke_sensors(n, more);
        config = h_write_config(dir, mqtt_port, sim_port, extra);
        anjud = h_anjud_start_args(config, args);
        ck_assert(h_wait_status(mqtt_port, HUB, "online", 10000));
        /* An alarm every two simulated hours, all day, into the void. */
        for (int i = 0; i < n; i++) {
                struct timespec d = { 0, 500 * 1000000L };
                smoke(mqtt_port, i);
                ck_assert_msg(h_wait_line(anjud, "failed (attempt", 5000) || i > 0, "no failed attempt");
                nanosleep(&d, NULL);    /* the day passes; nothing is being waited for */
        }
        /* Every alarm waits in the outbox: the fires, and what else a quiet day
         * of the high-risk resident raised (inactivity, the morning check). */
        ck_assert_int_eq(db_scalar(dir, "SELECT count(*) FROM outbox WHERE json_extract(body, '$.type') = 'fire'"), n);
        {
                char keys[64][40], incidents[64][40];
                bool seen[64] = { false };
                int total = outbox_keys(dir, keys, incidents, 64), k = 0;

                /* The center comes back: every call arrives once, and the calls
                 * of each incident in the order they were raised (incidents do
                 * not wait for each other). */
                sim = h_sim_start(sim_port, NULL);
                while (k < total && (call = h_sim_next_call(sim, 20000))) {
                        const char *key = json_string_value(json_object_get(json_object_get(call, "headers"),
                                                                            "idempotency-key"));
                        int i = sensor_of(call), at = -1;

                        for (int x = 0; x < total; x++)
                                if (strcmp(keys[x], key) == 0)
                                        at = x;
                        ck_assert_msg(at >= 0, "a call that was not in the outbox: %s", key);
                        if (seen[at]) {
                                json_decref(call);
                                continue;       /* a repeat (its answer was lost): the same key, fine */
                        }
                        for (int x = 0; x < at; x++)
                                ck_assert_msg(seen[x] || strcmp(incidents[x], incidents[at]) != 0,
                                              "call %d of incident %s came before its older call %d", at,
                                              incidents[at], x);
                        seen[at] = true;
                        if (i >= 0)
                                order[got++] = i;
                        k++;
                        json_decref(call);
                }
                printf("outage: a simulated day without the center: %d calls kept, each incident's delivered in "
                       "order on its return\n", total);
                ck_assert_int_eq(k, total);
        }
        ck_assert_int_eq(got, n);
        for (int i = 0; i < n; i++)
                ck_assert_msg(order[i] == i, "fire call %d was smoke_%d: not in the order raised", i, order[i]);
        ck_assert(h_wait_line(anjud, "link to the center is back", 10000));
        ck_assert_int_eq(db_wait(dir, "SELECT count(*) FROM outbox WHERE url IS NULL", 0, 10000), 0);
        h_stop(anjud, SIGTERM);
        h_stop(sim, SIGTERM);
        h_stop(broker, SIGTERM);
        free(extra);
}
END_TEST

START_TEST(test_broker_restarted_100_times_during_traffic) {
        const int n = 100;
        char dir[256], persist[512], seen_flags[100] = { 0 };
        int mqtt_port = h_free_port(), sim_port = h_free_port(), distinct = 0, posts = 0, reconnects = 0;
        struct proc *broker, *sim, *anjud;
        const char *config;
        char *extra;
        json_t *call;

        snprintf(dir, sizeof dir, "%s", h_tmpdir());
        /* A broker as deployed: it keeps sessions and retained state across
         * its own restarts (mosquitto drops root, so the directory is open). */
        chmod(dir, 0777);
        snprintf(persist, sizeof persist, "persistence true\npersistence_location %s/\nautosave_interval 1\n", dir);
        broker = h_broker_start_conf(mqtt_port, persist);
        sim = h_sim_start(sim_port, NULL);
        extra = smoke_sensors(n, "");
        config = h_write_config(dir, mqtt_port, sim_port, extra);
        anjud = h_anjud_start(config);
        ck_assert(h_wait_line(anjud, "mqtt: connected", 10000));
        for (int i = 0; i < n; i++) {
                smoke(mqtt_port, i);            /* traffic... */
                h_stop(broker, SIGTERM);        /* ...and the broker goes away under it */
                h_release(broker);
                broker = h_broker_start_conf(mqtt_port, persist);
                ck_assert_msg(h_wait_line(anjud, "mqtt: connected", 10000), "restart %d: anjud did not reconnect", i);
                reconnects++;
                while ((call = h_sim_next_call(sim, 0))) {
                        int k = sensor_of(call);
                        posts++;
                        if (k >= 0 && !seen_flags[k])
                                seen_flags[k] = 1, distinct++;
                        json_decref(call);
                }
        }
        while (distinct < n && (call = h_sim_next_call(sim, 20000))) {
                int k = sensor_of(call);
                posts++;
                if (k >= 0 && !seen_flags[k])
                        seen_flags[k] = 1, distinct++;
                json_decref(call);
        }
        printf("outage: broker restarted %d times, anjud reconnected %d times; %d alarms delivered, %d POSTs\n", n,
               reconnects, distinct, posts);
        ck_assert_int_eq(distinct, n);
        /* Every alarm once: one key each, one fire incident. */
        ck_assert_int_eq(db_wait(dir, "SELECT count(*) FROM deliveries WHERE kind = 'alarm'", n, 20000), n);
        ck_assert_int_eq(db_scalar(dir, "SELECT count(*) FROM incidents WHERE type = 'fire'"), 1);
        ck_assert_int_eq(reconnects, n);
        ck_assert_msg(h_alive(anjud), "anjud died");
        h_stop(anjud, SIGTERM);
        h_stop(sim, SIGTERM);
        h_stop(broker, SIGTERM);
        free(extra);
}
END_TEST

/* A control request straight on the socket; returns ms until the answer. */
static long long ctl_round_trip(const char *dir) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        long long t0 = now_ms();
        char buf[4096];
        ssize_t k;
        int fd = socket(AF_UNIX, SOCK_STREAM, 0);

        snprintf(sa.sun_path, sizeof sa.sun_path, "%s/ctl.sock", dir);
        ck_assert_int_eq(connect(fd, (struct sockaddr *) &sa, sizeof sa), 0);
        ck_assert_int_eq(write(fd, "{\"cmd\":\"status\"}\n", 17), 17);
        k = read(fd, buf, sizeof buf - 1);
        close(fd);
        ck_assert_int_gt(k, 0);
        buf[k] = '\0';
        ck_assert_ptr_nonnull(strstr(buf, "\"ok\": true") ? buf : strstr(buf, "\"ok\":true"));
        return now_ms() - t0;
}

START_TEST(test_a_center_answering_after_30_s_blocks_nothing) {
        const char *slow[] = { "--delay-ms", "30000", NULL };
        char dir[256], *extra;
        int mqtt_port = h_free_port(), sim_port = h_free_port(), fires = 0, sos = 0;
        struct proc *broker, *sim, *anjud;
        const char *config;
        long long t0, rt;
        json_t *call;

        snprintf(dir, sizeof dir, "%s", h_tmpdir());
        broker = h_broker_start(mqtt_port);
        sim = h_sim_start(sim_port, slow);
        extra = smoke_sensors(5, "[sensor sos]\nkind = button\ntopic = z/sos\n\n[dispatch]\ntimeout = 40s\n");
        config = h_write_config(dir, mqtt_port, sim_port, extra);
        anjud = h_anjud_start(config);
        ck_assert(h_wait_status(mqtt_port, HUB, "online", 10000));
        t0 = now_ms();
        for (int i = 0; i < 5; i++)
                smoke(mqtt_port, i);
        h_publish(mqtt_port, "z/sos", "{\"action\":\"sos\"}", 16, false);
        /* The fire's call and the SOS's reach the center at once, neither
         * answered yet: one incident does not wait for another. The fire's
         * four updates wait for its first call (order within an incident). */
        while (fires + sos < 2 && (call = h_sim_next_call(sim, 5000))) {
                const char *type = json_string_value(json_object_get(json_object_get(call, "body"), "type"));
                fires += type && strcmp(type, "fire") == 0;
                sos += type && strcmp(type, "sos") == 0;
                json_decref(call);
        }
        ck_assert_int_eq(fires, 1);
        ck_assert_int_eq(sos, 1);
        ck_assert_int_lt(now_ms() - t0, 5000);
        ck_assert_msg(!h_sim_next_call(sim, 1000), "an update overtook its incident's first call");
        /* The loop answers an operator while the calls hang. */
        rt = ctl_round_trip(dir);
        printf("outage: 2 calls in flight to a center answering after 30 s; anjuctl status answered in %lld ms\n", rt);
        ck_assert_int_lt(rt, 2000);
        ck_assert_msg(h_alive(anjud), "anjud died");
        h_stop(anjud, SIGTERM);
        h_stop(sim, SIGTERM);
        h_stop(broker, SIGTERM);
        free(extra);
}
END_TEST

int main(void) {
        Suite *s = suite_create("outage");
        TCase *t = tcase_create("outage");
        SRunner *sr;
        int failed;

        tcase_set_timeout(t, 600);
        tcase_add_test(t, test_primary_down_the_fallback_takes_the_call);
        tcase_add_test(t, test_center_down_a_whole_day_everything_arrives_each_incident_in_order);
        tcase_add_test(t, test_broker_restarted_100_times_during_traffic);
        tcase_add_test(t, test_a_center_answering_after_30_s_blocks_nothing);
        suite_add_tcase(s, t);
        sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
