/* Carrying out the incident manager's decisions (see actions.h). */
#include "actions.h"
#include "alarm.h"
#include "config.h"
#include "dc09link.h"
#include "log.h"
#include "store.h"
#include "util.h"
#include "words.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct actions {
        const struct config *cfg;
        struct store *store;
        struct actions_sink sink;
        actions_rekey_fn rekey;
        void *rekey_ud;
        char *alert_topic, *prompt_topic;
        struct actions_stats stats;
};

int actions_new(const struct config *cfg, struct store *store, const struct actions_sink *sink,
                actions_rekey_fn rekey, void *rekey_ud, struct actions **ret) {
        struct actions *a = calloc(1, sizeof *a);

        if (!a)
                return -ENOMEM;
        a->cfg = cfg;
        a->store = store;
        a->sink = *sink;
        a->rekey = rekey;
        a->rekey_ud = rekey_ud;
        if (asprintf(&a->alert_topic, "anju/%s/alert", cfg->hub.id) < 0 ||
            asprintf(&a->prompt_topic, "anju/%s/prompt", cfg->hub.id) < 0) {
                a->alert_topic = a->prompt_topic = NULL;
                actions_free(a);
                return -ENOMEM;
        }
        *ret = a;
        return 0;
}

void actions_free(struct actions *a) {
        if (!a)
                return;
        free(a->alert_topic);
        free(a->prompt_topic);
        free(a);
}

const struct actions_stats *actions_get_stats(const struct actions *a) {
        return &a->stats;
}

/* The name the store keeps for who raised it: a sensor, or the hub itself
 * ("hub:link") for a problem of its own. */
static const char *subject_name(const struct config *cfg, const struct action *x, char *buf, size_t n) {
        if (x->sensor < cfg->n_sensors)
                return cfg->sensors[x->sensor].id;
        if (x->why.problem != HEALTH_NONE) {
                snprintf(buf, n, "hub:%s", health_problem_to_string(x->why.problem));
                return buf;
        }
        return NULL;
}

static bool durable(const struct action_list *l) {
        for (size_t i = 0; i < l->n; i++)
                if (l->v[i].kind == ACT_OPEN || l->v[i].kind == ACT_STATE || l->v[i].kind == ACT_CALL)
                        return true;
        return false;
}

static bool storable(enum action_kind k) {
        return k == ACT_OPEN || k == ACT_STATE || k == ACT_JOIN || k == ACT_TIMELINE || k == ACT_CALL ||
               k == ACT_NOTIFY;
}

static struct notice_info notice_of(const struct action *x) {
        return (struct notice_info) {
                .incident_id = x->incident, .kind = x->notice, .type = x->type, .severity = x->severity,
                .state = x->state, .repeat = x->repeat, .text = x->text,
        };
}

static bool locate(struct actions *a, const struct action *x, uint32_t sensor, struct alarm_location *ret) {
        return a->sink.locate && a->sink.locate(a->sink.userdata, x->incident, x->type, sensor, ret);
}

/* A notice with the band's position: the location object, and the
 * sentence with the map link after the text (webhooks show only text). */
static struct notice_info located_notice(struct actions *a, const struct action *x, struct alarm_location *loc,
                                         char *text, size_t n) {
        struct notice_info ni = notice_of(x);
        char where[ACTION_TEXT_MAX];

        if (!locate(a, x, SENSOR_NONE, loc))
                return ni;
        words_location(a->cfg, loc, where, sizeof where);
        snprintf(text, n, "%s %s", x->text, where);
        utf8_trim(text);
        ni.text = text;
        ni.location = loc;
        return ni;
}

/* The DC-09 event an incident is reported as (docs/DC09.md); NULL: none
 * (a problem of the hub itself, a door left open: no code a centre knows). */
static const char *dc09_event_of(const struct action *x) {
        switch (x->type) {
        case INCIDENT_FIRE: return "fire";
        case INCIDENT_SOS: return "sos";
        case INCIDENT_FALL:
        case INCIDENT_VITALS: return "fall";            /* 101 personal emergency, MA medical */
        case INCIDENT_INACTIVITY:
        case INCIDENT_BATHROOM_DWELL: return "inactivity";
        case INCIDENT_MORNING_CHECK: return "morning_check";
        case INCIDENT_NIGHT_EXIT: return "night_exit";
        case INCIDENT_GEOFENCE: return "geofence";
        case INCIDENT_BED_EXIT: return "bed_exit";
        case INCIDENT_WATER_LEAK: return "water_leak";
        case INCIDENT_POWER: return "mains_power";
        case INCIDENT_DEVICE_HEALTH:
                if (x->sensor == SENSOR_NONE)
                        return NULL;
                switch (x->why.problem) {
                case HEALTH_BATTERY: return "battery_low";
                case HEALTH_TAMPER: return "tamper";
                case HEALTH_OFFLINE: case HEALTH_OFFLINE_BRIDGE: case HEALTH_BRIDGE: return "offline";
                default: return NULL;
                }
        default:
                return NULL;
        }
}

/* A report to a [receiver] (DC-09): the event, restore or not, the zone;
 * the frame itself is built at each attempt (fresh timestamp). */
static int stage_report(struct actions *a, const struct action *x) {
        const struct config *cfg = a->cfg;
        const char *ev = dc09_event_of(x);
        char body[DC09LINK_BODY_MAX];
        unsigned zone = x->sensor < cfg->n_sensors ? cfg->sensors[x->sensor].zone : 0;

        if (!ev || x->receiver >= cfg->n_receivers)
                return 0;
        if (dc09link_body(body, sizeof body, ev, x->restore, zone) < 0)
                return log_error_errno(ENOSPC, "incident %s: cannot write the DC-09 report", x->incident);
        a->stats.calls++;
        return a->sink.call(a->sink.userdata, CALL_DC09, x->incident, body, cfg->receivers[x->receiver].id, x->wall);
}

/* The call's body: anju.alarm.v1 for the center, a notice for a webhook. */
static int stage_call(struct actions *a, const struct action *x) {
        const struct config *cfg = a->cfg;
        struct alarm_location loc;
        struct alarm_info info = {
                .incident_id = x->incident, .type = x->type, .severity = x->severity, .update = x->update,
                .sequence = x->sequence, .started_at = x->opened_at, .raised_at = x->wall,
                .sensor = x->sensor < cfg->n_sensors ? &cfg->sensors[x->sensor] : NULL, .reason = x->text,
                .why = &x->why,
        };
        char *body;
        int r;

        if (x->target == TARGET_RECEIVER)
                return stage_report(a, x);
        if (locate(a, x, x->sensor, &loc))
                info.location = &loc;
        body = alarm_build_body(cfg, &info);
        if (!body)
                return log_error_errno(ENOMEM, "incident %s: cannot build the emergency call", x->incident);
        r = a->sink.call(a->sink.userdata, CALL_ALARM, x->incident, body, NULL, x->wall);
        free(body);
        a->stats.calls++;
        return r;
}

static int stage_webhook(struct actions *a, const struct action *x) {
        const struct contact_conf *k = &a->cfg->contacts[x->contact];
        struct alarm_location loc;
        char text[2 * ACTION_TEXT_MAX];
        struct notice_info n;
        char *body;
        int r;

        if (!k->webhook)
                return 0;
        n = located_notice(a, x, &loc, text, sizeof text);
        body = alarm_webhook_body(k->template, a->cfg, &n);
        if (!body)
                return log_error_errno(ENOMEM, "incident %s: cannot build the webhook notice for %s", x->incident,
                                       k->id);
        r = a->sink.call(a->sink.userdata, CALL_WEBHOOK, x->incident, body, k->webhook, x->wall);
        free(body);
        return r;
}

/* One action's rows (store may be NULL) and calls. */
static int stage(struct actions *a, const struct action *x) {
        struct store *s = a->store;
        char buf[64];

        switch (x->kind) {
        case ACT_OPEN: {
                const struct sensor_conf *sc = x->sensor < a->cfg->n_sensors ? &a->cfg->sensors[x->sensor] : NULL;
                struct store_incident inc = {
                        .id = x->incident, .type = x->type, .severity = x->severity, .state = x->state,
                        .sensor = subject_name(a->cfg, x, buf, sizeof buf), .room = sc ? sc->room : NULL,
                        .reason = x->text, .opened_at = x->opened_at,
                };
                return s ? store_incident_insert(s, &inc) : 0;
        }
        case ACT_STATE:
                return s ? store_incident_set_state(s, x->incident, x->state, x->close, x->wall,
                                                    x->text[0] ? x->text : NULL) : 0;
        case ACT_JOIN:
                return s && x->sensor < a->cfg->n_sensors
                       ? store_incident_join(s, x->incident, a->cfg->sensors[x->sensor].id, x->wall) : 0;
        case ACT_TIMELINE:
                return s ? store_timeline_insert(s, x->incident, x->wall, x->event, x->actor[0] ? x->actor : NULL,
                                                 x->channel[0] ? x->channel : NULL, x->text[0] ? x->text : NULL) : 0;
        case ACT_CALL:
                return stage_call(a, x);
        case ACT_NOTIFY:
                return stage_webhook(a, x);
        default:
                return 0;
        }
}

/* One action's calls (a webhook notice is a call too). */
static int stage_calls(struct actions *a, const struct action *x) {
        return x->kind == ACT_CALL ? stage_call(a, x) : x->kind == ACT_NOTIFY ? stage_webhook(a, x) : 0;
}

/* An incident that is not in the store (its opening failed earlier, while
 * the store was failing): its later rows are refused one by one (a foreign
 * key, an unknown id), which must not take the rows of the others with
 * them. SQLite rolls back the one statement; the transaction goes on. */
static bool row_of_a_missing_incident(const struct action *x, int r) {
        return (r == -ENOENT && x->kind == ACT_STATE) ||
               (r == -EEXIST && (x->kind == ACT_TIMELINE || x->kind == ACT_JOIN));
}

/* The list's rows and calls in one transaction. On failure *failed is the
 * action that failed. */
static int run_tx(struct actions *a, struct action_list *l, bool want_durable, size_t *failed) {
        unsigned skipped = 0;
        int r = 0;

        if (a->store && (r = store_begin(a->store, want_durable ? STORE_DURABLE : STORE_RELAXED)) < 0)
                return r;
        for (size_t i = 0; i < l->n; i++) {
                if (!storable(l->v[i].kind))
                        continue;
                r = stage(a, &l->v[i]);
                if (r < 0 && row_of_a_missing_incident(&l->v[i], r)) {
                        skipped++;
                        r = 0;
                }
                if (r < 0) {
                        *failed = i;
                        break;
                }
        }
        if (skipped)
                log_warning("%u row(s) of an incident that is not in the database were not stored", skipped);
        if (r < 0) {
                if (a->store)
                        store_rollback(a->store);
                return r;
        }
        return a->store ? store_commit(a->store) : 0;
}

/* The calls of a list whose rows could not be stored, in a transaction of
 * their own: 0 if they are stored now, else -errno (withdrawn again). */
static int calls_alone(struct actions *a, struct action_list *l) {
        int r;

        if (!a->store || (r = store_begin(a->store, STORE_DURABLE)) < 0)
                return -EIO;
        for (size_t i = 0; i < l->n; i++)
                if ((r = stage_calls(a, &l->v[i])) < 0)
                        break;
        if (r < 0)
                store_rollback(a->store);
        else
                r = store_commit(a->store);
        if (r < 0)
                a->sink.abort(a->sink.userdata);
        return r;
}

/* Every mention of old in text, replaced by new_id (cut to the buffer). */
static void replace_in(char *text, size_t n, const char *old, const char *new_id) {
        char out[ACTION_TEXT_MAX];
        size_t lo = strlen(old), k = 0;

        if (lo == 0 || !strstr(text, old))
                return;
        for (const char *p = text; *p && k + 1 < sizeof out;) {
                if (strncmp(p, old, lo) == 0) {
                        k += (size_t) snprintf(out + k, sizeof out - k, "%s", new_id);
                        if (k >= sizeof out)
                                k = sizeof out - 1;
                        p += lo;
                } else {
                        out[k++] = *p++;
                }
        }
        out[k] = '\0';
        snprintf(text, n, "%s", utf8_trim(out));
}

/* The incident got a new id: its actions, and the words that name it. */
static void rename_incident(struct action_list *l, const char *old, const char *new_id) {
        for (size_t i = 0; i < l->n; i++) {
                if (strcmp(l->v[i].incident, old) == 0)
                        snprintf(l->v[i].incident, sizeof l->v[i].incident, "%s", new_id);
                replace_in(l->v[i].text, sizeof l->v[i].text, old, new_id);
        }
}

/* Stores the list, drawing new ids for incidents whose id an older one had
 * taken; if it cannot be stored, its calls go all the same (stored alone if
 * the store takes them, else from memory). 0, or the store's -errno. */
static int store_list(struct actions *a, struct action_list *l, bool *calls_stored) {
        bool want_durable = durable(l);
        int r = 0;

        want_durable ? a->stats.durable++ : a->stats.relaxed++;
        for (int tries = 0; tries < 5; tries++) {
                char old_id[ACTION_ID_MAX], new_id[ACTION_ID_MAX];
                size_t failed = 0;

                r = run_tx(a, l, want_durable, &failed);
                if (r != -EEXIST || l->v[failed].kind != ACT_OPEN || !a->rekey)
                        break;
                a->sink.abort(a->sink.userdata);
                snprintf(old_id, sizeof old_id, "%s", l->v[failed].incident);
                if (a->rekey(old_id, new_id, sizeof new_id, a->rekey_ud) < 0)
                        break;
                rename_incident(l, old_id, new_id);
        }
        *calls_stored = r == 0;
        if (r == 0)
                return 0;
        a->stats.store_failures++;
        log_error_errno(r, "incident %s not stored (%m): its calls go out all the same", l->n ? l->v[0].incident : "-");
        a->sink.abort(a->sink.userdata);
        /* Not while another writer holds the store: that would be one more wait. */
        *calls_stored = r != -EBUSY && calls_alone(a, l) == 0;
        if (!*calls_stored)
                for (size_t i = 0; i < l->n; i++)
                        (void) stage_calls(a, &l->v[i]);
        return r;
}

static void publish(struct actions *a, const char *topic, char *payload) {
        if (payload && topic && a->sink.publish) {
                (void) a->sink.publish(a->sink.userdata, topic, payload, strlen(payload));
                a->stats.published++;
        }
        free(payload);
}

static void send_messages(struct actions *a, const struct action_list *l) {
        for (size_t i = 0; i < l->n; i++) {
                const struct action *x = &l->v[i];
                struct alarm_location loc;
                char text[2 * ACTION_TEXT_MAX];
                struct notice_info n;

                switch (x->kind) {
                case ACT_ALERT:
                        publish(a, a->alert_topic, alarm_alert_json(a->cfg, x->incident, x->type, x->severity,
                                                                    x->state, &x->why, x->text));
                        break;
                case ACT_PROMPT:
                        publish(a, a->prompt_topic, alarm_prompt_json(x->incident, x->start, x->window, x->text));
                        break;
                case ACT_NOTIFY:
                        if (!a->cfg->contacts[x->contact].topic)
                                break;
                        n = located_notice(a, x, &loc, text, sizeof text);
                        if (a->cfg->contacts[x->contact].topic)
                                publish(a, a->cfg->contacts[x->contact].topic, alarm_notice_json(a->cfg, &n));
                        break;
                default:
                        break;
                }
        }
}

int actions_run(struct actions *a, struct action_list *l) {
        bool any = false, calls_stored = false;
        int r = 0;

        a->stats.lists++;
        for (size_t i = 0; i < l->n; i++)
                any |= storable(l->v[i].kind);
        if (l->oom)
                log_error("incident manager out of memory: some of what it decided is missing");
        if (any)
                r = store_list(a, l, &calls_stored);
        /* The journal says what happened once it is on record. */
        for (size_t i = 0; i < l->n; i++)
                if (l->v[i].kind == ACT_LOG)
                        log_full(l->v[i].warn ? LOG_WARNING : LOG_NOTICE, 0, "%s", l->v[i].text);
        send_messages(a, l);
        if (any)
                a->sink.commit(a->sink.userdata, calls_stored);
        for (size_t i = 0; i < l->n; i++)
                if (l->v[i].kind == ACT_DROP_NOTICES && a->sink.drop_notices)
                        a->sink.drop_notices(a->sink.userdata, l->v[i].incident);
        return r;
}
