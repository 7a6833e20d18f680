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

int metrics_new(Metrics **ret);
Metrics *metrics_free(Metrics *m);

/* buckets: upper bounds in increasing order, for METRIC_HISTOGRAM only (+Inf is implied). */
int metrics_declare(Metrics *m, const char *name, MetricType type, const char *help, const double *buckets,
                    size_t n_buckets);
int metrics_add(Metrics *m, const char *name, const char *labels, double v);      /* counter */
int metrics_set(Metrics *m, const char *name, const char *labels, double v);      /* gauge */
int metrics_observe(Metrics *m, const char *name, const char *labels, double v);  /* histogram */

/* The text exposition format 0.0.4: HELP and TYPE per family, families in declaration order, label
 * sets in first-use order; histograms as _bucket{le=...} (cumulative), _sum and _count. */
int metrics_render(const Metrics *m, FILE *f);
