/* The durable outbox: every call to a center and every webhook notice, from
 * the row written in the caller's transaction to its delivery record. The
 * outbox owns those rows end to end: it sends, retries with capped
 * exponential backoff and jitter (Retry-After honoured), alternates to the
 * fallback URL, replays after a restart, and says when a center took charge
 * of an incident (its case id).
 *
 * Calls are independent: a new call goes out at once, beside any call being
 * retried; only the calls of one incident to one destination keep their
 * order (an update never overtakes its incident's first call). A center
 * that refuses a call (a 4xx that retrying will not fix) is a problem for
 * maintenance, reported by callback; the call is still retried, slowly. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

struct config;
struct store;
struct https;
struct outbox;
struct dc09link;

enum call_kind {
        CALL_ALARM,             /* to the grid dispatch center, anju.alarm.v1 over HTTPS */
        CALL_WEBHOOK,           /* a contact's notice to a webhook (WeCom, DingTalk, JSON) */
        CALL_DC09,              /* a report to a [receiver NAME] in SIA DC-09 (dc09link.h); url: NAME */
        _CALL_KIND_MAX,
        _CALL_KIND_INVALID = -1,
};
const char *call_kind_to_string(enum call_kind k);
enum call_kind call_kind_from_string(const char *s);

struct outbox_stats {
        uint64_t submitted, delivered, attempts_failed, refused;
};

/* Everything borrowed; store may be NULL (calls then live in memory only). */
int outbox_new(sd_event *e, const struct config *cfg, struct store *store, struct https *https, struct outbox **ret);
/* Stops every transfer (undelivered calls stay in the store). NULL is fine. */
void outbox_free(struct outbox *ob);

/* A new call: its row is written now if the caller's store transaction is
 * open (outside one the call lives in memory only), and it is sent by
 * outbox_commit(). url: the webhook's (NULL for a center). -errno. */
int outbox_add(struct outbox *ob, enum call_kind kind, const char *incident, const char *body, const char *url,
               uint64_t wall);
/* The caller's transaction ended: the calls added since go out now. If it
 * was not committed (stored false) they go out from memory, and are lost
 * only if the hub stops before they are delivered. */
void outbox_commit(struct outbox *ob, bool stored);
/* The caller's transaction was rolled back to be tried again: the calls
 * added since are forgotten (they were never sent). */
void outbox_abort(struct outbox *ob);
/* Loads every undelivered call from the store and sends them (after a
 * restart). How many. */
int outbox_replay(struct outbox *ob);
/* Drops the undelivered webhook notices of a closed incident. */
int outbox_drop_notices(struct outbox *ob, const char *incident);
/* The link to the center is back: calls waiting for their backoff go now. */
void outbox_link_restored(struct outbox *ob);

/* A [receiver NAME] answers again: its reports waiting for their backoff go now. */
void outbox_receiver_restored(struct outbox *ob, const char *name);

/* A center took charge of incident (its case id, or a DC-09 receiver's
 * ACK; receiver: that [receiver]'s name, NULL for the dispatch center). */
typedef void (*outbox_taken_fn)(const char *incident, const char *case_id, const char *receiver, void *userdata);
/* The center refuses calls (bad: true, with the HTTP status), or accepts
 * them again (bad: false). */
typedef void (*outbox_problem_fn)(bool bad, long status, void *userdata);
void outbox_set_callbacks(struct outbox *ob, outbox_taken_fn taken, outbox_problem_fn problem, void *userdata);

/* A test call (anjuctl test dispatch): body as given, one attempt to the
 * primary URL, not stored; done gets the outcome. cookie identifies it for
 * outbox_forget_test(). */
typedef void (*outbox_test_fn)(bool delivered, long status, const char *case_id, const char *why, void *userdata);
int outbox_test_call(struct outbox *ob, const char *body, outbox_test_fn done, void *userdata);
/* The asker went away: its test call ends without telling anyone. */
void outbox_forget_test(struct outbox *ob, void *userdata);

/* The DC-09 transport the CALL_DC09 calls go through (borrowed; NULL:
 * they wait). Set before outbox_replay(). */
void outbox_set_dc09(struct outbox *ob, struct dc09link *link);

/* Calls not yet delivered (in memory). */
size_t outbox_pending(const struct outbox *ob);
const struct outbox_stats *outbox_get_stats(const struct outbox *ob);
