/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <cmocka.h>

#include "shared/base64.h"

static void assert_decodes(const char *in, const char *expected, size_t expected_len)
{
        uint8_t *out = NULL;
        size_t len = 0;
        assert_int_equal(base64_decode(in, strlen(in), &out, &len), 0);
        assert_int_equal(len, expected_len);
        assert_memory_equal(out, expected, expected_len);
        assert_int_equal(out[len], 0); /* NUL-terminated, not counted */
        free(out);
}

static void assert_rejected(const char *in, size_t len)
{
        uint8_t *out = (uint8_t *) "untouched";
        size_t n = 42;
        assert_int_equal(base64_decode(in, len, &out, &n), -EINVAL);
        assert_string_equal((const char *) out, "untouched");
        assert_int_equal(n, 42);
}

static void assert_encodes(const char *in, const char *expected)
{
        char *out = NULL;
        assert_int_equal(base64_encode((const uint8_t *) in, strlen(in), &out), 0);
        assert_string_equal(out, expected);
        free(out);
}

/* RFC 4648 §10 test vectors, both ways. */
static void test_rfc4648_vectors(void **state)
{
        static const char *const v[][2] = {
                {"", ""},
                {"f", "Zg=="},
                {"fo", "Zm8="},
                {"foo", "Zm9v"},
                {"foob", "Zm9vYg=="},
                {"fooba", "Zm9vYmE="},
                {"foobar", "Zm9vYmFy"},
        };
        for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
                assert_encodes(v[i][0], v[i][1]);
                assert_decodes(v[i][1], v[i][0], strlen(v[i][0]));
        }
}

static void test_round_trip_all_bytes(void **state)
{
        uint8_t in[256 * 3];
        for (size_t i = 0; i < sizeof(in); i++)
                in[i] = (uint8_t) (i * 7 + i / 256);
        /* Every length up to a few quanta, so every padding case meets every byte value. */
        for (size_t len = 0; len <= sizeof(in); len += len < 16 ? 1 : 97) {
                char *enc = NULL;
                uint8_t *dec = NULL;
                size_t n;
                assert_int_equal(base64_encode(in, len, &enc), 0);
                assert_int_equal(strlen(enc), (len + 2) / 3 * 4);
                assert_int_equal(base64_decode(enc, strlen(enc), &dec, &n), 0);
                assert_int_equal(n, len);
                assert_memory_equal(dec, in, len);
                free(enc);
                free(dec);
        }
}

static void test_binary_with_nul(void **state)
{
        /* "\0\xff\0" → "AP8A" */
        assert_decodes("AP8A", "\0\xff\0", 3);
        char *enc = NULL;
        assert_int_equal(base64_encode((const uint8_t *) "\0\xff\0", 3, &enc), 0);
        assert_string_equal(enc, "AP8A");
        free(enc);
}

/* What Go's base64.StdEncoding accepts that a strict decoder would not. */
static void test_go_leniency(void **state)
{
        /* Non-zero bits after the last byte (Go's Strict mode alone refuses these). */
        assert_decodes("YR==", "a", 1);
        assert_decodes("YWJ=", "ab", 2);
        /* Line breaks are skipped anywhere, even inside the padding. */
        assert_decodes("Zm9v\nYmFy\n", "foobar", 6);
        assert_decodes("Zm9v\r\nYg=\n=", "foob", 4);
        assert_decodes("\n", "", 0);
}

static void test_rejects(void **state)
{
        /* wrong length: padding is required */
        assert_rejected("Zg", 2);
        assert_rejected("Zg=", 3);
        assert_rejected("Zm9vY", 5);
        assert_rejected("Zm9\nv Y", 7);
        /* bad padding */
        assert_rejected("Z===", 4);
        assert_rejected("====", 4);
        assert_rejected("Zg=a", 4);
        assert_rejected("Zg==Zm9v", 8); /* data after padding */
        assert_rejected("Zm8=Zm8=", 8);
        /* bad characters: URL alphabet, white space other than line breaks, NUL, 8-bit */
        assert_rejected("Zm-_", 4);
        assert_rejected("Zm9v Zm9v", 9);
        assert_rejected("Zm9v\tZm9", 8);
        assert_rejected("Zm\0v", 4);
        assert_rejected("Zm\xc3\xa9", 4);
        assert_rejected("Zm9v!!!!", 8);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_rfc4648_vectors), cmocka_unit_test(test_round_trip_all_bytes),
                cmocka_unit_test(test_binary_with_nul), cmocka_unit_test(test_go_leniency),
                cmocka_unit_test(test_rejects),
        };
        cmocka_set_message_output(CM_OUTPUT_TAP);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
