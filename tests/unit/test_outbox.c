/* The durable outbox (issue 12) against a real HTTP/1.1 server on
 * 127.0.0.1, in this process, on the same sd-event loop as the outbox: a
 * small responder that answers each request as the test scripts it
 * (status, headers, body, or no answer yet) and records what arrived and
 * when. The store is a real database in a temporary directory. Every wait
 * is the event loop run until something is seen, with a deadline; no test
 * sleeps. What is covered: delivery with the case id (callback, delivery
 * record, timeline row), case ids cleaned, retries with backoff,
 * Retry-After, a refusing center reported once and cleared, answers
 * without a case id, no head-of-line blocking between incidents, the order
 * of one incident's calls, abort, replay after a restart, dropped notices,
 * the link coming back, an oversized answer, the fallback URL. */
#include "unit.h"
#include "clock.h"
#include "https.h"
#include "outbox.h"
#include "store.h"
#include "util.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <netinet/in.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <systemd/sd-event.h>
#include <unistd.h>

#define MS(x) ((uint64_t) (x) * USEC_PER_MSEC)

/* --- the responder -------------------------------------------------------- */

struct request {
        char path[64];
        char key[64];                   /* Idempotency-Key */
        char id[64];                    /* the body's "id" (a call) or "incident" (a notice) */
        char call[16];                  /* "alarm" / "update" */
        long long sequence;
        uint64_t at;                    /* when it had fully arrived (real monotonic) */
        uint64_t answered;              /* when its answer was written, 0 while held */
};

struct reply {
        int status;                     /* 0: hold the answer (release_held()) */
        const char *body;
        const char *headers;            /* extra header lines, each ending in \r\n */
};

typedef struct reply (*script_fn)(const struct request *r, size_t i);

struct conn {
        int fd;
        sd_event_source *src;
        char in[16384];
        size_t in_len;
        char *out;
        size_t out_len, out_off;
        long req;                       /* its request's index, -1 before one arrived */
        bool held;
};

static sd_event *loop;
static int listen_fd = -1;
static sd_event_source *listen_src;
static unsigned port;
static struct request reqs[256];
static size_t n_reqs;
static script_fn script;
static struct conn *conns[64];

static struct reply ok_case(const char *case_id) {
        static char body[128];

        snprintf(body, sizeof body, "{\"case_id\":\"%s\"}", case_id);
        return (struct reply) { 200, body, NULL };
}

static void conn_close(struct conn *c) {
        for (size_t i = 0; i < ELEMENTSOF(conns); i++)
                if (conns[i] == c)
                        conns[i] = NULL;
        sd_event_source_disable_unref(c->src);
        close(c->fd);
        free(c->out);
        free(c);
}

static int on_conn(sd_event_source *s, int fd, uint32_t revents, void *userdata);

static void conn_flush(struct conn *c) {
        while (c->out_off < c->out_len) {
                ssize_t n = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);
                if (n < 0 && errno == EAGAIN) {
                        ck_assert_int_ge(sd_event_source_set_io_events(c->src, EPOLLOUT), 0);
                        return;
                }
                if (n <= 0) {
                        conn_close(c);
                        return;
                }
                c->out_off += (size_t) n;
        }
        conn_close(c);          /* Connection: close */
}

static void conn_answer(struct conn *c, struct reply r) {
        const char *reason = r.status == 200 ? "OK" : r.status == 429 ? "Too Many Requests" : "Whatever";
        const char *body = r.body ? r.body : "";
        size_t bl = strlen(body);
        int n;

        c->held = false;
        reqs[c->req].answered = now_mono();
        c->out = malloc(bl + 512);
        ck_assert_ptr_nonnull(c->out);
        n = snprintf(c->out, 512, "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n%s\r\n", r.status, reason, bl, r.headers ? r.headers : "");
        memcpy(c->out + n, body, bl);
        c->out_len = (size_t) n + bl;
        conn_flush(c);
}

static const char *str_or(const char *a, const char *b) {
        return a ? a : b;
}

static void parse_request(struct conn *c, const char *head_end) {
        struct request *r;
        const char *p;
        json_t *j;

        ck_assert_uint_lt(n_reqs, ELEMENTSOF(reqs));
        c->req = (long) n_reqs;
        r = &reqs[n_reqs++];
        *r = (struct request) { .at = now_mono() };
        ck_assert_int_eq(sscanf(c->in, "POST %63s HTTP/1.1", r->path), 1);
        for (p = strstr(c->in, "\r\n"); p && p < head_end; p = strstr(p + 2, "\r\n"))
                if (strncasecmp(p + 2, "Idempotency-Key: ", 17) == 0)
                        sscanf(p + 19, "%63[^\r]", r->key);
        j = json_loads(head_end + 4, 0, NULL);
        ck_assert_ptr_nonnull(j);
        snprintf(r->id, sizeof r->id, "%s", str_or(json_string_value(json_object_get(j, "id")),
                                                   str_or(json_string_value(json_object_get(j, "incident")), "")));
        snprintf(r->call, sizeof r->call, "%s", str_or(json_string_value(json_object_get(j, "call")), ""));
        r->sequence = json_integer_value(json_object_get(j, "sequence"));
        json_decref(j);
}

static int on_conn(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct conn *c = userdata;
        const char *head_end, *cl;
        size_t need;
        ssize_t n;

        if (c->out) {
                conn_flush(c);
                return 0;
        }
        n = read(fd, c->in + c->in_len, sizeof c->in - 1 - c->in_len);
        if (n <= 0) {
                if (n < 0 && errno == EAGAIN)
                        return 0;
                conn_close(c);          /* the client went away (a cancelled transfer) */
                return 0;
        }
        c->in_len += (size_t) n;
        c->in[c->in_len] = '\0';
        if (c->req >= 0 || !(head_end = strstr(c->in, "\r\n\r\n")))
                return 0;
        cl = strcasestr(c->in, "\r\nContent-Length: ");
        ck_assert_ptr_nonnull(cl);
        need = (size_t) (head_end + 4 - c->in) + strtoul(cl + 18, NULL, 10);
        if (c->in_len < need)
                return 0;
        parse_request(c, head_end);
        {
                struct reply r = script(&reqs[c->req], (size_t) c->req);
                if (r.status == 0)
                        c->held = true;
                else
                        conn_answer(c, r);
        }
        return 0;
}

static int on_accept(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        struct conn *c;

        if (cfd < 0)
                return 0;
        c = calloc(1, sizeof *c);
        ck_assert_ptr_nonnull(c);
        c->fd = cfd;
        c->req = -1;
        ck_assert_int_ge(sd_event_add_io(loop, &c->src, cfd, EPOLLIN, on_conn, c), 0);
        for (size_t i = 0; i < ELEMENTSOF(conns); i++)
                if (!conns[i]) {
                        conns[i] = c;
                        break;
                }
        return 0;
}

/* Answers the request i that was held. */
static void release_held(size_t i, struct reply r) {
        for (size_t k = 0; k < ELEMENTSOF(conns); k++)
                if (conns[k] && conns[k]->held && conns[k]->req == (long) i) {
                        conn_answer(conns[k], r);
                        return;
                }
        ck_abort_msg("request %zu is not held", i);
}

static void server_up(void) {
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t l = sizeof a;

        listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        ck_assert_int_ge(listen_fd, 0);
        ck_assert_int_eq(bind(listen_fd, (struct sockaddr *) &a, sizeof a), 0);
        ck_assert_int_eq(listen(listen_fd, 64), 0);
        ck_assert_int_eq(getsockname(listen_fd, (struct sockaddr *) &a, &l), 0);
        port = ntohs(a.sin_port);
        ck_assert_int_ge(sd_event_add_io(loop, &listen_src, listen_fd, EPOLLIN, on_accept, NULL), 0);
}

/* --- the rig: config, store, https, outbox ------------------------------- */

static char root[64], path[128];
static struct config *cfg;
static struct store *st;
static struct https *hs;
static struct outbox *ob;
static bool with_fallback;              /* fallback_url: the same server, path /fallback */

struct taken {
        char incident[32], case_id[80], receiver[32];
};
static struct taken taken[64];
static size_t n_taken;
struct problem {
        bool bad;
        long status;
        size_t after_reqs;              /* requests the server had seen when it came */
};
static struct problem problems[16];
static size_t n_problems;

static void on_taken(const char *incident, const char *case_id, const char *receiver, void *ud) {
        ck_assert_uint_lt(n_taken, ELEMENTSOF(taken));
        snprintf(taken[n_taken].incident, sizeof taken[0].incident, "%s", incident);
        snprintf(taken[n_taken].case_id, sizeof taken[0].case_id, "%s", case_id);
        snprintf(taken[n_taken].receiver, sizeof taken[0].receiver, "%s", receiver ? receiver : "(none)");
        n_taken++;
}

static void on_problem(bool bad, long status, void *ud) {
        ck_assert_uint_lt(n_problems, ELEMENTSOF(problems));
        problems[n_problems++] = (struct problem) { bad, status, n_reqs };
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw) {
        return remove(p);
}

static void root_setup(void) {
        snprintf(root, sizeof root, "/tmp/anju-outbox-XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(root));
}

static void root_teardown(void) {
        (void) nftw(root, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

static void new_outbox(void) {
        ck_assert_int_eq(outbox_new(loop, cfg, st, hs, &ob), 0);
        outbox_set_callbacks(ob, on_taken, on_problem, NULL);
}

/* dispatch: the [dispatch] keys after url (each ending in \n). */
static void up(const char *dispatch) {
        static char dir[96];
        char text[2048], fallback[96] = "";
        struct errors e = { .n = 0 };

        ck_assert_int_ge(sd_event_default(&loop), 0);
        server_up();
        if (with_fallback)
                snprintf(fallback, sizeof fallback, "fallback_url = http://127.0.0.1:%u/fallback\n", port);
        snprintf(text, sizeof text,
                 "[hub]\nid = h1\nlanguage = en\ntimezone = Asia/Shanghai\ndatabase = /tmp/x.db\n"
                 "[resident]\nname = Ye\naddress = Doutan 3-2-301\n"
                 "[dispatch]\nurl = http://127.0.0.1:%u/alarm\ntimeout = 3s\n%s%s",
                 port, dispatch ? dispatch : "retry_min = 20ms\nretry_max = 200ms\n", fallback);
        ck_assert_msg(load_full_string("test.conf", text, &e, &cfg) == 0, "%s", e.n ? e.msgs[0] : "?");
        snprintf(dir, sizeof dir, "%s/XXXXXX", root);
        ck_assert_ptr_nonnull(mkdtemp(dir));
        snprintf(path, sizeof path, "%s/anju.db", dir);
        ck_assert_int_eq(store_open(path, &st), 0);
        ck_assert_int_eq(https_new(loop, &hs), 0);
        new_outbox();
        n_reqs = n_taken = n_problems = 0;
}

static void teardown(void) {
        outbox_free(ob);
        ob = NULL;
        https_free(hs);
        hs = NULL;
        store_close(st);
        st = NULL;
        for (size_t i = 0; i < ELEMENTSOF(conns); i++)
                if (conns[i])
                        conn_close(conns[i]);
        listen_src = sd_event_source_disable_unref(listen_src);
        if (listen_fd >= 0)
                close(listen_fd);
        listen_fd = -1;
        config_free(cfg);
        cfg = NULL;
        loop = sd_event_unref(loop);
}

/* Runs the loop until cond holds, for at most ms; fails the test if not. */
#define WAIT_FOR(cond, ms)                                                                              \
        do {                                                                                            \
                uint64_t end_ = now_mono() + MS(ms);                                                    \
                while (!(cond) && now_mono() < end_)                                                    \
                        ck_assert_int_ge(sd_event_run(loop, MS(5)), 0);                                 \
                ck_assert_msg((cond), "not within %u ms: %s (%zu requests)", (unsigned) (ms), #cond,    \
                              n_reqs);                                                                  \
        } while (0)

/* Runs the loop for ms whatever happens. */
static void run_for(unsigned ms) {
        uint64_t end = now_mono() + MS(ms);

        while (now_mono() < end)
                ck_assert_int_ge(sd_event_run(loop, MS(5)), 0);
}

/* An open incident row (its timeline takes the delivery rows). */
static void incident_row(const char *id) {
        struct store_incident inc = { .id = id, .type = INCIDENT_FIRE, .severity = SEVERITY_CRITICAL, .state = "open",
                                      .reason = "smoke", .opened_at = now_wall() };

        ck_assert_int_eq(store_begin(st, STORE_DURABLE), 0);
        ck_assert_int_eq(store_incident_insert(st, &inc), 0);
        ck_assert_int_eq(store_commit(st), 0);
}

/* A call as actions.c places it: in a transaction, then released. */
static void add(enum call_kind kind, const char *incident, const char *call, unsigned seq) {
        char body[256], url[96];

        if (kind == CALL_ALARM)
                snprintf(body, sizeof body, "{\"schema\":\"anju.alarm.v1\",\"id\":\"%s\",\"call\":\"%s\",\"sequence\":%u}",
                         incident, call, seq);
        else
                snprintf(body, sizeof body, "{\"schema\":\"anju.notice.v1\",\"incident\":\"%s\",\"kind\":\"%s\"}",
                         incident, call);
        snprintf(url, sizeof url, "http://127.0.0.1:%u/hook?key=secret", port);
        ck_assert_int_eq(store_begin(st, STORE_DURABLE), 0);
        ck_assert_int_eq(outbox_add(ob, kind, incident, body, kind == CALL_WEBHOOK ? url : NULL, now_wall()), 0);
        ck_assert_int_eq(store_commit(st), 0);
        outbox_commit(ob, true);
}

static void add_alarm(const char *incident) {
        add(CALL_ALARM, incident, "alarm", 1);
}

static long long scalar(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static long long scalar(const char *fmt, ...) {
        char sql[512];
        sqlite3 *db;
        sqlite3_stmt *q;
        long long v = -1;
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(sql, sizeof sql, fmt, ap);
        va_end(ap);
        ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
        ck_assert_msg(sqlite3_prepare_v2(db, sql, -1, &q, NULL) == SQLITE_OK, "%s: %s", sql, sqlite3_errmsg(db));
        if (sqlite3_step(q) == SQLITE_ROW)
                v = sqlite3_column_int64(q, 0);
        sqlite3_finalize(q);
        sqlite3_close(db);
        return v;
}

static const char *text(const char *sql) {
        static char buf[512];
        sqlite3 *db;
        sqlite3_stmt *q;

        buf[0] = '\0';
        ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
        ck_assert_msg(sqlite3_prepare_v2(db, sql, -1, &q, NULL) == SQLITE_OK, "%s: %s", sql, sqlite3_errmsg(db));
        if (sqlite3_step(q) == SQLITE_ROW && sqlite3_column_text(q, 0))
                snprintf(buf, sizeof buf, "%s", (const char *) sqlite3_column_text(q, 0));
        sqlite3_finalize(q);
        sqlite3_close(db);
        return buf;
}

static const char *trace(void) {
        static char buf[8192];
        size_t l = 0;

        buf[0] = '\0';
        for (size_t i = 0; i < n_reqs && l < sizeof buf - 200; i++)
                l += (size_t) snprintf(buf + l, sizeof buf - l, "\n    %zu %s %s %s seq=%lld at=%llums", i,
                                       reqs[i].path, reqs[i].id, reqs[i].call, reqs[i].sequence,
                                       (unsigned long long) ((reqs[i].at - reqs[0].at) / 1000));
        return buf;
}

static uint64_t gap_ms(size_t a, size_t b) {
        return (reqs[b].at - reqs[a].at) / 1000;
}

/* --- scripts ----------------------------------------------------------------- */

static struct reply always_case(const struct request *r, size_t i) {
        static char id[64];

        snprintf(id, sizeof id, "QZ-%.24s-%zu", r->id, i);
        return ok_case(id);
}

static struct reply always_503(const struct request *r, size_t i) {
        return (struct reply) { 503, "{}", NULL };
}

/* --- delivery ----------------------------------------------------------------- */

START_TEST(test_outbox_call_delivered_with_its_case_id_is_recorded) {
        up(NULL);
        script = always_case;
        incident_row("A");
        add_alarm("A");
        ck_assert_uint_eq(outbox_pending(ob), 1);
        ck_assert_int_eq(scalar("SELECT count(*) FROM outbox WHERE incident = 'A' AND kind = 'alarm'"), 1);
        WAIT_FOR(n_taken == 1, 2000);
        ck_assert_str_eq(taken[0].incident, "A");
        ck_assert_str_eq(taken[0].case_id, "QZ-A-0");
        ck_assert_str_eq(taken[0].receiver, "(none)");  /* the dispatch center, not a DC-09 receiver */
        ck_assert_str_eq(reqs[0].path, "/alarm");
        ck_assert_str_eq(reqs[0].id, "A");
        ck_assert_uint_eq(strlen(reqs[0].key), 36);
        /* Out of the outbox, into the delivery records, on the timeline. */
        ck_assert_uint_eq(outbox_pending(ob), 0);
        ck_assert_int_eq(scalar("SELECT count(*) FROM outbox"), 0);
        ck_assert_str_eq(text("SELECT key FROM deliveries WHERE incident = 'A'"), reqs[0].key);
        ck_assert_int_eq(scalar("SELECT count(*) FROM deliveries WHERE incident = 'A' AND case_id = 'QZ-A-0' AND "
                                "attempts = 1 AND kind = 'alarm'"), 1);
        ck_assert_str_eq(text("SELECT event || ' ' || actor || '/' || channel || ' ' || note FROM timeline "
                              "WHERE incident = 'A'"), "dispatch_delivered dispatch/https case QZ-A-0, attempt 1");
        ck_assert_int_eq(outbox_get_stats(ob)->delivered, 1);
        ck_assert_uint_eq(n_problems, 0);
}
END_TEST

static unsigned c_attempts;

static struct reply dirty_case(const struct request *r, size_t i) {
        /* control characters, an escape sequence and a very long tail */
        static const char body[] =
                "{\"case_id\":\"QZ\\u0007-\\u001b[31m123\\n"
                "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}";
        static const char integer[] = "{\"case_id\":118734}";
        static const char nothing_printable[] = "{\"case_id\":\"\\u0001\\u0002\\t\"}";

        if (strcmp(r->id, "A") == 0)
                return (struct reply) { 200, body, NULL };
        if (strcmp(r->id, "B") == 0)
                return (struct reply) { 200, integer, NULL };
        return ++c_attempts <= 2 ? (struct reply) { 200, nothing_printable, NULL } : ok_case("C-OK");
}

START_TEST(test_outbox_case_ids_are_cleaned_to_printable_and_64_characters) {
        up(NULL);
        script = dirty_case;
        incident_row("A");
        incident_row("B");
        incident_row("C");
        add_alarm("A");
        WAIT_FOR(n_taken == 1, 2000);
        ck_assert_str_eq(taken[0].case_id, "QZ-[31m123AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
        ck_assert_uint_eq(strlen(taken[0].case_id), 64);
        ck_assert_str_eq(text("SELECT case_id FROM deliveries WHERE incident = 'A'"), taken[0].case_id);
        /* An integer case id is one too. */
        add_alarm("B");
        WAIT_FOR(n_taken == 2, 2000);
        ck_assert_str_eq(taken[1].case_id, "118734");
        /* Nothing printable is no case id: retried. */
        add_alarm("C");
        WAIT_FOR(n_taken == 3, 3000);
        ck_assert_str_eq(taken[2].case_id, "C-OK");
        ck_assert_int_eq(scalar("SELECT attempts FROM deliveries WHERE incident = 'C'"), 3);
        ck_assert_uint_eq(n_problems, 0);
}
END_TEST

static struct reply fail_twice(const struct request *r, size_t i) {
        return i < 2 ? (struct reply) { 503, "{}", NULL } : ok_case("QZ-9");
}

START_TEST(test_outbox_failed_call_is_retried_with_backoff_then_delivered) {
        up("retry_min = 100ms\nretry_max = 1s\n");
        script = fail_twice;
        incident_row("A");
        add_alarm("A");
        WAIT_FOR(n_taken == 1, 3000);
        ck_assert_uint_eq(n_reqs, 3);
        /* Equal jitter: half the backoff fixed, doubling from retry_min. */
        ck_assert_msg(gap_ms(0, 1) >= 50 && gap_ms(0, 1) < 400, "%s", trace());
        ck_assert_msg(gap_ms(1, 2) >= 100 && gap_ms(1, 2) < 600, "%s", trace());
        /* The same call every time: the same Idempotency-Key. */
        ck_assert_str_eq(reqs[1].key, reqs[0].key);
        ck_assert_str_eq(reqs[2].key, reqs[0].key);
        ck_assert_int_eq(scalar("SELECT attempts FROM deliveries WHERE incident = 'A'"), 3);
        ck_assert_str_eq(text("SELECT note FROM timeline WHERE incident = 'A' AND event = 'dispatch_delivered'"),
                         "case QZ-9, attempt 3");
        ck_assert_int_eq(outbox_get_stats(ob)->attempts_failed, 2);
        ck_assert_uint_eq(n_problems, 0);       /* a 503 is patience, not a refusal */
}
END_TEST

static struct reply failing_then_counted(const struct request *r, size_t i) {
        return (struct reply) { 503, "{}", NULL };
}

START_TEST(test_outbox_failed_attempts_are_counted_in_the_store) {
        up("retry_min = 20ms\nretry_max = 40ms\n");
        script = failing_then_counted;
        incident_row("A");
        add_alarm("A");
        WAIT_FOR(outbox_get_stats(ob)->attempts_failed >= 3, 3000);
        ck_assert_int_ge(scalar("SELECT attempts FROM outbox WHERE incident = 'A'"), 3);
        ck_assert_str_eq(text("SELECT last_error FROM outbox WHERE incident = 'A'"), "HTTP 503");
}
END_TEST

/* --- Retry-After ----------------------------------------------------------------- */

static const char *retry_after_value;

static struct reply too_many(const struct request *r, size_t i) {
        static char h[64];

        snprintf(h, sizeof h, "Retry-After: %s\r\n", retry_after_value);
        return i == 0 ? (struct reply) { 429, "{}", h } : ok_case("QZ-1");
}

START_TEST(test_outbox_retry_after_on_429_is_honoured) {
        up(NULL);               /* backoff at most 200 ms */
        script = too_many;
        retry_after_value = "2";
        incident_row("A");
        add_alarm("A");
        WAIT_FOR(n_taken == 1, 4000);
        ck_assert_msg(gap_ms(0, 1) >= 2000 && gap_ms(0, 1) < 2600, "%s", trace());
}
END_TEST

/* The backoff runs on the daemon's clock (--time-scale), but Retry-After
 * is the center's own seconds: at 100 times, 2 s are still 2 s. */
START_TEST(test_outbox_retry_after_is_the_centers_real_time_on_a_scaled_clock) {
        clock_setup(100.0, 0);
        up(NULL);
        script = too_many;
        retry_after_value = "2";
        incident_row("A");
        add_alarm("A");
        WAIT_FOR(n_taken == 1, 4000);
        ck_assert_msg(gap_ms(0, 1) >= 2000 && gap_ms(0, 1) < 2600, "%s", trace());
}
END_TEST

/* An alarm waits at most an hour, whatever the center asks: the retry is
 * planned for 1 h (the log says when), not for the 2 h asked. */
START_TEST(test_outbox_retry_after_is_capped_at_an_hour) {
        char log[4096] = "";
        FILE *f = tmpfile();
        uint64_t deadline;

        ck_assert_ptr_nonnull(f);
        ck_assert_int_ge(dup2(fileno(f), STDERR_FILENO), 0);
        up(NULL);
        script = too_many;
        retry_after_value = "7200";
        incident_row("A");
        add_alarm("A");
        deadline = now_mono() + MS(4000);
        while (now_mono() < deadline && !strstr(log, "retrying in")) {
                ck_assert_int_ge(sd_event_run(loop, MS(50)), 0);
                fflush(stderr);
                rewind(f);
                log[fread(log, 1, sizeof log - 1, f)] = '\0';
        }
        ck_assert_msg(strstr(log, "retrying in 1h"), "%s", log);
        ck_assert_int_eq(n_taken, 0);
}
END_TEST

/* --- a center that refuses ----------------------------------------------------------- */

static struct reply refuse_three(const struct request *r, size_t i) {
        return i < 3 ? (struct reply) { 422, "{\"error\":\"bad schema\"}", NULL } : ok_case("QZ-OK");
}

START_TEST(test_outbox_refused_call_is_a_problem_once_retried_slowly_and_cleared_by_a_delivery) {
        up("retry_min = 20ms\nretry_max = 300ms\n");
        script = refuse_three;
        incident_row("A");
        add_alarm("A");
        WAIT_FOR(n_taken == 1, 3000);
        ck_assert_uint_eq(n_reqs, 4);
        /* Reported once, at the first refusal, with the status. */
        ck_assert_uint_eq(n_problems, 2);
        ck_assert(problems[0].bad);
        ck_assert_int_eq(problems[0].status, 422);
        ck_assert_uint_eq(problems[0].after_reqs, 1);
        /* Retried, but only every retry_max. */
        for (size_t i = 1; i < n_reqs; i++)
                ck_assert_msg(gap_ms(i - 1, i) >= 300, "%s", trace());
        /* A delivery clears it. */
        ck_assert(!problems[1].bad);
        ck_assert_int_eq(problems[1].status, 200);
        ck_assert_int_eq(outbox_get_stats(ob)->refused, 3);
}
END_TEST

static struct reply no_case_three(const struct request *r, size_t i) {
        return i < 3 ? (struct reply) { 200, "{\"status\":\"received\"}", NULL } : ok_case("QZ-OK");
}

START_TEST(test_outbox_three_answers_without_a_case_id_are_a_problem) {
        up("retry_min = 20ms\nretry_max = 300ms\n");
        script = no_case_three;
        incident_row("A");
        add_alarm("A");
        WAIT_FOR(n_taken == 1, 3000);
        ck_assert_uint_eq(n_reqs, 4);
        ck_assert_uint_eq(n_problems, 2);
        ck_assert(problems[0].bad);
        ck_assert_int_eq(problems[0].status, 200);
        ck_assert_uint_eq(problems[0].after_reqs, 3);   /* not before the third */
        ck_assert_msg(gap_ms(0, 1) < 200 && gap_ms(2, 3) >= 300, "%s", trace());
        ck_assert(!problems[1].bad);
}
END_TEST

/* "In a row": a 503 between them starts the count again. */
static struct reply no_case_broken_row(const struct request *r, size_t i) {
        static const int status[] = { 200, 200, 503, 200, 200, 200 };

        return i < 6 ? (struct reply) { status[i], status[i] == 200 ? "{\"status\":\"received\"}" : "{}", NULL }
                     : ok_case("QZ-OK");
}

START_TEST(test_outbox_answers_without_a_case_id_count_only_in_a_row) {
        up("retry_min = 20ms\nretry_max = 300ms\n");
        script = no_case_broken_row;
        incident_row("A");
        add_alarm("A");
        WAIT_FOR(n_taken == 1, 5000);
        ck_assert_uint_eq(n_reqs, 7);
        ck_assert_uint_eq(n_problems, 2);
        ck_assert_uint_eq(problems[0].after_reqs, 6);   /* the third 2xx after the 503, not the third overall */
}
END_TEST

static struct reply refuse_a(const struct request *r, size_t i) {
        return strcmp(r->id, "A") == 0 ? (struct reply) { 422, "{}", NULL } : ok_case("QZ-B");
}

/* Call A is refused for good (say its body is one the center cannot
 * read); call B is then accepted. Maintenance must not be told "the center
 * accepts calls again" while A is still refused and retried. */
START_TEST(test_outbox_a_call_still_refused_after_another_was_delivered_is_reported_again) {
        size_t seen;

        up("retry_min = 20ms\nretry_max = 200ms\n");
        script = refuse_a;
        incident_row("A");
        incident_row("B");
        add_alarm("A");
        WAIT_FOR(n_problems == 1, 2000);
        ck_assert(problems[0].bad);
        add_alarm("B");
        WAIT_FOR(n_taken == 1, 2000);
        seen = n_reqs;
        WAIT_FOR(n_reqs >= seen + 2, 2000);     /* A refused again, twice */
        for (size_t i = 0; i < n_problems; i++)
                ck_assert_msg(problems[i].bad,
                              "maintenance was told \"accepted again\" while call A is still refused:%s", trace());
}
END_TEST

/* --- independence and order ----------------------------------------------------------- */

static struct reply hold_a(const struct request *r, size_t i) {
        return strcmp(r->id, "A") == 0 && r->answered == 0 && i == 0 ? (struct reply) { 0, NULL, NULL }
                                                                      : always_case(r, i);
}

START_TEST(test_outbox_calls_of_other_incidents_go_while_one_hangs) {
        up(NULL);
        script = hold_a;
        incident_row("A");
        incident_row("B");
        add_alarm("A");
        WAIT_FOR(n_reqs == 1, 2000);
        add_alarm("B");
        WAIT_FOR(n_taken == 1, 2000);
        ck_assert_str_eq(taken[0].incident, "B");
        ck_assert_uint_eq(outbox_pending(ob), 1);
        release_held(0, ok_case("QZ-A"));
        WAIT_FOR(n_taken == 2, 2000);
        ck_assert_str_eq(taken[1].incident, "A");
}
END_TEST

static struct reply fail_a(const struct request *r, size_t i) {
        return strcmp(r->id, "A") == 0 ? (struct reply) { 503, "{}", NULL } : always_case(r, i);
}

START_TEST(test_outbox_calls_of_other_incidents_go_while_one_is_failing) {
        uint64_t added;

        up("retry_min = 2s\nretry_max = 10s\n");
        script = fail_a;
        incident_row("A");
        incident_row("B");
        add_alarm("A");
        WAIT_FOR(outbox_get_stats(ob)->attempts_failed == 1, 2000);
        added = now_mono();
        add_alarm("B");
        WAIT_FOR(n_taken == 1, 2000);
        ck_assert_str_eq(taken[0].incident, "B");
        ck_assert_msg(now_mono() - added < MS(500), "B waited behind A's backoff");
}
END_TEST

static unsigned a1_attempts;

static struct reply a1_fails_twice(const struct request *r, size_t i) {
        if (strcmp(r->id, "A") == 0 && strcmp(r->call, "alarm") == 0 && ++a1_attempts <= 2)
                return (struct reply) { 503, "{}", NULL };
        return always_case(r, i);
}

START_TEST(test_outbox_an_update_waits_for_its_incidents_first_call) {
        size_t a1[8], n_a1 = 0, update = SIZE_MAX, hook = SIZE_MAX;

        up("retry_min = 100ms\nretry_max = 200ms\n");
        script = a1_fails_twice;
        incident_row("A");
        add(CALL_ALARM, "A", "alarm", 1);
        add(CALL_ALARM, "A", "update", 2);
        add(CALL_WEBHOOK, "A", "alert", 0);
        WAIT_FOR(n_taken == 2, 3000);
        for (size_t i = 0; i < n_reqs; i++) {
                if (strcmp(reqs[i].call, "alarm") == 0 && n_a1 < ELEMENTSOF(a1))
                        a1[n_a1++] = i;
                if (strcmp(reqs[i].call, "update") == 0)
                        update = i;
                if (strcmp(reqs[i].path, "/hook?key=secret") == 0)
                        hook = i;
        }
        ck_assert_msg(n_a1 == 3 && update != SIZE_MAX && update > a1[2], "%s", trace());
        ck_assert_uint_ge(reqs[update].at, reqs[a1[2]].answered);
        ck_assert_int_eq(reqs[update].sequence, 2);
        {
                char want[32];
                /* the first call's answer first */
                snprintf(want, sizeof want, "QZ-A-%zu", a1[2]);
                ck_assert_str_eq(taken[0].case_id, want);
                snprintf(want, sizeof want, "QZ-A-%zu", update);
                ck_assert_str_eq(taken[1].case_id, want);
        }
        /* A notice to a webhook is another line: it did not wait. */
        ck_assert_msg(hook < a1[1], "%s", trace());
}
END_TEST

/* --- abort, replay, drop ------------------------------------------------------------------ */

START_TEST(test_outbox_abort_drops_the_staged_calls) {
        up(NULL);
        script = always_case;
        incident_row("A");
        ck_assert_int_eq(store_begin(st, STORE_DURABLE), 0);
        ck_assert_int_eq(outbox_add(ob, CALL_ALARM, "A", "{\"id\":\"A\"}", NULL, now_wall()), 0);
        ck_assert_uint_eq(outbox_pending(ob), 1);
        store_rollback(st);
        outbox_abort(ob);
        ck_assert_uint_eq(outbox_pending(ob), 0);
        ck_assert_int_eq(outbox_get_stats(ob)->submitted, 0);
        /* a commit after it releases nothing */
        outbox_commit(ob, true);
        run_for(300);
        ck_assert_uint_eq(n_reqs, 0);
        ck_assert_int_eq(scalar("SELECT count(*) FROM outbox"), 0);
}
END_TEST

static bool replay_phase2;

static struct reply replay_script(const struct request *r, size_t i) {
        return replay_phase2 ? always_case(r, i) : (struct reply) { 503, "{}", NULL };
}

START_TEST(test_outbox_replay_after_a_restart_sends_the_undelivered_calls_in_order) {
        char key_a1[64], key_a2[64], key_b1[64];
        size_t a1 = SIZE_MAX, a2 = SIZE_MAX;
        size_t before;

        up("retry_min = 5s\nretry_max = 10s\n");
        script = replay_script;
        incident_row("A");
        incident_row("B");
        add(CALL_ALARM, "A", "alarm", 1);
        add(CALL_ALARM, "A", "update", 2);
        add(CALL_ALARM, "B", "alarm", 1);
        WAIT_FOR(outbox_get_stats(ob)->attempts_failed == 2, 2000);     /* A1 and B1 failed once */
        snprintf(key_a1, sizeof key_a1, "%s", text("SELECT key FROM outbox WHERE incident = 'A' ORDER BY id LIMIT 1"));
        snprintf(key_a2, sizeof key_a2, "%s",
                 text("SELECT key FROM outbox WHERE incident = 'A' ORDER BY id LIMIT 1 OFFSET 1"));
        snprintf(key_b1, sizeof key_b1, "%s", text("SELECT key FROM outbox WHERE incident = 'B'"));

        /* The hub stops and starts again. */
        outbox_free(ob);
        store_close(st);
        ck_assert_int_eq(store_open(path, &st), 0);
        new_outbox();
        replay_phase2 = true;
        before = n_reqs;
        ck_assert_int_eq(outbox_replay(ob), 3);
        ck_assert_uint_eq(outbox_pending(ob), 3);
        WAIT_FOR(n_taken == 3, 3000);
        for (size_t i = before; i < n_reqs; i++) {
                if (strcmp(reqs[i].key, key_a1) == 0)
                        a1 = i;
                if (strcmp(reqs[i].key, key_a2) == 0)
                        a2 = i;
        }
        ck_assert_msg(a1 != SIZE_MAX && a2 != SIZE_MAX && a1 < a2, "%s", trace());
        ck_assert_uint_ge(reqs[a2].at, reqs[a1].answered);
        ck_assert_uint_eq(n_reqs - before, 3);
        ck_assert_int_eq(scalar("SELECT count(*) FROM outbox"), 0);
        /* Attempts go on from the store's count. */
        ck_assert_int_eq(scalar("SELECT attempts FROM deliveries WHERE key = '%s'", key_a1), 2);
        ck_assert_int_eq(scalar("SELECT attempts FROM deliveries WHERE key = '%s'", key_a2), 1);
        ck_assert_int_eq(scalar("SELECT count(*) FROM deliveries WHERE key = '%s'", key_b1), 1);
}
END_TEST

START_TEST(test_outbox_drop_notices_removes_only_the_incidents_webhook_notices) {
        up("retry_min = 5s\nretry_max = 10s\n");
        script = always_503;
        incident_row("A");
        add(CALL_ALARM, "A", "alarm", 1);
        add(CALL_WEBHOOK, "A", "alert", 0);
        add(CALL_WEBHOOK, "A", "repeat", 0);
        add(CALL_WEBHOOK, "B", "alert", 0);
        WAIT_FOR(outbox_get_stats(ob)->attempts_failed == 3, 2000);     /* A's 2nd notice waits behind its 1st */
        ck_assert_int_eq(outbox_drop_notices(ob, "A"), 2);
        ck_assert_uint_eq(outbox_pending(ob), 2);
        ck_assert_int_eq(scalar("SELECT count(*) FROM outbox WHERE incident = 'A' AND kind = 'webhook'"), 0);
        ck_assert_int_eq(scalar("SELECT count(*) FROM outbox WHERE incident = 'A' AND kind = 'alarm'"), 1);
        ck_assert_int_eq(scalar("SELECT count(*) FROM outbox WHERE incident = 'B'"), 1);
        ck_assert_int_eq(outbox_drop_notices(ob, "A"), 0);
}
END_TEST

/* --- the link comes back ---------------------------------------------------------------------- */

static struct reply first_of_each_fails(const struct request *r, size_t i) {
        return i < 3 ? (struct reply) { strcmp(r->id, "R") == 0 ? 422 : 503, "{}", NULL } : always_case(r, i);
}

START_TEST(test_outbox_link_restored_sends_the_waiting_calls_now) {
        uint64_t t;

        up("retry_min = 30s\nretry_max = 60s\n");
        script = first_of_each_fails;
        incident_row("A");
        incident_row("R");
        add(CALL_ALARM, "A", "alarm", 1);
        add(CALL_WEBHOOK, "A", "alert", 0);
        add(CALL_ALARM, "R", "alarm", 1);
        WAIT_FOR(outbox_get_stats(ob)->attempts_failed == 3, 2000);
        /* Each waits 15 s or more; the link is back. */
        t = now_mono();
        outbox_link_restored(ob);
        WAIT_FOR(n_taken == 1, 1000);
        ck_assert_str_eq(taken[0].incident, "A");
        ck_assert_uint_lt(now_mono() - t, MS(500));
        /* The webhook notice is not the center's link, and a call the
         * center refuses is not hurried either. */
        run_for(300);
        ck_assert_msg(n_reqs == 4, "%s", trace());
}
END_TEST

/* --- odd answers -------------------------------------------------------------------------- */

static char big_body[70000];

static struct reply too_big_first(const struct request *r, size_t i) {
        if (i == 0) {
                memset(big_body, 'x', sizeof big_body - 1);
                memcpy(big_body, "{\"case_id\":\"BIG\",\"pad\":\"", 24);
                memcpy(big_body + sizeof big_body - 3, "\"}", 3);
                return (struct reply) { 200, big_body, NULL };
        }
        return ok_case("QZ-SMALL");
}

START_TEST(test_outbox_answer_over_64k_fails_the_attempt) {
        up(NULL);
        script = too_big_first;
        incident_row("A");
        add_alarm("A");
        WAIT_FOR(n_taken == 1, 3000);
        ck_assert_str_eq(taken[0].case_id, "QZ-SMALL");
        ck_assert_int_eq(outbox_get_stats(ob)->attempts_failed, 1);
        ck_assert_int_eq(scalar("SELECT attempts FROM deliveries WHERE incident = 'A'"), 2);
}
END_TEST

static struct reply webhook_errcode_first(const struct request *r, size_t i) {
        return (struct reply) { 200, i == 0 ? "{\"errcode\":93000,\"errmsg\":\"invalid webhook url\"}"
                                            : "{\"errcode\":0,\"errmsg\":\"ok\"}", NULL };
}

START_TEST(test_outbox_webhook_is_delivered_on_errcode_0_only) {
        up(NULL);
        script = webhook_errcode_first;
        incident_row("A");
        add(CALL_WEBHOOK, "A", "alert", 0);
        WAIT_FOR(outbox_get_stats(ob)->delivered == 1, 3000);
        ck_assert_uint_eq(n_reqs, 2);
        ck_assert_uint_eq(n_taken, 0);          /* a chat bot takes charge of nothing */
        ck_assert_str_eq(reqs[0].path, "/hook?key=secret");
        ck_assert_str_eq(text("SELECT event || ' ' || actor || '/' || channel || ' ' || note FROM timeline "
                              "WHERE incident = 'A'"), "webhook_delivered webhook/https attempt 2");
        /* The record keeps the URL without its key. */
        ck_assert_int_eq(scalar("SELECT count(*) FROM deliveries WHERE url LIKE '%%secret%%'"), 0);
}
END_TEST

static struct reply fail_four(const struct request *r, size_t i) {
        return i < 4 ? (struct reply) { 503, "{}", NULL } : ok_case("QZ-F");
}

START_TEST(test_outbox_alternates_to_the_fallback_url) {
        with_fallback = true;
        up("retry_min = 10ms\nretry_max = 40ms\nfallback_after = 2\n");
        script = fail_four;
        incident_row("A");
        add_alarm("A");
        WAIT_FOR(n_taken == 1, 3000);
        ck_assert_msg(n_reqs == 5 && strcmp(reqs[0].path, "/alarm") == 0 && strcmp(reqs[1].path, "/alarm") == 0 &&
                      strcmp(reqs[2].path, "/fallback") == 0 && strcmp(reqs[3].path, "/fallback") == 0 &&
                      strcmp(reqs[4].path, "/alarm") == 0, "%s", trace());
        ck_assert_int_eq(scalar("SELECT count(*) FROM deliveries WHERE url LIKE '%%/alarm'"), 1);
}
END_TEST

/* anjuctl test dispatch: one attempt to the primary URL, nothing stored. */
struct test_outcome {
        int calls;
        bool delivered;
        long status;
        char case_id[80], why[200];
};

static void on_test_done(bool delivered, long status, const char *case_id, const char *why, void *userdata) {
        struct test_outcome *o = userdata;

        o->calls++;
        o->delivered = delivered;
        o->status = status;
        snprintf(o->case_id, sizeof o->case_id, "%s", case_id ? case_id : "(none)");
        snprintf(o->why, sizeof o->why, "%s", why ? why : "(none)");
}

static struct reply test_script(const struct request *r, size_t i) {
        return i == 0 ? ok_case("TEST-1") : (struct reply) { 503, "{}", NULL };
}

START_TEST(test_outbox_test_call_is_one_attempt_and_not_stored) {
        struct test_outcome a = { 0 }, b = { 0 }, c = { 0 };

        up(NULL);
        script = test_script;
        ck_assert_int_eq(outbox_test_call(ob, "{\"id\":\"test\",\"test\":true}", on_test_done, &a), 0);
        ck_assert_uint_eq(outbox_pending(ob), 0);       /* not a call anyone waits for */
        WAIT_FOR(a.calls == 1, 2000);
        ck_assert(a.delivered);
        ck_assert_int_eq(a.status, 200);
        ck_assert_str_eq(a.case_id, "TEST-1");
        ck_assert_uint_eq(n_taken, 0);
        ck_assert_int_eq(outbox_test_call(ob, "{\"id\":\"test\"}", on_test_done, &b), 0);
        WAIT_FOR(b.calls == 1, 2000);
        ck_assert(!b.delivered);
        ck_assert_int_eq(b.status, 503);
        ck_assert_str_eq(b.why, "HTTP 503");
        /* The asker went away: its answer is told to nobody. */
        ck_assert_int_eq(outbox_test_call(ob, "{\"id\":\"test\"}", on_test_done, &c), 0);
        outbox_forget_test(ob, &c);
        run_for(300);
        ck_assert_int_eq(c.calls, 0);
        ck_assert_uint_eq(n_reqs, 3);           /* no retries */
        ck_assert_int_eq(scalar("SELECT count(*) FROM outbox") + scalar("SELECT count(*) FROM deliveries"), 0);
        ck_assert_uint_eq(n_problems, 0);
}
END_TEST

/* actions.c, when the store fails, hands the calls to the outbox again
 * outside any transaction and releases them with commit(stored = false):
 * they go "from memory". The outbox must then not leave a row behind that
 * nobody marks delivered — it would be sent a second time after the next
 * restart. */
START_TEST(test_outbox_a_call_released_unstored_leaves_no_row_behind) {
        up(NULL);
        script = always_case;
        incident_row("A");
        ck_assert_int_eq(outbox_add(ob, CALL_ALARM, "A", "{\"id\":\"A\",\"call\":\"alarm\",\"sequence\":1}", NULL,
                                    now_wall()), 0);
        outbox_commit(ob, false);
        WAIT_FOR(n_taken == 1, 2000);
        ck_assert_uint_eq(outbox_pending(ob), 0);
        ck_assert_msg(scalar("SELECT count(*) FROM outbox") == 0,
                      "a delivered call is still in the outbox table and will be replayed");
}
END_TEST

/* Issue 15: a DC-09 report's row names its receiver (dest
 * "receiver:NAME", no url), and after a restart it is replayed to that
 * receiver; without a transport it stays, retried. */
START_TEST(test_outbox_dc09_report_is_stored_for_its_receiver_and_replayed_to_it) {
        up("retry_min = 5s\nretry_max = 10s\n"
           "[receiver arc]\nprotocol = dc09\nhost = 127.0.0.1\nport = 9\naccount = 1234\n");
        incident_row("A");
        ck_assert_int_eq(store_begin(st, STORE_DURABLE), 0);
        ck_assert_int_eq(outbox_add(ob, CALL_DC09, "A", "event=fire restore=0 zone=3", "arc", now_wall()), 0);
        ck_assert_int_eq(store_commit(st), 0);
        outbox_commit(ob, true);
        WAIT_FOR(outbox_get_stats(ob)->attempts_failed == 1, 2000);
        ck_assert_str_eq(text("SELECT kind || ' ' || dest || ' ' || body FROM outbox"),
                         "dc09 receiver:arc event=fire restore=0 zone=3");
        ck_assert_int_eq(scalar("SELECT url IS NULL FROM outbox"), 1);
        ck_assert_str_eq(text("SELECT last_error FROM outbox"), "no DC-09 transport");

        /* The hub stops and starts again: the report knows its receiver. */
        outbox_free(ob);
        store_close(st);
        ck_assert_int_eq(store_open(path, &st), 0);
        new_outbox();
        ck_assert_int_eq(outbox_replay(ob), 1);
        WAIT_FOR(outbox_get_stats(ob)->attempts_failed == 1, 2000);
        ck_assert_str_eq(text("SELECT last_error FROM outbox"), "no DC-09 transport");
        ck_assert_int_eq(scalar("SELECT attempts FROM outbox"), 2);
        ck_assert_uint_eq(n_taken, 0);
        /* A report for no receiver is refused. */
        ck_assert_int_eq(outbox_add(ob, CALL_DC09, "A", "event=fire restore=0 zone=3", NULL, now_wall()), -EINVAL);
}
END_TEST

int main(void) {
        Suite *s = suite_create("outbox");
        TCase *t = tcase_create("outbox");

        tcase_add_unchecked_fixture(t, root_setup, root_teardown);
        tcase_add_checked_fixture(t, NULL, teardown);
        tcase_set_timeout(t, 10);
        tcase_add_test(t, test_outbox_call_delivered_with_its_case_id_is_recorded);
        tcase_add_test(t, test_outbox_case_ids_are_cleaned_to_printable_and_64_characters);
        tcase_add_test(t, test_outbox_failed_call_is_retried_with_backoff_then_delivered);
        tcase_add_test(t, test_outbox_failed_attempts_are_counted_in_the_store);
        tcase_add_test(t, test_outbox_retry_after_on_429_is_honoured);
        tcase_add_test(t, test_outbox_retry_after_is_the_centers_real_time_on_a_scaled_clock);
        tcase_add_test(t, test_outbox_retry_after_is_capped_at_an_hour);
        tcase_add_test(t, test_outbox_refused_call_is_a_problem_once_retried_slowly_and_cleared_by_a_delivery);
        tcase_add_test(t, test_outbox_three_answers_without_a_case_id_are_a_problem);
        tcase_add_test(t, test_outbox_answers_without_a_case_id_count_only_in_a_row);
        tcase_add_test(t, test_outbox_a_call_still_refused_after_another_was_delivered_is_reported_again);
        tcase_add_test(t, test_outbox_calls_of_other_incidents_go_while_one_hangs);
        tcase_add_test(t, test_outbox_calls_of_other_incidents_go_while_one_is_failing);
        tcase_add_test(t, test_outbox_an_update_waits_for_its_incidents_first_call);
        tcase_add_test(t, test_outbox_abort_drops_the_staged_calls);
        tcase_add_test(t, test_outbox_replay_after_a_restart_sends_the_undelivered_calls_in_order);
        tcase_add_test(t, test_outbox_drop_notices_removes_only_the_incidents_webhook_notices);
        tcase_add_test(t, test_outbox_link_restored_sends_the_waiting_calls_now);
        tcase_add_test(t, test_outbox_answer_over_64k_fails_the_attempt);
        tcase_add_test(t, test_outbox_webhook_is_delivered_on_errcode_0_only);
        tcase_add_test(t, test_outbox_alternates_to_the_fallback_url);
        tcase_add_test(t, test_outbox_test_call_is_one_attempt_and_not_stored);
        tcase_add_test(t, test_outbox_a_call_released_unstored_leaves_no_row_behind);
        tcase_add_test(t, test_outbox_dc09_report_is_stored_for_its_receiver_and_replayed_to_it);
        suite_add_tcase(s, t);
        return run_suite(s);
}
