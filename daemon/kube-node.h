/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <systemd/sd-event.h>

#include "kube/client.h"

/* Node gating: once the node's profiles are on disk, remove the startup taint that kept workloads
 * off it, and keep a SeccompProfilesReady condition on it. Both act on the daemon's own Node only. */
typedef struct KubeNode KubeNode;

#define NODE_CONDITION_TYPE "SeccompProfilesReady"

typedef struct KubeNodeOptions {
        sd_event *event;
        KubeClient *client; /* borrowed */
        const char *node_name;
        const char *taint_key; /* NULL: no taint to remove */
        bool condition;
        double time_scale;
} KubeNodeOptions;

int kube_node_new(const KubeNodeOptions *o, KubeNode **ret);
KubeNode *kube_node_free(KubeNode *n);

/* The node's readiness as the daemon sees it; acted on when it changes (the first true removes the
 * taint). reason/message go into the condition. */
void kube_node_set_ready(KubeNode *n, bool ready, const char *reason, const char *message);

/* The taint is gone (removed by us, or was never there) and the condition says what it should. */
bool kube_node_settled(const KubeNode *n);
