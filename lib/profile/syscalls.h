/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Is a name a Linux system call at all, and does this libseccomp know it? Runtimes drop names their
 * libseccomp cannot resolve, silently (runc logs at debug level), so a typo in a deny rule is a
 * hole. The table of every syscall name of current kernels is data: syscall-names.tsv, which names
 * its sources. */

#include <stddef.h>

typedef struct SyscallName {
        const char *name;
        const char *libseccomp; /* "-": known to libseccomp 2.5.4; else the first release that knows it,
                                   or "none" */
} SyscallName;

extern const SyscallName syscall_names[];
extern const size_t syscall_names_count;

typedef enum SyscallKind {
        SYSCALL_KNOWN,     /* this libseccomp resolves it */
        SYSCALL_NEWER,     /* a real Linux syscall that this libseccomp does not know */
        SYSCALL_NOT_LINUX, /* no kernel has it: a typo or an invention */
} SyscallKind;

typedef struct SyscallClass {
        SyscallKind kind;
        const char *since;      /* SYSCALL_NEWER: first libseccomp release that knows it, or "none" */
        const char *suggestion; /* SYSCALL_NOT_LINUX: the closest real name, or NULL */
} SyscallClass;

SyscallClass syscall_classify(const char *name);
const SyscallName *syscall_name_lookup(const char *name);
