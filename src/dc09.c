/* ANSI/SIA DC-09 framing, encryption and event data (see dc09.h). The frame:
 *
 *   <LF> crc 0LLL "id" seq [Rrcvr] Lpref #acct [data][xdata...] _HH:MM:SS,MM-DD-YYYY <CR>
 *
 * crc and 0LLL are 4 hex digits each, over the body: from the first '"'
 * through the timestamp. Encrypted ("*id"), everything after the '[' is
 * "pad|data]xdata timestamp", padded at the front to whole AES blocks,
 * AES-CBC with a zero IV, and sent as hex. */
#include "dc09.h"
#include "util.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *const id_names[_DC09_ID_MAX] = {
        [DC09_ID_SIA_DCS] = "SIA-DCS", [DC09_ID_ADM_CID] = "ADM-CID", [DC09_ID_NULL] = "NULL",
        [DC09_ID_ACK] = "ACK", [DC09_ID_NAK] = "NAK", [DC09_ID_DUH] = "DUH", [DC09_ID_RSP] = "RSP",
};

static const char *const error_names[_DC09_ERROR_MAX] = {
        [DC09_OK] = "ok",
        [DC09_E_TRUNCATED] = "frame too short",
        [DC09_E_NO_LF] = "frame does not start with LF",
        [DC09_E_NO_CR] = "frame does not end with CR",
        [DC09_E_CRC_FIELD] = "CRC field is not 4 hex digits",
        [DC09_E_LENGTH_FIELD] = "length field is not 0 and 3 hex digits",
        [DC09_E_LENGTH] = "length field does not match the message",
        [DC09_E_CRC] = "CRC does not match the message",
        [DC09_E_ID] = "missing or unknown ID token",
        [DC09_E_SEQ] = "sequence number is not 4 digits",
        [DC09_E_RECEIVER] = "receiver number is not 1-6 hex digits",
        [DC09_E_LINE] = "line prefix is not 1-6 hex digits",
        [DC09_E_ACCOUNT] = "account is not # and 3-16 hex digits",
        [DC09_E_DATA] = "malformed data block",
        [DC09_E_XDATA] = "malformed extended data block",
        [DC09_E_TIMESTAMP] = "malformed timestamp",
        [DC09_E_TRAILING] = "characters after the timestamp",
        [DC09_E_HEX] = "encrypted part is not hex in whole blocks",
        [DC09_E_NO_KEY] = "encrypted and no key",
        [DC09_E_DECRYPT] = "cannot be decrypted with the key",
        [DC09_E_NO_TIMESTAMP] = "encrypted without timestamp",
};

static const char *const verdict_names[_DC09_VERDICT_MAX] = {
        [DC09_VERDICT_ACK] = "ACK", [DC09_VERDICT_NAK] = "NAK", [DC09_VERDICT_DUH] = "DUH",
        [DC09_VERDICT_OTHER] = "other",
};

static const char *const format_names[_DC09_FORMAT_MAX] = {
        [DC09_FORMAT_CID] = "cid", [DC09_FORMAT_SIA] = "sia",
};

/* anju's events and their codes; docs/DC09.md explains every choice. The
 * SIA codes and their address kinds are from the SIA DC-03 "Event Block
 * Data Code Definitions"; the Contact ID codes from SIA DC-05. Restores:
 * the "xH alarm restore" of an alarm code ("alarm condition eliminated"),
 * XR for XT, TR for a zone's TA (TH has no address), NS "activity resumed"
 * for NA, UR "untyped zone restoral" for US (there is no "US restore"),
 * AR for AT; a periodic test has none. Rows with the same event name are
 * variants chosen by a flag (sos). */
static const struct dc09_code codes[] = {
        { "fire",           110, "FA", "FH", true },
        { "smoke_detector", 111, "FA", "FH", true },
        { "sos",            120, "PA", "PH", true },    /* panic */
        { "sos",            101, "MA", "MH", true },    /* personal emergency (sos_personal) */
        { "fall",           101, "MA", "MH", true },
        { "inactivity",     641, "NA", "NS", true },    /* 641 senior watch trouble */
        { "morning_check",  641, "NA", "NS", true },
        { "night_exit",     641, "NA", "NS", true },
        { "geofence",       641, "NA", "NS", true },
        { "bed_exit",       641, "NA", "NS", true },
        { "water_leak",     154, "WA", "WH", true },
        { "battery_low",    384, "XT", "XR", true },
        { "tamper",         383, "TA", "TR", true },
        { "offline",        381, "US", "UR", true },
        { "mains_power",    301, "AT", "AR", false },
        { "test",           602, "RP", "",   false },
};

/* ---------------------------------------------------------------- helpers */

static bool is_hex(int c) {
        return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f');
}

static unsigned hex_val(int c) {
        return c <= '9' ? (unsigned) (c - '0') : (unsigned) ((c | 0x20) - 'a' + 10);
}

static bool is_digit(int c) {
        return c >= '0' && c <= '9';
}

/* DC-09 text is printable ASCII; nothing else may reach a JSON log line. */
static bool is_print(int c) {
        return c >= 0x20 && c <= 0x7e;
}

/* Is s (n characters) min..max hex digits? */
static bool hex_run(const char *s, size_t n, size_t min, size_t max) {
        if (n < min || n > max)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!is_hex((unsigned char) s[i]))
                        return false;
        return true;
}

static bool valid_key_len(size_t n) {
        return n == 16 || n == 24 || n == 32;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
 * well-known algorithm: eras of 400 years). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
        y -= m <= 2;
        int64_t era = (y >= 0 ? y : y - 399) / 400;
        unsigned yoe = (unsigned) (y - era * 400);
        unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
        unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        return era * 146097 + (int64_t) doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *ret_y, unsigned *ret_m, unsigned *ret_d) {
        z += 719468;
        int64_t era = (z >= 0 ? z : z - 146096) / 146097;
        unsigned doe = (unsigned) (z - era * 146097);
        unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        unsigned mp = (5 * doy + 2) / 153;
        unsigned m = mp < 10 ? mp + 3 : mp - 9;

        *ret_d = doy - (153 * mp + 2) / 5 + 1;
        *ret_m = m;
        *ret_y = (int64_t) yoe + era * 400 + (m <= 2);
}

static unsigned days_in_month(int64_t y, unsigned m) {
        static const unsigned dim[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
        bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

        return m == 2 && leap ? 29 : dim[m - 1];
}

/* AES-CBC with the zero IV DC-09 prescribes (5.4.6) and no padding of
 * libcrypto's own: the DC-09 pad already fills whole blocks. */
static int aes_cbc(bool encrypt, const uint8_t *key, size_t key_len, const uint8_t *in, size_t n,
                   uint8_t *out) {
        static const uint8_t iv[16];
        const EVP_CIPHER *cipher = key_len == 16 ? EVP_aes_128_cbc() :
                                   key_len == 24 ? EVP_aes_192_cbc() : EVP_aes_256_cbc();
        EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
        int l1 = 0, l2 = 0, ok;

        if (!ctx)
                return -ENOMEM;
        ok = EVP_CipherInit_ex(ctx, cipher, NULL, key, iv, encrypt ? 1 : 0) == 1 &&
             EVP_CIPHER_CTX_set_padding(ctx, 0) == 1 &&
             EVP_CipherUpdate(ctx, out, &l1, in, (int) n) == 1 &&
             EVP_CipherFinal_ex(ctx, out + l1, &l2) == 1 && (size_t) l1 + (size_t) l2 == n;
        EVP_CIPHER_CTX_free(ctx);
        return ok ? 0 : -EIO;
}

/* ------------------------------------------------------------ primitives */

uint16_t dc09_crc(const void *data, size_t len) {
        const uint8_t *p = data;
        uint16_t crc = 0;

        for (size_t i = 0; i < len; i++) {
                crc ^= p[i];
                for (int b = 0; b < 8; b++)
                        crc = crc & 1 ? (uint16_t) ((crc >> 1) ^ 0xA001) : (uint16_t) (crc >> 1);
        }
        return crc;
}

unsigned dc09_seq_next(unsigned seq) {
        return seq >= DC09_SEQ_MAX ? 1 : seq + 1;
}

int dc09_timestamp_format(int64_t t, char buf[static DC09_TIMESTAMP_LEN + 1]) {
        /* 0000-01-01 through 9999-12-31 23:59:59: the four digits of YYYY. */
        const int64_t min = INT64_C(-62167219200), max = INT64_C(253402300799);
        int64_t days, secs, y;
        unsigned m, d;
        char tmp[64];

        if (t < min || t > max)
                return -ERANGE;
        days = (t - min) / 86400 + min / 86400;
        secs = t - days * 86400;
        civil_from_days(days, &y, &m, &d);
        snprintf(tmp, sizeof tmp, "_%02u:%02u:%02u,%02u-%02u-%04u", (unsigned) (secs / 3600),
                 (unsigned) (secs / 60 % 60), (unsigned) (secs % 60), m, d, (unsigned) y);
        memcpy(buf, tmp, DC09_TIMESTAMP_LEN + 1);
        return 0;
}

/* n decimal digits at s. */
static bool digits(const char *s, size_t n, unsigned *ret) {
        unsigned v = 0;

        for (size_t i = 0; i < n; i++) {
                if (!is_digit((unsigned char) s[i]))
                        return false;
                v = v * 10 + (unsigned) (s[i] - '0');
        }
        *ret = v;
        return true;
}

int dc09_timestamp_parse(const char *s, size_t len, int64_t *ret) {
        unsigned hh, mi, ss, mo, dd, yy;

        if (!s || !ret || len != DC09_TIMESTAMP_LEN)
                return -EINVAL;
        if (s[0] != '_' || s[3] != ':' || s[6] != ':' || s[9] != ',' || s[12] != '-' || s[15] != '-' ||
            !digits(s + 1, 2, &hh) || !digits(s + 4, 2, &mi) || !digits(s + 7, 2, &ss) ||
            !digits(s + 10, 2, &mo) || !digits(s + 13, 2, &dd) || !digits(s + 16, 4, &yy))
                return -EINVAL;
        if (hh > 23 || mi > 59 || ss > 59 || mo < 1 || mo > 12 || dd < 1 || dd > days_in_month(yy, mo))
                return -EINVAL;
        *ret = days_from_civil(yy, mo, dd) * 86400 + hh * 3600 + mi * 60 + ss;
        return 0;
}

bool dc09_timestamp_in_window(int64_t ts, int64_t now, unsigned past, unsigned future) {
        return ts >= now - (int64_t) past && ts <= now + (int64_t) future;
}

int dc09_key_from_hex(const char *hex, uint8_t key[static DC09_KEY_MAX], size_t *ret_len) {
        size_t n;

        if (!hex || !ret_len)
                return -EINVAL;
        while (*hex == ' ' || *hex == '\t' || *hex == '\n' || *hex == '\r')
                hex++;
        n = strlen(hex);
        while (n > 0 && (hex[n - 1] == ' ' || hex[n - 1] == '\t' || hex[n - 1] == '\n' || hex[n - 1] == '\r'))
                n--;
        if (!valid_key_len(n / 2) || n % 2 || !hex_run(hex, n, n, n))
                return -EINVAL;
        for (size_t i = 0; i < n / 2; i++)
                key[i] = (uint8_t) (hex_val(hex[2 * i]) << 4 | hex_val(hex[2 * i + 1]));
        *ret_len = n / 2;
        return 0;
}

int dc09_frame_find(const void *buf, size_t len, size_t *ret_start, size_t *ret_len) {
        const uint8_t *b = buf;
        size_t lf = SIZE_MAX;

        if (!buf || !ret_start || !ret_len)
                return -EINVAL;
        for (size_t i = 0; i < len; i++) {
                /* A frame starts at the LF nearest its CR: bytes before a later
                 * LF are noise (a torn frame), never part of the next one. */
                if (b[i] == '\n')
                        lf = i;
                else if (b[i] == '\r' && lf != SIZE_MAX) {
                        *ret_start = lf;
                        *ret_len = i - lf + 1;
                        return 1;
                }
                if (lf != SIZE_MAX && i - lf + 1 >= DC09_MAX_FRAME) {
                        *ret_start = lf + 1;
                        return -EMSGSIZE;
                }
        }
        *ret_start = lf == SIZE_MAX ? len : lf;
        return 0;
}

/* --------------------------------------------------------------- parsing */

/* Reads min..max hex digits at b[*p] into out (max + 1 bytes). */
static bool read_hex_field(const uint8_t *b, size_t blen, size_t *p, size_t min, size_t max, char *out) {
        size_t s = *p, n = 0;

        while (s + n < blen && is_hex(b[s + n]) && n <= max)
                n++;
        if (n < min || n > max)
                return false;
        memcpy(out, b + s, n);
        out[n] = 0;
        *p = s + n;
        return true;
}

/* data ']' {'[' xdata ']'} ['_' timestamp], the part after the '['.
 * *ret_end: where parsing stopped (for DC09_E_TRAILING). */
static enum dc09_error parse_content(const uint8_t *c, size_t n, struct dc09_msg *m, size_t *ret_end) {
        size_t i = 0, xl = 0;

        for (; i < n && c[i] != ']'; i++)
                if (c[i] == '[' || !is_print(c[i]))
                        return DC09_E_DATA;
        if (i == n)
                return DC09_E_DATA;
        memcpy(m->data, c, i);
        m->data[i] = 0;
        i++;
        while (i < n && c[i] == '[') {
                size_t j = i + 1;
                for (; j < n && c[j] != ']'; j++)
                        if (c[j] == '[' || !is_print(c[j]))
                                return DC09_E_XDATA;
                if (j == n)
                        return DC09_E_XDATA;
                memcpy(m->xdata + xl, c + i, j + 1 - i);
                xl += j + 1 - i;
                i = j + 1;
        }
        m->xdata[xl] = 0;
        if (i < n && c[i] == '_') {
                if (n - i < DC09_TIMESTAMP_LEN ||
                    dc09_timestamp_parse((const char *) c + i, DC09_TIMESTAMP_LEN, &m->timestamp) < 0)
                        return DC09_E_TIMESTAMP;
                m->has_timestamp = true;
                i += DC09_TIMESTAMP_LEN;
        }
        *ret_end = i;
        return i == n ? DC09_OK : DC09_E_TRAILING;
}

/* Some receivers (ioBroker.sia) let libcrypto add a PKCS#7 block after the
 * timestamp of their encrypted ACK: k bytes of value k. Tolerated there, so
 * such an ACK is not mistaken for no answer and the alarm sent again. */
static bool is_pkcs7_tail(const uint8_t *t, size_t n) {
        if (n == 0 || n > 16 || t[n - 1] != n)
                return false;
        for (size_t i = 0; i < n; i++)
                if (t[i] != n)
                        return false;
        return true;
}

static enum dc09_error parse_encrypted(const uint8_t *hex, size_t n, const uint8_t *key, size_t key_len,
                                       struct dc09_msg *m) {
        uint8_t cipher[DC09_MAX_BODY / 2] = { 0 }, plain[DC09_MAX_BODY / 2];
        size_t len = n / 2, i = 0, start, end = 0, cend = len;
        enum dc09_error e;

        if (n == 0 || n % 32 || !hex_run((const char *) hex, n, n, n))
                return DC09_E_HEX;
        if (!key)
                return DC09_E_NO_KEY;
        for (size_t k = 0; k < len; k++)
                cipher[k] = (uint8_t) (hex_val(hex[2 * k]) << 4 | hex_val(hex[2 * k + 1]));
        if (aes_cbc(false, key, key_len, cipher, len, plain) < 0)
                return DC09_E_DECRYPT;
        /* The pad (any bytes but | [ ]) ends at the first '|' (5.4.4.3). An
         * encrypted ACK from some receivers has no '|' before its ']' (the
         * data is empty): read leniently, flagged in pad_terminated. */
        while (i < len && plain[i] != '|' && plain[i] != '[' && plain[i] != ']')
                i++;
        if (i == len)
                return DC09_E_DECRYPT;
        m->pad_len = i;
        m->pad_terminated = plain[i] == '|';
        start = m->pad_terminated ? i + 1 : i;
        /* After the pad all is printable text; anything else means the key
         * was wrong, whatever bytes it happened to make. */
        for (size_t k = start; k < cend; k++)
                if (!is_print(plain[k])) {
                        if (!is_pkcs7_tail(plain + k, len - k))
                                return DC09_E_DECRYPT;
                        cend = k;
                }
        e = parse_content(plain + start, cend - start, m, &end);
        if (e == DC09_OK && !m->has_timestamp)
                e = DC09_E_NO_TIMESTAMP;
        return e;
}

static enum dc09_error parse_body(const uint8_t *b, size_t n, const uint8_t *key, size_t key_len,
                                  struct dc09_msg *m) {
        size_t p = 0, q, end = 0;
        unsigned seq;

        if (p >= n || b[p] != '"')
                return DC09_E_ID;
        p++;
        if (p < n && b[p] == '*')
                m->encrypted = true, p++;
        for (q = p; q < n && b[q] != '"' && q - p < 8; q++)
                ;
        if (q >= n || b[q] != '"')
                return DC09_E_ID;
        m->id = dc09_id_from_string((const char *) b + p, q - p);
        if (m->id < 0)
                return DC09_E_ID;
        p = q + 1;
        if (n - p < 4 || !digits((const char *) b + p, 4, &seq))
                return DC09_E_SEQ;
        m->seq = seq;
        p += 4;
        if (m->id == DC09_ID_NAK) {
                /* A NAK answers with the placeholders "R0L0A0" (5.5.3.2): no
                 * receiver, line or account of the message, nothing to read. */
                while (p < n && b[p] != '[' && (is_hex(b[p]) || b[p] == 'R' || b[p] == 'L' || b[p] == '#'))
                        p++;
        } else {
                if (p < n && b[p] == 'R') {
                        p++;
                        if (!read_hex_field(b, n, &p, 1, DC09_PREFIX_MAX, m->receiver))
                                return DC09_E_RECEIVER;
                }
                if (p < n && b[p] == 'L') {
                        p++;
                        if (!read_hex_field(b, n, &p, 1, DC09_PREFIX_MAX, m->line))
                                return DC09_E_LINE;
                }
                if (p >= n || b[p] != '#')
                        return DC09_E_ACCOUNT;
                p++;
                if (!read_hex_field(b, n, &p, DC09_ACCOUNT_MIN, DC09_ACCOUNT_MAX, m->account))
                        return DC09_E_ACCOUNT;
        }
        if (p >= n || b[p] != '[')
                return DC09_E_DATA;
        p++;
        if (m->encrypted)
                return parse_encrypted(b + p, n - p, key, key_len, m);
        return parse_content(b + p, n - p, m, &end);
}

int dc09_parse(const void *frame, size_t len, const uint8_t *key, size_t key_len, struct dc09_msg *m) {
        const uint8_t *f = frame;
        unsigned crc = 0, flen = 0;

        if (!frame || !m || (key && !valid_key_len(key_len)))
                return -EINVAL;
        memset(m, 0, offsetof(struct dc09_msg, data));
        m->data[0] = m->xdata[0] = 0;
        m->pad_len = 0;
        m->pad_terminated = false;
        m->has_timestamp = false;
        m->timestamp = 0;
        m->crc = 0;
        m->id = _DC09_ID_INVALID;

        if (len == 0)
                m->error = DC09_E_TRUNCATED;
        else if (f[0] != '\n')
                m->error = DC09_E_NO_LF;
        else if (f[len - 1] != '\r')
                m->error = DC09_E_NO_CR;
        else if (len < 1 + 4 + 4 + 1)
                m->error = DC09_E_TRUNCATED;
        else if (!hex_run((const char *) f + 1, 4, 4, 4))
                m->error = DC09_E_CRC_FIELD;
        else if (f[5] != '0' || !hex_run((const char *) f + 6, 3, 3, 3))
                m->error = DC09_E_LENGTH_FIELD;
        else {
                for (int i = 0; i < 4; i++) {
                        crc = crc << 4 | hex_val(f[1 + i]);
                        flen = flen << 4 | hex_val(f[5 + i]);
                }
                m->crc = (uint16_t) crc;
                if (flen != len - 10)
                        m->error = DC09_E_LENGTH;
                else if (dc09_crc(f + 9, flen) != crc)
                        m->error = DC09_E_CRC;
                else
                        m->error = parse_body(f + 9, flen, key, key_len, m);
        }
        return m->error == DC09_OK ? 0 : -EBADMSG;
}

enum dc09_verdict dc09_answer_verdict(const struct dc09_msg *a, unsigned seq, const char *account,
                                      bool encrypted) {
        bool same;

        if (!a || !account || a->error != DC09_OK)
                return DC09_VERDICT_OTHER;
        same = a->seq == seq && strcasecmp(a->account, account) == 0;
        switch (a->id) {
        case DC09_ID_ACK:
                /* An unencrypted ACK to an encrypted message proves nothing:
                 * anyone on the path can write one (5.5.3.1 encrypts it). */
                return same && (a->encrypted || !encrypted) ? DC09_VERDICT_ACK : DC09_VERDICT_OTHER;
        case DC09_ID_NAK:
                return DC09_VERDICT_NAK;
        case DC09_ID_DUH:
                return same ? DC09_VERDICT_DUH : DC09_VERDICT_OTHER;
        default:
                return DC09_VERDICT_OTHER;
        }
}

/* -------------------------------------------------------------- building */

struct out {
        char *buf;
        size_t len, cap;
        int err;
};

static void put(struct out *o, const void *s, size_t n) {
        if (o->err)
                return;
        if (n > o->cap - o->len) {
                o->err = -EMSGSIZE;
                return;
        }
        memcpy(o->buf + o->len, s, n);
        o->len += n;
}

static void puts_(struct out *o, const char *s) {
        put(o, s, strlen(s));
}

/* A pad byte from a random byte: printable ASCII but | [ ] (92 of them).
 * The standard allows any byte but those three (5.4.4.2); printable keeps
 * receivers that decode the plaintext as text working. The modulo's slight
 * bias does not matter: the pad only has to vary. */
static char pad_char(uint8_t r) {
        unsigned c = 0x20 + r % 92u;

        if (c >= '[')
                c++;
        if (c >= ']')
                c++;
        if (c >= '|')
                c++;
        return (char) c;
}

static bool valid_text(const char *s, bool brackets_ok) {
        for (; *s; s++)
                if (!is_print((unsigned char) *s) || (!brackets_ok && (*s == '[' || *s == ']')))
                        return false;
        return true;
}

static bool valid_xdata(const char *s) {
        while (*s) {
                const char *e;
                if (*s != '[' || !(e = strchr(s + 1, ']')))
                        return false;
                for (const char *c = s + 1; c < e; c++)
                        if (*c == '[' || !is_print((unsigned char) *c))
                                return false;
                s = e + 1;
        }
        return true;
}

static bool valid_prefix(const char *s) {
        return !s || !*s || hex_run(s, strlen(s), 1, DC09_PREFIX_MAX);
}

int dc09_build(const struct dc09_frame *f, char *buf, size_t size) {
        char body[DC09_MAX_BODY], ts[DC09_TIMESTAMP_LEN + 1] = "", seq[8];
        const char *data, *xdata;
        struct out o = { .buf = body, .cap = sizeof body };
        bool nak;

        if (!f || !buf || f->id < 0 || f->id >= _DC09_ID_MAX || f->seq > DC09_SEQ_MAX)
                return -EINVAL;
        nak = f->id == DC09_ID_NAK;
        data = f->data ? f->data : "";
        xdata = f->xdata ? f->xdata : "";
        if (f->key && (nak || f->id == DC09_ID_DUH || !valid_key_len(f->key_len) || !f->random ||
                       !f->has_timestamp))
                return -EINVAL;
        if ((nak && !f->has_timestamp) || !valid_prefix(f->receiver) || !valid_prefix(f->line) ||
            !valid_text(data, false) || !valid_xdata(xdata))
                return -EINVAL;
        if (!nak && (!f->account || !hex_run(f->account, strlen(f->account), DC09_ACCOUNT_MIN, DC09_ACCOUNT_MAX)))
                return -EINVAL;
        if (f->has_timestamp && dc09_timestamp_format(f->timestamp, ts) < 0)
                return -EINVAL;

        puts_(&o, f->key ? "\"*" : "\"");
        puts_(&o, dc09_id_to_string(f->id));
        puts_(&o, "\"");
        if (nak) {
                /* 5.5.3.2: the NAK names neither the message nor the account. */
                puts_(&o, "0000R0L0A0[]");
                puts_(&o, ts);
        } else {
                snprintf(seq, sizeof seq, "%04u", f->seq);
                puts_(&o, seq);
                if (f->receiver && *f->receiver) {
                        puts_(&o, "R");
                        puts_(&o, f->receiver);
                }
                puts_(&o, "L");
                puts_(&o, f->line && *f->line ? f->line : "0");
                puts_(&o, "#");
                puts_(&o, f->account);
                puts_(&o, "[");
                if (!f->key) {
                        puts_(&o, data);
                        puts_(&o, "]");
                        puts_(&o, xdata);
                        puts_(&o, ts);
                } else {
                        /* "pad|data]xdata_timestamp" in whole blocks; already
                         * whole, it gets 16 bytes of pad (5.4.4.3). */
                        uint8_t plain[DC09_MAX_BODY / 2], cipher[DC09_MAX_BODY / 2];
                        size_t dl = strlen(data), xl = strlen(xdata);
                        size_t l = 1 + dl + 1 + xl + DC09_TIMESTAMP_LEN, pad = 16 - l % 16, n = pad + l;
                        int r;

                        if (o.err || 2 * n > o.cap - o.len)
                                return -EMSGSIZE;
                        r = f->random(f->random_userdata, plain, pad);
                        if (r < 0)
                                return r;
                        for (size_t i = 0; i < pad; i++)
                                plain[i] = (uint8_t) pad_char(plain[i]);
                        plain[pad] = '|';
                        memcpy(plain + pad + 1, data, dl);
                        plain[pad + 1 + dl] = ']';
                        memcpy(plain + pad + 2 + dl, xdata, xl);
                        memcpy(plain + pad + 2 + dl + xl, ts, DC09_TIMESTAMP_LEN);
                        r = aes_cbc(true, f->key, f->key_len, plain, n, cipher);
                        explicit_bzero(plain, sizeof plain);
                        if (r < 0)
                                return r;
                        for (size_t i = 0; i < n; i++) {
                                char h[3];
                                snprintf(h, sizeof h, "%02X", cipher[i]);
                                put(&o, h, 2);
                        }
                }
        }
        if (o.err)
                return o.err;
        if (size < 1 + 8 + o.len + 1 + 1)
                return -ENOSPC;
        snprintf(buf, 10, "\n%04X%04X", (unsigned) dc09_crc(body, o.len), (unsigned) o.len);
        memcpy(buf + 9, body, o.len);
        buf[9 + o.len] = '\r';
        buf[10 + o.len] = 0;
        return (int) (10 + o.len);
}

/* ---------------------------------------------------------- event data */

const struct dc09_code *dc09_code_table(size_t *ret_n) {
        if (ret_n)
                *ret_n = ELEMENTSOF(codes);
        return codes;
}

const struct dc09_code *dc09_code_lookup(const char *event, bool sos_personal) {
        if (!event)
                return NULL;
        for (size_t i = 0; i < ELEMENTSOF(codes); i++)
                if (strcmp(codes[i].event, event) == 0) {
                        if (strcmp(event, "sos") == 0 && sos_personal && codes[i].cid != 101)
                                continue;
                        return &codes[i];
                }
        return NULL;
}

enum dc09_id dc09_format_id(enum dc09_format format) {
        return format == DC09_FORMAT_CID ? DC09_ID_ADM_CID :
               format == DC09_FORMAT_SIA ? DC09_ID_SIA_DCS : _DC09_ID_INVALID;
}

int dc09_event_data(enum dc09_format format, const char *account, const struct dc09_event *ev,
                    char *buf, size_t size) {
        const struct dc09_code *c;
        int n;

        if (!ev || !buf || !account || (format != DC09_FORMAT_CID && format != DC09_FORMAT_SIA) ||
            !hex_run(account, strlen(account), DC09_ACCOUNT_MIN, DC09_ACCOUNT_MAX))
                return -EINVAL;
        c = dc09_code_lookup(ev->name, ev->sos_personal);
        if (!c)
                return -ENOENT;
        if (ev->restore && !c->sia_restore[0])
                return -EINVAL;
        if (ev->group > 99 || ev->zone > 999)
                return -ERANGE;
        if (format == DC09_FORMAT_CID)
                /* DC-05's QEEE GG CCC, spaces as DC-09's ADM-CID shows it. */
                n = snprintf(buf, size, "#%s|%u%03u %02u %03u", account, ev->restore ? 3u : 1u,
                             (unsigned) c->cid, ev->group, ev->zone);
        else if (c->sia_zone)
                n = snprintf(buf, size, "#%s|Nri%02u/%s%03u", account, ev->group,
                             ev->restore ? c->sia_restore : c->sia, ev->zone);
        else
                n = snprintf(buf, size, "#%s|Nri%02u/%s", account, ev->group,
                             ev->restore ? c->sia_restore : c->sia);
        if (n < 0 || (size_t) n >= size)
                return -ENOSPC;
        return n;
}

/* Decimal digits at s into *ret (at most 9); the count read. */
static size_t read_number(const char *s, int *ret) {
        size_t n = 0;
        int v = 0;

        while (n < 9 && is_digit((unsigned char) s[n]))
                v = v * 10 + (s[n++] - '0');
        if (n > 0)
                *ret = v;
        return n;
}

int dc09_event_parse(enum dc09_id id, const char *data, struct dc09_event_info *ret) {
        const char *p = data;
        unsigned q, code, group, zone;

        if (!data || !ret || (id != DC09_ID_SIA_DCS && id != DC09_ID_ADM_CID))
                return -EINVAL;
        *ret = (struct dc09_event_info) { .group = -1, .zone = -1 };
        if (*p == '#') {
                size_t n = 0;
                while (n <= DC09_ACCOUNT_MAX && is_hex((unsigned char) p[1 + n]))
                        n++;
                if (n < 1 || n > DC09_ACCOUNT_MAX || p[1 + n] != '|')
                        return -EBADMSG;
                memcpy(ret->account, p + 1, n);
                ret->account[n] = 0;
                p += n + 1;
        }
        if (*p == '|')
                p++;
        if (id == DC09_ID_ADM_CID) {
                if (!digits(p, 1, &q) || !digits(p + 1, 3, &code) || p[4] != ' ' || !digits(p + 5, 2, &group) ||
                    p[7] != ' ' || !digits(p + 8, 3, &zone) || p[11] != 0 || (q != 1 && q != 3 && q != 6))
                        return -EBADMSG;
                snprintf(ret->code, sizeof ret->code, "%03u", code);
                ret->qualifier = q;
                ret->group = (int) group;
                ret->zone = (int) zone;
                return 0;
        }
        /* SIA DC-03: 'N' new event (or 'O' old), modifiers such as ri<area>,
         * id<user>, ti<hh:mm> each optionally closed by '/', then the
         * two-letter code and its address. */
        if (*p == 'N' || *p == 'O')
                p++;
        while (p[0] >= 'a' && p[0] <= 'z' && p[1] >= 'a' && p[1] <= 'z') {
                bool ri = p[0] == 'r' && p[1] == 'i';
                int v;
                p += 2;
                if (ri && read_number(p, &v) > 0)
                        ret->group = v;
                while (is_digit((unsigned char) *p) || *p == ':' || *p == '.' || *p == '-')
                        p++;
                if (*p == '/')
                        p++;
        }
        if (!(p[0] >= 'A' && p[0] <= 'Z' && p[1] >= 'A' && p[1] <= 'Z'))
                return -EBADMSG;
        ret->code[0] = p[0];
        ret->code[1] = p[1];
        ret->code[2] = 0;
        read_number(p + 2, &ret->zone);
        return 0;
}

/* --------------------------------------------------------------- names */

const char *dc09_id_to_string(enum dc09_id id) {
        return id >= 0 && id < _DC09_ID_MAX ? id_names[id] : NULL;
}

enum dc09_id dc09_id_from_string(const char *s, size_t len) {
        if (!s)
                return _DC09_ID_INVALID;
        for (int i = 0; i < _DC09_ID_MAX; i++)
                if (strlen(id_names[i]) == len && memcmp(id_names[i], s, len) == 0)
                        return (enum dc09_id) i;
        return _DC09_ID_INVALID;
}

const char *dc09_error_to_string(enum dc09_error e) {
        return e >= 0 && e < _DC09_ERROR_MAX ? error_names[e] : "unknown error";
}

const char *dc09_verdict_to_string(enum dc09_verdict v) {
        return v >= 0 && v < _DC09_VERDICT_MAX ? verdict_names[v] : NULL;
}

const char *dc09_format_to_string(enum dc09_format f) {
        return f >= 0 && f < _DC09_FORMAT_MAX ? format_names[f] : NULL;
}

enum dc09_format dc09_format_from_string(const char *s) {
        for (int i = 0; s && i < _DC09_FORMAT_MAX; i++)
                if (strcmp(format_names[i], s) == 0)
                        return (enum dc09_format) i;
        return _DC09_FORMAT_INVALID;
}
