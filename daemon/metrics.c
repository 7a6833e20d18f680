/* SPDX-License-Identifier: Apache-2.0 */
/* The Prometheus text exposition format 0.0.4
 * (https://prometheus.io/docs/instrumenting/exposition_formats/). A handful of families with at most
 * MAX_SERIES label sets each: lookups are linear scans, which at this size beat any index. */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "shared/macro.h"

#define MAX_SERIES 64
/* A label string is the daemon's, but its values may carry cluster names (up to 253 bytes each,
 * twice that escaped): generous for a few of those, and it keeps 64 sets of them small. */
#define MAX_LABELS_LEN 2048
#define DROPPED_NAME   "seccompd_metrics_dropped_total"

typedef struct Series {
        char *labels; /* "" for none */
        double value; /* counter, gauge; the sum of a histogram */
        uint64_t count;
        uint64_t *buckets; /* per bucket, not cumulative: observations in (bound[i-1], bound[i]] */
} Series;

typedef struct Family {
        char *name, *help;
        MetricType type;
        double *bounds;
        size_t n_bounds;
        Series series[MAX_SERIES];
        size_t n_series;
} Family;

struct Metrics {
        Family **families; /* in declaration order */
        size_t n_families;
        Family *dropped; /* borrowed from families */
};

static void family_free(Family *f)
{
        if (!f)
                return;
        for (size_t i = 0; i < f->n_series; i++) {
                free(f->series[i].labels);
                free(f->series[i].buckets);
        }
        free(f->bounds);
        free(f->name);
        free(f->help);
        free(f);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(Family *, family_free)

Metrics *metrics_free(Metrics *m)
{
        if (!m)
                return NULL;
        for (size_t i = 0; i < m->n_families; i++)
                family_free(m->families[i]);
        free(m->families);
        free(m);
        return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(Metrics *, metrics_free)

static bool is_name_start(char c)
{
        /* ASCII ranges, not isalpha(): the format is defined on bytes, not on the locale. */
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_name_char(char c)
{
        return is_name_start(c) || (c >= '0' && c <= '9');
}

static bool metric_name_valid(const char *name)
{
        if (!name || !(is_name_start(*name) || *name == ':'))
                return false;
        for (const char *p = name + 1; *p; p++)
                if (!is_name_char(*p) && *p != ':')
                        return false;
        return true;
}

/* name="value"(,name="value")*, values escaped as the text format wants: a malformed set would break
 * the whole exposition for the scraper, so it is refused here. A histogram owns the "le" label. */
static bool labels_valid(const char *s, bool histogram)
{
        const char *p = s;

        if (strlen(s) > MAX_LABELS_LEN)
                return false;
        if (!*p)
                return true;
        for (;;) {
                const char *name = p;
                if (!is_name_start(*p))
                        return false;
                while (is_name_char(*p))
                        p++;
                if (histogram && p - name == 2 && strncmp(name, "le", 2) == 0)
                        return false;
                if (*p++ != '=' || *p++ != '"')
                        return false;
                for (; *p != '"'; p++) {
                        if (*p == 0 || *p == '\n')
                                return false;
                        if (*p == '\\' && *++p != '\\' && *p != '"' && *p != 'n')
                                return false;
                }
                p++;
                if (*p == 0)
                        return true;
                if (*p++ != ',')
                        return false;
        }
}

int metrics_label_escape(const char *value, char *buf, size_t size)
{
        size_t n = 0;

        if (!value || !buf || size == 0)
                return -EINVAL;
        for (const char *p = value; *p; p++) {
                const char *esc = *p == '\\' ? "\\\\" : *p == '"' ? "\\\"" : *p == '\n' ? "\\n" : NULL;
                size_t len = esc ? 2 : 1;
                if (n + len >= size || n + len > INT32_MAX) {
                        buf[0] = 0;
                        return -ENOBUFS;
                }
                memcpy(buf + n, esc ? esc : p, len);
                n += len;
        }
        buf[n] = 0;
        return (int) n;
}

static Family *metrics_find(const Metrics *m, const char *name)
{
        for (size_t i = 0; m && name && i < m->n_families; i++)
                if (strcmp(m->families[i]->name, name) == 0)
                        return m->families[i];
        return NULL;
}

int metrics_declare(Metrics *m, const char *name, MetricType type, const char *help, const double *buckets,
                    size_t n_buckets)
{
        _cleanup_(family_freep) Family *f = NULL;

        if (!m || !metric_name_valid(name))
                return -EINVAL;
        if (type != METRIC_COUNTER && type != METRIC_GAUGE && type != METRIC_HISTOGRAM)
                return -EINVAL;
        if (n_buckets > 0 && (type != METRIC_HISTOGRAM || !buckets))
                return -EINVAL;
        for (size_t i = 0; i < n_buckets; i++)
                if (!isfinite(buckets[i]) || (i > 0 && !(buckets[i] > buckets[i - 1])))
                        return -EINVAL;
        if (metrics_find(m, name))
                return -EEXIST;

        f = calloc(1, sizeof(Family));
        if (!f)
                return -ENOMEM;
        f->type = type;
        f->name = strdup(name);
        f->help = strdup(help ? help : "");
        if (!f->name || !f->help)
                return -ENOMEM;
        if (n_buckets > 0) {
                f->bounds = calloc(n_buckets, sizeof(double));
                if (!f->bounds)
                        return -ENOMEM;
                memcpy(f->bounds, buckets, n_buckets * sizeof(double));
                f->n_bounds = n_buckets;
        }
        Family **list = realloc(m->families, (m->n_families + 1) * sizeof(Family *));
        if (!list)
                return -ENOMEM;
        m->families = list;
        m->families[m->n_families++] = TAKE_PTR(f);
        return 0;
}

/* The label set's series, created on first use; -ENOSPC when the family is full. */
static int family_series(Family *f, const char *labels, Series **ret)
{
        if (!labels)
                labels = "";
        for (size_t i = 0; i < f->n_series; i++)
                if (strcmp(f->series[i].labels, labels) == 0) {
                        *ret = f->series + i;
                        return 0;
                }
        if (!labels_valid(labels, f->type == METRIC_HISTOGRAM))
                return -EINVAL;
        if (f->n_series == MAX_SERIES)
                return -ENOSPC;

        Series s = {.labels = strdup(labels)};
        if (!s.labels)
                return -ENOMEM;
        if (f->type == METRIC_HISTOGRAM && f->n_bounds > 0) {
                s.buckets = calloc(f->n_bounds, sizeof(uint64_t));
                if (!s.buckets) {
                        free(s.labels);
                        return -ENOMEM;
                }
        }
        f->series[f->n_series] = s;
        *ret = f->series + f->n_series++;
        return 0;
}

static int metrics_update(Metrics *m, const char *name, MetricType type, const char *labels, Series **ret)
{
        Family *f = metrics_find(m, name);
        int r;

        if (!f)
                return m && name ? -ENOENT : -EINVAL;
        if (f->type != type)
                return -EINVAL;
        r = family_series(f, labels, ret);
        if (r == -ENOSPC) {
                /* Full: drop the update, and say so where the scraper sees it. */
                m->dropped->series[0].value++;
                return 1; /* no series: the caller returns 0 without updating */
        }
        return r;
}

int metrics_add(Metrics *m, const char *name, const char *labels, double v)
{
        Series *s;
        int r;

        if (!(v >= 0)) /* a counter only goes up; this also refuses NaN */
                return -EINVAL;
        r = metrics_update(m, name, METRIC_COUNTER, labels, &s);
        if (r != 0)
                return MIN(r, 0);
        s->value += v;
        return 0;
}

int metrics_set(Metrics *m, const char *name, const char *labels, double v)
{
        Series *s;
        int r = metrics_update(m, name, METRIC_GAUGE, labels, &s);
        if (r != 0)
                return MIN(r, 0);
        s->value = v;
        return 0;
}

int metrics_observe(Metrics *m, const char *name, const char *labels, double v)
{
        Family *f;
        Series *s;
        int r;

        if (isnan(v))
                return -EINVAL;
        r = metrics_update(m, name, METRIC_HISTOGRAM, labels, &s);
        if (r != 0)
                return MIN(r, 0);
        f = metrics_find(m, name);
        for (size_t i = 0; i < f->n_bounds; i++)
                if (v <= f->bounds[i]) {
                        s->buckets[i]++;
                        break;
                }
        s->value += v;
        s->count++;
        return 0;
}

int metrics_new(Metrics **ret)
{
        _cleanup_(metrics_freep) Metrics *m = NULL;
        Series *s;
        int r;

        m = calloc(1, sizeof(Metrics));
        if (!m)
                return -ENOMEM;
        r = metrics_declare(m, DROPPED_NAME, METRIC_COUNTER,
                            "Metric updates dropped because a family had reached its bound of label sets.",
                            NULL, 0);
        if (r < 0)
                return r;
        m->dropped = m->families[0];
        /* Present as 0 from the start: an absent series cannot be alerted on. */
        r = family_series(m->dropped, "", &s);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(m);
        return 0;
}

/* Integers as integers (a counter of 42 prints "42", not "4.2e+01"), other values with the fewest
 * digits that read back to the same double. printf's decimal point is the C locale's: the daemon
 * never calls setlocale(). */
static const char *format_value(double v, char buf[static 32])
{
        if (isnan(v))
                return "NaN";
        if (isinf(v))
                return v > 0 ? "+Inf" : "-Inf";
        if (v == 0)
                return "0"; /* also for -0 */
        if (v == floor(v) && fabs(v) < 1e18) {
                (void) snprintf(buf, 32, "%.0f", v);
                return buf;
        }
        for (int digits = 15; digits <= 17; digits++) {
                (void) snprintf(buf, 32, "%.*g", digits, v);
                if (strtod(buf, NULL) == v)
                        break;
        }
        return buf;
}

static void write_help(FILE *f, const char *help)
{
        /* HELP escapes backslash and newline, not the double quote. */
        for (const char *p = help; *p; p++)
                if (*p == '\\')
                        fputs("\\\\", f);
                else if (*p == '\n')
                        fputs("\\n", f);
                else
                        fputc(*p, f);
}

static void write_sample(FILE *f, const char *name, const char *suffix, const char *labels, const char *le,
                         double v)
{
        char buf[32];
        bool braces = *labels || le;

        fprintf(f, "%s%s%s%s", name, suffix, braces ? "{" : "", labels);
        if (le)
                fprintf(f, "%sle=\"%s\"", *labels ? "," : "", le);
        fprintf(f, "%s %s\n", braces ? "}" : "", format_value(v, buf));
}

static const char *type_name(MetricType t)
{
        return t == METRIC_COUNTER ? "counter" : t == METRIC_GAUGE ? "gauge" : "histogram";
}

int metrics_render(const Metrics *m, FILE *f)
{
        if (!m || !f)
                return -EINVAL;
        for (size_t i = 0; i < m->n_families; i++) {
                const Family *fam = m->families[i];
                if (*fam->help) {
                        fprintf(f, "# HELP %s ", fam->name);
                        write_help(f, fam->help);
                        fputc('\n', f);
                }
                fprintf(f, "# TYPE %s %s\n", fam->name, type_name(fam->type));
                for (size_t k = 0; k < fam->n_series; k++) {
                        const Series *s = fam->series + k;
                        if (fam->type != METRIC_HISTOGRAM) {
                                write_sample(f, fam->name, "", s->labels, NULL, s->value);
                                continue;
                        }
                        uint64_t cumulative = 0;
                        for (size_t b = 0; b < fam->n_bounds; b++) {
                                char le[32];
                                cumulative += s->buckets[b];
                                write_sample(f, fam->name, "_bucket", s->labels,
                                             format_value(fam->bounds[b], le), (double) cumulative);
                        }
                        write_sample(f, fam->name, "_bucket", s->labels, "+Inf", (double) s->count);
                        write_sample(f, fam->name, "_sum", s->labels, NULL, s->value);
                        write_sample(f, fam->name, "_count", s->labels, NULL, (double) s->count);
                }
        }
        return ferror(f) ? -EIO : 0;
}
