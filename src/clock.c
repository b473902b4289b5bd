/* The daemon's clock (see clock.h). */
#include "clock.h"
#include "util.h"

#include <sys/timex.h>

static double scale = 1.0;
static uint64_t mono0, wall0;           /* real monotonic and shown wall at start */
static int fixed_start;

void clock_setup(double s, uint64_t start_wall) {
        scale = s >= 1.0 ? s : 1.0;
        mono0 = now_mono();
        wall0 = start_wall ? start_wall : now_wall();
        fixed_start = start_wall != 0;
}

double clock_scale(void) {
        return scale;
}

uint64_t clock_mono(void) {
        uint64_t m = now_mono();

        if (scale == 1.0)
                return m;
        return mono0 + (uint64_t) ((double) (m - mono0) * scale);
}

uint64_t clock_wall(void) {
        if (scale == 1.0 && !fixed_start)
                return now_wall();
        /* Derived from monotonic time: a scaled or shifted clock has no jumps. */
        return wall0 + (clock_mono() - mono0);
}

uint64_t clock_to_real(uint64_t t) {
        if (scale == 1.0 || t <= mono0)
                return t;
        return mono0 + (uint64_t) ((double) (t - mono0) / scale);
}

uint64_t clock_real_duration(uint64_t d) {
        uint64_t r;

        if (scale == 1.0 || d == 0)
                return d;
        r = (uint64_t) ((double) d / scale);
        return r > 0 ? r : 1;
}

static enum clock_sync forced = CLOCK_SYNC_UNKNOWN;

void clock_force_sync(enum clock_sync state) {
        forced = state;
}

enum clock_sync clock_sync_state(void) {
        struct timex tx = { .modes = 0 };
        int r;

        if (forced != CLOCK_SYNC_UNKNOWN)
                return forced;
        r = adjtimex(&tx);
        if (r < 0)
                return CLOCK_SYNC_UNKNOWN;
        return r == TIME_ERROR || (tx.status & STA_UNSYNC) ? CLOCK_UNSYNCED : CLOCK_SYNCED;
}
