/* Fuzz target: what a client writes to the control socket. The input is
 * split into lines as ctl.c splits its buffer (at '\n', each line
 * NUL-terminated) and each line goes to proto_parse_ctl_request(). A
 * refusal must say why; a request must be an object with a string "cmd".
 * "get" and "set" requests then go where ctlcmd.c sends them,
 * rule_setting_get() and rule_setting_set() on the configuration in
 * force, and what comes back must fit in a JSON answer: jansson refuses
 * invalid UTF-8, and a refused answer is never sent, leaving anjuctl
 * waiting. */
#include "fuzz.h"
#include "proto.h"

#include <errno.h>
#include <jansson.h>
#include <string.h>

static bool json_ok(const char *s) {
        json_t *j = json_string(s);

        json_decref(j);
        return j != NULL;
}

static void request(struct config *c, json_t *req) {
        const char *cmd = json_string_value(json_object_get(req, "cmd"));
        const char *key = json_string_value(json_object_get(req, "key"));
        const char *value = json_string_value(json_object_get(req, "value"));
        const struct rule_params saved = c->rules;
        char val[64], old[64], err[600];
        int r;

        if (!cmd)
                abort();
        if (strcmp(cmd, "get") == 0 && key) {
                r = rule_setting_get(&c->rules, key, val, sizeof val);
                if ((r < 0 && r != -ENOENT) || (r == 0 && !json_ok(val)))
                        abort();
        } else if (strcmp(cmd, "set") == 0 && key && value) {
                err[0] = '\0';
                r = rule_setting_set(&c->rules, key, value, "ctl", old, sizeof old, err, sizeof err);
                if (r < 0 && (!err[0] || !json_ok(err)))
                        abort();
                if (r == 0 && (rule_setting_get(&c->rules, key, val, sizeof val) < 0 || !json_ok(val)))
                        abort();
                c->rules = saved;
        }
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        (void) argc, (void) argv;
        (void) fuzz_config();
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct config *c = fuzz_config();
        char *buf = malloc(size + 1), *line, *nl;
        size_t left = size;

        if (!buf)
                return 0;
        memcpy(buf, data, size);
        line = buf;
        /* A last line without '\n' is still waiting for its end in ctl.c,
         * but parsing it too costs nothing and finds more. */
        while (left > 0) {
                const char *why = NULL;
                json_t *req;

                nl = memchr(line, '\n', left);
                size_t used = nl ? (size_t) (nl - line) + 1 : left;
                line[used - (nl ? 1 : 0)] = '\0';
                req = proto_parse_ctl_request(line, strlen(line), &why);
                if (!req) {
                        if (!why || !*why)
                                abort();
                } else {
                        request(c, req);
                        json_decref(req);
                }
                line += used;
                left -= used;
        }
        free(buf);
        return 0;
}
