/* The hub glue. */
#include "hub-internal.h"
#include "proto.h"
#include "clock.h"
#include "config.h"
#include "decode.h"
#include "dispatch.h"
#include "incident.h"
#include "log.h"
#include "mqtt.h"
#include "outputs.h"
#include "pins.h"
#include "rules.h"
#include "store.h"
#include "util.h"

#include <errno.h>
#include <unistd.h>
#include <math.h>
#include <jansson.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>
#include <time.h>

#define MAX_EVENTS_PER_MESSAGE 24
#define LOG_FLUSH_DELAY (500 * USEC_PER_MSEC)
#define LOG_FLUSH_BATCH 4096

static void check_storage(struct hub *h);

void hub_warn_bad_input(struct hub *h, const char *topic, const char *what, const char *detail) {
        unsigned suppressed;

        if (!ratelimit_below(&h->bad_input_rl, now_mono(), &suppressed))
                return;
        if (suppressed > 0)
                log_warning("%u more bad messages were not logged", suppressed);
        log_warning("bad message on %.120s: %s%s%s, ignoring", topic, what, *detail ? ": " : "", detail);
}

static void arm_flush(struct hub *h) {
        if (store_log_pending(h->store) >= LOG_FLUSH_BATCH) {
                (void) store_flush(h->store);
                return;
        }
        if (sd_event_source_get_enabled(h->flush, NULL) == 0)
                (void) sd_event_source_set_time_relative(h->flush, LOG_FLUSH_DELAY),
                (void) sd_event_source_set_enabled(h->flush, SD_EVENT_ONESHOT);
}

static int on_flush(sd_event_source *s, uint64_t usec, void *userdata) {
        struct hub *h = userdata;
        int r = store_flush(h->store);

        if (r < 0) {
                log_warning_errno(r, "sensor log: batch of %zu events not written: %m, will retry",
                                  store_log_pending(h->store));
                check_storage(h);
        }
        if (store_log_pending(h->store) > 0)
                arm_flush(h);
        return 0;
}

/* The relays cut or restored the power: on the fire incident's record. */
static void record_power(struct hub *h, bool cut) {
        const char *id = cut ? incidents_open_id(h->incidents, INCIDENT_FIRE) : h->power_cut_by;

        if (cut)
                snprintf(h->power_cut_by, sizeof h->power_cut_by, "%s", id ? id : "");
        if (h->store && id && *id)
                (void) store_timeline_add(h->store, id, clock_wall(), cut ? "power_cut" : "power_restored", "relay",
                                          "output", cut ? "the charger's power is cut" : "the charger's power is back");
        if (!cut)
                h->power_cut_by[0] = '\0';
}

/* Sets the one timer of the rules and the escalation ladders to the
 * earliest deadline of either (scaled clock → real). */
void hub_rearm(struct hub *h) {
        uint64_t t = rules_next_deadline(h->rules), e = incidents_next_deadline(h->incidents);
        enum siren_pattern siren;
        bool relay_cut;

        /* Every change of an incident passes here: the outputs follow. */
        incidents_outputs(h->incidents, &siren, &relay_cut);
        if (outputs_set(h->outputs, siren, relay_cut))
                record_power(h, relay_cut);
        if (e < t)
                t = e;
        if (t == RULES_NEVER) {
                (void) sd_event_source_set_enabled(h->rules_timer, SD_EVENT_OFF);
                return;
        }
        (void) sd_event_source_set_time(h->rules_timer, clock_to_real(t));
        (void) sd_event_source_set_enabled(h->rules_timer, SD_EVENT_ONESHOT);
}

void hub_apply(struct hub *h, const struct decision *dec, size_t n, const char *actor,
               const char *channel) {
        for (size_t i = 0; i < n; i++) {
                h->stats.decisions++;
                (void) incidents_apply_from(h->incidents, &dec[i], actor, channel);
        }
        if (n > 0)
                check_storage(h);
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

static int on_rules_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        struct hub *h = userdata;
        struct decision dec[RULES_MAX_DECISIONS];
        uint64_t mono = clock_mono(), wall = clock_wall();
        size_t n;

        do {
                n = rules_tick(h->rules, mono, wall, dec, ELEMENTSOF(dec));
                hub_apply(h, dec, n, NULL, NULL);
        } while (n == ELEMENTSOF(dec));
        incidents_tick(h->incidents, mono, wall);
        note_presence(h);
        hub_rearm(h);
        return 0;
}

/* What the sensor said last, for anjuctl sensors. */
static void note_live(struct hub *h, const struct event *ev) {
        struct sensor_live *l = &h->live[ev->sensor];
        int main_attr = decode_main_attr(h->cfg->sensors[ev->sensor].kind);

        if (!ev->retained || !l->last_seen)
                l->last_seen = ev->wall;
        if (ev->attr == ATTR_BATTERY)
                l->battery = (float) ev->value;
        else if ((int) ev->attr == main_attr || (main_attr < 0 && ev->attr == ATTR_HEART_RATE))
                l->value = (float) ev->value;
}

static void handle_event(struct hub *h, const struct event *ev) {
        struct decision dec[RULES_MAX_DECISIONS];
        size_t n;

        h->stats.events++;
        note_live(h, ev);
        if (h->walks)
                hubctl_event(h, ev);
        if (h->store && store_log_event(h->store, h->cfg->sensors[ev->sensor].id, ev) == 0)
                arm_flush(h);
        n = rules_feed(h->rules, ev, dec, ELEMENTSOF(dec));
        hub_apply(h, dec, n, NULL, NULL);
        note_presence(h);
        hub_rearm(h);
}

/* Acks seen recently, by signature: a replayed message is refused. */
bool hub_seen_before(struct hub *h, const char *sig) {
        for (size_t i = 0; i < ELEMENTSOF(h->recent_sigs); i++)
                if (strcmp(h->recent_sigs[i], sig) == 0)
                        return true;
        snprintf(h->recent_sigs[h->next_sig], sizeof h->recent_sigs[0], "%s", sig);
        h->next_sig = (h->next_sig + 1) % ELEMENTSOF(h->recent_sigs);
        return false;
}

static bool hex_equal(const char *a, const char *b) {
        unsigned char d = 0;

        if (strlen(a) != strlen(b))
                return false;
        for (size_t i = 0; a[i]; i++)
                d |= (unsigned char) (a[i] ^ b[i]);
        return d == 0;
}

const char *hub_check_signature(struct hub *h, const char *key, size_t key_len, const char *msg,
                                long long ts, const char *sig) {
        long long age = (long long) (now_wall() / USEC_PER_SEC) - ts;
        char want[65];

        if (age > 300 || age < -300)
                return "ts is more than 5 minutes from this hub's clock";
        if (hmac_sha256_hex(key, key_len, msg, strlen(msg), want) < 0 || !hex_equal(want, sig))
                return "bad signature";
        if (hub_seen_before(h, sig))
                return "replayed (this signed message was already applied)";
        return NULL;
}

static void refuse_ack(struct hub *h, const char *incident, const char *by, const char *why) {
        h->stats.bad_acks++;
        log_warning("ack refused (incident %.40s, by %.40s): %s", incident ? incident : "?", by ? by : "?", why);
}

/* anju/<hub>/ack: {"incident", "action", "by", "note", "ts", "sig"} where
 * sig = hex HMAC-SHA256 with the contact's key of
 * "<incident>\n<action>\n<by>\n<ts>\n<note>" and ts = Unix seconds (real
 * time, within 5 minutes). "cancel" of a fall pre-alarm is the resident's
 * own "I am all right" and needs no signature. docs/ESCALATION.md. */
static void handle_ack(struct hub *h, const char *topic, const void *payload, size_t len) {
        struct decision dec[RULES_MAX_DECISIONS];
        struct ack_msg m;
        const char *why = NULL;
        char text[600];
        size_t n;

        if (proto_parse_ack(payload, len, &m, &why) < 0) {
                h->stats.bad_acks++;
                hub_warn_bad_input(h, topic, "ack refused", why);
                return;
        }
        if (strcmp(m.action, "cancel") == 0 && !m.sig[0]) {
                if (!incidents_in_prealarm(h->incidents, m.incident)) {
                        refuse_ack(h, m.incident, m.by, "cancel is only for a fall pre-alarm still waiting "
                                   "(unknown, already called or closed); responders send false_alarm");
                } else {
                        n = rules_cancel(h->rules, clock_mono(), clock_wall(), dec, ELEMENTSOF(dec));
                        hub_apply(h, dec, n, m.by[0] ? m.by : "resident", "mqtt");
                }
        } else {
                int k = m.by[0] ? config_find_contact(h->cfg, m.by) : -1;
                const struct contact_conf *c = k >= 0 ? &h->cfg->contacts[k] : NULL;

                if (!c)
                        refuse_ack(h, m.incident, m.by, "unknown responder (no [contact] with this id)");
                else if (!c->key)
                        refuse_ack(h, m.incident, m.by, "this contact has no key_file: its acks cannot be checked");
                else if (!m.sig[0] || m.ts <= 0)
                        refuse_ack(h, m.incident, m.by, "not signed (ts and sig are required)");
                else if (proto_ack_signed_text(&m, text, sizeof text) < 0)
                        refuse_ack(h, m.incident, m.by, "message too long");
                else if ((why = hub_check_signature(h, c->key, c->key_len, text, m.ts, m.sig)))
                        refuse_ack(h, m.incident, m.by, why);
                else if (strcmp(m.action, "cancel") == 0)
                        refuse_ack(h, m.incident, m.by, "cancel is the resident's; responders send false_alarm");
                else {
                        enum ack_result r = incidents_ack(h->incidents, m.incident, m.action, m.by, "mqtt", m.note,
                                                          clock_mono(), clock_wall());
                        if (r != ACK_APPLIED && r != ACK_RECORDED)
                                refuse_ack(h, m.incident, m.by, ack_result_to_string(r));
                        else
                                h->stats.acks++;
                }
        }
        hub_rearm(h);
}

bool hub_sensor_online(const struct hub *h, uint32_t i) {
        return !rules_sensor_offline(h->rules, i) && pins_sensor_held(h->pins, i) &&
               outputs_sensor_held(h->outputs, i);
}

size_t hub_offline_count(const struct hub *h) {
        return rules_offline_count(h->rules) + pins_failed(h->pins) + outputs_failed(h->outputs);
}

/* The hub's health for the center's heartbeat (anju.heartbeat.v1). */
static char *health_body(void *userdata) {
        struct hub *h = userdata;
        char at[40];
        json_t *j;
        char *txt;
        int depth = h->store ? store_outbox_depth(h->store) : -1;

        format_rfc3339(at, sizeof at, clock_wall());
        j = json_pack("{s:s, s:s, s:s, s:{s:I, s:I}, s:I, s:o, s:b}",
                      "schema", "anju.heartbeat.v1", "hub", h->cfg->hub.id, "at", at,
                      "sensors", "total", (json_int_t) h->cfg->n_sensors,
                      "online", (json_int_t) (h->cfg->n_sensors - hub_offline_count(h)),
                      "open_incidents", (json_int_t) incidents_open_count(h->incidents),
                      "outbox_depth", depth >= 0 ? json_integer(depth) : json_null(),
                      "mqtt_connected", h->mqtt && mqtt_is_connected(h->mqtt));
        txt = j ? json_dumps(j, JSON_COMPACT) : NULL;
        json_decref(j);
        return txt;
}

/* The link to the center went down or came back: a warning for the
 * maintenance contact (the calls themselves keep retrying). */
static void on_link(bool up, unsigned failures, void *userdata) {
        struct hub *h = userdata;
        uint64_t wall = clock_wall(), mono = clock_mono();
        uint64_t lost = failures * h->cfg->dispatch.heartbeat_interval;
        struct decision d = {
                .kind = up ? DECISION_CLEAR : DECISION_RAISE, .type = INCIDENT_DEVICE_HEALTH,
                .severity = SEVERITY_WARNING, .sensor = SENSOR_NONE, .mono = mono, .wall = wall,
                .since_wall = wall > lost ? wall - lost : wall, .duration = lost, .problem = HEALTH_LINK,
        };

        hub_apply(h, &d, 1, NULL, NULL);
        hub_rearm(h);
}

/* A GPIO line was lost or is back: a device-health warning on the sensor. */
static void on_line_health(uint32_t sensor, bool bad, void *userdata) {
        struct hub *h = userdata;
        uint64_t wall = clock_wall();
        struct decision d = {
                .kind = bad ? DECISION_RAISE : DECISION_CLEAR, .type = INCIDENT_DEVICE_HEALTH,
                .severity = SEVERITY_WARNING, .sensor = sensor, .mono = clock_mono(), .wall = wall,
                .since_wall = wall, .problem = HEALTH_GPIO,
        };

        if (!h->incidents)
                return;
        hub_apply(h, &d, 1, NULL, NULL);
        hub_rearm(h);
}

static void on_pin_event(const struct event *ev, void *userdata) {
        handle_event(userdata, ev);
}

static void on_center_answered(const char *incident, const char *case_id, void *userdata) {
        struct hub *h = userdata;

        incidents_center_answered(h->incidents, incident, case_id, clock_mono(), clock_wall());
        hub_rearm(h);
}

static void handle_availability(struct hub *h, uint32_t idx, const char *topic, const void *p,
                                size_t len, uint64_t mono, uint64_t wall) {
        int on = decode_availability(p, len);
        struct event ev = { .sensor = idx, .attr = ATTR_ONLINE, .mono = mono, .wall = wall };

        if (on < 0) {
                h->stats.bad_availability++;
                hub_warn_bad_input(h, topic, "availability is not online/offline", "");
                return;
        }
        if (h->online[idx] != on)
                log_notice("sensor %s is %s (its bridge says so)", h->cfg->sensors[idx].id,
                           on ? "online" : "OFFLINE");
        h->online[idx] = (signed char) on;
        ev.value = on;
        handle_event(h, &ev);
}

static void count_decode_error(struct hub *h, const char *topic, const struct decode_result *res) {
        switch (res->error) {
        case DECODE_TOO_LARGE: h->stats.too_large++; break;
        case DECODE_NOT_JSON: h->stats.not_json++; break;
        case DECODE_BAD_TYPE: h->stats.bad_type++; break;
        default: return;        /* no known key: a device's chatter, not an error */
        }
        hub_warn_bad_input(h, topic, decode_error_to_string(res->error), res->detail);
}

static void on_message(const char *topic, const void *payload, size_t len, bool retained,
                       void *userdata) {
        struct hub *h = userdata;
        struct event ev[MAX_EVENTS_PER_MESSAGE];
        struct decode_result res;
        uint64_t mono = clock_mono(), wall = clock_wall();
        uint32_t v;
        size_t n;

        h->stats.messages++;
        if (strcmp(topic, h->ack_topic) == 0) {
                handle_ack(h, topic, payload, len);
                return;
        }
        if (strcmp(topic, h->config_set_topic) == 0) {
                hubctl_remote_set(h, topic, payload, len);
                return;
        }
        if (!strmap_get(h->topics, topic, strlen(topic), &v)) {
                h->stats.unknown_topic++;
                hub_warn_bad_input(h, topic, "no sensor has this topic", "");
                return;
        }
        if (v & 1) {
                handle_availability(h, v >> 1, topic, payload, len, mono, wall);
                return;
        }
        n = decode_state(&h->cfg->sensors[v >> 1], v >> 1, payload, len, mono, wall, retained, ev,
                         ELEMENTSOF(ev), &res);
        if (res.error != DECODE_OK)
                count_decode_error(h, topic, &res);
        for (size_t i = 0; i < n; i++)
                handle_event(h, &ev[i]);
}

static void log_config_error(const char *msg, void *userdata) {
        log_error("%s", msg);
}

static void on_mqtt_connected(void *userdata) {
        struct hub *h = userdata;

        hubctl_publish_config(h);
        outputs_mqtt_connected(h->outputs);
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        struct hub *h = userdata;

        if (si->ssi_signo == SIGHUP) {
                struct config *fresh = NULL;

                /* All or nothing: a file that does not validate changes nothing. */
                if (config_load(h->cfg->path, log_config_error, NULL, &fresh) < 0) {
                        log_error("SIGHUP: %s is not valid; the running configuration stays in force",
                                  h->cfg->path);
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
                mqtt_set_reloading(h->mqtt);
                return sd_event_exit(h->event, 0);
        }
        log_notice("%s received, stopping", strsignal((int) si->ssi_signo));
        return sd_event_exit(h->event, 0);
}

static int build_topic_map(struct hub *h) {
        const struct config *cfg = h->cfg;

        h->topics = strmap_new(cfg->n_sensors * 2);
        h->online = malloc(cfg->n_sensors ? cfg->n_sensors : 1);
        if (!h->topics || !h->online)
                return -ENOMEM;
        memset(h->online, -1, cfg->n_sensors);
        for (size_t i = 0; i < cfg->n_sensors; i++) {
                const struct sensor_conf *s = &cfg->sensors[i];
                if (s->topic && strmap_put(h->topics, s->topic, (uint32_t) i << 1) == -EEXIST)
                        return log_error_errno(EINVAL, "sensor %s: topic %s is used by another sensor",
                                               s->id, s->topic);
                if (s->availability_topic &&
                    strmap_put(h->topics, s->availability_topic, ((uint32_t) i << 1) | 1) == -EEXIST)
                        return log_error_errno(EINVAL, "sensor %s: topic %s is used by another sensor",
                                               s->id, s->availability_topic);
        }
        return 0;
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
        r = sd_event_add_time(h->event, &h->flush, CLOCK_MONOTONIC, UINT64_MAX, 10 * USEC_PER_MSEC,
                              on_flush, h);
        if (r < 0)
                return r;
        return sd_event_source_set_enabled(h->flush, SD_EVENT_OFF);
}

/* The database will not open (corrupt, unreadable, no space): set the file
 * aside and start a new one; failing that, run from memory. Never refuse
 * to watch the home over its record. */
static void open_store_anyway(struct hub *h) {
        const char *path = h->cfg->hub.database;
        char aside[4200];

        h->store = NULL;
        h->storage_fault = true;
        snprintf(aside, sizeof aside, "%s.broken-%llu", path, (unsigned long long) (now_wall() / USEC_PER_SEC));
        if (access(path, F_OK) == 0 && rename(path, aside) == 0) {
                char wal[4300], walaside[4400];
                snprintf(wal, sizeof wal, "%s-wal", path);
                snprintf(walaside, sizeof walaside, "%s-wal", aside);
                (void) rename(wal, walaside);
                snprintf(wal, sizeof wal, "%s-shm", path);
                (void) unlink(wal);
                log_error("database %s could not be opened: kept as %s for inspection; starting a new one",
                          path, aside);
                if (store_open(path, &h->store) == 0)
                        return;
        }
        h->store = NULL;
        log_error("database %s is not usable: running from memory — alarms still go out, "
                  "but nothing is recorded until it is fixed", path);
}

/* A storage fault (at start, or a failed write since) is a warning for the
 * maintenance contact, once per fault. */
static void check_storage(struct hub *h) {
        unsigned long f = store_failures(h->store);
        struct decision d;

        if (!h->storage_fault && f == h->storage_failures_seen)
                return;
        /* A full disk fails every write: one warning per 10 minutes is plenty. */
        if (!h->storage_fault && h->storage_warned_at && clock_mono() - h->storage_warned_at < 10 * USEC_PER_MIN)
                return;
        h->storage_warned_at = clock_mono();
        h->storage_fault = false;
        h->storage_failures_seen = f;
        d = (struct decision) {
                .kind = DECISION_RAISE, .type = INCIDENT_DEVICE_HEALTH, .severity = SEVERITY_WARNING,
                .sensor = SENSOR_NONE, .mono = clock_mono(), .wall = clock_wall(), .problem = HEALTH_STORAGE,
        };
        d.since_wall = d.wall;
        (void) incidents_apply(h->incidents, &d);
}

/* The outputs start in the state the stored incidents ask for: a restart
 * during a fire keeps the charger's power cut. */
static int outputs_start(struct hub *h) {
        enum siren_pattern siren;
        bool relay_cut;

        incidents_outputs(h->incidents, &siren, &relay_cut);
        if (relay_cut) {
                const char *id = incidents_open_id(h->incidents, INCIDENT_FIRE);
                snprintf(h->power_cut_by, sizeof h->power_cut_by, "%s", id ? id : "");
                log_notice("fire incident %s is still open: relays stay cut", h->power_cut_by);
        }
        return outputs_new(h->event, h->cfg, h->mqtt, on_line_health, h, siren, relay_cut, &h->outputs);
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
        h->bad_input_rl = (struct ratelimit) RATELIMIT_INIT(10 * USEC_PER_SEC, 10);
        if (cfg->hub.timezone) {
                setenv("TZ", cfg->hub.timezone, 1);
                tzset();
        }
        if ((r = setup_loop(h)) < 0 || (r = build_topic_map(h)) < 0)
                goto err;
        if (store_open(cfg->hub.database, &h->store) < 0)
                open_store_anyway(h);
        h->started = clock_wall();
        /* Thresholds set at run time win over the file's until set again. */
        hubctl_load_settings(h);
        h->live = calloc(cfg->n_sensors + 1, sizeof *h->live);
        if (!h->live) {
                r = -ENOMEM;
                goto err;
        }
        for (size_t i = 0; i < cfg->n_sensors; i++)
                h->live[i] = (struct sensor_live) { .battery = -1, .value = NAN };
        if ((r = dispatch_new(h->event, cfg, h->store, &h->dispatch)) < 0 ||
            (r = incidents_new(cfg, h->store, h->dispatch, &h->incidents)) < 0)
                goto err;
        h->rules = rules_new(cfg, clock_mono(), clock_wall());
        if (!h->rules || asprintf(&h->ack_topic, "anju/%s/ack", cfg->hub.id) < 0 ||
            asprintf(&h->config_set_topic, "anju/%s/config/set", cfg->hub.id) < 0 ||
            asprintf(&h->config_topic, "anju/%s/config", cfg->hub.id) < 0 ||
            asprintf(&h->config_result_topic, "anju/%s/config/result", cfg->hub.id) < 0) {
                r = -ENOMEM;
                goto err;
        }
        /* Rules deadlines: 100 ms of slack is nothing to a person, and lets
         * the kernel coalesce wake-ups; a scaled clock needs it scaled. */
        r = sd_event_add_time(h->event, &h->rules_timer, CLOCK_MONOTONIC, UINT64_MAX,
                              clock_real_duration(100 * USEC_PER_MSEC), on_rules_timer, h);
        if (r < 0)
                goto err;
        (void) sd_event_source_set_enabled(h->rules_timer, SD_EVENT_OFF);
        if ((r = mqtt_new(h->event, cfg, on_message, h, &h->mqtt)) < 0 ||
            (r = mqtt_subscribe_extra(h->mqtt, h->ack_topic)) < 0 ||
            (r = mqtt_subscribe_extra(h->mqtt, h->config_set_topic)) < 0)
                goto err;
        mqtt_set_connected_cb(h->mqtt, on_mqtt_connected);
        incidents_set_mqtt(h->incidents, h->mqtt);
        if ((r = outputs_start(h)) < 0 ||
            (r = pins_new(h->event, cfg, &(const struct pins_callbacks) { on_pin_event, on_line_health }, h,
                          &h->pins)) < 0)
                goto err;
        /* The control socket is for operators: without it the home is still
         * watched, so a failure here is logged, not fatal. */
        if (cfg->hub.ctl_socket && *cfg->hub.ctl_socket &&
            ctl_new(h->event, cfg->hub.ctl_socket, hubctl_request, hubctl_closed, h, &h->ctl) < 0)
                log_warning("anjuctl will not reach this daemon: no control socket at %s", cfg->hub.ctl_socket);
        dispatch_set_delivered_cb(h->dispatch, on_center_answered, h);
        if ((r = dispatch_start_heartbeat(h->dispatch, health_body, on_link, h)) < 0)
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

        n = dispatch_replay(h->dispatch);
        if (n > 0)
                log_notice("outbox: %d undelivered call(s) replayed", n);
        (void) incidents_resume(h->incidents, clock_mono(), clock_wall());
        pins_start(h->pins);
        check_storage(h);
        hub_rearm(h);
        r = mqtt_start(h->mqtt);
        if (r < 0)
                return r;
        log_notice("anjud ready: hub %s, %zu sensors, %zu open incident(s), dispatch %s",
                   h->cfg->hub.id, h->cfg->n_sensors, incidents_open_count(h->incidents),
                   h->cfg->dispatch.url);
        (void) sd_notifyf(false, "READY=1\nSTATUS=watching %zu sensors", h->cfg->n_sensors);
        r = sd_event_loop(h->event);
        if (!h->reload)
                (void) sd_notify(false, "STOPPING=1");
        return r;
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
        hubctl_free_walks(h);
        ctl_free(h->ctl);
        pins_free(h->pins);
        outputs_free(h->outputs);
        mqtt_free(h->mqtt);
        rules_free(h->rules);
        incidents_free(h->incidents);
        dispatch_free(h->dispatch);
        store_close(h->store);
        sd_event_source_disable_unref(h->flush);
        sd_event_source_disable_unref(h->rules_timer);
        free(h->ack_topic);
        free(h->config_set_topic), free(h->config_topic), free(h->config_result_topic);
        free(h->live);
        strmap_free(h->topics);
        free(h->online);
        sd_event_unref(h->event);
        config_free(h->cfg);
        free(h);
}

const struct hub_stats *hub_get_stats(const struct hub *h) {
        return &h->stats;
}
