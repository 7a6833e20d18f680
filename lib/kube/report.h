/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "shared/sha256.h"

/* What seccompd writes back to the cluster, built as JSON here and sent by the daemon: Events on
 * the source object, the removal of a startup taint from its Node, and a Node condition. */

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
