/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>

#include "edit-distance.h"
#include "macro.h"

size_t edit_distance(const char *a, const char *b, size_t limit)
{
        /* Three rows: a swap looks back two of them. */
        size_t rows[3][EDIT_DISTANCE_MAX_LEN + 1];
        size_t *before = rows[0], *prev = rows[1], *cur = rows[2];
        size_t la = strnlen(a, EDIT_DISTANCE_MAX_LEN), lb = strnlen(b, EDIT_DISTANCE_MAX_LEN);

        if (la >= EDIT_DISTANCE_MAX_LEN || lb >= EDIT_DISTANCE_MAX_LEN)
                return limit + 1;
        if ((la > lb ? la - lb : lb - la) > limit)
                return limit + 1;
        for (size_t j = 0; j <= lb; j++)
                prev[j] = j;
        for (size_t i = 1; i <= la; i++) {
                size_t best = cur[0] = i;
                for (size_t j = 1; j <= lb; j++) {
                        size_t v = MIN(MIN(prev[j], cur[j - 1]) + 1, prev[j - 1] + (a[i - 1] != b[j - 1]));
                        if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                                v = MIN(v, before[j - 2] + 1);
                        cur[j] = v;
                        best = MIN(best, v);
                }
                /* No row's minimum is below the previous row's (a swap from two rows back costs at
                 * least what the substitution path through the row between does): stop early. */
                if (best > limit)
                        return limit + 1;
                size_t *t = before;
                before = prev;
                prev = cur;
                cur = t;
        }
        return MIN(prev[lb], limit + 1);
}
