/* The escalation ladder of one incident (docs/DESIGN.md §6, docs/ESCALATION.md): a
 * pure state machine on a time passed in. Steps reach a role's contacts or
 * the dispatch center at their delay after the incident opened, until
 * someone acknowledges; the reached contacts are notified again every
 * `repeat` until then; an acknowledged incident nobody has arrived at
 * within `onsite_within` climbs to the next step anyway. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

#define LADDER_NEVER UINT64_MAX
#define LADDER_MAX_ACTIONS (LADDER_MAX + _TARGET_MAX)

enum ladder_action_kind { LADDER_NOTIFY, LADDER_CALL };

struct ladder_action {
        enum ladder_action_kind kind;
        enum ladder_target target;      /* LADDER_NOTIFY: whose contacts */
        unsigned step;                  /* index of the step, for the record */
        unsigned repeat;                /* 0 = first notice, 1.. = repeats */
        bool onsite_overdue;            /* reached because nobody arrived in time */
        unsigned receiver;              /* TARGET_RECEIVER: which [receiver] (config.receivers) */
};

struct ladder {
        uint64_t opened;                /* mono */
        unsigned next_step;
        bool acked, onsite, done;
        uint64_t onsite_deadline;
        uint64_t next_repeat[_TARGET_MAX];      /* per tier: `repeat` after its last notice */
        unsigned repeats[_TARGET_MAX];
        unsigned reached;               /* bit per enum ladder_target */
};

void ladder_start(struct ladder *l, uint64_t now);
/* Everything due at now. At most LADDER_MAX_ACTIONS actions; with less
 * room, the rest comes on the next call (ladder_next() is then <= now). */
size_t ladder_tick(struct ladder *l, const struct escalation_conf *c, uint64_t now,
                   struct ladder_action *out, size_t max);
/* Someone took charge: no more steps by time, no more repeats; the onsite
 * clock starts (once). */
void ladder_acked(struct ladder *l, const struct escalation_conf *c, uint64_t now);
/* Someone is there: the ladder stops. */
void ladder_onsite(struct ladder *l);
/* Marks the steps due by now as reached without acting (an incident that
 * was taken charge of before a restart). */
void ladder_skip_due(struct ladder *l, const struct escalation_conf *c, uint64_t now);
uint64_t ladder_next(const struct ladder *l, const struct escalation_conf *c);
