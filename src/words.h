/* Every sentence people read, in the hub's language (zh-CN or en): why a
 * rule fired, what a notice says, who answered, the resident's prompt.
 * Pure: no I/O; every result is valid UTF-8, cut to the buffer. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "anju/event.h"

struct config;
struct rule_params;
struct sensor_conf;

/* Which rule fired and why ("No movement since 09:12, 4 h 05 min; last
 * seen in the bedroom"), with the thresholds in force (p). Returns buf. */
char *words_explain(const struct config *cfg, const struct rule_params *p, const struct decision *d, char *buf,
                    size_t n);
/* The plain sentence for an incident type raised by sensor ("Smoke
 * detected by kitchen_smoke in the kitchen"). */
char *words_reason(const struct config *cfg, enum incident_type type, const struct sensor_conf *sensor, char *buf,
                   size_t n);
/* What may go to the journal of a reason: health readings never do. */
const char *words_loggable(enum incident_type type, const char *reason);
/* A notice for a contact: who, where, what; with how to answer if
 * answer_to (the incident id) is not NULL. */
char *words_notice(const struct config *cfg, const char *what, const char *answer_to, char *buf, size_t n);
/* A contact's name, "the dispatch center", or the actor as it is. */
const char *words_who(const struct config *cfg, const char *actor);
/* The actor is a center's automatic answer ("dispatch", "receiver:NAME"), not a person. */
bool words_is_center(const char *actor);
/* "王师傅正在赶去" / "Wang is on the way": what an answer changed. */
char *words_answered(const struct config *cfg, const char *action, const char *actor, const char *note, char *buf,
                     size_t n);
/* The resident's fall prompt with its cancel window. */
char *words_prompt(const struct config *cfg, uint64_t window, char *buf, size_t n);
struct alarm_location;
/* Where the band says she is, for a notice: accuracy, age (said stale when
 * it is), distance from home and the map link ("Last position ±25 m, 3 min
 * ago, 850 m from home: https://..."). Returns buf. */
char *words_location(const struct config *cfg, const struct alarm_location *l, char *buf, size_t n);
/* The reason of a test call. */
const char *words_test_call(const struct config *cfg);
