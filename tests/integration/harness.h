/* Integration-test harness: starts real processes (mosquitto, anjud, the
 * simulated dispatch center) on loopback, talks MQTT with libmosquitto, and
 * waits on pipes with a deadline — never a bare sleep. Every child gets
 * PR_SET_PDEATHSIG and is killed by PID at exit, so a failing test leaves
 * nothing running. */
#pragma once

#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <sys/types.h>

#include "../suite.h"

struct proc {
        pid_t pid;
        int out;                /* read end of the child's stdout (or stderr) pipe, -1 if none */
        char buf[65536];        /* unread bytes from out */
        size_t len;
        char *log_path;         /* everything read is appended here too */
        char last[512];         /* the last complete line read, for failure messages */
};

/* The monotonic clock in milliseconds. */
long long h_now_ms(void);
/* $name, or def if it is unset or empty. */
const char *h_env(const char *name, const char *def);
/* A fresh directory under $TMPDIR for this test; removed by nothing (CI's
 * machine is thrown away; locally it helps post-mortems). */
const char *h_tmpdir(void);
/* A TCP port on 127.0.0.1 that was free a moment ago, chosen at random
 * below the kernel's ephemeral range (so no connect() elsewhere on the
 * machine can take it before the server binds it) and never the same twice
 * in one test process. */
int h_free_port(void);

/* Any program (argv[0] a path), stdout and stderr into one pipe read by
 * h_wait_line() and friends, with PR_SET_PDEATHSIG and SIGINT, SIGPIPE at
 * their defaults; killed at exit. */
struct proc *h_spawn(char *const argv[], const char *log_path);
/* mosquitto on 127.0.0.1:port; returns when it accepts connections. */
struct proc *h_broker_start(int port);
/* The same with more configuration lines (e.g. persistence). */
struct proc *h_broker_start_conf(int port, const char *more);
/* The simulated dispatch center (--json) on 127.0.0.1:port, extra args
 * appended (NULL-terminated); returns when it accepts connections. */
struct proc *h_sim_start(int port, const char *const *extra);
/* anjud -c config; its stderr is read through out. */
struct proc *h_anjud_start(const char *config);
/* anjud -c config with extra arguments (NULL-terminated), e.g. --time-scale;
 * with --clock-sync synced unless extra says --clock-sync itself (a
 * gateway's clock is synchronised; a test machine's often says it is not). */
struct proc *h_anjud_start_args(const char *config, const char *const *extra);
/* mosquitto_sub -v on topic (wildcards allowed); returns once subscribed. */
struct proc *h_sub_start(int port, const char *topic);
/* The payload of the next message on topic (exact) containing needle (any
 * if NULL) printed by a h_sub_start() child; NULL after timeout_ms.
 * Caller frees. */
char *h_wait_message(struct proc *sub, const char *topic, const char *needle, int timeout_ms);
/* The same, parsed (the test fails if it is not JSON); caller json_decref()s. */
json_t *h_wait_json(struct proc *sub, const char *topic, const char *needle, int timeout_ms);
/* The same, only whether it came. */
bool h_saw_message(struct proc *sub, const char *topic, const char *needle, int timeout_ms);
/* The next line containing needle (caller frees), NULL after timeout_ms. */
char *h_next_line(struct proc *p, const char *needle, int timeout_ms);
/* SIGTERM (or SIGKILL), then waits; returns the exit status as waitpid gives it. */
int h_stop(struct proc *p, int sig);
bool h_alive(const struct proc *p);
/* Reads the rest of a child's output into p->buf (its tail if it is long)
 * until the child closes it, at most timeout_ms (the test fails after),
 * then waits for it: its exit status, or 128 + the signal that ended it. */
int h_finish(struct proc *p, int timeout_ms);
/* Stops (SIGKILL if still running) and forgets a child, freeing its slot:
 * for tests that start hundreds of them. p is invalid afterwards. */
void h_release(struct proc *p);

/* Reads the child's output until a line containing needle arrives; returns
 * true if it did within timeout_ms. Lines before it are consumed. */
bool h_wait_line(struct proc *p, const char *needle, int timeout_ms);
/* Counts lines containing needle that arrive within timeout_ms. */
int h_count_lines(struct proc *p, const char *needle, int timeout_ms);
/* Next call the simulator printed (a JSON object; caller json_decref()s),
 * or NULL if none arrived within timeout_ms. */
json_t *h_sim_next_call(struct proc *sim, int timeout_ms);

/* An ordinary file <dir>/<name> with text in it; returns the path (static buffer). */
const char *h_write_file(const char *dir, const char *name, const char *text);
/* A secret file (a key, a token) as an installer should leave it: 0600. */
void h_write_secret(const char *path, const char *text);
/* Writes <dir>/anju.conf: a sample home on the given broker and dispatch
 * ports, with extra text appended; returns the path (static buffer). */
const char *h_write_config(const char *dir, int mqtt_port, int dispatch_port, const char *extra);

/* Publishes one message and waits until the broker has it (QoS 1). */
void h_publish(int port, const char *topic, const char *payload, size_t len, bool retain);
/* Waits for the retained status of hub_id to read want ("online"). */
bool h_wait_status(int port, const char *hub_id, const char *want, int timeout_ms);

/* HMAC-SHA256 of msg with key in lowercase hex, as signed acks and remote
 * settings carry it in "sig". */
void h_hmac_hex(const char *key, const char *msg, char hex[65]);
/* Configuration text for n smoke detectors smoke_0 ... smoke_<n-1> (room
 * "room <i>", topic z/smoke_<i>), then more; caller frees. */
char *h_smoke_sensors(int n, const char *more);
/* The i of a call about smoke_<i> of h_smoke_sensors(), -1 for any other. */
int h_smoke_index(json_t *call);

/* --- the rig: one test's world ------------------------------------------------ */

#define H_HUB "test-hub"        /* [hub] id of h_write_config()'s home */

struct h_rig_opts {
        const char *scale;              /* --time-scale N; NULL: real time */
        const char *start;              /* --clock-start "YYYY-MM-DD HH:MM"; NULL: the real time */
        const char *const *anjud_args;  /* more arguments for anjud (NULL-terminated) */
        const char *config;             /* appended to the sample home; "@DIR@" is the rig's directory,
                                         * "@SIM_PORT@" the center's port */
        const char *const *secrets;     /* name, text, name, text, ..., NULL: 0600 files in the directory
                                         * (h_rig_secret()) before anjud starts */
        const char *const *sim_args;    /* more arguments for the simulated center */
        bool no_sim;                    /* no center at all (nothing listens on sim_port) */
        bool no_sub;                    /* no subscriber on anju/# */
        bool no_anjud;                  /* everything but anjud: h_rig_anjud() starts it */
        const char *broker_conf;        /* more mosquitto configuration lines */
};

/* Everything a test runs against, all on 127.0.0.1, in its own directory
 * (the database is <dir>/anju.db, the control socket <dir>/ctl.sock). */
struct h_rig {
        char dir[256], config[512], sock[512];
        int mqtt_port, sim_port;
        struct proc *broker, *sim, *sub, *anjud;
        const char *args[24];           /* anjud's extra arguments */
        char argbuf[4][64];
};

/* Starts the broker, the center (unless no_sim), a subscriber on anju/#
 * (unless no_sub), writes the configuration and starts anjud (unless
 * no_anjud), waiting until it is online. */
void h_rig_up(struct h_rig *r, const struct h_rig_opts *o);
/* Writes the configuration again with config in place of opts.config
 * (expanded the same way); anjud reads it when it starts or on SIGHUP. */
void h_rig_config(struct h_rig *r, const char *config);
/* Starts (or starts again) anjud on the rig and waits until it is online. */
void h_rig_anjud(struct h_rig *r);
/* Checks anjud is still alive (unless the test stopped it with h_stop()),
 * then stops everything the rig started. */
void h_rig_down(struct h_rig *r);
/* Publishes on the rig's broker (QoS 1, not retained). */
void h_rig_pub(struct h_rig *r, const char *topic, const char *payload);
/* A file in the rig's directory, 0600 (a key: the text and a newline). */
void h_rig_secret(struct h_rig *r, const char *name, const char *text);
/* An ack as a responder's app sends it, signed with key; ts_offset moves
 * its time (seconds). The payload sent is copied to sent if not NULL. */
void h_rig_ack(struct h_rig *r, const char *incident, const char *action, const char *by, const char *key,
               long ts_offset, char *sent, size_t n);
/* A number from the rig's database (a second, read-only connection), and
 * the same polled (a file, with a bound) until it is want. */
long long h_rig_db(struct h_rig *r, const char *sql);
long long h_rig_db_wait(struct h_rig *r, const char *sql, long long want, int timeout_ms);
/* Text from the rig's database into buf ("" if none). */
char *h_rig_db_text(struct h_rig *r, const char *sql, char *buf, size_t n);
/* Every row's first column into buf, comma-separated ("" if none). */
char *h_rig_db_list(struct h_rig *r, const char *sql, char *buf, size_t n);
/* An incident's timeline events in order into buf, comma-separated
 * ("opened,notified"), each as event:actor ("-" for none) if actors. */
char *h_rig_timeline(struct h_rig *r, const char *incident, bool actors, char *buf, size_t n);

/* What an anjuctl run printed and how it ended. */
struct h_out {
        int rc;                         /* exit status, or 128 + signal */
        char out[65536];
        char err[16384];
};
/* Runs anjuctl [-s sock] args... (NULL-terminated; sock NULL: no -s) to
 * the end, at most 60 s, stdin /dev/null. */
void h_ctl(const char *sock, struct h_out *o, ...) __attribute__((sentinel));
void h_vctl(const char *sock, struct h_out *o, va_list ap);
/* anjuctl on the rig's socket. */
void h_rig_ctl(struct h_rig *r, struct h_out *o, ...) __attribute__((sentinel));
/* anjuctl's --json answer parsed (the test fails if it is not JSON). */
json_t *h_out_json(const struct h_out *o);
/* anjuctl --json on the rig's socket, its answer parsed (the test fails if
 * it is not JSON); *rc gets the exit status if rc is not NULL. */
json_t *h_rig_ctl_json(struct h_rig *r, int *rc, ...) __attribute__((sentinel));
/* anjuctl on the rig's socket left running, its output (stdout and stderr
 * in one pipe, or a terminal if on_pty: writes to p->out are typed into
 * it) read with h_wait_line() and friends; h_finish() waits for its end. */
struct proc *h_rig_ctl_start(struct h_rig *r, int on_pty, ...) __attribute__((sentinel));
