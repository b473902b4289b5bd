/* The incident manager: the lifecycle prealarm → open → acked → onsite →
 * resolved | cancelled of every incident, and each open incident's
 * escalation ladder (ladder.c). Pure: decisions, answers and the time come
 * in; what to do comes out as an action list (action.h) — rows to store,
 * calls, notices, alerts, prompts, log lines — which actions.c carries out.
 *
 * Incidents are keyed by type, and by device where the rule is per device
 * (device health, a door left open, mains power): a raise of a key already
 * open attaches to it (no storms); a further sensor joining a fire or a
 * leak that has been called in sends the center an "update" call, as alarm
 * receivers expect one signal per zone. The manager owns its incidents;
 * config and params are borrowed and must outlive it. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "action.h"
#include "anju/event.h"
#include "debounce.h"

struct config;
struct rule_params;
struct incidents;

/* Creates the manager with no incident open. params: the thresholds in
 * force (settings.c's live copy). Free with incidents_free(). */
int incidents_new(const struct config *cfg, const struct rule_params *params, struct incidents **ret);
void incidents_free(struct incidents *m);

/* Draws incident ids ("20261122-a3f91c": the local date and 24 random
 * bits by default); tests set a deterministic one. */
typedef int (*incident_id_fn)(uint64_t wall, char *buf, size_t n, void *userdata);
void incidents_set_id_source(struct incidents *m, incident_id_fn fn, void *userdata);
/* An id was taken by an older incident in the store: the incident gets a
 * new one (written to new_id). -ENOENT if old_id is not open. */
int incidents_rekey(struct incidents *m, const char *old_id, char *new_id, size_t n);

/* --- start-up: the incidents still open in the store ------------------- */

struct incident_record {
        const char *id;
        enum incident_type type;
        enum severity severity;
        const char *state;              /* as stored */
        uint32_t sensor;                /* the sensor that raised it, SENSOR_NONE */
        enum health_problem problem;    /* a problem of the hub itself (no sensor) */
        const char *reason;
        uint64_t opened_at;             /* wall */
        unsigned calls;                 /* calls made for it */
        bool person_answered;           /* a person acked or arrived: the siren stays quiet */
        unsigned reports;               /* DC-09 reports made for it */
};
/* Takes an open incident from the store (a second of the same key is
 * ignored: the oldest wins). */
int incidents_restore(struct incidents *m, const struct incident_record *rec);
/* A sensor that had joined it, and a contact who had arrived at it. */
void incidents_restore_sensor(struct incidents *m, const char *id, uint32_t sensor);
void incidents_restore_arrival(struct incidents *m, const char *id, uint32_t contact);
/* After the restore: a pre-alarm interrupted by the restart was not
 * cancelled in its window (a cancel would be on record), so it is called
 * now; the ladders of the others resume from when they opened. */
void incidents_resume(struct incidents *m, uint64_t mono, uint64_t wall, struct action_list *out);

/* --- running ------------------------------------------------------------ */

/* Applies one decision of the rules (or of the hub's health checks):
 * opens (a pre-alarm or an incident), attaches, cancels a pre-alarm or
 * records a clear. actor and channel name who cancelled (NULL: the
 * sensor). -EINVAL for a decision that names nothing known. */
int incidents_apply(struct incidents *m, const struct decision *d, const char *actor, const char *channel,
                    struct action_list *out);

enum ack_result {
        ACK_APPLIED,            /* the incident changed state */
        ACK_RECORDED,           /* on the record, no change (a second responder) */
        ACK_UNKNOWN_INCIDENT,
        ACK_CLOSED_INCIDENT,
        ACK_BAD_ACTION,         /* not an action, or not for this state (a pre-alarm) */
        ACK_NOT_ALLOWED,        /* this responder may not close it as a false alarm */
        _ACK_RESULT_MAX,
};
const char *ack_result_to_string(enum ack_result r);

/* A responder's answer, checked for who it is by the caller: action ack |
 * arrived | resolved | false_alarm, by actor (a contact id, "dispatch",
 * "ctl:<user>"), over channel (mqtt, https, ctl). */
enum ack_result incidents_ack(struct incidents *m, const char *id, const char *action, const char *actor,
                              const char *channel, const char *note, uint64_t mono, uint64_t wall,
                              struct action_list *out);
/* The center answered a call with a case id: it took charge (an ack by
 * "dispatch" over https, or by "receiver:NAME" over dc09 for a DC-09
 * receiver's ACK; neither silences a fire's siren). */
void incidents_center_answered(struct incidents *m, const char *id, const char *case_id, const char *receiver,
                               uint64_t mono,
                               uint64_t wall, struct action_list *out);
/* Runs the escalation ladders due at mono. */
void incidents_tick(struct incidents *m, uint64_t mono, uint64_t wall, struct action_list *out);
/* The next time a ladder is due (UINT64_MAX: none). */
uint64_t incidents_next_deadline(const struct incidents *m);

/* The relays were switched (cut true: the charger's power is off): on the
 * record of the fire incident that cut it. */
void incidents_relay_switched(struct incidents *m, bool cut, uint64_t wall, struct action_list *out);

/* --- what others need to know ---------------------------------------- */

/* What the outputs should do: the siren continuous while a fire is open
 * and no person has answered (the center's automatic acceptance does not
 * count), pulsed while a pre-alarm waits for a cancel, else off; the relay
 * cut while a fire incident is open. */
void incidents_outputs(const struct incidents *m, enum siren_pattern *siren, bool *relay_cut);
size_t incidents_open_count(const struct incidents *m);
/* The n-th open incident (oldest first): false past the last. */
bool incidents_open_at(const struct incidents *m, size_t i, const char **id, enum incident_type *type);
/* Id of the first open incident of this type, or NULL. */
const char *incidents_open_id(const struct incidents *m, enum incident_type type);
/* The sensors that triggered open incident id (borrowed, valid until the
 * next call that changes it); 0 if none or not open. */
size_t incidents_sensors(const struct incidents *m, const char *id, const uint32_t **ret);
/* True if the incident id (any, if NULL) is a pre-alarm waiting for a cancel. */
bool incidents_in_prealarm(const struct incidents *m, const char *id);

struct incidents_stats {
        unsigned long long opened, closed, cancelled, notifications, refused_closes;
};
const struct incidents_stats *incidents_get_stats(const struct incidents *m);
