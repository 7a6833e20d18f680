/* SPDX-License-Identifier: Apache-2.0 */
/* Validate time per profile for the corpus (median of runs), against what libseccomp alone costs for
 * libseccomp alone for the same filter (init, rule adds, BPF export; decoding not timed), and a
 * verdict-cache hit.
 * Usage: bench-validate [--runtime containerd|cri-o] [--runs N] FILE... */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cache.h"
#include "compile.h"
#include "profile.h"
#include "resolve.h"
#include "shared/fileio.h"
#include "validate.h"

static double now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec * 1e3 + (double) ts.tv_nsec / 1e6;
}

static double libseccomp_ms(const char *buf, size_t len, const ValidateOptions *o)
{
        const ArchInfo *arch = o->arch ? o->arch : arch_from_token(seccomp_arch_native());
        bool crio = o->runtime == RUNTIME_CRIO;
        ResolveOptions ro = {
                .flavor = crio ? FLAVOR_COMMON : FLAVOR_OCI,
                .arch = arch,
                .caps = crio ? caps_default_crio : caps_default_containerd,
                .n_caps = crio ? caps_default_crio_count : caps_default_containerd_count,
        };
        Diagnostics d = {};
        Profile *p = NULL;
        Effective e = {};
        scmp_filter_ctx ctx = NULL;
        unsigned n;
        double t = 0;

        if (profile_parse(buf, len, &d, &p) >= 0 && profile_resolve(p, &ro, &e) >= 0) {
                double t0 = now_ms();
                if (effective_compile(&e, arch, &d, &ctx) >= 0) {
                        (void) filter_count_instructions(ctx, &n);
                        seccomp_release(ctx);
                }
                t = now_ms() - t0;
        }
        effective_clear(&e);
        profile_free(p);
        diagnostics_clear(&d);
        return t;
}

static int compare_double(const void *a, const void *b)
{
        double x = *(const double *) a, y = *(const double *) b;
        return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
        qsort(v, (size_t) n, sizeof(double), compare_double);
        return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char *argv[])
{
        ValidateOptions o = {.runtime = RUNTIME_CONTAINERD};
        int runs = 9, first = 1;
        while (first < argc && strncmp(argv[first], "--", 2) == 0) {
                if (strcmp(argv[first], "--runtime") == 0 && first + 1 < argc)
                        (void) runtime_from_string(argv[++first], &o.runtime);
                else if (strcmp(argv[first], "--runs") == 0 && first + 1 < argc)
                        runs = atoi(argv[++first]);
                first++;
        }
        printf("%-48s %10s %12s %10s %10s %8s\n", "profile", "validate", "libseccomp", "overhead",
               "cache-hit", "insns");
        for (int i = first; i < argc; i++) {
                char *buf = NULL;
                size_t len;
                double tv[64], tl[64], th[64];
                unsigned insns = 0;
                VerdictCache *cache = NULL;
                if (read_full_file(argv[i], PROFILE_MAX_SIZE, &buf, &len) < 0 ||
                    verdict_cache_new(4, &cache) < 0)
                        return 2;
                for (int r = 0; r < runs && r < 64; r++) {
                        Verdict v;
                        double t0 = now_ms();
                        if (profile_validate(buf, len, &o, &v) < 0)
                                return 2;
                        tv[r] = now_ms() - t0;
                        insns = v.bpf_instructions;
                        verdict_clear(&v);

                        /* libseccomp alone: the profile is decoded and resolved outside the timing;
                         * timed are seccomp_init, the rule adds and the BPF export, as runc does them. */
                        tl[r] = libseccomp_ms(buf, len, &o);

                        bool hit;
                        (void) profile_validate_cached(cache, buf, len, &o, &v, &hit);
                        verdict_clear(&v);
                        t0 = now_ms();
                        (void) profile_validate_cached(cache, buf, len, &o, &v, &hit);
                        th[r] = now_ms() - t0;
                        verdict_clear(&v);
                }
                int n = runs < 64 ? runs : 64;
                double mv = median(tv, n), ml = median(tl, n), mh = median(th, n);
                const char *name = strrchr(argv[i], '/') ? strrchr(argv[i], '/') + 1 : argv[i];
                printf("%-48s %8.3fms %10.3fms %9.1f%% %8.3fms %8u\n", name, mv, ml,
                       ml > 0 ? 100 * (mv - ml) / ml : 0, mh, insns);
                verdict_cache_free(cache);
                free(buf);
        }
        return 0;
}
