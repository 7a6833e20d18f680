/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* What the manager asks of a source of profiles (a directory, the Kubernetes API), and nothing more:
 * the desired set with its completeness, the bytes of an entry the engine needs to write again, a
 * report after each sync, and whether the source is ready. A source validates profiles as they
 * arrive, so both hand the engine the same thing: paths, hashes, verdicts, bytes until on disk.
 * It tells the manager that its set changed through the callback it was created with. */

#include <stdbool.h>
#include <stddef.h>

#include "sync.h"

typedef struct Source Source;

/* The set changed (or must be looked at again): schedule a sync. */
typedef void (*SourceChangedFn)(void *userdata);

typedef struct SourceDesired {
        const DesiredProfile *set; /* borrowed: valid until after_sync() */
        size_t n;
        bool complete; /* every part was read: what is absent was removed, and may be deleted */
        bool settled;  /* every part was read, whatever it held (a manifest refused whole is read):
                          with nothing failing, the node is ready */
} SourceDesired;

typedef struct SourceOps {
        /* The set for one sync. full: start, SIGHUP, drift, lost events: trust nothing seen before, so
         * the engine looks at every target (a managed file someone deleted or overwrote is repaired). */
        int (*desired)(Source *s, bool full, SourceDesired *ret);
        /* The engine needs the bytes of entry index of the last set: read them again, then say changed. */
        void (*need_bytes)(Source *s, size_t index);
        /* After sync_apply over the last set: report what concerns the source's objects (once per
         * version: rejections, conflicts, warnings), and drop bytes that are now on disk. */
        void (*after_sync)(Source *s, const SyncResult *res);
        /* Whether the source can serve (listed in full, not refused); when not, *ret_reason
         * (malloc'd, may be left NULL) says why. */
        bool (*ready)(const Source *s, char **ret_reason);
        void (*free)(Source *s);
} SourceOps;

/* Every source begins with this. */
struct Source {
        const SourceOps *ops;
};

static inline int source_desired(Source *s, bool full, SourceDesired *ret)
{
        return s->ops->desired(s, full, ret);
}

static inline void source_need_bytes(Source *s, size_t index)
{
        s->ops->need_bytes(s, index);
}

static inline void source_after_sync(Source *s, const SyncResult *res)
{
        s->ops->after_sync(s, res);
}

static inline bool source_ready(const Source *s, char **ret_reason)
{
        return s->ops->ready(s, ret_reason);
}

static inline Source *source_free(Source *s)
{
        if (s)
                s->ops->free(s);
        return NULL;
}
