/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* Standard padded base64 (RFC 4648 §4), the encoding Kubernetes uses for Secret data and ConfigMap
 * binaryData (Go's base64.StdEncoding: padding required, no white space, no URL alphabet).
 * Decoding returns -EINVAL on any malformed input and NUL-terminates the output (not counted in
 * *ret_len) so text payloads can be used as strings. */
int base64_decode(const char *in, size_t len, uint8_t **ret, size_t *ret_len);
int base64_encode(const uint8_t *in, size_t len, char **ret);
