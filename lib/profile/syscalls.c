/* SPDX-License-Identifier: Apache-2.0 */
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>

#include "shared/edit-distance.h"
#include "shared/macro.h"
#include "syscalls.h"

static int compare_name(const void *key, const void *item)
{
        return strcmp(key, ((const SyscallName *) item)->name);
}

const SyscallName *syscall_name_lookup(const char *name)
{
        return bsearch(name, syscall_names, syscall_names_count, sizeof(SyscallName), compare_name);
}

SyscallClass syscall_classify(const char *name)
{
        if (seccomp_syscall_resolve_name(name) != __NR_SCMP_ERROR)
                return (SyscallClass){.kind = SYSCALL_KNOWN};

        const SyscallName *s = syscall_name_lookup(name);
        if (s)
                return (SyscallClass){.kind = SYSCALL_NEWER,
                                      .since = strcmp(s->libseccomp, "-") == 0 ? "none" : s->libseccomp};

        /* Suggest the nearest real name; a third of the length bounds what still looks like a typo. */
        size_t limit = MAX(strlen(name) / 3, (size_t) 1), best_d = limit + 1;
        const char *best = NULL;
        for (size_t i = 0; i < syscall_names_count; i++) {
                size_t d = edit_distance(name, syscall_names[i].name, best_d - 1);
                if (d < best_d) {
                        best_d = d;
                        best = syscall_names[i].name;
                }
        }
        return (SyscallClass){.kind = SYSCALL_NOT_LINUX, .suggestion = best};
}
