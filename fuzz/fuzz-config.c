/* Fuzz target: the configuration parser and validator. The input is one
 * configuration file (config_load_string(), as a file is read by
 * config_load()); a loaded configuration is then read back through the
 * run-time settings interface, as anjuctl get does. Checks: every refusal
 * comes with at least one message, every success with none, and each
 * message is one line of "fuzz.conf..." text. */
#include "fuzz.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

struct seen {
        unsigned n;
};

static void on_error(const char *msg, void *userdata) {
        struct seen *s = userdata;

        if (strncmp(msg, "fuzz.conf:", 10) != 0 || strchr(msg, '\n'))
                abort();
        s->n++;
}

/* Keys that name files are opened at load (key_file, token_file, ...).
 * Paths into /dev, /proc, /sys or /run can name a terminal, a pipe or a
 * FIFO, where a read blocks: a hang of the harness, not of the parser.
 * Such inputs are skipped; every other path is fair game. */
static bool names_blocking_file(const char *text) {
        static const char *const bad[] = { "dev/", "proc/", "sys/", "run/", "fd/" };

        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
                if (strstr(text, bad[i]))
                        return true;
        return false;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        (void) argc, (void) argv;
        /* Names without a '/' would be systemd credentials: keep them
         * relative to the working directory, like a test run. */
        unsetenv("CREDENTIALS_DIRECTORY");
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct seen seen = { 0 };
        struct config *c = NULL;
        char *text, name[96], val[64];
        int r;

        text = malloc(size + 1);
        if (!text)
                return 0;
        memcpy(text, data, size);
        text[size] = '\0';
        if (names_blocking_file(text)) {
                free(text);
                return -1;
        }
        r = config_load_string("fuzz.conf", text, on_error, &seen, &c);
        free(text);
        if (r == 0) {
                if (seen.n != 0 || !c)
                        abort();
                for (size_t i = 0; rule_setting_name(i, name, sizeof name); i++)
                        if (rule_setting_get(&c->rules, name, val, sizeof val) < 0)
                                abort();
                for (size_t i = 0; i < c->n_sensors; i++)
                        if (config_find_sensor(c, c->sensors[i].id) != (int) i)
                                abort();
                config_free(c);
        } else if (r != -EINVAL || seen.n == 0 || c) {
                abort();
        }
        return 0;
}
