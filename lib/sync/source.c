/* SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

#include "object.h"
#include "paths.h"
#include "shared/beneath.h"
#include "shared/fileio.h"
#include "shared/macro.h"
#include "source.h"

static void source_object_clear(SourceObject *o)
{
        free(o->kind);
        free(o->namespace);
        free(o->name);
        *o = (SourceObject){};
}

static int source_object_set(SourceObject *o, const ObjectDescription *d)
{
        *o = (SourceObject){
                .kind = strdup(d->kind),
                .namespace = d->namespace ? strdup(d->namespace) : NULL,
                .name = d->name ? strdup(d->name) : NULL,
        };
        if (!o->kind || (d->namespace && !o->namespace) || (d->name && !o->name)) {
                source_object_clear(o);
                return -ENOMEM;
        }
        return 0;
}

static void source_items_free(SourceSet *s, size_t from)
{
        for (size_t i = from; i < s->n; i++) {
                free(s->items[i].path);
                free(s->items[i].bytes);
                free(s->items[i].origin);
                free(s->items[i].key);
                source_object_clear(&s->items[i].object);
        }
        s->n = MIN(s->n, from);
}

static void problems_free(SourceProblem *p, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                free(p[i].message);
                free(p[i].at);
                source_object_clear(&p[i].object);
        }
        free(p);
}

void source_set_clear(SourceSet *s)
{
        source_items_free(s, 0);
        free(s->items);
        problems_free(s->errors, s->n_errors);
        problems_free(s->notes, s->n_notes);
        *s = (SourceSet){};
}

/* Takes ownership of what p points to, also on failure; text is offset into message. */
static int problem_add(SourceProblem **list, size_t *n, SourceProblem p, size_t text)
{
        SourceProblem *l = realloc(*list, (*n + 1) * sizeof(SourceProblem));
        if (!l) {
                free(p.message);
                free(p.at);
                source_object_clear(&p.object);
                return -ENOMEM;
        }
        p.text = p.message + MIN(text, strlen(p.message));
        *list = l;
        (*list)[(*n)++] = p;
        return 0;
}

_printf_(2, 3) static int source_error(SourceSet *s, const char *fmt, ...)
{
        va_list ap;
        char *m = NULL;
        va_start(ap, fmt);
        int r = vasprintf(&m, fmt, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        return problem_add(&s->errors, &s->n_errors,
                           (SourceProblem){.kind = SOURCE_FILE_UNREADABLE, .message = m}, 0);
}

/* Takes ownership of path, bytes and origin. */
static int source_add(SourceSet *s, char *path, char *bytes, size_t len, char *origin, bool adopt)
{
        SourceProfile *items = realloc(s->items, (s->n + 1) * sizeof(SourceProfile));
        if (!items) {
                free(path);
                free(bytes);
                free(origin);
                return -ENOMEM;
        }
        s->items = items;
        s->items[s->n++] =
                (SourceProfile){.path = path, .bytes = bytes, .len = len, .origin = origin, .adopt = adopt};
        return 0;
}

static void yaml_parser_deletep(yaml_parser_t *p)
{
        yaml_parser_delete(p);
}

/* The length of the line break at b (n bytes left), or 0: YAML 1.1's breaks, as libyaml counts them. */
static size_t utf8_break(const unsigned char *b, size_t n)
{
        if (b[0] == '\r')
                return n > 1 && b[1] == '\n' ? 2 : 1;
        if (b[0] == '\n')
                return 1;
        if (n > 1 && b[0] == 0xc2 && b[1] == 0x85) /* NEL */
                return 2;
        if (n > 2 && b[0] == 0xe2 && b[1] == 0x80 && (b[2] == 0xa8 || b[2] == 0xa9)) /* LS, PS */
                return 3;
        return 0;
}

/* Where libyaml's lines start in the bytes: libyaml counts lines and characters, a profile's
 * positions are bytes of its own lines. Sought forward from the last line found, or from a mark set
 * where an object starts, so that a file is scanned a bounded number of times (once per field of an
 * object) however many objects it holds. Only for UTF-8: nothing is mapped in UTF-16. */
typedef struct Lines {
        const unsigned char *buf;
        size_t len;
        size_t line, offset;           /* a line (0-based) and where it starts */
        size_t mark_line, mark_offset; /* where the object being read starts, or the file */
        /* The last character found in a line: the scalars of one line (a flow mapping of 10,000 keys
         * on one line) are found in one walk, not one each from the line's start. */
        size_t column_line, column, column_offset;
} Lines;

static bool lines_seek(Lines *l, size_t line, size_t *ret_offset)
{
        if (line < l->line) {
                if (line < l->mark_line)
                        return false; /* before the object: never asked */
                l->line = l->mark_line;
                l->offset = l->mark_offset;
        }
        while (l->line < line) {
                size_t w = 0;
                while (l->offset < l->len && (w = utf8_break(l->buf + l->offset, l->len - l->offset)) == 0)
                        l->offset++;
                if (l->offset == l->len)
                        return false;
                l->offset += w;
                l->line++;
        }
        *ret_offset = l->offset;
        return true;
}

static void lines_mark(Lines *l, size_t line)
{
        size_t offset;
        if (lines_seek(l, line, &offset)) {
                l->mark_line = line;
                l->mark_offset = offset;
        }
}

/* The byte where a mark's character is, in its line. */
static bool lines_at(Lines *l, yaml_mark_t m, size_t *ret)
{
        size_t o, c = 0;
        if (!lines_seek(l, m.line, &o))
                return false;
        if (l->column_line == m.line && l->column <= m.column && l->column_offset >= o) {
                c = l->column;
                o = l->column_offset;
        }
        for (; c < m.column; c++) {
                if (o >= l->len || utf8_break(l->buf + o, l->len - o) > 0)
                        return false;
                o++;
                while (o < l->len && (l->buf[o] & 0xc0) == 0x80)
                        o++;
        }
        l->column_line = m.line;
        l->column = m.column;
        l->column_offset = o;
        *ret = o;
        return true;
}

static size_t utf8_chars(const char *s, size_t len)
{
        size_t n = 0;
        for (size_t i = 0; i < len; i++)
                n += ((unsigned char) s[i] & 0xc0) != 0x80;
        return n;
}

static bool all_spaces(const unsigned char *b, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (b[i] != ' ')
                        return false;
        return true;
}

/* Sets t's verbatim position when its bytes stand as they are in the file: each line of a literal
 * block scalar is a line of the file after the block's indentation; a scalar on one line without
 * escapes is its bytes. Checked against the bytes, line by line, not assumed: a folded scalar, an
 * escape, a NEL or LS inside the text all leave it unmapped. */
static void find_verbatim(Lines *l, const yaml_node_t *n, ObjectText *t)
{
        size_t o, q;

        if (!l || !t->value || n->type != YAML_SCALAR_NODE)
                return;
        const char *v = t->value, *end = v + t->len; /* not before: value may be NULL */
        if (n->data.scalar.style == YAML_LITERAL_SCALAR_STYLE) {
                /* Its lines start below the "|" the mark is at. */
                size_t first = n->start_mark.line + 1, indent = SIZE_MAX;
                if (!lines_seek(l, first, &o))
                        return;
                while (v < end) {
                        const char *nl = memchr(v, '\n', (size_t) (end - v));
                        size_t vl = (size_t) ((nl ?: end) - v), rl = 0, w = 0;
                        while (o + rl < l->len && (w = utf8_break(l->buf + o + rl, l->len - o - rl)) == 0)
                                rl++;
                        if (vl == 0 && !all_spaces(l->buf + o, rl))
                                return;
                        if (vl > 0) {
                                if (indent == SIZE_MAX && rl >= vl)
                                        indent = rl - vl;
                                if (indent == SIZE_MAX || rl != indent + vl ||
                                    !all_spaces(l->buf + o, indent) ||
                                    memcmp(l->buf + o + indent, v, vl) != 0)
                                        return;
                        }
                        v = nl ? nl + 1 : end;
                        if (v < end && w == 0)
                                return; /* the file ended first */
                        o += rl + w;
                }
                if (indent == SIZE_MAX || first + 1 > UINT_MAX || indent + 1 > UINT_MAX)
                        return;
                t->verbatim_line = (unsigned) first + 1;
                t->verbatim_column = (unsigned) indent + 1;
                return;
        }
        q = n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE ? 0 : 1;
        if (n->data.scalar.style == YAML_FOLDED_SCALAR_STYLE || n->start_mark.line != n->end_mark.line ||
            memchr(v, '\n', t->len) ||
            n->end_mark.column - n->start_mark.column != utf8_chars(v, t->len) + 2 * q ||
            !lines_at(l, n->start_mark, &o) || o + q + t->len > l->len ||
            memcmp(l->buf + o + q, v, t->len) != 0)
                return;
        size_t line_start;
        if (!lines_seek(l, n->start_mark.line, &line_start) || o - line_start + q + 1 > UINT_MAX ||
            n->start_mark.line + 1 > UINT_MAX)
                return;
        t->verbatim_line = (unsigned) n->start_mark.line + 1;
        t->verbatim_column = (unsigned) (o - line_start + q + 1);
}

static unsigned mark_number(size_t n)
{
        return n < UINT_MAX ? (unsigned) n + 1 : 0;
}

static ObjectText text_of(yaml_node_t *n)
{
        if (!n || n->type != YAML_SCALAR_NODE)
                return (ObjectText){};
        return (ObjectText){.value = (const char *) n->data.scalar.value,
                            .len = n->data.scalar.length,
                            .line = mark_number(n->start_mark.line),
                            .column = mark_number(n->start_mark.column)};
}

static yaml_node_t *map_get(yaml_document_t *doc, yaml_node_t *map, const char *key)
{
        if (!map || map->type != YAML_MAPPING_NODE)
                return NULL;
        for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
                ObjectText k = text_of(yaml_document_get_node(doc, p->key));
                if (k.value && k.len == strlen(key) && memcmp(k.value, key, k.len) == 0)
                        return yaml_document_get_node(doc, p->value);
        }
        return NULL;
}

static const char *scalar(yaml_node_t *n)
{
        return text_of(n).value;
}

/* Every scalar counts as a string, as it always did here: the document API resolves no tags, so an
 * unquoted 123 or true is text to us where kubectl would send a number or a boolean. */
static int map_read(yaml_document_t *doc, yaml_node_t *n, Lines *lines, ObjectMap *m)
{
        if (!n)
                return 0;
        m->present = true;
        m->line = mark_number(n->start_mark.line);
        m->column = mark_number(n->start_mark.column);
        if (n->type != YAML_MAPPING_NODE)
                return 0;
        m->is_map = true;
        for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
                yaml_node_t *v = yaml_document_get_node(doc, p->value);
                ObjectText value = text_of(v);
                find_verbatim(lines, v, &value);
                int r = object_map_add(m, text_of(yaml_document_get_node(doc, p->key)), value,
                                       !!value.value);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Reading one manifest. */
typedef struct Reader {
        SourceSet *set;
        const char *file;
        Lines *lines; /* NULL: the file is not UTF-8, positions in its texts are not mapped */
} Reader;

static SourceProblemKind note_kind(ObjectStatus s)
{
        switch (s) {
        case OBJECT_UNLABELED:
                return SOURCE_OBJECT_UNLABELED;
        case OBJECT_LABEL_VALUE:
                return SOURCE_OBJECT_LABEL_VALUE;
        case OBJECT_RECORDING:
                return SOURCE_OBJECT_RECORDING;
        case OBJECT_RECORDING_INCOMPLETE:
                return SOURCE_OBJECT_RECORDING_INCOMPLETE;
        default:
                return SOURCE_OBJECT_EMPTY;
        }
}

/* One object (a document, or an item of a List) → the shared decoder (lib/sync/object.h) → the set.
 * default_kind: a typed List's item kind, for items that name neither kind nor apiVersion (the API
 * server leaves them out of a ConfigMapList's items; apimachinery fills them in from the List). */
static int read_object(Reader *rd, yaml_document_t *doc, yaml_node_t *obj, const char *default_kind)
{
        SourceSet *s = rd->set;
        yaml_node_t *meta = map_get(doc, obj, "metadata");
        yaml_node_t *annotations = map_get(doc, meta, "annotations");
        yaml_node_t *kind = map_get(doc, obj, "kind");
        yaml_node_t *labels = map_get(doc, meta, "labels");
        _cleanup_(object_description_clear) ObjectDescription d = {
                .line = mark_number(obj->start_mark.line),
                .column = mark_number(obj->start_mark.column),
                .kind = kind || map_get(doc, obj, "apiVersion") ? scalar(kind) : default_kind,
                .namespace = scalar(map_get(doc, meta, "namespace")),
                .name = scalar(map_get(doc, meta, "name")),
                .label = text_of(map_get(doc, labels, LABEL_PROFILE)),
                .directory = text_of(map_get(doc, annotations, ANNOTATION_DIRECTORY)),
                .adopt = text_of(map_get(doc, annotations, ANNOTATION_ADOPT)),
                .recording = text_of(map_get(doc, labels, LABEL_RECORDING)),
                .recording_complete = text_of(map_get(doc, annotations, ANNOTATION_RECORDING_COMPLETE)),
                .recording_reason = text_of(map_get(doc, annotations, ANNOTATION_RECORDING_INCOMPLETE)),
        };
        _cleanup_(object_profiles_clear) ObjectProfiles out = {};
        const ObjectDecodeOptions o = {
                .where = rd->file, .require_label = true, .read_recordings = s->read_recordings};
        size_t prefix = strlen(rd->file) + 2; /* "FILE: " */
        int r;

        if (rd->lines)
                lines_mark(rd->lines, obj->start_mark.line);
        for (ObjectField f = 0; f < _OBJECT_FIELD_MAX; f++) {
                r = map_read(doc, map_get(doc, obj, object_field_to_string(f)), rd->lines, d.fields + f);
                if (r < 0)
                        return r;
        }
        r = object_decode(&d, &o, &out);
        if (r < 0)
                return r;
        if (out.status != OBJECT_DECODED && out.status != OBJECT_OTHER_KIND) {
                /* At the label that says what the object is, if it has one. */
                ObjectText at = out.status == OBJECT_LABEL_VALUE ? d.label
                                : out.status == OBJECT_RECORDING || out.status == OBJECT_RECORDING_INCOMPLETE
                                        ? d.recording
                                        : (ObjectText){};
                SourceProblem n = {
                        .kind = note_kind(out.status),
                        .message = TAKE_PTR(out.ignored),
                        .line = at.line ?: d.line,
                        .column = at.line ? at.column : d.column,
                        .looks_like_profiles = out.looks_like_profiles,
                };
                r = source_object_set(&n.object, &d);
                if (r < 0) {
                        free(n.message);
                        return r;
                }
                r = problem_add(&s->notes, &s->n_notes, n, prefix);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < out.n_refusals; i++) {
                ObjectRefusal *x = out.refusals + i;
                SourceProblem e = {
                        .kind = SOURCE_OBJECT_REFUSED,
                        .message = TAKE_PTR(x->message),
                        .at = TAKE_PTR(x->at),
                        .line = x->line ?: d.line,
                        .column = x->line ? x->column : d.column,
                };
                r = source_object_set(&e.object, &d);
                if (r < 0) {
                        free(e.message);
                        free(e.at);
                        return r;
                }
                r = problem_add(&s->errors, &s->n_errors, e, prefix);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < out.n; i++) {
                ObjectProfile *p = out.profiles + i;
                r = source_add(s, TAKE_PTR(p->path), TAKE_PTR(p->bytes), p->len, TAKE_PTR(p->origin),
                               p->adopt);
                if (r < 0)
                        return r;
                SourceProfile *added = s->items + s->n - 1;
                added->key = TAKE_PTR(p->key);
                added->field = p->field;
                added->place = p->place;
                r = source_object_set(&added->object, &d);
                if (r < 0)
                        return r;
        }
        return 0;
}

static bool ends_with(const char *s, const char *suffix)
{
        size_t a = strlen(s), b = strlen(suffix);
        return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* One YAML document: an object, or a List of them. As kubectl (cli-runtime's FlattenListVisitor), a
 * List is read one level deep: an item that is a List itself is no object kubectl would apply. */
static int read_document(Reader *rd, yaml_document_t *doc)
{
        yaml_node_t *root = yaml_document_get_root_node(doc);
        if (!root) /* an empty document, e.g. after a trailing "---" */
                return 0;
        const char *kind = scalar(map_get(doc, root, "kind"));
        yaml_node_t *items = map_get(doc, root, "items");
        if (!kind || !ends_with(kind, "List") || !items || items->type != YAML_SEQUENCE_NODE)
                return read_object(rd, doc, root, NULL);

        _cleanup_free_ char *item_kind = strndup(kind, strlen(kind) - strlen("List"));
        if (!item_kind)
                return -ENOMEM;
        for (yaml_node_item_t *i = items->data.sequence.items.start; i < items->data.sequence.items.top;
             i++) {
                yaml_node_t *item = yaml_document_get_node(doc, *i);
                const char *k = scalar(map_get(doc, item, "kind"));
                if (!item || item->type != YAML_MAPPING_NODE || (k && ends_with(k, "List")))
                        continue;
                int r = read_object(rd, doc, item, *item_kind ? item_kind : NULL);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* A manifest that cannot be read whole gives no profile, not even those of the objects before the
 * problem: the file is one unit, as it was written. The set becomes incomplete, so that nothing the
 * file provided before is deleted. */
static void source_truncate(SourceSet *s, size_t n)
{
        source_items_free(s, n);
        s->complete = false;
}

/* Where libyaml stopped. A reader error (bytes that are not UTF-8, a control character) carries no
 * mark, only the byte's offset in the input, which libyaml decodes ahead of the scanner: its line and
 * column are counted here as the scanner counts them, in characters after the byte order mark. */
static yaml_mark_t problem_mark(const yaml_parser_t *p, const char *buf, size_t len)
{
        const unsigned char *b = (const unsigned char *) buf;
        size_t end = MIN(p->problem_offset, len), i = 0, width;
        yaml_mark_t m = {};

        if (p->error != YAML_READER_ERROR)
                return p->problem_mark;
        if (p->encoding == YAML_UTF16LE_ENCODING || p->encoding == YAML_UTF16BE_ENCODING) {
                bool le = p->encoding == YAML_UTF16LE_ENCODING;
                for (i = 2; i + 1 < end; i += 2) {
                        unsigned u = le ? b[i] | b[i + 1] << 8 : b[i] << 8 | b[i + 1];
                        if (u == '\r' && i + 3 < end && (le ? b[i + 2] : b[i + 3]) == '\n' &&
                            (le ? b[i + 3] : b[i + 2]) == 0)
                                continue; /* CR LF: one break, counted at the LF */
                        if (u == '\n' || u == '\r' || u == 0x85 || u == 0x2028 || u == 0x2029) {
                                m.line++;
                                m.column = 0;
                        } else
                                m.column += u < 0xdc00 || u > 0xdfff; /* the high surrogate counted */
                }
                return m;
        }
        if (end >= 3 && memcmp(b, "\xef\xbb\xbf", 3) == 0)
                i = 3;
        while (i < end) {
                if ((width = utf8_break(b + i, end - i)) > 0) {
                        m.line++;
                        m.column = 0;
                        i += width;
                } else
                        m.column += (b[i++] & 0xc0) != 0x80; /* a continuation byte is no character */
        }
        return m;
}

/* Refuses the whole file (see source_truncate) at a position in it. */
_printf_(5, 6) static int manifest_refuse(SourceSet *s, size_t first, const char *file, yaml_mark_t at,
                                          const char *fmt, ...)
{
        _cleanup_free_ char *m = NULL;
        va_list ap;
        va_start(ap, fmt);
        int r = vasprintf(&m, fmt, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        source_truncate(s, first);
        SourceProblem e = {.kind = SOURCE_MANIFEST_REFUSED,
                           .line = mark_number(at.line),
                           .column = mark_number(at.column)};
        if (asprintf(&e.message, "%s:%zu:%zu: %s", file, at.line + 1, at.column + 1, m) < 0)
                return -ENOMEM;
        return problem_add(&s->errors, &s->n_errors, e, strlen(e.message) - strlen(m));
}

/* A collection being read; for a mapping, the key whose value comes next (0: none yet). */
typedef struct OpenNode {
        int node;
        int key;
} OpenNode;

/* One document built from the parser's events, as yaml_parser_load would build it, but with the
 * bounds checked on each event, before anything deeper is read. */
typedef struct Loader {
        yaml_document_t doc;
        OpenNode open[MANIFEST_MAX_DEPTH];
        size_t depth;
} Loader;

static void loader_clear(Loader *l)
{
        /* A zeroed document deletes as an empty one. */
        yaml_document_delete(&l->doc);
}

static void yaml_event_deletep(yaml_event_t *e)
{
        yaml_event_delete(e);
}

/* Puts a new node (0: libyaml could not allocate it) into the collection being read; the first node
 * of a document is its root. libyaml's document calls fail only on allocation: the UTF-8 they check
 * again was checked by the parser. */
static int loader_attach(Loader *l, int node)
{
        if (node == 0)
                return -ENOMEM;
        if (l->depth == 0)
                return 0;
        OpenNode *o = l->open + l->depth - 1;
        int ok;
        if (yaml_document_get_node(&l->doc, o->node)->type == YAML_SEQUENCE_NODE)
                ok = yaml_document_append_sequence_item(&l->doc, o->node, node);
        else if (o->key == 0) {
                o->key = node;
                return 0;
        } else {
                ok = yaml_document_append_mapping_pair(&l->doc, o->node, o->key, node);
                o->key = 0;
        }
        return ok ? 0 : -ENOMEM;
}

/* yaml_document_add_* leave a node's marks zero; the events have them. */
static int loader_add(Loader *l, int node, const yaml_event_t *e)
{
        if (node != 0) {
                yaml_node_t *n = yaml_document_get_node(&l->doc, node);
                n->start_mark = e->start_mark;
                n->end_mark = e->end_mark;
        }
        return loader_attach(l, node);
}

int source_read_manifest(const char *display_name, const char *buf, size_t len, SourceSet *s)
{
        _cleanup_(yaml_parser_deletep) yaml_parser_t parser;
        _cleanup_(loader_clear) Loader l = {};
        size_t first = s->n;
        int r, node;
        bool bom = len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0;
        Lines lines = {.buf = (const unsigned char *) buf,
                       .len = len,
                       .offset = bom ? 3 : 0,
                       .mark_offset = bom ? 3 : 0};
        Reader rd = {.set = s, .file = display_name};

        if (!yaml_parser_initialize(&parser))
                return -ENOMEM;
        yaml_parser_set_input_string(&parser, (const unsigned char *) buf, len);
        for (;;) {
                _cleanup_(yaml_event_deletep) yaml_event_t e = {};
                if (!yaml_parser_parse(&parser, &e))
                        return manifest_refuse(s, first, display_name, problem_mark(&parser, buf, len),
                                               "not valid YAML: %s", parser.problem ?: "parse error");
                switch (e.type) {
                case YAML_STREAM_END_EVENT:
                        return 0;
                case YAML_DOCUMENT_START_EVENT:
                        if (!yaml_document_initialize(&l.doc, NULL, NULL, NULL, 1, 1))
                                return -ENOMEM;
                        break;
                case YAML_DOCUMENT_END_EVENT:
                        /* The encoding is known once the stream started. */
                        rd.lines = parser.encoding == YAML_UTF8_ENCODING ? &lines : NULL;
                        r = read_document(&rd, &l.doc);
                        yaml_document_delete(&l.doc);
                        if (r < 0)
                                return r;
                        break;
                case YAML_ALIAS_EVENT:
                        /* yaml_parser_load shares the anchored node, but the decoder copies the value
                         * once per alias: 5000 keys aliasing one 1 MiB string asked for 5 GB from a
                         * 1.1 MiB file. No Kubernetes object needs an alias. */
                        return manifest_refuse(s, first, display_name, e.start_mark,
                                               "a YAML alias: not accepted in a manifest (each alias "
                                               "copies its anchor's value: a small file could ask for "
                                               "gigabytes)");
                case YAML_SCALAR_EVENT:
                        r = loader_add(&l,
                                       yaml_document_add_scalar(&l.doc, NULL, e.data.scalar.value,
                                                                (int) e.data.scalar.length,
                                                                e.data.scalar.style),
                                       &e);
                        if (r < 0)
                                return r;
                        break;
                case YAML_SEQUENCE_START_EVENT:
                case YAML_MAPPING_START_EVENT:
                        /* Stopped here, while parsing: libyaml 0.2.5 scans each flow level in time
                         * linear in the levels open (its stack of possible simple keys), so deep
                         * nesting costs quadratic time (10 s for 80k levels) before any document is
                         * complete. */
                        if (l.depth == MANIFEST_MAX_DEPTH)
                                return manifest_refuse(s, first, display_name, e.start_mark,
                                                       "nesting deeper than %d levels", MANIFEST_MAX_DEPTH);
                        node = e.type == YAML_SEQUENCE_START_EVENT
                                       ? yaml_document_add_sequence(&l.doc, NULL,
                                                                    e.data.sequence_start.style)
                                       : yaml_document_add_mapping(&l.doc, NULL, e.data.mapping_start.style);
                        r = loader_add(&l, node, &e);
                        if (r < 0)
                                return r;
                        l.open[l.depth++] = (OpenNode){.node = node};
                        break;
                case YAML_SEQUENCE_END_EVENT:
                case YAML_MAPPING_END_EVENT:
                        l.depth--;
                        break;
                default:
                        break;
                }
        }
}

bool source_entry_wanted(const char *name)
{
        return name[0] != '.' &&
               (ends_with(name, ".json") || ends_with(name, ".yaml") || ends_with(name, ".yml"));
}

int source_read_entry(int dfd, const char *path, const char *name, SourceSet *s)
{
        bool json = ends_with(name, ".json");
        struct stat st;

        /* Regular files, and symlinks whose whole chain stays inside the directory (ConfigMap volumes:
         * key → ..data/key, ..data → ..TIMESTAMP). */
        if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                s->complete = false;
                s->unreadable = true;
                return source_error(s, "%s/%s: %m", path, name);
        }
        if (!S_ISLNK(st.st_mode) && !S_ISREG(st.st_mode))
                return 0;

        _cleanup_free_ char *buf = NULL;
        size_t len;
        int k;
        /* Every hop checked, not the first link's text: a.json → .hop → /elsewhere, or x.json →
         * .dir/x.json with .dir → /elsewhere, read a file outside and installed it. */
        int fd = open_beneath(dfd, name, O_RDONLY | O_NONBLOCK);
        if (fd == -EXDEV)
                return source_error(s, "%s/%s: a symlink that leaves the directory; ignored", path, name);
        if (fd >= 0) {
                struct stat fst;
                k = fstat(fd, &fst) < 0 ? -errno : S_ISREG(fst.st_mode) ? 0 : -EBADFD;
                if (k == 0)
                        k = read_full_fd(fd, json ? 4 * 1024 * 1024 : MANIFEST_MAX_SIZE, &buf, &len);
                (void) close(fd);
        } else
                k = fd;
        if (k < 0) {
                s->complete = false;
                s->unreadable = true;
                return source_error(s, "%s/%s: cannot read: %s", path, name, strerror(-k));
        }
        if (json) {
                const char *why = profile_file_name_invalid(name);
                char *origin = NULL, *rel = NULL;
                if (why)
                        return source_error(s, "%s/%s: %s", path, name, why);
                if (asprintf(&origin, "%s/%s", path, name) < 0)
                        return -ENOMEM;
                if (!(rel = strdup(name))) {
                        free(origin);
                        return -ENOMEM;
                }
                return source_add(s, rel, TAKE_PTR(buf), len, origin, false);
        }
        _cleanup_free_ char *display = NULL;
        if (asprintf(&display, "%s/%s", path, name) < 0)
                return -ENOMEM;
        return source_read_manifest(display, buf, len, s);
}
