/* SPDX-License-Identifier: Apache-2.0 */
/* LD_PRELOAD into the daemon: CLOCK_REALTIME shifted by the seconds written in the file named by
 * $SECCOMPD_TEST_WALLCLOCK_OFFSET, read on every call, so a test can step the wall clock of one
 * process, either way, without touching the machine's. Other clocks are left alone. */
#include <dlfcn.h>
#include <fcntl.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int clock_gettime(clockid_t id, struct timespec *ts)
{
        static int (*real)(clockid_t, struct timespec *);
        const char *path = getenv("SECCOMPD_TEST_WALLCLOCK_OFFSET");
        char buf[32] = {};
        int fd, r;

        if (!real)
                real = (int (*)(clockid_t, struct timespec *)) dlsym(RTLD_NEXT, "clock_gettime");
        r = real(id, ts);
        if (r < 0 || (id != CLOCK_REALTIME && id != CLOCK_REALTIME_COARSE) || !path)
                return r;
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return r;
        if (read(fd, buf, sizeof(buf) - 1) > 0)
                ts->tv_sec += strtoll(buf, NULL, 10);
        (void) close(fd);
        return r;
}
