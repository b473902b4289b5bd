/* DC-09 through the real anjud (issue 15): a [receiver] on 127.0.0.1 played
 * by anju-dc09-receiver, which decrypts, checks CRC, length and timestamp,
 * and prints every frame it got. What a centre sees: the fire as Contact ID
 * 1110 in the smoke detector's zone with our account, encrypted; an SOS;
 * the restore when the incident is resolved; nothing claimed delivered when
 * the key is wrong; after an hour down (scaled), every report once, in
 * order; the supervision NULLs; the fallback after 3 failures; and
 * `anjuctl test receiver`. */
#include "harness.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>

#define KEY_HEX "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F"
#define BAD_KEY "FF0102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F"
#define SMOKE_ON "{\"battery\":97,\"smoke\":true,\"tamper\":false}"

/* anju-dc09-receiver on port (0: a free one) with its key and more args. */
static struct proc *receiver_at(int *port, const char *key, const char *const *extra) {
        char p[16], *argv[24];
        int n = 0;
        struct proc *r;

        if (*port == 0)
                *port = h_free_port();
        snprintf(p, sizeof p, "%d", *port);
        argv[n++] = getenv("DC09_RECEIVER");
        argv[n++] = (char *) "--port";
        argv[n++] = p;
        if (key) {
                argv[n++] = (char *) "--key";
                argv[n++] = (char *) key;
        }
        for (; extra && *extra && n < 22; extra++)
                argv[n++] = (char *) *extra;
        argv[n] = NULL;
        ck_assert_ptr_nonnull(argv[0]);
        r = h_spawn(argv, NULL);
        ck_assert_msg(h_wait_line(r, "listening on", 5000), "receiver did not start: %s", r->last);
        return r;
}

/* The next frame the receiver printed whose line contains needle, parsed. */
static json_t *next_frame(struct proc *rx, const char *needle, int timeout_ms) {
        char *line = h_next_line(rx, needle, timeout_ms);
        json_t *j;

        if (!line)
                return NULL;
        j = json_loads(strchr(line, '{') ? strchr(line, '{') : line, 0, NULL);
        ck_assert_msg(j != NULL, "not JSON: %s", line);
        free(line);
        return j;
}

static const char *js(json_t *j, const char *k) {
        return json_string_value(json_object_get(j, k));
}

static long long ev_int(json_t *j, const char *k) {
        return json_integer_value(json_object_get(json_object_get(j, "event"), k));
}

/* The rig's configuration with one receiver "arc" on port (and more). */
static const char *conf(char *buf, size_t n, int port, const char *more) {
        snprintf(buf, n,
                 "[receiver arc]\nprotocol = dc09\nhost = 127.0.0.1\nport = %d\naccount = 12AB\nline = 1\n"
                 "key_file = arc.key\ntimeout = 1s\nsupervision = 0s\ntest_interval = 0s\n%s\n"
                 "[escalation critical]\nladder = receiver:arc 0s, volunteer 0s, dispatch 0s\n",
                 port, more ? more : "");
        return buf;
}

static const char *const key_secret[] = { "arc.key", KEY_HEX, NULL };

START_TEST(test_fire_reaches_the_receiver_as_contact_id_1110_in_its_zone_and_is_acked) {
        struct h_rig r;
        struct proc *rx;
        char c[1024], buf[256];
        int port = 0;
        json_t *f;

        rx = receiver_at(&port, KEY_HEX, NULL);
        h_rig_up(&r, &(struct h_rig_opts) { .config = conf(c, sizeof c, port, NULL), .secrets = key_secret });
        h_rig_pub(&r, "zigbee2mqtt/bedroom_smoke", SMOKE_ON);
        f = next_frame(rx, "\"ADM-CID\"", 10000);
        ck_assert_msg(f != NULL, "no report reached the receiver");
        ck_assert_str_eq(js(f, "verdict"), "ACK");
        ck_assert(json_is_true(json_object_get(f, "encrypted")));
        ck_assert_str_eq(js(f, "account"), "12AB");
        ck_assert_str_eq(js(f, "line"), "1");
        ck_assert_str_eq(json_string_value(json_object_get(json_object_get(f, "event"), "code")), "110");
        ck_assert_int_eq(ev_int(f, "qualifier"), 1);
        ck_assert_int_eq(ev_int(f, "group"), 1);
        ck_assert_int_eq(ev_int(f, "zone"), 2);         /* bedroom_smoke: the second sensor of the file */
        json_decref(f);
        /* The ACK is the centre taking charge: delivered once, on record. */
        ck_assert_int_eq(h_rig_db_wait(&r, "SELECT count(*) FROM deliveries WHERE kind = 'dc09' AND "
                                       "dest = 'receiver:arc' AND case_id LIKE 'ACK % from arc'", 1, 10000), 1);
        ck_assert_int_eq(h_rig_db(&r, "SELECT count(*) FROM outbox WHERE kind = 'dc09'"), 0);
        h_rig_db_text(&r, "SELECT state FROM incidents WHERE type = 'fire'", buf, sizeof buf);
        ck_assert_str_eq(buf, "acked");
        /* On the incident's record as the receiver's ACK over DC-09, not
         * as something the dispatch center said over HTTPS. */
        ck_assert_int_eq(h_rig_db(&r, "SELECT count(*) FROM timeline WHERE event = 'receiver_delivered' AND "
                                      "actor = 'receiver:arc' AND channel = 'dc09' AND note LIKE 'ACK % from arc, attempt 1'"),
                         1);
        ck_assert_int_eq(h_rig_db(&r, "SELECT count(*) FROM timeline WHERE channel = 'https' AND note LIKE '%from arc%'"),
                         0);
        h_rig_down(&r);
        h_stop(rx, SIGTERM);
}
END_TEST

START_TEST(test_sos_then_resolve_sends_the_restore) {
        struct h_rig r;
        struct proc *rx;
        char c[1024], id[64];
        int port = 0;
        json_t *f;
        struct h_out o;

        rx = receiver_at(&port, KEY_HEX, NULL);
        h_rig_up(&r, &(struct h_rig_opts) { .config = conf(c, sizeof c, port, "sos = personal"),
                                             .secrets = key_secret });
        h_rig_pub(&r, "zigbee2mqtt/sos_button", "{\"action\":\"emergency\"}");
        f = next_frame(rx, "\"ADM-CID\"", 10000);
        ck_assert_msg(f != NULL, "no SOS report reached the receiver");
        ck_assert_str_eq(js(f, "verdict"), "ACK");
        /* sos = personal: 101 personal emergency, in the button's zone (5) */
        ck_assert_str_eq(json_string_value(json_object_get(json_object_get(f, "event"), "code")), "101");
        ck_assert_int_eq(ev_int(f, "qualifier"), 1);
        ck_assert_int_eq(ev_int(f, "zone"), 5);
        json_decref(f);
        ck_assert_int_eq(h_rig_db_wait(&r, "SELECT count(*) FROM deliveries WHERE kind = 'dc09'", 1, 10000), 1);
        h_rig_db_text(&r, "SELECT id FROM incidents WHERE type = 'sos'", id, sizeof id);
        ck_assert(id[0]);
        h_rig_ctl(&r, &o, "resolve", id, NULL);
        ck_assert_msg(o.rc == 0, "anjuctl resolve: %s %s", o.out, o.err);
        f = next_frame(rx, "\"ADM-CID\"", 10000);
        ck_assert_msg(f != NULL, "no restore reached the receiver");
        ck_assert_str_eq(js(f, "verdict"), "ACK");
        ck_assert_str_eq(json_string_value(json_object_get(json_object_get(f, "event"), "code")), "101");
        ck_assert_int_eq(ev_int(f, "qualifier"), 3);    /* restore */
        ck_assert_int_eq(ev_int(f, "zone"), 5);
        json_decref(f);
        ck_assert_int_eq(h_rig_db_wait(&r, "SELECT count(*) FROM deliveries WHERE kind = 'dc09'", 2, 10000), 2);
        h_rig_down(&r);
        h_stop(rx, SIGTERM);
}
END_TEST

/* A receiver with another key NAKs: nothing is claimed delivered, the
 * report stays in the outbox to be retried. */
START_TEST(test_wrong_key_is_naked_and_nothing_is_claimed_delivered) {
        struct h_rig r;
        struct proc *rx;
        char c[1024];
        int port = 0;
        json_t *f;

        rx = receiver_at(&port, BAD_KEY, NULL);
        h_rig_up(&r, &(struct h_rig_opts) { .config = conf(c, sizeof c, port, NULL), .secrets = key_secret });
        h_rig_pub(&r, "zigbee2mqtt/kitchen_smoke", SMOKE_ON);
        f = next_frame(rx, "\"verdict\":\"NAK\"", 10000);
        ck_assert_msg(f != NULL, "the receiver did not NAK");
        json_decref(f);
        ck_assert_msg(h_wait_line(r.anjud, "refused seq", 10000), "anjud did not log the NAK");
        ck_assert_msg(h_wait_line(r.anjud, "DC-09 report for incident", 10000), "no retry was scheduled");
        ck_assert_int_eq(h_rig_db(&r, "SELECT count(*) FROM deliveries WHERE kind = 'dc09'"), 0);
        ck_assert_int_eq(h_rig_db(&r, "SELECT count(*) FROM outbox WHERE kind = 'dc09'"), 1);
        h_rig_down(&r);
        h_stop(rx, SIGTERM);
}
END_TEST

/* The receiver is away for an hour of the daemon's (scaled) clock while two
 * incidents are raised: when it is back, every report arrives once, each
 * incident's in order (the alarm before its restore). */
START_TEST(test_receiver_down_for_an_hour_then_everything_once_in_order) {
        struct h_rig r;
        struct proc *rx;
        char c[1024], id[64], got[64][32];
        int port = h_free_port(), n = 0, fire = -1, fire_restore = -1, sos = -1;
        struct h_out o;
        json_t *f;

        h_rig_up(&r, &(struct h_rig_opts) { .scale = "60", .config = conf(c, sizeof c, port, NULL),
                                             .secrets = key_secret });
        h_rig_pub(&r, "zigbee2mqtt/kitchen_smoke", SMOKE_ON);
        h_rig_pub(&r, "zigbee2mqtt/sos_button", "{\"action\":\"emergency\"}");
        ck_assert_int_eq(h_rig_db_wait(&r, "SELECT count(*) FROM outbox WHERE kind = 'dc09'", 2, 10000), 2);
        h_rig_db_text(&r, "SELECT id FROM incidents WHERE type = 'fire'", id, sizeof id);
        /* the smoke cleared, then the fire is resolved (else it opens again) */
        h_rig_pub(&r, "zigbee2mqtt/kitchen_smoke", "{\"battery\":97,\"smoke\":false,\"tamper\":false}");
        ck_assert_msg(h_wait_line(r.anjud, "stays open until a responder closes it", 10000), "smoke not cleared");
        h_rig_ctl(&r, &o, "resolve", id, NULL);
        ck_assert_msg(o.rc == 0, "anjuctl resolve: %s %s", o.out, o.err);
        if (h_rig_db_wait(&r, "SELECT count(*) FROM outbox WHERE kind = 'dc09'", 3, 10000) != 3) {
                char l[1024];
                ck_abort_msg("outbox: %s", h_rig_db_list(&r, "SELECT incident || ' ' || body FROM outbox", l,
                                                         sizeof l));
        }
        /* an hour of the hub's clock: 60 s real at --time-scale 60 */
        ck_assert_msg(h_count_lines(r.anjud, "DC-09 report for incident", 60000) >= 3, "too few retries");
        rx = receiver_at(&port, KEY_HEX, NULL);
        ck_assert_int_eq(h_rig_db_wait(&r, "SELECT count(*) FROM deliveries WHERE kind = 'dc09'", 3, 60000), 3);
        ck_assert_int_eq(h_rig_db(&r, "SELECT count(*) FROM outbox WHERE kind = 'dc09'"), 0);
        while (n < 64 && (f = next_frame(rx, "\"ADM-CID\"", 1500))) {
                if (strcmp(js(f, "verdict"), "ACK") == 0)
                        snprintf(got[n++], sizeof got[0], "%s/%lld/%lld",
                                 json_string_value(json_object_get(json_object_get(f, "event"), "code")),
                                 ev_int(f, "qualifier"), ev_int(f, "zone"));
                json_decref(f);
        }
        ck_assert_int_eq(n, 3);         /* each once: no ACKed report sent again */
        for (int i = 0; i < n; i++) {
                if (strcmp(got[i], "110/1/1") == 0)
                        fire = i;
                else if (strcmp(got[i], "110/3/1") == 0)
                        fire_restore = i;
                else if (strcmp(got[i], "120/1/5") == 0)
                        sos = i;
        }
        ck_assert_msg(fire >= 0 && fire_restore >= 0 && sos >= 0, "got %s, %s, %s", got[0], got[1], got[2]);
        ck_assert_int_lt(fire, fire_restore);
        h_rig_down(&r);
        h_stop(rx, SIGTERM);
}
END_TEST

/* NULL messages every `supervision`, acknowledged. */
START_TEST(test_supervision_nulls_arrive_and_are_acked) {
        struct h_rig r;
        struct proc *rx;
        char c[1024];
        int port = 0;
        json_t *f;

        rx = receiver_at(&port, KEY_HEX, NULL);
        conf(c, sizeof c, port, NULL);
        /* supervision 10s of the hub's clock: 1 s at --time-scale 10 */
        snprintf(strstr(c, "supervision = 0s"), sizeof c - (size_t) (strstr(c, "supervision = 0s") - c),
                 "supervision = 10s\ntest_interval = 0s\n[escalation critical]\nladder = receiver:arc 0s\n");
        h_rig_up(&r, &(struct h_rig_opts) { .scale = "10", .config = c, .secrets = key_secret });
        for (int i = 0; i < 2; i++) {
                f = next_frame(rx, "\"NULL\"", 10000);
                ck_assert_msg(f != NULL, "supervision message %d did not arrive", i + 1);
                ck_assert_str_eq(js(f, "verdict"), "ACK");
                ck_assert_str_eq(js(f, "account"), "12AB");
                json_decref(f);
        }
        h_rig_down(&r);
        h_stop(rx, SIGTERM);
}
END_TEST

/* A receiver that stops answering: after 3 failures a warning for
 * maintenance, and the reports go to its fallback. */
START_TEST(test_fallback_after_three_failures_and_a_warning_for_maintenance) {
        struct h_rig r;
        struct proc *rx2;
        char c[1600];
        int port1 = h_free_port(), port2 = 0;
        json_t *f;

        rx2 = receiver_at(&port2, KEY_HEX, NULL);
        snprintf(c, sizeof c,
                 "[receiver arc]\nprotocol = dc09\nhost = 127.0.0.1\nport = %d\naccount = 12AB\nkey_file = arc.key\n"
                 "timeout = 1s\nsupervision = 10s\ntest_interval = 0s\nfallback = arc2\n"
                 "[receiver arc2]\nprotocol = dc09\nhost = 127.0.0.1\nport = %d\naccount = 12AB\n"
                 "key_file = arc.key\ntimeout = 1s\nsupervision = 0s\ntest_interval = 0s\n"
                 "[escalation critical]\nladder = receiver:arc 0s, volunteer 0s\n", port1, port2);
        h_rig_up(&r, &(struct h_rig_opts) { .scale = "10", .config = c, .secrets = key_secret });
        ck_assert_msg(h_wait_line(r.anjud, "receiver arc does not answer", 20000), "arc was not seen down");
        /* the warning for maintenance: a hub problem incident */
        ck_assert_int_eq(h_rig_db_wait(&r, "SELECT count(*) FROM incidents WHERE sensor = 'hub:receiver'", 1,
                                       10000), 1);
        h_rig_pub(&r, "zigbee2mqtt/kitchen_smoke", SMOKE_ON);
        f = next_frame(rx2, "\"ADM-CID\"", 10000);
        ck_assert_msg(f != NULL, "the fire did not go to the fallback");
        ck_assert_str_eq(js(f, "verdict"), "ACK");
        ck_assert_str_eq(json_string_value(json_object_get(json_object_get(f, "event"), "code")), "110");
        json_decref(f);
        ck_assert_int_eq(h_rig_db_wait(&r, "SELECT count(*) FROM deliveries WHERE kind = 'dc09' AND "
                                       "case_id LIKE '% from arc2'", 1, 10000), 1);
        h_rig_down(&r);
        h_stop(rx2, SIGTERM);
}
END_TEST

START_TEST(test_anjuctl_test_receiver_sends_602_and_prints_the_ack) {
        struct h_rig r;
        struct proc *rx;
        char c[1024];
        int port = 0;
        struct h_out o;
        json_t *f;

        rx = receiver_at(&port, KEY_HEX, NULL);
        h_rig_up(&r, &(struct h_rig_opts) { .config = conf(c, sizeof c, port, NULL), .secrets = key_secret });
        h_rig_ctl(&r, &o, "test", "receiver", "arc", NULL);
        ck_assert_msg(o.rc == 0, "anjuctl test receiver: rc %d: %s %s", o.rc, o.out, o.err);
        ck_assert_msg(strstr(o.out, "test report (602) acknowledged by the receiver: ACK ") &&
                      strstr(o.out, " from arc"), "%s", o.out);
        f = next_frame(rx, "\"ADM-CID\"", 5000);
        ck_assert_ptr_nonnull(f);
        ck_assert_str_eq(json_string_value(json_object_get(json_object_get(f, "event"), "code")), "602");
        ck_assert_int_eq(ev_int(f, "zone"), 0);
        json_decref(f);
        h_rig_ctl(&r, &o, "test", "receiver", "nowhere", NULL);
        ck_assert_int_eq(o.rc, 4);      /* no such receiver */
        h_rig_down(&r);
        h_stop(rx, SIGTERM);
}
END_TEST

/* transport = udp: one datagram, the answer in one datagram. */
START_TEST(test_fire_over_udp_is_acked) {
        struct h_rig r;
        struct proc *rx;
        char c[1024];
        int port = 0;
        json_t *f;

        rx = receiver_at(&port, KEY_HEX, NULL);
        h_rig_up(&r, &(struct h_rig_opts) { .config = conf(c, sizeof c, port, "transport = udp"),
                                             .secrets = key_secret });
        h_rig_pub(&r, "zigbee2mqtt/kitchen_smoke", SMOKE_ON);
        f = next_frame(rx, "\"ADM-CID\"", 10000);
        ck_assert_msg(f != NULL, "no report reached the receiver");
        ck_assert_str_eq(js(f, "transport"), "udp");
        ck_assert_str_eq(js(f, "verdict"), "ACK");
        ck_assert_str_eq(json_string_value(json_object_get(json_object_get(f, "event"), "code")), "110");
        ck_assert_int_eq(ev_int(f, "zone"), 1);
        json_decref(f);
        ck_assert_int_eq(h_rig_db_wait(&r, "SELECT count(*) FROM deliveries WHERE kind = 'dc09'", 1, 10000), 1);
        h_rig_down(&r);
        h_stop(rx, SIGTERM);
}
END_TEST

/* The periodic test report: a 602 every test_interval of the hub's clock. */
START_TEST(test_periodic_602_test_reports_arrive) {
        struct h_rig r;
        struct proc *rx;
        char c[1024], *at;
        int port = 0;
        json_t *f;

        rx = receiver_at(&port, KEY_HEX, NULL);
        conf(c, sizeof c, port, NULL);
        at = strstr(c, "test_interval = 0s");
        /* 1 min of the hub's clock: 1 s at --time-scale 60 */
        snprintf(at, sizeof c - (size_t) (at - c),
                 "test_interval = 1m\n[escalation critical]\nladder = receiver:arc 0s\n");
        h_rig_up(&r, &(struct h_rig_opts) { .scale = "60", .config = c, .secrets = key_secret });
        for (int i = 0; i < 2; i++) {
                f = next_frame(rx, "\"ADM-CID\"", 10000);
                ck_assert_msg(f != NULL, "test report %d did not arrive", i + 1);
                ck_assert_str_eq(js(f, "verdict"), "ACK");
                ck_assert_str_eq(json_string_value(json_object_get(json_object_get(f, "event"), "code")), "602");
                ck_assert_int_eq(ev_int(f, "qualifier"), 1);
                ck_assert_int_eq(ev_int(f, "zone"), 0);
                json_decref(f);
        }
        h_rig_down(&r);
        h_stop(rx, SIGTERM);
}
END_TEST

/* A NAK (here the receiver's first answer) is re-sent at once with the
 * same sequence and a fresh timestamp, and the ACK to it delivers. */
START_TEST(test_nak_is_resent_with_a_fresh_timestamp_and_then_delivered) {
        static const char *const nak_once[] = { "--nak-first", "1", NULL };
        struct h_rig r;
        struct proc *rx;
        char c[1024];
        int port = 0;
        json_t *a, *b;

        rx = receiver_at(&port, KEY_HEX, nak_once);
        h_rig_up(&r, &(struct h_rig_opts) { .config = conf(c, sizeof c, port, NULL), .secrets = key_secret });
        h_rig_pub(&r, "zigbee2mqtt/kitchen_smoke", SMOKE_ON);
        a = next_frame(rx, "\"ADM-CID\"", 10000);
        b = next_frame(rx, "\"ADM-CID\"", 10000);
        ck_assert_msg(a && b, "no resend after the NAK");
        ck_assert_str_eq(js(a, "verdict"), "NAK");
        ck_assert_str_eq(js(b, "verdict"), "ACK");
        ck_assert_int_eq(json_integer_value(json_object_get(a, "seq")), json_integer_value(json_object_get(b, "seq")));
        ck_assert_int_ge(json_integer_value(json_object_get(b, "timestamp")),
                         json_integer_value(json_object_get(a, "timestamp")));
        json_decref(a);
        json_decref(b);
        ck_assert_msg(h_wait_line(r.anjud, "refused seq", 10000), "anjud did not log the NAK");
        ck_assert_int_eq(h_rig_db_wait(&r, "SELECT count(*) FROM deliveries WHERE kind = 'dc09'", 1, 10000), 1);
        ck_assert_int_eq(h_rig_db(&r, "SELECT attempts FROM deliveries WHERE kind = 'dc09'"), 1);
        h_rig_down(&r);
        h_stop(rx, SIGTERM);
}
END_TEST

/* format = sia: SIA-DCS, fire alarm FA with the zone as address. */
START_TEST(test_sia_format_reports_fa_in_the_zone) {
        struct h_rig r;
        struct proc *rx;
        char c[1024];
        int port = 0;
        json_t *f;

        rx = receiver_at(&port, KEY_HEX, NULL);
        h_rig_up(&r, &(struct h_rig_opts) { .config = conf(c, sizeof c, port, "format = sia"),
                                             .secrets = key_secret });
        h_rig_pub(&r, "zigbee2mqtt/bedroom_smoke", SMOKE_ON);
        f = next_frame(rx, "\"SIA-DCS\"", 10000);
        ck_assert_msg(f != NULL, "no report reached the receiver");
        ck_assert_str_eq(js(f, "verdict"), "ACK");
        ck_assert_str_eq(json_string_value(json_object_get(json_object_get(f, "event"), "code")), "FA");
        ck_assert_int_eq(ev_int(f, "group"), 1);
        ck_assert_int_eq(ev_int(f, "zone"), 2);
        json_decref(f);
        h_rig_down(&r);
        h_stop(rx, SIGTERM);
}
END_TEST

/* A report not yet ACKed when anjud stops is sent after it starts again,
 * from the outbox, and delivered once. */
START_TEST(test_report_waiting_across_a_restart_is_delivered_once) {
        struct h_rig r;
        struct proc *rx;
        char c[1024];
        int port = h_free_port(), n = 0;
        json_t *f;

        h_rig_up(&r, &(struct h_rig_opts) { .config = conf(c, sizeof c, port, NULL), .secrets = key_secret });
        h_rig_pub(&r, "zigbee2mqtt/kitchen_smoke", SMOKE_ON);
        ck_assert_int_eq(h_rig_db_wait(&r, "SELECT count(*) FROM outbox WHERE kind = 'dc09' AND attempts > 0", 1,
                                       10000), 1);
        h_stop(r.anjud, SIGTERM);
        rx = receiver_at(&port, KEY_HEX, NULL);
        h_rig_anjud(&r);
        ck_assert_int_eq(h_rig_db_wait(&r, "SELECT count(*) FROM deliveries WHERE kind = 'dc09'", 1, 20000), 1);
        ck_assert_int_eq(h_rig_db(&r, "SELECT count(*) FROM outbox WHERE kind = 'dc09'"), 0);
        while ((f = next_frame(rx, "\"ADM-CID\"", 1500))) {
                n += strcmp(js(f, "verdict"), "ACK") == 0;
                json_decref(f);
        }
        ck_assert_int_eq(n, 1);
        h_rig_down(&r);
        h_stop(rx, SIGTERM);
}
END_TEST

/* DUH and silence are failures: logged, retried, nothing delivered. */
START_TEST(test_duh_and_silence_are_failures_retried_and_not_delivered) {
        static const char *const duh[] = { "--duh", NULL }, *const silent[] = { "--silent", NULL };
        const char *const *modes[] = { duh, silent };
        const char *whys[] = { "DUH: the receiver could not process it", "no answer within 1s" };

        for (int i = 0; i < 2; i++) {
                struct h_rig r;
                struct proc *rx;
                char c[1024];
                int port = 0;

                rx = receiver_at(&port, KEY_HEX, modes[i]);
                h_rig_up(&r, &(struct h_rig_opts) { .config = conf(c, sizeof c, port, NULL),
                                                     .secrets = key_secret });
                h_rig_pub(&r, "zigbee2mqtt/kitchen_smoke", SMOKE_ON);
                ck_assert_msg(h_wait_line(r.anjud, whys[i], 10000), "no \"%s\" failure", whys[i]);
                ck_assert_int_eq(h_rig_db_wait(&r, "SELECT count(*) FROM outbox WHERE kind = 'dc09' AND "
                                               "attempts >= 2", 1, 15000), 1);
                ck_assert_int_eq(h_rig_db(&r, "SELECT count(*) FROM deliveries WHERE kind = 'dc09'"), 0);
                h_rig_down(&r);
                h_stop(rx, SIGTERM);
        }
}
END_TEST

int main(void) {
        Suite *s = suite_create("dc09-live");
        TCase *t = tcase_create("live");

        tcase_set_timeout(t, 180);
        tcase_add_test(t, test_fire_reaches_the_receiver_as_contact_id_1110_in_its_zone_and_is_acked);
        tcase_add_test(t, test_fire_over_udp_is_acked);
        tcase_add_test(t, test_nak_is_resent_with_a_fresh_timestamp_and_then_delivered);
        tcase_add_test(t, test_sia_format_reports_fa_in_the_zone);
        tcase_add_test(t, test_sos_then_resolve_sends_the_restore);
        tcase_add_test(t, test_wrong_key_is_naked_and_nothing_is_claimed_delivered);
        tcase_add_test(t, test_duh_and_silence_are_failures_retried_and_not_delivered);
        tcase_add_test(t, test_supervision_nulls_arrive_and_are_acked);
        tcase_add_test(t, test_periodic_602_test_reports_arrive);
        tcase_add_test(t, test_fallback_after_three_failures_and_a_warning_for_maintenance);
        tcase_add_test(t, test_anjuctl_test_receiver_sends_602_and_prints_the_ack);
        tcase_add_test(t, test_report_waiting_across_a_restart_is_delivered_once);
        tcase_add_test(t, test_receiver_down_for_an_hour_then_everything_once_in_order);
        suite_add_tcase(s, t);
        return run_suite(s);
}
