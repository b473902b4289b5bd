/* The thresholds in force: the file's [rule X] values, then those set at
 * run time (anjuctl set, a signed anju/<hub>/config/set), each checked like
 * the file, applied at once, stored with an audit row naming a verified
 * author, and surviving restarts. settings owns the live copy every rule
 * reads (settings_params()); config stays as the file said. */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct config;
struct rule_params;
struct store;
struct settings;

/* The file's thresholds, then the stored ones over them (a stored value no
 * longer valid is logged and ignored). cfg, store borrowed; store may be NULL. */
int settings_new(const struct config *cfg, struct store *store, struct settings **ret);
void settings_free(struct settings *s);

/* The live thresholds: a pointer that stays valid as long as s. */
const struct rule_params *settings_params(const struct settings *s);

/* Called after every change that was applied. */
void settings_set_changed_cb(struct settings *s, void (*fn)(void *userdata), void *userdata);
/* One change by a verified author (actor) over channel ("ctl", "mqtt"):
 * NULL if applied, else why (written to err), audited either way. Unknown
 * keys: -ENOENT from settings_get() tells. */
const char *settings_set(struct settings *s, const char *key, const char *value, const char *actor,
                         const char *channel, char *err, size_t n);
/* The value in force as text; -ENOENT for an unknown key. */
int settings_get(const struct settings *s, const char *key, char *buf, size_t n);
/* The name of the i-th setting ("inactivity.day_limit"), NULL past the last. */
const char *settings_name(size_t i, char *buf, size_t n);
/* anju.config.v1 (retained on anju/<hub>/config): the risk profile and
 * every setting in force; caller frees. */
char *settings_json(const struct settings *s, uint64_t wall);
