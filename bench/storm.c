/* anju-bench-storm: no alarm lost to a message storm (issue 16). A QoS 1
 * (or QoS 0) burst from 1,000 sensors through Debian's mosquitto with its
 * default queue and in-flight limits into the real anjud, a smoke alarm
 * from a new smoke detector every 1,000 messages, and the bench's dispatch
 * center counting the calls: every alarm must be called exactly once.
 *
 * The publishers are raw MQTT 3.1.1 clients, one connection per thread,
 * each keeping a window of unacknowledged QoS 1 PUBLISH packets and
 * writing them in batches -- a Zigbee network re-joining, or a bridge
 * replaying its retained state, without the cost of a client library.
 * anjud can be starved: pinned with the broker to one core that a busy
 * loop of ours also uses (as `taskset` does), or put alone in a cgroup
 * with a CPU quota. Everything is bounded by count and time; everything
 * runs on 127.0.0.1; only our own children are signalled, by pid. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "flood.h"
#include "harness.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_PUBLISHERS 16
#define CLAIM 64                        /* messages a publisher claims and writes at once */
#define ACK_DEADLINE (10 * NSEC_PER_SEC) /* after the burst: the broker acknowledges the rest */
#define DRAIN_MAX (30 * NSEC_PER_SEC)   /* after the burst: anjud reads what the broker holds */
#define DRAIN_QUIET (2 * NSEC_PER_SEC)  /* no new message for this long: anjud has read all it will */
#define STATUS_EVERY (500 * NSEC_PER_MSEC)

enum starve { STARVE_NONE, STARVE_PIN, STARVE_QUOTA };

struct opts {
        const char *anjud, *anjuctl, *mosquitto, *db_dir, *during, *broker_extra;
        unsigned messages, rate, publishers, window, alarm_every, sensors, max_s, quota_pct;
        unsigned noise_qos, alarm_qos, hog_cpu;
        enum starve starve;
};

static const char *const noise_payloads[2] = {
        "{\"battery\":95,\"illuminance\":12,\"linkquality\":120,\"occupancy\":true,\"voltage\":3000}",
        "{\"battery\":95,\"illuminance\":12,\"linkquality\":120,\"occupancy\":false,\"voltage\":3000}",
};
static const char alarm_payload[] = "{\"battery\":90,\"linkquality\":110,\"smoke\":true}";

/* The burst, shared by the publisher threads. */
struct storm {
        const struct opts *o;
        unsigned port;
        atomic_ulong next;              /* the next message index to claim */
        unsigned long total;
        uint64_t start, stop_at;        /* the time bound */
        char (*noise_topics)[24];
        unsigned n_noise, n_alarms;
        uint64_t *alarm_t0;             /* per alarm, 1-based: when its batch was written */
        atomic_bool stop;
};

struct publisher_thread {
        struct storm *st;
        unsigned idx;
        pthread_t thread;
        int fd;
        unsigned short pid;             /* the last packet id used */
        unsigned long sent, qos1_sent, acked, alarms;
        uint64_t done_at;
        bool failed;
        unsigned char *buf;
        size_t len, cap;
        /* PUBACK parser across reads */
        int stage;
        unsigned char type;
        uint32_t remaining, mult;
};

/* --- the raw publisher --- */

static void buf_reserve(struct publisher_thread *pt, size_t more) {
        if (pt->len + more <= pt->cap)
                return;
        size_t cap = pt->cap ? pt->cap * 2 : 65536;
        while (cap < pt->len + more)
                cap *= 2;
        unsigned char *nb = realloc(pt->buf, cap);
        if (!nb)
                die("out of memory");
        pt->buf = nb;
        pt->cap = cap;
}

static void append_publish(struct publisher_thread *pt, const char *topic, const char *payload, unsigned qos) {
        size_t tl = strlen(topic), pl = strlen(payload), rem = 2 + tl + (qos ? 2 : 0) + pl;

        buf_reserve(pt, 5 + rem);
        pt->buf[pt->len++] = (unsigned char) (0x30 | (qos << 1));
        pt->len += flood_put_length(pt->buf + pt->len, rem);
        pt->buf[pt->len++] = (unsigned char) (tl >> 8);
        pt->buf[pt->len++] = (unsigned char) tl;
        memcpy(pt->buf + pt->len, topic, tl);
        pt->len += tl;
        if (qos) {
                if (++pt->pid == 0)
                        pt->pid = 1;
                pt->buf[pt->len++] = (unsigned char) (pt->pid >> 8);
                pt->buf[pt->len++] = (unsigned char) pt->pid;
                pt->qos1_sent++;
        }
        memcpy(pt->buf + pt->len, payload, pl);
        pt->len += pl;
}

/* Reads what the broker sent (PUBACKs), without waiting; false if it went away. */
static bool read_acks(struct publisher_thread *pt) {
        unsigned char b[16384];

        for (;;) {
                ssize_t k = read(pt->fd, b, sizeof b);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                        return true;
                if (k <= 0)
                        return false;
                for (ssize_t i = 0; i < k;) {
                        if (pt->stage == 0) {
                                pt->type = b[i++] >> 4;
                                pt->remaining = 0;
                                pt->mult = 1;
                                pt->stage = 1;
                        } else if (pt->stage == 1) {
                                pt->remaining += (uint32_t) (b[i] & 0x7f) * pt->mult;
                                pt->mult *= 128;
                                if (!(b[i++] & 0x80))
                                        pt->stage = 2;
                        }
                        if (pt->stage == 2) {
                                uint32_t take = (uint32_t) (k - i) < pt->remaining ? (uint32_t) (k - i) : pt->remaining;
                                i += take;
                                pt->remaining -= take;
                                if (pt->remaining == 0) {
                                        if (pt->type == 4)
                                                pt->acked++;
                                        pt->stage = 0;
                                }
                        }
                }
        }
}

/* Writes the batch, reading PUBACKs while the socket is full. */
static bool write_batch(struct publisher_thread *pt) {
        size_t off = 0;

        while (off < pt->len) {
                ssize_t k = send(pt->fd, pt->buf + off, pt->len - off, MSG_NOSIGNAL);
                if (k > 0) {
                        off += (size_t) k;
                } else if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                        struct pollfd p = { .fd = pt->fd, .events = POLLOUT | POLLIN };
                        (void) poll(&p, 1, 10);
                        if ((p.revents & POLLIN) && !read_acks(pt))
                                return false;
                        if (now_ns() > pt->st->stop_at + ACK_DEADLINE)
                                return false;
                } else if (k < 0 && errno == EINTR) {
                        continue;
                } else {
                        return false;
                }
        }
        pt->len = 0;
        return true;
}

static int connect_raw(unsigned port, const char *id) {
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t) port),
                                 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        struct timeval tv = { .tv_sec = 10 };
        unsigned char pkt[128], body[96], ack[4];
        size_t il = strlen(id), bl = 0, n = 0;
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

        if (fd < 0 || connect(fd, (struct sockaddr *) &a, sizeof a) < 0)
                die("publisher: cannot connect to the broker on port %u: %s", port, strerror(errno));
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        /* CONNECT: "MQTT", level 4, clean session, keepalive 600 s. */
        memcpy(body, "\x00\x04MQTT\x04\x02\x02\x58", 10);
        bl = 10;
        body[bl++] = (unsigned char) (il >> 8);
        body[bl++] = (unsigned char) il;
        memcpy(body + bl, id, il);
        bl += il;
        pkt[n++] = 0x10;
        n += flood_put_length(pkt + n, bl);
        memcpy(pkt + n, body, bl);
        n += bl;
        if (send(fd, pkt, n, MSG_NOSIGNAL) != (ssize_t) n)
                die("publisher: cannot send CONNECT: %s", strerror(errno));
        for (size_t got = 0; got < sizeof ack;) {
                ssize_t k = read(fd, ack + got, sizeof ack - got);
                if (k <= 0)
                        die("publisher: no CONNACK from the broker within 10 s");
                got += (size_t) k;
        }
        if (ack[0] != 0x20 || ack[3] != 0)
                die("publisher: the broker refused the connection (CONNACK %02x %02x)", ack[0], ack[3]);
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
        return fd;
}

static void *publisher_main(void *ud) {
        struct publisher_thread *pt = ud;
        struct storm *st = pt->st;
        const struct opts *o = st->o;
        double per_thread = o->rate ? (double) o->rate / o->publishers : 0;
        unsigned long mine = 0;
        char topic[32];

        for (;;) {
                uint64_t now = now_ns();
                unsigned long want = CLAIM, i0;

                if (atomic_load(&st->stop) || now >= st->stop_at || interrupted)
                        break;
                if (per_thread > 0) {
                        unsigned long due = (unsigned long) ((double) (now - st->start) * per_thread / 1e9) + 1;
                        if (due <= mine) {
                                struct pollfd p = { .fd = pt->fd, .events = POLLIN };
                                (void) poll(&p, 1, 1);
                                if ((p.revents & POLLIN) && !read_acks(pt))
                                        goto failed;
                                continue;
                        }
                        if (due - mine < want)
                                want = due - mine;
                }
                /* The window: at most o->window QoS 1 messages unacknowledged. */
                if (pt->qos1_sent - pt->acked + want > o->window) {
                        struct pollfd p = { .fd = pt->fd, .events = POLLIN };
                        (void) poll(&p, 1, 1);
                        if ((p.revents & POLLIN) && !read_acks(pt))
                                goto failed;
                        if (pt->qos1_sent - pt->acked + want > o->window)
                                continue;
                }
                i0 = atomic_fetch_add(&st->next, want);
                if (i0 >= st->total)
                        break;
                if (i0 + want > st->total)
                        want = st->total - i0;
                unsigned first_alarm = 0, last_alarm = 0;
                for (unsigned long i = i0; i < i0 + want; i++) {
                        if ((i + 1) % o->alarm_every == 0 && (i + 1) / o->alarm_every <= st->n_alarms) {
                                unsigned a = (unsigned) ((i + 1) / o->alarm_every);
                                snprintf(topic, sizeof topic, "bench/smoke/s%05u", a);
                                append_publish(pt, topic, alarm_payload, o->alarm_qos);
                                if (!first_alarm)
                                        first_alarm = a;
                                last_alarm = a;
                                pt->alarms++;
                        } else {
                                append_publish(pt, st->noise_topics[i % st->n_noise],
                                               noise_payloads[(i / st->n_noise) & 1], o->noise_qos);
                        }
                }
                if (first_alarm) {
                        uint64_t t0 = now_ns();
                        /* At most one alarm per claim when alarm_every >= CLAIM; else each gets the batch's time. */
                        for (unsigned a = first_alarm; a <= last_alarm; a++)
                                st->alarm_t0[a] = t0;
                }
                if (!write_batch(pt))
                        goto failed;
                pt->sent += want;
                mine += want;
                if (!read_acks(pt))
                        goto failed;
        }
        /* Bounded: the broker acknowledges what it took, or we give up. */
        while (pt->acked < pt->qos1_sent && now_ns() < st->stop_at + ACK_DEADLINE) {
                struct pollfd p = { .fd = pt->fd, .events = POLLIN };
                (void) poll(&p, 1, 10);
                if ((p.revents & POLLIN) && !read_acks(pt))
                        goto failed;
        }
        pt->done_at = now_ns();
        (void) send(pt->fd, "\xe0\x00", 2, MSG_NOSIGNAL);       /* DISCONNECT */
        return NULL;
failed:
        pt->failed = true;
        pt->done_at = now_ns();
        return NULL;
}

/* --- CPU: pinning, the hog, the quota --- */

/* Every thread of pid on cpu, as `taskset -a -p` does. */
static void pin_process(pid_t pid, unsigned cpu) {
        char path[64];
        struct dirent *de;
        cpu_set_t set;
        DIR *d;

        CPU_ZERO(&set);
        CPU_SET(cpu, &set);
        snprintf(path, sizeof path, "/proc/%d/task", (int) pid);
        if (!(d = opendir(path)))
                die("cannot read %s: %s", path, strerror(errno));
        while ((de = readdir(d)))
                if (de->d_name[0] != '.' && sched_setaffinity(atoi(de->d_name), sizeof set, &set) < 0)
                        die("cannot pin pid %s to CPU %u: %s", de->d_name, cpu, strerror(errno));
        closedir(d);
}

/* A busy loop on cpu, ours, stopped by its pid. */
static pid_t start_hog(unsigned cpu) {
        pid_t pid = fork();

        if (pid < 0)
                die("fork: %s", strerror(errno));
        if (pid == 0) {
                cpu_set_t set;
                volatile unsigned long spin = 0;

                prctl(PR_SET_PDEATHSIG, SIGKILL);
                CPU_ZERO(&set);
                CPU_SET(cpu, &set);
                sched_setaffinity(0, sizeof set, &set);
                for (;;)
                        spin++;
        }
        return pid;
}

static char quota_dir[PATH_MAX];

static void write_file(const char *dir, const char *name, const char *value) {
        char path[PATH_MAX + 64];
        int fd;

        snprintf(path, sizeof path, "%s/%s", dir, name);
        fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0 || write(fd, value, strlen(value)) != (ssize_t) strlen(value))
                die("cannot write %s to %s: %s", value, path, strerror(errno));
        close(fd);
}

/* anjud alone in a cgroup (v1 cpu controller) with pct % of one CPU. */
static void start_quota(pid_t pid, unsigned pct) {
        char v[32];

        snprintf(quota_dir, sizeof quota_dir, "/sys/fs/cgroup/cpu/anju-bench-storm-%d", (int) getpid());
        if (mkdir(quota_dir, 0755) < 0) {
                quota_dir[0] = '\0';
                die("cannot create a cgroup under /sys/fs/cgroup/cpu (cgroup v1 cpu controller): %s", strerror(errno));
        }
        write_file(quota_dir, "cpu.cfs_period_us", "100000");
        snprintf(v, sizeof v, "%u", pct * 1000);
        write_file(quota_dir, "cpu.cfs_quota_us", v);
        snprintf(v, sizeof v, "%d", (int) pid);
        write_file(quota_dir, "cgroup.procs", v);
}

/* Moves whatever is left back to the root cgroup and removes ours. */
static void stop_quota(void) {
        char path[PATH_MAX + 32], line[32];
        FILE *f;

        if (!quota_dir[0])
                return;
        snprintf(path, sizeof path, "%s/cgroup.procs", quota_dir);
        if ((f = fopen(path, "re"))) {
                while (fgets(line, sizeof line, f)) {
                        int fd = open("/sys/fs/cgroup/cpu/cgroup.procs", O_WRONLY | O_CLOEXEC);
                        if (fd >= 0) {
                                (void) !write(fd, line, strcspn(line, "\n"));
                                close(fd);
                        }
                }
                fclose(f);
        }
        if (rmdir(quota_dir) < 0)
                fprintf(stderr, "anju-bench-storm: cannot remove %s: %s\n", quota_dir, strerror(errno));
        quota_dir[0] = '\0';
}

static void cfs_throttled(unsigned long long *periods, unsigned long long *throttled) {
        char path[PATH_MAX + 32], key[64];
        unsigned long long v;
        FILE *f;

        *periods = *throttled = 0;
        snprintf(path, sizeof path, "%s/cpu.stat", quota_dir);
        if (!quota_dir[0] || !(f = fopen(path, "re")))
                return;
        while (fscanf(f, "%63s %llu", key, &v) == 2) {
                if (strcmp(key, "nr_periods") == 0)
                        *periods = v;
                else if (strcmp(key, "nr_throttled") == 0)
                        *throttled = v;
        }
        fclose(f);
}

/* --- anjud's own account: anjuctl --json status --- */

struct hub_counts {
        long long safety, busy, dropped;        /* dropped: -1 if anjud has not heard $SYS */
        bool ok;
};

static void hub_status(const struct opts *o, struct hub_counts *hc) {
        char cmd[PATH_MAX * 2 + 64], out[16384];
        size_t n = 0;
        json_t *root, *broker;
        FILE *p;

        *hc = (struct hub_counts) { .dropped = -1 };
        snprintf(cmd, sizeof cmd, "'%s' -s '%s/ctl.sock' --json status 2>/dev/null", o->anjuctl, bench.dir);
        if (!(p = popen(cmd, "re")))
                return;
        while (n < sizeof out - 1) {
                size_t k = fread(out + n, 1, sizeof out - 1 - n, p);
                if (k == 0)
                        break;
                n += k;
        }
        pclose(p);
        root = json_loadb(out, n, 0, NULL);
        broker = json_object_get(root, "broker");
        if (json_is_object(broker)) {
                json_t *d = json_object_get(broker, "dropped");
                hc->safety = json_integer_value(json_object_get(broker, "received_safety"));
                hc->busy = json_integer_value(json_object_get(broker, "received_busy"));
                hc->dropped = json_is_integer(d) ? json_integer_value(d) : -1;
                hc->ok = true;
        }
        json_decref(root);
}

/* --- when the broker forwarded each alarm --- */

/* A second subscriber to the smoke detectors' topics: it hears an alarm
 * when the broker forwards it, so an alarm's time splits into the wait
 * in front of the broker (publisher -> broker, behind the storm in the
 * same TCP stream) and anjud's part (broker -> call). */
struct alarm_watch {
        unsigned n;
        uint64_t *at;                   /* per alarm, 1-based; written by the loop thread */
        atomic_bool subscribed;
};

static void on_alarm_message(struct mosquitto *m, void *ud, const struct mosquitto_message *msg) {
        struct alarm_watch *w = ud;
        uint64_t at = now_ns();
        unsigned k;

        (void) m;
        if (sscanf(msg->topic, "bench/smoke/s%05u", &k) == 1 && k >= 1 && k <= w->n && !w->at[k])
                w->at[k] = at;
}

static void on_alarm_subscribe(struct mosquitto *m, void *ud, int mid, int n, const int *qos) {
        struct alarm_watch *w = ud;

        (void) m, (void) mid, (void) n, (void) qos;
        atomic_store(&w->subscribed, true);
}

static void on_alarm_connect(struct mosquitto *m, void *ud, int rc) {
        (void) ud;
        if (rc == 0)
                (void) mosquitto_subscribe(m, NULL, "bench/smoke/+", 1);
}

/* --- the run --- */

struct calls {
        unsigned *count;                /* per alarm, 1-based */
        uint64_t *first_at;
        unsigned other;                 /* calls for no alarm of ours */
};

static void take_calls(struct server *srv, const struct storm *st, struct calls *c) {
        struct request rq;
        unsigned k;

        while (server_take(srv, 0, &rq)) {
                if (sscanf(rq.sensor, "s%05u", &k) == 1 && k >= 1 && k <= st->n_alarms) {
                        if (c->count[k]++ == 0)
                                c->first_at[k] = rq.at;
                } else {
                        c->other++;
                }
        }
}

static unsigned calls_missing(const struct storm *st, const struct calls *c, unsigned published) {
        unsigned missing = 0;

        for (unsigned k = 1; k <= published && k <= st->n_alarms; k++)
                missing += c->count[k] == 0;
        return missing;
}

static void write_config(const struct opts *o, unsigned n_noise, unsigned n_alarms, const char *db, unsigned mport,
                         unsigned dport, char *path, size_t n) {
        FILE *f;

        snprintf(path, n, "%s/anju.conf", bench.dir);
        f = anjud_config_begin(path, db, mport, dport);
        for (unsigned i = 1; i <= n_noise; i++)
                fprintf(f, "\n[sensor m%05u]\nkind = motion\nroom = r%u\ntopic = bench/m%05u\n", i, i % 8, i);
        for (unsigned i = 1; i <= n_alarms; i++)
                fprintf(f, "\n[sensor s%05u]\nkind = smoke\nroom = s%u\ntopic = bench/smoke/s%05u\n", i, i % 8, i);
        (void) o;
        anjud_config_end(f, path);
}

static pid_t start_during(const char *tmpl, pid_t target) {
        char cmd[4096];
        size_t n = (size_t) snprintf(cmd, sizeof cmd, "exec ");

        for (const char *p = tmpl; *p && n < sizeof cmd - 16; p++) {
                if (p[0] == '%' && p[1] == 'p') {
                        n += (size_t) snprintf(cmd + n, sizeof cmd - n, "%d", (int) target);
                        p++;
                } else {
                        cmd[n++] = *p;
                }
        }
        cmd[n] = '\0';
        printf("during the burst: %s\n", cmd);
        return spawn((char *const[]) { "/bin/sh", "-c", cmd, NULL }, "/dev/stderr", NULL);
}

static void stop_during(pid_t *pid) {
        uint64_t deadline = now_ns() + 10 * NSEC_PER_SEC;

        if (*pid <= 0)
                return;
        /* strace and perf (exec'ed by the shell) write their summary on SIGINT. */
        kill(*pid, SIGINT);
        while (child_alive(pid) && now_ns() < deadline)
                sleep_ns(20 * NSEC_PER_MSEC, false);
        if (*pid > 0)
                stop_child(pid, "the --during command");
}

static const char *starve_name(const struct opts *o, char *buf, size_t n) {
        switch (o->starve) {
        case STARVE_PIN:
                snprintf(buf, n, "starved: anjud and mosquitto pinned to CPU %u with a busy loop of ours "
                         "(sched_setaffinity, as taskset -a -p %u), publishers and this program on the other CPUs",
                         o->hog_cpu, o->hog_cpu);
                break;
        case STARVE_QUOTA:
                snprintf(buf, n, "starved: anjud alone in a cgroup with cpu.cfs_quota_us %u000 / cfs_period_us 100000 "
                         "(%u %% of one CPU)", o->quota_pct, o->quota_pct);
                break;
        default:
                snprintf(buf, n, "idle: nothing of ours besides the run");
        }
        return buf;
}

static int run(const struct opts *o) {
        unsigned n_alarms = o->messages / o->alarm_every, n_noise = o->sensors - n_alarms, mport;
        char db[PATH_MAX + 16], conf[PATH_MAX + 16], fs[PATH_MAX + 64], what[256];
        struct broker_conf bc = { .path = o->mosquitto, .sys = true, .extra = o->broker_extra };
        struct publisher_thread pts[MAX_PUBLISHERS];
        struct hub_counts h0, h_burst, h1;
        struct cpu_sample a0, a1, b0, b1;
        struct status_watch watch;
        struct sys_watch sys;
        struct mosquitto *watcher, *sysm;
        struct server srv;
        struct notify nt;
        struct storm st;
        struct calls calls = { 0 };
        struct alarm_watch aw = { 0 };
        struct mosquitto *awm;
        uint64_t *hop, *own;
        size_t nh = 0;
        uint64_t t_exec, ready_at, t_end, last_change, deadline, lat_max = 0;
        unsigned long long thr_p0 = 0, thr_t0 = 0, thr_p1 = 0, thr_t1 = 0;
        unsigned long sent = 0, qos1 = 0, acked = 0, drop0, drop1;
        unsigned published = 0, once = 0, dup = 0, lost, failed_pubs = 0;
        long long busy_last;
        pid_t hog = 0, during = 0;
        uint64_t *lat;
        size_t nl = 0;
        int rc = 0;

        make_dirs(o->db_dir, db, sizeof db);
        describe_fs(o->db_dir ? bench.db_dir : bench.dir, fs, sizeof fs);
        printf("anju-bench-storm: %u messages (noise QoS %u, alarms QoS %u), a smoke alarm from a new detector every "
               "%u messages (%u alarms), %u publisher connections, window %u unacknowledged each, rate %s\n",
               o->messages, o->noise_qos, o->alarm_qos, o->alarm_every, n_alarms, o->publishers, o->window,
               o->rate ? "paced" : "as fast as they can");
        if (o->rate)
                printf("  offered rate: %u msg/s in all\n", o->rate);
        printf("home: %u sensors (%u motion sensors carry the noise, %u smoke detectors alarm once each)\n",
               o->sensors, n_noise, n_alarms);
        printf("broker: %s, Debian's defaults: max_queued_messages 1000, max_queued_bytes 0, max_inflight_messages "
               "20, max_inflight_bytes 0, set_tcp_nodelay false, persistence false, max_packet_size 0, "
               "upgrade_outgoing_qos false; the config only adds listener <port> 127.0.0.1, allow_anonymous true, "
               "log_dest stderr and sys_interval 1 (default 10: how often $SYS is published)\n", o->mosquitto);
        if (o->broker_extra)
                printf("broker: NOT its defaults: the config also says \"%s\"\n", o->broker_extra);
        printf("anjud: %s (MQTT v5, receive maximum 65535, two sessions); database on %s\n", o->anjud, fs);
        printf("bounds: %u messages or %u s of burst, whichever first; then %llu s for PUBACKs, up to %llu s for anjud "
               "to drain, %llu s per alarm for its call\n", o->messages, o->max_s,
               (unsigned long long) (ACK_DEADLINE / NSEC_PER_SEC), (unsigned long long) (DRAIN_MAX / NSEC_PER_SEC),
               (unsigned long long) (ALARM_DEADLINE / NSEC_PER_SEC));
        printf("CPU: %s\n", starve_name(o, what, sizeof what));
        print_load("at start");

        /* The bench itself, its threads and children (anjuctl) away from the starved CPU. */
        if (o->starve == STARVE_PIN) {
                cpu_set_t set;
                long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

                CPU_ZERO(&set);
                for (long c = 0; c < ncpu; c++)
                        if ((unsigned) c != o->hog_cpu)
                                CPU_SET((unsigned) c, &set);
                if (ncpu < 2 || sched_setaffinity(0, sizeof set, &set) < 0)
                        die("cannot keep the bench off CPU %u (%ld CPUs)", o->hog_cpu, ncpu);
        }

        block_signals(true);
        server_start(&srv);
        mport = broker_start(&bc);
        watcher = status_watch_start(&watch, mport);
        sysm = sys_watch_start(&sys, mport);
        aw.n = n_alarms;
        if (!(aw.at = calloc(n_alarms + 1, sizeof *aw.at)) || !(awm = mosquitto_new(NULL, true, &aw)))
                die("out of memory");
        mosquitto_connect_callback_set(awm, on_alarm_connect);
        mosquitto_subscribe_callback_set(awm, on_alarm_subscribe);
        mosquitto_message_callback_set(awm, on_alarm_message);
        if (mosquitto_connect(awm, "127.0.0.1", (int) mport, 600) != MOSQ_ERR_SUCCESS ||
            mosquitto_loop_start(awm) != MOSQ_ERR_SUCCESS)
                die("the alarm watcher cannot connect to the broker");
        block_signals(false);
        for (deadline = now_ns() + SETUP_DEADLINE; !atomic_load(&aw.subscribed);) {
                if (now_ns() > deadline || interrupted)
                        die("the alarm watcher got no SUBACK within 10 s");
                sleep_ns(5 * NSEC_PER_MSEC, true);
        }

        write_config(o, n_noise, n_alarms, db, mport, srv.port, conf, sizeof conf);
        notify_open(&nt);
        snprintf(bench.target_log, sizeof bench.target_log, "%s/anjud.log", bench.dir);
        t_exec = now_ns();
        bench.target = spawn((char *const[]) { (char *) o->anjud, "-c", conf, NULL }, bench.target_log,
                             (char *const[]) { nt.env, NULL });
        if (!notify_wait_ready(&nt, t_exec + SETUP_DEADLINE, &ready_at))
                die("anjud did not send READY=1 within 10 s");
        notify_close(&nt);
        if (!watch_wait(&watch, &watch.online, t_exec + SETUP_DEADLINE, &bench.target))
                die("anjud did not say \"online\" within 10 s");
        /* A fresh $SYS, so the dropped count has a base. */
        deadline = now_ns() + 3 * NSEC_PER_SEC;
        for (uint64_t since = now_ns();;) {
                pthread_mutex_lock(&sys.lock);
                bool fresh = sys.updated_at > since;
                pthread_mutex_unlock(&sys.lock);
                if (fresh || now_ns() > deadline)
                        break;
                sleep_ns(50 * NSEC_PER_MSEC, true);
        }
        drop0 = sys_dropped(&sys);
        hub_status(o, &h0);
        if (!h0.ok)
                die("anjuctl --json status gave no broker counts (%s)", o->anjuctl);

        if (o->starve == STARVE_PIN) {
                pin_process(bench.broker, o->hog_cpu);
                pin_process(bench.target, o->hog_cpu);
                hog = start_hog(o->hog_cpu);
        } else if (o->starve == STARVE_QUOTA) {
                start_quota(bench.target, o->quota_pct);
                cfs_throttled(&thr_p0, &thr_t0);
        }
        if (o->during)
                during = start_during(o->during, bench.target);
        sleep_ns(200 * NSEC_PER_MSEC, true);

        st = (struct storm) { .o = o, .port = mport, .total = o->messages, .n_alarms = n_alarms };
        st.noise_topics = calloc(n_noise, sizeof *st.noise_topics);
        st.alarm_t0 = calloc(n_alarms + 1, sizeof *st.alarm_t0);
        calls.count = calloc(n_alarms + 1, sizeof *calls.count);
        calls.first_at = calloc(n_alarms + 1, sizeof *calls.first_at);
        lat = calloc(n_alarms + 1, sizeof *lat);
        hop = calloc(n_alarms + 1, sizeof *hop);
        own = calloc(n_alarms + 1, sizeof *own);
        if (!st.noise_topics || !st.alarm_t0 || !calls.count || !calls.first_at || !lat || !hop || !own)
                die("out of memory");
        for (unsigned i = 0; i < n_noise; i++)
                snprintf(st.noise_topics[i], sizeof st.noise_topics[i], "bench/m%05u", i + 1);
        st.n_noise = n_noise;

        memset(pts, 0, sizeof pts);
        for (unsigned i = 0; i < o->publishers; i++) {
                char id[48];
                snprintf(id, sizeof id, "anju-storm-%d-%u", (int) getpid(), i);
                pts[i] = (struct publisher_thread) { .st = &st, .idx = i, .fd = connect_raw(mport, id) };
        }
        sample_cpu(bench.target, &a0);
        sample_cpu(bench.broker, &b0);
        st.start = now_ns();
        st.stop_at = st.start + (uint64_t) o->max_s * NSEC_PER_SEC;
        block_signals(true);
        for (unsigned i = 0; i < o->publishers; i++) {
                int r = pthread_create(&pts[i].thread, NULL, publisher_main, &pts[i]);
                if (r != 0)
                        die("cannot start a publisher thread: %s", strerror(r));
        }
        block_signals(false);

        /* While the publishers run: calls in, anjud's counts every 500 ms. */
        for (;;) {
                unsigned long claimed = atomic_load(&st.next);
                take_calls(&srv, &st, &calls);
                if (claimed >= st.total || now_ns() >= st.stop_at || interrupted)
                        break;
                sleep_ns(20 * NSEC_PER_MSEC, true);
        }
        for (unsigned i = 0; i < o->publishers; i++) {
                pthread_join(pts[i].thread, NULL);
                sent += pts[i].sent;
                qos1 += pts[i].qos1_sent;
                acked += pts[i].acked;
                published += (unsigned) pts[i].alarms;
                failed_pubs += pts[i].failed;
                close(pts[i].fd);
                free(pts[i].buf);
        }
        t_end = now_ns();
        hub_status(o, &h_burst);
        sample_cpu(bench.target, &a1);
        sample_cpu(bench.broker, &b1);
        if (o->starve == STARVE_QUOTA)
                cfs_throttled(&thr_p1, &thr_t1);

        /* anjud drains what the broker holds for it; bounded. */
        busy_last = h_burst.busy + h_burst.safety;
        last_change = t_end;
        deadline = t_end + DRAIN_MAX;
        for (;;) {
                uint64_t now = now_ns();
                take_calls(&srv, &st, &calls);
                if (now >= deadline || interrupted)
                        break;
                if (now - last_change >= DRAIN_QUIET && calls_missing(&st, &calls, published) == 0)
                        break;
                if (now - last_change >= DRAIN_QUIET + ALARM_DEADLINE)
                        break;          /* nothing moves and a call is missing: it is lost */
                sleep_ns(STATUS_EVERY, true);
                hub_status(o, &h1);
                if (h1.ok && h1.busy + h1.safety != busy_last) {
                        busy_last = h1.busy + h1.safety;
                        last_change = now_ns();
                }
        }
        take_calls(&srv, &st, &calls);
        if (hog > 0) {
                kill(hog, SIGKILL);
                waitpid(hog, NULL, 0);
        }
        stop_during(&during);
        stop_quota();
        /* $SYS every second: wait for one newer than the drain. */
        sleep_ns(1500 * NSEC_PER_MSEC, true);
        drop1 = sys_dropped(&sys);
        hub_status(o, &h1);

        for (unsigned k = 1; k <= n_alarms; k++) {
                if (calls.count[k] == 1)
                        once++;
                else if (calls.count[k] > 1)
                        dup++;
                if (calls.count[k] && aw.at[k] && st.alarm_t0[k] && aw.at[k] >= st.alarm_t0[k] &&
                    calls.first_at[k] >= aw.at[k]) {
                        hop[nh] = aw.at[k] - st.alarm_t0[k];
                        own[nh++] = calls.first_at[k] - aw.at[k];
                }
                if (calls.count[k] && st.alarm_t0[k]) {
                        lat[nl] = calls.first_at[k] - st.alarm_t0[k];
                        if (lat[nl] > lat_max)
                                lat_max = lat[nl];
                        nl++;
                }
        }
        lost = calls_missing(&st, &calls, published);
        qsort(lat, nl, sizeof *lat, cmp_u64);
        qsort(hop, nh, sizeof *hop, cmp_u64);
        qsort(own, nh, sizeof *own, cmp_u64);

        {
                double burst_s = (double) (t_end - st.start) / 1e9;
                double drain_s = (double) (last_change - st.start) / 1e9;
                long long busy_burst = h_burst.busy - h0.busy, busy_all = h1.busy - h0.busy;
                double a_cpu = (double) (a1.oncpu_ns - a0.oncpu_ns) / 1e9, b_cpu = (double) (b1.oncpu_ns - b0.oncpu_ns) / 1e9;

                printf("burst: %lu messages published in %.2f s = %.0f msg/s offered (%lu at QoS 1, %lu acknowledged "
                       "by the broker)%s\n", sent, burst_s, (double) sent / burst_s, qos1, acked,
                       failed_pubs ? "; a publisher lost its connection" : "");
                printf("alarms: %u published, %u called exactly once, %u called more than once, %u never called "
                       "(%u calls for nothing of ours)\n", published, once, dup, lost, calls.other);
                if (nl)
                        printf("alarm latency (publish batch written -> call read), during the storm: p50 %.1f  p90 %.1f  "
                               "p99 %.1f  max %.1f ms\n", (double) percentile(lat, nl, 50) / 1e6,
                               (double) percentile(lat, nl, 90) / 1e6, (double) percentile(lat, nl, 99) / 1e6,
                               (double) lat_max / 1e6);
                if (nh)
                        printf("  of which: publisher -> broker forwards it (the queue in front of the broker) p50 %.1f  "
                               "p99 %.1f ms; broker forwards it -> call read (anjud's part, %zu alarms) p50 %.2f  p90 %.2f  "
                               "p99 %.2f  max %.2f ms\n", (double) percentile(hop, nh, 50) / 1e6,
                               (double) percentile(hop, nh, 99) / 1e6, nh, (double) percentile(own, nh, 50) / 1e6,
                               (double) percentile(own, nh, 90) / 1e6, (double) percentile(own, nh, 99) / 1e6,
                               (double) own[nh - 1] / 1e6);
                printf("broker dropped ($SYS/broker/publish/messages/dropped): %lu during the run\n", drop1 - drop0);
                printf("anjud received (anjuctl --json status): safety session %lld, busy session %lld (of %lu noise "
                       "published); anjud's own dropped count: %lld\n", h1.safety - h0.safety, busy_all,
                       sent - published, h1.dropped);
                printf("anjud's read rate on the busy session: %.0f msg/s during the burst (%lld in %.2f s); %.0f msg/s "
                       "until the last message (%lld in %.2f s)\n", (double) busy_burst / burst_s, busy_burst, burst_s,
                       drain_s > 0 ? (double) busy_all / drain_s : 0, busy_all, drain_s);
                printf("CPU during the burst (%.2f s): anjud %.0f %% of one core (%.2f us per message received), "
                       "mosquitto %.0f %%\n", burst_s, 100 * a_cpu / burst_s,
                       busy_burst > 0 ? a_cpu * 1e6 / (double) (busy_burst + (h_burst.safety - h0.safety)) : 0,
                       100 * b_cpu / burst_s);
                if (o->starve == STARVE_QUOTA)
                        printf("cgroup: %llu of %llu periods throttled during the burst\n", thr_t1 - thr_t0,
                               thr_p1 - thr_p0);
                printf("result: %s\n", lost == 0 && dup == 0 ? "every alarm called exactly once" :
                       "ALARMS LOST OR REPEATED");
        }
        print_load("at end");
        if (lost || dup)
                rc = 1;
        if (!child_alive(&bench.target))
                die("anjud died during the run");
        client_free(awm, true);
        client_free(sysm, true);
        client_free(watcher, true);
        server_stop(&srv);
        free(aw.at);
        free(hop);
        free(own);
        free(st.noise_topics);
        free(st.alarm_t0);
        free(calls.count);
        free(calls.first_at);
        free(lat);
        return rc;
}

/* --- main --- */

static void usage(FILE *f) {
        fprintf(f,
                "Usage: anju-bench-storm [OPTIONS]\n"
                "A message storm through mosquitto (its default limits) into anjud, with a smoke alarm\n"
                "from a new detector every N messages: is every alarm called exactly once?\n\n"
                "  --messages N      messages in the burst (default 200000)\n"
                "  --max-seconds S   the burst stops after S s even if not all were sent (default 30)\n"
                "  --rate N          msg/s in all, 0 = as fast as the publishers can (default 0)\n"
                "  --publishers P    publisher connections, one thread each (default 4)\n"
                "  --window W        unacknowledged QoS 1 messages per connection (default 1000)\n"
                "  --qos 0|1         QoS of the noise (default 1); alarms: --alarm-qos (default 1)\n"
                "  --alarm-every N   a smoke alarm every N messages (default 1000)\n"
                "  --sensors N       sensors in the home, smoke detectors included (default 1000)\n"
                "  --starve pin|quota|none  pin anjud and the broker to --cpu with a busy loop of\n"
                "                    ours, or put anjud alone in a cgroup with --quota %% of a CPU\n"
                "  --cpu N           the CPU for --starve pin (default 0)\n"
                "  --quota PCT       for --starve quota (default 30)\n"
                "  --during CMD      run CMD (sh -c; %%p is anjud's pid) during the burst, SIGINT after\n"
                "                    it, e.g. 'strace -c -f -o /tmp/s.txt -p %%p'\n"
                "  --db-dir DIR      database in a new directory under DIR (default: under /tmp)\n"
                "  --broker-conf L   add line L to mosquitto.conf (a diagnosis: the broker is then\n"
                "                    no longer as Debian ships it, and the output says so)\n"
                "  --anjud PATH, --anjuctl PATH (default: beside anjud), --mosquitto PATH\n"
                "Exit status: 0 every alarm called once, 1 an alarm lost or repeated, 2 setup failed.\n");
}

static void parse_args(int argc, char **argv, struct opts *o) {
        enum { O_MSGS = 0x100, O_MAXS, O_RATE, O_PUBS, O_WINDOW, O_QOS, O_AQOS, O_EVERY, O_SENSORS, O_STARVE,
               O_CPU, O_QUOTA, O_DURING, O_DB_DIR, O_ANJUD, O_ANJUCTL, O_MOSQ, O_BROKER_CONF };
        static const struct option lo[] = {
                { "messages", required_argument, NULL, O_MSGS },
                { "max-seconds", required_argument, NULL, O_MAXS },
                { "rate", required_argument, NULL, O_RATE },
                { "publishers", required_argument, NULL, O_PUBS },
                { "window", required_argument, NULL, O_WINDOW },
                { "qos", required_argument, NULL, O_QOS },
                { "alarm-qos", required_argument, NULL, O_AQOS },
                { "alarm-every", required_argument, NULL, O_EVERY },
                { "sensors", required_argument, NULL, O_SENSORS },
                { "starve", required_argument, NULL, O_STARVE },
                { "cpu", required_argument, NULL, O_CPU },
                { "quota", required_argument, NULL, O_QUOTA },
                { "during", required_argument, NULL, O_DURING },
                { "db-dir", required_argument, NULL, O_DB_DIR },
                { "anjud", required_argument, NULL, O_ANJUD },
                { "anjuctl", required_argument, NULL, O_ANJUCTL },
                { "mosquitto", required_argument, NULL, O_MOSQ },
                { "broker-conf", required_argument, NULL, O_BROKER_CONF },
                { "help", no_argument, NULL, 'h' },
                { NULL, 0, NULL, 0 },
        };
        static char ctl[PATH_MAX + 16];
        int c;

        *o = (struct opts) { .messages = 200000, .max_s = 30, .publishers = 4, .window = 1000, .noise_qos = 1,
                             .alarm_qos = 1, .alarm_every = 1000, .sensors = 1000, .quota_pct = 30 };
        while ((c = getopt_long(argc, argv, "h", lo, NULL)) >= 0)
                switch (c) {
                case O_MSGS: o->messages = parse_count(optarg, "--messages", 1000, 100000000); break;
                case O_MAXS: o->max_s = parse_count(optarg, "--max-seconds", 1, 600); break;
                case O_RATE: o->rate = parse_count(optarg, "--rate", 0, 10000000); break;
                case O_PUBS: o->publishers = parse_count(optarg, "--publishers", 1, MAX_PUBLISHERS); break;
                case O_WINDOW: o->window = parse_count(optarg, "--window", CLAIM, 60000); break;
                case O_QOS: o->noise_qos = parse_count(optarg, "--qos", 0, 1); break;
                case O_AQOS: o->alarm_qos = parse_count(optarg, "--alarm-qos", 0, 1); break;
                case O_EVERY: o->alarm_every = parse_count(optarg, "--alarm-every", CLAIM, 1000000); break;
                case O_SENSORS: o->sensors = parse_count(optarg, "--sensors", 2, 99999); break;
                case O_STARVE:
                        if (strcmp(optarg, "pin") == 0)
                                o->starve = STARVE_PIN;
                        else if (strcmp(optarg, "quota") == 0)
                                o->starve = STARVE_QUOTA;
                        else if (strcmp(optarg, "none") == 0)
                                o->starve = STARVE_NONE;
                        else {
                                fprintf(stderr, "anju-bench-storm: --starve is pin, quota or none\n");
                                exit(2);
                        }
                        break;
                case O_CPU: o->hog_cpu = parse_count(optarg, "--cpu", 0, 1023); break;
                case O_QUOTA: o->quota_pct = parse_count(optarg, "--quota", 1, 100); break;
                case O_DURING: o->during = optarg; break;
                case O_DB_DIR: o->db_dir = optarg; break;
                case O_ANJUD: o->anjud = optarg; break;
                case O_ANJUCTL: o->anjuctl = optarg; break;
                case O_MOSQ: o->mosquitto = optarg; break;
                case O_BROKER_CONF: o->broker_extra = optarg; break;
                case 'h': usage(stdout); exit(0);
                default: usage(stderr); exit(2);
                }
        if (optind < argc) {
                fprintf(stderr, "anju-bench-storm: unexpected argument \"%s\"\n", argv[optind]);
                exit(2);
        }
        if (!o->anjud)
                o->anjud = default_anjud();
        if (!o->mosquitto)
                o->mosquitto = default_mosquitto();
        if (!o->anjuctl) {
                const char *slash = strrchr(o->anjud, '/');
                snprintf(ctl, sizeof ctl, "%.*sanjuctl", slash ? (int) (slash - o->anjud + 1) : 0, o->anjud);
                o->anjuctl = ctl;
        }
        if (access(o->anjud, X_OK) != 0 || access(o->anjuctl, X_OK) != 0) {
                fprintf(stderr, "anju-bench-storm: anjud or anjuctl not found (%s, %s)\n", o->anjud, o->anjuctl);
                exit(2);
        }
        if (o->messages / o->alarm_every >= o->sensors)
                die("%u alarms need as many smoke detectors: more than --sensors %u", o->messages / o->alarm_every,
                    o->sensors);
}

int main(int argc, char **argv) {
        struct opts o;
        int rc;

        bench_name = "anju-bench-storm";
        parse_args(argc, argv, &o);
        setup_signals();
        setvbuf(stdout, NULL, _IOLBF, 0);
        mosquitto_lib_init();
        atexit(stop_quota);             /* die() exits: anjud's cgroup goes too */
        rc = run(&o);
        stop_quota();
        mosquitto_lib_cleanup();
        cleanup();
        return interrupted ? 2 : rc;
}
