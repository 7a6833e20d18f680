/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The profile model: the union of every field a real consumer reads (OCI runtime-spec, moby/profiles,
 * containers/common), decoded with Go encoding/json semantics, because containerd, CRI-O and Docker
 * all read profiles with it:
 *   - keys match exactly first, then case-insensitively (Go folds ASCII, U+017F to 's', U+212A to 'k');
 *   - duplicate keys are all applied in order, so the last one wins; objects and arrays are decoded
 *     into what earlier keys left there (Go reuses struct fields and slice elements);
 *   - null leaves strings, integers and structs unchanged and clears slices and pointers;
 *   - unsigned fields take only integer literals: no sign, no fraction, no exponent.
 * Every field remembers where its value came from, for diagnostics. Strings point into the JsonDoc,
 * which the Profile owns. */

#include <stdbool.h>
#include <stdint.h>

#include "diag.h"
#include "json.h"

typedef struct Loc {
        unsigned line, column; /* of the value; line 0 = the key never appeared */
} Loc;

typedef struct StringList {
        const char **items;
        Loc *locs;
        size_t n;
        bool non_null; /* present and not null: Go's nil vs empty slice (`"flags": []`) */
} StringList;

typedef struct ProfileArg {
        uint64_t index, value, value_two;
        const char *op;
        Loc loc, loc_index, loc_value, loc_value_two, loc_op;
} ProfileArg;

typedef struct ProfileArgs {
        ProfileArg *items;
        size_t n;
} ProfileArgs;

/* moby's includes/excludes. containers/common has the same without minKernel. */
typedef struct ProfileFilter {
        StringList caps;
        StringList arches;
        const char *min_kernel; /* NULL when absent or null */
        Loc loc, loc_caps, loc_arches, loc_min_kernel;
        bool min_kernel_not_string; /* moby's KernelVersion takes only a JSON string */
} ProfileFilter;

typedef struct ProfileRule {
        const char *name; /* moby's deprecated single name */
        StringList names;
        const char *action;
        uint64_t *errno_ret; /* points at errno_ret_value when set */
        uint64_t errno_ret_value;
        const char *errno_name; /* containers/common "errno" */
        ProfileArgs args;
        const char *comment;
        ProfileFilter includes, excludes;
        Loc loc, loc_name, loc_names, loc_action, loc_errno_ret, loc_errno_name, loc_args, loc_comment;
} ProfileRule;

typedef struct ProfileRules {
        ProfileRule *items;
        size_t n;
} ProfileRules;

typedef struct ArchMapEntry {
        const char *architecture;
        StringList sub_architectures;
        Loc loc, loc_architecture, loc_sub_architectures;
} ArchMapEntry;

typedef struct ArchMap {
        ArchMapEntry *items;
        size_t n;
} ArchMap;

typedef struct Profile {
        JsonDoc *doc; /* owns every string below */

        const char *default_action;
        uint64_t *default_errno_ret; /* points at default_errno_ret_value when set */
        uint64_t default_errno_ret_value;
        const char *default_errno_name; /* containers/common "defaultErrno" */
        StringList architectures;
        ArchMap arch_map;
        StringList flags;
        const char *listener_path;
        const char *listener_metadata;
        ProfileRules syscalls;

        Loc loc_default_action, loc_default_errno_ret, loc_default_errno_name, loc_architectures,
                loc_arch_map, loc_flags, loc_listener_path, loc_listener_metadata, loc_syscalls;
} Profile;

/* Decodes bytes into a Profile. Problems of syntax and type go to diags (they are errors: every Go
 * consumer fails on them); the returned profile holds what Go would have decoded up to that point and
 * may be used for further checks. Returns -ENOMEM, or -EBADMSG when there is nothing to check further
 * (a syntax error, or a top level that is not an object), 0 otherwise. */
int profile_parse(const char *buf, size_t len, Diagnostics *diags, Profile **ret);
Profile *profile_free(Profile *p);

static inline void profile_freep(Profile **p)
{
        if (*p)
                profile_free(*p);
}
