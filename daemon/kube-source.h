/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <systemd/sd-event.h>

#include "cache.h"
#include "kube/kubeconfig.h"
#include "kube/reflector.h"
#include "metrics.h"
#include "source.h"
#include "sync.h"
#include "validate.h"

/* The Kubernetes source: one reflector per (resource, namespace), a store of the labeled ConfigMaps
 * and Secrets keyed by UID, each key validated when its bytes arrive. A sync takes the desired set
 * from here; after it, bytes that are on disk are dropped (only hashes stay) and what was rejected or
 * in conflict is reported as an Event on its object. */
typedef struct KubeSource KubeSource;

typedef struct KubeSourceOptions {
        sd_event *event;
        const KubeConfig *config; /* borrowed */
        char **namespaces;        /* borrowed */
        size_t n_namespaces;
        char **tenants; /* borrowed: less trusted namespaces, forced under <root>/<namespace>/ */
        size_t n_tenants;
        const char *selector;
        bool secrets;
        const char *node_name; /* for Events' source; may be NULL */
        double time_scale;
        VerdictCache *cache;             /* borrowed */
        const ValidateOptions *validate; /* borrowed */
        Metrics *metrics;                /* borrowed, may be NULL */
        void (*changed)(void *userdata); /* the desired set changed: schedule a sync */
        void *userdata;
} KubeSourceOptions;

int kube_source_new(const KubeSourceOptions *o, KubeSource **ret);
int kube_source_start(KubeSource *s);

/* The Source it implements (source.h), freed with source_free(). Its desired set is in the order that
 * decides conflicts (oldest creationTimestamp, then namespace/name first) and complete once every
 * reflector has listed in full, so that absence means deletion. ready(): every reflector has listed,
 * and none is refused (401/403). after_sync(): rejections, conflicts and warnings become Events on
 * their objects, and so does every key or object the decoder refuses (a name, an encoding, a
 * directory annotation), each wanted once per version and remembered with it; they go out within
 * the limits of lib/kube/report.h (per object, overall, in flight) and are retried until the
 * server has them. Bytes now on disk are dropped, only hashes stay. */
static inline Source *kube_source_as_source(KubeSource *s)
{
        return (Source *) s;
}

KubeClient *kube_source_client(KubeSource *s);
/* Sums over the reflectors, and how many are refused (401/403) now. */
void kube_source_reflector_stats(const KubeSource *s, KubeReflectorStats *ret_sum, unsigned *ret_refused);
