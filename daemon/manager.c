/* SPDX-License-Identifier: Apache-2.0 */
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>
#include <time.h>

#include "builtin-source.h"
#include "cache.h"
#include "dir-source.h"
#include "drift.h"
#include "http.h"
#include "kube-node.h"
#include "kube-source.h"
#include "kube/kubeconfig.h"
#include "log.h"
#include "manager.h"
#include "metrics.h"
#include "source.h"
#include "sync.h"

#define DEFAULT_LISTEN ":9464"

struct Manager {
        ManagerOptions o;
        sd_event *event;
        SyncRoot *root;
        VerdictCache *cache;
        Source *source;
        Drift *drift; /* NULL with --once */
        sd_event_source *resync, *grace_timer, *retry_timer, *trim_timer;
        unsigned failing_syncs; /* consecutive syncs that could not install everything */
        size_t failed;          /* profiles the last sync could not install */
        char *failure;          /* the first of them, for /readyz */
        bool need_full; /* the next sync trusts nothing seen before: start, SIGHUP, drift, the timer */
        bool ready;
        double time_scale; /* SECCOMPD_TEST_TIME_SCALE, for every timer */
        unsigned syncs;
        SyncStatus last_status;
        uint64_t changed_since; /* CLOCK_MONOTONIC usec of the first change not yet synced, 0: none */

        /* What only the Kubernetes source has: set up by setup_kube(), NULL otherwise. */
        KubeConfig kube_config;
        KubeSource *kube; /* borrowed: the same object as source, or the one it wraps */
        KubeNode *node;
        Metrics *metrics;
        HttpServer *http;
        sd_event_source *metrics_timer, *once_deadline;
        KubeReflectorStats counted; /* what the metrics have already counted */
        KubeClientStats counted_http;
};

static uint64_t now_usec(clockid_t clock)
{
        struct timespec ts;
        clock_gettime(clock, &ts);
        return (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000;
}

static int on_resync(sd_event_source *s, void *userdata)
{
        Manager *m = userdata;
        m->resync = sd_event_source_disable_unref(m->resync);
        (void) manager_sync(m);
        return 0;
}

/* Changes come in bursts (an editor, a ConfigMap volume swapping ..data, a list page): one sync per
 * loop turn. */
static void schedule_sync(Manager *m)
{
        if (!m->resync)
                (void) sd_event_add_defer(m->event, &m->resync, on_resync, m);
}

static void need_full_sync(Manager *m)
{
        m->need_full = true;
        schedule_sync(m);
}

static void on_source_changed(void *userdata)
{
        Manager *m = userdata;
        if (!m->changed_since)
                m->changed_since = now_usec(CLOCK_MONOTONIC);
        schedule_sync(m);
}

static void on_drift(void *userdata)
{
        need_full_sync(userdata); /* someone else changed a managed file: repaired by a full sync */
}

static int on_grace_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
        need_full_sync(userdata);
        return 0;
}

/* What could not be written (a full disk, a read-only root, EIO) is tried again, later each time: 1 s
 * doubling to 5 min, as long as it fails. The source keeps those bytes (or reads them again). */
#define RETRY_FIRST_USEC (1000000ULL)
#define RETRY_MAX_USEC   (300 * 1000000ULL)

static int on_retry_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
        Manager *m = userdata;
        m->retry_timer = sd_event_source_disable_unref(m->retry_timer);
        log_info("trying again to install what failed");
        need_full_sync(m);
        return 0;
}

static void schedule_retry(Manager *m)
{
        uint64_t delay = RETRY_FIRST_USEC;
        for (unsigned i = 1; i < m->failing_syncs && delay < RETRY_MAX_USEC; i++)
                delay *= 2;
        delay = (uint64_t) ((double) MIN(delay, RETRY_MAX_USEC) * m->time_scale);
        m->retry_timer = sd_event_source_disable_unref(m->retry_timer);
        (void) sd_event_add_time_relative(m->event, &m->retry_timer, CLOCK_MONOTONIC, delay, 0,
                                          on_retry_timer, m);
}

static int on_sighup(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
        log_info("SIGHUP: full resync");
        need_full_sync(userdata);
        return 0;
}

/* The engine's own actions, said by the manager; what concerns a source's objects (rejections,
 * conflicts, warnings) is the source's to report, once per version, in after_sync(). */
static void log_sync_events(Manager *m, const SourceDesired *d, const SyncResult *res)
{
        for (size_t i = 0; i < res->n_events; i++) {
                const SyncEvent *e = res->events + i;
                switch (e->action) {
                case SYNC_NEEDS_BYTES:
                        /* An own file is gone or changed while the source kept only its hash. */
                        source_need_bytes(m->source, e->index);
                        break;
                case SYNC_REJECTED:
                case SYNC_KEPT_LAST_GOOD:
                        break;
                case SYNC_CONFLICT:
                        if (e->index < d->n)
                                break;
                        log_profile(LOG_WARNING, e->path, e->origin, "conflict: %s; left alone",
                                    e->reason ?: "");
                        break;
                case SYNC_FAILED:
                        log_profile(LOG_ERR, e->path, e->origin, "cannot install: %s",
                                    e->reason ?: strerror(-e->error));
                        break;
                default:
                        log_profile(LOG_INFO, e->path, e->origin, "%s", sync_action_to_string(e->action));
                        break;
                }
        }
}

static void report_metrics(Manager *m, const SyncResult *res, bool complete)
{
        if (!m->metrics)
                return;
        (void) metrics_set(m->metrics, "seccompd_profiles", "state=\"installed\"", (double) res->installed);
        (void) metrics_set(m->metrics, "seccompd_profiles", "state=\"rejected\"", (double) res->rejected);
        (void) metrics_set(m->metrics, "seccompd_profiles", "state=\"conflict\"", (double) res->conflicts);
        (void) metrics_set(m->metrics, "seccompd_profiles", "state=\"failed\"", (double) res->failed);
        (void) metrics_add(m->metrics, "seccompd_syncs_total", NULL, 1);
        if (res->failed > 0 || !complete)
                (void) metrics_add(m->metrics, "seccompd_sync_errors_total", NULL, 1);
        else
                (void) metrics_set(m->metrics, "seccompd_last_successful_sync_timestamp_seconds", NULL,
                                   (double) now_usec(CLOCK_REALTIME) / 1e6);
        if (m->changed_since)
                (void) metrics_observe(m->metrics, "seccompd_apply_latency_seconds", NULL,
                                       (double) (now_usec(CLOCK_MONOTONIC) - m->changed_since) / 1e6);
}

/* STATUS=, READY=1 (once every source was read, whatever it held, and every valid profile is on disk:
 * rejected and conflicting profiles, and manifests refused whole, do not hold a node back), metrics,
 * the node, --once, the grace timer. */
static void report_failures(Manager *m, const SyncResult *res)
{
        m->failed = res->failed;
        m->failure = mfree(m->failure);
        for (size_t i = 0; i < res->n_events && !m->failure; i++)
                if (res->events[i].action == SYNC_FAILED &&
                    asprintf(&m->failure, "%s: %s", res->events[i].path,
                             res->events[i].reason ?: strerror(-res->events[i].error)) < 0)
                        m->failure = NULL;
        if (res->failed == 0) {
                m->failing_syncs = 0;
                m->retry_timer = sd_event_source_disable_unref(m->retry_timer);
                return;
        }
        m->failing_syncs++;
        if (!m->o.once)
                schedule_retry(m);
}

static void report(Manager *m, const SourceDesired *d, const SyncResult *res)
{
        report_failures(m, res);
        m->last_status = res->failed > 0 || !d->complete           ? SYNC_STATUS_INCOMPLETE
                         : res->rejected > 0 || res->conflicts > 0 ? SYNC_STATUS_INVALID
                                                                   : SYNC_STATUS_OK;
        (void) sd_notifyf(false,
                          "STATUS=sync %u: %zu installed, %zu rejected, %zu in conflict, %zu failed, %zu "
                          "pending deletion",
                          m->syncs, res->installed, res->rejected, res->conflicts, res->failed,
                          res->pending_deletes);
        if (!m->ready && d->settled && res->failed == 0) {
                m->ready = true;
                (void) sd_notify(false, "READY=1");
                log_info("first full sync done: %zu profiles installed under %s", res->installed,
                         m->o.root_path);
        }
        report_metrics(m, res, d->complete);
        m->changed_since = 0;
        if (m->node)
                kube_node_set_ready(m->node, m->ready, m->ready ? "ProfilesInstalled" : "Syncing",
                                    m->ready ? "every valid seccomp profile is on disk"
                                             : "seccompd has not installed every profile yet");
        /* A source that is ready but incomplete (a directory that cannot be read) will not become
         * complete by waiting; one that has not listed yet may. */
        if (m->o.once && (d->complete || source_ready(m->source, NULL)))
                (void) sd_event_exit(m->event, m->last_status);
        if (!m->o.once) {
                m->grace_timer = sd_event_source_disable_unref(m->grace_timer);
                if (res->next_deadline_usec)
                        (void) sd_event_add_time(m->event, &m->grace_timer, CLOCK_MONOTONIC,
                                                 res->next_deadline_usec, 0, on_grace_timer, m);
        }
}

/* A sync that read many profiles, or a list page parsed whole, leaves free chunks all over the heap,
 * not only at its top: hand their pages back once the loop is idle for a moment, so that steady memory
 * is what the daemon holds, not the peak of a burst (a tenant's 60,000-key ConfigMap, say). */
#define TRIM_IDLE_USEC (200 * 1000ULL)

static int on_trim_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
        (void) malloc_trim(0);
        return 0;
}

static void schedule_trim(Manager *m)
{
        if (m->trim_timer) {
                (void) sd_event_source_set_time_relative(m->trim_timer, TRIM_IDLE_USEC);
                (void) sd_event_source_set_enabled(m->trim_timer, SD_EVENT_ONESHOT);
                return;
        }
        (void) sd_event_add_time_relative(m->event, &m->trim_timer, CLOCK_MONOTONIC, TRIM_IDLE_USEC, 0,
                                          on_trim_timer, m);
}

int manager_sync(Manager *m)
{
        _cleanup_(sync_result_clear) SyncResult res = {};
        SourceDesired d = {};
        bool full = m->need_full;
        int r;

        m->syncs++;
        m->need_full = false;
        r = source_desired(m->source, full, &d);
        if (r < 0) {
                m->need_full = true;
                m->last_status = SYNC_STATUS_INCOMPLETE;
                if (m->o.once)
                        (void) sd_event_exit(m->event, m->last_status);
                return log_error_errno(r, "cannot read the source");
        }

        r = sync_apply(m->root, d.set, d.n, d.complete, now_usec(CLOCK_MONOTONIC), m->o.delete_grace_usec,
                       &res);
        if (r < 0) {
                m->last_status = SYNC_STATUS_INCOMPLETE;
                if (m->o.once)
                        (void) sd_event_exit(m->event, m->last_status);
                m->failing_syncs++;
                m->failed = MAX(m->failed, (size_t) 1);
                free(m->failure);
                if (asprintf(&m->failure, "%s: the state file cannot be written: %s", m->o.root_path,
                             strerror(-r)) < 0)
                        m->failure = NULL;
                if (!m->o.once)
                        schedule_retry(m);
                return log_errno(LOG_ERR, r, NULL, m->o.root_path,
                                 "cannot record what seccompd owns; nothing installed");
        }
        log_sync_events(m, &d, &res);
        if (m->drift)
                drift_after_sync(m->drift, &res, now_usec(CLOCK_MONOTONIC));
        source_after_sync(m->source, &res);
        report(m, &d, &res);
        schedule_trim(m);
        return 0;
}

/* Ready: the first full sync is on disk (and stays so through API outages), and the source can serve
 * (for Kubernetes: no watched resource is refused with 401/403 right now). */
static bool on_readyz(void *userdata, char **ret_reason)
{
        Manager *m = userdata;
        if (!source_ready(m->source, ret_reason))
                return false;
        if (!m->ready) {
                *ret_reason = strdup("the first sync has not installed every profile yet");
                return false;
        }
        /* Installs failing now (a full or read-only disk): the node cannot take new profiles. */
        if (m->failed > 0) {
                if (asprintf(ret_reason, "%zu profile%s cannot be installed, tried again with backoff: %s",
                             m->failed, m->failed == 1 ? "" : "s", m->failure ?: "?") < 0)
                        *ret_reason = NULL;
                return false;
        }
        return true;
}

static int on_once_deadline(sd_event_source *s, uint64_t usec, void *userdata)
{
        Manager *m = userdata;
        _cleanup_free_ char *reason = NULL;
        (void) source_ready(m->source, &reason);
        log_error("--once: the API server did not give a full list in time%s%s; nothing was removed",
                  reason ? ": " : "", reason ?: "");
        return sd_event_exit(m->event, SYNC_STATUS_INCOMPLETE);
}

static void declare_metrics(Metrics *m)
{
        static const double latency[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5};
        (void) metrics_declare(m, "seccompd_profiles", METRIC_GAUGE,
                               "Profiles of the source by state after the last sync", NULL, 0);
        (void) metrics_declare(m, "seccompd_syncs_total", METRIC_COUNTER, "Syncs run", NULL, 0);
        (void) metrics_declare(m, "seccompd_sync_errors_total", METRIC_COUNTER,
                               "Syncs that could not install everything or read the source in full", NULL,
                               0);
        (void) metrics_declare(m, "seccompd_last_successful_sync_timestamp_seconds", METRIC_GAUGE,
                               "When the last complete sync without failures ended (Unix time)", NULL, 0);
        (void) metrics_declare(m, "seccompd_apply_latency_seconds", METRIC_HISTOGRAM,
                               "From a change reaching seccompd to its sync being done", latency,
                               ELEMENTSOF(latency));
        (void) metrics_declare(m, "seccompd_kube_requests_total", METRIC_COUNTER,
                               "Requests to the API server by response class", NULL, 0);
        (void) metrics_declare(m, "seccompd_kube_errors_total", METRIC_COUNTER,
                               "Failed API requests by verb, resource and HTTP code", NULL, 0);
        (void) metrics_declare(m, "seccompd_kube_relists_total", METRIC_COUNTER,
                               "Lists after the first one (410, errors, drift needing bytes)", NULL, 0);
        (void) metrics_declare(m, "seccompd_kube_watch_restarts_total", METRIC_COUNTER,
                               "Watches reopened from the last resourceVersion after a clean end", NULL, 0);
        (void) metrics_declare(m, "seccompd_kube_auth_refused", METRIC_GAUGE,
                               "Watched resources currently refused with 401 or 403", NULL, 0);
        (void) metrics_declare(m, "seccompd_kube_refusals", METRIC_GAUGE,
                               "Keys and objects of the store the decoder refuses (names, encodings, "
                               "directory annotations), each reported as an Event on its object",
                               NULL, 0);
        (void) metrics_declare(m, "seccompd_kube_event_posts_total", METRIC_COUNTER,
                               "Event POSTs by result: created, exists (409: another node posted the same "
                               "name), failed (retried with backoff)",
                               NULL, 0);
        (void) metrics_declare(m, "seccompd_kube_events_in_flight", METRIC_GAUGE,
                               "Event POSTs under way (at most 4)", NULL, 0);
        (void) metrics_declare(
                m, "seccompd_kube_events_waiting", METRIC_GAUGE,
                "Events wanted and not yet on the server nor in flight: held back by the rate "
                "limits, the in-flight bound or a retry's backoff",
                NULL, 0);
        (void) metrics_declare(m, "seccompd_kube_events_dropped_total", METRIC_COUNTER,
                               "Events that could not be kept for lack of memory", NULL, 0);
}

/* Counters kept by the client and the reflectors, carried into the registry as they move. */
static int on_metrics_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
        Manager *m = userdata;
        static const char *const classes[] = {"none", "1xx", "2xx", "3xx", "4xx", "5xx"};
        const KubeClientStats *h = kube_client_stats(kube_source_client(m->kube));
        char labels[64];
        for (size_t i = 0; i < ELEMENTSOF(classes); i++)
                if (h->by_class[i] > m->counted_http.by_class[i]) {
                        (void) snprintf(labels, sizeof(labels), "code=\"%s\"", classes[i]);
                        (void) metrics_add(m->metrics, "seccompd_kube_requests_total", labels,
                                           (double) (h->by_class[i] - m->counted_http.by_class[i]));
                }
        m->counted_http = *h;
        KubeReflectorStats sum = {};
        unsigned refused = 0;
        kube_source_reflector_stats(m->kube, &sum, &refused);
        if (sum.relists > m->counted.relists)
                (void) metrics_add(m->metrics, "seccompd_kube_relists_total", NULL,
                                   (double) (sum.relists - m->counted.relists));
        if (sum.watch_restarts > m->counted.watch_restarts)
                (void) metrics_add(m->metrics, "seccompd_kube_watch_restarts_total", NULL,
                                   (double) (sum.watch_restarts - m->counted.watch_restarts));
        m->counted = sum;
        (void) metrics_set(m->metrics, "seccompd_kube_auth_refused", NULL, refused);
        (void) sd_event_source_set_time_relative(s, 1000000);
        return 0;
}

/* Before anything touches the node: a configuration seccompd cannot use is a usage error. */
static int configure_kube(Manager *m, KubeArgs *k)
{
        _cleanup_free_ char *error = NULL;
        int r;

        r = kube_config_load(k->kubeconfig, &m->kube_config, &error);
        if (r < 0) {
                log_error("cannot use the Kubernetes API: %s", error ?: strerror(-r));
                return -EINVAL;
        }
        /* Default: the pod's own namespace, also when tenants are given (they are watched besides). */
        const char *own = getenv("POD_NAMESPACE");
        if (k->n_namespaces == 0) {
                own = own && *own ? own : m->kube_config.namespace;
                if (!own && k->n_tenants == 0) {
                        log_error("no namespace to watch: give --namespace, or set POD_NAMESPACE");
                        return -EINVAL;
                }
                if (own)
                        k->namespaces[k->n_namespaces++] = (char *) own;
        }
        for (size_t i = 0; i < k->n_tenants; i++)
                k->namespaces[k->n_namespaces++] = k->tenants[i];
        if (!k->node_name)
                k->node_name = getenv("NODE_NAME");
        if ((k->taint || k->condition) && (!k->node_name || !*k->node_name)) {
                log_error("--remove-startup-taint and --node-condition need --node-name or NODE_NAME");
                return -EINVAL;
        }
        return 0;
}

/* The one test-only setting: SECCOMPD_TEST_TIME_SCALE (0 < x <= 1) multiplies every protocol timer
 * (watch timeouts and deadlines, backoff, Retry-After, retries) and the retry of failed installs, so
 * tests of hours of behaviour take seconds. Production never sets it. */
static double time_scale(void)
{
        const char *e = getenv("SECCOMPD_TEST_TIME_SCALE");
        char *end;
        double v = e ? strtod(e, &end) : 1.0;
        if (!e || *end || !(v > 0 && v <= 1))
                return 1.0;
        return v;
}

/* The Kubernetes source and what comes with it: metrics, node gating, the HTTP endpoint, the --once
 * deadline. */
static int setup_kube(Manager *m, const KubeArgs *k)
{
        double scale = m->time_scale;
        int r;

        r = metrics_new(&m->metrics);
        if (r < 0)
                return r;
        declare_metrics(m->metrics);
        KubeSourceOptions o = {
                .event = m->event,
                .config = &m->kube_config,
                .namespaces = k->namespaces,
                .n_namespaces = k->n_namespaces,
                .tenants = k->tenants,
                .n_tenants = k->n_tenants,
                .selector = k->selector,
                .secrets = k->secrets,
                .node_name = k->node_name,
                .time_scale = scale,
                .cache = m->cache,
                .validate = &m->o.validate,
                .metrics = m->metrics,
                .changed = on_source_changed,
                .userdata = m,
        };
        r = kube_source_new(&o, &m->kube);
        if (r < 0)
                return log_error_errno(r, "cannot set up the Kubernetes source");
        m->source = kube_source_as_source(m->kube);
        if (k->taint || k->condition) {
                KubeNodeOptions no = {
                        .event = m->event,
                        .client = kube_source_client(m->kube),
                        .node_name = k->node_name,
                        .taint_key = k->taint,
                        .condition = k->condition,
                        .time_scale = scale,
                };
                r = kube_node_new(&no, &m->node);
                if (r < 0)
                        return log_error_errno(r, "cannot set up node gating");
        }
        r = sd_event_add_time_relative(m->event, &m->metrics_timer, CLOCK_MONOTONIC, 1000000, 0,
                                       on_metrics_timer, m);
        if (r >= 0)
                r = sd_event_source_set_enabled(m->metrics_timer, SD_EVENT_ON);
        if (r >= 0 && m->o.once)
                r = sd_event_add_time_relative(m->event, &m->once_deadline, CLOCK_MONOTONIC,
                                               (uint64_t) (60e6 * scale), 0, on_once_deadline, m);
        if (r < 0)
                return log_error_errno(r, "cannot set up the Kubernetes source");
        const char *listen = k->listen ?: DEFAULT_LISTEN;
        if (strcmp(listen, "none") != 0 && !m->o.once) {
                r = http_server_new(m->event, listen, on_readyz, m->metrics, m, &m->http);
                if (r < 0)
                        return log_error_errno(r, "cannot listen on %s", listen);
                log_info("serving /readyz, /healthz and /metrics on %s (port %u)", listen,
                         http_server_port(m->http));
        }
        log_info("watching %s%s labeled %s in %zu namespace%s of %s", "configmaps",
                 k->secrets ? " and secrets" : "", k->selector, k->n_namespaces,
                 k->n_namespaces == 1 ? "" : "s", m->kube_config.server);
        r = kube_source_start(m->kube);
        if (r < 0)
                return log_error_errno(r, "cannot start watching");
        return 0;
}

static int setup_dir(Manager *m)
{
        DirSourceOptions o = {
                .event = m->o.once ? NULL : m->event, /* --once reads once: no watch */
                .path = m->o.source_dir,
                .cache = m->cache,
                .validate = &m->o.validate,
                .changed = on_source_changed,
                .userdata = m,
        };
        int r = dir_source_new(&o, &m->source);
        if (r < 0)
                return log_errno(LOG_ERR, r, NULL, m->o.source_dir, "cannot watch the source directory");
        schedule_sync(m); /* the first sync reads it all */
        return 0;
}

/* seccompd's own profiles ahead of the source's, whichever it is: the set the engine sees starts
 * with them, so they win a path over any object's key. */
static int setup_builtin(Manager *m)
{
        static const BuiltinProfile recording = {
                .path = RECORDING_PROFILE_PATH,
                .bytes = RECORDING_PROFILE_BYTES,
                .origin = "built-in (--recording-profile)",
        };
        int r = builtin_source_new(m->source, &recording, 1, m->cache, &m->o.validate, &m->source);
        if (r < 0)
                return log_error_errno(r, "cannot set up the built-in recording profile");
        return 0;
}

static int open_root(Manager *m)
{
        _cleanup_free_ char *state_error = NULL;
        int r = sync_root_open(m->o.root_path, false, &m->root, &state_error);
        if (r == -EWOULDBLOCK) {
                log_warning("another seccompd holds the lock on %s; waiting for it to exit", m->o.root_path);
                r = sync_root_open(m->o.root_path, true, &m->root, &state_error);
        }
        if (r == -EBADMSG && state_error) {
                log_profile(LOG_ERR, NULL, m->o.root_path,
                            "cannot use the seccomp directory: its state file is corrupt: %s. Inspect it; "
                            "removing it makes seccompd forget which files it owns: those it wrote become "
                            "foreign, left in place and reported as conflicts, never updated or removed",
                            state_error);
                return r;
        }
        struct stat st;
        if ((r == -ENOTDIR || r == -ELOOP) && lstat(m->o.root_path, &st) >= 0 && S_ISLNK(st.st_mode)) {
                /* Whoever can replace the root by a link could point seccompd anywhere. */
                log_profile(LOG_ERR, NULL, m->o.root_path,
                            "cannot use the seccomp directory: it is a symbolic link, and seccompd never "
                            "follows one; give --root the directory it points to");
                return r;
        }
        if (r < 0)
                return log_errno(LOG_ERR, r, NULL, m->o.root_path, "cannot use the seccomp directory");
        return 0;
}

static int setup_loop(Manager *m)
{
        sigset_t mask;
        int r;

        r = sd_event_default(&m->event);
        if (r < 0)
                return r;
        r = sd_event_set_watchdog(m->event, true);
        if (r < 0)
                return r;
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return -errno;
        r = sd_event_add_signal(m->event, NULL, SIGTERM, NULL, NULL);
        if (r >= 0)
                r = sd_event_add_signal(m->event, NULL, SIGINT, NULL, NULL);
        if (r >= 0)
                r = sd_event_add_signal(m->event, NULL, SIGHUP, on_sighup, m);
        return r;
}

int manager_new(const ManagerOptions *o, Manager **ret)
{
        _cleanup_(manager_freep) Manager *m = calloc(1, sizeof(Manager));
        int r;

        if (!m)
                return -ENOMEM;
        m->o = *o;
        m->need_full = true;
        m->time_scale = time_scale();
        if (o->kube) {
                r = configure_kube(m, o->kube);
                if (r < 0)
                        return r;
        }
        r = open_root(m);
        if (r < 0)
                return r;
        r = verdict_cache_new(4096, &m->cache);
        if (r < 0)
                return r;
        r = setup_loop(m);
        if (r < 0)
                return log_error_errno(r, "cannot set up the event loop");
        r = o->kube ? setup_kube(m, o->kube) : setup_dir(m);
        if (r < 0)
                return r;
        if (o->recording_profile) {
                r = setup_builtin(m);
                if (r < 0)
                        return r;
        }
        if (!o->once) {
                /* Before the first sync, so that its own echoes are recognised. */
                r = drift_new(m->event, m->root, o->root_path, on_drift, m, &m->drift);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(m);
        return 0;
}

Manager *manager_free(Manager *m)
{
        if (!m)
                return NULL;
        m->http = http_server_free(m->http);
        m->node = kube_node_free(m->node);
        m->source = source_free(m->source);
        m->metrics = metrics_free(m->metrics);
        m->metrics_timer = sd_event_source_disable_unref(m->metrics_timer);
        m->once_deadline = sd_event_source_disable_unref(m->once_deadline);
        kube_config_clear(&m->kube_config);
        m->resync = sd_event_source_disable_unref(m->resync);
        m->grace_timer = sd_event_source_disable_unref(m->grace_timer);
        m->retry_timer = sd_event_source_disable_unref(m->retry_timer);
        m->trim_timer = sd_event_source_disable_unref(m->trim_timer);
        free(m->failure);
        m->drift = drift_free(m->drift);
        sd_event_unref(m->event);
        verdict_cache_free(m->cache);
        sync_root_free(m->root);
        free(m);
        return NULL;
}

int manager_run(Manager *m)
{
        int r = sd_event_loop(m->event);
        (void) sd_notify(false, "STOPPING=1");
        if (r < 0)
                return log_error_errno(r, "the event loop failed");
        return m->o.once ? r : 0;
}
