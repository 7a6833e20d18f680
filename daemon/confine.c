/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <linux/capability.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "confine.h"

#if defined(__SANITIZE_ADDRESS__)
#define SECCOMPD_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SECCOMPD_ASAN 1
#endif
#endif
#ifndef SECCOMPD_ASAN
#define SECCOMPD_ASAN 0
#endif
#include "shared/macro.h"

/* Recorded with `seccompd record` while the integration suites ran every daemon in audit mode
 * (DEVELOPERS.md, "Self-confinement": first with nothing allowed, then with this list, until nothing
 * was missing), then reviewed. Start-up (options, the root and its lock, binding sockets, the first
 * inotify watches) happens before the filter and needs nothing here. */
static const char *const syscalls[] = {
        /* memory: glibc malloc (mmap above M_MMAP_THRESHOLD, malloc_trim), libcurl, OpenSSL */
        "brk",
        "mmap",
        "munmap",
        "mremap",
        "madvise",
        /* files: the sources (opened beneath their directory: openat2), the root, its state and
         * temporaries, the token, CA bundles */
        "openat",
        "openat2",
        "close",
        "read",
        "write",
        "lseek",
        "newfstatat",
        "getdents64",
        "readlinkat",
        "fcntl",
        "mkdirat",
        "unlinkat",
        "renameat",
        "fsync",
        "fchmod",
        /* validation sizes a profile's BPF in a memfd (lib/profile/compile.c) */
        "memfd_create",
        /* the event loop: sd-event's epoll, signalfd and timerfds; inotify (sources, drift) */
        "epoll_wait",
        "epoll_ctl",
        "signalfd4",
        "timerfd_create",
        "timerfd_settime",
        "inotify_add_watch",
        "inotify_rm_watch",
        "poll",
        /* sockets: libcurl to the API server, libmicrohttpd's /readyz, sd_notify */
        "socket",
        "connect",
        "accept4",
        "shutdown",
        "getsockname",
        "getpeername",
        "setsockopt",
        "getsockopt",
        "sendto",
        "recvfrom",
        "sendmsg",
        /* libcurl resolves a host name in a thread (getaddrinfo): only with a kubeconfig that names
         * the server by name, so the suites saw none; a thread's start and end, and its locks */
        "clone",
        "clone3",
        "set_robust_list",
        "rseq",
        "futex",
        "exit",
        /* glibc and OpenSSL ask who they are and for randomness; sysinfo: glibc's qsort/malloc */
        "getpid",
        "gettid",
        "getuid",
        "geteuid",
        "getgid",
        "getegid",
        "getrandom",
        "sysinfo",
        "exit_group",
#if SECCOMPD_ASAN
        /* AddressSanitizer builds only (the CI suite): LeakSanitizer stops the world at exit with a
         * ptrace'd thread; its own raw calls use the old open and getdents */
        "mprotect",
        "ptrace",
        "wait4",
        "prctl",
        "sched_yield",
        "sigaltstack",
        "rt_sigaction",
        "rt_sigprocmask",
        "getppid",
        "open",
        "getdents",
#endif
};

const char *const *confine_syscalls(size_t *ret_n)
{
        *ret_n = ELEMENTSOF(syscalls);
        return syscalls;
}

ConfineMode confine_mode_from_env(ConfineMode m)
{
        const char *e = getenv("SECCOMPD_SELF_CONFINE");
        return m == CONFINE_ENFORCE && e && strcmp(e, "audit") == 0 ? CONFINE_AUDIT : m;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(scmp_filter_ctx, seccomp_release);

/* No capability at all: the DaemonSet drops them all already, and the daemon writes only where root
 * owns the directories (the kubelet's), reads sources and the token the kubelet wrote 0644. */
static int drop_capabilities(void)
{
        struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
        struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3] = {};
        return syscall(SYS_capset, &h, d) < 0 ? -errno : 0;
}

int confine_self(ConfineMode m)
{
        _cleanup_(seccomp_releasep) scmp_filter_ctx ctx = NULL;
        int r;

        if (m == CONFINE_OFF)
                return 0;
        r = drop_capabilities();
        if (r < 0)
                return r;
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return -errno;
        ctx = seccomp_init(m == CONFINE_AUDIT ? SCMP_ACT_LOG : SCMP_ACT_ERRNO(EPERM));
        if (!ctx)
                return -ENOMEM;
        /* Denials are logged by the kernel (an audit record, on /dev/kmsg without auditd). */
        r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_LOG, 1);
        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(syscalls); i++) {
                int nr = seccomp_syscall_resolve_name(syscalls[i]);
                if (nr == __NR_SCMP_ERROR)
                        continue; /* not on this architecture (e.g. clone3 on an old table) */
                r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
                if (r < 0)
                        return r;
        }
        return seccomp_load(ctx);
}
