/* Carries out an action list of the incident manager (action.h): the one
 * place where "nothing is sent before it is stored" lives. One store
 * transaction holds every row and every call of the list — durable
 * (fsynced) if it opens or changes an incident or places a call, relaxed
 * otherwise — then the MQTT messages go out, then the calls are handed to
 * the outbox. If the store fails, the calls still go, from memory.
 *
 * What it sends through is a sink of four functions, so the unit tests put
 * fakes there and the hub the outbox and the MQTT client. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "action.h"
#include "outbox.h"

struct alarm_location;
struct config;
struct store;
struct actions;

struct actions_sink {
        /* Inside the transaction: a call (kind, the incident, the body; url a webhook's). */
        int (*call)(void *userdata, enum call_kind kind, const char *incident, const char *body, const char *url,
                    uint64_t wall);
        /* The transaction ended (stored: committed) or was rolled back to be tried again (abort). */
        void (*commit)(void *userdata, bool stored);
        void (*abort)(void *userdata);
        /* A message on MQTT (QoS 1, not retained). */
        int (*publish)(void *userdata, const char *topic, const char *payload, size_t len);
        /* The undelivered webhook notices of a closed incident go. */
        void (*drop_notices)(void *userdata, const char *incident);
        void *userdata;
        /* The band's position for a call or notice of incident (type; sensor
         * for a call, SENSOR_NONE for a notice): true if it carries one
         * (NULL: none ever do). */
        bool (*locate)(void *userdata, const char *incident, enum incident_type type, uint32_t sensor,
                       struct alarm_location *ret);
};

/* An incident id was taken in the store: draw another (incidents_rekey). */
typedef int (*actions_rekey_fn)(const char *old_id, char *new_id, size_t n, void *userdata);

/* cfg and store borrowed (store may be NULL: nothing is recorded). */
int actions_new(const struct config *cfg, struct store *store, const struct actions_sink *sink,
                actions_rekey_fn rekey, void *rekey_ud, struct actions **ret);
void actions_free(struct actions *a);
/* Carries out l (which may be changed: a re-keyed incident). 0, or -errno
 * if the store failed (everything was still sent). */
int actions_run(struct actions *a, struct action_list *l);

struct actions_stats {
        unsigned long long lists, durable, relaxed, store_failures, calls, published;
};
const struct actions_stats *actions_get_stats(const struct actions *a);
