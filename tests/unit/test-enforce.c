/* SPDX-License-Identifier: Apache-2.0 */
/* The real thing: compile a profile with the library, load it into the kernel in a forked child, and
 * watch syscalls fail with the profile's errno, or work. */
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "compile.h"
#include "validate.h"

/* What the child saw: the errno of the probed syscall (0 when it succeeded). */
static int run_under(const char *profile, long (*probe)(void))
{
        ValidateOptions o = {.runtime = RUNTIME_CONTAINERD};
        scmp_filter_ctx ctx = NULL;
        int status;

        assert_int_equal(profile_compile(profile, strlen(profile), &o, &ctx), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || seccomp_load(ctx) < 0)
                        _exit(255);
                errno = 0;
                long r = probe();
                _exit(r < 0 ? (errno & 0xff) : 0);
        }
        seccomp_release(ctx);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_not_equal(WEXITSTATUS(status), 255);
        return WEXITSTATUS(status);
}

static long probe_mkdirat(void)
{
        return syscall(SYS_mkdirat, (long) AT_FDCWD, "/proc/seccompd-test-never-created", 0700);
}

static long probe_getppid(void)
{
        return syscall(SYS_getppid);
}

static long probe_getpid(void)
{
        return syscall(SYS_getpid);
}

static long probe_kill_zero(void)
{
        return syscall(SYS_kill, getpid(), 0);
}

static long probe_kill_cont(void)
{
        return syscall(SYS_kill, getpid(), SIGCONT);
}

static long probe_openat_cwd(void)
{
        /* As glibc passes it: the int sign-extended to a 64-bit register. */
        return syscall(SYS_openat, (long) AT_FDCWD, "/", O_RDONLY | O_DIRECTORY);
}

static int root_fd = -EBADF; /* opened before the filter, inherited by the child */

static long probe_openat_dirfd(void)
{
        return syscall(SYS_openat, root_fd, ".", O_RDONLY | O_DIRECTORY);
}

static void test_deny_with_profile_errno(void **state)
{
        const char *p =
                "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"mkdir\",\"mkdirat\"],"
                "\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":13}]}";
        assert_int_equal(run_under(p, probe_mkdirat), EACCES);
        assert_int_equal(run_under(p, probe_getpid), 0);
}

static void test_default_errno(void **state)
{
        /* Deny by default with ENXIO; allow what the child needs to report back. */
        const char *p =
                "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":6,\"syscalls\":[{\"names\":"
                "[\"exit_group\",\"exit\",\"getpid\",\"gettid\",\"write\",\"mmap\",\"munmap\",\"madvise\","
                "\"rt_sigaction\",\"rt_sigprocmask\",\"sigaltstack\",\"futex\",\"openat\",\"read\","
                "\"close\",\"newfstatat\",\"fstat\",\"readlink\",\"prctl\",\"sched_yield\"],\"action\":"
                "\"SCMP_ACT_ALLOW\"}]}";
        assert_int_equal(run_under(p, probe_getppid), ENXIO);
        assert_int_equal(run_under(p, probe_getpid), 0);
}

static void test_log_lets_through(void **state)
{
        const char *p = "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"getppid\"],"
                        "\"action\":\"SCMP_ACT_LOG\"}]}";
        assert_int_equal(run_under(p, probe_getppid), 0);
}

static void test_argument_condition(void **state)
{
        /* kill(pid, 0) denied with ENOLINK (67); kill(pid, SIGCONT) allowed. */
        const char *p = "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"kill\"],"
                        "\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":67,\"args\":[{\"index\":1,\"value\":0,"
                        "\"op\":\"SCMP_CMP_EQ\"}]}]}";
        assert_int_equal(run_under(p, probe_kill_zero), ENOLINK);
        assert_int_equal(run_under(p, probe_kill_cont), 0);
}

static void test_value_above_2_63(void **state)
{
        /* AT_FDCWD written as its 64-bit two's complement: jansson could not even read it. */
        const char *p = "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"openat\"],"
                        "\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":40,\"args\":[{\"index\":0,"
                        "\"value\":18446744073709551516,\"op\":\"SCMP_CMP_EQ\"}]}]}";
        root_fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(root_fd >= 0);
        assert_int_equal(run_under(p, probe_openat_cwd), ELOOP);
        assert_int_equal(run_under(p, probe_openat_dirfd), 0);
        (void) close(root_fd);
}

static long probe_dup_149(void)
{
        return syscall(SYS_dup, 149L);
}

static long probe_dup_150(void)
{
        return syscall(SYS_dup, 150L);
}

static long probe_lseek_149(void)
{
        return syscall(SYS_lseek, 149L, 0L, SEEK_SET);
}

static void test_shared_conditions_on_many_syscalls(void **state)
{
        /* The same conditions on several syscalls and architectures: libseccomp shares identical BPF
         * blocks, so the filter is far smaller than the rule count, yet every rule holds. */
        char p[8192];
        size_t n = (size_t) snprintf(p, sizeof(p),
                                     "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"architectures\":"
                                     "[\"SCMP_ARCH_X86_64\",\"SCMP_ARCH_X86\"],\"syscalls\":[");
        for (int i = 140; i < 150; i++)
                n += (size_t) snprintf(
                        p + n, sizeof(p) - n,
                        "%s{\"names\":[\"dup\",\"lseek\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":"
                        "71,\"args\":[{\"index\":0,\"value\":%d,\"op\":\"SCMP_CMP_EQ\"}]}",
                        i > 140 ? "," : "", i);
        (void) snprintf(p + n, sizeof(p) - n, "]}");
        assert_int_equal(run_under(p, probe_dup_149), EPROTO);
        assert_int_equal(run_under(p, probe_lseek_149), EPROTO);
        assert_int_equal(run_under(p, probe_dup_150), EBADF);
}

static void test_invalid_profile_not_compiled(void **state)
{
        ValidateOptions o = {.runtime = RUNTIME_CONTAINERD};
        scmp_filter_ctx ctx = NULL;
        const char *p = "{\"defaultAction\":\"SCMP_ACT_DENY\"}";
        assert_int_equal(profile_compile(p, strlen(p), &o, &ctx), -EINVAL);
        assert_null(ctx);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_deny_with_profile_errno),
                cmocka_unit_test(test_default_errno),
                cmocka_unit_test(test_log_lets_through),
                cmocka_unit_test(test_argument_condition),
                cmocka_unit_test(test_value_above_2_63),
                cmocka_unit_test(test_shared_conditions_on_many_syscalls),
                cmocka_unit_test(test_invalid_profile_not_compiled),
        };
        cmocka_set_message_output(CM_OUTPUT_TAP);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
