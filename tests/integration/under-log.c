/* SPDX-License-Identifier: Apache-2.0 */
/* under-log CGROUP_DIR PROGRAM [ARG...]: joins the cgroup (a v1 or v2 directory, by its cgroup.procs),
 * loads {"defaultAction":"SCMP_ACT_LOG"} with libseccomp and execs PROGRAM: a process the kernel
 * audits syscall by syscall, in the cgroup a container of a pod would have, without a runtime. For
 * test_recorder.py, whose API server is the test one (no kubelet creates pods there). */
#include <fcntl.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char *argv[])
{
        char path[4096];

        if (argc < 3) {
                fprintf(stderr, "usage: under-log CGROUP_DIR PROGRAM [ARG...]\n");
                return 2;
        }
        (void) snprintf(path, sizeof(path), "%s/cgroup.procs", argv[1]);
        int fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0 || write(fd, "0", 1) != 1) {
                perror(path);
                return 2;
        }
        (void) close(fd);
        scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_LOG);
        int r = ctx ? seccomp_load(ctx) : -1;
        if (r < 0) {
                fprintf(stderr, "under-log: cannot load the LOG filter: %s\n", strerror(-r));
                return 2;
        }
        execv(argv[2], argv + 2);
        perror(argv[2]);
        return 127;
}
