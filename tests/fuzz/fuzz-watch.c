/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: untrusted bytes as a watch stream, through the line framer and the event decoder
 * the reflector uses (lib/kube/decode.h). The stream is fed twice, whole and in pieces whose sizes
 * come from its own bytes: the events decoded, and how each line fails, must not depend on where the
 * chunks were cut. Every message must be a bounded, escaped, NUL-terminated string. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kube/decode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Not check(): it must hold in every build type. */
#define check(x)                                                                                            \
        do {                                                                                                \
                if (!(x))                                                                                   \
                        abort();                                                                            \
        } while (0)

#define MAX_LINES 256

typedef struct Outcome {
        int result[MAX_LINES];
        KubeWatchType type[MAX_LINES];
        size_t n;
} Outcome;

static int on_line(const char *line, size_t len, void *userdata)
{
        Outcome *o = userdata;
        KubeWatchEvent e = {};
        char error[512];

        check(len > 0 && !memchr(line, '\n', len));
        memset(error, 'X', sizeof(error));
        int r = kube_watch_event_decode(line, len, &e, error, sizeof(error));
        if (r < 0) {
                check(r == -EBADMSG || r == -EFBIG);
                check(memchr(error, 0, sizeof(error)));
                for (const char *c = error; *c; c++)
                        check(*c >= 0x20 && *c < 0x7f);
                check(!e.root);
        } else {
                check(json_is_object(e.object));
                check(!e.resource_version || *e.resource_version);
                (void) json_dumpb(e.object, NULL, 0, JSON_COMPACT);
                kube_watch_event_clear(&e);
        }
        if (o->n < MAX_LINES) {
                o->result[o->n] = r;
                o->type[o->n] = r < 0 ? 0 : e.type;
        }
        o->n++;
        return 0;
}

/* The framer's bound is small here so that the fuzzer reaches it: the reflector's is 3 MiB. */
static int feed(const uint8_t *data, size_t size, const size_t *cuts, size_t n_cuts, Outcome *o)
{
        KubeLineFramer f = {.max = 1024};
        size_t at = 0;
        int r = 0;
        for (size_t i = 0; i <= n_cuts && r >= 0; i++) {
                size_t end = i < n_cuts ? cuts[i] : size;
                r = kube_line_framer_feed(&f, (const char *) data + at, end - at, on_line, o);
                at = end;
        }
        kube_line_framer_free(&f);
        return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        Outcome whole = {}, pieces = {};
        size_t cuts[64], n_cuts = 0;

        /* Cut points from the bytes themselves: deterministic for a given input. */
        for (size_t at = 0, i = 0; n_cuts < 64 && i < size; i += 7) {
                at += 1 + data[i] % 97;
                if (at >= size)
                        break;
                cuts[n_cuts++] = at;
        }
        int a = feed(data, size, NULL, 0, &whole);
        int b = feed(data, size, cuts, n_cuts, &pieces);
        check(a == b);
        check(a == 0 || a == -EFBIG);
        check(whole.n == pieces.n);
        for (size_t i = 0; i < whole.n && i < MAX_LINES; i++) {
                check(whole.result[i] == pieces.result[i]);
                check(whole.type[i] == pieces.type[i]);
        }
        return 0;
}
