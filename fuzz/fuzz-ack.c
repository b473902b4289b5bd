/* Fuzz target: a message on anju/<hub>/ack, as MQTT delivers it (not
 * NUL-terminated). A parsed ack must hold only what the protocol allows
 * (a known action, short strings without control characters but tab), and
 * its signed text must split back into exactly the five fields it was made
 * of: a field holding a newline would let one signature cover two
 * different messages. */
#include "fuzz.h"
#include "proto.h"

#include <errno.h>
#include <string.h>

static const char *const actions[] = { "ack", "arrived", "resolved", "false_alarm", "cancel" };

static bool clean(const char *s, size_t n, bool required) {
        const char *end = memchr(s, '\0', n);

        if (!end || (required && end == s))
                return false;
        for (; s < end; s++)
                if ((unsigned char) *s < 0x20 && *s != '\t')
                        return false;
        return true;
}

/* "<incident>\n<action>\n<by>\n<ts>\n<note>" splits back into m. */
static bool splits_back(const struct ack_msg *m, const char *text) {
        char ts[32];
        const char *want[5] = { m->incident, m->action, m->by, ts, m->note };
        const char *p = text;

        snprintf(ts, sizeof ts, "%lld", m->ts);
        for (int i = 0; i < 5; i++) {
                size_t l = strlen(want[i]);
                if (strncmp(p, want[i], l) != 0)
                        return false;
                p += l;
                if (i < 4 && *p++ != '\n')
                        return false;
        }
        return *p == '\0';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct ack_msg m;
        const char *why = NULL;
        char text[600], small[16];
        bool known = false;

        if (proto_parse_ack(data, size, &m, &why) < 0) {
                if (!why || !*why)
                        abort();
                return 0;
        }
        for (size_t i = 0; i < sizeof actions / sizeof actions[0]; i++)
                known |= strcmp(m.action, actions[i]) == 0;
        if (!known || !clean(m.incident, sizeof m.incident, true) || !clean(m.action, sizeof m.action, true) ||
            !clean(m.by, sizeof m.by, false) || !clean(m.note, sizeof m.note, false) ||
            !clean(m.sig, sizeof m.sig, false) || m.ts < 0)
                abort();
        /* The hub signs into 600 bytes: every parsed ack fits. */
        if (proto_ack_signed_text(&m, text, sizeof text) < 0 || !splits_back(&m, text))
                abort();
        if (proto_ack_signed_text(&m, small, sizeof small) == 0 && strlen(text) >= sizeof small)
                abort();
        return 0;
}
