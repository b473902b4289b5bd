/* The durable outbox (see outbox.h). */
#include "outbox.h"
#include "center.h"
#include "clock.h"
#include "config.h"
#include "dc09link.h"
#include "https.h"
#include "log.h"
#include "store.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A Retry-After longer than this is not honoured in full: an alarm waits
 * at most an hour for a center that asks for patience. */
#define RETRY_AFTER_MAX USEC_PER_HOUR
/* 2xx answers without a case id in a row after which the center's answers
 * are a problem for maintenance. */
#define UNUSABLE_ANSWERS 3

struct call {
        struct outbox *ob;
        struct call *prev, *next;
        int64_t id;                     /* outbox row, 0 if in memory only */
        enum call_kind kind;
        char *key, *incident, *body, *url;
        unsigned attempts;
        unsigned unusable;              /* 2xx answers without a case id */
        uint64_t seq;                   /* order of raising */
        bool staged;                    /* added, its transaction not yet ended */
        bool queued;                    /* waits behind an older call of its incident */
        bool refused;                   /* the center refused it: reported */
        struct https_req *req;          /* the attempt in flight */
        struct dc09link_req *dreq;      /* CALL_DC09: the report in flight */
        sd_event_source *retry;
        const char *attempt_url;
        /* a test call */
        bool test;
        outbox_test_fn test_done;
        void *test_ud;
};

struct outbox {
        sd_event *event;
        const struct config *cfg;
        struct store *store;
        struct https *https;
        struct call *calls;             /* newest first */
        size_t n_calls;
        uint64_t next_seq;
        bool staging;
        outbox_taken_fn taken;
        outbox_problem_fn problem;
        void *userdata;
        bool center_refusing;           /* reported to the hub */
        struct dc09link *dc09;          /* borrowed */
        struct outbox_stats stats;
};

static const char *const kind_names[_CALL_KIND_MAX] = { [CALL_ALARM] = "alarm", [CALL_WEBHOOK] = "webhook",
                                                        [CALL_DC09] = "dc09" };

const char *call_kind_to_string(enum call_kind k) {
        return k >= 0 && k < _CALL_KIND_MAX ? kind_names[k] : NULL;
}

enum call_kind call_kind_from_string(const char *s) {
        for (int i = 0; s && i < _CALL_KIND_MAX; i++)
                if (strcmp(s, kind_names[i]) == 0)
                        return (enum call_kind) i;
        return _CALL_KIND_INVALID;
}

static const char *dest_of(enum call_kind k) {
        return k == CALL_WEBHOOK ? "webhook" : "dispatch";
}

static void call_free(struct call *c) {
        if (!c)
                return;
        https_cancel(c->req);
        dc09link_cancel(c->dreq);
        sd_event_source_disable_unref(c->retry);
        free(c->key), free(c->incident), free(c->body), free(c->url);
        free(c);
}

static void call_unlink(struct call *c) {
        struct outbox *ob = c->ob;

        if (c->prev)
                c->prev->next = c->next;
        else
                ob->calls = c->next;
        if (c->next)
                c->next->prev = c->prev;
        ob->n_calls--;
}

static void call_link(struct outbox *ob, struct call *c) {
        c->next = ob->calls;
        if (ob->calls)
                ob->calls->prev = c;
        ob->calls = c;
        ob->n_calls++;
}

static struct call *call_new(struct outbox *ob, enum call_kind kind, const char *key, const char *incident,
                             const char *body, const char *url) {
        struct call *c = calloc(1, sizeof *c);

        if (!c)
                return NULL;
        c->ob = ob;
        c->kind = kind;
        c->key = strdup(key);
        c->body = strdup(body);
        c->incident = incident ? strdup(incident) : NULL;
        c->url = url ? strdup(url) : NULL;
        if (!c->key || !c->body || (incident && !c->incident) || (url && !c->url)) {
                call_free(c);
                return NULL;
        }
        c->seq = ++ob->next_seq;
        return c;
}

/* Calls of one incident to one destination keep their order. */
static bool same_line(const struct call *a, const struct call *b) {
        return !a->test && !b->test && a->kind == b->kind && a->incident && b->incident &&
               strcmp(a->incident, b->incident) == 0 &&
               (a->kind == CALL_ALARM || (a->url && b->url && strcmp(a->url, b->url) == 0));
}

static bool older_pending(const struct outbox *ob, const struct call *c) {
        for (const struct call *o = ob->calls; o; o = o->next)
                if (o != c && o->seq < c->seq && same_line(o, c))
                        return true;
        return false;
}

/* A URL fit for the journal: a webhook's query (the bot's key) cut off. */
static const char *loggable_url(const char *url, char *buf, size_t n) {
        size_t l;

        if (!url)
                return "-";
        l = strcspn(url, "?#");
        snprintf(buf, n, "%.*s%s", (int) (l < 200 ? l : 200), url, url[l] ? "?…" : "");
        return buf;
}

/* --- attempts ------------------------------------------------------------- */

static void on_answer(const struct https_result *r, void *userdata);
static void delivered(struct call *c, long status, const char *case_id, uint64_t took);
static void failed(struct call *c, enum center_verdict v, long status, uint64_t retry_after, const char *why);

/* The receiver's answer: an ACK is "the center took charge", as a case id. */
static void on_dc09_answer(const struct dc09link_result *r, void *userdata) {
        struct call *c = userdata;

        c->dreq = NULL;
        c->attempts++;
        if (r->delivered)
                delivered(c, 0, r->answer, 0);
        else
                failed(c, CENTER_RETRY, 0, 0, r->why);
}

/* A DC-09 report: its body says the event, its url the receiver's name. */
static void attempt_dc09(struct call *c) {
        struct outbox *ob = c->ob;
        int i = c->url ? config_find_receiver(ob->cfg, c->url) : -1;
        struct dc09_event ev;
        char name[32], why[200];
        int r;

        c->attempt_url = c->url;
        if (i < 0)
                snprintf(why, sizeof why, "there is no [receiver %s] in the configuration (now)", c->url);
        else if (dc09link_body_parse(c->body, name, sizeof name, &ev) < 0)
                snprintf(why, sizeof why, "the report \"%.60s\" cannot be read", c->body);
        else if (!ob->dc09)
                snprintf(why, sizeof why, "no DC-09 transport");
        else if ((r = dc09link_send(ob->dc09, (unsigned) i, &ev, on_dc09_answer, c, &c->dreq)) < 0)
                snprintf(why, sizeof why, "cannot send: %s", strerror(-r));
        else
                return;
        /* Kept and retried slowly: a report is never dropped. */
        c->dreq = NULL;
        c->attempts++;
        failed(c, CENTER_RETRY, 0, 0, why);
}

static void attempt(struct call *c) {
        const struct config *cfg = c->ob->cfg;
        bool webhook = c->kind == CALL_WEBHOOK;
        char *headers[CENTER_HEADERS_MAX + 1];
        struct https_post p = {
                .body = c->body, .timeout = cfg->dispatch.timeout,
                .ca_file = webhook ? NULL : cfg->dispatch.ca_file, .insecure = !webhook && cfg->dispatch.insecure,
        };
        int r;

        if (c->kind == CALL_DC09) {
                attempt_dc09(c);
                return;
        }
        c->attempt_url = webhook ? c->url : c->test ? cfg->dispatch.url : center_url(cfg, c->attempts);
        p.url = c->attempt_url;
        r = center_headers(cfg, c->key, c->body, webhook, headers);
        if (r == 0) {
                p.headers = (const char *const *) headers;
                r = https_start(c->ob->https, &p, on_answer, c, &c->req);
                center_headers_free(headers);
        }
        if (r < 0) {
                /* Out of memory now: the answer callback will not come, so
                 * the retry timer must. */
                struct https_result res = { .ok = false };
                snprintf(res.why, sizeof res.why, "cannot start a transfer: %s", strerror(-r));
                c->req = NULL;
                on_answer(&res, c);
        }
}

static int on_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        struct call *c = userdata;

        c->retry = sd_event_source_disable_unref(c->retry);
        attempt(c);
        return 0;
}

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

static void start_next(struct outbox *ob, const struct call *done);

static bool any_refused(const struct outbox *ob) {
        for (const struct call *c = ob->calls; c; c = c->next)
                if (c->refused)
                        return true;
        return false;
}

static void delivered(struct call *c, long status, const char *case_id, uint64_t took) {
        struct outbox *ob = c->ob;
        char url[256];

        if (c->id > 0 && ob->store &&
            store_outbox_delivered(ob->store, c->id, c->incident, loggable_url(c->attempt_url, url, sizeof url),
                                   c->kind != CALL_WEBHOOK ? case_id : NULL, c->kind == CALL_DC09 ? c->url : NULL,
                                   c->attempts, clock_wall()) < 0)
                log_error("outbox: delivered call %s could not be marked in the database; it may be sent again "
                          "after a restart (same Idempotency-Key)", c->key);
        ob->stats.delivered++;
        if (c->kind == CALL_WEBHOOK)
                log_notice("dispatch: notice for incident %s delivered to webhook %s: HTTP %ld (attempt %u)",
                           c->incident ? c->incident : "-", loggable_url(c->attempt_url, url, sizeof url), status,
                           c->attempts);
        else if (c->kind == CALL_ALARM)
                log_notice("dispatch: emergency call for incident %s delivered to %s: HTTP %ld, case %s "
                           "(attempt %u, %llu.%03llu ms)", c->incident ? c->incident : "-", c->attempt_url, status,
                           case_id, c->attempts, (unsigned long long) (took / 1000),
                           (unsigned long long) (took % 1000));
        else
                log_notice("dc09: report %s for incident %s delivered: %s (attempt %u)", c->body,
                           c->incident ? c->incident : "-", case_id, c->attempts);
        call_unlink(c);
        /* Accepted again only when no call is still refused. */
        if (c->kind == CALL_ALARM && ob->center_refusing && !any_refused(ob)) {
                ob->center_refusing = false;
                if (ob->problem)
                        ob->problem(false, status, ob->userdata);
        }
        if (c->kind != CALL_WEBHOOK && c->incident && ob->taken)
                ob->taken(c->incident, case_id, c->kind == CALL_DC09 ? c->url : NULL, ob->userdata);
        start_next(ob, c);
        call_free(c);
}

static void failed(struct call *c, enum center_verdict v, long status, uint64_t retry_after, const char *why) {
        struct outbox *ob = c->ob;
        uint64_t delay = backoff(ob->cfg, c->attempts);
        char when[32], url[256];
        int r;

        ob->stats.attempts_failed++;
        if (c->id > 0 && ob->store)
                (void) store_outbox_failed(ob->store, c->id, c->attempts, why);
        if (v == CENTER_DELIVERED)      /* a 2xx without a case id */
                v = CENTER_RETRY;
        if (status < 200 || status > 299)
                c->unusable = 0;        /* "in a row": another answer breaks the row */
        else if (c->kind == CALL_ALARM && ++c->unusable >= UNUSABLE_ANSWERS)
                v = CENTER_REFUSED;
        if (v == CENTER_REFUSED) {
                /* Retrying at once will not help: slowly, and someone must look. */
                delay = ob->cfg->dispatch.retry_max;
                ob->stats.refused++;
                if (c->kind == CALL_ALARM && (!c->refused || !ob->center_refusing)) {
                        c->refused = true;
                        log_error("dispatch: the center refuses the call for incident %s (%s); it is retried every "
                                  "%s, and maintenance is told", c->incident ? c->incident : "-", why,
                                  format_duration(when, sizeof when, delay));
                        if (!ob->center_refusing) {
                                ob->center_refusing = true;
                                if (ob->problem)
                                        ob->problem(true, status, ob->userdata);
                        }
                }
        }
        /* Backoff runs on the daemon's clock (a scaled test spans a day of
         * outage); the center's Retry-After is the center's real seconds. */
        delay = clock_real_duration(delay);
        if (retry_after > delay)
                delay = retry_after < RETRY_AFTER_MAX ? retry_after : RETRY_AFTER_MAX;
        log_warning("dispatch: %s for incident %s to %s failed (attempt %u): %s; retrying in %s%s",
                    c->kind == CALL_WEBHOOK ? "webhook notice" : c->kind == CALL_DC09 ? "DC-09 report" : "call", c->incident ? c->incident : "-",
                    loggable_url(c->attempt_url, url, sizeof url), c->attempts, why,
                    format_duration(when, sizeof when, delay), clock_scale() != 1.0 ? " (real time)" : "");
        r = sd_event_add_time_relative(ob->event, &c->retry, CLOCK_MONOTONIC, delay,
                                       clock_real_duration(10 * USEC_PER_MSEC), on_retry, c);
        if (r < 0) {
                /* Without a timer we cannot wait: try again at once rather than drop it. */
                log_error_errno(r, "dispatch: cannot schedule a retry: %m; retrying now");
                attempt(c);
        }
}

static void on_answer(const struct https_result *r, void *userdata) {
        struct call *c = userdata;
        struct outbox *ob = c->ob;
        char case_id[CENTER_CASE_ID_MAX], why[400];
        enum center_verdict v;

        c->req = NULL;
        c->attempts++;
        v = center_answer(r, c->kind == CALL_WEBHOOK, case_id, why, sizeof why);
        if (c->test) {
                if (c->test_done)
                        c->test_done(v == CENTER_DELIVERED, r->status, case_id[0] ? case_id : NULL,
                                     v == CENTER_DELIVERED ? "" : why, c->test_ud);
                call_unlink(c);
                call_free(c);
                return;
        }
        if (v == CENTER_DELIVERED) {
                delivered(c, r->status, case_id, r->took);
                return;
        }
        (void) ob;
        failed(c, v, r->status, r->retry_after, why);
}

/* The calls that waited behind done go, oldest first. */
static void start_next(struct outbox *ob, const struct call *done) {
        struct call *next = NULL;

        for (struct call *c = ob->calls; c; c = c->next)
                if (c->queued && same_line(c, done) && (!next || c->seq < next->seq))
                        next = c;
        if (next && !older_pending(ob, next)) {
                next->queued = false;
                attempt(next);
        }
}

/* Sends a call now, or queues it behind an older one of its incident. */
static void send_or_queue(struct outbox *ob, struct call *c) {
        if (older_pending(ob, c)) {
                c->queued = true;
                return;
        }
        attempt(c);
}

/* --- adding calls ------------------------------------------------------------ */

int outbox_add(struct outbox *ob, enum call_kind kind, const char *incident, const char *body, const char *url,
               uint64_t wall) {
        struct store_outbox_row row = {
                .kind = call_kind_to_string(kind), .dest = dest_of(kind), .incident = incident, .body = body,
                .url = kind == CALL_DC09 ? NULL : url, .created_at = wall,
        };
        char key[37], dest[160];
        struct call *c;
        int r;

        if ((r = uuid_random(key)) < 0)
                return r;
        if (kind == CALL_DC09 && !url)
                return -EINVAL;
        c = call_new(ob, kind, key, incident, body, url);
        if (!c)
                return -ENOMEM;
        row.key = key;
        if (kind == CALL_DC09) {
                if (!url)
                        return -EINVAL;
                snprintf(dest, sizeof dest, "receiver:%s", url);
                row.dest = dest;
        }
        /* Only inside the caller's transaction: a row written by itself
         * after that failed would be replayed after a restart although the
         * call went out from memory. */
        if (store_in_transaction(ob->store)) {
                r = store_outbox_insert(ob->store, &row, &c->id);
                if (r < 0)
                        c->id = 0;      /* the transaction will not commit: from memory */
        }
        c->staged = true;
        call_link(ob, c);
        ob->stats.submitted++;
        return 0;
}

void outbox_commit(struct outbox *ob, bool stored) {
        struct call *batch[64] = { NULL };      /* (cppcheck takes the unread tail for uninitialised) */
        size_t n;

        /* In the order they were added (the list is newest first). */
        do {
                n = 0;
                for (struct call *c = ob->calls; c && n < ELEMENTSOF(batch); c = c->next)
                        if (c->staged)
                                batch[n++] = c;
                for (size_t i = n; i-- > 0;) {
                        struct call *c = batch[i];
                        c->staged = false;
                        if (!stored)
                                c->id = 0;
                        send_or_queue(ob, c);
                }
        } while (n == ELEMENTSOF(batch));
}

void outbox_abort(struct outbox *ob) {
        for (struct call *c = ob->calls, *next; c; c = next) {
                next = c->next;
                if (!c->staged)
                        continue;
                call_unlink(c);
                call_free(c);
                ob->stats.submitted--;
        }
}

static int replay_one(const struct store_outbox_row *row, void *ud) {
        struct outbox *ob = ud;
        enum call_kind kind = call_kind_from_string(row->kind);
        struct call *c;

        if (kind < 0) {
                log_warning("outbox: call %s of unknown kind \"%s\" left in the database", row->key, row->kind);
                return 0;
        }
        log_notice("dispatch: replaying undelivered call for incident %s from the outbox (%u earlier attempts)",
                   row->incident ? row->incident : "-", row->attempts);
        /* A DC-09 report's receiver is in its dest ("receiver:NAME"). */
        c = call_new(ob, kind, row->key, row->incident, row->body,
                     kind == CALL_DC09 && row->dest && strncmp(row->dest, "receiver:", 9) == 0 ? row->dest + 9
                     : row->url);
        if (!c)
                return -ENOMEM;
        c->id = row->id;
        c->attempts = row->attempts;
        call_link(ob, c);
        ob->stats.submitted++;
        return 0;
}

int outbox_replay(struct outbox *ob) {
        uint64_t before = ob->stats.submitted;
        int r;

        if (!ob->store)
                return 0;
        r = store_outbox_foreach(ob->store, replay_one, ob);
        /* All loaded first, so each incident's calls keep their order. */
        for (struct call *c = ob->calls; c; c = c->next)
                c->staged = true;
        outbox_commit(ob, true);
        return r < 0 ? r : (int) (ob->stats.submitted - before);
}

int outbox_drop_notices(struct outbox *ob, const char *incident) {
        int n = 0;

        for (struct call *c = ob->calls, *next; c; c = next) {
                next = c->next;
                if (c->kind != CALL_WEBHOOK || !c->incident || strcmp(c->incident, incident) != 0)
                        continue;
                if (c->id > 0 && ob->store)
                        (void) store_outbox_drop(ob->store, c->id);
                call_unlink(c);
                call_free(c);
                n++;
        }
        if (n > 0)
                log_info("dispatch: %d undelivered webhook notice(s) for closed incident %s dropped", n, incident);
        return n;
}

void outbox_link_restored(struct outbox *ob) {
        for (struct call *c = ob->calls; c; c = c->next)
                if (c->retry && c->kind == CALL_ALARM && !c->refused)
                        (void) sd_event_source_set_time_relative(c->retry, 0);
}

void outbox_receiver_restored(struct outbox *ob, const char *name) {
        for (struct call *c = ob->calls; c; c = c->next)
                if (c->retry && c->kind == CALL_DC09 && c->url && strcmp(c->url, name) == 0)
                        (void) sd_event_source_set_time_relative(c->retry, 0);
}

void outbox_set_callbacks(struct outbox *ob, outbox_taken_fn taken, outbox_problem_fn problem, void *userdata) {
        ob->taken = taken;
        ob->problem = problem;
        ob->userdata = userdata;
}

int outbox_test_call(struct outbox *ob, const char *body, outbox_test_fn done, void *userdata) {
        char key[37];
        struct call *c;
        int r;

        if ((r = uuid_random(key)) < 0)
                return r;
        c = call_new(ob, CALL_ALARM, key, NULL, body, NULL);
        if (!c)
                return -ENOMEM;
        c->test = true;
        c->test_done = done;
        c->test_ud = userdata;
        call_link(ob, c);
        attempt(c);
        return 0;
}

void outbox_forget_test(struct outbox *ob, void *userdata) {
        for (struct call *c = ob->calls; c; c = c->next)
                if (c->test && c->test_ud == userdata)
                        c->test_done = NULL, c->test_ud = NULL;
}

void outbox_set_dc09(struct outbox *ob, struct dc09link *link) {
        ob->dc09 = link;
}

size_t outbox_pending(const struct outbox *ob) {
        size_t n = 0;

        for (const struct call *c = ob->calls; c; c = c->next)
                n += !c->test;
        return n;
}

const struct outbox_stats *outbox_get_stats(const struct outbox *ob) {
        return &ob->stats;
}

int outbox_new(sd_event *e, const struct config *cfg, struct store *store, struct https *https, struct outbox **ret) {
        struct outbox *ob = calloc(1, sizeof *ob);

        if (!ob)
                return -ENOMEM;
        ob->event = sd_event_ref(e);
        ob->cfg = cfg;
        ob->store = store;
        ob->https = https;
        if (cfg->dispatch.insecure)
                log_warning("dispatch: TLS verification is OFF ([dispatch] insecure = true): emergency calls can "
                            "be intercepted");
        *ret = ob;
        return 0;
}

void outbox_free(struct outbox *ob) {
        if (!ob)
                return;
        while (ob->calls) {
                struct call *c = ob->calls;
                call_unlink(c);
                call_free(c);
        }
        sd_event_unref(ob->event);
        free(ob);
}
