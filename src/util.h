/* Small helpers shared by every module: parsing of durations and times of
 * day, time formatting, secrets, hex, HMAC, and a string→index map. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ELEMENTSOF(a) (sizeof(a) / sizeof((a)[0]))
#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x)

static inline void freep(void *p) {
        extern void free(void *);
        free(*(void **) p);
}
#define _cleanup_(f) __attribute__((cleanup(f)))
#define _cleanup_free_ _cleanup_(freep)

/* Parses "30s", "10m", "4h", "1d", "250ms" or sums like "1h30m" into usec.
 * A bare number without a unit is an error (-EINVAL). */
int parse_duration(const char *s, uint64_t *ret_usec);
/* Parses a size in bytes: "65536", "64K", "16M", "1G" (binary multiples,
 * an optional "B" or "iB" after the letter). -EINVAL if not one. */
int parse_size(const char *s, uint64_t *ret);
/* Parses "HH:MM" into minutes after midnight (0..1439). */
int parse_time_of_day(const char *s, unsigned *ret_minutes);
/* Parses true/false/yes/no/on/off/1/0 (case-insensitive). */
int parse_bool(const char *s, bool *ret);
/* Parses a whole decimal integer in [min, max]: -EINVAL if not a number,
 * -ERANGE if outside. */
int parse_int_range(const char *s, long long min, long long max, long long *ret);

/* Cuts buf back to a character boundary if snprintf() cut a multi-byte
 * UTF-8 character in half (jansson refuses half a character). Returns buf. */
char *utf8_trim(char *buf);

/* Formats a duration as "4h 05min", "30s", "250ms" into buf. */
char *format_duration(char *buf, size_t n, uint64_t usec);
/* Formats wall usec as RFC 3339 in local time with offset ("+08:00"). */
char *format_rfc3339(char *buf, size_t n, uint64_t wall_usec);

uint64_t now_mono(void);        /* CLOCK_MONOTONIC in usec */
uint64_t now_wall(void);        /* CLOCK_REALTIME in usec */

/* Fills buf with n random bytes from getrandom(); 0 or -errno. */
int random_bytes(void *buf, size_t n);
/* A random RFC 4122 version-4 UUID, 36 characters plus NUL. */
int uuid_random(char ret[static 37]);
/* Lower-case hex of n bytes into out (2n+1 bytes). */
void hex_encode(const uint8_t *in, size_t n, char *out);
/* HMAC-SHA256 of data with key, as 64 lower-case hex characters + NUL. */
int hmac_sha256_hex(const void *key, size_t keylen, const void *data, size_t len,
                    char ret[static 65]);

/* Reads a small secret file (≤ 64 KiB), strips trailing newlines. The
 * caller frees *ret (and should wipe it). 0, -ENOENT, -EFBIG, -ENODATA ... */
int read_secret_file(const char *path, char **ret, size_t *ret_len);

/* Open-addressing hash map from string keys (not copied: the caller keeps
 * them alive) to uint32 values. */
struct strmap;
struct strmap *strmap_new(size_t expected);
void strmap_free(struct strmap *m);
/* -EEXIST if the key is present, -ENOMEM. */
int strmap_put(struct strmap *m, const char *key, uint32_t value);
/* True and *ret set if found. Key need not be NUL-terminated. */
bool strmap_get(const struct strmap *m, const char *key, size_t keylen, uint32_t *ret);
