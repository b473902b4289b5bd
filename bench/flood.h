/* The load generator's engine: QoS 0 (or QoS 1) publishes through libmosquitto at a
 * paced rate, and a raw MQTT sink/subscriber that counts what arrives
 * without the cost of a client library. */
#pragma once

#include <mosquitto.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Topic and payload of message i (both must stay valid until the next call). */
typedef void (*flood_next_fn)(void *ud, unsigned long i, const char **topic, const char **payload, int *len);
/* Called between batches (at least every millisecond while the flood runs). */
typedef void (*flood_tick_fn)(void *ud, uint64_t now);

struct flood {
        struct mosquitto *mosq;
        bool connected;
        unsigned long sent;             /* handed to libmosquitto, all time */
        int qos;                        /* 0, or 1: PUBACKs read as they come */
        unsigned long acked;            /* QoS 1 PUBACKs, all time */
        unsigned long window;           /* QoS 1: at most this many unacknowledged */
};

struct flood_result {
        unsigned long sent;             /* in this run, all written to the socket */
        uint64_t elapsed_ns;            /* first publish .. last byte written */
        double rate;                    /* sent / elapsed */
        uint64_t stalled_ns;            /* time waiting for a full socket to take more */
        unsigned long acked;            /* QoS 1: acknowledged by the end (bounded wait) */
};

void flood_connect(struct flood *f, const char *host, unsigned port);
/* QoS of what flood_run publishes; with 1, at most inflight unacknowledged
 * (0: no limit), as a client library's max_inflight_messages. */
void flood_set_qos(struct flood *f, int qos, unsigned inflight);
void flood_disconnect(struct flood *f);
/* Offers rate messages/s (0: as fast as it can) for duration ns, or until
 * *stop is set (if stop is not NULL). */
void flood_run(struct flood *f, double rate, uint64_t duration, flood_next_fn next, void *ud,
               flood_tick_fn tick, void *tick_ud, const volatile bool *stop, struct flood_result *r);

/* A raw MQTT reader in a thread: either a sink that a publisher connects
 * to (it answers CONNECT with CONNACK), or a subscriber to a broker. It
 * counts PUBLISH packets, reading in 256 KiB chunks. */
struct mqtt_counter {
        int listen_fd, fd, wake[2];
        unsigned port;
        pthread_t thread;
        bool running;
        pthread_mutex_t lock;
        unsigned long publishes;        /* under lock */
        uint64_t last_at;               /* when the last PUBLISH was read */
        bool subscribed;
};

/* A sink on 127.0.0.1: returns its port. */
unsigned counter_start_sink(struct mqtt_counter *c);
/* A subscriber to topic at port; returns once SUBACK arrived. */
void counter_start_subscriber(struct mqtt_counter *c, unsigned port, const char *topic);
unsigned long counter_get(struct mqtt_counter *c, uint64_t *last_at);
void counter_stop(struct mqtt_counter *c);

/* A minimal MQTT server on 127.0.0.1 for one client (anjud): it answers
 * CONNECT, SUBSCRIBE, PINGREQ and QoS 1 PUBLISH, notices "online" on
 * STATUS_TOPIC, and streams QoS 0 PUBLISH packets to it in batches, one
 * write(2) per batch -- a broker that costs next to nothing, so what is
 * measured is the client. A new connection replaces the previous one. */
struct feeder {
        int listen_fd, fd, wake[2];
        unsigned port;
        pthread_t thread;
        bool running;
        pthread_mutex_t lock;           /* the fields below, and every write to fd */
        pthread_cond_t cond;
        bool online;                    /* the current client said "online" */
        uint64_t online_at;
        unsigned subscriptions;         /* topics the current client subscribed */
        unsigned char *batch;           /* the writer's, outside the lock */
        size_t len, cap;
};

unsigned feeder_start(struct feeder *f);
void feeder_reset(struct feeder *f);
/* Waits for "online" from the current client. */
bool feeder_wait_online(struct feeder *f, uint64_t deadline, pid_t *child);
void feeder_run(struct feeder *f, double rate, uint64_t duration, flood_next_fn next, void *ud,
                flood_tick_fn tick, void *tick_ud, struct flood_result *r);
void feeder_stop(struct feeder *f);

/* Writes an MQTT remaining length (1-4 bytes) at p; returns its size. */
size_t flood_put_length(unsigned char *p, size_t len);
