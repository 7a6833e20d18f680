/* SPDX-License-Identifier: Apache-2.0 */
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "json.h"
#include "shared/macro.h"

typedef struct Chunk {
        struct Chunk *next;
        size_t used, size;
        max_align_t data[];
} Chunk;

struct JsonDoc {
        Chunk *chunks;
        JsonValue *root;
};

typedef struct Parser {
        JsonDoc *doc;
        const char *p, *end;
        const char *line_start;
        unsigned line;
        JsonError *error;
        bool failed;
} Parser;

static void *arena_alloc(JsonDoc *d, size_t size)
{
        size = (size + _Alignof(max_align_t) - 1) & ~(_Alignof(max_align_t) - 1);
        if (!d->chunks || d->chunks->size - d->chunks->used < size) {
                size_t n = MAX(size, (size_t) 64 * 1024 - sizeof(Chunk));
                Chunk *c = malloc(sizeof(Chunk) + n);
                if (!c)
                        return NULL;
                c->used = 0;
                c->size = n;
                c->next = d->chunks;
                d->chunks = c;
        }
        void *r = (char *) d->chunks->data + d->chunks->used;
        d->chunks->used += size;
        return r;
}

JsonDoc *json_doc_free(JsonDoc *d)
{
        if (!d)
                return NULL;
        for (Chunk *c = d->chunks, *n; c; c = n) {
                n = c->next;
                free(c);
        }
        free(d);
        return NULL;
}

const JsonValue *json_doc_root(const JsonDoc *d)
{
        return d->root;
}

const char *json_type_to_string(JsonType t)
{
        static const char *const names[] = {
                [JSON_NULL] = "null",     [JSON_BOOL] = "boolean", [JSON_NUMBER] = "number",
                [JSON_STRING] = "string", [JSON_ARRAY] = "array",  [JSON_OBJECT] = "object",
        };
        return t < ELEMENTSOF(names) ? names[t] : "?";
}

static unsigned column_of(const Parser *ps, const char *at)
{
        return (unsigned) (at - ps->line_start) + 1;
}

_printf_(3, 4) static int fail(Parser *ps, const char *at, const char *fmt, ...)
{
        if (!ps->failed) {
                va_list ap;
                ps->failed = true;
                ps->error->line = ps->line;
                ps->error->column = column_of(ps, at);
                va_start(ap, fmt);
                (void) vsnprintf(ps->error->message, sizeof(ps->error->message), fmt, ap);
                va_end(ap);
        }
        return -EBADMSG;
}

/* Go's wording for an unexpected byte, so messages match what runtimes print. */
static int fail_char(Parser *ps, const char *context)
{
        if (ps->p >= ps->end)
                return fail(ps, ps->p, "unexpected end of JSON input");
        unsigned char c = (unsigned char) *ps->p;
        if (c >= 0x20 && c < 0x7f && c != '\'')
                return fail(ps, ps->p, "invalid character '%c' %s", c, context);
        return fail(ps, ps->p, "invalid character '\\x%02x' %s", c, context);
}

static void skip_space(Parser *ps)
{
        while (ps->p < ps->end) {
                char c = *ps->p;
                if (c == '\n') {
                        ps->line++;
                        ps->line_start = ps->p + 1;
                } else if (c != ' ' && c != '\t' && c != '\r')
                        return;
                ps->p++;
        }
}

static JsonValue *new_value(Parser *ps, JsonType type, const char *at)
{
        JsonValue *v = arena_alloc(ps->doc, sizeof(JsonValue));
        if (!v)
                return NULL;
        *v = (JsonValue){.type = type, .line = ps->line, .column = column_of(ps, at)};
        return v;
}

static int read_hex4(const char *p)
{
        int r = 0;
        for (int i = 0; i < 4; i++) {
                int h = unhexchar(p[i]);
                if (h < 0)
                        return -1;
                r = r * 16 + h;
        }
        return r;
}

static size_t put_utf8(char *out, uint32_t cp)
{
        if (cp < 0x80) {
                out[0] = (char) cp;
                return 1;
        }
        if (cp < 0x800) {
                out[0] = (char) (0xc0 | (cp >> 6));
                out[1] = (char) (0x80 | (cp & 0x3f));
                return 2;
        }
        if (cp < 0x10000) {
                out[0] = (char) (0xe0 | (cp >> 12));
                out[1] = (char) (0x80 | ((cp >> 6) & 0x3f));
                out[2] = (char) (0x80 | (cp & 0x3f));
                return 3;
        }
        out[0] = (char) (0xf0 | (cp >> 18));
        out[1] = (char) (0x80 | ((cp >> 12) & 0x3f));
        out[2] = (char) (0x80 | ((cp >> 6) & 0x3f));
        out[3] = (char) (0x80 | (cp & 0x3f));
        return 4;
}

/* Length of the valid UTF-8 sequence at p, or 0 if it is invalid (overlong, surrogate, truncated). */
static size_t utf8_valid_len(const unsigned char *p, const unsigned char *end)
{
        size_t n;
        uint32_t cp, min;
        if (p[0] < 0x80)
                return 1;
        if ((p[0] & 0xe0) == 0xc0)
                n = 2, cp = p[0] & 0x1f, min = 0x80;
        else if ((p[0] & 0xf0) == 0xe0)
                n = 3, cp = p[0] & 0x0f, min = 0x800;
        else if ((p[0] & 0xf8) == 0xf0)
                n = 4, cp = p[0] & 0x07, min = 0x10000;
        else
                return 0;
        if ((size_t) (end - p) < n)
                return 0;
        for (size_t i = 1; i < n; i++) {
                if ((p[i] & 0xc0) != 0x80)
                        return 0;
                cp = (cp << 6) | (p[i] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
                return 0;
        return n;
}

/* Decodes the string literal at ps->p (on the opening quote). Each input byte yields at most three
 * output bytes (a lone invalid byte becomes U+FFFD), so 3*len+1 bounds the output. */
static int parse_string(Parser *ps, const char **ret, size_t *ret_len)
{
        const char *start = ++ps->p, *q;

        for (q = start; q < ps->end && *q != '"'; q++)
                if (*q == '\\' && q + 1 < ps->end)
                        q++;
        char *out = arena_alloc(ps->doc, 3 * (size_t) (q - start) + 1), *o = out;
        if (!out)
                return -ENOMEM;

        while (ps->p < ps->end) {
                unsigned char c = (unsigned char) *ps->p;
                if (c == '"') {
                        ps->p++;
                        *o = 0;
                        *ret = out;
                        *ret_len = (size_t) (o - out);
                        return 0;
                }
                if (c < 0x20)
                        return fail_char(ps, "in string literal");
                if (c == '\\') {
                        if (ps->end - ps->p < 2)
                                break;
                        char e = ps->p[1];
                        const char *simple = strchr("\"\\/bfnrt", e);
                        if (e && simple) {
                                static const char map[] = "\"\\/\b\f\n\r\t";
                                *o++ = map[simple - "\"\\/bfnrt"];
                                ps->p += 2;
                                continue;
                        }
                        if (e != 'u') {
                                ps->p++;
                                return fail_char(ps, "in string escape code");
                        }
                        if (ps->end - ps->p < 6 || read_hex4(ps->p + 2) < 0) {
                                ps->p++;
                                return fail(ps, ps->p, "invalid \\u escape in string literal");
                        }
                        uint32_t cp = (uint32_t) read_hex4(ps->p + 2);
                        ps->p += 6;
                        if (cp >= 0xd800 && cp < 0xdc00) {
                                /* A high surrogate needs its low half; Go substitutes U+FFFD otherwise. */
                                int lo = ps->end - ps->p >= 6 && ps->p[0] == '\\' && ps->p[1] == 'u'
                                                 ? read_hex4(ps->p + 2)
                                                 : -1;
                                if (lo >= 0xdc00 && lo < 0xe000) {
                                        cp = 0x10000 + ((cp - 0xd800) << 10) + ((uint32_t) lo - 0xdc00);
                                        ps->p += 6;
                                } else
                                        cp = 0xfffd;
                        } else if (cp >= 0xdc00 && cp < 0xe000)
                                cp = 0xfffd;
                        o += put_utf8(o, cp);
                        continue;
                }
                size_t n = utf8_valid_len((const unsigned char *) ps->p, (const unsigned char *) ps->end);
                if (n == 0) {
                        o += put_utf8(o, 0xfffd);
                        ps->p++;
                        continue;
                }
                memcpy(o, ps->p, n);
                o += n;
                ps->p += n;
        }
        return fail(ps, ps->end, "unexpected end of JSON input");
}

static int parse_number(Parser *ps, JsonValue *v)
{
        const char *s = ps->p;
        if (ps->p < ps->end && *ps->p == '-')
                ps->p++;
        if (ps->p >= ps->end)
                return fail(ps, ps->p, "unexpected end of JSON input");
        if (*ps->p == '0')
                ps->p++;
        else if (*ps->p >= '1' && *ps->p <= '9')
                while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
                        ps->p++;
        else
                return fail_char(ps, "in numeric literal");
        if (ps->p < ps->end && *ps->p == '.') {
                ps->p++;
                if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9')
                        return fail_char(ps, "after decimal point in numeric literal");
                while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
                        ps->p++;
        }
        if (ps->p < ps->end && (*ps->p == 'e' || *ps->p == 'E')) {
                ps->p++;
                if (ps->p < ps->end && (*ps->p == '+' || *ps->p == '-'))
                        ps->p++;
                if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9')
                        return fail_char(ps, "in exponent of numeric literal");
                while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
                        ps->p++;
        }
        size_t n = (size_t) (ps->p - s);
        char *text = arena_alloc(ps->doc, n + 1);
        if (!text)
                return -ENOMEM;
        memcpy(text, s, n);
        text[n] = 0;
        v->number.text = text;
        v->number.len = n;
        return 0;
}

static int parse_literal(Parser *ps, const char *word)
{
        size_t n = strlen(word);
        for (size_t i = 0; i < n; i++, ps->p++)
                if (ps->p >= ps->end || *ps->p != word[i])
                        return fail_char(ps, "in literal");
        return 0;
}

/* A growable scratch vector for the children of one array or object, copied into the arena when
 * the container closes. */
typedef struct Vec {
        void *items;
        size_t n, allocated, item_size;
} Vec;

static void *vec_push(Vec *v)
{
        if (v->n == v->allocated) {
                size_t a = v->allocated ? v->allocated * 2 : 8;
                void *p = realloc(v->items, a * v->item_size);
                if (!p)
                        return NULL;
                v->items = p;
                v->allocated = a;
        }
        return (char *) v->items + v->item_size * v->n++;
}

static void *vec_to_arena(Parser *ps, Vec *v)
{
        if (v->n == 0)
                return NULL;
        void *p = arena_alloc(ps->doc, v->n * v->item_size);
        if (p)
                memcpy(p, v->items, v->n * v->item_size);
        return p;
}

static int parse_value(Parser *ps, unsigned depth, JsonValue **ret);

static int parse_array(Parser *ps, unsigned depth, JsonValue *v)
{
        _cleanup_free_ void *items = NULL;
        Vec vec = {.item_size = sizeof(JsonValue *)};
        int r;

        ps->p++;
        skip_space(ps);
        if (ps->p < ps->end && *ps->p == ']') {
                ps->p++;
                return 0;
        }
        for (;;) {
                JsonValue *item = NULL, **slot;
                r = parse_value(ps, depth + 1, &item);
                items = vec.items;
                if (r < 0)
                        return r;
                slot = vec_push(&vec);
                items = vec.items;
                if (!slot)
                        return -ENOMEM;
                *slot = item;
                skip_space(ps);
                if (ps->p < ps->end && *ps->p == ',') {
                        ps->p++;
                        continue;
                }
                if (ps->p < ps->end && *ps->p == ']') {
                        ps->p++;
                        break;
                }
                return fail_char(ps, "after array element");
        }
        v->array.n = vec.n;
        v->array.items = vec_to_arena(ps, &vec);
        return v->array.items ? 0 : -ENOMEM;
}

static int parse_object(Parser *ps, unsigned depth, JsonValue *v)
{
        _cleanup_free_ void *members = NULL;
        Vec vec = {.item_size = sizeof(JsonMember)};
        int r;

        ps->p++;
        skip_space(ps);
        if (ps->p < ps->end && *ps->p == '}') {
                ps->p++;
                return 0;
        }
        for (;;) {
                JsonMember m = {.line = ps->line};
                skip_space(ps);
                if (ps->p >= ps->end || *ps->p != '"')
                        return fail_char(ps, "looking for beginning of object key string");
                m.line = ps->line;
                m.column = column_of(ps, ps->p);
                r = parse_string(ps, &m.key, &m.key_len);
                if (r < 0)
                        return r;
                skip_space(ps);
                if (ps->p >= ps->end || *ps->p != ':')
                        return fail_char(ps, "after object key");
                ps->p++;
                r = parse_value(ps, depth + 1, &m.value);
                if (r < 0)
                        return r;
                JsonMember *slot = vec_push(&vec);
                members = vec.items;
                if (!slot)
                        return -ENOMEM;
                *slot = m;
                skip_space(ps);
                if (ps->p < ps->end && *ps->p == ',') {
                        ps->p++;
                        continue;
                }
                if (ps->p < ps->end && *ps->p == '}') {
                        ps->p++;
                        break;
                }
                return fail_char(ps, "after object key:value pair");
        }
        v->object.n = vec.n;
        v->object.members = vec_to_arena(ps, &vec);
        return v->object.members ? 0 : -ENOMEM;
}

static int parse_value(Parser *ps, unsigned depth, JsonValue **ret)
{
        JsonValue *v;
        int r;

        skip_space(ps);
        if (ps->p >= ps->end)
                return fail(ps, ps->p, "unexpected end of JSON input");
        if (depth > JSON_MAX_DEPTH)
                return fail(ps, ps->p, "nesting deeper than %d levels", JSON_MAX_DEPTH);

        char c = *ps->p;
        JsonType t = c == '{'               ? JSON_OBJECT
                     : c == '['             ? JSON_ARRAY
                     : c == '"'             ? JSON_STRING
                     : c == 't' || c == 'f' ? JSON_BOOL
                     : c == 'n'             ? JSON_NULL
                                            : JSON_NUMBER;
        if (t == JSON_NUMBER && c != '-' && (c < '0' || c > '9'))
                return fail_char(ps, "looking for beginning of value");

        v = new_value(ps, t, ps->p);
        if (!v)
                return -ENOMEM;
        switch (t) {
        case JSON_OBJECT:
                r = parse_object(ps, depth, v);
                break;
        case JSON_ARRAY:
                r = parse_array(ps, depth, v);
                break;
        case JSON_STRING:
                r = parse_string(ps, &v->string.s, &v->string.len);
                break;
        case JSON_BOOL:
                v->boolean = c == 't';
                r = parse_literal(ps, v->boolean ? "true" : "false");
                break;
        case JSON_NULL:
                r = parse_literal(ps, "null");
                break;
        default:
                r = parse_number(ps, v);
                break;
        }
        if (r < 0)
                return r;
        *ret = v;
        return 0;
}

int json_parse(const char *buf, size_t len, JsonDoc **ret, JsonError *ret_error)
{
        JsonError ignored;
        JsonDoc *doc = calloc(1, sizeof(JsonDoc));
        if (!doc)
                return -ENOMEM;

        Parser ps = {
                .doc = doc,
                .p = buf,
                .end = buf + len,
                .line_start = buf,
                .line = 1,
                .error = ret_error ? ret_error : &ignored,
        };
        int r = parse_value(&ps, 0, &doc->root);
        if (r >= 0) {
                skip_space(&ps);
                if (ps.p < ps.end)
                        r = fail_char(&ps, "after top-level value");
        }
        if (r < 0) {
                json_doc_free(doc);
                return r;
        }
        *ret = doc;
        return 0;
}

JsonIntResult json_number_to_u64(const JsonValue *v, uint64_t max, uint64_t *ret)
{
        const char *s = v->number.text;
        assert(v->type == JSON_NUMBER);

        if (strpbrk(s, ".eE"))
                return JSON_INT_NOT_INTEGER;
        if (s[0] == '-')
                return JSON_INT_NEGATIVE;
        uint64_t n = 0;
        for (; *s; s++) {
                unsigned d = (unsigned) (*s - '0');
                if (n > (UINT64_MAX - d) / 10)
                        return JSON_INT_RANGE;
                n = n * 10 + d;
        }
        if (n > max)
                return JSON_INT_RANGE;
        *ret = n;
        return JSON_INT_OK;
}
