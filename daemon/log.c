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

/* The length of the well-formed UTF-8 sequence at s (RFC 3629: no overlongs, no surrogates, at most
 * U+10FFFF), or 0. */
static size_t utf8_sequence(const unsigned char *s)
{
        if (s[0] < 0x80)
                return 1;
        size_t n = s[0] >= 0xc2 && s[0] <= 0xdf   ? 2
                   : s[0] >= 0xe0 && s[0] <= 0xef ? 3
                   : s[0] >= 0xf0 && s[0] <= 0xf4 ? 4
                                                  : 0;
        for (size_t i = 1; i < n; i++)
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
        if ((n == 3 && s[0] == 0xe0 && s[1] < 0xa0) || (n == 3 && s[0] == 0xed && s[1] >= 0xa0) ||
            (n == 4 && s[0] == 0xf0 && s[1] < 0x90) || (n == 4 && s[0] == 0xf4 && s[1] >= 0x90))
                return 0;
        return n;
}

/* What a line may carry: text from a ConfigMap (an annotation, a key) or a file name must not forge a
 * second line or write to a terminal, and a JSON line must stay valid UTF-8, even when cut. Control
 * characters (text only: JSON escapes its own) and bytes that are not well-formed UTF-8 become \xNN;
 * the output is always NUL-terminated and never cut inside a character. */
static const char *clean(const char *in, bool controls, char *out, size_t size)
{
        size_t o = 0;
        if (!in)
                return NULL;
        for (const unsigned char *p = (const unsigned char *) in; *p;) {
                size_t n = utf8_sequence(p);
                bool escape = n == 0 || (controls && n == 1 && (*p < 0x20 || *p == 0x7f));
                size_t need = escape ? 4 : n;
                if (o + need + 1 > size)
                        break;
                if (escape) {
                        (void) snprintf(out + o, 5, "\\x%02x", *p);
                        p++;
                } else {
                        memcpy(out + o, p, n);
                        p += n;
                }
                o += need;
        }
        out[o] = 0;
        return out;
}

void log_profile(int priority, const char *path, const char *source, const char *fmt, ...)
{
        char raw[2048], msg[4 * sizeof(raw)], path_buf[4 * 1024], source_buf[4 * 1024];
        va_list ap;

        va_start(ap, fmt);
        (void) vsnprintf(raw, sizeof(raw), fmt, ap);
        va_end(ap);
        bool text = format != LOG_FORMAT_JSON && format != LOG_FORMAT_JOURNAL;
        (void) clean(raw, text, msg, sizeof(msg));
        path = clean(path, text, path_buf, sizeof(path_buf));
        source = clean(source, text, source_buf, sizeof(source_buf));

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
                /* The level reads "warning: " already; an error says what became of the profile. */
                log_profile(error ? LOG_ERR : LOG_WARNING, path, source, "%s%s [%s]",
                            error ? "profile rejected: " : "", x->message, diag_code_to_string(x->code));
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
