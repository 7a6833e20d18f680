/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stddef.h>

/* Names longer than this are never near anything: every name suggested from (syscalls, profile keys)
 * is far shorter, and the input compared is untrusted (a syscall name may be 1 MiB). */
#define EDIT_DISTANCE_MAX_LEN 64

/* The optimal string alignment distance (Damerau-Levenshtein without editing a substring twice):
 * insertions, deletions, substitutions and swaps of two adjacent characters ("clsoe" → "close") each
 * cost 1. For "did you mean" suggestions: bounded, it returns limit+1 as soon as the distance is known
 * to exceed limit (at once when the lengths differ by more), and for a string of
 * EDIT_DISTANCE_MAX_LEN bytes or more. Bytes are compared, up to the first NUL. */
size_t edit_distance(const char *a, const char *b, size_t limit);
