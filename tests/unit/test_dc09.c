/* DC-09: CRC-16/ARC, frames byte for byte against published peers' frames,
 * encryption (AES-128/192/256, the pad rule, zero IV), every malformed-frame
 * error, the answer (ACK/NAK/DUH) matching, the event data table, and a
 * bounded fuzz loop over random and mutated frames.
 *
 * Evidence from outside: the CRC check value of CRC-16/ARC; frames made by
 * North Latitude's DC-09 generator (DC09Gen), by a Contact ID panel and by a
 * receiver, as published (docs/DC09.md lists where), whose CRC and length
 * this parser verifies and which the builder must reproduce exactly. The
 * encryption is checked by decrypting with libcrypto directly in the test,
 * independently of the module's framing. */
#include "unit.h"
#include "dc09.h"
#include "util.h"

#include <openssl/evp.h>
#include <string.h>

/* 2006-02-15 13:14:15 UTC, the DC09Gen frames' timestamp. */
#define T_DC09GEN INT64_C(1140009255)
#define T_NOW INT64_C(1700000000)

static const uint8_t KEY16[16] = "0123456789abcdef";
static const uint8_t KEY24[24] = "0123456789abcdefghijklmn";
static const uint8_t KEY32[32] = "0123456789abcdefghijklmnopqrstuv";

static struct dc09_msg msg;     /* 8 KB: static rather than on each test's stack */

/* A deterministic "random" source: a counter, so every byte value 0..255
 * comes up and the tests repeat exactly. */
static int counter_random(void *ud, void *buf, size_t n) {
        unsigned *c = ud;
        uint8_t *b = buf;

        for (size_t i = 0; i < n; i++)
                b[i] = (uint8_t) (*c)++;
        return 0;
}

static int failing_random(void *ud, void *buf, size_t n) {
        return -EIO;
}

static int parse(const char *frame, const uint8_t *key, size_t key_len) {
        return dc09_parse(frame, strlen(frame), key, key_len, &msg);
}

/* LF crc len body CR for a body, so tests can reach the errors behind the
 * CRC and length checks (which have tests of their own). */
static const char *wrap(const char *body) {
        static char f[DC09_MAX_FRAME + 1];

        snprintf(f, sizeof f, "\n%04X%04X%s\r", (unsigned) dc09_crc(body, strlen(body)), (unsigned) strlen(body),
                 body);
        return f;
}

static enum dc09_error error_of_body(const char *body, const uint8_t *key, size_t key_len) {
        ck_assert_int_eq(parse(wrap(body), key, key_len), -EBADMSG);
        return msg.error;
}

/* The hex after '[' decrypted with libcrypto directly (zero IV, no padding). */
static size_t decrypt_tail(const char *frame, const uint8_t *key, size_t key_len, uint8_t *out) {
        const char *h = strchr(frame, '[') + 1;
        size_t n = (size_t) (strchr(h, '\r') - h) / 2;
        uint8_t cipher[2048], iv[16] = { 0 };
        EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
        const EVP_CIPHER *c = key_len == 16 ? EVP_aes_128_cbc() : key_len == 24 ? EVP_aes_192_cbc() :
                                                                                EVP_aes_256_cbc();
        int l1 = 0, l2 = 0;

        for (size_t i = 0; i < n; i++) {
                unsigned v;
                ck_assert_int_eq(sscanf(h + 2 * i, "%2X", &v), 1);
                cipher[i] = (uint8_t) v;
        }
        ck_assert(EVP_DecryptInit_ex(ctx, c, NULL, key, iv) == 1);
        EVP_CIPHER_CTX_set_padding(ctx, 0);
        ck_assert(EVP_DecryptUpdate(ctx, out, &l1, cipher, (int) n) == 1);
        ck_assert(EVP_DecryptFinal_ex(ctx, out + l1, &l2) == 1);
        EVP_CIPHER_CTX_free(ctx);
        ck_assert_uint_eq((size_t) (l1 + l2), n);
        return n;
}

/* Encrypts plain (whole blocks) with libcrypto and wraps it as a frame with
 * the given header: what another DC-09 implementation would send. */
static const char *encrypted_frame(const char *head, const uint8_t *plain, size_t n, const uint8_t *key) {
        static char body[DC09_MAX_BODY + 1];
        uint8_t cipher[2048], iv[16] = { 0 };
        EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
        int l1 = 0, l2 = 0;
        size_t bl;

        ck_assert(EVP_EncryptInit_ex(ctx, EVP_aes_128_cbc(), NULL, key, iv) == 1);
        EVP_CIPHER_CTX_set_padding(ctx, 0);
        ck_assert(EVP_EncryptUpdate(ctx, cipher, &l1, plain, (int) n) == 1);
        ck_assert(EVP_EncryptFinal_ex(ctx, cipher + l1, &l2) == 1);
        EVP_CIPHER_CTX_free(ctx);
        bl = (size_t) snprintf(body, sizeof body, "%s", head);
        for (int i = 0; i < l1 + l2; i++)
                bl += (size_t) snprintf(body + bl, sizeof body - bl, "%02X", cipher[i]);
        return wrap(body);
}

/* ------------------------------------------------------------------ CRC */

START_TEST(test_crc_is_crc16_arc_check_value) {
        /* The catalogued check value of CRC-16/ARC (poly 0x8005, refin,
         * refout, init 0, xorout 0) over "123456789". */
        ck_assert_uint_eq(dc09_crc("123456789", 9), 0xBB3D);
        ck_assert_uint_eq(dc09_crc("", 0), 0);
}
END_TEST

/* Frames published by others, CRC and length as they were sent. */
static const char *const published[] = {
        /* North Latitude DC09Gen: fire alarm zone 129, with timestamp. */
        "\nDC530046\"SIA-DCS\"9876R579BDFL789ABC#12345A[#12345A|NFA129]_13:14:15,02-15-2006\r",
        /* DC09Gen: the same with MAC address extended data, no timestamp. */
        "\n8C860043\"SIA-DCS\"9876R579BDFL789ABC#123456A[#123456A|NFA129][M1234567890AB]\r",
        /* A Contact ID panel's periodic test report. */
        "\n9EC40027\"ADM-CID\"0001L0#1002[#1002|1602 00 001]\r",
        "\n75140027\"ADM-CID\"0001L0#1002[#1002|3354 00 004]\r",
        /* A receiver's ACK. */
        "\n5C410020\"ACK\"0001R000001L000000#000000[]\r",
        /* A SIA-DCS frame without the line prefix. */
        "\n3BAC0029\"SIA-DCS\"0002#0123[#0123|Nti20:50:26RP99]\r",
};

START_TEST(test_crc_and_length_match_published_frames) {
        for (size_t i = 0; i < ELEMENTSOF(published); i++) {
                int r = parse(published[i], NULL, 0);
                ck_assert_msg(r == 0, "frame %zu: %s", i, dc09_error_to_string(msg.error));
        }
}
END_TEST

START_TEST(test_published_frames_parse_into_their_fields) {
        ck_assert_int_eq(parse(published[0], NULL, 0), 0);
        ck_assert_int_eq(msg.id, DC09_ID_SIA_DCS);
        ck_assert(!msg.encrypted);
        ck_assert_uint_eq(msg.seq, 9876);
        ck_assert_str_eq(msg.receiver, "579BDF");
        ck_assert_str_eq(msg.line, "789ABC");
        ck_assert_str_eq(msg.account, "12345A");
        ck_assert_str_eq(msg.data, "#12345A|NFA129");
        ck_assert_str_eq(msg.xdata, "");
        ck_assert(msg.has_timestamp);
        ck_assert_int_eq(msg.timestamp, T_DC09GEN);
        ck_assert_uint_eq(msg.crc, 0xDC53);

        ck_assert_int_eq(parse(published[1], NULL, 0), 0);
        ck_assert_str_eq(msg.account, "123456A");
        ck_assert_str_eq(msg.xdata, "[M1234567890AB]");
        ck_assert(!msg.has_timestamp);

        ck_assert_int_eq(parse(published[4], NULL, 0), 0);
        ck_assert_int_eq(msg.id, DC09_ID_ACK);
        ck_assert_uint_eq(msg.seq, 1);
        ck_assert_str_eq(msg.account, "000000");
        ck_assert_str_eq(msg.data, "");

        ck_assert_int_eq(parse(published[5], NULL, 0), 0);
        ck_assert_str_eq(msg.line, "");
        ck_assert_str_eq(msg.account, "0123");
}
END_TEST

START_TEST(test_frame_with_decimal_length_is_refused_as_bad_length) {
        /* Published by a panel: CRC right, length "0047" written in decimal
         * (the body is 0x2F = 47 characters). DC-09's length is hex. */
        ck_assert_int_eq(parse("\n57150047\"ADM-CID\"0247R4F39L4F39#4F39[#4F39|3401 01 057]\r", NULL, 0),
                         -EBADMSG);
        ck_assert_int_eq(msg.error, DC09_E_LENGTH);
}
END_TEST

/* ---------------------------------------------------------------- build */

START_TEST(test_build_reproduces_dc09gen_frame_byte_for_byte) {
        char buf[DC09_MAX_FRAME + 1];
        struct dc09_frame f = {
                .id = DC09_ID_SIA_DCS, .seq = 9876, .receiver = "579BDF", .line = "789ABC",
                .account = "12345A", .data = "#12345A|NFA129", .has_timestamp = true,
                .timestamp = T_DC09GEN,
        };

        ck_assert_int_eq(dc09_build(&f, buf, sizeof buf), (int) strlen(published[0]));
        ck_assert_str_eq(buf, published[0]);

        f = (struct dc09_frame) { .id = DC09_ID_SIA_DCS, .seq = 9876, .receiver = "579BDF",
                                  .line = "789ABC", .account = "123456A", .data = "#123456A|NFA129",
                                  .xdata = "[M1234567890AB]" };
        ck_assert_int_gt(dc09_build(&f, buf, sizeof buf), 0);
        ck_assert_str_eq(buf, published[1]);
}
END_TEST

START_TEST(test_build_reproduces_panel_contact_id_frame) {
        char data[64], buf[DC09_MAX_FRAME + 1];
        struct dc09_event ev = { .name = "test", .group = 0, .zone = 1 };
        struct dc09_frame f = { .id = DC09_ID_ADM_CID, .seq = 1, .account = "1002", .data = data };

        /* Also shows the ADM-CID data block's spacing: QEEE GG ZZZ. */
        ck_assert_int_eq(dc09_event_data(DC09_FORMAT_CID, "1002", &ev, data, sizeof data), 17);
        ck_assert_str_eq(data, "#1002|1602 00 001");
        ck_assert_int_gt(dc09_build(&f, buf, sizeof buf), 0);
        ck_assert_str_eq(buf, published[2]);
}
END_TEST

START_TEST(test_build_reproduces_receiver_ack) {
        char buf[128];
        struct dc09_frame f = { .id = DC09_ID_ACK, .seq = 1, .receiver = "000001", .line = "000000",
                                .account = "000000" };

        ck_assert_int_gt(dc09_build(&f, buf, sizeof buf), 0);
        ck_assert_str_eq(buf, published[4]);
}
END_TEST

START_TEST(test_nak_has_placeholders_and_timestamp_and_is_never_encrypted) {
        char buf[128];
        unsigned c = 0;
        struct dc09_frame f = { .id = DC09_ID_NAK, .seq = 17, .account = "1234", .has_timestamp = true,
                                .timestamp = T_DC09GEN };

        ck_assert_int_gt(dc09_build(&f, buf, sizeof buf), 0);
        ck_assert_str_eq(buf + 9, "\"NAK\"0000R0L0A0[]_13:14:15,02-15-2006\r");
        ck_assert_int_eq(parse(buf, NULL, 0), 0);
        ck_assert_int_eq(msg.id, DC09_ID_NAK);
        ck_assert_uint_eq(msg.seq, 0);
        ck_assert_int_eq(msg.timestamp, T_DC09GEN);

        f.has_timestamp = false;
        ck_assert_int_eq(dc09_build(&f, buf, sizeof buf), -EINVAL);
        f.has_timestamp = true;
        f.key = KEY16, f.key_len = 16, f.random = counter_random, f.random_userdata = &c;
        ck_assert_int_eq(dc09_build(&f, buf, sizeof buf), -EINVAL);
        f.id = DC09_ID_DUH;
        ck_assert_int_eq(dc09_build(&f, buf, sizeof buf), -EINVAL);
}
END_TEST

START_TEST(test_null_message_has_empty_data_and_optional_timestamp) {
        char buf[128];
        struct dc09_frame f = { .id = DC09_ID_NULL, .seq = 42, .account = "ABC123" };

        ck_assert_int_gt(dc09_build(&f, buf, sizeof buf), 0);
        ck_assert_str_eq(buf + 9, "\"NULL\"0042L0#ABC123[]\r");
        f.has_timestamp = true, f.timestamp = T_NOW;
        ck_assert_int_gt(dc09_build(&f, buf, sizeof buf), 0);
        ck_assert_int_eq(parse(buf, NULL, 0), 0);
        ck_assert_int_eq(msg.id, DC09_ID_NULL);
        ck_assert_int_eq(msg.timestamp, T_NOW);
}
END_TEST

START_TEST(test_build_refuses_fields_dc09_does_not_allow) {
        char buf[DC09_MAX_FRAME + 1], big[DC09_MAX_BODY + 2];
        struct dc09_frame ok = { .id = DC09_ID_SIA_DCS, .seq = 1, .account = "1234", .data = "#1234|NRP" };
        struct dc09_frame f;

        ck_assert_int_gt(dc09_build(&ok, buf, sizeof buf), 0);
        f = ok, f.account = "12";
        ck_assert_int_eq(dc09_build(&f, buf, sizeof buf), -EINVAL);
        f = ok, f.account = "12345678901234567";
        ck_assert_int_eq(dc09_build(&f, buf, sizeof buf), -EINVAL);
        f = ok, f.account = "12G4";
        ck_assert_int_eq(dc09_build(&f, buf, sizeof buf), -EINVAL);
        f = ok, f.account = NULL;
        ck_assert_int_eq(dc09_build(&f, buf, sizeof buf), -EINVAL);
        f = ok, f.receiver = "1234567";
        ck_assert_int_eq(dc09_build(&f, buf, sizeof buf), -EINVAL);
        f = ok, f.line = "X";
        ck_assert_int_eq(dc09_build(&f, buf, sizeof buf), -EINVAL);
        f = ok, f.seq = 10000;
        ck_assert_int_eq(dc09_build(&f, buf, sizeof buf), -EINVAL);
        f = ok, f.data = "a]b";
        ck_assert_int_eq(dc09_build(&f, buf, sizeof buf), -EINVAL);
        f = ok, f.data = "line\nbreak";
        ck_assert_int_eq(dc09_build(&f, buf, sizeof buf), -EINVAL);
        f = ok, f.xdata = "[M12";
        ck_assert_int_eq(dc09_build(&f, buf, sizeof buf), -EINVAL);
        f = ok, f.xdata = "M12]";
        ck_assert_int_eq(dc09_build(&f, buf, sizeof buf), -EINVAL);
        f = ok, f.key = KEY16, f.key_len = 15, f.random = counter_random, f.has_timestamp = true;
        ck_assert_int_eq(dc09_build(&f, buf, sizeof buf), -EINVAL);
        f.key_len = 16, f.random = NULL;
        ck_assert_int_eq(dc09_build(&f, buf, sizeof buf), -EINVAL);
        f.random = failing_random;
        ck_assert_int_eq(dc09_build(&f, buf, sizeof buf), -EIO);
        f.random = counter_random, f.has_timestamp = false;
        ck_assert_int_eq(dc09_build(&f, buf, sizeof buf), -EINVAL);
        f = ok, f.has_timestamp = true, f.timestamp = INT64_C(400000000000);   /* year 14645 */
        ck_assert_int_eq(dc09_build(&f, buf, sizeof buf), -EINVAL);

        memset(big, 'x', sizeof big - 1);
        big[sizeof big - 1] = 0;
        f = ok, f.data = big;
        ck_assert_int_eq(dc09_build(&f, buf, sizeof buf), -EMSGSIZE);
        ck_assert_int_eq(dc09_build(&ok, buf, 20), -ENOSPC);
}
END_TEST

START_TEST(test_sequence_wraps_from_9999_to_0001) {
        ck_assert_uint_eq(dc09_seq_next(1), 2);
        ck_assert_uint_eq(dc09_seq_next(9998), 9999);
        ck_assert_uint_eq(dc09_seq_next(9999), 1);
        ck_assert_uint_eq(dc09_seq_next(0), 1);
}
END_TEST

/* ----------------------------------------------------------- encryption */

static void check_round_trip(const uint8_t *key, size_t key_len) {
        char buf[DC09_MAX_FRAME + 1];
        uint8_t plain[2048];
        unsigned c = 7;
        struct dc09_frame f = {
                .id = DC09_ID_SIA_DCS, .seq = 123, .receiver = "12", .line = "3", .account = "A1B2C3",
                .data = "#A1B2C3|Nri01/FA003", .xdata = "[X116E23.4][Y39N54.1]", .has_timestamp = true,
                .timestamp = T_NOW, .key = key, .key_len = key_len, .random = counter_random,
                .random_userdata = &c,
        };
        const char *expect = "|#A1B2C3|Nri01/FA003][X116E23.4][Y39N54.1]_22:13:20,11-14-2023";
        size_t n, pad;

        ck_assert_int_gt(dc09_build(&f, buf, sizeof buf), 0);
        ck_assert_msg(strncmp(buf + 9, "\"*SIA-DCS\"0123R12L3#A1B2C3[", 27) == 0, "%s", buf);
        /* Upper-case hex, whole AES blocks, nothing in clear after '['. */
        for (const char *h = strchr(buf, '[') + 1; *h != '\r'; h++)
                ck_assert_msg((*h >= '0' && *h <= '9') || (*h >= 'A' && *h <= 'F'), "not upper hex: %c", *h);
        n = decrypt_tail(buf, key, key_len, plain);
        ck_assert_uint_eq(n % 16, 0);
        pad = n - strlen(expect);
        ck_assert_uint_ge(pad, 1);
        ck_assert_uint_le(pad, 16);
        ck_assert_mem_eq(plain + pad, expect, strlen(expect));

        ck_assert_int_eq(parse(buf, key, key_len), 0);
        ck_assert(msg.encrypted);
        ck_assert_int_eq(msg.id, DC09_ID_SIA_DCS);
        ck_assert_uint_eq(msg.seq, 123);
        ck_assert_str_eq(msg.receiver, "12");
        ck_assert_str_eq(msg.line, "3");
        ck_assert_str_eq(msg.account, "A1B2C3");
        ck_assert_str_eq(msg.data, "#A1B2C3|Nri01/FA003");
        ck_assert_str_eq(msg.xdata, "[X116E23.4][Y39N54.1]");
        ck_assert_int_eq(msg.timestamp, T_NOW);
        ck_assert_uint_eq(msg.pad_len, pad);
        ck_assert(msg.pad_terminated);
}

START_TEST(test_encryption_round_trips_with_aes_128_192_256) {
        check_round_trip(KEY16, 16);
        check_round_trip(KEY24, 24);
        check_round_trip(KEY32, 32);
}
END_TEST

START_TEST(test_pad_fills_to_whole_blocks_and_is_16_when_already_whole) {
        char buf[DC09_MAX_FRAME + 1], data[64];
        uint8_t plain[2048];
        unsigned c = 0;
        struct dc09_frame f = { .id = DC09_ID_SIA_DCS, .seq = 1, .account = "1234", .data = data,
                                .has_timestamp = true, .timestamp = T_NOW, .key = KEY16, .key_len = 16,
                                .random = counter_random, .random_userdata = &c };

        /* "|" + data + "]" + 20 timestamp characters: 22 + data length. */
        for (size_t dl = 0; dl < 40; dl++) {
                size_t l = 22 + dl, n;
                memset(data, 'N', dl);
                data[dl] = 0;
                ck_assert_int_gt(dc09_build(&f, buf, sizeof buf), 0);
                n = decrypt_tail(buf, KEY16, 16, plain);
                ck_assert_uint_eq(n - l, l % 16 == 0 ? 16 : 16 - l % 16);
        }
}
END_TEST

START_TEST(test_pad_never_contains_bar_or_brackets) {
        char buf[DC09_MAX_FRAME + 1];
        uint8_t plain[2048];
        unsigned c = 0;
        struct dc09_frame f = { .id = DC09_ID_NULL, .seq = 1, .account = "1234", .has_timestamp = true,
                                .timestamp = T_NOW, .key = KEY16, .key_len = 16, .random = counter_random,
                                .random_userdata = &c };
        size_t seen = 0;

        /* The counter walks through every byte value many times over. */
        while (c < 256 * 20) {
                size_t n, pad;
                ck_assert_int_gt(dc09_build(&f, buf, sizeof buf), 0);
                n = decrypt_tail(buf, KEY16, 16, plain);
                pad = n - strlen("|]_00:00:00,01-01-2000");
                for (size_t i = 0; i < pad; i++)
                        ck_assert_msg(plain[i] != '|' && plain[i] != '[' && plain[i] != ']' && plain[i] >= 0x20 &&
                                      plain[i] <= 0x7e, "pad byte 0x%02x", plain[i]);
                ck_assert_uint_eq(plain[pad], '|');
                seen += pad;
        }
        ck_assert_uint_ge(seen, 256 * 20);
}
END_TEST

START_TEST(test_encrypted_null_and_ack_carry_timestamp) {
        char buf[DC09_MAX_FRAME + 1];
        unsigned c = 0;
        struct dc09_frame f = { .id = DC09_ID_ACK, .seq = 77, .receiver = "5", .line = "6", .account = "ABC",
                                .has_timestamp = true, .timestamp = T_NOW, .key = KEY32, .key_len = 32,
                                .random = counter_random, .random_userdata = &c };

        ck_assert_int_gt(dc09_build(&f, buf, sizeof buf), 0);
        ck_assert(strncmp(buf + 9, "\"*ACK\"0077R5L6#ABC[", 19) == 0);
        ck_assert_int_eq(parse(buf, KEY32, 32), 0);
        ck_assert_int_eq(msg.id, DC09_ID_ACK);
        ck_assert_str_eq(msg.data, "");
        ck_assert_int_eq(msg.timestamp, T_NOW);
}
END_TEST

START_TEST(test_undecryptable_frame_keeps_its_header_for_the_nak) {
        char buf[DC09_MAX_FRAME + 1];
        unsigned c = 0;
        struct dc09_frame f = { .id = DC09_ID_ADM_CID, .seq = 55, .account = "BEEF", .data = "#BEEF|1110 01 003",
                                .has_timestamp = true, .timestamp = T_NOW, .key = KEY16, .key_len = 16,
                                .random = counter_random, .random_userdata = &c };
        static const uint8_t wrong[16] = "fedcba9876543210";

        ck_assert_int_gt(dc09_build(&f, buf, sizeof buf), 0);
        ck_assert_int_eq(parse(buf, NULL, 0), -EBADMSG);
        ck_assert_int_eq(msg.error, DC09_E_NO_KEY);
        ck_assert(msg.encrypted);
        ck_assert_int_eq(msg.id, DC09_ID_ADM_CID);
        ck_assert_uint_eq(msg.seq, 55);
        ck_assert_str_eq(msg.account, "BEEF");
        ck_assert_int_eq(parse(buf, wrong, 16), -EBADMSG);
        ck_assert_int_eq(msg.error, DC09_E_DECRYPT);
        ck_assert_int_eq(parse(buf, KEY32, 32), -EBADMSG);
        ck_assert_int_eq(msg.error, DC09_E_DECRYPT);
}
END_TEST

/* -------------------------------------------------------------- answers */

static void build_answer(enum dc09_id id, unsigned seq, const char *account, const uint8_t *key, char *buf) {
        unsigned c = 3;
        struct dc09_frame f = { .id = id, .seq = seq, .account = account, .has_timestamp = key || id == DC09_ID_NAK,
                                .timestamp = T_NOW, .key = key, .key_len = key ? 16 : 0,
                                .random = counter_random, .random_userdata = &c };

        ck_assert_int_gt(dc09_build(&f, buf, DC09_MAX_FRAME + 1), 0);
        ck_assert_int_eq(parse(buf, key, 16), 0);
}

START_TEST(test_ack_counts_only_with_same_sequence_and_account) {
        char buf[DC09_MAX_FRAME + 1];

        build_answer(DC09_ID_ACK, 12, "12AB", NULL, buf);
        ck_assert_int_eq(dc09_answer_verdict(&msg, 12, "12AB", false), DC09_VERDICT_ACK);
        ck_assert_int_eq(dc09_answer_verdict(&msg, 12, "12ab", false), DC09_VERDICT_ACK);
        ck_assert_int_eq(dc09_answer_verdict(&msg, 13, "12AB", false), DC09_VERDICT_OTHER);
        ck_assert_int_eq(dc09_answer_verdict(&msg, 12, "12AC", false), DC09_VERDICT_OTHER);
        /* Sent encrypted: an ACK in clear could be anyone's. */
        ck_assert_int_eq(dc09_answer_verdict(&msg, 12, "12AB", true), DC09_VERDICT_OTHER);

        build_answer(DC09_ID_ACK, 12, "12AB", KEY16, buf);
        ck_assert(msg.encrypted);
        ck_assert_int_eq(dc09_answer_verdict(&msg, 12, "12AB", true), DC09_VERDICT_ACK);
}
END_TEST

START_TEST(test_nak_answers_whatever_was_sent_and_brings_the_receivers_time) {
        char buf[DC09_MAX_FRAME + 1];

        build_answer(DC09_ID_NAK, 0, NULL, NULL, buf);
        ck_assert_int_eq(dc09_answer_verdict(&msg, 12, "12AB", true), DC09_VERDICT_NAK);
        ck_assert_int_eq(dc09_answer_verdict(&msg, 9999, "FFF", false), DC09_VERDICT_NAK);
        ck_assert(msg.has_timestamp);
        ck_assert_int_eq(msg.timestamp, T_NOW);
}
END_TEST

START_TEST(test_duh_must_match_like_an_ack) {
        char buf[DC09_MAX_FRAME + 1];

        build_answer(DC09_ID_DUH, 40, "777", NULL, buf);
        ck_assert_int_eq(dc09_answer_verdict(&msg, 40, "777", true), DC09_VERDICT_DUH);
        ck_assert_int_eq(dc09_answer_verdict(&msg, 41, "777", true), DC09_VERDICT_OTHER);
        ck_assert_int_eq(dc09_answer_verdict(&msg, 40, "778", false), DC09_VERDICT_OTHER);
}
END_TEST

START_TEST(test_event_frames_and_broken_frames_are_no_answer) {
        char buf[DC09_MAX_FRAME + 1];

        build_answer(DC09_ID_NULL, 5, "555", NULL, buf);
        ck_assert_int_eq(dc09_answer_verdict(&msg, 5, "555", false), DC09_VERDICT_OTHER);
        build_answer(DC09_ID_ACK, 5, "555", NULL, buf);
        buf[12] = 'x';          /* inside the token: CRC no longer matches */
        ck_assert_int_eq(parse(buf, NULL, 0), -EBADMSG);
        ck_assert_int_eq(dc09_answer_verdict(&msg, 5, "555", false), DC09_VERDICT_OTHER);
        ck_assert_int_eq(dc09_answer_verdict(NULL, 5, "555", false), DC09_VERDICT_OTHER);
}
END_TEST

START_TEST(test_encrypted_ack_without_bar_or_with_pkcs7_block_is_still_an_ack) {
        /* Two receivers' encrypted ACKs: pad then "]" with no '|' before it,
         * and "pad|]" followed by a whole PKCS#7 block libcrypto added. */
        uint8_t p1[32], p2[48];
        const char *ts = "_22:13:20,11-14-2023";

        memset(p1, '0', 11);
        memcpy(p1 + 11, "]", 1);
        memcpy(p1 + 12, ts, 20);
        ck_assert_int_eq(parse(encrypted_frame("\"*ACK\"0009L0#AAA[", p1, 32, KEY16), KEY16, 16), 0);
        ck_assert(!msg.pad_terminated);
        ck_assert_int_eq(dc09_answer_verdict(&msg, 9, "AAA", true), DC09_VERDICT_ACK);

        memset(p2, 0, 10);
        memcpy(p2 + 10, "|]", 2);
        memcpy(p2 + 12, ts, 20);
        memset(p2 + 32, 16, 16);
        ck_assert_int_eq(parse(encrypted_frame("\"*ACK\"0009L0#AAA[", p2, 48, KEY16), KEY16, 16), 0);
        ck_assert(msg.pad_terminated);
        ck_assert_int_eq(msg.timestamp, T_NOW);
        ck_assert_int_eq(dc09_answer_verdict(&msg, 9, "AAA", true), DC09_VERDICT_ACK);

        /* Not PKCS#7 (values differ from the count): trailing garbage. */
        memset(p2 + 32, 15, 16);
        ck_assert_int_eq(parse(encrypted_frame("\"*ACK\"0009L0#AAA[", p2, 48, KEY16), KEY16, 16), -EBADMSG);
}
END_TEST

/* ------------------------------------------------------ malformed frames */

START_TEST(test_every_malformation_has_its_own_error) {
        const char *good = published[0];
        char f[512];
        bool seen[_DC09_ERROR_MAX] = { false };
        uint8_t plain[32];

#define EXPECT(frame, key, e) do { \
                ck_assert_int_eq(dc09_parse((frame), strlen(frame), (key), 16, &msg), -EBADMSG); \
                ck_assert_msg(msg.error == (e), "%s: got %s", #e, dc09_error_to_string(msg.error)); \
                seen[e] = true; \
        } while (0)

        EXPECT("", NULL, DC09_E_TRUNCATED);
        EXPECT("\n\r", NULL, DC09_E_TRUNCATED);
        EXPECT(good + 1, NULL, DC09_E_NO_LF);
        snprintf(f, sizeof f, "%.*s", (int) strlen(good) - 1, good);
        EXPECT(f, NULL, DC09_E_NO_CR);
        snprintf(f, sizeof f, "%.*s", (int) strlen(good) - 10, good);       /* cut in transit */
        EXPECT(f, NULL, DC09_E_NO_CR);
        snprintf(f, sizeof f, "%s", good), memcpy(f + 1, "DC5Z", 4);
        EXPECT(f, NULL, DC09_E_CRC_FIELD);
        snprintf(f, sizeof f, "%s", good), memcpy(f + 5, "1046", 4);
        EXPECT(f, NULL, DC09_E_LENGTH_FIELD);
        snprintf(f, sizeof f, "%s", good), memcpy(f + 5, "00G6", 4);
        EXPECT(f, NULL, DC09_E_LENGTH_FIELD);
        snprintf(f, sizeof f, "%s", good), memcpy(f + 5, "0045", 4);
        EXPECT(f, NULL, DC09_E_LENGTH);
        snprintf(f, sizeof f, "%s", good), f[40] = 'X';                       /* a changed byte */
        EXPECT(f, NULL, DC09_E_CRC);
        snprintf(f, sizeof f, "%s", good), memcpy(f + 1, "dc53", 4);          /* lower case is fine */
        ck_assert_int_eq(parse(f, NULL, 0), 0);

        ck_assert_int_eq(error_of_body("SIA-DCS\"0001L0#123[]", NULL, 0), DC09_E_ID);
        seen[DC09_E_ID] = true;
        ck_assert_int_eq(error_of_body("\"SIA-DCX\"0001L0#123[]", NULL, 0), DC09_E_ID);
        ck_assert_int_eq(error_of_body("\"SIA-DCS0001L0#123[]", NULL, 0), DC09_E_ID);
        ck_assert_int_eq(error_of_body("\"SIA-DCS\"01A1L0#123[]", NULL, 0), DC09_E_SEQ);
        ck_assert_int_eq(error_of_body("\"SIA-DCS\"001", NULL, 0), DC09_E_SEQ);
        seen[DC09_E_SEQ] = true;
        ck_assert_int_eq(error_of_body("\"SIA-DCS\"0001RL0#123[]", NULL, 0), DC09_E_RECEIVER);
        ck_assert_int_eq(error_of_body("\"SIA-DCS\"0001R1234567L0#123[]", NULL, 0), DC09_E_RECEIVER);
        seen[DC09_E_RECEIVER] = true;
        ck_assert_int_eq(error_of_body("\"SIA-DCS\"0001LZ#123[]", NULL, 0), DC09_E_LINE);
        ck_assert_int_eq(error_of_body("\"SIA-DCS\"0001L1234567#123[]", NULL, 0), DC09_E_LINE);
        seen[DC09_E_LINE] = true;
        ck_assert_int_eq(error_of_body("\"SIA-DCS\"0001L0[]", NULL, 0), DC09_E_ACCOUNT);
        ck_assert_int_eq(error_of_body("\"SIA-DCS\"0001L0#12[]", NULL, 0), DC09_E_ACCOUNT);
        ck_assert_int_eq(error_of_body("\"SIA-DCS\"0001L0#12345678901234567[]", NULL, 0), DC09_E_ACCOUNT);
        ck_assert_int_eq(error_of_body("\"SIA-DCS\"0001L0#12G4[]", NULL, 0), DC09_E_ACCOUNT);
        seen[DC09_E_ACCOUNT] = true;
        ck_assert_int_eq(error_of_body("\"SIA-DCS\"0001L0#123", NULL, 0), DC09_E_DATA);
        ck_assert_int_eq(error_of_body("\"SIA-DCS\"0001L0#123[#123|NFA1", NULL, 0), DC09_E_DATA);
        ck_assert_int_eq(error_of_body("\"SIA-DCS\"0001L0#123[#123[NFA1]", NULL, 0), DC09_E_DATA);
        ck_assert_int_eq(error_of_body("\"SIA-DCS\"0001L0#123[#123|\tNFA1]", NULL, 0), DC09_E_DATA);
        ck_assert_int_eq(error_of_body("\"SIA-DCS\"0001L0#123[#123|N\xc3\xa9]", NULL, 0), DC09_E_DATA);
        seen[DC09_E_DATA] = true;
        ck_assert_int_eq(error_of_body("\"SIA-DCS\"0001L0#123[#123|NFA1][M12", NULL, 0), DC09_E_XDATA);
        ck_assert_int_eq(error_of_body("\"SIA-DCS\"0001L0#123[#123|NFA1][M1[2]", NULL, 0), DC09_E_XDATA);
        seen[DC09_E_XDATA] = true;
        ck_assert_int_eq(error_of_body("\"SIA-DCS\"0001L0#123[]_24:00:00,01-01-2020", NULL, 0), DC09_E_TIMESTAMP);
        ck_assert_int_eq(error_of_body("\"SIA-DCS\"0001L0#123[]_12:00:00,02-30-2020", NULL, 0), DC09_E_TIMESTAMP);
        ck_assert_int_eq(error_of_body("\"SIA-DCS\"0001L0#123[]_12:00:00,13-01-2020", NULL, 0), DC09_E_TIMESTAMP);
        ck_assert_int_eq(error_of_body("\"SIA-DCS\"0001L0#123[]_12:00", NULL, 0), DC09_E_TIMESTAMP);
        ck_assert_int_eq(error_of_body("\"SIA-DCS\"0001L0#123[]_12-00-00,01-01-2020", NULL, 0), DC09_E_TIMESTAMP);
        seen[DC09_E_TIMESTAMP] = true;
        ck_assert_int_eq(error_of_body("\"SIA-DCS\"0001L0#123[]_12:00:00,01-01-2020X", NULL, 0), DC09_E_TRAILING);
        ck_assert_int_eq(error_of_body("\"SIA-DCS\"0001L0#123[]X", NULL, 0), DC09_E_TRAILING);
        seen[DC09_E_TRAILING] = true;
        ck_assert_int_eq(error_of_body("\"*SIA-DCS\"0001L0#123[0123", KEY16, 16), DC09_E_HEX);
        ck_assert_int_eq(error_of_body("\"*SIA-DCS\"0001L0#123[", KEY16, 16), DC09_E_HEX);
        ck_assert_int_eq(error_of_body("\"*SIA-DCS\"0001L0#123[0123456789ABCDEF0123456789ABCDEG", KEY16, 16),
                         DC09_E_HEX);
        seen[DC09_E_HEX] = true;
        ck_assert_int_eq(error_of_body("\"*SIA-DCS\"0001L0#123[0123456789ABCDEF0123456789ABCDEF", NULL, 0),
                         DC09_E_NO_KEY);
        seen[DC09_E_NO_KEY] = true;
        /* Random ciphertext under the right-sized key: no valid content. */
        ck_assert_int_eq(error_of_body("\"*SIA-DCS\"0001L0#123[0123456789ABCDEF0123456789ABCDEF", KEY16, 16),
                         DC09_E_DECRYPT);
        seen[DC09_E_DECRYPT] = true;
        /* Properly encrypted, but without the timestamp encryption requires. */
        memset(plain, 'p', 16);
        memcpy(plain + 16 - 2, "|]", 2);
        ck_assert_int_eq(parse(encrypted_frame("\"*NULL\"0001L0#123[", plain, 16, KEY16), KEY16, 16), -EBADMSG);
        ck_assert_int_eq(msg.error, DC09_E_NO_TIMESTAMP);
        seen[DC09_E_NO_TIMESTAMP] = true;

        for (int e = 1; e < _DC09_ERROR_MAX; e++)
                ck_assert_msg(seen[e], "error %d (%s) not produced", e, dc09_error_to_string(e));
        for (int e = 0; e < _DC09_ERROR_MAX; e++)
                ck_assert_ptr_nonnull(dc09_error_to_string(e));
#undef EXPECT
}
END_TEST

START_TEST(test_bad_arguments_are_refused) {
        ck_assert_int_eq(dc09_parse(NULL, 10, NULL, 0, &msg), -EINVAL);
        ck_assert_int_eq(dc09_parse(published[0], strlen(published[0]), NULL, 0, NULL), -EINVAL);
        ck_assert_int_eq(dc09_parse(published[0], strlen(published[0]), KEY16, 15, &msg), -EINVAL);
        ck_assert_int_eq(dc09_build(NULL, NULL, 0), -EINVAL);
}
END_TEST

/* Small xorshift: a fuzz loop that repeats exactly. */
static uint32_t rnd_state = 2463534242u;
static uint32_t rnd(void) {
        rnd_state ^= rnd_state << 13;
        rnd_state ^= rnd_state >> 17;
        rnd_state ^= rnd_state << 5;
        return rnd_state;
}

static void check_parsed(int r, size_t len) {
        ck_assert(r == 0 || r == -EBADMSG);
        ck_assert(msg.error >= 0 && msg.error < _DC09_ERROR_MAX);
        ck_assert((r == 0) == (msg.error == DC09_OK));
        if (r == 0) {
                /* Whatever it accepted can be logged as text. */
                for (const char *s = msg.data; *s; s++)
                        ck_assert(*s >= 0x20 && *s <= 0x7e);
                for (const char *s = msg.xdata; *s; s++)
                        ck_assert(*s >= 0x20 && *s <= 0x7e);
                ck_assert_uint_le(strlen(msg.data), len);
        }
}

START_TEST(test_random_and_mutated_frames_never_crash) {
        char base[DC09_MAX_FRAME + 1], f[DC09_MAX_FRAME + 64];
        unsigned c = 0;
        struct dc09_frame spec = { .id = DC09_ID_SIA_DCS, .seq = 1, .receiver = "1", .line = "2",
                                   .account = "1234", .data = "#1234|Nri01/FA003", .xdata = "[X1]",
                                   .has_timestamp = true, .timestamp = T_NOW, .random = counter_random,
                                   .random_userdata = &c };
        static const char alphabet[] = "\n\r\"*#[]|_:,-0123456789ABCDEFLRNri/SIA-DCSADM-CIDNULLACKNAKDUH";

        for (int i = 0; i < 30000; i++) {
                size_t n;
                bool enc = i % 2;
                spec.key = enc ? KEY16 : NULL, spec.key_len = enc ? 16 : 0;
                spec.seq = (unsigned) (i % 10000);
                n = (size_t) dc09_build(&spec, base, sizeof base);
                memcpy(f, base, n);
                switch (rnd() % 5) {
                case 0:         /* flip bytes */
                        for (int k = (int) (rnd() % 4); k >= 0; k--)
                                f[rnd() % n] = (char) rnd();
                        break;
                case 1:         /* truncate */
                        n = rnd() % n;
                        break;
                case 2:         /* DC-09 characters at random, any length */
                        n = rnd() % 200;
                        for (size_t k = 0; k < n; k++)
                                f[k] = alphabet[rnd() % (sizeof alphabet - 1)];
                        break;
                case 3: {       /* mutate the body, then fix CRC and length: reach the body parser */
                        size_t bl = n - 10;
                        for (int k = (int) (rnd() % 3); k >= 0; k--)
                                f[9 + rnd() % bl] = alphabet[rnd() % (sizeof alphabet - 1)];
                        char hdr[10];
                        snprintf(hdr, sizeof hdr, "%04X%04X", (unsigned) dc09_crc(f + 9, bl), (unsigned) bl);
                        memcpy(f + 1, hdr, 8);
                        break;
                }
                default:        /* random bytes */
                        n = rnd() % 300;
                        for (size_t k = 0; k < n; k++)
                                f[k] = (char) rnd();
                        break;
                }
                check_parsed(dc09_parse(f, n, KEY16, 16, &msg), n);
                check_parsed(dc09_parse(f, n, NULL, 0, &msg), n);
                if (msg.error == DC09_OK && (msg.id == DC09_ID_SIA_DCS || msg.id == DC09_ID_ADM_CID)) {
                        struct dc09_event_info ei;
                        int r = dc09_event_parse(msg.id, msg.data, &ei);
                        ck_assert(r == 0 || r == -EBADMSG);
                }
        }
}
END_TEST

/* ----------------------------------------------------------- event data */

static const char *event_data(enum dc09_format fmt, const char *name, bool restore, unsigned zone, bool personal) {
        static char buf[128];
        struct dc09_event ev = { .name = name, .restore = restore, .group = 1, .zone = zone,
                                 .sos_personal = personal };
        int r = dc09_event_data(fmt, "1234", &ev, buf, sizeof buf);

        ck_assert_msg(r > 0, "%s: %d", name, r);
        ck_assert_uint_eq((size_t) r, strlen(buf));
        return buf;
}

START_TEST(test_event_codes_per_the_issue_table) {
        ck_assert_str_eq(event_data(DC09_FORMAT_CID, "fire", false, 3, false), "#1234|1110 01 003");
        ck_assert_str_eq(event_data(DC09_FORMAT_CID, "fire", true, 3, false), "#1234|3110 01 003");
        ck_assert_str_eq(event_data(DC09_FORMAT_SIA, "fire", false, 3, false), "#1234|Nri01/FA003");
        ck_assert_str_eq(event_data(DC09_FORMAT_SIA, "fire", true, 3, false), "#1234|Nri01/FH003");
        ck_assert_str_eq(event_data(DC09_FORMAT_CID, "smoke_detector", false, 12, false), "#1234|1111 01 012");
        ck_assert_str_eq(event_data(DC09_FORMAT_CID, "sos", false, 7, false), "#1234|1120 01 007");
        ck_assert_str_eq(event_data(DC09_FORMAT_SIA, "sos", false, 7, false), "#1234|Nri01/PA007");
        ck_assert_str_eq(event_data(DC09_FORMAT_CID, "sos", false, 7, true), "#1234|1101 01 007");
        ck_assert_str_eq(event_data(DC09_FORMAT_SIA, "sos", true, 7, true), "#1234|Nri01/MH007");
        ck_assert_str_eq(event_data(DC09_FORMAT_CID, "fall", false, 7, false), "#1234|1101 01 007");
        ck_assert_str_eq(event_data(DC09_FORMAT_SIA, "fall", false, 7, false), "#1234|Nri01/MA007");
        ck_assert_str_eq(event_data(DC09_FORMAT_CID, "night_exit", false, 4, false), "#1234|1641 01 004");
        ck_assert_str_eq(event_data(DC09_FORMAT_SIA, "inactivity", false, 2, false), "#1234|Nri01/NA002");
        ck_assert_str_eq(event_data(DC09_FORMAT_SIA, "inactivity", true, 2, false), "#1234|Nri01/NS002");
        ck_assert_str_eq(event_data(DC09_FORMAT_CID, "water_leak", true, 9, false), "#1234|3154 01 009");
        ck_assert_str_eq(event_data(DC09_FORMAT_SIA, "water_leak", true, 9, false), "#1234|Nri01/WH009");
        ck_assert_str_eq(event_data(DC09_FORMAT_SIA, "battery_low", false, 5, false), "#1234|Nri01/XT005");
        ck_assert_str_eq(event_data(DC09_FORMAT_SIA, "battery_low", true, 5, false), "#1234|Nri01/XR005");
        ck_assert_str_eq(event_data(DC09_FORMAT_CID, "tamper", false, 5, false), "#1234|1383 01 005");
        ck_assert_str_eq(event_data(DC09_FORMAT_SIA, "tamper", true, 5, false), "#1234|Nri01/TR005");
        ck_assert_str_eq(event_data(DC09_FORMAT_CID, "offline", false, 6, false), "#1234|1381 01 006");
        ck_assert_str_eq(event_data(DC09_FORMAT_SIA, "offline", false, 6, false), "#1234|Nri01/US006");
        ck_assert_str_eq(event_data(DC09_FORMAT_SIA, "offline", true, 6, false), "#1234|Nri01/UR006");
        /* AC trouble and the automatic test have no address in SIA DC-03. */
        ck_assert_str_eq(event_data(DC09_FORMAT_CID, "mains_power", false, 8, false), "#1234|1301 01 008");
        ck_assert_str_eq(event_data(DC09_FORMAT_SIA, "mains_power", false, 8, false), "#1234|Nri01/AT");
        ck_assert_str_eq(event_data(DC09_FORMAT_SIA, "mains_power", true, 8, false), "#1234|Nri01/AR");
        ck_assert_str_eq(event_data(DC09_FORMAT_CID, "test", false, 0, false), "#1234|1602 01 000");
        ck_assert_str_eq(event_data(DC09_FORMAT_SIA, "test", false, 0, false), "#1234|Nri01/RP");
}
END_TEST

START_TEST(test_every_senior_watch_event_is_641_and_no_activity) {
        static const char *const watch[] = { "inactivity", "morning_check", "night_exit", "geofence", "bed_exit" };

        for (size_t i = 0; i < ELEMENTSOF(watch); i++) {
                const struct dc09_code *c = dc09_code_lookup(watch[i], false);
                ck_assert_ptr_nonnull(c);
                ck_assert_uint_eq(c->cid, 641);
                ck_assert_str_eq(c->sia, "NA");
                ck_assert_str_eq(c->sia_restore, "NS");
        }
}
END_TEST

START_TEST(test_event_data_refuses_what_it_cannot_say) {
        char buf[64];
        struct dc09_event ev = { .name = "test", .restore = true, .group = 1 };

        ck_assert_int_eq(dc09_event_data(DC09_FORMAT_CID, "1234", &ev, buf, sizeof buf), -EINVAL);
        ev = (struct dc09_event) { .name = "earthquake", .group = 1 };
        ck_assert_int_eq(dc09_event_data(DC09_FORMAT_CID, "1234", &ev, buf, sizeof buf), -ENOENT);
        ev = (struct dc09_event) { .name = "fire", .group = 100 };
        ck_assert_int_eq(dc09_event_data(DC09_FORMAT_CID, "1234", &ev, buf, sizeof buf), -ERANGE);
        ev = (struct dc09_event) { .name = "fire", .group = 1, .zone = 1000 };
        ck_assert_int_eq(dc09_event_data(DC09_FORMAT_SIA, "1234", &ev, buf, sizeof buf), -ERANGE);
        ev.zone = 1;
        ck_assert_int_eq(dc09_event_data(DC09_FORMAT_SIA, "12", &ev, buf, sizeof buf), -EINVAL);
        ck_assert_int_eq(dc09_event_data(_DC09_FORMAT_INVALID, "1234", &ev, buf, sizeof buf), -EINVAL);
        ck_assert_int_eq(dc09_event_data(DC09_FORMAT_SIA, "1234", &ev, buf, 10), -ENOSPC);
        ck_assert_ptr_null(dc09_code_lookup("nonsense", false));
        ck_assert_ptr_null(dc09_code_lookup(NULL, false));
}
END_TEST

START_TEST(test_event_table_is_complete_and_consistent) {
        static const char *const names[] = { "fire", "smoke_detector", "sos", "fall", "inactivity",
                "morning_check", "night_exit", "geofence", "bed_exit", "water_leak", "battery_low",
                "tamper", "offline", "mains_power", "test" };
        size_t n;
        const struct dc09_code *t = dc09_code_table(&n);

        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                ck_assert_msg(dc09_code_lookup(names[i], false), "%s missing", names[i]);
        for (size_t i = 0; i < n; i++) {
                ck_assert(t[i].cid >= 100 && t[i].cid <= 999);
                ck_assert_uint_eq(strlen(t[i].sia), 2);
                /* Every SIA restore differs from its alarm code. */
                ck_assert(!t[i].sia_restore[0] || strcmp(t[i].sia, t[i].sia_restore) != 0);
        }
}
END_TEST

START_TEST(test_event_parse_reads_published_and_own_data) {
        struct dc09_event_info ei;

        ck_assert_int_eq(dc09_event_parse(DC09_ID_ADM_CID, "#1002|1602 00 001", &ei), 0);
        ck_assert_str_eq(ei.account, "1002");
        ck_assert_str_eq(ei.code, "602");
        ck_assert_uint_eq(ei.qualifier, 1);
        ck_assert_int_eq(ei.group, 0);
        ck_assert_int_eq(ei.zone, 1);
        ck_assert_int_eq(dc09_event_parse(DC09_ID_ADM_CID, "#1002|3354 00 004", &ei), 0);
        ck_assert_uint_eq(ei.qualifier, 3);
        ck_assert_int_eq(dc09_event_parse(DC09_ID_SIA_DCS, "#12345A|NFA129", &ei), 0);
        ck_assert_str_eq(ei.code, "FA");
        ck_assert_int_eq(ei.group, -1);
        ck_assert_int_eq(ei.zone, 129);
        ck_assert_int_eq(dc09_event_parse(DC09_ID_SIA_DCS, "#0123|Nti20:50:26RP99", &ei), 0);
        ck_assert_str_eq(ei.code, "RP");
        ck_assert_int_eq(ei.zone, 99);
        ck_assert_int_eq(dc09_event_parse(DC09_ID_SIA_DCS, "|Nri1/CL501", &ei), 0);
        ck_assert_str_eq(ei.account, "");
        ck_assert_int_eq(ei.group, 1);
        ck_assert_int_eq(ei.zone, 501);
        ck_assert_int_eq(dc09_event_parse(DC09_ID_SIA_DCS, "#3080|Nti19:44/id1/ri4/RP", &ei), 0);
        ck_assert_str_eq(ei.code, "RP");
        ck_assert_int_eq(ei.group, 4);
        ck_assert_int_eq(ei.zone, -1);
        ck_assert_int_eq(dc09_event_parse(DC09_ID_SIA_DCS, event_data(DC09_FORMAT_SIA, "tamper", true, 5, false), &ei), 0);
        ck_assert_str_eq(ei.code, "TR");
        ck_assert_int_eq(ei.group, 1);
        ck_assert_int_eq(ei.zone, 5);

        ck_assert_int_eq(dc09_event_parse(DC09_ID_ADM_CID, "#1002|1602 00 01", &ei), -EBADMSG);
        ck_assert_int_eq(dc09_event_parse(DC09_ID_ADM_CID, "#1002|2602 00 001", &ei), -EBADMSG);
        ck_assert_int_eq(dc09_event_parse(DC09_ID_ADM_CID, "#1002|1602  00 001", &ei), -EBADMSG);
        ck_assert_int_eq(dc09_event_parse(DC09_ID_SIA_DCS, "#1002|Nri1/", &ei), -EBADMSG);
        ck_assert_int_eq(dc09_event_parse(DC09_ID_SIA_DCS, "#10G2|NFA1", &ei), -EBADMSG);
        ck_assert_int_eq(dc09_event_parse(DC09_ID_NULL, "", &ei), -EINVAL);
}
END_TEST

/* ------------------------------------------------------------ the rest */

START_TEST(test_timestamps_format_and_parse_as_utc) {
        char ts[DC09_TIMESTAMP_LEN + 1];
        int64_t t;

        ck_assert_int_eq(dc09_timestamp_format(0, ts), 0);
        ck_assert_str_eq(ts, "_00:00:00,01-01-1970");
        ck_assert_int_eq(dc09_timestamp_format(951782400, ts), 0);
        ck_assert_str_eq(ts, "_00:00:00,02-29-2000");
        ck_assert_int_eq(dc09_timestamp_format(T_DC09GEN, ts), 0);
        ck_assert_str_eq(ts, "_13:14:15,02-15-2006");
        ck_assert_int_eq(dc09_timestamp_format(INT64_C(4102444799), ts), 0);
        ck_assert_str_eq(ts, "_23:59:59,12-31-2099");
        ck_assert_int_eq(dc09_timestamp_format(-1, ts), 0);
        ck_assert_str_eq(ts, "_23:59:59,12-31-1969");
        ck_assert_int_eq(dc09_timestamp_format(INT64_C(400000000000), ts), -ERANGE);

        ck_assert_int_eq(dc09_timestamp_parse("_00:00:00,02-29-2000", 20, &t), 0);
        ck_assert_int_eq(t, 951782400);
        ck_assert_int_eq(dc09_timestamp_parse("_00:00:00,02-29-2001", 20, &t), -EINVAL);
        ck_assert_int_eq(dc09_timestamp_parse("_00:00:00,02-29-1900", 20, &t), -EINVAL);
        ck_assert_int_eq(dc09_timestamp_parse("_23:59:60,12-31-2016", 20, &t), -EINVAL);
        ck_assert_int_eq(dc09_timestamp_parse("_00:00:00,00-10-2000", 20, &t), -EINVAL);
        ck_assert_int_eq(dc09_timestamp_parse("_00:00:00,01-00-2000", 20, &t), -EINVAL);
        ck_assert_int_eq(dc09_timestamp_parse("_00:00:00,01-01-2000", 19, &t), -EINVAL);
        for (int64_t x = -86400 * 3; x < INT64_C(4102444799); x += 86400 * 37 + 3607) {
                ck_assert_int_eq(dc09_timestamp_format(x, ts), 0);
                ck_assert_int_eq(dc09_timestamp_parse(ts, 20, &t), 0);
                ck_assert_int_eq(t, x);
        }
}
END_TEST

START_TEST(test_timestamp_window_is_40s_behind_and_20s_ahead) {
        ck_assert(dc09_timestamp_in_window(T_NOW, T_NOW, DC09_WINDOW_PAST, DC09_WINDOW_FUTURE));
        ck_assert(dc09_timestamp_in_window(T_NOW - 40, T_NOW, DC09_WINDOW_PAST, DC09_WINDOW_FUTURE));
        ck_assert(!dc09_timestamp_in_window(T_NOW - 41, T_NOW, DC09_WINDOW_PAST, DC09_WINDOW_FUTURE));
        ck_assert(dc09_timestamp_in_window(T_NOW + 20, T_NOW, DC09_WINDOW_PAST, DC09_WINDOW_FUTURE));
        ck_assert(!dc09_timestamp_in_window(T_NOW + 21, T_NOW, DC09_WINDOW_PAST, DC09_WINDOW_FUTURE));
}
END_TEST

START_TEST(test_keys_are_32_48_or_64_hex_digits) {
        uint8_t key[DC09_KEY_MAX];
        size_t n = 0;

        ck_assert_int_eq(dc09_key_from_hex("000102030405060708090A0B0C0D0E0f\n", key, &n), 0);
        ck_assert_uint_eq(n, 16);
        ck_assert_uint_eq(key[15], 0x0f);
        ck_assert_int_eq(dc09_key_from_hex(" 000102030405060708090A0B0C0D0E0F1011121314151617", key, &n), 0);
        ck_assert_uint_eq(n, 24);
        ck_assert_int_eq(dc09_key_from_hex("000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F",
                                           key, &n), 0);
        ck_assert_uint_eq(n, 32);
        ck_assert_int_eq(dc09_key_from_hex("000102030405060708090A0B0C0D0E0", key, &n), -EINVAL);
        ck_assert_int_eq(dc09_key_from_hex("000102030405060708090A0B0C0D0E0F0", key, &n), -EINVAL);
        ck_assert_int_eq(dc09_key_from_hex("000102030405060708090A0B0C0D0EXX", key, &n), -EINVAL);
        ck_assert_int_eq(dc09_key_from_hex("", key, &n), -EINVAL);
        ck_assert_int_eq(dc09_key_from_hex(NULL, key, &n), -EINVAL);
}
END_TEST

START_TEST(test_stream_yields_whole_frames_and_drops_noise) {
        char buf[DC09_MAX_FRAME * 2];
        size_t start = 99, len = 99, n;

        n = (size_t) snprintf(buf, sizeof buf, "xx\r\npartial\n%s%s", published[2], published[4]);
        ck_assert_int_eq(dc09_frame_find(buf, n, &start, &len), 1);
        ck_assert_uint_eq(len, strlen(published[2]));
        ck_assert_mem_eq(buf + start, published[2], len);
        ck_assert_int_eq(dc09_frame_find(buf + start + len, n - start - len, &start, &len), 1);
        ck_assert_uint_eq(start, 0);
        ck_assert_mem_eq(buf + (n - len), published[4], len);

        ck_assert_int_eq(dc09_frame_find("noise", 5, &start, &len), 0);
        ck_assert_uint_eq(start, 5);
        ck_assert_int_eq(dc09_frame_find("ab\n9EC4", 7, &start, &len), 0);
        ck_assert_uint_eq(start, 2);
        memset(buf, 'x', sizeof buf);
        buf[3] = '\n';
        ck_assert_int_eq(dc09_frame_find(buf, sizeof buf, &start, &len), -EMSGSIZE);
        ck_assert_uint_eq(start, 4);
}
END_TEST

START_TEST(test_names_round_trip) {
        for (int i = 0; i < _DC09_ID_MAX; i++) {
                const char *s = dc09_id_to_string(i);
                ck_assert_int_eq(dc09_id_from_string(s, strlen(s)), i);
        }
        ck_assert_int_eq(dc09_id_from_string("SIA", 3), _DC09_ID_INVALID);
        ck_assert_int_eq(dc09_format_from_string("cid"), DC09_FORMAT_CID);
        ck_assert_int_eq(dc09_format_from_string("sia"), DC09_FORMAT_SIA);
        ck_assert_int_eq(dc09_format_from_string("CID"), _DC09_FORMAT_INVALID);
        ck_assert_str_eq(dc09_format_to_string(DC09_FORMAT_SIA), "sia");
        ck_assert_int_eq(dc09_format_id(DC09_FORMAT_CID), DC09_ID_ADM_CID);
        ck_assert_str_eq(dc09_verdict_to_string(DC09_VERDICT_NAK), "NAK");
}
END_TEST

static Suite *dc09_suite(void) {
        Suite *s = suite_create("dc09");
        TCase *tc = tcase_create("core");

        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_crc_is_crc16_arc_check_value);
        tcase_add_test(tc, test_crc_and_length_match_published_frames);
        tcase_add_test(tc, test_published_frames_parse_into_their_fields);
        tcase_add_test(tc, test_frame_with_decimal_length_is_refused_as_bad_length);
        tcase_add_test(tc, test_build_reproduces_dc09gen_frame_byte_for_byte);
        tcase_add_test(tc, test_build_reproduces_panel_contact_id_frame);
        tcase_add_test(tc, test_build_reproduces_receiver_ack);
        tcase_add_test(tc, test_nak_has_placeholders_and_timestamp_and_is_never_encrypted);
        tcase_add_test(tc, test_null_message_has_empty_data_and_optional_timestamp);
        tcase_add_test(tc, test_build_refuses_fields_dc09_does_not_allow);
        tcase_add_test(tc, test_sequence_wraps_from_9999_to_0001);
        tcase_add_test(tc, test_encryption_round_trips_with_aes_128_192_256);
        tcase_add_test(tc, test_pad_fills_to_whole_blocks_and_is_16_when_already_whole);
        tcase_add_test(tc, test_pad_never_contains_bar_or_brackets);
        tcase_add_test(tc, test_encrypted_null_and_ack_carry_timestamp);
        tcase_add_test(tc, test_undecryptable_frame_keeps_its_header_for_the_nak);
        tcase_add_test(tc, test_ack_counts_only_with_same_sequence_and_account);
        tcase_add_test(tc, test_nak_answers_whatever_was_sent_and_brings_the_receivers_time);
        tcase_add_test(tc, test_duh_must_match_like_an_ack);
        tcase_add_test(tc, test_event_frames_and_broken_frames_are_no_answer);
        tcase_add_test(tc, test_encrypted_ack_without_bar_or_with_pkcs7_block_is_still_an_ack);
        tcase_add_test(tc, test_every_malformation_has_its_own_error);
        tcase_add_test(tc, test_bad_arguments_are_refused);
        tcase_add_test(tc, test_random_and_mutated_frames_never_crash);
        tcase_add_test(tc, test_event_codes_per_the_issue_table);
        tcase_add_test(tc, test_every_senior_watch_event_is_641_and_no_activity);
        tcase_add_test(tc, test_event_data_refuses_what_it_cannot_say);
        tcase_add_test(tc, test_event_table_is_complete_and_consistent);
        tcase_add_test(tc, test_event_parse_reads_published_and_own_data);
        tcase_add_test(tc, test_timestamps_format_and_parse_as_utc);
        tcase_add_test(tc, test_timestamp_window_is_40s_behind_and_20s_ahead);
        tcase_add_test(tc, test_keys_are_32_48_or_64_hex_digits);
        tcase_add_test(tc, test_stream_yields_whole_frames_and_drops_noise);
        tcase_add_test(tc, test_names_round_trip);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        return run_suite(dc09_suite());
}
