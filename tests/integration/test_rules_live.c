/* The timed rules end to end through the real anjud, broker and HTTP
 * server, on a scaled clock (anjud --time-scale N --clock-start T): a
 * resident who stops moving, a fall nobody cancels, and falls the resident
 * cancels from the wristband or with the ack topic. */
#include "harness.h"

#include <check.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HUB "test-hub"
#define PROMPT "anju/" HUB "/prompt"
#define ALERT "anju/" HUB "/alert"

struct rig {
        const char *dir;
        int mqtt_port, sim_port;
        struct proc *broker, *sim, *anjud, *sub;
        const char *config;
};

static void pub(struct rig *r, const char *topic, const char *payload) {
        h_publish(r->mqtt_port, topic, payload, strlen(payload), false);
}

/* Broker, simulator, a subscriber on anju/<hub>/#, and anjud on a clock
 * scale times faster that starts at the local time start. */
static void rig_up(struct rig *r, const char *scale, const char *start, const char *extra_config) {
        static char dir[256];
        const char *args[] = { "--time-scale", scale, "--clock-start", start, NULL };

        snprintf(dir, sizeof dir, "%s", h_tmpdir());
        r->dir = dir;
        r->mqtt_port = h_free_port();
        r->sim_port = h_free_port();
        r->broker = h_broker_start(r->mqtt_port);
        r->sim = h_sim_start(r->sim_port, NULL);
        r->sub = h_sub_start(r->mqtt_port, "anju/" HUB "/#");
        r->config = h_write_config(dir, r->mqtt_port, r->sim_port, extra_config);
        r->anjud = h_anjud_start_args(r->config, args);
        ck_assert_msg(h_wait_status(r->mqtt_port, HUB, "online", 10000), "anjud did not come online");
}

static void rig_down(struct rig *r) {
        ck_assert_msg(h_alive(r->anjud), "anjud died");
        h_stop(r->anjud, SIGTERM);
        h_stop(r->sub, SIGTERM);
        h_stop(r->sim, SIGTERM);
        h_stop(r->broker, SIGTERM);
}

static json_t *body_of(json_t *call) {
        return json_incref(json_object_get(call, "body"));
}

static const char *str(json_t *o, const char *k) {
        return json_string_value(json_object_get(o, k));
}

/* The state and the timeline events of an incident, read from the database. */
static void db_incident(const char *dir, const char *id, char *state, size_t n, char *events, size_t m) {
        char path[512];
        sqlite3 *db;
        sqlite3_stmt *q;

        snprintf(path, sizeof path, "%s/anju.db", dir);
        ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
        ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT state, closed_at IS NOT NULL FROM incidents WHERE id = ?1",
                                            -1, &q, NULL), SQLITE_OK);
        sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
        ck_assert_int_eq(sqlite3_step(q), SQLITE_ROW);
        snprintf(state, n, "%s%s", sqlite3_column_text(q, 0), sqlite3_column_int(q, 1) ? " closed" : "");
        sqlite3_finalize(q);
        ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT event FROM timeline WHERE incident = ?1 ORDER BY seq",
                                            -1, &q, NULL), SQLITE_OK);
        sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
        events[0] = '\0';
        while (sqlite3_step(q) == SQLITE_ROW) {
                size_t l = strlen(events);
                snprintf(events + l, m - l, "%s%s", l ? "," : "", sqlite3_column_text(q, 0));
        }
        sqlite3_finalize(q);
        sqlite3_close(db);
}

/* Waits for the prompt to start and returns its incident id (static). */
static const char *wait_prompt(struct rig *r) {
        static char id[64];
        char *msg = h_wait_message(r->sub, PROMPT, "\"start\"", 10000);
        json_t *j;

        ck_assert_msg(msg != NULL, "no prompt on " PROMPT);
        j = json_loads(msg, 0, NULL);
        ck_assert_ptr_nonnull(j);
        ck_assert_str_eq(str(j, "type"), "fall");
        ck_assert_str_eq(str(j, "pattern"), "pulsed");
        ck_assert_int_eq(json_integer_value(json_object_get(j, "window_s")), 30);
        snprintf(id, sizeof id, "%s", str(j, "incident"));
        json_decref(j);
        free(msg);
        return id;
}

START_TEST(test_no_movement_for_the_day_limit_calls_with_the_reason) {
        struct rig r = { 0 };
        json_t *call, *body, *rule;

        /* 600x: the 30-minute limit passes in 3 s of real time. */
        rig_up(&r, "600", "2026-11-23 09:00", "[rule inactivity]\nday_limit = 30m\n");
        pub(&r, "zigbee2mqtt/living_pir", "{\"occupancy\":true,\"battery\":90}");
        call = h_sim_next_call(r.sim, 20000);
        ck_assert_msg(call != NULL, "no call for inactivity");
        body = body_of(call);
        ck_assert_str_eq(str(body, "type"), "inactivity");
        ck_assert_str_eq(str(body, "severity"), "urgent");
        /* "No movement since 09:00, 30 min; last seen in the living room" (a
         * minute more on a loaded machine: 1 s real is 10 min here). */
        ck_assert_msg(strstr(str(body, "reason"), "No movement since 09:0") &&
                      (strstr(str(body, "reason"), ", 30 min;") || strstr(str(body, "reason"), ", 31 min;") ||
                       strstr(str(body, "reason"), ", 32 min;")) &&
                      strstr(str(body, "reason"), "last seen in the living room"),
                      "reason: %s", str(body, "reason"));
        rule = json_object_get(body, "rule");
        ck_assert_str_eq(str(rule, "name"), "inactivity");
        /* On the scaled clock: raised 30 min after the motion, and urgent, so
         * the ladder calls the center 180 s later when nobody has answered
         * (no contacts here); give or take the slack of a loaded machine. */
        ck_assert_int_ge(json_integer_value(json_object_get(rule, "duration_s")), 1800 + 180);
        ck_assert_int_le(json_integer_value(json_object_get(rule, "duration_s")), 1800 + 180 + 120);
        json_decref(body);
        json_decref(call);
        rig_down(&r);
}
END_TEST

START_TEST(test_a_fall_nobody_cancels_prompts_then_calls_after_the_window) {
        struct rig r = { 0 };
        char state[64], events[256];
        const char *id;
        json_t *call, *body;

        rig_up(&r, "10", "2026-11-23 15:00", "");
        pub(&r, "band/ye", "{\"fall\":true,\"heart_rate\":95,\"lat\":28.9702,\"lon\":118.8593,\"accuracy\":12}");
        id = wait_prompt(&r);
        /* 30 s of the window = 3 s of real time; no cancel comes. */
        call = h_sim_next_call(r.sim, 15000);
        ck_assert_msg(call != NULL, "no call after the pre-alarm window");
        body = body_of(call);
        ck_assert_str_eq(str(body, "type"), "fall");
        ck_assert_str_eq(str(body, "severity"), "critical");
        ck_assert_str_eq(str(body, "id"), id);
        ck_assert_msg(strstr(str(body, "reason"), "not cancelled within 30 s"), "reason: %s", str(body, "reason"));
        ck_assert_int_ge(json_integer_value(json_object_get(json_object_get(body, "rule"), "duration_s")), 30);
        json_decref(body);
        json_decref(call);
        ck_assert_msg(h_saw_message(r.sub, PROMPT, "\"stop\"", 5000), "the prompt did not stop");
        db_incident(r.dir, id, state, sizeof state, events, sizeof events);
        /* Critical: called at once; no contacts configured here, so the
         * volunteer and grid steps are skipped on the record. */
        ck_assert_msg(strncmp(events, "prealarm,opened,called,step_skipped,step_skipped", 48) == 0,
                      "timeline: %s", events);
        rig_down(&r);
}
END_TEST

/* A cancel in time: no call; the incident is closed as cancelled by the
 * resident, on the record. */
static void cancelled_fall(const char *cancel_topic, const char *cancel_payload_fmt, const char *actor) {
        struct rig r = { 0 };
        char state[64], events[256], payload[256];
        const char *id;

        rig_up(&r, "10", "2026-11-23 15:00", "");
        pub(&r, "band/ye", "{\"fall\":true}");
        id = wait_prompt(&r);
        snprintf(payload, sizeof payload, cancel_payload_fmt, id);
        pub(&r, cancel_topic, payload);
        ck_assert_msg(h_saw_message(r.sub, PROMPT, "\"stop\"", 5000), "the prompt did not stop");
        snprintf(payload, sizeof payload, "cancelled by the resident (%s)", actor);
        ck_assert_msg(h_wait_line(r.anjud, payload, 5000), "no \"%s\" in the log", payload);
        /* Past the end of the window (30 s = 3 s real) and then some: no call. */
        ck_assert_msg(h_sim_next_call(r.sim, 4500) == NULL, "a cancelled fall was called in");
        db_incident(r.dir, id, state, sizeof state, events, sizeof events);
        ck_assert_str_eq(state, "cancelled closed");
        ck_assert_str_eq(events, "prealarm,cancelled");
        rig_down(&r);
}

START_TEST(test_a_fall_cancelled_from_the_wristband_is_never_called) {
        cancelled_fall("band/ye", "{\"cancel\":true,\"incident\":\"%s\"}", "band via sensor");
}
END_TEST

START_TEST(test_a_fall_cancelled_on_the_ack_topic_is_never_called) {
        cancelled_fall("anju/" HUB "/ack", "{\"incident\":\"%s\",\"action\":\"cancel\",\"by\":\"Ye Ayi\"}",
                       "Ye Ayi via mqtt");
}
END_TEST

START_TEST(test_an_ack_for_an_unknown_incident_is_refused) {
        struct rig r = { 0 };
        json_t *call, *body;

        rig_up(&r, "10", "2026-11-23 15:00", "");
        pub(&r, "band/ye", "{\"fall\":true}");
        (void) wait_prompt(&r);
        pub(&r, "anju/" HUB "/ack", "{\"incident\":\"20260101-000000\",\"action\":\"cancel\",\"by\":\"x\"}");
        ck_assert_msg(h_wait_line(r.anjud, "ack refused", 5000), "the bad ack was not refused");
        /* The real pre-alarm still runs out and calls. */
        call = h_sim_next_call(r.sim, 15000);
        ck_assert_msg(call != NULL, "the fall was not called in");
        body = body_of(call);
        ck_assert_str_eq(str(body, "type"), "fall");
        json_decref(body);
        json_decref(call);
        rig_down(&r);
}
END_TEST

int main(void) {
        Suite *s = suite_create("rules-live");
        TCase *t = tcase_create("scaled clock");
        SRunner *sr;
        int failed;

        tcase_set_timeout(t, 120);
        tcase_add_test(t, test_no_movement_for_the_day_limit_calls_with_the_reason);
        tcase_add_test(t, test_a_fall_nobody_cancels_prompts_then_calls_after_the_window);
        tcase_add_test(t, test_a_fall_cancelled_from_the_wristband_is_never_called);
        tcase_add_test(t, test_a_fall_cancelled_on_the_ack_topic_is_never_called);
        tcase_add_test(t, test_an_ack_for_an_unknown_incident_is_refused);
        suite_add_tcase(s, t);
        sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
