/* The DC-09 receiver test double (anju-dc09-receiver) against frames built
 * by src/dc09.c over real TCP and UDP sockets on 127.0.0.1: it ACKs what is
 * right (encrypted when the message was), NAKs a timestamp out of its window
 * or a frame it cannot decrypt (with its own time, which the sender reads),
 * says nothing to a bad CRC, and misbehaves on demand. The answers are read
 * back with dc09_parse() and classified with dc09_answer_verdict(), the way
 * the daemon's outbox will. */
#include "harness.h"
#include "dc09.h"

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
#include <time.h>
#include <unistd.h>

#define KEY_HEX "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F"

static uint8_t key[DC09_KEY_MAX];
static size_t key_len;
static struct dc09_msg msg;

static int urandom(void *ud, void *buf, size_t n) {
        FILE *f = fopen("/dev/urandom", "re");
        size_t r = f ? fread(buf, 1, n, f) : 0;

        if (f)
                fclose(f);
        return r == n ? 0 : -EIO;
}

/* The receiver on a free port with extra arguments (NULL-terminated). */
static struct proc *receiver(int *ret_port, const char *const *extra) {
        char port[16], *argv[24];
        int n = 0;
        struct proc *p;

        *ret_port = h_free_port();
        snprintf(port, sizeof port, "%d", *ret_port);
        argv[n++] = getenv("DC09_RECEIVER");
        argv[n++] = (char *) "--port";
        argv[n++] = port;
        argv[n++] = (char *) "--key";
        argv[n++] = (char *) KEY_HEX;
        for (; extra && *extra && n < 22; extra++)
                argv[n++] = (char *) *extra;
        argv[n] = NULL;
        ck_assert_ptr_nonnull(argv[0]);
        p = h_spawn(argv, NULL);
        ck_assert_msg(h_wait_line(p, "listening on", 5000), "receiver did not start: %s", p->last);
        return p;
}

static int tcp_connect(int port) {
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t) port),
                                 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(connect(fd, (struct sockaddr *) &a, sizeof a), 0);
        return fd;
}

/* An event frame: ADM-CID fire in zone 3, sequence seq, account 1234. */
static size_t event_frame(char *buf, unsigned seq, int64_t t, bool encrypt, const uint8_t *k) {
        char data[64];
        struct dc09_event ev = { .name = "fire", .group = 1, .zone = 3 };
        struct dc09_frame f = { .id = DC09_ID_ADM_CID, .seq = seq, .line = "1", .account = "1234", .data = data,
                                .has_timestamp = true, .timestamp = t, .key = encrypt ? k : NULL,
                                .key_len = encrypt ? key_len : 0, .random = urandom };
        int n;

        ck_assert_int_gt(dc09_event_data(DC09_FORMAT_CID, "1234", &ev, data, sizeof data), 0);
        n = dc09_build(&f, buf, DC09_MAX_FRAME + 1);
        ck_assert_int_gt(n, 0);
        return (size_t) n;
}

/* The answer to what was sent on fd, parsed; false if none in timeout_ms. */
static bool read_answer(int fd, int timeout_ms) {
        char buf[DC09_MAX_FRAME + 1];
        size_t len = 0, start, flen;
        struct pollfd p = { .fd = fd, .events = POLLIN };

        for (;;) {
                if (poll(&p, 1, timeout_ms) <= 0)
                        return false;
                ssize_t n = recv(fd, buf + len, sizeof buf - len, 0);
                if (n <= 0)
                        return false;
                len += (size_t) n;
                if (dc09_frame_find(buf, len, &start, &flen) == 1) {
                        ck_assert_int_eq(dc09_parse(buf + start, flen, key, key_len, &msg), 0);
                        return true;
                }
        }
}

/* The receiver's JSON line for the next frame. */
static json_t *next_report(struct proc *p) {
        char *line = h_next_line(p, "\"transport\"", 5000);
        json_t *j;

        ck_assert_ptr_nonnull(line);
        j = json_loads(line, 0, NULL);
        ck_assert_msg(j != NULL, "not JSON: %s", line);
        free(line);
        return j;
}

static const char *jstr(json_t *j, const char *k) {
        json_t *v = json_object_get(j, k);
        return json_is_string(v) ? json_string_value(v) : "(null)";
}

START_TEST(test_encrypted_event_is_acked_encrypted_with_same_seq_and_account) {
        int port, fd;
        char f[DC09_MAX_FRAME + 1];
        size_t n;
        struct proc *rx = receiver(&port, NULL);
        json_t *j;

        fd = tcp_connect(port);
        n = event_frame(f, 17, (int64_t) time(NULL), true, key);
        ck_assert_int_eq(send(fd, f, n, 0), (ssize_t) n);
        ck_assert(read_answer(fd, 3000));
        ck_assert(msg.encrypted);
        ck_assert_int_eq(msg.id, DC09_ID_ACK);
        ck_assert_str_eq(msg.line, "1");
        ck_assert_int_eq(dc09_answer_verdict(&msg, 17, "1234", true), DC09_VERDICT_ACK);
        ck_assert_int_eq(dc09_answer_verdict(&msg, 18, "1234", true), DC09_VERDICT_OTHER);

        j = next_report(rx);
        ck_assert_str_eq(jstr(j, "verdict"), "ACK");
        ck_assert_str_eq(jstr(j, "id"), "ADM-CID");
        ck_assert(json_is_true(json_object_get(j, "encrypted")));
        ck_assert_str_eq(jstr(j, "data"), "#1234|1110 01 003");
        ck_assert_str_eq(jstr(json_object_get(j, "event"), "code"), "110");
        ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(j, "event"), "zone")), 3);
        ck_assert_int_eq(json_integer_value(json_object_get(j, "seq")), 17);
        json_decref(j);

        /* Two frames in one segment: two answers, in order. */
        n = event_frame(f, 18, (int64_t) time(NULL), false, NULL);
        n += event_frame(f + n, 19, (int64_t) time(NULL), false, NULL);
        ck_assert_int_eq(send(fd, f, n, 0), (ssize_t) n);
        ck_assert(read_answer(fd, 3000));
        ck_assert_int_eq(dc09_answer_verdict(&msg, 18, "1234", false), DC09_VERDICT_ACK);
        ck_assert(!msg.encrypted);
        close(fd);
        h_stop(rx, SIGTERM);
}
END_TEST

START_TEST(test_stale_timestamp_and_wrong_key_get_a_nak_with_the_receivers_time) {
        static const uint8_t wrong[32] = "not the key of this receiver!!!";
        int port, fd;
        char f[DC09_MAX_FRAME + 1];
        size_t n;
        int64_t now = (int64_t) time(NULL);
        struct proc *rx = receiver(&port, NULL);
        json_t *j;

        fd = tcp_connect(port);
        n = event_frame(f, 5, now - 100, true, key);    /* the hub's clock 100 s late */
        ck_assert_int_eq(send(fd, f, n, 0), (ssize_t) n);
        ck_assert(read_answer(fd, 3000));
        ck_assert_int_eq(dc09_answer_verdict(&msg, 5, "1234", true), DC09_VERDICT_NAK);
        ck_assert(!msg.encrypted);
        ck_assert(msg.has_timestamp);
        ck_assert_int_le(llabs((long long) (msg.timestamp - now)), 5);
        j = next_report(rx);
        ck_assert_str_eq(jstr(j, "verdict"), "NAK");
        ck_assert_str_eq(jstr(j, "error"), "timestamp out of the window");
        ck_assert_int_le(json_integer_value(json_object_get(j, "skew")), -95);
        json_decref(j);

        n = event_frame(f, 6, now, true, wrong);
        ck_assert_int_eq(send(fd, f, n, 0), (ssize_t) n);
        ck_assert(read_answer(fd, 3000));
        ck_assert_int_eq(dc09_answer_verdict(&msg, 6, "1234", true), DC09_VERDICT_NAK);
        j = next_report(rx);
        ck_assert_str_eq(jstr(j, "verdict"), "NAK");
        ck_assert_str_eq(jstr(j, "account"), "1234");
        json_decref(j);

        /* Resent with a fresh timestamp: accepted. */
        n = event_frame(f, 5, (int64_t) time(NULL), true, key);
        ck_assert_int_eq(send(fd, f, n, 0), (ssize_t) n);
        ck_assert(read_answer(fd, 3000));
        ck_assert_int_eq(dc09_answer_verdict(&msg, 5, "1234", true), DC09_VERDICT_ACK);
        close(fd);
        h_stop(rx, SIGTERM);
}
END_TEST

START_TEST(test_bad_crc_gets_no_answer_and_udp_null_an_ack) {
        int port, fd, ufd;
        char f[DC09_MAX_FRAME + 1];
        size_t n;
        struct proc *rx = receiver(&port, NULL);
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t) port),
                                 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        struct dc09_frame null = { .id = DC09_ID_NULL, .seq = 9999, .account = "1234", .has_timestamp = true,
                                   .timestamp = (int64_t) time(NULL), .key = key, .key_len = key_len,
                                   .random = urandom };
        json_t *j;

        fd = tcp_connect(port);
        n = event_frame(f, 7, (int64_t) time(NULL), false, NULL);
        f[20] ^= 1;
        ck_assert_int_eq(send(fd, f, n, 0), (ssize_t) n);
        ck_assert(!read_answer(fd, 500));
        j = next_report(rx);
        ck_assert_str_eq(jstr(j, "verdict"), "none");
        ck_assert_str_eq(jstr(j, "error"), "CRC does not match the message");
        json_decref(j);
        close(fd);

        ufd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        ck_assert_int_ge(ufd, 0);
        ck_assert_int_eq(connect(ufd, (struct sockaddr *) &a, sizeof a), 0);
        n = (size_t) dc09_build(&null, f, sizeof f);
        ck_assert_int_eq(send(ufd, f, n, 0), (ssize_t) n);
        ck_assert(read_answer(ufd, 3000));
        ck_assert_int_eq(dc09_answer_verdict(&msg, 9999, "1234", true), DC09_VERDICT_ACK);
        j = next_report(rx);
        ck_assert_str_eq(jstr(j, "transport"), "udp");
        ck_assert_str_eq(jstr(j, "id"), "NULL");
        json_decref(j);
        close(ufd);
        h_stop(rx, SIGTERM);
}
END_TEST

START_TEST(test_misbehaviour_on_demand) {
        static const char *const drop_duh[] = { "--drop-first", "1", "--duh", "--delay-ms", "300", NULL };
        static const char *const silent[] = { "--silent", NULL };
        static const char *const nak_all[] = { "--nak-all", NULL };
        int port, fd;
        char f[DC09_MAX_FRAME + 1];
        size_t n;
        struct proc *rx = receiver(&port, drop_duh);
        struct timespec t0, t1;
        json_t *j;

        fd = tcp_connect(port);
        n = event_frame(f, 1, (int64_t) time(NULL), true, key);
        ck_assert_int_eq(send(fd, f, n, 0), (ssize_t) n);
        ck_assert(!read_answer(fd, 800));
        j = next_report(rx);
        ck_assert_str_eq(jstr(j, "verdict"), "dropped");
        json_decref(j);
        clock_gettime(CLOCK_MONOTONIC, &t0);
        ck_assert_int_eq(send(fd, f, n, 0), (ssize_t) n);
        ck_assert(read_answer(fd, 3000));
        clock_gettime(CLOCK_MONOTONIC, &t1);
        ck_assert_int_ge((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000, 290);
        ck_assert_int_eq(dc09_answer_verdict(&msg, 1, "1234", true), DC09_VERDICT_DUH);
        close(fd);
        h_stop(rx, SIGTERM);

        rx = receiver(&port, silent);
        fd = tcp_connect(port);
        ck_assert_int_eq(send(fd, f, n, 0), (ssize_t) n);
        ck_assert(!read_answer(fd, 500));
        close(fd);
        h_stop(rx, SIGTERM);

        rx = receiver(&port, nak_all);
        fd = tcp_connect(port);
        ck_assert_int_eq(send(fd, f, n, 0), (ssize_t) n);
        ck_assert(read_answer(fd, 3000));
        ck_assert_int_eq(dc09_answer_verdict(&msg, 1, "1234", true), DC09_VERDICT_NAK);
        close(fd);
        h_stop(rx, SIGTERM);
}
END_TEST

int main(void) {
        Suite *s = suite_create("dc09-receiver");
        TCase *tc = tcase_create("live");
        SRunner *sr;
        int failed;

        if (dc09_key_from_hex(KEY_HEX, key, &key_len) < 0)
                return EXIT_FAILURE;
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_encrypted_event_is_acked_encrypted_with_same_seq_and_account);
        tcase_add_test(tc, test_stale_timestamp_and_wrong_key_get_a_nak_with_the_receivers_time);
        tcase_add_test(tc, test_bad_crc_gets_no_answer_and_udp_null_an_ack);
        tcase_add_test(tc, test_misbehaviour_on_demand);
        suite_add_tcase(s, tc);
        sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
