/* anjud: the home-safety daemon. Parses the command line and the
 * configuration, then hands over to the hub's event loop. */
#include "anju-build.h"
#include "clock.h"
#include "config.h"
#include "ctlcmd.h"
#include "gpio.h"
#include "hub.h"
#include "log.h"
#include "store.h"
#include "util.h"

#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <mosquitto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void usage(FILE *f) {
        fprintf(f,
                "Usage: anjud [OPTIONS]\n"
                "Watches an elderly person's home (smoke, motion, doors, wristband) and\n"
                "escalates alarms to volunteers and the grid dispatch center.\n\n"
                "  -c, --config FILE     configuration file (default %s/anju.conf);\n"
                "                        *.conf files in conf.d/ beside it are read too\n"
                "      --check-config    validate the configuration and exit (0 if valid)\n"
                "      --stats [--days N] print the response statistics (time to acknowledge,\n"
                "                        arrive, resolve; median and p90) and exit\n"
                "      --time-scale N    run the daemon's clock N times faster (1..100000),\n"
                "                        for demonstrations and tests only\n"
                "      --clock-start T   with --time-scale: start the clock at local time\n"
                "                        T (\"2026-11-23 07:00\"), in the hub's time zone\n"
                "      --clock-sync S    synced or unsynced: what to take the system clock for\n"
                "                        instead of asking the kernel (tests only)\n"
                "  -v, --verbose         log debug messages\n"
                "      --version         print the version and exit\n"
                "  -h, --help            print this help and exit\n",
                ANJU_SYSCONFDIR);
}

static void figure(const char *what, const struct response_figure *f, size_t total) {
        char med[32], p90[32];

        if (f->n == 0) {
                printf("  %-22s -\n", what);
                return;
        }
        printf("  %-22s median %-10s p90 %-10s (%zu of %zu)\n", what,
               format_duration(med, sizeof med, f->median), format_duration(p90, sizeof p90, f->p90),
               f->n, total);
}

/* --stats: the response figures the grid centers report, from the database. */
static int print_stats(const struct config *cfg, unsigned days) {
        struct response_stats rs;
        struct store *st;
        uint64_t now = now_wall(), span = (uint64_t) days * USEC_PER_DAY;

        if (store_open(cfg->hub.database, &st) < 0)
                return 1;
        if (store_response_stats(st, now > span ? now - span : 0, &rs) < 0) {
                store_close(st);
                return 1;
        }
        printf("Response statistics, hub %s, incidents opened in the last %u days: %zu\n", cfg->hub.id, days,
               rs.incidents);
        figure("time to acknowledge", &rs.ack, rs.incidents);
        figure("time to arrive", &rs.onsite, rs.incidents);
        figure("time to resolve", &rs.resolve, rs.incidents);
        printf("  %-22s %zu of %zu (%.0f %%)\n", "resolved within 10 min", rs.resolved_within_10min,
               rs.incidents, rs.incidents ? 100.0 * (double) rs.resolved_within_10min / (double) rs.incidents : 0.0);
        store_close(st);
        return 0;
}

static void print_config_error(const char *msg, void *userdata) {
        (void) userdata;
        fprintf(stderr, "%s\n", msg);
}

static void print_config_warning(const char *msg, void *userdata) {
        (void) userdata;
        fprintf(stderr, "warning: %s\n", msg);
}

static void log_config_warning(const char *msg, void *userdata) {
        (void) userdata;
        log_warning("%s", msg);
}

/* --check-config: every GPIO line's chip and offset exist and no other
 * program holds the line. 0 or 1, with file:line messages on stderr. */
static int check_gpio(const struct config *cfg) {
        int bad = 0;

        for (size_t i = 0; i < cfg->n_sensors; i++) {
                const struct sensor_conf *s = &cfg->sensors[i];
                char why[256];
                if (!s->gpio_chip || s->gpio_line < 0)
                        continue;
                if (gpio_probe(s->gpio_chip, (unsigned) s->gpio_line, why, sizeof why) < 0) {
                        fprintf(stderr, "%s:%u: [sensor %s] gpio_chip: %s\n", s->file, s->line, s->id, why);
                        bad = 1;
                }
        }
        return bad;
}

int main(int argc, char **argv) {
        enum { OPT_CHECK = 0x100, OPT_VERSION, OPT_SCALE, OPT_START, OPT_STATS, OPT_DAYS, OPT_SYNC };
        static const struct option opts[] = {
                { "config", required_argument, NULL, 'c' },
                { "check-config", no_argument, NULL, OPT_CHECK },
                { "verbose", no_argument, NULL, 'v' },
                { "version", no_argument, NULL, OPT_VERSION },
                { "help", no_argument, NULL, 'h' },
                { "time-scale", required_argument, NULL, OPT_SCALE },
                { "clock-start", required_argument, NULL, OPT_START },
                { "stats", no_argument, NULL, OPT_STATS },
                { "days", required_argument, NULL, OPT_DAYS },
                { "clock-sync", required_argument, NULL, OPT_SYNC },
                { NULL, 0, NULL, 0 },
        };
        const char *path = ANJU_SYSCONFDIR "/anju.conf";
        bool check = false, stats = false;
        long long days = 30;
        double scale = 1.0;
        const char *start = NULL;
        uint64_t start_wall = 0;
        char *end;
        struct config *cfg = NULL;
        struct hub *hub;
        int c, r;

        while ((c = getopt_long(argc, argv, "c:vh", opts, NULL)) >= 0)
                switch (c) {
                case 'c': path = optarg; break;
                case 'v': log_set_max_level(LOG_DEBUG); break;
                case OPT_CHECK: check = true; break;
                case OPT_VERSION: printf("anjud %s\n", ANJU_VERSION); return 0;
                case 'h': usage(stdout); return 0;
                case OPT_SCALE:
                        errno = 0;
                        scale = strtod(optarg, &end);
                        if (errno || end == optarg || *end || !(scale >= 1.0 && scale <= 100000.0)) {
                                fprintf(stderr, "anjud: --time-scale \"%s\": expected a number from 1 to 100000\n",
                                        optarg);
                                return 2;
                        }
                        break;
                case OPT_START: start = optarg; break;
                case OPT_SYNC:
                        if (strcmp(optarg, "synced") != 0 && strcmp(optarg, "unsynced") != 0) {
                                fprintf(stderr, "anjud: --clock-sync \"%s\": expected synced or unsynced\n", optarg);
                                return 2;
                        }
                        clock_force_sync(strcmp(optarg, "synced") == 0 ? CLOCK_SYNCED : CLOCK_UNSYNCED);
                        break;
                case OPT_STATS: stats = true; break;
                case OPT_DAYS:
                        if (parse_int_range(optarg, 1, 3650, &days) < 0) {
                                fprintf(stderr, "anjud: --days \"%s\": expected a whole number from 1 to 3650\n", optarg);
                                return 2;
                        }
                        break;
                default: usage(stderr); return 2;
                }
        if (optind < argc) {
                fprintf(stderr, "anjud: unexpected argument \"%s\"\n", argv[optind]);
                return 2;
        }
        r = config_load(path, print_config_error, NULL, &cfg);
        if (r >= 0 && !stats)
                r = config_load_secrets(cfg, print_config_error, check ? print_config_warning : log_config_warning,
                                        NULL);
        if (r < 0) {
                fprintf(stderr, "anjud: configuration %s is not valid\n", path);
                config_free(cfg);
                return 1;
        }
        if (start) {
                struct tm tm = { .tm_isdst = -1 };
                const char *rest;
                time_t t;

                if (cfg->hub.timezone)
                        setenv("TZ", cfg->hub.timezone, 1);
                tzset();
                rest = strptime(start, "%Y-%m-%d %H:%M", &tm);
                if (!rest || *rest || (t = mktime(&tm)) == (time_t) -1) {
                        fprintf(stderr, "anjud: --clock-start \"%s\": expected local time \"YYYY-MM-DD HH:MM\"\n", start);
                        config_free(cfg);
                        return 2;
                }
                start_wall = (uint64_t) t * 1000000;
        }
        if (stats) {
                if (cfg->hub.timezone)
                        setenv("TZ", cfg->hub.timezone, 1);
                tzset();
                r = print_stats(cfg, (unsigned) days);
                config_free(cfg);
                return r;
        }
        if (check) {
                r = check_gpio(cfg);
                if (r == 0)
                        printf("%s: valid (%zu sensors, %zu contacts)\n", path, cfg->n_sensors, cfg->n_contacts);
                else
                        fprintf(stderr, "anjud: configuration %s is not valid\n", path);
                config_free(cfg);
                return r;
        }
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || mosquitto_lib_init() != MOSQ_ERR_SUCCESS) {
                config_free(cfg);
                return log_error("cannot initialise libcurl or libmosquitto"), 1;
        }
        clock_setup(scale, start_wall);
        if (scale != 1.0 || start_wall)
                log_warning("TIME SCALE x%g%s%s: this daemon's clock is not the real time. For "
                            "demonstrations and tests only, never in a home.", scale,
                            start ? ", starting at " : "", start ? start : "");
        r = hub_new(cfg, &hub);
        if (r >= 0) {
                struct ctlcmd *ctl = NULL;
                bool reload;

                hub_set_argv(hub, argv);
                /* Operators' commands: without them the home is still watched. */
                (void) ctlcmd_new(hub, &ctl);
                r = hub_run(hub);
                reload = r >= 0 && hub_reload_requested(hub);
                ctlcmd_free(ctl);
                hub_free(hub);
                if (reload) {
                        /* A validated reload: the same program and arguments, from
                         * the database and retained state (systemd sees the same
                         * PID, RELOADING=1 then READY=1). */
                        mosquitto_lib_cleanup();
                        curl_global_cleanup();
                        execv("/proc/self/exe", argv);
                        log_error("reload: cannot re-execute: %m; exiting for systemd to restart");
                        return 1;
                }
        }
        mosquitto_lib_cleanup();
        curl_global_cleanup();
        return r < 0 ? 1 : 0;
}
