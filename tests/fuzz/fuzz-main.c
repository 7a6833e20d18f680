/* SPDX-License-Identifier: Apache-2.0 */
/* Runs the fuzz target over a seed corpus as an ordinary test, without libFuzzer. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shared/fileio.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char *argv[])
{
        int n = 0;
        for (int i = 1; i < argc; i++) {
                char *buf = NULL;
                size_t len;
                int r = read_full_file(argv[i], 4 * 1024 * 1024, &buf, &len);
                if (r < 0) {
                        fprintf(stderr, "%s: %s\n", argv[i], strerror(-r));
                        return 1;
                }
                LLVMFuzzerTestOneInput((const uint8_t *) buf, len);
                free(buf);
                printf("ok %d - %s\n", ++n, argv[i]);
        }
        printf("1..%d\n", n);
        return n > 0 ? 0 : 1;
}
