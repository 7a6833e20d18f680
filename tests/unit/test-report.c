/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "kube/report.h"
#include "shared/macro.h"

/* 2026-11-28T04:53:04Z, and a bit: sub-second digits must not show. */
#define NOW  (UINT64_C(1795841584) * 1000000 + 999999)
#define NOWS "2026-11-28T04:53:04Z"

static const KubeObjectRef ref = {
        .kind = "ConfigMap",
        .namespace = "kube-system",
        .name = "seccomp-profiles",
        .uid = "6b1f0c2e-7f3a-4d5e-9a10-2c3b4d5e6f70",
        .api_version = "v1",
};

static void hash_of(const char *s, uint8_t ret[SHA256_DIGEST_SIZE])
{
        Sha256 h;
        sha256_init(&h);
        sha256_update(&h, s, strlen(s));
        sha256_final(&h, ret);
}

static bool is_alnum_lower(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* DNS-1123 subdomain as apimachinery's IsDNS1123Subdomain checks it: ≤ 253, dot-separated labels of
 * [a-z0-9-] that start and end with [a-z0-9]. */
static bool is_dns1123_subdomain(const char *s)
{
        size_t n = strlen(s);

        if (n == 0 || n > 253)
                return false;
        for (size_t i = 0; i < n; i++) {
                bool label_start = i == 0 || s[i - 1] == '.';
                bool label_end = i + 1 == n || s[i + 1] == '.';

                if (s[i] == '.') {
                        if (label_start || label_end)
                                return false; /* empty label */
                        continue;
                }
                if (!is_alnum_lower(s[i]) && s[i] != '-')
                        return false;
                if ((label_start || label_end) && !is_alnum_lower(s[i]))
                        return false;
        }
        return true;
}

static void test_validator(void **state)
{
        /* The validator itself, so a passing name test means something. */
        assert_true(is_dns1123_subdomain("a"));
        assert_true(is_dns1123_subdomain("a-b.c0"));
        assert_false(is_dns1123_subdomain(""));
        assert_false(is_dns1123_subdomain("-a"));
        assert_false(is_dns1123_subdomain("a-"));
        assert_false(is_dns1123_subdomain("a..b"));
        assert_false(is_dns1123_subdomain("a.-b"));
        assert_false(is_dns1123_subdomain("a."));
        assert_false(is_dns1123_subdomain("A"));
        assert_false(is_dns1123_subdomain("a_b"));
}

static void test_event_name_golden(void **state)
{
        char name[KUBE_EVENT_NAME_MAX + 1];
        uint8_t h[SHA256_DIGEST_SIZE];

        /* Computed in Python from the recipe in report.h: nodes running other builds must agree. */
        hash_of("profile", h);
        kube_event_name(&ref, "default.json", "ProfileRejected", h, name);
        assert_string_equal(name, "seccomp-profiles.02893f5c453316c7");
        assert_true(is_dns1123_subdomain(name));
}

static void test_event_name_fields(void **state)
{
        char base[KUBE_EVENT_NAME_MAX + 1], again[KUBE_EVENT_NAME_MAX + 1], other[KUBE_EVENT_NAME_MAX + 1];
        uint8_t h[SHA256_DIGEST_SIZE], h2[SHA256_DIGEST_SIZE];
        KubeObjectRef r = ref;

        hash_of("profile", h);
        hash_of("profile ", h2);
        kube_event_name(&ref, "default.json", "ProfileRejected", h, base);
        kube_event_name(&ref, "default.json", "ProfileRejected", h, again);
        assert_string_equal(base, again);

        r.uid = "6b1f0c2e-7f3a-4d5e-9a10-2c3b4d5e6f71";
        kube_event_name(&r, "default.json", "ProfileRejected", h, other);
        assert_string_not_equal(base, other);
        kube_event_name(&ref, "default2.json", "ProfileRejected", h, other);
        assert_string_not_equal(base, other);
        kube_event_name(&ref, "default.json", "ProfileInvalid", h, other);
        assert_string_not_equal(base, other);
        kube_event_name(&ref, "default.json", "ProfileRejected", h2, other);
        assert_string_not_equal(base, other);

        /* Moving bytes between fields changes the name: no collision by concatenation. */
        kube_event_name(&ref, "ab", "c", h, base);
        kube_event_name(&ref, "a", "bc", h, other);
        assert_string_not_equal(base, other);
        r = ref;
        r.uid = "u";
        kube_event_name(&r, "", "kr", h, base);
        r.uid = "uk";
        kube_event_name(&r, "", "r", h, other);
        assert_string_not_equal(base, other);

        /* The object name is not hashed (the uid is): it is only the readable part. */
        r = ref;
        r.name = "other";
        kube_event_name(&ref, "k", "R", h, base);
        kube_event_name(&r, "k", "R", h, other);
        assert_string_equal(strchr(base, '.'), strchr(other, '.'));
        assert_string_equal(other + strlen("other"), strchr(base, '.'));
}

static void check_long_name(const char *obj_name, size_t expected_prefix)
{
        char name[KUBE_EVENT_NAME_MAX + 1];
        uint8_t h[SHA256_DIGEST_SIZE];
        KubeObjectRef r = ref;

        assert_true(is_dns1123_subdomain(obj_name));
        hash_of("profile", h);
        r.name = obj_name;
        kube_event_name(&r, "default.json", "ProfileRejected", h, name);
        assert_true(is_dns1123_subdomain(name));
        assert_int_equal(strlen(name), expected_prefix + 1 + KUBE_EVENT_NAME_HASH_LEN);
        assert_memory_equal(name, obj_name, expected_prefix);
        assert_int_equal(name[expected_prefix], '.');
}

static void test_event_name_length(void **state)
{
        char obj[254];

        /* 253 characters: the name part is cut to 236 so the whole is exactly 253. */
        memset(obj, 'x', 253);
        obj[253] = '\0';
        check_long_name(obj, 236);

        /* A cut that ends on a dot or a dash must not leave it there. */
        obj[235] = '.';
        check_long_name(obj, 235);
        obj[235] = '-';
        obj[234] = '-';
        check_long_name(obj, 234);

        /* A name that fits is kept whole. */
        check_long_name("a.b-c", 5);
}

static void test_event_name_mended(void **state)
{
        static const char *const bad[] = {"My_Profile", "..a..b..", "-a-", "a.-b", "A-.B", "_", "", NULL};
        char name[KUBE_EVENT_NAME_MAX + 1];
        uint8_t h[SHA256_DIGEST_SIZE];
        KubeObjectRef r = ref;

        hash_of("profile", h);
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                r.name = bad[i];
                kube_event_name(&r, "k", "R", h, name);
                assert_true(is_dns1123_subdomain(name));
        }

        r.name = "My_Profile";
        kube_event_name(&r, "k", "R", h, name);
        assert_memory_equal(name, "my-profile.", strlen("my-profile."));
        r.name = "_";
        kube_event_name(&r, "k", "R", h, name);
        assert_int_equal(strlen(name), KUBE_EVENT_NAME_HASH_LEN);
}

static void test_format_time(void **state)
{
        char t[32];

        kube_format_time(NOW, t);
        assert_string_equal(t, NOWS);
        kube_format_time(0, t);
        assert_string_equal(t, "1970-01-01T00:00:00Z");
}

static void test_event_json(void **state)
{
        json_auto_t *e = NULL, *expected = NULL, *no_node = NULL;
        json_error_t err;

        e = kube_event_new(&ref, "seccomp-profiles.02893f5c453316c7", "ProfileRejected",
                           "default.json: syscalls[3].action: unknown action", "node-1", NOW);
        assert_non_null(e);
        expected =
                json_loads("{\"apiVersion\":\"v1\",\"kind\":\"Event\","
                           "\"metadata\":{\"name\":\"seccomp-profiles.02893f5c453316c7\",\"namespace\":"
                           "\"kube-system\"},"
                           "\"involvedObject\":{\"kind\":\"ConfigMap\",\"namespace\":\"kube-system\","
                           "\"name\":\"seccomp-profiles\",\"uid\":\"6b1f0c2e-7f3a-4d5e-9a10-2c3b4d5e6f70\","
                           "\"apiVersion\":\"v1\"},"
                           "\"reason\":\"ProfileRejected\","
                           "\"message\":\"default.json: syscalls[3].action: unknown action\","
                           "\"type\":\"Warning\","
                           "\"source\":{\"component\":\"seccompd\",\"host\":\"node-1\"},"
                           "\"reportingComponent\":\"seccompd\",\"reportingInstance\":\"node-1\","
                           "\"firstTimestamp\":\"" NOWS "\",\"lastTimestamp\":\"" NOWS "\",\"count\":1}",
                           0, &err);
        assert_non_null(expected);
        assert_true(json_equal(e, expected));

        /* Without a node name: no host, no reportingInstance, not nulls. */
        no_node = kube_event_new(&ref, "n.0123456789abcdef", "ProfileRejected", "m", NULL, NOW);
        assert_non_null(no_node);
        assert_int_equal(json_object_size(json_object_get(no_node, "source")), 1);
        assert_string_equal(
                json_string_value(json_object_get(json_object_get(no_node, "source"), "component")),
                "seccompd");
        assert_null(json_object_get(no_node, "reportingInstance"));
        assert_string_equal(json_string_value(json_object_get(no_node, "reportingComponent")), "seccompd");

        assert_null(kube_event_new(&ref, NULL, "R", "m", "n", NOW));
        assert_null(kube_event_new(&ref, "n", NULL, "m", "n", NOW));
}

/* The message of the Event built from message, copied to ret; returns its length. */
static size_t event_message(const char *message, char ret[2048])
{
        json_auto_t *e = kube_event_new(&ref, "n.0123456789abcdef", "R", message, "node", NOW);
        const char *m;

        assert_non_null(e);
        m = json_string_value(json_object_get(e, "message"));
        assert_non_null(m);
        assert_true(strlen(m) < 2048);
        strcpy(ret, m);
        return strlen(m);
}

static void test_event_message_cut(void **state)
{
        char in[2048], out[2048], expected[2048];

        /* 1024 bytes fit, untouched. */
        memset(in, 'a', 1024);
        in[1024] = '\0';
        assert_int_equal(event_message(in, out), 1024);
        assert_string_equal(out, in);

        /* 1024 bytes ending in a 4-byte character fit too. */
        memset(in, 'a', 1020);
        strcpy(in + 1020, "\xf0\x9f\x98\x80");
        assert_int_equal(event_message(in, out), 1024);
        assert_string_equal(out, in);

        /* One byte more: cut to 1021 bytes and "…". */
        memset(in, 'a', 1025);
        in[1025] = '\0';
        memset(expected, 'a', 1021);
        strcpy(expected + 1021, "…");
        assert_int_equal(event_message(in, out), 1024);
        assert_string_equal(out, expected);

        /* "€" (3 bytes) straddles byte 1024: it goes whole, never its first byte alone. */
        memset(in, 'a', 1022);
        strcpy(in + 1022, "€");
        assert_int_equal(event_message(in, out), 1024);
        assert_string_equal(out, expected);

        /* "é" straddles the 1021 bytes left before "…": it goes, the result is 1023 bytes. */
        memset(in, 'a', 1020);
        strcpy(in + 1020, "ébbbb");
        memset(expected, 'a', 1020);
        strcpy(expected + 1020, "…");
        assert_int_equal(event_message(in, out), 1023);
        assert_string_equal(out, expected);

        /* A 4-byte character at 1019..1022 in a 1025-byte message: 1022 bytes. */
        memset(in, 'a', 1019);
        strcpy(in + 1019, "\xf0\x9f\x98\x80"
                          "bb");
        memset(expected, 'a', 1019);
        strcpy(expected + 1019, "…");
        assert_int_equal(event_message(in, out), 1022);
        assert_string_equal(out, expected);

        /* A long message of multibyte characters only. */
        in[0] = '\0';
        for (size_t i = 0; i < 600; i++)
                strcat(in, "é");
        assert_int_equal(event_message(in, out), 1020 + 3);
        assert_string_equal(out + 1020, "…");
}

static void test_event_message_not_utf8(void **state)
{
        char out[2048];

        /* Bytes that are not UTF-8 (a stray continuation byte, an overlong '/', a surrogate, a cut
         * sequence at the end) become U+FFFD rather than losing the Event. */
        event_message("a\x80"
                      "b",
                      out);
        assert_string_equal(out, "a\xef\xbf\xbd"
                                 "b");
        event_message("\xc0\xaf", out);
        assert_string_equal(out, "\xef\xbf\xbd\xef\xbf\xbd");
        event_message("\xed\xa0\x80", out);
        assert_string_equal(out, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
        event_message("x\xe2\x82", out);
        assert_string_equal(out, "x\xef\xbf\xbd\xef\xbf\xbd");
        event_message(NULL, out);
        assert_string_equal(out, "");
}

static json_t *parse(const char *s)
{
        json_error_t err;
        json_t *j = json_loads(s, 0, &err);

        if (!j)
                fail_msg("%s: %s", s, err.text);
        return j;
}

/* Applies an RFC 6902 patch made only of "test" and "remove" to doc, as the API server would:
 * returns false if a test fails. Enough to check the patch does what it says. */
static bool apply_patch(json_t *doc, const char *patch_text)
{
        json_auto_t *patch = parse(patch_text);

        for (size_t i = 0; i < json_array_size(patch); i++) {
                const json_t *op = json_array_get(patch, i);
                const char *kind = json_string_value(json_object_get(op, "op"));
                const char *path = json_string_value(json_object_get(op, "path"));
                json_t *parent = doc, *target = NULL;
                char *copy = strdup(path), *save = NULL;
                const char *last = NULL;

                assert_non_null(copy);
                for (char *tok = strtok_r(copy, "/", &save); tok; tok = strtok_r(NULL, "/", &save)) {
                        if (last)
                                parent = json_is_array(parent)
                                                 ? json_array_get(parent, strtoul(last, NULL, 10))
                                                 : json_object_get(parent, last);
                        last = tok;
                }
                assert_non_null(parent);
                target = json_is_array(parent) ? json_array_get(parent, strtoul(last, NULL, 10))
                                               : json_object_get(parent, last);
                if (strcmp(kind, "test") == 0) {
                        if (!target || !json_equal(target, json_object_get(op, "value"))) {
                                free(copy);
                                return false;
                        }
                } else {
                        assert_string_equal(kind, "remove");
                        assert_non_null(target);
                        assert_true(json_is_array(parent));
                        assert_int_equal(json_array_remove(parent, strtoul(last, NULL, 10)), 0);
                }
                free(copy);
        }
        return true;
}

static void check_no_patch(const char *node_text)
{
        json_auto_t *node = parse(node_text);
        char *patch = (char *) "untouched";

        assert_int_equal(kube_taint_removal_patch(node, "seccompd.io/not-ready", &patch), 0);
        assert_null(patch);
        assert_false(kube_node_has_taint(node, "seccompd.io/not-ready"));
}

static void test_taint_patch_none(void **state)
{
        check_no_patch("{\"metadata\":{\"name\":\"n\",\"resourceVersion\":\"7\"}}");
        check_no_patch("{\"metadata\":{\"name\":\"n\"},\"spec\":{}}");
        check_no_patch("{\"spec\":{\"taints\":null}}");
        check_no_patch("{\"spec\":{\"taints\":[]}}");
        check_no_patch("{\"metadata\":{\"resourceVersion\":\"7\"},\"spec\":{\"taints\":"
                       "[{\"key\":\"node.kubernetes.io/not-ready\",\"effect\":\"NoSchedule\"}]}}");
}

static void test_taint_patch_one(void **state)
{
        json_auto_t *node =
                parse("{\"metadata\":{\"name\":\"n\",\"resourceVersion\":\"4711\"},"
                      "\"spec\":{\"taints\":[{\"key\":\"seccompd.io/not-ready\",\"value\":\"true\","
                      "\"effect\":\"NoSchedule\"}]}}");
        _cleanup_free_ char *patch = NULL;

        assert_true(kube_node_has_taint(node, "seccompd.io/not-ready"));
        assert_false(kube_node_has_taint(node, "seccompd.io/not"));
        assert_int_equal(kube_taint_removal_patch(node, "seccompd.io/not-ready", &patch), 0);
        assert_string_equal(
                patch,
                "[{\"op\":\"test\",\"path\":\"/metadata/resourceVersion\",\"value\":\"4711\"},"
                "{\"op\":\"test\",\"path\":\"/spec/taints/0\",\"value\":{\"key\":\"seccompd.io/not-ready\","
                "\"value\":\"true\",\"effect\":\"NoSchedule\"}},"
                "{\"op\":\"remove\",\"path\":\"/spec/taints/0\"}]");

        assert_true(apply_patch(node, patch));
        assert_int_equal(json_array_size(json_object_get(json_object_get(node, "spec"), "taints")), 0);
        assert_false(kube_node_has_taint(node, "seccompd.io/not-ready"));
}

#define T_OURS_0 "{\"key\":\"seccompd.io/not-ready\",\"effect\":\"NoSchedule\"}"
#define T_OTHER  "{\"key\":\"node.kubernetes.io/unreachable\",\"effect\":\"NoExecute\"}"
#define T_OURS_2                                                                                            \
        "{\"key\":\"seccompd.io/not-ready\",\"value\":\"x\",\"effect\":\"NoExecute\","                      \
        "\"timeAdded\":\"2026-11-28T04:00:00Z\"}"
#define T_OTHER2 "{\"key\":\"dedicated\",\"value\":\"gpu\",\"effect\":\"NoSchedule\"}"
#define T_OURS_4 "{\"key\":\"seccompd.io/not-ready\",\"effect\":\"PreferNoSchedule\"}"

static void test_taint_patch_several(void **state)
{
        json_auto_t *node =
                parse("{\"metadata\":{\"resourceVersion\":\"99\"},\"spec\":{\"taints\":[" T_OURS_0
                      "," T_OTHER "," T_OURS_2 "," T_OTHER2 "," T_OURS_4 "]}}");
        json_auto_t *got = NULL, *expected = NULL, *rest = NULL, *stale = NULL;
        _cleanup_free_ char *patch = NULL;

        assert_int_equal(kube_taint_removal_patch(node, "seccompd.io/not-ready", &patch), 0);
        got = parse(patch);
        expected = parse("[{\"op\":\"test\",\"path\":\"/metadata/resourceVersion\",\"value\":\"99\"},"
                         "{\"op\":\"test\",\"path\":\"/spec/taints/4\",\"value\":" T_OURS_4 "},"
                         "{\"op\":\"remove\",\"path\":\"/spec/taints/4\"},"
                         "{\"op\":\"test\",\"path\":\"/spec/taints/2\",\"value\":" T_OURS_2 "},"
                         "{\"op\":\"remove\",\"path\":\"/spec/taints/2\"},"
                         "{\"op\":\"test\",\"path\":\"/spec/taints/0\",\"value\":" T_OURS_0 "},"
                         "{\"op\":\"remove\",\"path\":\"/spec/taints/0\"}]");
        assert_true(json_equal(got, expected));

        /* The patch, applied, leaves exactly the other taints, in order. */
        stale = json_deep_copy(node);
        assert_true(apply_patch(node, patch));
        rest = parse("[" T_OTHER "," T_OTHER2 "]");
        assert_true(json_equal(json_object_get(json_object_get(node, "spec"), "taints"), rest));

        /* Someone edited a taint meanwhile: the patch fails rather than removing something else. */
        json_object_set_new(json_array_get(json_object_get(json_object_get(stale, "spec"), "taints"), 2),
                            "value", json_string("y"));
        assert_false(apply_patch(stale, patch));
}

static void test_taint_patch_no_resource_version(void **state)
{
        json_auto_t *node = parse("{\"spec\":{\"taints\":[" T_OTHER "," T_OURS_0 "]}}");
        _cleanup_free_ char *patch = NULL;

        assert_int_equal(kube_taint_removal_patch(node, "seccompd.io/not-ready", &patch), 0);
        assert_string_equal(patch, "[{\"op\":\"test\",\"path\":\"/spec/taints/1\",\"value\":" T_OURS_0 "},"
                                   "{\"op\":\"remove\",\"path\":\"/spec/taints/1\"}]");
}

static void test_taint_patch_malformed(void **state)
{
        static const struct {
                const char *node;
                bool has_taint; /* the taints are readable, only the metadata is not */
        } bad[] = {
                {"[]", false},
                {"{\"spec\":\"x\"}", false},
                {"{\"spec\":{\"taints\":{}}}", false},
                {"{\"spec\":{\"taints\":[1]}}", false},
                {"{\"spec\":{\"taints\":[" T_OURS_0 ",{\"effect\":\"NoSchedule\"}]}}", false},
                {"{\"spec\":{\"taints\":[{\"key\":5}]}}", false},
                {"{\"metadata\":[],\"spec\":{\"taints\":[" T_OURS_0 "]}}", true},
                {"{\"metadata\":{\"resourceVersion\":7},\"spec\":{\"taints\":[" T_OURS_0 "]}}", true},
        };
        char *patch = NULL;

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                json_auto_t *node = parse(bad[i].node);

                assert_int_equal(kube_taint_removal_patch(node, "seccompd.io/not-ready", &patch), -EINVAL);
                assert_null(patch);
                assert_int_equal(kube_node_has_taint(node, "seccompd.io/not-ready"), bad[i].has_taint);
        }
        assert_int_equal(kube_taint_removal_patch(NULL, "k", &patch), -EINVAL);
        assert_false(kube_node_has_taint(NULL, "k"));
}

#define NODE_WITH(status, ltt)                                                                              \
        "{\"status\":{\"conditions\":["                                                                     \
        "{\"type\":\"Ready\",\"status\":\"True\",\"lastTransitionTime\":\"2026-01-01T00:00:00Z\"},"         \
        "{\"type\":\"SeccompProfilesReady\",\"status\":\"" status                                           \
        "\",\"reason\":\"Old\",\"message\":\"old\","                                                        \
        "\"lastHeartbeatTime\":\"2026-11-28T04:00:00Z\",\"lastTransitionTime\":\"" ltt "\"}]}}"

static void check_condition(const char *node_text, bool status, const char *transition)
{
        json_auto_t *node = node_text ? parse(node_text) : NULL, *got = NULL, *expected = NULL;
        _cleanup_free_ char *patch = NULL;
        char text[1024];

        assert_int_equal(kube_condition_patch(node, "SeccompProfilesReady", status, "Synced",
                                              "12 profiles installed", NOW, &patch),
                         0);
        got = parse(patch);
        snprintf(text, sizeof(text),
                 "{\"status\":{\"conditions\":[{\"type\":\"SeccompProfilesReady\",\"status\":\"%s\","
                 "\"reason\":\"Synced\",\"message\":\"12 profiles installed\","
                 "\"lastHeartbeatTime\":\"" NOWS "\",\"lastTransitionTime\":\"%s\"}]}}",
                 status ? "True" : "False", transition);
        expected = parse(text);
        assert_true(json_equal(got, expected));
}

static void test_condition_patch(void **state)
{
        /* No node, or no such condition: the transition is now. */
        check_condition(NULL, true, NOWS);
        check_condition("{\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}}", true,
                        NOWS);
        check_condition("{\"metadata\":{}}", false, NOWS);

        /* Same status: the transition stays where it was. */
        check_condition(NODE_WITH("True", "2026-11-01T00:00:00Z"), true, "2026-11-01T00:00:00Z");
        check_condition(NODE_WITH("False", "2026-11-01T00:00:00Z"), false, "2026-11-01T00:00:00Z");

        /* Changed status, or from Unknown: the transition is now. */
        check_condition(NODE_WITH("True", "2026-11-01T00:00:00Z"), false, NOWS);
        check_condition(NODE_WITH("False", "2026-11-01T00:00:00Z"), true, NOWS);
        check_condition(NODE_WITH("Unknown", "2026-11-01T00:00:00Z"), true, NOWS);

        /* Unreadable node status: treated as absent. */
        check_condition("{\"status\":{\"conditions\":{}}}", true, NOWS);
}

static void test_condition_status(void **state)
{
        json_auto_t *t = parse(NODE_WITH("True", "x")), *f = parse(NODE_WITH("False", "x")),
                    *u = parse(NODE_WITH("Unknown", "x")), *none = parse("{\"status\":{}}"),
                    *bad = parse("{\"status\":{\"conditions\":[{\"type\":\"SeccompProfilesReady\"}]}}"),
                    *bad2 = parse("{\"status\":{\"conditions\":\"x\"}}");

        assert_int_equal(kube_node_condition_status(t, "SeccompProfilesReady"), 1);
        assert_int_equal(kube_node_condition_status(t, "Ready"), 1);
        assert_int_equal(kube_node_condition_status(f, "SeccompProfilesReady"), 0);
        assert_int_equal(kube_node_condition_status(u, "SeccompProfilesReady"), -ENODATA);
        assert_int_equal(kube_node_condition_status(t, "MemoryPressure"), -ENOENT);
        assert_int_equal(kube_node_condition_status(none, "SeccompProfilesReady"), -ENOENT);
        assert_int_equal(kube_node_condition_status(NULL, "SeccompProfilesReady"), -ENOENT);
        assert_int_equal(kube_node_condition_status(bad, "SeccompProfilesReady"), -EINVAL);
        assert_int_equal(kube_node_condition_status(bad2, "SeccompProfilesReady"), -EINVAL);
}

#define SEC 1000000ULL

static void test_rate_limit(void **state)
{
        KubeRateLimit l = {};
        const uint64_t t0 = 1000 * SEC, every = 300 * SEC;

        /* A fresh bucket is full: the burst goes at once, the next token one interval later. */
        for (unsigned i = 0; i < 25; i++) {
                assert_int_equal(kube_rate_limit_ready_at(&l, 25, every, t0), t0);
                assert_true(kube_rate_limit_take(&l, 25, every, t0));
        }
        assert_false(kube_rate_limit_take(&l, 25, every, t0));
        assert_int_equal(kube_rate_limit_ready_at(&l, 25, every, t0), t0 + every);
        assert_false(kube_rate_limit_take(&l, 25, every, t0 + every - 1));
        assert_true(kube_rate_limit_take(&l, 25, every, t0 + every));
        assert_false(kube_rate_limit_take(&l, 25, every, t0 + every));
        assert_int_equal(kube_rate_limit_ready_at(&l, 25, every, t0 + every), t0 + 2 * every);

        /* Idle for long: full again, but never more than the burst. */
        uint64_t later = t0 + 1000 * every;
        unsigned taken = 0;
        while (kube_rate_limit_take(&l, 25, every, later))
                taken++;
        assert_int_equal(taken, 25);

        /* Half an idle interval gives no token; ten give ten. */
        assert_false(kube_rate_limit_take(&l, 25, every, later + every / 2));
        taken = 0;
        while (kube_rate_limit_take(&l, 25, every, later + 10 * every))
                taken++;
        assert_int_equal(taken, 10);

        /* A burst of one is a plain interval; a burst of zero never gives. */
        KubeRateLimit one = {};
        assert_true(kube_rate_limit_take(&one, 1, 200000, 5));
        assert_false(kube_rate_limit_take(&one, 1, 200000, 5 + 199999));
        assert_true(kube_rate_limit_take(&one, 1, 200000, 5 + 200000));
        KubeRateLimit none = {};
        assert_false(kube_rate_limit_take(&none, 0, 200000, 5));

        /* A clock that seems to go back (another caller's "now") never underflows into "ready". */
        KubeRateLimit back = {};
        for (unsigned i = 0; i < 10; i++)
                assert_true(kube_rate_limit_take(&back, 10, SEC, 100 * SEC));
        assert_false(kube_rate_limit_take(&back, 10, SEC, 50 * SEC));
        assert_int_equal(kube_rate_limit_ready_at(&back, 10, SEC, 50 * SEC), 101 * SEC);
}

static void test_event_retry(void **state)
{
        /* 1 s, doubling, capped at 5 minutes; jittered into [d/2, d). */
        assert_int_equal(kube_event_retry_usec(1, 0), SEC / 2);
        assert_true(kube_event_retry_usec(1, 0.999999) < SEC);
        assert_int_equal(kube_event_retry_usec(2, 0), SEC);
        assert_int_equal(kube_event_retry_usec(3, 0), 2 * SEC);
        assert_int_equal(kube_event_retry_usec(9, 0), 128 * SEC);
        assert_int_equal(kube_event_retry_usec(10, 0), 150 * SEC); /* 512 s, capped at 300 s */
        assert_int_equal(kube_event_retry_usec(10, 0.999999) / SEC, 299);
        for (unsigned f = 1; f < 100000; f = f * 3 + 1)
                assert_true(kube_event_retry_usec(f, 0.5) < KUBE_EVENT_RETRY_MAX_USEC);
        assert_int_equal(kube_event_retry_usec(UINT32_MAX, 0), KUBE_EVENT_RETRY_MAX_USEC / 2);
        /* failures 0 counts as the first; a random number out of range as 0. */
        assert_int_equal(kube_event_retry_usec(0, 0), SEC / 2);
        assert_int_equal(kube_event_retry_usec(1, 1.5), SEC / 2);
        assert_int_equal(kube_event_retry_usec(1, -1), SEC / 2);

        assert_true(kube_event_accepted(0));
        assert_true(kube_event_accepted(-EEXIST));
        assert_false(kube_event_accepted(-EIO));
        assert_false(kube_event_accepted(-EAGAIN));
        assert_false(kube_event_accepted(-ETIMEDOUT));
        assert_false(kube_event_accepted(-EPERM));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_validator),
                cmocka_unit_test(test_event_name_golden),
                cmocka_unit_test(test_event_name_fields),
                cmocka_unit_test(test_event_name_length),
                cmocka_unit_test(test_event_name_mended),
                cmocka_unit_test(test_format_time),
                cmocka_unit_test(test_event_json),
                cmocka_unit_test(test_event_message_cut),
                cmocka_unit_test(test_event_message_not_utf8),
                cmocka_unit_test(test_taint_patch_none),
                cmocka_unit_test(test_taint_patch_one),
                cmocka_unit_test(test_taint_patch_several),
                cmocka_unit_test(test_taint_patch_no_resource_version),
                cmocka_unit_test(test_taint_patch_malformed),
                cmocka_unit_test(test_condition_patch),
                cmocka_unit_test(test_condition_status),
                cmocka_unit_test(test_rate_limit),
                cmocka_unit_test(test_event_retry),
        };
        cmocka_set_message_output(CM_OUTPUT_TAP);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
