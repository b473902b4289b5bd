/* The parts the benchmarks share: their own mosquitto, an HTTP/1.1
 * dispatch center in a thread, anjud (or Node-RED) as a child with a
 * private notify socket, MQTT clients, /proc sampling and percentiles.
 * Everything runs on 127.0.0.1; only the bench's own children are ever
 * signalled, by pid. */
#pragma once

#include <limits.h>
#include <mosquitto.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <time.h>

#define NSEC_PER_USEC 1000ULL
#define NSEC_PER_MSEC 1000000ULL
#define NSEC_PER_SEC 1000000000ULL
#define ALARM_DEADLINE (5 * NSEC_PER_SEC)       /* no call by then: the alarm is lost */
#define SETUP_DEADLINE (10 * NSEC_PER_SEC)
#define MAX_CONNS 32
#define REQUEST_MAX (1 << 20)
#define HUB_ID "bench"
#define STATUS_TOPIC "anju/" HUB_ID "/status"

/* docs/DESIGN.md §11 budgets. */
#define TARGET_P99_USEC 1000
#define TARGET_INGEST_PER_SEC 100000
#define TARGET_RSS_KB 4096
#define TARGET_WAKEUPS_PER_SEC 1.0
#define TARGET_READY_MSEC 50
/* Node-RED on "this kind of machine", as docs/DESIGN.md §11 quotes it. */
#define DESIGN_NODERED_P50_USEC 1500
#define DESIGN_NODERED_P99_USEC 5000
#define DESIGN_NODERED_RSS_KB (94 * 1024)
#define DESIGN_NODERED_START_MSEC 2800

/* --- time, signals --- */

uint64_t now_ns(void);
void sleep_ns(uint64_t ns, bool interruptible);
void deadline_to_timespec(uint64_t deadline, struct timespec *ts);
void init_mono_cond(pthread_cond_t *c);

extern volatile sig_atomic_t interrupted;
extern const char *bench_name;          /* for messages: "anju-bench-latency" */
void setup_signals(void);
void block_signals(bool block);

/* --- children, temp dirs, clean-up --- */

/* Everything to undo on the way out; only our own children, by pid. */
struct bench_state {
        pid_t broker, target;           /* target: anjud or Node-RED */
        const char *target_name;
        char dir[PATH_MAX];             /* our temp dir: configs, logs, default database */
        char db_dir[PATH_MAX];          /* where the database is, if elsewhere */
        char broker_log[PATH_MAX + 32], target_log[PATH_MAX + 32];
};
extern struct bench_state bench;

void __attribute__((noreturn, format(printf, 1, 2))) die(const char *fmt, ...);
int stop_child(pid_t *pid, const char *name);
bool child_alive(pid_t *pid);
/* Forks and execs argv (PATH searched) with stdout and stderr appended to
 * log, the environment plus env (NULL-terminated "K=V", may be NULL) and
 * without NOTIFY_SOCKET unless env sets it; the child dies with us. */
pid_t spawn(char *const argv[], const char *log, char *const env[]);
void cleanup(void);
/* Creates bench.dir under /tmp and, with db_parent, bench.db_dir under
 * it; db gets the database path. */
void make_dirs(const char *db_parent, char *db, size_t n);

/* --- the dispatch center: HTTP/1.1, keep-alive, answers 201 with a case id --- */

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

void server_start(struct server *s);
void server_stop(struct server *s);
/* Takes requests until one is for sensor, or the deadline passes. */
bool server_wait_for(struct server *s, const char *sensor, uint64_t deadline, struct request *ret);
/* Takes the next request, waiting until the deadline at most. */
bool server_take(struct server *s, uint64_t deadline, struct request *ret);

/* --- the broker --- */

struct broker_conf {
        const char *path;               /* mosquitto binary */
        bool nodelay;                   /* set_tcp_nodelay true */
        unsigned max_queued;            /* max_queued_messages; 0: mosquitto's default (1000) */
        bool sys;                       /* $SYS every second */
        const char *extra;              /* more lines for mosquitto.conf, or NULL */
};

const char *default_mosquitto(void);
unsigned broker_start(const struct broker_conf *c);

/* --- MQTT clients of the bench --- */

struct status_watch {
        pthread_mutex_t lock;
        pthread_cond_t cond;
        bool subscribed, online;
        uint64_t online_at;
};

/* Watches STATUS_TOPIC for a live (not retained) "online". */
struct mosquitto *status_watch_start(struct status_watch *w, unsigned port);
void status_watch_reset(struct status_watch *w);
/* Waits (in slices, so a dead child is noticed) until flag is set. */
bool watch_wait(struct status_watch *w, const bool *flag, uint64_t deadline, pid_t *child);
void client_free(struct mosquitto *m, bool threaded);

struct publisher {
        struct mosquitto *mosq;
        bool connected;
        unsigned long sent, done;       /* done: QoS 0 written or QoS 1 acked */
};

/* No loop thread: mosquitto_publish() writes at once, in this thread. */
void publisher_start(struct publisher *p, unsigned port);
void publish(struct publisher *p, const char *topic, const char *payload, int qos);
/* Reads PUBACKs until everything sent is acknowledged. */
void publisher_drain(struct publisher *p);
/* Reads what the broker sent, without waiting. */
void publisher_poll(struct publisher *p);

/* --- the broker's $SYS counters --- */

struct sys_watch {
        pthread_mutex_t lock;
        unsigned long dropped, received, sent;
        uint64_t updated_at;
};

/* Subscribes $SYS/broker/publish/messages/+ (published every sys_interval). */
struct mosquitto *sys_watch_start(struct sys_watch *w, unsigned port);
/* $SYS/broker/publish/messages/dropped as last published: all time, all clients. */
unsigned long sys_dropped(struct sys_watch *w);

/* --- the notify socket: READY=1 from sd_notify(3) --- */

struct notify {
        int fd;
        char path[PATH_MAX + 16];
        char env[PATH_MAX + 32];        /* "NOTIFY_SOCKET=..." */
};

void notify_open(struct notify *n);
void notify_close(struct notify *n);
/* Reads datagrams until one says READY=1 (true, *at = its arrival) or the
 * deadline passes. */
bool notify_wait_ready(struct notify *n, uint64_t deadline, uint64_t *at);

/* --- anjud --- */

const char *default_anjud(void);
/* Writes [hub] ... [dispatch] of a bench configuration to path and returns
 * the file for the caller's [sensor] sections; anjud_config_end closes it. */
FILE *anjud_config_begin(const char *path, const char *db, unsigned mport, unsigned dport);
void anjud_config_end(FILE *f, const char *path);

/* --- /proc --- */

long proc_kb(pid_t pid, const char *file, const char *key);
long proc_status_kb(pid_t pid, const char *key);

struct cpu_sample {
        unsigned long long ticks;       /* utime + stime of the process */
        unsigned long long oncpu_ns;    /* schedstat run time, all threads */
        long long vcsw, ivcsw;          /* context switches, all threads */
        int threads;
};

void sample_cpu(pid_t pid, struct cpu_sample *s);

struct idle_figures {
        long rss_start_kb;              /* VmRSS when the window opened */
        long rss_kb, anon_kb, file_kb, pss_kb, hwm_kb;  /* when it closed */
        double cpu_s, oncpu_ms, wakeups_per_s;
        long long vcsw, ivcsw;
        int threads;
        bool zero_cpu;
};

/* Waits settle_s, then samples CPU and context switches over window_s;
 * the RSS is read at both ends (a garbage-collected runtime shrinks while
 * idle: the figure is the one at the end). */
void measure_idle(pid_t pid, unsigned settle_s, unsigned window_s, struct idle_figures *f);
void print_idle(const char *who, unsigned window_s, const struct idle_figures *f, bool targets);
/* Where the resident set is: the largest mappings by Rss (smaps). */
void print_rss_top(pid_t pid, const char *who, int top);

/* --- figures --- */

int cmp_u64(const void *a, const void *b);
/* Nearest-rank percentile of a sorted array. */
uint64_t percentile(const uint64_t *v, size_t n, double p);
const char *verdict(bool met);
void describe_fs(const char *path, char *buf, size_t n);
void probe_fdatasync(const char *dir);
void print_load(const char *when);
unsigned parse_count(const char *s, const char *what, unsigned min, unsigned max);
