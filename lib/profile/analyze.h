/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "diag.h"
#include "resolve.h"
#include "validate.h"

/* How libseccomp and runc will really treat the rules, per syscall: a rule whose action equals the
 * default is skipped; the first unconditional rule for a syscall wins and later ones are dropped; an
 * unconditional rule replaces earlier conditional ones. From that: dead rules, names absent on every
 * architecture of the filter, a profile that confines nothing, one under which no container starts. */
int effective_analyze(const Effective *e, const ArchInfo *arch, const ValidateOptions *o, Diagnostics *d);

/* libseccomp's time grows with the cube of the conditional rules one syscall has (measured with
 * 2.5.4: 600 rules on one syscall take 7 s, 1500 take 3 minutes), and the runtime pays it again at
 * every container create. Returns false, with a diagnostic, for what must not be compiled. */
#define MAX_CONDITIONAL_RULES_PER_SYSCALL 512
bool effective_cost_bounded(const Effective *e, Diagnostics *d);

/* True when the default lets everything run and no rule that takes effect is stricter: equivalent to
 * Unconfined. */
bool effective_confines_nothing(const Effective *e);
