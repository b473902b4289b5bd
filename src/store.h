/* SQLite storage (WAL): incidents and their timelines, the durable outbox
 * of calls, delivery records, run-time settings and their audit, refused
 * input counted per minute, and a batched log of sensor events. Schema
 * migrations by PRAGMA user_version.
 *
 * The store owns the connection and every SQL statement; nobody else sees
 * a column. Writers open a transaction with store_begin() and say how
 * durable it must be: STORE_DURABLE (synchronous=FULL, fsynced before the
 * COMMIT returns: an incident, a state change, a call) or STORE_RELAXED
 * (synchronous=NORMAL: history whose loss in a power cut costs nothing but
 * a repeat). Readers get typed rows through callbacks; the row's strings
 * live until the callback returns. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "anju/event.h"

struct store;

#define STORE_SCHEMA_VERSION 5
#define INCIDENT_ID_MAX 32

enum store_sync { STORE_RELAXED, STORE_DURABLE };

/* Opens (creating with mode 0600, and migrating) the database; caller
 * frees with store_close(). -errno, with a logged reason. */
int store_open(const char *path, struct store **ret);
/* The same, but a database that will not open (corrupt, unreadable) is set
 * aside as "<path>.broken-<unix time>" and a new one started. 0 opened as
 * it was, 1 opened anew after setting the old one aside, -errno (and *ret
 * NULL) if no database can be had: the hub then runs from memory. */
int store_open_anyway(const char *path, struct store **ret);
/* Flushes the sensor log batch and closes. NULL is fine. */
void store_close(struct store *s);

/* --- transactions ------------------------------------------------------- */

/* BEGIN IMMEDIATE with the given durability. A durable transaction refuses
 * (-EIO) if synchronous=FULL cannot be restored after a relaxed one. */
int store_begin(struct store *s, enum store_sync sync);
/* True between store_begin() and its commit or rollback. */
bool store_in_transaction(const struct store *s);
/* COMMIT (rolled back on failure); 0 or -errno. */
int store_commit(struct store *s);
void store_rollback(struct store *s);

/* --- incidents (inside a transaction) ----------------------------------- */

struct store_incident {
        const char *id;
        enum incident_type type;
        enum severity severity;
        const char *state;              /* "prealarm", "open", "acked", "onsite", "resolved", "cancelled" */
        const char *sensor;             /* the sensor that raised it, NULL for the hub itself */
        const char *room;
        const char *reason;             /* words for people */
        uint64_t opened_at;             /* wall usec */
        uint64_t closed_at;             /* wall usec, 0 while open */
        /* read back only: */
        unsigned calls;                 /* calls to the dispatch center made for it */
        bool person_answered;           /* a person (not the center's automatic answer) acked or arrived */
        unsigned reports;               /* DC-09 reports to receivers made for it (outbox kind dc09) */
};

/* A new incident row. -EEXIST if the id is taken. */
int store_incident_insert(struct store *s, const struct store_incident *inc);
/* Moves an incident that is not closed to state (closing it if close),
 * with a new reason if not NULL. -ENOENT if unknown or already closed. */
int store_incident_set_state(struct store *s, const char *id, const char *state, bool close, uint64_t at,
                             const char *reason);
/* A sensor joins an incident (ignored if it had joined). */
int store_incident_join(struct store *s, const char *id, const char *sensor, uint64_t at);
/* Appends a row to an incident's timeline. */
int store_timeline_insert(struct store *s, const char *incident, uint64_t at, const char *event, const char *actor,
                          const char *channel, const char *note);

/* --- the outbox ----------------------------------------------------------- */

struct store_outbox_row {
        int64_t id;
        const char *key;                /* idempotency key, unique */
        const char *kind;               /* "alarm", "webhook", "dc09" (outbox.c's enum call_kind) */
        const char *dest;               /* "dispatch", "webhook", "receiver:NAME" */
        const char *incident;
        const char *body;
        const char *url;                /* a webhook's, else NULL */
        unsigned attempts;
        uint64_t created_at;
};

/* Inside a transaction: a new call; *ret_id its row. */
int store_outbox_insert(struct store *s, const struct store_outbox_row *row, int64_t *ret_id);
/* Every undelivered call, in the order they were raised. */
int store_outbox_foreach(struct store *s, int (*cb)(const struct store_outbox_row *row, void *ud), void *ud);
/* A failed attempt (relaxed: a lost count only shortens a backoff). */
int store_outbox_failed(struct store *s, int64_t id, unsigned attempts, const char *error);
/* Moves a call to the delivery records with the answer (case id or the
 * receiver's ACK) and a timeline row on its incident: dispatch_delivered
 * or webhook_delivered over https, or for a DC-09 report (receiver: its
 * [receiver] name) receiver_delivered by receiver:NAME over dc09; relaxed:
 * a record lost in a power cut means the call goes again with its
 * Idempotency-Key. */
int store_outbox_delivered(struct store *s, int64_t id, const char *incident, const char *url, const char *case_id,
                           const char *receiver, unsigned attempts, uint64_t at);
/* Removes a call without delivering it (a webhook notice of a closed incident). */
int store_outbox_drop(struct store *s, int64_t id);
/* Calls waiting; -errno. */
int store_outbox_depth(struct store *s);

/* --- reading incidents ---------------------------------------------------- */

struct store_timeline_row {
        uint64_t at;
        const char *event, *actor, *channel, *note;
};

/* Every incident not closed, oldest first, with its call count and whether
 * a person answered. */
int store_open_incidents_foreach(struct store *s, int (*cb)(const struct store_incident *inc, void *ud), void *ud);
/* The newest incidents (open only, or all), at most limit, newest first. */
int store_incidents_foreach(struct store *s, bool open_only, int64_t limit,
                            int (*cb)(const struct store_incident *inc, void *ud), void *ud);
/* One incident by id (an indexed look-up); -ENOENT if unknown. */
int store_incident_get(struct store *s, const char *id, int (*cb)(const struct store_incident *inc, void *ud),
                       void *ud);
/* An incident's timeline in order. */
int store_timeline_foreach(struct store *s, const char *incident,
                           int (*cb)(const struct store_timeline_row *row, void *ud), void *ud);
/* Every sensor that joined the incident, in order. */
int store_incident_sensors_foreach(struct store *s, const char *incident, int (*cb)(const char *sensor, void *ud),
                                   void *ud);

/* --- settings and their audit --------------------------------------------- */

struct store_setting_row {
        const char *key, *value, *actor, *channel;
};
struct store_audit_row {
        int64_t seq;
        uint64_t at;
        const char *key, *old, *value, *actor, *channel, *result;
};

/* A threshold set at run time by a verified author: stored (one per key)
 * with an audit row, one durable transaction. */
int store_setting_put(struct store *s, const char *key, const char *old, const char *value, uint64_t at,
                      const char *actor, const char *channel);
/* A verified author's change that was refused (out of range): an audit
 * row, relaxed. Unverified attempts are never audited (store_refusals_add). */
int store_audit_refused(struct store *s, const char *key, const char *old, const char *value, uint64_t at,
                        const char *actor, const char *channel, const char *why);
int store_settings_foreach(struct store *s, int (*cb)(const struct store_setting_row *row, void *ud), void *ud);
/* The audit trail (key NULL: every key), oldest first, rows with seq >
 * after, at most limit: a client pages through it. */
int store_audit_foreach(struct store *s, const char *key, int64_t after, int64_t limit,
                        int (*cb)(const struct store_audit_row *row, void *ud), void *ud);

/* --- refused input, counted ------------------------------------------------ */

/* Adds count refusals of what (e.g. "config_set") for why in the minute
 * of at; relaxed, and called from a timer with aggregated counts, never per
 * message. */
int store_refusals_add(struct store *s, uint64_t at, const char *what, const char *why, unsigned long count);

/* --- history --------------------------------------------------------------- */

/* Queues a sensor event for the batched log; flushed by store_flush(). */
int store_log_event(struct store *s, const char *sensor, const struct event *ev);
/* Writes the queued sensor events in one relaxed transaction; how many. */
int store_flush(struct store *s);
/* The same for at most max of them, the oldest first; the rest stay queued. */
int store_flush_some(struct store *s, size_t max);
size_t store_log_pending(const struct store *s);
/* Motion and door events since (wall usec), for the activity report. */
int store_activity_foreach(struct store *s, uint64_t since, int (*cb)(uint64_t at, const char *sensor, void *ud),
                           void *ud);
/* The wristband's positions (issue 14): one row per fix, as the band sent
 * it (at: when it arrived, wall usec); relaxed. */
int store_location_add(struct store *s, const char *sensor, uint64_t at, const struct event_fix *fix);
struct store_location_row {
        uint64_t at;
        const char *sensor;             /* valid during the callback */
        struct event_fix fix;
};
/* The newest limit positions that arrived at or after since, oldest first. */
int store_location_foreach(struct store *s, uint64_t since, unsigned limit,
                           int (*cb)(const struct store_location_row *row, void *ud), void *ud);
/* Deletes positions older than before (wall usec), at most budget; how many. */
int store_location_prune(struct store *s, uint64_t before, unsigned budget);
/* Deletes history (sensor log, audit of settings, refusal counts) older
 * than before (wall usec), and the oldest history while the database is
 * larger than max_bytes (0: no cap); incidents, timelines, deliveries and
 * the outbox are never pruned. At most budget rows per call, relaxed.
 * Returns the rows deleted; call again while it returns budget. */
int store_prune(struct store *s, uint64_t before, uint64_t max_bytes, unsigned budget);
/* Bytes the database uses (pages in use, WAL not counted). */
int64_t store_size(struct store *s);
/* Frames written to the WAL since the last checkpoint. */
unsigned store_wal_frames(const struct store *s);
/* A passive checkpoint (never waits for readers); the hub runs it when the
 * loop is idle, so no alarm commit pays for it. */
int store_checkpoint(struct store *s);
/* The WAL has grown so long (a flood that never lets the loop rest) that a
 * checkpoint is due whether idle or not. */
bool store_checkpoint_due(const struct store *s);

/* --- figures ----------------------------------------------------------------- */

/* Response figures (the "1-3-10" rule): from each incident's "opened" row
 * to its first ack, its first arrival, its resolution. Usec. */
struct response_figure {
        size_t n;                       /* incidents that reached this point */
        uint64_t median, p90;
};
struct response_stats {
        size_t incidents;               /* opened since the given time */
        struct response_figure ack, onsite, resolve;
        size_t resolved_within_10min;
};
int store_response_stats(struct store *s, uint64_t since_wall, struct response_stats *ret);

/* Statements that failed since the store was opened (disk full, I/O). */
unsigned long store_failures(const struct store *s);
/* The connection's PRAGMA synchronous (2 = FULL, 1 = NORMAL). */
int store_synchronous(struct store *s);
