/* The hub: owns the event loop and wires the modules together —
 * MQTT messages → decode → rules → incidents → dispatch, with the store
 * underneath. Only this glue and main log what sensors send. */
#pragma once

#include <stdbool.h>

struct config;
struct hub;

struct hub_stats {
        unsigned long long messages;
        unsigned long long events;
        unsigned long long unknown_topic;
        unsigned long long too_large;
        unsigned long long not_json;
        unsigned long long bad_type;
        unsigned long long bad_availability;
        unsigned long long bad_acks;
        unsigned long long acks;
        unsigned long long decisions;
};

/* Builds the hub from cfg (takes ownership: freed by hub_free()). Opens the
 * database, replays the outbox, starts connecting to the broker. */
int hub_new(struct config *cfg, struct hub **ret);
/* Runs until SIGTERM/SIGINT; returns 0 or -errno. */
int hub_run(struct hub *h);
void hub_free(struct hub *h);
/* SIGHUP with a valid file: the loop ended so that main re-executes. */
bool hub_reload_requested(const struct hub *h);
/* The command line to re-execute on reload. */
void hub_set_argv(struct hub *h, char *const *argv);
const struct hub_stats *hub_get_stats(const struct hub *h);
