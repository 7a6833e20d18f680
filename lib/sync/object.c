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
        /* Doubling: an object may have tens of thousands of keys, and growing by one copies the array
         * each time (cheap in glibc, minutes under AddressSanitizer, which copies and poisons). */
        if (m->n == m->allocated) {
                size_t a = m->allocated ? m->allocated * 2 : 16;
                ObjectEntry *e = reallocarray(m->entries, a, sizeof(ObjectEntry));
                if (!e)
                        return -ENOMEM;
                m->entries = e;
                m->allocated = a;
        }
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
                free(p->refusals[i].at);
                free(p->refusals[i].path);
        }
        free(p->refusals);
        free(p->ignored);
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

/* What is refused, and where it is in a manifest. */
typedef struct Refused {
        const char *at; /* "data[a.json]", ... */
        unsigned line, column;
} Refused;

/* who: "[WHERE: ]Kind ns/name", the start of every message. */
_printf_(6, 7) static int refuse(ObjectProfiles *out, const char *who, Refused at, const char *path,
                                 bool whole_object, const char *fmt, ...)
{
        _cleanup_free_ char *what = NULL, *message = NULL, *p = NULL, *a = NULL;
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&what, fmt, ap);
        va_end(ap);
        if (r < 0 || asprintf(&message, "%s: %s", who, what) < 0 || (path && !(p = strdup(path))) ||
            !(a = strdup(at.at)))
                return -ENOMEM;
        ObjectRefusal *list = realloc(out->refusals, (out->n_refusals + 1) * sizeof(ObjectRefusal));
        if (!list)
                return -ENOMEM;
        out->refusals = list;
        out->refusals[out->n_refusals++] = (ObjectRefusal){
                .message = TAKE_PTR(message),
                .at = TAKE_PTR(a),
                .line = at.line,
                .column = at.column,
                .path = TAKE_PTR(p),
                .whole_object = whole_object,
        };
        return 0;
}

/* One key: refused with a message, or one profile more in out. */
static int decode_entry(ObjectProfiles *out, const char *who, const char *dir, ObjectField field,
                        bool base64, const ObjectEntry *e, bool adopt)
{
        const char *f = field_names[field], *why;
        _cleanup_free_ char *path = NULL, *origin = NULL, *bytes = NULL, *at_key = NULL;
        Refused at = {.at = f, .line = e->key.line, .column = e->key.column};
        size_t len;
        int r;

        if (!e->key.value)
                return refuse(out, who, at, NULL, false, "%s: a key that is not a string", f);
        /* Printed with %s, a key is cut at its first NUL: that is the name the refusal shows. */
        const char *key = e->key.value;
        if (asprintf(&at_key, "%s[%s]", f, key) < 0)
                return -ENOMEM;
        at.at = at_key;
        if (text_has_nul(e->key))
                return refuse(out, who, at, NULL, false, "%s: the key holds a NUL byte", at_key);
        if ((why = profile_file_name_invalid(key)))
                return refuse(out, who, at, NULL, false, "%s: %s", at_key, why);
        r = profile_target_path(dir, key, &path);
        if (r < 0)
                return r;
        if (!e->is_string)
                return refuse(out, who, at, path, false, "%s: the value is not a string", at_key);
        if (text_has_nul(e->value))
                return refuse(out, who, at, path, false, "%s: the value holds a NUL byte", at_key);
        if (base64) {
                uint8_t *b = NULL;
                r = base64_decode(e->value.value, e->value.len, &b, &len);
                if (r == -EINVAL)
                        return refuse(out, who, at, path, false, "%s: not valid base64", at_key);
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
                /* Decoded bytes are not the text: positions in them map to no place in the file. */
                .place = {.line = e->key.line,
                          .column = e->key.column,
                          .verbatim_line = base64 ? 0 : e->value.verbatim_line,
                          .verbatim_column = base64 ? 0 : e->value.verbatim_column},
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

static int decode(const ObjectDescription *d, const ObjectDecodeOptions *o, size_t kind, const char *who,
                  ObjectProfiles *out)
{
        _cleanup_free_ char *tenant_dir = NULL;
        const char *ns = d->namespace, *dir = d->directory.value, *why;
        int r;

        out->tenant = ns && is_tenant(o, ns, strlen(ns));

        if (dir && d->directory.len == 0)
                dir = NULL;
        if (text_has_nul(d->directory))
                why = "the value holds a NUL byte";
        else
                why = profile_directory_invalid(dir);
        Refused annotation = {.at = "metadata.annotations[" ANNOTATION_DIRECTORY "]",
                              .line = d->directory.line,
                              .column = d->directory.column};
        if (why)
                return refuse(out, who, annotation, NULL, true, "annotation %s \"%s\": %s",
                              ANNOTATION_DIRECTORY, dir, why);
        size_t first = dir ? strcspn(dir, "/") : 0;
        if (!out->tenant && dir && is_tenant(o, dir, first))
                /* An admin object may not write into a tenant's directory, nor a tenant into another's:
                 * tenants are forced under their own namespace, admins kept out of all of them. */
                return refuse(out, who, annotation, NULL, true,
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
                        r = refuse(out, who, (Refused){field_names[field], m->line, m->column}, NULL, false,
                                   "%s is not a mapping", field_names[field]);
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

/* "data and binaryData (base64)": what is read of a kind, for a person. */
static void kind_fields(size_t kind, const char *conjunction, char buf[static 64])
{
        (void) snprintf(buf, 64, "%s%s %s %s%s", field_names[kinds[kind].fields[0].field],
                        kinds[kind].fields[0].base64 ? " (base64)" : "", conjunction,
                        field_names[kinds[kind].fields[1].field],
                        kinds[kind].fields[1].base64 ? " (base64)" : "");
}

static bool has_suffix(ObjectText t, const char *suffix)
{
        size_t n = strlen(suffix);
        return t.value && t.len >= n && memcmp(t.value + t.len - n, suffix, n) == 0;
}

/* Text of a manifest for a line of output, at most max bytes: a control character (a newline that
 * would forge a line, an escape sequence) becomes '?'. */
static void printable(ObjectText t, char *buf, size_t max)
{
        size_t n = t.value ? MIN(t.len, max - 1) : 0;
        for (size_t i = 0; i < n; i++)
                buf[i] = (unsigned char) t.value[i] < 0x20 || t.value[i] == 0x7f ? '?' : t.value[i];
        buf[n] = 0;
}

/* What the recorder wrote: said as what it is, and how to install it, never as a mistake; an
 * incomplete one with why, since a workload under it may make a call it lacks. */
static int explain_recording(const ObjectDescription *d, const char *who, ObjectProfiles *out)
{
        char name[64], reason[256];
        _cleanup_free_ char *command = NULL;

        printable(d->recording, name, sizeof(name));
        printable(d->recording_reason, reason, sizeof(reason));
        if (asprintf(&command, "`kubectl label configmap %s%s%s %s=true`", d->name ?: "NAME",
                     d->namespace ? " -n " : "", d->namespace ?: "", LABEL_PROFILE) < 0)
                return -ENOMEM;
        int r = out->status == OBJECT_RECORDING_INCOMPLETE
                        ? asprintf(&out->ignored,
                                   "%s: an incomplete recording of \"%s\" (%s: \"false\"): %s; a container "
                                   "under it may fail on a call the recording missed. Not installed: "
                                   "seccompd "
                                   "installs only objects labeled %s: \"true\"; once the recording is "
                                   "complete, %s installs it",
                                   who, name, ANNOTATION_RECORDING_COMPLETE,
                                   *reason ? reason
                                           : "no reason given (" ANNOTATION_RECORDING_INCOMPLETE ")",
                                   LABEL_PROFILE, command)
                        : asprintf(&out->ignored,
                                   "%s: a%s recording of \"%s\" (%s), not installed: seccompd installs only "
                                   "objects labeled %s: \"true\"; %s installs it",
                                   who, text_is(d->recording_complete, "true") ? " complete" : "", name,
                                   LABEL_RECORDING, LABEL_PROFILE, command);
        return r < 0 ? -ENOMEM : 0;
}

/* Why an object of a kind seccompd reads gives nothing, and what would make it give profiles: said
 * by the decoder, which knows the rules, for seccompd validate to print. */
static int explain_ignored(const ObjectDescription *d, size_t kind, const char *who, ObjectProfiles *out)
{
        char fields[64];
        int r;

        if (out->status == OBJECT_RECORDING || out->status == OBJECT_RECORDING_INCOMPLETE)
                return explain_recording(d, who, out);

        kind_fields(kind, out->status == OBJECT_EMPTY ? "or" : "and", fields);
        for (size_t i = 0; i < ELEMENTSOF(kinds[kind].fields); i++) {
                const ObjectMap *m = d->fields + kinds[kind].fields[i].field;
                for (size_t k = 0; k < m->n; k++)
                        out->looks_like_profiles =
                                out->looks_like_profiles || has_suffix(m->entries[k].key, ".json");
        }
        /* The API server's selector skips Secrets unless seccompd run --source kube has --secrets. */
        const char *secrets = strcmp(kinds[kind].kind, "Secret") == 0
                                      ? "; from the API, Secrets are read only with seccompd run --secrets"
                                      : "";
        switch (out->status) {
        case OBJECT_UNLABELED:
                r = asprintf(
                        &out->ignored,
                        "%s: not labeled %s: \"true\", so seccompd installs nothing from it; add the label "
                        "(metadata.labels, the value exactly \"true\"), and each key of %s is then one "
                        "profile, its name ending in \".json\"%s",
                        who, LABEL_PROFILE, fields, secrets);
                break;
        case OBJECT_LABEL_VALUE:
                r = asprintf(
                        &out->ignored,
                        "%s: label %s is \"%.*s\", not \"true\", so seccompd installs nothing from it; the "
                        "value must be exactly \"true\" (%s: \"true\"), and each key of %s is then one "
                        "profile, its name ending in \".json\"%s",
                        who, LABEL_PROFILE, (int) MIN(d->label.len, (size_t) 64), d->label.value,
                        LABEL_PROFILE, fields, secrets);
                break;
        default:
                if (d->recording.value && !d->label.value) {
                        char name[64];
                        printable(d->recording, name, sizeof(name));
                        r = asprintf(&out->ignored,
                                     "%s: a recording of \"%s\" (%s) with no key in %s, so there is no "
                                     "profile to install from it",
                                     who, name, LABEL_RECORDING, fields);
                        break;
                }
                r = asprintf(&out->ignored,
                             "%s: labeled %s: \"true\" but no key in %s, so seccompd has no profile to "
                             "install from it",
                             who, LABEL_PROFILE, fields);
                break;
        }
        return r < 0 ? -ENOMEM : 0;
}

int object_decode(const ObjectDescription *d, const ObjectDecodeOptions *o, ObjectProfiles *ret)
{
        _cleanup_(object_profiles_clear) ObjectProfiles out = {};
        _cleanup_free_ char *who = NULL;
        const char *ns = d->namespace;
        size_t kind = 0;
        int r;

        while (kind < ELEMENTSOF(kinds) && !(d->kind && strcmp(d->kind, kinds[kind].kind) == 0))
                kind++;
        if (kind == ELEMENTSOF(kinds)) {
                /* Other objects may share a manifest. */
                out.status = OBJECT_OTHER_KIND;
                goto done;
        }
        if (asprintf(&who, "%s%s%s %s%s%s", o->where ?: "", o->where ? ": " : "", d->kind, ns ?: "",
                     ns ? "/" : "", d->name ?: "?") < 0)
                return -ENOMEM;
        /* Unlabeled ones are not ours: no refusal, but validate says why. A recording is not ours yet:
         * validate checks its profiles as they will be once someone labels it. */
        if (o->require_label && !d->label.value && d->recording.value && strcmp(d->kind, "ConfigMap") == 0) {
                out.status = text_is(d->recording_complete, "false") ? OBJECT_RECORDING_INCOMPLETE
                                                                     : OBJECT_RECORDING;
                if (o->read_recordings) {
                        r = decode(d, o, kind, who, &out);
                        if (r < 0)
                                return r;
                        if (out.n == 0 && out.n_refusals == 0)
                                out.status = OBJECT_EMPTY;
                }
        } else if (o->require_label && !text_is(d->label, "true"))
                out.status = d->label.value ? OBJECT_LABEL_VALUE : OBJECT_UNLABELED;
        else {
                r = decode(d, o, kind, who, &out);
                if (r < 0)
                        return r;
                if (out.n == 0 && out.n_refusals == 0)
                        out.status = OBJECT_EMPTY;
        }
        if (out.status != OBJECT_DECODED) {
                r = explain_ignored(d, kind, who, &out);
                if (r < 0)
                        return r;
        }
done:
        *ret = out;
        out = (ObjectProfiles){};
        return 0;
}
