/* SPDX-License-Identifier: Apache-2.0 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "builtin-source.h"
#include "log.h"
#include "shared/macro.h"
#include "shared/sha256.h"

typedef struct Builtin {
        BuiltinProfile p;
        uint8_t hash[SHA256_DIGEST_SIZE];
        Verdict verdict;
} Builtin;

typedef struct BuiltinSource {
        Source source;
        Source *inner;
        Builtin *builtins;
        size_t n;
        DesiredProfile *set; /* the built-in entries, then the inner set of the last desired() */
        size_t allocated;
        SyncEvent *events; /* the inner set's events of the last sync, by its own indices */
        size_t events_allocated;
} BuiltinSource;

static const Builtin *builtin_at(const BuiltinSource *s, const char *path)
{
        for (size_t i = 0; i < s->n; i++)
                if (strcmp(s->builtins[i].p.path, path) == 0)
                        return s->builtins + i;
        return NULL;
}

static int builtin_desired(Source *source, bool full, SourceDesired *ret)
{
        BuiltinSource *s = (BuiltinSource *) source;
        SourceDesired inner = {};
        int r = source_desired(s->inner, full, &inner);
        if (r < 0)
                return r;
        if (s->n + inner.n > s->allocated) {
                size_t a = MAX(s->n + inner.n, 2 * s->allocated);
                DesiredProfile *set = realloc(s->set, a * sizeof(DesiredProfile));
                if (!set)
                        return -ENOMEM;
                s->set = set;
                s->allocated = a;
        }
        for (size_t i = 0; i < s->n; i++) {
                const Builtin *b = s->builtins + i;
                s->set[i] = (DesiredProfile){
                        .path = b->p.path,
                        .bytes = b->p.bytes,
                        .len = strlen(b->p.bytes),
                        .hash = b->hash,
                        .origin = b->p.origin,
                        .valid = b->verdict.valid,
                        /* The bytes never change: between full syncs (start, SIGHUP, drift, a retry
                         * after a failure) the file is what the last one left. */
                        .trusted = !full,
                };
        }
        if (inner.n > 0)
                memcpy(s->set + s->n, inner.set, inner.n * sizeof(DesiredProfile));
        *ret = (SourceDesired){
                .set = s->set, .n = s->n + inner.n, .complete = inner.complete, .settled = inner.settled};
        return 0;
}

static void builtin_need_bytes(Source *source, size_t index)
{
        BuiltinSource *s = (BuiltinSource *) source;
        /* A built-in entry always comes with its bytes: the engine never asks for them. */
        if (index >= s->n)
                source_need_bytes(s->inner, index - s->n);
}

/* What the manager does not say of a built-in entry (it logs the engine's own actions), as a source
 * says it of its objects: the verdict's diagnostics with the outcome, and conflicts. */
static void log_builtin_event(const BuiltinSource *s, const SyncEvent *e)
{
        const Builtin *b = s->builtins + e->index;
        switch (e->action) {
        case SYNC_REJECTED:
                log_diagnostics(b->p.path, b->p.origin, &b->verdict.diagnostics);
                log_profile(LOG_ERR, e->path, e->origin, "invalid built-in profile not installed");
                break;
        case SYNC_CONFLICT:
                log_profile(LOG_WARNING, e->path, e->origin, "conflict: %s; left alone", e->reason ?: "");
                break;
        case SYNC_INSTALLED:
        case SYNC_UPDATED:
        case SYNC_ADOPTED:
                log_diagnostics(b->p.path, b->p.origin, &b->verdict.diagnostics);
                break;
        default:
                break;
        }
}

/* The inner source sees its own set: indices shifted back, removals (SIZE_MAX) as they are. A key that
 * lost a built-in path learns whose it is, not "another source object". */
static void builtin_after_sync(Source *source, const SyncResult *res)
{
        BuiltinSource *s = (BuiltinSource *) source;
        size_t n = 0;
        if (res->n_events > s->events_allocated) {
                SyncEvent *events = realloc(s->events, res->n_events * sizeof(SyncEvent));
                if (!events) {
                        /* Nothing of the inner set reported this time; the next sync reports again
                         * what concerns its objects (rejections and conflicts are said per sync). */
                        (void) log_error_errno(-ENOMEM, "cannot report on the last sync");
                        return;
                }
                s->events = events;
                s->events_allocated = res->n_events;
        }
        for (size_t i = 0; i < res->n_events; i++) {
                SyncEvent e = res->events[i];
                if (e.index < s->n) {
                        log_builtin_event(s, res->events + i);
                        continue;
                }
                if (e.index != SIZE_MAX)
                        e.index -= s->n;
                if (e.action == SYNC_CONFLICT && e.error == 0 && e.index != SIZE_MAX &&
                    builtin_at(s, e.path))
                        e.reason = "seccompd's built-in profile holds the path (run --recording-profile)";
                s->events[n++] = e;
        }
        SyncResult inner = *res;
        inner.events = s->events;
        inner.n_events = n;
        source_after_sync(s->inner, &inner);
}

static bool builtin_ready(const Source *source, char **ret_reason)
{
        const BuiltinSource *s = (const BuiltinSource *) source;
        return source_ready(s->inner, ret_reason);
}

static void builtin_free(Source *source)
{
        BuiltinSource *s = (BuiltinSource *) source;
        (void) source_free(s->inner);
        for (size_t i = 0; i < s->n; i++)
                verdict_clear(&s->builtins[i].verdict);
        free(s->builtins);
        free(s->set);
        free(s->events);
        free(s);
}

static const SourceOps builtin_source_ops = {
        .desired = builtin_desired,
        .need_bytes = builtin_need_bytes,
        .after_sync = builtin_after_sync,
        .ready = builtin_ready,
        .free = builtin_free,
};

int builtin_source_new(Source *inner, const BuiltinProfile *profiles, size_t n, VerdictCache *cache,
                       const ValidateOptions *validate, Source **ret)
{
        BuiltinSource *s = calloc(1, sizeof(BuiltinSource));
        int r;

        if (!s)
                return -ENOMEM;
        s->source.ops = &builtin_source_ops;
        s->builtins = calloc(MAX(n, (size_t) 1), sizeof(Builtin));
        if (!s->builtins) {
                builtin_free(&s->source);
                return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++) {
                Builtin *b = s->builtins + i;
                size_t len = strlen(profiles[i].bytes);
                r = profile_validate_cached(cache, profiles[i].bytes, len, validate, &b->verdict, NULL);
                if (r < 0) {
                        builtin_free(&s->source);
                        return r;
                }
                s->n++;
                b->p = profiles[i];
                Sha256 h;
                sha256_init(&h);
                sha256_update(&h, b->p.bytes, len);
                sha256_final(&h, b->hash);
        }
        s->inner = inner; /* only now: on an error the caller still has it */
        *ret = &s->source;
        return 0;
}
