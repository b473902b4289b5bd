/* The escalation ladder (see ladder.h). */
#include "ladder.h"

static bool add(struct ladder_action *out, size_t max, size_t *n, struct ladder_action a) {
        if (*n >= max)
                return false;
        out[(*n)++] = a;
        return true;
}

void ladder_start(struct ladder *l, uint64_t now) {
        *l = (struct ladder) { .opened = now, .onsite_deadline = LADDER_NEVER };
        for (int t = 0; t < _TARGET_MAX; t++)
                l->next_repeat[t] = LADDER_NEVER;
}

/* Reaches step next_step; false if out is full. */
static bool reach(struct ladder *l, const struct escalation_conf *c, uint64_t now, bool overdue,
                  struct ladder_action *out, size_t max, size_t *n) {
        enum ladder_target t = c->steps[l->next_step].target;
        struct ladder_action a = {
                .kind = t == TARGET_DISPATCH || t == TARGET_RECEIVER ? LADDER_CALL : LADDER_NOTIFY, .target = t,
                .step = l->next_step, .onsite_overdue = overdue, .receiver = c->steps[l->next_step].receiver,
        };

        if (!add(out, max, n, a))
                return false;
        l->reached |= 1u << t;
        /* its repeats count from this notice (never the center: its call is
         * retried by dispatch until it answers) */
        if (t != TARGET_DISPATCH && t != TARGET_RECEIVER && c->repeat > 0)
                l->next_repeat[t] = now + c->repeat;
        l->next_step++;
        return true;
}

size_t ladder_tick(struct ladder *l, const struct escalation_conf *c, uint64_t now,
                   struct ladder_action *out, size_t max) {
        size_t n = 0;

        if (l->done)
                return 0;
        /* Steps by time, while nobody has taken charge. */
        while (!l->acked && l->next_step < c->n_steps && l->opened + c->steps[l->next_step].after <= now) {
                if (!reach(l, c, now, false, out, max, &n))
                        return n;
        }
        /* Taken charge of, but nobody there in time: the next step anyway. */
        if (l->acked && !l->onsite && l->onsite_deadline <= now) {
                if (l->next_step < c->n_steps) {
                        if (!reach(l, c, now, true, out, max, &n))
                                return n;
                }
                l->onsite_deadline = l->next_step < c->n_steps && c->onsite_within
                                     ? now + c->onsite_within : LADDER_NEVER;
        }
        /* Repeats to every tier reached so far, each `repeat` after its own
         * last notice; one that does not fit in out comes on the next call. */
        for (int t = 0; t < _TARGET_MAX && !l->acked; t++)
                if (l->next_repeat[t] <= now) {
                        if (!add(out, max, &n, (struct ladder_action) {
                                    .kind = LADDER_NOTIFY, .target = (enum ladder_target) t,
                                    .step = l->next_step ? l->next_step - 1 : 0, .repeat = l->repeats[t] + 1 }))
                                return n;
                        l->repeats[t]++;
                        l->next_repeat[t] = now + c->repeat;
                }
        return n;
}

void ladder_acked(struct ladder *l, const struct escalation_conf *c, uint64_t now) {
        if (l->acked)
                return;
        l->acked = true;
        for (int t = 0; t < _TARGET_MAX; t++)
                l->next_repeat[t] = LADDER_NEVER;
        /* the onsite clock, if there is a step left to climb to */
        if (!l->onsite && c->onsite_within && l->next_step < c->n_steps)
                l->onsite_deadline = now + c->onsite_within;
}

void ladder_onsite(struct ladder *l) {
        l->acked = l->onsite = true;
        l->onsite_deadline = LADDER_NEVER;
        for (int t = 0; t < _TARGET_MAX; t++)
                l->next_repeat[t] = LADDER_NEVER;
}

uint64_t ladder_next(const struct ladder *l, const struct escalation_conf *c) {
        uint64_t t = LADDER_NEVER;

        if (l->done)
                return t;
        if (!l->acked && l->next_step < c->n_steps)
                t = l->opened + c->steps[l->next_step].after;
        for (int r = 0; r < _TARGET_MAX && !l->acked; r++)
                if (l->next_repeat[r] < t)
                        t = l->next_repeat[r];
        if (l->acked && !l->onsite && l->onsite_deadline < t)
                t = l->onsite_deadline;
        return t;
}

void ladder_skip_due(struct ladder *l, const struct escalation_conf *c, uint64_t now) {
        while (l->next_step < c->n_steps && l->opened + c->steps[l->next_step].after <= now)
                l->reached |= 1u << c->steps[l->next_step++].target;
}
