/* MQTT input and output: libmosquitto driven by the sd-event loop through
 * its external-loop API (one io source on the socket, EPOLLOUT only while
 * it wants to write, loop_misc on a timer). Reconnects with exponential
 * backoff and jitter, resubscribes, keeps "online"/"offline" retained on
 * anju/<hub>/status (the offline one as last will). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <systemd/sd-event.h>

struct config;
struct mqtt;

/* Called for every message on a subscribed topic. */
typedef void (*mqtt_message_fn)(const char *topic, const void *payload, size_t len,
                                bool retained, void *userdata);

struct mqtt_stats {
        unsigned long long received;
        unsigned long long connects;
        unsigned long long disconnects;
};

/* Creates the client on loop e; subscribes to the topics of cfg's sensors
 * (cfg borrowed). Free with mqtt_free(). */
int mqtt_new(sd_event *e, const struct config *cfg, mqtt_message_fn on_message, void *userdata,
             struct mqtt **ret);
/* Starts connecting (non-blocking); failures are retried in the loop. */
int mqtt_start(struct mqtt *m);
/* Publishes "offline", disconnects cleanly and frees. NULL is fine. */
void mqtt_free(struct mqtt *m);

#define MQTT_MAX_EXTRA 4
/* The hub is reloading: mqtt_free() leaves the retained status alone. */
void mqtt_set_reloading(struct mqtt *m);
/* Called after every (re)connect and subscribe, with the message userdata. */
void mqtt_set_connected_cb(struct mqtt *m, void (*fn)(void *userdata));
/* Adds a topic of the hub's own (e.g. anju/<hub>/ack); before mqtt_start(). */
int mqtt_subscribe_extra(struct mqtt *m, const char *topic);

/* Queues a message; it is written when the socket is writable. */
int mqtt_publish(struct mqtt *m, const char *topic, const void *payload, size_t len, int qos,
                 bool retain);
bool mqtt_is_connected(const struct mqtt *m);
const struct mqtt_stats *mqtt_get_stats(const struct mqtt *m);
