/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <syslog.h>

#include "diag.h"
#include "shared/macro.h"

/* Where the daemon's lines go: the journal with structured fields when systemd started us (its
 * JOURNAL_STREAM is our stderr), else one line per event on stderr, plain or JSON. */
typedef enum LogFormat {
        LOG_FORMAT_AUTO,
        LOG_FORMAT_TEXT,
        LOG_FORMAT_JSON,
        LOG_FORMAT_JOURNAL,
} LogFormat;

int log_format_from_string(const char *s, LogFormat *ret);
void log_setup(LogFormat f);

/* path and source name the profile file and the source object/key; either may be NULL. */
_printf_(4, 5) void log_profile(int priority, const char *path, const char *source, const char *fmt, ...);
#define log_info(...)    log_profile(LOG_INFO, NULL, NULL, __VA_ARGS__)
#define log_error(...)   log_profile(LOG_ERR, NULL, NULL, __VA_ARGS__)
#define log_warning(...) log_profile(LOG_WARNING, NULL, NULL, __VA_ARGS__)

/* A verdict's diagnostics, one line each: "error: profile rejected: MESSAGE [code]" for errors,
 * "warning: MESSAGE [code]" for the rest. Logged when a version is first read, not on every sync. */
void log_diagnostics(const char *path, const char *source, const Diagnostics *d);

/* "MESSAGE: strerror(error)" at priority; returns error as a negative errno, so a decision point reads
 * return log_error_errno(r, "cannot ..."). */
_printf_(5, 6) int log_errno(int priority, int error, const char *path, const char *source, const char *fmt,
                             ...);
#define log_error_errno(error, ...)   log_errno(LOG_ERR, error, NULL, NULL, __VA_ARGS__)
#define log_warning_errno(error, ...) log_errno(LOG_WARNING, error, NULL, NULL, __VA_ARGS__)
