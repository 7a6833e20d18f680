/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <string.h>

#include "cgroup.h"
#include "shared/macro.h"

/* A read-only piece of the text: /proc/PID/cgroup is parsed in place. */
typedef struct Span {
        const char *p;
        size_t n;
} Span;

static bool span_eq(Span s, const char *word)
{
        size_t k = strlen(word);
        return s.n == k && memcmp(s.p, word, k) == 0;
}

static bool span_starts_with(Span s, const char *prefix)
{
        size_t k = strlen(prefix);
        return s.n >= k && memcmp(s.p, prefix, k) == 0;
}

static bool span_ends_with(Span s, const char *suffix)
{
        size_t k = strlen(suffix);
        return s.n >= k && memcmp(s.p + s.n - k, suffix, k) == 0;
}

static Span span_skip(Span s, size_t k)
{
        return (Span){s.p + k, s.n - k};
}

static bool all_hex(Span s)
{
        for (size_t i = 0; i < s.n; i++)
                if (unhexchar(s.p[i]) < 0)
                        return false;
        return s.n > 0;
}

static char lower(char c)
{
        return c >= 'A' && c <= 'Z' ? (char) (c - 'A' + 'a') : c;
}

/* One path component that names a container: its runtime and ID, or false. */
static bool component_container(Span c, Span parent, CgroupRuntime *ret_runtime, Span *ret_id)
{
        static const struct {
                const char *prefix;
                CgroupRuntime runtime;
        } prefixes[] = {
                {"cri-containerd-", CGROUP_RUNTIME_CONTAINERD},
                {"crio-", CGROUP_RUNTIME_CRIO},
                {"docker-", CGROUP_RUNTIME_DOCKER},
                {"libpod-", CGROUP_RUNTIME_PODMAN},
        };

        if (span_ends_with(c, ".scope"))
                c.n -= strlen(".scope");
        for (size_t i = 0; i < ELEMENTSOF(prefixes); i++)
                if (span_starts_with(c, prefixes[i].prefix)) {
                        Span id = span_skip(c, strlen(prefixes[i].prefix));
                        /* crio-conmon-<id>.scope (CRI-O's monitor) and libpod-conmon-<id>.scope
                         * (podman's) are not the container: "conmon-" fails the hex test. */
                        if (id.n > CGROUP_CONTAINER_ID_MAX || !all_hex(id))
                                return false;
                        *ret_runtime = prefixes[i].runtime;
                        *ret_id = id;
                        return true;
                }
        /* The cgroupfs drivers name the cgroup by the bare ID: containerd's CRI plugin under kubepods
         * (/kubepods/besteffort/pod<uid>/<id>), ctr (/<namespace>/<id>), Docker (/docker/<id>). */
        if (c.n == CGROUP_CONTAINER_ID_MAX && all_hex(c)) {
                *ret_runtime = span_eq(parent, "docker") ? CGROUP_RUNTIME_DOCKER : CGROUP_RUNTIME_CONTAINERD;
                *ret_id = c;
                return true;
        }
        return false;
}

/* A pod UID as the kubelet writes it into a cgroup name: a UUID (8-4-4-4-12), or 32 hex digits for
 * a static pod (the kubelet hashes its manifest into the UID). The systemd driver writes '_' for '-'
 * (systemd uses '-' for nesting in slice names: kubelet's cm.ConvertCgroupNameToSystemd). */
static bool pod_uid(Span s, char ret[static CGROUP_POD_UID_MAX + 1])
{
        bool uuid = s.n == 36;
        if (!uuid && s.n != 32)
                return false;
        for (size_t i = 0; i < s.n; i++) {
                char c = s.p[i];
                bool dash_here = uuid && (i == 8 || i == 13 || i == 18 || i == 23);
                if (dash_here ? c != '-' && c != '_' : unhexchar(c) < 0)
                        return false;
                ret[i] = dash_here ? '-' : lower(c);
        }
        ret[s.n] = '\0';
        return true;
}

/* kubepods-pod<uid>.slice, kubepods-burstable-pod<uid>.slice, kubepods-besteffort-pod<uid>.slice
 * (systemd driver), or pod<uid> below a kubepods component (cgroupfs driver). */
static bool component_pod(Span c, bool below_kubepods, char ret[static CGROUP_POD_UID_MAX + 1])
{
        if (span_starts_with(c, "kubepods-") && span_ends_with(c, ".slice")) {
                c.n -= strlen(".slice");
                c = span_skip(c, strlen("kubepods-"));
                if (span_starts_with(c, "besteffort-"))
                        c = span_skip(c, strlen("besteffort-"));
                else if (span_starts_with(c, "burstable-"))
                        c = span_skip(c, strlen("burstable-"));
                return span_starts_with(c, "pod") && pod_uid(span_skip(c, 3), ret);
        }
        return below_kubepods && span_starts_with(c, "pod") && pod_uid(span_skip(c, 3), ret);
}

/* "HIERARCHY-ID:CONTROLLERS:PATH" (cgroups(7)); v2 is "0::PATH". The path starts with '/'. */
static bool line_path(Span line, Span *ret)
{
        size_t i = 0;
        while (i < line.n && line.p[i] >= '0' && line.p[i] <= '9')
                i++;
        if (i == 0 || i == line.n || line.p[i] != ':')
                return false;
        const char *c2 = memchr(line.p + i + 1, ':', line.n - i - 1);
        if (!c2)
                return false;
        Span path = {c2 + 1, (size_t) (line.p + line.n - c2 - 1)};
        if (path.n == 0 || path.p[0] != '/')
                return false;
        *ret = path;
        return true;
}

int cgroup_identity_parse(const char *cgroup, CgroupIdentity *ret)
{
        CgroupIdentity best = {};
        size_t best_depth = 0;
        bool found = false, any_line = false;

        for (const char *line = cgroup; *line;) {
                const char *eol = strchr(line, '\n');
                Span l = {line, eol ? (size_t) (eol - line) : strlen(line)}, path;
                line = eol ? eol + 1 : line + l.n;
                if (l.n == 0)
                        continue;
                if (!line_path(l, &path))
                        return -EINVAL;
                any_line = true;

                char uid[CGROUP_POD_UID_MAX + 1] = "";
                bool below_kubepods = false;
                Span parent = {path.p, 0};
                size_t depth = 0;
                for (size_t i = 1; i <= path.n;) {
                        const char *slash = memchr(path.p + i, '/', path.n - i);
                        size_t end = slash ? (size_t) (slash - path.p) : path.n;
                        Span c = {path.p + i, end - i};
                        i = end + 1;
                        /* Empty ("/" alone) and a cgroup namespace's ".." (the reader's root is
                         * below the common ancestor): neither names anything. */
                        if (c.n == 0 || span_eq(c, ".."))
                                continue;
                        depth++;
                        CgroupRuntime runtime;
                        Span id;
                        char u[CGROUP_POD_UID_MAX + 1];
                        if (component_container(c, parent, &runtime, &id)) {
                                /* The innermost wins: a container nested in a container's cgroup. */
                                if (!found || depth > best_depth) {
                                        best = (CgroupIdentity){.runtime = runtime};
                                        for (size_t k = 0; k < id.n; k++)
                                                best.container_id[k] = lower(id.p[k]);
                                        memcpy(best.pod_uid, uid, sizeof(uid));
                                        best_depth = depth;
                                        found = true;
                                }
                        } else if (component_pod(c, below_kubepods, u))
                                memcpy(uid, u, sizeof(u));
                        else if (span_eq(c, "kubepods") || span_eq(c, "kubepods.slice"))
                                below_kubepods = true;
                        parent = c;
                }
        }
        if (!any_line)
                return -EINVAL;
        if (!found)
                return -ENOENT;
        *ret = best;
        return 0;
}

int cgroup_container_id_from_status(const char *status_id, char ret[static CGROUP_CONTAINER_ID_MAX + 1])
{
        static const char *const schemes[] = {"containerd://", "cri-o://", "docker://"};

        for (size_t i = 0; i < ELEMENTSOF(schemes); i++) {
                size_t k = strlen(schemes[i]);
                if (strncmp(status_id, schemes[i], k) != 0)
                        continue;
                Span id = {status_id + k, strlen(status_id + k)};
                if (id.n != CGROUP_CONTAINER_ID_MAX || !all_hex(id))
                        return -EINVAL;
                for (size_t j = 0; j < id.n; j++)
                        ret[j] = lower(id.p[j]);
                ret[id.n] = '\0';
                return 0;
        }
        return -EINVAL;
}
