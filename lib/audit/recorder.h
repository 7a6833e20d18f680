/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* SECCOMP audit records → the syscalls a workload made → a profile that runs it.
 *
 * The caller parses lines (record.h), lets the recorder see every one of them (so that loss shows up
 * whatever the filters select: audit serials and /dev/kmsg sequence numbers are consecutive, and the
 * kernel says when it dropped records), and adds the records its filters selected. LOG records are
 * what the workload did; any other action is an enforcement event (a filter blocked or killed), never
 * evidence that the syscall should be allowed. Names are resolved for each record's own architecture
 * with libseccomp. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "record.h"

typedef struct AuditRecorder AuditRecorder;

typedef struct AuditStats {
        uint64_t lines;     /* every line observed */
        uint64_t seccomp;   /* SECCOMP records */
        uint64_t other;     /* not an audit record nor a loss message: ignored */
        uint64_t malformed; /* claimed to be a SECCOMP record but could not be read: ignored */
        uint64_t duplicates;
        uint64_t matched;          /* records added */
        uint64_t matched_log;      /* of which LOG */
        uint64_t matched_enforced; /* of which another action */

        /* Evidence of loss. */
        uint64_t serial_missing;   /* audit serials skipped between consecutive records */
        uint64_t serial_gaps;      /* in how many places */
        uint64_t serial_gap_after; /* the serial before the first gap */
        uint64_t kmsg_missing;     /* /dev/kmsg sequence numbers skipped */
        uint64_t kmsg_overruns;    /* reads that found records overwritten (EPIPE) */
        uint64_t netlink_overruns; /* audit group receives that failed with ENOBUFS: records dropped */
        uint64_t suppressed;       /* "kauditd_printk_skb: N callbacks suppressed", summed */
        uint64_t suppressed_lines;
        uint64_t lost_lines; /* audit_lost=, backlog or rate limit exceeded */
        uint64_t audit_lost; /* the largest audit_lost= seen (a counter since boot) */
        uint64_t unresolved; /* LOG records whose number libseccomp cannot name for their arch */
} AuditStats;

/* An enforcement event: records with the same action, arch, syscall, comm and exe, counted. */
typedef struct AuditEvent {
        uint32_t code;
        uint32_t arch;
        int64_t syscall;
        char *name; /* NULL when libseccomp cannot name it */
        char comm[AUDIT_COMM_MAX];
        char *exe;
        int64_t pid; /* the first one */
        uint64_t count;
} AuditEvent;

int audit_recorder_new(AuditRecorder **ret);
AuditRecorder *audit_recorder_free(AuditRecorder *r);
static inline void audit_recorder_freep(AuditRecorder **r)
{
        if (*r)
                (void) audit_recorder_free(*r);
}

/* Accounts for one parsed line. Returns false when the line is a SECCOMP record already seen (same
 * time and serial as the one before: a record read twice), which the caller should not add. */
bool audit_recorder_observe(AuditRecorder *r, AuditLineKind kind, const AuditRecord *rec);

/* Serials may arrive out of order (a live source on several CPUs: the audit multicast group): a serial
 * counts as missing once 1024 later ones have come, or at audit_recorder_finish(), not at the first
 * later one. Without it, a jump forward is a gap at once (files, where order is the log's). */
void audit_recorder_set_reorder_window(AuditRecorder *r);
/* The input ended: with the reorder window, serials not seen up to the last one are missing now. */
void audit_recorder_finish(AuditRecorder *r);

/* A read of /dev/kmsg returned EPIPE: records were overwritten before they were read. */
void audit_recorder_note_kmsg_overrun(AuditRecorder *r);
/* n more receives from the audit multicast group failed with ENOBUFS (the socket's buffer overflowed
 * and the kernel dropped records for it): added to netlink_overruns. Pass what
 * audit_netlink_overruns() gained since the last call, not its total. */
void audit_recorder_note_netlink_overrun(AuditRecorder *r, uint64_t n);

/* Adds a record the filters selected. Returns 1 when it added a syscall not seen before (*ret_name,
 * if given, points at its name, owned by the recorder), 0 otherwise, -ENOMEM. */
int audit_recorder_add(AuditRecorder *r, const AuditRecord *rec, const char **ret_name);

/* Adds what src recorded (its syscalls, enforcement events and matched counts) to dst, as if its
 * records had been added to dst; loss evidence stays with whoever observed the lines. For recordings
 * kept apart until it is known where they belong (one per container, named later). -ENOMEM. */
int audit_recorder_merge(AuditRecorder *dst, const AuditRecorder *src);

const AuditStats *audit_recorder_stats(const AuditRecorder *r);
/* Whether any evidence of loss was seen. */
bool audit_recorder_lost_evidence(const AuditRecorder *r);
size_t audit_recorder_n_syscalls(const AuditRecorder *r);
/* Whether a LOG record of this syscall number on this arch was added. */
bool audit_recorder_has(const AuditRecorder *r, uint32_t arch, int64_t nr);
const AuditEvent *audit_recorder_events(const AuditRecorder *r, size_t *ret_n);
/* LOG records whose number could not be named: (arch, number) pairs, for the report. */
size_t audit_recorder_unresolved(const AuditRecorder *r, size_t i, uint32_t *ret_arch, int64_t *ret_nr);

typedef struct AuditProfileOptions {
        const char *default_action;  /* NULL: the merged profile's, else SCMP_ACT_ERRNO */
        const char *const *baseline; /* the runtime's own start-up syscalls, added to the allow rule */
        size_t n_baseline;
        const char *merge; /* an existing profile to union with, or NULL */
        size_t merge_len;
} AuditProfileOptions;

/* The profile as JSON text, newline-terminated: defaultAction, the architectures seen (sorted), and
 * one allow rule with the sorted names recorded plus the baseline names that exist on a recorded
 * arch. With merge: the existing profile kept as it is, its architectures and first unconditional
 * allow rule extended (or a rule appended). Returns -EINVAL when merge is not a JSON object (with
 * *ret_error, if given, saying why; free it), -ENODATA when nothing was recorded. */
int audit_recorder_build_profile(const AuditRecorder *r, const AuditProfileOptions *o, char **ret_json,
                                 char **ret_error);

/* A ConfigMap manifest holding the profile under the key NAME.json, labeled seccompd.io/profile:
 * "true", ready for kubectl apply. Returns -EINVAL when name is not a valid ConfigMap name (a DNS
 * subdomain) or namespace not a DNS label. */
int audit_profile_to_configmap(const char *name, const char *namespace, const char *json, char **ret);
