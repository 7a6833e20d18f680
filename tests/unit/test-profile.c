/* SPDX-License-Identifier: Apache-2.0 */
/* Go encoding/json semantics, as containerd and CRI-O decode profiles. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "profile.h"

static Profile *parse(const char *s, Diagnostics *d)
{
        Profile *p = NULL;
        assert_int_equal(profile_parse(s, strlen(s), d, &p), 0);
        return p;
}

static void test_last_duplicate_wins_and_null_keeps_strings(void **state)
{
        Diagnostics d = {};
        _cleanup_(profile_freep) Profile *p =
                parse("{\"defaultAction\":\"A\",\"defaultAction\":\"B\",\"defaultAction\":null}", &d);
        assert_string_equal(p->default_action, "B");
        assert_true(diagnostics_has(&d, DIAG_DUPLICATE_KEY));
        diagnostics_clear(&d);
}

static void test_null_clears_slices_and_pointers(void **state)
{
        Diagnostics d = {};
        _cleanup_(profile_freep) Profile *p = parse("{\"defaultErrnoRet\":5,\"defaultErrnoRet\":null,"
                                                    "\"architectures\":[\"X\"],\"architectures\":null}",
                                                    &d);
        assert_null(p->default_errno_ret);
        assert_int_equal(p->architectures.n, 0);
        assert_false(p->architectures.non_null);
        diagnostics_clear(&d);
}

static void test_duplicate_array_decodes_into_existing_elements(void **state)
{
        /* Go reuses slice elements: errnoRet from the first array survives the second. */
        Diagnostics d = {};
        _cleanup_(profile_freep) Profile *p =
                parse("{\"syscalls\":[{\"names\":[\"a\"],\"errnoRet\":7},{\"names\":[\"b\"]}],"
                      "\"syscalls\":[{\"names\":[\"c\"]}]}",
                      &d);
        assert_int_equal(p->syscalls.n, 1);
        assert_string_equal(p->syscalls.items[0].names.items[0], "c");
        assert_non_null(p->syscalls.items[0].errno_ret);
        assert_true(*p->syscalls.items[0].errno_ret == 7);
        diagnostics_clear(&d);
}

static void test_case_folding(void **state)
{
        Diagnostics d = {};
        /* U+212A KELVIN SIGN folds to k in Go. */
        _cleanup_(profile_freep) Profile *p =
                parse("{\"DEFAULTACTION\":\"X\",\"syscalls\":[{\"names\":[\"a\"],\"action\":\"Y\","
                      "\"args\":[{\"index\":1,\"op\":\"Z\",\"valuetwo\":3}]}],\"flags\":[],"
                      "\"listenerMetadata\":\"m\",\"\xe2\x84\xaa\":1}",
                      &d);
        assert_string_equal(p->default_action, "X");
        assert_true(p->syscalls.items[0].args.items[0].value_two == 3);
        assert_true(p->flags.non_null);
        assert_true(diagnostics_has(&d, DIAG_KEY_CASE));
        assert_true(diagnostics_has(&d, DIAG_UNKNOWN_KEY)); /* a lone Kelvin sign matches no field */
        diagnostics_clear(&d);
}

static void test_type_errors_keep_decoding(void **state)
{
        Diagnostics d = {};
        _cleanup_(profile_freep) Profile *p = parse(
                "{\"defaultAction\":[],\"syscalls\":[{\"names\":\"read\",\"action\":\"SCMP_ACT_ALLOW\"}]}",
                &d);
        assert_null(p->default_action);
        assert_string_equal(p->syscalls.items[0].action, "SCMP_ACT_ALLOW");
        assert_int_equal(diagnostics_count(&d, SEVERITY_ERROR), 2);
        assert_string_equal(d.items[1].path, "syscalls[0].names");
        assert_int_equal(d.items[1].line, 1);
        diagnostics_clear(&d);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_last_duplicate_wins_and_null_keeps_strings),
                cmocka_unit_test(test_null_clears_slices_and_pointers),
                cmocka_unit_test(test_duplicate_array_decodes_into_existing_elements),
                cmocka_unit_test(test_case_folding),
                cmocka_unit_test(test_type_errors_keep_decoding),
        };
        cmocka_set_message_output(CM_OUTPUT_TAP);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
