/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "metrics.h"

static char *render(const Metrics *m)
{
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        assert_non_null(f);
        assert_int_equal(metrics_render(m, f), 0);
        assert_int_equal(fclose(f), 0);
        return buf;
}

static const char dropped_zero[] =
        "# HELP seccompd_metrics_dropped_total Metric updates dropped because a family had reached its "
        "bound of label sets.\n"
        "# TYPE seccompd_metrics_dropped_total counter\n"
        "seccompd_metrics_dropped_total 0\n";

static void test_render_exact(void **state)
{
        static const double buckets[] = {0.005, 0.1, 1, 2.5};
        Metrics *m = NULL;
        char value[64], labels[128];

        assert_int_equal(metrics_new(&m), 0);
        assert_int_equal(metrics_declare(m, "seccompd_syncs_total", METRIC_COUNTER, "Syncs run.", NULL, 0),
                         0);
        assert_int_equal(metrics_declare(m, "seccompd_profiles", METRIC_GAUGE,
                                         "Profiles by state.\nSecond \\ line \"quoted\".", NULL, 0),
                         0);
        assert_int_equal(
                metrics_declare(m, "seccompd_sync_seconds", METRIC_HISTOGRAM, "Sync duration.", buckets, 4),
                0);
        assert_int_equal(metrics_declare(m, "seccompd_empty", METRIC_GAUGE, NULL, NULL, 0), 0);

        assert_int_equal(metrics_add(m, "seccompd_syncs_total", NULL, 40), 0);
        assert_int_equal(metrics_add(m, "seccompd_syncs_total", "", 2), 0);
        assert_int_equal(metrics_set(m, "seccompd_profiles", "state=\"installed\"", 12), 0);
        assert_int_equal(metrics_set(m, "seccompd_profiles", "state=\"rejected\"", 3), 0);
        assert_int_equal(metrics_set(m, "seccompd_profiles", "state=\"installed\"", 11), 0);

        /* A name from the cluster, with every character the format escapes. */
        assert_int_equal(metrics_label_escape("we\"ird\\name\n", value, sizeof(value)), 15);
        assert_string_equal(value, "we\\\"ird\\\\name\\n");
        (void) snprintf(labels, sizeof(labels), "source=\"%s\",kind=\"dir\"", value);
        assert_int_equal(metrics_set(m, "seccompd_profiles", labels, 0.25), 0);

        assert_int_equal(metrics_observe(m, "seccompd_sync_seconds", NULL, 0.003), 0);
        assert_int_equal(metrics_observe(m, "seccompd_sync_seconds", NULL, 0.1), 0); /* le is inclusive */
        assert_int_equal(metrics_observe(m, "seccompd_sync_seconds", NULL, 2), 0);
        assert_int_equal(metrics_observe(m, "seccompd_sync_seconds", NULL, 7.5), 0);
        assert_int_equal(metrics_observe(m, "seccompd_sync_seconds", "verb=\"list\"", 0.5), 0);

        char *text = render(m);
        assert_string_equal(
                text, "# HELP seccompd_metrics_dropped_total Metric updates dropped because a family had "
                      "reached its bound of label sets.\n"
                      "# TYPE seccompd_metrics_dropped_total counter\n"
                      "seccompd_metrics_dropped_total 0\n"
                      "# HELP seccompd_syncs_total Syncs run.\n"
                      "# TYPE seccompd_syncs_total counter\n"
                      "seccompd_syncs_total 42\n"
                      "# HELP seccompd_profiles Profiles by state.\\nSecond \\\\ line \"quoted\".\n"
                      "# TYPE seccompd_profiles gauge\n"
                      "seccompd_profiles{state=\"installed\"} 11\n"
                      "seccompd_profiles{state=\"rejected\"} 3\n"
                      "seccompd_profiles{source=\"we\\\"ird\\\\name\\n\",kind=\"dir\"} 0.25\n"
                      "# HELP seccompd_sync_seconds Sync duration.\n"
                      "# TYPE seccompd_sync_seconds histogram\n"
                      "seccompd_sync_seconds_bucket{le=\"0.005\"} 1\n"
                      "seccompd_sync_seconds_bucket{le=\"0.1\"} 2\n"
                      "seccompd_sync_seconds_bucket{le=\"1\"} 2\n"
                      "seccompd_sync_seconds_bucket{le=\"2.5\"} 3\n"
                      "seccompd_sync_seconds_bucket{le=\"+Inf\"} 4\n"
                      "seccompd_sync_seconds_sum 9.603\n"
                      "seccompd_sync_seconds_count 4\n"
                      "seccompd_sync_seconds_bucket{verb=\"list\",le=\"0.005\"} 0\n"
                      "seccompd_sync_seconds_bucket{verb=\"list\",le=\"0.1\"} 0\n"
                      "seccompd_sync_seconds_bucket{verb=\"list\",le=\"1\"} 1\n"
                      "seccompd_sync_seconds_bucket{verb=\"list\",le=\"2.5\"} 1\n"
                      "seccompd_sync_seconds_bucket{verb=\"list\",le=\"+Inf\"} 1\n"
                      "seccompd_sync_seconds_sum{verb=\"list\"} 0.5\n"
                      "seccompd_sync_seconds_count{verb=\"list\"} 1\n"
                      "# TYPE seccompd_empty gauge\n");
        free(text);
        metrics_free(m);
}

static void test_numbers(void **state)
{
        Metrics *m = NULL;

        assert_int_equal(metrics_new(&m), 0);
        assert_int_equal(metrics_declare(m, "g", METRIC_GAUGE, "", NULL, 0), 0);
        assert_int_equal(metrics_set(m, "g", "v=\"big\"", 1e15), 0);
        assert_int_equal(metrics_set(m, "g", "v=\"huge\"", 1e20), 0);
        assert_int_equal(metrics_set(m, "g", "v=\"neg\"", -3), 0);
        assert_int_equal(metrics_set(m, "g", "v=\"negzero\"", -0.0), 0);
        assert_int_equal(metrics_set(m, "g", "v=\"third\"", 1.0 / 3), 0);
        assert_int_equal(metrics_set(m, "g", "v=\"inf\"", INFINITY), 0);
        assert_int_equal(metrics_set(m, "g", "v=\"-inf\"", -INFINITY), 0);
        assert_int_equal(metrics_set(m, "g", "v=\"nan\"", NAN), 0);
        char *text = render(m);
        const char *g = strstr(text, "# TYPE g");
        assert_non_null(g);
        assert_string_equal(g, "# TYPE g gauge\n"
                               "g{v=\"big\"} 1000000000000000\n"
                               "g{v=\"huge\"} 1e+20\n"
                               "g{v=\"neg\"} -3\n"
                               "g{v=\"negzero\"} 0\n"
                               "g{v=\"third\"} 0.3333333333333333\n"
                               "g{v=\"inf\"} +Inf\n"
                               "g{v=\"-inf\"} -Inf\n"
                               "g{v=\"nan\"} NaN\n");
        free(text);
        metrics_free(m);
}

/* No input grows the registry without bound: the 65th label set of a family is dropped and counted. */
static void test_label_bound(void **state)
{
        Metrics *m = NULL;
        char labels[64];

        assert_int_equal(metrics_new(&m), 0);
        assert_int_equal(metrics_declare(m, "seccompd_events_total", METRIC_COUNTER, "Events.", NULL, 0), 0);
        for (int i = 0; i < 64; i++) {
                (void) snprintf(labels, sizeof(labels), "name=\"n%d\"", i);
                assert_int_equal(metrics_add(m, "seccompd_events_total", labels, 1), 0);
        }
        assert_int_equal(metrics_add(m, "seccompd_events_total", "name=\"n64\"", 1), 0);
        assert_int_equal(metrics_add(m, "seccompd_events_total", "name=\"n65\"", 5), 0);
        /* Known sets still count. */
        assert_int_equal(metrics_add(m, "seccompd_events_total", "name=\"n0\"", 1), 0);

        char *text = render(m);
        assert_non_null(strstr(text, "\nseccompd_metrics_dropped_total 2\n"));
        assert_non_null(strstr(text, "\nseccompd_events_total{name=\"n0\"} 2\n"));
        assert_non_null(strstr(text, "\nseccompd_events_total{name=\"n63\"} 1\n"));
        assert_null(strstr(text, "n64"));
        assert_null(strstr(text, "n65"));
        size_t lines = 0;
        for (const char *p = text; *p; p++)
                lines += *p == '\n';
        assert_int_equal(lines, 3 + 2 + 64);
        free(text);
        metrics_free(m);
}

static void test_refused(void **state)
{
        static const double decreasing[] = {1, 0.5}, same[] = {1, 1}, inf[] = {1, INFINITY}, ok[] = {1};
        Metrics *m = NULL;
        char small[4];

        assert_int_equal(metrics_new(&m), 0);
        assert_int_equal(metrics_declare(m, "9lives", METRIC_GAUGE, "", NULL, 0), -EINVAL);
        assert_int_equal(metrics_declare(m, "a-b", METRIC_GAUGE, "", NULL, 0), -EINVAL);
        assert_int_equal(metrics_declare(m, "", METRIC_GAUGE, "", NULL, 0), -EINVAL);
        assert_int_equal(metrics_declare(m, NULL, METRIC_GAUGE, "", NULL, 0), -EINVAL);
        assert_int_equal(metrics_declare(m, "h", METRIC_HISTOGRAM, "", decreasing, 2), -EINVAL);
        assert_int_equal(metrics_declare(m, "h", METRIC_HISTOGRAM, "", same, 2), -EINVAL);
        assert_int_equal(metrics_declare(m, "h", METRIC_HISTOGRAM, "", inf, 2), -EINVAL);
        assert_int_equal(metrics_declare(m, "g", METRIC_GAUGE, "", ok, 1), -EINVAL);
        assert_int_equal(metrics_declare(m, "h", METRIC_HISTOGRAM, "", ok, 1), 0);
        assert_int_equal(metrics_declare(m, "h", METRIC_GAUGE, "", NULL, 0), -EEXIST);
        assert_int_equal(metrics_declare(m, "seccompd_metrics_dropped_total", METRIC_COUNTER, "", NULL, 0),
                         -EEXIST);
        assert_int_equal(metrics_declare(m, "c", METRIC_COUNTER, "", NULL, 0), 0);
        assert_int_equal(metrics_declare(m, "ns:g", METRIC_GAUGE, "", NULL, 0), 0);

        assert_int_equal(metrics_add(m, "nope", NULL, 1), -ENOENT);
        assert_int_equal(metrics_set(m, "c", NULL, 1), -EINVAL);     /* wrong type */
        assert_int_equal(metrics_observe(m, "c", NULL, 1), -EINVAL); /* wrong type */
        assert_int_equal(metrics_add(m, "c", NULL, -1), -EINVAL);    /* counters only go up */
        assert_int_equal(metrics_add(m, "c", NULL, NAN), -EINVAL);
        assert_int_equal(metrics_observe(m, "h", NULL, NAN), -EINVAL);
        assert_int_equal(metrics_observe(m, "h", "le=\"1\"", 1), -EINVAL); /* the histogram's own label */

        /* Label strings that would break the exposition. */
        static const char *const bad[] = {
                "a",        "a=",       "a=\"x",     "a=\"x\",",       "=\"x\"",           "1a=\"x\"",
                "a=\"x\" ", "a=\"\n\"", "a=\"\\q\"", "a=\"x\"b=\"y\"", "a=\"x\",,b=\"y\"", "a='x'",
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                assert_int_equal(metrics_set(m, "ns:g", bad[i], 1), -EINVAL);
        char *big = malloc(4096);
        memset(big, 'x', 4095);
        big[4095] = 0;
        memcpy(big, "a=\"", 3);
        big[4094] = '"';
        assert_int_equal(metrics_set(m, "ns:g", big, 1), -EINVAL);
        free(big);
        assert_int_equal(metrics_set(m, "ns:g", "a=\"\\\\\\\"\\n\",le=\"0\"", 1),
                         0); /* le is free on a gauge */

        assert_int_equal(metrics_label_escape("abc", small, sizeof(small)), 3);
        assert_string_equal(small, "abc");
        assert_int_equal(metrics_label_escape("abcd", small, sizeof(small)), -ENOBUFS);
        assert_string_equal(small, "");
        assert_int_equal(metrics_label_escape("a\"", small, sizeof(small)), 3);
        assert_int_equal(metrics_label_escape("ab\"", small, sizeof(small)), -ENOBUFS);
        assert_int_equal(metrics_label_escape("", small, sizeof(small)), 0);

        /* Nothing refused shows up, and the dropped counter counts only bound overflows. */
        char *text = render(m);
        assert_non_null(strstr(text, "\nseccompd_metrics_dropped_total 0\n"));
        assert_non_null(strstr(text, "\nns:g{a=\"\\\\\\\"\\n\",le=\"0\"} 1\n"));
        assert_null(strstr(text, "\nc "));
        free(text);
        metrics_free(m);
}

static void test_fresh_registry(void **state)
{
        Metrics *m = NULL;

        assert_null(metrics_free(NULL));
        assert_int_equal(metrics_new(&m), 0);
        char *text = render(m);
        assert_string_equal(text, dropped_zero);
        free(text);
        assert_null(metrics_free(m));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_fresh_registry), cmocka_unit_test(test_render_exact),
                cmocka_unit_test(test_numbers),        cmocka_unit_test(test_label_bound),
                cmocka_unit_test(test_refused),
        };
        cmocka_set_message_output(CM_OUTPUT_TAP);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
