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

typedef enum Phase {
        PHASE_IDLE,
        PHASE_LISTING,
        PHASE_WATCHING,
        PHASE_WAITING,
} Phase;

struct KubeReflector {
        KubeClient *client; /* borrowed */
        sd_event *event;
        char *resource, *namespace, *selector;
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

        /* The watch in progress. */
        char *line;
        size_t line_len, line_allocated;
        uint64_t watch_started_usec;
        uint64_t watch_events;
        int watch_error; /* what the stream said before it ended: -ESTALE for ERROR 410 ... */
        KubeStatus watch_status;

        KubeBackoff backoff;
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

/* After a failure: wait out the backoff (or a longer Retry-After), then relist or re-watch. */
static void wait_then(KubeReflector *r, bool relist, int retry_after)
{
        uint64_t d = kube_backoff_next(&r->backoff, now_usec(r), random01());
        if (retry_after > 0)
                d = MAX(d, (uint64_t) ((double) retry_after * USEC_PER_SEC * r->scale));
        r->stats.errors++;
        r->failures++;
        r->phase = PHASE_WAITING;
        r->next_is_relist = relist;
        r->timer = sd_event_source_disable_unref(r->timer);
        if (sd_event_add_time_relative(r->event, &r->timer, CLOCK_MONOTONIC, d, 0, on_wait_done, r) >= 0)
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

static int path_for(KubeReflector *r, const char *query, char **ret)
{
        _cleanup_free_ char *sel = NULL;
        if (r->selector && url_escape(r->selector, &sel) < 0)
                return -ENOMEM;
        if (asprintf(ret, "/api/v1/namespaces/%s/%s?%s%s%s", r->namespace, r->resource, query,
                     sel ? "&labelSelector=" : "", sel ?: "") < 0)
                return -ENOMEM;
        return 0;
}

static void on_list_done(KubeRequest *req, int error, const KubeStatus *s, const char *body, size_t len,
                         void *userdata)
{
        KubeReflector *r = userdata;
        json_t *j = NULL;
        json_error_t e;

        r->request = NULL;
        if (error == -ESTALE && r->continue_token) {
                /* The continue token expired (etcd compaction): start the list again, from page one. */
                report(r, "list", error, s, "continue token expired; listing again from the start");
                free(r->continue_token);
                r->continue_token = NULL;
                wait_then(r, true, -1);
                return;
        }
        if (error < 0) {
                report(r, "list", error, s, NULL);
                /* A list interrupted midway keeps its continue token: the retry resumes it. */
                wait_then(r, true, s ? s->retry_after : -1);
                return;
        }
        j = json_loadb(body, len, JSON_ALLOW_NUL, &e);
        json_t *items = j ? json_object_get(j, "items") : NULL;
        json_t *meta = j ? json_object_get(j, "metadata") : NULL;
        const char *rv = json_string_value(json_object_get(meta, "resourceVersion"));
        const char *cont = json_string_value(json_object_get(meta, "continue"));
        if (!json_is_array(items) || !rv) {
                json_decref(j);
                report(r, "list", -EBADMSG, s, "the response is not a list");
                wait_then(r, true, -1);
                return;
        }
        request_succeeded(r, "list");
        if (!r->continue_token) {
                r->stats.lists++;
                r->list_complete = true;
                free(r->list_rv);
                r->list_rv = strdup(rv);
                if (r->cb.list_begin)
                        r->cb.list_begin(r, r->userdata);
        }
        size_t i;
        json_t *item;
        json_array_foreach(items, i, item)
        {
                /* Items carry no kind (kubernetes/kubernetes#3030): the consumer knows the resource. */
                size_t size = json_dumpb(item, NULL, 0, JSON_COMPACT);
                if (size > KUBE_OBJECT_MAX) {
                        const char *name = json_string_value(
                                json_object_get(json_object_get(item, "metadata"), "name"));
                        char detail[512];
                        (void) snprintf(detail, sizeof(detail),
                                        "object %s is %zu bytes, over the %d limit: refused", name ?: "?",
                                        size, KUBE_OBJECT_MAX);
                        report(r, "list", -EFBIG, NULL, detail);
                        r->list_complete = false;
                        continue;
                }
                if (r->cb.object)
                        r->cb.object(r, KUBE_ADDED, item, r->userdata);
        }
        free(r->continue_token);
        r->continue_token = cont && *cont ? strdup(cont) : NULL;
        json_decref(j);
        if (r->continue_token) {
                start_list(r);
                return;
        }
        /* The whole list is in: what did not come is gone. Watch from the list's version. */
        free(r->rv);
        r->rv = TAKE_PTR(r->list_rv);
        r->synced = r->synced || r->list_complete;
        if (r->cb.list_end)
                r->cb.list_end(r, r->list_complete, r->userdata);
        start_watch(r);
}

static void start_list(KubeReflector *r)
{
        _cleanup_free_ char *path = NULL, *query = NULL, *cont = NULL;
        if (r->continue_token && url_escape(r->continue_token, &cont) < 0)
                goto oom;
        /* resourceVersion unset: a consistent read, paginated so no page is unbounded. */
        if (asprintf(&query, "limit=%d%s%s", KUBE_LIST_LIMIT, cont ? "&continue=" : "", cont ?: "") < 0 ||
            path_for(r, query, &path) < 0)
                goto oom;
        if (r->continue_token == NULL && r->stats.lists > 0)
                r->stats.relists++;
        r->phase = PHASE_LISTING;
        KubeRequestOptions o = {
                .path = path,
                .max_body = KUBE_LIST_PAGE_MAX,
                .timeout_usec = (uint64_t) ((double) REQUEST_TIMEOUT_USEC * MAX(r->scale, 0.05)),
                .on_done = on_list_done,
                .userdata = r,
        };
        if (kube_request_start(r->client, &o, &r->request) >= 0)
                return;
oom:
        wait_then(r, true, -1);
}

/* One line of the watch stream: one event, as Go's json.Encoder writes it. */
static int watch_line(KubeReflector *r, const char *line, size_t len)
{
        json_error_t e;
        json_t *j = json_loadb(line, len, JSON_ALLOW_NUL, &e);
        const char *type = j ? json_string_value(json_object_get(j, "type")) : NULL;
        json_t *obj = j ? json_object_get(j, "object") : NULL;
        int k = 0;

        if (!type || !json_is_object(obj)) {
                json_decref(j);
                return -EBADMSG;
        }
        const char *rv =
                json_string_value(json_object_get(json_object_get(obj, "metadata"), "resourceVersion"));
        if (strcmp(type, "ERROR") == 0) {
                json_int_t code = json_integer_value(json_object_get(obj, "code"));
                const char *reason = json_string_value(json_object_get(obj, "reason"));
                const char *message = json_string_value(json_object_get(obj, "message"));
                kube_status_clear(&r->watch_status);
                r->watch_status.http = (long) code;
                r->watch_status.reason = reason ? strdup(reason) : NULL;
                r->watch_status.message = message ? strdup(message) : NULL;
                bool expired = code == 410 ||
                               (reason && (strcmp(reason, "Expired") == 0 || strcmp(reason, "Gone") == 0));
                k = expired ? -ESTALE : code == 429 ? -EAGAIN : -EIO;
        } else if (strcmp(type, "BOOKMARK") == 0) {
                r->stats.bookmarks++;
        } else if (strcmp(type, "ADDED") == 0 || strcmp(type, "MODIFIED") == 0 ||
                   strcmp(type, "DELETED") == 0) {
                KubeEventType t = type[0] == 'A'   ? KUBE_ADDED
                                  : type[0] == 'M' ? KUBE_MODIFIED
                                                   : KUBE_DELETED;
                r->stats.events++;
                r->watch_events++;
                if (r->cb.object)
                        r->cb.object(r, t, obj, r->userdata);
        } else
                k = -EBADMSG; /* client-go: an unknown type is a decoding error */
        /* Every event, bookmarks included, moves the version the next watch starts from. */
        if (k == 0 && rv && *rv) {
                char *copy = strdup(rv);
                if (copy) {
                        free(r->rv);
                        r->rv = copy;
                }
        }
        json_decref(j);
        return k;
}

/* Events may be split anywhere across chunks, and a chunk may hold many: buffer up to the newline. */
static int on_watch_data(KubeRequest *req, const char *buf, size_t len, void *userdata)
{
        KubeReflector *r = userdata;
        while (len > 0) {
                const char *nl = memchr(buf, '\n', len);
                size_t take = nl ? (size_t) (nl - buf) : len;
                if (r->line_len + take > KUBE_OBJECT_MAX)
                        return -EFBIG;
                if (r->line_len + take + 1 > r->line_allocated) {
                        size_t a = MAX(MAX(r->line_allocated * 2, r->line_len + take + 1), (size_t) 4096);
                        char *l = realloc(r->line, a);
                        if (!l)
                                return -ENOMEM;
                        r->line = l;
                        r->line_allocated = a;
                }
                memcpy(r->line + r->line_len, buf, take);
                r->line_len += take;
                buf += take;
                len -= take;
                if (!nl)
                        break;
                buf++;
                len--;
                size_t n = r->line_len;
                r->line_len = 0;
                if (n > 0) {
                        int k = watch_line(r, r->line, n);
                        if (k < 0)
                                return k;
                }
        }
        /* A line buffer grown by one big event is not kept for the life of the watch. */
        if (r->line_len == 0 && r->line_allocated > 65536) {
                free(r->line);
                r->line = NULL;
                r->line_allocated = 0;
        }
        return 0;
}

static void on_watch_done(KubeRequest *req, int error, const KubeStatus *s, const char *body, size_t len,
                          void *userdata)
{
        KubeReflector *r = userdata;
        uint64_t lasted = now_usec(r) - r->watch_started_usec;
        bool stream_error = error < 0 && r->watch_status.http != 0;
        const KubeStatus *st = stream_error ? &r->watch_status : s;

        r->request = NULL;
        r->line_len = 0;
        if (error == -ESTALE) {
                /* Too old a resourceVersion (an ERROR event or the HTTP status): relist at once. */
                report(r, "watch", error, st, "resourceVersion expired; listing again");
                r->failures = 0;
                start_list(r);
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
                report(r, "watch", error, st, error == -EFBIG ? "an event over 3 MiB was refused" : NULL);
                /* Refused connections and 429 keep the version; anything else relists. */
                bool rewatch = error == -ECONNREFUSED || error == -EAGAIN;
                wait_then(r, !rewatch, st ? st->retry_after : -1);
        }
        kube_status_clear(&r->watch_status);
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
        r->line_len = 0;
        kube_status_clear(&r->watch_status);
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
        r->cb = *o->callbacks;
        r->userdata = o->userdata;
        r->watch_status.retry_after = -1;
        r->resource = strdup(o->resource);
        r->namespace = strdup(o->namespace);
        r->selector = o->selector ? strdup(o->selector) : NULL;
        if (!r->resource || !r->namespace || (o->selector && !r->selector)) {
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
        free(r->rv);
        free(r->list_rv);
        free(r->continue_token);
        free(r->line);
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
