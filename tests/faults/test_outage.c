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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define SMOKE_ON "{\"battery\":97,\"smoke\":true}"

static void smoke(struct h_rig *r, int i) {
        char topic[32];

        snprintf(topic, sizeof topic, "z/smoke_%d", i);
        h_publish(r->mqtt_port, topic, SMOKE_ON, strlen(SMOKE_ON), true);
}

/* The keys of the outbox, oldest first (the order the alarms were raised),
 * and the incident of each. */
static int outbox_keys(struct h_rig *r, char keys[][40], char incidents[][40], int max) {
        static char rows[16384];
        const char *p = h_rig_db_list(r, "SELECT key || ' ' || incident FROM outbox WHERE url IS NULL ORDER BY id",
                                      rows, sizeof rows);
        int n = 0, used = 0;

        while (n < max && sscanf(p, "%39s %39[^,]%n", keys[n], incidents[n], &used) == 2) {
                n++;
                p += used + (p[used] == ',');
        }
        return n;
}

START_TEST(test_primary_down_the_fallback_takes_the_call) {
        char extra[512];
        int down = h_free_port();
        struct h_rig r;
        json_t *call;

        /* The primary is a port nobody listens on. */
        snprintf(extra, sizeof extra, "[dispatch]\nurl = http://127.0.0.1:%d/api/v1/alarms\n"
                 "fallback_url = http://127.0.0.1:@SIM_PORT@/backup/v1/alarms\nfallback_after = 2\n", down);
        h_rig_up(&r, &(struct h_rig_opts) { .config = extra, .no_sub = true });
        h_rig_pub(&r, "zigbee2mqtt/kitchen_smoke", SMOKE_ON);
        call = h_sim_next_call(r.sim, 15000);
        ck_assert_msg(call != NULL, "the fallback never got the call");
        ck_assert_str_eq(json_string_value(json_object_get(call, "path")), "/backup/v1/alarms");
        json_decref(call);
        ck_assert(h_wait_line(r.anjud, "delivered to http://127.0.0.1", 5000));
        ck_assert_int_eq(h_rig_db_wait(&r, "SELECT count(*) FROM deliveries WHERE url LIKE '%/backup/%'", 1, 5000), 1);
        ck_assert_int_ge(h_rig_db(&r, "SELECT attempts FROM deliveries"), 3);
        h_stop(r.anjud, SIGTERM);
        h_rig_down(&r);
}
END_TEST

START_TEST(test_center_down_a_whole_day_everything_arrives_each_incident_in_order) {
        const int n = 12;
        int order[12], got = 0;
        struct h_rig r;
        char *config;
        json_t *call;

        /* 14400x: a simulated day is 6 s. Retries back off to 10 min of the
         * daemon's clock; both endpoints are down (nothing listens). */
        config = h_smoke_sensors(n, "[dispatch]\nretry_max = 10m\n"
                                    "fallback_url = http://127.0.0.1:@SIM_PORT@/backup/v1/alarms\n");
        h_rig_up(&r, &(struct h_rig_opts) { .scale = "14400", .start = "2026-11-23 08:00", .config = config,
                                            .no_sim = true, .no_sub = true });
        /* An alarm every two simulated hours, all day, into the void. */
        for (int i = 0; i < n; i++) {
                struct timespec d = { 0, 500 * 1000000L };
                smoke(&r, i);
                ck_assert_msg(h_wait_line(r.anjud, "failed (attempt", 5000) || i > 0, "no failed attempt");
                nanosleep(&d, NULL);    /* the day passes; nothing is being waited for */
        }
        /* Every alarm waits in the outbox: the fires, and what else a quiet day
         * of the high-risk resident raised (inactivity, the morning check). */
        ck_assert_int_eq(h_rig_db(&r, "SELECT count(*) FROM outbox WHERE json_extract(body, '$.type') = 'fire'"), n);
        {
                char keys[64][40], incidents[64][40];
                bool seen[64] = { false };
                int total = outbox_keys(&r, keys, incidents, 64), k = 0;

                /* The center comes back: every call arrives once, and the calls
                 * of each incident in the order they were raised (incidents do
                 * not wait for each other). */
                r.sim = h_sim_start(r.sim_port, NULL);
                while (k < total && (call = h_sim_next_call(r.sim, 20000))) {
                        const char *key = json_string_value(json_object_get(json_object_get(call, "headers"),
                                                                            "idempotency-key"));
                        int i = h_smoke_index(call), at = -1;

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
        ck_assert(h_wait_line(r.anjud, "link to the center is back", 10000));
        ck_assert_int_eq(h_rig_db_wait(&r, "SELECT count(*) FROM outbox WHERE url IS NULL", 0, 10000), 0);
        h_stop(r.anjud, SIGTERM);
        h_rig_down(&r);
        free(config);
}
END_TEST

START_TEST(test_broker_restarted_100_times_during_traffic) {
        const int n = 100;
        char keep[256], persist[512], seen_flags[100] = { 0 };
        int distinct = 0, posts = 0, reconnects = 0;
        struct h_rig r;
        char *config;
        json_t *call;

        /* A broker as deployed: it keeps sessions and retained state across
         * its own restarts (mosquitto drops root, so the directory is open). */
        snprintf(keep, sizeof keep, "%s", h_tmpdir());
        chmod(keep, 0777);
        snprintf(persist, sizeof persist, "persistence true\npersistence_location %s/\nautosave_interval 1\n", keep);
        config = h_smoke_sensors(n, "");
        h_rig_up(&r, &(struct h_rig_opts) { .config = config, .broker_conf = persist, .no_sub = true });
        ck_assert(h_wait_line(r.anjud, "mqtt: connected", 10000));
        for (int i = 0; i < n; i++) {
                smoke(&r, i);                   /* traffic... */
                h_stop(r.broker, SIGTERM);      /* ...and the broker goes away under it */
                h_release(r.broker);
                r.broker = h_broker_start_conf(r.mqtt_port, persist);
                ck_assert_msg(h_wait_line(r.anjud, "mqtt: connected", 10000), "restart %d: anjud did not reconnect", i);
                reconnects++;
                while ((call = h_sim_next_call(r.sim, 0))) {
                        int k = h_smoke_index(call);
                        posts++;
                        if (k >= 0 && !seen_flags[k])
                                seen_flags[k] = 1, distinct++;
                        json_decref(call);
                }
        }
        while (distinct < n && (call = h_sim_next_call(r.sim, 20000))) {
                int k = h_smoke_index(call);
                posts++;
                if (k >= 0 && !seen_flags[k])
                        seen_flags[k] = 1, distinct++;
                json_decref(call);
        }
        printf("outage: broker restarted %d times, anjud reconnected %d times; %d alarms delivered, %d POSTs\n", n,
               reconnects, distinct, posts);
        ck_assert_int_eq(distinct, n);
        /* Every alarm once: one key each, one fire incident. */
        ck_assert_int_eq(h_rig_db_wait(&r, "SELECT count(*) FROM deliveries WHERE kind = 'alarm'", n, 20000), n);
        ck_assert_int_eq(h_rig_db(&r, "SELECT count(*) FROM incidents WHERE type = 'fire'"), 1);
        ck_assert_int_eq(reconnects, n);
        h_rig_down(&r);                 /* anjud must not have died */
        free(config);
}
END_TEST

START_TEST(test_a_center_answering_after_30_s_blocks_nothing) {
        const char *slow[] = { "--delay-ms", "30000", NULL };
        int fires = 0, sos = 0, rc;
        struct h_rig r;
        long long t0, rt;
        char *config;
        json_t *call, *status;

        config = h_smoke_sensors(5, "[sensor sos]\nkind = button\ntopic = z/sos\n\n[dispatch]\ntimeout = 40s\n");
        h_rig_up(&r, &(struct h_rig_opts) { .config = config, .sim_args = slow, .no_sub = true });
        t0 = h_now_ms();
        for (int i = 0; i < 5; i++)
                smoke(&r, i);
        h_rig_pub(&r, "z/sos", "{\"action\":\"sos\"}");
        /* The fire's call and the SOS's reach the center at once, neither
         * answered yet: one incident does not wait for another. The fire's
         * four updates wait for its first call (order within an incident). */
        while (fires + sos < 2 && (call = h_sim_next_call(r.sim, 5000))) {
                const char *type = json_string_value(json_object_get(json_object_get(call, "body"), "type"));
                fires += type && strcmp(type, "fire") == 0;
                sos += type && strcmp(type, "sos") == 0;
                json_decref(call);
        }
        ck_assert_int_eq(fires, 1);
        ck_assert_int_eq(sos, 1);
        ck_assert_int_lt(h_now_ms() - t0, 5000);
        ck_assert_msg(!h_sim_next_call(r.sim, 1000), "an update overtook its incident's first call");
        /* The loop answers an operator while the calls hang. */
        t0 = h_now_ms();
        status = h_rig_ctl_json(&r, &rc, "status", NULL);
        rt = h_now_ms() - t0;
        ck_assert_int_eq(rc, 0);
        ck_assert(json_is_true(json_object_get(status, "ok")));
        json_decref(status);
        printf("outage: 2 calls in flight to a center answering after 30 s; anjuctl status answered in %lld ms\n", rt);
        ck_assert_int_lt(rt, 2000);
        h_rig_down(&r);                 /* anjud must not have died */
        free(config);
}
END_TEST

int main(void) {
        Suite *s = suite_create("outage");
        TCase *t = tcase_create("outage");

        tcase_set_timeout(t, 600);
        tcase_add_test(t, test_primary_down_the_fallback_takes_the_call);
        tcase_add_test(t, test_center_down_a_whole_day_everything_arrives_each_incident_in_order);
        tcase_add_test(t, test_broker_restarted_100_times_during_traffic);
        tcase_add_test(t, test_a_center_answering_after_30_s_blocks_nothing);
        suite_add_tcase(s, t);
        return run_suite(s);
}
