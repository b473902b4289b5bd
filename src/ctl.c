/* The control socket (see ctl.h). Non-blocking on both sides: a slow or
 * stuck client only grows its own output buffer (bounded), never the loop. */
#include "ctl.h"
#include "log.h"
#include "proto.h"
#include "util.h"
#include "anju/event.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

struct ctl_conn {
        struct ctl *ctl;
        struct ctl_conn *prev, *next;
        int fd;
        sd_event_source *io;
        sd_event_source *more;          /* requests left over from the last turn */
        sd_event_source *idle;
        char in[CTL_MAX_LINE];
        size_t in_len;
        char *out;
        size_t out_len, out_cap;
        char actor[64];
        void *data;
        bool closing;                   /* close once out is written; read nothing more */
        bool busy;
};

struct ctl {
        sd_event *event;
        int fd;
        char *path;
        sd_event_source *io;
        struct ctl_conn *conns;
        unsigned n_conns;
        sd_event_source *pause;         /* accept paused after EMFILE */
        uint64_t idle;
        ctl_request_fn on_request;
        ctl_close_fn on_close;
        ctl_refused_fn on_refused;
        void *userdata;
};

/* Counted by the owner (anjuctl status "refused.ctl"); true: log it now. */
static bool refused(struct ctl *ctl, const char *why) {
        return ctl->on_refused ? ctl->on_refused(why, ctl->userdata) : true;
}

void ctl_set_refused_cb(struct ctl *ctl, ctl_refused_fn fn) {
        ctl->on_refused = fn;
}

static void conn_free(struct ctl_conn *c) {
        struct ctl *ctl = c->ctl;

        if (ctl->on_close)
                ctl->on_close(c, ctl->userdata);
        ctl->n_conns--;
        if (c->prev)
                c->prev->next = c->next;
        else
                ctl->conns = c->next;
        if (c->next)
                c->next->prev = c->prev;
        sd_event_source_disable_unref(c->io);
        sd_event_source_disable_unref(c->more);
        sd_event_source_disable_unref(c->idle);
        if (c->fd >= 0)
                close(c->fd);
        free(c->out);
        free(c);
}

/* Reading pauses while the client has not read what it was sent. */
static void update_events(struct ctl_conn *c) {
        uint32_t ev = EPOLLRDHUP | (c->out_len ? EPOLLOUT : 0);

        if (!c->closing && c->out_len < CTL_OUT_PAUSE)
                ev |= EPOLLIN;
        (void) sd_event_source_set_io_events(c->io, ev);
}

static void touch(struct ctl_conn *c) {
        (void) sd_event_source_set_time_relative(c->idle, c->ctl->idle);
        (void) sd_event_source_set_enabled(c->idle, SD_EVENT_ONESHOT);
}

int ctl_send(struct ctl_conn *c, json_t *msg) {
        char *line = msg ? json_dumps(msg, JSON_COMPACT) : NULL;
        size_t l;

        json_decref(msg);
        if (!line)
                return -ENOMEM;
        l = strlen(line);
        if (c->out_len + l + 1 > CTL_MAX_OUT) {
                /* A client that does not read: let it go rather than grow. */
                free(line);
                if (!c->closing && refused(c->ctl, "a client that does not read its answers"))
                        log_warning("ctl: %s does not read its answers (%zu bytes waiting); closing the connection",
                                    c->actor, c->out_len);
                c->closing = true;
                c->in_len = 0;
                update_events(c);
                return -ENOBUFS;
        }
        if (c->out_len + l + 1 > c->out_cap) {
                size_t cap = c->out_cap ? c->out_cap : 4096;
                char *n;
                while (cap < c->out_len + l + 1)
                        cap *= 2;
                n = realloc(c->out, cap);
                if (!n) {
                        free(line);
                        return -ENOMEM;
                }
                c->out = n;
                c->out_cap = cap;
        }
        memcpy(c->out + c->out_len, line, l);
        c->out[c->out_len + l] = '\n';
        c->out_len += l + 1;
        free(line);
        update_events(c);
        return 0;
}

static void handle_line(struct ctl_conn *c, char *line) {
        const char *why = NULL;
        json_t *req = proto_parse_ctl_request(line, strlen(line), &why);

        if (!req) {
                (void) refused(c->ctl, "a request that is not a JSON object with a cmd");
                ctl_send(c, json_pack("{s:b, s:s}", "ok", 0, "error", why));
                return;
        }
        c->ctl->on_request(c, req, c->ctl->userdata);
        json_decref(req);
}

/* Carries out at most CTL_LINES_PER_TURN whole lines of the buffer; the
 * rest waits for the next turn of the loop (or for the client to read). */
static void run_lines(struct ctl_conn *c) {
        char *nl;

        for (unsigned n = 0; n < CTL_LINES_PER_TURN && !c->closing && c->out_len < CTL_OUT_PAUSE &&
                             (nl = memchr(c->in, '\n', c->in_len)); n++) {
                size_t used = (size_t) (nl - c->in) + 1;
                *nl = '\0';
                handle_line(c, c->in);
                memmove(c->in, c->in + used, c->in_len - used);
                c->in_len -= used;
        }
        if (c->closing)
                c->in_len = 0;
        (void) sd_event_source_set_enabled(c->more, !c->closing && c->out_len < CTL_OUT_PAUSE &&
                                                    memchr(c->in, '\n', c->in_len) ? SD_EVENT_ONESHOT : SD_EVENT_OFF);
}

static int on_more(sd_event_source *s, void *userdata) {
        struct ctl_conn *c = userdata;

        run_lines(c);
        update_events(c);
        return 0;
}

static int on_idle(sd_event_source *s, uint64_t usec, void *userdata) {
        struct ctl_conn *c = userdata;

        if (c->busy) {
                touch(c);
                return 0;
        }
        log_info("ctl: closing the idle connection of %s", c->actor);
        conn_free(c);
        return 0;
}

static int on_conn_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct ctl_conn *c = userdata;

        if (revents & EPOLLOUT && c->out_len) {
                ssize_t k = write(c->fd, c->out, c->out_len);
                if (k < 0 && errno != EAGAIN && errno != EINTR) {
                        conn_free(c);
                        return 0;
                }
                if (k > 0) {
                        memmove(c->out, c->out + k, c->out_len - (size_t) k);
                        c->out_len -= (size_t) k;
                        touch(c);
                }
        }
        if (c->closing && c->out_len == 0) {
                conn_free(c);
                return 0;
        }
        if ((revents & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) && !(revents & EPOLLIN)) {
                conn_free(c);   /* the client is gone: nothing more to do for it */
                return 0;
        }
        if ((revents & EPOLLIN) && !c->closing) {
                ssize_t k = read(c->fd, c->in + c->in_len, sizeof c->in - c->in_len);

                if (k == 0 || (k < 0 && errno != EAGAIN && errno != EINTR)) {
                        conn_free(c);
                        return 0;
                }
                if (k > 0) {
                        c->in_len += (size_t) k;
                        touch(c);
                }
                run_lines(c);
                if (c->in_len == sizeof c->in && !memchr(c->in, '\n', c->in_len)) {
                        (void) refused(c->ctl, "a request line over 64 KiB");
                        ctl_send(c, json_pack("{s:b, s:s}", "ok", 0, "error", "request line too long"));
                        c->in_len = 0;
                        c->closing = true;
                }
        }
        update_events(c);
        return 0;
}

/* Root, the daemon's own user, or a member of the anju group. */
static bool allowed(uid_t uid, gid_t gid, char *actor, size_t n) {
        struct passwd *pw = getpwuid(uid);
        struct group *gr = getgrnam("anju");

        if (pw)
                snprintf(actor, n, "%s", pw->pw_name);
        else
                snprintf(actor, n, "uid %u", (unsigned) uid);
        if (uid == 0 || uid == geteuid())
                return true;
        if (!gr)
                return false;
        if (gid == gr->gr_gid)
                return true;
        for (char **m = gr->gr_mem; *m; m++)
                if (pw && strcmp(*m, pw->pw_name) == 0)
                        return true;
        return false;
}

static int on_accept(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct ctl *ctl = userdata;
        struct ucred cred;
        socklen_t len = sizeof cred;
        struct ctl_conn *c;
        int cfd, r;

        cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd < 0) {
                if (errno == EMFILE || errno == ENFILE) {
                        /* Out of descriptors: stop accepting for a second rather
                         * than spin on a listening socket that stays readable. */
                        log_warning("ctl: out of file descriptors; not accepting for 1 s");
                        (void) sd_event_source_set_enabled(ctl->io, SD_EVENT_OFF);
                        (void) sd_event_source_set_time_relative(ctl->pause, USEC_PER_SEC);
                        (void) sd_event_source_set_enabled(ctl->pause, SD_EVENT_ONESHOT);
                }
                return 0;
        }
        if (ctl->n_conns >= CTL_MAX_CONNS) {
                static const char busy[] = "{\"ok\":false,\"error\":\"too many control connections\"}\n";
                (void) !write(cfd, busy, sizeof busy - 1);
                close(cfd);
                if (refused(ctl, "a control connection over the limit of 16"))
                        log_warning("ctl: refused a connection: %d already open", CTL_MAX_CONNS);
                return 0;
        }
        c = calloc(1, sizeof *c);
        if (!c) {
                close(cfd);
                return 0;
        }
        c->ctl = ctl;
        c->fd = cfd;
        ctl->n_conns++;
        c->next = ctl->conns;
        if (ctl->conns)
                ctl->conns->prev = c;
        ctl->conns = c;
        r = sd_event_add_io(ctl->event, &c->io, cfd, EPOLLIN | EPOLLRDHUP, on_conn_io, c);
        if (r >= 0)
                r = sd_event_add_defer(ctl->event, &c->more, on_more, c);
        if (r >= 0)
                r = sd_event_add_time_relative(ctl->event, &c->idle, CLOCK_MONOTONIC, ctl->idle, 10 * USEC_PER_MSEC,
                                               on_idle, c);
        if (r < 0) {
                conn_free(c);
                return 0;
        }
        (void) sd_event_source_set_enabled(c->more, SD_EVENT_OFF);
        if (getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 ||
            !allowed(cred.uid, cred.gid, c->actor, sizeof c->actor)) {
                if (refused(ctl, "a peer that is not root nor in the anju group"))
                        log_warning("ctl: refused a connection from %s: not root, not the anju group",
                                    c->actor[0] ? c->actor : "an unknown peer");
                ctl_send(c, json_pack("{s:b, s:s}", "ok", 0, "error",
                                      "permission denied: only root and the anju group may control anjud"));
                c->closing = true;
                update_events(c);
        }
        return 0;
}

static int on_pause_end(sd_event_source *s, uint64_t usec, void *userdata) {
        struct ctl *ctl = userdata;

        (void) sd_event_source_set_enabled(ctl->io, SD_EVENT_ON);
        return 0;
}

int ctl_new(sd_event *e, const char *path, uint64_t idle, ctl_request_fn on_request, ctl_close_fn on_close,
            void *userdata, struct ctl **ret) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        struct group *gr;
        struct ctl *ctl;
        int r;

        if (strlen(path) >= sizeof sa.sun_path)
                return log_error_errno(ENAMETOOLONG, "ctl: socket path %s is too long", path);
        ctl = calloc(1, sizeof *ctl);
        if (!ctl)
                return -ENOMEM;
        ctl->event = sd_event_ref(e);
        ctl->idle = idle;
        ctl->on_request = on_request;
        ctl->on_close = on_close;
        ctl->userdata = userdata;
        ctl->path = strdup(path);
        ctl->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (!ctl->path || ctl->fd < 0) {
                r = ctl->fd < 0 ? -errno : -ENOMEM;
                goto err;
        }
        snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
        (void) unlink(path);    /* a stale socket from before a crash */
        if (bind(ctl->fd, (struct sockaddr *) &sa, sizeof sa) < 0 || listen(ctl->fd, 16) < 0) {
                r = -errno;
                log_error_errno(-r, "ctl: cannot listen on %s: %m", path);
                goto err;
        }
        (void) chmod(path, 0660);
        /* Under systemd the socket is already the anju group's (Group=anju):
         * no chown, which the unit's system-call filter does not allow. */
        if ((gr = getgrnam("anju")) && getegid() != gr->gr_gid && chown(path, (uid_t) -1, gr->gr_gid) < 0)
                log_debug("ctl: cannot give %s to group anju: %m", path);
        r = sd_event_add_io(e, &ctl->io, ctl->fd, EPOLLIN, on_accept, ctl);
        if (r < 0 || (r = sd_event_add_time(e, &ctl->pause, CLOCK_MONOTONIC, UINT64_MAX, USEC_PER_MSEC,
                                            on_pause_end, ctl)) < 0)
                goto err;
        (void) sd_event_source_set_enabled(ctl->pause, SD_EVENT_OFF);
        *ret = ctl;
        return 0;
err:
        ctl_free(ctl);
        return r;
}

void ctl_free(struct ctl *ctl) {
        if (!ctl)
                return;
        while (ctl->conns)
                conn_free(ctl->conns);
        sd_event_source_disable_unref(ctl->io);
        sd_event_source_disable_unref(ctl->pause);
        if (ctl->fd >= 0) {
                close(ctl->fd);
                if (ctl->path)
                        (void) unlink(ctl->path);
        }
        free(ctl->path);
        sd_event_unref(ctl->event);
        free(ctl);
}

const char *ctl_conn_actor(const struct ctl_conn *c) {
        return c->actor;
}

void ctl_conn_set_data(struct ctl_conn *c, void *data) {
        c->data = data;
}

void *ctl_conn_get_data(const struct ctl_conn *c) {
        return c->data;
}

void ctl_conn_set_busy(struct ctl_conn *c, bool busy) {
        c->busy = busy;
        if (!busy)
                touch(c);
}
