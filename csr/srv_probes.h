/* SPDX-License-Identifier: MIT */
/*
 * csrd's USDT probes (provider "csrd"; docs/probes.md).  Built as
 * liblpc's are: a semaphore per probe, sdt.h's 1-byte nop (see
 * lpc/probes.h), register or constant arguments only.
 */
#ifndef CSR_SRV_PROBES_H
#define CSR_SRV_PROBES_H

#define _SDT_HAS_SEMAPHORES 1
#define SDT_USE_VARIADIC 1
#define STAP_SDT_ARG_CONSTRAINT nr
#include <sys/sdt.h>

extern unsigned short csrd_api_semaphore, csrd_connect_semaphore;

#define CSRD_PROBE(name, ...)                                                 \
	do {                                                                  \
		if (__builtin_expect(csrd_##name##_semaphore != 0, 0))        \
			STAP_PROBEV(csrd, name, __VA_ARGS__);                 \
	} while (0)

#endif
