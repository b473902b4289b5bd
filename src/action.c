/* Action lists (see action.h). */
#include "action.h"

#include <stdlib.h>
#include <string.h>

struct action *action_add(struct action_list *l, enum action_kind kind, const char *incident) {
        struct action *a;

        if (l->n == l->cap) {
                size_t cap = l->cap ? l->cap * 2 : 16;
                struct action *v = realloc(l->v, cap * sizeof *v);
                if (!v) {
                        l->oom = true;
                        return NULL;
                }
                l->v = v;
                l->cap = cap;
        }
        a = &l->v[l->n++];
        memset(a, 0, sizeof *a);
        a->kind = kind;
        a->sensor = SENSOR_NONE;
        if (incident) {
                size_t len = strlen(incident);
                memcpy(a->incident, incident, len < sizeof a->incident ? len + 1 : sizeof a->incident);
                a->incident[sizeof a->incident - 1] = '\0';
        }
        return a;
}

void action_list_clear(struct action_list *l) {
        l->n = 0;
        l->oom = false;
}

void action_list_free(struct action_list *l) {
        free(l->v);
        *l = (struct action_list) { 0 };
}

const char *action_kind_to_string(enum action_kind k) {
        static const char *const names[_ACTION_KIND_MAX] = {
                [ACT_OPEN] = "open", [ACT_STATE] = "state", [ACT_JOIN] = "join", [ACT_TIMELINE] = "timeline",
                [ACT_CALL] = "call", [ACT_NOTIFY] = "notify", [ACT_ALERT] = "alert", [ACT_PROMPT] = "prompt",
                [ACT_DROP_NOTICES] = "drop_notices", [ACT_LOG] = "log",
        };
        return k >= 0 && k < _ACTION_KIND_MAX ? names[k] : "?";
}
