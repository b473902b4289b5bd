/* anju-bench-latency: time from a smoke message's publish to the emergency
 * call's arrival at the dispatch center, over N alarms from distinct
 * sensors mixed with non-alarm traffic; then anjud's idle RSS, CPU and
 * context switches, and its start-up time. Everything on 127.0.0.1: a
 * private mosquitto, the dispatch simulator (--json, which stamps each
 * request with CLOCK_MONOTONIC), and the real anjud. A benchmark, not a
 * test: it prints figures and fails only if an alarm is lost. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <mosquitto.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct child {
        pid_t pid;
        int out;
        char buf[1 << 16];
        size_t len;
};

static struct child broker, sim, anjud;

static long long now_ns(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (long long) ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void die(const char *what) {
        fprintf(stderr, "anju-bench-latency: %s\n", what);
        exit(2);
}

static void stop_all(void) {
        struct child *c[] = { &anjud, &sim, &broker };
        for (int i = 0; i < 3; i++)
                if (c[i]->pid > 0) {
                        kill(c[i]->pid, SIGTERM);
                        waitpid(c[i]->pid, NULL, 0);
                        c[i]->pid = 0;
                }
}

static void spawn(struct child *c, char *const argv[]) {
        int fds[2];

        if (pipe2(fds, O_CLOEXEC) < 0)
                die("pipe");
        fcntl(fds[0], F_SETPIPE_SZ, 1 << 20);
        c->pid = fork();
        if (c->pid == 0) {
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                dup2(fds[1], STDOUT_FILENO);
                dup2(fds[1], STDERR_FILENO);
                execvp(argv[0], argv);
                _exit(127);
        }
        close(fds[1]);
        c->out = fds[0];
}

/* Next line of c's output within timeout_ms into line; false on timeout. */
static bool next_line(struct child *c, char *line, size_t n, int timeout_ms) {
        long long deadline = now_ns() + (long long) timeout_ms * 1000000;

        for (;;) {
                char *nl = memchr(c->buf, '\n', c->len);
                if (nl) {
                        size_t l = (size_t) (nl - c->buf);
                        snprintf(line, n, "%.*s", (int) l, c->buf);
                        memmove(c->buf, nl + 1, c->len - l - 1);
                        c->len -= l + 1;
                        return true;
                }
                int left = (int) ((deadline - now_ns()) / 1000000);
                struct pollfd p = { .fd = c->out, .events = POLLIN };
                if (left <= 0 || poll(&p, 1, left) <= 0)
                        return false;
                ssize_t k = read(c->out, c->buf + c->len, sizeof c->buf - c->len);
                if (k <= 0)
                        return false;
                c->len += (size_t) k;
        }
}

static bool wait_for(struct child *c, const char *needle, int timeout_ms) {
        char line[65536];
        long long deadline = now_ns() + (long long) timeout_ms * 1000000;

        while (now_ns() < deadline)
                if (next_line(c, line, sizeof line, (int) ((deadline - now_ns()) / 1000000) + 1) &&
                    strstr(line, needle))
                        return true;
        return false;
}

static int free_port(void) {
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t l = sizeof a;
        int fd = socket(AF_INET, SOCK_STREAM, 0);

        if (bind(fd, (struct sockaddr *) &a, sizeof a) < 0 || getsockname(fd, (struct sockaddr *) &a, &l) < 0)
                die("no free port");
        close(fd);
        return ntohs(a.sin_port);
}

static long proc_status(pid_t pid, const char *key) {
        char path[64], line[256];
        long v = -1;
        FILE *f;

        snprintf(path, sizeof path, "/proc/%d/status", pid);
        f = fopen(path, "re");
        while (f && fgets(line, sizeof line, f))
                if (strncmp(line, key, strlen(key)) == 0)
                        v = strtol(line + strlen(key), NULL, 10);
        if (f)
                fclose(f);
        return v;
}

static long cpu_ticks(pid_t pid) {
        char path[64], buf[1024], *p;
        unsigned long ut = 0, st = 0;
        FILE *f;

        snprintf(path, sizeof path, "/proc/%d/stat", pid);
        f = fopen(path, "re");
        if (!f || !fgets(buf, sizeof buf, f))
                die("cannot read /proc/PID/stat");
        fclose(f);
        p = strrchr(buf, ')');
        /* fields after ")": state(3) ... utime(14) stime(15) */
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st);
        return (long) (ut + st);
}

static int cmp_ll(const void *a, const void *b) {
        long long x = *(const long long *) a, y = *(const long long *) b;
        return x < y ? -1 : x > y;
}

struct opts {
        int alarms, noise;
        const char *anjud, *mosquitto, *sim, *db_dir;
};

static void write_config(const char *dir, const struct opts *o, int mport, int dport) {
        char path[512];
        FILE *f;

        snprintf(path, sizeof path, "%s/anju.conf", dir);
        f = fopen(path, "we");
        if (!f)
                die("cannot write config");
        fprintf(f, "[hub]\nid = bench\nlanguage = en\ndatabase = %s/anju.db\n"
                   "[resident]\nname = Bench\naddress = Loopback 1\n"
                   "[mqtt]\nhost = 127.0.0.1\nport = %d\n"
                   "[dispatch]\nurl = http://127.0.0.1:%d/alarms\nretry_min = 100ms\nretry_max = 1s\n"
                   "[sensor pir]\nkind = motion\nroom = hall\ntopic = bench/pir\n",
                o->db_dir, mport, dport);
        for (int i = 0; i < o->alarms; i++)
                fprintf(f, "[sensor s%05d]\nkind = smoke\nroom = r%d\ntopic = bench/s%05d\n", i, i % 10, i);
        fclose(f);
}

static void publish(struct mosquitto *m, const char *topic, const char *payload) {
        if (mosquitto_publish(m, NULL, topic, (int) strlen(payload), payload, 1, false) != MOSQ_ERR_SUCCESS)
                die("publish failed");
}

/* Runs the alarms; fills lat (µs); returns how many were lost. */
static int run_alarms(const struct opts *o, int mport, long long *lat) {
        struct mosquitto *m = mosquitto_new(NULL, true, NULL);
        char topic[64], line[65536];
        int lost = 0;

        if (!m || mosquitto_connect(m, "127.0.0.1", mport, 60) != MOSQ_ERR_SUCCESS ||
            mosquitto_loop_start(m) != MOSQ_ERR_SUCCESS)
                die("cannot connect the publisher");
        for (int i = 0; i < o->alarms; i++) {
                for (int k = 0; k < o->noise; k++) {
                        snprintf(topic, sizeof topic, "bench/s%05d", (i + k + 1) % o->alarms);
                        publish(m, k % 2 ? "bench/pir" : topic,
                                k % 2 ? "{\"occupancy\":true,\"battery\":99}" : "{\"smoke\":false,\"battery\":97}");
                }
                snprintf(topic, sizeof topic, "bench/s%05d", i);
                long long t0 = now_ns();
                publish(m, topic, "{\"smoke\":true,\"battery\":90}");
                lat[i] = -1;
                while (next_line(&sim, line, sizeof line, 5000)) {
                        json_t *j = json_loads(line, 0, NULL);
                        const char *sid = json_string_value(json_object_get(json_object_get(json_object_get(j, "body"), "sensor"), "id"));
                        bool match = sid && strcmp(sid, topic + 6) == 0;
                        if (match)
                                lat[i] = (json_integer_value(json_object_get(j, "t_mono_ns")) - t0) / 1000;
                        json_decref(j);
                        if (match)
                                break;
                }
                if (lat[i] < 0)
                        lost++;
        }
        mosquitto_disconnect(m);
        mosquitto_loop_stop(m, false);
        mosquitto_destroy(m);
        return lost;
}

static void report_latency(long long *lat, int n, int lost) {
        int k = 0;
        for (int i = 0; i < n; i++)
                if (lat[i] >= 0)
                        lat[k++] = lat[i];
        qsort(lat, (size_t) k, sizeof *lat, cmp_ll);
        if (k == 0)
                return;
        printf("alarms %d, lost %d\n", n, lost);
        printf("latency publish -> HTTP request (us): p50 %lld  p90 %lld  p99 %lld  max %lld\n",
               lat[k / 2], lat[k * 9 / 10], lat[k * 99 / 100], lat[k - 1]);
        printf("target p99 <= 1000 us: %s\n", lat[k * 99 / 100] <= 1000 ? "MET" : "MISSED");
}

static void report_idle(void) {
        long hz = sysconf(_SC_CLK_TCK);
        long c0 = cpu_ticks(anjud.pid), v0 = proc_status(anjud.pid, "voluntary_ctxt_switches:");
        struct timespec ten = { 10, 0 };

        printf("after the run: VmRSS %ld kB, VmHWM %ld kB\n", proc_status(anjud.pid, "VmRSS:"),
               proc_status(anjud.pid, "VmHWM:"));
        nanosleep(&ten, NULL);
        printf("idle 10 s: VmRSS %ld kB, CPU %.2f s, voluntary context switches %ld (%.2f/s)\n",
               proc_status(anjud.pid, "VmRSS:"), (double) (cpu_ticks(anjud.pid) - c0) / (double) hz,
               proc_status(anjud.pid, "voluntary_ctxt_switches:") - v0,
               (double) (proc_status(anjud.pid, "voluntary_ctxt_switches:") - v0) / 10.0);
        printf("target idle RSS <= 4096 kB: %s\n", proc_status(anjud.pid, "VmRSS:") <= 4096 ? "MET" : "MISSED");
}

int main(int argc, char **argv) {
        static const struct option lo[] = {
                { "alarms", required_argument, NULL, 'a' }, { "noise", required_argument, NULL, 'n' },
                { "anjud", required_argument, NULL, 'd' }, { "mosquitto", required_argument, NULL, 'm' },
                { "sim", required_argument, NULL, 's' }, { "db-dir", required_argument, NULL, 'D' },
                { NULL, 0, NULL, 0 },
        };
        struct opts o = { .alarms = 1000, .noise = 10, .anjud = "build/src/anjud",
                          .mosquitto = "/usr/sbin/mosquitto", .sim = "build/tools/anju-dispatch-sim" };
        char dir[] = "/tmp/anju-bench-XXXXXX", conf[600], ports[16], mports[16];
        struct statfs sf;
        long long *lat, t_exec;
        int c, lost, mport, dport;

        while ((c = getopt_long(argc, argv, "", lo, NULL)) >= 0)
                switch (c) {
                case 'a': o.alarms = atoi(optarg); break;
                case 'n': o.noise = atoi(optarg); break;
                case 'd': o.anjud = optarg; break;
                case 'm': o.mosquitto = optarg; break;
                case 's': o.sim = optarg; break;
                case 'D': o.db_dir = optarg; break;
                default: return 2;
                }
        if (o.alarms < 1 || !mkdtemp(dir))
                die("bad arguments or no temp dir");
        if (!o.db_dir)
                o.db_dir = dir;
        atexit(stop_all);
        mosquitto_lib_init();
        mport = free_port();
        dport = free_port();
        snprintf(conf, sizeof conf, "%s/mosquitto.conf", dir);
        FILE *f = fopen(conf, "we");
        fprintf(f, "listener %d 127.0.0.1\nallow_anonymous true\nlog_dest stderr\nmax_queued_messages 100000\n", mport);
        fclose(f);
        spawn(&broker, (char *const[]) { (char *) o.mosquitto, "-c", conf, NULL });
        if (!wait_for(&broker, "running", 10000))
                die("mosquitto did not start");
        snprintf(ports, sizeof ports, "%d", dport);
        spawn(&sim, (char *const[]) { (char *) o.sim, "--json", "--port", ports, NULL });
        if (!wait_for(&sim, "listening", 10000))
                die("dispatch simulator did not start");
        write_config(dir, &o, mport, dport);
        snprintf(conf, sizeof conf, "%s/anju.conf", dir);
        t_exec = now_ns();
        spawn(&anjud, (char *const[]) { (char *) o.anjud, "-c", conf, NULL });
        if (!wait_for(&anjud, "mqtt: connected", 10000))
                die("anjud did not connect");
        printf("anjud: exec to connected and subscribed: %.1f ms (%d sensors)\n",
               (double) (now_ns() - t_exec) / 1e6, o.alarms + 1);
        statfs(o.db_dir, &sf);
        printf("database in %s (filesystem magic 0x%lx%s)\n", o.db_dir, (unsigned long) sf.f_type,
               sf.f_type == 0x01021994 ? ", tmpfs: no real fsync" : "");
        (void) mports;
        lat = calloc((size_t) o.alarms, sizeof *lat);
        lost = run_alarms(&o, mport, lat);
        report_latency(lat, o.alarms, lost);
        report_idle();
        free(lat);
        return lost ? 1 : 0;
}
