/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* A ConfigMap or Secret → the profiles it carries. The one place that knows which objects count,
 * which fields are read for which kind and how each is encoded, the key and annotation rules, and
 * what a tenant namespace may do, so that an object means the same in a manifest of the directory
 * source (libyaml) and from the API server (jansson). Each reader fills an ObjectDescription from its
 * parser; the decoder returns the profiles and, for what it refuses, a message that names the
 * object, the field and the key. It never logs: the caller does.
 *
 * The rules, as Kubernetes stores the objects: a ConfigMap's data is text and binaryData base64; a
 * Secret's data is base64 and stringData text (the API server merges stringData into data on write,
 * so only manifests carry it). Base64 is Go's StdEncoding (lib/shared/base64.h). Each key is one
 * profile and must be a valid file name ending in ".json" (lib/sync/paths.h). The annotation
 * seccompd.io/directory puts the files under that directory ("" is none); seccompd.io/adopt: "true"
 * lets the object take over files seccompd did not write. A tenant namespace's files go under
 * <namespace>/<directory> and never adopt; an object of another namespace may not name a directory
 * whose first component is a tenant's. A key or value holding a NUL byte is refused: a C reader
 * would see less than the file the runtime reads. */

#include <stdbool.h>
#include <stddef.h>

#define LABEL_PROFILE        "seccompd.io/profile"
#define ANNOTATION_DIRECTORY "seccompd.io/directory"
#define ANNOTATION_ADOPT     "seccompd.io/adopt"
/* What the recorder agent (seccompd recorder) writes: a ConfigMap labeled seccompd.io/recording: NAME
 * and not seccompd.io/profile, so that no node installs it until someone labels it; annotated
 * complete "true" or "false", and why when "false": records lost (for ever), or syscalls of records
 * that could not be attributed and that the profile lacks. The recorded pods carry LABEL_RECORD. */
#define LABEL_RECORD                      "seccompd.io/record"
#define LABEL_RECORDING                   "seccompd.io/recording"
#define ANNOTATION_RECORDING_COMPLETE     "seccompd.io/recording-complete"
#define ANNOTATION_RECORDING_INCOMPLETE   "seccompd.io/recording-incomplete-reason"
#define ANNOTATION_RECORDING_LOST         "seccompd.io/recording-lost"
#define ANNOTATION_RECORDING_UNATTRIBUTED "seccompd.io/recording-unattributed"

typedef enum ObjectField {
        OBJECT_DATA,
        OBJECT_BINARY_DATA,
        OBJECT_STRING_DATA,
        _OBJECT_FIELD_MAX,
} ObjectField;

/* "data", "binaryData", "stringData": the field's name in the object. */
const char *object_field_to_string(ObjectField f);

/* A string of the object with its length: YAML scalars and JSON strings may hold NUL bytes. Both
 * parsers also end it with a NUL at value[len], which the decoder relies on. A manifest's reader also
 * says where it is: a person fixes a key or a profile in the file, not in the object. */
typedef struct ObjectText {
        const char *value; /* borrowed; NULL when absent or not a string */
        size_t len;
        unsigned line, column; /* in the manifest, 1-based; 0 when unknown (the API's objects) */
        /* When the bytes stand verbatim in the manifest (a literal block scalar "|", or a scalar on one
         * line without escapes): where the first is, each later line at the same column (bytes).
         * 0 when they do not, and the text's own positions cannot be mapped exactly. */
        unsigned verbatim_line, verbatim_column;
} ObjectText;

typedef struct ObjectEntry {
        ObjectText key;   /* value NULL: a key that is not a string (YAML allows them) */
        ObjectText value; /* meaningful only when is_string */
        bool is_string;
} ObjectEntry;

typedef struct ObjectMap {
        unsigned line, column; /* of the field's value in the manifest; 0 when unknown */
        bool present;          /* the object has the field */
        bool is_map;           /* and it is a mapping; when not, the field is refused */
        ObjectEntry *entries;  /* owned by the description; what they point to is borrowed */
        size_t n, allocated;
} ObjectMap;

/* What a reader found in one object, in the object's order. Zero-initialise, fill, then
 * object_description_clear(). */
typedef struct ObjectDescription {
        unsigned line, column; /* where the object starts in the manifest; 0 when unknown */
        const char *kind;      /* borrowed; NULL when absent */
        const char *namespace; /* borrowed; NULL when absent (a manifest may leave it to kubectl) */
        const char *name;      /* borrowed; NULL when absent */
        ObjectText label;      /* metadata.labels[seccompd.io/profile] */
        ObjectText directory;  /* metadata.annotations[seccompd.io/directory] */
        ObjectText adopt;      /* metadata.annotations[seccompd.io/adopt] */
        ObjectText recording;  /* metadata.labels[seccompd.io/recording]; manifests only */
        ObjectText recording_complete, recording_reason; /* its two annotations */
        ObjectMap fields[_OBJECT_FIELD_MAX];
} ObjectDescription;

/* Appends one entry to a field (the readers' helper). value is ignored unless is_string. */
int object_map_add(ObjectMap *m, ObjectText key, ObjectText value, bool is_string);
void object_description_clear(ObjectDescription *d);

typedef struct ObjectDecodeOptions {
        const char *where;    /* prefixes every text, e.g. the manifest "cm.yaml"; NULL: none */
        bool require_label;   /* only objects labeled seccompd.io/profile: "true" count (the
                               * directory source; the API path selected its objects already) */
        char *const *tenants; /* borrowed: the tenant namespaces */
        size_t n_tenants;
        bool read_recordings; /* with require_label: decode a recording's profiles too, for seccompd
                               * validate to check them as they would be installed once labeled */
} ObjectDecodeOptions;

/* Where a profile is in a manifest: its key, and where its bytes stand verbatim (0: they do not,
 * e.g. base64). All 0 for the API's objects. */
typedef struct ObjectPlace {
        unsigned line, column;
        unsigned verbatim_line, verbatim_column;
} ObjectPlace;

typedef struct ObjectProfile {
        char *key;
        ObjectField field;
        ObjectPlace place;
        char *path;   /* relative target, valid; under <namespace>/ for a tenant */
        char *origin; /* "[WHERE: ]Kind ns/name field[key]" */
        char *bytes;  /* decoded, NUL-terminated (not counted in len) */
        size_t len;
        bool adopt;
} ObjectProfile;

typedef struct ObjectRefusal {
        char *message;         /* "[WHERE: ]Kind ns/name: data[a.json]: not valid base64" */
        char *at;              /* what of the object is refused: "data[a.json]", "data",
                                * "metadata.annotations[seccompd.io/directory]" */
        unsigned line, column; /* of that in the manifest; 0 when unknown */
        char *path;            /* where the key would have gone, when that is known; else NULL */
        bool whole_object;     /* no profile of the object is used (its directory annotation) */
} ObjectRefusal;

typedef enum ObjectStatus {
        OBJECT_DECODED,     /* its profiles and refusals say the rest */
        OBJECT_EMPTY,       /* decoded, and not one key in the fields read for its kind */
        OBJECT_OTHER_KIND,  /* not a ConfigMap or Secret */
        OBJECT_UNLABELED,   /* require_label, and the label is missing */
        OBJECT_LABEL_VALUE, /* require_label, and the label is not exactly "true" */
        /* require_label, no label, and a ConfigMap labeled seccompd.io/recording: what the recorder
         * wrote, not installed until labeled (with read_recordings, its profiles are given too): */
        OBJECT_RECORDING,
        OBJECT_RECORDING_INCOMPLETE, /* the same, annotated seccompd.io/recording-complete: "false" */
} ObjectStatus;

typedef struct ObjectProfiles {
        ObjectStatus status;
        /* For every status but OBJECT_DECODED and _OTHER_KIND: "[WHERE: ]Kind ns/name: ...", which
         * says what would make seccompd install something from it. The daemon ignores such objects (a
         * manifest may hold anything); seccompd validate reports them. */
        char *ignored;
        bool looks_like_profiles; /* _UNLABELED, _LABEL_VALUE: a key of its fields ends in ".json" */
        ObjectProfile *profiles;  /* in the object's order: ConfigMap data, binaryData; Secret data,
                                   * stringData */
        size_t n;
        ObjectRefusal *refusals;
        size_t n_refusals;
        bool tenant; /* the object's namespace is a tenant's */
} ObjectProfiles;

/* Decodes one object. An object that does not count (another kind, not labeled when that is
 * required) gives no profile and no refusal, only its status. Returns 0, or -ENOMEM with *ret
 * untouched. */
int object_decode(const ObjectDescription *d, const ObjectDecodeOptions *o, ObjectProfiles *ret);
void object_profiles_clear(ObjectProfiles *p);
