/* Emergency calls to the grid dispatch center: HTTPS POST via libcurl's
 * multi-socket interface on the sd-event loop, fed from the durable outbox.
 * A call stays in the outbox from before its first attempt until a 2xx
 * answer with a case id; failures retry with capped exponential backoff and
 * jitter, alternating to fallback_url after fallback_after failures. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

struct config;
struct store;
struct dispatch;

struct dispatch_stats {
        uint64_t submitted;
        uint64_t delivered;
        uint64_t attempts_failed;
        uint64_t in_flight;
        uint64_t heartbeats;
        uint64_t heartbeats_failed;
};

/* Creates the dispatcher on loop e; cfg and store are borrowed (store may
 * be NULL: calls are then kept in memory only). Free with dispatch_free(). */
int dispatch_new(sd_event *e, const struct config *cfg, struct store *store,
                 struct dispatch **ret);
/* Stops every transfer (undelivered calls stay in the outbox). NULL is fine. */
void dispatch_free(struct dispatch *d);

/* Starts a call now (to the center, or to a contact's webhook if webhook
 * is not NULL: then without the center's token and signature, delivered
 * on any 2xx whose JSON errcode, if any, is 0). outbox_id is its row in the outbox, or 0 if it could
 * not be stored (then it lives in memory until delivered). Strings are
 * copied. */
int dispatch_submit(struct dispatch *d, int64_t outbox_id, const char *key, const char *incident,
                    const char *body, unsigned attempts_so_far, const char *webhook);
/* Loads every undelivered call from the outbox and starts them, oldest
 * first (after a restart). Returns how many. */
int dispatch_replay(struct dispatch *d);

/* Called when a call is delivered (a 2xx with a case id): the center has
 * taken charge of that incident. */
typedef void (*dispatch_delivered_fn)(const char *incident, const char *case_id, void *userdata);
void dispatch_set_delivered_cb(struct dispatch *d, dispatch_delivered_fn fn, void *userdata);

/* Link supervision (SPEC §7): every [dispatch] heartbeat_interval, a POST
 * of health() (a malloc'd anju.heartbeat.v1 body) to the center, signed
 * like a call; three failures in a row → on_link(false), the next success
 * → on_link(true). */
typedef char *(*dispatch_health_fn)(void *userdata);
typedef void (*dispatch_link_fn)(bool up, unsigned failures, void *userdata);
int dispatch_start_heartbeat(struct dispatch *d, dispatch_health_fn health, dispatch_link_fn on_link,
                             void *userdata);
bool dispatch_link_up(const struct dispatch *d);
/* A test call (anjuctl test dispatch): body as given (marked "test"), one
 * attempt to the primary url, not stored; cb gets the outcome. */
typedef void (*dispatch_test_fn)(bool delivered, long status, const char *case_id, const char *why,
                                 void *userdata);
int dispatch_test_call(struct dispatch *d, const char *body, dispatch_test_fn cb, void *userdata);
/* The asker went away: the test call ends without telling anyone. */
void dispatch_forget_test(struct dispatch *d, void *userdata);
/* Drops the undelivered webhook notices of a closed incident. */
int dispatch_drop_webhooks(struct dispatch *d, const char *incident);

/* Calls not yet delivered. */
size_t dispatch_pending(const struct dispatch *d);
const struct dispatch_stats *dispatch_get_stats(const struct dispatch *d);
