/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: untrusted log text through the SECCOMP record parser, line by line, into the
 * recorder, and out as a profile and a ConfigMap. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "baseline.h"
#include "recorder.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        AuditRecorder *rec = NULL;
        const char *p = (const char *) data, *end = p + size;

        if (audit_recorder_new(&rec) < 0)
                return 0;
        while (p < end) {
                const char *nl = memchr(p, '\n', (size_t) (end - p));
                size_t n = nl ? (size_t) (nl - p) : (size_t) (end - p);
                AuditRecord r;
                AuditLineKind k = audit_parse_line(p, n, &r);
                if (audit_recorder_observe(rec, k, &r) && k == AUDIT_LINE_SECCOMP)
                        (void) audit_recorder_add(rec, &r, NULL);
                p += n + 1;
        }
        AuditProfileOptions o = {.baseline = baseline_runc, .n_baseline = baseline_runc_count};
        char *json = NULL, *manifest = NULL;
        if (audit_recorder_build_profile(rec, &o, &json, NULL) >= 0 &&
            audit_profile_to_configmap("fuzz", "default", json, &manifest) >= 0)
                free(manifest);
        free(json);
        audit_recorder_free(rec);
        return 0;
}
