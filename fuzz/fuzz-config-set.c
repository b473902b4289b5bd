/* Fuzz target: a message on anju/<hub>/config/set (remote configuration),
 * as MQTT delivers it. A parsed message must hold only short, clean
 * strings and a positive ts, and its signed text must split back into its
 * five fields (the hub's id first). The key and value then go where the hub sends them once the
 * signature is good, rule_setting_set() on the configuration in force:
 * a refusal must say why in text that can go into the JSON answer, and an
 * accepted value must read back (rule_setting_get()) as text that sets
 * the same thresholds again. */
#include "fuzz.h"
#include "proto.h"

#include <errno.h>
#include <jansson.h>
#include <string.h>

static bool clean(const char *s, size_t n) {
        const char *end = memchr(s, '\0', n);

        if (!end || end == s)
                return false;
        for (; s < end; s++)
                if ((unsigned char) *s < 0x20 && *s != '\t')
                        return false;
        return true;
}

static bool splits_back(const struct config_set_msg *m, const char *hub, const char *text) {
        char ts[32];
        const char *want[5] = { hub, m->key, m->value, m->by, ts };
        const char *p = text;

        snprintf(ts, sizeof ts, "%lld", m->ts);
        for (int i = 0; i < 5; i++) {
                size_t l = strlen(want[i]);
                if (strncmp(p, want[i], l) != 0)
                        return false;
                p += l;
                if (i < 4 && *p++ != '\n')
                        return false;
        }
        return *p == '\0';
}

/* A string ctlcmd puts into a JSON answer: jansson refuses invalid UTF-8,
 * and then no answer is sent at all. */
static bool json_ok(const char *s) {
        json_t *j = json_string(s);

        json_decref(j);
        return j != NULL;
}

/* Every run-time setting as text (what anjuctl get shows). */
struct settings {
        char v[64][64];
        size_t n;
};

static void snapshot(const struct config *c, struct settings *s) {
        char name[96];

        s->n = 0;
        for (size_t i = 0; i < 64 && rule_setting_name(i, name, sizeof name); i++)
                if (rule_setting_get(&c->rules, name, s->v[s->n++], sizeof s->v[0]) < 0)
                        abort();
}

static bool same(const struct settings *a, const struct settings *b) {
        if (a->n != b->n)
                return false;
        for (size_t i = 0; i < a->n; i++)
                if (strcmp(a->v[i], b->v[i]) != 0)
                        return false;
        return true;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        (void) argc, (void) argv;
        (void) fuzz_config();
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct config *c = fuzz_config();
        const struct rule_params saved = c->rules;
        struct config_set_msg m;
        const char *why = NULL;
        char text[600], old[64], err[600], now[64], old2[64], err2[600];
        struct settings before, after, again;
        int r;

        if (proto_parse_config_set(data, size, &m, &why) < 0) {
                if (!why || !*why)
                        abort();
                return 0;
        }
        if (!clean(m.key, sizeof m.key) || !clean(m.value, sizeof m.value) || !clean(m.by, sizeof m.by) ||
            !clean(m.sig, sizeof m.sig) || m.ts <= 0)
                abort();
        if (proto_config_set_signed_text(&m, c->hub.id, text, sizeof text) < 0 || !splits_back(&m, c->hub.id, text))
                abort();

        snapshot(c, &before);
        err[0] = '\0';
        r = rule_setting_set(&c->rules, m.key, m.value, "mqtt", old, sizeof old, err, sizeof err);
        snapshot(c, &after);
        if (r < 0) {
                /* Refused: says why, in text a JSON answer can carry, and
                 * nothing changed. */
                if ((r != -ENOENT && r != -EINVAL) || !err[0] || !json_ok(err) || !same(&before, &after))
                        abort();
        } else {
                /* Applied: reads back as text that sets the same again. */
                if (rule_setting_get(&c->rules, m.key, now, sizeof now) < 0 || !json_ok(now) || !json_ok(old))
                        abort();
                c->rules = saved;
                if (rule_setting_set(&c->rules, m.key, now, "mqtt", old2, sizeof old2, err2, sizeof err2) < 0)
                        abort();
                snapshot(c, &again);
                if (!same(&after, &again))
                        abort();
        }
        c->rules = saved;
        return 0;
}
