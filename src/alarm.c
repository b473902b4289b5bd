/* The JSON the hub sends (see alarm.h). */
#include "alarm.h"
#include "config.h"
#include "util.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

static json_t *str_or_null(const char *s) {
        return s ? json_string(s) : json_null();
}

static json_t *home_object(const struct config *cfg) {
        return json_pack("{s:o, s:o, s:o, s:s, s:o, s:o}",
                         "id", str_or_null(cfg->hub.id),
                         "address", str_or_null(cfg->resident.address),
                         "resident", str_or_null(cfg->resident.name),
                         "risk", risk_tier_to_string(cfg->resident.risk),
                         "notes", str_or_null(cfg->resident.notes),
                         "timezone", str_or_null(cfg->hub.timezone));
}

/* The "location" object: raw coordinates with their datum, so nobody
 * guesses; the track (WGS-84) only when there is one. */
static json_t *location_object(const struct alarm_location *l) {
        char at[40];
        json_t *o, *track;

        format_rfc3339(at, sizeof at, l->fix_at);
        o = json_pack("{s:f, s:f, s:f, s:s, s:I, s:s, s:o, s:b}", "lat", l->lat, "lon", l->lon,
                      "accuracy_m", l->accuracy_m, "fix_at", at, "age_s", (json_int_t) (l->age / USEC_PER_SEC),
                      "datum", geo_datum_to_string((enum geo_datum) l->datum),
                      "at_home", l->at_home < 0 ? json_null() : json_boolean(l->at_home), "stale", l->stale);
        if (!o)
                return NULL;
        if (l->distance_m >= 0)
                json_object_set_new(o, "distance_m", json_integer((json_int_t) (l->distance_m + 0.5)));
        if (l->map_url[0])
                json_object_set_new(o, "map_url", json_string(l->map_url));
        if (l->n_track > 0 && (track = json_array())) {
                for (size_t i = 0; i < l->n_track; i++) {
                        format_rfc3339(at, sizeof at, l->track_at[i]);
                        json_array_append_new(track, json_pack("{s:f, s:f, s:s}", "lat", l->track[i].lat, "lon",
                                                               l->track[i].lon, "at", at));
                }
                json_object_set_new(o, "track", json_pack("{s:s, s:o}", "datum", "wgs84", "fixes", track));
        }
        return o;
}

char *alarm_build_body(const struct config *cfg, const struct alarm_info *a) {
        char started[40], raised[40];
        const struct sensor_conf *s = a->sensor;
        json_t *sensor, *root, *timeline;
        char *body;

        format_rfc3339(started, sizeof started, a->started_at);
        format_rfc3339(raised, sizeof raised, a->raised_at);
        sensor = s ? json_pack("{s:s, s:o, s:s}", "id", s->id, "room", str_or_null(s->room),
                               "kind", sensor_kind_to_string(s->kind))
                   : json_null();
        timeline = json_pack("[{s:s, s:s, s:o, s:o}]", "at", raised,
                             "event", a->update ? "triggered" : "opened",
                             "actor", str_or_null(s ? s->id : NULL), "note", str_or_null(a->reason));
        root = json_pack("{s:s, s:s, s:s, s:I, s:s, s:s, s:s, s:s, s:s, s:o, s:s, s:o, s:o, s:o, s:b}",
                         "schema", "anju.alarm.v1",
                         "id", a->incident_id,
                         "call", a->update ? "update" : "alarm",
                         "sequence", (json_int_t) a->sequence,
                         "type", incident_type_to_string(a->type),
                         "severity", severity_to_string(a->severity),
                         "state", "open",
                         "started_at", started,
                         "raised_at", raised,
                         "reason", str_or_null(a->reason),
                         "language", cfg->hub.language == LANG_EN ? "en" : "zh-CN",
                         "home", home_object(cfg),
                         "sensor", sensor,
                         "timeline", timeline,
                         "test", a->test);
        if (!root)
                return NULL;
        if (a->location)
                json_object_set_new(root, "location", location_object(a->location));
        if (a->why) {
                /* Which rule fired and on what facts: for the center's screen. */
                char since[40];
                const struct decision *d = a->why;
                json_t *rule = json_pack("{s:s, s:o, s:I}", "name", incident_type_to_string(d->type),
                                         "since", d->since_wall ? json_string(format_rfc3339(since, sizeof since, d->since_wall))
                                                                : json_null(),
                                         "duration_s", (json_int_t) (d->duration / USEC_PER_SEC));
                if (rule && d->type == INCIDENT_VITALS)
                        json_object_set_new(root, "vitals", json_pack("{s:f}", "heart_rate", d->value));
                if (rule)
                        json_object_set_new(root, "rule", rule);
        }
        body = json_dumps(root, JSON_COMPACT);
        json_decref(root);
        return body;
}

static char *dump(json_t *j) {
        char *txt = j ? json_dumps(j, JSON_COMPACT) : NULL;

        json_decref(j);
        return txt;
}

char *alarm_alert_json(const struct config *cfg, const char *incident_id, enum incident_type type,
                       enum severity severity, const char *state, const struct decision *d, const char *text) {
        const struct sensor_conf *s = d->sensor < cfg->n_sensors ? &cfg->sensors[d->sensor] : NULL;
        char at[40], since[40];

        format_rfc3339(at, sizeof at, d->wall);
        format_rfc3339(since, sizeof since, d->since_wall ? d->since_wall : d->wall);
        return dump(json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:s, s:s, s:I}",
                              "schema", "anju.alert.v1", "incident", incident_id,
                              "type", incident_type_to_string(type), "severity", severity_to_string(severity),
                              "state", state, "at", at, "text", text,
                              "sensor", s ? json_string(s->id) : json_null(),
                              "room", s && s->room ? json_string(s->room) : json_null(),
                              "resident", cfg->resident.name ? cfg->resident.name : "",
                              "since", since, "duration_s", (json_int_t) (d->duration / USEC_PER_SEC)));
}

static json_t *notice_object(const struct config *cfg, const struct notice_info *n) {
        char ack_topic[200];

        snprintf(ack_topic, sizeof ack_topic, "anju/%s/ack", cfg->hub.id);
        return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:s, s:s}",
                         "schema", "anju.notice.v1", "incident", n->incident_id, "kind", n->kind,
                         "type", incident_type_to_string(n->type), "severity", severity_to_string(n->severity),
                         "state", n->state, "repeat", (int) n->repeat, "text", n->text,
                         "resident", cfg->resident.name ? cfg->resident.name : "",
                         "address", cfg->resident.address ? cfg->resident.address : "", "ack_topic", ack_topic);
}

char *alarm_notice_json(const struct config *cfg, const struct notice_info *n) {
        json_t *o = notice_object(cfg, n);

        if (o && n->location)
                json_object_set_new(o, "location", location_object(n->location));
        return dump(o);
}

char *alarm_webhook_body(enum webhook_template t, const struct config *cfg, const struct notice_info *n) {
        if (t == TEMPLATE_JSON)
                return alarm_notice_json(cfg, n);
        return dump(json_pack("{s:s, s:{s:s}}", "msgtype", "text", "text", "content", n->text));
}

char *alarm_prompt_json(const char *incident_id, bool start, uint64_t window, const char *text) {
        if (!start)
                return dump(json_pack("{s:s, s:s}", "incident", incident_id, "action", "stop"));
        return dump(json_pack("{s:s, s:s, s:s, s:s, s:i, s:s}", "incident", incident_id, "action", "start",
                              "type", "fall", "pattern", "pulsed", "window_s", (int) (window / USEC_PER_SEC),
                              "text", text ? text : ""));
}
