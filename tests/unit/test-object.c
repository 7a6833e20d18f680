/* SPDX-License-Identifier: Apache-2.0 */
/* The decoder of "a ConfigMap or Secret → profiles" (lib/sync/object.h), fed descriptions directly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <cmocka.h>

#include "object.h"

static ObjectText text(const char *s)
{
        return (ObjectText){s, s ? strlen(s) : 0};
}

static ObjectDescription object(const char *kind, const char *ns, const char *name)
{
        return (ObjectDescription){.kind = kind, .namespace = ns, .name = name, .label = text("true")};
}

/* value NULL: a value that is not a string. */
static void add(ObjectDescription *d, ObjectField f, const char *key, const char *value)
{
        d->fields[f].present = d->fields[f].is_map = true;
        assert_int_equal(object_map_add(d->fields + f, text(key), text(value), value != NULL), 0);
}

static void add_raw(ObjectDescription *d, ObjectField f, const char *key, size_t key_len, const char *value,
                    size_t len)
{
        d->fields[f].present = d->fields[f].is_map = true;
        assert_int_equal(
                object_map_add(d->fields + f, (ObjectText){key, key_len}, (ObjectText){value, len}, true),
                0);
}

static ObjectProfiles decode_with(ObjectDescription *d, const ObjectDecodeOptions *o)
{
        ObjectProfiles p = {};
        assert_int_equal(object_decode(d, o, &p), 0);
        object_description_clear(d);
        return p;
}

static ObjectProfiles decode(ObjectDescription *d)
{
        return decode_with(d, &(ObjectDecodeOptions){});
}

static void assert_profile(const ObjectProfiles *p, size_t i, const char *path, const char *bytes,
                           bool adopt)
{
        assert_true(i < p->n);
        assert_string_equal(p->profiles[i].path, path);
        assert_int_equal(p->profiles[i].len, strlen(bytes));
        assert_memory_equal(p->profiles[i].bytes, bytes, strlen(bytes) + 1); /* NUL-terminated too */
        assert_int_equal(p->profiles[i].adopt, adopt);
}

static void assert_refusal(const ObjectProfiles *p, size_t i, const char *message, const char *path,
                           bool whole_object)
{
        assert_true(i < p->n_refusals);
        assert_string_equal(p->refusals[i].message, message);
        if (path)
                assert_string_equal(p->refusals[i].path, path);
        else
                assert_null(p->refusals[i].path);
        assert_int_equal(p->refusals[i].whole_object, whole_object);
}

static void test_configmap_fields(void **state)
{
        ObjectDescription d = object("ConfigMap", "default", "x");
        add(&d, OBJECT_DATA, "a.json", "{\"a\":1}");
        add(&d, OBJECT_BINARY_DATA, "b.json", "e30="); /* "{}" */
        add(&d, OBJECT_STRING_DATA, "c.json", "{}");   /* a Secret's field: not read */
        ObjectProfiles p = decode(&d);

        assert_int_equal(p.n, 2);
        assert_int_equal(p.n_refusals, 0);
        assert_profile(&p, 0, "a.json", "{\"a\":1}", false);
        assert_string_equal(p.profiles[0].key, "a.json");
        assert_int_equal(p.profiles[0].field, OBJECT_DATA);
        assert_string_equal(p.profiles[0].origin, "ConfigMap default/x data[a.json]");
        assert_profile(&p, 1, "b.json", "{}", false);
        assert_int_equal(p.profiles[1].field, OBJECT_BINARY_DATA);
        assert_string_equal(p.profiles[1].origin, "ConfigMap default/x binaryData[b.json]");
        assert_false(p.tenant);
        object_profiles_clear(&p);
}

static void test_secret_fields(void **state)
{
        ObjectDescription d = object("Secret", "default", "s");
        add(&d, OBJECT_DATA, "a.json", "eyJhIjoxfQ=="); /* {"a":1} */
        add(&d, OBJECT_STRING_DATA, "b.json", "{}");
        add(&d, OBJECT_BINARY_DATA, "c.json", "e30="); /* a ConfigMap's field: not read */
        ObjectProfiles p = decode(&d);

        assert_int_equal(p.n, 2);
        assert_int_equal(p.n_refusals, 0);
        assert_profile(&p, 0, "a.json", "{\"a\":1}", false);
        assert_string_equal(p.profiles[0].origin, "Secret default/s data[a.json]");
        assert_profile(&p, 1, "b.json", "{}", false);
        assert_int_equal(p.profiles[1].field, OBJECT_STRING_DATA);
        assert_string_equal(p.profiles[1].origin, "Secret default/s stringData[b.json]");
        object_profiles_clear(&p);

        /* A Secret's data is base64: text that is not is refused, not installed as it is. */
        d = object("Secret", "default", "s");
        add(&d, OBJECT_DATA, "a.json", "{}");
        p = decode(&d);
        assert_int_equal(p.n, 0);
        assert_refusal(&p, 0, "Secret default/s: data[a.json]: not valid base64", "a.json", false);
        object_profiles_clear(&p);
}

static void test_kinds_and_label(void **state)
{
        const ObjectDecodeOptions labeled = {.require_label = true};
        static const char *const ignored[] = {"Deployment", "configmap", "", NULL};
        for (size_t i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++) {
                ObjectDescription d = object(ignored[i], "default", "x");
                add(&d, OBJECT_DATA, "a.json", "{}");
                add(&d, OBJECT_DATA, "bad", "{}");
                ObjectProfiles p = decode(&d);
                assert_int_equal(p.n, 0);
                assert_int_equal(p.n_refusals, 0);
                object_profiles_clear(&p);
        }

        static const char *const labels[] = {NULL, "false", "True", "true "};
        for (size_t i = 0; i < sizeof(labels) / sizeof(labels[0]); i++) {
                ObjectDescription d = object("ConfigMap", "default", "x");
                d.label = text(labels[i]);
                add(&d, OBJECT_DATA, "a.json", "{}");
                ObjectProfiles p = decode_with(&d, &labeled);
                assert_int_equal(p.n + p.n_refusals, 0);
                object_profiles_clear(&p);
                /* The API path selected by label already (with a selector it may have chosen). */
                d = object("ConfigMap", "default", "x");
                d.label = text(labels[i]);
                add(&d, OBJECT_DATA, "a.json", "{}");
                p = decode(&d);
                assert_int_equal(p.n, 1);
                object_profiles_clear(&p);
        }

        ObjectDescription d = object("ConfigMap", "default", "x");
        add(&d, OBJECT_DATA, "a.json", "{}");
        ObjectProfiles p = decode_with(&d, &labeled);
        assert_int_equal(p.n, 1);
        object_profiles_clear(&p);
}

static void test_key_rules(void **state)
{
        ObjectDescription d = object("ConfigMap", "default", "x");
        add(&d, OBJECT_DATA, "..a.json", "{}");
        add(&d, OBJECT_DATA, "b.txt", "{}");
        add(&d, OBJECT_DATA, "d/c.json", "{}");
        add(&d, OBJECT_DATA, "", "{}");
        add(&d, OBJECT_DATA, "ok.json", "{}");
        d.fields[OBJECT_DATA].entries[3].key = (ObjectText){}; /* a YAML key that is a sequence */
        ObjectProfiles p = decode(&d);

        assert_int_equal(p.n, 1);
        assert_profile(&p, 0, "ok.json", "{}", false);
        assert_int_equal(p.n_refusals, 4);
        assert_refusal(&p, 0,
                       "ConfigMap default/x: data[..a.json]: names starting with \"..\" are reserved "
                       "(ConfigMap keys cannot start with it)",
                       NULL, false);
        assert_refusal(&p, 1, "ConfigMap default/x: data[b.txt]: a profile's name must end in \".json\"",
                       NULL, false);
        assert_refusal(&p, 2,
                       "ConfigMap default/x: data[d/c.json]: a name may contain only letters, digits, '-', "
                       "'_' and '.'",
                       NULL, false);
        assert_refusal(&p, 3, "ConfigMap default/x: data: a key that is not a string", NULL, false);
        object_profiles_clear(&p);
}

static void test_directory_annotation(void **state)
{
        ObjectDescription d = object("ConfigMap", "default", "x");
        d.directory = text("team/x");
        add(&d, OBJECT_DATA, "a.json", "{}");
        ObjectProfiles p = decode(&d);
        assert_profile(&p, 0, "team/x/a.json", "{}", false);
        object_profiles_clear(&p);

        /* Empty is none, as kubectl writes an annotation set to "". */
        d = object("ConfigMap", "default", "x");
        d.directory = text("");
        add(&d, OBJECT_DATA, "a.json", "{}");
        p = decode(&d);
        assert_profile(&p, 0, "a.json", "{}", false);
        object_profiles_clear(&p);

        static const char *const bad[][2] = {
                {"../escape", "\".\" and \"..\" are not allowed in the directory"},
                {"/abs", "the directory must be relative (no leading '/')"},
                {"a//b", "the directory has an empty component (\"//\" or a trailing '/')"},
                {"..seccompd", "directory components starting with \"..\" are reserved"},
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                char message[512];
                d = object("ConfigMap", "default", "x");
                d.directory = text(bad[i][0]);
                add(&d, OBJECT_DATA, "a.json", "{}");
                add(&d, OBJECT_DATA, "b.txt", "{}"); /* not looked at: the whole object is refused */
                p = decode(&d);
                assert_int_equal(p.n, 0);
                assert_int_equal(p.n_refusals, 1);
                (void) snprintf(message, sizeof(message),
                                "ConfigMap default/x: annotation seccompd.io/directory \"%s\": %s",
                                bad[i][0], bad[i][1]);
                assert_refusal(&p, 0, message, NULL, true);
                object_profiles_clear(&p);
        }

        /* "team\0/../x": strlen would see "team". */
        d = object("ConfigMap", "default", "x");
        d.directory = (ObjectText){"team\0/../x", 10};
        add(&d, OBJECT_DATA, "a.json", "{}");
        p = decode(&d);
        assert_int_equal(p.n, 0);
        assert_refusal(
                &p, 0,
                "ConfigMap default/x: annotation seccompd.io/directory \"team\": the value holds a NUL "
                "byte",
                NULL, true);
        object_profiles_clear(&p);
}

static void test_adopt(void **state)
{
        static const struct {
                const char *value;
                bool adopt;
        } cases[] = {{"true", true}, {NULL, false}, {"false", false}, {"True", false}, {"yes", false}};
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                ObjectDescription d = object("Secret", "default", "x");
                d.adopt = text(cases[i].value);
                add(&d, OBJECT_DATA, "a.json", "e30=");
                add(&d, OBJECT_STRING_DATA, "b.json", "{}");
                ObjectProfiles p = decode(&d);
                assert_profile(&p, 0, "a.json", "{}", cases[i].adopt);
                assert_profile(&p, 1, "b.json", "{}", cases[i].adopt);
                object_profiles_clear(&p);
        }
        ObjectDescription d = object("Secret", "default", "x");
        d.adopt = (ObjectText){"true\0", 5};
        add(&d, OBJECT_DATA, "a.json", "e30=");
        ObjectProfiles p = decode(&d);
        assert_profile(&p, 0, "a.json", "{}", false);
        object_profiles_clear(&p);
}

static void test_tenants(void **state)
{
        char *tenants[] = {"team-a", "team-b"};
        const ObjectDecodeOptions o = {.tenants = tenants, .n_tenants = 2};

        /* A tenant's files go under its namespace, and it adopts nothing. */
        ObjectDescription d = object("ConfigMap", "team-a", "t");
        d.adopt = text("true");
        add(&d, OBJECT_DATA, "x.json", "{}");
        ObjectProfiles p = decode_with(&d, &o);
        assert_true(p.tenant);
        assert_profile(&p, 0, "team-a/x.json", "{}", false);
        assert_string_equal(p.profiles[0].origin, "ConfigMap team-a/t data[x.json]");
        object_profiles_clear(&p);

        d = object("ConfigMap", "team-a", "t");
        d.directory = text("team-b/sub"); /* inside its own directory, whatever it names */
        add(&d, OBJECT_DATA, "x.json", "{}");
        p = decode_with(&d, &o);
        assert_profile(&p, 0, "team-a/team-b/sub/x.json", "{}", false);
        object_profiles_clear(&p);

        /* Refused as a key's path would be: the error names the path under the namespace. */
        d = object("Secret", "team-b", "t");
        add(&d, OBJECT_DATA, "x.json", "e30");
        p = decode_with(&d, &o);
        assert_refusal(&p, 0, "Secret team-b/t: data[x.json]: not valid base64", "team-b/x.json", false);
        object_profiles_clear(&p);

        /* An admin object may not write into a tenant's directory. */
        static const char *const inside[] = {"team-a", "team-a/x", "team-b/y/z"};
        for (size_t i = 0; i < sizeof(inside) / sizeof(inside[0]); i++) {
                char message[512];
                d = object("ConfigMap", "default", "admin");
                d.directory = text(inside[i]);
                d.adopt = text("true");
                add(&d, OBJECT_DATA, "y.json", "{}");
                p = decode_with(&d, &o);
                assert_false(p.tenant);
                assert_int_equal(p.n, 0);
                (void) snprintf(
                        message, sizeof(message),
                        "ConfigMap default/admin: conflict: annotation seccompd.io/directory \"%s\" is "
                        "inside tenant namespace %.6s's directory",
                        inside[i], inside[i]);
                assert_refusal(&p, 0, message, NULL, true);
                object_profiles_clear(&p);
        }

        /* A prefix of a tenant's name is not its directory; an admin adopts. */
        static const char *const outside[] = {"team-ab", "team", "x/team-a"};
        for (size_t i = 0; i < sizeof(outside) / sizeof(outside[0]); i++) {
                char path[64];
                d = object("ConfigMap", "default", "admin");
                d.directory = text(outside[i]);
                d.adopt = text("true");
                add(&d, OBJECT_DATA, "y.json", "{}");
                p = decode_with(&d, &o);
                (void) snprintf(path, sizeof(path), "%s/y.json", outside[i]);
                assert_int_equal(p.n_refusals, 0);
                assert_profile(&p, 0, path, "{}", true);
                object_profiles_clear(&p);
        }

        /* No tenants (the directory source): a namespace named like one is an ordinary one. */
        d = object("ConfigMap", "team-a", "t");
        add(&d, OBJECT_DATA, "x.json", "{}");
        p = decode(&d);
        assert_false(p.tenant);
        assert_profile(&p, 0, "x.json", "{}", false);
        object_profiles_clear(&p);
}

static void test_strict_base64(void **state)
{
        ObjectDescription d = object("ConfigMap", "default", "x");
        add(&d, OBJECT_BINARY_DATA, "unpadded.json", "e30");
        add(&d, OBJECT_BINARY_DATA, "url.json", "e30-");
        add(&d, OBJECT_BINARY_DATA, "space.json", "e3 0=");
        add(&d, OBJECT_BINARY_DATA, "wrapped.json", "e3\n0=");
        add(&d, OBJECT_BINARY_DATA, "empty.json", "");
        ObjectProfiles p = decode(&d);

        assert_int_equal(p.n, 2);
        assert_profile(&p, 0, "wrapped.json", "{}", false); /* Go skips line breaks */
        assert_profile(&p, 1, "empty.json", "", false);
        assert_int_equal(p.n_refusals, 3);
        assert_refusal(&p, 0, "ConfigMap default/x: binaryData[unpadded.json]: not valid base64",
                       "unpadded.json", false);
        assert_refusal(&p, 1, "ConfigMap default/x: binaryData[url.json]: not valid base64", "url.json",
                       false);
        assert_refusal(&p, 2, "ConfigMap default/x: binaryData[space.json]: not valid base64", "space.json",
                       false);
        object_profiles_clear(&p);
}

static void test_not_strings(void **state)
{
        ObjectDescription d = object("ConfigMap", "default", "x");
        add(&d, OBJECT_DATA, "a.json", NULL);
        add(&d, OBJECT_BINARY_DATA, "b.json", NULL);
        add(&d, OBJECT_DATA, "bad", NULL); /* the name is refused first */
        ObjectProfiles p = decode(&d);
        assert_int_equal(p.n, 0);
        assert_int_equal(p.n_refusals, 3);
        assert_refusal(&p, 0, "ConfigMap default/x: data[a.json]: the value is not a string", "a.json",
                       false);
        assert_refusal(&p, 1, "ConfigMap default/x: data[bad]: a profile's name must end in \".json\"", NULL,
                       false);
        assert_refusal(&p, 2, "ConfigMap default/x: binaryData[b.json]: the value is not a string", "b.json",
                       false);
        object_profiles_clear(&p);

        /* A field that is not a mapping is refused, the other field is still read. */
        d = object("Secret", "default", "s");
        d.fields[OBJECT_DATA].present = true;
        add(&d, OBJECT_STRING_DATA, "a.json", "{}");
        p = decode(&d);
        assert_int_equal(p.n, 1);
        assert_refusal(&p, 0, "Secret default/s: data is not a mapping", NULL, false);
        object_profiles_clear(&p);
}

static void test_nul(void **state)
{
        ObjectDescription d = object("ConfigMap", "default", "x");
        static const char allow[] = "{}\0{\"defaultAction\":\"SCMP_ACT_ALLOW\"}";
        add_raw(&d, OBJECT_DATA, "a.json", 6, allow, sizeof(allow) - 1);
        add_raw(&d, OBJECT_DATA, "b.json\0.txt", 11, "{}", 2); /* strlen would see "b.json" */
        add_raw(&d, OBJECT_BINARY_DATA, "c.json", 6, "e30=\0", 5);
        add_raw(&d, OBJECT_DATA, "d.json", 6, "{}", 2);
        ObjectProfiles p = decode(&d);
        assert_int_equal(p.n, 1);
        assert_profile(&p, 0, "d.json", "{}", false);
        assert_int_equal(p.n_refusals, 3);
        assert_refusal(&p, 0, "ConfigMap default/x: data[a.json]: the value holds a NUL byte", "a.json",
                       false);
        assert_refusal(&p, 1, "ConfigMap default/x: data[b.json]: the key holds a NUL byte", NULL, false);
        assert_refusal(&p, 2, "ConfigMap default/x: binaryData[c.json]: the value holds a NUL byte",
                       "c.json", false);
        object_profiles_clear(&p);

        /* Decoded binary bytes are passed on as they are, with their length: the validator judges. */
        d = object("ConfigMap", "default", "x");
        add(&d, OBJECT_BINARY_DATA, "z.json", "AHsA"); /* "\0{\0" */
        p = decode(&d);
        assert_int_equal(p.n, 1);
        assert_int_equal(p.profiles[0].len, 3);
        assert_memory_equal(p.profiles[0].bytes, "\0{\0", 4);
        object_profiles_clear(&p);
}

static void test_names_in_messages(void **state)
{
        /* A manifest may leave the namespace to kubectl, or even the name out. */
        ObjectDescription d = object("ConfigMap", NULL, NULL);
        add(&d, OBJECT_DATA, "a.json", "{}");
        add(&d, OBJECT_DATA, "b", "{}");
        ObjectProfiles p = decode_with(&d, &(ObjectDecodeOptions){.where = "dir/cm.yaml"});
        assert_string_equal(p.profiles[0].origin, "dir/cm.yaml: ConfigMap ? data[a.json]");
        assert_refusal(&p, 0, "dir/cm.yaml: ConfigMap ?: data[b]: a profile's name must end in \".json\"",
                       NULL, false);
        object_profiles_clear(&p);

        d = object("Secret", NULL, "s");
        add(&d, OBJECT_STRING_DATA, "a.json", "{}");
        p = decode_with(&d, &(ObjectDecodeOptions){.where = "s.yaml"});
        assert_string_equal(p.profiles[0].origin, "s.yaml: Secret s stringData[a.json]");
        object_profiles_clear(&p);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_configmap_fields),
                cmocka_unit_test(test_secret_fields),
                cmocka_unit_test(test_kinds_and_label),
                cmocka_unit_test(test_key_rules),
                cmocka_unit_test(test_directory_annotation),
                cmocka_unit_test(test_adopt),
                cmocka_unit_test(test_tenants),
                cmocka_unit_test(test_strict_base64),
                cmocka_unit_test(test_not_strings),
                cmocka_unit_test(test_nul),
                cmocka_unit_test(test_names_in_messages),
        };
        cmocka_set_message_output(CM_OUTPUT_TAP);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
