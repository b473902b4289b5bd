/* The emergency call: builds the JSON body of schema anju.alarm.v1 (see
 * docs/ALARM-SCHEMA.md) and the words a person reads. Pure: no I/O. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "anju/event.h"

struct config;
struct sensor_conf;

struct alarm_info {
        const char *incident_id;
        enum incident_type type;
        enum severity severity;
        bool update;                    /* a further trigger of an open incident */
        unsigned sequence;              /* 1 for the first call of an incident */
        uint64_t started_at;            /* wall usec the incident opened */
        uint64_t raised_at;             /* wall usec of this trigger */
        const struct sensor_conf *sensor;
        const char *reason;
        const struct decision *why;     /* the rule's decision, NULL if none */
        bool test;                      /* a test call (anjuctl test dispatch) */
};

/* Writes the sentence for people about a rule's decision, in the hub's
 * language: which rule fired and why ("No movement since 09:12, 4 h 05 min;
 * last seen in the bedroom"). Always valid UTF-8, cut to n. */
char *alarm_explain(const struct config *cfg, const struct decision *d, char *buf, size_t n);

/* Writes the sentence for people ("Smoke detected by kitchen_smoke in the
 * kitchen") in the hub's language into buf. */
char *alarm_reason(const struct config *cfg, enum incident_type type,
                   const struct sensor_conf *sensor, char *buf, size_t n);

/* Returns the JSON body of a call (caller frees with free()), NULL on OOM. */
char *alarm_build_body(const struct config *cfg, const struct alarm_info *a);
