/* SPDX-License-Identifier: Apache-2.0 */
/* What the API server sends, decoded under bounds (lib/kube/decode.c): the scan that refuses a
 * response before jansson builds it, the watch-stream framer, the event, list and Status decoders,
 * and what their messages say. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "kube/decode.h"
#include "shared/macro.h"

/* n copies of unit between prefix and suffix, separated by sep. */
static char *repeat(const char *prefix, const char *unit, const char *sep, size_t n, const char *suffix,
                    size_t *ret_len)
{
        size_t ul = strlen(unit), sl = strlen(sep), pl = strlen(prefix);
        size_t len = pl + n * (ul + sl) + strlen(suffix);
        char *s = malloc(len + 1), *p = s;
        assert_non_null(s);
        p = stpcpy(p, prefix);
        for (size_t i = 0; i < n; i++) {
                if (i > 0)
                        p = stpcpy(p, sep);
                p = stpcpy(p, unit);
        }
        p = stpcpy(p, suffix);
        *ret_len = (size_t) (p - s);
        return s;
}

static KubeBound scan_all(const char *s, size_t len, size_t max_bytes)
{
        KubeJsonScan scan;
        kube_json_scan_init(&scan, max_bytes);
        int r = kube_json_scan(&scan, s, len);
        assert_true(r == 0 || (r == -EFBIG && scan.exceeded != KUBE_BOUND_NONE));
        return scan.exceeded;
}

static void test_scan_bounds(void **state)
{
        size_t len;
        char *s;

        /* Exactly the bound of values is fine; one more is not. The outer array is a value too. */
        s = repeat("[", "0", ",", KUBE_JSON_VALUES_MAX - 1, "]", &len);
        assert_int_equal(scan_all(s, len, SIZE_MAX), KUBE_BOUND_NONE);
        free(s);
        s = repeat("[", "[]", ",", KUBE_JSON_VALUES_MAX, "]", &len);
        assert_int_equal(scan_all(s, len, SIZE_MAX), KUBE_BOUND_VALUES);
        free(s);
        /* Keys count: jansson spends on them as on values. */
        s = repeat("{", "\"k\":1", ",", KUBE_JSON_VALUES_MAX / 2 + 1, "}", &len);
        assert_int_equal(scan_all(s, len, SIZE_MAX), KUBE_BOUND_VALUES);
        free(s);

        s = repeat("", "[", "", KUBE_JSON_DEPTH_MAX, "", &len);
        assert_int_equal(scan_all(s, len, SIZE_MAX), KUBE_BOUND_NONE);
        free(s);
        s = repeat("", "{\"a\":", "", KUBE_JSON_DEPTH_MAX + 1, "", &len);
        assert_int_equal(scan_all(s, len, SIZE_MAX), KUBE_BOUND_DEPTH);
        free(s);
        /* Nesting that closes again does not add up. */
        s = repeat("[", "[[[]]]", ",", 1000, "]", &len);
        assert_int_equal(scan_all(s, len, SIZE_MAX), KUBE_BOUND_NONE);
        free(s);

        assert_int_equal(scan_all("\"abc\"", 5, 5), KUBE_BOUND_NONE);
        assert_int_equal(scan_all("\"abcd\"", 6, 5), KUBE_BOUND_BYTES);

        /* Brackets and quotes inside strings are text. */
        s = repeat("\"", "[{\\\"", "", 100000, "\"", &len);
        KubeJsonScan scan;
        kube_json_scan_init(&scan, SIZE_MAX);
        assert_int_equal(kube_json_scan(&scan, s, len), 0);
        assert_int_equal(scan.values, 1);
        assert_int_equal(scan.depth, 0);
        free(s);

        /* Fed a byte at a time, the same counts. */
        const char *doc = "{\"a\\\"]\":[1,-2.5e3,true,null,\"x\\\\\"],\"b\":{}}";
        KubeJsonScan whole, bytes;
        kube_json_scan_init(&whole, SIZE_MAX);
        kube_json_scan_init(&bytes, SIZE_MAX);
        assert_int_equal(kube_json_scan(&whole, doc, strlen(doc)), 0);
        for (size_t i = 0; doc[i]; i++)
                assert_int_equal(kube_json_scan(&bytes, doc + i, 1), 0);
        assert_int_equal(whole.values, 10);
        assert_int_equal(bytes.values, whole.values);
        assert_int_equal(bytes.depth, 0);
        assert_int_equal(bytes.state, whole.state);

        char text[64];
        scan.exceeded = KUBE_BOUND_BYTES;
        scan.max_bytes = 32 * 1024 * 1024;
        assert_string_equal(kube_json_scan_describe(&scan, text, sizeof(text)), "more than 32 MiB");
        scan.exceeded = KUBE_BOUND_VALUES;
        assert_string_equal(kube_json_scan_describe(&scan, text, sizeof(text)),
                            "more than 262144 JSON values");
        scan.exceeded = KUBE_BOUND_DEPTH;
        assert_string_equal(kube_json_scan_describe(&scan, text, sizeof(text)),
                            "more than 64 levels of nesting");
}

static void test_escape(void **state)
{
        char buf[64];
        assert_string_equal(kube_escape("plain \"text\"", 12, 64, buf, sizeof(buf)), "plain \"text\"");
        assert_string_equal(kube_escape("a\x1b[2J\n\\\xc3\xa9", 9, 64, buf, sizeof(buf)),
                            "a\\x1b[2J\\x0a\\\\\\xc3\\xa9");
        assert_string_equal(kube_escape("abcdef", 6, 3, buf, sizeof(buf)), "abc...");
        assert_string_equal(kube_escape("a\0b", 3, 64, buf, sizeof(buf)), "a\\x00b");
        /* A buffer too small cuts, and says so. */
        assert_string_equal(kube_escape("abcdefghij", 10, 64, buf, 8), "abcd...");
        assert_string_equal(kube_escape("abc", 3, 64, buf, 1), "");
}

typedef struct Lines {
        char got[16][64];
        size_t n;
        int fail_at; /* the callback's result at that line */
} Lines;

static int on_line(const char *line, size_t len, void *userdata)
{
        Lines *l = userdata;
        assert_true(len > 0 && len < 64 && l->n < 16);
        assert_null(memchr(line, '\n', len));
        memcpy(l->got[l->n], line, len);
        l->got[l->n][len] = 0;
        return ++l->n == (size_t) l->fail_at ? -EBADMSG : 0;
}

static void test_framer(void **state)
{
        static const char stream[] = "{\"a\":1}\n\n{\"b\":2}\n{\"c\":3}\n{\"partial";
        const size_t len = sizeof(stream) - 1;
        /* Split at every pair of places: the same three lines, the partial one kept. */
        for (size_t i = 0; i <= len; i++)
                for (size_t j = i; j <= len; j++) {
                        KubeLineFramer f = {.max = 64};
                        Lines l = {};
                        assert_int_equal(kube_line_framer_feed(&f, stream, i, on_line, &l), 0);
                        assert_int_equal(kube_line_framer_feed(&f, stream + i, j - i, on_line, &l), 0);
                        assert_int_equal(kube_line_framer_feed(&f, stream + j, len - j, on_line, &l), 0);
                        assert_int_equal(l.n, 3);
                        assert_string_equal(l.got[0], "{\"a\":1}");
                        assert_string_equal(l.got[1], "{\"b\":2}");
                        assert_string_equal(l.got[2], "{\"c\":3}");
                        assert_int_equal(f.len, strlen("{\"partial"));
                        kube_line_framer_reset(&f);
                        assert_int_equal(f.len, 0);
                        kube_line_framer_free(&f);
                }

        /* A line over the bound, whole or in pieces; a line at it is fine. */
        KubeLineFramer f = {.max = 8};
        Lines l = {};
        assert_int_equal(kube_line_framer_feed(&f, "12345678\n", 9, on_line, &l), 0);
        assert_int_equal(kube_line_framer_feed(&f, "123456789\n", 10, on_line, &l), -EFBIG);
        kube_line_framer_reset(&f);
        assert_int_equal(kube_line_framer_feed(&f, "12345", 5, on_line, &l), 0);
        assert_int_equal(kube_line_framer_feed(&f, "6789", 4, on_line, &l), -EFBIG);
        kube_line_framer_free(&f);

        /* The callback's error stops the feed there. */
        f = (KubeLineFramer){.max = 64};
        l = (Lines){.fail_at = 2};
        assert_int_equal(kube_line_framer_feed(&f, "a\nb\nc\n", 6, on_line, &l), -EBADMSG);
        assert_int_equal(l.n, 2);
        kube_line_framer_free(&f);
}

static int decode_event(const char *line, KubeWatchEvent *e, char *error, size_t size)
{
        return kube_watch_event_decode(line, strlen(line), e, error, size);
}

static void test_watch_event(void **state)
{
        KubeWatchEvent e = {};
        char error[512];

        assert_int_equal(decode_event("{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"a\","
                                      "\"resourceVersion\":\"42\"}}}",
                                      &e, error, sizeof(error)),
                         0);
        assert_int_equal(e.type, KUBE_WATCH_ADDED);
        assert_string_equal(e.resource_version, "42");
        assert_string_equal(
                json_string_value(json_object_get(json_object_get(e.object, "metadata"), "name")), "a");
        kube_watch_event_clear(&e);

        assert_int_equal(
                decode_event("{\"type\":\"BOOKMARK\",\"object\":{\"metadata\":{\"resourceVersion\":\"\"}}}",
                             &e, error, sizeof(error)),
                0);
        assert_int_equal(e.type, KUBE_WATCH_BOOKMARK);
        assert_null(e.resource_version);
        kube_watch_event_clear(&e);

        assert_int_equal(
                decode_event("{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"code\":410,\"reason\":"
                             "\"Expired\",\"message\":\"too old\\nresource version\"}}",
                             &e, error, sizeof(error)),
                0);
        assert_int_equal(e.type, KUBE_WATCH_ERROR);
        assert_int_equal(e.status.http, 410);
        assert_string_equal(e.status.reason, "Expired");
        assert_string_equal(e.status.message, "too old\\x0aresource version");
        kube_watch_event_clear(&e);

        static const struct {
                const char *line, *error;
        } bad[] = {
                {"garbage", "not JSON: '[' or '{' expected near 'garbage' at byte 7: \"garbage\""},
                {"[1]", "not an object: \"[1]\""},
                {"{\"object\":{}}", "no \"type\": \"{\"object\":{}}\""},
                {"{\"type\":\"ADDED\"}", "its \"object\" is missing: \"{\"type\":\"ADDED\"}\""},
                {"{\"type\":\"ADDED\",\"object\":[]}",
                 "its \"object\" is not an object: \"{\"type\":\"ADDED\",\"object\":[]}\""},
                {"{\"type\":\"UPSERTED\",\"object\":{}}",
                 "unknown event type \"UPSERTED\": \"{\"type\":\"UPSERTED\",\"object\":{}}\""},
                {"{\"type\":\"\\u001b[2J\",\"object\":{}}",
                 "unknown event type \"\\x1b[2J\": \"{\"type\":\"\\\\u001b[2J\",\"object\":{}}\""},
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                assert_int_equal(decode_event(bad[i].line, &e, error, sizeof(error)), -EBADMSG);
                assert_string_equal(error, bad[i].error);
                assert_null(e.root);
        }

        /* Over a bound: refused before jansson, with the excerpt cut. */
        size_t len;
        char *deep = repeat("{\"type\":\"ADDED\",\"object\":{\"a\":", "[", "", 100, "", &len);
        assert_int_equal(kube_watch_event_decode(deep, len, &e, error, sizeof(error)), -EFBIG);
        static const char head[] =
                "it holds more than 64 levels of nesting: \"{\"type\":\"ADDED\",\"object\":{\"a\":[[[";
        assert_memory_equal(error, head, strlen(head));
        assert_string_equal(error + strlen(error) - 5, "[...\"");
        assert_int_equal(strlen(error), strlen("it holds more than 64 levels of nesting: \"\"") + 64 + 3);
        free(deep);
}

static void test_list_page(void **state)
{
        KubeListPage p = {};
        char error[512];
        static const char page[] =
                "{\"kind\":\"ConfigMapList\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":"
                "\"7\",\"continue\":\"abc\"},\"items\":[{\"metadata\":{\"name\":\"a\"}}]}";
        assert_int_equal(kube_list_page_decode(page, strlen(page), &p, error, sizeof(error)), 0);
        assert_string_equal(p.resource_version, "7");
        assert_string_equal(p.continue_token, "abc");
        assert_int_equal(json_array_size(p.items), 1);
        kube_list_page_clear(&p);

        static const char last[] =
                "{\"metadata\":{\"resourceVersion\":\"7\",\"continue\":\"\"},\"items\":[]}";
        assert_int_equal(kube_list_page_decode(last, strlen(last), &p, error, sizeof(error)), 0);
        assert_null(p.continue_token);
        kube_list_page_clear(&p);

        static const char no_rv[] = "{\"metadata\":{},\"items\":[]}";
        assert_int_equal(kube_list_page_decode(no_rv, strlen(no_rv), &p, error, sizeof(error)), -EBADMSG);
        assert_string_equal(error,
                            "not a list: no metadata.resourceVersion: \"{\"metadata\":{},\"items\":[]}\"");
        static const char status[] = "{\"kind\":\"Status\",\"code\":500}";
        assert_int_equal(kube_list_page_decode(status, strlen(status), &p, error, sizeof(error)), -EBADMSG);
        assert_string_equal(error, "not a list: no \"items\" array: \"{\"kind\":\"Status\",\"code\":500}\"");
        assert_null(p.root);

        size_t len;
        char *arrays = repeat("{\"metadata\":{\"resourceVersion\":\"1\"},\"items\":[", "[]", ",", 300000,
                              "]}", &len);
        assert_int_equal(kube_list_page_decode(arrays, len, &p, error, sizeof(error)), -EFBIG);
        assert_true(strncmp(error, "it holds more than 262144 JSON values: ", 39) == 0);
        free(arrays);
}

static void test_list_head(void **state)
{
        KubeListHead h = {};
        /* A page cut off inside its first item: what is needed to skip that item. */
        static const char page[] =
                "{\"kind\":\"ConfigMapList\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":"
                "\"7\",\"continue\":\"c\\u002b1\",\"remainingItemCount\":3},\"items\":[{\"metadata\":"
                "{\"namespace\":\"ns\",\"labels\":{\"x\":\"}\"},\"name\":\"big\\u0041\",\"uid\":\"u\"},"
                "\"data\":{\"k\":\"aaaaaaaaaa";
        for (size_t cut = sizeof(page) - 1; cut > 0; cut--) {
                int r = kube_list_head_decode(page, cut, &h);
                const char *name_end = strstr(page, "\"uid\"");
                if (cut >= (size_t) (name_end - page) - 1) { /* its closing quote is in */
                        assert_int_equal(r, 0);
                        assert_string_equal(h.resource_version, "7");
                        assert_string_equal(h.continue_token, "c+1");
                        assert_string_equal(h.first_name, "bigA");
                } else if (cut > (size_t) (strstr(page, "[{") - page) + 1) {
                        /* The item has begun: skippable, though its name is not known. */
                        assert_int_equal(r, 0);
                        assert_null(h.first_name);
                } else
                        assert_int_equal(r, -EBADMSG);
                kube_list_head_clear(&h);
        }

        static const char *const bad[] = {
                "{\"items\":[{\"metadata\":{\"name\":\"a\"}}],\"metadata\":{\"resourceVersion\":\"1\"}}",
                "{\"metadata\":{\"resourceVersion\":\"1\"},\"items\":[[[[[[]]]]]]}",
                "{\"metadata\":{},\"items\":[{}]}",
                "[]",
                "{\"metadata\":{\"resourceVersion\":\"1\"},\"items\":[]}",
                "",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                assert_int_equal(kube_list_head_decode(bad[i], strlen(bad[i]), &h), -EBADMSG);

        /* metadata twice (found by fuzz-list: the first one's strings leaked): the last wins. */
        static const char twice[] =
                "{\"metadata\":{\"resourceVersion\":\"1\",\"continue\":\"a\"},\"metadata\":"
                "{\"resourceVersion\":\"2\"},\"items\":[{";
        assert_int_equal(kube_list_head_decode(twice, strlen(twice), &h), 0);
        assert_string_equal(h.resource_version, "2");
        assert_null(h.continue_token);
        kube_list_head_clear(&h);

        /* The last page: no continue token. */
        static const char last[] = "{\"metadata\":{\"resourceVersion\":\"1\"},\"items\":[{\"metadata\":{}}";
        assert_int_equal(kube_list_head_decode(last, strlen(last), &h), 0);
        assert_null(h.continue_token);
        assert_null(h.first_name);
        kube_list_head_clear(&h);
}

static void test_status_from_body(void **state)
{
        KubeStatus s = {.retry_after = -1};
        static const char status[] =
                "{\"kind\":\"Status\",\"status\":\"Failure\",\"message\":\"configmaps is "
                "forbidden: User \\\"x\\\" cannot list\",\"reason\":\"Forbidden\",\"code\":403}";
        kube_status_from_body(&s, status, strlen(status));
        assert_string_equal(s.reason, "Forbidden");
        assert_string_equal(s.message, "configmaps is forbidden: User \"x\" cannot list");
        kube_status_clear(&s);

        static const char apf[] = "Too many requests, please try again later.\n";
        kube_status_from_body(&s, apf, strlen(apf));
        assert_null(s.reason);
        assert_string_equal(s.message, "Too many requests, please try again later.");
        kube_status_clear(&s);

        static const char html[] = "<html>\x1b[2J\r\n</html>\n\n";
        kube_status_from_body(&s, html, strlen(html));
        assert_string_equal(s.message, "<html>\\x1b[2J\\x0d\\x0a</html>");
        kube_status_clear(&s);

        /* JSON that is not a Status says nothing. */
        kube_status_from_body(&s, "[]", 2);
        assert_null(s.message);
        kube_status_from_body(&s, "", 0);
        assert_null(s.message);

        /* Too deep for the bound: its start is the message, not a tree. */
        size_t len;
        char *deep = repeat("", "[", "", 1000, "", &len);
        kube_status_from_body(&s, deep, len);
        assert_int_equal(strlen(s.message), 512 + 3);
        kube_status_clear(&s);
        free(deep);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_scan_bounds),      cmocka_unit_test(test_escape),
                cmocka_unit_test(test_framer),           cmocka_unit_test(test_watch_event),
                cmocka_unit_test(test_list_page),        cmocka_unit_test(test_list_head),
                cmocka_unit_test(test_status_from_body),
        };
        cmocka_set_message_output(CM_OUTPUT_TAP);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
