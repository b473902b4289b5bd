/* Signed messages (see sig.h). */
#include "sig.h"
#include "util.h"

#include <stdio.h>
#include <string.h>

static bool hex_equal(const char *a, const char *b) {
        unsigned char d = 0;

        if (strlen(a) != strlen(b))
                return false;
        for (size_t i = 0; a[i]; i++)
                d |= (unsigned char) (a[i] ^ b[i]);
        return d == 0;
}

static bool seen_before(const struct sig_guard *g, const char *sig) {
        for (size_t i = 0; i < SIG_RING; i++)
                if (g->seen[i][0] && strcmp(g->seen[i], sig) == 0)
                        return true;
        return false;
}

enum sig_result sig_check(struct sig_guard *g, const void *key, size_t key_len, const char *text, long long ts,
                          const char *sig, long long now_s, bool clock_synced) {
        char want[65];

        if (!key || key_len < 16)
                return SIG_NO_KEY;
        if (hmac_sha256_hex(key, key_len, text, strlen(text), want) < 0 || !hex_equal(want, sig))
                return SIG_BAD;
        /* The window only after the signature: a forged message learns
         * nothing about this hub's clock. */
        if (clock_synced && (now_s - ts > SIG_WINDOW_S || ts - now_s > SIG_WINDOW_S))
                return SIG_STALE;
        if (seen_before(g, want))
                return SIG_REPLAYED;
        snprintf(g->seen[g->next], sizeof g->seen[0], "%s", want);
        g->next = (g->next + 1) % SIG_RING;
        return SIG_OK;
}

const char *sig_result_to_string(enum sig_result r) {
        switch (r) {
        case SIG_OK: return "ok";
        case SIG_STALE: return "ts is more than 5 minutes from this hub's clock";
        case SIG_BAD: return "bad signature";
        case SIG_REPLAYED: return "replayed (this signed message was already applied)";
        case SIG_NO_KEY: return "no usable key";
        default: return "?";
        }
}
