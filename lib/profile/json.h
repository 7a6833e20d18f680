/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* A JSON reader for untrusted profile bytes.
 *
 * Why not jansson: measured on jansson 2.14, it rejects integers >= 2^63 (argument values such as
 * AT_FDCWD are written that way), collapses duplicate keys without a trace, and has no line:column for
 * values. Runtimes read profiles with Go encoding/json, so this reader keeps what Go needs to be
 * emulated: every member of an object in order (duplicates included), numbers as their literal text,
 * and the position of every key and value. Strings are decoded as Go does (invalid UTF-8 becomes
 * U+FFFD). The whole tree lives in one arena owned by the JsonDoc. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum JsonType {
        JSON_NULL,
        JSON_BOOL,
        JSON_NUMBER,
        JSON_STRING,
        JSON_ARRAY,
        JSON_OBJECT,
} JsonType;

typedef struct JsonValue JsonValue;

typedef struct JsonMember {
        const char *key; /* decoded, NUL-terminated */
        size_t key_len;
        unsigned line, column;
        JsonValue *value;
} JsonMember;

struct JsonValue {
        JsonType type;
        unsigned line, column; /* 1-based; the column counts bytes */
        union {
                bool boolean;
                struct {
                        const char *text; /* the literal as written, NUL-terminated */
                        size_t len;
                } number;
                struct {
                        const char *s; /* decoded UTF-8, NUL-terminated (may hold NUL bytes) */
                        size_t len;
                } string;
                struct {
                        JsonValue **items;
                        size_t n;
                } array;
                struct {
                        JsonMember *members;
                        size_t n;
                } object;
        };
};

typedef struct JsonDoc JsonDoc;

typedef struct JsonError {
        unsigned line, column;
        char message[160];
} JsonError;

/* Nesting deeper than this is refused: a profile is five levels deep, and the parser recurses. */
#define JSON_MAX_DEPTH 64

/* Returns 0, -ENOMEM, or -EBADMSG with *ret_error filled in. */
int json_parse(const char *buf, size_t len, JsonDoc **ret, JsonError *ret_error);
const JsonValue *json_doc_root(const JsonDoc *d);
JsonDoc *json_doc_free(JsonDoc *d);

static inline void json_doc_freep(JsonDoc **d)
{
        if (*d)
                json_doc_free(*d);
}

typedef enum JsonIntResult {
        JSON_INT_OK,
        JSON_INT_NEGATIVE,    /* includes -0, which Go's ParseUint refuses */
        JSON_INT_NOT_INTEGER, /* a fraction or an exponent: Go refuses 1.0 and 1e3 for integer fields */
        JSON_INT_RANGE,       /* above max */
} JsonIntResult;

/* Reads a JSON number as Go decodes it into an unsigned integer field no larger than max. */
JsonIntResult json_number_to_u64(const JsonValue *v, uint64_t max, uint64_t *ret);

const char *json_type_to_string(JsonType t);
