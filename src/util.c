/* Helpers: parsing, formatting, randomness, secrets, HMAC, a hash map. */
#include "util.h"
#include "anju/event.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

static const char *const sensor_kind_names[_SENSOR_KIND_MAX] = {
        [SENSOR_SMOKE] = "smoke", [SENSOR_MOTION] = "motion", [SENSOR_DOOR] = "door",
        [SENSOR_WRISTBAND] = "wristband", [SENSOR_BUTTON] = "button", [SENSOR_POWER] = "power",
        [SENSOR_WATER] = "water", [SENSOR_SIREN] = "siren", [SENSOR_RELAY] = "relay",
        [SENSOR_PRESENCE] = "presence", [SENSOR_FALL] = "fall", [SENSOR_BED] = "bed",
};

static const char *const event_attr_names[_ATTR_MAX] = {
        [ATTR_SMOKE] = "smoke", [ATTR_MOTION] = "motion", [ATTR_DOOR_OPEN] = "door_open",
        [ATTR_WATER_LEAK] = "water_leak", [ATTR_SOS] = "sos", [ATTR_FALL] = "fall",
        [ATTR_CANCEL] = "cancel", [ATTR_ACTION] = "action", [ATTR_POWER_FAIL] = "power_fail",
        [ATTR_TAMPER] = "tamper", [ATTR_BATTERY] = "battery", [ATTR_BATTERY_LOW] = "battery_low",
        [ATTR_SELF_TEST] = "test", [ATTR_HEART_RATE] = "heart_rate", [ATTR_SPO2] = "spo2",
        [ATTR_WORN] = "worn", [ATTR_STEPS] = "steps", [ATTR_LAT] = "lat", [ATTR_LON] = "lon",
        [ATTR_ACCURACY] = "accuracy", [ATTR_ONLINE] = "online",
        [ATTR_PRESENCE] = "presence", [ATTR_FALL_STATE] = "fall_state", [ATTR_FAULT] = "fault",
        [ATTR_OUT_OF_BED] = "out_of_bed", [ATTR_RELAY_STATE] = "relay_state", [ATTR_SOS_STATE] = "sos_state",
        [ATTR_ACTIVITY] = "activity", [ATTR_LOCATION] = "location",
};

static const char *const incident_type_names[_INCIDENT_TYPE_MAX] = {
        [INCIDENT_FIRE] = "fire", [INCIDENT_SOS] = "sos", [INCIDENT_FALL] = "fall",
        [INCIDENT_INACTIVITY] = "inactivity", [INCIDENT_MORNING_CHECK] = "morning_check",
        [INCIDENT_NIGHT_EXIT] = "night_exit", [INCIDENT_BATHROOM_DWELL] = "bathroom_dwell",
        [INCIDENT_VITALS] = "vitals", [INCIDENT_WATER_LEAK] = "water_leak",
        [INCIDENT_DEVICE_HEALTH] = "device_health", [INCIDENT_POWER] = "power",
        [INCIDENT_DOOR_OPEN] = "door_open", [INCIDENT_BED_EXIT] = "bed_exit",
        [INCIDENT_GEOFENCE] = "geofence",
};

static const char *const severity_names[_SEVERITY_MAX] = {
        [SEVERITY_WARNING] = "warning", [SEVERITY_URGENT] = "urgent",
        [SEVERITY_CRITICAL] = "critical",
};

static const char *const health_problem_names[_HEALTH_MAX] = {
        [HEALTH_NONE] = "none", [HEALTH_OFFLINE] = "offline", [HEALTH_OFFLINE_BRIDGE] = "offline_bridge",
        [HEALTH_BATTERY] = "battery", [HEALTH_TAMPER] = "tamper", [HEALTH_NOT_WORN] = "not_worn",
        [HEALTH_LINK] = "link", [HEALTH_STORAGE] = "storage", [HEALTH_GPIO] = "gpio", [HEALTH_MQTT] = "mqtt",
        [HEALTH_CENTER] = "center", [HEALTH_FAULT] = "fault", [HEALTH_BRIDGE] = "bridge",
        [HEALTH_RELAY] = "relay", [HEALTH_RECEIVER] = "receiver",
};

static int lookup(const char *const *names, int n, const char *s) {
        for (int i = 0; s && i < n; i++)
                if (names[i] && strcmp(names[i], s) == 0)
                        return i;
        return -1;
}

const char *sensor_kind_to_string(enum sensor_kind k) {
        return k >= 0 && k < _SENSOR_KIND_MAX ? sensor_kind_names[k] : NULL;
}
enum sensor_kind sensor_kind_from_string(const char *s) {
        return lookup(sensor_kind_names, _SENSOR_KIND_MAX, s);
}
const char *event_attr_to_string(enum event_attr a) {
        return a >= 0 && a < _ATTR_MAX ? event_attr_names[a] : NULL;
}
enum event_attr event_attr_from_string(const char *s) {
        return lookup(event_attr_names, _ATTR_MAX, s);
}
const char *incident_type_to_string(enum incident_type t) {
        return t >= 0 && t < _INCIDENT_TYPE_MAX ? incident_type_names[t] : NULL;
}
enum incident_type incident_type_from_string(const char *s) {
        return lookup(incident_type_names, _INCIDENT_TYPE_MAX, s);
}
const char *severity_to_string(enum severity s) {
        return s >= 0 && s < _SEVERITY_MAX ? severity_names[s] : NULL;
}
enum severity severity_from_string(const char *s) {
        return lookup(severity_names, _SEVERITY_MAX, s);
}
const char *health_problem_to_string(enum health_problem p) {
        return p >= 0 && p < _HEALTH_MAX ? health_problem_names[p] : NULL;
}
enum health_problem health_problem_from_string(const char *s) {
        int r = lookup(health_problem_names, _HEALTH_MAX, s);
        return r < 0 ? HEALTH_NONE : (enum health_problem) r;
}

static const struct {
        const char *suffix;
        uint64_t usec;
} duration_units[] = {
        /* longest suffix first so "ms" is not read as "m" + garbage */
        { "ms", USEC_PER_MSEC }, { "min", USEC_PER_MIN }, { "s", USEC_PER_SEC },
        { "m", USEC_PER_MIN },   { "h", USEC_PER_HOUR },  { "d", USEC_PER_DAY },
};

int parse_duration(const char *s, uint64_t *ret_usec) {
        uint64_t total = 0;
        bool any = false;

        if (!s)
                return -EINVAL;
        while (isspace((unsigned char) *s))
                s++;
        while (*s) {
                char *end;
                unsigned long long v;
                size_t i;

                if (!isdigit((unsigned char) *s))
                        return -EINVAL;
                errno = 0;
                v = strtoull(s, &end, 10);
                if (errno == ERANGE)
                        return -ERANGE;
                for (i = 0; i < ELEMENTSOF(duration_units); i++) {
                        size_t l = strlen(duration_units[i].suffix);
                        if (strncmp(end, duration_units[i].suffix, l) == 0 &&
                            !isalpha((unsigned char) end[l]))
                                break;
                }
                if (i == ELEMENTSOF(duration_units))
                        return -EINVAL;
                if (v > UINT64_MAX / duration_units[i].usec / 2)
                        return -ERANGE;
                if (total > UINT64_MAX / 2 - v * duration_units[i].usec)
                        return -ERANGE;
                total += v * duration_units[i].usec;
                s = end + strlen(duration_units[i].suffix);
                any = true;
                while (isspace((unsigned char) *s))
                        s++;
        }
        if (!any)
                return -EINVAL;
        *ret_usec = total;
        return 0;
}

int parse_size(const char *s, uint64_t *ret) {
        unsigned long long v;
        uint64_t mult = 1;
        char *end;

        if (!s || !isdigit((unsigned char) *s))
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno)
                return -EINVAL;
        switch (*end) {
        case 'K': case 'k': mult = 1024; end++; break;
        case 'M': mult = 1024 * 1024; end++; break;
        case 'G': mult = 1024 * 1024 * 1024; end++; break;
        default: break;
        }
        if (mult > 1 && *end == 'i')
                end++;
        if (*end == 'B')
                end++;
        if (*end || v > UINT64_MAX / mult)
                return -EINVAL;
        *ret = v * mult;
        return 0;
}

int parse_time_of_day(const char *s, unsigned *ret_minutes) {
        unsigned h, m;
        int n = 0;

        if (!s || strlen(s) != 5 || !isdigit((unsigned char) s[0]) || !isdigit((unsigned char) s[1]) ||
            s[2] != ':' || !isdigit((unsigned char) s[3]) || !isdigit((unsigned char) s[4]) ||
            sscanf(s, "%2u:%2u%n", &h, &m, &n) != 2 || n != 5)
                return -EINVAL;
        if (h > 23 || m > 59)
                return -ERANGE;
        *ret_minutes = h * 60 + m;
        return 0;
}

int parse_bool(const char *s, bool *ret) {
        static const char *const yes[] = { "1", "yes", "true", "on" };
        static const char *const no[] = { "0", "no", "false", "off" };

        for (size_t i = 0; s && i < ELEMENTSOF(yes); i++) {
                if (strcasecmp(s, yes[i]) == 0)
                        return *ret = true, 0;
                if (strcasecmp(s, no[i]) == 0)
                        return *ret = false, 0;
        }
        return -EINVAL;
}

int parse_int_range(const char *s, long long min, long long max, long long *ret) {
        char *end;
        long long v;

        if (!s || !*s)
                return -EINVAL;
        errno = 0;
        v = strtoll(s, &end, 10);
        if (*end != '\0' || end == s)
                return -EINVAL;
        if (errno == ERANGE || v < min || v > max)
                return -ERANGE;
        *ret = v;
        return 0;
}

char *utf8_trim(char *buf) {
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

char *format_duration(char *buf, size_t n, uint64_t usec) {
        uint64_t s = usec / USEC_PER_SEC;

        if (usec < USEC_PER_SEC)
                snprintf(buf, n, "%llums", (unsigned long long) (usec / USEC_PER_MSEC));
        else if (s < 60)
                snprintf(buf, n, "%llus", (unsigned long long) s);
        else if (s < 3600)
                snprintf(buf, n, "%llumin %02llus", (unsigned long long) (s / 60),
                         (unsigned long long) (s % 60));
        else
                snprintf(buf, n, "%lluh %02llumin", (unsigned long long) (s / 3600),
                         (unsigned long long) ((s % 3600) / 60));
        return buf;
}

char *format_rfc3339(char *buf, size_t n, uint64_t wall_usec) {
        time_t t = (time_t) (wall_usec / USEC_PER_SEC);
        struct tm tm;
        char off[8];
        size_t l;

        localtime_r(&t, &tm);
        l = strftime(buf, n, "%Y-%m-%dT%H:%M:%S", &tm);
        strftime(off, sizeof off, "%z", &tm);      /* "+0800" */
        if (strlen(off) == 5)
                snprintf(buf + l, n - l, "%.3s:%.2s", off, off + 3);
        return buf;
}

static uint64_t now_clock(clockid_t id) {
        struct timespec ts;
        clock_gettime(id, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000;
}

uint64_t now_mono(void) {
        return now_clock(CLOCK_MONOTONIC);
}

uint64_t now_wall(void) {
        return now_clock(CLOCK_REALTIME);
}

int random_bytes(void *buf, size_t n) {
        uint8_t *p = buf;

        while (n > 0) {
                ssize_t k = getrandom(p, n, 0);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += k;
                n -= (size_t) k;
        }
        return 0;
}

int uuid_random(char ret[static 37]) {
        uint8_t b[16];
        int r;

        r = random_bytes(b, sizeof b);
        if (r < 0)
                return r;
        b[6] = (uint8_t) ((b[6] & 0x0f) | 0x40);
        b[8] = (uint8_t) ((b[8] & 0x3f) | 0x80);
        snprintf(ret, 37,
                 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
                 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11],
                 b[12], b[13], b[14], b[15]);
        return 0;
}

void hex_encode(const uint8_t *in, size_t n, char *out) {
        static const char digits[] = "0123456789abcdef";

        for (size_t i = 0; i < n; i++) {
                out[2 * i] = digits[in[i] >> 4];
                out[2 * i + 1] = digits[in[i] & 15];
        }
        out[2 * n] = '\0';
}

int hmac_sha256_hex(const void *key, size_t keylen, const void *data, size_t len,
                    char ret[static 65]) {
        uint8_t md[EVP_MAX_MD_SIZE];
        unsigned mdlen = 0;

        if (keylen > INT_MAX)
                return -EINVAL;
        if (!HMAC(EVP_sha256(), key, (int) keylen, data, len, md, &mdlen) || mdlen != 32)
                return -EIO;
        hex_encode(md, 32, ret);
        return 0;
}

int read_secret_file(const char *path, char **ret, size_t *ret_len) {
        char *buf;
        size_t len = 0;
        int fd, r = 0;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        buf = malloc(65537);
        if (!buf) {
                close(fd);
                return -ENOMEM;
        }
        for (;;) {
                ssize_t k = read(fd, buf + len, 65537 - len);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        r = -errno;
                        break;
                }
                if (k == 0)
                        break;
                len += (size_t) k;
                if (len > 65536) {
                        r = -EFBIG;
                        break;
                }
        }
        close(fd);
        while (r == 0 && len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
                len--;
        if (r == 0 && len == 0)
                r = -ENODATA;
        if (r < 0) {
                explicit_bzero(buf, 65537);
                free(buf);
                return r;
        }
        buf[len] = '\0';
        *ret = buf;
        *ret_len = len;
        return 0;
}

struct strmap {
        size_t cap;             /* power of two */
        size_t n;
        const char **keys;
        uint32_t *values;
};

static uint64_t hash_bytes(const char *s, size_t n) {
        uint64_t h = 1469598103934665603ULL;        /* FNV-1a */
        for (size_t i = 0; i < n; i++)
                h = (h ^ (uint8_t) s[i]) * 1099511628211ULL;
        return h;
}

struct strmap *strmap_new(size_t expected) {
        struct strmap *m = calloc(1, sizeof *m);
        size_t cap = 16;

        if (!m)
                return NULL;
        while (cap < expected * 2)
                cap *= 2;
        m->cap = cap;
        m->keys = calloc(cap, sizeof *m->keys);
        m->values = calloc(cap, sizeof *m->values);
        if (!m->keys || !m->values) {
                strmap_free(m);
                return NULL;
        }
        return m;
}

void strmap_free(struct strmap *m) {
        if (!m)
                return;
        free(m->keys);
        free(m->values);
        free(m);
}

static int strmap_grow(struct strmap *m) {
        struct strmap *n = strmap_new(m->cap);
        if (!n)
                return -ENOMEM;
        for (size_t i = 0; i < m->cap; i++)
                if (m->keys[i])
                        (void) strmap_put(n, m->keys[i], m->values[i]);
        free(m->keys);
        free(m->values);
        *m = *n;
        free(n);
        return 0;
}

int strmap_put(struct strmap *m, const char *key, uint32_t value) {
        size_t len = strlen(key), i;

        if ((m->n + 1) * 2 > m->cap && strmap_grow(m) < 0)
                return -ENOMEM;
        for (i = hash_bytes(key, len) & (m->cap - 1); m->keys[i]; i = (i + 1) & (m->cap - 1))
                if (strcmp(m->keys[i], key) == 0)
                        return -EEXIST;
        m->keys[i] = key;
        m->values[i] = value;
        m->n++;
        return 0;
}

bool strmap_get(const struct strmap *m, const char *key, size_t keylen, uint32_t *ret) {
        for (size_t i = hash_bytes(key, keylen) & (m->cap - 1); m->keys[i];
             i = (i + 1) & (m->cap - 1))
                if (strncmp(m->keys[i], key, keylen) == 0 && m->keys[i][keylen] == '\0') {
                        *ret = m->values[i];
                        return true;
                }
        return false;
}
