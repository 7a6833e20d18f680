/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "compile.h"
#include "tables.h"

bool action_value(const char *action, bool has_errno, uint64_t errno_ret, uint32_t *ret)
{
        const ActionInfo *a = action_from_spec(action);
        if (!a)
                return false;
        if (!a->takes_errno) {
                *ret = a->base;
                return true;
        }
        /* runc: int16(*errnoRet), EPERM when unset. Values of 4095 and above are reported by the checks
         * and never reach libseccomp. */
        if (has_errno && errno_ret >= 4095)
                return false;
        uint32_t data = has_errno ? (uint32_t) errno_ret : EPERM;
        *ret = (a->base & 0xffff0000U) | (data & 0xffffU);
        return true;
}

static void rule_add_error(char *buf, size_t size, int r, const char *name)
{
        switch (r) {
        case -EEXIST:
                (void) snprintf(
                        buf, size,
                        "an earlier rule for this syscall has the same conditions and another action; runc "
                        "fails with \"error adding seccomp filter rule for syscall %s: file exists\"",
                        name);
                break;
        case -EINVAL:
                (void) snprintf(
                        buf, size,
                        "libseccomp refuses the rule as invalid; runc reports \"error adding seccomp filter "
                        "rule for syscall %s: two checks on same syscall argument\"",
                        name);
                break;
        default:
                (void) snprintf(buf, size, "libseccomp refuses the rule: %s", strerror(-r));
                break;
        }
}

static bool args_share_index(const ProfileArgs *args)
{
        for (size_t i = 0; i < args->n; i++)
                for (size_t k = i + 1; k < args->n; k++)
                        if (args->items[i].index == args->items[k].index)
                                return true;
        return false;
}

static int add_rule(scmp_filter_ctx ctx, uint32_t act, int nr, const ProfileArgs *args)
{
        struct scmp_arg_cmp cmp[6];
        unsigned n = 0;

        if (args->n > 6)
                return 0; /* reported by the checks; runc refuses the whole profile */
        for (size_t i = 0; i < args->n; i++) {
                const ProfileArg *a = args->items + i;
                const OperatorInfo *op = operator_from_spec(a->op ?: "");
                if (!op || a->index > 5)
                        return 0;
                cmp[n++] = op->op == SCMP_CMP_MASKED_EQ
                                   ? (struct scmp_arg_cmp){(unsigned) a->index, SCMP_CMP_MASKED_EQ, a->value,
                                                           a->value_two}
                                   : (struct scmp_arg_cmp){(unsigned) a->index, (enum scmp_compare) op->op,
                                                           a->value, 0};
        }
        if (n == 0)
                return seccomp_rule_add(ctx, act, nr, 0);
        if (!args_share_index(args))
                return seccomp_rule_add_array(ctx, act, nr, n, cmp);
        /* runc: "If two or more arguments have the same condition, revert to old behavior, adding each
         * condition as a separate rule". */
        for (unsigned i = 0; i < n; i++) {
                int r = seccomp_rule_add_array(ctx, act, nr, 1, cmp + i);
                if (r < 0)
                        return r;
        }
        return 0;
}

int effective_compile(const Effective *e, const ArchInfo *arch, Diagnostics *d, scmp_filter_ctx *ret)
{
        _cleanup_(seccomp_releasep) scmp_filter_ctx ctx = NULL;
        uint32_t def, act;
        size_t total_names = 0;
        int r;

        if (!action_value(e->default_action, e->has_default_errno_ret, e->default_errno_ret, &def) ||
            def == SCMP_ACT_NOTIFY)
                return -EINVAL;
        ctx = seccomp_init(def);
        if (!ctx)
                return -EINVAL;

        /* On the node, runc's filter starts from the node's own architecture. Native is removed first:
         * libseccomp refuses (-EDOM) an architecture whose byte order differs from one already in the
         * filter, so s390x or mips64 could not be added beside an x86_64 or aarch64 host's. */
        if (arch->token != seccomp_arch_native()) {
                r = seccomp_arch_remove(ctx, SCMP_ARCH_NATIVE);
                if (r < 0)
                        return r;
                r = seccomp_arch_add(ctx, arch->token);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < e->n_architectures; i++) {
                const ArchInfo *a = arch_from_spec(e->architectures[i]);
                if (!a || a->token == 0 || !a->runc)
                        continue; /* reported by the checks */
                r = seccomp_arch_add(ctx, a->token);
                if (r == -EEXIST)
                        continue;
                if (r == -EDOM)
                        diag_add(
                                d, DIAG_LIBSECCOMP_REJECTED, "architectures", 0, 0,
                                "architectures: %s cannot share a filter with %s: their byte orders differ; "
                                "runc fails with \"error adding architecture to seccomp filter: numerical "
                                "argument out of domain\"",
                                a->spec, arch->spec);
                else if (r < 0)
                        diag_add(d, DIAG_LIBSECCOMP_REJECTED, "architectures", 0, 0,
                                 "architectures: libseccomp refuses %s: %s", a->spec, strerror(-r));
        }

        for (size_t i = 0; i < e->n_rules; i++)
                total_names += e->rules[i].n_names;
        if (total_names > 32) {
                r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
                if (r < 0)
                        return r;
        }

        for (size_t i = 0; i < e->n_rules; i++) {
                const EffectiveRule *er = e->rules + i;
                if (!action_value(er->action, er->has_errno_ret, er->errno_ret, &act))
                        continue;
                if (act == def)
                        continue; /* runc: "This rule is redundant, silently skip it" */
                for (size_t k = 0; k < er->n_names; k++) {
                        const char *name = er->names[k];
                        int nr = seccomp_syscall_resolve_name(name);
                        if (nr == __NR_SCMP_ERROR)
                                continue; /* runc: "unknown seccomp syscall ignored", at debug level */
                        r = add_rule(ctx, act, nr, er->args);
                        if (r < 0) {
                                char path[64], msg[512];
                                Loc l = er->name_locs[k];
                                (void) snprintf(path, sizeof(path), "syscalls[%zu]", er->rule);
                                rule_add_error(msg, sizeof(msg), r, name);
                                diag_add(d, DIAG_LIBSECCOMP_REJECTED, path, l.line, l.column, "%s: %s: %s",
                                         path, name, msg);
                        }
                }
        }
        *ret = TAKE_PTR(ctx);
        return 0;
}

int filter_count_instructions(scmp_filter_ctx ctx, unsigned *ret)
{
        _cleanup_close_ int fd = -EBADF;
        struct stat st;
        int r;

        fd = memfd_create("seccompd-bpf", MFD_CLOEXEC);
        if (fd < 0)
                return -errno;
        r = seccomp_export_bpf(ctx, fd);
        if (r < 0)
                return r;
        if (fstat(fd, &st) < 0)
                return -errno;
        *ret = (unsigned) (st.st_size / 8); /* struct sock_filter is 8 bytes */
        return 0;
}
