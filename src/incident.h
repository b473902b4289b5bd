/* Incidents: turns rule decisions into stored incidents and calls. A raise
 * of a type with an incident already open attaches to it (no storms); a
 * sensor that joins an open incident sends the center an "update" call, as
 * alarm receivers expect one signal per zone. Every call is committed to the
 * outbox before it is handed to dispatch. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "anju/event.h"
#include "debounce.h"

struct config;
struct store;
struct dispatch;
struct incidents;
struct mqtt;

/* Creates the manager (all borrowed; store may be NULL = memory only) and
 * loads the open incidents from the store. Free with incidents_free(). */
int incidents_new(const struct config *cfg, struct store *store, struct dispatch *dispatch,
                  struct incidents **ret);
void incidents_free(struct incidents *m);

/* Where alerts (anju/<hub>/alert) and prompts (anju/<hub>/prompt) go;
 * NULL = nowhere (tests). */
void incidents_set_mqtt(struct incidents *m, struct mqtt *mqtt);
/* Calls now for every pre-alarm left open by a restart (its window has
 * passed without a recorded cancel). Returns how many. */
int incidents_resume(struct incidents *m, uint64_t mono, uint64_t wall);

/* Applies one decision: opens (a pre-alarm or an incident), attaches,
 * cancels a pre-alarm or records a clear. 0 or -errno; on storage errors
 * the call still goes out from memory. Critical and urgent incidents call
 * the dispatch center; warnings are stored and alerted only. */
int incidents_apply(struct incidents *m, const struct decision *d);
/* The same, naming who cancelled and by which channel (ack topic, anjuctl). */
int incidents_apply_from(struct incidents *m, const struct decision *d, const char *actor,
                         const char *channel);
/* Runs the escalation ladders due at mono; the next time anything is due
 * (UINT64_MAX: nothing). The hub keeps one timer on it. */
void incidents_tick(struct incidents *m, uint64_t mono, uint64_t wall);
uint64_t incidents_next_deadline(const struct incidents *m);

enum ack_result {
        ACK_APPLIED,            /* the incident changed state */
        ACK_RECORDED,           /* on the record, no change (a second responder) */
        ACK_UNKNOWN_INCIDENT,
        ACK_CLOSED_INCIDENT,
        ACK_BAD_ACTION,         /* not an action, or not for this state (a pre-alarm) */
};
const char *ack_result_to_string(enum ack_result r);

/* A responder's answer: action ack | arrived | resolved | false_alarm,
 * by actor (a contact id, "dispatch", a local user) over channel (mqtt,
 * https, ctl). The caller has checked who it is. */
enum ack_result incidents_ack(struct incidents *m, const char *id, const char *action, const char *actor,
                              const char *channel, const char *note, uint64_t mono, uint64_t wall);
/* The dispatch center answered a call with a case id: it took charge. */
void incidents_center_answered(struct incidents *m, const char *id, const char *case_id, uint64_t mono,
                               uint64_t wall);

struct incidents_stats {
        unsigned long long opened, closed, cancelled, notifications;
};
const struct incidents_stats *incidents_get_stats(const struct incidents *m);

/* True if the incident id (any, if NULL) is a pre-alarm waiting for a cancel. */
bool incidents_in_prealarm(const struct incidents *m, const char *id);

/* What the outputs should do now (outputs.h): the siren continuous while a
 * fire is open and no person has answered (the dispatch center's automatic
 * acceptance does not count), pulsed while a pre-alarm waits for a cancel,
 * else off; the relay cut while a fire incident is not closed. */
void incidents_outputs(const struct incidents *m, enum siren_pattern *siren, bool *relay_cut);

/* Number of incidents currently open. */
size_t incidents_open_count(const struct incidents *m);
/* Id of the open incident of this type, or NULL. */
const char *incidents_open_id(const struct incidents *m, enum incident_type type);
