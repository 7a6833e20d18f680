/* SPDX-License-Identifier: Apache-2.0 */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>

#include "drift.h"
#include "log.h"
#include "paths.h"

#define DRIFT_MASK (IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_CREATE | IN_ATTRIB)

/* The kernel queues an echo before the rename or unlink returns; the loop reads it within this. */
#define ECHO_MAX_AGE_USEC (10 * 1000000ULL)

typedef struct Echo {
        char *path;
        uint32_t mask;  /* IN_MOVED_TO for a rename over the target, IN_DELETE for a removal */
        uint64_t since; /* CLOCK_MONOTONIC usec: echoes not seen within ECHO_MAX_AGE_USEC are dropped */
} Echo;

typedef struct WatchedDir {
        Drift *drift;
        char *dir; /* relative to the root, "" for the root */
        sd_event_source *source;
} WatchedDir;

struct Drift {
        sd_event *event;
        const SyncRoot *root;  /* borrowed */
        const char *root_path; /* borrowed */
        DriftFn on_drift;
        void *userdata;
        WatchedDir **watched;
        size_t n_watched;
        Echo *echoes;
        size_t n_echoes;
};

static bool dir_watched(const Drift *d, const char *path)
{
        const char *slash = strrchr(path, '/');
        size_t n = slash ? (size_t) (slash - path) : 0;
        for (size_t i = 0; i < d->n_watched; i++)
                if (strlen(d->watched[i]->dir) == n && strncmp(d->watched[i]->dir, path, n) == 0)
                        return true;
        return false;
}

static void unwatch(Drift *d, WatchedDir *w)
{
        for (size_t i = 0; i < d->n_watched; i++)
                if (d->watched[i] == w) {
                        d->watched[i] = d->watched[--d->n_watched];
                        break;
                }
        sd_event_source_disable_unref(w->source);
        free(w->dir);
        free(w);
}

/* A change in a managed directory: the echo of our own rename or unlink, which needs nothing, or
 * someone else's. */
static int on_inotify(sd_event_source *s, const struct inotify_event *ev, void *userdata)
{
        WatchedDir *w = userdata;
        Drift *d = w->drift;
        char path[PATH_MAX];

        /* The directory is gone (only an empty one can be removed, so no managed file went with it):
         * forget the watch, so that a sync that makes it again watches it again. */
        if (ev->mask & IN_IGNORED) {
                unwatch(d, w);
                return 0;
        }
        if (ev->mask & IN_DELETE_SELF)
                return 0;
        if (ev->len == 0 || (ev->mask & IN_Q_OVERFLOW)) {
                d->on_drift(d->userdata); /* moved away, or events lost: look at everything */
                return 0;
        }
        if (strncmp(ev->name, STATE_PREFIX, strlen(STATE_PREFIX)) == 0)
                return 0; /* our own state and temporary files */
        /* A directory made or removed changes no managed file (only an empty one can be removed); one
         * moved may take managed files with it, and is drift. */
        if ((ev->mask & IN_ISDIR) && (ev->mask & (IN_CREATE | IN_DELETE)))
                return 0;
        (void) snprintf(path, sizeof(path), "%s%s%s", w->dir, *w->dir ? "/" : "", ev->name);
        for (size_t i = 0; i < d->n_echoes; i++)
                if ((ev->mask & d->echoes[i].mask) && strcmp(d->echoes[i].path, path) == 0) {
                        free(d->echoes[i].path);
                        d->echoes[i] = d->echoes[--d->n_echoes];
                        return 0;
                }
        d->on_drift(d->userdata);
        return 0;
}

static void watch_managed_dirs(Drift *d)
{
        char **dirs = NULL;
        size_t n = 0;
        if (sync_root_managed_dirs(d->root, &dirs, &n) < 0)
                return; /* out of memory: the next sync tries again */
        for (size_t i = 0; i < n; i++) {
                bool seen = false;
                for (size_t k = 0; k < d->n_watched && !seen; k++)
                        seen = strcmp(d->watched[k]->dir, dirs[i]) == 0;
                WatchedDir **list =
                        seen ? NULL : realloc(d->watched, (d->n_watched + 1) * sizeof(WatchedDir *));
                WatchedDir *w = list ? malloc(sizeof(WatchedDir)) : NULL;
                _cleanup_free_ char *full = NULL;
                if (list)
                        d->watched = list;
                if (!w || asprintf(&full, "%s/%s", d->root_path, dirs[i]) < 0) {
                        free(w);
                        free(dirs[i]);
                        continue;
                }
                *w = (WatchedDir){.drift = d, .dir = dirs[i]};
                d->watched[d->n_watched++] = w;
                int r = sd_event_add_inotify(d->event, &w->source, full,
                                             DRIFT_MASK | IN_ONLYDIR | IN_DONT_FOLLOW, on_inotify, w);
                if (r < 0)
                        log_profile(LOG_WARNING, NULL, full, "cannot watch for changes: %s", strerror(-r));
        }
        free(dirs);
}

int drift_new(sd_event *event, const SyncRoot *root, const char *root_path, DriftFn on_drift, void *userdata,
              Drift **ret)
{
        Drift *d = calloc(1, sizeof(Drift));
        if (!d)
                return -ENOMEM;
        *d = (Drift){.event = event,
                     .root = root,
                     .root_path = root_path,
                     .on_drift = on_drift,
                     .userdata = userdata};
        watch_managed_dirs(d);
        *ret = d;
        return 0;
}

Drift *drift_free(Drift *d)
{
        if (!d)
                return NULL;
        for (size_t i = 0; i < d->n_watched; i++) {
                sd_event_source_disable_unref(d->watched[i]->source);
                free(d->watched[i]->dir);
                free(d->watched[i]);
        }
        free(d->watched);
        for (size_t i = 0; i < d->n_echoes; i++)
                free(d->echoes[i].path);
        free(d->echoes);
        free(d);
        return NULL;
}

void drift_after_sync(Drift *d, const SyncResult *res, uint64_t now)
{
        /* Echoes of earlier syncs may still be queued behind this one: keep them until seen. */
        for (size_t i = 0; i < d->n_echoes;)
                if (now - d->echoes[i].since > ECHO_MAX_AGE_USEC) {
                        free(d->echoes[i].path);
                        d->echoes[i] = d->echoes[--d->n_echoes];
                } else
                        i++;
        Echo *echoes = realloc(d->echoes, (d->n_echoes + res->n_events + 1) * sizeof(Echo));
        if (echoes)
                d->echoes = echoes;
        for (size_t i = 0; echoes && i < res->n_events; i++) {
                const SyncEvent *e = res->events + i;
                uint32_t mask = e->action == SYNC_REMOVED ? IN_DELETE
                                : e->action == SYNC_INSTALLED || e->action == SYNC_UPDATED ||
                                                e->action == SYNC_REPAIRED || e->action == SYNC_ADOPTED
                                        ? IN_MOVED_TO
                                        : 0;
                /* Only where a watch already stood when we wrote: elsewhere no echo will come. */
                if (mask && dir_watched(d, e->path) && (d->echoes[d->n_echoes].path = strdup(e->path))) {
                        d->echoes[d->n_echoes].mask = mask;
                        d->echoes[d->n_echoes].since = now;
                        d->n_echoes++;
                }
        }
        watch_managed_dirs(d);
}

size_t drift_pending_echoes(const Drift *d)
{
        return d->n_echoes;
}
