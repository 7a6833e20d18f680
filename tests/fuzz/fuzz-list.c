/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: untrusted bytes as the API server's answers to a list (lib/kube/decode.h): a list
 * page, the first bytes of a page refused for its size (every prefix length the input's own bytes
 * pick), and an error body as a Status or text. The bounds scan, fed whole and a byte at a time,
 * must count the same; every message must be bounded, escaped and NUL-terminated. */
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

static void check_printable(const char *s)
{
        for (; *s; s++)
                check(*s >= 0x20 && *s < 0x7f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const char *buf = (const char *) data;
        char error[512];

        KubeListPage p = {};
        memset(error, 'X', sizeof(error));
        int r = kube_list_page_decode(buf, size, &p, error, sizeof(error));
        if (r < 0) {
                check(r == -EBADMSG || r == -EFBIG);
                check(memchr(error, 0, sizeof(error)));
                check_printable(error);
                check(!p.root);
        } else {
                check(json_is_array(p.items) && p.resource_version && *p.resource_version);
                check(!p.continue_token || *p.continue_token);
                kube_list_page_clear(&p);
        }

        size_t prefixes[] = {size, size / 2, size > 0 ? data[0] % (size + 1) : 0};
        for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
                KubeListHead h = {};
                r = kube_list_head_decode(buf, prefixes[i], &h);
                if (r < 0) {
                        check(r == -EBADMSG);
                        check(!h.resource_version && !h.continue_token && !h.first_name);
                        continue;
                }
                check(h.resource_version);
                if (h.first_name)
                        check_printable(h.first_name);
                kube_list_head_clear(&h);
        }

        KubeStatus s = {.retry_after = -1};
        kube_status_from_body(&s, buf, size);
        if (s.reason)
                check_printable(s.reason);
        if (s.message)
                check_printable(s.message);
        kube_status_clear(&s);

        KubeJsonScan whole, bytes;
        kube_json_scan_init(&whole, KUBE_STATUS_MAX);
        kube_json_scan_init(&bytes, KUBE_STATUS_MAX);
        int a = kube_json_scan(&whole, buf, size), b = 0;
        for (size_t i = 0; i < size && b == 0; i++)
                b = kube_json_scan(&bytes, buf + i, 1);
        check(a == b && whole.exceeded == bytes.exceeded);
        if (a == 0)
                check(whole.values == bytes.values && whole.depth == bytes.depth &&
                      whole.state == bytes.state);
        return 0;
}
