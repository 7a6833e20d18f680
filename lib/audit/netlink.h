/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The kernel's audit multicast group: every audit record kauditd sends, as it sends it, with no auditd
 * and no rate limit but the kernel's own backlog (audit_backlog_limit; what it drops leaves a gap in
 * the serials). A socket(AF_NETLINK, SOCK_RAW, NETLINK_AUDIT) bound to AUDIT_NLGRP_READLOG receives
 * one message per record: nlmsg_type is the record type (1326 AUDIT_SECCOMP) and the payload the text
 * the kernel log shows after "audit: type=1326 " ("audit(SEC.MSEC:SERIAL): auid=..."), not always
 * NUL-terminated. Binding needs CAP_AUDIT_READ; the kernel multicasts only in the initial network
 * namespace (kernel/audit.c kauditd_send_multicast_skb), so a socket bound elsewhere receives nothing
 * and cannot tell: audit_netlink_in_initial_netns() is how a reader finds out. Nonblocking; the
 * caller polls the fd. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct AuditNetlink AuditNetlink;

/* Opens and binds the socket, asking for a receive buffer of 4 MiB (the kernel caps it at
 * net.core.rmem_max). Errors: -EPERM without CAP_AUDIT_READ; -EINVAL or -EPERM from socket() when a
 * seccomp filter refuses audit sockets (the runtime default profile, without CAP_AUDIT_WRITE);
 * -EPROTONOSUPPORT on a kernel without audit. */
int audit_netlink_open(AuditNetlink **ret);
AuditNetlink *audit_netlink_free(AuditNetlink *n);
static inline void audit_netlink_freep(AuditNetlink **n)
{
        if (*n)
                (void) audit_netlink_free(*n);
}
int audit_netlink_fd(const AuditNetlink *n);

/* Called with each record as one line in the kernel-log shape audit_parse_line() reads:
 * "audit: type=TYPE PAYLOAD" (TYPE decimal, trailing NULs and newlines of the payload dropped).
 * The line is valid during the call only. Returning < 0 stops the drain with that error. */
typedef int (*AuditNetlinkLineFn)(const char *line, size_t len, void *userdata);

/* Receives every message queued now (until EAGAIN), calling fn for each. A receive that fails with
 * ENOBUFS (the socket's buffer overflowed: the kernel dropped messages for this socket) is counted
 * in audit_netlink_overruns() and the drain goes on. Returns the number of messages, or a negative
 * errno (fn's, or the socket's). */
int audit_netlink_drain(AuditNetlink *n, AuditNetlinkLineFn fn, void *userdata);
uint64_t audit_netlink_overruns(const AuditNetlink *n);

/* One message as a line: "audit: type=TYPE " + payload without its trailing NULs and newlines.
 * Returns the length written (NUL-terminated), or -ENOBUFS when it does not fit in size. Pure; the
 * drain uses it, and tests call it. */
int audit_netlink_format_line(uint16_t type, const char *payload, size_t len, char *buf, size_t size);

/* Whether this process's network namespace is PID 1's (/proc/self/ns/net and /proc/1/ns/net, by
 * device and inode): 1 yes, 0 no (the socket will receive nothing), negative errno when either cannot
 * be read (no hostPID: /proc/1 is the container's own init, so 1 proves nothing then; the caller says
 * so). Two more witnesses answer where PID 1 cannot: init_net's fixed inode (Linux 6.18 and later,
 * NET_NS_INIT_INO: 1 whatever PID 1 says), and kthreadd (PID 2, a kernel thread, so in init_net)
 * when PID 1's link refuses to be read (EACCES/EPERM: a non-dumpable PID 1, or no CAP_SYS_PTRACE). */
int audit_netlink_in_initial_netns(void);
