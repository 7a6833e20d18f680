/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "kube/report.h"
#include "shared/macro.h"

/* The name part of an Event name: 253 minus the dot and the 16 hex digits. */
#define EVENT_NAME_PREFIX_MAX (KUBE_EVENT_NAME_MAX - 1 - KUBE_EVENT_NAME_HASH_LEN)

/* k/k validates core/v1 Event messages only loosely, but events.k8s.io/v1 caps `note` at 1024
 * bytes and the legacy recorder aggregates by message: a bounded message keeps both happy. */
#define EVENT_MESSAGE_MAX 1024
#define ELLIPSIS          "\xe2\x80\xa6" /* U+2026 */
#define REPLACEMENT       "\xef\xbf\xbd" /* U+FFFD */

static bool is_lower_alnum(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static void hash_field(Sha256 *s, const char *field)
{
        uint64_t n = field ? strlen(field) : 0;
        uint8_t len[8];

        /* Length-prefixed, so ("ab", "c") and ("a", "bc") hash differently. */
        for (size_t i = 0; i < sizeof(len); i++)
                len[i] = (uint8_t) (n >> (8 * (sizeof(len) - 1 - i)));
        sha256_update(s, len, sizeof(len));
        if (n > 0)
                sha256_update(s, field, n);
}

/* Object names are DNS-1123 subdomains already, so for them this only lowercases (a no-op) and cuts.
 * Anything else (a caller bug) is mended rather than passed on, because a name the API server
 * rejects would lose the Event: other characters become '-', and every label is made to start and
 * end with [a-z0-9]. Returns the length written to ret (at most max, not NUL-terminated). */
static size_t name_prefix(const char *name, char *ret, size_t max)
{
        size_t n = 0;

        for (const char *p = name ? name : ""; *p && n < max; p++) {
                char c = *p;

                if (c >= 'A' && c <= 'Z')
                        c = (char) (c - 'A' + 'a');
                else if (!is_lower_alnum(c) && c != '.')
                        c = '-';

                if (c == '.') {
                        while (n > 0 && ret[n - 1] == '-')
                                n--;
                        if (n == 0 || ret[n - 1] == '.')
                                continue;
                } else if (c == '-' && (n == 0 || ret[n - 1] == '.'))
                        continue;

                ret[n++] = c;
        }

        /* The cut may have left a label ending in '-' or '.'. */
        while (n > 0 && !is_lower_alnum(ret[n - 1]))
                n--;
        return n;
}

void kube_event_name(const KubeObjectRef *obj, const char *key, const char *reason,
                     const uint8_t profile_hash[SHA256_DIGEST_SIZE], char ret[KUBE_EVENT_NAME_MAX + 1])
{
        uint8_t digest[SHA256_DIGEST_SIZE];
        char hex[2 * SHA256_DIGEST_SIZE + 1];
        Sha256 s;
        size_t n;

        sha256_init(&s);
        hash_field(&s, obj->uid);
        hash_field(&s, key);
        hash_field(&s, reason);
        sha256_update(&s, profile_hash, SHA256_DIGEST_SIZE);
        sha256_final(&s, digest);
        sha256_hex(digest, hex);

        n = name_prefix(obj->name, ret, EVENT_NAME_PREFIX_MAX);
        if (n > 0)
                ret[n++] = '.';
        memcpy(ret + n, hex, KUBE_EVENT_NAME_HASH_LEN);
        ret[n + KUBE_EVENT_NAME_HASH_LEN] = '\0';
}

/* Length of the well-formed UTF-8 sequence at s (RFC 3629 table 4: no overlong forms, no
 * surrogates, nothing past U+10FFFF; what jansson accepts), or 0 if the bytes there are not one. */
static size_t utf8_sequence_len(const uint8_t *s)
{
        uint8_t lo = 0x80, hi = 0xbf;
        size_t n;

        if (s[0] < 0x80)
                return 1;
        if (s[0] >= 0xc2 && s[0] <= 0xdf)
                n = 2;
        else if (s[0] >= 0xe0 && s[0] <= 0xef) {
                n = 3;
                if (s[0] == 0xe0)
                        lo = 0xa0;
                else if (s[0] == 0xed)
                        hi = 0x9f;
        } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
                n = 4;
                if (s[0] == 0xf0)
                        lo = 0x90;
                else if (s[0] == 0xf4)
                        hi = 0x8f;
        } else
                return 0;

        if (s[1] < lo || s[1] > hi)
                return 0;
        for (size_t i = 2; i < n; i++) /* s[i] is NUL at the latest, which fails the test */
                if (s[i] < 0x80 || s[i] > 0xbf)
                        return 0;
        return n;
}

/* The message as valid UTF-8 of at most EVENT_MESSAGE_MAX bytes. Bytes that are not UTF-8 become
 * U+FFFD (jansson refuses them, and the Event would be lost). A message that does not fit is cut
 * after the last whole character that leaves room for "…", and "…" is appended, so a reader sees it
 * was cut; the result is then between 1022 and 1024 bytes. */
static char *event_message(const char *message)
{
        const uint8_t *s = (const uint8_t *) (message ? message : "");
        size_t total = 0, limit, n = 0;
        char *ret;

        for (size_t i = 0; s[i] && total <= EVENT_MESSAGE_MAX;) {
                size_t len = utf8_sequence_len(s + i);

                total += len > 0 ? len : strlen(REPLACEMENT);
                i += len > 0 ? len : 1;
        }
        limit = total <= EVENT_MESSAGE_MAX ? EVENT_MESSAGE_MAX : EVENT_MESSAGE_MAX - strlen(ELLIPSIS);

        ret = malloc(EVENT_MESSAGE_MAX + 1);
        if (!ret)
                return NULL;

        for (size_t i = 0; s[i];) {
                size_t len = utf8_sequence_len(s + i);
                const void *bytes = len > 0 ? (const void *) (s + i) : REPLACEMENT;
                size_t out = len > 0 ? len : strlen(REPLACEMENT);

                if (n + out > limit)
                        break;
                memcpy(ret + n, bytes, out);
                n += out;
                i += len > 0 ? len : 1;
        }
        if (total > EVENT_MESSAGE_MAX) {
                memcpy(ret + n, ELLIPSIS, strlen(ELLIPSIS));
                n += strlen(ELLIPSIS);
        }
        ret[n] = '\0';
        return ret;
}

json_t *kube_event_new(const KubeObjectRef *obj, const char *name, const char *reason, const char *message,
                       const char *node, uint64_t now_realtime_usec)
{
        _cleanup_free_ char *msg = NULL;
        char now[32];

        if (!obj || !name || !reason)
                return NULL;

        msg = event_message(message);
        if (!msg)
                return NULL;
        kube_format_time(now_realtime_usec, now);

        /* "s*" leaves the member out when the value is NULL: no host/reportingInstance without a
         * node name, rather than a JSON null the API server would have to interpret. */
        /* One member per line, in the order of the format: clang-format would pack them by width. */
        /* clang-format off */
        return json_pack("{s:s, s:s, s:{s:s, s:s*}, s:{s:s*, s:s*, s:s*, s:s*, s:s*}, s:s, s:s, s:s,"
                         " s:{s:s, s:s*}, s:s, s:s*, s:s, s:s, s:i}",
                         "apiVersion", "v1",
                         "kind", "Event",
                         "metadata",
                                 "name", name,
                                 "namespace", obj->namespace,
                         "involvedObject",
                                 "kind", obj->kind,
                                 "namespace", obj->namespace,
                                 "name", obj->name,
                                 "uid", obj->uid,
                                 "apiVersion", obj->api_version,
                         "reason", reason,
                         "message", msg,
                         "type", "Warning",
                         "source",
                                 "component", "seccompd",
                                 "host", node,
                         "reportingComponent", "seccompd",
                         "reportingInstance", node,
                         "firstTimestamp", now,
                         "lastTimestamp", now,
                         "count", 1);
        /* clang-format on */
}

void kube_format_time(uint64_t realtime_usec, char ret[32])
{
        time_t t = (time_t) (realtime_usec / 1000000);
        struct tm tm;

        if (!gmtime_r(&t, &tm) || strftime(ret, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
                /* Past year 2^31: not a time this daemon will see; keep the output well formed. */
                (void) snprintf(ret, 32, "1970-01-01T00:00:00Z");
}

uint64_t kube_rate_limit_ready_at(const KubeRateLimit *l, unsigned burst, uint64_t interval_usec,
                                  uint64_t now_usec)
{
        /* Full while tat <= now; each token taken moves tat one interval on. A token is there while tat
         * is at most burst - 1 intervals ahead of now. */
        uint64_t tat = MAX(l->tat_usec, now_usec),
                 tolerance = (uint64_t) (burst > 0 ? burst - 1 : 0) * interval_usec;
        return tat - now_usec > tolerance ? tat - tolerance : now_usec;
}

bool kube_rate_limit_take(KubeRateLimit *l, unsigned burst, uint64_t interval_usec, uint64_t now_usec)
{
        if (burst == 0 || kube_rate_limit_ready_at(l, burst, interval_usec, now_usec) > now_usec)
                return false;
        l->tat_usec = MAX(l->tat_usec, now_usec) + interval_usec;
        return true;
}

uint64_t kube_event_retry_usec(unsigned failures, double random01)
{
        uint64_t d = KUBE_EVENT_RETRY_INIT_USEC;

        /* Stops at the cap: a few doublings, whatever failures is. */
        for (unsigned i = 1; i < failures && d < KUBE_EVENT_RETRY_MAX_USEC; i++)
                d *= 2;
        d = MIN(d, KUBE_EVENT_RETRY_MAX_USEC);
        if (!(random01 >= 0 && random01 < 1))
                random01 = 0;
        return d / 2 + (uint64_t) ((double) (d / 2) * random01);
}

bool kube_event_accepted(int error)
{
        return error >= 0 || error == -EEXIST;
}

/* spec.taints of a Node, or NULL in *ret when it has none. A node that is not shaped like one is
 * -EINVAL: a patch computed from it would guard the wrong values. */
static int node_taints(const json_t *node, const json_t **ret)
{
        const json_t *spec, *taints;

        if (!json_is_object(node))
                return -EINVAL;
        spec = json_object_get(node, "spec");
        if (!spec || json_is_null(spec)) {
                *ret = NULL;
                return 0;
        }
        if (!json_is_object(spec))
                return -EINVAL;
        taints = json_object_get(spec, "taints");
        if (!taints || json_is_null(taints)) {
                *ret = NULL;
                return 0;
        }
        if (!json_is_array(taints))
                return -EINVAL;

        for (size_t i = 0; i < json_array_size(taints); i++) {
                const json_t *t = json_array_get(taints, i);

                if (!json_is_object(t) || !json_is_string(json_object_get(t, "key")))
                        return -EINVAL;
        }
        *ret = taints;
        return 0;
}

static bool taint_has_key(const json_t *taint, const char *key)
{
        return strcmp(json_string_value(json_object_get(taint, "key")), key) == 0;
}

bool kube_node_has_taint(const json_t *node, const char *key)
{
        const json_t *taints;

        if (!key || node_taints(node, &taints) < 0 || !taints)
                return false;
        for (size_t i = 0; i < json_array_size(taints); i++)
                if (taint_has_key(json_array_get(taints, i), key))
                        return true;
        return false;
}

static int patch_append(json_t *patch, json_t *op)
{
        /* json_array_append_new() consumes op even when it fails. */
        if (!op || json_array_append_new(patch, op) < 0)
                return -ENOMEM;
        return 0;
}

int kube_taint_removal_patch(const json_t *node, const char *key, char **ret)
{
        json_auto_t *patch = NULL;
        const json_t *taints, *metadata, *rv = NULL;
        size_t removed = 0;
        char *s;
        int r;

        if (!key || !ret)
                return -EINVAL;

        r = node_taints(node, &taints);
        if (r < 0)
                return r;

        metadata = json_object_get(node, "metadata");
        if (metadata && !json_is_null(metadata)) {
                if (!json_is_object(metadata))
                        return -EINVAL;
                rv = json_object_get(metadata, "resourceVersion");
                if (rv && !json_is_string(rv))
                        return -EINVAL;
        }

        patch = json_array();
        if (!patch)
                return -ENOMEM;

        /* A resourceVersion test makes the whole patch fail (422) if anything changed the node since
         * the GET, not only the taints; the daemon then re-GETs and recomputes, as PatchNodeTaints
         * does on 409. */
        if (rv) {
                r = patch_append(patch, json_pack("{s:s, s:s, s:O}", "op", "test", "path",
                                                  "/metadata/resourceVersion", "value", rv));
                if (r < 0)
                        return r;
        }

        for (size_t i = json_array_size(taints); i-- > 0;) {
                const json_t *t = json_array_get(taints, i);
                char path[64];

                if (!taint_has_key(t, key))
                        continue;

                (void) snprintf(path, sizeof(path), "/spec/taints/%zu", i);
                /* "O" takes a reference rather than a copy: the patch is dumped and dropped before
                 * node can change. The cast only drops const for the refcount. */
                r = patch_append(patch, json_pack("{s:s, s:s, s:O}", "op", "test", "path", path, "value",
                                                  (json_t *) t));
                if (r < 0)
                        return r;
                r = patch_append(patch, json_pack("{s:s, s:s}", "op", "remove", "path", path));
                if (r < 0)
                        return r;
                removed++;
        }

        if (removed == 0) {
                *ret = NULL;
                return 0;
        }

        s = json_dumps(patch, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

/* The first condition of this type in status.conditions, or NULL. */
static int node_condition(const json_t *node, const char *type, const json_t **ret)
{
        const json_t *status, *conditions;

        if (!node)
                return -ENOENT;
        if (!json_is_object(node))
                return -EINVAL;
        status = json_object_get(node, "status");
        if (!status || json_is_null(status))
                return -ENOENT;
        if (!json_is_object(status))
                return -EINVAL;
        conditions = json_object_get(status, "conditions");
        if (!conditions || json_is_null(conditions))
                return -ENOENT;
        if (!json_is_array(conditions))
                return -EINVAL;

        for (size_t i = 0; i < json_array_size(conditions); i++) {
                const json_t *c = json_array_get(conditions, i);
                const char *t;

                if (!json_is_object(c))
                        return -EINVAL;
                t = json_string_value(json_object_get(c, "type"));
                if (t && strcmp(t, type) == 0) {
                        *ret = c;
                        return 0;
                }
        }
        return -ENOENT;
}

int kube_node_condition_status(const json_t *node, const char *type)
{
        const json_t *c;
        const char *status;
        int r;

        if (!type)
                return -EINVAL;
        r = node_condition(node, type, &c);
        if (r < 0)
                return r;

        status = json_string_value(json_object_get(c, "status"));
        if (!status)
                return -EINVAL;
        if (strcmp(status, "True") == 0)
                return 1;
        if (strcmp(status, "False") == 0)
                return 0;
        return -ENODATA; /* "Unknown", which the node controller writes for a silent kubelet */
}

int kube_condition_patch(const json_t *node, const char *type, bool status, const char *reason,
                         const char *message, uint64_t now_realtime_usec, char **ret)
{
        json_auto_t *patch = NULL;
        const char *transition = NULL;
        const json_t *c;
        char now[32];
        char *s;

        if (!type || !reason || !message || !ret)
                return -EINVAL;

        kube_format_time(now_realtime_usec, now);

        /* A node we cannot read is treated as one without the condition: the worst outcome is a
         * lastTransitionTime that moves once, which is better than not reporting at all. */
        if (kube_node_condition_status(node, type) == (int) status && node_condition(node, type, &c) >= 0)
                transition = json_string_value(json_object_get(c, "lastTransitionTime"));
        if (!transition)
                transition = now;

        patch = json_pack("{s:{s:[{s:s, s:s, s:s, s:s, s:s, s:s}]}}", "status", "conditions", "type", type,
                          "status", status ? "True" : "False", "reason", reason, "message", message,
                          "lastHeartbeatTime", now, "lastTransitionTime", transition);
        if (!patch)
                /* json_pack() fails on OOM and on strings that are not UTF-8; the caller passed
                 * the strings, so blame them rather than the allocator. */
                return -EINVAL;

        s = json_dumps(patch, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}
