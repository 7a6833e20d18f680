/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* What a consumer hands to runc: the plain OCI view of a profile.
 *   containerd:   unmarshals the OCI type only; every moby and containers/common key is dropped.
 *   CRI-O:        containers/common: includes/excludes by caps and arch (minKernel is not in its
 *                 type), archMap for amd64/arm64/mips64/s390x only, errno names over numbers.
 *   moby:         Docker's own resolution, also what `seccompd convert` produces: includes/excludes
 *                 by caps, arch and minKernel, archMap for the node's arch. */

#include <stdbool.h>
#include <stdint.h>

#include "profile.h"
#include "tables.h"

typedef enum Flavor {
        FLAVOR_OCI,
        FLAVOR_COMMON,
        FLAVOR_MOBY,
} Flavor;

typedef struct ResolveOptions {
        Flavor flavor;
        const ArchInfo *arch;    /* the node's */
        const char *const *caps; /* the container's bounding set */
        size_t n_caps;
        unsigned kernel_major, kernel_minor;
} ResolveOptions;

typedef struct EffectiveRule {
        size_t rule;              /* index into Profile.syscalls, for diagnostics */
        const char *const *names; /* borrowed */
        const Loc *name_locs;     /* borrowed */
        size_t n_names;
        const char *action;
        Loc loc_action;
        uint64_t errno_ret;
        bool has_errno_ret;
        const ProfileArgs *args; /* borrowed */
} EffectiveRule;

typedef struct Effective {
        const char *default_action;
        uint64_t default_errno_ret;
        bool has_default_errno_ret;
        const char **architectures; /* owned array, borrowed strings */
        size_t n_architectures;
        const StringList *flags; /* borrowed */
        const char *listener_path;
        const char *listener_metadata;
        EffectiveRule *rules; /* owned */
        size_t n_rules;
} Effective;

int profile_resolve(const Profile *p, const ResolveOptions *o, Effective *ret);
void effective_clear(Effective *e);

/* Default capabilities of a container: containerd (and Docker) grant 14, CRI-O 9 (crio.conf
 * default_capabilities since 1.18). */
extern const char *const caps_default_containerd[];
extern const size_t caps_default_containerd_count;
extern const char *const caps_default_crio[];
extern const size_t caps_default_crio_count;

/* moby's KernelVersion: "N.M", each part 0..255, not both 0. Returns -EINVAL otherwise. */
int min_kernel_parse(const char *s, unsigned *ret_major, unsigned *ret_minor);
