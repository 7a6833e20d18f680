/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* One binary search for every sorted table (owned paths, source files, Kubernetes objects): the index
 * of the element that compares equal to key, or where key would be inserted to keep the order.
 * compare(key, element) is negative, zero or positive as with bsearch(3). */
size_t sorted_position(const void *base, size_t n, size_t size, const void *key,
                       int (*compare)(const void *key, const void *element), bool *ret_found);

/* The element equal to key, or NULL. */
void *sorted_find(const void *base, size_t n, size_t size, const void *key,
                  int (*compare)(const void *key, const void *element));
