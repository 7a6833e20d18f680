/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

#include "base64.h"
#include "macro.h"

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int sextet(char c)
{
        if (c >= 'A' && c <= 'Z')
                return c - 'A';
        if (c >= 'a' && c <= 'z')
                return c - 'a' + 26;
        if (c >= '0' && c <= '9')
                return c - '0' + 52;
        if (c == '+')
                return 62;
        if (c == '/')
                return 63;
        return -1;
}

/* Go's decoder skips '\r' and '\n' anywhere (encoding/base64: "New line characters are ignored"). */
static bool skipped(char c)
{
        return c == '\r' || c == '\n';
}

int base64_decode(const char *in, size_t len, uint8_t **ret, size_t *ret_len)
{
        _cleanup_free_ uint8_t *out = NULL;
        size_t n = 0, o = 0, i = 0;

        for (size_t k = 0; k < len; k++)
                n += !skipped(in[k]);
        if (n % 4 != 0)
                return -EINVAL;
        out = malloc(n / 4 * 3 + 1);
        if (!out)
                return -ENOMEM;

        for (size_t q = 0; q < n / 4; q++) {
                bool last = q + 1 == n / 4;
                int v[4];
                size_t pad = 0;

                for (size_t j = 0; j < 4; j++) {
                        while (skipped(in[i]))
                                i++;
                        char c = in[i++];
                        if (c == '=') {
                                /* Padding only at the end, only in the last two places, and nothing
                                 * but padding after it: "x===", "xx=x" and "xx==yyyy" are all refused. */
                                if (!last || j < 2)
                                        return -EINVAL;
                                pad++;
                                v[j] = 0;
                                continue;
                        }
                        if (pad > 0 || (v[j] = sextet(c)) < 0)
                                return -EINVAL;
                }
                /* Bits left over after the last byte may be non-zero: StdEncoding is not Strict. */
                uint32_t w = (uint32_t) v[0] << 18 | (uint32_t) v[1] << 12 | (uint32_t) v[2] << 6 |
                             (uint32_t) v[3];
                out[o++] = (uint8_t) (w >> 16);
                if (pad < 2)
                        out[o++] = (uint8_t) (w >> 8);
                if (pad < 1)
                        out[o++] = (uint8_t) w;
        }
        out[o] = 0;
        *ret = TAKE_PTR(out);
        *ret_len = o;
        return 0;
}

int base64_encode(const uint8_t *in, size_t len, char **ret)
{
        char *out, *p;

        if (len > (SIZE_MAX - 1) / 4 * 3 - 2)
                return -EFBIG;
        out = p = malloc((len + 2) / 3 * 4 + 1);
        if (!out)
                return -ENOMEM;
        for (size_t i = 0; i < len; i += 3) {
                size_t left = len - i;
                uint32_t w = (uint32_t) in[i] << 16 | (left > 1 ? (uint32_t) in[i + 1] << 8 : 0) |
                             (left > 2 ? (uint32_t) in[i + 2] : 0);
                *p++ = alphabet[w >> 18 & 63];
                *p++ = alphabet[w >> 12 & 63];
                *p++ = alphabet[w >> 6 & 63];
                *p++ = alphabet[w & 63];
                if (left < 3)
                        p[-1] = '=';
                if (left < 2)
                        p[-2] = '=';
        }
        *p = 0;
        *ret = out;
        return 0;
}
