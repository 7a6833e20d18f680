/* SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>

#include "dir-source.h"
#include "log.h"
#include "shared/sha256.h"
#include "shared/sorted.h"
#include "sync/source.h"

#define SOURCE_MASK (IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_CREATE | IN_ATTRIB)

typedef struct CachedProfile {
        char *path, *origin;
        bool adopt, valid;
        uint8_t hash[SHA256_DIGEST_SIZE];
} CachedProfile;

/* A source file as last read: while its stamp is unchanged, its profiles, their hashes and verdicts
 * are reused without reading it again. No bytes are kept. */
typedef struct SourceFile {
        char *name;
        dev_t dev;
        ino_t ino;
        off_t size;
        struct timespec mtime, ctime;
        CachedProfile *profiles;
        size_t n;
} SourceFile;

/* What the last desired() handed out: the set, and for each entry where it came from. Bytes and
 * verdicts exist for the files read this time only, until after_sync(). */
typedef struct Input {
        SourceSet fresh;   /* files (re)read for this sync */
        Verdict *verdicts; /* per fresh item */
        DesiredProfile *set;
        size_t *fresh_index; /* per desired item: index into fresh, or SIZE_MAX when reused */
        size_t *file_index;  /* per desired item: index into files, or SIZE_MAX when not cached */
        size_t n, allocated;
} Input;

typedef struct DirSource {
        Source source;
        DirSourceOptions o;
        sd_event_source *watch;
        SourceFile *files; /* sorted by name */
        size_t n_files;
        char **dirty; /* names inotify reported since the last sync, sorted */
        size_t n_dirty;
        bool need_full; /* look at every file: the start, lost events, a file that could not be read */
        Input in;
        size_t files_read;
} DirSource;

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

static void input_clear(Input *in)
{
        for (size_t i = 0; i < in->fresh.n && in->verdicts; i++)
                verdict_clear(in->verdicts + i);
        free(in->verdicts);
        free(in->set);
        free(in->fresh_index);
        free(in->file_index);
        source_set_clear(&in->fresh);
        *in = (Input){};
}

static int input_push(Input *in, DesiredProfile d, size_t fresh, size_t file)
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

/* A file's profiles as last judged: hashes and verdicts, no bytes. trusted: no event touched the file,
 * so the engine may also trust its targets without a stat. */
static int push_cached(Input *in, const SourceFile *f, size_t file, bool trusted)
{
        for (size_t k = 0; k < f->n; k++) {
                const CachedProfile *c = f->profiles + k;
                int r = input_push(in,
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

static int compare_file_name(const void *key, const void *element)
{
        return strcmp(key, ((const SourceFile *) element)->name);
}

static SourceFile *file_find(DirSource *s, const char *name)
{
        return sorted_find(s->files, s->n_files, sizeof(SourceFile), name, compare_file_name);
}

static int compare_name(const void *key, const void *element)
{
        return strcmp(key, *(char *const *) element);
}

static bool is_dirty(const DirSource *s, const char *name)
{
        return sorted_find(s->dirty, s->n_dirty, sizeof(char *), name, compare_name) != NULL;
}

static int compare_dirent(const struct dirent **a, const struct dirent **b)
{
        return strcmp((*a)->d_name, (*b)->d_name);
}

static bool same_stamp(const SourceFile *f, const struct stat *st)
{
        return f->dev == st->st_dev && f->ino == st->st_ino && f->size == st->st_size &&
               f->mtime.tv_sec == st->st_mtim.tv_sec && f->mtime.tv_nsec == st->st_mtim.tv_nsec &&
               f->ctime.tv_sec == st->st_ctim.tv_sec && f->ctime.tv_nsec == st->st_ctim.tv_nsec;
}

/* Moves a cached file's profiles into the next list under a copy of its name; the old entry keeps its
 * name for the binary search of later names and is freed with the old list. */
static int file_move(SourceFile *to, SourceFile *from, const char *name)
{
        *to = *from;
        to->name = strdup(name);
        from->profiles = NULL;
        from->n = 0;
        if (!to->name) {
                source_file_free(to);
                return -ENOMEM;
        }
        return 0;
}

/* Reads one file from disk into the input: its profiles validated (through the verdict cache), its
 * unusable objects logged now. When it was read in full, its stamp and verdicts go into *f, entry file
 * of the next list (cached). */
static int read_file(DirSource *s, int dfd, const char *name, const struct stat *st, bool stamped,
                     SourceFile *f, size_t file, bool *ret_cached)
{
        Input *in = &s->in;
        size_t first = in->fresh.n, first_error = in->fresh.n_errors;
        bool was_complete = in->fresh.complete;
        int r;

        *ret_cached = false;
        s->files_read++;
        r = source_read_entry(dfd, s->o.path, name, &in->fresh);
        for (size_t k = first_error; k < in->fresh.n_errors; k++)
                log_profile(LOG_ERR, NULL, in->fresh.errors[k].message, "source object not used");
        if (r < 0)
                return r;
        Verdict *v = realloc(in->verdicts, MAX(in->fresh.n, (size_t) 1) * sizeof(Verdict));
        if (!v)
                return -ENOMEM;
        in->verdicts = v;
        /* Not cached when it could not be read in full: read again next time. */
        bool cache = stamped && was_complete && in->fresh.complete;
        if (cache) {
                *f = (SourceFile){
                        .name = strdup(name),
                        .dev = st->st_dev,
                        .ino = st->st_ino,
                        .size = st->st_size,
                        .mtime = st->st_mtim,
                        .ctime = st->st_ctim,
                        .profiles = calloc(MAX(in->fresh.n - first, (size_t) 1), sizeof(CachedProfile))};
                if (!f->name || !f->profiles) {
                        source_file_free(f);
                        return -ENOMEM;
                }
                *ret_cached = true;
        }
        for (size_t k = first; k < in->fresh.n; k++) {
                const SourceProfile *p = in->fresh.items + k;
                int q = profile_validate_cached(s->o.cache, p->bytes, p->len, s->o.validate,
                                                in->verdicts + k, NULL);
                if (q < 0) {
                        log_profile(LOG_ERR, p->path, p->origin, "cannot validate: %s", strerror(-q));
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
                                return -ENOMEM;
                }
                r = input_push(in, d, k, cache ? file : SIZE_MAX);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* The names to look at: with scoped, the files of the last sync and those inotify named, merged in
 * order; else the whole directory. *ret_entries (to free) holds the names of a scan. */
static int list_names(DirSource *s, int dfd, bool scoped, const char ***ret_names, size_t *ret_n,
                      struct dirent ***ret_entries, int *ret_n_entries)
{
        _cleanup_free_ const char **names = NULL;
        size_t k = 0;
        if (scoped) {
                names = calloc(s->n_files + s->n_dirty + 1, sizeof(char *));
                if (!names)
                        return -ENOMEM;
                size_t a = 0, b = 0;
                while (a < s->n_files || b < s->n_dirty) {
                        int c = a == s->n_files   ? 1
                                : b == s->n_dirty ? -1
                                                  : strcmp(s->files[a].name, s->dirty[b]);
                        names[k++] = c <= 0 ? s->files[a].name : s->dirty[b];
                        a += c <= 0;
                        b += c >= 0;
                }
        } else {
                struct dirent **entries = NULL;
                int n = scandirat(dfd, ".", &entries, NULL, compare_dirent);
                if (n < 0)
                        return -errno;
                names = calloc((size_t) n + 1, sizeof(char *));
                for (int e = 0; names && e < n; e++)
                        names[k++] = entries[e]->d_name;
                *ret_entries = entries;
                *ret_n_entries = n;
                if (!names)
                        return -ENOMEM;
        }
        *ret_names = TAKE_PTR(names);
        *ret_n = k;
        return 0;
}

/* Reads the source into s->in: unchanged files from the cache, others from disk. Rebuilds s->files.
 * A directory that cannot be read makes the set incomplete, which removes nothing. */
static int read_source(DirSource *s, bool full, bool *ret_complete, bool *ret_settled)
{
        _cleanup_close_ int dfd = open(s->o.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        _cleanup_free_ const char **names = NULL;
        struct dirent **entries = NULL;
        int n_entries = 0;
        SourceFile *next = NULL;
        size_t n_names = 0, n_next = 0;
        /* A scoped sync looks only at the files inotify named: the others cannot have changed. */
        bool scoped = !full && !s->need_full;
        int r;

        s->in.fresh.complete = true;
        r = dfd < 0 ? -errno : list_names(s, dfd, scoped, &names, &n_names, &entries, &n_entries);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                log_profile(LOG_ERR, NULL, s->o.path,
                            "cannot read the source directory: %s; nothing is removed", strerror(-r));
                *ret_complete = *ret_settled = false;
                s->need_full = true;
                return 0;
        }
        next = calloc(n_names + 1, sizeof(SourceFile));
        if (!next)
                r = -ENOMEM;
        for (size_t e = 0; r >= 0 && e < n_names; e++) {
                const char *name = names[e];
                struct stat st;
                if (!source_entry_wanted(name))
                        continue;
                SourceFile *cached = file_find(s, name);
                if (scoped && !is_dirty(s, name) && cached && cached->profiles) {
                        /* Untouched since the last sync: reuse it, and let the engine trust its targets. */
                        r = file_move(next + n_next, cached, name);
                        if (r >= 0)
                                r = push_cached(&s->in, next + n_next, n_next, true);
                        n_next += r >= 0;
                        continue;
                }
                bool stamped = fstatat(dfd, name, &st, 0) >= 0;
                struct stat lst;
                /* Removed since the last sync; but a link that dangles is there and unreadable, as a
                 * full sync finds it: the set is incomplete, nothing of it is removed. */
                if (!stamped && errno == ENOENT && scoped &&
                    fstatat(dfd, name, &lst, AT_SYMLINK_NOFOLLOW) < 0)
                        continue;
                if (stamped && cached && cached->profiles && same_stamp(cached, &st)) {
                        r = file_move(next + n_next, cached, name);
                        if (r >= 0)
                                r = push_cached(&s->in, next + n_next, n_next, false);
                        n_next += r >= 0;
                        continue;
                }
                bool cache;
                r = read_file(s, dfd, name, &st, stamped, next + n_next, n_next, &cache);
                n_next += cache;
        }
        for (int e = 0; e < n_entries; e++)
                free(entries[e]);
        free(entries);
        for (size_t k = 0; k < s->n_files; k++)
                source_file_free(s->files + k);
        free(s->files);
        s->files = next;
        s->n_files = n_next;
        for (size_t k = 0; k < s->n_dirty; k++)
                free(s->dirty[k]);
        s->n_dirty = 0;
        *ret_complete = s->in.fresh.complete;
        *ret_settled = !s->in.fresh.unreadable;
        /* What could not be read is not cached: only a full sync keeps seeing it, and so keeps from
         * deleting what it provided. */
        s->need_full = !s->in.fresh.complete || r < 0;
        return r;
}

static int dir_desired(Source *source, bool full, SourceDesired *ret)
{
        DirSource *s = (DirSource *) source;
        bool complete = true, settled = true;
        input_clear(&s->in);
        int r = read_source(s, full, &complete, &settled);
        if (r < 0)
                return r;
        *ret = (SourceDesired){.set = s->in.set, .n = s->in.n, .complete = complete, .settled = settled};
        return 0;
}

static void dir_need_bytes(Source *source, size_t index)
{
        DirSource *s = (DirSource *) source;
        /* An own file is gone or changed while its source file is unchanged: read that file again. */
        if (index < s->in.n && s->in.file_index[index] < s->n_files)
                s->files[s->in.file_index[index]].ino = 0;
        s->need_full = true;
        s->o.changed(s->o.userdata);
}

/* What was read this time is reported now, once: its verdict's diagnostics with the outcome. Files
 * reused from the cache were reported when they were read. Conflicts are said on every sync. */
static void dir_after_sync(Source *source, const SyncResult *res)
{
        DirSource *s = (DirSource *) source;
        const Input *in = &s->in;
        for (size_t i = 0; i < res->n_events; i++) {
                const SyncEvent *e = res->events + i;
                if (e->index >= in->n)
                        continue;
                size_t k = in->fresh_index[e->index];
                const SourceProfile *p = k == SIZE_MAX ? NULL : in->fresh.items + k;
                switch (e->action) {
                case SYNC_REJECTED:
                case SYNC_KEPT_LAST_GOOD:
                        if (!p)
                                break;
                        log_diagnostics(p->path, p->origin, &in->verdicts[k].diagnostics);
                        log_profile(LOG_WARNING, e->path, e->origin, "%s",
                                    e->action == SYNC_REJECTED
                                            ? "invalid profile not installed"
                                            : "invalid update rejected; the last good profile stays");
                        break;
                case SYNC_CONFLICT:
                        log_profile(LOG_WARNING, e->path, e->origin, "conflict: %s; left alone",
                                    e->reason ?: "");
                        break;
                case SYNC_INSTALLED:
                case SYNC_UPDATED:
                case SYNC_ADOPTED:
                        if (p)
                                log_diagnostics(p->path, p->origin, &in->verdicts[k].diagnostics);
                        break;
                case SYNC_FAILED:
                        /* Its bytes go now: the retry must read its file again. */
                        if (in->file_index[e->index] < s->n_files)
                                s->files[in->file_index[e->index]].ino = 0;
                        break;
                default:
                        break;
                }
        }
        /* The bytes are on disk or will be read again: only hashes stay, in the file cache. */
        for (size_t i = 0; i < s->in.fresh.n; i++)
                verdict_clear(s->in.verdicts + i);
        source_set_clear(&s->in.fresh);
        s->in.n = 0;
}

static bool dir_ready(const Source *s, char **ret_reason)
{
        return true; /* a directory is read in full at every sync, or the sync says it was not */
}

static void dir_free(Source *source)
{
        DirSource *s = (DirSource *) source;
        s->watch = sd_event_source_disable_unref(s->watch);
        input_clear(&s->in);
        for (size_t i = 0; i < s->n_files; i++)
                source_file_free(s->files + i);
        free(s->files);
        for (size_t i = 0; i < s->n_dirty; i++)
                free(s->dirty[i]);
        free(s->dirty);
        free(s);
}

static const SourceOps dir_source_ops = {
        .desired = dir_desired,
        .need_bytes = dir_need_bytes,
        .after_sync = dir_after_sync,
        .ready = dir_ready,
        .free = dir_free,
};

static void need_full(DirSource *s)
{
        s->need_full = true;
        s->o.changed(s->o.userdata);
}

/* A named profile or manifest: only it is read again. Anything else (a ConfigMap volume swapping its
 * ..data link, lost events, the directory itself) makes the next sync look at everything. */
static int on_inotify(sd_event_source *es, const struct inotify_event *ev, void *userdata)
{
        DirSource *s = userdata;
        /* Hidden files are never read (an editor's, a tool's temporary); but "..data" and the other
         * ".." names of a ConfigMap volume change what the key symlinks point to. */
        if (ev->len > 0 && ev->name[0] == '.' && ev->name[1] != '.')
                return 0;
        if ((ev->mask & IN_Q_OVERFLOW) || ev->len == 0 || !source_entry_wanted(ev->name)) {
                need_full(s);
                return 0;
        }
        bool found;
        size_t at = sorted_position(s->dirty, s->n_dirty, sizeof(char *), ev->name, compare_name, &found);
        if (!found) {
                char **d = realloc(s->dirty, (s->n_dirty + 1) * sizeof(char *));
                char *copy = d ? strdup(ev->name) : NULL;
                if (d)
                        s->dirty = d;
                if (!copy) {
                        need_full(s);
                        return 0;
                }
                memmove(s->dirty + at + 1, s->dirty + at, (s->n_dirty - at) * sizeof(char *));
                s->dirty[at] = copy;
                s->n_dirty++;
        }
        s->o.changed(s->o.userdata);
        return 0;
}

int dir_source_new(const DirSourceOptions *o, Source **ret)
{
        DirSource *s = calloc(1, sizeof(DirSource));
        if (!s)
                return -ENOMEM;
        *s = (DirSource){.source = {.ops = &dir_source_ops}, .o = *o, .need_full = true};
        if (o->event) {
                int r = sd_event_add_inotify(o->event, &s->watch, o->path, SOURCE_MASK | IN_ONLYDIR,
                                             on_inotify, s);
                if (r < 0) {
                        dir_free(&s->source);
                        return r;
                }
        }
        *ret = &s->source;
        return 0;
}

void dir_source_stats(const Source *source, DirSourceStats *ret)
{
        const DirSource *s = (const DirSource *) source;
        *ret = (DirSourceStats){.files_read = s->files_read, .files_cached = s->n_files};
}
