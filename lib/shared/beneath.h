/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Opening a file by a path that must stay beneath a directory, whatever symlinks it goes through:
 * the directory source reads entries that may be symlinks (a mounted ConfigMap volume is made of
 * them), and a link to a link, or a link through a directory link, must not reach a file outside. */

/* The kernel's limit on the symlinks one lookup follows (MAXSYMLINKS), kept by the fallback too. */
#define BENEATH_MAX_HOPS 40

/* Opens path relative to dfd with flags (O_CLOEXEC is added), as openat2 with RESOLVE_BENEATH |
 * RESOLVE_NO_MAGICLINKS: an absolute symlink, or a ".." that would climb above dfd, anywhere on the
 * way fails with -EXDEV; more than BENEATH_MAX_HOPS symlinks with -ELOOP. Returns the descriptor or a
 * negative errno. Where the kernel has no openat2 it walks the path itself (open_beneath_walk). */
int open_beneath(int dfd, const char *path, int flags);

/* The fallback: the same resolution one component at a time, each opened with O_NOFOLLOW from the
 * directory above it, symlinks read and resolved here. Used by open_beneath when openat2 is missing
 * (Linux < 5.6) or refused by a seccomp filter; callable directly for its unit test. */
int open_beneath_walk(int dfd, const char *path, int flags);
