/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cgroup.h"
#include "record.h"
#include "shared/macro.h"

/* A read-only view of part of the line: the line need not be NUL-terminated. */
typedef struct Span {
        const char *p;
        size_t n;
} Span;

static bool span_starts_with(Span s, const char *prefix)
{
        size_t k = strlen(prefix);
        return s.n >= k && memcmp(s.p, prefix, k) == 0;
}

static Span span_skip(Span s, size_t k)
{
        k = k < s.n ? k : s.n;
        return (Span){s.p + k, s.n - k};
}

/* The offset of needle in s, or -1. */
static ptrdiff_t span_find(Span s, const char *needle)
{
        size_t k = strlen(needle);
        if (k == 0 || s.n < k)
                return k == 0 ? 0 : -1;
        for (size_t i = 0; i + k <= s.n; i++)
                if (s.p[i] == needle[0] && memcmp(s.p + i, needle, k) == 0)
                        return (ptrdiff_t) i;
        return -1;
}

static bool is_digit(char c)
{
        return c >= '0' && c <= '9';
}

/* Decimal digits at *s; advances past them. At most 19 digits, so no overflow. */
static bool parse_u64(Span *s, uint64_t *ret)
{
        uint64_t v = 0;
        size_t i = 0;
        while (i < s->n && is_digit(s->p[i])) {
                if (i == 19)
                        return false;
                v = v * 10 + (uint64_t) (s->p[i] - '0');
                i++;
        }
        if (i == 0)
                return false;
        *s = span_skip(*s, i);
        *ret = v;
        return true;
}

/* A whole field value as a number: decimal (optionally negative) or, with hex, 0x-prefixed or bare hex
 * digits. */
static bool value_to_int(Span v, bool hex, int64_t *ret)
{
        bool negative = false;
        uint64_t x = 0;

        if (!hex && v.n > 0 && v.p[0] == '-') {
                negative = true;
                v = span_skip(v, 1);
        }
        if (hex && span_starts_with(v, "0x"))
                v = span_skip(v, 2);
        if (v.n == 0 || v.n > (hex ? 8u : 19u))
                return false;
        for (size_t i = 0; i < v.n; i++) {
                int d = hex ? unhexchar(v.p[i]) : (is_digit(v.p[i]) ? v.p[i] - '0' : -1);
                if (d < 0)
                        return false;
                x = x * (hex ? 16 : 10) + (uint64_t) d;
        }
        if (x > INT64_MAX)
                return false;
        *ret = negative ? -(int64_t) x : (int64_t) x;
        return true;
}

int audit_unhex(const char *src, size_t len, char *dst, size_t size)
{
        if (len == 0 || len % 2 != 0)
                return -EINVAL;
        if (len / 2 + 1 > size)
                return -ENOBUFS;
        for (size_t i = 0; i < len; i += 2) {
                int hi = unhexchar(src[i]), lo = unhexchar(src[i + 1]);
                if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
                        return -EINVAL;
                dst[i / 2] = (char) (hi << 4 | lo);
        }
        dst[len / 2] = '\0';
        return (int) (len / 2);
}

/* comm= and exe= as audit_log_untrustedstring wrote them: quoted, hex, or the literal (null). */
static bool decode_untrusted(Span v, bool quoted, char *dst, size_t size)
{
        if (quoted || (v.n == 6 && memcmp(v.p, "(null)", 6) == 0)) {
                if (!quoted)
                        v.n = 0;
                if (v.n + 1 > size || memchr(v.p, '\0', v.n))
                        return false;
                memcpy(dst, v.p, v.n);
                dst[v.n] = '\0';
                return true;
        }
        return audit_unhex(v.p, v.n, dst, size) >= 0;
}

/* "audit(1700000000.123:456):" at the start of s. */
static bool parse_stamp(Span *s, AuditRecord *rec)
{
        uint64_t sec, msec, serial;
        Span t = *s;

        if (!span_starts_with(t, "audit("))
                return false;
        t = span_skip(t, 6);
        if (!parse_u64(&t, &sec) || !span_starts_with(t, "."))
                return false;
        t = span_skip(t, 1);
        if (t.n < 3 || !parse_u64(&t, &msec) || msec > 999 || !span_starts_with(t, ":"))
                return false;
        t = span_skip(t, 1);
        if (!parse_u64(&t, &serial) || !span_starts_with(t, ")"))
                return false;
        t = span_skip(t, 1);
        if (sec > UINT64_MAX / 1000 - 1)
                return false;
        rec->has_time = true;
        rec->time_msec = sec * 1000 + msec;
        rec->serial = serial;
        if (span_starts_with(t, ":"))
                t = span_skip(t, 1);
        *s = t;
        return true;
}

/* The key=value fields of a record, up to auditd's ENRICHED separator (\x1d), after which auditd's
 * interpretations (ARCH=x86_64 SYSCALL=mkdir ...) follow: the raw fields are what we trust. */
static AuditLineKind parse_fields(Span s, AuditRecord *rec)
{
        bool have_arch = false, have_syscall = false, have_code = false;
        int64_t v;

        const char *sep = memchr(s.p, 0x1d, s.n);
        if (sep)
                s.n = (size_t) (sep - s.p);

        while (s.n > 0) {
                while (s.n > 0 && s.p[0] == ' ')
                        s = span_skip(s, 1);
                if (s.n == 0)
                        break;
                size_t k = 0;
                while (k < s.n && s.p[k] != '=' && s.p[k] != ' ')
                        k++;
                if (k == s.n || s.p[k] == ' ') {
                        /* A word without '=': an LSM label's "(enforce)" and the like. */
                        s = span_skip(s, k);
                        continue;
                }
                Span key = {s.p, k}, val;
                bool quoted = false;
                s = span_skip(s, k + 1);
                if (s.n > 0 && s.p[0] == '"') {
                        const char *end = memchr(s.p + 1, '"', s.n - 1);
                        if (!end)
                                return AUDIT_LINE_MALFORMED;
                        val = (Span){s.p + 1, (size_t) (end - s.p - 1)};
                        s = span_skip(s, (size_t) (end - s.p) + 1);
                        quoted = true;
                } else {
                        size_t j = 0;
                        while (j < s.n && s.p[j] != ' ')
                                j++;
                        val = (Span){s.p, j};
                        s = span_skip(s, j);
                }

#define KEY_IS(name) (key.n == strlen(name) && memcmp(key.p, name, key.n) == 0)
                if (KEY_IS("arch")) {
                        if (quoted || !value_to_int(val, true, &v))
                                return AUDIT_LINE_MALFORMED;
                        rec->arch = (uint32_t) v;
                        have_arch = true;
                } else if (KEY_IS("syscall")) {
                        if (quoted || !value_to_int(val, false, &v))
                                return AUDIT_LINE_MALFORMED;
                        rec->syscall = v;
                        have_syscall = true;
                } else if (KEY_IS("code")) {
                        if (quoted || !value_to_int(val, true, &v))
                                return AUDIT_LINE_MALFORMED;
                        /* SECCOMP_RET_ACTION_FULL: the kernel writes the action without its data, but
                         * a hand-made line may carry an errno. */
                        rec->code = (uint32_t) v & 0xffff0000U;
                        have_code = true;
                } else if (KEY_IS("pid")) {
                        if (quoted || !value_to_int(val, false, &v))
                                return AUDIT_LINE_MALFORMED;
                        rec->pid = v;
                } else if (KEY_IS("uid")) {
                        if (quoted || !value_to_int(val, false, &v))
                                return AUDIT_LINE_MALFORMED;
                        rec->uid = v;
                } else if (KEY_IS("comm")) {
                        if (!decode_untrusted(val, quoted, rec->comm, sizeof(rec->comm)))
                                return AUDIT_LINE_MALFORMED;
                } else if (KEY_IS("exe")) {
                        if (!decode_untrusted(val, quoted, rec->exe, sizeof(rec->exe)))
                                return AUDIT_LINE_MALFORMED;
                }
#undef KEY_IS
        }
        if (!have_arch || !have_syscall || !have_code)
                return AUDIT_LINE_MALFORMED;
        /* x32 tasks run with the x86_64 audit arch; only the syscall number tells them apart
         * (arch/x86/include/asm/syscall.h syscall_get_arch, __X32_SYSCALL_BIT). */
        if (rec->arch == AUDIT_ARCH_X86_64_TOKEN && rec->syscall >= 0 && (rec->syscall & X32_SYSCALL_BIT))
                rec->arch = AUDIT_ARCH_X86_64_TOKEN & ~0x80000000U; /* SCMP_ARCH_X32 */
        return AUDIT_LINE_SECCOMP;
}

/* The number in front of "callbacks suppressed" / after "audit_lost=". */
static uint64_t number_before(Span s, ptrdiff_t at)
{
        size_t end = (size_t) at;
        while (end > 0 && s.p[end - 1] == ' ')
                end--;
        size_t start = end;
        while (start > 0 && is_digit(s.p[start - 1]))
                start--;
        Span d = {s.p + start, end - start};
        uint64_t v = 0;
        return parse_u64(&d, &v) ? v : 0;
}

static AuditLineKind parse_loss(Span s, AuditRecord *rec)
{
        ptrdiff_t at;

        /* ___ratelimit: "kauditd_printk_skb: N callbacks suppressed". The journal keeps the function
         * as SYSLOG_IDENTIFIER, so its MESSAGE= is the bare "N callbacks suppressed": counted too. */
        at = span_find(s, " callbacks suppressed");
        if (at > 0) {
                bool bare = true;
                for (ptrdiff_t i = 0; i < at; i++)
                        bare = bare && is_digit(s.p[i]);
                if (bare || span_find(s, "kauditd_printk_skb") >= 0) {
                        rec->lost_count = number_before(s, at);
                        return AUDIT_LINE_SUPPRESSED;
                }
        }
        /* kernel/audit.c audit_log_lost: "audit: audit_lost=%u audit_rate_limit=%u audit_backlog_limit=%u"
         * after "audit: backlog limit exceeded", "audit: rate limit exceeded" or "audit: kauditd hold queue
         * overflow"; audit_log_start: "audit: audit_backlog=%d > audit_backlog_limit=%d". */
        at = span_find(s, "audit_lost=");
        if (at >= 0) {
                Span d = span_skip(s, (size_t) at + strlen("audit_lost="));
                uint64_t v = 0;
                rec->lost_count = parse_u64(&d, &v) ? v : 0;
                return AUDIT_LINE_LOST;
        }
        if (span_find(s, "audit: backlog limit exceeded") >= 0 ||
            span_find(s, "audit: rate limit exceeded") >= 0 ||
            span_find(s, "audit: kauditd hold queue overflow") >= 0 ||
            span_find(s, "audit: audit_backlog=") >= 0)
                return AUDIT_LINE_LOST;
        return AUDIT_LINE_OTHER;
}

AuditLineKind audit_parse_line(const char *line, size_t len, AuditRecord *ret)
{
        Span s = {line, len};
        AuditLineKind kind;
        ptrdiff_t at;

        *ret = (AuditRecord){.pid = -1, .uid = -1};
        while (s.n > 0 && (s.p[s.n - 1] == '\n' || s.p[s.n - 1] == '\r'))
                s.n--;
        const char *nl = memchr(s.p, '\n', s.n); /* /dev/kmsg continuation lines: not the message */
        if (nl)
                s.n = (size_t) (nl - s.p);

        /* /dev/kmsg: "PRIO,SEQ,USEC,FLAGS[,...];MESSAGE" (Documentation/ABI/testing/dev-kmsg). */
        {
                Span t = s;
                uint64_t prio, seq, usec;
                if (parse_u64(&t, &prio) && span_starts_with(t, ",") &&
                    (t = span_skip(t, 1), parse_u64(&t, &seq)) && span_starts_with(t, ",") &&
                    (t = span_skip(t, 1), parse_u64(&t, &usec)) && span_starts_with(t, ",")) {
                        const char *semi = memchr(t.p, ';', t.n);
                        if (semi) {
                                ret->has_kmsg_seq = true;
                                ret->kmsg_seq = seq;
                                s = span_skip(s, (size_t) (semi - s.p) + 1);
                        }
                }
        }
        /* journalctl -o export / journal-remote input. */
        if (span_starts_with(s, "MESSAGE="))
                s = span_skip(s, strlen("MESSAGE="));

        /* journald's audit transport: MESSAGE=SECCOMP auid=... (journald-audit.c drops type= and the
         * stamp, which it keeps in _AUDIT_ID and _SOURCE_REALTIME_TIMESTAMP). */
        if (span_starts_with(s, "SECCOMP ")) {
                kind = parse_fields(span_skip(s, strlen("SECCOMP ")), ret);
                goto finish;
        }

        /* "type=1326 audit(...)": kernel log, any prefix (syslog, dmesg, "audit: "; the journal keeps
         * "audit" as SYSLOG_IDENTIFIER), and "type=SECCOMP msg=audit(...)": auditd. */
        at = span_find(s, "type=");
        while (at >= 0) {
                Span t = span_skip(s, (size_t) at + strlen("type="));
                bool seccomp = span_starts_with(t, "1326 ") || span_starts_with(t, "SECCOMP ");
                size_t k = 0;
                while (k < t.n && t.p[k] != ' ')
                        k++;
                t = span_skip(t, k);
                while (t.n > 0 && t.p[0] == ' ')
                        t = span_skip(t, 1);
                if (span_starts_with(t, "msg="))
                        t = span_skip(t, 4);
                if (k > 0 && parse_stamp(&t, ret)) {
                        kind = seccomp ? parse_fields(t, ret) : AUDIT_LINE_AUDIT;
                        goto finish;
                }
                Span rest = span_skip(s, (size_t) at + 1);
                ptrdiff_t next = span_find(rest, "type=");
                at = next < 0 ? -1 : at + 1 + next;
        }
        kind = parse_loss(s, ret);

finish:
        if (kind == AUDIT_LINE_MALFORMED || kind == AUDIT_LINE_OTHER) {
                /* Only the position in the kernel log is kept. */
                bool has_seq = ret->has_kmsg_seq;
                uint64_t seq = ret->kmsg_seq;
                *ret = (AuditRecord){.pid = -1, .uid = -1, .has_kmsg_seq = has_seq, .kmsg_seq = seq};
        }
        return kind;
}

const char *audit_action_to_string(uint32_t code, char buf[static 16])
{
        static const struct {
                uint32_t code;
                const char *name;
        } actions[] = {
                {AUDIT_ACTION_KILL_PROCESS, "KILL_PROCESS"},
                {AUDIT_ACTION_KILL_THREAD, "KILL_THREAD"},
                {AUDIT_ACTION_TRAP, "TRAP"},
                {AUDIT_ACTION_ERRNO, "ERRNO"},
                {AUDIT_ACTION_USER_NOTIF, "USER_NOTIF"},
                {AUDIT_ACTION_TRACE, "TRACE"},
                {AUDIT_ACTION_LOG, "LOG"},
                {AUDIT_ACTION_ALLOW, "ALLOW"},
        };
        for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
                if (actions[i].code == code)
                        return actions[i].name;
        (void) snprintf(buf, 16, "0x%08x", code);
        return buf;
}

bool audit_cgroup_matches_container(const char *cgroup, const char *id_prefix)
{
        size_t want = strlen(id_prefix);
        CgroupIdentity id;

        if (want == 0 || want > CGROUP_CONTAINER_ID_MAX ||
            strspn(id_prefix, "0123456789abcdefABCDEF") != want)
                return false;
        return cgroup_identity_parse(cgroup, &id) >= 0 && strncasecmp(id.container_id, id_prefix, want) == 0;
}
