/* The control socket for anjuctl (docs/DESIGN.md §9, docs/CONTROL.md): a Unix
 * stream socket on the loop; one JSON object per line each way. Peer
 * credentials (SO_PEERCRED) name the actor; only root, the daemon's own
 * user and members of the `anju` group are served.
 *
 * No client can stall the loop: at most CTL_LINES_PER_TURN requests are
 * carried out per wake-up (the rest on the next turn), none while the
 * answers already queued for that client exceed CTL_OUT_PAUSE (it must
 * read first), a client whose unread answers exceed CTL_MAX_OUT is
 * dropped, a connection that is closing reads nothing more, and one idle
 * (no request, no progress, no command in progress) for the idle timeout
 * ([hub] ctl_idle_timeout) is closed. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

struct ctl;
struct ctl_conn;

/* A request arrived on c (req is borrowed). Answer with ctl_send(), now or
 * later; a conn stays open until the client closes it. */
typedef void (*ctl_request_fn)(struct ctl_conn *c, json_t *req, void *userdata);
/* c is going away (the client closed): forget it. */
typedef void (*ctl_close_fn)(struct ctl_conn *c, void *userdata);
/* Input was refused (why lives as long as the daemon): count it; return
 * true if it may be logged now (rate limit). */
typedef bool (*ctl_refused_fn)(const char *why, void *userdata);

/* Listens on path (replacing a stale socket), mode 0660, group anju if it
 * exists; idle: usec after which a quiet connection is closed. */
int ctl_new(sd_event *e, const char *path, uint64_t idle, ctl_request_fn on_request, ctl_close_fn on_close,
            void *userdata, struct ctl **ret);
void ctl_free(struct ctl *ctl);
void ctl_set_refused_cb(struct ctl *ctl, ctl_refused_fn fn);

#define CTL_MAX_LINE (64 * 1024)
#define CTL_MAX_OUT (1024 * 1024)
#define CTL_OUT_PAUSE (64 * 1024)
#define CTL_LINES_PER_TURN 8
#define CTL_MAX_CONNS 16

/* Queues one line (msg is consumed); written when the socket is writable. */
int ctl_send(struct ctl_conn *c, json_t *msg);
/* "root", a user name, or "uid 1000": who is on the other end. */
const char *ctl_conn_actor(const struct ctl_conn *c);
void ctl_conn_set_data(struct ctl_conn *c, void *data);
void *ctl_conn_get_data(const struct ctl_conn *c);
/* A command is in progress on c (a walk test, a test call): not idle. */
void ctl_conn_set_busy(struct ctl_conn *c, bool busy);
