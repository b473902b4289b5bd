/* Integration-test harness (see harness.h). */
#include "harness.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <mosquitto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sqlite3.h>
#include <netinet/in.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_PROCS 16
#define ELEMENTS(a) (sizeof(a) / sizeof((a)[0]))

static struct proc *procs[MAX_PROCS];
static bool cleanup_registered;

static void kill_all(void) {
        for (int i = 0; i < MAX_PROCS && procs[i]; i++) {
                if (procs[i]->pid > 0) {
                        kill(procs[i]->pid, SIGKILL);
                        waitpid(procs[i]->pid, NULL, 0);
                }
                if (procs[i]->out >= 0)
                        close(procs[i]->out);
                free(procs[i]->log_path);
                free(procs[i]);
                procs[i] = NULL;
        }
}

long long h_now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *h_tmpdir(void) {
        static char dir[256];
        const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";

        snprintf(dir, sizeof dir, "%s/anju-it-XXXXXX", base);
        ck_assert_ptr_nonnull(mkdtemp(dir));
        return dir;
}

/* The lowest port the kernel hands out for connect() and bind(0). */
static int ephemeral_low(void) {
        FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "re");
        int lo = 32768, hi = 60999;

        if (f) {
                if (fscanf(f, "%d %d", &lo, &hi) != 2)
                        lo = 32768;
                fclose(f);
        }
        return lo;
}

int h_free_port(void) {
        static int given[256];
        static size_t n_given;
        static unsigned seed;
        int top = ephemeral_low() - 1, bottom = 10000;

        /* Ports from bind(0) come from the ephemeral range, where every
         * outgoing connection of every parallel test also takes its local
         * port: a port found free there can be gone before mosquitto or the
         * simulator binds it (CI once saw the simulator fail to start). */
        if (!seed)
                seed = (unsigned) getpid() ^ (unsigned) h_now_ms();
        if (top - bottom < 1000)
                bottom = 1024;
        for (int attempt = 0; attempt < 1000; attempt++) {
                int port = bottom + (int) (rand_r(&seed) % (unsigned) (top - bottom + 1));
                struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t) port),
                                         .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
                bool taken = false;
                int fd;

                for (size_t i = 0; i < n_given; i++)
                        taken = taken || given[i] == port;
                if (taken)
                        continue;
                fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
                ck_assert_int_ge(fd, 0);
                if (bind(fd, (struct sockaddr *) &a, sizeof a) == 0) {
                        close(fd);
                        if (n_given < sizeof given / sizeof given[0])
                                given[n_given++] = port;
                        return port;
                }
                close(fd);
        }
        ck_abort_msg("no free TCP port on 127.0.0.1 from %d to %d", bottom, top);
        return -1;
}

/* What every child does first: die with the test whatever happens to it,
 * and start with no signal blocked and SIGINT, SIGPIPE at their defaults
 * (an interrupted anjuctl must end as it would on a terminal). */
static void child_setup(void) {
        sigset_t none;

        prctl(PR_SET_PDEATHSIG, SIGKILL);
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGINT, SIG_DFL);
        signal(SIGPIPE, SIG_DFL);
}

static _Noreturn void child_exec(char *const argv[]) {
        execv(argv[0], argv);
        fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
}

/* Starts argv[0] with stdout and stderr into one pipe we read, or on the
 * slave side of a new pty (on_pty) whose master we read and write. */
static struct proc *spawn(char *const argv[], const char *log_path, bool on_pty) {
        struct proc *p = calloc(1, sizeof *p);
        int fds[2], slot = -1;

        ck_assert_ptr_nonnull(p);
        /* Slots are never reused: a stopped child's struct stays valid for
         * the test that holds it, and kill_all() frees them all at exit. */
        for (int i = 0; i < MAX_PROCS && slot < 0; i++)
                if (!procs[i])
                        slot = i;
        ck_assert_int_ge(slot, 0);
        if (!cleanup_registered) {
                atexit(kill_all);
                cleanup_registered = true;
        }
        if (on_pty) {
                p->pid = forkpty(&fds[0], NULL, NULL, NULL);
                ck_assert_int_ge(p->pid, 0);
                if (p->pid == 0) {
                        child_setup();
                        child_exec(argv);
                }
                (void) fcntl(fds[0], F_SETFD, FD_CLOEXEC);
        } else {
                ck_assert_int_eq(pipe2(fds, O_CLOEXEC), 0);
                (void) fcntl(fds[0], F_SETPIPE_SZ, 1 << 20);  /* a chatty child must never block on us */
                p->pid = fork();
                ck_assert_int_ge(p->pid, 0);
                if (p->pid == 0) {
                        int devnull = open("/dev/null", O_RDONLY);
                        child_setup();
                        dup2(fds[1], STDOUT_FILENO);
                        dup2(fds[1], STDERR_FILENO);
                        dup2(devnull, STDIN_FILENO);
                        child_exec(argv);
                }
                close(fds[1]);
        }
        p->out = fds[0];
        p->log_path = log_path ? strdup(log_path) : NULL;
        procs[slot] = p;
        return p;
}

struct proc *h_spawn(char *const argv[], const char *log_path) {
        return spawn(argv, log_path, false);
}

const char *h_env(const char *name, const char *def) {
        const char *v = getenv(name);
        return v && *v ? v : def;
}

struct proc *h_broker_start(int port) {
        return h_broker_start_conf(port, "persistence false\n");
}

struct proc *h_broker_start_conf(int port, const char *more) {
        char conf[512], log[512];
        const char *dir = h_tmpdir();
        FILE *f;
        struct proc *p;

        snprintf(conf, sizeof conf, "%s/mosquitto.conf", dir);
        snprintf(log, sizeof log, "%s/mosquitto.log", dir);
        f = fopen(conf, "w");
        ck_assert_ptr_nonnull(f);
        /* max_queued_messages: every reconnect re-reads the retained state, so
         * a daemon killed again and again before draining its session queue
         * piles up copies; mosquitto's default of 1000 then drops new
         * messages (the crash test found it; docs/RELIABILITY.md). */
        fprintf(f, "listener %d 127.0.0.1\nallow_anonymous true\nmax_queued_messages 10000\n"
                   "log_dest stderr\nlog_type error\nlog_type warning\nlog_type notice\n"
                   "log_type information\n%s", port, more);
        fclose(f);
        p = h_spawn((char *const[]) { (char *) h_env("MOSQUITTO", "/usr/sbin/mosquitto"), "-c", conf, NULL }, log);
        ck_assert_msg(h_wait_line(p, "running", 10000), "mosquitto did not start on port %d: %s", port, p->last);
        return p;
}

struct proc *h_sim_start(int port, const char *const *extra) {
        char portstr[16], log[512];
        char *argv[32];
        int n = 0;
        struct proc *p;

        snprintf(portstr, sizeof portstr, "%d", port);
        snprintf(log, sizeof log, "%s/dispatch-sim.log", h_tmpdir());
        argv[n++] = (char *) h_env("DISPATCH_SIM", "anju-dispatch-sim");
        argv[n++] = "--json";
        argv[n++] = "--port";
        argv[n++] = portstr;
        for (int i = 0; extra && extra[i] && n < 30; i++)
                argv[n++] = (char *) extra[i];
        argv[n] = NULL;
        p = h_spawn(argv, log);
        ck_assert_msg(h_wait_line(p, "listening on", 10000), "dispatch simulator did not start on port %d: %s", port,
                      p->last);
        return p;
}

struct proc *h_anjud_start(const char *config) {
        return h_anjud_start_args(config, NULL);
}

struct proc *h_anjud_start_args(const char *config, const char *const *extra) {
        char log[512];
        const char *slash = strrchr(config, '/');
        char *argv[32];
        bool clock = false;
        int n = 0;

        snprintf(log, sizeof log, "%.*s/anjud.log", (int) (slash ? slash - config : 1), slash ? config : ".");
        argv[n++] = (char *) h_env("ANJUD", "anjud");
        argv[n++] = "-c";
        argv[n++] = (char *) config;
        for (int i = 0; extra && extra[i] && n < 28; i++) {
                clock |= strcmp(extra[i], "--clock-sync") == 0;
                argv[n++] = (char *) extra[i];
        }
        /* A gateway's clock is synchronised (NTP) unless the test says
         * otherwise: test machines often report theirs as not. */
        if (!clock) {
                argv[n++] = "--clock-sync";
                argv[n++] = "synced";
        }
        argv[n] = NULL;
        return h_spawn(argv, log);
}

struct proc *h_sub_start(int port, const char *topic) {
        char portstr[16], log[512];
        struct proc *p;

        snprintf(portstr, sizeof portstr, "%d", port);
        snprintf(log, sizeof log, "%s/mosquitto_sub.log", h_tmpdir());
        /* stdbuf: mosquitto_sub's stdout is a pipe here, line-buffer it. */
        p = h_spawn((char *const[]) { "/usr/bin/stdbuf", "-oL",
                                    (char *) h_env("MOSQUITTO_SUB", "/usr/bin/mosquitto_sub"), "-d", "-v",
                                    "-q", "1", "-h", "127.0.0.1", "-p", portstr, "-t", (char *) topic, NULL },
                  log);
        ck_assert_msg(h_wait_line(p, "SUBACK", 10000), "mosquitto_sub did not subscribe to %s: %s", topic, p->last);
        return p;
}

char *h_wait_message(struct proc *sub, const char *topic, const char *needle, int timeout_ms) {
        char want[512];

        snprintf(want, sizeof want, "%s ", topic);
        for (;;) {
                char *line = h_next_line(sub, want, timeout_ms);
                if (!line)
                        return NULL;
                if (strncmp(line, want, strlen(want)) == 0 && (!needle || strstr(line, needle))) {
                        char *payload = strdup(line + strlen(want));
                        free(line);
                        return payload;
                }
                free(line);
        }
}

static bool fill(struct proc *p, int timeout_ms);

/* Waits for the child while reading what it still writes: a child blocked
 * on a full pipe never sees its SIGTERM. After 30 s, SIGKILL. */
int h_stop(struct proc *p, int sig) {
        long long deadline = h_now_ms() + 30000;
        int status = -1;

        if (!p || p->pid <= 0)
                return -1;
        kill(p->pid, sig);
        while (waitpid(p->pid, &status, WNOHANG) == 0) {
                if (h_now_ms() > deadline) {
                        kill(p->pid, SIGKILL);
                        waitpid(p->pid, &status, 0);
                        break;
                }
                if (p->out < 0 || !fill(p, 50)) {
                        struct timespec d = { 0, 10 * 1000000L };
                        nanosleep(&d, NULL);
                }
                p->len = 0;     /* what it says while stopping is in its log file */
        }
        p->pid = 0;
        return status;
}

void h_release(struct proc *p) {
        for (int i = 0; i < MAX_PROCS && procs[i]; i++)
                if (procs[i] == p) {
                        if (p->pid > 0) {
                                kill(p->pid, SIGKILL);
                                waitpid(p->pid, NULL, 0);
                        }
                        if (p->out >= 0)
                                close(p->out);
                        free(p->log_path);
                        free(p);
                        memmove(&procs[i], &procs[i + 1], (size_t) (MAX_PROCS - i - 1) * sizeof procs[0]);
                        procs[MAX_PROCS - 1] = NULL;
                        return;
                }
}

bool h_alive(const struct proc *p) {
        return p && p->pid > 0 && waitpid(p->pid, NULL, WNOHANG) == 0;
}

/* Reads what is available within timeout_ms into p->buf; false on EOF/timeout. */
static bool fill(struct proc *p, int timeout_ms) {
        struct pollfd pfd = { .fd = p->out, .events = POLLIN };
        ssize_t k;

        if (p->out < 0 || p->len >= sizeof p->buf - 1)
                return false;
        if (poll(&pfd, 1, timeout_ms) <= 0)
                return false;
        k = read(p->out, p->buf + p->len, sizeof p->buf - 1 - p->len);
        if (k <= 0)
                return false;
        if (p->log_path) {
                FILE *f = fopen(p->log_path, "a");
                if (f) {
                        fwrite(p->buf + p->len, 1, (size_t) k, f);
                        fclose(f);
                }
        }
        p->len += (size_t) k;
        p->buf[p->len] = '\0';
        return true;
}

/* Takes the next complete line out of p->buf into line; false if none. */
static bool take_line(struct proc *p, char *line, size_t n) {
        char *nl = memchr(p->buf, '\n', p->len);
        size_t l;

        if (!nl)
                return false;
        l = (size_t) (nl - p->buf);
        snprintf(line, n, "%.*s", (int) l, p->buf);
        snprintf(p->last, sizeof p->last, "%.*s", (int) l, p->buf);
        memmove(p->buf, nl + 1, p->len - l - 1);
        p->len -= l + 1;
        p->buf[p->len] = '\0';
        return true;
}

bool h_wait_line(struct proc *p, const char *needle, int timeout_ms) {
        long long deadline = h_now_ms() + timeout_ms;
        static char line[65536];

        for (;;) {
                while (take_line(p, line, sizeof line))
                        if (strstr(line, needle))
                                return true;
                long long left = deadline - h_now_ms();
                if (left <= 0 || !fill(p, (int) left))
                        return false;
        }
}

bool h_saw_message(struct proc *sub, const char *topic, const char *needle, int timeout_ms) {
        char *m = h_wait_message(sub, topic, needle, timeout_ms);

        free(m);
        return m != NULL;
}

char *h_next_line(struct proc *p, const char *needle, int timeout_ms) {
        long long deadline = h_now_ms() + timeout_ms;
        static char line[65536];

        for (;;) {
                while (take_line(p, line, sizeof line))
                        if (strstr(line, needle))
                                return strdup(line);
                long long left = deadline - h_now_ms();
                if (left <= 0 || !fill(p, (int) left))
                        return NULL;
        }
}

int h_count_lines(struct proc *p, const char *needle, int timeout_ms) {
        long long deadline = h_now_ms() + timeout_ms;
        static char line[65536];
        int n = 0;

        for (;;) {
                while (take_line(p, line, sizeof line))
                        if (strstr(line, needle))
                                n++;
                long long left = deadline - h_now_ms();
                if (left <= 0 || !fill(p, (int) left))
                        return n;
        }
}

json_t *h_sim_next_call(struct proc *sim, int timeout_ms) {
        long long deadline = h_now_ms() + timeout_ms;
        static char line[65536];

        for (;;) {
                while (take_line(sim, line, sizeof line)) {
                        json_t *j = line[0] == '{' ? json_loads(line, 0, NULL) : NULL;
                        const char *schema = json_string_value(json_object_get(json_object_get(j, "body"), "schema"));
                        /* Heartbeats are link supervision, not calls: skipped here. */
                        if (j && json_object_get(j, "method") && !(schema && strcmp(schema, "anju.heartbeat.v1") == 0))
                                return j;
                        json_decref(j);
                }
                long long left = deadline - h_now_ms();
                if (left <= 0 || !fill(sim, (int) left))
                        return NULL;
        }
}

void h_write_secret(const char *path, const char *text) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

        ck_assert_msg(fd >= 0, "cannot write %s: %s", path, strerror(errno));
        ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t) strlen(text));
        close(fd);
}

const char *h_write_config(const char *dir, int mqtt_port, int dispatch_port, const char *extra) {
        static char path[512];
        char secret[512];
        FILE *f;

        snprintf(secret, sizeof secret, "%s/token", dir);
        h_write_secret(secret, "test-token-123\n");
        snprintf(secret, sizeof secret, "%s/key", dir);
        h_write_secret(secret, "test-hmac-key-0123456789\n");
        snprintf(path, sizeof path, "%s/anju.conf", dir);
        f = fopen(path, "w");
        ck_assert_ptr_nonnull(f);
        fprintf(f,
                "[hub]\nid = test-hub\nlanguage = en\ntimezone = Asia/Shanghai\ndatabase = %s/anju.db\n"
                "ctl_socket = %s/ctl.sock\n\n"
                "[resident]\nname = Ye Ayi\naddress = Doutan 3-2-301\nrisk = high\nnotes = lives alone\n\n"
                "[mqtt]\nhost = 127.0.0.1\nport = %d\nkeepalive = 10s\nreconnect_min = 50ms\n"
                "reconnect_max = 400ms\n\n"
                "[dispatch]\nurl = http://127.0.0.1:%d/api/v1/alarms\ntoken_file = %s/token\n"
                "hmac_key_file = %s/key\nretry_min = 100ms\nretry_max = 400ms\ntimeout = 5s\n\n"
                "[sensor kitchen_smoke]\nkind = smoke\nroom = kitchen\ntopic = zigbee2mqtt/kitchen_smoke\n\n"
                "[sensor bedroom_smoke]\nkind = smoke\nroom = bedroom\ntopic = zigbee2mqtt/bedroom_smoke\n\n"
                "[sensor living_pir]\nkind = motion\nroom = living room\ntopic = zigbee2mqtt/living_pir\n\n"
                "[sensor front_door]\nkind = door\nroom = hall\ntopic = zigbee2mqtt/front_door\n\n"
                "[sensor sos_button]\nkind = button\nroom = bedroom\ntopic = zigbee2mqtt/sos_button\n\n"
                "[sensor band]\nkind = wristband\ntopic = band/ye\n\n%s",
                dir, dir, mqtt_port, dispatch_port, dir, dir, extra ? extra : "");
        fclose(f);
        return path;
}

static void on_publish(struct mosquitto *m, void *ud, int mid) {
        *(bool *) ud = true;
}

void h_publish(int port, const char *topic, const char *payload, size_t len, bool retain) {
        struct mosquitto *m;
        bool done = false;
        long long deadline = h_now_ms() + 5000;

        mosquitto_lib_init();
        m = mosquitto_new(NULL, true, &done);
        ck_assert_ptr_nonnull(m);
        mosquitto_publish_callback_set(m, on_publish);
        ck_assert_int_eq(mosquitto_connect(m, "127.0.0.1", port, 30), MOSQ_ERR_SUCCESS);
        ck_assert_int_eq(mosquitto_publish(m, NULL, topic, (int) len, payload, 1, retain), MOSQ_ERR_SUCCESS);
        while (!done && h_now_ms() < deadline)
                if (mosquitto_loop(m, 50, 1) != MOSQ_ERR_SUCCESS)
                        break;
        ck_assert_msg(done, "broker did not acknowledge the publish on %s", topic);
        mosquitto_disconnect(m);
        mosquitto_destroy(m);
}

struct status_wait {
        const char *want;
        bool live_only;
        bool seen;
};

static void on_status(struct mosquitto *m, void *ud, const struct mosquitto_message *msg) {
        struct status_wait *w = ud;

        if (msg->payloadlen == (int) strlen(w->want) && memcmp(msg->payload, w->want, strlen(w->want)) == 0 &&
            (!w->live_only || !msg->retain))
                w->seen = true;
}

bool h_wait_status(int port, const char *hub_id, const char *want, int timeout_ms) {
        struct status_wait w = { .want = want };
        long long deadline = h_now_ms() + timeout_ms;
        struct mosquitto *m;
        char topic[256];

        snprintf(topic, sizeof topic, "anju/%s/status", hub_id);
        mosquitto_lib_init();
        m = mosquitto_new(NULL, true, &w);
        ck_assert_ptr_nonnull(m);
        mosquitto_message_callback_set(m, on_status);
        ck_assert_int_eq(mosquitto_connect(m, "127.0.0.1", port, 30), MOSQ_ERR_SUCCESS);
        ck_assert_int_eq(mosquitto_subscribe(m, NULL, topic, 1), MOSQ_ERR_SUCCESS);
        while (!w.seen && h_now_ms() < deadline)
                if (mosquitto_loop(m, 50, 1) != MOSQ_ERR_SUCCESS)
                        break;
        mosquitto_disconnect(m);
        mosquitto_destroy(m);
        return w.seen;
}

/* --- anjuctl ------------------------------------------------------------------ */

static int exit_code(int status) {
        return WIFEXITED(status) ? WEXITSTATUS(status) : WIFSIGNALED(status) ? 128 + WTERMSIG(status) : -1;
}

/* argv for anjuctl [-s sock] args... (NULL-terminated in ap). */
static void ctl_argv(char **argv, size_t max, const char *sock, va_list ap) {
        size_t n = 0;
        const char *a;

        argv[n++] = (char *) h_env("ANJUCTL", "anjuctl");
        if (sock) {
                argv[n++] = "-s";
                argv[n++] = (char *) sock;
        }
        while ((a = va_arg(ap, const char *)) && n < max - 1)
                argv[n++] = (char *) a;
        argv[n] = NULL;
}

void h_vctl(const char *sock, struct h_out *o, va_list ap) {
        char *argv[32];
        int po[2], pe[2], status;
        size_t lo = 0, le = 0;
        long long deadline = h_now_ms() + 60000;
        struct pollfd pfd[2];
        pid_t pid;

        ctl_argv(argv, ELEMENTS(argv), sock, ap);
        memset(o, 0, sizeof *o);
        ck_assert_int_eq(pipe2(po, O_CLOEXEC), 0);
        ck_assert_int_eq(pipe2(pe, O_CLOEXEC), 0);
        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                int devnull = open("/dev/null", O_RDONLY);
                child_setup();
                dup2(devnull, STDIN_FILENO);
                dup2(po[1], STDOUT_FILENO);
                dup2(pe[1], STDERR_FILENO);
                child_exec(argv);
        }
        close(po[1]);
        close(pe[1]);
        pfd[0] = (struct pollfd) { .fd = po[0], .events = POLLIN };
        pfd[1] = (struct pollfd) { .fd = pe[0], .events = POLLIN };
        while (pfd[0].fd >= 0 || pfd[1].fd >= 0) {
                long long left = deadline - h_now_ms();
                if (left <= 0) {
                        kill(pid, SIGKILL);
                        waitpid(pid, NULL, 0);
                        ck_abort_msg("anjuctl %s did not finish in time; so far: %.*s / %.*s",
                                     argv[sock ? 3 : 1] ? argv[sock ? 3 : 1] : "", (int) lo, o->out, (int) le, o->err);
                }
                if (poll(pfd, 2, (int) left) < 0 && errno != EINTR)
                        ck_abort_msg("poll: %s", strerror(errno));
                for (int i = 0; i < 2; i++) {
                        char *buf = i ? o->err : o->out;
                        size_t *l = i ? &le : &lo, cap = i ? sizeof o->err : sizeof o->out;
                        ssize_t k;
                        if (pfd[i].fd < 0 || !(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
                                continue;
                        k = read(pfd[i].fd, buf + *l, cap - 1 - *l);
                        if (k <= 0) {
                                close(pfd[i].fd);
                                pfd[i].fd = -1;
                        } else
                                *l += (size_t) k;
                }
        }
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        o->rc = exit_code(status);
}

void h_ctl(const char *sock, struct h_out *o, ...) {
        va_list ap;

        va_start(ap, o);
        h_vctl(sock, o, ap);
        va_end(ap);
}

int h_finish(struct proc *p, int timeout_ms) {
        long long deadline = h_now_ms() + timeout_ms;
        int status;

        for (;;) {
                struct pollfd pfd = { .fd = p->out, .events = POLLIN };
                long long left = deadline - h_now_ms();
                ssize_t k;

                ck_assert_msg(left > 0, "pid %d did not finish in time; output: %s", (int) p->pid, p->buf);
                if (poll(&pfd, 1, (int) left) <= 0)
                        continue;
                if (p->len >= sizeof p->buf - 1)
                        p->len = 0;     /* only the tail is kept */
                k = read(p->out, p->buf + p->len, sizeof p->buf - 1 - p->len);
                if (k <= 0)
                        break;          /* EOF (a pipe) or EIO (a pty whose other side closed) */
                p->len += (size_t) k;
                p->buf[p->len] = '\0';
        }
        close(p->out);
        p->out = -1;
        ck_assert_int_eq(waitpid(p->pid, &status, 0), p->pid);
        p->pid = 0;
        return exit_code(status);
}

/* --- tests' common bits ------------------------------------------------------------ */

const char *h_write_file(const char *dir, const char *name, const char *text) {
        static char path[512];
        FILE *f;

        snprintf(path, sizeof path, "%s/%s", dir, name);
        f = fopen(path, "w");
        ck_assert_msg(f != NULL, "cannot write %s: %s", path, strerror(errno));
        fputs(text, f);
        ck_assert_int_eq(fclose(f), 0);
        return path;
}

json_t *h_wait_json(struct proc *sub, const char *topic, const char *needle, int timeout_ms) {
        char *msg = h_wait_message(sub, topic, needle, timeout_ms);
        json_t *j;

        if (!msg)
                return NULL;
        j = json_loads(msg, 0, NULL);
        ck_assert_msg(j != NULL, "the message on %s is not JSON: %s", topic, msg);
        free(msg);
        return j;
}

void h_hmac_hex(const char *key, const char *msg, char hex[65]) {
        unsigned char mac[32];
        unsigned maclen = 0;

        HMAC(EVP_sha256(), key, (int) strlen(key), (const unsigned char *) msg, strlen(msg), mac, &maclen);
        ck_assert_uint_eq(maclen, 32);
        for (unsigned i = 0; i < maclen; i++)
                snprintf(hex + 2 * i, 3, "%02x", mac[i]);
}

char *h_smoke_sensors(int n, const char *more) {
        size_t cap = (size_t) n * 96 + strlen(more ? more : "") + 64, len = 0;
        char *s = malloc(cap);

        ck_assert_ptr_nonnull(s);
        for (int i = 0; i < n; i++)
                len += (size_t) snprintf(s + len, cap - len,
                                         "[sensor smoke_%d]\nkind = smoke\nroom = room %d\ntopic = z/smoke_%d\n\n",
                                         i, i, i);
        snprintf(s + len, cap - len, "%s", more ? more : "");
        return s;
}

int h_smoke_index(json_t *call) {
        json_t *sensor = json_object_get(json_object_get(call, "body"), "sensor");
        const char *id = json_string_value(json_object_get(sensor, "id"));
        int i;

        return id && sscanf(id, "smoke_%d", &i) == 1 ? i : -1;
}

/* --- the rig ----------------------------------------------------------------------- */

void h_rig_secret(struct h_rig *r, const char *name, const char *text) {
        char path[512], line[1024];

        snprintf(path, sizeof path, "%s/%s", r->dir, name);
        snprintf(line, sizeof line, "%s\n", text);
        h_write_secret(path, line);
}

/* The configuration's extra text with @DIR@ and @SIM_PORT@ replaced;
 * caller frees. */
static char *expand(const struct h_rig *r, const char *in) {
        char port[16], *out = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&out, &size);

        ck_assert_ptr_nonnull(f);
        snprintf(port, sizeof port, "%d", r->sim_port);
        for (const char *m = in ? in : ""; *m;) {
                if (strncmp(m, "@DIR@", 5) == 0) {
                        fputs(r->dir, f);
                        m += 5;
                } else if (strncmp(m, "@SIM_PORT@", 10) == 0) {
                        fputs(port, f);
                        m += 10;
                } else
                        fputc(*m++, f);
        }
        ck_assert_int_eq(fclose(f), 0);
        return out;
}

void h_rig_config(struct h_rig *r, const char *config) {
        char *extra = expand(r, config);

        snprintf(r->config, sizeof r->config, "%s", h_write_config(r->dir, r->mqtt_port, r->sim_port, extra));
        free(extra);
}

void h_rig_anjud(struct h_rig *r) {
        if (r->anjud)
                h_release(r->anjud);
        r->anjud = h_anjud_start_args(r->config, r->args);
        ck_assert_msg(h_wait_status(r->mqtt_port, H_HUB, "online", 20000), "anjud did not come online: %s",
                      r->anjud->last);
}

void h_rig_up(struct h_rig *r, const struct h_rig_opts *o) {
        size_t n = 0;

        memset(r, 0, sizeof *r);
        snprintf(r->dir, sizeof r->dir, "%s", h_tmpdir());
        snprintf(r->sock, sizeof r->sock, "%s/ctl.sock", r->dir);
        if (o->scale) {
                snprintf(r->argbuf[0], sizeof r->argbuf[0], "%s", o->scale);
                r->args[n++] = "--time-scale";
                r->args[n++] = r->argbuf[0];
        }
        if (o->start) {
                snprintf(r->argbuf[1], sizeof r->argbuf[1], "%s", o->start);
                r->args[n++] = "--clock-start";
                r->args[n++] = r->argbuf[1];
        }
        for (size_t i = 0; o->anjud_args && o->anjud_args[i] && n < ELEMENTS(r->args) - 1; i++)
                r->args[n++] = o->anjud_args[i];
        r->args[n] = NULL;
        for (size_t i = 0; o->secrets && o->secrets[i] && o->secrets[i + 1]; i += 2)
                h_rig_secret(r, o->secrets[i], o->secrets[i + 1]);
        r->mqtt_port = h_free_port();
        r->sim_port = h_free_port();
        r->broker = o->broker_conf ? h_broker_start_conf(r->mqtt_port, o->broker_conf) : h_broker_start(r->mqtt_port);
        r->sim = o->no_sim ? NULL : h_sim_start(r->sim_port, o->sim_args);
        r->sub = o->no_sub ? NULL : h_sub_start(r->mqtt_port, "anju/#");
        h_rig_config(r, o->config);
        if (!o->no_anjud)
                h_rig_anjud(r);
}

void h_rig_down(struct h_rig *r) {
        /* pid 0: the test stopped it itself (h_stop()); otherwise it must be running. */
        if (r->anjud && r->anjud->pid > 0)
                ck_assert_msg(h_alive(r->anjud), "anjud died: %s", r->anjud->last);
        h_stop(r->anjud, SIGTERM);
        h_stop(r->sub, SIGTERM);
        h_stop(r->sim, SIGTERM);
        h_stop(r->broker, SIGTERM);
}

void h_rig_pub(struct h_rig *r, const char *topic, const char *payload) {
        h_publish(r->mqtt_port, topic, payload, strlen(payload), false);
}

void h_rig_ack(struct h_rig *r, const char *incident, const char *action, const char *by, const char *key,
               long ts_offset, char *sent, size_t n) {
        long long ts = (long long) time(NULL) + ts_offset;
        char msg[512], hex[65], *payload;
        json_t *j;

        snprintf(msg, sizeof msg, "%s\n%s\n%s\n%lld\n%s", incident, action, by, ts, "");
        h_hmac_hex(key, msg, hex);
        j = json_pack("{s:s, s:s, s:s, s:I, s:s}", "incident", incident, "action", action, "by", by, "ts",
                      (json_int_t) ts, "sig", hex);
        payload = json_dumps(j, JSON_COMPACT);
        json_decref(j);
        ck_assert_ptr_nonnull(payload);
        if (sent)
                snprintf(sent, n, "%s", payload);
        h_rig_pub(r, "anju/" H_HUB "/ack", payload);
        free(payload);
}

static sqlite3_stmt *rig_query(struct h_rig *r, const char *sql, sqlite3 **db) {
        char path[512];
        sqlite3_stmt *q;

        snprintf(path, sizeof path, "%s/anju.db", r->dir);
        ck_assert_int_eq(sqlite3_open_v2(path, db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
        sqlite3_busy_timeout(*db, 5000);
        ck_assert_msg(sqlite3_prepare_v2(*db, sql, -1, &q, NULL) == SQLITE_OK, "%s: %s", sql, sqlite3_errmsg(*db));
        return q;
}

long long h_rig_db(struct h_rig *r, const char *sql) {
        sqlite3 *db;
        sqlite3_stmt *q = rig_query(r, sql, &db);
        long long v = -1;

        if (sqlite3_step(q) == SQLITE_ROW)
                v = sqlite3_column_int64(q, 0);
        sqlite3_finalize(q);
        sqlite3_close(db);
        return v;
}

long long h_rig_db_wait(struct h_rig *r, const char *sql, long long want, int timeout_ms) {
        long long deadline = h_now_ms() + timeout_ms, v;
        struct timespec d = { 0, 20 * 1000000L };

        while ((v = h_rig_db(r, sql)) != want && h_now_ms() < deadline)
                nanosleep(&d, NULL);    /* a file polled with a bound, not a blind wait */
        return v;
}

char *h_rig_db_text(struct h_rig *r, const char *sql, char *buf, size_t n) {
        sqlite3 *db;
        sqlite3_stmt *q = rig_query(r, sql, &db);

        buf[0] = '\0';
        if (sqlite3_step(q) == SQLITE_ROW && sqlite3_column_text(q, 0))
                snprintf(buf, n, "%s", (const char *) sqlite3_column_text(q, 0));
        sqlite3_finalize(q);
        sqlite3_close(db);
        return buf;
}

char *h_rig_db_list(struct h_rig *r, const char *sql, char *buf, size_t n) {
        sqlite3 *db;
        sqlite3_stmt *q = rig_query(r, sql, &db);
        size_t l = 0;

        buf[0] = '\0';
        while (l < n && sqlite3_step(q) == SQLITE_ROW)
                l += (size_t) snprintf(buf + l, n - l, "%s%s", l ? "," : "", sqlite3_column_text(q, 0));
        sqlite3_finalize(q);
        sqlite3_close(db);
        return buf;
}

char *h_rig_timeline(struct h_rig *r, const char *incident, bool actors, char *buf, size_t n) {
        char sql[256];

        sqlite3_snprintf(sizeof sql, sql, "SELECT event%s FROM timeline WHERE incident = '%q' ORDER BY seq",
                         actors ? " || ':' || ifnull(actor, '-')" : "", incident);
        return h_rig_db_list(r, sql, buf, n);
}

void h_rig_ctl(struct h_rig *r, struct h_out *o, ...) {
        va_list ap;

        va_start(ap, o);
        h_vctl(r->sock, o, ap);
        va_end(ap);
}

json_t *h_out_json(const struct h_out *o) {
        json_error_t e;
        json_t *j = json_loads(o->out, JSON_DISABLE_EOF_CHECK, &e);

        ck_assert_msg(j != NULL, "anjuctl's answer is not JSON (%s): %s\nstderr: %s", e.text, o->out, o->err);
        return j;
}

json_t *h_rig_ctl_json(struct h_rig *r, int *rc, ...) {
        static struct h_out o;
        char *argv[24];
        size_t n = 0;
        const char *a;
        va_list ap;

        argv[n++] = "--json";
        va_start(ap, rc);
        while ((a = va_arg(ap, const char *)) && n < ELEMENTS(argv) - 1)
                argv[n++] = (char *) a;
        va_end(ap);
        argv[n] = NULL;
        h_ctl(r->sock, &o, argv[0], n > 1 ? argv[1] : NULL, n > 2 ? argv[2] : NULL, n > 3 ? argv[3] : NULL,
              n > 4 ? argv[4] : NULL, n > 5 ? argv[5] : NULL, n > 6 ? argv[6] : NULL, NULL);
        if (rc)
                *rc = o.rc;
        return h_out_json(&o);
}

struct proc *h_rig_ctl_start(struct h_rig *r, int on_pty, ...) {
        char *argv[32];
        va_list ap;

        va_start(ap, on_pty);
        ctl_argv(argv, ELEMENTS(argv), r->sock, ap);
        va_end(ap);
        return spawn(argv, NULL, on_pty);
}
