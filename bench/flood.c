/* The load generator's engine: see flood.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "flood.h"
#include "harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define FLOOD_KEEPALIVE 600             /* s: no PINGREQ during a run */
#define COUNTER_CHUNK (256 * 1024)

static void on_flood_connect(struct mosquitto *m, void *ud, int rc) {
        struct flood *f = ud;

        (void) m;
        f->connected = rc == 0;
}

void flood_connect(struct flood *f, const char *host, unsigned port) {
        uint64_t deadline = now_ns() + SETUP_DEADLINE;

        memset(f, 0, sizeof *f);
        f->mosq = mosquitto_new(NULL, true, f);
        if (!f->mosq)
                die("mosquitto_new failed");
        /* As the latency bench's publisher: with Nagle, loopback's 64 KiB
         * segments would hold a message for tens of ms at moderate rates. */
        mosquitto_int_option(f->mosq, MOSQ_OPT_TCP_NODELAY, 1);
        mosquitto_connect_callback_set(f->mosq, on_flood_connect);
        if (mosquitto_connect(f->mosq, host, (int) port, FLOOD_KEEPALIVE) != MOSQ_ERR_SUCCESS)
                die("the load generator cannot connect to %s:%u", host, port);
        while (!f->connected)
                if (now_ns() > deadline || mosquitto_loop(f->mosq, 50, 1) != MOSQ_ERR_SUCCESS)
                        die("the load generator got no CONNACK from %s:%u within 10 s", host, port);
}

static void on_flood_publish(struct mosquitto *m, void *ud, int mid) {
        struct flood *f = ud;

        (void) m, (void) mid;
        f->acked++;
}

void flood_set_qos(struct flood *f, int qos, unsigned inflight) {
        f->qos = qos;
        /* Never more than the library puts in flight: the rest would wait
         * inside libmosquitto, and "offered" would not mean written. */
        f->window = inflight ? inflight : 65535;
        mosquitto_max_inflight_messages_set(f->mosq, (unsigned) f->window);
        mosquitto_publish_callback_set(f->mosq, on_flood_publish);
}

/* QoS 1: reads the PUBACKs that have arrived, without waiting. */
static void read_acks(struct flood *f) {
        struct pollfd p = { .fd = mosquitto_socket(f->mosq), .events = POLLIN };

        while (poll(&p, 1, 0) > 0 && (p.revents & POLLIN))
                if (mosquitto_loop_read(f->mosq, 1) != MOSQ_ERR_SUCCESS)
                        die("the load generator lost its broker connection");
}

void flood_disconnect(struct flood *f) {
        if (!f->mosq)
                return;
        mosquitto_disconnect(f->mosq);
        mosquitto_destroy(f->mosq);
        f->mosq = NULL;
}

/* Waits up to 1 ms for the socket to take more; reads whatever the broker
 * sent meanwhile. Returns the time waited. */
static uint64_t wait_writable(struct flood *f) {
        struct pollfd p = { .fd = mosquitto_socket(f->mosq), .events = POLLOUT | POLLIN };
        uint64_t t0 = now_ns();

        if (poll(&p, 1, 1) > 0) {
                if (p.revents & (POLLIN | POLLERR | POLLHUP))
                        if (mosquitto_loop_read(f->mosq, 1) != MOSQ_ERR_SUCCESS)
                                die("the load generator lost its broker connection");
                if (p.revents & POLLOUT)
                        (void) mosquitto_loop_write(f->mosq, 1);
        }
        return now_ns() - t0;
}

void flood_run(struct flood *f, double rate, uint64_t duration, flood_next_fn next, void *ud,
               flood_tick_fn tick, void *tick_ud, const volatile bool *stop, struct flood_result *r) {
        uint64_t start = now_ns(), end = start + duration, stalled = 0;
        unsigned long sent = 0, batch = rate > 0 ? (unsigned long) (rate / 2000) : 64;

        if (batch < 1)
                batch = 1;
        for (;;) {
                uint64_t now = now_ns();
                unsigned long due;

                if (now >= end || (stop && *stop) || interrupted)
                        break;
                due = rate > 0 ? (unsigned long) ((double) (now - start) * rate / 1e9) + 1 : sent + batch;
                while (sent < due) {
                        const char *topic, *payload;
                        int len, rc;

                        if (mosquitto_want_write(f->mosq)) {
                                (void) mosquitto_loop_write(f->mosq, 1);
                                if (mosquitto_want_write(f->mosq)) {
                                        stalled += wait_writable(f);
                                        break;
                                }
                        }
                        if (f->qos && f->sent - f->acked >= f->window) {
                                struct pollfd p = { .fd = mosquitto_socket(f->mosq), .events = POLLIN };
                                uint64_t t0 = now_ns();

                                if (poll(&p, 1, 1) > 0 && mosquitto_loop_read(f->mosq, 1) != MOSQ_ERR_SUCCESS)
                                        die("the load generator lost its broker connection");
                                stalled += now_ns() - t0;
                                break;
                        }
                        next(ud, f->sent, &topic, &payload, &len);
                        rc = mosquitto_publish(f->mosq, NULL, topic, len, payload, f->qos, false);
                        if (rc != MOSQ_ERR_SUCCESS)
                                die("load generator: publish failed: %s", mosquitto_strerror(rc));
                        f->sent++;
                        sent++;
                }
                if (f->qos)
                        read_acks(f);
                if (tick)
                        tick(tick_ud, now_ns());
                if (rate > 0 && sent >= due) {
                        uint64_t at = start + (uint64_t) ((double) (sent + batch) * 1e9 / rate);
                        struct timespec ts;

                        if (at > end)
                                at = end;
                        deadline_to_timespec(at, &ts);
                        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR && !interrupted)
                                ;
                }
        }
        /* Offered means written: the clock stops when the last byte is. */
        while (mosquitto_want_write(f->mosq) && !interrupted) {
                (void) mosquitto_loop_write(f->mosq, 1);
                if (mosquitto_want_write(f->mosq))
                        stalled += wait_writable(f);
        }
        /* QoS 1: the clock stops when the broker has acknowledged it all (at most 10 s more). */
        for (uint64_t deadline = now_ns() + 10 * NSEC_PER_SEC; f->qos && f->acked < f->sent && !interrupted &&
                                                                now_ns() < deadline;) {
                struct pollfd p = { .fd = mosquitto_socket(f->mosq), .events = POLLIN };
                if (poll(&p, 1, 10) > 0 && mosquitto_loop_read(f->mosq, 1) != MOSQ_ERR_SUCCESS)
                        die("the load generator lost its broker connection");
                if (mosquitto_want_write(f->mosq))
                        (void) mosquitto_loop_write(f->mosq, 1);
        }
        r->sent = sent;
        r->elapsed_ns = now_ns() - start;
        r->rate = r->elapsed_ns ? (double) sent * 1e9 / (double) r->elapsed_ns : 0;
        r->stalled_ns = stalled;
        r->acked = f->acked;
}

/* --- the raw counter --- */

struct parse_state {
        int stage;                      /* 0: fixed header byte, 1: length bytes, 2: body */
        unsigned char type;
        uint32_t remaining, mult;
};

static bool send_all(int fd, const void *buf, size_t n) {
        const char *p = buf;

        while (n > 0) {
                ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        return false;
                p += k;
                n -= (size_t) k;
        }
        return true;
}

/* A whole packet of type t was read. */
static void counter_packet(struct mqtt_counter *c, unsigned char t, unsigned long *pubs) {
        static const unsigned char connack[] = { 0x20, 0x02, 0x00, 0x00 }, pingresp[] = { 0xd0, 0x00 };

        switch (t) {
        case 1: (void) send_all(c->fd, connack, sizeof connack); break;        /* CONNECT (sink) */
        case 3: (*pubs)++; break;
        case 9:                                                                 /* SUBACK */
                pthread_mutex_lock(&c->lock);
                c->subscribed = true;
                pthread_mutex_unlock(&c->lock);
                break;
        case 12: (void) send_all(c->fd, pingresp, sizeof pingresp); break;     /* PINGREQ */
        default: break;
        }
}

/* Walks a chunk, packet by packet, across chunk boundaries. */
static void counter_parse(struct mqtt_counter *c, struct parse_state *ps, const unsigned char *b, size_t n) {
        unsigned long pubs = 0;
        size_t i = 0;

        while (i < n) {
                switch (ps->stage) {
                case 0:
                        ps->type = b[i++] >> 4;
                        ps->remaining = 0;
                        ps->mult = 1;
                        ps->stage = 1;
                        break;
                case 1:
                        ps->remaining += (uint32_t) (b[i] & 0x7f) * ps->mult;
                        ps->mult *= 128;
                        if (!(b[i++] & 0x80)) {
                                ps->stage = 2;
                                if (ps->remaining == 0) {
                                        counter_packet(c, ps->type, &pubs);
                                        ps->stage = 0;
                                }
                        }
                        break;
                default: {
                        size_t take = n - i < ps->remaining ? n - i : ps->remaining;
                        i += take;
                        ps->remaining -= (uint32_t) take;
                        if (ps->remaining == 0) {
                                counter_packet(c, ps->type, &pubs);
                                ps->stage = 0;
                        }
                }
                }
        }
        if (pubs) {
                uint64_t at = now_ns();
                pthread_mutex_lock(&c->lock);
                c->publishes += pubs;
                c->last_at = at;
                pthread_mutex_unlock(&c->lock);
        }
}

static void *counter_main(void *ud) {
        struct mqtt_counter *c = ud;
        struct parse_state ps = { 0 };
        unsigned char *buf = malloc(COUNTER_CHUNK);

        if (!buf)
                return NULL;
        for (;;) {
                struct pollfd p[2] = { { .fd = c->wake[0], .events = POLLIN },
                                       { .fd = c->fd >= 0 ? c->fd : c->listen_fd, .events = POLLIN } };
                ssize_t k;

                if (poll(p, 2, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        break;
                }
                if (p[0].revents)
                        break;
                if (!p[1].revents)
                        continue;
                if (c->fd < 0) {
                        c->fd = accept4(c->listen_fd, NULL, NULL, SOCK_CLOEXEC);
                        ps = (struct parse_state) { 0 };
                        continue;
                }
                k = read(c->fd, buf, COUNTER_CHUNK);
                if (k < 0 && (errno == EINTR || errno == EAGAIN))
                        continue;
                if (k <= 0) {
                        close(c->fd);
                        c->fd = -1;
                        if (c->listen_fd < 0)
                                break;          /* a subscriber whose broker went away */
                        continue;
                }
                counter_parse(c, &ps, buf, (size_t) k);
        }
        free(buf);
        return NULL;
}

static void counter_init(struct mqtt_counter *c) {
        memset(c, 0, sizeof *c);
        c->listen_fd = c->fd = -1;
        pthread_mutex_init(&c->lock, NULL);
        if (pipe2(c->wake, O_CLOEXEC) < 0)
                die("pipe: %s", strerror(errno));
}

static void counter_thread(struct mqtt_counter *c) {
        int r = pthread_create(&c->thread, NULL, counter_main, c);

        if (r != 0)
                die("cannot start a counter thread: %s", strerror(r));
        c->running = true;
}

unsigned counter_start_sink(struct mqtt_counter *c) {
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t l = sizeof a;

        counter_init(c);
        c->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (c->listen_fd < 0 || bind(c->listen_fd, (struct sockaddr *) &a, sizeof a) < 0 ||
            listen(c->listen_fd, 4) < 0 || getsockname(c->listen_fd, (struct sockaddr *) &a, &l) < 0)
                die("sink: cannot listen on 127.0.0.1: %s", strerror(errno));
        c->port = ntohs(a.sin_port);
        counter_thread(c);
        return c->port;
}

size_t flood_put_length(unsigned char *p, size_t len) {
        size_t n = 0;

        do {
                unsigned char b = len % 128;
                len /= 128;
                p[n++] = (unsigned char) (b | (len ? 0x80 : 0));
        } while (len);
        return n;
}

void counter_start_subscriber(struct mqtt_counter *c, unsigned port, const char *topic) {
        static const char id[] = "anju-bench-counter";
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t) port),
                                 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        unsigned char pkt[512], body[400];
        size_t tl = strlen(topic), bl = 0, n = 0;
        uint64_t deadline = now_ns() + SETUP_DEADLINE;
        bool done = false;

        if (tl > 300)
                die("counter: topic too long");
        counter_init(c);
        c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (c->fd < 0 || connect(c->fd, (struct sockaddr *) &a, sizeof a) < 0)
                die("counter: cannot connect to the broker on port %u: %s", port, strerror(errno));
        /* CONNECT: "MQTT", level 4, clean session, keepalive 600 s, client id. */
        memcpy(body, "\x00\x04MQTT\x04\x02\x02\x58", 10);
        bl = 10;
        body[bl++] = 0;
        body[bl++] = sizeof id - 1;
        memcpy(body + bl, id, sizeof id - 1);
        bl += sizeof id - 1;
        pkt[n++] = 0x10;
        n += flood_put_length(pkt + n, bl);
        memcpy(pkt + n, body, bl);
        n += bl;
        /* SUBSCRIBE: packet id 1, topic, QoS 0. */
        bl = 0;
        body[bl++] = 0;
        body[bl++] = 1;
        body[bl++] = (unsigned char) (tl >> 8);
        body[bl++] = (unsigned char) tl;
        memcpy(body + bl, topic, tl);
        bl += tl;
        body[bl++] = 0;
        pkt[n++] = 0x82;
        n += flood_put_length(pkt + n, bl);
        memcpy(pkt + n, body, bl);
        n += bl;
        if (!send_all(c->fd, pkt, n))
                die("counter: cannot send CONNECT: %s", strerror(errno));
        counter_thread(c);
        while (!done) {
                pthread_mutex_lock(&c->lock);
                done = c->subscribed;
                pthread_mutex_unlock(&c->lock);
                if (!done && (now_ns() > deadline || interrupted))
                        die("counter: no SUBACK from the broker within 10 s");
                if (!done)
                        sleep_ns(2 * NSEC_PER_MSEC, true);
        }
}

unsigned long counter_get(struct mqtt_counter *c, uint64_t *last_at) {
        unsigned long n;

        pthread_mutex_lock(&c->lock);
        n = c->publishes;
        if (last_at)
                *last_at = c->last_at;
        pthread_mutex_unlock(&c->lock);
        return n;
}

void counter_stop(struct mqtt_counter *c) {
        if (!c->running)
                return;
        (void) !write(c->wake[1], "x", 1);
        pthread_join(c->thread, NULL);
        close(c->wake[0]);
        close(c->wake[1]);
        if (c->fd >= 0)
                close(c->fd);
        if (c->listen_fd >= 0)
                close(c->listen_fd);
        c->running = false;
}

/* --- the feeder --- */

#define FEEDER_PACKET_MAX (1 << 20)

struct feeder_parse {
        int stage;                      /* 0: header byte, 1: length, 2: body */
        unsigned char hdr;
        uint32_t remaining, mult, len;
        unsigned char *body;
        size_t cap;
};

/* Writes all of buf; the caller holds f->lock. Returns the time spent
 * waiting for the socket to take more. */
static uint64_t feeder_write_locked(struct feeder *f, const unsigned char *buf, size_t n) {
        uint64_t waited = 0;

        while (n > 0 && f->fd >= 0) {
                ssize_t k = send(f->fd, buf, n, MSG_NOSIGNAL | MSG_DONTWAIT);
                if (k > 0) {
                        buf += k;
                        n -= (size_t) k;
                } else if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                        struct pollfd p = { .fd = f->fd, .events = POLLOUT };
                        uint64_t t0 = now_ns();
                        (void) poll(&p, 1, 100);
                        waited += now_ns() - t0;
                        if (interrupted)
                                break;
                } else if (k < 0 && errno == EINTR) {
                        continue;
                } else {
                        break;          /* the client went away: the reader sees it */
                }
        }
        return waited;
}

static void feeder_reply(struct feeder *f, const unsigned char *buf, size_t n) {
        pthread_mutex_lock(&f->lock);
        (void) feeder_write_locked(f, buf, n);
        pthread_mutex_unlock(&f->lock);
}

static void feeder_packet(struct feeder *f, unsigned char hdr, const unsigned char *b, uint32_t len) {
        static const unsigned char connack[] = { 0x20, 0x02, 0x00, 0x00 }, pingresp[] = { 0xd0, 0x00 };
        unsigned char out[8];

        switch (hdr >> 4) {
        case 1:                                         /* CONNECT */
                feeder_reply(f, connack, sizeof connack);
                break;
        case 3: {                                       /* PUBLISH from the client */
                unsigned qos = (hdr >> 1) & 3;
                uint32_t tl = len >= 2 ? (uint32_t) (b[0] << 8 | b[1]) : 0, pos = 2 + tl;
                const unsigned char *payload;

                if (pos + (qos ? 2 : 0) > len)
                        break;
                payload = b + pos + (qos ? 2 : 0);
                if (tl == sizeof STATUS_TOPIC - 1 && memcmp(b + 2, STATUS_TOPIC, tl) == 0 &&
                    len - (uint32_t) (payload - b) == 6 && memcmp(payload, "online", 6) == 0) {
                        uint64_t at = now_ns();
                        pthread_mutex_lock(&f->lock);
                        f->online = true;
                        f->online_at = at;
                        pthread_cond_broadcast(&f->cond);
                        pthread_mutex_unlock(&f->lock);
                }
                if (qos == 1) {
                        out[0] = 0x40, out[1] = 2, out[2] = b[pos], out[3] = b[pos + 1];
                        feeder_reply(f, out, 4);
                }
                break;
        }
        case 8: {                                       /* SUBSCRIBE: grant what was asked */
                unsigned char *ack = malloc(len + 8);
                uint32_t pos = 2, n = 0;
                size_t h = 0;

                if (!ack || len < 2) {
                        free(ack);
                        break;
                }
                while (pos + 2 <= len) {
                        uint32_t tl = (uint32_t) (b[pos] << 8 | b[pos + 1]);
                        if (pos + 2 + tl >= len)
                                break;
                        pos += 2 + tl;
                        out[0] = b[pos++] & 3;
                        ack[8 + n++] = out[0];
                }
                ack[h++] = 0x90;
                {
                        unsigned char lb[4];
                        size_t ln = flood_put_length(lb, 2 + n);
                        memcpy(ack + h, lb, ln);
                        h += ln;
                }
                ack[h++] = b[0];
                ack[h++] = b[1];
                memmove(ack + h, ack + 8, n);
                feeder_reply(f, ack, h + n);
                free(ack);
                pthread_mutex_lock(&f->lock);
                f->subscriptions += n;
                pthread_mutex_unlock(&f->lock);
                break;
        }
        case 10:                                        /* UNSUBSCRIBE */
                if (len >= 2) {
                        out[0] = 0xb0, out[1] = 2, out[2] = b[0], out[3] = b[1];
                        feeder_reply(f, out, 4);
                }
                break;
        case 12:                                        /* PINGREQ */
                feeder_reply(f, pingresp, sizeof pingresp);
                break;
        default:
                break;
        }
}

static bool feeder_parse(struct feeder *f, struct feeder_parse *ps, const unsigned char *b, size_t n) {
        size_t i = 0;

        while (i < n) {
                switch (ps->stage) {
                case 0:
                        ps->hdr = b[i++];
                        ps->remaining = ps->len = 0;
                        ps->mult = 1;
                        ps->stage = 1;
                        break;
                case 1:
                        ps->remaining += (uint32_t) (b[i] & 0x7f) * ps->mult;
                        ps->mult *= 128;
                        if (!(b[i++] & 0x80)) {
                                if (ps->remaining > FEEDER_PACKET_MAX)
                                        return false;
                                if (ps->remaining > ps->cap) {
                                        unsigned char *nb = realloc(ps->body, ps->remaining);
                                        if (!nb)
                                                return false;
                                        ps->body = nb;
                                        ps->cap = ps->remaining;
                                }
                                ps->stage = 2;
                                if (ps->remaining == 0) {
                                        feeder_packet(f, ps->hdr, ps->body, 0);
                                        ps->stage = 0;
                                }
                        }
                        break;
                default: {
                        size_t take = n - i < ps->remaining - ps->len ? n - i : ps->remaining - ps->len;
                        memcpy(ps->body + ps->len, b + i, take);
                        ps->len += (uint32_t) take;
                        i += take;
                        if (ps->len == ps->remaining) {
                                feeder_packet(f, ps->hdr, ps->body, ps->len);
                                ps->stage = 0;
                        }
                }
                }
        }
        return true;
}

static void feeder_drop_client(struct feeder *f) {
        pthread_mutex_lock(&f->lock);
        if (f->fd >= 0)
                close(f->fd);
        f->fd = -1;
        f->online = false;
        f->subscriptions = 0;
        pthread_mutex_unlock(&f->lock);
}

static void *feeder_main(void *ud) {
        struct feeder *f = ud;
        struct feeder_parse ps = { 0 };
        unsigned char buf[65536];

        for (;;) {
                struct pollfd p[3] = { { .fd = f->wake[0], .events = POLLIN },
                                       { .fd = f->listen_fd, .events = POLLIN },
                                       { .fd = f->fd, .events = POLLIN } };
                ssize_t k;

                if (poll(p, f->fd >= 0 ? 3 : 2, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        break;
                }
                if (p[0].revents)
                        break;
                if (p[1].revents & POLLIN) {
                        int fd = accept4(f->listen_fd, NULL, NULL, SOCK_CLOEXEC), one = 1;
                        if (fd >= 0) {
                                setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                                feeder_drop_client(f);
                                pthread_mutex_lock(&f->lock);
                                f->fd = fd;
                                pthread_mutex_unlock(&f->lock);
                                ps.stage = 0;
                        }
                        continue;
                }
                if (f->fd < 0 || !p[2].revents)
                        continue;
                k = read(f->fd, buf, sizeof buf);
                if (k < 0 && (errno == EINTR || errno == EAGAIN))
                        continue;
                if (k <= 0 || !feeder_parse(f, &ps, buf, (size_t) k))
                        feeder_drop_client(f);
        }
        free(ps.body);
        return NULL;
}

unsigned feeder_start(struct feeder *f) {
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t l = sizeof a;
        int r;

        memset(f, 0, sizeof *f);
        f->fd = -1;
        pthread_mutex_init(&f->lock, NULL);
        init_mono_cond(&f->cond);
        if (pipe2(f->wake, O_CLOEXEC) < 0)
                die("pipe: %s", strerror(errno));
        f->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (f->listen_fd < 0 || bind(f->listen_fd, (struct sockaddr *) &a, sizeof a) < 0 ||
            listen(f->listen_fd, 4) < 0 || getsockname(f->listen_fd, (struct sockaddr *) &a, &l) < 0)
                die("feeder: cannot listen on 127.0.0.1: %s", strerror(errno));
        f->port = ntohs(a.sin_port);
        r = pthread_create(&f->thread, NULL, feeder_main, f);
        if (r != 0)
                die("cannot start the feeder thread: %s", strerror(r));
        f->running = true;
        return f->port;
}

void feeder_reset(struct feeder *f) {
        pthread_mutex_lock(&f->lock);
        f->online = false;
        pthread_mutex_unlock(&f->lock);
}

bool feeder_wait_online(struct feeder *f, uint64_t deadline, pid_t *child) {
        bool ok;

        pthread_mutex_lock(&f->lock);
        while (!f->online && now_ns() < deadline && !interrupted) {
                uint64_t slice = now_ns() + 50 * NSEC_PER_MSEC;
                struct timespec ts;

                deadline_to_timespec(slice < deadline ? slice : deadline, &ts);
                pthread_cond_timedwait(&f->cond, &f->lock, &ts);
                if (child && !f->online && !child_alive(child))
                        break;
        }
        ok = f->online;
        pthread_mutex_unlock(&f->lock);
        return ok;
}

/* Appends a QoS 0 PUBLISH to the batch. */
static void feeder_append(struct feeder *f, const char *topic, const char *payload, int plen) {
        size_t tl = strlen(topic), rem = 2 + tl + (size_t) plen, need = 1 + 4 + rem;

        if (f->len + need > f->cap) {
                size_t cap = f->cap ? f->cap * 2 : 65536;
                unsigned char *nb;

                while (cap < f->len + need)
                        cap *= 2;
                nb = realloc(f->batch, cap);
                if (!nb)
                        die("out of memory");
                f->batch = nb;
                f->cap = cap;
        }
        f->batch[f->len++] = 0x30;
        f->len += flood_put_length(f->batch + f->len, rem);
        f->batch[f->len++] = (unsigned char) (tl >> 8);
        f->batch[f->len++] = (unsigned char) tl;
        memcpy(f->batch + f->len, topic, tl);
        f->len += tl;
        memcpy(f->batch + f->len, payload, (size_t) plen);
        f->len += (size_t) plen;
}

void feeder_run(struct feeder *f, double rate, uint64_t duration, flood_next_fn next, void *ud,
                flood_tick_fn tick, void *tick_ud, struct flood_result *r) {
        uint64_t start = now_ns(), end = start + duration, stalled = 0;
        unsigned long sent = 0, batch = rate > 0 ? (unsigned long) (rate / 2000) : 256;

        if (batch < 1)
                batch = 1;
        while (!interrupted) {
                uint64_t now = now_ns();
                unsigned long due;

                if (now >= end)
                        break;
                due = rate > 0 ? (unsigned long) ((double) (now - start) * rate / 1e9) + 1 : sent + batch;
                if (due > sent + 4 * batch)
                        due = sent + 4 * batch;         /* behind: catch up in bounded writes */
                f->len = 0;
                for (; sent < due; sent++) {
                        const char *topic, *payload;
                        int len;

                        next(ud, sent, &topic, &payload, &len);
                        feeder_append(f, topic, payload, len);
                }
                pthread_mutex_lock(&f->lock);
                stalled += feeder_write_locked(f, f->batch, f->len);
                pthread_mutex_unlock(&f->lock);
                if (tick)
                        tick(tick_ud, now_ns());
                if (rate > 0 && sent >= (unsigned long) ((double) (now_ns() - start) * rate / 1e9)) {
                        uint64_t at = start + (uint64_t) ((double) (sent + batch) * 1e9 / rate);
                        struct timespec ts;

                        if (at > end)
                                at = end;
                        deadline_to_timespec(at, &ts);
                        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR && !interrupted)
                                ;
                }
        }
        r->sent = sent;
        r->elapsed_ns = now_ns() - start;
        r->rate = r->elapsed_ns ? (double) sent * 1e9 / (double) r->elapsed_ns : 0;
        r->stalled_ns = stalled;
}

void feeder_stop(struct feeder *f) {
        if (!f->running)
                return;
        (void) !write(f->wake[1], "x", 1);
        pthread_join(f->thread, NULL);
        close(f->wake[0]);
        close(f->wake[1]);
        close(f->listen_fd);
        if (f->fd >= 0)
                close(f->fd);
        free(f->batch);
        f->running = false;
}
