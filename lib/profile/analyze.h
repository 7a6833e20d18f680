/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "diag.h"
#include "resolve.h"

/* How libseccomp and runc will really treat the rules, per syscall: a rule whose action equals the
 * default is skipped; the first unconditional rule for a syscall wins and later ones are dropped; an
 * unconditional rule replaces earlier conditional ones. From that: dead rules, names absent on every
 * architecture of the filter, a profile that confines nothing, one under which no container starts. */
int effective_analyze(const Effective *e, const ArchInfo *arch, Diagnostics *d);

/* True when the default lets everything run and no rule that takes effect is stricter: equivalent to
 * Unconfined. */
bool effective_confines_nothing(const Effective *e);
