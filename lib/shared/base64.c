/* SPDX-License-Identifier: Apache-2.0 */
/* Placeholder: implemented on its own branch. */
#include "shared/base64.h"
