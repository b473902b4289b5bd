/* The bad-configuration corpus: every NAME.conf here (and every NAME/
 * directory holding anju.conf and conf.d/) must be refused by config_load()
 * with exactly the messages of NAME.err, one per line, in order. Paths in
 * the messages are relative to this directory, which the runner makes its
 * working directory. Output is TAP.
 *
 *   run-corpus DIR            run every case
 *   run-corpus DIR NAME...    print what NAME yields (to write NAME.err) */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_MSGS 64

struct msgs {
        char *v[MAX_MSGS];
        size_t n;
        size_t dropped;
};

static void collect(const char *msg, void *userdata) {
        struct msgs *m = userdata;

        if (m->n < MAX_MSGS)
                m->v[m->n++] = strdup(msg);
        else
                m->dropped++;
}

static void msgs_free(struct msgs *m) {
        for (size_t i = 0; i < m->n; i++)
                free(m->v[i]);
        m->n = 0;
}

static bool is_dir(const char *name);

/* NAME.conf, or NAME/anju.conf for a case with drop-ins. */
static void case_path(const char *name, char *buf, size_t n) {
        if (is_dir(name))
                snprintf(buf, n, "%s/anju.conf", name);
        else
                snprintf(buf, n, "%s.conf", name);
}

static int load(const char *name, struct msgs *m) {
        char path[512];
        struct config *c = NULL;
        int r;

        case_path(name, path, sizeof path);
        /* As anjud loads it: the file, then the secrets it names. */
        r = config_load(path, collect, m, &c);
        if (r >= 0)
                r = config_load_secrets(c, collect, NULL, m);
        config_free(c);
        return r;
}

/* The expected lines of NAME.err; -errno if there is none. */
static int read_expected(const char *name, struct msgs *m) {
        char path[512], *line = NULL;
        size_t cap = 0;
        ssize_t l;
        FILE *f;

        snprintf(path, sizeof path, "%s.err", name);
        f = fopen(path, "re");
        if (!f)
                return -errno;
        while ((l = getline(&line, &cap, f)) >= 0) {
                if (l > 0 && line[l - 1] == '\n')
                        line[--l] = '\0';
                collect(line, m);
        }
        free(line);
        fclose(f);
        return 0;
}

static bool run_case(const char *name, unsigned num) {
        struct msgs got = { .n = 0 }, want = { .n = 0 };
        bool ok = true;
        int r;

        if (read_expected(name, &want) < 0) {
                printf("not ok %u - %s: cannot read %s.err\n", num, name, name);
                return false;
        }
        r = load(name, &got);
        if (r != -EINVAL) {
                printf("not ok %u - %s: config_load() returned %d, expected -EINVAL\n", num, name, r);
                ok = false;
        } else if (got.dropped || want.dropped) {
                printf("not ok %u - %s: more than %d messages\n", num, name, MAX_MSGS);
                ok = false;
        } else {
                for (size_t i = 0; i < got.n || i < want.n; i++)
                        if (i >= got.n || i >= want.n || strcmp(got.v[i], want.v[i]) != 0)
                                ok = false;
                printf("%s %u - %s (%zu message%s)\n", ok ? "ok" : "not ok", num, name, got.n,
                       got.n == 1 ? "" : "s");
        }
        if (!ok) {
                for (size_t i = 0; i < want.n; i++)
                        printf("#   want: %s\n", want.v[i]);
                for (size_t i = 0; i < got.n; i++)
                        printf("#   got:  %s\n", got.v[i]);
        }
        msgs_free(&got);
        msgs_free(&want);
        return ok;
}

static bool is_dir(const char *name) {
        struct stat st;
        return stat(name, &st) == 0 && S_ISDIR(st.st_mode);
}

/* NAME.conf files and NAME/ directories holding anju.conf. */
static int filter(const struct dirent *d) {
        char path[512];
        size_t l = strlen(d->d_name);

        if (d->d_name[0] == '.')
                return 0;
        if (is_dir(d->d_name)) {
                snprintf(path, sizeof path, "%s/anju.conf", d->d_name);
                return access(path, F_OK) == 0;
        }
        return l > 5 && strcmp(d->d_name + l - 5, ".conf") == 0;
}

int main(int argc, char **argv) {
        struct dirent **list;
        unsigned n_cases = 0, failed = 0;
        int n;

        if (argc < 2 || chdir(argv[1]) < 0) {
                fprintf(stderr, "usage: %s CORPUS-DIR [NAME...]\n", argv[0]);
                return 2;
        }
        /* Secrets named without '/' are read from here, not from a
         * systemd credentials directory the caller may have. */
        unsetenv("CREDENTIALS_DIRECTORY");
        if (argc > 2) {
                for (int i = 2; i < argc; i++) {
                        struct msgs got = { .n = 0 };
                        int r = load(argv[i], &got);
                        for (size_t k = 0; k < got.n; k++)
                                printf("%s\n", got.v[k]);
                        fprintf(stderr, "%s: config_load() = %d, %zu messages\n", argv[i], r, got.n);
                        msgs_free(&got);
                }
                return 0;
        }
        if (access("conf.d", F_OK) == 0) {
                printf("Bail out! %s/conf.d would be read as drop-ins of every case\n", argv[1]);
                return 1;
        }
        n = scandir(".", &list, filter, alphasort);
        if (n < 0) {
                printf("Bail out! cannot list %s: %s\n", argv[1], strerror(errno));
                return 1;
        }
        for (int i = 0; i < n; i++) {
                char *name = list[i]->d_name;

                if (!is_dir(name))
                        name[strlen(name) - 5] = '\0';         /* NAME.conf */
                if (!run_case(name, ++n_cases))
                        failed++;
                free(list[i]);
        }
        free(list);
        printf("1..%u\n", n_cases);
        if (n_cases < 25) {
                printf("# only %u cases: the corpus should cover every class of error\n", n_cases);
                return 1;
        }
        return failed ? 1 : 0;
}
