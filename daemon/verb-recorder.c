/* SPDX-License-Identifier: Apache-2.0 */
/* seccompd recorder: the in-cluster recording agent, one per node (deploy/components/recorder).
 *
 * It reads every SECCOMP audit record of the node from the audit multicast group (lossless, unlike the
 * kernel log), attributes each to a container by the cgroup of its process, keeps the syscalls of the
 * pods on its node labeled seccompd.io/record: NAME, and keeps the ConfigMap seccompd-recording-NAME
 * in its own namespace up to date with their union: one key NAME.json, a profile that runs the
 * workload (the runtime's start-up baseline included). Every node writes the same object; a write is
 * a GET, a union and a PUT with the resourceVersion read, and a 409 starts again from the GET, so
 * nodes converge on the union whatever their order (union is commutative and idempotent).
 *
 * Attribution is never guessed:
 *  - a record's process is looked up (/proc/PID/cgroup, through hostPID) when the record arrives, and
 *    kept for a second; a process already gone cannot be attributed (a short-lived one can exit before
 *    the kernel's audit thread has sent its first record). Its syscall matters only to a recording on
 *    this node that lacks it: it is written as doubtful (seccompd.io/recording-unattributed), and the
 *    recording is incomplete while the union of every node lacks it;
 *  - a record counts for a pod only once the container it came from is listed in the pod's status
 *    (containerStatuses, initContainerStatuses, ephemeralContainerStatuses, current or last state).
 *    A container's start-up syscalls come before the kubelet writes its ID there, so records of a
 *    container not yet listed wait, per container, until it is (those of the pod sandbox never are).
 * Loss is never hidden: serial gaps and socket buffer overruns are written as seccompd.io/recording-lost,
 * which no node's later write removes; either makes seccompd.io/recording-complete "false", with the
 * reason, and puts a Warning Event on the pods.
 *
 * A recording someone has labeled seccompd.io/profile=true is a reviewed profile: the agent stops
 * writing it, so that what was reviewed is what gets installed. A ConfigMap of that name without the
 * label seccompd.io/recording: NAME is someone else's: never written.
 *
 * One thread, one sd-event loop: the netlink socket, the pod watch and the writes. SIGTERM writes
 * what is pending (for 10 s at most), so a rolling update loses nothing. */
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <systemd/sd-event.h>
#include <time.h>
#include <unistd.h>

#include "audit/cgroup.h"
#include "audit/netlink.h"
#include "baseline.h"
#include "kube/client.h"
#include "kube/kubeconfig.h"
#include "kube/reflector.h"
#include "kube/report.h"
#include "log.h"
#include "recorder.h"
#include "shared/fileio.h"
#include "shared/macro.h"
#include "sync/object.h"
#include "tables.h"
#include "validate.h"
#include "verbs.h"

#define DOUBTFUL_MAX     512
#define CONFIGMAP_PREFIX "seccompd-recording-"

/* Bounds: a node runs at most a few hundred pods (the kubelet's default is 110). */
#define PODS_MAX               1024
#define CONTAINERS_PER_POD_MAX 64
#define PENDING_PER_CONTAINER  2048 /* distinct (arch, syscall) pairs: more than any arch has */
#define PRESYNC_MAX            8192 /* records that arrived before the first pod list ended */
#define WRITE_RETRIES_MAX      16   /* 409s in a row before a write waits an interval */
#define REASON_MAX             512
#define STOP_DEADLINE_USEC     (10 * 1000000ULL)
#define REQUEST_TIMEOUT_USEC   (30 * 1000000ULL)
#define CONFIGMAP_MAX          (1024 * 1024)

typedef struct Syscall {
        uint32_t arch;
        int64_t nr;
} Syscall;

typedef struct Container {
        char id[CGROUP_CONTAINER_ID_MAX + 1];
        bool listed; /* in its pod's status: its records count */
        Syscall *pending;
        size_t n_pending;
        uint64_t dropped; /* pending records past the bound */
} Container;

typedef struct Pod {
        char *uid, *namespace, *name;
        char *recording; /* the label's value; NULL when it cannot name a ConfigMap */
        bool seen;       /* in the list being read */
        char **listed_ids;
        size_t n_listed_ids;
        Container *containers;
        size_t n_containers;
        uint64_t records; /* LOG records counted for the recording */
        bool announced;   /* ProfileRecorded posted */
        bool warned;      /* RecordingIncomplete posted */
        bool warned_name; /* RecordingNameInvalid posted */
} Pod;

typedef struct Agent Agent;

typedef struct Recording {
        Agent *agent;
        char *name, *configmap, *key;
        AuditRecorder *set;
        uint64_t generation, written_generation; /* of set: a new syscall bumps it */
        bool incomplete;                         /* records were lost: which syscalls, nobody knows */
        char reason[REASON_MAX];
        bool written_incomplete; /* the last write said so */
        char said[REASON_MAX];   /* what the last write said of completeness, "" complete */
        /* Syscalls of records that could not be attributed (their process had exited), which this
         * recording lacked when they came: they may be its workload's. They stop mattering once the
         * profile (the union of every node) has them. */
        Syscall *doubtful;
        size_t n_doubtful;
        uint64_t doubt_generation, written_doubt_generation;
        bool in_flight, promoted, foreign;
        unsigned conflicts;
        uint64_t last_write_usec;
        sd_event_source *timer;
} Recording;

#define PID_CACHE_SIZE 512
#define PID_CACHE_USEC 1000000ULL

typedef struct PidEntry {
        int64_t pid;
        uint64_t at_usec;
        bool pod; /* id names a pod's container */
        CgroupIdentity id;
} PidEntry;

typedef struct Presync {
        char pod_uid[CGROUP_POD_UID_MAX + 1];
        char container_id[CGROUP_CONTAINER_ID_MAX + 1];
        Syscall sc;
} Presync;

struct Agent {
        sd_event *event;
        KubeConfig config;
        KubeClient *client;
        KubeReflector *reflector;
        AuditNetlink *netlink;
        AuditRecorder *stream; /* every record observed: serials, duplicates, loss */
        const char *node, *namespace;
        const char *const *baseline;
        size_t n_baseline;
        uint64_t interval_usec;
        double scale;
        Pod **pods;
        size_t n_pods;
        Recording **recordings;
        size_t n_recordings;
        Presync *presync;
        size_t n_presync;
        PidEntry *pid_cache;
        AuditRecord *scratch;
        bool synced, stopping;
        unsigned in_flight;
        uint64_t netlink_overruns;
        bool lost_seen;
        /* Counters, logged at exit. */
        uint64_t log_records, unattributed, foreign, sandbox_dropped, presync_dropped;
};

static uint64_t now_usec(clockid_t clock)
{
        struct timespec ts;
        (void) clock_gettime(clock, &ts);
        return (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000;
}

static uint64_t scaled(const Agent *a, uint64_t usec)
{
        return (uint64_t) ((double) usec * a->scale);
}

/* ---- recordings -------------------------------------------------------------------------------- */

/* A label value that names a ConfigMap (a DNS subdomain, with the prefix) and a key NAME.json:
 * lowercase letters, digits, '-' and '.', starting and ending alphanumeric. */
static bool recording_name_valid(const char *s)
{
        size_t n = strlen(s);
        if (n == 0 || n > 63 || n + strlen(CONFIGMAP_PREFIX) > 253)
                return false;
        for (size_t i = 0; i < n; i++) {
                char c = s[i];
                bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
                if (!alnum && ((c != '-' && c != '.') || i == 0 || i == n - 1))
                        return false;
        }
        return true;
}

static Recording *recording_free(Recording *r)
{
        if (!r)
                return NULL;
        sd_event_source_disable_unref(r->timer);
        audit_recorder_free(r->set);
        free(r->doubtful);
        free(r->name);
        free(r->configmap);
        free(r->key);
        free(r);
        return NULL;
}

static Recording *recording_find(Agent *a, const char *name)
{
        for (size_t i = 0; i < a->n_recordings; i++)
                if (strcmp(a->recordings[i]->name, name) == 0)
                        return a->recordings[i];
        return NULL;
}

static Recording *recording_get(Agent *a, const char *name)
{
        Recording *r = recording_find(a, name);
        if (r)
                return r;
        Recording **v = realloc(a->recordings, (a->n_recordings + 1) * sizeof(Recording *));
        if (!v)
                return NULL;
        a->recordings = v;
        r = calloc(1, sizeof(Recording));
        if (!r || !(r->name = strdup(name)) || asprintf(&r->configmap, CONFIGMAP_PREFIX "%s", name) < 0 ||
            asprintf(&r->key, "%s.json", name) < 0 || audit_recorder_new(&r->set) < 0)
                return recording_free(r);
        r->agent = a;
        a->recordings[a->n_recordings++] = r;
        return r;
}

static bool recording_has_pods(const Agent *a, const Recording *r)
{
        for (size_t i = 0; i < a->n_pods; i++)
                if (a->pods[i]->recording && strcmp(a->pods[i]->recording, r->name) == 0)
                        return true;
        return false;
}

static void recording_mark_incomplete(Recording *r, const char *reason)
{
        if (r->incomplete)
                return;
        r->incomplete = true;
        (void) snprintf(r->reason, sizeof(r->reason), "%s", reason);
        log_warning("recording %s is incomplete: %s", r->name, reason);
}

static void recording_schedule(Recording *r);

/* A LOG record of a listed container: into the recording's set. */
static void recording_add(Agent *a, Recording *r, const Syscall *sc)
{
        AuditRecord rec = {
                .arch = sc->arch, .syscall = sc->nr, .code = AUDIT_ACTION_LOG, .pid = -1, .uid = -1};
        const char *name = NULL;

        int k = audit_recorder_add(r->set, &rec, &name);
        if (k < 0) {
                recording_mark_incomplete(r, "out of memory while recording");
                return;
        }
        if (k > 0) {
                const ArchInfo *ai = arch_from_token(sc->arch);
                log_info("recording %s: + %s (%s)", r->name, name ? name : "?", ai ? ai->name : "?");
                r->generation++;
                recording_schedule(r);
        }
        (void) a;
}

/* ---- pods -------------------------------------------------------------------------------------- */

static void pod_free(Pod *p)
{
        if (!p)
                return;
        for (size_t i = 0; i < p->n_containers; i++)
                free(p->containers[i].pending);
        free(p->containers);
        for (size_t i = 0; i < p->n_listed_ids; i++)
                free(p->listed_ids[i]);
        free(p->listed_ids);
        free(p->uid);
        free(p->namespace);
        free(p->name);
        free(p->recording);
        free(p);
}

static Pod *pod_find(Agent *a, const char *uid)
{
        for (size_t i = 0; i < a->n_pods; i++)
                if (strcmp(a->pods[i]->uid, uid) == 0)
                        return a->pods[i];
        return NULL;
}

static bool pod_lists(const Pod *p, const char *id)
{
        for (size_t i = 0; i < p->n_listed_ids; i++)
                if (strcmp(p->listed_ids[i], id) == 0)
                        return true;
        return false;
}

/* A container now listed: what it recorded while it was not counts now. */
static void container_list(Agent *a, Pod *p, Container *c)
{
        Recording *r = p->recording ? recording_get(a, p->recording) : NULL;

        c->listed = true;
        for (size_t i = 0; r && i < c->n_pending; i++) {
                recording_add(a, r, c->pending + i);
                p->records++;
        }
        if (r && c->dropped > 0)
                recording_mark_incomplete(r,
                                          "a container made more distinct syscalls before its pod's status "
                                          "listed it than the agent keeps");
        free(c->pending);
        c->pending = NULL;
        c->n_pending = 0;
}

static Container *pod_container(Pod *p, const char *id)
{
        for (size_t i = 0; i < p->n_containers; i++)
                if (strcmp(p->containers[i].id, id) == 0)
                        return p->containers + i;
        if (p->n_containers >= CONTAINERS_PER_POD_MAX)
                return NULL;
        Container *v = realloc(p->containers, (p->n_containers + 1) * sizeof(Container));
        if (!v)
                return NULL;
        p->containers = v;
        Container *c = v + p->n_containers++;
        *c = (Container){};
        (void) snprintf(c->id, sizeof(c->id), "%s", id);
        c->listed = pod_lists(p, id);
        return c;
}

static void add_status_ids(json_t *statuses, char ***ids, size_t *n)
{
        size_t i;
        json_t *st;

        json_array_foreach(statuses, i, st)
        {
                const char *cands[] = {
                        json_string_value(json_object_get(st, "containerID")),
                        json_string_value(json_object_get(
                                json_object_get(json_object_get(st, "lastState"), "terminated"),
                                "containerID")),
                };
                for (size_t k = 0; k < ELEMENTSOF(cands); k++) {
                        char id[CGROUP_CONTAINER_ID_MAX + 1];
                        if (!cands[k] || cgroup_container_id_from_status(cands[k], id) < 0 ||
                            *n >= CONTAINERS_PER_POD_MAX)
                                continue;
                        char **v = realloc(*ids, (*n + 1) * sizeof(char *));
                        if (!v)
                                return;
                        *ids = v;
                        if ((v[*n] = strdup(id)))
                                (*n)++;
                }
        }
}

static void post_pod_event(Agent *a, const Pod *p, const char *type, const char *reason,
                           const char *message);

/* A pod as listed or watched: its labels and the container IDs its status lists. */
static void pod_update(Agent *a, json_t *obj)
{
        json_t *meta = json_object_get(obj, "metadata"), *status = json_object_get(obj, "status");
        const char *uid = json_string_value(json_object_get(meta, "uid"));
        const char *ns = json_string_value(json_object_get(meta, "namespace"));
        const char *name = json_string_value(json_object_get(meta, "name"));
        const char *label =
                json_string_value(json_object_get(json_object_get(meta, "labels"), LABEL_RECORD));

        if (!uid || !ns || !name || strlen(uid) > CGROUP_POD_UID_MAX)
                return;
        Pod *p = pod_find(a, uid);
        if (!p) {
                if (a->n_pods >= PODS_MAX)
                        return;
                Pod **v = realloc(a->pods, (a->n_pods + 1) * sizeof(Pod *));
                if (!v)
                        return;
                a->pods = v;
                p = calloc(1, sizeof(Pod));
                if (!p || !(p->uid = strdup(uid)) || !(p->namespace = strdup(ns)) ||
                    !(p->name = strdup(name))) {
                        pod_free(p);
                        return;
                }
                for (char *c = p->uid; *c; c++)
                        if (*c >= 'A' && *c <= 'F')
                                *c = (char) (*c - 'A' + 'a');
                a->pods[a->n_pods++] = p;
        }
        p->seen = true;
        /* The label may change; the recording follows it (records so far stay where they went). */
        bool valid = label && recording_name_valid(label);
        if (!valid || !p->recording || strcmp(p->recording, label) != 0) {
                free(p->recording);
                p->recording = valid ? strdup(label) : NULL;
                if (p->recording)
                        log_info("recording pod %s/%s as %s into ConfigMap %s/" CONFIGMAP_PREFIX "%s", ns,
                                 name, label, a->namespace, label);
        }
        if (label && !valid && !p->warned_name) {
                _cleanup_free_ char *msg = NULL;
                if (asprintf(&msg,
                             "label " LABEL_RECORD
                             "=%s cannot name a recording: it must be at most 63 lowercase "
                             "letters, digits, '-' or '.', starting and ending with a letter or digit (it "
                             "names "
                             "the ConfigMap " CONFIGMAP_PREFIX "NAME and its key NAME.json); not recorded",
                             label) >= 0)
                        post_pod_event(a, p, "Warning", "RecordingNameInvalid", msg);
                p->warned_name = true;
        }
        for (size_t i = 0; i < p->n_listed_ids; i++)
                free(p->listed_ids[i]);
        free(p->listed_ids);
        p->listed_ids = NULL;
        p->n_listed_ids = 0;
        add_status_ids(json_object_get(status, "containerStatuses"), &p->listed_ids, &p->n_listed_ids);
        add_status_ids(json_object_get(status, "initContainerStatuses"), &p->listed_ids, &p->n_listed_ids);
        add_status_ids(json_object_get(status, "ephemeralContainerStatuses"), &p->listed_ids,
                       &p->n_listed_ids);
        for (size_t i = 0; i < p->n_containers; i++)
                if (!p->containers[i].listed && pod_lists(p, p->containers[i].id))
                        container_list(a, p, p->containers + i);
}

static void pod_remove(Agent *a, size_t i)
{
        Pod *p = a->pods[i];
        for (size_t k = 0; k < p->n_containers; k++)
                if (!p->containers[k].listed)
                        a->sandbox_dropped += p->containers[k].n_pending;
        pod_free(p);
        memmove(a->pods + i, a->pods + i + 1, (a->n_pods - i - 1) * sizeof(Pod *));
        a->n_pods--;
}

static void pod_delete(Agent *a, json_t *obj)
{
        const char *uid = json_string_value(json_object_get(json_object_get(obj, "metadata"), "uid"));
        for (size_t i = 0; uid && i < a->n_pods; i++)
                if (strcasecmp(a->pods[i]->uid, uid) == 0) {
                        pod_remove(a, i);
                        return;
                }
}

/* ---- records ----------------------------------------------------------------------------------- */

static void attribute(Agent *a, const char *pod_uid, const char *container_id, const Syscall *sc)
{
        Pod *p = pod_find(a, pod_uid);

        if (!p && !a->synced) {
                /* The first list has not ended: keep it until it has. */
                if (a->n_presync >= PRESYNC_MAX) {
                        a->presync_dropped++;
                        return;
                }
                Presync *ps = a->presync + a->n_presync++;
                (void) snprintf(ps->pod_uid, sizeof(ps->pod_uid), "%s", pod_uid);
                (void) snprintf(ps->container_id, sizeof(ps->container_id), "%s", container_id);
                ps->sc = *sc;
                return;
        }
        if (!p || !p->recording) {
                a->foreign++; /* a pod on this node that is not being recorded */
                return;
        }
        Container *c = pod_container(p, container_id);
        if (!c) {
                Recording *r = recording_get(a, p->recording);
                if (r)
                        recording_mark_incomplete(r, "a pod ran more containers than the agent keeps");
                return;
        }
        if (c->listed) {
                Recording *r = recording_get(a, p->recording);
                if (r) {
                        recording_add(a, r, sc);
                        p->records++;
                }
                return;
        }
        for (size_t i = 0; i < c->n_pending; i++)
                if (c->pending[i].arch == sc->arch && c->pending[i].nr == sc->nr)
                        return;
        if (c->n_pending >= PENDING_PER_CONTAINER) {
                c->dropped++;
                return;
        }
        Syscall *v = realloc(c->pending, (c->n_pending + 1) * sizeof(Syscall));
        if (!v) {
                c->dropped++;
                return;
        }
        c->pending = v;
        v[c->n_pending++] = *sc;
}

static void mark_active_incomplete(Agent *a, const char *reason)
{
        for (size_t i = 0; i < a->n_pods; i++) {
                Recording *r = a->pods[i]->recording ? recording_get(a, a->pods[i]->recording) : NULL;
                if (r)
                        recording_mark_incomplete(r, reason);
        }
}

/* The cgroup of a process, read from /proc/PID/cgroup and kept for a second: a busy workload makes
 * thousands of syscalls a second from a handful of processes, and one read each would make the agent
 * the bottleneck the kernel then throttles the workload on (audit_backlog_wait_time). A pid is handed
 * out again only after pid_max others have been (32768 at least): reusing one within the second takes
 * that many forks in it. */
static const PidEntry *identify(Agent *a, int64_t pid)
{
        PidEntry *e = a->pid_cache + (uint64_t) pid % PID_CACHE_SIZE;
        uint64_t now = now_usec(CLOCK_MONOTONIC);
        _cleanup_free_ char *cgroup = NULL;
        char path[64];
        size_t n;

        if (e->pid == pid && now - e->at_usec < PID_CACHE_USEC) {
                e->at_usec = now; /* a process that keeps making syscalls stays known */
                return e;
        }
        (void) snprintf(path, sizeof(path), "/proc/%lld/cgroup", (long long) pid);
        if (read_full_file(path, 64 * 1024, &cgroup, &n) < 0)
                return NULL;
        *e = (PidEntry){.pid = pid, .at_usec = now};
        e->pod = cgroup_identity_parse(cgroup, &e->id) >= 0 && e->id.pod_uid[0];
        return e;
}

/* A record whose process had exited before its cgroup could be read: it cannot be attributed (a
 * short-lived process can exit before the kernel's audit thread has even sent its first record). It
 * matters only to a recording running on this node that lacks its syscall: whoever made it, a
 * recording that has the syscall loses nothing. Each such recording keeps the syscall as doubtful, and
 * is incomplete as long as its profile lacks it. */
static void unattributed(Agent *a, const Syscall *sc)
{
        a->unattributed++;
        for (size_t i = 0; i < a->n_pods; i++) {
                Recording *r = a->pods[i]->recording ? recording_get(a, a->pods[i]->recording) : NULL;
                bool known = false;
                if (!r || audit_recorder_has(r->set, sc->arch, sc->nr))
                        continue;
                for (size_t k = 0; k < r->n_doubtful && !known; k++)
                        known = r->doubtful[k].arch == sc->arch && r->doubtful[k].nr == sc->nr;
                if (known)
                        continue;
                Syscall *v = r->n_doubtful < DOUBTFUL_MAX
                                     ? realloc(r->doubtful, (r->n_doubtful + 1) * sizeof(Syscall))
                                     : NULL;
                if (!v) {
                        recording_mark_incomplete(r, "more syscalls came from processes that could not be "
                                                     "attributed than the recorder keeps");
                        continue;
                }
                r->doubtful = v;
                v[r->n_doubtful++] = *sc;
                r->doubt_generation++;
                recording_schedule(r);
        }
}

static int on_audit_line(const char *line, size_t len, void *userdata)
{
        Agent *a = userdata;
        AuditRecord *rec = a->scratch;

        AuditLineKind kind = audit_parse_line(line, len, rec);
        bool fresh = audit_recorder_observe(a->stream, kind, rec);
        if (!fresh || kind != AUDIT_LINE_SECCOMP || rec->code != AUDIT_ACTION_LOG || rec->pid <= 0)
                return 0;
        a->log_records++;
        Syscall sc = {rec->arch, rec->syscall};
        const PidEntry *e = identify(a, rec->pid);
        if (!e) {
                unattributed(a, &sc);
                return 0;
        }
        if (!e->pod) {
                a->foreign++; /* a host process, or a container that is no pod's */
                return 0;
        }
        attribute(a, e->id.pod_uid, e->id.container_id, &sc);
        return 0;
}

static void check_loss(Agent *a)
{
        uint64_t o = audit_netlink_overruns(a->netlink);
        if (o > a->netlink_overruns) {
                audit_recorder_note_netlink_overrun(a->stream, o - a->netlink_overruns);
                a->netlink_overruns = o;
        }
        if (a->lost_seen || !audit_recorder_lost_evidence(a->stream))
                return;
        const AuditStats *s = audit_recorder_stats(a->stream);
        char reason[256];
        (void) snprintf(reason, sizeof(reason),
                        "the kernel dropped audit records on node %s (%llu serials missing, %llu socket "
                        "overruns; raise audit_backlog_limit or record a less busy workload)",
                        a->node, (unsigned long long) s->serial_missing,
                        (unsigned long long) s->netlink_overruns);
        log_warning("%s", reason);
        a->lost_seen = true;
        mark_active_incomplete(a, reason);
}

static int on_audit(sd_event_source *es, int fd, uint32_t revents, void *userdata)
{
        Agent *a = userdata;
        int r = audit_netlink_drain(a->netlink, on_audit_line, a);
        if (r < 0) {
                log_error_errno(r, "cannot read the audit multicast group");
                return sd_event_exit(a->event, EXIT_USAGE);
        }
        check_loss(a);
        (void) es;
        (void) fd;
        (void) revents;
        return 0;
}

/* ---- the pod watch ----------------------------------------------------------------------------- */

static void on_list_begin(KubeReflector *r, void *userdata)
{
        Agent *a = userdata;
        for (size_t i = 0; i < a->n_pods; i++)
                a->pods[i]->seen = false;
        (void) r;
}

static void on_list_end(KubeReflector *r, bool complete, void *userdata)
{
        Agent *a = userdata;
        if (complete)
                for (size_t i = a->n_pods; i-- > 0;)
                        if (!a->pods[i]->seen)
                                pod_remove(a, i);
        if (!a->synced) {
                a->synced = true;
                log_info("watching %zu pod%s labeled " LABEL_RECORD " on node %s", a->n_pods,
                         a->n_pods == 1 ? "" : "s", a->node);
                for (size_t i = 0; i < a->n_presync; i++)
                        attribute(a, a->presync[i].pod_uid, a->presync[i].container_id, &a->presync[i].sc);
                free(a->presync);
                a->presync = NULL;
                a->n_presync = 0;
        }
        (void) r;
}

static void on_object(KubeReflector *r, KubeEventType type, json_t *obj, void *userdata)
{
        Agent *a = userdata;
        if (type == KUBE_DELETED)
                pod_delete(a, obj);
        else
                pod_update(a, obj);
        (void) r;
}

static void on_problem(KubeReflector *r, const char *verb, int error, const KubeStatus *status,
                       const char *detail, void *userdata)
{
        if (error == 0)
                log_info("%s pods: works again", verb);
        else
                log_warning("%s pods on this node: %s%s%s%s%s", verb, kube_error_summary(error, status),
                            status && status->message ? ": " : "",
                            status && status->message ? status->message : "", detail ? "; " : "",
                            detail ? detail : "");
        (void) r;
        (void) userdata;
}

/* ---- Events ------------------------------------------------------------------------------------ */

static void on_event_posted(KubeRequest *req, int error, const KubeStatus *st, const char *body, size_t len,
                            void *userdata)
{
        Agent *a = userdata;
        a->in_flight--;
        if (!kube_event_accepted(error))
                log_warning("cannot create an Event: %s%s%s", kube_error_summary(error, st),
                            st && st->message ? ": " : "", st && st->message ? st->message : "");
        if (a->stopping && a->in_flight == 0)
                (void) sd_event_exit(a->event, EXIT_OK);
        (void) req;
        (void) body;
        (void) len;
}

/* An Event lives in its object's namespace (the API server refuses any other); its name is the same
 * from every restart, so a second post is a 409 that changes nothing. */
static void post_pod_event(Agent *a, const Pod *p, const char *type, const char *reason, const char *message)
{
        KubeObjectRef ref = {.kind = "Pod",
                             .namespace = p->namespace,
                             .name = p->name,
                             .uid = p->uid,
                             .api_version = "v1"};
        uint8_t hash[SHA256_DIGEST_SIZE] = {};
        char name[KUBE_EVENT_NAME_MAX + 1];
        _cleanup_free_ char *path = NULL, *body = NULL;

        kube_event_name(&ref, a->node, reason, hash, name);
        json_t *ev = kube_event_new(&ref, name, reason, message, a->node, now_usec(CLOCK_REALTIME));
        if (!ev)
                return;
        (void) json_object_set_new(ev, "type", json_string(type));
        json_t *src = json_object_get(ev, "source");
        if (src)
                (void) json_object_set_new(src, "component", json_string("seccompd-recorder"));
        (void) json_object_set_new(ev, "reportingComponent", json_string("seccompd-recorder"));
        body = json_dumps(ev, JSON_COMPACT);
        json_decref(ev);
        if (!body || asprintf(&path, "/api/v1/namespaces/%s/events", p->namespace) < 0)
                return;
        KubeRequestOptions o = {
                .method = "POST",
                .path = path,
                .body = body,
                .content_type = "application/json",
                .max_body = 1024 * 1024,
                .timeout_usec = scaled(a, REQUEST_TIMEOUT_USEC),
                .on_done = on_event_posted,
                .userdata = a,
        };
        if (kube_request_start(a->client, &o, NULL) >= 0)
                a->in_flight++;
}

static void announce(Agent *a, Recording *r)
{
        for (size_t i = 0; i < a->n_pods; i++) {
                Pod *p = a->pods[i];
                _cleanup_free_ char *msg = NULL;
                if (!p->recording || strcmp(p->recording, r->name) != 0)
                        continue;
                if (!p->announced && p->records > 0 &&
                    asprintf(&msg,
                             "recorded on node %s into ConfigMap %s/%s, key %s (%zu syscalls so far, the "
                             "union over every pod labeled " LABEL_RECORD "=%s); review it with kubectl get "
                             "configmap -n %s %s -o yaml, then kubectl label configmap -n %s "
                             "%s " LABEL_PROFILE "=true installs it",
                             a->node, a->namespace, r->configmap, r->key, audit_recorder_n_syscalls(r->set),
                             r->name, a->namespace, r->configmap, a->namespace, r->configmap) >= 0) {
                        post_pod_event(a, p, "Normal", "ProfileRecorded", msg);
                        p->announced = true;
                }
                free(msg);
                msg = NULL;
                if (r->said[0] && !p->warned &&
                    asprintf(&msg, "the recording %s/%s is incomplete: %s", a->namespace, r->configmap,
                             r->said) >= 0) {
                        post_pod_event(a, p, "Warning", "RecordingIncomplete", msg);
                        p->warned = true;
                }
        }
}

/* ---- writing the ConfigMap --------------------------------------------------------------------- */

static void write_start(Recording *r);

static bool dirty(const Recording *r)
{
        return !r->promoted && !r->foreign && audit_recorder_n_syscalls(r->set) > 0 &&
               (r->generation != r->written_generation || r->incomplete != r->written_incomplete ||
                r->doubt_generation != r->written_doubt_generation);
}

static int on_write_timer(sd_event_source *es, uint64_t usec, void *userdata)
{
        Recording *r = userdata;
        if (dirty(r) && !r->in_flight)
                write_start(r);
        (void) es;
        (void) usec;
        return 0;
}

/* At most one write per interval while new syscalls come (the first at once). */
static void recording_schedule(Recording *r)
{
        Agent *a = r->agent;
        if (r->in_flight || !dirty(r))
                return;
        uint64_t now = now_usec(CLOCK_MONOTONIC), at = now;
        if (!a->stopping && r->last_write_usec > 0 && r->last_write_usec + a->interval_usec > now)
                at = r->last_write_usec + a->interval_usec;
        if (r->timer) {
                (void) sd_event_source_set_time(r->timer, at);
                (void) sd_event_source_set_enabled(r->timer, SD_EVENT_ONESHOT);
        } else if (sd_event_add_time(a->event, &r->timer, CLOCK_MONOTONIC, at, 0, on_write_timer, r) < 0)
                log_error("cannot schedule the write of recording %s", r->name);
}

typedef struct Write {
        Recording *r;
        uint64_t generation, doubt_generation;
        bool incomplete;
        char said[REASON_MAX]; /* the reason written, "" for a complete recording */
} Write;

static void write_done(Recording *r, bool ok)
{
        Agent *a = r->agent;
        r->in_flight = false;
        a->in_flight--;
        r->last_write_usec = now_usec(CLOCK_MONOTONIC);
        if (ok)
                announce(a, r);
        if (a->stopping) {
                /* Syscalls that came during the write go out at once; a failed write is not tried again
                 * (the deadline would cut it off anyway): it is lost with the process. */
                if (ok && dirty(r))
                        write_start(r);
                if (a->in_flight == 0)
                        (void) sd_event_exit(a->event, EXIT_OK);
                return;
        }
        recording_schedule(r);
}

static int request(Agent *a, const char *method, const char *path, const char *body, KubeDoneFn done,
                   void *userdata)
{
        KubeRequestOptions o = {
                .method = method,
                .path = path,
                .body = body,
                .content_type = body ? "application/json" : NULL,
                .max_body = CONFIGMAP_MAX * 2,
                .timeout_usec = scaled(a, REQUEST_TIMEOUT_USEC),
                .on_done = done,
                .userdata = userdata,
                .destroy = free,
        };
        return kube_request_start(a->client, &o, NULL);
}

static void on_get(KubeRequest *req, int error, const KubeStatus *st, const char *body, size_t len,
                   void *userdata);

static void write_again(Write *w)
{
        Recording *r = w->r;
        Agent *a = r->agent;
        _cleanup_free_ char *path = NULL;

        if (++r->conflicts > WRITE_RETRIES_MAX) {
                log_warning("recording %s: ConfigMap %s changed %u times while being written; trying again "
                            "later",
                            r->name, r->configmap, r->conflicts - 1);
                r->conflicts = 0;
                free(w);
                write_done(r, false);
                return;
        }
        if (asprintf(&path, "/api/v1/namespaces/%s/configmaps/%s", a->namespace, r->configmap) < 0 ||
            request(a, "GET", path, NULL, on_get, w) < 0) {
                free(w);
                write_done(r, false);
        }
}

static void on_put(KubeRequest *req, int error, const KubeStatus *st, const char *body, size_t len,
                   void *userdata)
{
        Write *w = userdata;
        Recording *r = w->r;

        if (error == -EEXIST) { /* 409: another node wrote first (Conflict), or created it (AlreadyExists) */
                write_again(w);
                return;
        }
        if (error < 0)
                log_warning("recording %s: cannot write ConfigMap %s/%s: %s%s%s", r->name,
                            r->agent->namespace, r->configmap, kube_error_summary(error, st),
                            st && st->message ? ": " : "", st && st->message ? st->message : "");
        else {
                r->written_generation = w->generation;
                r->written_incomplete = w->incomplete;
                r->written_doubt_generation = w->doubt_generation;
                memcpy(r->said, w->said, sizeof(r->said));
                r->conflicts = 0;
                log_info("recording %s: wrote %zu syscalls to ConfigMap %s/%s%s", r->name,
                         audit_recorder_n_syscalls(r->set), r->agent->namespace, r->configmap,
                         w->said[0] ? " (incomplete)" : "");
        }
        free(w);
        write_done(r, error >= 0);
        (void) req;
        (void) body;
        (void) len;
}

/* The recorded profile must pass what seccompd validate checks, or it is not written. */
static bool profile_ok(const Recording *r, const char *json)
{
        ValidateOptions o = {.runtime = RUNTIME_CONTAINERD, .arch = arch_from_token(seccomp_arch_native())};
        Verdict v;
        if (profile_validate(json, strlen(json), &o, &v) < 0)
                return false;
        bool ok = v.valid;
        if (!ok)
                for (size_t i = 0; i < v.diagnostics.n; i++)
                        log_error("recording %s: the merged profile does not validate: %s", r->name,
                                  v.diagnostics.items[i].message);
        verdict_clear(&v);
        return ok;
}

static json_t *object_child(json_t *o, const char *key)
{
        json_t *c = json_object_get(o, key);
        if (json_is_object(c))
                return c;
        c = json_object();
        if (json_object_set_new(o, key, c) < 0)
                return NULL;
        return c;
}

static bool annotation_is(json_t *annotations, const char *key, const char *value)
{
        const char *v = json_string_value(json_object_get(annotations, key));
        return value ? v && strcmp(v, value) == 0 : !json_object_get(annotations, key);
}

static void annotation_set(json_t *annotations, const char *key, const char *value)
{
        if (value)
                (void) json_object_set_new(annotations, key, json_string(value));
        else
                (void) json_object_del(annotations, key);
}

static int compare_strings(const void *a, const void *b)
{
        return strcmp(*(const char *const *) a, *(const char *const *) b);
}

static bool profile_names(json_t *profile, const char *name)
{
        size_t i, k;
        json_t *rule, *n;

        json_array_foreach(json_object_get(profile, "syscalls"), i, rule)
        {
                json_array_foreach(json_object_get(rule, "names"), k, n)
                {
                        if (json_is_string(n) && strcmp(json_string_value(n), name) == 0)
                                return true;
                }
        }
        return false;
}

/* The doubtful syscalls the merged profile still lacks, sorted and comma-separated: those another
 * node wrote (was, may be NULL) and this recording's, by name. NULL when none (or on OOM, which then
 * reads as none: the next write computes it again). */
static char *doubtful_names(const Recording *r, const char *was, const char *merged)
{
        json_t *profile = json_loads(merged, 0, NULL);
        _cleanup_free_ char *copy = was ? strdup(was) : NULL;
        char **names = calloc(r->n_doubtful + (was ? strlen(was) / 2 + 1 : 0) + 1, sizeof(char *));
        size_t n = 0, len = 0;
        char *out = NULL, *save = NULL;

        if (!profile || !names || (was && !copy))
                goto finish;
        for (char *t = copy ? strtok_r(copy, ",", &save) : NULL; t; t = strtok_r(NULL, ",", &save))
                if (*t && !profile_names(profile, t))
                        names[n++] = strdup(t);
        for (size_t i = 0; i < r->n_doubtful; i++) {
                const Syscall *sc = r->doubtful + i;
                char *name = arch_from_token(sc->arch) && sc->nr >= 0 && sc->nr <= INT32_MAX
                                     ? seccomp_syscall_resolve_num_arch(sc->arch, (int) sc->nr)
                                     : NULL;
                if (!name && asprintf(&name, "%lld", (long long) sc->nr) < 0)
                        name = NULL;
                if (name && !profile_names(profile, name))
                        names[n++] = name;
                else
                        free(name);
        }
        qsort(names, n, sizeof(char *), compare_strings);
        for (size_t i = 0; i < n; i++)
                len += names[i] ? strlen(names[i]) + 1 : 0;
        if (len > 0 && (out = malloc(len))) {
                char *p = out;
                for (size_t i = 0; i < n; i++) {
                        if (!names[i] || (i > 0 && names[i - 1] && strcmp(names[i - 1], names[i]) == 0))
                                continue;
                        p += sprintf(p, "%s%s", p == out ? "" : ",", names[i]);
                }
                if (p == out) {
                        free(out);
                        out = NULL;
                }
        }
finish:
        for (size_t i = 0; names && i < n; i++)
                free(names[i]);
        free(names);
        json_decref(profile);
        return out;
}

static char *incomplete_reason(const char *lost, const char *doubtful)
{
        char *reason = NULL;
        if (asprintf(&reason, "%s%s%s%s", lost ? lost : "", lost && doubtful ? "; " : "",
                     doubtful ? "records of processes that had exited before they could be attributed name "
                                "syscalls the profile lacks, which may be this workload's: "
                              : "",
                     doubtful ? doubtful : "") < 0)
                return NULL;
        return reason;
}

/* The object to PUT (current, as read) or POST (NULL): the union in data[key], the labels and the
 * completeness. Returns NULL when there is nothing to change (*ret_same), or on an error (logged). */
static char *write_body(Write *w, json_t *current, bool *ret_same)
{
        Recording *r = w->r;
        Agent *a = r->agent;
        AuditProfileOptions po = {.baseline = a->baseline, .n_baseline = a->n_baseline};
        _cleanup_free_ char *json = NULL, *error = NULL, *doubtful = NULL, *reason = NULL;
        json_t *obj = current ? json_incref(current) : json_object();
        char *out = NULL;

        *ret_same = false;
        json_t *meta = object_child(obj, "metadata"), *data = object_child(obj, "data");
        json_t *labels = meta ? object_child(meta, "labels") : NULL;
        json_t *annotations = meta ? object_child(meta, "annotations") : NULL;
        if (!labels || !annotations || !data)
                goto finish;
        const char *old = json_string_value(json_object_get(data, r->key));
        if (old) {
                po.merge = old;
                po.merge_len = strlen(old);
        }
        int k = audit_recorder_build_profile(r->set, &po, &json, &error);
        if (k < 0) {
                log_error("recording %s: cannot merge with key %s of ConfigMap %s/%s: %s; not written",
                          r->name, r->key, a->namespace, r->configmap, error ? error : strerror(-k));
                goto finish;
        }
        if (!profile_ok(r, json))
                goto finish;
        /* Completeness, as every node computes it from the union: a loss is for ever (whoever saw it
         * said so in ANNOTATION_RECORDING_LOST); a syscall of an unattributed record matters while the
         * profile lacks it (ANNOTATION_RECORDING_UNATTRIBUTED, merged from every node, less what the union
         * now has). */
        const char *was_lost = json_string_value(json_object_get(annotations, ANNOTATION_RECORDING_LOST));
        const char *lost = w->incomplete ? r->reason : was_lost;
        doubtful = doubtful_names(
                r, json_string_value(json_object_get(annotations, ANNOTATION_RECORDING_UNATTRIBUTED)), json);
        if (lost || doubtful)
                reason = incomplete_reason(lost, doubtful);
        if ((lost || doubtful) && !reason)
                goto finish;
        (void) snprintf(w->said, sizeof(w->said), "%s", reason ? reason : "");
        if (current && old && strcmp(old, json) == 0 &&
            annotation_is(annotations, ANNOTATION_RECORDING_COMPLETE, reason ? "false" : "true") &&
            annotation_is(annotations, ANNOTATION_RECORDING_LOST, lost) &&
            annotation_is(annotations, ANNOTATION_RECORDING_UNATTRIBUTED, doubtful) &&
            annotation_is(annotations, ANNOTATION_RECORDING_INCOMPLETE, reason)) {
                *ret_same = true;
                goto finish;
        }
        if (!current) {
                (void) json_object_set_new(obj, "apiVersion", json_string("v1"));
                (void) json_object_set_new(obj, "kind", json_string("ConfigMap"));
                (void) json_object_set_new(meta, "name", json_string(r->configmap));
                (void) json_object_set_new(meta, "namespace", json_string(a->namespace));
        }
        (void) json_object_set_new(labels, LABEL_RECORDING, json_string(r->name));
        (void) json_object_set_new(labels, "app.kubernetes.io/managed-by", json_string("seccompd-recorder"));
        (void) json_object_set_new(annotations, ANNOTATION_RECORDING_COMPLETE,
                                   json_string(reason ? "false" : "true"));
        annotation_set(annotations, ANNOTATION_RECORDING_INCOMPLETE, reason);
        annotation_set(annotations, ANNOTATION_RECORDING_LOST, lost);
        annotation_set(annotations, ANNOTATION_RECORDING_UNATTRIBUTED, doubtful);
        (void) json_object_set_new(data, r->key, json_string(json));
        out = json_dumps(obj, JSON_COMPACT);
finish:
        json_decref(obj);
        return out;
}

static void on_get(KubeRequest *req, int error, const KubeStatus *st, const char *body, size_t len,
                   void *userdata)
{
        Write *w = userdata;
        Recording *r = w->r;
        Agent *a = r->agent;
        _cleanup_free_ char *path = NULL, *out = NULL;
        json_t *current = NULL;
        bool same = false;
        int k;

        if (error < 0 && error != -ENOENT) {
                log_warning("recording %s: cannot read ConfigMap %s/%s: %s%s%s", r->name, a->namespace,
                            r->configmap, kube_error_summary(error, st), st && st->message ? ": " : "",
                            st && st->message ? st->message : "");
                free(w);
                write_done(r, false);
                return;
        }
        if (error == 0) {
                current = json_loadb(body, len, 0, NULL);
                json_t *labels = json_object_get(json_object_get(current, "metadata"), "labels");
                const char *mine = json_string_value(json_object_get(labels, LABEL_RECORDING));
                if (!json_is_object(current) || !mine || strcmp(mine, r->name) != 0) {
                        log_error("recording %s: ConfigMap %s/%s exists without the label " LABEL_RECORDING
                                  "=%s: it is not a recording, and is never written; rename the recording "
                                  "(the pods' label " LABEL_RECORD ")",
                                  r->name, a->namespace, r->configmap, r->name);
                        r->foreign = true;
                        goto fail;
                }
                if (json_object_get(labels, LABEL_PROFILE)) {
                        log_info("recording %s: ConfigMap %s/%s is labeled " LABEL_PROFILE
                                 ": a reviewed profile, no longer written by the recorder",
                                 r->name, a->namespace, r->configmap);
                        r->promoted = true;
                        goto fail;
                }
        }
        out = write_body(w, current, &same);
        if (same) {
                r->written_generation = w->generation;
                r->written_incomplete = w->incomplete;
                r->written_doubt_generation = w->doubt_generation;
                memcpy(r->said, w->said, sizeof(r->said));
                json_decref(current);
                free(w);
                write_done(r, true);
                return;
        }
        if (!out)
                goto fail;
        if (current)
                k = asprintf(&path, "/api/v1/namespaces/%s/configmaps/%s", a->namespace, r->configmap);
        else
                k = asprintf(&path, "/api/v1/namespaces/%s/configmaps", a->namespace);
        json_decref(current);
        current = NULL;
        if (k < 0 || request(a, error == 0 ? "PUT" : "POST", path, out, on_put, w) < 0)
                goto fail;
        (void) req;
        return;
fail:
        json_decref(current);
        free(w);
        write_done(r, false);
}

static void write_start(Recording *r)
{
        Agent *a = r->agent;
        Write *w = calloc(1, sizeof(Write));
        if (!w)
                return;
        *w = (Write){.r = r,
                     .generation = r->generation,
                     .doubt_generation = r->doubt_generation,
                     .incomplete = r->incomplete};
        r->in_flight = true;
        a->in_flight++;
        r->conflicts = 0;
        _cleanup_free_ char *path = NULL;
        if (asprintf(&path, "/api/v1/namespaces/%s/configmaps/%s", a->namespace, r->configmap) < 0 ||
            request(a, "GET", path, NULL, on_get, w) < 0) {
                free(w);
                write_done(r, false);
        }
}

/* Recordings with no pod left and everything written are forgotten: a new recording of the same name
 * starts from what the ConfigMap holds. */
static int on_gc(sd_event_source *es, uint64_t usec, void *userdata)
{
        Agent *a = userdata;
        for (size_t i = a->n_recordings; i-- > 0;) {
                Recording *r = a->recordings[i];
                if (!r->in_flight && !dirty(r) && !recording_has_pods(a, r)) {
                        recording_free(r);
                        memmove(a->recordings + i, a->recordings + i + 1,
                                (a->n_recordings - i - 1) * sizeof(Recording *));
                        a->n_recordings--;
                }
        }
        (void) sd_event_source_set_time_relative(es, scaled(a, 60 * 1000000ULL));
        (void) usec;
        return 0;
}

/* ---- main -------------------------------------------------------------------------------------- */

static int on_deadline(sd_event_source *es, uint64_t usec, void *userdata)
{
        Agent *a = userdata;
        log_warning("stopping: %u request%s still in flight after 10 s; what they carried is lost",
                    a->in_flight, a->in_flight == 1 ? "" : "s");
        (void) es;
        (void) usec;
        return sd_event_exit(a->event, EXIT_OK);
}

static int on_stop(sd_event_source *es, const struct signalfd_siginfo *si, void *userdata)
{
        Agent *a = userdata;
        if (a->stopping)
                return sd_event_exit(a->event, EXIT_OK);
        a->stopping = true;
        log_info("stopping: writing what is pending (for 10 s at most)");
        /* What the socket holds is read first: a serial still queued is not missing. */
        (void) audit_netlink_drain(a->netlink, on_audit_line, a);
        audit_recorder_finish(a->stream);
        check_loss(a);
        for (size_t i = 0; i < a->n_recordings; i++) {
                Recording *r = a->recordings[i];
                (void) sd_event_source_set_enabled(r->timer, SD_EVENT_OFF);
                if (!r->in_flight && dirty(r))
                        write_start(r);
        }
        if (a->in_flight == 0)
                return sd_event_exit(a->event, EXIT_OK);
        (void) sd_event_add_time_relative(a->event, NULL, CLOCK_MONOTONIC, STOP_DEADLINE_USEC, 0,
                                          on_deadline, a);
        (void) es;
        (void) si;
        return 0;
}

static void help(void)
{
        printf("Usage: seccompd recorder [OPTIONS...]\n"
               "\n"
               "The in-cluster recording agent (one per node, deploy/components/recorder): records the\n"
               "containers of the pods on this node labeled " LABEL_RECORD "=NAME from the kernel's audit\n"
               "multicast group, and keeps the union of their syscalls in the ConfigMap\n" CONFIGMAP_PREFIX
               "NAME (key NAME.json) of its namespace. Needs CAP_AUDIT_READ, the\n"
               "initial network namespace (hostNetwork) and the host's PID namespace (hostPID).\n"
               "\n"
               "Options:\n"
               "     --kubeconfig FILE      Out of cluster (else KUBECONFIG, else the service account)\n"
               "     --node NAME            This node (default: NODE_NAME)\n"
               "     --namespace NS         Where the ConfigMaps go (default: POD_NAMESPACE, else the\n"
               "                            service account's)\n"
               "     --baseline NAME        runc (default), crun or none: the runtime's own start-up "
               "syscalls\n"
               "     --write-interval SEC   At most one write of a recording per SEC seconds (default 5)\n"
               "  -h --help                Show this help\n");
}

static void agent_clear(Agent *a)
{
        for (size_t i = 0; i < a->n_recordings; i++)
                recording_free(a->recordings[i]);
        free(a->recordings);
        for (size_t i = 0; i < a->n_pods; i++)
                pod_free(a->pods[i]);
        free(a->pods);
        free(a->presync);
        free(a->pid_cache);
        free(a->scratch);
        kube_reflector_free(a->reflector);
        kube_client_free(a->client);
        kube_config_clear(&a->config);
        audit_netlink_free(a->netlink);
        audit_recorder_free(a->stream);
        sd_event_unref(a->event);
}

/* Where the records come from, said before anything else: a recorder that would receive nothing must
 * not look as if it worked. */
static int open_audit(Agent *a)
{
        int r = audit_netlink_open(&a->netlink);
        if (r == -EPERM)
                return log_error_errno(r,
                                       "cannot bind the audit multicast group: it needs CAP_AUDIT_READ "
                                       "(capabilities.add: [AUDIT_READ]), and under the runtime's default "
                                       "seccomp profile also CAP_AUDIT_WRITE");
        if (r == -EINVAL)
                return log_error_errno(r, "cannot open an audit netlink socket: a seccomp filter refuses it "
                                          "(the runtime default profile does without CAP_AUDIT_WRITE: "
                                          "capabilities.add: [AUDIT_WRITE])");
        if (r < 0)
                return log_error_errno(r, "cannot open the audit multicast group");
        if (getpid() == 1)
                return log_error_errno(-EINVAL, "this process is PID 1 of its PID namespace: the recorder "
                                                "needs the host's (hostPID: true) to read the cgroup of the "
                                                "processes the records name");
        r = audit_netlink_in_initial_netns();
        if (r == 0)
                return log_error_errno(
                        -ENETUNREACH, "not in the initial network namespace: the kernel sends audit records "
                                      "only there (hostNetwork: true), so this recorder would receive none");
        if (r < 0)
                return log_error_errno(r, "cannot compare this network namespace with PID 1's "
                                          "(/proc/1/ns/net; hostPID: true)");
        return 0;
}

int verb_recorder(int argc, char *argv[])
{
        enum {
                ARG_KUBECONFIG = 0x100,
                ARG_NODE,
                ARG_NAMESPACE,
                ARG_BASELINE,
                ARG_INTERVAL,
        };
        static const struct option options[] = {
                {"help", no_argument, NULL, 'h'},
                {"kubeconfig", required_argument, NULL, ARG_KUBECONFIG},
                {"node", required_argument, NULL, ARG_NODE},
                {"namespace", required_argument, NULL, ARG_NAMESPACE},
                {"baseline", required_argument, NULL, ARG_BASELINE},
                {"write-interval", required_argument, NULL, ARG_INTERVAL},
                {},
        };
        _cleanup_free_ char *error = NULL;
        const char *kubeconfig = NULL, *baseline = "runc";
        Agent a = {.interval_usec = 5 * 1000000ULL, .scale = 1.0};
        sigset_t mask;
        int c, r;

        optind = 0;
        opterr = 0;
        while ((c = getopt_long(argc, argv, ":h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return EXIT_OK;
                case ARG_KUBECONFIG:
                        kubeconfig = optarg;
                        break;
                case ARG_NODE:
                        a.node = optarg;
                        break;
                case ARG_NAMESPACE:
                        a.namespace = optarg;
                        break;
                case ARG_BASELINE:
                        if (strcmp(optarg, "runc") != 0 && strcmp(optarg, "crun") != 0 &&
                            strcmp(optarg, "none") != 0) {
                                fprintf(stderr,
                                        "seccompd recorder: --baseline takes runc, crun or none, not "
                                        "\"%s\"\n",
                                        optarg);
                                return EXIT_USAGE;
                        }
                        baseline = optarg;
                        break;
                case ARG_INTERVAL: {
                        char *end = NULL;
                        errno = 0;
                        double v = strtod(optarg, &end);
                        if (errno != 0 || end == optarg || *end || !(v >= 0.1 && v <= 3600)) {
                                fprintf(stderr,
                                        "seccompd recorder: --write-interval takes seconds from 0.1 to "
                                        "3600, not "
                                        "\"%s\"\n",
                                        optarg);
                                return EXIT_USAGE;
                        }
                        a.interval_usec = (uint64_t) (v * 1e6);
                        break;
                }
                case '?':
                case ':':
                        return option_error("recorder", c, argv, options);
                default:
                        return EXIT_USAGE;
                }
        if (optind < argc) {
                fprintf(stderr, "seccompd recorder: unexpected argument \"%s\"\n", argv[optind]);
                return EXIT_USAGE;
        }
        log_setup(LOG_FORMAT_TEXT);
        if (!a.node)
                a.node = getenv("NODE_NAME");
        if (!a.node || !*a.node) {
                fprintf(stderr, "seccompd recorder: no node name: give --node, or set NODE_NAME\n");
                return EXIT_USAGE;
        }
        if (strcmp(baseline, "runc") == 0) {
                a.baseline = baseline_runc;
                a.n_baseline = baseline_runc_count;
        } else if (strcmp(baseline, "crun") == 0) {
                a.baseline = baseline_crun;
                a.n_baseline = baseline_crun_count;
        }
        const char *scale = getenv("SECCOMPD_TEST_TIME_SCALE");
        if (scale) {
                double v = strtod(scale, NULL);
                if (v > 0 && v <= 1)
                        a.scale = v;
        }
        r = kube_config_load(kubeconfig, &a.config, &error);
        if (r < 0) {
                fprintf(stderr, "seccompd recorder: cannot use the Kubernetes API: %s\n",
                        error ?: strerror(-r));
                agent_clear(&a);
                return EXIT_USAGE;
        }
        if (!a.namespace)
                a.namespace = getenv("POD_NAMESPACE");
        if (!a.namespace || !*a.namespace)
                a.namespace = a.config.namespace;
        if (!a.namespace || !*a.namespace) {
                fprintf(stderr,
                        "seccompd recorder: no namespace for the recordings: give --namespace, or set "
                        "POD_NAMESPACE\n");
                agent_clear(&a);
                return EXIT_USAGE;
        }
        a.pid_cache = calloc(PID_CACHE_SIZE, sizeof(PidEntry));
        a.scratch = malloc(sizeof(AuditRecord));
        if (!a.pid_cache || !a.scratch || audit_recorder_new(&a.stream) < 0 || open_audit(&a) < 0) {
                agent_clear(&a);
                return EXIT_USAGE;
        }
        /* Live, from several CPUs: a serial may come after a later one, and is missing only once it
         * has left the window (or at the stop). */
        audit_recorder_set_reorder_window(a.stream);
        _cleanup_free_ char *field = NULL;
        static const KubeReflectorCallbacks callbacks = {
                .list_begin = on_list_begin,
                .list_end = on_list_end,
                .object = on_object,
                .problem = on_problem,
        };
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0 || sd_event_new(&a.event) < 0 ||
            sd_event_add_signal(a.event, NULL, SIGTERM, on_stop, &a) < 0 ||
            sd_event_add_signal(a.event, NULL, SIGINT, on_stop, &a) < 0 ||
            sd_event_add_io(a.event, NULL, audit_netlink_fd(a.netlink), EPOLLIN, on_audit, &a) < 0 ||
            sd_event_add_time_relative(a.event, NULL, CLOCK_MONOTONIC, scaled(&a, 60 * 1000000ULL), 0, on_gc,
                                       &a) < 0 ||
            kube_client_new(a.event, &a.config, &a.client) < 0 ||
            asprintf(&field, "spec.nodeName=%s", a.node) < 0) {
                log_error("cannot set up the event loop");
                agent_clear(&a);
                return EXIT_USAGE;
        }
        KubeReflectorOptions ro = {
                .resource = "pods",
                .namespace = NULL,
                .selector = LABEL_RECORD,
                .field_selector = field,
                .time_scale = a.scale,
                .callbacks = &callbacks,
                .userdata = &a,
        };
        if (kube_reflector_new(a.client, a.event, &ro, &a.reflector) < 0 ||
            kube_reflector_start(a.reflector) < 0) {
                log_error("cannot start the pod watch");
                agent_clear(&a);
                return EXIT_USAGE;
        }
        log_info("recording from the audit multicast group on node %s; recordings go to "
                 "ConfigMaps " CONFIGMAP_PREFIX "NAME in namespace %s (%s)",
                 a.node, a.namespace, a.config.server);
        r = sd_event_loop(a.event);
        const AuditStats *s = audit_recorder_stats(a.stream);
        log_info("stopped: %llu SECCOMP records (%llu LOG), %llu of pods not recorded or of the host, %llu "
                 "unattributed (process gone), %llu serials missing, %llu socket overruns",
                 (unsigned long long) s->seccomp, (unsigned long long) a.log_records,
                 (unsigned long long) a.foreign, (unsigned long long) a.unattributed,
                 (unsigned long long) s->serial_missing, (unsigned long long) s->netlink_overruns);
        agent_clear(&a);
        return r < 0 ? EXIT_USAGE : r;
}
