/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "cache.h"

static const char profile[] = "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"mkdir\"],"
                              "\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":0}]}";

static void validate(VerdictCache *c, const ValidateOptions *o, const char *buf, bool expect_hit, Verdict *v)
{
        bool hit = !expect_hit;
        assert_int_equal(profile_validate_cached(c, buf, strlen(buf), o, v, &hit), 0);
        assert_int_equal(hit, expect_hit);
}

static void test_hit_returns_same_verdict(void **state)
{
        _cleanup_(verdict_cache_freep) VerdictCache *c = NULL;
        ValidateOptions o = {.runtime = RUNTIME_CONTAINERD};
        Verdict a, b;

        assert_int_equal(verdict_cache_new(8, &c), 0);
        validate(c, &o, profile, false, &a);
        validate(c, &o, profile, true, &b);
        assert_int_equal(a.valid, b.valid);
        assert_int_equal(a.bpf_instructions, b.bpf_instructions);
        assert_int_equal(a.diagnostics.n, b.diagnostics.n);
        assert_true(a.diagnostics.n > 0);
        for (size_t i = 0; i < a.diagnostics.n; i++) {
                assert_int_equal(a.diagnostics.items[i].code, b.diagnostics.items[i].code);
                assert_string_equal(a.diagnostics.items[i].message, b.diagnostics.items[i].message);
        }
        verdict_clear(&a);
        verdict_clear(&b);
}

static void test_key_covers_options(void **state)
{
        _cleanup_(verdict_cache_freep) VerdictCache *c = NULL;
        ValidateOptions o = {.runtime = RUNTIME_CONTAINERD};
        const char *allowed[] = {"/run/a.sock"};
        Verdict v;

        assert_int_equal(verdict_cache_new(64, &c), 0);
        validate(c, &o, profile, false, &v);
        verdict_clear(&v);
        o.runtime = RUNTIME_CRIO;
        validate(c, &o, profile, false, &v);
        verdict_clear(&v);
        o.arch = arch_from_spec("SCMP_ARCH_AARCH64");
        validate(c, &o, profile, false, &v);
        verdict_clear(&v);
        o.allow_notify = allowed;
        o.n_allow_notify = 1;
        validate(c, &o, profile, false, &v);
        verdict_clear(&v);
        validate(c, &o, profile, true, &v);
        verdict_clear(&v);
        /* One byte more is another profile. */
        validate(c, &o, "{\"defaultAction\":\"SCMP_ACT_ALLOW\"} ", false, &v);
        verdict_clear(&v);
}

static void test_bounded(void **state)
{
        _cleanup_(verdict_cache_freep) VerdictCache *c = NULL;
        ValidateOptions o = {.runtime = RUNTIME_CONTAINERD};
        char buf[128];
        Verdict v;

        assert_int_equal(verdict_cache_new(4, &c), 0);
        for (int i = 0; i < 50; i++) {
                snprintf(buf, sizeof(buf), "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":%d}",
                         i + 1);
                validate(c, &o, buf, false, &v);
                verdict_clear(&v);
        }
        /* The first one was evicted long ago: judged again, not served stale. */
        validate(c, &o, "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":1}", false, &v);
        verdict_clear(&v);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_hit_returns_same_verdict),
                cmocka_unit_test(test_key_covers_options),
                cmocka_unit_test(test_bounded),
        };
        cmocka_set_message_output(CM_OUTPUT_TAP);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
