/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdint.h>
#include <systemd/sd-event.h>

#include "sync.h"

/* Drift: someone else changing a file seccompd manages. inotify on the root and on every directory
 * that holds a managed file reports each change at once; the echoes of seccompd's own renames and
 * removals are recognised and dropped, anything else calls on_drift (which schedules a full sync,
 * which repairs). */
typedef struct Drift Drift;

typedef void (*DriftFn)(void *userdata);

/* Watches the directories that hold managed files now, before the first sync, so that its own echoes
 * are recognised. root_path is borrowed. */
int drift_new(sd_event *event, const SyncRoot *root, const char *root_path, DriftFn on_drift, void *userdata,
              Drift **ret);
Drift *drift_free(Drift *d);

/* After a sync: what it renamed over or removed will echo (where a watch stood when it wrote); then
 * watch the directories that hold managed files now. now_usec is CLOCK_MONOTONIC. */
void drift_after_sync(Drift *d, const SyncResult *res, uint64_t now_usec);

/* Echoes expected and not yet seen (for tests). */
size_t drift_pending_echoes(const Drift *d);
