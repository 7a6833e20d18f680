/* SPDX-License-Identifier: Apache-2.0 */
/* seccompd record: kernel SECCOMP audit records → a profile that runs the workload.
 *
 * Sources: the kernel's audit multicast group (live and lossless: the default with --follow where it
 * can be read), /dev/kmsg (what the printk rate limit lets through; the default without --follow, as
 * only it has a past), the journal, files and standard input. --pod attributes records to a pod's
 * containers (record-pod.c).
 *
 * Signals: SIGINT and SIGTERM stay blocked, and are let in only while waiting for input (ppoll), so a
 * stop is seen between two reads and never in the middle of one: the profile is then printed, and the
 * printk rate limit restored, on every way out but SIGKILL. A one-shot verb waiting on one fd needs no
 * event loop of its own; --pod's requests run on an sd-event loop whose fd is polled beside the input
 * (wait_fd). */
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-journal.h>
#include <time.h>

#include "baseline.h"
#include "netlink.h"
#include "record-pod.h"
#include "recorder.h"
#include "shared/fileio.h"
#include "shared/macro.h"
#include "tables.h"
#include "validate.h"
#include "verbs.h"

#define PRINTK_RATELIMIT "/proc/sys/kernel/printk_ratelimit"
/* Where deploy/ and the chart's documented install put seccompd, and so where it watches ConfigMaps
 * by default (deploy/base/namespace.yaml; charts/seccompd: the release namespace). */
#define SECCOMPD_NAMESPACE "seccompd-system"
#define LINE_MAX_BYTES     (64 * 1024)

static volatile sig_atomic_t stop_signal;

static void on_stop_signal(int sig)
{
        stop_signal = sig;
}

typedef struct Filters {
        const char **comms, **exes, **containers;
        size_t n_comms, n_exes, n_containers;
        int64_t *pids;
        size_t n_pids;
        bool has_since;
        uint64_t since_msec;
} Filters;

/* /proc/PID/cgroup verdicts, so each process is read once. */
typedef struct PidVerdict {
        int64_t pid;
        bool matches;
} PidVerdict;

typedef enum SourceKind {
        SOURCE_KMSG,
        SOURCE_AUDIT,
        SOURCE_JOURNAL,
        SOURCE_FILE, /* a file or standard input */
} SourceKind;

typedef struct Recording {
        AuditRecorder *recorder;
        const Filters *filters;
        RecordPod *pod; /* --pod: records go to its containers; borrowed */
        SourceKind kind;
        bool follow;
        bool started;     /* --since: the first record at or after it was seen */
        bool warned_loss; /* --follow: the loss was announced */
        PidVerdict *pid_verdicts;
        size_t n_pid_verdicts;
        uint64_t unattributed; /* container filter: the process was gone */
        uint64_t overruns;     /* audit: the socket's ENOBUFS count already told to the recorder */
        unsigned drained;      /* audit: lines since the last look for a stop signal */
        sigset_t wait_mask;    /* the mask while waiting: SIGINT and SIGTERM let in */
} Recording;

static void help(void)
{
        printf("Usage: seccompd record [OPTIONS...]\n"
               "\n"
               "Turn the kernel's SECCOMP audit records into a profile that runs the workload. Run the\n"
               "workload under an audit profile ({\"defaultAction\":\"SCMP_ACT_LOG\"}) first, or while\n"
               "recording with --follow. Records that are not LOG (ERRNO, KILL, ...) are reported as\n"
               "enforcement events and never allowed. Lost records (rate limits, serial gaps) are "
               "reported.\n"
               "\n"
               "Options:\n"
               "     --from SOURCE      audit, kmsg, journal[:FILE|DIR], FILE, or - (stdin). Default: with\n"
               "                        --follow audit where it can be read, else kmsg; without, kmsg\n"
               "                        audit: the kernel's audit multicast group, live, no rate limit\n"
               "                        (CAP_AUDIT_READ, the host's network namespace); stop with Ctrl-C\n"
               "                        kmsg: /dev/kmsg, thinned by the printk rate limit\n"
               "                        FILE: syslog, dmesg, audit.log (also ENRICHED) or journal export\n"
               "     --follow           Keep reading new records until SIGINT, then print the profile\n"
               "                        (kmsg, journal: only records written from now on, or --since)\n"
               "     --unthrottle       kmsg: set kernel.printk_ratelimit=0 while recording, restore it\n"
               "     --comm NAME        Only records of this command name (repeatable)\n"
               "     --exe PATH         Only records of this executable (repeatable)\n"
               "     --pid PID          Only records of this process (repeatable)\n"
               "     --container ID     Only records of this container (ID prefix; live processes only,\n"
               "                        through /proc/PID/cgroup) (repeatable)\n"
               "     --pod NS/NAME      Only records of this Kubernetes pod's containers (live processes,\n"
               "                        by /proc/PID/cgroup); with it, --container NAME picks containers\n"
               "     --kubeconfig FILE  For --pod (else KUBECONFIG, else the service account)\n"
               "     --since TIME       Only records from TIME on: @EPOCH, YYYY-MM-DD[ HH:MM[:SS]] "
               "(local),\n"
               "                        or -DURATION such as -10min, -2h\n"
               "     --baseline NAME    runc (default), crun or none: the runtime's own start-up syscalls\n"
               "     --merge PROFILE    Union with an existing profile\n"
               "     --default-action A The profile's defaultAction (default SCMP_ACT_ERRNO)\n"
               "     --configmap NAME   Print a ConfigMap manifest (key NAME.json) for kubectl apply\n"
               "     --namespace NS     The ConfigMap's namespace (default: " SECCOMPD_NAMESPACE ", where\n"
               "                        deploy/ and the chart run seccompd)\n"
               "  -o --output FILE     Write to FILE (atomically) instead of standard output\n"
               "  -h --help            Show this help\n"
               "\n"
               "Filters of one kind are alternatives; different kinds must all match.\n"
               "Exit status: 0 profile written (also with warnings about lost records), 1 no record\n"
               "matched, 2 usage or I/O error.\n");
}

/* "@1700000000", "2024-05-01 10:00[:00]" or "2024-05-01T10:00:00" (local time), "2024-05-01",
 * "-90s", "-10min", "-2h", "-1d". */
static int parse_since(const char *s, uint64_t *ret_msec)
{
        char *end = NULL;
        struct tm tm = {.tm_isdst = -1};
        const char *p;

        if (s[0] == '@') {
                errno = 0;
                unsigned long long v = strtoull(s + 1, &end, 10);
                if (errno != 0 || end == s + 1 || *end)
                        return -EINVAL;
                *ret_msec = (uint64_t) v * 1000;
                return 0;
        }
        if (s[0] == '-') {
                static const struct {
                        const char *unit;
                        uint64_t sec;
                } units[] = {{"s", 1}, {"sec", 1}, {"m", 60}, {"min", 60}, {"h", 3600}, {"d", 86400}};
                errno = 0;
                unsigned long long v = strtoull(s + 1, &end, 10);
                if (errno != 0 || end == s + 1)
                        return -EINVAL;
                for (size_t i = 0; i < ELEMENTSOF(units); i++)
                        if (strcmp(end, units[i].unit) == 0) {
                                uint64_t now = (uint64_t) time(NULL);
                                uint64_t back = (uint64_t) v * units[i].sec;
                                *ret_msec = (back > now ? 0 : now - back) * 1000;
                                return 0;
                        }
                return -EINVAL;
        }
        if ((p = strptime(s, "%Y-%m-%d", &tm)) && (*p == ' ' || *p == 'T') &&
            ((end = strptime(p + 1, "%H:%M:%S", &tm)) || (end = strptime(p + 1, "%H:%M", &tm))))
                p = end;
        if (!p || *p)
                return -EINVAL;
        time_t t = mktime(&tm);
        if (t == (time_t) -1)
                return -EINVAL;
        *ret_msec = (uint64_t) t * 1000;
        return 0;
}

/* RFC 1123, as Kubernetes checks names: a label (namespaces, container names: 63, no dots) or a
 * subdomain (pod names: 253). */
static bool dns_name(const char *s, size_t max, bool dots)
{
        size_t n = strlen(s);
        if (n == 0 || n > max)
                return false;
        for (size_t i = 0; i < n; i++) {
                bool alnum = (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9');
                if ((!alnum && s[i] != '-' && !(dots && s[i] == '.')) || (!alnum && (i == 0 || i == n - 1)))
                        return false;
        }
        return true;
}

static bool dns_label(const char *s)
{
        return dns_name(s, 63, false);
}

static bool dns_subdomain(const char *s)
{
        return dns_name(s, 253, true);
}

static bool container_matches(Recording *rec, int64_t pid)
{
        const Filters *f = rec->filters;
        char path[64];
        _cleanup_free_ char *cgroup = NULL;
        size_t len;

        for (size_t i = 0; i < rec->n_pid_verdicts; i++)
                if (rec->pid_verdicts[i].pid == pid)
                        return rec->pid_verdicts[i].matches;
        (void) snprintf(path, sizeof(path), "/proc/%lld/cgroup", (long long) pid);
        if (pid <= 0 || read_full_file(path, 64 * 1024, &cgroup, &len) < 0) {
                /* Gone already: a record of an exited process cannot be attributed (and its pid may
                 * be reused, so the verdict is not kept). */
                rec->unattributed++;
                return false;
        }
        bool matches = false;
        for (size_t i = 0; i < f->n_containers && !matches; i++)
                matches = audit_cgroup_matches_container(cgroup, f->containers[i]);
        PidVerdict *v = realloc(rec->pid_verdicts, (rec->n_pid_verdicts + 1) * sizeof(PidVerdict));
        if (v) {
                rec->pid_verdicts = v;
                v[rec->n_pid_verdicts++] = (PidVerdict){pid, matches};
        }
        return matches;
}

static bool record_matches(Recording *rec, const AuditRecord *r)
{
        const Filters *f = rec->filters;
        bool ok;

        if (f->n_comms > 0) {
                ok = false;
                /* The kernel keeps 15 bytes of a command name (TASK_COMM_LEN). */
                for (size_t i = 0; i < f->n_comms && !ok; i++)
                        ok = strncmp(r->comm, f->comms[i], AUDIT_COMM_MAX - 1) == 0;
                if (!ok)
                        return false;
        }
        if (f->n_exes > 0) {
                ok = false;
                for (size_t i = 0; i < f->n_exes && !ok; i++)
                        ok = strcmp(r->exe, f->exes[i]) == 0;
                if (!ok)
                        return false;
        }
        if (f->n_pids > 0) {
                ok = false;
                for (size_t i = 0; i < f->n_pids && !ok; i++)
                        ok = r->pid == f->pids[i];
                if (!ok)
                        return false;
        }
        if (f->n_containers > 0 && !container_matches(rec, r->pid))
                return false;
        return true;
}

static void warn_loss_once(Recording *rec)
{
        if (rec->follow && !rec->warned_loss && audit_recorder_lost_evidence(rec->recorder)) {
                /* Said at once, so that whoever watches knows before stopping; details at the end. */
                fprintf(stderr,
                        "seccompd record: warning: records were lost (details when recording stops)\n");
                rec->warned_loss = true;
        }
}

/* One line from any source. serial_hint/time_hint: what the journal knows of an audit-transport
 * entry, whose MESSAGE carries no stamp. */
static int process_line(Recording *rec, const char *line, size_t len, const AuditRecord *hint)
{
        AuditRecord r;
        AuditLineKind kind = audit_parse_line(line, len, &r);
        const char *name = NULL;

        if (hint && (kind == AUDIT_LINE_SECCOMP || kind == AUDIT_LINE_AUDIT) && !r.has_time &&
            hint->has_time) {
                r.has_time = true;
                r.time_msec = hint->time_msec;
                r.serial = hint->serial;
        }
        if (rec->filters->has_since && !rec->started) {
                /* Nothing before TIME counts, not even its losses. */
                if (!r.has_time || r.time_msec < rec->filters->since_msec)
                        return 0;
                rec->started = true;
        }
        bool fresh = audit_recorder_observe(rec->recorder, kind, &r);
        warn_loss_once(rec);
        if (!fresh || kind != AUDIT_LINE_SECCOMP)
                return 0;
        if (!record_matches(rec, &r))
                return 0;
        if (rec->pod) {
                int k = record_pod_add(rec->pod, &r);
                return k < 0 ? k : 0;
        }
        int k = audit_recorder_add(rec->recorder, &r, &name);
        if (k < 0)
                return k;
        if (k > 0 && rec->follow) {
                const ArchInfo *a = arch_from_token(r.arch);
                fprintf(stderr, "seccompd record: + %s (%s, %s)\n", name, a ? a->name : "?", r.comm);
        }
        return 0;
}

/* Waits until fd is readable (or the timeout passed) or a stop signal came: 1 readable or timed out, 0
 * stopped. With --pod, the pod's requests are served meanwhile. */
static int wait_fd(Recording *rec, int fd, short events, int timeout_msec)
{
        struct pollfd p[2] = {
                {.fd = fd, .events = events},
                {.fd = rec->pod ? record_pod_fd(rec->pod) : -1, .events = POLLIN},
        };
        struct timespec ts = {timeout_msec / 1000, (long) (timeout_msec % 1000) * 1000000L};

        for (;;) {
                if (stop_signal)
                        return 0;
                if (rec->pod)
                        record_pod_process(rec->pod);
                int n = ppoll(p, rec->pod ? 2 : 1, timeout_msec < 0 ? NULL : &ts, &rec->wait_mask);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (stop_signal)
                        return 0;
                if (n == 0 || p[0].revents)
                        return 1;
        }
}

/* Lines of a file or pipe, in chunks; a line longer than LINE_MAX_BYTES is not a record. */
static int read_lines(Recording *rec, int fd)
{
        _cleanup_free_ char *buf = malloc(LINE_MAX_BYTES * 2);
        size_t have = 0;
        bool skipping = false;

        if (!buf)
                return -ENOMEM;
        for (;;) {
                int w = wait_fd(rec, fd, POLLIN, -1);
                if (w <= 0)
                        return w;
                ssize_t n = read(fd, buf + have, LINE_MAX_BYTES * 2 - have);
                if (n < 0 && (errno == EINTR || errno == EAGAIN))
                        continue;
                if (n < 0)
                        return -errno;
                have += (size_t) n;
                size_t start = 0;
                for (;;) {
                        char *nl = memchr(buf + start, '\n', have - start);
                        if (!nl && n > 0 && have - start < LINE_MAX_BYTES)
                                break;
                        size_t end = nl ? (size_t) (nl - buf) : have;
                        if (!nl && end == start)
                                break;
                        if (!skipping) {
                                int r = process_line(rec, buf + start, end - start, NULL);
                                if (r < 0)
                                        return r;
                        }
                        skipping = !nl; /* an overlong line: the rest of it is skipped too */
                        start = nl ? end + 1 : end;
                        if (!nl)
                                break;
                }
                memmove(buf, buf + start, have - start);
                have -= start;
                if (n == 0)
                        return 0;
        }
}

static int set_printk_ratelimit(const char *value)
{
        _cleanup_close_ int fd = open(PRINTK_RATELIMIT, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        size_t n = strlen(value);
        if (write(fd, value, n) != (ssize_t) n)
                return negative_errno();
        return 0;
}

/* /dev/kmsg (Documentation/ABI/testing/dev-kmsg): one record per read; EPIPE when the next record was
 * overwritten (the read position then moves to the oldest one still there); EAGAIN at the end. */
static int read_kmsg(Recording *rec)
{
        _cleanup_close_ int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        char buf[16384];
        unsigned drained = 0;

        if (fd < 0)
                return -errno;
        /* Without --follow: what dmesg shows (SEEK_DATA: after the last "dmesg --clear"). With it:
         * only what happens from now on (SEEK_END), unless --since asks for the past too. */
        if (lseek(fd, 0, rec->follow && !rec->filters->has_since ? SEEK_END : SEEK_DATA) < 0)
                return -errno;
        if (rec->follow)
                fprintf(stderr, "seccompd record: recording from /dev/kmsg; stop with Ctrl-C (SIGINT)\n");
        for (;;) {
                ssize_t n = read(fd, buf, sizeof(buf) - 1);
                if (n < 0 && errno == EPIPE) {
                        audit_recorder_note_kmsg_overrun(rec->recorder);
                        continue;
                }
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN) {
                        if (!rec->follow)
                                return 0;
                        int w = wait_fd(rec, fd, POLLIN, -1);
                        if (w <= 0)
                                return w;
                        continue;
                }
                if (n < 0)
                        return -errno;
                int r = process_line(rec, buf, (size_t) n, NULL);
                if (r < 0)
                        return r;
                /* A busy log may never run dry: let a pending SIGINT in now and then. */
                if (++drained % 256 == 0 && wait_fd(rec, fd, POLLIN, 0) == 0)
                        return 0;
        }
}

static bool stop_pending(void)
{
        sigset_t pending;
        return sigpending(&pending) == 0 &&
               (sigismember(&pending, SIGINT) == 1 || sigismember(&pending, SIGTERM) == 1);
}

static int on_audit_line(const char *line, size_t len, void *userdata)
{
        Recording *rec = userdata;
        int r = process_line(rec, line, len, NULL);
        if (r < 0)
                return r;
        /* A busy group may never run dry: stop the drain for a pending SIGINT now and then. */
        if (++rec->drained % 256 == 0 && stop_pending())
                return -EINTR;
        return 0;
}

/* The audit multicast group: only what the kernel sends from now on (it keeps no past), every record
 * type, so the serials show any gap. */
static int read_audit(Recording *rec, AuditNetlink *n)
{
        /* Live, from several CPUs: serials may come out of order. */
        audit_recorder_set_reorder_window(rec->recorder);
        fprintf(stderr, "seccompd record: recording from the audit multicast group (lossless); stop with "
                        "Ctrl-C\n");
        for (;;) {
                int w = wait_fd(rec, audit_netlink_fd(n), POLLIN, -1);
                if (w <= 0)
                        return w;
                int r = audit_netlink_drain(n, on_audit_line, rec);
                uint64_t overruns = audit_netlink_overruns(n);
                audit_recorder_note_netlink_overrun(rec->recorder, overruns - rec->overruns);
                rec->overruns = overruns;
                warn_loss_once(rec);
                if (r < 0 && r != -EINTR)
                        return r;
        }
}

/* Why the audit group cannot be read from here, for the line that says so. */
static const char *audit_problem(int error)
{
        switch (error) {
        case -EPERM:
                return "EPERM: binding it needs CAP_AUDIT_READ (and in a container, a seccomp profile "
                       "may refuse audit sockets without CAP_AUDIT_WRITE)";
        case -EINVAL:
                return "EINVAL: a seccomp filter refuses audit sockets (a container runtime's default "
                       "profile does, without CAP_AUDIT_WRITE)";
        case -EPROTONOSUPPORT:
                return "EPROTONOSUPPORT: this kernel has no audit (CONFIG_AUDIT)";
        case -ENETUNREACH:
                return "this process is not in the initial network namespace, the only one the kernel "
                       "sends audit records to (a pod needs hostNetwork: true)";
        default:
                return strerror(-error);
        }
}

/* The audit group, where it can be read from: 0, or a negative errno for audit_problem() (-ENETUNREACH:
 * another network namespace, where the socket would receive nothing). */
static int open_audit(AuditNetlink **ret)
{
        _cleanup_(audit_netlink_freep) AuditNetlink *n = NULL;
        int r = audit_netlink_open(&n);
        if (r < 0)
                return r;
        r = audit_netlink_in_initial_netns();
        if (r == 0)
                return -ENETUNREACH;
        if (r < 0)
                fprintf(stderr,
                        "seccompd record: warning: cannot tell whether this is the initial network "
                        "namespace "
                        "(/proc/1/ns/net: %s); the audit group receives records only there\n",
                        strerror(-r));
        *ret = TAKE_PTR(n);
        return 0;
}

static int journal_field(sd_journal *j, const char *field, const char **ret, size_t *ret_len)
{
        const void *data;
        size_t len, k = strlen(field);
        int r = sd_journal_get_data(j, field, &data, &len);
        if (r < 0)
                return r;
        if (len <= k || memcmp(data, field, k) != 0 || ((const char *) data)[k] != '=')
                return -EBADMSG;
        *ret = (const char *) data + k + 1;
        *ret_len = len - k - 1;
        return 0;
}

static int journal_entry(Recording *rec, sd_journal *j)
{
        const char *msg, *ident, *id;
        size_t msg_len, ident_len, id_len;
        AuditRecord hint = {};
        uint64_t usec;

        if (journal_field(j, "MESSAGE", &msg, &msg_len) < 0)
                return 0;
        /* journald moves a kernel message's "audit:" or "kauditd_printk_skb:" prefix into
         * SYSLOG_IDENTIFIER; put it back so the line reads as the kernel wrote it. */
        size_t cap = msg_len + 256;
        _cleanup_free_ char *line = malloc(cap);
        if (!line)
                return -ENOMEM;
        size_t n = 0;
        const char *transport;
        size_t transport_len;
        bool kernel = journal_field(j, "_TRANSPORT", &transport, &transport_len) >= 0 &&
                      transport_len == 6 && memcmp(transport, "kernel", 6) == 0;
        if (kernel && journal_field(j, "SYSLOG_IDENTIFIER", &ident, &ident_len) >= 0 && ident_len < 200) {
                memcpy(line, ident, ident_len);
                memcpy(line + ident_len, ": ", 2);
                n = ident_len + 2;
        }
        memcpy(line + n, msg, msg_len);
        n += msg_len;
        /* The audit transport keeps the stamp of audit(TIME:SERIAL) in fields (journald-audit.c). */
        if (journal_field(j, "_AUDIT_ID", &id, &id_len) >= 0 && id_len < 21) {
                char num[24];
                memcpy(num, id, id_len);
                num[id_len] = '\0';
                hint.serial = strtoull(num, NULL, 10);
                if (journal_field(j, "_SOURCE_REALTIME_TIMESTAMP", &id, &id_len) >= 0 && id_len < 21) {
                        memcpy(num, id, id_len);
                        num[id_len] = '\0';
                        hint.time_msec = strtoull(num, NULL, 10) / 1000;
                        hint.has_time = true;
                } else if (sd_journal_get_realtime_usec(j, &usec) >= 0) {
                        hint.time_msec = usec / 1000;
                        hint.has_time = true;
                }
        }
        return process_line(rec, line, n, &hint);
}

/* The journal: entries of the kernel transport (kmsg, where kauditd prints without auditd) and of
 * the audit transport (journald's own audit socket). */
static int read_journal(Recording *rec, const char *where)
{
        sd_journal *j = NULL;
        struct stat st;
        int r;

        if (!where)
                r = sd_journal_open(&j, SD_JOURNAL_LOCAL_ONLY);
        else if (stat(where, &st) < 0)
                return -errno;
        else if (S_ISDIR(st.st_mode))
                r = sd_journal_open_directory(&j, where, 0);
        else {
                const char *paths[] = {where, NULL};
                r = sd_journal_open_files(&j, paths, 0);
        }
        if (r < 0)
                return r;
        if ((r = sd_journal_add_match(j, "_TRANSPORT=kernel", 0)) < 0 ||
            (r = sd_journal_add_disjunction(j)) < 0 ||
            (r = sd_journal_add_match(j, "_TRANSPORT=audit", 0)) < 0)
                goto finish;
        if (rec->filters->has_since)
                r = sd_journal_seek_realtime_usec(j, rec->filters->since_msec * 1000);
        else if (rec->follow)
                r = sd_journal_seek_tail(j);
        else
                r = sd_journal_seek_head(j);
        if (r < 0)
                goto finish;
        if (rec->follow && !rec->filters->has_since)
                (void) sd_journal_previous(j); /* after the tail: the next entry is a new one */
        if (rec->follow)
                fprintf(stderr, "seccompd record: recording from the journal; stop with Ctrl-C (SIGINT)\n");
        for (;;) {
                r = sd_journal_next(j);
                if (r < 0)
                        goto finish;
                if (r > 0) {
                        r = journal_entry(rec, j);
                        if (r < 0)
                                goto finish;
                        continue;
                }
                if (!rec->follow)
                        break;
                int fd = sd_journal_get_fd(j), events = sd_journal_get_events(j);
                uint64_t timeout = UINT64_MAX;
                if (fd < 0 || events < 0) {
                        r = fd < 0 ? fd : events;
                        goto finish;
                }
                (void) sd_journal_get_timeout(j, &timeout);
                int w = wait_fd(rec, fd, (short) events, timeout == UINT64_MAX ? 1000 : 250);
                if (w <= 0) {
                        r = w;
                        goto finish;
                }
                (void) sd_journal_process(j);
        }
        r = 0;
finish:
        sd_journal_close(j);
        return r;
}

static int write_output(const char *path, const char *text)
{
        _cleanup_free_ char *tmp = NULL;
        size_t len = strlen(text);

        if (!path) {
                fputs(text, stdout);
                return fflush(stdout) == 0 ? 0 : -EIO;
        }
        if (asprintf(&tmp, "%s.XXXXXX", path) < 0)
                return -ENOMEM;
        _cleanup_close_ int fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0)
                return -errno;
        int r = fchmod(fd, 0644) < 0 ? -errno : 0;
        for (size_t off = 0; r == 0 && off < len;) {
                ssize_t n = write(fd, text + off, len - off);
                if (n < 0)
                        r = -errno;
                else
                        off += (size_t) n;
        }
        if (r == 0 && fsync(fd) < 0)
                r = -errno;
        if (r == 0 && rename(tmp, path) < 0)
                r = -errno;
        if (r < 0)
                (void) unlink(tmp);
        return r;
}

static void report_loss(const AuditStats *s, SourceKind kind)
{
        fprintf(stderr, "warning: records were lost, the profile is probably incomplete:\n");
        if (s->serial_missing > 0)
                fprintf(stderr,
                        "  audit serials skip %llu record%s in %llu place%s (first after serial %llu)%s\n",
                        (unsigned long long) s->serial_missing, s->serial_missing == 1 ? "" : "s",
                        (unsigned long long) s->serial_gaps, s->serial_gaps == 1 ? "" : "s",
                        (unsigned long long) s->serial_gap_after,
                        kind == SOURCE_FILE
                                ? "; if the input was filtered (grep), other record types explain some"
                                : "");
        if (s->suppressed_lines > 0)
                fprintf(stderr, "  kauditd_printk_skb: %llu callbacks suppressed (the printk rate limit)\n",
                        (unsigned long long) s->suppressed);
        if (s->lost_lines > 0)
                fprintf(stderr,
                        "  the kernel reported lost audit records (audit_lost=%llu, backlog or rate "
                        "limit)\n",
                        (unsigned long long) s->audit_lost);
        if (s->kmsg_missing > 0 || s->kmsg_overruns > 0)
                fprintf(stderr, "  the kernel log buffer was overwritten: %llu message%s never read\n",
                        (unsigned long long) (s->kmsg_missing + s->kmsg_overruns),
                        s->kmsg_missing + s->kmsg_overruns == 1 ? "" : "s");
        if (s->netlink_overruns > 0)
                fprintf(stderr,
                        "  the audit socket's buffer overflowed %llu time%s: the kernel dropped records for "
                        "this reader\n",
                        (unsigned long long) s->netlink_overruns, s->netlink_overruns == 1 ? "" : "s");
        if (kind == SOURCE_AUDIT) {
                /* No rate limit on this path: a gap is records the kernel numbered but could not send
                 * to this socket (ENOBUFS), or dropped on the way. */
                if (s->netlink_overruns > 0)
                        fprintf(stderr,
                                "  fix: the workload made records in a burst larger than this reader's "
                                "socket buffer: raise\n"
                                "  net.core.rmem_max (the socket asks for 4 MiB) and record again\n");
                else
                        fprintf(stderr,
                                "  fix: the workload made records faster than the kernel's audit backlog "
                                "holds them: raise\n"
                                "  audit_backlog_limit (auditctl -b 8192, or the boot parameter; default "
                                "64) and record again\n");
                return;
        }
        fprintf(stderr,
                "  fix: record with --follow from the audit multicast group (--from audit: no rate limit,\n"
                "  needs CAP_AUDIT_READ), or again with --unthrottle (kernel.printk_ratelimit=0 while\n"
                "  recording), or run auditd and record --from /var/log/audit/audit.log\n");
}

static void report(const Recording *rec)
{
        const AuditStats *s = audit_recorder_stats(rec->recorder);
        size_t n_events;
        const AuditEvent *events = audit_recorder_events(rec->recorder, &n_events);
        uint32_t arch;
        int64_t nr;

        fprintf(stderr,
                "seccompd record: %llu lines: %llu SECCOMP records, %llu matched (%llu LOG, %llu "
                "enforcement); "
                "%llu other lines, %llu malformed\n",
                (unsigned long long) s->lines, (unsigned long long) s->seccomp,
                (unsigned long long) s->matched, (unsigned long long) s->matched_log,
                (unsigned long long) s->matched_enforced, (unsigned long long) s->other,
                (unsigned long long) s->malformed);
        for (size_t i = 0; i < n_events; i++) {
                const AuditEvent *e = events + i;
                const ArchInfo *a = arch_from_token(e->arch);
                char buf[16];
                fprintf(stderr,
                        "enforcement: %s %s (%s, syscall %lld) by comm \"%s\" exe \"%s\" pid %lld, %llu "
                        "time%s: "
                        "not added to the profile\n",
                        audit_action_to_string(e->code, buf), e->name ? e->name : "?", a ? a->name : "?",
                        (long long) e->syscall, e->comm, e->exe, (long long) e->pid,
                        (unsigned long long) e->count, e->count == 1 ? "" : "s");
        }
        for (size_t i = 0; audit_recorder_unresolved(rec->recorder, i, &arch, &nr); i++)
                fprintf(stderr, "warning: libseccomp cannot name syscall %lld on arch 0x%08x: left out\n",
                        (long long) nr, arch);
        if (rec->unattributed > 0)
                fprintf(stderr,
                        "warning: %llu record%s came from processes that had exited: they could not be "
                        "matched "
                        "to a container\n",
                        (unsigned long long) rec->unattributed, rec->unattributed == 1 ? "" : "s");
        if (audit_recorder_lost_evidence(rec->recorder))
                report_loss(s, rec->kind);
}

/* The recorded profile must pass what seccompd validate checks, for the arch it was recorded on. */
static int check_profile(const char *json)
{
        ValidateOptions o = {.runtime = RUNTIME_CONTAINERD};
        const char *arch = strstr(json, "\"SCMP_ARCH_");
        char spec[32] = "";
        Verdict v;

        if (arch && sscanf(arch + 1, "%31[A-Z0-9_]", spec) == 1)
                o.arch = arch_from_spec(spec);
        if (!o.arch || o.arch->token == 0)
                o.arch = arch_from_token(seccomp_arch_native());
        int r = profile_validate(json, strlen(json), &o, &v);
        if (r < 0)
                return r;
        for (size_t i = 0; i < v.diagnostics.n; i++)
                diagnostic_print(stderr, "<recorded profile>", v.diagnostics.items + i, false);
        r = v.valid ? 0 : -EINVAL;
        verdict_clear(&v);
        return r;
}

int verb_record(int argc, char *argv[])
{
        enum {
                ARG_FROM = 0x100,
                ARG_FOLLOW,
                ARG_UNTHROTTLE,
                ARG_COMM,
                ARG_EXE,
                ARG_PID,
                ARG_CONTAINER,
                ARG_SINCE,
                ARG_BASELINE,
                ARG_MERGE,
                ARG_DEFAULT_ACTION,
                ARG_CONFIGMAP,
                ARG_NAMESPACE,
                ARG_POD,
                ARG_KUBECONFIG,
        };
        static const struct option options[] = {
                {"help", no_argument, NULL, 'h'},
                {"from", required_argument, NULL, ARG_FROM},
                {"follow", no_argument, NULL, ARG_FOLLOW},
                {"unthrottle", no_argument, NULL, ARG_UNTHROTTLE},
                {"comm", required_argument, NULL, ARG_COMM},
                {"exe", required_argument, NULL, ARG_EXE},
                {"pid", required_argument, NULL, ARG_PID},
                {"container", required_argument, NULL, ARG_CONTAINER},
                {"since", required_argument, NULL, ARG_SINCE},
                {"baseline", required_argument, NULL, ARG_BASELINE},
                {"merge", required_argument, NULL, ARG_MERGE},
                {"default-action", required_argument, NULL, ARG_DEFAULT_ACTION},
                {"configmap", required_argument, NULL, ARG_CONFIGMAP},
                {"namespace", required_argument, NULL, ARG_NAMESPACE},
                {"pod", required_argument, NULL, ARG_POD},
                {"kubeconfig", required_argument, NULL, ARG_KUBECONFIG},
                {"output", required_argument, NULL, 'o'},
                {},
        };
        _cleanup_(audit_recorder_freep) AuditRecorder *recorder = NULL;
        _cleanup_(audit_netlink_freep) AuditNetlink *netlink = NULL;
        _cleanup_(record_pod_freep) RecordPod *pod = NULL;
        _cleanup_free_ char *pod_namespace = NULL;
        _cleanup_free_ const char **comms = NULL, **exes = NULL, **containers = NULL;
        _cleanup_free_ int64_t *pids = NULL;
        _cleanup_free_ char *merge = NULL, *json = NULL, *manifest = NULL, *error = NULL,
                            *old_ratelimit = NULL;
        const char *from = NULL, *output = NULL, *configmap = NULL, *namespace = NULL, *merge_path = NULL;
        const char *default_action = NULL, *baseline_name = "runc", *pod_arg = NULL, *kubeconfig = NULL;
        bool follow = false, unthrottle = false;
        Filters f = {};
        size_t merge_len = 0;
        int c, r, status;

        comms = calloc((size_t) argc, sizeof(char *));
        exes = calloc((size_t) argc, sizeof(char *));
        containers = calloc((size_t) argc, sizeof(char *));
        pids = calloc((size_t) argc, sizeof(int64_t));
        if (!comms || !exes || !containers || !pids)
                return EXIT_USAGE;
        optind = 0;
        opterr = 0;
        while ((c = getopt_long(argc, argv, ":ho:", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return EXIT_OK;
                case ARG_FROM:
                        from = optarg;
                        break;
                case ARG_FOLLOW:
                        follow = true;
                        break;
                case ARG_UNTHROTTLE:
                        unthrottle = true;
                        break;
                case ARG_COMM:
                        comms[f.n_comms++] = optarg;
                        break;
                case ARG_EXE:
                        exes[f.n_exes++] = optarg;
                        break;
                case ARG_PID: {
                        char *end = NULL;
                        errno = 0;
                        long long v = strtoll(optarg, &end, 10);
                        if (errno != 0 || end == optarg || *end || v <= 0) {
                                fprintf(stderr, "seccompd record: --pid takes a process ID, not \"%s\"\n",
                                        optarg);
                                return EXIT_USAGE;
                        }
                        pids[f.n_pids++] = v;
                        break;
                }
                case ARG_CONTAINER:
                        /* An ID prefix, or with --pod a container's name: checked once both are known. */
                        containers[f.n_containers++] = optarg;
                        break;
                case ARG_POD:
                        pod_arg = optarg;
                        break;
                case ARG_KUBECONFIG:
                        kubeconfig = optarg;
                        break;
                case ARG_SINCE:
                        if (parse_since(optarg, &f.since_msec) < 0) {
                                fprintf(stderr,
                                        "seccompd record: --since takes @EPOCH, YYYY-MM-DD[ HH:MM[:SS]] or "
                                        "-DURATION "
                                        "(-10min), not \"%s\"\n",
                                        optarg);
                                return EXIT_USAGE;
                        }
                        f.has_since = true;
                        break;
                case ARG_BASELINE:
                        if (strcmp(optarg, "runc") != 0 && strcmp(optarg, "crun") != 0 &&
                            strcmp(optarg, "none") != 0) {
                                fprintf(stderr,
                                        "seccompd record: --baseline takes runc, crun or none, not \"%s\"\n",
                                        optarg);
                                return EXIT_USAGE;
                        }
                        baseline_name = optarg;
                        break;
                case ARG_MERGE:
                        merge_path = optarg;
                        break;
                case ARG_DEFAULT_ACTION: {
                        const ActionInfo *a = action_from_spec(optarg);
                        if (!a || strcmp(a->spec, "SCMP_ACT_ALLOW") == 0 ||
                            strcmp(a->spec, "SCMP_ACT_NOTIFY") == 0) {
                                fprintf(stderr,
                                        "seccompd record: --default-action takes a blocking or logging "
                                        "action such "
                                        "as SCMP_ACT_ERRNO, SCMP_ACT_KILL_PROCESS or SCMP_ACT_LOG, not "
                                        "\"%s\"\n",
                                        optarg);
                                return EXIT_USAGE;
                        }
                        default_action = a->spec;
                        break;
                }
                case ARG_CONFIGMAP:
                        configmap = optarg;
                        break;
                case ARG_NAMESPACE:
                        namespace
                        = optarg;
                        break;
                case 'o':
                        output = optarg;
                        break;
                case '?':
                case ':':
                        return option_error("record", c, argv, options);
                default:
                        return EXIT_USAGE;
                }
        if (optind < argc) {
                fprintf(stderr, "seccompd record: unexpected argument \"%s\"; the source is --from\n",
                        argv[optind]);
                return EXIT_USAGE;
        }
        if (!pod_arg && kubeconfig) {
                fprintf(stderr, "seccompd record: --kubeconfig goes with --pod NAMESPACE/NAME\n");
                return EXIT_USAGE;
        }
        for (size_t i = 0; !pod_arg && i < f.n_containers; i++) {
                size_t n = strlen(containers[i]);
                if (n == 0 || n > 64 || strspn(containers[i], "0123456789abcdefABCDEF") != n) {
                        fprintf(stderr,
                                "seccompd record: --container takes a container ID (or its start) in hex, "
                                "not "
                                "\"%s\" (a container's name goes with --pod)\n",
                                containers[i]);
                        return EXIT_USAGE;
                }
        }
        if (pod_arg) {
                const char *slash = strchr(pod_arg, '/');
                pod_namespace = slash ? strndup(pod_arg, (size_t) (slash - pod_arg)) : NULL;
                if (!slash && !(pod_namespace = strdup("")))
                        return EXIT_USAGE;
                if (!pod_namespace || !dns_label(pod_namespace) || !dns_subdomain(slash ? slash + 1 : "")) {
                        fprintf(stderr, "seccompd record: --pod takes NAMESPACE/NAME, not \"%s\"\n",
                                pod_arg);
                        return EXIT_USAGE;
                }
                for (size_t i = 0; i < f.n_containers; i++)
                        if (!dns_label(containers[i])) {
                                fprintf(stderr,
                                        "seccompd record: --container takes a container's name with "
                                        "--pod, not \"%s\"\n",
                                        containers[i]);
                                return EXIT_USAGE;
                        }
        }
        if (from && strcmp(from, "audit") == 0 && unthrottle) {
                /* The printk rate limit is not on the audit group's path. */
                fprintf(stderr,
                        "seccompd record: --unthrottle is for --from kmsg; the audit group has no rate "
                        "limit\n");
                return EXIT_USAGE;
        }
        if (namespace && !configmap) {
                fprintf(stderr, "seccompd record: --namespace goes with --configmap NAME\n");
                return EXIT_USAGE;
        }
        if (configmap && !namespace) {
                /* Without one, kubectl apply puts it in the context's namespace (often "default"),
                 * where seccompd does not look. */
                namespace = SECCOMPD_NAMESPACE;
                fprintf(stderr,
                        "seccompd record: ConfigMap %s in namespace " SECCOMPD_NAMESPACE
                        ", the one seccompd watches by default; --namespace to choose another\n",
                        configmap);
        }
        if (configmap && audit_profile_to_configmap(configmap, namespace, "{}\n", &manifest) < 0) {
                fprintf(stderr, "seccompd record: --configmap takes a ConfigMap name (lowercase letters, "
                                "digits, '-', '.'), "
                                "--namespace a namespace name\n");
                return EXIT_USAGE;
        }
        free(manifest);
        manifest = NULL;
        if (merge_path) {
                r = read_full_file(merge_path, PROFILE_MAX_SIZE, &merge, &merge_len);
                if (r < 0) {
                        fprintf(stderr, "seccompd record: cannot read %s: %s\n", merge_path,
                                r == -EFBIG ? "larger than 1 MiB" : strerror(-r));
                        return EXIT_USAGE;
                }
        }
        f.comms = comms;
        f.exes = exes;
        f.containers = containers;
        f.pids = pids;
        size_t n_pod_containers = 0;
        if (pod_arg) {
                /* Names of the pod's containers, not ID prefixes: the pod decides. */
                n_pod_containers = f.n_containers;
                f.n_containers = 0;
        }
        if (audit_recorder_new(&recorder) < 0)
                return EXIT_USAGE;
        if (pod_arg) {
                RecordPodOptions po = {
                        .kubeconfig = kubeconfig,
                        .namespace = pod_namespace,
                        .name = strchr(pod_arg, '/') + 1,
                        .containers = containers,
                        .n_containers = n_pod_containers,
                        .follow = follow || (from && strcmp(from, "audit") == 0),
                };
                r = record_pod_new(&po, &pod, &error);
                if (r < 0) {
                        fprintf(stderr, "seccompd record: --pod: %s\n", error ?: strerror(-r));
                        return EXIT_USAGE;
                }
                error = mfree(error);
        }

        Recording rec = {.recorder = recorder, .filters = &f, .pod = pod, .follow = follow};
        sigset_t stop_signals;
        struct sigaction sa = {.sa_handler = on_stop_signal};
        sigemptyset(&stop_signals);
        sigaddset(&stop_signals, SIGINT);
        sigaddset(&stop_signals, SIGTERM);
        if (sigprocmask(SIG_BLOCK, &stop_signals, &rec.wait_mask) < 0 || sigaction(SIGINT, &sa, NULL) < 0 ||
            sigaction(SIGTERM, &sa, NULL) < 0)
                return EXIT_USAGE;
        sigdelset(&rec.wait_mask, SIGINT);
        sigdelset(&rec.wait_mask, SIGTERM);

        /* The source. The audit group has no past, so it is the default only for --follow; without it
         * the default is what the kernel log still holds, as dmesg shows it. */
        if (!from && !follow) {
                rec.kind = SOURCE_KMSG;
                fprintf(stderr,
                        "seccompd record: reading the records the kernel log still holds (/dev/kmsg), "
                        "thinned by the printk rate limit; with --follow, records are read live from the "
                        "audit multicast group, which loses none\n");
        } else if (!from || strcmp(from, "audit") == 0) {
                r = open_audit(&netlink);
                if (r < 0 && from) {
                        fprintf(stderr,
                                "seccompd record: --from audit: cannot read the audit multicast group: %s\n",
                                audit_problem(r));
                        return EXIT_USAGE;
                }
                if (r < 0)
                        fprintf(stderr,
                                "seccompd record: cannot read the audit multicast group: %s; recording from "
                                "/dev/kmsg instead\n",
                                audit_problem(r));
                rec.kind = r < 0 ? SOURCE_KMSG : SOURCE_AUDIT;
                /* Always live: it also says each new syscall and any loss as it comes. */
                rec.follow = true;
        } else if (strcmp(from, "kmsg") == 0)
                rec.kind = SOURCE_KMSG;
        else if (strcmp(from, "journal") == 0 || strncmp(from, "journal:", 8) == 0)
                rec.kind = SOURCE_JOURNAL;
        else
                rec.kind = SOURCE_FILE;

        if (unthrottle && rec.kind == SOURCE_AUDIT)
                fprintf(stderr,
                        "seccompd record: --unthrottle is for /dev/kmsg; the audit group has no rate "
                        "limit, so kernel.printk_ratelimit is left as it is\n");
        else if (unthrottle) {
                size_t len;
                r = read_full_file(PRINTK_RATELIMIT, 64, &old_ratelimit, &len);
                if (r >= 0)
                        r = set_printk_ratelimit("0");
                if (r < 0) {
                        fprintf(stderr, "seccompd record: --unthrottle: cannot set %s: %s\n",
                                PRINTK_RATELIMIT, strerror(-r));
                        return EXIT_USAGE;
                }
                fprintf(stderr, "seccompd record: kernel.printk_ratelimit=0 while recording (was %.*s)\n",
                        (int) strcspn(old_ratelimit, "\n"), old_ratelimit);
        }

        const char *source = from;
        r = -EINVAL;
        switch (rec.kind) {
        case SOURCE_AUDIT:
                source = "the audit multicast group";
                r = read_audit(&rec, netlink);
                break;
        case SOURCE_KMSG:
                source = "/dev/kmsg";
                r = read_kmsg(&rec);
                break;
        case SOURCE_JOURNAL:
                source = "the journal";
                r = read_journal(&rec, from[7] == ':' ? from + 8 : NULL);
                break;
        case SOURCE_FILE:
                if (strcmp(from, "-") == 0) {
                        source = "standard input";
                        r = read_lines(&rec, STDIN_FILENO);
                } else {
                        _cleanup_close_ int fd = open(from, O_RDONLY | O_CLOEXEC | O_NOCTTY);
                        r = fd < 0 ? -errno : read_lines(&rec, fd);
                }
                break;
        }

        if (old_ratelimit) {
                int k = set_printk_ratelimit(old_ratelimit);
                if (k < 0)
                        fprintf(stderr, "seccompd record: cannot restore kernel.printk_ratelimit=%.*s: %s\n",
                                (int) strcspn(old_ratelimit, "\n"), old_ratelimit, strerror(-k));
        }
        free(rec.pid_verdicts);
        if (r < 0) {
                fprintf(stderr, "seccompd record: cannot read %s: %s\n", source, strerror(-r));
                return EXIT_USAGE;
        }
        if (pod && record_pod_finish(pod, recorder) < 0) {
                fprintf(stderr, "seccompd record: %s\n", strerror(ENOMEM));
                return EXIT_USAGE;
        }
        audit_recorder_finish(recorder);
        report(&rec);

        AuditProfileOptions po = {.default_action = default_action, .merge = merge, .merge_len = merge_len};
        if (strcmp(baseline_name, "runc") == 0) {
                po.baseline = baseline_runc;
                po.n_baseline = baseline_runc_count;
        } else if (strcmp(baseline_name, "crun") == 0) {
                po.baseline = baseline_crun;
                po.n_baseline = baseline_crun_count;
        }
        r = audit_recorder_build_profile(recorder, &po, &json, &error);
        if (r == -ENODATA) {
                fprintf(stderr, "seccompd record: no LOG record matched%s; no profile written\n",
                        f.n_comms + f.n_exes + f.n_pids + f.n_containers > 0 || f.has_since || pod
                                ? " the filters"
                                : "");
                return EXIT_INVALID;
        }
        if (r == -EINVAL) {
                fprintf(stderr, "seccompd record: cannot merge %s: %s\n", merge_path,
                        error ? error : "invalid");
                return EXIT_USAGE;
        }
        if (r < 0) {
                fprintf(stderr, "seccompd record: %s\n", strerror(-r));
                return EXIT_USAGE;
        }
        r = check_profile(json);
        if (r < 0) {
                fprintf(stderr,
                        "seccompd record: the %s profile does not pass validation; nothing written\n",
                        merge ? "merged" : "recorded");
                return EXIT_USAGE;
        }
        if (configmap) {
                r = audit_profile_to_configmap(configmap, namespace, json, &manifest);
                if (r < 0)
                        return EXIT_USAGE;
        }
        r = write_output(output, manifest ? manifest : json);
        if (r < 0) {
                fprintf(stderr, "seccompd record: cannot write %s: %s\n",
                        output ? output : "standard output", strerror(-r));
                return EXIT_USAGE;
        }
        fprintf(stderr, "seccompd record: %zu syscall%s recorded (baseline %s)%s%s\n",
                audit_recorder_n_syscalls(recorder), audit_recorder_n_syscalls(recorder) == 1 ? "" : "s",
                baseline_name, output ? ", wrote " : "", output ? output : "");
        status = EXIT_OK;
        return status;
}
