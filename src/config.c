/* Configuration parsing and validation. Every key has a row in a table
 * (name, type, range); values outside it are errors with file:line, and so
 * are unknown keys and sections: a typo in an alarm system's config must
 * not silently become a default. */
#include "config.h"
#include "dc09.h"
#include "vocab.h"
#include "policy.h"
#include "util.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum key_type { KT_STRING, KT_DURATION, KT_UINT, KT_BOOL, KT_ENUM, KT_TIME, KT_SIZE, KT_CLOSERS, KT_POINT, KT_HOURS };

struct key_desc {
        const char *name;
        enum key_type type;
        size_t offset;
        long long min, max;             /* KT_UINT, KT_DURATION (usec) */
        const char *const *names;       /* KT_ENUM, NULL-terminated */
        /* Optional further check of a KT_STRING: NULL if fine, else what is wrong. */
        const char *(*check)(const char *value, char *buf, size_t n);
};

enum section_type { SEC_NONE, SEC_HUB, SEC_RESIDENT, SEC_MQTT, SEC_DISPATCH, SEC_SENSOR,
                    SEC_CONTACT, SEC_RULE, SEC_ESCALATION, SEC_UNKNOWN,
                    SEC_RECEIVER };     /* after SEC_UNKNOWN: header_line[] is for the single sections */

static const char *const map_names[] = { "none", "amap", "osm", NULL };    /* enum geo_map */
static const char *const datum_names[] = { "wgs84", "gcj02", NULL };        /* enum geo_datum */
static const char *const risk_names[] = { "standard", "elevated", "high", NULL };
static const char *const role_names[] = { "volunteer", "grid", "maintenance", NULL };
static const char *const button_role_names[] = { "sos", "cancel", NULL };
static const char *const bias_names[] = { "as-is", "disable", "pull-up", "pull-down", NULL };
static const char *const template_names[] = { "json", "wecom", "dingtalk", NULL };
static const char *const language_names[] = { "zh-CN", "en", NULL };
static const char *const kind_names[] = { "smoke", "motion", "door", "wristband", "button",
                                          "power", "water", "siren", "relay", "presence", "fall", "bed",
                                          NULL };


static bool valid_id(const char *s);

/* A host that is this machine: a DC-09 receiver there may go unencrypted. */
static bool host_is_loopback(const char *h) {
        if (strcmp(h, "localhost") == 0 || strcmp(h, "::1") == 0)
                return true;
        if (strncmp(h, "127.", 4) != 0)
                return false;
        for (const char *q = h + 4; *q; q++)
                if (!isdigit((unsigned char) *q) && *q != '.')
                        return false;
        return true;
}

static bool all_hex(const char *v, size_t min, size_t max) {
        size_t l = strlen(v);

        if (l < min || l > max)
                return false;
        for (; *v; v++)
                if (!isxdigit((unsigned char) *v))
                        return false;
        return true;
}

static const char *check_account(const char *v, char *buf, size_t n) {
        return all_hex(v, DC09_ACCOUNT_MIN, DC09_ACCOUNT_MAX) ? NULL : "must be 3 to 16 hex digits";
}

static const char *check_prefix(const char *v, char *buf, size_t n) {
        return all_hex(v, 1, DC09_PREFIX_MAX) ? NULL : "must be 1 to 6 hex digits";
}

static const char *check_host(const char *v, char *buf, size_t n) {
        return *v && !strpbrk(v, " /\t") ? NULL : "must be a host name or address";
}

/* https, or plain http only to this machine (a local relay or a test
 * double); anything else would send an alarm in clear text. */
static bool url_acceptable(const char *url) {
        const char *host, *end;
        size_t l;

        if (strncmp(url, "https://", 8) == 0 && url[8])
                return true;
        if (strncmp(url, "http://", 7) != 0)
                return false;
        /* Plain http: the host itself must be loopback, not merely start
         * like one ("127.example.org", "localhost:pw@example.org"). */
        host = url + 7;
        end = host + strcspn(host, "/?#");
        if (memchr(host, '@', (size_t) (end - host)))
                return false;
        if (strncmp(host, "[::1]", 5) == 0)
                return host + 5 == end || host[5] == ':';
        l = strcspn(host, ":/?#");
        if (l == 9 && strncmp(host, "localhost", 9) == 0)
                return true;
        if (l < 4 || strncmp(host, "127.", 4) != 0)
                return false;
        for (size_t i = 4; i < l; i++)
                if (!isdigit((unsigned char) host[i]) && host[i] != '.')
                        return false;
        return true;
}

static const char *check_url(const char *v, char *buf, size_t n) {
        return url_acceptable(v) ? NULL
               : "must be https:// (http:// only to 127.0.0.1, ::1 or localhost)";
}

static const char *check_id(const char *v, char *buf, size_t n) {
        return valid_id(v) ? NULL : "must be letters, digits, '_', '-' or '.'";
}

static const char *check_timezone(const char *v, char *buf, size_t n) {
        snprintf(buf, n, "/usr/share/zoneinfo/%s", v);
        if (!strstr(v, "..") && v[0] != '/' && access(buf, R_OK) == 0)
                return NULL;
        snprintf(buf, n, "is not a known time zone (is tzdata installed?)");
        return buf;
}

/* A secret named without any '/' is a systemd credential
 * (LoadCredential=NAME:/etc/anju/...), read from $CREDENTIALS_DIRECTORY;
 * outside systemd (anjud --check-config by hand) it is next to the file
 * that names it, as /etc/anju/dispatch.token beside /etc/anju/anju.conf. */
static const char *secret_path(const char *v, const char *file, char *buf, size_t n) {
        const char *dir = getenv("CREDENTIALS_DIRECTORY");
        const char *slash = file ? strrchr(file, '/') : NULL;

        if (v[0] == '/' || strchr(v, '/'))
                return v;
        if (dir && *dir)
                snprintf(buf, n, "%s/%s", dir, v);
        else if (slash)
                snprintf(buf, n, "%.*s/%s", (int) (slash - file), file, v);
        else
                return v;
        return buf;
}

/* A file the daemon reads (a key, a token, a CA): its place is recorded
 * at parse time and the file is read or checked by config_load_secrets(),
 * never by config_load() (anjuctl loads the file without those rights). */
static const char *check_file(const char *v, char *buf, size_t n) {
        return *v ? NULL : "must name a file";
}

/* A switch that weakens security is turned on only by the word true (any
 * spelling of false is fine: it keeps the safe default). */
static const char *check_spelled_out(const char *v, char *buf, size_t n) {
        return strcasecmp(v, "true") == 0 ? NULL
               : "must be spelled out: true (TLS verification off, for a test rig only) or false";
}

static const char *check_topic(const char *v, char *buf, size_t n) {
        return *v && !strpbrk(v, "+#") ? NULL : "must be a plain topic without wildcards";
}

#define S(f) offsetof(struct config, f)
#define SD(f) offsetof(struct sensor_conf, f)
#define CD(f) offsetof(struct contact_conf, f)
#define DUR(lo, hi) (long long) (lo), (long long) (hi)

static const struct key_desc hub_keys[] = {
        { "id", KT_STRING, S(hub.id), 0, 0, NULL, check_id },
        { "language", KT_ENUM, S(hub.language), 0, 0, language_names, NULL },
        { "timezone", KT_STRING, S(hub.timezone), 0, 0, NULL, check_timezone },
        { "database", KT_STRING, S(hub.database), 0, 0, NULL, NULL },
        { "ctl_socket", KT_STRING, S(hub.ctl_socket), 0, 0, NULL, NULL },
        { "ctl_idle_timeout", KT_DURATION, S(hub.ctl_idle_timeout), DUR(USEC_PER_SEC, USEC_PER_HOUR), NULL, NULL },
        { "operator_key_file", KT_STRING, S(hub.operator_key_file), 0, 0, NULL, check_file },
        { "gpio_supervision", KT_DURATION, S(hub.gpio_supervision), DUR(USEC_PER_SEC, USEC_PER_HOUR), NULL, NULL },
        { "history_retention", KT_DURATION, S(hub.history_retention), DUR(USEC_PER_DAY, 3650 * USEC_PER_DAY), NULL, NULL },
        { "history_max", KT_SIZE, S(hub.history_max), 1024 * 1024, 1024LL * 1024 * 1024 * 1024, NULL, NULL },
        { "location_retention", KT_DURATION, S(hub.location_retention), DUR(USEC_PER_HOUR, 366 * USEC_PER_DAY), NULL, NULL },
        { "map", KT_ENUM, S(hub.map), 0, 0, map_names, NULL },
        { NULL, 0, 0, 0, 0, NULL, NULL },
};

static const struct key_desc resident_keys[] = {
        { "name", KT_STRING, S(resident.name), 0, 0, NULL, NULL },
        { "address", KT_STRING, S(resident.address), 0, 0, NULL, NULL },
        { "risk", KT_ENUM, S(resident.risk), 0, 0, risk_names, NULL },
        { "notes", KT_STRING, S(resident.notes), 0, 0, NULL, NULL },
        { NULL, 0, 0, 0, 0, NULL, NULL },
};

static const struct key_desc mqtt_keys[] = {
        { "host", KT_STRING, S(mqtt.host), 0, 0, NULL, NULL },
        { "port", KT_UINT, S(mqtt.port), 1, 65535, NULL, NULL },
        { "username", KT_STRING, S(mqtt.username), 0, 0, NULL, NULL },
        { "password_file", KT_STRING, S(mqtt.password_file), 0, 0, NULL, check_file },
        { "tls_ca_file", KT_STRING, S(mqtt.tls_ca_file), 0, 0, NULL, check_file },
        { "tls_cert_file", KT_STRING, S(mqtt.tls_cert_file), 0, 0, NULL, check_file },
        { "tls_key_file", KT_STRING, S(mqtt.tls_key_file), 0, 0, NULL, check_file },
        { "keepalive", KT_DURATION, S(mqtt.keepalive), DUR(5 * USEC_PER_SEC, USEC_PER_HOUR), NULL, NULL },
        { "reconnect_min", KT_DURATION, S(mqtt.reconnect_min), DUR(10 * USEC_PER_MSEC, USEC_PER_MIN), NULL, NULL },
        { "reconnect_max", KT_DURATION, S(mqtt.reconnect_max), DUR(10 * USEC_PER_MSEC, USEC_PER_HOUR), NULL, NULL },
        { "client_id", KT_STRING, S(mqtt.client_id), 0, 0, NULL, NULL },
        { "max_packet", KT_SIZE, S(mqtt.max_packet), 4096, 16 * 1024 * 1024, NULL, NULL },
        { NULL, 0, 0, 0, 0, NULL, NULL },
};

static const struct key_desc dispatch_keys[] = {
        { "url", KT_STRING, S(dispatch.url), 0, 0, NULL, check_url },
        { "fallback_url", KT_STRING, S(dispatch.fallback_url), 0, 0, NULL, check_url },
        { "token_file", KT_STRING, S(dispatch.token_file), 0, 0, NULL, check_file },
        { "hmac_key_file", KT_STRING, S(dispatch.hmac_key_file), 0, 0, NULL, check_file },
        { "ca_file", KT_STRING, S(dispatch.ca_file), 0, 0, NULL, check_file },
        { "insecure", KT_BOOL, S(dispatch.insecure), 0, 0, NULL, check_spelled_out },
        { "heartbeat_interval", KT_DURATION, S(dispatch.heartbeat_interval), DUR(10 * USEC_PER_SEC, USEC_PER_HOUR), NULL, NULL },
        { "timeout", KT_DURATION, S(dispatch.timeout), DUR(100 * USEC_PER_MSEC, 5 * USEC_PER_MIN), NULL, NULL },
        { "retry_min", KT_DURATION, S(dispatch.retry_min), DUR(10 * USEC_PER_MSEC, 10 * USEC_PER_MIN), NULL, NULL },
        { "retry_max", KT_DURATION, S(dispatch.retry_max), DUR(10 * USEC_PER_MSEC, USEC_PER_HOUR), NULL, NULL },
        { "fallback_after", KT_UINT, S(dispatch.fallback_after), 1, 100, NULL, NULL },
        { NULL, 0, 0, 0, 0, NULL, NULL },
};

static const struct key_desc sensor_keys[] = {
        { "kind", KT_ENUM, SD(kind), 0, 0, kind_names, NULL },
        { "room", KT_STRING, SD(room), 0, 0, NULL, NULL },
        { "bathroom", KT_BOOL, SD(bathroom), 0, 0, NULL, NULL },
        { "topic", KT_STRING, SD(topic), 0, 0, NULL, check_topic },
        { "availability_topic", KT_STRING, SD(availability_topic), 0, 0, NULL, check_topic },
        { "invert", KT_BOOL, SD(invert), 0, 0, NULL, NULL },
        { "sos_actions", KT_STRING, SD(sos_actions), 0, 0, NULL, NULL },
        { "cancel_actions", KT_STRING, SD(cancel_actions), 0, 0, NULL, NULL },
        { "role", KT_ENUM, SD(role), 0, 0, button_role_names, NULL },
        { "supervision", KT_DURATION, SD(supervision), DUR(10 * USEC_PER_SEC, 7 * USEC_PER_DAY), NULL, NULL },
        { "gpio_chip", KT_STRING, SD(gpio_chip), 0, 0, NULL, NULL },
        { "gpio_line", KT_UINT, SD(gpio_line), 0, 1023, NULL, NULL },
        { "active_low", KT_BOOL, SD(active_low), 0, 0, NULL, NULL },
        { "bias", KT_ENUM, SD(bias), 0, 0, bias_names, NULL },
        { "debounce", KT_DURATION, SD(debounce), DUR(0, 10 * USEC_PER_SEC), NULL, NULL },
        { "critical", KT_BOOL, SD(critical), 0, 0, NULL, NULL },
        { "bridge", KT_STRING, SD(bridge), 0, 0, NULL, check_topic },
        { "datum", KT_ENUM, SD(datum), 0, 0, datum_names, NULL },
        { "zone", KT_UINT, SD(zone), 1, 999, NULL, NULL },
        { NULL, 0, 0, 0, 0, NULL, NULL },
};

static const struct key_desc contact_keys[] = {
        { "role", KT_ENUM, CD(role), 0, 0, role_names, NULL },
        { "name", KT_STRING, CD(name), 0, 0, NULL, NULL },
        { "topic", KT_STRING, CD(topic), 0, 0, NULL, check_topic },
        { "webhook", KT_STRING, CD(webhook), 0, 0, NULL, check_url },
        { "template", KT_ENUM, CD(template), 0, 0, template_names, NULL },
        { "key_file", KT_STRING, CD(key_file), 0, 0, NULL, check_file },
        { "order", KT_UINT, CD(order), 0, 1000, NULL, NULL },
        { "phone", KT_STRING, CD(phone), 0, 0, NULL, NULL },
        { NULL, 0, 0, 0, 0, NULL, NULL },
};

#define RC(f) offsetof(struct receiver_conf, f)

static const char *const protocol_names[] = { "dc09", NULL };
static const char *const transport_names[] = { "tcp", "udp", NULL };
static const char *const format_names[] = { "cid", "sia", NULL };        /* enum dc09_format */
static const char *const sos_names[] = { "panic", "personal", NULL };

static const struct key_desc receiver_keys[] = {
        { "protocol", KT_ENUM, RC(protocol), 0, 0, protocol_names, NULL },
        { "host", KT_STRING, RC(host), 0, 0, NULL, check_host },
        { "port", KT_UINT, RC(port), 1, 65535, NULL, NULL },
        { "transport", KT_ENUM, RC(transport), 0, 0, transport_names, NULL },
        { "account", KT_STRING, RC(account), 0, 0, NULL, check_account },
        { "receiver", KT_STRING, RC(receiver), 0, 0, NULL, check_prefix },
        { "line", KT_STRING, RC(line), 0, 0, NULL, check_prefix },
        { "format", KT_ENUM, RC(format), 0, 0, format_names, NULL },
        { "key_file", KT_STRING, RC(key_file), 0, 0, NULL, check_file },
        { "insecure", KT_BOOL, RC(insecure), 0, 0, NULL, check_spelled_out },
        { "supervision", KT_DURATION, RC(supervision), DUR(0, USEC_PER_DAY), NULL, NULL },
        { "timeout", KT_DURATION, RC(timeout), DUR(100 * USEC_PER_MSEC, 5 * USEC_PER_MIN), NULL, NULL },
        { "fallback", KT_STRING, RC(fallback), 0, 0, NULL, check_id },
        { "test_interval", KT_DURATION, RC(test_interval), DUR(0, 7 * USEC_PER_DAY), NULL, NULL },
        { "sos", KT_ENUM, RC(sos), 0, 0, sos_names, NULL },
        { NULL, 0, 0, 0, 0, NULL, NULL },
};

#define RD(f) offsetof(struct rule_params, f)

/* [rule X] keys: rule name, then the key as for any section. */
static const struct rule_key {
        const char *rule;
        struct key_desc k;
} rule_keys[] = {
        { "fall", { "window", KT_DURATION, RD(fall_window), DUR(5 * USEC_PER_SEC, 5 * USEC_PER_MIN), NULL, NULL } },
        { "inactivity", { "enabled", KT_BOOL, RD(inactivity), 0, 0, NULL, NULL } },
        { "inactivity", { "day_start", KT_TIME, RD(day_start), 0, 0, NULL, NULL } },
        { "inactivity", { "day_end", KT_TIME, RD(day_end), 0, 0, NULL, NULL } },
        { "inactivity", { "day_limit", KT_DURATION, RD(day_limit), DUR(10 * USEC_PER_MIN, 24 * USEC_PER_HOUR), NULL, NULL } },
        { "inactivity", { "night_limit", KT_DURATION, RD(night_limit), DUR(10 * USEC_PER_MIN, 48 * USEC_PER_HOUR), NULL, NULL } },
        { "morning_check", { "enabled", KT_BOOL, RD(morning_check), 0, 0, NULL, NULL } },
        { "morning_check", { "from", KT_TIME, RD(morning_from), 0, 0, NULL, NULL } },
        { "morning_check", { "by", KT_TIME, RD(morning_by), 0, 0, NULL, NULL } },
        { "presence", { "away_after", KT_DURATION, RD(away_after), DUR(USEC_PER_MIN, 2 * USEC_PER_HOUR), NULL, NULL } },
        { "night_exit", { "enabled", KT_BOOL, RD(night_exit), 0, 0, NULL, NULL } },
        { "night_exit", { "start", KT_TIME, RD(night_start), 0, 0, NULL, NULL } },
        { "night_exit", { "end", KT_TIME, RD(night_end), 0, 0, NULL, NULL } },
        { "night_exit", { "return_within", KT_DURATION, RD(night_return), DUR(USEC_PER_MIN, 2 * USEC_PER_HOUR), NULL, NULL } },
        { "door_open", { "enabled", KT_BOOL, RD(door_open), 0, 0, NULL, NULL } },
        { "door_open", { "limit", KT_DURATION, RD(door_open_limit), DUR(USEC_PER_MIN, 24 * USEC_PER_HOUR), NULL, NULL } },
        { "bathroom_dwell", { "enabled", KT_BOOL, RD(bathroom), 0, 0, NULL, NULL } },
        { "bathroom_dwell", { "limit", KT_DURATION, RD(bathroom_limit), DUR(5 * USEC_PER_MIN, 6 * USEC_PER_HOUR), NULL, NULL } },
        { "vitals", { "enabled", KT_BOOL, RD(vitals), 0, 0, NULL, NULL } },
        { "vitals", { "heart_rate_low", KT_UINT, RD(hr_low), 20, 100, NULL, NULL } },
        { "vitals", { "heart_rate_high", KT_UINT, RD(hr_high), 80, 250, NULL, NULL } },
        { "vitals", { "sustain", KT_DURATION, RD(vitals_sustain), DUR(10 * USEC_PER_SEC, USEC_PER_HOUR), NULL, NULL } },
        { "device_health", { "offline_after", KT_UINT, RD(offline_after), 2, 100, NULL, NULL } },
        { "device_health", { "battery_low", KT_UINT, RD(battery_low), 1, 50, NULL, NULL } },
        { "device_health", { "not_worn", KT_DURATION, RD(not_worn), DUR(10 * USEC_PER_MIN, 24 * USEC_PER_HOUR), NULL, NULL } },
        { "power", { "delay", KT_DURATION, RD(power_delay), DUR(0, USEC_PER_HOUR), NULL, NULL } },
        { "bed_exit", { "enabled", KT_BOOL, RD(bed_exit), 0, 0, NULL, NULL } },
        { "bed_exit", { "start", KT_TIME, RD(bed_start), 0, 0, NULL, NULL } },
        { "bed_exit", { "end", KT_TIME, RD(bed_end), 0, 0, NULL, NULL } },
        { "bed_exit", { "return_within", KT_DURATION, RD(bed_return), DUR(USEC_PER_MIN, 2 * USEC_PER_HOUR), NULL, NULL } },
        { "geofence", { "enabled", KT_BOOL, RD(geofence), 0, 0, NULL, NULL } },
        { "geofence", { "center", KT_POINT, RD(geo_center), 0, 0, NULL, NULL } },
        { "geofence", { "radius", KT_UINT, RD(geo_radius), 20, 100000, NULL, NULL } },
        { "geofence", { "hours", KT_HOURS, RD(geo_hours), 0, 0, NULL, NULL } },
        { "geofence", { "grace", KT_DURATION, RD(geo_grace), DUR(0, 12 * USEC_PER_HOUR), NULL, NULL } },
        { "geofence", { "min_accuracy", KT_UINT, RD(geo_min_accuracy), 0, 100000, NULL, NULL } },
        { "geofence", { "stale_after", KT_DURATION, RD(geo_stale_after), DUR(USEC_PER_MIN, 12 * USEC_PER_HOUR), NULL, NULL } },
};

#define N_RULE_KEYS ELEMENTSOF(rule_keys)

static const char *const target_names[] = { "volunteer", "grid", "maintenance", "dispatch", "receiver", NULL };
/* enum closer, bit by bit */
static const char *const closer_names[] = { "volunteer", "grid", "maintenance", "operator", "onsite", "anyone", NULL };
static const char *const severity_names[] = { "warning", "urgent", "critical", NULL };

/* "volunteer 0s, grid 60s, dispatch 180s, receiver:arc 180s": steps in
 * order of time. With cfg, a receiver's name must be one of its
 * [receiver NAME] sections; without (while parsing: the section may come
 * later), any well-formed name is fine. */
static const char *parse_ladder(const char *v, struct escalation_conf *e, const struct config *cfg,
                                char *buf, size_t n) {
        const char *p = v;

        e->n_steps = 0;
        while (*p) {
                char step[64], who[32], when[32], extra[2];
                size_t l = strcspn(p, ",");
                int t = -1;
                uint64_t after;

                snprintf(step, sizeof step, "%.*s", (int) (l < 63 ? l : 63), p);
                p += l + (p[l] == ',');
                if (sscanf(step, " %31s %31s %1s", who, when, extra) != 2) {
                        snprintf(buf, n, "step \"%s\": expected ROLE DELAY (e.g. \"grid 60s\")", step);
                        return buf;
                }
                e->steps[e->n_steps < LADDER_MAX ? e->n_steps : 0].receiver = 0;
                for (int i = 0; i < TARGET_RECEIVER; i++)
                        if (strcmp(who, target_names[i]) == 0)
                                t = i;
                if (strncmp(who, "receiver:", 9) == 0 && valid_id(who + 9)) {
                        int ri = cfg ? config_find_receiver(cfg, who + 9) : 0;
                        if (ri < 0) {
                                snprintf(buf, n, "\"%s\": there is no [receiver %s]", who, who + 9);
                                return buf;
                        }
                        t = TARGET_RECEIVER;
                        if (e->n_steps < LADDER_MAX)
                                e->steps[e->n_steps].receiver = (unsigned) ri;
                }
                if (t < 0) {
                        snprintf(buf, n, "\"%s\" is not one of volunteer, grid, maintenance, dispatch, "
                                 "receiver:NAME", who);
                        return buf;
                }
                if (parse_duration(when, &after) < 0 || after > USEC_PER_DAY) {
                        snprintf(buf, n, "\"%s\" is not a delay from 0s to 1d (with a unit)", when);
                        return buf;
                }
                if (e->n_steps >= LADDER_MAX) {
                        snprintf(buf, n, "has more than %d steps", LADDER_MAX);
                        return buf;
                }
                if (e->n_steps > 0 && after < e->steps[e->n_steps - 1].after) {
                        snprintf(buf, n, "steps must be in order of time (\"%s\" comes before an earlier step)", step);
                        return buf;
                }
                e->steps[e->n_steps].target = (enum ladder_target) t;
                e->steps[e->n_steps++].after = after;
        }
        if (e->n_steps == 0)
                return "must name at least one step";
        return NULL;
}

static const char *check_ladder(const char *v, char *buf, size_t n) {
        struct escalation_conf e;

        return parse_ladder(v, &e, NULL, buf, n);
}

#define ED(f) offsetof(struct escalation_conf, f)

static const struct key_desc escalation_keys[] = {
        { "ladder", KT_STRING, ED(ladder), 0, 0, NULL, check_ladder },
        { "repeat", KT_DURATION, ED(repeat), DUR(0, USEC_PER_DAY), NULL, NULL },
        { "onsite_within", KT_DURATION, ED(onsite_within), DUR(0, USEC_PER_DAY), NULL, NULL },
        { "per_device", KT_DURATION, ED(per_device), DUR(0, 7 * USEC_PER_DAY), NULL, NULL },
        { "false_alarm_by", KT_CLOSERS, ED(false_alarm_by), 0, 0, closer_names, NULL },
        { NULL, 0, 0, 0, 0, NULL, NULL },
};

static void escalation_defaults(struct config *c) {
        char buf[128];

        for (int s = 0; s < _SEVERITY_MAX; s++) {
                struct escalation_conf *e = &c->escalation[s];
                e->ladder = strdup(policy_ladder((enum severity) s));
                (void) parse_ladder(e->ladder, e, NULL, buf, sizeof buf);
                policy_escalation((enum severity) s, e);
        }
}

static const char *const rule_names[] = { "fall", "inactivity", "morning_check", "presence",
                                          "night_exit", "door_open", "bathroom_dwell", "vitals",
                                          "device_health", "power", "bed_exit", "geofence", NULL };

/* Per-file parse state; the reader sees every physical line, so it knows
 * line numbers and section headers (inih r55 reports neither to handlers). */
struct parser {
        struct config *cfg;
        const char *file;
        config_error_fn on_error;
        void *userdata;
        unsigned n_errors;
        /* input */
        FILE *f;
        const char *text;               /* for config_load_string */
        unsigned line;
        /* current section */
        enum section_type sec;
        char sec_name[128];
        void *sec_base;
        char seen[64][48];              /* keys seen in this section in this file */
        size_t n_seen;
        unsigned syntax_errors;         /* reported by reader() */
        unsigned header_line[SEC_UNKNOWN + 1];  /* first [hub]/[resident]/... of the main file */
        /* [rule X]: values set by keys, applied over the profile at the end */
        const char *rule;               /* current rule name (from rule_names) */
        struct rule_params rule_over;
        bool rule_set[N_RULE_KEYS];
        unsigned rule_line[N_RULE_KEYS];
        char *rule_file[N_RULE_KEYS];
        struct strmap *sensor_ids;      /* id → index: a linear search made start-up quadratic */
};

static void perr(struct parser *p, unsigned line, const char *key, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

static void perr(struct parser *p, unsigned line, const char *key, const char *fmt, ...) {
        char what[512], msg[1400];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(what, sizeof what, fmt, ap);
        va_end(ap);
        char where[600];

        if (line > 0)
                snprintf(where, sizeof where, "%s:%u:", p->file, line);
        else
                snprintf(where, sizeof where, "%s:", p->file);
        if (p->sec != SEC_NONE && key)
                snprintf(msg, sizeof msg, "%s [%s] %s: %s", where, p->sec_name, key, what);
        else if (p->sec != SEC_NONE)
                snprintf(msg, sizeof msg, "%s [%s] %s", where, p->sec_name, what);
        else
                snprintf(msg, sizeof msg, "%s %s", where, what);
        p->n_errors++;
        if (p->on_error)
                p->on_error(msg, p->userdata);
}

static char *names_list(const char *const *names, char *buf, size_t n) {
        size_t l = 0;

        buf[0] = '\0';
        for (size_t i = 0; names[i] && l < n; i++)
                l += (size_t) snprintf(buf + l, n - l, "%s%s", i ? ", " : "", names[i]);
        return buf;
}

static bool valid_id(const char *s) {
        if (!*s)
                return false;
        for (; *s; s++)
                if (!isalnum((unsigned char) *s) && !strchr("_-.", *s))
                        return false;
        return true;
}

static void sensor_init(struct sensor_conf *s, const char *id, const char *file, unsigned line) {
        memset(s, 0, sizeof *s);
        s->id = strdup(id);
        s->kind = _SENSOR_KIND_INVALID;
        s->role = BUTTON_SOS;
        s->gpio_line = -1;
        s->bias = BIAS_AS_IS;
        s->debounce = 30 * USEC_PER_MSEC;
        s->supervision = 0;             /* set by kind in validation */
        s->invert = false;
        s->file = strdup(file);
        s->line = line;
}

static void contact_init(struct contact_conf *c, const char *id, const char *file, unsigned line) {
        memset(c, 0, sizeof *c);
        c->id = strdup(id);
        c->role = _ROLE_INVALID;
        c->template = TEMPLATE_JSON;
        c->order = 100;
        c->file = strdup(file);
        c->line = line;
}

/* A "[type id]" header opens a new sensor or contact; ids are unique
 * across all files. */
static void *open_instance(struct parser *p, enum section_type t, const char *id) {
        struct config *c = p->cfg;

        if (!valid_id(id)) {
                perr(p, p->line, NULL, "id \"%s\" must be letters, digits, '_', '-' or '.'", id);
                return NULL;
        }
        if (t == SEC_SENSOR) {
                uint32_t found;
                int i = -1;
                struct sensor_conf *n;

                if (!p->sensor_ids && !(p->sensor_ids = strmap_new(64)))
                        return NULL;
                if (strmap_get(p->sensor_ids, id, strlen(id), &found))
                        i = (int) found;

                if (i >= 0) {
                        perr(p, p->line, NULL, "duplicate sensor id \"%s\" (first declared at %s:%u)",
                             id, c->sensors[i].file, c->sensors[i].line);
                        return NULL;
                }
                n = realloc(c->sensors, (c->n_sensors + 1) * sizeof *n);
                if (!n)
                        return NULL;
                c->sensors = n;
                sensor_init(&n[c->n_sensors], id, p->file, p->line);
                if (!n[c->n_sensors].id || strmap_put(p->sensor_ids, n[c->n_sensors].id, (uint32_t) c->n_sensors) < 0)
                        return NULL;
                return &n[c->n_sensors++];
        }
        for (size_t i = 0; i < c->n_contacts; i++)
                if (strcmp(c->contacts[i].id, id) == 0) {
                        perr(p, p->line, NULL, "duplicate contact id \"%s\" (first declared at %s:%u)",
                             id, c->contacts[i].file, c->contacts[i].line);
                        return NULL;
                }
        struct contact_conf *n = realloc(c->contacts, (c->n_contacts + 1) * sizeof *n);
        if (!n)
                return NULL;
        c->contacts = n;
        contact_init(&n[c->n_contacts], id, p->file, p->line);
        return &n[c->n_contacts++];
}

/* A "[receiver NAME]" header opens a new DC-09 receiver; names are unique. */
static void *open_receiver(struct parser *p, const char *id) {
        struct config *c = p->cfg;
        struct receiver_conf *n;

        if (!valid_id(id)) {
                perr(p, p->line, NULL, "id \"%s\" must be letters, digits, '_', '-' or '.'", id);
                return NULL;
        }
        for (size_t i = 0; i < c->n_receivers; i++)
                if (strcmp(c->receivers[i].id, id) == 0) {
                        perr(p, p->line, NULL, "duplicate receiver \"%s\" (first declared at %s:%u)", id,
                             c->receivers[i].file, c->receivers[i].line_no);
                        return NULL;
                }
        n = realloc(c->receivers, (c->n_receivers + 1) * sizeof *n);
        if (!n)
                return NULL;
        c->receivers = n;
        n += c->n_receivers;
        *n = (struct receiver_conf) {
                .id = strdup(id), .protocol = -1, .transport = RECEIVER_TCP, .format = DC09_FORMAT_CID,
                .supervision = 90 * USEC_PER_SEC, .timeout = 10 * USEC_PER_SEC, .test_interval = 24 * USEC_PER_HOUR,
                .fallback_index = -1, .file = strdup(p->file), .line_no = p->line,
        };
        c->n_receivers++;
        return n;
}

static void begin_section(struct parser *p, const char *name) {
        static const struct {
                const char *name;
                enum section_type type;
        } singles[] = {
                { "hub", SEC_HUB }, { "resident", SEC_RESIDENT },
                { "mqtt", SEC_MQTT }, { "dispatch", SEC_DISPATCH },
        };
        const char *sp = strchr(name, ' ');

        snprintf(p->sec_name, sizeof p->sec_name, "%s", name);
        p->n_seen = 0;
        p->sec_base = NULL;
        for (size_t i = 0; i < ELEMENTSOF(singles); i++)
                if (strcmp(name, singles[i].name) == 0) {
                        p->sec = singles[i].type;
                        p->sec_base = p->cfg;
                        if (!p->header_line[p->sec] && strcmp(p->file, p->cfg->path) == 0)
                                p->header_line[p->sec] = p->line;
                        return;
                }
        if (sp && (strncmp(name, "sensor ", 7) == 0 || strncmp(name, "contact ", 8) == 0)) {
                const char *id = sp + 1;
                while (*id == ' ')
                        id++;
                p->sec = SEC_NONE;      /* a duplicate-id message has no section prefix */
                p->sec_base = open_instance(p, name[0] == 's' ? SEC_SENSOR : SEC_CONTACT, id);
                p->sec = name[0] == 's' ? SEC_SENSOR : SEC_CONTACT;
                if (!p->sec_base)
                        p->sec = SEC_UNKNOWN;
                return;
        }
        if (sp && strncmp(name, "receiver ", 9) == 0) {
                const char *id = sp + 1;
                while (*id == ' ')
                        id++;
                p->sec = SEC_NONE;      /* a duplicate-id message has no section prefix */
                p->sec_base = open_receiver(p, id);
                p->sec = p->sec_base ? SEC_RECEIVER : SEC_UNKNOWN;
                return;
        }
        if (sp && strncmp(name, "escalation ", 11) == 0) {
                const char *sev = sp + 1;
                char buf[128];
                while (*sev == ' ')
                        sev++;
                for (int i = 0; severity_names[i]; i++)
                        if (strcmp(sev, severity_names[i]) == 0) {
                                p->sec = SEC_ESCALATION;
                                p->sec_base = &p->cfg->escalation[i];
                                return;
                        }
                p->sec = SEC_NONE;
                perr(p, p->line, NULL, "unknown severity \"%s\": expected [escalation %s]", sev,
                     names_list(severity_names, buf, sizeof buf));
                p->sec = SEC_UNKNOWN;
                return;
        }
        if (sp && strncmp(name, "rule ", 5) == 0) {
                const char *rule = sp + 1;
                char buf[256];
                while (*rule == ' ')
                        rule++;
                for (size_t i = 0; rule_names[i]; i++)
                        if (strcmp(rule, rule_names[i]) == 0) {
                                p->sec = SEC_RULE;
                                p->rule = rule_names[i];
                                p->sec_base = &p->rule_over;
                                return;
                        }
                p->sec = SEC_NONE;
                if (strcmp(rule, "fire") == 0 || strcmp(rule, "sos") == 0)
                        perr(p, p->line, NULL, "[rule %s] has no settings: it always raises at once", rule);
                else
                        perr(p, p->line, NULL, "unknown rule \"%s\": expected one of %s", rule,
                             names_list(rule_names, buf, sizeof buf));
                p->sec = SEC_UNKNOWN;
                return;
        }
        p->sec = SEC_NONE;      /* so the message has no [section] prefix twice */
        perr(p, p->line, NULL, "unknown section [%s]: expected [hub], [resident], [mqtt], "
             "[dispatch], [sensor ID], [contact ID], [rule NAME], [escalation SEVERITY] or [receiver NAME]", name);
        p->sec = SEC_UNKNOWN;
}

/* inih reader: one physical line per call; counts lines, spots headers. */
static char *reader(char *buf, int size, void *stream) {
        struct parser *p = stream;
        char line[4096];
        size_t len;
        char *s, *e;
        bool nul = false;

        if (p->f) {
                /* One physical line, however long. Not fgets(): it reads on
                 * past a NUL byte, which then ends the line for strlen(),
                 * and the rest of the line was taken for the next one. */
                size_t n = 0;
                int ch;

                while ((ch = getc(p->f)) != EOF) {
                        if (ch == '\0')
                                nul = true;
                        else if (n < sizeof line - 1)
                                line[n++] = (char) ch;
                        if (ch == '\n')
                                break;
                }
                if (n == 0 && !nul)
                        return NULL;
                line[n] = '\0';
        } else {
                const char *nl;
                if (!*p->text)
                        return NULL;
                nl = strchr(p->text, '\n');
                size_t full = nl ? (size_t) (nl - p->text + 1) : strlen(p->text);
                len = full < sizeof line ? full : sizeof line - 1;
                memcpy(line, p->text, len);
                line[len] = '\0';
                p->text += full;        /* one physical line, however long */
        }
        p->line++;
        len = strlen(line);
        if (nul) {
                perr(p, p->line, NULL, "line contains a NUL byte (save the file as UTF-8 text)");
                buf[0] = '\n';
                buf[1] = '\0';
                return buf;
        }
        if (len >= (size_t) size - 1 && !(len == (size_t) size - 1 && line[len - 1] == '\n')) {
                perr(p, p->line, NULL, "line is longer than %d characters", size - 2);
                buf[0] = '\n';
                buf[1] = '\0';
                return buf;
        }
        s = line;
        while (isspace((unsigned char) *s))
                s++;
        if (*s == '[' && (e = strchr(s, ']'))) {
                *e = '\0';
                begin_section(p, s + 1);
                *e = ']';
        } else if (*s && !strchr(";#", *s) && (s == line || *s == '[') && !strpbrk(s, "=:")) {
                /* inih reports only the first bad line; report each here. */
                enum section_type keep = p->sec;
                p->sec = SEC_NONE;
                perr(p, p->line, NULL, "syntax error: expected \"[section]\", \"key = value\" or a comment");
                p->sec = keep;
                p->syntax_errors++;
        }
        memcpy(buf, line, len + 1);
        return buf;
}

/* Every string may end up in a JSON call; jansson refuses invalid UTF-8,
 * and a refused body would be a lost alarm. */
static bool utf8_valid(const char *s) {
        const unsigned char *u = (const unsigned char *) s;

        while (*u) {
                int n = *u < 0x80 ? 0 : (*u & 0xe0) == 0xc0 ? 1 : (*u & 0xf0) == 0xe0 ? 2 : (*u & 0xf8) == 0xf0 ? 3 : -1;
                if (n < 0 || (n == 1 && *u < 0xc2))
                        return false;
                u++;
                for (int i = 0; i < n; i++, u++)
                        if ((*u & 0xc0) != 0x80)
                                return false;
        }
        return true;
}

/* Where a file key was set, for config_load_secrets()'s messages: the
 * section and instance, not a pointer (the contacts array still grows). */
struct secret_ref {
        char *file;
        unsigned line;
        enum section_type sec;
        size_t index;                   /* the contact's, for [contact X] */
        const struct key_desc *k;
        char section[128];
};

static void note_file(struct parser *p, const struct key_desc *k) {
        struct config *c = p->cfg;
        struct secret_ref *n = realloc(c->secret_refs, (c->n_secret_refs + 1) * sizeof *n);

        if (!n)
                return;
        c->secret_refs = n;
        n[c->n_secret_refs++] = (struct secret_ref) {
                .file = strdup(p->file), .line = p->line, .sec = p->sec, .k = k,
                .index = p->sec == SEC_CONTACT ? c->n_contacts - 1 : p->sec == SEC_RECEIVER ? c->n_receivers - 1 : 0,
        };
        snprintf(n[c->n_secret_refs - 1].section, sizeof n[0].section, "%s", p->sec_name);
}

/* "grid, operator, onsite": the roles that may close an incident as a
 * false alarm (enum closer bits, in the order of closer_names). */
static int parse_closers(struct parser *p, const struct key_desc *k, char *field, const char *v) {
        unsigned bits = 0;
        char buf[256], word[32];

        for (const char *q = v; *q;) {
                size_t l;
                int found = -1;

                q += strspn(q, ", \t");
                l = strcspn(q, ", \t");
                if (l == 0)
                        break;
                snprintf(word, sizeof word, "%.*s", (int) (l < 31 ? l : 31), q);
                for (int i = 0; k->names[i]; i++)
                        if (strcmp(k->names[i], word) == 0)
                                found = i;
                if (found < 0)
                        return perr(p, p->line, k->name, "\"%s\" is not one of %s", word,
                                    names_list(k->names, buf, sizeof buf)), -EINVAL;
                bits |= 1u << found;
                q += l;
        }
        if (bits == 0)
                return perr(p, p->line, k->name, "must name at least one of %s",
                            names_list(k->names, buf, sizeof buf)), -EINVAL;
        *(unsigned *) field = bits;
        return 0;
}

static int set_value(struct parser *p, const struct key_desc *k, void *base, const char *v) {
        char *field = (char *) base + k->offset;
        const char *why_spelled;
        char buf[256];
        long long n;
        uint64_t u;
        unsigned m;
        bool b;

        switch (k->type) {
        case KT_STRING: {
                size_t l = strlen(v);
                char **dst = (char **) field;
                const char *why;
                if (l >= 2 && v[0] == '"' && v[l - 1] == '"')
                        v++, l -= 2;
                free(*dst);
                *dst = strndup(v, l);
                if (*dst && !utf8_valid(*dst))
                        return perr(p, p->line, k->name, "is not valid UTF-8 (save the file as UTF-8)"), -EINVAL;
                if (*dst && k->check && (why = k->check(*dst, buf, sizeof buf)))
                        return perr(p, p->line, k->name, "\"%s\" %s", *dst, why), -EINVAL;
                if (k->check == check_file)
                        note_file(p, k);
                return 0;
        }
        case KT_BOOL:
                if (parse_bool(v, &b) < 0)
                        return perr(p, p->line, k->name, "\"%s\" is not a boolean (true or false)", v), -EINVAL;
                /* Turning TLS verification off must be spelled out: not
                 * "yes", "1" or "on" by habit (issue 6). */
                if (b && k->check == check_spelled_out && (why_spelled = k->check(v, buf, sizeof buf)))
                        return perr(p, p->line, k->name, "\"%s\" %s", v, why_spelled), -EINVAL;
                *(bool *) field = b;
                return 0;
        case KT_UINT:
                if (parse_int_range(v, k->min, k->max, &n) < 0)
                        return perr(p, p->line, k->name, "\"%s\" is not a whole number from %lld to %lld",
                                    v, k->min, k->max), -EINVAL;
                *(int *) field = (int) n;      /* int and unsigned fields alike: max ≤ INT_MAX */
                return 0;
        case KT_DURATION: {
                char lo[32], hi[32];
                int r = parse_duration(v, &u);
                if (r < 0 || u < (uint64_t) k->min || u > (uint64_t) k->max)
                        return perr(p, p->line, k->name, "\"%s\" is not a duration from %s to %s "
                                    "(with a unit: ms, s, m, h, d)", v,
                                    format_duration(lo, sizeof lo, (uint64_t) k->min),
                                    format_duration(hi, sizeof hi, (uint64_t) k->max)), -EINVAL;
                *(uint64_t *) field = u;
                return 0;
        }
        case KT_TIME:
                if (parse_time_of_day(v, &m) < 0)
                        return perr(p, p->line, k->name, "\"%s\" is not a time of day HH:MM", v), -EINVAL;
                *(unsigned *) field = m;
                return 0;
        case KT_ENUM:
                for (int i = 0; k->names[i]; i++)
                        if (strcmp(k->names[i], v) == 0) {
                                *(int *) field = i;
                                return 0;
                        }
                return perr(p, p->line, k->name, "\"%s\" is not one of %s", v,
                            names_list(k->names, buf, sizeof buf)), -EINVAL;
        case KT_SIZE:
                if (parse_size(v, &u) < 0 || u < (uint64_t) k->min || u > (uint64_t) k->max)
                        return perr(p, p->line, k->name, "\"%s\" is not a size from %lld to %lld bytes "
                                    "(a number, optionally with K, M or G)", v, k->min, k->max), -EINVAL;
                if (k->max > UINT32_MAX)
                        *(uint64_t *) field = u;
                else
                        *(unsigned *) field = (unsigned) u;
                return 0;
        case KT_CLOSERS:
                return parse_closers(p, k, field, v);
        case KT_POINT: {
                const char *why;
                if (geo_parse_point(v, (struct geo_point *) field, &why) < 0)
                        return perr(p, p->line, k->name, "\"%s\": %s", v, why), -EINVAL;
                return 0;
        }
        case KT_HOURS: {
                const char *why;
                if (geo_parse_hours(v, (struct geo_hours *) field, &why) < 0)
                        return perr(p, p->line, k->name, "\"%s\": %s", v, why), -EINVAL;
                return 0;
        }
        }
        return -EINVAL;
}

/* "key_<attribute> = dotted.path" chooses where a sensor's value is read. */
static int set_sensor_key(struct parser *p, struct sensor_conf *s, const char *name, const char *v) {
        enum event_attr a;

        if (strcmp(name, "key") == 0) {
                if (s->kind < 0)
                        return perr(p, p->line, name, "set \"kind\" before \"key\""), -EINVAL;
                a = vocab_main_attr(s->kind);
                if (a < 0)
                        return perr(p, p->line, name, "a %s sensor has no single value; use key_<attribute>",
                                    sensor_kind_to_string(s->kind)), -EINVAL;
        } else {
                a = event_attr_from_string(name + 4);
                if (a < 0 || a == ATTR_ONLINE)
                        return perr(p, p->line, name, "unknown attribute \"%s\"", name + 4), -EINVAL;
        }
        if (!*v || strlen(v) > 200)
                return perr(p, p->line, name, "expected a JSON key or dotted path"), -EINVAL;
        free(s->keys[a]);
        s->keys[a] = strdup(v);
        return 0;
}

static void set_rule_key(struct parser *p, const char *name, const char *value) {
        char buf[256];
        size_t l = 0;

        for (size_t i = 0; i < N_RULE_KEYS; i++)
                if (rule_keys[i].rule == p->rule && strcmp(rule_keys[i].k.name, name) == 0) {
                        if (set_value(p, &rule_keys[i].k, &p->rule_over, value) == 0) {
                                p->rule_set[i] = true;
                                p->rule_line[i] = p->line;
                                free(p->rule_file[i]);
                                p->rule_file[i] = strdup(p->file);
                        }
                        return;
                }
        buf[0] = '\0';
        for (size_t i = 0; i < N_RULE_KEYS && l < sizeof buf; i++)
                if (rule_keys[i].rule == p->rule)
                        l += (size_t) snprintf(buf + l, sizeof buf - l, "%s%s", l ? ", " : "",
                                               rule_keys[i].k.name);
        perr(p, p->line, name, "unknown key: [rule %s] has %s", p->rule, buf);
}

static const struct key_desc *table_for(enum section_type t) {
        switch (t) {
        case SEC_HUB: return hub_keys;
        case SEC_RESIDENT: return resident_keys;
        case SEC_MQTT: return mqtt_keys;
        case SEC_DISPATCH: return dispatch_keys;
        case SEC_SENSOR: return sensor_keys;
        case SEC_CONTACT: return contact_keys;
        case SEC_ESCALATION: return escalation_keys;
        case SEC_RECEIVER: return receiver_keys;
        default: return NULL;
        }
}

static int handler(void *user, const char *section, const char *name, const char *value) {
        struct parser *p = user;
        const struct key_desc *t = table_for(p->sec);

        (void) section;
        if (p->sec == SEC_NONE) {
                perr(p, p->line, NULL, "\"%s\" outside of any section", name);
                return 1;
        }
        if (!t && p->sec != SEC_RULE)
                return 1;       /* unknown section, reported at its header */
        for (size_t i = 0; i < p->n_seen; i++)
                if (strcmp(p->seen[i], name) == 0) {
                        perr(p, p->line, name, "set twice in this section");
                        return 1;
                }
        if (p->n_seen < ELEMENTSOF(p->seen))
                snprintf(p->seen[p->n_seen++], sizeof p->seen[0], "%s", name);
        if (p->sec == SEC_RULE) {
                set_rule_key(p, name, value);
                return 1;
        }
        if (p->sec == SEC_SENSOR && (strcmp(name, "key") == 0 || strncmp(name, "key_", 4) == 0)) {
                (void) set_sensor_key(p, p->sec_base, name, value);
                return 1;
        }
        for (size_t i = 0; t[i].name; i++)
                if (strcmp(t[i].name, name) == 0) {
                        (void) set_value(p, &t[i], p->sec_base, value);
                        return 1;
                }
        perr(p, p->line, name, "unknown key");
        return 1;
}

static void parse_one(struct parser *p) {
        int r;

        p->line = 0;
        p->syntax_errors = 0;
        p->sec = SEC_NONE;
        p->sec_name[0] = '\0';
        r = ini_parse_stream(reader, p, handler, p);
        if (r > 0 && p->syntax_errors == 0) {
                p->sec = SEC_NONE;
                perr(p, (unsigned) r, NULL, "syntax error: expected \"[section]\", \"key = value\" or a comment");
        }
}

static void escalation_defaults(struct config *c);

static void set_defaults(struct config *c) {
        escalation_defaults(c);
        c->hub.language = LANG_ZH_CN;
        c->hub.gpio_supervision = 30 * USEC_PER_SEC;
        c->hub.history_retention = 90 * USEC_PER_DAY;
        c->hub.location_retention = 7 * USEC_PER_DAY;
        c->hub.map = GEO_MAP_AMAP;
        c->hub.ctl_idle_timeout = 60 * USEC_PER_SEC;
        c->hub.history_max = 256 * 1024 * 1024;
        c->mqtt.max_packet = 65536;
        c->hub.database = strdup("/var/lib/anju/anju.db");
        c->hub.ctl_socket = strdup("/run/anju/ctl.sock");
        c->resident.risk = RISK_STANDARD;
        c->mqtt.host = strdup("127.0.0.1");
        c->mqtt.port = 1883;
        c->mqtt.keepalive = 60 * USEC_PER_SEC;
        c->mqtt.reconnect_min = 500 * USEC_PER_MSEC;
        c->mqtt.reconnect_max = 60 * USEC_PER_SEC;
        c->dispatch.heartbeat_interval = 90 * USEC_PER_SEC;
        c->dispatch.timeout = 10 * USEC_PER_SEC;
        c->dispatch.retry_min = 1 * USEC_PER_SEC;
        c->dispatch.retry_max = 60 * USEC_PER_SEC;
        c->dispatch.fallback_after = 3;
}

/* Credentials by name become full paths for the modules that open them. */
static void resolve_path(char **field, const char *file) {
        char buf[4096];
        const char *r;

        if (!*field || (r = secret_path(*field, file, buf, sizeof buf)) == *field)
                return;
        free(*field);
        *field = strdup(r);
}

static void validate_top(struct parser *p) {
        struct config *c = p->cfg;

        resolve_path(&c->mqtt.password_file, c->path);
        resolve_path(&c->mqtt.tls_ca_file, c->path);
        resolve_path(&c->mqtt.tls_cert_file, c->path);
        resolve_path(&c->mqtt.tls_key_file, c->path);
        resolve_path(&c->dispatch.ca_file, c->path);
        p->sec = SEC_HUB;
        snprintf(p->sec_name, sizeof p->sec_name, "hub");
        if (!c->hub.id)
                perr(p, p->header_line[p->sec], "id", "missing: the hub needs an id (used in MQTT topics)");
        p->sec = SEC_RESIDENT;
        snprintf(p->sec_name, sizeof p->sec_name, "resident");
        if (!c->resident.name)
                perr(p, p->header_line[p->sec], "name", "missing: the dispatch center must know who lives here");
        if (!c->resident.address)
                perr(p, p->header_line[p->sec], "address", "missing: the dispatch center must know where to go");
        p->sec = SEC_MQTT;
        snprintf(p->sec_name, sizeof p->sec_name, "mqtt");
        if (c->mqtt.reconnect_min > c->mqtt.reconnect_max)
                perr(p, p->header_line[p->sec], "reconnect_min", "must not be longer than reconnect_max");
        if (c->mqtt.password_file && !c->mqtt.username)
                perr(p, p->header_line[p->sec], "password_file", "needs username");
        if (!!c->mqtt.tls_cert_file != !!c->mqtt.tls_key_file)
                perr(p, p->header_line[p->sec], "tls_cert_file", "tls_cert_file and tls_key_file go together");
        if (c->mqtt.tls_cert_file && !c->mqtt.tls_ca_file)
                perr(p, p->header_line[p->sec], "tls_cert_file", "needs tls_ca_file: TLS is on only with a CA to "
                     "verify the broker");
        p->sec = SEC_DISPATCH;
        snprintf(p->sec_name, sizeof p->sec_name, "dispatch");
        if (!c->dispatch.url)
                perr(p, p->header_line[p->sec], "url", "missing: where emergency calls go");
        if (c->dispatch.retry_min > c->dispatch.retry_max)
                perr(p, p->header_line[p->sec], "retry_min", "must not be longer than retry_max");
}

static void validate_sensor(struct parser *p, struct sensor_conf *s) {
        bool gpio = s->gpio_chip || s->gpio_line >= 0;

        p->sec = SEC_SENSOR;
        snprintf(p->sec_name, sizeof p->sec_name, "sensor %s", s->id);
        p->file = s->file;
        if (s->kind < 0) {
                perr(p, s->line, "kind", "missing: expected one of %s",
                     "smoke, motion, door, wristband, button, power, water, siren, relay, presence, fall, bed");
                return;
        }
        if (!s->topic && !gpio)
                perr(p, s->line, NULL, "has no source: set topic (MQTT) or gpio_chip and gpio_line");
        else if (s->topic && gpio)
                perr(p, s->line, NULL, "has two sources: set either topic or gpio_chip/gpio_line");
        else if (gpio && !s->gpio_chip)
                perr(p, s->line, "gpio_chip", "missing: gpio_line needs the chip it is on (e.g. gpiochip0)");
        else if (gpio && s->gpio_line < 0)
                perr(p, s->line, "gpio_line", "missing: gpio_chip needs the line offset on it (e.g. 17)");
        else if (gpio && s->kind == SENSOR_WRISTBAND)
                perr(p, s->line, "gpio_chip", "a wristband reports over MQTT: set topic");
        if (s->kind == SENSOR_SIREN && !gpio)
                perr(p, s->line, "kind", "siren is an output and needs gpio_chip and gpio_line "
                     "(an MQTT siren or speaker listens to anju/<hub>/prompt and alert instead)");
        if (s->topic && !s->availability_topic && asprintf(&s->availability_topic, "%s/availability", s->topic) < 0)
                s->availability_topic = NULL;
        /* Zigbee2MQTT's base topic is the first level of its devices'
         * topics unless it has a '/' of its own: then "bridge" says it. */
        if (s->topic && !s->bridge)
                s->bridge = strndup(s->topic, strcspn(s->topic, "/"));
        for (int a = 0; a < _ATTR_MAX; a++)
                if (!s->keys[a] && vocab_default_key(s->kind, a))
                        s->keys[a] = strdup(vocab_default_key(s->kind, a));
        if (!s->sos_actions)
                s->sos_actions = strdup(policy_sos_actions());
        if (!s->cancel_actions)
                s->cancel_actions = strdup(policy_cancel_actions());
        if (s->supervision == 0)
                s->supervision = policy_supervision(s->kind);
}

static void validate_contact(struct parser *p, struct contact_conf *k) {
        p->sec = SEC_CONTACT;
        snprintf(p->sec_name, sizeof p->sec_name, "contact %s", k->id);
        p->file = k->file;
        if (k->role < 0)
                perr(p, k->line, "role", "missing: expected one of volunteer, grid, maintenance");
        if (!k->topic && !k->webhook)
                perr(p, k->line, NULL, "has no channel: set topic or webhook");
}

static void validate_receiver(struct parser *p, struct receiver_conf *r) {
        p->sec = SEC_RECEIVER;
        snprintf(p->sec_name, sizeof p->sec_name, "receiver %s", r->id);
        p->file = r->file;
        if (r->protocol < 0)
                perr(p, r->line_no, "protocol", "missing: expected dc09");
        if (!r->host)
                perr(p, r->line_no, "host", "missing: where the alarm receiving centre listens");
        if (!r->port)
                perr(p, r->line_no, "port", "missing: the receiver's port");
        if (!r->account)
                perr(p, r->line_no, "account", "missing: the account (3 to 16 hex digits) the centre knows us by");
        if (r->host && !r->key_file && !r->insecure && !host_is_loopback(r->host))
                perr(p, r->line_no, "key_file", "missing: DC-09 without encryption to %s would send alarms in "
                     "clear text (set key_file, or insecure = true for a test rig)", r->host);
        if (r->supervision > 0 && r->supervision < 10 * USEC_PER_SEC)
                perr(p, r->line_no, "supervision", "must be 0 (off) or at least 10s");
        if (r->test_interval > 0 && r->test_interval < USEC_PER_MIN)
                perr(p, r->line_no, "test_interval", "must be 0 (off) or at least 1m");
        if (r->fallback) {
                r->fallback_index = config_find_receiver(p->cfg, r->fallback);
                if (r->fallback_index < 0)
                        perr(p, r->line_no, "fallback", "there is no [receiver %s]", r->fallback);
                else if ((size_t) r->fallback_index == (size_t) (r - p->cfg->receivers))
                        perr(p, r->line_no, "fallback", "must name another receiver");
        }
}

/* Zones are the sensors' numbers at the centre: set, else the order in the
 * files; two sensors on one zone would be one to the centre. Past the 999th
 * sensor there is no number left to give: that matters only to a [receiver]
 * (a hub without one may have 10,000 sensors, DESIGN.md §11). */
static void sensor_error(struct parser *p, const struct sensor_conf *s) {
        p->sec = SEC_SENSOR;
        snprintf(p->sec_name, sizeof p->sec_name, "sensor %s", s->id);
        p->file = s->file;
}

static void validate_zones(struct parser *p) {
        struct config *c = p->cfg;
        size_t owner[1000] = { 0 }; /* zone -> sensor index + 1 */

        for (size_t i = 0; i < c->n_sensors; i++)
                if (!c->sensors[i].zone)
                        c->sensors[i].zone = i + 1 <= 999 ? (unsigned) (i + 1) : 0;
        for (size_t i = 0; i < c->n_sensors; i++) {
                const struct sensor_conf *s = &c->sensors[i], *o;

                if (!s->zone) {
                        if (c->n_receivers) {
                                sensor_error(p, s);
                                perr(p, s->line, "zone", "a DC-09 receiver numbers sensors 1 to 999 and this "
                                     "is sensor %zu; set zone = N", i + 1);
                        }
                        continue;
                }
                if (!owner[s->zone]) {
                        owner[s->zone] = i + 1;
                        continue;
                }
                o = &c->sensors[owner[s->zone] - 1];
                sensor_error(p, s);
                perr(p, s->line, "zone", "zone %u is also sensor %s's (%s:%u); set zone = N on one of them",
                     s->zone, o->id, o->file, o->line);
        }
}

static size_t rule_key_index(const char *rule, const char *key) {
        for (size_t i = 0; i < N_RULE_KEYS; i++)
                if (strcmp(rule_keys[i].rule, rule) == 0 && strcmp(rule_keys[i].k.name, key) == 0)
                        return i;
        return 0;
}

/* A grace longer than the span of the hours would never raise. */
static bool geo_grace_fits(const struct rule_params *r) {
        unsigned span;

        if (r->geo_hours.always)
                return true;
        span = r->geo_hours.end_min > r->geo_hours.start_min ? r->geo_hours.end_min - r->geo_hours.start_min
                                                             : 24 * 60 - r->geo_hours.start_min + r->geo_hours.end_min;
        return r->geo_grace < span * USEC_PER_MIN;
}

static size_t key_size(enum key_type t) {
        switch (t) {
        case KT_DURATION: return sizeof(uint64_t);
        case KT_BOOL: return sizeof(bool);
        case KT_POINT: return sizeof(struct geo_point);
        case KT_HOURS: return sizeof(struct geo_hours);
        default: return sizeof(unsigned);
        }
}

/* The profile of the resident's risk tier, then every [rule X] key over it. */
static void validate_rules(struct parser *p) {
        struct rule_params *r = &p->cfg->rules;
        const char *file = p->file;

        policy_rule_params(p->cfg->resident.risk, r);
        for (size_t i = 0; i < N_RULE_KEYS; i++)
                if (p->rule_set[i])
                        memcpy((char *) r + rule_keys[i].k.offset,
                               (const char *) &p->rule_over + rule_keys[i].k.offset,
                               key_size(rule_keys[i].k.type));
        p->sec = SEC_RULE;
#define RULE_CHECK(cond, idx, rule, key, ...) do {                                        \
                if (cond) {                                                             \
                        p->file = p->rule_file[idx] ? p->rule_file[idx] : file;         \
                        snprintf(p->sec_name, sizeof p->sec_name, "rule %s", rule);      \
                        perr(p, p->rule_line[idx], key, __VA_ARGS__);                   \
                }                                                                       \
        } while (0)
        RULE_CHECK(r->day_start == r->day_end, rule_key_index("inactivity", "day_end"), "inactivity",
                   "day_end", "must differ from day_start");
        RULE_CHECK(r->morning_from >= r->morning_by, rule_key_index("morning_check", "by"), "morning_check",
                   "by", "must be later than from");
        RULE_CHECK(r->night_start == r->night_end, rule_key_index("night_exit", "end"), "night_exit",
                   "end", "must differ from start");
        RULE_CHECK(r->hr_low >= r->hr_high, rule_key_index("vitals", "heart_rate_high"), "vitals",
                   "heart_rate_high", "must be above heart_rate_low (%u)", r->hr_low);
        RULE_CHECK(r->bed_start == r->bed_end, rule_key_index("bed_exit", "end"), "bed_exit",
                   "end", "must differ from start");
        RULE_CHECK(p->rule_set[rule_key_index("geofence", "enabled")] && r->geofence &&
                   r->geo_center.lat == 0 && r->geo_center.lon == 0, rule_key_index("geofence", "enabled"),
                   "geofence", "enabled", "needs center (the home, \"lat,lon\" in WGS-84)");
        RULE_CHECK(!geo_grace_fits(r), rule_key_index("geofence", "grace"), "geofence", "grace",
                   "must be shorter than the hours it counts in");
#undef RULE_CHECK
        p->file = file;
}

struct topic_ref {
        const char *topic;
        size_t sensor;
};

static int cmp_topic(const void *a, const void *b) {
        const struct topic_ref *x = a, *y = b;
        int c = strcmp(x->topic, y->topic);
        return c ? c : (x->sensor > y->sensor) - (x->sensor < y->sensor);
}

/* Two sensors on one topic would make anjud refuse to start: an error here. */
static void validate_topics(struct parser *p) {
        struct config *c = p->cfg;
        struct topic_ref *t = calloc(c->n_sensors * 2 + 1, sizeof *t);
        bool *told = calloc(c->n_sensors + 1, sizeof *told);
        size_t n = 0;

        if (!t || !told) {
                free(t), free(told);
                return;
        }
        for (size_t i = 0; i < c->n_sensors; i++) {
                if (c->sensors[i].topic)
                        t[n++] = (struct topic_ref) { c->sensors[i].topic, i };
                if (c->sensors[i].availability_topic)
                        t[n++] = (struct topic_ref) { c->sensors[i].availability_topic, i };
        }
        qsort(t, n, sizeof *t, cmp_topic);
        for (size_t i = 1; i < n; i++)
                if (strcmp(t[i].topic, t[i - 1].topic) == 0 && t[i].sensor != t[i - 1].sensor &&
                    !told[t[i].sensor]) {
                        const struct sensor_conf *a = &c->sensors[t[i - 1].sensor], *b = &c->sensors[t[i].sensor];
                        told[t[i].sensor] = true;       /* one message per sensor is enough */
                        p->sec = SEC_SENSOR;
                        snprintf(p->sec_name, sizeof p->sec_name, "sensor %s", b->id);
                        p->file = b->file;
                        perr(p, b->line, NULL, "topic %s is also used by sensor %s (%s:%u)", t[i].topic, a->id,
                             a->file, a->line);
                }
        free(t);
        free(told);
}

static void validate(struct parser *p) {
        const char *main_file = p->cfg->path;

        p->file = main_file;
        validate_top(p);
        for (size_t i = 0; i < p->cfg->n_sensors; i++)
                validate_sensor(p, &p->cfg->sensors[i]);
        for (size_t i = 0; i < p->cfg->n_contacts; i++)
                validate_contact(p, &p->cfg->contacts[i]);
        validate_topics(p);
        for (size_t i = 0; i < p->cfg->n_receivers; i++)
                validate_receiver(p, &p->cfg->receivers[i]);
        validate_zones(p);
        p->file = main_file;
        validate_rules(p);
        p->file = main_file;
        for (int s = 0; s < _SEVERITY_MAX; s++) {
                struct escalation_conf *e = &p->cfg->escalation[s];
                char buf[160];
                const char *why = parse_ladder(e->ladder, e, p->cfg, buf, sizeof buf);
                p->sec = SEC_ESCALATION;
                snprintf(p->sec_name, sizeof p->sec_name, "escalation %s", severity_names[s]);
                if (why)
                        perr(p, 0, "ladder", "%s", why);
                if (e->repeat > 0 && e->repeat < 10 * USEC_PER_SEC)
                        perr(p, 0, "repeat", "must be 0 (no repeats) or at least 10s: every repeat reaches "
                             "every contact of the ladder");
                for (unsigned i = 0; s == SEVERITY_WARNING && i < e->n_steps; i++)
                        if (e->steps[i].target == TARGET_DISPATCH) {
                                perr(p, 0, "ladder", "warnings never go to the dispatch center (docs/ESCALATION.md); "
                                     "use maintenance, volunteer or grid");
                                break;
                        }
        }
}

static int finish(struct parser *p, struct config **ret) {
        if (p->n_errors == 0)
                validate(p);
        for (size_t i = 0; i < N_RULE_KEYS; i++)
                free(p->rule_file[i]);
        strmap_free(p->sensor_ids);
        if (p->n_errors > 0) {
                config_free(p->cfg);
                return -EINVAL;
        }
        *ret = p->cfg;
        return 0;
}

static int conf_filter(const struct dirent *d) {
        size_t l = strlen(d->d_name);
        return d->d_name[0] != '.' && l > 5 && strcmp(d->d_name + l - 5, ".conf") == 0;
}

static void parse_dropins(struct parser *p, const char *path) {
        char dir[4096], file[4352];
        struct dirent **list = NULL;
        const char *slash = strrchr(path, '/');
        int n;

        snprintf(dir, sizeof dir, "%.*sconf.d", slash ? (int) (slash - path + 1) : 0, path);
        n = scandir(dir, &list, conf_filter, alphasort);
        for (int i = 0; i < n; i++) {
                snprintf(file, sizeof file, "%s/%s", dir, list[i]->d_name);
                p->f = fopen(file, "re");
                if (!p->f) {
                        p->sec = SEC_NONE;
                        perr(p, 0, NULL, "cannot open drop-in %s: %m", file);
                } else {
                        p->file = file;
                        parse_one(p);
                        fclose(p->f);
                        p->f = NULL;
                }
                free(list[i]);
        }
        free(list);
}

int config_load(const char *path, config_error_fn on_error, void *userdata, struct config **ret) {
        struct parser p = { .file = path, .on_error = on_error, .userdata = userdata };
        int r;

        p.cfg = calloc(1, sizeof *p.cfg);
        if (!p.cfg)
                return -ENOMEM;
        set_defaults(p.cfg);
        p.cfg->path = strdup(path);
        p.f = fopen(path, "re");
        if (!p.f) {
                r = -errno;
                perr(&p, 0, NULL, "cannot open configuration: %s", strerror(-r));
                config_free(p.cfg);
                return r;
        }
        parse_one(&p);
        fclose(p.f);
        p.f = NULL;
        parse_dropins(&p, path);
        p.file = path;
        return finish(&p, ret);
}

int config_load_string(const char *name, const char *text, config_error_fn on_error,
                       void *userdata, struct config **ret) {
        struct parser p = { .file = name, .on_error = on_error, .userdata = userdata, .text = text };

        p.cfg = calloc(1, sizeof *p.cfg);
        if (!p.cfg)
                return -ENOMEM;
        set_defaults(p.cfg);
        p.cfg->path = strdup(name);
        parse_one(&p);
        return finish(&p, ret);
}

/* What a file key holds and where it goes once read. */
enum secret_use { SECRET_NONE, SECRET_TEXT, SECRET_SIGNING, SECRET_PRIVATE, SECRET_AES };

struct secret_dest {
        enum secret_use use;
        char **value;
        size_t *len;
};

static struct secret_dest secret_dest(struct config *c, const struct secret_ref *r) {
        const char *key = r->k->name;

        if (r->sec == SEC_HUB && strcmp(key, "operator_key_file") == 0)
                return (struct secret_dest) { SECRET_SIGNING, &c->hub.operator_key, &c->hub.operator_key_len };
        if (r->sec == SEC_DISPATCH && strcmp(key, "token_file") == 0)
                return (struct secret_dest) { SECRET_TEXT, &c->dispatch.token, NULL };
        if (r->sec == SEC_DISPATCH && strcmp(key, "hmac_key_file") == 0)
                return (struct secret_dest) { SECRET_SIGNING, &c->dispatch.hmac_key, &c->dispatch.hmac_key_len };
        if (r->sec == SEC_MQTT && strcmp(key, "password_file") == 0)
                return (struct secret_dest) { SECRET_TEXT, &c->mqtt.password, &c->mqtt.password_len };
        if (r->sec == SEC_MQTT && strcmp(key, "tls_key_file") == 0)
                return (struct secret_dest) { SECRET_PRIVATE, NULL, NULL };
        if (r->sec == SEC_CONTACT && strcmp(key, "key_file") == 0 && r->index < c->n_contacts)
                return (struct secret_dest) { SECRET_SIGNING, &c->contacts[r->index].key,
                                              &c->contacts[r->index].key_len };
        if (r->sec == SEC_RECEIVER && strcmp(key, "key_file") == 0 && r->index < c->n_receivers)
                return (struct secret_dest) { SECRET_AES, NULL, NULL };
        return (struct secret_dest) { SECRET_NONE, NULL, NULL };
}

/* The path a file key names now (after resolve_path()). */
static const char *ref_path(struct config *c, const struct secret_ref *r) {
        void *base = r->sec == SEC_CONTACT ? (void *) &c->contacts[r->index]
                     : r->sec == SEC_RECEIVER ? (void *) &c->receivers[r->index] : (void *) c;

        if ((r->sec == SEC_CONTACT && r->index >= c->n_contacts) ||
            (r->sec == SEC_RECEIVER && r->index >= c->n_receivers))
                return NULL;
        return *(char **) ((char *) base + r->k->offset);
}

/* HMAC keys shorter than this are guessable: refused. */
#define SIGNING_KEY_MIN 16

int config_load_secrets(struct config *c, config_error_fn on_error, config_error_fn on_warning, void *userdata) {
        unsigned errors = 0;

        for (size_t i = 0; i < c->n_secret_refs; i++) {
                const struct secret_ref *r = &c->secret_refs[i];
                struct secret_dest d = secret_dest(c, r);
                const char *path = ref_path(c, r);
                char where[700], msg[1400], cred[4096];
                const char *real;
                struct stat st;
                size_t len = 0;
                int e;

                if (!path)
                        continue;
                real = secret_path(path, r->file, cred, sizeof cred);
                snprintf(where, sizeof where, "%s:%u: [%s] %s", r->file, r->line, r->section, r->k->name);
                if (access(real, R_OK) < 0) {
                        snprintf(msg, sizeof msg, "%s: \"%s\" cannot read it: %s", where, path, strerror(errno));
                        goto error;
                }
                if (d.use != SECRET_NONE && on_warning && lstat(real, &st) == 0) {
                        if (S_ISLNK(st.st_mode)) {
                                snprintf(msg, sizeof msg, "%s: \"%s\" is a symbolic link: a secret should be a file "
                                         "of its own (mode 0600 or 0640, owner root)", where, path);
                                on_warning(msg, userdata);
                        } else if (st.st_mode & (S_IROTH | S_IWOTH | S_IWGRP)) {
                                snprintf(msg, sizeof msg, "%s: \"%s\" is readable or writable by others (mode %04o): "
                                         "chmod 0600 (or 0640 with group anju)", where, path,
                                         (unsigned) (st.st_mode & 07777));
                                on_warning(msg, userdata);
                        }
                }
                if (d.use == SECRET_AES) {
                        struct receiver_conf *rc = &c->receivers[r->index];
                        char *hex = NULL;
                        e = read_secret_file(real, &hex, &len);
                        if (e == 0)
                                e = dc09_key_from_hex(hex, rc->key, &rc->key_len);
                        if (hex)
                                explicit_bzero(hex, len);
                        free(hex);
                        if (e < 0) {
                                rc->key_len = 0;
                                snprintf(msg, sizeof msg, "%s: cannot read \"%s\": %s", where, path,
                                         e == -EINVAL ? "not an AES key of 32, 48 or 64 hex digits"
                                         : e == -ENODATA ? "file is empty" : strerror(-e));
                                goto error;
                        }
                        continue;
                }
                if (!d.value)
                        continue;
                if (*d.value) {
                        explicit_bzero(*d.value, d.len ? *d.len : strlen(*d.value));
                        free(*d.value);
                        *d.value = NULL;
                }
                e = read_secret_file(real, d.value, &len);
                if (e < 0) {
                        snprintf(msg, sizeof msg, "%s: cannot read \"%s\": %s", where, path,
                                 e == -ENODATA ? "file is empty" : strerror(-e));
                        goto error;
                }
                if (d.len)
                        *d.len = len;
                if (d.use == SECRET_SIGNING && len < SIGNING_KEY_MIN) {
                        snprintf(msg, sizeof msg, "%s: \"%s\" holds a key of %zu bytes: a signing key needs at least "
                                 "%d (e.g. openssl rand -hex 32)", where, path, len, SIGNING_KEY_MIN);
                        goto error;
                }
                continue;
error:
                errors++;
                if (on_error)
                        on_error(msg, userdata);
        }
        return errors ? -EINVAL : 0;
}

void config_free(struct config *c) {
        if (!c)
                return;
        for (size_t i = 0; i < c->n_secret_refs; i++)
                free(c->secret_refs[i].file);
        free(c->secret_refs);
        if (c->mqtt.password)
                explicit_bzero(c->mqtt.password, c->mqtt.password_len);
        free(c->mqtt.password);
        for (size_t i = 0; i < c->n_sensors; i++) {
                struct sensor_conf *s = &c->sensors[i];
                free(s->id), free(s->room), free(s->topic), free(s->availability_topic);
                for (int a = 0; a < _ATTR_MAX; a++)
                        free(s->keys[a]);
                free(s->sos_actions), free(s->cancel_actions), free(s->gpio_chip), free(s->file);
                free(s->bridge);
        }
        free(c->sensors);
        for (size_t i = 0; i < c->n_contacts; i++) {
                struct contact_conf *k = &c->contacts[i];
                free(k->id), free(k->name), free(k->topic), free(k->webhook);
                free(k->key_file), free(k->phone), free(k->file);
                if (k->key)
                        explicit_bzero(k->key, k->key_len);
                free(k->key);
        }
        free(c->contacts);
        for (size_t i = 0; i < c->n_receivers; i++) {
                struct receiver_conf *r = &c->receivers[i];
                free(r->id), free(r->host), free(r->account), free(r->receiver), free(r->line);
                free(r->key_file), free(r->fallback), free(r->file);
                explicit_bzero(r->key, sizeof r->key);
        }
        free(c->receivers);
        for (int s = 0; s < _SEVERITY_MAX; s++)
                free(c->escalation[s].ladder);
        free(c->path);
        free(c->hub.id), free(c->hub.timezone), free(c->hub.database);
        free(c->hub.ctl_socket), free(c->hub.operator_key_file);
        if (c->hub.operator_key)
                explicit_bzero(c->hub.operator_key, c->hub.operator_key_len);
        free(c->hub.operator_key);
        free(c->resident.name), free(c->resident.address), free(c->resident.notes);
        free(c->mqtt.host), free(c->mqtt.username), free(c->mqtt.password_file);
        free(c->mqtt.tls_ca_file), free(c->mqtt.tls_cert_file), free(c->mqtt.tls_key_file);
        free(c->mqtt.client_id);
        free(c->dispatch.url), free(c->dispatch.fallback_url), free(c->dispatch.token_file);
        free(c->dispatch.hmac_key_file), free(c->dispatch.ca_file);
        if (c->dispatch.token)
                explicit_bzero(c->dispatch.token, strlen(c->dispatch.token));
        if (c->dispatch.hmac_key)
                explicit_bzero(c->dispatch.hmac_key, c->dispatch.hmac_key_len);
        free(c->dispatch.token), free(c->dispatch.hmac_key);
        free(c);
}

int config_find_sensor(const struct config *c, const char *id) {
        for (size_t i = 0; i < c->n_sensors; i++)
                if (strcmp(c->sensors[i].id, id) == 0)
                        return (int) i;
        return -1;
}

bool config_sensor_is_gpio_input(const struct sensor_conf *s) {
        return s->gpio_chip && s->gpio_line >= 0 && !config_sensor_is_output(s);
}

bool config_sensor_is_output(const struct sensor_conf *s) {
        return s->kind == SENSOR_SIREN || s->kind == SENSOR_RELAY;
}

int config_find_receiver(const struct config *c, const char *id) {
        for (size_t i = 0; i < c->n_receivers; i++)
                if (strcmp(c->receivers[i].id, id) == 0)
                        return (int) i;
        return -1;
}

int config_find_contact(const struct config *c, const char *id) {
        for (size_t i = 0; i < c->n_contacts; i++)
                if (strcmp(c->contacts[i].id, id) == 0)
                        return (int) i;
        return -1;
}

const char *ladder_target_to_string(enum ladder_target t) {
        return t >= 0 && t < _TARGET_MAX ? target_names[t] : NULL;
}

const char *risk_tier_to_string(enum risk_tier r) {
        return r >= 0 && r < _RISK_MAX ? risk_names[r] : NULL;
}

const char *contact_role_to_string(enum contact_role r) {
        return r >= 0 && r < _ROLE_MAX ? role_names[r] : NULL;
}

/* --- thresholds at run time (anjuctl set, anju/<hub>/config/set) ------ */

static const char *rule_cross_check(const struct rule_params *r, char *buf, size_t n) {
        if (r->day_start == r->day_end)
                return "inactivity.day_end must differ from day_start";
        if (r->morning_from >= r->morning_by)
                return "morning_check.by must be later than from";
        if (r->night_start == r->night_end)
                return "night_exit.end must differ from start";
        if (r->bed_start == r->bed_end)
                return "bed_exit.end must differ from start";
        if (r->hr_low >= r->hr_high) {
                snprintf(buf, n, "vitals.heart_rate_high must be above heart_rate_low (%u)", r->hr_low);
                return buf;
        }
        if (!geo_grace_fits(r))
                return "geofence.grace must be shorter than the hours it counts in";
        return NULL;
}

static const struct rule_key *find_rule_key(const char *name) {
        const char *dot = strchr(name, '.');

        if (!dot)
                return NULL;
        for (size_t i = 0; i < N_RULE_KEYS; i++)
                if (strlen(rule_keys[i].rule) == (size_t) (dot - name) &&
                    strncmp(rule_keys[i].rule, name, (size_t) (dot - name)) == 0 &&
                    strcmp(rule_keys[i].k.name, dot + 1) == 0)
                        return &rule_keys[i];
        return NULL;
}

static void format_value(const struct key_desc *k, const void *base, char *buf, size_t n) {
        const char *f = (const char *) base + k->offset;

        switch (k->type) {
        case KT_DURATION: {
                uint64_t u = *(const uint64_t *) f;
                if (u % USEC_PER_HOUR == 0 && u)
                        snprintf(buf, n, "%lluh", (unsigned long long) (u / USEC_PER_HOUR));
                else if (u % USEC_PER_MIN == 0 && u)
                        snprintf(buf, n, "%llum", (unsigned long long) (u / USEC_PER_MIN));
                else if (u % USEC_PER_SEC == 0)
                        snprintf(buf, n, "%llus", (unsigned long long) (u / USEC_PER_SEC));
                else
                        snprintf(buf, n, "%llums", (unsigned long long) (u / USEC_PER_MSEC));
                break;
        }
        case KT_TIME: {
                unsigned m = *(const unsigned *) f;
                snprintf(buf, n, "%02u:%02u", m / 60, m % 60);
                break;
        }
        case KT_BOOL:
                snprintf(buf, n, "%s", *(const bool *) f ? "true" : "false");
                break;
        case KT_POINT: {
                struct geo_point pt;
                memcpy(&pt, f, sizeof pt);
                if (pt.lat == 0 && pt.lon == 0)
                        snprintf(buf, n, "unset");
                else
                        snprintf(buf, n, "%.6f,%.6f", pt.lat, pt.lon);
                break;
        }
        case KT_HOURS: {
                struct geo_hours h;
                memcpy(&h, f, sizeof h);
                if (h.always)
                        snprintf(buf, n, "always");
                else
                        snprintf(buf, n, "%02u:%02u-%02u:%02u", h.start_min / 60, h.start_min % 60, h.end_min / 60,
                                 h.end_min % 60);
                break;
        }
        default:
                snprintf(buf, n, "%u", *(const unsigned *) f);
        }
}

const char *rule_setting_name(size_t i, char *buf, size_t n) {
        if (i >= N_RULE_KEYS)
                return NULL;
        snprintf(buf, n, "%s.%s", rule_keys[i].rule, rule_keys[i].k.name);
        return buf;
}

int rule_setting_get(const struct rule_params *p, const char *name, char *buf, size_t n) {
        const struct rule_key *rk = find_rule_key(name);

        if (!rk)
                return -ENOENT;
        format_value(&rk->k, p, buf, n);
        return 0;
}

static void collect_first(const char *msg, void *ud) {
        char *buf = ud;

        if (!buf[0])
                snprintf(buf, 512, "%s", msg);
}

int rule_setting_set(struct rule_params *params, const char *name, const char *value, const char *source,
                     char *old, size_t oldn, char *err, size_t errn) {
        const struct rule_key *rk = find_rule_key(name);
        char first[512] = "", buf[160];
        struct parser p = { .file = source, .on_error = collect_first, .userdata = first };
        struct rule_params tmp = *params;
        const char *why;

        if (!rk) {
                snprintf(err, errn, "unknown setting \"%s\" (anjuctl get lists them)", name);
                utf8_trim(err);         /* it goes into a JSON answer */
                return -ENOENT;
        }
        format_value(&rk->k, params, old, oldn);
        p.sec = SEC_RULE;
        snprintf(p.sec_name, sizeof p.sec_name, "rule %s", rk->rule);
        if (set_value(&p, &rk->k, &tmp, value) < 0 || p.n_errors > 0) {
                snprintf(err, errn, "%s", first);
                utf8_trim(err);         /* perr() and collect_first() cut long values */
                return -EINVAL;
        }
        if (strcmp(name, "geofence.enabled") == 0 && tmp.geofence && tmp.geo_center.lat == 0 &&
            tmp.geo_center.lon == 0)
                why = "geofence.enabled needs center (set geofence.center first)";
        else
                why = rule_cross_check(&tmp, buf, sizeof buf);
        if (why) {
                snprintf(err, errn, "%s: [rule %s] %s: %s", source, rk->rule, rk->k.name, why);
                utf8_trim(err);
                return -EINVAL;
        }
        *params = tmp;
        return 0;
}
