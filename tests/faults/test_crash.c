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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SMOKE_ON "{\"battery\":97,\"battery_low\":false,\"linkquality\":129,\"smoke\":true,\"tamper\":false}"

struct seen {
        char keys[4][40];               /* distinct idempotency keys for this sensor */
        int n_keys;
        int posts;                      /* every POST, retries included */
};

static void note_call(json_t *call, struct seen *seen, int n) {
        const char *key = json_string_value(json_object_get(json_object_get(call, "headers"), "idempotency-key"));
        int i = h_smoke_index(call);

        if (!key || i < 0 || i >= n)
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
        char *config, integrity[64];
        int kills = 0, delivered = 0, total_posts = 0, missing = 0, duplicated = 0;
        struct h_rig r;
        struct seen *seen;
        json_t *call;
        unsigned seed = (unsigned) time(NULL);

        if (trials < 1 || trials > 5000)
                trials = 200;
        srand(seed);
        printf("faults: %d trials, random seed %u\n", trials, seed);
        seen = calloc((size_t) trials, sizeof *seen);
        ck_assert_ptr_nonnull(seen);
        /* Retries every 50-200 ms, so a replayed call goes out quickly. */
        config = h_smoke_sensors(trials, "[dispatch]\nretry_min = 50ms\nretry_max = 200ms\n");
        h_rig_up(&r, &(struct h_rig_opts) { .config = config, .no_sub = true, .no_anjud = true });

        for (int i = 0; i < trials; i++) {
                char topic[64];
                struct timespec d = { 0, (long) (rand() % 25) * 1000000L + rand() % 1000000 };

                h_rig_anjud(&r);        /* the one killed before is released */
                snprintf(topic, sizeof topic, "z/smoke_%d", i);
                h_publish(r.mqtt_port, topic, SMOKE_ON, strlen(SMOKE_ON), true);
                nanosleep(&d, NULL);    /* picks the point of the kill, waits for nothing */
                h_stop(r.anjud, SIGKILL);
                kills++;
                while ((call = h_sim_next_call(r.sim, 0))) {
                        note_call(call, seen, trials);
                        json_decref(call);
                }
        }
        /* The last start: everything raised before any kill must now arrive. */
        h_rig_anjud(&r);
        for (;;) {
                int have = 0;
                for (int i = 0; i < trials; i++)
                        have += seen[i].n_keys > 0;
                if (have == trials)
                        break;
                call = h_sim_next_call(r.sim, 30000);
                if (!call)
                        break;          /* reported below: which ones never came */
                note_call(call, seen, trials);
                json_decref(call);
        }
        /* Straggling retries of keys already seen may still come: take them. */
        while ((call = h_sim_next_call(r.sim, 500))) {
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
        h_stop(r.anjud, SIGTERM);
        printf("faults: %d kills, %d alarms, %d delivered exactly once by key, %d missing, %d with two keys; "
               "%d POSTs in all (%d repeats of a key, deduplicated by the center)\n",
               kills, trials, delivered, missing, duplicated, total_posts, total_posts - trials);
        ck_assert_int_eq(missing, 0);
        ck_assert_int_eq(duplicated, 0);
        /* The record: intact, nothing left undelivered, one delivery per alarm,
         * every trigger on the fire incident's timeline. */
        ck_assert_str_eq(h_rig_db_text(&r, "PRAGMA integrity_check", integrity, sizeof integrity), "ok");
        ck_assert_int_eq(h_rig_db(&r, "SELECT count(*) FROM outbox"), 0);
        ck_assert_int_eq(h_rig_db(&r, "SELECT count(*) FROM deliveries WHERE kind = 'alarm'"), trials);
        ck_assert_int_eq(h_rig_db(&r, "SELECT count(*) FROM incidents WHERE type = 'fire'"), 1);
        ck_assert_int_eq(h_rig_db(&r, "SELECT count(DISTINCT sensor) FROM incident_sensors"), trials);
        ck_assert_int_eq(h_rig_db(&r, "SELECT count(*) FROM timeline WHERE event = 'opened'"), 1);
        ck_assert_int_eq(h_rig_db(&r, "SELECT count(*) FROM timeline WHERE event = 'dispatch_delivered'"), trials);
        ck_assert_int_eq(h_rig_db(&r, "SELECT count(*) FROM timeline t LEFT JOIN incidents i ON i.id = t.incident"
                                     " WHERE i.id IS NULL"), 0);
        h_rig_down(&r);
        free(seen);
        free(config);
}
END_TEST

int main(void) {
        Suite *s = suite_create("faults");
        TCase *t = tcase_create("crash");

        tcase_set_timeout(t, 1800);
        tcase_add_test(t, test_sigkill_anywhere_loses_no_alarm_and_duplicates_none);
        suite_add_tcase(s, t);
        return run_suite(s);
}
