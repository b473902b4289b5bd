/* HTTPS on sd-event (see https.h), after systemd's src/import/curl-util.c:
 * an io source per curl socket, assigned with curl_multi_assign(), and one
 * one-shot timer; every finished transfer is read, not just the first. */
#include "https.h"
#include "anju/event.h"
#include "log.h"
#include "util.h"

#include <curl/curl.h>
#include <errno.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>

struct https_req {
        struct https *h;
        struct https_req *prev, *next;
        CURL *easy;
        struct curl_slist *headers;
        char *url, *body;
        char *resp;
        size_t resp_len;
        bool too_large;
        uint64_t retry_after;
        uint64_t started;
        char errbuf[CURL_ERROR_SIZE];
        https_done_fn done;
        void *userdata;
};

struct https {
        sd_event *event;
        CURLM *multi;
        sd_event_source *timer;
        sd_event_source *finish;        /* reports finished requests outside curl's callbacks */
        struct https_req *reqs;
        size_t n;
};

static void req_unlink(struct https_req *r) {
        struct https *h = r->h;

        if (r->prev)
                r->prev->next = r->next;
        else
                h->reqs = r->next;
        if (r->next)
                r->next->prev = r->prev;
        h->n--;
}

static void req_free(struct https_req *r) {
        if (!r)
                return;
        if (r->easy) {
                curl_multi_remove_handle(r->h->multi, r->easy);
                curl_easy_cleanup(r->easy);
        }
        curl_slist_free_all(r->headers);
        free(r->url), free(r->body), free(r->resp);
        free(r);
}

/* --- curl ↔ sd-event ------------------------------------------------------- */

static void check_done(struct https *h);

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct https *h = userdata;
        int action = 0, running;

        if (revents & EPOLLIN)
                action |= CURL_CSELECT_IN;
        if (revents & EPOLLOUT)
                action |= CURL_CSELECT_OUT;
        if (revents & (EPOLLERR | EPOLLHUP))
                action |= CURL_CSELECT_ERR;
        curl_multi_socket_action(h->multi, fd, action, &running);
        check_done(h);
        return 0;
}

static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp) {
        struct https *h = userp;
        sd_event_source *io = socketp;
        uint32_t events = 0;
        int r;

        if (what == CURL_POLL_REMOVE) {
                if (io) {
                        sd_event_source_disable_unref(io);
                        curl_multi_assign(h->multi, fd, NULL);
                }
                return 0;
        }
        if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
                events |= EPOLLIN;
        if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
                events |= EPOLLOUT;
        if (io)
                return sd_event_source_set_io_events(io, events) < 0 ||
                       sd_event_source_set_enabled(io, SD_EVENT_ON) < 0 ? -1 : 0;
        r = sd_event_add_io(h->event, &io, fd, events, on_io, h);
        if (r < 0) {
                log_error_errno(r, "https: cannot watch a socket: %m");
                return -1;
        }
        (void) sd_event_source_set_description(io, "curl-io");
        /* Calls go before telemetry: a storm on the busy MQTT session must
         * not hold an emergency call's socket back (issue 16). */
        (void) sd_event_source_set_priority(io, SD_EVENT_PRIORITY_IMPORTANT);
        curl_multi_assign(h->multi, fd, io);
        return 0;
}

static int on_timer_set(CURLM *multi, long timeout_ms, void *userp) {
        struct https *h = userp;

        if (timeout_ms < 0)
                return sd_event_source_set_enabled(h->timer, SD_EVENT_OFF) < 0 ? -1 : 0;
        if (sd_event_source_set_time_relative(h->timer, (uint64_t) timeout_ms * USEC_PER_MSEC) < 0 ||
            sd_event_source_set_enabled(h->timer, SD_EVENT_ONESHOT) < 0)
                return -1;
        return 0;
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        struct https *h = userdata;
        int running;

        curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
        check_done(h);
        return 0;
}

/* --- one request -------------------------------------------------------------- */

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata) {
        struct https_req *r = userdata;
        size_t n = size * nmemb;
        char *p;

        if (r->resp_len + n > HTTPS_RESPONSE_MAX) {
                r->too_large = true;
                return 0;       /* an answer this large is not a center's: curl stops */
        }
        p = realloc(r->resp, r->resp_len + n + 1);
        if (!p)
                return 0;
        memcpy(p + r->resp_len, ptr, n);
        r->resp = p;
        r->resp_len += n;
        r->resp[r->resp_len] = '\0';
        return n;
}

/* Retry-After in seconds (RFC 9110 also allows a date: then it is ignored
 * and the caller's own backoff applies). */
static size_t on_header(char *buf, size_t size, size_t nitems, void *userdata) {
        struct https_req *r = userdata;
        size_t n = size * nitems;
        static const char name[] = "retry-after:";

        if (n > sizeof name - 1 && strncasecmp(buf, name, sizeof name - 1) == 0) {
                char v[32];
                size_t l = n - (sizeof name - 1);
                unsigned long long secs;
                char *end;

                snprintf(v, sizeof v, "%.*s", (int) (l < sizeof v - 1 ? l : sizeof v - 1), buf + sizeof name - 1);
                secs = strtoull(v, &end, 10);
                while (*end == ' ' || *end == '\r' || *end == '\n')
                        end++;
                if (end != v && *end == '\0' && secs < 7 * 86400)
                        r->retry_after = secs * USEC_PER_SEC;
        }
        return n;
}

/* Says which TLS problem it was: the certificate's verify result names it
 * (self-signed, expired, wrong host...). */
static void explain(struct https_req *r, CURLcode rc, char *why, size_t n) {
        long verify = 0;

        if (rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE || rc == CURLE_SSL_CONNECT_ERROR) {
                if (curl_easy_getinfo(r->easy, CURLINFO_SSL_VERIFYRESULT, &verify) == CURLE_OK && verify != 0) {
                        snprintf(why, n, "TLS: %s (%s)", X509_verify_cert_error_string(verify),
                                 r->errbuf[0] ? r->errbuf : curl_easy_strerror(rc));
                        return;
                }
        }
        snprintf(why, n, "%s", r->errbuf[0] ? r->errbuf : curl_easy_strerror(rc));
        if (r->too_large)
                snprintf(why, n, "answer over %d bytes", HTTPS_RESPONSE_MAX);
}

static void finished(struct https_req *r, CURLcode rc) {
        struct https_result res = { .body = r->resp ? r->resp : "", .body_len = r->resp_len,
                                    .retry_after = r->retry_after, .took = now_mono() - r->started };

        curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &res.status);
        res.ok = rc == CURLE_OK && !r->too_large;
        if (!res.ok)
                explain(r, rc, res.why, sizeof res.why);
        req_unlink(r);
        if (r->done)
                r->done(&res, r->userdata);
        req_free(r);
}

static void check_done(struct https *h) {
        CURLMsg *msg;
        int left;

        while ((msg = curl_multi_info_read(h->multi, &left))) {
                struct https_req *r = NULL;

                if (msg->msg != CURLMSG_DONE)
                        continue;
                curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **) &r);
                if (r)
                        finished(r, msg->data.result);
        }
}

/* A request that could not even start is reported from the loop, so the
 * caller never sees its callback inside https_start(). */
static int on_finish(sd_event_source *s, void *userdata) {
        struct https *h = userdata;

        for (struct https_req *r = h->reqs, *next; r; r = next) {
                next = r->next;
                if (!r->easy) {
                        struct https_result res = { .body = "" };
                        snprintf(res.why, sizeof res.why, "%s", r->errbuf[0] ? r->errbuf : "cannot start a transfer");
                        req_unlink(r);
                        if (r->done)
                                r->done(&res, r->userdata);
                        req_free(r);
                }
        }
        return 0;
}

static int setup(struct https_req *r, const struct https_post *p) {
        CURL *e = curl_easy_init();

        if (!e)
                return -ENOMEM;
        curl_easy_setopt(e, CURLOPT_URL, r->url);
        curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https,http");
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long) strlen(r->body));
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->headers);
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
        curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
        curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf);
        curl_easy_setopt(e, CURLOPT_PRIVATE, r);
        curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long) (p->timeout / USEC_PER_MSEC));
        curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long) (p->timeout / USEC_PER_MSEC / 2 + 1));
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, p->insecure ? 0L : 1L);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, p->insecure ? 0L : 2L);
        if (p->ca_file)
                curl_easy_setopt(e, CURLOPT_CAINFO, p->ca_file);
        if (curl_multi_add_handle(r->h->multi, e) != CURLM_OK) {
                curl_easy_cleanup(e);
                return -EIO;
        }
        r->easy = e;
        return 0;
}

int https_start(struct https *h, const struct https_post *p, https_done_fn done, void *userdata,
                struct https_req **ret) {
        struct https_req *r = calloc(1, sizeof *r);

        if (!r)
                return -ENOMEM;
        r->h = h;
        r->done = done;
        r->userdata = userdata;
        r->url = strdup(p->url);
        r->body = strdup(p->body);
        if (!r->url || !r->body) {
                req_free(r);
                return -ENOMEM;
        }
        for (size_t i = 0; p->headers && p->headers[i]; i++) {
                struct curl_slist *t = curl_slist_append(r->headers, p->headers[i]);
                if (!t) {
                        req_free(r);
                        return -ENOMEM;
                }
                r->headers = t;
        }
        r->next = h->reqs;
        if (h->reqs)
                h->reqs->prev = r;
        h->reqs = r;
        h->n++;
        r->started = now_mono();
        if (setup(r, p) < 0)
                (void) sd_event_source_set_enabled(h->finish, SD_EVENT_ONESHOT);
        if (ret)
                *ret = r;
        return 0;
}

void https_cancel(struct https_req *r) {
        if (!r)
                return;
        req_unlink(r);
        req_free(r);
}

size_t https_in_flight(const struct https *h) {
        return h->n;
}

int https_new(sd_event *e, struct https **ret) {
        struct https *h = calloc(1, sizeof *h);
        int r;

        if (!h)
                return -ENOMEM;
        h->event = sd_event_ref(e);
        h->multi = curl_multi_init();
        if (!h->multi) {
                r = -ENOMEM;
                goto err;
        }
        /* Accuracy 1 µs: 0 would mean sd-event's default of 250 ms, and curl's
         * "start now" timeouts would wait that long before every call. */
        if ((r = sd_event_add_time(e, &h->timer, CLOCK_MONOTONIC, UINT64_MAX, 1, on_timer, h)) < 0 ||
            (r = sd_event_add_defer(e, &h->finish, on_finish, h)) < 0)
                goto err;
        (void) sd_event_source_set_enabled(h->timer, SD_EVENT_OFF);
        (void) sd_event_source_set_enabled(h->finish, SD_EVENT_OFF);
        (void) sd_event_source_set_description(h->timer, "curl-timer");
        (void) sd_event_source_set_priority(h->timer, SD_EVENT_PRIORITY_IMPORTANT);
        (void) sd_event_source_set_priority(h->finish, SD_EVENT_PRIORITY_IMPORTANT);
        curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
        curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
        curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, on_timer_set);
        curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
        *ret = h;
        return 0;
err:
        https_free(h);
        return r;
}

void https_free(struct https *h) {
        if (!h)
                return;
        while (h->reqs) {
                struct https_req *r = h->reqs;
                req_unlink(r);
                req_free(r);
        }
        if (h->multi)
                curl_multi_cleanup(h->multi);
        sd_event_source_disable_unref(h->timer);
        sd_event_source_disable_unref(h->finish);
        sd_event_unref(h->event);
        free(h);
}
