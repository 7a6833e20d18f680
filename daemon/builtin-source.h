/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Profiles seccompd itself ships, put ahead of another source's set: with `run --recording-profile`,
 * seccompd/record.json, under which a pod runs while the recorder agent (`seccompd recorder`) records
 * what it calls. A source wrapped around the real one (a directory, the API), so the manager never asks
 * which it has and the engine sees one set: the built-in entries first. The engine's rule that the first
 * claim of a path wins makes them win over any object's key at the same path; that key is reported on
 * its object as a conflict that names the built-in profile. A built-in profile is validated like any
 * (once, at start), owned through the state file like any, and removed like any when it leaves the
 * set: a restart without the flag, then --delete-grace. */

#include <stddef.h>

#include "cache.h"
#include "source.h"
#include "validate.h"

/* Every syscall allowed and logged: the kernel's audit records name each one the container makes. */
#define RECORDING_PROFILE_PATH  "seccompd/record.json"
#define RECORDING_PROFILE_BYTES "{\"defaultAction\":\"SCMP_ACT_LOG\"}\n"
/* The first component of the path: a tenant namespace of this name would own that directory. */
#define RECORDING_PROFILE_DIR "seccompd"

typedef struct BuiltinProfile {
        const char *path;   /* relative to the root; borrowed, static */
        const char *bytes;  /* borrowed, static */
        const char *origin; /* for messages and the log, e.g. "built-in (--recording-profile)" */
} BuiltinProfile;

/* The profiles (borrowed: static), each validated now, then inner's set. Takes inner on success only:
 * on an error (-ENOMEM, or what the validator returns) the caller still owns it. */
int builtin_source_new(Source *inner, const BuiltinProfile *profiles, size_t n, VerdictCache *cache,
                       const ValidateOptions *validate, Source **ret);
