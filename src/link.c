/* Link supervision (see link.h). */
#include "link.h"
#include "center.h"
#include "clock.h"
#include "config.h"
#include "https.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct link {
        const struct config *cfg;
        struct https *https;
        sd_event_source *timer;
        struct https_req *req;          /* the heartbeat in flight */
        link_health_fn health;
        link_change_fn change;
        void *userdata;
        unsigned failures;
        bool down;
        const char *url;
        struct link_stats stats;
};

static void on_answer(const struct https_result *r, void *userdata) {
        struct link *l = userdata;
        bool ok = r->ok && r->status >= 200 && r->status <= 299;

        l->req = NULL;
        if (ok) {
                l->stats.sent++;
                if (l->down) {
                        l->down = false;
                        log_notice("dispatch: the link to the center is back (%s)", l->url);
                        if (l->change)
                                l->change(true, l->failures, l->userdata);
                }
                l->failures = 0;
                return;
        }
        l->stats.failed++;
        l->failures++;
        log_warning("dispatch: heartbeat to %s failed (%u in a row): %s", l->url, l->failures,
                    r->ok ? "not a 2xx answer" : r->why);
        if (l->failures >= 3 && !l->down) {
                l->down = true;
                if (l->change)
                        l->change(false, l->failures, l->userdata);
        }
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        struct link *l = userdata;
        char key[37], *body = NULL, *headers[CENTER_HEADERS_MAX + 1];
        struct https_post p = {
                .timeout = l->cfg->dispatch.timeout, .ca_file = l->cfg->dispatch.ca_file,
                .insecure = l->cfg->dispatch.insecure,
        };

        (void) sd_event_source_set_time_relative(s, clock_real_duration(l->cfg->dispatch.heartbeat_interval));
        if (l->req || !l->health)
                return 0;       /* the last one is still out: it times out by itself */
        if (uuid_random(key) < 0 || !(body = l->health(l->userdata)))
                return 0;
        /* Alternates to fallback_url as calls do. */
        l->url = center_url(l->cfg, l->failures);
        p.url = l->url;
        p.body = body;
        if (center_headers(l->cfg, key, body, false, headers) == 0) {
                p.headers = (const char *const *) headers;
                (void) https_start(l->https, &p, on_answer, l, &l->req);
                center_headers_free(headers);
        }
        free(body);
        return 0;
}

int link_new(sd_event *e, const struct config *cfg, struct https *https, link_health_fn health,
             link_change_fn change, void *userdata, struct link **ret) {
        struct link *l = calloc(1, sizeof *l);
        int r;

        if (!l)
                return -ENOMEM;
        l->cfg = cfg;
        l->https = https;
        l->health = health;
        l->change = change;
        l->userdata = userdata;
        l->url = cfg->dispatch.url;
        if (cfg->dispatch.heartbeat_interval > 0) {
                r = sd_event_add_time_relative(e, &l->timer, CLOCK_MONOTONIC,
                                               clock_real_duration(cfg->dispatch.heartbeat_interval),
                                               clock_real_duration(USEC_PER_SEC), on_timer, l);
                if (r < 0) {
                        free(l);
                        return r;
                }
                (void) sd_event_source_set_enabled(l->timer, SD_EVENT_ON);
        }
        *ret = l;
        return 0;
}

void link_free(struct link *l) {
        if (!l)
                return;
        https_cancel(l->req);
        sd_event_source_disable_unref(l->timer);
        free(l);
}

bool link_is_up(const struct link *l) {
        return !l->down;
}

const struct link_stats *link_get_stats(const struct link *l) {
        return &l->stats;
}
