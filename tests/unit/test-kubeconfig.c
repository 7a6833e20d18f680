/* SPDX-License-Identifier: Apache-2.0 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "kube/kubeconfig.h"
#include "shared/base64.h"
#include "shared/fileio.h"

#define FAKE_CERT "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n"
#define FAKE_KEY  "-----BEGIN PRIVATE KEY-----\nMIIEfake\n-----END PRIVATE KEY-----\n"

typedef struct Fixture {
        char dir[64];
        char config[128];
        char *cert_b64; /* base64 of FAKE_CERT */
        char *key_b64;
        pid_t server; /* openssl s_server, stopped by teardown even when a test fails */
} Fixture;

static char *b64(const char *s)
{
        char *out = NULL;
        assert_int_equal(base64_encode((const uint8_t *) s, strlen(s), &out), 0);
        return out;
}

static int setup(void **state)
{
        Fixture *f = calloc(1, sizeof(Fixture));
        strcpy(f->dir, "/tmp/seccompd-kubeconfig-XXXXXX");
        assert_non_null(mkdtemp(f->dir));
        snprintf(f->config, sizeof(f->config), "%s/config", f->dir);
        f->cert_b64 = b64(FAKE_CERT);
        f->key_b64 = b64(FAKE_KEY);
        unsetenv("KUBERNETES_SERVICE_HOST");
        unsetenv("KUBERNETES_SERVICE_PORT");
        unsetenv("POD_NAMESPACE");
        *state = f;
        return 0;
}

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
        return remove(p);
}

static int teardown(void **state)
{
        Fixture *f = *state;
        if (f->server > 0) {
                (void) kill(f->server, SIGTERM);
                (void) waitpid(f->server, NULL, 0);
        }
        (void) nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        free(f->cert_b64);
        free(f->key_b64);
        free(f);
        return 0;
}

static char *at(const Fixture *f, const char *rel)
{
        static char buf[4][256];
        static unsigned i;
        char *b = buf[i++ % 4];
        snprintf(b, sizeof(buf[0]), "%s/%s", f->dir, rel);
        return b;
}

static void write_file(const char *path, const char *s)
{
        FILE *fp = fopen(path, "w");
        assert_non_null(fp);
        fputs(s, fp);
        assert_int_equal(fclose(fp), 0);
}

/* A kubeconfig whose current context "dev" joins cluster "prod" and user "alice"; the caller gives
 * the fields of each, indented by four spaces. */
static void write_config(const Fixture *f, const char *cluster, const char *user)
{
        char *s = NULL;
        assert_true(asprintf(&s,
                             "apiVersion: v1\n"
                             "kind: Config\n"
                             "current-context: dev\n"
                             "contexts:\n"
                             "- name: other\n"
                             "  context: {cluster: nowhere, user: nobody}\n"
                             "- name: dev\n"
                             "  context:\n"
                             "    cluster: prod\n"
                             "    user: alice\n"
                             "    namespace: team-a\n"
                             "clusters:\n"
                             "- name: prod\n"
                             "  cluster:\n"
                             "%s"
                             "users:\n"
                             "- name: bob\n"
                             "  user: {token: not-this-one}\n"
                             "- name: alice\n"
                             "  user:\n"
                             "%s",
                             cluster, user) > 0);
        write_file(f->config, s);
        free(s);
}

#define SERVER "    server: https://api.example.com:6443\n"

static void load_ok(const Fixture *f, KubeConfig *c)
{
        char *error = NULL;
        int r = kube_config_load_file(f->config, c, &error);
        if (r < 0)
                fail_msg("kube_config_load_file: %d %s", r, error ?: "(no message)");
        assert_null(error);
}

/* The load fails with r, and the message begins with the path and contains every fragment given. */
static void load_fails(const Fixture *f, int expected, ...)
{
        KubeConfig c = {.server = (char *) "untouched"};
        char *error = NULL;
        va_list ap;

        assert_int_equal(kube_config_load_file(f->config, &c, &error), expected);
        assert_string_equal(c.server, "untouched");
        assert_non_null(error);
        assert_int_equal(strncmp(error, f->config, strlen(f->config)), 0);
        va_start(ap, expected);
        for (const char *frag; (frag = va_arg(ap, const char *));)
                if (!strstr(error, frag))
                        fail_msg("message \"%s\" lacks \"%s\"", error, frag);
        va_end(ap);
        free(error);
}

static void assert_message(const Fixture *f, const char *expected)
{
        KubeConfig c = {};
        char *error = NULL, *full = NULL;
        assert_int_equal(kube_config_load_file(f->config, &c, &error), -EINVAL);
        assert_true(asprintf(&full, "%s: %s", f->config, expected) > 0);
        assert_string_equal(error, full);
        free(full);
        free(error);
}

static void test_token_file_relative_and_rotation(void **state)
{
        Fixture *f = *state;
        KubeConfig c = {};
        char *t = NULL;

        assert_int_equal(mkdir(at(f, "tokens"), 0700), 0);
        write_file(at(f, "tokens/t"), "  first-token\n\n");
        write_file(at(f, "ca.crt"), FAKE_CERT);
        write_config(f, "    server: HTTPS://api.example.com:6443//\n    certificate-authority: ca.crt\n",
                     "    tokenFile: tokens/t\n");
        load_ok(f, &c);
        assert_string_equal(c.source, f->config);
        assert_string_equal(c.server, "https://api.example.com:6443");
        assert_string_equal(c.namespace, "team-a");
        assert_string_equal(c.ca_file, at(f, "ca.crt"));
        assert_null(c.ca_data);
        assert_string_equal(c.token_file, at(f, "tokens/t"));
        assert_null(c.token);
        assert_null(c.cert_file);
        assert_null(c.cert_data);

        assert_int_equal(kube_config_read_token(&c, &t), 0);
        assert_string_equal(t, "first-token");
        free(t);

        /* The kubelet rotates the token: the next read sees the new one. */
        write_file(at(f, "tokens/t"), "\tsecond-token \r\n");
        assert_int_equal(kube_config_read_token(&c, &t), 0);
        assert_string_equal(t, "second-token");
        free(t);

        /* Failed reads say so and leave *ret alone; the caller keeps its last good token. */
        t = (char *) "kept";
        write_file(at(f, "tokens/t"), " \n");
        assert_int_equal(kube_config_read_token(&c, &t), -EINVAL);
        write_file(at(f, "tokens/t"), "to\nken");
        assert_int_equal(kube_config_read_token(&c, &t), -EINVAL);
        assert_int_equal(unlink(at(f, "tokens/t")), 0);
        assert_int_equal(kube_config_read_token(&c, &t), -ENOENT);
        char *big = malloc(64 * 1024 + 2);
        memset(big, 'a', 64 * 1024 + 1);
        big[64 * 1024 + 1] = 0;
        write_file(at(f, "tokens/t"), big);
        assert_int_equal(kube_config_read_token(&c, &t), -EFBIG);
        big[64 * 1024] = 0; /* exactly the limit */
        write_file(at(f, "tokens/t"), big);
        assert_string_equal(t, "kept");
        assert_int_equal(kube_config_read_token(&c, &t), 0);
        assert_int_equal(strlen(t), 64 * 1024);
        free(t);
        free(big);

        /* Finding 13 of issue 12: a FIFO in its place blocked open() until a writer came, on the
         * event loop. Refused at once now (the alarm turns a hang into a failure). */
        t = (char *) "kept";
        assert_int_equal(unlink(at(f, "tokens/t")), 0);
        assert_int_equal(mkfifo(at(f, "tokens/t"), 0600), 0);
        alarm(10);
        assert_int_equal(kube_config_read_token(&c, &t), -EBADFD);
        alarm(0);
        assert_non_null(strstr(kube_token_error_to_string(-EBADFD), "not a regular file"));
        assert_int_equal(unlink(at(f, "tokens/t")), 0);
        assert_int_equal(mkdir(at(f, "tokens/t"), 0700), 0);
        assert_int_equal(kube_config_read_token(&c, &t), -EISDIR);
        assert_string_equal(t, "kept");

        kube_config_clear(&c);
        assert_null(c.server);
        kube_config_clear(&c); /* twice is harmless */
}

static void test_static_token_absolute_paths(void **state)
{
        Fixture *f = *state;
        KubeConfig c = {};
        char *t = NULL, *cluster = NULL;

        write_file(at(f, "ca.crt"), FAKE_CERT);
        assert_true(asprintf(&cluster,
                             SERVER "    certificate-authority: %s\n    insecure-skip-tls-verify: false\n",
                             at(f, "ca.crt")) > 0);
        write_config(f, cluster, "    token: abc.def\n    as: ~\n");
        load_ok(f, &c);
        assert_string_equal(c.ca_file, at(f, "ca.crt"));
        assert_string_equal(c.token, "abc.def");
        assert_null(c.token_file);
        assert_int_equal(kube_config_read_token(&c, &t), 0);
        assert_string_equal(t, "abc.def");
        assert_ptr_not_equal(t, c.token);
        free(t);
        kube_config_clear(&c);
        free(cluster);

        /* A kubeconfig named without a directory resolves against ".". */
        char cwd[256];
        assert_non_null(getcwd(cwd, sizeof(cwd)));
        assert_int_equal(chdir(f->dir), 0);
        write_config(f, SERVER "    certificate-authority: ca.crt\n", "    token: x\n");
        assert_int_equal(kube_config_load_file("config", &c, NULL), 0);
        assert_string_equal(c.ca_file, "./ca.crt");
        kube_config_clear(&c);
        assert_int_equal(chdir(cwd), 0);
}

static void test_data_wins_over_file(void **state)
{
        Fixture *f = *state;
        KubeConfig c = {};
        char *cluster = NULL, *user = NULL, *t = (char *) "untouched";

        /* The files do not even exist: with -data they are not used, so not checked. */
        assert_true(asprintf(&cluster,
                             SERVER "    certificate-authority: missing-ca.crt\n"
                                    "    certificate-authority-data: %s\n",
                             f->cert_b64) > 0);
        assert_true(asprintf(&user,
                             "    client-certificate: missing.crt\n    client-certificate-data: %s\n"
                             "    client-key: missing.key\n    client-key-data: %s\n",
                             f->cert_b64, f->key_b64) > 0);
        write_config(f, cluster, user);
        load_ok(f, &c);
        assert_null(c.ca_file);
        assert_int_equal(c.ca_len, strlen(FAKE_CERT));
        assert_memory_equal(c.ca_data, FAKE_CERT, c.ca_len);
        assert_null(c.cert_file);
        assert_int_equal(c.cert_len, strlen(FAKE_CERT));
        assert_memory_equal(c.cert_data, FAKE_CERT, c.cert_len);
        assert_null(c.key_file);
        assert_int_equal(c.key_len, strlen(FAKE_KEY));
        assert_memory_equal(c.key_data, FAKE_KEY, c.key_len);
        /* A certificate authenticates: no token. */
        assert_int_equal(kube_config_read_token(&c, &t), 0);
        assert_null(t);
        kube_config_clear(&c);
        free(cluster);
        free(user);

        /* Files alone, relative. */
        write_file(at(f, "client.crt"), FAKE_CERT);
        write_file(at(f, "client.key"), FAKE_KEY);
        write_config(f, SERVER, "    client-certificate: client.crt\n    client-key: client.key\n");
        load_ok(f, &c);
        assert_null(c.ca_file);
        assert_null(c.ca_data);
        assert_string_equal(c.cert_file, at(f, "client.crt"));
        assert_string_equal(c.key_file, at(f, "client.key"));
        kube_config_clear(&c);
}

static void test_rejected_users(void **state)
{
        Fixture *f = *state;
        char *user = NULL;

        write_config(
                f, SERVER,
                "    exec:\n      apiVersion: client.authentication.k8s.io/v1beta1\n      command: aws\n"
                "      args: [eks, get-token]\n");
        assert_message(f, "user \"alice\" uses an exec credential plugin (\"aws\", apiVersion "
                          "client.authentication.k8s.io/v1beta1): seccompd does not run credential plugins; "
                          "use a token, tokenFile or client certificate, or run in-cluster");
        /* Even next to a token: the kubeconfig's author meant the plugin. */
        write_config(f, SERVER, "    token: abc\n    exec: {command: gke-gcloud-auth-plugin}\n");
        assert_message(f, "user \"alice\" uses an exec credential plugin (\"gke-gcloud-auth-plugin\", "
                          "apiVersion not set): seccompd does not run credential plugins; use a token, "
                          "tokenFile or client certificate, or run in-cluster");

        write_config(f, SERVER, "    auth-provider:\n      name: oidc\n      config: {idp-issuer-url: x}\n");
        assert_message(
                f, "user \"alice\" uses the auth-provider \"oidc\": seccompd does not run authentication "
                   "providers; use a token, tokenFile or client certificate, or run in-cluster");

        write_config(f, SERVER, "    username: admin\n    password: secret\n");
        assert_message(f,
                       "user \"alice\" uses basic authentication (username/password), which the API server "
                       "no longer accepts; use a token, tokenFile or client certificate, or run in-cluster");
        write_config(f, SERVER, "    password: secret\n");
        load_fails(f, -EINVAL, "user \"alice\" uses basic authentication", NULL);

        write_config(f, SERVER, "    token: abc\n    as-groups: [system:masters]\n");
        assert_message(
                f, "user \"alice\" sets impersonation (as-groups): seccompd does not impersonate; give it "
                   "the credentials of the identity it should act as");

        write_config(f, SERVER, "    token: abc\n    tokenFile: /dev/null\n");
        assert_message(f, "user \"alice\": more than one authentication method found (token, tokenFile); "
                          "seccompd uses exactly one, keep one of them");
        assert_true(asprintf(&user,
                             "    tokenFile: t\n    client-certificate-data: %s\n    client-key-data: %s\n",
                             f->cert_b64, f->key_b64) > 0);
        write_file(at(f, "t"), "tok\n");
        write_config(f, SERVER, user);
        load_fails(f, -EINVAL,
                   "user \"alice\": more than one authentication method found (tokenFile, client "
                   "certificate)",
                   NULL);
        free(user);

        write_file(at(f, "client.crt"), FAKE_CERT);
        write_file(at(f, "client.key"), FAKE_KEY);
        write_config(f, SERVER, "    client-certificate: client.crt\n");
        assert_message(f, "user \"alice\" has a client certificate but no client key; add client-key or "
                          "client-key-data");
        write_config(f, SERVER, "    client-key: client.key\n");
        assert_message(
                f, "user \"alice\" has a client key but no client certificate; add client-certificate or "
                   "client-certificate-data");

        write_config(f, SERVER, "    token: \"\"\n");
        assert_message(f, "user \"alice\" has no credentials; seccompd needs a token, tokenFile or client "
                          "certificate and key");
        write_config(f, SERVER, "    {}\n");
        load_fails(f, -EINVAL, "user \"alice\" has no credentials", NULL);

        write_config(f, SERVER, "    token: \"ab\\ncd\"\n");
        assert_message(f, "user \"alice\": token contains a control character");
        write_config(f, SERVER, "    token: [a, b]\n");
        assert_message(f, "user \"alice\": token is not a string");

        write_config(f, SERVER, "    tokenFile: nothing-here\n");
        load_fails(f, -ENOENT, "user \"alice\": tokenFile \"",
                   "/nothing-here\" cannot be read: No such file", NULL);
        write_file(at(f, "empty"), "\n");
        write_config(f, SERVER, "    tokenFile: empty\n");
        load_fails(f, -EINVAL, "user \"alice\": tokenFile \"",
                   "/empty\" is empty or holds a control character", NULL);
        assert_int_equal(mkfifo(at(f, "fifo"), 0600), 0);
        write_config(f, SERVER, "    tokenFile: fifo\n");
        alarm(10);
        load_fails(
                f, -EBADFD, "user \"alice\": tokenFile \"",
                "/fifo\" cannot be read: it is not a regular file (a FIFO, socket or device is never read)",
                NULL);
        alarm(0);

        write_config(f, SERVER, "    client-certificate: nothing.crt\n    client-key: client.key\n");
        load_fails(f, -ENOENT, "user \"alice\": client-certificate \"", "nothing.crt\" cannot be read",
                   NULL);
        write_config(f, SERVER, "    client-certificate-data: \"!!!!\"\n    client-key: client.key\n");
        assert_message(f, "user \"alice\": client-certificate-data is not valid base64");
        write_config(f, SERVER, "    client-certificate: client.crt\n    client-key-data: Zm9vYmFy\n");
        assert_message(f,
                       "user \"alice\": client-key-data does not hold PEM data (no \"PRIVATE KEY-----\")");
}

static void test_rejected_clusters(void **state)
{
        Fixture *f = *state;
        char *cluster = NULL;

        write_config(f, SERVER "    insecure-skip-tls-verify: true\n", "    token: abc\n");
        assert_message(
                f, "cluster \"prod\" sets insecure-skip-tls-verify: true: a daemon that decides how every "
                   "container is confined never talks to an unverified server; give the cluster's CA "
                   "with certificate-authority or certificate-authority-data");
        write_config(f, SERVER "    insecure-skip-tls-verify: yes\n", "    token: abc\n");
        load_fails(f, -EINVAL, "cluster \"prod\" sets insecure-skip-tls-verify: true", NULL);
        write_config(f, SERVER "    insecure-skip-tls-verify: maybe\n", "    token: abc\n");
        assert_message(f, "cluster \"prod\": insecure-skip-tls-verify \"maybe\" is not true or false");

        assert_true(asprintf(&cluster,
                             SERVER
                             "    certificate-authority-data: %s\n    insecure-skip-tls-verify: true\n",
                             f->cert_b64) > 0);
        write_config(f, cluster, "    token: abc\n");
        assert_message(f,
                       "cluster \"prod\": specifying a root certificates file with the insecure flag is not "
                       "allowed; remove insecure-skip-tls-verify: seccompd always verifies the server with "
                       "the CA");
        free(cluster);

        write_config(f, SERVER "    tls-server-name: kubernetes.default\n", "    token: abc\n");
        assert_message(
                f, "cluster \"prod\" sets tls-server-name \"kubernetes.default\": seccompd does not support "
                   "it; use a server URL whose host name is in the API server's certificate");
        write_config(f, SERVER "    proxy-url: http://proxy:3128\n", "    token: abc\n");
        assert_message(
                f, "cluster \"prod\" sets proxy-url \"http://proxy:3128\": seccompd does not read proxies "
                   "from a kubeconfig; set HTTPS_PROXY (and NO_PROXY) in its environment instead");

        write_config(f, "    certificate-authority-data: null\n", "    token: abc\n");
        assert_message(f, "cluster \"prod\" has no server; set server to the API server's https:// URL");
        write_config(f, "    server: http://api.example.com:8080\n", "    token: abc\n");
        assert_message(f, "cluster \"prod\": server \"http://api.example.com:8080\" is not an https:// URL; "
                          "seccompd talks to the API server over verified TLS only");
        write_config(f, "    server: https:///\n", "    token: abc\n");
        load_fails(f, -EINVAL, "cluster \"prod\": server \"https:///\" is not an https:// URL", NULL);
        write_config(f, "    server: api.example.com:6443\n", "    token: abc\n");
        load_fails(f, -EINVAL, "cluster \"prod\": server \"api.example.com:6443\" is not an https:// URL",
                   NULL);
        write_config(f, "    server: {host: x}\n", "    token: abc\n");
        assert_message(f, "cluster \"prod\": server is not a string");

        write_config(f, SERVER "    certificate-authority: no-such-ca.crt\n", "    token: abc\n");
        load_fails(f, -ENOENT, "cluster \"prod\": certificate-authority \"",
                   "/no-such-ca.crt\" cannot be read", NULL);
        write_config(f, SERVER "    certificate-authority-data: Zm9v YmFy\n", "    token: abc\n");
        assert_message(f, "cluster \"prod\": certificate-authority-data is not valid base64");
        /* Double-encoded data is a common mistake. */
        assert_true(asprintf(&cluster, SERVER "    certificate-authority-data: %s\n", f->key_b64) > 0);
        write_config(f, cluster, "    token: abc\n");
        assert_message(
                f, "cluster \"prod\": certificate-authority-data does not hold PEM data (no \"-----BEGIN "
                   "CERTIFICATE-----\")");
        free(cluster);

        /* A server with a path (Rancher) is kept, without the trailing slash. */
        KubeConfig c = {};
        write_config(f, "    server: https://rancher.example/k8s/clusters/c-1/\n", "    token: abc\n");
        load_ok(f, &c);
        assert_string_equal(c.server, "https://rancher.example/k8s/clusters/c-1");
        assert_string_equal(c.namespace, "team-a");
        kube_config_clear(&c);
}

static void test_rejected_contexts(void **state)
{
        Fixture *f = *state;
        static const char clusters_users[] = "clusters:\n- name: prod\n  cluster: {server: 'https://a:1'}\n"
                                             "users:\n- name: alice\n  user: {token: abc}\n";
        char *s = NULL;

#define CONFIG(head)                                                                                        \
        do {                                                                                                \
                assert_true(asprintf(&s, "%s%s", head, clusters_users) > 0);                                \
                write_file(f->config, s);                                                                   \
                free(s);                                                                                    \
        } while (0)

        CONFIG("apiVersion: v1\ncontexts: [{name: dev, context: {cluster: prod, user: alice}}]\n");
        assert_message(f, "no current-context; set one with \"kubectl config use-context NAME\"");
        CONFIG("current-context: \"\"\ncontexts: [{name: dev, context: {cluster: prod, user: alice}}]\n");
        assert_message(f, "no current-context; set one with \"kubectl config use-context NAME\"");
        CONFIG("current-context: staging\ncontexts: [{name: dev, context: {cluster: prod, user: alice}}]\n");
        assert_message(f, "current-context \"staging\" is not in contexts");
        CONFIG("current-context: staging\n");
        assert_message(f, "current-context \"staging\" is not in contexts");
        CONFIG("current-context: dev\ncontexts: [{name: dev, context: {cluster: test, user: alice}}]\n");
        assert_message(f, "context \"dev\" names cluster \"test\", which is not in clusters");
        CONFIG("current-context: dev\ncontexts: [{name: dev, context: {cluster: prod, user: carol}}]\n");
        assert_message(f, "context \"dev\" names user \"carol\", which is not in users");
        CONFIG("current-context: dev\ncontexts: [{name: dev, context: {cluster: prod}}]\n");
        assert_message(f, "context \"dev\" names no user; seccompd needs a user with a token, tokenFile or "
                          "client certificate and key");
        CONFIG("current-context: dev\ncontexts: [{name: dev, context: {user: alice}}]\n");
        assert_message(f, "context \"dev\" names no cluster");
        CONFIG("current-context: dev\ncontexts: [{name: dev}]\n");
        assert_message(f, "context \"dev\" has no context mapping");
        CONFIG("current-context: dev\ncontexts: {dev: {cluster: prod, user: alice}}\n");
        assert_message(f, "contexts is not a list");
        write_file(f->config,
                   "current-context: dev\ncontexts: [{name: dev, context: {cluster: prod, user: alice}}]\n"
                   "clusters:\n- name: prod\n  cluster: {server: 'https://b:2'}\n"
                   "- name: prod\n  cluster: {server: 'https://a:1'}\n"
                   "users:\n- name: alice\n  user: {token: abc}\n");
        assert_message(f, "clusters lists cluster \"prod\" twice; keep one");

        write_file(f->config, "");
        assert_message(f, "the file is empty; give a kubeconfig with a current-context");
        write_file(f->config, "- a\n- b\n");
        assert_message(f, "not a kubeconfig: the top level is not a mapping");
        write_file(f->config, "current-context: dev\ncontexts: [\n");
        load_fails(f, -EINVAL, ":3:1: not valid YAML: ", NULL);

        assert_int_equal(unlink(f->config), 0);
        load_fails(f, -ENOENT, ": cannot be read: No such file or directory", NULL);
        char *big = malloc(1024 * 1024 + 2);
        memset(big, '#', 1024 * 1024 + 1);
        big[1024 * 1024 + 1] = 0;
        write_file(f->config, big);
        free(big);
        load_fails(f, -EFBIG, ": larger than 1024 KiB; not a kubeconfig", NULL);
#undef CONFIG
}

/* kube_config_load picks the config: the file given, else KUBECONFIG (one file), else in-cluster. */
static void test_load_picks_one_config(void **state)
{
        Fixture *f = *state;
        KubeConfig c = {.server = (char *) "untouched"};
        char *error = NULL, *list = NULL, *expected = NULL;

        write_config(f, SERVER, "    token: abc.def\n");
        assert_true(asprintf(&list, "%s:%s", f->config, at(f, "other")) > 0);

        /* kubectl would merge the two; seccompd refuses to read part of that. */
        setenv("KUBECONFIG", list, 1);
        assert_int_equal(kube_config_load(NULL, &c, &error), -EINVAL);
        assert_string_equal(c.server, "untouched");
        assert_true(asprintf(&expected,
                             "KUBECONFIG=\"%s\" lists several files: seccompd reads one kubeconfig file and "
                             "does not merge them as kubectl does; set KUBECONFIG to one file, or give "
                             "--kubeconfig FILE",
                             list) > 0);
        assert_string_equal(error, expected);
        free(expected);
        free(error);
        error = NULL;
        assert_int_equal(kube_config_load("", &c, NULL), -EINVAL); /* empty: not given */

        /* The file given wins, and KUBECONFIG is not looked at. */
        c = (KubeConfig){};
        assert_int_equal(kube_config_load(f->config, &c, &error), 0);
        assert_null(error);
        assert_string_equal(c.source, f->config);
        assert_string_equal(c.token, "abc.def");
        kube_config_clear(&c);

        /* One file in KUBECONFIG is read. */
        setenv("KUBECONFIG", f->config, 1);
        assert_int_equal(kube_config_load(NULL, &c, &error), 0);
        assert_string_equal(c.source, f->config);
        kube_config_clear(&c);
        setenv("KUBECONFIG", at(f, "missing"), 1);
        assert_int_equal(kube_config_load(NULL, &c, &error), -ENOENT);
        assert_non_null(strstr(error, ": cannot be read: No such file or directory"));
        free(error);
        error = NULL;

        /* Unset or empty: in-cluster, never ~/.kube/config. */
        setenv("HOME", f->dir, 1);
        assert_int_equal(mkdir(at(f, ".kube"), 0700), 0);
        assert_int_equal(rename(f->config, at(f, ".kube/config")), 0);
        setenv("KUBECONFIG", "", 1);
        assert_int_equal(kube_config_load(NULL, &c, &error), -ENOENT);
        assert_non_null(strstr(error, "not running in a cluster"));
        free(error);
        error = NULL;
        unsetenv("KUBECONFIG");
        assert_int_equal(kube_config_load(NULL, &c, &error), -ENOENT);
        assert_non_null(strstr(error, "not running in a cluster"));
        free(error);
        free(list);
}

static void write_sa(const Fixture *f, const char *ns)
{
        write_file(at(f, "token"), "sa-token-1\n");
        write_file(at(f, "ca.crt"), FAKE_CERT);
        if (ns)
                write_file(at(f, "namespace"), ns);
}

static void test_incluster(void **state)
{
        Fixture *f = *state;
        KubeConfig c = {};
        char *error = NULL, *t = NULL;

        write_sa(f, " kube-system\n");
        setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
        setenv("KUBERNETES_SERVICE_PORT", "443", 1);
        assert_int_equal(kube_config_load_incluster(f->dir, &c, &error), 0);
        assert_null(error);
        assert_string_equal(c.source, "in-cluster");
        assert_string_equal(c.server, "https://10.96.0.1:443");
        assert_string_equal(c.token_file, at(f, "token"));
        assert_string_equal(c.ca_file, at(f, "ca.crt"));
        assert_null(c.ca_data);
        assert_null(c.token);
        assert_null(c.cert_file);
        assert_string_equal(c.namespace, "kube-system");
        assert_int_equal(kube_config_read_token(&c, &t), 0);
        assert_string_equal(t, "sa-token-1");
        free(t);
        write_file(at(f, "token"), "sa-token-2");
        assert_int_equal(kube_config_read_token(&c, &t), 0);
        assert_string_equal(t, "sa-token-2");
        free(t);
        kube_config_clear(&c);

        /* POD_NAMESPACE wins over the file; an empty one does not count. */
        setenv("POD_NAMESPACE", "from-env", 1);
        assert_int_equal(kube_config_load_incluster(f->dir, &c, NULL), 0);
        assert_string_equal(c.namespace, "from-env");
        kube_config_clear(&c);
        setenv("POD_NAMESPACE", "", 1);
        assert_int_equal(kube_config_load_incluster(f->dir, &c, NULL), 0);
        assert_string_equal(c.namespace, "kube-system");
        kube_config_clear(&c);
        unsetenv("POD_NAMESPACE");

        /* The namespace file is optional. */
        assert_int_equal(unlink(at(f, "namespace")), 0);
        assert_int_equal(kube_config_load_incluster(f->dir, &c, NULL), 0);
        assert_null(c.namespace);
        kube_config_clear(&c);
}

static void test_incluster_ipv6(void **state)
{
        Fixture *f = *state;
        KubeConfig c = {};

        write_sa(f, NULL);
        setenv("KUBERNETES_SERVICE_HOST", "fd00:10:96::1", 1);
        setenv("KUBERNETES_SERVICE_PORT", "6443", 1);
        assert_int_equal(kube_config_load_incluster(f->dir, &c, NULL), 0);
        assert_string_equal(c.server, "https://[fd00:10:96::1]:6443");
        kube_config_clear(&c);
        setenv("KUBERNETES_SERVICE_HOST", "[::1]", 1);
        assert_int_equal(kube_config_load_incluster(f->dir, &c, NULL), 0);
        assert_string_equal(c.server, "https://[::1]:6443");
        kube_config_clear(&c);
        setenv("KUBERNETES_SERVICE_HOST", "kubernetes.default.svc", 1);
        assert_int_equal(kube_config_load_incluster(f->dir, &c, NULL), 0);
        assert_string_equal(c.server, "https://kubernetes.default.svc:6443");
        kube_config_clear(&c);
}

static void incluster_fails(const Fixture *f, int expected, const char *message)
{
        KubeConfig c = {};
        char *error = NULL;
        assert_int_equal(kube_config_load_incluster(f->dir, &c, &error), expected);
        assert_null(c.server);
        assert_non_null(error);
        if (!strstr(error, message))
                fail_msg("message \"%s\" lacks \"%s\"", error, message);
        free(error);
}

static void test_incluster_errors(void **state)
{
        Fixture *f = *state;
        static const char not_in_cluster[] =
                "not running in a cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must both be "
                "set; outside a pod, give a kubeconfig";
        KubeConfig c = {};
        char *error = NULL;

        write_sa(f, "default");
        assert_int_equal(kube_config_load_incluster(f->dir, &c, &error), -ENOENT);
        assert_string_equal(error, not_in_cluster);
        free(error);
        setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
        incluster_fails(f, -ENOENT, not_in_cluster);
        setenv("KUBERNETES_SERVICE_PORT", "", 1);
        incluster_fails(f, -ENOENT, not_in_cluster);
        setenv("KUBERNETES_SERVICE_PORT", "https", 1);
        incluster_fails(f, -EINVAL, "in-cluster: KUBERNETES_SERVICE_PORT \"https\" is not a port number");
        setenv("KUBERNETES_SERVICE_PORT", "443", 1);
        setenv("KUBERNETES_SERVICE_HOST", "evil/path?", 1);
        incluster_fails(f, -EINVAL, "in-cluster: KUBERNETES_SERVICE_HOST \"evil/path?\" is not a host");
        setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);

        write_file(at(f, "token"), "\n");
        incluster_fails(f, -EINVAL, "in-cluster: the service account token ");
        assert_int_equal(unlink(at(f, "token")), 0);
        incluster_fails(f, -ENOENT,
                        "/token: No such file or directory (is the service account token mounted?)");
        write_file(at(f, "token"), "t");
        assert_int_equal(unlink(at(f, "ca.crt")), 0);
        incluster_fails(f, -ENOENT, "in-cluster: cannot read the cluster CA ");
}

/* ---- TLS against a real server ---- */

static int run(const char *cmd)
{
        int r = system(cmd);
        return WIFEXITED(r) ? WEXITSTATUS(r) : -1;
}

static int free_port(void)
{
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t l = sizeof(a);
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_true(fd >= 0);
        assert_int_equal(bind(fd, (struct sockaddr *) &a, sizeof(a)), 0);
        assert_int_equal(getsockname(fd, (struct sockaddr *) &a, &l), 0);
        close(fd);
        return ntohs(a.sin_port);
}

static bool port_open(int port)
{
        struct sockaddr_in a = {.sin_family = AF_INET,
                                .sin_port = htons((uint16_t) port),
                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        bool ok = connect(fd, (struct sockaddr *) &a, sizeof(a)) == 0;
        close(fd);
        return ok;
}

static size_t discard(char *p, size_t size, size_t n, void *userdata)
{
        return size * n;
}

static CURLcode get(const KubeConfig *c, int port)
{
        char url[64];
        CURL *easy = curl_easy_init();
        assert_non_null(easy);
        snprintf(url, sizeof(url), "https://localhost:%d/", port);
        assert_int_equal(curl_easy_setopt(easy, CURLOPT_URL, url), CURLE_OK);
        assert_int_equal(curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, discard), CURLE_OK);
        assert_int_equal(curl_easy_setopt(easy, CURLOPT_TIMEOUT, 20L), CURLE_OK);
        assert_int_equal(kube_config_apply_tls(c, easy), 0);
        CURLcode cc = curl_easy_perform(easy);
        curl_easy_cleanup(easy);
        return cc;
}

static void read_pem(const char *path, uint8_t **ret, size_t *ret_len)
{
        char *buf = NULL;
        assert_int_equal(read_full_file(path, 1 << 20, &buf, ret_len), 0);
        *ret = (uint8_t *) buf;
}

static void test_apply_tls_real_server(void **state)
{
        Fixture *f = *state;
        char cmd[4096];
        int port = free_port();

        if (run("command -v openssl >/dev/null") != 0)
                skip();
        /* A cluster CA that signs the server and the client, and an unrelated CA. */
        snprintf(cmd, sizeof(cmd),
                 "cd %s && exec >openssl.log 2>&1 && "
                 "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj "
                 "/CN=test-ca "
                 "  -keyout ca.key -out ca.crt && "
                 "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj "
                 "/CN=other-ca "
                 "  -keyout other.key -out other.crt && "
                 "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=apiserver "
                 "  -keyout server.key -out server.csr && "
                 "printf 'subjectAltName=DNS:localhost\\n' >server.ext && "
                 "openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 1 "
                 "  -extfile server.ext -out server.crt && "
                 "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=seccompd "
                 "  -keyout client.key -out client.csr && "
                 "openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 1 "
                 "  -out client.crt",
                 f->dir);
        assert_int_equal(run(cmd), 0);

        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                char p[16];
                snprintf(p, sizeof(p), "%d", port);
                assert_int_equal(chdir(f->dir), 0);
                int null = open("/dev/null", O_RDWR);
                dup2(null, STDIN_FILENO);
                dup2(null, STDOUT_FILENO);
                dup2(null, STDERR_FILENO);
                /* -Verify: a client certificate signed by ca.crt is required. */
                execlp("openssl", "openssl", "s_server", "-quiet", "-www", "-accept", p, "-cert",
                       "server.crt", "-key", "server.key", "-CAfile", "ca.crt", "-Verify", "1",
                       (char *) NULL);
                _exit(127);
        }
        f->server = pid;
        struct timespec deadline, now, tick = {0, 10 * 1000 * 1000};
        clock_gettime(CLOCK_MONOTONIC, &deadline);
        deadline.tv_sec += 20;
        while (!port_open(port)) {
                clock_gettime(CLOCK_MONOTONIC, &now);
                assert_true(now.tv_sec < deadline.tv_sec);
                assert_int_equal(waitpid(pid, NULL, WNOHANG), 0); /* still running */
                nanosleep(&tick, NULL);
        }

        KubeConfig c = {.ca_file = at(f, "ca.crt"),
                        .cert_file = at(f, "client.crt"),
                        .key_file = at(f, "client.key")};
        assert_int_equal(get(&c, port), CURLE_OK);

        /* The same from memory (certificate-authority-data, client-*-data). */
        KubeConfig m = {};
        read_pem(at(f, "ca.crt"), &m.ca_data, &m.ca_len);
        read_pem(at(f, "client.crt"), &m.cert_data, &m.cert_len);
        read_pem(at(f, "client.key"), &m.key_data, &m.key_len);
        assert_int_equal(get(&m, port), CURLE_OK);

        /* Another CA does not vouch for the server, nor do the system CAs. */
        KubeConfig other = m;
        other.ca_data = NULL;
        other.ca_file = at(f, "other.crt");
        assert_int_equal(get(&other, port), CURLE_PEER_FAILED_VERIFICATION);
        other.ca_file = NULL;
        assert_int_equal(get(&other, port), CURLE_PEER_FAILED_VERIFICATION);

        /* Without the client certificate the server refuses the handshake. */
        KubeConfig anonymous = {.ca_data = m.ca_data, .ca_len = m.ca_len};
        assert_int_not_equal(get(&anonymous, port), CURLE_OK);
        assert_int_equal(get(&m, port), CURLE_OK); /* and the server still serves */

        free(m.ca_data);
        free(m.cert_data);
        free(m.key_data);
}

static void test_apply_tls_options(void **state)
{
        CURL *easy = curl_easy_init();
        KubeConfig none = {.token = (char *) "t"};
        KubeConfig blobs = {.ca_data = (uint8_t *) FAKE_CERT,
                            .ca_len = strlen(FAKE_CERT),
                            .cert_data = (uint8_t *) FAKE_CERT,
                            .cert_len = strlen(FAKE_CERT),
                            .key_data = (uint8_t *) FAKE_KEY,
                            .key_len = strlen(FAKE_KEY)};
        KubeConfig files = {
                .ca_file = (char *) "/x/ca.crt", .cert_file = (char *) "/x/c", .key_file = (char *) "/x/k"};

        assert_non_null(easy);
        assert_int_equal(kube_config_apply_tls(&none, easy), 0);
        assert_int_equal(kube_config_apply_tls(&blobs, easy), 0);
        assert_int_equal(kube_config_apply_tls(&files, easy), 0);
        curl_easy_cleanup(easy);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_token_file_relative_and_rotation, setup, teardown),
                cmocka_unit_test_setup_teardown(test_static_token_absolute_paths, setup, teardown),
                cmocka_unit_test_setup_teardown(test_data_wins_over_file, setup, teardown),
                cmocka_unit_test_setup_teardown(test_rejected_users, setup, teardown),
                cmocka_unit_test_setup_teardown(test_rejected_clusters, setup, teardown),
                cmocka_unit_test_setup_teardown(test_rejected_contexts, setup, teardown),
                cmocka_unit_test_setup_teardown(test_load_picks_one_config, setup, teardown),
                cmocka_unit_test_setup_teardown(test_incluster, setup, teardown),
                cmocka_unit_test_setup_teardown(test_incluster_ipv6, setup, teardown),
                cmocka_unit_test_setup_teardown(test_incluster_errors, setup, teardown),
                cmocka_unit_test_setup_teardown(test_apply_tls_options, setup, teardown),
                cmocka_unit_test_setup_teardown(test_apply_tls_real_server, setup, teardown),
        };
        curl_global_init(CURL_GLOBAL_DEFAULT);
        cmocka_set_message_output(CM_OUTPUT_TAP);
        int r = cmocka_run_group_tests(tests, NULL, NULL);
        curl_global_cleanup();
        return r;
}
