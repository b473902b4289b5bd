/* SQLite storage (see store.h). One connection, prepared statements, WAL.
 * Durable transactions run with synchronous=FULL, so a COMMIT that returned
 * is on disk before anything it holds is sent; relaxed ones with NORMAL: no
 * fsync of their own (the next durable commit's fsync of the WAL carries
 * them), and a power cut can lose their last rows but never a durable one.
 * Automatic checkpoints are off: the hub checkpoints when the loop is idle
 * (store_checkpoint), so an alarm's commit never pays for one. */
#include "store.h"
#include "geo.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* WAL frames (pages) after which a checkpoint runs even without an idle
 * moment (a flood that never lets the loop rest): ~16 MB of WAL. */
#define WAL_FORCE_FRAMES 4000

enum stmt {
        ST_BEGIN, ST_COMMIT, ST_ROLLBACK,
        ST_INCIDENT_INSERT, ST_INCIDENT_STATE, ST_SENSOR_JOIN, ST_TIMELINE_INSERT,
        ST_OUTBOX_INSERT, ST_OUTBOX_LOAD, ST_OUTBOX_FAILED, ST_OUTBOX_DELETE, ST_DELIVERY_INSERT,
        ST_OUTBOX_DEPTH, ST_LOG_INSERT, ST_OPEN_INCIDENTS, ST_INCIDENT_GET, ST_INCIDENTS_ALL,
        ST_INCIDENTS_OPEN, ST_TIMELINE_LOAD, ST_INCIDENT_SENSORS, ST_SETTING_PUT, ST_AUDIT_INSERT,
        ST_SETTINGS_LOAD, ST_AUDIT_ALL, ST_AUDIT_KEY, ST_REFUSALS_ADD, ST_ACTIVITY,
        ST_LOCATION_INSERT, ST_LOCATION_RECENT,
        _ST_MAX,
};

#define INCIDENT_COLS "id, type, severity, state, sensor, room, reason, opened_at, closed_at"

static const char *const stmt_sql[_ST_MAX] = {
        [ST_BEGIN] = "BEGIN IMMEDIATE",
        [ST_COMMIT] = "COMMIT",
        [ST_ROLLBACK] = "ROLLBACK",
        [ST_INCIDENT_INSERT] =
                "INSERT INTO incidents(id, type, severity, state, sensor, room, reason, opened_at, updated_at)"
                " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)",
        [ST_INCIDENT_STATE] =
                "UPDATE incidents SET state = ?2, updated_at = ?3, reason = coalesce(?5, reason),"
                " closed_at = CASE WHEN ?4 THEN ?3 ELSE closed_at END WHERE id = ?1 AND closed_at IS NULL",
        [ST_SENSOR_JOIN] = "INSERT OR IGNORE INTO incident_sensors(incident, sensor, at) VALUES(?1, ?2, ?3)",
        [ST_TIMELINE_INSERT] =
                "INSERT INTO timeline(incident, at, event, actor, channel, note) VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
        [ST_OUTBOX_INSERT] =
                "INSERT INTO outbox(key, kind, dest, incident, body, url, created_at) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        [ST_OUTBOX_LOAD] =
                "SELECT id, key, kind, dest, incident, body, url, attempts, created_at FROM outbox ORDER BY id",
        [ST_OUTBOX_FAILED] = "UPDATE outbox SET attempts = ?2, last_error = ?3 WHERE id = ?1",
        [ST_OUTBOX_DELETE] = "DELETE FROM outbox WHERE id = ?1",
        [ST_DELIVERY_INSERT] =
                "INSERT INTO deliveries(key, kind, dest, incident, url, case_id, attempts, created_at, delivered_at)"
                " SELECT key, kind, dest, incident, ?2, ?3, ?4, created_at, ?5 FROM outbox WHERE id = ?1",
        [ST_OUTBOX_DEPTH] = "SELECT count(*) FROM outbox",
        [ST_LOG_INSERT] = "INSERT INTO sensor_log(at, sensor, attr, value) VALUES(?1, ?2, ?3, ?4)",
        [ST_OPEN_INCIDENTS] =
                "SELECT " INCIDENT_COLS ","
                " (SELECT count(*) FROM outbox o WHERE o.incident = incidents.id AND o.kind = 'alarm')"
                " + (SELECT count(*) FROM deliveries d WHERE d.incident = incidents.id AND d.kind = 'alarm'),"
                " EXISTS(SELECT 1 FROM timeline t WHERE t.incident = incidents.id AND t.event IN ('ack', 'arrived')"
                "        AND t.actor IS NOT 'dispatch'),"
                " (SELECT count(*) FROM outbox o WHERE o.incident = incidents.id AND o.kind = 'dc09')"
                " + (SELECT count(*) FROM deliveries d WHERE d.incident = incidents.id AND d.kind = 'dc09')"
                " FROM incidents WHERE closed_at IS NULL ORDER BY opened_at, id",
        [ST_INCIDENT_GET] = "SELECT " INCIDENT_COLS " FROM incidents WHERE id = ?1",
        [ST_INCIDENTS_ALL] = "SELECT " INCIDENT_COLS " FROM incidents ORDER BY opened_at DESC LIMIT ?1",
        [ST_INCIDENTS_OPEN] =
                "SELECT " INCIDENT_COLS " FROM incidents WHERE closed_at IS NULL ORDER BY opened_at DESC LIMIT ?1",
        [ST_TIMELINE_LOAD] = "SELECT at, event, actor, channel, note FROM timeline WHERE incident = ?1 ORDER BY seq",
        [ST_INCIDENT_SENSORS] = "SELECT sensor FROM incident_sensors WHERE incident = ?1 ORDER BY at",
        [ST_SETTING_PUT] =
                "INSERT INTO settings(key, value, at, actor, channel) VALUES(?1, ?2, ?3, ?4, ?5)"
                " ON CONFLICT(key) DO UPDATE SET value = ?2, at = ?3, actor = ?4, channel = ?5",
        [ST_AUDIT_INSERT] =
                "INSERT INTO audit(at, key, old, new, actor, channel, result) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        [ST_SETTINGS_LOAD] = "SELECT key, value, actor, channel FROM settings ORDER BY key",
        [ST_AUDIT_ALL] =
                "SELECT seq, at, key, old, new, actor, channel, result FROM audit WHERE seq > ?1 ORDER BY seq LIMIT ?2",
        [ST_AUDIT_KEY] =
                "SELECT seq, at, key, old, new, actor, channel, result FROM audit WHERE seq > ?1 AND key = ?3"
                " ORDER BY seq LIMIT ?2",
        [ST_REFUSALS_ADD] =
                "INSERT INTO refusals(minute, what, why, count) VALUES(?1, ?2, ?3, ?4)"
                " ON CONFLICT(minute, what, why) DO UPDATE SET count = count + ?4",
        [ST_ACTIVITY] =
                "SELECT at, sensor FROM sensor_log WHERE at >= ?1 AND value > 0 AND attr IN ('motion', 'door_open')",
        [ST_LOCATION_INSERT] =
                "INSERT INTO location(at, sensor, lat, lon, datum, accuracy, fix_at) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        [ST_LOCATION_RECENT] =
                "SELECT at, sensor, lat, lon, datum, accuracy, fix_at FROM"
                " (SELECT rowid, * FROM location WHERE at >= ?1 ORDER BY at DESC, rowid DESC LIMIT ?2)"
                " ORDER BY at, rowid",
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

/* Each later version: the step from the one before. */
static const char *const migrations[] = {
        [1] = schema_v1,
        /* v2: webhook notices share the outbox; url NULL = the dispatch center. */
        [2] = "ALTER TABLE outbox ADD COLUMN url TEXT;",
        /* v3: thresholds set at run time, and who changed what when. */
        [3] = "CREATE TABLE settings(key TEXT PRIMARY KEY, value TEXT NOT NULL, at INTEGER NOT NULL,"
              "  actor TEXT, channel TEXT);"
              "CREATE TABLE audit(seq INTEGER PRIMARY KEY, at INTEGER NOT NULL, key TEXT NOT NULL,"
              "  old TEXT, new TEXT, actor TEXT, channel TEXT, result TEXT NOT NULL);"
              "CREATE INDEX audit_key ON audit(key, seq);",
        /* v4: a call names its destination (a center, a webhook, an alarm
         * receiver); refused input is counted per minute, never row by row;
         * history is pruned by time (audit by its own time). */
        [4] = "ALTER TABLE outbox ADD COLUMN dest TEXT;"
              "UPDATE outbox SET dest = CASE WHEN url IS NULL THEN 'dispatch' ELSE 'webhook' END;"
              "ALTER TABLE deliveries ADD COLUMN dest TEXT;"
              "UPDATE deliveries SET dest = CASE WHEN url IS NULL OR kind = 'alarm' THEN 'dispatch' ELSE 'webhook' END;"
              "CREATE TABLE refusals(minute INTEGER NOT NULL, what TEXT NOT NULL, why TEXT NOT NULL,"
              "  count INTEGER NOT NULL, PRIMARY KEY(minute, what, why));"
              "CREATE INDEX audit_at ON audit(at);"
              "CREATE INDEX deliveries_incident ON deliveries(incident);"
              "CREATE INDEX outbox_incident ON outbox(incident);",
        /* v5: the wristband's positions (issue 14), as sent (datum's
         * coordinates): a bounded track, pruned after [hub] location_retention. */
        [5] = "CREATE TABLE location(at INTEGER NOT NULL, sensor TEXT NOT NULL, lat REAL NOT NULL,"
              "  lon REAL NOT NULL, datum TEXT NOT NULL, accuracy REAL NOT NULL, fix_at INTEGER);"
              "CREATE INDEX location_at ON location(at);",
};

static int prune_sql(struct store *s, const char *sql, int64_t bound, unsigned budget);

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
        int sync;                       /* the synchronous pragma now in force: 1 NORMAL, 2 FULL */
        bool unsynced;                  /* synchronous=FULL could not be restored */
        unsigned wal_frames;
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
        return log_error_errno(sqlite_to_errno(rc), "database: %s failed: %s", what, sqlite3_errmsg(s->db));
}

static int exec(struct store *s, const char *sql) {
        int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
        return rc == SQLITE_OK ? 0 : fail(s, rc, sql);
}

static void reset(sqlite3_stmt *q) {
        sqlite3_reset(q);
        sqlite3_clear_bindings(q);
}

/* Runs a prepared statement to completion and resets it. */
static int step(struct store *s, enum stmt i) {
        int rc = sqlite3_step(s->st[i]);
        int r = rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : sqlite_to_errno(rc);

        if (r < 0 && rc != SQLITE_CONSTRAINT)
                (void) fail(s, rc, stmt_sql[i]);
        reset(s->st[i]);
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

static void bind_int(struct store *s, enum stmt i, int col, int64_t v) {
        sqlite3_bind_int64(s->st[i], col, (sqlite3_int64) v);
}

/* Steps a prepared query, handing each row to row(); resets it. */
static int each_row(struct store *s, enum stmt i, int (*row)(sqlite3_stmt *q, void *ctx), void *ctx) {
        sqlite3_stmt *q = s->st[i];
        int rc, r = 0;

        while (r == 0 && (rc = sqlite3_step(q)) == SQLITE_ROW)
                r = row(q, ctx);
        if (r == 0 && rc != SQLITE_DONE && rc != SQLITE_ROW)
                r = fail(s, rc, stmt_sql[i]);
        reset(q);
        return r;
}

static int migrate(struct store *s) {
        sqlite3_stmt *q;
        int version = 0, r;

        if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &q, NULL) != SQLITE_OK)
                return fail(s, sqlite3_errcode(s->db), "reading the schema version");
        if (sqlite3_step(q) == SQLITE_ROW)
                version = sqlite3_column_int(q, 0);
        sqlite3_finalize(q);
        if (version > STORE_SCHEMA_VERSION)
                return log_error_errno(EPROTO, "database: schema version %d is newer than this anjud knows (%d); "
                                       "refusing to touch it", version, STORE_SCHEMA_VERSION);
        if (version == STORE_SCHEMA_VERSION)
                return 0;
        if ((r = exec(s, "BEGIN IMMEDIATE")) < 0)
                return r;
        for (int v = version + 1; v <= STORE_SCHEMA_VERSION; v++)
                if ((r = exec(s, migrations[v])) < 0)
                        goto rollback;
        if ((r = exec(s, "PRAGMA user_version = " STRINGIFY(STORE_SCHEMA_VERSION))) < 0 ||
            (r = exec(s, "COMMIT")) < 0)
                goto rollback;
        if (version > 0)
                log_info("database: schema migrated from version %d to %d", version, STORE_SCHEMA_VERSION);
        return 0;
rollback:
        (void) exec(s, "ROLLBACK");
        return r;
}

static int on_wal(void *ud, sqlite3 *db, const char *name, int frames) {
        struct store *s = ud;

        s->wal_frames = frames > 0 ? (unsigned) frames : 0;
        return SQLITE_OK;
}

/* The file is created 0600 before SQLite opens it: the journal and WAL
 * files take the database's mode, and the record holds health data. */
static int create_private(const char *path) {
        int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

        if (fd < 0)
                return -errno;
        close(fd);
        return 0;
}

int store_open(const char *path, struct store **ret) {
        struct store *s;
        int rc, r;

        if ((r = create_private(path)) < 0)
                return log_error_errno(r, "database: cannot create %s: %m", path);
        s = calloc(1, sizeof *s);
        if (!s)
                return -ENOMEM;
        rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
        if (rc != SQLITE_OK) {
                r = log_error_errno(sqlite_to_errno(rc), "database: cannot open %s: %s", path,
                                    s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
                goto err_close;
        }
        sqlite3_busy_timeout(s->db, 2000);      /* anjuctl --stats may read at the same time */
        if ((r = exec(s, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;"
                      " PRAGMA cache_size = -512; PRAGMA wal_autocheckpoint = 0;")) < 0)
                goto err_close;
        s->sync = 2;
        if ((r = migrate(s)) < 0)
                goto err_close;
        for (int i = 0; i < _ST_MAX; i++) {
                rc = sqlite3_prepare_v3(s->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->st[i], NULL);
                if (rc != SQLITE_OK) {
                        r = fail(s, rc, stmt_sql[i]);
                        goto err_close;
                }
        }
        sqlite3_wal_hook(s->db, on_wal, s);
        *ret = s;
        return 0;

err_close:
        store_close(s);
        return r;
}

int store_open_anyway(const char *path, struct store **ret) {
        char aside[4200], wal[4300], walaside[4400];

        *ret = NULL;
        if (store_open(path, ret) == 0)
                return 0;
        snprintf(aside, sizeof aside, "%s.broken-%llu", path, (unsigned long long) (now_wall() / USEC_PER_SEC));
        if (access(path, F_OK) == 0 && rename(path, aside) == 0) {
                snprintf(wal, sizeof wal, "%s-wal", path);
                snprintf(walaside, sizeof walaside, "%s-wal", aside);
                (void) rename(wal, walaside);
                snprintf(wal, sizeof wal, "%s-shm", path);
                (void) unlink(wal);
                log_error("database %s could not be opened: kept as %s for inspection; starting a new one", path,
                          aside);
                if (store_open(path, ret) == 0)
                        return 1;
        }
        *ret = NULL;
        return log_error_errno(EIO, "database %s is not usable: running from memory — alarms still go out, "
                               "but nothing is recorded until it is fixed", path);
}

void store_close(struct store *s) {
        if (!s)
                return;
        if (s->st[ST_LOG_INSERT])
                (void) store_flush(s);
        if (s->db && s->st[ST_BEGIN])
                (void) sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
        for (int i = 0; i < _ST_MAX; i++)
                sqlite3_finalize(s->st[i]);
        sqlite3_close(s->db);
        free(s->batch);
        free(s);
}

/* --- transactions ----------------------------------------------------------- */

/* The connection is at synchronous=FULL between transactions; a relaxed
 * one switches to NORMAL for itself and back when it ends. If FULL cannot
 * be restored, durable transactions refuse (the caller sends from memory)
 * until it can. */
static int set_sync(struct store *s, int want) {
        int r;

        if (s->sync == want && !s->unsynced)
                return 0;
        /* Executed, not prepared: SQLite applies PRAGMA synchronous when a
         * statement is prepared, so a kept one would switch nothing. */
        r = exec(s, want == 2 ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL");
        if (r == 0) {
                s->sync = want;
                s->unsynced = false;
        } else if (want == 2) {
                s->unsynced = true;
        }
        return r;
}

int store_begin(struct store *s, enum store_sync sync) {
        int r;

        /* A commit without fsync must never hold an alarm. */
        if (set_sync(s, sync == STORE_DURABLE ? 2 : 1) < 0 && sync == STORE_DURABLE)
                return -EIO;
        r = step(s, ST_BEGIN);
        if (r < 0)
                (void) set_sync(s, 2);
        return r;
}

bool store_in_transaction(const struct store *s) {
        return s && !sqlite3_get_autocommit(s->db);
}

int store_commit(struct store *s) {
        int r = step(s, ST_COMMIT);

        if (r < 0)
                (void) step(s, ST_ROLLBACK);
        (void) set_sync(s, 2);
        return r;
}

void store_rollback(struct store *s) {
        (void) step(s, ST_ROLLBACK);
        (void) set_sync(s, 2);
}

/* --- incidents ----------------------------------------------------------------- */

int store_incident_insert(struct store *s, const struct store_incident *inc) {
        enum stmt i = ST_INCIDENT_INSERT;

        bind_text(s, i, 1, inc->id);
        bind_text(s, i, 2, incident_type_to_string(inc->type));
        bind_text(s, i, 3, severity_to_string(inc->severity));
        bind_text(s, i, 4, inc->state);
        bind_text(s, i, 5, inc->sensor);
        bind_text(s, i, 6, inc->room);
        bind_text(s, i, 7, inc->reason);
        bind_int(s, i, 8, (int64_t) inc->opened_at);
        return step(s, i);
}

int store_incident_set_state(struct store *s, const char *id, const char *state, bool close, uint64_t at,
                             const char *reason) {
        enum stmt i = ST_INCIDENT_STATE;
        int r;

        bind_text(s, i, 1, id);
        bind_text(s, i, 2, state);
        bind_int(s, i, 3, (int64_t) at);
        bind_int(s, i, 4, close);
        bind_text(s, i, 5, reason);
        if ((r = step(s, i)) < 0)
                return r;
        return sqlite3_changes(s->db) == 1 ? 0 : -ENOENT;
}

int store_incident_join(struct store *s, const char *id, const char *sensor, uint64_t at) {
        bind_text(s, ST_SENSOR_JOIN, 1, id);
        bind_text(s, ST_SENSOR_JOIN, 2, sensor);
        bind_int(s, ST_SENSOR_JOIN, 3, (int64_t) at);
        return step(s, ST_SENSOR_JOIN);
}

int store_timeline_insert(struct store *s, const char *incident, uint64_t at, const char *event, const char *actor,
                          const char *channel, const char *note) {
        enum stmt i = ST_TIMELINE_INSERT;

        bind_text(s, i, 1, incident);
        bind_int(s, i, 2, (int64_t) at);
        bind_text(s, i, 3, event);
        bind_text(s, i, 4, actor);
        bind_text(s, i, 5, channel);
        bind_text(s, i, 6, note);
        return step(s, i);
}

/* --- the outbox ---------------------------------------------------------------- */

int store_outbox_insert(struct store *s, const struct store_outbox_row *row, int64_t *ret_id) {
        enum stmt i = ST_OUTBOX_INSERT;
        int r;

        bind_text(s, i, 1, row->key);
        bind_text(s, i, 2, row->kind);
        bind_text(s, i, 3, row->dest);
        bind_text(s, i, 4, row->incident);
        bind_text(s, i, 5, row->body);
        bind_text(s, i, 6, row->url);
        bind_int(s, i, 7, (int64_t) row->created_at);
        r = step(s, i);
        if (r == 0 && ret_id)
                *ret_id = sqlite3_last_insert_rowid(s->db);
        return r;
}

struct outbox_ctx {
        int (*cb)(const struct store_outbox_row *row, void *ud);
        void *ud;
};

static int outbox_row(sqlite3_stmt *q, void *ctx) {
        struct outbox_ctx *c = ctx;
        struct store_outbox_row row = {
                .id = sqlite3_column_int64(q, 0), .key = col_text(q, 1), .kind = col_text(q, 2),
                .dest = col_text(q, 3), .incident = col_text(q, 4), .body = col_text(q, 5), .url = col_text(q, 6),
                .attempts = (unsigned) sqlite3_column_int(q, 7), .created_at = (uint64_t) sqlite3_column_int64(q, 8),
        };

        if (!row.key || !row.body)
                return 0;
        if (!row.kind)
                row.kind = "alarm";
        if (!row.dest)
                row.dest = row.url ? "webhook" : "dispatch";
        return c->cb(&row, c->ud);
}

int store_outbox_foreach(struct store *s, int (*cb)(const struct store_outbox_row *row, void *ud), void *ud) {
        struct outbox_ctx c = { cb, ud };
        return each_row(s, ST_OUTBOX_LOAD, outbox_row, &c);
}

/* A statement of its own, relaxed: its loss in a power cut costs a repeat. */
static int relaxed_step(struct store *s, enum stmt i) {
        int r;

        if (set_sync(s, 1) < 0) {
                reset(s->st[i]);
                return -EIO;
        }
        r = step(s, i);
        (void) set_sync(s, 2);
        return r;
}

int store_outbox_failed(struct store *s, int64_t id, unsigned attempts, const char *error) {
        bind_int(s, ST_OUTBOX_FAILED, 1, id);
        bind_int(s, ST_OUTBOX_FAILED, 2, attempts);
        bind_text(s, ST_OUTBOX_FAILED, 3, error);
        return relaxed_step(s, ST_OUTBOX_FAILED);
}

static int delivered_tx(struct store *s, int64_t id, const char *incident, const char *url, const char *case_id,
                        const char *receiver, unsigned attempts, uint64_t at) {
        char note[200], actor[80];
        int r;

        bind_int(s, ST_DELIVERY_INSERT, 1, id);
        bind_text(s, ST_DELIVERY_INSERT, 2, url);
        bind_text(s, ST_DELIVERY_INSERT, 3, case_id);
        bind_int(s, ST_DELIVERY_INSERT, 4, attempts);
        bind_int(s, ST_DELIVERY_INSERT, 5, (int64_t) at);
        if ((r = step(s, ST_DELIVERY_INSERT)) < 0 && r != -EEXIST)
                return r;
        bind_int(s, ST_OUTBOX_DELETE, 1, id);
        if ((r = step(s, ST_OUTBOX_DELETE)) < 0)
                return r;
        if (case_id)
                snprintf(note, sizeof note, "%s%s, attempt %u", receiver ? "" : "case ", case_id, attempts);
        else
                snprintf(note, sizeof note, "attempt %u", attempts);
        if (!incident)
                return r;
        if (receiver) {
                snprintf(actor, sizeof actor, "receiver:%s", receiver);
                return store_timeline_insert(s, incident, at, "receiver_delivered", actor, "dc09", note);
        }
        return store_timeline_insert(s, incident, at, case_id ? "dispatch_delivered" : "webhook_delivered",
                                     case_id ? "dispatch" : "webhook", "https", note);
}

int store_outbox_delivered(struct store *s, int64_t id, const char *incident, const char *url, const char *case_id,
                           const char *receiver, unsigned attempts, uint64_t at) {
        int r = store_begin(s, STORE_RELAXED);

        if (r < 0)
                return r;
        if ((r = delivered_tx(s, id, incident, url, case_id, receiver, attempts, at)) < 0) {
                store_rollback(s);
                return r;
        }
        return store_commit(s);
}

int store_outbox_drop(struct store *s, int64_t id) {
        bind_int(s, ST_OUTBOX_DELETE, 1, id);
        return relaxed_step(s, ST_OUTBOX_DELETE);
}

int store_outbox_depth(struct store *s) {
        sqlite3_stmt *q = s->st[ST_OUTBOX_DEPTH];
        int n = -EIO;

        if (sqlite3_step(q) == SQLITE_ROW)
                n = sqlite3_column_int(q, 0);
        reset(q);
        return n;
}

/* --- reading incidents ------------------------------------------------------------- */

struct incident_ctx {
        int (*cb)(const struct store_incident *inc, void *ud);
        void *ud;
        bool extra;                     /* the open-incidents query: calls and person_answered */
        bool found;
};

static int incident_row(sqlite3_stmt *q, void *ctx) {
        struct incident_ctx *c = ctx;
        struct store_incident inc = {
                .id = col_text(q, 0), .type = incident_type_from_string(col_text(q, 1)),
                .severity = severity_from_string(col_text(q, 2)), .state = col_text(q, 3),
                .sensor = col_text(q, 4), .room = col_text(q, 5), .reason = col_text(q, 6),
                .opened_at = (uint64_t) sqlite3_column_int64(q, 7),
                .closed_at = (uint64_t) sqlite3_column_int64(q, 8),
        };

        if (!inc.id || !inc.state || inc.type < 0 || inc.severity < 0)
                return 0;       /* a row of a newer type, or damaged: not ours to act on */
        if (c->extra) {
                inc.calls = (unsigned) sqlite3_column_int(q, 9);
                inc.person_answered = sqlite3_column_int(q, 10) != 0;
                inc.reports = (unsigned) sqlite3_column_int(q, 11);
        }
        c->found = true;
        return c->cb(&inc, c->ud);
}

int store_open_incidents_foreach(struct store *s, int (*cb)(const struct store_incident *inc, void *ud), void *ud) {
        struct incident_ctx c = { cb, ud, true, false };
        return each_row(s, ST_OPEN_INCIDENTS, incident_row, &c);
}

int store_incidents_foreach(struct store *s, bool open_only, int64_t limit,
                            int (*cb)(const struct store_incident *inc, void *ud), void *ud) {
        enum stmt i = open_only ? ST_INCIDENTS_OPEN : ST_INCIDENTS_ALL;
        struct incident_ctx c = { cb, ud, false, false };

        bind_int(s, i, 1, limit);
        return each_row(s, i, incident_row, &c);
}

int store_incident_get(struct store *s, const char *id, int (*cb)(const struct store_incident *inc, void *ud),
                       void *ud) {
        struct incident_ctx c = { cb, ud, false, false };
        int r;

        bind_text(s, ST_INCIDENT_GET, 1, id);
        r = each_row(s, ST_INCIDENT_GET, incident_row, &c);
        return r < 0 ? r : c.found ? 0 : -ENOENT;
}

struct timeline_ctx {
        int (*cb)(const struct store_timeline_row *row, void *ud);
        void *ud;
};

static int timeline_row(sqlite3_stmt *q, void *ctx) {
        struct timeline_ctx *c = ctx;
        struct store_timeline_row row = {
                .at = (uint64_t) sqlite3_column_int64(q, 0), .event = col_text(q, 1), .actor = col_text(q, 2),
                .channel = col_text(q, 3), .note = col_text(q, 4),
        };

        return row.event ? c->cb(&row, c->ud) : 0;
}

int store_timeline_foreach(struct store *s, const char *incident,
                           int (*cb)(const struct store_timeline_row *row, void *ud), void *ud) {
        struct timeline_ctx c = { cb, ud };

        bind_text(s, ST_TIMELINE_LOAD, 1, incident);
        return each_row(s, ST_TIMELINE_LOAD, timeline_row, &c);
}

struct name_ctx {
        int (*cb)(const char *name, void *ud);
        void *ud;
};

static int name_row(sqlite3_stmt *q, void *ctx) {
        struct name_ctx *c = ctx;
        return col_text(q, 0) ? c->cb(col_text(q, 0), c->ud) : 0;
}

int store_incident_sensors_foreach(struct store *s, const char *incident, int (*cb)(const char *sensor, void *ud),
                                   void *ud) {
        struct name_ctx c = { cb, ud };

        bind_text(s, ST_INCIDENT_SENSORS, 1, incident);
        return each_row(s, ST_INCIDENT_SENSORS, name_row, &c);
}

/* --- settings and their audit ---------------------------------------------------------- */

static int audit_insert(struct store *s, uint64_t at, const char *key, const char *old, const char *value,
                        const char *actor, const char *channel, const char *result) {
        enum stmt i = ST_AUDIT_INSERT;

        bind_int(s, i, 1, (int64_t) at);
        bind_text(s, i, 2, key);
        bind_text(s, i, 3, old);
        bind_text(s, i, 4, value);
        bind_text(s, i, 5, actor);
        bind_text(s, i, 6, channel);
        bind_text(s, i, 7, result);
        return step(s, i);
}

int store_setting_put(struct store *s, const char *key, const char *old, const char *value, uint64_t at,
                      const char *actor, const char *channel) {
        int r;

        if ((r = store_begin(s, STORE_DURABLE)) < 0)
                return r;
        bind_text(s, ST_SETTING_PUT, 1, key);
        bind_text(s, ST_SETTING_PUT, 2, value);
        bind_int(s, ST_SETTING_PUT, 3, (int64_t) at);
        bind_text(s, ST_SETTING_PUT, 4, actor);
        bind_text(s, ST_SETTING_PUT, 5, channel);
        if ((r = step(s, ST_SETTING_PUT)) < 0 ||
            (r = audit_insert(s, at, key, old, value, actor, channel, "applied")) < 0) {
                store_rollback(s);
                return r;
        }
        return store_commit(s);
}

int store_audit_refused(struct store *s, const char *key, const char *old, const char *value, uint64_t at,
                        const char *actor, const char *channel, const char *why) {
        int r;

        if (set_sync(s, 1) < 0)
                return -EIO;
        r = audit_insert(s, at, key, old, value, actor, channel, why);
        (void) set_sync(s, 2);
        return r;
}

struct setting_ctx {
        int (*cb)(const struct store_setting_row *row, void *ud);
        void *ud;
};

static int setting_row(sqlite3_stmt *q, void *ctx) {
        struct setting_ctx *c = ctx;
        struct store_setting_row row = {
                .key = col_text(q, 0), .value = col_text(q, 1), .actor = col_text(q, 2), .channel = col_text(q, 3),
        };

        return row.key && row.value ? c->cb(&row, c->ud) : 0;
}

int store_settings_foreach(struct store *s, int (*cb)(const struct store_setting_row *row, void *ud), void *ud) {
        struct setting_ctx c = { cb, ud };
        return each_row(s, ST_SETTINGS_LOAD, setting_row, &c);
}

struct audit_ctx {
        int (*cb)(const struct store_audit_row *row, void *ud);
        void *ud;
};

static int audit_row(sqlite3_stmt *q, void *ctx) {
        struct audit_ctx *c = ctx;
        struct store_audit_row row = {
                .seq = sqlite3_column_int64(q, 0), .at = (uint64_t) sqlite3_column_int64(q, 1),
                .key = col_text(q, 2), .old = col_text(q, 3), .value = col_text(q, 4), .actor = col_text(q, 5),
                .channel = col_text(q, 6), .result = col_text(q, 7),
        };

        return c->cb(&row, c->ud);
}

int store_audit_foreach(struct store *s, const char *key, int64_t after, int64_t limit,
                        int (*cb)(const struct store_audit_row *row, void *ud), void *ud) {
        enum stmt i = key ? ST_AUDIT_KEY : ST_AUDIT_ALL;
        struct audit_ctx c = { cb, ud };

        bind_int(s, i, 1, after);
        bind_int(s, i, 2, limit);
        if (key)
                bind_text(s, i, 3, key);
        return each_row(s, i, audit_row, &c);
}

/* --- refused input ------------------------------------------------------------------ */

int store_refusals_add(struct store *s, uint64_t at, const char *what, const char *why, unsigned long count) {
        bind_int(s, ST_REFUSALS_ADD, 1, (int64_t) (at / USEC_PER_MIN * USEC_PER_MIN));
        bind_text(s, ST_REFUSALS_ADD, 2, what);
        bind_text(s, ST_REFUSALS_ADD, 3, why);
        bind_int(s, ST_REFUSALS_ADD, 4, (int64_t) count);
        return relaxed_step(s, ST_REFUSALS_ADD);
}

/* --- history ------------------------------------------------------------------------------ */

int store_location_add(struct store *s, const char *sensor, uint64_t at, const struct event_fix *f) {
        bind_int(s, ST_LOCATION_INSERT, 1, (int64_t) at);
        bind_text(s, ST_LOCATION_INSERT, 2, sensor);
        sqlite3_bind_double(s->st[ST_LOCATION_INSERT], 3, f->lat);
        sqlite3_bind_double(s->st[ST_LOCATION_INSERT], 4, f->lon);
        bind_text(s, ST_LOCATION_INSERT, 5, f->datum == GEO_DATUM_GCJ02 ? "gcj02" : "wgs84");
        sqlite3_bind_double(s->st[ST_LOCATION_INSERT], 6, f->accuracy);
        if (f->at)
                bind_int(s, ST_LOCATION_INSERT, 7, (int64_t) f->at);
        else
                sqlite3_bind_null(s->st[ST_LOCATION_INSERT], 7);
        return relaxed_step(s, ST_LOCATION_INSERT);
}

struct location_ctx {
        int (*cb)(const struct store_location_row *row, void *ud);
        void *ud;
};

static int location_row(sqlite3_stmt *q, void *ctx) {
        struct location_ctx *c = ctx;
        const char *datum = col_text(q, 4);
        struct store_location_row row = {
                .at = (uint64_t) sqlite3_column_int64(q, 0), .sensor = col_text(q, 1),
                .fix = {
                        .lat = sqlite3_column_double(q, 2), .lon = sqlite3_column_double(q, 3),
                        .accuracy = sqlite3_column_double(q, 5), .at = (uint64_t) sqlite3_column_int64(q, 6),
                        .datum = datum && strcmp(datum, "gcj02") == 0 ? GEO_DATUM_GCJ02 : GEO_DATUM_WGS84,
                },
        };
        return c->cb(&row, c->ud);
}

int store_location_foreach(struct store *s, uint64_t since, unsigned limit,
                           int (*cb)(const struct store_location_row *row, void *ud), void *ud) {
        struct location_ctx c = { cb, ud };

        bind_int(s, ST_LOCATION_RECENT, 1, (int64_t) since);
        bind_int(s, ST_LOCATION_RECENT, 2, (int64_t) limit);
        return each_row(s, ST_LOCATION_RECENT, location_row, &c);
}

int store_location_prune(struct store *s, uint64_t before, unsigned budget) {
        int r;

        if ((r = store_begin(s, STORE_RELAXED)) < 0)
                return r;
        r = prune_sql(s, "DELETE FROM location WHERE rowid IN (SELECT rowid FROM location WHERE at < ?1 LIMIT ?2)",
                      (int64_t) before, budget);
        if (r < 0) {
                store_rollback(s);
                return r;
        }
        int c = store_commit(s);
        return c < 0 ? c : r;
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
        return store_flush_some(s, SIZE_MAX);
}

int store_flush_some(struct store *s, size_t max) {
        sqlite3_stmt *q = s->st[ST_LOG_INSERT];
        size_t n = s->n_batch < max ? s->n_batch : max;
        int r;

        if (n == 0)
                return 0;
        if ((r = store_begin(s, STORE_RELAXED)) < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                sqlite3_bind_int64(q, 1, (sqlite3_int64) s->batch[i].at);
                sqlite3_bind_text(q, 2, s->batch[i].sensor, -1, SQLITE_STATIC);
                sqlite3_bind_text(q, 3, event_attr_to_string(s->batch[i].attr), -1, SQLITE_STATIC);
                sqlite3_bind_double(q, 4, s->batch[i].value);
                if ((r = step(s, ST_LOG_INSERT)) < 0) {
                        store_rollback(s);
                        return r;
                }
        }
        s->n_batch -= n;
        memmove(s->batch, s->batch + n, s->n_batch * sizeof *s->batch);
        r = store_commit(s);
        return r < 0 ? r : (int) n;
}

size_t store_log_pending(const struct store *s) {
        return s->n_batch;
}

struct activity_ctx {
        int (*cb)(uint64_t at, const char *sensor, void *ud);
        void *ud;
};

static int activity_row(sqlite3_stmt *q, void *ctx) {
        struct activity_ctx *c = ctx;
        return col_text(q, 1) ? c->cb((uint64_t) sqlite3_column_int64(q, 0), col_text(q, 1), c->ud) : 0;
}

int store_activity_foreach(struct store *s, uint64_t since, int (*cb)(uint64_t at, const char *sensor, void *ud),
                           void *ud) {
        struct activity_ctx c = { cb, ud };

        bind_int(s, ST_ACTIVITY, 1, (int64_t) since);
        return each_row(s, ST_ACTIVITY, activity_row, &c);
}

static int64_t pragma_int(struct store *s, const char *sql) {
        sqlite3_stmt *q;
        int64_t v = -EIO;

        if (sqlite3_prepare_v2(s->db, sql, -1, &q, NULL) != SQLITE_OK)
                return -EIO;
        if (sqlite3_step(q) == SQLITE_ROW)
                v = sqlite3_column_int64(q, 0);
        sqlite3_finalize(q);
        return v;
}

int64_t store_size(struct store *s) {
        int64_t pages = pragma_int(s, "PRAGMA page_count"), free_pages = pragma_int(s, "PRAGMA freelist_count");
        int64_t size = pragma_int(s, "PRAGMA page_size");

        if (pages < 0 || free_pages < 0 || size < 0)
                return -EIO;
        return (pages - free_pages) * size;
}

/* Runs one DELETE of history with the time bound and the budget bound;
 * how many rows went. */
static int prune_sql(struct store *s, const char *sql, int64_t bound, unsigned budget) {
        sqlite3_stmt *q;
        int rc;

        if (sqlite3_prepare_v2(s->db, sql, -1, &q, NULL) != SQLITE_OK)
                return fail(s, sqlite3_errcode(s->db), sql);
        sqlite3_bind_int64(q, 1, (sqlite3_int64) bound);
        sqlite3_bind_int64(q, 2, (sqlite3_int64) budget);
        rc = sqlite3_step(q);
        sqlite3_finalize(q);
        if (rc != SQLITE_DONE)
                return fail(s, rc, sql);
        return sqlite3_changes(s->db);
}

/* History: what may go, older first (each has an index on its time). */
static const char *const prune_older[] = {
        "DELETE FROM sensor_log WHERE rowid IN (SELECT rowid FROM sensor_log WHERE at < ?1 LIMIT ?2)",
        "DELETE FROM audit WHERE seq IN (SELECT seq FROM audit WHERE at < ?1 LIMIT ?2)",
        "DELETE FROM refusals WHERE rowid IN (SELECT rowid FROM refusals WHERE minute < ?1 LIMIT ?2)",
};
static const char *const prune_oldest[] = {
        "DELETE FROM sensor_log WHERE rowid IN (SELECT rowid FROM sensor_log ORDER BY at LIMIT ?2)",
        "DELETE FROM refusals WHERE rowid IN (SELECT rowid FROM refusals ORDER BY minute LIMIT ?2)",
        "DELETE FROM audit WHERE seq IN (SELECT seq FROM audit ORDER BY seq LIMIT ?2)",
};

int store_prune(struct store *s, uint64_t before, uint64_t max_bytes, unsigned budget) {
        unsigned total = 0;
        int r;

        if ((r = store_begin(s, STORE_RELAXED)) < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(prune_older) && total < budget; i++) {
                if ((r = prune_sql(s, prune_older[i], (int64_t) before, budget - total)) < 0)
                        goto fail;
                total += (unsigned) r;
        }
        /* Over the size cap: the oldest history goes, the sensor log first
         * (it is most of it), until the database fits. */
        for (size_t i = 0; max_bytes > 0 && i < ELEMENTSOF(prune_oldest) && total < budget &&
                           store_size(s) > (int64_t) max_bytes; i++) {
                if ((r = prune_sql(s, prune_oldest[i], 0, budget - total)) < 0)
                        goto fail;
                total += (unsigned) r;
        }
        if ((r = store_commit(s)) < 0)
                return r;
        return (int) total;
fail:
        store_rollback(s);
        return r;
}

unsigned store_wal_frames(const struct store *s) {
        return s ? s->wal_frames : 0;
}

int store_checkpoint(struct store *s) {
        int rc, log = 0, done = 0;

        rc = sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
        if (rc != SQLITE_OK && rc != SQLITE_BUSY)
                return fail(s, rc, "checkpoint");
        /* Every frame copied: the next writer starts the WAL over. */
        if (done >= log)
                s->wal_frames = 0;
        return 0;
}

bool store_checkpoint_due(const struct store *s) {
        return s && s->wal_frames >= WAL_FORCE_FRAMES;
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


unsigned long store_failures(const struct store *s) {
        return s ? s->failures : 0;
}

int store_synchronous(struct store *s) {
        return (int) pragma_int(s, "PRAGMA synchronous");
}
