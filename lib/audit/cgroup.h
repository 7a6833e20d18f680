/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Which container, and which Kubernetes pod, a process belongs to, from its /proc/PID/cgroup.
 *
 * Layouts read (a path component names the container; an ancestor names the pod):
 *   containerd, systemd driver:  .../kubepods-besteffort-pod<uid with '_'>.slice/cri-containerd-<id>.scope
 *   containerd, cgroupfs driver: /kubepods/besteffort/pod<uid>/<64-hex id>
 *   CRI-O:                       .../kubepods-burstable-pod<uid>.slice/crio-<id>.scope
 *                                (crio-conmon-<id>.scope is its monitor, not the container)
 *   Docker, podman:              docker-<id>.scope, libpod-<id>[.scope] (no pod)
 * the QoS level absent for Guaranteed pods (kubepods-pod<uid>.slice, /kubepods/pod<uid>). Both cgroup
 * v2 ("0::/path") and v1 ("N:controllers:/path") lines are read; the innermost container component of
 * any line wins. A reader in a cgroup namespace of its own sees other processes' paths relative to its
 * root, with leading ".." components ("0::/../../kubepods-...slice/cri-containerd-<id>.scope"): those
 * are skipped, since the pod and container components are below the common ancestor. Pure: the
 * caller reads the file. */

#include <stdbool.h>

#define CGROUP_CONTAINER_ID_MAX 64 /* hex digits */
#define CGROUP_POD_UID_MAX      36 /* 8-4-4-4-12 */

typedef enum CgroupRuntime {
        CGROUP_RUNTIME_NONE,
        CGROUP_RUNTIME_CONTAINERD, /* cri-containerd-<id>.scope, or a bare 64-hex id under kubepods */
        CGROUP_RUNTIME_CRIO,
        CGROUP_RUNTIME_DOCKER,
        CGROUP_RUNTIME_PODMAN,
} CgroupRuntime;

typedef struct CgroupIdentity {
        CgroupRuntime runtime;
        char container_id[CGROUP_CONTAINER_ID_MAX + 1]; /* lowercase hex; "" when none */
        char pod_uid[CGROUP_POD_UID_MAX + 1];           /* lowercase, with '-'; "" when none */
} CgroupIdentity;

/* Returns 0 with *ret filled when a container component was found, -ENOENT when none (a host
 * process, a pod's sandbox-less cgroup), -EINVAL when the text is not /proc/PID/cgroup. */
int cgroup_identity_parse(const char *cgroup, CgroupIdentity *ret);

/* A CRI container ID as Kubernetes reports it in containerStatuses[].containerID:
 * "containerd://<id>", "cri-o://<id>", "docker://<id>" → the lowercase hex id (64 digits) in ret.
 * Returns 0, or -EINVAL for anything else. */
int cgroup_container_id_from_status(const char *status_id, char ret[static CGROUP_CONTAINER_ID_MAX + 1]);
