/* GPIO inputs on the loop (pins.h). */
#include "pins.h"
#include "clock.h"
#include "config.h"
#include "debounce.h"
#include "gpio.h"
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pin {
        struct pins *owner;
        uint32_t sensor;
        struct gpio_line *line;         /* NULL while not held */
        sd_event_source *io;
        sd_event_source *timer;         /* the debounce deadline, or the next retry */
        struct debounce db;
        int error;                      /* the last failure, 0 if held */
        bool reported;                  /* the sensor's health is bad on record */
        bool held_before;               /* its level at start was reported */
        char consumer[32];
};

struct pins {
        sd_event *event;
        sd_event_source *check;         /* every gpio_supervision: held lines read */
        const struct config *cfg;
        struct pins_callbacks cb;
        void *userdata;
        struct pin *pin;
        size_t n;
};

static const struct sensor_conf *conf_of(const struct pin *p) {
        return &p->owner->cfg->sensors[p->sensor];
}

bool pins_level_event(const struct config *cfg, uint32_t sensor, int level, bool initial, uint64_t mono,
                      uint64_t wall, struct event *ev) {
        const struct sensor_conf *s = &cfg->sensors[sensor];
        int v = (level != 0) ^ s->invert;

        *ev = (struct event) { .sensor = sensor, .value = v, .mono = mono, .wall = wall, .retained = initial };
        switch (s->kind) {
        case SENSOR_SMOKE: ev->attr = ATTR_SMOKE; return true;
        case SENSOR_MOTION: ev->attr = ATTR_MOTION; return true;
        case SENSOR_DOOR: ev->attr = ATTR_DOOR_OPEN; ev->value = !v; return true;
        case SENSOR_WATER: ev->attr = ATTR_WATER_LEAK; return true;
        case SENSOR_POWER: ev->attr = ATTR_POWER_FAIL; return true;
        /* A pressure mat wired as a contact: closed is someone on it. */
        case SENSOR_BED: ev->attr = ATTR_OUT_OF_BED; ev->value = !v; return true;
        case SENSOR_BUTTON:
                /* A press is an event, not a level: a button held down at
                 * start is not a press, nor is a release. */
                if (initial || !v)
                        return false;
                ev->attr = s->role == BUTTON_CANCEL ? ATTR_CANCEL : ATTR_SOS;
                ev->value = 1;
                return true;
        default:
                return false;
        }
}

static void report(struct pin *p, int level, bool initial) {
        struct event ev;

        log_debug("gpio: sensor %s now %d%s", conf_of(p)->id, level, initial ? " (at start)" : "");
        if (pins_level_event(p->owner->cfg, p->sensor, level, initial, clock_mono(), clock_wall(), &ev))
                p->owner->cb.event(&ev, p->owner->userdata);
        else if (initial && level && conf_of(p)->kind == SENSOR_BUTTON)
                log_warning("gpio: button %s is pressed at start (stuck or wired the wrong way?), ignoring",
                            conf_of(p)->id);
}

static uint64_t now_real(const struct pin *p) {
        uint64_t t = 0;

        (void) sd_event_now(p->owner->event, CLOCK_MONOTONIC, &t);
        return t;
}

static void arm(struct pin *p, uint64_t at) {
        if (at == DEBOUNCE_NEVER) {
                (void) sd_event_source_set_enabled(p->timer, SD_EVENT_OFF);
                return;
        }
        (void) sd_event_source_set_time(p->timer, at);
        (void) sd_event_source_set_enabled(p->timer, SD_EVENT_ONESHOT);
}

static void lose(struct pin *p, int error, const char *what);

static void feed(struct pin *p) {
        uint64_t next;
        int level = gpio_line_get(p->line);

        if (level < 0) {
                lose(p, level, "reading");
                return;
        }
        if (debounce_feed(&p->db, level, now_real(p), &next))
                report(p, p->db.stable, false);
        arm(p, next);
}

static int on_edge(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct pin *p = userdata;
        int r = gpio_line_drain(p->line);

        if (r < 0 || (revents & (EPOLLERR | EPOLLHUP))) {
                lose(p, r < 0 ? r : -ENODEV, "watching");
                return 0;
        }
        /* The v1 uAPI merges edges that come close together, so the edge
         * types are not trusted: the level now is what counts. */
        feed(p);
        return 0;
}

static void try_request(struct pin *p);

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        struct pin *p = userdata;
        uint64_t next;

        if (!p->line) {
                try_request(p);
                return 0;
        }
        if (debounce_poll(&p->db, usec, &next))
                report(p, p->db.stable, false);
        arm(p, next);
        return 0;
}

/* The line is not held (lost, or not had): released, tried again after
 * gpio_supervision, and a device-health problem once. */
static void unheld(struct pin *p, int error) {
        p->io = sd_event_source_disable_unref(p->io);
        gpio_line_free(p->line);
        p->line = NULL;
        p->error = error;
        arm(p, now_real(p) + p->owner->cfg->hub.gpio_supervision);
        if (!p->reported) {
                p->reported = true;
                p->owner->cb.health(p->sensor, true, p->owner->userdata);
        }
}

static void lose(struct pin *p, int error, const char *what) {
        const struct sensor_conf *s = conf_of(p);

        log_error_errno(error, "gpio: sensor %s: line %d of %s failed while %s (%m); not watched, "
                        "trying again every %llu s", s->id, s->gpio_line, s->gpio_chip, what,
                        (unsigned long long) (p->owner->cfg->hub.gpio_supervision / USEC_PER_SEC));
        unheld(p, error);
}

static const char *bias_word(enum gpio_bias b) {
        static const char *const words[] = { "as-is", "disabled", "pull-up", "pull-down" };

        return b >= 0 && b < _BIAS_MAX ? words[b] : "?";
}

static void try_request(struct pin *p) {
        const struct sensor_conf *s = conf_of(p);
        struct gpio_request req = { .chip = s->gpio_chip, .offset = (unsigned) s->gpio_line,
                                    .active_low = s->active_low, .bias = s->bias, .consumer = p->consumer };
        bool again = p->held_before;
        int level, r;

        r = gpio_request_input(&req, &p->line);
        if (r >= 0) {
                level = gpio_line_get(p->line);
                r = level;
        }
        if (r >= 0)
                r = sd_event_add_io(p->owner->event, &p->io, gpio_line_fd(p->line), EPOLLIN, on_edge, p);
        if (r < 0) {
                char why[256];
                /* Said once per kind of failure; the retries are quiet. */
                if (r != p->error) {
                        if (gpio_probe(s->gpio_chip, (unsigned) s->gpio_line, why, sizeof why) >= 0)
                                snprintf(why, sizeof why, "%s", strerror(-r));
                        log_error("gpio: sensor %s (%s:%d) is not watched: %s; trying again every %llu s",
                                  s->id, s->gpio_chip, s->gpio_line, why,
                                  (unsigned long long) (p->owner->cfg->hub.gpio_supervision / USEC_PER_SEC));
                }
                unheld(p, r);
                return;
        }
        p->error = 0;
        log_info("gpio: sensor %s (%s) on %s line %d, active-%s, bias %s, debounce %llu ms%s", s->id,
                 sensor_kind_to_string(s->kind), s->gpio_chip, s->gpio_line, s->active_low ? "low" : "high",
                 bias_word(s->bias), (unsigned long long) (s->debounce / USEC_PER_MSEC), again ? " (back)" : "");
        if (again) {
                /* Back after a failure: a level that differs from the last
                 * one believed is a change, debounced like any other. */
                feed(p);
        } else {
                debounce_init(&p->db, level, s->debounce);
                arm(p, DEBOUNCE_NEVER);
                p->held_before = true;
                report(p, level, true);
        }
        if (p->line && p->reported) {
                p->reported = false;
                p->owner->cb.health(p->sensor, false, p->owner->userdata);
        }
}

/* Every gpio_supervision: each held line is read. An error is a lost line
 * (the v1 uAPI does not wake the event fd when the chip goes away); a
 * level that differs from the last one seen is a missed edge, debounced. */
static int on_check(sd_event_source *s, uint64_t usec, void *userdata) {
        struct pins *ps = userdata;

        for (size_t i = 0; i < ps->n; i++)
                if (ps->pin[i].line)
                        feed(&ps->pin[i]);
        (void) sd_event_source_set_time(s, usec + ps->cfg->hub.gpio_supervision);
        return 0;
}

int pins_new(sd_event *e, const struct config *cfg, const struct pins_callbacks *cb, void *userdata,
             struct pins **ret) {
        struct pins *ps = calloc(1, sizeof *ps);
        size_t n = 0;
        int r;

        if (!ps)
                return -ENOMEM;
        *ps = (struct pins) { .event = e, .cfg = cfg, .cb = *cb, .userdata = userdata };
        for (size_t i = 0; i < cfg->n_sensors; i++)
                n += config_sensor_is_gpio_input(&cfg->sensors[i]);
        ps->pin = calloc(n + 1, sizeof *ps->pin);
        if (!ps->pin) {
                free(ps);
                return -ENOMEM;
        }
        for (size_t i = 0; i < cfg->n_sensors; i++) {
                struct pin *p;
                if (!config_sensor_is_gpio_input(&cfg->sensors[i]))
                        continue;
                p = &ps->pin[ps->n++];
                *p = (struct pin) { .owner = ps, .sensor = (uint32_t) i };
                snprintf(p->consumer, sizeof p->consumer, "anjud:%s", cfg->sensors[i].id);
                /* Debounce windows are tens of ms: 1 ms of slack. */
                r = sd_event_add_time(e, &p->timer, CLOCK_MONOTONIC, UINT64_MAX, USEC_PER_MSEC, on_timer, p);
                if (r < 0) {
                        pins_free(ps);
                        return r;
                }
                (void) sd_event_source_set_enabled(p->timer, SD_EVENT_OFF);
        }
        /* No GPIO inputs, no wake-ups. A second of slack: it is supervision. */
        if (ps->n > 0) {
                r = sd_event_add_time_relative(e, &ps->check, CLOCK_MONOTONIC, cfg->hub.gpio_supervision,
                                               USEC_PER_SEC, on_check, ps);
                if (r < 0) {
                        pins_free(ps);
                        return r;
                }
                (void) sd_event_source_set_enabled(ps->check, SD_EVENT_ON);
        }
        *ret = ps;
        return 0;
}

void pins_start(struct pins *ps) {
        for (size_t i = 0; i < ps->n; i++)
                try_request(&ps->pin[i]);
}

size_t pins_count(const struct pins *ps) {
        return ps ? ps->n : 0;
}

size_t pins_failed(const struct pins *ps) {
        size_t n = 0;

        for (size_t i = 0; ps && i < ps->n; i++)
                n += !ps->pin[i].line;
        return n;
}

bool pins_sensor_held(const struct pins *ps, uint32_t sensor) {
        for (size_t i = 0; ps && i < ps->n; i++)
                if (ps->pin[i].sensor == sensor)
                        return ps->pin[i].line != NULL;
        return true;
}

void pins_free(struct pins *ps) {
        if (!ps)
                return;
        for (size_t i = 0; i < ps->n; i++) {
                sd_event_source_disable_unref(ps->pin[i].io);
                sd_event_source_disable_unref(ps->pin[i].timer);
                gpio_line_free(ps->pin[i].line);
        }
        sd_event_source_disable_unref(ps->check);
        free(ps->pin);
        free(ps);
}
