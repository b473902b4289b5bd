/* The hub's insides, shared by hub.c (the event path) and hubctl.c (the
 * operators' side: anjuctl, remote configuration, reload). Not an API. */
#pragma once

#include "hub.h"
#include "config.h"
#include "ctl.h"
#include "log.h"
#include "util.h"

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "anju/event.h"

struct store;
struct dispatch;
struct rules;
struct incidents;
struct mqtt;
struct pins;
struct outputs;

/* What the last message of a sensor said, for anjuctl sensors. */
struct sensor_live {
        uint64_t last_seen;             /* wall usec, 0 = never */
        float battery;                  /* percent, < 0 unknown */
        float value;                    /* the kind's main attribute, NAN unknown */
};

struct walk;                            /* a walk test or a sensor test in progress */

struct hub {
        sd_event *event;
        struct config *cfg;
        struct store *store;
        struct dispatch *dispatch;
        struct rules *rules;
        struct incidents *incidents;
        struct mqtt *mqtt;
        struct pins *pins;              /* GPIO sensors */
        struct outputs *outputs;        /* sirens and relays */
        char power_cut_by[32];          /* the fire incident the relays cut power for, "" if none */
        struct strmap *topics;          /* topic → sensor index * 2 (+1: availability) */
        sd_event_source *flush;
        sd_event_source *rules_timer;   /* the rules' next deadline */
        char *ack_topic;
        char recent_sigs[256][65];      /* replay guard for signed acks */
        size_t next_sig;
        signed char *online;            /* per sensor: -1 unknown, 0, 1 */
        struct ratelimit bad_input_rl;
        struct hub_stats stats;
        struct sensor_live *live;
        struct ctl *ctl;
        struct walk *walks;             /* connections waiting for sensor events */
        char *config_set_topic, *config_topic, *config_result_topic;
        char *const *argv;              /* for a reload by re-exec */
        uint64_t started;               /* wall */
        bool reload;                    /* SIGHUP accepted: re-exec when the loop ends */
        bool storage_fault;             /* the database did not open as it was */
        unsigned long storage_failures_seen;
        uint64_t storage_warned_at;     /* mono */
        int presence;                   /* enum presence last logged */
};


/* hub.c */
/* A sensor is online unless supervision says it went silent or its GPIO
 * line is not held; and how many are not. */
bool hub_sensor_online(const struct hub *h, uint32_t i);
size_t hub_offline_count(const struct hub *h);
void hub_apply(struct hub *h, const struct decision *dec, size_t n, const char *actor, const char *channel);
void hub_rearm(struct hub *h);
void hub_warn_bad_input(struct hub *h, const char *topic, const char *what, const char *detail);
bool hub_seen_before(struct hub *h, const char *sig);
/* Checks a signed remote message: the key, |ts - now| <= 5 min, the HMAC
 * of msg, not seen before. NULL if fine, else why. */
const char *hub_check_signature(struct hub *h, const char *key, size_t key_len, const char *msg,
                                long long ts, const char *sig);

/* hubctl.c */
void hubctl_request(struct ctl_conn *c, json_t *req, void *userdata);
void hubctl_closed(struct ctl_conn *c, void *userdata);
/* Every event also goes to the walk tests. */
void hubctl_event(struct hub *h, const struct event *ev);
/* Stored thresholds over the file's, at start. */
void hubctl_load_settings(struct hub *h);
/* The effective configuration, retained on anju/<hub>/config. */
void hubctl_publish_config(struct hub *h);
/* anju/<hub>/config/set */
void hubctl_remote_set(struct hub *h, const char *topic, const void *payload, size_t len);
void hubctl_free_walks(struct hub *h);
