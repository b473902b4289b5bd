/* One MQTT session: libmosquitto driven by the sd-event loop through its
 * external-loop API (one io source on the socket, EPOLLOUT only while it
 * wants to write, loop_misc on a timer). MQTT v5: a persistent session
 * (messages sent while the hub was away are queued by the broker), a
 * receive maximum that lets the broker send without queuing, and a maximum
 * packet size the broker must respect (a 200 MB message is dropped at the
 * broker, never read here). Reconnects with exponential backoff and jitter,
 * resubscribes; the session that owns the status keeps "online"/"offline"
 * retained on anju/<hub>/status (the offline one as last will). The hub
 * runs two: the life-safety lane and the busy lane (inbox.h). */
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

struct mqtt_session {
        const char *name;               /* for the log and the client id: "" (the main one) or "safety" */
        const char *const *topics;      /* subscribed on every connect (borrowed) */
        size_t n_topics;
        bool status;                    /* owns anju/<hub>/status and the last will */
        bool urgent;                    /* its socket is served before the others' (life-safety) */
};

/* Creates the client on loop e (cfg and the topics borrowed). Free with
 * mqtt_free(). */
int mqtt_new(sd_event *e, const struct config *cfg, const struct mqtt_session *session, mqtt_message_fn on_message,
             void *userdata, struct mqtt **ret);
/* Starts connecting (non-blocking); failures are retried in the loop. */
int mqtt_start(struct mqtt *m);
/* Publishes "offline", disconnects cleanly and frees. NULL is fine. */
void mqtt_free(struct mqtt *m);

/* The hub is reloading: mqtt_free() leaves the retained status alone. */
void mqtt_set_reloading(struct mqtt *m);
/* Called after every (re)connect and subscribe (up) and every lost
 * connection (!up), with the message userdata. */
void mqtt_set_connected_cb(struct mqtt *m, void (*fn)(bool up, void *userdata));

/* Queues a message; it is written when the socket is writable. */
int mqtt_publish(struct mqtt *m, const char *topic, const void *payload, size_t len, int qos,
                 bool retain);
bool mqtt_is_connected(const struct mqtt *m);
/* The retained status ("online"/"offline") on a session that owns it,
 * if that session is connected. */
void mqtt_set_status(struct mqtt *m, bool online);
const char *mqtt_name(const struct mqtt *m);
const struct mqtt_stats *mqtt_get_stats(const struct mqtt *m);
