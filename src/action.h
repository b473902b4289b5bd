/* What the incident manager decided, as a list of actions for actions.c to
 * carry out: rows to store, calls to place, messages to publish, lines to
 * log. The incident manager never does any of it itself, so its whole
 * behaviour is this list (tests/unit/test_incident.c reads it). Caller owns
 * the list; action_list_clear() empties it for reuse, action_list_free()
 * releases it. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "anju/event.h"
#include "config.h"

#define ACTION_ID_MAX 32
#define ACTION_TEXT_MAX 512

enum action_kind {
        ACT_OPEN,               /* a new incident row (its first timeline row comes as ACT_TIMELINE) */
        ACT_STATE,              /* the incident moves to state (closing it if close) */
        ACT_JOIN,               /* sensor joins the incident */
        ACT_TIMELINE,           /* a row on the incident's timeline: event, actor, channel, text */
        ACT_CALL,               /* a call to the centers of target: alarm, or update (a further trigger) */
        ACT_NOTIFY,             /* a notice to contact: kind, repeat, text */
        ACT_ALERT,              /* anju/<hub>/alert: the incident as it stands, text */
        ACT_PROMPT,             /* anju/<hub>/prompt: start (with the window) or stop */
        ACT_DROP_NOTICES,       /* undelivered webhook notices of a closed incident go */
        ACT_LOG,                /* a line for the journal at NOTICE (WARNING if warn), text */
        _ACTION_KIND_MAX,
};

struct action {
        enum action_kind kind;
        char incident[ACTION_ID_MAX];
        uint64_t wall;                  /* when (wall usec): stored times, the call's raised_at */
        enum incident_type type;
        enum severity severity;
        const char *state;              /* ACT_OPEN, ACT_STATE, ACT_ALERT, ACT_NOTIFY: a static name */
        bool close;                     /* ACT_STATE */
        bool warn;                      /* ACT_LOG */
        uint32_t sensor;                /* ACT_OPEN, ACT_JOIN, ACT_CALL, ACT_ALERT; SENSOR_NONE */
        uint64_t opened_at;             /* ACT_OPEN, ACT_CALL: when the incident opened (wall) */
        /* ACT_TIMELINE */
        const char *event;              /* static */
        char actor[64];
        char channel[16];
        /* ACT_CALL */
        enum ladder_target target;
        bool update;
        unsigned sequence;              /* 1 for the incident's first call */
        struct decision why;            /* ACT_CALL, ACT_ALERT: the rule's decision (times, reading) */
        /* ACT_NOTIFY */
        uint32_t contact;
        const char *notice;             /* "alert", "repeat", "update", "nobody on site yet" */
        unsigned repeat;
        /* ACT_PROMPT */
        bool start;
        uint64_t window;
        char text[ACTION_TEXT_MAX];     /* a reason, a note, a notice, a log line */
        /* ACT_CALL to TARGET_RECEIVER (DC-09) */
        unsigned receiver;              /* index into config.receivers */
        bool restore;                   /* the incident closed: the restore of what was reported */
};

struct action_list {
        struct action *v;
        size_t n, cap;
        bool oom;                       /* an action could not be added: the list is incomplete */
};

/* Appends a zeroed action of kind for incident (may be NULL); NULL if out of
 * memory (oom is set, and what was added stays). */
struct action *action_add(struct action_list *l, enum action_kind kind, const char *incident);
void action_list_clear(struct action_list *l);
void action_list_free(struct action_list *l);
const char *action_kind_to_string(enum action_kind k);
