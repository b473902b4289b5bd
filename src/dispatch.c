/* Dispatch: curl multi-socket wired into sd-event (an io source per curl
 * socket, one timer for curl's timeout), plus the retry policy. */
#include "dispatch.h"
#include "clock.h"
#include "anju-build.h"
#include "config.h"
#include "log.h"
#include "store.h"
#include "util.h"

#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#define RESPONSE_MAX 65536

struct call {
        struct dispatch *d;
        struct call *prev, *next;
        int64_t id;                     /* outbox row, 0 if memory only */
        char *key, *incident, *body;
        unsigned attempts;
        const char *url;                /* of the attempt in flight */
        CURL *easy;
        struct curl_slist *headers;
        char *resp;
        size_t resp_len;
        uint64_t started;               /* monotonic usec of this attempt */
        uint64_t submitted;             /* monotonic usec of the first attempt here */
        sd_event_source *retry;
        bool heartbeat;                 /* link supervision: not stored, not retried */
        char *webhook;                  /* a contact's webhook URL; NULL = the center */
        uint64_t seq;                   /* order of raising (outbox order after a restart) */
        bool queued;                    /* waiting behind an older call to the center */
        bool is_test;                   /* a test call: one attempt, its result reported */
        dispatch_test_fn test_cb;       /* NULL once the asker went away */
        void *test_ud;
};

struct dispatch {
        sd_event *event;
        const struct config *cfg;
        struct store *store;
        CURLM *multi;
        sd_event_source *timer;
        struct call *calls;             /* all undelivered calls */
        dispatch_delivered_fn on_delivered;
        void *on_delivered_ud;
        /* link supervision */
        sd_event_source *hb_timer;
        struct call *hb;                /* the heartbeat in flight */
        dispatch_health_fn health;
        dispatch_link_fn on_link;
        void *hb_ud;
        unsigned hb_failures;
        bool link_down;
        /* Calls to the center go out in the order they were raised: once one
         * fails, the others wait behind it and follow one by one as soon as
         * it is delivered. */
        bool backlog;
        uint64_t next_seq;
        size_t n_calls;
        struct dispatch_stats stats;
};

static void call_free(struct call *c) {
        if (!c)
                return;
        if (c->easy) {
                curl_multi_remove_handle(c->d->multi, c->easy);
                curl_easy_cleanup(c->easy);
        }
        curl_slist_free_all(c->headers);
        sd_event_source_disable_unref(c->retry);
        free(c->key), free(c->incident), free(c->body), free(c->resp), free(c->webhook);
        free(c);
}

static void call_unlink(struct call *c) {
        struct dispatch *d = c->d;

        if (c->prev)
                c->prev->next = c->next;
        else
                d->calls = c->next;
        if (c->next)
                c->next->prev = c->prev;
        d->n_calls--;
}

/* --- curl ↔ sd-event glue --- */

static int on_curl_io(sd_event_source *s, int fd, uint32_t revents, void *userdata);

static int on_curl_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp) {
        struct dispatch *d = userp;
        sd_event_source *io = socketp;
        uint32_t events = 0;
        int r;

        if (what == CURL_POLL_REMOVE) {
                if (io) {
                        sd_event_source_disable_unref(io);
                        curl_multi_assign(d->multi, fd, NULL);
                }
                return 0;
        }
        if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
                events |= EPOLLIN;
        if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
                events |= EPOLLOUT;
        if (io) {
                if (sd_event_source_set_io_events(io, events) < 0 ||
                    sd_event_source_set_enabled(io, SD_EVENT_ON) < 0)
                        return -1;
                return 0;
        }
        r = sd_event_add_io(d->event, &io, fd, events, on_curl_io, d);
        if (r < 0) {
                log_error_errno(r, "dispatch: cannot watch a curl socket: %m");
                return -1;
        }
        (void) sd_event_source_set_description(io, "curl-io");
        curl_multi_assign(d->multi, fd, io);
        return 0;
}

static int on_curl_timer_set(CURLM *multi, long timeout_ms, void *userp) {
        struct dispatch *d = userp;

        if (timeout_ms < 0)
                return sd_event_source_set_enabled(d->timer, SD_EVENT_OFF) < 0 ? -1 : 0;
        if (sd_event_source_set_time_relative(d->timer, (uint64_t) timeout_ms * USEC_PER_MSEC) < 0 ||
            sd_event_source_set_enabled(d->timer, SD_EVENT_ONESHOT) < 0)
                return -1;
        return 0;
}

static void check_done(struct dispatch *d);

static int on_curl_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct dispatch *d = userdata;
        int action = 0, running;

        if (revents & EPOLLIN)
                action |= CURL_CSELECT_IN;
        if (revents & EPOLLOUT)
                action |= CURL_CSELECT_OUT;
        if (revents & (EPOLLERR | EPOLLHUP))
                action |= CURL_CSELECT_ERR;
        curl_multi_socket_action(d->multi, fd, action, &running);
        check_done(d);
        return 0;
}

static int on_curl_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        struct dispatch *d = userdata;
        int running;

        curl_multi_socket_action(d->multi, CURL_SOCKET_TIMEOUT, 0, &running);
        check_done(d);
        return 0;
}

/* --- one attempt --- */

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata) {
        struct call *c = userdata;
        size_t n = size * nmemb;
        char *p;

        if (c->resp_len + n > RESPONSE_MAX)
                return 0;       /* an answer this large is not a dispatch center's */
        p = realloc(c->resp, c->resp_len + n + 1);
        if (!p)
                return 0;
        memcpy(p + c->resp_len, ptr, n);
        c->resp = p;
        c->resp_len += n;
        c->resp[c->resp_len] = '\0';
        return n;
}

static const char *pick_url(const struct dispatch *d, const struct call *c, unsigned attempts) {
        const struct config *cfg = d->cfg;

        if (c->webhook)
                return c->webhook;
        if (!cfg->dispatch.fallback_url)
                return cfg->dispatch.url;
        return (attempts / cfg->dispatch.fallback_after) % 2 == 0 ? cfg->dispatch.url
                                                                 : cfg->dispatch.fallback_url;
}

static struct curl_slist *build_headers(const struct dispatch *d, const struct call *c) {
        const struct config *cfg = d->cfg;
        struct curl_slist *h = NULL, *t;
        char line[512], sig[65];

        h = curl_slist_append(h, "Content-Type: application/json; charset=utf-8");
        h = h ? curl_slist_append(h, "Expect:") : NULL;        /* never wait for 100-continue */
        snprintf(line, sizeof line, "Idempotency-Key: %s", c->key);
        h = h ? curl_slist_append(h, line) : NULL;
        h = h ? curl_slist_append(h, "User-Agent: anjud/" ANJU_VERSION) : NULL;
        if (c->webhook)
                return h;       /* the center's secrets never go to a chat bot */
        if (h && cfg->dispatch.hmac_key) {
                if (hmac_sha256_hex(cfg->dispatch.hmac_key, cfg->dispatch.hmac_key_len, c->body,
                                    strlen(c->body), sig) < 0)
                        goto fail;
                snprintf(line, sizeof line, "X-Anju-Signature: sha256=%s", sig);
                h = curl_slist_append(h, line);
        }
        if (h && cfg->dispatch.token) {
                char *auth;
                if (asprintf(&auth, "Authorization: Bearer %s", cfg->dispatch.token) < 0)
                        goto fail;
                t = curl_slist_append(h, auth);
                explicit_bzero(auth, strlen(auth));
                free(auth);
                h = t;
        }
        return h;
fail:
        curl_slist_free_all(h);
        return NULL;
}

static int call_start(struct call *c) {
        struct dispatch *d = c->d;
        const struct config *cfg = d->cfg;
        CURL *e;

        c->url = pick_url(d, c, c->attempts);
        c->resp_len = 0;
        curl_slist_free_all(c->headers);
        c->headers = build_headers(d, c);
        e = curl_easy_init();
        if (!c->headers || !e) {
                curl_easy_cleanup(e);
                return -ENOMEM;
        }
        curl_easy_setopt(e, CURLOPT_URL, c->url);
        curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https,http");
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, c->body);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long) strlen(c->body));
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, c->headers);
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(e, CURLOPT_WRITEDATA, c);
        curl_easy_setopt(e, CURLOPT_PRIVATE, c);
        curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long) (cfg->dispatch.timeout / USEC_PER_MSEC));
        curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                         (long) (cfg->dispatch.timeout / USEC_PER_MSEC / 2 + 1));
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, cfg->dispatch.insecure ? 0L : 1L);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, cfg->dispatch.insecure ? 0L : 2L);
        if (cfg->dispatch.ca_file)
                curl_easy_setopt(e, CURLOPT_CAINFO, cfg->dispatch.ca_file);
        if (curl_multi_add_handle(d->multi, e) != CURLM_OK) {
                curl_easy_cleanup(e);
                return -EIO;
        }
        c->easy = e;
        c->started = now_mono();
        d->stats.in_flight++;
        return 0;
}

/* A case id in the answer, string or number, or NULL. Caller frees. */
static char *parse_case_id(const char *resp, size_t len) {
        json_t *root = resp ? json_loadb(resp, len, 0, NULL) : NULL;
        json_t *v = json_object_get(root, "case_id");
        char *r = NULL;

        if (json_is_string(v) && json_string_length(v) > 0 && json_string_length(v) < 128)
                r = strdup(json_string_value(v));
        else if (json_is_integer(v) && asprintf(&r, "%lld", (long long) json_integer_value(v)) < 0)
                r = NULL;
        json_decref(root);
        return r;
}

static int on_retry(sd_event_source *s, uint64_t usec, void *userdata);

static uint64_t backoff(const struct config *cfg, unsigned attempts) {
        uint64_t delay = cfg->dispatch.retry_min, jitter;

        for (unsigned i = 1; i < attempts && delay < cfg->dispatch.retry_max; i++)
                delay *= 2;
        if (delay > cfg->dispatch.retry_max)
                delay = cfg->dispatch.retry_max;
        /* Equal jitter: half fixed, half random, so hubs that lost the link
         * together do not all call back in the same millisecond. */
        if (random_bytes(&jitter, sizeof jitter) < 0)
                jitter = now_mono();
        return delay / 2 + (delay > 1 ? jitter % (delay / 2 + 1) : 0);
}

/* A URL fit for the journal: a webhook's query (the bot's key) cut off. */
static const char *loggable_url(const struct call *c, char *buf, size_t n) {
        size_t l;

        if (!c->webhook || !c->url)
                return c->url ? c->url : "-";
        l = strcspn(c->url, "?#");
        snprintf(buf, n, "%.*s%s", (int) (l < 200 ? l : 200), c->url, c->url[l] ? "?…" : "");
        return buf;
}

static void call_failed(struct call *c, const char *why);

static bool for_center(const struct call *c) {
        return !c->webhook && !c->heartbeat && !c->is_test;
}

/* The oldest call to the center still to be delivered. */
static struct call *oldest_center(struct dispatch *d) {
        struct call *best = NULL;

        for (struct call *c = d->calls; c; c = c->next)
                if (for_center(c) && (!best || c->seq < best->seq))
                        best = c;
        return best;
}

/* A call to the center is in flight or waiting for its retry. */
static bool center_busy(struct dispatch *d) {
        for (struct call *c = d->calls; c; c = c->next)
                if (for_center(c) && !c->queued)
                        return true;
        return false;
}

/* The next call in line goes now (after a delivery). */
static void start_next(struct dispatch *d) {
        struct call *next = NULL;

        for (struct call *c = d->calls; c; c = c->next)
                if (for_center(c) && c->queued && (!next || c->seq < next->seq))
                        next = c;
        if (!next) {
                if (!center_busy(d))
                        d->backlog = false;
                return;
        }
        next->queued = false;
        if (call_start(next) < 0)
                call_failed(next, "cannot start a transfer");
}

static void call_failed(struct call *c, const char *why) {
        struct dispatch *d = c->d;
        uint64_t delay = backoff(d->cfg, c->attempts);
        char when[32], url[256];
        int r;

        if (for_center(c)) {
                d->backlog = true;
                /* Only the oldest retries; the others keep their place behind it. */
                if (oldest_center(d) != c) {
                        d->stats.attempts_failed++;
                        if (c->id > 0 && d->store)
                                (void) store_outbox_failed(d->store, c->id, c->attempts, why);
                        c->queued = true;
                        log_warning("dispatch: call for incident %s failed (attempt %u): %s; waiting behind "
                                    "an older call", c->incident ? c->incident : "-", c->attempts, why);
                        return;
                }
        }

        d->stats.attempts_failed++;
        if (c->id > 0 && d->store)
                (void) store_outbox_failed(d->store, c->id, c->attempts, why);
        log_warning("dispatch: %s for incident %s to %s failed (attempt %u): %s; retrying in %s",
                    c->webhook ? "webhook notice" : "call", c->incident ? c->incident : "-",
                    loggable_url(c, url, sizeof url), c->attempts, why,
                    format_duration(when, sizeof when, delay));
        /* Backoff runs on the daemon's clock (a scaled test spans a day of outage). */
        r = sd_event_add_time_relative(d->event, &c->retry, CLOCK_MONOTONIC, clock_real_duration(delay),
                                       clock_real_duration(10 * USEC_PER_MSEC), on_retry, c);
        if (r < 0) {
                /* Without a timer we cannot wait: try again at once rather than drop it. */
                log_error_errno(r, "dispatch: cannot schedule a retry: %m; retrying now");
                if (call_start(c) < 0)
                        log_error("dispatch: call for incident %s stays in the outbox until restart",
                                  c->incident ? c->incident : "-");
        }
}

static void call_delivered(struct call *c, long status, const char *case_id) {
        struct dispatch *d = c->d;
        uint64_t took = now_mono() - c->started;
        char url[256];

        if (c->id > 0 && d->store &&
            store_outbox_delivered(d->store, c->id, c->incident, loggable_url(c, url, sizeof url), case_id, c->attempts,
                                   clock_wall()) < 0)
                log_error("dispatch: delivered call %s could not be marked in the database; "
                          "it may be sent again after a restart (same Idempotency-Key)", c->key);
        d->stats.delivered++;
        if (c->webhook)
                log_notice("dispatch: notice for incident %s delivered to webhook %s: HTTP %ld (attempt %u)",
                           c->incident ? c->incident : "-", url, status, c->attempts);
        else
                log_notice("dispatch: emergency call for incident %s delivered to %s: HTTP %ld, case %s "
                           "(attempt %u, %llu.%03llu ms)", c->incident ? c->incident : "-", c->url, status,
                           case_id, c->attempts, (unsigned long long) (took / 1000),
                           (unsigned long long) (took % 1000));
        if (d->on_delivered && c->incident && !c->webhook)
                d->on_delivered(c->incident, case_id, d->on_delivered_ud);
        {
                bool center = for_center(c);
                call_unlink(c);
                call_free(c);
                if (center && d->backlog)
                        start_next(d);
        }
}

void dispatch_set_delivered_cb(struct dispatch *d, dispatch_delivered_fn fn, void *userdata) {
        d->on_delivered = fn;
        d->on_delivered_ud = userdata;
}

/* A heartbeat answered (any 2xx) or not; three failures in a row mark the
 * link down, the next success up again; both are reported to the hub. */
static void heartbeat_finished(struct call *c, bool ok, const char *why) {
        struct dispatch *d = c->d;

        d->hb = NULL;
        if (ok) {
                d->stats.heartbeats++;
                if (d->link_down) {
                        struct call *head = oldest_center(d);
                        d->link_down = false;
                        log_notice("dispatch: the link to the center is back (%s)", c->url);
                        /* The backlog need not wait for its backoff: go now. */
                        if (head && head->retry)
                                (void) sd_event_source_set_time_relative(head->retry, 0);
                        if (d->on_link)
                                d->on_link(true, d->hb_failures, d->hb_ud);
                }
                d->hb_failures = 0;
        } else {
                d->stats.heartbeats_failed++;
                d->hb_failures++;
                log_warning("dispatch: heartbeat to %s failed (%u in a row): %s", c->url, d->hb_failures, why);
                if (d->hb_failures >= 3 && !d->link_down) {
                        d->link_down = true;
                        if (d->on_link)
                                d->on_link(false, d->hb_failures, d->hb_ud);
                }
        }
        call_free(c);
}

static void call_finished(struct call *c, CURLcode rc) {
        struct dispatch *d = c->d;
        long status = 0;
        char why[CURL_ERROR_SIZE + 64];
        char *case_id = NULL;

        curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &status);
        curl_multi_remove_handle(d->multi, c->easy);
        curl_easy_cleanup(c->easy);
        c->easy = NULL;
        d->stats.in_flight--;
        c->attempts++;
        if (rc != CURLE_OK)
                snprintf(why, sizeof why, "%s", curl_easy_strerror(rc));
        else if (status < 200 || status > 299)
                snprintf(why, sizeof why, "HTTP %ld", status);
        else if (c->heartbeat)
                why[0] = '\0';
        else if (!(case_id = parse_case_id(c->resp, c->resp_len)))
                snprintf(why, sizeof why, "HTTP %ld without a case id", status);
        if (c->heartbeat) {
                heartbeat_finished(c, rc == CURLE_OK && status >= 200 && status <= 299, why);
                return;
        }
        if (c->is_test) {
                if (c->test_cb)
                        c->test_cb(case_id != NULL, status, case_id, case_id ? "" : why, c->test_ud);
                free(case_id);
                call_unlink(c);
                call_free(c);
                return;
        }
        if (c->webhook && rc == CURLE_OK && status >= 200 && status <= 299) {
                /* WeCom and DingTalk bots answer 200 with {"errcode": N}. */
                json_t *j = json_loadb(c->resp ? c->resp : "", c->resp_len, 0, NULL);
                json_t *e = json_object_get(j, "errcode");
                if (json_is_integer(e) && json_integer_value(e) != 0) {
                        snprintf(why, sizeof why, "HTTP %ld, errcode %lld", status,
                                 (long long) json_integer_value(e));
                        json_decref(j);
                        free(case_id);
                        call_failed(c, why);
                        return;
                }
                json_decref(j);
                free(case_id);
                call_delivered(c, status, NULL);
                return;
        }
        if (case_id) {
                call_delivered(c, status, case_id);
                free(case_id);
                return;
        }
        call_failed(c, why);
}

static void check_done(struct dispatch *d) {
        CURLMsg *msg;
        int left;

        /* Every finished transfer, not just the first. */
        while ((msg = curl_multi_info_read(d->multi, &left))) {
                struct call *c = NULL;

                if (msg->msg != CURLMSG_DONE)
                        continue;
                curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **) &c);
                if (c)
                        call_finished(c, msg->data.result);
        }
}

static int on_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        struct call *c = userdata;

        c->retry = sd_event_source_disable_unref(c->retry);
        if (call_start(c) < 0)
                call_failed(c, "cannot start a transfer");
        return 0;
}

static int on_heartbeat(sd_event_source *s, uint64_t usec, void *userdata) {
        struct dispatch *d = userdata;
        struct call *c;
        char key[37];

        (void) sd_event_source_set_time_relative(s, clock_real_duration(d->cfg->dispatch.heartbeat_interval));
        if (d->hb || !d->health)
                return 0;       /* the last one is still out: it times out by itself */
        c = calloc(1, sizeof *c);
        if (!c || uuid_random(key) < 0 || !(c->key = strdup(key)) || !(c->body = d->health(d->hb_ud))) {
                if (c)
                        free(c->key), free(c->body);
                free(c);
                return 0;
        }
        c->d = d;
        c->heartbeat = true;
        c->attempts = d->hb_failures;   /* alternates to fallback_url as calls do */
        d->hb = c;
        if (call_start(c) < 0)
                heartbeat_finished(c, false, "cannot start a transfer");
        return 0;
}

int dispatch_start_heartbeat(struct dispatch *d, dispatch_health_fn health, dispatch_link_fn on_link,
                             void *userdata) {
        int r;

        d->health = health;
        d->on_link = on_link;
        d->hb_ud = userdata;
        if (d->cfg->dispatch.heartbeat_interval == 0)
                return 0;
        r = sd_event_add_time_relative(d->event, &d->hb_timer, CLOCK_MONOTONIC,
                                       clock_real_duration(d->cfg->dispatch.heartbeat_interval),
                                       clock_real_duration(USEC_PER_SEC), on_heartbeat, d);
        if (r < 0)
                return r;
        return sd_event_source_set_enabled(d->hb_timer, SD_EVENT_ON);
}

int dispatch_drop_webhooks(struct dispatch *d, const char *incident) {
        int n = 0;

        for (struct call *c = d->calls, *next; c; c = next) {
                next = c->next;
                if (!c->webhook || !c->incident || strcmp(c->incident, incident) != 0)
                        continue;
                if (c->id > 0 && d->store)
                        (void) store_outbox_drop(d->store, c->id);
                if (c->easy)
                        d->stats.in_flight--;
                call_unlink(c);
                call_free(c);
                n++;
        }
        if (n > 0)
                log_info("dispatch: %d undelivered webhook notice(s) for closed incident %s dropped", n, incident);
        return n;
}

int dispatch_test_call(struct dispatch *d, const char *body, dispatch_test_fn cb, void *userdata) {
        struct call *c = calloc(1, sizeof *c);
        char key[37];

        if (!c || uuid_random(key) < 0 || !(c->key = strdup(key)) || !(c->body = strdup(body))) {
                if (c)
                        free(c->key), free(c->body);
                free(c);
                return -ENOMEM;
        }
        c->d = d;
        c->is_test = true;
        c->test_cb = cb;
        c->test_ud = userdata;
        c->next = d->calls;
        if (d->calls)
                d->calls->prev = c;
        d->calls = c;
        d->n_calls++;
        if (call_start(c) < 0) {
                call_unlink(c);
                call_free(c);
                return -EIO;
        }
        return 0;
}

void dispatch_forget_test(struct dispatch *d, void *userdata) {
        for (struct call *c = d->calls; c; c = c->next)
                if (c->is_test && c->test_ud == userdata)
                        c->test_cb = NULL, c->test_ud = NULL;
}

bool dispatch_link_up(const struct dispatch *d) {
        return !d->link_down;
}

/* --- public --- */

int dispatch_submit(struct dispatch *d, int64_t outbox_id, const char *key, const char *incident,
                    const char *body, unsigned attempts_so_far, const char *webhook) {
        struct call *c = calloc(1, sizeof *c);
        int r;

        if (!c)
                return -ENOMEM;
        c->d = d;
        c->id = outbox_id;
        c->attempts = attempts_so_far;
        c->key = strdup(key);
        c->incident = incident ? strdup(incident) : NULL;
        c->body = strdup(body);
        c->webhook = webhook ? strdup(webhook) : NULL;
        if (!c->key || !c->body || (incident && !c->incident) || (webhook && !c->webhook)) {
                call_free(c);
                return -ENOMEM;
        }
        /* Behind older calls to the center if they are stuck: the order of raising holds. */
        c->queued = for_center(c) && d->backlog && center_busy(d);
        c->next = d->calls;
        if (d->calls)
                d->calls->prev = c;
        d->calls = c;
        d->n_calls++;
        d->stats.submitted++;
        c->submitted = now_mono();
        c->seq = ++d->next_seq;
        if (c->queued)
                return 0;
        r = call_start(c);
        if (r < 0)
                call_failed(c, "cannot start a transfer");
        return 0;
}

static int replay_one(const struct store_outbox_row *row, void *ud) {
        struct dispatch *d = ud;

        log_notice("dispatch: replaying undelivered call for incident %s from the outbox "
                   "(%u earlier attempts)", row->incident ? row->incident : "-", row->attempts);
        return dispatch_submit(d, row->id, row->key, row->incident, row->body, row->attempts, row->url);
}

int dispatch_replay(struct dispatch *d) {
        uint64_t before = d->stats.submitted;
        int r;

        if (!d->store)
                return 0;
        /* Replayed one by one, oldest first: the center gets them in order. */
        d->backlog = true;
        r = store_outbox_load(d->store, replay_one, d);
        if (!center_busy(d))
                d->backlog = false;
        return r < 0 ? r : (int) (d->stats.submitted - before);
}

int dispatch_new(sd_event *e, const struct config *cfg, struct store *store,
                 struct dispatch **ret) {
        struct dispatch *d;
        int r;

        d = calloc(1, sizeof *d);
        if (!d)
                return -ENOMEM;
        d->event = sd_event_ref(e);
        d->cfg = cfg;
        d->store = store;
        d->multi = curl_multi_init();
        if (!d->multi) {
                r = -ENOMEM;
                goto err;
        }
        /* Accuracy 1 µs: 0 would mean sd-event's default of 250 ms, and curl's
         * "start now" timeouts would wait that long before every call. */
        r = sd_event_add_time(e, &d->timer, CLOCK_MONOTONIC, UINT64_MAX, 1, on_curl_timer, d);
        if (r < 0)
                goto err;
        (void) sd_event_source_set_enabled(d->timer, SD_EVENT_OFF);
        (void) sd_event_source_set_description(d->timer, "curl-timer");
        curl_multi_setopt(d->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
        curl_multi_setopt(d->multi, CURLMOPT_SOCKETDATA, d);
        curl_multi_setopt(d->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer_set);
        curl_multi_setopt(d->multi, CURLMOPT_TIMERDATA, d);
        if (cfg->dispatch.insecure)
                log_warning("dispatch: TLS verification is OFF ([dispatch] insecure = true): "
                            "emergency calls can be intercepted");
        *ret = d;
        return 0;
err:
        dispatch_free(d);
        return r;
}

void dispatch_free(struct dispatch *d) {
        if (!d)
                return;
        while (d->calls) {
                struct call *c = d->calls;
                call_unlink(c);
                call_free(c);
        }
        if (d->hb)
                call_free(d->hb);
        sd_event_source_disable_unref(d->hb_timer);
        if (d->multi)
                curl_multi_cleanup(d->multi);
        sd_event_source_disable_unref(d->timer);
        sd_event_unref(d->event);
        free(d);
}

size_t dispatch_pending(const struct dispatch *d) {
        return d->n_calls;
}

const struct dispatch_stats *dispatch_get_stats(const struct dispatch *d) {
        return &d->stats;
}
