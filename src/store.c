/* SQLite storage. One connection, prepared statements, WAL. Alarm paths use
 * BEGIN IMMEDIATE … COMMIT with synchronous=FULL, so a COMMIT that returned
 * is on disk before the call it holds is sent. The sensor log (history, not
 * alarms) and delivery records (a lost one means the call goes again with
 * its Idempotency-Key) are committed with synchronous=NORMAL: no fsync of
 * their own; the next FULL commit's fsync of the WAL carries them, and a
 * power cut can lose their last rows but never an alarm's (WAL stays
 * consistent). */
#include "store.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum stmt {
        ST_BEGIN, ST_COMMIT, ST_ROLLBACK,
        ST_INCIDENT_INSERT, ST_SENSOR_JOIN, ST_TIMELINE_INSERT, ST_OUTBOX_INSERT,
        ST_OPEN_INCIDENTS, ST_OUTBOX_LOAD, ST_OUTBOX_FAILED,
        ST_OUTBOX_DELETE, ST_DELIVERY_INSERT, ST_OUTBOX_DEPTH, ST_LOG_INSERT,
        ST_INCIDENT_STATE, ST_INCIDENT_LOOKUP, ST_SYNC_NORMAL, ST_SYNC_FULL,
        _ST_MAX,
};

static const char *const stmt_sql[_ST_MAX] = {
        [ST_BEGIN] = "BEGIN IMMEDIATE",
        [ST_COMMIT] = "COMMIT",
        [ST_ROLLBACK] = "ROLLBACK",
        [ST_INCIDENT_INSERT] =
                "INSERT INTO incidents(id, type, severity, state, sensor, room, reason, opened_at, updated_at)"
                " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)",
        [ST_SENSOR_JOIN] =
                "INSERT OR IGNORE INTO incident_sensors(incident, sensor, at) VALUES(?1, ?2, ?3)",
        [ST_TIMELINE_INSERT] =
                "INSERT INTO timeline(incident, at, event, actor, channel, note)"
                " VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
        [ST_OUTBOX_INSERT] =
                "INSERT INTO outbox(key, kind, incident, body, created_at, url) VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
        [ST_OPEN_INCIDENTS] =
                "SELECT id, type, severity, state, sensor, room, reason, opened_at,"
                " (SELECT count(*) FROM outbox o WHERE o.incident = incidents.id AND o.kind = 'alarm')"
                " + (SELECT count(*) FROM deliveries d WHERE d.incident = incidents.id AND d.kind = 'alarm')"
                " FROM incidents WHERE closed_at IS NULL ORDER BY opened_at, id",
        [ST_OUTBOX_LOAD] =
                "SELECT id, key, kind, incident, body, attempts, created_at, url FROM outbox ORDER BY id",
        [ST_OUTBOX_FAILED] = "UPDATE outbox SET attempts = ?2, last_error = ?3 WHERE id = ?1",
        [ST_OUTBOX_DELETE] = "DELETE FROM outbox WHERE id = ?1",
        [ST_DELIVERY_INSERT] =
                "INSERT INTO deliveries(key, kind, incident, url, case_id, attempts, created_at, delivered_at)"
                " SELECT key, kind, incident, ?2, ?3, ?4, created_at, ?5 FROM outbox WHERE id = ?1",
        [ST_OUTBOX_DEPTH] = "SELECT count(*) FROM outbox",
        [ST_LOG_INSERT] = "INSERT INTO sensor_log(at, sensor, attr, value) VALUES(?1, ?2, ?3, ?4)",
        [ST_INCIDENT_STATE] =
                "UPDATE incidents SET state = ?2, updated_at = ?3,"
                " reason = CASE WHEN ?2 = 'open' AND ?5 IS NOT NULL THEN ?5 ELSE reason END,"
                " closed_at = CASE WHEN ?4 THEN ?3 ELSE closed_at END WHERE id = ?1 AND closed_at IS NULL",
        [ST_INCIDENT_LOOKUP] = "SELECT state, closed_at IS NOT NULL FROM incidents WHERE id = ?1",
        [ST_SYNC_NORMAL] = "PRAGMA synchronous = NORMAL",
        [ST_SYNC_FULL] = "PRAGMA synchronous = FULL",
};

/* Version 1. Times are wall-clock microseconds (for people and reports);
 * durations are never computed from them. */
static const char schema_v1[] =
        "CREATE TABLE incidents("
        "  id TEXT PRIMARY KEY, type TEXT NOT NULL, severity TEXT NOT NULL, state TEXT NOT NULL,"
        "  sensor TEXT, room TEXT, reason TEXT, opened_at INTEGER NOT NULL,"
        "  updated_at INTEGER NOT NULL, closed_at INTEGER);"
        "CREATE INDEX incidents_open ON incidents(closed_at, type);"
        "CREATE TABLE incident_sensors("
        "  incident TEXT NOT NULL REFERENCES incidents(id), sensor TEXT NOT NULL, at INTEGER NOT NULL,"
        "  PRIMARY KEY(incident, sensor));"
        "CREATE TABLE timeline("
        "  seq INTEGER PRIMARY KEY, incident TEXT NOT NULL REFERENCES incidents(id),"
        "  at INTEGER NOT NULL, event TEXT NOT NULL, actor TEXT, channel TEXT, note TEXT);"
        "CREATE INDEX timeline_incident ON timeline(incident, seq);"
        "CREATE TABLE outbox("
        "  id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, kind TEXT NOT NULL, incident TEXT,"
        "  body TEXT NOT NULL, created_at INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,"
        "  last_error TEXT);"
        "CREATE TABLE deliveries("
        "  key TEXT PRIMARY KEY, kind TEXT NOT NULL, incident TEXT, url TEXT, case_id TEXT,"
        "  attempts INTEGER, created_at INTEGER, delivered_at INTEGER);"
        "CREATE TABLE sensor_log(at INTEGER NOT NULL, sensor TEXT NOT NULL, attr TEXT NOT NULL,"
        "  value REAL);"
        "CREATE INDEX sensor_log_at ON sensor_log(at);";

struct log_entry {
        uint64_t at;
        const char *sensor;     /* borrowed from config: lives as long as the daemon */
        enum event_attr attr;
        double value;
};

struct store {
        sqlite3 *db;
        sqlite3_stmt *st[_ST_MAX];
        struct log_entry *batch;
        size_t n_batch, cap_batch;
        unsigned long failures;
        bool unsynced;                  /* synchronous=FULL could not be restored */
};

static int sqlite_to_errno(int rc) {
        switch (rc & 0xff) {
        case SQLITE_OK: case SQLITE_DONE: case SQLITE_ROW: return 0;
        case SQLITE_NOMEM: return -ENOMEM;
        case SQLITE_FULL: return -ENOSPC;
        case SQLITE_CONSTRAINT: return -EEXIST;
        case SQLITE_BUSY: case SQLITE_LOCKED: return -EBUSY;
        case SQLITE_READONLY: case SQLITE_PERM: case SQLITE_AUTH: return -EACCES;
        case SQLITE_CANTOPEN: return -ENOENT;
        case SQLITE_CORRUPT: case SQLITE_NOTADB: return -EBADMSG;
        default: return -EIO;
        }
}

static int fail(struct store *s, int rc, const char *what) {
        s->failures++;
        return log_error_errno(sqlite_to_errno(rc), "database: %s failed: %s", what,
                               sqlite3_errmsg(s->db));
}

static int exec(struct store *s, const char *sql) {
        int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
        return rc == SQLITE_OK ? 0 : fail(s, rc, sql);
}

/* Runs a prepared statement to completion and resets it. */
static int step(struct store *s, enum stmt i) {
        int rc = sqlite3_step(s->st[i]);
        int r = rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : sqlite_to_errno(rc);

        if (r < 0 && rc != SQLITE_CONSTRAINT)
                (void) fail(s, rc, stmt_sql[i]);
        sqlite3_reset(s->st[i]);
        sqlite3_clear_bindings(s->st[i]);
        return r;
}

static const char *col_text(sqlite3_stmt *q, int c) {
        return (const char *) sqlite3_column_text(q, c);
}

static void bind_text(struct store *s, enum stmt i, int col, const char *v) {
        if (v)
                sqlite3_bind_text(s->st[i], col, v, -1, SQLITE_STATIC);
        else
                sqlite3_bind_null(s->st[i], col);
}

#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x)

static int migrate(struct store *s) {
        sqlite3_stmt *q;
        int version = 0, r;

        if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &q, NULL) != SQLITE_OK)
                return fail(s, sqlite3_errcode(s->db), "reading the schema version");
        if (sqlite3_step(q) == SQLITE_ROW)
                version = sqlite3_column_int(q, 0);
        sqlite3_finalize(q);
        if (version > STORE_SCHEMA_VERSION)
                return log_error_errno(EPROTO, "database: schema version %d is newer than this "
                                       "anjud knows (%d); refusing to touch it", version,
                                       STORE_SCHEMA_VERSION);
        if (version == STORE_SCHEMA_VERSION)
                return 0;
        r = exec(s, "BEGIN IMMEDIATE");
        if (r < 0)
                return r;
        if (version < 1 && (r = exec(s, schema_v1)) < 0)
                goto rollback;
        /* v2: webhook notices share the outbox; url NULL = the dispatch center. */
        if (version < 2 && (r = exec(s, "ALTER TABLE outbox ADD COLUMN url TEXT;")) < 0)
                goto rollback;
        /* v3: thresholds set at run time, and who changed what when. */
        if (version < 3 && (r = exec(s,
                        "CREATE TABLE settings(key TEXT PRIMARY KEY, value TEXT NOT NULL, at INTEGER NOT NULL,"
                        "  actor TEXT, channel TEXT);"
                        "CREATE TABLE audit(seq INTEGER PRIMARY KEY, at INTEGER NOT NULL, key TEXT NOT NULL,"
                        "  old TEXT, new TEXT, actor TEXT, channel TEXT, result TEXT NOT NULL);"
                        "CREATE INDEX audit_key ON audit(key, seq);")) < 0)
                goto rollback;
        if ((r = exec(s, "PRAGMA user_version = " STRINGIFY(STORE_SCHEMA_VERSION))) < 0)
                goto rollback;
        if ((r = exec(s, "COMMIT")) < 0)
                goto rollback;
        log_info("database: schema migrated from version %d to %d", version, STORE_SCHEMA_VERSION);
        return 0;
rollback:
        (void) exec(s, "ROLLBACK");
        return r;
}

int store_open(const char *path, struct store **ret) {
        struct store *s;
        int rc, r;

        s = calloc(1, sizeof *s);
        if (!s)
                return -ENOMEM;
        rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                             SQLITE_OPEN_NOMUTEX, NULL);
        if (rc != SQLITE_OK) {
                r = log_error_errno(sqlite_to_errno(rc), "database: cannot open %s: %s", path,
                                    s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
                goto err_close;
        }
        sqlite3_busy_timeout(s->db, 2000);      /* anjuctl may read at the same time */
        /* WAL + FULL: every COMMIT is fsynced, so a stored alarm survives power loss. */
        if ((r = exec(s, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
                      " PRAGMA foreign_keys = ON; PRAGMA cache_size = -512;")) < 0)
                goto err_close;
        if ((r = migrate(s)) < 0)
                goto err_close;
        for (int i = 0; i < _ST_MAX; i++) {
                rc = sqlite3_prepare_v3(s->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->st[i], NULL);
                if (rc != SQLITE_OK) {
                        r = fail(s, rc, stmt_sql[i]);
                        goto err_close;
                }
        }
        *ret = s;
        return 0;

err_close:
        store_close(s);
        return r;
}

void store_close(struct store *s) {
        if (!s)
                return;
        if (s->st[ST_LOG_INSERT])
                (void) store_flush(s);
        for (int i = 0; i < _ST_MAX; i++)
                sqlite3_finalize(s->st[i]);
        sqlite3_close(s->db);
        free(s->batch);
        free(s);
}

static int begin(struct store *s) {
        /* A commit without fsync must never hold an alarm. */
        if (s->unsynced && step(s, ST_SYNC_FULL) < 0)
                return -EIO;
        s->unsynced = false;
        return step(s, ST_BEGIN);
}

static int commit(struct store *s) {
        int r = step(s, ST_COMMIT);
        if (r < 0)
                (void) step(s, ST_ROLLBACK);
        return r;
}

static int rollback(struct store *s, int r) {
        (void) step(s, ST_ROLLBACK);
        return r;
}

static int insert_timeline(struct store *s, const char *incident, uint64_t at, const char *event,
                           const char *actor, const char *channel, const char *note) {
        bind_text(s, ST_TIMELINE_INSERT, 1, incident);
        sqlite3_bind_int64(s->st[ST_TIMELINE_INSERT], 2, (sqlite3_int64) at);
        bind_text(s, ST_TIMELINE_INSERT, 3, event);
        bind_text(s, ST_TIMELINE_INSERT, 4, actor);
        bind_text(s, ST_TIMELINE_INSERT, 5, channel);
        bind_text(s, ST_TIMELINE_INSERT, 6, note);
        return step(s, ST_TIMELINE_INSERT);
}

static int insert_call(struct store *s, const struct store_call *c, uint64_t at, int64_t *ret_id) {
        int r;

        bind_text(s, ST_OUTBOX_INSERT, 1, c->key);
        bind_text(s, ST_OUTBOX_INSERT, 2, c->kind);
        bind_text(s, ST_OUTBOX_INSERT, 3, c->incident);
        bind_text(s, ST_OUTBOX_INSERT, 4, c->body);
        sqlite3_bind_int64(s->st[ST_OUTBOX_INSERT], 5, (sqlite3_int64) at);
        bind_text(s, ST_OUTBOX_INSERT, 6, c->url);
        r = step(s, ST_OUTBOX_INSERT);
        if (r == 0 && ret_id)
                *ret_id = sqlite3_last_insert_rowid(s->db);
        return r;
}

static int join_sensor(struct store *s, const char *incident, const char *sensor, uint64_t at) {
        bind_text(s, ST_SENSOR_JOIN, 1, incident);
        bind_text(s, ST_SENSOR_JOIN, 2, sensor);
        sqlite3_bind_int64(s->st[ST_SENSOR_JOIN], 3, (sqlite3_int64) at);
        return step(s, ST_SENSOR_JOIN);
}

int store_incident_open(struct store *s, const struct store_incident *inc,
                        const struct store_call *call, int64_t *ret_call_id) {
        enum stmt i = ST_INCIDENT_INSERT;
        int r;

        if ((r = begin(s)) < 0)
                return r;
        bind_text(s, i, 1, inc->id);
        bind_text(s, i, 2, incident_type_to_string(inc->type));
        bind_text(s, i, 3, severity_to_string(inc->severity));
        bind_text(s, i, 4, inc->state);
        bind_text(s, i, 5, inc->sensor);
        bind_text(s, i, 6, inc->room);
        bind_text(s, i, 7, inc->reason);
        sqlite3_bind_int64(s->st[i], 8, (sqlite3_int64) inc->opened_at);
        if ((r = step(s, i)) < 0)
                return rollback(s, r);
        if (inc->sensor && (r = join_sensor(s, inc->id, inc->sensor, inc->opened_at)) < 0)
                return rollback(s, r);
        if ((r = insert_timeline(s, inc->id, inc->opened_at,
                                 strcmp(inc->state, "open") == 0 ? "opened" : inc->state,
                                 inc->sensor, "rule", inc->reason)) < 0)
                return rollback(s, r);
        if (call && (r = insert_call(s, call, inc->opened_at, ret_call_id)) < 0)
                return rollback(s, r);
        return commit(s);
}

int store_incident_attach(struct store *s, const char *incident, const char *sensor,
                          uint64_t at, const char *note, const struct store_call *call,
                          int64_t *ret_call_id) {
        int r;

        if ((r = begin(s)) < 0)
                return r;
        if (sensor && (r = join_sensor(s, incident, sensor, at)) < 0)
                return rollback(s, r);
        if ((r = insert_timeline(s, incident, at, "triggered", sensor, "rule", note)) < 0)
                return rollback(s, r);
        if (call && (r = insert_call(s, call, at, ret_call_id)) < 0)
                return rollback(s, r);
        return commit(s);
}

int store_incident_state(struct store *s, const char *incident, const char *state, bool close,
                         uint64_t at, const char *event, const char *actor, const char *channel,
                         const char *note, const struct store_call *call, int64_t *ret_call_id) {
        enum stmt i = ST_INCIDENT_STATE;
        int r;

        if ((r = begin(s)) < 0)
                return r;
        if (state) {
                bind_text(s, i, 1, incident);
                bind_text(s, i, 2, state);
                sqlite3_bind_int64(s->st[i], 3, (sqlite3_int64) at);
                sqlite3_bind_int(s->st[i], 4, close);
                bind_text(s, i, 5, note);
                if ((r = step(s, i)) < 0)
                        return rollback(s, r);
                if (sqlite3_changes(s->db) != 1)
                        return rollback(s, -ENOENT);    /* unknown or already closed */
        }
        if ((r = insert_timeline(s, incident, at, event, actor, channel, note)) < 0)
                return rollback(s, r);
        if (call && (r = insert_call(s, call, at, ret_call_id)) < 0)
                return rollback(s, r);
        return commit(s);
}

int store_incident_lookup(struct store *s, const char *id, char *state, size_t n, bool *closed) {
        sqlite3_stmt *q = s->st[ST_INCIDENT_LOOKUP];
        int rc, r = -ENOENT;

        sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
        rc = sqlite3_step(q);
        if (rc == SQLITE_ROW) {
                snprintf(state, n, "%s", col_text(q, 0) ? col_text(q, 0) : "");
                *closed = sqlite3_column_int(q, 1) != 0;
                r = 0;
        } else if (rc != SQLITE_DONE) {
                r = fail(s, rc, "looking up an incident");
        }
        sqlite3_reset(q);
        sqlite3_clear_bindings(q);
        return r;
}

int store_timeline_add(struct store *s, const char *incident, uint64_t at, const char *event,
                       const char *actor, const char *channel, const char *note) {
        return insert_timeline(s, incident, at, event, actor, channel, note);
}

int store_load_open_incidents(struct store *s,
                              int (*cb)(const struct store_incident *inc, void *ud), void *ud) {
        sqlite3_stmt *q = s->st[ST_OPEN_INCIDENTS];
        int rc, r = 0;

        while (r == 0 && (rc = sqlite3_step(q)) == SQLITE_ROW) {
                struct store_incident inc = {
                        .type = incident_type_from_string(col_text(q, 1)),
                        .severity = severity_from_string(col_text(q, 2)),
                        .state = col_text(q, 3), .sensor = col_text(q, 4), .room = col_text(q, 5),
                        .reason = col_text(q, 6), .opened_at = (uint64_t) sqlite3_column_int64(q, 7),
                        .calls = (unsigned) sqlite3_column_int(q, 8),
                };
                snprintf(inc.id, sizeof inc.id, "%s", col_text(q, 0) ? col_text(q, 0) : "");
                if (inc.type >= 0)
                        r = cb(&inc, ud);
        }
        if (r == 0 && rc != SQLITE_DONE && rc != SQLITE_ROW)
                r = fail(s, rc, "loading open incidents");
        sqlite3_reset(q);
        return r;
}

int store_outbox_load(struct store *s,
                      int (*cb)(const struct store_outbox_row *row, void *ud), void *ud) {
        sqlite3_stmt *q = s->st[ST_OUTBOX_LOAD];
        int rc, r = 0;

        while (r == 0 && (rc = sqlite3_step(q)) == SQLITE_ROW) {
                struct store_outbox_row row = {
                        .id = sqlite3_column_int64(q, 0), .key = col_text(q, 1), .kind = col_text(q, 2),
                        .incident = col_text(q, 3), .body = col_text(q, 4),
                        .attempts = (unsigned) sqlite3_column_int(q, 5),
                        .created_at = (uint64_t) sqlite3_column_int64(q, 6),
                        .url = col_text(q, 7),
                };
                if (row.key && row.body)
                        r = cb(&row, ud);
        }
        if (r == 0 && rc != SQLITE_DONE && rc != SQLITE_ROW)
                r = fail(s, rc, "loading the outbox");
        sqlite3_reset(q);
        return r;
}

int store_outbox_failed(struct store *s, int64_t id, unsigned attempts, const char *error) {
        sqlite3_bind_int64(s->st[ST_OUTBOX_FAILED], 1, id);
        sqlite3_bind_int(s->st[ST_OUTBOX_FAILED], 2, (int) attempts);
        bind_text(s, ST_OUTBOX_FAILED, 3, error);
        return step(s, ST_OUTBOX_FAILED);
}

/* Transactions whose loss in a power cut costs nothing but a repeat run
 * with synchronous=NORMAL (no fsync of their own); relaxed_end() puts FULL
 * back before anything else can commit. */
static int relaxed_begin(struct store *s) {
        int r;

        if ((r = step(s, ST_SYNC_NORMAL)) < 0)
                return r;
        if ((r = step(s, ST_BEGIN)) < 0)
                s->unsynced = step(s, ST_SYNC_FULL) < 0;
        return r;
}

static int relaxed_end(struct store *s, int r) {
        s->unsynced = step(s, ST_SYNC_FULL) < 0;
        return r;
}

static int delivered_tx(struct store *s, int64_t id, const char *incident, const char *url, const char *case_id,
                        unsigned attempts, uint64_t at) {
        char note[160];
        int r;

        sqlite3_bind_int64(s->st[ST_DELIVERY_INSERT], 1, id);
        bind_text(s, ST_DELIVERY_INSERT, 2, url);
        bind_text(s, ST_DELIVERY_INSERT, 3, case_id);
        sqlite3_bind_int(s->st[ST_DELIVERY_INSERT], 4, (int) attempts);
        sqlite3_bind_int64(s->st[ST_DELIVERY_INSERT], 5, (sqlite3_int64) at);
        if ((r = step(s, ST_DELIVERY_INSERT)) < 0 && r != -EEXIST)
                return rollback(s, r);
        sqlite3_bind_int64(s->st[ST_OUTBOX_DELETE], 1, id);
        if ((r = step(s, ST_OUTBOX_DELETE)) < 0)
                return rollback(s, r);
        if (case_id)
                snprintf(note, sizeof note, "case %s, attempt %u", case_id, attempts);
        else
                snprintf(note, sizeof note, "attempt %u", attempts);
        if (incident && (r = insert_timeline(s, incident, at, case_id ? "dispatch_delivered" : "webhook_delivered",
                                             case_id ? "dispatch" : "webhook", "https", note)) < 0)
                return rollback(s, r);
        return commit(s);
}

/* Relaxed: if a power cut loses this record, the call is still in the
 * outbox and goes again with its Idempotency-Key, which the center
 * deduplicates; an alarm is never lost by it, and the loop does not wait
 * for an fsync while the next alarm may be arriving. */
int store_outbox_delivered(struct store *s, int64_t id, const char *incident, const char *url,
                           const char *case_id, unsigned attempts, uint64_t at) {
        int r = relaxed_begin(s);

        if (r < 0)
                return r;
        return relaxed_end(s, delivered_tx(s, id, incident, url, case_id, attempts, at));
}

static int cmp_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
        return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of n sorted values. */
static uint64_t percentile(const uint64_t *v, size_t n, unsigned p) {
        size_t rank = (n * p + 99) / 100;
        return n ? v[rank ? rank - 1 : 0] : 0;
}

static void summarize(uint64_t *v, size_t n, struct response_figure *f) {
        if (n > 0)      /* v is NULL when there is nothing: qsort() wants a valid pointer even for 0 */
                qsort(v, n, sizeof *v, cmp_u64);
        f->n = n;
        f->median = percentile(v, n, 50);
        f->p90 = percentile(v, n, 90);
}

int store_response_stats(struct store *s, uint64_t since, struct response_stats *ret) {
        static const char sql[] =
                "SELECT (SELECT min(at) FROM timeline t WHERE t.incident = o.incident AND t.event = 'ack') - o.at,"
                "       (SELECT min(at) FROM timeline t WHERE t.incident = o.incident AND t.event = 'arrived') - o.at,"
                "       (SELECT min(at) FROM timeline t WHERE t.incident = o.incident"
                "          AND t.event IN ('resolved', 'false_alarm')) - o.at"
                "  FROM (SELECT incident, min(at) AS at FROM timeline WHERE event = 'opened' GROUP BY incident) o"
                " WHERE o.at >= ?1";
        uint64_t *v[3] = { NULL, NULL, NULL };
        size_t n[3] = { 0, 0, 0 }, cap = 0, total = 0, within = 0;
        sqlite3_stmt *q;
        int rc, r = 0;

        *ret = (struct response_stats) { 0 };
        if (sqlite3_prepare_v2(s->db, sql, -1, &q, NULL) != SQLITE_OK)
                return fail(s, sqlite3_errcode(s->db), "response statistics");
        sqlite3_bind_int64(q, 1, (sqlite3_int64) since);
        while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
                if (total == cap) {
                        cap = cap ? cap * 2 : 64;
                        for (int k = 0; k < 3; k++) {
                                uint64_t *nv = realloc(v[k], cap * sizeof *nv);
                                if (!nv) {
                                        r = -ENOMEM;
                                        goto out;
                                }
                                v[k] = nv;
                        }
                }
                total++;
                for (int k = 0; k < 3; k++)
                        if (sqlite3_column_type(q, k) != SQLITE_NULL)
                                v[k][n[k]++] = (uint64_t) sqlite3_column_int64(q, k);
                if (sqlite3_column_type(q, 2) != SQLITE_NULL &&
                    (uint64_t) sqlite3_column_int64(q, 2) <= 10 * USEC_PER_MIN)
                        within++;
        }
        if (rc != SQLITE_DONE)
                r = fail(s, rc, "response statistics");
        ret->incidents = total;
        summarize(v[0], n[0], &ret->ack);
        summarize(v[1], n[1], &ret->onsite);
        summarize(v[2], n[2], &ret->resolve);
        ret->resolved_within_10min = within;
out:
        sqlite3_finalize(q);
        for (int k = 0; k < 3; k++)
                free(v[k]);
        return r;
}

/* Runs sql with text parameters (NULL-terminated list), calling cb per row
 * with the columns as text. A small helper for the operator's queries,
 * which are not on any alarm path. */
static int query(struct store *s, const char *sql, const char *const *params, int64_t num,
                 int (*cb)(int n, const char *const *cols, void *ud), void *ud) {
        sqlite3_stmt *q;
        int rc, r = 0, i = 0;

        if (sqlite3_prepare_v2(s->db, sql, -1, &q, NULL) != SQLITE_OK)
                return fail(s, sqlite3_errcode(s->db), sql);
        for (; params && params[i]; i++)
                sqlite3_bind_text(q, i + 1, params[i], -1, SQLITE_STATIC);
        if (num >= 0)
                sqlite3_bind_int64(q, i + 1, num);
        while (r == 0 && (rc = sqlite3_step(q)) == SQLITE_ROW) {
                const char *cols[16];
                int n = sqlite3_column_count(q);
                if (n > 16)
                        n = 16;
                for (int k = 0; k < n; k++)
                        cols[k] = col_text(q, k);
                r = cb(n, cols, ud);
        }
        if (r == 0 && rc != SQLITE_DONE && rc != SQLITE_ROW)
                r = fail(s, rc, sql);
        sqlite3_finalize(q);
        return r;
}

int store_setting_put(struct store *s, const char *key, const char *old, const char *value, uint64_t at,
                      const char *actor, const char *channel) {
        sqlite3_stmt *q = NULL;
        int r;

        if ((r = begin(s)) < 0)
                return r;
        if (sqlite3_prepare_v2(s->db, "INSERT INTO settings(key, value, at, actor, channel) VALUES(?1, ?2, ?3, ?4, ?5)"
                               " ON CONFLICT(key) DO UPDATE SET value = ?2, at = ?3, actor = ?4, channel = ?5",
                               -1, &q, NULL) != SQLITE_OK)
                return rollback(s, fail(s, sqlite3_errcode(s->db), "settings"));
        sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 2, value, -1, SQLITE_STATIC);
        sqlite3_bind_int64(q, 3, (sqlite3_int64) at);
        sqlite3_bind_text(q, 4, actor, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 5, channel, -1, SQLITE_STATIC);
        r = sqlite3_step(q) == SQLITE_DONE ? 0 : fail(s, sqlite3_errcode(s->db), "settings");
        sqlite3_finalize(q);
        if (r < 0)
                return rollback(s, r);
        if ((r = store_audit_add(s, key, old, value, at, actor, channel, "applied")) < 0)
                return rollback(s, r);
        return commit(s);
}

int store_audit_add(struct store *s, const char *key, const char *old, const char *value, uint64_t at,
                    const char *actor, const char *channel, const char *result) {
        sqlite3_stmt *q = NULL;
        int r;

        if (sqlite3_prepare_v2(s->db, "INSERT INTO audit(at, key, old, new, actor, channel, result)"
                               " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)", -1, &q, NULL) != SQLITE_OK)
                return fail(s, sqlite3_errcode(s->db), "audit");
        sqlite3_bind_int64(q, 1, (sqlite3_int64) at);
        sqlite3_bind_text(q, 2, key, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 3, old, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 4, value, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 5, actor, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 6, channel, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 7, result, -1, SQLITE_STATIC);
        r = sqlite3_step(q) == SQLITE_DONE ? 0 : fail(s, sqlite3_errcode(s->db), "audit");
        sqlite3_finalize(q);
        return r;
}

int store_settings_load(struct store *s, int (*cb)(int n, const char *const *cols, void *ud), void *ud) {
        return query(s, "SELECT key, value, actor, channel FROM settings ORDER BY key", NULL, -1, cb, ud);
}

int store_audit_load(struct store *s, const char *key, int (*cb)(int n, const char *const *cols, void *ud),
                     void *ud) {
        const char *params[] = { key, NULL };
        return query(s, key ? "SELECT at, key, old, new, actor, channel, result FROM audit WHERE key = ?1 ORDER BY seq"
                            : "SELECT at, key, old, new, actor, channel, result FROM audit ORDER BY seq",
                     key ? params : NULL, -1, cb, ud);
}

int store_incidents_load(struct store *s, bool open_only, int64_t limit,
                         int (*cb)(int n, const char *const *cols, void *ud), void *ud) {
        return query(s, open_only
                     ? "SELECT id, type, severity, state, sensor, reason, opened_at, closed_at FROM incidents"
                       " WHERE closed_at IS NULL ORDER BY opened_at DESC LIMIT ?1"
                     : "SELECT id, type, severity, state, sensor, reason, opened_at, closed_at FROM incidents"
                       " ORDER BY opened_at DESC LIMIT ?1", NULL, limit, cb, ud);
}

int store_timeline_load(struct store *s, const char *incident,
                        int (*cb)(int n, const char *const *cols, void *ud), void *ud) {
        const char *params[] = { incident, NULL };
        return query(s, "SELECT at, event, actor, channel, note FROM timeline WHERE incident = ?1 ORDER BY seq",
                     params, -1, cb, ud);
}

int store_incident_sensors(struct store *s, const char *incident, store_row_fn cb, void *ud) {
        const char *params[] = { incident, NULL };
        return query(s, "SELECT sensor FROM incident_sensors WHERE incident = ?1 ORDER BY at", params, -1, cb, ud);
}

int store_activity_load(struct store *s, uint64_t since,
                        int (*cb)(int n, const char *const *cols, void *ud), void *ud) {
        return query(s, "SELECT at, sensor FROM sensor_log WHERE at >= ?1 AND value > 0"
                        " AND attr IN ('motion', 'door_open')", NULL, (int64_t) since, cb, ud);
}

unsigned long store_failures(const struct store *s) {
        return s ? s->failures : 0;
}

int store_outbox_drop(struct store *s, int64_t id) {
        sqlite3_bind_int64(s->st[ST_OUTBOX_DELETE], 1, id);
        return step(s, ST_OUTBOX_DELETE);
}

int store_outbox_depth(struct store *s) {
        sqlite3_stmt *q = s->st[ST_OUTBOX_DEPTH];
        int n = -EIO;

        if (sqlite3_step(q) == SQLITE_ROW)
                n = sqlite3_column_int(q, 0);
        sqlite3_reset(q);
        return n;
}

int store_log_event(struct store *s, const char *sensor, const struct event *ev) {
        if (s->n_batch == s->cap_batch) {
                size_t cap = s->cap_batch ? s->cap_batch * 2 : 256;
                struct log_entry *n;

                if (cap > 65536)
                        return -ENOBUFS;        /* the flush timer is behind: drop the log, not alarms */
                n = realloc(s->batch, cap * sizeof *n);
                if (!n)
                        return -ENOMEM;
                s->batch = n;
                s->cap_batch = cap;
        }
        s->batch[s->n_batch++] = (struct log_entry) { ev->wall, sensor, ev->attr, ev->value };
        return 0;
}

int store_flush(struct store *s) {
        sqlite3_stmt *q = s->st[ST_LOG_INSERT];
        size_t n = s->n_batch;
        int r;

        if (n == 0)
                return 0;
        /* History: relaxed (the pragma applies to this connection's
         * following transactions; FULL again before anything else). */
        if ((r = relaxed_begin(s)) < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                sqlite3_bind_int64(q, 1, (sqlite3_int64) s->batch[i].at);
                sqlite3_bind_text(q, 2, s->batch[i].sensor, -1, SQLITE_STATIC);
                sqlite3_bind_text(q, 3, event_attr_to_string(s->batch[i].attr), -1, SQLITE_STATIC);
                sqlite3_bind_double(q, 4, s->batch[i].value);
                if ((r = step(s, ST_LOG_INSERT)) < 0)
                        return relaxed_end(s, rollback(s, r));
        }
        s->n_batch = 0;
        /* Alarms must not commit without an fsync: until FULL is back,
         * begin() refuses, and the alarm paths send from memory. */
        r = relaxed_end(s, commit(s));
        return r < 0 ? r : (int) n;
}

int store_synchronous(struct store *s) {
        sqlite3_stmt *q;
        int v = -EIO;

        if (sqlite3_prepare_v2(s->db, "PRAGMA synchronous", -1, &q, NULL) != SQLITE_OK)
                return -EIO;
        if (sqlite3_step(q) == SQLITE_ROW)
                v = sqlite3_column_int(q, 0);
        sqlite3_finalize(q);
        return v;
}

size_t store_log_pending(const struct store *s) {
        return s->n_batch;
}
