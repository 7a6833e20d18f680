/* SPDX-License-Identifier: Apache-2.0 */
/* The manifest reader on files it cannot read whole: refused with the file's name and the position,
 * the file's objects are not used, and the set is marked incomplete so that nothing the file provided
 * before is deleted. */
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
        const char *e = s->errors[s->n_errors - 1];
        print_message("# %s\n", e);
        assert_true(strncmp(e, prefix, strlen(prefix)) == 0);
        assert_non_null(strstr(e, what));
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
                cmocka_unit_test(test_syntax_error_uses_nothing_of_the_file),
        };
        cmocka_set_message_output(CM_OUTPUT_TAP);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
