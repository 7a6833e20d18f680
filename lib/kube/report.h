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
 * cluster gets one Event (the others get 409 AlreadyExists), not one per node. */
#define KUBE_EVENT_NAME_MAX 253
void kube_event_name(const KubeObjectRef *obj, const char *key, const char *reason,
                     const uint8_t profile_hash[SHA256_DIGEST_SIZE], char ret[KUBE_EVENT_NAME_MAX + 1]);

/* A core/v1 Event (POST /api/v1/namespaces/{ns}/events) about obj: type "Warning", the reason, the
 * message cut to 1024 bytes on a UTF-8 boundary, source {component: "seccompd", host: node},
 * reportingComponent "seccompd", reportingInstance node, first/lastTimestamp now, count 1. */
json_t *kube_event_new(const KubeObjectRef *obj, const char *name, const char *reason, const char *message,
                       const char *node, uint64_t now_realtime_usec);

/* A JSON patch (RFC 6902) that removes every taint with this key from the node object (as returned
 * by GET), each removal guarded by a "test" of the exact taint at that index, highest index first so
 * the indexes stay valid. Returns 0 and *ret = NULL when the node has no such taint. */
int kube_taint_removal_patch(const json_t *node, const char *key, char **ret);

/* A strategic-merge patch for nodes/{name}/status setting the condition type (conditions merge by
 * type, so kubelet's own conditions are untouched). lastTransitionTime moves only when the status
 * differs from the one in node (the current object, may be NULL); lastHeartbeatTime is now. */
int kube_condition_patch(const json_t *node, const char *type, bool status, const char *reason,
                         const char *message, uint64_t now_realtime_usec, char **ret);

/* RFC 3339 UTC with seconds, as Kubernetes writes metav1.Time: "2026-11-28T04:53:04Z". */
void kube_format_time(uint64_t realtime_usec, char ret[32]);
