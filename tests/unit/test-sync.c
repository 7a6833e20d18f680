/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include <cmocka.h>

#include "paths.h"
#include "shared/sha256.h"
#include "shared/fileio.h"
#include "sync.h"

#define SEC 1000000ULL

typedef struct Fixture {
        char root[64];
        char outside[64];
        SyncRoot *r;
} Fixture;

static int setup(void **state)
{
        Fixture *f = calloc(1, sizeof(Fixture));
        strcpy(f->outside, "/tmp/seccompd-outside-XXXXXX");
        assert_non_null(mkdtemp(f->outside));
        strcpy(f->root, "/tmp/seccompd-root-XXXXXX");
        assert_non_null(mkdtemp(f->root));
        strcat(f->root, "/seccomp"); /* created by sync_root_open */
        assert_int_equal(sync_root_open(f->root, false, &f->r, NULL), 0);
        *state = f;
        return 0;
}

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
        return remove(p);
}

static int teardown(void **state)
{
        Fixture *f = *state;
        sync_root_free(f->r);
        char *slash = strrchr(f->root, '/');
        *slash = 0;
        (void) nftw(f->root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        (void) nftw(f->outside, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        free(f);
        return 0;
}

static char *at(const Fixture *f, const char *rel)
{
        static char buf[512];
        snprintf(buf, sizeof(buf), "%s/%s", f->root, rel);
        return buf;
}

static void assert_content(const char *path, const char *expected)
{
        char *buf = NULL;
        size_t len;
        assert_int_equal(read_full_file(path, 1 << 20, &buf, &len), 0);
        assert_string_equal(buf, expected);
        free(buf);
}

static void write_file(const char *path, const char *s)
{
        FILE *fp = fopen(path, "w");
        assert_non_null(fp);
        fputs(s, fp);
        fclose(fp);
}

static DesiredProfile P(const char *path, const char *bytes, bool valid)
{
        return (DesiredProfile){
                .path = path, .bytes = bytes, .len = strlen(bytes), .origin = "test", .valid = valid};
}

static void apply(Fixture *f, const DesiredProfile *set, size_t n, bool complete, uint64_t now,
                  uint64_t grace, SyncResult *res)
{
        assert_int_equal(sync_apply(f->r, set, n, complete, now, grace, res), 0);
}

static SyncAction only_event(const SyncResult *res)
{
        assert_int_equal(res->n_events, 1);
        return res->events[0].action;
}

static void assert_no_temporaries(const Fixture *f, const char *dir)
{
        char cmd[600];
        snprintf(cmd, sizeof(cmd), "ls -a %s/%s | grep -q '^..seccompd-tmp'", f->root, dir);
        assert_int_not_equal(system(cmd), 0);
}

static void test_install_update_unchanged(void **state)
{
        Fixture *f = *state;
        SyncResult res;
        struct stat st1, st2;
        DesiredProfile set[] = {P("a.json", "{\"defaultAction\":\"SCMP_ACT_LOG\"}", true),
                                P("team/x/b.json", "B1", true)};

        apply(f, set, 2, true, 1, 0, &res);
        assert_int_equal(res.n_events, 2);
        assert_int_equal(res.events[0].action, SYNC_INSTALLED);
        assert_int_equal(res.installed, 2);
        sync_result_clear(&res);
        assert_content(at(f, "team/x/b.json"), "B1");
        assert_int_equal(stat(at(f, "a.json"), &st1), 0);
        assert_int_equal(st1.st_mode & 07777, 0644);
        assert_true(sync_root_owns(f->r, "team/x/b.json"));
        assert_no_temporaries(f, "team/x");

        apply(f, set, 2, true, 2, 0, &res);
        assert_int_equal(res.n_events, 0); /* unchanged bytes are not rewritten */
        sync_result_clear(&res);
        assert_int_equal(stat(at(f, "a.json"), &st2), 0);
        assert_int_equal(st1.st_ino, st2.st_ino);

        set[1] = P("team/x/b.json", "B2", true);
        apply(f, set, 2, true, 3, 0, &res);
        assert_int_equal(only_event(&res), SYNC_UPDATED);
        sync_result_clear(&res);
        assert_content(at(f, "team/x/b.json"), "B2");
}

static void test_invalid_update_keeps_last_good(void **state)
{
        Fixture *f = *state;
        SyncResult res;
        DesiredProfile good = P("p.json", "GOOD", true), bad = P("p.json", "BAD", false),
                       never = P("q.json", "NEVER", false);

        apply(f, &good, 1, true, 1, 0, &res);
        sync_result_clear(&res);
        DesiredProfile set[] = {bad, never};
        apply(f, set, 2, true, 2, 0, &res);
        assert_int_equal(res.n_events, 2);
        assert_int_equal(res.events[0].action, SYNC_KEPT_LAST_GOOD);
        assert_int_equal(res.events[1].action, SYNC_REJECTED);
        assert_int_equal(res.rejected, 2);
        sync_result_clear(&res);
        assert_content(at(f, "p.json"), "GOOD");
        assert_int_equal(access(at(f, "q.json"), F_OK), -1);

        /* Someone damages the file while the source is still bad: the last good comes back. */
        write_file(at(f, "p.json"), "DAMAGED");
        apply(f, set, 2, true, 3, 0, &res);
        assert_int_equal(res.events[0].action, SYNC_REPAIRED);
        sync_result_clear(&res);
        assert_content(at(f, "p.json"), "GOOD");
}

static void test_conflict_and_adoption(void **state)
{
        Fixture *f = *state;
        SyncResult res;
        DesiredProfile d = P("copied.json", "NEW", true);

        write_file(at(f, "copied.json"), "FOREIGN");
        apply(f, &d, 1, true, 1, 0, &res);
        assert_int_equal(only_event(&res), SYNC_CONFLICT);
        assert_int_equal(res.conflicts, 1);
        sync_result_clear(&res);
        assert_content(at(f, "copied.json"), "FOREIGN");
        assert_false(sync_root_owns(f->r, "copied.json"));

        d.adopt = true;
        apply(f, &d, 1, true, 2, 0, &res);
        assert_int_equal(only_event(&res), SYNC_ADOPTED);
        sync_result_clear(&res);
        assert_content(at(f, "copied.json"), "NEW");
        assert_true(sync_root_owns(f->r, "copied.json"));
}

/* Two entries for one path: the first in the set wins, every later one is a conflict, and entries
 * whose paths only share a prefix or a hash slot are not confused with each other. */
static void test_same_path_twice(void **state)
{
        Fixture *f = *state;
        SyncResult res;
        char names[200][32];
        DesiredProfile set[203];
        size_t n = 0;

        for (int i = 0; i < 200; i++) {
                snprintf(names[i], sizeof(names[i]), "d%d/p%d.json", i % 7, i);
                set[n++] = P(names[i], names[i], true);
        }
        set[n++] = P("d3/p10.json", "SECOND", true);
        set[n++] = P("d3/p10.json", "THIRD", false);
        set[n++] = P("d3/p10.jso", "PREFIX", true);
        apply(f, set, n, true, 1, 0, &res);
        assert_int_equal(res.installed, 201);
        assert_int_equal(res.conflicts, 2);
        for (size_t i = 0; i < res.n_events; i++)
                if (res.events[i].action == SYNC_CONFLICT)
                        assert_true(res.events[i].index == 200 || res.events[i].index == 201);
        sync_result_clear(&res);
        assert_content(at(f, "d3/p10.json"), "d3/p10.json");
        assert_content(at(f, "d3/p10.jso"), "PREFIX");
}

static void test_delete_grace_and_incomplete_reads(void **state)
{
        Fixture *f = *state;
        SyncResult res;
        DesiredProfile d = P("deep/dir/gone.json", "X", true);

        apply(f, &d, 1, true, 1 * SEC, 0, &res);
        sync_result_clear(&res);
        write_file(at(f, "deep/foreign.txt"), "not ours");

        /* An incomplete read never deletes. */
        apply(f, NULL, 0, false, 2 * SEC, 0, &res);
        assert_int_equal(res.n_events, 0);
        sync_result_clear(&res);
        assert_int_equal(access(at(f, "deep/dir/gone.json"), F_OK), 0);

        /* With a grace period: pending first, removed when it is over. */
        apply(f, NULL, 0, true, 10 * SEC, 60 * SEC, &res);
        assert_int_equal(only_event(&res), SYNC_DELETE_PENDING);
        assert_true(res.next_deadline_usec == 70 * SEC);
        sync_result_clear(&res);
        assert_int_equal(access(at(f, "deep/dir/gone.json"), F_OK), 0);

        apply(f, NULL, 0, true, 70 * SEC, 60 * SEC, &res);
        assert_int_equal(only_event(&res), SYNC_REMOVED);
        sync_result_clear(&res);
        assert_int_equal(access(at(f, "deep/dir/gone.json"), F_OK), -1);
        assert_int_equal(access(at(f, "deep/dir"), F_OK), -1); /* ours, emptied: removed */
        assert_content(at(f, "deep/foreign.txt"), "not ours"); /* kept, and so is deep/ */
}

/* now_usec is CLOCK_MONOTONIC, but the engine must not trust it blindly: a time before the file
 * left the set (a clock stepped back) counts as no time at all, never as a huge one. */
static void test_delete_grace_survives_a_clock_step_back(void **state)
{
        Fixture *f = *state;
        SyncResult res;
        DesiredProfile d = P("gone.json", "X", true);

        apply(f, &d, 1, true, 1000 * SEC, 60 * SEC, &res);
        sync_result_clear(&res);
        apply(f, NULL, 0, true, 1000 * SEC, 60 * SEC, &res);
        assert_int_equal(only_event(&res), SYNC_DELETE_PENDING);
        sync_result_clear(&res);

        /* Back by 990 s: still pending, and the grace is counted again from the step. */
        apply(f, NULL, 0, true, 10 * SEC, 60 * SEC, &res);
        assert_int_equal(only_event(&res), SYNC_DELETE_PENDING);
        assert_true(res.next_deadline_usec == 70 * SEC);
        sync_result_clear(&res);
        assert_int_equal(access(at(f, "gone.json"), F_OK), 0);

        apply(f, NULL, 0, true, 69 * SEC, 60 * SEC, &res);
        assert_int_equal(only_event(&res), SYNC_DELETE_PENDING);
        sync_result_clear(&res);
        apply(f, NULL, 0, true, 70 * SEC, 60 * SEC, &res);
        assert_int_equal(only_event(&res), SYNC_REMOVED);
        sync_result_clear(&res);
        assert_int_equal(access(at(f, "gone.json"), F_OK), -1);
}

/* A monotonic time means nothing in another boot, nor in another process's clock: after the root is
 * opened again, a pending deletion waits a whole grace from the first sync, whether the new clock
 * reads less (a reboot) or far more (a node that ran long before seccompd started) than the old. */
static void test_delete_grace_starts_again_after_a_restart(void **state)
{
        Fixture *f = *state;
        SyncResult res;
        DesiredProfile set[] = {P("back.json", "B", true), P("ahead.json", "A", true)};
        uint64_t before[] = {5000 * SEC, 10 * SEC}, after[] = {2 * SEC, 5000 * SEC};

        for (size_t i = 0; i < 2; i++) {
                apply(f, set + i, 1, true, before[i], 60 * SEC, &res);
                sync_result_clear(&res);
                apply(f, NULL, 0, true, before[i], 60 * SEC, &res);
                assert_int_equal(only_event(&res), SYNC_DELETE_PENDING);
                sync_result_clear(&res);

                sync_root_free(f->r);
                assert_int_equal(sync_root_open(f->root, false, &f->r, NULL), 0);
                apply(f, NULL, 0, true, after[i], 60 * SEC, &res);
                assert_int_equal(only_event(&res), SYNC_DELETE_PENDING);
                assert_true(res.next_deadline_usec == after[i] + 60 * SEC);
                sync_result_clear(&res);
                assert_int_equal(access(at(f, set[i].path), F_OK), 0);

                apply(f, NULL, 0, true, after[i] + 60 * SEC, 60 * SEC, &res);
                assert_int_equal(only_event(&res), SYNC_REMOVED);
                sync_result_clear(&res);
                assert_int_equal(access(at(f, set[i].path), F_OK), -1);
        }
}

static void test_drift_repair(void **state)
{
        Fixture *f = *state;
        SyncResult res;
        DesiredProfile d = P("d.json", "ORIGINAL", true);

        apply(f, &d, 1, true, 1, 0, &res);
        sync_result_clear(&res);
        assert_int_equal(unlink(at(f, "d.json")), 0);
        apply(f, &d, 1, true, 2, 0, &res);
        assert_int_equal(only_event(&res), SYNC_REPAIRED);
        sync_result_clear(&res);
        write_file(at(f, "d.json"), "EDITED");
        apply(f, &d, 1, true, 3, 0, &res);
        assert_int_equal(only_event(&res), SYNC_REPAIRED);
        sync_result_clear(&res);
        assert_content(at(f, "d.json"), "ORIGINAL");
}

static void test_symlinks_refused(void **state)
{
        Fixture *f = *state;
        SyncResult res;
        char victim[128];

        /* A directory on the path replaced by a symlink to elsewhere: refused, elsewhere untouched. */
        assert_int_equal(symlink(f->outside, at(f, "evil")), 0);
        DesiredProfile d = P("evil/p.json", "X", true);
        apply(f, &d, 1, true, 1, 0, &res);
        /* Something seccompd did not write: a conflict, not a failing disk. */
        assert_int_equal(only_event(&res), SYNC_CONFLICT);
        assert_int_equal(res.conflicts, 1);
        assert_int_equal(res.failed, 0);
        assert_non_null(strstr(res.events[0].reason, "symlink"));
        sync_result_clear(&res);
        snprintf(victim, sizeof(victim), "%s/p.json", f->outside);
        assert_int_equal(access(victim, F_OK), -1);

        /* An own file replaced by a symlink: the link is replaced, its target is not written. */
        DesiredProfile own = P("own.json", "MINE", true);
        apply(f, &own, 1, true, 2, 0, &res);
        sync_result_clear(&res);
        snprintf(victim, sizeof(victim), "%s/target", f->outside);
        write_file(victim, "PRECIOUS");
        assert_int_equal(unlink(at(f, "own.json")), 0);
        assert_int_equal(symlink(victim, at(f, "own.json")), 0);
        apply(f, &own, 1, true, 3, 0, &res);
        sync_result_clear(&res);
        assert_content(victim, "PRECIOUS");
        struct stat st;
        assert_int_equal(lstat(at(f, "own.json"), &st), 0);
        assert_true(S_ISREG(st.st_mode));
}

/* A symlink, a FIFO or a directory at a new target is something seccompd did not write: a conflict,
 * left as it is, and no sign of a failing disk (--once exits 1 for it, not 3). */
static void test_foreign_objects_are_conflicts(void **state)
{
        Fixture *f = *state;
        SyncResult res;
        char victim[128];

        snprintf(victim, sizeof(victim), "%s/target", f->outside);
        write_file(victim, "PRECIOUS");
        assert_int_equal(symlink(victim, at(f, "link.json")), 0);
        assert_int_equal(mkfifo(at(f, "fifo.json"), 0644), 0);
        assert_int_equal(mkdir(at(f, "dir.json"), 0755), 0);
        DesiredProfile planted[] = {P("link.json", "X", true), P("fifo.json", "X", true),
                                    P("dir.json", "X", true)};
        apply(f, planted, 3, true, 1, 0, &res);
        assert_int_equal(res.n_events, 3);
        for (size_t i = 0; i < 3; i++)
                assert_int_equal(res.events[i].action, SYNC_CONFLICT);
        assert_int_equal(res.conflicts, 3);
        assert_int_equal(res.failed, 0);
        assert_int_equal(res.installed, 0);
        sync_result_clear(&res);
        assert_content(victim, "PRECIOUS");
        struct stat st;
        assert_int_equal(lstat(at(f, "link.json"), &st), 0);
        assert_true(S_ISLNK(st.st_mode));
        assert_int_equal(lstat(at(f, "fifo.json"), &st), 0);
        assert_true(S_ISFIFO(st.st_mode));
        assert_int_equal(lstat(at(f, "dir.json"), &st), 0);
        assert_true(S_ISDIR(st.st_mode));
        assert_false(sync_root_owns(f->r, "link.json"));
}

/* A directory that would have to be where something else stands (one of our own profiles, a file
 * seccompd did not write, a directory it made for other profiles): a conflict that names what stands
 * in the way, never a failure and never blamed on a symlink that does not exist. */
static void test_what_stands_in_the_way(void **state)
{
        Fixture *f = *state;
        SyncResult res;

        DesiredProfile file_first[] = {P("a.json", "A", true), P("a.json/x.json", "B", true),
                                       P("d/a.json", "C", true), P("d/a.json/sub/y.json", "D", true)};
        for (int round = 0; round < 2; round++) { /* claimed and blocked, then blocked again */
                apply(f, file_first, 4, true, 1 + round, 0, &res);
                assert_int_equal(res.failed, 0);
                assert_int_equal(res.conflicts, 2);
                for (size_t i = 0; i < res.n_events; i++) {
                        const SyncEvent *e = res.events + i;
                        if (e->action != SYNC_CONFLICT)
                                continue;
                        const char *want = e->index == 1 ? "a.json is a profile file seccompd installed"
                                                         : "d/a.json is a profile file seccompd installed";
                        assert_true(e->index == 1 || e->index == 3);
                        assert_non_null(strstr(e->reason, want));
                        assert_null(strstr(e->reason, "symlink"));
                }
                sync_result_clear(&res);
        }
        assert_content(at(f, "a.json"), "A");

        /* The other way round: the directory came first, and holds another profile. */
        DesiredProfile dir_first[] = {P("b.json/x.json", "B", true), P("b.json", "A", true)};
        apply(f, dir_first, 2, true, 3, 0, &res);
        assert_int_equal(res.failed, 0);
        assert_int_equal(res.conflicts, 1);
        for (size_t i = 0; i < res.n_events; i++)
                if (res.events[i].action == SYNC_CONFLICT) {
                        assert_int_equal(res.events[i].index, 1);
                        assert_non_null(strstr(res.events[i].reason, "a directory seccompd made"));
                }
        sync_result_clear(&res);

        /* A file seccompd did not write where a directory must be. */
        write_file(at(f, "plain"), "PRECIOUS");
        DesiredProfile under_foreign = P("plain/z.json", "Z", true);
        apply(f, &under_foreign, 1, false, 4, 0, &res);
        assert_int_equal(only_event(&res), SYNC_CONFLICT);
        assert_int_equal(res.failed, 0);
        assert_non_null(strstr(res.events[0].reason, "plain is not a directory"));
        assert_null(strstr(res.events[0].reason, "symlink"));
        sync_result_clear(&res);
        assert_content(at(f, "plain"), "PRECIOUS");
}

static void test_restart_keeps_ownership_and_lock(void **state)
{
        Fixture *f = *state;
        SyncResult res;
        SyncRoot *second = NULL;
        DesiredProfile d = P("kept.json", "K", true);

        apply(f, &d, 1, true, 1, 0, &res);
        sync_result_clear(&res);
        assert_int_equal(sync_root_open(f->root, false, &second, NULL), -EWOULDBLOCK);

        write_file(at(f, "..seccompd-tmp-0123456789abcdef"), "half");
        sync_root_free(f->r);
        assert_int_equal(sync_root_open(f->root, false, &f->r, NULL), 0);
        assert_true(sync_root_owns(f->r, "kept.json"));
        assert_int_equal(access(at(f, "..seccompd-tmp-0123456789abcdef"), F_OK), -1);
        apply(f, NULL, 0, true, 2, 0, &res);
        assert_int_equal(only_event(&res), SYNC_REMOVED);
        sync_result_clear(&res);
}

/* Finding 14 of issue 12: "f 1 ../victim/x.json" in the state file had seccompd delete a file
 * outside the root. Every entry read back must pass the checks a new desired path passes. */
static void test_untrusted_state_file_is_refused(void **state)
{
        Fixture *f = *state;
        char victim[128], line[256], content[512];
        const char *outside = strrchr(f->outside, '/') + 1;
        struct {
                const char *entry, *expected;
                size_t len; /* for an entry with a NUL inside, else 0 */
        } bad[] = {
                {"f 1 ../../@/victim.json\n", "line 2: ", 0},
                {"f 1 @/victim.json\n", "line 2: ", 0}, /* absolute: f->outside itself */
                {"d 0 ../../@\n", "line 2: ", 0},       /* a directory, removed once empty */
                {"f 0 ok.json\nf 0 x\0/../../y.json\n", "line 3: holds a NUL byte", 27},
                {"garbage\n", "line 2: ", 0},
                {"f 0 ok.json trailing\n", "line 2: ", 0},
                {"f 0 ..seccompd-state\n", "line 2: ", 0},
                {"f 0 a.json", "last line", 0},
                {"", NULL, 0}, /* the header alone is a valid, empty state */
        };

        snprintf(victim, sizeof(victim), "%s/victim.json", f->outside);
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                SyncResult res;
                char *error = NULL;
                int k;

                write_file(victim, "V");
                /* '@' stands for the outside directory, relative to the root or absolute. */
                const char *e = bad[i].entry, *mark = strchr(e, '@');
                if (mark)
                        snprintf(line, sizeof(line), "%.*s%s%s", (int) (mark - e), e,
                                 strstr(e, "../") ? outside : f->outside, mark + 1);
                else
                        snprintf(line, sizeof(line), "%s", e);
                size_t n = (size_t) snprintf(content, sizeof(content), "seccompd-state 1\n%s", line);
                if (bad[i].len) {
                        memcpy(content + 17, bad[i].entry, bad[i].len);
                        n = 17 + bad[i].len;
                }
                sync_root_free(f->r);
                f->r = NULL;
                FILE *fp = fopen(at(f, "..seccompd-state"), "w");
                assert_non_null(fp);
                assert_int_equal(fwrite(content, 1, n, fp), n);
                fclose(fp);

                k = sync_root_open(f->root, false, &f->r, &error);
                if (k == 0) {
                        /* What the old code did with such an entry: an empty complete set, no grace. */
                        apply(f, NULL, 0, true, 1, 0, &res);
                        sync_result_clear(&res);
                }
                assert_int_equal(access(victim, F_OK), 0);
                if (!bad[i].expected) {
                        assert_int_equal(k, 0);
                        continue;
                }
                print_message("# entry %zu: %s\n", i, error ?: "(no error)");
                assert_int_equal(k, -EBADMSG);
                assert_null(f->r);
                assert_non_null(error);
                assert_non_null(strstr(error, "/..seccompd-state: "));
                assert_non_null(strstr(error, bad[i].expected));
                assert_null(strchr(error, '\n'));
                free(error);
        }

        /* An empty file (no header) is corrupt too, and says so. */
        char *error = NULL;
        sync_root_free(f->r);
        f->r = NULL;
        write_file(at(f, "..seccompd-state"), "");
        assert_int_equal(sync_root_open(f->root, false, &f->r, &error), -EBADMSG);
        assert_non_null(strstr(error, "..seccompd-state: the file is empty"));
        free(error);
        write_file(at(f, "..seccompd-state"), "seccompd-state 1\n");
        assert_int_equal(sync_root_open(f->root, false, &f->r, NULL), 0);

        /* What the engine itself wrote stays trusted: a tenant's "<namespace>/<1024-character
         * annotation>" directory is longer than an annotation may be. */
        char dir[1100] = "tenant-a", path[1200];
        for (size_t i = 0; i < 10; i++)
                strcat(dir,
                       "/dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
                       "ddddddddddddddddddd");
        assert_true(strlen(dir) > 1024);
        snprintf(path, sizeof(path), "%s/p.json", dir);
        DesiredProfile d = P(path, "T", true);
        SyncResult res;
        apply(f, &d, 1, true, 1, 0, &res);
        assert_int_equal(only_event(&res), SYNC_INSTALLED);
        sync_result_clear(&res);
        sync_root_free(f->r);
        f->r = NULL;
        assert_int_equal(sync_root_open(f->root, false, &f->r, NULL), 0);
        assert_true(sync_root_owns(f->r, path));
}

static void test_unchanged_costs_no_read_and_missing_bytes_are_asked_for(void **state)
{
        Fixture *f = *state;
        SyncResult res;
        DesiredProfile d = P("h.json", "HASHED", true);
        uint8_t hash[SHA256_DIGEST_SIZE];
        Sha256 h;

        apply(f, &d, 1, true, 1, 0, &res);
        sync_result_clear(&res);
        sha256_init(&h);
        sha256_update(&h, "HASHED", 6);
        sha256_final(&h, hash);

        /* Bytes not loaded: the file is what seccompd wrote, nothing to do. */
        DesiredProfile lazy = {.path = "h.json", .hash = hash, .origin = "test", .valid = true};
        apply(f, &lazy, 1, true, 2, 0, &res);
        assert_int_equal(res.n_events, 0);
        assert_int_equal(res.installed, 1);
        sync_result_clear(&res);

        /* Someone removed it: the engine asks for the bytes instead of guessing. */
        assert_int_equal(unlink(at(f, "h.json")), 0);
        apply(f, &lazy, 1, true, 3, 0, &res);
        assert_int_equal(only_event(&res), SYNC_NEEDS_BYTES);
        assert_int_equal(res.events[0].index, 0);
        sync_result_clear(&res);
        apply(f, &d, 1, true, 4, 0, &res);
        assert_int_equal(only_event(&res), SYNC_REPAIRED);
        sync_result_clear(&res);
        assert_content(at(f, "h.json"), "HASHED");

        /* An edit that keeps the size and puts the mtime back is still seen: ctime moves. */
        struct stat before;
        assert_int_equal(stat(at(f, "h.json"), &before), 0);
        int fd = open(at(f, "h.json"), O_WRONLY);
        assert_true(fd >= 0);
        assert_int_equal(pwrite(fd, "X", 1, 5), 1);
        close(fd);
        struct timespec times[2] = {{0, UTIME_OMIT}, before.st_mtim};
        assert_int_equal(utimensat(AT_FDCWD, at(f, "h.json"), times, 0), 0);
        apply(f, &d, 1, true, 5, 0, &res);
        assert_int_equal(only_event(&res), SYNC_REPAIRED);
        sync_result_clear(&res);
        assert_content(at(f, "h.json"), "HASHED");
}

static void test_names(void **state)
{
        assert_null(profile_file_name_invalid("audit.json"));
        assert_null(profile_file_name_invalid("a-b_c.1.json"));
        assert_non_null(profile_file_name_invalid("audit.yaml"));
        assert_non_null(profile_file_name_invalid("..data.json"));
        assert_non_null(profile_file_name_invalid("a/b.json"));
        assert_non_null(profile_file_name_invalid(""));
        assert_non_null(profile_file_name_invalid(".json"));
        assert_null(profile_directory_invalid("profiles/team-a"));
        assert_null(profile_directory_invalid(NULL));
        assert_non_null(profile_directory_invalid("/abs"));
        assert_non_null(profile_directory_invalid("a/../b"));
        assert_non_null(profile_directory_invalid("a//b"));
        assert_non_null(profile_directory_invalid("a/"));
        assert_non_null(profile_directory_invalid("./a"));
        assert_non_null(profile_directory_invalid("..seccompd-x"));
        assert_non_null(profile_directory_invalid("a b"));
        /* A component no file system takes (NAME_MAX) is refused with the object, not met at mkdir. */
        char component[300];
        memset(component, 'd', sizeof(component) - 1);
        component[255] = 0;
        assert_null(profile_directory_invalid(component));
        component[255] = 'd';
        component[256] = 0;
        assert_non_null(profile_directory_invalid(component));
        assert_non_null(strstr(profile_directory_invalid(component), "255"));
        char long_target[320];
        snprintf(long_target, sizeof(long_target), "team/%s/x.json", component);
        assert_non_null(profile_target_path_invalid(long_target));
        assert_null(profile_target_path_invalid("a.json"));
        assert_null(profile_target_path_invalid("team/x/b.json"));
        assert_non_null(profile_target_path_invalid("../victim/x.json"));
        assert_non_null(profile_target_path_invalid("/tmp/x.json"));
        assert_non_null(profile_target_path_invalid("a//b.json"));
        assert_non_null(profile_target_path_invalid("a/..seccompd-state"));
        assert_non_null(profile_target_path_invalid("a/"));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_install_update_unchanged, setup, teardown),
                cmocka_unit_test_setup_teardown(test_invalid_update_keeps_last_good, setup, teardown),
                cmocka_unit_test_setup_teardown(test_conflict_and_adoption, setup, teardown),
                cmocka_unit_test_setup_teardown(test_same_path_twice, setup, teardown),
                cmocka_unit_test_setup_teardown(test_delete_grace_and_incomplete_reads, setup, teardown),
                cmocka_unit_test_setup_teardown(test_delete_grace_survives_a_clock_step_back, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_delete_grace_starts_again_after_a_restart, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_drift_repair, setup, teardown),
                cmocka_unit_test_setup_teardown(test_symlinks_refused, setup, teardown),
                cmocka_unit_test_setup_teardown(test_what_stands_in_the_way, setup, teardown),
                cmocka_unit_test_setup_teardown(test_foreign_objects_are_conflicts, setup, teardown),
                cmocka_unit_test_setup_teardown(test_restart_keeps_ownership_and_lock, setup, teardown),
                cmocka_unit_test_setup_teardown(test_untrusted_state_file_is_refused, setup, teardown),
                cmocka_unit_test_setup_teardown(test_unchanged_costs_no_read_and_missing_bytes_are_asked_for,
                                                setup, teardown),
                cmocka_unit_test(test_names),
        };
        cmocka_set_message_output(CM_OUTPUT_TAP);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
