/* SPDX-License-Identifier: Apache-2.0 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "profile.h"
#include "shared/edit-distance.h"

/* A small table-driven decoder: one descriptor per Go struct field, so Go's matching, duplicate and
 * null rules are written once. */

typedef enum FieldKind {
        FIELD_STRING,
        FIELD_UINT,
        FIELD_UINT_PTR, /* Go *uint: null clears it */
        FIELD_STRINGS,
        FIELD_STRUCT,
        FIELD_STRUCTS,
        FIELD_KERNEL, /* moby KernelVersion: its own UnmarshalJSON, checked later */
} FieldKind;

typedef struct StructDesc StructDesc;

typedef struct FieldDesc {
        const char *name;
        FieldKind kind;
        size_t offset;
        size_t loc_offset;
        size_t value_offset; /* FIELD_UINT_PTR: where the pointed-to value lives */
        const StructDesc *sub;
} FieldDesc;

struct StructDesc {
        const char *go_type; /* for messages, as Go names it */
        size_t size;
        size_t loc_offset; /* Loc of the whole object */
        const FieldDesc *fields;
        size_t n_fields;
};

/* Every array of structs in the model is { T *items; size_t n; }. */
typedef struct AnyArray {
        void *items;
        size_t n;
} AnyArray;

#define F(type, field, kind_) .offset = offsetof(type, field), .kind = kind_

static const FieldDesc arg_fields[] = {
        {"index", F(ProfileArg, index, FIELD_UINT), .loc_offset = offsetof(ProfileArg, loc_index)},
        {"value", F(ProfileArg, value, FIELD_UINT), .loc_offset = offsetof(ProfileArg, loc_value)},
        {"valueTwo", F(ProfileArg, value_two, FIELD_UINT),
         .loc_offset = offsetof(ProfileArg, loc_value_two)},
        {"op", F(ProfileArg, op, FIELD_STRING), .loc_offset = offsetof(ProfileArg, loc_op)},
};
static const StructDesc arg_desc = {"LinuxSeccompArg", sizeof(ProfileArg), offsetof(ProfileArg, loc),
                                    arg_fields, ELEMENTSOF(arg_fields)};

static const FieldDesc filter_fields[] = {
        {"caps", F(ProfileFilter, caps, FIELD_STRINGS), .loc_offset = offsetof(ProfileFilter, loc_caps)},
        {"arches", F(ProfileFilter, arches, FIELD_STRINGS),
         .loc_offset = offsetof(ProfileFilter, loc_arches)},
        {"minKernel", F(ProfileFilter, min_kernel, FIELD_KERNEL),
         .loc_offset = offsetof(ProfileFilter, loc_min_kernel)},
};
static const StructDesc filter_desc = {"Filter", sizeof(ProfileFilter), offsetof(ProfileFilter, loc),
                                       filter_fields, ELEMENTSOF(filter_fields)};

static const FieldDesc rule_fields[] = {
        {"name", F(ProfileRule, name, FIELD_STRING), .loc_offset = offsetof(ProfileRule, loc_name)},
        {"names", F(ProfileRule, names, FIELD_STRINGS), .loc_offset = offsetof(ProfileRule, loc_names)},
        {"action", F(ProfileRule, action, FIELD_STRING), .loc_offset = offsetof(ProfileRule, loc_action)},
        {"errnoRet", F(ProfileRule, errno_ret, FIELD_UINT_PTR),
         .loc_offset = offsetof(ProfileRule, loc_errno_ret),
         .value_offset = offsetof(ProfileRule, errno_ret_value)},
        {"errno", F(ProfileRule, errno_name, FIELD_STRING),
         .loc_offset = offsetof(ProfileRule, loc_errno_name)},
        {"args", F(ProfileRule, args, FIELD_STRUCTS), .loc_offset = offsetof(ProfileRule, loc_args),
         .sub = &arg_desc},
        {"comment", F(ProfileRule, comment, FIELD_STRING), .loc_offset = offsetof(ProfileRule, loc_comment)},
        {"includes", F(ProfileRule, includes, FIELD_STRUCT), .sub = &filter_desc},
        {"excludes", F(ProfileRule, excludes, FIELD_STRUCT), .sub = &filter_desc},
};
static const StructDesc rule_desc = {"Syscall", sizeof(ProfileRule), offsetof(ProfileRule, loc), rule_fields,
                                     ELEMENTSOF(rule_fields)};

static const FieldDesc archmap_fields[] = {
        {"architecture", F(ArchMapEntry, architecture, FIELD_STRING),
         .loc_offset = offsetof(ArchMapEntry, loc_architecture)},
        {"subArchitectures", F(ArchMapEntry, sub_architectures, FIELD_STRINGS),
         .loc_offset = offsetof(ArchMapEntry, loc_sub_architectures)},
};
static const StructDesc archmap_desc = {"Architecture", sizeof(ArchMapEntry), offsetof(ArchMapEntry, loc),
                                        archmap_fields, ELEMENTSOF(archmap_fields)};

static const FieldDesc profile_fields[] = {
        {"defaultAction", F(Profile, default_action, FIELD_STRING),
         .loc_offset = offsetof(Profile, loc_default_action)},
        {"defaultErrnoRet", F(Profile, default_errno_ret, FIELD_UINT_PTR),
         .loc_offset = offsetof(Profile, loc_default_errno_ret),
         .value_offset = offsetof(Profile, default_errno_ret_value)},
        {"defaultErrno", F(Profile, default_errno_name, FIELD_STRING),
         .loc_offset = offsetof(Profile, loc_default_errno_name)},
        {"architectures", F(Profile, architectures, FIELD_STRINGS),
         .loc_offset = offsetof(Profile, loc_architectures)},
        {"archMap", F(Profile, arch_map, FIELD_STRUCTS), .loc_offset = offsetof(Profile, loc_arch_map),
         .sub = &archmap_desc},
        {"flags", F(Profile, flags, FIELD_STRINGS), .loc_offset = offsetof(Profile, loc_flags)},
        {"listenerPath", F(Profile, listener_path, FIELD_STRING),
         .loc_offset = offsetof(Profile, loc_listener_path)},
        {"listenerMetadata", F(Profile, listener_metadata, FIELD_STRING),
         .loc_offset = offsetof(Profile, loc_listener_metadata)},
        {"syscalls", F(Profile, syscalls, FIELD_STRUCTS), .loc_offset = offsetof(Profile, loc_syscalls),
         .sub = &rule_desc},
};
static const StructDesc profile_desc = {"Seccomp", sizeof(Profile), SIZE_MAX, profile_fields,
                                        ELEMENTSOF(profile_fields)};

typedef struct Decoder {
        Diagnostics *diags;
        int error; /* -ENOMEM */
} Decoder;

static void *at(void *base, size_t offset)
{
        return (char *) base + offset;
}

static void set_loc(void *obj, size_t loc_offset, const JsonValue *v)
{
        if (loc_offset != SIZE_MAX && loc_offset != 0)
                *(Loc *) at(obj, loc_offset) = (Loc){v->line, v->column};
}

/* Go's key folding (encoding/json foldName): ASCII letters without case, and the two non-ASCII runes
 * that fold onto ASCII letters: U+017F LATIN SMALL LETTER LONG S and U+212A KELVIN SIGN. Returns false
 * when the key cannot equal the (ASCII) field name. */
static bool key_equal_fold(const char *key, size_t key_len, const char *field)
{
        const unsigned char *k = (const unsigned char *) key, *end = k + key_len;
        for (const char *f = field; *f; f++) {
                char fc = (char) (*f | 0x20);
                if (k >= end)
                        return false;
                if (*k < 0x80) {
                        char kc = (char) *k;
                        if (kc >= 'A' && kc <= 'Z')
                                kc = (char) (kc | 0x20);
                        if (kc != fc)
                                return false;
                        k++;
                } else if (end - k >= 2 && k[0] == 0xc5 && k[1] == 0xbf && fc == 's')
                        k += 2;
                else if (end - k >= 3 && k[0] == 0xe2 && k[1] == 0x84 && k[2] == 0xaa && fc == 'k')
                        k += 3;
                else
                        return false;
        }
        return k == end;
}

static const char *article(JsonType t)
{
        return t == JSON_ARRAY || t == JSON_OBJECT ? "an" : "a";
}

static void type_error(Decoder *dc, const char *path, const JsonValue *v, const char *expected,
                       const StructDesc *parent, const char *field)
{
        diag_add(dc->diags, DIAG_JSON_TYPE, path, v->line, v->column,
                 "%s: expected %s, found %s %s; every runtime fails to decode the profile "
                 "(\"json: cannot unmarshal %s into Go struct field %s.%s\")",
                 path, expected, article(v->type), json_type_to_string(v->type),
                 json_type_to_string(v->type), parent ? parent->go_type : "Seccomp", field);
}

static void decode_struct(Decoder *dc, const StructDesc *sd, void *obj, const JsonValue *v,
                          const char *path);

static void decode_uint(Decoder *dc, const char *path, const JsonValue *v, uint64_t *out)
{
        uint64_t n;
        switch (json_number_to_u64(v, UINT64_MAX, &n)) {
        case JSON_INT_OK:
                *out = n;
                return;
        case JSON_INT_NEGATIVE:
                diag_add(dc->diags, DIAG_JSON_INTEGER, path, v->line, v->column,
                         "%s: %s is negative; the field is unsigned and Go's decoder refuses it (write a "
                         "value "
                         "such as AT_FDCWD as its 64-bit two's complement, e.g. 18446744073709551516 for "
                         "-100)",
                         path, v->number.text);
                return;
        case JSON_INT_NOT_INTEGER:
                diag_add(dc->diags, DIAG_JSON_INTEGER, path, v->line, v->column,
                         "%s: %s is not an integer literal; Go's decoder refuses fractions and exponents",
                         path, v->number.text);
                return;
        case JSON_INT_RANGE:
                diag_add(dc->diags, DIAG_JSON_INTEGER, path, v->line, v->column,
                         "%s: %s does not fit in 64 bits", path, v->number.text);
                return;
        }
}

static void decode_strings(Decoder *dc, const char *path, const JsonValue *v, StringList *l,
                           const StructDesc *parent, const char *field)
{
        char p[512];

        if (v->type == JSON_NULL) {
                free(l->items);
                free(l->locs);
                *l = (StringList){};
                return;
        }
        if (v->type != JSON_ARRAY) {
                type_error(dc, path, v, "an array of strings", parent, field);
                return;
        }
        /* Go decodes into the existing slice: elements beyond the new length are dropped, elements
         * below it are overwritten, except by null. */
        size_t n = v->array.n;
        const char **items = realloc(l->items, MAX(n, (size_t) 1) * sizeof(char *));
        if (!items) {
                dc->error = -ENOMEM;
                return;
        }
        l->items = items;
        Loc *locs = realloc(l->locs, MAX(n, (size_t) 1) * sizeof(Loc));
        if (!locs) {
                dc->error = -ENOMEM;
                return;
        }
        l->locs = locs;
        for (size_t i = l->n; i < n; i++) {
                l->items[i] = "";
                l->locs[i] = (Loc){};
        }
        l->n = n;
        l->non_null = true;
        for (size_t i = 0; i < n; i++) {
                const JsonValue *e = v->array.items[i];
                if (e->type == JSON_NULL)
                        continue;
                if (e->type != JSON_STRING) {
                        (void) snprintf(p, sizeof(p), "%s[%zu]", path, i);
                        type_error(dc, p, e, "a string", parent, field);
                        continue;
                }
                l->items[i] = e->string.s;
                l->locs[i] = (Loc){e->line, e->column};
        }
}

static void decode_structs(Decoder *dc, const FieldDesc *f, const char *path, const JsonValue *v,
                           AnyArray *a, const StructDesc *parent)
{
        const StructDesc *sd = f->sub;
        char p[512];

        if (v->type == JSON_NULL || v->type == JSON_ARRAY) {
                size_t n = v->type == JSON_NULL ? 0 : v->array.n;
                /* Free what the shrink drops: only the StringLists and nested arrays own memory. */
                for (size_t i = n; i < a->n; i++) {
                        void *e = at(a->items, i * sd->size);
                        for (size_t k = 0; k < sd->n_fields; k++) {
                                const FieldDesc *sf = sd->fields + k;
                                if (sf->kind == FIELD_STRINGS) {
                                        StringList *l = at(e, sf->offset);
                                        free(l->items);
                                        free(l->locs);
                                } else if (sf->kind == FIELD_STRUCTS)
                                        free(((AnyArray *) at(e, sf->offset))->items);
                                else if (sf->kind == FIELD_STRUCT)
                                        for (size_t m = 0; m < sf->sub->n_fields; m++)
                                                if (sf->sub->fields[m].kind == FIELD_STRINGS) {
                                                        StringList *l = at(at(e, sf->offset),
                                                                           sf->sub->fields[m].offset);
                                                        free(l->items);
                                                        free(l->locs);
                                                }
                        }
                }
                if (n == 0) {
                        free(a->items);
                        *a = (AnyArray){};
                        return;
                }
                void *items = realloc(a->items, n * sd->size);
                if (!items) {
                        dc->error = -ENOMEM;
                        return;
                }
                if (n > a->n)
                        memset(at(items, a->n * sd->size), 0, (n - a->n) * sd->size);
                /* A set *uint points into its own element (Go's pointer, our storage): realloc moved it. */
                for (size_t i = 0; i < MIN(n, a->n); i++)
                        for (size_t k = 0; k < sd->n_fields; k++)
                                if (sd->fields[k].kind == FIELD_UINT_PTR) {
                                        void *e = at(items, i * sd->size);
                                        uint64_t **ptr = at(e, sd->fields[k].offset);
                                        if (*ptr)
                                                *ptr = at(e, sd->fields[k].value_offset);
                                }
                a->items = items;
                a->n = n;
                for (size_t i = 0; i < n; i++) {
                        (void) snprintf(p, sizeof(p), "%s[%zu]", path, i);
                        decode_struct(dc, sd, at(items, i * sd->size), v->array.items[i], p);
                }
                return;
        }
        type_error(dc, path, v, "an array of objects", parent, f->name);
}

static void decode_field(Decoder *dc, const StructDesc *parent, const FieldDesc *f, void *obj,
                         const JsonValue *v, const char *path)
{
        void *field = at(obj, f->offset);

        switch (f->kind) {
        case FIELD_STRING:
                if (v->type == JSON_STRING)
                        *(const char **) field = v->string.s;
                else if (v->type != JSON_NULL)
                        type_error(dc, path, v, "a string", parent, f->name);
                break;
        case FIELD_UINT:
                if (v->type == JSON_NUMBER)
                        decode_uint(dc, path, v, field);
                else if (v->type != JSON_NULL)
                        type_error(dc, path, v, "an unsigned integer", parent, f->name);
                break;
        case FIELD_UINT_PTR:
                if (v->type == JSON_NULL)
                        *(uint64_t **) field = NULL;
                else if (v->type == JSON_NUMBER) {
                        uint64_t *value = at(obj, f->value_offset);
                        size_t before = dc->diags->n;
                        decode_uint(dc, path, v, value);
                        if (dc->diags->n == before)
                                *(uint64_t **) field = value;
                } else
                        type_error(dc, path, v, "an unsigned integer", parent, f->name);
                break;
        case FIELD_STRINGS:
                decode_strings(dc, path, v, field, parent, f->name);
                break;
        case FIELD_STRUCT:
                decode_struct(dc, f->sub, field, v, path);
                break;
        case FIELD_STRUCTS:
                decode_structs(dc, f, path, v, field, parent);
                break;
        case FIELD_KERNEL: {
                ProfileFilter *flt = obj;
                flt->min_kernel_not_string = false;
                if (v->type == JSON_NULL)
                        flt->min_kernel = NULL;
                else if (v->type == JSON_STRING)
                        flt->min_kernel = v->string.s;
                else {
                        flt->min_kernel = NULL;
                        flt->min_kernel_not_string = true;
                }
                break;
        }
        }
}

static void decode_struct(Decoder *dc, const StructDesc *sd, void *obj, const JsonValue *v, const char *path)
{
        bool seen[16] = {};
        char p[512];

        if (v->type == JSON_NULL)
                return;
        if (v->type != JSON_OBJECT) {
                if (sd == &profile_desc)
                        diag_add(dc->diags, DIAG_JSON_TOP_LEVEL, "", v->line, v->column,
                                 "the profile is %s %s, not a JSON object; runtimes fail with \"cannot "
                                 "unmarshal %s into Go value of type Seccomp\"",
                                 article(v->type), json_type_to_string(v->type),
                                 json_type_to_string(v->type));
                else
                        diag_add(dc->diags, DIAG_JSON_TYPE, path, v->line, v->column,
                                 "%s: expected an object, found %s %s; every runtime fails to decode the "
                                 "profile",
                                 path, article(v->type), json_type_to_string(v->type));
                return;
        }
        set_loc(obj, sd->loc_offset, v);

        for (size_t i = 0; i < v->object.n; i++) {
                const JsonMember *m = v->object.members + i;
                const FieldDesc *f = NULL;
                bool exact = false;

                for (size_t k = 0; k < sd->n_fields && !f; k++)
                        if (strlen(sd->fields[k].name) == m->key_len &&
                            memcmp(sd->fields[k].name, m->key, m->key_len) == 0) {
                                f = sd->fields + k;
                                exact = true;
                        }
                for (size_t k = 0; k < sd->n_fields && !f; k++)
                        if (key_equal_fold(m->key, m->key_len, sd->fields[k].name))
                                f = sd->fields + k;

                if (!f) {
                        const char *best = NULL;
                        size_t best_d = 3;
                        for (size_t k = 0; k < sd->n_fields; k++) {
                                size_t d = edit_distance(m->key, sd->fields[k].name, 2);
                                if (d < best_d) {
                                        best_d = d;
                                        best = sd->fields[k].name;
                                }
                        }
                        (void) snprintf(p, sizeof(p), "%s%s%s", path, *path ? "." : "", m->key);
                        if (best)
                                diag_add(dc->diags, DIAG_UNKNOWN_KEY, p, m->line, m->column,
                                         "%s: unknown key \"%s\", silently ignored by every runtime; did "
                                         "you mean "
                                         "\"%s\"?",
                                         p, m->key, best);
                        else
                                diag_add(dc->diags, DIAG_UNKNOWN_KEY, p, m->line, m->column,
                                         "%s: unknown key \"%s\", silently ignored by every runtime", p,
                                         m->key);
                        continue;
                }

                (void) snprintf(p, sizeof(p), "%s%s%s", path, *path ? "." : "", f->name);
                if (!exact)
                        diag_add(dc->diags, DIAG_KEY_CASE, p, m->line, m->column,
                                 "%s: key \"%s\" matches \"%s\" only without case; Go runtimes accept it, "
                                 "crun "
                                 "reading it directly would not: spell it \"%s\"",
                                 p, m->key, f->name, f->name);
                size_t idx = (size_t) (f - sd->fields);
                if (seen[idx])
                        diag_add(dc->diags, DIAG_DUPLICATE_KEY, p, m->line, m->column,
                                 "%s: \"%s\" appears more than once in this object; runtimes keep the last "
                                 "one",
                                 p, f->name);
                seen[idx] = true;
                set_loc(obj, f->loc_offset, m->value);
                decode_field(dc, sd, f, obj, m->value, p);
        }
}

static void string_list_free(StringList *l)
{
        free(l->items);
        free(l->locs);
}

static void filter_free(ProfileFilter *f)
{
        string_list_free(&f->caps);
        string_list_free(&f->arches);
}

Profile *profile_free(Profile *p)
{
        if (!p)
                return NULL;
        string_list_free(&p->architectures);
        string_list_free(&p->flags);
        for (size_t i = 0; i < p->arch_map.n; i++)
                string_list_free(&p->arch_map.items[i].sub_architectures);
        free(p->arch_map.items);
        for (size_t i = 0; i < p->syscalls.n; i++) {
                ProfileRule *r = p->syscalls.items + i;
                string_list_free(&r->names);
                free(r->args.items);
                filter_free(&r->includes);
                filter_free(&r->excludes);
        }
        free(p->syscalls.items);
        json_doc_free(p->doc);
        free(p);
        return NULL;
}

int profile_parse(const char *buf, size_t len, Diagnostics *diags, Profile **ret)
{
        _cleanup_(profile_freep) Profile *p = NULL;
        JsonError err = {};
        int r;

        p = calloc(1, sizeof(Profile));
        if (!p)
                return -ENOMEM;
        r = json_parse(buf, len, &p->doc, &err);
        if (r == -EBADMSG) {
                diag_add(diags, DIAG_JSON_SYNTAX, "", err.line, err.column,
                         "not valid JSON: %s; runtimes fail with \"decoding seccomp profile failed\"",
                         err.message);
                return diagnostics_done(diags) ?: -EBADMSG;
        }
        if (r < 0)
                return r;

        Decoder dc = {.diags = diags};
        const JsonValue *root = json_doc_root(p->doc);
        decode_struct(&dc, &profile_desc, p, root, "");
        if (dc.error < 0)
                return dc.error;
        r = diagnostics_done(diags);
        if (r < 0)
                return r;
        /* Not an object (null decodes to an empty profile, as in Go): nothing further to check. */
        if (root->type != JSON_OBJECT && root->type != JSON_NULL)
                return -EBADMSG;
        *ret = TAKE_PTR(p);
        return 0;
}
