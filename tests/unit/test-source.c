/* SPDX-License-Identifier: Apache-2.0 */
/* The manifest reader's bounds, on what an attacker who can write one source file would try: aliases
 * that repeat a large value, nesting that libyaml 0.2.5 scans in quadratic time, bytes that are not
 * UTF-8. Each is refused with the file's name and the position, the file's objects are not used, and
 * the set is marked incomplete so that nothing the file provided before is deleted.
 *
 * And what it reads beside profiles (issue 13): the items of a List as objects, why an object of a
 * kind seccompd reads gives nothing, and where each profile and problem is in the file. */
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

static void test_list_items_are_objects(void **state)
{
        /* kubectl get cm -o yaml: a List of objects; the API's ConfigMapList leaves kind out of its
         * items (apimachinery fills it in from the list's kind); a List inside a List is no object
         * kubectl applies. Bounded as documents are: the items are nodes of one document. */
        static const char text[] =
                "apiVersion: v1\n"
                "kind: List\n"
                "items:\n"
                "- apiVersion: v1\n"
                "  kind: ConfigMap\n"
                "  metadata: {name: a, namespace: ns, labels: {seccompd.io/profile: \"true\"}}\n"
                "  data: {a.json: '{}'}\n"
                "- kind: List\n"
                "  items: [{kind: ConfigMap, metadata: {name: nested, labels: "
                "{seccompd.io/profile: \"true\"}}, data: {n.json: '{}'}}]\n"
                "- just a string\n"
                "metadata: {resourceVersion: \"\"}\n"
                "---\n"
                "apiVersion: v1\n"
                "kind: ConfigMapList\n"
                "items:\n"
                "- metadata: {name: b, labels: {seccompd.io/profile: \"true\"}}\n"
                "  data: {b.json: '{}'}\n"
                "- apiVersion: v1\n" /* names apiVersion: not filled in */
                "  metadata: {name: c, labels: {seccompd.io/profile: \"true\"}}\n"
                "  data: {c.json: '{}'}\n";
        SourceSet s;
        read_manifest(text, strlen(text), &s);
        assert_true(s.complete);
        assert_int_equal(s.n_errors, 0);
        assert_int_equal(s.n, 2);
        assert_string_equal(s.items[0].origin, WHERE ": ConfigMap ns/a data[a.json]");
        assert_string_equal(s.items[0].object.namespace, "ns");
        assert_string_equal(s.items[1].origin, WHERE ": ConfigMap b data[b.json]");
        assert_null(s.items[1].object.namespace);
        source_set_clear(&s);

        /* Bounded like any document: a List nesting past the bound refuses the file. */
        char *deep = nested("kind: List\nitems: ", '[', MANIFEST_MAX_DEPTH, ']', MANIFEST_MAX_DEPTH, "\n");
        read_manifest(deep, strlen(deep), &s);
        assert_refused(&s, WHERE ":2:", "nesting deeper than 64 levels");
        source_set_clear(&s);
        free(deep);
}

static void test_ignored_objects_say_why(void **state)
{
        static const char text[] = "kind: ConfigMap\n"
                                   "metadata: {name: plain}\n"
                                   "data: {settings.ini: x}\n"
                                   "---\n"
                                   "kind: ConfigMap\n"
                                   "metadata: {name: forgot}\n"
                                   "data: {p.json: '{}'}\n"
                                   "---\n"
                                   "kind: Secret\n"
                                   "metadata:\n"
                                   "  name: yes\n"
                                   "  labels: {seccompd.io/profile: \"yes\"}\n"
                                   "data: {p.json: e30=}\n"
                                   "---\n"
                                   "kind: ConfigMap\n"
                                   "metadata: {name: empty, labels: {seccompd.io/profile: \"true\"}}\n"
                                   "stringData: {p.json: '{}'}\n"
                                   "---\n"
                                   "kind: Pod\n"
                                   "metadata: {name: not-ours}\n";
        SourceSet s;
        read_manifest(text, strlen(text), &s);
        assert_true(s.complete);
        assert_int_equal(s.n, 0);
        assert_int_equal(s.n_errors, 0); /* the daemon logs nothing for them */
        assert_int_equal(s.n_notes, 4);
        for (size_t i = 0; i < s.n_notes; i++)
                print_message("# %u:%u %s\n", s.notes[i].line, s.notes[i].column, s.notes[i].message);

        const SourceProblem *n = s.notes;
        assert_int_equal(n[0].kind, SOURCE_OBJECT_UNLABELED);
        assert_false(n[0].looks_like_profiles);
        assert_int_equal(n[0].line, 1);
        assert_int_equal(n[0].column, 1);
        assert_string_equal(n[0].object.name, "plain");
        assert_ptr_equal(n[0].text, n[0].message + strlen(WHERE ": "));
        assert_true(strncmp(n[0].text, "ConfigMap plain: not labeled seccompd.io/profile: \"true\"", 53) ==
                    0);
        assert_non_null(strstr(n[0].text,
                               "each key of data and binaryData (base64) is then one profile, its "
                               "name ending in \".json\""));

        assert_int_equal(n[1].kind, SOURCE_OBJECT_UNLABELED);
        assert_true(n[1].looks_like_profiles);
        assert_int_equal(n[1].line, 5);

        /* The label's value, where it is; a Secret's fields, and the API's --secrets. */
        assert_int_equal(n[2].kind, SOURCE_OBJECT_LABEL_VALUE);
        assert_true(n[2].looks_like_profiles);
        assert_int_equal(n[2].line, 12);
        assert_int_equal(n[2].column, 33);
        assert_string_equal(n[2].object.kind, "Secret");
        assert_non_null(strstr(n[2].text, "label seccompd.io/profile is \"yes\", not \"true\""));
        assert_non_null(strstr(n[2].text, "data (base64) and stringData"));
        assert_non_null(strstr(n[2].text, "--secrets"));

        /* A ConfigMap's stringData is not read (the API server has no such field for it). */
        assert_int_equal(n[3].kind, SOURCE_OBJECT_EMPTY);
        assert_string_equal(n[3].text,
                            "ConfigMap empty: labeled seccompd.io/profile: \"true\" but no key in data "
                            "or binaryData (base64), so seccompd has no profile to install from it");
        source_set_clear(&s);
}

/* What the recorder agent writes: ignored by the daemon (no profile, no error), read for validate. */
static void test_recordings(void **state)
{
        static const char text[] = "kind: ConfigMap\n"
                                   "metadata:\n"
                                   "  name: seccompd-recording-web\n"
                                   "  namespace: seccompd-system\n"
                                   "  labels: {seccompd.io/recording: web}\n"
                                   "  annotations: {seccompd.io/recording-complete: \"true\"}\n"
                                   "data: {web.json: '{\"defaultAction\":\"SCMP_ACT_LOG\"}'}\n"
                                   "---\n"
                                   "kind: ConfigMap\n"
                                   "metadata:\n"
                                   "  name: partial\n"
                                   "  labels: {seccompd.io/recording: db}\n"
                                   "  annotations:\n"
                                   "    seccompd.io/recording-complete: \"false\"\n"
                                   "    seccompd.io/recording-incomplete-reason: \"lost\\nrecords\"\n"
                                   "data: {db.json: '{}'}\n"
                                   "---\n"
                                   "kind: ConfigMap\n"
                                   "metadata: {name: nothing, labels: {seccompd.io/recording: x}}\n"
                                   "---\n"
                                   "kind: Secret\n"
                                   "metadata: {name: s, labels: {seccompd.io/recording: s}}\n"
                                   "data: {s.json: e30=}\n";
        SourceSet s;
        read_manifest(text, strlen(text), &s);
        assert_int_equal(s.n, 0); /* the daemon: nothing to install, nothing to log */
        assert_int_equal(s.n_errors, 0);
        assert_int_equal(s.n_notes, 4);
        assert_int_equal(s.notes[0].kind, SOURCE_OBJECT_RECORDING);
        assert_int_equal(s.notes[1].kind, SOURCE_OBJECT_RECORDING_INCOMPLETE);
        assert_int_equal(s.notes[2].kind, SOURCE_OBJECT_RECORDING); /* its keys are not read */
        assert_int_equal(s.notes[3].kind, SOURCE_OBJECT_UNLABELED); /* recordings are ConfigMaps */
        source_set_clear(&s);

        s = (SourceSet){.complete = true, .read_recordings = true};
        assert_int_equal(source_read_manifest(WHERE, text, strlen(text), &s), 0);
        assert_int_equal(s.n, 2);
        assert_string_equal(s.items[0].path, "web.json");
        assert_string_equal(s.items[0].origin,
                            WHERE ": ConfigMap seccompd-system/seccompd-recording-web data[web.json]");
        assert_string_equal(s.items[1].path, "db.json");
        assert_int_equal(s.n_notes, 4);
        const SourceProblem *n = s.notes;
        for (size_t i = 0; i < s.n_notes; i++)
                print_message("# %u:%u %s\n", n[i].line, n[i].column, n[i].message);
        assert_int_equal(n[0].kind, SOURCE_OBJECT_RECORDING);
        assert_int_equal(n[0].line, 5); /* at the label */
        assert_int_equal(n[0].column, 35);
        assert_string_equal(
                n[0].text,
                "ConfigMap seccompd-system/seccompd-recording-web: a complete recording of \"web\" "
                "(seccompd.io/recording), not installed: seccompd installs only objects labeled "
                "seccompd.io/profile: \"true\"; `kubectl label configmap seccompd-recording-web -n "
                "seccompd-system seccompd.io/profile=true` installs it");
        assert_int_equal(n[1].kind, SOURCE_OBJECT_RECORDING_INCOMPLETE);
        /* The reason as given, a control character (a forged line) made harmless. */
        assert_non_null(strstr(n[1].text,
                               "an incomplete recording of \"db\" (seccompd.io/recording-complete: "
                               "\"false\"): lost?records; "));
        assert_non_null(strstr(n[1].text, "`kubectl label configmap partial seccompd.io/profile=true`"));
        /* A recording with no key gives nothing to install, once labeled either: an error. */
        assert_int_equal(n[2].kind, SOURCE_OBJECT_EMPTY);
        assert_string_equal(n[2].text,
                            "ConfigMap nothing: a recording of \"x\" (seccompd.io/recording) with no "
                            "key in data or binaryData (base64), so there is no profile to install "
                            "from it");
        assert_int_equal(n[3].kind, SOURCE_OBJECT_UNLABELED);
        source_set_clear(&s);
}

static void test_positions(void **state)
{
        /* Each profile's key, and where its bytes stand verbatim: checked against the bytes. */
        static const char text[] = "\xef\xbb\xbf" /* a byte order mark: not a column */
                                   "kind: ConfigMap\n"
                                   "metadata: {name: p, labels: {seccompd.io/profile: \"true\"}}\n"
                                   "data:\n"
                                   "  block.json: |\n" /* 4 */
                                   "      {\n"
                                   "\n"
                                   "        \"k\": 1\r\n" /* CR LF: one break */
                                   "      }\n"
                                   "  line.json: '{\"k\": 1}'\n" /* 9 */
                                   "  plain.json: 1\n"
                                   "  quoted.json: \"{\\\"k\\\": 1}\"\n"
                                   "  twice.json: '{''}'\n"
                                   "  folded.json: >\n"
                                   "    {\n"
                                   "    }\n"
                                   "  \xc3\xa4.json: x\n" /* refused: not a key character */
                                   "binaryData:\n"
                                   "  b64.json: e30=\n";
        SourceSet s;
        read_manifest(text, strlen(text), &s);
        for (size_t i = 0; i < s.n_errors; i++)
                print_message("# %s\n", s.errors[i].message);
        assert_int_equal(s.n, 7);
        static const struct {
                const char *key;
                unsigned line, column, verbatim_line, verbatim_column;
        } expected[] = {
                {"block.json", 4, 3, 5, 7},   {"line.json", 9, 3, 9, 15},  {"plain.json", 10, 3, 10, 15},
                {"quoted.json", 11, 3, 0, 0}, {"twice.json", 12, 3, 0, 0}, {"folded.json", 13, 3, 0, 0},
                {"b64.json", 18, 3, 0, 0},
        };
        for (size_t i = 0; i < s.n; i++) {
                const SourceProfile *p = s.items + i;
                print_message("# %s %u:%u verbatim %u:%u\n", p->key, p->place.line, p->place.column,
                              p->place.verbatim_line, p->place.verbatim_column);
                assert_string_equal(p->key, expected[i].key);
                assert_int_equal(p->place.line, expected[i].line);
                assert_int_equal(p->place.column, expected[i].column);
                assert_int_equal(p->place.verbatim_line, expected[i].verbatim_line);
                assert_int_equal(p->place.verbatim_column, expected[i].verbatim_column);
        }
        assert_int_equal(s.items[0].len, strlen("{\n\n  \"k\": 1\n}\n"));
        assert_int_equal(s.n_errors, 1);
        assert_int_equal(s.errors[0].kind, SOURCE_OBJECT_REFUSED);
        assert_string_equal(s.errors[0].at, "data[\xc3\xa4.json]");
        assert_int_equal(s.errors[0].line, 16);
        assert_int_equal(s.errors[0].column, 3);
        source_set_clear(&s);

        /* Many scalars on one line, after a character of two bytes: found in one walk (each from the
         * line's start would be quadratic in the line), each at its byte column. */
        char *wide = malloc(64 * 1024);
        assert_non_null(wide);
        size_t n = (size_t) snprintf(wide, 64 * 1024,
                                     "{kind: ConfigMap, metadata: {name: w, labels: {seccompd.io/profile: "
                                     "\"true\"}, annotations: {x: \"\xc3\xa4\"}}, data: {");
        for (int i = 0; i < 2000; i++)
                n += (size_t) snprintf(wide + n, 64 * 1024 - n, "%sk%d.json: '{}'", i ? ", " : "", i);
        n += (size_t) snprintf(wide + n, 64 * 1024 - n, "}}\n");
        read_manifest(wide, n, &s);
        assert_int_equal(s.n, 2000);
        for (size_t i = 0; i < s.n; i++) {
                const ObjectPlace *p = &s.items[i].place;
                char key[32];
                int k = snprintf(key, sizeof(key), "k%zu.json: '", i);
                const char *at = strstr(wide, key);
                assert_non_null(at);
                assert_int_equal(p->verbatim_line, 1);
                assert_int_equal(p->verbatim_column, (unsigned) (at - wide) + (unsigned) k + 1);
                assert_int_equal(p->column, (unsigned) (at - wide)); /* characters: the "ä" is one */
        }
        source_set_clear(&s);
        free(wide);

        /* UTF-16: libyaml's positions are not the bytes', nothing is mapped. */
        static const char utf16[] = "\xff\xfek\0:\0 \0v\0\n\0";
        read_manifest(utf16, sizeof(utf16) - 1, &s);
        assert_int_equal(s.n, 0);
        source_set_clear(&s);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_aliases_refused),
                cmocka_unit_test(test_nesting_bounded),
                cmocka_unit_test(test_invalid_utf8_position),
                cmocka_unit_test(test_syntax_error_uses_nothing_of_the_file),
                cmocka_unit_test(test_list_items_are_objects),
                cmocka_unit_test(test_ignored_objects_say_why),
                cmocka_unit_test(test_positions),
                cmocka_unit_test(test_recordings),
        };
        cmocka_set_message_output(CM_OUTPUT_TAP);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
