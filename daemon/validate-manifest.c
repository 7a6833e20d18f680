/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shared/macro.h"
#include "sync/source.h"
#include "validate-manifest.h"

/* What a manifest's problems are called: stable, like the profile codes (docs/diagnostics.md). */
static const char *problem_code(SourceProblemKind k)
{
        switch (k) {
        case SOURCE_MANIFEST_REFUSED:
                return "manifest-unreadable";
        case SOURCE_OBJECT_REFUSED:
                return "object-refused";
        case SOURCE_OBJECT_UNLABELED:
                return "object-unlabeled";
        case SOURCE_OBJECT_LABEL_VALUE:
                return "object-label-value";
        case SOURCE_OBJECT_EMPTY:
                return "object-empty";
        case SOURCE_OBJECT_RECORDING:
                return "object-recording";
        case SOURCE_OBJECT_RECORDING_INCOMPLETE:
                return "object-recording-incomplete";
        default:
                return "manifest-unreadable";
        }
}

#define CODE_NO_PROFILE "manifest-no-profile"

typedef enum Level {
        LEVEL_HIDDEN,
        LEVEL_NOTE,
        LEVEL_WARNING,
        LEVEL_ERROR,
} Level;

static const char *const level_names[] = {
        [LEVEL_NOTE] = "note",
        [LEVEL_WARNING] = "warning",
        [LEVEL_ERROR] = "error",
};

/* How the objects the daemon ignores are reported here. A manifest (kubectl kustomize's output) may
 * hold ConfigMaps that are no business of seccompd's: one without the label counts only when a key
 * of it looks like a profile's, or when nothing else in the file is checked. A label that is not
 * "true" and a labeled object with nothing in it are always mistakes. A recording is no mistake but
 * a step (its profiles are checked): a note that says how to install it, a warning when the recorder
 * marked it incomplete. */
static Level note_level(const SourceProblem *n, const SourceSet *s)
{
        switch (n->kind) {
        case SOURCE_OBJECT_UNLABELED:
                return n->looks_like_profiles || s->n == 0 ? LEVEL_ERROR : LEVEL_HIDDEN;
        case SOURCE_OBJECT_RECORDING:
                return LEVEL_NOTE;
        case SOURCE_OBJECT_RECORDING_INCOMPLETE:
                return LEVEL_WARNING;
        default:
                return LEVEL_ERROR;
        }
}

typedef struct Shown {
        const SourceProblem *problem;
        Level level;
} Shown;

static int compare_problems(const void *a, const void *b)
{
        const SourceProblem *x = ((const Shown *) a)->problem, *y = ((const Shown *) b)->problem;
        if (x->line != y->line)
                return x->line < y->line ? -1 : 1;
        return x->column < y->column ? -1 : x->column > y->column;
}

static json_t *object_to_json(const SourceObject *o)
{
        return json_pack("{s:s, s:s?, s:s?}", "kind", o->kind, "namespace", o->namespace, "name", o->name);
}

static json_t *position(unsigned n)
{
        return n > 0 ? json_integer(n) : json_null();
}

static void print_problem(const char *file, Level level, const char *code, unsigned line, unsigned column,
                          const char *text)
{
        if (line > 0)
                printf("%s:%u:%u: %s: %s [%s]\n", file, line, column, level_names[level], text, code);
        else
                printf("%s: %s: %s [%s]\n", file, level_names[level], text, code);
}

/* The file's own problems and those of its objects: lines, or the manifest's entry in --json. Returns
 * how many errors and warnings the file has beside its profiles'. */
static int report_problems(ValidateRun *run, const char *file, const SourceSet *s, size_t *ret_errors,
                           size_t *ret_warnings)
{
        size_t n = 0, errors = 0, warnings = 0;
        _cleanup_free_ Shown *list = calloc(s->n_errors + s->n_notes + 1, sizeof(Shown));
        json_t *diags = NULL;

        if (!list)
                return -ENOMEM;
        for (size_t i = 0; i < s->n_errors; i++)
                list[n++] = (Shown){s->errors + i, LEVEL_ERROR};
        for (size_t i = 0; i < s->n_notes; i++) {
                Level l = note_level(s->notes + i, s);
                if (l != LEVEL_HIDDEN)
                        list[n++] = (Shown){s->notes + i, l};
        }
        qsort(list, n, sizeof(Shown), compare_problems);
        for (size_t i = 0; i < n; i++) {
                errors += list[i].level == LEVEL_ERROR;
                warnings += list[i].level == LEVEL_WARNING;
        }

        static const char no_profile[] = "no ConfigMap or Secret in it, so seccompd installs nothing from "
                                         "this file; it reads the ConfigMaps and Secrets labeled "
                                         "seccompd.io/profile: \"true\"";
        bool none = n == 0 && s->n == 0;
        bool invalid = errors > 0 || none || (run->strict && warnings > 0);
        if (invalid)
                run->any_invalid = true;
        *ret_errors = errors + none;
        *ret_warnings = warnings;

        if (!run->files) {
                for (size_t i = 0; i < n; i++)
                        print_problem(file, list[i].level, problem_code(list[i].problem->kind),
                                      list[i].problem->line, list[i].problem->column, list[i].problem->text);
                if (none)
                        print_problem(file, LEVEL_ERROR, CODE_NO_PROFILE, 0, 0, no_profile);
                return 0;
        }

        diags = json_array();
        for (size_t i = 0; diags && i < n; i++) {
                const SourceProblem *p = list[i].problem;
                json_t *d =
                        json_pack("{s:s, s:s, s:s, s:n, s:n, s:o, s:o, s:s}", "severity",
                                  level_names[list[i].level], "code", problem_code(p->kind), "path",
                                  p->at ?: "", "line", "column", "manifestLine", position(p->line),
                                  "manifestColumn", position(p->line ? p->column : 0), "message", p->text);
                if (d && p->object.kind)
                        json_object_set_new(d, "object", object_to_json(&p->object));
                if (!d || json_array_append_new(diags, d) < 0) {
                        json_decref(diags);
                        return -ENOMEM;
                }
        }
        if (diags && none)
                json_array_append_new(diags, json_pack("{s:s, s:s, s:s, s:n, s:n, s:n, s:n, s:s}",
                                                       "severity", "error", "code", CODE_NO_PROFILE, "path",
                                                       "", "line", "column", "manifestLine",
                                                       "manifestColumn", "message", no_profile));
        json_t *entry =
                diags ? json_pack("{s:s, s:b, s:b, s:I, s:o}", "file", file, "manifest", true, "valid",
                                  !invalid, "profiles", (json_int_t) s->n, "diagnostics", diags)
                      : NULL;
        if (!entry || json_array_append_new(run->files, entry) < 0)
                return -ENOMEM;
        return 0;
}

/* "ConfigMap apps/team data[a.json]": the origin without the file, which the line already names. */
static const char *origin_text(const char *file, const SourceProfile *p)
{
        size_t n = strlen(file);
        return strncmp(p->origin, file, n) == 0 && strncmp(p->origin + n, ": ", 2) == 0 ? p->origin + n + 2
                                                                                        : p->origin;
}

/* Where a diagnostic of the profile is in the manifest, and whether exactly there. */
static bool manifest_position(const SourceProfile *p, const Diagnostic *d, unsigned *ret_line,
                              unsigned *ret_column)
{
        if (d->line > 0 && p->place.verbatim_line > 0) {
                *ret_line = p->place.verbatim_line + d->line - 1;
                *ret_column = p->place.verbatim_column + d->column - 1;
                return true;
        }
        *ret_line = p->place.line;
        *ret_column = p->place.column;
        return false;
}

static int report_profile(ValidateRun *run, const char *file, const SourceProfile *p, const Verdict *v)
{
        const char *origin = origin_text(file, p);
        bool invalid =
                !v->valid || (run->strict && diagnostics_count(&v->diagnostics, SEVERITY_WARNING) > 0);
        unsigned line, column;

        run->any_invalid = run->any_invalid || invalid;
        if (!run->files) {
                /* The same verdict with the manifest's positions; where they are the key's, the
                 * profile's own position stays in the message. */
                Verdict mapped = *v;
                mapped.diagnostics = (Diagnostics){};
                for (size_t i = 0; i < v->diagnostics.n; i++) {
                        const Diagnostic *d = v->diagnostics.items + i;
                        bool exact = manifest_position(p, d, &line, &column);
                        if (exact || d->line == 0)
                                diag_add(&mapped.diagnostics, d->code, d->path, line, column, "%s: %s",
                                         origin, d->message);
                        else
                                diag_add(&mapped.diagnostics, d->code, d->path, line, column, "%s:%u:%u: %s",
                                         origin, d->line, d->column, d->message);
                }
                int r = diagnostics_done(&mapped.diagnostics);
                if (r >= 0)
                        print_human(p->origin, &mapped, run->options, run->strict, file);
                diagnostics_clear(&mapped.diagnostics);
                return r;
        }

        json_t *entry = verdict_to_json(file, v, run->strict);
        json_t *diags = json_object_get(entry, "diagnostics"), *object = object_to_json(&p->object);
        if (!entry || !object) {
                json_decref(entry);
                json_decref(object);
                return -ENOMEM;
        }
        for (size_t i = 0; i < v->diagnostics.n && i < json_array_size(diags); i++) {
                json_t *d = json_array_get(diags, i);
                (void) manifest_position(p, v->diagnostics.items + i, &line, &column);
                json_object_set_new(d, "manifestLine", position(line));
                json_object_set_new(d, "manifestColumn", position(line ? column : 0));
        }
        json_object_set_new(entry, "origin", json_string(origin));
        json_object_set_new(entry, "object", object);
        json_object_set_new(entry, "field", json_string(object_field_to_string(p->field)));
        json_object_set_new(entry, "key", json_string(p->key));
        return json_array_append_new(run->files, entry) < 0 ? -ENOMEM : 0;
}

int validate_manifest(ValidateRun *run, const char *file, const char *buf, size_t len)
{
        /* A recording's profiles are checked as they will be installed once it is labeled. */
        SourceSet s = {.complete = true, .read_recordings = true};
        size_t errors = 0, warnings = 0;
        int r = source_read_manifest(file, buf, len, &s);

        if (r >= 0)
                r = report_problems(run, file, &s, &errors, &warnings);
        for (size_t i = 0; r >= 0 && i < s.n; i++) {
                Verdict v;
                r = profile_validate_cached(run->cache, s.items[i].bytes, s.items[i].len, run->options, &v,
                                            NULL);
                if (r < 0)
                        break;
                r = report_profile(run, file, s.items + i, &v);
                verdict_clear(&v);
        }
        if (r >= 0 && errors > 0 && !run->files)
                printf("%s: INVALID manifest: %zu error%s in the file or its objects, %zu profile%s "
                       "checked\n",
                       file, errors, errors == 1 ? "" : "s", s.n, s.n == 1 ? "" : "s");
        else if (r >= 0 && run->strict && warnings > 0 && !run->files)
                printf("%s: INVALID manifest with --strict: %zu warning%s in the file or its objects, %zu "
                       "profile%s checked\n",
                       file, warnings, warnings == 1 ? "" : "s", s.n, s.n == 1 ? "" : "s");
        source_set_clear(&s);
        return r;
}

bool validate_text_is_manifest(const char *buf, size_t len)
{
        size_t i = len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0 ? 3 : 0;

        while (i < len && strchr(" \t\r\n", buf[i]) && buf[i] != 0)
                i++;
        if (i == len)
                return false; /* nothing: reported as a profile that is not JSON */
        if (buf[i] == '[')
                return false; /* a JSON array: a profile that is not an object */
        if (buf[i] != '{')
                return true; /* "apiVersion:", "---", a comment: YAML */
        /* A JSON object: a Kubernetes object names both. A profile never has them (and one that does
         * not parse here is read as the profile it was meant to be, with its syntax error). */
        json_t *doc = json_loadb(buf, len, 0, NULL);
        bool object = json_is_string(json_object_get(doc, "apiVersion")) &&
                      json_is_string(json_object_get(doc, "kind"));
        json_decref(doc);
        return object;
}
