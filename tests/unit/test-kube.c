/* SPDX-License-Identifier: Apache-2.0 */
/* The pure parts of the Kubernetes client: the one HTTP-to-errno table, the backoff, and how the
 * reflector retries when it cannot even start a request. The protocol itself is tested end to end
 * against the test API server (tests/integration/test_kube.py). */
#include <curl/curl.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <systemd/sd-event.h>

#include "kube/client.h"
#include "kube/reflector.h"
#include "shared/macro.h"

static int errno_of(long http, int curl)
{
        KubeStatus s = {.http = http, .curl = curl, .retry_after = -1};
        return kube_status_to_errno(&s);
}

static void test_status_table(void **state)
{
        assert_int_equal(errno_of(200, CURLE_OK), 0);
        assert_int_equal(errno_of(201, CURLE_OK), 0);
        assert_int_equal(errno_of(200, CURLE_RECV_ERROR), -EIO); /* a stream cut midway */
        assert_int_equal(errno_of(200, CURLE_OPERATION_TIMEDOUT), -ETIMEDOUT);
        assert_int_equal(errno_of(401, CURLE_OK), -EACCES);
        assert_int_equal(errno_of(403, CURLE_OK), -EPERM);
        assert_int_equal(errno_of(404, CURLE_OK), -ENOENT);
        assert_int_equal(errno_of(409, CURLE_OK), -EEXIST);
        assert_int_equal(errno_of(410, CURLE_OK), -ESTALE);
        assert_int_equal(errno_of(413, CURLE_OK), -EFBIG);
        assert_int_equal(errno_of(422, CURLE_OK), -EINVAL);
        assert_int_equal(errno_of(429, CURLE_OK), -EAGAIN);
        assert_int_equal(errno_of(503, CURLE_OK), -EAGAIN);
        assert_int_equal(errno_of(504, CURLE_OK), -ETIMEDOUT);
        assert_int_equal(errno_of(500, CURLE_OK), -EIO);
        assert_int_equal(errno_of(0, CURLE_COULDNT_CONNECT), -ECONNREFUSED);
        assert_int_equal(errno_of(0, CURLE_PEER_FAILED_VERIFICATION), -EBADMSG);
        assert_int_equal(errno_of(0, CURLE_OPERATION_TIMEDOUT), -ETIMEDOUT);
        assert_int_equal(errno_of(0, CURLE_RECV_ERROR), -EIO);
}

static const char *summary(long http, int curl, KubeTlsProblem tls, int error)
{
        KubeStatus s = {.http = http, .curl = curl, .tls = tls, .retry_after = -1};
        return kube_error_summary(error, &s);
}

/* What each outcome is called at the start of a log line: what happened, not what it resembles. */
static void test_error_summary(void **state)
{
        assert_string_equal(summary(302, CURLE_OK, KUBE_TLS_NONE, -EIO),
                            "redirected (HTTP 302 Found); redirects are not followed");
        assert_string_equal(summary(307, CURLE_OK, KUBE_TLS_NONE, -EIO),
                            "redirected (HTTP 307 Temporary Redirect); redirects are not followed");
        assert_string_equal(summary(399, CURLE_OK, KUBE_TLS_NONE, -EIO),
                            "redirected (HTTP 3xx); redirects are not followed");
        assert_string_equal(summary(500, CURLE_OK, KUBE_TLS_NONE, -EIO), "server error");
        assert_string_equal(summary(400, CURLE_OK, KUBE_TLS_NONE, -EIO), "refused by the server");
        assert_string_equal(summary(410, CURLE_OK, KUBE_TLS_NONE, -ESTALE), "expired (HTTP 410)");
        assert_string_equal(summary(429, CURLE_OK, KUBE_TLS_NONE, -EAGAIN), "too many requests (HTTP 429)");
        assert_string_equal(summary(200, CURLE_WRITE_ERROR, KUBE_TLS_NONE, -EBADMSG), "malformed response");
        assert_string_equal(summary(200, CURLE_WRITE_ERROR, KUBE_TLS_NONE, -EFBIG), "response over a bound");
        assert_string_equal(summary(200, CURLE_RECV_ERROR, KUBE_TLS_NONE, -EIO), "the response was cut off");
        assert_string_equal(summary(0, CURLE_PEER_FAILED_VERIFICATION, KUBE_TLS_EXPIRED, -EBADMSG),
                            "TLS: the server's certificate has expired");
        assert_string_equal(summary(0, CURLE_PEER_FAILED_VERIFICATION, KUBE_TLS_HOST_MISMATCH, -EBADMSG),
                            "TLS: the server's certificate is not for the host in the server URL");
        assert_string_equal(summary(0, CURLE_PEER_FAILED_VERIFICATION, KUBE_TLS_UNKNOWN_CA, -EBADMSG),
                            "TLS: the server's certificate does not verify against the configured CA");
        assert_string_equal(summary(0, CURLE_PEER_FAILED_VERIFICATION, KUBE_TLS_NOT_YET_VALID, -EBADMSG),
                            "TLS: the server's certificate is not valid yet (is the clock right?)");
        assert_string_equal(summary(0, CURLE_SSL_CONNECT_ERROR, KUBE_TLS_HANDSHAKE, -EIO),
                            "TLS: the handshake failed");
        assert_string_equal(summary(0, CURLE_COULDNT_CONNECT, KUBE_TLS_NONE, -ECONNREFUSED),
                            "Connection refused");
        assert_string_equal(kube_error_summary(-ENOMEM, NULL), "Cannot allocate memory");
}

/* client-go's reflector: 0.8 s doubling to 30 s, each wait in [d, 2d), then [30 s, 60 s) for good;
 * the sequence starts again once its last start is over 2 minutes old. */
static void test_backoff(void **state)
{
        static const uint64_t expected[] = {800000,   1600000,  3200000,  6400000,
                                            12800000, 25600000, 30000000, 30000000};
        KubeBackoff b = {.scale = 1.0};
        uint64_t now = 1000000000;
        for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++)
                assert_int_equal(kube_backoff_next(&b, now + i, 0.0), expected[i]);
        assert_int_equal(kube_backoff_next(&b, now + 100, 0.999999), 59999970);
        /* Within 2 minutes of the last reset: still capped. */
        assert_int_equal(kube_backoff_next(&b, now + 120000000, 0.0), 30000000);
        /* Beyond: from the start again. */
        assert_int_equal(kube_backoff_next(&b, now + 120000001, 0.0), 800000);
        assert_int_equal(kube_backoff_next(&b, now + 120000002, 0.5), 2400000);

        KubeBackoff fast = {.scale = 0.01};
        assert_int_equal(kube_backoff_next(&fast, now, 0.0), 8000);
}

/* The reflector's calls out, replaced at link time (-Wl,--wrap in tests/meson.build): requests that
 * cannot start and timers that cannot be armed, as when memory runs out. */
#define FAILED_STARTS 1000

static sd_event *loop;
static bool timers_fail;
static unsigned n_starts;
static uint64_t start_iteration[FAILED_STARTS + 1];

/* Or, with recording set: every request "starts" and is kept here to be answered by the test; every
 * timer's delay is kept too. */
typedef struct Recorded {
        char *path;
        KubeRequestOptions o;
} Recorded;
static bool recording;
static Recorded recorded[64];
static unsigned n_recorded;
static uint64_t timer_usec[64];
static unsigned n_timers;

int __real_sd_event_add_time_relative(sd_event *e, sd_event_source **s, clockid_t clock, uint64_t usec,
                                      uint64_t accuracy, sd_event_time_handler_t callback, void *userdata);
int __wrap_sd_event_add_time_relative(sd_event *e, sd_event_source **s, clockid_t clock, uint64_t usec,
                                      uint64_t accuracy, sd_event_time_handler_t callback, void *userdata);
int __wrap_kube_request_start(KubeClient *c, const KubeRequestOptions *o, KubeRequest **ret);

int __wrap_sd_event_add_time_relative(sd_event *e, sd_event_source **s, clockid_t clock, uint64_t usec,
                                      uint64_t accuracy, sd_event_time_handler_t callback, void *userdata)
{
        if (timers_fail)
                return -ENOMEM;
        if (recording) {
                assert_true(n_timers < ELEMENTSOF(timer_usec));
                timer_usec[n_timers++] = usec;
        }
        return __real_sd_event_add_time_relative(e, s, clock, usec, accuracy, callback, userdata);
}

/* Fails FAILED_STARTS times, then "starts" a request that never completes. */
int __wrap_kube_request_start(KubeClient *c, const KubeRequestOptions *o, KubeRequest **ret)
{
        uint64_t iteration = 0;
        if (recording) {
                assert_true(n_recorded < ELEMENTSOF(recorded));
                recorded[n_recorded] = (Recorded){.path = strdup(o->path), .o = *o};
                recorded[n_recorded++].o.path = NULL;
                *ret = NULL;
                return 0;
        }
        assert_int_equal(sd_event_get_iteration(loop, &iteration), 0);
        assert_true(n_starts <= FAILED_STARTS);
        start_iteration[n_starts++] = iteration;
        if (n_starts <= FAILED_STARTS)
                return -ENOMEM;
        *ret = NULL;
        return 0;
}

/* With no timer for the backoff, the next attempt comes on the loop's next turn: never from inside
 * the failed one, where a failure that lasts would recurse until the stack overflows, and the loop
 * (signals, the watchdog, the other reflectors) would not run in between. */
static void test_failed_start_retries_from_the_loop(void **state)
{
        KubeReflectorCallbacks cb = {};
        KubeReflectorOptions o = {.resource = "configmaps", .namespace = "ns", .callbacks = &cb};
        KubeReflector *r = NULL;

        recording = false; /* even when a test before failed midway */
        assert_int_equal(sd_event_new(&loop), 0);
        assert_int_equal(kube_reflector_new(NULL, loop, &o, &r), 0);
        timers_fail = true;
        assert_int_equal(kube_reflector_start(r), 0);
        assert_int_equal(n_starts, 1);
        for (unsigned turn = 0; n_starts <= FAILED_STARTS && turn < 2 * FAILED_STARTS; turn++)
                assert_true(sd_event_run(loop, 0) >= 0);
        assert_int_equal(n_starts, FAILED_STARTS + 1);
        for (unsigned i = 1; i < n_starts; i++)
                assert_true(start_iteration[i] > start_iteration[i - 1]);
        assert_int_equal(kube_reflector_stats(r)->errors, FAILED_STARTS);
        timers_fail = false;
        kube_reflector_free(r);
        loop = sd_event_unref(loop);
}

typedef struct Seen {
        unsigned objects, list_ends, problems;
        bool complete;
        char detail[1024];
} Seen;

static void seen_object(KubeReflector *r, KubeEventType type, json_t *object, void *userdata)
{
        ((Seen *) userdata)->objects++;
}

static void seen_list_end(KubeReflector *r, bool complete, void *userdata)
{
        Seen *seen = userdata;
        seen->list_ends++;
        seen->complete = complete;
}

static void seen_problem(KubeReflector *r, const char *verb, int error, const KubeStatus *status,
                         const char *detail, void *userdata)
{
        Seen *seen = userdata;
        seen->problems++;
        (void) snprintf(seen->detail, sizeof(seen->detail), "%s", detail ?: "");
}

static const KubeReflectorCallbacks seen_callbacks = {
        .object = seen_object,
        .list_end = seen_list_end,
        .problem = seen_problem,
};

static Recorded *last_request(void)
{
        assert_true(n_recorded > 0);
        return &recorded[n_recorded - 1];
}

/* The last request gets body (2xx, streamed), then ends with error. */
static void answer(int error, long http, const char *body)
{
        Recorded *q = last_request();
        KubeStatus s = {.http = http, .retry_after = -1};
        int k = 0;
        if (body)
                k = q->o.on_data(NULL, body, strlen(body), q->o.userdata);
        q->o.on_done(NULL, k < 0 ? k : error, &s, NULL, 0, q->o.userdata);
}

static void run_until_request(unsigned n)
{
        for (unsigned turn = 0; n_recorded < n && turn < 1000; turn++)
                assert_true(sd_event_run(loop, UINT64_MAX) >= 0);
        assert_int_equal(n_recorded, n);
}

static void recording_start(double scale, Seen *seen, KubeReflector **ret)
{
        KubeReflectorOptions o = {
                .resource = "configmaps",
                .namespace = "ns",
                .time_scale = scale,
                .callbacks = &seen_callbacks,
                .userdata = seen,
        };
        assert_int_equal(sd_event_new(&loop), 0);
        recording = true;
        n_recorded = n_timers = 0;
        assert_int_equal(kube_reflector_new(NULL, loop, &o, ret), 0);
        assert_int_equal(kube_reflector_start(*ret), 0);
        assert_int_equal(n_recorded, 1);
}

static void recording_stop(KubeReflector *r)
{
        kube_reflector_free(r);
        loop = sd_event_unref(loop);
        for (unsigned i = 0; i < n_recorded; i++)
                free(recorded[i].path);
        recording = false;
}

/* Finding 10 of issue 12: every watch ending in 410 was relisted at once. client-go waits out its
 * backoff manager between ListAndWatch returns, 410 included: 0.8 s doubling, jittered, capped at 30 s;
 * a watch that delivered an event starts the sequence again. (Scaled 1000 times down here.) */
static void test_relist_after_410_backs_off(void **state)
{
        /* Five: their waits (under 50 ms) stay within the 120 ms after which the backoff starts again. */
        static const uint64_t first_wait[] = {800, 1600, 3200, 6400, 12800};
        static const char empty_list[] =
                "{\"kind\":\"ConfigMapList\",\"metadata\":{\"resourceVersion\":\"5\"},\"items\":[]}";
        Seen seen = {};
        KubeReflector *r = NULL;

        recording_start(0.001, &seen, &r);
        for (unsigned cycle = 0; cycle < ELEMENTSOF(first_wait); cycle++) {
                answer(0, 200, empty_list);
                assert_non_null(strstr(last_request()->path, "watch=1&resourceVersion=5&"));
                unsigned requests = n_recorded, timers = n_timers;
                answer(-ESTALE, 410, NULL);
                /* Not at once: after a timer of the backoff's length. */
                assert_int_equal(n_recorded, requests);
                assert_int_equal(n_timers, timers + 1);
                uint64_t d = timer_usec[n_timers - 1];
                assert_true(d >= first_wait[cycle] && d < 2 * first_wait[cycle]);
                assert_non_null(strstr(seen.detail, "resourceVersion expired; listing again in 0.0"));
                run_until_request(requests + 1);
                assert_non_null(strstr(last_request()->path, "?limit=10"));
        }
        /* A watch that delivered an event ends the run: the next 410 waits the first step again. */
        answer(0, 200, empty_list);
        answer(-ESTALE, 410,
               "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"a\",\"resourceVersion\":\"6\"}}}"
               "\n");
        assert_true(timer_usec[n_timers - 1] >= 800 && timer_usec[n_timers - 1] < 1600);
        assert_int_equal(seen.objects, 1);
        assert_int_equal(kube_reflector_stats(r)->relists, ELEMENTSOF(first_wait));
        recording_stop(r);
}

/* Finding 3b of issue 12: a page over the page bound failed the list forever. It is asked for
 * again at half the size, down to one object; one object alone over the bound is skipped by name,
 * from the page's first bytes, and the list ends incomplete. */
static void test_page_over_a_bound_is_halved_then_skipped(void **state)
{
        Seen seen = {};
        KubeReflector *r = NULL;
        size_t n = 300000;
        char *values = malloc(n * 3 + 1), *p = values;
        for (size_t i = 0; i < n; i++)
                p = stpcpy(p, "[],");
        _cleanup_free_ char *page = NULL, *big = NULL;
        assert_true(asprintf(&page,
                             "{\"metadata\":{\"resourceVersion\":\"5\",\"continue\":\"c1\"},\"items\":["
                             "{\"metadata\":{\"name\":\"a\"},\"data\":{\"x\":[%s[]]}}]}",
                             values) > 0);
        assert_true(
                asprintf(&big,
                         "{\"metadata\":{\"resourceVersion\":\"5\",\"continue\":\"c+2\"},\"items\":["
                         "{\"metadata\":{\"name\":\"big\",\"namespace\":\"ns\"},\"data\":{\"x\":[%s[]]}}]}",
                         values) > 0);
        free(values);

        recording_start(0.001, &seen, &r);
        static const char *const limits[] = {"limit=10", "limit=5", "limit=2", "limit=1"};
        for (unsigned i = 0; i < ELEMENTSOF(limits); i++) {
                assert_non_null(strstr(last_request()->path, limits[i]));
                assert_null(strstr(last_request()->path, "continue="));
                unsigned requests = n_recorded;
                answer(0, 200, i < 3 ? page : big);
                assert_int_equal(n_recorded, requests + 1); /* at once, not after a backoff */
        }
        assert_string_equal(seen.detail,
                            "object big alone holds more than 262144 JSON values, over the bound for a "
                            "list page: skipped; the list is incomplete, so nothing it lacks is removed");
        assert_non_null(strstr(last_request()->path, "limit=1&continue=c%2B2"));
        answer(0, 200,
               "{\"metadata\":{\"resourceVersion\":\"9\"},\"items\":[{\"metadata\":{\"name\":\"small\"}}]}");
        assert_int_equal(seen.objects, 1);
        assert_int_equal(seen.list_ends, 1);
        assert_false(seen.complete);
        assert_false(kube_reflector_synced(r));
        /* Watched from the first page's version; the next list asks for 10 again. */
        assert_non_null(strstr(last_request()->path, "watch=1&resourceVersion=5&"));
        answer(-EIO, 500, NULL);
        run_until_request(n_recorded + 1);
        assert_non_null(strstr(last_request()->path, "?limit=10"));
        assert_null(strstr(last_request()->path, "continue="));
        assert_int_equal(n_timers, 1);
        recording_stop(r);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_status_table),
                cmocka_unit_test(test_error_summary),
                cmocka_unit_test(test_relist_after_410_backs_off),
                cmocka_unit_test(test_page_over_a_bound_is_halved_then_skipped),
                cmocka_unit_test(test_backoff),
                cmocka_unit_test(test_failed_start_retries_from_the_loop),
        };
        cmocka_set_message_output(CM_OUTPUT_TAP);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
