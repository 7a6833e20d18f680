/* SPDX-License-Identifier: Apache-2.0 */
/* The manifest reader over arbitrary bytes: YAML events → documents → the shared ConfigMap/Secret
 * decoder → profiles, as the directory source and `seccompd validate` read a file. It must refuse or
 * accept, never crash, leak, read out of bounds or take long (its bounds: no alias, 64 levels), and
 * what it gives must hold what the rest of the daemon relies on. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sync/source.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        /* Recordings' profiles too, as seccompd validate reads them: the daemon's reading is the same
         * without them. */
        SourceSet s = {.complete = true, .read_recordings = true};
        /* Its only failure is -ENOMEM, which fails the daemon's whole sync: no input of this size may
         * cause it (aliases copied per use did). */
        if (source_read_manifest("fuzz.yaml", (const char *) data, size, &s) < 0)
                abort();
        for (size_t i = 0; i < s.n; i++) {
                const SourceProfile *p = s.items + i;
                /* A valid relative path, an origin for the log, bytes NUL-terminated. */
                if (!p->path || !p->path[0] || p->path[0] == '/' || !p->origin || !p->bytes ||
                    p->bytes[p->len] != 0)
                        abort();
        }
        /* Every problem says what, and its text is part of its message. */
        for (size_t i = 0; i < s.n_errors + s.n_notes; i++) {
                const SourceProblem *e = i < s.n_errors ? s.errors + i : s.notes + i - s.n_errors;
                if (!e->message || e->text < e->message || e->text > e->message + strlen(e->message))
                        abort();
        }
        /* A file refused whole says why, and gives nothing. */
        if (!s.complete && (s.n_errors == 0 || s.n != 0))
                abort();
        source_set_clear(&s);
        return 0;
}
