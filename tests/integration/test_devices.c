/* The device corpus of issue 13 (tests/devices/corpus/: what the
 * real Zigbee2MQTT 2.14.1 publishes for each device, with the decision a
 * correct hub takes for each message) replayed through the real anjud on a
 * real mosquitto. Each device is configured with its `kind` and `topic`
 * only (and a button's `sos_actions` where the corpus says so); each
 * message is published in order with its retain flag, and what anjud did
 * is read back and compared with the message's `expect`:
 *
 *   fire, sos, water_leak, battery_low, tamper, device_fault, offline
 *                       a row on an incident's timeline naming the device
 *                       (opened or triggered), of that type or problem;
 *   fire_clear, water_clear   a "cleared" row on the fire / leak incident;
 *   fall_prealarm       a "prealarm" row and the prompt on anju/<hub>/prompt;
 *   self_test, fall_warning   only on the record: the sensor log has it, no
 *                       incident row;
 *   activity            anjuctl status' last_activity moved; messages whose
 *                       words are no activity must not move it;
 *   presence_home/clear, door_open/closed, bed_exit/back, relay_*_confirmed
 *                       what anjuctl sensors says of the device now;
 *   online, offline     anjuctl sensors' online (null behind a bridge that
 *                       is offline);
 *   none                none of the above.
 *
 * anjud is told each message was taken by its own count (anjuctl status
 * "messages"), so nothing here sleeps: every wait is for something anjud
 * says, with a bound. The clock runs 100 times faster (one second of the
 * daemon's clock per 10 ms) so that last_activity, which has whole
 * seconds, moves between two messages. */
#include "harness.h"

#include <check.h>
#include <dirent.h>
#include <signal.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SCALE "100"
#define START "2026-01-15 10:00"
#define MAX_DEVICES 64
#define WAIT_MS 5000

/* Rules that are not about these devices and would fire on the fast clock
 * during a batch. */
#define QUIET_RULES "[rule inactivity]\nenabled = false\n[rule morning_check]\nenabled = false\n" \
                    "[rule door_open]\nenabled = false\n"

struct device {
        char id[64];
        const char *kind;
        json_t *doc;                    /* the corpus file */
};

static struct device devices[MAX_DEVICES];
static size_t n_devices;

static int by_name(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static const char *corpus_dir(void) {
        static char dir[1024];
        const char *root = getenv("SOURCE_ROOT");

        snprintf(dir, sizeof dir, "%s/tests/devices/corpus", root && *root ? root : ".");
        return dir;
}

/* Every corpus file but bridge.json, in name order. */
static void load_corpus(void) {
        char *names[MAX_DEVICES + 1];
        size_t n = 0;
        struct dirent *e;
        DIR *d;

        if (n_devices)
                return;
        d = opendir(corpus_dir());
        ck_assert_msg(d != NULL, "no corpus at %s (SOURCE_ROOT)", corpus_dir());
        while ((e = readdir(d))) {
                size_t l = strlen(e->d_name);
                if (l < 6 || strcmp(e->d_name + l - 5, ".json") != 0 || strcmp(e->d_name, "bridge.json") == 0)
                        continue;
                ck_assert_uint_lt(n, MAX_DEVICES);
                names[n++] = strdup(e->d_name);
        }
        closedir(d);
        qsort(names, n, sizeof *names, by_name);
        for (size_t i = 0; i < n; i++) {
                char path[2048];
                json_error_t err;
                struct device *dv = &devices[n_devices++];

                snprintf(path, sizeof path, "%s/%s", corpus_dir(), names[i]);
                dv->doc = json_load_file(path, 0, &err);
                ck_assert_msg(dv->doc != NULL, "%s: %s", path, err.text);
                snprintf(dv->id, sizeof dv->id, "%.*s", (int) (strlen(names[i]) - 5), names[i]);
                dv->kind = json_string_value(json_object_get(dv->doc, "kind"));
                ck_assert_msg(dv->kind != NULL, "%s: no kind", path);
                free(names[i]);
        }
        ck_assert_uint_gt(n_devices, 30);
}

static const char *str(json_t *o, const char *key) {
        const char *s = json_string_value(json_object_get(o, key));
        return s ? s : "";
}

/* The device's [sensor] section: only what the corpus's config says, which
 * may be kind, topic and (a general-purpose button) sos_actions. */
static void sensor_section(const struct device *dv, char *buf, size_t n) {
        json_t *conf = json_object_get(dv->doc, "config");
        const char *key;
        json_t *v;
        size_t l = (size_t) snprintf(buf, n, "[sensor %s]\n", dv->id);

        ck_assert_str_eq(str(conf, "kind"), dv->kind);
        ck_assert_msg(strncmp(str(conf, "topic"), "zigbee2mqtt/", 12) == 0, "%s: topic %s", dv->id, str(conf, "topic"));
        json_object_foreach(conf, key, v) {
                ck_assert_msg(strcmp(key, "kind") == 0 || strcmp(key, "topic") == 0 || strcmp(key, "sos_actions") == 0,
                              "%s: the corpus configures %s: only kind, topic and sos_actions are allowed", dv->id,
                              key);
                l += (size_t) snprintf(buf + l, n - l, "%s = %s\n", key, json_string_value(v));
        }
        ck_assert_uint_lt(l, n);
}

/* --- what anjud says ------------------------------------------------------------- */

struct state {
        long long messages;
        char now[40], last_activity[40];
        long long refused_payload, refused_topic;
};

static void status(struct h_rig *r, struct state *st) {
        json_t *j = h_rig_ctl_json(r, NULL, "status", NULL);
        json_t *refused = json_object_get(j, "refused");

        ck_assert_msg(json_is_integer(json_object_get(j, "messages")), "anjuctl status has no message count");
        st->messages = json_integer_value(json_object_get(j, "messages"));
        snprintf(st->now, sizeof st->now, "%s", str(j, "now"));
        snprintf(st->last_activity, sizeof st->last_activity, "%s", str(j, "last_activity"));
        st->refused_payload = json_integer_value(json_object_get(refused, "payload"));
        st->refused_topic = json_integer_value(json_object_get(refused, "topic"));
        json_decref(j);
}

/* Waits until anjud has taken in `want` messages (it handles each one to
 * the end, stored and published, before it answers anjuctl). */
static void wait_messages(struct h_rig *r, long long want, struct state *st, const char *what) {
        struct timespec t0, t;

        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (;;) {
                status(r, st);
                if (st->messages >= want)
                        return;
                clock_gettime(CLOCK_MONOTONIC, &t);
                ck_assert_msg((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 < WAIT_MS,
                              "%s: anjud took in %lld messages, expected %lld", what, st->messages, want);
        }
}

/* Waits until the daemon's clock shows a later second than the last
 * activity, so that a new activity is seen as a change. */
static void wait_clock_past_activity(struct h_rig *r, struct state *st) {
        for (int i = 0; i < 1000; i++) {
                status(r, st);
                if (strcmp(st->now, st->last_activity) > 0)
                        return;
        }
        ck_abort_msg("the daemon's clock does not move (now %s, last activity %s)", st->now, st->last_activity);
}

/* The device's row of anjuctl sensors (caller json_decref()s). */
static json_t *sensor_row(struct h_rig *r, const char *id) {
        json_t *j = h_rig_ctl_json(r, NULL, "sensors", NULL), *list = json_object_get(j, "sensors"), *row = NULL;

        for (size_t i = 0; i < json_array_size(list); i++)
                if (strcmp(str(json_array_get(list, i), "id"), id) == 0)
                        row = json_incref(json_array_get(list, i));
        json_decref(j);
        ck_assert_msg(row != NULL, "anjuctl sensors does not list %s", id);
        return row;
}

static sqlite3 *db_open(struct h_rig *r) {
        char path[512];
        sqlite3 *db;

        snprintf(path, sizeof path, "%s/anju.db", r->dir);
        ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
        sqlite3_busy_timeout(db, 5000);
        return db;
}

static long long last_seq(struct h_rig *r) {
        return h_rig_db(r, "SELECT coalesce(max(seq), 0) FROM timeline");
}

/* The decision words of the timeline rows naming sensor `actor` after seq
 * (space-separated, in order; "?" for a row this test cannot name). */
static void timeline_words(struct h_rig *r, const char *actor, long long after, char *buf, size_t n) {
        static const struct {
                const char *event, *type, *note, *word;
        } map[] = {
                { "opened", "fire", NULL, "fire" }, { "triggered", "fire", NULL, "fire" },
                { "cleared", "fire", NULL, "fire_clear" },
                { "opened", "water_leak", NULL, "water_leak" }, { "triggered", "water_leak", NULL, "water_leak" },
                { "cleared", "water_leak", NULL, "water_clear" },
                { "opened", "sos", NULL, "sos" }, { "triggered", "sos", NULL, "sos" },
                { "prealarm", "fall", NULL, "fall_prealarm" },
                { NULL, "device_health", "Battery low", "battery_low" },
                { NULL, "device_health", "tampered", "tamper" },
                { NULL, "device_health", "reports a fault", "device_fault" },
                { NULL, "device_health", "(its bridge says so)", "offline" },
                { NULL, "device_health", "did not confirm", "relay_unconfirmed" },
                { NULL, "device_health", "has sent nothing", "silent" },
        };
        sqlite3 *db = db_open(r);
        sqlite3_stmt *q;
        size_t l = 0;

        buf[0] = '\0';
        ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT t.event, i.type, coalesce(t.note, '') FROM timeline t "
                                                "JOIN incidents i ON i.id = t.incident "
                                                "WHERE t.seq > ?1 AND t.actor = ?2 ORDER BY t.seq", -1, &q, NULL),
                         SQLITE_OK);
        sqlite3_bind_int64(q, 1, after);
        sqlite3_bind_text(q, 2, actor, -1, SQLITE_STATIC);
        while (sqlite3_step(q) == SQLITE_ROW) {
                const char *event = (const char *) sqlite3_column_text(q, 0);
                const char *type = (const char *) sqlite3_column_text(q, 1);
                const char *note = (const char *) sqlite3_column_text(q, 2);
                const char *word = "?";

                /* A device-health condition that ends is no decision of the
                 * corpus ("none"): only its raise is. Nor is a fall's window
                 * running out uncancelled (a timer, 0.3 s after the fall on
                 * this clock, so it lands on a later message). */
                if ((strcmp(event, "cleared") == 0 && strcmp(type, "device_health") == 0) ||
                    (strcmp(event, "triggered") == 0 && strcmp(type, "fall") == 0))
                        continue;
                for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
                        if ((!map[i].event ? strcmp(event, "cleared") != 0 : strcmp(event, map[i].event) == 0) &&
                            strcmp(type, map[i].type) == 0 && (!map[i].note || strstr(note, map[i].note))) {
                                word = map[i].word;
                                break;
                        }
                if (strcmp(word, "?") == 0)
                        fprintf(stderr, "unnamed timeline row: %s %s \"%s\"\n", event, type, note);
                l += (size_t) snprintf(buf + l, n - l, "%s%s", l ? " " : "", word);
        }
        sqlite3_finalize(q);
        sqlite3_close(db);
}

/* Words of the corpus that are incident rows (in the order the rules
 * decide them, which is the order of the attributes). */
static bool is_incident_word(const char *w) {
        static const char *const words[] = { "fire", "fire_clear", "water_leak", "water_clear", "sos", "fall_prealarm",
                                             "battery_low", "tamper", "device_fault", "offline" };

        for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
                if (strcmp(w, words[i]) == 0)
                        return true;
        return false;
}

static bool has_word(json_t *expect, const char *w) {
        for (size_t i = 0; i < json_array_size(expect); i++)
                if (strcmp(json_string_value(json_array_get(expect, i)), w) == 0)
                        return true;
        return false;
}

/* The expected incident words, sorted, and the same of got, compared as sets
 * with counts. */
static int cmp_str(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static void sorted_words(char *text, char **out, size_t *n, size_t max) {
        *n = 0;
        for (char *save = NULL, *w = strtok_r(text, " ", &save); w && *n < max; w = strtok_r(NULL, " ", &save))
                out[(*n)++] = w;
        qsort(out, *n, sizeof *out, cmp_str);
}

static void check_incident_words(const char *where, json_t *expect, const char *got_text) {
        char want_text[512] = "", got_copy[512], want_copy[512];
        char *want[16], *got[16];
        size_t nw, ng, l = 0;
        bool same;

        for (size_t i = 0; i < json_array_size(expect); i++) {
                const char *w = json_string_value(json_array_get(expect, i));
                if (is_incident_word(w))
                        l += (size_t) snprintf(want_text + l, sizeof want_text - l, "%s%s", l ? " " : "", w);
        }
        snprintf(want_copy, sizeof want_copy, "%s", want_text);
        snprintf(got_copy, sizeof got_copy, "%s", got_text);
        sorted_words(want_copy, want, &nw, 16);
        sorted_words(got_copy, got, &ng, 16);
        same = nw == ng;
        for (size_t i = 0; same && i < nw; i++)
                same = strcmp(want[i], got[i]) == 0;
        ck_assert_msg(same, "%s: incidents: expected [%s], anjud recorded [%s]", where, want_text, got_text);
}

/* A number of anjuctl sensors' row, or -1 if it is not a number. */
static double row_number(json_t *row, const char *key) {
        json_t *v = json_object_get(row, key);
        return json_is_number(v) ? json_number_value(v) : -1;
}

/* The hub's view of the device after one message, word by word. */
static void check_state_words(struct h_rig *r, const struct device *dv, const char *where, json_t *expect) {
        json_t *row = sensor_row(r, dv->id), *online = json_object_get(row, "online");

        if (has_word(expect, "online"))
                ck_assert_msg(json_is_true(online), "%s: online expected, anjuctl sensors says %s", where,
                              json_is_null(online) ? "unknown" : "offline");
        if (has_word(expect, "offline"))
                ck_assert_msg(json_is_false(online), "%s: offline expected, anjuctl sensors says %s", where,
                              json_is_null(online) ? "unknown" : "online");
        if (has_word(expect, "presence_home") || has_word(expect, "presence_clear"))
                ck_assert_msg(row_number(row, "presence") == (has_word(expect, "presence_home") ? 1 : 0),
                              "%s: presence %s expected, anjuctl sensors says %g", where,
                              has_word(expect, "presence_home") ? "1" : "0", row_number(row, "presence"));
        for (size_t i = 0; i < json_array_size(expect); i++) {
                static const struct {
                        const char *word;
                        double value;
                } values[] = {
                        { "door_open", 1 }, { "door_closed", 0 }, { "bed_exit", 1 }, { "bed_back", 0 },
                        { "relay_on_confirmed", 1 }, { "relay_off_confirmed", 0 },
                };
                const char *w = json_string_value(json_array_get(expect, i));
                for (size_t k = 0; k < sizeof values / sizeof values[0]; k++)
                        if (strcmp(w, values[k].word) == 0)
                                ck_assert_msg(row_number(row, "value") == values[k].value,
                                              "%s: %s expected, anjuctl sensors' value is %g", where, w,
                                              row_number(row, "value"));
        }
        json_decref(row);
}

/* Of the words, is any a sign of life in anju's rules? activity must move
 * last_activity; a door, a bed pad or an SOS press may; nothing else may. */
static int activity_rule(json_t *expect) {
        static const char *const maybe[] = { "door_open", "door_closed", "bed_exit", "bed_back", "sos" };

        if (has_word(expect, "activity"))
                return 1;
        for (size_t i = 0; i < sizeof maybe / sizeof maybe[0]; i++)
                if (has_word(expect, maybe[i]))
                        return 0;
        return -1;
}

/* Did dv's pre-alarm row after seq join a pre-alarm still running (an
 * earlier fall on the same incident, not yet called)? Then the resident's
 * prompt is that fall's, already running, and no new one starts. */
static bool joined_prealarm(struct h_rig *r, const char *actor, long long after) {
        char sql[768];

        snprintf(sql, sizeof sql,
                 "SELECT count(*) FROM timeline t WHERE t.seq > %lld AND t.actor = '%s' AND t.event = 'prealarm' "
                 "AND EXISTS (SELECT 1 FROM timeline e WHERE e.incident = t.incident AND e.seq < t.seq) "
                 "AND NOT EXISTS (SELECT 1 FROM timeline o WHERE o.incident = t.incident AND o.seq < t.seq "
                 "AND o.event = 'opened')",
                 after, actor);
        return h_rig_db(r, sql) > 0;
}

/* Publishes one corpus message of dv and checks anjud's decisions. */
static void replay_message(struct h_rig *r, const struct device *dv, size_t i, json_t *m) {
        json_t *expect = json_object_get(m, "expect");
        char where[256], topic[256], got[512];
        struct state before, after;
        long long seq = last_seq(r);
        int act;

        snprintf(where, sizeof where, "%s message %zu (%s: %s)", dv->id, i + 1, str(m, "label"), str(m, "payload"));
        ck_assert_msg(json_array_size(expect) > 0, "%s: no expect", where);
        wait_clock_past_activity(r, &before);
        snprintf(topic, sizeof topic, "zigbee2mqtt/%s%s", dv->id, str(m, "topic"));
        h_publish(r->mqtt_port, topic, str(m, "payload"), strlen(str(m, "payload")), json_is_true(json_object_get(m, "retain")));
        wait_messages(r, before.messages + 1, &after, where);
        timeline_words(r, dv->id, seq, got, sizeof got);
        check_incident_words(where, expect, got);
        act = activity_rule(expect);
        if (act > 0)
                ck_assert_msg(strcmp(after.last_activity, before.last_activity) != 0,
                              "%s: activity expected, but the last activity is still %s", where, after.last_activity);
        else if (act < 0)
                ck_assert_msg(strcmp(after.last_activity, before.last_activity) == 0,
                              "%s: no activity expected, but the last activity moved from %s to %s", where,
                              before.last_activity, after.last_activity);
        check_state_words(r, dv, where, expect);
        if (has_word(expect, "fall_prealarm") && !joined_prealarm(r, dv->id, seq))
                ck_assert_msg(h_saw_message(r->sub, "anju/" H_HUB "/prompt", "\"action\":\"start\"", WAIT_MS),
                              "%s: no prompt to cancel the fall on anju/" H_HUB "/prompt", where);
}

/* How many rows of the sensor log say attr = value for the device, once
 * the log has been written (it is batched: within half a second). */
static void expect_logged(struct h_rig *r, const struct device *dv, const char *attr, double value, long long want) {
        char sql[512];
        long long got;

        if (want == 0)
                return;
        snprintf(sql, sizeof sql, "SELECT count(*) FROM sensor_log WHERE sensor = '%s' AND attr = '%s' AND value = %g",
                 dv->id, attr, value);
        got = h_rig_db_wait(r, sql, want, WAIT_MS);
        ck_assert_msg(got >= want, "%s: %lld %s = %g on the record, expected at least %lld", dv->id, got, attr, value,
                      want);
}

static long long count_word(json_t *messages, const char *w) {
        long long n = 0;

        for (size_t i = 0; i < json_array_size(messages); i++)
                n += has_word(json_object_get(json_array_get(messages, i), "expect"), w);
        return n;
}

/* One device's life, message by message. */
static void replay_device(struct h_rig *r, const struct device *dv) {
        json_t *messages = json_object_get(dv->doc, "messages");

        ck_assert_uint_gt(json_array_size(messages), 3);
        for (size_t i = 0; i < json_array_size(messages); i++)
                replay_message(r, dv, i, json_array_get(messages, i));
        /* Only on the record: a smoke detector's self-test (never a call),
         * a possible fall (starts nothing). */
        expect_logged(r, dv, "test", 1, count_word(messages, "self_test"));
        expect_logged(r, dv, "fall_state", 1, count_word(messages, "fall_warning"));
}

/* A batch: the devices of these kinds, on one anjud. */
static void replay_kinds(const char *const *kinds) {
        static char conf[60000];
        struct h_rig r;
        struct state st;
        size_t l, n = 0;

        load_corpus();
        l = (size_t) snprintf(conf, sizeof conf, "%s", QUIET_RULES);
        for (size_t i = 0; i < n_devices; i++)
                for (size_t k = 0; kinds[k]; k++)
                        if (strcmp(devices[i].kind, kinds[k]) == 0) {
                                sensor_section(&devices[i], conf + l, sizeof conf - l);
                                l += strlen(conf + l);
                                n++;
                        }
        ck_assert_uint_gt(n, 0);
        h_rig_up(&r, &(struct h_rig_opts) { .scale = SCALE, .start = START, .config = conf });
        for (size_t i = 0; i < n_devices; i++)
                for (size_t k = 0; kinds[k]; k++)
                        if (strcmp(devices[i].kind, kinds[k]) == 0)
                                replay_device(&r, &devices[i]);
        /* Keys anju does not use are not bad payloads. */
        status(&r, &st);
        ck_assert_int_eq(st.refused_payload, 0);
        ck_assert_int_eq(st.refused_topic, 0);
        printf("devices: %zu devices of kind", n);
        for (size_t k = 0; kinds[k]; k++)
                printf("%s %s", k ? "," : "", kinds[k]);
        printf(" replayed (%lld messages)\n", st.messages);
        h_rig_down(&r);
}

START_TEST(test_smoke_detectors_and_water_sensors) {
        replay_kinds((const char *const[]) { "smoke", "water", NULL });
}
END_TEST

START_TEST(test_motion_door_and_presence_sensors) {
        replay_kinds((const char *const[]) { "motion", "door", "presence", NULL });
}
END_TEST

START_TEST(test_buttons_fall_detectors_and_bed_pads) {
        replay_kinds((const char *const[]) { "button", "fall", "bed", NULL });
}
END_TEST

/* --- relays ----------------------------------------------------------------------- */

#define RELAY_SCALE "20"
#define CONFIRM_S 10                    /* issue 13: a plug confirms within 10 s */

/* The corpus command whose label is this message's (the command anjud
 * must send before Zigbee2MQTT publishes it), or NULL. */
static json_t *command_for(const struct device *dv, json_t *m) {
        json_t *cmds = json_object_get(dv->doc, "commands");

        for (size_t i = 0; i < json_array_size(cmds); i++)
                if (strcmp(str(json_array_get(cmds, i), "label"), str(m, "label")) == 0)
                        return json_array_get(cmds, i);
        return NULL;
}

/* The next /set anjud published for the plug: exactly the command's payload. */
static void expect_set(struct proc *sets, const struct device *dv, json_t *cmd, const char *why) {
        char topic[256];
        char *got;

        snprintf(topic, sizeof topic, "zigbee2mqtt/%s%s", dv->id, str(cmd, "topic"));
        got = h_wait_message(sets, topic, NULL, WAIT_MS);
        ck_assert_msg(got != NULL, "%s: anjud sent nothing to %s", why, topic);
        ck_assert_msg(strcmp(got, str(cmd, "payload")) == 0, "%s: anjud sent %s to %s, Zigbee2MQTT accepts %s", why,
                      got, topic, str(cmd, "payload"));
        free(got);
}

/* Waits until the daemon's clock has passed `seconds` after `from` (an
 * anjuctl time). */
static void wait_daemon_seconds(struct h_rig *r, const char *from, int seconds) {
        struct tm tm = { 0 };
        char want[40];
        struct state st;
        time_t t;

        ck_assert_ptr_nonnull(strptime(from, "%Y-%m-%dT%H:%M:%S", &tm));
        tm.tm_isdst = -1;
        t = mktime(&tm) + seconds;
        localtime_r(&t, &tm);
        strftime(want, sizeof want, "%Y-%m-%dT%H:%M:%S", &tm);
        for (int i = 0; i < 5000; i++) {
                status(r, &st);
                if (strncmp(st.now, want, 19) >= 0)
                        return;
        }
        ck_abort_msg("the daemon's clock did not reach %s", want);
}

static long long relay_warnings(struct h_rig *r, const struct device *dv) {
        char sql[512];

        snprintf(sql, sizeof sql, "SELECT count(*) FROM timeline t JOIN incidents i ON i.id = t.incident "
                                  "WHERE t.actor = '%s' AND t.note LIKE '%%did not confirm%%' AND t.event != 'cleared'",
                 dv->id);
        return h_rig_db(r, sql);
}

static void publish(struct h_rig *r, const char *topic, const char *payload) {
        struct state st;

        status(r, &st);
        h_publish(r->mqtt_port, topic, payload, strlen(payload), false);
        wait_messages(r, st.messages + 1, &st, topic);
}

/* A fire cuts the plug; the corpus's state reports confirm it; closing the
 * fire restores it. No retry and no warning when the plug confirms. */
static void replay_relay(struct h_rig *r, struct proc *sets, const struct device *dv) {
        json_t *messages = json_object_get(dv->doc, "messages");
        char id[64];

        for (size_t i = 0; i < json_array_size(messages); i++) {
                json_t *m = json_array_get(messages, i), *cmd = command_for(dv, m);
                struct state st;

                if (cmd && strcmp(str(cmd, "payload"), "{\"state\":\"OFF\"}") == 0) {
                        publish(r, "zigbee2mqtt/kitchen_smoke", "{\"smoke\":true}");
                        expect_set(sets, dv, cmd, "a fire");
                } else if (cmd) {
                        publish(r, "zigbee2mqtt/kitchen_smoke", "{\"smoke\":false}");
                        h_rig_db_text(r, "SELECT id FROM incidents WHERE type = 'fire' AND closed_at IS NULL", id,
                                      sizeof id);
                        ck_assert_msg(id[0], "no open fire incident to close");
                        json_decref(h_rig_ctl_json(r, NULL, "resolve", id, NULL));
                        expect_set(sets, dv, cmd, "the fire resolved");
                }
                status(r, &st);
                replay_message(r, dv, i, m);
                if (cmd) {
                        /* Confirmed: nothing more is sent, no warning, when
                         * its time is long past. */
                        char topic[256];

                        snprintf(topic, sizeof topic, "zigbee2mqtt/%s/set", dv->id);
                        wait_daemon_seconds(r, st.now, 2 * CONFIRM_S);
                        ck_assert_msg(!h_saw_message(sets, topic, NULL, 200), "%s: told again though it confirmed",
                                      dv->id);
                        ck_assert_int_eq(relay_warnings(r, dv), 0);
                }
        }
}

/* A plug that does not answer: told again after 10 s, then a device-health
 * warning; its report later confirms it and clears the warning. */
static void unreachable_plug(struct h_rig *r, struct proc *sets, const struct device *dv, json_t *cmd) {
        char topic[256], sql[512];
        long long cleared;

        publish(r, "zigbee2mqtt/kitchen_smoke", "{\"smoke\":true}");
        expect_set(sets, dv, cmd, "a fire, the plug unreachable");
        expect_set(sets, dv, cmd, "no confirmation within 10 s");
        ck_assert_int_eq(relay_warnings(r, dv), 0);
        ck_assert_msg(h_rig_db_wait(r, "SELECT count(*) FROM timeline WHERE note LIKE '%did not confirm%'", 1,
                                    WAIT_MS) == 1, "%s: no warning after the plug did not confirm twice", dv->id);
        ck_assert_int_eq(relay_warnings(r, dv), 1);
        /* It is reachable again and reports the cut state: the warning
         * clears (one more "cleared" row of its device health). */
        snprintf(sql, sizeof sql, "SELECT count(*) FROM timeline t JOIN incidents i ON i.id = t.incident "
                                  "WHERE t.actor = '%s' AND t.event = 'cleared' AND i.type = 'device_health'", dv->id);
        cleared = h_rig_db(r, sql);
        snprintf(topic, sizeof topic, "zigbee2mqtt/%s", dv->id);
        publish(r, topic, "{\"linkquality\":116,\"state\":\"OFF\"}");
        ck_assert_int_eq(h_rig_db(r, sql), cleared + 1);
}

START_TEST(test_relay_plugs) {
        json_t *cmds;
        struct proc *sets;
        struct device *dv = NULL;
        struct h_rig r;
        char conf[1024];
        size_t k = 0;

        load_corpus();
        for (size_t i = 0; i < n_devices; i++)
                if (strcmp(devices[i].kind, "relay") == 0 && k++ == (size_t) _i)
                        dv = &devices[i];
        ck_assert_ptr_nonnull(dv);
        snprintf(conf, sizeof conf, "%s", QUIET_RULES);
        sensor_section(dv, conf + strlen(conf), sizeof conf - strlen(conf));
        h_rig_up(&r, &(struct h_rig_opts) { .scale = RELAY_SCALE, .start = START, .config = conf });
        sets = h_sub_start(r.mqtt_port, "zigbee2mqtt/+/set");
        replay_relay(&r, sets, dv);
        cmds = json_object_get(dv->doc, "commands");
        for (size_t i = 0; i < json_array_size(cmds); i++)
                if (json_is_false(json_object_get(json_array_get(cmds, i), "answered")))
                        unreachable_plug(&r, sets, dv, json_array_get(cmds, i));
        h_stop(sets, SIGTERM);
        h_rig_down(&r);
}
END_TEST

/* --- the bridge ---------------------------------------------------------------------- */

/* zigbee2mqtt/bridge/state as Zigbee2MQTT 2.14 publishes it: offline makes
 * every device behind it unknown, with one warning for all of them. */
START_TEST(test_bridge_state) {
        json_t *bridge, *messages;
        char path[2048], conf[2048];
        json_error_t err;
        struct h_rig r;
        size_t l;

        load_corpus();
        snprintf(path, sizeof path, "%s/bridge.json", corpus_dir());
        bridge = json_load_file(path, 0, &err);
        ck_assert_msg(bridge != NULL, "%s: %s", path, err.text);
        messages = json_object_get(bridge, "messages");
        l = (size_t) snprintf(conf, sizeof conf, "%s", QUIET_RULES);
        sensor_section(&devices[0], conf + l, sizeof conf - l);
        h_rig_up(&r, &(struct h_rig_opts) { .scale = SCALE, .start = START, .config = conf });
        for (size_t i = 0; i < json_array_size(messages); i++) {
                json_t *m = json_array_get(messages, i), *expect = json_object_get(m, "expect"), *row, *sensors;
                bool offline = has_word(expect, "offline");
                char topic[256], where[256];
                struct state st;

                snprintf(where, sizeof where, "bridge message %zu (%s: %s)", i + 1, str(m, "label"), str(m, "payload"));
                status(&r, &st);
                snprintf(topic, sizeof topic, "%s/%s", str(bridge, "base_topic"), str(m, "topic"));
                h_publish(r.mqtt_port, topic, str(m, "payload"), strlen(str(m, "payload")),
                          json_is_true(json_object_get(m, "retain")));
                wait_messages(&r, st.messages + 1, &st, where);
                /* Every device behind it: unknown (offline) or online; the
                 * wristband (band/ye) is not behind it. */
                sensors = json_object_get(row = h_rig_ctl_json(&r, NULL, "sensors", NULL), "sensors");
                for (size_t k = 0; k < json_array_size(sensors); k++) {
                        json_t *s = json_array_get(sensors, k), *online = json_object_get(s, "online");
                        bool behind = strncmp(str(s, "source"), "zigbee2mqtt/", 12) == 0;
                        ck_assert_msg(behind && offline ? json_is_null(online) : json_is_true(online),
                                      "%s: %s is %s", where, str(s, "id"),
                                      json_is_null(online) ? "unknown" : json_is_true(online) ? "online" : "offline");
                }
                json_decref(row);
                /* One warning for the bridge, none of the devices' own. */
                ck_assert_int_eq(h_rig_db(&r, "SELECT count(*) FROM incidents WHERE type = 'device_health'"), i > 0);
                ck_assert_int_eq(h_rig_db(&r, "SELECT count(*) FROM incidents WHERE sensor = 'hub:bridge'"), i > 0);
                ck_assert_int_eq(h_rig_db(&r, "SELECT count(*) FROM timeline t JOIN incidents i ON i.id = t.incident "
                                              "WHERE i.sensor = 'hub:bridge' AND t.event = 'cleared'"),
                                 (long long) (i / 2));
        }
        /* Zigbee2MQTT 1.x said it in a bare word. */
        publish(&r, "zigbee2mqtt/bridge/state", "online");
        ck_assert_int_eq(h_rig_db(&r, "SELECT count(*) FROM timeline t JOIN incidents i ON i.id = t.incident "
                                      "WHERE i.sensor = 'hub:bridge' AND t.event = 'cleared'"), 2);
        publish(&r, "zigbee2mqtt/kitchen_smoke/availability", "offline");
        ck_assert_int_eq(h_rig_db(&r, "SELECT count(*) FROM timeline WHERE actor = 'kitchen_smoke' AND "
                                      "note LIKE '%its bridge says so%'"), 1);
        json_decref(bridge);
        h_rig_down(&r);
}
END_TEST

/* --- the rules of the new kinds, live -------------------------------------------------- */

/* A radar sees her, she stops moving, the radar keeps seeing her: the
 * long lie is raised and called in like any inactivity. */
START_TEST(test_present_without_movement_raises_inactivity) {
        struct h_rig r;
        json_t *call;

        h_rig_up(&r, &(struct h_rig_opts) {
                .scale = "600", .start = START,
                .config = "[sensor radar]\nkind = presence\ntopic = zigbee2mqtt/radar\n"
                          "[rule inactivity]\nday_limit = 30m\n" });
        h_rig_pub(&r, "zigbee2mqtt/radar", "{\"linkquality\":116,\"movement\":\"movement\",\"presence\":true}");
        h_rig_pub(&r, "zigbee2mqtt/radar", "{\"linkquality\":116,\"movement\":\"no_movement\",\"presence\":true}");
        ck_assert_msg(h_saw_message(r.sub, "anju/" H_HUB "/alert", "\"type\":\"inactivity\"", 20000),
                      "no inactivity alert though she did not move for 30 min");
        /* Urgent: the center is called when nobody takes charge (no contacts). */
        call = h_sim_next_call(r.sim, 20000);
        ck_assert_msg(call != NULL, "no call for the long lie");
        json_decref(call);
        h_rig_down(&r);
}
END_TEST

/* Out of bed at 02:00 and not back: the bed exit alarm (high risk: on,
 * 15 min). */
START_TEST(test_out_of_bed_at_night_raises_bed_exit) {
        struct h_rig r;

        h_rig_up(&r, &(struct h_rig_opts) {
                .scale = "300", .start = "2026-01-16 02:00",
                .config = QUIET_RULES "[sensor pad]\nkind = bed\ntopic = zigbee2mqtt/pad\n" });
        h_rig_pub(&r, "zigbee2mqtt/pad", "{\"battery\":100,\"battery_low\":false,\"contact\":true,\"tamper\":false}");
        h_rig_pub(&r, "zigbee2mqtt/pad", "{\"battery\":100,\"battery_low\":false,\"contact\":false,\"tamper\":false}");
        ck_assert_msg(h_saw_message(r.sub, "anju/" H_HUB "/alert", "\"type\":\"bed_exit\"", 20000),
                      "no bed exit alert");
        ck_assert_int_eq(h_rig_db(&r, "SELECT count(*) FROM incidents WHERE type = 'bed_exit' AND severity = 'urgent' "
                                      "AND sensor = 'pad'"), 1);
        h_rig_down(&r);
}
END_TEST

int main(void) {
        Suite *s = suite_create("devices");
        TCase *t = tcase_create("corpus");
        SRunner *sr;
        int failed;

        tcase_set_timeout(t, 120);
        tcase_add_test(t, test_smoke_detectors_and_water_sensors);
        tcase_add_test(t, test_motion_door_and_presence_sensors);
        tcase_add_test(t, test_buttons_fall_detectors_and_bed_pads);
        tcase_add_loop_test(t, test_relay_plugs, 0, 2);
        tcase_add_test(t, test_bridge_state);
        tcase_add_test(t, test_present_without_movement_raises_inactivity);
        tcase_add_test(t, test_out_of_bed_at_night_raises_bed_exit);
        suite_add_tcase(s, t);
        sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? 1 : 0;
}
