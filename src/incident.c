/* The incident manager: the lifecycle prealarm → open → acked → onsite →
 * resolved | cancelled, each transition stored with time, actor, channel
 * and note; and the escalation ladder of each open incident (ladder.c),
 * whose steps notify contacts over MQTT or place the emergency call. */
#include "incident.h"
#include "alarm.h"
#include "config.h"
#include "dispatch.h"
#include "ladder.h"
#include "log.h"
#include "mqtt.h"
#include "store.h"
#include "util.h"

#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum inc_state { STATE_PREALARM, STATE_OPEN, STATE_ACKED, STATE_ONSITE };

static const char *const state_names[] = { "prealarm", "open", "acked", "onsite" };

struct open_incident {
        bool open;
        enum inc_state state;
        bool prealarm;                  /* waiting for the resident to cancel */
        bool called;                    /* an emergency call exists for it */
        bool silenced;                  /* a person answered: the local siren may stop */
        char id[INCIDENT_ID_MAX];
        enum severity severity;
        uint64_t opened_at;             /* wall usec */
        unsigned calls;                 /* calls made for it so far */
        uint32_t *sensors;              /* sensors that triggered it */
        size_t n_sensors;
        struct ladder ladder;
        struct decision first;          /* the decision that opened it (for calls made later) */
        char reason[256];               /* the sentence of that decision */
        const char *shown_state;        /* a closing state, while its notices go out */
};

struct incidents {
        const struct config *cfg;
        struct store *store;
        struct dispatch *dispatch;
        struct mqtt *mqtt;
        char *alert_topic, *prompt_topic;
        struct open_incident open[_INCIDENT_TYPE_MAX];
        size_t *by_order;               /* contact indexes sorted by `order` */
        uint64_t *warned;               /* per sensor (+1 for none): mono of the last warning notice */
        struct incidents_stats stats;
};
static bool has_sensor(const struct open_incident *o, uint32_t s) {
        for (size_t i = 0; i < o->n_sensors; i++)
                if (o->sensors[i] == s)
                        return true;
        return false;
}

static int add_sensor(struct open_incident *o, uint32_t s) {
        uint32_t *n;

        if (s == SENSOR_NONE || has_sensor(o, s))
                return 0;
        n = realloc(o->sensors, (o->n_sensors + 1) * sizeof *n);
        if (!n)
                return -ENOMEM;
        o->sensors = n;
        o->sensors[o->n_sensors++] = s;
        return 0;
}

static const struct sensor_conf *sensor_of(const struct incidents *m, uint32_t i) {
        return i < m->cfg->n_sensors ? &m->cfg->sensors[i] : NULL;
}

static const struct escalation_conf *esc_of(const struct incidents *m, const struct open_incident *o) {
        return &m->cfg->escalation[o->severity];
}

static enum inc_state state_from_string(const char *s) {
        for (int i = 0; i < (int) ELEMENTSOF(state_names); i++)
                if (s && strcmp(s, state_names[i]) == 0)
                        return (enum inc_state) i;
        return STATE_OPEN;
}

struct load_ctx {
        struct incidents *m;
        struct open_incident *o;
};

static int load_sensor(int n, const char *const *cols, void *ud) {
        struct load_ctx *c = ud;
        int s = n > 0 && cols[0] ? config_find_sensor(c->m->cfg, cols[0]) : -1;

        if (s >= 0)
                (void) add_sensor(c->o, (uint32_t) s);
        return 0;
}

/* Timeline rows at, event, actor, ...: a person (not the center's
 * automatic answer) acked or arrived. */
static int person_answered(int n, const char *const *cols, void *ud) {
        bool *yes = ud;

        if (n >= 3 && cols[1] && cols[2] && strcmp(cols[2], "dispatch") != 0 &&
            (strcmp(cols[1], "ack") == 0 || strcmp(cols[1], "arrived") == 0))
                *yes = true;
        return 0;
}

static int load_one(const struct store_incident *inc, void *ud) {
        struct incidents *m = ud;
        struct open_incident *o;
        int s;

        if (inc->type < 0 || inc->type >= _INCIDENT_TYPE_MAX || inc->severity < 0)
                return 0;
        o = &m->open[inc->type];
        if (o->open)
                return 0;       /* two open of one type: keep the oldest */
        o->open = true;
        o->state = state_from_string(inc->state);
        o->prealarm = o->state == STATE_PREALARM;
        o->called = inc->calls > 0;
        /* Who acked is in the timeline: the siren stays quiet after a
         * restart only if a person had answered. */
        o->silenced = o->state == STATE_ONSITE;
        if (!o->silenced && o->state == STATE_ACKED && m->store)
                (void) store_timeline_load(m->store, inc->id, person_answered, &o->silenced);
        snprintf(o->id, sizeof o->id, "%s", inc->id);
        o->severity = inc->severity;
        o->opened_at = inc->opened_at;
        o->calls = inc->calls;
        snprintf(o->reason, sizeof o->reason, "%s", inc->reason ? inc->reason : "");
        s = inc->sensor ? config_find_sensor(m->cfg, inc->sensor) : -1;
        (void) add_sensor(o, s >= 0 ? (uint32_t) s : SENSOR_NONE);
        /* Every sensor that had joined: a retained state replayed after the
         * restart must not send its update call a second time. */
        if (m->store) {
                struct load_ctx c = { m, o };
                (void) store_incident_sensors(m->store, inc->id, load_sensor, &c);
        }
        o->first = (struct decision) {
                .kind = DECISION_RAISE, .type = inc->type, .severity = inc->severity,
                .sensor = s >= 0 ? (uint32_t) s : SENSOR_NONE, .wall = inc->opened_at,
                .since_wall = inc->opened_at,
        };
        log_notice("incident %s (%s, %s) is still open from before the restart", inc->id,
                   incident_type_to_string(inc->type), inc->state);
        return 0;
}

static int cmp_order(const void *a, const void *b, void *ud) {
        const struct config *cfg = ud;
        const struct contact_conf *x = &cfg->contacts[*(const size_t *) a];
        const struct contact_conf *y = &cfg->contacts[*(const size_t *) b];

        return x->order != y->order ? (x->order < y->order ? -1 : 1) : strcmp(x->id, y->id);
}

int incidents_new(const struct config *cfg, struct store *store, struct dispatch *dispatch,
                  struct incidents **ret) {
        struct incidents *m = calloc(1, sizeof *m);
        int r;

        if (!m)
                return -ENOMEM;
        m->cfg = cfg;
        m->store = store;
        m->dispatch = dispatch;
        m->by_order = calloc(cfg->n_contacts + 1, sizeof *m->by_order);
        m->warned = calloc(cfg->n_sensors + 2, sizeof *m->warned);
        if (!m->by_order || !m->warned ||
            asprintf(&m->alert_topic, "anju/%s/alert", cfg->hub.id) < 0 ||
            asprintf(&m->prompt_topic, "anju/%s/prompt", cfg->hub.id) < 0) {
                incidents_free(m);
                return -ENOMEM;
        }
        for (size_t i = 0; i < cfg->n_contacts; i++)
                m->by_order[i] = i;
        qsort_r(m->by_order, cfg->n_contacts, sizeof *m->by_order, cmp_order, (void *) cfg);
        if (store && (r = store_load_open_incidents(store, load_one, m)) < 0) {
                incidents_free(m);
                return r;
        }
        *ret = m;
        return 0;
}

void incidents_set_mqtt(struct incidents *m, struct mqtt *mqtt) {
        m->mqtt = mqtt;
}

void incidents_free(struct incidents *m) {
        if (!m)
                return;
        for (int t = 0; t < _INCIDENT_TYPE_MAX; t++)
                free(m->open[t].sensors);
        free(m->by_order);
        free(m->warned);
        free(m->alert_topic);
        free(m->prompt_topic);
        free(m);
}

/* "20261122-a3f91c": the local date for people, 24 random bits so ids
 * do not repeat after the database is replaced. */
static int make_id(uint64_t wall, char *buf, size_t n) {
        time_t t = (time_t) (wall / USEC_PER_SEC);
        uint8_t rnd[3];
        char hex[7], date[16];
        struct tm tm;
        int r;

        r = random_bytes(rnd, sizeof rnd);
        if (r < 0)
                return r;
        hex_encode(rnd, sizeof rnd, hex);
        localtime_r(&t, &tm);
        strftime(date, sizeof date, "%Y%m%d", &tm);
        snprintf(buf, n, "%s-%s", date, hex);
        return 0;
}

static void publish_json(struct incidents *m, const char *topic, json_t *j) {
        char *txt = j ? json_dumps(j, JSON_COMPACT) : NULL;

        if (txt && m->mqtt && topic)
                (void) mqtt_publish(m->mqtt, topic, txt, strlen(txt), 1, false);
        free(txt);
        json_decref(j);
}

/* The local alert on anju/<hub>/alert (QoS 1): what happened, in words. */
static void publish_alert(struct incidents *m, const struct open_incident *o, const struct decision *d,
                          const char *state, const char *text) {
        const struct sensor_conf *s = sensor_of(m, d->sensor);
        char at[40], since[40];

        if (!m->mqtt)
                return;
        format_rfc3339(at, sizeof at, d->wall);
        format_rfc3339(since, sizeof since, d->since_wall ? d->since_wall : d->wall);
        publish_json(m, m->alert_topic,
                     json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:s, s:s, s:I}",
                               "schema", "anju.alert.v1", "incident", o->id,
                               "type", incident_type_to_string(d->type),
                               "severity", severity_to_string(o->severity), "state", state,
                               "at", at, "text", text,
                               "sensor", s ? json_string(s->id) : json_null(),
                               "room", s && s->room ? json_string(s->room) : json_null(),
                               "resident", m->cfg->resident.name ? m->cfg->resident.name : "",
                               "since", since, "duration_s", (json_int_t) (d->duration / USEC_PER_SEC)));
}

/* The prompt for the resident (a speaker or siren controller listens on
 * anju/<hub>/prompt; a GPIO siren plays the pulsed pattern). */
static void publish_prompt(struct incidents *m, const struct open_incident *o, bool start) {
        bool zh = m->cfg->hub.language == LANG_ZH_CN;
        unsigned secs = (unsigned) (m->cfg->rules.fall_window / USEC_PER_SEC);
        char text[256];

        if (!m->mqtt)
                return;
        snprintf(text, sizeof text, zh ? "检测到您可能摔倒了。如果没事，请在%u秒内按取消键。"
                                       : "A fall was detected. If you are all right, press cancel within %u seconds.",
                 secs);
        publish_json(m, m->prompt_topic,
                     start ? json_pack("{s:s, s:s, s:s, s:s, s:i, s:s}", "incident", o->id, "action", "start",
                                       "type", "fall", "pattern", "pulsed", "window_s", (int) secs, "text", text)
                           : json_pack("{s:s, s:s}", "incident", o->id, "action", "stop"));
}

/* SPEC §12: health data stays out of the journal; readings are in the
 * incident record, read by those who may. */
static const char *loggable(enum incident_type type, const char *reason) {
        return type == INCIDENT_VITALS ? "heart rate out of range (the reading is in the incident record)" : reason;
}

/* --- contacts --------------------------------------------------------- */

/* The notice a volunteer reads: who, where, what, and (for an alert) how
 * to answer. */
static void notice_text(const struct incidents *m, const struct open_incident *o, const char *what,
                        bool how_to_answer, char *buf, size_t n) {
        const struct config *cfg = m->cfg;
        bool zh = cfg->hub.language == LANG_ZH_CN;
        int l;

        l = snprintf(buf, n, zh ? "【安居】%s（%s）：%s。" : "[anju] %s, %s: %s.", cfg->resident.name,
                     cfg->resident.address, what);
        if (how_to_answer && l > 0 && (size_t) l < n)
                snprintf(buf + l, n - (size_t) l,
                         zh ? "请回复 ack（我去）、arrived（已到场）或 resolved（已处理），事件 %s。"
                            : " Answer ack (on my way), arrived or resolved, incident %s.", o->id);
}

/* Who someone is, for people: a contact's name, the center, or the id. */
static const char *display_name(const struct incidents *m, const char *actor) {
        int k = config_find_contact(m->cfg, actor);

        if (k >= 0 && m->cfg->contacts[k].name)
                return m->cfg->contacts[k].name;
        if (strcmp(actor, "dispatch") == 0)
                return m->cfg->hub.language == LANG_ZH_CN ? "调度中心" : "the dispatch center";
        return actor;
}

static void timeline(struct incidents *m, const struct open_incident *o, uint64_t at, const char *event,
                     const char *actor, const char *channel, const char *note) {
        if (m->store)
                (void) store_timeline_add(m->store, o->id, at, event, actor, channel, note);
}

/* The notice as a contact's webhook wants it: WeCom and DingTalk group
 * bots take {"msgtype": "text", "text": {"content": ...}}; "json" is the
 * notice object itself. */
static char *webhook_body(const struct contact_conf *k, json_t *notice, const char *text) {
        json_t *j = k->template == TEMPLATE_JSON ? json_incref(notice)
                  : json_pack("{s:s, s:{s:s}}", "msgtype", "text", "text", "content", text);
        char *body = j ? json_dumps(j, JSON_COMPACT) : NULL;

        json_decref(j);
        return body;
}

/* Queues a webhook notice in the outbox (with its timeline row, one
 * transaction) and hands it to dispatch: same retries as a call. */
static void notify_webhook(struct incidents *m, struct open_incident *o, const struct contact_conf *k,
                           json_t *notice, const char *text, uint64_t wall, const char *note) {
        struct store_call call = { .kind = "webhook", .incident = o->id, .url = k->webhook };
        char key[37];
        int64_t id = 0;
        char *body = webhook_body(k, notice, text);

        if (!body || uuid_random(key) < 0) {
                log_error("incident %s: cannot build the webhook notice for %s", o->id, k->id);
                free(body);
                return;
        }
        call.key = key;
        call.body = body;
        if (m->store && store_incident_state(m->store, o->id, NULL, false, wall, "notified", k->id, "webhook",
                                             note, &call, &id) < 0)
                log_error("incident %s: webhook notice for %s not stored: sending from memory", o->id, k->id);
        (void) dispatch_submit(m->dispatch, id, key, o->id, body, 0, k->webhook);
        free(body);
}

/* Sends one notice to one contact: its own topic (QoS 1) and/or webhook. */
static void notify_contact(struct incidents *m, struct open_incident *o, const struct contact_conf *k,
                           const char *kind, unsigned repeat, uint64_t wall, const char *text) {
        char note[96], ack_topic[200];
        json_t *notice;

        m->stats.notifications++;
        snprintf(ack_topic, sizeof ack_topic, "anju/%s/ack", m->cfg->hub.id);
        notice = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:s, s:s}",
                           "schema", "anju.notice.v1", "incident", o->id, "kind", kind,
                           "type", incident_type_to_string(o->first.type),
                           "severity", severity_to_string(o->severity),
                           "state", o->shown_state ? o->shown_state : state_names[o->state],
                           "repeat", (int) repeat, "text", text,
                           "resident", m->cfg->resident.name ? m->cfg->resident.name : "",
                           "address", m->cfg->resident.address ? m->cfg->resident.address : "",
                           "ack_topic", ack_topic);
        if (repeat)
                snprintf(note, sizeof note, "%s %u", kind, repeat);
        else
                snprintf(note, sizeof note, "%s", kind);
        if (k->topic) {
                publish_json(m, k->topic, json_incref(notice));
                timeline(m, o, wall, "notified", k->id, "mqtt", note);
        }
        if (k->webhook && notice)
                notify_webhook(m, o, k, notice, text, wall, note);
        json_decref(notice);
}

/* A ladder step or repeat: every contact of the role, in `order`. */
static void notify_role(struct incidents *m, struct open_incident *o, const struct ladder_action *a,
                        uint64_t wall) {
        const char *kind = a->onsite_overdue ? "nobody on site yet" : a->repeat ? "repeat" : "alert";
        char text[512];
        unsigned n = 0;

        notice_text(m, o, o->reason, true, text, sizeof text);
        for (size_t i = 0; i < m->cfg->n_contacts; i++) {
                const struct contact_conf *k = &m->cfg->contacts[m->by_order[i]];
                if ((int) k->role != (int) a->target)
                        continue;
                notify_contact(m, o, k, kind, a->repeat, wall, text);
                n++;
        }
        if (n == 0 && a->repeat == 0) {
                log_warning("incident %s: no %s contact is configured; ladder step skipped", o->id,
                            ladder_target_to_string(a->target));
                timeline(m, o, wall, "step_skipped", ladder_target_to_string(a->target), "ladder",
                         "no contact with this role");
        } else if (n > 0 && a->repeat == 0) {
                log_notice("incident %s: %s notified (%u contact%s)", o->id,
                           ladder_target_to_string(a->target), n, n == 1 ? "" : "s");
        }
}

/* Tells the contacts already reached what changed (someone took charge). */
static void inform_reached(struct incidents *m, struct open_incident *o, const char *what, uint64_t wall) {
        char text[512];

        notice_text(m, o, what, false, text, sizeof text);
        for (size_t i = 0; i < m->cfg->n_contacts; i++) {
                const struct contact_conf *k = &m->cfg->contacts[m->by_order[i]];
                if (o->ladder.reached & (1u << k->role))
                        notify_contact(m, o, k, "update", 0, wall, text);
        }
}

/* --- calls ------------------------------------------------------------ */

static int build_call(struct incidents *m, struct open_incident *o, const struct decision *d,
                      bool update, const char *reason, char key[static 37], char **ret_body) {
        struct alarm_info a = {
                .incident_id = o->id, .type = d->type, .severity = o->severity, .update = update,
                .sequence = o->calls + 1, .started_at = o->opened_at, .raised_at = d->wall,
                .sensor = sensor_of(m, d->sensor), .reason = reason, .why = d,
        };

        if (uuid_random(key) < 0 || !(*ret_body = alarm_build_body(m->cfg, &a)))
                return log_error_errno(ENOMEM, "incident %s: cannot build the emergency call", o->id);
        return 0;
}

/* Stores a further call of an open incident (a ladder step, a sensor
 * joining) with a timeline row, then hands it to dispatch. */
static int call_now(struct incidents *m, struct open_incident *o, const struct decision *d, bool update,
                    const char *reason, const char *event, const char *actor) {
        const struct sensor_conf *s = sensor_of(m, d->sensor);
        struct store_call call = { .kind = "alarm", .incident = o->id };
        char key[37];
        int64_t call_id = 0;
        char *body = NULL;
        int r;

        if ((r = build_call(m, o, d, update, reason, key, &body)) < 0)
                return r;
        call.key = key;
        call.body = body;
        if (m->store) {
                r = update ? store_incident_attach(m->store, o->id, s ? s->id : NULL, d->wall, reason, &call, &call_id)
                           : store_incident_state(m->store, o->id, NULL, false, d->wall, event, actor, "ladder",
                                                  reason, &call, &call_id);
                if (r < 0)
                        log_error_errno(r, "incident %s: call could not be stored (%m): calling the "
                                        "dispatch center from memory", o->id);
        }
        o->calls++;
        o->called = true;
        r = dispatch_submit(m->dispatch, call_id, key, o->id, body, 0, NULL);
        free(body);
        return r;
}

/* Stores a new incident; with its first call in the same transaction if
 * the ladder calls at once (critical). */
static int store_new(struct incidents *m, struct open_incident *o, const struct decision *d,
                     const char *state, const char *reason, bool with_call) {
        const struct sensor_conf *s = sensor_of(m, d->sensor);
        struct store_incident inc = {
                .type = d->type, .severity = o->severity, .state = state,
                .sensor = s ? s->id : NULL, .room = s ? s->room : NULL, .reason = reason,
                .opened_at = o->opened_at,
        };
        struct store_call call = { .kind = "alarm", .incident = o->id };
        char key[37];
        int64_t call_id = 0;
        char *body = NULL;
        int r = 0;

        for (int tries = 0; tries < 5; tries++) {
                free(body);
                body = NULL;
                if (with_call && (r = build_call(m, o, d, false, reason, key, &body)) < 0)
                        return r;
                call.key = key;
                call.body = body;
                if (!m->store)
                        break;
                memcpy(inc.id, o->id, sizeof inc.id);
                r = store_incident_open(m->store, &inc, with_call ? &call : NULL, &call_id);
                /* An id taken by an older incident: draw another, rebuild the body. */
                if (r != -EEXIST || make_id(d->wall, o->id, sizeof o->id) < 0)
                        break;
        }
        if (r < 0)
                log_error_errno(r, "incident %s could not be stored (%m)%s", o->id,
                                with_call ? ": calling the dispatch center from memory" : "");
        if (!with_call)
                return 0;
        o->calls++;
        o->called = true;
        r = dispatch_submit(m->dispatch, call_id, key, o->id, body, 0, NULL);
        free(body);
        return r;
}

/* Where a warning's "told maintenance" time is kept: per device, and one
 * slot for warnings about no device (the dispatch link). */
static size_t warn_slot(const struct incidents *m, const struct open_incident *o) {
        if (o->first.sensor != SENSOR_NONE)
                return o->first.sensor;
        return m->cfg->n_sensors + (o->first.problem == HEALTH_STORAGE);
}

/* Runs what the ladder says is due. */
static void escalate(struct incidents *m, struct open_incident *o, uint64_t mono, uint64_t wall,
                     const struct ladder_action *a, size_t n) {
        for (size_t i = 0; i < n; i++) {
                if (a[i].kind == LADDER_CALL) {
                        struct decision d = o->first;
                        if (o->called)
                                continue;       /* made before a restart */
                        d.wall = wall;
                        d.mono = mono;
                        d.duration = wall > d.since_wall && d.since_wall ? wall - d.since_wall : d.duration;
                        log_notice("incident %s: %s — calling the dispatch center", o->id,
                                   a[i].onsite_overdue ? "nobody on site in time" : "nobody has taken charge");
                        (void) call_now(m, o, &d, false, o->reason, "called", "ladder");
                } else if (o->severity == SEVERITY_WARNING && m->warned[warn_slot(m, o)] &&
                           esc_of(m, o)->per_device &&
                           mono - m->warned[warn_slot(m, o)] < esc_of(m, o)->per_device) {
                        timeline(m, o, wall, "notice_suppressed", "ladder", "ladder",
                                 "this device was reported within per_device");
                } else {
                        if (o->severity == SEVERITY_WARNING)
                                m->warned[warn_slot(m, o)] = mono ? mono : 1;
                        notify_role(m, o, &a[i], wall);
                }
        }
}

/* --- lifecycle -------------------------------------------------------- */

static struct open_incident *new_incident(struct incidents *m, const struct decision *d, const char *reason) {
        struct open_incident *o = &m->open[d->type];

        free(o->sensors);
        *o = (struct open_incident) { .open = true, .severity = d->severity, .opened_at = d->wall,
                                      .first = *d, .state = STATE_OPEN };
        snprintf(o->reason, sizeof o->reason, "%s", reason);
        if (make_id(d->wall, o->id, sizeof o->id) < 0)
                snprintf(o->id, sizeof o->id, "%llu", (unsigned long long) d->wall);
        (void) add_sensor(o, d->sensor);
        m->stats.opened++;
        return o;
}

/* Opens the ladder of an incident that just became open. */
static int start_ladder(struct incidents *m, struct open_incident *o, const struct decision *d,
                        bool store_it, const char *reason) {
        struct ladder_action a[LADDER_MAX_ACTIONS];
        bool call_first = false;
        size_t n;
        int r = 0;

        ladder_start(&o->ladder, d->mono);
        n = ladder_tick(&o->ladder, esc_of(m, o), d->mono, a, ELEMENTSOF(a));
        for (size_t i = 0; i < n; i++)
                if (a[i].kind == LADDER_CALL)
                        call_first = true;
        if (store_it)
                r = store_new(m, o, d, "open", reason, call_first);
        else if (call_first)
                r = call_now(m, o, d, false, reason, "called", "ladder");
        /* The call is placed; the rest of the step's actions are notices. */
        for (size_t i = 0; i < n; i++)
                if (a[i].kind == LADDER_CALL)
                        a[i].kind = LADDER_NOTIFY, a[i].target = TARGET_DISPATCH;
        for (size_t i = 0; i < n; i++)
                if (a[i].target != TARGET_DISPATCH)
                        escalate(m, o, d->mono, d->wall, &a[i], 1);
        return r;
}

static int incident_prealarm(struct incidents *m, const struct decision *d, const char *reason) {
        struct open_incident *o = &m->open[d->type];
        const struct sensor_conf *s = sensor_of(m, d->sensor);

        if (o->open) {
                /* Another fall while this one is open: on its record. */
                timeline(m, o, d->wall, "prealarm", s ? s->id : NULL, "rule", reason);
                log_notice("incident %s: %s", o->id, loggable(d->type, reason));
                publish_prompt(m, o, true);
                return 0;
        }
        o = new_incident(m, d, reason);
        o->prealarm = true;
        o->state = STATE_PREALARM;
        log_notice("incident %s PRE-ALARM: %s", o->id, loggable(d->type, reason));
        (void) store_new(m, o, d, "prealarm", reason, false);
        publish_prompt(m, o, true);
        publish_alert(m, o, d, "prealarm", reason);
        return 0;
}

static void close_slot(struct open_incident *o) {
        o->open = false;
        o->ladder.done = true;
}

static int incident_cancel(struct incidents *m, const struct decision *d, const char *reason,
                           const char *actor, const char *channel) {
        struct open_incident *o = &m->open[d->type];

        if (!o->open)
                return 0;
        publish_prompt(m, o, false);
        if (!o->prealarm) {
                /* The window of a later fall: the incident itself stays open. */
                timeline(m, o, d->wall, "prealarm_cancelled", actor, channel, reason);
                return 0;
        }
        log_notice("incident %s cancelled by the resident (%s via %s): %s", o->id, actor, channel, reason);
        if (m->store)
                (void) store_incident_state(m->store, o->id, "cancelled", true, d->wall, "cancelled",
                                            actor, channel, reason, NULL, NULL);
        publish_alert(m, o, d, "cancelled", reason);
        m->stats.cancelled++;
        close_slot(o);
        return 0;
}

/* A pre-alarm not cancelled in its window becomes an open incident, and
 * its ladder starts (a fall is critical: everyone and the center at once). */
static int promote(struct incidents *m, struct open_incident *o, const struct decision *d,
                   const char *reason) {
        int r;

        o->prealarm = false;
        o->state = STATE_OPEN;
        o->first = *d;
        snprintf(o->reason, sizeof o->reason, "%s", reason);
        log_notice("incident %s opened: %s (%s) — %s", o->id, incident_type_to_string(d->type),
                   severity_to_string(o->severity), loggable(d->type, reason));
        publish_prompt(m, o, false);
        publish_alert(m, o, d, "open", reason);
        if (m->store && (r = store_incident_state(m->store, o->id, "open", false, d->wall, "opened", "rule",
                                                  "rule", reason, NULL, NULL)) < 0)
                log_error_errno(r, "incident %s: state could not be stored: %m", o->id);
        return start_ladder(m, o, d, false, reason);
}

static int incident_raise(struct incidents *m, const struct decision *d, const char *reason) {
        struct open_incident *o = &m->open[d->type];
        const struct sensor_conf *s = sensor_of(m, d->sensor);

        if (o->open && o->prealarm)
                return promote(m, o, d, reason);
        if (o->open && (d->sensor == SENSOR_NONE || has_sensor(o, d->sensor) || !o->called)) {
                /* The same sensor again, or before any call: on the record. A
                 * warning about another device tells maintenance about it. */
                /* A warning about another device, or about the hub itself (the
                 * link, the storage), is news for maintenance. */
                bool new_device = d->sensor != SENSOR_NONE ? !has_sensor(o, d->sensor) : d->problem != HEALTH_NONE;
                if (m->store)
                        (void) store_incident_attach(m->store, o->id, s ? s->id : NULL, d->wall, reason,
                                                     NULL, NULL);
                (void) add_sensor(o, d->sensor);
                log_notice("incident %s: %s", o->id, loggable(d->type, reason));
                publish_alert(m, o, d, state_names[o->state], reason);
                if (o->severity == SEVERITY_WARNING && new_device) {
                        struct ladder_action a = { .kind = LADDER_NOTIFY, .target = TARGET_MAINTENANCE };
                        struct open_incident tmp = *o;
                        snprintf(tmp.reason, sizeof tmp.reason, "%s", reason);
                        tmp.first = *d;
                        escalate(m, &tmp, d->mono, d->wall, &a, 1);
                }
                return 0;
        }
        if (o->open) {
                log_notice("incident %s (%s): %s joins — %s", o->id, incident_type_to_string(d->type),
                           s ? s->id : "-", loggable(d->type, reason));
                (void) add_sensor(o, d->sensor);
                publish_alert(m, o, d, state_names[o->state], reason);
                return call_now(m, o, d, true, reason, "triggered", s ? s->id : "rule");
        }
        o = new_incident(m, d, reason);
        log_notice("incident %s opened: %s (%s) — %s", o->id, incident_type_to_string(d->type),
                   severity_to_string(d->severity), loggable(d->type, reason));
        publish_alert(m, o, d, "open", reason);
        return start_ladder(m, o, d, true, reason);
}

static int incident_clear(struct incidents *m, const struct decision *d, const char *reason) {
        struct open_incident *o = &m->open[d->type];
        const struct sensor_conf *s = sensor_of(m, d->sensor);

        if (!o->open)
                return 0;
        log_notice("incident %s: %s; it stays open until a responder closes it", o->id, loggable(d->type, reason));
        timeline(m, o, d->wall, "cleared", s ? s->id : NULL, "rule", reason);
        return 0;
}

int incidents_apply_from(struct incidents *m, const struct decision *d, const char *actor,
                         const char *channel) {
        const struct sensor_conf *s;
        char reason[256];

        if (d->type < 0 || d->type >= _INCIDENT_TYPE_MAX || d->severity < 0 || d->severity >= _SEVERITY_MAX ||
            (d->sensor != SENSOR_NONE && d->sensor >= m->cfg->n_sensors))
                return -EINVAL;
        s = sensor_of(m, d->sensor);
        alarm_explain(m->cfg, d, reason, sizeof reason);
        switch (d->kind) {
        case DECISION_RAISE:
                return incident_raise(m, d, reason);
        case DECISION_CLEAR:
                return incident_clear(m, d, reason);
        case DECISION_PREALARM:
                return incident_prealarm(m, d, reason);
        case DECISION_CANCEL:
                return incident_cancel(m, d, reason, actor ? actor : s ? s->id : "resident",
                                       channel ? channel : s ? "sensor" : "ack");
        default:
                return -EINVAL;
        }
}

int incidents_apply(struct incidents *m, const struct decision *d) {
        return incidents_apply_from(m, d, NULL, NULL);
}

/* A pre-alarm interrupted by a restart was not cancelled in its window (the
 * cancel would have been recorded): fail safe, call now. Open incidents
 * resume their ladder from when they opened. */
int incidents_resume(struct incidents *m, uint64_t mono, uint64_t wall) {
        int n = 0;

        for (int t = 0; t < _INCIDENT_TYPE_MAX; t++) {
                struct open_incident *o = &m->open[t];
                uint64_t age = wall > o->opened_at ? wall - o->opened_at : 0;
                struct decision d = o->first;

                if (!o->open)
                        continue;
                d.mono = mono;
                d.wall = wall;
                d.duration = age;
                if (o->prealarm) {
                        log_warning("incident %s: its pre-alarm was interrupted by a restart and not "
                                    "cancelled; calling now", o->id);
                        d.kind = DECISION_RAISE;
                        (void) incidents_apply(m, &d);
                        n++;
                        continue;
                }
                ladder_start(&o->ladder, mono > age ? mono - age : 0);
                /* Taken charge of before the restart: the steps already due
                 * count as reached (no notices again), the onsite clock
                 * restarts now. Still open: the ladder runs again from its
                 * start, and notices the reached tiers again. */
                if (o->state == STATE_ACKED || o->state == STATE_ONSITE)
                        ladder_skip_due(&o->ladder, esc_of(m, o), mono);
                if (o->state == STATE_ACKED)
                        ladder_acked(&o->ladder, esc_of(m, o), mono);
                else if (o->state == STATE_ONSITE)
                        ladder_onsite(&o->ladder);
        }
        return n;
}

/* --- acknowledgements ------------------------------------------------- */

static struct open_incident *find(struct incidents *m, const char *id) {
        for (int t = 0; t < _INCIDENT_TYPE_MAX; t++)
                if (m->open[t].open && strcmp(m->open[t].id, id) == 0)
                        return &m->open[t];
        return NULL;
}

const char *ack_result_to_string(enum ack_result r) {
        switch (r) {
        case ACK_APPLIED: return "applied";
        case ACK_RECORDED: return "recorded";
        case ACK_UNKNOWN_INCIDENT: return "unknown incident";
        case ACK_CLOSED_INCIDENT: return "incident already closed";
        case ACK_BAD_ACTION: return "not an action for this incident's state";
        }
        return "?";
}

enum ack_result incidents_ack(struct incidents *m, const char *id, const char *action, const char *actor,
                              const char *channel, const char *note, uint64_t mono, uint64_t wall) {
        struct open_incident *o = find(m, id);
        enum inc_state to;
        bool close = false;
        const char *state, *event = action;
        char what[300];

        if (!o) {
                char st[32];
                bool closed = false;
                if (m->store && store_incident_lookup(m->store, id, st, sizeof st, &closed) == 0 && closed)
                        return ACK_CLOSED_INCIDENT;
                return ACK_UNKNOWN_INCIDENT;
        }
        if (o->prealarm)
                return ACK_BAD_ACTION;  /* only the resident, with "cancel" */
        if (strcmp(action, "ack") == 0) {
                to = o->state == STATE_OPEN ? STATE_ACKED : o->state;
                state = state_names[to];
        } else if (strcmp(action, "arrived") == 0) {
                to = STATE_ONSITE;
                state = "onsite";
        } else if (strcmp(action, "resolved") == 0) {
                to = o->state;
                state = "resolved";
                close = true;
        } else if (strcmp(action, "false_alarm") == 0) {
                to = o->state;
                state = "cancelled";
                close = true;
        } else {
                return ACK_BAD_ACTION;
        }
        /* The center's automatic answer is not someone at the door: a fire's
         * siren keeps sounding until a person acks or arrives. */
        if (strcmp(actor, "dispatch") != 0)
                o->silenced = true;
        if (!close && to == o->state) {
                /* Another responder going, or arriving again: on the record. */
                timeline(m, o, wall, event, actor, channel, note);
                log_notice("incident %s: %s by %s (%s) recorded", o->id, action, actor, channel);
                return ACK_RECORDED;
        }
        if (m->store)
                (void) store_incident_state(m->store, o->id, state, close, wall, event, actor, channel, note,
                                            NULL, NULL);
        log_notice("incident %s: %s by %s via %s — now %s", o->id, action, actor, channel, state);
        publish_alert(m, o, &o->first, state, o->reason);
        {
                const char *who = display_name(m, actor);
                bool center = strcmp(actor, "dispatch") == 0;
                if (m->cfg->hub.language == LANG_ZH_CN)
                        snprintf(what, sizeof what, "%s%s", who,
                                 center ? "已接警（" : strcmp(action, "ack") == 0 ? "正在赶去" :
                                 strcmp(action, "arrived") == 0 ? "已到场" :
                                 strcmp(action, "resolved") == 0 ? "已处理完毕，事件关闭" : "确认为误报，事件关闭");
                else
                        snprintf(what, sizeof what, "%s %s", who,
                                 center ? "has taken the call (" : strcmp(action, "ack") == 0 ? "is on the way" :
                                 strcmp(action, "arrived") == 0 ? "has arrived" :
                                 strcmp(action, "resolved") == 0 ? "has resolved it; incident closed"
                                                                 : "says it was a false alarm; incident closed");
                if (center) {
                        size_t l = strlen(what);
                        snprintf(what + l, sizeof what - l, "%s%s", note ? note : "",
                                 m->cfg->hub.language == LANG_ZH_CN ? "）" : ")");
                }
        }
        if (close) {
                o->shown_state = state;
                inform_reached(m, o, what, wall);
                o->shown_state = NULL;
                m->stats.closed++;
                close_slot(o);
                if (m->dispatch)
                        (void) dispatch_drop_webhooks(m->dispatch, o->id);
                return ACK_APPLIED;
        }
        o->state = to;
        inform_reached(m, o, what, wall);
        if (to == STATE_ONSITE)
                ladder_onsite(&o->ladder);
        else
                ladder_acked(&o->ladder, esc_of(m, o), mono);
        return ACK_APPLIED;
}

void incidents_center_answered(struct incidents *m, const char *id, const char *case_id, uint64_t mono,
                               uint64_t wall) {
        struct open_incident *o = find(m, id);
        char note[128];

        if (!o || o->state != STATE_OPEN)
                return;
        snprintf(note, sizeof note, "case %s", case_id);
        (void) incidents_ack(m, id, "ack", "dispatch", "https", note, mono, wall);
}

/* --- the clock -------------------------------------------------------- */

void incidents_tick(struct incidents *m, uint64_t mono, uint64_t wall) {
        for (int t = 0; t < _INCIDENT_TYPE_MAX; t++) {
                struct open_incident *o = &m->open[t];
                struct ladder_action a[LADDER_MAX_ACTIONS];
                size_t n;

                if (!o->open || o->prealarm)
                        continue;
                do {
                        n = ladder_tick(&o->ladder, esc_of(m, o), mono, a, ELEMENTSOF(a));
                        escalate(m, o, mono, wall, a, n);
                } while (n == ELEMENTSOF(a));
        }
}

uint64_t incidents_next_deadline(const struct incidents *m) {
        uint64_t next = UINT64_MAX;

        for (int t = 0; t < _INCIDENT_TYPE_MAX; t++) {
                const struct open_incident *o = &m->open[t];
                uint64_t x;
                if (!o->open || o->prealarm)
                        continue;
                x = ladder_next(&o->ladder, esc_of(m, o));
                if (x < next)
                        next = x;
        }
        return next;
}

void incidents_outputs(const struct incidents *m, enum siren_pattern *siren, bool *relay_cut) {
        const struct open_incident *fire = &m->open[INCIDENT_FIRE];

        *relay_cut = fire->open;
        *siren = SIREN_OFF;
        if (fire->open && !fire->silenced)
                *siren = SIREN_CONTINUOUS;
        else
                for (size_t t = 0; t < _INCIDENT_TYPE_MAX; t++)
                        if (m->open[t].open && m->open[t].state == STATE_PREALARM)
                                *siren = SIREN_PULSED;
}

size_t incidents_open_count(const struct incidents *m) {
        size_t n = 0;

        for (int t = 0; t < _INCIDENT_TYPE_MAX; t++)
                n += m->open[t].open;
        return n;
}

const char *incidents_open_id(const struct incidents *m, enum incident_type type) {
        return type >= 0 && type < _INCIDENT_TYPE_MAX && m->open[type].open ? m->open[type].id : NULL;
}

bool incidents_in_prealarm(const struct incidents *m, const char *id) {
        for (int t = 0; t < _INCIDENT_TYPE_MAX; t++)
                if (m->open[t].open && m->open[t].prealarm && (!id || strcmp(m->open[t].id, id) == 0))
                        return true;
        return false;
}

const struct incidents_stats *incidents_get_stats(const struct incidents *m) {
        return &m->stats;
}
