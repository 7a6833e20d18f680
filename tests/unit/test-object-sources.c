/* SPDX-License-Identifier: Apache-2.0 */
/* The same object through both readers: written as a manifest for the directory source
 * (source_read_manifest, libyaml) and as the API server sends it (object_description_from_json,
 * jansson, as daemon/kube-source.c reads it). Both must give the same profiles (paths, bytes, adopt,
 * origins) and the same refusals. Each case also says what it expects, so that two readers wrong the
 * same way do not pass. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <cmocka.h>
#include <jansson.h>

#include "kube/object-json.h"
#include "object.h"
#include "source.h"

#define WHERE "m.yaml"

typedef struct Case {
        const char *what;
        const char *yaml;
        const char *json;
        const char *paths[4];    /* expected, in order */
        const char *refusals[4]; /* expected, in order, without the "m.yaml: " prefix */
} Case;

static const Case cases[] = {
        {
                .what = "ConfigMap: data is text, binaryData base64, under the directory; adopt",
                .yaml = "apiVersion: v1\n"
                        "kind: ConfigMap\n"
                        "metadata:\n"
                        "  name: audit\n"
                        "  namespace: default\n"
                        "  labels: {seccompd.io/profile: \"true\"}\n"
                        "  annotations: {seccompd.io/directory: team/x, seccompd.io/adopt: \"true\"}\n"
                        "data:\n"
                        "  a.json: '{\"defaultAction\":\"SCMP_ACT_LOG\"}'\n"
                        "  u.json: \"{\\\"k\\\":\\\"\\u00e4\\\"}\"\n"
                        "binaryData:\n"
                        "  b.json: e30=\n"
                        "stringData: {s.json: '{}'}\n",
                .json = "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"audit\","
                        "\"namespace\":\"default\",\"labels\":{\"seccompd.io/profile\":\"true\"},"
                        "\"annotations\":{\"seccompd.io/directory\":\"team/x\",\"seccompd.io/"
                        "adopt\":\"true\"}},"
                        "\"data\":{\"a.json\":\"{\\\"defaultAction\\\":\\\"SCMP_ACT_LOG\\\"}\","
                        "\"u.json\":\"{\\\"k\\\":\\\"\xc3\xa4\\\"}\"},"
                        "\"binaryData\":{\"b.json\":\"e30=\"},\"stringData\":{\"s.json\":\"{}\"}}",
                .paths = {"team/x/a.json", "team/x/u.json", "team/x/b.json"},
        },
        {
                .what = "Secret: data is base64 (strict), stringData text; adopt only for \"true\"",
                .yaml = "apiVersion: v1\n"
                        "kind: Secret\n"
                        "metadata: {name: s, namespace: apps, labels: {seccompd.io/profile: \"true\"},\n"
                        "  annotations: {seccompd.io/adopt: \"True\"}}\n"
                        "data: {good.json: eyJhIjoxfQ==, x.json: e30, wrapped.json: \"e3\\n0=\"}\n"
                        "stringData: {plain.json: '{}'}\n"
                        "binaryData: {b.json: e30=}\n",
                .json = "{\"kind\":\"Secret\",\"metadata\":{\"name\":\"s\",\"namespace\":\"apps\","
                        "\"labels\":{\"seccompd.io/profile\":\"true\"},"
                        "\"annotations\":{\"seccompd.io/adopt\":\"True\"}},"
                        "\"data\":{\"good.json\":\"eyJhIjoxfQ==\",\"x.json\":\"e30\",\"wrapped.json\":"
                        "\"e3\\n0=\"},"
                        "\"stringData\":{\"plain.json\":\"{}\"},\"binaryData\":{\"b.json\":\"e30=\"}}",
                .paths = {"good.json", "wrapped.json", "plain.json"},
                .refusals = {"Secret apps/s: data[x.json]: not valid base64"},
        },
        {
                .what = "keys: names refused, values that are not strings refused",
                .yaml = "kind: ConfigMap\n"
                        "metadata: {name: k, namespace: default, labels: {seccompd.io/profile: \"true\"}}\n"
                        "data:\n"
                        "  ..a.json: x\n"
                        "  b.txt: x\n"
                        "  list.json: [1]\n"
                        "  ok.json: '{}'\n"
                        "binaryData: {map.json: {a: b}}\n",
                .json = "{\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"k\",\"namespace\":\"default\","
                        "\"labels\":{\"seccompd.io/profile\":\"true\"}},"
                        "\"data\":{\"..a.json\":\"x\",\"b.txt\":\"x\",\"list.json\":[1],\"ok.json\":\"{}\"},"
                        "\"binaryData\":{\"map.json\":{\"a\":\"b\"}}}",
                .paths = {"ok.json"},
                .refusals = {"ConfigMap default/k: data[..a.json]: names starting with \"..\" are reserved "
                             "(ConfigMap keys cannot start with it)",
                             "ConfigMap default/k: data[b.txt]: a profile's name must end in \".json\"",
                             "ConfigMap default/k: data[list.json]: the value is not a string",
                             "ConfigMap default/k: binaryData[map.json]: the value is not a string"},
        },
        {
                .what = "a NUL in a value refuses the key (strlen would cut it short)",
                .yaml = "kind: ConfigMap\n"
                        "metadata: {name: n, namespace: default, labels: {seccompd.io/profile: \"true\"}}\n"
                        "data: {nul.json: \"{}\\0{\\\"defaultAction\\\":\\\"SCMP_ACT_ALLOW\\\"}\", ok.json: "
                        "'{}'}\n"
                        "binaryData: {b.json: \"e30=\\0\"}\n",
                .json = "{\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"n\",\"namespace\":\"default\","
                        "\"labels\":{\"seccompd.io/profile\":\"true\"}},"
                        "\"data\":{\"nul.json\":\"{}\\u0000{\\\"defaultAction\\\":\\\"SCMP_ACT_ALLOW\\\"}\","
                        "\"ok.json\":\"{}\"},\"binaryData\":{\"b.json\":\"e30=\\u0000\"}}",
                .paths = {"ok.json"},
                .refusals = {"ConfigMap default/n: data[nul.json]: the value holds a NUL byte",
                             "ConfigMap default/n: binaryData[b.json]: the value holds a NUL byte"},
        },
        {
                .what = "a directory annotation that escapes refuses the whole object",
                .yaml = "kind: ConfigMap\n"
                        "metadata: {name: x, namespace: default, labels: {seccompd.io/profile: \"true\"},\n"
                        "  annotations: {seccompd.io/directory: ../escape}}\n"
                        "data: {a.json: '{}', b.txt: x}\n",
                .json = "{\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"x\",\"namespace\":\"default\","
                        "\"labels\":{\"seccompd.io/profile\":\"true\"},"
                        "\"annotations\":{\"seccompd.io/directory\":\"../escape\"}},"
                        "\"data\":{\"a.json\":\"{}\",\"b.txt\":\"x\"}}",
                .refusals =
                        {"ConfigMap default/x: annotation seccompd.io/directory \"../escape\": \".\" and "
                         "\"..\" are not allowed in the directory"},
        },
        {
                .what = "an empty directory is none; a field that is not a mapping is refused alone",
                .yaml = "kind: Secret\n"
                        "metadata: {name: e, labels: {seccompd.io/profile: \"true\"},\n"
                        "  annotations: {seccompd.io/directory: \"\"}}\n"
                        "data: [e30=]\n"
                        "stringData: {a.json: '{}'}\n",
                .json = "{\"kind\":\"Secret\",\"metadata\":{\"name\":\"e\","
                        "\"labels\":{\"seccompd.io/profile\":\"true\"},"
                        "\"annotations\":{\"seccompd.io/directory\":\"\"}},"
                        "\"data\":[\"e30=\"],\"stringData\":{\"a.json\":\"{}\"}}",
                .paths = {"a.json"},
                .refusals = {"Secret e: data is not a mapping"},
        },
};

static char *prefixed(const char *text)
{
        char *s = NULL;
        assert_true(asprintf(&s, "%s: %s", WHERE, text) >= 0);
        return s;
}

static void test_same_object_both_ways(void **state)
{
        for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
                const Case *k = cases + c;
                SourceSet yaml = {.complete = true};
                ObjectDescription d = {};
                ObjectProfiles api = {};
                json_error_t e;

                print_message("# %s\n", k->what);
                assert_int_equal(source_read_manifest(WHERE, k->yaml, strlen(k->yaml), &yaml), 0);
                assert_true(yaml.complete);

                /* As the reflector parses and kube-source.c decodes: no label required (the selector
                 * did it), the message prefix only to compare the texts whole. */
                json_t *obj = json_loads(k->json, JSON_ALLOW_NUL, &e);
                if (!obj)
                        fail_msg("case %zu: %s", c, e.text);
                assert_int_equal(object_description_from_json(obj, NULL, &d), 0);
                assert_int_equal(object_decode(&d, &(ObjectDecodeOptions){.where = WHERE}, &api), 0);

                size_t n = 0, n_refusals = 0;
                while (n < 4 && k->paths[n])
                        n++;
                while (n_refusals < 4 && k->refusals[n_refusals])
                        n_refusals++;
                assert_int_equal(yaml.n, n);
                assert_int_equal(api.n, n);
                for (size_t i = 0; i < n; i++) {
                        const SourceProfile *y = yaml.items + i;
                        const ObjectProfile *a = api.profiles + i;
                        assert_string_equal(y->path, k->paths[i]);
                        assert_string_equal(a->path, k->paths[i]);
                        assert_int_equal(y->len, a->len);
                        assert_memory_equal(y->bytes, a->bytes, a->len + 1);
                        assert_int_equal(y->adopt, a->adopt);
                        assert_string_equal(y->origin, a->origin);
                }
                assert_int_equal(yaml.n_errors, n_refusals);
                assert_int_equal(api.n_refusals, n_refusals);
                for (size_t i = 0; i < n_refusals; i++) {
                        char *expected = prefixed(k->refusals[i]);
                        assert_string_equal(yaml.errors[i].message, expected);
                        assert_string_equal(api.refusals[i].message, expected);
                        free(expected);
                }

                object_profiles_clear(&api);
                object_description_clear(&d);
                json_decref(obj);
                source_set_clear(&yaml);
        }
}

/* The bytes themselves, once: both readers hand over exactly what the object holds. */
static void test_bytes(void **state)
{
        static const char yaml[] = "kind: ConfigMap\n"
                                   "metadata: {name: b, labels: {seccompd.io/profile: \"true\"}}\n"
                                   "data: {t.json: \"\\u00e4\\n\"}\n"
                                   "binaryData: {z.json: AHsA}\n";
        static const char json[] =
                "{\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"b\"},"
                "\"data\":{\"t.json\":\"\\u00e4\\n\"},\"binaryData\":{\"z.json\":\"AHsA\"}}";
        SourceSet s = {.complete = true};
        ObjectDescription d = {};
        ObjectProfiles p = {};
        json_t *obj = json_loads(json, JSON_ALLOW_NUL, NULL);

        assert_int_equal(source_read_manifest(WHERE, yaml, sizeof(yaml) - 1, &s), 0);
        assert_non_null(obj);
        assert_int_equal(object_description_from_json(obj, "ConfigMap", &d), 0);
        assert_int_equal(object_decode(&d, &(ObjectDecodeOptions){}, &p), 0);
        assert_int_equal(s.n, 2);
        assert_int_equal(p.n, 2);
        assert_int_equal(s.items[0].len, 3);
        assert_memory_equal(s.items[0].bytes, "\xc3\xa4\n", 3);
        assert_memory_equal(p.profiles[0].bytes, "\xc3\xa4\n", 3);
        assert_int_equal(s.items[1].len, 3);
        assert_memory_equal(s.items[1].bytes, "\0{\0", 3);
        assert_int_equal(p.profiles[1].len, 3);
        assert_memory_equal(p.profiles[1].bytes, "\0{\0", 3);
        assert_string_equal(p.profiles[1].origin, "ConfigMap b binaryData[z.json]");

        object_profiles_clear(&p);
        object_description_clear(&d);
        json_decref(obj);
        source_set_clear(&s);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_same_object_both_ways),
                cmocka_unit_test(test_bytes),
        };
        cmocka_set_message_output(CM_OUTPUT_TAP);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
