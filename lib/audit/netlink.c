/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <limits.h>
#include <linux/audit.h>
#include <linux/netlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "netlink.h"
#include "shared/macro.h"

#define RCVBUF_BYTES (4 * 1024 * 1024)
/* One receive: the kernel's audit records are at most MAX_AUDIT_MESSAGE_LENGTH (8970) bytes. */
#define RECV_BYTES (64 * 1024)
/* "audit: type=65535 " in front of the payload. */
#define LINE_BYTES (RECV_BYTES + 32)

/* The fixed inode of the initial network namespace, since Linux 6.18 (include/uapi/linux/nsfs.h
 * NET_NS_INIT_INO); every other namespace, and init_net on older kernels, gets one from
 * 0xF0000000 up (proc_alloc_inum), so this number can only be init_net's. */
#define NET_NS_INIT_INO 0xEFFFFFF9U

struct AuditNetlink {
        int fd;
        uint64_t overruns;
        /* Both buffers live as long as the socket: a drain allocates nothing. */
        char recv[RECV_BYTES];
        char line[LINE_BYTES];
};

int audit_netlink_open(AuditNetlink **ret)
{
        struct sockaddr_nl addr = {
                .nl_family = AF_NETLINK,
                .nl_groups = 1U << (AUDIT_NLGRP_READLOG - 1),
        };
        int size = RCVBUF_BYTES;

        _cleanup_close_ int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_AUDIT);
        if (fd < 0)
                return -errno;
        /* The group's traffic comes in bursts (a container start is hundreds of records at once):
         * what the buffer cannot hold is dropped for this socket, and the next receive says ENOBUFS. */
        if (setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size)) < 0)
                return -errno;
        /* kernel/audit.c audit_multicast_bind: CAP_AUDIT_READ, or EPERM. */
        if (bind(fd, (struct sockaddr *) &addr, sizeof(addr)) < 0)
                return -errno;
        AuditNetlink *n = malloc(sizeof(*n));
        if (!n)
                return -ENOMEM;
        n->fd = TAKE_FD(fd);
        n->overruns = 0;
        *ret = n;
        return 0;
}

AuditNetlink *audit_netlink_free(AuditNetlink *n)
{
        if (!n)
                return NULL;
        if (n->fd >= 0)
                (void) close(n->fd);
        free(n);
        return NULL;
}

int audit_netlink_fd(const AuditNetlink *n)
{
        return n->fd;
}

uint64_t audit_netlink_overruns(const AuditNetlink *n)
{
        return n->overruns;
}

int audit_netlink_format_line(uint16_t type, const char *payload, size_t len, char *buf, size_t size)
{
        /* audit_log_end leaves the record's NUL in the payload; some records end in a newline. */
        while (len > 0 && (payload[len - 1] == '\0' || payload[len - 1] == '\n'))
                len--;
        int k = snprintf(buf, size, "audit: type=%u ", (unsigned) type);
        if (k < 0 || (size_t) k >= size || len > size - (size_t) k - 1 || len > INT_MAX - (size_t) k)
                return -ENOBUFS;
        memcpy(buf + k, payload, len);
        buf[(size_t) k + len] = '\0';
        return k + (int) len;
}

/* One datagram: the messages in it, each handed to fn as a line. */
static int dispatch(AuditNetlink *n, size_t len, AuditNetlinkLineFn fn, void *userdata, int *count)
{
        int remaining = (int) len;

        for (struct nlmsghdr *h = (struct nlmsghdr *) n->recv; NLMSG_OK(h, remaining);
             h = NLMSG_NEXT(h, remaining)) {
                /* The multicast copy has a correct nlmsg_len, header included, unlike the unicast
                 * one auditd reads (kernel/audit.c kauditd_send_multicast_skb). */
                if (h->nlmsg_type == NLMSG_ERROR || h->nlmsg_type == NLMSG_NOOP ||
                    h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_OVERRUN)
                        continue;
                int k = audit_netlink_format_line(h->nlmsg_type, NLMSG_DATA(h), h->nlmsg_len - NLMSG_HDRLEN,
                                                  n->line, sizeof(n->line));
                if (k < 0)
                        continue; /* cannot happen: the line buffer is larger than a receive */
                int r = fn(n->line, (size_t) k, userdata);
                if (r < 0)
                        return r;
                if (*count < INT_MAX)
                        (*count)++;
        }
        return 0;
}

int audit_netlink_drain(AuditNetlink *n, AuditNetlinkLineFn fn, void *userdata)
{
        int count = 0;

        for (;;) {
                struct sockaddr_nl from = {};
                struct iovec iov = {.iov_base = n->recv, .iov_len = sizeof(n->recv)};
                struct msghdr msg = {
                        .msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = &iov, .msg_iovlen = 1};
                ssize_t k = recvmsg(n->fd, &msg, MSG_DONTWAIT);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                        return count;
                if (k < 0 && errno == ENOBUFS) {
                        /* The socket's buffer overflowed: the kernel dropped records for us (and the
                         * audit serials will show the gap). It then takes nothing at all until it has
                         * been read empty (af_netlink.c NETLINK_S_CONGESTED): so on to EAGAIN. */
                        n->overruns++;
                        continue;
                }
                if (k < 0)
                        return -errno;
                /* Only the kernel (port 0) speaks for the audit group; with CAP_NET_ADMIN a process
                 * could send to it too. A truncated datagram is not a record. */
                if (msg.msg_namelen != sizeof(from) || from.nl_pid != 0 || (msg.msg_flags & MSG_TRUNC))
                        continue;
                int r = dispatch(n, (size_t) k, fn, userdata, &count);
                if (r < 0)
                        return r;
        }
}

static bool same_file(const struct stat *a, const struct stat *b)
{
        return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/* PID 2 in the initial PID namespace is kthreadd (its parent: none), and every kernel thread runs in
 * init_net. */
static bool pid2_is_kthreadd(void)
{
        char buf[64] = "", comm[16], state;
        int pid, ppid;
        FILE *f = fopen("/proc/2/stat", "re");
        if (!f)
                return false;
        size_t k = fread(buf, 1, sizeof(buf) - 1, f);
        (void) fclose(f);
        buf[k] = '\0';
        return sscanf(buf, "%d (%15[^)]) %c %d", &pid, comm, &state, &ppid) == 4 && pid == 2 &&
               strcmp(comm, "kthreadd") == 0 && ppid == 0;
}

int audit_netlink_in_initial_netns(void)
{
        struct stat self, init;

        if (stat("/proc/self/ns/net", &self) < 0)
                return -errno;
        if ((uint32_t) self.st_ino == NET_NS_INIT_INO)
                return 1;
        if (stat("/proc/1/ns/net", &init) >= 0)
                return same_file(&self, &init);
        int r = -errno;
        /* Reading another process's namespace links needs ptrace read access (proc_ns_get_link):
         * a PID 1 that made itself non-dumpable refuses it even to root. A kernel thread is
         * always in init_net; ask kthreadd instead. */
        if ((r == -EACCES || r == -EPERM) && pid2_is_kthreadd() && stat("/proc/2/ns/net", &init) >= 0)
                return same_file(&self, &init);
        return r;
}
