/* The grid dispatch center's HTTPS interface (docs/ALARM-SCHEMA.md): which
 * URL an attempt goes to, the headers of a call (Idempotency-Key, Bearer
 * token, X-Anju-Signature), and what an answer means. Also the same for a
 * contact's webhook (no secrets of the center ever go to a chat bot). Pure. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct config;
struct https_result;

/* What an answer means for the call. */
enum center_verdict {
        CENTER_DELIVERED,       /* 2xx with a case id (a webhook: 2xx, errcode 0 if any) */
        CENTER_RETRY,           /* no answer, 5xx, 408, 425, 429, a 2xx without a case id: try again */
        CENTER_REFUSED,         /* another 4xx: retrying as is will not help; someone must look */
        _CENTER_VERDICT_MAX,
};

#define CENTER_CASE_ID_MAX 65   /* printable, at most 64 characters */
#define CENTER_HEADERS_MAX 6

/* The URL of attempt number attempt (0-based) of a call to the center:
 * the primary, alternating with fallback_url every fallback_after
 * failures. */
const char *center_url(const struct config *cfg, unsigned attempt);
/* The headers of a call (webhook: without the center's token and
 * signature), into ret (NULL-terminated, at most CENTER_HEADERS_MAX + 1);
 * the strings are malloc'd: free with center_headers_free(). */
int center_headers(const struct config *cfg, const char *key, const char *body, bool webhook, char **ret);
void center_headers_free(char **h);
/* Reads an answer; case_id gets the center's case id (printable ASCII
 * only, anything else dropped, cut to 64), why a sentence when it is not
 * delivered. */
enum center_verdict center_answer(const struct https_result *r, bool webhook, char case_id[CENTER_CASE_ID_MAX],
                                  char *why, size_t n);
