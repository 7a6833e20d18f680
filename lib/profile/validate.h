/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Validate a profile the way the node's runtime will read it: decode it as Go does, check it against
 * what containerd or CRI-O and then runc make of it, and build the real filter with libseccomp.
 *
 * Phases, each its own module:
 *   profile.c  bytes -> model (Go encoding/json semantics)          -> json-*, unknown-key, ...
 *   check.c    model -> findings that need no filter                 -> actions, args, errno, notify, names
 *   resolve.c  model -> what the runtime hands runc (plain OCI view) -> includes/excludes, archMap, errno
 *   compile.c  OCI view -> libseccomp filter with runc's semantics   -> libseccomp-rejected,
 * filter-too-large analyze.c  OCI view -> how libseccomp will order and drop rules  -> shadowed rules,
 * cannot start, ... */

#include <seccomp.h>
#include <stdbool.h>
#include <stdint.h>

#include "diag.h"
#include "tables.h"

typedef enum Runtime {
        RUNTIME_CONTAINERD, /* plain OCI unmarshal: moby extensions ignored */
        RUNTIME_CRIO,       /* containers/common: includes/excludes, archMap, errno names */
        _RUNTIME_MAX,
} Runtime;

const char *runtime_to_string(Runtime r) _pure_;
int runtime_from_string(const char *s, Runtime *ret);

/* Profiles travel in ConfigMaps, whose whole data is limited to 1 MiB; nothing larger is a profile a
 * runtime will ever read, and the limit bounds the memory one input can take. */
#define PROFILE_MAX_SIZE (1024 * 1024)

/* The kernel's BPF_MAXINSNS. */
#define BPF_MAX_INSNS 4096

/* The runc the node runs, where the verdict depends on it: runc before 1.2 refuses any seccomp flags.
 * The oldest runc in current managed node images is the default. */
#define RUNC_VERSION_DEFAULT_MAJOR 1
#define RUNC_VERSION_DEFAULT_MINOR 1

typedef struct ValidateOptions {
        Runtime runtime;
        unsigned runc_major, runc_minor; /* 0.0: the default, 1.1 */
        const ArchInfo *arch;            /* the node's architecture; NULL = this machine's */
        const char *const *allow_notify; /* listener paths NOTIFY rules may use */
        size_t n_allow_notify;
} ValidateOptions;

typedef struct Verdict {
        bool valid; /* no error */
        Diagnostics diagnostics;
        unsigned bpf_instructions; /* of the filter libseccomp built, 0 when none was built */
} Verdict;

/* Returns 0 with *ret filled in (the verdict says whether the profile is valid), or -ENOMEM, or
 * -EOPNOTSUPP when this libseccomp cannot build filters for the requested architecture. When len is
 * above PROFILE_MAX_SIZE, buf is not read (it may be NULL): the verdict says the input is too large. */
int profile_validate(const char *buf, size_t len, const ValidateOptions *o, Verdict *ret);
void verdict_clear(Verdict *v);

/* Builds the filter the runtime would build, without any report: for loading it in tests and tools.
 * Returns -EINVAL when the profile is invalid. */
int profile_compile(const char *buf, size_t len, const ValidateOptions *o, scmp_filter_ctx *ret);

/* "1.1", "1.2.3", "v1.1.5" (the patch level is accepted and does not matter). */
int runc_version_parse(const char *s, unsigned *ret_major, unsigned *ret_minor);
/* The runc version the options assume, the default filled in. */
void validate_runc_version(const ValidateOptions *o, unsigned *ret_major, unsigned *ret_minor);

/* The running kernel's release as X.Y. */
int kernel_version_native(unsigned *ret_major, unsigned *ret_minor);
