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

/* The object a profile or a problem comes from; all NULL for a plain file. */
typedef struct SourceObject {
        char *kind, *namespace, *name; /* namespace, name: NULL when the manifest has none */
} SourceObject;

typedef struct SourceProfile {
        char *path; /* relative target, validated */
        char *bytes;
        size_t len;
        char *origin; /* "cm.yaml: ConfigMap default/audit data[audit.json]" */
        bool adopt;
        /* From a manifest: */
        SourceObject object;
        char *key;
        ObjectField field;
        ObjectPlace place; /* where the key and the bytes are in the file (object.h) */
} SourceProfile;

typedef enum SourceProblemKind {
        /* errors: */
        SOURCE_FILE_UNREADABLE,  /* a file could not be read, or a plain profile's name is refused */
        SOURCE_MANIFEST_REFUSED, /* a manifest that cannot be read whole: nothing of it is used */
        SOURCE_OBJECT_REFUSED,   /* a key, a field or a whole object the decoder refused */
        /* notes (lib/sync/object.h's ObjectStatus): */
        SOURCE_OBJECT_UNLABELED,            /* a ConfigMap or Secret without the label */
        SOURCE_OBJECT_LABEL_VALUE,          /* one whose label is not exactly "true" */
        SOURCE_OBJECT_EMPTY,                /* one labeled, with no key seccompd reads */
        SOURCE_OBJECT_RECORDING,            /* a recording the recorder agent wrote, not labeled yet */
        SOURCE_OBJECT_RECORDING_INCOMPLETE, /* one annotated seccompd.io/recording-complete: "false" */
} SourceProblemKind;

typedef struct SourceProblem {
        SourceProblemKind kind;
        char *message;            /* for the log, named: "cm.yaml: ConfigMap ns/x: data[a]: ...",
                                   * "cm.yaml:3:1: not valid YAML: ..." */
        const char *text;         /* in message: the same after the file's name and position */
        char *at;                 /* SOURCE_OBJECT_REFUSED: what of the object, "data[b.txt]"; else NULL */
        SourceObject object;      /* the SOURCE_OBJECT_* */
        unsigned line, column;    /* in the manifest, 1-based; 0 when unknown */
        bool looks_like_profiles; /* _UNLABELED, _LABEL_VALUE: a key ends in ".json" */
} SourceProblem;

typedef struct SourceSet {
        SourceProfile *items;
        size_t n;
        SourceProblem *errors; /* objects or keys that could not be read: named, for the log */
        size_t n_errors;
        /* Objects of manifests that give nothing: a manifest may hold anything, and the daemon
         * ignores them; seccompd validate says what would make seccompd read them. */
        SourceProblem *notes;
        size_t n_notes;
        /* In: also give the profiles of recordings (ConfigMaps labeled seccompd.io/recording and not
         * seccompd.io/profile), for seccompd validate to check; the daemon never sets it. */
        bool read_recordings;
        bool complete;   /* false when something could not be read: nothing may be deleted */
        bool unreadable; /* a file could not be read at all (not: read and refused, which is the
                            file's own problem): the source is not settled, the node not ready */
} SourceSet;

void source_set_clear(SourceSet *s);

/* Reads the profiles of one manifest file (multi-document YAML; a document of kind List, or ConfigMapList
 * and the like, stands for the objects of its items, as kubectl apply reads it: what kubectl get -o
 * yaml prints). Problems with single keys or objects are recorded in s->errors; a file that cannot
 * be read whole gives no profile at all (not even those of the objects before the problem), one error
 * that names the file and the position, and makes the set incomplete. The bounds hold for a List's
 * items as for documents: they are nodes of one document. */
int source_read_manifest(const char *display_name, const char *buf, size_t len, SourceSet *s);

/* A directory source: its top-level regular files and symlinks to files inside it (a mounted
 * ConfigMap volume is made of ..data symlinks), every link of the chain resolved beneath the
 * directory (lib/shared/beneath.h); a chain that leaves it is refused, and the set stays complete.
 * Names starting with '.' are ignored. NAME.json is a plain profile for <root>/NAME.json; *.yaml and
 * *.yml are manifests. The caller lists the directory (it may skip entries it has already read) and
 * reads each wanted entry into s. */
bool source_entry_wanted(const char *name);
int source_read_entry(int dfd, const char *display_dir, const char *name, SourceSet *s);
