/* The hub (see hub.h): the loop, the wiring, the one timer. Everything that
 * arrives — a sensor's event, a tick of the clock, an answer, a problem of
 * the hub itself — goes the same way: decisions → the incident manager →
 * an action list → actions.c; then settle() puts the outputs, the re-raise
 * of a condition still present and the timer in order. */
#include "hub.h"
#include "actions.h"
#include "alarm.h"
#include "clock.h"
#include "config.h"
#include "health.h"
#include "https.h"
#include "inbox.h"
#include "incident.h"
#include "dc09link.h"
#include "link.h"
#include "log.h"
#include "mqtt.h"
#include "outbox.h"
#include "outputs.h"
#include "pins.h"
#include "refusals.h"
#include "rules.h"
#include "settings.h"
#include "store.h"
#include "util.h"
#include "words.h"

#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#define LOG_FLUSH_DELAY (500 * USEC_PER_MSEC)
#define LOG_FLUSH_BATCH 4096
#define LOG_FLUSH_CHUNK 256     /* rows per turn of the loop once a batch is full */
/* The WAL is checkpointed once the loop has been quiet this long. */
#define CHECKPOINT_IDLE (200 * USEC_PER_MSEC)
/* Refusal counts go to the database, history is pruned, the broker's
 * flapping is re-checked: once a minute of the daemon's clock, off any
 * alarm's path. */
#define HOUSEKEEPING (60 * USEC_PER_SEC)
#define PRUNE_BUDGET 5000

struct tap {
        hub_tap_fn fn;
        void *userdata;
};

struct hub {
        sd_event *event;
        struct config *cfg;
        struct store *store;
        bool storage_fault;             /* the database did not open as it was */
        struct settings *settings;
        struct refusals *refusals;
        struct health *health;
        struct https *https;
        struct outbox *outbox;
        struct link *link;
        struct incidents *incidents;
        struct actions *actions;
        struct action_list list;        /* scratch, reused */
        struct rules *rules;
        struct inbox *inbox;
        struct mqtt *mqtt[_LANE_MAX];
        struct pins *pins;
        struct outputs *outputs;
        struct tap *taps;
        size_t n_taps;
        sd_event_source *timer;         /* the rules' and the ladders' next deadline */
        sd_event_source *flush;         /* the sensor log */
        sd_event_source *flush_more;    /* ... a full batch, a chunk per turn */
        sd_event_source *checkpoint;    /* the WAL, when idle */
        sd_event_source *housekeeping;
        char *config_topic;
        char *const *argv;              /* for a reload by re-exec */
        uint64_t started;               /* wall */
        bool reload;
        int presence;                   /* enum presence last logged */
        bool settling;
        struct geo_point track[GEOFENCE_TRACK_MAX];     /* the track a call carries (sink_locate) */
        uint64_t track_at[GEOFENCE_TRACK_MAX];
        struct dc09link *dc09;          /* the [receiver NAME] alarm receiving centres */
        unsigned receivers_down;        /* bit per receiver (the first 32) */
        struct receiver_test {
                struct dc09link_req *req;
                hub_test_fn done;
                void *userdata;
        } receiver_tests[8];            /* anjuctl test receiver, in flight */
};

/* --- the path of a change ---------------------------------------------- */

static void settle(struct hub *h);
static int on_flush(sd_event_source *s, uint64_t usec, void *userdata);

static void apply(struct hub *h, const struct decision *d, size_t n, const char *actor, const char *channel) {
        for (size_t i = 0; i < n; i++)
                (void) incidents_apply(h->incidents, &d[i], actor, channel, &h->list);
}

/* A wristband's position goes to its own bounded table (the track), not
 * to the sensor log, and never to the journal. */
static void keep_location(struct hub *h, const struct event *ev) {
        if (h->store && !ev->retained)
                (void) store_location_add(h->store, h->cfg->sensors[ev->sensor].id, ev->wall, &ev->fix);
}

/* Positions older than [hub] location_retention go, a budget at a time. */
static int prune_locations(struct hub *h, uint64_t wall) {
        if (!h->store || wall <= h->cfg->hub.location_retention)
                return 0;
        return store_location_prune(h->store, wall - h->cfg->hub.location_retention, PRUNE_BUDGET);
}

static void catch_up(struct hub *h, uint64_t mono, uint64_t wall);

/* Every sensor event: the walk tests, the history, the rules. */
static void on_event(const struct event *ev, void *userdata) {
        struct hub *h = userdata;
        struct decision d[RULES_MAX_DECISIONS];
        size_t n;

        for (size_t i = 0; i < h->n_taps; i++)
                h->taps[i].fn(ev, h->taps[i].userdata);
        if (ev->attr == ATTR_LOCATION)
                keep_location(h, ev);
        else if (h->store && store_log_event(h->store, h->cfg->sensors[ev->sensor].id, ev) == 0) {
                /* A full batch goes out a chunk per turn of the loop, so an
                 * alarm never waits for thousands of rows (5-9 ms). */
                if (store_log_pending(h->store) >= 4 * LOG_FLUSH_BATCH)
                        (void) on_flush(h->flush, 0, h);        /* the chunks fell behind */
                else if (store_log_pending(h->store) >= LOG_FLUSH_BATCH)
                        (void) sd_event_source_set_enabled(h->flush_more, SD_EVENT_ONESHOT);
                else if (sd_event_source_get_enabled(h->flush, NULL) == 0) {
                        (void) sd_event_source_set_time_relative(h->flush, LOG_FLUSH_DELAY);
                        (void) sd_event_source_set_enabled(h->flush, SD_EVENT_ONESHOT);
                }
        }
        /* Time first: a deadline already past is decided before the message
         * (the life-safety socket outranks the timer, so under load a fall
         * could otherwise arrive "inside" a pre-alarm window that has run out). */
        catch_up(h, ev->mono, ev->wall);
        n = rules_feed(h->rules, ev, d, ELEMENTSOF(d));
        apply(h, d, n, NULL, NULL);
        settle(h);
}

/* Every deadline of the rules and the incidents up to mono. */
static void advance(struct hub *h, uint64_t mono, uint64_t wall) {
        struct decision d[RULES_MAX_DECISIONS];
        size_t n;

        do {
                n = rules_tick(h->rules, mono, wall, d, ELEMENTSOF(d));
                apply(h, d, n, NULL, NULL);
        } while (n == ELEMENTSOF(d));
        incidents_tick(h->incidents, mono, wall, &h->list);
}

static void catch_up(struct hub *h, uint64_t mono, uint64_t wall) {
        if (rules_next_deadline(h->rules) <= mono || incidents_next_deadline(h->incidents) <= mono)
                advance(h, mono, wall);
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        struct hub *h = userdata;

        advance(h, clock_mono(), clock_wall());
        settle(h);
        return 0;
}

/* A closed incident whose condition is still there (smoke still reported)
 * opens again; timed rules watch again from now. */
static void reraise_closed(struct hub *h, size_t from) {
        struct decision d[RULES_MAX_DECISIONS];
        size_t end = h->list.n;

        for (size_t i = from; i < end; i++) {
                const struct action *a = &h->list.v[i];
                size_t n;
                if (a->kind != ACT_STATE || !a->close)
                        continue;
                n = rules_incident_closed(h->rules, a->type, clock_mono(), clock_wall(), d, ELEMENTSOF(d));
                apply(h, d, n, NULL, NULL);
        }
}

/* The relays and the siren follow the incidents; the relay also stays cut
 * while any smoke detector still reports smoke. */
static void drive_outputs(struct hub *h) {
        enum siren_pattern siren;
        bool relay_cut;

        incidents_outputs(h->incidents, &siren, &relay_cut);
        relay_cut = relay_cut || rules_smoke_present(h->rules);
        if (outputs_set(h->outputs, siren, relay_cut))
                incidents_relay_switched(h->incidents, relay_cut, clock_wall(), &h->list);
}

static void check_storage(struct hub *h) {
        struct decision d;

        if (health_storage(h->health, store_failures(h->store), h->storage_fault, clock_mono(), clock_wall(), &d)) {
                h->storage_fault = false;
                apply(h, &d, 1, NULL, NULL);
        }
}

/* Presence is no alarm, but people want to see it change. */
static void note_presence(struct hub *h) {
        enum presence p = rules_presence(h->rules);

        if ((int) p == h->presence)
                return;
        h->presence = (int) p;
        if (p == PRESENCE_AWAY)
                log_info("presence: away (a door, then no motion inside); inactivity checks pause");
        else if (p == PRESENCE_HOME)
                log_info("presence: home");
}

static void rearm(struct hub *h) {
        uint64_t t = rules_next_deadline(h->rules), e = incidents_next_deadline(h->incidents);

        if (e < t)
                t = e;
        if (t == RULES_NEVER) {
                (void) sd_event_source_set_enabled(h->timer, SD_EVENT_OFF);
                return;
        }
        (void) sd_event_source_set_time(h->timer, clock_to_real(t));
        (void) sd_event_source_set_enabled(h->timer, SD_EVENT_ONESHOT);
}

/* Carries out what was decided, until nothing more follows from it: a
 * closed incident whose condition is still there, the outputs, a store
 * that failed while carrying it out. */
static void settle(struct hub *h) {
        if (h->settling)
                return;         /* the outer settle() carries it out */
        h->settling = true;
        for (int round = 0; round < 4; round++) {
                check_storage(h);
                reraise_closed(h, 0);
                drive_outputs(h);
                if (h->list.n == 0)
                        break;
                (void) actions_run(h->actions, &h->list);
                action_list_clear(&h->list);
        }
        h->settling = false;
        note_presence(h);
        rearm(h);
        if (h->store) {
                (void) sd_event_source_set_time_relative(h->checkpoint, CHECKPOINT_IDLE);
                (void) sd_event_source_set_enabled(h->checkpoint, SD_EVENT_ONESHOT);
        }
}

/* --- answers --------------------------------------------------------------- */

/* The resident's cancel of a fall pre-alarm (the ack topic, anjuctl). */
static const char *cancel_prealarm(struct hub *h, const char *id, const char *actor, const char *channel) {
        struct decision d[RULES_MAX_DECISIONS];
        size_t n;

        catch_up(h, clock_mono(), clock_wall());        /* a window that ran out is called, not cancelled */
        if (!incidents_in_prealarm(h->incidents, id)) {
                settle(h);
                return "cancel is only for a fall pre-alarm still waiting (unknown, already called or closed); "
                       "responders send false_alarm";
        }
        n = rules_cancel(h->rules, clock_mono(), clock_wall(), d, ELEMENTSOF(d));
        apply(h, d, n, actor, channel);
        settle(h);
        return NULL;
}

static int known(const struct store_incident *inc, void *ud) {
        return 0;
}

/* A responder's or operator's answer; why not, or NULL (and what it did). */
static const char *answer(struct hub *h, const char *id, const char *action, const char *actor, const char *channel,
                          const char *note, const char **result, bool *not_found) {
        enum ack_result r;

        if (not_found)
                *not_found = false;
        r = incidents_ack(h->incidents, id, action, actor, channel, note, clock_mono(), clock_wall(), &h->list);
        if (r == ACK_UNKNOWN_INCIDENT && h->store && store_incident_get(h->store, id, known, NULL) == 0)
                r = ACK_CLOSED_INCIDENT;        /* in the record, not open: closed */
        settle(h);
        if (result)
                *result = ack_result_to_string(r);
        if (r == ACK_APPLIED || r == ACK_RECORDED)
                return NULL;
        if (not_found)
                *not_found = r == ACK_UNKNOWN_INCIDENT;
        return ack_result_to_string(r);
}

static const char *on_answer(const struct inbox_answer *a, void *userdata) {
        struct hub *h = userdata;

        if (!a->signed_by_contact)
                return cancel_prealarm(h, a->incident, a->by[0] ? a->by : "resident", "mqtt");
        return answer(h, a->incident, a->action, a->by, "mqtt", a->note[0] ? a->note : NULL, NULL, NULL);
}

const char *hub_answer(struct hub *h, const char *id, const char *action, const char *actor, const char *note,
                       const char **result, bool *not_found) {
        if (strcmp(action, "cancel") == 0 && incidents_in_prealarm(h->incidents, id)) {
                *not_found = false;
                *result = "pre-alarm cancelled";
                return cancel_prealarm(h, id, actor, "ctl");
        }
        return answer(h, id, strcmp(action, "cancel") == 0 ? "false_alarm" : action, actor, "ctl", note, result,
                      not_found);
}

static void on_taken(const char *incident, const char *case_id, const char *receiver, void *userdata) {
        struct hub *h = userdata;

        incidents_center_answered(h->incidents, incident, case_id, receiver, clock_mono(), clock_wall(), &h->list);
        settle(h);
}

/* --- problems of the hub --------------------------------------------------- */

static void problem(struct hub *h, enum health_problem p, bool bad, uint32_t sensor, double value) {
        struct decision d = health_decision(p, bad, sensor, clock_mono(), clock_wall());

        d.value = value;
        apply(h, &d, 1, NULL, NULL);
        settle(h);
}

static void on_center_problem(bool bad, long status, void *userdata) {
        problem(userdata, HEALTH_CENTER, bad, SENSOR_NONE, (double) status);
}

/* A receiver stopped answering, or answers again: one warning for
 * maintenance while any is down (its reports meanwhile wait, or go to its
 * fallback). */
static void on_receiver_health(unsigned receiver, bool bad, unsigned failures, void *userdata) {
        struct hub *h = userdata;
        unsigned before = h->receivers_down;
        uint64_t lost = 0;
        struct decision d;

        if (receiver < 32)
                h->receivers_down = bad ? before | (1u << receiver) : before & ~(1u << receiver);
        if (!bad && receiver < h->cfg->n_receivers)
                outbox_receiver_restored(h->outbox, h->cfg->receivers[receiver].id);
        if (!h->incidents || (before != 0) == (h->receivers_down != 0))
                return;
        if (bad && receiver < h->cfg->n_receivers)
                lost = failures * h->cfg->receivers[receiver].timeout;
        d = health_decision(HEALTH_RECEIVER, bad, SENSOR_NONE, clock_mono(), clock_wall());
        d.value = receiver;
        d.since_wall = d.wall > lost ? d.wall - lost : d.wall;
        d.duration = lost;
        apply(h, &d, 1, NULL, NULL);
        settle(h);
}

static void on_line_health(uint32_t sensor, bool bad, void *userdata) {
        struct hub *h = userdata;

        if (h->incidents)
                problem(h, HEALTH_GPIO, bad, sensor, 0);
}

/* An output's problem: its GPIO line, or a smart plug that does not confirm. */
static void on_output_health(uint32_t sensor, enum health_problem p, bool bad, void *userdata) {
        struct hub *h = userdata;

        if (h->incidents)
                problem(h, p, bad, sensor, 0);
}

/* Zigbee2MQTT's bridge/state: its sensors are unknown while it is away. */
static void on_bridge(const char *bridge, bool online, void *userdata) {
        struct hub *h = userdata;
        struct decision d[RULES_MAX_DECISIONS];
        size_t n = rules_bridge(h->rules, bridge, online, clock_mono(), clock_wall(), d, ELEMENTSOF(d));

        apply(h, d, n, NULL, NULL);
        settle(h);
}

/* The link went down or came back: a warning for the maintenance contact
 * (the calls themselves keep retrying, and go at once when it is back). */
static void on_link(bool up, unsigned failures, void *userdata) {
        struct hub *h = userdata;
        uint64_t lost = failures * h->cfg->dispatch.heartbeat_interval;
        struct decision d = health_decision(HEALTH_LINK, !up, SENSOR_NONE, clock_mono(), clock_wall());

        d.since_wall = d.wall > lost ? d.wall - lost : d.wall;
        d.duration = lost;
        if (up)
                outbox_link_restored(h->outbox);
        apply(h, &d, 1, NULL, NULL);
        settle(h);
}

static void publish_config(struct hub *h) {
        char *txt = settings_json(h->settings, clock_wall());

        if (txt)
                (void) mqtt_publish(h->mqtt[LANE_BUSY], h->config_topic, txt, strlen(txt), 1, true);
        free(txt);
}

static void on_mqtt(bool up, void *userdata) {
        struct hub *h = userdata;
        struct decision d;

        /* "online" means the hub hears its alarms: only once the life-safety
         * session is connected too (it may come back after the busy one). */
        mqtt_set_status(h->mqtt[LANE_BUSY], h->mqtt[LANE_SAFETY] && mqtt_is_connected(h->mqtt[LANE_SAFETY]));
        if (up) {
                publish_config(h);
                outputs_mqtt_connected(h->outputs);
                return;
        }
        if (health_mqtt(h->health, false, clock_mono(), clock_wall(), &d)) {
                apply(h, &d, 1, NULL, NULL);
                settle(h);
        }
}

static void on_settings_changed(void *userdata) {
        struct hub *h = userdata;

        rules_params_changed(h->rules);
        publish_config(h);
        settle(h);
}

static const char *on_setting(const char *key, const char *value, const char *by, char *err, size_t n,
                              void *userdata) {
        struct hub *h = userdata;

        return settings_set(h->settings, key, value, by, "mqtt", err, n);
}

static int on_publish(const char *topic, const char *payload, size_t len, void *userdata) {
        struct hub *h = userdata;

        return mqtt_publish(h->mqtt[LANE_BUSY], topic, payload, len, 1, false);
}

static void on_pin_event(const struct event *ev, void *userdata) {
        struct hub *h = userdata;

        inbox_event(h->inbox, ev);
}

static void on_message(const char *topic, const void *payload, size_t len, bool retained, void *userdata) {
        struct hub *h = userdata;

        inbox_message(h->inbox, topic, payload, len, retained);
}

/* --- the sink of actions.c ------------------------------------------------- */

static int sink_call(void *ud, enum call_kind kind, const char *incident, const char *body, const char *url,
                     uint64_t wall) {
        struct hub *h = ud;
        return outbox_add(h->outbox, kind, incident, body, url, wall);
}

static void sink_commit(void *ud, bool stored) {
        struct hub *h = ud;
        outbox_commit(h->outbox, stored);
}

static void sink_abort(void *ud) {
        struct hub *h = ud;
        outbox_abort(h->outbox);
}

static int sink_publish(void *ud, const char *topic, const char *payload, size_t len) {
        struct hub *h = ud;
        return mqtt_publish(h->mqtt[LANE_BUSY], topic, payload, len, 1, false);
}

/* Did the wristband raise or join it? Then its calls carry the position. */
static bool band_incident(struct hub *h, const char *incident, enum incident_type type, uint32_t sensor) {
        const uint32_t *v;
        size_t n;

        if (type == INCIDENT_GEOFENCE)
                return true;
        if (sensor < h->cfg->n_sensors && h->cfg->sensors[sensor].kind == SENSOR_WRISTBAND)
                return true;
        n = incidents_sensors(h->incidents, incident, &v);
        for (size_t i = 0; i < n; i++)
                if (v[i] < h->cfg->n_sensors && h->cfg->sensors[v[i]].kind == SENSOR_WRISTBAND)
                        return true;
        return false;
}

static bool sink_locate(void *ud, const char *incident, enum incident_type type, uint32_t sensor,
                        struct alarm_location *ret) {
        struct hub *h = ud;
        struct geofence_fix track[GEOFENCE_TRACK_MAX];
        struct rules_fix f;
        size_t n = 0;

        if (!band_incident(h, incident, type, sensor) || !rules_last_fix(h->rules, clock_mono(), &f))
                return false;
        *ret = (struct alarm_location) {
                .lat = f.raw.lat, .lon = f.raw.lon, .datum = f.raw.datum, .accuracy_m = f.raw.accuracy,
                .fix_at = f.fix_wall, .age = f.age, .at_home = f.at_home, .stale = f.stale,
                .distance_m = f.distance_m,
        };
        if (h->cfg->hub.map != GEO_MAP_NONE &&
            geo_map_link((enum geo_map) h->cfg->hub.map, (struct geo_point) { f.raw.lat, f.raw.lon },
                         (enum geo_datum) f.raw.datum, h->cfg->resident.name, ret->map_url, sizeof ret->map_url) < 0)
                ret->map_url[0] = '\0';
        /* Where she went since she left: for the safe zone's own incidents. */
        if (type == INCIDENT_GEOFENCE || type == INCIDENT_NIGHT_EXIT)
                n = rules_track(h->rules, track, ELEMENTSOF(track));
        for (size_t i = 0; i < n; i++) {
                h->track[i] = track[i].p;
                h->track_at[i] = track[i].fix_wall;
        }
        ret->track = h->track;
        ret->track_at = h->track_at;
        ret->n_track = n;
        return true;
}

static void sink_drop(void *ud, const char *incident) {
        struct hub *h = ud;
        (void) outbox_drop_notices(h->outbox, incident);
}

static int rekey(const char *old_id, char *new_id, size_t n, void *ud) {
        struct hub *h = ud;
        return incidents_rekey(h->incidents, old_id, new_id, n);
}

/* --- the heartbeat ---------------------------------------------------------- */

static char *health_body(void *userdata) {
        struct hub *h = userdata;
        struct hub_status st;
        char at[40];
        json_t *j;
        char *txt;

        hub_get_status(h, &st);
        format_rfc3339(at, sizeof at, clock_wall());
        j = json_pack("{s:s, s:s, s:s, s:{s:I, s:I}, s:I, s:o, s:b, s:b, s:o}",
                      "schema", "anju.heartbeat.v1", "hub", h->cfg->hub.id, "at", at,
                      "sensors", "total", (json_int_t) st.sensors, "online", (json_int_t) (st.sensors - st.offline),
                      "open_incidents", (json_int_t) incidents_open_count(h->incidents),
                      "outbox_depth", st.outbox_depth >= 0 ? json_integer(st.outbox_depth) : json_null(),
                      "mqtt_connected", st.broker_connected, "mqtt_flapping", st.broker_flapping,
                      "clock_synced", st.clock_synced < 0 ? json_null() : json_boolean(st.clock_synced));
        txt = j ? json_dumps(j, JSON_COMPACT) : NULL;
        json_decref(j);
        return txt;
}

/* --- timers of the store ------------------------------------------------------ */

static int flush_log(struct hub *h, size_t max) {
        int r = store_flush_some(h->store, max);

        if (r < 0)
                log_warning_errno(r, "sensor log: batch of %zu events not written: %m, will retry",
                                  store_log_pending(h->store));
        if (store_log_pending(h->store) > 0) {
                (void) sd_event_source_set_time_relative(h->flush, LOG_FLUSH_DELAY);
                (void) sd_event_source_set_enabled(h->flush, SD_EVENT_ONESHOT);
        }
        if (store_checkpoint_due(h->store))
                (void) store_checkpoint(h->store);
        if (r < 0) {
                check_storage(h);
                settle(h);
        }
        return r;
}

static int on_flush(sd_event_source *s, uint64_t usec, void *userdata) {
        (void) flush_log(userdata, SIZE_MAX);
        return 0;
}

static int on_flush_more(sd_event_source *s, void *userdata) {
        struct hub *h = userdata;

        if (flush_log(h, LOG_FLUSH_CHUNK) >= 0 && store_log_pending(h->store) >= LOG_FLUSH_CHUNK)
                (void) sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
        return 0;
}

static int on_checkpoint(sd_event_source *s, uint64_t usec, void *userdata) {
        struct hub *h = userdata;

        if (store_wal_frames(h->store) > 0)
                (void) store_checkpoint(h->store);
        return 0;
}

static void save_refusals(const char *what, const char *why, unsigned long count, void *ud) {
        struct hub *h = ud;

        if (h->store)
                (void) store_refusals_add(h->store, clock_wall(), what, why, count);
}

static int on_housekeeping(sd_event_source *s, uint64_t usec, void *userdata) {
        struct hub *h = userdata;
        uint64_t wall = clock_wall();
        struct decision d;
        int r;

        (void) sd_event_source_set_time_relative(s, clock_real_duration(HOUSEKEEPING));
        refusals_take(h->refusals, save_refusals, h);
        if (h->store && wall > h->cfg->hub.history_retention) {
                r = store_prune(h->store, wall - h->cfg->hub.history_retention, h->cfg->hub.history_max, PRUNE_BUDGET);
                if (r == PRUNE_BUDGET)  /* more to go: soon, in another small step */
                        (void) sd_event_source_set_time_relative(s, 100 * USEC_PER_MSEC);
                if (r > 0)
                        log_debug("history: %d old rows pruned", r);
        }
        if (prune_locations(h, wall) == PRUNE_BUDGET)
                (void) sd_event_source_set_time_relative(s, 100 * USEC_PER_MSEC);
        if (health_mqtt_tick(h->health, clock_mono(), wall, &d)) {
                apply(h, &d, 1, NULL, NULL);
                settle(h);
        }
        return 0;
}

/* --- signals ---------------------------------------------------------------- */

static void log_config_error(const char *msg, void *userdata) {
        log_error("%s", msg);
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        struct hub *h = userdata;

        if (si->ssi_signo == SIGHUP) {
                struct config *fresh = NULL;

                /* All or nothing: a file that does not validate changes nothing. */
                if (config_load(h->cfg->path, log_config_error, NULL, &fresh) < 0 ||
                    config_load_secrets(fresh, log_config_error, NULL, NULL) < 0) {
                        config_free(fresh);
                        log_error("SIGHUP: %s is not valid; the running configuration stays in force", h->cfg->path);
                        return 0;
                }
                config_free(fresh);
                if (!h->argv) {
                        log_error("SIGHUP: cannot reload (no command line kept)");
                        return 0;
                }
                log_notice("SIGHUP: %s is valid; reloading (incidents, calls and settings are kept in the "
                           "database, rule timers start again)", h->cfg->path);
                (void) sd_notify(false, "RELOADING=1\nSTATUS=reloading the configuration");
                h->reload = true;
                for (int l = 0; l < _LANE_MAX; l++)
                        mqtt_set_reloading(h->mqtt[l]);
                return sd_event_exit(h->event, 0);
        }
        log_notice("%s received, stopping", strsignal((int) si->ssi_signo));
        return sd_event_exit(h->event, 0);
}

static int setup_loop(struct hub *h) {
        sigset_t mask;
        int r;

        r = sd_event_default(&h->event);
        if (r < 0)
                return r;
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        signal(SIGPIPE, SIG_IGN);
        /* A file-size limit makes writes fail (the database reports it), not kill us. */
        signal(SIGXFSZ, SIG_IGN);
        if ((r = sd_event_add_signal(h->event, NULL, SIGTERM, on_signal, h)) < 0 ||
            (r = sd_event_add_signal(h->event, NULL, SIGINT, on_signal, h)) < 0 ||
            (r = sd_event_add_signal(h->event, NULL, SIGHUP, on_signal, h)) < 0)
                return r;
        /* Pings the systemd watchdog from the loop: a stuck loop gets restarted. */
        (void) sd_event_set_watchdog(h->event, true);
        /* Rules deadlines: 100 ms of slack is nothing to a person, and lets
         * the kernel coalesce wake-ups; a scaled clock needs it scaled. */
        if ((r = sd_event_add_time(h->event, &h->timer, CLOCK_MONOTONIC, UINT64_MAX,
                                   clock_real_duration(100 * USEC_PER_MSEC), on_timer, h)) < 0 ||
            (r = sd_event_add_time(h->event, &h->flush, CLOCK_MONOTONIC, UINT64_MAX, 10 * USEC_PER_MSEC, on_flush,
                                   h)) < 0 ||
            (r = sd_event_add_defer(h->event, &h->flush_more, on_flush_more, h)) < 0 ||
            (r = sd_event_add_time(h->event, &h->checkpoint, CLOCK_MONOTONIC, UINT64_MAX, 50 * USEC_PER_MSEC,
                                   on_checkpoint, h)) < 0 ||
            (r = sd_event_add_time_relative(h->event, &h->housekeeping, CLOCK_MONOTONIC,
                                            clock_real_duration(HOUSEKEEPING), clock_real_duration(USEC_PER_SEC),
                                            on_housekeeping, h)) < 0)
                return r;
        (void) sd_event_source_set_enabled(h->timer, SD_EVENT_OFF);
        (void) sd_event_source_set_enabled(h->flush, SD_EVENT_OFF);
        (void) sd_event_source_set_enabled(h->flush_more, SD_EVENT_OFF);
        (void) sd_event_source_set_enabled(h->checkpoint, SD_EVENT_OFF);
        /* Idle loops stay idle at a low priority. */
        (void) sd_event_source_set_priority(h->checkpoint, SD_EVENT_PRIORITY_IDLE);
        return sd_event_source_set_enabled(h->housekeeping, SD_EVENT_ON);
}

/* --- start-up ------------------------------------------------------------------ */

static int restore_sensor(const char *sensor, void *ud) {
        struct hub *h = ((void **) ud)[0];
        const char *id = ((void **) ud)[1];
        int s = config_find_sensor(h->cfg, sensor);

        if (s >= 0)
                incidents_restore_sensor(h->incidents, id, (uint32_t) s);
        return 0;
}

static int restore_arrival(const struct store_timeline_row *row, void *ud) {
        struct hub *h = ((void **) ud)[0];
        const char *id = ((void **) ud)[1];
        int k;

        if (strcmp(row->event, "arrived") == 0 && row->actor && (k = config_find_contact(h->cfg, row->actor)) >= 0)
                incidents_restore_arrival(h->incidents, id, (uint32_t) k);
        return 0;
}

/* An incident still open in the database: its sensors, who arrived. */
static int restore_one(const struct store_incident *inc, void *ud) {
        struct hub *h = ud;
        int s = inc->sensor ? config_find_sensor(h->cfg, inc->sensor) : -1;
        struct incident_record rec = {
                .id = inc->id, .type = inc->type, .severity = inc->severity, .state = inc->state,
                .sensor = s >= 0 ? (uint32_t) s : SENSOR_NONE, .reason = inc->reason, .opened_at = inc->opened_at,
                .calls = inc->calls, .person_answered = inc->person_answered, .reports = inc->reports,
                .problem = inc->sensor && strncmp(inc->sensor, "hub:", 4) == 0
                           ? health_problem_from_string(inc->sensor + 4) : HEALTH_NONE,
        };
        void *ctx[2] = { h, (void *) inc->id };

        if (incidents_restore(h->incidents, &rec) < 0)
                return 0;
        (void) store_incident_sensors_foreach(h->store, inc->id, restore_sensor, ctx);
        (void) store_timeline_foreach(h->store, inc->id, restore_arrival, ctx);
        return 0;
}

static int start_mqtt(struct hub *h) {
        int r;

        for (int l = 0; l < _LANE_MAX; l++) {
                struct mqtt_session session = { .name = l == LANE_SAFETY ? "safety" : "", .status = l == LANE_BUSY,
                                               .urgent = l == LANE_SAFETY };

                session.n_topics = inbox_topics(h->inbox, (enum inbox_lane) l, &session.topics);
                if ((r = mqtt_new(h->event, h->cfg, &session, on_message, h, &h->mqtt[l])) < 0)
                        return r;
                mqtt_set_connected_cb(h->mqtt[l], on_mqtt);
        }
        return 0;
}

static int new_modules(struct hub *h) {
        const struct config *cfg = h->cfg;
        const struct actions_sink sink = {
                .call = sink_call, .commit = sink_commit, .abort = sink_abort, .publish = sink_publish,
                .drop_notices = sink_drop, .userdata = h, .locate = sink_locate,
        };
        const struct inbox_callbacks inbox_cb = {
                .event = on_event, .answer = on_answer, .setting = on_setting, .publish = on_publish,
                .bridge = on_bridge,
        };
        int r;

        if ((r = settings_new(cfg, h->store, &h->settings)) < 0 ||
            !(h->refusals = refusals_new()) || !(h->health = health_new()) ||
            (r = https_new(h->event, &h->https)) < 0 ||
            (r = outbox_new(h->event, cfg, h->store, h->https, &h->outbox)) < 0 ||
            (r = incidents_new(cfg, settings_params(h->settings), &h->incidents)) < 0 ||
            (r = actions_new(cfg, h->store, &sink, rekey, h, &h->actions)) < 0 ||
            (r = inbox_new(cfg, h->refusals, &inbox_cb, h, &h->inbox)) < 0)
                return r < 0 ? r : -ENOMEM;
        h->rules = rules_new(cfg, settings_params(h->settings), clock_mono(), clock_wall());
        if (!h->rules || asprintf(&h->config_topic, "anju/%s/config", cfg->hub.id) < 0)
                return -ENOMEM;
        settings_set_changed_cb(h->settings, on_settings_changed, h);
        outbox_set_callbacks(h->outbox, on_taken, on_center_problem, h);
        if ((r = dc09link_new(h->event, cfg, on_receiver_health, h, &h->dc09)) < 0)
                return r;
        outbox_set_dc09(h->outbox, h->dc09);
        if (h->store && (r = store_open_incidents_foreach(h->store, restore_one, h)) < 0)
                return r;
        return 0;
}

/* The outputs start in the state the stored incidents ask for: a restart
 * during a fire keeps the charger's power cut. */
static int start_outputs(struct hub *h) {
        enum siren_pattern siren;
        bool relay_cut;
        int r;

        incidents_outputs(h->incidents, &siren, &relay_cut);
        if (relay_cut)
                log_notice("fire incident %s is still open: relays stay cut",
                           incidents_open_id(h->incidents, INCIDENT_FIRE));
        if ((r = outputs_new(h->event, h->cfg, h->mqtt[LANE_BUSY], on_output_health, h, siren, relay_cut,
                             &h->outputs)) < 0)
                return r;
        /* A smart plug's state report confirms what it was told. */
        return hub_add_tap(h, outputs_event, h->outputs);
}

int hub_new(struct config *cfg, struct hub **ret) {
        struct hub *h;
        int r;

        h = calloc(1, sizeof *h);
        if (!h) {
                config_free(cfg);
                return -ENOMEM;
        }
        h->cfg = cfg;
        h->presence = -1;
        if (cfg->hub.timezone) {
                setenv("TZ", cfg->hub.timezone, 1);
                tzset();
        }
        if ((r = setup_loop(h)) < 0)
                goto err;
        /* Never refuse to watch the home over its record: a database that
         * will not open is set aside, and failing that the hub runs from
         * memory (a warning for maintenance either way). */
        h->storage_fault = store_open_anyway(cfg->hub.database, &h->store) != 0;
        h->started = clock_wall();
        if ((r = new_modules(h)) < 0 || (r = start_mqtt(h)) < 0 || (r = start_outputs(h)) < 0 ||
            (r = pins_new(h->event, cfg, &(const struct pins_callbacks) { on_pin_event, on_line_health }, h,
                          &h->pins)) < 0 ||
            (r = link_new(h->event, cfg, h->https, health_body, on_link, h, &h->link)) < 0)
                goto err;
        *ret = h;
        return 0;
err:
        log_error_errno(r, "start-up failed: %m");
        hub_free(h);
        return r;
}

int hub_run(struct hub *h) {
        int r, n;

        n = outbox_replay(h->outbox);
        if (n > 0)
                log_notice("outbox: %d undelivered call(s) replayed", n);
        incidents_resume(h->incidents, clock_mono(), clock_wall(), &h->list);
        settle(h);
        pins_start(h->pins);
        settle(h);
        if (clock_sync_state() == CLOCK_UNSYNCED)
                log_warning("the system clock is not synchronised (no NTP yet?): signed acks are checked by their "
                            "signature and replay guard, not by their time");
        for (int l = 0; l < _LANE_MAX; l++)
                if ((r = mqtt_start(h->mqtt[l])) < 0)
                        return r;
        log_notice("anjud ready: hub %s, %zu sensors, %zu open incident(s), dispatch %s", h->cfg->hub.id,
                   h->cfg->n_sensors, incidents_open_count(h->incidents), h->cfg->dispatch.url);
        (void) sd_notifyf(false, "READY=1\nSTATUS=watching %zu sensors", h->cfg->n_sensors);
        r = sd_event_loop(h->event);
        if (!h->reload)
                (void) sd_notify(false, "STOPPING=1");
        return r;
}

bool hub_refused(struct hub *h, enum refusal_kind k, const char *why) {
        return refusals_note(h->refusals, k, why, clock_mono());
}

bool hub_reload_requested(const struct hub *h) {
        return h->reload;
}

void hub_set_argv(struct hub *h, char *const *argv) {
        h->argv = argv;
}

void hub_free(struct hub *h) {
        if (!h)
                return;
        pins_free(h->pins);
        outputs_free(h->outputs);
        for (int l = 0; l < _LANE_MAX; l++)
                mqtt_free(h->mqtt[l]);
        link_free(h->link);
        inbox_free(h->inbox);
        rules_free(h->rules);
        actions_free(h->actions);
        action_list_free(&h->list);
        incidents_free(h->incidents);
        outbox_free(h->outbox);
        dc09link_free(h->dc09);         /* after the outbox: its calls cancel their reports */
        https_free(h->https);
        health_free(h->health);
        refusals_free(h->refusals);
        settings_free(h->settings);
        store_close(h->store);
        sd_event_source_disable_unref(h->timer);
        sd_event_source_disable_unref(h->flush);
        sd_event_source_disable_unref(h->flush_more);
        sd_event_source_disable_unref(h->checkpoint);
        sd_event_source_disable_unref(h->housekeeping);
        free(h->taps);
        free(h->config_topic);
        sd_event_unref(h->event);
        config_free(h->cfg);
        free(h);
}

/* --- for the operators' commands ------------------------------------------------ */

sd_event *hub_event(struct hub *h) {
        return h->event;
}

const struct config *hub_config(const struct hub *h) {
        return h->cfg;
}

struct store *hub_store(struct hub *h) {
        return h->store;
}

struct settings *hub_settings(struct hub *h) {
        return h->settings;
}

bool hub_sensor_unknown(const struct hub *h, uint32_t i) {
        return rules_sensor_unknown(h->rules, i);
}

bool hub_sensor_online(const struct hub *h, uint32_t i) {
        return !rules_sensor_offline(h->rules, i) && pins_sensor_held(h->pins, i) && outputs_sensor_held(h->outputs, i);
}

const struct sensor_live *hub_sensor_live(const struct hub *h, uint32_t i) {
        return inbox_sensor_live(h->inbox, i);
}

void hub_get_status(const struct hub *h, struct hub_status *st) {
        const struct outbox_stats *os = outbox_get_stats(h->outbox);
        bool all = true;

        for (int l = 0; l < _LANE_MAX; l++)
                all = all && h->mqtt[l] && mqtt_is_connected(h->mqtt[l]);
        *st = (struct hub_status) {
                .started = h->started, .presence = presence_to_string(rules_presence(h->rules)),
                .last_activity = rules_last_activity(h->rules), .broker_connected = all,
                .broker_flapping = health_mqtt_flapping(h->health),
                .safety_lane_connected = h->mqtt[LANE_SAFETY] && mqtt_is_connected(h->mqtt[LANE_SAFETY]),
                .link_up = link_is_up(h->link), .pending = outbox_pending(h->outbox), .delivered = os->delivered,
                .failed_attempts = os->attempts_failed, .refused_by_center = os->refused,
                .outbox_depth = h->store ? store_outbox_depth(h->store) : -1, .sensors = h->cfg->n_sensors,
                .offline = rules_offline_count(h->rules) + pins_failed(h->pins) + outputs_failed(h->outputs),
                .clock_synced = clock_sync_state(), .storage_ok = h->store && store_failures(h->store) == 0,
                .messages = inbox_get_stats(h->inbox)->messages,
        };
        _Static_assert(ELEMENTSOF(((struct hub_status *) 0)->refused) >= _REFUSED_MAX, "a count per refusal kind");
        for (int k = 0; k < _REFUSED_MAX; k++)
                st->refused[k] = refusals_total(h->refusals, (enum refusal_kind) k);
        for (int l = 0; l < _LANE_MAX; l++)
                st->received[l] = h->mqtt[l] ? mqtt_get_stats(h->mqtt[l])->received : 0;
        st->broker_dropped = inbox_get_stats(h->inbox)->broker_dropped_known
                             ? (long long) inbox_get_stats(h->inbox)->broker_dropped : -1;
}

bool hub_open_incident(const struct hub *h, size_t i, const char **id, enum incident_type *type) {
        return incidents_open_at(h->incidents, i, id, type);
}

int hub_add_tap(struct hub *h, hub_tap_fn fn, void *userdata) {
        struct tap *n = realloc(h->taps, (h->n_taps + 1) * sizeof *n);

        if (!n)
                return -ENOMEM;
        h->taps = n;
        n[h->n_taps++] = (struct tap) { fn, userdata };
        return 0;
}

void hub_remove_tap(struct hub *h, hub_tap_fn fn, void *userdata) {
        for (size_t i = 0; i < h->n_taps; i++)
                if (h->taps[i].fn == fn && h->taps[i].userdata == userdata) {
                        memmove(&h->taps[i], &h->taps[i + 1], (h->n_taps - i - 1) * sizeof *h->taps);
                        h->n_taps--;
                        return;
                }
}

int hub_test_call(struct hub *h, hub_test_fn done, void *userdata) {
        struct alarm_info a = {
                .incident_id = "test", .type = INCIDENT_SOS, .severity = SEVERITY_CRITICAL, .sequence = 1,
                .started_at = clock_wall(), .raised_at = clock_wall(), .reason = words_test_call(h->cfg),
                .test = true,
        };
        char *body = alarm_build_body(h->cfg, &a);
        int r;

        if (!body)
                return -ENOMEM;
        r = outbox_test_call(h->outbox, body, done, userdata);
        free(body);
        return r;
}

static void on_receiver_test(const struct dc09link_result *r, void *userdata) {
        struct receiver_test *t = userdata;
        hub_test_fn done = t->done;
        void *ud = t->userdata;

        *t = (struct receiver_test) { 0 };
        log_notice("test report (602) to receiver %s: %s", r->receiver, r->delivered ? r->answer : r->why);
        if (done)
                done(r->delivered, 0, r->delivered ? r->answer : NULL, r->why, ud);
}

int hub_test_receiver(struct hub *h, const char *name, hub_test_fn done, void *userdata) {
        struct dc09_event ev = { .name = "test", .group = 1, .zone = 0 };
        int i = config_find_receiver(h->cfg, name);

        if (i < 0)
                return -ENOENT;
        for (size_t k = 0; k < ELEMENTSOF(h->receiver_tests); k++) {
                struct receiver_test *t = &h->receiver_tests[k];
                if (t->req)
                        continue;
                t->done = done;
                t->userdata = userdata;
                return dc09link_send(h->dc09, (unsigned) i, &ev, on_receiver_test, t, &t->req);
        }
        return -EBUSY;
}

void hub_forget_test_call(struct hub *h, void *userdata) {
        for (size_t k = 0; k < ELEMENTSOF(h->receiver_tests); k++)
                if (h->receiver_tests[k].req && h->receiver_tests[k].userdata == userdata) {
                        dc09link_cancel(h->receiver_tests[k].req);
                        h->receiver_tests[k] = (struct receiver_test) { 0 };
                }
        outbox_forget_test(h->outbox, userdata);
}

bool hub_last_fix(const struct hub *h, struct rules_fix *ret) {
        return rules_last_fix(h->rules, clock_mono(), ret);
}

bool hub_geofence(const struct hub *h, double *radius_m) {
        const struct rule_params *p = settings_params(h->settings);
        bool center = p->geo_center.lat != 0 || p->geo_center.lon != 0;

        *radius_m = center ? (double) p->geo_radius : 0;
        return p->geofence && center;
}
