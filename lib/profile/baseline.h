/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stddef.h>

/* What runc's own init calls after it has loaded the container's filter, before and including the
 * execve of the workload. Measured on Debian 12 (runc 1.1.5, x86_64) from SECCOMP audit records of a
 * container started under {"defaultAction":"SCMP_ACT_LOG"} with the printk rate limit lifted
 * (../shared/reference/seccomp-profiles.md, "What runc 1.1.5's init needed"). A profile whose default
 * blocks and that denies these stops the container before the workload runs. */
extern const char *const baseline_runc[];
extern const size_t baseline_runc_count;

/* The same for crun (see baseline.c for how it was measured). */
extern const char *const baseline_crun[];
extern const size_t baseline_crun_count;

/* Without these the runtime cannot start the workload at all, whatever the rest. */
extern const char *const baseline_essential[];
extern const size_t baseline_essential_count;
