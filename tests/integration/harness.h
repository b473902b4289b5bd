/* Integration-test harness: starts real processes (mosquitto, anjud, the
 * simulated dispatch center) on loopback, talks MQTT with libmosquitto, and
 * waits on pipes with a deadline — never a bare sleep. Every child gets
 * PR_SET_PDEATHSIG and is killed by PID at exit, so a failing test leaves
 * nothing running. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

struct proc {
        pid_t pid;
        int out;                /* read end of the child's stdout (or stderr) pipe, -1 if none */
        char buf[65536];        /* unread bytes from out */
        size_t len;
        char *log_path;         /* everything read is appended here too */
        char last[512];         /* the last complete line read, for failure messages */
};

/* A fresh directory under $TMPDIR for this test; removed by nothing (CI's
 * machine is thrown away; locally it helps post-mortems). */
const char *h_tmpdir(void);
/* A TCP port on 127.0.0.1 that was free a moment ago, chosen at random
 * below the kernel's ephemeral range (so no connect() elsewhere on the
 * machine can take it before the server binds it) and never the same twice
 * in one test process. */
int h_free_port(void);

/* Any program (argv[0] a path), stdout and stderr into one pipe read by
 * h_wait_line() and friends, with PR_SET_PDEATHSIG; killed at exit. */
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
/* The same, only whether it came. */
bool h_saw_message(struct proc *sub, const char *topic, const char *needle, int timeout_ms);
/* The next line containing needle (caller frees), NULL after timeout_ms. */
char *h_next_line(struct proc *p, const char *needle, int timeout_ms);
/* SIGTERM (or SIGKILL), then waits; returns the exit status as waitpid gives it. */
int h_stop(struct proc *p, int sig);
bool h_alive(const struct proc *p);
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

/* A secret file (a key, a token) as an installer should leave it: 0600. */
void h_write_secret(const char *path, const char *text);
/* Writes <dir>/anju.conf: a sample home on the given broker and dispatch
 * ports, with extra text appended; returns the path (static buffer). */
const char *h_write_config(const char *dir, int mqtt_port, int dispatch_port, const char *extra);

/* Publishes one message and waits until the broker has it (QoS 1). */
void h_publish(int port, const char *topic, const char *payload, size_t len, bool retain);
/* Waits for the retained status of hub_id to read want ("online"). */
bool h_wait_status(int port, const char *hub_id, const char *want, int timeout_ms);
