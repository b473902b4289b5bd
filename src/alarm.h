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
#include "geo.h"

struct config;
struct sensor_conf;

/* The wristband's last known position, for a call or notice about an
 * incident the band raised (issue 14, docs/ALARM-SCHEMA.md "location"). */
struct alarm_location {
        double lat, lon;                /* as the band sent them, in datum */
        int datum;                      /* enum geo_datum */
        double accuracy_m;
        uint64_t fix_at;                /* wall usec the fix was taken */
        uint64_t age;                   /* usec from then to this call */
        int at_home;                    /* 1, 0, -1 unknown (null) */
        bool stale;                     /* older than [rule geofence] stale_after */
        double distance_m;              /* from home, -1 unknown */
        char map_url[320];              /* a link for people ([hub] map), "" if none */
        const struct geo_point *track;  /* the safe zone's track since she left (WGS-84), oldest first */
        const uint64_t *track_at;       /* their fix times */
        size_t n_track;
};

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
        const struct alarm_location *location;  /* the band's position, NULL: the home address only */
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
        const struct alarm_location *location;  /* the band's position, NULL if none */
};
/* A contact's notice (anju.notice.v1), with where to answer. */
char *alarm_notice_json(const struct config *cfg, const struct notice_info *n);
/* The notice as a contact's webhook wants it: WeCom and DingTalk group
 * bots take {"msgtype": "text", "text": {"content": text}}; "json" is the
 * notice itself. */
char *alarm_webhook_body(enum webhook_template t, const struct config *cfg, const struct notice_info *n);
/* anju/<hub>/prompt: start (pattern pulsed, the window, the words) or stop. */
char *alarm_prompt_json(const char *incident_id, bool start, uint64_t window, const char *text);
