/* SPDX-License-Identifier: Apache-2.0 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "kube-node.h"
#include "kube/report.h"
#include "log.h"
#include "shared/macro.h"

/* k/k controller_utils.go UpdateTaintBackoff: 5 steps from 100 ms, for conflicts with other writers. */
#define CONFLICT_RETRIES    5
#define CONFLICT_RETRY_USEC (100 * 1000ULL)
#define ERROR_RETRY_USEC    (5 * 1000000ULL)
#define REQUEST_USEC        (60 * 1000000ULL)

typedef enum Step {
        STEP_IDLE,
        STEP_GET,   /* reading the node */
        STEP_TAINT, /* JSON patch removing the taint */
        STEP_COND,  /* strategic-merge patch of the condition */
        STEP_WAIT,
} Step;

struct KubeNode {
        KubeNodeOptions o;
        char *node_name, *taint_key;
        Step step;
        KubeRequest *request;
        sd_event_source *timer;
        unsigned conflicts;

        bool ready, have_state;
        char *reason, *message;
        bool taint_done;    /* removed, or found absent after we were ready */
        int condition_done; /* the status last written: 1 true, 0 false, -1 not yet */
};

static void advance(KubeNode *n);

static uint64_t now_realtime(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000;
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
        KubeNode *n = userdata;
        n->timer = sd_event_source_disable_unref(n->timer);
        n->step = STEP_IDLE;
        advance(n);
        return 0;
}

static void retry_after(KubeNode *n, uint64_t usec)
{
        n->step = STEP_WAIT;
        n->timer = sd_event_source_disable_unref(n->timer);
        if (sd_event_add_time_relative(n->o.event, &n->timer, CLOCK_MONOTONIC,
                                       (uint64_t) ((double) usec * n->o.time_scale), 0, on_timer, n) < 0)
                n->step = STEP_IDLE;
}

static void on_patched(KubeRequest *req, int error, const KubeStatus *st, const char *body, size_t len,
                       void *userdata)
{
        KubeNode *n = userdata;
        Step step = n->step;
        n->request = NULL;
        n->step = STEP_IDLE;
        if (error == -EINVAL || error == -EEXIST) {
                /* 422: a "test" op failed; 409: the resourceVersion moved. Someone else wrote the node
                 * between our read and our patch: read it again. */
                if (++n->conflicts <= CONFLICT_RETRIES) {
                        retry_after(n, CONFLICT_RETRY_USEC << (n->conflicts - 1));
                        return;
                }
        }
        if (error < 0) {
                log_warning("cannot %s node %s: %s%s%s",
                            step == STEP_TAINT ? "remove the startup taint from"
                                               : "set the " NODE_CONDITION_TYPE " condition on",
                            n->node_name, strerror(-error), st->message ? ": " : "", st->message ?: "");
                retry_after(n, ERROR_RETRY_USEC);
                return;
        }
        n->conflicts = 0;
        if (step == STEP_TAINT) {
                n->taint_done = true;
                log_info("removed the startup taint %s from node %s: its seccomp profiles are on disk",
                         n->taint_key, n->node_name);
        } else {
                n->condition_done = n->ready;
                log_info("node %s: condition %s=%s", n->node_name, NODE_CONDITION_TYPE,
                         n->ready ? "True" : "False");
        }
        advance(n);
}

static int patch(KubeNode *n, Step step, const char *subresource, const char *type, const char *body)
{
        _cleanup_free_ char *path = NULL;
        if (asprintf(&path, "/api/v1/nodes/%s%s", n->node_name, subresource) < 0)
                return -ENOMEM;
        KubeRequestOptions o = {
                .method = "PATCH",
                .path = path,
                .body = body,
                .content_type = type,
                .max_body = 4 * 1024 * 1024,
                .timeout_usec = REQUEST_USEC,
                .on_done = on_patched,
                .userdata = n,
        };
        n->step = step;
        return kube_request_start(n->o.client, &o, &n->request);
}

static void on_node(KubeRequest *req, int error, const KubeStatus *st, const char *body, size_t len,
                    void *userdata)
{
        KubeNode *n = userdata;
        json_error_t e;
        _cleanup_free_ char *p = NULL;
        int r;

        n->request = NULL;
        n->step = STEP_IDLE;
        if (error < 0) {
                log_warning("cannot read node %s: %s%s%s", n->node_name, strerror(-error),
                            st->message ? ": " : "", st->message ?: "");
                retry_after(n, ERROR_RETRY_USEC);
                return;
        }
        json_t *node = json_loadb(body, len, 0, &e);
        if (!node) {
                retry_after(n, ERROR_RETRY_USEC);
                return;
        }
        if (n->taint_key && !n->taint_done && n->ready) {
                r = kube_taint_removal_patch(node, n->taint_key, &p);
                if (r >= 0 && !p) {
                        n->taint_done = true; /* not there (any more): nothing to do */
                        log_info("node %s has no taint %s", n->node_name, n->taint_key);
                } else if (r >= 0)
                        r = patch(n, STEP_TAINT, "", "application/json-patch+json", p);
        } else if (n->o.condition && n->condition_done != (int) n->ready) {
                r = kube_condition_patch(node, NODE_CONDITION_TYPE, n->ready, n->reason ?: "",
                                         n->message ?: "", now_realtime(), &p);
                if (r >= 0)
                        r = patch(n, STEP_COND, "/status", "application/strategic-merge-patch+json", p);
        } else
                r = 0;
        json_decref(node);
        if (r < 0) {
                log_warning("cannot patch node %s: %s", n->node_name, strerror(-r));
                retry_after(n, ERROR_RETRY_USEC);
                return;
        }
        if (n->step == STEP_IDLE)
                advance(n);
}

/* One request at a time: read the node, then patch what is out of date, then look again. */
static void advance(KubeNode *n)
{
        if (n->step != STEP_IDLE || !n->have_state)
                return;
        bool taint = n->taint_key && !n->taint_done && n->ready;
        bool condition = n->o.condition && n->condition_done != (int) n->ready;
        if (!taint && !condition)
                return;
        _cleanup_free_ char *path = NULL;
        if (asprintf(&path, "/api/v1/nodes/%s", n->node_name) < 0)
                return;
        KubeRequestOptions o = {
                .path = path,
                .max_body = 4 * 1024 * 1024,
                .timeout_usec = REQUEST_USEC,
                .on_done = on_node,
                .userdata = n,
        };
        n->step = STEP_GET;
        if (kube_request_start(n->o.client, &o, &n->request) < 0)
                retry_after(n, ERROR_RETRY_USEC);
}

int kube_node_new(const KubeNodeOptions *o, KubeNode **ret)
{
        KubeNode *n = calloc(1, sizeof(KubeNode));
        if (!n)
                return -ENOMEM;
        n->o = *o;
        n->condition_done = -1;
        n->node_name = strdup(o->node_name);
        n->taint_key = o->taint_key ? strdup(o->taint_key) : NULL;
        if (!n->node_name || (o->taint_key && !n->taint_key)) {
                kube_node_free(n);
                return -ENOMEM;
        }
        *ret = n;
        return 0;
}

KubeNode *kube_node_free(KubeNode *n)
{
        if (!n)
                return NULL;
        if (n->request)
                kube_request_cancel(n->request);
        sd_event_source_disable_unref(n->timer);
        free(n->node_name);
        free(n->taint_key);
        free(n->reason);
        free(n->message);
        free(n);
        return NULL;
}

void kube_node_set_ready(KubeNode *n, bool ready, const char *reason, const char *message)
{
        if (n->have_state && n->ready == ready)
                return;
        n->have_state = true;
        n->ready = ready;
        free(n->reason);
        free(n->message);
        n->reason = reason ? strdup(reason) : NULL;
        n->message = message ? strdup(message) : NULL;
        advance(n);
}

bool kube_node_settled(const KubeNode *n)
{
        return (!n->taint_key || n->taint_done) && (!n->o.condition || n->condition_done == (int) n->ready);
}
