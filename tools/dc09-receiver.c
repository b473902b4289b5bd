/* anju-dc09-receiver: a DC-09 alarm receiving centre test double, written
 * from the standard (SIA DC-09) on top of src/dc09.c. It listens on one port
 * of 127.0.0.1 for TCP and UDP, checks each frame (CRC, length, decryption,
 * the timestamp window) and answers as a central station receiver does:
 *
 *   ACK  received without error (encrypted when the message was);
 *   NAK  the timestamp is out of the window or the frame cannot be decrypted;
 *   DUH  received correctly but not understood (or --duh);
 *   nothing for a frame with a bad CRC, length or framing (the sender retries).
 *
 * Switches make it misbehave on demand (--nak-all, --duh, --silent,
 * --drop-first, --delay-ms, --clock-offset). It prints one JSON object per
 * received frame on stdout for the tests to read.
 *
 * One thread, poll(), non-blocking sockets; a delayed answer waits in a
 * queue whose earliest deadline feeds poll()'s timeout. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "dc09.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef ANJU_VERSION
#define ANJU_VERSION "0.1.0"
#endif

#define PROG "anju-dc09-receiver"
#define MAX_CONNS 64
#define MAX_PENDING 256
#define IN_MAX (2 * DC09_MAX_FRAME)     /* always room for one whole frame after noise */

struct options {
        const char *port_file;
        int port;
        uint8_t key[DC09_KEY_MAX];
        size_t key_len;                 /* 0: no key */
        long window_past, window_future, drop_first, delay_ms, clock_offset;
        long nak_first;                 /* NAK the first N frames it would ACK (then answer as usual) */
        bool nak_all, duh, silent, strict_time;
};

struct conn {
        int fd;
        unsigned serial;                /* tells a reused fd from the connection an answer was for */
        char in[IN_MAX];
        size_t len;
};

struct pending {
        long long due_ms;
        bool udp;
        int fd;
        unsigned serial;
        struct sockaddr_in peer;
        size_t len;
        char frame[DC09_MAX_FRAME + 1];
};

struct server {
        struct options *opt;
        int tcp_fd, udp_fd, signal_fd, port;
        struct conn conns[MAX_CONNS];
        size_t n_conns;
        unsigned next_serial;
        struct pending *pending[MAX_PENDING];
        size_t n_pending;
        long dropped;
        long naked;                     /* NAKs given for --nak-first */
};

static int signal_pipe_wr = -1;

static long long now_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The receiver's clock: the real one, shifted by --clock-offset so a test
 * can make the sender's timestamps fall out of the window. */
static int64_t receiver_time(const struct options *o) {
        return (int64_t) time(NULL) + o->clock_offset;
}

static int parse_long(const char *s, long min, long max, long *ret) {
        char *end;
        long v;

        errno = 0;
        v = strtol(s, &end, 10);
        if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
                return -EINVAL;
        *ret = v;
        return 0;
}

static void usage(FILE *f) {
        fprintf(f,
                "Usage: " PROG " [OPTIONS]\n"
                "A DC-09 (SIA Internet Protocol Event Reporting) receiving centre test double:\n"
                "listens on 127.0.0.1, TCP and UDP on the same port, checks each frame and\n"
                "answers ACK, NAK or DUH; prints one JSON object per received frame.\n\n"
                "  --port N             the port (default 0: an ephemeral one)\n"
                "  --port-file FILE     write the port there once listening (atomically)\n"
                "  --key HEX            AES key, 32/48/64 hex digits (AES-128/192/256)\n"
                "  --key-file FILE      the same, read from FILE\n"
                "  --window-past S      accept timestamps up to S s behind our clock (40)\n"
                "  --window-future S    and up to S s ahead of it (20)\n"
                "  --strict-time        check the timestamp of unencrypted frames too\n"
                "                       (DC-09 requires it only for encrypted ones)\n"
                "  --clock-offset S     pretend our clock is S seconds ahead (negative: behind)\n"
                "  --nak-all            answer NAK to every frame\n"
                "  --duh                answer DUH to every frame\n"
                "  --silent             never answer\n"
                "  --drop-first N       ignore the first N frames (no answer)\n"
                "  --nak-first N        NAK the first N frames it would ACK (a sender's resend\n"
                "                       with a fresh timestamp is then ACKed)\n"
                "  --delay-ms MS        hold each answer back MS milliseconds\n"
                "  --help, --version\n\n"
                "JSON fields: transport, seq, id, encrypted, receiver, line, account, data,\n"
                "xdata, timestamp (Unix s), skew (s, theirs minus ours), pad_len,\n"
                "pad_terminated, event {code, qualifier, group, zone}, error, verdict\n"
                "(ACK, NAK, DUH, none, silent, dropped), answer, frame. Bytes outside\n"
                "printable ASCII in answer and frame are written as \\xHH.\n");
}

static int key_option(struct options *o, const char *hex, const char *what) {
        int r = dc09_key_from_hex(hex, o->key, &o->key_len);

        if (r < 0)
                fprintf(stderr, PROG ": %s: not an AES key of 32, 48 or 64 hex digits\n", what);
        return r;
}

static int key_file_option(struct options *o, const char *path) {
        char *text = NULL;
        size_t len = 0;
        int r = read_secret_file(path, &text, &len);

        if (r < 0) {
                fprintf(stderr, PROG ": cannot read %s: %s\n", path, strerror(-r));
                return r;
        }
        r = key_option(o, text, path);
        explicit_bzero(text, len);
        free(text);
        return r;
}

/* Returns 0 to run, 1 when done (--help, --version), -EINVAL on bad use. */
static int parse_args(int argc, char **argv, struct options *o) {
        static const struct option longopts[] = {
                { "port", required_argument, NULL, 'p' }, { "port-file", required_argument, NULL, 'P' },
                { "key", required_argument, NULL, 'k' }, { "key-file", required_argument, NULL, 'K' },
                { "window-past", required_argument, NULL, 'b' },
                { "window-future", required_argument, NULL, 'f' },
                { "strict-time", no_argument, NULL, 'S' }, { "clock-offset", required_argument, NULL, 'c' },
                { "nak-all", no_argument, NULL, 'n' }, { "duh", no_argument, NULL, 'u' },
                { "silent", no_argument, NULL, 's' }, { "drop-first", required_argument, NULL, 'D' },
                { "nak-first", required_argument, NULL, 'N' },
                { "delay-ms", required_argument, NULL, 'd' }, { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, 'V' }, {}
        };
        long v = 0;
        int c, r;

        while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
                r = 0;
                switch (c) {
                case 'p': r = parse_long(optarg, 0, 65535, &v); o->port = (int) v; break;
                case 'P': o->port_file = optarg; break;
                case 'k': r = key_option(o, optarg, "--key"); break;
                case 'K': r = key_file_option(o, optarg); break;
                case 'b': r = parse_long(optarg, 0, 86400L * 365, &o->window_past); break;
                case 'f': r = parse_long(optarg, 0, 86400L * 365, &o->window_future); break;
                case 'S': o->strict_time = true; break;
                case 'c': r = parse_long(optarg, -86400L * 365 * 100, 86400L * 365 * 100, &o->clock_offset); break;
                case 'n': o->nak_all = true; break;
                case 'u': o->duh = true; break;
                case 's': o->silent = true; break;
                case 'D': r = parse_long(optarg, 0, 1000000000L, &o->drop_first); break;
                case 'N': r = parse_long(optarg, 0, 1000000000L, &o->nak_first); break;
                case 'd': r = parse_long(optarg, 0, 3600000L, &o->delay_ms); break;
                case 'h': usage(stdout); return 1;
                case 'V': printf(PROG " " ANJU_VERSION "\n"); return 1;
                default: usage(stderr); return -EINVAL;
                }
                if (r < 0) {
                        if (c != 'k' && c != 'K')
                                fprintf(stderr, PROG ": invalid value '%s'\n", optarg);
                        return r;
                }
        }
        if (optind < argc) {
                fprintf(stderr, PROG ": unexpected argument '%s'\n", argv[optind]);
                return -EINVAL;
        }
        return 0;
}

static void on_signal(int sig) {
        int saved = errno;
        char c = (char) sig;

        if (write(signal_pipe_wr, &c, 1) < 0) {
                /* the pipe is full: a wake-up is pending already */
        }
        errno = saved;
}

static int setup_signals(int *ret_fd) {
        struct sigaction sa = { .sa_handler = on_signal };
        int p[2];

        if (pipe2(p, O_NONBLOCK | O_CLOEXEC) < 0)
                return -errno;
        signal_pipe_wr = p[1];
        *ret_fd = p[0];
        sigemptyset(&sa.sa_mask);
        if (sigaction(SIGINT, &sa, NULL) < 0 || sigaction(SIGTERM, &sa, NULL) < 0)
                return -errno;
        sa.sa_handler = SIG_IGN;
        return sigaction(SIGPIPE, &sa, NULL) < 0 ? -errno : 0;
}

static int bind_loopback(int type, int port, int *ret_port) {
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t) port),
                                 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t len = sizeof a;
        int fd, one = 1, r;

        fd = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if ((type == SOCK_STREAM && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0) ||
            bind(fd, (struct sockaddr *) &a, len) < 0 || (type == SOCK_STREAM && listen(fd, 64) < 0) ||
            getsockname(fd, (struct sockaddr *) &a, &len) < 0) {
                r = -errno;
                close(fd);
                return r;
        }
        *ret_port = ntohs(a.sin_port);
        return fd;
}

/* TCP and UDP on one port; with port 0 a few tries, since the UDP port of
 * the TCP port the kernel picked may be taken. */
static int open_sockets(struct server *s) {
        for (int attempt = 0; attempt < 20; attempt++) {
                int port = 0, uport = 0;
                s->tcp_fd = bind_loopback(SOCK_STREAM, s->opt->port, &port);
                if (s->tcp_fd < 0)
                        return s->tcp_fd;
                s->udp_fd = bind_loopback(SOCK_DGRAM, port, &uport);
                if (s->udp_fd >= 0) {
                        s->port = port;
                        return 0;
                }
                close(s->tcp_fd);
                s->tcp_fd = -1;
                if (s->opt->port != 0)
                        return s->udp_fd;
        }
        return -EADDRINUSE;
}

static int write_port_file(const char *path, int port) {
        char *tmp;
        FILE *f;
        int r;

        if (asprintf(&tmp, "%s.tmp", path) < 0)
                return -ENOMEM;
        f = fopen(tmp, "we");
        r = !f ? -errno : fprintf(f, "%d\n", port) < 0 ? -EIO : 0;
        if (f && fclose(f) != 0 && r == 0)
                r = -errno;
        if (r == 0 && rename(tmp, path) < 0)
                r = -errno;
        if (r < 0 && f)
                unlink(tmp);
        free(tmp);
        return r;
}

/* Printable ASCII as is, everything else as \xHH: always valid UTF-8. */
static json_t *escaped(const char *p, size_t n) {
        char *out = malloc(4 * n + 1);
        size_t o = 0;
        json_t *j;

        if (!out)
                return json_null();
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char) p[i];
                if (c >= 0x20 && c <= 0x7e && c != '\\')
                        out[o++] = (char) c;
                else
                        o += (size_t) sprintf(out + o, "\\x%02X", c);
        }
        out[o] = 0;
        j = json_string(out);
        free(out);
        return j ? j : json_null();
}

static json_t *str_or_null(const char *s) {
        return s && *s ? json_string(s) : json_null();
}

static int pad_random(void *ud, void *buf, size_t n) {
        return random_bytes(buf, n);
}

/* Errors a NAK answers: the frame arrived whole but its encrypted content
 * could not be read, or lacks the timestamp it must have (5.5.3.2). */
static bool nak_error(const struct dc09_msg *m) {
        switch (m->error) {
        case DC09_E_NO_KEY:
        case DC09_E_DECRYPT:
        case DC09_E_NO_TIMESTAMP:
                return true;
        case DC09_E_DATA:
        case DC09_E_XDATA:
        case DC09_E_TIMESTAMP:
        case DC09_E_TRAILING:
                return m->encrypted;
        default:
                return false;
        }
}

/* Decides the answer to one frame, prints its JSON line, and returns the
 * answer frame's length in out (0 for no answer). */
static size_t handle_frame(struct server *s, const char *frame, size_t len, const char *transport, char *out,
                           size_t out_size) {
        static struct dc09_msg m;
        const struct options *o = s->opt;
        int64_t now = receiver_time(o);
        struct dc09_event_info ei;
        bool have_event = false;
        const char *verdict = "none", *why = NULL;
        enum dc09_id answer = _DC09_ID_INVALID;
        int r, n = 0;
        json_t *j;

        r = dc09_parse(frame, len, o->key_len ? o->key : NULL, o->key_len, &m);
        if (r == 0 && (m.id == DC09_ID_SIA_DCS || m.id == DC09_ID_ADM_CID))
                have_event = dc09_event_parse(m.id, m.data, &ei) == 0;
        if (r < 0) {
                why = dc09_error_to_string(m.error);
                if (nak_error(&m))
                        answer = DC09_ID_NAK;
        } else if ((m.encrypted || (o->strict_time && m.has_timestamp)) &&
                   !dc09_timestamp_in_window(m.timestamp, now, (unsigned) o->window_past,
                                             (unsigned) o->window_future)) {
                why = "timestamp out of the window";
                answer = DC09_ID_NAK;
        } else if (o->nak_all)
                answer = DC09_ID_NAK;
        else if (o->duh)
                answer = DC09_ID_DUH;
        else if (m.id == DC09_ID_SIA_DCS || m.id == DC09_ID_ADM_CID) {
                if (!have_event)
                        why = "event data not understood";
                answer = have_event ? DC09_ID_ACK : DC09_ID_DUH;
        } else if (m.id == DC09_ID_NULL)
                answer = DC09_ID_ACK;
        else if (m.id == DC09_ID_NAK)
                why = "a NAK sent to the receiver";     /* names no account to answer */
        else {
                why = "a receiver's answer sent to the receiver";
                answer = DC09_ID_DUH;
        }

        if (answer == DC09_ID_ACK && s->naked < o->nak_first) {
                s->naked++;
                why = "--nak-first";
                answer = DC09_ID_NAK;
        }
        if (answer != _DC09_ID_INVALID && o->silent) {
                verdict = "silent";
                answer = _DC09_ID_INVALID;
        } else if (answer != _DC09_ID_INVALID && s->dropped < o->drop_first) {
                s->dropped++;
                verdict = "dropped";
                answer = _DC09_ID_INVALID;
        }
        if (answer != _DC09_ID_INVALID) {
                bool enc = answer == DC09_ID_ACK && m.encrypted && o->key_len;
                struct dc09_frame f = {
                        .id = answer, .seq = m.seq, .receiver = m.receiver, .line = m.line,
                        .account = m.account, .has_timestamp = enc || answer == DC09_ID_NAK, .timestamp = now,
                        .key = enc ? o->key : NULL, .key_len = enc ? o->key_len : 0, .random = pad_random,
                };
                n = dc09_build(&f, out, out_size);
                if (n < 0) {
                        fprintf(stderr, PROG ": cannot build the %s: %s\n", dc09_id_to_string(answer),
                                strerror(-n));
                        n = 0;
                } else
                        verdict = dc09_id_to_string(answer);
        }

        j = json_pack("{s:s, s:I, s:o, s:b, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:I, s:b, s:o, s:o, s:s, s:o, s:o}",
                      "transport", transport, "seq", (json_int_t) m.seq,
                      "id", m.id >= 0 ? json_string(dc09_id_to_string(m.id)) : json_null(),
                      "encrypted", m.encrypted, "receiver", str_or_null(m.receiver),
                      "line", str_or_null(m.line), "account", str_or_null(m.account),
                      "data", r == 0 ? json_string(m.data) : json_null(),
                      "xdata", r == 0 ? json_string(m.xdata) : json_null(),
                      "timestamp", m.has_timestamp ? json_integer(m.timestamp) : json_null(),
                      "skew", m.has_timestamp ? json_integer(m.timestamp - now) : json_null(),
                      "pad_len", (json_int_t) m.pad_len, "pad_terminated", m.pad_terminated,
                      "event", have_event ? json_pack("{s:s, s:i, s:i, s:i}", "code", ei.code, "qualifier",
                                                      (int) ei.qualifier, "group", ei.group, "zone", ei.zone)
                                          : json_null(),
                      "error", why ? json_string(why) : json_null(), "verdict", verdict,
                      "answer", n > 0 ? escaped(out, (size_t) n) : json_null(),
                      "frame", escaped(frame, len));
        if (j) {
                json_dumpf(j, stdout, JSON_COMPACT);
                fputc('\n', stdout);
                fflush(stdout);
                json_decref(j);
        }
        return (size_t) n;
}

static void send_answer(struct server *s, struct pending *p) {
        ssize_t w;

        if (p->udp)
                w = sendto(s->udp_fd, p->frame, p->len, MSG_DONTWAIT, (struct sockaddr *) &p->peer, sizeof p->peer);
        else {
                w = -1;
                for (size_t i = 0; i < s->n_conns; i++)
                        if (s->conns[i].fd == p->fd && s->conns[i].serial == p->serial)
                                w = send(p->fd, p->frame, p->len, MSG_DONTWAIT | MSG_NOSIGNAL);
        }
        if (w != (ssize_t) p->len)
                fprintf(stderr, PROG ": answer not sent: %s\n", w < 0 ? strerror(errno) : "short write");
}

/* Sends now, or queues for --delay-ms. */
static void answer(struct server *s, const char *frame, size_t n, bool udp, int fd, unsigned serial,
                   const struct sockaddr_in *peer) {
        struct pending *p;

        if (n == 0)
                return;
        p = calloc(1, sizeof *p);
        if (!p) {
                fprintf(stderr, PROG ": out of memory, answer dropped\n");
                return;
        }
        *p = (struct pending) { .due_ms = now_ms() + s->opt->delay_ms, .udp = udp, .fd = fd,
                                .serial = serial, .len = n };
        if (peer)
                p->peer = *peer;
        memcpy(p->frame, frame, n);
        if (s->opt->delay_ms == 0 || s->n_pending == MAX_PENDING) {
                send_answer(s, p);
                free(p);
                return;
        }
        s->pending[s->n_pending++] = p;
}

static void flush_due(struct server *s) {
        long long now = now_ms();

        for (size_t i = 0; i < s->n_pending;) {
                if (s->pending[i]->due_ms <= now) {
                        send_answer(s, s->pending[i]);
                        free(s->pending[i]);
                        memmove(&s->pending[i], &s->pending[i + 1], (s->n_pending - i - 1) * sizeof s->pending[0]);
                        s->n_pending--;
                } else
                        i++;
        }
}

static void close_conn(struct server *s, size_t i) {
        close(s->conns[i].fd);
        s->conns[i] = s->conns[--s->n_conns];
}

/* Reads what a TCP connection has and answers each whole frame in it.
 * Returns false when the connection is to be closed. */
static bool read_conn(struct server *s, struct conn *c) {
        static char out[DC09_MAX_FRAME + 1];
        ssize_t n = read(c->fd, c->in + c->len, sizeof c->in - c->len);

        if (n == 0)
                return false;
        if (n < 0)
                return errno == EAGAIN || errno == EINTR;
        c->len += (size_t) n;
        for (;;) {
                size_t start = 0, flen = 0, drop;
                int r = dc09_frame_find(c->in, c->len, &start, &flen);
                if (r == 1) {
                        size_t a = handle_frame(s, c->in + start, flen, "tcp", out, sizeof out);
                        answer(s, out, a, false, c->fd, c->serial, NULL);
                        drop = start + flen;
                } else
                        drop = start;
                memmove(c->in, c->in + drop, c->len - drop);
                c->len -= drop;
                if (r == 0)
                        return true;
        }
}

static void read_udp(struct server *s) {
        static char in[DC09_MAX_FRAME + 64], out[DC09_MAX_FRAME + 1];
        struct sockaddr_in peer;
        socklen_t plen = sizeof peer;
        ssize_t n = recvfrom(s->udp_fd, in, sizeof in, 0, (struct sockaddr *) &peer, &plen);

        /* A datagram is one frame, whole or not at all. */
        if (n > 0) {
                size_t a = handle_frame(s, in, (size_t) n, "udp", out, sizeof out);
                answer(s, out, a, true, -1, 0, &peer);
        }
}

static void accept_conn(struct server *s) {
        int fd = accept4(s->tcp_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

        if (fd < 0)
                return;
        if (s->n_conns == MAX_CONNS) {
                close(fd);
                return;
        }
        s->conns[s->n_conns++] = (struct conn) { .fd = fd, .serial = ++s->next_serial };
}

static int run(struct server *s) {
        for (;;) {
                struct pollfd pfd[MAX_CONNS + 3];
                size_t n = s->n_conns;
                int timeout = -1;

                if (s->n_pending) {
                        long long first = s->pending[0]->due_ms, now = now_ms();
                        for (size_t i = 1; i < s->n_pending; i++)
                                if (s->pending[i]->due_ms < first)
                                        first = s->pending[i]->due_ms;
                        timeout = first <= now ? 0 : (int) (first - now);
                }
                pfd[0] = (struct pollfd) { .fd = s->signal_fd, .events = POLLIN };
                pfd[1] = (struct pollfd) { .fd = s->tcp_fd, .events = POLLIN };
                pfd[2] = (struct pollfd) { .fd = s->udp_fd, .events = POLLIN };
                for (size_t i = 0; i < n; i++)
                        pfd[i + 3] = (struct pollfd) { .fd = s->conns[i].fd, .events = POLLIN };
                if (poll(pfd, (nfds_t) n + 3, timeout) < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (pfd[0].revents)
                        return 0;
                flush_due(s);
                if (pfd[2].revents & POLLIN)
                        read_udp(s);
                /* Backwards: close_conn() moves the last connection into i. */
                for (size_t i = n; i-- > 0;)
                        if (pfd[i + 3].revents && !read_conn(s, &s->conns[i]))
                                close_conn(s, i);
                if (pfd[1].revents & POLLIN)
                        accept_conn(s);
        }
}

int main(int argc, char **argv) {
        static struct options o = { .window_past = DC09_WINDOW_PAST, .window_future = DC09_WINDOW_FUTURE };
        static struct server s;
        int r;

        r = parse_args(argc, argv, &o);
        if (r != 0)
                return r > 0 ? EXIT_SUCCESS : 2;
        setvbuf(stdout, NULL, _IOLBF, 0);
        s.opt = &o;
        s.tcp_fd = s.udp_fd = s.signal_fd = -1;
        r = setup_signals(&s.signal_fd);
        if (r < 0) {
                fprintf(stderr, PROG ": signals: %s\n", strerror(-r));
                return EXIT_FAILURE;
        }
        r = open_sockets(&s);
        if (r < 0) {
                fprintf(stderr, PROG ": cannot listen on 127.0.0.1 port %d: %s\n", o.port, strerror(-r));
                return EXIT_FAILURE;
        }
        if (o.port_file && (r = write_port_file(o.port_file, s.port)) < 0) {
                fprintf(stderr, PROG ": cannot write %s: %s\n", o.port_file, strerror(-r));
                return EXIT_FAILURE;
        }
        fprintf(stderr, PROG ": listening on 127.0.0.1:%d (tcp, udp)%s\n", s.port,
                o.key_len ? ", with a key" : "");
        r = run(&s);
        for (size_t i = 0; i < s.n_conns; i++)
                close(s.conns[i].fd);
        for (size_t i = 0; i < s.n_pending; i++)
                free(s.pending[i]);
        explicit_bzero(o.key, sizeof o.key);
        if (r < 0) {
                fprintf(stderr, PROG ": poll: %s\n", strerror(-r));
                return EXIT_FAILURE;
        }
        return EXIT_SUCCESS;
}
