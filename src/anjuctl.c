/* anjuctl: the operators' tool. Talks to anjud over its control socket
 * (one JSON object per line, docs/CONTROL.md); output for people by
 * default, --json for scripts. Exit codes: 0 done, 1 anjud refused or the
 * action failed, 2 usage, 3 anjud not reachable, 4 no such incident,
 * sensor or setting. */
#include "anju-build.h"
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

enum { EXIT_REFUSED = 1, EXIT_USAGE = 2, EXIT_UNREACHABLE = 3, EXIT_NOT_FOUND = 4 };

struct cmd {
        const char *name;
        const char *args;
        const char *help;
};

static const struct cmd cmds[] = {
        { "status", "", "the hub: broker, dispatch link, outbox, open incidents, presence" },
        { "sensors", "", "every sensor: online, last seen, battery, last value" },
        { "incidents", "[--open] [--limit N]", "incidents, newest first" },
        { "show", "ID", "one incident and its timeline, in order" },
        { "ack", "ID [--note TEXT]", "acknowledge: someone is going" },
        { "arrived", "ID [--note TEXT]", "someone is with the resident" },
        { "resolve", "ID [--note TEXT]", "close the incident as resolved" },
        { "cancel", "ID [--note TEXT]", "cancel a fall pre-alarm, or close an incident as a false alarm" },
        { "get", "[KEY] [--history]", "thresholds in force (all, or one); --history: who changed what" },
        { "set", "KEY VALUE", "change a threshold now (checked like the file, stored, audited)" },
        { "test", "dispatch | receiver NAME | sensor ID [--timeout S]",
          "a test call to the center, a 602 test report to a DC-09 receiver; or wait for a sensor" },
        { "walktest", "", "commissioning: each sensor is marked as it fires, until all have or Ctrl-C" },
        { "report", "[--days N]", "activity per hour per room over the last days (default 7)" },
        { "location", "", "the wristband's last position: age, inside or outside the safe zone, distance" },
        { NULL, NULL, NULL },
};

static bool json_out;
static volatile sig_atomic_t interrupted;
/* The signal mask inside ppoll(): SIGINT is blocked everywhere else, so a
 * Ctrl-C between the test of `interrupted` and the wait cannot be lost. */
static sigset_t wait_mask;

static void usage(FILE *f) {
        fprintf(f, "Usage: anjuctl [-s SOCKET | -c CONFIG] [--json] COMMAND [ARGS]\n"
                   "Controls anjud, the home-safety hub, over its control socket.\n\nCommands:\n");
        for (const struct cmd *c = cmds; c->name; c++)
                fprintf(f, "  %-9s %-34s %s\n", c->name, c->args, c->help);
        fprintf(f, "\nOptions:\n"
                   "  -s, --socket PATH   control socket (default: [hub] ctl_socket of -c, $ANJU_CTL_SOCKET,\n"
                   "                      or /run/anju/ctl.sock)\n"
                   "  -c, --config FILE   read the socket path from this configuration\n"
                   "      --json          print anjud's answers as JSON, one object per line\n"
                   "  -h, --help          this help; COMMAND --help for one command\n"
                   "      --version\n\n"
                   "Exit status: 0 done, 1 refused or failed, 2 usage, 3 anjud not reachable,\n"
                   "4 no such incident, sensor or setting.\n");
}

static int cmd_usage(const char *name, FILE *f) {
        for (const struct cmd *c = cmds; c->name; c++)
                if (strcmp(c->name, name) == 0) {
                        fprintf(f, "Usage: anjuctl %s %s\n%s.\n", c->name, c->args, c->help);
                        return f == stdout ? 0 : EXIT_USAGE;
                }
        fprintf(stderr, "anjuctl: unknown command \"%s\" (anjuctl --help lists them)\n", name);
        return EXIT_USAGE;
}

/* --- the connection ------------------------------------------------------ */

struct conn {
        int fd;
        char buf[1 << 16];
        size_t len;
};

static int conn_open(struct conn *c, const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };

        c->len = 0;
        c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (c->fd < 0 || strlen(path) >= sizeof sa.sun_path)
                return -EINVAL;
        snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
        if (connect(c->fd, (struct sockaddr *) &sa, sizeof sa) < 0)
                return -errno;
        return 0;
}

static int conn_send(struct conn *c, json_t *req) {
        char *line = json_dumps(req, JSON_COMPACT);
        size_t l, off = 0;

        json_decref(req);
        if (!line)
                return -ENOMEM;
        l = strlen(line);
        while (off < l) {
                ssize_t k = write(c->fd, line + off, l - off);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0) {
                        free(line);
                        return -EIO;
                }
                off += (size_t) k;
        }
        free(line);
        return write(c->fd, "\n", 1) == 1 ? 0 : -EIO;
}

/* The next answer line; NULL on EOF, error or Ctrl-C. timeout_ms < 0: none. */
static json_t *conn_recv(struct conn *c, int timeout_ms) {
        for (;;) {
                char *nl = memchr(c->buf, '\n', c->len);
                struct pollfd p = { .fd = c->fd, .events = POLLIN };
                struct timespec ts = { .tv_sec = timeout_ms / 1000, .tv_nsec = (timeout_ms % 1000) * 1000000L };
                ssize_t k;

                if (nl) {
                        json_t *j;
                        size_t used = (size_t) (nl - c->buf) + 1;
                        *nl = '\0';
                        j = json_loads(c->buf, 0, NULL);
                        memmove(c->buf, c->buf + used, c->len - used);
                        c->len -= used;
                        return j;
                }
                if (c->len == sizeof c->buf || interrupted)
                        return NULL;
                if (ppoll(&p, 1, timeout_ms < 0 ? NULL : &ts, &wait_mask) <= 0)
                        return NULL;
                k = read(c->fd, c->buf + c->len, sizeof c->buf - c->len);
                if (k <= 0)
                        return NULL;
                c->len += (size_t) k;
        }
}

/* --- printing ------------------------------------------------------------ */

static const char *s_or(json_t *o, const char *k, const char *def) {
        const char *v = json_string_value(json_object_get(o, k));
        return v ? v : def;
}

/* "2026-11-23T09:12:40+08:00" → "11-23 09:12:40" */
static const char *short_time(const char *t, char *buf, size_t n) {
        if (!t || strlen(t) < 19)
                return t ? t : "-";
        snprintf(buf, n, "%.5s %.8s", t + 5, t + 11);
        return buf;
}

static void print_status(json_t *j) {
        json_t *b = json_object_get(j, "broker"), *d = json_object_get(j, "dispatch"), *s = json_object_get(j, "sensors");
        json_t *open = json_object_get(j, "open_incidents");
        char t[32];

        printf("hub          %s (anjud %s)%s\n", s_or(j, "hub", "?"), s_or(j, "version", "?"),
               json_real_value(json_object_get(j, "time_scale")) != 1.0 ? "  [TIME SCALED: demo or test]" : "");
        printf("resident     %s, %s (last activity %s)\n", s_or(j, "resident", "?"), s_or(j, "presence", "?"),
               short_time(s_or(j, "last_activity", NULL), t, sizeof t));
        printf("broker       %s:%lld %s\n", s_or(b, "host", "?"), (long long) json_integer_value(json_object_get(b, "port")),
               json_is_true(json_object_get(b, "connected")) ? "connected" : "NOT CONNECTED");
        printf("dispatch     %s, link %s, %lld pending, %lld delivered\n", s_or(d, "url", "?"),
               json_is_true(json_object_get(d, "link_up")) ? "up" : "DOWN",
               (long long) json_integer_value(json_object_get(d, "pending")),
               (long long) json_integer_value(json_object_get(d, "delivered")));
        printf("outbox       %lld waiting\n", (long long) json_integer_value(json_object_get(j, "outbox_depth")));
        printf("sensors      %lld, %lld offline\n", (long long) json_integer_value(json_object_get(s, "total")),
               (long long) json_integer_value(json_object_get(s, "offline")));
        printf("incidents    %zu open\n", json_array_size(open));
        for (size_t i = 0; i < json_array_size(open); i++)
                printf("             %s  %s\n", s_or(json_array_get(open, i), "id", "?"),
                       s_or(json_array_get(open, i), "type", "?"));
}

static void print_sensors(json_t *j) {
        json_t *list = json_object_get(j, "sensors");
        char t[32], bat[16], val[24];

        printf("%-18s %-10s %-12s %-8s %-15s %-8s %s\n", "SENSOR", "KIND", "ROOM", "ONLINE", "LAST SEEN", "BATTERY", "VALUE");
        for (size_t i = 0; i < json_array_size(list); i++) {
                json_t *s = json_array_get(list, i);
                json_t *b = json_object_get(s, "battery"), *v = json_object_get(s, "value");
                snprintf(bat, sizeof bat, json_is_number(b) ? "%.0f%%" : "-", json_number_value(b));
                snprintf(val, sizeof val, json_is_number(v) ? "%g" : "-", json_number_value(v));
                printf("%-18s %-10s %-12s %-8s %-15s %-8s %s\n", s_or(s, "id", "?"), s_or(s, "kind", "?"),
                       s_or(s, "room", "-"), json_is_true(json_object_get(s, "online")) ? "yes"
                                             : json_is_null(json_object_get(s, "online")) ? "unknown" : "NO",
                       short_time(s_or(s, "last_seen", NULL), t, sizeof t), bat, val);
        }
}

static void print_incidents(json_t *j) {
        json_t *list = json_object_get(j, "incidents");
        char t[32];

        if (json_array_size(list) == 0) {
                printf("no incidents\n");
                return;
        }
        printf("%-16s %-14s %-9s %-10s %-15s %s\n", "INCIDENT", "TYPE", "SEVERITY", "STATE", "OPENED", "REASON");
        for (size_t i = 0; i < json_array_size(list); i++) {
                json_t *o = json_array_get(list, i);
                printf("%-16s %-14s %-9s %-10s %-15s %s\n", s_or(o, "id", "?"), s_or(o, "type", "?"),
                       s_or(o, "severity", "?"), s_or(o, "state", "?"),
                       short_time(s_or(o, "opened_at", NULL), t, sizeof t), s_or(o, "reason", ""));
        }
}

static void print_show(json_t *j) {
        json_t *o = json_object_get(j, "incident"), *tl = json_object_get(o, "timeline");
        char t[32];

        printf("incident %s: %s, %s, %s\n", s_or(o, "id", "?"), s_or(o, "type", "?"), s_or(o, "severity", "?"),
               s_or(o, "state", "?"));
        printf("%s\n\n", s_or(o, "reason", ""));
        printf("%-15s %-19s %-14s %-8s %s\n", "TIME", "EVENT", "WHO", "CHANNEL", "NOTE");
        for (size_t i = 0; i < json_array_size(tl); i++) {
                json_t *r = json_array_get(tl, i);
                printf("%-15s %-19s %-14s %-8s %s\n", short_time(s_or(r, "at", NULL), t, sizeof t),
                       s_or(r, "event", "?"), s_or(r, "actor", "-"), s_or(r, "channel", "-"), s_or(r, "note", ""));
        }
}

static void print_get(json_t *j) {
        json_t *set = json_object_get(j, "settings"), *hist = json_object_get(j, "history");
        const char *k;
        json_t *v;
        char t[32];

        if (hist) {
                bool continued = json_is_true(json_object_get(j, "continued"));
                if (json_array_size(hist) == 0 && !continued)
                        printf("no changes recorded\n");
                else if (!continued)
                        printf("%-15s %-28s %-8s %-8s %-16s %-7s %s\n", "TIME", "KEY", "OLD", "NEW", "WHO", "CHANNEL", "RESULT");
                for (size_t i = 0; i < json_array_size(hist); i++) {
                        json_t *r = json_array_get(hist, i);
                        printf("%-15s %-28s %-8s %-8s %-16s %-7s %s\n", short_time(s_or(r, "at", NULL), t, sizeof t),
                               s_or(r, "key", "?"), s_or(r, "old", "-"), s_or(r, "new", "-"), s_or(r, "actor", "-"),
                               s_or(r, "channel", "-"), s_or(r, "result", ""));
                }
                return;
        }
        if (!set) {
                printf("%s = %s\n", s_or(j, "key", "?"), s_or(j, "value", "?"));
                return;
        }
        printf("risk profile: %s\n", s_or(j, "risk", "?"));
        json_object_foreach(set, k, v)
                printf("%-30s %s\n", k, json_string_value(v));
}

static void print_report(json_t *j) {
        static const char *const bars[] = { " ", "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█" };
        json_t *rooms = json_object_get(j, "rooms"), *v;
        json_int_t max = 0;
        const char *room;

        json_object_foreach(rooms, room, v)
                for (size_t h = 0; h < 24; h++)
                        if (json_integer_value(json_array_get(v, h)) > max)
                                max = json_integer_value(json_array_get(v, h));
        printf("Activity per hour of the day, last %lld days (motion and doors; darker = more)\n\n",
               (long long) json_integer_value(json_object_get(j, "days")));
        if (max == 0) {
                printf("no activity recorded\n");
                return;
        }
        printf("%-14s 0     6     12    18   23\n", "");
        json_object_foreach(rooms, room, v) {
                json_int_t total = 0;
                printf("%-14.14s ", room);
                for (size_t h = 0; h < 24; h++) {
                        json_int_t n = json_integer_value(json_array_get(v, h));
                        total += n;
                        printf("%s", bars[n == 0 ? 0 : 1 + (int) ((n - 1) * 7 / (max > 1 ? max - 1 : 1))]);
                }
                printf("  %lld\n", (long long) total);
        }
}

static int result_code(json_t *j) {
        if (!j)
                return EXIT_UNREACHABLE;
        if (json_is_true(json_object_get(j, "ok")))
                return 0;
        return json_is_true(json_object_get(j, "not_found")) ? EXIT_NOT_FOUND : EXIT_REFUSED;
}

static void print_location(json_t *j) {
        json_t *l = json_object_get(j, "location"), *z = json_object_get(j, "zone");
        json_t *home = json_object_get(l, "at_home"), *far = json_object_get(l, "distance_m");
        long long age;

        if (!json_is_object(l)) {
                printf("no position from a wristband yet\n");
                return;
        }
        age = (long long) json_integer_value(json_object_get(l, "age_s"));
        printf("position   %.6f, %.6f (%s), within %.0f m, from %s\n", json_number_value(json_object_get(l, "lat")),
               json_number_value(json_object_get(l, "lon")), s_or(l, "datum", "?"),
               json_number_value(json_object_get(l, "accuracy_m")), s_or(l, "sensor", "?"));
        printf("taken      %s (%lld min %02lld s ago)%s\n", s_or(l, "fix_at", "?"), age / 60, age % 60,
               json_is_true(json_object_get(l, "stale")) ? ", STALE" : "");
        printf("safe zone  %s%s", json_is_true(json_object_get(z, "enabled")) ? "on" : "off",
               json_is_integer(json_object_get(z, "radius_m")) ? "" : " (no center set)");
        if (json_is_boolean(home))
                printf(", %s", json_is_true(home) ? "inside" : "OUTSIDE");
        if (json_is_integer(far))
                printf(", %lld m from home", (long long) json_integer_value(far));
        if (json_is_string(json_object_get(z, "state")))
                printf(" (%s)", s_or(z, "state", "?"));
        printf("\n");
        if (json_is_string(json_object_get(l, "map_url")))
                printf("map        %s\n", s_or(l, "map_url", ""));
}

/* Prints an answer; returns the exit code it means. */
static int show_answer(const char *cmd, json_t *j) {
        int rc = result_code(j);

        if (!j) {
                fprintf(stderr, "anjuctl: anjud closed the connection without an answer\n");
                return rc;
        }
        if (json_out) {
                json_dumpf(j, stdout, JSON_COMPACT);
                putchar('\n');
        } else if (rc != 0) {
                fprintf(stderr, "anjuctl: %s%s%s\n", s_or(j, "error", "refused"),
                        json_object_get(j, "detail") ? ": " : "", s_or(j, "detail", ""));
        } else if (strcmp(cmd, "status") == 0) {
                print_status(j);
        } else if (strcmp(cmd, "sensors") == 0) {
                print_sensors(j);
        } else if (strcmp(cmd, "incidents") == 0) {
                print_incidents(j);
        } else if (strcmp(cmd, "show") == 0) {
                print_show(j);
        } else if (strcmp(cmd, "get") == 0 || strcmp(cmd, "set") == 0) {
                print_get(j);
        } else if (strcmp(cmd, "report") == 0) {
                print_report(j);
        } else if (strcmp(cmd, "location") == 0) {
                print_location(j);
        } else if (strcmp(cmd, "test-dispatch") == 0) {
                printf("test call delivered to the dispatch center: HTTP %lld, case %s\n",
                       (long long) json_integer_value(json_object_get(j, "status")), s_or(j, "case_id", "?"));
        } else if (strcmp(cmd, "test-receiver") == 0) {
                printf("test report (602) acknowledged by the receiver: %s\n", s_or(j, "case_id", "?"));
        } else if (strcmp(cmd, "test-sensor") == 0) {
                printf("%s (%s) reported %s = %g at %s\n", s_or(j, "sensor", "?"), s_or(j, "room", "-"),
                       s_or(j, "attr", "?"), json_number_value(json_object_get(j, "value")), s_or(j, "at", "?"));
        } else {
                printf("%s\n", s_or(j, "result", "done"));
        }
        fflush(stdout);
        return rc;
}

static void on_sigint(int sig) {
        (void) sig;
        interrupted = 1;
}

/* The walk test: the list, then each sensor as it fires. */
static int walktest(struct conn *c) {
        json_t *j = conn_recv(c, 10000), *list;
        int rc = result_code(j);
        size_t n;
        bool *fired;

        if (rc != 0 || json_out) {
                int r = show_answer("walktest", j);
                json_decref(j);
                if (r != 0 || !json_out)
                        return r;
                while ((j = conn_recv(c, -1))) {
                        show_answer("walktest", j);
                        bool done = strcmp(s_or(j, "event", ""), "done") == 0;
                        json_decref(j);
                        if (done)
                                return 0;
                }
                return interrupted ? 130 : EXIT_UNREACHABLE;
        }
        list = json_object_get(j, "sensors");
        n = json_array_size(list);
        fired = calloc(n + 1, sizeof *fired);
        printf("Walk test: trigger each sensor (walk past it, open it, press it). %zu to go; Ctrl-C stops.\n", n);
        for (size_t i = 0; i < n; i++)
                printf("  [ ] %-18s %-10s %s\n", s_or(json_array_get(list, i), "id", "?"),
                       s_or(json_array_get(list, i), "kind", "?"), s_or(json_array_get(list, i), "room", "-"));
        fflush(stdout);
        for (json_t *e; (e = conn_recv(c, -1));) {
                const char *ev = s_or(e, "event", ""), *id = s_or(e, "sensor", "");
                if (strcmp(ev, "done") == 0) {
                        printf("All %zu sensors have fired: the walk test passed.\n", n);
                        json_decref(e);
                        json_decref(j);
                        free(fired);
                        return 0;
                }
                for (size_t i = 0; i < n; i++)
                        if (strcmp(s_or(json_array_get(list, i), "id", ""), id) == 0 && !fired[i]) {
                                fired[i] = true;
                                printf("  [x] %-18s %-10s fired (%s = %g), %lld left\n", id,
                                       s_or(json_array_get(list, i), "kind", "?"), s_or(e, "attr", "?"),
                                       json_number_value(json_object_get(e, "value")),
                                       (long long) json_integer_value(json_object_get(e, "left")));
                        }
                fflush(stdout);
                json_decref(e);
        }
        printf("\nWalk test stopped. Not fired:");
        for (size_t i = 0; i < n; i++)
                if (!fired[i])
                        printf(" %s", s_or(json_array_get(list, i), "id", "?"));
        printf("\n");
        json_decref(j);
        free(fired);
        return interrupted ? 130 : EXIT_UNREACHABLE;
}

/* get --history: anjud sends the audit a page at a time; each page says
 * where the next starts ("next"), until the last. */
static int history_pages(struct conn *c, const char *key) {
        bool header = true;

        for (;;) {
                json_t *j = conn_recv(c, 15000), *next;
                int rc = result_code(j);

                if (rc != 0 || json_out) {
                        show_answer("get", j);
                } else {
                        if (!header)
                                json_object_set_new(j, "continued", json_true());
                        print_get(j);
                }
                header = false;
                next = json_object_get(j, "next");
                if (rc != 0 || !json_is_integer(next)) {
                        json_decref(j);
                        return rc;
                }
                if (conn_send(c, json_pack("{s:s, s:s?, s:b, s:I}", "cmd", "get", "key", key, "history", 1, "after",
                                           json_integer_value(next))) < 0) {
                        json_decref(j);
                        fprintf(stderr, "anjuctl: lost the connection to anjud\n");
                        return EXIT_UNREACHABLE;
                }
                json_decref(j);
        }
}

/* --- main ---------------------------------------------------------------- */

static const char *socket_path(const char *opt_socket, const char *config, char *buf, size_t n) {
        struct config *cfg = NULL;
        const char *env = getenv("ANJU_CTL_SOCKET");

        if (opt_socket)
                return opt_socket;
        if (config) {
                if (config_load(config, NULL, NULL, &cfg) < 0) {
                        fprintf(stderr, "anjuctl: %s is not a valid configuration (anjud --check-config says why)\n",
                                config);
                        return NULL;
                }
                snprintf(buf, n, "%s", cfg->hub.ctl_socket);
                config_free(cfg);
                return buf;
        }
        return env && *env ? env : "/run/anju/ctl.sock";
}

int main(int argc, char **argv) {
        static const struct option opts[] = {
                { "socket", required_argument, NULL, 's' }, { "config", required_argument, NULL, 'c' },
                { "json", no_argument, NULL, 'j' }, { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, 'V' }, { "open", no_argument, NULL, 'o' },
                { "limit", required_argument, NULL, 'l' }, { "note", required_argument, NULL, 'n' },
                { "history", no_argument, NULL, 'H' }, { "days", required_argument, NULL, 'd' },
                { "timeout", required_argument, NULL, 't' }, { NULL, 0, NULL, 0 },
        };
        const char *sock = NULL, *config = NULL, *note = NULL, *cmd, *wire;
        bool open_only = false, history = false, help = false;
        long limit = 0, days = 7, timeout = 60;
        char pathbuf[4096];
        struct conn c;
        json_t *req;
        int opt, rc;
        char *end;

        /* Options may come before or after the command. */
        while ((opt = getopt_long(argc, argv, "+s:c:jh", opts, NULL)) >= 0)
                switch (opt) {
                case 's': sock = optarg; break;
                case 'c': config = optarg; break;
                case 'j': json_out = true; break;
                case 'h': help = true; break;
                case 'V': printf("anjuctl %s\n", ANJU_VERSION); return 0;
                default: usage(stderr); return EXIT_USAGE;
                }
        if (optind >= argc) {
                usage(help ? stdout : stderr);
                return help ? 0 : EXIT_USAGE;
        }
        cmd = argv[optind++];
        if (strcmp(cmd, "help") == 0) {
                if (optind < argc)
                        return cmd_usage(argv[optind], stdout);
                usage(stdout);
                return 0;
        }
        {
                int rest_argc = argc - optind + 1;
                char **rest = argv + optind - 1;
                /* A fresh scan (optind 0: the first one stopped at COMMAND)
                 * that permutes, so options may follow the arguments as the
                 * usage shows them: "ack ID --note TEXT". */
                optind = 0;
                while ((opt = getopt_long(rest_argc, rest, "jh", opts, NULL)) >= 0)
                        switch (opt) {
                        case 'j': json_out = true; break;
                        case 'h': help = true; break;
                        case 'o': open_only = true; break;
                        case 'H': history = true; break;
                        case 'n': note = optarg; break;
                        case 'l': limit = strtol(optarg, &end, 10); if (*end || limit <= 0) return cmd_usage(cmd, stderr); break;
                        case 'd': days = strtol(optarg, &end, 10); if (*end || days <= 0 || days > 365) return cmd_usage(cmd, stderr); break;
                        case 't': timeout = strtol(optarg, &end, 10); if (*end || timeout <= 0 || timeout > 3600) return cmd_usage(cmd, stderr); break;
                        default: return cmd_usage(cmd, stderr);
                        }
                argc = rest_argc - optind;
                argv = rest + optind;
        }
        if (help)
                return cmd_usage(cmd, stdout);
        wire = cmd;
        if (strcmp(cmd, "status") == 0 || strcmp(cmd, "sensors") == 0 || strcmp(cmd, "walktest") == 0 ||
            strcmp(cmd, "location") == 0) {
                if (argc != 0)
                        return cmd_usage(cmd, stderr);
                req = json_pack("{s:s}", "cmd", cmd);
        } else if (strcmp(cmd, "incidents") == 0) {
                req = json_pack("{s:s, s:b, s:I}", "cmd", cmd, "open", open_only, "limit", (json_int_t) limit);
        } else if (strcmp(cmd, "show") == 0) {
                if (argc != 1)
                        return cmd_usage(cmd, stderr);
                req = json_pack("{s:s, s:s}", "cmd", cmd, "id", argv[0]);
        } else if (strcmp(cmd, "ack") == 0 || strcmp(cmd, "arrived") == 0 || strcmp(cmd, "resolve") == 0 ||
                   strcmp(cmd, "cancel") == 0) {
                if (argc != 1)
                        return cmd_usage(cmd, stderr);
                req = json_pack("{s:s, s:s, s:s, s:s?}", "cmd", "answer", "id", argv[0], "action",
                                strcmp(cmd, "resolve") == 0 ? "resolved" : cmd, "note", note);
                wire = "answer";
        } else if (strcmp(cmd, "get") == 0) {
                if (argc > 1)
                        return cmd_usage(cmd, stderr);
                req = json_pack("{s:s, s:s?, s:b}", "cmd", cmd, "key", argc ? argv[0] : NULL, "history", history);
        } else if (strcmp(cmd, "set") == 0) {
                if (argc != 2)
                        return cmd_usage(cmd, stderr);
                req = json_pack("{s:s, s:s, s:s}", "cmd", cmd, "key", argv[0], "value", argv[1]);
        } else if (strcmp(cmd, "test") == 0) {
                if (argc == 1 && strcmp(argv[0], "dispatch") == 0)
                        req = json_pack("{s:s}", "cmd", wire = "test-dispatch");
                else if (argc == 2 && strcmp(argv[0], "receiver") == 0)
                        req = json_pack("{s:s, s:s}", "cmd", wire = "test-receiver", "id", argv[1]);
                else if (argc == 2 && strcmp(argv[0], "sensor") == 0)
                        req = json_pack("{s:s, s:s, s:I}", "cmd", wire = "test-sensor", "id", argv[1], "timeout",
                                        (json_int_t) timeout);
                else
                        return cmd_usage(cmd, stderr);
        } else if (strcmp(cmd, "report") == 0) {
                req = json_pack("{s:s, s:I}", "cmd", cmd, "days", (json_int_t) days);
        } else {
                return cmd_usage(cmd, stderr);
        }
        sock = socket_path(sock, config, pathbuf, sizeof pathbuf);
        if (!sock)
                return EXIT_USAGE;
        if ((rc = conn_open(&c, sock)) < 0) {
                fprintf(stderr, "anjuctl: cannot reach anjud at %s: %s\n", sock, strerror(-rc));
                json_decref(req);
                return EXIT_UNREACHABLE;
        }
        signal(SIGPIPE, SIG_IGN);
        {
                struct sigaction sa = { .sa_handler = on_sigint };
                sigset_t block;

                sigemptyset(&block);
                sigaddset(&block, SIGINT);
                sigprocmask(SIG_BLOCK, &block, &wait_mask);
                sigdelset(&wait_mask, SIGINT);
                sigaction(SIGINT, &sa, NULL);   /* no SA_RESTART: ppoll returns */
        }
        if (conn_send(&c, req) < 0) {
                fprintf(stderr, "anjuctl: lost the connection to anjud\n");
                return EXIT_UNREACHABLE;
        }
        if (strcmp(wire, "walktest") == 0)
                rc = walktest(&c);
        else if (strcmp(cmd, "get") == 0 && history)
                rc = history_pages(&c, argc ? argv[0] : NULL);
        else {
                int wait = strcmp(wire, "test-sensor") == 0 ? (int) (timeout + 5) * 1000
                         : strcmp(wire, "test-dispatch") == 0 || strcmp(wire, "test-receiver") == 0 ? 40000 : 15000;
                json_t *j = conn_recv(&c, wait);
                rc = show_answer(wire, j);
                json_decref(j);
        }
        close(c.fd);
        return rc;
}
