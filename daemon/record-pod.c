/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <systemd/sd-event.h>

#include "cgroup.h"
#include "kube/client.h"
#include "kube/kubeconfig.h"
#include "record-pod.h"
#include "shared/fileio.h"
#include "shared/macro.h"
#include "tables.h"

#define REQUEST_USEC    (10 * 1000000ULL)
#define POD_MAX_BODY    (4 * 1024 * 1024)
#define CGROUP_FILE_MAX (64 * 1024)
/* The kubelet reports a started container within its status sync (about a second); a pod sandbox
 * (pause) is never named, so the asking backs off. */
#define REFETCH_FIRST_USEC 1000000ULL
#define REFETCH_MAX_USEC   (30 * 1000000ULL)

/* A container of the pod by name, from its spec or its status. */
typedef struct PodName {
        char *name;
        const char *kind; /* "container", "init container", "ephemeral container" */
} PodName;

/* A container ID the pod's status named (containerID, or lastState.terminated's: a restart). Kept
 * after the status forgets it, so records of a container restarted twice keep their name. */
typedef struct PodId {
        char id[CGROUP_CONTAINER_ID_MAX + 1];
        size_t name; /* index in names */
} PodId;

/* The records of one container ID of the pod, kept apart until it is named. */
typedef struct Slot {
        char id[CGROUP_CONTAINER_ID_MAX + 1];
        AuditRecorder *recorder;
        uint64_t records;
} Slot;

struct RecordPod {
        RecordPodOptions o; /* borrowed: the strings are the command line's */
        sd_event *event;
        KubeConfig config;
        KubeClient *client;
        KubeRequest *request;
        sd_event_source *timer;
        uint64_t backoff_usec;

        char uid[CGROUP_POD_UID_MAX + 1]; /* the pod's metadata.uid, lowercase */
        PodName *names;
        size_t n_names;
        PodId *ids;
        size_t n_ids;
        Slot *slots;
        size_t n_slots;

        int fetch_error; /* the last fetch's outcome, 0 or a negative errno */
        char *fetch_message;
        bool gone; /* deleted (or replaced by another pod of that name): its last status is kept */

        uint64_t exited;     /* records whose process was gone when they arrived */
        uint64_t unreadable; /* records whose /proc/PID/cgroup could not be read otherwise */
};

static void on_pod(KubeRequest *req, int error, const KubeStatus *st, const char *body, size_t len,
                   void *userdata);

static int start_fetch(RecordPod *p)
{
        _cleanup_free_ char *path = NULL;

        if (p->request)
                return 0;
        if (asprintf(&path, "/api/v1/namespaces/%s/pods/%s", p->o.namespace, p->o.name) < 0)
                return -ENOMEM;
        KubeRequestOptions o = {
                .path = path,
                .max_body = POD_MAX_BODY,
                .timeout_usec = REQUEST_USEC,
                .on_done = on_pod,
                .userdata = p,
        };
        return kube_request_start(p->client, &o, &p->request);
}

/* Runs the loop until the fetch in flight (if any) has ended. The request's deadline bounds it. */
static int wait_fetch(RecordPod *p)
{
        while (p->request) {
                int r = sd_event_run(p->event, UINT64_MAX);
                if (r < 0)
                        return r;
        }
        return 0;
}

static size_t name_index(RecordPod *p, const char *name, const char *kind, int *ret_error)
{
        for (size_t i = 0; i < p->n_names; i++)
                if (strcmp(p->names[i].name, name) == 0)
                        return i;
        PodName *n = realloc(p->names, (p->n_names + 1) * sizeof(PodName));
        if (!n) {
                *ret_error = -ENOMEM;
                return 0;
        }
        p->names = n;
        n[p->n_names] = (PodName){.name = strdup(name), .kind = kind};
        if (!n[p->n_names].name) {
                *ret_error = -ENOMEM;
                return 0;
        }
        return p->n_names++;
}

static int add_id(RecordPod *p, const char *status_id, size_t name)
{
        char id[CGROUP_CONTAINER_ID_MAX + 1];

        /* "" while the container is waiting; another scheme is not one of our runtimes. */
        if (!status_id || cgroup_container_id_from_status(status_id, id) < 0)
                return 0;
        for (size_t i = 0; i < p->n_ids; i++)
                if (strcmp(p->ids[i].id, id) == 0) {
                        p->ids[i].name = name;
                        return 0;
                }
        PodId *ids = realloc(p->ids, (p->n_ids + 1) * sizeof(PodId));
        if (!ids)
                return -ENOMEM;
        p->ids = ids;
        ids[p->n_ids] = (PodId){.name = name};
        memcpy(ids[p->n_ids].id, id, sizeof(id));
        p->n_ids++;
        return 0;
}

/* The names in spec, and the IDs in status, of one kind of container. */
static int read_containers(RecordPod *p, json_t *pod, const char *spec_key, const char *status_key,
                           const char *kind)
{
        json_t *list = json_object_get(json_object_get(pod, "spec"), spec_key), *c;
        size_t i;
        int error = 0;

        json_array_foreach(list, i, c)
        {
                const char *name = json_string_value(json_object_get(c, "name"));
                if (name)
                        (void) name_index(p, name, kind, &error);
        }
        list = json_object_get(json_object_get(pod, "status"), status_key);
        json_array_foreach(list, i, c)
        {
                const char *name = json_string_value(json_object_get(c, "name"));
                if (!name)
                        continue;
                size_t k = name_index(p, name, kind, &error);
                if (error < 0)
                        return error;
                json_t *last = json_object_get(json_object_get(c, "lastState"), "terminated");
                int r = add_id(p, json_string_value(json_object_get(c, "containerID")), k);
                if (r >= 0)
                        r = add_id(p, json_string_value(json_object_get(last, "containerID")), k);
                if (r < 0)
                        return r;
        }
        return error;
}

/* A Pod object: its UID (the first one read is the pod being recorded; another UID is another pod
 * that took the name) and its containers. */
static int read_pod(RecordPod *p, const char *body, size_t len)
{
        json_error_t e;
        json_auto_t *pod = json_loadb(body, len, 0, &e);
        const char *uid = json_string_value(json_object_get(json_object_get(pod, "metadata"), "uid"));
        int r;

        if (!pod || !uid || strlen(uid) > CGROUP_POD_UID_MAX || !*uid)
                return -EBADMSG;
        if (p->uid[0] && strcasecmp(p->uid, uid) != 0)
                return -ESTALE;
        for (size_t i = 0; uid[i]; i++)
                p->uid[i] = (char) (uid[i] >= 'A' && uid[i] <= 'Z' ? uid[i] - 'A' + 'a' : uid[i]);
        p->uid[strlen(uid)] = '\0';
        if ((r = read_containers(p, pod, "containers", "containerStatuses", "container")) < 0 ||
            (r = read_containers(p, pod, "initContainers", "initContainerStatuses", "init container")) < 0 ||
            (r = read_containers(p, pod, "ephemeralContainers", "ephemeralContainerStatuses",
                                 "ephemeral container")) < 0)
                return r;
        return 0;
}

static const PodName *slot_name(const RecordPod *p, const Slot *s)
{
        for (size_t i = 0; i < p->n_ids; i++)
                if (strcmp(p->ids[i].id, s->id) == 0)
                        return p->names + p->ids[i].name;
        return NULL;
}

static bool selected(const RecordPod *p, const PodName *n)
{
        if (!n)
                return false;
        for (size_t i = 0; i < p->o.n_containers; i++)
                if (strcmp(p->o.containers[i], n->name) == 0)
                        return true;
        return p->o.n_containers == 0;
}

static bool any_unnamed(const RecordPod *p)
{
        for (size_t i = 0; i < p->n_slots; i++)
                if (!slot_name(p, p->slots + i))
                        return true;
        return false;
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
        RecordPod *p = userdata;
        (void) start_fetch(p);
        return 0;
}

/* Once more later, while a container ID is still unnamed: 1 s, then twice as long each time. */
static void schedule_fetch(RecordPod *p)
{
        if (p->gone || !any_unnamed(p))
                return;
        int r = p->timer ? sd_event_source_set_time_relative(p->timer, p->backoff_usec)
                         : sd_event_add_time_relative(p->event, &p->timer, CLOCK_MONOTONIC, p->backoff_usec,
                                                      0, on_timer, p);
        if (r >= 0)
                (void) sd_event_source_set_enabled(p->timer, SD_EVENT_ONESHOT);
        p->backoff_usec = MIN(p->backoff_usec * 2, REFETCH_MAX_USEC);
}

static void on_pod(KubeRequest *req, int error, const KubeStatus *st, const char *body, size_t len,
                   void *userdata)
{
        RecordPod *p = userdata;
        bool first = !p->uid[0];

        p->request = NULL;
        p->fetch_message = mfree(p->fetch_message);
        if (error >= 0)
                error = read_pod(p, body, len);
        if (error < 0 && st && st->message)
                p->fetch_message = strdup(st->message);
        int previous = p->fetch_error;
        p->fetch_error = error;
        if (!first && (error == -ENOENT || error == -ESTALE) && !p->gone) {
                /* Deleted while recording: what was recorded is kept, named as its last status did. */
                fprintf(stderr, "seccompd record: pod %s/%s %s; keeping what was recorded\n", p->o.namespace,
                        p->o.name,
                        error == -ENOENT ? "was deleted" : "was replaced by another of that name");
                p->gone = true;
        } else if (!first && error < 0 && error != previous)
                fprintf(stderr, "seccompd record: warning: cannot read pod %s/%s: %s%s%s\n", p->o.namespace,
                        p->o.name, error == -EBADMSG ? "not a Pod object" : kube_error_summary(error, st),
                        p->fetch_message ? ": " : "", p->fetch_message ?: "");
        if (!first)
                schedule_fetch(p);
}

static int usage_error(char **ret_error, const char *fmt, ...) _printf_(2, 3);
static int usage_error(char **ret_error, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        if (vasprintf(ret_error, fmt, ap) < 0)
                *ret_error = NULL;
        va_end(ap);
        return -EINVAL;
}

/* "app, side (init container setup)": the pod's containers, for a --container it does not have. */
static char *list_names(const RecordPod *p)
{
        char *out = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&out, &size);
        if (!f)
                return NULL;
        for (size_t i = 0; i < p->n_names; i++) {
                bool plain = strcmp(p->names[i].kind, "container") == 0;
                fprintf(f, "%s%s%s%s", i ? ", " : "", plain ? "" : p->names[i].kind, plain ? "" : " ",
                        p->names[i].name);
        }
        if (p->n_names == 0)
                fputs("none", f);
        if (fclose(f) != 0)
                return mfree(out);
        return out;
}

int record_pod_new(const RecordPodOptions *o, RecordPod **ret, char **ret_error)
{
        _cleanup_(record_pod_freep) RecordPod *p = calloc(1, sizeof(RecordPod));
        _cleanup_free_ char *error = NULL;
        int r;

        if (!p)
                return -ENOMEM;
        p->o = *o;
        p->backoff_usec = REFETCH_FIRST_USEC;
        r = kube_config_load(o->kubeconfig, &p->config, &error);
        if (r < 0)
                return usage_error(ret_error, "cannot use the Kubernetes API: %s", error ?: strerror(-r));
        if ((r = sd_event_new(&p->event)) < 0 ||
            (r = kube_client_new(p->event, &p->config, &p->client)) < 0 || (r = start_fetch(p)) < 0 ||
            (r = wait_fetch(p)) < 0)
                return r;
        r = p->fetch_error;
        if (r == -ENOENT) {
                (void) usage_error(ret_error, "pod %s/%s does not exist (%s)", o->namespace, o->name,
                                   p->config.server);
                return -ENOENT;
        }
        if (r < 0) {
                (void) usage_error(ret_error, "cannot read pod %s/%s from %s: %s%s%s", o->namespace, o->name,
                                   p->config.server,
                                   r == -EBADMSG ? "not a Pod object" : kube_error_summary(r, NULL),
                                   p->fetch_message ? ": " : "", p->fetch_message ?: "");
                return r;
        }
        for (size_t i = 0; i < o->n_containers; i++) {
                bool known = false;
                for (size_t j = 0; j < p->n_names && !known; j++)
                        known = strcmp(p->names[j].name, o->containers[i]) == 0;
                if (!known) {
                        _cleanup_free_ char *names = list_names(p);
                        return usage_error(ret_error,
                                           "pod %s/%s has no container \"%s\"; its containers: %s",
                                           o->namespace, o->name, o->containers[i], names ?: "?");
                }
        }
        *ret = TAKE_PTR(p);
        return 0;
}

RecordPod *record_pod_free(RecordPod *p)
{
        if (!p)
                return NULL;
        if (p->request)
                kube_request_cancel(p->request);
        kube_client_free(p->client);
        sd_event_source_unref(p->timer);
        sd_event_unref(p->event);
        kube_config_clear(&p->config);
        for (size_t i = 0; i < p->n_names; i++)
                free(p->names[i].name);
        free(p->names);
        free(p->ids);
        for (size_t i = 0; i < p->n_slots; i++)
                audit_recorder_free(p->slots[i].recorder);
        free(p->slots);
        free(p->fetch_message);
        free(p);
        return NULL;
}

int record_pod_fd(RecordPod *p)
{
        return sd_event_get_fd(p->event);
}

void record_pod_process(RecordPod *p)
{
        /* Arms the timers (prepare), then dispatches what is due, without waiting. */
        while (sd_event_run(p->event, 0) > 0)
                ;
}

static bool is_pod_id(const RecordPod *p, const char *id)
{
        for (size_t i = 0; i < p->n_ids; i++)
                if (strcmp(p->ids[i].id, id) == 0)
                        return true;
        return false;
}

/* The slot of the container the identity names: 1 (*ret, *ret_new when just made), 0 when it is not
 * the pod's, -ENOMEM. */
static int find_slot(RecordPod *p, const CgroupIdentity *id, Slot **ret, bool *ret_new)
{
        *ret_new = false;
        for (size_t i = 0; i < p->n_slots; i++)
                if (strcmp(p->slots[i].id, id->container_id) == 0) {
                        *ret = p->slots + i;
                        return 1;
                }
        /* By UID: the pod's container before its status names it. By ID: a runtime whose cgroups do not
         * name the pod (podman, Docker). */
        if (!(id->pod_uid[0] && strcmp(id->pod_uid, p->uid) == 0) && !is_pod_id(p, id->container_id))
                return 0;
        Slot *slots = realloc(p->slots, (p->n_slots + 1) * sizeof(Slot));
        if (!slots)
                return -ENOMEM;
        p->slots = slots;
        Slot *s = slots + p->n_slots;
        *s = (Slot){};
        memcpy(s->id, id->container_id, sizeof(s->id));
        if (audit_recorder_new(&s->recorder) < 0)
                return -ENOMEM;
        p->n_slots++;
        *ret = s;
        *ret_new = true;
        return 1;
}

int record_pod_add(RecordPod *p, const AuditRecord *rec)
{
        char path[64];
        _cleanup_free_ char *cgroup = NULL;
        size_t len;
        CgroupIdentity id;
        bool created;
        const char *name = NULL;

        (void) snprintf(path, sizeof(path), "/proc/%lld/cgroup", (long long) rec->pid);
        int r = rec->pid > 0 ? read_full_file(path, CGROUP_FILE_MAX, &cgroup, &len) : -ESRCH;
        if (r < 0) {
                /* Gone: its cgroup went with it, and a pid may be reused, so nothing is guessed. */
                if (r == -ENOENT || r == -ESRCH)
                        p->exited++;
                else
                        p->unreadable++;
                return 0;
        }
        if (cgroup_identity_parse(cgroup, &id) < 0)
                return 0; /* not in a container */
        Slot *s = NULL;
        r = find_slot(p, &id, &s, &created);
        if (r <= 0)
                return r;
        const PodName *n = slot_name(p, s);
        if (!n && created) {
                /* Its start-up, before the kubelet wrote the ID into the pod's status: ask again. */
                p->backoff_usec = REFETCH_FIRST_USEC;
                (void) start_fetch(p);
        }
        s->records++;
        r = audit_recorder_add(s->recorder, rec, &name);
        if (r > 0 && p->o.follow && (!n || selected(p, n))) {
                const ArchInfo *a = arch_from_token(rec->arch);
                fprintf(stderr, "seccompd record: + %s (%s, %s) in container %.*s%s\n", name,
                        a ? a->name : "?", rec->comm, n ? (int) strlen(n->name) : 12, n ? n->name : s->id,
                        n ? "" : " (not named by the pod yet)");
        }
        return r < 0 ? r : 1;
}

int record_pod_finish(RecordPod *p, AuditRecorder *dst)
{
        int merged = 0, r;

        if (p->timer)
                (void) sd_event_source_set_enabled(p->timer, SD_EVENT_OFF);
        /* The last word on names: containers that started while recording, and restarts. */
        (void) wait_fetch(p);
        if (!p->gone && start_fetch(p) >= 0)
                (void) wait_fetch(p);
        if (p->fetch_error < 0 && !p->gone)
                fprintf(stderr,
                        "seccompd record: warning: cannot read pod %s/%s at the end: %s; container IDs it "
                        "had "
                        "not named stay unnamed\n",
                        p->o.namespace, p->o.name, kube_error_summary(p->fetch_error, NULL));

        fprintf(stderr, "seccompd record: pod %s/%s (uid %s):\n", p->o.namespace, p->o.name, p->uid);
        for (size_t i = 0; i < p->n_slots; i++) {
                const Slot *s = p->slots + i;
                const PodName *n = slot_name(p, s);
                bool in = selected(p, n);
                size_t k = audit_recorder_n_syscalls(s->recorder);
                if (n)
                        fprintf(stderr, "  %s %s (%.12s): ", n->kind, n->name, s->id);
                else
                        fprintf(stderr,
                                "  container ID %.12s, never named by the pod's status (its sandbox, or a "
                                "container gone from it): ",
                                s->id);
                fprintf(stderr, "%llu record%s, %zu syscall%s%s\n", (unsigned long long) s->records,
                        s->records == 1 ? "" : "s", k, k == 1 ? "" : "s",
                        in  ? ""
                        : n ? ": left out (--container)"
                            : ": left out");
                if (in) {
                        r = audit_recorder_merge(dst, s->recorder);
                        if (r < 0)
                                return r;
                        merged++;
                }
        }
        for (size_t i = 0; i < p->n_names; i++) {
                bool seen = false;
                for (size_t j = 0; j < p->n_slots && !seen; j++)
                        seen = slot_name(p, p->slots + j) == p->names + i;
                if (!seen)
                        fprintf(stderr, "  %s %s: no record\n", p->names[i].kind, p->names[i].name);
        }
        if (p->exited > 0)
                fprintf(stderr, "warning: %llu record%s could not be attributed: the process had exited\n",
                        (unsigned long long) p->exited, p->exited == 1 ? "" : "s");
        if (p->unreadable > 0)
                fprintf(stderr,
                        "warning: %llu record%s could not be attributed: /proc/PID/cgroup unreadable\n",
                        (unsigned long long) p->unreadable, p->unreadable == 1 ? "" : "s");
        return merged;
}
