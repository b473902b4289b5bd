/* The timed rules end to end through the real anjud, broker and HTTP
 * server, on a scaled clock (anjud --time-scale N --clock-start T): a
 * resident who stops moving, a fall nobody cancels, and falls the resident
 * cancels from the wristband or with the ack topic. */
#include "harness.h"

#include <check.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROMPT "anju/" H_HUB "/prompt"

/* The falls: 10x, so the 30 s pre-alarm window is 3 s of real time. */
static const struct h_rig_opts afternoon = { .scale = "10", .start = "2026-11-23 15:00" };

static json_t *body_of(json_t *call) {
        return json_incref(json_object_get(call, "body"));
}

static const char *str(json_t *o, const char *k) {
        return json_string_value(json_object_get(o, k));
}

/* The state of an incident (" closed" added once it is closed) and its
 * timeline events, read from the database. */
static void db_incident(struct h_rig *r, const char *id, char *state, size_t n, char *events, size_t m) {
        char sql[256];

        snprintf(sql, sizeof sql, "SELECT state || CASE WHEN closed_at IS NULL THEN '' ELSE ' closed' END "
                 "FROM incidents WHERE id = '%s'", id);
        ck_assert_msg(h_rig_db_text(r, sql, state, n)[0] != '\0', "no incident %s in the database", id);
        h_rig_timeline(r, id, false, events, m);
}

/* Waits for the prompt to start and returns its incident id (static). */
static const char *wait_prompt(struct h_rig *r) {
        static char id[64];
        json_t *j = h_wait_json(r->sub, PROMPT, "\"start\"", 10000);

        ck_assert_msg(j != NULL, "no prompt on " PROMPT);
        ck_assert_str_eq(str(j, "type"), "fall");
        ck_assert_str_eq(str(j, "pattern"), "pulsed");
        ck_assert_int_eq(json_integer_value(json_object_get(j, "window_s")), 30);
        snprintf(id, sizeof id, "%s", str(j, "incident"));
        json_decref(j);
        return id;
}

START_TEST(test_no_movement_for_the_day_limit_calls_with_the_reason) {
        struct h_rig r;
        json_t *call, *body, *rule;

        /* 600x: the 30-minute limit passes in 3 s of real time. */
        h_rig_up(&r, &(struct h_rig_opts) { .scale = "600", .start = "2026-11-23 09:00",
                                            .config = "[rule inactivity]\nday_limit = 30m\n" });
        h_rig_pub(&r, "zigbee2mqtt/living_pir", "{\"occupancy\":true,\"battery\":90}");
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
        h_rig_down(&r);
}
END_TEST

START_TEST(test_a_fall_nobody_cancels_prompts_then_calls_after_the_window) {
        struct h_rig r;
        char state[64], events[256];
        const char *id;
        json_t *call, *body;

        h_rig_up(&r, &afternoon);
        h_rig_pub(&r, "band/ye", "{\"fall\":true,\"heart_rate\":95,\"lat\":28.9702,\"lon\":118.8593,\"accuracy\":12}");
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
        db_incident(&r, id, state, sizeof state, events, sizeof events);
        /* Critical: called at once; no contacts configured here, so the
         * volunteer and grid steps are skipped on the record. */
        ck_assert_msg(strncmp(events, "prealarm,opened,called,step_skipped,step_skipped", 48) == 0,
                      "timeline: %s", events);
        h_rig_down(&r);
}
END_TEST

/* A cancel in time: no call; the incident is closed as cancelled by the
 * resident, on the record. */
static void cancelled_fall(const char *cancel_topic, const char *cancel_payload_fmt, const char *actor) {
        struct h_rig r;
        char state[64], events[256], payload[256];
        const char *id;

        h_rig_up(&r, &afternoon);
        h_rig_pub(&r, "band/ye", "{\"fall\":true}");
        id = wait_prompt(&r);
        snprintf(payload, sizeof payload, cancel_payload_fmt, id);
        h_rig_pub(&r, cancel_topic, payload);
        ck_assert_msg(h_saw_message(r.sub, PROMPT, "\"stop\"", 5000), "the prompt did not stop");
        snprintf(payload, sizeof payload, "cancelled by the resident (%s)", actor);
        ck_assert_msg(h_wait_line(r.anjud, payload, 5000), "no \"%s\" in the log", payload);
        /* Past the end of the window (30 s = 3 s real) and then some: no call. */
        ck_assert_msg(h_sim_next_call(r.sim, 4500) == NULL, "a cancelled fall was called in");
        db_incident(&r, id, state, sizeof state, events, sizeof events);
        ck_assert_str_eq(state, "cancelled closed");
        ck_assert_str_eq(events, "prealarm,cancelled");
        h_rig_down(&r);
}

START_TEST(test_a_fall_cancelled_from_the_wristband_is_never_called) {
        cancelled_fall("band/ye", "{\"cancel\":true,\"incident\":\"%s\"}", "band via sensor");
}
END_TEST

START_TEST(test_a_fall_cancelled_on_the_ack_topic_is_never_called) {
        cancelled_fall("anju/" H_HUB "/ack", "{\"incident\":\"%s\",\"action\":\"cancel\",\"by\":\"Ye Ayi\"}",
                       "Ye Ayi via mqtt");
}
END_TEST

/* The window ran out while anjud was busy (here: stopped) and the cancel
 * came after its end: when anjud runs again the cancel and the window's
 * timer are both due, and the cancel must not win because its socket is
 * served first. The fall is called; the late cancel changes nothing. */
START_TEST(test_a_cancel_after_the_window_is_too_late_even_if_anjud_was_busy) {
        struct h_rig r;
        struct proc *band;
        char payload[256], events[256];
        const char *id;
        long long start;
        json_t *call, *body;

        h_rig_up(&r, &afternoon);
        band = h_sub_start(r.mqtt_port, _i == 0 ? "band/ye" : "anju/" H_HUB "/ack");
        h_rig_pub(&r, "band/ye", "{\"fall\":true}");
        id = wait_prompt(&r);
        start = h_now_ms();
        ck_assert_int_eq(kill(r.anjud->pid, SIGSTOP), 0);
        /* The window is 3 s of real time: let it pass while anjud is stopped
         * (this waits on the clock, not on anjud). */
        while (h_now_ms() - start < 3500)
                (void) poll(NULL, 0, (int) (3500 - (h_now_ms() - start)));
        /* The band's cancel (_i 0) or the resident's on the ack topic (_i 1). */
        if (_i == 0) {
                snprintf(payload, sizeof payload, "{\"cancel\":true,\"incident\":\"%s\"}", id);
                h_rig_pub(&r, "band/ye", payload);
        } else {
                snprintf(payload, sizeof payload, "{\"incident\":\"%s\",\"action\":\"cancel\",\"by\":\"Ye Ayi\"}", id);
                h_rig_pub(&r, "anju/" H_HUB "/ack", payload);
        }
        /* The broker has sent it on (to anjud's socket as to this one). */
        ck_assert(h_saw_message(band, _i == 0 ? "band/ye" : "anju/" H_HUB "/ack", "cancel", 5000));
        ck_assert_int_eq(kill(r.anjud->pid, SIGCONT), 0);
        call = h_sim_next_call(r.sim, 10000);
        ck_assert_msg(call != NULL, "a cancel after the window's end cancelled the fall");
        body = body_of(call);
        ck_assert_str_eq(str(body, "type"), "fall");
        ck_assert_str_eq(str(body, "id"), id);
        json_decref(body);
        json_decref(call);
        h_rig_timeline(&r, id, false, events, sizeof events);
        ck_assert_msg(strncmp(events, "prealarm,opened,called", 22) == 0 && !strstr(events, "cancelled"),
                      "timeline: %s", events);
        h_rig_down(&r);
}
END_TEST

START_TEST(test_an_ack_for_an_unknown_incident_is_refused) {
        struct h_rig r;
        json_t *call, *body;

        h_rig_up(&r, &afternoon);
        h_rig_pub(&r, "band/ye", "{\"fall\":true}");
        (void) wait_prompt(&r);
        h_rig_pub(&r, "anju/" H_HUB "/ack", "{\"incident\":\"20260101-000000\",\"action\":\"cancel\",\"by\":\"x\"}");
        ck_assert_msg(h_wait_line(r.anjud, "ack refused", 5000), "the bad ack was not refused");
        /* The real pre-alarm still runs out and calls. */
        call = h_sim_next_call(r.sim, 15000);
        ck_assert_msg(call != NULL, "the fall was not called in");
        body = body_of(call);
        ck_assert_str_eq(str(body, "type"), "fall");
        json_decref(body);
        json_decref(call);
        h_rig_down(&r);
}
END_TEST

int main(void) {
        Suite *s = suite_create("rules-live");
        TCase *t = tcase_create("scaled clock");

        tcase_set_timeout(t, 120);
        tcase_add_test(t, test_no_movement_for_the_day_limit_calls_with_the_reason);
        tcase_add_test(t, test_a_fall_nobody_cancels_prompts_then_calls_after_the_window);
        tcase_add_test(t, test_a_fall_cancelled_from_the_wristband_is_never_called);
        tcase_add_test(t, test_a_fall_cancelled_on_the_ack_topic_is_never_called);
        tcase_add_loop_test(t, test_a_cancel_after_the_window_is_too_late_even_if_anjud_was_busy, 0, 2);
        tcase_add_test(t, test_an_ack_for_an_unknown_incident_is_refused);
        suite_add_tcase(s, t);
        return run_suite(s);
}
