/* Emergency-call bodies and alert sentences. */
#include "alarm.h"
#include "config.h"
#include "util.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* "4 h 05 min" / "4小时05分": a duration as a volunteer reads it. */
static const char *say_duration(bool zh, uint64_t usec, char *buf, size_t n) {
        unsigned long long s = usec / USEC_PER_SEC;

        if (s < 60)
                snprintf(buf, n, zh ? "%llu秒" : "%llu s", s);
        else if (s < 3600)
                snprintf(buf, n, zh ? "%llu分钟" : "%llu min", s / 60);
        else
                snprintf(buf, n, zh ? "%llu小时%02llu分" : "%llu h %02llu min", s / 3600, (s % 3600) / 60);
        return buf;
}

/* "09:12" in local time. */
static const char *say_time(uint64_t wall, char *buf, size_t n) {
        time_t t = (time_t) (wall / USEC_PER_SEC);
        struct tm tm;

        localtime_r(&t, &tm);
        strftime(buf, n, "%H:%M", &tm);
        return buf;
}

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
static void say(char *buf, size_t n, bool zh, const char *en, const char *zh_fmt, ...) {
        va_list ap;

        va_start(ap, zh_fmt);
        vsnprintf(buf, n, zh ? zh_fmt : en, ap);
        va_end(ap);
}
#pragma GCC diagnostic pop

static void explain_health(const struct config *cfg, const struct decision *d, const char *id,
                           const char *room, const char *since, const char *dur, char *buf, size_t n) {
        bool zh = cfg->hub.language == LANG_ZH_CN;

        switch (d->problem) {
        case HEALTH_OFFLINE:
                say(buf, n, zh, "Sensor %1$s (%2$s) has sent nothing since %3$s (%4$s): offline",
                    "传感器 %1$s（%2$s）自 %3$s 起没有消息（%4$s），已离线", id, room, since, dur);
                break;
        case HEALTH_OFFLINE_BRIDGE:
                say(buf, n, zh, "Sensor %1$s (%2$s) is offline (its bridge says so)",
                    "传感器 %1$s（%2$s）离线（网关报告）", id, room);
                break;
        case HEALTH_BATTERY:
                if (d->value > 1)
                        say(buf, n, zh, "Battery low on %1$s (%2$s): %3$.0f %%, replace it soon",
                            "%1$s（%2$s）电量低：%3$.0f%%，请尽快更换电池", id, room, d->value);
                else
                        say(buf, n, zh, "Battery low on %1$s (%2$s), replace it soon",
                            "%1$s（%2$s）电量低，请尽快更换电池", id, room);
                break;
        case HEALTH_TAMPER:
                say(buf, n, zh, "Sensor %1$s (%2$s) was tampered with (cover opened or removed)",
                    "传感器 %1$s（%2$s）被拆动（外壳打开或被取下）", id, room);
                break;
        case HEALTH_NOT_WORN:
                say(buf, n, zh, "Wristband %1$s not worn since %3$s (%4$s): falls and "
                    "heart rate are not watched", "手环 %1$s 自 %3$s 起未佩戴（已%4$s），跌倒和心率无法监测",
                    id, room, since, dur);
                break;
        case HEALTH_GPIO:
                say(buf, n, zh, "Sensor %1$s (%2$s) cannot be read or driven: its GPIO line is missing, in use "
                    "or not allowed; it is not working until this is fixed (check the wiring and the hub)",
                    "传感器 %1$s（%2$s）无法读取或驱动：GPIO 线路缺失、被占用或无权限；修复前不起作用（请检查接线和网关）",
                    id, room);
                break;
        case HEALTH_STORAGE:
                say(buf, n, zh, "The hub's database failed (damaged, full or not writable): alarms still go "
                    "out, from memory, but records may be missing; check the storage",
                    "网关数据库故障（损坏、已满或无法写入）：报警仍从内存发出，但记录可能缺失；请检查存储", id, room);
                break;
        case HEALTH_LINK:
                say(buf, n, zh, "The link to the dispatch center is down since %3$s (%4$s without an answer); "
                    "emergency calls wait in the outbox and are retried",
                    "与调度中心的连接自 %3$s 起中断（已%4$s无应答）；紧急呼叫暂存并持续重试", id, room, since, dur);
                break;
        default:
                say(buf, n, zh, "Sensor %1$s (%2$s) needs attention", "传感器 %1$s（%2$s）需要检修", id, room);
        }
}

char *alarm_explain(const struct config *cfg, const struct decision *d, char *buf, size_t n) {
        const struct sensor_conf *s = d->sensor < cfg->n_sensors ? &cfg->sensors[d->sensor] : NULL;
        bool zh = cfg->hub.language == LANG_ZH_CN;
        const char *id = s ? s->id : (zh ? "（无）" : "(none)");
        const char *room = s && s->room ? s->room
                           : s && s->kind != SENSOR_WRISTBAND ? (zh ? "未指定房间" : "no room given")
                                                               : (zh ? "随身" : "worn");
        const struct rule_params *p = &cfg->rules;
        char since[16], dur[48], lim[48], by[16];

        say_time(d->since_wall ? d->since_wall : d->wall, since, sizeof since);
        say_duration(zh, d->duration, dur, sizeof dur);
        if (d->kind == DECISION_CLEAR) {
                say(buf, n, zh, "%1$s: back to normal (%2$s, %3$s)", "%1$s：已恢复正常（%2$s，%3$s）",
                    incident_type_to_string(d->type), id, room);
                return utf8_trim(buf);
        }
        switch (d->type) {
        case INCIDENT_FIRE:
                say(buf, n, zh, "Smoke detected by %1$s in the %2$s", "%2$s的烟雾报警器 %1$s 检测到烟雾", id, room);
                break;
        case INCIDENT_SOS:
                say(buf, n, zh, "SOS pressed on %1$s (%2$s)", "%1$s（%2$s）按下了紧急呼叫", id, room);
                break;
        case INCIDENT_FALL:
                say_duration(zh, p->fall_window, lim, sizeof lim);
                if (d->kind == DECISION_PREALARM)
                        say(buf, n, zh, "Fall detected by %1$s at %2$s; waiting %3$s for the resident to cancel",
                            "%1$s 在 %2$s 检测到跌倒，等待老人在%3$s内取消", id, since, lim);
                else if (d->kind == DECISION_CANCEL)
                        say(buf, n, zh, "Fall alarm of %2$s cancelled by the resident after %3$s",
                            "%2$s 的跌倒报警已由老人在%3$s后取消", id, since, dur);
                else
                        say(buf, n, zh, "Fall detected by %1$s at %2$s, not cancelled within %3$s",
                            "%1$s 在 %2$s 检测到跌倒，%3$s内未取消", id, since, dur);
                break;
        case INCIDENT_INACTIVITY:
                if (s && s->room)
                        say(buf, n, zh, "No movement since %1$s, %2$s; last seen in the %3$s",
                            "自 %1$s 起无活动，已%2$s；最后出现在%3$s", since, dur, room);
                else
                        say(buf, n, zh, "No movement since %1$s, %2$s", "自 %1$s 起无活动，已%2$s", since, dur);
                break;
        case INCIDENT_MORNING_CHECK:
                snprintf(by, sizeof by, "%02u:%02u", p->morning_by / 60, p->morning_by % 60);
                say(buf, n, zh, "No activity this morning by %1$s; last movement at %2$s, %3$s ago",
                    "今早 %1$s 前没有任何活动；最后一次活动在 %2$s，已%3$s", by, since, dur);
                break;
        case INCIDENT_NIGHT_EXIT:
                say(buf, n, zh, "%1$s opened at %2$s at night, no return within %3$s",
                    "夜间 %2$s %1$s 打开后%3$s内未返回", id, since, dur);
                break;
        case INCIDENT_BATHROOM_DWELL:
                say(buf, n, zh, "In the %1$s since %2$s, %3$s without coming out",
                    "自 %2$s 起在%1$s，已%3$s未出来", room, since, dur);
                break;
        case INCIDENT_VITALS:
                say(buf, n, zh, "Heart rate %1$.0f bpm, outside %2$u-%3$u, for %4$s since %5$s",
                    "心率 %1$.0f 次/分，超出 %2$u-%3$u，自 %5$s 起已持续%4$s", d->value, p->hr_low,
                    p->hr_high, dur, since);
                break;
        case INCIDENT_WATER_LEAK:
                say(buf, n, zh, "Water leak detected by %1$s in the %2$s", "%2$s的水浸传感器 %1$s 检测到漏水", id, room);
                break;
        case INCIDENT_DEVICE_HEALTH:
                explain_health(cfg, d, id, room, since, dur, buf, n);
                break;
        case INCIDENT_POWER:
                say(buf, n, zh, "Mains power failed at %1$s (%2$s), out for %3$s",
                    "%1$s 起市电断电（%2$s），已%3$s", since, id, dur);
                break;
        case INCIDENT_DOOR_OPEN:
                say(buf, n, zh, "%1$s (%2$s) open since %3$s, %4$s", "%2$s的门 %1$s 自 %3$s 起未关，已%4$s",
                    id, room, since, dur);
                break;
        default:
                snprintf(buf, n, "%s: %s", incident_type_to_string(d->type), id);
        }
        return utf8_trim(buf);
}

char *alarm_reason(const struct config *cfg, enum incident_type type,
                   const struct sensor_conf *sensor, char *buf, size_t n) {
        struct decision d = {
                .kind = DECISION_RAISE, .type = type,
                .sensor = sensor ? (uint32_t) (sensor - cfg->sensors) : SENSOR_NONE,
        };

        return alarm_explain(cfg, &d, buf, n);
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
                         "test", a->test);
        if (!root)
                return NULL;
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
