/* anju-bench-ingest: sustained ingest with persistence. Offers anjud a
 * stream of Zigbee2MQTT motion messages at a rising rate, with a smoke
 * alarm from a distinct sensor in the stream every 50 ms, and finds the
 * highest rate it sustains: offered in full, no message dropped by the
 * broker, every message's events persisted in SQLite (WAL, synchronous =
 * FULL), every alarm called, and no backlog (the alarms' latency stays
 * bounded -- a daemon that falls behind makes them wait behind the
 * queue).
 *
 * Two feeds: "broker" -- the load generator through a private mosquitto
 * (what a home has; mosquitto's forwarding is then the ceiling) -- and
 * "direct" -- a minimal in-process MQTT server that streams the same
 * packets to anjud with one write(2) per batch, so the figure is anjud's
 * own. Each step runs a fresh anjud on a fresh database. */
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

#define ROWS_PER_NOISE 2                /* occupancy + battery */
#define ROWS_PER_ALARM 2                /* smoke + battery */
#define MAX_RATES 32
#define KEPT_UP_MAX_LATENCY (250 * NSEC_PER_MSEC)
#define KEPT_UP_MAX_DRAIN (1 * NSEC_PER_SEC)
#define OFFER_MIN_SHARE 0.99

enum via { VIA_BROKER, VIA_DIRECT };

struct opts {
        const char *anjud, *mosquitto, *db_dir;
        unsigned rates[MAX_RATES], n_rates, step_s, alarm_every_ms, sensors, refine;
        bool broker_nodelay, via_broker, via_direct;
};

static const char *const noise_payloads[2] = {
        "{\"battery\":95,\"illuminance\":12,\"linkquality\":120,\"occupancy\":true,\"voltage\":3000}",
        "{\"battery\":95,\"illuminance\":12,\"linkquality\":120,\"occupancy\":false,\"voltage\":3000}",
};
static const char alarm_payload[] = "{\"battery\":90,\"linkquality\":110,\"smoke\":true}";

/* One step's state, shared with the generator and tick callbacks. */
struct step {
        const struct opts *o;
        struct server *srv;
        char (*noise_topics)[24];
        char (*alarm_topics)[24];
        unsigned max_alarms;
        unsigned long noise_sent;
        unsigned alarms_sent;
        uint64_t next_alarm_at, alarm_every;
        uint64_t *t0, *arrived;         /* per alarm, 1-based */
        unsigned arrived_n;
};

struct step_result {
        unsigned rate;
        struct flood_result fr;
        unsigned long dropped, expected_rows, rows;
        unsigned alarms, lost;
        uint64_t lat_p50, lat_p99, lat_max, drain_ns;
        double anjud_cpu, broker_cpu, gen_cpu;  /* share of one core over the offer */
        bool offered, no_drop, persisted, kept_up, pass;
};

/* --- the generator --- */

static void ingest_next(void *ud, unsigned long i, const char **topic, const char **payload, int *len) {
        struct step *s = ud;

        if ((i & 15) == 0 && s->alarms_sent < s->max_alarms) {
                uint64_t now = now_ns();
                if (now >= s->next_alarm_at) {
                        unsigned k = ++s->alarms_sent;
                        s->t0[k] = now;
                        s->next_alarm_at += s->alarm_every;
                        *topic = s->alarm_topics[k];
                        *payload = alarm_payload;
                        *len = (int) sizeof alarm_payload - 1;
                        return;
                }
        }
        *topic = s->noise_topics[s->noise_sent % s->o->sensors];
        *payload = noise_payloads[(s->noise_sent / s->o->sensors) & 1];
        *len = (int) strlen(*payload);
        s->noise_sent++;
}

static void take_request(struct step *s, const struct request *rq) {
        unsigned k;

        if (sscanf(rq->sensor, "s%05u", &k) == 1 && k >= 1 && k <= s->alarms_sent && !s->arrived[k]) {
                s->arrived[k] = rq->at;
                s->arrived_n++;
        }
}

static void ingest_tick(void *ud, uint64_t now) {
        struct step *s = ud;
        struct request rq;

        (void) now;
        while (server_take(s->srv, 0, &rq))
                take_request(s, &rq);
}

/* --- the database --- */

static long long db_rows(sqlite3 *db, sqlite3_stmt *q) {
        long long n = -1;

        (void) db;
        if (sqlite3_step(q) == SQLITE_ROW)
                n = sqlite3_column_int64(q, 0);
        sqlite3_reset(q);
        return n;
}

static void remove_db(const char *db) {
        char p[PATH_MAX * 2];

        unlink(db);
        snprintf(p, sizeof p, "%s-wal", db);
        unlink(p);
        snprintf(p, sizeof p, "%s-shm", db);
        unlink(p);
}

/* --- one step --- */

struct env {
        const struct opts *o;
        enum via via;
        struct server *srv;
        struct status_watch *watch;
        struct sys_watch *sys;
        struct feeder *feeder;
        unsigned mport, fport;
        char (*noise_topics)[24];
        char (*alarm_topics)[24];
        unsigned steps;
};

static void write_config(const struct env *e, const char *db, char *path, size_t n, unsigned max_alarms) {
        FILE *f;

        snprintf(path, n, "%s/anju.conf", bench.dir);
        f = anjud_config_begin(path, db, e->via == VIA_BROKER ? e->mport : e->fport, e->srv->port);
        for (unsigned i = 1; i <= e->o->sensors; i++)
                fprintf(f, "\n[sensor m%05u]\nkind = motion\nroom = r%u\ntopic = bench/m%05u\n", i, i % 8, i);
        for (unsigned i = 1; i <= max_alarms; i++)
                fprintf(f, "\n[sensor s%05u]\nkind = smoke\nroom = r\ntopic = bench/s%05u\n", i, i);
        anjud_config_end(f, path);
}

static void run_step(struct env *e, unsigned rate, struct step_result *res) {
        const struct opts *o = e->o;
        uint64_t dur = (uint64_t) o->step_s * NSEC_PER_SEC, t_exec, ready_at, t_end, deadline, last_rows_at;
        unsigned max_alarms = (unsigned) (dur / (o->alarm_every_ms * NSEC_PER_MSEC)) + 2;
        char db[PATH_MAX + 32], conf[PATH_MAX + 16];
        struct cpu_sample a0, a1, b0 = { 0 }, b1 = { 0 };
        struct timespec g0, g1;
        struct step s = { 0 };
        struct notify nt;
        struct flood fl;
        sqlite3 *sdb = NULL;
        sqlite3_stmt *q = NULL;
        unsigned long drop0 = 0;
        uint64_t *lat;
        long long rows;
        size_t nl = 0;

        memset(res, 0, sizeof *res);
        res->rate = rate;
        snprintf(db, sizeof db, "%s/ingest-%u.db", bench.db_dir[0] ? bench.db_dir : bench.dir, e->steps++);
        write_config(e, db, conf, sizeof conf, max_alarms);
        s = (struct step) { .o = o, .srv = e->srv, .noise_topics = e->noise_topics,
                            .alarm_topics = e->alarm_topics, .max_alarms = max_alarms,
                            .alarm_every = o->alarm_every_ms * NSEC_PER_MSEC };
        s.t0 = calloc(max_alarms + 1, sizeof *s.t0);
        s.arrived = calloc(max_alarms + 1, sizeof *s.arrived);
        lat = calloc(max_alarms + 1, sizeof *lat);
        if (!s.t0 || !s.arrived || !lat)
                die("out of memory");

        /* A fresh anjud: READY=1, then subscribed and "online". */
        notify_open(&nt);
        if (e->via == VIA_BROKER)
                status_watch_reset(e->watch);
        else
                feeder_reset(e->feeder);
        snprintf(bench.target_log, sizeof bench.target_log, "%s/anjud.log", bench.dir);
        t_exec = now_ns();
        bench.target = spawn((char *const[]) { (char *) o->anjud, "-c", conf, NULL }, bench.target_log,
                             (char *const[]) { nt.env, NULL });
        if (!notify_wait_ready(&nt, t_exec + SETUP_DEADLINE, &ready_at))
                die("anjud did not send READY=1 within 10 s");
        notify_close(&nt);
        if (e->via == VIA_BROKER ? !watch_wait(e->watch, &e->watch->online, t_exec + SETUP_DEADLINE, &bench.target)
                                 : !feeder_wait_online(e->feeder, t_exec + SETUP_DEADLINE, &bench.target))
                die("anjud did not say \"online\" within 10 s");
        if (sqlite3_open_v2(db, &sdb, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
            sqlite3_prepare_v2(sdb, "SELECT ifnull(max(rowid), 0) FROM sensor_log", -1, &q, NULL) != SQLITE_OK)
                die("cannot read %s: %s", db, sdb ? sqlite3_errmsg(sdb) : "out of memory");
        sqlite3_busy_timeout(sdb, 1000);

        if (e->via == VIA_BROKER) {
                flood_connect(&fl, "127.0.0.1", e->mport);
                drop0 = sys_dropped(e->sys);
                sample_cpu(bench.broker, &b0);
        }
        sample_cpu(bench.target, &a0);
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &g0);
        s.next_alarm_at = now_ns() + s.alarm_every / 2;
        if (e->via == VIA_BROKER)
                flood_run(&fl, rate, dur, ingest_next, &s, ingest_tick, &s, NULL, &res->fr);
        else
                feeder_run(e->feeder, rate, dur, ingest_next, &s, ingest_tick, &s, &res->fr);
        t_end = now_ns();
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &g1);
        sample_cpu(bench.target, &a1);
        if (e->via == VIA_BROKER)
                sample_cpu(bench.broker, &b1);
        res->anjud_cpu = (double) (a1.oncpu_ns - a0.oncpu_ns) / (double) res->fr.elapsed_ns;
        res->broker_cpu = (double) (b1.oncpu_ns - b0.oncpu_ns) / (double) res->fr.elapsed_ns;
        res->gen_cpu = ((double) (g1.tv_sec - g0.tv_sec) * 1e9 + (double) (g1.tv_nsec - g0.tv_nsec)) /
                       (double) res->fr.elapsed_ns;

        /* Every row, and every alarm's call. */
        res->alarms = s.alarms_sent;
        res->expected_rows = (s.noise_sent * ROWS_PER_NOISE) + (unsigned long) s.alarms_sent * ROWS_PER_ALARM;
        deadline = t_end + 5 * NSEC_PER_SEC;
        last_rows_at = t_end;
        rows = 0;
        while (now_ns() < deadline && !interrupted) {
                long long r = db_rows(sdb, q);
                struct request rq;

                if (r > rows) {
                        rows = r;
                        last_rows_at = now_ns();
                }
                while (server_take(e->srv, 0, &rq))
                        take_request(&s, &rq);
                if ((unsigned long) rows >= res->expected_rows && s.arrived_n == s.alarms_sent)
                        break;
                if (now_ns() - last_rows_at > 2 * NSEC_PER_SEC && s.arrived_n == s.alarms_sent)
                        break;          /* no progress: rows are missing */
                sleep_ns(20 * NSEC_PER_MSEC, true);
        }
        res->rows = rows > 0 ? (unsigned long) rows : 0;
        res->drain_ns = last_rows_at - t_end;
        for (unsigned k = 1; k <= s.alarms_sent; k++)
                if (s.arrived[k])
                        lat[nl++] = s.arrived[k] - s.t0[k];
        res->lost = s.alarms_sent - (unsigned) nl;
        qsort(lat, nl, sizeof *lat, cmp_u64);
        res->lat_p50 = percentile(lat, nl, 50);
        res->lat_p99 = percentile(lat, nl, 99);
        res->lat_max = nl ? lat[nl - 1] : 0;

        if (e->via == VIA_BROKER) {
                flood_disconnect(&fl);
                /* $SYS is published every second: wait for a fresh one. */
                sleep_ns(1500 * NSEC_PER_MSEC, true);
                res->dropped = sys_dropped(e->sys) - drop0;
        }
        sqlite3_finalize(q);
        sqlite3_close(sdb);
        if (!child_alive(&bench.target))
                die("anjud died during the step at %u msg/s", rate);
        {
                int status = stop_child(&bench.target, "anjud");
                if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                        fprintf(stderr, "anju-bench-ingest: anjud did not stop cleanly (status 0x%x)\n",
                                (unsigned) status);
        }
        remove_db(db);
        free(s.t0);
        free(s.arrived);
        free(lat);

        res->offered = res->fr.rate >= OFFER_MIN_SHARE * rate;
        res->no_drop = res->dropped == 0;
        res->persisted = res->rows >= res->expected_rows;
        res->kept_up = nl > 0 && res->lat_max <= KEPT_UP_MAX_LATENCY && res->drain_ns <= KEPT_UP_MAX_DRAIN;
        res->pass = res->offered && res->no_drop && res->persisted && res->lost == 0 && res->kept_up;
}

static void print_header(enum via via) {
        printf("  %8s %9s %8s %6s %6s %6s %11s %7s %6s %21s %6s  %s\n", "target", "offered", "dropped",
               "anjud", via == VIA_BROKER ? "broker" : "", "gen", "rows", "alarms", "lost", "alarm p50/p99/max ms",
               "drain", "verdict");
}

static void print_step(enum via via, const struct step_result *r) {
        char why[128] = "";

        if (!r->offered)
                strcat(why, " offer-short");
        if (!r->no_drop)
                strcat(why, " broker-drop");
        if (!r->persisted)
                strcat(why, " rows-missing");
        if (r->lost)
                strcat(why, " alarm-lost");
        if (!r->kept_up)
                strcat(why, " backlog");
        printf("  %8u %9.0f %8lu %5.0f%% ", r->rate, r->fr.rate, r->dropped, r->anjud_cpu * 100);
        if (via == VIA_BROKER)
                printf("%5.0f%% ", r->broker_cpu * 100);
        else
                printf("%6s ", "");
        printf("%5.0f%% ", r->gen_cpu * 100);
        printf("%11lu %7u %6u %7.1f/%6.1f/%6.1f %5.2fs  %s%s%s\n", r->rows, r->alarms, r->lost,
               (double) r->lat_p50 / 1e6, (double) r->lat_p99 / 1e6, (double) r->lat_max / 1e6,
               (double) r->drain_ns / 1e9, r->pass ? "PASS" : "FAIL", *why ? ":" : "", why);
        if (!r->persisted)
                printf("  %8s rows persisted %lu of %lu expected\n", "", r->rows, r->expected_rows);
}

/* The ladder, then bisection between the last pass and the first failure. */
static unsigned run_ladder(struct env *e, struct step_result *best) {
        const struct opts *o = e->o;
        struct step_result r;
        unsigned lo = 0, hi = 0;

        print_header(e->via);
        memset(best, 0, sizeof *best);
        for (unsigned i = 0; i < o->n_rates && !interrupted; i++) {
                run_step(e, o->rates[i], &r);
                print_step(e->via, &r);
                if (!r.pass) {
                        hi = o->rates[i];
                        break;
                }
                lo = o->rates[i];
                *best = r;
        }
        for (unsigned k = 0; hi && k < o->refine && !interrupted; k++) {
                unsigned mid = (lo + hi) / 2 / 1000 * 1000;

                if (mid <= lo || mid >= hi)
                        break;
                run_step(e, mid, &r);
                print_step(e->via, &r);
                if (r.pass) {
                        lo = mid;
                        *best = r;
                } else {
                        hi = mid;
                }
        }
        return lo;
}

static void report(enum via via, unsigned lo, const struct step_result *best, unsigned first_fail) {
        const char *what = via == VIA_BROKER ? "through mosquitto" : "direct (anjud alone)";

        if (lo == 0) {
                printf("ingest %s: no rate of the ladder was sustained\n", what);
                printf("target ingest >= %d msg/s with persistence (DESIGN.md §11): MISS\n", TARGET_INGEST_PER_SEC);
                return;
        }
        printf("ingest %s: highest sustained %u msg/s (offered %.0f msg/s, anjud %.0f%% of a core, alarm p99 "
               "%.1f ms, %lu rows persisted)%s\n", what, lo, best->fr.rate, best->anjud_cpu * 100,
               (double) best->lat_p99 / 1e6, best->rows, first_fail ? "" : " -- the top of the ladder");
        printf("target ingest >= %d msg/s with persistence (DESIGN.md §11), %s: ", TARGET_INGEST_PER_SEC, what);
        if (lo >= TARGET_INGEST_PER_SEC)
                printf("PASS\n");
        else if (!first_fail)
                printf("not decided (the ladder stops at %u msg/s)\n", lo);
        else
                printf("MISS by %u msg/s\n", TARGET_INGEST_PER_SEC - lo);
}

static void run_via(const struct opts *o, enum via via, struct server *srv, char (*nt)[24], char (*at)[24]) {
        struct status_watch watch;
        struct sys_watch sys;
        struct feeder feeder;
        struct mosquitto *watcher = NULL, *sysm = NULL;
        struct step_result best;
        struct env e = { .o = o, .via = via, .srv = srv, .watch = &watch, .sys = &sys, .feeder = &feeder,
                         .noise_topics = nt, .alarm_topics = at };
        unsigned lo;

        block_signals(true);
        if (via == VIA_BROKER) {
                struct broker_conf bc = { .path = o->mosquitto, .nodelay = o->broker_nodelay, .sys = true };
                e.mport = broker_start(&bc);
                watcher = status_watch_start(&watch, e.mport);
                sysm = sys_watch_start(&sys, e.mport);
                printf("feed: load generator -> mosquitto (port %u, max_queued_messages 1000 = its default, "
                       "set_tcp_nodelay %s) -> anjud\n", e.mport, o->broker_nodelay ? "true" : "false");
        } else {
                e.fport = feeder_start(&feeder);
                printf("feed: in-process MQTT server (port %u, one write per batch of QoS 0 PUBLISH) -> anjud\n",
                       e.fport);
        }
        block_signals(false);
        lo = run_ladder(&e, &best);
        report(via, lo, &best, lo != o->rates[o->n_rates - 1]);
        if (via == VIA_BROKER) {
                client_free(sysm, true);
                client_free(watcher, true);
                stop_child(&bench.broker, "mosquitto");
        } else {
                feeder_stop(&feeder);
        }
}

/* --- main --- */

static void usage(FILE *f) {
        fprintf(f,
                "Usage: anju-bench-ingest [OPTIONS]\n"
                "Finds the highest message rate anjud sustains with persistence and no lost alarm.\n\n"
                "  --via broker|direct|both  feed through a private mosquitto, straight from an\n"
                "                    in-process MQTT server, or both (default both)\n"
                "  --rates LIST      the ladder, msg/s, comma-separated (default\n"
                "                    20000,40000,60000,80000,100000,125000,150000,200000,250000,300000)\n"
                "  --refine N        bisection steps after the first failure (default 2)\n"
                "  --step S          seconds per step (default 5)\n"
                "  --alarm-every MS  a smoke alarm in the stream every MS ms (default 50)\n"
                "  --sensors N       motion sensors the stream cycles through (default 1000)\n"
                "  --db-dir DIR      databases in a new directory under DIR (default: under /tmp)\n"
                "  --broker-nodelay  set_tcp_nodelay true in the broker\n"
                "  --anjud PATH, --mosquitto PATH\n"
                "A step passes when the rate was offered in full (>= 99 %%), the broker dropped\n"
                "nothing, every event was persisted, every alarm was called, and anjud kept up:\n"
                "the slowest alarm took <= 250 ms and the last rows landed <= 1 s after the offer.\n");
}

static void parse_rates(const char *s, struct opts *o) {
        char *copy = strdup(s), *save = NULL;

        o->n_rates = 0;
        for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                if (o->n_rates == MAX_RATES) {
                        fprintf(stderr, "anju-bench-ingest: at most %d rates\n", MAX_RATES);
                        exit(2);
                }
                o->rates[o->n_rates++] = parse_count(t, "--rates", 100, 10000000);
        }
        free(copy);
        if (o->n_rates == 0) {
                fprintf(stderr, "anju-bench-ingest: --rates is empty\n");
                exit(2);
        }
}

static void parse_args(int argc, char **argv, struct opts *o) {
        enum { O_VIA = 0x100, O_RATES, O_REFINE, O_STEP, O_EVERY, O_SENSORS, O_DB_DIR, O_NODELAY, O_ANJUD,
               O_MOSQ };
        static const struct option lo[] = {
                { "via", required_argument, NULL, O_VIA },
                { "rates", required_argument, NULL, O_RATES },
                { "refine", required_argument, NULL, O_REFINE },
                { "step", required_argument, NULL, O_STEP },
                { "alarm-every", required_argument, NULL, O_EVERY },
                { "sensors", required_argument, NULL, O_SENSORS },
                { "db-dir", required_argument, NULL, O_DB_DIR },
                { "broker-nodelay", no_argument, NULL, O_NODELAY },
                { "anjud", required_argument, NULL, O_ANJUD },
                { "mosquitto", required_argument, NULL, O_MOSQ },
                { "help", no_argument, NULL, 'h' },
                { NULL, 0, NULL, 0 },
        };
        int c;

        *o = (struct opts) { .step_s = 5, .alarm_every_ms = 50, .sensors = 1000, .refine = 2,
                             .via_broker = true, .via_direct = true };
        parse_rates("20000,40000,60000,80000,100000,125000,150000,200000,250000,300000", o);
        while ((c = getopt_long(argc, argv, "h", lo, NULL)) >= 0)
                switch (c) {
                case O_VIA:
                        o->via_broker = strcmp(optarg, "broker") == 0 || strcmp(optarg, "both") == 0;
                        o->via_direct = strcmp(optarg, "direct") == 0 || strcmp(optarg, "both") == 0;
                        if (!o->via_broker && !o->via_direct) {
                                fprintf(stderr, "anju-bench-ingest: --via is broker, direct or both\n");
                                exit(2);
                        }
                        break;
                case O_RATES: parse_rates(optarg, o); break;
                case O_REFINE: o->refine = parse_count(optarg, "--refine", 0, 10); break;
                case O_STEP: o->step_s = parse_count(optarg, "--step", 1, 600); break;
                case O_EVERY: o->alarm_every_ms = parse_count(optarg, "--alarm-every", 5, 60000); break;
                case O_SENSORS: o->sensors = parse_count(optarg, "--sensors", 1, 99999); break;
                case O_DB_DIR: o->db_dir = optarg; break;
                case O_NODELAY: o->broker_nodelay = true; break;
                case O_ANJUD: o->anjud = optarg; break;
                case O_MOSQ: o->mosquitto = optarg; break;
                case 'h': usage(stdout); exit(0);
                default: usage(stderr); exit(2);
                }
        if (optind < argc) {
                fprintf(stderr, "anju-bench-ingest: unexpected argument \"%s\"\n", argv[optind]);
                exit(2);
        }
        if (!o->anjud)
                o->anjud = default_anjud();
        if (!o->mosquitto)
                o->mosquitto = default_mosquitto();
        if (access(o->anjud, X_OK) != 0) {
                fprintf(stderr, "anju-bench-ingest: anjud not found at %s (use --anjud or ANJUD=)\n", o->anjud);
                exit(2);
        }
}

int main(int argc, char **argv) {
        struct opts o;
        struct server srv;
        char fs[PATH_MAX + 64];
        char (*noise_topics)[24], (*alarm_topics)[24];
        unsigned max_alarms;

        bench_name = "anju-bench-ingest";
        parse_args(argc, argv, &o);
        setup_signals();
        setvbuf(stdout, NULL, _IOLBF, 0);
        make_dirs(o.db_dir, NULL, 0);
        describe_fs(o.db_dir ? bench.db_dir : bench.dir, fs, sizeof fs);
        mosquitto_lib_init();
        max_alarms = o.step_s * 1000 / o.alarm_every_ms + 2;
        noise_topics = calloc(o.sensors, sizeof *noise_topics);
        alarm_topics = calloc(max_alarms + 1, sizeof *alarm_topics);
        if (!noise_topics || !alarm_topics)
                die("out of memory");
        for (unsigned i = 0; i < o.sensors; i++)
                snprintf(noise_topics[i], sizeof noise_topics[i], "bench/m%05u", i + 1);
        for (unsigned i = 1; i <= max_alarms; i++)
                snprintf(alarm_topics[i], sizeof alarm_topics[i], "bench/s%05u", i);

        printf("anju-bench-ingest: %u motion sensors (%zu-byte Zigbee2MQTT payloads, %d rows each) + a smoke "
               "alarm every %u ms, %u s per step, QoS 0, all on 127.0.0.1\n", o.sensors,
               strlen(noise_payloads[0]), ROWS_PER_NOISE, o.alarm_every_ms, o.step_s);
        printf("anjud %s; databases on %s (WAL, synchronous=FULL; the sensor log is committed in batches)\n",
               o.anjud, fs);
        printf("a step passes when the rate is offered in full (>= 99 %%), the broker drops nothing, every event "
               "is persisted, every alarm is called, and anjud keeps up: its slowest alarm <= %llu ms, the last "
               "rows <= %.1f s after the offer; anjud/broker/gen: share of one core (gen: this program)\n",
               (unsigned long long) (KEPT_UP_MAX_LATENCY / NSEC_PER_MSEC), (double) KEPT_UP_MAX_DRAIN / 1e9);
        print_load("at start");
        block_signals(true);
        server_start(&srv);
        block_signals(false);
        if (o.via_direct) {
                run_via(&o, VIA_DIRECT, &srv, noise_topics, alarm_topics);
                print_load("after the direct feed");
        }
        if (o.via_broker && !interrupted) {
                run_via(&o, VIA_BROKER, &srv, noise_topics, alarm_topics);
                print_load("after the broker feed");
        }
        server_stop(&srv);
        mosquitto_lib_cleanup();
        cleanup();
        free(noise_topics);
        free(alarm_topics);
        return interrupted ? 2 : 0;
}
