/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "tables.h"
#include "validate.h"
#include "verbs.h"

static void help(void)
{
        printf("Usage: seccompd COMMAND [OPTIONS...]\n"
               "\n"
               "Validate seccomp profiles the way the node's runtime reads them, and install them\n"
               "into the kubelet's seccomp directory.\n"
               "\n"
               "Commands:\n"
               "  validate FILE...   Check profiles as containerd or CRI-O and runc will read them\n"
               "  convert FILE       Flatten a Docker-format profile to plain OCI JSON for a node\n"
               "  run --source ...   Install profiles into the kubelet seccomp directory, keep them in "
               "sync\n"
               "  record             Write a profile from the kernel's SECCOMP audit records\n"
               "\n"
               "Options:\n"
               "  -h --help          Show this help\n"
               "     --version       Show the version, with libseccomp's\n"
               "\n"
               "Run 'seccompd COMMAND --help' for a command's options.\n");
}

static void version(void)
{
        char v[32];
        libseccomp_version(v);
        printf("seccompd %s (libseccomp %s)\n", PROJECT_VERSION, v);
}

void diagnostic_print(FILE *f, const char *file, const Diagnostic *d, bool as_error)
{
        const char *severity = as_error ? "error" : severity_to_string(d->severity);
        if (d->line > 0)
                fprintf(f, "%s:%u:%u: %s: %s [%s]\n", file, d->line, d->column, severity, d->message,
                        diag_code_to_string(d->code));
        else
                fprintf(f, "%s: %s: %s [%s]\n", file, severity, d->message, diag_code_to_string(d->code));
}

int parse_runtime_arg(const char *verb, const char *s, int *ret)
{
        Runtime r;
        if (runtime_from_string(s, &r) < 0) {
                fprintf(stderr, "seccompd %s: --runtime takes containerd or cri-o, not \"%s\"\n", verb, s);
                return -EINVAL;
        }
        *ret = (int) r;
        return 0;
}

int parse_arch_arg(const char *verb, const char *s, const void **ret)
{
        const ArchInfo *a = arch_from_user(s);
        char v[32];
        if (!a) {
                fprintf(stderr,
                        "seccompd %s: unknown architecture \"%s\" (use x86_64, aarch64, ppc64le, ...)\n",
                        verb, s);
                return -EINVAL;
        }
        if (a->token == 0) {
                libseccomp_version(v);
                fprintf(stderr, "seccompd %s: libseccomp %s cannot build filters for %s (it needs %s)\n",
                        verb, v, a->name, a->since);
                return -EOPNOTSUPP;
        }
        *ret = a;
        return 0;
}

/* The one place where an error becomes an exit status. A verb returns its own outcome as a status
 * (>= 0) or a negative errno, already logged where it was decided; -EINVAL is a configuration that
 * cannot be used and -EBADMSG a state that cannot be trusted, both usage errors. For run, anything else
 * means the sync could not be completed (3, as run --once documents); for the other verbs it is an
 * I/O error (2). */
static int exit_status(int r, int on_error)
{
        if (r >= 0)
                return r;
        if (r == -EINVAL || r == -EBADMSG)
                return EXIT_USAGE;
        if (r == -ENOMEM)
                fprintf(stderr, "seccompd: %s\n", strerror(-r));
        return on_error;
}

int main(int argc, char *argv[])
{
        static const struct {
                const char *name;
                int (*run)(int argc, char *argv[]);
                int on_error;
        } verbs[] = {
                {"validate", verb_validate, EXIT_USAGE},
                {"convert", verb_convert, EXIT_USAGE},
                {"run", verb_run, EXIT_RUN_INCOMPLETE},
                {"record", verb_record, EXIT_USAGE},
        };

        if (argc < 2) {
                help();
                return EXIT_USAGE;
        }
        if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
                help();
                return EXIT_OK;
        }
        if (strcmp(argv[1], "--version") == 0) {
                version();
                return EXIT_OK;
        }
        for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
                if (strcmp(argv[1], verbs[i].name) == 0)
                        return exit_status(verbs[i].run(argc - 1, argv + 1), verbs[i].on_error);
        fprintf(stderr, "seccompd: unknown command \"%s\"; see 'seccompd --help'\n", argv[1]);
        return EXIT_USAGE;
}
