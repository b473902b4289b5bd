/* The center's HTTPS interface (see center.h). */
#include "center.h"
#include "anju-build.h"
#include "config.h"
#include "https.h"
#include "util.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *center_url(const struct config *cfg, unsigned attempt) {
        if (!cfg->dispatch.fallback_url)
                return cfg->dispatch.url;
        return (attempt / cfg->dispatch.fallback_after) % 2 == 0 ? cfg->dispatch.url : cfg->dispatch.fallback_url;
}

void center_headers_free(char **h) {
        for (size_t i = 0; h && h[i]; i++) {
                explicit_bzero(h[i], strlen(h[i]));
                free(h[i]);
                h[i] = NULL;
        }
}

int center_headers(const struct config *cfg, const char *key, const char *body, bool webhook, char **ret) {
        char sig[65];
        size_t n = 0;

        memset(ret, 0, (CENTER_HEADERS_MAX + 1) * sizeof *ret);
        if (!(ret[n++] = strdup("Content-Type: application/json; charset=utf-8")) ||
            !(ret[n++] = strdup("Expect:")) ||        /* never wait for 100-continue */
            asprintf(&ret[n++], "Idempotency-Key: %s", key) < 0 ||
            !(ret[n++] = strdup("User-Agent: anjud/" ANJU_VERSION)))
                goto oom;
        if (webhook)
                return 0;       /* the center's secrets never go to a chat bot */
        if (cfg->dispatch.hmac_key) {
                if (hmac_sha256_hex(cfg->dispatch.hmac_key, cfg->dispatch.hmac_key_len, body, strlen(body), sig) < 0 ||
                    asprintf(&ret[n++], "X-Anju-Signature: sha256=%s", sig) < 0)
                        goto oom;
        }
        if (cfg->dispatch.token && asprintf(&ret[n++], "Authorization: Bearer %s", cfg->dispatch.token) < 0)
                goto oom;
        return 0;
oom:
        ret[n - 1] = NULL;      /* asprintf leaves it undefined */
        center_headers_free(ret);
        return -ENOMEM;
}

/* The case id of an answer, printable ASCII only (it goes into logs,
 * anjuctl and volunteers' notices): other bytes are dropped. */
static bool case_id_of(const char *body, size_t len, char out[CENTER_CASE_ID_MAX]) {
        json_t *root = json_loadb(body, len, 0, NULL), *v = json_object_get(root, "case_id");
        char raw[128];
        size_t k = 0;

        out[0] = '\0';
        if (json_is_string(v))
                snprintf(raw, sizeof raw, "%s", json_string_value(v));
        else if (json_is_integer(v))
                snprintf(raw, sizeof raw, "%lld", (long long) json_integer_value(v));
        else
                raw[0] = '\0';
        json_decref(root);
        for (size_t i = 0; raw[i] && k < CENTER_CASE_ID_MAX - 1; i++)
                if (raw[i] > 0x20 && raw[i] < 0x7f)
                        out[k++] = raw[i];
        out[k] = '\0';
        return k > 0;
}

enum center_verdict center_answer(const struct https_result *r, bool webhook, char case_id[CENTER_CASE_ID_MAX],
                                  char *why, size_t n) {
        case_id[0] = '\0';
        if (!r->ok) {
                snprintf(why, n, "%s", r->why);
                return CENTER_RETRY;
        }
        if (r->status < 200 || r->status > 299) {
                snprintf(why, n, "HTTP %ld", r->status);
                /* Overloaded, too early, too many, timed out: the center asks
                 * for patience. Any other 4xx is a problem someone must see. */
                if (r->status >= 400 && r->status < 500 && r->status != 408 && r->status != 425 &&
                    r->status != 429)
                        return CENTER_REFUSED;
                return CENTER_RETRY;
        }
        if (webhook) {
                /* WeCom and DingTalk bots answer 200 with {"errcode": N}. */
                json_t *j = json_loadb(r->body, r->body_len, 0, NULL), *e = json_object_get(j, "errcode");
                bool bad = json_is_integer(e) && json_integer_value(e) != 0;

                if (bad)
                        snprintf(why, n, "HTTP %ld, errcode %lld", r->status, (long long) json_integer_value(e));
                json_decref(j);
                return bad ? CENTER_RETRY : CENTER_DELIVERED;
        }
        if (!case_id_of(r->body, r->body_len, case_id)) {
                snprintf(why, n, "HTTP %ld without a case id", r->status);
                return CENTER_RETRY;
        }
        return CENTER_DELIVERED;
}
