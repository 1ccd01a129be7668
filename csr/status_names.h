/* SPDX-License-Identifier: MIT */
#ifndef CSR_STATUS_NAMES_H
#define CSR_STATUS_NAMES_H

#include <lpc/lpc.h>

/* "STATUS_ACCESS_DENIED", or NULL for a status it does not know. */
const char *csr_status_name(NTSTATUS status);

#endif
