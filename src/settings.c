/* Thresholds in force (see settings.h). */
#include "settings.h"
#include "clock.h"
#include "config.h"
#include "log.h"
#include "store.h"
#include "util.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

struct settings {
        const struct config *cfg;
        struct store *store;
        struct rule_params live;
        void (*changed)(void *userdata);
        void *userdata;
};

/* The safe zone's center is the home's position: in the database and the
 * audit, never in the journal (docs/LOCATION.md). */
static const char *shown(const char *key, const char *value) {
        return strcmp(key, "geofence.center") == 0 ? "(a position, not logged)" : value;
}

static int apply_stored(const struct store_setting_row *row, void *ud) {
        struct settings *s = ud;
        char old[64], err[600];

        if (rule_setting_set(&s->live, row->key, row->value, "database", old, sizeof old, err, sizeof err) < 0)
                log_warning("stored setting %s = %s no longer valid, ignored: %s", row->key,
                            shown(row->key, row->value), shown(row->key, err));
        else if (strcmp(old, row->value) != 0)
                log_notice("setting %s = %s (set at run time by %s; the file says %s)", row->key,
                           shown(row->key, row->value), row->actor ? row->actor : "?", shown(row->key, old));
        return 0;
}

int settings_new(const struct config *cfg, struct store *store, struct settings **ret) {
        struct settings *s = calloc(1, sizeof *s);

        if (!s)
                return -ENOMEM;
        s->cfg = cfg;
        s->store = store;
        s->live = cfg->rules;
        /* Thresholds set at run time win over the file's until set again. */
        if (store)
                (void) store_settings_foreach(store, apply_stored, s);
        *ret = s;
        return 0;
}

void settings_free(struct settings *s) {
        free(s);
}

const struct rule_params *settings_params(const struct settings *s) {
        return &s->live;
}

void settings_set_changed_cb(struct settings *s, void (*fn)(void *userdata), void *userdata) {
        s->changed = fn;
        s->userdata = userdata;
}

const char *settings_set(struct settings *s, const char *key, const char *value, const char *actor,
                         const char *channel, char *err, size_t n) {
        char old[64] = "";
        uint64_t at = clock_wall();

        if (rule_setting_set(&s->live, key, value, channel, old, sizeof old, err, n) < 0) {
                if (s->store)
                        (void) store_audit_refused(s->store, key, old[0] ? old : NULL, value, at, actor, channel, err);
                log_warning("setting %s = %s by %s via %s refused: %s", key, shown(key, value), actor, channel,
                            shown(key, err));
                return err;
        }
        log_notice("setting %s changed from %s to %s by %s via %s", key, shown(key, old), shown(key, value), actor,
                   channel);
        if (s->store && store_setting_put(s->store, key, old, value, at, actor, channel) < 0)
                log_error("setting %s: applied but not stored; it will not survive a restart", key);
        if (s->changed)
                s->changed(s->userdata);
        return NULL;
}

int settings_get(const struct settings *s, const char *key, char *buf, size_t n) {
        return rule_setting_get(&s->live, key, buf, n);
}

const char *settings_name(size_t i, char *buf, size_t n) {
        return rule_setting_name(i, buf, n);
}

char *settings_json(const struct settings *s, uint64_t wall) {
        json_t *o = json_object(), *j;
        char name[96], val[64], at[40];
        char *txt;

        /* Retained on a broker every device of the home may read: everything
         * but the home's position (docs/LOCATION.md). */
        for (size_t i = 0; rule_setting_name(i, name, sizeof name); i++)
                if (strcmp(name, "geofence.center") != 0 && rule_setting_get(&s->live, name, val, sizeof val) == 0)
                        json_object_set_new(o, name, json_string(val));
        j = json_pack("{s:s, s:s, s:s, s:o, s:s}", "schema", "anju.config.v1", "hub", s->cfg->hub.id, "risk",
                      risk_tier_to_string(s->cfg->resident.risk), "settings", o, "at",
                      format_rfc3339(at, sizeof at, wall));
        txt = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        json_decref(j);
        return txt;
}
