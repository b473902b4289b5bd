/* The escalation ladder and the closed loop end to end: the real anjud,
 * mosquitto and the dispatch simulator, anjud on a 60x clock (a minute of
 * the ladder per second). Contacts listen on their own topics (observed
 * with mosquitto_sub); acks are signed as docs/ESCALATION.md says, with
 * the contact's key, by this test. */
#include "harness.h"

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WANG "anju/volunteers/wang"
#define LI "anju/grid/li"
#define LEAK_ON "{\"battery\":88,\"water_leak\":true}"
#define SMOKE_ON "{\"battery\":97,\"smoke\":true}"

/* A leak sensor, two volunteers (one without a key), the grid worker and
 * maintenance, added to the sample home; the keys are the contacts' files. */
#define CONTACTS \
        "[sensor bath_leak]\nkind = water\nroom = bathroom\ntopic = zigbee2mqtt/bath_leak\n\n" \
        "[contact wang]\nrole = volunteer\nname = Wang\ntopic = " WANG "\nkey_file = @DIR@/wang.key\n" \
        "order = 1\n\n" \
        "[contact li]\nrole = grid\nname = Li\ntopic = " LI "\nkey_file = @DIR@/li.key\n\n" \
        "[contact nokey]\nrole = volunteer\nname = No Key\ntopic = anju/volunteers/nokey\norder = 2\n\n" \
        "[contact fix]\nrole = maintenance\nname = Fixer\ntopic = anju/maintenance/fix\n\n"
static const char *const keys[] = { "wang.key", "wang-secret-key-01", "li.key", "li-secret-key-0123", NULL };

/* The rig with the contacts and more configuration, anjud on a 60x clock
 * from 10:00; sim_args for the center (NULL: none). */
static void contacts_up(struct h_rig *r, const char *const *sim_args, const char *more) {
        char config[4096];

        snprintf(config, sizeof config, CONTACTS "%s", more);
        h_rig_up(r, &(struct h_rig_opts) { .scale = "60", .start = "2026-11-23 10:00", .config = config,
                                           .secrets = keys, .sim_args = sim_args });
}

/* The next notice on a contact's topic (containing needle); returns its
 * incident id in id (if not NULL) and its kind in kind. */
static bool notice(struct h_rig *r, const char *topic, const char *needle, int timeout_ms, char *id, char *kind) {
        json_t *j = h_wait_json(r->sub, topic, needle, timeout_ms);

        if (!j)
                return false;
        ck_assert_str_eq(json_string_value(json_object_get(j, "schema")), "anju.notice.v1");
        if (id)
                snprintf(id, 64, "%s", json_string_value(json_object_get(j, "incident")));
        if (kind)
                snprintf(kind, 32, "%s", json_string_value(json_object_get(j, "kind")));
        json_decref(j);
        return true;
}

/* The incident's state and timeline events (event:actor), comma-separated. */
static void db_incident(struct h_rig *r, const char *id, char *state, size_t n, char *events, size_t m) {
        char sql[256];

        snprintf(sql, sizeof sql, "SELECT state FROM incidents WHERE id = '%s'", id);
        ck_assert_msg(h_rig_db_text(r, sql, state, n)[0] != '\0', "no incident %s in the database", id);
        h_rig_timeline(r, id, true, events, m);
}

START_TEST(test_urgent_nobody_answers_climbs_to_the_grid_worker_then_the_center) {
        struct h_rig r;
        char id[64], id2[64], kind[32], state[32], events[4096];
        json_t *call;

        contacts_up(&r, NULL, "");
        h_rig_pub(&r, "zigbee2mqtt/bath_leak", LEAK_ON);
        /* 0 s: the volunteers, in order. */
        ck_assert_msg(notice(&r, WANG, NULL, 5000, id, kind), "volunteer not notified");
        ck_assert_str_eq(kind, "alert");
        /* 60 s (1 s real): the grid worker; the volunteer hears it again. */
        ck_assert_msg(notice(&r, LI, NULL, 5000, id2, kind), "grid worker not notified");
        ck_assert_str_eq(id2, id);
        ck_assert_msg(notice(&r, WANG, "\"repeat\"", 5000, NULL, kind), "no repeat to the volunteer");
        /* 180 s: nobody took charge, the center is called. */
        call = h_sim_next_call(r.sim, 10000);
        ck_assert_msg(call != NULL, "the center was never called");
        ck_assert_str_eq(json_string_value(json_object_get(json_object_get(call, "body"), "type")), "water_leak");
        ck_assert_str_eq(json_string_value(json_object_get(json_object_get(call, "body"), "id")), id);
        json_decref(call);
        /* The center's case id counts as taking charge: state acked. */
        ck_assert_msg(h_wait_line(r.anjud, "ack by dispatch via https", 5000), "center's answer not applied");
        db_incident(&r, id, state, sizeof state, events, sizeof events);
        ck_assert_str_eq(state, "acked");
        ck_assert_msg(strstr(events, "opened:bath_leak,notified:wang,notified:nokey") == events, "%s", events);
        ck_assert_msg(strstr(events, "notified:li") && strstr(events, "called:ladder") &&
                      strstr(events, "ack:dispatch"), "%s", events);
        h_rig_down(&r);
}
END_TEST

START_TEST(test_volunteer_acks_arrives_resolves_and_the_ladder_stops) {
        struct h_rig r;
        char id[64], kind[32], state[32], events[4096];

        contacts_up(&r, NULL, "");
        h_rig_pub(&r, "zigbee2mqtt/bath_leak", LEAK_ON);
        ck_assert_msg(notice(&r, WANG, NULL, 5000, id, kind), "volunteer not notified");
        h_rig_ack(&r, id, "ack", "wang", "wang-secret-key-01", 0, NULL, 0);
        ck_assert_msg(h_wait_line(r.anjud, "ack by wang via mqtt", 5000), "ack not applied");
        /* No grid worker, no call, no repeats: 4 s real = 240 s of the ladder. */
        ck_assert_msg(h_sim_next_call(r.sim, 4000) == NULL, "the center was called after an ack");
        ck_assert_msg(!notice(&r, LI, "\"alert\"", 1, NULL, NULL), "grid worker notified after an ack");
        h_rig_ack(&r, id, "arrived", "wang", "wang-secret-key-01", 0, NULL, 0);
        ck_assert_msg(h_wait_line(r.anjud, "arrived by wang via mqtt", 5000), "arrival not applied");
        h_rig_ack(&r, id, "resolved", "wang", "wang-secret-key-01", 0, NULL, 0);
        ck_assert_msg(h_wait_line(r.anjud, "resolved by wang via mqtt", 5000), "resolve not applied");
        db_incident(&r, id, state, sizeof state, events, sizeof events);
        ck_assert_str_eq(state, "resolved");
        ck_assert_msg(strstr(events, "ack:wang") && strstr(events, "arrived:wang") &&
                      strstr(events, "resolved:wang"), "%s", events);
        ck_assert_msg(!strstr(events, "notified:li") && !strstr(events, "called"), "%s", events);
        /* Closed: a later ack is refused. */
        h_rig_ack(&r, id, "ack", "wang", "wang-secret-key-01", 0, NULL, 0);
        ck_assert_msg(h_wait_line(r.anjud, "incident already closed", 5000), "ack on a closed incident not refused");
        h_rig_down(&r);
}
END_TEST

START_TEST(test_bad_acks_are_refused_and_never_applied) {
        struct h_rig r;
        char id[64], kind[32], state[32], events[4096], sent[1024];

        contacts_up(&r, NULL, "");
        h_rig_pub(&r, "zigbee2mqtt/bath_leak", LEAK_ON);
        ck_assert_msg(notice(&r, WANG, NULL, 5000, id, kind), "volunteer not notified");
        h_rig_ack(&r, id, "ack", "wang", "not-wangs-key", 0, NULL, 0);
        ck_assert_msg(h_wait_line(r.anjud, "bad signature", 5000), "bad signature accepted");
        h_rig_ack(&r, id, "ack", "stranger", "whatever", 0, NULL, 0);
        ck_assert_msg(h_wait_line(r.anjud, "unknown responder", 5000), "unknown responder accepted");
        h_rig_ack(&r, id, "ack", "nokey", "x", 0, NULL, 0);
        ck_assert_msg(h_wait_line(r.anjud, "has no key_file", 5000), "contact without key accepted");
        h_rig_ack(&r, id, "ack", "wang", "wang-secret-key-01", -3600, NULL, 0);
        ck_assert_msg(h_wait_line(r.anjud, "more than 5 minutes", 5000), "old ack accepted");
        h_rig_ack(&r, "20200101-abcdef", "ack", "wang", "wang-secret-key-01", 0, NULL, 0);
        ck_assert_msg(h_wait_line(r.anjud, "unknown incident", 5000), "ack for an unknown incident accepted");
        h_rig_pub(&r, "anju/" H_HUB "/ack", "{\"incident\":\"x\"");
        ck_assert_msg(h_wait_line(r.anjud, "ack refused", 5000), "garbage ack not refused");
        db_incident(&r, id, state, sizeof state, events, sizeof events);
        ck_assert_str_eq(state, "open");
        /* A good one, then the very same message again: replayed. */
        h_rig_ack(&r, id, "ack", "li", "li-secret-key-0123", 0, sent, sizeof sent);
        ck_assert_msg(h_wait_line(r.anjud, "ack by li via mqtt", 5000), "good ack not applied");
        h_rig_pub(&r, "anju/" H_HUB "/ack", sent);
        ck_assert_msg(h_wait_line(r.anjud, "replayed", 5000), "replayed ack not refused");
        db_incident(&r, id, state, sizeof state, events, sizeof events);
        ck_assert_str_eq(state, "acked");
        ck_assert_msg(!strstr(events, "ack:wang") && !strstr(events, "ack:stranger"), "%s", events);
        h_rig_down(&r);
}
END_TEST

START_TEST(test_critical_reaches_everyone_and_the_center_at_once) {
        struct h_rig r;
        char id[64], id2[64], kind[32], state[32], events[4096];
        json_t *call;

        contacts_up(&r, NULL, "");
        h_rig_pub(&r, "zigbee2mqtt/kitchen_smoke", SMOKE_ON);
        call = h_sim_next_call(r.sim, 5000);
        ck_assert_msg(call != NULL, "no call");
        json_decref(call);
        ck_assert_msg(notice(&r, WANG, "\"alert\"", 5000, id, kind), "volunteer not notified");
        ck_assert_msg(notice(&r, LI, "\"alert\"", 5000, id2, kind), "grid worker not notified");
        ck_assert_str_eq(id, id2);
        ck_assert_msg(h_wait_line(r.anjud, "ack by dispatch via https", 5000), "center's answer not applied");
        db_incident(&r, id, state, sizeof state, events, sizeof events);
        ck_assert_str_eq(state, "acked");
        ck_assert_msg(strstr(events, "opened:kitchen_smoke") == events, "%s", events);
        h_rig_down(&r);
}
END_TEST

/* Issue 8's relay as a smart plug (a GPIO relay is the same code path past
 * outputs_set; tests/kernel drives a real line): on a fire the charger's
 * plug is switched off, stays off through the center's answer, a person's
 * ack and a restart of the daemon, and is switched on only when the fire
 * incident is resolved. A GPIO sensor whose chip does not exist is a
 * device-health warning to maintenance while the rest keeps working. */
START_TEST(test_fire_cuts_the_charger_plug_until_resolved_and_a_missing_gpio_chip_is_a_warning) {
        struct h_rig r;
        struct proc *plug;
        char id[64], kind[32], state[32], events[4096];
        json_t *call;

        contacts_up(&r, NULL,
                    "[sensor charger_plug]\nkind = relay\nroom = hall\ntopic = zigbee2mqtt/charger_plug\n\n"
                    "[sensor hall_cancel]\nkind = button\nrole = cancel\nroom = hall\n"
                    "gpio_chip = anju-test-no-such-chip\ngpio_line = 3\n");
        plug = h_sub_start(r.mqtt_port, "zigbee2mqtt/charger_plug/set");
        ck_assert_msg(notice(&r, "anju/maintenance/fix", "hall_cancel", 10000, NULL, kind),
                      "maintenance was not told about the missing GPIO chip");
        ck_assert_msg(!h_saw_message(plug, "zigbee2mqtt/charger_plug/set", "state", 300),
                      "the plug was switched with no fire");

        h_rig_pub(&r, "zigbee2mqtt/kitchen_smoke", SMOKE_ON);
        ck_assert_msg(h_saw_message(plug, "zigbee2mqtt/charger_plug/set", "{\"state\":\"OFF\"}", 5000),
                      "the charger's plug was not switched off on fire");
        call = h_sim_next_call(r.sim, 5000);
        ck_assert_msg(call != NULL, "no call");
        json_decref(call);
        ck_assert_msg(notice(&r, LI, "\"alert\"", 5000, id, kind), "grid worker not notified");
        ck_assert_msg(h_wait_line(r.anjud, "ack by dispatch via https", 5000), "center's answer not applied");
        h_rig_ack(&r, id, "ack", "li", "li-secret-key-0123", 0, NULL, 0);
        ck_assert_msg(h_wait_line(r.anjud, "ack by li", 5000), "li's ack not applied");

        /* A restart during the fire: the plug is told "off" again. */
        h_stop(r.anjud, SIGTERM);
        h_rig_anjud(&r);
        ck_assert_msg(h_wait_line(r.anjud, "relays stay cut", 10000), "the restart forgot the fire");
        ck_assert_msg(h_saw_message(plug, "zigbee2mqtt/charger_plug/set", "{\"state\":\"OFF\"}", 10000),
                      "the plug was not told off again after a restart");

        h_rig_ack(&r, id, "arrived", "li", "li-secret-key-0123", 0, NULL, 0);
        ck_assert_msg(h_wait_line(r.anjud, "arrived by li", 5000), "li's arrival not applied");
        ck_assert_msg(!h_saw_message(plug, "zigbee2mqtt/charger_plug/set", "ON", 300),
                      "power back before the incident was resolved");
        h_rig_ack(&r, id, "resolved", "li", "li-secret-key-0123", 0, NULL, 0);
        ck_assert_msg(h_saw_message(plug, "zigbee2mqtt/charger_plug/set", "{\"state\":\"ON\"}", 5000),
                      "the charger's power was not restored when the fire was resolved");
        db_incident(&r, id, state, sizeof state, events, sizeof events);
        ck_assert_str_eq(state, "resolved");
        ck_assert_msg(strstr(events, "power_cut:relay") && strstr(events, "power_restored:relay"), "%s", events);
        ck_assert_msg(strstr(events, "power_cut:relay") < strstr(events, "power_restored:relay"), "%s", events);
        h_stop(plug, SIGTERM);
        h_rig_down(&r);
}
END_TEST

/* The next heartbeat the simulator answered 2xx (its JSON record), or NULL. */
static json_t *next_heartbeat(struct h_rig *r, int timeout_ms) {
        for (;;) {
                char *line = h_next_line(r->sim, "anju.heartbeat.v1", timeout_ms);
                json_t *j = line ? json_loads(line, 0, NULL) : NULL;

                free(line);
                if (!j || json_integer_value(json_object_get(j, "status")) / 100 == 2)
                        return j;
                json_decref(j);
        }
}

START_TEST(test_heartbeats_report_health_and_a_dead_link_warns_maintenance) {
        const char *fail3[] = { "--fail-first", "3", NULL };
        struct h_rig r;
        json_t *hb, *body;

        /* 10 s between heartbeats on a 60x clock; the center is down for
         * the first three (503), then answers. */
        contacts_up(&r, fail3, "[dispatch]\nheartbeat_interval = 10s\n");
        ck_assert_msg(h_wait_line(r.anjud, "heartbeat to", 10000), "no failed heartbeat");
        ck_assert_msg(notice(&r, "anju/maintenance/fix", "\"alert\"", 10000, NULL, NULL),
                      "maintenance not told that the link is down");
        ck_assert_msg(h_wait_line(r.anjud, "link to the center is back", 10000), "link never came back");
        hb = next_heartbeat(&r, 10000);
        ck_assert_msg(hb != NULL, "no heartbeat after the link came back");
        body = json_object_get(hb, "body");
        ck_assert_str_eq(json_string_value(json_object_get(body, "hub")), H_HUB);
        ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(body, "sensors"), "total")), 7);
        ck_assert_int_eq(json_integer_value(json_object_get(body, "open_incidents")), 1);
        json_decref(hb);
        /* No emergency call was made for the link itself. */
        ck_assert_msg(h_sim_next_call(r.sim, 500) == NULL, "a warning reached the dispatch center");
        h_rig_down(&r);
}
END_TEST

START_TEST(test_a_wecom_webhook_gets_the_notice_through_the_outbox_with_retries) {
        const char *fail1[] = { "--fail-first", "1", NULL };
        struct h_rig r;
        char id[64], state[32], events[4096];
        json_t *post, *body, *headers;
        const char *content;

        /* The webhook points at the simulator (a real HTTP server) too; its
         * first answer is a 503, so the notice must be retried. */
        contacts_up(&r, fail1, "[contact bot]\nrole = volunteer\nname = Group bot\n"
                    "webhook = http://127.0.0.1:@SIM_PORT@/wecom/send?key=abc\ntemplate = wecom\norder = 0\n");
        h_rig_pub(&r, "zigbee2mqtt/bath_leak", LEAK_ON);
        ck_assert_msg(notice(&r, WANG, NULL, 5000, id, NULL), "volunteer not notified");
        ck_assert_msg(h_wait_line(r.anjud, "delivered to webhook", 10000), "webhook notice never delivered");
        post = h_sim_next_call(r.sim, 5000);
        ck_assert_msg(post != NULL, "the simulator saw no webhook POST");
        ck_assert_str_eq(json_string_value(json_object_get(post, "path")), "/wecom/send?key=abc");
        body = json_object_get(post, "body");
        ck_assert_str_eq(json_string_value(json_object_get(body, "msgtype")), "text");
        content = json_string_value(json_object_get(json_object_get(body, "text"), "content"));
        ck_assert_msg(content && strstr(content, "Ye Ayi") && strstr(content, "Doutan 3-2-301") &&
                      strstr(content, "Water leak") && strstr(content, id), "content: %s", content);
        headers = json_object_get(post, "headers");
        ck_assert_msg(!json_object_get(headers, "authorization") && !json_object_get(headers, "Authorization"),
                      "the center's token went to a webhook");
        json_decref(post);
        db_incident(&r, id, state, sizeof state, events, sizeof events);
        ck_assert_msg(strstr(events, "notified:bot") && strstr(events, "webhook_delivered:webhook"), "%s", events);
        h_rig_down(&r);
}
END_TEST

int main(void) {
        Suite *s = suite_create("escalation-live");
        TCase *t = tcase_create("ladder");

        tcase_set_timeout(t, 120);
        tcase_add_test(t, test_urgent_nobody_answers_climbs_to_the_grid_worker_then_the_center);
        tcase_add_test(t, test_volunteer_acks_arrives_resolves_and_the_ladder_stops);
        tcase_add_test(t, test_bad_acks_are_refused_and_never_applied);
        tcase_add_test(t, test_critical_reaches_everyone_and_the_center_at_once);
        tcase_add_test(t, test_fire_cuts_the_charger_plug_until_resolved_and_a_missing_gpio_chip_is_a_warning);
        tcase_add_test(t, test_heartbeats_report_health_and_a_dead_link_warns_maintenance);
        tcase_add_test(t, test_a_wecom_webhook_gets_the_notice_through_the_outbox_with_retries);
        suite_add_tcase(s, t);
        return run_suite(s);
}
