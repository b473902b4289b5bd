/* The DC-09 transport: reports to the [receiver NAME] alarm receiving
 * centres over TCP or UDP on sd-event, frames built by dc09.c. One message
 * in flight per receiver (a NAK names no sequence, so it can only be the
 * answer to the one message out); the others wait in order. A message is
 * delivered only on an ACK with its sequence and account; a NAK is logged
 * with the receiver's clock against ours and the message re-sent with a
 * fresh timestamp (twice at most); DUH, silence until `timeout`, a refused
 * connection are failures the caller retries (the outbox, durably).
 *
 * Each receiver is supervised: a NULL message every `supervision`, a 602
 * test report every `test_interval`. After 3 failures in a row (NULLs or
 * events) the receiver is down: the health callback says so (a warning for
 * maintenance), and its events go to its `fallback` until it answers again. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "dc09.h"

struct config;
struct dc09link;
struct dc09link_req;

/* Failures in a row after which a receiver is down (and its fallback used). */
#define DC09LINK_DOWN_AFTER 3
/* NAKs of one message after which the attempt is a failure. */
#define DC09LINK_NAK_MAX 3
#define DC09LINK_BODY_MAX 96

struct dc09link_result {
        bool delivered;                 /* ACKed */
        const char *receiver;           /* the receiver it went to (a fallback, maybe) */
        unsigned seq;
        unsigned naks;                  /* NAKs before the final answer */
        char answer[64];                /* "ACK 0003 from arc" */
        char why[256];                  /* not delivered: why */
};

/* The answer to one message; called once (never after dc09link_cancel()). */
typedef void (*dc09link_done_fn)(const struct dc09link_result *r, void *userdata);
/* A receiver went down (bad) or answers again. */
typedef void (*dc09link_health_fn)(unsigned receiver, bool bad, unsigned failures, void *userdata);

/* cfg borrowed (its receivers, with keys read). Starts the supervision and
 * test timers of every receiver. -errno. */
int dc09link_new(sd_event *e, const struct config *cfg, dc09link_health_fn health, void *userdata,
                 struct dc09link **ret);
/* Every message in flight or waiting ends without its callback. NULL is fine. */
void dc09link_free(struct dc09link *l);

/* Sends ev to receiver (index in cfg->receivers; its fallback while it is
 * down). *ret (may be NULL) identifies it for dc09link_cancel(). -errno. */
int dc09link_send(struct dc09link *l, unsigned receiver, const struct dc09_event *ev, dc09link_done_fn done,
                  void *userdata, struct dc09link_req **ret);
/* The message ends without its callback (one in flight is abandoned). */
void dc09link_cancel(struct dc09link_req *q);

/* The outbox's body of a DC-09 call: "event=fire restore=0 zone=3".
 * Length, or -ENOSPC. */
int dc09link_body(char *buf, size_t n, const char *event, bool restore, unsigned zone);
/* Reads such a body back: ev->name points into name (n bytes). 0 or -EINVAL. */
int dc09link_body_parse(const char *body, char *name, size_t n, struct dc09_event *ev);

/* Is the receiver down (3 failures in a row, no answer since)? */
bool dc09link_is_down(const struct dc09link *l, unsigned receiver);
