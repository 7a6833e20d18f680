/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <systemd/sd-event.h>

#include "cache.h"
#include "source.h"
#include "validate.h"

/* The directory source (--source dir:PATH): plain profiles and ConfigMap/Secret manifests in one
 * directory, a mounted ConfigMap volume included. Each file is read, and its profiles validated, when
 * it is new or its stamp (the file it names, symlinks followed) changed; otherwise its hashes and
 * verdicts are reused without reading it. With an event loop, inotify on the directory names the files
 * to look at, so a sync reads only those. */
typedef struct DirSourceOptions {
        sd_event *event;                 /* NULL: no watch (--once) */
        const char *path;                /* borrowed */
        VerdictCache *cache;             /* borrowed */
        const ValidateOptions *validate; /* borrowed */
        SourceChangedFn changed;
        void *userdata;
} DirSourceOptions;

int dir_source_new(const DirSourceOptions *o, Source **ret);

typedef struct DirSourceStats {
        size_t files_read;   /* files read from disk (not reused from the cache), over all syncs */
        size_t files_cached; /* files whose profiles are remembered now */
} DirSourceStats;

/* For tests and benchmarks. s must come from dir_source_new(). */
void dir_source_stats(const Source *s, DirSourceStats *ret);
