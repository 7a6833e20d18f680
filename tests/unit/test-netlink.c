/* SPDX-License-Identifier: Apache-2.0 */
/* The audit multicast group, from the real kernel: a child under a SCMP_ACT_LOG filter makes 200
 * getppid calls while this process reads the group through lib/audit/netlink.c, and every record
 * must arrive, with no gap in the audit serials. Needs CAP_AUDIT_READ and the initial network
 * namespace, as CI runs: without them the test fails and says why, it does not skip. It loads
 * filters, so it runs alone (meson: is_parallel false). */
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <seccomp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "netlink.h"
#include "record.h"
#include "recorder.h"
#include "shared/macro.h"

#define CALLS 200

static void test_format_line(void **state)
{
        char buf[128];
        static const char payload[] =
                "audit(1700000000.123:456): auid=4294967295 uid=0 gid=0 ses=4294967295 "
                "pid=42 comm=\"x\" exe=\"/x\" sig=0 arch=c000003e syscall=110 compat=0 "
                "ip=0x1 code=0x7ffc0000\n\0\0";
        char big[512];
        AuditRecord r;

        /* the NULs and the newline at the end are dropped */
        int k = audit_netlink_format_line(1326, payload, sizeof(payload) - 1, big, sizeof(big));
        assert_int_equal(k, strlen("audit: type=1326 ") + strlen(payload) - 1);
        assert_int_equal(strlen(big), (size_t) k);
        assert_memory_equal(big, "audit: type=1326 audit(1700000000.123:456): auid=", 49);
        assert_true(big[k - 1] == '0');
        /* ... and it reads as the kernel log's line */
        assert_int_equal(audit_parse_line(big, (size_t) k, &r), AUDIT_LINE_SECCOMP);
        assert_int_equal(r.serial, 456);
        assert_int_equal(r.syscall, 110);
        assert_int_equal(r.pid, 42);
        /* another record type keeps its number */
        k = audit_netlink_format_line(1300, "audit(1.000:7): arch=c000003e", 29, buf, sizeof(buf));
        assert_string_equal(buf, "audit: type=1300 audit(1.000:7): arch=c000003e");
        assert_int_equal(audit_parse_line(buf, (size_t) k, &r), AUDIT_LINE_AUDIT);
        assert_int_equal(r.serial, 7);
        /* exactly fits, one byte short */
        k = audit_netlink_format_line(1326, "abc", 3, buf, strlen("audit: type=1326 abc") + 1);
        assert_int_equal(k, strlen("audit: type=1326 abc"));
        assert_int_equal(audit_netlink_format_line(1326, "abc", 3, buf, strlen("audit: type=1326 abc")),
                         -ENOBUFS);
        assert_int_equal(audit_netlink_format_line(1326, "abc", 3, buf, 4), -ENOBUFS);
        /* an empty payload */
        assert_int_equal(audit_netlink_format_line(1305, "\0", 1, buf, sizeof(buf)),
                         strlen("audit: type=1305 "));
}

/* The socket, or a failure that says what is missing. */
static AuditNetlink *open_or_fail(void)
{
        AuditNetlink *n = NULL;
        int r = audit_netlink_open(&n);
        if (r < 0)
                fail_msg("cannot read the audit multicast group: %s%s", strerror(-r),
                         r == -EPERM ? " (CAP_AUDIT_READ is needed: run as root)" : "");
        r = audit_netlink_in_initial_netns();
        if (r != 1)
                fail_msg("not in the initial network namespace (%s): the kernel multicasts audit records "
                         "only "
                         "there",
                         r < 0 ? strerror(-r) : "another one");
        return n;
}

/* The child: SCMP_ACT_LOG by default, getpid allowed, then 200 getppid and 5 getpid. Only its
 * getppid calls and its exit_group are logged. Nothing else runs after the filter is loaded. */
static pid_t spawn_workload(int calls)
{
        scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_LOG);
        assert_non_null(ctx);
        assert_int_equal(seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(getpid), 0), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || seccomp_load(ctx) < 0)
                        _exit(255);
                for (int i = 0; i < calls; i++)
                        (void) syscall(SYS_getppid);
                for (int i = 0; i < 5; i++)
                        (void) syscall(SYS_getpid);
                _exit(0);
        }
        seccomp_release(ctx);
        return pid;
}

typedef struct Seen {
        AuditRecorder *recorder;
        pid_t child, until;
        int getppid, getpid, exit_group, other;
        bool done; /* until's exit_group came: kauditd sends in order, so every record before it did */
} Seen;

static int on_line(const char *line, size_t len, void *userdata)
{
        Seen *s = userdata;
        AuditRecord r;
        AuditLineKind kind = audit_parse_line(line, len, &r);

        assert_int_equal(line[len], '\0');
        (void) audit_recorder_observe(s->recorder, kind, &r);
        if (kind == AUDIT_LINE_SECCOMP && r.pid == s->until && r.syscall == SYS_exit_group)
                s->done = true;
        if (kind != AUDIT_LINE_SECCOMP || r.pid != s->child)
                return 0;
        assert_int_equal(r.code, AUDIT_ACTION_LOG);
        if (r.syscall == SYS_getppid)
                s->getppid++;
        else if (r.syscall == SYS_getpid)
                s->getpid++;
        else if (r.syscall == SYS_exit_group)
                s->exit_group++;
        else {
                fprintf(stderr, "# pid %d also made syscall %lld\n", (int) r.pid, (long long) r.syscall);
                s->other++;
        }
        return 0;
}

static uint64_t now_msec(void)
{
        struct timespec ts;
        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

/* Reads the group until s->until's last record came, or timeout_msec passed. */
static void read_until_done(AuditNetlink *n, Seen *s, int timeout_msec)
{
        uint64_t deadline = now_msec() + (uint64_t) timeout_msec;
        while (!s->done) {
                uint64_t now = now_msec();
                if (now >= deadline)
                        break;
                struct pollfd p = {.fd = audit_netlink_fd(n), .events = POLLIN};
                int k = poll(&p, 1, (int) (deadline - now));
                assert_true(k >= 0 || errno == EINTR);
                assert_true(audit_netlink_drain(n, on_line, s) >= 0);
        }
}

static void test_every_record_arrives(void **state)
{
        _cleanup_(audit_netlink_freep) AuditNetlink *n = open_or_fail();
        _cleanup_(audit_recorder_freep) AuditRecorder *rec = NULL;
        int status;

        assert_int_equal(audit_recorder_new(&rec), 0);
        Seen s = {.recorder = rec};
        s.child = s.until = spawn_workload(CALLS); /* after the bind: nothing it logs can be missed */
        read_until_done(n, &s, 10000);
        assert_int_equal(waitpid(s.child, &status, 0), s.child);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);

        const AuditStats *st = audit_recorder_stats(rec);
        fprintf(stderr,
                "# audit group: %d/%d getppid records of pid %d, %llu records in all, %llu overruns\n",
                s.getppid, CALLS, (int) s.child, (unsigned long long) st->lines,
                (unsigned long long) audit_netlink_overruns(n));
        assert_true(s.done);
        assert_int_equal(s.getppid, CALLS);
        assert_int_equal(s.exit_group, 1);
        assert_int_equal(s.getpid, 0); /* allowed: never logged */
#ifdef __SANITIZE_ADDRESS__
        assert_true(s.other <= 1); /* ASan's runtime removes its sigaltstack on the way out */
#else
        assert_int_equal(s.other, 0);
#endif
        /* every serial from the first record to the last, whoever made them */
        assert_int_equal(st->serial_missing, 0);
        assert_int_equal(audit_netlink_overruns(n), 0);
        assert_false(audit_recorder_lost_evidence(rec));
}

static void test_overrun_is_counted(void **state)
{
        _cleanup_(audit_netlink_freep) AuditNetlink *n = open_or_fail();
        _cleanup_(audit_recorder_freep) AuditRecorder *rec = NULL;
        int small = 1, status;

        /* The smallest buffer the kernel allows (SOCK_MIN_RCVBUF), and nobody reading until the
         * child is gone: the kernel drops what does not fit, and the next receive says ENOBUFS. */
        assert_int_equal(setsockopt(audit_netlink_fd(n), SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)), 0);
        assert_int_equal(audit_recorder_new(&rec), 0);
        Seen s = {.recorder = rec};
        s.child = spawn_workload(CALLS);
        assert_int_equal(waitpid(s.child, &status, 0), s.child);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        /* kauditd may still be sending the child's records: a second workload that only exits, started
         * now, is logged after all of them. The socket takes nothing until it has been read empty
         * (netlink's NETLINK_S_CONGESTED), so read first; the second record can still be dropped
         * while the first one's are coming in: then another, up to five. */
        assert_true(audit_netlink_drain(n, on_line, &s) >= 0);
        int markers = 0;
        for (; markers < 5 && !s.done; markers++) {
                s.until = spawn_workload(0);
                assert_int_equal(waitpid(s.until, &status, 0), s.until);
                read_until_done(n, &s, 2000);
        }
        assert_true(s.done);
        audit_recorder_note_netlink_overrun(rec, audit_netlink_overruns(n));
        fprintf(stderr,
                "# tiny buffer: %d/%d getppid records, %llu overruns, %llu serials missing, %d marker%s\n",
                s.getppid, CALLS, (unsigned long long) audit_netlink_overruns(n),
                (unsigned long long) audit_recorder_stats(rec)->serial_missing, markers,
                markers == 1 ? "" : "s");
        assert_true(s.getppid < CALLS);
        assert_true(audit_netlink_overruns(n) >= 1);
        assert_int_equal(audit_recorder_stats(rec)->netlink_overruns, audit_netlink_overruns(n));
        assert_true(audit_recorder_lost_evidence(rec));
}

static void test_other_network_namespace(void **state)
{
        int status;

        assert_int_equal(audit_netlink_in_initial_netns(), 1);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                if (unshare(CLONE_NEWNET) < 0)
                        _exit(10);
                int r = audit_netlink_in_initial_netns();
                _exit(r == 0 ? 0 : r < 0 ? 11 : 12);
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_format_line),
                cmocka_unit_test(test_every_record_arrives),
                cmocka_unit_test(test_overrun_is_counted),
                cmocka_unit_test(test_other_network_namespace),
        };
        cmocka_set_message_output(CM_OUTPUT_TAP);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
