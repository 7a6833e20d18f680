/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>
#include <string.h>

#include "analyze.h"
#include "compile.h"
#include "startup.h"
#include "tables.h"

typedef struct NameState {
        const char *name; /* NULL: free slot */
        ssize_t uncond;   /* effective rule that decided it unconditionally, or -1 */
        uint32_t uncond_act;
        ssize_t cond; /* first conditional rule, or -1 */
        uint32_t cond_act;
        bool cond_mixed; /* conditional rules with different actions */
        bool cond_allows;
        size_t n_cond; /* conditional rule entries, for the cost bound */
} NameState;

typedef struct NameTable {
        NameState *slots;
        size_t mask;
} NameTable;

static uint64_t hash_name(const char *s)
{
        uint64_t h = 1469598103934665603ULL; /* FNV-1a */
        for (; *s; s++)
                h = (h ^ (unsigned char) *s) * 1099511628211ULL;
        return h;
}

/* The table holds at least twice as many slots as names are inserted, so probing ends. */
static NameState *name_lookup(NameTable *t, const char *name, bool insert)
{
        for (size_t i = hash_name(name) & t->mask;; i = (i + 1) & t->mask) {
                NameState *s = t->slots + i;
                if (!s->name) {
                        if (!insert)
                                return NULL;
                        *s = (NameState){.name = name, .uncond = -1, .cond = -1};
                        return s;
                }
                if (strcmp(s->name, name) == 0)
                        return s;
        }
}

static int name_table_new(const Effective *e, NameTable *ret)
{
        size_t total = 0, size = 16;
        for (size_t i = 0; i < e->n_rules; i++)
                total += e->rules[i].n_names;
        while (size < total * 2)
                size *= 2;
        NameState *slots = calloc(size, sizeof(NameState));
        if (!slots)
                return -ENOMEM;
        *ret = (NameTable){slots, size - 1};
        return 0;
}

bool effective_cost_bounded(const Effective *e, Diagnostics *d)
{
        NameTable t;
        bool ok = true;

        if (name_table_new(e, &t) < 0) {
                d->oom = true;
                return false;
        }
        for (size_t i = 0; i < e->n_rules && ok; i++) {
                const EffectiveRule *er = e->rules + i;
                if (er->args->n == 0)
                        continue;
                for (size_t k = 0; k < er->n_names && ok; k++) {
                        NameState *s = name_lookup(&t, er->names[k], true);
                        if (++s->n_cond <= MAX_CONDITIONAL_RULES_PER_SYSCALL)
                                continue;
                        char path[64];
                        (void) snprintf(path, sizeof(path), "syscalls[%zu]", er->rule);
                        diag_add(d, DIAG_FILTER_TOO_LARGE, path, er->loc_action.line, er->loc_action.column,
                                 "%s: more than %d conditional rules for \"%s\": the filter would not fit "
                                 "the "
                                 "kernel's limit, and building it would take libseccomp minutes on every "
                                 "container "
                                 "create; not compiled",
                                 path, MAX_CONDITIONAL_RULES_PER_SYSCALL, er->names[k]);
                        ok = false;
                }
        }
        free(t.slots);
        return ok;
}

static bool allows(uint32_t act)
{
        return act == SCMP_ACT_ALLOW || act == SCMP_ACT_LOG;
}

static bool name_on_arch(const char *name, uint32_t token)
{
        return seccomp_syscall_resolve_name_arch(token, name) >= 0;
}

bool effective_confines_nothing(const Effective *e)
{
        uint32_t def, act;
        if (!action_value(e->default_action, e->has_default_errno_ret, e->default_errno_ret, &def) ||
            !allows(def))
                return false;
        for (size_t i = 0; i < e->n_rules; i++) {
                const EffectiveRule *er = e->rules + i;
                if (!action_value(er->action, er->has_errno_ret, er->errno_ret, &act) || allows(act))
                        continue;
                for (size_t k = 0; k < er->n_names; k++)
                        if (seccomp_syscall_resolve_name(er->names[k]) != __NR_SCMP_ERROR)
                                return false;
        }
        return true;
}

static bool startswith(const char *s, const char *prefix)
{
        return strncmp(s, prefix, strlen(prefix)) == 0;
}

static void append(char *buf, size_t size, const char *s)
{
        size_t l = strlen(buf);
        if (l + strlen(s) + 3 < size)
                (void) snprintf(buf + l, size - l, "%s%s", l ? ", " : "", s);
}

/* What one start-up syscall's action does to a start, by the measured table. */
typedef enum Fate {
        FATE_OK,
        FATE_FAILS,     /* runc reports an error, or the process dies at its start */
        FATE_SOMETIMES, /* some starts fail: Go's runtime makes the call only sometimes */
        FATE_HANGS,     /* runc never returns: a kubelet sync that waits until it is killed */
        _FATE_MAX,
} Fate;

#define SCMP_ACT_BASE(a) ((a) &0xffff0000U)

static Fate denial_fate(StartupDenial d)
{
        switch (d) {
        case STARTUP_DENIAL_FAILS:
                return FATE_FAILS;
        case STARTUP_DENIAL_HANGS:
                return FATE_HANGS;
        case STARTUP_DENIAL_SOMETIMES:
                return FATE_SOMETIMES;
        default:
                return FATE_OK;
        }
}

static uint32_t startup_action(NameTable *t, const char *name, uint32_t def, ssize_t *ret_rule);

/* A denial the start survives while its fallback runs (glibc's _exit tries exit_group, then exit; Go
 * tries faccessat2, then faccessat): it fails when every measured fallback is blocked too. Without a
 * fallback that alone rescues, when the default blocks. */
static StartupDenial denial_of(const StartupNeed *n, NameTable *t, uint32_t def)
{
        ssize_t rule;

        if (n->denial != STARTUP_DENIAL_SURVIVES || n->denial_blocked == STARTUP_DENIAL_SURVIVES)
                return n->denial;
        if (!n->fallbacks)
                return allows(def) ? STARTUP_DENIAL_SURVIVES : n->denial_blocked;
        for (const char *const *f = n->fallbacks; *f; f++)
                if (allows(startup_action(t, *f, def, &rule)))
                        return STARTUP_DENIAL_SURVIVES;
        return n->denial_blocked;
}

static Fate startup_fate(const StartupNeed *n, uint32_t act, NameTable *t, uint32_t def)
{
        Fate killed = n->killed == 0 ? FATE_OK : n->killed == n->runs ? FATE_FAILS : FATE_SOMETIMES;

        if (allows(act))
                return FATE_OK;
        switch (SCMP_ACT_BASE(act)) {
        case SCMP_ACT_ERRNO(0):
                if ((act & 0xffffU) == 0)
                        return FATE_OK; /* a fake success: what runc makes of it is not measured */
                /* fall through */
        case SCMP_ACT_TRACE(0): /* with no tracer attached the kernel returns ENOSYS */
                /* A call made only in some starts was denied in too few of them to trust a survival
                 * (a refused rt_sigreturn is fatal when it comes). */
                if (denial_of(n, t, def) == STARTUP_DENIAL_SURVIVES && killed == FATE_SOMETIMES)
                        return FATE_SOMETIMES;
                return denial_fate(denial_of(n, t, def));
        case SCMP_ACT_KILL_PROCESS:
        case SCMP_ACT_TRAP:
                return killed;
        case SCMP_ACT_KILL_THREAD:
                /* runc's init is a Go program: it loses the one thread, the others keep runc waiting.
                 * A C program's start is single-threaded and dies. */
                return killed != FATE_FAILS || n->libc ? killed : FATE_HANGS;
        case SCMP_ACT_NOTIFY:
                return n->notify_hangs ? FATE_HANGS : FATE_OK;
        default:
                return FATE_OK;
        }
}

/* The action a start-up syscall meets, and the rule that gave it (-1: the default). The arguments
 * runc passes are not modelled: conditions are assumed to match its calls, so a conditional rule that
 * allows lets them through and one that blocks blocks them (an openat denied for AT_FDCWD is every
 * openat runc makes). */
static uint32_t startup_action(NameTable *t, const char *name, uint32_t def, ssize_t *ret_rule)
{
        const NameState *s = name_lookup(t, name, false);
        *ret_rule = -1;
        if (s && s->uncond >= 0) {
                *ret_rule = s->uncond;
                return s->uncond_act;
        }
        if (s && s->cond_allows)
                return SCMP_ACT_ALLOW;
        if (s && s->cond >= 0) {
                *ret_rule = s->cond;
                return s->cond_act;
        }
        return def;
}

typedef struct StartupReport {
        char text[_FATE_MAX][768];
        size_t n[_FATE_MAX];
        ssize_t rule; /* the first rule that breaks the start, -1 when only the default does */
        bool bad;
} StartupReport;

/* quiet: counts for the verdict, not repeated in the text (said for the other mode already). */
static void report_add(StartupReport *r, Fate f, const StartupNeed *n, const char *action, ssize_t rule,
                       bool quiet)
{
        char item[256];

        if (f == FATE_OK)
                return;
        if (!r->bad || (r->rule < 0 && rule >= 0))
                r->rule = rule;
        r->bad = true;
        if (quiet)
                return;
        /* Short enough for an Event (1024 bytes): runc's words for the first of a kind, the action
         * only where a rule rather than the default gave it. */
        bool denied = startswith(action, "SCMP_ACT_ERRNO") || startswith(action, "SCMP_ACT_TRACE");
        char how[64] = "", words[160] = "";
        if (rule >= 0)
                (void) snprintf(how, sizeof(how), "%s, ", action);
        if (r->n[f] == 0 && f == FATE_FAILS && denied && n->message[0])
                (void) snprintf(words, sizeof(words), ": \"%s\"", n->message);
        if (f == FATE_SOMETIMES && !denied && n->runs == 0)
                (void) snprintf(item, sizeof(item), "%s (%smade in some recorded starts%s)%s", n->name, how,
                                n->libc ? ", C library" : "", words);
        else if (f == FATE_SOMETIMES && !denied)
                (void) snprintf(item, sizeof(item), "%s (%s%u of %u measured starts%s)%s", n->name, how,
                                n->killed, n->runs, n->libc ? ", C library" : "", words);
        else if (rule >= 0 || n->libc)
                (void) snprintf(item, sizeof(item), "%s (%.*s%s)%s", n->name,
                                (int) (strlen(how) - (n->libc ? 0 : 2)), how, n->libc ? "C library" : "",
                                words);
        else
                (void) snprintf(item, sizeof(item), "%s%s", n->name, words);
        if (r->n[f]++ < 8)
                append(r->text[f], sizeof(r->text[f]), item);
        else if (r->n[f] == 9)
                append(r->text[f], sizeof(r->text[f]), "...");
}

static void report_text(const StartupReport *r, char *buf, size_t size)
{
        static const char *const what[_FATE_MAX] = {
                [FATE_FAILS] = "the start fails on",
                [FATE_SOMETIMES] = "some starts fail on",
                [FATE_HANGS] = "runc never returns (the kubelet's sync waits until it is killed) on",
        };
        static const Fate order[] = {FATE_HANGS, FATE_FAILS, FATE_SOMETIMES};
        buf[0] = 0;
        for (size_t i = 0; i < ELEMENTSOF(order); i++)
                if (r->n[order[i]] > 0) {
                        Fate f = order[i];
                        size_t l = strlen(buf);
                        (void) snprintf(buf + l, size - l, "%s%s %s", l ? "; " : "", what[f], r->text[f]);
                }
}

/* Whether runc can start a container under the profile, in both places it loads the filter: before
 * dropping privileges (Kubernetes's default) and right before exec (no_new_privs, when the container
 * sets allowPrivilegeEscalation: false). Built from what tests/startup/measure saw runc do. */
static void check_startup(const Effective *e, const ArchInfo *arch, const ValidateOptions *o, NameTable *t,
                          uint32_t def, Diagnostics *d)
{
        StartupReport rep[2] = {};
        unsigned major, minor;
        bool measured_arch = strcmp(arch->name, startup_runc_arch) == 0;
        char path[96], text[2][2048];

        validate_runc_version(o, &major, &minor);
        if ((major < 1 || (major == 1 && minor < 2)) && e->flags && e->flags->n > 0)
                diag_add(d, DIAG_CONTAINER_CANNOT_START, "flags", 0, 0,
                         "flags: runc before 1.2 refuses any seccomp flags (\"seccomp flags are not yet "
                         "supported by runc\"): no container starts under this profile on a node with runc "
                         "%u.%u (Debian 12 and many managed node images ship 1.1); drop \"flags\", or "
                         "validate with --runc-version 1.2 if every node runs runc 1.2 or later",
                         major, minor);

        /* runc's own needs first, then the C library's; the table is sorted by name, a syscall's
         * no_new_privs row right after its other one (gen-startup-table.py checks). */
        for (int libc = 0; libc < 2; libc++)
                for (size_t i = 0; i < startup_runc_count; i++) {
                        const StartupNeed *n = startup_runc + i, *next = n + 1;
                        ssize_t rule;
                        /* What a C program's own start needs was measured on one architecture only. */
                        if (n->libc != libc || (n->libc && !measured_arch) ||
                            !name_on_arch(n->name, arch->token))
                                continue;
                        uint32_t act = startup_action(t, n->name, def, &rule);
                        bool said_with_nnp = !n->nnp && i + 1 < startup_runc_count && next->nnp &&
                                             strcmp(next->name, n->name) == 0 &&
                                             startup_fate(next, act, t, def) != FATE_OK;
                        report_add(&rep[n->nnp], startup_fate(n, act, t, def), n,
                                   rule >= 0 ? e->rules[rule].action : e->default_action, rule,
                                   said_with_nnp);
                }
        if (!rep[0].bad && !rep[1].bad)
                return;

        report_text(&rep[0], text[0], sizeof(text[0]));
        report_text(&rep[1], text[1], sizeof(text[1]));
        const StartupReport *r = rep[1].bad ? &rep[1] : &rep[0];
        const char *p = "defaultAction";
        Loc l = {};
        if (r->rule >= 0) {
                (void) snprintf(path, sizeof(path), "syscalls[%zu]", e->rules[r->rule].rule);
                p = path;
                l = e->rules[r->rule].loc_action;
        }
        if (rep[1].bad)
                diag_add(d, DIAG_CONTAINER_CANNOT_START, p, l.line, l.column,
                         "%s: %s under this profile%s (runc %u.%u; measured on runc %s): %s%s%s", p,
                         rep[1].n[FATE_FAILS] + rep[1].n[FATE_HANGS] > 0 ? "no container can start"
                                                                         : "some starts fail",
                         rep[0].bad ? "" : " when it sets allowPrivilegeEscalation: false", major, minor,
                         startup_runc_version, text[1],
                         text[0][0]
                                 ? "; without allowPrivilegeEscalation: false (Kubernetes's default) also "
                                 : "",
                         text[0]);
        else
                diag_add(d, DIAG_CONTAINER_NEEDS_NO_NEW_PRIVILEGES, p, l.line, l.column,
                         "%s: %s under this profile unless it sets allowPrivilegeEscalation: false (runc "
                         "then loads the filter right before exec); by default (allowPrivilegeEscalation "
                         "unset) runc loads it before dropping privileges, and %s (runc %u.%u; measured on "
                         "runc %s)",
                         p,
                         rep[0].n[FATE_FAILS] + rep[0].n[FATE_HANGS] > 0 ? "no container can start"
                                                                         : "some starts fail",
                         text[0], major, minor, startup_runc_version);
}

int effective_analyze(const Effective *e, const ArchInfo *arch, const ValidateOptions *o, Diagnostics *d)
{
        _cleanup_free_ NameState *slots = NULL;
        uint32_t tokens[32], def, act;
        size_t n_tokens = 0;
        char path[96];
        NameTable t;

        if (!action_value(e->default_action, e->has_default_errno_ret, e->default_errno_ret, &def))
                return 0;

        tokens[n_tokens++] = arch->token;
        for (size_t i = 0; i < e->n_architectures && n_tokens < ELEMENTSOF(tokens); i++) {
                const ArchInfo *a = arch_from_spec(e->architectures[i]);
                bool seen = false;
                for (size_t k = 0; a && k < n_tokens; k++)
                        seen = seen || tokens[k] == a->token;
                if (a && a->token && a->runc && !seen)
                        tokens[n_tokens++] = a->token;
        }

        if (name_table_new(e, &t) < 0)
                return -ENOMEM;
        slots = t.slots;

        for (size_t i = 0; i < e->n_rules; i++) {
                const EffectiveRule *er = e->rules + i;
                const ProfileArgs *args = er->args;
                char absent[512] = "";

                if (!action_value(er->action, er->has_errno_ret, er->errno_ret, &act))
                        continue;
                if (act == def) {
                        (void) snprintf(path, sizeof(path), "syscalls[%zu].action", er->rule);
                        if (er->n_names > 0)
                                diag_add(d, DIAG_RULE_NO_EFFECT, path, er->loc_action.line,
                                         er->loc_action.column,
                                         "%s: %s is also the default action; runc and crun skip the rule",
                                         path, er->action);
                        continue;
                }
                (void) snprintf(path, sizeof(path), "syscalls[%zu]", er->rule);
                for (size_t k = 0; k < er->n_names; k++) {
                        const char *name = er->names[k];
                        Loc l = er->name_locs[k];
                        if (!*name || seccomp_syscall_resolve_name(name) == __NR_SCMP_ERROR)
                                continue; /* reported by the checks */

                        bool anywhere = false;
                        for (size_t a = 0; a < n_tokens && !anywhere; a++)
                                anywhere = name_on_arch(name, tokens[a]);
                        if (!anywhere)
                                append(absent, sizeof(absent), name);

                        NameState *s = name_lookup(&t, name, true);
                        if (s->uncond >= 0) {
                                if (s->uncond_act != act || args->n > 0)
                                        diag_add(d, DIAG_RULE_NO_EFFECT, path, l.line, l.column,
                                                 "%s: \"%s\" was already decided without conditions by "
                                                 "syscalls[%zu] (%s); libseccomp keeps the first "
                                                 "unconditional rule and silently drops this %s",
                                                 path, name, e->rules[s->uncond].rule,
                                                 e->rules[s->uncond].action, er->action);
                                continue;
                        }
                        if (args->n == 0) {
                                if (s->cond >= 0 && (s->cond_mixed || s->cond_act != act))
                                        diag_add(d, DIAG_RULE_REPLACES_CONDITIONAL, path, l.line, l.column,
                                                 "%s: this unconditional %s for \"%s\" replaces the "
                                                 "conditional rule of syscalls[%zu] (%s): libseccomp drops "
                                                 "conditional rules once an unconditional one exists",
                                                 path, er->action, name, e->rules[s->cond].rule,
                                                 e->rules[s->cond].action);
                                s->uncond = (ssize_t) i;
                                s->uncond_act = act;
                        } else {
                                if (s->cond < 0) {
                                        s->cond = (ssize_t) i;
                                        s->cond_act = act;
                                } else if (s->cond_act != act)
                                        s->cond_mixed = true;
                                s->cond_allows = s->cond_allows || allows(act);
                        }
                }
                if (absent[0]) {
                        char arches[256] = "";
                        for (size_t a = 0; a < n_tokens; a++)
                                append(arches, sizeof(arches), arch_from_token(tokens[a])->name);
                        (void) snprintf(path, sizeof(path), "syscalls[%zu].names", er->rule);
                        diag_add(d, DIAG_SYSCALL_ABSENT_ARCH, path, 0, 0,
                                 "%s: not a syscall on any architecture of this filter (%s): %s", path,
                                 arches, absent);
                }
        }

        check_startup(e, arch, o, &t, def, d);

        if (effective_confines_nothing(e))
                diag_add(
                        d, DIAG_CONFINES_NOTHING, "defaultAction", 0, 0,
                        "defaultAction: %s with no stricter rule confines nothing: the container runs as if "
                        "Unconfined, yet the Pod Security \"restricted\" level accepts it as a Localhost "
                        "profile",
                        e->default_action);
        return 0;
}
