/* Input that was refused — forged or stale acks and settings, payloads that
 * are not what a device sends, topics no sensor has — counted per kind and
 * reason, never stored one by one and never fsynced: a flood of it costs
 * memory for a few counters, a few log lines per interval, and one row per
 * minute and reason in the database (flushed by the hub's timer). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

enum refusal_kind {
        REFUSED_ACK,            /* anju/<hub>/ack */
        REFUSED_SETTING,        /* anju/<hub>/config/set */
        REFUSED_PAYLOAD,        /* a sensor's message: not JSON, a wrong type, too large */
        REFUSED_TOPIC,          /* no sensor has this topic */
        REFUSED_CTL,            /* a control connection or request */
        _REFUSED_MAX,
};

#define REFUSALS_REASONS 48     /* distinct (kind, reason) pairs counted; more go to "other" */

struct refusals;

struct refusals *refusals_new(void);
void refusals_free(struct refusals *r);
/* Counts one refusal (why: a sentence that lives as long as the daemon, or
 * is copied); true if the caller may log it now: at most 10 lines per 10 s
 * per kind, then one line saying how many were not logged. */
bool refusals_note(struct refusals *r, enum refusal_kind k, const char *why, uint64_t now_mono);
/* Refusals of a kind since start. */
unsigned long long refusals_total(const struct refusals *r, enum refusal_kind k);
const char *refusal_kind_to_string(enum refusal_kind k);
/* Hands over the counts gathered since the last call, one call of fn per
 * (kind, reason), and starts counting again. */
void refusals_take(struct refusals *r, void (*fn)(const char *what, const char *why, unsigned long count, void *ud),
                   void *ud);
