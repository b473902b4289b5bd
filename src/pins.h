/* GPIO sensors on the loop. Each input line's edge-event fd is an io
 * source (no polling); a level that holds for the sensor's debounce window
 * becomes an event exactly like its MQTT twin's. A line that cannot be had
 * (no chip, used by another program, no permission, chip gone) is reported
 * as a device-health problem and tried again every [hub] gpio_supervision
 * (30 s); the other sensors are not affected. Held lines are read at the
 * same interval: the v1 uAPI does not wake an event fd when its chip goes
 * away, and a reading that differs from what was reported is a missed edge. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "anju/event.h"

struct config;
struct pins;

struct pins_callbacks {
        /* A debounced change (or, with ev->retained, the level found at start). */
        void (*event)(const struct event *ev, void *userdata);
        /* The sensor's line was lost (bad) or is back (!bad). */
        void (*health)(uint32_t sensor, bool bad, void *userdata);
};

/* Prepares the GPIO inputs of cfg (both borrowed); pins_start() requests
 * them. Free with pins_free(), which releases the lines. */
int pins_new(sd_event *e, const struct config *cfg, const struct pins_callbacks *cb, void *userdata,
             struct pins **ret);
/* Requests every line and reports the levels found (retained events). */
void pins_start(struct pins *p);
/* GPIO inputs configured, and how many of them are not held now. */
size_t pins_count(const struct pins *p);
size_t pins_failed(const struct pins *p);
/* False if the sensor is a GPIO input whose line is not held now. */
bool pins_sensor_held(const struct pins *p, uint32_t sensor);
void pins_free(struct pins *p);

/* The event a GPIO sensor's debounced logical level means (level 1 =
 * smoke, motion, door contact closed, button pressed, mains failed, leak;
 * `invert` flips it). Returns false if it means nothing (a button's
 * release, or its level at start). Pure; unit-tested. */
bool pins_level_event(const struct config *cfg, uint32_t sensor, int level, bool initial, uint64_t mono,
                      uint64_t wall, struct event *ev);
