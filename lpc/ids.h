/* SPDX-License-Identifier: MIT */
/*
 * ids.h - the global MessageId and CallbackId counters (spec 4.4): one
 * shared page under $LPC_ROOT, so every process of a namespace draws from
 * the same counters, as every NT process draws from the kernel's.
 */
#ifndef LPC_IDS_H
#define LPC_IDS_H

#include <stdint.h>

/* Next id: starts at 1, never 0 (skipped on wrap). */
uint32_t lpc_next_message_id(void);
uint32_t lpc_next_callback_id(void);

#endif
