/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stddef.h>
#include <stdio.h>

/* A small Prometheus registry: families are declared once (name, help, type; buckets for a
 * histogram), then updated by name with an optional label set written in Prometheus syntax
 * ("code=\"200\",verb=\"list\""). Label sets are bounded per family (64): beyond that an update is
 * dropped and counted in seccompd_metrics_dropped_total, so no input can grow memory without bound. */
typedef enum MetricType {
        METRIC_COUNTER,
        METRIC_GAUGE,
        METRIC_HISTOGRAM,
} MetricType;

typedef struct Metrics Metrics;

/* The registry starts with one family of its own, the unlabeled counter
 * seccompd_metrics_dropped_total (rendered as 0 until something is dropped). */
int metrics_new(Metrics **ret);
Metrics *metrics_free(Metrics *m);

/* buckets: finite upper bounds in strictly increasing order, for METRIC_HISTOGRAM only (+Inf is
 * implied). -EINVAL for a name that is not a Prometheus metric name or bad buckets, -EEXIST when the
 * name is already declared. */
int metrics_declare(Metrics *m, const char *name, MetricType type, const char *help, const double *buckets,
                    size_t n_buckets);

/* labels: NULL or "" for none. -ENOENT for an undeclared name, -EINVAL for the wrong type, a label
 * string that is not name="value",... (or names "le" on a histogram, or is longer than 2048 bytes), a
 * negative or NaN increment.
 * An update beyond the bound is dropped, counted, and returns 0: a metric never fails the operation
 * it measures. */
int metrics_add(Metrics *m, const char *name, const char *labels, double v);     /* counter */
int metrics_set(Metrics *m, const char *name, const char *labels, double v);     /* gauge */
int metrics_observe(Metrics *m, const char *name, const char *labels, double v); /* histogram */

/* Writes value, escaped for the inside of a label's double quotes (backslash, double quote and newline,
 * as the text format requires), NUL-terminated, to buf. Returns the length written, or -ENOBUFS when it
 * does not fit in size bytes (buf then holds ""). For names that come from the cluster:
 *   char ns[2 * 253 + 1]; metrics_label_escape(namespace, ns, sizeof(ns)); */
int metrics_label_escape(const char *value, char *buf, size_t size);

/* The text exposition format 0.0.4: HELP and TYPE per family, families in declaration order, label
 * sets in first-use order; histograms as _bucket{le=...} (cumulative), _sum and _count. A family
 * declared with no help text has no HELP line. */
int metrics_render(const Metrics *m, FILE *f);
