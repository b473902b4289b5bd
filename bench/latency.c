/* anju-bench-latency: how long a smoke alarm takes from its MQTT publish to
 * the emergency call's arrival at the dispatch center, one alarm at a time,
 * with non-alarm traffic in between; then the idle cost of anjud (RSS, CPU,
 * wake-ups) and its start-up time (exec -> READY=1 on a notify socket of
 * our own, sd_notify(3)). With --nodered DIR the same run is repeated
 * against a Node-RED flow doing the same smoke -> POST path (DIR holds it:
 * bench/nodered), and the two are compared as ratios.
 *
 * Everything runs on 127.0.0.1: a private mosquitto, an HTTP/1.1 dispatch
 * center in a thread of this program, and the real anjud. A benchmark, not
 * a test: it prints figures against the budgets of docs/DESIGN.md §11 and fails only
 * on a setup error or a lost alarm. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "harness.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define IDLE_SETTLE_SEC 5
#define PROBE_TOPIC "bench/probe"
#define PROBE_EVERY (1 * NSEC_PER_MSEC)

struct opts {
        unsigned alarms, noise, gap_ms, idle_s, noise_qos;
        const char *anjud, *mosquitto, *db_dir, *raw, *nodered, *node;
        bool broker_nodelay, quiet, default_queue;
};

struct results {
        uint64_t *lat;                  /* ns, for alarms that arrived */
        size_t n;
        unsigned lost, updates, alarm_calls;
};

/* What one system under test did. */
struct figures {
        const char *name;
        struct results res;
        uint64_t p50, p90, p99, max, mean;      /* us */
        double ready_ms, online_ms, first_alarm_ms;     /* from exec; < 0: not seen */
        double cpu_per_alarm_us, broker_cpu_per_alarm_us;
        struct idle_figures idle;
        bool idle_measured;
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
                        publish(p, "bench/motion", payload, (int) o->noise_qos);
                } else {
                        snprintf(topic, sizeof topic, "bench/s%04u", other);
                        snprintf(payload, sizeof payload, "{\"smoke\":false,\"battery\":%u}", 50 + other % 50);
                        publish(p, topic, payload, (int) o->noise_qos);
                }
        }
}

static void run_alarms(const struct opts *o, struct publisher *p, struct server *srv, struct results *res,
                       FILE *raw) {
        char topic[32], sensor[16];
        struct request rq;

        res->lat = calloc(o->alarms, sizeof *res->lat);
        if (!res->lat)
                die("out of memory");
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
                                fprintf(raw, "%s %u %llu\n", bench.target_name, i,
                                        (unsigned long long) (rq.at - t0) / NSEC_PER_USEC);
                        if (rq.update)
                                res->updates++;
                        else
                                res->alarm_calls++;
                } else {
                        res->lost++;
                        if (raw)
                                fprintf(raw, "%s %u -1\n", bench.target_name, i);
                        fprintf(stderr, "anju-bench-latency: %s: alarm %u (%s): no call within 5 s: LOST\n",
                                bench.target_name, i, sensor);
                }
                publisher_drain(p);
                if (o->gap_ms)
                        sleep_ns(o->gap_ms * NSEC_PER_MSEC, true);
                if (!o->quiet && i % 100 == 0 && isatty(STDERR_FILENO))
                        fprintf(stderr, "\r%s: %u/%u alarms", bench.target_name, i, o->alarms);
        }
        if (!o->quiet && isatty(STDERR_FILENO))
                fprintf(stderr, "\r\033[K");
}

static void summarize(const struct opts *o, struct figures *fg) {
        struct results *res = &fg->res;
        uint64_t sum = 0;

        printf("%s: alarms: %u published, %zu calls received (%u alarm + %u update), %u lost\n", fg->name,
               o->alarms, res->n, res->alarm_calls, res->updates, res->lost);
        if (res->n == 0)
                return;
        qsort(res->lat, res->n, sizeof *res->lat, cmp_u64);
        for (size_t i = 0; i < res->n; i++)
                sum += res->lat[i];
        fg->p50 = percentile(res->lat, res->n, 50) / NSEC_PER_USEC;
        fg->p90 = percentile(res->lat, res->n, 90) / NSEC_PER_USEC;
        fg->p99 = percentile(res->lat, res->n, 99) / NSEC_PER_USEC;
        fg->max = res->lat[res->n - 1] / NSEC_PER_USEC;
        fg->mean = sum / res->n / NSEC_PER_USEC;
        printf("%s: latency publish -> request read (us): min %llu  p50 %llu  p90 %llu  p99 %llu  max %llu  "
               "mean %llu\n", fg->name, (unsigned long long) (res->lat[0] / NSEC_PER_USEC),
               (unsigned long long) fg->p50, (unsigned long long) fg->p90, (unsigned long long) fg->p99,
               (unsigned long long) fg->max, (unsigned long long) fg->mean);
}

/* Publishes a smoke alarm from the probe sensor every millisecond from
 * exec on, until the call for it arrives: "ready to take an alarm", the
 * same definition for anjud and Node-RED. For anjud it also reads READY=1
 * from the notify socket and "online" from the status topic. */
static void measure_startup(struct publisher *p, struct server *srv, struct notify *nt, struct status_watch *w,
                            uint64_t t_exec, struct figures *fg) {
        uint64_t deadline = t_exec + 2 * SETUP_DEADLINE, next_probe = 0, ready_at = 0;
        bool need_ready = nt != NULL, need_online = w != NULL, alarmed = false;
        struct request rq;

        fg->ready_ms = fg->online_ms = fg->first_alarm_ms = -1;
        while (!alarmed || need_ready || need_online) {
                uint64_t now = now_ns();

                if (interrupted)
                        die("interrupted");
                if (now > deadline || !child_alive(&bench.target))
                        die("%s %s", bench.target_name,
                            bench.target == 0 ? "exited at start-up"
                                              : "did not answer a probe alarm within 20 s of its start");
                if (!alarmed && now >= next_probe) {
                        publish(p, PROBE_TOPIC, "{\"smoke\":true}", 0);
                        next_probe = now + PROBE_EVERY;
                }
                if (!alarmed && server_take(srv, now + (need_ready ? 0 : PROBE_EVERY / 2), &rq) &&
                    strcmp(rq.sensor, "probe") == 0) {
                        alarmed = true;
                        fg->first_alarm_ms = (double) (rq.at - t_exec) / 1e6;
                }
                if (need_ready && notify_wait_ready(nt, now_ns() + PROBE_EVERY / 2, &ready_at)) {
                        need_ready = false;
                        fg->ready_ms = (double) (ready_at - t_exec) / 1e6;
                }
                if (need_online) {
                        pthread_mutex_lock(&w->lock);
                        if (w->online) {
                                need_online = false;
                                fg->online_ms = (double) (w->online_at - t_exec) / 1e6;
                        }
                        pthread_mutex_unlock(&w->lock);
                }
                if (alarmed && !need_ready && need_online)
                        sleep_ns(200 * NSEC_PER_USEC, true);
        }
        /* Calls for probes that were already on their way. */
        sleep_ns(50 * NSEC_PER_MSEC, true);
        while (server_take(srv, now_ns(), &rq))
                ;
}

/* Runs the alarms, then the idle window, against bench.target. */
static void run_target(const struct opts *o, unsigned mport, struct server *srv, FILE *raw, struct figures *fg) {
        struct publisher pub;
        struct cpu_sample cpu0, cpu1, bcpu0, bcpu1;

        publisher_start(&pub, mport);
        sample_cpu(bench.target, &cpu0);
        sample_cpu(bench.broker, &bcpu0);
        run_alarms(o, &pub, srv, &fg->res, raw);
        sample_cpu(bench.target, &cpu1);
        sample_cpu(bench.broker, &bcpu1);
        client_free(pub.mosq, false);
        if (interrupted)
                die("interrupted");
        summarize(o, fg);
        fg->cpu_per_alarm_us = (double) (cpu1.oncpu_ns - cpu0.oncpu_ns) / 1e3 / o->alarms;
        fg->broker_cpu_per_alarm_us = (double) (bcpu1.oncpu_ns - bcpu0.oncpu_ns) / 1e3 / o->alarms;
        printf("%s: on-CPU per alarm with its %u noise messages: %s %.0f us, mosquitto %.0f us\n", fg->name,
               o->noise, fg->name, fg->cpu_per_alarm_us, fg->broker_cpu_per_alarm_us);
        if (!child_alive(&bench.target))
                die("%s died during the run", bench.target_name);
        if (o->idle_s) {
                measure_idle(bench.target, IDLE_SETTLE_SEC, o->idle_s, &fg->idle);
                fg->idle_measured = true;
                if (interrupted)
                        die("interrupted");
        }
}

static void write_config(const struct opts *o, const char *db, unsigned mport, unsigned dport, char *path,
                         size_t n) {
        FILE *f;

        snprintf(path, n, "%s/anju.conf", bench.dir);
        f = anjud_config_begin(path, db, mport, dport);
        fprintf(f, "\n[sensor motion]\nkind = motion\nroom = r\ntopic = bench/motion\n"
                   "\n[sensor probe]\nkind = smoke\nroom = r\ntopic = " PROBE_TOPIC "\n");
        for (unsigned i = 1; i <= o->alarms; i++)
                fprintf(f, "\n[sensor s%04u]\nkind = smoke\nroom = r\ntopic = bench/s%04u\n", i, i);
        anjud_config_end(f, path);
}

static void run_anjud(const struct opts *o, const char *db, unsigned mport, struct server *srv,
                      struct status_watch *watch, FILE *raw, struct figures *fg) {
        char conf[PATH_MAX + 16];
        struct publisher probe;
        struct notify nt;
        uint64_t t_exec;
        int status;

        fg->name = bench.target_name = "anjud";
        write_config(o, db, mport, srv->port, conf, sizeof conf);
        notify_open(&nt);
        publisher_start(&probe, mport);
        status_watch_reset(watch);
        snprintf(bench.target_log, sizeof bench.target_log, "%s/anjud.log", bench.dir);
        t_exec = now_ns();
        bench.target = spawn((char *const[]) { (char *) o->anjud, "-c", conf, NULL }, bench.target_log,
                             (char *const[]) { nt.env, NULL });
        measure_startup(&probe, srv, &nt, watch, t_exec, fg);
        client_free(probe.mosq, false);
        notify_close(&nt);
        printf("anjud: start-up with %u sensors: exec -> READY=1 %.1f ms; -> \"online\" on %s %.1f ms; "
               "-> first alarm answered %.1f ms\n", o->alarms + 2, fg->ready_ms, STATUS_TOPIC, fg->online_ms,
               fg->first_alarm_ms);
        printf("target ready <= %d ms (DESIGN.md §11): %s", TARGET_READY_MSEC, verdict(fg->ready_ms <= TARGET_READY_MSEC));
        if (fg->ready_ms > TARGET_READY_MSEC)
                printf(" by %.1f ms", fg->ready_ms - TARGET_READY_MSEC);
        printf("\n");

        run_target(o, mport, srv, raw, fg);
        printf("target p99 <= %d us (DESIGN.md §11): %s", TARGET_P99_USEC, verdict(fg->res.n && fg->p99 <= TARGET_P99_USEC));
        if (fg->res.n && fg->p99 > TARGET_P99_USEC)
                printf(" by %llu us", (unsigned long long) fg->p99 - TARGET_P99_USEC);
        printf("; alarms lost: %s\n", verdict(fg->res.lost == 0));
        if (fg->idle_measured) {
                print_idle("anjud", o->idle_s, &fg->idle, true);
                print_rss_top(bench.target, "anjud", 8);
        }

        status = stop_child(&bench.target, "anjud");
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                fprintf(stderr, "anju-bench-latency: anjud did not stop cleanly on SIGTERM (status 0x%x)\n",
                        (unsigned) status);
}

/* --- the broker hop alone --- */

struct hop {
        pthread_mutex_t lock;
        pthread_cond_t cond;
        bool subscribed, quickack;
        unsigned seen;                  /* sequence number of the last message */
        uint64_t at;
};

static void on_hop_connect(struct mosquitto *m, void *ud, int rc) {
        (void) ud;
        if (rc == 0)
                mosquitto_subscribe(m, NULL, "hop/#", 1);
}

static void on_hop_subscribe(struct mosquitto *m, void *ud, int mid, int n, const int *qos) {
        struct hop *h = ud;

        (void) m, (void) mid, (void) n, (void) qos;
        pthread_mutex_lock(&h->lock);
        h->subscribed = true;
        pthread_cond_signal(&h->cond);
        pthread_mutex_unlock(&h->lock);
}

static void on_hop_message(struct mosquitto *m, void *ud, const struct mosquitto_message *msg) {
        struct hop *h = ud;
        uint64_t at = now_ns();

        if (h->quickack) {
                int one = 1;
                /* Not sticky: re-armed after every read, it ACKs at once, so
                 * a broker with Nagle on sends what it holds without
                 * waiting for the delayed ACK. */
                setsockopt(mosquitto_socket(m), IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
        }
        if (strcmp(msg->topic, "hop/alarm") != 0)
                return;
        pthread_mutex_lock(&h->lock);
        h->seen = (unsigned) strtoul(msg->payload ? (const char *) msg->payload : "0", NULL, 10);
        h->at = at;
        pthread_cond_signal(&h->cond);
        pthread_mutex_unlock(&h->lock);
}

/* Publish -> a subscriber's callback, through the same broker, one at a
 * time behind the same noise (which the subscriber also receives, as
 * anjud does): the broker's share of the alarm latency. */
static void measure_broker_hop(const struct opts *o, unsigned mport, bool quickack) {
        enum { N = 1000 };
        uint64_t lat[N];
        struct publisher pub;
        struct hop h;
        struct mosquitto *m;
        size_t n = 0;
        char payload[32];

        memset(&h, 0, sizeof h);
        h.quickack = quickack;
        pthread_mutex_init(&h.lock, NULL);
        init_mono_cond(&h.cond);
        block_signals(true);
        m = mosquitto_new(NULL, true, &h);
        if (!m)
                die("mosquitto_new failed");
        mosquitto_connect_callback_set(m, on_hop_connect);
        mosquitto_subscribe_callback_set(m, on_hop_subscribe);
        mosquitto_message_callback_set(m, on_hop_message);
        if (mosquitto_connect(m, "127.0.0.1", (int) mport, 60) != MOSQ_ERR_SUCCESS ||
            mosquitto_loop_start(m) != MOSQ_ERR_SUCCESS)
                die("the hop subscriber cannot connect to the broker");
        block_signals(false);
        publisher_start(&pub, mport);
        pthread_mutex_lock(&h.lock);
        while (!h.subscribed && !interrupted) {
                struct timespec ts;
                deadline_to_timespec(now_ns() + 50 * NSEC_PER_MSEC, &ts);
                pthread_cond_timedwait(&h.cond, &h.lock, &ts);
        }
        pthread_mutex_unlock(&h.lock);
        for (unsigned i = 1; i <= N && !interrupted; i++) {
                uint64_t t0, deadline;
                struct timespec ts;

                for (unsigned k = 0; k < o->noise; k++)
                        publish(&pub, "hop/noise", "{\"occupancy\":true,\"battery\":95}", 0);
                snprintf(payload, sizeof payload, "%u", i);
                t0 = now_ns();
                publish(&pub, "hop/alarm", payload, 1);
                deadline = t0 + ALARM_DEADLINE;
                deadline_to_timespec(deadline, &ts);
                pthread_mutex_lock(&h.lock);
                while (h.seen != i && now_ns() < deadline)
                        pthread_cond_timedwait(&h.cond, &h.lock, &ts);
                if (h.seen == i)
                        lat[n++] = h.at - t0;
                pthread_mutex_unlock(&h.lock);
                publisher_drain(&pub);
        }
        client_free(pub.mosq, false);
        client_free(m, true);
        if (n == 0)
                die("the hop subscriber received nothing");
        qsort(lat, n, sizeof lat[0], cmp_u64);
        printf("broker hop alone (publish -> a libmosquitto subscriber's callback, %u noise before each, %zu of %d%s): "
               "p50 %llu  p90 %llu  p99 %llu  max %llu us\n", o->noise, n, N,
               quickack ? ", subscriber re-arms TCP_QUICKACK after each message" : "",
               (unsigned long long) (percentile(lat, n, 50) / NSEC_PER_USEC),
               (unsigned long long) (percentile(lat, n, 90) / NSEC_PER_USEC),
               (unsigned long long) (percentile(lat, n, 99) / NSEC_PER_USEC),
               (unsigned long long) (lat[n - 1] / NSEC_PER_USEC));
}

/* --- Node-RED --- */

static void copy_file(const char *from, const char *to) {
        char buf[65536];
        FILE *in = fopen(from, "re"), *out;
        size_t n;

        if (!in)
                die("cannot read %s: %s", from, strerror(errno));
        out = fopen(to, "we");
        if (!out)
                die("cannot write %s: %s", to, strerror(errno));
        while ((n = fread(buf, 1, sizeof buf, in)) > 0)
                if (fwrite(buf, 1, n, out) != n)
                        die("cannot write %s: %s", to, strerror(errno));
        fclose(in);
        if (fclose(out) != 0)
                die("cannot write %s: %s", to, strerror(errno));
}

/* "4.1.8" from DIR/node_modules/node-red/package.json. */
static void nodered_version(const char *dir, char *buf, size_t n) {
        char path[PATH_MAX + 64];
        const char *v;
        json_t *j;

        snprintf(path, sizeof path, "%s/node_modules/node-red/package.json", dir);
        j = json_load_file(path, 0, NULL);
        v = json_string_value(json_object_get(j, "version"));
        snprintf(buf, n, "%s", v ? v : "?");
        json_decref(j);
}

/* "v20.20.2" from the "Node.js  version:" line of Node-RED's log. */
static void node_version(char *buf, size_t n) {
        char line[512];
        FILE *f = fopen(bench.target_log, "re");

        snprintf(buf, n, "?");
        while (f && fgets(line, sizeof line, f)) {
                char *p = strstr(line, "Node.js  version: ");
                if (p) {
                        p += 18;
                        p[strcspn(p, "\r\n")] = '\0';
                        snprintf(buf, n, "%s", p);
                        break;
                }
        }
        if (f)
                fclose(f);
}

static void run_nodered(const struct opts *o, unsigned mport, struct server *srv, FILE *raw, struct figures *fg,
                        char *version, size_t vn) {
        char red[PATH_MAX + 64], settings[PATH_MAX + 64], flow_src[PATH_MAX + 64], userdir[PATH_MAX + 32],
                flow[PATH_MAX + 64], env_port[64], env_url[96], nodev[64], nodejs[64];
        struct publisher probe;
        uint64_t t_exec;

        fg->name = bench.target_name = "Node-RED";
        snprintf(red, sizeof red, "%s/node_modules/node-red/red.js", o->nodered);
        snprintf(settings, sizeof settings, "%s/settings.js", o->nodered);
        snprintf(flow_src, sizeof flow_src, "%s/flow.json", o->nodered);
        if (access(red, R_OK) != 0)
                die("Node-RED is not installed in %s (npm install there, or run scripts/bench)", o->nodered);
        snprintf(userdir, sizeof userdir, "%s/nodered", bench.dir);
        if (mkdir(userdir, 0700) < 0)
                die("cannot create %s: %s", userdir, strerror(errno));
        snprintf(flow, sizeof flow, "%s/flow.json", userdir);
        copy_file(flow_src, flow);
        snprintf(env_port, sizeof env_port, "ANJU_BENCH_MQTT_PORT=%u", mport);
        snprintf(env_url, sizeof env_url, "ANJU_BENCH_DISPATCH_URL=http://127.0.0.1:%u/alarms", srv->port);
        nodered_version(o->nodered, nodev, sizeof nodev);

        publisher_start(&probe, mport);
        snprintf(bench.target_log, sizeof bench.target_log, "%s/nodered.log", bench.dir);
        t_exec = now_ns();
        bench.target = spawn((char *const[]) { (char *) o->node, red, "--settings", settings, "--userDir", userdir,
                                               flow, NULL },
                             bench.target_log,
                             (char *const[]) { "ANJU_BENCH_MQTT_HOST=127.0.0.1", env_port, env_url,
                                               "NODE_RED_DISABLE_TELEMETRY=1", NULL });
        measure_startup(&probe, srv, NULL, NULL, t_exec, fg);
        client_free(probe.mosq, false);
        node_version(nodejs, sizeof nodejs);
        printf("Node-RED %s on Node.js %s, headless (bench/nodered/settings.js), flow bench/nodered/flow.json\n",
               nodev, nodejs);
        snprintf(version, vn, "Node-RED %s, Node.js %s", nodev, nodejs);
        printf("Node-RED: start-up: exec -> first alarm answered %.1f ms\n", fg->first_alarm_ms);
        run_target(o, mport, srv, raw, fg);
        if (fg->idle_measured) {
                print_idle("Node-RED", o->idle_s, &fg->idle, false);
                print_rss_top(bench.target, "Node-RED", 8);
        }
        stop_child(&bench.target, "Node-RED");
}

static void ratio_row(const char *what, double a, double n, const char *unit, int prec) {
        char r[32];

        if (a > 0)
                snprintf(r, sizeof r, "%.1fx", n / a);
        else
                snprintf(r, sizeof r, n > 0 ? "anjud 0" : "both 0");
        printf("  %-40s %12.*f %12.*f %10s  %s\n", what, prec, a, prec, n, r, unit);
}

static void compare(const struct opts *o, const struct figures *a, const struct figures *n, const char *version) {
        printf("comparison, same run, same broker and dispatch center, %u alarms with %u noise messages each "
               "(%s):\n", o->alarms, o->noise, version);
        printf("  %-40s %12s %12s %10s\n", "figure", "anjud", "Node-RED", "NR/anjud");
        ratio_row("latency p50", (double) a->p50, (double) n->p50, "us", 0);
        ratio_row("latency p90", (double) a->p90, (double) n->p90, "us", 0);
        ratio_row("latency p99", (double) a->p99, (double) n->p99, "us", 0);
        ratio_row("latency max", (double) a->max, (double) n->max, "us", 0);
        ratio_row("alarms lost", a->res.lost, n->res.lost, "", 0);
        ratio_row("on-CPU per alarm + its noise", a->cpu_per_alarm_us, n->cpu_per_alarm_us, "us", 0);
        ratio_row("start: exec -> first alarm answered", a->first_alarm_ms, n->first_alarm_ms, "ms", 1);
        if (a->idle_measured && n->idle_measured) {
                ratio_row("idle RSS (VmRSS)", (double) a->idle.rss_kb, (double) n->idle.rss_kb, "kB", 0);
                ratio_row("idle PSS", (double) a->idle.pss_kb, (double) n->idle.pss_kb, "kB", 0);
                ratio_row("idle on-CPU", a->idle.oncpu_ms, n->idle.oncpu_ms, "ms", 3);
                ratio_row("idle wake-ups", a->idle.wakeups_per_s, n->idle.wakeups_per_s, "/s", 2);
        }
        printf("  DESIGN.md §11's Node-RED anchors: p50 %.1f ms, p99 %.1f ms, %d MB idle, %.1f s to start\n",
               DESIGN_NODERED_P50_USEC / 1e3, DESIGN_NODERED_P99_USEC / 1e3, DESIGN_NODERED_RSS_KB / 1024,
               DESIGN_NODERED_START_MSEC / 1e3);
}

/* --- main --- */

static void usage(FILE *f) {
        fprintf(f,
                "Usage: anju-bench-latency [OPTIONS]\n"
                "Measures smoke message -> emergency call latency of anjud on 127.0.0.1, then its\n"
                "idle RSS, CPU and wake-ups, and its start-up time; optionally the same for Node-RED.\n\n"
                "  --alarms N        smoke sensors, one alarm each (default 1000)\n"
                "  --noise K         non-alarm messages before each alarm (default 10)\n"
                "  --idle S          idle window in seconds, after 5 s to settle; 0: none (default 30)\n"
                "  --anjud PATH      daemon to run (default $ANJUD, else ../src/anjud beside this\n"
                "                    program, else ../build/src/anjud)\n"
                "  --mosquitto PATH  broker binary (default /usr/sbin/mosquitto)\n"
                "  --db-dir DIR      put the database in a new directory under DIR (e.g. /dev/shm);\n"
                "                    default: the temp dir under /tmp\n"
                "  --broker-nodelay  set_tcp_nodelay true in the broker (its default is false: Nagle\n"
                "                    then holds a message to anjud until anjud ACKs the previous one)\n"
                "  --nodered DIR     then run the same against Node-RED installed in DIR (bench/nodered:\n"
                "                    node_modules/node-red, settings.js, flow.json) and compare\n"
                "  --node PATH       node binary for --nodered (default: node on PATH)\n"
                "  --gap MS          pause after each call before the next noise + alarm (default 0)\n"
                "  --noise-qos 0|1   QoS of the noise (default 0; 1 as an outside evaluator's publisher)\n"
                "  --default-queue   leave max_queued_messages at mosquitto's default (1000)\n"
                "  --raw FILE        write \"system alarm latency_us\" per alarm to FILE (-1: lost)\n"
                "  --quiet           print only the figures\n"
                "Exit status: 0 done, 1 an alarm was lost, 2 setup failed.\n");
}

static void parse_args(int argc, char **argv, struct opts *o) {
        enum { O_ALARMS = 0x100, O_NOISE, O_GAP, O_ANJUD, O_MOSQUITTO, O_DB_DIR, O_NODELAY, O_RAW,
               O_QUIET, O_IDLE, O_NODERED, O_NODE, O_NOISE_QOS, O_DEFAULT_QUEUE };
        static const struct option lo[] = {
                { "alarms", required_argument, NULL, O_ALARMS },
                { "noise", required_argument, NULL, O_NOISE },
                { "gap", required_argument, NULL, O_GAP },
                { "idle", required_argument, NULL, O_IDLE },
                { "anjud", required_argument, NULL, O_ANJUD },
                { "mosquitto", required_argument, NULL, O_MOSQUITTO },
                { "db-dir", required_argument, NULL, O_DB_DIR },
                { "broker-nodelay", no_argument, NULL, O_NODELAY },
                { "nodered", required_argument, NULL, O_NODERED },
                { "node", required_argument, NULL, O_NODE },
                { "raw", required_argument, NULL, O_RAW },
                { "noise-qos", required_argument, NULL, O_NOISE_QOS },
                { "default-queue", no_argument, NULL, O_DEFAULT_QUEUE },
                { "quiet", no_argument, NULL, O_QUIET },
                { "help", no_argument, NULL, 'h' },
                { NULL, 0, NULL, 0 },
        };
        int c;

        *o = (struct opts) { .alarms = 1000, .noise = 10, .idle_s = 30, .node = "node" };
        while ((c = getopt_long(argc, argv, "h", lo, NULL)) >= 0)
                switch (c) {
                case O_ALARMS: o->alarms = parse_count(optarg, "--alarms", 1, 9999); break;
                case O_NOISE: o->noise = parse_count(optarg, "--noise", 0, 100000); break;
                case O_GAP: o->gap_ms = parse_count(optarg, "--gap", 0, 60000); break;
                case O_IDLE: o->idle_s = parse_count(optarg, "--idle", 0, 3600); break;
                case O_ANJUD: o->anjud = optarg; break;
                case O_MOSQUITTO: o->mosquitto = optarg; break;
                case O_DB_DIR: o->db_dir = optarg; break;
                case O_NODELAY: o->broker_nodelay = true; break;
                case O_NODERED: o->nodered = optarg; break;
                case O_NODE: o->node = optarg; break;
                case O_RAW: o->raw = optarg; break;
                case O_NOISE_QOS: o->noise_qos = parse_count(optarg, "--noise-qos", 0, 1); break;
                case O_DEFAULT_QUEUE: o->default_queue = true; break;
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
                o->mosquitto = default_mosquitto();
        if (access(o->anjud, X_OK) != 0) {
                fprintf(stderr, "anju-bench-latency: anjud not found at %s (use --anjud or ANJUD=)\n", o->anjud);
                exit(2);
        }
}

int main(int argc, char **argv) {
        struct opts o;
        struct server srv;
        struct status_watch watch;
        struct mosquitto *watcher;
        struct figures fa = { 0 }, fn = { 0 };
        struct broker_conf bc;
        char db[PATH_MAX + 16], fs[PATH_MAX + 64], version[160] = "";
        FILE *raw = NULL;
        unsigned mport;

        bench_name = "anju-bench-latency";
        parse_args(argc, argv, &o);
        setup_signals();
        setvbuf(stdout, NULL, _IOLBF, 0);
        make_dirs(o.db_dir, db, sizeof db);
        describe_fs(o.db_dir ? bench.db_dir : bench.dir, fs, sizeof fs);
        mosquitto_lib_init();
        if (o.raw && !(raw = fopen(o.raw, "we")))
                die("cannot write %s: %s", o.raw, strerror(errno));

        bc = (struct broker_conf) { .path = o.mosquitto, .nodelay = o.broker_nodelay,
                                    .max_queued = o.default_queue ? 0 : 100000 };
        block_signals(true);
        server_start(&srv);
        mport = broker_start(&bc);
        watcher = status_watch_start(&watch, mport);
        block_signals(false);

        if (!o.quiet) {
                printf("anju-bench-latency: %u smoke sensors + 1 motion + 1 probe sensor, %u non-alarm messages "
                       "before each alarm, all on 127.0.0.1\n", o.alarms, o.noise);
                printf("  noise at QoS %u; broker max_queued_messages %s\n", o.noise_qos,
                       o.default_queue ? "1000 (its default)" : "100000");
                printf("  anjud      %s\n  broker     %s, port %u, set_tcp_nodelay %s\n"
                       "  dispatch   http://127.0.0.1:%u/alarms (a thread of this program, answers 201)\n",
                       o.anjud, o.mosquitto, mport, o.broker_nodelay ? "true" : "false (its default)", srv.port);
                print_load("at start");
        }
        printf("database: %s on %s\n", db, fs);
        probe_fdatasync(o.db_dir ? bench.db_dir : bench.dir);

        measure_broker_hop(&o, mport, false);
        if (!o.broker_nodelay)
                measure_broker_hop(&o, mport, true);
        run_anjud(&o, db, mport, &srv, &watch, raw, &fa);
        client_free(watcher, true);
        if (o.nodered) {
                run_nodered(&o, mport, &srv, raw, &fn, version, sizeof version);
                compare(&o, &fa, &fn, version);
        }
        if (!o.quiet)
                print_load("at end");
        if (raw && fclose(raw) != 0)
                die("cannot write %s: %s", o.raw, strerror(errno));
        server_stop(&srv);
        mosquitto_lib_cleanup();
        cleanup();
        free(fa.res.lat);
        free(fn.res.lat);
        return fa.res.lost || fn.res.lost ? 1 : 0;
}
