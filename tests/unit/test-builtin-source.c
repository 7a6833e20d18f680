/* SPDX-License-Identifier: Apache-2.0 */
/* The built-in profiles (run --recording-profile) wrapped around a source, as the manager drives it,
 * with the real engine on a real directory: the built-in entry comes first and wins its path, the
 * inner source sees only its own entries by its own indices, and a key that lost the path is told
 * whose it is. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "builtin-source.h"
#include "cache.h"
#include "shared/fileio.h"
#include "shared/macro.h"
#include "sync.h"

#define PROFILE                                                                                             \
        "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"mkdir\"],\"action\":\"SCMP_ACT_" \
        "ERRNO\"}]}"

/* A source of two entries; it remembers what the wrapper hands it back. */
typedef struct Inner {
        Source source;
        DesiredProfile set[2];
        size_t need_bytes[4], n_need_bytes;
        SyncEvent seen[8];
        size_t n_seen;
        char reasons[8][128];
        bool freed_flag, *freed;
        bool ready;
} Inner;

static int inner_desired(Source *source, bool full, SourceDesired *ret)
{
        Inner *s = (Inner *) source;
        *ret = (SourceDesired){.set = s->set, .n = ELEMENTSOF(s->set), .complete = true, .settled = true};
        return 0;
}

static void inner_need_bytes(Source *source, size_t index)
{
        Inner *s = (Inner *) source;
        s->need_bytes[s->n_need_bytes++] = index;
}

static void inner_after_sync(Source *source, const SyncResult *res)
{
        Inner *s = (Inner *) source;
        s->n_seen = 0;
        for (size_t i = 0; i < res->n_events && s->n_seen < ELEMENTSOF(s->seen); i++) {
                s->seen[s->n_seen] = res->events[i];
                (void) snprintf(s->reasons[s->n_seen], sizeof(s->reasons[0]), "%s",
                                res->events[i].reason ?: "");
                s->n_seen++;
        }
}

static bool inner_ready(const Source *source, char **ret_reason)
{
        return ((const Inner *) source)->ready;
}

static void inner_free(Source *source)
{
        Inner *s = (Inner *) source;
        *s->freed = true;
        free(s);
}

static const SourceOps inner_ops = {
        .desired = inner_desired,
        .need_bytes = inner_need_bytes,
        .after_sync = inner_after_sync,
        .ready = inner_ready,
        .free = inner_free,
};

typedef struct Fixture {
        char root[64];
        SyncRoot *r;
        VerdictCache *cache;
        ValidateOptions validate;
        Inner *inner; /* borrowed: owned by source */
        Source *source;
        bool inner_freed;
} Fixture;

static const BuiltinProfile recording = {
        .path = RECORDING_PROFILE_PATH,
        .bytes = RECORDING_PROFILE_BYTES,
        .origin = "built-in",
};

static int setup(void **state)
{
        Fixture *f = calloc(1, sizeof(Fixture));
        assert_non_null(f);
        strcpy(f->root, "/tmp/test-builtin-source-XXXXXX");
        assert_non_null(mkdtemp(f->root));
        assert_int_equal(sync_root_open(f->root, false, &f->r, NULL), 0);
        assert_int_equal(verdict_cache_new(16, &f->cache), 0);
        f->validate = (ValidateOptions){.runtime = RUNTIME_CONTAINERD};
        f->inner = calloc(1, sizeof(Inner));
        assert_non_null(f->inner);
        f->inner->source.ops = &inner_ops;
        f->inner->freed = &f->inner_freed;
        f->inner->ready = true;
        /* The first key lands where the built-in profile does (seccompd.io/directory: seccompd). */
        f->inner->set[0] = (DesiredProfile){.path = RECORDING_PROFILE_PATH,
                                            .bytes = PROFILE,
                                            .len = strlen(PROFILE),
                                            .origin = "cm/clash[record.json]",
                                            .valid = true};
        f->inner->set[1] = (DesiredProfile){.path = "web.json",
                                            .bytes = PROFILE,
                                            .len = strlen(PROFILE),
                                            .origin = "cm/web",
                                            .valid = true};
        assert_int_equal(
                builtin_source_new(&f->inner->source, &recording, 1, f->cache, &f->validate, &f->source), 0);
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        Fixture *f = *state;
        char cmd[128];
        source_free(f->source);
        assert_true(f->inner_freed); /* the wrapper owns the inner source */
        verdict_cache_free(f->cache);
        sync_root_free(f->r);
        (void) snprintf(cmd, sizeof(cmd), "rm -rf %s", f->root);
        assert_int_equal(system(cmd), 0);
        free(f);
        return 0;
}

static char *file(const Fixture *f, const char *rel)
{
        char path[128], *text = NULL;
        size_t len;
        (void) snprintf(path, sizeof(path), "%s/%s", f->root, rel);
        if (read_full_file(path, 4096, &text, &len) < 0)
                return NULL;
        return text;
}

static void sync_once(Fixture *f, bool full, SyncResult *res)
{
        SourceDesired d;
        assert_int_equal(source_desired(f->source, full, &d), 0);
        assert_int_equal(sync_apply(f->r, d.set, d.n, d.complete, 1, 0, res), 0);
        source_after_sync(f->source, res);
}

/* A sync with nothing to report: what the inner source is told is empty too. */
static void sync_nothing_after(Fixture *f)
{
        SyncResult res = {};
        source_after_sync(f->source, &res);
        assert_int_equal(f->inner->n_seen, 0);
}

static void test_first_and_wins_its_path(void **state)
{
        Fixture *f = *state;
        SourceDesired d;

        assert_int_equal(source_desired(f->source, true, &d), 0);
        assert_int_equal(d.n, 3);
        assert_true(d.complete && d.settled);
        assert_string_equal(d.set[0].path, RECORDING_PROFILE_PATH);
        assert_memory_equal(d.set[0].bytes, RECORDING_PROFILE_BYTES, d.set[0].len);
        assert_int_equal(d.set[0].len, strlen("{\"defaultAction\":\"SCMP_ACT_LOG\"}\n"));
        assert_true(d.set[0].valid); /* validated like any: it confines nothing, which is a warning */
        assert_false(d.set[0].trusted);
        assert_ptr_equal(d.set[1].origin, f->inner->set[0].origin);
        assert_ptr_equal(d.set[2].origin, f->inner->set[1].origin);

        SyncResult res = {};
        assert_int_equal(sync_apply(f->r, d.set, d.n, d.complete, 1, 0, &res), 0);
        source_after_sync(f->source, &res);
        _cleanup_free_ char *installed = file(f, RECORDING_PROFILE_PATH);
        assert_string_equal(installed, "{\"defaultAction\":\"SCMP_ACT_LOG\"}\n");
        assert_true(sync_root_owns(f->r, RECORDING_PROFILE_PATH));
        assert_int_equal(res.conflicts, 1);

        /* The inner source saw its own two entries only, by its own indices: the key that lost, and
         * the one installed. */
        bool conflict = false, web = false;
        for (size_t i = 0; i < f->inner->n_seen; i++) {
                const SyncEvent *e = f->inner->seen + i;
                assert_true(e->index < 2);
                if (e->action == SYNC_CONFLICT) {
                        conflict = true;
                        assert_int_equal(e->index, 0);
                        assert_string_equal(e->origin, "cm/clash[record.json]");
                        assert_non_null(strstr(f->inner->reasons[i], "built-in profile"));
                        assert_non_null(strstr(f->inner->reasons[i], "--recording-profile"));
                }
                if (e->action == SYNC_INSTALLED) {
                        web = true;
                        assert_int_equal(e->index, 1);
                        assert_string_equal(e->path, "web.json");
                }
        }
        assert_true(conflict && web);
        sync_result_clear(&res);

        /* Between full syncs the built-in file is trusted: its bytes never change. */
        assert_int_equal(source_desired(f->source, false, &d), 0);
        assert_true(d.set[0].trusted);
        sync_nothing_after(f);
}

static void test_need_bytes_and_ready_reach_the_inner_source(void **state)
{
        Fixture *f = *state;
        SyncResult res = {};
        sync_once(f, true, &res);
        sync_result_clear(&res);

        source_need_bytes(f->source, 0); /* the built-in entry: never asked, and never forwarded */
        assert_int_equal(f->inner->n_need_bytes, 0);
        source_need_bytes(f->source, 2);
        assert_int_equal(f->inner->n_need_bytes, 1);
        assert_int_equal(f->inner->need_bytes[0], 1);

        assert_true(source_ready(f->source, NULL));
        f->inner->ready = false;
        assert_false(source_ready(f->source, NULL));
}

static void test_drift_of_the_builtin_file_is_repaired(void **state)
{
        Fixture *f = *state;
        SyncResult res = {};
        char path[128];
        sync_once(f, true, &res);
        sync_result_clear(&res);

        (void) snprintf(path, sizeof(path), "%s/%s", f->root, RECORDING_PROFILE_PATH);
        FILE *o = fopen(path, "w");
        assert_non_null(o);
        assert_int_equal(fputs("{}", o) >= 0, 1);
        assert_int_equal(fclose(o), 0);
        sync_once(f, true, &res); /* drift makes the manager's next sync a full one */
        bool repaired = false;
        for (size_t i = 0; i < res.n_events; i++)
                repaired = repaired || (res.events[i].index == 0 && res.events[i].action == SYNC_REPAIRED);
        assert_true(repaired);
        _cleanup_free_ char *text = file(f, RECORDING_PROFILE_PATH);
        assert_string_equal(text, RECORDING_PROFILE_BYTES);
        sync_result_clear(&res);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_first_and_wins_its_path, setup, teardown),
                cmocka_unit_test_setup_teardown(test_need_bytes_and_ready_reach_the_inner_source, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_drift_of_the_builtin_file_is_repaired, setup, teardown),
        };
        cmocka_set_message_output(CM_OUTPUT_TAP);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
