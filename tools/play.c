/* anju-play: plays a scenario file — timed sensor messages — to an MQTT
 * broker, on the same scaled clock as `anjud --time-scale N --clock-start
 * T`. Used by the demo and by tests; the format is in docs/SCENARIOS.md:
 *
 *     # comment
 *     07:00      zigbee2mqtt/living_pir  {"occupancy":true}
 *     07:00:30   retain zigbee2mqtt/front_door {"contact":true}
 *     +2m        band/ye {"heart_rate":72}
 *     say        She gets up.
 *
 * A time is the daemon's local time of day (HH:MM[:SS]) or "+DURATION"
 * after the previous line; "say" prints a line for the audience. */
#include "anju-build.h"
#include "util.h"
#include "anju/event.h"

#include <errno.h>
#include <getopt.h>
#include <mosquitto.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct step {
        uint64_t at;                    /* usec of simulated time after the start */
        bool retain, say;
        char *topic, *payload;          /* say: payload is the text */
        unsigned line;
};

static void usage(FILE *f) {
        fprintf(f, "Usage: anju-play [OPTIONS] SCENARIO\n"
                   "Publishes a scenario's timed sensor messages to an MQTT broker.\n\n"
                   "  -H, --host HOST         broker (default 127.0.0.1)\n"
                   "  -p, --port PORT         broker port (default 1883)\n"
                   "  -s, --time-scale N      play N times faster than real time (as anjud --time-scale)\n"
                   "  -t, --start HH:MM       the simulated time of day the play starts at (as anjud\n"
                   "                          --clock-start); lines before it are played at once\n"
                   "  -n, --check             check the file and print the steps; publish nothing\n"
                   "  -h, --help\n\n"
                   "Format (docs/SCENARIOS.md): one step per line, \"TIME [retain] TOPIC PAYLOAD\",\n"
                   "\"TIME say TEXT\" or a comment; TIME is HH:MM[:SS] or +DURATION (+30s, +2m).\n");
}

/* HH:MM or HH:MM:SS → seconds after midnight. */
static int parse_clock(const char *s, unsigned *ret) {
        unsigned h, m, sec = 0;
        char extra;

        if (sscanf(s, "%u:%u:%u%c", &h, &m, &sec, &extra) != 3 && (sec = 0, sscanf(s, "%u:%u%c", &h, &m, &extra) != 2))
                return -EINVAL;
        if (h > 23 || m > 59 || sec > 59)
                return -ERANGE;
        *ret = h * 3600 + m * 60 + sec;
        return 0;
}

static int load(const char *path, unsigned start, struct step **ret, size_t *ret_n) {
        FILE *f = fopen(path, "re");
        struct step *v = NULL;
        size_t n = 0, cap = 0;
        char line[8192];
        unsigned lineno = 0;
        uint64_t prev = 0;
        int errors = 0;

        if (!f) {
                fprintf(stderr, "anju-play: cannot open %s: %s\n", path, strerror(errno));
                return -errno;
        }
        while (fgets(line, sizeof line, f)) {
                char *p = line, *tok, *rest;
                struct step st = { .line = ++lineno };
                unsigned secs;
                uint64_t d;

                line[strcspn(line, "\r\n")] = '\0';
                while (*p == ' ' || *p == '\t')
                        p++;
                if (!*p || *p == '#')
                        continue;
                tok = p;
                p += strcspn(p, " \t");
                if (*p)
                        *p++ = '\0';
                while (*p == ' ' || *p == '\t')
                        p++;
                if (tok[0] == '+') {
                        if (parse_duration(tok + 1, &d) < 0) {
                                fprintf(stderr, "%s:%u: \"%s\" is not +DURATION (e.g. +30s, +2m)\n", path, lineno, tok);
                                errors++;
                                continue;
                        }
                        st.at = prev + d;
                } else if (parse_clock(tok, &secs) == 0) {
                        /* A time of day: after the start, wrapping past midnight. */
                        uint64_t day = (uint64_t) ((secs + 86400 - start) % 86400) * USEC_PER_SEC;
                        while (day < prev)
                                day += USEC_PER_DAY;    /* past midnight: the next day */
                        st.at = day;
                } else {
                        fprintf(stderr, "%s:%u: \"%s\" is not a time (HH:MM[:SS] or +DURATION)\n", path, lineno, tok);
                        errors++;
                        continue;
                }
                if (st.at < prev) {
                        fprintf(stderr, "%s:%u: goes back in time\n", path, lineno);
                        errors++;
                        continue;
                }
                prev = st.at;
                tok = p;
                p += strcspn(p, " \t");
                rest = p;
                if (*rest)
                        *rest++ = '\0';
                while (*rest == ' ' || *rest == '\t')
                        rest++;
                if (strcmp(tok, "say") == 0) {
                        st.say = true;
                        st.payload = strdup(rest);
                } else {
                        if (strcmp(tok, "retain") == 0) {
                                st.retain = true;
                                tok = rest;
                                rest += strcspn(rest, " \t");
                                if (*rest)
                                        *rest++ = '\0';
                                while (*rest == ' ' || *rest == '\t')
                                        rest++;
                        }
                        if (!*tok || strpbrk(tok, "+#") || !*rest) {
                                fprintf(stderr, "%s:%u: expected TOPIC PAYLOAD (a plain topic, then the message)\n",
                                        path, lineno);
                                errors++;
                                continue;
                        }
                        st.topic = strdup(tok);
                        st.payload = strdup(rest);
                }
                if (n == cap) {
                        struct step *nv = realloc(v, (cap = cap ? cap * 2 : 64) * sizeof *v);
                        if (!nv) {
                                free(st.topic), free(st.payload);
                                for (size_t i = 0; i < n; i++)
                                        free(v[i].topic), free(v[i].payload);
                                free(v);
                                fclose(f);
                                return -ENOMEM;
                        }
                        v = nv;
                }
                v[n++] = st;
        }
        fclose(f);
        if (errors) {
                for (size_t i = 0; i < n; i++)
                        free(v[i].topic), free(v[i].payload);
                free(v);
                return -EINVAL;
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

static volatile int acked;

static void on_publish(struct mosquitto *mosq, void *userdata, int mid) {
        (void) mosq, (void) userdata, (void) mid;
        __atomic_add_fetch(&acked, 1, __ATOMIC_SEQ_CST);
}

static uint64_t mono_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000;
}

int main(int argc, char **argv) {
        static const struct option opts[] = {
                { "host", required_argument, NULL, 'H' }, { "port", required_argument, NULL, 'p' },
                { "time-scale", required_argument, NULL, 's' }, { "start", required_argument, NULL, 't' },
                { "check", no_argument, NULL, 'n' }, { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
        };
        const char *host = "127.0.0.1";
        long long port = 1883;
        double scale = 1.0;
        unsigned start = 0;
        bool check = false;
        struct step *steps = NULL;
        size_t n = 0;
        struct mosquitto *m = NULL;
        uint64_t t0;
        char *end;
        int c, rc = 0;

        while ((c = getopt_long(argc, argv, "H:p:s:t:nh", opts, NULL)) >= 0)
                switch (c) {
                case 'H': host = optarg; break;
                case 'p':
                        if (parse_int_range(optarg, 1, 65535, &port) < 0)
                                return fprintf(stderr, "anju-play: bad port %s\n", optarg), 2;
                        break;
                case 's':
                        scale = strtod(optarg, &end);
                        if (*end || !(scale >= 1.0 && scale <= 100000.0))
                                return fprintf(stderr, "anju-play: --time-scale expects 1 to 100000\n"), 2;
                        break;
                case 't':
                        if (parse_clock(optarg, &start) < 0)
                                return fprintf(stderr, "anju-play: --start expects HH:MM\n"), 2;
                        break;
                case 'n': check = true; break;
                case 'h': usage(stdout); return 0;
                default: usage(stderr); return 2;
                }
        if (optind != argc - 1) {
                usage(stderr);
                return 2;
        }
        if (load(argv[optind], start, &steps, &n) < 0)
                return 1;
        if (!check) {
                mosquitto_lib_init();
                m = mosquitto_new(NULL, true, NULL);
                if (m)
                        mosquitto_publish_callback_set(m, on_publish);
                if (!m || mosquitto_connect(m, host, (int) port, 30) != MOSQ_ERR_SUCCESS ||
                    mosquitto_loop_start(m) != MOSQ_ERR_SUCCESS) {
                        fprintf(stderr, "anju-play: cannot reach the broker at %s:%lld\n", host, port);
                        for (size_t i = 0; i < n; i++)
                                free(steps[i].topic), free(steps[i].payload);
                        free(steps);
                        return 3;
                }
        }
        t0 = mono_usec();
        for (size_t i = 0; i < n; i++) {
                uint64_t due = t0 + (uint64_t) ((double) steps[i].at / scale), now = mono_usec();
                unsigned sim = (unsigned) ((start + steps[i].at / USEC_PER_SEC) % 86400);

                if (!check && due > now) {
                        struct timespec d = { (time_t) ((due - now) / USEC_PER_SEC),
                                              (long) ((due - now) % USEC_PER_SEC) * 1000 };
                        nanosleep(&d, NULL);    /* the scenario's own timing */
                }
                if (steps[i].say)
                        printf("[%02u:%02u:%02u] %s\n", sim / 3600, sim / 60 % 60, sim % 60, steps[i].payload);
                else
                        printf("[%02u:%02u:%02u] %s%s ← %s\n", sim / 3600, sim / 60 % 60, sim % 60, steps[i].topic,
                               steps[i].retain ? " (retained)" : "", steps[i].payload);
                fflush(stdout);
                if (!check && !steps[i].say &&
                    mosquitto_publish(m, NULL, steps[i].topic, (int) strlen(steps[i].payload), steps[i].payload, 1,
                                      steps[i].retain) != MOSQ_ERR_SUCCESS) {
                        fprintf(stderr, "anju-play: line %u: publish failed\n", steps[i].line);
                        rc = 1;
                }
        }
        if (m) {
                int published = 0;
                for (size_t i = 0; i < n; i++)
                        published += !steps[i].say;
                /* Every message acknowledged by the broker before we go (5 s at most). */
                for (int i = 0; i < 500 && __atomic_load_n(&acked, __ATOMIC_SEQ_CST) < published; i++) {
                        struct timespec d = { 0, 10 * 1000000L };
                        nanosleep(&d, NULL);
                }
                if (__atomic_load_n(&acked, __ATOMIC_SEQ_CST) < published) {
                        fprintf(stderr, "anju-play: the broker did not acknowledge every message\n");
                        rc = 1;
                }
                mosquitto_disconnect(m);
                mosquitto_loop_stop(m, false);
                mosquitto_destroy(m);
                mosquitto_lib_cleanup();
        }
        for (size_t i = 0; i < n; i++)
                free(steps[i].topic), free(steps[i].payload);
        free(steps);
        return rc;
}
