/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <seccomp.h>

#include "diag.h"
#include "resolve.h"

/* Builds the filter runc builds from an OCI view (libcontainer/seccomp/seccomp_linux.go InitSeccomp):
 * the default action with its errno (EPERM when none), the node's native architecture plus the listed
 * ones (EEXIST ignored), a binary tree above 32 syscalls, and for each name: skip it when its action
 * equals the default, skip names libseccomp cannot resolve, add unconditional rules as they are, and
 * split conditions on one argument into separate rules. Rules add with the non-exact API, as runtimes
 * do. What libseccomp refuses is reported on the rule that caused it. Returns -EINVAL when no filter
 * could be built at all (an invalid default action). */
int effective_compile(const Effective *e, const ArchInfo *arch, Diagnostics *d, scmp_filter_ctx *ret);

/* The action value runc derives from an action name and errnoRet; false when unknown. */
bool action_value(const char *action, bool has_errno, uint64_t errno_ret, uint32_t *ret);

/* Exports the BPF program and counts its instructions. */
int filter_count_instructions(scmp_filter_ctx ctx, unsigned *ret);

/* runc prepends a stub that returns -ENOSYS for syscalls newer than the profile knows
 * (libcontainer/seccomp/patchbpf/enosys_linux.go): a comparison of the architecture and of the
 * highest syscall number per architecture, with extra checks for x32. This bounds its size from
 * above, so a filter that passes here also loads on the node. */
#define RUNC_STUB_INSNS(n_arches) (8 + 6 * (n_arches))

static inline void seccomp_releasep(scmp_filter_ctx *ctx)
{
        if (*ctx)
                seccomp_release(*ctx);
}
