/* SPDX-License-Identifier: Apache-2.0 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "object.h"
#include "paths.h"
#include "shared/base64.h"
#include "shared/macro.h"

static const char *const field_names[_OBJECT_FIELD_MAX] = {
        [OBJECT_DATA] = "data",
        [OBJECT_BINARY_DATA] = "binaryData",
        [OBJECT_STRING_DATA] = "stringData",
};

const char *object_field_to_string(ObjectField f)
{
        return f >= 0 && f < _OBJECT_FIELD_MAX ? field_names[f] : NULL;
}

/* What each kind holds and how, as the API server stores it (core/v1 types.go). */
static const struct {
        const char *kind;
        struct {
                ObjectField field;
                bool base64;
        } fields[2];
} kinds[] = {
        {"ConfigMap", {{OBJECT_DATA, false}, {OBJECT_BINARY_DATA, true}}},
        {"Secret", {{OBJECT_DATA, true}, {OBJECT_STRING_DATA, false}}},
};

int object_map_add(ObjectMap *m, ObjectText key, ObjectText value, bool is_string)
{
        ObjectEntry *e = realloc(m->entries, (m->n + 1) * sizeof(ObjectEntry));
        if (!e)
                return -ENOMEM;
        m->entries = e;
        m->entries[m->n++] = (ObjectEntry){
                .key = key, .value = is_string ? value : (ObjectText){}, .is_string = is_string};
        return 0;
}

void object_description_clear(ObjectDescription *d)
{
        for (size_t i = 0; i < _OBJECT_FIELD_MAX; i++)
                free(d->fields[i].entries);
        *d = (ObjectDescription){};
}

void object_profiles_clear(ObjectProfiles *p)
{
        for (size_t i = 0; i < p->n; i++) {
                free(p->profiles[i].key);
                free(p->profiles[i].path);
                free(p->profiles[i].origin);
                free(p->profiles[i].bytes);
        }
        free(p->profiles);
        for (size_t i = 0; i < p->n_refusals; i++) {
                free(p->refusals[i].message);
                free(p->refusals[i].path);
        }
        free(p->refusals);
        *p = (ObjectProfiles){};
}

static bool text_is(ObjectText t, const char *s)
{
        return t.value && t.len == strlen(s) && memcmp(t.value, s, t.len) == 0;
}

static bool text_has_nul(ObjectText t)
{
        return t.value && memchr(t.value, 0, t.len);
}

static bool is_tenant(const ObjectDecodeOptions *o, const char *ns, size_t len)
{
        for (size_t i = 0; ns && i < o->n_tenants; i++)
                if (strlen(o->tenants[i]) == len && memcmp(o->tenants[i], ns, len) == 0)
                        return true;
        return false;
}

/* who: "[WHERE: ]Kind ns/name", the start of every message. */
_printf_(5, 6) static int refuse(ObjectProfiles *out, const char *who, const char *path, bool whole_object,
                                 const char *fmt, ...)
{
        _cleanup_free_ char *what = NULL, *message = NULL, *p = NULL;
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&what, fmt, ap);
        va_end(ap);
        if (r < 0 || asprintf(&message, "%s: %s", who, what) < 0 || (path && !(p = strdup(path))))
                return -ENOMEM;
        ObjectRefusal *list = realloc(out->refusals, (out->n_refusals + 1) * sizeof(ObjectRefusal));
        if (!list)
                return -ENOMEM;
        out->refusals = list;
        out->refusals[out->n_refusals++] = (ObjectRefusal){
                .message = TAKE_PTR(message), .path = TAKE_PTR(p), .whole_object = whole_object};
        return 0;
}

/* One key: refused with a message, or one profile more in out. */
static int decode_entry(ObjectProfiles *out, const char *who, const char *dir, ObjectField field,
                        bool base64, const ObjectEntry *e, bool adopt)
{
        const char *f = field_names[field], *why;
        _cleanup_free_ char *path = NULL, *origin = NULL, *bytes = NULL;
        size_t len;
        int r;

        if (!e->key.value)
                return refuse(out, who, NULL, false, "%s: a key that is not a string", f);
        /* Printed with %s, a key is cut at its first NUL: that is the name the refusal shows. */
        const char *key = e->key.value;
        if (text_has_nul(e->key))
                return refuse(out, who, NULL, false, "%s[%s]: the key holds a NUL byte", f, key);
        if ((why = profile_file_name_invalid(key)))
                return refuse(out, who, NULL, false, "%s[%s]: %s", f, key, why);
        r = profile_target_path(dir, key, &path);
        if (r < 0)
                return r;
        if (!e->is_string)
                return refuse(out, who, path, false, "%s[%s]: the value is not a string", f, key);
        if (text_has_nul(e->value))
                return refuse(out, who, path, false, "%s[%s]: the value holds a NUL byte", f, key);
        if (base64) {
                uint8_t *b = NULL;
                r = base64_decode(e->value.value, e->value.len, &b, &len);
                if (r == -EINVAL)
                        return refuse(out, who, path, false, "%s[%s]: not valid base64", f, key);
                if (r < 0)
                        return r;
                bytes = (char *) b;
        } else {
                len = e->value.len;
                bytes = malloc(len + 1);
                if (!bytes)
                        return -ENOMEM;
                memcpy(bytes, e->value.value, len);
                bytes[len] = 0;
        }
        if (asprintf(&origin, "%s %s[%s]", who, f, key) < 0)
                return -ENOMEM;
        ObjectProfile *list = realloc(out->profiles, (out->n + 1) * sizeof(ObjectProfile));
        if (!list)
                return -ENOMEM;
        out->profiles = list;
        out->profiles[out->n] = (ObjectProfile){
                .key = strdup(key),
                .field = field,
                .path = TAKE_PTR(path),
                .origin = TAKE_PTR(origin),
                .bytes = TAKE_PTR(bytes),
                .len = len,
                .adopt = adopt,
        };
        if (!out->profiles[out->n++].key)
                return -ENOMEM;
        return 0;
}

static int decode(const ObjectDescription *d, const ObjectDecodeOptions *o, size_t kind, ObjectProfiles *out)
{
        _cleanup_free_ char *who = NULL, *tenant_dir = NULL;
        const char *ns = d->namespace, *dir = d->directory.value, *why;
        int r;

        if (asprintf(&who, "%s%s%s %s%s%s", o->where ?: "", o->where ? ": " : "", d->kind, ns ?: "",
                     ns ? "/" : "", d->name ?: "?") < 0)
                return -ENOMEM;
        out->tenant = ns && is_tenant(o, ns, strlen(ns));

        if (dir && d->directory.len == 0)
                dir = NULL;
        if (text_has_nul(d->directory))
                why = "the value holds a NUL byte";
        else
                why = profile_directory_invalid(dir);
        if (why)
                return refuse(out, who, NULL, true, "annotation %s \"%s\": %s", ANNOTATION_DIRECTORY, dir,
                              why);
        size_t first = dir ? strcspn(dir, "/") : 0;
        if (!out->tenant && dir && is_tenant(o, dir, first))
                /* An admin object may not write into a tenant's directory, nor a tenant into another's:
                 * tenants are forced under their own namespace, admins kept out of all of them. */
                return refuse(out, who, NULL, true,
                              "conflict: annotation %s \"%s\" is inside tenant namespace %.*s's directory",
                              ANNOTATION_DIRECTORY, dir, (int) first, dir);
        if (out->tenant) {
                if (asprintf(&tenant_dir, "%s%s%s", ns, dir ? "/" : "", dir ?: "") < 0)
                        return -ENOMEM;
                dir = tenant_dir;
        }
        /* A tenant may not take over what seccompd did not write: that could be an admin's file. */
        bool adopt = text_is(d->adopt, "true") && !out->tenant;

        for (size_t i = 0; i < ELEMENTSOF(kinds[kind].fields); i++) {
                ObjectField field = kinds[kind].fields[i].field;
                const ObjectMap *m = d->fields + field;
                if (!m->present)
                        continue;
                if (!m->is_map) {
                        r = refuse(out, who, NULL, false, "%s is not a mapping", field_names[field]);
                        if (r < 0)
                                return r;
                        continue;
                }
                for (size_t k = 0; k < m->n; k++) {
                        r = decode_entry(out, who, dir, field, kinds[kind].fields[i].base64, m->entries + k,
                                         adopt);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

int object_decode(const ObjectDescription *d, const ObjectDecodeOptions *o, ObjectProfiles *ret)
{
        _cleanup_(object_profiles_clear) ObjectProfiles out = {};
        size_t kind = 0;

        while (kind < ELEMENTSOF(kinds) && !(d->kind && strcmp(d->kind, kinds[kind].kind) == 0))
                kind++;
        /* Other objects may share a manifest; unlabeled ones are not ours. */
        if (kind < ELEMENTSOF(kinds) && (!o->require_label || text_is(d->label, "true"))) {
                int r = decode(d, o, kind, &out);
                if (r < 0)
                        return r;
        }
        *ret = out;
        out = (ObjectProfiles){};
        return 0;
}
