/* What devices call things: per sensor kind, the JSON keys Zigbee2MQTT
 * and the wristbands use for each attribute, how each value is read, and
 * the words of enum values. A pure table, shared by the configuration
 * (default keys, what "key =" overrides) and the decoder (which reads by
 * it); it depends on neither. docs/DEVICES.md says which device sends
 * which key. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "anju/event.h"

/* How a default key's value becomes an event value. */
enum read_as {
        AS_BOOL,        /* booleans as devices send them (as_bool) */
        AS_NUMBER,      /* a reading, checked against its range */
        AS_ACTION,      /* a button's action: SOS or cancel by the sensor's lists */
        AS_WORDS,       /* an enum string: the value of its word, unknown words ignored */
        AS_FIX,         /* a position: lat, lon and accuracy together (decode_location()) */
};

struct word {
        const char *word;
        double value;
};

/* One row: a kind (or _SENSOR_KIND_INVALID: every kind that reports
 * state, siren and relay excepted), an attribute, a key and how to read it.
 * The first row of a kind and attribute is its primary key, the one
 * "key_<attr> =" replaces; the others are other devices' names for the
 * same thing. */
struct vocab_reader {
        enum sensor_kind kind;
        enum event_attr attr;
        const char *key;
        enum read_as as;
        const struct word *words;       /* AS_WORDS: ends with { NULL, 0 } */
};

extern const struct vocab_reader vocab_readers[];
extern const size_t vocab_n_readers;

/* Does row r apply to a sensor of this kind? */
bool vocab_applies(const struct vocab_reader *r, enum sensor_kind kind);
/* The JSON key a sensor kind reads for an attribute by default, or NULL if
 * that kind does not report the attribute. */
const char *vocab_default_key(enum sensor_kind kind, enum event_attr attr);
/* The attribute "key =" overrides for this kind, or -1 (wristband: none). */
enum event_attr vocab_main_attr(enum sensor_kind kind);
