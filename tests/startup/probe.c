/* SPDX-License-Identifier: Apache-2.0 */
/* A workload for runtime tests: with no argument it returns 0 at once (only the C library's start-up
 * runs, the least any program does); with syscall numbers it makes each with zero arguments and prints
 * "NR errno" per call (0 when it succeeded), so a test sees what the filter did to that one syscall. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char *argv[])
{
        for (int i = 1; i < argc; i++) {
                long nr = strtol(argv[i], NULL, 10);
                errno = 0;
                long r = syscall(nr, 0, 0, 0, 0, 0, 0);
                printf("%ld %d\n", nr, r < 0 ? errno : 0);
        }
        return 0;
}
