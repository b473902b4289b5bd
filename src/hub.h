/* The hub: the event loop, the wiring and the one timer. It connects the
 * modules so an MQTT message (inbox) becomes events, the rules' decisions,
 * the incident manager's actions, and stored incidents and calls
 * (actions, outbox); GPIO lines (pins, outputs) and the center's link
 * come in the same way. Each module owns its state; the hub owns the
 * modules. Operators' commands (ctlcmd.c) see the hub only through this
 * header. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "anju/event.h"
#include "refusals.h"

struct config;
struct hub;
struct settings;
struct store;
struct sensor_live;

/* Builds the hub from cfg (takes ownership: freed by hub_free()). Opens the
 * database, replays the outbox, starts connecting to the broker. */
int hub_new(struct config *cfg, struct hub **ret);
/* Runs until SIGTERM/SIGINT; returns 0 or -errno. */
int hub_run(struct hub *h);
void hub_free(struct hub *h);
/* SIGHUP with a valid file: the loop ended so that main re-executes. */
bool hub_reload_requested(const struct hub *h);
/* Counts refused input of kind k (why lives as long as the daemon); true
 * if it may be logged now. */
bool hub_refused(struct hub *h, enum refusal_kind k, const char *why);
/* The command line to re-execute on reload. */
void hub_set_argv(struct hub *h, char *const *argv);

/* --- for the operators' commands (ctlcmd.c) ------------------------------- */

sd_event *hub_event(struct hub *h);
const struct config *hub_config(const struct hub *h);
/* The database, NULL while the hub runs from memory. */
struct store *hub_store(struct hub *h);
struct settings *hub_settings(struct hub *h);

struct hub_status {
        uint64_t started;               /* wall */
        const char *presence;           /* home, leaving, away */
        uint64_t last_activity;         /* wall */
        bool broker_connected;          /* every session */
        bool broker_flapping;
        bool safety_lane_connected;
        unsigned long long received[2];         /* messages read, per lane (enum inbox_lane) */
        long long broker_dropped;               /* what the broker dropped since start, -1 unknown */
        bool link_up;
        size_t pending;                 /* calls not yet delivered */
        unsigned long long delivered, failed_attempts, refused_by_center;
        int outbox_depth;               /* -1 without a database */
        size_t sensors, offline;
        int clock_synced;               /* 1, 0, -1 unknown */
        bool storage_ok;
        unsigned long long refused[5];  /* per enum refusal_kind */
        unsigned long long messages;    /* MQTT messages taken in since start, of every lane */
};
void hub_get_status(const struct hub *h, struct hub_status *ret);
/* The i-th open incident (oldest first), false past the last. */
bool hub_open_incident(const struct hub *h, size_t i, const char **id, enum incident_type *type);
/* A sensor is online unless supervision says it went silent or its GPIO
 * line is not held; and what it said last. */
bool hub_sensor_online(const struct hub *h, uint32_t i);
const struct sensor_live *hub_sensor_live(const struct hub *h, uint32_t i);
/* Behind a bridge that is offline: neither online nor offline. */
bool hub_sensor_unknown(const struct hub *h, uint32_t i);

/* An operator's answer to an incident: ack, arrived, resolved, false_alarm
 * (cancel: the resident's pre-alarm, else a false alarm). NULL if taken,
 * with *result "applied", "recorded" or "pre-alarm cancelled"; else why,
 * and *not_found if the incident is unknown. */
const char *hub_answer(struct hub *h, const char *id, const char *action, const char *actor, const char *note,
                       const char **result, bool *not_found);

struct rules_fix;
/* The wristband's last known position and the safe zone's view of it (at
 * the daemon's clock now); false if no band has sent one (issue 14). */
bool hub_last_fix(const struct hub *h, struct rules_fix *ret);
/* The safe zone as in force now: enabled, radius_m (0: no center). */
bool hub_geofence(const struct hub *h, double *radius_m);

/* Every sensor event is also told to the taps (walk tests, sensor tests). */
typedef void (*hub_tap_fn)(const struct event *ev, void *userdata);
int hub_add_tap(struct hub *h, hub_tap_fn fn, void *userdata);
void hub_remove_tap(struct hub *h, hub_tap_fn fn, void *userdata);

/* anjuctl test dispatch: one test call to the center. */
typedef void (*hub_test_fn)(bool delivered, long status, const char *case_id, const char *why, void *userdata);
int hub_test_call(struct hub *h, hub_test_fn done, void *userdata);
/* anjuctl test receiver NAME: one 602 test report to a [receiver]; done
 * gets the ACK ("ACK 0007 from arc") as its case_id. -ENOENT no such
 * receiver, -EBUSY too many tests at once. */
int hub_test_receiver(struct hub *h, const char *name, hub_test_fn done, void *userdata);
void hub_forget_test_call(struct hub *h, void *userdata);
