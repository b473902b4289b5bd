/* The emergency call body and the words a person reads. */
#include "unit.h"
#include "alarm.h"

#include <jansson.h>
#include <string.h>
#include <time.h>

START_TEST(test_body_is_anju_alarm_v1_with_home_and_sensor) {
        struct config *c = load_ok("[sensor k]\nkind = smoke\nroom = kitchen\ntopic = t\n");
        struct alarm_info a = {
                .incident_id = "20261122-a3f91c", .type = INCIDENT_FIRE, .severity = SEVERITY_CRITICAL,
                .sequence = 1, .started_at = UINT64_C(1795313702) * USEC_PER_SEC,
                .raised_at = UINT64_C(1795313702) * USEC_PER_SEC, .sensor = &c->sensors[0], .reason = "Smoke",
        };
        char *body;
        json_t *j;

        setenv("TZ", "Asia/Shanghai", 1);
        tzset();
        body = alarm_build_body(c, &a);
        ck_assert_ptr_nonnull(body);
        j = json_loads(body, 0, NULL);
        ck_assert_ptr_nonnull(j);
        ck_assert_str_eq(json_string_value(json_object_get(j, "schema")), "anju.alarm.v1");
        ck_assert_str_eq(json_string_value(json_object_get(j, "id")), "20261122-a3f91c");
        ck_assert_str_eq(json_string_value(json_object_get(j, "call")), "alarm");
        ck_assert_int_eq(json_integer_value(json_object_get(j, "sequence")), 1);
        ck_assert_str_eq(json_string_value(json_object_get(j, "type")), "fire");
        ck_assert_str_eq(json_string_value(json_object_get(j, "severity")), "critical");
        ck_assert_str_eq(json_string_value(json_object_get(j, "started_at")), "2026-11-22T10:15:02+08:00");
        ck_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "home"), "id")), "h1");
        ck_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "home"), "address")), "Doutan 3-2-301");
        ck_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "home"), "resident")), "Ye");
        ck_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "sensor"), "id")), "k");
        ck_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "sensor"), "room")), "kitchen");
        ck_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "sensor"), "kind")), "smoke");
        ck_assert(json_is_false(json_object_get(j, "test")));
        json_decref(j);
        free(body);
        a.update = true;
        a.sequence = 2;
        body = alarm_build_body(c, &a);
        j = json_loads(body, 0, NULL);
        ck_assert_str_eq(json_string_value(json_object_get(j, "call")), "update");
        json_decref(j);
        free(body);
        config_free(c);
}
END_TEST

START_TEST(test_reason_is_in_the_residents_language) {
        struct config *c = load_ok("[sensor k]\nkind = smoke\nroom = kitchen\ntopic = t\n"
                                   "[sensor b]\nkind = wristband\ntopic = u\n");
        char buf[256];

        ck_assert_str_eq(alarm_reason(c, INCIDENT_FIRE, &c->sensors[0], buf, sizeof buf),
                         "Smoke detected by k in the kitchen");
        ck_assert_str_eq(alarm_reason(c, INCIDENT_SOS, &c->sensors[1], buf, sizeof buf), "SOS pressed on b (worn)");
        c->hub.language = LANG_ZH_CN;
        ck_assert_str_eq(alarm_reason(c, INCIDENT_FIRE, &c->sensors[0], buf, sizeof buf),
                         "kitchen的烟雾报警器 k 检测到烟雾");
        config_free(c);
}
END_TEST

int main(void) {
        Suite *s = suite_create("alarm");
        TCase *t = tcase_create("alarm");

        tcase_add_test(t, test_body_is_anju_alarm_v1_with_home_and_sensor);
        tcase_add_test(t, test_reason_is_in_the_residents_language);
        suite_add_tcase(s, t);
        return run_suite(s);
}
