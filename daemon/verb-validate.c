/* SPDX-License-Identifier: Apache-2.0 */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "cache.h"
#include "shared/fileio.h"
#include "sync/source.h"
#include "validate-manifest.h"
#include "validate.h"
#include "verbs.h"

static void help(void)
{
        printf("Usage: seccompd validate [OPTIONS...] FILE|- ...\n"
               "\n"
               "Check seccomp profiles the way the node's runtime will read them: decoded as Go does,\n"
               "checked against what containerd or CRI-O and runc make of them, and compiled by\n"
               "libseccomp. One line per problem: FILE:LINE:COL: error|warning: MESSAGE [code].\n"
               "A *.yaml or *.yml FILE is a manifest (so is - when it is YAML, or a Kubernetes object in\n"
               "JSON): every profile key of its ConfigMaps and Secrets labeled seccompd.io/profile=true\n"
               "is checked, List items included, at the manifest's lines; what seccompd would not\n"
               "install from it (no label, another value, a key not ending in .json, ...) is an error.\n"
               "\n"
               "Options:\n"
               "     --runtime RUNTIME    containerd (default) or cri-o\n"
               "     --arch ARCH          The node's architecture (default: this machine's)\n"
               "     --runc-version X.Y   The node's runc (default: 1.1, the oldest in current managed\n"
               "                          node images; runc before 1.2 refuses any seccomp flags)\n"
               "     --allow-notify PATH  Accept SCMP_ACT_NOTIFY with this listenerPath (repeatable)\n"
               "     --strict             Treat warnings as errors\n"
               "     --json               Print one JSON document instead of lines: {\"files\": [...]},\n"
               "                          one entry per profile, and one per manifest for its own\n"
               "                          problems (\"manifest\": true); see README.md\n"
               "  -h --help               Show this help\n"
               "\n"
               "Exit status: 0 every file valid, 1 a file invalid, 2 usage or I/O error.\n");
}

void print_human(const char *file, const Verdict *v, const ValidateOptions *o, bool strict,
                 const char *lines_file)
{
        size_t warnings = diagnostics_count(&v->diagnostics, SEVERITY_WARNING);
        size_t errors = diagnostics_count(&v->diagnostics, SEVERITY_ERROR);

        for (size_t i = 0; i < v->diagnostics.n; i++)
                diagnostic_print(stdout, lines_file ?: file, v->diagnostics.items + i, strict);
        bool valid = v->valid && !(strict && warnings > 0);
        unsigned major, minor;
        validate_runc_version(o, &major, &minor);
        /* A valid profile that no container can start under is what the node will do: say it here,
         * where a reader of CI logs looks first. */
        const char *but = "";
        for (size_t i = 0; i < v->diagnostics.n; i++) {
                const Diagnostic *d = v->diagnostics.items + i;
                bool all = !strstr(d->message, ": some starts fail under this profile");
                if (d->code == DIAG_CONTAINER_CANNOT_START)
                        but = all ? "; but no container can start under it"
                                  : "; but some starts fail under it";
                else if (d->code == DIAG_CONTAINER_NEEDS_NO_NEW_PRIVILEGES && !but[0])
                        but = all ? "; but only containers with allowPrivilegeEscalation: false can start"
                                  : "; but some starts fail unless allowPrivilegeEscalation: false";
                if (d->code == DIAG_CONTAINER_CANNOT_START && all)
                        break;
        }
        printf("%s: %s for %s + runc %u.%u on %s", file, valid ? "valid" : "INVALID",
               runtime_to_string(o->runtime), major, minor, o->arch->name);
        if (v->bpf_instructions > 0)
                printf(", %u BPF instructions", v->bpf_instructions);
        printf(" (%zu error%s, %zu warning%s)%s\n", errors, errors == 1 ? "" : "s", warnings,
               warnings == 1 ? "" : "s", valid ? but : "");
}

json_t *verdict_to_json(const char *file, const Verdict *v, bool strict)
{
        json_t *diags = json_array(), *doc;
        size_t warnings = diagnostics_count(&v->diagnostics, SEVERITY_WARNING);

        for (size_t i = 0; i < v->diagnostics.n; i++) {
                const Diagnostic *d = v->diagnostics.items + i;
                json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "severity",
                                      strict ? "error" : severity_to_string(d->severity), "code",
                                      diag_code_to_string(d->code), "path", d->path, "message", d->message);
                if (d->line > 0) {
                        json_object_set_new(o, "line", json_integer(d->line));
                        json_object_set_new(o, "column", json_integer(d->column));
                } else {
                        json_object_set_new(o, "line", json_null());
                        json_object_set_new(o, "column", json_null());
                }
                json_array_append_new(diags, o);
        }
        doc = json_pack("{s:s, s:b, s:o}", "file", file, "valid", v->valid && !(strict && warnings > 0),
                        "diagnostics", diags);
        if (v->bpf_instructions > 0)
                json_object_set_new(doc, "bpfInstructions", json_integer(v->bpf_instructions));
        return doc;
}

static bool is_manifest(const char *path)
{
        size_t n = strlen(path);
        return (n > 5 && strcmp(path + n - 5, ".yaml") == 0) || (n > 4 && strcmp(path + n - 4, ".yml") == 0);
}

int verb_validate(int argc, char *argv[])
{
        enum { ARG_RUNTIME = 0x100, ARG_ARCH, ARG_RUNC_VERSION, ARG_ALLOW_NOTIFY, ARG_STRICT, ARG_JSON };
        static const struct option options[] = {
                {"help", no_argument, NULL, 'h'},
                {"runtime", required_argument, NULL, ARG_RUNTIME},
                {"arch", required_argument, NULL, ARG_ARCH},
                {"runc-version", required_argument, NULL, ARG_RUNC_VERSION},
                {"allow-notify", required_argument, NULL, ARG_ALLOW_NOTIFY},
                {"strict", no_argument, NULL, ARG_STRICT},
                {"json", no_argument, NULL, ARG_JSON},
                {},
        };
        _cleanup_free_ const char **allow = NULL;
        _cleanup_(verdict_cache_freep) VerdictCache *cache = NULL;
        ValidateOptions o = {.runtime = RUNTIME_CONTAINERD};
        bool strict = false, as_json = false, any_invalid = false;
        json_t *files = NULL;
        int c, rt;

        allow = calloc((size_t) argc, sizeof(char *));
        if (!allow)
                return EXIT_USAGE;
        optind = 0;
        opterr = 0;
        while ((c = getopt_long(argc, argv, ":h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return EXIT_OK;
                case ARG_RUNTIME:
                        if (parse_runtime_arg("validate", optarg, &rt) < 0)
                                return EXIT_USAGE;
                        o.runtime = (Runtime) rt;
                        break;
                case ARG_ARCH:
                        if (parse_arch_arg("validate", optarg, (const void **) &o.arch) < 0)
                                return EXIT_USAGE;
                        break;
                case ARG_RUNC_VERSION:
                        if (runc_version_parse(optarg, &o.runc_major, &o.runc_minor) < 0 ||
                            (o.runc_major == 0 && o.runc_minor == 0)) {
                                fprintf(stderr,
                                        "seccompd validate: --runc-version takes a version such as 1.1 or "
                                        "1.2.0, not \"%s\"\n",
                                        optarg);
                                return EXIT_USAGE;
                        }
                        break;
                case ARG_ALLOW_NOTIFY:
                        if (optarg[0] != '/') {
                                fprintf(stderr,
                                        "seccompd validate: --allow-notify takes an absolute path\n");
                                return EXIT_USAGE;
                        }
                        allow[o.n_allow_notify++] = optarg;
                        break;
                case ARG_STRICT:
                        strict = true;
                        break;
                case ARG_JSON:
                        as_json = true;
                        break;
                case '?':
                case ':':
                        return option_error("validate", c, argv, options);
                default:
                        return EXIT_USAGE;
                }
        if (optind >= argc) {
                fprintf(stderr, "seccompd validate: no file given; see 'seccompd validate --help'\n");
                return EXIT_USAGE;
        }
        o.allow_notify = allow;
        if (!o.arch)
                o.arch = arch_from_token(seccomp_arch_native());
        if (verdict_cache_new(64, &cache) < 0)
                return EXIT_USAGE;
        if (as_json)
                files = json_array();

        int status = EXIT_OK;
        ValidateRun run = {.options = &o, .cache = cache, .strict = strict, .files = files};
        for (int i = optind; i < argc; i++) {
                _cleanup_free_ char *buf = NULL;
                bool is_stdin = strcmp(argv[i], "-") == 0, manifest = is_manifest(argv[i]);
                const char *file = is_stdin ? "<stdin>" : argv[i];
                size_t len;
                Verdict v;
                int r;

                /* A file's name says what it is, as in a directory source; standard input, its bytes. */
                r = read_full_file(argv[i], is_stdin || manifest ? MANIFEST_MAX_SIZE : PROFILE_MAX_SIZE,
                                   &buf, &len);
                if (r >= 0 && is_stdin)
                        manifest = validate_text_is_manifest(buf, len);
                if (r >= 0 && manifest) {
                        r = validate_manifest(&run, file, buf, len);
                        if (r < 0) {
                                fprintf(stderr, "seccompd validate: %s: %s\n", file, strerror(-r));
                                status = EXIT_USAGE;
                        }
                        continue;
                }
                if (r == -EFBIG && manifest) {
                        fprintf(stderr, "seccompd validate: cannot read %s: larger than %d MiB\n", file,
                                MANIFEST_MAX_SIZE / 1024 / 1024);
                        status = EXIT_USAGE;
                        continue;
                }
                if (r >= 0 && len > PROFILE_MAX_SIZE)
                        r = -EFBIG;
                if (r == -EFBIG)
                        /* Judged on its size alone; the bytes were never kept. */
                        r = profile_validate(NULL, PROFILE_MAX_SIZE + 1, &o, &v);
                else if (r >= 0)
                        r = profile_validate_cached(cache, buf, len, &o, &v, NULL);
                else {
                        fprintf(stderr, "seccompd validate: cannot read %s: %s\n", file, strerror(-r));
                        status = EXIT_USAGE;
                        continue;
                }
                if (r < 0) {
                        fprintf(stderr, "seccompd validate: %s: %s\n", file, strerror(-r));
                        status = EXIT_USAGE;
                        continue;
                }
                bool invalid =
                        !v.valid || (strict && diagnostics_count(&v.diagnostics, SEVERITY_WARNING) > 0);
                any_invalid = any_invalid || invalid;
                if (as_json)
                        json_array_append_new(files, verdict_to_json(file, &v, strict));
                else
                        print_human(file, &v, &o, strict, NULL);
                verdict_clear(&v);
        }
        if (as_json) {
                json_t *doc = json_pack("{s:o}", "files", files);
                char *s = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
                if (s)
                        puts(s);
                free(s);
                json_decref(doc);
        }
        if (fflush(stdout) != 0)
                return EXIT_USAGE;
        if (status != EXIT_OK)
                return status;
        return any_invalid || run.any_invalid ? EXIT_INVALID : EXIT_OK;
}
