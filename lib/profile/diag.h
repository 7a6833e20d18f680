/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Diagnostics: what is wrong with a profile, for a person to act on. The library never prints;
 * it returns these to the caller. Codes are stable: tools and tests match on them, docs list them
 * (docs/diagnostics.md). */

#include <stdbool.h>
#include <stddef.h>

#include "shared/macro.h"

typedef enum Severity {
        SEVERITY_WARNING,
        SEVERITY_ERROR,
} Severity;

typedef enum DiagCode {
        /* errors */
        DIAG_JSON_SYNTAX,
        DIAG_JSON_TOO_LARGE,
        DIAG_JSON_TOP_LEVEL,
        DIAG_JSON_TYPE,
        DIAG_JSON_INTEGER,
        DIAG_DEFAULT_ACTION_MISSING,
        DIAG_UNKNOWN_ACTION,
        DIAG_UNKNOWN_OPERATOR,
        DIAG_UNKNOWN_ARCH,
        DIAG_UNSUPPORTED_ARCH,
        DIAG_UNKNOWN_FLAG,
        DIAG_RULE_NO_NAMES,
        DIAG_RULE_EMPTY_NAME,
        DIAG_RULE_NAME_AND_NAMES,
        DIAG_ARCH_AND_ARCHMAP,
        DIAG_ARG_INDEX,
        DIAG_ARG_COUNT,
        DIAG_ERRNO_WRONG_ACTION,
        DIAG_ERRNO_RANGE,
        DIAG_UNKNOWN_ERRNO,
        DIAG_NOTIFY_NOT_ALLOWED,
        DIAG_NOTIFY_DEFAULT,
        DIAG_NOTIFY_WRITE,
        DIAG_NOTIFY_NO_LISTENER,
        DIAG_LISTENER_PATH_RELATIVE,
        DIAG_LISTENER_METADATA_NO_PATH,
        DIAG_LIBSECCOMP_REJECTED,
        DIAG_FILTER_TOO_LARGE,
        DIAG_CONTAINERD_IGNORED_FIELD,
        DIAG_SYSCALL_NOT_LINUX,
        DIAG_ARG_AND_BECOMES_OR,
        /* warnings */
        DIAG_NEEDS_NEWER_LIBSECCOMP,
        DIAG_SYSCALL_UNKNOWN,
        DIAG_CONFINES_NOTHING,
        DIAG_SYSCALL_ABSENT_ARCH,
        DIAG_RULE_REPLACES_CONDITIONAL,
        DIAG_CONTAINER_CANNOT_START,
        DIAG_CONTAINER_NEEDS_NO_NEW_PRIVILEGES,
        DIAG_CONTAINERD_IGNORED_NO_CHANGE,
        DIAG_ARCHMAP_IGNORED,
        DIAG_MIN_KERNEL_IGNORED,
        DIAG_MIN_KERNEL_MALFORMED,
        DIAG_RULE_NO_EFFECT,
        DIAG_ARG_SAME_INDEX,
        DIAG_ERRNO_ZERO,
        DIAG_FLAG_TSYNC,
        DIAG_FLAGS_EMPTY,
        DIAG_UNKNOWN_KEY,
        DIAG_KEY_CASE,
        DIAG_DUPLICATE_KEY,
        _DIAG_MAX,
} DiagCode;

typedef struct Diagnostic {
        Severity severity;
        DiagCode code;
        char *path;    /* JSON path, "" for the whole document */
        unsigned line; /* 0 when unknown */
        unsigned column;
        char *message;
} Diagnostic;

typedef struct Diagnostics {
        Diagnostic *items;
        size_t n, allocated;
        bool oom; /* sticky: an allocation failed, the list is incomplete */
} Diagnostics;

const char *diag_code_to_string(DiagCode c) _pure_;
Severity diag_code_severity(DiagCode c) _pure_;
const char *severity_to_string(Severity s) _pure_;

/* Adds one diagnostic. Allocation failures set d->oom instead of failing each call, so checks read
 * as a list of rules; diagnostics_done() turns the flag into -ENOMEM once, at the end. */
_printf_(6, 7) void diag_add(Diagnostics *d, DiagCode code, const char *path, unsigned line, unsigned column,
                             const char *fmt, ...);
int diagnostics_done(const Diagnostics *d);

size_t diagnostics_count(const Diagnostics *d, Severity s) _pure_;
bool diagnostics_has(const Diagnostics *d, DiagCode code) _pure_;
int diagnostics_copy(Diagnostics *dst, const Diagnostics *src);
void diagnostics_sort(Diagnostics *d);
void diagnostics_clear(Diagnostics *d);
