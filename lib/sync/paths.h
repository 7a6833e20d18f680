/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Names seccompd will write under the kubelet's seccomp directory.
 *
 * A file name follows Kubernetes' ConfigMap key rules (1-253 characters of [-._a-zA-Z0-9], not "."
 * or "..") and must end in ".json". A directory component takes [A-Za-z0-9._-], is not "." or "..",
 * is at most NAME_MAX (255) characters long, and the path has no leading '/' or empty component.
 * Nothing may start with "..": that prefix is ours (state, lock and temporary files), and ConfigMap
 * keys cannot start with it either. */

#define STATE_PREFIX "..seccompd"

/* Returns NULL when valid, else why not (a constant string). */
const char *profile_file_name_invalid(const char *name);
const char *profile_directory_invalid(const char *dir);
/* What the engine writes: a whole relative target path (a valid directory, if any, then a valid
 * file name), and a directory it created. The directory may be longer than an annotation's, since a
 * tenant's is prefixed with its namespace. */
const char *profile_target_path_invalid(const char *path);
const char *profile_target_directory_invalid(const char *dir);

/* Joins a validated directory (may be NULL or "") and file name into a relative target path. */
int profile_target_path(const char *dir, const char *name, char **ret);
