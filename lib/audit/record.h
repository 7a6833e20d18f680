/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* One line of a log → one kernel SECCOMP audit record, or the evidence that records were lost.
 *
 * The kernel writes (kernel/auditsc.c audit_seccomp, audit_log_task):
 *   auid=%u uid=%u gid=%u ses=%u [subj=...] pid=%d comm=<str> exe=<str> sig=%ld arch=%x syscall=%ld
 *   compat=%d ip=0x%lx code=0x%x
 * and the record reaches a log in one of these shapes (../shared/reference/seccomp-profiles.md §4):
 *   kernel log (dmesg, syslog, journal kernel transport):
 *       [..] audit: type=1326 audit(1700000000.123:456): auid=...
 *   /dev/kmsg:   6,1234,5678,-;audit: type=1326 audit(...): ...
 *   auditd:      type=SECCOMP msg=audit(1700000000.123:456): auid=... [\x1d ARCH=x86_64 SYSCALL=...]
 *   journal audit transport, export format:   MESSAGE=SECCOMP auid=...   (no serial, no time)
 * comm and exe are quoted when clean and hex-encoded without quotes otherwise
 * (audit_log_untrustedstring). The line is parsed in place; nothing is allocated. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A record's comm is at most 15 bytes (TASK_COMM_LEN); exe at most PATH_MAX. Longer values are
 * malformed. */
#define AUDIT_COMM_MAX 16
#define AUDIT_EXE_MAX  4096

/* The audit arch of x86_64; x32 syscalls arrive with it and __X32_SYSCALL_BIT set in the number. */
#define AUDIT_ARCH_X86_64_TOKEN 0xc000003eU
#define X32_SYSCALL_BIT         0x40000000U

typedef enum AuditLineKind {
        AUDIT_LINE_SECCOMP,    /* a SECCOMP record: *ret_record is filled in */
        AUDIT_LINE_AUDIT,      /* another audit record type: its serial still counts for loss */
        AUDIT_LINE_SUPPRESSED, /* "kauditd_printk_skb: N callbacks suppressed": N records dropped */
        AUDIT_LINE_LOST,       /* "audit: audit_lost=N ...", backlog or rate limit exceeded */
        AUDIT_LINE_MALFORMED,  /* says it is a SECCOMP record but cannot be read */
        AUDIT_LINE_OTHER,      /* anything else: not an audit record */
} AuditLineKind;

/* The action without its data, as the kernel writes code= (SECCOMP_RET_ACTION_FULL). */
typedef enum AuditAction {
        AUDIT_ACTION_KILL_PROCESS = 0x80000000,
        AUDIT_ACTION_KILL_THREAD = 0x00000000,
        AUDIT_ACTION_TRAP = 0x00030000,
        AUDIT_ACTION_ERRNO = 0x00050000,
        AUDIT_ACTION_USER_NOTIF = 0x7fc00000,
        AUDIT_ACTION_TRACE = 0x7ff00000,
        AUDIT_ACTION_LOG = 0x7ffc0000,
        AUDIT_ACTION_ALLOW = 0x7fff0000,
} AuditAction;

typedef struct AuditRecord {
        /* Where the line came from. */
        bool has_time;       /* audit(SEC.MSEC:SERIAL) was present */
        uint64_t time_msec;  /* milliseconds since the epoch */
        uint64_t serial;     /* audit event serial: consecutive per boot */
        bool has_kmsg_seq;   /* /dev/kmsg line */
        uint64_t kmsg_seq;   /* its sequence number: consecutive, gaps are overwritten records */
        uint64_t lost_count; /* AUDIT_LINE_SUPPRESSED/LOST: how many, 0 when the line does not say */

        /* The record. */
        uint32_t arch; /* AUDIT_ARCH_* token, the same values as SCMP_ARCH_*; x32 already told apart */
        int64_t syscall;
        uint32_t code; /* the action, SECCOMP_RET_ACTION_FULL bits only */
        int64_t pid;   /* -1 when absent */
        int64_t uid;   /* -1 when absent */
        char comm[AUDIT_COMM_MAX];
        char exe[AUDIT_EXE_MAX]; /* "" for exe=(null) or absent */
} AuditRecord;

/* Parses one line (no trailing newline needed; it need not be NUL-terminated). Returns the kind;
 * *ret is written for AUDIT_LINE_SECCOMP (fully), AUDIT_LINE_AUDIT (time, serial, kmsg seq) and
 * AUDIT_LINE_SUPPRESSED/LOST (lost_count, kmsg seq); for OTHER and MALFORMED only kmsg seq. */
AuditLineKind audit_parse_line(const char *line, size_t len, AuditRecord *ret);

/* "LOG", "ERRNO", "KILL_PROCESS", ...; "0x%08x" for an unknown code (buf holds 16 bytes). */
const char *audit_action_to_string(uint32_t code, char buf[static 16]);

/* Decodes audit's unquoted hex encoding ("2F62696E2F7368" → "/bin/sh"). Returns the decoded length,
 * or -EINVAL when src is not an even-length hex string or decodes to a NUL byte, -ENOBUFS when it
 * does not fit in size bytes with its terminating NUL. */
int audit_unhex(const char *src, size_t len, char *dst, size_t size);

/* Whether a process whose /proc/PID/cgroup reads `cgroup` belongs to the container whose ID starts
 * with id_prefix (1 to 64 hex digits, any case): the container cgroup_identity_parse() finds (cgroup.h:
 * containerd, CRI-O, Docker, podman; cgroup v1 and v2). */
bool audit_cgroup_matches_container(const char *cgroup, const char *id_prefix);
