/* Types shared by every stage of the event path: what a sensor is, what it
 * said (a normalised event), and what a rule decided about it.
 * Sources produce events, rules turn events into decisions, the incident
 * manager turns decisions into stored incidents and calls. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#define USEC_PER_MSEC UINT64_C(1000)
#define USEC_PER_SEC  UINT64_C(1000000)
#define USEC_PER_MIN  (UINT64_C(60) * USEC_PER_SEC)
#define USEC_PER_HOUR (UINT64_C(60) * USEC_PER_MIN)
#define USEC_PER_DAY  (UINT64_C(24) * USEC_PER_HOUR)

enum sensor_kind {
        SENSOR_SMOKE,
        SENSOR_MOTION,
        SENSOR_DOOR,
        SENSOR_WRISTBAND,
        SENSOR_BUTTON,
        SENSOR_POWER,
        SENSOR_WATER,
        SENSOR_SIREN,
        SENSOR_RELAY,
        SENSOR_PRESENCE,    /* an mmWave radar: someone is there; movement where it says so */
        SENSOR_FALL,        /* a room fall detector (radar) */
        SENSOR_BED,         /* a bed or chair pad: in bed or out */
        _SENSOR_KIND_MAX,
        _SENSOR_KIND_INVALID = -1,
};

/* One attribute a sensor can report. Booleans are 0/1 in event.value. */
enum event_attr {
        ATTR_SMOKE,
        ATTR_MOTION,
        ATTR_DOOR_OPEN,     /* decoded from contact: contact=false means open */
        ATTR_WATER_LEAK,
        ATTR_SOS,           /* an event, not a level: each true is a press */
        ATTR_FALL,          /* an event */
        ATTR_CANCEL,        /* an event: the resident cancels a pre-alarm */
        ATTR_ACTION,        /* button action string, decoded to SOS/CANCEL */
        ATTR_POWER_FAIL,
        ATTR_TAMPER,
        ATTR_BATTERY,       /* percent */
        ATTR_BATTERY_LOW,
        ATTR_SELF_TEST,
        ATTR_HEART_RATE,
        ATTR_SPO2,
        ATTR_WORN,
        ATTR_STEPS,
        ATTR_LAT,
        ATTR_LON,
        ATTR_ACCURACY,
        ATTR_ONLINE,        /* from the availability topic */
        ATTR_PRESENCE,      /* a level: someone is there (a radar); not activity */
        ATTR_FALL_STATE,    /* a level: 0 normal, 1 a possible fall, 2 a fall */
        ATTR_FAULT,         /* a level: the device reports a fault or trouble */
        ATTR_OUT_OF_BED,    /* a level, decoded from contact: contact=false means out of bed */
        ATTR_RELAY_STATE,   /* a level: the plug reports its relay on (1) or off (0) */
        ATTR_SOS_STATE,     /* a level: a button's alarm state; only false -> true is a press */
        ATTR_ACTIVITY,      /* an event: the person handled something (a vibration sensor) */
        ATTR_LOCATION,      /* a wristband's position fix: event.fix (lat, lon, accuracy read together) */
        _ATTR_MAX,
        _ATTR_INVALID = -1,
};

struct event {
        uint32_t sensor;        /* index into config.sensors */
        enum event_attr attr;
        double value;
        uint64_t mono;          /* CLOCK_MONOTONIC, usec: for every duration */
        uint64_t wall;          /* CLOCK_REALTIME, usec: for display only */
        bool retained;          /* replayed state from the broker, not news */
        struct event_fix {      /* ATTR_LOCATION only (issue 14, docs/LOCATION.md) */
                double lat, lon;        /* degrees, in datum, as the band sent them */
                double accuracy;        /* metres: the radius of the band's error circle */
                uint64_t at;            /* wall usec the band took it; 0: not said (when it arrived) */
                int datum;              /* enum geo_datum of the sensor ([sensor X] datum) */
        } fix;
};

enum incident_type {
        INCIDENT_FIRE,
        INCIDENT_SOS,
        INCIDENT_FALL,
        INCIDENT_INACTIVITY,
        INCIDENT_MORNING_CHECK,
        INCIDENT_NIGHT_EXIT,
        INCIDENT_BATHROOM_DWELL,
        INCIDENT_VITALS,
        INCIDENT_WATER_LEAK,
        INCIDENT_DEVICE_HEALTH,
        INCIDENT_POWER,
        INCIDENT_DOOR_OPEN,
        INCIDENT_BED_EXIT,
        INCIDENT_GEOFENCE,      /* the wristband outside the safe zone (issue 14) */
        _INCIDENT_TYPE_MAX,
        _INCIDENT_TYPE_INVALID = -1,
};

enum severity {
        SEVERITY_WARNING,
        SEVERITY_URGENT,
        SEVERITY_CRITICAL,
        _SEVERITY_MAX,
        _SEVERITY_INVALID = -1,
};

enum decision_kind {
        DECISION_RAISE,         /* open an incident or attach to the open one */
        DECISION_CLEAR,         /* the condition went away (recorded, not closed) */
        DECISION_PREALARM,      /* open a pre-alarm: prompt the resident, wait for a cancel */
        DECISION_CANCEL,        /* the resident cancelled the pre-alarm in time */
        _DECISION_KIND_MAX,
};

/* What a device-health decision is about. */
enum health_problem {
        HEALTH_NONE,
        HEALTH_OFFLINE,         /* silent for offline_after supervision intervals */
        HEALTH_OFFLINE_BRIDGE,  /* its bridge says it is offline */
        HEALTH_BATTERY,
        HEALTH_TAMPER,
        HEALTH_NOT_WORN,
        HEALTH_LINK,            /* the dispatch center does not answer heartbeats */
        HEALTH_STORAGE,         /* the database cannot be opened or written */
        HEALTH_GPIO,            /* its GPIO line cannot be had (no chip, in use, no permission) */
        HEALTH_MQTT,            /* the broker connection keeps dropping (flapping), or a poison message */
        HEALTH_CENTER,          /* the center refuses a call (a 4xx that retrying will not fix) */
        HEALTH_FAULT,           /* the device reports a fault (fault, trouble) */
        HEALTH_BRIDGE,          /* Zigbee2MQTT itself is offline: the sensors behind it are unknown */
        HEALTH_RELAY,           /* a smart plug did not confirm a switch command */
        HEALTH_RECEIVER,        /* a DC-09 alarm receiving centre does not answer (3 failures in a row) */
        _HEALTH_MAX,
};

#define SENSOR_NONE UINT32_MAX

struct decision {
        enum decision_kind kind;
        enum incident_type type;
        enum severity severity;
        uint32_t sensor;        /* index into config.sensors, or SENSOR_NONE */
        uint64_t mono;          /* when the rule decided */
        uint64_t wall;
        /* Why, for the words people read ("no movement since 09:12, 4 h 05 min"): */
        uint64_t since_wall;    /* when the condition began (last activity, ...); 0 = n/a */
        uint64_t duration;      /* how long it has lasted, usec; 0 = n/a */
        double value;           /* a reading (heart rate, battery %) */
        enum health_problem problem;
        bool again;             /* still present when the last incident of its kind was closed */
        bool stale;             /* geofence: the last position is stale_after old or more */
};

/* Names as they appear in config, JSON and the database. */
const char *sensor_kind_to_string(enum sensor_kind k);
enum sensor_kind sensor_kind_from_string(const char *s);
const char *event_attr_to_string(enum event_attr a);
enum event_attr event_attr_from_string(const char *s);
const char *incident_type_to_string(enum incident_type t);
enum incident_type incident_type_from_string(const char *s);
const char *severity_to_string(enum severity s);
enum severity severity_from_string(const char *s);
const char *health_problem_to_string(enum health_problem p);
enum health_problem health_problem_from_string(const char *s);       /* HEALTH_NONE if unknown */
