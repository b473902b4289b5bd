/* The daemon's clock. Normally the real clocks; with --time-scale N it runs
 * N times faster from the moment of start (monotonic and wall time
 * together, wall time derived from monotonic), for demonstrations and
 * black-box tests. Rules and escalation timers use this clock; network
 * protocol timers (MQTT keepalive, HTTP timeouts) stay in real time. */
#pragma once

#include <stdint.h>

/* Sets the scale (≥ 1) and, if start_wall is not 0, the wall time the clock
 * shows at start. Call once, before anything reads the clock. */
void clock_setup(double scale, uint64_t start_wall);
double clock_scale(void);

uint64_t clock_mono(void);      /* usec, scaled */
uint64_t clock_wall(void);      /* usec, scaled */

/* The real CLOCK_MONOTONIC time at which the scaled clock shows t. */
uint64_t clock_to_real(uint64_t t);
/* A scaled duration in real usec (at least 1 if d > 0). */
uint64_t clock_real_duration(uint64_t d);

enum clock_sync { CLOCK_SYNC_UNKNOWN = -1, CLOCK_UNSYNCED = 0, CLOCK_SYNCED = 1 };
/* Whether the system's wall clock is synchronised (NTP, a real-time clock
 * set by it): the kernel's STA_UNSYNC flag through adjtimex(2), as
 * timedatectl reads it. Signed acks are timed only by a synchronised clock. */
enum clock_sync clock_sync_state(void);
/* --clock-sync synced|unsynced (tests): what the kernel says is not asked. */
void clock_force_sync(enum clock_sync state);
