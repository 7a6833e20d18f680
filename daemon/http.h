/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <systemd/sd-event.h>

#include "metrics.h"

/* The daemon's HTTP endpoints, served by libmicrohttpd from the sd-event loop thread (no threads of
 * its own): /healthz answers 200 "ok" whenever the loop runs (so it proves exactly that), /readyz
 * asks the daemon, /metrics renders the registry. Anything else is 404; methods other than GET and
 * HEAD are 405. Connections and their memory are bounded. */
typedef struct HttpServer HttpServer;

/* Whether the node is ready; when not, *ret_reason (malloc'd, may stay NULL) says why, and is sent
 * as the 503 body. */
typedef bool (*HttpReadyFn)(void *userdata, char **ret_reason);

/* listen: "ADDR:PORT", ":PORT" (all addresses, IPv6 and IPv4), "[V6ADDR]:PORT"; port 0 picks a free
 * one (see http_server_port). -EINVAL for a malformed address. */
int http_server_new(sd_event *event, const char *listen, HttpReadyFn ready, const Metrics *metrics,
                    void *userdata, HttpServer **ret);
HttpServer *http_server_free(HttpServer *s);
unsigned http_server_port(const HttpServer *s);
