/* The benchmarks' shared harness: see harness.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "harness.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <mntent.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

struct bench_state bench;
volatile sig_atomic_t interrupted;
const char *bench_name = "anju-bench";

uint64_t now_ns(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * NSEC_PER_SEC + (uint64_t) ts.tv_nsec;
}

/* Sleeps ns; an interruptible sleep ends early on SIGINT/SIGTERM. */
void sleep_ns(uint64_t ns, bool interruptible) {
        struct timespec ts = { (time_t) (ns / NSEC_PER_SEC), (long) (ns % NSEC_PER_SEC) };

        while (nanosleep(&ts, &ts) < 0 && errno == EINTR && !(interruptible && interrupted))
                ;
}

void deadline_to_timespec(uint64_t deadline, struct timespec *ts) {
        ts->tv_sec = (time_t) (deadline / NSEC_PER_SEC);
        ts->tv_nsec = (long) (deadline % NSEC_PER_SEC);
}

void init_mono_cond(pthread_cond_t *c) {
        pthread_condattr_t a;

        pthread_condattr_init(&a);
        pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
        pthread_cond_init(c, &a);
        pthread_condattr_destroy(&a);
}

static void on_interrupt(int sig) {
        (void) sig;
        interrupted = 1;
}

void setup_signals(void) {
        struct sigaction sa = { .sa_handler = on_interrupt };     /* no SA_RESTART: sleeps end */

        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        signal(SIGPIPE, SIG_IGN);
}

/* Only the main thread takes SIGINT/SIGTERM: threads started while they
 * are blocked inherit the block. */
void block_signals(bool block) {
        sigset_t s;

        sigemptyset(&s);
        sigaddset(&s, SIGINT);
        sigaddset(&s, SIGTERM);
        pthread_sigmask(block ? SIG_BLOCK : SIG_UNBLOCK, &s, NULL);
}

/* --- children and clean-up --- */

int stop_child(pid_t *pid, const char *name) {
        uint64_t deadline = now_ns() + 5 * NSEC_PER_SEC;
        int status = 0;
        pid_t r;

        if (*pid <= 0)
                return 0;
        kill(*pid, SIGTERM);
        while ((r = waitpid(*pid, &status, WNOHANG)) == 0 && now_ns() < deadline)
                sleep_ns(5 * NSEC_PER_MSEC, false);
        if (r == 0) {
                fprintf(stderr, "%s: %s (pid %d) ignored SIGTERM for 5 s, killing it\n", bench_name, name,
                        (int) *pid);
                kill(*pid, SIGKILL);
                waitpid(*pid, &status, 0);
        }
        *pid = 0;
        return status;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
        (void) sb, (void) ftw;
        if (remove(path) < 0 && flag != FTW_DNR)
                fprintf(stderr, "%s: cannot remove %s: %s\n", bench_name, path, strerror(errno));
        return 0;
}

static void rm_tree(char *dir) {
        if (dir[0])
                nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        dir[0] = '\0';
}

void cleanup(void) {
        stop_child(&bench.target, bench.target_name ? bench.target_name : "anjud");
        stop_child(&bench.broker, "mosquitto");
        rm_tree(bench.db_dir);
        rm_tree(bench.dir);
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

void die(const char *fmt, ...) {
        va_list ap;

        fflush(stdout);
        fprintf(stderr, "%s: ", bench_name);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
        if (bench.broker_log[0])
                show_tail("mosquitto", bench.broker_log);
        if (bench.target_log[0])
                show_tail(bench.target_name ? bench.target_name : "anjud", bench.target_log);
        cleanup();
        exit(2);
}

static bool env_overridden(const char *e, char *const env[]) {
        const char *eq = strchr(e, '=');
        size_t kl = eq ? (size_t) (eq - e) + 1 : strlen(e);

        if (strncmp(e, "NOTIFY_SOCKET=", 14) == 0)
                return true;            /* only ours, never our parent's */
        for (size_t i = 0; env && env[i]; i++)
                if (strncmp(env[i], e, kl) == 0)
                        return true;
        return false;
}

pid_t spawn(char *const argv[], const char *log, char *const env[]) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        size_t n = 0, k = 0;
        char **envp;
        pid_t pid;

        if (fd < 0)
                die("cannot create %s: %s", log, strerror(errno));
        for (char **e = environ; *e; e++)
                n++;
        for (size_t i = 0; env && env[i]; i++)
                n++;
        envp = calloc(n + 1, sizeof *envp);
        if (!envp)
                die("out of memory");
        for (char **e = environ; *e; e++)
                if (!env_overridden(*e, env))
                        envp[k++] = *e;
        for (size_t i = 0; env && env[i]; i++)
                envp[k++] = env[i];
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
                execvpe(argv[0], argv, envp);
                /* Only async-signal-safe calls here: other threads exist. */
                (void) !write(STDERR_FILENO, "exec failed\n", 12);
                _exit(127);
        }
        free(envp);
        close(fd);
        return pid;
}

/* False once *pid has exited: it is then reaped and *pid set to 0, so the
 * number (free for reuse) is never signalled. */
bool child_alive(pid_t *pid) {
        if (*pid <= 0)
                return false;
        if (waitpid(*pid, NULL, WNOHANG) == 0)
                return true;
        *pid = 0;
        return false;
}

void make_dirs(const char *db_parent, char *db, size_t n) {
        snprintf(bench.dir, sizeof bench.dir, "/tmp/anju-bench-XXXXXX");
        if (!mkdtemp(bench.dir)) {
                bench.dir[0] = '\0';
                die("cannot create a temp dir under /tmp: %s", strerror(errno));
        }
        if (db_parent) {
                snprintf(bench.db_dir, sizeof bench.db_dir, "%s/anju-bench-XXXXXX", db_parent);
                if (!mkdtemp(bench.db_dir)) {
                        bench.db_dir[0] = '\0';
                        die("cannot create a directory under %s: %s", db_parent, strerror(errno));
                }
        }
        if (db)
                snprintf(db, n, "%s/anju.db", db_parent ? bench.db_dir : bench.dir);
}

/* --- the dispatch center --- */

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

/* Called with the lock held. */
static bool server_pop_locked(struct server *s, const struct timespec *ts, struct request *ret) {
        while (s->count == 0)
                if (pthread_cond_timedwait(&s->cond, &s->lock, ts) == ETIMEDOUT && s->count == 0)
                        return false;
        *ret = s->queue[s->head];
        s->head = (s->head + 1) % s->cap;
        s->count--;
        return true;
}

bool server_wait_for(struct server *s, const char *sensor, uint64_t deadline, struct request *ret) {
        struct timespec ts;
        bool found = false;

        deadline_to_timespec(deadline, &ts);
        pthread_mutex_lock(&s->lock);
        while (!found && server_pop_locked(s, &ts, ret))
                found = strcmp(ret->sensor, sensor) == 0;
        pthread_mutex_unlock(&s->lock);
        return found;
}

bool server_take(struct server *s, uint64_t deadline, struct request *ret) {
        struct timespec ts;
        bool got;

        deadline_to_timespec(deadline, &ts);
        pthread_mutex_lock(&s->lock);
        got = server_pop_locked(s, &ts, ret);
        pthread_mutex_unlock(&s->lock);
        return got;
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

void server_start(struct server *s) {
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

void server_stop(struct server *s) {
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

/* A free port below the kernel's ephemeral range: one from bind(0) can be
 * taken by any outgoing connection before mosquitto binds it. */
static unsigned free_port(void) {
        FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "re");
        unsigned seed = (unsigned) getpid() ^ (unsigned) time(NULL);
        int lo = 32768, hi = 60999, bottom = 10000;

        if (f) {
                if (fscanf(f, "%d %d", &lo, &hi) != 2)
                        lo = 32768;
                fclose(f);
        }
        if (lo - 1 - bottom < 1000)
                bottom = 1024;
        for (int attempt = 0; attempt < 1000; attempt++) {
                int port = bottom + (int) (rand_r(&seed) % (unsigned) (lo - bottom));
                struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t) port),
                                         .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
                int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

                if (fd < 0)
                        die("socket: %s", strerror(errno));
                if (bind(fd, (struct sockaddr *) &a, sizeof a) == 0) {
                        close(fd);
                        return (unsigned) port;
                }
                close(fd);
        }
        die("no free port on 127.0.0.1 below %d", lo);
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

const char *default_mosquitto(void) {
        return access("/usr/sbin/mosquitto", X_OK) == 0 ? "/usr/sbin/mosquitto" : "mosquitto";
}

unsigned broker_start(const struct broker_conf *c) {
        char conf[PATH_MAX + 32];
        uint64_t deadline;
        unsigned port = free_port();
        FILE *f;

        snprintf(conf, sizeof conf, "%s/mosquitto.conf", bench.dir);
        f = fopen(conf, "we");
        if (!f)
                die("cannot write %s: %s", conf, strerror(errno));
        fprintf(f, "listener %u 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest stderr\n", port);
        if (c->max_queued)
                fprintf(f, "max_queued_messages %u\n", c->max_queued);
        if (c->nodelay)
                fprintf(f, "set_tcp_nodelay true\n");
        if (c->sys)
                fprintf(f, "sys_interval 1\n");
        if (c->extra)
                fprintf(f, "%s\n", c->extra);
        fclose(f);
        snprintf(bench.broker_log, sizeof bench.broker_log, "%s/mosquitto.log", bench.dir);
        bench.broker = spawn((char *const[]) { (char *) c->path, "-c", conf, NULL }, bench.broker_log, NULL);
        /* Ready when it accepts a connection; retry until then, boundedly. */
        deadline = now_ns() + SETUP_DEADLINE;
        while (!port_accepts(port)) {
                if (!child_alive(&bench.broker))
                        die("mosquitto (%s) exited at start-up", c->path);
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
        /* A retained "online" is an earlier daemon's word, not this one's. */
        if (msg->retain || msg->payloadlen != 6 || memcmp(msg->payload, "online", 6) != 0)
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

bool watch_wait(struct status_watch *w, const bool *flag, uint64_t deadline, pid_t *child) {
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

void status_watch_reset(struct status_watch *w) {
        pthread_mutex_lock(&w->lock);
        w->online = false;
        w->online_at = 0;
        pthread_mutex_unlock(&w->lock);
}

struct mosquitto *status_watch_start(struct status_watch *w, unsigned port) {
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

void client_free(struct mosquitto *m, bool threaded) {
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
void publisher_start(struct publisher *p, unsigned port) {
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

void publish(struct publisher *p, const char *topic, const char *payload, int qos) {
        int rc = mosquitto_publish(p->mosq, NULL, topic, (int) strlen(payload), payload, qos, false);

        if (rc != MOSQ_ERR_SUCCESS)
                die("publish to %s failed: %s", topic, mosquitto_strerror(rc));
        p->sent++;
}

void publisher_drain(struct publisher *p) {
        uint64_t deadline = now_ns() + SETUP_DEADLINE;

        while (p->done < p->sent) {
                int rc = mosquitto_loop(p->mosq, 20, 1);
                if (rc != MOSQ_ERR_SUCCESS || now_ns() > deadline)
                        die("the broker stopped acknowledging publishes: %s", mosquitto_strerror(rc));
        }
}

void publisher_poll(struct publisher *p) {
        int rc = mosquitto_loop(p->mosq, 0, 1);

        if (rc != MOSQ_ERR_SUCCESS)
                die("the publisher lost the broker: %s", mosquitto_strerror(rc));
}

/* --- $SYS --- */


static void on_sys_message(struct mosquitto *m, void *ud, const struct mosquitto_message *msg) {
        struct sys_watch *w = ud;
        char buf[32];
        unsigned long v;

        (void) m;
        if (msg->payloadlen <= 0 || msg->payloadlen >= (int) sizeof buf)
                return;
        memcpy(buf, msg->payload, (size_t) msg->payloadlen);
        buf[msg->payloadlen] = '\0';
        v = strtoul(buf, NULL, 10);
        pthread_mutex_lock(&w->lock);
        if (strcmp(msg->topic, "$SYS/broker/publish/messages/dropped") == 0)
                w->dropped = v;
        else if (strcmp(msg->topic, "$SYS/broker/publish/messages/received") == 0)
                w->received = v;
        else if (strcmp(msg->topic, "$SYS/broker/publish/messages/sent") == 0)
                w->sent = v;
        w->updated_at = now_ns();
        pthread_mutex_unlock(&w->lock);
}

static void on_sys_connect(struct mosquitto *m, void *ud, int rc) {
        (void) ud;
        if (rc == 0)
                mosquitto_subscribe(m, NULL, "$SYS/broker/publish/messages/+", 0);
}

struct mosquitto *sys_watch_start(struct sys_watch *w, unsigned port) {
        struct mosquitto *m;

        memset(w, 0, sizeof *w);
        pthread_mutex_init(&w->lock, NULL);
        m = mosquitto_new(NULL, true, w);
        if (!m)
                die("mosquitto_new failed");
        mosquitto_connect_callback_set(m, on_sys_connect);
        mosquitto_message_callback_set(m, on_sys_message);
        if (mosquitto_connect(m, "127.0.0.1", (int) port, 60) != MOSQ_ERR_SUCCESS ||
            mosquitto_loop_start(m) != MOSQ_ERR_SUCCESS)
                die("the $SYS watcher cannot connect to the broker");
        return m;
}

unsigned long sys_dropped(struct sys_watch *w) {
        unsigned long v;

        pthread_mutex_lock(&w->lock);
        v = w->dropped;
        pthread_mutex_unlock(&w->lock);
        return v;
}

/* --- the notify socket --- */

void notify_open(struct notify *n) {
        struct sockaddr_un a = { .sun_family = AF_UNIX };

        snprintf(n->path, sizeof n->path, "%s/notify", bench.dir);
        if (strlen(n->path) >= sizeof a.sun_path)
                die("notify socket path %s is too long", n->path);
        memcpy(a.sun_path, n->path, strlen(n->path) + 1);
        unlink(n->path);
        n->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (n->fd < 0 || bind(n->fd, (struct sockaddr *) &a, sizeof a) < 0)
                die("notify socket %s: %s", n->path, strerror(errno));
        snprintf(n->env, sizeof n->env, "NOTIFY_SOCKET=%s", n->path);
}

void notify_close(struct notify *n) {
        if (n->fd >= 0) {
                close(n->fd);
                unlink(n->path);
        }
        n->fd = -1;
}

bool notify_wait_ready(struct notify *n, uint64_t deadline, uint64_t *at) {
        char buf[4097];

        while (!interrupted) {
                struct pollfd p = { .fd = n->fd, .events = POLLIN };
                uint64_t now = now_ns(), wait;
                struct timespec ts;
                int r;

                if (now >= deadline)
                        return false;
                wait = deadline - now < 50 * NSEC_PER_MSEC ? deadline - now : 50 * NSEC_PER_MSEC;
                ts = (struct timespec) { 0, (long) wait };
                r = ppoll(&p, 1, &ts, NULL);
                now = now_ns();
                if (r < 0 && errno != EINTR)
                        die("poll: %s", strerror(errno));
                if (r <= 0) {
                        if (!child_alive(&bench.target))
                                return false;
                        continue;
                }
                for (;;) {
                        ssize_t k = recv(n->fd, buf, sizeof buf - 1, 0);
                        if (k < 0)
                                break;
                        buf[k] = '\0';
                        for (char *line = buf; line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
                                if (strncmp(line, "READY=1", 7) == 0 && (line[7] == '\n' || line[7] == '\0')) {
                                        *at = now;
                                        return true;
                                }
                }
        }
        return false;
}

/* --- anjud --- */

const char *default_anjud(void) {
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

FILE *anjud_config_begin(const char *path, const char *db, unsigned mport, unsigned dport) {
        FILE *f = fopen(path, "we");

        if (!f)
                die("cannot write %s: %s", path, strerror(errno));
        fprintf(f, "[hub]\nid = " HUB_ID "\nlanguage = en\ndatabase = %s\nctl_socket = %s/ctl.sock\n\n"
                   "[resident]\nname = Bench Resident\naddress = 127.0.0.1, Loopback Road 1\n\n"
                   "[mqtt]\nhost = 127.0.0.1\nport = %u\n\n"
                   "[dispatch]\nurl = http://127.0.0.1:%u/alarms\nretry_min = 100ms\nretry_max = 1s\n",
                db, bench.dir, mport, dport);
        return f;
}

void anjud_config_end(FILE *f, const char *path) {
        if (fclose(f) != 0)
                die("cannot write %s: %s", path, strerror(errno));
}

/* --- /proc --- */

long proc_kb(pid_t pid, const char *file, const char *key) {
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

long proc_status_kb(pid_t pid, const char *key) {
        return proc_kb(pid, "status", key);
}

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
void sample_cpu(pid_t pid, struct cpu_sample *s) {
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

void measure_idle(pid_t pid, unsigned settle_s, unsigned window_s, struct idle_figures *f) {
        long hz = sysconf(_SC_CLK_TCK);
        struct cpu_sample a, b;

        memset(f, 0, sizeof *f);
        sleep_ns(settle_s * NSEC_PER_SEC, true);
        f->rss_start_kb = proc_status_kb(pid, "VmRSS");
        sample_cpu(pid, &a);
        sleep_ns(window_s * NSEC_PER_SEC, true);
        sample_cpu(pid, &b);
        f->rss_kb = proc_status_kb(pid, "VmRSS");
        f->anon_kb = proc_status_kb(pid, "RssAnon");
        f->file_kb = proc_status_kb(pid, "RssFile");
        f->hwm_kb = proc_status_kb(pid, "VmHWM");
        f->pss_kb = proc_kb(pid, "smaps_rollup", "Pss");
        f->cpu_s = (double) (b.ticks - a.ticks) / (double) hz;
        f->oncpu_ms = (double) (b.oncpu_ns - a.oncpu_ns) / 1e6;
        f->vcsw = b.vcsw - a.vcsw;
        f->ivcsw = b.ivcsw - a.ivcsw;
        f->wakeups_per_s = window_s ? (double) f->vcsw / window_s : 0;
        f->threads = b.threads;
        /* "0 % CPU": under 0.01 % of the window, i.e. below what "%.2f %%" shows. */
        f->zero_cpu = b.ticks == a.ticks && (b.oncpu_ns - a.oncpu_ns) < window_s * NSEC_PER_SEC / 10000;
}

void print_idle(const char *who, unsigned window_s, const struct idle_figures *f, bool targets) {
        printf("%s idle RSS at the end of the window: VmRSS %ld kB (RssAnon %ld, RssFile %ld; Pss %ld); "
               "%ld kB when it opened; VmHWM %ld kB\n", who, f->rss_kb, f->anon_kb, f->file_kb, f->pss_kb,
               f->rss_start_kb, f->hwm_kb);
        printf("%s idle %u s (%d thread%s): utime+stime %.2f s, on-CPU %.3f ms (%.4f %%), "
               "context switches %lld voluntary + %lld involuntary = %.2f wake-ups/s\n",
               who, window_s, f->threads, f->threads == 1 ? "" : "s", f->cpu_s, f->oncpu_ms,
               f->oncpu_ms / (window_s * 1e3) * 100.0, f->vcsw, f->ivcsw, f->wakeups_per_s);
        if (!targets)
                return;
        printf("target idle RSS <= %d kB (DESIGN.md §11): %s", TARGET_RSS_KB, verdict(f->rss_kb <= TARGET_RSS_KB));
        if (f->rss_kb > TARGET_RSS_KB)
                printf(" by %ld kB", f->rss_kb - TARGET_RSS_KB);
        printf("; < %.0f wake-up/s: %s; 0 %% CPU: %s\n", TARGET_WAKEUPS_PER_SEC,
               verdict(f->wakeups_per_s < TARGET_WAKEUPS_PER_SEC), verdict(f->zero_cpu));
}

struct mapping_rss {
        char name[96];
        long kb;
};

static int cmp_mapping(const void *a, const void *b) {
        const struct mapping_rss *x = a, *y = b;

        return (y->kb > x->kb) - (y->kb < x->kb);
}

void print_rss_top(pid_t pid, const char *who, int top) {
        struct mapping_rss m[256];
        char path[64], line[512], cur[96] = "[anon]";
        long total = 0;
        int n = 0;
        FILE *f;

        snprintf(path, sizeof path, "/proc/%d/smaps", (int) pid);
        f = fopen(path, "re");
        if (!f)
                return;
        while (fgets(line, sizeof line, f)) {
                unsigned long lo, hi;
                char name[512] = "";

                /* A mapping's header: "lo-hi perms offset dev inode [name]"; its
                 * fields ("Rss:  12 kB") never parse as "lo-hi". */
                if (sscanf(line, "%lx-%lx %*s %*s %*s %*s %511[^\n]", &lo, &hi, name) >= 2) {
                        const char *base = strrchr(name, '/');
                        snprintf(cur, sizeof cur, "%.*s", (int) sizeof cur - 1, name[0] ? (base ? base + 1 : name) : "[anon]");
                } else if (strncmp(line, "Rss:", 4) == 0) {
                        long kb = strtol(line + 4, NULL, 10);
                        int i;

                        total += kb;
                        for (i = 0; i < n && strcmp(m[i].name, cur) != 0; i++)
                                ;
                        if (i == n && n < (int) (sizeof m / sizeof m[0])) {
                                snprintf(m[n].name, sizeof m[n].name, "%s", cur);
                                m[n++].kb = 0;
                        }
                        if (i < n)
                                m[i].kb += kb;
                }
        }
        fclose(f);
        qsort(m, (size_t) n, sizeof m[0], cmp_mapping);
        printf("%s RSS by mapping (%ld kB in all):", who, total);
        for (int i = 0; i < n && i < top; i++)
                printf("%s %s %ld", i ? "," : "", m[i].name, m[i].kb);
        printf(" kB\n");
}

/* --- figures --- */

int cmp_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;

        return x < y ? -1 : x > y;
}

uint64_t percentile(const uint64_t *v, size_t n, double p) {
        size_t rank = (size_t) ((p / 100.0) * (double) n + 0.999999);

        if (n == 0)
                return 0;
        return v[rank == 0 ? 0 : rank > n ? n - 1 : rank - 1];
}

const char *verdict(bool met) {
        return met ? "PASS" : "MISS";
}

/* "ext4 (/dev/vda on /)": the mount that holds path. */
void describe_fs(const char *path, char *buf, size_t n) {
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

void probe_fdatasync(const char *dir) {
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

/* The machine is shared: say how busy it was, so a figure is read with it. */
void print_load(const char *when) {
        char buf[128] = "";
        FILE *f = fopen("/proc/loadavg", "re");

        if (f) {
                if (!fgets(buf, sizeof buf, f))
                        buf[0] = '\0';
                fclose(f);
        }
        buf[strcspn(buf, "\n")] = '\0';
        printf("load average %s: %s (%ld CPUs)\n", when, buf, sysconf(_SC_NPROCESSORS_ONLN));
}

unsigned parse_count(const char *s, const char *what, unsigned min, unsigned max) {
        char *end;
        unsigned long v;

        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno || end == s || *end || v < min || v > max) {
                fprintf(stderr, "%s: %s \"%s\" is not a number from %u to %u\n", bench_name, what, s, min, max);
                exit(2);
        }
        return (unsigned) v;
}
