/* SPDX-License-Identifier: Apache-2.0 */
/* Opening beneath a directory: every case three ways, through openat2, through the walk called
 * directly, and through open_beneath in a child whose seccomp filter answers ENOSYS for openat2 (as
 * on a kernel without it), so the fallback the daemon would take there is the one tested. The three
 * must agree with each other and with the table. */
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include <linux/openat2.h>
#include <seccomp.h>

#include "shared/beneath.h"
#include "shared/macro.h"

typedef struct Case {
        const char *path;
        int error;            /* 0: opens */
        const char *contents; /* what the file opened holds; NULL: a directory */
} Case;

static const Case cases[] = {
        {"f.json", 0, "f"},
        {"sub/g.json", 0, "g"},
        {"sub/./g.json", 0, "g"},
        {"sub//g.json", 0, "g"},
        {"sub/../f.json", 0, "f"},
        {"sub", 0, NULL},
        {"sub/", 0, NULL},
        {"sub/..", 0, NULL},
        {".", 0, NULL},
        /* A mounted ConfigMap volume: key → ..data/key, ..data → the timestamped directory. */
        {"key.json", 0, "key"},
        {"..data/key.json", 0, "key"},
        {"sub/up.json", 0, "f"},              /* sub/up.json → ../f.json: stays inside */
        {"dirlink/g.json", 0, "g"},           /* dirlink → sub/ */
        {"chain40", 0, "f"},                  /* 40 links, the kernel's limit */
        {"chain41", -ELOOP, NULL},            /* one more */
        {"loop", -ELOOP, NULL},               /* loop → loop2 → loop */
        {"absolute", -EXDEV, NULL},           /* → /…/outside/secret.json */
        {"hop", -EXDEV, NULL},                /* hop → absolute → /… : the second hop leaves */
        {"dirhop/secret.json", -EXDEV, NULL}, /* dirhop → /…/outside */
        {"via-dirhop", -EXDEV, NULL},         /* via-dirhop → dirhop/secret.json */
        {"up", -EXDEV, NULL},                 /* up → ../outside/secret.json */
        {"sub/up2", -EXDEV, NULL},            /* sub/up2 → ../../outside/secret.json */
        {"sub/hop", -EXDEV, NULL},            /* sub/hop → up2 → ../../outside */
        {"../src/f.json", -EXDEV, NULL},      /* above the directory, even to come back */
        {"sub/../../src/f.json", -EXDEV, NULL},
        {"/etc/passwd", -EXDEV, NULL},
        {"dangling", -ENOENT, NULL},
        {"missing", -ENOENT, NULL},
        {"", -ENOENT, NULL},
        {"f.json/", -ENOTDIR, NULL},
        {"f.json/x", -ENOTDIR, NULL},
};

typedef struct Fixture {
        char top[64]; /* holds src/ (the directory) and outside/ */
        int dfd;
} Fixture;

static void put(const char *path, const char *text)
{
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        assert_true(fputs(text, f) >= 0);
        assert_int_equal(fclose(f), 0);
}

static void at(const Fixture *f, char *buf, size_t size, const char *rel)
{
        assert_true((size_t) snprintf(buf, size, "%s/%s", f->top, rel) < size);
}

static void link_at(const Fixture *f, const char *target, const char *rel)
{
        char path[PATH_MAX];
        at(f, path, sizeof(path), rel);
        assert_int_equal(symlink(target, path), 0);
}

static int setup(void **state)
{
        Fixture *f = calloc(1, sizeof(Fixture));
        char p[PATH_MAX], q[PATH_MAX];
        assert_non_null(f);
        strcpy(f->top, "/tmp/test-beneath-XXXXXX");
        assert_non_null(mkdtemp(f->top));
        static const char *const dirs[] = {"src", "outside", "src/sub", "src/..2026_12_01_22_10_01.123"};
        for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
                at(f, p, sizeof(p), dirs[i]);
                assert_int_equal(mkdir(p, 0755), 0);
        }
        at(f, p, sizeof(p), "src/f.json");
        put(p, "f");
        at(f, p, sizeof(p), "src/sub/g.json");
        put(p, "g");
        at(f, p, sizeof(p), "src/..2026_12_01_22_10_01.123/key.json");
        put(p, "key");
        at(f, p, sizeof(p), "outside/secret.json");
        put(p, "secret");

        link_at(f, "..2026_12_01_22_10_01.123", "src/..data");
        link_at(f, "..data/key.json", "src/key.json");
        link_at(f, "../f.json", "src/sub/up.json");
        link_at(f, "sub/", "src/dirlink");
        /* chain40 → c1 → … → c39 → f.json: 40 links. */
        link_at(f, "f.json", "src/c39");
        for (int i = 39; i > 1; i--) {
                (void) snprintf(q, sizeof(q), "c%d", i);
                (void) snprintf(p, sizeof(p), "src/c%d", i - 1);
                link_at(f, q, p);
        }
        link_at(f, "c1", "src/chain40");
        link_at(f, "chain40", "src/chain41");
        link_at(f, "loop2", "src/loop");
        link_at(f, "loop", "src/loop2");
        at(f, q, sizeof(q), "outside/secret.json");
        link_at(f, q, "src/absolute");
        link_at(f, "absolute", "src/hop");
        at(f, q, sizeof(q), "outside");
        link_at(f, q, "src/dirhop");
        link_at(f, "dirhop/secret.json", "src/via-dirhop");
        link_at(f, "../outside/secret.json", "src/up");
        link_at(f, "../../outside/secret.json", "src/sub/up2");
        link_at(f, "up2", "src/sub/hop");
        link_at(f, "absent", "src/dangling");

        at(f, p, sizeof(p), "src");
        f->dfd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(f->dfd >= 0);
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        Fixture *f = *state;
        char cmd[128];
        (void) close(f->dfd);
        (void) snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->top);
        assert_int_equal(system(cmd), 0);
        free(f);
        return 0;
}

/* What opening c gave: 0 when it matches the table, else a number that says what went wrong (for
 * the child to exit with). */
static int check(const Case *c, int fd)
{
        if (fd < 0)
                return fd == c->error ? 0 : 1;
        _cleanup_close_ int owned = fd;
        struct stat st;
        char buf[16] = {};
        if (c->error != 0 || fstat(fd, &st) < 0)
                return 2;
        if (!c->contents)
                return S_ISDIR(st.st_mode) ? 0 : 3;
        if (!S_ISREG(st.st_mode) || read(fd, buf, sizeof(buf) - 1) < 0)
                return 4;
        return strcmp(buf, c->contents) == 0 ? 0 : 5;
}

static void test_openat2(void **state)
{
        Fixture *f = *state;
        struct open_how how = {.flags = O_RDONLY | O_CLOEXEC};
        long probe = syscall(SYS_openat2, f->dfd, "f.json", &how, sizeof(how));
        if (probe < 0)
                print_message("# openat2: %s; open_beneath takes the fallback here too\n", strerror(errno));
        else
                (void) close((int) probe);
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                int fd = open_beneath(f->dfd, cases[i].path, O_RDONLY | O_NONBLOCK);
                if (check(cases + i, fd) != 0)
                        fail_msg("open_beneath(\"%s\"): %s, expected %s", cases[i].path,
                                 fd < 0 ? strerror(-fd) : "opened", strerror(-cases[i].error));
        }
}

static void test_walk(void **state)
{
        Fixture *f = *state;
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                int fd = open_beneath_walk(f->dfd, cases[i].path, O_RDONLY | O_NONBLOCK);
                if (check(cases + i, fd) != 0)
                        fail_msg("open_beneath_walk(\"%s\"): %s, expected %s", cases[i].path,
                                 fd < 0 ? strerror(-fd) : "opened", strerror(-cases[i].error));
        }
}

static void test_fallback_without_openat2(void **state)
{
        Fixture *f = *state;
        scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
        int status;

        assert_non_null(ctx);
        assert_int_equal(seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(openat2), 0), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || seccomp_load(ctx) < 0)
                        _exit(100);
                /* The filter is in place: openat2 itself now fails as on an old kernel. */
                struct open_how how = {.flags = O_RDONLY | O_CLOEXEC};
                if (syscall(SYS_openat2, f->dfd, "f.json", &how, sizeof(how)) >= 0 || errno != ENOSYS)
                        _exit(101);
                int failed = 0;
                for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                        int fd = open_beneath(f->dfd, cases[i].path, O_RDONLY | O_NONBLOCK);
                        if (check(cases + i, fd) != 0) {
                                fprintf(stderr, "# without openat2: open_beneath(\"%s\"): %s, expected %s\n",
                                        cases[i].path, fd < 0 ? strerror(-fd) : "opened",
                                        strerror(-cases[i].error));
                                failed = 1;
                        }
                }
                _exit(failed);
        }
        seccomp_release(ctx);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_not_equal(WEXITSTATUS(status), 100); /* could not load the filter */
        assert_int_not_equal(WEXITSTATUS(status), 101); /* openat2 still answered */
        assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_openat2, setup, teardown),
                cmocka_unit_test_setup_teardown(test_walk, setup, teardown),
                cmocka_unit_test_setup_teardown(test_fallback_without_openat2, setup, teardown),
        };
        cmocka_set_message_output(CM_OUTPUT_TAP);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
