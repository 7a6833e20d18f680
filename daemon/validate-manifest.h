/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* seccompd validate on a Kubernetes manifest: every profile key of its labeled ConfigMaps and Secrets
 * (and of the items of a List), exactly as the daemon would read them, and what it would not read and
 * why. Positions are the manifest's: a profile's own line:column is mapped into the file where its
 * bytes stand there verbatim, else the key's position is given. */

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "cache.h"
#include "validate.h"

typedef struct ValidateRun {
        const ValidateOptions *options;
        VerdictCache *cache;
        bool strict;
        json_t *files;    /* --json: the document's "files" (borrowed); NULL: lines on stdout */
        bool any_invalid; /* set when a file or a profile is invalid */
} ValidateRun;

/* Checks one manifest's bytes, reports as file; returns 0 or a negative errno (nothing printed). */
int validate_manifest(ValidateRun *run, const char *file, const char *buf, size_t len);

/* Standard input has no name to tell a manifest by: a profile is a JSON object, a manifest is YAML
 * (kubectl kustomize, kubectl create --dry-run=client -o yaml) or a Kubernetes object in JSON
 * (kubectl get -o json), which names its apiVersion and kind. */
bool validate_text_is_manifest(const char *buf, size_t len);

/* verb-validate.c's output for one profile: its diagnostics as LINES_FILE:LINE:COL lines (LINES_FILE
 * NULL: file), then a summary line "FILE: valid ...". */
void print_human(const char *file, const Verdict *v, const ValidateOptions *o, bool strict,
                 const char *lines_file);
json_t *verdict_to_json(const char *file, const Verdict *v, bool strict);
