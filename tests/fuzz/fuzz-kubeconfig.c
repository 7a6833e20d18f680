/* SPDX-License-Identifier: Apache-2.0 */
/* The kubeconfig reader over arbitrary bytes: it must refuse or accept, never crash, leak or read out
 * of bounds. The bytes go through a memfd so the real path-based loader runs (relative paths in it
 * resolve against /proc/self/fd, where nothing else is found). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kube/kubeconfig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        int fd = memfd_create("kubeconfig", MFD_CLOEXEC);
        char path[64];
        if (fd < 0)
                return 0;
        if (write(fd, data, size) == (ssize_t) size) {
                KubeConfig c = {};
                char *error = NULL;
                (void) snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
                if (kube_config_load_file(path, &c, &error) >= 0) {
                        char *token = NULL;
                        (void) kube_config_read_token(&c, &token);
                        free(token);
                        kube_config_clear(&c);
                }
                free(error);
        }
        close(fd);
        return 0;
}
