/* SPDX-License-Identifier: Apache-2.0 */
#include <getopt.h>
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
               "  recorder           The in-cluster recording agent: pods labeled seccompd.io/record\n"
               "\n"
               "Options:\n"
               "  -h --help          Show this help\n"
               "     --version       Show the version, with libseccomp's\n"
               "\n"
               "Run 'seccompd COMMAND --help' or 'seccompd help COMMAND' for a command's options.\n");
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

int option_error(const char *verb, int c, char *const argv[], const struct option *options)
{
        /* glibc has moved optind past a long option when it reports it, and past a short option
         * that ends its word; optopt is the short option's letter, the long option's val when it was
         * given an argument it does not take, 0 for a long option it does not know. */
        const char *arg = optind > 0 ? argv[optind - 1] : "";
        bool is_long = strncmp(arg, "--", 2) == 0;
        size_t name_len = is_long ? strcspn(arg + 2, "=") : 0;
        size_t matches = 0;

        for (const struct option *o = options; is_long && o->name; o++)
                matches += strncmp(o->name, arg + 2, name_len) == 0;
        fprintf(stderr, "seccompd %s: ", verb);
        if (c == ':' && is_long)
                fprintf(stderr, "option '%s' requires an argument", arg);
        else if (c == ':')
                fprintf(stderr, "option requires an argument -- '%c'", optopt);
        else if (is_long && optopt != 0 && arg[2 + name_len] == '=')
                fprintf(stderr, "option '--%.*s' doesn't allow an argument", (int) name_len, arg + 2);
        else if (optopt > 0 && optopt < 0x80)
                fprintf(stderr, "invalid option -- '%c'", optopt);
        else if (is_long && matches > 1)
                fprintf(stderr, "option '--%.*s' is ambiguous", (int) name_len, arg + 2);
        else
                fprintf(stderr, "unrecognized option '%s'", arg);
        fprintf(stderr, "; see 'seccompd %s --help'\n", verb);
        return EXIT_USAGE;
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
                /* clang-format off */
                {"validate", verb_validate, EXIT_USAGE},
                {"convert", verb_convert, EXIT_USAGE},
                {"run", verb_run, EXIT_RUN_INCOMPLETE},
                {"record", verb_record, EXIT_USAGE},
                {"recorder", verb_recorder, EXIT_USAGE},
                /* clang-format on */
        };

        if (argc < 2) {
                help();
                return EXIT_USAGE;
        }
        if (strcmp(argv[1], "help") == 0 && argc > 2) {
                /* "seccompd help VERB" is "seccompd VERB --help". */
                for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                        if (strcmp(argv[2], verbs[i].name) == 0) {
                                char *help_argv[] = {argv[2], (char *) "--help", NULL};
                                return exit_status(verbs[i].run(2, help_argv), verbs[i].on_error);
                        }
                fprintf(stderr, "seccompd help: unknown command \"%s\"; see 'seccompd --help'\n", argv[2]);
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
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                if (strcmp(argv[1], verbs[i].name) == 0)
                        return exit_status(verbs[i].run(argc - 1, argv + 1), verbs[i].on_error);
        fprintf(stderr, "seccompd: unknown command \"%s\"; see 'seccompd --help'\n", argv[1]);
        return EXIT_USAGE;
}
