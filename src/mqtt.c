/* libmosquitto on sd-event. The library's own threads and select() loop are
 * not used: every read, write and keepalive happens on our loop. */
#include "mqtt.h"
#include "config.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>

/* Packets read per wakeup before yielding to other sources (fairness:
 * a flood on the broker must not starve dispatch or timers). */
#define READ_BUDGET 512
/* A turn of reading ends after this long even if more is waiting: a busy
 * session under a storm must not keep the loop from an alarm the other
 * session has already read (issue 16: 13,800 messages in one 4.5 s turn). */
#define READ_TIME_BUDGET (2 * USEC_PER_MSEC)

struct mqtt {
        sd_event *event;
        const struct config *cfg;
        struct mosquitto *mosq;
        mqtt_message_fn on_message;
        void (*on_connected)(bool up, void *userdata);
        bool reloading;
        void *userdata;
        sd_event_source *io;
        sd_event_source *more;          /* reading again after a turn ran out of time */
        int io_fd;
        bool urgent;                    /* life-safety: served before the other sessions */
        bool subscribed;                /* the broker acknowledged every subscription of this connection */
        int last_sub_mid;               /* the last SUBSCRIBE's message id */
        sd_event_source *misc;          /* keepalive pings */
        sd_event_source *reconnect;
        uint64_t backoff;               /* next reconnect delay */
        bool connected;
        bool stopping;
        char *status_topic;             /* NULL unless this session owns the status */
        const char *const *subs;        /* borrowed */
        size_t n_subs;
        char *name;                     /* "" or "safety" */
        bool first_connect_done;
        bool reached;                   /* this attempt got its CONNACK */
        unsigned family_turn;           /* which address family the next attempt binds to */
        bool bound;                     /* a family bind address was ever set */
        struct mqtt_stats stats;
};

static int mosq_to_errno(int rc) {
        switch (rc) {
        case MOSQ_ERR_SUCCESS: return 0;
        case MOSQ_ERR_NOMEM: return -ENOMEM;
        case MOSQ_ERR_INVAL: return -EINVAL;
        case MOSQ_ERR_NO_CONN: return -ENOTCONN;
        case MOSQ_ERR_CONN_REFUSED: return -ECONNREFUSED;
        case MOSQ_ERR_PAYLOAD_SIZE: return -EMSGSIZE;
        case MOSQ_ERR_ERRNO: return errno > 0 ? -errno : -EIO;
        case MOSQ_ERR_TLS: return -EPROTO;
        case MOSQ_ERR_AUTH: return -EACCES;
        default: return -EIO;
        }
}

static void schedule_reconnect(struct mqtt *m);
static void watch_socket(struct mqtt *m);

static void drop_io(struct mqtt *m) {
        /* Must happen before libmosquitto closes the fd, or a reused fd
         * number would be removed from epoll under someone else's feet. */
        m->io = sd_event_source_disable_unref(m->io);
        if (m->more)
                (void) sd_event_source_set_enabled(m->more, SD_EVENT_OFF);
        m->io_fd = -1;
}

static void update_events(struct mqtt *m) {
        uint32_t ev = EPOLLIN | EPOLLRDHUP;

        if (!m->io)
                return;
        if (mosquitto_want_write(m->mosq))
                ev |= EPOLLOUT;
        (void) sd_event_source_set_io_events(m->io, ev);
}

static void handle_loop_error(struct mqtt *m, int rc) {
        if (rc == MOSQ_ERR_SUCCESS)
                return;
        /* on_disconnect normally ran already and scheduled the reconnect. */
        drop_io(m);
        if (m->connected || !m->reconnect) {
                bool was = m->connected;
                m->connected = false;
                m->subscribed = false;
                if (!m->stopping) {
                        log_warning("mqtt%s%s: connection to %s:%u lost: %s", *m->name ? " " : "", m->name,
                                    m->cfg->mqtt.host, m->cfg->mqtt.port, mosquitto_strerror(rc));
                        if (was && m->on_connected)
                                m->on_connected(false, m->userdata);
                        schedule_reconnect(m);
                }
        }
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct mqtt *m = userdata;
        int rc = MOSQ_ERR_SUCCESS;
        /* Before the CONNACK a TLS handshake may be under way. libmosquitto's
         * own loop drives it on "writable" as well as "readable" (loop.c:
         * want_connect), and only loop_read does so of the calls made for
         * an outside loop: a handshake that had to wait for the TCP connect
         * (SSL_ERROR_WANT_WRITE) otherwise never sends its hello, and the
         * session stalls until the keepalive gives up on it. */
        bool handshake = !m->connected;

        if ((revents & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP)) || (handshake && (revents & EPOLLOUT))) {
                uint64_t until = now_mono() + READ_TIME_BUDGET;
                bool drained = false;

                for (int i = 0; i < READ_BUDGET && m->io; i++) {
                        errno = 0;
                        rc = mosquitto_loop_read(m->mosq, 1);
                        /* loop_read returns success on EAGAIN too; errno tells. */
                        if (rc != MOSQ_ERR_SUCCESS || errno == EAGAIN || errno == EWOULDBLOCK) {
                                drained = true;
                                break;
                        }
                        if (now_mono() >= until)
                                break;
                }
                /* Out of budget: the rest after the other sources of this
                 * turn (TLS may hold it where epoll cannot see it). */
                if (!drained && m->io && m->more)
                        (void) sd_event_source_set_enabled(m->more, SD_EVENT_ONESHOT);
                /* Acknowledge at once (TCP_QUICKACK does not stick): a broker with
                 * Nagle on (mosquitto's default) otherwise holds the next message
                 * back until our delayed ACK, 40 ms later (docs/PERFORMANCE.md). */
                if (m->io_fd >= 0)
                        (void) setsockopt(m->io_fd, IPPROTO_TCP, TCP_QUICKACK, &(int) { 1 }, sizeof(int));
                if (rc != MOSQ_ERR_SUCCESS) {
                        handle_loop_error(m, rc);
                        return 0;
                }
                /* The peer hung up during the handshake: libmosquitto takes an
                 * SSL_ERROR_SYSCALL there for "try again" and would wait on a
                 * dead socket until the keepalive. A connected session reads
                 * the end of the stream and says so itself. */
                if (handshake && !m->connected && m->io && (revents & (EPOLLERR | EPOLLHUP | EPOLLRDHUP))) {
                        handle_loop_error(m, MOSQ_ERR_CONN_LOST);
                        return 0;
                }
        }
        if (m->io && ((revents & EPOLLOUT) || mosquitto_want_write(m->mosq))) {
                rc = mosquitto_loop_write(m->mosq, 1);
                if (rc != MOSQ_ERR_SUCCESS) {
                        handle_loop_error(m, rc);
                        return 0;
                }
        }
        /* Packets queued inside callbacks are written on the next EPOLLOUT. */
        update_events(m);
        return 0;
}

static int on_more(sd_event_source *s, void *userdata) {
        struct mqtt *m = userdata;

        return m->io ? on_io(m->io, m->io_fd, EPOLLIN, m) : 0;
}

static void watch_socket(struct mqtt *m) {
        int fd = mosquitto_socket(m->mosq), r;
        int64_t prio = m->urgent ? SD_EVENT_PRIORITY_IMPORTANT : SD_EVENT_PRIORITY_NORMAL;

        drop_io(m);
        if (fd < 0)
                return;
        r = sd_event_add_io(m->event, &m->io, fd, EPOLLIN | EPOLLRDHUP | EPOLLOUT, on_io, m);
        if (r < 0) {
                log_error_errno(r, "mqtt: cannot watch the socket: %m");
                return;
        }
        (void) sd_event_source_set_priority(m->io, prio);
        if (!m->more && sd_event_add_defer(m->event, &m->more, on_more, m) >= 0)
                (void) sd_event_source_set_priority(m->more, prio);
        if (m->more)
                (void) sd_event_source_set_enabled(m->more, SD_EVENT_OFF);
        m->io_fd = fd;
        (void) sd_event_source_set_description(m->io, "mqtt-io");
}

/* The first connection carries the MQTT v5 properties, which libmosquitto
 * keeps for every reconnect: the broker must not send a packet larger than
 * max_packet (it drops it: a poison message never reaches this process),
 * may send up to 65535 QoS 1 messages without waiting for our PUBACKs
 * (nothing waits in its queue of max_queued_messages while we read), and
 * keeps the session a week while we are away. libmosquitto 2.0 has no
 * asynchronous connect with properties: this one TCP connect blocks (the
 * broker is on the gateway or its LAN); every reconnect is asynchronous. */
static int connect_v5(struct mqtt *m) {
        mosquitto_property *props = NULL;
        int rc;

        rc = mosquitto_property_add_int32(&props, MQTT_PROP_MAXIMUM_PACKET_SIZE, m->cfg->mqtt.max_packet);
        if (rc == MOSQ_ERR_SUCCESS)
                rc = mosquitto_property_add_int32(&props, MQTT_PROP_SESSION_EXPIRY_INTERVAL, 7 * 24 * 3600);
        if (rc == MOSQ_ERR_SUCCESS) {
                /* From here libmosquitto keeps the host and the properties. */
                m->first_connect_done = true;
                rc = mosquitto_connect_bind_v5(m->mosq, m->cfg->mqtt.host, (int) m->cfg->mqtt.port,
                                               (int) (m->cfg->mqtt.keepalive / USEC_PER_SEC), NULL, props);
        }
        mosquitto_property_free_all(&props);
        return rc;
}

/* libmosquitto's asynchronous connect keeps the first address whose
 * connect() is "in progress" and never tries the next one (net_mosq.c,
 * net__try_connect_tcp): with a host that has an IPv6 and an IPv4 address
 * ("localhost": ::1 first on many systems) and a broker on only one of them,
 * every reconnect went to the other and failed for ever. So when the host
 * has both families, each attempt binds to one of them ("0.0.0.0" or "::",
 * which skips the other family's addresses), the next family after an
 * attempt that did not get its CONNACK, the same after one that did. */
static void choose_family(struct mqtt *m) {
        struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *ai, *a;
        int families[2], n = 0;

        if (!m->reached)
                m->family_turn++;
        m->reached = false;
        if (getaddrinfo(m->cfg->mqtt.host, NULL, &hints, &ai) != 0)
                return;         /* libmosquitto says why when it tries */
        for (a = ai; a && n < 2; a = a->ai_next)
                if ((a->ai_family == AF_INET || a->ai_family == AF_INET6) && (n == 0 || families[0] != a->ai_family))
                        families[n++] = a->ai_family;
        freeaddrinfo(ai);
        if (n == 0 || (n == 1 && !m->bound))
                return;
        /* Never NULL: libmosquitto 2.0 frees the old value and keeps the pointer. */
        if (mosquitto_string_option(m->mosq, MOSQ_OPT_BIND_ADDRESS,
                                    families[m->family_turn % (unsigned) n] == AF_INET ? "0.0.0.0" : "::") ==
            MOSQ_ERR_SUCCESS)
                m->bound = true;
}

static int on_reconnect(sd_event_source *s, uint64_t usec, void *userdata) {
        struct mqtt *m = userdata;
        int rc;

        m->reconnect = sd_event_source_disable_unref(m->reconnect);
        if (m->first_connect_done)
                choose_family(m);
        rc = !m->first_connect_done ? connect_v5(m) : mosquitto_reconnect_async(m->mosq);
        if (rc != MOSQ_ERR_SUCCESS) {
                log_full(LOG_WARNING, 0, "mqtt%s%s: cannot connect to %s:%u: %s", *m->name ? " " : "", m->name,
                         m->cfg->mqtt.host, m->cfg->mqtt.port,
                         rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
                schedule_reconnect(m);
                return 0;
        }
        watch_socket(m);
        update_events(m);
        return 0;
}

static void schedule_reconnect(struct mqtt *m) {
        uint64_t delay = m->backoff, jitter = 0;
        char when[32];
        int r;

        if (m->stopping || m->reconnect)
                return;
        (void) random_bytes(&jitter, sizeof jitter);
        delay = delay / 2 + jitter % (delay / 2 + 1);
        m->backoff = m->backoff * 2 > m->cfg->mqtt.reconnect_max ? m->cfg->mqtt.reconnect_max
                                                                 : m->backoff * 2;
        r = sd_event_add_time_relative(m->event, &m->reconnect, CLOCK_MONOTONIC, delay,
                                       10 * USEC_PER_MSEC, on_reconnect, m);
        if (r < 0)
                log_error_errno(r, "mqtt: cannot schedule a reconnect: %m");
        else
                log_info("mqtt: reconnecting in %s", format_duration(when, sizeof when, delay));
}

static void on_connect(struct mosquitto *mosq, void *userdata, int rc) {
        struct mqtt *m = userdata;
        int r;

        if (rc != 0) {
                log_error("mqtt: broker %s:%u refused the connection: %s", m->cfg->mqtt.host,
                          m->cfg->mqtt.port, mosquitto_connack_string(rc));
                return;         /* the library disconnects; on_disconnect reschedules */
        }
        m->connected = true;
        m->reached = true;
        m->subscribed = false;
        m->last_sub_mid = -1;
        m->stats.connects++;
        m->backoff = m->cfg->mqtt.reconnect_min;
        /* Subscribing again re-delivers every retained state topic: alarm
         * state is re-read, not trusted to have been seen before. */
        for (size_t i = 0; i < m->n_subs; i += 64) {
                size_t n = m->n_subs - i < 64 ? m->n_subs - i : 64;
                int mid = -1;

                r = mosquitto_subscribe_multiple(mosq, &mid, (int) n, (char *const *) m->subs + i, 1, 0, NULL);
                if (r != MOSQ_ERR_SUCCESS)
                        log_error("mqtt: subscribe failed: %s", mosquitto_strerror(r));
                else
                        m->last_sub_mid = mid;
        }
        log_notice("mqtt: connected to %s:%u%s%s, %zu topics subscribed", m->cfg->mqtt.host, m->cfg->mqtt.port,
                   *m->name ? " as the " : "", *m->name ? m->name : "", m->n_subs);
        /* Up once the broker has the subscriptions (SUBACKs come in order):
         * before that a message on them would not reach this session, and
         * "online" would promise what is not yet true. */
        if (m->last_sub_mid < 0) {
                m->subscribed = true;
                if (m->on_connected)
                        m->on_connected(true, m->userdata);
        }
}

static void on_subscribe(struct mosquitto *mosq, void *userdata, int mid, int qos_count, const int *granted_qos) {
        struct mqtt *m = userdata;

        if (m->subscribed || mid != m->last_sub_mid)
                return;
        m->subscribed = true;
        if (m->on_connected)
                m->on_connected(true, m->userdata);
}

/* QoS 0: the status is said again at every connect and change, and the
 * last will covers a dead connection. At QoS 1 an "online" the broker had
 * not acknowledged when it went away was sent again by libmosquitto on the
 * next connect (with DUP, before anything new): a stale "online" went out
 * while the life-safety session was still down (alarm-path caught it). */
void mqtt_set_status(struct mqtt *m, bool online) {
        if (m && m->connected && m->status_topic)
                (void) mosquitto_publish(m->mosq, NULL, m->status_topic, online ? 6 : 7, online ? "online" : "offline",
                                         0, true);
}

void mqtt_set_reloading(struct mqtt *m) {
        if (m)
                m->reloading = true;
}

void mqtt_set_connected_cb(struct mqtt *m, void (*fn)(bool up, void *userdata)) {
        m->on_connected = fn;
}

static void on_disconnect(struct mosquitto *mosq, void *userdata, int rc) {
        struct mqtt *m = userdata;
        bool was = m->connected;
        int err = errno;        /* why, before drop_io's epoll call overwrites it */

        drop_io(m);
        errno = err;
        m->connected = false;
        m->subscribed = false;
        m->stats.disconnects++;
        if (m->stopping)
                return;
        if (was) {
                log_warning("mqtt%s%s: disconnected from %s:%u: %s", *m->name ? " " : "", m->name, m->cfg->mqtt.host,
                            m->cfg->mqtt.port, rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
                if (m->on_connected)
                        m->on_connected(false, m->userdata);
        }
        schedule_reconnect(m);
}

static void on_message(struct mosquitto *mosq, void *userdata, const struct mosquitto_message *msg) {
        struct mqtt *m = userdata;

        m->stats.received++;
        if (msg->topic && msg->payloadlen >= 0)
                m->on_message(msg->topic, msg->payload, (size_t) msg->payloadlen, msg->retain,
                              m->userdata);
}

/* libmosquitto says why a TLS handshake failed (an unknown CA, a host name
 * the certificate is not for) only to its log callback: the reason goes to
 * our log, next to the "connection lost" it caused. */
static void on_log(struct mosquitto *mosq, void *userdata, int level, const char *str) {
        if (level & (MOSQ_LOG_ERR | MOSQ_LOG_WARNING))
                log_warning("mqtt: %s", str);
}

static int on_misc(sd_event_source *s, uint64_t usec, void *userdata) {
        struct mqtt *m = userdata;
        uint64_t period = m->cfg->mqtt.keepalive / 4;

        if (m->io)
                handle_loop_error(m, mosquitto_loop_misc(m->mosq));
        update_events(m);
        (void) sd_event_source_set_time(s, usec + period);
        return 0;
}

static int setup_auth(struct mqtt *m) {
        const struct config *cfg = m->cfg;
        int rc;

        if (cfg->mqtt.username) {
                rc = mosquitto_username_pw_set(m->mosq, cfg->mqtt.username, cfg->mqtt.password);
                if (rc != MOSQ_ERR_SUCCESS)
                        return mosq_to_errno(rc);
        }
        if (cfg->mqtt.tls_ca_file) {
                rc = mosquitto_tls_set(m->mosq, cfg->mqtt.tls_ca_file, NULL, cfg->mqtt.tls_cert_file,
                                       cfg->mqtt.tls_key_file, NULL);
                if (rc != MOSQ_ERR_SUCCESS)
                        return log_error_errno(mosq_to_errno(rc), "mqtt: TLS setup failed: %s",
                                               mosquitto_strerror(rc));
        }
        return 0;
}

int mqtt_new(sd_event *e, const struct config *cfg, const struct mqtt_session *session, mqtt_message_fn on_msg,
             void *userdata, struct mqtt **ret) {
        char client_id[128];
        struct mqtt *m;
        int r;

        m = calloc(1, sizeof *m);
        if (!m)
                return -ENOMEM;
        m->event = sd_event_ref(e);
        m->cfg = cfg;
        m->on_message = on_msg;
        m->userdata = userdata;
        m->io_fd = -1;
        m->backoff = cfg->mqtt.reconnect_min;
        m->subs = session->topics;
        m->n_subs = session->n_topics;
        /* Each session its own client id: the broker keeps a queue per id. */
        if (cfg->mqtt.client_id)
                snprintf(client_id, sizeof client_id, "%s%s%s", cfg->mqtt.client_id, *session->name ? "-" : "",
                         session->name);
        else
                snprintf(client_id, sizeof client_id, "anjud-%s%s%s", cfg->hub.id, *session->name ? "-" : "",
                         session->name);
        m->urgent = session->urgent;
        if (!(m->name = strdup(session->name)) ||
            (session->status && asprintf(&m->status_topic, "anju/%s/status", cfg->hub.id) < 0)) {
                m->status_topic = NULL;
                r = -ENOMEM;
                goto err;
        }
        /* A persistent session: QoS 1 messages sent while we were away are
         * queued by the broker and delivered on reconnect. */
        m->mosq = mosquitto_new(client_id, false, m);
        if (!m->mosq) {
                r = -errno;
                goto err;
        }
        mosquitto_int_option(m->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
        mosquitto_int_option(m->mosq, MOSQ_OPT_RECEIVE_MAXIMUM, 65535);
        mosquitto_connect_callback_set(m->mosq, on_connect);
        mosquitto_subscribe_callback_set(m->mosq, on_subscribe);
        mosquitto_disconnect_callback_set(m->mosq, on_disconnect);
        mosquitto_message_callback_set(m->mosq, on_message);
        mosquitto_log_callback_set(m->mosq, on_log);
        if (m->status_topic && (r = mosq_to_errno(mosquitto_will_set(m->mosq, m->status_topic, 7, "offline", 1,
                                                                     true))) < 0)
                goto err;
        if ((r = setup_auth(m)) < 0)
                goto err;
        r = sd_event_add_time_relative(e, &m->misc, CLOCK_MONOTONIC, cfg->mqtt.keepalive / 4,
                                       USEC_PER_SEC, on_misc, m);
        if (r < 0)
                goto err;
        (void) sd_event_source_set_enabled(m->misc, SD_EVENT_ON);
        *ret = m;
        return 0;
err:
        mqtt_free(m);
        return r;
}

int mqtt_start(struct mqtt *m) {
        return on_reconnect(NULL, 0, m);
}

void mqtt_free(struct mqtt *m) {
        if (!m)
                return;
        m->stopping = true;
        if (m->mosq && m->connected) {
                /* A clean goodbye: the will is only for unclean ends. A reload
                 * comes straight back: no "offline" flap for the monitors. */
                if (!m->reloading && m->status_topic)
                        (void) mosquitto_publish(m->mosq, NULL, m->status_topic, 7, "offline", 1, true);
                (void) mosquitto_disconnect(m->mosq);
                for (int i = 0; i < 100 && mosquitto_want_write(m->mosq); i++)
                        if (mosquitto_loop_write(m->mosq, 1) != MOSQ_ERR_SUCCESS)
                                break;
        }
        drop_io(m);
        sd_event_source_disable_unref(m->more);
        sd_event_source_disable_unref(m->misc);
        sd_event_source_disable_unref(m->reconnect);
        if (m->mosq)
                mosquitto_destroy(m->mosq);
        free(m->name);
        free(m->status_topic);
        sd_event_unref(m->event);
        free(m);
}

int mqtt_publish(struct mqtt *m, const char *topic, const void *payload, size_t len, int qos,
                 bool retain) {
        int rc;

        if (len > 256 * 1024)
                return -EMSGSIZE;
        rc = mosquitto_publish(m->mosq, NULL, topic, (int) len, payload, qos, retain);
        update_events(m);
        return mosq_to_errno(rc);
}

bool mqtt_is_connected(const struct mqtt *m) {
        return m->connected && m->subscribed;
}

const char *mqtt_name(const struct mqtt *m) {
        return m->name;
}

const struct mqtt_stats *mqtt_get_stats(const struct mqtt *m) {
        return &m->stats;
}
