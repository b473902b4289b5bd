/* Link supervision (the heartbeat): every [dispatch] heartbeat_interval a
 * signed POST of the hub's health (anju.heartbeat.v1, the body comes from
 * the health callback) to the center; three failures in a row mark the
 * link down, the next success up again; both are reported by callback. */
#pragma once

#include <stdbool.h>
#include <systemd/sd-event.h>

struct config;
struct https;
struct link;

/* A malloc'd anju.heartbeat.v1 body, NULL if none can be made now. */
typedef char *(*link_health_fn)(void *userdata);
/* The link went down (up false, after failures heartbeats) or came back. */
typedef void (*link_change_fn)(bool up, unsigned failures, void *userdata);

/* Starts the heartbeat timer (none if heartbeat_interval is 0). */
int link_new(sd_event *e, const struct config *cfg, struct https *https, link_health_fn health,
             link_change_fn change, void *userdata, struct link **ret);
void link_free(struct link *l);
bool link_is_up(const struct link *l);

struct link_stats {
        unsigned long long sent, failed;
};
const struct link_stats *link_get_stats(const struct link *l);
