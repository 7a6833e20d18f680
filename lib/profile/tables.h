/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The enumerations of the profile format, and what each runtime and libseccomp version makes of them.
 * Sources: runtime-spec schema/defs-linux.json; runc libcontainer/seccomp/config.go (what runc
 * accepts); libseccomp include/seccomp.h.in and CHANGELOG (what each release supports). */

#include <stdbool.h>
#include <stdint.h>

typedef struct ArchInfo {
        const char *spec;  /* "SCMP_ARCH_X86_64", as profiles spell it */
        const char *name;  /* "x86_64", libseccomp's name (seccomp_arch_resolve_name) */
        const char *go;    /* "amd64", libseccomp-golang's name: includes/excludes.arches use it */
        uint32_t token;    /* 0 when this libseccomp cannot build filters for it */
        bool runc;         /* runc's table knows it (it has no PARISC, M68K or SH) */
        const char *since; /* first libseccomp release that supports it */
} ArchInfo;

typedef struct ActionInfo {
        const char *spec; /* "SCMP_ACT_ERRNO" */
        uint32_t base;    /* SCMP_ACT_* without data */
        unsigned rank;    /* how much it lets through: higher is more permissive */
        bool takes_errno; /* ERRNO and TRACE carry errnoRet */
        bool blocks;      /* the syscall does not run */
} ActionInfo;

typedef struct FlagInfo {
        const char *spec;
        const char *since; /* first libseccomp release with the matching filter attribute */
} FlagInfo;

typedef struct OperatorInfo {
        const char *spec;
        int op; /* enum scmp_compare */
} OperatorInfo;

const ArchInfo *arch_from_spec(const char *spec);
const ArchInfo *arch_from_token(uint32_t token);
const ArchInfo *arch_from_user(const char *name); /* "x86_64", "amd64", "SCMP_ARCH_X86_64" */
const ActionInfo *action_from_spec(const char *spec);
const FlagInfo *flag_from_spec(const char *spec);
const OperatorInfo *operator_from_spec(const char *spec);

/* The errno names Go runtimes map (containers/common errno_list.go): Linux generic numbering. */
int errno_from_name(const char *name, uint64_t *ret);

/* "2.5.4": the libseccomp this process runs with. */
void libseccomp_version(char buf[static 32]);
/* Compares dotted versions: <0, 0, >0. */
int version_compare(const char *a, const char *b);
/* Strict dotted decimal ("1.2.3"): at most max_parts parts, none empty, each at most max_value.
 * Returns the number of parts, or -EINVAL. */
int version_parse(const char *s, unsigned max_value, unsigned parts[], size_t max_parts);
