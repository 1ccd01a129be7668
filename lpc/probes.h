/* SPDX-License-Identifier: MIT */
/*
 * USDT probes (docs/probes.md lists every one and its arguments).
 *
 * Each probe has a semaphore: the arguments are only computed while a
 * tracer is attached (it increments the semaphore), so an untraced
 * process pays one predictable load and branch per site.  The probe site
 * is sdt.h's 1-byte nop, not the 5-byte one that 6.18 turns into a call
 * to a trampoline (half the cost of a hit): a process that forks after
 * such a probe fired has a child that dies of SIGSEGV at the probe, the
 * trampoline not being inherited (docs/decisions.md).  Arguments are
 * plain integers and pointers
 * (registers or constants): Debian's libbpf 1.1 mis-decodes some indexed
 * addressing modes.
 */
#ifndef LPC_PROBES_H
#define LPC_PROBES_H

#define _SDT_HAS_SEMAPHORES 1
/* Registers and constants only, never memory operands. */
#define STAP_SDT_ARG_CONSTRAINT nr
#define SDT_USE_VARIADIC 1
#include <sys/sdt.h>

/* Declared here, defined once in probes.c. */
#define LPC_PROBE_SEMAPHORE(provider, name) \
	extern unsigned short provider##_##name##_semaphore

#ifdef LPC_NO_PROBES
/* A build without probes, for measuring what an untraced probe costs
 * (make bench): no notes, no semaphore loads. */
static inline void lpc__no_probe(int unused, ...)
{
	(void)unused;
}
#undef STAP_PROBEV
/* The arguments still count as used: no warnings in this build. */
#define STAP_PROBEV(provider, name, ...) lpc__no_probe(0, __VA_ARGS__)
#define LPC_PROBE_ENABLED(provider, name) 0
#else
#define LPC_PROBE_ENABLED(provider, name) \
	__builtin_expect(provider##_##name##_semaphore != 0, 0)
#endif

/* Fire provider:name with up to 12 integer/pointer arguments when traced. */
#define LPC_PROBE(provider, name, ...)                                        \
	do {                                                                  \
		if (LPC_PROBE_ENABLED(provider, name))                        \
			STAP_PROBEV(provider, name, __VA_ARGS__);             \
	} while (0)

#define LPC_PROBES(X)                                                         \
	X(port_create) X(port_close) X(connect_request) X(connect_done)       \
	X(listen) X(accept) X(complete) X(send) X(receive) X(reply)           \
	X(wait_begin) X(wait_end) X(request_data)                 \
	X(impersonate) X(revert) X(exception) X(view)

#define LPC__DECLARE(n) LPC_PROBE_SEMAPHORE(lpc, n);
LPC_PROBES(LPC__DECLARE)
#undef LPC__DECLARE

#endif
