/* SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
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

static void source_items_free(SourceSet *s, size_t from)
{
        for (size_t i = from; i < s->n; i++) {
                free(s->items[i].path);
                free(s->items[i].bytes);
                free(s->items[i].origin);
        }
        s->n = MIN(s->n, from);
}

void source_set_clear(SourceSet *s)
{
        source_items_free(s, 0);
        free(s->items);
        for (size_t i = 0; i < s->n_errors; i++)
                free(s->errors[i]);
        free(s->errors);
        *s = (SourceSet){};
}

/* Takes ownership of m. */
static int source_error_add(SourceSet *s, char *m)
{
        char **e = realloc(s->errors, (s->n_errors + 1) * sizeof(char *));
        if (!e) {
                free(m);
                return -ENOMEM;
        }
        s->errors = e;
        s->errors[s->n_errors++] = m;
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
        return source_error_add(s, m);
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

static ObjectText text_of(yaml_node_t *n)
{
        if (!n || n->type != YAML_SCALAR_NODE)
                return (ObjectText){};
        return (ObjectText){(const char *) n->data.scalar.value, n->data.scalar.length};
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
static int map_read(yaml_document_t *doc, yaml_node_t *n, ObjectMap *m)
{
        if (!n)
                return 0;
        m->present = true;
        if (n->type != YAML_MAPPING_NODE)
                return 0;
        m->is_map = true;
        for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
                ObjectText value = text_of(yaml_document_get_node(doc, p->value));
                int r = object_map_add(m, text_of(yaml_document_get_node(doc, p->key)), value,
                                       !!value.value);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* One YAML document → the shared decoder (lib/sync/object.h) → s. */
static int read_object(SourceSet *s, const char *file, yaml_document_t *doc)
{
        yaml_node_t *root = yaml_document_get_root_node(doc);
        if (!root) /* an empty document, e.g. after a trailing "---" */
                return 0;
        yaml_node_t *meta = map_get(doc, root, "metadata");
        yaml_node_t *annotations = map_get(doc, meta, "annotations");
        _cleanup_(object_description_clear) ObjectDescription d = {
                .kind = scalar(map_get(doc, root, "kind")),
                .namespace = scalar(map_get(doc, meta, "namespace")),
                .name = scalar(map_get(doc, meta, "name")),
                .label = text_of(map_get(doc, map_get(doc, meta, "labels"), LABEL_PROFILE)),
                .directory = text_of(map_get(doc, annotations, ANNOTATION_DIRECTORY)),
                .adopt = text_of(map_get(doc, annotations, ANNOTATION_ADOPT)),
        };
        _cleanup_(object_profiles_clear) ObjectProfiles out = {};
        const ObjectDecodeOptions o = {.where = file, .require_label = true};
        int r;

        for (ObjectField f = 0; f < _OBJECT_FIELD_MAX; f++) {
                r = map_read(doc, map_get(doc, root, object_field_to_string(f)), d.fields + f);
                if (r < 0)
                        return r;
        }
        r = object_decode(&d, &o, &out);
        if (r < 0)
                return r;
        for (size_t i = 0; i < out.n_refusals; i++) {
                r = source_error_add(s, TAKE_PTR(out.refusals[i].message));
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < out.n; i++) {
                ObjectProfile *p = out.profiles + i;
                r = source_add(s, TAKE_PTR(p->path), TAKE_PTR(p->bytes), p->len, TAKE_PTR(p->origin),
                               p->adopt);
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
        return source_error(s, "%s:%zu:%zu: %s", file, at.line + 1, at.column + 1, m);
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

int source_read_manifest(const char *display_name, const char *buf, size_t len, SourceSet *s)
{
        _cleanup_(yaml_parser_deletep) yaml_parser_t parser;
        _cleanup_(loader_clear) Loader l = {};
        size_t first = s->n;
        int r, node;

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
                        r = read_object(s, display_name, &l.doc);
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
                        r = loader_attach(&l, yaml_document_add_scalar(&l.doc, NULL, e.data.scalar.value,
                                                                       (int) e.data.scalar.length,
                                                                       e.data.scalar.style));
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
                        r = loader_attach(&l, node);
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

static bool has_suffix(const char *s, const char *suffix)
{
        size_t a = strlen(s), b = strlen(suffix);
        return a >= b && strcmp(s + a - b, suffix) == 0;
}

bool source_entry_wanted(const char *name)
{
        return name[0] != '.' &&
               (has_suffix(name, ".json") || has_suffix(name, ".yaml") || has_suffix(name, ".yml"));
}

int source_read_entry(int dfd, const char *path, const char *name, SourceSet *s)
{
        bool json = has_suffix(name, ".json");
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
