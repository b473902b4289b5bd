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

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define SMOKE_ON "{\"battery\":97,\"smoke\":true}"
#define TLS_OFF "TLS verification is OFF"

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

/* ---- the rig, with TLS ---- */

/* The harness's rig (its broker's plain listener is for this test's own
 * publisher and status watcher) and what TLS adds to it. */
struct tls {
        struct h_rig r;
        char certs[256];        /* make-certs.sh's CA, certificates and keys */
        char anjud_log[512];
        long log_mark;          /* where the current anjud's lines start in anjud_log */
        int tls_port;           /* the broker's TLS listener: anjud's */
        int https_port;         /* socat's TLS in front of the center */
        struct proc *front;
};

/* The broker's TLS listener presenting <cert>.pem, client certificates
 * from the test CA required (the broker's own identity for anjud). */
static const char *tls_listener(struct tls *t, const char *cert) {
        static char conf[2048];

        snprintf(conf, sizeof conf,
                 "persistence false\nconnection_messages true\n\n"
                 "listener %d 127.0.0.1\ncafile %s/ca.pem\ncertfile %s/%s.pem\nkeyfile %s/%s.key\n"
                 "require_certificate true\nuse_identity_as_username true\n",
                 t->tls_port, t->certs, t->certs, cert, t->certs, cert);
        return conf;
}

/* Fresh certificates, then the rig with its broker presenting <cert>.pem
 * on the TLS listener, the center (plain HTTP) if center; no anjud yet.
 * mosquitto, started as root, reads the certificates as user mosquitto:
 * their directory must be open to others. */
static void tls_up(struct tls *t, const char *cert, bool center) {
        char cmd[1024];
        int st;

        memset(t, 0, sizeof *t);
        snprintf(t->certs, sizeof t->certs, "%s", h_tmpdir());
        ck_assert_int_eq(chmod(t->certs, 0755), 0);
        snprintf(cmd, sizeof cmd, "'%s' '%s'", h_env("MAKE_CERTS", "tests/integration/make-certs.sh"), t->certs);
        st = system(cmd);
        ck_assert_msg(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "make-certs.sh failed: %s", cmd);
        t->tls_port = h_free_port();
        t->https_port = h_free_port();
        h_rig_up(&t->r, &(struct h_rig_opts) { .broker_conf = tls_listener(t, cert), .no_sim = !center,
                                               .no_sub = true, .no_anjud = true });
        snprintf(t->anjud_log, sizeof t->anjud_log, "%s/anjud.log", t->r.dir);
}

/* The broker again, presenting <cert>.pem, on the same ports. */
static void broker_restart(struct tls *t, const char *cert) {
        h_stop(t->r.broker, SIGTERM);
        t->r.broker = h_broker_start_conf(t->r.mqtt_port, tls_listener(t, cert));
}

/* socat terminating TLS with <cert>.pem on https_port, forwarding in clear
 * to the simulator on loopback. */
static struct proc *front_start(struct tls *t, const char *cert) {
        char listen[1024], connect[64], log[512];
        struct proc *p;

        snprintf(listen, sizeof listen,
                 "OPENSSL-LISTEN:%d,bind=127.0.0.1,reuseaddr,fork,cert=%s/%s.pem,key=%s/%s.key,verify=0",
                 t->https_port, t->certs, cert, t->certs, cert);
        snprintf(connect, sizeof connect, "TCP:127.0.0.1:%d", t->r.sim_port);
        snprintf(log, sizeof log, "%s/socat.log", t->r.dir);
        p = h_spawn((char *const[]) { (char *) h_env("SOCAT", "/usr/bin/socat"), "-d", "-d", listen, connect, NULL },
                    log);
        ck_assert_msg(h_wait_line(p, "listening on", 10000), "socat (TLS, %s) did not start (%s); see %s", cert,
                      p->last, log);
        return p;
}

/* The sample home with anjud on the TLS listener of mqtt_host with the
 * client certificate, the center at https://localhost through socat;
 * dispatch_extra goes into [dispatch]. */
static void write_config_port(struct tls *t, const char *mqtt_host, int port, const char *mqtt_extra,
                              const char *dispatch_extra) {
        char config[2048];

        snprintf(config, sizeof config,
                 "[mqtt]\nhost = %s\nport = %d\n"
                 "tls_ca_file = %s/ca.pem\ntls_cert_file = %s/client.pem\ntls_key_file = %s/client.key\n%s\n\n"
                 "[dispatch]\nurl = https://localhost:%d/api/v1/alarms\nca_file = %s/ca.pem\n%s\n\n",
                 mqtt_host, port, t->certs, t->certs, t->certs, mqtt_extra ? mqtt_extra : "", t->https_port,
                 t->certs, dispatch_extra ? dispatch_extra : "");
        h_rig_config(&t->r, config);
}

static void write_config(struct tls *t, const char *mqtt_host, const char *dispatch_extra) {
        write_config_port(t, mqtt_host, t->tls_port, NULL, dispatch_extra);
}

/* This anjud's log so far. */
static const char *anjud_log(struct tls *t) {
        return slurp(t->anjud_log, t->log_mark);
}

/* anjud, not waited for: it may have to be refused. */
static void anjud_start(struct tls *t) {
        t->log_mark = file_size(t->anjud_log);
        if (t->r.anjud)
                h_release(t->r.anjud);
        t->r.anjud = h_anjud_start(t->r.config);
}

/* anjud is on the TLS listener and subscribed. */
static void anjud_online(struct tls *t) {
        ck_assert_msg(h_wait_line(t->r.anjud, "mqtt: connected", 15000),
                      "anjud did not connect to the broker over TLS; see %s", t->anjud_log);
        ck_assert_msg(h_wait_status(t->r.mqtt_port, H_HUB, "online", 10000), "anjud's status is not online");
}

static void smoke(struct tls *t) {
        h_rig_pub(&t->r, "zigbee2mqtt/kitchen_smoke", SMOKE_ON);
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
static void assert_mqtt_refused(struct tls *t, const char *what, const char *why) {
        const char *log;

        ck_assert_msg(!h_wait_line(t->r.anjud, "mqtt: connected", 4000), "anjud connected to %s", what);
        ck_assert_msg(h_alive(t->r.anjud), "anjud died on %s", what);
        log = anjud_log(t);
        ck_assert_msg(strstr(log, "mqtt: reconnecting") || strstr(log, "mqtt: cannot connect"),
                      "anjud does not retry after %s:\n%s", what, log);
        ck_assert_msg(strstr(log, "certificate verify failed"),
                      "anjud logged no certificate error for %s:\n%s", what, log);
        ck_assert_msg(!why || strstr(log, why), "anjud did not log \"%s\" for %s:\n%s", why, what, log);
        ck_assert_msg(!h_wait_status(t->r.mqtt_port, H_HUB, "online", 500), "anjud's status is online on %s", what);
}

/* ---- the tests ---- */

/* Everything verified: the broker's certificate against the CA and the
 * host name, the client certificate presented, the center's certificate
 * against [dispatch] ca_file (the test CA is in no system store). */
START_TEST(test_smoke_reaches_the_center_over_mqtt_tls_and_https) {
        struct tls t;
        char *line;

        tls_up(&t, "server", true);
        t.front = front_start(&t, "server");
        write_config(&t, "localhost", NULL);
        anjud_start(&t);
        anjud_online(&t);
        /* The broker took anjud's certificate as its identity. */
        ck_assert_msg(h_wait_line(t.r.broker, "u'" H_HUB "'", 5000),
                      "the broker did not see anjud's client certificate");
        smoke(&t);
        json_t *call = h_sim_next_call(t.r.sim, 10000);
        assert_fire_call(call);
        json_decref(call);
        line = h_next_line(t.r.anjud, "delivered to", 5000);
        ck_assert_msg(line && strstr(line, "https://localhost:"), "no delivery over https logged: %s", line);
        free(line);
        ck_assert_msg(!strstr(anjud_log(&t), TLS_OFF), "TLS verification reported off without insecure");
        ck_assert_msg(h_alive(t.r.anjud), "anjud died");
        ck_assert_int_eq(h_stop(t.r.anjud, SIGTERM), 0);
        h_stop(t.front, SIGTERM);
        h_rig_down(&t.r);
}
END_TEST

/* A broker whose certificate another CA signed (same host names): no
 * session, an error that says why, retries; the right broker on the same
 * port later is connected to without a restart. */
START_TEST(test_mqtt_broker_signed_by_another_ca_is_refused) {
        struct tls t;

        tls_up(&t, "rogue", false);
        write_config(&t, "localhost", NULL);
        anjud_start(&t);
        assert_mqtt_refused(&t, "a broker signed by another CA", NULL);
        broker_restart(&t, "server");
        ck_assert_msg(h_wait_line(t.r.anjud, "mqtt: connected", 15000),
                      "anjud did not retry and connect to the right broker");
        ck_assert_msg(h_alive(t.r.anjud), "anjud died");
        ck_assert_int_eq(h_stop(t.r.anjud, SIGTERM), 0);
        h_rig_down(&t.r);
}
END_TEST

/* The broker's certificate is from the right CA but for another name
 * (CN and SAN other.example): refused by name and by address alike. */
START_TEST(test_mqtt_broker_certificate_for_another_host_is_refused) {
        struct tls t;
        const char *const hosts[] = { "localhost", "127.0.0.1" };

        tls_up(&t, "wrongname", false);
        for (size_t i = 0; i < 2; i++) {
                write_config(&t, hosts[i], NULL);
                anjud_start(&t);
                assert_mqtt_refused(&t, hosts[i], "host name verification failed");
                ck_assert_int_eq(h_stop(t.r.anjud, SIGTERM), 0);
        }
        h_rig_down(&t.r);
}
END_TEST

/* A TCP connect to 127.0.0.1:port: true if the kernel completed it within
 * ms, false if it is still pending (the listener's accept queue is full);
 * the socket in *fd either way. */
static bool tcp_connects(int port, int ms, int *fd) {
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t) port),
                                 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        struct pollfd p;
        int err = 0;
        socklen_t len = sizeof err;

        *fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        ck_assert_int_ge(*fd, 0);
        if (connect(*fd, (struct sockaddr *) &a, sizeof a) == 0)
                return true;
        ck_assert_int_eq(errno, EINPROGRESS);
        p = (struct pollfd) { .fd = *fd, .events = POLLOUT };
        if (poll(&p, 1, ms) != 1)
                return false;
        ck_assert_int_eq(getsockopt(*fd, SOL_SOCKET, SO_ERROR, &err, &len), 0);
        return err == 0;
}

/* How many TCP sockets on this machine are in SYN_SENT towards
 * 127.0.0.1:port (/proc/net/tcp: state 02). */
static int syn_sent_to(int port) {
        FILE *f = fopen("/proc/net/tcp", "r");
        char line[512], want[32];
        int n = 0;

        ck_assert_ptr_nonnull(f);
        snprintf(want, sizeof want, "0100007F:%04X 02", (unsigned) port);
        while (fgets(line, sizeof line, f))
                if (strstr(line, want))
                        n++;
        fclose(f);
        return n;
}

/* A reconnect whose TCP connect is still in progress when libmosquitto
 * starts the TLS handshake (the broker's accept queue is full: a busy
 * broker, a slow board) gets SSL_ERROR_WANT_WRITE. The handshake must go
 * on once the socket is writable; it used to wait for the keepalive (60 s)
 * instead, and armhf under qemu ran into it after every refused broker.
 * Here a TCP relay in front of the broker (socat) is stopped with its
 * accept queue filled while anjud reconnects, then let go. */
START_TEST(test_mqtt_tls_handshake_after_a_slow_tcp_connect) {
        struct tls t;
        char listen[128], connect[64], log[512];
        struct proc *relay;
        int relay_port, fill[8], n_fill = 0, pending;
        long long until;

        tls_up(&t, "server", false);
        relay_port = h_free_port();
        /* Nothing listens there yet: the first connect is refused, and the
         * next ones are asynchronous (reconnect_async). */
        write_config_port(&t, "localhost", relay_port, "reconnect_min = 4s\nreconnect_max = 8s", NULL);
        anjud_start(&t);
        ck_assert_msg(h_wait_line(t.r.anjud, "mqtt: reconnecting in", 10000), "anjud did not schedule a reconnect; see %s",
                      t.anjud_log);
        snprintf(listen, sizeof listen, "TCP-LISTEN:%d,bind=127.0.0.1,reuseaddr,fork,backlog=1", relay_port);
        snprintf(connect, sizeof connect, "TCP:127.0.0.1:%d", t.tls_port);
        snprintf(log, sizeof log, "%s/relay.log", t.r.dir);
        relay = h_spawn((char *const[]) { (char *) h_env("SOCAT", "/usr/bin/socat"), "-d", "-d", listen, connect,
                                          NULL },
                        log);
        ck_assert_msg(h_wait_line(relay, "listening on", 10000), "socat did not start; see %s", log);
        ck_assert_int_eq(kill(relay->pid, SIGSTOP), 0);
        /* The kernel completes connects into the accept queue until it is
         * full, then drops SYNs: the next connect stays in SYN_SENT. */
        while (n_fill < (int) (sizeof fill / sizeof *fill) && tcp_connects(relay_port, 300, &fill[n_fill]))
                n_fill++;
        ck_assert_msg(n_fill < (int) (sizeof fill / sizeof *fill), "the relay's accept queue never filled");
        close(fill[n_fill]);    /* the pending one: only anjud's stay in SYN_SENT */
        /* Both sessions reconnect 2-4 s after their first refusal. */
        until = h_now_ms() + 10000;
        while ((pending = syn_sent_to(relay_port)) < 2 && h_now_ms() < until)
                (void) poll(NULL, 0, 20);
        ck_assert_msg(pending >= 1, "anjud did not reconnect");
        ck_assert_int_eq(kill(relay->pid, SIGCONT), 0);
        for (int i = 0; i < n_fill; i++)
                close(fill[i]);
        /* The kernel retries the SYN after 1 s; the handshake follows. */
        ck_assert_msg(h_wait_status(t.r.mqtt_port, H_HUB, "online", 10000),
                      "the TLS handshake of a connect that was slow to complete did not go on; see %s",
                      t.anjud_log);
        ck_assert_msg(h_alive(t.r.anjud), "anjud died");
        ck_assert_int_eq(h_stop(t.r.anjud, SIGTERM), 0);
        h_stop(relay, SIGTERM);
        h_rig_down(&t.r);
}
END_TEST

/* The server certificate has the right names (SAN localhost and
 * 127.0.0.1) so the checks above refuse only the wrong name, not TLS
 * to an address as such. */
START_TEST(test_mqtt_by_address_is_verified_against_the_ip_san) {
        struct tls t;

        tls_up(&t, "server", false);
        write_config(&t, "127.0.0.1", NULL);
        anjud_start(&t);
        anjud_online(&t);
        ck_assert_int_eq(h_stop(t.r.anjud, SIGTERM), 0);
        h_rig_down(&t.r);
}
END_TEST

/* The rig with the center behind socat presenting <cert>.pem, anjud
 * online: a smoke's call fails, the failure names the certificate, it is
 * retried up to the attempt given, and nothing reaches the simulator. */
static void https_refused(struct tls *t, const char *cert, int attempts, const char *why) {
        char want[64], *line;

        tls_up(t, "server", true);
        t->front = front_start(t, cert);
        write_config(t, "localhost", NULL);
        anjud_start(t);
        anjud_online(t);
        smoke(t);
        line = h_next_line(t->r.anjud, "failed (attempt 1)", 10000);
        ck_assert_msg(line != NULL, "no failed attempt logged; see %s", t->anjud_log);
        ck_assert_msg(strstr(line, "certificate"), "the failure does not name the certificate: %s", line);
        ck_assert_msg(strstr(line, why), "the failure does not say \"%s\": %s", why, line);
        free(line);
        snprintf(want, sizeof want, "failed (attempt %d)", attempts);
        ck_assert_msg(h_wait_line(t->r.anjud, want, 10000), "anjud does not retry the call");
        ck_assert_ptr_null(h_sim_next_call(t->r.sim, 1000));
}

/* The center presents a certificate from another CA: the call is not
 * delivered (the simulator sees nothing), anjud says why and keeps the
 * call. With insecure = true it goes through, and every start warns. */
START_TEST(test_https_from_another_ca_is_refused_unless_insecure) {
        struct tls t;
        json_t *call;

        https_refused(&t, "rogue", 3, "unable to get local issuer certificate");
        ck_assert_msg(!strstr(anjud_log(&t), TLS_OFF), "TLS verification reported off without insecure");
        ck_assert_msg(h_alive(t.r.anjud), "anjud died");
        ck_assert_int_eq(h_stop(t.r.anjud, SIGTERM), 0);

        /* Spelled out: the call kept in the outbox goes through now. */
        write_config(&t, "localhost", "insecure = true");
        anjud_start(&t);
        ck_assert_msg(h_wait_line(t.r.anjud, TLS_OFF, 5000), "no warning at start with insecure = true");
        call = h_sim_next_call(t.r.sim, 10000);
        assert_fire_call(call);
        json_decref(call);
        ck_assert_ptr_null(h_sim_next_call(t.r.sim, 500));
        ck_assert_int_eq(h_stop(t.r.anjud, SIGTERM), 0);

        /* Every start warns, not only the first. */
        anjud_start(&t);
        ck_assert_msg(h_wait_line(t.r.anjud, TLS_OFF, 5000), "no warning at the second start with insecure = true");
        anjud_online(&t);
        ck_assert_int_eq(h_stop(t.r.anjud, SIGTERM), 0);
        h_stop(t.front, SIGTERM);
        h_rig_down(&t.r);
}
END_TEST

/* The center's certificate is from the right CA but for another name:
 * refused by host name (VERIFYHOST), nothing reaches the simulator. */
START_TEST(test_https_certificate_for_another_host_is_refused) {
        struct tls t;

        https_refused(&t, "wrongname", 2, "host name");
        ck_assert_msg(h_alive(t.r.anjud), "anjud died");
        ck_assert_int_eq(h_stop(t.r.anjud, SIGTERM), 0);
        h_stop(t.front, SIGTERM);
        h_rig_down(&t.r);
}
END_TEST

/* An expired certificate and a self-signed one: each refused, and the
 * failure says which it was (issue 18). */
START_TEST(test_https_expired_and_self_signed_certificates_are_named) {
        struct tls t;

        https_refused(&t, "expired", 2, "certificate has expired");
        ck_assert_int_eq(h_stop(t.r.anjud, SIGTERM), 0);
        h_stop(t.front, SIGTERM);
        h_rig_down(&t.r);
        https_refused(&t, "selfsigned", 2, "self");
        ck_assert_int_eq(h_stop(t.r.anjud, SIGTERM), 0);
        h_stop(t.front, SIGTERM);
        h_rig_down(&t.r);
}
END_TEST

/* Runs anjud --check-config on the rig's config: its exit code, and its
 * output in out. */
static int check_config(struct tls *t, char *out, size_t n) {
        struct proc *p = h_spawn((char *const[]) { (char *) h_env("ANJUD", "anjud"), "-c", t->r.config,
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
        h_release(p);
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
        struct tls t;
        char out[8192];

        tls_up(&t, "server", false);
        for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
                write_config(&t, "localhost", bad[i]);
                ck_assert_msg(check_config(&t, out, sizeof out) != 0, "\"%s\" accepted", bad[i]);
                ck_assert_msg(strstr(out, "insecure"), "\"%s\": the error does not name the key:\n%s", bad[i], out);
        }
        for (size_t i = 0; i < sizeof off / sizeof *off; i++) {
                write_config(&t, "localhost", off[i]);
                ck_assert_msg(check_config(&t, out, sizeof out) == 0, "\"%s\" refused:\n%s", off[i], out);
                anjud_start(&t);
                anjud_online(&t);
                ck_assert_int_eq(h_stop(t.r.anjud, SIGTERM), 0);
                ck_assert_msg(!strstr(anjud_log(&t), TLS_OFF), "\"%s\" turned TLS verification off",
                              off[i] ? off[i] : "(no insecure key)");
        }
        for (size_t i = 0; i < sizeof on / sizeof *on; i++) {
                write_config(&t, "localhost", on[i]);
                anjud_start(&t);
                ck_assert_msg(h_wait_line(t.r.anjud, TLS_OFF, 5000), "\"%s\" did not warn at start", on[i]);
                anjud_online(&t);
                ck_assert_int_eq(h_stop(t.r.anjud, SIGTERM), 0);
        }
        h_rig_down(&t.r);
}
END_TEST

int main(void) {
        Suite *s = suite_create("tls-live");
        TCase *t = tcase_create("tls");

        tcase_set_timeout(t, 120);
        tcase_add_test(t, test_smoke_reaches_the_center_over_mqtt_tls_and_https);
        tcase_add_test(t, test_mqtt_broker_signed_by_another_ca_is_refused);
        tcase_add_test(t, test_mqtt_broker_certificate_for_another_host_is_refused);
        tcase_add_test(t, test_mqtt_by_address_is_verified_against_the_ip_san);
        tcase_add_test(t, test_mqtt_tls_handshake_after_a_slow_tcp_connect);
        tcase_add_test(t, test_https_from_another_ca_is_refused_unless_insecure);
        tcase_add_test(t, test_https_certificate_for_another_host_is_refused);
        tcase_add_test(t, test_https_expired_and_self_signed_certificates_are_named);
        tcase_add_test(t, test_insecure_must_be_spelled_out);
        suite_add_tcase(s, t);
        return run_suite(s);
}
