/* TLS where it matters, end to end: the real anjud against a real mosquitto
 * with a TLS listener (CA, server certificate, client certificates
 * required) and a real HTTPS server (socat terminating TLS in front of the
 * dispatch simulator), with throwaway certificates made by make-certs.sh
 * for every test. The broker also has a plain listener on loopback, only
 * for this test's own publisher and status watcher; anjud uses TLS.
 *
 * Refusals are checked both ways: what must not happen (no "mqtt:
 * connected", no call at the simulator) within a bound, and that anjud
 * said why, stayed up and kept retrying. */
#include "harness.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define HUB "test-hub"
#define SMOKE_ON "{\"battery\":97,\"smoke\":true}"
#define TLS_OFF "TLS verification is OFF"

/* ---- children of our own (the harness's spawn() is private) ---- */

/* argv with stdout and stderr into one pipe, read by the harness's
 * h_wait_line() and friends; stopped with h_stop(), killed at exit. */
static struct proc *run(char *const argv[], const char *log_path) {
        return h_spawn(argv, log_path);
}

static const char *env_or(const char *name, const char *def) {
        const char *v = getenv(name);
        return v && *v ? v : def;
}

/* A file from offset on (what the harness has read of a child so far, for
 * its log), or "" if it is not there. Static buffer. */
static const char *slurp(const char *path, long offset) {
        static char buf[1 << 20];
        FILE *f = fopen(path, "r");
        size_t n = 0;

        buf[0] = '\0';
        if (f) {
                if (fseek(f, offset, SEEK_SET) == 0)
                        n = fread(buf, 1, sizeof buf - 1, f);
                fclose(f);
        }
        buf[n] = '\0';
        return buf;
}

static long file_size(const char *path) {
        struct stat st;

        return stat(path, &st) == 0 ? (long) st.st_size : 0;
}

/* ---- the rig ---- */

struct rig {
        char dir[256];
        char anjud_log[512];
        long log_mark;          /* where the current anjud's lines start in anjud_log */
        int tls_port;           /* the broker's TLS listener: anjud's */
        int plain_port;         /* the broker's plain listener: the test's */
        int sim_port;           /* the simulator, plain HTTP */
        int https_port;         /* socat's TLS in front of it */
        struct proc *broker, *front, *sim, *anjud;
        const char *config;
};

/* A fresh directory with the certificates. mosquitto, started as root,
 * reads them as user mosquitto: the directory must be open to others. */
static void rig_init(struct rig *r) {
        char cmd[1024];
        int st;

        snprintf(r->dir, sizeof r->dir, "%s", h_tmpdir());
        ck_assert_int_eq(chmod(r->dir, 0755), 0);
        snprintf(cmd, sizeof cmd, "'%s' '%s'", env_or("MAKE_CERTS", "tests/integration/make-certs.sh"), r->dir);
        st = system(cmd);
        ck_assert_msg(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "make-certs.sh failed: %s", cmd);
        snprintf(r->anjud_log, sizeof r->anjud_log, "%s/anjud.log", r->dir);
        r->tls_port = h_free_port();
        r->plain_port = h_free_port();
        r->sim_port = h_free_port();
        r->https_port = h_free_port();
}

/* mosquitto with a TLS listener presenting <cert>.pem, client certificates
 * from the test CA required, and a plain one for the test itself. */
static struct proc *broker_start(struct rig *r, const char *cert) {
        char conf[512], log[512];
        FILE *f;
        struct proc *p;

        snprintf(conf, sizeof conf, "%s/mosquitto-%s.conf", r->dir, cert);
        snprintf(log, sizeof log, "%s/mosquitto.log", r->dir);
        f = fopen(conf, "w");
        ck_assert_ptr_nonnull(f);
        fprintf(f,
                "allow_anonymous true\npersistence false\n"
                "log_dest stderr\nlog_type error\nlog_type warning\nlog_type notice\nlog_type information\n"
                "connection_messages true\n\n"
                "listener %d 127.0.0.1\n\n"
                "listener %d 127.0.0.1\ncafile %s/ca.pem\ncertfile %s/%s.pem\nkeyfile %s/%s.key\n"
                "require_certificate true\nuse_identity_as_username true\n",
                r->plain_port, r->tls_port, r->dir, r->dir, cert, r->dir, cert);
        fclose(f);
        p = run((char *const[]) { (char *) env_or("MOSQUITTO", "/usr/sbin/mosquitto"), "-c", conf, NULL }, log);
        ck_assert_msg(h_wait_line(p, "running", 10000), "mosquitto (TLS, %s) did not start (%s); see %s", cert,
                      p->last, log);
        return p;
}

/* socat terminating TLS with <cert>.pem on https_port, forwarding in clear
 * to the simulator on loopback. */
static struct proc *front_start(struct rig *r, const char *cert) {
        char listen[1024], connect[64], log[512];
        struct proc *p;

        snprintf(listen, sizeof listen,
                 "OPENSSL-LISTEN:%d,bind=127.0.0.1,reuseaddr,fork,cert=%s/%s.pem,key=%s/%s.key,verify=0",
                 r->https_port, r->dir, cert, r->dir, cert);
        snprintf(connect, sizeof connect, "TCP:127.0.0.1:%d", r->sim_port);
        snprintf(log, sizeof log, "%s/socat.log", r->dir);
        p = run((char *const[]) { (char *) env_or("SOCAT", "/usr/bin/socat"), "-d", "-d", listen, connect, NULL },
                log);
        ck_assert_msg(h_wait_line(p, "listening on", 10000), "socat (TLS, %s) did not start (%s); see %s", cert,
                      p->last, log);
        return p;
}

/* The sample home (as h_write_config() writes it), anjud on the TLS
 * listener of mqtt_host with the client certificate, the center at
 * https://localhost through socat; dispatch_extra goes into [dispatch]. */
static void write_config(struct rig *r, const char *mqtt_host, const char *dispatch_extra) {
        static char path[512];
        char file[512];
        FILE *f;

        snprintf(file, sizeof file, "%s/token", r->dir);
        f = fopen(file, "w");
        ck_assert_ptr_nonnull(f);
        fputs("test-token-123\n", f);
        fclose(f);
        snprintf(file, sizeof file, "%s/key", r->dir);
        f = fopen(file, "w");
        ck_assert_ptr_nonnull(f);
        fputs("test-hmac-key-0123456789\n", f);
        fclose(f);
        snprintf(path, sizeof path, "%s/anju.conf", r->dir);
        f = fopen(path, "w");
        ck_assert_ptr_nonnull(f);
        fprintf(f,
                "[hub]\nid = " HUB "\nlanguage = en\ntimezone = Asia/Shanghai\ndatabase = %s/anju.db\n"
                "ctl_socket = %s/ctl.sock\n\n"
                "[resident]\nname = Ye Ayi\naddress = Doutan 3-2-301\nrisk = high\nnotes = lives alone\n\n"
                "[mqtt]\nhost = %s\nport = %d\nkeepalive = 10s\nreconnect_min = 50ms\nreconnect_max = 400ms\n"
                "tls_ca_file = %s/ca.pem\ntls_cert_file = %s/client.pem\ntls_key_file = %s/client.key\n\n"
                "[dispatch]\nurl = https://localhost:%d/api/v1/alarms\nca_file = %s/ca.pem\n"
                "token_file = %s/token\nhmac_key_file = %s/key\nretry_min = 100ms\nretry_max = 400ms\n"
                "timeout = 5s\n%s\n\n"
                "[sensor kitchen_smoke]\nkind = smoke\nroom = kitchen\ntopic = zigbee2mqtt/kitchen_smoke\n\n"
                "[sensor living_pir]\nkind = motion\nroom = living room\ntopic = zigbee2mqtt/living_pir\n",
                r->dir, r->dir, mqtt_host, r->tls_port, r->dir, r->dir, r->dir, r->https_port, r->dir,
                r->dir, r->dir, dispatch_extra ? dispatch_extra : "");
        fclose(f);
        r->config = path;
}

/* This anjud's log so far. */
static const char *anjud_log(struct rig *r) {
        return slurp(r->anjud_log, r->log_mark);
}

static void anjud_start(struct rig *r) {
        r->log_mark = file_size(r->anjud_log);
        r->anjud = h_anjud_start(r->config);
}

/* anjud is on the TLS listener and subscribed. */
static void anjud_online(struct rig *r) {
        ck_assert_msg(h_wait_line(r->anjud, "mqtt: connected", 15000),
                      "anjud did not connect to the broker over TLS; see %s", r->anjud_log);
        ck_assert_msg(h_wait_status(r->plain_port, HUB, "online", 10000), "anjud's status is not online");
}

static void smoke(struct rig *r) {
        h_publish(r->plain_port, "zigbee2mqtt/kitchen_smoke", SMOKE_ON, strlen(SMOKE_ON), false);
}

static void assert_fire_call(json_t *call) {
        json_t *body = json_object_get(call, "body");

        ck_assert_msg(call != NULL, "no emergency call reached the simulator through TLS");
        ck_assert_str_eq(json_string_value(json_object_get(call, "method")), "POST");
        ck_assert_str_eq(json_string_value(json_object_get(call, "path")), "/api/v1/alarms");
        ck_assert_str_eq(json_string_value(json_object_get(body, "schema")), "anju.alarm.v1");
        ck_assert_str_eq(json_string_value(json_object_get(body, "type")), "fire");
        ck_assert_str_eq(json_string_value(json_object_get(json_object_get(body, "sensor"), "id")), "kitchen_smoke");
}

/* anjud refused the broker's certificate: no session within a bound, and
 * it says why (a line with "certificate verify failed" and, if not NULL,
 * one with why), stays up and keeps trying. */
static void assert_mqtt_refused(struct rig *r, const char *what, const char *why) {
        const char *log;

        ck_assert_msg(!h_wait_line(r->anjud, "mqtt: connected", 4000), "anjud connected to %s", what);
        ck_assert_msg(h_alive(r->anjud), "anjud died on %s", what);
        log = anjud_log(r);
        ck_assert_msg(strstr(log, "mqtt: reconnecting") || strstr(log, "mqtt: cannot connect"),
                      "anjud does not retry after %s:\n%s", what, log);
        ck_assert_msg(strstr(log, "certificate verify failed"),
                      "anjud logged no certificate error for %s:\n%s", what, log);
        ck_assert_msg(!why || strstr(log, why), "anjud did not log \"%s\" for %s:\n%s", why, what, log);
        ck_assert_msg(!h_wait_status(r->plain_port, HUB, "online", 500), "anjud's status is online on %s", what);
}

/* ---- the tests ---- */

/* Everything verified: the broker's certificate against the CA and the
 * host name, the client certificate presented, the center's certificate
 * against [dispatch] ca_file (the test CA is in no system store). */
START_TEST(test_smoke_reaches_the_center_over_mqtt_tls_and_https) {
        struct rig r = { 0 };
        char *line;

        rig_init(&r);
        r.broker = broker_start(&r, "server");
        r.sim = h_sim_start(r.sim_port, NULL);
        r.front = front_start(&r, "server");
        write_config(&r, "localhost", NULL);
        anjud_start(&r);
        anjud_online(&r);
        /* The broker took anjud's certificate as its identity. */
        ck_assert_msg(h_wait_line(r.broker, "u'" HUB "'", 5000),
                      "the broker did not see anjud's client certificate");
        smoke(&r);
        json_t *call = h_sim_next_call(r.sim, 10000);
        assert_fire_call(call);
        json_decref(call);
        line = h_next_line(r.anjud, "delivered to", 5000);
        ck_assert_msg(line && strstr(line, "https://localhost:"), "no delivery over https logged: %s", line);
        free(line);
        ck_assert_msg(!strstr(anjud_log(&r), TLS_OFF), "TLS verification reported off without insecure");
        ck_assert_msg(h_alive(r.anjud), "anjud died");
        ck_assert_int_eq(h_stop(r.anjud, SIGTERM), 0);
        h_stop(r.front, SIGTERM);
        h_stop(r.sim, SIGTERM);
        h_stop(r.broker, SIGTERM);
}
END_TEST

/* A broker whose certificate another CA signed (same host names): no
 * session, an error that says why, retries; the right broker on the same
 * port later is connected to without a restart. */
START_TEST(test_mqtt_broker_signed_by_another_ca_is_refused) {
        struct rig r = { 0 };

        rig_init(&r);
        r.broker = broker_start(&r, "rogue");
        write_config(&r, "localhost", NULL);
        anjud_start(&r);
        assert_mqtt_refused(&r, "a broker signed by another CA", NULL);
        h_stop(r.broker, SIGTERM);
        r.broker = broker_start(&r, "server");
        ck_assert_msg(h_wait_line(r.anjud, "mqtt: connected", 15000),
                      "anjud did not retry and connect to the right broker");
        ck_assert_msg(h_alive(r.anjud), "anjud died");
        ck_assert_int_eq(h_stop(r.anjud, SIGTERM), 0);
        h_stop(r.broker, SIGTERM);
}
END_TEST

/* The broker's certificate is from the right CA but for another name
 * (CN and SAN other.example): refused by name and by address alike. */
START_TEST(test_mqtt_broker_certificate_for_another_host_is_refused) {
        struct rig r = { 0 };
        const char *const hosts[] = { "localhost", "127.0.0.1" };

        rig_init(&r);
        r.broker = broker_start(&r, "wrongname");
        for (size_t i = 0; i < 2; i++) {
                write_config(&r, hosts[i], NULL);
                anjud_start(&r);
                assert_mqtt_refused(&r, hosts[i], "host name verification failed");
                ck_assert_int_eq(h_stop(r.anjud, SIGTERM), 0);
        }
        h_stop(r.broker, SIGTERM);
}
END_TEST

/* The server certificate has the right names (SAN localhost and
 * 127.0.0.1) so the checks above refuse only the wrong name, not TLS
 * to an address as such. */
START_TEST(test_mqtt_by_address_is_verified_against_the_ip_san) {
        struct rig r = { 0 };

        rig_init(&r);
        r.broker = broker_start(&r, "server");
        write_config(&r, "127.0.0.1", NULL);
        anjud_start(&r);
        anjud_online(&r);
        ck_assert_int_eq(h_stop(r.anjud, SIGTERM), 0);
        h_stop(r.broker, SIGTERM);
}
END_TEST

/* The center presents a certificate from another CA: the call is not
 * delivered (the simulator sees nothing), anjud says why and keeps the
 * call. With insecure = true it goes through, and every start warns. */
START_TEST(test_https_from_another_ca_is_refused_unless_insecure) {
        struct rig r = { 0 };
        char *line;
        json_t *call;

        rig_init(&r);
        r.broker = broker_start(&r, "server");
        r.sim = h_sim_start(r.sim_port, NULL);
        r.front = front_start(&r, "rogue");
        write_config(&r, "localhost", NULL);
        anjud_start(&r);
        anjud_online(&r);
        smoke(&r);
        line = h_next_line(r.anjud, "failed (attempt 1)", 10000);
        ck_assert_msg(line != NULL, "no failed attempt logged; see %s", r.anjud_log);
        ck_assert_msg(strstr(line, "certificate"), "the failure does not name the certificate: %s", line);
        free(line);
        ck_assert_msg(h_wait_line(r.anjud, "failed (attempt 3)", 10000), "anjud does not retry the call");
        ck_assert_ptr_null(h_sim_next_call(r.sim, 1000));
        ck_assert_msg(!strstr(anjud_log(&r), TLS_OFF), "TLS verification reported off without insecure");
        ck_assert_msg(h_alive(r.anjud), "anjud died");
        ck_assert_int_eq(h_stop(r.anjud, SIGTERM), 0);

        /* Spelled out: the call kept in the outbox goes through now. */
        write_config(&r, "localhost", "insecure = true");
        anjud_start(&r);
        ck_assert_msg(h_wait_line(r.anjud, TLS_OFF, 5000), "no warning at start with insecure = true");
        call = h_sim_next_call(r.sim, 10000);
        assert_fire_call(call);
        json_decref(call);
        ck_assert_ptr_null(h_sim_next_call(r.sim, 500));
        ck_assert_int_eq(h_stop(r.anjud, SIGTERM), 0);

        /* Every start warns, not only the first. */
        anjud_start(&r);
        ck_assert_msg(h_wait_line(r.anjud, TLS_OFF, 5000), "no warning at the second start with insecure = true");
        anjud_online(&r);
        ck_assert_int_eq(h_stop(r.anjud, SIGTERM), 0);
        h_stop(r.front, SIGTERM);
        h_stop(r.sim, SIGTERM);
        h_stop(r.broker, SIGTERM);
}
END_TEST

/* The center's certificate is from the right CA but for another name:
 * refused by host name (VERIFYHOST), nothing reaches the simulator. */
START_TEST(test_https_certificate_for_another_host_is_refused) {
        struct rig r = { 0 };
        char *line;

        rig_init(&r);
        r.broker = broker_start(&r, "server");
        r.sim = h_sim_start(r.sim_port, NULL);
        r.front = front_start(&r, "wrongname");
        write_config(&r, "localhost", NULL);
        anjud_start(&r);
        anjud_online(&r);
        smoke(&r);
        line = h_next_line(r.anjud, "failed (attempt 1)", 10000);
        ck_assert_msg(line != NULL, "no failed attempt logged; see %s", r.anjud_log);
        ck_assert_msg(strstr(line, "certificate"), "the failure does not name the certificate: %s", line);
        free(line);
        ck_assert_msg(h_wait_line(r.anjud, "failed (attempt 2)", 10000), "anjud does not retry the call");
        ck_assert_ptr_null(h_sim_next_call(r.sim, 1000));
        ck_assert_msg(h_alive(r.anjud), "anjud died");
        ck_assert_int_eq(h_stop(r.anjud, SIGTERM), 0);
        h_stop(r.front, SIGTERM);
        h_stop(r.sim, SIGTERM);
        h_stop(r.broker, SIGTERM);
}
END_TEST

/* Runs anjud --check-config on the rig's config: its exit code, and its
 * output in out. */
static int check_config(struct rig *r, char *out, size_t n) {
        struct proc *p = run((char *const[]) { (char *) env_or("ANJUD", "anjud"), "-c", (char *) r->config,
                                               "--check-config", NULL },
                             NULL);
        char *line;
        int st;

        out[0] = '\0';
        while ((line = h_next_line(p, "", 5000))) {
                snprintf(out + strlen(out), n - strlen(out), "%s\n", line);
                free(line);
        }
        st = h_stop(p, SIGKILL);
        return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* insecure is off unless the key says so: absent or false verifies (and
 * does not warn), a word that is not a boolean is a configuration error
 * rather than a guess, turning verification off takes the word true (yes,
 * 1 or on by habit are refused), and true warns at start. */
START_TEST(test_insecure_must_be_spelled_out) {
        static const char *const off[] = { NULL, "insecure = false", "insecure = no" };
        static const char *const bad[] = { "insecure = maybe", "insecure =", "insecure = tru", "insecure = yes",
                                           "insecure = 1", "insecure = on" };
        static const char *const on[] = { "insecure = true", "insecure = TRUE" };
        struct rig r = { 0 };
        char out[8192];

        rig_init(&r);
        r.broker = broker_start(&r, "server");
        for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
                write_config(&r, "localhost", bad[i]);
                ck_assert_msg(check_config(&r, out, sizeof out) != 0, "\"%s\" accepted", bad[i]);
                ck_assert_msg(strstr(out, "insecure"), "\"%s\": the error does not name the key:\n%s", bad[i], out);
        }
        for (size_t i = 0; i < sizeof off / sizeof *off; i++) {
                write_config(&r, "localhost", off[i]);
                ck_assert_msg(check_config(&r, out, sizeof out) == 0, "\"%s\" refused:\n%s", off[i], out);
                anjud_start(&r);
                anjud_online(&r);
                ck_assert_int_eq(h_stop(r.anjud, SIGTERM), 0);
                ck_assert_msg(!strstr(anjud_log(&r), TLS_OFF), "\"%s\" turned TLS verification off",
                              off[i] ? off[i] : "(no insecure key)");
        }
        for (size_t i = 0; i < sizeof on / sizeof *on; i++) {
                write_config(&r, "localhost", on[i]);
                anjud_start(&r);
                ck_assert_msg(h_wait_line(r.anjud, TLS_OFF, 5000), "\"%s\" did not warn at start", on[i]);
                anjud_online(&r);
                ck_assert_int_eq(h_stop(r.anjud, SIGTERM), 0);
        }
        h_stop(r.broker, SIGTERM);
}
END_TEST

int main(void) {
        Suite *s = suite_create("tls-live");
        TCase *t = tcase_create("tls");
        SRunner *sr;
        int failed;

        tcase_set_timeout(t, 120);
        tcase_add_test(t, test_smoke_reaches_the_center_over_mqtt_tls_and_https);
        tcase_add_test(t, test_mqtt_broker_signed_by_another_ca_is_refused);
        tcase_add_test(t, test_mqtt_broker_certificate_for_another_host_is_refused);
        tcase_add_test(t, test_mqtt_by_address_is_verified_against_the_ip_san);
        tcase_add_test(t, test_https_from_another_ca_is_refused_unless_insecure);
        tcase_add_test(t, test_https_certificate_for_another_host_is_refused);
        tcase_add_test(t, test_insecure_must_be_spelled_out);
        suite_add_tcase(s, t);
        sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
