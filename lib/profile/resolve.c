/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>
#include <string.h>

#include "resolve.h"

const char *const caps_default_containerd[] = {
        "CAP_CHOWN",   "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",
        "CAP_MKNOD",   "CAP_NET_RAW",      "CAP_SETGID",           "CAP_SETUID",
        "CAP_SETFCAP", "CAP_SETPCAP",      "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
        "CAP_KILL",    "CAP_AUDIT_WRITE",
};
const size_t caps_default_containerd_count = ELEMENTSOF(caps_default_containerd);

const char *const caps_default_crio[] = {
        "CAP_CHOWN",  "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER", "CAP_SETGID",
        "CAP_SETUID", "CAP_SETPCAP",      "CAP_NET_BIND_SERVICE", "CAP_KILL",
};
const size_t caps_default_crio_count = ELEMENTSOF(caps_default_crio);

/* moby seccomp.go KernelVersion.UnmarshalJSON: exactly two dot-separated parts, each parsed by
 * strconv.ParseUint(s, 10, 8), and not 0.0. */
int min_kernel_parse(const char *s, unsigned *ret_major, unsigned *ret_minor)
{
        unsigned part[2];
        if (version_parse(s, 255, part, ELEMENTSOF(part)) != 2 || (part[0] == 0 && part[1] == 0))
                return -EINVAL; /* "5.4.0": exactly two parts */
        *ret_major = part[0];
        *ret_minor = part[1];
        return 0;
}

static bool in_list(const char *const *list, size_t n, const char *s)
{
        for (size_t i = 0; i < n; i++)
                if (strcmp(list[i], s) == 0)
                        return true;
        return false;
}

static bool kernel_at_least(const ResolveOptions *o, const char *min)
{
        unsigned maj, min_;
        if (!min || min_kernel_parse(min, &maj, &min_) < 0)
                return true; /* moby: "" means no constraint; malformed ones fail the load earlier */
        return o->kernel_major > maj || (o->kernel_major == maj && o->kernel_minor >= min_);
}

/* Whether a rule survives includes/excludes for this container. */
static bool rule_applies(const ProfileRule *r, const ResolveOptions *o)
{
        const char *arch = o->arch->go;
        const ProfileFilter *ex = &r->excludes, *in = &r->includes;
        bool moby = o->flavor == FLAVOR_MOBY;

        if (o->flavor == FLAVOR_OCI)
                return true;
        if (ex->arches.n > 0 && in_list(ex->arches.items, ex->arches.n, arch))
                return false;
        for (size_t i = 0; i < ex->caps.n; i++)
                if (in_list(o->caps, o->n_caps, ex->caps.items[i]))
                        return false;
        if (moby && ex->min_kernel && *ex->min_kernel && kernel_at_least(o, ex->min_kernel))
                return false;
        if (in->arches.n > 0 && !in_list(in->arches.items, in->arches.n, arch))
                return false;
        for (size_t i = 0; i < in->caps.n; i++)
                if (!in_list(o->caps, o->n_caps, in->caps.items[i]))
                        return false;
        if (moby && in->min_kernel && *in->min_kernel && !kernel_at_least(o, in->min_kernel))
                return false;
        return true;
}

/* containers/common's nativeToSeccomp lacks ppc64le, riscv64, x86 and arm: archMap is not expanded
 * there. moby's table covers every arch a node runs on. */
static bool archmap_expands(const ResolveOptions *o)
{
        static const char *const common[] = {"amd64",    "arm64",       "mips64", "mips64n32",
                                             "mipsel64", "mipsel64n32", "s390x"};
        if (o->flavor == FLAVOR_OCI)
                return false;
        if (o->flavor == FLAVOR_COMMON)
                return in_list(common, ELEMENTSOF(common), o->arch->go);
        return true;
}

int profile_resolve(const Profile *p, const ResolveOptions *o, Effective *ret)
{
        Effective e = {
                .default_action = p->default_action ? p->default_action : "",
                .has_default_errno_ret = p->default_errno_ret != NULL,
                .default_errno_ret = p->default_errno_ret ? *p->default_errno_ret : 0,
                .flags = &p->flags,
                .listener_path = p->listener_path,
                .listener_metadata = p->listener_metadata,
        };
        bool names_errno = o->flavor != FLAVOR_OCI;
        uint64_t n;

        if (names_errno && p->default_errno_name && *p->default_errno_name &&
            errno_from_name(p->default_errno_name, &n) >= 0) {
                e.has_default_errno_ret = true;
                e.default_errno_ret = n;
        }

        size_t max_arches = p->architectures.n;
        for (size_t i = 0; i < p->arch_map.n; i++)
                max_arches += 1 + p->arch_map.items[i].sub_architectures.n;
        e.architectures = calloc(MAX(max_arches, (size_t) 1), sizeof(char *));
        e.rules = calloc(MAX(p->syscalls.n, (size_t) 1), sizeof(EffectiveRule));
        if (!e.architectures || !e.rules) {
                effective_clear(&e);
                return -ENOMEM;
        }
        for (size_t i = 0; i < p->architectures.n; i++)
                e.architectures[e.n_architectures++] = p->architectures.items[i];
        if (archmap_expands(o))
                for (size_t i = 0; i < p->arch_map.n; i++) {
                        const ArchMapEntry *a = p->arch_map.items + i;
                        if (!a->architecture || strcmp(a->architecture, o->arch->spec) != 0)
                                continue;
                        e.architectures[e.n_architectures++] = a->architecture;
                        for (size_t k = 0; k < a->sub_architectures.n; k++)
                                e.architectures[e.n_architectures++] = a->sub_architectures.items[k];
                }

        for (size_t i = 0; i < p->syscalls.n; i++) {
                const ProfileRule *r = p->syscalls.items + i;
                if (!rule_applies(r, o))
                        continue;
                EffectiveRule *er = e.rules + e.n_rules++;
                *er = (EffectiveRule){
                        .rule = i,
                        .names = r->names.items,
                        .name_locs = r->names.locs,
                        .n_names = r->names.n,
                        .action = r->action ? r->action : "",
                        .loc_action = r->loc_action,
                        .has_errno_ret = r->errno_ret != NULL,
                        .errno_ret = r->errno_ret ? *r->errno_ret : 0,
                        .args = &r->args,
                };
                /* moby and containers/common turn the single "name" into names; containerd never sees it. */
                if (o->flavor != FLAVOR_OCI && r->name && *r->name && r->names.n == 0) {
                        er->names = &r->name;
                        er->name_locs = &r->loc_name;
                        er->n_names = 1;
                }
                if (names_errno && r->errno_name && *r->errno_name &&
                    errno_from_name(r->errno_name, &n) >= 0) {
                        er->has_errno_ret = true;
                        er->errno_ret = n;
                }
        }
        *ret = e;
        return 0;
}

void effective_clear(Effective *e)
{
        free(e->architectures);
        free(e->rules);
        *e = (Effective){};
}
