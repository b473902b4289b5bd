/* The SQLite store: schema, atomic incident + call, outbox life cycle,
 * durability across reopen, and refusal of foreign files. */
#include "unit.h"
#include "store.h"

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static char path[256];
static struct store *st;

static void setup(void) {
        char dir[] = "/tmp/anju-store-XXXXXX";

        ck_assert_ptr_nonnull(mkdtemp(dir));
        snprintf(path, sizeof path, "%s/anju.db", dir);
        ck_assert_int_eq(store_open(path, &st), 0);
}

static void teardown(void) {
        store_close(st);
}

static long long scalar(const char *sql) {
        sqlite3 *db;
        sqlite3_stmt *q;
        long long v = -1;

        ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
        ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &q, NULL), SQLITE_OK);
        if (sqlite3_step(q) == SQLITE_ROW)
                v = sqlite3_column_int64(q, 0);
        sqlite3_finalize(q);
        sqlite3_close(db);
        return v;
}

static int open_incident(const char *id, const char *key, int64_t *call_id) {
        struct store_incident inc = { .type = INCIDENT_FIRE, .severity = SEVERITY_CRITICAL, .state = "open",
                                      .sensor = "k", .room = "kitchen", .reason = "smoke", .opened_at = 100 };
        struct store_call call = { .key = key, .kind = "alarm", .incident = id, .body = "{}" };

        snprintf(inc.id, sizeof inc.id, "%s", id);
        return store_incident_open(st, &inc, &call, call_id);
}

static int collect_rows(const struct store_outbox_row *row, void *ud) {
        char *out = ud;
        char one[96];
        snprintf(one, sizeof one, "%s:%u;", row->key, row->attempts);
        strcat(out, one);
        return 0;
}

static int count_open(const struct store_incident *inc, void *ud) {
        ck_assert_int_eq(inc->type, INCIDENT_FIRE);
        (*(int *) ud)++;
        return 0;
}

START_TEST(test_schema_is_created_in_wal_mode) {
        ck_assert_int_eq(scalar("PRAGMA user_version"), STORE_SCHEMA_VERSION);
        ck_assert_int_eq(scalar("SELECT count(*) FROM sqlite_master WHERE name IN ('incidents','timeline','outbox','deliveries')"), 4);
        ck_assert_int_eq(scalar("SELECT journal_mode = 'wal' FROM pragma_journal_mode"), 1);
}
END_TEST

START_TEST(test_incident_timeline_and_call_are_stored_together) {
        int64_t id = 0;

        ck_assert_int_eq(open_incident("i1", "key-1", &id), 0);
        ck_assert_int_gt(id, 0);
        ck_assert_int_eq(scalar("SELECT count(*) FROM incidents WHERE id = 'i1' AND state = 'open'"), 1);
        ck_assert_int_eq(scalar("SELECT count(*) FROM timeline WHERE incident = 'i1' AND event = 'opened'"), 1);
        ck_assert_int_eq(store_outbox_depth(st), 1);
        /* The same id again: refused as a whole, no stray call. */
        ck_assert_int_eq(open_incident("i1", "key-2", &id), -EEXIST);
        ck_assert_int_eq(store_outbox_depth(st), 1);
        ck_assert_int_eq(scalar("SELECT count(*) FROM timeline"), 1);
}
END_TEST

START_TEST(test_outbox_keeps_order_and_attempts_until_delivered) {
        char rows[512] = "";
        int64_t a, b;
        struct store_call call = { .key = "key-b", .kind = "alarm", .incident = "i1", .body = "{}" };

        ck_assert_int_eq(open_incident("i1", "key-a", &a), 0);
        ck_assert_int_eq(store_incident_attach(st, "i1", "b", 200, "also", &call, &b), 0);
        ck_assert_int_eq(store_outbox_failed(st, a, 3, "HTTP 503"), 0);
        ck_assert_int_eq(store_outbox_load(st, collect_rows, rows), 0);
        ck_assert_str_eq(rows, "key-a:3;key-b:0;");
        ck_assert_int_eq(store_outbox_delivered(st, a, "i1", "https://x", "CASE-1", 4, 300), 0);
        ck_assert_int_eq(store_outbox_depth(st), 1);
        ck_assert_int_eq(scalar("SELECT attempts FROM deliveries WHERE key = 'key-a' AND case_id = 'CASE-1'"), 4);
        ck_assert_int_eq(scalar("SELECT count(*) FROM timeline WHERE event = 'dispatch_delivered'"), 1);
}
END_TEST

START_TEST(test_open_incidents_and_calls_survive_reopen) {
        char rows[256] = "";
        int64_t id;
        int n = 0;

        ck_assert_int_eq(open_incident("i1", "key-a", &id), 0);
        store_close(st);
        ck_assert_int_eq(store_open(path, &st), 0);
        ck_assert_int_eq(store_load_open_incidents(st, count_open, &n), 0);
        ck_assert_int_eq(n, 1);
        ck_assert_int_eq(store_outbox_load(st, collect_rows, rows), 0);
        ck_assert_str_eq(rows, "key-a:0;");
}
END_TEST

START_TEST(test_sensor_log_is_batched) {
        struct event e = { .attr = ATTR_MOTION, .value = 1, .wall = 5 };

        for (int i = 0; i < 1000; i++)
                ck_assert_int_eq(store_log_event(st, "pir", &e), 0);
        ck_assert_uint_eq(store_log_pending(st), 1000);
        ck_assert_int_eq(scalar("SELECT count(*) FROM sensor_log"), 0);
        ck_assert_int_eq(store_flush(st), 1000);
        ck_assert_uint_eq(store_log_pending(st), 0);
        ck_assert_int_eq(scalar("SELECT count(*) FROM sensor_log WHERE attr = 'motion'"), 1000);
}
END_TEST

START_TEST(test_newer_schema_and_garbage_files_are_refused) {
        char other[300];
        struct store *s2 = NULL;
        FILE *f;

        store_close(st);
        st = NULL;
        ck_assert_int_eq(scalar("PRAGMA user_version = 99"), -1);
        ck_assert_int_eq(store_open(path, &s2), -EPROTO);
        snprintf(other, sizeof other, "%s.garbage", path);
        f = fopen(other, "w");
        for (int i = 0; i < 4096; i++)
                fputc(i * 7919 % 251, f);
        fclose(f);
        ck_assert_int_lt(store_open(other, &s2), 0);
}
END_TEST

int main(void) {
        Suite *s = suite_create("store");
        TCase *t = tcase_create("store");

        tcase_add_checked_fixture(t, setup, teardown);
        tcase_add_test(t, test_schema_is_created_in_wal_mode);
        tcase_add_test(t, test_incident_timeline_and_call_are_stored_together);
        tcase_add_test(t, test_outbox_keeps_order_and_attempts_until_delivered);
        tcase_add_test(t, test_open_incidents_and_calls_survive_reopen);
        tcase_add_test(t, test_sensor_log_is_batched);
        tcase_add_test(t, test_newer_schema_and_garbage_files_are_refused);
        suite_add_tcase(s, t);
        return run_suite(s);
}
