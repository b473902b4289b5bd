/* The emergency call body (schema anju.alarm.v1, docs/ALARM-SCHEMA.md) and
 * the sentence a person reads, in the hub's language. */
#include "unit.h"
#include "alarm.h"
#include "words.h"

#include <jansson.h>
#include <string.h>
#include <time.h>

#define HOME(lang) \
        "[hub]\nid = qz-doutan-0312\nlanguage = " lang "\ntimezone = Asia/Shanghai\n" \
        "[resident]\nname = 叶\"阿姨\"\naddress = 斗潭社区 3幢 2单元 301\nrisk = high\n" \
        "notes = lives alone; hypertension\n" \
        "[dispatch]\nurl = https://dispatch.example.org/api/v1/alarms\n" \
        "[sensor kitchen_smoke]\nkind = smoke\nroom = kitchen\ntopic = zigbee2mqtt/kitchen_smoke\n" \
        "[sensor band]\nkind = wristband\ntopic = band/ye\n"

/* 2026-11-22T10:15:02+08:00 */
#define STARTED (UINT64_C(1795313702) * USEC_PER_SEC + 250000)

static struct config *load(const char *text) {
        struct errors e = { .n = 0 };
        struct config *c = NULL;

        ck_assert_msg(config_load_string("alarm.conf", text, collect_error, &e, &c) == 0, "%s",
                      e.n ? e.msgs[0] : "?");
        return c;
}

/* The daemon sets TZ from [hub] timezone at start (hub.c); so do the tests. */
static void use_zone(const char *tz) {
        setenv("TZ", tz, 1);
        tzset();
}

static json_t *body_of(const struct config *c, const struct alarm_info *a) {
        char *text = alarm_build_body(c, a);
        json_error_t err;
        json_t *root;

        ck_assert_ptr_nonnull(text);
        root = json_loads(text, JSON_REJECT_DUPLICATES, &err);
        ck_assert_msg(root != NULL, "not JSON (%s): %s", err.text, text);
        ck_assert(json_is_object(root));
        free(text);
        return root;
}

static const char *str_at(json_t *root, const char *key) {
        json_t *v = json_object_get(root, key);

        ck_assert_msg(json_is_string(v), "\"%s\" is not a string", key);
        return json_string_value(v);
}

static struct alarm_info fire(const struct config *c) {
        return (struct alarm_info) {
                .incident_id = "20261122-0001", .type = INCIDENT_FIRE, .severity = SEVERITY_CRITICAL,
                .sequence = 1, .started_at = STARTED, .raised_at = STARTED,
                .sensor = &c->sensors[0], .reason = "Smoke detected by kitchen_smoke in the kitchen",
        };
}

START_TEST(test_alarm_body_is_valid_json_with_every_field_of_a_first_call) {
        struct config *c = load(HOME("en"));
        struct alarm_info a = fire(c);
        json_t *root, *home, *sensor;

        use_zone("Asia/Shanghai");
        root = body_of(c, &a);
        ck_assert_str_eq(str_at(root, "schema"), "anju.alarm.v1");
        ck_assert_str_eq(str_at(root, "id"), "20261122-0001");
        ck_assert_str_eq(str_at(root, "call"), "alarm");
        ck_assert_int_eq(json_integer_value(json_object_get(root, "sequence")), 1);
        ck_assert_str_eq(str_at(root, "type"), "fire");
        ck_assert_str_eq(str_at(root, "severity"), "critical");
        ck_assert_str_eq(str_at(root, "started_at"), "2026-11-22T10:15:02+08:00");
        ck_assert_str_eq(str_at(root, "raised_at"), "2026-11-22T10:15:02+08:00");
        ck_assert_str_eq(str_at(root, "reason"), "Smoke detected by kitchen_smoke in the kitchen");
        ck_assert_str_eq(str_at(root, "language"), "en");
        ck_assert(json_is_false(json_object_get(root, "test")));
        home = json_object_get(root, "home");
        ck_assert(json_is_object(home));
        ck_assert_str_eq(str_at(home, "id"), "qz-doutan-0312");
        ck_assert_str_eq(str_at(home, "address"), "斗潭社区 3幢 2单元 301");
        ck_assert_str_eq(str_at(home, "resident"), "叶\"阿姨\"");     /* escaped, not broken */
        ck_assert_str_eq(str_at(home, "risk"), "high");
        ck_assert_str_eq(str_at(home, "notes"), "lives alone; hypertension");
        ck_assert_str_eq(str_at(home, "timezone"), "Asia/Shanghai");
        sensor = json_object_get(root, "sensor");
        ck_assert(json_is_object(sensor));
        ck_assert_str_eq(str_at(sensor, "id"), "kitchen_smoke");
        ck_assert_str_eq(str_at(sensor, "room"), "kitchen");
        ck_assert_str_eq(str_at(sensor, "kind"), "smoke");
        json_decref(root);
        config_free(c);
}
END_TEST

START_TEST(test_alarm_update_call_carries_its_sequence_and_trigger_time) {
        struct config *c = load(HOME("zh-CN"));
        struct alarm_info a = fire(c);
        json_t *root, *tl;

        use_zone("Asia/Shanghai");
        a.update = true;
        a.sequence = 3;
        a.raised_at = STARTED + 95 * USEC_PER_SEC;
        root = body_of(c, &a);
        ck_assert_str_eq(str_at(root, "call"), "update");
        ck_assert_int_eq(json_integer_value(json_object_get(root, "sequence")), 3);
        ck_assert_str_eq(str_at(root, "started_at"), "2026-11-22T10:15:02+08:00");
        ck_assert_str_eq(str_at(root, "raised_at"), "2026-11-22T10:16:37+08:00");
        ck_assert_str_eq(str_at(root, "language"), "zh-CN");
        tl = json_object_get(root, "timeline");
        ck_assert(json_is_array(tl));
        ck_assert_uint_eq(json_array_size(tl), 1);
        ck_assert_str_eq(str_at(json_array_get(tl, 0), "event"), "triggered");
        ck_assert_str_eq(str_at(json_array_get(tl, 0), "at"), "2026-11-22T10:16:37+08:00");
        json_decref(root);
        config_free(c);
}
END_TEST

START_TEST(test_alarm_first_call_timeline_says_opened) {
        struct config *c = load(HOME("en"));
        struct alarm_info a = fire(c);
        json_t *root, *tl;

        use_zone("Asia/Shanghai");
        root = body_of(c, &a);
        tl = json_object_get(root, "timeline");
        ck_assert_uint_eq(json_array_size(tl), 1);
        ck_assert_str_eq(str_at(json_array_get(tl, 0), "event"), "opened");
        ck_assert_str_eq(str_at(json_array_get(tl, 0), "actor"), "kitchen_smoke");
        json_decref(root);
        config_free(c);
}
END_TEST

START_TEST(test_alarm_sos_from_the_wristband_has_no_room) {
        struct config *c = load(HOME("en"));
        struct alarm_info a = fire(c);
        json_t *root, *sensor;

        use_zone("Asia/Shanghai");
        a.type = INCIDENT_SOS;
        a.sensor = &c->sensors[1];
        a.reason = NULL;
        root = body_of(c, &a);
        ck_assert_str_eq(str_at(root, "type"), "sos");
        ck_assert(json_is_null(json_object_get(root, "reason")));
        sensor = json_object_get(root, "sensor");
        ck_assert_str_eq(str_at(sensor, "id"), "band");
        ck_assert_str_eq(str_at(sensor, "kind"), "wristband");
        ck_assert(json_is_null(json_object_get(sensor, "room")));
        json_decref(root);
        config_free(c);
}
END_TEST

/* An SOS from the band in the market: the call says where, in which
 * datum, how good and how old, and that she is not at home. */
START_TEST(test_alarm_call_from_the_band_carries_its_location) {
        struct config *c = load(HOME("en"));
        struct alarm_info a = fire(c);
        struct alarm_location l = {
                .lat = 28.9702, .lon = 118.8593, .datum = GEO_DATUM_GCJ02, .accuracy_m = 12,
                .fix_at = STARTED - 90 * USEC_PER_SEC, .age = 90 * USEC_PER_SEC, .at_home = 0, .distance_m = 1234.4,
        };
        json_t *root, *loc;

        use_zone("Asia/Shanghai");
        a.type = INCIDENT_SOS;
        a.sensor = &c->sensors[1];
        a.location = &l;
        root = body_of(c, &a);
        loc = json_object_get(root, "location");
        ck_assert_ptr_nonnull(loc);
        ck_assert_double_eq(json_real_value(json_object_get(loc, "lat")), 28.9702);
        ck_assert_double_eq(json_real_value(json_object_get(loc, "lon")), 118.8593);
        ck_assert_double_eq(json_real_value(json_object_get(loc, "accuracy_m")), 12);
        ck_assert_str_eq(str_at(loc, "datum"), "gcj02");
        ck_assert_str_eq(str_at(loc, "fix_at"), "2026-11-22T10:13:32+08:00");
        ck_assert_int_eq(json_integer_value(json_object_get(loc, "age_s")), 90);
        ck_assert(json_is_false(json_object_get(loc, "at_home")));
        ck_assert_int_eq(json_integer_value(json_object_get(loc, "distance_m")), 1234);
        ck_assert_str_eq(str_at(root, "schema"), "anju.alarm.v1");     /* new fields only */
        json_decref(root);
        /* A room sensor's incident: the home address only. */
        root = body_of(c, &(struct alarm_info) { .incident_id = "x", .type = INCIDENT_FIRE, .sequence = 1,
                                                 .started_at = STARTED, .raised_at = STARTED, .sensor = &c->sensors[0] });
        ck_assert_ptr_null(json_object_get(root, "location"));
        ck_assert_str_eq(str_at(json_object_get(root, "home"), "address"), "斗潭社区 3幢 2单元 301");
        json_decref(root);
        config_free(c);
}
END_TEST

/* A notice for people: the position's age, accuracy and the map link. */
START_TEST(test_alarm_notice_sentence_has_the_map_link_and_says_stale) {
        struct config *c = load(HOME("en"));
        struct alarm_location l = {
                .lat = 39.915, .lon = 116.404, .datum = GEO_DATUM_WGS84, .accuracy_m = 25,
                .fix_at = STARTED, .age = 3 * USEC_PER_MIN, .at_home = 0, .distance_m = 850,
                .map_url = "https://www.openstreetmap.org/?mlat=39.915000&mlon=116.404000#map=17/39.915000/116.404000",
        };
        char buf[512];

        use_zone("Asia/Shanghai");
        words_location(c, &l, buf, sizeof buf);
        ck_assert_str_eq(buf, "Last position within 25 m, 3 min ago, 850 m from home: "
                              "https://www.openstreetmap.org/?mlat=39.915000&mlon=116.404000#map=17/39.915000/116.404000");
        l.stale = true;
        l.age = 20 * USEC_PER_MIN;
        words_location(c, &l, buf, sizeof buf);
        ck_assert_msg(strstr(buf, "20 min old") && strstr(buf, "out of date") && strstr(buf, "10:15"), "%s", buf);
        config_free(c);
}
END_TEST

START_TEST(test_alarm_times_follow_the_zone_offset) {
        struct config *c = load(HOME("en"));
        struct alarm_info a = fire(c);
        json_t *root;

        use_zone("UTC");
        root = body_of(c, &a);
        ck_assert_str_eq(str_at(root, "started_at"), "2026-11-22T02:15:02+00:00");
        json_decref(root);
        config_free(c);
}
END_TEST

START_TEST(test_alarm_reason_in_english_names_sensor_and_room) {
        struct config *c = load(HOME("en"));
        char buf[200];

        ck_assert_str_eq(words_reason(c, INCIDENT_FIRE, &c->sensors[0], buf, sizeof buf),
                         "Smoke detected by kitchen_smoke in the kitchen");
        ck_assert_str_eq(words_reason(c, INCIDENT_SOS, &c->sensors[1], buf, sizeof buf),
                         "SOS pressed on band (worn)");
        config_free(c);
}
END_TEST

START_TEST(test_alarm_reason_in_chinese_names_sensor_and_room) {
        struct config *c = load(HOME("zh-CN"));
        char buf[200];

        words_reason(c, INCIDENT_FIRE, &c->sensors[0], buf, sizeof buf);
        ck_assert_ptr_nonnull(strstr(buf, "kitchen_smoke"));
        ck_assert_ptr_nonnull(strstr(buf, "kitchen"));
        ck_assert_ptr_nonnull(strstr(buf, "烟雾"));
        ck_assert_ptr_null(strstr(buf, "Smoke"));
        words_reason(c, INCIDENT_SOS, &c->sensors[1], buf, sizeof buf);
        ck_assert_ptr_nonnull(strstr(buf, "band"));
        ck_assert_ptr_nonnull(strstr(buf, "紧急呼叫"));
        config_free(c);
}
END_TEST

START_TEST(test_alarm_reason_fits_a_small_buffer) {
        struct config *c = load(HOME("en"));
        char buf[12];

        memset(buf, 'z', sizeof buf);
        words_reason(c, INCIDENT_FIRE, &c->sensors[0], buf, 8);
        ck_assert_str_eq(buf, "Smoke d");
        ck_assert_int_eq(buf[8], 'z');
        config_free(c);
}
END_TEST

START_TEST(test_alarm_body_can_be_built_for_every_config_that_loads) {
        /* A config saved in GBK (common on Chinese Windows editors): 叶 = D2 B6,
         * 厨房 = B3 F8 B7 BF. Either the config is refused at load with a
         * file:line message, or the emergency call is still built: an alarm
         * must never be lost to a character set. */
        static const char text[] =
                "[hub]\nid = h\nlanguage = zh-CN\n"
                "[resident]\nname = \xd2\xb6\naddress = Doutan 3-2-301\n"
                "[dispatch]\nurl = https://dispatch.example.org/x\n"
                "[sensor k]\nkind = smoke\nroom = \xb3\xf8\xb7\xbf\ntopic = z/k\n";
        struct errors e = { .n = 0 };
        struct config *c = NULL;
        struct alarm_info a;
        json_t *root;

        if (config_load_string("gbk.conf", text, collect_error, &e, &c) < 0) {
                ck_assert_ptr_nonnull(strstr(e.msgs[0], "gbk.conf:"));
                return;
        }
        use_zone("Asia/Shanghai");
        a = fire(c);
        root = body_of(c, &a);
        ck_assert_str_eq(str_at(root, "type"), "fire");
        json_decref(root);
        config_free(c);
}
END_TEST

START_TEST(test_alarm_reason_cut_to_its_buffer_is_still_valid_utf8) {
        /* incident.c builds the reason in 256 bytes; a long Chinese room name
         * must not leave half a character that makes the body unbuildable. */
        char text[2048], room[200] = "", buf[256];
        struct config *c;
        struct alarm_info a;
        json_t *root, *j;

        for (int i = 0; i < 60; i++)
                strcat(room, "卧");
        snprintf(text, sizeof text, "[hub]\nid = h\nlanguage = zh-CN\n[resident]\nname = a\naddress = b\n"
                 "[dispatch]\nurl = https://d.example/x\n[sensor smoke_detector_above_the_bed_near_the_window]\n"
                 "kind = smoke\nroom = %s\ntopic = z/k\n", room);
        c = load(text);
        words_reason(c, INCIDENT_FIRE, &c->sensors[0], buf, sizeof buf);
        ck_assert_uint_gt(strlen(buf), 200);
        j = json_string(buf);
        ck_assert_msg(j != NULL, "reason is not valid UTF-8: %s", buf);
        json_decref(j);
        use_zone("Asia/Shanghai");
        a = fire(c);
        a.reason = buf;
        root = body_of(c, &a);
        json_decref(root);
        config_free(c);
}
END_TEST

/* What a volunteer reads when a timed rule fires: which rule, since when,
 * for how long, in the resident's language. */
static struct decision why(enum decision_kind k, enum incident_type t, uint32_t sensor,
                           uint64_t since, uint64_t dur) {
        return (struct decision) { .kind = k, .type = t, .severity = SEVERITY_URGENT, .sensor = sensor,
                                   .wall = since + dur, .since_wall = since, .duration = dur };
}

START_TEST(test_alarm_explains_timed_rules_in_english) {
        struct config *c = load(HOME("en") "[sensor bath_pir]\nkind = motion\nroom = bathroom\n"
                                "bathroom = true\ntopic = z/bath\n");
        struct decision d;
        char buf[300];

        use_zone("Asia/Shanghai");
        d = why(DECISION_RAISE, INCIDENT_INACTIVITY, 0, STARTED, 4 * USEC_PER_HOUR + 5 * USEC_PER_MIN);
        ck_assert_str_eq(words_explain(c, &c->rules, &d, buf, sizeof buf),
                         "No movement since 10:15, 4 h 05 min; last seen in the kitchen");
        d = why(DECISION_PREALARM, INCIDENT_FALL, 1, STARTED, 30 * USEC_PER_SEC);
        ck_assert_str_eq(words_explain(c, &c->rules, &d, buf, sizeof buf),
                         "Fall detected by band at 10:15; waiting 30 s for the resident to cancel");
        d = why(DECISION_RAISE, INCIDENT_FALL, 1, STARTED, 30 * USEC_PER_SEC);
        ck_assert_str_eq(words_explain(c, &c->rules, &d, buf, sizeof buf),
                         "Fall detected by band at 10:15, not cancelled within 30 s");
        d = why(DECISION_CANCEL, INCIDENT_FALL, 1, STARTED, 12 * USEC_PER_SEC);
        ck_assert_str_eq(words_explain(c, &c->rules, &d, buf, sizeof buf),
                         "Fall alarm of 10:15 cancelled by the resident after 12 s");
        d = why(DECISION_RAISE, INCIDENT_BATHROOM_DWELL, 2, STARTED, 45 * USEC_PER_MIN);
        ck_assert_str_eq(words_explain(c, &c->rules, &d, buf, sizeof buf),
                         "In the bathroom since 10:15, 45 min without coming out");
        d = why(DECISION_RAISE, INCIDENT_VITALS, 1, STARTED, 60 * USEC_PER_SEC);
        d.value = 35;
        ck_assert_str_eq(words_explain(c, &c->rules, &d, buf, sizeof buf),
                         "Heart rate 35 bpm, outside 40-130, for 1 min since 10:15");
        d = why(DECISION_RAISE, INCIDENT_DEVICE_HEALTH, 0, STARTED, 3 * USEC_PER_HOUR);
        d.problem = HEALTH_OFFLINE;
        ck_assert_str_eq(words_explain(c, &c->rules, &d, buf, sizeof buf),
                         "Sensor kitchen_smoke (kitchen) has sent nothing since 10:15 (3 h 00 min): offline");
        d = why(DECISION_RAISE, INCIDENT_INACTIVITY, SENSOR_NONE, STARTED, 2 * USEC_PER_HOUR);
        ck_assert_str_eq(words_explain(c, &c->rules, &d, buf, sizeof buf), "No movement since 10:15, 2 h 00 min");
        config_free(c);
}
END_TEST

START_TEST(test_alarm_explains_timed_rules_in_chinese) {
        struct config *c = load(HOME("zh-CN"));
        struct decision d;
        char buf[300];

        use_zone("Asia/Shanghai");
        d = why(DECISION_RAISE, INCIDENT_INACTIVITY, 0, STARTED, 4 * USEC_PER_HOUR + 5 * USEC_PER_MIN);
        ck_assert_str_eq(words_explain(c, &c->rules, &d, buf, sizeof buf),
                         "自 10:15 起无活动，已4小时05分；最后出现在kitchen");
        d = why(DECISION_RAISE, INCIDENT_MORNING_CHECK, 0, STARTED, 12 * USEC_PER_HOUR);
        ck_assert_str_eq(words_explain(c, &c->rules, &d, buf, sizeof buf),
                         "今早 09:00 前没有任何活动；最后一次活动在 10:15，已12小时00分");
        d = why(DECISION_RAISE, INCIDENT_FALL, 1, STARTED, 30 * USEC_PER_SEC);
        ck_assert_str_eq(words_explain(c, &c->rules, &d, buf, sizeof buf), "band 在 10:15 检测到跌倒，30秒内未取消");
        config_free(c);
}
END_TEST

/* Every sentence, every kind of decision, both languages: each is whole
 * (no conversion left, no word missing) and none stops the process. A
 * printf positional format that skips a word aborts under Debian's
 * _FORTIFY_SOURCE; a fall cancelled by the resident did. */
START_TEST(test_alarm_every_sentence_in_both_languages_is_whole) {
        const char *homes[] = { HOME("zh-CN"), HOME("en") };
        const enum decision_kind kinds[] = { DECISION_RAISE, DECISION_PREALARM, DECISION_CANCEL, DECISION_CLEAR };
        char buf[400];

        use_zone("Asia/Shanghai");
        for (size_t h = 0; h < 2; h++) {
                struct config *c = load(homes[h]);

                for (size_t k = 0; k < 4; k++)
                        for (int t = 0; t < _INCIDENT_TYPE_MAX; t++)
                                for (int pr = 0; pr < _HEALTH_MAX; pr++)
                                        for (int again = 0; again < 2; again++) {
                                                struct decision d = why(kinds[k], (enum incident_type) t, 0, STARTED,
                                                                        90 * USEC_PER_SEC);

                                                d.problem = (enum health_problem) pr;
                                                d.again = again;
                                                d.value = 9;
                                                words_explain(c, &c->rules, &d, buf, sizeof buf);
                                                ck_assert_msg(buf[0] != '\0', "%s: empty", incident_type_to_string(d.type));
                                                ck_assert_msg(!strchr(buf, '$') && !strstr(buf, "?"),
                                                              "%s/%s: \"%s\"", incident_type_to_string(d.type),
                                                              health_problem_to_string(d.problem), buf);
                                        }
                config_free(c);
        }
}
END_TEST

int main(void) {
        Suite *s = suite_create("alarm");
        TCase *t = tcase_create("alarm");

        tcase_add_test(t, test_alarm_body_is_valid_json_with_every_field_of_a_first_call);
        tcase_add_test(t, test_alarm_update_call_carries_its_sequence_and_trigger_time);
        tcase_add_test(t, test_alarm_first_call_timeline_says_opened);
        tcase_add_test(t, test_alarm_sos_from_the_wristband_has_no_room);
        tcase_add_test(t, test_alarm_times_follow_the_zone_offset);
        tcase_add_test(t, test_alarm_call_from_the_band_carries_its_location);
        tcase_add_test(t, test_alarm_notice_sentence_has_the_map_link_and_says_stale);
        tcase_add_test(t, test_alarm_reason_in_english_names_sensor_and_room);
        tcase_add_test(t, test_alarm_reason_in_chinese_names_sensor_and_room);
        tcase_add_test(t, test_alarm_reason_fits_a_small_buffer);
        tcase_add_test(t, test_alarm_body_can_be_built_for_every_config_that_loads);
        tcase_add_test(t, test_alarm_reason_cut_to_its_buffer_is_still_valid_utf8);
        tcase_add_test(t, test_alarm_explains_timed_rules_in_english);
        tcase_add_test(t, test_alarm_explains_timed_rules_in_chinese);
        tcase_add_test(t, test_alarm_every_sentence_in_both_languages_is_whole);
        suite_add_tcase(s, t);
        return run_suite(s);
}
