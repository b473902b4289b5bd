/* anju-bench-latency: how long a smoke alarm takes from its MQTT publish to
 * the emergency call's arrival at the dispatch center, one alarm at a time,
 * with non-alarm traffic in between; then the idle cost of anjud (RSS, CPU,
 * wake-ups) and its start-up time. Everything runs on 127.0.0.1: a private
 * mosquitto, an HTTP/1.1 dispatch center in a thread of this program, and
 * the real anjud. A benchmark, not a test: it prints figures against the
 * budgets of SPEC §11 and fails only on a setup error or a lost alarm. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <mntent.h>
#include <mosquitto.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NSEC_PER_USEC 1000ULL
#define NSEC_PER_MSEC 1000000ULL
#define NSEC_PER_SEC 1000000000ULL
#define ALARM_DEADLINE (5 * NSEC_PER_SEC)       /* no call by then: the alarm is lost */
#define SETUP_DEADLINE (10 * NSEC_PER_SEC)
#define IDLE_SETTLE_SEC 5
#define IDLE_WINDOW_SEC 10
#define MAX_CONNS 32
#define REQUEST_MAX (1 << 20)
#define HUB_ID "bench"
#define STATUS_TOPIC "anju/" HUB_ID "/status"

/* SPEC §11 budgets. */
#define TARGET_P99_USEC 1000
#define TARGET_RSS_KB 4096
#define TARGET_WAKEUPS_PER_SEC 1.0
#define TARGET_READY_MSEC 50
/* "0 % CPU": under 0.01 % of the window, i.e. below what "%.2f %%" shows. */
#define IDLE_CPU_MAX_NS (IDLE_WINDOW_SEC * NSEC_PER_SEC / 10000)

struct opts {
        unsigned alarms, noise, gap_ms;
        const char *anjud, *mosquitto, *db_dir, *raw;
        bool broker_nodelay, quiet;
};

/* What the dispatch center saw: one complete request. */
struct request {
        uint64_t at;                    /* CLOCK_MONOTONIC ns when its last byte was read */
        char sensor[64];                /* body.sensor.id, "" if none */
        bool update;                    /* body.call == "update" */
};

struct conn {
        int fd;
        char *buf;
        size_t len, cap;
};

struct server {
        int listen_fd, wake[2];
        unsigned port;
        pthread_t thread;
        bool running;
        pthread_mutex_t lock;
        pthread_cond_t cond;
        struct request *queue;          /* ring of requests not yet taken */
        size_t head, count, cap;
        unsigned long served, bad;
        struct conn conns[MAX_CONNS];
};

struct status_watch {
        pthread_mutex_t lock;
        pthread_cond_t cond;
        bool subscribed, online;
        uint64_t online_at;
};

struct publisher {
        struct mosquitto *mosq;
        bool connected;
        unsigned long sent, done;       /* done: QoS 0 written or QoS 1 acked */
};

/* Everything to undo on the way out; only our own children, by pid. */
static struct {
        pid_t broker, anjud;
        char dir[PATH_MAX];             /* our temp dir: config, logs, default database */
        char db_dir[PATH_MAX];          /* where the database is, if elsewhere */
        char broker_log[PATH_MAX + 32], anjud_log[PATH_MAX + 32];
} st;

static volatile sig_atomic_t interrupted;

static uint64_t now_ns(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * NSEC_PER_SEC + (uint64_t) ts.tv_nsec;
}

/* Sleeps ns; an interruptible sleep ends early on SIGINT/SIGTERM. */
static void sleep_ns(uint64_t ns, bool interruptible) {
        struct timespec ts = { (time_t) (ns / NSEC_PER_SEC), (long) (ns % NSEC_PER_SEC) };

        while (nanosleep(&ts, &ts) < 0 && errno == EINTR && !(interruptible && interrupted))
                ;
}

static void deadline_to_timespec(uint64_t deadline, struct timespec *ts) {
        ts->tv_sec = (time_t) (deadline / NSEC_PER_SEC);
        ts->tv_nsec = (long) (deadline % NSEC_PER_SEC);
}

static void init_mono_cond(pthread_cond_t *c) {
        pthread_condattr_t a;

        pthread_condattr_init(&a);
        pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
        pthread_cond_init(c, &a);
        pthread_condattr_destroy(&a);
}

/* --- children and clean-up --- */

static int stop_child(pid_t *pid, const char *name) {
        uint64_t deadline = now_ns() + 5 * NSEC_PER_SEC;
        int status = 0;
        pid_t r;

        if (*pid <= 0)
                return 0;
        kill(*pid, SIGTERM);
        while ((r = waitpid(*pid, &status, WNOHANG)) == 0 && now_ns() < deadline)
                sleep_ns(5 * NSEC_PER_MSEC, false);
        if (r == 0) {
                fprintf(stderr, "anju-bench-latency: %s (pid %d) ignored SIGTERM for 5 s, killing it\n",
                        name, (int) *pid);
                kill(*pid, SIGKILL);
                waitpid(*pid, &status, 0);
        }
        *pid = 0;
        return status;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
        (void) sb, (void) ftw;
        if (remove(path) < 0 && flag != FTW_DNR)
                fprintf(stderr, "anju-bench-latency: cannot remove %s: %s\n", path, strerror(errno));
        return 0;
}

static void rm_tree(char *dir) {
        if (dir[0])
                nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        dir[0] = '\0';
}

static void cleanup(void) {
        stop_child(&st.anjud, "anjud");
        stop_child(&st.broker, "mosquitto");
        rm_tree(st.db_dir);
        rm_tree(st.dir);
}

static void show_tail(const char *what, const char *path) {
        char buf[4096];
        ssize_t n;
        off_t size;
        int fd = open(path, O_RDONLY | O_CLOEXEC);

        if (fd < 0)
                return;
        size = lseek(fd, 0, SEEK_END);
        lseek(fd, size > (off_t) sizeof buf - 1 ? size - (off_t) sizeof buf + 1 : 0, SEEK_SET);
        n = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (n > 0) {
                buf[n] = '\0';
                fprintf(stderr, "--- end of %s's output ---\n%s%s---\n", what, buf,
                        buf[n - 1] == '\n' ? "" : "\n");
        }
}

static void __attribute__((noreturn, format(printf, 1, 2))) die(const char *fmt, ...) {
        va_list ap;

        fprintf(stderr, "anju-bench-latency: ");
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
        if (st.broker_log[0])
                show_tail("mosquitto", st.broker_log);
        if (st.anjud_log[0])
                show_tail("anjud", st.anjud_log);
        cleanup();
        exit(2);
}

static void on_interrupt(int sig) {
        (void) sig;
        interrupted = 1;
}

/* Forks and execs argv with stdout and stderr appended to log; the child
 * dies with us. */
static pid_t spawn(char *const argv[], const char *log) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        pid_t pid;

        if (fd < 0)
                die("cannot create %s: %s", log, strerror(errno));
        pid = fork();
        if (pid < 0)
                die("fork: %s", strerror(errno));
        if (pid == 0) {
                sigset_t none;

                sigemptyset(&none);
                sigprocmask(SIG_SETMASK, &none, NULL);
                prctl(PR_SET_PDEATHSIG, SIGTERM);
                dup2(fd, STDOUT_FILENO);
                dup2(fd, STDERR_FILENO);
                execvp(argv[0], argv);
                /* Only async-signal-safe calls here: other threads exist. */
                (void) !write(STDERR_FILENO, "exec failed\n", 12);
                _exit(127);
        }
        close(fd);
        return pid;
}

/* False once *pid has exited: it is then reaped and *pid set to 0, so the
 * number (free for reuse) is never signalled. */
static bool child_alive(pid_t *pid) {
        if (*pid <= 0)
                return false;
        if (waitpid(*pid, NULL, WNOHANG) == 0)
                return true;
        *pid = 0;
        return false;
}

/* --- the dispatch center: HTTP/1.1, keep-alive, answers 201 with a case id --- */

static void server_push(struct server *s, const struct request *rq) {
        pthread_mutex_lock(&s->lock);
        if (s->count == s->cap) {
                size_t cap = s->cap ? s->cap * 2 : 64;
                struct request *q = malloc(cap * sizeof *q);

                if (!q) {
                        pthread_mutex_unlock(&s->lock);
                        return;         /* shows up as a lost alarm */
                }
                for (size_t i = 0; i < s->count; i++)
                        q[i] = s->queue[(s->head + i) % s->cap];
                free(s->queue);
                s->queue = q;
                s->head = 0;
                s->cap = cap;
        }
        s->queue[(s->head + s->count) % s->cap] = *rq;
        s->count++;
        pthread_cond_signal(&s->cond);
        pthread_mutex_unlock(&s->lock);
}

/* Takes requests until one is for sensor, or the deadline passes. */
static bool server_wait_for(struct server *s, const char *sensor, uint64_t deadline,
                            struct request *ret) {
        struct timespec ts;
        bool found = false;

        deadline_to_timespec(deadline, &ts);
        pthread_mutex_lock(&s->lock);
        while (!found) {
                if (s->count == 0) {
                        if (pthread_cond_timedwait(&s->cond, &s->lock, &ts) == ETIMEDOUT &&
                            s->count == 0)
                                break;
                        continue;
                }
                *ret = s->queue[s->head];
                s->head = (s->head + 1) % s->cap;
                s->count--;
                found = strcmp(ret->sensor, sensor) == 0;
        }
        pthread_mutex_unlock(&s->lock);
        return found;
}

static bool write_all(int fd, const char *p, size_t n) {
        while (n > 0) {
                ssize_t k = write(fd, p, n);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        return false;
                p += k;
                n -= (size_t) k;
        }
        return true;
}

/* Content-Length of a header block, -1 if absent or bad; *close if the
 * client asked to close the connection. */
static long header_content_length(const char *h, size_t len, bool *close_after) {
        long cl = -1;

        *close_after = false;
        for (const char *p = h, *end = h + len; p < end;) {
                const char *eol = memmem(p, (size_t) (end - p), "\r\n", 2);
                size_t l = eol ? (size_t) (eol - p) : (size_t) (end - p);

                if (l > 15 && strncasecmp(p, "Content-Length:", 15) == 0)
                        cl = strtol(p + 15, NULL, 10);
                else if (l > 11 && strncasecmp(p, "Connection:", 11) == 0 &&
                         memmem(p, l, "close", 5))
                        *close_after = true;
                else if (l > 18 && strncasecmp(p, "Transfer-Encoding:", 18) == 0)
                        return -1;      /* chunked bodies: not what anjud sends */
                p += l + 2;
        }
        return cl;
}

static void parse_body(const char *body, size_t len, struct request *rq) {
        json_t *root = json_loadb(body, len, 0, NULL);
        const char *id = json_string_value(json_object_get(json_object_get(root, "sensor"), "id"));
        const char *call = json_string_value(json_object_get(root, "call"));

        snprintf(rq->sensor, sizeof rq->sensor, "%s", id ? id : "");
        rq->update = call && strcmp(call, "update") == 0;
        json_decref(root);
}

/* Answers every complete request in c's buffer; false to close it. */
static bool serve_buffered(struct server *s, struct conn *c, uint64_t at) {
        for (;;) {
                char *hdr_end = memmem(c->buf, c->len, "\r\n\r\n", 4);
                char answer[256], body[64];
                struct request rq = { .at = at };
                bool close_after;
                size_t hlen, total;
                long cl;
                int n, bn;

                if (!hdr_end)
                        return c->len < REQUEST_MAX;
                hlen = (size_t) (hdr_end - c->buf) + 4;
                cl = header_content_length(c->buf, hlen - 4, &close_after);
                if (cl < 0 || cl > REQUEST_MAX) {
                        static const char refuse[] = "HTTP/1.1 411 Length Required\r\n"
                                                     "Content-Length: 0\r\nConnection: close\r\n\r\n";
                        s->bad++;
                        (void) write_all(c->fd, refuse, sizeof refuse - 1);
                        return false;
                }
                total = hlen + (size_t) cl;
                if (c->len < total)
                        return true;
                parse_body(c->buf + hlen, (size_t) cl, &rq);
                s->served++;
                bn = snprintf(body, sizeof body, "{\"case_id\":\"B-%lu\"}", s->served);
                n = snprintf(answer, sizeof answer,
                             "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n"
                             "Content-Length: %d\r\n\r\n%s", bn, body);
                if (!write_all(c->fd, answer, (size_t) n))
                        return false;
                server_push(s, &rq);
                memmove(c->buf, c->buf + total, c->len - total);
                c->len -= total;
                if (close_after)
                        return false;
        }
}

static void conn_close(struct conn *c) {
        close(c->fd);
        free(c->buf);
        *c = (struct conn) { .fd = -1 };
}

/* Reads what c has; the time is taken as soon as read() returns, before
 * any parsing, so the figure is the arrival of the bytes. */
static void conn_readable(struct server *s, struct conn *c) {
        ssize_t k;
        uint64_t at;

        if (c->cap - c->len < 4096) {
                size_t cap = c->cap ? c->cap * 2 : 16384;
                char *b = realloc(c->buf, cap);
                if (!b) {
                        conn_close(c);
                        return;
                }
                c->buf = b;
                c->cap = cap;
        }
        k = read(c->fd, c->buf + c->len, c->cap - c->len);
        at = now_ns();
        if (k < 0 && (errno == EINTR || errno == EAGAIN))
                return;
        if (k <= 0) {
                conn_close(c);
                return;
        }
        c->len += (size_t) k;
        if (!serve_buffered(s, c, at))
                conn_close(c);
}

static void server_accept(struct server *s) {
        int fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC), one = 1;

        if (fd < 0)
                return;
        for (int i = 0; i < MAX_CONNS; i++)
                if (s->conns[i].fd < 0) {
                        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                        s->conns[i] = (struct conn) { .fd = fd };
                        return;
                }
        close(fd);
}

static void *server_main(void *userdata) {
        struct server *s = userdata;
        struct pollfd p[MAX_CONNS + 2];

        for (;;) {
                int map[MAX_CONNS], n = 2;

                p[0] = (struct pollfd) { .fd = s->wake[0], .events = POLLIN };
                p[1] = (struct pollfd) { .fd = s->listen_fd, .events = POLLIN };
                for (int i = 0; i < MAX_CONNS; i++)
                        if (s->conns[i].fd >= 0) {
                                map[n - 2] = i;
                                p[n++] = (struct pollfd) { .fd = s->conns[i].fd, .events = POLLIN };
                        }
                if (poll(p, (nfds_t) n, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        break;
                }
                if (p[0].revents)
                        break;
                for (int i = 2; i < n; i++)
                        if (p[i].revents)
                                conn_readable(s, &s->conns[map[i - 2]]);
                if (p[1].revents & POLLIN)
                        server_accept(s);
        }
        for (int i = 0; i < MAX_CONNS; i++)
                if (s->conns[i].fd >= 0)
                        conn_close(&s->conns[i]);
        return NULL;
}

static void server_start(struct server *s) {
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t l = sizeof a;
        int r;

        memset(s, 0, sizeof *s);
        for (int i = 0; i < MAX_CONNS; i++)
                s->conns[i].fd = -1;
        pthread_mutex_init(&s->lock, NULL);
        init_mono_cond(&s->cond);
        s->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (s->listen_fd < 0 || bind(s->listen_fd, (struct sockaddr *) &a, sizeof a) < 0 ||
            listen(s->listen_fd, 16) < 0 || getsockname(s->listen_fd, (struct sockaddr *) &a, &l) < 0)
                die("dispatch center: cannot listen on 127.0.0.1: %s", strerror(errno));
        s->port = ntohs(a.sin_port);
        if (pipe2(s->wake, O_CLOEXEC) < 0)
                die("pipe: %s", strerror(errno));
        r = pthread_create(&s->thread, NULL, server_main, s);
        if (r != 0)
                die("cannot start the dispatch center thread: %s", strerror(r));
        s->running = true;
}

static void server_stop(struct server *s) {
        if (!s->running)
                return;
        (void) !write(s->wake[1], "x", 1);
        pthread_join(s->thread, NULL);
        close(s->wake[0]);
        close(s->wake[1]);
        close(s->listen_fd);
        free(s->queue);
        s->running = false;
}

/* --- the broker --- */

static unsigned free_port(void) {
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t l = sizeof a;
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

        if (fd < 0 || bind(fd, (struct sockaddr *) &a, sizeof a) < 0 ||
            getsockname(fd, (struct sockaddr *) &a, &l) < 0)
                die("no free port on 127.0.0.1: %s", strerror(errno));
        close(fd);
        return ntohs(a.sin_port);
}

static bool port_accepts(unsigned port) {
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t) port),
                                 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        bool ok = fd >= 0 && connect(fd, (struct sockaddr *) &a, sizeof a) == 0;

        if (fd >= 0)
                close(fd);
        return ok;
}

static unsigned broker_start(const struct opts *o) {
        char conf[PATH_MAX + 32];
        uint64_t deadline;
        unsigned port = free_port();
        FILE *f;

        snprintf(conf, sizeof conf, "%s/mosquitto.conf", st.dir);
        f = fopen(conf, "we");
        if (!f)
                die("cannot write %s: %s", conf, strerror(errno));
        fprintf(f, "listener %u 127.0.0.1\nallow_anonymous true\npersistence false\n"
                   "log_dest stderr\nmax_queued_messages 100000\n%s", port,
                o->broker_nodelay ? "set_tcp_nodelay true\n" : "");
        fclose(f);
        snprintf(st.broker_log, sizeof st.broker_log, "%s/mosquitto.log", st.dir);
        st.broker = spawn((char *const[]) { (char *) o->mosquitto, "-c", conf, NULL }, st.broker_log);
        /* Ready when it accepts a connection; retry until then, boundedly. */
        deadline = now_ns() + SETUP_DEADLINE;
        while (!port_accepts(port)) {
                if (!child_alive(&st.broker))
                        die("mosquitto (%s) exited at start-up", o->mosquitto);
                if (now_ns() > deadline || interrupted)
                        die("mosquitto did not accept connections on port %u within 10 s", port);
                sleep_ns(2 * NSEC_PER_MSEC, true);
        }
        return port;
}

/* --- MQTT clients of the bench --- */

static void on_status_subscribe(struct mosquitto *m, void *ud, int mid, int n, const int *qos) {
        struct status_watch *w = ud;

        (void) m, (void) mid, (void) n, (void) qos;
        pthread_mutex_lock(&w->lock);
        w->subscribed = true;
        pthread_cond_signal(&w->cond);
        pthread_mutex_unlock(&w->lock);
}

static void on_status_message(struct mosquitto *m, void *ud, const struct mosquitto_message *msg) {
        struct status_watch *w = ud;
        uint64_t at = now_ns();

        (void) m;
        if (msg->payloadlen != 6 || memcmp(msg->payload, "online", 6) != 0)
                return;
        pthread_mutex_lock(&w->lock);
        if (!w->online) {
                w->online = true;
                w->online_at = at;
        }
        pthread_cond_signal(&w->cond);
        pthread_mutex_unlock(&w->lock);
}

static void on_status_connect(struct mosquitto *m, void *ud, int rc) {
        (void) ud;
        if (rc == 0)
                mosquitto_subscribe(m, NULL, STATUS_TOPIC, 1);
}

/* Waits (in slices, so a dead anjud is noticed) until flag is set. */
static bool watch_wait(struct status_watch *w, const bool *flag, uint64_t deadline, pid_t *child) {
        bool ok;

        pthread_mutex_lock(&w->lock);
        while (!*flag && now_ns() < deadline && !interrupted) {
                uint64_t slice = now_ns() + 50 * NSEC_PER_MSEC;
                struct timespec ts;

                deadline_to_timespec(slice < deadline ? slice : deadline, &ts);
                pthread_cond_timedwait(&w->cond, &w->lock, &ts);
                if (child && !*flag && !child_alive(child))
                        break;
        }
        ok = *flag;
        pthread_mutex_unlock(&w->lock);
        return ok;
}

static struct mosquitto *status_watch_start(struct status_watch *w, unsigned port) {
        struct mosquitto *m;

        memset(w, 0, sizeof *w);
        pthread_mutex_init(&w->lock, NULL);
        init_mono_cond(&w->cond);
        m = mosquitto_new(NULL, true, w);
        if (!m)
                die("mosquitto_new failed");
        mosquitto_connect_callback_set(m, on_status_connect);
        mosquitto_subscribe_callback_set(m, on_status_subscribe);
        mosquitto_message_callback_set(m, on_status_message);
        if (mosquitto_connect(m, "127.0.0.1", (int) port, 60) != MOSQ_ERR_SUCCESS ||
            mosquitto_loop_start(m) != MOSQ_ERR_SUCCESS)
                die("the status watcher cannot connect to the broker");
        if (!watch_wait(w, &w->subscribed, now_ns() + SETUP_DEADLINE, NULL))
                die("the status watcher did not get its subscription within 10 s");
        return m;
}

static void client_free(struct mosquitto *m, bool threaded) {
        if (!m)
                return;
        mosquitto_disconnect(m);
        if (threaded)
                mosquitto_loop_stop(m, false);
        mosquitto_destroy(m);
}

static void on_pub_connect(struct mosquitto *m, void *ud, int rc) {
        struct publisher *p = ud;

        (void) m;
        p->connected = rc == 0;
}

static void on_pub_done(struct mosquitto *m, void *ud, int mid) {
        struct publisher *p = ud;

        (void) m, (void) mid;
        p->done++;
}

/* The publisher has no loop thread: mosquitto_publish() writes the packet
 * in this thread at once, so t0 is taken next to the write(2) to the broker. */
static void publisher_start(struct publisher *p, unsigned port) {
        uint64_t deadline = now_ns() + SETUP_DEADLINE;

        memset(p, 0, sizeof *p);
        p->mosq = mosquitto_new(NULL, true, p);
        if (!p->mosq)
                die("mosquitto_new failed");
        mosquitto_max_inflight_messages_set(p->mosq, 0);
        /* Without it Nagle holds the alarm behind the unacknowledged noise
         * and the broker's delayed ACK adds 40 ms. */
        mosquitto_int_option(p->mosq, MOSQ_OPT_TCP_NODELAY, 1);
        mosquitto_connect_callback_set(p->mosq, on_pub_connect);
        mosquitto_publish_callback_set(p->mosq, on_pub_done);
        if (mosquitto_connect(p->mosq, "127.0.0.1", (int) port, 60) != MOSQ_ERR_SUCCESS)
                die("the publisher cannot connect to the broker");
        while (!p->connected) {
                if (now_ns() > deadline || mosquitto_loop(p->mosq, 50, 1) != MOSQ_ERR_SUCCESS)
                        die("the publisher got no CONNACK within 10 s");
        }
}

static void publish(struct publisher *p, const char *topic, const char *payload, int qos) {
        int rc = mosquitto_publish(p->mosq, NULL, topic, (int) strlen(payload), payload, qos, false);

        if (rc != MOSQ_ERR_SUCCESS)
                die("publish to %s failed: %s", topic, mosquitto_strerror(rc));
        p->sent++;
}

/* Reads PUBACKs until everything sent is acknowledged. */
static void publisher_drain(struct publisher *p) {
        uint64_t deadline = now_ns() + SETUP_DEADLINE;

        while (p->done < p->sent) {
                int rc = mosquitto_loop(p->mosq, 20, 1);
                if (rc != MOSQ_ERR_SUCCESS || now_ns() > deadline)
                        die("the broker stopped acknowledging publishes: %s", mosquitto_strerror(rc));
        }
}

/* --- anjud --- */

static void write_config(const struct opts *o, const char *db, unsigned mport, unsigned dport,
                         char *path, size_t n) {
        FILE *f;

        snprintf(path, n, "%s/anju.conf", st.dir);
        f = fopen(path, "we");
        if (!f)
                die("cannot write %s: %s", path, strerror(errno));
        fprintf(f, "[hub]\nid = " HUB_ID "\nlanguage = en\ndatabase = %s\n\n"
                   "[resident]\nname = Bench Resident\naddress = 127.0.0.1, Loopback Road 1\n\n"
                   "[mqtt]\nhost = 127.0.0.1\nport = %u\n\n"
                   "[dispatch]\nurl = http://127.0.0.1:%u/alarms\nretry_min = 100ms\nretry_max = 1s\n\n"
                   "[sensor motion]\nkind = motion\nroom = r\ntopic = bench/motion\n",
                db, mport, dport);
        for (unsigned i = 1; i <= o->alarms; i++)
                fprintf(f, "\n[sensor s%04u]\nkind = smoke\nroom = r\ntopic = bench/s%04u\n", i, i);
        if (fclose(f) != 0)
                die("cannot write %s: %s", path, strerror(errno));
}

/* A "Key:   123 kB" figure from /proc/PID/<file>, -1 if absent. */
static long proc_kb(pid_t pid, const char *file, const char *key) {
        char path[64], line[256];
        size_t kl = strlen(key);
        long v = -1;
        FILE *f;

        snprintf(path, sizeof path, "/proc/%d/%s", (int) pid, file);
        f = fopen(path, "re");
        while (f && fgets(line, sizeof line, f))
                if (strncmp(line, key, kl) == 0 && line[kl] == ':')
                        v = strtol(line + kl + 1, NULL, 10);
        if (f)
                fclose(f);
        return v;
}

static long proc_status_kb(pid_t pid, const char *key) {
        return proc_kb(pid, "status", key);
}

struct cpu_sample {
        unsigned long long ticks;       /* utime + stime of the process */
        unsigned long long oncpu_ns;    /* schedstat run time, all threads */
        long long vcsw, ivcsw;          /* context switches, all threads */
        int threads;
};

static unsigned long long proc_ticks(pid_t pid) {
        char path[64], buf[1024], *p;
        unsigned long long ut = 0, stm = 0;
        FILE *f;

        snprintf(path, sizeof path, "/proc/%d/stat", (int) pid);
        f = fopen(path, "re");
        if (!f)
                die("cannot read %s: %s", path, strerror(errno));
        p = fgets(buf, sizeof buf, f);
        fclose(f);
        /* After the ")" of comm: state is field 3, utime 14, stime 15. */
        p = p ? strrchr(buf, ')') : NULL;
        if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &stm) != 2)
                die("cannot parse %s", path);
        return ut + stm;
}

static void sample_task(pid_t pid, int tid, struct cpu_sample *s) {
        char path[128], line[256];
        unsigned long long run = 0;
        FILE *f;

        snprintf(path, sizeof path, "/proc/%d/task/%d/schedstat", (int) pid, tid);
        f = fopen(path, "re");
        if (f) {
                if (fscanf(f, "%llu", &run) == 1)
                        s->oncpu_ns += run;
                fclose(f);
        }
        snprintf(path, sizeof path, "/proc/%d/task/%d/status", (int) pid, tid);
        f = fopen(path, "re");
        while (f && fgets(line, sizeof line, f)) {
                if (strncmp(line, "voluntary_ctxt_switches:", 24) == 0)
                        s->vcsw += strtoll(line + 24, NULL, 10);
                else if (strncmp(line, "nonvoluntary_ctxt_switches:", 27) == 0)
                        s->ivcsw += strtoll(line + 27, NULL, 10);
        }
        if (f)
                fclose(f);
}

/* CPU time and context switches of every thread of pid. */
static void sample_cpu(pid_t pid, struct cpu_sample *s) {
        char path[64];
        struct dirent *de;
        DIR *d;

        memset(s, 0, sizeof *s);
        s->ticks = proc_ticks(pid);
        snprintf(path, sizeof path, "/proc/%d/task", (int) pid);
        d = opendir(path);
        if (!d)
                die("cannot read %s: %s", path, strerror(errno));
        while ((de = readdir(d)))
                if (de->d_name[0] != '.') {
                        sample_task(pid, atoi(de->d_name), s);
                        s->threads++;
                }
        closedir(d);
}

/* "ext4 (/dev/vda on /)": the mount that holds path. */
static void describe_fs(const char *path, char *buf, size_t n) {
        char real[PATH_MAX];
        size_t best = 0;
        struct mntent *me;
        FILE *f;

        snprintf(buf, n, "unknown filesystem");
        if (!realpath(path, real) || !(f = setmntent("/proc/self/mounts", "re")))
                return;
        while ((me = getmntent(f))) {
                size_t l = strlen(me->mnt_dir);
                bool under = strncmp(real, me->mnt_dir, l) == 0 &&
                             (l == 1 || real[l] == '/' || real[l] == '\0');
                if (under && l >= best) {
                        best = l;
                        snprintf(buf, n, "%s (%s on %s)", me->mnt_type, me->mnt_fsname, me->mnt_dir);
                }
        }
        endmntent(f);
}

static int cmp_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;

        return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of a sorted array. */
static uint64_t percentile(const uint64_t *v, size_t n, double p) {
        size_t rank = (size_t) ((p / 100.0) * (double) n + 0.999999);

        return v[rank == 0 ? 0 : rank - 1];
}

/* What one commit costs on the database's filesystem: 24 KiB written and
 * fdatasync'ed, as SQLite does to the WAL on an alarm's COMMIT (about six
 * pages). Appending grows the file, so the filesystem must also commit its
 * size (the WAL before its first checkpoint); overwriting does not (a WAL
 * being reused from its start). */
static void probe_one(int fd, bool append, uint64_t *t, int rounds, const char *path) {
        static char pages[6 * 4096];

        memset(pages, 'a', sizeof pages);
        for (int i = 0; i < rounds; i++) {
                uint64_t t0 = now_ns();
                if ((!append && lseek(fd, 0, SEEK_SET) < 0) || !write_all(fd, pages, sizeof pages) ||
                    fdatasync(fd) < 0)
                        die("fsync probe on %s: %s", path, strerror(errno));
                t[i] = now_ns() - t0;
        }
        qsort(t, (size_t) rounds, sizeof *t, cmp_u64);
}

static void probe_fdatasync(const char *dir) {
        enum { ROUNDS = 200 };
        char path[PATH_MAX + 32];
        uint64_t a[ROUNDS], w[ROUNDS];
        int fd;

        snprintf(path, sizeof path, "%s/fsync-probe", dir);
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0)
                die("cannot create %s: %s", path, strerror(errno));
        probe_one(fd, true, a, ROUNDS, path);
        probe_one(fd, false, w, ROUNDS, path);
        close(fd);
        unlink(path);
        printf("fdatasync of 24 KiB, %d rounds (us): append p50 %llu p99 %llu; overwrite p50 %llu p99 %llu\n",
               ROUNDS, (unsigned long long) (percentile(a, ROUNDS, 50) / NSEC_PER_USEC),
               (unsigned long long) (percentile(a, ROUNDS, 99) / NSEC_PER_USEC),
               (unsigned long long) (percentile(w, ROUNDS, 50) / NSEC_PER_USEC),
               (unsigned long long) (percentile(w, ROUNDS, 99) / NSEC_PER_USEC));
}

/* --- the run --- */

struct results {
        uint64_t *lat;                  /* ns, for alarms that arrived */
        size_t n;
        unsigned lost, updates, alarm_calls;
};

/* The noise before alarm i: motion going on and off, and smoke-free
 * reports with a battery level from sensors that have not alarmed yet (a
 * "false" from one that has would clear its level and add a timeline row). */
static void publish_noise(struct publisher *p, const struct opts *o, unsigned i) {
        static bool occupied;
        char topic[32], payload[64];

        for (unsigned k = 0; k < o->noise; k++) {
                unsigned other = i + 1 + k / 2;

                if (k % 2 == 0 || other > o->alarms) {
                        occupied = !occupied;
                        snprintf(payload, sizeof payload, "{\"occupancy\":%s,\"battery\":95}",
                                 occupied ? "true" : "false");
                        publish(p, "bench/motion", payload, 0);
                } else {
                        snprintf(topic, sizeof topic, "bench/s%04u", other);
                        snprintf(payload, sizeof payload, "{\"smoke\":false,\"battery\":%u}", 50 + other % 50);
                        publish(p, topic, payload, 0);
                }
        }
}

static void run_alarms(const struct opts *o, struct publisher *p, struct server *srv,
                       struct results *res) {
        char topic[32], sensor[16];
        struct request rq;
        FILE *raw = NULL;

        res->lat = calloc(o->alarms, sizeof *res->lat);
        if (!res->lat)
                die("out of memory");
        if (o->raw && !(raw = fopen(o->raw, "we")))
                die("cannot write %s: %s", o->raw, strerror(errno));
        for (unsigned i = 1; i <= o->alarms && !interrupted; i++) {
                uint64_t t0;

                publish_noise(p, o, i);
                snprintf(sensor, sizeof sensor, "s%04u", i);
                snprintf(topic, sizeof topic, "bench/%s", sensor);
                t0 = now_ns();
                publish(p, topic, "{\"smoke\":true,\"battery\":90}", 1);
                if (server_wait_for(srv, sensor, t0 + ALARM_DEADLINE, &rq)) {
                        res->lat[res->n++] = rq.at - t0;
                        if (raw)
                                fprintf(raw, "%u %llu\n", i, (unsigned long long) (rq.at - t0) / NSEC_PER_USEC);
                        if (rq.update)
                                res->updates++;
                        else
                                res->alarm_calls++;
                } else {
                        res->lost++;
                        if (raw)
                                fprintf(raw, "%u -1\n", i);
                        fprintf(stderr, "anju-bench-latency: alarm %u (%s): no call within 5 s: LOST\n",
                                i, sensor);
                }
                publisher_drain(p);
                if (o->gap_ms)
                        sleep_ns(o->gap_ms * NSEC_PER_MSEC, true);
                if (!o->quiet && i % 100 == 0 && isatty(STDERR_FILENO))
                        fprintf(stderr, "\r%u/%u alarms", i, o->alarms);
        }
        if (!o->quiet && isatty(STDERR_FILENO))
                fprintf(stderr, "\r\033[K");
        if (raw && fclose(raw) != 0)
                die("cannot write %s: %s", o->raw, strerror(errno));
}

static const char *verdict(bool met) {
        return met ? "PASS" : "MISS";
}

static void report_latency(const struct opts *o, struct results *res) {
        uint64_t sum = 0, p99;

        printf("alarms: %u published, %zu calls received (%u alarm + %u update), %u lost\n",
               o->alarms, res->n, res->alarm_calls, res->updates, res->lost);
        if (res->n == 0)
                return;
        qsort(res->lat, res->n, sizeof *res->lat, cmp_u64);
        for (size_t i = 0; i < res->n; i++)
                sum += res->lat[i];
        p99 = percentile(res->lat, res->n, 99) / NSEC_PER_USEC;
        printf("latency publish -> request read (us): min %llu  p50 %llu  p90 %llu  p99 %llu  "
               "max %llu  mean %llu\n",
               (unsigned long long) (res->lat[0] / NSEC_PER_USEC),
               (unsigned long long) (percentile(res->lat, res->n, 50) / NSEC_PER_USEC),
               (unsigned long long) (percentile(res->lat, res->n, 90) / NSEC_PER_USEC),
               (unsigned long long) p99,
               (unsigned long long) (res->lat[res->n - 1] / NSEC_PER_USEC),
               (unsigned long long) (sum / res->n / NSEC_PER_USEC));
        printf("target p99 <= %d us (SPEC 11): %s", TARGET_P99_USEC, verdict(p99 <= TARGET_P99_USEC));
        if (p99 > TARGET_P99_USEC)
                printf(" by %llu us", (unsigned long long) p99 - TARGET_P99_USEC);
        printf("; alarms lost: %s\n", verdict(res->lost == 0));
}

static void report_idle(pid_t pid) {
        long hz = sysconf(_SC_CLK_TCK);
        struct cpu_sample a, b;
        long rss, hwm;
        double cpu_s, wakeups;

        printf("anjud RSS after the run: VmRSS %ld kB, VmHWM %ld kB\n", proc_status_kb(pid, "VmRSS"),
               proc_status_kb(pid, "VmHWM"));
        fflush(stdout);
        sleep_ns(IDLE_SETTLE_SEC * NSEC_PER_SEC, true);
        rss = proc_status_kb(pid, "VmRSS");
        hwm = proc_status_kb(pid, "VmHWM");
        printf("anjud RSS after %d s idle: VmRSS %ld kB (RssAnon %ld, RssFile %ld; Pss %ld), "
               "VmHWM %ld kB\n", IDLE_SETTLE_SEC, rss, proc_status_kb(pid, "RssAnon"),
               proc_status_kb(pid, "RssFile"), proc_kb(pid, "smaps_rollup", "Pss"), hwm);
        printf("target idle RSS <= %d kB (SPEC 11): %s", TARGET_RSS_KB, verdict(rss <= TARGET_RSS_KB));
        if (rss > TARGET_RSS_KB)
                printf(" by %ld kB", rss - TARGET_RSS_KB);
        printf("\n");
        fflush(stdout);
        sample_cpu(pid, &a);
        sleep_ns(IDLE_WINDOW_SEC * NSEC_PER_SEC, true);
        sample_cpu(pid, &b);
        cpu_s = (double) (b.ticks - a.ticks) / (double) hz;
        wakeups = (double) (b.vcsw - a.vcsw) / IDLE_WINDOW_SEC;
        printf("anjud idle %d s (%d thread%s): utime+stime %.2f s, on-CPU %.3f ms (%.4f %%), "
               "context switches %lld voluntary + %lld involuntary = %.2f wake-ups/s\n",
               IDLE_WINDOW_SEC, b.threads, b.threads == 1 ? "" : "s", cpu_s,
               (double) (b.oncpu_ns - a.oncpu_ns) / 1e6,
               (double) (b.oncpu_ns - a.oncpu_ns) / (IDLE_WINDOW_SEC * 1e9) * 100.0,
               b.vcsw - a.vcsw, b.ivcsw - a.ivcsw, wakeups);
        printf("target idle < %.0f wake-up/s (SPEC 11): %s; 0 %% CPU: %s\n", TARGET_WAKEUPS_PER_SEC,
               verdict(wakeups < TARGET_WAKEUPS_PER_SEC),
               verdict(b.ticks == a.ticks && (b.oncpu_ns - a.oncpu_ns) < IDLE_CPU_MAX_NS));
}

/* --- main --- */

static void usage(FILE *f) {
        fprintf(f,
                "Usage: anju-bench-latency [OPTIONS]\n"
                "Measures smoke message -> emergency call latency of anjud on 127.0.0.1, then its\n"
                "idle RSS, CPU and wake-ups, and its start-up time.\n\n"
                "  --alarms N        smoke sensors, one alarm each (default 1000)\n"
                "  --noise K         non-alarm messages before each alarm (default 10)\n"
                "  --anjud PATH      daemon to run (default $ANJUD, else ../src/anjud beside this\n"
                "                    program, else ../build/src/anjud)\n"
                "  --mosquitto PATH  broker binary (default /usr/sbin/mosquitto)\n"
                "  --db-dir DIR      put the database in a new directory under DIR (e.g. /dev/shm);\n"
                "                    default: the temp dir under /tmp\n"
                "  --broker-nodelay  set_tcp_nodelay true in the broker (its default is false: Nagle\n"
                "                    then holds a message to anjud until anjud ACKs the previous one)\n"
                "  --gap MS          pause after each call before the next noise + alarm (default 0)\n"
                "  --raw FILE        write \"alarm latency_us\" per alarm to FILE (-1: lost)\n"
                "  --quiet           print only the figures\n"
                "Exit status: 0 done, 1 an alarm was lost, 2 setup failed.\n");
}

static unsigned parse_count(const char *s, const char *what, unsigned min, unsigned max) {
        char *end;
        unsigned long v;

        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno || end == s || *end || v < min || v > max) {
                fprintf(stderr, "anju-bench-latency: %s \"%s\" is not a number from %u to %u\n", what, s,
                        min, max);
                exit(2);
        }
        return (unsigned) v;
}

static const char *default_anjud(void) {
        static char beside[PATH_MAX + 16];
        char exe[PATH_MAX];
        ssize_t n;

        if (getenv("ANJUD") && *getenv("ANJUD"))
                return getenv("ANJUD");
        /* The daemon of the same build tree: build-x/bench/.. -> build-x/src/anjud. */
        n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        if (n > 0) {
                char *slash;
                exe[n] = '\0';
                slash = strrchr(exe, '/');
                if (slash) {
                        *slash = '\0';
                        snprintf(beside, sizeof beside, "%s/../src/anjud", exe);
                        if (access(beside, X_OK) == 0)
                                return beside;
                }
        }
        return "../build/src/anjud";
}

static void parse_args(int argc, char **argv, struct opts *o) {
        enum { O_ALARMS = 0x100, O_NOISE, O_GAP, O_ANJUD, O_MOSQUITTO, O_DB_DIR, O_NODELAY, O_RAW,
               O_QUIET };
        static const struct option lo[] = {
                { "alarms", required_argument, NULL, O_ALARMS },
                { "noise", required_argument, NULL, O_NOISE },
                { "gap", required_argument, NULL, O_GAP },
                { "anjud", required_argument, NULL, O_ANJUD },
                { "mosquitto", required_argument, NULL, O_MOSQUITTO },
                { "db-dir", required_argument, NULL, O_DB_DIR },
                { "broker-nodelay", no_argument, NULL, O_NODELAY },
                { "raw", required_argument, NULL, O_RAW },
                { "quiet", no_argument, NULL, O_QUIET },
                { "help", no_argument, NULL, 'h' },
                { NULL, 0, NULL, 0 },
        };
        int c;

        *o = (struct opts) { .alarms = 1000, .noise = 10 };
        while ((c = getopt_long(argc, argv, "h", lo, NULL)) >= 0)
                switch (c) {
                case O_ALARMS: o->alarms = parse_count(optarg, "--alarms", 1, 9999); break;
                case O_NOISE: o->noise = parse_count(optarg, "--noise", 0, 100000); break;
                case O_GAP: o->gap_ms = parse_count(optarg, "--gap", 0, 60000); break;
                case O_ANJUD: o->anjud = optarg; break;
                case O_MOSQUITTO: o->mosquitto = optarg; break;
                case O_DB_DIR: o->db_dir = optarg; break;
                case O_NODELAY: o->broker_nodelay = true; break;
                case O_RAW: o->raw = optarg; break;
                case O_QUIET: o->quiet = true; break;
                case 'h': usage(stdout); exit(0);
                default: usage(stderr); exit(2);
                }
        if (optind < argc) {
                fprintf(stderr, "anju-bench-latency: unexpected argument \"%s\"\n", argv[optind]);
                exit(2);
        }
        if (!o->anjud)
                o->anjud = default_anjud();
        if (!o->mosquitto)
                o->mosquitto = access("/usr/sbin/mosquitto", X_OK) == 0 ? "/usr/sbin/mosquitto" : "mosquitto";
        if (access(o->anjud, X_OK) != 0) {
                fprintf(stderr, "anju-bench-latency: anjud not found at %s (use --anjud or ANJUD=)\n",
                        o->anjud);
                exit(2);
        }
}

static void setup_signals(void) {
        struct sigaction sa = { .sa_handler = on_interrupt };     /* no SA_RESTART: sleeps end */

        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        signal(SIGPIPE, SIG_IGN);
}

/* Only the main thread takes SIGINT/SIGTERM: threads started while they
 * are blocked inherit the block. */
static void block_signals(bool block) {
        sigset_t s;

        sigemptyset(&s);
        sigaddset(&s, SIGINT);
        sigaddset(&s, SIGTERM);
        pthread_sigmask(block ? SIG_BLOCK : SIG_UNBLOCK, &s, NULL);
}

static void make_dirs(const struct opts *o, char *db, size_t n) {
        snprintf(st.dir, sizeof st.dir, "/tmp/anju-bench-XXXXXX");
        if (!mkdtemp(st.dir)) {
                st.dir[0] = '\0';
                die("cannot create a temp dir under /tmp: %s", strerror(errno));
        }
        if (o->db_dir) {
                snprintf(st.db_dir, sizeof st.db_dir, "%s/anju-bench-XXXXXX", o->db_dir);
                if (!mkdtemp(st.db_dir)) {
                        st.db_dir[0] = '\0';
                        die("cannot create a directory under %s: %s", o->db_dir, strerror(errno));
                }
        }
        snprintf(db, n, "%s/anju.db", o->db_dir ? st.db_dir : st.dir);
}

int main(int argc, char **argv) {
        struct opts o;
        struct server srv;
        struct status_watch watch;
        struct publisher pub;
        struct results res = { 0 };
        struct mosquitto *watcher;
        struct cpu_sample cpu0, cpu1, bcpu0, bcpu1;
        char db[PATH_MAX + 16], conf[PATH_MAX + 16], fs[PATH_MAX + 64];
        unsigned mport;
        uint64_t t_exec;
        int status;

        parse_args(argc, argv, &o);
        setup_signals();
        setvbuf(stdout, NULL, _IOLBF, 0);
        make_dirs(&o, db, sizeof db);
        describe_fs(o.db_dir ? st.db_dir : st.dir, fs, sizeof fs);
        mosquitto_lib_init();

        block_signals(true);
        server_start(&srv);
        mport = broker_start(&o);
        watcher = status_watch_start(&watch, mport);
        block_signals(false);

        write_config(&o, db, mport, srv.port, conf, sizeof conf);
        if (!o.quiet) {
                printf("anju-bench-latency: %u smoke sensors + 1 motion sensor, %u non-alarm messages "
                       "before each alarm, all on 127.0.0.1\n", o.alarms, o.noise);
                printf("  anjud      %s\n  broker     %s, port %u, set_tcp_nodelay %s\n"
                       "  dispatch   http://127.0.0.1:%u/alarms (a thread of this program, answers 201)\n",
                       o.anjud, o.mosquitto, mport, o.broker_nodelay ? "true" : "false (its default)",
                       srv.port);
        }
        printf("database: %s on %s\n", db, fs);
        probe_fdatasync(o.db_dir ? st.db_dir : st.dir);

        snprintf(st.anjud_log, sizeof st.anjud_log, "%s/anjud.log", st.dir);
        t_exec = now_ns();
        st.anjud = spawn((char *const[]) { (char *) o.anjud, "-c", conf, NULL }, st.anjud_log);
        if (!watch_wait(&watch, &watch.online, t_exec + SETUP_DEADLINE, &st.anjud))
                die("%s", interrupted ? "interrupted"
                          : st.anjud == 0 ? "anjud exited before it said \"online\""
                          : "anjud did not say \"online\" on " STATUS_TOPIC " within 10 s");
        printf("ready: exec -> \"online\" on %s: %.1f ms (%u sensors); target <= %d ms (SPEC 11): %s\n",
               STATUS_TOPIC, (double) (watch.online_at - t_exec) / 1e6, o.alarms + 1, TARGET_READY_MSEC,
               verdict(watch.online_at - t_exec <= TARGET_READY_MSEC * NSEC_PER_MSEC));
        client_free(watcher, true);

        publisher_start(&pub, mport);
        sample_cpu(st.anjud, &cpu0);
        sample_cpu(st.broker, &bcpu0);
        run_alarms(&o, &pub, &srv, &res);
        sample_cpu(st.anjud, &cpu1);
        sample_cpu(st.broker, &bcpu1);
        client_free(pub.mosq, false);
        if (interrupted)
                die("interrupted");
        report_latency(&o, &res);
        if (res.n > 0)
                printf("on-CPU per alarm with its %u noise messages: anjud %.0f us, mosquitto %.0f us\n",
                       o.noise, (double) (cpu1.oncpu_ns - cpu0.oncpu_ns) / 1e3 / o.alarms,
                       (double) (bcpu1.oncpu_ns - bcpu0.oncpu_ns) / 1e3 / o.alarms);
        if (!child_alive(&st.anjud))
                die("anjud died during the run");
        report_idle(st.anjud);
        if (interrupted)
                die("interrupted");

        status = stop_child(&st.anjud, "anjud");
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                fprintf(stderr, "anju-bench-latency: anjud did not stop cleanly on SIGTERM (status 0x%x)\n",
                        (unsigned) status);
        server_stop(&srv);
        mosquitto_lib_cleanup();
        cleanup();
        free(res.lat);
        return res.lost ? 1 : 0;
}
