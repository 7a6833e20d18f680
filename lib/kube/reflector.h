/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "kube/client.h"
#include "kube/decode.h"

/* List, then watch, one resource in one namespace, the way client-go's reflector does
 * (k/client-go tools/cache/reflector.go), with the same constants:
 *  - LIST in pages (limit/continue; an expired continue restarts the list), then WATCH from the
 *    list's resourceVersion with bookmarks and a random timeoutSeconds of 300-600 s, under a hard
 *    client deadline of timeoutSeconds + 30 s;
 *  - a clean end of stream re-watches from the last resourceVersion without a relist (unless it
 *    came within 1 s with no event: then back off and relist);
 *  - 410 (an ERROR event or the HTTP status, reason Expired or Gone) relists after a backoff of its
 *    own: client-go's Run() waits out its backoff manager between every ListAndWatch return, 410s
 *    included, so a server whose every watch ends in 410 is not relisted in a tight loop. That
 *    backoff starts again once a watch has delivered an event or lasted 2 minutes;
 *  - anything else backs off 0.8 s doubling to 30 s, each wait jittered up to twice as long, and
 *    the backoff starts again when its last start is 2 minutes old; a Retry-After longer than the
 *    backoff wins; 429 and refused connections re-watch, other errors relist;
 *  - resourceVersions are opaque strings, only ever sent back;
 *  - every response is bounded before it is decoded (lib/kube/decode.h): one event line or list item
 *    over 3 MiB is refused, and a list page over 32 MiB, 262144 JSON values or 64 levels of nesting
 *    is asked for again in pages half the size, down to one object; an object that alone is over a
 *    bound is skipped, named, and its list counted incomplete.
 * Every timer is multiplied by time_scale (1.0 in production; tests compress it). */

/* Pages of 10: ten objects of the 3 MiB an item may have fit in the 32 MiB a page may have, so a page
 * of objects the reflector accepts is never refused for its size. */
#define KUBE_LIST_LIMIT 10

typedef enum KubeEventType {
        KUBE_ADDED,
        KUBE_MODIFIED,
        KUBE_DELETED,
} KubeEventType;

typedef struct KubeReflector KubeReflector;

typedef struct KubeReflectorCallbacks {
        /* A full list begins: every object it holds arrives as KUBE_ADDED; at its end, objects of this
         * reflector that did not arrive are gone (complete) — or, when something was refused, nothing
         * may be concluded from their absence (!complete). */
        void (*list_begin)(KubeReflector *r, void *userdata);
        void (*list_end)(KubeReflector *r, bool complete, void *userdata);
        /* An object (borrowed) as listed or watched. */
        void (*object)(KubeReflector *r, KubeEventType type, json_t *object, void *userdata);
        /* Something to report: a failed request, a refused object, a recovery. The reflector has
         * already decided what to do next. error < 0 with status (may be NULL); error 0: a request
         * succeeded after failures. */
        void (*problem)(KubeReflector *r, const char *verb, int error, const KubeStatus *status,
                        const char *detail, void *userdata);
} KubeReflectorCallbacks;

typedef struct KubeReflectorOptions {
        const char *resource;       /* "configmaps", "secrets" */
        const char *namespace;      /* NULL: every namespace */
        const char *selector;       /* a label selector, sent as is */
        const char *field_selector; /* a field selector ("spec.nodeName=x"), sent as is; may be NULL */
        double time_scale;
        const KubeReflectorCallbacks *callbacks;
        void *userdata;
} KubeReflectorOptions;

int kube_reflector_new(KubeClient *client, sd_event *event, const KubeReflectorOptions *o,
                       KubeReflector **ret);
KubeReflector *kube_reflector_free(KubeReflector *r);
int kube_reflector_start(KubeReflector *r);
/* Relist now (the consumer lost something it needs: bytes it dropped to save memory). */
void kube_reflector_relist(KubeReflector *r);

typedef struct KubeReflectorStats {
        uint64_t lists, relists, watches, watch_restarts, events, bookmarks, errors;
} KubeReflectorStats;

const char *kube_reflector_resource(const KubeReflector *r);
const char *kube_reflector_namespace(const KubeReflector *r);
bool kube_reflector_synced(const KubeReflector *r); /* a full list has completed */
int kube_reflector_auth_error(
        const KubeReflector *r); /* -EACCES/-EPERM while the last request was refused */
const KubeReflectorStats *kube_reflector_stats(const KubeReflector *r);

/* The backoff, exposed for its test: successive waits and the reset. */
typedef struct KubeBackoff {
        uint64_t step_usec, last_reset_usec;
        double scale;
} KubeBackoff;
uint64_t kube_backoff_next(KubeBackoff *b, uint64_t now_usec, double random01);
void kube_backoff_reset(KubeBackoff *b); /* the next wait is the first again */
