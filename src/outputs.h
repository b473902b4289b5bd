/* The outputs: sirens (GPIO) and relays (GPIO, or an MQTT smart plug),
 * driven from what the incidents demand (incidents_outputs()):
 *   siren: continuous while a fire is unanswered, pulsed while a pre-alarm
 *          waits for the resident's cancel, off otherwise (ack, cancel);
 *   relay: cuts the charger's power when a fire opens and restores it only
 *          when that incident is resolved or cancelled, never by itself.
 * GPIO: logical 1 = siren sounding, relay energised (power cut). MQTT relay:
 * {"state":"OFF"} to <topic>/set cuts, {"state":"ON"} restores, exactly as
 * Zigbee2MQTT accepts it; the plug's own state report (Zigbee2MQTT's
 * optimistic one after the plug acknowledged, or the plug's report)
 * confirms it. A plug that does not confirm within 10 s is told once more,
 * then it is a device-health problem (HEALTH_RELAY) until it confirms.
 * A line that cannot be had is a device-health problem (HEALTH_GPIO), retried. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "anju/event.h"
#include "debounce.h"

struct config;
struct mqtt;
struct outputs;

/* Requests every output line, driven at once to the state given (so a
 * restart during a fire never lets the charger's power back on). All
 * borrowed; mqtt may be NULL. health() as in pins.h. */
int outputs_new(sd_event *e, const struct config *cfg, struct mqtt *mqtt,
                void (*health)(uint32_t sensor, enum health_problem problem, bool bad, void *userdata),
                void *userdata, enum siren_pattern siren, bool relay_cut, struct outputs **ret);
/* How long a smart plug has to confirm a command (on the daemon's clock),
 * and how often it is told before that is a device-health problem. */
#define OUTPUTS_CONFIRM_WITHIN (10 * USEC_PER_SEC)
#define OUTPUTS_CONFIRM_TRIES 2
/* A sensor event (a hub tap): a plug's state report confirms a command, a
 * plug heard from again while unconfirmed is told again. userdata: the
 * outputs. */
void outputs_event(const struct event *ev, void *userdata);
/* The state the incidents ask for; changes are logged and driven now.
 * True if a configured relay was switched by this call. */
bool outputs_set(struct outputs *o, enum siren_pattern siren, bool relay_cut);
/* After an MQTT (re)connect: a cut smart plug is told again. */
void outputs_mqtt_connected(struct outputs *o);
/* How many outputs are configured, and how many are not held now. */
size_t outputs_count(const struct outputs *o);
size_t outputs_failed(const struct outputs *o);
/* False if the sensor is a GPIO output whose line is not held now. */
bool outputs_sensor_held(const struct outputs *o, uint32_t sensor);
/* At shutdown: sirens off; a relay stays as the incidents left it (cut
 * while a fire is unresolved); then the lines are released. */
void outputs_free(struct outputs *o);
