/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stdio.h>

#include "diag.h"

/* Exit codes every verb uses. */
enum {
        EXIT_OK = 0,
        EXIT_INVALID = 1,        /* validate/convert: a profile has errors; record: no record matched */
        EXIT_USAGE = 2,          /* usage or I/O error */
        EXIT_RUN_INCOMPLETE = 3, /* run: the sync could not be completed */
};

/* Verbs return one of these, or a negative errno that main() maps (see exit_status()). */

int verb_validate(int argc, char *argv[]);
int verb_convert(int argc, char *argv[]);
int verb_run(int argc, char *argv[]);
int verb_record(int argc, char *argv[]);
int verb_recorder(int argc, char *argv[]);

/* FILE:LINE:COL: severity: MESSAGE [code], compiler style; without a line, FILE: severity: ...
 * as_error prints warnings as errors (--strict). */
void diagnostic_print(FILE *f, const char *file, const Diagnostic *d, bool as_error);

/* Shared option parsing. */
struct option;
/* getopt_long's '?' (an option it does not know, or an argument to one that takes none) and ':' (an
 * argument missing) as one line, "seccompd VERB: unrecognized option '--x'; see 'seccompd VERB
 * --help'". For it, a verb sets opterr = 0 and starts its optstring with ':'. Returns EXIT_USAGE. */
int option_error(const char *verb, int c, char *const argv[], const struct option *options);
int parse_runtime_arg(const char *verb, const char *s, int *ret);
int parse_arch_arg(const char *verb, const char *s, const void **ret);
