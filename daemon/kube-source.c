/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <time.h>

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

#define EVENT_PROBLEMS_MAX 1024

/* What one object, one tenant namespace and the whole store may hold, so that memory is bounded by
 * design (issue 12, finding 4: 6 ConfigMaps of 60,000 empty keys, or 30 of 1 MiB, once pushed the
 * daemon past its 64 Mi limit). The API server bounds an object's values (1 MiB), not its keys; a
 * tenant is bounded in count and bytes so that it cannot crowd out the admins' profiles; the store's
 * count bounds the entries kept (hashes and names, about 300 bytes each). An object over a bound is
 * refused whole, and its last accepted version stays. */
#define OBJECT_PROFILES_MAX 256
#define TENANT_PROFILES_MAX 512
#define TENANT_BYTES_MAX    (8 * 1024 * 1024)
#define STORE_PROFILES_MAX  32768

/* What an Event says, and its reason. A profile's version may want one of each of the first three
 * (a valid profile in conflict first, installed with warnings once the winner goes); a refusal of
 * the decoder is about a key (ProfileRejected, like an invalid profile) or the whole object. */
typedef enum ReportKind {
        REPORT_REJECTED,
        REPORT_CONFLICT,
        REPORT_WARNING,
        _REPORT_PROFILE_MAX,
        REPORT_OBJECT = _REPORT_PROFILE_MAX,
        _REPORT_KIND_MAX,
} ReportKind;

static const char *const report_reasons[_REPORT_KIND_MAX] = {
        [REPORT_REJECTED] = "ProfileRejected",
        [REPORT_CONFLICT] = "ProfileConflict",
        [REPORT_WARNING] = "ProfileWarning",
        [REPORT_OBJECT] = "ObjectRejected",
};

/* One Event that a version of a profile, or a refusal of an object, wants on the server: wanted
 * (and logged) once per version, and remembered as posted only once the server has it. It lives
 * with what it is about and goes with it, so what is remembered is bounded by the store, not by a
 * ring (one of 512 names overflowed, and then every sync re-posted every Event). */
typedef struct Report {
        bool wanted;       /* a sync (or the decoder) found it; logged then */
        bool posted;       /* the server has it: 2xx, or 409 for the name another node posted */
        bool in_flight;    /* a POST of it is under way */
        char *message;     /* the Event's message, kept while wanted and not posted */
        unsigned failures; /* POSTs of it that failed in a row */
        uint64_t retry_at; /* CLOCK_MONOTONIC usec: not tried again before */
} Report;

typedef struct KubeProfile {
        char *key, *path, *origin;
        uint8_t hash[SHA256_DIGEST_SIZE];
        bool valid, adopt;
        char *bytes; /* until a sync has put them on disk */
        size_t len;
        char *problems; /* why it is invalid, for the Event; NULL when valid */
        char *warnings; /* what the runtime will make of it, for the Event; NULL without warnings */
        Report reports[_REPORT_PROFILE_MAX];
} KubeProfile;

/* What the decoder refused in an object, known by the hash of its message. */
typedef struct KubeRefusal {
        char *message; /* as logged and posted: names the object, the field and the key */
        char *path;    /* where the key would have gone, when known */
        bool whole_object;
        uint8_t hash[SHA256_DIGEST_SIZE];
        Report report;
} KubeRefusal;

typedef struct KubeObject {
        char *uid, *namespace, *name, *created, *rv;
        const char *kind;      /* "ConfigMap" or "Secret" */
        KubeReflector *owner;  /* borrowed */
        bool seen;             /* during a list */
        KubeProfile *profiles; /* a conflict on the whole object leaves none */
        size_t n;
        size_t bytes; /* the profiles' length, for the tenant's bound */
        KubeRefusal *refusals;
        size_t n_refusals;
        KubeRateLimit events; /* Events about this object (client-go's spam filter), kept across versions */
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
        size_t n_profiles;   /* over all objects, for STORE_PROFILES_MAX */
        DesiredProfile *set; /* the last desired set, and where each entry came from */
        Entry *entries;
        size_t n_set;

        /* Event POSTs: the store says what is wanted; these pace it. */
        KubeRateLimit events;      /* all Events */
        unsigned events_in_flight; /* at most KUBE_EVENTS_IN_FLIGHT_MAX */
        sd_event_source *events_defer, *events_timer;
        bool events_failing; /* the last POST failed: said once, and once when it works again */
};

static void report_clear(Report *r)
{
        free(r->message);
        *r = (Report){};
}

/* The same version again (an object's new resourceVersion that left it as it was): what became of
 * its Events carries over, a POST in flight included. */
static int report_copy(Report *to, const Report *from)
{
        *to = *from;
        to->message = NULL;
        if (from->message && !(to->message = strdup(from->message)))
                return -ENOMEM;
        return 0;
}

static void profile_clear(KubeProfile *p)
{
        free(p->key);
        free(p->path);
        free(p->origin);
        free(p->bytes);
        free(p->problems);
        free(p->warnings);
        for (size_t i = 0; i < _REPORT_PROFILE_MAX; i++)
                report_clear(p->reports + i);
}

static void refusal_clear(KubeRefusal *x)
{
        free(x->message);
        free(x->path);
        report_clear(&x->report);
}

static void object_free(KubeObject *o)
{
        if (!o)
                return;
        for (size_t i = 0; i < o->n; i++)
                profile_clear(o->profiles + i);
        free(o->profiles);
        for (size_t i = 0; i < o->n_refusals; i++)
                refusal_clear(o->refusals + i);
        free(o->refusals);
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
        /* The same bytes at the same path as before: the verdict stands, nothing is logged or posted
         * again. */
        for (size_t i = 0; i < n_old; i++)
                if (strcmp(old[i].path, p.path) == 0 && memcmp(old[i].hash, p.hash, sizeof(p.hash)) == 0) {
                        p.valid = old[i].valid;
                        r = 0;
                        for (size_t k = 0; k < _REPORT_PROFILE_MAX && r >= 0; k++)
                                r = report_copy(p.reports + k, old[i].reports + k);
                        if (r < 0 || (old[i].problems && !(p.problems = strdup(old[i].problems))) ||
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

/* What the decoder refused, each an Event on the object (the admin cannot read this node's log) and
 * a log line, both once: a refusal the object's last version had already carries over. */
/* One refusal of an object, message as it is logged and posted: reported once per version (known by
 * the message's hash, so an unrelated edit of the object reports nothing again). */
static int refusal_add(KubeObject *o, const KubeObject *old, char *message, const char *path,
                       bool whole_object)
{
        KubeRefusal *k = o->refusals + o->n_refusals++;
        k->message = message;
        if (path && !(k->path = strdup(path)))
                return -ENOMEM;
        k->whole_object = whole_object;
        Sha256 h;
        sha256_init(&h);
        sha256_update(&h, k->message, strlen(k->message));
        sha256_final(&h, k->hash);

        const KubeRefusal *before = NULL;
        for (size_t j = 0; old && j < old->n_refusals && !before; j++)
                if (memcmp(old->refusals[j].hash, k->hash, sizeof(k->hash)) == 0)
                        before = old->refusals + j;
        if (before)
                return report_copy(&k->report, &before->report) < 0 ? -ENOMEM : 0;
        log_profile(LOG_ERR, k->path, NULL, "%s", k->message);
        if (!(k->report.message = strdup(k->message)))
                return -ENOMEM;
        k->report.wanted = true;
        return 0;
}

static int object_read_refusals(KubeObject *o, const KubeObject *old, const ObjectProfiles *decoded)
{
        o->refusals = calloc(MAX(decoded->n_refusals, (size_t) 1), sizeof(KubeRefusal));
        if (!o->refusals)
                return -ENOMEM;
        for (size_t i = 0; i < decoded->n_refusals; i++) {
                const ObjectRefusal *x = decoded->refusals + i;
                char *message = NULL;
                if (asprintf(&message, "%s; %s", x->message,
                             x->whole_object ? "no profile of it is used" : "not used") < 0)
                        return -ENOMEM;
                int r = refusal_add(o, old, message, x->path, x->whole_object);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Why an object with n profiles of these bytes may not be held, or NULL; old is the version it
 * replaces. */
static const char *over_bound(const KubeSource *s, const KubeObject *o, const KubeObject *old, size_t n,
                              size_t bytes, bool tenant, char *buf, size_t size)
{
        if (n > OBJECT_PROFILES_MAX) {
                (void) snprintf(buf, size, "it has %zu keys; at most %d profiles are read from one object",
                                n, OBJECT_PROFILES_MAX);
                return buf;
        }
        if (s->n_profiles - (old ? old->n : 0) + n > STORE_PROFILES_MAX) {
                (void) snprintf(buf, size, "seccompd holds at most %d profiles in all", STORE_PROFILES_MAX);
                return buf;
        }
        if (!tenant)
                return NULL;
        size_t in_ns = n, ns_bytes = bytes;
        for (size_t i = 0; i < s->n_objects; i++)
                if (s->objects[i] != old && strcmp(s->objects[i]->namespace, o->namespace) == 0) {
                        in_ns += s->objects[i]->n;
                        ns_bytes += s->objects[i]->bytes;
                }
        if (in_ns > TENANT_PROFILES_MAX || ns_bytes > TENANT_BYTES_MAX) {
                (void) snprintf(
                        buf, size,
                        "tenant namespace %s would hold %zu profiles of %zu bytes; a tenant holds at "
                        "most %d profiles and %d MiB",
                        o->namespace, in_ns, ns_bytes, TENANT_PROFILES_MAX, TENANT_BYTES_MAX >> 20);
                return buf;
        }
        return NULL;
}

/* Over a bound: the object is refused whole and reported like a refusal of the decoder
 * (ObjectRejected); the profiles of its last accepted version stay, under this version, so that a
 * relist does not read it again and nothing installed is lost. */
static int object_refuse(KubeObject *o, KubeObject *old, const char *why)
{
        char *message = NULL;
        if (asprintf(&message, "%s %s/%s: refused: %s; %s", o->kind, o->namespace, o->name, why,
                     old && old->n ? "its last accepted version stays" : "none of it is used") < 0)
                return -ENOMEM;
        o->refusals = calloc(1, sizeof(KubeRefusal));
        if (!o->refusals) {
                free(message);
                return -ENOMEM;
        }
        int r = refusal_add(o, old, message, NULL, true);
        if (r < 0)
                return r;
        if (old) {
                o->profiles = TAKE_PTR(old->profiles);
                o->n = old->n;
                o->bytes = old->bytes;
                old->n = 0;
        }
        return 0;
}

/* The object's keys, decoded by the rules both sources share (lib/sync/object.h); what it refuses is
 * logged and reported here, once per version; an object over a bound is refused whole. */
static int object_read_profiles(KubeSource *s, KubeObject *o, KubeObject *old, json_t *obj)
{
        _cleanup_(object_description_clear) ObjectDescription d = {};
        _cleanup_(object_profiles_clear) ObjectProfiles decoded = {};
        const ObjectDecodeOptions options = {.tenants = s->o.tenants, .n_tenants = s->o.n_tenants};
        char why[512];
        int r = object_description_from_json(obj, o->kind, &d);
        if (r < 0)
                return r;
        /* Counted before decoding: 60,000 keys would be 60,000 paths and origins first. */
        size_t keys = 0;
        for (size_t f = 0; f < _OBJECT_FIELD_MAX; f++)
                keys += d.fields[f].n;
        if (keys > OBJECT_PROFILES_MAX && over_bound(s, o, old, keys, 0, false, why, sizeof(why)))
                return object_refuse(o, old, why);
        r = object_decode(&d, &options, &decoded);
        if (r < 0)
                return r;
        size_t bytes = 0;
        for (size_t i = 0; i < decoded.n; i++)
                bytes += decoded.profiles[i].len;
        if (over_bound(s, o, old, decoded.n, bytes, decoded.tenant, why, sizeof(why)))
                return object_refuse(o, old, why);
        r = object_read_refusals(o, old, &decoded);
        if (r < 0)
                return r;
        o->bytes = bytes;
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
        if (old)
                o->events = old->events; /* the budget is the object's, not its version's */

        size_t replaced = old ? old->n : 0; /* before: a refused version takes the old profiles over */
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
        s->n_profiles = s->n_profiles - replaced + o->n;
        return;
oom:
        object_free(o);
        log_error("out of memory reading %s/%s; listing again", ns, name);
        if (old)
                old->rv = (free(old->rv), NULL); /* make the relist read it again */
}

static void object_remove_at(KubeSource *s, size_t at)
{
        s->n_profiles -= s->objects[at]->n;
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
        s->events_defer = sd_event_source_disable_unref(s->events_defer);
        s->events_timer = sd_event_source_disable_unref(s->events_timer);
        kube_client_free(s->client); /* POSTs in flight are dropped: their Postings freed, not called */
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
        *ret = (SourceDesired){.set = s->set, .n = n, .complete = complete, .settled = complete};
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

static uint64_t now_usec(clockid_t clock)
{
        struct timespec ts;
        clock_gettime(clock, &ts);
        return (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000;
}

static uint64_t scaled(const KubeSource *s, uint64_t usec)
{
        return (uint64_t) ((double) usec * s->o.time_scale);
}

static double random01(void)
{
        return (double) random() / ((double) RAND_MAX + 1.0);
}

static void metric_add(KubeSource *s, const char *name, const char *labels)
{
        if (s->o.metrics)
                (void) metrics_add(s->o.metrics, name, labels, 1);
}

static void metric_set(KubeSource *s, const char *name, double v)
{
        if (s->o.metrics)
                (void) metrics_set(s->o.metrics, name, NULL, v);
}

/* One POST in flight: what it is about, found again in the store when it ends (the object may have
 * changed or gone meanwhile). */
typedef struct Posting {
        KubeSource *source; /* borrowed */
        char *uid, *key;    /* key NULL: a refusal of the object, known by its hash */
        ReportKind kind;
        uint8_t hash[SHA256_DIGEST_SIZE];
        char *name, *namespace;
} Posting;

static void posting_free(void *userdata)
{
        Posting *p = userdata;
        if (!p)
                return;
        free(p->uid);
        free(p->key);
        free(p->name);
        free(p->namespace);
        free(p);
}

static Report *report_find(KubeSource *s, const Posting *p)
{
        bool found;
        size_t at = object_position(s, p->uid, &found);
        if (!found)
                return NULL;
        KubeObject *o = s->objects[at];
        if (!p->key) {
                for (size_t i = 0; i < o->n_refusals; i++)
                        if (memcmp(o->refusals[i].hash, p->hash, sizeof(p->hash)) == 0)
                                return &o->refusals[i].report;
                return NULL;
        }
        for (size_t i = 0; i < o->n; i++)
                if (strcmp(o->profiles[i].key, p->key) == 0 &&
                    memcmp(o->profiles[i].hash, p->hash, sizeof(p->hash)) == 0)
                        return o->profiles[i].reports + p->kind;
        return NULL;
}

static void events_dispatch(KubeSource *s);

static int on_events_defer(sd_event_source *es, void *userdata)
{
        KubeSource *s = userdata;
        s->events_defer = sd_event_source_disable_unref(s->events_defer);
        events_dispatch(s);
        return 0;
}

static int on_events_timer(sd_event_source *es, uint64_t usec, void *userdata)
{
        KubeSource *s = userdata;
        s->events_timer = sd_event_source_disable_unref(s->events_timer);
        events_dispatch(s);
        return 0;
}

/* Look at what is wanted on the next loop turn: after a sync, after a POST ended. */
static void events_kick(KubeSource *s)
{
        if (!s->events_defer)
                (void) sd_event_add_defer(s->o.event, &s->events_defer, on_events_defer, s);
}

static void on_event_posted(KubeRequest *req, int error, const KubeStatus *st, const char *body, size_t len,
                            void *userdata)
{
        Posting *p = userdata;
        KubeSource *s = p->source;
        Report *r = report_find(s, p);
        /* 409: another node reported the same thing first, which is the point of the name. */
        bool accepted = kube_event_accepted(error);

        s->events_in_flight--;
        metric_add(s, "seccompd_kube_event_posts_total",
                   error >= 0 ? "result=\"created\""
                   : accepted ? "result=\"exists\""
                              : "result=\"failed\"");
        if (r) {
                r->in_flight = false;
                if (accepted) {
                        r->posted = true;
                        r->failures = 0;
                        free(r->message);
                        r->message = NULL;
                } else {
                        r->failures++;
                        uint64_t wait = kube_event_retry_usec(r->failures, random01());
                        if (st && st->retry_after > 0) /* 429, 503: the server says when */
                                wait = MAX(wait, (uint64_t) st->retry_after * 1000000ULL);
                        r->retry_at = now_usec(CLOCK_MONOTONIC) + scaled(s, wait);
                }
        }
        /* Said when it starts and when it ends, not per Event: an outage fails them all. */
        if (!accepted && !s->events_failing)
                log_warning("cannot create Event %s in namespace %s: %s%s%s; it is retried, like any other "
                            "that fails, until the server has it",
                            p->name, p->namespace, strerror(-error), st && st->message ? ": " : "",
                            st && st->message ? st->message : "");
        else if (accepted && s->events_failing)
                log_info("creating Events works again");
        s->events_failing = !accepted;
        posting_free(p);
        events_kick(s);
}

static int event_post(KubeSource *s, const KubeObject *o, ReportKind kind, const char *key,
                      const uint8_t hash[SHA256_DIGEST_SIZE], const char *message)
{
        KubeObjectRef ref = {.kind = o->kind,
                             .namespace = o->namespace,
                             .name = o->name,
                             .uid = o->uid,
                             .api_version = "v1"};
        char name[KUBE_EVENT_NAME_MAX + 1];
        kube_event_name(&ref, key, report_reasons[kind], hash, name);

        json_t *ev = kube_event_new(&ref, name, report_reasons[kind], message, s->o.node_name,
                                    now_usec(CLOCK_REALTIME));
        _cleanup_free_ char *body = ev ? json_dumps(ev, JSON_COMPACT) : NULL, *path = NULL;
        json_decref(ev);
        Posting *p = calloc(1, sizeof(Posting));
        if (!body || !p || asprintf(&path, "/api/v1/namespaces/%s/events", o->namespace) < 0) {
                posting_free(p);
                return -ENOMEM;
        }
        *p = (Posting){.source = s, .kind = kind};
        memcpy(p->hash, hash, sizeof(p->hash));
        if (!(p->uid = strdup(o->uid)) || (key && !(p->key = strdup(key))) || !(p->name = strdup(name)) ||
            !(p->namespace = strdup(o->namespace))) {
                posting_free(p);
                return -ENOMEM;
        }
        KubeRequestOptions ro = {
                .method = "POST",
                .path = path,
                .body = body,
                .content_type = "application/json",
                .max_body = 1024 * 1024,
                .timeout_usec = scaled(s, 60 * 1000000ULL),
                .on_done = on_event_posted,
                .userdata = p,
                .destroy = posting_free,
        };
        int r = kube_request_start(s->client, &ro, NULL);
        if (r < 0) /* not started: p is still ours */
                posting_free(p);
        return r;
}

/* One wanted Event: posted now if the in-flight bound and both budgets allow, else it waits, and
 * *wake moves to when it may go (a full in-flight bound is lifted by a POST ending, not a time). */
static void event_consider(KubeSource *s, KubeObject *o, Report *r, ReportKind kind, const char *key,
                           const uint8_t hash[SHA256_DIGEST_SIZE], uint64_t now, uint64_t *wake,
                           size_t *waiting)
{
        const uint64_t every = scaled(s, KUBE_EVENTS_INTERVAL_USEC),
                       object_every = scaled(s, KUBE_EVENTS_OBJECT_INTERVAL_USEC);

        if (!r->wanted || r->posted || r->in_flight)
                return;
        if (s->events_in_flight >= KUBE_EVENTS_IN_FLIGHT_MAX) {
                (*waiting)++;
                return;
        }
        uint64_t at = r->retry_at;
        at = MAX(at, kube_rate_limit_ready_at(&s->events, KUBE_EVENTS_BURST, every, now));
        at = MAX(at, kube_rate_limit_ready_at(&o->events, KUBE_EVENTS_OBJECT_BURST, object_every, now));
        if (at > now) {
                *wake = MIN(*wake, at);
                (*waiting)++;
                return;
        }
        (void) kube_rate_limit_take(&s->events, KUBE_EVENTS_BURST, every, now);
        (void) kube_rate_limit_take(&o->events, KUBE_EVENTS_OBJECT_BURST, object_every, now);
        if (event_post(s, o, kind, key, hash, r->message) < 0) {
                /* Out of memory, or curl refused the handle: tried again like a failed POST. */
                metric_add(s, "seccompd_kube_event_posts_total", "result=\"failed\"");
                r->failures++;
                r->retry_at = now + scaled(s, kube_event_retry_usec(r->failures, random01()));
                *wake = MIN(*wake, r->retry_at);
                (*waiting)++;
                return;
        }
        r->in_flight = true;
        s->events_in_flight++;
}

/* Posts what the store wants on the server as far as the bounds allow, and arms a timer for what
 * waits on a budget or a backoff. One pass over the store: it runs after a sync (itself a pass) and
 * when a POST ends, which the rate limits keep rare. */
static void events_dispatch(KubeSource *s)
{
        uint64_t now = now_usec(CLOCK_MONOTONIC), wake = UINT64_MAX;
        size_t waiting = 0;

        for (size_t i = 0; i < s->n_objects; i++) {
                KubeObject *o = s->objects[i];
                for (size_t k = 0; k < o->n_refusals; k++) {
                        KubeRefusal *x = o->refusals + k;
                        event_consider(s, o, &x->report, x->whole_object ? REPORT_OBJECT : REPORT_REJECTED,
                                       NULL, x->hash, now, &wake, &waiting);
                }
                for (size_t k = 0; k < o->n; k++) {
                        KubeProfile *p = o->profiles + k;
                        for (size_t kind = 0; kind < _REPORT_PROFILE_MAX; kind++)
                                event_consider(s, o, p->reports + kind, (ReportKind) kind, p->key, p->hash,
                                               now, &wake, &waiting);
                }
        }
        metric_set(s, "seccompd_kube_events_waiting", (double) waiting);
        metric_set(s, "seccompd_kube_events_in_flight", s->events_in_flight);

        s->events_timer = sd_event_source_disable_unref(s->events_timer);
        if (wake != UINT64_MAX)
                (void) sd_event_add_time(s->o.event, &s->events_timer, CLOCK_MONOTONIC, wake, 1000,
                                         on_events_timer, s);
}

/* A version wants this Event: logged now, posted when the bounds allow, once. logged: the message is
 * in the log already (a warning, logged when the version was read). */
static void report_want(KubeSource *s, Report *r, const KubeProfile *p, const char *message, bool logged)
{
        if (r->wanted)
                return;
        /* Logged here, once per version, like the Event: every sync sees the same rejection again. */
        if (!logged)
                log_profile(LOG_WARNING, p->path, p->origin, "%s", message);
        r->message = strdup(message);
        if (!r->message) {
                /* Counted, not silently lost: a rejection or a conflict is reported again by the next
                 * sync; a warning only with the next version. */
                metric_add(s, "seccompd_kube_events_dropped_total", NULL);
                return;
        }
        r->wanted = true;
}

static void kube_after_sync(Source *source, const SyncResult *res)
{
        KubeSource *s = (KubeSource *) source;
        for (size_t i = 0; i < res->n_events; i++) {
                const SyncEvent *e = res->events + i;
                if (e->index >= s->n_set)
                        continue;
                const Entry *en = s->entries + e->index;
                KubeProfile *p = en->object->profiles + en->profile;
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
                        report_want(s, p->reports + REPORT_REJECTED, p, message, false);
                        break;
                case SYNC_CONFLICT:
                        (void) snprintf(message, sizeof(message), "%s: conflict: %s; not installed", p->path,
                                        e->reason ?: "");
                        report_want(s, p->reports + REPORT_CONFLICT, p, message, false);
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
                        report_want(s, p->reports + REPORT_WARNING, p, message, true);
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
        size_t refusals = 0;
        for (size_t i = 0; i < s->n_objects; i++)
                refusals += s->objects[i]->n_refusals;
        metric_set(s, "seccompd_kube_refusals", (double) refusals);
        events_kick(s);
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
