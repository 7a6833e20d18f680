/* SPDX-License-Identifier: Apache-2.0 */
/* The directory source as the manager drives it, on a real directory with real inotify: what a sync
 * reads from disk and what it reuses from the stamp cache, and what it lets the engine trust. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include <systemd/sd-event.h>

#include "cache.h"
#include "dir-source.h"
#include "shared/macro.h"

#define PROFILE(n)                                                                                          \
        "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"" n                          \
        "\"], \"action\": \"SCMP_ACT_ALLOW\"}]}"
#define MANIFEST                                                                                            \
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: m\n  labels:\n    seccompd.io/profile: "       \
        "\"true\"\n"                                                                                        \
        "data:\n  c.json: '" PROFILE("close") "'\n"

typedef struct Fixture {
        char dir[64];
        sd_event *event;
        VerdictCache *cache;
        ValidateOptions validate;
        Source *source;
        unsigned changed;
} Fixture;

static void on_changed(void *userdata)
{
        ((Fixture *) userdata)->changed++;
}

static void put(const Fixture *f, const char *name, const char *text)
{
        char path[128];
        (void) snprintf(path, sizeof(path), "%s/%s", f->dir, name);
        FILE *o = fopen(path, "w");
        assert_non_null(o);
        assert_int_equal(fputs(text, o) >= 0, 1);
        assert_int_equal(fclose(o), 0);
}

/* Dispatches what inotify has queued: the kernel queues an event before the write returns. */
static void drain(Fixture *f)
{
        for (int i = 0; i < 1000 && sd_event_run(f->event, 0) > 0; i++)
                ;
}

static int setup(void **state)
{
        Fixture *f = calloc(1, sizeof(Fixture));
        assert_non_null(f);
        strcpy(f->dir, "/tmp/test-dir-source-XXXXXX");
        assert_non_null(mkdtemp(f->dir));
        assert_int_equal(sd_event_new(&f->event), 0);
        assert_int_equal(verdict_cache_new(64, &f->cache), 0);
        f->validate = (ValidateOptions){.runtime = RUNTIME_CONTAINERD};
        put(f, "a.json", PROFILE("read"));
        put(f, "b.json", PROFILE("write"));
        put(f, "m.yaml", MANIFEST);
        put(f, ".hidden.json", PROFILE("open")); /* never read: an editor's or a tool's temporary */
        DirSourceOptions o = {.event = f->event,
                              .path = f->dir,
                              .cache = f->cache,
                              .validate = &f->validate,
                              .changed = on_changed,
                              .userdata = f};
        assert_int_equal(dir_source_new(&o, &f->source), 0);
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        Fixture *f = *state;
        char cmd[128];
        source_free(f->source);
        verdict_cache_free(f->cache);
        sd_event_unref(f->event);
        (void) snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
        assert_int_equal(system(cmd), 0);
        free(f);
        return 0;
}

static const DesiredProfile *find(const SourceDesired *d, const char *path)
{
        for (size_t i = 0; i < d->n; i++)
                if (strcmp(d->set[i].path, path) == 0)
                        return d->set + i;
        fail_msg("%s is not in the set", path);
        return NULL;
}

static size_t files_read(const Fixture *f)
{
        DirSourceStats st;
        dir_source_stats(f->source, &st);
        return st.files_read;
}

static void sync_nothing(Fixture *f)
{
        SyncResult res = {};
        source_after_sync(f->source, &res);
}

static void test_reads_each_file_once(void **state)
{
        Fixture *f = *state;
        SourceDesired d;

        assert_int_equal(source_desired(f->source, true, &d), 0);
        assert_true(d.complete);
        assert_int_equal(d.n, 3);
        assert_non_null(find(&d, "a.json")->bytes);
        assert_non_null(find(&d, "c.json")->bytes);
        assert_true(find(&d, "b.json")->valid);
        assert_false(find(&d, "a.json")->trusted);
        assert_int_equal(files_read(f), 3);
        sync_nothing(f);

        /* No event since: nothing is read, and the engine may trust every target. */
        assert_int_equal(source_desired(f->source, false, &d), 0);
        assert_int_equal(d.n, 3);
        for (size_t i = 0; i < d.n; i++) {
                assert_null(d.set[i].bytes);
                assert_non_null(d.set[i].hash);
                assert_true(d.set[i].trusted);
        }
        assert_int_equal(files_read(f), 3);
        sync_nothing(f);

        /* One file changes: inotify names it, only it is read again. */
        put(f, "a.json", PROFILE("pread64"));
        drain(f);
        assert_true(f->changed > 0);
        assert_int_equal(source_desired(f->source, false, &d), 0);
        assert_string_equal(find(&d, "a.json")->bytes, PROFILE("pread64"));
        assert_null(find(&d, "b.json")->bytes);
        assert_true(find(&d, "b.json")->trusted);
        assert_int_equal(files_read(f), 4);
        sync_nothing(f);

        /* A full sync (SIGHUP, drift) reads nothing whose stamp is unchanged, but trusts no target. */
        assert_int_equal(source_desired(f->source, true, &d), 0);
        assert_int_equal(d.n, 3);
        for (size_t i = 0; i < d.n; i++) {
                assert_null(d.set[i].bytes);
                assert_false(d.set[i].trusted);
        }
        assert_int_equal(files_read(f), 4);
        sync_nothing(f);
}

static void test_need_bytes_reads_that_file_again(void **state)
{
        Fixture *f = *state;
        SourceDesired d;

        assert_int_equal(source_desired(f->source, true, &d), 0);
        sync_nothing(f);
        assert_int_equal(source_desired(f->source, false, &d), 0);
        size_t b = (size_t) (find(&d, "b.json") - d.set);
        unsigned before = f->changed;
        source_need_bytes(f->source, b); /* the engine found b.json changed on disk */
        assert_int_equal(f->changed, before + 1);
        sync_nothing(f);
        assert_int_equal(source_desired(f->source, false, &d), 0);
        assert_string_equal(find(&d, "b.json")->bytes, PROFILE("write"));
        assert_null(find(&d, "a.json")->bytes);
        assert_int_equal(files_read(f), 4);
}

static void test_removed_and_unreadable(void **state)
{
        Fixture *f = *state;
        SourceDesired d;
        char path[128];

        assert_int_equal(source_desired(f->source, true, &d), 0);
        sync_nothing(f);
        (void) snprintf(path, sizeof(path), "%s/m.yaml", f->dir);
        assert_int_equal(unlink(path), 0);
        drain(f);
        assert_int_equal(source_desired(f->source, false, &d), 0);
        assert_true(d.complete);
        assert_int_equal(d.n, 2); /* c.json left with its manifest */
        sync_nothing(f);

        /* A file that cannot be read (here a ConfigMap volume's key link whose target is missing) makes
         * the set incomplete, so nothing is deleted, and is not cached: every sync reads it again. */
        (void) snprintf(path, sizeof(path), "%s/b.json", f->dir);
        assert_int_equal(unlink(path), 0);
        assert_int_equal(symlink("..data/b.json", path), 0);
        drain(f);
        assert_int_equal(source_desired(f->source, false, &d), 0);
        assert_false(d.complete);
        size_t read_before = files_read(f);
        sync_nothing(f);
        assert_int_equal(source_desired(f->source, false, &d), 0);
        assert_false(d.complete);
        assert_int_equal(files_read(f), read_before + 1);
        sync_nothing(f);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_reads_each_file_once, setup, teardown),
                cmocka_unit_test_setup_teardown(test_need_bytes_reads_that_file_again, setup, teardown),
                cmocka_unit_test_setup_teardown(test_removed_and_unreadable, setup, teardown),
        };
        cmocka_set_message_output(CM_OUTPUT_TAP);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
