/* SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>

#include "paths.h"
#include "shared/fileio.h"
#include "shared/macro.h"
#include "shared/sha256.h"
#include "shared/sorted.h"
#include "sync.h"

#define STATE_FILE     STATE_PREFIX "-state"
#define TEMP_PREFIX    STATE_PREFIX "-tmp-"
#define STATE_MAX_SIZE (16 * 1024 * 1024)

typedef struct Owned {
        char *path;
        bool is_dir;                      /* a directory seccompd created, removed once empty */
        uint64_t missing_since;           /* left the desired set at this now_usec, 0 while desired; never
                                             saved: see state_save() */
        uint8_t hash[SHA256_DIGEST_SIZE]; /* of what seccompd last wrote or verified there */
        bool has_hash;
        struct {
                dev_t dev;
                ino_t ino;
                off_t size;
                struct timespec mtime, ctime;
        } stamp;    /* of the file as seccompd last saw it: unchanged stamp, unchanged bytes */
        char *good; /* while the source is invalid: the last good bytes, to undo a tampering */
        size_t good_len;
        bool seen; /* in this apply's desired set */
} Owned;

struct SyncRoot {
        int fd;
        char *path;
        Owned *owned;
        size_t n_owned, allocated;
};

static const char *const action_names[_SYNC_ACTION_MAX] = {
        [SYNC_INSTALLED] = "installed",
        [SYNC_UPDATED] = "updated",
        [SYNC_REPAIRED] = "repaired",
        [SYNC_ADOPTED] = "adopted",
        [SYNC_KEPT_LAST_GOOD] = "kept-last-good",
        [SYNC_REJECTED] = "rejected",
        [SYNC_CONFLICT] = "conflict",
        [SYNC_REMOVED] = "removed",
        [SYNC_DELETE_PENDING] = "delete-pending",
        [SYNC_FAILED] = "failed",
};

const char *sync_action_to_string(SyncAction a)
{
        return a < _SYNC_ACTION_MAX ? action_names[a] : "?";
}

/* The owned entries stay sorted by (is_dir, path): lookups are binary searches, since a sync looks up
 * every desired path. Adding or removing an entry moves the ones after it: re-find pointers after. */
typedef struct OwnedKey {
        const char *path;
        bool is_dir;
} OwnedKey;

static int owned_compare(const void *key, const void *element)
{
        const OwnedKey *k = key;
        const Owned *b = element;
        if (k->is_dir != b->is_dir)
                return k->is_dir ? 1 : -1;
        return strcmp(k->path, b->path);
}

static size_t owned_position(const SyncRoot *r, const char *path, bool is_dir, bool *ret_found)
{
        return sorted_position(r->owned, r->n_owned, sizeof(Owned), &(OwnedKey){path, is_dir}, owned_compare,
                               ret_found);
}

static Owned *owned_find(const SyncRoot *r, const char *path, bool is_dir)
{
        bool found;
        size_t i = owned_position(r, path, is_dir, &found);
        return found ? r->owned + i : NULL;
}

bool sync_root_owns(const SyncRoot *r, const char *path)
{
        return owned_find(r, path, false) != NULL;
}

int sync_root_managed_dirs(const SyncRoot *r, char ***ret, size_t *ret_n)
{
        char **dirs = calloc(r->n_owned + 1, sizeof(char *));
        size_t n = 0;
        if (!dirs)
                return -ENOMEM;
        dirs[n++] = strdup("");
        for (size_t i = 0; i < r->n_owned; i++) {
                const char *p = r->owned[i].path, *slash = strrchr(p, '/');
                size_t len = slash ? (size_t) (slash - p) : 0;
                bool seen = false;
                if (r->owned[i].is_dir)
                        continue;
                for (size_t k = 0; k < n && !seen; k++)
                        seen = dirs[k] && strlen(dirs[k]) == len && strncmp(dirs[k], p, len) == 0;
                if (!seen)
                        dirs[n++] = strndup(p, len);
        }
        for (size_t k = 0; k < n; k++)
                if (!dirs[k]) {
                        for (size_t j = 0; j < n; j++)
                                free(dirs[j]);
                        free(dirs);
                        return -ENOMEM;
                }
        *ret = dirs;
        *ret_n = n;
        return 0;
}

static int owned_add(SyncRoot *r, const char *path, bool is_dir, Owned **ret)
{
        bool found;
        size_t at = owned_position(r, path, is_dir, &found);
        if (found) {
                if (ret)
                        *ret = r->owned + at;
                return 0;
        }
        if (r->n_owned == r->allocated) {
                size_t a = r->allocated ? r->allocated * 2 : 64;
                Owned *o = realloc(r->owned, a * sizeof(Owned));
                if (!o)
                        return -ENOMEM;
                r->owned = o;
                r->allocated = a;
        }
        char *p = strdup(path);
        if (!p)
                return -ENOMEM;
        memmove(r->owned + at + 1, r->owned + at, (r->n_owned - at) * sizeof(Owned));
        r->owned[at] = (Owned){.path = p, .is_dir = is_dir};
        if (ret)
                *ret = r->owned + at;
        r->n_owned++;
        return 0;
}

static void owned_remove(SyncRoot *r, Owned *o)
{
        size_t at = (size_t) (o - r->owned);
        free(o->path);
        free(o->good);
        memmove(r->owned + at, r->owned + at + 1, (r->n_owned - at - 1) * sizeof(Owned));
        r->n_owned--;
}

/* The state file: a header, then one line per owned path: "f|d 0 <path>". Paths are validated names,
 * so they hold no spaces or newlines. Written to a temporary file, fsync'd, renamed, and the root
 * fsync'd: the state on disk is always one complete version.
 *
 * The 0 once held the wall-clock time a path left the desired set. Times are now CLOCK_MONOTONIC,
 * which means nothing in another boot, so none is saved: after a restart a pending deletion waits a
 * whole grace again from the first complete sync (longer, never shorter). A 0 there also makes an
 * older seccompd, reading this file, start its grace afresh rather than delete at once. */
static int state_save(SyncRoot *r)
{
        char tmp[64];
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        size_t len = 0;
        FILE *f;

        f = open_memstream(&buf, &len);
        if (!f)
                return -ENOMEM;
        fputs("seccompd-state 1\n", f);
        for (size_t i = 0; i < r->n_owned; i++)
                fprintf(f, "%c 0 %s\n", r->owned[i].is_dir ? 'd' : 'f', r->owned[i].path);
        if (fclose(f) != 0)
                return -ENOMEM;

        (void) snprintf(tmp, sizeof(tmp), "%sstate", TEMP_PREFIX);
        (void) unlinkat(r->fd, tmp, 0);
        fd = openat(r->fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return -errno;
        for (size_t off = 0; off < len;) {
                ssize_t n = write(fd, buf + off, len - off);
                if (n < 0) {
                        int e = -errno;
                        (void) unlinkat(r->fd, tmp, 0);
                        return e;
                }
                off += (size_t) n;
        }
        if (fsync(fd) < 0 || renameat(r->fd, tmp, r->fd, STATE_FILE) < 0 || fsync(r->fd) < 0) {
                int e = -errno;
                (void) unlinkat(r->fd, tmp, 0);
                return e;
        }
        return 0;
}

/* Why the state file cannot be used, for ret_error: the file, the line, what is wrong there. A line is
 * quoted with anything unprintable as \xNN, so a garbage line cannot forge a log line. */
_printf_(4, 5) static int state_corrupt(const SyncRoot *r, char **ret_error, size_t line_no, const char *fmt,
                                        ...)
{
        _cleanup_free_ char *what = NULL;
        va_list ap;

        if (ret_error) {
                va_start(ap, fmt);
                int k = vasprintf(&what, fmt, ap);
                va_end(ap);
                if (k < 0)
                        return -ENOMEM;
                free(*ret_error);
                *ret_error = NULL;
                k = line_no ? asprintf(ret_error, "%s/%s: line %zu: %s", r->path, STATE_FILE, line_no, what)
                            : asprintf(ret_error, "%s/%s: %s", r->path, STATE_FILE, what);
                if (k < 0) {
                        *ret_error = NULL;
                        return -ENOMEM;
                }
        }
        return -EBADMSG;
}

static void quote_line(const char *line, char *buf, size_t size)
{
        size_t n = 0;
        for (const unsigned char *c = (const unsigned char *) line; *c && n + 5 < size; c++)
                if (*c >= 0x20 && *c < 0x7f && *c != '\\' && *c != '"')
                        buf[n++] = (char) *c;
                else
                        n += (size_t) snprintf(buf + n, size - n, "\\x%02x", *c);
        buf[n] = 0;
}

/* Every path read back is checked as strictly as a new desired one (paths.h): the file is ours, but a
 * root user, a restored backup or a bad disk may have changed it, and an entry like "../x.json" would
 * have seccompd delete a file outside the root on the strength of it. Nothing is taken from a file
 * with one bad line: which of its other entries to believe cannot be known. */
static int state_load(SyncRoot *r, char **ret_error)
{
        static const char header[] = "seccompd-state 1\n";
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        size_t len, line_no = 1;
        int k;

        fd = openat(r->fd, STATE_FILE, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
        if (fd < 0)
                return errno == ENOENT ? 0 : -errno;
        struct stat st;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return state_corrupt(r, ret_error, 0, "not a regular file");
        k = read_full_fd(fd, STATE_MAX_SIZE, &buf, &len);
        if (k < 0)
                return k;
        if (len == 0)
                return state_corrupt(r, ret_error, 0, "the file is empty (no \"seccompd-state 1\" header)");
        if (memchr(buf, 0, len)) {
                for (const char *c = buf; *c; c++)
                        line_no += *c == '\n';
                return state_corrupt(r, ret_error, line_no, "holds a NUL byte");
        }
        if (len < strlen(header) || memcmp(buf, header, strlen(header)) != 0)
                return state_corrupt(r, ret_error, 1, "not the header \"seccompd-state 1\"");
        if (buf[len - 1] != '\n')
                return state_corrupt(r, ret_error, 0, "the last line is cut short (no final newline)");

        for (char *line = buf + strlen(header), *next; *line; line = next) {
                const char *why = NULL, *path = NULL;
                char *end;
                line_no++;
                next = strchr(line, '\n');
                *next++ = 0;
                /* "f|d <digits> <path>", as state_save() writes it, nothing more: the since field is
                 * ignored, a time from another clock or boot (see state_save()). */
                bool is_dir = line[0] == 'd';
                if ((line[0] != 'f' && line[0] != 'd') || line[1] != ' ' || line[2] < '0' || line[2] > '9')
                        why = "not \"f|d 0 <path>\"";
                else {
                        (void) strtoull(line + 2, &end, 10);
                        if (*end != ' ')
                                why = "not \"f|d 0 <path>\"";
                        else {
                                path = end + 1;
                                why = is_dir ? profile_target_directory_invalid(path)
                                             : profile_target_path_invalid(path);
                        }
                }
                if (why) {
                        char quoted[160];
                        quote_line(line, quoted, sizeof(quoted));
                        return state_corrupt(r, ret_error, line_no, "\"%s\": %s", quoted, why);
                }
                k = owned_add(r, path, is_dir, NULL);
                if (k < 0)
                        return k;
        }
        return 0;
}

/* Opens the directory that holds rel (its last component excluded), walking from the root with
 * O_NOFOLLOW on every component: a symlink anywhere is refused, never followed. With create, missing
 * directories are made (0755) and recorded as ours. When a component is not a directory, the walk
 * stops there with -ELOOP (a symlink) or -ENOTDIR (anything else), and *ret_stop (if given) is the
 * length of the prefix of rel that names it, for saying what stands in the way. */
static int open_parent(SyncRoot *r, const char *rel, bool create, int *ret_fd, const char **ret_leaf,
                       bool *ret_created, size_t *ret_stop)
{
        _cleanup_close_ int fd = -EBADF;
        const char *c = rel;
        char comp[256];
        int k;

        fd = fcntl(r->fd, F_DUPFD_CLOEXEC, 3);
        if (fd < 0)
                return -errno;
        for (;;) {
                size_t n = strcspn(c, "/");
                if (c[n] == 0)
                        break;
                if (n >= sizeof(comp))
                        return -ENAMETOOLONG;
                memcpy(comp, c, n);
                comp[n] = 0;
                int sub = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (sub < 0 && errno == ENOENT && create) {
                        if (mkdirat(fd, comp, 0755) < 0 && errno != EEXIST)
                                return -errno;
                        _cleanup_free_ char *dir = strndup(rel, (size_t) (c + n - rel));
                        if (!dir)
                                return -ENOMEM;
                        if (!owned_find(r, dir, true)) {
                                k = owned_add(r, dir, true, NULL);
                                if (k < 0)
                                        return k;
                                if (ret_created)
                                        *ret_created = true;
                        }
                        sub = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                }
                if (sub < 0 && (errno == ENOTDIR || errno == ELOOP)) {
                        /* O_DIRECTORY|O_NOFOLLOW says ENOTDIR for a symlink and a file alike. */
                        struct stat st;
                        k = fstatat(fd, comp, &st, AT_SYMLINK_NOFOLLOW) >= 0 && S_ISLNK(st.st_mode)
                                    ? -ELOOP
                                    : -ENOTDIR;
                        if (ret_stop)
                                *ret_stop = (size_t) (c + n - rel);
                        return k;
                }
                if (sub < 0)
                        return -errno;
                (void) close(fd);
                fd = sub;
                c += n + 1;
        }
        *ret_leaf = c;
        *ret_fd = TAKE_FD(fd);
        return 0;
}

/* What is at the target: -ENOENT, -ELOOP for a symlink, -EISDIR/-EBADFD for other non-files, or 0
 * with the contents. */
static int read_target(int dirfd, const char *leaf, char **ret, size_t *ret_len)
{
        _cleanup_close_ int fd = openat(dirfd, leaf, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
        struct stat st;
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return S_ISDIR(st.st_mode) ? -EISDIR : -EBADFD;
        return read_full_fd(fd, 4 * 1024 * 1024, ret, ret_len);
}

/* Writes bytes to a fresh temporary file beside the target, fsyncs it and renames it over the target.
 * The directory is fsync'd later, once for all files in it. */
static int replace_file(int dirfd, const char *leaf, const char *bytes, size_t len)
{
        char tmp[64];
        uint64_t rnd;
        _cleanup_close_ int fd = -EBADF;

        if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
                return -EIO;
        (void) snprintf(tmp, sizeof(tmp), "%s%016llx", TEMP_PREFIX, (unsigned long long) rnd);
        fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
                return -errno;
        int k = 0;
        if (fchmod(fd, 0644) < 0) /* not narrowed by the umask: the runtime reads it as root anyway */
                k = -errno;
        for (size_t off = 0; k == 0 && off < len;) {
                ssize_t n = write(fd, bytes + off, len - off);
                if (n < 0)
                        k = -errno;
                else
                        off += (size_t) n;
        }
        if (k == 0 && fsync(fd) < 0)
                k = -errno;
        /* Closed before the rename: a close after it would reach inotify watchers as a CLOSE_WRITE under
         * the profile's name, which looks like someone else writing it. */
        if (close(TAKE_FD(fd)) < 0 && k == 0)
                k = -errno;
        if (k == 0 && renameat(dirfd, tmp, dirfd, leaf) < 0)
                k = -errno;
        if (k < 0)
                (void) unlinkat(dirfd, tmp, 0);
        return k;
}

/* Directories written to in this apply, fsync'd once each at the end. */
typedef struct DirSet {
        char **dirs;
        size_t n;
} DirSet;

static void dirset_add(DirSet *s, const char *path)
{
        const char *slash = strrchr(path, '/');
        size_t n = slash ? (size_t) (slash - path) : 0;
        for (size_t i = 0; i < s->n; i++)
                if (strlen(s->dirs[i]) == n && strncmp(s->dirs[i], path, n) == 0)
                        return;
        char **d = realloc(s->dirs, (s->n + 1) * sizeof(char *));
        if (!d)
                return; /* the rename is done; only durability across a power cut is weakened */
        s->dirs = d;
        s->dirs[s->n] = strndup(path, n);
        if (s->dirs[s->n])
                s->n++;
}

static void dirset_sync(SyncRoot *r, DirSet *s)
{
        for (size_t i = 0; i < s->n; i++) {
                _cleanup_free_ char *probe = NULL;
                const char *leaf;
                int fd;
                if (asprintf(&probe, "%s%sx", s->dirs[i], *s->dirs[i] ? "/" : "") >= 0 &&
                    open_parent(r, probe, false, &fd, &leaf, NULL, NULL) >= 0) {
                        (void) fsync(fd);
                        (void) close(fd);
                }
                free(s->dirs[i]);
        }
        free(s->dirs);
        *s = (DirSet){};
}

static void event_add(SyncResult *res, SyncAction a, size_t index, const char *path, const char *origin,
                      int error, const char *reason)
{
        SyncEvent *e = realloc(res->events, (res->n_events + 1) * sizeof(SyncEvent));
        if (!e)
                return;
        res->events = e;
        e[res->n_events++] = (SyncEvent){
                .action = a,
                .index = index,
                .path = strdup(path),
                .origin = origin ? strdup(origin) : NULL,
                .error = error,
                .reason = reason ? strdup(reason) : NULL,
        };
}

/* What stands in the way of path, for a conflict's reason, or NULL when k is an I/O error. stop is
 * the length of the prefix of path where open_parent() stopped, or strlen(path) when the target
 * itself is the trouble. Each says what is there and whose it is: the reader fixes an object (a
 * directory annotation naming another profile's file) or the node (something planted there). */
static char *blocked_reason(const SyncRoot *r, const char *path, int k, size_t stop)
{
        _cleanup_free_ char *at = strndup(path, stop);
        char *reason = NULL;
        int n = 0;

        if (!at)
                return NULL;
        bool target = stop >= strlen(path);
        if (k == -ELOOP && target)
                n = asprintf(&reason, "a symlink holds the target path; seccompd never follows symlinks");
        else if (k == -ELOOP)
                n = asprintf(&reason,
                             "a symlink stands at %s, where a directory must be; seccompd never follows "
                             "symlinks",
                             at);
        else if (k == -ENOTDIR && owned_find(r, at, false))
                n = asprintf(&reason,
                             "%s is a profile file seccompd installed, where a directory would have to be",
                             at);
        else if (k == -ENOTDIR)
                n = asprintf(&reason, "%s is not a directory, and seccompd did not write it", at);
        else if (k == -EISDIR && owned_find(r, path, true))
                n = asprintf(&reason, "a directory seccompd made for other profiles holds the target path");
        else if (k == -EISDIR)
                n = asprintf(&reason, "a directory seccompd did not make holds the target path");
        else if (k == -EBADFD)
                n = asprintf(&reason, "something other than a regular file holds the target path");
        return n < 0 ? NULL : reason;
}

/* Something seccompd did not write (a symlink, a directory, a FIFO...), or one of its own files where a
 * directory would have to be, at or above the target is a conflict like a foreign file: reported with
 * what it is, left alone, and no sign of a failing disk (--once exits 1 for it, not 3; it does not hold
 * READY=1 back). Any other error is a failure. */
static void event_add_error(SyncResult *res, const SyncRoot *r, size_t index, const char *path,
                            const char *origin, int k, size_t stop)
{
        bool conflict = k == -ELOOP || k == -ENOTDIR || k == -EISDIR || k == -EBADFD;
        _cleanup_free_ char *reason = conflict ? blocked_reason(r, path, k, stop) : NULL;
        /* Out of memory for the words: still a conflict, said in fewer of them. */
        event_add(res, conflict ? SYNC_CONFLICT : SYNC_FAILED, index, path, origin, k,
                  conflict ? reason ?: "something seccompd did not write is on the path" : NULL);
        if (conflict)
                res->conflicts++;
        else
                res->failed++;
}

static void clean_temporaries(int dir_fd)
{
        _cleanup_close_ int fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
        if (!d)
                return;
        fd = -EBADF; /* owned by d now */
        for (struct dirent *de; (de = readdir(d));)
                if (strncmp(de->d_name, TEMP_PREFIX, strlen(TEMP_PREFIX)) == 0)
                        (void) unlinkat(dir_fd, de->d_name, 0);
        closedir(d);
}

int sync_root_open(const char *path, bool wait, SyncRoot **ret, char **ret_error)
{
        SyncRoot *r = calloc(1, sizeof(SyncRoot));
        int k;

        if (!r)
                return -ENOMEM;
        r->fd = -EBADF;
        r->path = strdup(path);
        if (!r->path) {
                sync_root_free(r);
                return -ENOMEM;
        }
        /* The root itself may be created (kubelet may not have made it yet); not followed if a link. */
        if (mkdir(path, 0755) < 0 && errno != EEXIST) {
                k = -errno;
                goto fail;
        }
        r->fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (r->fd < 0) {
                k = -errno;
                goto fail;
        }
        if (flock(r->fd, LOCK_EX | LOCK_NB) < 0) {
                if (errno != EWOULDBLOCK || !wait) {
                        k = -errno;
                        goto fail;
                }
                if (flock(r->fd, LOCK_EX) < 0) {
                        k = -errno;
                        goto fail;
                }
        }
        k = state_load(r, ret_error);
        if (k < 0)
                goto fail;
        clean_temporaries(r->fd);
        for (size_t i = 0; i < r->n_owned; i++)
                if (r->owned[i].is_dir) {
                        _cleanup_free_ char *probe = NULL;
                        const char *leaf;
                        int fd;
                        if (asprintf(&probe, "%s/x", r->owned[i].path) >= 0 &&
                            open_parent(r, probe, false, &fd, &leaf, NULL, NULL) >= 0) {
                                clean_temporaries(fd);
                                (void) close(fd);
                        }
                }
        *ret = r;
        return 0;
fail:
        sync_root_free(r);
        return k;
}

SyncRoot *sync_root_free(SyncRoot *r)
{
        if (!r)
                return NULL;
        for (size_t i = 0; i < r->n_owned; i++) {
                free(r->owned[i].path);
                free(r->owned[i].good);
        }
        free(r->owned);
        if (r->fd >= 0)
                (void) close(r->fd);
        free(r->path);
        free(r);
        return NULL;
}

void sync_result_clear(SyncResult *res)
{
        for (size_t i = 0; i < res->n_events; i++) {
                free(res->events[i].path);
                free(res->events[i].origin);
                free(res->events[i].reason);
        }
        free(res->events);
        *res = (SyncResult){};
}

static void hash_bytes(const char *bytes, size_t len, uint8_t out[static SHA256_DIGEST_SIZE])
{
        Sha256 h;
        sha256_init(&h);
        sha256_update(&h, bytes, len);
        sha256_final(&h, out);
}

/* Records what is on disk now (after a write or a read that verified it). Without a stamp, the next
 * sync simply reads the file again. */
static void remember(Owned *o, int dirfd, const char *leaf, const uint8_t hash[static SHA256_DIGEST_SIZE])
{
        struct stat st;
        memcpy(o->hash, hash, SHA256_DIGEST_SIZE);
        o->has_hash = fstatat(dirfd, leaf, &st, AT_SYMLINK_NOFOLLOW) >= 0 && S_ISREG(st.st_mode);
        if (o->has_hash) {
                o->stamp.dev = st.st_dev;
                o->stamp.ino = st.st_ino;
                o->stamp.size = st.st_size;
                o->stamp.mtime = st.st_mtim;
                o->stamp.ctime = st.st_ctim;
        }
}

/* The file is what seccompd last saw: same inode, size, modification and change times. ctime cannot
 * be set from user space, so an edit that restores the mtime is still seen. */
static bool untouched(const Owned *o, int dirfd, const char *leaf)
{
        struct stat st;
        return o->has_hash && fstatat(dirfd, leaf, &st, AT_SYMLINK_NOFOLLOW) >= 0 && S_ISREG(st.st_mode) &&
               st.st_dev == o->stamp.dev && st.st_ino == o->stamp.ino && st.st_size == o->stamp.size &&
               st.st_mtim.tv_sec == o->stamp.mtime.tv_sec && st.st_mtim.tv_nsec == o->stamp.mtime.tv_nsec &&
               st.st_ctim.tv_sec == o->stamp.ctime.tv_sec && st.st_ctim.tv_nsec == o->stamp.ctime.tv_nsec;
}

static void stash_good(Owned *o, const char *bytes, size_t len)
{
        char *g = malloc(MAX(len, (size_t) 1));
        if (!g)
                return;
        memcpy(g, bytes, len);
        free(o->good);
        o->good = g;
        o->good_len = len;
}

/* Removes directories seccompd created on the way to path, deepest first, when empty. */
static void remove_empty_dirs(SyncRoot *r, const char *path)
{
        _cleanup_free_ char *dir = strdup(path);
        for (char *slash; dir && (slash = strrchr(dir, '/'));) {
                *slash = 0;
                Owned *o = owned_find(r, dir, true);
                const char *leaf;
                int fd;
                if (!o || open_parent(r, dir, false, &fd, &leaf, NULL, NULL) < 0)
                        return;
                int k = unlinkat(fd, leaf, AT_REMOVEDIR) < 0 ? -errno : 0;
                (void) close(fd);
                if (k < 0 && k != -ENOENT)
                        return; /* not empty: another profile, or a file that is not ours */
                owned_remove(r, o);
        }
}

static uint64_t path_hash(const char *s)
{
        uint64_t h = 14695981039346656037ULL; /* FNV-1a */
        for (; *s; s++)
                h = (h ^ (uint8_t) *s) * 1099511628211ULL;
        return h;
}

/* dup[i]: an earlier entry of the set claims the same path (the first one wins). A hash set, not a
 * sort: a scoped sync passes the whole set, and this runs on every update. */
static int find_duplicates(const DesiredProfile *set, size_t n, bool *dup)
{
        size_t cap = 16;
        while (cap < 2 * n)
                cap *= 2;
        _cleanup_free_ size_t *slot = malloc(cap * sizeof(size_t));
        if (!slot)
                return -ENOMEM;
        for (size_t i = 0; i < cap; i++)
                slot[i] = SIZE_MAX;
        for (size_t i = 0; i < n; i++) {
                size_t at = (size_t) path_hash(set[i].path) & (cap - 1);
                while (slot[at] != SIZE_MAX && strcmp(set[slot[at]].path, set[i].path) != 0)
                        at = (at + 1) & (cap - 1);
                if (slot[at] == SIZE_MAX)
                        slot[at] = i;
                else
                        dup[i] = true;
        }
        return 0;
}

int sync_apply(SyncRoot *r, const DesiredProfile *set, size_t n, bool complete, uint64_t now_usec,
               uint64_t delete_grace_usec, SyncResult *ret)
{
        SyncResult res = {};
        DirSet dirs = {};
        bool state_dirty = false;
        int k;

        for (size_t i = 0; i < r->n_owned; i++)
                r->owned[i].seen = false;

        /* Phase 1: claim new paths durably before writing anything there, so that a kill between the
         * rename and the record can never leave an own file looking foreign. */
        _cleanup_free_ bool *claim = calloc(MAX(n, (size_t) 1), sizeof(bool));
        _cleanup_free_ int *probe = calloc(MAX(n, (size_t) 1), sizeof(int));
        _cleanup_free_ size_t *probe_stop = calloc(MAX(n, (size_t) 1), sizeof(size_t));
        _cleanup_free_ bool *dup = calloc(MAX(n, (size_t) 1), sizeof(bool));
        if (!claim || !probe || !probe_stop || !dup || find_duplicates(set, n, dup) < 0)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                const DesiredProfile *d = set + i;
                if (dup[i] || !d->valid || owned_find(r, d->path, false))
                        continue;
                int fd;
                const char *leaf;
                char *cur = NULL;
                size_t len;
                /* A missing directory on the way means the target is free too (-ENOENT). */
                probe_stop[i] = strlen(d->path);
                k = open_parent(r, d->path, false, &fd, &leaf, NULL, probe_stop + i);
                if (k >= 0) {
                        k = read_target(fd, leaf, &cur, &len);
                        free(cur);
                        (void) close(fd);
                }
                probe[i] = k;
                if (k == -ENOENT || (d->adopt && k >= 0)) {
                        claim[i] = true;
                        k = owned_add(r, d->path, false, NULL);
                        if (k < 0)
                                return k;
                        state_dirty = true;
                }
        }
        if (state_dirty) {
                k = state_save(r);
                if (k < 0) {
                        /* Nothing was written: forget the claims so the next attempt starts clean. */
                        for (size_t j = 0; j < n; j++) {
                                Owned *o = claim[j] ? owned_find(r, set[j].path, false) : NULL;
                                if (o)
                                        owned_remove(r, o);
                        }
                        return k;
                }
                state_dirty = false;
        }

        /* Phase 2: write what changed. */
        for (size_t i = 0; i < n; i++) {
                const DesiredProfile *d = set + i;
                Owned *o = owned_find(r, d->path, false);
                _cleanup_free_ char *cur = NULL;
                size_t cur_len = 0;
                const char *leaf;
                /* Closed at the end of every turn, whichever way it ends. */
                _cleanup_close_ int fd = -EBADF;

                if (dup[i]) {
                        event_add(&res, SYNC_CONFLICT, i, d->path, d->origin, 0,
                                  "another source object claims it");
                        res.conflicts++;
                        continue;
                }
                if (o) {
                        o->seen = true;
                        o->missing_since = 0;
                }
                if (!o) {
                        if (!d->valid) {
                                event_add(&res, SYNC_REJECTED, i, d->path, d->origin, 0, NULL);
                                res.rejected++;
                        } else if (probe[i] < 0) {
                                /* A symlink, a directory, a file or an I/O error at or above the
                                 * target. */
                                event_add_error(&res, r, i, d->path, d->origin, probe[i], probe_stop[i]);
                        } else {
                                event_add(&res, SYNC_CONFLICT, i, d->path, d->origin, 0,
                                          "a file seccompd did not write holds the path");
                                res.conflicts++;
                        }
                        continue;
                }

                if (d->valid && d->trusted && d->hash && o->has_hash &&
                    memcmp(d->hash, o->hash, SHA256_DIGEST_SIZE) == 0) {
                        res.installed++;
                        continue;
                }
                size_t stop = strlen(d->path);
                k = open_parent(r, d->path, true, &fd, &leaf, &state_dirty, &stop);
                o = owned_find(r, d->path, false); /* open_parent may have grown the array */
                if (k < 0) {
                        event_add_error(&res, r, i, d->path, d->origin, k, stop);
                        continue;
                }
                uint8_t want_hash[SHA256_DIGEST_SIZE];
                if (d->hash)
                        memcpy(want_hash, d->hash, sizeof(want_hash));
                else
                        hash_bytes(d->bytes, d->len, want_hash);
                bool intact = untouched(o, fd, leaf);

                /* The common case, without reading anything: the file is what we last wrote. */
                if (d->valid && intact && memcmp(want_hash, o->hash, sizeof(want_hash)) == 0) {
                        res.installed++;
                        continue;
                }
                if (!d->valid && intact && o->good) {
                        event_add(&res, SYNC_KEPT_LAST_GOOD, i, d->path, d->origin, 0, NULL);
                        res.rejected++;
                        res.installed++;
                        continue;
                }

                int have = read_target(fd, leaf, &cur, &cur_len);
                if (have < 0 && have != -ENOENT && have != -ELOOP) {
                        event_add_error(&res, r, i, d->path, d->origin, have, strlen(d->path));
                        continue;
                }
                uint8_t cur_hash[SHA256_DIGEST_SIZE];
                if (have >= 0)
                        hash_bytes(cur, cur_len, cur_hash);
                const char *want = d->bytes;
                size_t want_len = d->len;
                const uint8_t *written_hash = want_hash;
                SyncAction action;

                if (!d->valid) {
                        /* Last good wins: keep what is there; restore it if someone changed it. What was
                         * installed is good unless it differs from what seccompd wrote. */
                        bool good_on_disk = have >= 0 && (!o->has_hash ||
                                                          memcmp(cur_hash, o->hash, sizeof(cur_hash)) == 0);
                        if (good_on_disk) {
                                stash_good(o, cur, cur_len);
                                remember(o, fd, leaf, cur_hash);
                                event_add(&res, SYNC_KEPT_LAST_GOOD, i, d->path, d->origin, 0, NULL);
                                res.rejected++;
                                res.installed++;
                                continue;
                        }
                        if (!o->good) { /* nothing good to put back */
                                event_add(&res, SYNC_REJECTED, i, d->path, d->origin, 0, NULL);
                                res.rejected++;
                                continue;
                        }
                        want = o->good;
                        want_len = o->good_len;
                        written_hash = o->hash;
                        res.rejected++;
                        action = SYNC_REPAIRED;
                } else if (have >= 0 && memcmp(cur_hash, want_hash, sizeof(cur_hash)) == 0) {
                        remember(o, fd, leaf,
                                 cur_hash); /* already there: after a restart, or adopted as is */
                        res.installed++;
                        if (claim[i])
                                event_add(&res, SYNC_ADOPTED, i, d->path, d->origin, 0, NULL);
                        continue;
                } else if (!d->bytes) {
                        /* The caller did not load these bytes, trusting them to be on disk: they are not. */
                        event_add(&res, SYNC_NEEDS_BYTES, i, d->path, d->origin, 0, NULL);
                        continue;
                } else if (claim[i])
                        action = have >= 0 ? SYNC_ADOPTED : SYNC_INSTALLED;
                else if (o->has_hash && memcmp(want_hash, o->hash, sizeof(want_hash)) == 0)
                        action = SYNC_REPAIRED; /* we wrote these bytes; the disk lost them */
                else
                        action = have == -ENOENT ? SYNC_INSTALLED : SYNC_UPDATED;

                k = replace_file(fd, leaf, want, want_len);
                if (k < 0) {
                        event_add(&res, SYNC_FAILED, i, d->path, d->origin, k, NULL);
                        res.failed++;
                        continue;
                }
                uint8_t h[SHA256_DIGEST_SIZE];
                memcpy(h, written_hash, sizeof(h));
                remember(o, fd, leaf, h);
                if (d->valid) {
                        free(o->good); /* the source is good again: no copy needed */
                        o->good = NULL;
                }
                dirset_add(&dirs, d->path);
                res.installed++;
                event_add(&res, action, i, d->path, d->origin, 0, NULL);
        }

        /* Phase 3: what left the desired set. Never on an incomplete read. Due paths are collected
         * first: removing entries reorders the array. */
        char **due = calloc(MAX(r->n_owned, (size_t) 1), sizeof(char *));
        size_t n_due = 0;
        if (!due) {
                dirset_sync(r, &dirs);
                sync_result_clear(&res);
                return -ENOMEM;
        }
        for (size_t i = 0; complete && i < r->n_owned; i++) {
                Owned *o = r->owned + i;
                if (o->is_dir || o->seen)
                        continue;
                /* A time before the departure (a clock stepped back: not CLOCK_MONOTONIC) counts the
                 * grace again from now; it must never underflow into "long past due". */
                if (o->missing_since == 0 || now_usec < o->missing_since)
                        o->missing_since = MAX(now_usec, (uint64_t) 1);
                uint64_t missing_for = now_usec > o->missing_since ? now_usec - o->missing_since : 0;
                if (missing_for >= delete_grace_usec) {
                        due[n_due] = strdup(o->path);
                        n_due += due[n_due] != NULL;
                        continue;
                }
                uint64_t when = o->missing_since + delete_grace_usec;
                if (!res.next_deadline_usec || when < res.next_deadline_usec)
                        res.next_deadline_usec = when;
                event_add(&res, SYNC_DELETE_PENDING, SIZE_MAX, o->path, NULL, 0, NULL);
                res.pending_deletes++;
        }
        for (size_t i = 0; i < n_due; i++) {
                _cleanup_free_ char *path = due[i];
                const char *leaf;
                int fd;
                size_t stop = strlen(path);
                k = open_parent(r, path, false, &fd, &leaf, NULL, &stop);
                if (k >= 0) {
                        k = unlinkat(fd, leaf, 0) < 0 ? -errno : 0;
                        (void) close(fd);
                }
                if (k < 0 && k != -ENOENT) {
                        event_add_error(&res, r, SIZE_MAX, path, NULL, k, stop);
                        continue;
                }
                dirset_add(&dirs, path);
                event_add(&res, SYNC_REMOVED, SIZE_MAX, path, NULL, 0, NULL);
                owned_remove(r, owned_find(r, path, false));
                state_dirty = true;
                remove_empty_dirs(r, path);
        }
        free(due);

        dirset_sync(r, &dirs);
        if (state_dirty) {
                k = state_save(r);
                if (k < 0) {
                        sync_result_clear(&res);
                        return k;
                }
        }
        *ret = res;
        return 0;
}
