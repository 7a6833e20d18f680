/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* SHA-256 (FIPS 180-4). The verdict cache keys on it: a collision would let bytes borrow another
 * profile's verdict, so the key must be collision-resistant, not merely well spread. */

#define SHA256_DIGEST_SIZE 32

typedef struct Sha256 {
        uint32_t state[8];
        uint64_t length;
        uint8_t buffer[64];
        size_t used;
} Sha256;

void sha256_init(Sha256 *s);
void sha256_update(Sha256 *s, const void *data, size_t len);
void sha256_final(Sha256 *s, uint8_t out[static SHA256_DIGEST_SIZE]);
void sha256_hex(const uint8_t digest[static SHA256_DIGEST_SIZE],
                char out[static 2 * SHA256_DIGEST_SIZE + 1]);
