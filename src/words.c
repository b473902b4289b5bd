/* Every sentence people read (see words.h). */
#include "words.h"
#include "alarm.h"
#include "config.h"
#include "geo.h"
#include "util.h"

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

/* A sentence from a format whose only conversions are "%N$s" (N = 1..9,
 * any order, any subset: the two languages put the words in different
 * places and not every sentence uses every word) and "%%". Not printf:
 * glibc's printf aborts a positional format that skips an argument
 * (_FORTIFY_SOURCE), and a sentence must never stop the daemon. */
static void say_(char *buf, size_t n, bool zh, const char *en, const char *zh_fmt, const char *const *args) {
        const char *f = zh ? zh_fmt : en;
        size_t nargs = 0, o = 0;

        while (args[nargs])
                nargs++;
        if (n == 0)
                return;
        for (; *f; f++) {
                const char *piece = NULL;
                size_t len;

                if (f[0] == '%' && f[1] == '%') {
                        piece = "%";
                        f++;
                } else if (f[0] == '%' && f[1] >= '1' && f[1] <= '9' && f[2] == '$' && f[3] == 's') {
                        size_t k = (size_t) (f[1] - '1');

                        piece = k < nargs ? args[k] : "?";
                        f += 3;
                }
                if (!piece) {
                        if (o + 1 < n)
                                buf[o++] = *f;
                        continue;
                }
                len = strlen(piece);
                if (len > n - 1 - o)
                        len = n - 1 - o;
                memcpy(buf + o, piece, len);
                o += len;
        }
        buf[o] = '\0';
}
#define say(buf, n, zh, en, zh_fmt, ...) say_(buf, n, zh, en, zh_fmt, (const char *const[]) { __VA_ARGS__, NULL })

static void explain_health(const struct config *cfg, const struct decision *d, const char *id,
                           const char *room, const char *since, const char *dur, char *buf, size_t n) {
        bool zh = cfg->hub.language == LANG_ZH_CN;
        char val[32];

        snprintf(val, sizeof val, "%.0f", d->value);
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
                        say(buf, n, zh, "Battery low on %1$s (%2$s): %3$s %%, replace it soon",
                            "%1$s（%2$s）电量低：%3$s%%，请尽快更换电池", id, room, val);
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
        case HEALTH_MQTT:
                say(buf, n, zh, "The connection to the MQTT broker keeps dropping (%4$s): sensor messages may be "
                    "missed; check the broker and its limits (message_size_limit)",
                    "与 MQTT 消息服务器的连接反复中断（%4$s）：传感器消息可能丢失；请检查服务器及其限制（message_size_limit）",
                    id, room, since, dur);
                break;
        case HEALTH_CENTER:
                say(buf, n, zh, "The dispatch center refuses a call (HTTP %3$s): it is retried, but someone must "
                    "check the hub's registration with the center",
                    "调度中心拒收呼叫（HTTP %3$s）：仍在重试，但请检查网关在调度中心的登记", id, room, val);
                break;
        case HEALTH_LINK:
                say(buf, n, zh, "The link to the dispatch center is down since %3$s (%4$s without an answer); "
                    "emergency calls wait in the outbox and are retried",
                    "与调度中心的连接自 %3$s 起中断（已%4$s无应答）；紧急呼叫暂存并持续重试", id, room, since, dur);
                break;
        case HEALTH_FAULT:
                say(buf, n, zh, "Sensor %1$s (%2$s) reports a fault: it may not detect anything until it is "
                    "checked", "传感器 %1$s（%2$s）报告故障：检修前可能无法报警", id, room);
                break;
        case HEALTH_BRIDGE:
                say(buf, n, zh, "The Zigbee bridge (Zigbee2MQTT) is offline: the state of %3$s sensor(s) behind "
                    "it is unknown until it is back; check the hub's Zigbee service",
                    "Zigbee 网关服务（Zigbee2MQTT）离线：其下 %3$s 个传感器状态未知，恢复前无法报警；请检查网关的 Zigbee 服务",
                    id, room, val);
                break;
        case HEALTH_RELAY:
                say(buf, n, zh, "Smart plug %1$s (%2$s) did not confirm it switched: the charger's power may not "
                    "be cut; check the plug", "智能插座 %1$s（%2$s）未确认切换：充电器可能仍在通电；请检查插座", id, room);
                break;
        case HEALTH_RECEIVER:
                say(buf, n, zh, "The alarm receiving centre (DC-09) has not answered since %3$s (%4$s): reports "
                    "wait in the outbox and are retried, through its fallback receiver if it has one",
                    "报警接收中心（DC-09）自 %3$s 起无应答（%4$s）：报告暂存并持续重试，如配置了备用接收中心则改发备用",
                    id, room, since, dur);
                break
;
        default:
                say(buf, n, zh, "Sensor %1$s (%2$s) needs attention", "传感器 %1$s（%2$s）需要检修", id, room);
        }
}

char *words_explain(const struct config *cfg, const struct rule_params *p, const struct decision *d, char *buf,
                    size_t n) {
        const struct sensor_conf *s = d->sensor < cfg->n_sensors ? &cfg->sensors[d->sensor] : NULL;
        bool zh = cfg->hub.language == LANG_ZH_CN;
        const char *id = s ? s->id : (zh ? "（无）" : "(none)");
        const char *room = s && s->room ? s->room
                           : s && s->kind != SENSOR_WRISTBAND ? (zh ? "未指定房间" : "no room given")
                                                               : (zh ? "随身" : "worn");
        char since[16], dur[48], lim[48], by[16], hr[32], lo[16], hi[16];

        say_time(d->since_wall ? d->since_wall : d->wall, since, sizeof since);
        say_duration(zh, d->duration, dur, sizeof dur);
        if (d->kind == DECISION_CLEAR) {
                say(buf, n, zh, "%1$s: back to normal (%2$s, %3$s)", "%1$s：已恢复正常（%2$s，%3$s）",
                    incident_type_to_string(d->type), id, room);
                return utf8_trim(buf);
        }
        switch (d->type) {
        case INCIDENT_FIRE:
                if (d->again)
                        say(buf, n, zh, "Smoke still detected by %1$s in the %2$s after the last fire incident was "
                            "closed", "上一起火警关闭后，%2$s的烟雾报警器 %1$s 仍检测到烟雾", id, room);
                else
                        say(buf, n, zh, "Smoke detected by %1$s in the %2$s", "%2$s的烟雾报警器 %1$s 检测到烟雾", id,
                            room);
                break;
        case INCIDENT_SOS:
                say(buf, n, zh, "SOS pressed on %1$s (%2$s)", "%1$s（%2$s）按下了紧急呼叫", id, room);
                break;
        case INCIDENT_FALL:
                /* A pre-alarm says the time the resident has left (a fall that
                 * joins a running window has less than the whole window). */
                say_duration(zh, d->kind == DECISION_PREALARM && d->duration ? d->duration : p->fall_window, lim,
                             sizeof lim);
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
                if (s && s->kind == SENSOR_WRISTBAND) {
                        /* The safe zone joined it: her band is outside. */
                        if (d->stale)
                                say(buf, n, zh, "Night exit at %1$s: still outside the safe zone, no new position "
                                    "for a while", "夜间 %1$s 外出：仍在安全区外，位置已有一段时间未更新", since);
                        else
                                say(buf, n, zh, "Night exit at %1$s: the wristband is outside the safe zone, %2$s "
                                    "later", "夜间 %1$s 外出：手环已在安全区外，已%2$s", since, dur);
                        break;
                }
                say(buf, n, zh, "%1$s opened at %2$s at night, no return within %3$s",
                    "夜间 %2$s %1$s 打开后%3$s内未返回", id, since, dur);
                break;
        case INCIDENT_BED_EXIT:
                say(buf, n, zh, "Out of bed (%1$s) at %2$s at night, not back within %3$s",
                    "夜间 %2$s 离床（%1$s）后%3$s内未回到床上", id, since, dur);
                break;
        case INCIDENT_BATHROOM_DWELL:
                say(buf, n, zh, "In the %1$s since %2$s, %3$s without coming out",
                    "自 %2$s 起在%1$s，已%3$s未出来", room, since, dur);
                break;
        case INCIDENT_VITALS:
                snprintf(hr, sizeof hr, "%.0f", d->value);
                snprintf(lo, sizeof lo, "%u", p->hr_low);
                snprintf(hi, sizeof hi, "%u", p->hr_high);
                say(buf, n, zh, "Heart rate %1$s bpm, outside %2$s-%3$s, for %4$s since %5$s",
                    "心率 %1$s 次/分，超出 %2$s-%3$s，自 %5$s 起已持续%4$s", hr, lo, hi, dur, since);
                break;
        case INCIDENT_WATER_LEAK:
                if (d->again)
                        say(buf, n, zh, "Water still detected by %1$s in the %2$s after the last leak incident was "
                            "closed", "上一起漏水事件关闭后，%2$s的水浸传感器 %1$s 仍检测到漏水", id, room);
                else
                        say(buf, n, zh, "Water leak detected by %1$s in the %2$s", "%2$s的水浸传感器 %1$s 检测到漏水",
                            id, room);
                break;
        case INCIDENT_DEVICE_HEALTH:
                explain_health(cfg, d, id, room, since, dur, buf, n);
                break;
        case INCIDENT_POWER:
                say(buf, n, zh, "Mains power failed at %1$s (%2$s), out for %3$s",
                    "%1$s 起市电断电（%2$s），已%3$s", since, id, dur);
                break;
        case INCIDENT_GEOFENCE: {
                char far[24];
                geo_format_distance(far, sizeof far, d->value);
                if (d->stale)
                        say(buf, n, zh, "Outside the safe zone since %1$s; no new position for %2$s or more",
                            "自 %1$s 起在安全区外；位置已超过%2$s未更新", since, say_duration(zh, p->geo_stale_after,
                                                                                        lim, sizeof lim));
                else
                        say(buf, n, zh, "Outside the safe zone since %1$s, %2$s; %3$s from home",
                            "自 %1$s 起离开安全区，已%2$s；距家 %3$s", since, dur, far);
                break;
        }
        case INCIDENT_DOOR_OPEN:
                say(buf, n, zh, "%1$s (%2$s) open since %3$s, %4$s", "%2$s的门 %1$s 自 %3$s 起未关，已%4$s",
                    id, room, since, dur);
                break;
        default:
                snprintf(buf, n, "%s: %s", incident_type_to_string(d->type), id);
        }
        return utf8_trim(buf);
}

char *words_reason(const struct config *cfg, enum incident_type type, const struct sensor_conf *sensor, char *buf,
                   size_t n) {
        struct decision d = {
                .kind = DECISION_RAISE, .type = type,
                .sensor = sensor ? (uint32_t) (sensor - cfg->sensors) : SENSOR_NONE,
        };

        return words_explain(cfg, &cfg->rules, &d, buf, n);
}

/* docs/DESIGN.md §12: health data stays out of the journal; readings are in the
 * incident record, read by those who may. */
const char *words_loggable(enum incident_type type, const char *reason) {
        if (type == INCIDENT_VITALS)
                return "heart rate out of range (the reading is in the incident record)";
        /* Tracking data too: not even the distance from home. */
        if (type == INCIDENT_GEOFENCE)
                return "outside the safe zone (the position is in the incident record)";
        return reason;
}

char *words_notice(const struct config *cfg, const char *what, const char *answer_to, char *buf, size_t n) {
        bool zh = cfg->hub.language == LANG_ZH_CN;
        int l;

        l = snprintf(buf, n, zh ? "【安居】%s（%s）：%s。" : "[anju] %s, %s: %s.", cfg->resident.name,
                     cfg->resident.address, what);
        if (answer_to && l > 0 && (size_t) l < n)
                snprintf(buf + l, n - (size_t) l,
                         zh ? "请回复 ack（我去）、arrived（已到场）或 resolved（已处理），事件 %s。"
                            : " Answer ack (on my way), arrived or resolved, incident %s.", answer_to);
        return utf8_trim(buf);
}

const char *words_who(const struct config *cfg, const char *actor) {
        int k = config_find_contact(cfg, actor);

        if (k >= 0 && cfg->contacts[k].name)
                return cfg->contacts[k].name;
        if (strcmp(actor, "dispatch") == 0)
                return cfg->hub.language == LANG_ZH_CN ? "调度中心" : "the dispatch center";
        if (strncmp(actor, "receiver:", 9) == 0)
                return cfg->hub.language == LANG_ZH_CN ? "报警接收中心" : "the alarm receiving centre";
        return actor;
}

bool words_is_center(const char *actor) {
        return strcmp(actor, "dispatch") == 0 || strncmp(actor, "receiver:", 9) == 0;
}

char *words_answered(const struct config *cfg, const char *action, const char *actor, const char *note, char *buf,
                     size_t n) {
        const char *who = words_who(cfg, actor);
        bool zh = cfg->hub.language == LANG_ZH_CN, center = words_is_center(actor);

        if (center)
                snprintf(buf, n, zh ? "%s已接警（%s）" : "%s has taken the call (%s)", who, note ? note : "");
        else if (zh)
                snprintf(buf, n, "%s%s", who,
                         strcmp(action, "ack") == 0 ? "正在赶去" : strcmp(action, "arrived") == 0 ? "已到场" :
                         strcmp(action, "resolved") == 0 ? "已处理完毕，事件关闭" : "确认为误报，事件关闭");
        else
                snprintf(buf, n, "%s %s", who,
                         strcmp(action, "ack") == 0 ? "is on the way" : strcmp(action, "arrived") == 0 ? "has arrived" :
                         strcmp(action, "resolved") == 0 ? "has resolved it; incident closed"
                                                         : "says it was a false alarm; incident closed");
        return utf8_trim(buf);
}

char *words_prompt(const struct config *cfg, uint64_t window, char *buf, size_t n) {
        unsigned secs = (unsigned) (window / USEC_PER_SEC);

        snprintf(buf, n, cfg->hub.language == LANG_ZH_CN ? "检测到您可能摔倒了。如果没事，请在%u秒内按取消键。"
                                                          : "A fall was detected. If you are all right, press cancel "
                                                            "within %u seconds.", secs);
        return utf8_trim(buf);
}

const char *words_test_call(const struct config *cfg) {
        return cfg->hub.language == LANG_ZH_CN ? "测试呼叫（anjuctl test dispatch），无需出警"
                                               : "Test call (anjuctl test dispatch): no action needed";
}

char *words_location(const struct config *cfg, const struct alarm_location *l, char *buf, size_t n) {
        bool zh = cfg->hub.language == LANG_ZH_CN;
        char acc[24], age[48], far[24], at[16], where[64] = "";

        geo_format_distance(acc, sizeof acc, l->accuracy_m);
        say_duration(zh, l->age, age, sizeof age);
        say_time(l->fix_at, at, sizeof at);
        if (l->distance_m >= 0) {
                geo_format_distance(far, sizeof far, l->distance_m);
                say(where, sizeof where, zh, ", %1$s from home", "，距家 %1$s", far);
        }
        if (l->stale)
                say(buf, n, zh, "Last position %1$s, %2$s old (no newer one; it may be out of date), within %3$s%4$s: %5$s",
                    "最后位置为 %1$s 的（已%2$s未更新，可能已过时），误差 %3$s%4$s：%5$s", at, age, acc, where,
                    l->map_url[0] ? l->map_url : "-");
        else
                say(buf, n, zh, "Last position within %1$s, %2$s ago%3$s: %4$s", "最后位置（误差 %1$s，%2$s前）%3$s：%4$s",
                    acc, age, where, l->map_url[0] ? l->map_url : "-");
        return utf8_trim(buf);
}
