/* What devices call things (see vocab.h). */
#include "vocab.h"
#include "util.h"

#define WORDS(...) ((const struct word[]) { __VA_ARGS__, { NULL, 0 } })

/* Every key anju reads by default, per kind (_SENSOR_KIND_INVALID: every
 * kind that reports state, siren and relay excepted). The first row of a
 * kind and attribute is its primary key, the one "key_<attr> =" replaces;
 * the others are other devices' names for the same thing. Several keys of
 * one attribute in one message make one event (see combine()). Names are
 * Zigbee2MQTT's "exposes" (zigbee-herdsman-converters 26.105.0; the device
 * corpus tests/devices/corpus and docs/DEVICES.md say which device sends
 * which). */
const struct vocab_reader vocab_readers[] = {
        { SENSOR_SMOKE, ATTR_SMOKE, "smoke", AS_BOOL, NULL },
        /* Motion: occupancy; a vibration sensor's handled object. "drop" is
         * the sensor itself falling: neither a fall nor activity. */
        { SENSOR_MOTION, ATTR_MOTION, "occupancy", AS_BOOL, NULL },
        { SENSOR_MOTION, ATTR_ACTIVITY, "action", AS_WORDS, WORDS({ "vibration", 1 }, { "tilt", 1 }) },
        { SENSOR_DOOR, ATTR_DOOR_OPEN, "contact", AS_BOOL, NULL },
        { SENSOR_WATER, ATTR_WATER_LEAK, "water_leak", AS_BOOL, NULL },
        { SENSOR_BUTTON, ATTR_ACTION, "action", AS_ACTION, NULL },
        /* Feibit SEB01ZB: a stateful "sos" that Zigbee2MQTT repeats. */
        { SENSOR_BUTTON, ATTR_SOS_STATE, "sos", AS_BOOL, NULL },
        { SENSOR_POWER, ATTR_POWER_FAIL, "power_fail", AS_BOOL, NULL },
        { SENSOR_SMOKE, ATTR_SELF_TEST, "test", AS_BOOL, NULL },
        { SENSOR_WRISTBAND, ATTR_HEART_RATE, "heart_rate", AS_NUMBER, NULL },
        { SENSOR_WRISTBAND, ATTR_SPO2, "spo2", AS_NUMBER, NULL },
        { SENSOR_WRISTBAND, ATTR_FALL, "fall", AS_BOOL, NULL },
        { SENSOR_WRISTBAND, ATTR_SOS, "sos", AS_BOOL, NULL },
        { SENSOR_WRISTBAND, ATTR_CANCEL, "cancel", AS_BOOL, NULL },
        { SENSOR_WRISTBAND, ATTR_WORN, "worn", AS_BOOL, NULL },
        { SENSOR_WRISTBAND, ATTR_STEPS, "steps", AS_NUMBER, NULL },
        { SENSOR_WRISTBAND, ATTR_LAT, "lat", AS_NUMBER, NULL },
        { SENSOR_WRISTBAND, ATTR_LON, "lon", AS_NUMBER, NULL },
        { SENSOR_WRISTBAND, ATTR_ACCURACY, "accuracy", AS_NUMBER, NULL },
        /* The same three in one object, as 4G bands' bridges send them. */
        { SENSOR_WRISTBAND, ATTR_LOCATION, "location", AS_FIX, NULL },
        /* mmWave radars: presence is someone there, movement is activity
         * (a motion value: each new moving value is movement). */
        { SENSOR_PRESENCE, ATTR_PRESENCE, "presence", AS_BOOL, NULL },
        { SENSOR_PRESENCE, ATTR_PRESENCE, "occupancy", AS_BOOL, NULL },
        { SENSOR_PRESENCE, ATTR_MOTION, "movement", AS_WORDS,
          WORDS({ "movement", 1 }, { "no_movement", 0 }, { "no_presence", 0 }) },
        { SENSOR_PRESENCE, ATTR_MOTION, "motion_state", AS_WORDS,
          WORDS({ "large", 1 }, { "small", 2 }, { "medium", 3 }, { "far", 4 }, { "near", 5 }, { "static", 0 },
                { "none", 0 }) },
        { SENSOR_PRESENCE, ATTR_MOTION, "presence_event", AS_WORDS,
          WORDS({ "enter", 1 }, { "leave", 2 }, { "left_enter", 3 }, { "right_leave", 4 }, { "right_enter", 5 },
                { "left_leave", 6 }, { "approach", 7 }, { "away", 8 }) },
        /* Room fall detectors: the fall, presence and movement. */
        { SENSOR_FALL, ATTR_FALL_STATE, "fall_status", AS_WORDS,
          WORDS({ "normal", 0 }, { "fall_warning", 1 }, { "fall_alarm", 2 }) },
        { SENSOR_FALL, ATTR_FALL_STATE, "fall_down_status", AS_WORDS,
          WORDS({ "none", 0 }, { "maybe_fall", 1 }, { "fall", 2 }) },
        { SENSOR_FALL, ATTR_FALL_STATE, "status", AS_WORDS,
          WORDS({ "falling", 2 }, { "unoccupied", 0 }, { "occupied", 0 }, { "sitting", 0 }, { "on_the_bed", 0 },
                { "low_posture", 0 }) },
        { SENSOR_FALL, ATTR_PRESENCE, "occupancy", AS_BOOL, NULL },
        { SENSOR_FALL, ATTR_PRESENCE, "presence", AS_BOOL, NULL },
        { SENSOR_FALL, ATTR_PRESENCE, "status", AS_WORDS,
          WORDS({ "unoccupied", 0 }, { "occupied", 1 }, { "sitting", 1 }, { "on_the_bed", 1 }, { "low_posture", 1 },
                { "falling", 1 }) },
        { SENSOR_FALL, ATTR_MOTION, "sensor_status", AS_WORDS, WORDS({ "activity", 1 }, { "none", 0 }) },
        { SENSOR_FALL, ATTR_MOTION, "motion_direction", AS_WORDS,
          WORDS({ "moving_forward", 1 }, { "moving_backward", 2 }, { "standing_still", 0 }) },
        { SENSOR_FALL, ATTR_MOTION, "movement", AS_WORDS,
          WORDS({ "movement", 1 }, { "no_movement", 0 }, { "no_presence", 0 }) },
        { SENSOR_BED, ATTR_OUT_OF_BED, "contact", AS_BOOL, NULL },
        { SENSOR_RELAY, ATTR_RELAY_STATE, "state", AS_WORDS, WORDS({ "ON", 1 }, { "OFF", 0 }) },
        /* Every battery device, whatever its kind. Tuya says the battery
         * state in words; "fault" and "trouble" are device-health. */
        { _SENSOR_KIND_INVALID, ATTR_TAMPER, "tamper", AS_BOOL, NULL },
        { _SENSOR_KIND_INVALID, ATTR_BATTERY, "battery", AS_NUMBER, NULL },
        { _SENSOR_KIND_INVALID, ATTR_BATTERY_LOW, "battery_low", AS_BOOL, NULL },
        { _SENSOR_KIND_INVALID, ATTR_BATTERY_LOW, "battery_state", AS_WORDS,
          WORDS({ "low", 1 }, { "medium", 0 }, { "middle", 0 }, { "high", 0 }) },
        { _SENSOR_KIND_INVALID, ATTR_FAULT, "fault", AS_BOOL, NULL },
        { _SENSOR_KIND_INVALID, ATTR_FAULT, "trouble", AS_BOOL, NULL },
};

const size_t vocab_n_readers = ELEMENTSOF(vocab_readers);

bool vocab_applies(const struct vocab_reader *r, enum sensor_kind kind) {
        if (r->kind != _SENSOR_KIND_INVALID)
                return r->kind == kind;
        return kind != SENSOR_SIREN && kind != SENSOR_RELAY;
}

const char *vocab_default_key(enum sensor_kind kind, enum event_attr attr) {
        for (size_t i = 0; i < vocab_n_readers; i++)
                if (vocab_readers[i].attr == attr && vocab_applies(&vocab_readers[i], kind))
                        return vocab_readers[i].key;
        return NULL;
}

enum event_attr vocab_main_attr(enum sensor_kind kind) {
        if (kind == SENSOR_WRISTBAND)
                return _ATTR_INVALID;
        for (size_t i = 0; i < vocab_n_readers; i++)
                if (vocab_readers[i].kind == kind && vocab_readers[i].kind != _SENSOR_KIND_INVALID)
                        return vocab_readers[i].attr;
        return _ATTR_INVALID;
}

