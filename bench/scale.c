/* anju-bench-scale: the same daemon with 10, 100, 1,000 and 10,000
 * configured sensors, to show that the cost per event stays flat (docs/DESIGN.md
 * §11). For each count, a fresh anjud: start-up (exec -> READY=1, ->
 * subscribed and "online"), a paced stream of messages spread over all the
 * sensors (on-CPU time per message, everything persisted), alarms one at a
 * time from distinct smoke sensors (latency), then idle RSS, CPU and
 * wake-ups. Through a private mosquitto on 127.0.0.1, as in a home. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "flood.h"
#include "harness.h"

#include <errno.h>
#include <getopt.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_COUNTS 16
#define ROWS_PER_MESSAGE 2              /* occupancy or smoke, + battery */
#define IDLE_SETTLE_SEC 5
#define FLAT_MAX_RATIO 1.5              /* "flat": the largest count costs < 1.5x the smallest */

struct opts {
        const char *anjud, *mosquitto, *db_dir;
        unsigned counts[MAX_COUNTS], n_counts, messages, rate, alarms, idle_s;
        bool broker_nodelay;
};

struct row {
        unsigned sensors;
        double ready_ms, online_ms, cpu_per_msg_us, offered;
        unsigned long rows, expected_rows;
        unsigned alarms, lost;
        uint64_t lat_p50, lat_max;      /* us */
        struct idle_figures idle;
};

struct gen {
        unsigned n;                     /* sensors: odd ones smoke, even ones motion */
        char (*topics)[24];
        char payload[96];
};

static void scale_next(void *ud, unsigned long i, const char **topic, const char **payload, int *len) {
        struct gen *g = ud;
        unsigned k = (unsigned) (i % g->n);
        bool on = (i / g->n) & 1;

        *topic = g->topics[k];
        if (k % 2 == 0)
                snprintf(g->payload, sizeof g->payload,
                         "{\"battery\":%u,\"linkquality\":120,\"smoke\":false,\"voltage\":3000}", 60 + k % 40);
        else
                snprintf(g->payload, sizeof g->payload,
                         "{\"battery\":95,\"illuminance\":12,\"linkquality\":120,\"occupancy\":%s}",
                         on ? "true" : "false");
        *payload = g->payload;
        *len = (int) strlen(g->payload);
}

/* Sensor k (0-based): even k smoke "s<k+1>", odd k motion "m<k+1>". */
static void sensor_id(unsigned k, char *buf, size_t n) {
        snprintf(buf, n, "%c%05u", k % 2 == 0 ? 's' : 'm', k + 1);
}

static void write_config(const char *path, const char *db, unsigned mport, unsigned dport, unsigned n) {
        FILE *f = anjud_config_begin(path, db, mport, dport);
        char id[16];

        for (unsigned k = 0; k < n; k++) {
                sensor_id(k, id, sizeof id);
                fprintf(f, "\n[sensor %s]\nkind = %s\nroom = r%u\ntopic = bench/%s\n", id,
                        k % 2 == 0 ? "smoke" : "motion", k % 8, id);
        }
        anjud_config_end(f, path);
}

static long long db_rows(sqlite3_stmt *q) {
        long long n = -1;

        if (sqlite3_step(q) == SQLITE_ROW)
                n = sqlite3_column_int64(q, 0);
        sqlite3_reset(q);
        return n;
}

static void run_count(const struct opts *o, unsigned n, unsigned mport, struct server *srv,
                      struct status_watch *watch, struct row *row) {
        char db[PATH_MAX + 32], conf[PATH_MAX + 16], id[16], topic[32];
        struct cpu_sample c0, c1;
        struct flood_result fr;
        struct publisher pub;
        struct notify nt;
        struct flood fl;
        struct gen g = { .n = n };
        sqlite3 *sdb = NULL;
        sqlite3_stmt *q = NULL;
        uint64_t t_exec, ready_at, deadline, *lat;
        unsigned smoke = (n + 1) / 2, n_alarms = o->alarms < smoke ? o->alarms : smoke;
        long long rows = 0;
        size_t nl = 0;

        memset(row, 0, sizeof *row);
        row->sensors = n;
        snprintf(db, sizeof db, "%s/scale-%u.db", bench.db_dir[0] ? bench.db_dir : bench.dir, n);
        snprintf(conf, sizeof conf, "%s/anju.conf", bench.dir);
        write_config(conf, db, mport, srv->port, n);
        g.topics = calloc(n, sizeof *g.topics);
        lat = calloc(n_alarms + 1, sizeof *lat);
        if (!g.topics || !lat)
                die("out of memory");
        for (unsigned k = 0; k < n; k++) {
                sensor_id(k, id, sizeof id);
                snprintf(g.topics[k], sizeof g.topics[k], "bench/%s", id);
        }

        notify_open(&nt);
        status_watch_reset(watch);
        snprintf(bench.target_log, sizeof bench.target_log, "%s/anjud.log", bench.dir);
        t_exec = now_ns();
        bench.target = spawn((char *const[]) { (char *) o->anjud, "-c", conf, NULL }, bench.target_log,
                             (char *const[]) { nt.env, NULL });
        if (!notify_wait_ready(&nt, t_exec + 3 * SETUP_DEADLINE, &ready_at))
                die("anjud with %u sensors did not send READY=1 within 30 s", n);
        notify_close(&nt);
        row->ready_ms = (double) (ready_at - t_exec) / 1e6;
        if (!watch_wait(watch, &watch->online, t_exec + 3 * SETUP_DEADLINE, &bench.target))
                die("anjud with %u sensors did not say \"online\" within 30 s", n);
        row->online_ms = (double) (watch->online_at - t_exec) / 1e6;
        if (sqlite3_open_v2(db, &sdb, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
            sqlite3_prepare_v2(sdb, "SELECT ifnull(max(rowid), 0) FROM sensor_log", -1, &q, NULL) != SQLITE_OK)
                die("cannot read %s: %s", db, sdb ? sqlite3_errmsg(sdb) : "out of memory");
        sqlite3_busy_timeout(sdb, 1000);

        /* The stream: on-CPU time per message, once everything is stored. */
        flood_connect(&fl, "127.0.0.1", mport);
        sample_cpu(bench.target, &c0);
        flood_run(&fl, o->rate, (uint64_t) ((double) o->messages / o->rate * 1e9) + 1, scale_next, &g, NULL, NULL,
                  NULL, &fr);
        flood_disconnect(&fl);
        row->offered = fr.rate;
        row->expected_rows = fr.sent * ROWS_PER_MESSAGE;
        deadline = now_ns() + 10 * NSEC_PER_SEC;
        while ((unsigned long) (rows = db_rows(q)) < row->expected_rows && now_ns() < deadline && !interrupted)
                sleep_ns(20 * NSEC_PER_MSEC, true);
        sample_cpu(bench.target, &c1);
        row->rows = rows > 0 ? (unsigned long) rows : 0;
        row->cpu_per_msg_us = fr.sent ? (double) (c1.oncpu_ns - c0.oncpu_ns) / 1e3 / (double) fr.sent : 0;

        /* Alarms one at a time from distinct smoke sensors. */
        publisher_start(&pub, mport);
        for (unsigned a = 0; a < n_alarms && !interrupted; a++) {
                struct request rq;
                uint64_t t0;

                sensor_id(2 * a, id, sizeof id);
                snprintf(topic, sizeof topic, "bench/%s", id);
                t0 = now_ns();
                publish(&pub, topic, "{\"battery\":90,\"smoke\":true}", 1);
                if (server_wait_for(srv, id, t0 + ALARM_DEADLINE, &rq))
                        lat[nl++] = rq.at - t0;
                else
                        fprintf(stderr, "anju-bench-scale: %u sensors: alarm from %s: no call within 5 s: LOST\n",
                                n, id);
                publisher_drain(&pub);
        }
        client_free(pub.mosq, false);
        row->alarms = n_alarms;
        row->lost = n_alarms - (unsigned) nl;
        qsort(lat, nl, sizeof *lat, cmp_u64);
        row->lat_p50 = percentile(lat, nl, 50) / NSEC_PER_USEC;
        row->lat_max = nl ? lat[nl - 1] / NSEC_PER_USEC : 0;
        sqlite3_finalize(q);
        sqlite3_close(sdb);

        if (!child_alive(&bench.target))
                die("anjud with %u sensors died during the run", n);
        if (o->idle_s)
                measure_idle(bench.target, IDLE_SETTLE_SEC, o->idle_s, &row->idle);
        {
                int status = stop_child(&bench.target, "anjud");
                if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                        fprintf(stderr, "anju-bench-scale: anjud did not stop cleanly (status 0x%x)\n",
                                (unsigned) status);
        }
        {
                char p[PATH_MAX * 2];

                unlink(db);
                snprintf(p, sizeof p, "%s-wal", db);
                unlink(p);
                snprintf(p, sizeof p, "%s-shm", db);
                unlink(p);
        }
        free(g.topics);
        free(lat);
}

static void print_row(const struct opts *o, const struct row *r) {
        printf("  %7u %8.1f %8.1f %9.0f %8.2f %11lu %6u/%-4u %7llu/%-7llu", r->sensors, r->ready_ms, r->online_ms,
               r->offered, r->cpu_per_msg_us, r->rows, r->alarms - r->lost, r->alarms,
               (unsigned long long) r->lat_p50, (unsigned long long) r->lat_max);
        if (o->idle_s)
                printf(" %8ld %8.3f %7.2f", r->idle.rss_kb, r->idle.oncpu_ms, r->idle.wakeups_per_s);
        printf("\n");
        if (r->rows < r->expected_rows)
                printf("  %7s rows persisted %lu of %lu expected\n", "", r->rows, r->expected_rows);
}

static void usage(FILE *f) {
        fprintf(f,
                "Usage: anju-bench-scale [OPTIONS]\n"
                "Runs anjud with more and more configured sensors and prints the cost per event.\n\n"
                "  --sensors LIST    sensor counts, comma-separated (default 10,100,1000,10000)\n"
                "  --messages N      messages spread over all sensors, per count (default 50000)\n"
                "  --rate N          their rate, msg/s (default 20000)\n"
                "  --alarms N        alarms one at a time, at most one per smoke sensor (default 100)\n"
                "  --idle S          idle window per count after 5 s to settle; 0: none (default 30)\n"
                "  --db-dir DIR      databases in a new directory under DIR (default: under /tmp)\n"
                "  --broker-nodelay  set_tcp_nodelay true in the broker\n"
                "  --anjud PATH, --mosquitto PATH\n");
}

static void parse_args(int argc, char **argv, struct opts *o) {
        enum { O_SENSORS = 0x100, O_MESSAGES, O_RATE, O_ALARMS, O_IDLE, O_DB_DIR, O_NODELAY, O_ANJUD, O_MOSQ };
        static const struct option lo[] = {
                { "sensors", required_argument, NULL, O_SENSORS },
                { "messages", required_argument, NULL, O_MESSAGES },
                { "rate", required_argument, NULL, O_RATE },
                { "alarms", required_argument, NULL, O_ALARMS },
                { "idle", required_argument, NULL, O_IDLE },
                { "db-dir", required_argument, NULL, O_DB_DIR },
                { "broker-nodelay", no_argument, NULL, O_NODELAY },
                { "anjud", required_argument, NULL, O_ANJUD },
                { "mosquitto", required_argument, NULL, O_MOSQ },
                { "help", no_argument, NULL, 'h' },
                { NULL, 0, NULL, 0 },
        };
        const char *list = "10,100,1000,10000";
        int c;

        *o = (struct opts) { .messages = 50000, .rate = 20000, .alarms = 100, .idle_s = 30 };
        while ((c = getopt_long(argc, argv, "h", lo, NULL)) >= 0)
                switch (c) {
                case O_SENSORS: list = optarg; break;
                case O_MESSAGES: o->messages = parse_count(optarg, "--messages", 1, 100000000); break;
                case O_RATE: o->rate = parse_count(optarg, "--rate", 1, 10000000); break;
                case O_ALARMS: o->alarms = parse_count(optarg, "--alarms", 0, 100000); break;
                case O_IDLE: o->idle_s = parse_count(optarg, "--idle", 0, 3600); break;
                case O_DB_DIR: o->db_dir = optarg; break;
                case O_NODELAY: o->broker_nodelay = true; break;
                case O_ANJUD: o->anjud = optarg; break;
                case O_MOSQ: o->mosquitto = optarg; break;
                case 'h': usage(stdout); exit(0);
                default: usage(stderr); exit(2);
                }
        if (optind < argc) {
                fprintf(stderr, "anju-bench-scale: unexpected argument \"%s\"\n", argv[optind]);
                exit(2);
        }
        {
                char *copy = strdup(list), *save = NULL;
                for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                        if (o->n_counts == MAX_COUNTS) {
                                fprintf(stderr, "anju-bench-scale: at most %d counts\n", MAX_COUNTS);
                                exit(2);
                        }
                        o->counts[o->n_counts++] = parse_count(t, "--sensors", 2, 99999);
                }
                free(copy);
        }
        if (o->n_counts == 0) {
                fprintf(stderr, "anju-bench-scale: --sensors is empty\n");
                exit(2);
        }
        if (!o->anjud)
                o->anjud = default_anjud();
        if (!o->mosquitto)
                o->mosquitto = default_mosquitto();
        if (access(o->anjud, X_OK) != 0) {
                fprintf(stderr, "anju-bench-scale: anjud not found at %s (use --anjud or ANJUD=)\n", o->anjud);
                exit(2);
        }
}

int main(int argc, char **argv) {
        struct opts o;
        struct server srv;
        struct status_watch watch;
        struct mosquitto *watcher;
        struct broker_conf bc;
        struct row rows[MAX_COUNTS];
        char fs[PATH_MAX + 64];
        unsigned mport, lo = 0, hi = 0, lost = 0;
        double ready_max = 0;

        bench_name = "anju-bench-scale";
        parse_args(argc, argv, &o);
        setup_signals();
        setvbuf(stdout, NULL, _IOLBF, 0);
        make_dirs(o.db_dir, NULL, 0);
        describe_fs(o.db_dir ? bench.db_dir : bench.dir, fs, sizeof fs);
        mosquitto_lib_init();
        bc = (struct broker_conf) { .path = o.mosquitto, .nodelay = o.broker_nodelay, .max_queued = 100000 };
        block_signals(true);
        server_start(&srv);
        mport = broker_start(&bc);
        watcher = status_watch_start(&watch, mport);
        block_signals(false);

        printf("anju-bench-scale: per sensor count, a fresh anjud; %u messages at %u msg/s spread over all "
               "sensors (half smoke, half motion), %u alarms one at a time, %u s idle\n", o.messages, o.rate,
               o.alarms, o.idle_s);
        printf("broker %s set_tcp_nodelay %s; databases on %s\n", o.mosquitto, o.broker_nodelay ? "true" : "false", fs);
        print_load("at start");
        printf("  %7s %8s %8s %9s %8s %11s %11s %15s", "sensors", "READY", "online", "offered", "CPU/msg",
               "rows", "alarms", "alarm p50/max");
        if (o.idle_s)
                printf(" %8s %8s %7s", "idle RSS", "idle CPU", "wake-up");
        printf("\n  %7s %8s %8s %9s %8s %11s %11s %15s", "", "ms", "ms", "msg/s", "us", "persisted", "answered",
               "us");
        if (o.idle_s)
                printf(" %8s %8s %7s", "kB", "ms", "/s");
        printf("\n");
        for (unsigned i = 0; i < o.n_counts && !interrupted; i++) {
                run_count(&o, o.counts[i], mport, &srv, &watch, &rows[i]);
                print_row(&o, &rows[i]);
                if (rows[i].cpu_per_msg_us < rows[lo].cpu_per_msg_us)
                        lo = i;
                if (rows[i].cpu_per_msg_us > rows[hi].cpu_per_msg_us)
                        hi = i;
                if (rows[i].ready_ms > ready_max)
                        ready_max = rows[i].ready_ms;
                lost += rows[i].lost;
        }
        if (interrupted)
                die("interrupted");
        printf("cost per message from %u to %u sensors: %.2f .. %.2f us (max/min %.2f); flat (< %.1fx): %s\n",
               o.counts[0], o.counts[o.n_counts - 1], rows[lo].cpu_per_msg_us, rows[hi].cpu_per_msg_us,
               rows[lo].cpu_per_msg_us > 0 ? rows[hi].cpu_per_msg_us / rows[lo].cpu_per_msg_us : 0, FLAT_MAX_RATIO,
               verdict(rows[lo].cpu_per_msg_us > 0 && rows[hi].cpu_per_msg_us / rows[lo].cpu_per_msg_us < FLAT_MAX_RATIO));
        printf("target ready <= %d ms at every count (DESIGN.md §11): %s", TARGET_READY_MSEC,
               verdict(ready_max <= TARGET_READY_MSEC));
        if (ready_max > TARGET_READY_MSEC)
                printf(" (slowest %.1f ms)", ready_max);
        printf("; alarms lost: %s\n", verdict(lost == 0));
        if (o.idle_s)
                for (unsigned i = 0; i < o.n_counts; i++)
                        printf("target idle with %u sensors: RSS <= %d kB %s, < %.0f wake-up/s %s, 0 %% CPU %s\n",
                               rows[i].sensors, TARGET_RSS_KB, verdict(rows[i].idle.rss_kb <= TARGET_RSS_KB),
                               TARGET_WAKEUPS_PER_SEC, verdict(rows[i].idle.wakeups_per_s < TARGET_WAKEUPS_PER_SEC),
                               verdict(rows[i].idle.zero_cpu));
        print_load("at end");
        client_free(watcher, true);
        server_stop(&srv);
        mosquitto_lib_cleanup();
        cleanup();
        return lost ? 1 : 0;
}
