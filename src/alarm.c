/* Emergency-call bodies and alert sentences. */
#include "alarm.h"
#include "config.h"
#include "util.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

struct phrase {
        enum incident_type type;
        const char *en;         /* %1$s sensor id, %2$s room */
        const char *zh;
};

static const struct phrase phrases[] = {
        { INCIDENT_FIRE, "Smoke detected by %1$s in the %2$s", "%2$s的烟雾报警器 %1$s 检测到烟雾" },
        { INCIDENT_SOS, "SOS pressed on %1$s (%2$s)", "%1$s（%2$s）按下了紧急呼叫" },
};

/* snprintf may cut a multi-byte character in half; a body with half a
 * character is refused by jansson, so cut back to a character boundary. */
static char *utf8_trim(char *buf) {
        size_t l = strlen(buf), start = l;

        while (start > 0 && ((unsigned char) buf[start - 1] & 0xc0) == 0x80)
                start--;
        if (start > 0 && (unsigned char) buf[start - 1] >= 0xc0) {
                unsigned char lead = (unsigned char) buf[start - 1];
                size_t need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2;
                if (l - (start - 1) < need)
                        buf[start - 1] = '\0';
        }
        return buf;
}

char *alarm_reason(const struct config *cfg, enum incident_type type,
                   const struct sensor_conf *sensor, char *buf, size_t n) {
        const char *id = sensor ? sensor->id : "?";
        bool zh = cfg->hub.language == LANG_ZH_CN;
        const char *room = sensor && sensor->room ? sensor->room : (zh ? "随身" : "worn");

        for (size_t i = 0; i < ELEMENTSOF(phrases); i++)
                if (phrases[i].type == type) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
                        snprintf(buf, n, zh ? phrases[i].zh : phrases[i].en, id, room);
#pragma GCC diagnostic pop
                        return utf8_trim(buf);
                }
        snprintf(buf, n, "%s: %s", incident_type_to_string(type), id);
        return buf;
}

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
        root = json_pack("{s:s, s:s, s:s, s:i, s:s, s:s, s:s, s:s, s:s, s:o, s:s, s:o, s:o, s:o, s:b}",
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
                         "test", 0);
        if (!root)
                return NULL;
        body = json_dumps(root, JSON_COMPACT);
        json_decref(root);
        return body;
}
