/* SPDX-License-Identifier: Apache-2.0 */
#include "sorted.h"

size_t sorted_position(const void *base, size_t n, size_t size, const void *key,
                       int (*compare)(const void *key, const void *element), bool *ret_found)
{
        size_t lo = 0, hi = n;
        *ret_found = false;
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                int c = compare(key, (const char *) base + mid * size);
                if (c == 0) {
                        *ret_found = true;
                        return mid;
                }
                if (c < 0)
                        hi = mid;
                else
                        lo = mid + 1;
        }
        return lo;
}

void *sorted_find(const void *base, size_t n, size_t size, const void *key,
                  int (*compare)(const void *key, const void *element))
{
        bool found;
        size_t i = sorted_position(base, n, size, key, compare, &found);
        return found ? (char *) base + i * size : NULL;
}
