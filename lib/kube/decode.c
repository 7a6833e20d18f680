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

/* A cursor over bytes that may end anywhere: every step says -EAGAIN when they run out first. */
typedef struct Cursor {
        const char *p, *end;
} Cursor;

static void skip_space(Cursor *c)
{
        while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
                c->p++;
}

static int expect(Cursor *c, char ch)
{
        skip_space(c);
        if (c->p == c->end)
                return -EAGAIN;
        if (*c->p != ch)
                return -EBADMSG;
        c->p++;
        return 0;
}

static int peek(Cursor *c)
{
        skip_space(c);
        return c->p < c->end ? (unsigned char) *c->p : -EAGAIN;
}

/* A string token, quotes included. */
static int string_token(Cursor *c, const char **ret, size_t *ret_len)
{
        int k = expect(c, '"');
        if (k < 0)
                return k;
        const char *start = c->p - 1;
        for (; c->p < c->end; c->p++)
                if (*c->p == '\\') {
                        if (++c->p == c->end)
                                return -EAGAIN;
                } else if (*c->p == '"') {
                        c->p++;
                        *ret = start;
                        *ret_len = (size_t) (c->p - start);
                        return 0;
                }
        return -EAGAIN;
}

/* Any value, without looking into it: brackets counted, strings stepped over. */
static int skip_value(Cursor *c)
{
        const char *s;
        size_t n, depth = 0;
        int k = peek(c);
        if (k < 0)
                return k;
        if (k == '"')
                return string_token(c, &s, &n);
        if (k != '{' && k != '[') {
                while (c->p < c->end && !ends_scalar(*c->p))
                        c->p++;
                return c->p < c->end ? 0 : -EAGAIN;
        }
        while (c->p < c->end) {
                char ch = *c->p;
                if (ch == '"') {
                        k = string_token(c, &s, &n);
                        if (k < 0)
                                return k;
                        continue;
                }
                c->p++;
                if (ch == '{' || ch == '[')
                        depth++;
                else if ((ch == '}' || ch == ']') && --depth == 0)
                        return 0;
        }
        return -EAGAIN;
}

static bool token_is(const char *tok, size_t len, const char *key)
{
        size_t n = strlen(key);
        return len == n + 2 && memcmp(tok + 1, key, n) == 0;
}

/* The next member's key of an object whose '{' or last value was read: 0, or 1 at its end. */
static int next_key(Cursor *c, bool first, const char **key, size_t *key_len)
{
        int k = peek(c);
        if (k < 0)
                return k;
        if (k == '}') {
                c->p++;
                return 1;
        }
        if (!first && (k = expect(c, ',')) < 0)
                return k;
        k = string_token(c, key, key_len);
        if (k < 0)
                return k;
        return expect(c, ':');
}

/* items[0].metadata.name, when the bytes hold it; the item's '{' was read. */
static void first_item_name(Cursor *c, char **ret)
{
        const char *key, *name;
        size_t key_len, name_len;
        for (bool first = true;; first = false) {
                if (next_key(c, first, &key, &key_len) != 0)
                        return;
                if (!token_is(key, key_len, "metadata")) {
                        if (skip_value(c) < 0)
                                return;
                        continue;
                }
                if (expect(c, '{') < 0)
                        return;
                for (bool mfirst = true;; mfirst = false) {
                        if (next_key(c, mfirst, &key, &key_len) != 0)
                                return;
                        if (!token_is(key, key_len, "name")) {
                                if (skip_value(c) < 0)
                                        return;
                                continue;
                        }
                        if (peek(c) != '"' || string_token(c, &name, &name_len) < 0)
                                return;
                        json_t *j = json_loadb(name, name_len, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
                        const char *v = json_string_value(j);
                        if (v)
                                *ret = strdup_escaped(v, 253);
                        json_decref(j);
                        return;
                }
        }
}

void kube_list_head_clear(KubeListHead *h)
{
        free(h->resource_version);
        free(h->continue_token);
        free(h->first_name);
        *h = (KubeListHead){};
}

int kube_list_head_decode(const char *buf, size_t len, KubeListHead *ret)
{
        _cleanup_(kube_list_head_clear) KubeListHead h = {};
        Cursor c = {buf, buf + len};
        const char *key;
        size_t key_len;
        bool have_meta = false;

        if (expect(&c, '{') < 0)
                return -EBADMSG;
        for (bool first = true;; first = false) {
                if (next_key(&c, first, &key, &key_len) != 0)
                        return -EBADMSG;
                if (token_is(key, key_len, "metadata")) {
                        skip_space(&c);
                        const char *start = c.p;
                        json_t *meta = NULL;
                        char why[256];
                        if (skip_value(&c) < 0 ||
                            kube_json_load(start, (size_t) (c.p - start), KUBE_STATUS_MAX, &meta, why,
                                           sizeof(why)) < 0)
                                return -EBADMSG;
                        const char *rv = string_of(meta, "resourceVersion"),
                                   *cont = string_of(meta, "continue");
                        /* A key given twice: the last wins, as with jansson and Go. */
                        free(h.resource_version);
                        free(h.continue_token);
                        h.resource_version = rv ? strdup(rv) : NULL;
                        h.continue_token = cont ? strdup(cont) : NULL;
                        json_decref(meta);
                        if (!h.resource_version || (cont && !h.continue_token))
                                return -EBADMSG;
                        have_meta = true;
                } else if (token_is(key, key_len, "items")) {
                        /* Go writes metadata first: items before it is not a list we can skip into. */
                        if (!have_meta || expect(&c, '[') < 0 || expect(&c, '{') < 0)
                                return -EBADMSG;
                        first_item_name(&c, &h.first_name);
                        *ret = h;
                        h = (KubeListHead){};
                        return 0;
                } else if (skip_value(&c) < 0)
                        return -EBADMSG;
        }
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
