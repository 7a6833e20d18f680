/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "diag.h"
#include "profile.h"
#include "validate.h"

/* Findings that need no filter: enumerations, argument shapes, errno values, NOTIFY policy, syscall
 * names, and what the target runtime silently drops. */
void profile_check(const Profile *p, const ValidateOptions *o, const ArchInfo *arch, Diagnostics *d);

/* Shared with analyze.c: is the action of a rule stricter than the default one? */
bool action_stricter(const char *rule_action, const char *default_action);
