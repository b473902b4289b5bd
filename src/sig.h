/* Signed messages from responders and operators (acks, remote settings):
 * the HMAC-SHA256 check, the time window, and a replay guard. Owns its
 * replay ring; pure apart from the HMAC (no clock: now comes in).
 *
 * With a synchronised clock a message must be within 5 minutes of it. A
 * gateway without a real-time clock, or whose clock is not synchronised,
 * cannot judge that: the window is then not applied, and replay protection
 * alone holds (an ack names an open incident, whose ids are random, and a
 * signature is accepted once). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SIG_WINDOW_S 300
#define SIG_RING 1024

enum sig_result {
        SIG_OK,
        SIG_STALE,              /* ts more than 5 minutes from this hub's (synchronised) clock */
        SIG_BAD,                /* the HMAC does not match */
        SIG_REPLAYED,           /* this signed message was accepted before */
        SIG_NO_KEY,             /* too short a key (never accepted) */
        _SIG_RESULT_MAX,
};

struct sig_guard {
        char seen[SIG_RING][65];        /* signatures accepted, newest overwrites oldest */
        size_t next;
};

/* Checks sig (hex HMAC-SHA256 of text with key) and ts (Unix seconds)
 * against now_s; clock_synced false skips the window. An accepted
 * signature is remembered (a replay of it is refused). */
enum sig_result sig_check(struct sig_guard *g, const void *key, size_t key_len, const char *text, long long ts,
                          const char *sig, long long now_s, bool clock_synced);
/* Why, for the log and the responder. */
const char *sig_result_to_string(enum sig_result r);
