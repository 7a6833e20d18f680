/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "shared/sha256.h"

/* What seccompd writes back to the cluster, built as JSON here and sent by the daemon: Events on
 * the source object (and the pace they go out at), the removal of a startup taint from its Node,
 * and a Node condition. */

typedef struct KubeObjectRef {
        const char *kind; /* "ConfigMap" or "Secret" */
        const char *namespace;
        const char *name;
        const char *uid;
        const char *api_version; /* "v1" */
} KubeObjectRef;

/* A DNS-1123 subdomain, at most 253 characters: the object's name (cut so the whole fits), a dot,
 * and 16 hex digits of SHA-256 over (uid, key, reason, profile hash). Deterministic: every node
 * rejecting the same bytes of the same key of the same object computes the same name, so the
 * cluster gets one Event (the others get 409 AlreadyExists), not one per node.
 *
 * Nodes may run different seccompd versions, so the recipe is a wire format; in Python:
 *   f = lambda b: len(b).to_bytes(8, "big") + b
 *   sha256(f(uid) + f(key) + f(reason) + profile_hash).hexdigest()[:16]
 * (a NULL string hashes as ""). The name part is lowercased and cut to 236 characters, and any
 * trailing '-' or '.' the cut exposes is dropped; a name that is not DNS-1123 (a caller bug) is
 * mended rather than passed on. With no name part left the result is the 16 hex digits alone. */
#define KUBE_EVENT_NAME_MAX      253
#define KUBE_EVENT_NAME_HASH_LEN 16
void kube_event_name(const KubeObjectRef *obj, const char *key, const char *reason,
                     const uint8_t profile_hash[SHA256_DIGEST_SIZE], char ret[KUBE_EVENT_NAME_MAX + 1]);

/* A core/v1 Event (POST /api/v1/namespaces/{ns}/events) about obj: type "Warning", the reason, the
 * message cut to 1024 bytes on a UTF-8 boundary, source {component: "seccompd", host: node},
 * reportingComponent "seccompd", reportingInstance node, first/lastTimestamp now, count 1.
 * metadata.namespace is obj->namespace.
 *
 * Message: bytes that are not UTF-8 become U+FFFD; a message longer than 1024 bytes is cut after
 * the last whole character that leaves room for "…" (3 bytes), which is appended, so a cut message
 * is 1022..1024 bytes and always says it was cut. A NULL message is "".
 * NULL members of obj, and a NULL node, leave the member out (no source.host, no
 * reportingInstance). Returns NULL on OOM, if obj, name or reason is NULL, or if a string other
 * than the message is not UTF-8. */
json_t *kube_event_new(const KubeObjectRef *obj, const char *name, const char *reason, const char *message,
                       const char *node, uint64_t now_realtime_usec);

/* How fast Events go out. Each Event is wanted once per version of what it is about and kept until
 * the server has it, so what exceeds a limit waits rather than being dropped; the limits bound the
 * load on the API server and on this node, whatever a ConfigMap holds.
 *  - per involved object: a burst of 25, then 1 every 5 minutes: client-go's
 *    EventSourceObjectSpamFilter (tools/record/events_cache.go, defaultSpamBurst and defaultSpamQPS,
 *    keyed by source + involved object), which every controller's Events pass through, so an admin
 *    sees on a ConfigMap with 600 bad keys what a controller would show (client-go drops the rest;
 *    here they follow, one per interval);
 *  - overall: a burst of 10, then 5 per second: client-go's default client rate limiter
 *    (rest.DefaultQPS, rest.DefaultBurst), the budget a controller's Event POSTs share;
 *  - at most 4 POSTs in flight (client-go's broadcaster writes one at a time): a few connections,
 *    never one per Event;
 *  - a failed POST is retried after 1 s, doubling to 5 minutes (the per-object refill: a retry never
 *    outpaces it), each wait jittered down to half so that nodes do not retry in step. client-go
 *    gives up after 12 tries 10 s apart; an Event here is retried as long as it is wanted, which the
 *    store bounds.
 * Every interval is multiplied by the daemon's time scale. */
#define KUBE_EVENTS_OBJECT_BURST         25
#define KUBE_EVENTS_OBJECT_INTERVAL_USEC (300 * 1000000ULL)
#define KUBE_EVENTS_BURST                10
#define KUBE_EVENTS_INTERVAL_USEC        (200 * 1000ULL)
#define KUBE_EVENTS_IN_FLIGHT_MAX        4
#define KUBE_EVENT_RETRY_INIT_USEC       (1000000ULL)
#define KUBE_EVENT_RETRY_MAX_USEC        (300 * 1000000ULL)

/* A token bucket as one timestamp (the generic cell rate algorithm): a zeroed one is full. burst
 * tokens, one more every interval_usec. Times are CLOCK_MONOTONIC usec. */
typedef struct KubeRateLimit {
        uint64_t tat_usec; /* when the bucket is full again, as if every token taken had waited */
} KubeRateLimit;

/* When a token is there: now_usec if one is already, else the moment the next one comes. */
uint64_t kube_rate_limit_ready_at(const KubeRateLimit *l, unsigned burst, uint64_t interval_usec,
                                  uint64_t now_usec);
/* Takes a token if one is there now: true; false (and nothing changed) if not. */
bool kube_rate_limit_take(KubeRateLimit *l, unsigned burst, uint64_t interval_usec, uint64_t now_usec);

/* The wait before the next try of an Event POST after its failures'th failure (>= 1), unscaled:
 * 1 s doubling, capped at 5 minutes, then jittered into [d/2, d) by random01 in [0, 1). */
uint64_t kube_event_retry_usec(unsigned failures, double random01);

/* Whether a POST's outcome (kube_status_to_errno()) means the server has the Event: created (2xx),
 * or 409 AlreadyExists, which for a deterministic name means another node posted it first. */
bool kube_event_accepted(int error);

/* A JSON patch (RFC 6902) that removes every taint with this key from the node object (as returned
 * by GET), each removal guarded by a "test" of the exact taint at that index, highest index first so
 * the indexes stay valid. When the node has metadata.resourceVersion, the patch starts with a test
 * of it, so any concurrent edit of the node fails the patch (422) and the caller re-GETs.
 * Returns 0 and *ret = NULL when the node has no such taint (also with no spec or no spec.taints),
 * 0 and a string to free() otherwise, -EINVAL if node is not shaped like a Node (spec not an
 * object, spec.taints not an array, a taint not an object or without a string key, a
 * resourceVersion that is not a string), -ENOMEM. */
int kube_taint_removal_patch(const json_t *node, const char *key, char **ret);

/* Whether spec.taints has a taint with this key. False too when node is NULL or malformed. */
bool kube_node_has_taint(const json_t *node, const char *key);

/* The status of the first condition of this type in status.conditions: 1 "True", 0 "False",
 * -ENODATA for any other status ("Unknown"), -ENOENT when there is no such condition (or node is
 * NULL), -EINVAL when node is malformed (conditions not an array, a condition without a string
 * status, ...). */
int kube_node_condition_status(const json_t *node, const char *type);

/* A strategic-merge patch for nodes/{name}/status setting the condition type (conditions merge by
 * type, so kubelet's own conditions are untouched). lastTransitionTime moves only when the status
 * differs from the one in node (the current object, may be NULL); lastHeartbeatTime is now.
 * A malformed node counts as one without the condition (lastTransitionTime is now).
 * Returns 0 and a string to free(), -EINVAL for a NULL argument or strings that are not UTF-8,
 * -ENOMEM. */
int kube_condition_patch(const json_t *node, const char *type, bool status, const char *reason,
                         const char *message, uint64_t now_realtime_usec, char **ret);

/* RFC 3339 UTC with seconds, as Kubernetes writes metav1.Time: "2026-11-28T04:53:04Z". */
void kube_format_time(uint64_t realtime_usec, char ret[32]);
