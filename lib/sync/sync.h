/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The node sync engine: a desired set of profiles in, the kubelet's seccomp directory converged to
 * it. What it guarantees, and how:
 *   - no partial file is ever visible: a temporary file in the target's own directory, written,
 *     fsync'd and renamed over the target (the runtime reads the file on every container create);
 *   - only its own files are touched: the state file (..seccompd-state) lists every path seccompd
 *     owns, and a path enters it, durably, before the first byte is written there; a path leaves it
 *     only after its file is gone. A kill at any instant thus never makes an own file look foreign;
 *   - no symlink is followed: every path is walked from a descriptor of the root, component by
 *     component, with O_NOFOLLOW; a symlink planted later cannot redirect a descriptor already held;
 *   - the last good profile stays: an invalid new version leaves the installed one in place;
 *   - nothing is deleted on the strength of an incomplete read, and deletions wait --delete-grace;
 *   - N installs cost one fsync per directory, not per file;
 *   - an unchanged profile costs one stat: each own file's hash and stamp (inode, size, mtime, ctime)
 *     are remembered, and a file whose stamp is unchanged holds what seccompd last wrote. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct DesiredProfile {
        const char *path;  /* relative target, validated with paths.h */
        const char *bytes; /* NULL: not loaded, the caller trusts them to be on disk already */
        size_t len;
        const uint8_t *hash; /* SHA-256 of the bytes, or NULL to have it computed from them */
        const char *origin;  /* the source object and key, for messages */
        bool valid;          /* the validator's verdict */
        bool adopt;          /* the source may take over a foreign file at this path */
        bool trusted;        /* the caller saw no change at the target since the last apply (inotify):
                                when its hash matches what was written, not even a stat is needed */
} DesiredProfile;

typedef enum SyncAction {
        SYNC_INSTALLED,
        SYNC_UPDATED,
        SYNC_REPAIRED,       /* an own file changed or removed on disk, restored */
        SYNC_ADOPTED,        /* a foreign file taken over, as the source allowed */
        SYNC_KEPT_LAST_GOOD, /* the new version is invalid: the installed one stays */
        SYNC_REJECTED,       /* invalid and never installed */
        SYNC_CONFLICT,       /* something seccompd did not write holds the path or stands on it (a
                                file, a symlink, a directory, a FIFO): left alone, never followed */
        SYNC_REMOVED,
        SYNC_DELETE_PENDING, /* left the desired set; removed once the grace period ends */
        SYNC_FAILED,         /* an I/O error; see error */
        SYNC_NEEDS_BYTES,    /* bytes were not given and the file must be written: give them next time */
        _SYNC_ACTION_MAX,
} SyncAction;

typedef struct SyncEvent {
        SyncAction action;
        char *path;
        char *origin; /* NULL for removals */
        size_t index; /* into the desired set; SIZE_MAX for removals */
        int error;    /* SYNC_FAILED, SYNC_CONFLICT: negative errno (0: a foreign file, a duplicate) */
        char *reason; /* SYNC_CONFLICT: what holds the path or stands on it, and whose it is; else NULL */
} SyncEvent;

typedef struct SyncResult {
        SyncEvent *events; /* everything but SYNC_UNCHANGED, in order */
        size_t n_events;
        size_t installed; /* valid profiles now on disk (new, updated, unchanged, adopted, repaired) */
        size_t rejected, conflicts, failed, pending_deletes;
        uint64_t next_deadline_usec; /* when a pending deletion falls due, 0 for none */
} SyncResult;

typedef struct SyncRoot SyncRoot;

/* Opens (creating it if missing) and locks the root, loads the state and removes temporary files a
 * killed run left. Another instance holding the lock: -EWOULDBLOCK unless wait. A state file that
 * cannot be trusted (empty, garbage, a path that is not one seccompd would write): -EBADMSG, and
 * *ret_error (if given) says which file, which line and what is wrong there; the caller frees it. */
int sync_root_open(const char *path, bool wait, SyncRoot **ret, char **ret_error);
SyncRoot *sync_root_free(SyncRoot *r);

static inline void sync_root_freep(SyncRoot **r)
{
        if (*r)
                sync_root_free(*r);
}

/* Converges the directory. complete=false (a source could not be read in full) never deletes.
 * now_usec is CLOCK_MONOTONIC, and so is next_deadline_usec: the grace counts the time the node ran,
 * so a wall-clock step cannot shorten or skip it, and a suspend (which CLOCK_BOOTTIME would count)
 * does not use it up while no source could be watched. The grace starts again on a restart.
 * Returns 0 with *ret filled, or a negative errno when the state itself cannot be written (then
 * nothing new was installed). Per-profile failures are events. */
int sync_apply(SyncRoot *r, const DesiredProfile *set, size_t n, bool complete, uint64_t now_usec,
               uint64_t delete_grace_usec, SyncResult *ret);
void sync_result_clear(SyncResult *r);

const char *sync_action_to_string(SyncAction a);

/* The directories that hold managed files ("" for the root itself), for watching them. The strings
 * are newly allocated; free them and the array. */
int sync_root_managed_dirs(const SyncRoot *r, char ***ret, size_t *ret_n);

/* Whether a path is one seccompd owns (for tests and status). */
bool sync_root_owns(const SyncRoot *r, const char *path);
