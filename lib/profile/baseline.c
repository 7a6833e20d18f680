/* SPDX-License-Identifier: Apache-2.0 */
#include "baseline.h"
#include "shared/macro.h"

const char *const baseline_runc[] = {
        "arch_prctl",      "brk",        "capget",     "capset",  "chdir",     "close",    "epoll_ctl",
        "execve",          "exit_group", "faccessat2", "fcntl",   "fstat",     "fstatfs",  "futex",
        "getcwd",          "getdents64", "getpid",     "getppid", "getrandom", "mprotect", "newfstatat",
        "openat",          "prctl",      "prlimit64",  "read",    "readlink",  "rseq",     "set_robust_list",
        "set_tid_address", "setgid",     "setgroups",  "setuid",  "write",
};
const size_t baseline_runc_count = ELEMENTSOF(baseline_runc);

/* Without execve the runtime cannot start the workload, even when it loads the filter at the last
 * moment (no_new_privs set). */
const char *const baseline_essential[] = {"execve"};
const size_t baseline_essential_count = ELEMENTSOF(baseline_essential);
