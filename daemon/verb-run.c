/* SPDX-License-Identifier: Apache-2.0 */
/* seccompd run: the node daemon. One sd-event loop owns every event source: signals, inotify on the
 * source directory and on the managed directories (drift), the deletion-grace timer, the watchdog.
 * Every change schedules one full sync, which reads the source completely, validates each profile
 * (verdicts cached by content), and lets the sync engine converge the directory. */
#include <dirent.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <malloc.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>
#include <time.h>

#include "cache.h"
#include "http.h"
#include "kube-node.h"
#include "kube-source.h"
#include "kube/kubeconfig.h"
#include "log.h"
#include "metrics.h"
#include "paths.h"
#include "shared/sha256.h"
#include "source.h"
#include "sync.h"
#include "validate.h"
#include "verbs.h"

enum {
        EXIT_SYNC_INCOMPLETE = 3, /* --once: a source unreadable, the disk failing or full */
};

#define DEFAULT_ROOT "/var/lib/kubelet/seccomp"
#define SOURCE_MASK  (IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_CREATE | IN_ATTRIB)
#define DRIFT_MASK   (IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_CREATE | IN_ATTRIB)

typedef struct Manager {
        sd_event *event;
        SyncRoot *root;
        VerdictCache *cache;
        ValidateOptions validate;
        const char *source_dir; /* borrowed from argv */
        const char *root_path;  /* borrowed from argv */
        uint64_t delete_grace_usec;
        bool once;
        bool ready;
        unsigned syncs;
        int last_status; /* the --once exit code of the last sync */
        sd_event_source *resync, *grace_timer;
        struct SourceFile *files; /* the source as last read, sorted by name */
        size_t n_files;
        char **dirty; /* source files inotify named since the last sync, sorted */
        size_t n_dirty;
        bool need_full;              /* look at everything: start, SIGHUP, timer, drift, lost events */
        struct WatchedDir **watched; /* managed directories with an inotify source */
        size_t n_watched;
        struct Expected *expected; /* what our last sync renamed or removed: those inotify events are ours */
        size_t n_expected;

        /* The Kubernetes source (--source kube). */
        KubeConfig kube_config;
        KubeSource *kube;
        KubeNode *node;
        Metrics *metrics;
        HttpServer *http;
        sd_event_source *metrics_timer, *once_deadline;
        uint64_t changed_since;     /* CLOCK_MONOTONIC usec of the first change not yet synced, 0: none */
        KubeReflectorStats counted; /* what the metrics have already counted */
        KubeClientStats counted_http;
        size_t installed, rejected, conflicts;
} Manager;

typedef struct Expected {
        char *path;
        uint32_t mask;  /* IN_MOVED_TO for a rename over the target, IN_DELETE for a removal */
        uint64_t since; /* CLOCK_MONOTONIC usec: echoes not seen within EXPECTED_MAX_AGE are dropped */
} Expected;

/* The kernel queues an echo before the write returns; the loop reads it within this. */
#define EXPECTED_MAX_AGE_USEC (10 * 1000000ULL)

static uint64_t now_monotonic(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000;
}

typedef struct WatchedDir {
        Manager *manager;
        char *dir; /* relative to the root, "" for the root */
} WatchedDir;

static uint64_t now_realtime(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000;
}

/* The longest --delete-grace: a century. Far past any real use, and far enough from UINT64_MAX that the
 * deadline (CLOCK_MONOTONIC + grace) cannot wrap around to "now". */
#define DURATION_MAX_USEC (100ULL * 365 * 24 * 3600 * 1000000)

/* DIGITS[.DIGITS][ms|s|m|min|h], seconds without a unit, in integer arithmetic: strtod() once let "inf",
 * "1e30h" and "1e15s" overflow the conversion to 0 (delete at once) and "nan" mean never. -EINVAL when
 * malformed (also past 9 decimals), -ERANGE past DURATION_MAX_USEC. Rounded down to a microsecond. */
static int parse_duration(const char *s, uint64_t *ret)
{
        static const struct {
                const char *suffix;
                uint64_t usec;
        } units[] = {
                {"ms", 1000},      {"s", 1000000},  {"", 1000000},
                {"min", 60000000}, {"m", 60000000}, {"h", 3600000000ULL},
        };
        uint64_t whole = 0, frac = 0, frac_scale = 1, unit = 0, v;
        const char *p = s;

        if (*p < '0' || *p > '9')
                return -EINVAL;
        for (; *p >= '0' && *p <= '9'; p++)
                if (__builtin_mul_overflow(whole, 10, &whole) ||
                    __builtin_add_overflow(whole, *p - '0', &whole))
                        return -ERANGE;
        if (*p == '.') {
                if (*++p < '0' || *p > '9')
                        return -EINVAL;
                for (; *p >= '0' && *p <= '9'; p++) {
                        if (frac_scale == 1000000000) /* nanoseconds of an hour are enough */
                                return -EINVAL;
                        frac = frac * 10 + (uint64_t) (*p - '0');
                        frac_scale *= 10;
                }
        }
        for (size_t i = 0; i < ELEMENTSOF(units); i++)
                if (strcmp(p, units[i].suffix) == 0)
                        unit = units[i].usec;
        if (unit == 0)
                return -EINVAL;
        /* frac < 10^9 and unit <= 3.6 * 10^9: their product fits. */
        if (__builtin_mul_overflow(whole, unit, &v) ||
            __builtin_add_overflow(v, frac * unit / frac_scale, &v) || v > DURATION_MAX_USEC)
                return -ERANGE;
        *ret = v;
        return 0;
}

/* Logged when a version is first installed or rejected, not on every sync. */
static void log_verdict(const SourceProfile *p, const Verdict *v)
{
        for (size_t i = 0; i < v->diagnostics.n; i++) {
                const Diagnostic *d = v->diagnostics.items + i;
                bool error = d->severity == SEVERITY_ERROR;
                log_profile(error ? LOG_ERR : LOG_WARNING, p->path, p->origin, "%s: %s [%s]",
                            error ? "profile rejected" : "profile warning", d->message,
                            diag_code_to_string(d->code));
        }
}

static int watch_managed_dirs(Manager *m);
static int schedule_sync(Manager *m);

static bool dir_watched(const Manager *m, const char *path)
{
        const char *slash = strrchr(path, '/');
        size_t n = slash ? (size_t) (slash - path) : 0;
        for (size_t i = 0; i < m->n_watched; i++)
                if (strlen(m->watched[i]->dir) == n && strncmp(m->watched[i]->dir, path, n) == 0)
                        return true;
        return false;
}

static void need_full_sync(Manager *m);

static int on_grace_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
        need_full_sync(userdata);
        return 0;
}

typedef struct CachedProfile {
        char *path, *origin;
        bool adopt, valid;
        uint8_t hash[SHA256_DIGEST_SIZE];
} CachedProfile;

/* A source file as last read: while its stamp (the file it names, symlinks followed) is unchanged,
 * its profiles, their hashes and verdicts are reused without reading it again. No bytes are kept. */
typedef struct SourceFile {
        char *name;
        dev_t dev;
        ino_t ino;
        off_t size;
        struct timespec mtime, ctime;
        CachedProfile *profiles;
        size_t n;
} SourceFile;

static void source_file_free(SourceFile *f)
{
        for (size_t i = 0; i < f->n; i++) {
                free(f->profiles[i].path);
                free(f->profiles[i].origin);
        }
        free(f->profiles);
        free(f->name);
        *f = (SourceFile){};
}

static int compare_dirent(const struct dirent **a, const struct dirent **b)
{
        return strcmp((*a)->d_name, (*b)->d_name);
}

/* m->files is in the order of compare_dirent: find by name with a binary search. */
static SourceFile *source_file_find(SourceFile *files, size_t n, const char *name)
{
        size_t lo = 0, hi = n;
        while (lo < hi) {
                size_t mid = (lo + hi) / 2;
                int c = strcmp(name, files[mid].name);
                if (c == 0)
                        return files + mid;
                if (c < 0)
                        hi = mid;
                else
                        lo = mid + 1;
        }
        return NULL;
}

static int compare_names(const void *a, const void *b)
{
        return strcmp(*(const char *const *) a, *(const char *const *) b);
}

static bool same_stamp(const SourceFile *f, const struct stat *st)
{
        return f->dev == st->st_dev && f->ino == st->st_ino && f->size == st->st_size &&
               f->mtime.tv_sec == st->st_mtim.tv_sec && f->mtime.tv_nsec == st->st_mtim.tv_nsec &&
               f->ctime.tv_sec == st->st_ctim.tv_sec && f->ctime.tv_nsec == st->st_ctim.tv_nsec;
}

/* What one sync works on: the desired set, where each entry came from, and the bytes and verdicts of
 * the files read this time. */
typedef struct SyncInput {
        SourceSet fresh;   /* files (re)read in this sync */
        Verdict *verdicts; /* per fresh item */
        DesiredProfile *set;
        size_t *fresh_index; /* per desired item: index into fresh, or SIZE_MAX when reused */
        size_t *file_index;  /* per desired item: index into Manager.files */
        size_t n, allocated;
        bool complete;
} SyncInput;

static void sync_input_clear(SyncInput *in)
{
        for (size_t i = 0; i < in->fresh.n && in->verdicts; i++)
                verdict_clear(in->verdicts + i);
        free(in->verdicts);
        free(in->set);
        free(in->fresh_index);
        free(in->file_index);
        source_set_clear(&in->fresh);
        *in = (SyncInput){};
}

static int desired_push(SyncInput *in, DesiredProfile d, size_t fresh, size_t file)
{
        if (in->n == in->allocated) {
                size_t a = in->allocated ? in->allocated * 2 : 64;
                DesiredProfile *set = realloc(in->set, a * sizeof(DesiredProfile));
                if (set)
                        in->set = set;
                size_t *fi = realloc(in->fresh_index, a * sizeof(size_t));
                if (fi)
                        in->fresh_index = fi;
                size_t *fl = realloc(in->file_index, a * sizeof(size_t));
                if (fl)
                        in->file_index = fl;
                if (!set || !fi || !fl)
                        return -ENOMEM;
                in->allocated = a;
        }
        in->set[in->n] = d;
        in->fresh_index[in->n] = fresh;
        in->file_index[in->n] = file;
        in->n++;
        return 0;
}

/* A source file's profiles as last judged: hashes and verdicts, no bytes. trusted: no event touched
 * the file, so the engine may also trust its targets without a stat. */
static int push_cached(SyncInput *in, const SourceFile *f, size_t file, bool trusted)
{
        for (size_t k = 0; k < f->n; k++) {
                const CachedProfile *c = f->profiles + k;
                int r = desired_push(in,
                                     (DesiredProfile){.path = c->path,
                                                      .hash = c->hash,
                                                      .origin = c->origin,
                                                      .valid = c->valid,
                                                      .adopt = c->adopt,
                                                      .trusted = trusted},
                                     SIZE_MAX, file);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Reads the source: unchanged files from the cache, others from disk (validated through the verdict
 * cache, their problems logged once, when read). Rebuilds m->files. */
static int read_source(Manager *m, SyncInput *in)
{
        _cleanup_close_ int dfd = open(m->source_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        struct dirent **entries = NULL;
        SourceFile *next = NULL;
        size_t n_next = 0;
        int n, r = 0;

        *in = (SyncInput){.fresh = {.complete = true}, .complete = true};
        if (dfd < 0) {
                log_profile(LOG_ERR, NULL, m->source_dir,
                            "cannot read the source directory: %m; nothing is removed");
                in->complete = false;
                return 0;
        }
        /* A scoped sync looks only at the files inotify named: the others cannot have changed. */
        bool scoped = !m->need_full;
        _cleanup_free_ const char **names = NULL;
        if (scoped) {
                n = (int) (m->n_files + m->n_dirty);
                names = calloc((size_t) n + 1, sizeof(char *));
                if (!names)
                        return -ENOMEM;
                size_t a = 0, b = 0, k = 0;
                while (a < m->n_files || b < m->n_dirty) {
                        int c = a == m->n_files   ? 1
                                : b == m->n_dirty ? -1
                                                  : strcmp(m->files[a].name, m->dirty[b]);
                        names[k++] = c <= 0 ? m->files[a].name : m->dirty[b];
                        a += c <= 0;
                        b += c >= 0;
                }
                n = (int) k;
        } else {
                if ((n = scandirat(dfd, ".", &entries, NULL, compare_dirent)) < 0) {
                        log_profile(LOG_ERR, NULL, m->source_dir,
                                    "cannot read the source directory: %m; nothing is removed");
                        in->complete = false;
                        return 0;
                }
                names = calloc((size_t) n + 1, sizeof(char *));
                for (int e = 0; names && e < n; e++)
                        names[e] = entries[e]->d_name;
                if (!names)
                        r = -ENOMEM;
        }
        next = calloc((size_t) n + 1, sizeof(SourceFile));
        if (!next)
                r = -ENOMEM;
        for (int e = 0; r >= 0 && e < n; e++) {
                const char *name = names[e];
                struct stat st;
                if (!source_entry_wanted(name))
                        continue;
                bool dirty = !scoped || (m->n_dirty > 0 && bsearch(&name, m->dirty, m->n_dirty,
                                                                   sizeof(char *), compare_names));
                SourceFile *cached = source_file_find(m->files, m->n_files, name);
                if (!dirty && cached && cached->profiles) {
                        /* Untouched since the last sync: reuse it, and let the engine trust its targets. */
                        SourceFile *f = next + n_next;
                        size_t file = n_next++;
                        *f = *cached;
                        f->name = strdup(name);
                        cached->profiles = NULL;
                        cached->n = 0;
                        if (!f->name) {
                                n_next--;
                                source_file_free(f);
                                r = -ENOMEM;
                                break;
                        }
                        r = push_cached(in, f, file, true);
                        continue;
                }
                bool stamped = fstatat(dfd, name, &st, 0) >= 0;
                if (!stamped && errno == ENOENT && scoped)
                        continue; /* removed since the last sync */
                SourceFile *f = next + n_next;
                size_t file = n_next;

                SourceFile *old = stamped ? source_file_find(m->files, m->n_files, name) : NULL;
                if (old && same_stamp(old, &st)) {
                        /* Reuse without reading: the profiles move, the old entry keeps its name for
                         * the binary search of later names and is freed with the old list. */
                        *f = *old;
                        f->name = strdup(name);
                        old->profiles = NULL;
                        old->n = 0;
                        if (!f->name) {
                                source_file_free(f);
                                r = -ENOMEM;
                                break;
                        }
                }
                if (f->name) {
                        n_next++;
                        r = push_cached(in, f, file, false);
                        continue;
                }

                size_t first = in->fresh.n, first_error = in->fresh.n_errors;
                bool was_complete = in->fresh.complete;
                r = source_read_entry(dfd, m->source_dir, name, &in->fresh);
                for (size_t k = first_error; k < in->fresh.n_errors; k++)
                        log_profile(LOG_ERR, NULL, in->fresh.errors[k], "source object not used");
                if (r < 0)
                        break;
                Verdict *v = realloc(in->verdicts, MAX(in->fresh.n, (size_t) 1) * sizeof(Verdict));
                if (!v) {
                        r = -ENOMEM;
                        break;
                }
                in->verdicts = v;
                /* Not cached when it could not be read in full: read again next time. */
                bool cache = stamped && was_complete && in->fresh.complete;
                if (cache) {
                        *f = (SourceFile){.name = strdup(name),
                                          .dev = st.st_dev,
                                          .ino = st.st_ino,
                                          .size = st.st_size,
                                          .mtime = st.st_mtim,
                                          .ctime = st.st_ctim,
                                          .profiles = calloc(MAX(in->fresh.n - first, (size_t) 1),
                                                             sizeof(CachedProfile))};
                        if (!f->name || !f->profiles) {
                                source_file_free(f);
                                r = -ENOMEM;
                                break;
                        }
                        n_next++;
                }
                for (size_t k = first; k < in->fresh.n && r >= 0; k++) {
                        const SourceProfile *p = in->fresh.items + k;
                        int q = profile_validate_cached(m->cache, p->bytes, p->len, &m->validate,
                                                        in->verdicts + k, NULL);
                        if (q < 0) {
                                log_profile(LOG_ERR, p->path, p->origin, "cannot validate: %s",
                                            strerror(-q));
                                in->verdicts[k] = (Verdict){};
                        }
                        DesiredProfile d = {.path = p->path,
                                            .bytes = p->bytes,
                                            .len = p->len,
                                            .origin = p->origin,
                                            .valid = q >= 0 && in->verdicts[k].valid,
                                            .adopt = p->adopt};
                        if (cache) {
                                CachedProfile *c = f->profiles + f->n++;
                                Sha256 h;
                                sha256_init(&h);
                                sha256_update(&h, p->bytes, p->len);
                                sha256_final(&h, c->hash);
                                c->path = strdup(p->path);
                                c->origin = strdup(p->origin);
                                c->adopt = p->adopt;
                                c->valid = d.valid;
                                d.hash = c->hash; /* the engine need not hash the bytes again */
                                if (!c->path || !c->origin)
                                        r = -ENOMEM;
                        }
                        if (r >= 0)
                                r = desired_push(in, d, k, cache ? file : SIZE_MAX);
                }
        }
        for (int e = 0; entries && e < n; e++)
                free(entries[e]);
        free(entries);
        for (size_t k = 0; k < m->n_files; k++)
                source_file_free(m->files + k);
        free(m->files);
        m->files = next;
        m->n_files = n_next;
        for (size_t k = 0; k < m->n_dirty; k++)
                free(m->dirty[k]);
        m->n_dirty = 0;
        in->complete = in->fresh.complete;
        /* What could not be read is not cached: only a full sync keeps seeing it, and so keeps from
         * deleting what it provided. */
        m->need_full = !in->complete || r < 0;
        return r;
}

/* The desired set of the Kubernetes source: validated as objects arrived, nothing to read now. */
static int read_kube(Manager *m, SyncInput *in)
{
        const DesiredProfile *set;
        size_t n;
        bool complete;
        *in = (SyncInput){.fresh = {.complete = true}};
        int r = kube_source_desired(m->kube, &set, &n, &complete);
        if (r < 0)
                return r;
        in->set = malloc((n + 1) * sizeof(DesiredProfile));
        in->fresh_index = malloc((n + 1) * sizeof(size_t));
        in->file_index = malloc((n + 1) * sizeof(size_t));
        if (!in->set || !in->fresh_index || !in->file_index)
                return -ENOMEM;
        if (n > 0)
                memcpy(in->set, set, n * sizeof(DesiredProfile));
        for (size_t i = 0; i < n; i++)
                in->fresh_index[i] = in->file_index[i] = SIZE_MAX;
        in->n = in->allocated = n;
        in->complete = complete;
        return 0;
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
}

static void sync_metrics(Manager *m, const SyncResult *res, bool complete)
{
        uint64_t now = now_monotonic();
        if (!m->metrics)
                return;
        (void) metrics_set(m->metrics, "seccompd_profiles", "state=\"installed\"", (double) res->installed);
        (void) metrics_set(m->metrics, "seccompd_profiles", "state=\"rejected\"", (double) res->rejected);
        (void) metrics_set(m->metrics, "seccompd_profiles", "state=\"conflict\"", (double) res->conflicts);
        (void) metrics_add(m->metrics, "seccompd_syncs_total", NULL, 1);
        if (res->failed > 0 || !complete)
                (void) metrics_add(m->metrics, "seccompd_sync_errors_total", NULL, 1);
        else
                (void) metrics_set(m->metrics, "seccompd_last_successful_sync_timestamp_seconds", NULL,
                                   (double) now_realtime() / 1e6);
        if (m->changed_since) {
                (void) metrics_observe(m->metrics, "seccompd_apply_latency_seconds", NULL,
                                       (double) (now - m->changed_since) / 1e6);
                m->changed_since = 0;
        }
}

static int full_sync(Manager *m)
{
        SyncInput in = {};
        SyncResult res = {};
        int r;

        m->syncs++;
        r = m->kube ? read_kube(m, &in) : read_source(m, &in);
        size_t n_fresh = in.fresh.n;
        for (size_t i = 0; m->kube && i < in.n; i++)
                n_fresh += !in.set[i].trusted;
        if (r < 0) {
                sync_input_clear(&in);
                return r;
        }

        r = sync_apply(m->root, in.set, in.n, in.complete, now_monotonic(), m->delete_grace_usec, &res);
        if (r < 0) {
                log_profile(LOG_ERR, NULL, m->root_path,
                            "cannot record what seccompd owns: %s; nothing installed", strerror(-r));
                m->last_status = EXIT_SYNC_INCOMPLETE;
                goto finish;
        }
        /* Echoes of earlier syncs may still be queued behind this one: keep them until seen. */
        uint64_t now = now_monotonic();
        for (size_t i = 0; i < m->n_expected;)
                if (now - m->expected[i].since > EXPECTED_MAX_AGE_USEC) {
                        free(m->expected[i].path);
                        m->expected[i] = m->expected[--m->n_expected];
                } else
                        i++;
        Expected *expected = realloc(m->expected, (m->n_expected + res.n_events + 1) * sizeof(Expected));
        if (expected)
                m->expected = expected;
        for (size_t i = 0; i < res.n_events; i++) {
                const SyncEvent *e = res.events + i;
                size_t k;
                uint32_t mask = e->action == SYNC_REMOVED ? IN_DELETE
                                : e->action == SYNC_INSTALLED || e->action == SYNC_UPDATED ||
                                                e->action == SYNC_REPAIRED || e->action == SYNC_ADOPTED
                                        ? IN_MOVED_TO
                                        : 0;
                /* Only where a watch already existed when we wrote: elsewhere no echo will come. */
                if (mask && expected && dir_watched(m, e->path) &&
                    (m->expected[m->n_expected].path = strdup(e->path))) {
                        m->expected[m->n_expected].mask = mask;
                        m->expected[m->n_expected].since = now;
                        m->n_expected++;
                }
                /* Verdicts exist for what was read this time; cached profiles were logged when read. */
                k = e->index < in.n ? in.fresh_index[e->index] : SIZE_MAX;
                switch (e->action) {
                case SYNC_NEEDS_BYTES:
                        /* An own file is gone or changed while its source is unchanged: read it again. */
                        if (m->kube) {
                                kube_source_need_bytes(m->kube, e->index);
                                break;
                        }
                        if (e->index < in.n && in.file_index[e->index] < m->n_files)
                                m->files[in.file_index[e->index]].ino = 0;
                        need_full_sync(m);
                        break;
                case SYNC_REJECTED:
                case SYNC_KEPT_LAST_GOOD:
                        if (k == SIZE_MAX)
                                break; /* reported when this version was read */
                        log_verdict(in.fresh.items + k, in.verdicts + k);
                        log_profile(LOG_WARNING, e->path, e->origin, "%s",
                                    e->action == SYNC_REJECTED
                                            ? "invalid profile not installed"
                                            : "invalid update rejected; the last good profile stays");
                        break;
                case SYNC_CONFLICT:
                        if (m->kube && e->index < in.n)
                                break; /* logged once per version with its Event; removals are not */
                        log_profile(LOG_WARNING, e->path, e->origin, "conflict: %s; left alone",
                                    e->reason ?: "");
                        break;
                case SYNC_FAILED:
                        log_profile(LOG_ERR, e->path, e->origin, "cannot install: %s",
                                    e->reason ?: strerror(-e->error));
                        break;
                case SYNC_INSTALLED:
                case SYNC_UPDATED:
                case SYNC_ADOPTED:
                        log_profile(LOG_INFO, e->path, e->origin, "%s", sync_action_to_string(e->action));
                        if (k != SIZE_MAX)
                                log_verdict(in.fresh.items + k, in.verdicts + k);
                        break;
                default:
                        log_profile(LOG_INFO, e->path, e->origin, "%s", sync_action_to_string(e->action));
                        break;
                }
        }

        if (m->kube)
                kube_source_after_sync(m->kube, &res);
        m->installed = res.installed;
        m->rejected = res.rejected;
        m->conflicts = res.conflicts;
        m->last_status = res.failed > 0 || !in.complete          ? EXIT_SYNC_INCOMPLETE
                         : res.rejected > 0 || res.conflicts > 0 ? EXIT_INVALID
                                                                 : EXIT_OK;
        (void) sd_notifyf(false,
                          "STATUS=sync %u: %zu installed, %zu rejected, %zu in conflict, %zu failed, %zu "
                          "pending deletion",
                          m->syncs, res.installed, res.rejected, res.conflicts, res.failed,
                          res.pending_deletes);
        /* Ready once every source was read in full and every valid profile is on disk; rejected and
         * conflicting profiles do not hold a node back. */
        if (!m->ready && in.complete && res.failed == 0) {
                m->ready = true;
                (void) sd_notify(false, "READY=1");
                log_info("first full sync done: %zu profiles installed under %s", res.installed,
                         m->root_path);
        }
        sync_metrics(m, &res, in.complete);
        if (m->node)
                kube_node_set_ready(m->node, m->ready, m->ready ? "ProfilesInstalled" : "Syncing",
                                    m->ready ? "every valid seccomp profile is on disk"
                                             : "seccompd has not installed every profile yet");
        if (m->once && m->kube && in.complete)
                (void) sd_event_exit(m->event, m->last_status);
        if (!m->once) {
                (void) watch_managed_dirs(m);
                m->grace_timer = sd_event_source_disable_unref(m->grace_timer);
                if (res.next_deadline_usec)
                        (void) sd_event_add_time(m->event, &m->grace_timer, CLOCK_MONOTONIC,
                                                 res.next_deadline_usec, 0, on_grace_timer, m);
        }
finish:
        sync_input_clear(&in);
        sync_result_clear(&res);
        /* A sync that read many profiles leaves free chunks all over the heap, not only at its top
         * (the Kubernetes source parses whole list pages): hand their pages back. */
        if (n_fresh > 16)
                (void) malloc_trim(0);
        return 0;
}

static int on_resync(sd_event_source *s, void *userdata)
{
        Manager *m = userdata;
        m->resync = sd_event_source_disable_unref(m->resync);
        return full_sync(m);
}

/* Changes come in bursts (an editor, a ConfigMap volume swapping ..data): one sync per loop turn. */
static int schedule_sync(Manager *m)
{
        if (m->resync)
                return 0;
        return sd_event_add_defer(m->event, &m->resync, on_resync, m);
}

static void need_full_sync(Manager *m)
{
        m->need_full = true;
        (void) schedule_sync(m);
}

static void on_kube_changed(void *userdata)
{
        Manager *m = userdata;
        if (!m->changed_since)
                m->changed_since = now_monotonic();
        (void) schedule_sync(m);
}

/* Ready: the first full sync is on disk (and stays so through API outages), and no watched
 * resource is refused with 401/403 right now. */
static bool on_readyz(void *userdata, char **ret_reason)
{
        Manager *m = userdata;
        if (!m->ready) {
                if (m->kube && !kube_source_ready(m->kube, ret_reason))
                        return false;
                *ret_reason = strdup("the first sync has not installed every profile yet");
                return false;
        }
        if (m->kube && !kube_source_ready(m->kube, ret_reason))
                return false;
        return true;
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

static int on_once_deadline(sd_event_source *s, uint64_t usec, void *userdata)
{
        Manager *m = userdata;
        char *reason = NULL;
        (void) kube_source_ready(m->kube, &reason);
        log_error("--once: the API server did not give a full list in time%s%s; nothing was removed",
                  reason ? ": " : "", reason ?: "");
        free(reason);
        return sd_event_exit(m->event, EXIT_SYNC_INCOMPLETE);
}

/* A named profile or manifest: only it is read again. Anything else (a ConfigMap volume swapping its
 * ..data link, lost events, the directory itself) makes the next sync look at everything. */
static int on_source_inotify(sd_event_source *s, const struct inotify_event *ev, void *userdata)
{
        Manager *m = userdata;
        /* Hidden files are never read (an editor's, a tool's temporary); but "..data" and the other
         * ".." names of a ConfigMap volume change what the key symlinks point to. */
        if (ev->len > 0 && ev->name[0] == '.' && ev->name[1] != '.')
                return 0;
        if ((ev->mask & IN_Q_OVERFLOW) || ev->len == 0 || !source_entry_wanted(ev->name)) {
                need_full_sync(m);
                return 0;
        }
        const char *name = ev->name;
        if (m->n_dirty == 0 || !bsearch(&name, m->dirty, m->n_dirty, sizeof(char *), compare_names)) {
                char **d = realloc(m->dirty, (m->n_dirty + 1) * sizeof(char *));
                char *copy = d ? strdup(name) : NULL;
                if (d)
                        m->dirty = d;
                if (!copy) {
                        need_full_sync(m);
                        return 0;
                }
                size_t at = 0;
                while (at < m->n_dirty && strcmp(m->dirty[at], name) < 0)
                        at++;
                memmove(m->dirty + at + 1, m->dirty + at, (m->n_dirty - at) * sizeof(char *));
                m->dirty[at] = copy;
                m->n_dirty++;
        }
        return schedule_sync(m);
}

/* A change in a managed directory: someone else's (drift, repaired by a sync), or the echo of our own
 * rename or unlink, which needs no sync. */
static int on_managed_inotify(sd_event_source *s, const struct inotify_event *ev, void *userdata)
{
        WatchedDir *w = userdata;
        Manager *m = w->manager;
        char path[PATH_MAX];

        if (ev->len == 0 || (ev->mask & IN_Q_OVERFLOW)) {
                need_full_sync(m);
                return 0;
        }
        if (strncmp(ev->name, STATE_PREFIX, strlen(STATE_PREFIX)) == 0)
                return 0; /* our own state and temporary files */
        (void) snprintf(path, sizeof(path), "%s%s%s", w->dir, *w->dir ? "/" : "", ev->name);
        for (size_t i = 0; i < m->n_expected; i++)
                if ((ev->mask & m->expected[i].mask) && strcmp(m->expected[i].path, path) == 0) {
                        free(m->expected[i].path);
                        m->expected[i] = m->expected[--m->n_expected];
                        return 0;
                }
        need_full_sync(m); /* drift: someone else changed a managed file */
        return 0;
}

static int on_sighup(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
        log_info("SIGHUP: full resync");
        need_full_sync(userdata);
        return 0;
}

/* Drift repair: inotify on the root and every directory holding a managed file, so a file someone
 * edits or deletes is restored at once rather than on a timer. */
static int watch_managed_dirs(Manager *m)
{
        char **dirs = NULL;
        size_t n = 0;
        int r = sync_root_managed_dirs(m->root, &dirs, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                bool seen = false;
                for (size_t k = 0; k < m->n_watched && !seen; k++)
                        seen = strcmp(m->watched[k]->dir, dirs[i]) == 0;
                WatchedDir **list =
                        seen ? NULL : realloc(m->watched, (m->n_watched + 1) * sizeof(WatchedDir *));
                WatchedDir *w = list ? malloc(sizeof(WatchedDir)) : NULL;
                _cleanup_free_ char *full = NULL;
                if (list)
                        m->watched = list;
                if (!w || asprintf(&full, "%s/%s", m->root_path, dirs[i]) < 0) {
                        free(w);
                        free(dirs[i]);
                        continue;
                }
                *w = (WatchedDir){.manager = m, .dir = dirs[i]};
                m->watched[m->n_watched++] = w;
                r = sd_event_add_inotify(m->event, NULL, full, DRIFT_MASK | IN_ONLYDIR | IN_DONT_FOLLOW,
                                         on_managed_inotify, w);
                if (r < 0)
                        log_profile(LOG_WARNING, NULL, full, "cannot watch for changes: %s", strerror(-r));
        }
        free(dirs);
        return 0;
}

#define DEFAULT_SELECTOR LABEL_PROFILE "=true"
#define DEFAULT_LISTEN   ":9464"

typedef struct KubeArgs {
        const char *kubeconfig, *selector, *listen, *node_name, *taint;
        /* Sized from argc, never a fixed limit: each --namespace or --tenant-namespace takes at least
         * one argument, and configure_kube() appends the tenants (or the pod's own namespace) to
         * namespaces. The strings are borrowed from argv or the environment. */
        char **namespaces, **tenants;
        size_t n_namespaces, n_tenants;
        bool secrets, condition;
} KubeArgs;

/* A DNS-1123 label, as Kubernetes names namespaces. */
static const char *namespace_invalid(const char *ns)
{
        size_t n = strlen(ns);
        if (n == 0 || n > 63)
                return "a namespace has 1 to 63 characters";
        for (size_t i = 0; i < n; i++)
                if (!((ns[i] >= 'a' && ns[i] <= 'z') || (ns[i] >= '0' && ns[i] <= '9') || ns[i] == '-'))
                        return "a namespace has only lowercase letters, digits and '-'";
        if (ns[0] == '-' || ns[n - 1] == '-')
                return "a namespace starts and ends with a letter or digit";
        return NULL;
}

/* The one test-only setting: SECCOMPD_TEST_TIME_SCALE (0 < x <= 1) multiplies every protocol timer
 * (watch timeouts and deadlines, backoff, Retry-After, retries), so tests of hours of behaviour take
 * seconds. Production never sets it. */
static double time_scale(void)
{
        const char *e = getenv("SECCOMPD_TEST_TIME_SCALE");
        char *end;
        double v = e ? strtod(e, &end) : 1.0;
        if (!e || *end || !(v > 0 && v <= 1))
                return 1.0;
        return v;
}

/* Before anything touches the node: a configuration seccompd cannot use is a usage error. */
static int configure_kube(Manager *m, KubeArgs *k)
{
        char *error = NULL;
        int r;

        r = kube_config_load(k->kubeconfig, &m->kube_config, &error);
        if (r < 0) {
                log_error("cannot use the Kubernetes API: %s", error ?: strerror(-r));
                free(error);
                return EXIT_USAGE;
        }
        /* Default: the pod's own namespace, also when tenants are given (they are watched besides). */
        const char *own = getenv("POD_NAMESPACE");
        if (k->n_namespaces == 0) {
                own = own && *own ? own : m->kube_config.namespace;
                if (!own && k->n_tenants == 0) {
                        log_error("no namespace to watch: give --namespace, or set POD_NAMESPACE");
                        return EXIT_USAGE;
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
                return EXIT_USAGE;
        }
        return 0;
}

static int setup_kube(Manager *m, KubeArgs *k)
{
        int r;
        double scale = time_scale();
        r = metrics_new(&m->metrics);
        if (r < 0)
                return EXIT_SYNC_INCOMPLETE;
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
                .validate = &m->validate,
                .metrics = m->metrics,
                .changed = on_kube_changed,
                .userdata = m,
        };
        r = kube_source_new(&o, &m->kube);
        if (r >= 0 && (k->taint || k->condition)) {
                KubeNodeOptions no = {
                        .event = m->event,
                        .client = kube_source_client(m->kube),
                        .node_name = k->node_name,
                        .taint_key = k->taint,
                        .condition = k->condition,
                        .time_scale = scale,
                };
                r = kube_node_new(&no, &m->node);
        }
        if (r >= 0)
                r = sd_event_add_time_relative(m->event, &m->metrics_timer, CLOCK_MONOTONIC, 1000000, 0,
                                               on_metrics_timer, m);
        if (r >= 0)
                (void) sd_event_source_set_enabled(m->metrics_timer, SD_EVENT_ON);
        if (r >= 0 && m->once)
                r = sd_event_add_time_relative(m->event, &m->once_deadline, CLOCK_MONOTONIC,
                                               (uint64_t) (60e6 * scale), 0, on_once_deadline, m);
        if (r < 0) {
                log_error("cannot set up the Kubernetes source: %s", strerror(-r));
                return EXIT_SYNC_INCOMPLETE;
        }
        const char *listen = k->listen ?: DEFAULT_LISTEN;
        if (strcmp(listen, "none") != 0 && !m->once) {
                r = http_server_new(m->event, listen, on_readyz, m->metrics, m, &m->http);
                if (r < 0) {
                        log_error("cannot listen on %s: %s", listen, strerror(-r));
                        return r == -EINVAL ? EXIT_USAGE : EXIT_SYNC_INCOMPLETE;
                }
                log_info("serving /readyz, /healthz and /metrics on %s (port %u)", listen,
                         http_server_port(m->http));
        }
        log_info("watching %s%s labeled %s in %zu namespace%s of %s", "configmaps",
                 k->secrets ? " and secrets" : "", k->selector, k->n_namespaces,
                 k->n_namespaces == 1 ? "" : "s", m->kube_config.server);
        r = kube_source_start(m->kube);
        if (r < 0) {
                log_error("cannot start watching: %s", strerror(-r));
                return EXIT_SYNC_INCOMPLETE;
        }
        return 0;
}

static void help(void)
{
        printf("Usage: seccompd run --source dir:PATH|kube [OPTIONS...]\n"
               "\n"
               "Install the profiles of a source into the kubelet's seccomp directory, atomically and\n"
               "touching only files seccompd wrote, and keep them in sync.\n"
               "\n"
               "Options:\n"
               "     --source dir:PATH       Profiles (*.json) and ConfigMap/Secret manifests (*.yaml)\n"
               "     --source kube           ConfigMaps (and Secrets) labeled seccompd.io/profile=true\n"
               "\n"
               "With --source kube:\n"
               "     --kubeconfig FILE       Out of cluster (else KUBECONFIG, else the service account)\n"
               "     --namespace NS          Watch NS (repeatable; default: the pod's namespace)\n"
               "     --tenant-namespace NS   Watch NS as a tenant: under <root>/NS/, must confine\n"
               "     --selector SEL          Label selector (default " DEFAULT_SELECTOR ")\n"
               "     --secrets               Watch Secrets too (needs RBAC on secrets)\n"
               "     --listen ADDR:PORT      /readyz, /healthz, /metrics (default :9464; none: off)\n"
               "     --node-name NAME        This node (default $NODE_NAME), for the two below\n"
               "     --remove-startup-taint KEY  Remove this taint from the node once ready\n"
               "     --node-condition        Keep a " NODE_CONDITION_TYPE " condition on the node\n"
               "\n"
               "Common:\n"
               "     --root DIR              The seccomp directory (default " DEFAULT_ROOT ")\n"
               "     --once                  One full sync, then exit\n"
               "     --runtime RUNTIME       containerd (default) or cri-o: how profiles are validated\n"
               "     --delete-grace DURATION Wait before removing a profile that left the source (0s)\n"
               "     --log-format FORMAT     text or json (default: the journal under systemd, else text)\n"
               "  -h --help                  Show this help\n"
               "\n"
               "--once exits 0 when every profile is installed, 1 when one was rejected or in conflict,\n"
               "2 on a usage error, 3 when the sync could not be completed.\n");
}

int verb_run(int argc, char *argv[])
{
        enum {
                ARG_SOURCE = 0x100,
                ARG_ROOT,
                ARG_ONCE,
                ARG_RUNTIME,
                ARG_GRACE,
                ARG_LOG_FORMAT,
                ARG_KUBECONFIG,
                ARG_NAMESPACE,
                ARG_TENANT,
                ARG_SELECTOR,
                ARG_SECRETS,
                ARG_LISTEN,
                ARG_NODE_NAME,
                ARG_TAINT,
                ARG_CONDITION,
        };
        static const struct option options[] = {
                {"help", no_argument, NULL, 'h'},
                {"source", required_argument, NULL, ARG_SOURCE},
                {"root", required_argument, NULL, ARG_ROOT},
                {"once", no_argument, NULL, ARG_ONCE},
                {"runtime", required_argument, NULL, ARG_RUNTIME},
                {"delete-grace", required_argument, NULL, ARG_GRACE},
                {"log-format", required_argument, NULL, ARG_LOG_FORMAT},
                {"kubeconfig", required_argument, NULL, ARG_KUBECONFIG},
                {"namespace", required_argument, NULL, ARG_NAMESPACE},
                {"tenant-namespace", required_argument, NULL, ARG_TENANT},
                {"selector", required_argument, NULL, ARG_SELECTOR},
                {"secrets", no_argument, NULL, ARG_SECRETS},
                {"listen", required_argument, NULL, ARG_LISTEN},
                {"node-name", required_argument, NULL, ARG_NODE_NAME},
                {"remove-startup-taint", required_argument, NULL, ARG_TAINT},
                {"node-condition", no_argument, NULL, ARG_CONDITION},
                {},
        };
        Manager m = {
                .root_path = DEFAULT_ROOT, .validate = {.runtime = RUNTIME_CONTAINERD}, .need_full = true};
        LogFormat format = LOG_FORMAT_AUTO;
        _cleanup_free_ char **namespaces = calloc((size_t) argc + 1, sizeof(char *));
        _cleanup_free_ char **tenants = calloc((size_t) argc + 1, sizeof(char *));
        KubeArgs k = {.selector = DEFAULT_SELECTOR, .namespaces = namespaces, .tenants = tenants};
        bool kube = false;
        int c, rt, r;

        if (!namespaces || !tenants) {
                fprintf(stderr, "seccompd run: %s\n", strerror(ENOMEM));
                return EXIT_SYNC_INCOMPLETE;
        }

        optind = 0;
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return EXIT_OK;
                case ARG_SOURCE:
                        if (strcmp(optarg, "kube") == 0) {
                                kube = true;
                                break;
                        }
                        if (strncmp(optarg, "dir:", 4) != 0 || !optarg[4]) {
                                fprintf(stderr, "seccompd run: --source takes dir:PATH or kube\n");
                                return EXIT_USAGE;
                        }
                        m.source_dir = optarg + 4;
                        break;
                case ARG_KUBECONFIG:
                        k.kubeconfig = optarg;
                        break;
                case ARG_NAMESPACE:
                case ARG_TENANT: {
                        const char *why = namespace_invalid(optarg);
                        if (why) {
                                fprintf(stderr, "seccompd run: --%s \"%s\": %s\n",
                                        c == ARG_TENANT ? "tenant-namespace" : "namespace", optarg, why);
                                return EXIT_USAGE;
                        }
                        if (c == ARG_TENANT)
                                k.tenants[k.n_tenants++] = optarg;
                        else
                                k.namespaces[k.n_namespaces++] = optarg;
                        break;
                }
                case ARG_SELECTOR:
                        k.selector = optarg;
                        break;
                case ARG_SECRETS:
                        k.secrets = true;
                        break;
                case ARG_LISTEN:
                        k.listen = optarg;
                        break;
                case ARG_NODE_NAME:
                        k.node_name = optarg;
                        break;
                case ARG_TAINT:
                        k.taint = optarg;
                        break;
                case ARG_CONDITION:
                        k.condition = true;
                        break;
                case ARG_ROOT:
                        m.root_path = optarg;
                        break;
                case ARG_ONCE:
                        m.once = true;
                        break;
                case ARG_RUNTIME:
                        if (parse_runtime_arg("run", optarg, &rt) < 0)
                                return EXIT_USAGE;
                        m.validate.runtime = (Runtime) rt;
                        break;
                case ARG_GRACE:
                        r = parse_duration(optarg, &m.delete_grace_usec);
                        if (r == -ERANGE) {
                                fprintf(stderr,
                                        "seccompd run: --delete-grace \"%s\": out of range, at most %lluh\n",
                                        optarg, DURATION_MAX_USEC / 3600000000ULL);
                                return EXIT_USAGE;
                        }
                        if (r < 0) {
                                fprintf(stderr,
                                        "seccompd run: --delete-grace \"%s\": not a duration: digits, "
                                        "up to 9 decimals, then ms, s, m, min or h (none: s), such as "
                                        "0s, 90s, 5m, 1.5h, 250ms\n",
                                        optarg);
                                return EXIT_USAGE;
                        }
                        break;
                case ARG_LOG_FORMAT:
                        if (log_format_from_string(optarg, &format) < 0) {
                                fprintf(stderr, "seccompd run: --log-format takes text or json\n");
                                return EXIT_USAGE;
                        }
                        break;
                default:
                        return EXIT_USAGE;
                }
        if ((!m.source_dir && !kube) || (m.source_dir && kube) || optind != argc) {
                fprintf(stderr,
                        "seccompd run: one --source, dir:PATH or kube, is required; see 'seccompd run "
                        "--help'\n");
                return EXIT_USAGE;
        }
        if (!kube && (k.kubeconfig || k.n_namespaces || k.n_tenants || k.secrets || k.listen || k.taint ||
                      k.condition || k.node_name)) {
                fprintf(stderr, "seccompd run: Kubernetes options need --source kube\n");
                return EXIT_USAGE;
        }
        log_setup(format);
        if (kube) {
                r = configure_kube(&m, &k);
                if (r != 0) {
                        kube_config_clear(&m.kube_config);
                        return r;
                }
        }
        /* A sync reads and parses every profile, then lets go: with glibc's defaults those transient
         * buffers keep the heap at its high-water mark. Large ones are mapped and unmapped instead, and
         * free memory is returned early, so steady memory is what the daemon really holds. */
        (void) mallopt(M_MMAP_THRESHOLD, 16 * 1024);
        (void) mallopt(M_TRIM_THRESHOLD, 64 * 1024);
        m.validate.arch = arch_from_token(seccomp_arch_native());

        _cleanup_free_ char *state_error = NULL;
        r = sync_root_open(m.root_path, false, &m.root, &state_error);
        if (r == -EWOULDBLOCK) {
                log_warning("another seccompd holds the lock on %s; waiting for it to exit", m.root_path);
                r = sync_root_open(m.root_path, true, &m.root, &state_error);
        }
        if (r == -EBADMSG && state_error) {
                log_profile(LOG_ERR, NULL, m.root_path,
                            "cannot use the seccomp directory: its state file is corrupt: %s. Inspect it; "
                            "removing it makes seccompd forget which files it owns: those it wrote become "
                            "foreign, left in place and reported as conflicts, never updated or removed",
                            state_error);
                return EXIT_USAGE;
        }
        if (r < 0) {
                log_profile(LOG_ERR, NULL, m.root_path, "cannot use the seccomp directory: %s",
                            strerror(-r));
                return r == -EBADMSG ? EXIT_USAGE : EXIT_SYNC_INCOMPLETE;
        }
        r = verdict_cache_new(4096, &m.cache);
        if (r < 0)
                goto finish;

        if (m.once && !kube) {
                r = full_sync(&m);
                r = r < 0 ? EXIT_SYNC_INCOMPLETE : m.last_status;
                goto finish;
        }

        r = sd_event_default(&m.event);
        if (r >= 0)
                r = sd_event_set_watchdog(m.event, true);
        if (r >= 0) {
                sigset_t mask;
                sigemptyset(&mask);
                sigaddset(&mask, SIGTERM);
                sigaddset(&mask, SIGINT);
                sigaddset(&mask, SIGHUP);
                r = sigprocmask(SIG_BLOCK, &mask, NULL) < 0 ? -errno : 0;
        }
        if (r >= 0)
                r = sd_event_add_signal(m.event, NULL, SIGTERM, NULL, NULL);
        if (r >= 0)
                r = sd_event_add_signal(m.event, NULL, SIGINT, NULL, NULL);
        if (r >= 0)
                r = sd_event_add_signal(m.event, NULL, SIGHUP, on_sighup, &m);
        if (r >= 0 && !kube)
                r = sd_event_add_inotify(m.event, NULL, m.source_dir, SOURCE_MASK | IN_ONLYDIR,
                                         on_source_inotify, &m);
        if (r < 0) {
                log_profile(LOG_ERR, NULL, m.source_dir, "cannot set up the event loop: %s", strerror(-r));
                r = EXIT_USAGE;
                goto finish;
        }
        if (kube) {
                r = setup_kube(&m, &k);
                if (r != 0)
                        goto finish;
        }
        if (!m.once)
                (void) watch_managed_dirs(&m); /* before the first sync, so its own echoes are recognised */
        r = kube ? 0 : schedule_sync(&m);
        if (r >= 0)
                r = sd_event_loop(m.event);
        (void) sd_notify(false, "STOPPING=1");
        r = r < 0 ? EXIT_SYNC_INCOMPLETE : m.once ? r : EXIT_OK;
finish:
        m.http = http_server_free(m.http);
        m.node = kube_node_free(m.node);
        m.kube = kube_source_free(m.kube);
        m.metrics = metrics_free(m.metrics);
        m.metrics_timer = sd_event_source_disable_unref(m.metrics_timer);
        m.once_deadline = sd_event_source_disable_unref(m.once_deadline);
        kube_config_clear(&m.kube_config);
        m.resync = sd_event_source_disable_unref(m.resync);
        m.grace_timer = sd_event_source_disable_unref(m.grace_timer);
        for (size_t i = 0; i < m.n_watched; i++) {
                free(m.watched[i]->dir);
                free(m.watched[i]);
        }
        free(m.watched);
        for (size_t i = 0; i < m.n_expected; i++)
                free(m.expected[i].path);
        free(m.expected);
        for (size_t i = 0; i < m.n_files; i++)
                source_file_free(m.files + i);
        free(m.files);
        for (size_t i = 0; i < m.n_dirty; i++)
                free(m.dirty[i]);
        free(m.dirty);
        sd_event_unref(m.event);
        verdict_cache_free(m.cache);
        sync_root_free(m.root);
        return r;
}
