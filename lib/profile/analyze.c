/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>
#include <string.h>

#include "analyze.h"
#include "baseline.h"
#include "compile.h"
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

static void append(char *buf, size_t size, const char *s)
{
        size_t l = strlen(buf);
        if (l + strlen(s) + 3 < size)
                (void) snprintf(buf + l, size - l, "%s%s", l ? ", " : "", s);
}

int effective_analyze(const Effective *e, const ArchInfo *arch, Diagnostics *d)
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

        const ActionInfo *da = action_from_spec(e->default_action);
        if (da && da->blocks) {
                char missing[512] = "", also[768] = "";
                for (size_t k = 0; k < baseline_runc_count; k++) {
                        const char *name = baseline_runc[k];
                        if (!name_on_arch(name, arch->token))
                                continue;
                        const NameState *s = name_lookup(&t, name, false);
                        bool ok = s && (s->uncond >= 0 ? allows(s->uncond_act) : s->cond_allows);
                        if (ok)
                                continue;
                        bool essential = false;
                        for (size_t m = 0; m < baseline_essential_count; m++)
                                essential = essential || strcmp(baseline_essential[m], name) == 0;
                        append(essential ? missing : also, essential ? sizeof(missing) : sizeof(also), name);
                }
                if (missing[0])
                        diag_add(d, DIAG_CONTAINER_CANNOT_START, "defaultAction", 0, 0,
                                 "defaultAction: %s blocks every syscall not allowed, and %s %s not "
                                 "allowed: no "
                                 "container can start under this profile (runc dies before the workload "
                                 "runs and "
                                 "reports something generic, such as \"No error following JSON procError "
                                 "payload\"); runc's own start-up also needs: %s",
                                 e->default_action, missing, strchr(missing, ',') ? "are" : "is",
                                 also[0] ? also : "nothing more");
        }

        if (effective_confines_nothing(e))
                diag_add(
                        d, DIAG_CONFINES_NOTHING, "defaultAction", 0, 0,
                        "defaultAction: %s with no stricter rule confines nothing: the container runs as if "
                        "Unconfined, yet the Pod Security \"restricted\" level accepts it as a Localhost "
                        "profile",
                        e->default_action);
        return 0;
}
