/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

#include "analyze.h"
#include "check.h"
#include "compile.h"
#include "resolve.h"
#include "validate.h"

static const char *const runtime_names[_RUNTIME_MAX] = {
        [RUNTIME_CONTAINERD] = "containerd",
        [RUNTIME_CRIO] = "cri-o",
};

const char *runtime_to_string(Runtime r)
{
        return r < _RUNTIME_MAX ? runtime_names[r] : NULL;
}

int runtime_from_string(const char *s, Runtime *ret)
{
        for (Runtime r = 0; r < _RUNTIME_MAX; r++)
                if (strcmp(runtime_names[r], s) == 0) {
                        *ret = r;
                        return 0;
                }
        return -EINVAL;
}

int runc_version_parse(const char *s, unsigned *ret_major, unsigned *ret_minor)
{
        unsigned part[3];
        /* "1": which 1.x is meant matters */
        if (version_parse(s + (*s == 'v'), 9999, part, ELEMENTSOF(part)) < 2)
                return -EINVAL;
        *ret_major = part[0];
        *ret_minor = part[1];
        return 0;
}

void validate_runc_version(const ValidateOptions *o, unsigned *ret_major, unsigned *ret_minor)
{
        bool unset = o->runc_major == 0 && o->runc_minor == 0;
        *ret_major = unset ? RUNC_VERSION_DEFAULT_MAJOR : o->runc_major;
        *ret_minor = unset ? RUNC_VERSION_DEFAULT_MINOR : o->runc_minor;
}

int kernel_version_native(unsigned *ret_major, unsigned *ret_minor)
{
        struct utsname u;
        unsigned a, b;
        if (uname(&u) < 0)
                return -errno;
        if (sscanf(u.release, "%u.%u", &a, &b) != 2)
                return -EINVAL;
        *ret_major = a;
        *ret_minor = b;
        return 0;
}

/* Action support is probed against the running kernel unless the API level is pinned; a verdict must
 * not depend on the machine that validates. Level 6 (NOTIFY with TSYNC) is what runc requires for
 * NOTIFY and the highest libseccomp 2.5 knows. */
static void pin_api_level(void)
{
        if (seccomp_api_get() != 6)
                (void) seccomp_api_set(6);
}

static const ArchInfo *target_arch(const ValidateOptions *o)
{
        return o->arch ? o->arch : arch_from_token(seccomp_arch_native());
}

static void resolve_options(const ValidateOptions *o, const ArchInfo *arch, ResolveOptions *ret)
{
        bool crio = o->runtime == RUNTIME_CRIO;
        *ret = (ResolveOptions){
                .flavor = crio ? FLAVOR_COMMON : FLAVOR_OCI,
                .arch = arch,
                .caps = crio ? caps_default_crio : caps_default_containerd,
                .n_caps = crio ? caps_default_crio_count : caps_default_containerd_count,
        };
}

int profile_validate(const char *buf, size_t len, const ValidateOptions *o, Verdict *ret)
{
        _cleanup_(profile_freep) Profile *p = NULL;
        _cleanup_(seccomp_releasep) scmp_filter_ctx ctx = NULL;
        const ArchInfo *arch = target_arch(o);
        Verdict v = {};
        Effective e = {};
        ResolveOptions ro;
        int r;

        if (!arch || arch->token == 0)
                return -EOPNOTSUPP;
        pin_api_level();

        if (len > PROFILE_MAX_SIZE) {
                diag_add(&v.diagnostics, DIAG_JSON_TOO_LARGE, "", 0, 0,
                         "the profile is %zu bytes; seccompd reads at most %d (a ConfigMap holds at most 1 "
                         "MiB)",
                         len, PROFILE_MAX_SIZE);
                goto finish;
        }
        r = profile_parse(buf, len, &v.diagnostics, &p);
        if (r == -EBADMSG)
                goto finish;
        if (r < 0)
                goto fail;

        profile_check(p, o, arch, &v.diagnostics);

        resolve_options(o, arch, &ro);
        r = profile_resolve(p, &ro, &e);
        if (r < 0)
                goto fail;
        if (!effective_cost_bounded(&e, &v.diagnostics)) {
                r = effective_analyze(&e, arch, o, &v.diagnostics);
                if (r < 0)
                        goto fail;
                goto finish;
        }
        r = effective_compile(&e, arch, &v.diagnostics, &ctx);
        if (r >= 0) {
                unsigned limit = BPF_MAX_INSNS - RUNC_STUB_INSNS(e.n_architectures + 1);
                r = filter_count_instructions(ctx, &v.bpf_instructions);
                if (r < 0)
                        goto fail;
                if (v.bpf_instructions > limit)
                        diag_add(&v.diagnostics, DIAG_FILTER_TOO_LARGE, "syscalls", p->loc_syscalls.line,
                                 p->loc_syscalls.column,
                                 "syscalls: the compiled filter has %u BPF instructions; the kernel loads "
                                 "at most "
                                 "%d, and runc adds its own -ENOSYS stub, which leaves %u: merge rules or "
                                 "drop "
                                 "architectures",
                                 v.bpf_instructions, BPF_MAX_INSNS, limit);
        } else if (r != -EINVAL)
                goto fail;
        r = effective_analyze(&e, arch, o, &v.diagnostics);
        if (r < 0)
                goto fail;

finish:
        effective_clear(&e);
        r = diagnostics_done(&v.diagnostics);
        if (r < 0)
                goto fail;
        diagnostics_sort(&v.diagnostics);
        v.valid = diagnostics_count(&v.diagnostics, SEVERITY_ERROR) == 0;
        *ret = v;
        return 0;
fail:
        effective_clear(&e);
        verdict_clear(&v);
        return r;
}

void verdict_clear(Verdict *v)
{
        diagnostics_clear(&v->diagnostics);
        *v = (Verdict){};
}

int profile_compile(const char *buf, size_t len, const ValidateOptions *o, scmp_filter_ctx *ret)
{
        _cleanup_(profile_freep) Profile *p = NULL;
        _cleanup_(seccomp_releasep) scmp_filter_ctx ctx = NULL;
        const ArchInfo *arch = target_arch(o);
        Diagnostics d = {};
        Effective e = {};
        ResolveOptions ro;
        int r;

        if (!arch || arch->token == 0)
                return -EOPNOTSUPP;
        pin_api_level();
        r = profile_parse(buf, len, &d, &p);
        if (r < 0)
                goto finish;
        profile_check(p, o, arch, &d);
        resolve_options(o, arch, &ro);
        r = profile_resolve(p, &ro, &e);
        if (r < 0)
                goto finish;
        r = effective_compile(&e, arch, &d, &ctx);
        if (r < 0)
                goto finish;
        r = diagnostics_done(&d);
        if (r >= 0 && diagnostics_count(&d, SEVERITY_ERROR) > 0)
                r = -EINVAL;
        if (r >= 0)
                *ret = TAKE_PTR(ctx);
finish:
        effective_clear(&e);
        diagnostics_clear(&d);
        return r == -EBADMSG ? -EINVAL : r;
}
