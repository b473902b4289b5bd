/* libgpiod 1.6 backend of gpio.h: every gpiod_* call of anjud is here. */
#include "gpio.h"

#include <errno.h>
#include <gpiod.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct gpio_line {
        struct gpiod_chip *chip;
        struct gpiod_line *line;
};

static int request_flags(const struct gpio_request *req) {
        int flags = req->active_low ? GPIOD_LINE_REQUEST_FLAG_ACTIVE_LOW : 0;

        switch (req->bias) {
        case BIAS_DISABLE: flags |= GPIOD_LINE_REQUEST_FLAG_BIAS_DISABLE; break;
        case BIAS_PULL_UP: flags |= GPIOD_LINE_REQUEST_FLAG_BIAS_PULL_UP; break;
        case BIAS_PULL_DOWN: flags |= GPIOD_LINE_REQUEST_FLAG_BIAS_PULL_DOWN; break;
        default: break;
        }
        return flags;
}

/* Opens the chip and finds the line: 0 or -errno. */
static int find_line(const char *chip, unsigned offset, struct gpio_line *l) {
        l->chip = gpiod_chip_open_lookup(chip);
        if (!l->chip)
                return errno > 0 ? -errno : -ENOENT;
        if (offset >= gpiod_chip_num_lines(l->chip)) {
                gpiod_chip_close(l->chip);
                l->chip = NULL;
                return -EINVAL;
        }
        l->line = gpiod_chip_get_line(l->chip, offset);
        if (!l->line) {
                int r = errno > 0 ? -errno : -EINVAL;
                gpiod_chip_close(l->chip);
                l->chip = NULL;
                return r;
        }
        return 0;
}

static int request(const struct gpio_request *req, bool output, int initial, struct gpio_line **ret) {
        struct gpio_line *l = calloc(1, sizeof *l);
        int r;

        if (!l)
                return -ENOMEM;
        r = find_line(req->chip, req->offset, l);
        if (r < 0) {
                free(l);
                return r;
        }
        if (output)
                r = gpiod_line_request_output_flags(l->line, req->consumer, request_flags(req), initial ? 1 : 0);
        else
                r = gpiod_line_request_both_edges_events_flags(l->line, req->consumer, request_flags(req));
        if (r < 0) {
                r = errno > 0 ? -errno : -EIO;
                gpio_line_free(l);
                return r;
        }
        *ret = l;
        return 0;
}

int gpio_request_input(const struct gpio_request *req, struct gpio_line **ret) {
        return request(req, false, 0, ret);
}

int gpio_request_output(const struct gpio_request *req, int initial, struct gpio_line **ret) {
        return request(req, true, initial, ret);
}

int gpio_line_fd(const struct gpio_line *l) {
        return gpiod_line_event_get_fd(l->line);
}

int gpio_line_drain(struct gpio_line *l) {
        struct gpiod_line_event ev[16];
        int n = gpiod_line_event_read_multiple(l->line, ev, 16);

        return n < 0 ? (errno > 0 ? -errno : -EIO) : n;
}

int gpio_line_get(struct gpio_line *l) {
        int v = gpiod_line_get_value(l->line);

        return v < 0 ? (errno > 0 ? -errno : -EIO) : v;
}

int gpio_line_set(struct gpio_line *l, int value) {
        return gpiod_line_set_value(l->line, value ? 1 : 0) < 0 ? (errno > 0 ? -errno : -EIO) : 0;
}

void gpio_line_free(struct gpio_line *l) {
        if (!l)
                return;
        if (l->line && gpiod_line_is_requested(l->line))
                gpiod_line_release(l->line);
        if (l->chip)
                gpiod_chip_close(l->chip);
        free(l);
}

int gpio_probe(const char *chip, unsigned offset, char *why, size_t n) {
        struct gpio_line l = { 0 };
        int r = find_line(chip, offset, &l);

        if (r == -EINVAL) {
                struct gpiod_chip *c = gpiod_chip_open_lookup(chip);
                snprintf(why, n, "GPIO chip \"%s\" has no line %u (it has %u: 0 to %u)", chip, offset,
                         c ? gpiod_chip_num_lines(c) : 0, c && gpiod_chip_num_lines(c) ? gpiod_chip_num_lines(c) - 1 : 0);
                if (c)
                        gpiod_chip_close(c);
                return r;
        }
        if (r == -EACCES || r == -EPERM) {
                snprintf(why, n, "GPIO chip \"%s\" cannot be opened: %s (is the user in the chip's group?)", chip,
                         strerror(-r));
                return r;
        }
        if (r < 0) {
                snprintf(why, n, "no GPIO chip \"%s\" (%s); the chips are listed by gpiodetect", chip, strerror(-r));
                return r;
        }
        if (gpiod_line_is_used(l.line)) {
                const char *who = gpiod_line_consumer(l.line);
                if (!who || strncmp(who, "anjud:", 6) != 0) {
                        snprintf(why, n, "GPIO line %u of \"%s\" is used by another program (%s)", offset, chip,
                                 who ? who : "the kernel");
                        r = -EBUSY;
                }
        }
        gpiod_chip_close(l.chip);
        return r;
}
