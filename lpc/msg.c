/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "err.h"
#include "msg.h"

int lpc_msg_check_lengths(const PORT_MESSAGE *m)
{
	if (lpc_len(m->u1.s1.DataLength) + LPC_HDR >
	    lpc_len(m->u1.s1.TotalLength))
		return -EINVAL;
	return 0;
}

int lpc_msg_check_max(const PORT_MESSAGE *m, uint32_t max)
{
	uint64_t total = lpc_len(m->u1.s1.TotalLength);

	if (total > max || total <= lpc_len(m->u1.s1.DataLength))
		return -LPC_ETOOLONG;
	return 0;
}

int lpc_msg_check(const PORT_MESSAGE *m, uint32_t max)
{
	int r = lpc_msg_check_lengths(m);

	return r ? r : lpc_msg_check_max(m, max);
}

int lpc_msg_datainfo(const void *msg, uint32_t len)
{
	const PORT_MESSAGE *m = msg;
	const uint32_t one = (uint32_t)sizeof(PORT_DATA_INFORMATION);
	const uint32_t entry = (uint32_t)sizeof(PORT_DATA_ENTRY);
	const uint32_t head = (uint32_t)offsetof(PORT_DATA_INFORMATION,
						 DataEntries);
	uint32_t off = (uint16_t)m->u2.s2.DataInfoOffset;
	uint32_t total = (uint16_t)m->u1.s1.TotalLength;
	uint32_t count;

	/* The block must be in what is delivered, not merely below
	 * TotalLength: the receiver only ever sees the copied bytes. */
	if (len > total)
		len = total;
	if (total < LPC_HDR + one || off < LPC_HDR || off > len ||
	    len - off < one)
		return -EINVAL;
	memcpy(&count, (const char *)msg + off, sizeof(count));
	if (count > (len - off - head) / entry)
		return -EINVAL;
	return (int)count;
}

void lpc_msg_dataentry(const void *msg, uint32_t i, PORT_DATA_ENTRY *e)
{
	const PORT_MESSAGE *m = msg;
	size_t at = (uint16_t)m->u2.s2.DataInfoOffset +
		    offsetof(PORT_DATA_INFORMATION, DataEntries) +
		    (size_t)i * sizeof(PORT_DATA_ENTRY);

	memcpy(e, (const char *)msg + at, sizeof(*e));
}
