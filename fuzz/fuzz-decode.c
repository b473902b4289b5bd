/* Fuzz target: everything a device can send. The first byte picks the
 * sensor of FUZZ_CONFIG (and whether the message is retained), the rest is
 * the payload, given to decode_state() exactly as MQTT delivers it (not
 * NUL-terminated) and to decode_availability(). */
#include "fuzz.h"
#include "decode.h"
#include "geo.h"

#include <errno.h>
#include <math.h>
#include <string.h>

static bool numeric(enum event_attr a) {
        return a == ATTR_BATTERY || a == ATTR_HEART_RATE || a == ATTR_SPO2 || a == ATTR_STEPS ||
               a == ATTR_LAT || a == ATTR_LON || a == ATTR_ACCURACY;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        (void) argc, (void) argv;
        (void) fuzz_config();
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const struct config *c = fuzz_config();
        struct event out[_ATTR_MAX];
        struct decode_result res;
        uint32_t idx;
        bool retained;
        size_t n, max;
        int r;

        if (size < 1)
                return -1;      /* not worth keeping in the corpus */
        idx = (uint32_t) (data[0] % c->n_sensors);
        retained = data[0] & 0x80;
        /* Now and then a short output array, as a caller with less room. */
        max = (data[0] & 0x40) ? 2 : _ATTR_MAX;
        n = decode_state(&c->sensors[idx], idx, data + 1, size - 1, 1000, 2000, retained, out, max, &res);

        if (n > max || res.error < DECODE_OK || res.error >= _DECODE_ERROR_MAX ||
            !memchr(res.detail, '\0', sizeof res.detail))
                abort();
        if (res.error != DECODE_OK && res.error != DECODE_BAD_TYPE && n > 0)
                abort();        /* a refused message yields no events */
        for (size_t i = 0; i < n; i++) {
                const struct event *ev = &out[i];
                if (ev->sensor != idx || ev->attr < 0 || ev->attr >= _ATTR_MAX || ev->attr == ATTR_ACTION ||
                    ev->mono != 1000 || ev->wall != 2000 || ev->retained != retained || !isfinite(ev->value))
                        abort();
                if (!numeric(ev->attr) && ev->value != 0 && ev->value != 1)
                        abort();        /* booleans are 0/1 in event.value */
                if (ev->attr == ATTR_LOCATION &&
                    (geo_fix_check(ev->fix.lat, ev->fix.lon, ev->fix.accuracy) != GEO_FIX_OK ||
                     (ev->fix.datum != GEO_DATUM_WGS84 && ev->fix.datum != GEO_DATUM_GCJ02)))
                        abort();        /* a position is one, in a datum anjud knows */
        }
        (void) decode_error_to_string(res.error);

        r = decode_availability(data + 1, size - 1);
        if (r != 0 && r != 1 && r != -EBADMSG)
                abort();
        return 0;
}
