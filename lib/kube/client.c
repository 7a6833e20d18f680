/* SPDX-License-Identifier: Apache-2.0 */
#include <ctype.h>
#include <curl/curl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "config.h"
#include "kube/client.h"
#include "kube/decode.h"
#include "shared/macro.h"

/* Error bodies are Status objects or a line of text: nothing legitimate is larger. */
#define ERROR_BODY_MAX KUBE_STATUS_MAX
/* A redirect's Location, for the message: the server chose it. */
#define LOCATION_MAX 256

/* OpenSSL's X509_V_* verify results (x509_vfy.h; stable numbers since OpenSSL 0.9), spelled out
 * rather than including OpenSSL's headers for them: libcurl is what we link. */
#define X509_OK_                       0
#define X509_UNSPECIFIED_              1
#define X509_UNABLE_TO_GET_ISSUER_     2
#define X509_CERT_SIGNATURE_FAILURE_   7
#define X509_CERT_NOT_YET_VALID_       9
#define X509_CERT_HAS_EXPIRED_         10
#define X509_DEPTH_ZERO_SELF_SIGNED_   18
#define X509_SELF_SIGNED_IN_CHAIN_     19
#define X509_UNABLE_TO_GET_ISSUER_LOC_ 20
#define X509_UNABLE_TO_VERIFY_LEAF_    21
#define X509_CERT_UNTRUSTED_           27
#define X509_HOSTNAME_MISMATCH_        62
#define X509_IP_ADDRESS_MISMATCH_      64

struct KubeClient {
        sd_event *event;
        const KubeConfig *config; /* borrowed */
        CURLM *multi;
        sd_event_source *timer;
        char *token;     /* the last token read successfully */
        int token_error; /* of the last read, 0 when it succeeded */
        KubeTokenFn on_token;
        void *token_userdata;
        KubeRequest *requests;
        KubeClientStats stats;
        bool openssl; /* libcurl's TLS backend, whose verify results we can read */
};

struct KubeRequest {
        KubeClient *client;
        KubeRequest *prev, *next;
        CURL *easy;
        struct curl_slist *headers;
        KubeRequestOptions o;
        char *buf; /* the collected body, or an error body of a stream */
        size_t len, allocated, max;
        int error;           /* set by the data callback or a bound */
        bool body_too_large; /* the collected body passed max_body */
        bool done;           /* on_done was called: it owned userdata */
        int retry_after;
        char *location; /* of a redirect, escaped */
        char curl_error[CURL_ERROR_SIZE];
};

void kube_status_clear(KubeStatus *s)
{
        free(s->reason);
        free(s->message);
        *s = (KubeStatus){.retry_after = -1};
}

int kube_status_to_errno(const KubeStatus *s)
{
        if (s->http == 0)
                switch (s->curl) {
                case CURLE_OK:
                        return -EIO;
                case CURLE_OPERATION_TIMEDOUT:
                        return -ETIMEDOUT;
                case CURLE_COULDNT_CONNECT:
                        return -ECONNREFUSED;
                case CURLE_PEER_FAILED_VERIFICATION:
                case CURLE_SSL_CACERT_BADFILE:
                        return -EBADMSG;
                default:
                        return -EIO;
                }
        if (s->curl == CURLE_OPERATION_TIMEDOUT)
                return -ETIMEDOUT;
        if (s->http >= 200 && s->http < 300)
                return s->curl == CURLE_OK ? 0 : -EIO;
        switch (s->http) {
        case 401:
                return -EACCES;
        case 403:
                return -EPERM;
        case 404:
                return -ENOENT;
        case 409:
                return -EEXIST;
        case 410:
                return -ESTALE;
        case 413:
                return -EFBIG;
        case 422:
                return -EINVAL;
        case 429:
        case 503:
                return -EAGAIN;
        case 504:
                return -ETIMEDOUT;
        default:
                return -EIO;
        }
}

static const char *redirect_summary(long http)
{
        switch (http) {
        case 301:
                return "redirected (HTTP 301 Moved Permanently); redirects are not followed";
        case 302:
                return "redirected (HTTP 302 Found); redirects are not followed";
        case 303:
                return "redirected (HTTP 303 See Other); redirects are not followed";
        case 307:
                return "redirected (HTTP 307 Temporary Redirect); redirects are not followed";
        case 308:
                return "redirected (HTTP 308 Permanent Redirect); redirects are not followed";
        default:
                return "redirected (HTTP 3xx); redirects are not followed";
        }
}

const char *kube_error_summary(int error, const KubeStatus *s)
{
        if (s && s->http == 0)
                switch (s->tls) {
                case KUBE_TLS_EXPIRED:
                        return "TLS: the server's certificate has expired";
                case KUBE_TLS_NOT_YET_VALID:
                        return "TLS: the server's certificate is not valid yet (is the clock right?)";
                case KUBE_TLS_HOST_MISMATCH:
                        return "TLS: the server's certificate is not for the host in the server URL";
                case KUBE_TLS_UNKNOWN_CA:
                        return "TLS: the server's certificate does not verify against the configured CA";
                case KUBE_TLS_REFUSED:
                        return "TLS: the server's certificate was refused";
                case KUBE_TLS_HANDSHAKE:
                        return "TLS: the handshake failed";
                case KUBE_TLS_NONE:
                        break;
                }
        if (s && s->http >= 300 && s->http < 400)
                return redirect_summary(s->http);
        if (s)
                switch (s->http) {
                case 401:
                        return "unauthorized (HTTP 401)";
                case 403:
                        return "forbidden (HTTP 403)";
                case 404:
                        return "not found (HTTP 404)";
                case 409:
                        return "conflict (HTTP 409)";
                case 410:
                        return "expired (HTTP 410)";
                case 413:
                        return "too large for the server (HTTP 413)";
                case 422:
                        return "invalid (HTTP 422)";
                case 429:
                        return "too many requests (HTTP 429)";
                case 503:
                        return "unavailable (HTTP 503)";
                case 504:
                        return "timed out on the server (HTTP 504)";
                }
        if (s && s->http >= 500 && error == -EIO)
                return "server error";
        if (s && s->http >= 400 && error == -EIO)
                return "refused by the server";
        if (s && s->http >= 200 && s->http < 300)
                switch (error) {
                case -EBADMSG:
                        return "malformed response";
                case -EFBIG:
                        return "response over a bound";
                case -EIO:
                        return "the response was cut off";
                }
        return strerror(error < 0 ? -error : EIO);
}

const KubeClientStats *kube_client_stats(const KubeClient *c)
{
        return &c->stats;
}

static void request_free(KubeRequest *r)
{
        if (!r)
                return;
        KubeClient *c = r->client;
        if (!r->done && r->o.destroy)
                r->o.destroy(r->o.userdata);
        if (r->easy) {
                (void) curl_multi_remove_handle(c->multi, r->easy);
                curl_easy_cleanup(r->easy);
        }
        if (r->prev)
                r->prev->next = r->next;
        else if (c->requests == r)
                c->requests = r->next;
        if (r->next)
                r->next->prev = r->prev;
        curl_slist_free_all(r->headers);
        free((char *) r->o.path);
        free((char *) r->o.method);
        free((char *) r->o.body);
        free((char *) r->o.content_type);
        free(r->buf);
        free(r->location);
        free(r);
}

void kube_request_cancel(KubeRequest *r)
{
        request_free(r);
}

/* Which certificate problem curl's CURLE_PEER_FAILED_VERIFICATION was. */
static KubeTlsProblem tls_problem(KubeRequest *r)
{
        long verify = -1;
        if (!r->client->openssl ||
            curl_easy_getinfo(r->easy, CURLINFO_SSL_VERIFYRESULT, &verify) != CURLE_OK)
                return KUBE_TLS_REFUSED;
        switch (verify) {
        case X509_CERT_HAS_EXPIRED_:
                return KUBE_TLS_EXPIRED;
        case X509_CERT_NOT_YET_VALID_:
                return KUBE_TLS_NOT_YET_VALID;
        case X509_HOSTNAME_MISMATCH_:
        case X509_IP_ADDRESS_MISMATCH_:
        /* libcurl checks the name itself once OpenSSL has verified the chain, and leaves the result at
         * "unspecified" (libcurl 7.88) or OK when only the name failed: measured, see test_kube. */
        case X509_OK_:
        case X509_UNSPECIFIED_:
                return KUBE_TLS_HOST_MISMATCH;
        case X509_UNABLE_TO_GET_ISSUER_:
        case X509_UNABLE_TO_GET_ISSUER_LOC_:
        case X509_UNABLE_TO_VERIFY_LEAF_:
        case X509_DEPTH_ZERO_SELF_SIGNED_:
        case X509_SELF_SIGNED_IN_CHAIN_:
        case X509_CERT_UNTRUSTED_:
        case X509_CERT_SIGNATURE_FAILURE_:
                return KUBE_TLS_UNKNOWN_CA;
        default:
                return KUBE_TLS_REFUSED;
        }
}

static void request_finish(KubeRequest *r, CURLcode code)
{
        KubeClient *c = r->client;
        KubeStatus s = {.curl = code, .retry_after = r->retry_after};
        long http = 0;
        (void) curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &http);
        s.http = http;
        bool success = http >= 200 && http < 300;
        if (!success && r->buf)
                kube_status_from_body(&s, r->buf, r->len);
        if (http >= 300 && http < 400 && r->location) {
                /* The body of a redirect is for browsers; where it points is what helps. */
                free(s.message);
                s.message = NULL;
                (void) asprintf(&s.message, "Location: %s", r->location);
        }
        if (code == CURLE_PEER_FAILED_VERIFICATION)
                s.tls = tls_problem(r);
        else if (code == CURLE_SSL_CONNECT_ERROR)
                s.tls = KUBE_TLS_HANDSHAKE;
        if (r->body_too_large && !s.message)
                (void) asprintf(&s.message, "the response is larger than the %zu-byte bound", r->max);
        /* When our own callback or bound stopped the transfer, curl's "Failure writing output to
         * destination" says nothing: the caller knows what was wrong and says it. */
        else if (code != CURLE_OK && !s.message && !(r->error < 0 && code == CURLE_WRITE_ERROR))
                s.message = strdup(r->curl_error[0] ? r->curl_error : curl_easy_strerror(code));
        c->stats.by_class[http >= 200 && http < 600 ? http / 100 : 0]++;

        int error = r->error < 0 ? r->error : kube_status_to_errno(&s);
        r->done = true;
        if (r->o.on_done)
                r->o.on_done(r, error, &s, success && !r->o.on_data ? r->buf : NULL,
                             success && !r->o.on_data ? r->len : 0, r->o.userdata);
        kube_status_clear(&s);
        request_free(r);
}

static void process_done(KubeClient *c)
{
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(c->multi, &left))) {
                KubeRequest *r = NULL;
                if (msg->msg != CURLMSG_DONE)
                        continue;
                if (curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **) &r) != CURLE_OK || !r)
                        continue;
                request_finish(r, msg->data.result);
        }
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        KubeClient *c = userdata;
        int action = (revents & EPOLLIN ? CURL_CSELECT_IN : 0) |
                     (revents & EPOLLOUT ? CURL_CSELECT_OUT : 0) |
                     (revents & (EPOLLERR | EPOLLHUP) ? CURL_CSELECT_ERR : 0);
        int running;
        (void) curl_multi_socket_action(c->multi, fd, action, &running);
        process_done(c);
        return 0;
}

static int on_curl_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
        KubeClient *c = userp;
        sd_event_source *io = socketp;

        if (what == CURL_POLL_REMOVE) {
                if (io) {
                        (void) curl_multi_assign(c->multi, fd, NULL);
                        sd_event_source_disable_unref(io);
                }
                return 0;
        }
        uint32_t events = (what & CURL_POLL_IN ? EPOLLIN : 0) | (what & CURL_POLL_OUT ? EPOLLOUT : 0);
        if (io) {
                if (sd_event_source_set_io_events(io, events) < 0 ||
                    sd_event_source_set_enabled(io, SD_EVENT_ON) < 0)
                        return -1;
                return 0;
        }
        if (sd_event_add_io(c->event, &io, fd, events, on_io, c) < 0)
                return -1;
        (void) sd_event_source_set_description(io, "kube-socket");
        if (curl_multi_assign(c->multi, fd, io) != CURLM_OK) {
                sd_event_source_disable_unref(io);
                return -1;
        }
        return 0;
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
        KubeClient *c = userdata;
        int running;
        (void) curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
        process_done(c);
        return 0;
}

/* libcurl asks for a wake-up: never act from inside its callback, only arm the timer. */
static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
        KubeClient *c = userp;
        uint64_t now;
        if (timeout_ms < 0)
                return sd_event_source_set_enabled(c->timer, SD_EVENT_OFF) < 0 ? -1 : 0;
        if (sd_event_now(c->event, CLOCK_MONOTONIC, &now) < 0)
                return -1;
        if (sd_event_source_set_time(c->timer, now + (uint64_t) timeout_ms * 1000) < 0 ||
            sd_event_source_set_enabled(c->timer, SD_EVENT_ONESHOT) < 0)
                return -1;
        return 0;
}

int kube_client_new(sd_event *event, const KubeConfig *config, KubeClient **ret)
{
        KubeClient *c = calloc(1, sizeof(KubeClient));
        if (!c)
                return -ENOMEM;
        c->event = sd_event_ref(event);
        c->config = config;
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || !(c->multi = curl_multi_init())) {
                kube_client_free(c);
                return -ENOMEM;
        }
        int r = sd_event_add_time(event, &c->timer, CLOCK_MONOTONIC, UINT64_MAX, 0, on_timer, c);
        if (r < 0) {
                kube_client_free(c);
                return r;
        }
        (void) sd_event_source_set_enabled(c->timer, SD_EVENT_OFF);
        (void) sd_event_source_set_description(c->timer, "kube-curl-timer");
        const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
        c->openssl = v && v->ssl_version && strncmp(v->ssl_version, "OpenSSL/", 8) == 0;
        if (curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket) != CURLM_OK ||
            curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c) != CURLM_OK ||
            curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer) != CURLM_OK ||
            curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c) != CURLM_OK) {
                kube_client_free(c);
                return -EIO;
        }
        *ret = c;
        return 0;
}

void kube_client_on_token(KubeClient *c, KubeTokenFn fn, void *userdata)
{
        c->on_token = fn;
        c->token_userdata = userdata;
}

KubeClient *kube_client_free(KubeClient *c)
{
        if (!c)
                return NULL;
        while (c->requests)
                request_free(c->requests);
        if (c->multi)
                curl_multi_cleanup(c->multi);
        sd_event_source_disable_unref(c->timer);
        sd_event_unref(c->event);
        if (c->token) {
                explicit_bzero(c->token, strlen(c->token));
                free(c->token);
        }
        free(c);
        return NULL;
}

static size_t on_write(char *ptr, size_t size, size_t n, void *userdata)
{
        KubeRequest *r = userdata;
        size_t len = size * n;
        long http = 0;
        (void) curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &http);
        bool success = http >= 200 && http < 300;

        if (success && r->o.on_data) {
                int k = r->o.on_data(r, ptr, len, r->o.userdata);
                if (k < 0) {
                        r->error = k;
                        return 0; /* aborts the transfer */
                }
                return len;
        }
        size_t max = success ? r->max : ERROR_BODY_MAX;
        if (r->len + len > max) {
                if (!success)
                        return len; /* an error body is only a message: keep its start */
                r->error = -EFBIG;
                r->body_too_large = true;
                return 0;
        }
        if (r->len + len + 1 > r->allocated) {
                size_t a = MAX(r->allocated * 2, r->len + len + 1);
                a = MAX(a, (size_t) 16384);
                char *b = realloc(r->buf, a);
                if (!b) {
                        r->error = -ENOMEM;
                        return 0;
                }
                r->buf = b;
                r->allocated = a;
        }
        memcpy(r->buf + r->len, ptr, len);
        r->len += len;
        r->buf[r->len] = 0;
        return len;
}

/* Retry-After with an integer number of seconds, as client-go honours it (an HTTP date is ignored). */
static size_t on_header(char *ptr, size_t size, size_t n, void *userdata)
{
        KubeRequest *r = userdata;
        size_t len = size * n;
        static const char name[] = "retry-after:", location[] = "location:";
        if (len > 5 && strncmp(ptr, "HTTP/", 5) == 0) {
                r->retry_after = -1; /* a new response (after 100 Continue) */
                free(r->location);
                r->location = NULL;
        }
        if (len > sizeof(location) - 1 && strncasecmp(ptr, location, sizeof(location) - 1) == 0) {
                const char *v = ptr + sizeof(location) - 1, *end = ptr + len;
                while (v < end && (*v == ' ' || *v == '\t'))
                        v++;
                while (end > v && isspace((unsigned char) end[-1]))
                        end--;
                char *l = malloc(LOCATION_MAX * 4 + 4);
                if (l) {
                        free(r->location);
                        r->location =
                                kube_escape(v, (size_t) (end - v), LOCATION_MAX, l, LOCATION_MAX * 4 + 4);
                }
        }
        if (len > sizeof(name) - 1 && strncasecmp(ptr, name, sizeof(name) - 1) == 0) {
                const char *v = ptr + sizeof(name) - 1, *end = ptr + len;
                while (v < end && (*v == ' ' || *v == '\t'))
                        v++;
                long secs = 0;
                const char *d = v;
                while (d < end && isdigit((unsigned char) *d) && secs < 100000)
                        secs = secs * 10 + (*d++ - '0');
                while (d < end && isspace((unsigned char) *d))
                        d++;
                if (d > v && d == end)
                        r->retry_after = (int) secs;
        }
        return len;
}

/* Half-open connections: unacknowledged data fails the socket within this, on top of keepalive. */
static int on_sockopt(void *userdata, curl_socket_t fd, curlsocktype purpose)
{
        unsigned timeout_ms = 30 * 1000;
        (void) setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &timeout_ms, sizeof(timeout_ms));
        return CURL_SOCKOPT_OK;
}

static int dup_option(const char *in, const char **out)
{
        if (!in)
                return 0;
        *out = strdup(in);
        return *out ? 0 : -ENOMEM;
}

/* A request that could not start: the caller keeps its userdata. */
static void start_failed(KubeRequest *r)
{
        r->done = true;
        request_free(r);
}

int kube_request_start(KubeClient *c, const KubeRequestOptions *o, KubeRequest **ret)
{
        KubeRequest *r = calloc(1, sizeof(KubeRequest));
        _cleanup_free_ char *url = NULL, *auth = NULL, *type = NULL;
        char *token = NULL;
        int k;

        if (!r)
                return -ENOMEM;
        r->client = c;
        r->o = (KubeRequestOptions){
                .max_body = o->max_body,
                .timeout_usec = o->timeout_usec,
                .on_data = o->on_data,
                .on_done = o->on_done,
                .userdata = o->userdata,
                .destroy = o->destroy,
        };
        r->max = o->max_body;
        r->retry_after = -1;
        r->next = c->requests;
        if (c->requests)
                c->requests->prev = r;
        c->requests = r;
        if (dup_option(o->path, &r->o.path) < 0 || dup_option(o->method ?: "GET", &r->o.method) < 0 ||
            dup_option(o->body, &r->o.body) < 0 || dup_option(o->content_type, &r->o.content_type) < 0 ||
            asprintf(&url, "%s%s", c->config->server, o->path) < 0) {
                start_failed(r);
                return -ENOMEM;
        }

        /* The token as of now: a rotated file is read again; a failed read keeps the last good one. */
        k = kube_config_read_token(c->config, &token);
        if (k >= 0 && token) {
                if (c->token) {
                        explicit_bzero(c->token, strlen(c->token));
                        free(c->token);
                }
                c->token = token;
        } else if (k < 0)
                c->stats.token_read_failures++;
        /* Told once per change, not per request: a watch loop starts many. */
        k = k < 0 ? k : 0;
        if (k != c->token_error) {
                c->token_error = k;
                if (c->on_token)
                        c->on_token(c, c->config->token_file, k, c->token_userdata);
        }
        if (c->token && asprintf(&auth, "Authorization: Bearer %s", c->token) < 0) {
                start_failed(r);
                return -ENOMEM;
        }
        if (o->content_type && asprintf(&type, "Content-Type: %s", o->content_type) < 0) {
                start_failed(r);
                return -ENOMEM;
        }

        struct curl_slist *h = curl_slist_append(NULL, "Accept: application/json");
        if (h && auth)
                h = curl_slist_append(h, auth) ?: (curl_slist_free_all(h), NULL);
        if (h && type)
                h = curl_slist_append(h, type) ?: (curl_slist_free_all(h), NULL);
        if (auth)
                explicit_bzero(auth, strlen(auth));
        if (!h || !(r->easy = curl_easy_init())) {
                curl_slist_free_all(h);
                start_failed(r);
                return -ENOMEM;
        }
        r->headers = h;

        CURL *e = r->easy;
        bool ok = curl_easy_setopt(e, CURLOPT_URL, url) == CURLE_OK &&
                  curl_easy_setopt(e, CURLOPT_PRIVATE, r) == CURLE_OK &&
                  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https") == CURLE_OK &&
                  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
                  curl_easy_setopt(e, CURLOPT_HTTPHEADER, h) == CURLE_OK &&
                  curl_easy_setopt(e, CURLOPT_USERAGENT, "seccompd/" PROJECT_VERSION) == CURLE_OK &&
                  curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "") == CURLE_OK &&
                  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write) == CURLE_OK &&
                  curl_easy_setopt(e, CURLOPT_WRITEDATA, r) == CURLE_OK &&
                  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header) == CURLE_OK &&
                  curl_easy_setopt(e, CURLOPT_HEADERDATA, r) == CURLE_OK &&
                  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->curl_error) == CURLE_OK &&
                  curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L) == CURLE_OK &&
                  curl_easy_setopt(e, CURLOPT_TCP_KEEPIDLE, 30L) == CURLE_OK &&
                  curl_easy_setopt(e, CURLOPT_TCP_KEEPINTVL, 10L) == CURLE_OK &&
                  curl_easy_setopt(e, CURLOPT_SOCKOPTFUNCTION, on_sockopt) == CURLE_OK &&
                  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 30000L) == CURLE_OK &&
                  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long) (o->timeout_usec / 1000)) == CURLE_OK &&
                  curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r->o.method) == CURLE_OK &&
                  kube_config_apply_tls(c->config, e) >= 0;
        if (ok && r->o.body)
                ok = curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long) strlen(r->o.body)) == CURLE_OK &&
                     curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->o.body) == CURLE_OK;
        if (!ok || curl_multi_add_handle(c->multi, e) != CURLM_OK) {
                start_failed(r);
                return -EIO;
        }
        c->stats.requests++;
        if (ret)
                *ret = r;
        return 0;
}
