/* SPDX-License-Identifier: Apache-2.0 */
#include <inttypes.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "convert.h"
#include "resolve.h"

/* A writer for the fixed OCI shape. jansson cannot be used to emit it: its integers are signed 64-bit,
 * and argument values of 2^63 and above are real (negative constants such as AT_FDCWD). */
static void put_string(FILE *f, const char *s)
{
        fputc('"', f);
        for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
                if (*p == '"' || *p == '\\')
                        fprintf(f, "\\%c", *p);
                else if (*p == '\n')
                        fputs("\\n", f);
                else if (*p == '\t')
                        fputs("\\t", f);
                else if (*p < 0x20)
                        fprintf(f, "\\u%04x", *p);
                else
                        fputc(*p, f);
        }
        fputc('"', f);
}

static void put_strings(FILE *f, const char *indent, const char *key, const char *const *items, size_t n,
                        bool last)
{
        fprintf(f, "%s\"%s\": [", indent, key);
        for (size_t i = 0; i < n; i++) {
                fprintf(f, "%s\n%s  ", i ? "," : "", indent);
                put_string(f, items[i]);
        }
        fprintf(f, "\n%s]%s\n", indent, last ? "" : ",");
}

static void emit(FILE *f, const Effective *e)
{
        fputs("{\n  \"defaultAction\": ", f);
        put_string(f, e->default_action);
        if (e->has_default_errno_ret)
                fprintf(f, ",\n  \"defaultErrnoRet\": %" PRIu64, e->default_errno_ret);
        fputs(",\n", f);
        if (e->n_architectures > 0)
                put_strings(f, "  ", "architectures", e->architectures, e->n_architectures, false);
        if (e->flags->n > 0)
                put_strings(f, "  ", "flags", e->flags->items, e->flags->n, false);
        if (e->listener_path && *e->listener_path) {
                fputs("  \"listenerPath\": ", f);
                put_string(f, e->listener_path);
                fputs(",\n", f);
        }
        if (e->listener_metadata && *e->listener_metadata) {
                fputs("  \"listenerMetadata\": ", f);
                put_string(f, e->listener_metadata);
                fputs(",\n", f);
        }
        fputs("  \"syscalls\": [", f);
        for (size_t i = 0; i < e->n_rules; i++) {
                const EffectiveRule *r = e->rules + i;
                fprintf(f, "%s\n    {\n", i ? "," : "");
                put_strings(f, "      ", "names", r->names, r->n_names, false);
                fputs("      \"action\": ", f);
                put_string(f, r->action);
                if (r->has_errno_ret)
                        fprintf(f, ",\n      \"errnoRet\": %" PRIu64, r->errno_ret);
                if (r->args->n > 0) {
                        fputs(",\n      \"args\": [", f);
                        for (size_t k = 0; k < r->args->n; k++) {
                                const ProfileArg *a = r->args->items + k;
                                fprintf(f,
                                        "%s\n        {\n          \"index\": %" PRIu64
                                        ",\n          \"value\": %" PRIu64
                                        ",\n          \"valueTwo\": %" PRIu64 ",\n          \"op\": ",
                                        k ? "," : "", a->index, a->value, a->value_two);
                                put_string(f, a->op ?: "");
                                fputs("\n        }", f);
                        }
                        fputs("\n      ]", f);
                }
                fputs("\n    }", f);
        }
        fputs(e->n_rules ? "\n  ]\n}\n" : "]\n}\n", f);
}

int profile_convert(const char *buf, size_t len, const ConvertOptions *o, Diagnostics *d, char **ret)
{
        _cleanup_(profile_freep) Profile *p = NULL;
        _cleanup_free_ char *out = NULL;
        Diagnostics all = {};
        Effective e = {};
        size_t out_len = 0;
        FILE *f;
        int r;

        const ArchInfo *arch = o->arch ? o->arch : arch_from_token(seccomp_arch_native());
        if (!arch)
                return -EOPNOTSUPP;
        ResolveOptions ro = {
                .flavor = FLAVOR_MOBY,
                .arch = arch,
                .caps = o->caps,
                .n_caps = o->n_caps,
                .kernel_major = o->kernel_major,
                .kernel_minor = o->kernel_minor,
        };
        if (!o->caps) {
                bool crio = o->runtime == RUNTIME_CRIO;
                ro.caps = crio ? caps_default_crio : caps_default_containerd;
                ro.n_caps = crio ? caps_default_crio_count : caps_default_containerd_count;
        }
        if (ro.kernel_major == 0 && ro.kernel_minor == 0) {
                r = kernel_version_native(&ro.kernel_major, &ro.kernel_minor);
                if (r < 0)
                        return r;
        }

        if (len > PROFILE_MAX_SIZE) {
                diag_add(d, DIAG_JSON_TOO_LARGE, "", 0, 0,
                         "the profile is %zu bytes; seccompd reads at most %d", len, PROFILE_MAX_SIZE);
                return diagnostics_done(d) ?: -EINVAL;
        }
        r = profile_parse(buf, len, &all, &p);
        if (r >= 0) {
                /* The Docker-format checks: what convert resolves (name, includes, errno names) is not an
                 * error here, so check as CRI-O would read it. */
                ValidateOptions vo = {.runtime = RUNTIME_CRIO, .arch = arch};
                profile_check(p, &vo, arch, &all);
        }
        for (size_t i = 0; i < all.n; i++)
                if (all.items[i].severity == SEVERITY_ERROR)
                        diag_add(d, all.items[i].code, all.items[i].path, all.items[i].line,
                                 all.items[i].column, "%s", all.items[i].message);
        diagnostics_clear(&all);
        if (r == -EBADMSG)
                return diagnostics_done(d) ?: -EINVAL;
        if (r < 0)
                return r;
        r = diagnostics_done(d);
        if (r < 0)
                return r;
        if (diagnostics_count(d, SEVERITY_ERROR) > 0)
                return -EINVAL;

        r = profile_resolve(p, &ro, &e);
        if (r < 0)
                return r;
        f = open_memstream(&out, &out_len);
        if (!f) {
                effective_clear(&e);
                return -ENOMEM;
        }
        emit(f, &e);
        effective_clear(&e);
        if (fclose(f) != 0)
                return -ENOMEM;
        *ret = TAKE_PTR(out);
        return 0;
}
