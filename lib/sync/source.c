/* SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

#include "paths.h"
#include "shared/base64.h"
#include "shared/fileio.h"
#include "shared/macro.h"
#include "source.h"

void source_set_clear(SourceSet *s)
{
        for (size_t i = 0; i < s->n; i++) {
                free(s->items[i].path);
                free(s->items[i].bytes);
                free(s->items[i].origin);
        }
        free(s->items);
        for (size_t i = 0; i < s->n_errors; i++)
                free(s->errors[i]);
        free(s->errors);
        *s = (SourceSet){};
}

_printf_(2, 3) static int source_error(SourceSet *s, const char *fmt, ...)
{
        va_list ap;
        char *m = NULL;
        char **e = realloc(s->errors, (s->n_errors + 1) * sizeof(char *));
        if (!e)
                return -ENOMEM;
        s->errors = e;
        va_start(ap, fmt);
        int r = vasprintf(&m, fmt, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        s->errors[s->n_errors++] = m;
        return 0;
}

/* Takes ownership of bytes. */
static int source_add(SourceSet *s, const char *dir, const char *name, char *bytes, size_t len, char *origin,
                      bool adopt)
{
        _cleanup_free_ char *path = NULL;
        SourceProfile *items;
        int r = profile_target_path(dir, name, &path);
        if (r < 0 || !(items = realloc(s->items, (s->n + 1) * sizeof(SourceProfile)))) {
                free(bytes);
                free(origin);
                return -ENOMEM;
        }
        s->items = items;
        s->items[s->n++] = (SourceProfile){
                .path = TAKE_PTR(path), .bytes = bytes, .len = len, .origin = origin, .adopt = adopt};
        return 0;
}

static void yaml_parser_deletep(yaml_parser_t *p)
{
        yaml_parser_delete(p);
}

static yaml_node_t *map_get(yaml_document_t *doc, yaml_node_t *map, const char *key)
{
        if (!map || map->type != YAML_MAPPING_NODE)
                return NULL;
        for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
                yaml_node_t *k = yaml_document_get_node(doc, p->key);
                if (k && k->type == YAML_SCALAR_NODE &&
                    strcmp((const char *) k->data.scalar.value, key) == 0)
                        return yaml_document_get_node(doc, p->value);
        }
        return NULL;
}

static const char *scalar(yaml_node_t *n)
{
        return n && n->type == YAML_SCALAR_NODE ? (const char *) n->data.scalar.value : NULL;
}

typedef enum Encoding {
        ENCODING_PLAIN,
        ENCODING_BASE64,
} Encoding;

static int read_data(SourceSet *s, yaml_document_t *doc, yaml_node_t *data, const char *field, Encoding enc,
                     const char *where, const char *dir, bool adopt)
{
        int r;
        if (!data)
                return 0;
        if (data->type != YAML_MAPPING_NODE)
                return source_error(s, "%s: %s is not a mapping", where, field);
        for (yaml_node_pair_t *p = data->data.mapping.pairs.start; p < data->data.mapping.pairs.top; p++) {
                const char *key = scalar(yaml_document_get_node(doc, p->key));
                yaml_node_t *v = yaml_document_get_node(doc, p->value);
                const char *why;
                if (!key)
                        continue;
                if ((why = profile_file_name_invalid(key))) {
                        r = source_error(s, "%s: %s[%s]: %s", where, field, key, why);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (!v || v->type != YAML_SCALAR_NODE) {
                        r = source_error(s, "%s: %s[%s]: the value is not a string", where, field, key);
                        if (r < 0)
                                return r;
                        continue;
                }
                char *bytes = NULL, *origin = NULL;
                size_t len;
                if (enc == ENCODING_BASE64) {
                        /* The decoder the API path uses: what the API server would refuse is refused. */
                        uint8_t *b = NULL;
                        r = base64_decode((const char *) v->data.scalar.value, v->data.scalar.length, &b,
                                          &len);
                        if (r == -EINVAL) {
                                r = source_error(s, "%s: %s[%s]: not valid base64", where, field, key);
                                if (r < 0)
                                        return r;
                                continue;
                        }
                        bytes = (char *) b;
                } else {
                        len = v->data.scalar.length;
                        bytes = malloc(len + 1);
                        r = bytes ? 0 : -ENOMEM;
                        if (bytes) {
                                memcpy(bytes, v->data.scalar.value, len);
                                bytes[len] = 0;
                        }
                }
                if (r < 0 || asprintf(&origin, "%s %s[%s]", where, field, key) < 0) {
                        free(bytes);
                        return -ENOMEM;
                }
                r = source_add(s, dir, key, bytes, len, origin, adopt);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int read_object(SourceSet *s, const char *file, yaml_document_t *doc)
{
        yaml_node_t *root = yaml_document_get_root_node(doc);
        if (!root) /* an empty document, e.g. after a trailing "---" */
                return 0;
        const char *kind = scalar(map_get(doc, root, "kind"));
        if (!kind || (strcmp(kind, "ConfigMap") != 0 && strcmp(kind, "Secret") != 0))
                return 0; /* other objects may share the file */
        yaml_node_t *meta = map_get(doc, root, "metadata");
        const char *name = scalar(map_get(doc, meta, "name")) ?: "?";
        const char *ns = scalar(map_get(doc, meta, "namespace"));
        const char *label = scalar(map_get(doc, map_get(doc, meta, "labels"), LABEL_PROFILE));
        if (!label || strcmp(label, "true") != 0)
                return 0;
        yaml_node_t *annotations = map_get(doc, meta, "annotations");
        const char *dir = scalar(map_get(doc, annotations, ANNOTATION_DIRECTORY));
        const char *adopt = scalar(map_get(doc, annotations, ANNOTATION_ADOPT));
        _cleanup_free_ char *where = NULL;
        const char *why;

        if (asprintf(&where, "%s: %s %s%s%s", file, kind, ns ?: "", ns ? "/" : "", name) < 0)
                return -ENOMEM;
        if ((why = profile_directory_invalid(dir)))
                return source_error(s, "%s: annotation %s \"%s\": %s", where, ANNOTATION_DIRECTORY, dir,
                                    why);

        bool secret = strcmp(kind, "Secret") == 0, take = adopt && strcmp(adopt, "true") == 0;
        int r = read_data(s, doc, map_get(doc, root, "data"), "data",
                          secret ? ENCODING_BASE64 : ENCODING_PLAIN, where, dir, take);
        if (r >= 0)
                r = read_data(s, doc, map_get(doc, root, secret ? "stringData" : "binaryData"),
                              secret ? "stringData" : "binaryData",
                              secret ? ENCODING_PLAIN : ENCODING_BASE64, where, dir, take);
        return r;
}

int source_read_manifest(const char *display_name, const char *buf, size_t len, SourceSet *s)
{
        _cleanup_(yaml_parser_deletep) yaml_parser_t parser;
        int r = 0;

        if (!yaml_parser_initialize(&parser))
                return -ENOMEM;
        yaml_parser_set_input_string(&parser, (const unsigned char *) buf, len);
        for (;;) {
                yaml_document_t doc;
                if (!yaml_parser_load(&parser, &doc)) {
                        s->complete = false;
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
                char *origin = NULL;
                if (why)
                        return source_error(s, "%s/%s: %s", path, name, why);
                if (asprintf(&origin, "%s/%s", path, name) < 0)
                        return -ENOMEM;
                return source_add(s, NULL, name, TAKE_PTR(buf), len, origin, false);
        }
        _cleanup_free_ char *display = NULL;
        if (asprintf(&display, "%s/%s", path, name) < 0)
                return -ENOMEM;
        return source_read_manifest(display, buf, len, s);
}
