/* SPDX-License-Identifier: MIT */
/*
 * msg.h - PORT_MESSAGE rules (spec sections 3.3 and 7.3).  Pure: no I/O,
 * no state; shared by the API, the wire validator and the fuzzers.
 */
#ifndef LPC_MSG_H
#define LPC_MSG_H

#include <stdint.h>

#include <lpc/lpc.h>

#define LPC_HDR ((uint32_t)sizeof(PORT_MESSAGE))
#define LPC_ALIGN4(x) (((uint32_t)(x) + 3u) & ~3u)

/* Message type bits a receiver ignores (spec 1.2). */
#define LPC_TYPE_FLAGS 0xF000
#define LPC_TYPE(t) ((uint16_t)(t) & 0x0FFF)

/* CSHORT lengths are sign-extended to 32 bits, then compared in 64 bits as
 * size_t arithmetic does on x86-64: a length >= 0x8000 always fails. */
static inline uint64_t lpc_len(CSHORT v)
{
	return (uint32_t)(int32_t)v;
}

/* Bytes moved for a message: the header and DataLength rounded up to 4
 * (spec 3.3).  Only meaningful once the lengths have been checked. */
static inline uint32_t lpc_msg_copy_len(const PORT_MESSAGE *m)
{
	return LPC_HDR + LPC_ALIGN4((uint16_t)m->u1.s1.DataLength);
}

/* Rule 1: DataLength + header > TotalLength -> -EINVAL. */
int lpc_msg_check_lengths(const PORT_MESSAGE *m);
/* Rule 4: TotalLength > max, or TotalLength <= DataLength -> -LPC_ETOOLONG. */
int lpc_msg_check_max(const PORT_MESSAGE *m, uint32_t max);
/* Rules 1 and 4 together, as a receiver re-checks a peer's message. */
int lpc_msg_check(const PORT_MESSAGE *m, uint32_t max);

/*
 * Data-information block (spec 7.3).  msg is a captured message of len
 * bytes (header + ALIGN4(DataLength)).  On success returns the number of
 * entries; -EINVAL otherwise.  The block may sit at any offset, so entries
 * are read with lpc_msg_dataentry(), never through a cast pointer.
 */
int lpc_msg_datainfo(const void *msg, uint32_t len);
void lpc_msg_dataentry(const void *msg, uint32_t i, PORT_DATA_ENTRY *e);

#endif
