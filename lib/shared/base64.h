/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* Standard padded base64 (RFC 4648 §4), the encoding Kubernetes uses for Secret data and ConfigMap
 * binaryData (Go's base64.StdEncoding: padding required, no URL alphabet, no white space but line breaks).
 * Decoding returns -EINVAL on any malformed input and NUL-terminates the output (not counted in
 * *ret_len) so text payloads can be used as strings. Like Go, it skips '\r' and '\n' wherever they
 * are (PEM-style wrapped data decodes) and accepts non-zero bits after the last byte ("YR==" is "a");
 * any other white space is malformed. */
int base64_decode(const char *in, size_t len, uint8_t **ret, size_t *ret_len);
int base64_encode(const uint8_t *in, size_t len, char **ret);
