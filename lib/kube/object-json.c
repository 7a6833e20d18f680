/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>

#include "kube/object-json.h"
#include "shared/macro.h"

/* With JSON_ALLOW_NUL (the reflector's) a string may hold "\u0000": its length, not strlen. */
static ObjectText text_of(json_t *j)
{
        return json_is_string(j) ? (ObjectText){json_string_value(j), json_string_length(j)}
                                 : (ObjectText){};
}

static ObjectText key_of(const char *key)
{
#if JANSSON_VERSION_HEX >= 0x020e00
        /* 2.14 can hold a key with a NUL (json_object_setn); the parser never makes one. */
        return (ObjectText){key, json_object_iter_key_len(json_object_key_to_iter(key))};
#else
        return (ObjectText){key, strlen(key)};
#endif
}

int object_description_from_json(json_t *obj, const char *kind, ObjectDescription *ret)
{
        json_t *meta = json_object_get(obj, "metadata");
        json_t *annotations = json_object_get(meta, "annotations");
        _cleanup_(object_description_clear) ObjectDescription d = {
                .kind = kind ?: json_string_value(json_object_get(obj, "kind")),
                .namespace = json_string_value(json_object_get(meta, "namespace")),
                .name = json_string_value(json_object_get(meta, "name")),
                .label = text_of(json_object_get(json_object_get(meta, "labels"), LABEL_PROFILE)),
                .directory = text_of(json_object_get(annotations, ANNOTATION_DIRECTORY)),
                .adopt = text_of(json_object_get(annotations, ANNOTATION_ADOPT)),
        };

        for (ObjectField f = 0; f < _OBJECT_FIELD_MAX; f++) {
                json_t *field = json_object_get(obj, object_field_to_string(f)), *value;
                const char *key;
                if (!field)
                        continue;
                d.fields[f].present = true;
                if (!json_is_object(field))
                        continue;
                d.fields[f].is_map = true;
                json_object_foreach(field, key, value)
                {
                        int r = object_map_add(d.fields + f, key_of(key), text_of(value),
                                               json_is_string(value));
                        if (r < 0)
                                return r;
                }
        }
        *ret = d;
        d = (ObjectDescription){};
        return 0;
}
