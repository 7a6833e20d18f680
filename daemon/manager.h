/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "shared/macro.h"
#include "validate.h"

/* The node daemon: one sd-event loop that owns every event source (signals, the source, drift
 * watches, the grace timer, the watchdog, the HTTP endpoint). Any change schedules one sync, which
 * reads top to bottom in manager_sync(): desired set → sync_apply → drift → the source's report →
 * STATUS/READY, metrics, the node. */
typedef struct Manager Manager;

/* The status a sync ends in, as `run --once` exits with it. */
typedef enum SyncStatus {
        SYNC_STATUS_OK = 0,         /* every profile installed */
        SYNC_STATUS_INVALID = 1,    /* one was rejected or in conflict */
        SYNC_STATUS_INCOMPLETE = 3, /* a source unreadable, the disk failing or full */
} SyncStatus;

typedef struct KubeArgs {
        const char *kubeconfig, *selector, *listen, *node_name, *taint;
        /* Sized from argc, never a fixed limit: each --namespace or --tenant-namespace takes at least
         * one argument, and manager_new() appends the tenants (or the pod's own namespace) to
         * namespaces. The strings are borrowed from argv or the environment. */
        char **namespaces, **tenants;
        size_t n_namespaces, n_tenants;
        bool secrets, condition;
} KubeArgs;

typedef struct ManagerOptions {
        const char *root_path;  /* borrowed */
        const char *source_dir; /* --source dir:PATH, borrowed; NULL: --source kube */
        KubeArgs *kube;         /* with --source kube; borrowed, its namespaces completed */
        ValidateOptions validate;
        uint64_t delete_grace_usec;
        bool once;
        bool recording_profile; /* also install the built-in seccompd/record.json (builtin-source.h) */
} ManagerOptions;

/* Before anything touches the node, a configuration that cannot be used is -EINVAL (a usage error),
 * logged; a state file that cannot be trusted, -EBADMSG. Other negative errnos: the node (its seccomp
 * directory, the event loop) cannot be used. */
int manager_new(const ManagerOptions *o, Manager **ret);
Manager *manager_free(Manager *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(Manager *, manager_free);

/* Runs until SIGTERM or SIGINT (0), or with --once until the first complete sync (its SyncStatus).
 * A negative errno when the loop itself fails. */
int manager_run(Manager *m);

/* One sync, as the loop runs it on every change (for tests and benchmarks). */
int manager_sync(Manager *m);
