/* Logging to stderr, which systemd hands to the journal. */
#include "log.h"
#include "clock.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int max_level = LOG_INFO;
static int journal_stream = -1;   /* -1 unknown, 0 no, 1 yes */

void log_set_max_level(int prio) {
        max_level = prio;
}

int log_get_max_level(void) {
        return max_level;
}

static bool stderr_is_journal(void) {
        const char *e;
        struct stat st;
        unsigned long long dev, ino;

        if (journal_stream >= 0)
                return journal_stream;
        journal_stream = 0;
        e = getenv("JOURNAL_STREAM");
        if (e && sscanf(e, "%llu:%llu", &dev, &ino) == 2 && fstat(STDERR_FILENO, &st) == 0 &&
            (unsigned long long) st.st_dev == dev && (unsigned long long) st.st_ino == ino)
                journal_stream = 1;
        return journal_stream;
}

static const char *level_name(int prio) {
        static const char *const names[] = {
                "EMERG", "ALERT", "CRIT", "ERROR", "WARNING", "NOTICE", "INFO", "DEBUG",
        };
        return names[prio & 7];
}

int log_full(int prio, int error, const char *fmt, ...) {
        char msg[2048];
        va_list ap;
        int saved = errno;

        if (error < 0)
                error = -error;
        if ((prio & 7) > max_level)
                return -error;

        va_start(ap, fmt);
        errno = error;  /* lets callers use %m */
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);

        if (stderr_is_journal())
                fprintf(stderr, "<%d>%s\n", prio & 7, msg);
        else {
                struct timespec ts;
                struct tm tm;
                char when[32];

                /* The daemon's clock: a scaled run logs its simulated time. */
                uint64_t w = clock_wall();
                ts.tv_sec = (time_t) (w / 1000000);
                ts.tv_nsec = (long) (w % 1000000) * 1000;
                localtime_r(&ts.tv_sec, &tm);
                strftime(when, sizeof when, "%H:%M:%S", &tm);
                fprintf(stderr, "%s.%03ld anjud %-7s %s\n", when, ts.tv_nsec / 1000000,
                        level_name(prio), msg);
        }
        errno = saved;
        return -error;
}

bool ratelimit_below(struct ratelimit *rl, uint64_t now, unsigned *ret_suppressed) {
        if (ret_suppressed)
                *ret_suppressed = 0;
        if (rl->begin == 0 || now >= rl->begin + rl->interval) {
                if (ret_suppressed)
                        *ret_suppressed = rl->suppressed;
                rl->begin = now;
                rl->num = 0;
                rl->suppressed = 0;
        }
        if (rl->num < rl->burst) {
                rl->num++;
                return true;
        }
        rl->suppressed++;
        return false;
}
