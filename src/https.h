/* HTTPS on the event loop: libcurl's multi-socket interface on sd-event
 * (an io source per curl socket, one timer for curl's timeout). One POST
 * and its answer, nothing else: what the answer means is the caller's
 * business (center.c, outbox.c, link.c). TLS verification is on unless the
 * request says insecure. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

struct https;
struct https_req;

/* Answers larger than this are cut off and the request fails: no center's
 * answer is anywhere near it. */
#define HTTPS_RESPONSE_MAX 65536

struct https_post {
        const char *url;
        const char *const *headers;     /* "Name: value", NULL-terminated */
        const char *body;               /* sent as is (Content-Length) */
        uint64_t timeout;               /* usec, real time, whole request */
        const char *ca_file;            /* NULL: the system's CAs */
        bool insecure;                  /* no TLS verification (a test rig only) */
};

struct https_result {
        bool ok;                        /* a complete HTTP answer arrived (any status) */
        long status;                    /* HTTP status, 0 if none */
        const char *body;               /* the answer (NUL-terminated), "" if none */
        size_t body_len;
        uint64_t retry_after;           /* usec from a Retry-After header in seconds, 0 if none */
        uint64_t took;                  /* usec */
        char why[320];                  /* if !ok: what failed, e.g. "TLS: certificate has expired" */
};

typedef void (*https_done_fn)(const struct https_result *r, void *userdata);

int https_new(sd_event *e, struct https **ret);
/* Cancels every request (their callbacks are not called). NULL is fine. */
void https_free(struct https *h);
/* Starts a POST (strings are copied); done is called once, from the loop,
 * never from inside https_start(). *ret (may be NULL) is for cancelling. */
int https_start(struct https *h, const struct https_post *p, https_done_fn done, void *userdata,
                struct https_req **ret);
/* Cancels a request: done is not called. NULL is fine. */
void https_cancel(struct https_req *r);
/* Requests in flight. */
size_t https_in_flight(const struct https *h);
