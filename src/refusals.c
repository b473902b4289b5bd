/* Refused input, counted (see refusals.h). */
#include "refusals.h"
#include "anju/event.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct reason {
        enum refusal_kind kind;
        char why[96];
        unsigned long pending;          /* since the last refusals_take() */
};

struct refusals {
        struct reason reasons[REFUSALS_REASONS];
        size_t n;
        unsigned long long total[_REFUSED_MAX];
        struct ratelimit rl[_REFUSED_MAX];
};

static const char *const kind_names[_REFUSED_MAX] = {
        [REFUSED_ACK] = "ack", [REFUSED_SETTING] = "setting", [REFUSED_PAYLOAD] = "payload",
        [REFUSED_TOPIC] = "topic", [REFUSED_CTL] = "ctl",
};

const char *refusal_kind_to_string(enum refusal_kind k) {
        return k >= 0 && k < _REFUSED_MAX ? kind_names[k] : "?";
}

struct refusals *refusals_new(void) {
        struct refusals *r = calloc(1, sizeof *r);

        if (!r)
                return NULL;
        for (int k = 0; k < _REFUSED_MAX; k++)
                r->rl[k] = (struct ratelimit) RATELIMIT_INIT(10 * USEC_PER_SEC, 10);
        return r;
}

void refusals_free(struct refusals *r) {
        free(r);
}

static struct reason *slot(struct refusals *r, enum refusal_kind k, const char *why) {
        for (size_t i = 0; i < r->n; i++)
                if (r->reasons[i].kind == k && strncmp(r->reasons[i].why, why, sizeof r->reasons[i].why - 1) == 0)
                        return &r->reasons[i];
        if (r->n < REFUSALS_REASONS - 1 || (r->n < REFUSALS_REASONS && strcmp(why, "other") == 0)) {
                struct reason *s = &r->reasons[r->n++];
                s->kind = k;
                snprintf(s->why, sizeof s->why, "%s", why);
                return s;
        }
        return slot(r, k, "other");
}

bool refusals_note(struct refusals *r, enum refusal_kind k, const char *why, uint64_t now_mono) {
        struct reason *s;
        unsigned suppressed;
        bool ok;

        if (k < 0 || k >= _REFUSED_MAX)
                return false;
        r->total[k]++;
        if ((s = slot(r, k, why ? why : "")))
                s->pending++;
        ok = ratelimit_below(&r->rl[k], now_mono, &suppressed);
        if (suppressed > 0)
                log_warning("%u more refused %s message(s) were not logged in the last 10 s "
                            "(counted: anjuctl status)", suppressed, kind_names[k]);
        return ok;
}

unsigned long long refusals_total(const struct refusals *r, enum refusal_kind k) {
        return k >= 0 && k < _REFUSED_MAX ? r->total[k] : 0;
}

void refusals_take(struct refusals *r, void (*fn)(const char *what, const char *why, unsigned long count, void *ud),
                   void *ud) {
        for (size_t i = 0; i < r->n; i++)
                if (r->reasons[i].pending) {
                        fn(kind_names[r->reasons[i].kind], r->reasons[i].why, r->reasons[i].pending, ud);
                        r->reasons[i].pending = 0;
                }
}
