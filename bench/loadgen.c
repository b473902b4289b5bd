/* anju-bench-loadgen: the load generator. Publishes QoS 0 sensor messages
 * (Zigbee2MQTT motion payloads over N topics) through libmosquitto at a
 * paced rate or as fast as it can, and reports the rate it offered --
 * offered meaning written to the socket, so a broker that cannot keep up
 * shows as a lower rate, not as a queue in this process.
 *
 * --selftest (the default without --port) measures what it can offer on
 * this machine: into a sink that only counts (the generator's own
 * ceiling), into a private mosquitto with no subscriber (the broker's
 * ingest) and through it to one raw subscriber (the broker's forwarding,
 * the ceiling of anything that reads from it, anjud included). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "flood.h"
#include "harness.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TARGET_OFFER_PER_SEC 150000     /* issue 7: "able to offer >= 150,000 messages/s" */

struct opts {
        const char *host, *mosquitto, *prefix;
        unsigned port, topics, duration_s, qos, inflight;
        double rate;
        bool selftest;
};

struct gen {
        char (*topics)[48];
        unsigned n;
};

static const char *const payloads[2] = {
        "{\"battery\":95,\"illuminance\":12,\"linkquality\":120,\"occupancy\":true,\"voltage\":3000}",
        "{\"battery\":95,\"illuminance\":12,\"linkquality\":120,\"occupancy\":false,\"voltage\":3000}",
};

static void gen_next(void *ud, unsigned long i, const char **topic, const char **payload, int *len) {
        struct gen *g = ud;

        *topic = g->topics[i % g->n];
        *payload = payloads[(i / g->n) & 1];
        *len = (int) strlen(*payload);
}

static void gen_init(struct gen *g, const char *prefix, unsigned n) {
        g->n = n;
        g->topics = calloc(n, sizeof *g->topics);
        if (!g->topics)
                die("out of memory");
        for (unsigned i = 0; i < n; i++)
                snprintf(g->topics[i], sizeof g->topics[i], "%s%05u", prefix, i + 1);
}

static void print_result(const char *what, const struct flood_result *r) {
        printf("%-44s %9lu msgs in %.2f s = %8.0f msg/s (waited %.0f ms for a full socket)\n", what, r->sent,
               (double) r->elapsed_ns / 1e9, r->rate, (double) r->stalled_ns / 1e6);
}

/* Waits until the counter has n, or has seen nothing new for 500 ms. */
static unsigned long counter_settle(struct mqtt_counter *c, unsigned long n) {
        uint64_t deadline = now_ns() + 5 * NSEC_PER_SEC;
        unsigned long got = 0, prev = (unsigned long) -1;

        while (now_ns() < deadline && !interrupted) {
                got = counter_get(c, NULL);
                if (got >= n || got == prev)
                        break;
                prev = got;
                sleep_ns(500 * NSEC_PER_MSEC, true);
        }
        return got;
}

static void selftest(const struct opts *o, struct gen *g) {
        uint64_t dur = (uint64_t) o->duration_s * NSEC_PER_SEC;
        struct broker_conf bc = { .path = o->mosquitto, .nodelay = true };
        struct flood_result r, paced;
        struct mqtt_counter sink, sub;
        struct flood f;
        unsigned long got;
        unsigned port;

        printf("anju-bench-loadgen --selftest: QoS 0, %u topics, %zu-byte payloads, one connection, one thread\n",
               o->topics, strlen(payloads[0]));
        print_load("at start");

        /* 1. The generator alone: a sink that reads 256 KiB at a time. */
        block_signals(true);
        port = counter_start_sink(&sink);
        block_signals(false);
        flood_connect(&f, "127.0.0.1", port);
        flood_run(&f, 0, dur, gen_next, g, NULL, NULL, NULL, &r);
        got = counter_settle(&sink, r.sent);
        print_result("into a counting sink, as fast as it can:", &r);
        printf("  the sink counted %lu of them\n", got);
        printf("target: offer >= %d msg/s (issue 7): %s", TARGET_OFFER_PER_SEC, verdict(r.rate >= TARGET_OFFER_PER_SEC));
        if (r.rate < TARGET_OFFER_PER_SEC)
                printf(" by %.0f msg/s", TARGET_OFFER_PER_SEC - r.rate);
        printf("\n");
        flood_run(&f, TARGET_OFFER_PER_SEC, dur, gen_next, g, NULL, NULL, NULL, &paced);
        print_result("into the sink, paced at 150,000 msg/s:", &paced);
        flood_disconnect(&f);
        counter_stop(&sink);
        if (interrupted)
                die("interrupted");

        /* 2. Into mosquitto with nobody subscribed: what the broker reads. */
        port = broker_start(&bc);
        flood_connect(&f, "127.0.0.1", port);
        flood_run(&f, 0, dur, gen_next, g, NULL, NULL, NULL, &r);
        print_result("into mosquitto, no subscriber:", &r);
        flood_disconnect(&f);

        /* 3. Through mosquitto to one subscriber that costs next to nothing. */
        block_signals(true);
        counter_start_subscriber(&sub, port, "bench/#");
        block_signals(false);
        flood_connect(&f, "127.0.0.1", port);
        flood_run(&f, 0, dur, gen_next, g, NULL, NULL, NULL, &r);
        got = counter_settle(&sub, r.sent);
        print_result("into mosquitto, one raw subscriber:", &r);
        printf("  delivered to the subscriber: %lu (%.0f msg/s over the offer's time; %lu not delivered)\n", got,
               (double) got * 1e9 / (double) r.elapsed_ns, r.sent - (got < r.sent ? got : r.sent));
        flood_disconnect(&f);
        counter_stop(&sub);
        print_load("at end");
}

static void usage(FILE *f) {
        fprintf(f,
                "Usage: anju-bench-loadgen [OPTIONS]\n"
                "Publishes QoS 0 Zigbee2MQTT motion messages and reports the rate offered.\n\n"
                "  --selftest        measure the generator, mosquitto's ingest and its forwarding\n"
                "                    on this machine (the default without --port)\n"
                "  --host HOST       broker to load (default 127.0.0.1)\n"
                "  --port PORT       broker port: load that broker instead of the self-test\n"
                "  --rate N          messages per second, 0 = as fast as possible (default 0)\n"
                "  --duration S      seconds (default 3)\n"
                "  --topics N        topics PREFIX00001..PREFIXN, round robin (default 1000)\n"
                "  --prefix P        topic prefix (default bench/m)\n"
                "  --qos 0|1         with --port: QoS of the messages (default 0); the rate is then\n"
                "                    what the broker acknowledged\n"
                "  --inflight N      QoS 1: at most N unacknowledged, 0 = no limit (default 20,\n"
                "                    paho's and libmosquitto's default)\n"
                "  --mosquitto PATH  broker binary for --selftest (default /usr/sbin/mosquitto)\n");
}

static void parse_args(int argc, char **argv, struct opts *o) {
        enum { O_SELF = 0x100, O_HOST, O_PORT, O_RATE, O_DUR, O_TOPICS, O_PREFIX, O_MOSQ, O_QOS, O_INFLIGHT };
        static const struct option lo[] = {
                { "selftest", no_argument, NULL, O_SELF },
                { "host", required_argument, NULL, O_HOST },
                { "port", required_argument, NULL, O_PORT },
                { "rate", required_argument, NULL, O_RATE },
                { "duration", required_argument, NULL, O_DUR },
                { "topics", required_argument, NULL, O_TOPICS },
                { "prefix", required_argument, NULL, O_PREFIX },
                { "mosquitto", required_argument, NULL, O_MOSQ },
                { "qos", required_argument, NULL, O_QOS },
                { "inflight", required_argument, NULL, O_INFLIGHT },
                { "help", no_argument, NULL, 'h' },
                { NULL, 0, NULL, 0 },
        };
        int c;

        *o = (struct opts) { .host = "127.0.0.1", .prefix = "bench/m", .topics = 1000, .duration_s = 3,
                             .inflight = 20 };
        while ((c = getopt_long(argc, argv, "h", lo, NULL)) >= 0)
                switch (c) {
                case O_SELF: o->selftest = true; break;
                case O_HOST: o->host = optarg; break;
                case O_PORT: o->port = parse_count(optarg, "--port", 1, 65535); break;
                case O_RATE: o->rate = parse_count(optarg, "--rate", 0, 100000000); break;
                case O_DUR: o->duration_s = parse_count(optarg, "--duration", 1, 3600); break;
                case O_TOPICS: o->topics = parse_count(optarg, "--topics", 1, 99999); break;
                case O_PREFIX: o->prefix = optarg; break;
                case O_MOSQ: o->mosquitto = optarg; break;
                case O_QOS: o->qos = parse_count(optarg, "--qos", 0, 1); break;
                case O_INFLIGHT: o->inflight = parse_count(optarg, "--inflight", 0, 65535); break;
                case 'h': usage(stdout); exit(0);
                default: usage(stderr); exit(2);
                }
        if (optind < argc) {
                fprintf(stderr, "anju-bench-loadgen: unexpected argument \"%s\"\n", argv[optind]);
                exit(2);
        }
        if (!o->port)
                o->selftest = true;
        if (!o->mosquitto)
                o->mosquitto = default_mosquitto();
}

int main(int argc, char **argv) {
        struct opts o;
        struct gen g;

        bench_name = "anju-bench-loadgen";
        parse_args(argc, argv, &o);
        setup_signals();
        setvbuf(stdout, NULL, _IOLBF, 0);
        mosquitto_lib_init();
        gen_init(&g, o.prefix, o.topics);
        if (o.selftest) {
                block_signals(true);
                make_dirs(NULL, NULL, 0);
                block_signals(false);
                selftest(&o, &g);
        } else {
                struct flood f;
                struct flood_result r;

                flood_connect(&f, o.host, o.port);
                flood_set_qos(&f, (int) o.qos, o.inflight);
                flood_run(&f, o.rate, (uint64_t) o.duration_s * NSEC_PER_SEC, gen_next, &g, NULL, NULL, NULL, &r);
                print_result(o.rate > 0 ? "offered (paced):" : "offered (as fast as possible):", &r);
                if (o.qos)
                        printf("  QoS 1, at most %u unacknowledged (0: 65535): %lu of %lu acknowledged, %.0f msg/s "
                               "acknowledged (waits for PUBACKs count as waits above)\n", o.inflight, r.acked, r.sent,
                               (double) r.acked * 1e9 / (double) r.elapsed_ns);
                flood_disconnect(&f);
        }
        mosquitto_lib_cleanup();
        cleanup();
        free(g.topics);
        return interrupted ? 2 : 0;
}
