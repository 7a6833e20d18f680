/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#include "kube-source.h"
#include "kube/client.h"
#include "kube/object-json.h"
#include "kube/reflector.h"
#include "kube/report.h"
#include "log.h"
#include "shared/macro.h"
#include "shared/sha256.h"
#include "shared/sorted.h"
#include "sync/object.h"

/* Events already sent (or known to exist): a bounded ring, so a bad profile is reported once per
 * version, not on every sync. The name is deterministic, so other nodes' 409s do the rest. */
#define EVENTS_REMEMBERED  512
#define EVENT_PROBLEMS_MAX 1024

typedef struct KubeProfile {
        char *key, *path, *origin;
        uint8_t hash[SHA256_DIGEST_SIZE];
        bool valid, adopt;
        char *bytes; /* until a sync has put them on disk */
        size_t len;
        char *problems; /* why it is invalid, for the Event; NULL when valid */
        char *warnings; /* what the runtime will make of it, for the Event; NULL without warnings */
} KubeProfile;

typedef struct KubeObject {
        char *uid, *namespace, *name, *created, *rv;
        const char *kind;      /* "ConfigMap" or "Secret" */
        KubeReflector *owner;  /* borrowed */
        bool seen;             /* during a list */
        KubeProfile *profiles; /* a conflict on the whole object leaves none */
        size_t n;
} KubeObject;

typedef struct Entry {
        KubeObject *object; /* borrowed */
        size_t profile;
} Entry;

struct KubeSource {
        Source source; /* first: a KubeSource is a Source */
        KubeSourceOptions o;
        KubeClient *client;
        KubeReflector **reflectors;
        size_t n_reflectors;
        KubeObject **objects; /* sorted by uid */
        size_t n_objects;
        DesiredProfile *set; /* the last desired set, and where each entry came from */
        Entry *entries;
        size_t n_set;
        char *events_sent[EVENTS_REMEMBERED];
        size_t events_next;
};

static void profile_clear(KubeProfile *p)
{
        free(p->key);
        free(p->path);
        free(p->origin);
        free(p->bytes);
        free(p->problems);
        free(p->warnings);
}

static void object_free(KubeObject *o)
{
        if (!o)
                return;
        for (size_t i = 0; i < o->n; i++)
                profile_clear(o->profiles + i);
        free(o->profiles);
        free(o->uid);
        free(o->namespace);
        free(o->name);
        free(o->created);
        free(o->rv);
        free(o);
}

static int compare_uid(const void *key, const void *element)
{
        return strcmp(key, (*(KubeObject *const *) element)->uid);
}

static size_t object_position(const KubeSource *s, const char *uid, bool *found)
{
        return sorted_position(s->objects, s->n_objects, sizeof(KubeObject *), uid, compare_uid, found);
}

static const char *meta_string(json_t *obj, const char *field)
{
        return json_string_value(json_object_get(json_object_get(obj, "metadata"), field));
}

/* Joined diagnostics of one severity for an Event; NULL when there are none. */
static char *diagnostics_text(const Verdict *v, Severity severity)
{
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        if (!f)
                return NULL;
        for (size_t i = 0; i < v->diagnostics.n; i++) {
                const Diagnostic *d = v->diagnostics.items + i;
                if (d->severity != severity)
                        continue;
                /* The message names the field already. */
                fprintf(f, "%s%s [%s]", ftell(f) > 0 ? "; " : "", d->message, diag_code_to_string(d->code));
        }
        fclose(f);
        if (text && !*text) {
                free(text);
                text = NULL;
        }
        return text;
}

/* One decoded key of one object: hashed and validated now; logged once per version. Takes the strings
 * and bytes of in. */
static int profile_read(KubeSource *s, const KubeProfile *old, size_t n_old, ObjectProfile *in, bool tenant,
                        KubeProfile *ret)
{
        KubeProfile p = {
                .key = TAKE_PTR(in->key),
                .path = TAKE_PTR(in->path),
                .origin = TAKE_PTR(in->origin),
                .bytes = TAKE_PTR(in->bytes),
                .len = in->len,
                .adopt = in->adopt,
        };
        int r;

        Sha256 h;
        sha256_init(&h);
        sha256_update(&h, p.bytes, p.len);
        sha256_final(&h, p.hash);
        /* The same bytes at the same path as before: the verdict stands, nothing is logged again. */
        for (size_t i = 0; i < n_old; i++)
                if (strcmp(old[i].path, p.path) == 0 && memcmp(old[i].hash, p.hash, sizeof(p.hash)) == 0) {
                        p.valid = old[i].valid;
                        if ((old[i].problems && !(p.problems = strdup(old[i].problems))) ||
                            (old[i].warnings && !(p.warnings = strdup(old[i].warnings)))) {
                                profile_clear(&p);
                                return -ENOMEM;
                        }
                        *ret = p;
                        return 1;
                }

        Verdict v = {};
        r = profile_validate_cached(s->o.cache, p.bytes, p.len, s->o.validate, &v, NULL);
        if (r < 0) {
                log_profile(LOG_ERR, p.path, p.origin, "cannot validate: %s", strerror(-r));
                profile_clear(&p);
                return r == -ENOMEM ? r : 0;
        }
        p.valid = v.valid;
        log_diagnostics(p.path, p.origin, &v.diagnostics);
        if (p.valid && tenant && diagnostics_has(&v.diagnostics, DIAG_CONFINES_NOTHING)) {
                /* Any pod may name any Localhost profile, and "restricted" accepts it: a tenant must
                 * not publish what is Unconfined in all but name. */
                p.valid = false;
                log_profile(LOG_ERR, p.path, p.origin,
                            "profile rejected: a tenant namespace's profile must confine something "
                            "(defaultAction ALLOW or LOG with no stricter rule) [confines-nothing]");
                p.problems = strdup("defaultAction: a tenant namespace's profile confines nothing "
                                    "[confines-nothing]");
        } else if (!p.valid)
                p.problems = diagnostics_text(&v, SEVERITY_ERROR);
        else
                p.warnings = diagnostics_text(&v, SEVERITY_WARNING);
        verdict_clear(&v);
        *ret = p;
        return 1;
}

/* The object's keys, decoded by the rules both sources share (lib/sync/object.h); what it refuses is
 * logged here, once per version. */
static int object_read_profiles(KubeSource *s, KubeObject *o, const KubeObject *old, json_t *obj)
{
        _cleanup_(object_description_clear) ObjectDescription d = {};
        _cleanup_(object_profiles_clear) ObjectProfiles decoded = {};
        const ObjectDecodeOptions options = {.tenants = s->o.tenants, .n_tenants = s->o.n_tenants};
        int r = object_description_from_json(obj, o->kind, &d);
        if (r >= 0)
                r = object_decode(&d, &options, &decoded);
        if (r < 0)
                return r;
        for (size_t i = 0; i < decoded.n_refusals; i++) {
                const ObjectRefusal *x = decoded.refusals + i;
                log_profile(LOG_ERR, x->path, NULL, "%s; %s", x->message,
                            x->whole_object ? "no profile of it is used" : "not used");
        }
        o->profiles = calloc(MAX(decoded.n, (size_t) 1), sizeof(KubeProfile));
        if (!o->profiles)
                return -ENOMEM;
        for (size_t i = 0; i < decoded.n; i++) {
                r = profile_read(s, old ? old->profiles : NULL, old ? old->n : 0, decoded.profiles + i,
                                 decoded.tenant, o->profiles + o->n);
                if (r < 0)
                        return r;
                if (r > 0)
                        o->n++;
        }
        return 0;
}

static bool is_secret(const KubeReflector *r)
{
        return strcmp(kube_reflector_resource(r), "secrets") == 0;
}

static void object_upsert(KubeSource *s, KubeReflector *owner, json_t *obj)
{
        const char *uid = meta_string(obj, "uid"), *name = meta_string(obj, "name"),
                   *ns = meta_string(obj, "namespace"), *rv = meta_string(obj, "resourceVersion");
        bool found;
        if (!uid || !name || !ns) {
                log_warning("a %s object without uid, name or namespace: ignored",
                            kube_reflector_resource(owner));
                return;
        }
        size_t at = object_position(s, uid, &found);
        KubeObject *old = found ? s->objects[at] : NULL;
        if (old && old->rv && rv && strcmp(old->rv, rv) == 0) {
                old->seen = true; /* listed again, unchanged */
                return;
        }

        KubeObject *o = calloc(1, sizeof(KubeObject));
        const char *created = meta_string(obj, "creationTimestamp");
        if (!o || !(o->uid = strdup(uid)) || !(o->namespace = strdup(ns)) || !(o->name = strdup(name)) ||
            !(o->created = strdup(created ?: "")) || (rv && !(o->rv = strdup(rv))))
                goto oom;
        o->kind = is_secret(owner) ? "Secret" : "ConfigMap";
        o->owner = owner;
        o->seen = true;

        if (object_read_profiles(s, o, old, obj) < 0)
                goto oom;
        if (old) {
                object_free(old);
                s->objects[at] = o;
        } else {
                KubeObject **list = realloc(s->objects, (s->n_objects + 1) * sizeof(KubeObject *));
                if (!list)
                        goto oom;
                s->objects = list;
                memmove(s->objects + at + 1, s->objects + at, (s->n_objects - at) * sizeof(KubeObject *));
                s->objects[at] = o;
                s->n_objects++;
        }
        return;
oom:
        object_free(o);
        log_error("out of memory reading %s/%s; listing again", ns, name);
        if (old)
                old->rv = (free(old->rv), NULL); /* make the relist read it again */
}

static void object_remove_at(KubeSource *s, size_t at)
{
        object_free(s->objects[at]);
        memmove(s->objects + at, s->objects + at + 1, (s->n_objects - at - 1) * sizeof(KubeObject *));
        s->n_objects--;
}

static void on_object(KubeReflector *r, KubeEventType type, json_t *obj, void *userdata)
{
        KubeSource *s = userdata;
        if (type == KUBE_DELETED) {
                /* Also what the server sends when the labels stop matching the selector. */
                const char *uid = meta_string(obj, "uid");
                bool found;
                size_t at = uid ? object_position(s, uid, &found) : 0;
                if (uid && found)
                        object_remove_at(s, at);
        } else
                object_upsert(s, r, obj);
        s->o.changed(s->o.userdata);
}

static void on_list_begin(KubeReflector *r, void *userdata)
{
        KubeSource *s = userdata;
        for (size_t i = 0; i < s->n_objects; i++)
                if (s->objects[i]->owner == r)
                        s->objects[i]->seen = false;
}

static void on_list_end(KubeReflector *r, bool complete, void *userdata)
{
        KubeSource *s = userdata;
        /* What a complete list did not hold was deleted while we were not watching. */
        for (size_t i = 0; complete && i < s->n_objects;)
                if (s->objects[i]->owner == r && !s->objects[i]->seen)
                        object_remove_at(s, i);
                else
                        i++;
        s->o.changed(s->o.userdata);
}

static const char *verb_resource_error(int error)
{
        return error == -EACCES  ? "unauthorized (401): the token was refused"
               : error == -EPERM ? "forbidden (403)"
                                 : NULL;
}

/* What a failed request means to the person reading the log: lib/kube/client.c knows the outcomes. */
static const char *problem_text(int error, const KubeStatus *st)
{
        return kube_error_summary(error, st);
}

static void on_problem(KubeReflector *r, const char *verb, int error, const KubeStatus *st,
                       const char *detail, void *userdata)
{
        KubeSource *s = userdata;
        const char *res = kube_reflector_resource(r), *ns = kube_reflector_namespace(r);
        char labels[256];

        if (error == 0) {
                log_info("%s %s in namespace %s: working again", verb, res, ns);
                s->o.changed(s->o.userdata); /* readiness may have changed */
                return;
        }
        if (s->o.metrics) {
                (void) snprintf(labels, sizeof(labels), "verb=\"%s\",resource=\"%s\",code=\"%ld\"", verb,
                                res, st ? st->http : 0L);
                (void) metrics_add(s->o.metrics, "seccompd_kube_errors_total", labels, 1);
        }
        const char *auth = verb_resource_error(error);
        log_profile(auth ? LOG_ERR : LOG_WARNING, NULL, NULL, "%s %s in namespace %s: %s%s%s%s%s", verb, res,
                    ns, auth ?: problem_text(error, st), st && st->message ? ": " : "",
                    st && st->message ? st->message : "", detail ? "; " : "", detail ?: "");
        /* systemctl status (and tests) see the latest trouble too. */
        (void) sd_notifyf(false, "STATUS=%s %s in namespace %s failed: %s", verb, res, ns,
                          auth ?: problem_text(error, st));
        if (auth)
                s->o.changed(s->o.userdata);
}

static const KubeReflectorCallbacks callbacks = {
        .list_begin = on_list_begin,
        .list_end = on_list_end,
        .object = on_object,
        .problem = on_problem,
};

/* The client reads the token before every request and keeps the last good one when it cannot: said
 * once when that starts and once when it ends, never per request. */
static void on_token(KubeClient *c, const char *path, int error, void *userdata)
{
        if (error < 0)
                log_profile(LOG_ERR, NULL, path,
                            "cannot read the API token file %s: %s; requests go on with the last token read",
                            path, kube_token_error_to_string(error));
        else
                log_info("the API token file %s is readable again", path);
}

static void kube_free(Source *source);
static int kube_desired(Source *source, bool full, SourceDesired *ret);
static void kube_need_bytes(Source *source, size_t index);
static void kube_after_sync(Source *source, const SyncResult *res);
static bool kube_ready(const Source *source, char **ret_reason);

static const SourceOps kube_source_ops = {
        .desired = kube_desired,
        .need_bytes = kube_need_bytes,
        .after_sync = kube_after_sync,
        .ready = kube_ready,
        .free = kube_free,
};

int kube_source_new(const KubeSourceOptions *o, KubeSource **ret)
{
        KubeSource *s = calloc(1, sizeof(KubeSource));
        int r;
        if (!s)
                return -ENOMEM;
        s->source.ops = &kube_source_ops;
        s->o = *o;
        r = kube_client_new(o->event, o->config, &s->client);
        if (r >= 0)
                kube_client_on_token(s->client, on_token, s);
        size_t per_ns = o->secrets ? 2 : 1;
        s->reflectors = r < 0 ? NULL : calloc(o->n_namespaces * per_ns + 1, sizeof(KubeReflector *));
        if (r >= 0 && !s->reflectors)
                r = -ENOMEM;
        for (size_t i = 0; r >= 0 && i < o->n_namespaces * per_ns; i++) {
                KubeReflectorOptions ro = {
                        .resource = i % per_ns == 0 ? "configmaps" : "secrets",
                        .namespace = o->namespaces[i / per_ns],
                        .selector = o->selector,
                        .time_scale = o->time_scale,
                        .callbacks = &callbacks,
                        .userdata = s,
                };
                r = kube_reflector_new(s->client, o->event, &ro, &s->reflectors[i]);
                if (r >= 0)
                        s->n_reflectors++;
        }
        if (r < 0) {
                kube_free(&s->source);
                return r;
        }
        *ret = s;
        return 0;
}

static void kube_free(Source *source)
{
        KubeSource *s = (KubeSource *) source;
        for (size_t i = 0; i < s->n_reflectors; i++)
                kube_reflector_free(s->reflectors[i]);
        free(s->reflectors);
        for (size_t i = 0; i < s->n_objects; i++)
                object_free(s->objects[i]);
        free(s->objects);
        free(s->set);
        free(s->entries);
        for (size_t i = 0; i < EVENTS_REMEMBERED; i++)
                free(s->events_sent[i]);
        kube_client_free(s->client);
        free(s);
}

int kube_source_start(KubeSource *s)
{
        for (size_t i = 0; i < s->n_reflectors; i++) {
                int r = kube_reflector_start(s->reflectors[i]);
                if (r < 0)
                        return r;
        }
        return 0;
}

KubeClient *kube_source_client(KubeSource *s)
{
        return s->client;
}

void kube_source_reflector_stats(const KubeSource *s, KubeReflectorStats *ret_sum, unsigned *ret_refused)
{
        KubeReflectorStats sum = {};
        unsigned refused = 0;
        for (size_t i = 0; i < s->n_reflectors; i++) {
                const KubeReflectorStats *x = kube_reflector_stats(s->reflectors[i]);
                sum.lists += x->lists;
                sum.relists += x->relists;
                sum.watches += x->watches;
                sum.watch_restarts += x->watch_restarts;
                sum.events += x->events;
                sum.bookmarks += x->bookmarks;
                sum.errors += x->errors;
                refused += kube_reflector_auth_error(s->reflectors[i]) != 0;
        }
        *ret_sum = sum;
        *ret_refused = refused;
}

static int compare_age(const void *a, const void *b)
{
        const KubeObject *x = *(KubeObject *const *) a, *y = *(KubeObject *const *) b;
        int c = strcmp(x->created, y->created); /* RFC 3339 UTC seconds: ordered as text */
        if (c == 0)
                c = strcmp(x->namespace, y->namespace);
        if (c == 0)
                c = strcmp(x->name, y->name);
        return c;
}

static int kube_desired(Source *source, bool full, SourceDesired *ret)
{
        KubeSource *s = (KubeSource *) source;
        _cleanup_free_ KubeObject **order = calloc(s->n_objects + 1, sizeof(KubeObject *));
        size_t n = 0;
        if (!order)
                return -ENOMEM;
        if (s->n_objects > 0) {
                memcpy(order, s->objects, s->n_objects * sizeof(KubeObject *));
                qsort(order, s->n_objects, sizeof(KubeObject *), compare_age);
        }
        for (size_t i = 0; i < s->n_objects; i++)
                n += order[i]->n;
        DesiredProfile *set = realloc(s->set, (n + 1) * sizeof(DesiredProfile));
        if (set)
                s->set = set;
        Entry *entries = realloc(s->entries, (n + 1) * sizeof(Entry));
        if (entries)
                s->entries = entries;
        if (!set || !entries)
                return -ENOMEM;
        n = 0;
        for (size_t i = 0; i < s->n_objects; i++)
                for (size_t k = 0; k < order[i]->n; k++) {
                        const KubeProfile *p = order[i]->profiles + k;
                        s->set[n] = (DesiredProfile){
                                .path = p->path,
                                .bytes = p->bytes,
                                .len = p->len,
                                .hash = p->hash,
                                .origin = p->origin,
                                .valid = p->valid,
                                .adopt = p->adopt,
                                /* Bytes dropped once on disk, and no look at everything asked for
                                 * (SIGHUP, drift): the engine may skip even the stat. */
                                .trusted = !p->bytes && !full,
                        };
                        s->entries[n++] = (Entry){.object = order[i], .profile = k};
                }
        s->n_set = n;
        bool complete = true;
        for (size_t i = 0; i < s->n_reflectors; i++)
                complete = complete && kube_reflector_synced(s->reflectors[i]);
        *ret = (SourceDesired){.set = s->set, .n = n, .complete = complete};
        return 0;
}

/* The file of entry index drifted while its bytes were dropped: list its object again, in full. */
static void kube_need_bytes(Source *source, size_t index)
{
        KubeSource *s = (KubeSource *) source;
        if (index >= s->n_set)
                return;
        KubeObject *o = s->entries[index].object;
        free(o->rv);
        o->rv = NULL; /* the relist must read it again, not skip it as unchanged */
        kube_reflector_relist(o->owner);
}

static bool event_remembered(KubeSource *s, const char *name)
{
        for (size_t i = 0; i < EVENTS_REMEMBERED; i++)
                if (s->events_sent[i] && strcmp(s->events_sent[i], name) == 0)
                        return true;
        return false;
}

static void on_event_posted(KubeRequest *req, int error, const KubeStatus *st, const char *body, size_t len,
                            void *userdata)
{
        char *name = userdata;
        /* 409: another node reported the same thing first, which is the point of the name. */
        if (error < 0 && error != -EEXIST)
                log_warning("cannot create Event %s: %s%s%s", name, strerror(-error),
                            st->message ? ": " : "", st->message ?: "");
        free(name);
}

/* logged: the message is already in the log (a warning, logged when the version was read). */
static void post_event(KubeSource *s, const KubeObject *o, const KubeProfile *p, const char *reason,
                       const char *message, bool logged)
{
        KubeObjectRef ref = {.kind = o->kind,
                             .namespace = o->namespace,
                             .name = o->name,
                             .uid = o->uid,
                             .api_version = "v1"};
        char name[KUBE_EVENT_NAME_MAX + 1];
        kube_event_name(&ref, p->key, reason, p->hash, name);
        if (event_remembered(s, name))
                return;
        /* Logged here, once per version, like the Event: every sync sees the same rejection again. */
        if (!logged)
                log_profile(LOG_WARNING, p->path, p->origin, "%s", message);
        free(s->events_sent[s->events_next]);
        s->events_sent[s->events_next] = strdup(name);
        s->events_next = (s->events_next + 1) % EVENTS_REMEMBERED;

        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        json_t *ev = kube_event_new(&ref, name, reason, message, s->o.node_name,
                                    (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000);
        char *body = ev ? json_dumps(ev, JSON_COMPACT) : NULL;
        _cleanup_free_ char *path = NULL;
        char *copy = strdup(name);
        json_decref(ev);
        if (body && copy && asprintf(&path, "/api/v1/namespaces/%s/events", o->namespace) >= 0) {
                KubeRequestOptions ro = {
                        .method = "POST",
                        .path = path,
                        .body = body,
                        .content_type = "application/json",
                        .max_body = 1024 * 1024,
                        .timeout_usec = (uint64_t) (60e6 * s->o.time_scale),
                        .on_done = on_event_posted,
                        .userdata = copy,
                        .destroy = free,
                };
                if (kube_request_start(s->client, &ro, NULL) >= 0)
                        copy = NULL;
        }
        free(copy);
        free(body);
}

static void kube_after_sync(Source *source, const SyncResult *res)
{
        KubeSource *s = (KubeSource *) source;
        for (size_t i = 0; i < res->n_events; i++) {
                const SyncEvent *e = res->events + i;
                if (e->index >= s->n_set)
                        continue;
                const Entry *en = s->entries + e->index;
                const KubeProfile *p = en->object->profiles + en->profile;
                char message[EVENT_PROBLEMS_MAX + 256];
                switch (e->action) {
                case SYNC_REJECTED:
                case SYNC_KEPT_LAST_GOOD:
                        (void) snprintf(
                                message, sizeof(message), "%s: %s%s%s", p->path,
                                e->action == SYNC_KEPT_LAST_GOOD
                                        ? "invalid update rejected, the last good profile stays on the "
                                          "node: "
                                        : "invalid profile not installed: ",
                                p->problems ?: "", "");
                        post_event(s, en->object, p, "ProfileRejected", message, false);
                        break;
                case SYNC_CONFLICT:
                        (void) snprintf(message, sizeof(message), "%s: conflict: %s; not installed", p->path,
                                        e->reason ?: "");
                        post_event(s, en->object, p, "ProfileConflict", message, false);
                        break;
                case SYNC_INSTALLED:
                case SYNC_UPDATED:
                case SYNC_ADOPTED:
                        /* On the node, but the runtime may not do what the author meant (a profile
                         * under which no container can start, a field containerd ignores): the admin,
                         * who cannot read this node's log, learns it on the object. */
                        if (!p->warnings)
                                break;
                        (void) snprintf(message, sizeof(message), "%s: installed with warnings: %s", p->path,
                                        p->warnings);
                        post_event(s, en->object, p, "ProfileWarning", message, true);
                        break;
                default:
                        break;
                }
        }
        /* What is on disk is known by its hash from now on; the bytes are not kept. Entries the engine
         * could not install keep them for the next attempt. */
        for (size_t i = 0; i < s->n_set; i++) {
                bool failed = false;
                for (size_t k = 0; k < res->n_events && !failed; k++)
                        failed = res->events[k].index == i && res->events[k].action == SYNC_FAILED;
                if (failed)
                        continue;
                KubeProfile *p = s->entries[i].object->profiles + s->entries[i].profile;
                free(p->bytes);
                p->bytes = NULL;
        }
}

static bool kube_ready(const Source *source, char **ret_reason)
{
        const KubeSource *s = (const KubeSource *) source;
        for (size_t i = 0; i < s->n_reflectors; i++) {
                const KubeReflector *r = s->reflectors[i];
                int auth = kube_reflector_auth_error(r);
                if (auth != 0 || !kube_reflector_synced(r)) {
                        if (ret_reason &&
                            asprintf(ret_reason, "%s in namespace %s: %s", kube_reflector_resource(r),
                                     kube_reflector_namespace(r),
                                     auth == -EACCES  ? "unauthorized (401): the token was refused"
                                     : auth == -EPERM ? "forbidden (403): RBAC does not allow list/watch"
                                                      : "not listed yet") < 0)
                                *ret_reason = NULL;
                        return false;
                }
        }
        return true;
}
