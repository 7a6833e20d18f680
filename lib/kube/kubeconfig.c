/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "kube/kubeconfig.h"
#include "shared/base64.h"
#include "shared/fileio.h"
#include "shared/macro.h"

/* A kubeconfig is a few KiB; a client certificate chain a few more. Anything larger is not one. */
#define KUBECONFIG_MAX  ((size_t) 1024 * 1024)
#define TOKEN_MAX       ((size_t) 64 * 1024)
#define NAMESPACE_MAX   4096
#define USE_INSTEAD     "use a token, tokenFile or client certificate, or run in-cluster"
#define CREDENTIAL_KIND "a token, tokenFile or client certificate and key"

static void yaml_parser_deletep(yaml_parser_t *p)
{
        yaml_parser_delete(p);
}

static void yaml_document_deletep(yaml_document_t **d)
{
        if (*d)
                yaml_document_delete(*d);
}

static void erase_and_free(void *p, size_t len)
{
        if (!p)
                return;
        explicit_bzero(p, len);
        free(p);
}

static void erase_and_freep(char **p)
{
        if (*p)
                erase_and_free(*p, strlen(*p));
}

static int curl_to_errno(CURLcode cc)
{
        switch (cc) {
        case CURLE_OK:
                return 0;
        case CURLE_OUT_OF_MEMORY:
                return -ENOMEM;
        case CURLE_UNKNOWN_OPTION:
        case CURLE_NOT_BUILT_IN:
                return -EOPNOTSUPP;
        default:
                return -EIO;
        }
}

void kube_config_clear(KubeConfig *c)
{
        if (!c)
                return;
        free(c->source);
        free(c->server);
        free(c->namespace);
        free(c->ca_file);
        free(c->ca_data);
        erase_and_freep(&c->token);
        free(c->token_file);
        free(c->cert_file);
        free(c->cert_data);
        free(c->key_file);
        erase_and_free(c->key_data, c->key_len);
        *c = (KubeConfig){};
}

/* Writes *ret_error (when asked for) and returns r; -ENOMEM wins when the message cannot be made. */
_printf_(3, 4) static int fail(char **ret_error, int r, const char *fmt, ...)
{
        va_list ap;
        char *m = NULL;

        if (!ret_error)
                return r;
        va_start(ap, fmt);
        int k = vasprintf(&m, fmt, ap);
        va_end(ap);
        if (k < 0)
                return -ENOMEM;
        *ret_error = m;
        return r;
}

static bool has_control_chars(const char *s)
{
        for (; *s; s++)
                if ((unsigned char) *s < 0x20 || *s == 0x7f)
                        return true;
        return false;
}

/* Go's strings.TrimSpace for the ASCII white space a file written by the kubelet or an editor has. */
static int strdup_trimmed(const char *s, size_t len, char **ret)
{
        const char *e = s + len;
        while (s < e && *s && strchr(" \t\n\r\v\f", *s))
                s++;
        while (e > s && e[-1] && strchr(" \t\n\r\v\f", e[-1]))
                e--;
        char *t = strndup(s, (size_t) (e - s));
        if (!t)
                return -ENOMEM;
        *ret = t;
        return 0;
}

/* The token is read on the event loop before every request: a FIFO put in its place would block
 * open() until a writer came (and read() after it), a device could return anything. So the open
 * never waits, and only a regular file of a bounded size is read. */
static int read_token_file(const char *path, char **ret)
{
        _cleanup_(erase_and_freep) char *buf = NULL, *token = NULL;
        _cleanup_close_ int fd = -EBADF;
        struct stat st;
        size_t len;

        fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (S_ISDIR(st.st_mode))
                return -EISDIR;
        if (!S_ISREG(st.st_mode))
                return -EBADFD;
        if ((uint64_t) st.st_size > TOKEN_MAX)
                return -EFBIG;
        int r = read_full_fd(fd, TOKEN_MAX, &buf, &len);
        if (r < 0)
                return r;
        r = strdup_trimmed(buf, len, &token);
        if (r < 0)
                return r;
        /* An empty token would be sent as anonymous; a line break inside would end the header. */
        if (token[0] == 0 || has_control_chars(token))
                return -EINVAL;
        *ret = TAKE_PTR(token);
        return 0;
}

const char *kube_token_error_to_string(int error)
{
        switch (error) {
        case -EINVAL:
                return "it is empty or holds a control character";
        case -EBADFD:
                return "it is not a regular file (a FIFO, socket or device is never read)";
        case -EISDIR:
                return "it is a directory";
        case -EFBIG:
                return "it is larger than 64 KiB";
        default:
                return strerror(-error);
        }
}

int kube_config_read_token(const KubeConfig *c, char **ret)
{
        char *t = NULL;

        if (c->token) {
                t = strdup(c->token);
                if (!t)
                        return -ENOMEM;
        } else if (c->token_file) {
                int r = read_token_file(c->token_file, &t);
                if (r < 0)
                        return r;
        }
        *ret = t;
        return 0;
}

/* ---- kubeconfig ---- */

typedef struct Loader {
        const char *path; /* borrowed: the kubeconfig, for messages */
        char *dir;        /* its directory, against which relative paths resolve */
        yaml_document_t *doc;
        char **ret_error;
} Loader;

#define loader_fail(l, r, fmt, ...) fail((l)->ret_error, (r), "%s: " fmt, (l)->path, ##__VA_ARGS__)

static yaml_node_t *node(const Loader *l, yaml_node_item_t i)
{
        return yaml_document_get_node(l->doc, i);
}

static yaml_node_t *map_get(const Loader *l, yaml_node_t *map, const char *key)
{
        if (!map || map->type != YAML_MAPPING_NODE)
                return NULL;
        for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
                yaml_node_t *k = node(l, p->key);
                if (k && k->type == YAML_SCALAR_NODE &&
                    strcmp((const char *) k->data.scalar.value, key) == 0)
                        return node(l, p->value);
        }
        return NULL;
}

/* YAML null (an empty value, "~", "null") is absent, as is the empty string: client-go treats "" as
 * unset for every field read here. */
static bool is_null(const yaml_node_t *n)
{
        if (!n)
                return true;
        if (n->type != YAML_SCALAR_NODE)
                return false;
        const char *v = (const char *) n->data.scalar.value;
        if (v[0] == 0)
                return true;
        return n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
               (strcmp(v, "~") == 0 || strcmp(v, "null") == 0 || strcmp(v, "Null") == 0 ||
                strcmp(v, "NULL") == 0);
}

/* *ret is NULL when the key is absent. "what" names the entry for the message. */
static int get_string(const Loader *l, yaml_node_t *map, const char *key, const char *what, const char **ret)
{
        yaml_node_t *n = map_get(l, map, key);
        if (is_null(n)) {
                *ret = NULL;
                return 0;
        }
        if (n->type != YAML_SCALAR_NODE)
                return loader_fail(l, -EINVAL, "%s: %s is not a string", what, key);
        if (strlen((const char *) n->data.scalar.value) != n->data.scalar.length)
                return loader_fail(l, -EINVAL, "%s: %s contains a NUL character", what, key);
        *ret = (const char *) n->data.scalar.value;
        return 0;
}

/* The YAML 1.1 booleans sigs.k8s.io/yaml (go-yaml v2) reads. */
static int get_bool(const Loader *l, yaml_node_t *map, const char *key, const char *what, bool *ret)
{
        static const char *const yes[] = {"true", "True", "TRUE", "yes", "Yes", "YES",
                                          "on",   "On",   "ON",   "y",   "Y"};
        static const char *const no[] = {"false", "False", "FALSE", "no", "No", "NO",
                                         "off",   "Off",   "OFF",   "n",  "N"};
        const char *v;

        int r = get_string(l, map, key, what, &v);
        if (r < 0)
                return r;
        *ret = false;
        if (!v)
                return 0;
        for (size_t i = 0; i < ELEMENTSOF(yes); i++)
                if (strcmp(v, yes[i]) == 0) {
                        *ret = true;
                        return 0;
                }
        for (size_t i = 0; i < ELEMENTSOF(no); i++)
                if (strcmp(v, no[i]) == 0)
                        return 0;
        return loader_fail(l, -EINVAL, "%s: %s \"%s\" is not true or false", what, key, v);
}

/* Finds name in a list of {name: ..., <field>: {...}} (contexts, clusters, users) and returns the
 * inner mapping. client-go refuses a kubeconfig that lists a name twice; so do we, for the names used. */
static int find_named(const Loader *l, const char *list, const char *field, const char *name,
                      yaml_node_t **ret)
{
        yaml_node_t *seq = map_get(l, yaml_document_get_root_node(l->doc), list);
        yaml_node_t *found = NULL;

        if (is_null(seq)) {
                *ret = NULL;
                return 0;
        }
        if (seq->type != YAML_SEQUENCE_NODE)
                return loader_fail(l, -EINVAL, "%s is not a list", list);
        for (yaml_node_item_t *i = seq->data.sequence.items.start; i < seq->data.sequence.items.top; i++) {
                yaml_node_t *entry = node(l, *i);
                yaml_node_t *n = map_get(l, entry, "name");
                if (!n || n->type != YAML_SCALAR_NODE ||
                    strcmp((const char *) n->data.scalar.value, name) != 0)
                        continue;
                if (found)
                        return loader_fail(l, -EINVAL, "%s lists %s \"%s\" twice; keep one", list, field,
                                           name);
                found = map_get(l, entry, field);
                if (is_null(found) || found->type != YAML_MAPPING_NODE)
                        return loader_fail(l, -EINVAL, "%s \"%s\" has no %s mapping", field, name, field);
        }
        *ret = found;
        return 0;
}

static int resolve_path(const Loader *l, const char *p, char **ret)
{
        char *s;
        if (p[0] == '/')
                s = strdup(p);
        else if (asprintf(&s, "%s/%s", l->dir, p) < 0)
                s = NULL;
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

/* client-go validates that every file it names is readable when it loads the config; a missing
 * file is clearer now than as a TLS error on the first request. */
static int check_readable(const Loader *l, const char *what, const char *key, const char *path)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return loader_fail(l, -errno, "%s: %s \"%s\" cannot be read: %s", what, key, path,
                                   strerror(errno));
        return 0;
}

/* A path (resolved, checked) or base64 PEM data; data wins, like client-go's dataFromSliceOrFile.
 * "pem" is a string the decoded data must contain: double-encoded or DER data fails here, not in
 * the TLS library with a message that names neither the field nor the entry. */
static int get_file_or_data(const Loader *l, yaml_node_t *map, const char *key, const char *what,
                            const char *pem, char **ret_file, uint8_t **ret_data, size_t *ret_len)
{
        _cleanup_free_ char *data_key = NULL, *file = NULL;
        _cleanup_free_ uint8_t *data = NULL;
        const char *f, *d;
        size_t len = 0;

        if (asprintf(&data_key, "%s-data", key) < 0)
                return -ENOMEM;
        int r = get_string(l, map, key, what, &f);
        if (r < 0)
                return r;
        r = get_string(l, map, data_key, what, &d);
        if (r < 0)
                return r;
        if (d) {
                r = base64_decode(d, strlen(d), &data, &len);
                if (r == -EINVAL)
                        return loader_fail(l, r, "%s: %s is not valid base64", what, data_key);
                if (r < 0)
                        return r;
                if (!memmem(data, len, pem, strlen(pem)))
                        return loader_fail(l, -EINVAL, "%s: %s does not hold PEM data (no \"%s\")", what,
                                           data_key, pem);
        } else if (f) {
                r = resolve_path(l, f, &file);
                if (r < 0)
                        return r;
                r = check_readable(l, what, key, file);
                if (r < 0)
                        return r;
        }
        *ret_file = TAKE_PTR(file);
        *ret_data = TAKE_PTR(data);
        *ret_len = len;
        return 0;
}

/* What seccompd takes from a cluster entry, and why it refuses the rest:
 * - insecure-skip-tls-verify: true is refused outright: a daemon that decides how every container is
 *   confined must not take that decision from a server it has not verified.
 * - tls-server-name and proxy-url are refused rather than ignored: ignoring either changes which server
 *   is trusted or how it is reached. libcurl reads HTTPS_PROXY/NO_PROXY from the environment, which
 *   covers the proxy case; a server name that is in the certificate covers the other.
 * - A server is an https:// URL; a path after the host (Rancher-style proxies) is kept, a trailing
 *   slash is not. */
static int load_cluster(Loader *l, const char *name, yaml_node_t *cluster, KubeConfig *c)
{
        _cleanup_free_ char *what = NULL;
        const char *server, *v;
        bool insecure;
        int r;

        if (asprintf(&what, "cluster \"%s\"", name) < 0)
                return -ENOMEM;

        r = get_file_or_data(l, cluster, "certificate-authority", what, "-----BEGIN CERTIFICATE-----",
                             &c->ca_file, &c->ca_data, &c->ca_len);
        if (r < 0)
                return r;
        r = get_bool(l, cluster, "insecure-skip-tls-verify", what, &insecure);
        if (r < 0)
                return r;
        if (insecure && (c->ca_file || c->ca_data))
                return loader_fail(l, -EINVAL,
                                   "%s: specifying a root certificates file with the insecure flag is not "
                                   "allowed; remove insecure-skip-tls-verify: seccompd always verifies the "
                                   "server with the CA",
                                   what);
        if (insecure)
                return loader_fail(l, -EINVAL,
                                   "%s sets insecure-skip-tls-verify: true: a daemon that decides how every "
                                   "container is confined never talks to an unverified server; give the "
                                   "cluster's CA with certificate-authority or certificate-authority-data",
                                   what);

        r = get_string(l, cluster, "tls-server-name", what, &v);
        if (r < 0)
                return r;
        if (v)
                return loader_fail(l, -EINVAL,
                                   "%s sets tls-server-name \"%s\": seccompd does not support it; use a "
                                   "server URL whose host name is in the API server's certificate",
                                   what, v);
        r = get_string(l, cluster, "proxy-url", what, &v);
        if (r < 0)
                return r;
        if (v)
                return loader_fail(l, -EINVAL,
                                   "%s sets proxy-url \"%s\": seccompd does not read proxies from a "
                                   "kubeconfig; set HTTPS_PROXY (and NO_PROXY) in its environment instead",
                                   what, v);

        r = get_string(l, cluster, "server", what, &server);
        if (r < 0)
                return r;
        if (!server)
                return loader_fail(l, -EINVAL,
                                   "%s has no server; set server to the API server's https:// URL", what);
        size_t len = strlen(server);
        while (len > 0 && server[len - 1] == '/')
                len--;
        if (strncasecmp(server, "https://", 8) != 0 || len <= 8 || has_control_chars(server) ||
            strpbrk(server, " "))
                return loader_fail(l, -EINVAL,
                                   "%s: server \"%s\" is not an https:// URL; seccompd talks to the API "
                                   "server over verified TLS only",
                                   what, server);
        if (asprintf(&c->server, "https://%.*s", (int) (len - 8), server + 8) < 0)
                return -ENOMEM;
        return 0;
}

static const char *const impersonation[] = {"as", "as-uid", "as-groups", "as-user-extra"};

/* One credential, and only one: seccompd must know which identity it acts as, and the identity
 * RBAC allows to write nodes and read profiles is a service account or a certificate. Plugins
 * (exec, auth-provider) would make a security daemon run other programs; basic auth is gone from
 * the API server (Kubernetes 1.19). Impersonation is refused rather than ignored, which would act as
 * a different identity than the kubeconfig says. */
static int load_user(Loader *l, const char *name, yaml_node_t *user, KubeConfig *c)
{
        _cleanup_free_ char *what = NULL;
        const char *token, *token_file, *v, *v2;
        char methods[64] = "";
        unsigned n = 0;
        int r;

        if (asprintf(&what, "user \"%s\"", name) < 0)
                return -ENOMEM;

        yaml_node_t *exec = map_get(l, user, "exec");
        if (!is_null(exec)) {
                const char *cmd = NULL, *api = NULL;
                r = get_string(l, exec, "command", what, &cmd);
                if (r >= 0)
                        r = get_string(l, exec, "apiVersion", what, &api);
                if (r < 0)
                        return r;
                return loader_fail(
                        l, -EINVAL,
                        "%s uses an exec credential plugin (\"%s\", apiVersion %s): seccompd does "
                        "not run credential plugins; " USE_INSTEAD,
                        what, cmd ?: "?", api ?: "not set");
        }
        yaml_node_t *provider = map_get(l, user, "auth-provider");
        if (!is_null(provider)) {
                r = get_string(l, provider, "name", what, &v);
                if (r < 0)
                        return r;
                return loader_fail(l, -EINVAL,
                                   "%s uses the auth-provider \"%s\": seccompd does not run authentication "
                                   "providers; " USE_INSTEAD,
                                   what, v ?: "?");
        }
        r = get_string(l, user, "username", what, &v);
        if (r >= 0)
                r = get_string(l, user, "password", what, &v2);
        if (r < 0)
                return r;
        if (v || v2)
                return loader_fail(l, -EINVAL,
                                   "%s uses basic authentication (username/password), which the API server "
                                   "no longer accepts; " USE_INSTEAD,
                                   what);
        for (size_t i = 0; i < ELEMENTSOF(impersonation); i++)
                if (!is_null(map_get(l, user, impersonation[i])))
                        return loader_fail(l, -EINVAL,
                                           "%s sets impersonation (%s): seccompd does not impersonate; give "
                                           "it the credentials of the identity it should act as",
                                           what, impersonation[i]);

        r = get_string(l, user, "token", what, &token);
        if (r >= 0)
                r = get_string(l, user, "tokenFile", what, &token_file);
        if (r < 0)
                return r;
        r = get_file_or_data(l, user, "client-certificate", what, "-----BEGIN CERTIFICATE-----",
                             &c->cert_file, &c->cert_data, &c->cert_len);
        if (r < 0)
                return r;
        r = get_file_or_data(l, user, "client-key", what, "PRIVATE KEY-----", &c->key_file, &c->key_data,
                             &c->key_len);
        if (r < 0)
                return r;

        bool cert = c->cert_file || c->cert_data, key = c->key_file || c->key_data;
        if (cert && !key)
                return loader_fail(l, -EINVAL,
                                   "%s has a client certificate but no client key; add client-key or "
                                   "client-key-data",
                                   what);
        if (key && !cert)
                return loader_fail(
                        l, -EINVAL,
                        "%s has a client key but no client certificate; add client-certificate or "
                        "client-certificate-data",
                        what);
        if (token)
                n++, strcat(methods, "token");
        if (token_file)
                n++, strcat(methods, n > 1 ? ", tokenFile" : "tokenFile");
        if (cert)
                n++, strcat(methods, n > 1 ? ", client certificate" : "client certificate");
        if (n > 1)
                return loader_fail(
                        l, -EINVAL,
                        "%s: more than one authentication method found (%s); seccompd uses exactly "
                        "one, keep one of them",
                        what, methods);
        if (n == 0)
                return loader_fail(l, -EINVAL, "%s has no credentials; seccompd needs " CREDENTIAL_KIND,
                                   what);

        if (token) {
                if (has_control_chars(token))
                        return loader_fail(l, -EINVAL, "%s: token contains a control character", what);
                c->token = strdup(token);
                if (!c->token)
                        return -ENOMEM;
        } else if (token_file) {
                _cleanup_(erase_and_freep) char *t = NULL;
                r = resolve_path(l, token_file, &c->token_file);
                if (r < 0)
                        return r;
                r = read_token_file(c->token_file, &t);
                if (r == -EINVAL)
                        return loader_fail(l, r,
                                           "%s: tokenFile \"%s\" is empty or holds a control character",
                                           what, c->token_file);
                if (r < 0 && r != -ENOMEM)
                        return loader_fail(l, r, "%s: tokenFile \"%s\" cannot be read: %s", what,
                                           c->token_file, kube_token_error_to_string(r));
                if (r < 0)
                        return r;
        }
        return 0;
}

static int load_document(Loader *l, KubeConfig *c)
{
        yaml_node_t *root = yaml_document_get_root_node(l->doc), *ctx, *cluster, *user;
        const char *current, *cluster_name, *user_name, *ns;
        int r;

        if (!root || is_null(root))
                return loader_fail(l, -EINVAL,
                                   "the file is empty; give a kubeconfig with a current-context");
        if (root->type != YAML_MAPPING_NODE)
                return loader_fail(l, -EINVAL, "not a kubeconfig: the top level is not a mapping");
        r = get_string(l, root, "current-context", "kubeconfig", &current);
        if (r < 0)
                return r;
        if (!current)
                return loader_fail(l, -EINVAL,
                                   "no current-context; set one with \"kubectl config use-context NAME\"");
        r = find_named(l, "contexts", "context", current, &ctx);
        if (r < 0)
                return r;
        if (!ctx)
                return loader_fail(l, -EINVAL, "current-context \"%s\" is not in contexts", current);

        _cleanup_free_ char *what = NULL;
        if (asprintf(&what, "context \"%s\"", current) < 0)
                return -ENOMEM;
        r = get_string(l, ctx, "cluster", what, &cluster_name);
        if (r >= 0)
                r = get_string(l, ctx, "user", what, &user_name);
        if (r >= 0)
                r = get_string(l, ctx, "namespace", what, &ns);
        if (r < 0)
                return r;
        if (!cluster_name)
                return loader_fail(l, -EINVAL, "%s names no cluster", what);
        if (!user_name)
                return loader_fail(l, -EINVAL,
                                   "%s names no user; seccompd needs a user with " CREDENTIAL_KIND, what);
        r = find_named(l, "clusters", "cluster", cluster_name, &cluster);
        if (r < 0)
                return r;
        if (!cluster)
                return loader_fail(l, -EINVAL, "%s names cluster \"%s\", which is not in clusters", what,
                                   cluster_name);
        r = find_named(l, "users", "user", user_name, &user);
        if (r < 0)
                return r;
        if (!user)
                return loader_fail(l, -EINVAL, "%s names user \"%s\", which is not in users", what,
                                   user_name);

        r = load_cluster(l, cluster_name, cluster, c);
        if (r < 0)
                return r;
        r = load_user(l, user_name, user, c);
        if (r < 0)
                return r;
        if (ns && !(c->namespace = strdup(ns)))
                return -ENOMEM;
        return 0;
}

int kube_config_load_file(const char *path, KubeConfig *ret, char **ret_error)
{
        _cleanup_(kube_config_clear) KubeConfig c = {};
        _cleanup_(yaml_parser_deletep) yaml_parser_t parser = {};
        _cleanup_(yaml_document_deletep) yaml_document_t *doc = NULL;
        _cleanup_free_ char *buf = NULL, *dir = NULL;
        yaml_document_t document;
        size_t len;
        int r;

        r = read_full_file(path, KUBECONFIG_MAX, &buf, &len);
        if (r == -EFBIG)
                return fail(ret_error, r, "%s: larger than %zu KiB; not a kubeconfig", path,
                            KUBECONFIG_MAX / 1024);
        if (r < 0 && r != -ENOMEM)
                return fail(ret_error, r, "%s: cannot be read: %s", path, strerror(-r));
        if (r < 0)
                return r;

        const char *slash = strrchr(path, '/');
        dir = slash == path ? strdup("/") : slash ? strndup(path, (size_t) (slash - path)) : strdup(".");
        c.source = strdup(path);
        if (!dir || !c.source)
                return -ENOMEM;

        if (!yaml_parser_initialize(&parser))
                return -ENOMEM;
        yaml_parser_set_input_string(&parser, (const unsigned char *) buf, len);
        if (!yaml_parser_load(&parser, &document))
                return fail(ret_error, -EINVAL, "%s:%zu:%zu: not valid YAML: %s", path,
                            parser.problem_mark.line + 1, parser.problem_mark.column + 1,
                            parser.problem ?: "parse error");
        doc = &document;

        Loader l = {.path = path, .dir = dir, .doc = doc, .ret_error = ret_error};
        r = load_document(&l, &c);
        if (r < 0)
                return r;
        *ret = c;
        c = (KubeConfig){};
        return 0;
}

/* ---- in-cluster ---- */

static bool valid_port(const char *s)
{
        unsigned long v = 0;
        if (!*s || strlen(s) > 5)
                return false;
        for (const char *p = s; *p; p++) {
                if (*p < '0' || *p > '9')
                        return false;
                v = v * 10 + (unsigned long) (*p - '0');
        }
        return v >= 1 && v <= 65535;
}

int kube_config_load_incluster(const char *sa_dir, KubeConfig *ret, char **ret_error)
{
        _cleanup_(kube_config_clear) KubeConfig c = {};
        _cleanup_(erase_and_freep) char *token = NULL;
        const char *host = getenv("KUBERNETES_SERVICE_HOST"), *port = getenv("KUBERNETES_SERVICE_PORT");
        const char *ns = getenv("POD_NAMESPACE");
        int r;

        if (!sa_dir)
                sa_dir = KUBE_SERVICEACCOUNT_DIR;
        if (!host || !*host || !port || !*port)
                return fail(ret_error, -ENOENT,
                            "not running in a cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT "
                            "must both be set; outside a pod, give a kubeconfig");
        if (!valid_port(port))
                return fail(ret_error, -EINVAL,
                            "in-cluster: KUBERNETES_SERVICE_PORT \"%s\" is not a port number", port);
        if (has_control_chars(host) || strpbrk(host, " /@?#"))
                return fail(ret_error, -EINVAL, "in-cluster: KUBERNETES_SERVICE_HOST \"%s\" is not a host",
                            host);

        /* net.JoinHostPort: an IPv6 address needs brackets (one given with them keeps them). */
        bool bracket = strchr(host, ':') && host[0] != '[';
        if (asprintf(&c.server, "https://%s%s%s:%s", bracket ? "[" : "", host, bracket ? "]" : "", port) < 0)
                c.server = NULL;
        c.source = strdup("in-cluster");
        if (asprintf(&c.token_file, "%s/token", sa_dir) < 0)
                c.token_file = NULL;
        if (asprintf(&c.ca_file, "%s/ca.crt", sa_dir) < 0)
                c.ca_file = NULL;
        if (!c.server || !c.source || !c.token_file || !c.ca_file)
                return -ENOMEM;

        r = read_token_file(c.token_file, &token);
        if (r == -EINVAL)
                return fail(ret_error, r, "in-cluster: the service account token %s is empty", c.token_file);
        if (r < 0 && r != -ENOMEM)
                return fail(ret_error, r,
                            "in-cluster: cannot read the service account token %s: %s (is the service "
                            "account token mounted?)",
                            c.token_file, kube_token_error_to_string(r));
        if (r < 0)
                return r;
        /* client-go only logs a missing ca.crt, then fails every request; fail once, now. */
        if (access(c.ca_file, R_OK) < 0)
                return fail(ret_error, -errno, "in-cluster: cannot read the cluster CA %s: %s", c.ca_file,
                            strerror(errno));

        if (ns && *ns) {
                c.namespace = strdup(ns);
                if (!c.namespace)
                        return -ENOMEM;
        } else {
                _cleanup_free_ char *path = NULL, *buf = NULL;
                size_t len;
                if (asprintf(&path, "%s/namespace", sa_dir) < 0)
                        return -ENOMEM;
                /* Optional: without it the namespace is unknown, not an error. */
                r = read_full_file(path, NAMESPACE_MAX, &buf, &len);
                if (r == -ENOMEM)
                        return r;
                if (r >= 0) {
                        r = strdup_trimmed(buf, len, &c.namespace);
                        if (r < 0)
                                return r;
                        if (!c.namespace[0] || has_control_chars(c.namespace)) {
                                free(c.namespace);
                                c.namespace = NULL;
                        }
                }
        }
        *ret = c;
        c = (KubeConfig){};
        return 0;
}

/* ---- which one: the one place KUBECONFIG is read ---- */

int kube_config_load(const char *kubeconfig, KubeConfig *ret, char **ret_error)
{
        const char *e = getenv("KUBECONFIG");

        if (kubeconfig && *kubeconfig) /* given: KUBECONFIG is not looked at, as with kubectl --kubeconfig */
                return kube_config_load_file(kubeconfig, ret, ret_error);
        if (!e || !*e)
                return kube_config_load_incluster(NULL, ret, ret_error);
        /* kubectl merges a list: for each setting the first file that has it wins, so its current
         * context, cluster and user may each come from another file. Reading only the first (existing)
         * file could reach another cluster, or use other credentials, than the operator checked with
         * kubectl; a refusal is loud and easy to fix. A path holding ':' cannot be named in
         * KUBECONFIG for kubectl either. */
        if (strchr(e, ':'))
                return fail(ret_error, -EINVAL,
                            "KUBECONFIG=\"%s\" lists several files: seccompd reads one kubeconfig file and "
                            "does not merge them as kubectl does; set KUBECONFIG to one file, or give "
                            "--kubeconfig FILE",
                            e);
        return kube_config_load_file(e, ret, ret_error);
}

/* ---- libcurl ---- */

#define SETOPT(easy, opt, val)                                                                              \
        do {                                                                                                \
                int _r_ = curl_to_errno(curl_easy_setopt((easy), (opt), (val)));                            \
                if (_r_ < 0)                                                                                \
                        return _r_;                                                                         \
        } while (0)

static int set_blob(CURL *easy, CURLoption opt, const uint8_t *data, size_t len)
{
        struct curl_blob b = {.data = (void *) data, .len = len, .flags = CURL_BLOB_COPY};
        SETOPT(easy, opt, &b);
        return 0;
}

int kube_config_apply_tls(const KubeConfig *c, CURL *easy)
{
        int r;

        SETOPT(easy, CURLOPT_SSL_VERIFYPEER, 1L);
        SETOPT(easy, CURLOPT_SSL_VERIFYHOST, 2L);
        /* client-go's floor (transport.TLSConfigFor: MinVersion TLS 1.2). */
        SETOPT(easy, CURLOPT_SSLVERSION, (long) CURL_SSLVERSION_TLSv1_2);

        if (c->ca_data || c->ca_file) {
                /* The cluster's CA alone, like client-go's RootCAs: the default bundle and the
                 * system CA directory (which OpenSSL consults besides CAINFO) must not vouch for the
                 * API server too, or any public CA could. */
                SETOPT(easy, CURLOPT_CAPATH, (char *) NULL);
                if (c->ca_data) {
                        SETOPT(easy, CURLOPT_CAINFO, (char *) NULL);
                        r = set_blob(easy, CURLOPT_CAINFO_BLOB, c->ca_data, c->ca_len);
                        if (r < 0)
                                return r;
                } else
                        SETOPT(easy, CURLOPT_CAINFO, c->ca_file);
        }

        if (c->cert_data || c->cert_file) {
                SETOPT(easy, CURLOPT_SSLCERTTYPE, "PEM");
                SETOPT(easy, CURLOPT_SSLKEYTYPE, "PEM");
                if (c->cert_data)
                        r = set_blob(easy, CURLOPT_SSLCERT_BLOB, c->cert_data, c->cert_len);
                else
                        r = curl_to_errno(curl_easy_setopt(easy, CURLOPT_SSLCERT, c->cert_file));
                if (r < 0)
                        return r;
                if (c->key_data)
                        r = set_blob(easy, CURLOPT_SSLKEY_BLOB, c->key_data, c->key_len);
                else
                        r = curl_to_errno(curl_easy_setopt(easy, CURLOPT_SSLKEY, c->key_file));
                if (r < 0)
                        return r;
        }
        return 0;
}
