/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <cmocka.h>
#include <jansson.h>

#include "baseline.h"
#include "record.h"
#include "recorder.h"
#include "validate.h"

/* The fields the kernel writes (kernel/auditsc.c audit_seccomp), with what varies. */
#define FIELDS(comm, syscall, code)                                                                         \
        "auid=4294967295 uid=0 gid=0 ses=4294967295 subj=unconfined pid=1234 comm=" comm                    \
        " exe=\"/bin/busybox\" sig=0 arch=c000003e syscall=" syscall                                        \
        " compat=0 ip=0x7f2b1c3d4e5f code=" code

static AuditLineKind parse(const char *line, AuditRecord *r)
{
        return audit_parse_line(line, strlen(line), r);
}

static void test_syslog_and_dmesg(void **state)
{
        AuditRecord r;
        assert_int_equal(parse("Nov 22 10:00:00 node1 kernel: [ 1234.567890] audit: type=1326 "
                               "audit(1700000000.123:456): " FIELDS("\"sh\"", "83", "0x7ffc0000"),
                               &r),
                         AUDIT_LINE_SECCOMP);
        assert_true(r.has_time);
        assert_int_equal(r.time_msec, 1700000000123ULL);
        assert_int_equal(r.serial, 456);
        assert_int_equal(r.arch, 0xc000003e);
        assert_int_equal(r.syscall, 83);
        assert_int_equal(r.code, AUDIT_ACTION_LOG);
        assert_int_equal(r.pid, 1234);
        assert_int_equal(r.uid, 0);
        assert_string_equal(r.comm, "sh");
        assert_string_equal(r.exe, "/bin/busybox");
        assert_false(r.has_kmsg_seq);

        /* dmesg, with a trailing newline */
        assert_int_equal(parse("[  100.200000] audit: type=1326 audit(1700000000.124:457): " FIELDS(
                                       "\"sh\"", "1", "0x7ffc0000") "\n",
                               &r),
                         AUDIT_LINE_SECCOMP);
        assert_int_equal(r.syscall, 1);
        assert_int_equal(r.serial, 457);
}

static void test_kmsg(void **state)
{
        AuditRecord r;
        assert_int_equal(parse("5,1234,5678901,-;audit: type=1326 audit(1700000000.123:456): " FIELDS(
                                       "\"sh\"", "83", "0x7ffc0000") "\n SUBSYSTEM=foo\n",
                               &r),
                         AUDIT_LINE_SECCOMP);
        assert_true(r.has_kmsg_seq);
        assert_int_equal(r.kmsg_seq, 1234);
        assert_int_equal(r.syscall, 83);
        /* other kernel messages keep their sequence number, for gap detection */
        assert_int_equal(parse("6,1235,5678999,-;eth0: link up", &r), AUDIT_LINE_OTHER);
        assert_true(r.has_kmsg_seq);
        assert_int_equal(r.kmsg_seq, 1235);
        /* flags field with a continuation marker and extra fields (newer kernels: caller id) */
        assert_int_equal(parse("4,99,1,c,caller=T1;audit: type=1326 audit(1.000:2): " FIELDS("\"x\"", "0",
                                                                                             "0x7ffc0000"),
                               &r),
                         AUDIT_LINE_SECCOMP);
        assert_int_equal(r.kmsg_seq, 99);
}

static void test_auditd_and_enriched(void **state)
{
        AuditRecord r;
        assert_int_equal(
                parse("type=SECCOMP msg=audit(1594067860.484:14536): " FIELDS("\"sh\"", "35", "0x7ffc0000"),
                      &r),
                AUDIT_LINE_SECCOMP);
        assert_int_equal(r.serial, 14536);
        assert_int_equal(r.syscall, 35);

        /* audit 3.x log_format=ENRICHED: \x1d, then auditd's interpretations, which must not override the
         * raw fields (here they lie on purpose). */
        assert_int_equal(parse("type=SECCOMP msg=audit(1594067860.484:14537): " FIELDS(
                                       "\"sh\"", "35", "0x7ffc0000") "\x1d"
                                                                     "ARCH=aarch64 "
                                                                     "SYSCALL=mkdir "
                                                                     "AUID=\"unset\" "
                                                                     "UID=\"root\" "
                                                                     "syscall=83 "
                                                                     "arch=b7",
                               &r),
                         AUDIT_LINE_SECCOMP);
        assert_int_equal(r.syscall, 35);
        assert_int_equal(r.arch, 0xc000003e);

        /* audisp-syslog: auditd's line inside a syslog line */
        assert_int_equal(parse("Nov 22 10:00:00 node1 audisp-syslog: type=SECCOMP msg=audit(1.5:7): " FIELDS(
                                       "\"sh\"", "35", "0x7ffc0000"),
                               &r),
                         AUDIT_LINE_SECCOMP);
        assert_int_equal(r.time_msec, 1005);
}

static void test_journal_export(void **state)
{
        AuditRecord r;
        /* audit transport: no type=, no stamp (journald keeps them in _AUDIT_ID and friends) */
        assert_int_equal(parse("MESSAGE=SECCOMP " FIELDS("\"sh\"", "39", "0x7ffc0000"), &r),
                         AUDIT_LINE_SECCOMP);
        assert_false(r.has_time);
        assert_int_equal(r.syscall, 39);
        /* kernel transport: journald moved "audit" into SYSLOG_IDENTIFIER */
        assert_int_equal(
                parse("MESSAGE=type=1326 audit(1700000000.123:456): " FIELDS("\"sh\"", "39", "0x7ffc0000"),
                      &r),
                AUDIT_LINE_SECCOMP);
        assert_int_equal(r.serial, 456);
        assert_int_equal(parse("MESSAGE=audit: type=1326 audit(1700000000.123:456): " FIELDS("\"sh\"", "39",
                                                                                             "0x7ffc0000"),
                               &r),
                         AUDIT_LINE_SECCOMP);
        /* the other fields of an export entry are not records */
        assert_int_equal(parse("_TRANSPORT=audit", &r), AUDIT_LINE_OTHER);
        assert_int_equal(parse("_AUDIT_TYPE=1326", &r), AUDIT_LINE_OTHER);
}

static void test_hex_names(void **state)
{
        AuditRecord r;
        char buf[32];
        /* audit_log_untrustedstring: a space makes the value hex, unquoted */
        assert_int_equal(parse("audit: type=1326 audit(1.000:1): pid=1 comm=6D7920636F6D6D "
                               "exe=2F746D702F6D792070726F67 arch=c000003e syscall=0 code=0x7ffc0000",
                               &r),
                         AUDIT_LINE_SECCOMP);
        assert_string_equal(r.comm, "my comm");
        assert_string_equal(r.exe, "/tmp/my prog");
        /* a quote in the name */
        assert_int_equal(parse("audit: type=1326 audit(1.000:2): pid=1 comm=612262 exe=(null) arch=c000003e "
                               "syscall=0 code=0x7ffc0000",
                               &r),
                         AUDIT_LINE_SECCOMP);
        assert_string_equal(r.comm, "a\"b");
        assert_string_equal(r.exe, "");

        assert_int_equal(audit_unhex("414243", 6, buf, sizeof(buf)), 3);
        assert_string_equal(buf, "ABC");
        assert_int_equal(audit_unhex("41424", 5, buf, sizeof(buf)), -EINVAL);
        assert_int_equal(audit_unhex("4G", 2, buf, sizeof(buf)), -EINVAL);
        assert_int_equal(audit_unhex("4100", 4, buf, sizeof(buf)), -EINVAL); /* a NUL byte */
        assert_int_equal(audit_unhex("41424344", 8, buf, 4), -ENOBUFS);
        /* a comm longer than the kernel's 15 bytes is not a kernel record */
        assert_int_equal(parse("audit: type=1326 audit(1.000:3): comm=\"0123456789abcdefX\" arch=c000003e "
                               "syscall=0 code=0x7ffc0000",
                               &r),
                         AUDIT_LINE_MALFORMED);
}

static void test_x32_and_compat(void **state)
{
        AuditRecord r;
        assert_int_equal(parse("audit: type=1326 audit(1.000:1): pid=1 comm=\"x\" exe=\"/x\" arch=c000003e "
                               "syscall=1073741907 compat=0 code=0x7ffc0000",
                               &r),
                         AUDIT_LINE_SECCOMP);
        assert_int_equal(r.arch, SCMP_ARCH_X32);
        assert_int_equal(r.syscall, 0x40000000 | 83);
        /* i386 on x86_64 */
        assert_int_equal(parse("audit: type=1326 audit(1.000:2): pid=1 comm=\"x\" exe=\"/x\" arch=40000003 "
                               "syscall=20 compat=1 code=0x7ffc0000",
                               &r),
                         AUDIT_LINE_SECCOMP);
        assert_int_equal(r.arch, SCMP_ARCH_X86);

        _cleanup_(audit_recorder_freep) AuditRecorder *rec = NULL;
        const char *name = NULL;
        assert_int_equal(audit_recorder_new(&rec), 0);
        assert_int_equal(parse("audit: type=1326 audit(1.000:1): pid=1 comm=\"x\" exe=\"/x\" arch=c000003e "
                               "syscall=1073741907 code=0x7ffc0000",
                               &r),
                         AUDIT_LINE_SECCOMP);
        assert_int_equal(audit_recorder_add(rec, &r, &name), 1);
        assert_string_equal(name, "mkdir");
        assert_int_equal(parse("audit: type=1326 audit(1.000:2): pid=1 comm=\"x\" exe=\"/x\" arch=40000003 "
                               "syscall=20 code=0x7ffc0000",
                               &r),
                         AUDIT_LINE_SECCOMP);
        assert_int_equal(audit_recorder_add(rec, &r, &name), 1);
        assert_string_equal(name, "getpid"); /* 20 on i386, not x86_64's 20 (writev) */

        char *json = NULL;
        AuditProfileOptions o = {};
        assert_int_equal(audit_recorder_build_profile(rec, &o, &json, NULL), 0);
        json_t *doc = json_loads(json, 0, NULL);
        assert_non_null(doc);
        json_t *arches = json_object_get(doc, "architectures");
        assert_int_equal(json_array_size(arches), 2);
        assert_string_equal(json_string_value(json_array_get(arches, 0)), "SCMP_ARCH_X32");
        assert_string_equal(json_string_value(json_array_get(arches, 1)), "SCMP_ARCH_X86");
        json_decref(doc);
        free(json);
}

static void test_actions(void **state)
{
        static const struct {
                const char *code;
                uint32_t action;
                const char *name;
        } cases[] = {
                {"0x7ffc0000", AUDIT_ACTION_LOG, "LOG"},
                {"0x50000", AUDIT_ACTION_ERRNO, "ERRNO"},
                {"0x00050001", AUDIT_ACTION_ERRNO, "ERRNO"}, /* with data: hand-made, still ERRNO */
                {"0x80000000", AUDIT_ACTION_KILL_PROCESS, "KILL_PROCESS"},
                {"0x0", AUDIT_ACTION_KILL_THREAD, "KILL_THREAD"},
                {"0x30000", AUDIT_ACTION_TRAP, "TRAP"},
                {"0x7ff00000", AUDIT_ACTION_TRACE, "TRACE"},
                {"0x7fc00000", AUDIT_ACTION_USER_NOTIF, "USER_NOTIF"},
                {"0x7fff0000", AUDIT_ACTION_ALLOW, "ALLOW"},
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                char line[256], buf[16];
                AuditRecord r;
                snprintf(line, sizeof(line),
                         "audit: type=1326 audit(1.000:1): comm=\"x\" arch=c000003e syscall=1 code=%s",
                         cases[i].code);
                assert_int_equal(parse(line, &r), AUDIT_LINE_SECCOMP);
                assert_int_equal(r.code, cases[i].action);
                assert_string_equal(audit_action_to_string(r.code, buf), cases[i].name);
        }
        char buf[16];
        assert_string_equal(audit_action_to_string(0x12340000, buf), "0x12340000");
}

static void test_garbage(void **state)
{
        static const char *const other[] = {
                "",
                "hello world",
                "Nov 22 10:00:00 node1 systemd[1]: Started foo.service.",
                "audit: type=1326",              /* no stamp */
                "type=1326 audit(1.000:1",       /* unterminated stamp */
                "type=1326 audit(x.000:1): a=b", /* not a stamp */
                "6,1;nothing",                   /* not a kmsg prefix */
                "MESSAGE=",
                "net_ratelimit: 3 callbacks suppressed", /* someone else's rate limit */
        };
        static const char *const malformed[] = {
                "audit: type=1326 audit(1.000:1): pid=1 comm=\"x\" syscall=1 code=0x7ffc0000", /* no arch */
                "audit: type=1326 audit(1.000:1): arch=c000003e code=0x7ffc0000", /* no syscall */
                "audit: type=1326 audit(1.000:1): arch=c000003e syscall=1",       /* no code */
                "audit: type=1326 audit(1.000:1): arch=zz syscall=1 code=0x7ffc0000",
                "audit: type=1326 audit(1.000:1): arch=c000003e syscall=1x code=0x7ffc0000",
                "audit: type=1326 audit(1.000:1): comm=\"unterminated arch=c000003e syscall=1 "
                "code=0x7ffc0000",
                "audit: type=1326 audit(1.000:1): comm=ZZ arch=c000003e syscall=1 code=0x7ffc0000",
                "type=SECCOMP msg=audit(1.000:1): arch=c000003e syscall=99999999999999999999 "
                "code=0x7ffc0000",
                "MESSAGE=SECCOMP auid=0",
        };
        _cleanup_(audit_recorder_freep) AuditRecorder *rec = NULL;
        AuditRecord r;
        assert_int_equal(audit_recorder_new(&rec), 0);
        for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
                AuditLineKind k = parse(other[i], &r);
                assert_int_equal(k, AUDIT_LINE_OTHER);
                audit_recorder_observe(rec, k, &r);
        }
        for (size_t i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++) {
                AuditLineKind k = parse(malformed[i], &r);
                assert_int_equal(k, AUDIT_LINE_MALFORMED);
                audit_recorder_observe(rec, k, &r);
        }
        /* another audit record type: its serial counts, it is not garbage */
        assert_int_equal(parse("audit: type=1400 audit(1.000:5): apparmor=\"DENIED\"", &r),
                         AUDIT_LINE_AUDIT);
        assert_int_equal(r.serial, 5);
        const AuditStats *s = audit_recorder_stats(rec);
        assert_int_equal(s->other, sizeof(other) / sizeof(other[0]));
        assert_int_equal(s->malformed, sizeof(malformed) / sizeof(malformed[0]));
        assert_int_equal(s->lines, s->other + s->malformed);
        assert_false(audit_recorder_lost_evidence(rec));

        /* LSM labels with spaces ("(enforce)") are skipped words, not errors */
        assert_int_equal(parse("audit: type=1326 audit(1.000:1): subj=cri-containerd.apparmor.d (enforce) "
                               "pid=1 comm=\"x\" arch=c000003e syscall=1 code=0x7ffc0000",
                               &r),
                         AUDIT_LINE_SECCOMP);
        assert_int_equal(r.pid, 1);
}

static void feed(AuditRecorder *rec, const char *line)
{
        AuditRecord r;
        AuditLineKind k = audit_parse_line(line, strlen(line), &r);
        if (audit_recorder_observe(rec, k, &r) && k == AUDIT_LINE_SECCOMP)
                assert_true(audit_recorder_add(rec, &r, NULL) >= 0);
}

static void test_serial_gaps(void **state)
{
        _cleanup_(audit_recorder_freep) AuditRecorder *rec = NULL;
        assert_int_equal(audit_recorder_new(&rec), 0);
        feed(rec, "audit: type=1326 audit(1.000:100): arch=c000003e syscall=1 code=0x7ffc0000");
        feed(rec, "audit: type=1326 audit(1.001:101): arch=c000003e syscall=2 code=0x7ffc0000");
        feed(rec, "audit: type=1300 audit(1.001:102): arch=c000003e syscall=2 success=yes");
        /* the same record read twice: a duplicate, not a gap and not counted again */
        feed(rec, "audit: type=1326 audit(1.002:103): arch=c000003e syscall=3 code=0x7ffc0000");
        feed(rec, "audit: type=1326 audit(1.002:103): arch=c000003e syscall=3 code=0x7ffc0000");
        assert_false(audit_recorder_lost_evidence(rec));
        assert_int_equal(audit_recorder_stats(rec)->duplicates, 1);
        assert_int_equal(audit_recorder_stats(rec)->matched, 3);
        feed(rec, "audit: type=1326 audit(1.010:110): arch=c000003e syscall=4 code=0x7ffc0000");
        feed(rec, "audit: type=1326 audit(1.011:111): arch=c000003e syscall=5 code=0x7ffc0000");
        feed(rec, "audit: type=1326 audit(1.020:115): arch=c000003e syscall=6 code=0x7ffc0000");
        const AuditStats *s = audit_recorder_stats(rec);
        assert_true(audit_recorder_lost_evidence(rec));
        assert_int_equal(s->serial_missing, 6 + 3);
        assert_int_equal(s->serial_gaps, 2);
        assert_int_equal(s->serial_gap_after, 103);
        /* backwards (another boot, another file) is not a gap */
        feed(rec, "audit: type=1326 audit(2.000:5): arch=c000003e syscall=7 code=0x7ffc0000");
        feed(rec, "audit: type=1326 audit(2.001:6): arch=c000003e syscall=8 code=0x7ffc0000");
        assert_int_equal(s->serial_missing, 9);
        assert_int_equal(audit_recorder_n_syscalls(rec), 8);
}

/* A live source on several CPUs: a serial can come after a later one; it is missing only once it has
 * left the window of 1024, or at the end. */
static void test_serial_reordering(void **state)
{
        _cleanup_(audit_recorder_freep) AuditRecorder *rec = NULL;
        char line[128];
        assert_int_equal(audit_recorder_new(&rec), 0);
        audit_recorder_set_reorder_window(rec);
        static const unsigned order[] = {100, 102, 103, 101, 104, 106, 105, 107, 109};
        for (size_t i = 0; i < ELEMENTSOF(order); i++) {
                (void) snprintf(
                        line, sizeof(line),
                        "audit: type=1326 audit(1.000:%u): arch=c000003e syscall=%zu code=0x7ffc0000",
                        order[i], i);
                feed(rec, line);
        }
        const AuditStats *s = audit_recorder_stats(rec);
        assert_false(audit_recorder_lost_evidence(rec)); /* 108 may still come */
        /* 2000 serials on: 108 has left the window, and so have 110..2000-1024. */
        feed(rec, "audit: type=1326 audit(1.000:2000): arch=c000003e syscall=1 code=0x7ffc0000");
        assert_true(audit_recorder_lost_evidence(rec));
        assert_int_equal(s->serial_missing, 1 + (2000 - 1024 + 1 - 110));
        assert_int_equal(s->serial_gaps, 2);
        assert_int_equal(s->serial_gap_after, 107);
        uint64_t before = s->serial_missing;
        /* The end: what the window still waits for is missing. */
        feed(rec, "audit: type=1326 audit(1.000:1999): arch=c000003e syscall=1 code=0x7ffc0000");
        audit_recorder_finish(rec);
        assert_int_equal(s->serial_missing, before + (1999 - (2000 - 1024 + 1)));
}

static void test_kmsg_gaps(void **state)
{
        _cleanup_(audit_recorder_freep) AuditRecorder *rec = NULL;
        assert_int_equal(audit_recorder_new(&rec), 0);
        feed(rec, "6,10,1,-;audit: type=1326 audit(1.000:1): arch=c000003e syscall=1 code=0x7ffc0000");
        feed(rec, "6,11,1,-;eth0: link up");
        feed(rec, "6,12,1,-;audit: type=1326 audit(1.000:2): arch=c000003e syscall=2 code=0x7ffc0000");
        assert_false(audit_recorder_lost_evidence(rec));
        feed(rec, "6,20,1,-;audit: type=1326 audit(1.000:3): arch=c000003e syscall=3 code=0x7ffc0000");
        assert_true(audit_recorder_lost_evidence(rec));
        assert_int_equal(audit_recorder_stats(rec)->kmsg_missing, 7);
        assert_int_equal(audit_recorder_stats(rec)->serial_missing, 0);
        audit_recorder_note_kmsg_overrun(rec);
        assert_int_equal(audit_recorder_stats(rec)->kmsg_overruns, 1);
}

static void test_loss_messages(void **state)
{
        AuditRecord r;
        assert_int_equal(parse("[ 12.3] kauditd_printk_skb: 37 callbacks suppressed", &r),
                         AUDIT_LINE_SUPPRESSED);
        assert_int_equal(r.lost_count, 37);
        assert_int_equal(parse("4,300,1,-;kauditd_printk_skb: 5 callbacks suppressed", &r),
                         AUDIT_LINE_SUPPRESSED);
        assert_int_equal(r.lost_count, 5);
        assert_int_equal(r.kmsg_seq, 300);
        /* the journal: the function name is in SYSLOG_IDENTIFIER */
        assert_int_equal(parse("MESSAGE=12 callbacks suppressed", &r), AUDIT_LINE_SUPPRESSED);
        assert_int_equal(r.lost_count, 12);
        assert_int_equal(parse("audit: audit_lost=42 audit_rate_limit=0 audit_backlog_limit=64", &r),
                         AUDIT_LINE_LOST);
        assert_int_equal(r.lost_count, 42);
        assert_int_equal(parse("[ 1.0] audit: backlog limit exceeded", &r), AUDIT_LINE_LOST);
        assert_int_equal(parse("audit: rate limit exceeded", &r), AUDIT_LINE_LOST);
        assert_int_equal(parse("audit: kauditd hold queue overflow", &r), AUDIT_LINE_LOST);
        assert_int_equal(parse("audit: audit_backlog=65 > audit_backlog_limit=64", &r), AUDIT_LINE_LOST);

        _cleanup_(audit_recorder_freep) AuditRecorder *rec = NULL;
        assert_int_equal(audit_recorder_new(&rec), 0);
        feed(rec, "kauditd_printk_skb: 37 callbacks suppressed");
        feed(rec, "kauditd_printk_skb: 3 callbacks suppressed");
        assert_true(audit_recorder_lost_evidence(rec));
        assert_int_equal(audit_recorder_stats(rec)->suppressed, 40);
        assert_int_equal(audit_recorder_stats(rec)->suppressed_lines, 2);

        _cleanup_(audit_recorder_freep) AuditRecorder *rec2 = NULL;
        assert_int_equal(audit_recorder_new(&rec2), 0);
        feed(rec2, "audit: audit_lost=3 audit_rate_limit=0 audit_backlog_limit=64");
        feed(rec2, "audit: audit_lost=9 audit_rate_limit=0 audit_backlog_limit=64");
        assert_true(audit_recorder_lost_evidence(rec2));
        assert_int_equal(audit_recorder_stats(rec2)->audit_lost, 9);
}

static void test_enforcement_not_allowed(void **state)
{
        _cleanup_(audit_recorder_freep) AuditRecorder *rec = NULL;
        size_t n;
        assert_int_equal(audit_recorder_new(&rec), 0);
        feed(rec,
             "audit: type=1326 audit(1.000:1): pid=7 comm=\"sh\" exe=\"/bin/sh\" arch=c000003e syscall=1 "
             "code=0x7ffc0000");
        feed(rec,
             "audit: type=1326 audit(1.000:2): pid=7 comm=\"sh\" exe=\"/bin/sh\" arch=c000003e syscall=83 "
             "code=0x50000");
        feed(rec,
             "audit: type=1326 audit(1.000:3): pid=8 comm=\"sh\" exe=\"/bin/sh\" arch=c000003e syscall=83 "
             "code=0x50000");
        feed(rec,
             "audit: type=1326 audit(1.000:4): pid=8 comm=\"sh\" exe=\"/bin/sh\" arch=c000003e syscall=62 "
             "code=0x80000000");
        const AuditEvent *e = audit_recorder_events(rec, &n);
        assert_int_equal(n, 2);
        assert_string_equal(e[0].name, "mkdir");
        assert_int_equal(e[0].count, 2);
        assert_int_equal(e[0].pid, 7);
        assert_int_equal(e[0].code, AUDIT_ACTION_ERRNO);
        assert_string_equal(e[1].name, "kill");
        assert_int_equal(audit_recorder_n_syscalls(rec), 1);

        char *json = NULL;
        AuditProfileOptions o = {};
        assert_int_equal(audit_recorder_build_profile(rec, &o, &json, NULL), 0);
        assert_null(strstr(json, "mkdir"));
        assert_non_null(strstr(json, "\"write\""));
        free(json);

        /* only enforcement events: nothing to write */
        _cleanup_(audit_recorder_freep) AuditRecorder *none = NULL;
        assert_int_equal(audit_recorder_new(&none), 0);
        feed(none, "audit: type=1326 audit(1.000:2): arch=c000003e syscall=83 code=0x50000");
        assert_int_equal(audit_recorder_build_profile(none, &o, &json, NULL), -ENODATA);
}

static void test_merge_recordings(void **state)
{
        _cleanup_(audit_recorder_freep) AuditRecorder *all = NULL, *app = NULL, *side = NULL;
        size_t n;
        assert_int_equal(audit_recorder_new(&all), 0);
        assert_int_equal(audit_recorder_new(&app), 0);
        assert_int_equal(audit_recorder_new(&side), 0);
        /* two containers' records kept apart, as record --pod keeps them until they are named */
        feed(app, "audit: type=1326 audit(1.000:1): comm=\"a\" exe=\"/a\" arch=c000003e syscall=1 "
                  "code=0x7ffc0000");
        feed(app, "audit: type=1326 audit(1.000:2): comm=\"a\" exe=\"/a\" arch=c000003e syscall=1 "
                  "code=0x7ffc0000");
        feed(app,
             "audit: type=1326 audit(1.000:3): comm=\"a\" exe=\"/a\" arch=c000003e syscall=83 code=0x50000");
        feed(app, "audit: type=1326 audit(1.000:4): comm=\"a\" exe=\"/a\" arch=c000003e syscall=999 "
                  "code=0x7ffc0000");
        feed(side, "audit: type=1326 audit(1.000:5): comm=\"a\" exe=\"/a\" arch=c000003e syscall=0 "
                   "code=0x7ffc0000");
        feed(side, "audit: type=1326 audit(1.000:6): comm=\"a\" exe=\"/a\" arch=c000003e syscall=1 "
                   "code=0x7ffc0000");
        feed(side,
             "audit: type=1326 audit(1.000:7): comm=\"a\" exe=\"/a\" arch=c000003e syscall=83 code=0x50000");
        assert_int_equal(audit_recorder_merge(all, app), 0);
        assert_int_equal(audit_recorder_n_syscalls(all), 1); /* write; 999 has no name */
        assert_int_equal(audit_recorder_merge(all, side), 0);
        const AuditStats *s = audit_recorder_stats(all);
        assert_int_equal(audit_recorder_n_syscalls(all), 2); /* read, write */
        assert_int_equal(s->matched, 7);
        assert_int_equal(s->matched_log, 5);
        assert_int_equal(s->matched_enforced, 2);
        assert_int_equal(s->unresolved, 1);
        assert_int_equal(s->lines, 0); /* loss is the reader's, not merged */
        const AuditEvent *e = audit_recorder_events(all, &n);
        assert_int_equal(n, 1);
        assert_int_equal(e[0].count, 2);
        assert_string_equal(e[0].name, "mkdir");
        uint32_t arch;
        int64_t nr;
        assert_int_equal(audit_recorder_unresolved(all, 0, &arch, &nr), 1);
        assert_int_equal(nr, 999);
}

static void test_netlink_overruns_are_loss(void **state)
{
        _cleanup_(audit_recorder_freep) AuditRecorder *rec = NULL;
        assert_int_equal(audit_recorder_new(&rec), 0);
        audit_recorder_note_netlink_overrun(rec, 0);
        assert_false(audit_recorder_lost_evidence(rec));
        audit_recorder_note_netlink_overrun(rec, 2);
        audit_recorder_note_netlink_overrun(rec, 1);
        assert_int_equal(audit_recorder_stats(rec)->netlink_overruns, 3);
        assert_true(audit_recorder_lost_evidence(rec));
}

static void assert_valid(const char *json)
{
        ValidateOptions vo = {.runtime = RUNTIME_CONTAINERD, .arch = arch_from_spec("SCMP_ARCH_X86_64")};
        Verdict v;
        for (int rt = 0; rt < _RUNTIME_MAX; rt++) {
                vo.runtime = (Runtime) rt;
                assert_int_equal(profile_validate(json, strlen(json), &vo, &v), 0);
                assert_true(v.valid);
                verdict_clear(&v);
        }
}

static void test_profile_generation(void **state)
{
        _cleanup_(audit_recorder_freep) AuditRecorder *rec = NULL;
        char *json = NULL;
        assert_int_equal(audit_recorder_new(&rec), 0);
        feed(rec, "audit: type=1326 audit(1.000:1): arch=c000003e syscall=1 code=0x7ffc0000");  /* write */
        feed(rec, "audit: type=1326 audit(1.000:2): arch=c000003e syscall=0 code=0x7ffc0000");  /* read */
        feed(rec, "audit: type=1326 audit(1.000:3): arch=c000003e syscall=39 code=0x7ffc0000"); /* getpid */
        feed(rec, "audit: type=1326 audit(1.000:4): arch=c000003e syscall=1 code=0x7ffc0000");
        /* a number libseccomp cannot name is left out, and reported */
        feed(rec, "audit: type=1326 audit(1.000:5): arch=c000003e syscall=9999 code=0x7ffc0000");
        assert_int_equal(audit_recorder_stats(rec)->unresolved, 1);
        uint32_t arch;
        int64_t nr;
        assert_int_equal(audit_recorder_unresolved(rec, 0, &arch, &nr), 1);
        assert_int_equal(nr, 9999);
        assert_int_equal(audit_recorder_unresolved(rec, 1, &arch, &nr), 0);

        AuditProfileOptions o = {};
        assert_int_equal(audit_recorder_build_profile(rec, &o, &json, NULL), 0);
        assert_string_equal(json, "{\n"
                                  "  \"defaultAction\": \"SCMP_ACT_ERRNO\",\n"
                                  "  \"architectures\": [\n"
                                  "    \"SCMP_ARCH_X86_64\"\n"
                                  "  ],\n"
                                  "  \"syscalls\": [\n"
                                  "    {\n"
                                  "      \"names\": [\n"
                                  "        \"getpid\",\n"
                                  "        \"read\",\n"
                                  "        \"write\"\n"
                                  "      ],\n"
                                  "      \"action\": \"SCMP_ACT_ALLOW\"\n"
                                  "    }\n"
                                  "  ]\n"
                                  "}\n");
        assert_valid(json);
        free(json);

        /* with the runc baseline, another default action */
        o = (AuditProfileOptions){.default_action = "SCMP_ACT_KILL_PROCESS",
                                  .baseline = baseline_runc,
                                  .n_baseline = baseline_runc_count};
        assert_int_equal(audit_recorder_build_profile(rec, &o, &json, NULL), 0);
        json_t *doc = json_loads(json, 0, NULL);
        json_t *names = json_object_get(json_array_get(json_object_get(doc, "syscalls"), 0), "names");
        /* getpid, read and write are in the baseline already */
        assert_int_equal(json_array_size(names), baseline_runc_count);
        assert_string_equal(json_string_value(json_object_get(doc, "defaultAction")),
                            "SCMP_ACT_KILL_PROCESS");
        for (size_t i = 1; i < json_array_size(names); i++)
                assert_true(strcmp(json_string_value(json_array_get(names, i - 1)),
                                   json_string_value(json_array_get(names, i))) < 0);
        json_decref(doc);
        assert_valid(json);
        free(json);

        o.baseline = baseline_crun;
        o.n_baseline = baseline_crun_count;
        assert_int_equal(audit_recorder_build_profile(rec, &o, &json, NULL), 0);
        assert_valid(json);
        free(json);
}

static void test_baseline_only_real_syscalls(void **state)
{
        /* an aarch64 recording gets no arch_prctl from the x86_64-measured baseline */
        _cleanup_(audit_recorder_freep) AuditRecorder *rec = NULL;
        char *json = NULL;
        assert_int_equal(audit_recorder_new(&rec), 0);
        feed(rec, "audit: type=1326 audit(1.000:1): arch=c00000b7 syscall=64 code=0x7ffc0000"); /* write */
        AuditProfileOptions o = {.baseline = baseline_runc, .n_baseline = baseline_runc_count};
        assert_int_equal(audit_recorder_build_profile(rec, &o, &json, NULL), 0);
        assert_non_null(strstr(json, "SCMP_ARCH_AARCH64"));
        assert_non_null(strstr(json, "\"write\""));
        assert_non_null(strstr(json, "\"execve\""));
        assert_null(strstr(json, "arch_prctl"));
        free(json);
}

static void test_merge(void **state)
{
        _cleanup_(audit_recorder_freep) AuditRecorder *rec = NULL;
        char *json = NULL, *error = NULL;
        assert_int_equal(audit_recorder_new(&rec), 0);
        feed(rec, "audit: type=1326 audit(1.000:1): arch=c000003e syscall=1 code=0x7ffc0000");  /* write */
        feed(rec, "audit: type=1326 audit(1.000:2): arch=c000003e syscall=83 code=0x7ffc0000"); /* mkdir */
        static const char existing[] =
                "{\"defaultAction\":\"SCMP_ACT_KILL_PROCESS\",\"architectures\":[\"SCMP_ARCH_X86_64\"],"
                "\"syscalls\":["
                "{\"names\":[\"personality\"],\"action\":\"SCMP_ACT_ALLOW\",\"args\":[{\"index\":0,"
                "\"value\":8,"
                "\"op\":\"SCMP_CMP_EQ\"}]},"
                "{\"names\":[\"write\",\"exit_group\"],\"action\":\"SCMP_ACT_ALLOW\"}]}";
        AuditProfileOptions o = {.merge = existing, .merge_len = strlen(existing)};
        assert_int_equal(audit_recorder_build_profile(rec, &o, &json, &error), 0);
        json_t *doc = json_loads(json, 0, NULL);
        assert_non_null(doc);
        /* the existing default stays; the conditional rule is untouched; the unconditional one grows */
        assert_string_equal(json_string_value(json_object_get(doc, "defaultAction")),
                            "SCMP_ACT_KILL_PROCESS");
        json_t *rules = json_object_get(doc, "syscalls");
        assert_int_equal(json_array_size(rules), 2);
        assert_int_equal(json_array_size(json_object_get(json_array_get(rules, 0), "names")), 1);
        json_t *names = json_object_get(json_array_get(rules, 1), "names");
        assert_int_equal(json_array_size(names), 3);
        assert_string_equal(json_string_value(json_array_get(names, 0)), "exit_group");
        assert_string_equal(json_string_value(json_array_get(names, 1)), "mkdir");
        assert_string_equal(json_string_value(json_array_get(names, 2)), "write");
        assert_int_equal(json_array_size(json_object_get(doc, "architectures")), 1);
        json_decref(doc);
        assert_valid(json);
        free(json);

        /* an explicit default action wins over the merged one */
        o.default_action = "SCMP_ACT_ERRNO";
        assert_int_equal(audit_recorder_build_profile(rec, &o, &json, &error), 0);
        assert_non_null(strstr(json, "\"SCMP_ACT_ERRNO\""));
        free(json);

        /* a profile without an unconditional allow rule gets one */
        static const char audit_profile[] = "{\"defaultAction\":\"SCMP_ACT_LOG\"}";
        o = (AuditProfileOptions){.merge = audit_profile, .merge_len = strlen(audit_profile)};
        assert_int_equal(audit_recorder_build_profile(rec, &o, &json, &error), 0);
        assert_non_null(strstr(json, "SCMP_ACT_LOG"));
        assert_non_null(strstr(json, "\"mkdir\""));
        assert_valid(json);
        free(json);

        static const char *const bad[] = {"[]", "{", "{\"syscalls\":{}}", "{\"architectures\":\"x\"}"};
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                o = (AuditProfileOptions){.merge = bad[i], .merge_len = strlen(bad[i])};
                assert_int_equal(audit_recorder_build_profile(rec, &o, &json, &error), -EINVAL);
                assert_non_null(error);
                free(error);
                error = NULL;
        }
}

static void test_configmap(void **state)
{
        char *out = NULL;
        assert_int_equal(audit_profile_to_configmap("my-app", "prod", "{\n  \"a\": 1\n}\n", &out), 0);
        assert_string_equal(out, "apiVersion: v1\n"
                                 "kind: ConfigMap\n"
                                 "metadata:\n"
                                 "  name: my-app\n"
                                 "  namespace: prod\n"
                                 "  labels:\n"
                                 "    seccompd.io/profile: \"true\"\n"
                                 "data:\n"
                                 "  my-app.json: |\n"
                                 "    {\n"
                                 "      \"a\": 1\n"
                                 "    }\n");
        free(out);
        assert_int_equal(audit_profile_to_configmap("a.b", NULL, "{}\n", &out), 0);
        assert_null(strstr(out, "namespace"));
        free(out);
        assert_int_equal(audit_profile_to_configmap("My-App", NULL, "{}\n", &out), -EINVAL);
        assert_int_equal(audit_profile_to_configmap("-x", NULL, "{}\n", &out), -EINVAL);
        assert_int_equal(audit_profile_to_configmap("", NULL, "{}\n", &out), -EINVAL);
        assert_int_equal(audit_profile_to_configmap("ok", "a.b", "{}\n", &out), -EINVAL);
}

static void test_cgroup_matching(void **state)
{
        static const char id[] = "3f2a9c1b7d5e4f60a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718";
        static const char containerd_systemd[] =
                "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1234_5678.slice/"
                "cri-containerd-3f2a9c1b7d5e4f60a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718.scope\n";
        static const char containerd_cgroupfs[] =
                "0::/kubepods/burstable/pod1234-5678/"
                "3f2a9c1b7d5e4f60a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718\n";
        static const char crio[] =
                "0::/kubepods.slice/kubepods-pod1.slice/"
                "crio-3f2a9c1b7d5e4f60a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718.scope\n";
        static const char crio_conmon[] =
                "0::/kubepods.slice/kubepods-pod1.slice/"
                "crio-conmon-3f2a9c1b7d5e4f60a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718."
                "scope\n";
        static const char crio_nested[] =
                "0::/kubepods.slice/"
                "crio-3f2a9c1b7d5e4f60a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718.scope/"
                "container\n";
        static const char v1[] = "12:memory:/kubepods/besteffort/pod1/"
                                 "3f2a9c1b7d5e4f60a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718\n"
                                 "1:name=systemd:/kubepods/besteffort/pod1/"
                                 "3f2a9c1b7d5e4f60a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718\n";
        static const char host[] = "0::/user.slice/user-0.slice/session-1.scope\n";

        assert_true(audit_cgroup_matches_container(containerd_systemd, id));
        assert_true(audit_cgroup_matches_container(containerd_systemd, "3f2a9c1b7d5e")); /* prefix */
        assert_true(audit_cgroup_matches_container(containerd_systemd, "3F2A9C"));
        assert_false(audit_cgroup_matches_container(containerd_systemd, "3f2a9c1b7d5f"));
        assert_true(audit_cgroup_matches_container(containerd_cgroupfs, "3f2a9c"));
        assert_true(audit_cgroup_matches_container(crio, "3f2a9c"));
        assert_false(audit_cgroup_matches_container(crio_conmon, "3f2a9c"));
        assert_true(audit_cgroup_matches_container(crio_nested, "3f2a9c"));
        assert_true(audit_cgroup_matches_container(v1, "3f2a9c"));
        assert_false(audit_cgroup_matches_container(host, "3f2a9c"));
        assert_false(audit_cgroup_matches_container(containerd_systemd, ""));
        assert_false(audit_cgroup_matches_container(containerd_systemd, "pod"));
        /* the pod's cgroup is not a container: its UID is not 64 hex digits */
        assert_false(audit_cgroup_matches_container(containerd_cgroupfs, "1234"));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_syslog_and_dmesg),
                cmocka_unit_test(test_kmsg),
                cmocka_unit_test(test_auditd_and_enriched),
                cmocka_unit_test(test_journal_export),
                cmocka_unit_test(test_hex_names),
                cmocka_unit_test(test_x32_and_compat),
                cmocka_unit_test(test_actions),
                cmocka_unit_test(test_garbage),
                cmocka_unit_test(test_serial_gaps),
                cmocka_unit_test(test_serial_reordering),
                cmocka_unit_test(test_kmsg_gaps),
                cmocka_unit_test(test_loss_messages),
                cmocka_unit_test(test_enforcement_not_allowed),
                cmocka_unit_test(test_merge_recordings),
                cmocka_unit_test(test_netlink_overruns_are_loss),
                cmocka_unit_test(test_profile_generation),
                cmocka_unit_test(test_baseline_only_real_syscalls),
                cmocka_unit_test(test_merge),
                cmocka_unit_test(test_configmap),
                cmocka_unit_test(test_cgroup_matching),
        };
        cmocka_set_message_output(CM_OUTPUT_TAP);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
