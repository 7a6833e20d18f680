/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Flatten a Docker- or containers/common-format profile to plain OCI JSON for one node: name -> names,
 * archMap -> architectures for the node's arch, includes/excludes/minKernel resolved for its kernel and
 * the container's capabilities (moby's semantics, seccomp_linux.go setupSeccomp), errno names ->
 * numbers. The result is what containerd reads as it is: nothing in it is silently ignored. */

#include "diag.h"
#include "tables.h"
#include "validate.h"

typedef struct ConvertOptions {
        Runtime runtime;         /* selects the default capabilities */
        const ArchInfo *arch;    /* NULL: this machine's */
        const char *const *caps; /* NULL: the runtime's default container capabilities */
        size_t n_caps;
        unsigned kernel_major, kernel_minor; /* 0.0: the running kernel */
} ConvertOptions;

/* Returns 0 with the JSON document in *ret (NUL-terminated, newline at the end), -EINVAL when the input
 * has errors (they are in *d), or another negative errno. */
int profile_convert(const char *buf, size_t len, const ConvertOptions *o, Diagnostics *d, char **ret);
