/* SPDX-License-Identifier: Apache-2.0 */
#include <seccomp.h>
#include <string.h>

#include "cache.h"
#include "config.h"
#include "shared/sha256.h"

/* Set-associative: each key may live in one of WAYS slots of its set; a full set evicts its oldest
 * entry. Bounded memory, no list to maintain, and lookups touch one set. */
#define WAYS 4

typedef struct Entry {
        uint8_t key[SHA256_DIGEST_SIZE];
        uint64_t stamp; /* 0: empty */
        Verdict verdict;
} Entry;

struct VerdictCache {
        Entry *entries;
        size_t n_sets;
        uint64_t clock;
};

int verdict_cache_new(size_t capacity, VerdictCache **ret)
{
        VerdictCache *c = calloc(1, sizeof(VerdictCache));
        if (!c)
                return -ENOMEM;
        c->n_sets = MAX((capacity + WAYS - 1) / WAYS, (size_t) 1);
        c->entries = calloc(c->n_sets * WAYS, sizeof(Entry));
        if (!c->entries) {
                free(c);
                return -ENOMEM;
        }
        *ret = c;
        return 0;
}

VerdictCache *verdict_cache_free(VerdictCache *c)
{
        if (!c)
                return NULL;
        for (size_t i = 0; i < c->n_sets * WAYS; i++)
                verdict_clear(&c->entries[i].verdict);
        free(c->entries);
        free(c);
        return NULL;
}

static int compare_str(const void *a, const void *b)
{
        return strcmp(*(const char *const *) a, *(const char *const *) b);
}

static int cache_key(const char *buf, size_t len, const ValidateOptions *o,
                     uint8_t key[static SHA256_DIGEST_SIZE])
{
        _cleanup_free_ const char **paths = NULL;
        char v[32];
        Sha256 s;

        sha256_init(&s);
#define FIELD(str) sha256_update(&s, (str), strlen(str) + 1)
        FIELD("seccompd " PROJECT_VERSION);
        libseccomp_version(v);
        FIELD(v);
        FIELD(runtime_to_string(o->runtime));
        unsigned runc[2];
        validate_runc_version(o, &runc[0], &runc[1]);
        sha256_update(&s, runc, sizeof(runc));
        FIELD(o->arch ? o->arch->spec : "native");
        if (!o->arch) {
                /* "native" means this machine's architecture, which the key must say. */
                uint32_t native = seccomp_arch_native();
                sha256_update(&s, &native, sizeof(native));
        }
        paths = calloc(MAX(o->n_allow_notify, (size_t) 1), sizeof(char *));
        if (!paths)
                return -ENOMEM;
        if (o->n_allow_notify > 0)
                memcpy(paths, o->allow_notify, o->n_allow_notify * sizeof(char *));
        qsort(paths, o->n_allow_notify, sizeof(char *), compare_str);
        for (size_t i = 0; i < o->n_allow_notify; i++)
                FIELD(paths[i]);
        FIELD("");
#undef FIELD
        sha256_update(&s, buf, len);
        sha256_final(&s, key);
        return 0;
}

static int verdict_copy(Verdict *dst, const Verdict *src)
{
        *dst = (Verdict){.valid = src->valid, .bpf_instructions = src->bpf_instructions};
        int r = diagnostics_copy(&dst->diagnostics, &src->diagnostics);
        if (r < 0)
                verdict_clear(dst);
        return r;
}

int profile_validate_cached(VerdictCache *c, const char *buf, size_t len, const ValidateOptions *o,
                            Verdict *ret, bool *ret_hit)
{
        uint8_t key[SHA256_DIGEST_SIZE];
        Entry *set, *victim;
        Verdict v;
        int r;

        r = cache_key(buf, len, o, key);
        if (r < 0)
                return r;
        set = c->entries +
              WAYS * ((size_t) (key[0] | key[1] << 8 | key[2] << 16 | (uint32_t) key[3] << 24) % c->n_sets);
        victim = set;
        for (size_t i = 0; i < WAYS; i++) {
                if (set[i].stamp && memcmp(set[i].key, key, sizeof(key)) == 0) {
                        set[i].stamp = ++c->clock;
                        if (ret_hit)
                                *ret_hit = true;
                        return verdict_copy(ret, &set[i].verdict);
                }
                if (set[i].stamp < victim->stamp)
                        victim = set + i;
        }

        r = profile_validate(buf, len, o, &v);
        if (r < 0)
                return r;
        r = verdict_copy(ret, &v);
        if (r < 0) {
                verdict_clear(&v);
                return r;
        }
        verdict_clear(&victim->verdict);
        memcpy(victim->key, key, sizeof(key));
        victim->stamp = ++c->clock;
        victim->verdict = v;
        if (ret_hit)
                *ret_hit = false;
        return 0;
}
