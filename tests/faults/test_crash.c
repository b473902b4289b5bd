/* Crash consistency (issue 6, docs/RELIABILITY.md): anjud is killed with
 * SIGKILL at random points of the alarm flow, again and again, and
 * restarted. Each trial sets off one more smoke detector (a retained
 * "smoke": true, as Zigbee2MQTT publishes it) and kills the daemon 0–25 ms
 * later: before it read the message, while it stores the incident, while
 * the call is in flight, or after. At the end every detector must have
 * reached the dispatch center exactly once — one Idempotency-Key per alarm,
 * however many times that key was sent — and the database must be intact
 * with every timeline whole.
 *
 * Trials: $ANJU_FAULT_TRIALS (default 200; 1000 for a long run). */
#include "harness.h"

#include <check.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define HUB "test-hub"
#define SMOKE_ON "{\"battery\":97,\"battery_low\":false,\"linkquality\":129,\"smoke\":true,\"tamper\":false}"

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
                v = sqlite3_column_type(q, 0) == SQLITE_TEXT
                    ? (strcmp((const char *) sqlite3_column_text(q, 0), "ok") == 0 ? 1 : 0)
                    : sqlite3_column_int64(q, 0);
        sqlite3_finalize(q);
        sqlite3_close(db);
        return v;
}

struct seen {
        char keys[4][40];               /* distinct idempotency keys for this sensor */
        int n_keys;
        int posts;                      /* every POST, retries included */
};

static void note_call(json_t *call, struct seen *seen, int n) {
        json_t *body = json_object_get(call, "body");
        const char *sensor = json_string_value(json_object_get(json_object_get(body, "sensor"), "id"));
        const char *key = json_string_value(json_object_get(json_object_get(call, "headers"), "idempotency-key"));
        int i;

        if (!sensor || !key || sscanf(sensor, "smoke_%d", &i) != 1 || i < 0 || i >= n)
                return;
        seen[i].posts++;
        for (int k = 0; k < seen[i].n_keys; k++)
                if (strcmp(seen[i].keys[k], key) == 0)
                        return;
        if (seen[i].n_keys < 4)
                snprintf(seen[i].keys[seen[i].n_keys++], sizeof seen[i].keys[0], "%s", key);
}

START_TEST(test_sigkill_anywhere_loses_no_alarm_and_duplicates_none) {
        const char *env = getenv("ANJU_FAULT_TRIALS");
        int trials = env ? atoi(env) : 200;
        char *extra, dir[256];
        size_t cap, len = 0;
        int mqtt_port, sim_port, kills = 0, delivered = 0, total_posts = 0, missing = 0, duplicated = 0;
        struct proc *broker, *sim, *anjud;
        struct seen *seen;
        const char *config;
        json_t *call;
        unsigned seed = (unsigned) time(NULL);

        if (trials < 1 || trials > 5000)
                trials = 200;
        srand(seed);
        printf("faults: %d trials, random seed %u\n", trials, seed);
        seen = calloc((size_t) trials, sizeof *seen);
        cap = (size_t) trials * 96 + 256;
        extra = malloc(cap);
        ck_assert_ptr_nonnull(seen);
        ck_assert_ptr_nonnull(extra);
        for (int i = 0; i < trials; i++)
                len += (size_t) snprintf(extra + len, cap - len,
                                         "[sensor smoke_%d]\nkind = smoke\nroom = room %d\ntopic = z/smoke_%d\n\n",
                                         i, i, i);
        snprintf(dir, sizeof dir, "%s", h_tmpdir());
        mqtt_port = h_free_port();
        sim_port = h_free_port();
        broker = h_broker_start(mqtt_port);
        sim = h_sim_start(sim_port, NULL);
        /* Retries every 50-200 ms, so a replayed call goes out quickly. */
        len += (size_t) snprintf(extra + len, cap - len, "[dispatch]\nretry_min = 50ms\nretry_max = 200ms\n");
        config = h_write_config(dir, mqtt_port, sim_port, extra);

        for (int i = 0; i < trials; i++) {
                char topic[64];
                struct timespec d = { 0, (long) (rand() % 25) * 1000000L + rand() % 1000000 };

                anjud = h_anjud_start(config);
                ck_assert_msg(h_wait_status(mqtt_port, HUB, "online", 20000), "trial %d: anjud did not come back", i);
                snprintf(topic, sizeof topic, "z/smoke_%d", i);
                h_publish(mqtt_port, topic, SMOKE_ON, strlen(SMOKE_ON), true);
                nanosleep(&d, NULL);    /* picks the point of the kill, waits for nothing */
                h_stop(anjud, SIGKILL);
                h_release(anjud);
                kills++;
                while ((call = h_sim_next_call(sim, 0))) {
                        note_call(call, seen, trials);
                        json_decref(call);
                }
        }
        /* The last start: everything raised before any kill must now arrive. */
        anjud = h_anjud_start(config);
        ck_assert_msg(h_wait_status(mqtt_port, HUB, "online", 20000), "anjud did not come back at the end");
        for (;;) {
                int have = 0;
                for (int i = 0; i < trials; i++)
                        have += seen[i].n_keys > 0;
                if (have == trials)
                        break;
                call = h_sim_next_call(sim, 30000);
                if (!call)
                        break;          /* reported below: which ones never came */
                note_call(call, seen, trials);
                json_decref(call);
        }
        /* Straggling retries of keys already seen may still come: take them. */
        while ((call = h_sim_next_call(sim, 500))) {
                note_call(call, seen, trials);
                json_decref(call);
        }
        for (int i = 0; i < trials; i++) {
                total_posts += seen[i].posts;
                delivered += seen[i].n_keys == 1;
                missing += seen[i].n_keys == 0;
                duplicated += seen[i].n_keys > 1;
                if (seen[i].n_keys != 1)
                        printf("faults: smoke_%d reached the center with %d distinct keys (%d posts)\n", i,
                               seen[i].n_keys, seen[i].posts);
        }
        h_stop(anjud, SIGTERM);
        printf("faults: %d kills, %d alarms, %d delivered exactly once by key, %d missing, %d with two keys; "
               "%d POSTs in all (%d repeats of a key, deduplicated by the center)\n",
               kills, trials, delivered, missing, duplicated, total_posts, total_posts - trials);
        ck_assert_int_eq(missing, 0);
        ck_assert_int_eq(duplicated, 0);
        /* The record: intact, nothing left undelivered, one delivery per alarm,
         * every trigger on the fire incident's timeline. */
        ck_assert_int_eq(db_scalar(dir, "PRAGMA integrity_check"), 1);
        ck_assert_int_eq(db_scalar(dir, "SELECT count(*) FROM outbox"), 0);
        ck_assert_int_eq(db_scalar(dir, "SELECT count(*) FROM deliveries WHERE kind = 'alarm'"), trials);
        ck_assert_int_eq(db_scalar(dir, "SELECT count(*) FROM incidents WHERE type = 'fire'"), 1);
        ck_assert_int_eq(db_scalar(dir, "SELECT count(DISTINCT sensor) FROM incident_sensors"), trials);
        ck_assert_int_eq(db_scalar(dir, "SELECT count(*) FROM timeline WHERE event = 'opened'"), 1);
        ck_assert_int_eq(db_scalar(dir, "SELECT count(*) FROM timeline WHERE event = 'dispatch_delivered'"), trials);
        ck_assert_int_eq(db_scalar(dir, "SELECT count(*) FROM timeline t LEFT JOIN incidents i ON i.id = t.incident"
                                        " WHERE i.id IS NULL"), 0);
        h_stop(sim, SIGTERM);
        h_stop(broker, SIGTERM);
        free(seen);
        free(extra);
}
END_TEST

int main(void) {
        Suite *s = suite_create("faults");
        TCase *t = tcase_create("crash");
        SRunner *sr;
        int failed;

        tcase_set_timeout(t, 1800);
        tcase_add_test(t, test_sigkill_anywhere_loses_no_alarm_and_duplicates_none);
        suite_add_tcase(s, t);
        sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
