/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kube/reflector.h"
#include "shared/macro.h"

#define USEC_PER_SEC         1000000ULL
#define BACKOFF_INIT_USEC    (800 * 1000ULL)
#define BACKOFF_MAX_USEC     (30 * USEC_PER_SEC)
#define BACKOFF_RESET_USEC   (120 * USEC_PER_SEC)
#define WATCH_MIN_SEC        300
#define WATCH_DEADLINE_EXTRA (30 * USEC_PER_SEC)
#define REQUEST_TIMEOUT_USEC (60 * USEC_PER_SEC)
#define SHORT_WATCH_USEC     (1 * USEC_PER_SEC)
#define TIMER_SLACK_USEC     (250 * 1000ULL)

typedef enum Phase {
        PHASE_IDLE,
        PHASE_LISTING,
        PHASE_WATCHING,
        PHASE_WAITING,
} Phase;

struct KubeReflector {
        KubeClient *client; /* borrowed */
        sd_event *event;
        char *resource, *namespace, *selector, *field_selector;
        double scale;
        KubeReflectorCallbacks cb;
        void *userdata;

        Phase phase;
        KubeRequest *request;
        sd_event_source *timer;
        bool next_is_relist; /* after the wait: list again, rather than watch */
        char *rv;            /* last resourceVersion seen: opaque */
        char *list_rv;       /* of the list in progress (its first page) */
        char *continue_token;
        bool list_complete; /* nothing refused in the list in progress */
        bool synced;
        int auth_error;
        int failures; /* consecutive failed requests */

        /* The list page in progress, scanned as it arrives. */
        char *page;
        size_t page_len, page_allocated;
        KubeJsonScan page_scan;
        unsigned limit; /* objects per page: KUBE_LIST_LIMIT, halved while pages are too large */

        /* The watch in progress. */
        KubeLineFramer framer;
        uint64_t watch_started_usec;
        uint64_t watch_events;
        KubeStatus watch_status; /* what an ERROR event said before the stream ended */
        char watch_detail[512];  /* what was wrong with the line that ended it */

        KubeBackoff backoff;
        KubeBackoff expired_backoff; /* between 410 -> relist cycles */
        KubeReflectorStats stats;
};

static uint64_t now_usec(const KubeReflector *r)
{
        uint64_t t;
        if (sd_event_now(r->event, CLOCK_MONOTONIC, &t) < 0) {
                struct timespec ts;
                clock_gettime(CLOCK_MONOTONIC, &ts);
                t = (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000;
        }
        return t;
}

static double random01(void)
{
        return (double) random() / ((double) RAND_MAX + 1.0);
}

uint64_t kube_backoff_next(KubeBackoff *b, uint64_t now, double rnd)
{
        uint64_t init = (uint64_t) ((double) BACKOFF_INIT_USEC * b->scale),
                 max = (uint64_t) ((double) BACKOFF_MAX_USEC * b->scale),
                 reset = (uint64_t) ((double) BACKOFF_RESET_USEC * b->scale);
        if (b->step_usec == 0 || now - b->last_reset_usec > reset) {
                b->step_usec = init;
                b->last_reset_usec = now;
        }
        uint64_t d = MIN(b->step_usec, max);
        b->step_usec = MIN(b->step_usec * 2, max);
        return d + (uint64_t) ((double) d * rnd);
}

void kube_backoff_reset(KubeBackoff *b)
{
        b->step_usec = 0;
}

static int url_escape(const char *s, char **ret)
{
        static const char hex[] = "0123456789ABCDEF";
        char *out = malloc(strlen(s) * 3 + 1), *o = out;
        if (!out)
                return -ENOMEM;
        for (; *s; s++) {
                unsigned char c = (unsigned char) *s;
                if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                    c == '.' || c == '_' || c == '~')
                        *o++ = (char) c;
                else {
                        *o++ = '%';
                        *o++ = hex[c >> 4];
                        *o++ = hex[c & 15];
                }
        }
        *o = 0;
        *ret = out;
        return 0;
}

static void start_list(KubeReflector *r);
static void start_watch(KubeReflector *r);

static void report(KubeReflector *r, const char *verb, int error, const KubeStatus *s, const char *detail)
{
        if (error == -EACCES || error == -EPERM)
                r->auth_error = error;
        if (r->cb.problem)
                r->cb.problem(r, verb, error, s, detail, r->userdata);
}

static void request_succeeded(KubeReflector *r, const char *verb)
{
        bool recovered = r->failures > 0 || r->auth_error != 0;
        r->failures = 0;
        r->auth_error = 0;
        if (recovered && r->cb.problem)
                r->cb.problem(r, verb, 0, NULL, NULL, r->userdata);
}

static void retry(KubeReflector *r)
{
        r->timer = sd_event_source_disable_unref(r->timer);
        if (r->next_is_relist || !r->rv)
                start_list(r);
        else
                start_watch(r);
}

static int on_wait_done(sd_event_source *s, uint64_t usec, void *userdata)
{
        retry(userdata);
        return 0;
}

static int on_retry_deferred(sd_event_source *s, void *userdata)
{
        retry(userdata);
        return 0;
}

/* Relist or re-watch once d has passed. */
static void schedule(KubeReflector *r, bool relist, uint64_t d)
{
        r->phase = PHASE_WAITING;
        r->next_is_relist = relist;
        r->timer = sd_event_source_disable_unref(r->timer);
        /* sd-event's default slack (accuracy 0) is 250 ms: scaled like the wait itself, or compressed
         * timers would all be late by the same 250 ms. */
        uint64_t slack = MAX((uint64_t) ((double) TIMER_SLACK_USEC * r->scale), (uint64_t) 1);
        if (sd_event_add_time_relative(r->event, &r->timer, CLOCK_MONOTONIC, d, slack, on_wait_done, r) >= 0)
                return;
        /* Cannot even arm a timer: try again on the next turn rather than stall forever. Not by calling
         * start_*() from here: they come back here when they fail, and a lasting failure would recurse
         * without ever returning to the loop. */
        r->timer = NULL;
        if (sd_event_add_defer(r->event, &r->timer, on_retry_deferred, r) < 0) {
                r->timer = NULL;
                report(r, relist ? "list" : "watch", -ENOMEM, NULL,
                       "cannot schedule a retry; waiting for a relist");
        }
}

/* After a failure: wait out the backoff (or a longer Retry-After), then relist or re-watch. */
static void wait_then(KubeReflector *r, bool relist, int retry_after)
{
        uint64_t d = kube_backoff_next(&r->backoff, now_usec(r), random01());
        if (retry_after > 0)
                d = MAX(d, (uint64_t) ((double) retry_after * USEC_PER_SEC * r->scale));
        r->stats.errors++;
        r->failures++;
        schedule(r, relist, d);
}

static int path_for(KubeReflector *r, const char *query, char **ret)
{
        _cleanup_free_ char *sel = NULL, *fsel = NULL;
        if ((r->selector && url_escape(r->selector, &sel) < 0) ||
            (r->field_selector && url_escape(r->field_selector, &fsel) < 0))
                return -ENOMEM;
        /* No namespace: every namespace (/api/v1/pods). */
        if (asprintf(ret, "/api/v1/%s%s%s%s?%s%s%s%s%s", r->namespace ? "namespaces/" : "",
                     r->namespace ?: "", r->namespace ? "/" : "", r->resource, query,
                     sel ? "&labelSelector=" : "", sel ?: "", fsel ? "&fieldSelector=" : "", fsel ?: "") < 0)
                return -ENOMEM;
        return 0;
}

static void page_free(KubeReflector *r)
{
        free(r->page);
        r->page = NULL;
        r->page_len = r->page_allocated = 0;
}

/* The first page of a list has arrived (or its head, when its object was skipped). */
static void list_begins(KubeReflector *r, const char *rv)
{
        if (r->continue_token)
                return;
        r->stats.lists++;
        r->list_complete = true;
        free(r->list_rv);
        r->list_rv = strdup(rv);
        if (r->cb.list_begin)
                r->cb.list_begin(r, r->userdata);
}

/* The whole list is in: what did not come is gone, when nothing was refused. Watch from its version. */
static void list_finished(KubeReflector *r)
{
        free(r->rv);
        r->rv = TAKE_PTR(r->list_rv);
        r->synced = r->synced || r->list_complete;
        r->limit = KUBE_LIST_LIMIT; /* the next list learns its page size again */
        if (r->cb.list_end)
                r->cb.list_end(r, r->list_complete, r->userdata);
        start_watch(r);
}

/* A page passed a bound (its bytes, values or depth) and was cut off where it did. Smaller pages
 * first: the bound is per page, most pages that pass it are many large objects. One object alone
 * over it is skipped rather than retried forever: giving up there would stall every object after it
 * in the namespace, while skipping lists them all, and the list counts as incomplete, so the consumer
 * keeps what it had for the skipped object and removes nothing this list lacks (as for an item over
 * KUBE_OBJECT_MAX). Naming it and its continue token need only the page's first bytes, which Go
 * writes first (kube_list_head_decode). A page whose first bytes do not say that is a broken
 * server: retried with the backoff, nothing concluded. */
static void page_too_large(KubeReflector *r, const KubeStatus *s)
{
        _cleanup_(kube_list_head_clear) KubeListHead h = {};
        char bound[64], detail[768];

        (void) kube_json_scan_describe(&r->page_scan, bound, sizeof(bound));
        if (r->limit > 1) {
                unsigned was = r->limit;
                r->limit = MAX(r->limit / 2, 1u);
                (void) snprintf(
                        detail, sizeof(detail),
                        "a page of %u objects holds %s, over the bound for a list page; asking for %u "
                        "per page",
                        was, bound, r->limit);
                page_free(r);
                report(r, "list", -EFBIG, s, detail);
                start_list(r);
                return;
        }
        if (kube_list_head_decode(r->page, r->page_len, &h) < 0) {
                (void) snprintf(
                        detail, sizeof(detail),
                        "a page of one object holds %s, over the bound for a list page, and does not "
                        "begin like a list; retrying",
                        bound);
                page_free(r);
                report(r, "list", -EFBIG, s, detail);
                wait_then(r, true, -1);
                return;
        }
        page_free(r);
        list_begins(r, h.resource_version);
        (void) snprintf(detail, sizeof(detail),
                        "object %s alone holds %s, over the bound for a list page: skipped; the list is "
                        "incomplete, so nothing it lacks is removed",
                        h.first_name ?: "(its name is past the bound)", bound);
        report(r, "list", -EFBIG, s, detail);
        r->list_complete = false;
        free(r->continue_token);
        r->continue_token = TAKE_PTR(h.continue_token);
        if (r->continue_token)
                start_list(r);
        else
                list_finished(r);
}

/* The page as it arrives: kept up to the page bound, and scanned, so that a page over a bound stops
 * at the chunk that passes it, with its first bytes kept for page_too_large(). */
static int on_list_data(KubeRequest *req, const char *buf, size_t len, void *userdata)
{
        KubeReflector *r = userdata;
        size_t n = MIN(len, KUBE_LIST_PAGE_MAX - r->page_len);
        if (r->page_len + n + 1 > r->page_allocated) {
                size_t a = MIN(MAX(MAX(r->page_allocated * 2, r->page_len + n + 1), (size_t) 65536),
                               KUBE_LIST_PAGE_MAX + 1);
                char *p = realloc(r->page, a);
                if (!p)
                        return -ENOMEM;
                r->page = p;
                r->page_allocated = a;
        }
        memcpy(r->page + r->page_len, buf, n);
        r->page_len += n;
        return kube_json_scan(&r->page_scan, buf, len);
}

static void on_list_done(KubeRequest *req, int error, const KubeStatus *s, const char *body, size_t len,
                         void *userdata)
{
        _cleanup_(kube_list_page_clear) KubeListPage p = {};
        KubeReflector *r = userdata;
        char why[512];

        r->request = NULL;
        if (error == -EFBIG && r->page_scan.exceeded != KUBE_BOUND_NONE) {
                page_too_large(r, s);
                return;
        }
        if (error == -ESTALE && r->continue_token) {
                /* The continue token expired (etcd compaction): start the list again, from page one. */
                page_free(r);
                report(r, "list", error, s, "continue token expired; listing again from the start");
                free(r->continue_token);
                r->continue_token = NULL;
                wait_then(r, true, -1);
                return;
        }
        if (error < 0) {
                page_free(r);
                report(r, "list", error, s, NULL);
                /* A list interrupted midway keeps its continue token: the retry resumes it. */
                wait_then(r, true, s ? s->retry_after : -1);
                return;
        }
        int k = kube_list_page_decode(r->page, r->page_len, &p, why, sizeof(why));
        page_free(r); /* the tree holds copies: the bytes go before the objects are handed out */
        if (k < 0) {
                report(r, "list", k, s, why);
                wait_then(r, true, -1);
                return;
        }
        request_succeeded(r, "list");
        list_begins(r, p.resource_version);
        size_t i;
        json_t *item;
        json_array_foreach(p.items, i, item)
        {
                /* Items carry no kind (kubernetes/kubernetes#3030): the consumer knows the resource. */
                size_t size = json_dumpb(item, NULL, 0, JSON_COMPACT);
                if (size > KUBE_OBJECT_MAX) {
                        const char *name = json_string_value(
                                json_object_get(json_object_get(item, "metadata"), "name"));
                        char detail[512], escaped[253 * 4 + 4];
                        (void) snprintf(detail, sizeof(detail),
                                        "object %s is %zu bytes, over the %zu limit: refused",
                                        name ? kube_escape(name, strlen(name), 253, escaped, sizeof(escaped))
                                             : "?",
                                        size, KUBE_OBJECT_MAX);
                        report(r, "list", -EFBIG, NULL, detail);
                        r->list_complete = false;
                        continue;
                }
                if (r->cb.object)
                        r->cb.object(r, KUBE_ADDED, item, r->userdata);
        }
        free(r->continue_token);
        r->continue_token = p.continue_token ? strdup(p.continue_token) : NULL;
        if (r->continue_token) {
                start_list(r);
                return;
        }
        list_finished(r);
}

static void start_list(KubeReflector *r)
{
        _cleanup_free_ char *path = NULL, *query = NULL, *cont = NULL;
        if (r->continue_token && url_escape(r->continue_token, &cont) < 0)
                goto oom;
        /* resourceVersion unset: a consistent read, paginated so no page is unbounded. */
        if (asprintf(&query, "limit=%u%s%s", r->limit, cont ? "&continue=" : "", cont ?: "") < 0 ||
            path_for(r, query, &path) < 0)
                goto oom;
        if (r->continue_token == NULL && r->stats.lists > 0)
                r->stats.relists++;
        r->phase = PHASE_LISTING;
        page_free(r);
        kube_json_scan_init(&r->page_scan, KUBE_LIST_PAGE_MAX);
        KubeRequestOptions o = {
                .path = path,
                .timeout_usec = (uint64_t) ((double) REQUEST_TIMEOUT_USEC * MAX(r->scale, 0.05)),
                .on_data = on_list_data,
                .on_done = on_list_done,
                .userdata = r,
        };
        if (kube_request_start(r->client, &o, &r->request) >= 0)
                return;
oom:
        wait_then(r, true, -1);
}

/* One line of the watch stream: one event, as Go's json.Encoder writes it. */
static int watch_line(const char *line, size_t len, void *userdata)
{
        _cleanup_(kube_watch_event_clear) KubeWatchEvent e = {};
        KubeReflector *r = userdata;
        char why[sizeof(r->watch_detail) - 64];
        int k = kube_watch_event_decode(line, len, &e, why, sizeof(why));
        if (k < 0) {
                (void) snprintf(r->watch_detail, sizeof(r->watch_detail), "%s watch event was refused: %s",
                                k == -EFBIG ? "a" : "a malformed", why);
                return k;
        }
        switch (e.type) {
        case KUBE_WATCH_ERROR: {
                const char *reason = e.status.reason;
                bool expired = e.status.http == 410 ||
                               (reason && (strcmp(reason, "Expired") == 0 || strcmp(reason, "Gone") == 0));
                k = expired ? -ESTALE : e.status.http == 429 ? -EAGAIN : -EIO;
                kube_status_clear(&r->watch_status);
                r->watch_status = e.status;
                e.status = (KubeStatus){.retry_after = -1};
                /* A Status in the stream is the server's word, not a stream we failed to read. */
                if (r->watch_status.http == 0)
                        r->watch_status.http = 500;
                break;
        }
        case KUBE_WATCH_BOOKMARK:
                r->stats.bookmarks++;
                break;
        case KUBE_WATCH_ADDED:
        case KUBE_WATCH_MODIFIED:
        case KUBE_WATCH_DELETED:
                r->stats.events++;
                r->watch_events++;
                if (r->cb.object)
                        r->cb.object(r,
                                     e.type == KUBE_WATCH_ADDED      ? KUBE_ADDED
                                     : e.type == KUBE_WATCH_MODIFIED ? KUBE_MODIFIED
                                                                     : KUBE_DELETED,
                                     e.object, r->userdata);
                break;
        }
        /* Every event, bookmarks included, moves the version the next watch starts from. */
        if (k == 0 && e.resource_version) {
                char *copy = strdup(e.resource_version);
                if (copy) {
                        free(r->rv);
                        r->rv = copy;
                }
        }
        return k;
}

static int on_watch_data(KubeRequest *req, const char *buf, size_t len, void *userdata)
{
        KubeReflector *r = userdata;
        int k = kube_line_framer_feed(&r->framer, buf, len, watch_line, r);
        if (k == -EFBIG && !r->watch_detail[0])
                (void) snprintf(r->watch_detail, sizeof(r->watch_detail),
                                "an event over 3 MiB was refused (a line of more than %zu bytes)",
                                KUBE_OBJECT_MAX);
        return k;
}

/* 410 again and again (a server whose history is always too short for us): relist, but after a wait
 * that grows with each, as client-go's does. */
static void relist_after_expiry(KubeReflector *r, const KubeStatus *st)
{
        uint64_t d = kube_backoff_next(&r->expired_backoff, now_usec(r), random01());
        char detail[128];
        (void) snprintf(detail, sizeof(detail), "resourceVersion expired; listing again in %.3f s",
                        (double) d / USEC_PER_SEC);
        report(r, "watch", -ESTALE, st, detail);
        r->failures = 0;
        schedule(r, true, d);
}

static void on_watch_done(KubeRequest *req, int error, const KubeStatus *s, const char *body, size_t len,
                          void *userdata)
{
        KubeReflector *r = userdata;
        uint64_t lasted = now_usec(r) - r->watch_started_usec;
        bool stream_error = error < 0 && r->watch_status.http != 0;
        const KubeStatus *st = stream_error ? &r->watch_status : s;
        const char *detail = r->watch_detail[0] ? r->watch_detail : NULL;

        r->request = NULL;
        kube_line_framer_reset(&r->framer);
        /* A watch that delivered or lasted ends a run of 410s. */
        if (r->watch_events > 0 || lasted >= (uint64_t) ((double) BACKOFF_RESET_USEC * r->scale))
                kube_backoff_reset(&r->expired_backoff);
        if (error == -ESTALE) {
                /* Too old a resourceVersion (an ERROR event or the HTTP status): relist. */
                relist_after_expiry(r, st);
        } else if (error == 0 || (error == -ETIMEDOUT && r->watch_events > 0)) {
                /* The server ended the watch (its timeout, a restart) or our deadline passed on a live
                 * stream: watch again from where we are, without a list. A stream that ends at once
                 * with nothing in it is an error in disguise. */
                if (error == 0 && lasted < SHORT_WATCH_USEC * r->scale && r->watch_events == 0) {
                        report(r, "watch", -EPIPE, s, "the watch ended at once with no event");
                        wait_then(r, true, -1);
                } else {
                        r->stats.watch_restarts++;
                        start_watch(r);
                }
        } else {
                report(r, "watch", error, st, detail);
                /* Refused connections and 429 keep the version; anything else relists. */
                bool rewatch = error == -ECONNREFUSED || error == -EAGAIN;
                wait_then(r, !rewatch, st ? st->retry_after : -1);
        }
        kube_status_clear(&r->watch_status);
        r->watch_detail[0] = 0;
}

static void start_watch(KubeReflector *r)
{
        _cleanup_free_ char *path = NULL, *query = NULL, *rv = NULL;
        unsigned timeout = WATCH_MIN_SEC + (unsigned) (random01() * WATCH_MIN_SEC);
        timeout = MAX((unsigned) ((double) timeout * r->scale), 1u);

        if (url_escape(r->rv ?: "", &rv) < 0 ||
            asprintf(&query, "watch=1&resourceVersion=%s&allowWatchBookmarks=true&timeoutSeconds=%u", rv,
                     timeout) < 0 ||
            path_for(r, query, &path) < 0)
                goto fail;
        r->phase = PHASE_WATCHING;
        r->watch_started_usec = now_usec(r);
        r->watch_events = 0;
        kube_line_framer_reset(&r->framer);
        kube_status_clear(&r->watch_status);
        r->watch_detail[0] = 0;
        r->stats.watches++;
        KubeRequestOptions o = {
                .path = path,
                .timeout_usec = (uint64_t) timeout * USEC_PER_SEC +
                                (uint64_t) ((double) WATCH_DEADLINE_EXTRA * r->scale),
                .on_data = on_watch_data,
                .on_done = on_watch_done,
                .userdata = r,
        };
        if (kube_request_start(r->client, &o, &r->request) >= 0) {
                /* The watch is open as far as we know; its first failure will say otherwise. */
                return;
        }
fail:
        wait_then(r, false, -1);
}

int kube_reflector_new(KubeClient *client, sd_event *event, const KubeReflectorOptions *o,
                       KubeReflector **ret)
{
        KubeReflector *r = calloc(1, sizeof(KubeReflector));
        if (!r)
                return -ENOMEM;
        r->client = client;
        r->event = sd_event_ref(event);
        r->scale = o->time_scale > 0 ? o->time_scale : 1.0;
        r->backoff.scale = r->scale;
        r->expired_backoff.scale = r->scale;
        r->limit = KUBE_LIST_LIMIT;
        r->framer.max = KUBE_OBJECT_MAX;
        r->cb = *o->callbacks;
        r->userdata = o->userdata;
        r->watch_status.retry_after = -1;
        r->resource = strdup(o->resource);
        r->namespace = o->namespace ? strdup(o->namespace) : NULL;
        r->selector = o->selector ? strdup(o->selector) : NULL;
        r->field_selector = o->field_selector ? strdup(o->field_selector) : NULL;
        if (!r->resource || (o->namespace && !r->namespace) || (o->selector && !r->selector) ||
            (o->field_selector && !r->field_selector)) {
                kube_reflector_free(r);
                return -ENOMEM;
        }
        *ret = r;
        return 0;
}

KubeReflector *kube_reflector_free(KubeReflector *r)
{
        if (!r)
                return NULL;
        if (r->request)
                kube_request_cancel(r->request);
        sd_event_source_disable_unref(r->timer);
        sd_event_unref(r->event);
        kube_status_clear(&r->watch_status);
        free(r->resource);
        free(r->namespace);
        free(r->selector);
        free(r->field_selector);
        free(r->rv);
        free(r->list_rv);
        free(r->continue_token);
        free(r->page);
        kube_line_framer_free(&r->framer);
        free(r);
        return NULL;
}

int kube_reflector_start(KubeReflector *r)
{
        start_list(r);
        return 0;
}

void kube_reflector_relist(KubeReflector *r)
{
        if (r->phase == PHASE_LISTING)
                return;
        if (r->request) {
                kube_request_cancel(r->request);
                r->request = NULL;
        }
        r->timer = sd_event_source_disable_unref(r->timer);
        free(r->continue_token);
        r->continue_token = NULL;
        start_list(r);
}

const char *kube_reflector_resource(const KubeReflector *r)
{
        return r->resource;
}

const char *kube_reflector_namespace(const KubeReflector *r)
{
        return r->namespace;
}

bool kube_reflector_synced(const KubeReflector *r)
{
        return r->synced;
}

int kube_reflector_auth_error(const KubeReflector *r)
{
        return r->auth_error;
}

const KubeReflectorStats *kube_reflector_stats(const KubeReflector *r)
{
        return &r->stats;
}
