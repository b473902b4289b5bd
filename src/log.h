/* Logging with journald priorities. Only glue and main log; pure modules
 * return errors. Sensor-triggerable messages go through a ratelimit. */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <syslog.h>

/* Sets the highest priority that is printed (LOG_DEBUG prints everything). */
void log_set_max_level(int prio);
int log_get_max_level(void);
/* Prints one line to stderr: "<prio>" prefix under journald, else a local
 * timestamp and level. Returns -abs(error) so callers can "return log_...". */
int log_full(int prio, int error, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#define log_debug(...)   log_full(LOG_DEBUG, 0, __VA_ARGS__)
#define log_info(...)    log_full(LOG_INFO, 0, __VA_ARGS__)
#define log_notice(...)  log_full(LOG_NOTICE, 0, __VA_ARGS__)
#define log_warning(...) log_full(LOG_WARNING, 0, __VA_ARGS__)
#define log_error(...)   log_full(LOG_ERR, 0, __VA_ARGS__)
#define log_error_errno(e, ...) log_full(LOG_ERR, (e), __VA_ARGS__)
#define log_warning_errno(e, ...) log_full(LOG_WARNING, (e), __VA_ARGS__)

/* A token bucket: at most burst messages per interval. */
struct ratelimit {
        uint64_t interval;      /* usec */
        unsigned burst;
        uint64_t begin;
        unsigned num;
        unsigned suppressed;    /* dropped in the current window */
};

#define RATELIMIT_INIT(i, b) { .interval = (i), .burst = (b) }

/* True if a message may be logged now (monotonic usec). When a new window
 * opens, *ret_suppressed gets how many were dropped in the last one. */
bool ratelimit_below(struct ratelimit *rl, uint64_t now, unsigned *ret_suppressed);
