/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Profiles as the directory source holds them, before validation: plain profile files and
 * Kubernetes manifests (ConfigMaps and Secrets labeled seccompd.io/profile: "true"). A manifest's
 * objects are decoded by lib/sync/object.h, the decoder the API path uses too: the same rules for
 * keys, fields, encodings and annotations everywhere. */

#include <stdbool.h>
#include <stddef.h>

#include "object.h"

/* Manifests are read whole; a ConfigMap's data is limited to 1 MiB, so a file of many is bounded too. */
#define MANIFEST_MAX_SIZE (8 * 1024 * 1024)
/* Collections open at once in a manifest, as the JSON reader's bound (lib/profile/json.h): a
 * ConfigMap's profile is 2 levels deep. Aliases are refused: a Kubernetes object never needs one. */
#define MANIFEST_MAX_DEPTH 64

typedef struct SourceProfile {
        char *path; /* relative target, validated */
        char *bytes;
        size_t len;
        char *origin; /* "cm.yaml: ConfigMap default/audit data[audit.json]" */
        bool adopt;
} SourceProfile;

typedef struct SourceSet {
        SourceProfile *items;
        size_t n;
        char **errors; /* objects or keys that could not be read: named, for the log */
        size_t n_errors;
        bool complete;   /* false when something could not be read: nothing may be deleted */
        bool unreadable; /* a file could not be read at all (not: read and refused, which is the
                            file's own problem): the source is not settled, the node not ready */
} SourceSet;

void source_set_clear(SourceSet *s);

/* Reads the profiles of one manifest file (multi-document YAML). Problems with single keys or objects
 * are recorded in s->errors; a file that cannot be read whole gives no profile at all (not even those
 * of the objects before the problem), one error that names the file and the position, and makes the
 * set incomplete. */
int source_read_manifest(const char *display_name, const char *buf, size_t len, SourceSet *s);

/* A directory source: its top-level regular files and symlinks to files inside it (a mounted
 * ConfigMap volume is made of ..data symlinks), every link of the chain resolved beneath the
 * directory (lib/shared/beneath.h); a chain that leaves it is refused, and the set stays complete.
 * Names starting with '.' are ignored. NAME.json is a plain profile for <root>/NAME.json; *.yaml and
 * *.yml are manifests. The caller lists the directory (it may skip entries it has already read) and
 * reads each wanted entry into s. */
bool source_entry_wanted(const char *name);
int source_read_entry(int dfd, const char *display_dir, const char *name, SourceSet *s);
