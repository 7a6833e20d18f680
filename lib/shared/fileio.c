/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "fileio.h"
#include "macro.h"

int read_full_fd(int fd, size_t max, char **ret, size_t *ret_len)
{
        _cleanup_free_ char *buf = NULL;
        size_t len = 0, allocated = 0, first = 16384;
        struct stat st;

        /* A regular file says how large it is: one exact allocation, and one read to see the end. */
        if (fstat(fd, &st) >= 0 && S_ISREG(st.st_mode) && st.st_size >= 0 && (size_t) st.st_size <= max)
                first = (size_t) st.st_size + 2;
        for (;;) {
                if (len + 1 >= allocated) {
                        size_t a = allocated ? allocated * 2 : first;
                        if (a > max + 2)
                                a = max + 2;
                        if (a <= len + 1)
                                return -EFBIG;
                        char *p = realloc(buf, a);
                        if (!p)
                                return -ENOMEM;
                        buf = p;
                        allocated = a;
                }
                ssize_t n = read(fd, buf + len, allocated - len - 1);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;
                len += (size_t) n;
                if (len > max)
                        return -EFBIG;
        }
        buf[len] = 0;
        *ret = TAKE_PTR(buf);
        *ret_len = len;
        return 0;
}

int read_full_file(const char *path, size_t max, char **ret, size_t *ret_len)
{
        _cleanup_close_ int fd = -EBADF;
        struct stat st;

        if (strcmp(path, "-") == 0)
                return read_full_fd(STDIN_FILENO, max, ret, ret_len);
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (S_ISDIR(st.st_mode))
                return -EISDIR;
        if (!S_ISREG(st.st_mode) && !S_ISFIFO(st.st_mode))
                return -EBADFD;
        return read_full_fd(fd, max, ret, ret_len);
}
