/* The rules: pure, deterministic state machines. Input is one normalised
 * event (its times are "now"); output is decisions. No rule reads a clock,
 * touches SQLite, MQTT or curl, so a week of a resident's life replays in
 * milliseconds. Implemented: fire (smoke, level) and sos (press, event). */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "anju/event.h"

struct config;
struct rules;

struct rules_stats {
        uint64_t events;
        uint64_t decisions;
        uint64_t ignored_retained;      /* retained SOS/fall: history, not news */
};

/* Creates rule state for the sensors of cfg (borrowed; must outlive it).
 * Caller frees with rules_free(). NULL on OOM. */
struct rules *rules_new(const struct config *cfg);
void rules_free(struct rules *r);

/* Feeds one event; writes at most max decisions to out, returns their number. */
size_t rules_feed(struct rules *r, const struct event *ev, struct decision *out, size_t max);

const struct rules_stats *rules_get_stats(const struct rules *r);
