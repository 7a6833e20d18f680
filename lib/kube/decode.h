/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "kube/client.h"

/* What the API server sends, decoded under bounds, without a network: the reflector's list pages and
 * watch events, the client's Status bodies, and the fuzzers (tests/fuzz/fuzz-watch.c, fuzz-list.c).
 *
 * jansson builds a tree that costs up to ~230 bytes per JSON value (an empty [] or {}, measured with
 * jansson 2.14), so a 30 MiB page of nested empty arrays once took 1.44 GB. Its own depth limit
 * (2048, compile time) bounds the stack, not the size. Every response is therefore scanned first, in
 * one pass, and refused before jansson sees it when it holds more than
 *   KUBE_JSON_VALUES_MAX values (strings, numbers, literals, arrays, objects; object keys count too),
 *     so a tree costs at most ~60 MiB beyond the bytes of its strings, or
 *   KUBE_JSON_DEPTH_MAX levels of nesting (a ConfigMap list page nests ~10 deep: items, metadata,
 *     managedFields, fieldsV1, ...), or
 *   the byte bound of its kind: KUBE_LIST_PAGE_MAX a list page, KUBE_OBJECT_MAX a watch event,
 *     64 KiB an error body. */

#define KUBE_JSON_VALUES_MAX ((size_t) 256 * 1024)
#define KUBE_JSON_DEPTH_MAX  64u
#define KUBE_OBJECT_MAX      ((size_t) 3 * 1024 * 1024)  /* one watch event, one list item */
#define KUBE_LIST_PAGE_MAX   ((size_t) 32 * 1024 * 1024) /* one list page */
#define KUBE_STATUS_MAX      ((size_t) 64 * 1024)        /* an error body: a Status or a line of text */

typedef enum KubeBound {
        KUBE_BOUND_NONE,
        KUBE_BOUND_BYTES,
        KUBE_BOUND_VALUES,
        KUBE_BOUND_DEPTH,
} KubeBound;

/* The scan, fed as the bytes arrive. It counts; it does not validate (jansson does, afterwards). */
typedef struct KubeJsonScan {
        size_t max_bytes;
        size_t bytes, values;
        unsigned depth;
        unsigned char state;
        KubeBound exceeded;
} KubeJsonScan;

void kube_json_scan_init(KubeJsonScan *s, size_t max_bytes);
/* -EFBIG once the bytes so far pass a bound (s->exceeded says which; later calls fail the same way). */
int kube_json_scan(KubeJsonScan *s, const char *buf, size_t len);
/* "more than 262144 JSON values", "more than 64 levels of nesting", "more than 32 MiB". */
const char *kube_json_scan_describe(const KubeJsonScan *s, char *buf, size_t size);

/* Scans, then parses one complete JSON document. -EFBIG over a bound, -EBADMSG when it is not JSON;
 * either way a description (escaped, bounded) goes into error. */
int kube_json_load(const char *buf, size_t len, size_t max_bytes, json_t **ret, char *error,
                   size_t error_size);

/* Bytes from the server, for a log line: at most max of them, printable ASCII as is, '\\' doubled,
 * anything else (control characters, DEL, bytes over 0x7f) as \xNN, "..." when cut. Always
 * NUL-terminated (size > 0); returns buf. */
char *kube_escape(const char *s, size_t len, size_t max, char *buf, size_t size);

/* The watch stream: one event per line, as Go's json.Encoder writes them. Lines may be split
 * anywhere across chunks and a chunk may hold many; a line longer than max fails with -EFBIG. */
typedef struct KubeLineFramer {
        char *line;
        size_t len, allocated;
        size_t max;
} KubeLineFramer;

/* Called with each complete line (without its '\n'; empty lines are skipped). < 0 stops the feed. */
typedef int (*KubeLineFn)(const char *line, size_t len, void *userdata);
int kube_line_framer_feed(KubeLineFramer *f, const char *buf, size_t len, KubeLineFn fn, void *userdata);
void kube_line_framer_reset(KubeLineFramer *f); /* drops a partial line: a new stream */
void kube_line_framer_free(KubeLineFramer *f);

typedef enum KubeWatchType {
        KUBE_WATCH_ADDED,
        KUBE_WATCH_MODIFIED,
        KUBE_WATCH_DELETED,
        KUBE_WATCH_BOOKMARK,
        KUBE_WATCH_ERROR,
} KubeWatchType;

typedef struct KubeWatchEvent {
        KubeWatchType type;
        json_t *root;                 /* the event */
        json_t *object;               /* borrowed from root: always an object */
        const char *resource_version; /* borrowed from root; NULL when absent or empty */
        KubeStatus status;            /* ERROR: its code, reason and message */
} KubeWatchEvent;

/* One line of a watch stream. -EBADMSG for anything that is not an event client-go would accept
 * (not JSON, no type, an object that is not an object, an unknown type), -EFBIG over a bound; error
 * then says what was wrong, with an escaped excerpt of the line. */
int kube_watch_event_decode(const char *line, size_t len, KubeWatchEvent *ret, char *error,
                            size_t error_size);
void kube_watch_event_clear(KubeWatchEvent *e);

typedef struct KubeListPage {
        json_t *root;
        json_t *items;                /* borrowed from root: an array */
        const char *resource_version; /* borrowed from root */
        const char *continue_token;   /* borrowed from root; NULL on the last page */
} KubeListPage;

/* A complete list response (body of a 200). Errors as for kube_watch_event_decode. */
int kube_list_page_decode(const char *body, size_t len, KubeListPage *ret, char *error, size_t error_size);
void kube_list_page_clear(KubeListPage *p);

/* What the first bytes of a list page refused for its size say. Go encodes a list's metadata before
 * its items and an object's metadata first, so they hold the list's resourceVersion and continue
 * token and the first item's name: enough to skip that item. 0 when they hold the list's metadata and
 * the start of a first item that is an object; -EBADMSG otherwise. */
typedef struct KubeListHead {
        char *resource_version;
        char *continue_token; /* NULL on the last page */
        char *first_name;     /* NULL when not within the bytes */
} KubeListHead;

int kube_list_head_decode(const char *buf, size_t len, KubeListHead *ret);
void kube_list_head_clear(KubeListHead *h);

/* An error body: a Status's reason and message, or (APF's 429s, proxies) the start of a text body as
 * the message, escaped. Fills what it finds into s. */
void kube_status_from_body(KubeStatus *s, const char *body, size_t len);
