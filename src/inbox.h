/* Everything that arrives over MQTT, sorted: a sensor's state (decoded into
 * events), its availability, a responder's ack, an operator's signed
 * setting. The inbox owns the topic map, what each sensor said last (for
 * anjuctl sensors), the replay guard of signed messages, and the counts of
 * what it refused. It reports by callbacks, as pins.h does; it never acts
 * on an alarm itself.
 *
 * Topics are in two lanes, each its own MQTT session (issue 16): the
 * life-safety lane (smoke, water, SOS buttons, falls, the wristband, and any
 * sensor marked critical) and the busy lane (everything else, and the hub's
 * own topics), so no amount of motion, door or telemetry traffic can fill
 * the queue an alarm waits in at the broker. The busy lane also follows
 * the broker's count of dropped messages ($SYS): a broker that had to
 * drop what it could not queue says so, and so does anjuctl status. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "anju/event.h"

struct config;
struct refusals;
struct inbox;

enum inbox_lane { LANE_SAFETY, LANE_BUSY, _LANE_MAX };

/* What the last message of a sensor said, for anjuctl sensors. */
struct sensor_live {
        uint64_t last_seen;             /* wall usec, 0 = never */
        float battery;                  /* percent, < 0 unknown */
        float value;                    /* the kind's main attribute, NAN unknown */
        signed char bridge;             /* its bridge says: -1 unknown, 0 offline, 1 online */
        float presence;                 /* a radar's or fall detector's presence, NAN unknown */
};

/* A responder's answer on anju/<hub>/ack whose signature is good (or the
 * resident's unsigned cancel). */
struct inbox_answer {
        const char *incident;
        const char *action;             /* ack | arrived | resolved | false_alarm | cancel */
        const char *by;                 /* a contact id ("" for the resident's cancel) */
        const char *note;
        bool signed_by_contact;
};

struct inbox_callbacks {
        /* A sensor's event (a retained one is state replayed by the broker). */
        void (*event)(const struct event *ev, void *userdata);
        /* A verified answer: NULL if applied, else why not (for the log and
         * the responder). */
        const char *(*answer)(const struct inbox_answer *a, void *userdata);
        /* A verified remote setting: NULL if applied, else why not (err holds it). */
        const char *(*setting)(const char *key, const char *value, const char *by, char *err, size_t n,
                               void *userdata);
        /* A message to publish (QoS 1, not retained): replies to responders
         * and to remote settings. */
        int (*publish)(const char *topic, const char *payload, size_t len, void *userdata);
        /* Zigbee2MQTT's <bridge>/bridge/state: the bridge (a sensor's
         * `bridge`) is online or offline. May be NULL. */
        void (*bridge)(const char *bridge, bool online, void *userdata);
};

/* cfg and refusals borrowed. */
int inbox_new(const struct config *cfg, struct refusals *refusals, const struct inbox_callbacks *cb, void *userdata,
              struct inbox **ret);
void inbox_free(struct inbox *in);

/* The topics a lane's session subscribes to (borrowed strings). */
size_t inbox_topics(const struct inbox *in, enum inbox_lane lane, const char *const **ret);
/* Which lane a sensor's topics are in. */
enum inbox_lane inbox_sensor_lane(const struct config *cfg, uint32_t sensor);
/* One message from the broker, of either lane. */
void inbox_message(struct inbox *in, const char *topic, const void *payload, size_t len, bool retained);
/* An event that did not come over MQTT (a GPIO line): noted like the
 * others, then reported. */
void inbox_event(struct inbox *in, const struct event *ev);

const struct sensor_live *inbox_sensor_live(const struct inbox *in, uint32_t sensor);

struct inbox_stats {
        unsigned long long messages, events, acks;
        unsigned long long broker_dropped;      /* messages the broker dropped since we started (all its clients) */
        bool broker_dropped_known;              /* the broker publishes $SYS/broker/publish/messages/dropped */
};
const struct inbox_stats *inbox_get_stats(const struct inbox *in);
