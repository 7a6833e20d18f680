/* SPDX-License-Identifier: Apache-2.0 */
/* libmicrohttpd in "external epoll" mode: MHD keeps its sockets in an epoll fd of its own, which is one
 * io source of our loop, and never starts a thread. MHD must also run when no socket is ready (idle
 * connections time out, data it has already read waits to be processed): a one-shot timer is re-armed
 * from MHD_get_timeout() after every MHD_run(), as that function's documentation requires, and at once
 * after a run that freed a connection (see http_server_arm). */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "http.h"
#include "shared/macro.h"

#define TEXT_PLAIN      "text/plain; charset=utf-8"
#define PROMETHEUS_TEXT "text/plain; version=0.0.4; charset=utf-8"
/* MHD_get_timeout() may say "in a long time"; waking earlier than asked is harmless. */
#define MAX_WAIT_USEC (3600ULL * 1000000ULL)

static const HttpLimits default_limits = {
        .connections = 32,
        .connections_per_ip = 8,
        .idle_timeout_sec = 10,
        /* A scraper's or a probe's request is a few hundred bytes; responses are sent from their own
         * buffers, not from this pool. */
        .connection_memory = 16 * 1024,
};

struct HttpServer {
        struct MHD_Daemon *mhd;
        sd_event *event;
        sd_event_source *io, *timer;
        HttpReadyFn ready;
        const Metrics *metrics; /* borrowed */
        void *userdata;         /* borrowed */
        unsigned port;
        bool freed; /* the last MHD_run() freed a connection */
};

typedef struct ListenAddress {
        int family; /* AF_INET, AF_INET6, or AF_UNSPEC for all addresses */
        union {
                struct sockaddr sa;
                struct sockaddr_in in;
                struct sockaddr_in6 in6;
        };
        uint16_t port;
} ListenAddress;

static int parse_port(const char *s, uint16_t *ret)
{
        unsigned v = 0;

        if (!*s || strlen(s) > 5)
                return -EINVAL;
        for (const char *p = s; *p; p++) {
                if (*p < '0' || *p > '9')
                        return -EINVAL;
                v = v * 10 + (unsigned) (*p - '0');
        }
        if (v > UINT16_MAX)
                return -EINVAL;
        *ret = (uint16_t) v;
        return 0;
}

static int parse_listen(const char *listen, ListenAddress *ret)
{
        ListenAddress a = {.family = AF_UNSPEC};
        char host[INET6_ADDRSTRLEN];
        const char *port;
        size_t n;
        int r;

        if (!listen)
                return -EINVAL;
        if (listen[0] == '[') {
                const char *end = strchr(listen, ']');
                if (!end || end[1] != ':')
                        return -EINVAL;
                n = (size_t) (end - listen - 1);
                if (n == 0 || n >= sizeof(host))
                        return -EINVAL;
                memcpy(host, listen + 1, n);
                host[n] = 0;
                a.family = AF_INET6;
                a.in6.sin6_family = AF_INET6;
                if (inet_pton(AF_INET6, host, &a.in6.sin6_addr) != 1)
                        return -EINVAL;
                port = end + 2;
        } else {
                const char *colon = strrchr(listen, ':');
                if (!colon)
                        return -EINVAL;
                n = (size_t) (colon - listen);
                if (n > 0) {
                        if (n >= sizeof(host))
                                return -EINVAL;
                        memcpy(host, listen, n);
                        host[n] = 0;
                        a.family = AF_INET;
                        a.in.sin_family = AF_INET;
                        /* Dotted quad only: "1.2.3.4", not "1.2.3" or "0x7f.1", nor an IPv6 address
                         * without brackets. */
                        if (inet_pton(AF_INET, host, &a.in.sin_addr) != 1)
                                return -EINVAL;
                }
                port = colon + 1;
        }
        r = parse_port(port, &a.port);
        if (r < 0)
                return r;
        if (a.family == AF_INET)
                a.in.sin_port = htons(a.port);
        else if (a.family == AF_INET6)
                a.in6.sin6_port = htons(a.port);
        *ret = a;
        return 0;
}

/* A kernel booted with ipv6.disable=1 has no AF_INET6: "all addresses" then means IPv4 ones. */
static bool ipv6_available(void)
{
        _cleanup_close_ int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
        return fd >= 0 || errno != EAFNOSUPPORT;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *content_type, char *body,
                             size_t len, bool allow)
{
        /* body is owned and freed with the response; a static body is copied by the caller first. */
        struct MHD_Response *response = MHD_create_response_from_buffer_with_free_callback(len, body, free);
        enum MHD_Result ret = MHD_NO;

        if (!response) {
                free(body);
                return MHD_NO; /* MHD closes the connection */
        }
        if (MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, content_type) == MHD_YES &&
            (!allow || MHD_add_response_header(response, MHD_HTTP_HEADER_ALLOW, "GET, HEAD") == MHD_YES))
                ret = MHD_queue_response(c, status, response);
        MHD_destroy_response(response);
        return ret;
}

static enum MHD_Result reply_text(struct MHD_Connection *c, unsigned status, const char *text, bool allow)
{
        char *body = strdup(text);
        return body ? reply(c, status, TEXT_PLAIN, body, strlen(body), allow) : MHD_NO;
}

static enum MHD_Result reply_readyz(HttpServer *s, struct MHD_Connection *c)
{
        _cleanup_free_ char *reason = NULL;
        char *body = NULL;

        if (!s->ready || s->ready(s->userdata, &reason))
                return reply_text(c, MHD_HTTP_OK, "ok\n", false);
        if (asprintf(&body, "%s\n", reason ? reason : "not ready") < 0)
                return MHD_NO;
        return reply(c, MHD_HTTP_SERVICE_UNAVAILABLE, TEXT_PLAIN, body, strlen(body), false);
}

static enum MHD_Result reply_metrics(HttpServer *s, struct MHD_Connection *c)
{
        char *body = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&body, &len);
        int r;

        if (!f)
                return reply_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n", false);
        r = metrics_render(s->metrics, f);
        if (fclose(f) != 0 && r >= 0)
                r = -ENOMEM;
        if (r < 0) {
                free(body);
                return reply_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "cannot render the metrics\n", false);
        }
        return reply(c, MHD_HTTP_OK, PROMETHEUS_TEXT, body, len, false);
}

static bool has_body(struct MHD_Connection *c)
{
        const char *length = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        return MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING) ||
               (length && strcmp(length, "0") != 0);
}

/* MHD calls this once the headers are in, then again after the body. No endpoint reads a body: a
 * request with one is answered at once, and MHD closes the connection instead of reading it. Others
 * are answered on the second call, as MHD keeps a connection alive only for a request it has read
 * completely. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **req_cls)
{
        static char headers_seen;
        HttpServer *s = cls;
        enum { HEALTHZ, READYZ, METRICS } endpoint;

        if (!*req_cls && !has_body(c)) {
                *req_cls = &headers_seen;
                return MHD_YES;
        }

        if (strcmp(url, "/healthz") == 0)
                endpoint = HEALTHZ;
        else if (strcmp(url, "/readyz") == 0)
                endpoint = READYZ;
        else if (strcmp(url, "/metrics") == 0 && s->metrics)
                endpoint = METRICS;
        else
                return reply_text(c, MHD_HTTP_NOT_FOUND, "not found\n", false);

        /* HEAD gets GET's headers, Content-Length included; MHD leaves the body out. */
        if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
                return reply_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n", true);

        switch (endpoint) {
        case HEALTHZ:
                return reply_text(c, MHD_HTTP_OK, "ok\n", false);
        case READYZ:
                return reply_readyz(s, c);
        case METRICS:
                return reply_metrics(s, c);
        }
        return MHD_NO;
}

/* MHD frees closed connections at the end of MHD_run(), after it has polled. */
static void on_connection_notify(void *cls, struct MHD_Connection *c, void **socket_context,
                                 enum MHD_ConnectionNotificationCode code)
{
        HttpServer *s = cls;
        if (code == MHD_CONNECTION_NOTIFY_CLOSED)
                s->freed = true;
}

/* At its connection limit (or after accept() failed with EMFILE), MHD 0.9.75 takes its listening socket
 * out of its epoll set, and puts it back only at the start of a later MHD_run() that finds room. The
 * room is made at the end of a run, when closed connections are freed; if those were the last ones,
 * MHD_get_timeout() has nothing to wait for and the epoll fd holds no socket, so nothing would ever run
 * MHD again and the server would stop accepting for good (an attacker need only fill the limit with
 * idle connections once). So a run that freed a connection is followed at once by another. */
static int http_server_arm(HttpServer *s)
{
        MHD_UNSIGNED_LONG_LONG ms = 0;
        uint64_t now;
        int r;

        if (!s->freed && MHD_get_timeout(s->mhd, &ms) != MHD_YES)
                return sd_event_source_set_enabled(s->timer, SD_EVENT_OFF);
        r = sd_event_now(s->event, CLOCK_MONOTONIC, &now);
        if (r < 0)
                return r;
        r = sd_event_source_set_time(s->timer, now + MIN((uint64_t) ms * 1000, MAX_WAIT_USEC));
        if (r < 0)
                return r;
        return sd_event_source_set_enabled(s->timer, SD_EVENT_ONESHOT);
}

static int http_server_process(HttpServer *s)
{
        s->freed = false;
        (void) MHD_run(s->mhd); /* MHD_NO only for a daemon not in external polling mode */
        return http_server_arm(s);
}

static int on_mhd_io(sd_event_source *source, int fd, uint32_t revents, void *userdata)
{
        return http_server_process(userdata);
}

static int on_mhd_timer(sd_event_source *source, uint64_t usec, void *userdata)
{
        return http_server_process(userdata);
}

HttpServer *http_server_free(HttpServer *s)
{
        if (!s)
                return NULL;
        /* The sources first: MHD_stop_daemon closes the epoll fd the io source watches. */
        s->io = sd_event_source_disable_unref(s->io);
        s->timer = sd_event_source_disable_unref(s->timer);
        if (s->mhd)
                MHD_stop_daemon(s->mhd);
        sd_event_unref(s->event);
        free(s);
        return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(HttpServer *, http_server_free)

int http_server_new_with_limits(sd_event *event, const char *listen, const HttpLimits *limits,
                                HttpReadyFn ready, const Metrics *metrics, void *userdata, HttpServer **ret)
{
        _cleanup_(http_server_freep) HttpServer *s = NULL;
        const union MHD_DaemonInfo *info;
        HttpLimits l = limits ? *limits : default_limits;
        unsigned flags = MHD_USE_EPOLL; /* and no MHD_USE_INTERNAL_POLLING_THREAD: our loop polls */
        ListenAddress a;
        int r;

        if (!event || !ret)
                return -EINVAL;
        r = parse_listen(listen, &a);
        if (r < 0)
                return r;
        l.connections = l.connections ?: default_limits.connections;
        l.connections_per_ip = l.connections_per_ip ?: default_limits.connections_per_ip;
        l.idle_timeout_sec = l.idle_timeout_sec ?: default_limits.idle_timeout_sec;
        l.connection_memory = l.connection_memory ?: default_limits.connection_memory;

        if (a.family == AF_INET6)
                flags |= MHD_USE_IPv6;
        else if (a.family == AF_UNSPEC && ipv6_available())
                flags |= MHD_USE_DUAL_STACK;

        s = calloc(1, sizeof(HttpServer));
        if (!s)
                return -ENOMEM;
        *s = (HttpServer){
                .event = sd_event_ref(event), .ready = ready, .metrics = metrics, .userdata = userdata};

        struct MHD_OptionItem options[] = {
                {MHD_OPTION_CONNECTION_LIMIT, (intptr_t) l.connections, NULL},
                {MHD_OPTION_PER_IP_CONNECTION_LIMIT, (intptr_t) l.connections_per_ip, NULL},
                {MHD_OPTION_CONNECTION_TIMEOUT, (intptr_t) l.idle_timeout_sec, NULL},
                {MHD_OPTION_CONNECTION_MEMORY_LIMIT, (intptr_t) l.connection_memory, NULL},
                /* No address for "all addresses": MHD binds the wildcard of the family it uses. */
                {a.family == AF_UNSPEC ? MHD_OPTION_END : MHD_OPTION_SOCK_ADDR, 0, &a.sa},
                {MHD_OPTION_END, 0, NULL},
        };
        errno = 0;
        /* The callback goes in the argument list, not the array, which would carry it as an integer. */
        s->mhd = MHD_start_daemon(flags, a.port, NULL, NULL, on_request, s, MHD_OPTION_NOTIFY_CONNECTION,
                                  on_connection_notify, s, MHD_OPTION_ARRAY, options, MHD_OPTION_END);
        if (!s->mhd)
                return errno > 0 ? -errno : -EIO; /* MHD reports why only in errno, when at all */

        info = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_BIND_PORT);
        if (!info || info->port == 0)
                return -EIO;
        s->port = info->port;
        info = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_EPOLL_FD);
        if (!info || info->epoll_fd < 0)
                return -EIO;

        r = sd_event_add_io(event, &s->io, info->epoll_fd, EPOLLIN, on_mhd_io, s);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(s->io, "http");
        /* Accuracy 1 µs: a timeout of 0 means "run again now", which the default coalescing of 250 ms
         * would turn into a stall. */
        r = sd_event_add_time(event, &s->timer, CLOCK_MONOTONIC, 0, 1, on_mhd_timer, s);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(s->timer, "http-timeout");
        r = http_server_arm(s);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(s);
        return 0;
}

int http_server_new(sd_event *event, const char *listen, HttpReadyFn ready, const Metrics *metrics,
                    void *userdata, HttpServer **ret)
{
        return http_server_new_with_limits(event, listen, NULL, ready, metrics, userdata, ret);
}

unsigned http_server_port(const HttpServer *s)
{
        return s ? s->port : 0;
}
