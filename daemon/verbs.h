/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Exit codes every verb uses. */
enum {
        EXIT_OK = 0,
        EXIT_INVALID = 1, /* validate/convert: a profile has errors */
        EXIT_USAGE = 2,   /* usage or I/O error */
};

int verb_validate(int argc, char *argv[]);
int verb_convert(int argc, char *argv[]);

/* Shared option parsing. */
int parse_runtime_arg(const char *verb, const char *s, int *ret);
int parse_arch_arg(const char *verb, const char *s, const void **ret);
