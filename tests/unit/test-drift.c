/* SPDX-License-Identifier: Apache-2.0 */
/* Drift on a real root with real inotify: seccompd's own renames and removals are echoes and need
 * nothing; anyone else's change to a managed directory calls for a repair. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <systemd/sd-event.h>

#include "drift.h"
#include "shared/macro.h"
#include "sync.h"

typedef struct Fixture {
        char tmp[64], root[96];
        sd_event *event;
        SyncRoot *sync;
        Drift *drift;
        unsigned drifted;
} Fixture;

static uint64_t now(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000;
}

static void on_drift(void *userdata)
{
        ((Fixture *) userdata)->drifted++;
}

/* The kernel queues an inotify event before the call that caused it returns: dispatch them all. */
static void drain(Fixture *f)
{
        for (int i = 0; i < 1000 && sd_event_run(f->event, 0) > 0; i++)
                ;
}

/* One sync as the manager runs it, of a set of up to two profiles (a path NULL: none): apply, then
 * tell drift what the sync did. */
static void apply(Fixture *f, const char *a, const char *a_bytes, const char *b, const char *b_bytes)
{
        DesiredProfile d[2];
        size_t n = 0;
        if (a)
                d[n++] = (DesiredProfile){.path = a,
                                          .bytes = a_bytes,
                                          .len = strlen(a_bytes),
                                          .origin = "test",
                                          .valid = true};
        if (b)
                d[n++] = (DesiredProfile){.path = b,
                                          .bytes = b_bytes,
                                          .len = strlen(b_bytes),
                                          .origin = "test",
                                          .valid = true};
        SyncResult res = {};
        assert_int_equal(sync_apply(f->sync, d, n, true, now(), 0, &res), 0);
        drift_after_sync(f->drift, &res, now());
        sync_result_clear(&res);
}

static int setup(void **state)
{
        Fixture *f = calloc(1, sizeof(Fixture));
        assert_non_null(f);
        strcpy(f->tmp, "/tmp/test-drift-XXXXXX");
        assert_non_null(mkdtemp(f->tmp));
        (void) snprintf(f->root, sizeof(f->root), "%s/seccomp", f->tmp);
        assert_int_equal(sd_event_new(&f->event), 0);
        assert_int_equal(sync_root_open(f->root, false, &f->sync, NULL), 0);
        assert_int_equal(drift_new(f->event, f->sync, f->root, on_drift, f, &f->drift), 0);
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        Fixture *f = *state;
        char cmd[128];
        drift_free(f->drift);
        sync_root_free(f->sync);
        sd_event_unref(f->event);
        (void) snprintf(cmd, sizeof(cmd), "rm -rf %s", f->tmp);
        assert_int_equal(system(cmd), 0);
        free(f);
        return 0;
}

static void put(const char *dir, const char *name, const char *text)
{
        char path[192];
        (void) snprintf(path, sizeof(path), "%s/%s", dir, name);
        FILE *o = fopen(path, "w");
        assert_non_null(o);
        assert_int_equal(fputs(text, o) >= 0, 1);
        assert_int_equal(fclose(o), 0);
}

static void test_own_writes_are_echoes(void **state)
{
        Fixture *f = *state;

        apply(f, "a.json", "{}", NULL, NULL); /* the root is watched from the start: this rename echoes */
        apply(f, "a.json", "{\"defaultAction\": \"SCMP_ACT_LOG\"}", NULL, NULL);
        /* A new directory, made by the sync: watched after it, so no echo is expected from it. */
        apply(f, "a.json", "{}", "sub/b.json", "{}");
        apply(f, "a.json", "{}", "sub/b.json", "{\"x\": 1}");
        drain(f);
        assert_int_equal(f->drifted, 0);
        assert_int_equal(drift_pending_echoes(f->drift), 0);

        apply(f, NULL, NULL, NULL, NULL); /* both removed, and sub with them: echoes too */
        drain(f);
        assert_int_equal(f->drifted, 0);
        assert_int_equal(drift_pending_echoes(f->drift), 0);

        /* sub made again by a later sync is watched again: a change there is seen. */
        apply(f, "sub/b.json", "{}", NULL, NULL);
        drain(f);
        assert_int_equal(f->drifted, 0);
        char sub[160];
        (void) snprintf(sub, sizeof(sub), "%s/sub", f->root);
        put(sub, "b.json", "{\"defaultAction\": \"SCMP_ACT_ALLOW\"}");
        drain(f);
        assert_true(f->drifted > 0);
}

static void test_someone_elses_change_is_drift(void **state)
{
        Fixture *f = *state;
        char path[192], sub[160];

        apply(f, "a.json", "{}", "sub/b.json", "{}");
        drain(f);
        assert_int_equal(f->drifted, 0);

        put(f->root, "a.json", "{\"defaultAction\": \"SCMP_ACT_ALLOW\"}"); /* overwritten in place */
        drain(f);
        assert_true(f->drifted > 0);

        f->drifted = 0;
        (void) snprintf(path, sizeof(path), "%s/sub/b.json", f->root);
        assert_int_equal(unlink(path), 0); /* deleted in a subdirectory */
        drain(f);
        assert_true(f->drifted > 0);

        /* seccompd's own state and temporary files are not drift. */
        f->drifted = 0;
        (void) snprintf(sub, sizeof(sub), "%s", f->root);
        put(sub, "..seccompd-tmp-test", "x");
        drain(f);
        assert_int_equal(f->drifted, 0);
}

/* An echo that never comes (its event lost or coalesced) is forgotten after a while, so a later real
 * change at that path is not mistaken for it. */
static void test_stale_echoes_expire(void **state)
{
        Fixture *f = *state;
        DesiredProfile d = {.path = "a.json", .bytes = "{}", .len = 2, .origin = "test", .valid = true};
        SyncResult res = {};

        assert_int_equal(sync_apply(f->sync, &d, 1, true, now(), 0, &res), 0);
        drift_after_sync(f->drift, &res, now());
        sync_result_clear(&res);
        assert_int_equal(drift_pending_echoes(f->drift), 1); /* not dispatched yet */
        drift_after_sync(f->drift, &res, now() + 11 * 1000000ULL);
        assert_int_equal(drift_pending_echoes(f->drift), 0);
        drain(f); /* the echo arrives late: it is now taken for drift, which a sync would repair */
        assert_true(f->drifted > 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_own_writes_are_echoes, setup, teardown),
                cmocka_unit_test_setup_teardown(test_someone_elses_change_is_drift, setup, teardown),
                cmocka_unit_test_setup_teardown(test_stale_echoes_expire, setup, teardown),
        };
        cmocka_set_message_output(CM_OUTPUT_TAP);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
