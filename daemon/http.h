/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <systemd/sd-event.h>

#include "metrics.h"

/* The daemon's HTTP endpoints, served by libmicrohttpd from the sd-event loop thread (no threads of
 * its own): /healthz answers 200 "ok" whenever the loop runs (so it proves exactly that), /readyz
 * asks the daemon, /metrics renders the registry. Any other path is 404; on these three, methods
 * other than GET and HEAD are 405 with "Allow: GET, HEAD". No request body is read: a request that
 * has one is answered and its connection closed. Connections and their memory are bounded. */
typedef struct HttpServer HttpServer;

/* Whether the node is ready; when not, *ret_reason (malloc'd, may stay NULL) says why, and is sent
 * as the 503 body. */
typedef bool (*HttpReadyFn)(void *userdata, char **ret_reason);

/* What one server allows its clients; zero fields take the defaults of http_server_new. */
typedef struct HttpLimits {
        unsigned connections;        /* at once, all clients together (default 32) */
        unsigned connections_per_ip; /* at once, from one address (default 8) */
        unsigned idle_timeout_sec;   /* a connection silent this long is closed (default 10) */
        size_t connection_memory;    /* per connection: request line, headers, buffers (default 16 KiB) */
} HttpLimits;

/* listen: "ADDR:PORT", ":PORT" (all addresses, IPv6 and IPv4; IPv4 alone on a host without IPv6),
 * "[V6ADDR]:PORT"; addresses are numeric (resolving a name could block the loop). Port 0 picks a free
 * one (see http_server_port). -EINVAL for a malformed address; a failure to bind passes errno on
 * (-EADDRINUSE, -EACCES, ...). ready may be NULL (always ready); metrics may be NULL (/metrics is then
 * 404); both, and userdata, are borrowed and must outlive the server. */
int http_server_new(sd_event *event, const char *listen, HttpReadyFn ready, const Metrics *metrics,
                    void *userdata, HttpServer **ret);
int http_server_new_with_limits(sd_event *event, const char *listen, const HttpLimits *limits,
                                HttpReadyFn ready, const Metrics *metrics, void *userdata, HttpServer **ret);
HttpServer *http_server_free(HttpServer *s);
unsigned http_server_port(const HttpServer *s);
