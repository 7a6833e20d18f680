/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <jansson.h>

#include "object.h"

/* Describes a ConfigMap or Secret as the API server sends it, for object_decode(). kind: the
 * object's kind when the caller knows it (the items of a list carry none); NULL reads "kind".
 * Everything is borrowed from obj: *ret is valid while obj is. */
int object_description_from_json(json_t *obj, const char *kind, ObjectDescription *ret);
