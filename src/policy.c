/* Domain policy (see policy.h): numbers an alarm-system operator can argue
 * with, in one place. docs/RULES.md and docs/ESCALATION.md explain them. */
#include "policy.h"

void policy_rule_params(enum risk_tier risk, struct rule_params *r) {
        *r = (struct rule_params) {
                .fall_window = 30 * USEC_PER_SEC,
                .inactivity = true, .day_start = 7 * 60, .day_end = 22 * 60,
                .day_limit = 4 * USEC_PER_HOUR, .night_limit = 12 * USEC_PER_HOUR,
                .morning_check = true, .morning_from = 5 * 60, .morning_by = 10 * 60,
                .away_after = 10 * USEC_PER_MIN,
                .night_exit = false, .night_start = 22 * 60, .night_end = 6 * 60,
                .night_return = 10 * USEC_PER_MIN,
                .door_open = true, .door_open_limit = 30 * USEC_PER_MIN,
                .bathroom = true, .bathroom_limit = 45 * USEC_PER_MIN,
                .vitals = true, .hr_low = 40, .hr_high = 130, .vitals_sustain = 60 * USEC_PER_SEC,
                .offline_after = 3, .battery_low = 15, .not_worn = 2 * USEC_PER_HOUR,
                .power_delay = 60 * USEC_PER_SEC,
                .bed_exit = false, .bed_start = 22 * 60, .bed_end = 6 * 60,
                .bed_return = 20 * USEC_PER_MIN,
                /* The safe zone needs the home's position: inert until
                 * [rule geofence] center is set, whatever the profile. */
                .geofence = false, .geo_radius = 300,
                .geo_hours = { .always = false, .start_min = 20 * 60, .end_min = 7 * 60 },
                .geo_grace = 10 * USEC_PER_MIN, .geo_min_accuracy = 100, .geo_stale_after = 15 * USEC_PER_MIN,
        };
        if (risk == RISK_ELEVATED) {
                r->day_limit = 3 * USEC_PER_HOUR;
                r->morning_by = 9 * 60 + 30;
                r->night_exit = true;
                r->bed_exit = true;
                r->door_open_limit = 20 * USEC_PER_MIN;
                r->bathroom_limit = 40 * USEC_PER_MIN;
        } else if (risk == RISK_HIGH) {
                r->day_limit = 2 * USEC_PER_HOUR;
                r->night_limit = 10 * USEC_PER_HOUR;
                r->morning_by = 9 * 60;
                r->night_exit = true;
                r->night_return = 5 * USEC_PER_MIN;
                r->bed_exit = true;
                r->bed_return = 15 * USEC_PER_MIN;
                r->door_open_limit = 15 * USEC_PER_MIN;
                r->bathroom_limit = 30 * USEC_PER_MIN;
                r->not_worn = 1 * USEC_PER_HOUR;
                r->geofence = true;
        }
}

/* docs/DESIGN.md §6: urgent climbs the "1-3-10" ladder, critical reaches everyone at
 * once, warnings go to maintenance once a day per device. */
const char *policy_ladder(enum severity s) {
        static const char *const ladders[_SEVERITY_MAX] = {
                [SEVERITY_WARNING] = "maintenance 0s",
                [SEVERITY_URGENT] = "volunteer 0s, grid 60s, dispatch 180s",
                [SEVERITY_CRITICAL] = "volunteer 0s, grid 0s, dispatch 0s",
        };

        return s >= 0 && s < _SEVERITY_MAX ? ladders[s] : ladders[SEVERITY_CRITICAL];
}

void policy_escalation(enum severity s, struct escalation_conf *e) {
        e->repeat = s == SEVERITY_WARNING ? 0 : 60 * USEC_PER_SEC;
        e->onsite_within = s == SEVERITY_WARNING ? 0 : 10 * USEC_PER_MIN;
        e->per_device = s == SEVERITY_WARNING ? USEC_PER_DAY : 0;
        e->false_alarm_by = policy_false_alarm_by(s);
}

/* A fire or a fall is not closed as "false alarm" by a volunteer who has
 * not seen the home: the grid worker, an operator, or whoever is there. */
unsigned policy_false_alarm_by(enum severity s) {
        return s == SEVERITY_CRITICAL ? CLOSER_GRID | CLOSER_OPERATOR | CLOSER_ONSITE : CLOSER_ANYONE;
}

/* Offline after three intervals of silence. A wristband reports often; a
 * smoke detector checks in at least hourly (its heartbeat), and a silent
 * one is a home without a fire alarm. Other battery devices may report
 * only on an event and every few hours: they count as offline when
 * Zigbee2MQTT's own passive availability would say so, after 25 h
 * (its availability.passive.timeout default of 1500 min). */
uint64_t policy_supervision(enum sensor_kind kind) {
        switch (kind) {
        case SENSOR_WRISTBAND:
                return 10 * USEC_PER_MIN;
        case SENSOR_SMOKE:
                return USEC_PER_HOUR;
        default:
                return 25 * USEC_PER_HOUR / 3;
        }
}

const char *policy_sos_actions(void) {
        return "sos,emergency";
}

const char *policy_cancel_actions(void) {
        return "cancel,single";
}
