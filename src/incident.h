/* Incidents: turns rule decisions into stored incidents and calls. A raise
 * of a type with an incident already open attaches to it (no storms); a
 * sensor that joins an open incident sends the center an "update" call, as
 * alarm receivers expect one signal per zone. Every call is committed to the
 * outbox before it is handed to dispatch. */
#pragma once

#include <stddef.h>

#include "anju/event.h"

struct config;
struct store;
struct dispatch;
struct incidents;

/* Creates the manager (all borrowed; store may be NULL = memory only) and
 * loads the open incidents from the store. Free with incidents_free(). */
int incidents_new(const struct config *cfg, struct store *store, struct dispatch *dispatch,
                  struct incidents **ret);
void incidents_free(struct incidents *m);

/* Applies one decision: opens, attaches or records a clear. 0 or -errno;
 * on storage errors the call still goes out from memory. */
int incidents_apply(struct incidents *m, const struct decision *d);

/* Number of incidents currently open. */
size_t incidents_open_count(const struct incidents *m);
/* Id of the open incident of this type, or NULL. */
const char *incidents_open_id(const struct incidents *m, enum incident_type type);
