/* The timing of GPIO lines, as pure functions of a clock passed in (unit
 * tests drive it): debouncing an input, and the level of a siren pattern.
 * Times are CLOCK_MONOTONIC usec of the real world (a contact bounces in
 * real milliseconds, whatever --time-scale says). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#define DEBOUNCE_NEVER UINT64_MAX

/* An input's level is believed only once it has held for the window. */
struct debounce {
        int stable;                     /* the level last reported */
        int raw;                        /* the level last seen */
        uint64_t since;                 /* when raw last changed */
        uint64_t window;                /* usec; 0 = every change at once */
};

/* Starts from a level known at start (no change is reported for it). */
void debounce_init(struct debounce *d, int level, uint64_t window);
/* A level read at now. Returns 1 if it is a change to report now (window
 * 0), else 0; *next is when to call debounce_poll (DEBOUNCE_NEVER: no need). */
int debounce_feed(struct debounce *d, int level, uint64_t now, uint64_t *next);
/* At now: 1 if the raw level has held for the window and differs from the
 * stable one (d->stable is then the new level), else 0; *next as above. */
int debounce_poll(struct debounce *d, uint64_t now, uint64_t *next);

enum siren_pattern { SIREN_OFF, SIREN_PULSED, SIREN_CONTINUOUS, _SIREN_PATTERN_MAX, _SIREN_PATTERN_INVALID = -1 };

/* Pulsed: this long on, then as long off (a prompt, not an evacuation). */
#define SIREN_PULSE_USEC (500 * UINT64_C(1000))

/* The level of pattern p started at start, at now (>= start), and when it
 * next changes (*next; DEBOUNCE_NEVER if it does not). */
int siren_level(enum siren_pattern p, uint64_t start, uint64_t now, uint64_t *next);
const char *siren_pattern_to_string(enum siren_pattern p);
