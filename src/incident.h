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
/* True if the incident id (any, if NULL) is a pre-alarm waiting for a cancel. */
bool incidents_in_prealarm(const struct incidents *m, const char *id);

/* Number of incidents currently open. */
size_t incidents_open_count(const struct incidents *m);
/* Id of the open incident of this type, or NULL. */
const char *incidents_open_id(const struct incidents *m, enum incident_type type);
