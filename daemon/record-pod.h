/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* seccompd record --pod NAMESPACE/NAME: which SECCOMP records are a Kubernetes pod's, and of which
 * of its containers.
 *
 * A record is attributed by reading its process's /proc/PID/cgroup when the record arrives
 * (cgroup.h): it is the pod's when the cgroup names the pod's UID, or a container ID the pod's status
 * names. Records are kept per container ID as they arrive, because a container's start-up calls
 * come before the kubelet writes its containerID into the pod's status: an ID the pod has not
 * named yet makes the pod be fetched again (backing off), and once more when recording stops, so
 * that start-up records are named and kept. Records of a process already gone are counted, never
 * guessed. The pod is read with the same client as seccompd run (kube/client.h), on an sd-event
 * loop the verb runs between its reads (record_pod_fd, record_pod_process). */

#include <stdbool.h>
#include <stddef.h>

#include "record.h"
#include "recorder.h"

typedef struct RecordPod RecordPod;

typedef struct RecordPodOptions {
        const char *kubeconfig; /* --kubeconfig, or NULL: KUBECONFIG, else the service account */
        const char *namespace;
        const char *name;
        const char *const *containers; /* --container names: only these go into the profile */
        size_t n_containers;
        bool follow; /* say "+ syscall" as each container records one it had not */
} RecordPodOptions;

/* Loads the config and reads the pod (waiting for it, at most the request's deadline). Errors, each
 * with *ret_error saying why (free it): -ENOENT the pod does not exist, -EINVAL a config that cannot
 * be used or a --container the pod does not have (the message lists its containers), others from the
 * API (kube_status_to_errno). */
int record_pod_new(const RecordPodOptions *o, RecordPod **ret, char **ret_error);
RecordPod *record_pod_free(RecordPod *p);
static inline void record_pod_freep(RecordPod **p)
{
        if (*p)
                (void) record_pod_free(*p);
}

/* The fd that becomes readable when the pod's requests need attention, and the work then: call
 * record_pod_process before waiting (it arms the timers) and after the fd was readable. */
int record_pod_fd(RecordPod *p);
void record_pod_process(RecordPod *p);

/* One SECCOMP record the other filters let through. Returns 1 when it was the pod's (kept with its
 * container), 0 when not (or its process had exited: counted), -ENOMEM. */
int record_pod_add(RecordPod *p, const AuditRecord *rec);

/* Recording stopped: reads the pod once more, names the container IDs, adds the records of the
 * selected containers to dst, and reports on stderr what each container recorded. Returns how many
 * containers went into dst, or -ENOMEM. */
int record_pod_finish(RecordPod *p, AuditRecorder *dst);
