/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <jansson.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "recorder.h"
#include "shared/macro.h"
#include "tables.h"

/* Distinct enforcement events kept; beyond that they are only counted. */
#define EVENTS_MAX 4096

typedef struct Syscall {
        uint32_t arch;
        int64_t nr;
        char *name; /* NULL: libseccomp cannot name nr on arch */
} Syscall;

/* Records reach the audit queue in the order their audit_log_end() ran, not the order their serial was
 * taken in audit_log_start(): on several CPUs a serial can arrive after a later one. 1024 serials is
 * far more than the records in flight at once. */
#define REORDER_WINDOW 1024

struct AuditRecorder {
        AuditStats stats;
        Syscall *syscalls;
        size_t n_syscalls, n_named;
        AuditEvent *events;
        size_t n_events;

        bool have_serial, have_seq;
        uint64_t last_serial, last_time, last_seq;

        /* Reordering (audit_recorder_set_reorder_window): serials from next on, seen or not. */
        bool window;
        uint64_t next, max_seen, last_missing;
        uint64_t seen[REORDER_WINDOW / 64];
};

static void count_missing(AuditStats *s, uint64_t after, uint64_t n)
{
        if (s->serial_gaps == 0)
                s->serial_gap_after = after;
        s->serial_gaps++;
        s->serial_missing += n;
}

static bool window_bit(const AuditRecorder *r, uint64_t serial)
{
        uint64_t k = serial % REORDER_WINDOW;
        return r->seen[k / 64] & (1ULL << (k % 64));
}

static void window_set(AuditRecorder *r, uint64_t serial, bool on)
{
        uint64_t k = serial % REORDER_WINDOW;
        if (on)
                r->seen[k / 64] |= 1ULL << (k % 64);
        else
                r->seen[k / 64] &= ~(1ULL << (k % 64));
}

/* A serial that leaves the window unseen is missing; consecutive missing ones are one gap. */
static void window_drop(AuditRecorder *r, uint64_t serial)
{
        if (!window_bit(r, serial)) {
                if (r->stats.serial_missing > 0 && r->last_missing + 1 == serial)
                        r->stats.serial_missing++;
                else
                        count_missing(&r->stats, serial - 1, 1);
                r->last_missing = serial;
        }
        window_set(r, serial, false);
}

static void window_see(AuditRecorder *r, uint64_t serial)
{
        if (!r->have_serial) {
                r->next = serial + 1; /* what came before the first is not ours to judge */
                r->max_seen = serial;
                return;
        }
        if (serial < r->next)
                return; /* a record of an event already seen, or one given up on */
        if (serial >= r->next + REORDER_WINDOW) {
                uint64_t new_next = serial - REORDER_WINDOW + 1;
                uint64_t end = MIN(new_next, r->next + REORDER_WINDOW);
                for (uint64_t x = r->next; x < end; x++)
                        window_drop(r, x);
                if (new_next > end) { /* never in the window: all missing, one gap */
                        count_missing(&r->stats, end - 1, new_next - end);
                        r->last_missing = new_next - 1;
                }
                r->next = new_next;
        }
        window_set(r, serial, true);
        r->max_seen = MAX(r->max_seen, serial);
        while (r->next <= r->max_seen && window_bit(r, r->next))
                window_set(r, r->next++, false);
}

void audit_recorder_set_reorder_window(AuditRecorder *r)
{
        r->window = true;
}

void audit_recorder_finish(AuditRecorder *r)
{
        if (!r->window)
                return;
        while (r->next <= r->max_seen)
                window_drop(r, r->next++);
}

int audit_recorder_new(AuditRecorder **ret)
{
        AuditRecorder *r = calloc(1, sizeof(*r));
        if (!r)
                return -ENOMEM;
        *ret = r;
        return 0;
}

AuditRecorder *audit_recorder_free(AuditRecorder *r)
{
        if (!r)
                return NULL;
        for (size_t i = 0; i < r->n_syscalls; i++)
                free(r->syscalls[i].name);
        free(r->syscalls);
        for (size_t i = 0; i < r->n_events; i++) {
                free(r->events[i].name);
                free(r->events[i].exe);
        }
        free(r->events);
        free(r);
        return NULL;
}

bool audit_recorder_observe(AuditRecorder *r, AuditLineKind kind, const AuditRecord *rec)
{
        AuditStats *s = &r->stats;
        bool fresh = true;

        s->lines++;
        if (rec->has_kmsg_seq) {
                /* Every /dev/kmsg record has the next sequence number; a jump means the ring buffer
                 * was overwritten before it was read. Backwards is another boot or another file. */
                if (r->have_seq && rec->kmsg_seq > r->last_seq + 1)
                        s->kmsg_missing += rec->kmsg_seq - r->last_seq - 1;
                r->have_seq = true;
                r->last_seq = rec->kmsg_seq;
        }
        switch (kind) {
        case AUDIT_LINE_SECCOMP:
        case AUDIT_LINE_AUDIT:
                if (kind == AUDIT_LINE_SECCOMP)
                        s->seccomp++;
                if (!rec->has_time)
                        break;
                /* Serials are consecutive per boot (kernel/audit.c audit_serial); the records of one
                 * event share one. A jump forward is records the kernel numbered but nobody printed. */
                if (r->have_serial && rec->serial == r->last_serial && rec->time_msec == r->last_time &&
                    kind == AUDIT_LINE_SECCOMP) {
                        s->duplicates++;
                        fresh = false;
                } else if (r->window)
                        window_see(r, rec->serial);
                else if (r->have_serial && rec->serial > r->last_serial + 1)
                        count_missing(s, r->last_serial, rec->serial - r->last_serial - 1);
                r->have_serial = true;
                r->last_serial = rec->serial;
                r->last_time = rec->time_msec;
                break;
        case AUDIT_LINE_SUPPRESSED:
                s->suppressed_lines++;
                s->suppressed += rec->lost_count;
                break;
        case AUDIT_LINE_LOST:
                s->lost_lines++;
                s->audit_lost = MAX(s->audit_lost, rec->lost_count);
                break;
        case AUDIT_LINE_MALFORMED:
                s->malformed++;
                break;
        case AUDIT_LINE_OTHER:
                s->other++;
                break;
        }
        return fresh;
}

void audit_recorder_note_kmsg_overrun(AuditRecorder *r)
{
        r->stats.kmsg_overruns++;
}

void audit_recorder_note_netlink_overrun(AuditRecorder *r, uint64_t n)
{
        r->stats.netlink_overruns += n;
}

bool audit_recorder_lost_evidence(const AuditRecorder *r)
{
        const AuditStats *s = &r->stats;
        return s->serial_missing > 0 || s->kmsg_missing > 0 || s->kmsg_overruns > 0 ||
               s->netlink_overruns > 0 || s->suppressed_lines > 0 || s->lost_lines > 0;
}

static char *resolve_name(uint32_t arch, int64_t nr)
{
        if (nr < 0 || nr > INT32_MAX || !arch_from_token(arch))
                return NULL;
        return seccomp_syscall_resolve_num_arch(arch, (int) nr);
}

/* An enforcement event, counted with those of the same action, arch, syscall, comm and exe. */
static int add_event(AuditRecorder *r, const AuditEvent *like, uint64_t count)
{
        for (size_t i = 0; i < r->n_events; i++) {
                AuditEvent *e = r->events + i;
                if (e->code == like->code && e->arch == like->arch && e->syscall == like->syscall &&
                    strcmp(e->comm, like->comm) == 0 && strcmp(e->exe, like->exe) == 0) {
                        e->count += count;
                        return 0;
                }
        }
        if (r->n_events >= EVENTS_MAX)
                return 0;
        AuditEvent *events = realloc(r->events, (r->n_events + 1) * sizeof(AuditEvent));
        if (!events)
                return -ENOMEM;
        r->events = events;
        AuditEvent *e = events + r->n_events;
        *e = (AuditEvent){.code = like->code,
                          .arch = like->arch,
                          .syscall = like->syscall,
                          .pid = like->pid,
                          .count = count};
        memcpy(e->comm, like->comm, sizeof(e->comm));
        e->exe = strdup(like->exe);
        if (!e->exe)
                return -ENOMEM;
        e->name = resolve_name(like->arch, like->syscall);
        r->n_events++;
        return 0;
}

/* The (arch, nr) pair in the set: 1 when it adds a name the profile did not have (*ret_name: it),
 * 0 when known already or nameless (*ret_named: whether libseccomp names it), -ENOMEM. */
static int add_syscall(AuditRecorder *r, uint32_t arch, int64_t nr, const char **ret_name, bool *ret_named)
{
        for (size_t i = 0; i < r->n_syscalls; i++)
                if (r->syscalls[i].arch == arch && r->syscalls[i].nr == nr) {
                        *ret_named = r->syscalls[i].name != NULL;
                        return 0;
                }
        Syscall *s = realloc(r->syscalls, (r->n_syscalls + 1) * sizeof(Syscall));
        if (!s)
                return -ENOMEM;
        r->syscalls = s;
        s += r->n_syscalls++;
        *s = (Syscall){.arch = arch, .nr = nr, .name = resolve_name(arch, nr)};
        *ret_named = s->name != NULL;
        if (!s->name)
                return 0;
        /* The same name on another arch is not new to the profile. */
        for (size_t i = 0; i + 1 < r->n_syscalls; i++)
                if (r->syscalls[i].name && strcmp(r->syscalls[i].name, s->name) == 0)
                        return 0;
        r->n_named++;
        if (ret_name)
                *ret_name = s->name;
        return 1;
}

int audit_recorder_add(AuditRecorder *r, const AuditRecord *rec, const char **ret_name)
{
        bool named;

        r->stats.matched++;
        if (rec->code != AUDIT_ACTION_LOG) {
                r->stats.matched_enforced++;
                AuditEvent like = {
                        .code = rec->code, .arch = rec->arch, .syscall = rec->syscall, .pid = rec->pid};
                memcpy(like.comm, rec->comm, sizeof(like.comm));
                like.exe = (char *) rec->exe;
                return add_event(r, &like, 1);
        }
        r->stats.matched_log++;
        int k = add_syscall(r, rec->arch, rec->syscall, ret_name, &named);
        if (k >= 0 && !named)
                r->stats.unresolved++;
        return k;
}

int audit_recorder_merge(AuditRecorder *dst, const AuditRecorder *src)
{
        bool named;
        int r;

        for (size_t i = 0; i < src->n_syscalls; i++)
                if ((r = add_syscall(dst, src->syscalls[i].arch, src->syscalls[i].nr, NULL, &named)) < 0)
                        return r;
        for (size_t i = 0; i < src->n_events; i++)
                if ((r = add_event(dst, src->events + i, src->events[i].count)) < 0)
                        return r;
        dst->stats.matched += src->stats.matched;
        dst->stats.matched_log += src->stats.matched_log;
        dst->stats.matched_enforced += src->stats.matched_enforced;
        dst->stats.unresolved += src->stats.unresolved;
        return 0;
}

const AuditStats *audit_recorder_stats(const AuditRecorder *r)
{
        return &r->stats;
}

bool audit_recorder_has(const AuditRecorder *r, uint32_t arch, int64_t nr)
{
        for (size_t i = 0; i < r->n_syscalls; i++)
                if (r->syscalls[i].arch == arch && r->syscalls[i].nr == nr)
                        return true;
        return false;
}

size_t audit_recorder_n_syscalls(const AuditRecorder *r)
{
        return r->n_named;
}

const AuditEvent *audit_recorder_events(const AuditRecorder *r, size_t *ret_n)
{
        *ret_n = r->n_events;
        return r->events;
}

size_t audit_recorder_unresolved(const AuditRecorder *r, size_t i, uint32_t *ret_arch, int64_t *ret_nr)
{
        size_t k = 0;
        for (size_t j = 0; j < r->n_syscalls; j++) {
                if (r->syscalls[j].name)
                        continue;
                if (k++ == i) {
                        *ret_arch = r->syscalls[j].arch;
                        *ret_nr = r->syscalls[j].nr;
                        return 1;
                }
        }
        return 0;
}

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(const char *const *) a, *(const char *const *) b);
}

/* Whether name is a real syscall on one of the recorded arches: the baseline is measured on x86_64,
 * and arch_prctl has no business in an aarch64 profile. */
static bool exists_on(const AuditRecorder *r, const char *name)
{
        bool any = false;
        for (size_t i = 0; i < r->n_syscalls; i++) {
                bool seen = false;
                for (size_t j = 0; j < i; j++)
                        seen = seen || r->syscalls[j].arch == r->syscalls[i].arch;
                if (seen)
                        continue;
                any = true;
                if (seccomp_syscall_resolve_name_arch(r->syscalls[i].arch, name) >= 0)
                        return true;
        }
        return !any;
}

static bool array_has_string(const json_t *a, const char *s)
{
        size_t i;
        json_t *v;
        json_array_foreach(a, i,
                           v) if (json_is_string(v) && strcmp(json_string_value(v), s) == 0) return true;
        return false;
}

static bool empty_or_absent(const json_t *v)
{
        return !v || json_is_null(v) || (json_is_array(v) && json_array_size(v) == 0) ||
               (json_is_object(v) && json_object_size(v) == 0);
}

/* An allow rule that applies to its names unconditionally. */
static bool rule_allows_unconditionally(const json_t *rule)
{
        const json_t *action = json_object_get(rule, "action");
        return json_is_object(rule) && json_is_string(action) &&
               strcmp(json_string_value(action), "SCMP_ACT_ALLOW") == 0 &&
               empty_or_absent(json_object_get(rule, "args")) &&
               empty_or_absent(json_object_get(rule, "includes")) &&
               empty_or_absent(json_object_get(rule, "excludes"));
}

static bool allowed_unconditionally(const json_t *syscalls, const char *name)
{
        size_t i;
        json_t *rule;
        json_array_foreach(syscalls, i, rule)
        {
                if (!rule_allows_unconditionally(rule))
                        continue;
                const json_t *one = json_object_get(rule, "name");
                if (array_has_string(json_object_get(rule, "names"), name) ||
                    (json_is_string(one) && strcmp(json_string_value(one), name) == 0))
                        return true;
        }
        return false;
}

static int set_error(char **ret_error, const char *what, const char *detail)
{
        if (ret_error && asprintf(ret_error, "%s%s", what, detail) < 0)
                *ret_error = NULL;
        return -EINVAL;
}

int audit_recorder_build_profile(const AuditRecorder *r, const AuditProfileOptions *o, char **ret_json,
                                 char **ret_error)
{
        json_auto_t *doc = NULL;
        _cleanup_free_ const char **names = NULL;
        size_t n = 0;
        json_t *arches, *syscalls, *rule = NULL, *list;

        if (r->n_named == 0)
                return -ENODATA;
        names = calloc(r->n_syscalls + o->n_baseline, sizeof(char *));
        if (!names)
                return -ENOMEM;
        for (size_t i = 0; i < r->n_syscalls; i++)
                if (r->syscalls[i].name)
                        names[n++] = r->syscalls[i].name;
        for (size_t i = 0; i < o->n_baseline; i++)
                if (exists_on(r, o->baseline[i]))
                        names[n++] = o->baseline[i];
        qsort(names, n, sizeof(char *), cmp_str);

        if (o->merge) {
                json_error_t err;
                doc = json_loadb(o->merge, o->merge_len, 0, &err);
                if (!doc)
                        return set_error(ret_error, "not JSON: ", err.text);
                if (!json_is_object(doc))
                        return set_error(ret_error, "", "not a JSON object");
        } else if (!(doc = json_object()))
                return -ENOMEM;

        const char *def = o->default_action;
        if (!def && !json_is_string(json_object_get(doc, "defaultAction")))
                def = "SCMP_ACT_ERRNO";
        if (def && json_object_set_new(doc, "defaultAction", json_string(def)) < 0)
                return -ENOMEM;

        /* A moby profile's archMap lists the arches itself; architectures beside it is an error. */
        if (!json_object_get(doc, "archMap")) {
                arches = json_object_get(doc, "architectures");
                if (!json_is_array(arches)) {
                        if (arches && !json_is_null(arches))
                                return set_error(ret_error, "", "\"architectures\" is not an array");
                        if (json_object_set_new(doc, "architectures", json_array()) < 0)
                                return -ENOMEM;
                        arches = json_object_get(doc, "architectures");
                }
                _cleanup_free_ const char **specs = calloc(r->n_syscalls, sizeof(char *));
                size_t n_specs = 0;
                if (!specs)
                        return -ENOMEM;
                for (size_t i = 0; i < r->n_syscalls; i++) {
                        const ArchInfo *a = arch_from_token(r->syscalls[i].arch);
                        if (a && r->syscalls[i].name && !array_has_string(arches, a->spec))
                                specs[n_specs++] = a->spec;
                }
                qsort(specs, n_specs, sizeof(char *), cmp_str);
                for (size_t i = 0; i < n_specs; i++)
                        if (!array_has_string(arches, specs[i]) &&
                            json_array_append_new(arches, json_string(specs[i])) < 0)
                                return -ENOMEM;
        }

        syscalls = json_object_get(doc, "syscalls");
        if (!json_is_array(syscalls)) {
                if (syscalls && !json_is_null(syscalls))
                        return set_error(ret_error, "", "\"syscalls\" is not an array");
                if (json_object_set_new(doc, "syscalls", json_array()) < 0)
                        return -ENOMEM;
                syscalls = json_object_get(doc, "syscalls");
        }
        size_t i;
        json_t *each;
        json_array_foreach(syscalls, i, each) if (rule_allows_unconditionally(each) &&
                                                  json_is_array(json_object_get(each, "names")) &&
                                                  !json_object_get(each, "name"))
        {
                rule = each;
                break;
        }
        if (!rule) {
                rule = json_pack("{s:[], s:s}", "names", "action", "SCMP_ACT_ALLOW");
                if (!rule || json_array_append_new(syscalls, rule) < 0)
                        return -ENOMEM;
        }
        list = json_object_get(rule, "names");
        for (size_t k = 0; k < n; k++)
                if ((k == 0 || strcmp(names[k], names[k - 1]) != 0) &&
                    !allowed_unconditionally(syscalls, names[k]) &&
                    json_array_append_new(list, json_string(names[k])) < 0)
                        return -ENOMEM;

        /* The rule's names sorted: the same recording gives the same bytes. */
        size_t m = json_array_size(list);
        _cleanup_free_ const char **sorted = calloc(m + 1, sizeof(char *));
        if (!sorted)
                return -ENOMEM;
        bool all_strings = true;
        for (size_t k = 0; k < m; k++) {
                sorted[k] = json_string_value(json_array_get(list, k));
                all_strings = all_strings && sorted[k];
        }
        if (all_strings) {
                json_auto_t *copy = json_deep_copy(list);
                if (!copy)
                        return -ENOMEM;
                for (size_t k = 0; k < m; k++)
                        sorted[k] = json_string_value(json_array_get(copy, k));
                qsort(sorted, m, sizeof(char *), cmp_str);
                json_array_clear(list);
                for (size_t k = 0; k < m; k++)
                        if (json_array_append_new(list, json_string(sorted[k])) < 0)
                                return -ENOMEM;
        }

        char *s = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        if (!s)
                return -ENOMEM;
        size_t len = strlen(s);
        char *out = realloc(s, len + 2);
        if (!out) {
                free(s);
                return -ENOMEM;
        }
        out[len] = '\n';
        out[len + 1] = '\0';
        *ret_json = out;
        return 0;
}

/* RFC 1123 subdomain, as Kubernetes checks a ConfigMap's name (IsDNS1123Subdomain). */
static bool dns_subdomain(const char *s, size_t max, bool dots)
{
        size_t n = strlen(s);
        if (n == 0 || n > max)
                return false;
        for (size_t i = 0; i < n; i++) {
                char c = s[i];
                bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
                if (!alnum && c != '-' && !(dots && c == '.'))
                        return false;
                if (!alnum && (i == 0 || i == n - 1))
                        return false;
        }
        return true;
}

int audit_profile_to_configmap(const char *name, const char *namespace, const char *json, char **ret)
{
        /* The key NAME.json must also be a valid ConfigMap key: 253 bytes at most. */
        if (!dns_subdomain(name, 253 - strlen(".json"), true) ||
            (namespace && !dns_subdomain(namespace, 63, false)))
                return -EINVAL;

        /* The profile as a literal block scalar, indented: YAML keeps its bytes exactly (the JSON
         * holds no tabs and ends with one newline, which "|" keeps). */
        size_t lines = 1;
        for (const char *p = json; *p; p++)
                lines += *p == '\n';
        size_t size =
                strlen(json) + lines * 4 + 512 + strlen(name) * 2 + (namespace ? strlen(namespace) : 0);
        _cleanup_free_ char *out = malloc(size);
        if (!out)
                return -ENOMEM;
        int k = snprintf(out, size,
                         "apiVersion: v1\n"
                         "kind: ConfigMap\n"
                         "metadata:\n"
                         "  name: %s\n"
                         "%s%s%s"
                         "  labels:\n"
                         "    seccompd.io/profile: \"true\"\n"
                         "data:\n"
                         "  %s.json: |\n",
                         name, namespace ? "  namespace: " : "", namespace ? namespace : "",
                         namespace ? "\n" : "", name);
        if (k < 0 || (size_t) k >= size)
                return -ENOMEM;
        char *w = out + k;
        for (const char *p = json; *p;) {
                const char *eol = strchr(p, '\n');
                size_t n = eol ? (size_t) (eol - p) : strlen(p);
                memcpy(w, "    ", 4);
                memcpy(w + 4, p, n);
                w[4 + n] = '\n';
                w += n + 5;
                p += n + (eol ? 1 : 0);
        }
        *w = '\0';
        *ret = TAKE_PTR(out);
        return 0;
}
