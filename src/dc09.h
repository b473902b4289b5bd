/* ANSI/SIA DC-09 "Internet Protocol Event Reporting": the frames a premises
 * device sends to an alarm receiving centre (events in ADM-CID, i.e. Contact
 * ID, or in SIA-DCS; NULL link tests) and the centre's answers (ACK, NAK,
 * DUH), with the optional AES-CBC encryption. Written from the standard's
 * text; docs/DC09.md says which part comes from where.
 *
 * Pure: no sockets, no clock, no logging. Times are Unix seconds (UTC) passed
 * in; the random pad of an encrypted frame comes from the caller's callback,
 * so tests are deterministic. AES is OpenSSL libcrypto's (EVP). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* <LF> crc(4) 0LLL(4) body <CR>: the length field is "0" and three hex
 * digits, so a body is at most 0xFFF characters. */
#define DC09_MAX_BODY           0xFFF
#define DC09_MAX_FRAME          (1 + 4 + 4 + DC09_MAX_BODY + 1)
#define DC09_SEQ_MAX            9999
#define DC09_ACCOUNT_MIN        3
#define DC09_ACCOUNT_MAX        16      /* hex digits after '#' */
#define DC09_PREFIX_MAX         6       /* hex digits after 'R' and after 'L' */
#define DC09_TIMESTAMP_LEN      20      /* "_HH:MM:SS,MM-DD-YYYY" */
#define DC09_KEY_MAX            32      /* AES-256; 16 and 24 bytes too */
/* The receiver's default window for the timestamp of an encrypted message:
 * at most 40 s behind and 20 s ahead of its clock (docs/DC09.md). */
#define DC09_WINDOW_PAST        40
#define DC09_WINDOW_FUTURE      20

/* The "ID token" between the quotes; a '*' before it marks encryption. */
enum dc09_id {
        DC09_ID_SIA_DCS,                /* "SIA-DCS": SIA DC-03 event data */
        DC09_ID_ADM_CID,                /* "ADM-CID": Contact ID event data */
        DC09_ID_NULL,                   /* "NULL": link supervision, no event */
        DC09_ID_ACK,                    /* receiver: received and accepted */
        DC09_ID_NAK,                    /* receiver: refused (timestamp, decryption) */
        DC09_ID_DUH,                    /* receiver: received but unable to process */
        DC09_ID_RSP,                    /* receiver: a response carrying data */
        _DC09_ID_MAX,
        _DC09_ID_INVALID = -1,
};

/* Every way a frame can be wrong, each its own code. */
enum dc09_error {
        DC09_OK,
        DC09_E_TRUNCATED,               /* shorter than the smallest frame */
        DC09_E_NO_LF,                   /* does not start with LF */
        DC09_E_NO_CR,                   /* does not end with CR */
        DC09_E_CRC_FIELD,               /* the CRC field is not 4 hex digits */
        DC09_E_LENGTH_FIELD,            /* the length field is not "0" and 3 hex digits */
        DC09_E_LENGTH,                  /* the length field does not match the body */
        DC09_E_CRC,                     /* the CRC does not match the body */
        DC09_E_ID,                      /* no quoted ID token, or one DC-09 does not define */
        DC09_E_SEQ,                     /* the sequence number is not 4 decimal digits */
        DC09_E_RECEIVER,                /* 'R' not followed by 1-6 hex digits */
        DC09_E_LINE,                    /* 'L' not followed by 1-6 hex digits */
        DC09_E_ACCOUNT,                 /* no '#' and 3-16 hex digits before '[' */
        DC09_E_DATA,                    /* no "[...]" data block, or a character DC-09 forbids */
        DC09_E_XDATA,                   /* an extended data block "[...]" is malformed */
        DC09_E_TIMESTAMP,               /* not "_HH:MM:SS,MM-DD-YYYY" or not a real time */
        DC09_E_TRAILING,                /* characters after the timestamp */
        DC09_E_HEX,                     /* the encrypted part is not hex in whole 16-byte blocks */
        DC09_E_NO_KEY,                  /* encrypted, and no key to decrypt it */
        DC09_E_DECRYPT,                 /* decrypts to no valid content: wrong key */
        DC09_E_NO_TIMESTAMP,            /* encrypted without the timestamp it requires */
        _DC09_ERROR_MAX,
};

/* One parsed frame. Strings are NUL-terminated printable ASCII. */
struct dc09_msg {
        enum dc09_error error;          /* DC09_OK, or why the frame was refused */
        enum dc09_id id;
        bool encrypted;                 /* '*' before the token */
        unsigned seq;                   /* 0..9999; a NAK's is 0000 */
        char receiver[DC09_PREFIX_MAX + 1];     /* the hex after 'R'; "" if absent */
        char line[DC09_PREFIX_MAX + 1];         /* the hex after 'L'; "" if absent */
        char account[DC09_ACCOUNT_MAX + 1];     /* the hex after '#'; "" for a NAK */
        char data[DC09_MAX_BODY + 1];   /* between '[' and ']', pad removed */
        char xdata[DC09_MAX_BODY + 1];  /* the extended "[...]" blocks after it, verbatim */
        bool has_timestamp;
        int64_t timestamp;              /* Unix seconds, UTC */
        size_t pad_len;                 /* encrypted: characters of pad before '|' */
        bool pad_terminated;            /* encrypted: the pad ended with '|' as DC-09 says */
        uint16_t crc;                   /* the frame's CRC field */
};

/* CRC-16/ARC (polynomial 0x8005 reflected, initial 0), the one DC-09 uses
 * over the body ("123456789" gives 0xBB3D). */
uint16_t dc09_crc(const void *data, size_t len);

/* Parses one frame, LF through CR (len bytes; need not be NUL-terminated).
 * key (key_len 16/24/32 bytes) decrypts an encrypted frame; NULL if none.
 * 0, or -EBADMSG with ret->error saying why; the fields read before the
 * error stay set (an undecryptable frame still shows its token, sequence
 * and account, enough for a receiver to NAK it). -EINVAL on bad arguments. */
int dc09_parse(const void *frame, size_t len, const uint8_t *key, size_t key_len, struct dc09_msg *ret);

/* Fills buf with n random bytes; 0 or -errno. The pad of an encrypted frame
 * is drawn from it. */
typedef int (*dc09_random_t)(void *userdata, void *buf, size_t n);

/* What dc09_build() writes. The caller owns every pointer. */
struct dc09_frame {
        enum dc09_id id;
        unsigned seq;                   /* 0..9999; a NAK always sends 0000 */
        const char *receiver;           /* hex after 'R'; NULL or "" for no R field */
        const char *line;               /* hex after 'L'; NULL or "" for "L0" */
        const char *account;            /* 3-16 hex digits; unused by a NAK */
        const char *data;               /* inside the brackets; NULL for "[]" */
        const char *xdata;              /* extended blocks "[X...][Y...]" or NULL */
        bool has_timestamp;             /* required when encrypted and for a NAK */
        int64_t timestamp;              /* Unix seconds, UTC */
        const uint8_t *key;             /* AES key, NULL for an unencrypted frame */
        size_t key_len;                 /* 16, 24 or 32 */
        dc09_random_t random;           /* draws the pad; required with a key */
        void *random_userdata;
};

/* Writes the whole frame, LF through CR, NUL-terminated, into buf. Returns
 * its length (without the NUL), -EINVAL (a field out of range or with a
 * character DC-09 forbids; a key on a NAK or DUH, which are never
 * encrypted), -EMSGSIZE (body over 0xFFF), -ENOSPC (buf too small), the
 * random callback's error, or -EIO (libcrypto failed). */
int dc09_build(const struct dc09_frame *f, char *buf, size_t size);

/* The sequence number after seq: 1..9999, then 1 again (0 is followed by 1). */
unsigned dc09_seq_next(unsigned seq);

/* How the answer to a message we sent is to be taken. */
enum dc09_verdict {
        DC09_VERDICT_ACK,               /* delivered */
        DC09_VERDICT_NAK,               /* refused: check the clock, resend with a fresh timestamp */
        DC09_VERDICT_DUH,               /* not processed: a failure, to be retried */
        DC09_VERDICT_OTHER,             /* not an answer to this message: keep waiting */
        _DC09_VERDICT_MAX,
        _DC09_VERDICT_INVALID = -1,
};

/* Classifies a frame parsed without error against the message we sent
 * (sequence number, account, whether encrypted). An ACK counts only with the
 * same sequence and account (hex compared without case) and, for an
 * encrypted message, only encrypted itself. A NAK carries neither (DC-09
 * sends "0000" and "A0" in their place), so any NAK is the answer to the
 * message in flight. A DUH must match like an ACK. Anything else: OTHER. */
enum dc09_verdict dc09_answer_verdict(const struct dc09_msg *answer, unsigned seq, const char *account,
                                      bool encrypted);

/* "_HH:MM:SS,MM-DD-YYYY" (UTC) into buf; 0 or -ERANGE (year not 0..9999). */
int dc09_timestamp_format(int64_t t, char buf[static DC09_TIMESTAMP_LEN + 1]);
/* Parses exactly DC09_TIMESTAMP_LEN characters; 0 or -EINVAL (not the
 * format, or a time that does not exist such as 02-30 or 24:00:00). */
int dc09_timestamp_parse(const char *s, size_t len, int64_t *ret);
/* Is a message's timestamp ts within [now - past, now + future]? */
bool dc09_timestamp_in_window(int64_t ts, int64_t now, unsigned past, unsigned future);

/* A key written as 32, 48 or 64 hex digits (surrounding whitespace ignored)
 * into key; 0 and *ret_len 16/24/32, or -EINVAL. */
int dc09_key_from_hex(const char *hex, uint8_t key[static DC09_KEY_MAX], size_t *ret_len);

/* The next whole frame in a stream (TCP) buffer. 1: a frame, LF through CR,
 * at buf + *ret_start, *ret_len bytes. 0: none complete yet; the first
 * *ret_start bytes hold no frame and can be dropped. -EMSGSIZE: an LF with no
 * CR within DC09_MAX_FRAME bytes; drop the first *ret_start bytes (through
 * that LF) and look again. */
int dc09_frame_find(const void *buf, size_t len, size_t *ret_start, size_t *ret_len);

/* The event data formats a [receiver] can be configured for. */
enum dc09_format {
        DC09_FORMAT_CID,                /* ADM-CID: "#acct|QEEE GG ZZZ" */
        DC09_FORMAT_SIA,                /* SIA-DCS: "#acct|NriGG/CCzzz" */
        _DC09_FORMAT_MAX,
        _DC09_FORMAT_INVALID = -1,
};

/* One row of the table from anju's event names to the codes a centre knows. */
struct dc09_code {
        const char *event;              /* anju's name: "fire", "sos", ... */
        uint16_t cid;                   /* Contact ID event code (3 digits) */
        char sia[3];                    /* SIA DC-03 code of the alarm/trouble */
        char sia_restore[3];            /* SIA code of its restore; "" if none (test) */
        bool sia_zone;                  /* the SIA code's address is the zone (else unused) */
};

/* The whole table (for docs and tests); *ret_n rows. */
const struct dc09_code *dc09_code_table(size_t *ret_n);
/* The row for event, NULL if unknown. "sos" is 120 panic / PA, or with
 * sos_personal 101 personal emergency / MA. */
const struct dc09_code *dc09_code_lookup(const char *event, bool sos_personal);

/* One event to report. */
struct dc09_event {
        const char *name;               /* anju's event name, as in the table */
        bool restore;                   /* the incident was resolved / the condition cleared */
        unsigned group;                 /* partition/group 0..99; anju uses 01 */
        unsigned zone;                  /* the sensor's index 0..999; 0 for the hub itself */
        bool sos_personal;              /* "sos" as 101 / MA rather than 120 / PA */
};

/* The ID token that carries format's data. */
enum dc09_id dc09_format_id(enum dc09_format format);
/* Writes the data block of ev (what goes inside the brackets, NUL-terminated)
 * for account: "#1234|1110 01 003" (ADM-CID) or "#1234|Nri01/FA003"
 * (SIA-DCS). Returns its length, -ENOENT (unknown event), -EINVAL (restore
 * of an event that has none, a bad account or format), -ERANGE (group or
 * zone too large) or -ENOSPC. */
int dc09_event_data(enum dc09_format format, const char *account, const struct dc09_event *ev,
                    char *buf, size_t size);

/* The first event of a data block, as a receiver reads it. */
struct dc09_event_info {
        char account[DC09_ACCOUNT_MAX + 1];     /* "#acct|" before the event; "" if absent */
        char code[4];                   /* "110" (ADM-CID) or "FA" (SIA-DCS) */
        unsigned qualifier;             /* ADM-CID: 1 new, 3 restore, 6 status; SIA-DCS: 0 */
        int group;                      /* ADM-CID GG, SIA-DCS "ri"; -1 if absent */
        int zone;                       /* ADM-CID ZZZ, SIA-DCS address; -1 if absent */
};

/* Reads the first event of a SIA-DCS or ADM-CID data block. 0, -EBADMSG (not
 * that format), -EINVAL (id carries no event data). */
int dc09_event_parse(enum dc09_id id, const char *data, struct dc09_event_info *ret);

const char *dc09_id_to_string(enum dc09_id id);         /* "SIA-DCS", ... */
enum dc09_id dc09_id_from_string(const char *s, size_t len);
const char *dc09_error_to_string(enum dc09_error e);
const char *dc09_verdict_to_string(enum dc09_verdict v); /* "ACK", "NAK", "DUH", "other" */
const char *dc09_format_to_string(enum dc09_format f);  /* "cid", "sia" */
enum dc09_format dc09_format_from_string(const char *s);
