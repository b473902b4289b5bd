/* Domain policy: the defaults an alarm system's operator expects before
 * any key is set — the rule thresholds of each risk profile, the default
 * escalation ladders ("1-3-10"), who may call a critical incident a false
 * alarm, what a button's actions mean. Pure tables; config.c applies them
 * before the file's keys, docs/RULES.md and docs/ESCALATION.md say why. */
#pragma once

#include <stdint.h>

#include "config.h"

/* The thresholds of a risk profile, before any [rule X] key. */
void policy_rule_params(enum risk_tier risk, struct rule_params *ret);
/* The default ladder of a severity as written in [escalation X] ladder. */
const char *policy_ladder(enum severity s);
/* The default repeat, onsite_within and per_device of a severity. */
void policy_escalation(enum severity s, struct escalation_conf *e);
/* Who may close an incident of this severity as a false alarm, by default
 * (bits of enum closer). */
unsigned policy_false_alarm_by(enum severity s);
/* A sensor's supervision interval when none is set. */
uint64_t policy_supervision(enum sensor_kind kind);
/* The actions of a button that mean SOS, and cancel, when none are set. */
const char *policy_sos_actions(void);
const char *policy_cancel_actions(void);
