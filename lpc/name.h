/* SPDX-License-Identifier: MIT */
/*
 * name.h - NT object names to namespace paths.  Pure.
 */
#ifndef LPC_NAME_H
#define LPC_NAME_H

#include <stddef.h>
#include <stdint.h>

#define LPC_NAME_MAX_BYTES 1024

/*
 * lpc_name_to_path - turn an absolute NT name ("\RPC Control\Foo", n UTF-16
 * code units) into the relative path "RPC Control/Foo" (UTF-8, NUL
 * terminated) below $LPC_ROOT.
 * Returns 0; -LPC_EPATHSYNTAX for a relative name; -LPC_ENAMEINVALID for an
 * empty name or component, ".", "..", '/', NUL or an unpaired surrogate;
 * -ENAMETOOLONG when it does not fit in out or a component exceeds 255
 * bytes.
 */
int lpc_name_to_path(const uint16_t *w, size_t n, char *out, size_t outsz);

/* ASCII case-insensitive comparison of two UTF-8 components (NT's object
 * manager compares names case-insensitively by default). */
int lpc_name_equal_ci(const char *a, const char *b);

#endif
