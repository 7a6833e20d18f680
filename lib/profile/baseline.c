/* SPDX-License-Identifier: Apache-2.0 */
#include "baseline.h"
#include "shared/macro.h"

/* Not measured: crun 1.8.1 (Debian 12) does not start containers under podman on these machines
 * ("cgroups in hybrid mode not supported"). Derived instead: crun's container_init loads the filter at
 * the same point runc does (before dropping capabilities, or after the exec fifo with no_new_privs), and
 * then does the same kind of work in C (src/libcrun/linux.c libcrun_set_caps, setgroups/setresuid,
 * close_fds_ge_than, chdir, then execv): runc's measured list, plus the calls crun makes where runc's Go
 * code makes others (close_range and setresuid/setresgid), minus nothing. Measure it with
 * `seccompd record --comm crun` on a host where crun runs before trusting it for a KILL default. */
const char *const baseline_crun[] = {
        "arch_prctl",  "brk",       "capget",    "capset",     "chdir",           "close",
        "close_range", "epoll_ctl", "execve",    "exit_group", "faccessat2",      "fcntl",
        "fstat",       "fstatfs",   "futex",     "getcwd",     "getdents64",      "getpid",
        "getppid",     "getrandom", "mprotect",  "newfstatat", "openat",          "prctl",
        "prlimit64",   "read",      "readlink",  "rseq",       "set_robust_list", "set_tid_address",
        "setgid",      "setgroups", "setresgid", "setresuid",  "setuid",          "write",
};
const size_t baseline_crun_count = ELEMENTSOF(baseline_crun);
