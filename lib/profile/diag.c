/* SPDX-License-Identifier: Apache-2.0 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "diag.h"

static const struct {
        const char *name;
        Severity severity;
} codes[_DIAG_MAX] = {
        [DIAG_JSON_SYNTAX] = {"json-syntax", SEVERITY_ERROR},
        [DIAG_JSON_TOO_LARGE] = {"json-too-large", SEVERITY_ERROR},
        [DIAG_JSON_TOP_LEVEL] = {"json-top-level", SEVERITY_ERROR},
        [DIAG_JSON_TYPE] = {"json-type", SEVERITY_ERROR},
        [DIAG_JSON_INTEGER] = {"json-integer", SEVERITY_ERROR},
        [DIAG_DEFAULT_ACTION_MISSING] = {"default-action-missing", SEVERITY_ERROR},
        [DIAG_UNKNOWN_ACTION] = {"unknown-action", SEVERITY_ERROR},
        [DIAG_UNKNOWN_OPERATOR] = {"unknown-operator", SEVERITY_ERROR},
        [DIAG_UNKNOWN_ARCH] = {"unknown-arch", SEVERITY_ERROR},
        [DIAG_UNSUPPORTED_ARCH] = {"unsupported-arch", SEVERITY_ERROR},
        [DIAG_UNKNOWN_FLAG] = {"unknown-flag", SEVERITY_ERROR},
        [DIAG_RULE_NO_NAMES] = {"rule-no-names", SEVERITY_ERROR},
        [DIAG_RULE_EMPTY_NAME] = {"rule-empty-name", SEVERITY_ERROR},
        [DIAG_RULE_NAME_AND_NAMES] = {"rule-name-and-names", SEVERITY_ERROR},
        [DIAG_ARCH_AND_ARCHMAP] = {"arch-and-archmap", SEVERITY_ERROR},
        [DIAG_ARG_INDEX] = {"arg-index", SEVERITY_ERROR},
        [DIAG_ARG_COUNT] = {"arg-count", SEVERITY_ERROR},
        [DIAG_ERRNO_WRONG_ACTION] = {"errno-wrong-action", SEVERITY_ERROR},
        [DIAG_ERRNO_RANGE] = {"errno-range", SEVERITY_ERROR},
        [DIAG_UNKNOWN_ERRNO] = {"unknown-errno", SEVERITY_ERROR},
        [DIAG_NOTIFY_NOT_ALLOWED] = {"notify-not-allowed", SEVERITY_ERROR},
        [DIAG_NOTIFY_DEFAULT] = {"notify-default", SEVERITY_ERROR},
        [DIAG_NOTIFY_WRITE] = {"notify-write", SEVERITY_ERROR},
        [DIAG_NOTIFY_NO_LISTENER] = {"notify-no-listener", SEVERITY_ERROR},
        [DIAG_LISTENER_PATH_RELATIVE] = {"listener-path-relative", SEVERITY_ERROR},
        [DIAG_LISTENER_METADATA_NO_PATH] = {"listener-metadata-no-path", SEVERITY_ERROR},
        [DIAG_LIBSECCOMP_REJECTED] = {"libseccomp-rejected", SEVERITY_ERROR},
        [DIAG_FILTER_TOO_LARGE] = {"filter-too-large", SEVERITY_ERROR},
        [DIAG_CONTAINERD_IGNORED_FIELD] = {"containerd-ignored-field", SEVERITY_ERROR},
        [DIAG_SYSCALL_NOT_LINUX] = {"syscall-not-linux", SEVERITY_ERROR},
        [DIAG_ARG_AND_BECOMES_OR] = {"arg-and-becomes-or", SEVERITY_ERROR},
        [DIAG_NEEDS_NEWER_LIBSECCOMP] = {"needs-newer-libseccomp", SEVERITY_WARNING},
        [DIAG_SYSCALL_UNKNOWN] = {"syscall-unknown", SEVERITY_WARNING},
        [DIAG_CONFINES_NOTHING] = {"confines-nothing", SEVERITY_WARNING},
        [DIAG_SYSCALL_ABSENT_ARCH] = {"syscall-absent-arch", SEVERITY_WARNING},
        [DIAG_RULE_REPLACES_CONDITIONAL] = {"rule-replaces-conditional", SEVERITY_WARNING},
        [DIAG_CONTAINER_CANNOT_START] = {"container-cannot-start", SEVERITY_WARNING},
        [DIAG_CONTAINER_NEEDS_NO_NEW_PRIVILEGES] = {"container-needs-no-new-privileges", SEVERITY_WARNING},
        [DIAG_CONTAINERD_IGNORED_NO_CHANGE] = {"containerd-ignored-no-change", SEVERITY_WARNING},
        [DIAG_ARCHMAP_IGNORED] = {"archmap-ignored", SEVERITY_WARNING},
        [DIAG_MIN_KERNEL_IGNORED] = {"min-kernel-ignored", SEVERITY_WARNING},
        [DIAG_MIN_KERNEL_MALFORMED] = {"min-kernel-malformed", SEVERITY_WARNING},
        [DIAG_RULE_NO_EFFECT] = {"rule-no-effect", SEVERITY_WARNING},
        [DIAG_ARG_SAME_INDEX] = {"arg-same-index", SEVERITY_WARNING},
        [DIAG_ERRNO_ZERO] = {"errno-zero", SEVERITY_WARNING},
        [DIAG_FLAG_TSYNC] = {"flag-tsync", SEVERITY_WARNING},
        [DIAG_FLAGS_EMPTY] = {"flags-empty", SEVERITY_WARNING},
        [DIAG_UNKNOWN_KEY] = {"unknown-key", SEVERITY_WARNING},
        [DIAG_KEY_CASE] = {"key-case", SEVERITY_WARNING},
        [DIAG_DUPLICATE_KEY] = {"duplicate-key", SEVERITY_WARNING},
};

const char *diag_code_to_string(DiagCode c)
{
        return c < _DIAG_MAX ? codes[c].name : "unknown";
}

Severity diag_code_severity(DiagCode c)
{
        return c < _DIAG_MAX ? codes[c].severity : SEVERITY_ERROR;
}

const char *severity_to_string(Severity s)
{
        return s == SEVERITY_ERROR ? "error" : "warning";
}

void diag_add(Diagnostics *d, DiagCode code, const char *path, unsigned line, unsigned column,
              const char *fmt, ...)
{
        va_list ap;
        char *message = NULL, *p = NULL;
        int r;

        if (d->n == d->allocated) {
                size_t a = d->allocated ? d->allocated * 2 : 16;
                Diagnostic *items = realloc(d->items, a * sizeof(Diagnostic));
                if (!items) {
                        d->oom = true;
                        return;
                }
                d->items = items;
                d->allocated = a;
        }
        va_start(ap, fmt);
        r = vasprintf(&message, fmt, ap);
        va_end(ap);
        p = strdup(path ? path : "");
        if (r < 0 || !p) {
                if (r >= 0)
                        free(message);
                free(p);
                d->oom = true;
                return;
        }
        d->items[d->n++] = (Diagnostic){
                .severity = diag_code_severity(code),
                .code = code,
                .path = p,
                .line = line,
                .column = column,
                .message = message,
        };
}

int diagnostics_done(const Diagnostics *d)
{
        return d->oom ? -ENOMEM : 0;
}

size_t diagnostics_count(const Diagnostics *d, Severity s)
{
        size_t n = 0;
        for (size_t i = 0; i < d->n; i++)
                n += d->items[i].severity == s;
        return n;
}

bool diagnostics_has(const Diagnostics *d, DiagCode code)
{
        for (size_t i = 0; i < d->n; i++)
                if (d->items[i].code == code)
                        return true;
        return false;
}

int diagnostics_copy(Diagnostics *dst, const Diagnostics *src)
{
        for (size_t i = 0; i < src->n; i++) {
                const Diagnostic *s = src->items + i;
                diag_add(dst, s->code, s->path, s->line, s->column, "%s", s->message);
        }
        return diagnostics_done(dst);
}

static int diagnostic_compare(const void *a, const void *b)
{
        const Diagnostic *x = a, *y = b;
        /* Positioned diagnostics in document order; whole-profile findings after them. A stable
         * tie-break keeps the output deterministic: qsort is not stable. */
        unsigned lx = x->line ? x->line : ~0u, ly = y->line ? y->line : ~0u;
        if (lx != ly)
                return lx < ly ? -1 : 1;
        if (x->column != y->column)
                return x->column < y->column ? -1 : 1;
        int r = strcmp(x->path, y->path);
        if (r != 0)
                return r;
        if (x->code != y->code)
                return x->code < y->code ? -1 : 1;
        return strcmp(x->message, y->message);
}

void diagnostics_sort(Diagnostics *d)
{
        if (d->n > 1)
                qsort(d->items, d->n, sizeof(Diagnostic), diagnostic_compare);
}

void diagnostics_clear(Diagnostics *d)
{
        for (size_t i = 0; i < d->n; i++) {
                free(d->items[i].path);
                free(d->items[i].message);
        }
        free(d->items);
        *d = (Diagnostics){};
}
