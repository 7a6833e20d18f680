/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* What runc's start-up needs from a profile, as measured by tests/startup/measure on runc itself (the
 * table is generated from startup-runc.tsv, never typed): for each syscall and each place runc loads
 * the filter, whether the start survives the syscall being denied, killed or sent to a NOTIFY agent. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum StartupDenial {
        STARTUP_DENIAL_SURVIVES,  /* an error return is handled */
        STARTUP_DENIAL_FAILS,     /* the start fails (runc reports it, or the process dies) */
        STARTUP_DENIAL_HANGS,     /* the start never ends */
        STARTUP_DENIAL_SOMETIMES, /* some starts fail: Go's runtime makes the call only sometimes */
} StartupDenial;

typedef struct StartupNeed {
        const char *name;
        bool nnp;             /* measured with no_new_privs: runc loads the filter right before exec */
        bool libc;            /* needed by a static glibc program's own start, not by runc */
        StartupDenial denial; /* denied (EPERM) with every other syscall allowed */
        StartupDenial denial_blocked; /* denied with every syscall outside the table denied too */
        const char *const *fallbacks; /* NULL-terminated: any one allowed rescues a denial that fails
                                       * only when blocked (faccessat for faccessat2); NULL: none alone */
        uint8_t killed, runs;         /* KILL_PROCESS on it broke the start in killed of runs; 1 of 0: no run
                                       * broke, but a recording saw it made in some starts */
        bool notify_hangs;            /* made before runc hands the NOTIFY listener over */
        const char *message;          /* what failed when it was denied, in runc's words */
} StartupNeed;

extern const char startup_runc_version[]; /* of the runc measured, e.g. "1.1.5+ds1" */
extern const char startup_runc_arch[];    /* uname -m of the machine measured */
extern const StartupNeed startup_runc[];
extern const size_t startup_runc_count;
