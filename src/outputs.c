/* Sirens and relays (outputs.h). */
#include "outputs.h"
#include "clock.h"
#include "config.h"
#include "gpio.h"
#include "log.h"
#include "mqtt.h"
#include "pins.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct output {
        uint32_t sensor;
        struct gpio_line *line;         /* GPIO: NULL while not held */
        int level;                      /* driven now, -1 unknown */
        int error;                      /* the last failure, 0 if held */
        bool reported;
        bool tell_on;                   /* MQTT plug: "on" not yet sent while connected */
        char consumer[32];
        int awaited;                    /* MQTT plug: the state ("ON" 1, "OFF" 0) it must confirm, -1 none */
        unsigned told;                  /* times the command was sent */
        uint64_t deadline;              /* real monotonic usec, UINT64_MAX: none */
        bool unconfirmed;               /* reported as a device-health problem */
};

struct outputs {
        sd_event *event;
        const struct config *cfg;
        struct mqtt *mqtt;
        void (*health)(uint32_t sensor, enum health_problem problem, bool bad, void *userdata);
        void *userdata;
        struct output *out;
        size_t n;
        enum siren_pattern siren;
        bool relay_cut;
        uint64_t siren_start;           /* real monotonic usec */
        sd_event_source *pulse;         /* the siren pattern's next change */
        sd_event_source *retry;         /* every gpio_supervision: lost lines retried, held ones re-driven */
        sd_event_source *confirm;       /* the earliest plug confirmation deadline */
};

static const struct sensor_conf *conf_of(const struct outputs *o, const struct output *x) {
        return &o->cfg->sensors[x->sensor];
}

static uint64_t now_real(const struct outputs *o) {
        uint64_t t = 0;

        (void) sd_event_now(o->event, CLOCK_MONOTONIC, &t);
        return t;
}

static void lost(struct outputs *o, struct output *x, int error) {
        const struct sensor_conf *s = conf_of(o, x);

        if (error != x->error)
                log_error_errno(error, "%s %s (%s:%d) cannot be driven (%m); trying again every %llu s",
                                sensor_kind_to_string(s->kind), s->id, s->gpio_chip, s->gpio_line,
                                (unsigned long long) (o->cfg->hub.gpio_supervision / USEC_PER_SEC));
        gpio_line_free(x->line);
        x->line = NULL;
        x->error = error;
        x->level = -1;
        if (!x->reported) {
                x->reported = true;
                o->health(x->sensor, HEALTH_GPIO, true, o->userdata);
        }
}

/* Tells a smart plug; false if it could not be sent now (the broker is not
 * connected): outputs_mqtt_connected() tells it again. */
static bool publish_plug(struct outputs *o, const struct sensor_conf *s, bool cut) {
        char topic[512];
        const char *payload = cut ? "{\"state\":\"OFF\"}" : "{\"state\":\"ON\"}";

        if (!o->mqtt)
                return true;
        snprintf(topic, sizeof topic, "%s/set", s->topic);
        if (!mqtt_is_connected(o->mqtt) || mqtt_publish(o->mqtt, topic, payload, strlen(payload), 1, false) < 0) {
                log_warning("relay %s: the plug cannot be told to switch %s now; it is told when the broker is back",
                            s->id, cut ? "off" : "on");
                return false;
        }
        return true;
}

/* The confirmation timer to the earliest plug deadline. */
static void arm_confirm(struct outputs *o) {
        uint64_t next = UINT64_MAX;

        for (size_t i = 0; i < o->n; i++)
                if (o->out[i].deadline < next)
                        next = o->out[i].deadline;
        if (next == UINT64_MAX) {
                (void) sd_event_source_set_enabled(o->confirm, SD_EVENT_OFF);
                return;
        }
        (void) sd_event_source_set_time(o->confirm, next);
        (void) sd_event_source_set_enabled(o->confirm, SD_EVENT_ONESHOT);
}

/* Tells the plug to cut (or restore) and waits for it to say so; false if
 * it could not be sent now (as publish_plug()). */
static bool tell_plug(struct outputs *o, struct output *x, bool cut) {
        int awaited = cut ? 0 : 1;

        if (!publish_plug(o, conf_of(o, x), cut)) {
                x->deadline = UINT64_MAX;       /* told again when the broker is back */
                arm_confirm(o);
                return false;
        }
        x->told = x->awaited == awaited ? x->told + 1 : 1;
        x->awaited = awaited;
        x->deadline = now_real(o) + clock_real_duration(OUTPUTS_CONFIRM_WITHIN);
        arm_confirm(o);
        return true;
}

/* A plug's deadline passed: told once more, then a device-health problem
 * (it stays awaited: a report, or the plug heard from again, settles it). */
static int on_confirm(sd_event_source *s, uint64_t usec, void *userdata) {
        struct outputs *o = userdata;
        uint64_t now = now_real(o);

        for (size_t i = 0; i < o->n; i++) {
                struct output *x = &o->out[i];
                const struct sensor_conf *c = conf_of(o, x);

                if (x->awaited < 0 || x->deadline > now)
                        continue;
                x->deadline = UINT64_MAX;
                if (x->told < OUTPUTS_CONFIRM_TRIES) {
                        log_warning("relay %s: the plug did not confirm \"%s\" in time; telling it again", c->id,
                                    x->awaited ? "ON" : "OFF");
                        (void) tell_plug(o, x, x->awaited == 0);
                } else if (!x->unconfirmed) {
                        log_error("relay %s: the plug did not confirm \"%s\" after %u tries", c->id,
                                  x->awaited ? "ON" : "OFF", x->told);
                        x->unconfirmed = true;
                        o->health(x->sensor, HEALTH_RELAY, true, o->userdata);
                }
        }
        arm_confirm(o);
        return 0;
}

void outputs_event(const struct event *ev, void *userdata) {
        struct outputs *o = userdata;

        for (size_t i = 0; o && i < o->n; i++) {
                struct output *x = &o->out[i];

                if (x->sensor != ev->sensor || x->awaited < 0 || conf_of(o, x)->gpio_chip)
                        continue;
                if (ev->attr == ATTR_RELAY_STATE && (int) ev->value == x->awaited) {
                        x->awaited = -1;
                        x->deadline = UINT64_MAX;
                        x->told = 0;
                        if (x->unconfirmed) {
                                x->unconfirmed = false;
                                log_notice("relay %s: the plug confirms it now", conf_of(o, x)->id);
                                o->health(x->sensor, HEALTH_RELAY, false, o->userdata);
                        }
                        arm_confirm(o);
                } else if (x->unconfirmed && !ev->retained &&
                           (ev->attr == ATTR_RELAY_STATE || (ev->attr == ATTR_ONLINE && ev->value != 0))) {
                        /* Reachable again, and not in the state it must be. */
                        (void) tell_plug(o, x, x->awaited == 0);
                }
        }
}

/* Drives one output to level (GPIO) or tells the plug (MQTT). */
static void drive(struct outputs *o, struct output *x, int level) {
        const struct sensor_conf *s = conf_of(o, x);
        int r;

        if (!s->gpio_chip) {
                /* Only a change is sent, and "on" only after a cut: a plug
                 * someone switched off by hand is left alone. */
                if (x->level != level && (x->level >= 0 || level))
                        x->tell_on = !tell_plug(o, x, level) && !level;
                x->level = level;
                return;
        }
        if (!x->line || x->level == level)
                return;
        r = gpio_line_set(x->line, level);
        if (r < 0) {
                lost(o, x, r);
                return;
        }
        x->level = level;
}

static int wanted(const struct outputs *o, const struct output *x, uint64_t now, uint64_t *next) {
        *next = DEBOUNCE_NEVER;
        if (conf_of(o, x)->kind == SENSOR_RELAY)
                return o->relay_cut;
        return siren_level(o->siren, o->siren_start, now, next);
}

/* Every output to what is wanted now; the pulse timer to the next change. */
static void apply(struct outputs *o) {
        uint64_t now = now_real(o), next = DEBOUNCE_NEVER;

        for (size_t i = 0; i < o->n; i++) {
                uint64_t t;
                drive(o, &o->out[i], wanted(o, &o->out[i], now, &t));
                if (t < next)
                        next = t;
        }
        if (next == DEBOUNCE_NEVER) {
                (void) sd_event_source_set_enabled(o->pulse, SD_EVENT_OFF);
                return;
        }
        (void) sd_event_source_set_time(o->pulse, next);
        (void) sd_event_source_set_enabled(o->pulse, SD_EVENT_ONESHOT);
}

static int on_pulse(sd_event_source *s, uint64_t usec, void *userdata) {
        apply(userdata);
        return 0;
}

static void request(struct outputs *o, struct output *x) {
        const struct sensor_conf *s = conf_of(o, x);
        struct gpio_request req = { .chip = s->gpio_chip, .offset = (unsigned) s->gpio_line,
                                    .active_low = s->active_low, .bias = BIAS_AS_IS, .consumer = x->consumer };
        uint64_t next;
        int level = wanted(o, x, now_real(o), &next), r;

        r = gpio_request_output(&req, level, &x->line);
        if (r < 0) {
                x->line = NULL;
                lost(o, x, r);
                return;
        }
        log_info("gpio: %s %s on %s line %d, active-%s%s", sensor_kind_to_string(s->kind), s->id, s->gpio_chip,
                 s->gpio_line, s->active_low ? "low" : "high", x->error ? " (back)" : "");
        x->level = level;
        x->error = 0;
        if (x->reported) {
                x->reported = false;
                o->health(x->sensor, HEALTH_GPIO, false, o->userdata);
        }
}

/* Every gpio_supervision: lost lines are requested again, held ones are
 * driven again to what they should be (a write to a chip that went away
 * fails: the v1 uAPI gives no other sign of it). */
static int on_supervise(sd_event_source *s, uint64_t usec, void *userdata) {
        struct outputs *o = userdata;

        for (size_t i = 0; i < o->n; i++) {
                struct output *x = &o->out[i];
                int r;
                if (!o->cfg->sensors[x->sensor].gpio_chip)
                        continue;
                if (!x->line)
                        request(o, x);
                else if (x->level >= 0 && (r = gpio_line_set(x->line, x->level)) < 0)
                        lost(o, x, r);
        }
        apply(o);
        (void) sd_event_source_set_time(s, usec + o->cfg->hub.gpio_supervision);
        return 0;
}

int outputs_new(sd_event *e, const struct config *cfg, struct mqtt *mqtt,
                void (*health)(uint32_t sensor, enum health_problem problem, bool bad, void *userdata),
                void *userdata, enum siren_pattern siren, bool relay_cut, struct outputs **ret) {
        struct outputs *o = calloc(1, sizeof *o);
        bool gpio_outputs = false;
        size_t n = 0;
        int r;

        if (!o)
                return -ENOMEM;
        *o = (struct outputs) { .event = e, .cfg = cfg, .mqtt = mqtt, .health = health, .userdata = userdata,
                                .siren = siren, .relay_cut = relay_cut };
        for (size_t i = 0; i < cfg->n_sensors; i++)
                n += config_sensor_is_output(&cfg->sensors[i]);
        o->out = calloc(n + 1, sizeof *o->out);
        if (!o->out) {
                free(o);
                return -ENOMEM;
        }
        /* A siren's 500 ms beat: 1 ms of slack; retries: a second. */
        if ((r = sd_event_add_time(e, &o->pulse, CLOCK_MONOTONIC, UINT64_MAX, USEC_PER_MSEC, on_pulse, o)) < 0 ||
            (r = sd_event_add_time_relative(e, &o->retry, CLOCK_MONOTONIC, cfg->hub.gpio_supervision, USEC_PER_SEC,
                                            on_supervise, o)) < 0 ||
            (r = sd_event_add_time(e, &o->confirm, CLOCK_MONOTONIC, UINT64_MAX, USEC_PER_MSEC, on_confirm, o)) < 0) {
                outputs_free(o);
                return r;
        }
        (void) sd_event_source_set_enabled(o->pulse, SD_EVENT_OFF);
        (void) sd_event_source_set_enabled(o->confirm, SD_EVENT_OFF);
        /* Only GPIO outputs are supervised: none, no wake-ups. */
        for (size_t i = 0; i < cfg->n_sensors; i++)
                gpio_outputs = gpio_outputs || (config_sensor_is_output(&cfg->sensors[i]) && cfg->sensors[i].gpio_chip);
        (void) sd_event_source_set_enabled(o->retry, gpio_outputs ? SD_EVENT_ON : SD_EVENT_OFF);
        o->siren_start = now_real(o);
        for (size_t i = 0; i < cfg->n_sensors; i++) {
                struct output *x;
                if (!config_sensor_is_output(&cfg->sensors[i]))
                        continue;
                x = &o->out[o->n++];
                *x = (struct output) { .sensor = (uint32_t) i, .level = -1, .awaited = -1, .deadline = UINT64_MAX };
                snprintf(x->consumer, sizeof x->consumer, "anjud:%s", cfg->sensors[i].id);
                if (cfg->sensors[i].gpio_chip)
                        request(o, x);
        }
        apply(o);
        *ret = o;
        return 0;
}

bool outputs_set(struct outputs *o, enum siren_pattern siren, bool relay_cut) {
        bool switched = false;

        if (!o || (siren == o->siren && relay_cut == o->relay_cut))
                return false;
        if (siren != o->siren) {
                for (size_t i = 0; i < o->n; i++)
                        if (conf_of(o, &o->out[i])->kind == SENSOR_SIREN)
                                log_notice("siren %s: %s", conf_of(o, &o->out[i])->id, siren_pattern_to_string(siren));
                o->siren = siren;
                o->siren_start = now_real(o);
        }
        if (relay_cut != o->relay_cut) {
                for (size_t i = 0; i < o->n; i++)
                        if (conf_of(o, &o->out[i])->kind == SENSOR_RELAY) {
                                log_notice(relay_cut ? "relay %s: power cut (fire)"
                                                     : "relay %s: power restored (the fire incident is closed)",
                                           conf_of(o, &o->out[i])->id);
                                switched = true;
                        }
                o->relay_cut = relay_cut;
        }
        apply(o);
        return switched;
}

void outputs_mqtt_connected(struct outputs *o) {
        for (size_t i = 0; o && i < o->n; i++) {
                const struct sensor_conf *s = conf_of(o, &o->out[i]);
                if (s->gpio_chip || s->kind != SENSOR_RELAY)
                        continue;
                o->out[i].told = 0;     /* a new connection: a first command again */
                if (o->relay_cut)
                        (void) tell_plug(o, &o->out[i], true);
                else if (o->out[i].tell_on)
                        o->out[i].tell_on = !tell_plug(o, &o->out[i], false);
        }
}

size_t outputs_count(const struct outputs *o) {
        return o ? o->n : 0;
}

bool outputs_sensor_held(const struct outputs *o, uint32_t sensor) {
        for (size_t i = 0; o && i < o->n; i++)
                if (o->out[i].sensor == sensor)
                        return !o->cfg->sensors[sensor].gpio_chip || o->out[i].line;
        return true;
}

size_t outputs_failed(const struct outputs *o) {
        size_t n = 0;

        for (size_t i = 0; o && i < o->n; i++)
                n += o->cfg->sensors[o->out[i].sensor].gpio_chip && !o->out[i].line;
        return n;
}

void outputs_free(struct outputs *o) {
        if (!o)
                return;
        for (size_t i = 0; i < o->n; i++) {
                struct output *x = &o->out[i];
                if (x->line && conf_of(o, x)->kind == SENSOR_SIREN && x->level != 0)
                        (void) gpio_line_set(x->line, 0);
                gpio_line_free(x->line);
        }
        sd_event_source_disable_unref(o->pulse);
        sd_event_source_disable_unref(o->retry);
        sd_event_source_disable_unref(o->confirm);
        free(o->out);
        free(o);
}
