/* SPDX-License-Identifier: MIT */
/*
 * payload.c - the work every mechanism does on its payload, identical for
 * LPC and the baselines so that the comparison is fair: the sender writes
 * every byte, the receiver reads every byte (a checksum), and each side
 * checks that the other really did.
 */
#include <string.h>

#include "bench.h"

#define BYTES8 0x0101010101010101ull

uint8_t payload_request_byte(uint64_t seq)
{
	return (uint8_t)(seq * 13 + 1);
}

uint8_t payload_answer_byte(uint64_t sum)
{
	return (uint8_t)(sum % 251 + 1);
}

void payload_fill(void *p, size_t n, uint8_t b)
{
	memset(p, b, n);
}

/* n is a multiple of 8 and p 8-byte aligned. */
uint64_t payload_sum(const void *p, size_t n)
{
	const uint64_t *w = p;
	uint64_t s = 0;

	for (size_t i = 0; i < n / 8; i++)
		s += w[i];
	return s;
}

uint64_t payload_expected_sum(size_t n, uint8_t b)
{
	return (uint64_t)(n / 8) * (b * BYTES8);
}
