/* Decoding of device payloads (Zigbee2MQTT and any JSON-over-MQTT device
 * whose keys are configured per sensor). */
#include "decode.h"
#include "config.h"
#include "util.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

struct default_key {
        enum sensor_kind kind;
        enum event_attr attr;
        const char *key;
};

/* Zigbee2MQTT's "exposes" names (shared/fixtures/zigbee2mqtt-payloads.md). */
static const struct default_key default_keys[] = {
        { SENSOR_SMOKE, ATTR_SMOKE, "smoke" },
        { SENSOR_MOTION, ATTR_MOTION, "occupancy" },
        { SENSOR_DOOR, ATTR_DOOR_OPEN, "contact" },
        { SENSOR_WATER, ATTR_WATER_LEAK, "water_leak" },
        { SENSOR_BUTTON, ATTR_ACTION, "action" },
        { SENSOR_POWER, ATTR_POWER_FAIL, "power_fail" },
        { SENSOR_SMOKE, ATTR_SELF_TEST, "test" },
        { SENSOR_WRISTBAND, ATTR_HEART_RATE, "heart_rate" },
        { SENSOR_WRISTBAND, ATTR_SPO2, "spo2" },
        { SENSOR_WRISTBAND, ATTR_FALL, "fall" },
        { SENSOR_WRISTBAND, ATTR_SOS, "sos" },
        { SENSOR_WRISTBAND, ATTR_CANCEL, "cancel" },
        { SENSOR_WRISTBAND, ATTR_WORN, "worn" },
        { SENSOR_WRISTBAND, ATTR_STEPS, "steps" },
        { SENSOR_WRISTBAND, ATTR_LAT, "lat" },
        { SENSOR_WRISTBAND, ATTR_LON, "lon" },
        { SENSOR_WRISTBAND, ATTR_ACCURACY, "accuracy" },
};

/* Keys every battery device may send, whatever its kind. */
static const struct {
        enum event_attr attr;
        const char *key;
} common_keys[] = {
        { ATTR_TAMPER, "tamper" },
        { ATTR_BATTERY, "battery" },
        { ATTR_BATTERY_LOW, "battery_low" },
};

const char *decode_default_key(enum sensor_kind kind, enum event_attr attr) {
        if (kind == SENSOR_SIREN || kind == SENSOR_RELAY)
                return NULL;
        for (size_t i = 0; i < ELEMENTSOF(default_keys); i++)
                if (default_keys[i].kind == kind && default_keys[i].attr == attr)
                        return default_keys[i].key;
        for (size_t i = 0; i < ELEMENTSOF(common_keys); i++)
                if (common_keys[i].attr == attr)
                        return common_keys[i].key;
        return NULL;
}

enum event_attr decode_main_attr(enum sensor_kind kind) {
        for (size_t i = 0; i < ELEMENTSOF(default_keys); i++)
                if (default_keys[i].kind == kind && kind != SENSOR_WRISTBAND)
                        return default_keys[i].attr;
        return _ATTR_INVALID;
}

/* Follows "a.b.c" through nested objects. */
static json_t *lookup_path(json_t *root, const char *path) {
        json_t *cur = root;
        const char *p = path;

        while (cur && json_is_object(cur)) {
                const char *dot = strchr(p, '.');
                if (!dot)
                        return json_object_get(cur, p);
                cur = json_object_getn(cur, p, (size_t) (dot - p));
                p = dot + 1;
        }
        return NULL;
}

/* Booleans as devices really send them: true/false, 0/1, "ON"/"OFF". */
static int as_bool(json_t *v, double *ret) {
        static const char *const on[] = { "true", "on", "1", "yes", "alarm", "detected" };
        static const char *const off[] = { "false", "off", "0", "no", "clear", "idle", "" };

        if (json_is_boolean(v))
                return *ret = json_is_true(v), 0;
        /* 0 and 1, and 0.0 and 1.0 (a bridge that sends every number as a
         * double), are booleans too. */
        if (json_is_number(v) && (json_number_value(v) == 0.0 || json_number_value(v) == 1.0))
                return *ret = json_number_value(v), 0;
        if (json_is_string(v)) {
                const char *s = json_string_value(v);
                for (size_t i = 0; i < ELEMENTSOF(on); i++)
                        if (strcasecmp(s, on[i]) == 0)
                                return *ret = 1, 0;
                for (size_t i = 0; i < ELEMENTSOF(off); i++)
                        if (strcasecmp(s, off[i]) == 0)
                                return *ret = 0, 0;
        }
        return -EINVAL;
}

/* The range a reading can have at all: anything outside it is a broken
 * or hostile message, not a measurement (a battery at -1e308 %). */
static const struct {
        enum event_attr attr;
        double min, max;
        const char *what;
} ranges[] = {
        { ATTR_BATTERY, 0, 100, "expected a number from 0 to 100 (percent)" },
        { ATTR_HEART_RATE, 0, 300, "expected a number from 0 to 300 (bpm)" },
        { ATTR_SPO2, 0, 100, "expected a number from 0 to 100 (percent)" },
        { ATTR_STEPS, 0, 1e9, "expected a count from 0" },
        { ATTR_LAT, -90, 90, "expected a latitude from -90 to 90" },
        { ATTR_LON, -180, 180, "expected a longitude from -180 to 180" },
        { ATTR_ACCURACY, 0, 1e6, "expected metres from 0" },
};

static int as_number(json_t *v, enum event_attr a, double *ret, const char **why) {
        double d;

        *why = "expected a number";
        if (!json_is_number(v) || !isfinite(d = json_number_value(v)))
                return -EINVAL;
        for (size_t i = 0; i < ELEMENTSOF(ranges); i++)
                if (ranges[i].attr == a && (d < ranges[i].min || d > ranges[i].max)) {
                        *why = ranges[i].what;
                        return -ERANGE;
                }
        *ret = d;
        return 0;
}

static bool is_numeric_attr(enum event_attr a) {
        return a == ATTR_BATTERY || a == ATTR_HEART_RATE || a == ATTR_SPO2 || a == ATTR_STEPS ||
               a == ATTR_LAT || a == ATTR_LON || a == ATTR_ACCURACY;
}

/* Is word one of the comma-separated values in list? */
static bool in_list(const char *list, const char *word) {
        size_t wl = strlen(word);

        for (const char *p = list; p && *p;) {
                const char *c = strchr(p, ',');
                size_t l = c ? (size_t) (c - p) : strlen(p);
                while (l > 0 && *p == ' ')
                        p++, l--;
                while (l > 0 && p[l - 1] == ' ')
                        l--;
                if (l == wl && wl > 0 && strncasecmp(p, word, l) == 0)
                        return true;
                p = c ? c + 1 : NULL;
        }
        return false;
}

/* A button's action string becomes SOS or CANCEL; other actions are not news. */
static int decode_action(const struct sensor_conf *s, json_t *v, enum event_attr *ret_attr) {
        const char *a;

        if (!json_is_string(v))
                return -EINVAL;
        a = json_string_value(v);
        if (s->role == BUTTON_SOS && in_list(s->sos_actions, a))
                return *ret_attr = ATTR_SOS, 1;
        if (s->role == BUTTON_CANCEL && in_list(s->cancel_actions, a))
                return *ret_attr = ATTR_CANCEL, 1;
        return 0;
}

static void note_error(struct decode_result *res, enum decode_error e, const char *key,
                       const char *what) {
        if (e <= res->error)
                return;
        res->error = e;
        snprintf(res->detail, sizeof res->detail, "key %s: %s", key, what);
}

/* Decodes one attribute of the message into *ev; 1 if an event, 0 if not. */
static int decode_attr(const struct sensor_conf *s, json_t *root, enum event_attr a,
                       struct event *ev, struct decode_result *res) {
        json_t *v = lookup_path(root, s->keys[a]);
        const char *why;
        double d;

        if (!v || json_is_null(v))
                return 0;
        ev->attr = a;
        if (a == ATTR_ACTION) {
                int r = decode_action(s, v, &ev->attr);
                if (r < 0)
                        note_error(res, DECODE_BAD_TYPE, s->keys[a], "expected a string");
                ev->value = 1;
                return r > 0;
        }
        if (is_numeric_attr(a) ? as_number(v, a, &d, &why) < 0 : as_bool(v, &d) < 0) {
                note_error(res, DECODE_BAD_TYPE, s->keys[a], is_numeric_attr(a) ? why : "expected a boolean");
                return 0;
        }
        /* contact=true means closed; invert flips devices that say "open". */
        if (a == ATTR_DOOR_OPEN)
                d = !d;
        if (a == decode_main_attr(s->kind) && s->invert)
                d = !d;
        if ((a == ATTR_SOS || a == ATTR_FALL || a == ATTR_CANCEL) && d == 0)
                return 0;       /* "sos": false is the absence of an event */
        ev->value = d;
        return 1;
}

size_t decode_state(const struct sensor_conf *s, uint32_t idx, const void *payload, size_t len,
                    uint64_t mono, uint64_t wall, bool retained, struct event *out, size_t max,
                    struct decode_result *res) {
        json_error_t jerr;
        json_t *root;
        size_t n = 0;
        bool any_key = false;

        *res = (struct decode_result) { DECODE_OK, "" };
        if (len > DECODE_MAX_PAYLOAD) {
                res->error = DECODE_TOO_LARGE;
                snprintf(res->detail, sizeof res->detail, "%zu bytes, limit %d", len, DECODE_MAX_PAYLOAD);
                return 0;
        }
        root = json_loadb(payload, len, JSON_REJECT_DUPLICATES, &jerr);
        if (!root || !json_is_object(root)) {
                res->error = DECODE_NOT_JSON;
                snprintf(res->detail, sizeof res->detail, "%.80s",
                         root ? "expected a JSON object" : jerr.text);
                json_decref(root);
                return 0;
        }
        for (int a = 0; a < _ATTR_MAX && n < max; a++) {
                if (!s->keys[a])
                        continue;
                out[n] = (struct event) { .sensor = idx, .mono = mono, .wall = wall, .retained = retained };
                if (lookup_path(root, s->keys[a]))
                        any_key = true;
                if (decode_attr(s, root, a, &out[n], res) > 0)
                        n++;
        }
        json_decref(root);
        if (!any_key && res->error == DECODE_OK) {
                res->error = DECODE_NO_VALUE;
                snprintf(res->detail, sizeof res->detail, "none of the sensor's keys present");
        }
        return n;
}

int decode_availability(const void *payload, size_t len) {
        const char *p = payload;
        json_t *root, *st;
        int r = -EBADMSG;

        if (len == 6 && memcmp(p, "online", 6) == 0)
                return 1;
        if (len == 7 && memcmp(p, "offline", 7) == 0)
                return 0;
        if (len > 1024)
                return -EBADMSG;
        root = json_loadb(payload, len, 0, NULL);
        st = root ? json_object_get(root, "state") : NULL;
        if (json_is_string(st)) {
                if (strcmp(json_string_value(st), "online") == 0)
                        r = 1;
                else if (strcmp(json_string_value(st), "offline") == 0)
                        r = 0;
        }
        json_decref(root);
        return r;
}

const char *decode_error_to_string(enum decode_error e) {
        static const char *const names[_DECODE_ERROR_MAX] = {
                [DECODE_OK] = "ok", [DECODE_TOO_LARGE] = "too large",
                [DECODE_NOT_JSON] = "not JSON", [DECODE_BAD_TYPE] = "wrong type",
                [DECODE_NO_VALUE] = "no known key",
        };
        return e < _DECODE_ERROR_MAX ? names[e] : "?";
}
