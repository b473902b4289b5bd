/* Payload → normalised events. Pure functions, no I/O, no clock: the times
 * are passed in. This is the fuzz target for everything a device can send. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "anju/event.h"

struct sensor_conf;

/* Payloads larger than this are refused unparsed: no real device state is
 * anywhere near it, and parsing 1 MB of garbage must not stall the loop. */
#define DECODE_MAX_PAYLOAD 16384

enum decode_error {
        DECODE_OK,
        DECODE_TOO_LARGE,       /* over DECODE_MAX_PAYLOAD */
        DECODE_NOT_JSON,        /* not a JSON object */
        DECODE_BAD_TYPE,        /* a known key with a value of the wrong type */
        DECODE_NO_VALUE,        /* valid JSON, but none of the sensor's keys */
        _DECODE_ERROR_MAX,
};

struct decode_result {
        enum decode_error error;        /* the worst problem seen */
        char detail[96];                /* e.g. "key smoke: expected a boolean" */
};

/* Decodes one state message of sensor s (index idx) into at most max events
 * stamped with mono/wall. Keys with wrong types are skipped and reported in
 * res; the others still count. Returns the number of events (0..max). */
size_t decode_state(const struct sensor_conf *s, uint32_t idx, const void *payload, size_t len,
                    uint64_t mono, uint64_t wall, bool retained, struct event *out, size_t max,
                    struct decode_result *res);

/* Decodes an availability message: {"state":"online"} or the bare word.
 * 1 online, 0 offline, -EBADMSG otherwise. */
int decode_availability(const void *payload, size_t len);

const char *decode_error_to_string(enum decode_error e);
