/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stddef.h>

/* Every syscall runc's start (or a program's) was measured to make or need after the filter is loaded,
 * in either place runc loads it: the names of startup-runc.tsv (startup.h), generated with that table
 * by gen-startup-table.py. What `seccompd record --baseline runc` adds to a recording. */
extern const char *const baseline_runc[];
extern const size_t baseline_runc_count;

/* The same for crun (see baseline.c for how it was measured). */
extern const char *const baseline_crun[];
extern const size_t baseline_crun_count;
