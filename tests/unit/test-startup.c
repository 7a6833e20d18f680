/* SPDX-License-Identifier: Apache-2.0 */
/* The start-up model: the measured table as the build generated it, and what profile_validate makes
 * of it. Whether the table is right is for tests/integration/test_startup.py, against runc itself. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "startup.h"
#include "validate.h"

static void test_runc_version_parse(void **state)
{
        unsigned a, b;
        assert_int_equal(runc_version_parse("1.1", &a, &b), 0);
        assert_true(a == 1 && b == 1);
        assert_int_equal(runc_version_parse("v1.2.3", &a, &b), 0);
        assert_true(a == 1 && b == 2);
        assert_int_equal(runc_version_parse("1", &a, &b), -EINVAL);
        assert_int_equal(runc_version_parse("1.2.3.4", &a, &b), -EINVAL);
        assert_int_equal(runc_version_parse("1..2", &a, &b), -EINVAL);
        assert_int_equal(runc_version_parse("1.x", &a, &b), -EINVAL);
        assert_int_equal(runc_version_parse("1.99999", &a, &b), -EINVAL);
        assert_int_equal(runc_version_parse("", &a, &b), -EINVAL);

        ValidateOptions o = {};
        validate_runc_version(&o, &a, &b);
        assert_true(a == RUNC_VERSION_DEFAULT_MAJOR && b == RUNC_VERSION_DEFAULT_MINOR);
}

static void test_table_is_measured_and_ordered(void **state)
{
        assert_true(startup_runc_count > 20);
        assert_true(startup_runc_version[0] && startup_runc_arch[0]);
        bool execve[2] = {};
        for (size_t i = 0; i < startup_runc_count; i++) {
                const StartupNeed *n = startup_runc + i;
                assert_true(n->runs == 0 ? n->killed == 1 : n->killed <= n->runs);
                if (i > 0) {
                        int c = strcmp(startup_runc[i - 1].name, n->name);
                        assert_true(c < 0 || (c == 0 && !startup_runc[i - 1].nnp && n->nnp));
                }
                if (strcmp(n->name, "execve") == 0) {
                        execve[n->nnp] = true;
                        assert_int_equal(n->denial, STARTUP_DENIAL_FAILS);
                }
        }
        assert_true(execve[0] && execve[1]); /* no start without execve, in either place */
}

static bool has(const char *profile, const ValidateOptions *o, DiagCode code, const char *text)
{
        Verdict v;
        assert_int_equal(profile_validate(profile, strlen(profile), o, &v), 0);
        bool found = false;
        for (size_t i = 0; i < v.diagnostics.n; i++)
                found = found || (v.diagnostics.items[i].code == code &&
                                  (!text || strstr(v.diagnostics.items[i].message, text)));
        verdict_clear(&v);
        return found;
}

#define DENY(name, action)                                                                                  \
        "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"" name                           \
        "\"],\"action\":\"" action "\"}]}"

static void test_verdicts(void **state)
{
        ValidateOptions o = {.arch = arch_from_spec("SCMP_ARCH_X86_64")};
        ValidateOptions v12 = {.arch = o.arch, .runc_major = 1, .runc_minor = 2};

        assert_true(has(DENY("execve", "SCMP_ACT_ERRNO"), &o, DIAG_CONTAINER_CANNOT_START, "execve"));
        assert_true(has(DENY("capset", "SCMP_ACT_ERRNO"), &o, DIAG_CONTAINER_NEEDS_NO_NEW_PRIVILEGES,
                        "unable to apply caps"));
        assert_false(has(DENY("capset", "SCMP_ACT_ERRNO"), &o, DIAG_CONTAINER_CANNOT_START, NULL));
        assert_true(has(DENY("capset", "SCMP_ACT_KILL"), &o, DIAG_CONTAINER_NEEDS_NO_NEW_PRIVILEGES,
                        "runc never returns"));
        assert_false(has(DENY("mkdir", "SCMP_ACT_KILL"), &o, DIAG_CONTAINER_CANNOT_START, NULL));
        assert_false(has(DENY("mkdir", "SCMP_ACT_KILL"), &o, DIAG_CONTAINER_NEEDS_NO_NEW_PRIVILEGES, NULL));
        /* errno 0 "succeeds": not modelled, never called a failure */
        assert_false(has("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"execve\"],"
                         "\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":0}]}",
                         &o, DIAG_CONTAINER_CANNOT_START, NULL));
        /* a conditional allow lets runc's calls through; a conditional deny is assumed to match them */
        assert_false(has("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[{\"names\":[\"execve\"],"
                         "\"action\":\"SCMP_ACT_ALLOW\",\"args\":[{\"index\":2,\"value\":0,\"op\":\"SCMP_"
                         "CMP_NE\"}]}]}",
                         &o, DIAG_CONTAINER_CANNOT_START, "execve"));
        assert_true(has("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"execve\"],"
                        "\"action\":\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":2,\"value\":0,\"op\":\"SCMP_CMP_"
                        "NE\"}]}]}",
                        &o, DIAG_CONTAINER_CANNOT_START, "execve"));

        const char *flags = "{\"defaultAction\":\"SCMP_ACT_LOG\",\"flags\":[\"SECCOMP_FILTER_FLAG_LOG\"]}";
        assert_true(has(flags, &o, DIAG_CONTAINER_CANNOT_START, "runc before 1.2"));
        assert_false(has(flags, &v12, DIAG_CONTAINER_CANNOT_START, NULL));
        assert_false(has("{\"defaultAction\":\"SCMP_ACT_LOG\",\"flags\":[]}", &o,
                         DIAG_CONTAINER_CANNOT_START, NULL));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_runc_version_parse),
                cmocka_unit_test(test_table_is_measured_and_ordered),
                cmocka_unit_test(test_verdicts),
        };
        cmocka_set_message_output(CM_OUTPUT_TAP);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
