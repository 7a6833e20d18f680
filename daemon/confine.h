/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* seccompd run confines itself once it is set up (its root, sockets and watches open): it keeps no
 * capability, sets no_new_privs, and loads a seccomp filter that allows only the system calls the
 * daemon makes; any other fails with EPERM, and the kernel logs it (a SECCOMP audit record: the
 * filter has SECCOMP_FILTER_FLAG_LOG). A bug, or a compromise, in the code that parses what the API
 * server or a tenant sends cannot then do much more than the daemon already does. */

typedef enum ConfineMode {
        CONFINE_OFF,     /* --no-self-confine: for debugging */
        CONFINE_ENFORCE, /* the default */
        CONFINE_AUDIT,   /* allow everything, log what the list lacks: how the list is kept current
                            (SECCOMPD_SELF_CONFINE=audit, see DEVELOPERS.md) */
} ConfineMode;

/* The mode the environment asks for on top of the command line's: SECCOMPD_SELF_CONFINE=audit turns
 * ENFORCE into AUDIT; nothing else changes it. */
ConfineMode confine_mode_from_env(ConfineMode m);

/* The system calls the daemon may make (names, for the native architecture), and how many. */
const char *const *confine_syscalls(size_t *ret_n);

/* Drops every capability, sets no_new_privs and loads the filter, for every thread from now on.
 * Negative errno on failure (nothing loaded). */
int confine_self(ConfineMode m);
