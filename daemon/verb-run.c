/* SPDX-License-Identifier: Apache-2.0 */
/* seccompd run: the node daemon's command line. The daemon itself is the manager (manager.c). */
#include <getopt.h>
#include <malloc.h>
#include <stdio.h>
#include <string.h>

#include "builtin-source.h"
#include "confine.h"
#include "kube-node.h"
#include "log.h"
#include "manager.h"
#include "sync/source.h"
#include "tables.h"
#include "verbs.h"

#define DEFAULT_ROOT     "/var/lib/kubelet/seccomp"
#define DEFAULT_SELECTOR LABEL_PROFILE "=true"

/* The longest --delete-grace: a century. Far past any real use, and far enough from UINT64_MAX that the
 * deadline (CLOCK_MONOTONIC + grace) cannot wrap around to "now". */
#define DURATION_MAX_USEC (100ULL * 365 * 24 * 3600 * 1000000)

/* DIGITS[.DIGITS][ms|s|m|min|h], seconds without a unit, in integer arithmetic: strtod() once let "inf",
 * "1e30h" and "1e15s" overflow the conversion to 0 (delete at once) and "nan" mean never. -EINVAL when
 * malformed (also past 9 decimals), -ERANGE past DURATION_MAX_USEC. Rounded down to a microsecond. */
static int parse_duration(const char *s, uint64_t *ret)
{
        static const struct {
                const char *suffix;
                uint64_t usec;
        } units[] = {
                {"ms", 1000},      {"s", 1000000},  {"", 1000000},
                {"min", 60000000}, {"m", 60000000}, {"h", 3600000000ULL},
        };
        uint64_t whole = 0, frac = 0, frac_scale = 1, unit = 0, v;
        const char *p = s;

        if (*p < '0' || *p > '9')
                return -EINVAL;
        for (; *p >= '0' && *p <= '9'; p++)
                if (__builtin_mul_overflow(whole, 10, &whole) ||
                    __builtin_add_overflow(whole, *p - '0', &whole))
                        return -ERANGE;
        if (*p == '.') {
                if (*++p < '0' || *p > '9')
                        return -EINVAL;
                for (; *p >= '0' && *p <= '9'; p++) {
                        if (frac_scale == 1000000000) /* nanoseconds of an hour are enough */
                                return -EINVAL;
                        frac = frac * 10 + (uint64_t) (*p - '0');
                        frac_scale *= 10;
                }
        }
        for (size_t i = 0; i < ELEMENTSOF(units); i++)
                if (strcmp(p, units[i].suffix) == 0)
                        unit = units[i].usec;
        if (unit == 0)
                return -EINVAL;
        /* frac < 10^9 and unit <= 3.6 * 10^9: their product fits. */
        if (__builtin_mul_overflow(whole, unit, &v) ||
            __builtin_add_overflow(v, frac * unit / frac_scale, &v) || v > DURATION_MAX_USEC)
                return -ERANGE;
        *ret = v;
        return 0;
}

/* A DNS-1123 label, as Kubernetes names namespaces. */
static const char *namespace_invalid(const char *ns)
{
        size_t n = strlen(ns);
        if (n == 0 || n > 63)
                return "a namespace has 1 to 63 characters";
        for (size_t i = 0; i < n; i++)
                if (!((ns[i] >= 'a' && ns[i] <= 'z') || (ns[i] >= '0' && ns[i] <= '9') || ns[i] == '-'))
                        return "a namespace has only lowercase letters, digits and '-'";
        if (ns[0] == '-' || ns[n - 1] == '-')
                return "a namespace starts and ends with a letter or digit";
        return NULL;
}

/* Everything but option parsing: build the manager, run it, tear it down. */
static int run(const ManagerOptions *o, LogFormat format, ConfineMode confine)
{
        _cleanup_(manager_freep) Manager *m = NULL;
        int r;

        log_setup(format);
        /* A sync reads and parses every profile, then lets go: with glibc's defaults those transient
         * buffers keep the heap at its high-water mark. Large ones are mapped and unmapped instead, and
         * free memory is returned early, so steady memory is what the daemon really holds. */
        (void) mallopt(M_MMAP_THRESHOLD, 16 * 1024);
        (void) mallopt(M_TRIM_THRESHOLD, 64 * 1024);
        r = manager_new(o, &m);
        if (r < 0)
                return r;
        /* Set up: from here on, only the system calls the daemon makes. */
        r = confine_self(confine_mode_from_env(confine));
        if (r < 0)
                return log_error_errno(r, "cannot confine itself (seccomp filter, no capabilities); "
                                          "--no-self-confine runs without, for debugging");
        return manager_run(m);
}

static void help(void)
{
        printf("Usage: seccompd run --source dir:PATH|kube [OPTIONS...]\n"
               "\n"
               "Install the profiles of a source into the kubelet's seccomp directory, atomically and\n"
               "touching only files seccompd wrote, and keep them in sync.\n"
               "\n"
               "Options:\n"
               "     --source dir:PATH       Profiles (*.json) and ConfigMap/Secret manifests (*.yaml)\n"
               "     --source kube           ConfigMaps (and Secrets) labeled seccompd.io/profile=true\n"
               "\n"
               "With --source kube:\n"
               "     --kubeconfig FILE       Out of cluster (else KUBECONFIG, else the service account)\n"
               "     --namespace NS          Watch NS (repeatable; default: the pod's namespace)\n"
               "     --tenant-namespace NS   Watch NS as a tenant: under <root>/NS/, must confine\n"
               "     --selector SEL          Label selector (default " DEFAULT_SELECTOR ")\n"
               "     --secrets               Watch Secrets too (needs RBAC on secrets)\n"
               "     --listen ADDR:PORT      /readyz, /healthz, /metrics (default :9464; none: off)\n"
               "     --node-name NAME        This node (default $NODE_NAME), for the two below\n"
               "     --remove-startup-taint KEY  Remove this taint from the node once ready\n"
               "     --node-condition        Keep a " NODE_CONDITION_TYPE " condition on the node\n"
               "\n"
               "Common:\n"
               "     --root DIR              The seccomp directory (default " DEFAULT_ROOT ")\n"
               "     --once                  One full sync, then exit\n"
               "     --runtime RUNTIME       containerd (default) or cri-o: how profiles are validated\n"
               "     --runc-version X.Y      The node's runc (default 1.1; runc before 1.2 refuses flags)\n"
               "     --delete-grace DURATION Wait before removing a profile that left the source (0s)\n"
               "     --recording-profile     Install " RECORDING_PROFILE_PATH " too: logs every syscall\n"
               "                             (SCMP_ACT_LOG), for pods the recorder records\n"
               "     --log-format FORMAT     text or json (default: the journal under systemd, else text)\n"
               "     --no-self-confine       Do not load the daemon's own seccomp filter (debugging)\n"
               "  -h --help                  Show this help\n"
               "\n"
               "--once exits 0 when every profile is installed, 1 when one was rejected or in conflict,\n"
               "2 on a usage error, 3 when the sync could not be completed.\n");
}

int verb_run(int argc, char *argv[])
{
        enum {
                ARG_SOURCE = 0x100,
                ARG_ROOT,
                ARG_ONCE,
                ARG_RUNTIME,
                ARG_RUNC_VERSION,
                ARG_GRACE,
                ARG_LOG_FORMAT,
                ARG_KUBECONFIG,
                ARG_NAMESPACE,
                ARG_TENANT,
                ARG_SELECTOR,
                ARG_SECRETS,
                ARG_LISTEN,
                ARG_NODE_NAME,
                ARG_TAINT,
                ARG_CONDITION,
                ARG_NO_CONFINE,
                ARG_RECORDING_PROFILE,
        };
        static const struct option options[] = {
                {"help", no_argument, NULL, 'h'},
                {"source", required_argument, NULL, ARG_SOURCE},
                {"root", required_argument, NULL, ARG_ROOT},
                {"once", no_argument, NULL, ARG_ONCE},
                {"runtime", required_argument, NULL, ARG_RUNTIME},
                {"runc-version", required_argument, NULL, ARG_RUNC_VERSION},
                {"delete-grace", required_argument, NULL, ARG_GRACE},
                {"log-format", required_argument, NULL, ARG_LOG_FORMAT},
                {"kubeconfig", required_argument, NULL, ARG_KUBECONFIG},
                {"namespace", required_argument, NULL, ARG_NAMESPACE},
                {"tenant-namespace", required_argument, NULL, ARG_TENANT},
                {"selector", required_argument, NULL, ARG_SELECTOR},
                {"secrets", no_argument, NULL, ARG_SECRETS},
                {"listen", required_argument, NULL, ARG_LISTEN},
                {"node-name", required_argument, NULL, ARG_NODE_NAME},
                {"remove-startup-taint", required_argument, NULL, ARG_TAINT},
                {"node-condition", no_argument, NULL, ARG_CONDITION},
                {"no-self-confine", no_argument, NULL, ARG_NO_CONFINE},
                {"recording-profile", no_argument, NULL, ARG_RECORDING_PROFILE},
                {},
        };
        ManagerOptions m = {.root_path = DEFAULT_ROOT, .validate = {.runtime = RUNTIME_CONTAINERD}};
        LogFormat format = LOG_FORMAT_AUTO;
        ConfineMode confine = CONFINE_ENFORCE;
        _cleanup_free_ char **namespaces = calloc((size_t) argc + 1, sizeof(char *));
        _cleanup_free_ char **tenants = calloc((size_t) argc + 1, sizeof(char *));
        KubeArgs k = {.selector = DEFAULT_SELECTOR, .namespaces = namespaces, .tenants = tenants};
        bool kube = false;
        int c, rt, r;

        if (!namespaces || !tenants)
                return -ENOMEM;

        optind = 0;
        opterr = 0;
        while ((c = getopt_long(argc, argv, ":h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return EXIT_OK;
                case ARG_SOURCE:
                        if (strcmp(optarg, "kube") == 0) {
                                kube = true;
                                break;
                        }
                        if (strncmp(optarg, "dir:", 4) != 0 || !optarg[4]) {
                                fprintf(stderr, "seccompd run: --source takes dir:PATH or kube\n");
                                return EXIT_USAGE;
                        }
                        m.source_dir = optarg + 4;
                        break;
                case ARG_KUBECONFIG:
                        k.kubeconfig = optarg;
                        break;
                case ARG_NAMESPACE:
                case ARG_TENANT: {
                        const char *why = namespace_invalid(optarg);
                        if (why) {
                                fprintf(stderr, "seccompd run: --%s \"%s\": %s\n",
                                        c == ARG_TENANT ? "tenant-namespace" : "namespace", optarg, why);
                                return EXIT_USAGE;
                        }
                        if (c == ARG_TENANT)
                                k.tenants[k.n_tenants++] = optarg;
                        else
                                k.namespaces[k.n_namespaces++] = optarg;
                        break;
                }
                case ARG_SELECTOR:
                        k.selector = optarg;
                        break;
                case ARG_SECRETS:
                        k.secrets = true;
                        break;
                case ARG_LISTEN:
                        k.listen = optarg;
                        break;
                case ARG_NODE_NAME:
                        k.node_name = optarg;
                        break;
                case ARG_TAINT:
                        k.taint = optarg;
                        break;
                case ARG_CONDITION:
                        k.condition = true;
                        break;
                case ARG_NO_CONFINE:
                        confine = CONFINE_OFF;
                        break;
                case ARG_ROOT:
                        m.root_path = optarg;
                        break;
                case ARG_ONCE:
                        m.once = true;
                        break;
                case ARG_RECORDING_PROFILE:
                        m.recording_profile = true;
                        break;
                case ARG_RUNTIME:
                        if (parse_runtime_arg("run", optarg, &rt) < 0)
                                return EXIT_USAGE;
                        m.validate.runtime = (Runtime) rt;
                        break;
                case ARG_RUNC_VERSION:
                        if (runc_version_parse(optarg, &m.validate.runc_major, &m.validate.runc_minor) < 0 ||
                            (m.validate.runc_major == 0 && m.validate.runc_minor == 0)) {
                                fprintf(stderr,
                                        "seccompd run: --runc-version takes a version such as 1.1 or 1.2.0, "
                                        "not \"%s\"\n",
                                        optarg);
                                return EXIT_USAGE;
                        }
                        break;
                case ARG_GRACE:
                        r = parse_duration(optarg, &m.delete_grace_usec);
                        if (r == -ERANGE) {
                                fprintf(stderr,
                                        "seccompd run: --delete-grace \"%s\": out of range, at most %lluh\n",
                                        optarg, DURATION_MAX_USEC / 3600000000ULL);
                                return EXIT_USAGE;
                        }
                        if (r < 0) {
                                fprintf(stderr,
                                        "seccompd run: --delete-grace \"%s\": not a duration: digits, "
                                        "up to 9 decimals, then ms, s, m, min or h (none: s), such as "
                                        "0s, 90s, 5m, 1.5h, 250ms\n",
                                        optarg);
                                return EXIT_USAGE;
                        }
                        break;
                case ARG_LOG_FORMAT:
                        if (log_format_from_string(optarg, &format) < 0) {
                                fprintf(stderr, "seccompd run: --log-format takes text or json\n");
                                return EXIT_USAGE;
                        }
                        break;
                case '?':
                case ':':
                        return option_error("run", c, argv, options);
                default:
                        return EXIT_USAGE;
                }
        if ((!m.source_dir && !kube) || (m.source_dir && kube) || optind != argc) {
                fprintf(stderr,
                        "seccompd run: one --source, dir:PATH or kube, is required; see 'seccompd run "
                        "--help'\n");
                return EXIT_USAGE;
        }
        if (!kube && (k.kubeconfig || k.n_namespaces || k.n_tenants || k.secrets || k.listen || k.taint ||
                      k.condition || k.node_name)) {
                fprintf(stderr, "seccompd run: Kubernetes options need --source kube\n");
                return EXIT_USAGE;
        }
        /* A tenant's directory is the tenant's alone, as it is against an admin object's. */
        for (size_t i = 0; m.recording_profile && i < k.n_tenants; i++)
                if (strcmp(k.tenants[i], RECORDING_PROFILE_DIR) == 0) {
                        fprintf(stderr,
                                "seccompd run: --recording-profile installs " RECORDING_PROFILE_PATH
                                ", inside the directory of --tenant-namespace " RECORDING_PROFILE_DIR "\n");
                        return EXIT_USAGE;
                }
        m.validate.arch = arch_from_token(seccomp_arch_native());
        m.kube = kube ? &k : NULL;
        return run(&m, format, confine);
}
