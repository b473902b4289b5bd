/* Parsing of acks, remote settings and control requests (see proto.h). */
#include "proto.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define MAX_MESSAGE 4096

static const char *const actions[] = { "ack", "arrived", "resolved", "false_alarm", "cancel", NULL };

/* Copies a JSON string into buf; false if missing (when required), not a
 * string, empty (when required), too long or holding a control character. */
static bool take(json_t *o, const char *key, char *buf, size_t n, bool required) {
        json_t *v = json_object_get(o, key);
        const char *s;
        size_t l;

        buf[0] = '\0';
        if (!v)
                return !required;
        if (!json_is_string(v))
                return false;
        s = json_string_value(v);
        l = json_string_length(v);
        if (l >= n || (required && l == 0) || strlen(s) != l)
                return false;   /* too long, empty, or an embedded NUL */
        for (size_t i = 0; i < l; i++)
                if ((unsigned char) s[i] < 0x20 && s[i] != '\t')
                        return false;
        memcpy(buf, s, l + 1);
        return true;
}

static bool take_ts(json_t *o, long long *ts, bool required) {
        json_t *v = json_object_get(o, "ts");

        *ts = 0;
        if (!v)
                return !required;
        if (!json_is_integer(v) || json_integer_value(v) <= 0)
                return false;
        *ts = (long long) json_integer_value(v);
        return true;
}

static json_t *load_object(const void *payload, size_t len, const char **why) {
        json_t *j;

        if (len > MAX_MESSAGE) {
                *why = "message too large";
                return NULL;
        }
        j = json_loadb(payload, len, JSON_REJECT_DUPLICATES, NULL);
        if (!json_is_object(j)) {
                json_decref(j);
                *why = "not a JSON object";
                return NULL;
        }
        return j;
}

int proto_parse_ack(const void *payload, size_t len, struct ack_msg *m, const char **why) {
        json_t *j = load_object(payload, len, why);
        bool known = false;
        int r = -EINVAL;

        memset(m, 0, sizeof *m);
        if (!j)
                return r;
        if (!take(j, "incident", m->incident, sizeof m->incident, true))
                *why = "\"incident\" must be a short string";
        else if (!take(j, "action", m->action, sizeof m->action, true))
                *why = "\"action\" must be one of ack, arrived, resolved, false_alarm, cancel";
        else if (!take(j, "by", m->by, sizeof m->by, false) || !take(j, "note", m->note, sizeof m->note, false) ||
                 !take(j, "sig", m->sig, sizeof m->sig, false))
                *why = "\"by\", \"note\" and \"sig\" must be short strings";
        else if (!take_ts(j, &m->ts, false))
                *why = "\"ts\" must be Unix seconds";
        else {
                for (int i = 0; actions[i]; i++)
                        known |= strcmp(m->action, actions[i]) == 0;
                if (!known)
                        *why = "\"action\" must be one of ack, arrived, resolved, false_alarm, cancel";
                else
                        r = 0;
        }
        json_decref(j);
        return r;
}

int proto_ack_signed_text(const struct ack_msg *m, char *buf, size_t n) {
        int l = snprintf(buf, n, "%s\n%s\n%s\n%lld\n%s", m->incident, m->action, m->by, m->ts, m->note);
        return l < 0 || (size_t) l >= n ? -ENOBUFS : 0;
}

int proto_parse_config_set(const void *payload, size_t len, struct config_set_msg *m, const char **why) {
        json_t *j = load_object(payload, len, why);
        int r = -EINVAL;

        memset(m, 0, sizeof *m);
        if (!j)
                return r;
        if (!take(j, "key", m->key, sizeof m->key, true) || !take(j, "value", m->value, sizeof m->value, true) ||
            !take(j, "by", m->by, sizeof m->by, true) || !take(j, "sig", m->sig, sizeof m->sig, true))
                *why = "expected {\"key\", \"value\", \"by\", \"ts\", \"sig\"} with short strings";
        else if (!take_ts(j, &m->ts, true))
                *why = "\"ts\" must be Unix seconds";
        else
                r = 0;
        json_decref(j);
        return r;
}

int proto_config_set_signed_text(const struct config_set_msg *m, const char *hub, char *buf, size_t n) {
        int l = snprintf(buf, n, "%s\n%s\n%s\n%s\n%lld", hub, m->key, m->value, m->by, m->ts);
        return l < 0 || (size_t) l >= n ? -ENOBUFS : 0;
}

json_t *proto_parse_ctl_request(const char *line, size_t len, const char **why) {
        json_error_t jerr;
        json_t *j = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);

        if (!json_is_object(j) || !json_is_string(json_object_get(j, "cmd"))) {
                *why = "expected one JSON object with \"cmd\" per line";
                json_decref(j);
                return NULL;
        }
        return j;
}
