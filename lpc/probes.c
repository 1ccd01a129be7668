/* SPDX-License-Identifier: MIT */
/* The probes' semaphores: a tracer attaching to lpc:<name> increments
 * lpc_<name>_semaphore (the address is in the probe's ELF note). */
#include "probes.h"

#define LPC__DEFINE(n)                                                        \
	unsigned short lpc_##n##_semaphore                                    \
		__attribute__((section(".probes"), used, visibility("hidden")));
LPC_PROBES(LPC__DEFINE)
