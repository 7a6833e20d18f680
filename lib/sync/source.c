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

int source_read_manifest(const char *display_name, const char *buf, size_t len, SourceSet *s)
{
        _cleanup_(yaml_parser_deletep) yaml_parser_t parser;
        size_t first = s->n;
        int r = 0;

        if (!yaml_parser_initialize(&parser))
                return -ENOMEM;
        yaml_parser_set_input_string(&parser, (const unsigned char *) buf, len);
        for (;;) {
                yaml_document_t doc;
                if (!yaml_parser_load(&parser, &doc)) {
                        source_truncate(s, first);
                        return source_error(s, "%s:%zu:%zu: not valid YAML: %s", display_name,
                                            parser.problem_mark.line + 1, parser.problem_mark.column + 1,
                                            parser.problem ?: "parse error");
                }
                if (!yaml_document_get_root_node(&doc)) {
                        yaml_document_delete(&doc);
                        break; /* end of stream */
                }
                r = read_object(s, display_name, &doc);
                yaml_document_delete(&doc);
                if (r < 0)
                        return r;
        }
        return r;
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
        char target[PATH_MAX];

        /* Regular files, and symlinks that stay inside the directory (ConfigMap volumes). */
        if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                s->complete = false;
                return source_error(s, "%s/%s: %m", path, name);
        }
        if (S_ISLNK(st.st_mode)) {
                ssize_t l = readlinkat(dfd, name, target, sizeof(target) - 1);
                if (l < 0 || target[0] == '/' || (target[l] = 0, strncmp(target, "../", 3) == 0) ||
                    strstr(target, "/../"))
                        return source_error(s, "%s/%s: a symlink that leaves the directory; ignored", path,
                                            name);
        } else if (!S_ISREG(st.st_mode))
                return 0;

        _cleanup_free_ char *buf = NULL;
        size_t len;
        int k;
        int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        if (fd >= 0) {
                struct stat fst;
                k = fstat(fd, &fst) < 0 ? -errno : S_ISREG(fst.st_mode) ? 0 : -EBADFD;
                if (k == 0)
                        k = read_full_fd(fd, json ? 4 * 1024 * 1024 : MANIFEST_MAX_SIZE, &buf, &len);
                (void) close(fd);
        } else
                k = -errno;
        if (k < 0) {
                s->complete = false;
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
