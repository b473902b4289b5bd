/* anjuctl end to end: the real anjuctl (run as a child, its stdout, stderr
 * and exit status captured) against the real anjud, mosquitto and the
 * dispatch simulator on 127.0.0.1. Each case asserts what an operator sees:
 * the human output, --json, the exit codes (0 done, 1 refused or failed,
 * 2 usage, 3 anjud not reachable, 4 no such thing), the audit trail, the
 * walk test on a terminal (a pty), reload by SIGHUP, and who may connect.
 * Waits are on anjud's log, MQTT messages or anjuctl's own answers, each
 * with a deadline; never a bare sleep. */
#include "harness.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ALERT "anju/" H_HUB "/alert"
#define PROMPT "anju/" H_HUB "/prompt"
#define CONFIG "anju/" H_HUB "/config"
#define CONFIG_SET "anju/" H_HUB "/config/set"
#define CONFIG_RESULT "anju/" H_HUB "/config/result"
#define OP_KEY "operator-secret-key"
#define LEAK_ON "{\"battery\":88,\"water_leak\":true}"
#define NOBODY 65534

/* The sample home of h_write_config() plus the leak sensor added here, in
 * the order anjuctl lists them. */
static const char *const sensor_ids[] = { "kitchen_smoke", "bedroom_smoke", "living_pir", "front_door",
                                          "sos_button", "band", "bath_leak" };
#define N_SENSORS 7

/* --- the rig ------------------------------------------------------------- */

/* How anjud names whoever runs this test: "ctl:root". */
static char actor[96];

/* The rig with the leak sensor and the operator's key file (op.key), more
 * configuration appended, anjud on a clock scale times faster (1: real
 * time) starting at 15:00 (no morning check, no night rules in the way). */
static void ctl_up(struct h_rig *r, const char *scale, const char *more) {
        static const char *const op_key[] = { "op.key", OP_KEY, NULL };
        struct passwd *pw = getpwuid(geteuid());
        char config[4096];

        snprintf(actor, sizeof actor, "ctl:%s", pw ? pw->pw_name : "?");
        snprintf(config, sizeof config,
                 "[sensor bath_leak]\nkind = water\nroom = bathroom\ntopic = zigbee2mqtt/bath_leak\n\n%s", more);
        h_rig_up(r, &(struct h_rig_opts) { .scale = scale, .start = "2026-11-23 15:00", .config = config,
                                           .secrets = op_key });
}

static char *read_text(const char *path) {
        FILE *f = fopen(path, "r");
        char *buf;
        long n;

        ck_assert_ptr_nonnull(f);
        fseek(f, 0, SEEK_END);
        n = ftell(f);
        rewind(f);
        buf = calloc(1, (size_t) n + 1);
        ck_assert_ptr_nonnull(buf);
        ck_assert_int_eq(fread(buf, 1, (size_t) n, f), n);
        fclose(f);
        return buf;
}

#define EXPECT_RC(o, want) \
        ck_assert_msg((o).rc == (want), "exit %d, expected %d\nstdout: %s\nstderr: %s", (o).rc, (want), (o).out, (o).err)
#define EXPECT_OUT(o, needle) \
        ck_assert_msg(strstr((o).out, (needle)), "stdout lacks \"%s\"\nstdout: %s\nstderr: %s", (needle), (o).out, (o).err)
#define EXPECT_ERR(o, needle) \
        ck_assert_msg(strstr((o).err, (needle)), "stderr lacks \"%s\"\nstdout: %s\nstderr: %s", (needle), (o).out, (o).err)

static const char *str(json_t *o, const char *k) {
        return json_string_value(json_object_get(o, k));
}

/* The line of text that starts with prefix (copied into line), or NULL. */
static char *line_starting(const char *text, const char *prefix, char *line, size_t n) {
        for (const char *p = text; p && *p;) {
                const char *nl = strchr(p, '\n');
                size_t l = nl ? (size_t) (nl - p) : strlen(p);
                if (strncmp(p, prefix, strlen(prefix)) == 0) {
                        snprintf(line, n, "%.*s", (int) l, p);
                        return line;
                }
                p = nl ? nl + 1 : NULL;
        }
        return NULL;
}

/* A remote setting as an operator's console would send it; the payload
 * sent is returned (caller frees). */
static char *remote_set(struct h_rig *r, const char *key, const char *value, const char *by, const char *sign_key,
                        long ts_offset) {
        long long ts = (long long) time(NULL) + ts_offset;
        char msg[512], sig[65], *txt;
        json_t *j;

        snprintf(msg, sizeof msg, "%s\n%s\n%s\n%s\n%lld", H_HUB, key, value, by, ts);
        h_hmac_hex(sign_key, msg, sig);
        j = json_pack("{s:s, s:s, s:s, s:I, s:s}", "key", key, "value", value, "by", by, "ts", (json_int_t) ts,
                      "sig", sig);
        txt = json_dumps(j, JSON_COMPACT);
        json_decref(j);
        ck_assert_ptr_nonnull(txt);
        h_rig_pub(r, CONFIG_SET, txt);
        return txt;
}

/* The next answer on anju/<hub>/config/result (caller json_decref()s). */
static json_t *config_result(struct h_rig *r) {
        json_t *j = h_wait_json(r->sub, CONFIG_RESULT, NULL, 5000);

        ck_assert_msg(j != NULL, "no answer on " CONFIG_RESULT);
        return j;
}

/* What `anjuctl get KEY` says the value is now. */
static void expect_setting(struct h_rig *r, const char *key, const char *want) {
        struct h_out o;
        char line[256];

        h_rig_ctl(r, &o, "get", key, NULL);
        EXPECT_RC(o, 0);
        snprintf(line, sizeof line, "%s = %s\n", key, want);
        ck_assert_msg(strcmp(o.out, line) == 0, "anjuctl get %s: \"%s\", expected \"%s\"", key, o.out, line);
}

/* The incident id of the next alert of that type. */
static void wait_alert(struct h_rig *r, const char *type, char id[64]) {
        char needle[64];
        json_t *j;

        snprintf(needle, sizeof needle, "\"type\":\"%s\"", type);
        j = h_wait_json(r->sub, ALERT, needle, 10000);
        ck_assert_msg(j != NULL, "no %s alert on " ALERT, type);
        snprintf(id, 64, "%s", str(j, "incident"));
        json_decref(j);
}

/* The line numbers (0-based, in anjuctl show's table) of the timeline rows
 * whose EVENT column is event, from line `from` on; -1 if none. */
static int timeline_row(const char *text, const char *event, int from, char *line, size_t n) {
        int i = 0;

        for (const char *p = text; p && *p; i++) {
                const char *nl = strchr(p, '\n');
                size_t l = nl ? (size_t) (nl - p) : strlen(p);
                /* TIME is 15 wide, then a space: EVENT starts at column 16. */
                if (i >= from && l > 16 && strncmp(p + 16, event, strlen(event)) == 0 && p[16 + strlen(event)] == ' ') {
                        snprintf(line, n, "%.*s", (int) l, p);
                        return i;
                }
                p = nl ? nl + 1 : NULL;
        }
        return -1;
}

/* === 1. status, sensors, reachability, usage ================================ */

START_TEST(test_status_and_sensors_as_an_operator_sees_them) {
        struct h_rig r;
        struct h_out o;
        char line[512];
        regex_t when;
        json_t *j, *fired_list;
        struct proc *watch;

        ctl_up(&r, "1", "");

        h_rig_ctl(&r, &o, "status", NULL);
        EXPECT_RC(o, 0);
        ck_assert_msg(line_starting(o.out, "hub ", line, sizeof line) && strstr(line, H_HUB), "%s", o.out);
        ck_assert_msg(line_starting(o.out, "resident ", line, sizeof line) && strstr(line, "Ye Ayi"), "%s", o.out);
        ck_assert_msg(line_starting(o.out, "broker ", line, sizeof line) && strstr(line, "127.0.0.1:") &&
                      strstr(line, " connected"), "%s", o.out);
        ck_assert_msg(line_starting(o.out, "sensors ", line, sizeof line) && strstr(line, " 7, "), "%s", o.out);
        ck_assert_msg(!strstr(o.out, "TIME SCALED"), "a real-time daemon shown as time scaled: %s", o.out);

        /* --json before or after the command: one object, ok. */
        h_rig_ctl(&r, &o, "status", "--json", NULL);
        EXPECT_RC(o, 0);
        j = h_out_json(&o);
        ck_assert(json_is_true(json_object_get(j, "ok")));
        ck_assert_str_eq(str(j, "hub"), H_HUB);
        ck_assert(json_is_true(json_object_get(json_object_get(j, "broker"), "connected")));
        ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(j, "sensors"), "total")), N_SENSORS);
        json_decref(j);
        h_rig_ctl(&r, &o, "--json", "status", NULL);
        EXPECT_RC(o, 0);
        j = h_out_json(&o);
        ck_assert(json_is_true(json_object_get(j, "ok")));
        json_decref(j);

        /* Every configured sensor, none seen yet. */
        h_rig_ctl(&r, &o, "sensors", NULL);
        EXPECT_RC(o, 0);
        ck_assert_msg(line_starting(o.out, "SENSOR ", line, sizeof line), "no header: %s", o.out);
        for (size_t i = 0; i < N_SENSORS; i++) {
                char prefix[64];
                snprintf(prefix, sizeof prefix, "%s ", sensor_ids[i]);
                ck_assert_msg(line_starting(o.out, prefix, line, sizeof line), "%s not listed: %s", sensor_ids[i],
                              o.out);
        }

        /* The motion detector reports, with its battery. A walk test on a
         * second connection tells when anjud has handled the message. */
        watch = h_rig_ctl_start(&r, false, "--json", "walktest", NULL);
        ck_assert_msg(h_wait_line(watch, "\"started\"", 10000), "walk test did not start: %s", watch->buf);
        h_rig_pub(&r, "zigbee2mqtt/living_pir", "{\"occupancy\":true,\"battery\":80}");
        ck_assert_msg(h_wait_line(watch, "\"sensor\":\"living_pir\"", 5000), "anjud did not see the motion");
        kill(watch->pid, SIGINT);
        ck_assert_int_eq(h_finish(watch, 5000), 130);
        h_release(watch);

        h_rig_ctl(&r, &o, "sensors", NULL);
        EXPECT_RC(o, 0);
        ck_assert_msg(line_starting(o.out, "living_pir ", line, sizeof line), "%s", o.out);
        ck_assert_msg(strstr(line, " 80% "), "battery not shown: %s", line);
        ck_assert_int_eq(regcomp(&when, "[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}", REG_EXTENDED | REG_NOSUB), 0);
        ck_assert_msg(regexec(&when, line, 0, NULL, 0) == 0, "no last-seen time: %s", line);
        /* A sensor that has said nothing has no time and no battery. */
        ck_assert_msg(line_starting(o.out, "front_door ", line, sizeof line), "%s", o.out);
        ck_assert_msg(regexec(&when, line, 0, NULL, 0) != 0 && !strstr(line, "%"), "front_door: %s", line);
        regfree(&when);

        h_rig_ctl(&r, &o, "sensors", "--json", NULL);
        EXPECT_RC(o, 0);
        j = h_out_json(&o);
        fired_list = json_object_get(j, "sensors");
        ck_assert_int_eq(json_array_size(fired_list), N_SENSORS);
        for (size_t i = 0; i < json_array_size(fired_list); i++) {
                json_t *s = json_array_get(fired_list, i);
                ck_assert_str_eq(str(s, "id"), sensor_ids[i]);
                if (strcmp(str(s, "id"), "living_pir") == 0) {
                        ck_assert(json_number_value(json_object_get(s, "battery")) == 80);
                        ck_assert(json_is_string(json_object_get(s, "last_seen")));
                        ck_assert(json_number_value(json_object_get(s, "value")) == 1);
                }
        }
        json_decref(j);
        h_rig_down(&r);
}
END_TEST

START_TEST(test_unreachable_usage_errors_and_help) {
        static const char *const cmds[] = { "status", "sensors", "incidents", "show", "ack", "arrived", "resolve",
                                            "cancel", "get", "set", "test", "walktest", "report" };
        char sock[512], want[64];
        struct h_out o;

        /* No daemon behind the path: 3, and the operator is told where we looked. */
        snprintf(sock, sizeof sock, "%s/no-such-dir/ctl.sock", h_tmpdir());
        h_ctl(NULL, &o, "-s", sock, "status", NULL);
        EXPECT_RC(o, 3);
        EXPECT_ERR(o, "cannot reach anjud at ");
        EXPECT_ERR(o, sock);
        EXPECT_ERR(o, "No such file or directory");
        ck_assert_str_eq(o.out, "");

        /* Usage errors: 2, before any connection is tried (the socket does
         * not exist, yet the answer is 2, not 3). */
        h_ctl(NULL, &o, "-s", sock, "show", NULL);
        EXPECT_RC(o, 2);
        EXPECT_ERR(o, "Usage: anjuctl show ID");
        h_ctl(NULL, &o, "-s", sock, "frobnicate", NULL);
        EXPECT_RC(o, 2);
        EXPECT_ERR(o, "unknown command \"frobnicate\"");
        h_ctl(NULL, &o, "-s", sock, "set", "inactivity.day_limit", NULL);
        EXPECT_RC(o, 2);
        EXPECT_ERR(o, "Usage: anjuctl set KEY VALUE");
        h_ctl(NULL, &o, "-s", sock, "incidents", "--limit", "zero", NULL);
        EXPECT_RC(o, 2);
        h_ctl(NULL, &o, "-s", sock, "test", "nothing", NULL);
        EXPECT_RC(o, 2);
        h_ctl(NULL, &o, "-s", sock, "status", "--bogus", NULL);
        EXPECT_RC(o, 2);
        h_ctl(NULL, &o, NULL);
        EXPECT_RC(o, 2);
        EXPECT_ERR(o, "Usage: anjuctl ");

        /* Help on every command: 0, on stdout. */
        for (size_t i = 0; i < sizeof cmds / sizeof *cmds; i++) {
                snprintf(want, sizeof want, "Usage: anjuctl %s", cmds[i]);
                h_ctl(NULL, &o, "-s", sock, cmds[i], "--help", NULL);
                EXPECT_RC(o, 0);
                ck_assert_msg(strncmp(o.out, want, strlen(want)) == 0, "%s --help: %s", cmds[i], o.out);
                h_ctl(NULL, &o, "help", cmds[i], NULL);
                EXPECT_RC(o, 0);
                ck_assert_msg(strncmp(o.out, want, strlen(want)) == 0, "help %s: %s", cmds[i], o.out);
        }
        h_ctl(NULL, &o, "--help", NULL);
        EXPECT_RC(o, 0);
        EXPECT_OUT(o, "Usage: anjuctl ");
        EXPECT_OUT(o, "Exit status:");
}
END_TEST

/* === 2. incidents, show, ack, arrived, resolve, cancel ====================== */

START_TEST(test_an_incident_handled_from_anjuctl) {
        struct h_rig r;
        struct h_out o;
        char id[64], line[512], row[512];
        int opened, acked, arrived, resolved;
        json_t *j, *tl;

        ctl_up(&r, "1", "");
        h_rig_pub(&r, "zigbee2mqtt/bath_leak", LEAK_ON);
        wait_alert(&r, "water_leak", id);

        h_rig_ctl(&r, &o, "incidents", "--open", NULL);
        EXPECT_RC(o, 0);
        ck_assert_msg(line_starting(o.out, id, line, sizeof line), "%s not listed: %s", id, o.out);
        ck_assert_msg(strstr(line, "water_leak") && strstr(line, "urgent") && strstr(line, " open "), "%s", line);
        h_rig_ctl(&r, &o, "status", NULL);
        EXPECT_RC(o, 0);
        EXPECT_OUT(o, id);

        h_rig_ctl(&r, &o, "ack", "--note", "on my way", id, NULL);
        EXPECT_RC(o, 0);
        ck_assert_str_eq(o.out, "applied\n");
        ck_assert_msg(h_wait_line(r.anjud, "ack by ctl:", 5000), "the ack is not in anjud's log");
        /* A second "ack" is on the record, the state does not move. */
        h_rig_ctl(&r, &o, "ack", id, NULL);
        EXPECT_RC(o, 0);
        ck_assert_str_eq(o.out, "recorded\n");
        h_rig_ctl(&r, &o, "arrived", "--note", "with her now", id, NULL);
        EXPECT_RC(o, 0);
        ck_assert_str_eq(o.out, "applied\n");
        h_rig_ctl(&r, &o, "incidents", "--open", NULL);
        EXPECT_RC(o, 0);
        ck_assert_msg(line_starting(o.out, id, line, sizeof line) && strstr(line, " onsite "), "%s", o.out);
        h_rig_ctl(&r, &o, "resolve", "--note", "tap closed", id, NULL);
        EXPECT_RC(o, 0);
        ck_assert_str_eq(o.out, "applied\n");

        /* Closed: no longer open, but in the history, resolved. */
        h_rig_ctl(&r, &o, "incidents", "--open", NULL);
        EXPECT_RC(o, 0);
        ck_assert_msg(!strstr(o.out, id), "closed incident still listed as open: %s", o.out);
        h_rig_ctl(&r, &o, "incidents", NULL);
        EXPECT_RC(o, 0);
        ck_assert_msg(line_starting(o.out, id, line, sizeof line) && strstr(line, " resolved "), "%s", o.out);

        /* The timeline, in order, with who did what and their notes. */
        h_rig_ctl(&r, &o, "show", id, NULL);
        EXPECT_RC(o, 0);
        snprintf(line, sizeof line, "incident %s: water_leak, urgent, resolved\n", id);
        ck_assert_msg(strncmp(o.out, line, strlen(line)) == 0, "%s", o.out);
        opened = timeline_row(o.out, "opened", 0, row, sizeof row);
        ck_assert_msg(opened > 0, "no opened row: %s", o.out);
        acked = timeline_row(o.out, "ack", opened, row, sizeof row);
        ck_assert_msg(acked > opened, "no ack after opened: %s", o.out);
        ck_assert_msg(strstr(row, actor) && strstr(row, " ctl ") && strstr(row, "on my way"), "ack row: %s", row);
        arrived = timeline_row(o.out, "arrived", acked, row, sizeof row);
        ck_assert_msg(arrived > acked, "no arrived after the ack: %s", o.out);
        ck_assert_msg(strstr(row, actor) && strstr(row, "with her now"), "arrived row: %s", row);
        resolved = timeline_row(o.out, "resolved", arrived, row, sizeof row);
        ck_assert_msg(resolved > arrived, "no resolved after arrived: %s", o.out);
        ck_assert_msg(strstr(row, actor) && strstr(row, "tap closed"), "resolved row: %s", row);

        h_rig_ctl(&r, &o, "--json", "show", id, NULL);
        EXPECT_RC(o, 0);
        j = h_out_json(&o);
        ck_assert_str_eq(str(json_object_get(j, "incident"), "state"), "resolved");
        tl = json_object_get(json_object_get(j, "incident"), "timeline");
        ck_assert_str_eq(str(json_array_get(tl, 0), "event"), "opened");
        for (size_t i = 0; i < json_array_size(tl); i++) {
                json_t *e = json_array_get(tl, i);
                if (strcmp(str(e, "event"), "ack") == 0 && str(e, "note")) {
                        ck_assert_str_eq(str(e, "actor"), actor);
                        ck_assert_str_eq(str(e, "channel"), "ctl");
                        ck_assert_str_eq(str(e, "note"), "on my way");
                }
        }
        json_decref(j);

        /* Refusals an operator can act on. */
        h_rig_ctl(&r, &o, "ack", id, NULL);
        EXPECT_RC(o, 1);
        EXPECT_ERR(o, "incident already closed");
        h_rig_ctl(&r, &o, "show", "no-such-id", NULL);
        EXPECT_RC(o, 4);
        EXPECT_ERR(o, "no such incident");
        h_rig_ctl(&r, &o, "ack", "no-such-id", NULL);
        EXPECT_RC(o, 4);
        EXPECT_ERR(o, "unknown incident");
        /* None of it called the center (urgent: 180 s to the call). */
        ck_assert_msg(h_sim_next_call(r.sim, 300) == NULL, "the center was called");
        h_rig_down(&r);
}
END_TEST

START_TEST(test_cancel_stops_a_fall_pre_alarm_and_nothing_is_called) {
        struct h_rig r;
        struct h_out o;
        char *msg, id[64], line[512], row[512];
        json_t *j;

        /* 10x: the 30 s window is 3 s. */
        ctl_up(&r, "10", "");
        h_rig_ctl(&r, &o, "status", NULL);
        EXPECT_RC(o, 0);
        EXPECT_OUT(o, "TIME SCALED");
        h_rig_pub(&r, "band/ye", "{\"fall\":true}");
        msg = h_wait_message(r.sub, PROMPT, "\"start\"", 10000);
        ck_assert_msg(msg != NULL, "no prompt on " PROMPT);
        j = json_loads(msg, 0, NULL);
        ck_assert_ptr_nonnull(j);
        snprintf(id, sizeof id, "%s", str(j, "incident"));
        json_decref(j);
        free(msg);

        /* A responder's ack is not what a pre-alarm takes. */
        h_rig_ctl(&r, &o, "ack", id, NULL);
        EXPECT_RC(o, 1);
        EXPECT_ERR(o, "not an action for this incident's state");

        h_rig_ctl(&r, &o, "cancel", id, NULL);
        EXPECT_RC(o, 0);
        ck_assert_str_eq(o.out, "pre-alarm cancelled\n");
        ck_assert_msg(h_saw_message(r.sub, PROMPT, "\"stop\"", 5000), "the prompt did not stop");
        snprintf(line, sizeof line, "(%s via ctl)", actor);
        ck_assert_msg(h_wait_line(r.anjud, line, 5000), "no \"%s\" in anjud's log", line);
        /* Past the end of the window (3 s real) and then some: no call. */
        ck_assert_msg(h_sim_next_call(r.sim, 4500) == NULL, "a cancelled fall was called in");

        h_rig_ctl(&r, &o, "show", id, NULL);
        EXPECT_RC(o, 0);
        snprintf(line, sizeof line, "incident %s: fall, ", id);
        ck_assert_msg(strncmp(o.out, line, strlen(line)) == 0 && strstr(o.out, ", cancelled\n"), "%s", o.out);
        ck_assert_msg(timeline_row(o.out, "prealarm", 0, row, sizeof row) > 0, "%s", o.out);
        ck_assert_msg(timeline_row(o.out, "cancelled", 0, row, sizeof row) > 0 && strstr(row, actor),
                      "no cancelled row by %s: %s", actor, o.out);
        h_rig_ctl(&r, &o, "incidents", "--open", NULL);
        EXPECT_RC(o, 0);
        ck_assert_msg(!strstr(o.out, id), "cancelled fall still open: %s", o.out);
        /* Too late now. */
        h_rig_ctl(&r, &o, "cancel", id, NULL);
        EXPECT_RC(o, 1);
        EXPECT_ERR(o, "incident already closed");
        h_rig_down(&r);
}
END_TEST

/* The usage puts the options after the arguments ("ack ID [--note TEXT]",
 * "get [KEY] [--history]", "test sensor ID [--timeout S]"); the cases
 * above put them first, which works too. */
START_TEST(test_options_after_the_arguments_as_the_usage_shows) {
        struct h_rig r;
        struct h_out o;
        char id[64], row[512];
        struct proc *t;
        bool seen = false;
        json_t *j;

        ctl_up(&r, "1", "");
        h_rig_pub(&r, "zigbee2mqtt/bath_leak", LEAK_ON);
        wait_alert(&r, "water_leak", id);
        h_rig_ctl(&r, &o, "ack", id, "--note", "on my way", NULL);
        EXPECT_RC(o, 0);
        ck_assert_str_eq(o.out, "applied\n");
        h_rig_ctl(&r, &o, "show", id, NULL);
        EXPECT_RC(o, 0);
        ck_assert_msg(timeline_row(o.out, "ack", 0, row, sizeof row) > 0 && strstr(row, "on my way"), "%s", o.out);
        h_rig_ctl(&r, &o, "show", id, "--json", NULL);
        EXPECT_RC(o, 0);
        j = h_out_json(&o);
        ck_assert_str_eq(str(json_object_get(j, "incident"), "id"), id);
        json_decref(j);

        h_rig_ctl(&r, &o, "set", "inactivity.day_limit", "3h", NULL);
        EXPECT_RC(o, 0);
        h_rig_ctl(&r, &o, "get", "inactivity.day_limit", "--history", NULL);
        EXPECT_RC(o, 0);
        EXPECT_OUT(o, "applied");

        t = h_rig_ctl_start(&r, false, "test", "sensor", "front_door", "--timeout", "5", NULL);
        for (int i = 0; i < 8 && !seen; i++) {
                h_rig_pub(&r, "zigbee2mqtt/front_door", i % 2 ? "{\"contact\":true}" : "{\"contact\":false}");
                seen = h_wait_line(t, "front_door (hall) reported door_open", 500);
        }
        ck_assert_msg(seen, "anjuctl test sensor front_door --timeout 5 never named front_door: %s", t->buf);
        ck_assert_int_eq(h_finish(t, 5000), 0);
        h_release(t);
        h_rig_down(&r);
}
END_TEST

/* === 3. get / set and the audit trail ======================================= */

START_TEST(test_set_is_checked_and_applied_at_once) {
        struct h_rig r;
        struct h_out o;
        char line[1024];

        ctl_up(&r, "1", "");
        /* The high risk profile's default. */
        h_rig_ctl(&r, &o, "get", NULL);
        EXPECT_RC(o, 0);
        EXPECT_OUT(o, "risk profile: high\n");
        ck_assert_msg(line_starting(o.out, "inactivity.day_limit ", line, sizeof line) && strstr(line, " 2h"),
                      "%s", o.out);
        EXPECT_OUT(o, "fall.window ");
        expect_setting(&r, "inactivity.day_limit", "2h");

        h_rig_ctl(&r, &o, "set", "inactivity.day_limit", "3h", NULL);
        EXPECT_RC(o, 0);
        ck_assert_str_eq(o.out, "inactivity.day_limit = 3h\n");
        expect_setting(&r, "inactivity.day_limit", "3h");
        ck_assert_msg(h_wait_line(r.anjud, "setting inactivity.day_limit changed from 2h to 3h by ctl:", 5000),
                      "the change is not in anjud's log");

        /* Out of range: refused, the operator is told the range, nothing changes. */
        h_rig_ctl(&r, &o, "set", "inactivity.day_limit", "5s", NULL);
        EXPECT_RC(o, 1);
        EXPECT_ERR(o, "day_limit");
        EXPECT_ERR(o, "from 10min 00s to 24h 00min");
        ck_assert_str_eq(o.out, "");
        expect_setting(&r, "inactivity.day_limit", "3h");

        /* No such setting: 4, like any other thing that does not exist. */
        h_rig_ctl(&r, &o, "get", "no.such", NULL);
        EXPECT_RC(o, 4);
        EXPECT_ERR(o, "unknown setting");
        h_rig_ctl(&r, &o, "set", "no.such", "1", NULL);
        EXPECT_ERR(o, "unknown setting \"no.such\"");
        EXPECT_RC(o, 4);
        h_rig_down(&r);
}
END_TEST

START_TEST(test_set_history_config_topic_and_restart) {
        struct h_rig r;
        struct h_out o;
        struct proc *sub;
        char line[1024], *msg;
        json_t *j, *hist;

        ctl_up(&r, "1", "");
        h_rig_ctl(&r, &o, "set", "inactivity.day_limit", "3h", NULL);
        EXPECT_RC(o, 0);
        h_rig_ctl(&r, &o, "set", "inactivity.day_limit", "5s", NULL);
        EXPECT_RC(o, 1);

        /* Who changed what, and what was refused. */
        h_rig_ctl(&r, &o, "get", "--history", "inactivity.day_limit", NULL);
        EXPECT_RC(o, 0);
        ck_assert_msg(line_starting(o.out, "TIME ", line, sizeof line) && strstr(line, "RESULT"), "%s", o.out);
        h_rig_ctl(&r, &o, "get", "--history", "--json", "inactivity.day_limit", NULL);
        EXPECT_RC(o, 0);
        j = h_out_json(&o);
        hist = json_object_get(j, "history");
        ck_assert_int_eq(json_array_size(hist), 2);
        ck_assert_str_eq(str(json_array_get(hist, 0), "key"), "inactivity.day_limit");
        ck_assert_str_eq(str(json_array_get(hist, 0), "old"), "2h");
        ck_assert_str_eq(str(json_array_get(hist, 0), "new"), "3h");
        ck_assert_str_eq(str(json_array_get(hist, 0), "actor"), actor);
        ck_assert_str_eq(str(json_array_get(hist, 0), "channel"), "ctl");
        ck_assert_str_eq(str(json_array_get(hist, 0), "result"), "applied");
        ck_assert_str_eq(str(json_array_get(hist, 1), "old"), "3h");
        ck_assert_str_eq(str(json_array_get(hist, 1), "new"), "5s");
        ck_assert_str_eq(str(json_array_get(hist, 1), "actor"), actor);
        ck_assert_msg(strstr(str(json_array_get(hist, 1), "result"), "is not a duration from"), "%s",
                      str(json_array_get(hist, 1), "result"));
        json_decref(j);
        /* The same, for people: both rows, in order. */
        h_rig_ctl(&r, &o, "get", "--history", "inactivity.day_limit", NULL);
        {
                const char *a = strstr(o.out, "applied"), *b = strstr(o.out, "is not a duration from");
                ck_assert_msg(a && b && a < b, "%s", o.out);
                ck_assert_msg(strstr(o.out, actor) && strstr(o.out, " 2h ") && strstr(o.out, " 3h ") &&
                              strstr(o.out, " 5s "), "%s", o.out);
        }

        /* The effective configuration, retained for the center's console. */
        sub = h_sub_start(r.mqtt_port, CONFIG);
        msg = h_wait_message(sub, CONFIG, "\"inactivity.day_limit\":\"3h\"", 5000);
        ck_assert_msg(msg != NULL, "no retained configuration with the new value on " CONFIG);
        j = json_loads(msg, 0, NULL);
        ck_assert_ptr_nonnull(j);
        ck_assert_str_eq(str(j, "schema"), "anju.config.v1");
        ck_assert_str_eq(str(j, "hub"), H_HUB);
        json_decref(j);
        free(msg);
        h_stop(sub, SIGTERM);

        /* It survives a restart (same file, which still says nothing). */
        h_stop(r.anjud, SIGTERM);
        h_rig_anjud(&r);
        ck_assert_msg(h_wait_line(r.anjud, "setting inactivity.day_limit = 3h (set at run time by ctl:", 10000),
                      "the stored setting was not applied at start");
        ck_assert_msg(h_wait_line(r.anjud, "anjud ready", 10000), "anjud did not start again");
        expect_setting(&r, "inactivity.day_limit", "3h");
        h_rig_ctl(&r, &o, "--json", "get", "--history", "inactivity.day_limit", NULL);
        EXPECT_RC(o, 0);
        j = h_out_json(&o);
        ck_assert_int_eq(json_array_size(json_object_get(j, "history")), 2);
        json_decref(j);
        h_rig_down(&r);
}
END_TEST

/* === 4. remote configuration, signed ======================================== */

START_TEST(test_remote_configuration_signed_with_the_operator_key) {
        struct h_rig r;
        struct h_out o;
        char *sent;
        json_t *res, *j, *hist;

        /* A second [hub] section with only the key: @DIR@ is the rig's directory. */
        ctl_up(&r, "1", "[hub]\noperator_key_file = @DIR@/op.key\n");
        expect_setting(&r, "inactivity.day_limit", "2h");

        /* Good: applied, answered, audited with the signer's name. */
        sent = remote_set(&r, "inactivity.day_limit", "3h", "ops-anna", OP_KEY, 0);
        res = config_result(&r);
        ck_assert_msg(json_is_true(json_object_get(res, "ok")), "refused: %s", str(res, "error"));
        ck_assert_str_eq(str(res, "key"), "inactivity.day_limit");
        ck_assert_str_eq(str(res, "value"), "3h");
        json_decref(res);
        expect_setting(&r, "inactivity.day_limit", "3h");

        /* The same signed message again: a replay. */
        h_rig_pub(&r, CONFIG_SET, sent);
        free(sent);
        res = config_result(&r);
        ck_assert(json_is_false(json_object_get(res, "ok")));
        ck_assert_msg(strstr(str(res, "error"), "replayed"), "%s", str(res, "error"));
        json_decref(res);

        /* Wrong key. */
        free(remote_set(&r, "inactivity.day_limit", "5h", "mallory", "not-the-operator-key", 0));
        res = config_result(&r);
        ck_assert(json_is_false(json_object_get(res, "ok")));
        ck_assert_str_eq(str(res, "error"), "bad signature");
        json_decref(res);

        /* Signed, but out of range. */
        free(remote_set(&r, "inactivity.day_limit", "5s", "ops-anna", OP_KEY, 0));
        res = config_result(&r);
        ck_assert(json_is_false(json_object_get(res, "ok")));
        ck_assert_msg(strstr(str(res, "error"), "is not a duration from 10min 00s to 24h 00min"), "%s",
                      str(res, "error"));
        json_decref(res);

        /* Signed, but no such setting. */
        free(remote_set(&r, "no.such", "1", "ops-anna", OP_KEY, 0));
        res = config_result(&r);
        ck_assert(json_is_false(json_object_get(res, "ok")));
        ck_assert_msg(strstr(str(res, "error"), "unknown setting"), "%s", str(res, "error"));
        json_decref(res);

        /* Signed an hour ago. */
        free(remote_set(&r, "inactivity.day_limit", "6h", "ops-anna", OP_KEY, -3600));
        res = config_result(&r);
        ck_assert(json_is_false(json_object_get(res, "ok")));
        ck_assert_msg(strstr(str(res, "error"), "more than 5 minutes"), "%s", str(res, "error"));
        json_decref(res);

        /* Not even the right shape. */
        h_rig_pub(&r, CONFIG_SET, "{\"key\":\"inactivity.day_limit\"}");
        res = config_result(&r);
        ck_assert(json_is_false(json_object_get(res, "ok")));
        json_decref(res);

        expect_setting(&r, "inactivity.day_limit", "3h");

        /* Only verified authors are on the record: the change, and the two a
         * signed operator asked for and was refused. Replays, forgeries, stale
         * and malformed messages name whoever the sender chose, so they are
         * only counted (issue 18, item 7). */
        h_rig_ctl(&r, &o, "get", "--history", "--json", NULL);
        EXPECT_RC(o, 0);
        j = h_out_json(&o);
        hist = json_object_get(j, "history");
        ck_assert_msg(json_array_size(hist) == 3, "history: %s", o.out);
        ck_assert_str_eq(str(json_array_get(hist, 0), "result"), "applied");
        ck_assert_str_eq(str(json_array_get(hist, 0), "actor"), "ops-anna");
        ck_assert_str_eq(str(json_array_get(hist, 0), "channel"), "mqtt");
        ck_assert_str_eq(str(json_array_get(hist, 0), "old"), "2h");
        ck_assert_str_eq(str(json_array_get(hist, 0), "new"), "3h");
        ck_assert_msg(strstr(str(json_array_get(hist, 1), "result"), "is not a duration"), "%s", o.out);
        ck_assert_str_eq(str(json_array_get(hist, 1), "new"), "5s");
        ck_assert_str_eq(str(json_array_get(hist, 2), "key"), "no.such");
        ck_assert_msg(strstr(str(json_array_get(hist, 2), "result"), "unknown setting"), "%s", o.out);
        for (size_t i = 0; i < json_array_size(hist); i++)
                ck_assert_str_eq(str(json_array_get(hist, i), "channel"), "mqtt");
        ck_assert_msg(!strstr(o.out, "bad signature") && !strstr(o.out, "replayed"), "%s", o.out);
        json_decref(j);
        /* The four refused ones are counted. */
        h_rig_ctl(&r, &o, "status", "--json", NULL);
        EXPECT_RC(o, 0);
        j = h_out_json(&o);
        ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(j, "refused"), "setting")), 4);
        json_decref(j);
        h_rig_ctl(&r, &o, "get", "--history", NULL);
        EXPECT_RC(o, 0);
        EXPECT_OUT(o, "ops-anna");
        h_rig_down(&r);
}
END_TEST

START_TEST(test_remote_configuration_is_off_without_an_operator_key) {
        struct h_rig r;
        json_t *res;

        ctl_up(&r, "1", "");
        free(remote_set(&r, "inactivity.day_limit", "3h", "ops-anna", OP_KEY, 0));
        res = config_result(&r);
        ck_assert(json_is_false(json_object_get(res, "ok")));
        ck_assert_msg(strstr(str(res, "error"), "operator_key_file is not set"), "%s", str(res, "error"));
        json_decref(res);
        expect_setting(&r, "inactivity.day_limit", "2h");
        h_rig_down(&r);
}
END_TEST

/* === 5. the walk test on a terminal ========================================= */

static const struct {
        const char *id, *topic, *payload;
} walk_msgs[N_SENSORS] = {
        { "kitchen_smoke", "zigbee2mqtt/kitchen_smoke", "{\"test\":true,\"battery\":97}" },  /* its test button */
        { "bedroom_smoke", "zigbee2mqtt/bedroom_smoke", "{\"smoke\":false,\"battery\":95}" },
        { "living_pir", "zigbee2mqtt/living_pir", "{\"occupancy\":true}" },
        { "front_door", "zigbee2mqtt/front_door", "{\"contact\":false}" },
        { "sos_button", "zigbee2mqtt/sos_button", "{\"action\":\"sos\"}" },
        { "band", "band/ye", "{\"heart_rate\":72,\"worn\":true}" },
        { "bath_leak", "zigbee2mqtt/bath_leak", "{\"water_leak\":false}" },
};

/* Starts `anjuctl walktest` on a pty and waits for its list. */
static struct proc *walk_start(struct h_rig *r) {
        struct proc *w = h_rig_ctl_start(r, true, "walktest", NULL);
        char want[64];

        ck_assert_msg(h_wait_line(w, "Walk test: trigger each sensor", 10000), "no walk test banner: %s", w->buf);
        for (size_t i = 0; i < N_SENSORS; i++) {
                snprintf(want, sizeof want, "[ ] %s ", sensor_ids[i]);
                ck_assert_msg(h_wait_line(w, want, 5000), "\"%s\" not listed", want);
        }
        return w;
}

START_TEST(test_walktest_on_a_terminal) {
        struct h_rig r;
        struct proc *w;
        char want[128], *line;

        ctl_up(&r, "1", "");
        w = walk_start(&r);
        for (size_t i = 0; i < N_SENSORS; i++) {
                h_rig_pub(&r, walk_msgs[i].topic, walk_msgs[i].payload);
                snprintf(want, sizeof want, "[x] %s ", walk_msgs[i].id);
                line = h_next_line(w, want, 5000);
                ck_assert_msg(line != NULL, "\"%s\" never shown", want);
                snprintf(want, sizeof want, ", %zu left", (size_t) N_SENSORS - 1 - i);
                ck_assert_msg(strstr(line, want), "%s (expected \"%s\")", line, want);
                free(line);
        }
        ck_assert_msg(h_wait_line(w, "walk test passed", 5000), "no \"walk test passed\"");
        ck_assert_int_eq(h_finish(w, 5000), 0);
        h_release(w);

        /* Again, and Ctrl-C after one sensor: the rest are named. */
        w = walk_start(&r);
        h_rig_pub(&r, "zigbee2mqtt/living_pir", "{\"occupancy\":true}");
        ck_assert_msg(h_wait_line(w, "[x] living_pir ", 5000), "living_pir never shown");
        ck_assert_int_eq(write(w->out, "\x03", 1), 1);      /* ^C on the terminal */
        line = h_next_line(w, "Not fired:", 5000);
        ck_assert_msg(line != NULL, "no \"Not fired:\" after Ctrl-C");
        for (size_t i = 0; i < N_SENSORS; i++) {
                snprintf(want, sizeof want, " %s", sensor_ids[i]);
                if (strcmp(sensor_ids[i], "living_pir") == 0)
                        ck_assert_msg(!strstr(line, want), "%s", line);
                else
                        ck_assert_msg(strstr(line, want), "%s missing from: %s", sensor_ids[i], line);
        }
        free(line);
        ck_assert_int_eq(h_finish(w, 5000), 130);
        h_release(w);
        h_rig_down(&r);
}
END_TEST

/* === 6. test calls and sensor tests ========================================= */

START_TEST(test_test_dispatch_and_test_sensor) {
        struct h_rig r;
        struct h_out o;
        json_t *call, *body;
        struct proc *t;
        bool seen = false;
        char want[64];

        ctl_up(&r, "1", "");
        h_rig_ctl(&r, &o, "test", "dispatch", NULL);
        EXPECT_RC(o, 0);
        EXPECT_OUT(o, "test call delivered to the dispatch center: HTTP 20");
        EXPECT_OUT(o, ", case SIM-");
        call = h_sim_next_call(r.sim, 5000);
        ck_assert_msg(call != NULL, "the simulator saw no test call");
        body = json_object_get(call, "body");
        ck_assert_msg(json_is_true(json_object_get(body, "test")), "test call without \"test\": true");
        ck_assert_msg(strstr(str(body, "reason"), "Test call"), "%s", str(body, "reason"));
        snprintf(want, sizeof want, "case %s\n", str(call, "case_id"));
        EXPECT_OUT(o, want);
        json_decref(call);

        /* A sensor test: the operator opens the door. anjuctl may not have
         * asked yet when the first message arrives, so the door is opened
         * again until anjuctl answers (each one is a real door event). */
        t = h_rig_ctl_start(&r, false, "test", "--timeout", "5", "sensor", "front_door", NULL);
        for (int i = 0; i < 8 && !seen; i++) {
                h_rig_pub(&r, "zigbee2mqtt/front_door", i % 2 ? "{\"contact\":true}" : "{\"contact\":false}");
                seen = h_wait_line(t, "front_door (hall) reported door_open", 500);
        }
        ck_assert_msg(seen, "anjuctl test sensor never named front_door: %s", t->buf);
        ck_assert_int_eq(h_finish(t, 5000), 0);
        h_release(t);

        /* A sensor nobody triggers: refused after the timeout. */
        h_rig_ctl(&r, &o, "test", "--timeout", "1", "sensor", "kitchen_smoke", NULL);
        EXPECT_RC(o, 1);
        EXPECT_ERR(o, "did not report in time");
        h_rig_ctl(&r, &o, "test", "sensor", "no_such_sensor", NULL);
        EXPECT_RC(o, 4);
        EXPECT_ERR(o, "no such sensor");

        /* The center is down: the test call says so. */
        h_stop(r.sim, SIGTERM);
        h_rig_ctl(&r, &o, "test", "dispatch", NULL);
        EXPECT_RC(o, 1);
        EXPECT_ERR(o, "not delivered");
        ck_assert_str_eq(o.out, "");
        h_rig_down(&r);
}
END_TEST

/* === 7. SIGHUP: validate, then reload ======================================== */

START_TEST(test_sighup_keeps_a_bad_file_out_and_reloads_a_good_one) {
        struct h_rig r;
        struct h_out o;
        char *orig, *fixed, *at;
        pid_t pid;
        json_t *j;
        FILE *f;

        ctl_up(&r, "1", "");
        pid = r.anjud->pid;
        orig = read_text(r.config);

        f = fopen(r.config, "a");
        ck_assert_ptr_nonnull(f);
        fputs("\nthis line is not valid\n", f);
        fclose(f);
        ck_assert_int_eq(kill(pid, SIGHUP), 0);
        ck_assert_msg(h_wait_line(r.anjud, "syntax error", 5000), "the error is not in the log");
        ck_assert_msg(h_wait_line(r.anjud, "is not valid; the running configuration stays in force", 5000),
                      "no refusal in the log");
        h_rig_ctl(&r, &o, "status", "--json", NULL);
        EXPECT_RC(o, 0);
        j = h_out_json(&o);
        ck_assert_str_eq(str(j, "resident"), "Ye Ayi");
        json_decref(j);

        /* Fixed, with a new name for the resident. */
        at = strstr(orig, "name = Ye Ayi");
        ck_assert_ptr_nonnull(at);
        ck_assert_int_ne(asprintf(&fixed, "%.*sname = Li Nainai%s", (int) (at - orig), orig,
                                  at + strlen("name = Ye Ayi")), -1);
        h_write_file(r.dir, "anju.conf", fixed);
        ck_assert_int_eq(kill(pid, SIGHUP), 0);
        ck_assert_msg(h_wait_line(r.anjud, "is valid; reloading", 5000), "no reload in the log");
        ck_assert_msg(h_wait_line(r.anjud, "anjud ready", 10000), "anjud did not come back after the reload");
        ck_assert_msg(kill(pid, 0) == 0 && h_alive(r.anjud), "anjud's PID is gone");
        ck_assert_int_eq(r.anjud->pid, pid);
        h_rig_ctl(&r, &o, "status", "--json", NULL);
        EXPECT_RC(o, 0);
        j = h_out_json(&o);
        ck_assert_str_eq(str(j, "resident"), "Li Nainai");
        json_decref(j);
        h_rig_ctl(&r, &o, "status", NULL);
        EXPECT_RC(o, 0);
        EXPECT_OUT(o, "Li Nainai");
        free(orig);
        free(fixed);
        h_rig_down(&r);
}
END_TEST

/* === 8. who may connect ===================================================== */

/* In a child: becomes nobody (uid and gid 65534, no groups); with
 * fs_as_root, file access still as root so the socket can be reached and
 * anjud's own check (SO_PEERCRED) is what answers. Connects, sends req,
 * writes what came back (or "connect: <errno>") to fd, exits. */
static void as_nobody(const char *sock, bool fs_as_root, const char *req, int fd) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        char buf[4096];
        ssize_t k;
        int s;

        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (setgroups(0, NULL) < 0 || setresgid(NOBODY, NOBODY, NOBODY) < 0 ||
            setresuid(NOBODY, NOBODY, fs_as_root ? 0 : NOBODY) < 0)
                _exit(10);
        if (geteuid() != NOBODY || getegid() != NOBODY)
                _exit(11);
        if (fs_as_root) {
                setfsuid(0);
                if (setfsuid((uid_t) -1) != 0)
                        _exit(12);
        }
        snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sock);
        s = socket(AF_UNIX, SOCK_STREAM, 0);
        if (s < 0)
                _exit(13);
        if (connect(s, (struct sockaddr *) &sa, sizeof sa) < 0) {
                dprintf(fd, "connect: %s\n", strerror(errno));
                _exit(0);
        }
        /* anjud may have answered and closed already: then this fails, and
         * the answer is still there to read. */
        (void) send(s, req, strlen(req), MSG_NOSIGNAL);
        while ((k = read(s, buf, sizeof buf)) > 0)
                if (write(fd, buf, (size_t) k) != k)
                        _exit(15);
        _exit(0);
}

/* The nobody child, killed at exit if a failed check leaves it running:
 * its change of credentials cleared its PR_SET_PDEATHSIG. */
static pid_t nobody_pid;

static void kill_nobody(void) {
        if (nobody_pid > 0) {
                kill(nobody_pid, SIGKILL);
                waitpid(nobody_pid, NULL, 0);
        }
}

/* What a nobody child got (see as_nobody); caller frees. */
static char *nobody_says(const char *sock, bool fs_as_root, const char *req) {
        char *buf = calloc(1, 8192);
        size_t len = 0;
        long long deadline = h_now_ms() + 10000;
        int fds[2], status;
        pid_t pid;

        ck_assert_ptr_nonnull(buf);
        ck_assert_int_eq(pipe2(fds, O_CLOEXEC), 0);
        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                close(fds[0]);
                as_nobody(sock, fs_as_root, req, fds[1]);
        }
        if (!nobody_pid)
                atexit(kill_nobody);
        nobody_pid = pid;
        close(fds[1]);
        for (;;) {
                struct pollfd pfd = { .fd = fds[0], .events = POLLIN };
                long long left = deadline - h_now_ms();
                ssize_t k;
                ck_assert_msg(left > 0, "the nobody child did not finish: %s", buf);
                if (poll(&pfd, 1, (int) left) <= 0)
                        continue;
                k = read(fds[0], buf + len, 8191 - len);
                if (k <= 0)
                        break;
                len += (size_t) k;
        }
        close(fds[0]);
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        nobody_pid = -1;
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "nobody child failed: status %d", status);
        return buf;
}

START_TEST(test_only_root_and_the_anju_group_may_connect) {
        const char *set = "{\"cmd\":\"set\",\"key\":\"inactivity.day_limit\",\"value\":\"3h\"}\n";
        struct h_rig r;
        struct stat st;
        char *said;

        ctl_up(&r, "1", "");
        ck_assert_int_eq(stat(r.sock, &st), 0);
        ck_assert_msg(S_ISSOCK(st.st_mode), "%s is not a socket", r.sock);
        ck_assert_msg((st.st_mode & 07777) == 0660, "socket mode %o, expected 0660", st.st_mode & 07777);
        if (geteuid() != 0 || getgrnam("anju")) {
                /* Needs root to become nobody; with an anju group on this
                 * machine the answer could depend on its members. */
                fprintf(stderr, "ctl-live: not root or an anju group exists: peer-credential checks skipped\n");
                h_rig_down(&r);
                return;
        }
        /* The directory open to all: only the socket's own mode keeps
         * nobody out, at connect(). */
        ck_assert_int_eq(chmod(r.dir, 0711), 0);
        said = nobody_says(r.sock, false, set);
        ck_assert_msg(strstr(said, "connect: Permission denied"), "nobody got: %s", said);
        free(said);

        /* Past the file mode (a socket reachable by mistake): anjud itself
         * refuses by peer credentials, and does nothing asked. */
        said = nobody_says(r.sock, true, set);
        ck_assert_msg(strstr(said, "\"ok\":false") && strstr(said, "permission denied"), "nobody got: %s", said);
        free(said);
        ck_assert_msg(h_wait_line(r.anjud, "ctl: refused a connection from nobody", 5000), "no refusal in the log");
        expect_setting(&r, "inactivity.day_limit", "2h");
        /* Counted where an operator looks. */
        {
                struct h_out o;
                json_t *j;

                h_rig_ctl(&r, &o, "status", "--json", NULL);
                EXPECT_RC(o, 0);
                j = h_out_json(&o);
                ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(j, "refused"), "ctl")), 1);
                json_decref(j);
        }
        h_rig_down(&r);
}
END_TEST

int main(void) {
        Suite *s = suite_create("ctl-live");
        TCase *t = tcase_create("anjuctl");

        tcase_set_timeout(t, 120);
        tcase_add_test(t, test_status_and_sensors_as_an_operator_sees_them);
        tcase_add_test(t, test_unreachable_usage_errors_and_help);
        tcase_add_test(t, test_an_incident_handled_from_anjuctl);
        tcase_add_test(t, test_cancel_stops_a_fall_pre_alarm_and_nothing_is_called);
        tcase_add_test(t, test_options_after_the_arguments_as_the_usage_shows);
        tcase_add_test(t, test_set_is_checked_and_applied_at_once);
        tcase_add_test(t, test_set_history_config_topic_and_restart);
        tcase_add_test(t, test_remote_configuration_signed_with_the_operator_key);
        tcase_add_test(t, test_remote_configuration_is_off_without_an_operator_key);
        tcase_add_test(t, test_walktest_on_a_terminal);
        tcase_add_test(t, test_test_dispatch_and_test_sensor);
        tcase_add_test(t, test_sighup_keeps_a_bad_file_out_and_reloads_a_good_one);
        tcase_add_test(t, test_only_root_and_the_anju_group_may_connect);
        suite_add_tcase(s, t);
        return run_suite(s);
}
