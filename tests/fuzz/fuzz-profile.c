/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: untrusted bytes through the whole engine (decode, checks, resolve, libseccomp
 * compile, analysis) for both runtimes, and through convert. */
#include <stdint.h>
#include <stdlib.h>

#include "convert.h"
#include "validate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        for (Runtime r = 0; r < _RUNTIME_MAX; r++) {
                ValidateOptions o = {.runtime = r};
                Verdict v;
                if (profile_validate((const char *) data, size, &o, &v) >= 0)
                        verdict_clear(&v);
        }
        ConvertOptions co = {.kernel_major = 5, .kernel_minor = 10};
        Diagnostics d = {};
        char *out = NULL;
        if (profile_convert((const char *) data, size, &co, &d, &out) >= 0)
                free(out);
        diagnostics_clear(&d);
        return 0;
}
