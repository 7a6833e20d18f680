/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "beneath.h"
#include "macro.h"

int open_beneath(int dfd, const char *path, int flags)
{
        struct open_how how = {
                .flags = (uint64_t) (flags | O_CLOEXEC),
                .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
        };
        /* glibc 2.36 has no wrapper. */
        long fd = syscall(SYS_openat2, dfd, path, &how, sizeof(how));
        if (fd >= 0)
                return (int) fd;
        /* ENOSYS: Linux < 5.6, or a seccomp filter's answer for a syscall it does not know (runc's
         * default); EPERM: older filters' answer. EAGAIN: a rename or mount raced a RESOLVE_BENEATH
         * lookup, which the walk, starting again from dfd at each "..", does not depend on. */
        if (errno == ENOSYS || errno == EPERM || errno == EAGAIN)
                return open_beneath_walk(dfd, path, flags);
        return -errno;
}

/* Opens again the directory canon names below dfd ("a/b": directories only, no symlink, "." or
 * ".."), walking down from dfd with O_NOFOLLOW: a directory renamed away or swapped for a symlink
 * meanwhile is not followed out. *ret is -EBADF for dfd itself. */
static int reopen_dir(int dfd, const char *canon, int *ret)
{
        _cleanup_close_ int fd = -EBADF;
        char name[NAME_MAX + 1];

        for (const char *p = canon; *p;) {
                size_t n = strcspn(p, "/");
                memcpy(name, p, n);
                name[n] = 0;
                int next = openat(fd >= 0 ? fd : dfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (next < 0)
                        return -errno;
                closep(&fd);
                fd = next;
                p += n + (p[n] == '/');
        }
        *ret = TAKE_FD(fd);
        return 0;
}

static int open_final(int base, const char *name, int flags)
{
        int fd = openat(base, name, flags | O_NOFOLLOW | O_CLOEXEC);
        return fd >= 0 ? fd : -errno;
}

int open_beneath_walk(int dfd, const char *path, int flags)
{
        /* rest: what is left to resolve, from the directory canon names (below dfd, real directories
         * only, so ".." is a matter of text and never a lookup that could leave). */
        char rest[PATH_MAX], canon[PATH_MAX] = "", target[PATH_MAX], name[NAME_MAX + 1];
        _cleanup_close_ int cur = -EBADF; /* canon's directory; -EBADF while that is dfd */
        size_t at = 0, canon_len = 0;
        unsigned hops = 0;
        int r;

        if (path[0] == '/')
                return -EXDEV;
        if (!path[0])
                return -ENOENT;
        if (strlen(path) >= sizeof(rest))
                return -ENAMETOOLONG;
        strcpy(rest, path);

        for (;;) {
                const char *p = rest + at;
                while (*p == '/')
                        p++;
                size_t n = strcspn(p, "/");
                bool last = p[n] == 0;
                int base = cur >= 0 ? cur : dfd;
                ssize_t l;

                at = (size_t) (p - rest) + n;
                if (n == 0) /* a trailing slash: the directory reached */
                        return open_final(base, ".", flags);
                if (n > NAME_MAX)
                        return -ENAMETOOLONG;
                memcpy(name, p, n);
                name[n] = 0;

                if (strcmp(name, ".") == 0) {
                        if (last)
                                return open_final(base, ".", flags);
                        continue;
                }
                if (strcmp(name, "..") == 0) {
                        if (canon_len == 0)
                                return -EXDEV;
                        char *slash = strrchr(canon, '/');
                        canon_len = slash ? (size_t) (slash - canon) : 0;
                        canon[canon_len] = 0;
                        closep(&cur);
                        r = reopen_dir(dfd, canon, &cur);
                        if (r < 0)
                                return r;
                        if (last)
                                return open_final(cur >= 0 ? cur : dfd, ".", flags);
                        continue;
                }
                if (last) {
                        r = open_final(base, name, flags);
                        /* O_NOFOLLOW on a name without '/' fails with ELOOP for a symlink only. */
                        if (r != -ELOOP)
                                return r;
                        l = readlinkat(base, name, target, sizeof(target));
                } else {
                        _cleanup_close_ int fd = openat(base, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
                        struct stat st;
                        if (fd < 0 || fstat(fd, &st) < 0)
                                return -errno;
                        if (S_ISDIR(st.st_mode)) {
                                if (canon_len + 1 + n >= sizeof(canon))
                                        return -ENAMETOOLONG;
                                if (canon_len > 0)
                                        canon[canon_len++] = '/';
                                memcpy(canon + canon_len, name, n + 1);
                                canon_len += n;
                                closep(&cur);
                                cur = TAKE_FD(fd);
                                continue;
                        }
                        if (!S_ISLNK(st.st_mode))
                                return -ENOTDIR;
                        l = readlinkat(fd, "", target, sizeof(target));
                }

                /* A symlink: its target takes the component's place, read from the same directory. */
                if (l < 0)
                        return -errno;
                if ((size_t) l >= sizeof(target))
                        return -ENAMETOOLONG;
                if (++hops > BENEATH_MAX_HOPS)
                        return -ELOOP;
                if (target[0] == '/')
                        return -EXDEV;
                size_t tail = strlen(rest + at);
                if ((size_t) l + tail >= sizeof(rest))
                        return -ENAMETOOLONG;
                memmove(rest + l, rest + at, tail + 1);
                memcpy(rest, target, (size_t) l);
                at = 0;
        }
}
