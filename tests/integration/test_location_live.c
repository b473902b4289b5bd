/* The wristband's position through the real anjud, broker and HTTP center
 * (issue 14): an SOS pressed away from home reaches the center with the
 * band's position and the volunteer's notice with a map link; the safe
 * zone raises after its grace and is cleared when she is back; anjuctl
 * location says where she is. Every wait is bounded and on an event. */
#include "harness.h"

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WANG "anju/volunteers/wang"
#define BAND "band/ye"
/* The home (People's Square, Shanghai) and the zone around it. */
#define ZONE(extra) \
        "[contact wang]\nrole = volunteer\nname = Wang\ntopic = " WANG "\n\n" \
        "[rule geofence]\nenabled = true\ncenter = 31.230416,121.473701\n" extra "\n"
/* About 1.1 km north of home, and 60 m north. */
#define FAR "{\"lat\":31.240416,\"lon\":121.473701,\"accuracy\":15,\"battery\":80}"
#define NEAR "{\"lat\":31.230956,\"lon\":121.473701,\"accuracy\":10,\"battery\":80}"

/* Nothing anjud wrote to the journal (stderr) names the position: what it
 * still has to say now, and the whole log the harness kept. */
static void journal_has_no(struct h_rig *r, const char *needle) {
        FILE *f;
        char line[4096];

        ck_assert_int_eq(h_count_lines(r->anjud, needle, 300), 0);
        if (!r->anjud->log_path || !(f = fopen(r->anjud->log_path, "r")))
                return;
        while (fgets(line, sizeof line, f))
                ck_assert_msg(!strstr(line, needle), "the journal has \"%s\": %s", needle, line);
        fclose(f);
}

static const char *str(json_t *o, const char *k) {
        return json_string_value(json_object_get(o, k));
}

/* An SOS pressed 1.1 km from home: the call carries the position as the
 * band sent it, with its datum, accuracy, age and not at home; the
 * volunteer's notice says so with an Amap link (the default [hub] map);
 * the journal has neither coordinates nor the link. */
START_TEST(test_an_sos_from_outside_carries_the_position_and_a_map_link) {
        struct h_rig r;
        json_t *call, *body, *loc, *n;

        h_rig_up(&r, &(struct h_rig_opts) { .config = ZONE("") });
        h_rig_pub(&r, BAND, FAR);
        h_rig_pub(&r, BAND, "{\"sos\":true}");
        call = h_sim_next_call(r.sim, 15000);
        ck_assert_msg(call != NULL, "no call for the SOS");
        body = json_object_get(call, "body");
        ck_assert_str_eq(str(body, "type"), "sos");
        loc = json_object_get(body, "location");
        ck_assert_msg(json_is_object(loc), "the call has no location");
        ck_assert_double_eq_tol(json_number_value(json_object_get(loc, "lat")), 31.240416, 1e-9);
        ck_assert_double_eq_tol(json_number_value(json_object_get(loc, "lon")), 121.473701, 1e-9);
        ck_assert_double_eq(json_number_value(json_object_get(loc, "accuracy_m")), 15);
        ck_assert_str_eq(str(loc, "datum"), "wgs84");
        ck_assert(json_is_false(json_object_get(loc, "at_home")));
        ck_assert_int_le(json_integer_value(json_object_get(loc, "age_s")), 10);
        ck_assert_int_ge(json_integer_value(json_object_get(loc, "distance_m")), 1100);
        ck_assert_int_le(json_integer_value(json_object_get(loc, "distance_m")), 1125);
        ck_assert_str_eq(str(json_object_get(body, "home"), "address"), "Doutan 3-2-301");
        json_decref(call);
        n = h_wait_json(r.sub, WANG, "\"sos\"", 10000);
        ck_assert_msg(n != NULL, "the volunteer got no notice");
        ck_assert_msg(strstr(str(n, "text"), "https://uri.amap.com/marker?position="), "text: %s", str(n, "text"));
        ck_assert_msg(strstr(str(n, "text"), "from home"), "text: %s", str(n, "text"));
        ck_assert(json_is_object(json_object_get(n, "location")));
        json_decref(n);
        /* A smoke alarm (a room sensor) carries the home address only. */
        h_rig_pub(&r, "zigbee2mqtt/kitchen_smoke", "{\"smoke\":true}");
        call = h_sim_next_call(r.sim, 15000);
        ck_assert_msg(call != NULL, "no call for the fire");
        ck_assert_str_eq(str(json_object_get(call, "body"), "type"), "fire");
        ck_assert_ptr_null(json_object_get(json_object_get(call, "body"), "location"));
        json_decref(call);
        ck_assert_int_eq(h_rig_db(&r, "SELECT count(*) FROM location"), 1);
        journal_has_no(&r, "31.24");
        journal_has_no(&r, "uri.amap.com");
        h_rig_down(&r);
}
END_TEST

/* A walk out of the zone at night (60x: the 10-minute grace is 10 s):
 * the volunteer is told with the position; back inside is "cleared" on the
 * timeline; anjuctl location says where she was and is. */
START_TEST(test_the_safe_zone_raises_after_the_grace_and_is_cleared_when_she_is_back) {
        struct h_rig r;
        struct h_out o;
        json_t *n, *j, *l;
        char id[64];
        int rc;

        h_rig_up(&r, &(struct h_rig_opts) { .scale = "60", .start = "2026-11-23 21:00", .config = ZONE("") });
        h_rig_ctl(&r, &o, "location", NULL);
        ck_assert_int_eq(o.rc, 0);
        ck_assert_msg(strstr(o.out, "no position"), "%s", o.out);
        h_rig_pub(&r, BAND, FAR);
        j = h_rig_ctl_json(&r, &rc, "location", NULL);
        ck_assert_int_eq(rc, 0);
        l = json_object_get(j, "location");
        ck_assert_msg(json_is_object(l), "no location in anjuctl's answer");
        ck_assert(json_is_false(json_object_get(l, "at_home")));
        ck_assert_str_eq(str(l, "sensor"), "band");
        ck_assert_int_ge(json_integer_value(json_object_get(l, "distance_m")), 1100);
        ck_assert_str_eq(str(json_object_get(j, "zone"), "state"), "pending");
        json_decref(j);
        /* The zone's keys are live settings with their audit trail; the
         * journal says a position changed, not which. */
        h_rig_ctl(&r, &o, "set", "geofence.center", "31.230417,121.473701", NULL);
        ck_assert_msg(o.rc == 0, "set geofence.center: %s", o.err);
        ck_assert_int_eq(h_rig_db(&r, "SELECT count(*) FROM audit WHERE key = 'geofence.center' AND "
                                      "new = '31.230417,121.473701' AND old = '31.230416,121.473701'"), 1);
        /* The retained configuration, which any client of the broker may
         * read, has the zone's radius but not the home's position. */
        {
                struct proc *sub = h_sub_start(r.mqtt_port, "anju/" H_HUB "/config");
                char *msg = h_wait_message(sub, "anju/" H_HUB "/config", "\"geofence.radius\"", 5000);

                ck_assert_msg(msg != NULL, "no retained configuration");
                ck_assert_msg(!strstr(msg, "geofence.center") && !strstr(msg, "31.23") && !strstr(msg, "121.47"),
                              "the retained configuration has the home's position: %s", msg);
                free(msg);
                h_stop(sub, SIGTERM);
        }
        n = h_wait_json(r.sub, WANG, "\"geofence\"", 30000);
        ck_assert_msg(n != NULL, "no safe zone notice");
        snprintf(id, sizeof id, "%s", str(n, "incident"));
        ck_assert_msg(strstr(str(n, "text"), "Outside the safe zone since 21:0"), "text: %s", str(n, "text"));
        ck_assert_msg(strstr(str(n, "text"), "uri.amap.com"), "text: %s", str(n, "text"));
        json_decref(n);
        h_rig_pub(&r, BAND, NEAR);
        {
                char sql[160];
                snprintf(sql, sizeof sql, "SELECT count(*) FROM timeline WHERE incident = '%s' AND event = 'cleared'",
                         id);
                ck_assert_int_eq(h_rig_db_wait(&r, sql, 1, 15000), 1);
        }
        h_rig_ctl(&r, &o, "location", NULL);
        ck_assert_int_eq(o.rc, 0);
        ck_assert_msg(strstr(o.out, "inside") && strstr(o.out, "m from home") && strstr(o.out, "uri.amap.com"),
                      "%s", o.out);
        ck_assert_int_eq(h_rig_db(&r, "SELECT count(*) FROM location"), 2);
        journal_has_no(&r, "31.24");
        journal_has_no(&r, "31.23");
        journal_has_no(&r, "121.47");
        h_rig_down(&r);
}
END_TEST

int main(void) {
        Suite *s = suite_create("location-live");
        TCase *t = tcase_create("location");

        tcase_set_timeout(t, 120);
        tcase_add_test(t, test_an_sos_from_outside_carries_the_position_and_a_map_link);
        tcase_add_test(t, test_the_safe_zone_raises_after_the_grace_and_is_cleared_when_she_is_back);
        suite_add_tcase(s, t);
        return run_suite(s);
}
