/* SPDX-License-Identifier: Apache-2.0 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "kube/decode.h"
#include "shared/macro.h"

#define EXCERPT_MAX 64

enum {
        SCAN_VALUE, /* between tokens */
        SCAN_STRING,
        SCAN_STRING_ESCAPE,
        SCAN_SCALAR, /* a number or a literal */
};

void kube_json_scan_init(KubeJsonScan *s, size_t max_bytes)
{
        *s = (KubeJsonScan){.max_bytes = max_bytes, .state = SCAN_VALUE};
}

static bool ends_scalar(char c)
{
        return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ',' || c == ':' || c == '[' ||
               c == ']' || c == '{' || c == '}' || c == '"';
}

int kube_json_scan(KubeJsonScan *s, const char *buf, size_t len)
{
        if (s->exceeded != KUBE_BOUND_NONE)
                return -EFBIG;
        if (len > s->max_bytes - MIN(s->bytes, s->max_bytes)) {
                s->exceeded = KUBE_BOUND_BYTES;
                return -EFBIG;
        }
        s->bytes += len;
        for (const char *p = buf, *end = buf + len; p < end; p++) {
                char c = *p;
                switch (s->state) {
                case SCAN_STRING:
                        /* Most bytes of a response are inside strings: skip to what ends or escapes. */
                        while (p < end && *p != '"' && *p != '\\')
                                p++;
                        if (p == end)
                                return 0;
                        s->state = *p == '"' ? SCAN_VALUE : SCAN_STRING_ESCAPE;
                        continue;
                case SCAN_STRING_ESCAPE:
                        s->state = SCAN_STRING; /* a \uXXXX's digits are string bytes like any other */
                        continue;
                case SCAN_SCALAR:
                        if (!ends_scalar(c))
                                continue;
                        s->state = SCAN_VALUE;
                        break;
                }
                switch (c) {
                case ' ':
                case '\t':
                case '\n':
                case '\r':
                case ',':
                case ':':
                        continue;
                case '{':
                case '[':
                        if (++s->depth > KUBE_JSON_DEPTH_MAX) {
                                s->exceeded = KUBE_BOUND_DEPTH;
                                return -EFBIG;
                        }
                        break;
                case '}':
                case ']':
                        if (s->depth > 0)
                                s->depth--;
                        continue;
                case '"':
                        s->state = SCAN_STRING;
                        break;
                default:
                        s->state = SCAN_SCALAR;
                        break;
                }
                if (++s->values > KUBE_JSON_VALUES_MAX) {
                        s->exceeded = KUBE_BOUND_VALUES;
                        return -EFBIG;
                }
        }
        return 0;
}

const char *kube_json_scan_describe(const KubeJsonScan *s, char *buf, size_t size)
{
        switch (s->exceeded) {
        case KUBE_BOUND_BYTES:
                if (s->max_bytes % (1024 * 1024) == 0)
                        (void) snprintf(buf, size, "more than %zu MiB", s->max_bytes / (1024 * 1024));
                else if (s->max_bytes % 1024 == 0)
                        (void) snprintf(buf, size, "more than %zu KiB", s->max_bytes / 1024);
                else
                        (void) snprintf(buf, size, "more than %zu bytes", s->max_bytes);
                break;
        case KUBE_BOUND_VALUES:
                (void) snprintf(buf, size, "more than %zu JSON values", KUBE_JSON_VALUES_MAX);
                break;
        case KUBE_BOUND_DEPTH:
                (void) snprintf(buf, size, "more than %u levels of nesting", KUBE_JSON_DEPTH_MAX);
                break;
        default:
                (void) snprintf(buf, size, "within the bounds");
                break;
        }
        return buf;
}

char *kube_escape(const char *s, size_t len, size_t max, char *buf, size_t size)
{
        static const char hex[] = "0123456789abcdef";
        size_t o = 0, i;

        if (size == 0)
                return buf;
        for (i = 0; i < len && i < max; i++) {
                unsigned char c = (unsigned char) s[i];
                char e[4];
                size_t n;
                if (c == '\\') {
                        e[0] = e[1] = '\\';
                        n = 2;
                } else if (c >= 0x20 && c < 0x7f) {
                        e[0] = (char) c;
                        n = 1;
                } else {
                        e[0] = '\\';
                        e[1] = 'x';
                        e[2] = hex[c >> 4];
                        e[3] = hex[c & 15];
                        n = 4;
                }
                if (o + n + 4 > size) /* room for "..." and the NUL */
                        break;
                memcpy(buf + o, e, n);
                o += n;
        }
        if (i < len && o + 4 <= size) {
                memcpy(buf + o, "...", 3);
                o += 3;
        }
        buf[MIN(o, size - 1)] = 0;
        return buf;
}

int kube_json_load(const char *buf, size_t len, size_t max_bytes, json_t **ret, char *error,
                   size_t error_size)
{
        KubeJsonScan scan;
        json_error_t e;
        char what[64], text[sizeof(e.text) * 4];

        kube_json_scan_init(&scan, max_bytes);
        if (kube_json_scan(&scan, buf, len) < 0) {
                (void) snprintf(error, error_size, "it holds %s",
                                kube_json_scan_describe(&scan, what, sizeof(what)));
                return -EFBIG;
        }
        json_t *j = json_loadb(buf, len, JSON_ALLOW_NUL, &e);
        if (!j) {
                /* e.text quotes the token it stopped at: bytes from the server. */
                (void) snprintf(error, error_size, "not JSON: %s at byte %d",
                                kube_escape(e.text, strlen(e.text), sizeof(e.text), text, sizeof(text)),
                                e.position);
                return -EBADMSG;
        }
        *ret = j;
        return 0;
}

/* ---- the watch stream ---- */

static int framer_append(KubeLineFramer *f, const char *buf, size_t len)
{
        if (f->len + len + 1 > f->allocated) {
                size_t a = MAX(MAX(f->allocated * 2, f->len + len + 1), (size_t) 4096);
                char *l = realloc(f->line, a);
                if (!l)
                        return -ENOMEM;
                f->line = l;
                f->allocated = a;
        }
        memcpy(f->line + f->len, buf, len);
        f->len += len;
        return 0;
}

int kube_line_framer_feed(KubeLineFramer *f, const char *buf, size_t len, KubeLineFn fn, void *userdata)
{
        int k;
        while (len > 0) {
                const char *nl = memchr(buf, '\n', len);
                size_t take = nl ? (size_t) (nl - buf) : len;
                if (take > f->max - MIN(f->len, f->max))
                        return -EFBIG;
                if (nl && f->len == 0) {
                        /* The whole line is in this chunk: no copy. */
                        if (take > 0 && (k = fn(buf, take, userdata)) < 0)
                                return k;
                } else {
                        k = framer_append(f, buf, take);
                        if (k < 0)
                                return k;
                        if (nl) {
                                size_t n = f->len;
                                f->len = 0;
                                if (n > 0 && (k = fn(f->line, n, userdata)) < 0)
                                        return k;
                        }
                }
                if (!nl)
                        break;
                buf += take + 1;
                len -= take + 1;
        }
        /* A buffer grown by one big event is not kept for the life of the watch. */
        if (f->len == 0 && f->allocated > 65536)
                kube_line_framer_free(f);
        return 0;
}

void kube_line_framer_reset(KubeLineFramer *f)
{
        f->len = 0;
}

void kube_line_framer_free(KubeLineFramer *f)
{
        free(f->line);
        f->line = NULL;
        f->len = f->allocated = 0;
}

void kube_watch_event_clear(KubeWatchEvent *e)
{
        json_decref(e->root);
        kube_status_clear(&e->status);
        *e = (KubeWatchEvent){.status.retry_after = -1};
}

static const char *string_of(json_t *o, const char *key)
{
        const char *v = json_string_value(json_object_get(o, key));
        return v && *v ? v : NULL;
}

static char *strdup_escaped(const char *s, size_t max)
{
        if (!s)
                return NULL;
        size_t size = MIN(strlen(s), max) * 4 + 4;
        char *buf = malloc(size);
        return buf ? kube_escape(s, strlen(s), max, buf, size) : NULL;
}

int kube_watch_event_decode(const char *line, size_t len, KubeWatchEvent *ret, char *error,
                            size_t error_size)
{
        KubeWatchEvent e = {.status.retry_after = -1};
        char why[sizeof(((json_error_t *) NULL)->text) * 4 + 64], excerpt[EXCERPT_MAX * 4 + 4];
        int k = kube_json_load(line, len, KUBE_OBJECT_MAX, &e.root, why, sizeof(why));
        if (k < 0)
                goto fail;
        k = -EBADMSG;
        const char *type = json_string_value(json_object_get(e.root, "type"));
        e.object = json_object_get(e.root, "object");
        if (!json_is_object(e.root)) {
                (void) snprintf(why, sizeof(why), "not an object");
                goto fail;
        }
        if (!type) {
                (void) snprintf(why, sizeof(why), "no \"type\"");
                goto fail;
        }
        if (!json_is_object(e.object)) {
                (void) snprintf(why, sizeof(why), "its \"object\" is %s",
                                e.object ? "not an object" : "missing");
                goto fail;
        }
        if (strcmp(type, "ADDED") == 0)
                e.type = KUBE_WATCH_ADDED;
        else if (strcmp(type, "MODIFIED") == 0)
                e.type = KUBE_WATCH_MODIFIED;
        else if (strcmp(type, "DELETED") == 0)
                e.type = KUBE_WATCH_DELETED;
        else if (strcmp(type, "BOOKMARK") == 0)
                e.type = KUBE_WATCH_BOOKMARK;
        else if (strcmp(type, "ERROR") == 0)
                e.type = KUBE_WATCH_ERROR;
        else {
                /* client-go: an unknown type is a decoding error */
                char t[32 * 4 + 4];
                (void) snprintf(why, sizeof(why), "unknown event type \"%s\"",
                                kube_escape(type, strlen(type), 32, t, sizeof(t)));
                goto fail;
        }
        e.resource_version = string_of(json_object_get(e.object, "metadata"), "resourceVersion");
        if (e.type == KUBE_WATCH_ERROR) {
                json_int_t code = json_integer_value(json_object_get(e.object, "code"));
                e.status.http = code > 0 && code < 1000 ? (long) code : 0;
                e.status.reason = strdup_escaped(string_of(e.object, "reason"), 64);
                e.status.message = strdup_escaped(string_of(e.object, "message"), 1024);
        }
        *ret = e;
        return 0;
fail:
        (void) snprintf(error, error_size, "%s: \"%s\"", why,
                        kube_escape(line, len, EXCERPT_MAX, excerpt, sizeof(excerpt)));
        kube_watch_event_clear(&e);
        return k;
}

/* ---- lists ---- */

void kube_list_page_clear(KubeListPage *p)
{
        json_decref(p->root);
        *p = (KubeListPage){};
}

int kube_list_page_decode(const char *body, size_t len, KubeListPage *ret, char *error, size_t error_size)
{
        KubeListPage p = {};
        char why[sizeof(((json_error_t *) NULL)->text) * 4 + 64], excerpt[EXCERPT_MAX * 4 + 4];
        int k = kube_json_load(body, len, KUBE_LIST_PAGE_MAX, &p.root, why, sizeof(why));
        if (k < 0)
                goto fail;
        k = -EBADMSG;
        json_t *meta = json_object_get(p.root, "metadata");
        p.items = json_object_get(p.root, "items");
        p.resource_version = string_of(meta, "resourceVersion");
        p.continue_token = string_of(meta, "continue");
        if (!json_is_array(p.items)) {
                (void) snprintf(why, sizeof(why), "not a list: no \"items\" array");
                goto fail;
        }
        if (!p.resource_version) {
                (void) snprintf(why, sizeof(why), "not a list: no metadata.resourceVersion");
                goto fail;
        }
        *ret = p;
        return 0;
fail:
        (void) snprintf(error, error_size, "%s: \"%s\"", why,
                        kube_escape(body, len, EXCERPT_MAX, excerpt, sizeof(excerpt)));
        kube_list_page_clear(&p);
        return k;
}

/* ---- Status ---- */

void kube_status_from_body(KubeStatus *s, const char *body, size_t len)
{
        json_t *j = NULL;
        char why[256];

        if (len == 0)
                return;
        if (kube_json_load(body, len, KUBE_STATUS_MAX, &j, why, sizeof(why)) >= 0) {
                if (json_is_object(j)) {
                        free(s->reason);
                        free(s->message);
                        s->reason = strdup_escaped(string_of(j, "reason"), 64);
                        s->message = strdup_escaped(string_of(j, "message"), 1024);
                }
                json_decref(j);
                return;
        }
        /* Not JSON (or not within bounds): the start of it is the message. */
        size_t n = len;
        while (n > 0 && isspace((unsigned char) body[n - 1]))
                n--;
        char *m = malloc(512 * 4 + 4);
        if (!m)
                return;
        free(s->message);
        s->message = kube_escape(body, n, 512, m, 512 * 4 + 4);
}
