/* Carrying out the incident manager's action lists (issue 12): actions_run()
 * over a real store in a temporary directory (and over none), with fake
 * sink functions that record what they were handed and, at that moment,
 * what a second SQLite connection sees on disk. What it must keep: the
 * rows of a list commit before anything leaves the hub (no MQTT message,
 * no call released, no journal line before the commit returns); a list
 * that opens, changes or calls is durable (synchronous=FULL), one of
 * notices only relaxed; an id already taken re-keys the incident and the
 * calls go under the new id; a store that fails still lets every call
 * go, from memory. The lists come from the real incident manager. */
#include "unit.h"
#include "actions.h"
#include "incident.h"
#include "store.h"
#include "util.h"

#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#define MONO0 (UINT64_C(5000) * USEC_PER_SEC)
#define WALL0 (UINT64_C(1795363200) * USEC_PER_SEC)
#define SEC(x) ((uint64_t) (x) * USEC_PER_SEC)

/* li is on a topic and a JSON webhook, zhao on a topic only. */
#define HOME \
        "[sensor smoke]\nkind = smoke\nroom = kitchen\ntopic = z2m/smoke\n" \
        "[sensor leak]\nkind = water\nroom = bathroom\ntopic = z2m/leak\n" \
        "[sensor band]\nkind = wristband\ntopic = z2m/band\n" \
        "[contact li]\nrole = volunteer\nname = Li\ntopic = phone/li\nwebhook = https://hooks.example/li\n" \
        "[contact zhao]\nrole = grid\ntopic = phone/zhao\n"

/* --- a temporary database ------------------------------------------------- */

static char root[64], path[128];

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw) {
        return remove(p);
}

static void root_setup(void) {
        snprintf(root, sizeof root, "/tmp/anju-actions-XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(root));
}

static void root_teardown(void) {
        (void) nftw(root, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

/* A second, independent connection: what is on disk for others. */
static long long scalar(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static long long scalar(const char *fmt, ...) {
        char sql[512];
        sqlite3 *db;
        sqlite3_stmt *q;
        long long v = -1;
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(sql, sizeof sql, fmt, ap);
        va_end(ap);
        ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
        ck_assert_msg(sqlite3_prepare_v2(db, sql, -1, &q, NULL) == SQLITE_OK, "%s: %s", sql, sqlite3_errmsg(db));
        if (sqlite3_step(q) == SQLITE_ROW)
                v = sqlite3_column_int64(q, 0);
        sqlite3_finalize(q);
        sqlite3_close(db);
        return v;
}

/* True if some connection holds the write lock (a transaction is open):
 * a second writer cannot begin without waiting. */
static bool write_locked(void) {
        sqlite3 *db;
        int rc;

        ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
        sqlite3_busy_timeout(db, 0);
        rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
        if (rc == SQLITE_OK)
                (void) sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        sqlite3_close(db);
        ck_assert_msg(rc == SQLITE_OK || rc == SQLITE_BUSY, "BEGIN IMMEDIATE: %d", rc);
        return rc == SQLITE_BUSY;
}

/* --- the journal, captured ------------------------------------------------ */

static char log_path[160];

static void capture_log(void) {
        int fd;

        snprintf(log_path, sizeof log_path, "%s/log-%d", root, (int) getpid());
        fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(dup2(fd, STDERR_FILENO), STDERR_FILENO);
        close(fd);
}

static bool logged(const char *what) {
        char buf[65536];
        ssize_t n;
        int fd = open(log_path, O_RDONLY | O_CLOEXEC);

        if (fd < 0)
                return false;
        n = read(fd, buf, sizeof buf - 1);
        close(fd);
        buf[n > 0 ? n : 0] = '\0';
        return strstr(buf, what) != NULL;
}

/* --- the fake sink -------------------------------------------------------- */

/* What the sink was handed, in order, and what was true at that moment. */
struct sink_event {
        char what[16];                  /* "call", "commit", "abort", "publish", "drop" */
        char arg[160];                  /* incident, topic */
        char detail[160];               /* the call's id/call/sequence, webhook url, payload's incident */
        bool stored;                    /* commit */
        bool in_tx;                     /* the store held its write lock */
        int sync;                       /* the store's PRAGMA synchronous then (-1: no store) */
        long long rows;                 /* incident rows of arg visible to a second connection */
        bool log_opened;                /* the list's "opened" journal line was already written */
        char body[2048];
};

static struct config *cfg;
static struct incidents *m;
static struct store *st;
static struct actions *act;
static struct action_list list;
static struct sink_event ev[256];
static size_t n_ev;
static const char *watch_id = "T-1";    /* the incident whose rows the fakes look for */
static const char *watch_log = "incident T-1 opened";
static unsigned rekeys;
static unsigned ids;
static const char *const *id_script;    /* ids the id source hands out, NULL-terminated */

static struct sink_event *record(const char *what, const char *arg) {
        struct sink_event *e;

        ck_assert_uint_lt(n_ev, ELEMENTSOF(ev));
        e = &ev[n_ev++];
        *e = (struct sink_event) { .sync = -1 };
        snprintf(e->what, sizeof e->what, "%s", what);
        snprintf(e->arg, sizeof e->arg, "%s", arg ? arg : "");
        if (st) {
                e->in_tx = write_locked();
                e->sync = store_synchronous(st);
                e->rows = scalar("SELECT count(*) FROM incidents WHERE id = '%s'", watch_id);
        }
        e->log_opened = watch_log && logged(watch_log);
        return e;
}

static int fake_call(void *ud, enum call_kind kind, const char *incident, const char *body, const char *url,
                     uint64_t wall) {
        struct sink_event *e = record("call", incident);
        json_t *j = json_loads(body, 0, NULL);

        ck_assert_ptr_nonnull(j);
        if (kind == CALL_ALARM)
                snprintf(e->detail, sizeof e->detail, "alarm id=%s call=%s seq=%lld",
                         json_string_value(json_object_get(j, "id")), json_string_value(json_object_get(j, "call")),
                         (long long) json_integer_value(json_object_get(j, "sequence")));
        else
                snprintf(e->detail, sizeof e->detail, "webhook %s incident=%s", url ? url : "(none)",
                         json_string_value(json_object_get(j, "incident")));
        snprintf(e->body, sizeof e->body, "%s", body);
        json_decref(j);
        return 0;
}

static void fake_commit(void *ud, bool stored) {
        record("commit", NULL)->stored = stored;
}

static void fake_abort(void *ud) {
        record("abort", NULL);
}

static int fake_publish(void *ud, const char *topic, const char *payload, size_t len) {
        struct sink_event *e = record("publish", topic);
        json_t *j = json_loadb(payload, len, 0, NULL);

        ck_assert_ptr_nonnull(j);
        snprintf(e->detail, sizeof e->detail, "incident=%s", json_string_value(json_object_get(j, "incident")));
        snprintf(e->body, sizeof e->body, "%.*s", (int) len, payload);
        json_decref(j);
        return 0;
}

static void fake_drop(void *ud, const char *incident) {
        record("drop", incident);
}

static int rekey(const char *old_id, char *new_id, size_t n, void *ud) {
        rekeys++;
        return incidents_rekey(m, old_id, new_id, n);
}

static int make_id(uint64_t wall, char *buf, size_t n, void *userdata) {
        if (id_script && id_script[ids])
                snprintf(buf, n, "%s", id_script[ids++]);
        else
                snprintf(buf, n, "T-%u", ++ids);
        return 0;
}

static const struct actions_sink sink = {
        .call = fake_call, .commit = fake_commit, .abort = fake_abort, .publish = fake_publish,
        .drop_notices = fake_drop,
};

static void up(bool with_store) {
        static char dir[96];

        snprintf(dir, sizeof dir, "%s/XXXXXX", root);
        ck_assert_ptr_nonnull(mkdtemp(dir));
        snprintf(path, sizeof path, "%s/anju.db", dir);
        cfg = load_ok(HOME);
        st = NULL;
        if (with_store)
                ck_assert_int_eq(store_open(path, &st), 0);
        ck_assert_int_eq(incidents_new(cfg, &cfg->rules, &m), 0);
        incidents_set_id_source(m, make_id, NULL);
        ck_assert_int_eq(actions_new(cfg, st, &sink, rekey, NULL, &act), 0);
        n_ev = 0;
        rekeys = 0;
        ids = 0;
        id_script = NULL;
        watch_id = "T-1";
        watch_log = "incident T-1 opened";
        capture_log();
}

static void teardown(void) {
        actions_free(act);
        act = NULL;
        incidents_free(m);
        m = NULL;
        store_close(st);
        st = NULL;
        action_list_free(&list);
        memset(&list, 0, sizeof list);
        config_free(cfg);
        cfg = NULL;
}

static uint32_t sensor(const char *id) {
        int i = config_find_sensor(cfg, id);

        ck_assert_int_ge(i, 0);
        return (uint32_t) i;
}

static void raise_at(uint64_t s, enum incident_type t, enum severity sev, const char *sid) {
        struct decision d = { .kind = DECISION_RAISE, .type = t, .severity = sev, .sensor = sensor(sid),
                              .mono = MONO0 + SEC(s), .wall = WALL0 + SEC(s), .since_wall = WALL0 + SEC(s) };

        ck_assert_int_eq(incidents_apply(m, &d, NULL, NULL, &list), 0);
}

static int run(void) {
        int r = actions_run(act, &list);

        action_list_clear(&list);
        return r;
}

static const char *events(void) {
        static char buf[16384];
        size_t l = 0;

        buf[0] = '\0';
        for (size_t i = 0; i < n_ev && l < sizeof buf - 400; i++)
                l += (size_t) snprintf(buf + l, sizeof buf - l, "\n    %s %s %s%s tx=%d sync=%d rows=%lld",
                                       ev[i].what, ev[i].arg, ev[i].detail,
                                       strcmp(ev[i].what, "commit") == 0 ? (ev[i].stored ? " stored" : " NOT stored")
                                                                         : "",
                                       ev[i].in_tx, ev[i].sync, ev[i].rows);
        return n_ev ? buf : " (none)";
}

static size_t count(const char *what) {
        size_t n = 0;

        for (size_t i = 0; i < n_ev; i++)
                n += strcmp(ev[i].what, what) == 0;
        return n;
}

static size_t first(const char *what) {
        for (size_t i = 0; i < n_ev; i++)
                if (strcmp(ev[i].what, what) == 0)
                        return i;
        return SIZE_MAX;
}

/* --- nothing leaves before it is stored ------------------------------------------- */

START_TEST(test_actions_critical_incident_is_stored_before_anything_leaves) {
        up(true);
        raise_at(0, INCIDENT_FIRE, SEVERITY_CRITICAL, "smoke");
        ck_assert_int_eq(run(), 0);

        /* The call and li's webhook notice are written inside the
         * transaction (the outbox's rows go with the incident's), durably;
         * nothing of it is visible to others yet, and not yet logged. */
        ck_assert_uint_eq(count("call"), 2);
        for (size_t i = 0; i < n_ev; i++) {
                if (strcmp(ev[i].what, "call") != 0)
                        continue;
                ck_assert_msg(i < first("publish") && i < first("commit"), "%s", events());
                ck_assert_msg(ev[i].in_tx, "call handed outside the transaction:%s", events());
                ck_assert_msg(ev[i].sync == 2, "a list that opens an incident must be durable:%s", events());
                ck_assert_msg(ev[i].rows == 0, "visible before the commit:%s", events());
                ck_assert_msg(!ev[i].log_opened, "logged before the commit:%s", events());
        }
        ck_assert_str_eq(ev[0].detail, "alarm id=T-1 call=alarm seq=1");
        ck_assert_str_eq(ev[1].detail, "webhook https://hooks.example/li incident=T-1");

        /* Then every message, then the calls are released: each with the
         * rows committed, the transaction over, the journal line written. */
        ck_assert_uint_eq(count("publish"), 3);         /* the alert, li's and zhao's notices */
        ck_assert_uint_eq(count("commit"), 1);
        ck_assert_uint_eq(count("abort"), 0);
        for (size_t i = first("publish"); i < n_ev; i++) {
                ck_assert_msg(!ev[i].in_tx && ev[i].rows == 1 && ev[i].log_opened && ev[i].sync == 2,
                              "event %zu before the commit returned:%s", i, events());
                ck_assert_str_ne(ev[i].what, "call");
        }
        ck_assert_str_eq(ev[n_ev - 1].what, "commit");
        ck_assert(ev[n_ev - 1].stored);
        ck_assert_str_eq(ev[2].arg, "anju/h1/alert");
        ck_assert_str_eq(ev[3].arg, "phone/li");
        ck_assert_str_eq(ev[4].arg, "phone/zhao");

        /* What is on disk: the incident, its sensor, its timeline. */
        ck_assert_int_eq(scalar("SELECT count(*) FROM incidents WHERE id = 'T-1' AND state = 'open' AND "
                                "type = 'fire' AND severity = 'critical' AND sensor = 'smoke' AND room = 'kitchen'"), 1);
        ck_assert_int_eq(scalar("SELECT count(*) FROM incident_sensors WHERE incident = 'T-1' AND sensor = 'smoke'"),
                         1);
        ck_assert_int_eq(scalar("SELECT count(*) FROM timeline WHERE incident = 'T-1' AND event = 'opened' AND "
                                "actor = 'smoke' AND channel = 'rule'"), 1);
        ck_assert_int_eq(scalar("SELECT count(*) FROM timeline WHERE incident = 'T-1' AND event = 'notified'"), 3);
        ck_assert_int_eq(actions_get_stats(act)->durable, 1);
        ck_assert_int_eq(actions_get_stats(act)->calls, 1);
        ck_assert_int_eq(actions_get_stats(act)->published, 3);
}
END_TEST

START_TEST(test_actions_notices_only_run_relaxed) {
        up(true);
        raise_at(0, INCIDENT_WATER_LEAK, SEVERITY_URGENT, "leak");
        ck_assert_int_eq(run(), 0);
        n_ev = 0;
        /* 60 s later: the grid's first notice and li's repeat, nothing else. */
        incidents_tick(m, MONO0 + SEC(60), WALL0 + SEC(60), &list);
        for (size_t i = 0; i < list.n; i++)
                ck_assert_msg(list.v[i].kind == ACT_NOTIFY || list.v[i].kind == ACT_TIMELINE ||
                              list.v[i].kind == ACT_LOG, "%s", action_kind_to_string(list.v[i].kind));
        watch_log = "incident T-1: grid notified";
        ck_assert_int_eq(run(), 0);
        ck_assert_uint_eq(count("call"), 1);            /* li's webhook repeat */
        ck_assert_msg(ev[0].in_tx && ev[0].sync == 1, "a list of notices runs relaxed:%s", events());
        ck_assert_str_eq(ev[0].detail, "webhook https://hooks.example/li incident=T-1");
        /* Back to FULL once it is over: the next alarm commit is durable. */
        ck_assert_int_eq(store_synchronous(st), 2);
        ck_assert_int_eq(actions_get_stats(act)->relaxed, 1);
        ck_assert_int_eq(actions_get_stats(act)->durable, 1);
        ck_assert_str_eq(ev[n_ev - 1].what, "commit");
        ck_assert(ev[n_ev - 1].stored);
        for (size_t i = 1; i < n_ev; i++)
                ck_assert_msg(!ev[i].in_tx && ev[i].log_opened, "%s", events());
        ck_assert_int_eq(scalar("SELECT count(*) FROM timeline WHERE incident = 'T-1' AND note = 'repeat 1'"), 2);
}
END_TEST

START_TEST(test_actions_closing_drops_the_notices_after_the_commit) {
        up(true);
        raise_at(0, INCIDENT_WATER_LEAK, SEVERITY_URGENT, "leak");
        ck_assert_int_eq(run(), 0);
        n_ev = 0;
        ck_assert_int_eq(incidents_ack(m, "T-1", "resolved", "li", "mqtt", "dry", MONO0 + SEC(20), WALL0 + SEC(20),
                                       &list), ACK_APPLIED);
        watch_log = "incident T-1: resolved by li";
        ck_assert_int_eq(run(), 0);
        ck_assert_msg(ev[0].sync == 2, "a state change is durable:%s", events());
        ck_assert_str_eq(ev[n_ev - 1].what, "drop");
        ck_assert_str_eq(ev[n_ev - 1].arg, "T-1");
        ck_assert_str_eq(ev[n_ev - 2].what, "commit");
        ck_assert_int_eq(scalar("SELECT count(*) FROM incidents WHERE id = 'T-1' AND state = 'resolved' AND "
                                "closed_at IS NOT NULL"), 1);
        ck_assert_int_eq(scalar("SELECT count(*) FROM timeline WHERE incident = 'T-1' AND event = 'resolved' AND "
                                "actor = 'li' AND channel = 'mqtt' AND note = 'dry'"), 1);
}
END_TEST

START_TEST(test_actions_without_a_store_still_send_everything) {
        up(false);
        raise_at(0, INCIDENT_FIRE, SEVERITY_CRITICAL, "smoke");
        ck_assert_int_eq(run(), 0);
        ck_assert_uint_eq(count("call"), 2);
        ck_assert_uint_eq(count("publish"), 3);
        ck_assert_uint_eq(count("commit"), 1);
        ck_assert_uint_eq(count("abort"), 0);
        ck_assert_str_eq(ev[0].detail, "alarm id=T-1 call=alarm seq=1");
        ck_assert_msg(first("call") < first("publish") && first("publish") < first("commit"), "%s", events());
        ck_assert(logged("incident T-1 opened"));
}
END_TEST

START_TEST(test_actions_list_without_rows_publishes_and_commits_nothing) {
        struct action *a;

        up(true);
        a = action_add(&list, ACT_ALERT, "T-9");
        ck_assert_ptr_nonnull(a);
        a->state = "open";
        a->sensor = SENSOR_NONE;
        snprintf(a->text, sizeof a->text, "a test");
        a = action_add(&list, ACT_LOG, "T-9");
        snprintf(a->text, sizeof a->text, "just a line");
        ck_assert_int_eq(run(), 0);
        ck_assert_uint_eq(n_ev, 1);
        ck_assert_str_eq(ev[0].what, "publish");
        ck_assert(logged("just a line"));
        ck_assert_int_eq(actions_get_stats(act)->durable + actions_get_stats(act)->relaxed, 0);
}
END_TEST

/* --- an id taken by an older incident ------------------------------------------- */

static void older_incident_with_id(const char *id) {
        struct store_incident inc = { .id = id, .type = INCIDENT_WATER_LEAK, .severity = SEVERITY_URGENT,
                                      .state = "resolved", .reason = "an old leak", .opened_at = WALL0 - SEC(86400) };

        ck_assert_int_eq(store_begin(st, STORE_DURABLE), 0);
        ck_assert_int_eq(store_incident_insert(st, &inc), 0);
        ck_assert_int_eq(store_commit(st), 0);
}

START_TEST(test_actions_id_collision_rekeys_and_calls_under_the_new_id) {
        static const char *const script[] = { "DUP-1", "NEW-2", NULL };

        up(true);
        id_script = script;
        older_incident_with_id("DUP-1");
        raise_at(0, INCIDENT_FIRE, SEVERITY_CRITICAL, "smoke");
        watch_id = "NEW-2";
        watch_log = "opened: fire";
        ck_assert_int_eq(run(), 0);
        ck_assert_uint_eq(rekeys, 1);
        /* Rolled back once (nothing staged yet is sent), then all again. */
        ck_assert_msg(count("abort") == 1 && first("abort") < first("call"), "%s", events());
        ck_assert_uint_eq(count("call"), 2);
        ck_assert_uint_eq(count("commit"), 1);
        for (size_t i = 0; i < n_ev; i++) {
                if (strcmp(ev[i].what, "call") == 0)
                        ck_assert_str_eq(ev[i].arg, "NEW-2");
                if (strcmp(ev[i].what, "publish") == 0)
                        ck_assert_str_eq(ev[i].detail, "incident=NEW-2");
        }
        ck_assert_str_eq(ev[first("call")].detail, "alarm id=NEW-2 call=alarm seq=1");
        ck_assert(ev[n_ev - 1].stored);
        ck_assert_str_eq(incidents_open_id(m, INCIDENT_FIRE), "NEW-2");
        /* The older incident is untouched; the new one has its rows. */
        ck_assert_int_eq(scalar("SELECT count(*) FROM timeline WHERE incident = 'DUP-1'"), 0);
        ck_assert_int_eq(scalar("SELECT count(*) FROM incidents WHERE id = 'DUP-1' AND type = 'water_leak' AND "
                                "state = 'resolved'"), 1);
        ck_assert_int_eq(scalar("SELECT count(*) FROM incidents WHERE id = 'NEW-2' AND type = 'fire'"), 1);
        ck_assert_int_eq(scalar("SELECT count(*) FROM timeline WHERE incident = 'NEW-2' AND event = 'opened'"), 1);
        /* Answers reach it under the new id. */
        ck_assert_int_eq(incidents_ack(m, "NEW-2", "ack", "zhao", "mqtt", NULL, MONO0 + SEC(9), WALL0 + SEC(9), &list),
                         ACK_APPLIED);
}
END_TEST

/* The notices of a re-keyed incident tell people to answer "incident
 * <id>" (docs/ESCALATION.md §3): that must be the id the incident has, not
 * the one taken by an older incident; the journal must name it too. */
START_TEST(test_actions_after_an_id_collision_the_words_name_the_new_id) {
        static const char *const script[] = { "DUP-1", "NEW-2", NULL };

        up(true);
        id_script = script;
        older_incident_with_id("DUP-1");
        raise_at(0, INCIDENT_FIRE, SEVERITY_CRITICAL, "smoke");
        watch_id = "NEW-2";
        watch_log = NULL;
        ck_assert_int_eq(run(), 0);
        ck_assert_uint_eq(rekeys, 1);
        for (size_t i = 0; i < n_ev; i++)
                if (strcmp(ev[i].what, "publish") == 0 || strcmp(ev[i].what, "call") == 0)
                        ck_assert_msg(!strstr(ev[i].body, "DUP-1"), "%s to %s names the old id: %s", ev[i].what,
                                      ev[i].arg, ev[i].body);
        ck_assert_msg(!logged("incident DUP-1"), "the journal names the old id");
}
END_TEST

/* Two incidents opened by one list (one sensor message can raise a fire and
 * a device warning): the one whose id was taken is the one re-keyed. */
START_TEST(test_actions_id_collision_of_the_second_incident_in_a_list) {
        static const char *const script[] = { "A-1", "DUP-1", "NEW-3", "NEW-4", "NEW-5", "NEW-6", "NEW-7", NULL };
        struct decision d = { .kind = DECISION_RAISE, .type = INCIDENT_DEVICE_HEALTH, .severity = SEVERITY_WARNING,
                              .problem = HEALTH_BATTERY, .value = 5, .mono = MONO0, .wall = WALL0,
                              .since_wall = WALL0 };
        int r;

        up(true);
        id_script = script;
        older_incident_with_id("DUP-1");
        raise_at(0, INCIDENT_FIRE, SEVERITY_CRITICAL, "smoke");
        d.sensor = sensor("smoke");
        ck_assert_int_eq(incidents_apply(m, &d, NULL, NULL, &list), 0);
        watch_id = "A-1";
        watch_log = NULL;
        r = run();
        ck_assert_msg(r == 0, "the list was not stored (%d) after %u re-keys:%s", r, rekeys, events());
        ck_assert_int_eq(scalar("SELECT count(*) FROM incidents WHERE id = 'A-1' AND type = 'fire'"), 1);
        ck_assert_int_eq(scalar("SELECT count(*) FROM incidents WHERE type = 'device_health'"), 1);
}
END_TEST

/* --- the store fails ---------------------------------------------------------------- */

START_TEST(test_actions_full_disk_still_sends_every_call_from_memory) {
        struct rlimit rl, was;
        struct stat sb;
        char wal[160];
        int r;

        up(true);
        /* The disk is full: no file of this process may grow (the WAL
         * cannot take the transaction's pages). */
        snprintf(wal, sizeof wal, "%s-wal", path);
        ck_assert_int_eq(stat(wal, &sb), 0);
        signal(SIGXFSZ, SIG_IGN);
        ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &was), 0);
        rl = was;
        rl.rlim_cur = (rlim_t) sb.st_size;
        watch_log = NULL;

        raise_at(0, INCIDENT_FIRE, SEVERITY_CRITICAL, "smoke");
        ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &rl), 0);
        r = run();
        ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &was), 0);     /* the disk has room again */
        ck_assert_int_lt(r, 0);
        /* Whatever was staged in the failed transaction is withdrawn, then
         * every call is handed over again: stored alone if the store takes
         * that smaller transaction (inside it, then), else from memory; the
         * release says which. */
        ck_assert_msg(count("abort") >= 1, "%s", events());
        ck_assert_uint_eq(count("commit"), 1);
        {
                size_t after = 0, alarms = 0, hooks = 0;
                bool stored = ev[n_ev - 1].stored;
                for (size_t i = 0; i < n_ev; i++)
                        if (strcmp(ev[i].what, "abort") == 0)
                                after = i;
                for (size_t i = after; i < n_ev; i++) {
                        if (strcmp(ev[i].what, "call") != 0)
                                continue;
                        ck_assert_msg(ev[i].in_tx == stored, "%s", events());
                        alarms += strncmp(ev[i].detail, "alarm id=T-1 call=alarm seq=1", 29) == 0;
                        hooks += strncmp(ev[i].detail, "webhook https://hooks.example/li", 32) == 0;
                }
                ck_assert_msg(alarms == 1 && hooks == 1, "%s", events());
        }
        /* The messages still go out. */
        ck_assert_uint_eq(count("publish"), 3);
        ck_assert_int_eq(actions_get_stats(act)->store_failures, 1);
        ck_assert_int_eq(scalar("SELECT count(*) FROM incidents"), 0);
        ck_assert(logged("not stored"));
}
END_TEST

START_TEST(test_actions_database_locked_by_another_writer_still_sends_the_call) {
        sqlite3 *db;

        up(true);
        watch_log = NULL;
        /* Another process holds the write lock past the store's busy wait. */
        ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
        ck_assert_int_eq(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
        raise_at(0, INCIDENT_FIRE, SEVERITY_CRITICAL, "smoke");
        ck_assert_int_eq(run(), -EBUSY);
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        sqlite3_close(db);
        ck_assert_uint_eq(count("call"), 2);
        ck_assert_str_eq(ev[first("call")].detail, "alarm id=T-1 call=alarm seq=1");
        ck_assert_str_eq(ev[n_ev - 1].what, "commit");
        ck_assert(!ev[n_ev - 1].stored);
        /* The store works again: the next incident is stored. */
        n_ev = 0;
        raise_at(5, INCIDENT_WATER_LEAK, SEVERITY_URGENT, "leak");
        ck_assert_int_eq(run(), 0);
        ck_assert_int_eq(scalar("SELECT count(*) FROM incidents WHERE id = 'T-2'"), 1);
}
END_TEST

/* After a store failure the fire T-1 is not in the database; the lists
 * that follow mix its rows with those of others (one tick notifies every
 * incident due). The others' rows must not be lost with T-1's. */
START_TEST(test_actions_an_incident_lost_to_a_store_failure_takes_no_other_rows_with_it) {
        sqlite3 *db;

        up(true);
        watch_log = NULL;
        ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
        ck_assert_int_eq(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
        raise_at(0, INCIDENT_FIRE, SEVERITY_CRITICAL, "smoke");
        ck_assert_int_eq(run(), -EBUSY);
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        sqlite3_close(db);
        raise_at(5, INCIDENT_WATER_LEAK, SEVERITY_URGENT, "leak");
        ck_assert_int_eq(run(), 0);
        /* At 60 s: the fire's repeats and the leak's grid step, one list. */
        incidents_tick(m, MONO0 + SEC(65), WALL0 + SEC(65), &list);
        (void) run();
        ck_assert_msg(scalar("SELECT count(*) FROM timeline WHERE incident = 'T-2' AND at = %llu",
                             (unsigned long long) (WALL0 + SEC(65))) > 0,
                      "the leak's rows at 65 s were lost with the fire's");
}
END_TEST

int main(void) {
        Suite *s = suite_create("actions");
        TCase *t = tcase_create("actions");

        tcase_add_unchecked_fixture(t, root_setup, root_teardown);
        tcase_add_checked_fixture(t, NULL, teardown);
        tcase_set_timeout(t, 10);
        tcase_add_test(t, test_actions_critical_incident_is_stored_before_anything_leaves);
        tcase_add_test(t, test_actions_notices_only_run_relaxed);
        tcase_add_test(t, test_actions_closing_drops_the_notices_after_the_commit);
        tcase_add_test(t, test_actions_without_a_store_still_send_everything);
        tcase_add_test(t, test_actions_list_without_rows_publishes_and_commits_nothing);
        tcase_add_test(t, test_actions_id_collision_rekeys_and_calls_under_the_new_id);
        tcase_add_test(t, test_actions_after_an_id_collision_the_words_name_the_new_id);
        tcase_add_test(t, test_actions_id_collision_of_the_second_incident_in_a_list);
        tcase_add_test(t, test_actions_full_disk_still_sends_every_call_from_memory);
        tcase_add_test(t, test_actions_database_locked_by_another_writer_still_sends_the_call);
        tcase_add_test(t, test_actions_an_incident_lost_to_a_store_failure_takes_no_other_rows_with_it);
        suite_add_tcase(s, t);
        return run_suite(s);
}
