/* GPIO lines through libgpiod. This header is the whole interface; gpio.c
 * (libgpiod 1.6, the kernel's v1 character-device uAPI, as Debian 12 and
 * Raspberry Pi OS 12 ship it) is the only file that calls gpiod_*, so a
 * libgpiod 2 backend is one more file behind the same functions.
 * Levels are logical: the kernel applies active-low. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

struct gpio_line;

struct gpio_request {
        const char *chip;               /* name ("gpiochip0"), path, label or number */
        unsigned offset;                /* line offset on the chip */
        bool active_low;
        enum gpio_bias bias;
        const char *consumer;           /* shown by gpioinfo and in /proc/interrupts */
};

/* Requests an input line with edge events on both edges. The caller owns
 * the line (gpio_line_free). -ENOENT no such chip, -EINVAL no such line,
 * -EBUSY used by another program, -EACCES/-EPERM not allowed. */
int gpio_request_input(const struct gpio_request *req, struct gpio_line **ret);
/* Requests an output line driven to initial (0/1) from the first moment. */
int gpio_request_output(const struct gpio_request *req, int initial, struct gpio_line **ret);

/* The fd that becomes readable when an input line has edge events. */
int gpio_line_fd(const struct gpio_line *l);
/* Reads the pending edge events (call when the fd is readable; it does not
 * block then). Returns how many were read, or -errno (-ENODEV: the chip
 * went away). Their timing is not used: the caller reads the level. */
int gpio_line_drain(struct gpio_line *l);
/* The line's logical level: 0, 1 or -errno. */
int gpio_line_get(struct gpio_line *l);
/* Drives an output line: 0 or -errno. */
int gpio_line_set(struct gpio_line *l, int value);
/* Releases the line and closes its chip. NULL is fine. */
void gpio_line_free(struct gpio_line *l);

/* For --check-config: the chip exists and has the line, and no other
 * program holds it (a holder whose label starts with "anjud:" is this
 * daemon). 0, or -errno with a sentence for people in why. */
int gpio_probe(const char *chip, unsigned offset, char *why, size_t n);
