/* SPDX-License-Identifier: Apache-2.0 */
/* The distance behind every "did you mean": swaps of adjacent letters are one edit (issue 13:
 * "clsoe" was two edits from "close", past the bound, and got no suggestion), the bound answers
 * early, and untrusted input of any length costs no more than a short name. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "shared/edit-distance.h"
#include "syscalls.h"

static void test_edits(void **state)
{
        assert_int_equal(edit_distance("close", "close", 3), 0);
        assert_int_equal(edit_distance("sycalls", "syscalls", 3), 1); /* insertion */
        assert_int_equal(edit_distance("syscalls", "sycalls", 3), 1); /* deletion */
        assert_int_equal(edit_distance("clone", "close", 3), 1);      /* substitution */
        assert_int_equal(edit_distance("clsoe", "close", 3), 1);      /* swap */
        assert_int_equal(edit_distance("mkdri", "mkdir", 3), 1);
        assert_int_equal(edit_distance("ab", "ba", 3), 1);
        assert_int_equal(edit_distance("", "abc", 5), 3);
        assert_int_equal(edit_distance("abc", "", 5), 3);
        assert_int_equal(edit_distance("kitten", "sitting", 5), 3);
        /* Optimal string alignment, not full Damerau-Levenshtein: a swapped pair is not edited again
         * ("ca" → "ac" → "abc" would be 2). */
        assert_int_equal(edit_distance("ca", "abc", 5), 3);
        assert_int_equal(edit_distance("abcdef", "uvwxyz", 10), 6);
}

static void test_bounded(void **state)
{
        /* Over the bound: limit+1, whatever the true distance. */
        assert_int_equal(edit_distance("abcdef", "uvwxyz", 2), 3);
        assert_int_equal(edit_distance("a", "abcdef", 2), 3); /* the lengths alone decide */
        assert_int_equal(edit_distance("clsoe", "close", 0), 1);
        assert_int_equal(edit_distance("close", "close", 0), 0);

        /* The longest string considered, and one byte more. */
        char a[EDIT_DISTANCE_MAX_LEN + 1], b[EDIT_DISTANCE_MAX_LEN + 1];
        memset(a, 'x', sizeof(a));
        memcpy(b, a, sizeof(b));
        a[EDIT_DISTANCE_MAX_LEN - 1] = b[EDIT_DISTANCE_MAX_LEN - 1] = 0;
        b[0] = 'y';
        assert_int_equal(edit_distance(a, a, 3), 0);
        assert_int_equal(edit_distance(a, b, 3), 1);
        a[EDIT_DISTANCE_MAX_LEN - 1] = 'x';
        a[EDIT_DISTANCE_MAX_LEN] = 0;
        assert_int_equal(edit_distance(a, a, 3), 4);
}

static void test_syscall_suggestions(void **state)
{
        static const struct {
                const char *typo, *suggestion;
        } cases[] = {
                {"clsoe", "close"},           {"opne", "open"},
                {"exit_gruop", "exit_group"}, {"rt_sigactoin", "rt_sigaction"},
                {"mkdri", "mkdir"},           {"epoll_wiat", "epoll_wait"},
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                SyscallClass c = syscall_classify(cases[i].typo);
                print_message("# %s -> %s\n", cases[i].typo, c.suggestion ?: "(none)");
                assert_int_equal(c.kind, SYSCALL_NOT_LINUX);
                assert_non_null(c.suggestion);
                assert_string_equal(c.suggestion, cases[i].suggestion);
        }
        /* Nothing is near a name a third of whose letters would have to change. */
        assert_null(syscall_classify("qqqqqq").suggestion);

        /* A 1 MiB name (the largest profile) is compared as no name at all. */
        size_t n = 1024 * 1024;
        char *huge = malloc(n + 1);
        assert_non_null(huge);
        memset(huge, 'a', n);
        huge[n] = 0;
        memcpy(huge, "close", 5);
        SyscallClass c = syscall_classify(huge);
        assert_int_equal(c.kind, SYSCALL_NOT_LINUX);
        assert_null(c.suggestion);
        free(huge);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_edits),
                cmocka_unit_test(test_bounded),
                cmocka_unit_test(test_syscall_suggestions),
        };
        cmocka_set_message_output(CM_OUTPUT_TAP);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
