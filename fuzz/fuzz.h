/* Shared by the libFuzzer targets of fuzz/ (docs/FUZZING.md): the entry
 * points libFuzzer calls, and a configuration built once per process from
 * a fixed text, so every input meets the same sensors and thresholds. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "config.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One sensor of every kind a payload can reach, then variants that take
 * the other paths of the decoder: an inverted door read from a nested key,
 * a cancel button, a wristband whose values sit in nested objects. The
 * decoder target picks one with the first byte of its input. */
#define FUZZ_CONFIG \
        "[hub]\nid = fuzz-hub\nlanguage = en\n" \
        "[resident]\nname = Ye\naddress = Doutan 3-2-301\n" \
        "[dispatch]\nurl = https://dispatch.example.org/api/v1/alarms\n" \
        "[sensor kitchen_smoke]\nkind = smoke\nroom = kitchen\ntopic = zigbee2mqtt/kitchen_smoke\n" \
        "[sensor living_pir]\nkind = motion\nroom = living\ntopic = zigbee2mqtt/living_pir\n" \
        "[sensor front_door]\nkind = door\nroom = hall\ntopic = zigbee2mqtt/front_door\n" \
        "[sensor band]\nkind = wristband\ntopic = band/ye\n" \
        "[sensor sos_button]\nkind = button\ntopic = zigbee2mqtt/sos_button\nsos_actions = emergency, sos\n" \
        "[sensor mains]\nkind = power\ntopic = zigbee2mqtt/mains\n" \
        "[sensor bathroom_leak]\nkind = water\nroom = bathroom\ntopic = zigbee2mqtt/bathroom_leak\n" \
        "[sensor back_door]\nkind = door\ntopic = vendor/back_door\ninvert = true\nkey = state.open\n" \
        "[sensor cancel_button]\nkind = button\ntopic = zigbee2mqtt/cancel_button\nrole = cancel\n" \
        "cancel_actions = single, cancel\n" \
        "[sensor band2]\nkind = wristband\ntopic = band/two\nkey_heart_rate = vitals.hr\n" \
        "key_spo2 = vitals.spo2\nkey_fall = events.fall\nkey_sos = events.sos\nkey_lat = gps.lat\n" \
        "key_lon = gps.lon\nkey_battery = power.battery\nkey_worn = worn\n"

static inline void fuzz_config_error(const char *msg, void *userdata) {
        (void) userdata;
        fprintf(stderr, "fuzz: FUZZ_CONFIG: %s\n", msg);
}

/* The configuration of FUZZ_CONFIG; aborts if it does not load, since
 * every input would then be tested against nothing. */
static inline struct config *fuzz_config(void) {
        static struct config *c;

        if (!c && config_load_string("fuzz.conf", FUZZ_CONFIG, fuzz_config_error, NULL, &c) < 0)
                abort();
        return c;
}
