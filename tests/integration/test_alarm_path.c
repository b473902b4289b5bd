/* The first alarm path end to end: the real anjud, a real mosquitto and a
 * real HTTP server (the dispatch simulator) on loopback. */
#include "harness.h"

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define SMOKE_ON "{\"battery\":97,\"battery_low\":false,\"linkquality\":129,\"smoke\":true,\"tamper\":false,\"voltage\":3005}"
#define SMOKE_OFF "{\"battery\":97,\"battery_low\":false,\"linkquality\":132,\"smoke\":false,\"tamper\":false,\"voltage\":3005}"

static const char *str_at(json_t *root, const char *path) {
        json_t *v = root;
        char key[64];

        while (v && *path) {
                const char *dot = strchr(path, '.');
                size_t l = dot ? (size_t) (dot - path) : strlen(path);
                snprintf(key, sizeof key, "%.*s", (int) l, path);
                v = json_object_get(v, key);
                path += l + (dot ? 1 : 0);
        }
        return json_string_value(v);
}

static const char *const verify_args[] = { "--verify-hmac-key", NULL, "--expect-token", NULL, NULL };

static const char *const *sim_verifying(const char *dir) {
        static char key[512], token[512];
        static const char *args[5];

        snprintf(key, sizeof key, "%s/key", dir);
        snprintf(token, sizeof token, "%s/token", dir);
        memcpy(args, verify_args, sizeof args);
        args[1] = key;
        args[3] = token;
        return args;
}

START_TEST(test_smoke_reaches_dispatch_with_fields_and_headers) {
        struct h_rig r;
        json_t *call, *body;
        const char *key;

        h_rig_up(&r, &(struct h_rig_opts) { .no_sim = true, .no_anjud = true });
        /* The simulator checks the token and the signature with the files
         * h_write_config made. */
        r.sim = h_sim_start(r.sim_port, sim_verifying(r.dir));
        h_rig_anjud(&r);
        h_rig_pub(&r, "zigbee2mqtt/living_pir", "{\"battery\":100,\"occupancy\":true}");
        h_rig_pub(&r, "zigbee2mqtt/front_door", "{\"battery\":91,\"contact\":true}");
        h_rig_pub(&r, "zigbee2mqtt/kitchen_smoke", SMOKE_OFF);
        ck_assert_ptr_null(h_sim_next_call(r.sim, 300));        /* normal traffic: no call */
        h_rig_pub(&r, "zigbee2mqtt/kitchen_smoke", SMOKE_ON);
        call = h_sim_next_call(r.sim, 5000);
        ck_assert_msg(call != NULL, "no emergency call arrived");
        ck_assert_str_eq(json_string_value(json_object_get(call, "method")), "POST");
        ck_assert_str_eq(json_string_value(json_object_get(call, "path")), "/api/v1/alarms");
        ck_assert_str_eq(json_string_value(json_object_get(call, "auth")), "ok");
        ck_assert_str_eq(json_string_value(json_object_get(call, "signature")), "ok");
        key = str_at(call, "headers.idempotency-key");
        ck_assert_ptr_nonnull(key);
        ck_assert_uint_eq(strlen(key), 36);
        body = json_object_get(call, "body");
        ck_assert_str_eq(str_at(body, "schema"), "anju.alarm.v1");
        ck_assert_str_eq(str_at(body, "type"), "fire");
        ck_assert_str_eq(str_at(body, "severity"), "critical");
        ck_assert_str_eq(str_at(body, "call"), "alarm");
        ck_assert_ptr_nonnull(str_at(body, "id"));
        ck_assert_int_eq((int) strlen(str_at(body, "started_at")), 25);     /* 2026-11-22T10:15:02+08:00 */
        ck_assert_str_eq(str_at(body, "started_at") + 19, "+08:00");
        ck_assert_str_eq(str_at(body, "home.id"), H_HUB);
        ck_assert_str_eq(str_at(body, "home.address"), "Doutan 3-2-301");
        ck_assert_str_eq(str_at(body, "home.resident"), "Ye Ayi");
        ck_assert_str_eq(str_at(body, "sensor.id"), "kitchen_smoke");
        ck_assert_str_eq(str_at(body, "sensor.room"), "kitchen");
        ck_assert_str_eq(str_at(body, "sensor.kind"), "smoke");
        ck_assert_int_eq((int) json_integer_value(json_object_get(call, "status")), 201);
        json_decref(call);
        /* Delivered once: nothing more arrives. */
        ck_assert_ptr_null(h_sim_next_call(r.sim, 500));
        ck_assert_int_eq(h_stop(r.anjud, SIGTERM), 0);
        ck_assert(h_wait_status(r.mqtt_port, H_HUB, "offline", 5000));
}
END_TEST

START_TEST(test_sos_button_and_wristband_raise_one_sos_incident) {
        struct h_rig r;
        json_t *a, *b;

        h_rig_up(&r, &(struct h_rig_opts) { 0 });
        h_rig_pub(&r, "zigbee2mqtt/sos_button", "{\"action\":\"single\",\"battery\":88}");
        ck_assert_ptr_null(h_sim_next_call(r.sim, 300));        /* not an SOS action */
        h_rig_pub(&r, "zigbee2mqtt/sos_button", "{\"action\":\"emergency\",\"battery\":88,\"linkquality\":76}");
        a = h_sim_next_call(r.sim, 5000);
        ck_assert_ptr_nonnull(a);
        ck_assert_str_eq(str_at(a, "body.type"), "sos");
        ck_assert_str_eq(str_at(a, "body.severity"), "critical");
        ck_assert_str_eq(str_at(a, "body.sensor.id"), "sos_button");
        /* The wristband's SOS joins the open incident as an update. */
        h_rig_pub(&r, "band/ye", "{\"sos\":true,\"battery\":63}");
        b = h_sim_next_call(r.sim, 5000);
        ck_assert_ptr_nonnull(b);
        ck_assert_str_eq(str_at(b, "body.id"), str_at(a, "body.id"));
        ck_assert_str_eq(str_at(b, "body.call"), "update");
        ck_assert_str_eq(str_at(b, "body.sensor.kind"), "wristband");
        ck_assert_str_ne(str_at(b, "headers.idempotency-key"), str_at(a, "headers.idempotency-key"));
        /* Pressing the button again is recorded but calls nobody twice. */
        h_rig_pub(&r, "zigbee2mqtt/sos_button", "{\"action\":\"sos\"}");
        ck_assert_ptr_null(h_sim_next_call(r.sim, 500));
        json_decref(a);
        json_decref(b);
}
END_TEST

START_TEST(test_repeat_smoke_attaches_and_second_detector_updates) {
        struct h_rig r;
        json_t *a, *b;

        h_rig_up(&r, &(struct h_rig_opts) { 0 });
        h_rig_pub(&r, "zigbee2mqtt/kitchen_smoke", SMOKE_ON);
        a = h_sim_next_call(r.sim, 5000);
        ck_assert_ptr_nonnull(a);
        h_rig_pub(&r, "zigbee2mqtt/kitchen_smoke", SMOKE_ON);
        ck_assert_ptr_null(h_sim_next_call(r.sim, 400));
        h_rig_pub(&r, "zigbee2mqtt/bedroom_smoke", SMOKE_ON);
        b = h_sim_next_call(r.sim, 5000);
        ck_assert_ptr_nonnull(b);
        ck_assert_str_eq(str_at(b, "body.id"), str_at(a, "body.id"));
        ck_assert_int_eq((int) json_integer_value(json_object_get(json_object_get(b, "body"), "sequence")), 2);
        ck_assert_str_eq(str_at(b, "body.sensor.room"), "bedroom");
        json_decref(a);
        json_decref(b);
}
END_TEST

START_TEST(test_retained_smoke_at_startup_raises_incident) {
        struct h_rig r;
        json_t *a;

        h_rig_up(&r, &(struct h_rig_opts) { .no_anjud = true });
        /* The detector said smoke while anjud was not running. */
        h_publish(r.mqtt_port, "zigbee2mqtt/kitchen_smoke", SMOKE_ON, strlen(SMOKE_ON), true);
        h_rig_anjud(&r);
        a = h_sim_next_call(r.sim, 5000);
        ck_assert_msg(a != NULL, "retained smoke at start-up raised no call");
        ck_assert_str_eq(str_at(a, "body.type"), "fire");
        json_decref(a);
}
END_TEST

START_TEST(test_dispatch_down_then_back_delivers_once_with_same_key) {
        struct h_rig r;
        const char *const fail2[] = { "--fail-first", "2", NULL };
        json_t *c[3];

        h_rig_up(&r, &(struct h_rig_opts) { .no_sim = true });
        h_rig_pub(&r, "zigbee2mqtt/kitchen_smoke", SMOKE_ON);
        /* Nobody listens: the first attempts fail with a refused connection. */
        ck_assert(h_wait_line(r.anjud, "failed (attempt 2)", 5000));
        /* The center comes back, answering 503 twice before it accepts. */
        r.sim = h_sim_start(r.sim_port, fail2);
        for (int i = 0; i < 3; i++) {
                c[i] = h_sim_next_call(r.sim, 5000);
                ck_assert_msg(c[i] != NULL, "attempt %d after the outage did not arrive", i + 1);
        }
        ck_assert_int_eq((int) json_integer_value(json_object_get(c[0], "status")), 503);
        ck_assert_int_eq((int) json_integer_value(json_object_get(c[2], "status")), 201);
        for (int i = 1; i < 3; i++)
                ck_assert_str_eq(str_at(c[i], "headers.idempotency-key"), str_at(c[0], "headers.idempotency-key"));
        ck_assert(h_wait_line(r.anjud, "delivered to", 5000));
        ck_assert_ptr_null(h_sim_next_call(r.sim, 800));
        for (int i = 0; i < 3; i++)
                json_decref(c[i]);
}
END_TEST

START_TEST(test_sigkill_after_store_delivers_after_restart) {
        struct h_rig r;
        json_t *a;
        char key[64], left[64];

        h_rig_up(&r, &(struct h_rig_opts) { .no_sim = true });
        h_rig_pub(&r, "zigbee2mqtt/kitchen_smoke", SMOKE_ON);
        ck_assert(h_wait_line(r.anjud, "failed (attempt 1)", 5000));
        h_stop(r.anjud, SIGKILL);
        /* The broker publishes the last will. */
        ck_assert(h_wait_status(r.mqtt_port, H_HUB, "offline", 5000));
        h_rig_db_text(&r, "SELECT key FROM outbox", key, sizeof key);
        ck_assert_msg(key[0] != '\0', "the call was not in the outbox when anjud died");
        r.sim = h_sim_start(r.sim_port, NULL);
        h_rig_anjud(&r);
        a = h_sim_next_call(r.sim, 5000);
        ck_assert_msg(a != NULL, "the stored call was not replayed after the restart");
        ck_assert_str_eq(str_at(a, "headers.idempotency-key"), key);
        ck_assert_str_eq(str_at(a, "body.type"), "fire");
        ck_assert(h_wait_line(r.anjud, "delivered to", 5000));
        ck_assert_str_eq(h_rig_db_text(&r, "SELECT key FROM outbox", left, sizeof left), "");
        ck_assert_ptr_null(h_sim_next_call(r.sim, 500));
        json_decref(a);
}
END_TEST

START_TEST(test_garbage_payloads_do_not_stop_alarms) {
        struct h_rig r;
        static char big[1 << 20];
        const char binary[] = { 0, 1, 2, (char) 0xff, (char) 0xfe, '{', 0 };
        json_t *a;
        int warnings;

        h_rig_up(&r, &(struct h_rig_opts) { 0 });
        memset(big, 'A', sizeof big);
        h_rig_pub(&r, "zigbee2mqtt/kitchen_smoke", "not json at all");
        h_rig_pub(&r, "zigbee2mqtt/kitchen_smoke", "{\"smoke\":\"maybe\"}");
        h_rig_pub(&r, "zigbee2mqtt/kitchen_smoke", "[1,2,3]");
        h_rig_pub(&r, "zigbee2mqtt/kitchen_smoke/availability", "perhaps");
        h_rig_pub(&r, "band/ye", "{\"heart_rate\":\"fast\",\"sos\":{\"x\":1}}");
        h_publish(r.mqtt_port, "zigbee2mqtt/living_pir", big, sizeof big, false);
        h_publish(r.mqtt_port, "zigbee2mqtt/front_door", binary, sizeof binary, false);
        for (int i = 0; i < 100; i++)
                h_rig_pub(&r, "zigbee2mqtt/living_pir", "}{");
        /* Every other sensor is still served. */
        h_rig_pub(&r, "zigbee2mqtt/kitchen_smoke", SMOKE_ON);
        a = h_sim_next_call(r.sim, 5000);
        ck_assert_msg(a != NULL, "the alarm after the garbage was lost");
        ck_assert_str_eq(str_at(a, "body.type"), "fire");
        ck_assert(h_alive(r.anjud));
        /* Warnings are rate-limited: 107 bad messages, at most 10 lines. */
        warnings = h_count_lines(r.anjud, "bad message on", 300);
        ck_assert_int_ge(warnings, 3);
        ck_assert_int_le(warnings, 10);
        json_decref(a);
}
END_TEST

START_TEST(test_broker_restart_reconnects_and_resubscribes) {
        struct h_rig r;
        json_t *a;

        h_rig_up(&r, &(struct h_rig_opts) { 0 });
        h_stop(r.broker, SIGTERM);
        ck_assert(h_wait_line(r.anjud, "disconnected", 5000));
        r.broker = h_broker_start(r.mqtt_port);
        ck_assert(h_wait_status(r.mqtt_port, H_HUB, "online", 10000));
        h_rig_pub(&r, "zigbee2mqtt/kitchen_smoke", SMOKE_ON);
        a = h_sim_next_call(r.sim, 5000);
        if (!a)         /* what anjud said meanwhile, into its log */
                (void) h_wait_line(r.anjud, "(nothing)", 1000);
        ck_assert_msg(a != NULL, "no call after the broker came back; see %s/anjud.log", r.dir);
        json_decref(a);
}
END_TEST

/* A mount namespace of one's own: root's, or in a user namespace of one's
 * own when not root (Debian allows unprivileged user namespaces). */
static const char *unshare_flags(void) {
        return geteuid() == 0 ? "-m" : "-r -m";
}

/* anjud (and what it starts) in a mount namespace of its own whose
 * /etc/hosts is hosts: a wrapper script in dir, put in $ANJUD. */
static void anjud_with_hosts(const char *dir, const char *hosts) {
        char script[1024], path[512];
        const char *hosts_path;

        hosts_path = h_write_file(dir, "hosts", hosts);
        snprintf(path, sizeof path, "%s", hosts_path);
        snprintf(script, sizeof script,
                 "#!/bin/sh\nexec unshare %s -- sh -c 'mount --bind \"$0\" /etc/hosts && exec \"$@\"' '%s' '%s' \"$@\"\n",
                 unshare_flags(), path, h_env("ANJUD", "anjud"));
        hosts_path = h_write_file(dir, "anjud-hosts", script);
        ck_assert_int_eq(chmod(hosts_path, 0755), 0);
        ck_assert_int_eq(setenv("ANJUD", hosts_path, 1), 0);
}

/* The broker's name has an IPv6 and an IPv4 address (::1 first, as
 * "localhost" in Debian's /etc/hosts) and the broker listens only on
 * 127.0.0.1. The first connect tries every address; after a broker restart
 * the reconnects are asynchronous, and libmosquitto's asynchronous connect
 * tries only the first address: anjud used to stay away for ever. */
START_TEST(test_a_broker_on_one_of_two_addresses_is_reconnected_to) {
        struct h_rig r;
        char more[256], line[256] = "", cmd[1024];
        FILE *p;
        json_t *a;

        h_rig_up(&r, &(struct h_rig_opts) { .no_anjud = true });
        anjud_with_hosts(r.dir, "::1 anju-broker\n127.0.0.1 anju-broker\n");
        /* The premise: in that namespace the name resolves to ::1 first. */
        snprintf(cmd, sizeof cmd, "unshare %s -- sh -c 'mount --bind %s/hosts /etc/hosts && getent ahosts anju-broker'",
                 unshare_flags(), r.dir);
        p = popen(cmd, "r");
        ck_assert_ptr_nonnull(p);
        ck_assert_ptr_nonnull(fgets(line, sizeof line, p));
        pclose(p);
        ck_assert_msg(strncmp(line, "::1 ", 4) == 0, "anju-broker does not resolve to ::1 first: %s", line);
        snprintf(more, sizeof more, "[mqtt]\nhost = anju-broker\nport = %d\n", r.mqtt_port);
        h_rig_config(&r, more);
        h_rig_anjud(&r);
        h_stop(r.broker, SIGTERM);
        ck_assert(h_wait_line(r.anjud, "disconnected", 5000));
        r.broker = h_broker_start(r.mqtt_port);
        ck_assert_msg(h_wait_status(r.mqtt_port, H_HUB, "online", 15000),
                      "anjud did not come back to a broker on the second address of its name");
        h_rig_pub(&r, "zigbee2mqtt/kitchen_smoke", SMOKE_ON);
        a = h_sim_next_call(r.sim, 5000);
        if (!a) {       /* what anjud said meanwhile, into its log, and what it counted */
                (void) h_wait_line(r.anjud, "(nothing)", 1000);
                json_t *st = h_rig_ctl_json(&r, NULL, "status", NULL);
                char *txt = json_dumps(st, JSON_COMPACT);
                fprintf(stderr, "status: %s\n", txt);
                free(txt);
                json_decref(st);
        }
        ck_assert_msg(a != NULL, "no call after the broker came back; see %s/anjud.log", r.dir);
        json_decref(a);
        h_rig_down(&r);
}
END_TEST

START_TEST(test_check_config_reports_file_line_section_key) {
        const char *dir = h_tmpdir();
        char path[512], cmd[1200], out[2048] = "";
        const char *anjud = getenv("ANJUD") ? getenv("ANJUD") : "anjud";
        const char *valid;
        FILE *f, *p;
        size_t n;
        int status;

        valid = h_write_config(dir, 1883, 8080, NULL);
        snprintf(cmd, sizeof cmd, "%s --check-config -c %s 2>&1", anjud, valid);
        ck_assert_int_eq(system(cmd), 0);
        snprintf(path, sizeof path, "%s/bad.conf", dir);
        f = fopen(path, "w");
        ck_assert_ptr_nonnull(f);
        fputs("[hub]\nid = h\n[resident]\nname = a\naddress = b\n[dispatch]\n"
              "url = http://127.0.0.1:1/x\n[sensor kitchen]\nkind = smok\ntopic = t\n", f);
        fclose(f);
        snprintf(cmd, sizeof cmd, "%s --check-config -c %s 2>&1", anjud, path);
        p = popen(cmd, "r");
        ck_assert_ptr_nonnull(p);
        n = fread(out, 1, sizeof out - 1, p);
        out[n] = '\0';
        status = pclose(p);
        ck_assert(WIFEXITED(status) && WEXITSTATUS(status) != 0);
        ck_assert_msg(strstr(out, "bad.conf:9: [sensor kitchen] kind: \"smok\" is not one of smoke, motion, door"),
                      "unexpected output: %s", out);
}
END_TEST

int main(void) {
        Suite *s = suite_create("alarm-path");
        TCase *tc = tcase_create("e2e");

        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_smoke_reaches_dispatch_with_fields_and_headers);
        tcase_add_test(tc, test_sos_button_and_wristband_raise_one_sos_incident);
        tcase_add_test(tc, test_repeat_smoke_attaches_and_second_detector_updates);
        tcase_add_test(tc, test_retained_smoke_at_startup_raises_incident);
        tcase_add_test(tc, test_dispatch_down_then_back_delivers_once_with_same_key);
        tcase_add_test(tc, test_sigkill_after_store_delivers_after_restart);
        tcase_add_test(tc, test_garbage_payloads_do_not_stop_alarms);
        tcase_add_test(tc, test_broker_restart_reconnects_and_resubscribes);
        tcase_add_test(tc, test_check_config_reports_file_line_section_key);
        suite_add_tcase(s, tc);
        /* A private /etc/hosts takes a mount namespace: ./scripts/test has one
         * (root, or an unprivileged user namespace); package builders may not,
         * and debian/rules leaves the tag out (docs/PACKAGING.md). */
        tc = tcase_create("namespace");
        tcase_set_tags(tc, "namespace");
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_a_broker_on_one_of_two_addresses_is_reconnected_to);
        suite_add_tcase(s, tc);
        return run_suite(s);
}
