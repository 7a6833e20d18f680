/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "kube/kubeconfig.h"

/* HTTP to the API server on libcurl's multi socket API, driven by the caller's sd-event loop: no
 * thread, no blocking call. Every request is verified TLS, authenticated with the token read at the
 * moment it starts (a rotated token file is picked up by the next request), and has a hard deadline.
 * Responses are either collected (bounded) or streamed to a callback (watches). */

typedef struct KubeClient KubeClient;
typedef struct KubeRequest KubeRequest;

/* Why the server's certificate was refused, from OpenSSL's verify result (CURLINFO_SSL_VERIFYRESULT). */
typedef enum KubeTlsProblem {
        KUBE_TLS_NONE,          /* none, or not known (a TLS backend other than OpenSSL) */
        KUBE_TLS_EXPIRED,       /* notAfter has passed */
        KUBE_TLS_NOT_YET_VALID, /* notBefore is still to come */
        KUBE_TLS_HOST_MISMATCH, /* the chain verifies, but not for the server URL's host or address */
        KUBE_TLS_UNKNOWN_CA,    /* no chain to the configured CA */
        KUBE_TLS_REFUSED,       /* another verify failure: curl's message says which */
        KUBE_TLS_HANDSHAKE,     /* the handshake itself failed */
} KubeTlsProblem;

/* What the server said: the HTTP code, and for errors the Status reason and message (or the plain
 * text body, as API Priority and Fairness sends with its 429s). */
typedef struct KubeStatus {
        long http;          /* 0 when no response arrived */
        int curl;           /* CURLcode, CURLE_OK when a response arrived */
        KubeTlsProblem tls; /* when the connection failed on the server's certificate */
        char *reason;       /* Status.reason, e.g. "Expired", "Forbidden"; may be NULL */
        char *message; /* Status.message, the text body, a redirect's Location, or curl's error; may be NULL
                        */
        int retry_after; /* seconds from an integer Retry-After header, -1 without one */
} KubeStatus;

void kube_status_clear(KubeStatus *s);

/* The one table from HTTP (or transport) outcomes to errno: 2xx 0, 401 -EACCES, 403 -EPERM,
 * 404 -ENOENT, 409 -EEXIST, 410 -ESTALE, 413 -EFBIG, 422 -EINVAL, 429 and 503 -EAGAIN, 504 and
 * timeouts -ETIMEDOUT, other 5xx -EIO, redirects (3xx: never followed, so a token is never sent
 * elsewhere) and other 4xx -EIO, refused connections -ECONNREFUSED, a server certificate that does
 * not verify -EBADMSG, other transport errors -EIO. */
int kube_status_to_errno(const KubeStatus *s);

/* What an outcome means, for the start of a log line ("list configmaps in namespace x: SUMMARY:
 * message; detail"): "redirected (HTTP 302 Found); redirects are not followed", "TLS: the server's
 * certificate has expired", "server error", ... and strerror() where errno says it. s may be NULL.
 * Static strings. */
const char *kube_error_summary(int error, const KubeStatus *s);

/* Streaming: called with each piece of the body as it arrives (after decompression). Returning < 0
 * aborts the request, which then completes with that error. */
typedef int (*KubeDataFn)(KubeRequest *r, const char *buf, size_t len, void *userdata);
/* Completion: error is kube_status_to_errno() or the data callback's error; body is the collected
 * body (not for streams), NUL-terminated. The request is freed after this returns. */
typedef void (*KubeDoneFn)(KubeRequest *r, int error, const KubeStatus *status, const char *body, size_t len,
                           void *userdata);

typedef struct KubeRequestOptions {
        const char *method;       /* NULL: GET */
        const char *path;         /* "/api/v1/namespaces/x/configmaps?..." */
        const char *body;         /* for POST/PATCH, copied */
        const char *content_type; /* of the body */
        size_t max_body;          /* collected responses: larger ones fail with -EFBIG */
        uint64_t timeout_usec;    /* hard deadline for the whole request */
        KubeDataFn on_data;       /* non-NULL: stream, nothing collected */
        KubeDoneFn on_done;
        void *userdata;
        /* Frees userdata when the request ends without on_done (cancelled, or the client freed with
         * it in flight); with on_done, userdata is on_done's to free. May be NULL. */
        void (*destroy)(void *userdata);
} KubeRequestOptions;

int kube_client_new(sd_event *event, const KubeConfig *config, KubeClient **ret);
KubeClient *kube_client_free(KubeClient *c); /* aborts requests in flight without calling them back */

/* Called when reading the token file starts failing (error < 0, see kube_token_error_to_string();
 * requests go on with the last good token), fails differently, or works again (error 0). */
typedef void (*KubeTokenFn)(KubeClient *c, const char *path, int error, void *userdata);
void kube_client_on_token(KubeClient *c, KubeTokenFn fn, void *userdata);

int kube_request_start(KubeClient *c, const KubeRequestOptions *o, KubeRequest **ret);
void kube_request_cancel(KubeRequest *r); /* no callback; the request is freed */

/* Counters for metrics and tests. */
typedef struct KubeClientStats {
        uint64_t requests;
        uint64_t by_class[6]; /* responses by HTTP class: [0] no response, [2] 2xx ... [5] 5xx */
        uint64_t token_read_failures;
} KubeClientStats;
const KubeClientStats *kube_client_stats(const KubeClient *c);
