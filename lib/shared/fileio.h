/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stddef.h>

/* Reads all of fd, NUL-terminated. Never holds more than max+1 bytes: returns -EFBIG when the input is
 * longer than max. */
int read_full_fd(int fd, size_t max, char **ret, size_t *ret_len);

/* The same for a path; "-" is standard input. Refuses anything but a regular file or a pipe. */
int read_full_file(const char *path, size_t max, char **ret, size_t *ret_len);
