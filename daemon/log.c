/* SPDX-License-Identifier: Apache-2.0 */
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-journal.h>
#include <time.h>

#include "log.h"

static LogFormat format = LOG_FORMAT_TEXT;

int log_format_from_string(const char *s, LogFormat *ret)
{
        if (strcmp(s, "text") == 0)
                *ret = LOG_FORMAT_TEXT;
        else if (strcmp(s, "json") == 0)
                *ret = LOG_FORMAT_JSON;
        else
                return -EINVAL;
        return 0;
}

/* systemd sets JOURNAL_STREAM to "DEV:INODE" of the stream it connected to stderr. */
static bool stderr_is_journal(void)
{
        const char *e = getenv("JOURNAL_STREAM");
        unsigned long long dev, ino;
        struct stat st;
        return e && sscanf(e, "%llu:%llu", &dev, &ino) == 2 && fstat(STDERR_FILENO, &st) == 0 &&
               st.st_dev == dev && st.st_ino == ino;
}

void log_setup(LogFormat f)
{
        format = f == LOG_FORMAT_AUTO ? (stderr_is_journal() ? LOG_FORMAT_JOURNAL : LOG_FORMAT_TEXT) : f;
}

static const char *level(int priority)
{
        return priority <= LOG_ERR ? "error" : priority == LOG_WARNING ? "warning" : "info";
}

void log_profile(int priority, const char *path, const char *source, const char *fmt, ...)
{
        char msg[2048];
        va_list ap;

        va_start(ap, fmt);
        (void) vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);

        switch (format) {
        case LOG_FORMAT_JOURNAL:
                (void) sd_journal_send(
                        "MESSAGE=%s", msg, "PRIORITY=%d", priority, "SYSLOG_IDENTIFIER=seccompd",
                        path ? "SECCOMPD_PROFILE_PATH=%s" : "SECCOMPD_PROFILE_PATH=", path ? path : "",
                        source ? "SECCOMPD_SOURCE=%s" : "SECCOMPD_SOURCE=", source ? source : "", NULL);
                break;
        case LOG_FORMAT_JSON: {
                struct timespec ts;
                char when[40];
                struct tm tm;
                clock_gettime(CLOCK_REALTIME, &ts);
                gmtime_r(&ts.tv_sec, &tm);
                strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
                json_t *o = json_pack("{s:s, s:s, s:s}", "level", level(priority), "msg", msg, "time", when);
                if (path)
                        json_object_set_new(o, "path", json_string(path));
                if (source)
                        json_object_set_new(o, "source", json_string(source));
                char *line = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
                if (line)
                        fprintf(stderr, "%s\n", line);
                free(line);
                json_decref(o);
                break;
        }
        default:
                if (path || source)
                        fprintf(stderr, "%s: %s%s%s%s%s\n", level(priority), msg, path ? " path=" : "",
                                path ?: "", source ? " source=" : "", source ?: "");
                else
                        fprintf(stderr, "%s: %s\n", level(priority), msg);
                break;
        }
}

void log_diagnostics(const char *path, const char *source, const Diagnostics *d)
{
        for (size_t i = 0; i < d->n; i++) {
                const Diagnostic *x = d->items + i;
                bool error = x->severity == SEVERITY_ERROR;
                log_profile(error ? LOG_ERR : LOG_WARNING, path, source, "%s: %s [%s]",
                            error ? "profile rejected" : "profile warning", x->message,
                            diag_code_to_string(x->code));
        }
}

int log_errno(int priority, int error, const char *path, const char *source, const char *fmt, ...)
{
        va_list ap;
        _cleanup_free_ char *m = NULL;
        va_start(ap, fmt);
        int r = vasprintf(&m, fmt, ap);
        va_end(ap);
        log_profile(priority, path, source, "%s: %s", r < 0 ? "?" : m, strerror(error < 0 ? -error : error));
        return error < 0 ? error : -error;
}
