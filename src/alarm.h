/* The JSON the hub sends: the emergency call (schema anju.alarm.v1, see
 * docs/ALARM-SCHEMA.md), the local alert (anju.alert.v1), a contact's
 * notice (anju.notice.v1) and its webhook forms, the resident's prompt.
 * Pure: no I/O; every result is caller-freed text, NULL on OOM. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "anju/event.h"
#include "config.h"

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

/* Returns the JSON body of a call (caller frees with free()), NULL on OOM. */
char *alarm_build_body(const struct config *cfg, const struct alarm_info *a);

/* anju/<hub>/alert: an incident as it stands (state), in words (text),
 * with the decision's times. */
char *alarm_alert_json(const struct config *cfg, const char *incident_id, enum incident_type type,
                       enum severity severity, const char *state, const struct decision *d, const char *text);

struct notice_info {
        const char *incident_id;
        const char *kind;               /* "alert", "repeat", "update", "nobody on site yet" */
        enum incident_type type;
        enum severity severity;
        const char *state;
        unsigned repeat;
        const char *text;
};
/* A contact's notice (anju.notice.v1), with where to answer. */
char *alarm_notice_json(const struct config *cfg, const struct notice_info *n);
/* The notice as a contact's webhook wants it: WeCom and DingTalk group
 * bots take {"msgtype": "text", "text": {"content": text}}; "json" is the
 * notice itself. */
char *alarm_webhook_body(enum webhook_template t, const struct config *cfg, const struct notice_info *n);
/* anju/<hub>/prompt: start (pattern pulsed, the window, the words) or stop. */
char *alarm_prompt_json(const char *incident_id, bool start, uint64_t window, const char *text);
