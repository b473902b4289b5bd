/* The messages operators and responders send to anjud, parsed and checked
 * before anything acts on them: pure functions, no I/O (the fuzz targets).
 * Signatures are checked by the hub, over the text these give. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* anju/<hub>/ack: {"incident", "action", "by"?, "note"?, "ts"?, "sig"?} */
struct ack_msg {
        char incident[64];
        char action[16];                /* ack | arrived | resolved | false_alarm | cancel */
        char by[64];                    /* "" if absent */
        char note[256];
        char sig[72];                   /* "" if absent */
        long long ts;                   /* 0 if absent */
};
/* 0, or -EINVAL with why set to a sentence for the log. */
int proto_parse_ack(const void *payload, size_t len, struct ack_msg *ret, const char **why);
/* What sig signs: "<incident>\n<action>\n<by>\n<ts>\n<note>". */
int proto_ack_signed_text(const struct ack_msg *m, char *buf, size_t n);

/* anju/<hub>/config/set: {"key", "value", "by", "ts", "sig"} */
struct config_set_msg {
        char key[96];
        char value[128];
        char by[64];
        char sig[72];
        long long ts;
};
int proto_parse_config_set(const void *payload, size_t len, struct config_set_msg *ret, const char **why);
/* What sig signs: "<hub>\n<key>\n<value>\n<by>\n<ts>" (the hub's id: a
 * message for one hub does not replay on another sharing the key). */
int proto_config_set_signed_text(const struct config_set_msg *m, const char *hub, char *buf, size_t n);

/* One control-socket line: a JSON object with a string "cmd". Returns the
 * object (caller decrefs) or NULL with why. */
json_t *proto_parse_ctl_request(const char *line, size_t len, const char **why);
