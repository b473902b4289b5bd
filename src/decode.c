/* Decoding of device payloads (Zigbee2MQTT and any JSON-over-MQTT device
 * whose keys are configured per sensor). */
#include "decode.h"
#include "config.h"
#include "vocab.h"
#include "geo.h"
#include "util.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

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

/* The value of a word in an enum's table; false for a word anju does not use. */
static bool find_word(const struct word *w, const char *word, double *ret) {
        for (; w && w->word; w++)
                if (strcmp(w->word, word) == 0)
                        return *ret = w->value, true;
        return false;
}

/* Reads one key's value v as `as` (words: its table) for attribute a:
 * 1 with *ret set, 0 if it says nothing anju uses (null, a word not in the
 * table, an action no list has), -1 if of the wrong type (noted in res). */
static int read_value(const struct sensor_conf *s, enum event_attr a, const char *key, json_t *v,
                      enum read_as as, const struct word *words, enum event_attr *ret_attr, double *ret,
                      struct decode_result *res) {
        const char *why;
        int r;

        if (json_is_null(v))
                return 0;
        switch (as) {
        case AS_ACTION:
                r = decode_action(s, v, ret_attr);
                if (r < 0)
                        note_error(res, DECODE_BAD_TYPE, key, "expected a string");
                *ret = 1;
                return r > 0 ? 1 : r < 0 ? -1 : 0;
        case AS_WORDS:
                if (!json_is_string(v)) {
                        note_error(res, DECODE_BAD_TYPE, key, "expected a string");
                        return -1;
                }
                /* A value a newer converter added is not an error: ignored. */
                return find_word(words, json_string_value(v), ret) ? 1 : 0;
        case AS_NUMBER:
                if (as_number(v, a, ret, &why) < 0) {
                        note_error(res, DECODE_BAD_TYPE, key, why);
                        return -1;
                }
                return 1;
        case AS_BOOL:
        default:
                if (as_bool(v, ret) < 0) {
                        note_error(res, DECODE_BAD_TYPE, key, "expected a boolean");
                        return -1;
                }
                return 1;
        }
}

/* A key set in the configuration ("key =", "key_<attr> =") instead of the
 * kind's default: read as the attribute's type, and with the words of the
 * kind's own keys for that attribute (a "fall_status" under another name). */
static int read_override(const struct sensor_conf *s, enum event_attr a, json_t *v, enum event_attr *ret_attr,
                         double *ret, struct decode_result *res) {
        if (a == ATTR_ACTION)
                return read_value(s, a, s->keys[a], v, AS_ACTION, NULL, ret_attr, ret, res);
        if (is_numeric_attr(a))
                return read_value(s, a, s->keys[a], v, AS_NUMBER, NULL, ret_attr, ret, res);
        if (json_is_string(v))
                for (size_t i = 0; i < vocab_n_readers; i++)
                        if (vocab_readers[i].attr == a && vocab_readers[i].as == AS_WORDS && vocab_applies(&vocab_readers[i], s->kind) &&
                            find_word(vocab_readers[i].words, json_string_value(v), ret))
                                return 1;
        if (read_value(s, a, s->keys[a], v, AS_BOOL, NULL, ret_attr, ret, res) < 0)
                return -1;
        if (a == ATTR_FALL_STATE && *ret != 0)
                *ret = 2;       /* a yes/no fall key: yes is a fall */
        return 1;
}

/* Decodes attribute a of the message into *ev; 1 if an event, 0 if not.
 * *seen: one of its keys is in the message. */
static int decode_attr(const struct sensor_conf *s, json_t *root, enum event_attr a, struct event *ev,
                       bool *seen, struct decode_result *res) {
        const char *primary = vocab_default_key(s->kind, a);
        bool got = false;
        double d = 0;
        unsigned k = 0;

        ev->attr = a;
        if (!primary || strcmp(primary, s->keys[a]) != 0) {
                json_t *v = lookup_path(root, s->keys[a]);
                if (!v)
                        return 0;
                *seen = true;
                got = read_override(s, a, v, &ev->attr, &d, res) > 0;
        } else {
                for (size_t i = 0; i < vocab_n_readers; i++) {
                        const struct vocab_reader *r = &vocab_readers[i];
                        json_t *v;
                        double x;

                        if (r->attr != a || !vocab_applies(r, s->kind))
                                continue;
                        if (!(v = json_object_get(root, r->key)))
                                continue;
                        *seen = true;
                        if (read_value(s, a, r->key, v, r->as, r->words, &ev->attr, &x, res) <= 0)
                                continue;
                        /* Movement from several keys (a device has one;
                         * Zigbee2MQTT repeats them all from its cache): each
                         * key's value in a base-16 digit of its own, so a
                         * change of any of them is a change. Anything else:
                         * the highest (present, low battery, the worst
                         * fall state). */
                        if (a == ATTR_MOTION)
                                d += x * ldexp(1.0, 4 * (int) k++);
                        else if (!got || x > d)
                                d = x;
                        got = true;
                }
        }
        if (!got)
                return 0;
        /* contact=true means closed (in bed); invert flips devices that say "open". */
        if (a == ATTR_DOOR_OPEN || a == ATTR_OUT_OF_BED)
                d = !d;
        if (a == vocab_main_attr(s->kind) && s->invert)
                d = a == ATTR_FALL_STATE ? (d ? 0 : 2) : !d;
        if ((ev->attr == ATTR_SOS || ev->attr == ATTR_FALL || ev->attr == ATTR_CANCEL || ev->attr == ATTR_ACTIVITY) &&
            d == 0)
                return 0;       /* "sos": false is the absence of an event */
        ev->value = d;
        return 1;
}

/* lat, lon and accuracy are read together, as one fix (ATTR_LOCATION):
 * alone, none of them is a position. */
static bool is_fix_part(const struct sensor_conf *s, enum event_attr a) {
        return s->kind == SENSOR_WRISTBAND && (a == ATTR_LAT || a == ATTR_LON || a == ATTR_ACCURACY);
}

/* A number, or NULL/absent. -1 (noted) for another type or a non-finite one. */
static int fix_number(json_t *v, const char *key, bool *present, double *ret, struct decode_result *res) {
        *present = v && !json_is_null(v);
        if (!*present)
                return 0;
        if (!json_is_number(v) || !isfinite(*ret = json_number_value(v))) {
                note_error(res, DECODE_BAD_TYPE, key, "expected a number");
                return -1;
        }
        return 0;
}

/* When the band took the fix: Unix seconds, or milliseconds (a number above
 * 1e11: no fix is from the year 5138), as bridges send them. 0 if absent;
 * -1 (noted) if not a plausible time. */
static int fix_time(json_t *v, const char *key, uint64_t *ret, struct decode_result *res) {
        double t;

        *ret = 0;
        if (!v || json_is_null(v))
                return 0;
        if (!json_is_number(v) || !isfinite(t = json_number_value(v)) || t <= 0 || t > 1e14) {
                note_error(res, DECODE_BAD_TYPE, key, "expected a Unix time in seconds or milliseconds");
                return -1;
        }
        if (t > 1e11)
                t /= 1000.0;
        *ret = (uint64_t) (t * (double) USEC_PER_SEC);
        return 0;
}

/* The wristband's position: the "location" object {lat, lon, accuracy}
 * (its key: key_location), else the keys of lat, lon and accuracy
 * (key_lat, key_lon, key_accuracy), with fix_at or timestamp. A fix is
 * all of lat, lon and accuracy, passing geo_fix_check(); one without
 * accuracy has no error to judge it by and is refused. 1 if an event. */
static int decode_location(const struct sensor_conf *s, json_t *root, struct event *ev, bool *seen,
                           struct decode_result *res) {
        json_t *obj = s->keys[ATTR_LOCATION] ? lookup_path(root, s->keys[ATTR_LOCATION]) : NULL;
        json_t *vlat, *vlon, *vacc, *vat;
        const char *klat = "lat", *klon = "lon", *kacc = "accuracy", *kat = "fix_at";
        bool has_lat, has_lon, has_acc;
        double lat = 0, lon = 0, acc = 0;
        enum geo_fix_problem why;

        ev->attr = ATTR_LOCATION;
        if (obj && !json_is_null(obj)) {
                *seen = true;
                if (!json_is_object(obj)) {
                        note_error(res, DECODE_BAD_TYPE, s->keys[ATTR_LOCATION], "expected an object {lat, lon, accuracy}");
                        return 0;
                }
                vlat = json_object_get(obj, "lat");
                vlon = json_object_get(obj, "lon");
                vacc = json_object_get(obj, "accuracy");
                vat = json_object_get(obj, "fix_at");
                if (!vat)
                        vat = json_object_get(obj, "timestamp");
        } else {
                klat = s->keys[ATTR_LAT] ? s->keys[ATTR_LAT] : "lat";
                klon = s->keys[ATTR_LON] ? s->keys[ATTR_LON] : "lon";
                kacc = s->keys[ATTR_ACCURACY] ? s->keys[ATTR_ACCURACY] : "accuracy";
                vlat = lookup_path(root, klat);
                vlon = lookup_path(root, klon);
                vacc = lookup_path(root, kacc);
                vat = json_object_get(root, "fix_at");
                if (!vat) {
                        vat = json_object_get(root, "timestamp");
                        kat = "timestamp";
                }
        }
        if (fix_number(vlat, klat, &has_lat, &lat, res) < 0 || fix_number(vlon, klon, &has_lon, &lon, res) < 0 ||
            fix_number(vacc, kacc, &has_acc, &acc, res) < 0)
                return (*seen = true), 0;
        if (!has_lat && !has_lon) {
                if (has_acc)
                        *seen = true;
                return 0;
        }
        *seen = true;
        if (!has_lat || !has_lon) {
                note_error(res, DECODE_BAD_TYPE, has_lat ? klon : klat, "expected lat and lon together");
                return 0;
        }
        if (!has_acc) {
                note_error(res, DECODE_BAD_TYPE, kacc, "expected the fix's accuracy in metres with lat and lon");
                return 0;
        }
        if ((why = geo_fix_check(lat, lon, acc)) != GEO_FIX_OK) {
                note_error(res, DECODE_BAD_TYPE, why >= GEO_FIX_ACCURACY_NOT_A_NUMBER ? kacc :
                           why >= GEO_FIX_LON_NOT_A_NUMBER && why <= GEO_FIX_LON_RANGE ? klon : klat,
                           geo_fix_problem_to_string(why));
                return 0;
        }
        if (fix_time(vat, kat, &ev->fix.at, res) < 0)
                return 0;
        ev->fix.lat = lat;
        ev->fix.lon = lon;
        ev->fix.accuracy = acc;
        ev->fix.datum = s->datum;
        ev->value = 1;
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
                if (!s->keys[a] || is_fix_part(s, (enum event_attr) a))
                        continue;
                out[n] = (struct event) { .sensor = idx, .mono = mono, .wall = wall, .retained = retained };
                if (a == ATTR_LOCATION ? decode_location(s, root, &out[n], &any_key, res) > 0
                                       : decode_attr(s, root, (enum event_attr) a, &out[n], &any_key, res) > 0)
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
