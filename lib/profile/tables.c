/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "shared/macro.h"
#include "tables.h"

/* Architectures this libseccomp may lack: their tokens exist only in newer headers. */
#ifndef SCMP_ARCH_LOONGARCH64
#define SCMP_ARCH_LOONGARCH64 0
#endif
#ifndef SCMP_ARCH_M68K
#define SCMP_ARCH_M68K 0
#endif
#ifndef SCMP_ARCH_SH
#define SCMP_ARCH_SH 0
#endif
#ifndef SCMP_ARCH_SHEB
#define SCMP_ARCH_SHEB 0
#endif

static const ArchInfo arches[] = {
        {"SCMP_ARCH_X86", "x86", "x86", SCMP_ARCH_X86, true, "2.0.0"},
        {"SCMP_ARCH_X86_64", "x86_64", "amd64", SCMP_ARCH_X86_64, true, "2.0.0"},
        {"SCMP_ARCH_X32", "x32", "x32", SCMP_ARCH_X32, true, "2.1.0"},
        {"SCMP_ARCH_ARM", "arm", "arm", SCMP_ARCH_ARM, true, "2.1.0"},
        {"SCMP_ARCH_AARCH64", "aarch64", "arm64", SCMP_ARCH_AARCH64, true, "2.2.0"},
        {"SCMP_ARCH_LOONGARCH64", "loongarch64", "loong64", SCMP_ARCH_LOONGARCH64, true, "2.6.0"},
        {"SCMP_ARCH_M68K", "m68k", "m68k", SCMP_ARCH_M68K, false, "2.6.0"},
        {"SCMP_ARCH_MIPS", "mips", "mips", SCMP_ARCH_MIPS, true, "2.2.0"},
        {"SCMP_ARCH_MIPS64", "mips64", "mips64", SCMP_ARCH_MIPS64, true, "2.2.0"},
        {"SCMP_ARCH_MIPS64N32", "mips64n32", "mips64n32", SCMP_ARCH_MIPS64N32, true, "2.2.0"},
        {"SCMP_ARCH_MIPSEL", "mipsel", "mipsel", SCMP_ARCH_MIPSEL, true, "2.2.0"},
        {"SCMP_ARCH_MIPSEL64", "mipsel64", "mipsel64", SCMP_ARCH_MIPSEL64, true, "2.2.0"},
        {"SCMP_ARCH_MIPSEL64N32", "mipsel64n32", "mipsel64n32", SCMP_ARCH_MIPSEL64N32, true, "2.2.0"},
        {"SCMP_ARCH_PPC", "ppc", "ppc", SCMP_ARCH_PPC, true, "2.3.0"},
        {"SCMP_ARCH_PPC64", "ppc64", "ppc64", SCMP_ARCH_PPC64, true, "2.3.0"},
        {"SCMP_ARCH_PPC64LE", "ppc64le", "ppc64le", SCMP_ARCH_PPC64LE, true, "2.3.0"},
        {"SCMP_ARCH_S390", "s390", "s390", SCMP_ARCH_S390, true, "2.3.0"},
        {"SCMP_ARCH_S390X", "s390x", "s390x", SCMP_ARCH_S390X, true, "2.3.0"},
        {"SCMP_ARCH_SH", "sh", "sh", SCMP_ARCH_SH, false, "2.6.0"},
        {"SCMP_ARCH_SHEB", "sheb", "sheb", SCMP_ARCH_SHEB, false, "2.6.0"},
        {"SCMP_ARCH_PARISC", "parisc", "parisc", SCMP_ARCH_PARISC, false, "2.4.0"},
        {"SCMP_ARCH_PARISC64", "parisc64", "parisc64", SCMP_ARCH_PARISC64, false, "2.4.0"},
        {"SCMP_ARCH_RISCV64", "riscv64", "riscv64", SCMP_ARCH_RISCV64, true, "2.5.0"},
};

/* rank: ALLOW and LOG both let the call run; NOTIFY defers to a supervisor; then the denials, from the
 * mildest (a return value) to killing the process. */
static const ActionInfo actions[] = {
        {"SCMP_ACT_ALLOW", SCMP_ACT_ALLOW, 7, false, false},
        {"SCMP_ACT_LOG", SCMP_ACT_LOG, 7, false, false},
        {"SCMP_ACT_NOTIFY", SCMP_ACT_NOTIFY, 5, false, false},
        {"SCMP_ACT_TRACE", SCMP_ACT_TRACE(0), 4, true, true},
        {"SCMP_ACT_ERRNO", SCMP_ACT_ERRNO(0), 3, true, true},
        {"SCMP_ACT_TRAP", SCMP_ACT_TRAP, 2, false, true},
        {"SCMP_ACT_KILL", SCMP_ACT_KILL_THREAD, 1, false, true},
        {"SCMP_ACT_KILL_THREAD", SCMP_ACT_KILL_THREAD, 1, false, true},
        {"SCMP_ACT_KILL_PROCESS", SCMP_ACT_KILL_PROCESS, 0, false, true},
};

static const FlagInfo flags[] = {
        {"SECCOMP_FILTER_FLAG_TSYNC", "2.2.0"},
        {"SECCOMP_FILTER_FLAG_LOG", "2.4.0"},
        {"SECCOMP_FILTER_FLAG_SPEC_ALLOW", "2.4.0"},
        {"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", "2.6.0"},
};

static const OperatorInfo operators[] = {
        {"SCMP_CMP_NE", SCMP_CMP_NE},
        {"SCMP_CMP_LT", SCMP_CMP_LT},
        {"SCMP_CMP_LE", SCMP_CMP_LE},
        {"SCMP_CMP_EQ", SCMP_CMP_EQ},
        {"SCMP_CMP_GE", SCMP_CMP_GE},
        {"SCMP_CMP_GT", SCMP_CMP_GT},
        {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
};

#define LOOKUP(table, field, key)                                                                           \
        do {                                                                                                \
                if (!(key))                                                                                 \
                        return NULL;                                                                        \
                for (size_t i_ = 0; i_ < ELEMENTSOF(table); i_++)                                           \
                        if (strcmp(table[i_].field, (key)) == 0)                                            \
                                return table + i_;                                                          \
                return NULL;                                                                                \
        } while (0)

const ArchInfo *arch_from_spec(const char *spec)
{
        LOOKUP(arches, spec, spec);
}

const ActionInfo *action_from_spec(const char *spec)
{
        LOOKUP(actions, spec, spec);
}

const FlagInfo *flag_from_spec(const char *spec)
{
        LOOKUP(flags, spec, spec);
}

const OperatorInfo *operator_from_spec(const char *spec)
{
        LOOKUP(operators, spec, spec);
}

const ArchInfo *arch_from_token(uint32_t token)
{
        for (size_t i = 0; i < ELEMENTSOF(arches); i++)
                if (arches[i].token != 0 && arches[i].token == token)
                        return arches + i;
        return NULL;
}

const ArchInfo *arch_from_user(const char *name)
{
        for (size_t i = 0; i < ELEMENTSOF(arches); i++)
                if (strcmp(arches[i].name, name) == 0 || strcmp(arches[i].go, name) == 0 ||
                    strcmp(arches[i].spec, name) == 0)
                        return arches + i;
        if (strcmp(name, "386") == 0 || strcmp(name, "i386") == 0 || strcmp(name, "i686") == 0)
                return arch_from_spec("SCMP_ARCH_X86");
        return NULL;
}

/* containers/common maps errno names with its errno_list.go (Linux numbering). Building the table from
 * <errno.h> gives the same numbers for every architecture Kubernetes nodes run on; MIPS, SPARC, Alpha
 * and PA-RISC number errno differently. */
#define E(x)                                                                                                \
        {                                                                                                   \
#x, x                                                                                       \
        }
static const struct {
        const char *name;
        int value;
} errnos[] = {
        E(E2BIG),           E(EACCES),       E(EADDRINUSE),   E(EADDRNOTAVAIL),   E(EADV),
        E(EAFNOSUPPORT),    E(EAGAIN),       E(EALREADY),     E(EBADE),           E(EBADF),
        E(EBADFD),          E(EBADMSG),      E(EBADR),        E(EBADRQC),         E(EBADSLT),
        E(EBFONT),          E(EBUSY),        E(ECANCELED),    E(ECHILD),          E(ECHRNG),
        E(ECOMM),           E(ECONNABORTED), E(ECONNREFUSED), E(ECONNRESET),      E(EDEADLK),
        E(EDEADLOCK),       E(EDESTADDRREQ), E(EDOM),         E(EDOTDOT),         E(EDQUOT),
        E(EEXIST),          E(EFAULT),       E(EFBIG),        E(EHOSTDOWN),       E(EHOSTUNREACH),
        E(EHWPOISON),       E(EIDRM),        E(EILSEQ),       E(EINPROGRESS),     E(EINTR),
        E(EINVAL),          E(EIO),          E(EISCONN),      E(EISDIR),          E(EISNAM),
        E(EKEYEXPIRED),     E(EKEYREJECTED), E(EKEYREVOKED),  E(EL2HLT),          E(EL2NSYNC),
        E(EL3HLT),          E(EL3RST),       E(ELIBACC),      E(ELIBBAD),         E(ELIBEXEC),
        E(ELIBMAX),         E(ELIBSCN),      E(ELNRNG),       E(ELOOP),           E(EMEDIUMTYPE),
        E(EMFILE),          E(EMLINK),       E(EMSGSIZE),     E(EMULTIHOP),       E(ENAMETOOLONG),
        E(ENAVAIL),         E(ENETDOWN),     E(ENETRESET),    E(ENETUNREACH),     E(ENFILE),
        E(ENOANO),          E(ENOBUFS),      E(ENOCSI),       E(ENODATA),         E(ENODEV),
        E(ENOENT),          E(ENOEXEC),      E(ENOKEY),       E(ENOLCK),          E(ENOLINK),
        E(ENOMEDIUM),       E(ENOMEM),       E(ENOMSG),       E(ENONET),          E(ENOPKG),
        E(ENOPROTOOPT),     E(ENOSPC),       E(ENOSR),        E(ENOSTR),          E(ENOSYS),
        E(ENOTBLK),         E(ENOTCONN),     E(ENOTDIR),      E(ENOTEMPTY),       E(ENOTNAM),
        E(ENOTRECOVERABLE), E(ENOTSOCK),     E(ENOTSUP),      E(ENOTTY),          E(ENOTUNIQ),
        E(ENXIO),           E(EOPNOTSUPP),   E(EOVERFLOW),    E(EOWNERDEAD),      E(EPERM),
        E(EPFNOSUPPORT),    E(EPIPE),        E(EPROTO),       E(EPROTONOSUPPORT), E(EPROTOTYPE),
        E(ERANGE),          E(EREMCHG),      E(EREMOTE),      E(EREMOTEIO),       E(ERESTART),
        E(ERFKILL),         E(EROFS),        E(ESHUTDOWN),    E(ESOCKTNOSUPPORT), E(ESPIPE),
        E(ESRCH),           E(ESRMNT),       E(ESTALE),       E(ESTRPIPE),        E(ETIME),
        E(ETIMEDOUT),       E(ETOOMANYREFS), E(ETXTBSY),      E(EUCLEAN),         E(EUNATCH),
        E(EUSERS),          E(EWOULDBLOCK),  E(EXDEV),        E(EXFULL),
};
#undef E

int errno_from_name(const char *name, uint64_t *ret)
{
        for (size_t i = 0; i < ELEMENTSOF(errnos); i++)
                if (strcmp(errnos[i].name, name) == 0) {
                        *ret = (uint64_t) errnos[i].value;
                        return 0;
                }
        /* containers/common also takes a decimal number written as a string. */
        if (*name >= '0' && *name <= '9') {
                uint64_t n = 0;
                for (const char *s = name; *s; s++) {
                        if (*s < '0' || *s > '9' || n > UINT32_MAX)
                                return -EINVAL;
                        n = n * 10 + (uint64_t) (*s - '0');
                }
                *ret = n;
                return 0;
        }
        return -EINVAL;
}

void libseccomp_version(char buf[static 32])
{
        const struct scmp_version *v = seccomp_version();
        (void) snprintf(buf, 32, "%u.%u.%u", v->major, v->minor, v->micro);
}

int version_parse(const char *s, unsigned max_value, unsigned parts[], size_t max_parts)
{
        size_t k = 0;
        bool digits = false;

        if (max_parts == 0)
                return -EINVAL;
        parts[0] = 0;
        for (const char *p = s;; p++) {
                if (*p == '.' || *p == 0) {
                        if (!digits)
                                return -EINVAL;
                        if (*p == 0)
                                return (int) k + 1;
                        if (++k >= max_parts)
                                return -EINVAL;
                        parts[k] = 0;
                        digits = false;
                        continue;
                }
                if (*p < '0' || *p > '9')
                        return -EINVAL;
                parts[k] = parts[k] * 10 + (unsigned) (*p - '0');
                digits = true;
                if (parts[k] > max_value)
                        return -EINVAL;
        }
}

int version_compare(const char *a, const char *b)
{
        for (;;) {
                char *ea, *eb;
                unsigned long x = strtoul(a, &ea, 10), y = strtoul(b, &eb, 10);
                if (x != y)
                        return x < y ? -1 : 1;
                if (ea == a && eb == b)
                        return strcmp(a, b);
                a = *ea == '.' ? ea + 1 : ea;
                b = *eb == '.' ? eb + 1 : eb;
                if (!*a && !*b)
                        return 0;
        }
}
