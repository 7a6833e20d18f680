/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "check.h"
#include "resolve.h"
#include "syscalls.h"
#include "tables.h"

#define PATH_MAX_LEN 128

static const char *rule_path(char buf[static PATH_MAX_LEN], size_t i, const char *field)
{
        (void) snprintf(buf, PATH_MAX_LEN, "syscalls[%zu]%s%s", i, field ? "." : "", field ? field : "");
        return buf;
}

bool action_stricter(const char *rule_action, const char *default_action)
{
        const ActionInfo *r = action_from_spec(rule_action), *d = action_from_spec(default_action);
        return r && d && r->rank < d->rank;
}

/* A case-insensitive match is the most common slip ("scmp_act_errno"); say so. Every name in the
 * tables is short: a longer value cannot match and is not copied (it is untrusted and may be 1 MiB). */
#define NAME_MAX_LEN 48

static const char *upper(const char *value, char buf[static NAME_MAX_LEN])
{
        size_t n = strlen(value);
        if (n >= NAME_MAX_LEN)
                return NULL;
        for (size_t i = 0; i <= n; i++)
                buf[i] = value[i] >= 'a' && value[i] <= 'z' ? (char) (value[i] - 'a' + 'A') : value[i];
        return buf;
}

static const char *did_you_mean(const char *match, char buf[static 96])
{
        if (match)
                (void) snprintf(buf, 96, "; did you mean \"%s\"?", match);
        else
                buf[0] = 0;
        return buf;
}

#define SUGGEST(lookup, value, buf)                                                                         \
        ({                                                                                                  \
                char up_[NAME_MAX_LEN];                                                                     \
                const char *u_ = upper((value), up_);                                                       \
                did_you_mean(u_ &&lookup(u_) ? u_ : NULL, (buf));                                           \
        })

static void check_action(Diagnostics *d, const char *path, Loc loc, const char *action)
{
        char hint[96];
        if (!action || !*action) {
                diag_add(d, DIAG_UNKNOWN_ACTION, path, loc.line, loc.column,
                         "%s: missing; runc fails with \"string  is not a valid action for seccomp\"", path);
                return;
        }
        if (!action_from_spec(action))
                diag_add(d, DIAG_UNKNOWN_ACTION, path, loc.line, loc.column,
                         "%s: unknown action \"%s\" (names are exact and case-sensitive: SCMP_ACT_ALLOW, "
                         "SCMP_ACT_ERRNO, SCMP_ACT_KILL_PROCESS, ...); runc fails with \"string %s is not a "
                         "valid action for seccomp\"%s",
                         path, action, action, SUGGEST(action_from_spec, action, hint));
}

static void check_arch(Diagnostics *d, const char *path, Loc loc, const char *spec)
{
        char hint[96], v[32];
        const ArchInfo *a = arch_from_spec(spec);

        if (!a) {
                const ArchInfo *alias = arch_from_user(spec);
                if (alias)
                        (void) did_you_mean(alias->spec, hint);
                else
                        (void) SUGGEST(arch_from_spec, spec, hint);
                diag_add(d, DIAG_UNKNOWN_ARCH, path, loc.line, loc.column,
                         "%s: unknown architecture \"%s\"; runc fails with \"string %s is not a valid arch "
                         "for "
                         "seccomp\"%s",
                         path, spec, spec, hint);
        } else if (!a->runc)
                diag_add(d, DIAG_UNSUPPORTED_ARCH, path, loc.line, loc.column,
                         "%s: runc does not know %s (it has no PARISC, M68K or SH architectures) and fails "
                         "with \"string %s is not a valid arch for seccomp\"; no Kubernetes node can use it",
                         path, spec, spec);
        else if (a->token == 0) {
                libseccomp_version(v);
                diag_add(d, DIAG_NEEDS_NEWER_LIBSECCOMP, path, loc.line, loc.column,
                         "%s: %s needs libseccomp >= %s (this is %s): not checked here; the node's runc "
                         "must bundle a libseccomp that new",
                         path, spec, a->since, v);
        }
}

static void check_errno_value(Diagnostics *d, const char *path, Loc loc, uint64_t value, const char *action)
{
        const ActionInfo *a = action_from_spec(action);

        if (a && !a->takes_errno)
                diag_add(d, DIAG_ERRNO_WRONG_ACTION, path, loc.line, loc.column,
                         "%s: an errno value only means something with SCMP_ACT_ERRNO or SCMP_ACT_TRACE, "
                         "not %s; "
                         "crun refuses the profile (\"errno value specified for action `%s`\") and runc "
                         "silently ignores it",
                         path, action, action);
        if (value >= 4095)
                diag_add(d, DIAG_ERRNO_RANGE, path, loc.line, loc.column,
                         "%s: %" PRIu64
                         " is not an errno: values must be below 4095; libseccomp refuses it and "
                         "runc reports the misleading \"two checks on same syscall argument\"",
                         path, value);
        else if (value == 0 && a && a->base == SCMP_ACT_ERRNO(0))
                diag_add(d, DIAG_ERRNO_ZERO, path, loc.line, loc.column,
                         "%s: errno 0 makes the syscall return success without running (fake success); if "
                         "you meant to deny it, use EPERM (1) or ENOSYS (38)",
                         path);
}

static void check_min_kernel(Diagnostics *d, const Runtime runtime, const char *path, const ProfileFilter *f)
{
        unsigned a, b;
        char p[PATH_MAX_LEN];

        (void) snprintf(p, sizeof(p), "%s.minKernel", path);
        if (f->min_kernel_not_string ||
            (f->min_kernel && *f->min_kernel && min_kernel_parse(f->min_kernel, &a, &b) < 0)) {
                diag_add(d, DIAG_MIN_KERNEL_MALFORMED, p, f->loc_min_kernel.line, f->loc_min_kernel.column,
                         "%s: invalid kernel version%s%s%s: Docker refuses the profile (expected a string "
                         "\"<kernel>.<major>\" such as \"4.8\", each part 0-255); %s ignores minKernel, "
                         "so the node loads it",
                         p, f->min_kernel ? " \"" : "", f->min_kernel ?: "", f->min_kernel ? "\"" : "",
                         runtime == RUNTIME_CRIO ? "CRI-O (containers/common)" : "containerd");
                return;
        }
        if (runtime == RUNTIME_CRIO && f->min_kernel && *f->min_kernel)
                diag_add(d, DIAG_MIN_KERNEL_IGNORED, p, f->loc_min_kernel.line, f->loc_min_kernel.column,
                         "%s: CRI-O (containers/common) has no minKernel: the condition is ignored and the "
                         "rule "
                         "%s on every kernel",
                         p, strstr(path, "includes") ? "applies" : "is never excluded");
}

static bool filter_empty(const ProfileFilter *f)
{
        return f->caps.n == 0 && f->arches.n == 0 && !(f->min_kernel && *f->min_kernel) &&
               !f->min_kernel_not_string;
}

/* What errno a containerd node really returns for an ERRNO/TRACE action: errnoRet, else runc's EPERM. */
static uint64_t oci_errno(const uint64_t *errno_ret)
{
        return errno_ret ? *errno_ret : EPERM;
}

static void check_containerd_errno(Diagnostics *d, const char *path, Loc loc, const char *name,
                                   const uint64_t *errno_ret, const char *action)
{
        uint64_t n;
        const ActionInfo *a = action_from_spec(action);

        if (!name || !*name || errno_from_name(name, &n) < 0)
                return;
        if (a && !a->takes_errno)
                return;
        if (n == oci_errno(errno_ret))
                return;
        diag_add(d, DIAG_CONTAINERD_IGNORED_FIELD, path, loc.line, loc.column,
                 "%s: containerd ignores the containers/common errno \"%s\" (%" PRIu64
                 "): the syscall fails with "
                 "errno %" PRIu64 " there instead; set the number in %s, or run `seccompd convert`",
                 path, name, n, oci_errno(errno_ret),
                 strstr(path, "default") ? "defaultErrnoRet" : "errnoRet");
}

/* k: index into names, or SIZE_MAX for the single "name". The path is formatted only for a finding:
 * this runs for every name of every profile. */
static void check_rule_names(Diagnostics *d, const Profile *p, size_t i, size_t k, const char *name, Loc loc,
                             bool rule_has_real_name)
{
        const ProfileRule *r = p->syscalls.items + i;
        char path[PATH_MAX_LEN], v[32];
        SyscallClass c = {};

        if (*name) {
                c = syscall_classify(name);
                if (c.kind == SYSCALL_KNOWN)
                        return;
        }
        if (k == SIZE_MAX)
                rule_path(path, i, "name");
        else
                (void) snprintf(path, sizeof(path), "syscalls[%zu].names[%zu]", i, k);
        if (!*name) {
                diag_add(d, DIAG_RULE_EMPTY_NAME, path, loc.line, loc.column,
                         "%s: empty syscall name; runc fails with \"empty string is not a valid syscall\"",
                         path);
                return;
        }
        bool stricter = r->action && p->default_action && action_stricter(r->action, p->default_action);

        switch (c.kind) {
        case SYSCALL_KNOWN:
                return;
        case SYSCALL_NEWER:
                libseccomp_version(v);
                if (strcmp(c.since, "none") == 0)
                        diag_add(d, DIAG_NEEDS_NEWER_LIBSECCOMP, path, loc.line, loc.column,
                                 "%s: \"%s\" is a Linux syscall that no released libseccomp knows; runtimes "
                                 "drop "
                                 "it silently%s",
                                 path, name, stricter ? ", so this rule never denies it" : "");
                else
                        diag_add(d, DIAG_NEEDS_NEWER_LIBSECCOMP, path, loc.line, loc.column,
                                 "%s: \"%s\" is a Linux syscall that libseccomp knows only from %s (this is "
                                 "%s); "
                                 "a runc or crun built with an older libseccomp drops it silently%s",
                                 path, name, c.since, v,
                                 stricter ? ", and this rule then never denies it" : "");
                return;
        case SYSCALL_NOT_LINUX:
                if (stricter && !rule_has_real_name)
                        diag_add(d, DIAG_SYSCALL_NOT_LINUX, path, loc.line, loc.column,
                                 "%s: \"%s\" is not a Linux syscall; runtimes drop unknown names silently, "
                                 "and the rule names no real one, so this %s rule would never apply%s%s%s",
                                 path, name, r->action, c.suggestion ? "; did you mean \"" : "",
                                 c.suggestion ?: "", c.suggestion ? "\"?" : "");
                else if (stricter)
                        diag_add(d, DIAG_SYSCALL_UNKNOWN, path, loc.line, loc.column,
                                 "%s: \"%s\" is not a Linux syscall; runc drops this one name and the %s "
                                 "rule still applies to the rule's other syscalls, but not to the one meant "
                                 "here%s%s%s",
                                 path, name, r->action, c.suggestion ? "; did you mean \"" : "",
                                 c.suggestion ?: "", c.suggestion ? "\"?" : "");
                else
                        diag_add(d, DIAG_SYSCALL_UNKNOWN, path, loc.line, loc.column,
                                 "%s: \"%s\" is not a Linux syscall (a typo?); runtimes drop it "
                                 "silently%s%s%s",
                                 path, name, c.suggestion ? "; did you mean \"" : "", c.suggestion ?: "",
                                 c.suggestion ? "\"?" : "");
                return;
        }
}

static bool arg_equal(const ProfileArg *a, const ProfileArg *b)
{
        return a->index == b->index && a->value == b->value && a->value_two == b->value_two && a->op &&
               b->op && strcmp(a->op, b->op) == 0;
}

static void check_args(Diagnostics *d, const Profile *p, size_t i)
{
        const ProfileRule *r = p->syscalls.items + i;
        char path[PATH_MAX_LEN], hint[96];

        if (r->args.n > 6)
                diag_add(d, DIAG_ARG_COUNT, rule_path(path, i, "args"), r->loc_args.line, r->loc_args.column,
                         "%s: %zu conditions, but a syscall has at most 6 arguments; runc refuses the "
                         "profile",
                         path, r->args.n);

        for (size_t k = 0; k < r->args.n; k++) {
                const ProfileArg *a = r->args.items + k;
                char ap[PATH_MAX_LEN];
                (void) snprintf(ap, sizeof(ap), "syscalls[%zu].args[%zu]", i, k);
                if (a->index > 5) {
                        (void) snprintf(path, sizeof(path), "%s.index", ap);
                        diag_add(d, DIAG_ARG_INDEX, path, a->loc_index.line, a->loc_index.column,
                                 "%s: argument index %" PRIu64
                                 ", but syscall arguments are numbered 0 to 5; runc "
                                 "fails with \"syscalls only have up to 6 arguments (%" PRIu64 " given)\"",
                                 path, a->index, a->index);
                }
                (void) snprintf(path, sizeof(path), "%s.op", ap);
                if (!a->op || !*a->op)
                        diag_add(d, DIAG_UNKNOWN_OPERATOR, path, a->loc.line, a->loc.column,
                                 "%s: missing operator; runc fails with \"string  is not a valid operator "
                                 "for "
                                 "seccomp\"",
                                 path);
                else if (!operator_from_spec(a->op))
                        diag_add(d, DIAG_UNKNOWN_OPERATOR, path, a->loc_op.line, a->loc_op.column,
                                 "%s: unknown operator \"%s\" (one of SCMP_CMP_NE, _LT, _LE, _EQ, _GE, _GT, "
                                 "_MASKED_EQ); runc fails with \"string %s is not a valid operator for "
                                 "seccomp\"%s",
                                 path, a->op, a->op, SUGGEST(operator_from_spec, a->op, hint));
        }

        /* runc and crun put two conditions on one argument into separate rules: AND becomes OR. */
        for (size_t k = 0; k < r->args.n; k++) {
                const ProfileArg *a = r->args.items + k;
                bool first = true, all_same = true, all_eq = a->op && strcmp(a->op, "SCMP_CMP_EQ") == 0;
                size_t count = 1;
                for (size_t m = 0; m < k; m++)
                        if (r->args.items[m].index == a->index)
                                first = false;
                if (!first || a->index > 5)
                        continue;
                for (size_t m = k + 1; m < r->args.n; m++)
                        if (r->args.items[m].index == a->index) {
                                count++;
                                all_same = all_same && arg_equal(a, r->args.items + m);
                                all_eq = all_eq && r->args.items[m].op &&
                                         strcmp(r->args.items[m].op, "SCMP_CMP_EQ") == 0;
                        }
                if (count < 2)
                        continue;
                rule_path(path, i, "args");
                bool wider = r->action && p->default_action && action_from_spec(r->action) &&
                             action_from_spec(p->default_action) &&
                             action_from_spec(r->action)->rank > action_from_spec(p->default_action)->rank;
                if (all_same)
                        diag_add(d, DIAG_ARG_SAME_INDEX, path, r->loc_args.line, r->loc_args.column,
                                 "%s: the same condition on argument %" PRIu64
                                 " is written %zu times; runtimes add "
                                 "each as its own rule, to no effect",
                                 path, a->index, count);
                else if (all_eq)
                        /* Equalities with different values can only be meant as a set: as AND they would
                         * never match. OR is what the author wants, and what runtimes do. */
                        diag_add(d, DIAG_ARG_SAME_INDEX, path, r->loc_args.line, r->loc_args.column,
                                 "%s: %zu SCMP_CMP_EQ conditions on argument %" PRIu64
                                 " become separate rules: "
                                 "the %s rule matches any one of the values (OR), which is likely what is "
                                 "meant",
                                 path, count, a->index, r->action ?: "");
                else if (wider)
                        diag_add(
                                d, DIAG_ARG_AND_BECOMES_OR, path, r->loc_args.line, r->loc_args.column,
                                "%s: %zu conditions on argument %" PRIu64
                                " are meant together (AND), but runc and "
                                "crun add each as a separate rule (OR): this %s rule then lets through what "
                                "either condition matches, which is wider than intended; write one "
                                "condition per "
                                "argument (e.g. SCMP_CMP_MASKED_EQ), or split it into explicit rules",
                                path, count, a->index, r->action);
                else
                        diag_add(d, DIAG_ARG_SAME_INDEX, path, r->loc_args.line, r->loc_args.column,
                                 "%s: %zu conditions on argument %" PRIu64
                                 " are applied as separate rules (OR), "
                                 "not together (AND): this %s rule matches when either one does",
                                 path, count, a->index, r->action ?: "");
        }
}

static bool in_list(const StringList *l, const char *s)
{
        for (size_t i = 0; i < l->n; i++)
                if (strcmp(l->items[i], s) == 0)
                        return true;
        return false;
}

/* containerd applies every rule, whatever its includes/excludes say. When they select by architecture
 * only and Docker's reading selects the rule on this architecture too, ignoring them changes nothing
 * here. Capabilities and kernels vary from container to container and node to node: those always do. */
static bool ignoring_filter_changes_nothing(const ProfileFilter *f, bool excludes, const ArchInfo *arch)
{
        if (f->caps.n > 0 || (f->min_kernel && *f->min_kernel) || f->min_kernel_not_string)
                return false;
        return excludes ? !in_list(&f->arches, arch->go) : in_list(&f->arches, arch->go);
}

static bool rule_has_real_name(const ProfileRule *r, Runtime runtime)
{
        for (size_t k = 0; k < r->names.n; k++)
                if (syscall_classify(r->names.items[k]).kind == SYSCALL_KNOWN)
                        return true;
        /* containerd never sees the single "name" */
        return runtime != RUNTIME_CONTAINERD && r->name && *r->name &&
               syscall_classify(r->name).kind == SYSCALL_KNOWN;
}

static void check_rule(Diagnostics *d, const Profile *p, size_t i, const ValidateOptions *o,
                       const ArchInfo *arch, bool *notify_seen)
{
        const ProfileRule *r = p->syscalls.items + i;
        char path[PATH_MAX_LEN];
        bool has_name = r->name && *r->name;

        /* containerd reads "names" only: what it makes of "name" is said below. */
        if (o->runtime != RUNTIME_CONTAINERD && has_name && r->names.n > 0)
                diag_add(d, DIAG_RULE_NAME_AND_NAMES, rule_path(path, i, "name"), r->loc_name.line,
                         r->loc_name.column,
                         "%s: both \"name\" and \"names\"; Docker and CRI-O refuse the profile (\"both "
                         "'name' and "
                         "'names' are specified in the seccomp profile\"): keep only \"names\"",
                         path);
        if (!has_name && r->names.n == 0)
                diag_add(d, DIAG_RULE_NO_NAMES, rule_path(path, i, NULL), r->loc.line, r->loc.column,
                         "%s: the rule names no syscall; runtimes add nothing for it, silently", path);
        if (o->runtime == RUNTIME_CONTAINERD && has_name && in_list(&r->names, r->name))
                diag_add(d, DIAG_CONTAINERD_IGNORED_NO_CHANGE, rule_path(path, i, "name"), r->loc_name.line,
                         r->loc_name.column,
                         "%s: containerd ignores \"name\" (a Docker-only spelling); \"names\" lists \"%s\" "
                         "too, so nothing changes",
                         path, r->name);
        else if (o->runtime == RUNTIME_CONTAINERD && has_name)
                diag_add(d, DIAG_CONTAINERD_IGNORED_FIELD, rule_path(path, i, "name"), r->loc_name.line,
                         r->loc_name.column,
                         "%s: containerd ignores \"name\" (a Docker-only spelling): %s; write \"names\": "
                         "[\"%s\"] (`seccompd convert` does it)",
                         path,
                         r->names.n > 0 ? "only \"names\" counts there"
                                        : "this rule names no syscall there and does nothing",
                         r->name);

        bool real = rule_has_real_name(r, o->runtime);
        for (size_t k = 0; k < r->names.n; k++)
                check_rule_names(d, p, i, k, r->names.items[k], r->names.locs[k], real);
        if (has_name)
                check_rule_names(d, p, i, SIZE_MAX, r->name, r->loc_name, real);

        check_action(d, rule_path(path, i, "action"), r->loc_action.line ? r->loc_action : r->loc,
                     r->action);
        if (r->errno_ret)
                check_errno_value(d, rule_path(path, i, "errnoRet"), r->loc_errno_ret, *r->errno_ret,
                                  r->action ?: "");
        if (r->errno_name && *r->errno_name) {
                uint64_t n;
                rule_path(path, i, "errno");
                if (errno_from_name(r->errno_name, &n) < 0)
                        diag_add(d, DIAG_UNKNOWN_ERRNO, path, r->loc_errno_name.line,
                                 r->loc_errno_name.column,
                                 "%s: unknown errno \"%s\"; CRI-O and podman refuse the profile (\"unknown "
                                 "errno "
                                 "%s\")",
                                 path, r->errno_name, r->errno_name);
                else if (o->runtime == RUNTIME_CONTAINERD)
                        check_containerd_errno(d, path, r->loc_errno_name, r->errno_name, r->errno_ret,
                                               r->action ?: "");
                else
                        check_errno_value(d, path, r->loc_errno_name, n, r->action ?: "");
        }

        if (r->action && strcmp(r->action, "SCMP_ACT_NOTIFY") == 0) {
                *notify_seen = true;
                for (size_t k = 0; k < r->names.n; k++)
                        if (strcmp(r->names.items[k], "write") == 0) {
                                (void) snprintf(path, sizeof(path), "syscalls[%zu].names[%zu]", i, k);
                                diag_add(d, DIAG_NOTIFY_WRITE, path, r->names.locs[k].line,
                                         r->names.locs[k].column,
                                         "%s: SCMP_ACT_NOTIFY on write would deadlock the runtime, which "
                                         "needs "
                                         "write to hand over the listener; runc refuses it",
                                         path);
                        }
                if (!p->listener_path || !*p->listener_path)
                        diag_add(d, DIAG_NOTIFY_NO_LISTENER, rule_path(path, i, "action"),
                                 r->loc_action.line, r->loc_action.column,
                                 "%s: SCMP_ACT_NOTIFY without a top-level \"listenerPath\"; runc fails with "
                                 "\"seccomp listenerPath is not set\"",
                                 path);
                else {
                        bool allowed = false;
                        for (size_t k = 0; k < o->n_allow_notify; k++)
                                allowed = allowed || strcmp(o->allow_notify[k], p->listener_path) == 0;
                        if (!allowed)
                                diag_add(d, DIAG_NOTIFY_NOT_ALLOWED, rule_path(path, i, "action"),
                                         r->loc_action.line, r->loc_action.column,
                                         "%s: SCMP_ACT_NOTIFY makes the runtime, running as root on the "
                                         "node, "
                                         "connect to the profile's listenerPath \"%s\"; only listener paths "
                                         "the "
                                         "admin allows (--allow-notify PATH) are accepted",
                                         path, p->listener_path);
                }
        }

        check_args(d, p, i);

        for (int k = 0; k < 2; k++) {
                const ProfileFilter *f = k ? &r->excludes : &r->includes;
                const char *what = k ? "excludes" : "includes";
                rule_path(path, i, what);
                check_min_kernel(d, o->runtime, path, f);
                if (o->runtime == RUNTIME_CONTAINERD && !filter_empty(f) &&
                    ignoring_filter_changes_nothing(f, k, arch))
                        diag_add(d, DIAG_CONTAINERD_IGNORED_NO_CHANGE, path, f->loc.line, f->loc.column,
                                 "%s: containerd ignores \"%s\" (a Docker and CRI-O extension); it "
                                 "selects by architecture only, and on %s (%s) the rule %s as Docker reads "
                                 "it too, so nothing changes on this architecture (validate with --arch for "
                                 "nodes of others)",
                                 path, what, arch->name, arch->go, k ? "is not excluded" : "applies");
                else if (o->runtime == RUNTIME_CONTAINERD && !filter_empty(f))
                        diag_add(
                                d, DIAG_CONTAINERD_IGNORED_FIELD, path, f->loc.line, f->loc.column,
                                "%s: containerd ignores \"%s\" (a Docker and CRI-O extension): this rule %s "
                                "on "
                                "every node, for every container whatever its capabilities, architecture or "
                                "kernel; run `seccompd convert` to resolve it for your nodes",
                                path, what, k ? "is never excluded" : "applies");
        }
}

void profile_check(const Profile *p, const ValidateOptions *o, const ArchInfo *arch, Diagnostics *d)
{
        Loc loc = p->loc_default_action;
        char hint[96];
        bool notify_seen = false;

        /* moby, containers/common and runc all return "no seccomp" for a profile with neither a default
         * action nor rules: the container runs unconfined and nobody is told. */
        if (!p->default_action || !*p->default_action) {
                if (p->syscalls.n == 0)
                        diag_add(d, DIAG_DEFAULT_ACTION_MISSING, "defaultAction", loc.line, loc.column,
                                 "defaultAction: missing or empty, and no syscall rules: containerd, CRI-O "
                                 "and "
                                 "Docker then run the container unconfined, without any error");
                else
                        diag_add(d, DIAG_DEFAULT_ACTION_MISSING, "defaultAction", loc.line, loc.column,
                                 "defaultAction: missing or empty; runc fails to create the container "
                                 "(\"string  "
                                 "is not a valid action for seccomp\") and crun with \"seccomp misses the "
                                 "default "
                                 "action\"");
        } else if (!action_from_spec(p->default_action))
                diag_add(d, DIAG_UNKNOWN_ACTION, "defaultAction", loc.line, loc.column,
                         "defaultAction: unknown action \"%s\"; runc fails with \"string %s is not a valid "
                         "action "
                         "for seccomp\"%s",
                         p->default_action, p->default_action,
                         SUGGEST(action_from_spec, p->default_action, hint));
        else if (strcmp(p->default_action, "SCMP_ACT_NOTIFY") == 0)
                diag_add(d, DIAG_NOTIFY_DEFAULT, "defaultAction", loc.line, loc.column,
                         "defaultAction: SCMP_ACT_NOTIFY as the default would send every syscall of the "
                         "runtime "
                         "itself to the listener; runc refuses it");

        if (p->default_errno_ret)
                check_errno_value(d, "defaultErrnoRet", p->loc_default_errno_ret, *p->default_errno_ret,
                                  p->default_action ?: "");
        if (p->default_errno_name && *p->default_errno_name) {
                uint64_t n;
                Loc l = p->loc_default_errno_name;
                if (errno_from_name(p->default_errno_name, &n) < 0)
                        diag_add(d, DIAG_UNKNOWN_ERRNO, "defaultErrno", l.line, l.column,
                                 "defaultErrno: unknown errno \"%s\"; CRI-O and podman refuse the profile",
                                 p->default_errno_name);
                else if (o->runtime == RUNTIME_CONTAINERD)
                        check_containerd_errno(d, "defaultErrno", l, p->default_errno_name,
                                               p->default_errno_ret, p->default_action ?: "");
                else
                        check_errno_value(d, "defaultErrno", l, n, p->default_action ?: "");
        }

        for (size_t i = 0; i < p->architectures.n; i++) {
                char path[PATH_MAX_LEN];
                (void) snprintf(path, sizeof(path), "architectures[%zu]", i);
                check_arch(d, path, p->architectures.locs[i], p->architectures.items[i]);
        }
        for (size_t i = 0; i < p->arch_map.n; i++) {
                const ArchMapEntry *a = p->arch_map.items + i;
                char path[PATH_MAX_LEN];
                (void) snprintf(path, sizeof(path), "archMap[%zu].architecture", i);
                check_arch(d, path, a->loc_architecture, a->architecture ?: "");
                for (size_t k = 0; k < a->sub_architectures.n; k++) {
                        (void) snprintf(path, sizeof(path), "archMap[%zu].subArchitectures[%zu]", i, k);
                        check_arch(d, path, a->sub_architectures.locs[k], a->sub_architectures.items[k]);
                }
        }
        if (p->architectures.n > 0 && p->arch_map.n > 0)
                diag_add(d, DIAG_ARCH_AND_ARCHMAP, "archMap", p->loc_arch_map.line, p->loc_arch_map.column,
                         "archMap: both \"architectures\" and \"archMap\"; Docker and CRI-O refuse the "
                         "profile "
                         "(\"use either 'architectures' or 'archMap'\")");
        if (p->arch_map.n > 0 && p->architectures.n == 0) {
                if (o->runtime == RUNTIME_CONTAINERD)
                        diag_add(
                                d, DIAG_ARCHMAP_IGNORED, "archMap", p->loc_arch_map.line,
                                p->loc_arch_map.column,
                                "archMap: containerd ignores archMap: the filter covers only the node's "
                                "native "
                                "architecture, and 32-bit (x86, x32, arm) syscalls are killed; list them in "
                                "\"architectures\" (`seccompd convert` does it)");
                else if (strcmp(arch->go, "amd64") != 0 && strcmp(arch->go, "arm64") != 0 &&
                         strcmp(arch->go, "s390x") != 0 && strncmp(arch->go, "mips", 4) != 0)
                        diag_add(d, DIAG_ARCHMAP_IGNORED, "archMap", p->loc_arch_map.line,
                                 p->loc_arch_map.column,
                                 "archMap: containers/common (CRI-O) does not expand archMap on %s: the "
                                 "filter "
                                 "covers only the native architecture; list \"architectures\" instead",
                                 arch->name);
        }

        unsigned runc_major, runc_minor;
        validate_runc_version(o, &runc_major, &runc_minor);
        bool runc_has_flags = runc_major > 1 || (runc_major == 1 && runc_minor >= 2);
        for (size_t i = 0; i < p->flags.n; i++) {
                char path[PATH_MAX_LEN], v[32];
                const char *f = p->flags.items[i];
                const FlagInfo *fi = flag_from_spec(f);
                Loc l = p->flags.locs[i];
                (void) snprintf(path, sizeof(path), "flags[%zu]", i);
                if (!fi)
                        diag_add(d, DIAG_UNKNOWN_FLAG, path, l.line, l.column,
                                 "%s: unknown flag \"%s\" (runc knows SECCOMP_FILTER_FLAG_TSYNC, _LOG, "
                                 "_SPEC_ALLOW and _WAIT_KILLABLE_RECV); runc fails with \"seccomp flag %s "
                                 "is not "
                                 "known to runc\"",
                                 path, f, f);
                else if (libseccomp_version(v), version_compare(fi->since, v) > 0)
                        diag_add(
                                d, DIAG_NEEDS_NEWER_LIBSECCOMP, path, l.line, l.column,
                                "%s: %s needs libseccomp >= %s (this is %s); a runc built with an older one "
                                "fails to create the container",
                                path, f, fi->since, v);
                else if (runc_has_flags && strcmp(f, "SECCOMP_FILTER_FLAG_TSYNC") == 0)
                        diag_add(
                                d, DIAG_FLAG_TSYNC, path, l.line, l.column,
                                "%s: runc ignores SECCOMP_FILTER_FLAG_TSYNC (the container's init is single-"
                                "threaded when the filter loads)",
                                path);
        }
        if (runc_has_flags && p->flags.non_null && p->flags.n == 0)
                diag_add(d, DIAG_FLAGS_EMPTY, "flags", p->loc_flags.line, p->loc_flags.column,
                         "flags: an empty list is dropped when containerd or CRI-O re-marshal the spec, and "
                         "runc "
                         "then adds SECCOMP_FILTER_FLAG_SPEC_ALLOW as for a missing one");

        if (p->listener_path && *p->listener_path && p->listener_path[0] != '/')
                diag_add(d, DIAG_LISTENER_PATH_RELATIVE, "listenerPath", p->loc_listener_path.line,
                         p->loc_listener_path.column,
                         "listenerPath: \"%s\" is not absolute; crun refuses it, and a relative socket path "
                         "would "
                         "resolve against the runtime's working directory on the node",
                         p->listener_path);
        if (p->listener_metadata && *p->listener_metadata && !(p->listener_path && *p->listener_path))
                diag_add(d, DIAG_LISTENER_METADATA_NO_PATH, "listenerMetadata",
                         p->loc_listener_metadata.line, p->loc_listener_metadata.column,
                         "listenerMetadata: set without listenerPath; the runtime refuses it");

        for (size_t i = 0; i < p->syscalls.n; i++)
                check_rule(d, p, i, o, arch, &notify_seen);
}
