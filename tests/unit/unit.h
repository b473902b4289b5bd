/* Shared helpers of the unit tests. */
#pragma once

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "config.h"
#include "../suite.h"

/* Collects config error messages for assertions. */
struct errors {
        char msgs[32][512];
        int n;
};

static inline void collect_error(const char *msg, void *ud) {
        struct errors *e = ud;
        if (e->n < 32)
                snprintf(e->msgs[e->n++], sizeof e->msgs[0], "%s", msg);
}

#define BASE_CONFIG \
        "[hub]\nid = h1\nlanguage = en\ntimezone = Asia/Shanghai\ndatabase = /tmp/x.db\n" \
        "[resident]\nname = Ye\naddress = Doutan 3-2-301\n" \
        "[dispatch]\nurl = http://127.0.0.1:9/x\n"

/* As anjud loads a configuration: the text, then the secret files it
 * names; NULL and -EINVAL if either has an error. */
static inline int load_full_string(const char *name, const char *text, struct errors *e, struct config **ret) {
        int r = config_load_string(name, text, collect_error, e, ret);

        if (r >= 0 && (r = config_load_secrets(*ret, collect_error, NULL, e)) < 0) {
                config_free(*ret);
                *ret = NULL;
        }
        return r;
}

/* Loads BASE_CONFIG + extra; fails the test on any error. */
static inline struct config *load_ok(const char *extra) {
        char text[8192];
        struct errors e = { .n = 0 };
        struct config *c = NULL;

        snprintf(text, sizeof text, "%s%s", BASE_CONFIG, extra);
        int r = load_full_string("test.conf", text, &e, &c);
        ck_assert_msg(r == 0, "config did not load: %s", e.n ? e.msgs[0] : "?");
        return c;
}

