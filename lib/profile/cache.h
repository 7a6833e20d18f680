/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* A verdict cache: bytes already judged are never compiled again. Building moby's default for three
 * architectures costs libseccomp 15-20 ms; a daemon re-reads the same profiles on every relist and
 * every node restart. The key is SHA-256 over everything that can change a verdict: seccompd's and
 * libseccomp's versions, the target runtime, the architecture, the NOTIFY policy, and the bytes. */

#include <stdbool.h>

#include "validate.h"

typedef struct VerdictCache VerdictCache;

int verdict_cache_new(size_t capacity, VerdictCache **ret);
VerdictCache *verdict_cache_free(VerdictCache *c);

static inline void verdict_cache_freep(VerdictCache **c)
{
        if (*c)
                verdict_cache_free(*c);
}

/* Like profile_validate(), through the cache. *ret is the caller's copy. */
int profile_validate_cached(VerdictCache *c, const char *buf, size_t len, const ValidateOptions *o,
                            Verdict *ret, bool *ret_hit);
