/* anju-dispatch-sim: a simulated grid dispatch center. A real HTTP/1.1
 * server on loopback that receives anju.alarm.v1 emergency calls, answers
 * each with a case id (the same one again for a repeated Idempotency-Key)
 * and prints it: a readable block for the live demo, or one JSON object a
 * line (--json) for the integration tests and the benchmarks.
 *
 * One thread, poll(), non-blocking sockets, keep-alive. A connection
 * handles one request at a time, so answers leave in request order; a
 * delayed answer (--delay-ms) is a per-connection deadline that feeds the
 * poll() timeout, so one slow answer never holds up another connection. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef ANJU_VERSION
#define ANJU_VERSION "0.1.0"
#endif

#define PROG "anju-dispatch-sim"
#define MAX_CONNS 1024
#define HEAD_MAX (16 * 1024)
#define BODY_MAX (1024 * 1024)
#define IN_MAX (HEAD_MAX + BODY_MAX)    /* always room for one complete request */
#define OUT_MAX (80 * 1024)             /* answers are small, but --huge-answer is over 64 KiB */
#define SECRET_MAX (64 * 1024)
#define MAX_KEYS (1 << 20)              /* Idempotency-Keys remembered */
#define DRAIN_NS 2000000000LL           /* lingering close after an error answer */
#define BACKOFF_NS 100000000LL          /* accept() again after running out of fds */
#define INDENT "           "
#define RED "\033[1;31m"
#define YELLOW "\033[33m"
#define GREEN "\033[32m"
#define BOLD "\033[1m"
#define RESET "\033[0m"

/* The write end of the self-pipe: all the signal handler needs. */
static int signal_pipe_wr = -1;

struct options {
        const char *listen_addr, *port_file;
        int port;
        int status;                     /* forced answer code; 0 = normal */
        int fail_status;                /* the answer of the first fail_first POSTs */
        long fail_first, delay_ms, retry_after;
        struct {
                char type[32];
                int status;
        } status_for[8];                /* --status-for TYPE=CODE */
        size_t n_status_for;
        const char *case_id;            /* --case-id TEXT instead of SIM-NNNNNN */
        bool no_case_id, huge_answer;
        bool json, color, heartbeats;
        char *hmac_key, *token;         /* NULL = not checked */
        size_t hmac_key_len, token_len;
};

struct conn {
        int fd;
        char *in;                       /* bytes read, not yet consumed */
        size_t in_len, in_cap;
        json_t *head;                   /* {method, path, headers} once the head is complete */
        size_t head_len, body_len;
        bool http10, keep_alive, expect_continue, sent_continue;
        bool peer_closed;               /* EOF read: answer what is buffered, then close */
        bool close_after;               /* close (lingering) once out is sent */
        bool draining;                  /* write side shut, discarding input until EOF */
        long long deadline_ns;          /* answer held back / drain ends; 0 = none */
        char out[OUT_MAX];
        size_t out_len, out_off;
};

struct server {
        const struct options *opt;
        int listen_fd, signal_fd;
        size_t max_conns, n_conns;
        struct conn *conns[MAX_CONNS];
        long long accept_paused_until;
        unsigned long n_posts, n_cases;
        json_t *cases;                  /* Idempotency-Key -> case number */
};

/* What was decided for one POST: for the answer and the printed record. */
struct verdict {
        unsigned long n;
        int status;
        bool outage, duplicate;
        char case_id[32];               /* "" = none */
        const char *signature, *auth;   /* "ok" | "bad" | "missing"; NULL = not checked */
        long long t_mono_ns;
        struct timespec wall;
};

static long long mono_ns(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (long long) ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static const char *reason_phrase(int status) {
        static const struct { int code; const char *text; } table[] = {
                { 100, "Continue" }, { 200, "OK" }, { 201, "Created" }, { 202, "Accepted" },
                { 204, "No Content" }, { 400, "Bad Request" }, { 401, "Unauthorized" },
                { 403, "Forbidden" }, { 404, "Not Found" }, { 405, "Method Not Allowed" },
                { 409, "Conflict" }, { 411, "Length Required" }, { 413, "Content Too Large" },
                { 422, "Unprocessable Content" }, { 429, "Too Many Requests" },
                { 431, "Request Header Fields Too Large" }, { 500, "Internal Server Error" },
                { 502, "Bad Gateway" }, { 503, "Service Unavailable" }, { 504, "Gateway Timeout" },
        };

        for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
                if (table[i].code == status)
                        return table[i].text;
        return status < 300 ? "Success" : status < 500 ? "Client Error" : "Server Error";
}

/* A JSON string for bytes off the wire. jansson refuses invalid UTF-8 and
 * the output must stay valid JSON, so such bytes become '?'. */
static json_t *json_text(const char *s, size_t len) {
        json_t *j = json_stringn(s, len);
        char *copy;

        if (j || !(copy = malloc(len + 1)))
                return j;
        for (size_t i = 0; i < len; i++)
                copy[i] = (unsigned char) s[i] >= 0x80 ? '?' : s[i];
        j = json_stringn(copy, len);
        free(copy);
        return j;
}

static const char *jstr(json_t *obj, const char *key) {
        return json_string_value(json_object_get(obj, key));
}

/* Reads a secret file, stripping one trailing line ending (editors add one). */
static int read_secret(const char *path, char **ret, size_t *ret_len) {
        FILE *f = fopen(path, "re");
        char *buf = f ? malloc(SECRET_MAX + 2) : NULL;
        size_t n = 0;
        int r = !f ? -errno : !buf ? -ENOMEM : 0;

        if (r == 0) {
                n = fread(buf, 1, SECRET_MAX + 1, f);
                r = ferror(f) ? -EIO : n > SECRET_MAX ? -EFBIG : 0;
        }
        if (f)
                fclose(f);
        if (r < 0) {
                free(buf);
                return r;
        }
        if (n > 0 && buf[n - 1] == '\n' && --n > 0 && buf[n - 1] == '\r')
                n--;
        buf[n] = '\0';
        *ret = buf;
        *ret_len = n;
        return 0;
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
                "A simulated grid dispatch center for anju: an HTTP/1.1 server on loopback\n"
                "that answers emergency calls (POST, anju.alarm.v1) and prints each one.\n\n"
                "  --listen ADDR           127.0.0.1 (default) or ::1, nothing else\n"
                "  --port N                TCP port (default 0: an ephemeral one)\n"
                "  --port-file FILE        write the port there once listening (atomically)\n"
                "  --json                  one JSON object per call and line on stdout\n"
                "  --fail-first N          answer the first N POSTs 503 (simulated outage)\n"
                "  --status CODE           answer every POST with CODE (200-599)\n"
                "  --delay-ms MS           hold each POST's answer back MS milliseconds\n"
                "  --fail-status CODE      the answer of the --fail-first POSTs (default 503)\n"
                "  --status-for TYPE=CODE  answer calls of alarm type TYPE with CODE (repeatable)\n"
                "  --retry-after S         add Retry-After: S to every answer that is not 2xx\n"
                "  --case-id TEXT          answer every call with this case id, as given\n"
                "  --no-case-id            answer 2xx without a case id\n"
                "  --huge-answer           answer 2xx with a body over 64 KiB\n"
                "  --heartbeats            show hub heartbeats (anju.heartbeat.v1) in the\n"
                "                          readable output (they are always in --json)\n"
                "  --verify-hmac-key FILE  check X-Anju-Signature (HMAC-SHA256 of the body)\n"
                "  --expect-token FILE     check Authorization: Bearer <token>\n"
                "  --help, --version\n\n"
                "GET /health answers 200 {\"ok\":true}. Checks are reported, never enforced.\n");
}

static int secret_option(const char *path, char **ret, size_t *ret_len) {
        int r;

        free(*ret);
        *ret = NULL;
        r = read_secret(path, ret, ret_len);
        if (r < 0)
                fprintf(stderr, PROG ": cannot read %s: %s\n", path, strerror(-r));
        return r;
}

static int apply_option(struct options *o, int c, const char *arg) {
        long v = 0;
        int r = 0;

        switch (c) {
        case 'l':
                if (strcmp(arg, "127.0.0.1") != 0 && strcmp(arg, "::1") != 0) {
                        fprintf(stderr, PROG ": will not listen on %s: loopback only (127.0.0.1 or ::1)\n",
                                arg);
                        return -EINVAL;
                }
                o->listen_addr = arg;
                return 0;
        case 'p': r = parse_long(arg, 0, 65535, &v); o->port = (int) v; break;
        case 'F': r = parse_long(arg, 0, 1000000000L, &o->fail_first); break;
        case 's': r = parse_long(arg, 200, 599, &v); o->status = (int) v; break;
        case 'd': r = parse_long(arg, 0, 3600000L, &o->delay_ms); break;
        case 'f': r = parse_long(arg, 200, 599, &v); o->fail_status = (int) v; break;
        case 'R': r = parse_long(arg, 0, 86400, &o->retry_after); break;
        case 'C': o->case_id = arg; return 0;
        case 'N': o->no_case_id = true; return 0;
        case 'U': o->huge_answer = true; return 0;
        case 'T': {
                const char *eq = strchr(arg, '=');
                if (!eq || eq == arg || (size_t) (eq - arg) >= sizeof o->status_for[0].type ||
                    o->n_status_for >= 8 || parse_long(eq + 1, 200, 599, &v) < 0) {
                        fprintf(stderr, PROG ": --status-for '%s': expected TYPE=CODE\n", arg);
                        return -EINVAL;
                }
                snprintf(o->status_for[o->n_status_for].type, sizeof o->status_for[0].type, "%.*s",
                         (int) (eq - arg), arg);
                o->status_for[o->n_status_for++].status = (int) v;
                return 0;
        }
        case 'P': o->port_file = arg; return 0;
        case 'j': o->json = true; return 0;
        case 'H': o->heartbeats = true; return 0;
        case 'k': return secret_option(arg, &o->hmac_key, &o->hmac_key_len);
        case 't': return secret_option(arg, &o->token, &o->token_len);
        default: usage(stderr); return -EINVAL;
        }
        if (r < 0)
                fprintf(stderr, PROG ": invalid value '%s'\n", arg);
        return r;
}

/* Returns 0 to run, 1 when done (--help, --version), -EINVAL on bad use. */
static int parse_args(int argc, char **argv, struct options *o) {
        static const struct option longopts[] = {
                { "listen", required_argument, NULL, 'l' }, { "port", required_argument, NULL, 'p' },
                { "port-file", required_argument, NULL, 'P' }, { "json", no_argument, NULL, 'j' },
                { "fail-first", required_argument, NULL, 'F' }, { "status", required_argument, NULL, 's' },
                { "delay-ms", required_argument, NULL, 'd' }, { "heartbeats", no_argument, NULL, 'H' },
                { "fail-status", required_argument, NULL, 'f' }, { "status-for", required_argument, NULL, 'T' },
                { "retry-after", required_argument, NULL, 'R' }, { "case-id", required_argument, NULL, 'C' },
                { "no-case-id", no_argument, NULL, 'N' }, { "huge-answer", no_argument, NULL, 'U' },
                { "verify-hmac-key", required_argument, NULL, 'k' },
                { "expect-token", required_argument, NULL, 't' }, { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, 'V' }, { NULL, 0, NULL, 0 },
        };
        int c, r;

        while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
                if (c == 'h' || c == 'V') {
                        if (c == 'h')
                                usage(stdout);
                        else
                                printf(PROG " (anju) %s\n", ANJU_VERSION);
                        return 1;
                }
                r = apply_option(o, c, optarg);
                if (r < 0)
                        return r;
        }
        if (optind < argc) {
                fprintf(stderr, PROG ": unexpected argument '%s'\n", argv[optind]);
                return -EINVAL;
        }
        return 0;
}

static void options_free(struct options *o) {
        if (o->hmac_key)
                OPENSSL_cleanse(o->hmac_key, o->hmac_key_len);
        if (o->token)
                OPENSSL_cleanse(o->token, o->token_len);
        free(o->hmac_key);
        free(o->token);
}

static void on_signal(int sig) {
        int saved = errno;
        char c = (char) sig;

        if (write(signal_pipe_wr, &c, 1) < 0) {
                /* the pipe is full: a wake-up is pending already */
        }
        errno = saved;
}

/* A self-pipe, so a signal wakes poll() whenever it arrives. */
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

/* Benchmarks open hundreds of connections: raise the descriptor limit as
 * far as needed, and never accept more than the descriptors we have. */
static size_t conn_limit(void) {
        const rlim_t want = MAX_CONNS + 16;
        struct rlimit rl;

        if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
                return 256;
        if (rl.rlim_cur < want && rl.rlim_max > rl.rlim_cur) {
                rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
                if (setrlimit(RLIMIT_NOFILE, &rl) < 0 && getrlimit(RLIMIT_NOFILE, &rl) < 0)
                        return 256;
        }
        return rl.rlim_cur >= want ? MAX_CONNS : rl.rlim_cur > 32 ? (size_t) rl.rlim_cur - 16 : 16;
}

static int open_listener(const char *addr, int port, int *ret_port) {
        struct sockaddr_in6 a6 = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT,
                                   .sin6_port = htons((uint16_t) port) };
        struct sockaddr_in a4 = { .sin_family = AF_INET, .sin_port = htons((uint16_t) port),
                                  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        bool v6 = strcmp(addr, "::1") == 0;
        struct sockaddr *sa = v6 ? (struct sockaddr *) &a6 : (struct sockaddr *) &a4;
        socklen_t len = v6 ? sizeof a6 : sizeof a4;
        int fd, one = 1, r;

        fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
            (v6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) < 0) ||
            bind(fd, sa, len) < 0 || listen(fd, SOMAXCONN) < 0 || getsockname(fd, sa, &len) < 0) {
                r = -errno;
                close(fd);
                return r;
        }
        *ret_port = ntohs(v6 ? a6.sin6_port : a4.sin_port);
        return fd;
}

/* Written to FILE.tmp and renamed: a reader never sees half a number. */
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

/* Sanitized copies of body fields for the terminal: control characters
 * from the wire must not reach it, and long values are cut on a UTF-8
 * character boundary. */
struct text {
        char buf[4096];
        size_t used;
        char missing[512];
};

static const char *text_add(struct text *t, const char *s, size_t max) {
        char *out = t->buf + t->used;
        size_t room = sizeof t->buf - t->used, n;

        if (room < 2)
                return "";
        if (max > room - 1)
                max = room - 1;
        for (n = 0; s[n] != '\0' && n < max; n++)
                out[n] = (unsigned char) s[n] < 0x20 || s[n] == 0x7f ? '?' : s[n];
        if (s[n] != '\0')
                while (n > 0 && ((unsigned char) s[n] & 0xc0) == 0x80)
                        n--;
        out[n] = '\0';
        t->used += n + 1;
        return out;
}

/* The string at a dotted path in the body, or "?" (noted as missing). */
static const char *body_field(json_t *body, const char *path, struct text *t) {
        const char *p = path;
        json_t *v = body;
        size_t l = strlen(t->missing);

        while (v && *p) {
                const char *dot = strchr(p, '.');
                size_t n = dot ? (size_t) (dot - p) : strlen(p);
                char key[32];

                snprintf(key, sizeof key, "%.*s", (int) n, p);
                v = json_object_get(v, key);
                p += n + (dot ? 1 : 0);
        }
        if (json_is_string(v))
                return text_add(t, json_string_value(v), 160);
        snprintf(t->missing + l, sizeof t->missing - l, "%s%s", l ? ", " : "", path);
        return "?";
}

static const char *col(const struct options *o, const char *code) {
        return o->color ? code : "";
}

static void print_call(const struct options *o, const struct verdict *v, json_t *body) {
        struct text t = { .used = 0 };
        const char *type = body_field(body, "type", &t), *sev = body_field(body, "severity", &t);
        const char *id = body_field(body, "id", &t), *hid = body_field(body, "home.id", &t);
        const char *who = body_field(body, "home.resident", &t);
        const char *addr = body_field(body, "home.address", &t);
        const char *sid = body_field(body, "sensor.id", &t), *kind = body_field(body, "sensor.kind", &t);
        /* A wristband is worn, not in a room: a null room is expected there. */
        const char *room = strcmp(kind, "wristband") == 0 && !json_is_string(json_object_get(json_object_get(body, "sensor"), "room"))
                           ? "worn" : body_field(body, "sensor.room", &t);
        const char *started = body_field(body, "started_at", &t);
        const char *call = jstr(body, "call"), *reason = jstr(body, "reason");
        char upper[64];
        size_t i;

        for (i = 0; type[i] != '\0' && i < sizeof upper - 1; i++)
                upper[i] = (char) toupper((unsigned char) type[i]);
        upper[i] = '\0';
        printf("%sCALL #%lu  %s (%s)  incident %s%s%s\n",
               col(o, strcmp(sev, "critical") == 0 ? RED : BOLD), v->n, upper, sev, id,
               call && strcmp(call, "update") == 0 ? "  · update" : "", col(o, RESET));
        printf(INDENT "home %s · %s · %s\n", hid, who, addr);
        printf(INDENT "sensor %s (%s, %s) · started %s\n", sid, kind, room, started);
        if (reason)
                printf(INDENT "\"%s\"\n", text_add(&t, reason, 300));
        if (t.missing[0] != '\0')
                printf(INDENT "%smissing: %s%s\n", col(o, YELLOW), t.missing, col(o, RESET));
}

/* A body that is not a JSON object: say so and show the start of it. */
static void print_raw(const struct options *o, const struct verdict *v, json_t *body, size_t len) {
        struct text t = { .used = 0 };
        char *dump = json_is_string(body) ? NULL : json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY);
        const char *shown = dump ? dump : json_string_value(body);

        printf("%sCALL #%lu  (body is %s, %zu bytes: no alarm fields)%s\n", col(o, YELLOW), v->n,
               dump ? "JSON but not an object" : len ? "not JSON" : "empty", len, col(o, RESET));
        if (shown && *shown)
                printf(INDENT "body: %s%s\n", text_add(&t, shown, 200), strlen(shown) > 200 ? "…" : "");
        free(dump);
}

static void print_check(const struct options *o, const char *what, const char *result) {
        bool ok = strcmp(result, "ok") == 0;

        printf(" · %s%s: %s%s", col(o, ok ? "" : RED), what, strcmp(result, "bad") == 0 ? "BAD" : result,
               col(o, ok ? "" : RESET));
}

static void print_answer(const struct options *o, const struct verdict *v, json_t *head) {
        const char *key = jstr(json_object_get(head, "headers"), "idempotency-key");
        struct text t = { .used = 0 };

        printf(INDENT "%s→ %d%s", col(o, v->status < 300 ? GREEN : YELLOW), v->status, col(o, RESET));
        if (v->case_id[0] != '\0')
                printf(" case %s", v->case_id);
        else
                printf(" (%s)", v->outage ? "simulated outage" : reason_phrase(v->status));
        if (v->duplicate)
                printf(" %sDUPLICATE%s", col(o, YELLOW), col(o, RESET));
        printf(" · %s", text_add(&t, jstr(head, "path"), 200));
        if (key)
                printf(" · key %s%s", text_add(&t, key, 8), strlen(key) > 8 ? "…" : "");
        else
                printf(" · no key");
        if (v->signature)
                print_check(o, "signature", v->signature);
        if (v->auth)
                print_check(o, "auth", v->auth);
        putchar('\n');
}

static void print_human(const struct options *o, const struct verdict *v, json_t *head,
                        json_t *body, size_t len) {
        char when[16];
        struct tm tm;
        const char *schema = jstr(body, "schema");
        bool hb = schema && strcmp(schema, "anju.heartbeat.v1") == 0;

        if (hb && !o->heartbeats)
                return;         /* the link is fine: nothing for people to read */
        localtime_r(&v->wall.tv_sec, &tm);
        strftime(when, sizeof when, "%H:%M:%S", &tm);
        printf("[dispatch] %s.%03ld  ", when, v->wall.tv_nsec / 1000000);
        if (hb) {
                json_t *sn = json_object_get(body, "sensors");
                printf("heartbeat from %s: %lld/%lld sensors online, %lld open incident(s), outbox %lld\n",
                       jstr(body, "hub") ? jstr(body, "hub") : "?",
                       (long long) json_integer_value(json_object_get(sn, "online")),
                       (long long) json_integer_value(json_object_get(sn, "total")),
                       (long long) json_integer_value(json_object_get(body, "open_incidents")),
                       (long long) json_integer_value(json_object_get(body, "outbox_depth")));
                return;
        }
        {
                /* Numbered among the calls people read, heartbeats aside. */
                static unsigned long shown;
                struct verdict numbered = *v;
                numbered.n = ++shown;
                if (json_is_object(body))
                        print_call(o, &numbered, body);
                else
                        print_raw(o, &numbered, body, len);
        }
        print_answer(o, v, head);
}

static int print_json(const struct verdict *v, json_t *head, json_t *body) {
        json_t *rec = json_pack("{s:I, s:O, s:O, s:O, s:O, s:i, s:s?, s:b, s:s?, s:s?, s:I}",
                                "n", (json_int_t) v->n, "method", json_object_get(head, "method"),
                                "path", json_object_get(head, "path"),
                                "headers", json_object_get(head, "headers"), "body", body,
                                "status", v->status, "case_id", v->case_id[0] ? v->case_id : NULL,
                                "duplicate", v->duplicate, "signature", v->signature,
                                "auth", v->auth, "t_mono_ns", (json_int_t) v->t_mono_ns);

        if (!rec)
                return -ENOMEM;
        json_dumpf(rec, stdout, JSON_COMPACT);
        putchar('\n');
        json_decref(rec);
        return 0;
}

/* One record per POST, flushed at once: readers sit at the other end of a pipe. */
static int emit_record(const struct options *o, const struct verdict *v, json_t *head,
                       const char *raw, size_t len) {
        json_t *body = json_loadb(raw, len, JSON_DECODE_ANY, NULL);
        int r = 0;

        if (!body && !(body = json_text(raw, len)))
                return -ENOMEM;
        if (o->json)
                r = print_json(v, head, body);
        else
                print_human(o, v, head, body, len);
        fflush(stdout);
        json_decref(body);
        return r;
}

static bool is_tchar(char c) {
        return isalnum((unsigned char) c) || (c != '\0' && strchr("!#$%&'*+-.^_`|~", c));
}

static char *next_line(char **cursor) {
        char *line = *cursor, *crlf = line ? strstr(line, "\r\n") : NULL;

        *cursor = crlf ? crlf + 2 : NULL;
        if (crlf)
                *crlf = '\0';
        return line;
}

/* "METHOD SP target SP HTTP/1.x"; returns the minor version, or <0. */
static int parse_request_line(char *line, json_t *head) {
        char *sp1 = strchr(line, ' '), *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
        int minor;

        if (!sp2 || sp1 == line || sp2 == sp1 + 1)
                return -EBADMSG;
        *sp1 = *sp2 = '\0';
        for (char *p = line; *p; p++)
                if (!is_tchar(*p))
                        return -EBADMSG;
        for (char *p = sp1 + 1; *p; p++)
                if ((unsigned char) *p <= 0x20 || *p == 0x7f)
                        return -EBADMSG;
        if (strcmp(sp2 + 1, "HTTP/1.1") == 0)
                minor = 1;
        else if (strcmp(sp2 + 1, "HTTP/1.0") == 0)
                minor = 0;
        else
                return -EBADMSG;
        if (json_object_set_new(head, "method", json_string(line)) < 0 ||
            json_object_set_new(head, "path", json_text(sp1 + 1, strlen(sp1 + 1))) < 0)
                return -ENOMEM;
        return minor;
}

/* "name: value". Names are lower-cased; a repeated header keeps the last
 * value, except Content-Length, where a disagreement is an error. */
static int parse_header_line(char *line, json_t *headers) {
        char *colon = strchr(line, ':'), *v, *end;
        const char *old;

        if (!colon || colon == line)
                return -EBADMSG;
        for (char *p = line; p < colon; p++) {
                if (!is_tchar(*p))
                        return -EBADMSG;
                *p = (char) tolower((unsigned char) *p);
        }
        *colon = '\0';
        for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
                ;
        for (end = v + strlen(v); end > v && (end[-1] == ' ' || end[-1] == '\t'); end--)
                ;
        *end = '\0';
        for (char *p = v; *p; p++)
                if (((unsigned char) *p < 0x20 && *p != '\t') || *p == 0x7f)
                        return -EBADMSG;
        old = jstr(headers, line);
        if (old && strcmp(line, "content-length") == 0 && strcmp(old, v) != 0)
                return -EBADMSG;
        return json_object_set_new(headers, line, json_text(v, (size_t) (end - v))) < 0 ? -ENOMEM : 0;
}

static int parse_length(const char *s, size_t *ret) {
        size_t v = 0;

        if (*s == '\0')
                return -EBADMSG;
        for (; *s; s++) {
                if (*s < '0' || *s > '9')
                        return -EBADMSG;
                if (v <= BODY_MAX)
                        v = v * 10 + (size_t) (*s - '0');
        }
        if (v > BODY_MAX)
                return -E2BIG;
        *ret = v;
        return 0;
}

/* Body framing and connection handling, from the parsed headers. */
static int frame_request(struct conn *c, json_t *headers, int minor) {
        const char *cl = jstr(headers, "content-length"), *cn = jstr(headers, "connection");
        const char *expect = jstr(headers, "expect");
        int r;

        c->body_len = 0;
        if (json_object_get(headers, "transfer-encoding"))
                return -ENOTSUP;                /* chunked: Content-Length only here */
        if (cl && (r = parse_length(cl, &c->body_len)) < 0)
                return r;
        c->http10 = minor == 0;
        c->keep_alive = minor >= 1 ? !(cn && strcasestr(cn, "close")) : cn && strcasestr(cn, "keep-alive");
        c->expect_continue = minor >= 1 && expect && strcasecmp(expect, "100-continue") == 0;
        return 0;
}

/* Parses the head once it is complete: 1 = parsed, 0 = need more bytes,
 * -EBADMSG / -EMSGSIZE / -E2BIG / -ENOTSUP = answer an error and close. */
static int take_head(struct conn *c) {
        size_t scan = c->in_len < HEAD_MAX ? c->in_len : HEAD_MAX;
        char *end = memmem(c->in, scan, "\r\n\r\n", 4), *cursor = c->in, *line;
        json_t *head, *headers;
        int minor, r = 0;

        if (!end)
                return scan >= HEAD_MAX ? -EMSGSIZE : 0;
        c->head_len = (size_t) (end - c->in) + 4;
        if (memchr(c->in, '\0', c->head_len))
                return -EBADMSG;
        end[2] = '\0';                  /* the head is now one string of CRLF lines */
        head = json_object();
        headers = json_object();
        if (!head || !headers || json_object_set(head, "headers", headers) < 0)
                r = -ENOMEM;
        minor = r < 0 ? r : parse_request_line(next_line(&cursor), head);
        while (minor >= 0 && r == 0 && (line = next_line(&cursor)) && *line)
                r = parse_header_line(line, headers);
        if (minor < 0)
                r = minor;
        if (r == 0)
                r = frame_request(c, headers, minor);
        json_decref(headers);
        if (r < 0) {
                json_decref(head);
                return r;
        }
        c->head = head;
        return 1;
}

static int queue(struct conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int queue(struct conn *c, const char *fmt, ...) {
        size_t room = OUT_MAX - c->out_len;
        va_list ap;
        int n;

        va_start(ap, fmt);
        n = vsnprintf(c->out + c->out_len, room, fmt, ap);
        va_end(ap);
        if (n < 0 || (size_t) n >= room)
                return -ENOBUFS;
        c->out_len += (size_t) n;
        return 0;
}

static int queue_response_with(struct conn *c, int status, const char *extra, const char *body) {
        if (!c->keep_alive)
                c->close_after = true;
        return queue(c, "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
                        "Cache-Control: no-store\r\n%s%s\r\n%s",
                     status, reason_phrase(status), strlen(body),
                     !c->keep_alive ? "Connection: close\r\n" : c->http10 ? "Connection: keep-alive\r\n" : "",
                     extra, body);
}

static int queue_response(struct conn *c, int status, const char *body) {
        return queue_response_with(c, status, "", body);
}

/* A request we cannot frame or parse: answer, then close (lingering). */
static int reject(struct conn *c, int err) {
        int status = err == -EMSGSIZE ? 431 : err == -E2BIG ? 413 : err == -ENOTSUP ? 411 : 400;
        char body[96];

        if (err == -ENOMEM)
                return err;
        fprintf(stderr, PROG ": %d %s: closing the connection\n", status, reason_phrase(status));
        snprintf(body, sizeof body, "{\"error\":\"%s\"}", reason_phrase(status));
        c->keep_alive = false;
        return queue_response(c, status, body);
}

static const char *check_signature(const struct options *o, json_t *headers, const char *body,
                                   size_t len) {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int md_len = 0;
        char want[8 + 2 * EVP_MAX_MD_SIZE] = "sha256=";
        const char *got = jstr(headers, "x-anju-signature");

        if (!o->hmac_key)
                return NULL;
        if (!got)
                return "missing";
        if (!HMAC(EVP_sha256(), o->hmac_key, (int) o->hmac_key_len, (const unsigned char *) body,
                  len, md, &md_len))
                return "bad";
        for (unsigned int i = 0; i < md_len; i++)
                snprintf(want + 7 + 2 * i, 3, "%02x", md[i]);
        return strlen(got) == strlen(want) && CRYPTO_memcmp(got, want, strlen(want)) == 0 ? "ok" : "bad";
}

static const char *check_token(const struct options *o, json_t *headers) {
        const char *got = jstr(headers, "authorization");

        if (!o->token)
                return NULL;
        if (!got)
                return "missing";
        if (strncasecmp(got, "Bearer ", 7) != 0 || strlen(got + 7) != o->token_len)
                return "bad";
        return CRYPTO_memcmp(got + 7, o->token, o->token_len) == 0 ? "ok" : "bad";
}

/* A new case, or the remembered one for a repeated Idempotency-Key. */
static void assign_case(struct server *s, const char *key, struct verdict *v) {
        json_t *seen = key && *key ? json_object_get(s->cases, key) : NULL;
        unsigned long no;

        if (seen) {
                no = (unsigned long) json_integer_value(seen);
                v->duplicate = true;
        } else {
                no = ++s->n_cases;
                if (key && *key && json_object_size(s->cases) < MAX_KEYS)
                        json_object_set_new_nocheck(s->cases, key, json_integer((json_int_t) no));
        }
        snprintf(v->case_id, sizeof v->case_id, "SIM-%06lu", no);
}

/* The status a call of this alarm type gets by --status-for, or 0. */
static int status_for(const struct options *o, const char *body, size_t len) {
        json_t *j = json_loadb(body, len, 0, NULL);
        const char *type = json_string_value(json_object_get(j, "type"));
        int r = 0;

        for (size_t i = 0; type && i < o->n_status_for; i++)
                if (strcmp(o->status_for[i].type, type) == 0)
                        r = o->status_for[i].status;
        json_decref(j);
        return r;
}

static int answer_call(struct server *s, struct conn *c, long long t_read) {
        const struct options *o = s->opt;
        json_t *headers = json_object_get(c->head, "headers");
        const char *body = c->in + c->head_len;
        struct verdict v = { .n = ++s->n_posts, .t_mono_ns = t_read };
        char extra[64] = "", *payload;
        json_t *answer;
        int r, forced = status_for(o, body, c->body_len);

        clock_gettime(CLOCK_REALTIME, &v.wall);
        if (v.n <= (unsigned long) o->fail_first) {
                v.status = o->fail_status ? o->fail_status : 503;
                v.outage = true;
        } else {
                v.status = forced ? forced : o->status ? o->status : 201;
                if (v.status < 300)
                        assign_case(s, jstr(headers, "idempotency-key"), &v);
        }
        v.signature = check_signature(o, headers, body, c->body_len);
        v.auth = check_token(o, headers);
        if (v.case_id[0] && !o->no_case_id)
                answer = json_pack("{s:s}", "case_id", o->case_id ? o->case_id : v.case_id);
        else if (v.status < 300)
                answer = json_pack("{s:b}", "accepted", 1);
        else
                answer = json_pack("{s:s}", "error", v.outage ? "simulated outage" : "simulated status");
        if (o->huge_answer && v.status < 300) {
                static char pad[70 * 1024];
                memset(pad, 'x', sizeof pad - 1);
                json_object_set_new(answer, "padding", json_string(pad));
        }
        if (o->retry_after > 0 && v.status >= 300)
                snprintf(extra, sizeof extra, "Retry-After: %ld\r\n", o->retry_after);
        payload = answer ? json_dumps(answer, JSON_COMPACT) : NULL;
        json_decref(answer);
        if (!payload)
                return -ENOMEM;
        r = queue_response_with(c, v.status, extra, payload);
        free(payload);
        if (r == 0 && o->delay_ms > 0)
                c->deadline_ns = t_read + o->delay_ms * 1000000LL;
        return r < 0 ? r : emit_record(o, &v, c->head, body, c->body_len);
}

/* Not a call: the health check, or an error. Never printed. */
static int answer_other(struct conn *c) {
        const char *path = jstr(c->head, "path");
        bool get = strcmp(jstr(c->head, "method"), "GET") == 0;

        if (get && strcspn(path, "?") == 7 && strncmp(path, "/health", 7) == 0)
                return queue_response(c, 200, "{\"ok\":true}");
        if (get)
                return queue_response(c, 404, "{\"error\":\"not found\"}");
        return queue_response(c, 405, "{\"error\":\"method not allowed\"}");
}

static void consume_request(struct conn *c) {
        size_t used = c->head_len + c->body_len;

        memmove(c->in, c->in + used, c->in_len - used);
        c->in_len -= used;
        json_decref(c->head);
        c->head = NULL;
        c->head_len = c->body_len = 0;
        c->expect_continue = c->sent_continue = false;
        if (c->in_len == 0 && c->in_cap > 64 * 1024) {
                free(c->in);            /* give a big body's buffer back */
                c->in = NULL;
                c->in_cap = 0;
        }
}

/* One step on the buffered input: 1 = something queued, 0 = need more
 * bytes, <0 = close now. */
static int conn_step(struct server *s, struct conn *c) {
        int r;

        if (!c->head) {
                r = c->in_len ? take_head(c) : 0;
                if (r < 0)
                        return reject(c, r) < 0 ? -ENOBUFS : 1;
                if (r == 0)
                        return 0;
        }
        if (c->in_len < c->head_len + c->body_len) {
                if (!c->expect_continue || c->sent_continue)
                        return 0;
                c->sent_continue = true;
                return queue(c, "HTTP/1.1 100 Continue\r\n\r\n") < 0 ? -ENOBUFS : 1;
        }
        if (strcmp(jstr(c->head, "method"), "POST") == 0)
                r = answer_call(s, c, mono_ns());
        else
                r = answer_other(c);
        consume_request(c);
        return r < 0 ? r : 1;
}

/* Sends what is queued: 1 = all sent, 0 = wait (held back, or socket full). */
static int conn_flush(struct conn *c, long long now) {
        if (c->deadline_ns && now < c->deadline_ns)
                return 0;
        c->deadline_ns = 0;
        while (c->out_off < c->out_len) {
                ssize_t k = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);

                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
                c->out_off += (size_t) k;
        }
        c->out_len = c->out_off = 0;
        return 1;
}

/* Takes a connection as far as it goes without blocking: send, parse,
 * answer, again. <0 = close it. */
static int conn_run(struct server *s, struct conn *c, long long now) {
        for (;;) {
                int r;

                if (c->out_len > 0) {
                        r = conn_flush(c, now);
                        if (r <= 0)
                                return r;
                        continue;
                }
                if (c->close_after) {
                        /* Lingering close: closing with input unread sends a reset,
                         * which can destroy the answer before the client reads it. */
                        if (c->peer_closed || shutdown(c->fd, SHUT_WR) < 0)
                                return -ECONNRESET;
                        c->draining = true;
                        c->deadline_ns = now + DRAIN_NS;
                        return 0;
                }
                r = conn_step(s, c);
                if (r <= 0)
                        return r < 0 ? r : c->peer_closed ? -ECONNRESET : 0;
        }
}

/* Reads what the socket has, up to one complete request of the largest size. */
static int conn_read(struct conn *c) {
        for (;;) {
                ssize_t k;

                if (c->in_len == c->in_cap) {
                        size_t cap = c->in_cap ? c->in_cap * 2 : 4096;
                        char *p;

                        if (c->in_cap >= IN_MAX)
                                return 0;
                        cap = cap > IN_MAX ? IN_MAX : cap;
                        if (!(p = realloc(c->in, cap)))
                                return -ENOMEM;
                        c->in = p;
                        c->in_cap = cap;
                }
                k = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, 0);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0) {
                        c->peer_closed = k == 0;
                        return k == 0 || errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
                }
                c->in_len += (size_t) k;
        }
}

static int conn_drain(struct conn *c, long long now) {
        char sink[16384];
        ssize_t k;

        if (now >= c->deadline_ns)
                return -ETIMEDOUT;
        while ((k = recv(c->fd, sink, sizeof sink, 0)) > 0 || (k < 0 && errno == EINTR))
                ;
        return k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -ECONNRESET;
}

static int conn_service(struct server *s, struct conn *c, short revents, long long now) {
        int r;

        if (revents & (POLLERR | POLLNVAL))
                return -EIO;
        if (c->draining)
                return conn_drain(c, now);
        if (revents & POLLHUP)
                return -ECONNRESET;     /* reset by the peer: nothing can be sent */
        if ((revents & POLLIN) && (r = conn_read(c)) < 0)
                return r;
        return conn_run(s, c, now);
}

static void conn_free(struct conn *c) {
        close(c->fd);
        free(c->in);
        json_decref(c->head);
        free(c);
}

static void accept_all(struct server *s, long long now) {
        while (s->n_conns < s->max_conns) {
                int one = 1, fd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                struct conn *c;

                if (fd < 0 && (errno == EINTR || errno == ECONNABORTED))
                        continue;
                if (fd < 0) {
                        /* Out of descriptors or memory: poll() would report the
                         * listener ready again at once, so look a little later. */
                        if (errno != EAGAIN && errno != EWOULDBLOCK)
                                s->accept_paused_until = now + BACKOFF_NS;
                        return;
                }
                if (!(c = calloc(1, sizeof *c))) {
                        close(fd);
                        s->accept_paused_until = now + BACKOFF_NS;
                        return;
                }
                setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                c->fd = fd;
                s->conns[s->n_conns++] = c;
        }
}

static int build_pollset(struct server *s, struct pollfd *pfd, long long now) {
        long long next = s->accept_paused_until > now ? s->accept_paused_until : 0, ms;
        bool can_accept = s->n_conns < s->max_conns && !next;

        pfd[0] = (struct pollfd) { .fd = s->signal_fd, .events = POLLIN };
        pfd[1] = (struct pollfd) { .fd = s->listen_fd, .events = can_accept ? POLLIN : 0 };
        for (size_t i = 0; i < s->n_conns; i++) {
                struct conn *c = s->conns[i];
                short ev = 0;

                if (c->draining)
                        ev = POLLIN;
                else if (c->out_len > 0)
                        ev = c->deadline_ns ? 0 : POLLOUT;
                else if (!c->peer_closed && c->in_len < IN_MAX)
                        ev = POLLIN;
                pfd[i + 2] = (struct pollfd) { .fd = c->fd, .events = ev };
                if (c->deadline_ns && (!next || c->deadline_ns < next))
                        next = c->deadline_ns;
        }
        if (!next)
                return -1;
        ms = next <= now ? 0 : (next - now + 999999) / 1000000;   /* round up: never wake early */
        return ms > 60000 ? 60000 : (int) ms;
}

static int serve(struct server *s) {
        struct pollfd pfd[MAX_CONNS + 2];

        for (;;) {
                long long now = mono_ns();
                int timeout = build_pollset(s, pfd, now);

                if (poll(pfd, (nfds_t) s->n_conns + 2, timeout) < 0) {
                        if (errno == EINTR)
                                continue;       /* the self-pipe says why */
                        return -errno;
                }
                if (pfd[0].revents)
                        return 0;
                now = mono_ns();
                /* Backwards: closing moves the last connection into slot i,
                 * and that one has had its turn already. */
                for (size_t i = s->n_conns; i-- > 0;) {
                        struct conn *c = s->conns[i];
                        bool due = c->deadline_ns && now >= c->deadline_ns;

                        if ((pfd[i + 2].revents || due) && conn_service(s, c, pfd[i + 2].revents, now) < 0) {
                                conn_free(c);
                                s->conns[i] = s->conns[--s->n_conns];
                        }
                }
                if (pfd[1].revents & POLLIN)
                        accept_all(s, now);
        }
}

/* Signals, socket, port file; says why when it fails. */
static int start(struct server *s, const struct options *o) {
        int r, port = 0;

        s->max_conns = conn_limit();
        s->cases = json_object();
        r = s->cases ? setup_signals(&s->signal_fd) : -ENOMEM;
        if (r < 0) {
                fprintf(stderr, PROG ": setup failed: %s\n", strerror(-r));
                return r;
        }
        s->listen_fd = open_listener(o->listen_addr, o->port, &port);
        if (s->listen_fd < 0) {
                fprintf(stderr, PROG ": cannot listen on %s port %d: %s\n", o->listen_addr, o->port,
                        strerror(-s->listen_fd));
                return s->listen_fd;
        }
        if (o->port_file && (r = write_port_file(o->port_file, port)) < 0) {
                fprintf(stderr, PROG ": cannot write %s: %s\n", o->port_file, strerror(-r));
                return r;
        }
        fprintf(stderr, strchr(o->listen_addr, ':') ? "listening on [%s]:%d\n" : "listening on %s:%d\n",
                o->listen_addr, port);
        return 0;
}

int main(int argc, char **argv) {
        struct options o = { .listen_addr = "127.0.0.1" };
        struct server s = { .opt = &o, .listen_fd = -1, .signal_fd = -1 };
        const char *no_color = getenv("NO_COLOR");
        int r;

        r = parse_args(argc, argv, &o);
        if (r != 0) {
                options_free(&o);
                return r > 0 ? 0 : 2;
        }
        o.color = !o.json && isatty(STDOUT_FILENO) && !(no_color && *no_color);
        tzset();
        r = start(&s, &o);
        if (r == 0 && (r = serve(&s)) < 0)
                fprintf(stderr, PROG ": poll: %s\n", strerror(-r));
        while (s.n_conns > 0)
                conn_free(s.conns[--s.n_conns]);
        if (s.listen_fd >= 0)
                close(s.listen_fd);
        json_decref(s.cases);
        options_free(&o);
        fflush(stdout);
        return r < 0 ? 1 : 0;
}
