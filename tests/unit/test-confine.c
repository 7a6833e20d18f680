/* SPDX-License-Identifier: Apache-2.0 */
/* The daemon's own confinement, applied in a child as the daemon applies it to itself: a call the
 * list does not hold fails with EPERM and the kernel logs it; one it holds works; no capability is
 * left and no_new_privs is set. In audit mode the same call works and is logged. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <seccomp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "confine.h"
#include "netlink.h"
#include "record.h"

/* In the child: confine, then report what getcwd (in no list) and write (in every list) did. */
static void child(ConfineMode m, int fd)
{
        char buf[256];
        int r = confine_self(m);
        long cwd = r < 0 ? 0 : syscall(SYS_getcwd, buf, sizeof(buf));
        int cwd_errno = errno;
        FILE *f = fopen("/proc/self/status", "re"); /* after the filter: openat and read are listed */
        char line[256], status[512] = "";
        while (f && fgets(line, sizeof(line), f))
                if (!strncmp(line, "Seccomp:", 8) || !strncmp(line, "NoNewPrivs:", 11) ||
                    !strncmp(line, "CapEff:", 7))
                        strncat(status, line, sizeof(status) - strlen(status) - 1);
        int n = snprintf(buf, sizeof(buf), "%d %ld %d\n%s", r, cwd, cwd_errno, status);
        _exit(write(fd, buf, (size_t) n) == n ? 0 : 1);
}

typedef struct Wanted {
        pid_t pid;
        int nr;
        bool seen;
} Wanted;

static int on_line(const char *line, size_t len, void *userdata)
{
        Wanted *w = userdata;
        AuditRecord r;
        if (audit_parse_line(line, len, &r) == AUDIT_LINE_SECCOMP && r.pid == w->pid && r.syscall == w->nr)
                w->seen = true;
        return 0;
}

/* The kernel's SECCOMP record for pid and syscall nr, from the audit multicast group bound before
 * the child started: /dev/kmsg would do, but the printk rate limit there is shared with every test
 * that made records in the last 5 s (test-netlink makes hundreds). A bounded wait: kauditd sends
 * the record soon after the call. */
static bool audit_has(AuditNetlink *n, pid_t pid, int nr)
{
        Wanted w = {.pid = pid, .nr = nr};
        for (int i = 0; i < 1000 && !w.seen; i++) {
                struct pollfd p = {.fd = audit_netlink_fd(n), .events = POLLIN};
                if (poll(&p, 1, 5000) <= 0)
                        return false;
                if (audit_netlink_drain(n, on_line, &w) < 0)
                        return false;
        }
        return w.seen;
}

static void run(ConfineMode m, char *out, size_t size, bool *ret_logged)
{
        int p[2];
        AuditNetlink *n = NULL;
        int r = audit_netlink_open(&n);
        if (r < 0)
                fail_msg("cannot read the audit multicast group: %s (CAP_AUDIT_READ is needed)",
                         strerror(-r));
        assert_int_equal(pipe(p), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                close(p[0]);
                child(m, p[1]);
        }
        close(p[1]);
        ssize_t k = read(p[0], out, size - 1);
        int st;
        assert_int_equal(waitpid(pid, &st, 0), pid);
        assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
        assert_true(k > 0);
        out[k] = 0;
        close(p[0]);
        *ret_logged = audit_has(n, pid, seccomp_syscall_resolve_name("getcwd"));
        audit_netlink_free(n);
}

static void test_enforce(void **state)
{
        char out[1024];
        bool logged;
        run(CONFINE_ENFORCE, out, sizeof(out), &logged);
        assert_string_equal(strtok(out, "\n"), "0 -1 1"); /* loaded; getcwd failed with EPERM */
        const char *rest = out + strlen(out) + 1;
        assert_non_null(strstr(rest, "Seccomp:\t2"));
        assert_non_null(strstr(rest, "NoNewPrivs:\t1"));
        assert_non_null(strstr(rest, "CapEff:\t0000000000000000"));
        assert_true(logged); /* the denial is in the kernel's log */
}

static void test_audit_allows_and_logs(void **state)
{
        char out[1024];
        bool logged;
        run(CONFINE_AUDIT, out, sizeof(out), &logged);
        int r;
        long cwd;
        assert_int_equal(sscanf(out, "%d %ld", &r, &cwd), 2);
        assert_int_equal(r, 0);
        assert_true(cwd > 0); /* allowed */
        assert_true(logged);  /* and logged: what the list lacks */
}

static void test_off_loads_nothing(void **state)
{
        char out[1024];
        bool logged;
        run(CONFINE_OFF, out, sizeof(out), &logged);
        assert_non_null(strstr(out, "Seccomp:\t0"));
        assert_false(logged);
}

static void test_the_list_resolves(void **state)
{
        size_t n;
        const char *const *names = confine_syscalls(&n);
        assert_true(n > 20);
        for (size_t i = 0; i < n; i++)
                if (seccomp_syscall_resolve_name(names[i]) == __NR_SCMP_ERROR)
                        fail_msg("%s is not a system call on this architecture", names[i]);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_enforce),
                cmocka_unit_test(test_audit_allows_and_logs),
                cmocka_unit_test(test_off_loads_nothing),
                cmocka_unit_test(test_the_list_resolves),
        };
        cmocka_set_message_output(CM_OUTPUT_TAP);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
