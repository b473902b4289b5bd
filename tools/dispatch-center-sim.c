/* anju-dispatch-sim: a small simulated grid dispatch center. A real
 * HTTP/1.1 server on loopback that receives anju.alarm.v1 calls, answers
 * with a case id (the same one for a repeated Idempotency-Key), and prints
 * each call: readable for the demo, one JSON object per line (--json) for
 * tests and benchmarks. Single thread, poll(), keep-alive. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONN 512
#define HEAD_MAX 16384
#define BODY_MAX (1 << 20)

struct conn {
        int fd;
        char *buf;
        size_t len, cap;
};

struct opts {
        bool json;
        int fail_first;
        int status;
        char *hmac_key;
        size_t hmac_len;
        char *token;
};

static volatile sig_atomic_t stop;
static unsigned long calls, cases;
static struct {
        char key[128];
        unsigned long case_no;
} seen[4096];
static size_t n_seen;

static void on_signal(int sig) {
        (void) sig;
        stop = 1;
}

static char *read_file(const char *path, size_t *ret_len) {
        FILE *f = fopen(path, "re");
        char *b = calloc(1, 65537);
        size_t n;

        if (!f || !b) {
                fprintf(stderr, "anju-dispatch-sim: cannot read %s: %s\n", path, strerror(errno));
                exit(2);
        }
        n = fread(b, 1, 65536, f);
        fclose(f);
        while (n > 0 && (b[n - 1] == '\n' || b[n - 1] == '\r'))
                n--;
        b[n] = '\0';
        *ret_len = n;
        return b;
}

static const char *header(json_t *headers, const char *name) {
        return json_string_value(json_object_get(headers, name));
}

static const char *check_signature(const struct opts *o, json_t *headers, const char *body, size_t len) {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned mdlen = 0;
        char hex[2 * EVP_MAX_MD_SIZE + 8] = "sha256=";
        const char *got = header(headers, "x-anju-signature");

        if (!o->hmac_key)
                return NULL;
        if (!got)
                return "missing";
        HMAC(EVP_sha256(), o->hmac_key, (int) o->hmac_len, (const unsigned char *) body, len, md, &mdlen);
        for (unsigned i = 0; i < mdlen; i++)
                sprintf(hex + 7 + 2 * i, "%02x", md[i]);
        return strcmp(hex, got) == 0 ? "ok" : "bad";
}

static const char *check_token(const struct opts *o, json_t *headers) {
        const char *got = header(headers, "authorization");

        if (!o->token)
                return NULL;
        if (!got)
                return "missing";
        return strncmp(got, "Bearer ", 7) == 0 && strcmp(got + 7, o->token) == 0 ? "ok" : "bad";
}

/* The case id for this key: a repeat gets the first answer's id. */
static unsigned long case_for(const char *key, bool *duplicate) {
        *duplicate = false;
        for (size_t i = 0; key && i < n_seen; i++)
                if (strcmp(seen[i].key, key) == 0) {
                        *duplicate = true;
                        return seen[i].case_no;
                }
        cases++;
        if (key && n_seen < sizeof seen / sizeof seen[0]) {
                snprintf(seen[n_seen].key, sizeof seen[n_seen].key, "%s", key);
                seen[n_seen++].case_no = cases;
        }
        return cases;
}

static const char *field(json_t *body, const char *a, const char *b) {
        json_t *v = json_object_get(body, a);
        if (b)
                v = json_object_get(v, b);
        return json_is_string(v) ? json_string_value(v) : "?";
}

static void print_human(unsigned long n, json_t *body, int status, const char *case_id,
                        bool dup, const char *key, const char *sig, const char *auth) {
        bool color = isatty(STDOUT_FILENO) && !getenv("NO_COLOR");
        char when[32];
        struct timespec ts;
        struct tm tm;

        clock_gettime(CLOCK_REALTIME, &ts);
        localtime_r(&ts.tv_sec, &tm);
        strftime(when, sizeof when, "%H:%M:%S", &tm);
        if (!json_is_object(body)) {
                printf("[dispatch] %s.%03ld  CALL #%lu  (body is not JSON)  -> %d\n", when,
                       ts.tv_nsec / 1000000, n, status);
                return;
        }
        printf("%s[dispatch] %s.%03ld  CALL #%lu  %s (%s)  incident %s  %s%s\n", color ? "\033[1;31m" : "",
               when, ts.tv_nsec / 1000000, n, field(body, "type", NULL), field(body, "severity", NULL),
               field(body, "id", NULL), field(body, "call", NULL), color ? "\033[0m" : "");
        printf("           home %s · %s · %s\n", field(body, "home", "id"), field(body, "home", "resident"),
               field(body, "home", "address"));
        printf("           sensor %s (%s, %s) · started %s\n", field(body, "sensor", "id"),
               field(body, "sensor", "kind"), field(body, "sensor", "room"), field(body, "started_at", NULL));
        printf("           \"%s\"\n", field(body, "reason", NULL));
        if (case_id)
                printf("           -> %d case %s%s · key %.8s… · signature %s · token %s\n", status, case_id,
                       dup ? " (DUPLICATE: same Idempotency-Key, same case)" : "", key ? key : "none",
                       sig ? sig : "not checked", auth ? auth : "not checked");
        else
                printf("           -> %d (simulated outage)\n", status);
}

static void report(const struct opts *o, json_t *req, json_t *body, int status, const char *case_id,
                   bool dup, const char *sig, const char *auth) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        if (o->json) {
                json_object_set_new(req, "body", body ? json_incref(body) : json_null());
                json_object_set_new(req, "status", json_integer(status));
                json_object_set_new(req, "case_id", case_id ? json_string(case_id) : json_null());
                json_object_set_new(req, "duplicate", json_boolean(dup));
                json_object_set_new(req, "signature", sig ? json_string(sig) : json_null());
                json_object_set_new(req, "auth", auth ? json_string(auth) : json_null());
                json_object_set_new(req, "t_mono_ns", json_integer((json_int_t) ts.tv_sec * 1000000000 + ts.tv_nsec));
                json_dumpf(req, stdout, JSON_COMPACT);
                fputc('\n', stdout);
        } else
                print_human(calls, body, status, case_id, dup,
                            header(json_object_get(req, "headers"), "idempotency-key"), sig, auth);
        fflush(stdout);
}

static void respond(int fd, int status, const char *reason, const char *body) {
        char out[512];
        int n = snprintf(out, sizeof out, "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
                         "Content-Length: %zu\r\n\r\n%s", status, reason, strlen(body), body);
        if (write(fd, out, (size_t) n) < 0) {
                /* the client went away; poll will see it */
        }
}

/* Handles one complete request; returns false to close the connection. */
static bool handle(const struct opts *o, int fd, char *head, const char *body, size_t blen) {
        json_t *req = json_object(), *headers = json_object(), *jb;
        char *line = strtok(head, "\r\n"), *method, *path, *p;
        int status = 201;
        char case_id[32], resp[96];
        const char *sig, *auth;
        bool dup = false;

        method = line ? strtok_r(line, " ", &p) : NULL;
        path = method ? strtok_r(NULL, " ", &p) : NULL;
        if (!path) {
                respond(fd, 400, "Bad Request", "{\"error\":\"bad request line\"}");
                json_decref(req), json_decref(headers);
                return false;
        }
        json_object_set_new(req, "method", json_string(method));
        json_object_set_new(req, "path", json_string(path));
        while ((line = strtok(NULL, "\r\n"))) {
                char *colon = strchr(line, ':');
                if (!colon)
                        continue;
                *colon = '\0';
                for (char *c = line; *c; c++)
                        *c = (char) (*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
                for (colon++; *colon == ' '; colon++)
                        ;
                json_object_set_new(headers, line, json_string(colon));
        }
        json_object_set_new(req, "headers", headers);
        if (strcmp(method, "GET") == 0) {
                respond(fd, 200, "OK", "{\"ok\":true}");
                json_decref(req);
                return true;
        }
        calls++;
        jb = json_loadb(body, blen, 0, NULL);
        if (!jb)
                jb = json_stringn(body, blen);
        sig = check_signature(o, headers, body, blen);
        auth = check_token(o, headers);
        if ((long) calls <= o->fail_first || (o->status && (o->status < 200 || o->status > 299))) {
                status = o->fail_first && (long) calls <= o->fail_first ? 503 : o->status;
                respond(fd, status, "Unavailable", "{\"error\":\"simulated outage\"}");
                report(o, req, jb, status, NULL, false, sig, auth);
        } else {
                unsigned long c = case_for(header(headers, "idempotency-key"), &dup);
                snprintf(case_id, sizeof case_id, "SIM-%06lu", c);
                snprintf(resp, sizeof resp, "{\"case_id\":\"%s\"}", case_id);
                status = o->status ? o->status : 201;
                respond(fd, status, "Created", resp);
                report(o, req, jb, status, case_id, dup, sig, auth);
        }
        json_decref(jb);
        json_decref(req);
        return true;
}

/* Consumes complete requests from c->buf; false to close. */
static bool process(const struct opts *o, struct conn *c) {
        for (;;) {
                char *end = memmem(c->buf, c->len, "\r\n\r\n", 4), *cl;
                size_t hlen, blen = 0;

                if (!end)
                        return c->len < HEAD_MAX || (respond(c->fd, 431, "Too Large", "{}"), false);
                hlen = (size_t) (end - c->buf) + 4;
                end[2] = '\0';
                if (strcasestr(c->buf, "\ntransfer-encoding:"))
                        return respond(c->fd, 411, "Length Required", "{}"), false;
                cl = strcasestr(c->buf, "\ncontent-length:");
                if (cl)
                        blen = strtoul(cl + 16, NULL, 10);
                if (blen > BODY_MAX)
                        return respond(c->fd, 413, "Too Large", "{}"), false;
                if (c->len < hlen + blen) {
                        end[2] = '\r';
                        if (strcasestr(c->buf, "\nexpect: 100-continue") && c->len == hlen &&
                            write(c->fd, "HTTP/1.1 100 Continue\r\n\r\n", 25) < 0)
                                return false;
                        return true;
                }
                if (!handle(o, c->fd, c->buf, c->buf + hlen, blen))
                        return false;
                memmove(c->buf, c->buf + hlen + blen, c->len - hlen - blen);
                c->len -= hlen + blen;
        }
}

static bool read_conn(const struct opts *o, struct conn *c) {
        if (c->cap - c->len < 65536) {
                size_t cap = c->cap ? c->cap * 2 : 131072;
                char *n = cap > HEAD_MAX + BODY_MAX + 131072 ? NULL : realloc(c->buf, cap + 1);
                if (!n)
                        return respond(c->fd, 413, "Too Large", "{}"), false;
                c->buf = n;
                c->cap = cap;
        }
        ssize_t k = read(c->fd, c->buf + c->len, c->cap - c->len);
        if (k <= 0)
                return k < 0 && errno == EAGAIN;
        c->len += (size_t) k;
        c->buf[c->len] = '\0';
        return process(o, c);
}

static int listen_on(const char *addr, int port, int *ret_port) {
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t) port) };
        socklen_t l = sizeof a;
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), one = 1;

        if (strcmp(addr, "127.0.0.1") != 0 || inet_pton(AF_INET, addr, &a.sin_addr) != 1) {
                fprintf(stderr, "anju-dispatch-sim: listens on 127.0.0.1 only\n");
                exit(2);
        }
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, (struct sockaddr *) &a, sizeof a) < 0 || listen(fd, 128) < 0) {
                fprintf(stderr, "anju-dispatch-sim: cannot listen on %s:%d: %s\n", addr, port, strerror(errno));
                exit(2);
        }
        getsockname(fd, (struct sockaddr *) &a, &l);
        *ret_port = ntohs(a.sin_port);
        return fd;
}

static void write_port_file(const char *path, int port) {
        char tmp[4096];
        FILE *f;

        snprintf(tmp, sizeof tmp, "%s.tmp", path);
        f = fopen(tmp, "we");
        if (!f || fprintf(f, "%d\n", port) < 0 || fclose(f) != 0 || rename(tmp, path) < 0) {
                fprintf(stderr, "anju-dispatch-sim: cannot write %s\n", path);
                exit(2);
        }
}

static void serve(const struct opts *o, int lfd) {
        static struct conn conns[MAX_CONN];
        struct pollfd pfd[MAX_CONN + 1];
        int n = 0;

        while (!stop) {
                pfd[0] = (struct pollfd) { .fd = lfd, .events = POLLIN };
                for (int i = 0; i < n; i++)
                        pfd[i + 1] = (struct pollfd) { .fd = conns[i].fd, .events = POLLIN };
                if (poll(pfd, (nfds_t) n + 1, -1) < 0)
                        continue;
                for (int i = n - 1; i >= 0; i--)
                        if (pfd[i + 1].revents && !read_conn(o, &conns[i])) {
                                close(conns[i].fd);
                                free(conns[i].buf);
                                conns[i] = conns[--n];
                        }
                if ((pfd[0].revents & POLLIN) && n < MAX_CONN) {
                        int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK), one = 1;
                        if (fd >= 0) {
                                setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                                conns[n++] = (struct conn) { .fd = fd };
                        }
                }
        }
}

static void usage(FILE *f) {
        fprintf(f, "Usage: anju-dispatch-sim [--port N] [--port-file F] [--json] [--fail-first N]\n"
                   "       [--status CODE] [--verify-hmac-key F] [--expect-token F] [--listen 127.0.0.1]\n"
                   "A simulated grid dispatch center for anju's demo and tests (loopback only).\n");
}

int main(int argc, char **argv) {
        static const struct option lo[] = {
                { "port", required_argument, NULL, 'p' }, { "port-file", required_argument, NULL, 'f' },
                { "json", no_argument, NULL, 'j' }, { "fail-first", required_argument, NULL, 'F' },
                { "status", required_argument, NULL, 's' }, { "verify-hmac-key", required_argument, NULL, 'k' },
                { "expect-token", required_argument, NULL, 't' }, { "listen", required_argument, NULL, 'l' },
                { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
        };
        struct opts o = { 0 };
        const char *port_file = NULL, *addr = "127.0.0.1";
        int port = 0, c, lfd;
        size_t tl;

        while ((c = getopt_long(argc, argv, "h", lo, NULL)) >= 0)
                switch (c) {
                case 'p': port = atoi(optarg); break;
                case 'f': port_file = optarg; break;
                case 'j': o.json = true; break;
                case 'F': o.fail_first = atoi(optarg); break;
                case 's': o.status = atoi(optarg); break;
                case 'k': o.hmac_key = read_file(optarg, &o.hmac_len); break;
                case 't': o.token = read_file(optarg, &tl); break;
                case 'l': addr = optarg; break;
                case 'h': usage(stdout); return 0;
                default: usage(stderr); return 2;
                }
        signal(SIGPIPE, SIG_IGN);
        /* No SA_RESTART: a signal interrupts poll() so the loop sees stop. */
        struct sigaction sa = { .sa_handler = on_signal };
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
        lfd = listen_on(addr, port, &port);
        if (port_file)
                write_port_file(port_file, port);
        fprintf(stderr, "anju-dispatch-sim: listening on 127.0.0.1:%d\n", port);
        serve(&o, lfd);
        free(o.hmac_key);
        free(o.token);
        return 0;
}
