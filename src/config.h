/* The configuration: /etc/anju/anju.conf plus drop-ins (conf.d, *.conf),
 * parsed with inih into one struct config, every value checked against a
 * table of key, type and range. Errors name file:line. The struct is not
 * changed after config_load() and config_load_secrets() return: the
 * thresholds that change at run time are settings.c's own copy. Secrets
 * (keys, tokens) are read in a step of their own, which anjuctl never
 * needs. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "anju/event.h"
#include "geo.h"

struct secret_ref;

enum risk_tier { RISK_STANDARD, RISK_ELEVATED, RISK_HIGH, _RISK_MAX, _RISK_INVALID = -1 };
enum contact_role { ROLE_VOLUNTEER, ROLE_GRID, ROLE_MAINTENANCE, _ROLE_MAX, _ROLE_INVALID = -1 };
enum button_role { BUTTON_SOS, BUTTON_CANCEL, _BUTTON_ROLE_MAX, _BUTTON_ROLE_INVALID = -1 };
enum language { LANG_ZH_CN, LANG_EN, _LANG_MAX, _LANG_INVALID = -1 };
enum webhook_template { TEMPLATE_JSON, TEMPLATE_WECOM, TEMPLATE_DINGTALK, _TEMPLATE_MAX, _TEMPLATE_INVALID = -1 };
enum gpio_bias { BIAS_AS_IS, BIAS_DISABLE, BIAS_PULL_UP, BIAS_PULL_DOWN, _BIAS_MAX, _BIAS_INVALID = -1 };

struct sensor_conf {
        char *id;
        enum sensor_kind kind;
        char *room;
        bool bathroom;                  /* room is a bathroom (dwell rule) */
        bool critical;                  /* its topics ride the life-safety MQTT session (inbox.h) */
        char *topic;                    /* MQTT state topic (a relay: the plug's), NULL if GPIO */
        char *availability_topic;       /* default "<topic>/availability" */
        char *keys[_ATTR_MAX];          /* JSON dotted path per attribute, NULL = not read */
        bool invert;                    /* invert the kind's main boolean */
        char *sos_actions;              /* button: comma list of action values meaning SOS */
        char *cancel_actions;           /* button: comma list meaning cancel */
        enum button_role role;          /* GPIO button: what a press means */
        uint64_t supervision;           /* usec; offline after 3 intervals of silence */
        char *gpio_chip;
        int gpio_line;                  /* -1 if not GPIO */
        bool active_low;
        enum gpio_bias bias;
        uint64_t debounce;              /* usec */
        char *file;                     /* where it was declared, for messages */
        unsigned line;
        char *bridge;                   /* MQTT: the base topic of its bridge ("zigbee2mqtt"), whose
                                         * <bridge>/bridge/state says if the bridge itself is there */
        int datum;                      /* enum geo_datum of a wristband's positions (default wgs84) */
        unsigned zone;                  /* DC-09 zone: `zone = N`, else its 1-based order in the files; 0: none (past the 999th) */
};

struct contact_conf {
        char *id;
        enum contact_role role;
        char *name;
        char *topic;
        char *webhook;
        enum webhook_template template;
        char *key_file;                 /* HMAC key for signed acks */
        unsigned order;
        char *phone;
        char *key;                      /* read from key_file by config_load_secrets() */
        size_t key_len;
        char *file;
        unsigned line;
};

/* Who may close an incident as a false alarm ([escalation X] false_alarm_by). */
enum closer {
        CLOSER_VOLUNTEER = 1u << 0,
        CLOSER_GRID = 1u << 1,
        CLOSER_MAINTENANCE = 1u << 2,
        CLOSER_OPERATOR = 1u << 3,      /* anjuctl */
        CLOSER_ONSITE = 1u << 4,        /* any contact who has arrived at this incident */
        CLOSER_ANYONE = 1u << 5,
};

/* Who a ladder step reaches: the contacts of a role, or the dispatch center. */
enum ladder_target { TARGET_VOLUNTEER = ROLE_VOLUNTEER, TARGET_GRID = ROLE_GRID,
                     TARGET_MAINTENANCE = ROLE_MAINTENANCE, TARGET_DISPATCH,
                     TARGET_RECEIVER,   /* a [receiver NAME] (DC-09): the step's receiver says which */
                     _TARGET_MAX };

#define LADDER_MAX 8

/* The escalation ladder of one severity (docs/DESIGN.md §6, docs/ESCALATION.md). */
struct escalation_conf {
        struct {
                enum ladder_target target;
                uint64_t after;         /* usec after the incident opened */
                unsigned receiver;      /* TARGET_RECEIVER: index into config.receivers */
        } steps[LADDER_MAX];
        unsigned n_steps;
        char *ladder;                   /* as written, for messages */
        uint64_t repeat;                /* re-notify the reached tiers until an ack; 0 = never */
        uint64_t onsite_within;         /* acked but nobody arrived: next step anyway; 0 = never */
        uint64_t per_device;            /* warnings: at most one notice per device per this */
        unsigned false_alarm_by;        /* enum closer bits */
};

/* The thresholds of the rules (docs/DESIGN.md §5), resolved from the resident's risk
 * profile and then the [rule X] keys. Times of day are minutes after
 * midnight; durations usec. See docs/RULES.md. */
struct rule_params {
        uint64_t fall_window;           /* [rule fall] window */
        bool inactivity;                /* [rule inactivity] enabled */
        unsigned day_start, day_end;    /* active hours */
        uint64_t day_limit, night_limit;
        bool morning_check;             /* [rule morning_check] enabled */
        unsigned morning_from, morning_by;
        uint64_t away_after;            /* [rule presence] */
        bool night_exit;                /* [rule night_exit] enabled */
        unsigned night_start, night_end;
        uint64_t night_return;          /* return_within */
        bool door_open;                 /* [rule door_open] enabled */
        uint64_t door_open_limit;
        bool bathroom;                  /* [rule bathroom_dwell] enabled */
        uint64_t bathroom_limit;
        bool vitals;                    /* [rule vitals] enabled */
        unsigned hr_low, hr_high;       /* bpm */
        uint64_t vitals_sustain;
        unsigned offline_after;         /* [rule device_health]: supervision intervals */
        unsigned battery_low;           /* percent */
        uint64_t not_worn;              /* active-hours time without the band */
        uint64_t power_delay;           /* [rule power] */
        bool bed_exit;                  /* [rule bed_exit] enabled */
        unsigned bed_start, bed_end;    /* night hours of the bed exit rule */
        uint64_t bed_return;            /* return_within */
        bool geofence;                  /* [rule geofence] enabled (docs/LOCATION.md) */
        struct geo_point geo_center;    /* the home, WGS-84; 0,0: not set (the rule is inert) */
        unsigned geo_radius;            /* metres */
        struct geo_hours geo_hours;
        uint64_t geo_grace;
        unsigned geo_min_accuracy;      /* metres; 0: every fix counts */
        uint64_t geo_stale_after;
};

/* How a [receiver NAME] is reached (DC-09 over TCP or UDP). */
enum receiver_transport { RECEIVER_TCP, RECEIVER_UDP, _RECEIVER_TRANSPORT_MAX, _RECEIVER_TRANSPORT_INVALID = -1 };

#define RECEIVER_KEY_MAX 32             /* AES-256 */

/* An alarm receiving centre speaking SIA DC-09 (docs/DC09.md). */
struct receiver_conf {
        char *id;
        int protocol;                   /* 0: dc09, the only one */
        char *host;
        unsigned port;
        enum receiver_transport transport;
        char *account;                  /* 3-16 hex digits */
        char *receiver;                 /* R prefix (hex), NULL if none */
        char *line;                     /* L prefix (hex), NULL: "L0" */
        int format;                     /* enum dc09_format: cid, sia */
        char *key_file;                 /* hex AES key; NULL: unencrypted */
        bool insecure;                  /* unencrypted to a host that is not this machine */
        uint64_t supervision;           /* usec between NULL messages; 0 = off */
        uint64_t timeout;               /* usec to wait for the answer */
        char *fallback;                 /* another receiver's id */
        uint64_t test_interval;         /* usec between 602 test reports; 0 = off */
        int sos;                        /* 0 panic: SOS as 120 / PA; 1 personal: 101 / MA */
        int fallback_index;             /* index of fallback, -1 if none */
        uint8_t key[RECEIVER_KEY_MAX];  /* read from key_file by config_load_secrets() */
        size_t key_len;                 /* 0: none; 16, 24, 32 */
        char *file;
        unsigned line_no;
};

struct config {
        char *path;                     /* the main file */
        struct {
                char *id;
                enum language language;
                char *timezone;
                char *database;
                char *ctl_socket;               /* anjuctl's Unix socket */
                uint64_t ctl_idle_timeout;      /* usec: a quiet control connection is closed */
                char *operator_key_file;        /* signs anju/<hub>/config/set */
                uint64_t gpio_supervision;      /* usec: held GPIO lines checked, lost ones retried */
                uint64_t history_retention;     /* usec: sensor log, audit and refusal counts kept this long */
                uint64_t history_max;           /* bytes: the database beyond this loses its oldest history */
                char *operator_key;             /* read by config_load_secrets() */
                size_t operator_key_len;
                uint64_t location_retention;    /* usec: the wristband's track is kept this long */
                int map;                        /* enum geo_map: the map of the links in notices */
        } hub;
        struct {
                char *name;
                char *address;
                enum risk_tier risk;
                char *notes;
        } resident;
        struct {
                char *host;
                unsigned port;
                char *username;
                char *password_file;
                char *tls_ca_file;
                char *tls_cert_file;
                char *tls_key_file;
                uint64_t keepalive;
                uint64_t reconnect_min;
                uint64_t reconnect_max;
                char *client_id;
                char *password;                 /* read from password_file by config_load_secrets() */
                size_t password_len;
                unsigned max_packet;            /* bytes: larger packets are refused by the broker (MQTT v5) */
        } mqtt;
        struct {
                char *url;
                char *fallback_url;
                char *token_file;
                char *hmac_key_file;
                char *ca_file;
                bool insecure;          /* no TLS verification: must be spelled out */
                uint64_t heartbeat_interval;
                uint64_t timeout;
                uint64_t retry_min;
                uint64_t retry_max;
                unsigned fallback_after;
                char *token;            /* read from token_file by config_load_secrets() */
                char *hmac_key;         /* read from hmac_key_file by config_load_secrets() */
                size_t hmac_key_len;
        } dispatch;
        struct sensor_conf *sensors;
        size_t n_sensors;
        struct contact_conf *contacts;
        size_t n_contacts;
        struct rule_params rules;       /* as the file says; the live copy is settings.c's */
        struct escalation_conf escalation[_SEVERITY_MAX];
        struct secret_ref *secret_refs; /* where each file key was set (config.c's own) */
        size_t n_secret_refs;
        struct receiver_conf *receivers;        /* [receiver NAME], in the order of the files */
        size_t n_receivers;
};

/* Called once per error, already formatted as "file:line: [section] key: what". */
typedef void (*config_error_fn)(const char *msg, void *userdata);

/* Parses path and the *.conf files of the conf.d directory beside it, in
 * name order, validates everything and returns a new config (caller frees
 * with config_free()). On errors calls on_error for each one and returns
 * -EINVAL; a missing main file is -ENOENT (reported too). No secret file
 * is read. */
int config_load(const char *path, config_error_fn on_error, void *userdata,
                struct config **ret);
/* Same, from a string (tests and fuzzing); name is used in messages. */
int config_load_string(const char *name, const char *text, config_error_fn on_error,
                       void *userdata, struct config **ret);
/* Reads the secret files the config names (keys, tokens, passwords):
 * errors (unreadable, empty, a signing key under 16 bytes) go to on_error
 * and make it return -EINVAL; a file that others may read, or a symbolic
 * link, goes to on_warning ("file:line: [section] key: ..."). */
int config_load_secrets(struct config *c, config_error_fn on_error, config_error_fn on_warning, void *userdata);
void config_free(struct config *c);

/* Index of the sensor with this id, or -1. */
int config_find_sensor(const struct config *c, const char *id);
/* Read from a GPIO line (gpio_chip and gpio_line), not from MQTT. */
bool config_sensor_is_gpio_input(const struct sensor_conf *s);
/* An output: a siren or relay, driven over GPIO or (a relay) MQTT. */
bool config_sensor_is_output(const struct sensor_conf *s);

/* Thresholds by name, "rule.key" ("inactivity.day_limit"), checked with
 * the same table, ranges and cross-checks as the file (settings.c keeps
 * the live copy). */
const char *rule_setting_name(size_t i, char *buf, size_t n);   /* NULL past the last */
int rule_setting_get(const struct rule_params *p, const char *name, char *buf, size_t n);
/* Sets it in p from text; the old value (as text) in old. -ENOENT unknown,
 * -EINVAL refused (p unchanged) with why in err ("source: [rule x] key: ..."). */
int rule_setting_set(struct rule_params *p, const char *name, const char *value, const char *source,
                     char *old, size_t oldn, char *err, size_t errn);

/* Index of the [receiver NAME] with this id, or -1. */
int config_find_receiver(const struct config *c, const char *id);

/* Index of the contact with this id, or -1. */
int config_find_contact(const struct config *c, const char *id);
const char *ladder_target_to_string(enum ladder_target t);

const char *risk_tier_to_string(enum risk_tier r);
const char *contact_role_to_string(enum contact_role r);
