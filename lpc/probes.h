/* SPDX-License-Identifier: MIT */
/*
 * USDT probes (docs/probes.md lists every one and its arguments).
 *
 * Each probe has a semaphore: the arguments are only computed while a
 * tracer is attached (it increments the semaphore), so an untraced
 * process pays one predictable load and branch per site.  The probe site
 * is the 5-byte nop: this kernel turns a uprobe on it into a call instead
 * of a trap, about half the cost of sdt.h's default 1-byte nop
 * (shared/perf-notes.md).  Arguments are plain integers and pointers
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
#undef _SDT_NOP
#define _SDT_NOP .byte 0x0f; .byte 0x1f; .byte 0x44; .byte 0x00; .byte 0x00

/* Declared here, defined once in probes.c. */
#define LPC_PROBE_SEMAPHORE(provider, name) \
	extern unsigned short provider##_##name##_semaphore

#define LPC_PROBE_ENABLED(provider, name) \
	__builtin_expect(provider##_##name##_semaphore != 0, 0)

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
