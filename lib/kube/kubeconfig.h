/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <curl/curl.h>
#include <stddef.h>
#include <stdint.h>

/* How to reach one API server: from a kubeconfig (its current context) or from the in-cluster
 * service account. Exactly one credential: a token (static or a file re-read as it rotates) or a
 * client certificate and key. TLS is always verified; there is no way to express "insecure". */
typedef struct KubeConfig {
        char *source;    /* "in-cluster" or the kubeconfig path: for messages */
        char *server;    /* "https://host:port" (IPv6 in brackets), no trailing slash */
        char *namespace; /* the context's namespace, or the pod's; NULL when unknown */

        char *ca_file; /* CA bundle path, or ... */
        uint8_t *ca_data;
        size_t ca_len; /* ... PEM bytes (certificate-authority-data); NULL/0: system CAs */

        char *token;      /* a static bearer token, or ... */
        char *token_file; /* ... a file read again as it rotates (tokenFile, the service account token) */

        char *cert_file; /* client certificate: a file or PEM bytes (-data wins over the file) */
        uint8_t *cert_data;
        size_t cert_len;
        char *key_file;
        uint8_t *key_data;
        size_t key_len;
} KubeConfig;

#define KUBE_SERVICEACCOUNT_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

/* Parses a kubeconfig file (libyaml) and resolves its current context. Relative paths are resolved
 * against the file's directory. On failure returns < 0 and, for a content problem, -EINVAL with
 * *ret_error set to a message that names the entry (context, cluster or user) and says what to use
 * instead: exec plugins, auth-provider, username/password, insecure-skip-tls-verify, several
 * credentials, a missing current context...
 *
 * For every failure but -ENOMEM, *ret_error (if not NULL) is set to a message to free, which starts
 * with the path; it is left alone on success. Files the config names (CA, client certificate and key,
 * tokenFile) must be readable now; a tokenFile must hold a token. A certificate-authority-data,
 * client-certificate-data or client-key-data value must be base64 of PEM. */
int kube_config_load_file(const char *path, KubeConfig *ret, char **ret_error);

/* The one place KUBECONFIG is read. The config to use: the kubeconfig file given (a --kubeconfig flag;
 * NULL or empty when there is none), else the one file $KUBECONFIG names, else in-cluster
 * (kube_config_load_incluster with the default service account directory). A KUBECONFIG listing
 * several files (':'-separated, as kubectl reads it) is refused with -EINVAL and a message.
 * *ret_error as for kube_config_load_file. */
int kube_config_load(const char *kubeconfig, KubeConfig *ret, char **ret_error);

/* In-cluster: KUBERNETES_SERVICE_HOST/_PORT (both non-empty; IPv6 in brackets), token and ca.crt under
 * sa_dir (NULL: KUBE_SERVICEACCOUNT_DIR), namespace from POD_NAMESPACE, else sa_dir/namespace.
 * -ENOENT with a message when not running in a cluster. The token and ca.crt must be readable now;
 * *ret_error as for kube_config_load_file. */
int kube_config_load_incluster(const char *sa_dir, KubeConfig *ret, char **ret_error);

void kube_config_clear(KubeConfig *c);

/* The bearer token to send now: the static one, or the file's content with surrounding white space
 * trimmed (at most 64 KiB: -EFBIG). *ret is NULL when the config authenticates with a client certificate.
 * -EINVAL when the file is empty or the token holds a control character (it goes into a header). The
 * caller keeps the last good token when a read fails, like client-go's cached file token source. */
int kube_config_read_token(const KubeConfig *c, char **ret);
/* What a token read's error means, for a message after the file's name ("cannot read %s: %s"). Only a
 * regular file is read (-EBADFD otherwise: a FIFO would block the event loop), at most 64 KiB (-EFBIG). */
const char *kube_token_error_to_string(int error);

/* Sets TLS verification (peer and host, always; TLS 1.2 at least), the CA and the client certificate
 * on an easy handle. Blobs are copied by libcurl. A configured CA is the only one trusted: the system
 * bundle and CA directory are switched off for that handle. */
int kube_config_apply_tls(const KubeConfig *c, CURL *easy);
