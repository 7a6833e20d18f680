/* SPDX-License-Identifier: Apache-2.0 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "convert.h"
#include "shared/fileio.h"
#include "verbs.h"

static void help(void)
{
        printf("Usage: seccompd convert [OPTIONS...] FILE|-\n"
               "\n"
               "Print the profile flattened to plain OCI JSON for one node, the form containerd reads\n"
               "without silently dropping anything: name -> names, archMap -> architectures for the\n"
               "node's architecture, includes/excludes/minKernel resolved for its kernel and the\n"
               "container's capabilities, errno names -> numbers.\n"
               "\n"
               "Options:\n"
               "     --runtime RUNTIME  containerd (default) or cri-o: selects the default capabilities\n"
               "     --arch ARCH        The node's architecture (default: this machine's)\n"
               "     --kernel X.Y       The node's kernel (default: the running kernel)\n"
               "     --caps CAP,...     The container's capabilities (default: the runtime's defaults)\n"
               "  -h --help             Show this help\n"
               "\n"
               "Exit status: 0 converted, 1 the input is invalid, 2 usage or I/O error.\n");
}

/* "chown,CAP_KILL" -> CAP_CHOWN, CAP_KILL. */
static int parse_caps(char *s, char ***ret, size_t *ret_n)
{
        size_t n = 0, max = 1;
        for (const char *p = s; *p; p++)
                max += *p == ',';
        char **caps = calloc(max, sizeof(char *));
        if (!caps)
                return -ENOMEM;
        for (char *save = NULL, *t = strtok_r(s, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                char *c = NULL;
                while (*t == ' ')
                        t++;
                if (!*t)
                        continue;
                if (asprintf(&c, "%s%s", strncasecmp(t, "CAP_", 4) == 0 ? "" : "CAP_", t) < 0) {
                        for (size_t i = 0; i < n; i++)
                                free(caps[i]);
                        free(caps);
                        return -ENOMEM;
                }
                for (char *q = c; *q; q++)
                        if (*q >= 'a' && *q <= 'z')
                                *q = (char) (*q - 'a' + 'A');
                caps[n++] = c;
        }
        *ret = caps;
        *ret_n = n;
        return 0;
}

int verb_convert(int argc, char *argv[])
{
        enum { ARG_RUNTIME = 0x100, ARG_ARCH, ARG_KERNEL, ARG_CAPS };
        static const struct option options[] = {
                {"help", no_argument, NULL, 'h'},
                {"runtime", required_argument, NULL, ARG_RUNTIME},
                {"arch", required_argument, NULL, ARG_ARCH},
                {"kernel", required_argument, NULL, ARG_KERNEL},
                {"caps", required_argument, NULL, ARG_CAPS},
                {},
        };
        _cleanup_free_ char *buf = NULL, *out = NULL;
        char **caps = NULL;
        size_t n_caps = 0, len;
        ConvertOptions o = {.runtime = RUNTIME_CONTAINERD};
        Diagnostics d = {};
        int c, rt, r, status = EXIT_OK;

        optind = 0;
        opterr = 0;
        while ((c = getopt_long(argc, argv, ":h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return EXIT_OK;
                case ARG_RUNTIME:
                        if (parse_runtime_arg("convert", optarg, &rt) < 0)
                                return EXIT_USAGE;
                        o.runtime = (Runtime) rt;
                        break;
                case ARG_ARCH:
                        if (parse_arch_arg("convert", optarg, (const void **) &o.arch) < 0)
                                return EXIT_USAGE;
                        break;
                case ARG_KERNEL: {
                        unsigned a, b;
                        char extra;
                        if (sscanf(optarg, "%u.%u%c", &a, &b, &extra) != 2 || (a == 0 && b == 0)) {
                                fprintf(stderr, "seccompd convert: --kernel takes X.Y, such as 5.15\n");
                                return EXIT_USAGE;
                        }
                        o.kernel_major = a;
                        o.kernel_minor = b;
                        break;
                }
                case ARG_CAPS:
                        if (caps)
                                break;
                        if (parse_caps(optarg, &caps, &n_caps) < 0)
                                return EXIT_USAGE;
                        o.caps = (const char *const *) caps;
                        o.n_caps = n_caps;
                        break;
                case '?':
                case ':':
                        return option_error("convert", c, argv, options);
                default:
                        return EXIT_USAGE;
                }
        if (argc - optind != 1) {
                fprintf(stderr, "seccompd convert: expected exactly one FILE (or - for standard input)\n");
                status = EXIT_USAGE;
                goto finish;
        }
        const char *file = strcmp(argv[optind], "-") == 0 ? "<stdin>" : argv[optind];
        r = read_full_file(argv[optind], PROFILE_MAX_SIZE, &buf, &len);
        if (r < 0) {
                fprintf(stderr, "seccompd convert: cannot read %s: %s\n", file,
                        r == -EFBIG ? "larger than 1 MiB" : strerror(-r));
                status = EXIT_USAGE;
                goto finish;
        }
        r = profile_convert(buf, len, &o, &d, &out);
        if (r == -EINVAL) {
                for (size_t i = 0; i < d.n; i++)
                        diagnostic_print(stderr, file, d.items + i, false);
                status = EXIT_INVALID;
                goto finish;
        }
        if (r < 0) {
                fprintf(stderr, "seccompd convert: %s: %s\n", file, strerror(-r));
                status = EXIT_USAGE;
                goto finish;
        }
        fputs(out, stdout);
        if (fflush(stdout) != 0)
                status = EXIT_USAGE;
finish:
        diagnostics_clear(&d);
        for (size_t i = 0; i < n_caps; i++)
                free(caps[i]);
        free(caps);
        return status;
}
