/* SQLite storage (WAL): incidents and their timelines, the durable outbox
 * of calls, delivery records, and a batched log of sensor events. Schema
 * migrations by PRAGMA user_version. Alarm writes are synchronous (fsync
 * before anything is sent); sensor logging is batched. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "anju/event.h"

struct store;

#define STORE_SCHEMA_VERSION 3
#define INCIDENT_ID_MAX 32

struct store_incident {
        char id[INCIDENT_ID_MAX];
        enum incident_type type;
        enum severity severity;
        const char *state;              /* "open", ... */
        const char *sensor;             /* the sensor that raised it */
        const char *room;
        const char *reason;             /* words for people */
        uint64_t opened_at;             /* wall usec */
        unsigned calls;                 /* loaded: emergency calls made for it */
};

/* A call to put in the outbox. */
struct store_call {
        const char *key;                /* idempotency key, unique */
        const char *kind;               /* "alarm", "webhook" */
        const char *incident;
        const char *body;
        const char *url;                /* NULL: the dispatch center; else a webhook */
};

/* A call read back from the outbox. Strings owned by the caller of the
 * load callback only for the duration of the call. */
struct store_outbox_row {
        int64_t id;
        const char *key;
        const char *kind;
        const char *incident;
        const char *body;
        unsigned attempts;
        uint64_t created_at;
        const char *url;                /* NULL: the dispatch center */
};

/* Opens (creating and migrating) the database; caller frees with
 * store_close(). -errno, with a logged reason. */
int store_open(const char *path, struct store **ret);
/* Flushes the sensor log batch and closes. NULL is fine. */
void store_close(struct store *s);

/* Stores a new incident, its first timeline row and its first call in one
 * durable transaction. -EEXIST if the id is taken (pick another). */
int store_incident_open(struct store *s, const struct store_incident *inc,
                        const struct store_call *call, int64_t *ret_call_id);
/* Records another trigger of an open incident (timeline row, sensor joined)
 * and, if call is not NULL, a further call; one durable transaction. */
int store_incident_attach(struct store *s, const char *incident, const char *sensor,
                          uint64_t at, const char *note, const struct store_call *call,
                          int64_t *ret_call_id);
/* State of any incident (open or closed): 0, or -ENOENT if unknown. */
int store_incident_lookup(struct store *s, const char *id, char *state, size_t n, bool *closed);
/* Moves an open incident to state (NULL: no change; closing it if close), with a timeline
 * row and, if call is not NULL, a call; one durable transaction. -ENOENT if
 * the incident is unknown or already closed. */
int store_incident_state(struct store *s, const char *incident, const char *state, bool close,
                         uint64_t at, const char *event, const char *actor, const char *channel,
                         const char *note, const struct store_call *call, int64_t *ret_call_id);
/* Appends a timeline row (not batched). */
int store_timeline_add(struct store *s, const char *incident, uint64_t at, const char *event,
                       const char *actor, const char *channel, const char *note);

/* Calls cb for every incident that is not closed, oldest first. */
int store_load_open_incidents(struct store *s,
                              int (*cb)(const struct store_incident *inc, void *ud), void *ud);
/* Calls cb for every undelivered call, in the order they were raised. */
int store_outbox_load(struct store *s,
                      int (*cb)(const struct store_outbox_row *row, void *ud), void *ud);
/* Records a failed attempt. */
int store_outbox_failed(struct store *s, int64_t id, unsigned attempts, const char *error);
/* Moves a call from the outbox to the delivery records with its case id and
 * adds a timeline row to its incident; one transaction. */
int store_outbox_delivered(struct store *s, int64_t id, const char *incident, const char *url,
                           const char *case_id, unsigned attempts, uint64_t at);
/* Response figures (SPEC §6's "1-3-10"): from each incident's "opened"
 * row to its first ack, its first arrival, its resolution. Usec. */
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

/* Thresholds set at run time: stored (one per key) with an audit row, in
 * one transaction; and refused attempts, audited too. */
int store_setting_put(struct store *s, const char *key, const char *old, const char *value, uint64_t at,
                      const char *actor, const char *channel);
int store_audit_add(struct store *s, const char *key, const char *old, const char *value, uint64_t at,
                    const char *actor, const char *channel, const char *result);
/* Row callbacks get the columns as text (NULL for NULL). */
typedef int (*store_row_fn)(int n, const char *const *cols, void *ud);
/* key, value, actor, channel */
int store_settings_load(struct store *s, store_row_fn cb, void *ud);
/* at, key, old, new, actor, channel, result; key NULL = every key */
int store_audit_load(struct store *s, const char *key, store_row_fn cb, void *ud);
/* id, type, severity, state, sensor, reason, opened_at, closed_at; newest first */
int store_incidents_load(struct store *s, bool open_only, int64_t limit, store_row_fn cb, void *ud);
/* at, event, actor, channel, note; in order */
int store_timeline_load(struct store *s, const char *incident, store_row_fn cb, void *ud);
/* sensor: every sensor that triggered the incident, in order */
int store_incident_sensors(struct store *s, const char *incident, store_row_fn cb, void *ud);
/* at, sensor: motion and door events since */
int store_activity_load(struct store *s, uint64_t since, store_row_fn cb, void *ud);

/* Statements that failed since the store was opened (disk full, I/O). */
unsigned long store_failures(const struct store *s);
/* Removes an undelivered row without delivering it (a webhook notice for
 * an incident that has closed). */
int store_outbox_drop(struct store *s, int64_t id);
/* Number of calls waiting in the outbox. */
int store_outbox_depth(struct store *s);

/* Queues a sensor event for the batched log; flushed by store_flush(). */
int store_log_event(struct store *s, const char *sensor, const struct event *ev);
/* Writes the queued sensor events in one transaction; returns how many. */
int store_flush(struct store *s);
/* The connection's PRAGMA synchronous (2 = FULL, as every alarm commit
 * needs; the sensor log's own commits use 1 = NORMAL and restore it). */
int store_synchronous(struct store *s);
size_t store_log_pending(const struct store *s);
