/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "json.h"
#include "shared/macro.h"

static JsonDoc *parse_ok(const char *s)
{
        JsonDoc *d = NULL;
        JsonError e = {};
        assert_int_equal(json_parse(s, strlen(s), &d, &e), 0);
        return d;
}

static void parse_fails_at(const char *s, unsigned line, unsigned column, const char *needle)
{
        JsonDoc *d = NULL;
        JsonError e = {};
        assert_int_equal(json_parse(s, strlen(s), &d, &e), -EBADMSG);
        assert_null(d);
        assert_int_equal(e.line, line);
        assert_int_equal(e.column, column);
        assert_non_null(strstr(e.message, needle));
}

static void test_uint64_full_range(void **state)
{
        _cleanup_(json_doc_freep) JsonDoc *d = parse_ok("[18446744073709551615, 9223372036854775808, 0]");
        const JsonValue *a = json_doc_root(d);
        uint64_t v;
        assert_int_equal(json_number_to_u64(a->array.items[0], UINT64_MAX, &v), JSON_INT_OK);
        assert_true(v == UINT64_MAX);
        assert_int_equal(json_number_to_u64(a->array.items[1], UINT64_MAX, &v), JSON_INT_OK);
        assert_true(v == 9223372036854775808ULL);
        assert_int_equal(json_number_to_u64(a->array.items[2], UINT64_MAX, &v), JSON_INT_OK);
        assert_true(v == 0);
}

static void test_integer_forms_go_refuses(void **state)
{
        _cleanup_(json_doc_freep) JsonDoc *d =
                parse_ok("[-1, -0, 1.0, 1e3, 1E+2, 18446744073709551616, 4096]");
        const JsonValue *a = json_doc_root(d);
        uint64_t v = 7;
        assert_int_equal(json_number_to_u64(a->array.items[0], UINT64_MAX, &v), JSON_INT_NEGATIVE);
        assert_int_equal(json_number_to_u64(a->array.items[1], UINT64_MAX, &v), JSON_INT_NEGATIVE);
        assert_int_equal(json_number_to_u64(a->array.items[2], UINT64_MAX, &v), JSON_INT_NOT_INTEGER);
        assert_int_equal(json_number_to_u64(a->array.items[3], UINT64_MAX, &v), JSON_INT_NOT_INTEGER);
        assert_int_equal(json_number_to_u64(a->array.items[4], UINT64_MAX, &v), JSON_INT_NOT_INTEGER);
        assert_int_equal(json_number_to_u64(a->array.items[5], UINT64_MAX, &v), JSON_INT_RANGE);
        assert_int_equal(json_number_to_u64(a->array.items[6], 4095, &v), JSON_INT_RANGE);
        assert_true(v == 7); /* untouched on failure */
}

static void test_duplicate_keys_kept_in_order(void **state)
{
        _cleanup_(json_doc_freep) JsonDoc *d = parse_ok("{\"a\": 1, \"a\": 2, \"b\": 3}");
        const JsonValue *o = json_doc_root(d);
        assert_int_equal(o->object.n, 3);
        assert_string_equal(o->object.members[0].key, "a");
        assert_string_equal(o->object.members[1].key, "a");
        assert_string_equal(o->object.members[1].value->number.text, "2");
}

static void test_positions(void **state)
{
        _cleanup_(json_doc_freep) JsonDoc *d = parse_ok("{\n  \"k\":\n      \"v\"\n}");
        const JsonMember *m = json_doc_root(d)->object.members;
        assert_int_equal(m->line, 2);
        assert_int_equal(m->column, 3);
        assert_int_equal(m->value->line, 3);
        assert_int_equal(m->value->column, 7);
}

static void test_strings_decoded_like_go(void **state)
{
        /* Escapes, a surrogate pair, a lone surrogate and an invalid byte (both become U+FFFD). */
        _cleanup_(json_doc_freep) JsonDoc *d =
                parse_ok("[\"a\\n\\u00e9\\ud83d\\ude00\", \"\\ud800x\", \"\xff\"]");
        const JsonValue *a = json_doc_root(d);
        assert_string_equal(a->array.items[0]->string.s, "a\n\xc3\xa9\xf0\x9f\x98\x80");
        assert_string_equal(a->array.items[1]->string.s, "\xef\xbf\xbdx");
        assert_string_equal(a->array.items[2]->string.s, "\xef\xbf\xbd");
}

static void test_syntax_errors(void **state)
{
        parse_fails_at("wrong", 1, 1, "invalid character 'w' looking for beginning of value");
        parse_fails_at("{\"a\": 1,}", 1, 9, "looking for beginning of object key string");
        parse_fails_at("{\"a\": 01}", 1, 8, "after object key:value pair");
        parse_fails_at("[1] x", 1, 5, "after top-level value");
        parse_fails_at("{\n\"a\": \"x\ny\"}", 2, 8, "in string literal");
        parse_fails_at("", 1, 1, "unexpected end of JSON input");
        parse_fails_at("\xef\xbb\xbf{}", 1, 1, "invalid character"); /* Go refuses a BOM too */
}

static void test_depth_limit(void **state)
{
        char deep[2 * (JSON_MAX_DEPTH + 2) + 1];
        memset(deep, '[', JSON_MAX_DEPTH + 2);
        memset(deep + JSON_MAX_DEPTH + 2, ']', JSON_MAX_DEPTH + 2);
        deep[sizeof(deep) - 1] = 0;
        parse_fails_at(deep, 1, JSON_MAX_DEPTH + 2, "nesting deeper");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_uint64_full_range),
                cmocka_unit_test(test_integer_forms_go_refuses),
                cmocka_unit_test(test_duplicate_keys_kept_in_order),
                cmocka_unit_test(test_positions),
                cmocka_unit_test(test_strings_decoded_like_go),
                cmocka_unit_test(test_syntax_errors),
                cmocka_unit_test(test_depth_limit),
        };
        cmocka_set_message_output(CM_OUTPUT_TAP);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
