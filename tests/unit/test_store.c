/* The SQLite store on a real file: schema and WAL, an incident with its
 * timeline and call in one transaction, the outbox life cycle, durability
 * across close and reopen, batched sensor logging, and refusal of files it
 * must not touch. */
#include "unit.h"
#include "log.h"
#include "store.h"
#include "geo.h"

#include <ftw.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define T0 (UINT64_C(1795313702) * USEC_PER_SEC)

/* The tree under root is removed by the parent process after the last
 * test, so a failing (forked) test leaves nothing behind in /tmp. */
static char root[64], dir[96], path[128];
static struct store *st;

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw) {
        return remove(p);
}

static void root_setup(void) {
        snprintf(root, sizeof root, "/tmp/anju-store-XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(root));
}

static void root_teardown(void) {
        (void) nftw(root, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

static void setup(void) {
        snprintf(dir, sizeof dir, "%s/XXXXXX", root);
        ck_assert_ptr_nonnull(mkdtemp(dir));
        snprintf(path, sizeof path, "%s/anju.db", dir);
        st = NULL;
}

static void teardown(void) {
        store_close(st);
}

static void open_store(void) {
        ck_assert_int_eq(store_open(path, &st), 0);
        ck_assert_ptr_nonnull(st);
}

static void reopen_store(void) {
        store_close(st);
        st = NULL;
        open_store();
}

/* A second, independent connection: what is on disk, not in the store's cache. */
static long long scalar(const char *sql) {
        sqlite3 *db;
        sqlite3_stmt *q;
        long long v = -1;

        ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
        ck_assert_msg(sqlite3_prepare_v2(db, sql, -1, &q, NULL) == SQLITE_OK, "%s: %s", sql, sqlite3_errmsg(db));
        if (sqlite3_step(q) == SQLITE_ROW)
                v = sqlite3_column_int64(q, 0);
        sqlite3_finalize(q);
        sqlite3_close(db);
        return v;
}

static char *text_of(const char *sql, char *buf, size_t n) {
        sqlite3 *db;
        sqlite3_stmt *q;

        buf[0] = '\0';
        ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
        ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &q, NULL), SQLITE_OK);
        if (sqlite3_step(q) == SQLITE_ROW && sqlite3_column_text(q, 0))
                snprintf(buf, n, "%s", (const char *) sqlite3_column_text(q, 0));
        sqlite3_finalize(q);
        sqlite3_close(db);
        return buf;
}

static void exec_sql(const char *sql) {
        sqlite3 *db;

        ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
        ck_assert_int_eq(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
        sqlite3_close(db);
}

/* What actions.c writes for a new critical incident: the incident, its
 * sensor, its first timeline row and its call, in one durable transaction. */
static int open_incident(const char *id, const char *key, uint64_t at, int64_t *call_id) {
        struct store_incident inc = {
                .id = id, .type = INCIDENT_FIRE, .severity = SEVERITY_CRITICAL, .state = "open",
                .sensor = "kitchen_smoke", .room = "kitchen",
                .reason = "Smoke detected by kitchen_smoke in the kitchen", .opened_at = at,
        };
        struct store_outbox_row call = { .key = key, .kind = "alarm", .dest = "dispatch", .incident = id,
                                         .body = "{\"id\":1}", .created_at = at };
        int r;

        if ((r = store_begin(st, STORE_DURABLE)) < 0)
                return r;
        if ((r = store_incident_insert(st, &inc)) < 0 || (r = store_incident_join(st, id, inc.sensor, at)) < 0 ||
            (r = store_timeline_insert(st, id, at, "opened", inc.sensor, "rule", inc.reason)) < 0 ||
            (r = store_outbox_insert(st, &call, call_id)) < 0) {
                store_rollback(st);
                return r;
        }
        return store_commit(st);
}

/* A state change with its timeline row (state NULL: the row only). */
static int set_state(const char *id, const char *state, bool close, uint64_t at, const char *event,
                     const char *actor) {
        int r;

        if ((r = store_begin(st, STORE_DURABLE)) < 0)
                return r;
        if ((state && (r = store_incident_set_state(st, id, state, close, at, NULL)) < 0) ||
            (r = store_timeline_insert(st, id, at, event, actor, "mqtt", NULL)) < 0) {
                store_rollback(st);
                return r;
        }
        return store_commit(st);
}

START_TEST(test_store_open_creates_schema_version_2_in_wal_mode) {
        char buf[32];

        open_store();
        ck_assert_int_eq(scalar("PRAGMA user_version"), STORE_SCHEMA_VERSION);
        ck_assert_str_eq(text_of("PRAGMA journal_mode", buf, sizeof buf), "wal");
        ck_assert_int_eq(scalar("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN "
                                "('incidents','incident_sensors','timeline','outbox','deliveries','sensor_log')"), 6);
        ck_assert_int_eq(store_outbox_depth(st), 0);
        reopen_store();                 /* opening again migrates nothing and loses nothing */
        ck_assert_int_eq(scalar("PRAGMA user_version"), STORE_SCHEMA_VERSION);
}
END_TEST

static int count_rows(const struct store_outbox_row *row, void *ud) {
        int *n = ud;
        ck_assert_str_eq(row->key, "k-v1");
        ck_assert_ptr_null(row->url);           /* a version-1 call is for the center */
        (*n)++;
        return 0;
}

/* A database written by a version-1 anjud (before webhooks shared the
 * outbox): opening it migrates to version 2 and its undelivered call is
 * still replayed. */
START_TEST(test_store_migrates_a_version_1_database_keeping_its_outbox) {
        int n = 0;

        exec_sql("CREATE TABLE outbox(id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, kind TEXT NOT NULL,"
                 " incident TEXT, body TEXT NOT NULL, created_at INTEGER NOT NULL,"
                 " attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT);"
                 "INSERT INTO outbox(key, kind, incident, body, created_at) VALUES('k-v1', 'alarm', 'i1', '{}', 1);"
                 "PRAGMA user_version = 1;");
        /* The rest of version 1, so only the v1 → v2 step runs. */
        exec_sql("CREATE TABLE incidents(id TEXT PRIMARY KEY, type TEXT NOT NULL, severity TEXT NOT NULL,"
                 " state TEXT NOT NULL, sensor TEXT, room TEXT, reason TEXT, opened_at INTEGER NOT NULL,"
                 " updated_at INTEGER NOT NULL, closed_at INTEGER);"
                 "CREATE TABLE incident_sensors(incident TEXT NOT NULL, sensor TEXT NOT NULL, at INTEGER NOT NULL,"
                 " PRIMARY KEY(incident, sensor));"
                 "CREATE TABLE timeline(seq INTEGER PRIMARY KEY, incident TEXT NOT NULL, at INTEGER NOT NULL,"
                 " event TEXT NOT NULL, actor TEXT, channel TEXT, note TEXT);"
                 "CREATE TABLE deliveries(id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, kind TEXT NOT NULL,"
                 " incident TEXT, url TEXT, case_id TEXT, attempts INTEGER NOT NULL, created_at INTEGER NOT NULL,"
                 " delivered_at INTEGER NOT NULL);"
                 "CREATE TABLE sensor_log(at INTEGER NOT NULL, sensor TEXT NOT NULL, attr TEXT NOT NULL, value REAL);");
        open_store();
        ck_assert_int_eq(scalar("PRAGMA user_version"), STORE_SCHEMA_VERSION);
        ck_assert_int_eq(store_outbox_foreach(st, count_rows, &n), 0);
        ck_assert_int_eq(n, 1);
}
END_TEST

START_TEST(test_store_incident_open_writes_incident_timeline_and_call_together) {
        int64_t call_id = -1;
        char buf[128];

        open_store();
        ck_assert_int_eq(open_incident("inc-1", "key-1", T0, &call_id), 0);
        ck_assert_int_gt(call_id, 0);
        ck_assert_int_eq(scalar("SELECT count(*) FROM incidents WHERE id = 'inc-1' AND type = 'fire' AND "
                                "severity = 'critical' AND state = 'open' AND closed_at IS NULL"), 1);
        ck_assert_int_eq(scalar("SELECT opened_at FROM incidents WHERE id = 'inc-1'"), (long long) T0);
        ck_assert_str_eq(text_of("SELECT event FROM timeline WHERE incident = 'inc-1'", buf, sizeof buf), "opened");
        ck_assert_int_eq(scalar("SELECT count(*) FROM incident_sensors WHERE incident = 'inc-1' AND sensor = 'kitchen_smoke'"), 1);
        ck_assert_int_eq(scalar("SELECT id FROM outbox WHERE key = 'key-1'"), call_id);
        ck_assert_str_eq(text_of("SELECT body FROM outbox WHERE key = 'key-1'", buf, sizeof buf), "{\"id\":1}");
        ck_assert_int_eq(store_outbox_depth(st), 1);
}
END_TEST

START_TEST(test_store_incident_id_collision_is_eexist_and_adds_no_call) {
        int64_t id1 = -1, id2 = -1;

        open_store();
        log_set_max_level(LOG_CRIT);
        ck_assert_int_eq(open_incident("inc-1", "key-1", T0, &id1), 0);
        ck_assert_int_eq(open_incident("inc-1", "key-2", T0 + 1, &id2), -EEXIST);
        ck_assert_int_eq(id2, -1);
        ck_assert_int_eq(store_outbox_depth(st), 1);
        ck_assert_int_eq(scalar("SELECT count(*) FROM outbox WHERE key = 'key-2'"), 0);
        ck_assert_int_eq(scalar("SELECT count(*) FROM timeline WHERE incident = 'inc-1'"), 1);
        /* the store is still usable: the transaction was rolled back */
        ck_assert_int_eq(open_incident("inc-2", "key-2", T0 + 2, &id2), 0);
        ck_assert_int_eq(store_outbox_depth(st), 2);
}
END_TEST

START_TEST(test_store_call_key_collision_rolls_back_the_whole_incident) {
        int64_t id = -1;

        open_store();
        log_set_max_level(LOG_CRIT);
        ck_assert_int_eq(open_incident("inc-1", "key-1", T0, &id), 0);
        ck_assert_int_eq(open_incident("inc-2", "key-1", T0 + 1, &id), -EEXIST);
        ck_assert_int_eq(scalar("SELECT count(*) FROM incidents WHERE id = 'inc-2'"), 0);
        ck_assert_int_eq(scalar("SELECT count(*) FROM timeline WHERE incident = 'inc-2'"), 0);
        ck_assert_int_eq(scalar("SELECT count(*) FROM incident_sensors WHERE incident = 'inc-2'"), 0);
        ck_assert_int_eq(store_outbox_depth(st), 1);
}
END_TEST

/* Collects the outbox in load order. */
struct rows {
        int n;
        int64_t id[8];
        char key[8][32];
        unsigned attempts[8];
        uint64_t created[8];
};

static int collect_row(const struct store_outbox_row *row, void *ud) {
        struct rows *r = ud;

        ck_assert_int_lt(r->n, 8);
        r->id[r->n] = row->id;
        snprintf(r->key[r->n], sizeof r->key[0], "%s", row->key);
        r->attempts[r->n] = row->attempts;
        r->created[r->n] = row->created_at;
        ck_assert_str_eq(row->kind, "alarm");
        ck_assert_str_eq(row->body, "{\"id\":1}");
        r->n++;
        return 0;
}

START_TEST(test_store_outbox_returns_calls_in_raise_order_with_their_attempts) {
        int64_t id[3];
        struct rows r = { .n = 0 };

        open_store();
        /* raised in this order, with wall times that go backwards (NTP) */
        ck_assert_int_eq(open_incident("inc-b", "key-b", T0 + 50, &id[0]), 0);
        ck_assert_int_eq(open_incident("inc-a", "key-a", T0 + 10, &id[1]), 0);
        ck_assert_int_eq(open_incident("inc-c", "key-c", T0 + 30, &id[2]), 0);
        ck_assert_int_eq(store_outbox_failed(st, id[1], 3, "HTTP 503"), 0);
        ck_assert_int_eq(store_outbox_failed(st, id[2], 1, "connection refused"), 0);
        ck_assert_int_eq(store_outbox_foreach(st, collect_row, &r), 0);
        ck_assert_int_eq(r.n, 3);
        ck_assert_str_eq(r.key[0], "key-b");
        ck_assert_str_eq(r.key[1], "key-a");
        ck_assert_str_eq(r.key[2], "key-c");
        ck_assert_int_eq(r.id[1], id[1]);
        ck_assert_uint_eq(r.attempts[0], 0);
        ck_assert_uint_eq(r.attempts[1], 3);
        ck_assert_uint_eq(r.attempts[2], 1);
        ck_assert_uint_eq(r.created[1], T0 + 10);
}
END_TEST

START_TEST(test_store_delivered_call_leaves_the_outbox_with_its_case_id_recorded) {
        int64_t id[2];
        struct rows r = { .n = 0 };
        char buf[128];

        open_store();
        ck_assert_int_eq(open_incident("inc-1", "key-1", T0, &id[0]), 0);
        ck_assert_int_eq(open_incident("inc-2", "key-2", T0 + 5, &id[1]), 0);
        ck_assert_int_eq(store_outbox_failed(st, id[0], 2, "timeout"), 0);
        ck_assert_int_eq(store_outbox_delivered(st, id[0], "inc-1", "https://d.example/a", "CASE-0042", NULL, 3,
                                                T0 + 9 * USEC_PER_SEC), 0);
        /* The delivery record commits relaxed; the next alarm must not. */
        ck_assert_int_eq(store_synchronous(st), 2);
        ck_assert_int_eq(store_outbox_depth(st), 1);
        ck_assert_int_eq(store_outbox_foreach(st, collect_row, &r), 0);
        ck_assert_int_eq(r.n, 1);
        ck_assert_str_eq(r.key[0], "key-2");
        ck_assert_str_eq(text_of("SELECT case_id FROM deliveries WHERE key = 'key-1'", buf, sizeof buf), "CASE-0042");
        ck_assert_int_eq(scalar("SELECT attempts FROM deliveries WHERE key = 'key-1'"), 3);
        ck_assert_int_eq(scalar("SELECT delivered_at FROM deliveries WHERE key = 'key-1'"),
                         (long long) (T0 + 9 * USEC_PER_SEC));
        ck_assert_int_eq(scalar("SELECT count(*) FROM timeline WHERE incident = 'inc-1' AND "
                                "event = 'dispatch_delivered'"), 1);
        ck_assert_ptr_nonnull(strstr(text_of("SELECT note FROM timeline WHERE event = 'dispatch_delivered'",
                                             buf, sizeof buf), "CASE-0042"));
        ck_assert_int_eq(scalar("SELECT count(*) FROM timeline WHERE incident = 'inc-2' AND "
                                "event = 'dispatch_delivered'"), 0);
}
END_TEST

/* Collects open incidents. */
struct incs {
        int n;
        char id[8][INCIDENT_ID_MAX];
        struct store_incident first;
        char reason[128], sensor[32], room[32], state[16];
};

static int collect_incident(const struct store_incident *inc, void *ud) {
        struct incs *s = ud;

        ck_assert_int_lt(s->n, 8);
        if (s->n == 0) {
                s->first = *inc;
                snprintf(s->reason, sizeof s->reason, "%s", inc->reason);
                snprintf(s->sensor, sizeof s->sensor, "%s", inc->sensor);
                snprintf(s->room, sizeof s->room, "%s", inc->room);
                snprintf(s->state, sizeof s->state, "%s", inc->state);
        }
        snprintf(s->id[s->n++], INCIDENT_ID_MAX, "%s", inc->id);
        return 0;
}

START_TEST(test_store_open_incidents_and_calls_survive_close_and_reopen) {
        struct incs s = { .n = 0 };
        struct rows r = { .n = 0 };
        int64_t id;

        open_store();
        ck_assert_int_eq(open_incident("inc-1", "key-1", T0, &id), 0);
        ck_assert_int_eq(open_incident("inc-2", "key-2", T0 + 1, &id), 0);
        ck_assert_int_eq(open_incident("inc-3", "key-3", T0 + 2, &id), 0);
        exec_sql("UPDATE incidents SET state = 'resolved', closed_at = 1 WHERE id = 'inc-2'");
        reopen_store();
        ck_assert_int_eq(store_open_incidents_foreach(st, collect_incident, &s), 0);
        ck_assert_int_eq(s.n, 2);
        ck_assert_str_eq(s.id[0], "inc-1");
        ck_assert_str_eq(s.id[1], "inc-3");
        ck_assert_int_eq(s.first.type, INCIDENT_FIRE);
        ck_assert_int_eq(s.first.severity, SEVERITY_CRITICAL);
        ck_assert_uint_eq(s.first.opened_at, T0);
        ck_assert_str_eq(s.state, "open");
        ck_assert_str_eq(s.sensor, "kitchen_smoke");
        ck_assert_str_eq(s.room, "kitchen");
        ck_assert_str_eq(s.reason, "Smoke detected by kitchen_smoke in the kitchen");
        ck_assert_int_eq(store_outbox_foreach(st, collect_row, &r), 0);
        ck_assert_int_eq(r.n, 3);
}
END_TEST

/* Issue 15: an open incident's calls to the dispatch center and its DC-09
 * reports are counted apart (a report is not a call: after a restart the
 * dispatch step must still come). */
START_TEST(test_store_open_incident_counts_dc09_reports_apart_from_calls) {
        struct store_outbox_row rep = { .key = "key-r1", .kind = "dc09", .dest = "receiver:arc", .incident = "inc-1",
                                        .body = "event=fire restore=0 zone=1", .created_at = T0 + 1 };
        struct incs s = { .n = 0 };
        int64_t id, rid;

        open_store();
        ck_assert_int_eq(open_incident("inc-1", "key-1", T0, &id), 0);
        ck_assert_int_eq(store_begin(st, STORE_DURABLE), 0);
        ck_assert_int_eq(store_outbox_insert(st, &rep, &rid), 0);
        ck_assert_int_eq(store_commit(st), 0);
        ck_assert_int_eq(store_outbox_delivered(st, rid, "inc-1", NULL, "ACK 0001 from arc", "arc", 1, T0 + 2), 0);
        /* On the timeline as the receiver's, over DC-09, not the dispatch center's. */
        ck_assert_int_eq(scalar("SELECT count(*) FROM timeline WHERE incident = 'inc-1' AND event = 'receiver_delivered' "
                                "AND actor = 'receiver:arc' AND channel = 'dc09' AND note = 'ACK 0001 from arc, attempt 1'"),
                         1);
        ck_assert_int_eq(scalar("SELECT count(*) FROM timeline WHERE event = 'dispatch_delivered'"), 0);
        rep.key = "key-r2";
        ck_assert_int_eq(store_begin(st, STORE_DURABLE), 0);
        ck_assert_int_eq(store_outbox_insert(st, &rep, &rid), 0);
        ck_assert_int_eq(store_commit(st), 0);
        ck_assert_int_eq(store_open_incidents_foreach(st, collect_incident, &s), 0);
        ck_assert_int_eq(s.n, 1);
        ck_assert_uint_eq(s.first.calls, 1);
        ck_assert_uint_eq(s.first.reports, 2);
}
END_TEST

START_TEST(test_store_attach_adds_a_trigger_and_a_further_call) {
        struct store_outbox_row call = { .key = "key-1b", .kind = "alarm", .dest = "dispatch", .incident = "inc-1",
                                         .body = "{\"id\":1}", .created_at = T0 + 7 };
        int64_t id1 = -1, id2 = -1;

        open_store();
        ck_assert_int_eq(open_incident("inc-1", "key-1", T0, &id1), 0);
        ck_assert_int_eq(store_begin(st, STORE_DURABLE), 0);
        ck_assert_int_eq(store_incident_join(st, "inc-1", "bedroom_smoke", T0 + 7), 0);
        ck_assert_int_eq(store_timeline_insert(st, "inc-1", T0 + 7, "triggered", "bedroom_smoke", "rule",
                                               "second detector"), 0);
        ck_assert_int_eq(store_outbox_insert(st, &call, &id2), 0);
        ck_assert_int_eq(store_commit(st), 0);
        ck_assert_int_gt(id2, id1);
        ck_assert_int_eq(scalar("SELECT count(*) FROM timeline WHERE incident = 'inc-1' AND event = 'triggered'"), 1);
        ck_assert_int_eq(scalar("SELECT count(*) FROM incident_sensors WHERE incident = 'inc-1'"), 2);
        ck_assert_int_eq(store_outbox_depth(st), 2);
}
END_TEST

/* Queues n battery readings of 97 from kitchen_smoke at T0, T0 + 1, ... */
static void queue_battery(int n) {
        struct event ev = { .sensor = 0, .attr = ATTR_BATTERY, .value = 97, .wall = T0 };

        for (int i = 0; i < n; i++) {
                ev.wall = T0 + (uint64_t) i;
                ck_assert_int_eq(store_log_event(st, "kitchen_smoke", &ev), 0);
        }
}

START_TEST(test_store_sensor_log_is_batched_until_flushed) {
        open_store();
        queue_battery(300);
        ck_assert_uint_eq(store_log_pending(st), 300);
        ck_assert_int_eq(scalar("SELECT count(*) FROM sensor_log"), 0);
        ck_assert_int_eq(store_flush(st), 300);
        ck_assert_uint_eq(store_log_pending(st), 0);
        ck_assert_int_eq(scalar("SELECT count(*) FROM sensor_log WHERE sensor = 'kitchen_smoke' AND "
                                "attr = 'battery' AND value = 97"), 300);
        ck_assert_int_eq(scalar("SELECT max(at) FROM sensor_log"), (long long) (T0 + 299));
        ck_assert_int_eq(store_flush(st), 0);
}
END_TEST

/* A full batch is written a chunk at a time (hub.c, so an alarm never
 * waits for thousands of rows): the oldest first, none lost or repeated. */
START_TEST(test_store_sensor_log_flushes_in_chunks_oldest_first) {
        struct event ev = { .sensor = 0, .attr = ATTR_BATTERY, .value = 97, .wall = T0 + 300 };

        open_store();
        queue_battery(300);
        ck_assert_int_eq(store_flush_some(st, 256), 256);
        ck_assert_uint_eq(store_log_pending(st), 44);
        ck_assert_int_eq(scalar("SELECT count(*) FROM sensor_log"), 256);
        ck_assert_int_eq(scalar("SELECT max(at) FROM sensor_log"), (long long) (T0 + 255));
        ck_assert_int_eq(store_log_event(st, "kitchen_smoke", &ev), 0);
        ck_assert_int_eq(store_flush_some(st, 256), 45);
        ck_assert_uint_eq(store_log_pending(st), 0);
        ck_assert_int_eq(scalar("SELECT count(DISTINCT at) FROM sensor_log"), 301);
        ck_assert_int_eq(scalar("SELECT min(at) FROM sensor_log"), (long long) T0);
        ck_assert_int_eq(scalar("SELECT max(at) FROM sensor_log"), (long long) (T0 + 300));
        ck_assert_int_eq(store_flush_some(st, 256), 0);
}
END_TEST

/* The sensor log commits without an fsync of its own; whatever commits
 * next (an alarm) must be back on synchronous=FULL. */
START_TEST(test_store_alarm_commits_stay_fully_synced_around_log_batches) {
        struct event ev = { .sensor = 0, .attr = ATTR_MOTION, .value = 1, .wall = T0 };

        open_store();
        ck_assert_int_eq(store_synchronous(st), 2);
        ck_assert_int_eq(store_log_event(st, "living_pir", &ev), 0);
        ck_assert_int_eq(store_flush(st), 1);
        ck_assert_int_eq(store_synchronous(st), 2);
        ck_assert_int_eq(scalar("SELECT count(*) FROM sensor_log"), 1);
}
END_TEST

START_TEST(test_store_close_flushes_the_pending_log) {
        struct event ev = { .sensor = 1, .attr = ATTR_MOTION, .value = 1, .wall = T0 };

        open_store();
        ck_assert_int_eq(store_log_event(st, "living_pir", &ev), 0);
        ck_assert_int_eq(store_log_event(st, "living_pir", &ev), 0);
        store_close(st);
        st = NULL;
        ck_assert_int_eq(scalar("SELECT count(*) FROM sensor_log WHERE attr = 'motion'"), 2);
}
END_TEST

START_TEST(test_store_refuses_a_database_from_a_newer_schema) {
        struct store *s = (struct store *) 0x1;

        exec_sql("CREATE TABLE future(x); PRAGMA user_version = 99;");
        log_set_max_level(LOG_CRIT);
        ck_assert_int_lt(store_open(path, &s), 0);
        ck_assert_ptr_eq(s, (struct store *) 0x1);
        ck_assert_int_eq(scalar("PRAGMA user_version"), 99);    /* untouched */
        ck_assert_int_eq(scalar("SELECT count(*) FROM sqlite_master WHERE name = 'incidents'"), 0);
}
END_TEST

START_TEST(test_store_refuses_a_file_of_garbage_without_crashing) {
        struct store *s = (struct store *) 0x1;
        uint8_t junk[8192];
        uint32_t x = 2463534242u;
        struct stat sb;
        FILE *f;

        for (size_t i = 0; i < sizeof junk; i++) {
                x ^= x << 13, x ^= x >> 17, x ^= x << 5;
                junk[i] = (uint8_t) x;
        }
        f = fopen(path, "wb");
        ck_assert_ptr_nonnull(f);
        ck_assert_uint_eq(fwrite(junk, 1, sizeof junk, f), sizeof junk);
        ck_assert_int_eq(fclose(f), 0);
        log_set_max_level(LOG_CRIT);
        ck_assert_int_lt(store_open(path, &s), 0);
        ck_assert_ptr_eq(s, (struct store *) 0x1);
        ck_assert_int_eq(stat(path, &sb), 0);
        ck_assert_int_eq(sb.st_size, (off_t) sizeof junk);
}
END_TEST

/* Issue 18: the record holds health data: created private, whatever the
 * umask (the WAL takes the database's mode). */
START_TEST(test_store_database_is_created_private) {
        struct stat sb;
        char wal[160];
        mode_t old = umask(022);

        open_store();
        umask(old);
        ck_assert_int_eq(open_incident("inc-1", "key-1", T0, NULL), 0);
        ck_assert_int_eq(stat(path, &sb), 0);
        ck_assert_uint_eq(sb.st_mode & 0777, 0600);
        snprintf(wal, sizeof wal, "%s-wal", path);
        ck_assert_int_eq(stat(wal, &sb), 0);
        ck_assert_uint_eq(sb.st_mode & 0777, 0600);
}
END_TEST

/* Issue 18: history is bounded by time and by size; incidents, timelines
 * and calls are never pruned. */
static int collect_fix(const struct store_location_row *row, void *ud) {
        struct store_location_row *v = ud;
        size_t i = 0;

        while (v[i].at)
                i++;
        v[i] = *row;
        v[i].sensor = NULL;
        return 0;
}

/* The band's track (schema v5): each fix as the band sent it, its datum
 * and time; the newest ones oldest first; gone after the retention. */
START_TEST(test_store_location_track_is_kept_as_sent_and_pruned_by_age) {
        struct store_location_row got[8] = { { 0 } };

        open_store();
        for (int i = 0; i < 5; i++) {
                struct event_fix f = { .lat = 31.2 + i * 0.001, .lon = 121.4, .accuracy = 10 + i,
                                       .at = i == 4 ? UINT64_C(4000) : 0, .datum = i == 4 ? GEO_DATUM_GCJ02 : 0 };
                ck_assert_int_eq(store_location_add(st, "band", (uint64_t) (i + 1) * 1000000, &f), 0);
        }
        ck_assert_int_eq(store_location_foreach(st, 0, 3, collect_fix, got), 0);
        ck_assert_uint_eq(got[0].at, 3000000);                  /* the newest three, oldest first */
        ck_assert_uint_eq(got[2].at, 5000000);
        ck_assert_double_eq(got[2].fix.lat, 31.204);
        ck_assert_double_eq(got[2].fix.accuracy, 14);
        ck_assert_int_eq(got[2].fix.datum, GEO_DATUM_GCJ02);
        ck_assert_uint_eq(got[2].fix.at, 4000);
        ck_assert_uint_eq(got[0].fix.at, 0);                    /* the band did not say */
        ck_assert_int_eq(store_location_prune(st, 3000000, 100), 2);
        reopen_store();
        ck_assert_int_eq(scalar("SELECT count(*) FROM location"), 3);
        ck_assert_int_eq(scalar("SELECT min(at) FROM location"), 3000000);
}
END_TEST

START_TEST(test_store_prune_bounds_history_and_keeps_incidents) {
        struct event ev = { .sensor = 0, .attr = ATTR_MOTION, .value = 1 };
        const uint64_t DAY = USEC_PER_DAY;
        int n, total = 0;

        open_store();
        ck_assert_int_eq(open_incident("old-fire", "key-1", T0, NULL), 0);
        for (int i = 0; i < 3000; i++) {
                ev.wall = T0 + (uint64_t) (i % 30) * DAY;       /* 30 days of history */
                ck_assert_int_eq(store_log_event(st, "living_pir", &ev), 0);
        }
        ck_assert_int_eq(store_flush(st), 3000);
        ck_assert_int_eq(store_audit_refused(st, "inactivity.day_limit", "2h", "5s", T0, "ctl:root", "ctl", "no"), 0);
        ck_assert_int_eq(store_refusals_add(st, T0, "ack", "bad signature", 12345), 0);
        /* Keep 10 days: in bounded steps, until nothing is left to prune. */
        while ((n = store_prune(st, T0 + 20 * DAY, 0, 500)) > 0)
                total += n;
        ck_assert_int_eq(n, 0);
        ck_assert_int_eq(total, 2000 + 1 + 1);
        ck_assert_int_eq(scalar("SELECT count(*) FROM sensor_log"), 1000);
        ck_assert_int_eq(scalar("SELECT min(at) FROM sensor_log"), (long long) (T0 + 20 * DAY));
        ck_assert_int_eq(scalar("SELECT count(*) FROM audit"), 0);
        ck_assert_int_eq(scalar("SELECT count(*) FROM refusals"), 0);
        ck_assert_int_eq(scalar("SELECT count(*) FROM incidents"), 1);
        ck_assert_int_eq(scalar("SELECT count(*) FROM timeline"), 1);
        ck_assert_int_eq(store_outbox_depth(st), 1);
        /* Over a size cap the oldest history goes first, whatever its age. */
        for (int i = 0; i < 20000; i++) {
                ev.wall = T0 + 25 * DAY + (uint64_t) i;
                ck_assert_int_eq(store_log_event(st, "living_pir_with_a_long_name_to_fill_pages", &ev), 0);
        }
        ck_assert_int_ge(store_flush(st), 0);
        ck_assert_int_gt(store_size(st), 600 * 1024);
        while ((n = store_prune(st, T0, 600 * 1024, 2000)) > 0)
                ;
        ck_assert_int_le(store_size(st), 600 * 1024);
        ck_assert_int_gt(scalar("SELECT count(*) FROM sensor_log"), 0);
        ck_assert_int_gt(scalar("SELECT min(at) FROM sensor_log"), (long long) (T0 + 20 * DAY));
        ck_assert_int_eq(scalar("SELECT count(*) FROM incidents"), 1);
        ck_assert_int_eq(scalar("SELECT count(*) FROM timeline"), 1);
}
END_TEST

/* The grid center's figures: time to ack, to arrive, to resolve, and the
 * share handled within 10 minutes ("1-3-10"). */
START_TEST(test_store_response_stats_from_the_timelines) {
        const uint64_t T = UINT64_C(1795363200) * USEC_PER_SEC, S = USEC_PER_SEC;
        struct response_stats rs;

        open_store();
        ck_assert_int_eq(open_incident("i1", "k1", T, NULL), 0);
        ck_assert_int_eq(set_state("i1", "acked", false, T + 30 * S, "ack", "wang"), 0);
        ck_assert_int_eq(set_state("i1", "onsite", false, T + 180 * S, "arrived", "wang"), 0);
        ck_assert_int_eq(set_state("i1", "resolved", true, T + 480 * S, "resolved", "wang"), 0);
        ck_assert_int_eq(open_incident("i2", "k2", T + 1000 * S, NULL), 0);
        ck_assert_int_eq(set_state("i2", "acked", false, T + 1090 * S, "ack", "li"), 0);
        /* a second responder's ack later does not change the time to ack */
        ck_assert_int_eq(set_state("i2", NULL, false, T + 1200 * S, "ack", "wang"), 0);
        ck_assert_int_eq(set_state("i2", "cancelled", true, T + 2200 * S, "false_alarm", "li"), 0);
        ck_assert_int_eq(open_incident("i3", "k3", T + 3000 * S, NULL), 0);
        /* closed already: a further state change is refused */
        ck_assert_int_eq(set_state("i1", "acked", false, T + 500 * S, "ack", "x"), -ENOENT);

        ck_assert_int_eq(store_response_stats(st, T, &rs), 0);
        ck_assert_uint_eq(rs.incidents, 3);
        ck_assert_uint_eq(rs.ack.n, 2);
        ck_assert_uint_eq(rs.ack.median, 30 * S);
        ck_assert_uint_eq(rs.ack.p90, 90 * S);
        ck_assert_uint_eq(rs.onsite.n, 1);
        ck_assert_uint_eq(rs.onsite.median, 180 * S);
        ck_assert_uint_eq(rs.resolve.n, 2);
        ck_assert_uint_eq(rs.resolve.median, 480 * S);
        ck_assert_uint_eq(rs.resolve.p90, 1200 * S);
        ck_assert_uint_eq(rs.resolved_within_10min, 1);
        /* only incidents opened since the given time */
        ck_assert_int_eq(store_response_stats(st, T + 2000 * S, &rs), 0);
        ck_assert_uint_eq(rs.incidents, 1);
        ck_assert_uint_eq(rs.ack.n, 0);
}
END_TEST

int main(void) {
        Suite *s = suite_create("store");
        TCase *t = tcase_create("store");

        tcase_add_unchecked_fixture(t, root_setup, root_teardown);
        tcase_add_checked_fixture(t, setup, teardown);
        tcase_add_test(t, test_store_open_creates_schema_version_2_in_wal_mode);
        tcase_add_test(t, test_store_migrates_a_version_1_database_keeping_its_outbox);
        tcase_add_test(t, test_store_response_stats_from_the_timelines);
        tcase_add_test(t, test_store_incident_open_writes_incident_timeline_and_call_together);
        tcase_add_test(t, test_store_incident_id_collision_is_eexist_and_adds_no_call);
        tcase_add_test(t, test_store_call_key_collision_rolls_back_the_whole_incident);
        tcase_add_test(t, test_store_outbox_returns_calls_in_raise_order_with_their_attempts);
        tcase_add_test(t, test_store_delivered_call_leaves_the_outbox_with_its_case_id_recorded);
        tcase_add_test(t, test_store_open_incidents_and_calls_survive_close_and_reopen);
        tcase_add_test(t, test_store_attach_adds_a_trigger_and_a_further_call);
        tcase_add_test(t, test_store_open_incident_counts_dc09_reports_apart_from_calls);
        tcase_add_test(t, test_store_sensor_log_is_batched_until_flushed);
        tcase_add_test(t, test_store_sensor_log_flushes_in_chunks_oldest_first);
        tcase_add_test(t, test_store_alarm_commits_stay_fully_synced_around_log_batches);
        tcase_add_test(t, test_store_close_flushes_the_pending_log);
        tcase_add_test(t, test_store_refuses_a_database_from_a_newer_schema);
        tcase_add_test(t, test_store_refuses_a_file_of_garbage_without_crashing);
        tcase_add_test(t, test_store_database_is_created_private);
        tcase_add_test(t, test_store_prune_bounds_history_and_keeps_incidents);
        tcase_add_test(t, test_store_location_track_is_kept_as_sent_and_pruned_by_age);
        suite_add_tcase(s, t);
        return run_suite(s);
}
