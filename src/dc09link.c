/* The DC-09 transport (see dc09link.h). */
#include "dc09link.h"
#include "clock.h"
#include "config.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct rx;

struct dc09link_req {
        struct rx *rx;                  /* the receiver it goes to */
        struct dc09link_req *next;      /* the receiver's queue */
        bool null_msg;                  /* supervision: "NULL", no event */
        bool started, cancelled;
        char name[32];
        struct dc09_event ev;
        dc09link_done_fn done;
        void *userdata;
        unsigned seq, naks;
        int fd;
        bool connected;
        sd_event_source *io, *timer;
        char why[200];                  /* a failure found before any answer could come */
        char in[2 * DC09_MAX_FRAME];    /* TCP: what came so far */
        size_t in_len;
};

struct rx {
        struct dc09link *l;
        unsigned index;
        const struct receiver_conf *conf;
        unsigned seq;                   /* the last sequence number used */
        unsigned failures;              /* in a row */
        bool down;
        struct dc09link_req *head, *tail;
        sd_event_source *supervision, *test;
};

struct dc09link {
        sd_event *event;
        const struct config *cfg;
        struct rx *rx;
        size_t n_rx;
        dc09link_health_fn health;
        void *userdata;
};

static void start(struct dc09link_req *q);

static int pad_random(void *ud, void *buf, size_t n) {
        (void) ud;
        return random_bytes(buf, n);
}

int dc09link_body(char *buf, size_t n, const char *event, bool restore, unsigned zone) {
        int l = snprintf(buf, n, "event=%s restore=%d zone=%u", event, restore ? 1 : 0, zone);

        return l < 0 || (size_t) l >= n ? -ENOSPC : l;
}

int dc09link_body_parse(const char *body, char *name, size_t n, struct dc09_event *ev) {
        char word[32], extra;
        int restore;
        unsigned zone;

        if (!body || sscanf(body, "event=%31[a-z_] restore=%d zone=%u%c", word, &restore, &zone, &extra) != 3 ||
            (restore != 0 && restore != 1) || zone > 999 || strlen(word) >= n)
                return -EINVAL;
        snprintf(name, n, "%s", word);
        *ev = (struct dc09_event) { .name = name, .restore = restore == 1, .group = 1, .zone = zone };
        return 0;
}

/* --- one message ------------------------------------------------------------ */

static void close_attempt(struct dc09link_req *q) {
        q->io = sd_event_source_disable_unref(q->io);
        q->timer = sd_event_source_disable_unref(q->timer);
        if (q->fd >= 0)
                close(q->fd);
        q->fd = -1;
        q->connected = false;
        q->in_len = 0;
}

static void unlink_req(struct dc09link_req *q) {
        struct rx *rx = q->rx;
        struct dc09link_req **pp = &rx->head, *prev = NULL;

        for (; *pp && *pp != q; pp = &(*pp)->next)
                prev = *pp;
        if (!*pp)
                return;
        *pp = q->next;
        if (rx->tail == q)
                rx->tail = prev;
}

static void start_head(struct rx *rx) {
        if (rx->head && !rx->head->started)
                start(rx->head);
}

/* The message's outcome: the receiver's health, the caller's callback,
 * the next message of the receiver. */
static void finish(struct dc09link_req *q, bool ok, const char *answer, const char *why) {
        struct rx *rx = q->rx;
        struct dc09link *l = rx->l;
        struct dc09link_result res = {
                .delivered = ok, .receiver = rx->conf->id, .seq = q->seq, .naks = q->naks,
        };

        close_attempt(q);
        unlink_req(q);
        snprintf(res.answer, sizeof res.answer, "%s", answer ? answer : "");
        snprintf(res.why, sizeof res.why, "%s", why ? why : "");
        if (ok) {
                rx->failures = 0;
                if (rx->down) {
                        rx->down = false;
                        log_notice("dc09: receiver %s answers again", rx->conf->id);
                        if (l->health)
                                l->health(rx->index, false, 0, l->userdata);
                }
        } else {
                rx->failures++;
                log_warning("dc09: %s to receiver %s (%s:%u) failed (%u in a row): %s",
                            q->null_msg ? "supervision message" : "report", rx->conf->id, rx->conf->host,
                            rx->conf->port, rx->failures, why);
                if (rx->failures >= DC09LINK_DOWN_AFTER && !rx->down) {
                        rx->down = true;
                        log_error("dc09: receiver %s does not answer (%u failures in a row)%s%s", rx->conf->id,
                                  rx->failures, rx->conf->fallback ? ": its reports go to " : "",
                                  rx->conf->fallback ? rx->conf->fallback : "");
                        if (l->health)
                                l->health(rx->index, true, rx->failures, l->userdata);
                }
        }
        if (q->done && !q->cancelled)
                q->done(&res, q->userdata);
        free(q);
        start_head(rx);
}

static int send_frame(struct dc09link_req *q) {
        const struct receiver_conf *c = q->rx->conf;
        char data[256], frame[DC09_MAX_FRAME + 1];
        struct dc09_frame f = {
                .id = DC09_ID_NULL, .seq = q->seq, .receiver = c->receiver, .line = c->line, .account = c->account,
                .has_timestamp = true, .timestamp = (int64_t) time(NULL),
                .key = c->key_len ? c->key : NULL, .key_len = c->key_len, .random = pad_random,
        };
        ssize_t w;
        int n;

        if (!q->null_msg) {
                struct dc09_event ev = q->ev;
                ev.sos_personal = c->sos == 1;
                n = dc09_event_data((enum dc09_format) c->format, c->account, &ev, data, sizeof data);
                if (n < 0) {
                        snprintf(q->why, sizeof q->why, "cannot write event %s: %s", q->name, strerror(-n));
                        return n;
                }
                f.id = dc09_format_id((enum dc09_format) c->format);
                f.data = data;
        }
        n = dc09_build(&f, frame, sizeof frame);
        if (n < 0) {
                snprintf(q->why, sizeof q->why, "cannot build the frame: %s", strerror(-n));
                return n;
        }
        w = send(q->fd, frame, (size_t) n, MSG_NOSIGNAL);
        if (w != n) {
                snprintf(q->why, sizeof q->why, "cannot send: %s", w < 0 ? strerror(errno) : "short write");
                return -EIO;
        }
        log_debug("dc09: sent %s seq %04u to %s", q->null_msg ? "NULL" : q->name, q->seq, c->id);
        return 0;
}

/* One whole frame from the receiver: the answer, or not ours. True if it
 * ended the message (q is gone). */
static bool on_frame(struct dc09link_req *q, const char *buf, size_t len) {
        const struct receiver_conf *c = q->rx->conf;
        struct dc09_msg *m = malloc(sizeof *m);
        char answer[64], why[200];
        enum dc09_verdict v;

        if (!m) {
                finish(q, false, NULL, "out of memory");
                return true;
        }
        if (dc09_parse(buf, len, c->key_len ? c->key : NULL, c->key_len, m) < 0) {
                log_debug("dc09: unreadable answer from %s ignored: %s", c->id, dc09_error_to_string(m->error));
                free(m);
                return false;
        }
        v = dc09_answer_verdict(m, q->seq, c->account, c->key_len > 0);
        switch (v) {
        case DC09_VERDICT_ACK:
                snprintf(answer, sizeof answer, "ACK %04u from %s", q->seq, c->id);
                free(m);
                finish(q, true, answer, NULL);
                return true;
        case DC09_VERDICT_NAK: {
                long long skew = m->has_timestamp ? (long long) (m->timestamp - (int64_t) time(NULL)) : 0;
                q->naks++;
                log_warning("dc09: receiver %s refused seq %04u (NAK %u)%s%lld s; our clock is %s", c->id, q->seq,
                            q->naks, m->has_timestamp ? ": its clock minus ours is " : "", skew,
                            clock_sync_state() == CLOCK_UNSYNCED ? "NOT synchronised" : "synchronised");
                free(m);
                if (q->naks >= DC09LINK_NAK_MAX) {
                        snprintf(why, sizeof why, "NAK %u times (timestamp window or key)", q->naks);
                        finish(q, false, NULL, why);
                        return true;
                }
                /* Again with a fresh timestamp, on the same connection. */
                if (send_frame(q) < 0) {
                        finish(q, false, NULL, q->why);
                        return true;
                }
                return false;
        }
        case DC09_VERDICT_DUH:
                free(m);
                finish(q, false, NULL, "DUH: the receiver could not process it");
                return true;
        default:
                free(m);
                return false;
        }
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct dc09link_req *q = userdata;
        bool udp = q->rx->conf->transport == RECEIVER_UDP;
        char why[200];

        if (!q->connected) {
                int err = 0;
                socklen_t el = sizeof err;
                if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0)
                        err = errno;
                if (err) {
                        snprintf(why, sizeof why, "cannot connect: %s", strerror(err));
                        finish(q, false, NULL, why);
                        return 0;
                }
                q->connected = true;
                (void) sd_event_source_set_io_events(q->io, EPOLLIN);
                if (send_frame(q) < 0)
                        finish(q, false, NULL, q->why);
                return 0;
        }
        for (;;) {
                ssize_t r = recv(fd, q->in + q->in_len, sizeof q->in - q->in_len, 0);
                size_t st, fl;
                int found;

                if (r < 0 && (errno == EAGAIN || errno == EINTR))
                        return 0;
                if (r < 0 || (r == 0 && !udp)) {
                        snprintf(why, sizeof why, "%s", r < 0 ? strerror(errno) : "connection closed without an answer");
                        finish(q, false, NULL, why);
                        return 0;
                }
                if (udp) {
                        if (on_frame(q, q->in, (size_t) r))     /* a datagram is a frame */
                                return 0;
                        continue;
                }
                q->in_len += (size_t) r;
                while ((found = dc09_frame_find(q->in, q->in_len, &st, &fl)) != 0) {
                        if (found < 0) {
                                memmove(q->in, q->in + st, q->in_len - st);
                                q->in_len -= st;
                                continue;
                        }
                        char frame[DC09_MAX_FRAME];
                        memcpy(frame, q->in + st, fl);
                        memmove(q->in, q->in + st + fl, q->in_len - st - fl);
                        q->in_len -= st + fl;
                        if (on_frame(q, frame, fl))
                                return 0;       /* q is gone */
                }
                if (q->in_len == sizeof q->in)
                        q->in_len = 0;  /* garbage without a frame: drop it */
        }
}

static int on_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        struct dc09link_req *q = userdata;
        char why[300], d[32];

        if (q->why[0])
                snprintf(why, sizeof why, "%s", q->why);
        else
                snprintf(why, sizeof why, "no answer within %s",
                         format_duration(d, sizeof d, q->rx->conf->timeout));
        finish(q, false, NULL, why);
        return 0;
}

static int open_socket(struct dc09link_req *q) {
        const struct receiver_conf *c = q->rx->conf;
        struct addrinfo hints = {
                .ai_socktype = c->transport == RECEIVER_UDP ? SOCK_DGRAM : SOCK_STREAM,
                .ai_flags = AI_ADDRCONFIG,
        }, *ai = NULL;
        char port[8];
        int r;

        snprintf(port, sizeof port, "%u", c->port);
        /* Blocking name resolution: receivers are configured by address
         * or by a name in /etc/hosts on a gateway; see docs/DC09.md. */
        r = getaddrinfo(c->host, port, &hints, &ai);
        if (r != 0) {
                snprintf(q->why, sizeof q->why, "cannot resolve %s: %s", c->host, gai_strerror(r));
                return -EHOSTUNREACH;
        }
        q->fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (q->fd < 0) {
                r = -errno;
                snprintf(q->why, sizeof q->why, "cannot open a socket: %s", strerror(-r));
                freeaddrinfo(ai);
                return r;
        }
        r = connect(q->fd, ai->ai_addr, ai->ai_addrlen);
        freeaddrinfo(ai);
        if (r < 0 && errno != EINPROGRESS) {
                r = -errno;
                snprintf(q->why, sizeof q->why, "cannot connect: %s", strerror(-r));
                return r;
        }
        return r < 0 ? 1 : 0;   /* 1: connecting */
}

static void start(struct dc09link_req *q) {
        struct rx *rx = q->rx;
        struct dc09link *l = rx->l;
        bool connecting;
        int r;

        q->started = true;
        q->seq = rx->seq = dc09_seq_next(rx->seq);
        /* The answer's deadline is the network's, in real time. A failure
         * found now is told from the timer too, never from inside
         * dc09link_send(). */
        r = sd_event_add_time_relative(l->event, &q->timer, CLOCK_MONOTONIC, rx->conf->timeout, 0, on_timeout, q);
        if (r < 0) {
                log_error_errno(r, "dc09: cannot add a timer: %m");
                return;
        }
        r = open_socket(q);
        connecting = r == 1;
        if (r >= 0 && (r = sd_event_add_io(l->event, &q->io, q->fd, connecting ? EPOLLOUT : EPOLLIN, on_io, q)) < 0)
                snprintf(q->why, sizeof q->why, "cannot watch the socket: %s", strerror(-r));
        if (r >= 0 && !connecting) {
                q->connected = true;
                if (send_frame(q) < 0)
                        r = -EIO;
        }
        if (r < 0)
                (void) sd_event_source_set_time_relative(q->timer, 0);
}

static struct dc09link_req *enqueue(struct rx *rx, bool null_msg, const struct dc09_event *ev,
                                    dc09link_done_fn done, void *userdata) {
        struct dc09link_req *q = calloc(1, sizeof *q);

        if (!q)
                return NULL;
        q->rx = rx;
        q->fd = -1;
        q->null_msg = null_msg;
        q->done = done;
        q->userdata = userdata;
        if (ev) {
                q->ev = *ev;
                snprintf(q->name, sizeof q->name, "%s", ev->name);
                q->ev.name = q->name;
        }
        if (rx->tail)
                rx->tail->next = q;
        else
                rx->head = q;
        rx->tail = q;
        start_head(rx);
        return q;
}

int dc09link_send(struct dc09link *l, unsigned receiver, const struct dc09_event *ev, dc09link_done_fn done,
                  void *userdata, struct dc09link_req **ret) {
        struct rx *rx;
        struct dc09link_req *q;
        int fb;

        if (!l || receiver >= l->n_rx || !ev || !ev->name)
                return -EINVAL;
        rx = &l->rx[receiver];
        fb = rx->conf->fallback_index;
        if (rx->down && fb >= 0 && (size_t) fb < l->n_rx && !l->rx[fb].down)
                rx = &l->rx[fb];
        q = enqueue(rx, false, ev, done, userdata);
        if (!q)
                return -ENOMEM;
        if (ret)
                *ret = q;
        return 0;
}

void dc09link_cancel(struct dc09link_req *q) {
        struct rx *rx;

        if (!q)
                return;
        rx = q->rx;
        if (q->started) {
                /* In flight: abandoned; the next one goes. */
                close_attempt(q);
                unlink_req(q);
                free(q);
                start_head(rx);
                return;
        }
        unlink_req(q);
        free(q);
}

bool dc09link_is_down(const struct dc09link *l, unsigned receiver) {
        return l && receiver < l->n_rx && l->rx[receiver].down;
}

/* --- supervision and test reports ------------------------------------------------- */

static bool null_waiting(const struct rx *rx) {
        for (const struct dc09link_req *q = rx->head; q; q = q->next)
                if (q->null_msg)
                        return true;
        return false;
}

static int on_supervision(sd_event_source *s, uint64_t usec, void *userdata) {
        struct rx *rx = userdata;

        /* The receiver itself, never its fallback: this is how it is seen
         * to be back. */
        if (!null_waiting(rx) && !enqueue(rx, true, NULL, NULL, NULL))
                log_error("dc09: out of memory for a supervision message");
        (void) sd_event_source_set_time_relative(s, clock_real_duration(rx->conf->supervision));
        return 0;
}

static void on_test_done(const struct dc09link_result *r, void *userdata) {
        if (r->delivered)
                log_info("dc09: periodic test report (602) acknowledged: %s", r->answer);
        else
                log_warning("dc09: periodic test report (602) to %s not acknowledged: %s", r->receiver, r->why);
}

static int on_test(sd_event_source *s, uint64_t usec, void *userdata) {
        struct rx *rx = userdata;
        struct dc09_event ev = { .name = "test", .group = 1, .zone = 0 };

        if (!enqueue(rx, false, &ev, on_test_done, NULL))
                log_error("dc09: out of memory for a test report");
        (void) sd_event_source_set_time_relative(s, clock_real_duration(rx->conf->test_interval));
        return 0;
}

int dc09link_new(sd_event *e, const struct config *cfg, dc09link_health_fn health, void *userdata,
                 struct dc09link **ret) {
        struct dc09link *l = calloc(1, sizeof *l);
        int r = 0;

        if (!l)
                return -ENOMEM;
        l->event = sd_event_ref(e);
        l->cfg = cfg;
        l->health = health;
        l->userdata = userdata;
        l->n_rx = cfg->n_receivers;
        l->rx = calloc(l->n_rx + 1, sizeof *l->rx);
        if (!l->rx) {
                dc09link_free(l);
                return -ENOMEM;
        }
        for (size_t i = 0; i < l->n_rx; i++) {
                struct rx *rx = &l->rx[i];
                rx->l = l;
                rx->index = (unsigned) i;
                rx->conf = &cfg->receivers[i];
                if (!rx->conf->key_len)
                        log_warning("dc09: reports to receiver %s (%s) are NOT encrypted", rx->conf->id,
                                    rx->conf->host);
                if (rx->conf->supervision && r >= 0)
                        r = sd_event_add_time_relative(e, &rx->supervision, CLOCK_MONOTONIC,
                                                       clock_real_duration(rx->conf->supervision), 0,
                                                       on_supervision, rx);
                if (rx->conf->supervision && r >= 0)
                        r = sd_event_source_set_enabled(rx->supervision, SD_EVENT_ON);
                if (rx->conf->test_interval && r >= 0)
                        r = sd_event_add_time_relative(e, &rx->test, CLOCK_MONOTONIC,
                                                       clock_real_duration(rx->conf->test_interval), 0, on_test, rx);
                if (rx->conf->test_interval && r >= 0)
                        r = sd_event_source_set_enabled(rx->test, SD_EVENT_ON);
        }
        if (r < 0) {
                dc09link_free(l);
                return r;
        }
        *ret = l;
        return 0;
}

void dc09link_free(struct dc09link *l) {
        if (!l)
                return;
        for (size_t i = 0; l->rx && i < l->n_rx; i++) {
                struct rx *rx = &l->rx[i];
                while (rx->head) {
                        struct dc09link_req *q = rx->head;
                        close_attempt(q);
                        rx->head = q->next;
                        free(q);
                }
                sd_event_source_disable_unref(rx->supervision);
                sd_event_source_disable_unref(rx->test);
        }
        free(l->rx);
        sd_event_unref(l->event);
        free(l);
}
