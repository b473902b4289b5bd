/* Debounce and siren patterns (debounce.h): no clock is read here. */
#include "debounce.h"

void debounce_init(struct debounce *d, int level, uint64_t window) {
        *d = (struct debounce) { .stable = level, .raw = level, .since = 0, .window = window };
}

int debounce_feed(struct debounce *d, int level, uint64_t now, uint64_t *next) {
        if (level != d->raw) {
                d->raw = level;
                d->since = now;
        }
        return debounce_poll(d, now, next);
}

int debounce_poll(struct debounce *d, uint64_t now, uint64_t *next) {
        *next = DEBOUNCE_NEVER;
        if (d->raw == d->stable)
                return 0;
        if (now - d->since >= d->window) {
                d->stable = d->raw;
                return 1;
        }
        *next = d->since + d->window;
        return 0;
}

int siren_level(enum siren_pattern p, uint64_t start, uint64_t now, uint64_t *next) {
        uint64_t phase;

        *next = DEBOUNCE_NEVER;
        switch (p) {
        case SIREN_CONTINUOUS:
                return 1;
        case SIREN_PULSED:
                phase = (now - start) % (2 * SIREN_PULSE_USEC);
                *next = now - phase + (phase < SIREN_PULSE_USEC ? SIREN_PULSE_USEC : 2 * SIREN_PULSE_USEC);
                return phase < SIREN_PULSE_USEC;
        default:
                return 0;
        }
}

const char *siren_pattern_to_string(enum siren_pattern p) {
        static const char *const names[_SIREN_PATTERN_MAX] = { "off", "pulsed", "continuous" };

        return p >= 0 && p < _SIREN_PATTERN_MAX ? names[p] : "?";
}
