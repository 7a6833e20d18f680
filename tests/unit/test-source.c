/* SPDX-License-Identifier: Apache-2.0 */
/* The manifest reader's bounds, on what an attacker who can write one source file would try: aliases
 * that repeat a large value, nesting that libyaml 0.2.5 scans in quadratic time, bytes that are not
 * UTF-8. Each is refused with the file's name and the position, the file's objects are not used, and
 * the set is marked incomplete so that nothing the file provided before is deleted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "shared/macro.h"
#include "source.h"

#define WHERE "m.yaml"

#define OBJECT(name)                                                                                        \
        "apiVersion: v1\n"                                                                                  \
        "kind: ConfigMap\n"                                                                                 \
        "metadata: {name: " name ", namespace: default, labels: {seccompd.io/profile: \"true\"}}\n"

/* Reads text as the manifest m.yaml into a fresh set; the caller clears it. */
static void read_manifest(const char *text, size_t len, SourceSet *s)
{
        *s = (SourceSet){.complete = true};
        assert_int_equal(source_read_manifest(WHERE, text, len, s), 0);
}

/* The set holds no profile, is incomplete, and its last error starts with prefix and contains what. */
static void assert_refused(const SourceSet *s, const char *prefix, const char *what)
{
        assert_int_equal(s->n, 0);
        assert_false(s->complete);
        assert_true(s->n_errors > 0);
        const char *e = s->errors[s->n_errors - 1].message;
        print_message("# %s\n", e);
        assert_true(strncmp(e, prefix, strlen(prefix)) == 0);
        assert_non_null(strstr(e, what));
}

/* head, n times open, m times close, tail. */
static char *nested(const char *head, char open, size_t n, char close, size_t m, const char *tail)
{
        size_t h = strlen(head), t = strlen(tail);
        char *s = malloc(h + n + m + t + 1);
        assert_non_null(s);
        memcpy(s, head, h);
        memset(s + h, open, n);
        memset(s + h + n, close, m);
        memcpy(s + h + n + m, tail, t + 1);
        return s;
}

static void test_aliases_refused(void **state)
{
        /* The file's first object is fine; the second repeats one anchored value through an alias,
         * which is how a 1 MiB file asks for gigabytes. Nothing of the file is used. */
        static const char text[] = OBJECT("fine") "data: {ok.json: '{}'}\n"
                                                  "---\n" OBJECT("bomb") "data:\n"
                                                                         "  first.json: &p '{}'\n"
                                                                         "  second.json: *p\n";
        SourceSet s;
        read_manifest(text, strlen(text), &s);
        assert_refused(&s, WHERE ":11:16: ", "alias");
        source_set_clear(&s);

        /* An alias as a key too. */
        static const char key[] = OBJECT("k") "data: {&k a.json: '{}', *k : '{}'}\n";
        read_manifest(key, strlen(key), &s);
        assert_refused(&s, WHERE ":4:25: ", "alias");
        source_set_clear(&s);

        /* An anchor alone repeats nothing: accepted. */
        static const char anchor[] = OBJECT("a") "data: {a.json: &x '{}'}\n";
        read_manifest(anchor, strlen(anchor), &s);
        assert_int_equal(s.n, 1);
        assert_true(s.complete);
        source_set_clear(&s);
}

static void test_nesting_bounded(void **state)
{
        SourceSet s;

        /* 64 levels (the root mapping and 63 sequences) are read; the object is used. */
        _cleanup_free_ char *text =
                nested(OBJECT("d") "data: {ok.json: '{}'}\nextra: ", '[', 63, ']', 63, "\n");
        read_manifest(text, strlen(text), &s);
        assert_int_equal(s.n_errors, 0);
        assert_int_equal(s.n, 1);
        assert_true(s.complete);
        source_set_clear(&s);

        /* One more: refused at the 65th collection, line 5 column 8 + 63. */
        _cleanup_free_ char *over =
                nested(OBJECT("d") "data: {ok.json: '{}'}\nextra: ", '[', 64, ']', 64, "\n");
        read_manifest(over, strlen(over), &s);
        assert_refused(&s, WHERE ":5:71: ", "nesting deeper than 64 levels");
        source_set_clear(&s);

        /* Block collections count the same. */
        static const char block[] =
                OBJECT("b") "data: {ok.json: '{}'}\n"
                            "extra:\n"
                            "- - - - - - - - - - - - - - - - - - - - - - - - - - - - - - "
                            "- - - - - - - - - - - - - - - - - - - - - - - - - - - - - - "
                            "- - - - x\n";
        read_manifest(block, strlen(block), &s);
        assert_refused(&s, WHERE ":6:127: ", "nesting deeper than 64 levels");
        source_set_clear(&s);

        /* Deep flow nesting is refused where the bound is crossed, while parsing: libyaml 0.2.5 spends
         * time quadratic in the depth on it (0.6 s for 20k levels, minutes for a few MiB). */
        _cleanup_free_ char *deep = nested("", '[', 20000, ']', 20000, "\n");
        read_manifest(deep, strlen(deep), &s);
        assert_refused(&s, WHERE ":1:65: ", "nesting deeper than 64 levels");
        source_set_clear(&s);
}

static void test_invalid_utf8_position(void **state)
{
        /* libyaml decodes ahead of the scanner and gives a reader error's place as a byte offset, not
         * a mark: the position must still be the byte's line and column (in characters, as libyaml
         * counts them). */
        static const char text[] = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: \"\xc3\xa4\xff\"}\n";
        SourceSet s;
        read_manifest(text, strlen(text), &s);
        assert_refused(&s, WHERE ":3:20: ", "invalid leading UTF-8 octet");
        source_set_clear(&s);

        /* Line breaks as YAML counts them: CR LF is one, a lone CR is one. */
        static const char crlf[] = "apiVersion: v1\r\nkind: ConfigMap\rmetadata: {name: x\x80}\n";
        read_manifest(crlf, strlen(crlf), &s);
        assert_refused(&s, WHERE ":3:19: ", "invalid leading UTF-8 octet");
        source_set_clear(&s);

        /* A control character is a reader error too; a byte order mark is not a column. */
        static const char control[] = "\xef\xbb\xbfkind: ConfigMap\nmetadata:\n  name: a\x01\n";
        read_manifest(control, strlen(control), &s);
        assert_refused(&s, WHERE ":3:10: ", "control characters are not allowed");
        source_set_clear(&s);

        /* UTF-16, which libyaml reads after its byte order mark: "k: v", then "x" and a lone low
         * surrogate. */
        static const char utf16[] = "\xff\xfek\0:\0 \0v\0\r\0\n\0x\0\0\xdc";
        read_manifest(utf16, sizeof(utf16) - 1, &s);
        assert_refused(&s, WHERE ":2:2: ", "unexpected low surrogate area");
        source_set_clear(&s);
}

static void test_syntax_error_uses_nothing_of_the_file(void **state)
{
        /* A file that cannot be read whole is not used, even the objects before the error: the same
         * for every file-level problem. */
        static const char text[] = OBJECT("fine") "data: {ok.json: '{}'}\n"
                                                  "---\n"
                                                  "kind: [unterminated\n";
        SourceSet s;
        read_manifest(text, strlen(text), &s);
        assert_refused(&s, WHERE ":", "not valid YAML");
        source_set_clear(&s);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_aliases_refused),
                cmocka_unit_test(test_nesting_bounded),
                cmocka_unit_test(test_invalid_utf8_position),
                cmocka_unit_test(test_syntax_error_uses_nothing_of_the_file),
        };
        cmocka_set_message_output(CM_OUTPUT_TAP);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
