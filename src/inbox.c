/* The inbox (see inbox.h): one handler per kind of message, after
 * mosquitto's read_handle.c — a sensor's state, its availability, an ack,
 * a remote setting. */
#include "inbox.h"
#include "clock.h"
#include "config.h"
#include "decode.h"
#include "vocab.h"
#include "log.h"
#include "proto.h"
#include "refusals.h"
#include "sig.h"
#include "util.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_EVENTS_PER_MESSAGE 24
/* mosquitto's count of the messages it dropped (queues full), retained,
 * every sys_interval (10 s by default). */
#define SYS_DROPPED "$SYS/broker/publish/messages/dropped"
/* A responder hears why an ack was refused at most this often (a forged
 * ack naming a contact must not make the hub flood that contact). */
#define REPLY_INTERVAL (10 * USEC_PER_SEC)

enum topic_kind { TOPIC_STATE, TOPIC_AVAILABILITY };

struct inbox {
        const struct config *cfg;
        struct refusals *refusals;
        struct inbox_callbacks cb;
        void *userdata;
        struct strmap *topics;          /* topic → sensor index * 2 (+1: availability) */
        struct strmap *bridge_topics;   /* <bridge>/bridge/state → index into bridges */
        const char **bridges;           /* each bridge's base topic (the config's) */
        char **bridge_state;            /* and its state topic */
        size_t n_bridges;
        const char **lane[_LANE_MAX];   /* the topics of each lane */
        size_t n_lane[_LANE_MAX];
        char *ack_topic, *config_set_topic, *config_result_topic;
        struct sensor_live *live;
        uint64_t *replied;              /* per contact: mono of the last reply to a refused ack */
        struct sig_guard sigs;
        unsigned long long dropped_base;        /* the broker's count when we first heard it */
        struct ratelimit dropped_rl;
        struct inbox_stats stats;
};

/* --- lanes ---------------------------------------------------------------- */

enum inbox_lane inbox_sensor_lane(const struct config *cfg, uint32_t i) {
        if (cfg->sensors[i].critical)
                return LANE_SAFETY;
        switch (cfg->sensors[i].kind) {
        case SENSOR_SMOKE: case SENSOR_WATER: case SENSOR_BUTTON: case SENSOR_WRISTBAND: case SENSOR_FALL:
                return LANE_SAFETY;
        default:
                return LANE_BUSY;
        }
}

static int add_topic(struct inbox *in, enum inbox_lane lane, const char *topic) {
        const char **v = realloc(in->lane[lane], (in->n_lane[lane] + 1) * sizeof *v);

        if (!v)
                return -ENOMEM;
        in->lane[lane] = v;
        v[in->n_lane[lane]++] = topic;
        return 0;
}

/* Each bridge once: its <bridge>/bridge/state, in the busy lane (it is
 * about the sensors, not an alarm). */
static int build_bridges(struct inbox *in) {
        const struct config *cfg = in->cfg;
        uint32_t v;
        int r;

        in->bridge_topics = strmap_new(8);
        in->bridges = calloc(cfg->n_sensors + 1, sizeof *in->bridges);
        in->bridge_state = calloc(cfg->n_sensors + 1, sizeof *in->bridge_state);
        if (!in->bridge_topics || !in->bridges || !in->bridge_state)
                return -ENOMEM;
        for (size_t i = 0; i < cfg->n_sensors; i++) {
                const char *b = cfg->sensors[i].bridge;
                char *t;

                if (!b || !cfg->sensors[i].topic)
                        continue;
                if (asprintf(&t, "%s/bridge/state", b) < 0)
                        return -ENOMEM;
                /* A sensor's own topic wins: a bridge named like a sensor's
                 * topic is no bridge. */
                if (strmap_get(in->bridge_topics, t, strlen(t), &v) || strmap_get(in->topics, t, strlen(t), &v)) {
                        free(t);
                        continue;
                }
                in->bridges[in->n_bridges] = b;
                in->bridge_state[in->n_bridges++] = t;
                if ((r = strmap_put(in->bridge_topics, t, (uint32_t) in->n_bridges - 1)) < 0 ||
                    (r = add_topic(in, LANE_BUSY, t)) < 0)
                        return r;
        }
        return 0;
}

static int build_topics(struct inbox *in) {
        const struct config *cfg = in->cfg;
        int r;

        in->topics = strmap_new(cfg->n_sensors * 2 + 2);
        if (!in->topics)
                return -ENOMEM;
        for (size_t i = 0; i < cfg->n_sensors; i++) {
                const struct sensor_conf *s = &cfg->sensors[i];
                enum inbox_lane lane = inbox_sensor_lane(cfg, (uint32_t) i);

                if (s->topic) {
                        if (strmap_put(in->topics, s->topic, (uint32_t) i << 1) == -EEXIST)
                                return log_error_errno(EINVAL, "sensor %s: topic %s is used by another sensor",
                                                       s->id, s->topic);
                        if ((r = add_topic(in, lane, s->topic)) < 0)
                                return r;
                }
                if (s->availability_topic) {
                        if (strmap_put(in->topics, s->availability_topic, ((uint32_t) i << 1) | 1) == -EEXIST)
                                return log_error_errno(EINVAL, "sensor %s: topic %s is used by another sensor",
                                                       s->id, s->availability_topic);
                        if ((r = add_topic(in, lane, s->availability_topic)) < 0)
                                return r;
                }
        }
        if ((r = add_topic(in, LANE_BUSY, in->ack_topic)) < 0 || (r = add_topic(in, LANE_BUSY, in->config_set_topic)) < 0 ||
            (r = add_topic(in, LANE_BUSY, SYS_DROPPED)) < 0)
                return r;
        return build_bridges(in);
}

size_t inbox_topics(const struct inbox *in, enum inbox_lane lane, const char *const **ret) {
        *ret = in->lane[lane];
        return in->n_lane[lane];
}

/* --- sensors ---------------------------------------------------------------- */

static void refuse_input(struct inbox *in, enum refusal_kind k, const char *topic, const char *what,
                         const char *detail) {
        if (refusals_note(in->refusals, k, what, now_mono()))
                log_warning("bad message on %.120s: %s%s%s, ignoring", topic, what, detail && *detail ? ": " : "",
                            detail ? detail : "");
}

/* What the sensor said last, for anjuctl sensors. */
static void note_live(struct inbox *in, const struct event *ev) {
        struct sensor_live *l = &in->live[ev->sensor];
        int main_attr = vocab_main_attr(in->cfg->sensors[ev->sensor].kind);

        if (!ev->retained || !l->last_seen)
                l->last_seen = ev->wall;
        if (ev->attr == ATTR_BATTERY)
                l->battery = (float) ev->value;
        else if (ev->attr == ATTR_PRESENCE)
                l->presence = (float) ev->value;
        else if ((int) ev->attr == main_attr || (main_attr < 0 && ev->attr == ATTR_HEART_RATE))
                l->value = (float) ev->value;
}

static void deliver(struct inbox *in, const struct event *ev) {
        in->stats.events++;
        note_live(in, ev);
        in->cb.event(ev, in->userdata);
}

void inbox_event(struct inbox *in, const struct event *ev) {
        if (ev->sensor < in->cfg->n_sensors)
                deliver(in, ev);
}

static void handle_availability(struct inbox *in, uint32_t idx, const char *topic, const void *p, size_t len,
                                bool retained) {
        int on = decode_availability(p, len);
        struct event ev = { .sensor = idx, .attr = ATTR_ONLINE, .mono = clock_mono(), .wall = clock_wall(),
                            .retained = retained };
        struct sensor_live *l = &in->live[idx];

        if (on < 0) {
                refuse_input(in, REFUSED_PAYLOAD, topic, "availability is not online/offline", "");
                return;
        }
        if (l->bridge != on)
                log_notice("sensor %s is %s (its bridge says so)", in->cfg->sensors[idx].id, on ? "online" : "OFFLINE");
        l->bridge = (signed char) on;
        ev.value = on;
        deliver(in, &ev);
}

/* {"state":"online"|"offline"} (Zigbee2MQTT 2.x) or the bare word (1.x). */
static void handle_bridge(struct inbox *in, uint32_t b, const char *topic, const void *p, size_t len) {
        int on = decode_availability(p, len);

        if (on < 0) {
                refuse_input(in, REFUSED_PAYLOAD, topic, "bridge state is not online/offline", "");
                return;
        }
        log_notice("bridge %s is %s", in->bridges[b], on ? "online" : "OFFLINE: its sensors are unknown");
        if (in->cb.bridge)
                in->cb.bridge(in->bridges[b], on, in->userdata);
}

static void handle_state(struct inbox *in, uint32_t idx, const char *topic, const void *payload, size_t len,
                         bool retained) {
        struct event ev[MAX_EVENTS_PER_MESSAGE];
        struct decode_result res;
        size_t n;

        n = decode_state(&in->cfg->sensors[idx], idx, payload, len, clock_mono(), clock_wall(), retained, ev,
                         ELEMENTSOF(ev), &res);
        if (res.error == DECODE_TOO_LARGE || res.error == DECODE_NOT_JSON || res.error == DECODE_BAD_TYPE)
                refuse_input(in, REFUSED_PAYLOAD, topic, decode_error_to_string(res.error), res.detail);
        for (size_t i = 0; i < n; i++)
                deliver(in, &ev[i]);
}

/* --- acks ---------------------------------------------------------------------- */

/* The responder hears the outcome on its own topic (anju.ack_result.v1),
 * with this hub's clock: a phone whose clock is off sees it. */
static void reply(struct inbox *in, const struct ack_msg *m, const char *why) {
        int k = m->by[0] ? config_find_contact(in->cfg, m->by) : -1;
        const struct contact_conf *c = k >= 0 ? &in->cfg->contacts[k] : NULL;
        uint64_t now = now_mono();
        char at[40], *txt;
        json_t *j;

        if (!c || !c->topic || !in->cb.publish)
                return;
        if (why && in->replied[k] && now - in->replied[k] < REPLY_INTERVAL)
                return;
        if (why)
                in->replied[k] = now;
        format_rfc3339(at, sizeof at, now_wall());
        j = json_pack("{s:s, s:s, s:s, s:b, s:s?, s:s, s:b}", "schema", "anju.ack_result.v1", "incident", m->incident,
                      "action", m->action, "ok", why == NULL, "error", why, "hub_time", at, "hub_clock_synced",
                      clock_sync_state() == CLOCK_SYNCED);
        txt = j ? json_dumps(j, JSON_COMPACT) : NULL;
        if (txt)
                (void) in->cb.publish(c->topic, txt, strlen(txt), in->userdata);
        free(txt);
        json_decref(j);
}

static void refuse_ack(struct inbox *in, const struct ack_msg *m, const char *why) {
        if (refusals_note(in->refusals, REFUSED_ACK, why, now_mono()))
                log_warning("ack refused (incident %.40s, by %.40s): %s", m->incident[0] ? m->incident : "?",
                            m->by[0] ? m->by : "?", why);
        reply(in, m, why);
}

/* Why a signed ack from a contact cannot be taken, or NULL. */
static const char *check_ack(struct inbox *in, const struct ack_msg *m) {
        int k = m->by[0] ? config_find_contact(in->cfg, m->by) : -1;
        const struct contact_conf *c = k >= 0 ? &in->cfg->contacts[k] : NULL;
        enum sig_result r;
        char text[600];

        if (!c)
                return "unknown responder (no [contact] with this id)";
        if (!c->key)
                return "this contact has no key_file: its acks cannot be checked";
        if (!m->sig[0] || m->ts <= 0)
                return "not signed (ts and sig are required)";
        if (proto_ack_signed_text(m, text, sizeof text) < 0)
                return "message too long";
        r = sig_check(&in->sigs, c->key, c->key_len, text, m->ts, m->sig, (long long) (now_wall() / USEC_PER_SEC),
                      clock_sync_state() == CLOCK_SYNCED);
        if (r != SIG_OK)
                return sig_result_to_string(r);
        if (strcmp(m->action, "cancel") == 0)
                return "cancel is the resident's; responders send false_alarm";
        return NULL;
}

/* anju/<hub>/ack: {"incident", "action", "by", "note", "ts", "sig"} where
 * sig = hex HMAC-SHA256 with the contact's key of
 * "<incident>\n<action>\n<by>\n<ts>\n<note>". "cancel" of a fall pre-alarm
 * is the resident's own "I am all right" and needs no signature.
 * docs/ESCALATION.md. */
static void handle_ack(struct inbox *in, const char *topic, const void *payload, size_t len) {
        struct inbox_answer a;
        struct ack_msg m;
        const char *why = NULL;
        bool resident;

        if (proto_parse_ack(payload, len, &m, &why) < 0) {
                if (refusals_note(in->refusals, REFUSED_ACK, why, now_mono()))
                        log_warning("bad message on %.120s: ack refused: %s, ignoring", topic, why);
                return;
        }
        resident = strcmp(m.action, "cancel") == 0 && !m.sig[0];
        if (!resident && (why = check_ack(in, &m))) {
                refuse_ack(in, &m, why);
                return;
        }
        a = (struct inbox_answer) { .incident = m.incident, .action = m.action, .by = m.by, .note = m.note,
                                    .signed_by_contact = !resident };
        why = in->cb.answer(&a, in->userdata);
        if (why) {
                refuse_ack(in, &m, why);
                return;
        }
        in->stats.acks++;
        if (!resident)
                reply(in, &m, NULL);
}

/* --- remote settings ------------------------------------------------------------------ */

static void publish_result(struct inbox *in, const struct config_set_msg *m, const char *why) {
        json_t *res = json_pack("{s:s, s:s, s:b, s:s?}", "key", m->key, "value", m->value, "ok", why == NULL,
                                "error", why);
        char *txt = res ? json_dumps(res, JSON_COMPACT) : NULL;

        if (txt && in->cb.publish)
                (void) in->cb.publish(in->config_result_topic, txt, strlen(txt), in->userdata);
        free(txt);
        json_decref(res);
}

/* {"key", "value", "by", "ts", "sig"}: sig = HMAC-SHA256 with [hub]
 * operator_key_file of "<hub>\n<key>\n<value>\n<by>\n<ts>". The answer goes
 * to anju/<hub>/config/result. An attempt that is not verified is counted,
 * not audited: its author is whoever the sender claims. */
static void handle_setting(struct inbox *in, const void *payload, size_t len) {
        struct config_set_msg m;
        const char *why = NULL;
        char err[600], text[600];
        enum sig_result r;

        if (proto_parse_config_set(payload, len, &m, &why) < 0)
                ;
        else if (!in->cfg->hub.operator_key)
                why = "remote configuration is off: [hub] operator_key_file is not set";
        else if (proto_config_set_signed_text(&m, in->cfg->hub.id, text, sizeof text) < 0)
                why = "message too long";
        else if ((r = sig_check(&in->sigs, in->cfg->hub.operator_key, in->cfg->hub.operator_key_len, text, m.ts,
                                m.sig, (long long) (now_wall() / USEC_PER_SEC),
                                clock_sync_state() == CLOCK_SYNCED)) != SIG_OK)
                why = sig_result_to_string(r);
        if (why) {
                /* The refusal is logged and answered at a bounded rate. */
                if (refusals_note(in->refusals, REFUSED_SETTING, why, now_mono())) {
                        log_warning("remote setting refused (%.60s by %.40s): %s", m.key[0] ? m.key : "?",
                                    m.by[0] ? m.by : "?", why);
                        publish_result(in, &m, why);
                }
                return;
        }
        why = in->cb.setting(m.key, m.value, m.by, err, sizeof err, in->userdata);
        publish_result(in, &m, why);
}

/* --- the broker's own count ----------------------------------------------------------------- */

/* What mosquitto dropped since this anjud started: its count is for all
 * its clients, but on a gateway's broker anjud is the subscriber that
 * matters, and a drop on the busy lane is telemetry lost, never an alarm
 * (those ride the life-safety lane). */
static void handle_dropped(struct inbox *in, const void *payload, size_t len) {
        char buf[32], *end;
        unsigned long long v;

        if (len == 0 || len >= sizeof buf)
                return;
        memcpy(buf, payload, len);
        buf[len] = '\0';
        v = strtoull(buf, &end, 10);
        if (*end)
                return;
        if (!in->stats.broker_dropped_known) {
                in->stats.broker_dropped_known = true;
                in->dropped_base = v;
                return;
        }
        if (v < in->dropped_base)
                in->dropped_base = 0;   /* the broker restarted */
        if (v - in->dropped_base > in->stats.broker_dropped &&
            ratelimit_below(&in->dropped_rl, now_mono(), NULL))
                log_warning("the broker has dropped %llu message(s) since anjud started (its queues were full): "
                            "telemetry was lost; alarms ride their own session",
                            v - in->dropped_base);
        in->stats.broker_dropped = v - in->dropped_base;
}

/* --- one message ------------------------------------------------------------------------ */

void inbox_message(struct inbox *in, const char *topic, const void *payload, size_t len, bool retained) {
        uint32_t v;

        in->stats.messages++;
        if (strcmp(topic, in->ack_topic) == 0) {
                handle_ack(in, topic, payload, len);
                return;
        }
        if (strcmp(topic, in->config_set_topic) == 0) {
                handle_setting(in, payload, len);
                return;
        }
        if (strcmp(topic, SYS_DROPPED) == 0) {
                handle_dropped(in, payload, len);
                return;
        }
        if (!strmap_get(in->topics, topic, strlen(topic), &v)) {
                if (strmap_get(in->bridge_topics, topic, strlen(topic), &v))
                        handle_bridge(in, v, topic, payload, len);
                else
                        refuse_input(in, REFUSED_TOPIC, topic, "no sensor has this topic", "");
                return;
        }
        if (v & 1)
                handle_availability(in, v >> 1, topic, payload, len, retained);
        else
                handle_state(in, v >> 1, topic, payload, len, retained);
}

const struct sensor_live *inbox_sensor_live(const struct inbox *in, uint32_t sensor) {
        return sensor < in->cfg->n_sensors ? &in->live[sensor] : NULL;
}

const struct inbox_stats *inbox_get_stats(const struct inbox *in) {
        return &in->stats;
}

int inbox_new(const struct config *cfg, struct refusals *refusals, const struct inbox_callbacks *cb, void *userdata,
              struct inbox **ret) {
        struct inbox *in = calloc(1, sizeof *in);
        int r;

        if (!in)
                return -ENOMEM;
        in->cfg = cfg;
        in->refusals = refusals;
        in->cb = *cb;
        in->userdata = userdata;
        in->dropped_rl = (struct ratelimit) RATELIMIT_INIT(60 * USEC_PER_SEC, 1);
        in->live = calloc(cfg->n_sensors + 1, sizeof *in->live);
        in->replied = calloc(cfg->n_contacts + 1, sizeof *in->replied);
        if (!in->live || !in->replied || asprintf(&in->ack_topic, "anju/%s/ack", cfg->hub.id) < 0 ||
            asprintf(&in->config_set_topic, "anju/%s/config/set", cfg->hub.id) < 0 ||
            asprintf(&in->config_result_topic, "anju/%s/config/result", cfg->hub.id) < 0) {
                r = -ENOMEM;
                goto err;
        }
        for (size_t i = 0; i < cfg->n_sensors; i++)
                in->live[i] = (struct sensor_live) { .battery = -1, .value = NAN, .bridge = -1, .presence = NAN };
        if ((r = build_topics(in)) < 0)
                goto err;
        *ret = in;
        return 0;
err:
        inbox_free(in);
        return r;
}

void inbox_free(struct inbox *in) {
        if (!in)
                return;
        strmap_free(in->topics);
        strmap_free(in->bridge_topics);
        for (size_t b = 0; b < in->n_bridges; b++)
                free(in->bridge_state[b]);
        free((void *) in->bridges), free(in->bridge_state);
        for (int l = 0; l < _LANE_MAX; l++)
                free(in->lane[l]);
        free(in->ack_topic), free(in->config_set_topic), free(in->config_result_topic);
        free(in->live);
        free(in->replied);
        free(in);
}
