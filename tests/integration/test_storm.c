/* A message storm on a broker with Debian's default queue limits (issue 16,
 * docs/PERFORMANCE.md): a burst of QoS 1 telemetry while anjud cannot read
 * (stopped with SIGSTOP, the extreme of a starved CPU), then a smoke alarm.
 * mosquitto queues at most max_queued_messages (1000 by default) per
 * client session and drops the rest; the smoke detector's topic rides the
 * life-safety session, whose queue holds only alarms, so the fire is
 * called, once. The broker's drop count reaches `anjuctl status`. Bounded
 * by count (STORM_MESSAGES) and time (each wait). */
#include "harness.h"

#include <check.h>
#include <jansson.h>
#include <mosquitto.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../suite.h"

#define SENSORS 200
#define STORM_MESSAGES 100000
#define SMOKE_ON "{\"smoke\":true,\"battery\":90}"

/* Debian's mosquitto 2.0.11 defaults for the queues (the harness raises
 * max_queued_messages for the crash test; this test puts them back).
 * sys_interval 1 only makes the $SYS count arrive within a second. */
#define DEBIAN_QUEUES "max_queued_messages 1000\nmax_inflight_messages 20\nsys_interval 1\n"

static char *motion_sensors(void) {
        size_t cap = SENSORS * 96, l = 0;
        char *s = malloc(cap);

        ck_assert_ptr_nonnull(s);
        for (int i = 0; i < SENSORS; i++)
                l += (size_t) snprintf(s + l, cap - l, "[sensor storm_pir_%d]\nkind = motion\nroom = hall\n"
                                                       "topic = storm/pir_%d\n", i, i);
        return s;
}

struct burst {
        unsigned acked;
        int smoke_mid;
        bool smoke_acked;
};

/* QoS 1: the broker's PUBACK; QoS 0: the message was written. */
static void on_publish(struct mosquitto *m, void *ud, int mid) {
        struct burst *b = ud;

        b->acked++;
        if (mid == b->smoke_mid)
                b->smoke_acked = true;
}

/* STORM_MESSAGES QoS 1 (or 0) messages over the motion topics, then the
 * smoke alarm, from one client; returns when the broker has acknowledged
 * all QoS 1 messages (bounded at 60 s). */
static void storm(int port, int qos) {
        struct burst b = { .smoke_mid = -1 };
        int smoke_mid;
        struct mosquitto *m;
        long long deadline = h_now_ms() + 60000;
        char topic[64], payload[64];

        mosquitto_lib_init();
        m = mosquitto_new("storm-publisher", true, &b);
        ck_assert_ptr_nonnull(m);
        mosquitto_publish_callback_set(m, on_publish);
        ck_assert_int_eq(mosquitto_int_option(m, MOSQ_OPT_SEND_MAXIMUM, 1000), MOSQ_ERR_SUCCESS);
        ck_assert_int_eq(mosquitto_connect(m, "127.0.0.1", port, 30), MOSQ_ERR_SUCCESS);
        ck_assert_int_eq(mosquitto_loop_start(m), MOSQ_ERR_SUCCESS);
        for (unsigned i = 0; i < STORM_MESSAGES; i++) {
                snprintf(topic, sizeof topic, "storm/pir_%u", i % SENSORS);
                snprintf(payload, sizeof payload, "{\"occupancy\":%s,\"battery\":80}", i / SENSORS % 2 ? "true"
                                                                                                      : "false");
                ck_assert_int_eq(mosquitto_publish(m, NULL, topic, (int) strlen(payload), payload, qos, false),
                                 MOSQ_ERR_SUCCESS);
        }
        ck_assert_int_eq(mosquitto_publish(m, &smoke_mid, "zigbee2mqtt/kitchen_smoke", (int) strlen(SMOKE_ON),
                                           SMOKE_ON, 1, false), MOSQ_ERR_SUCCESS);
        b.smoke_mid = smoke_mid;        /* its PUBACK cannot come before this: the loop thread is behind */
        while ((!b.smoke_acked || (qos && b.acked < STORM_MESSAGES + 1u)) && h_now_ms() < deadline) {
                struct timespec d = { 0, 20 * 1000 * 1000 };
                nanosleep(&d, NULL);    /* the publisher's own acks, not the daemon */
        }
        ck_assert_msg(b.smoke_acked && b.acked >= (qos ? STORM_MESSAGES + 1u : 1u),
                      "the broker acknowledged %u of %u", b.acked, STORM_MESSAGES + 1);
        mosquitto_disconnect(m);
        mosquitto_loop_stop(m, false);
        mosquitto_destroy(m);
}

static json_t *status(struct h_rig *r) {
        struct h_out o;

        h_rig_ctl(r, &o, "status", "--json", NULL);
        ck_assert_msg(o.rc == 0, "anjuctl status: %d %s", o.rc, o.err);
        return h_out_json(&o);
}

static void storm_while_starved(int qos) {
        char *sensors = motion_sensors();
        struct h_rig r;
        json_t *call, *st = NULL, *broker;
        long long deadline, dropped = -1, t0, took = -1;
        int fires = 0;

        h_rig_up(&r, &(struct h_rig_opts) { .config = sensors, .broker_conf = DEBIAN_QUEUES });
        free(sensors);
        /* anjud gets no CPU at all while the storm passes. */
        ck_assert_int_eq(kill(r.anjud->pid, SIGSTOP), 0);
        storm(r.mqtt_port, qos);
        ck_assert_int_eq(kill(r.anjud->pid, SIGCONT), 0);
        t0 = h_now_ms();

        /* The fire is called, and once. */
        call = NULL;
        deadline = h_now_ms() + 30000;
        while (h_now_ms() < deadline) {
                json_t *c = h_sim_next_call(r.sim, (int) (deadline - h_now_ms()));
                const char *t;

                if (!c)
                        break;
                t = json_string_value(json_object_get(json_object_get(c, "body"), "type"));
                if (t && strcmp(t, "fire") == 0) {
                        fires++;
                        if (!call) {
                                call = c;
                                took = h_now_ms() - t0;
                                deadline = h_now_ms() + 3000;   /* a second one would come soon after */
                                continue;
                        }
                }
                json_decref(c);
        }
        ck_assert_msg(call != NULL, "the smoke alarm after the storm was never called");
        json_decref(call);
        ck_assert_int_eq(fires, 1);
        ck_assert_int_eq(h_rig_db(&r, "SELECT count(*) FROM incidents WHERE type = 'fire'"), 1);

        /* What the broker dropped (the busy session's queue) is counted where
         * the operator looks, and the life-safety session heard the smoke. */
        deadline = h_now_ms() + 15000;
        while (h_now_ms() < deadline) {
                json_decref(st);
                st = status(&r);
                broker = json_object_get(st, "broker");
                if (json_is_integer(json_object_get(broker, "dropped")) &&
                    (dropped = json_integer_value(json_object_get(broker, "dropped"))) > 0)
                        break;
                struct timespec d = { 0, 200 * 1000 * 1000 };
                nanosleep(&d, NULL);    /* the broker publishes $SYS every second */
        }
        broker = json_object_get(st, "broker");
        printf("storm: %d QoS %d messages while anjud was stopped; the broker dropped %lld; anjud took in %lld on the "
               "busy session and %lld on the life-safety one; the fire was called once, %lld ms after anjud could run "
               "again\n", STORM_MESSAGES, qos, dropped, (long long) json_integer_value(json_object_get(broker, "received_busy")),
               (long long) json_integer_value(json_object_get(broker, "received_safety")), took);
        fflush(stdout);
        if (qos == 1)
                ck_assert_msg(dropped > 0, "the broker dropped nothing: the storm did not overflow its queue");
        ck_assert_int_ge(json_integer_value(json_object_get(broker, "received_safety")), 1);
        json_decref(st);
        ck_assert_msg(h_wait_line(r.anjud, "the broker has dropped", 5000) || qos == 0,
                      "no warning that telemetry was dropped");
        h_rig_down(&r);
}

START_TEST(test_a_qos1_storm_on_a_starved_hub_loses_no_alarm) {
        storm_while_starved(1);
}
END_TEST

START_TEST(test_a_qos0_storm_on_a_starved_hub_loses_no_alarm) {
        storm_while_starved(0);
}
END_TEST

int main(void) {
        Suite *s = suite_create("storm");
        TCase *t = tcase_create("storm");

        tcase_set_timeout(t, 180);
        tcase_add_test(t, test_a_qos1_storm_on_a_starved_hub_loses_no_alarm);
        tcase_add_test(t, test_a_qos0_storm_on_a_starved_hub_loses_no_alarm);
        suite_add_tcase(s, t);
        return run_suite(s);
}
