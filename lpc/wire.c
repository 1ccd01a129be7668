/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>

#include "msg.h"
#include "wire.h"

int lpc_wire_is_msg_op(unsigned op)
{
	switch (op) {
	case LPC_OP_REQUEST:
	case LPC_OP_DATAGRAM:
	case LPC_OP_REPLY:
	case LPC_OP_CALLBACK:
	case LPC_OP_EXCEPTION:
		return 1;
	default:
		return 0;
	}
}

/* Which end may receive each op. */
static int dir_ok(unsigned op, enum lpc_wire_dir dir)
{
	switch (op) {
	case LPC_OP_CONNECT:
	case LPC_OP_VIEWMAP:
	case LPC_OP_CLOSE:
	case LPC_OP_EXCEPTION:
		return dir == LPC_WIRE_TO_SERVER;
	case LPC_OP_ACCEPT:
	case LPC_OP_COMPLETE:
	case LPC_OP_REJECT:
		return dir == LPC_WIRE_TO_CLIENT;
	default:
		return 1;
	}
}

static int check_message(const struct lpc_wire *w, uint32_t len,
			 uint32_t max_msg)
{
	const PORT_MESSAGE *m;
	uint32_t body = len - (uint32_t)sizeof(*w);
	uint16_t type;

	if (body < LPC_HDR)
		return -EPROTO;
	m = lpc_wire_msg(w);
	if (lpc_msg_check(m, max_msg ? max_msg : LPC_MAX_MESSAGE_LENGTH))
		return -EPROTO;
	/* Exactly header + ALIGN4(DataLength): no more, no less. */
	if (body != lpc_msg_copy_len(m))
		return -EPROTO;
	if (w->msgid == 0 || m->MessageId != w->msgid)
		return -EPROTO;
	type = LPC_TYPE(m->u2.s2.Type);
	switch (w->op) {
	case LPC_OP_REQUEST:
	case LPC_OP_CALLBACK:
		if (type != LPC_REQUEST)
			return -EPROTO;
		break;
	case LPC_OP_DATAGRAM:
		if (type != LPC_DATAGRAM || m->u2.s2.DataInfoOffset)
			return -EPROTO;
		break;
	case LPC_OP_REPLY:
		if (type != LPC_REPLY)
			return -EPROTO;
		break;
	case LPC_OP_EXCEPTION:
		if (type != LPC_EXCEPTION || m->u2.s2.DataInfoOffset)
			return -EPROTO;
		break;
	}
	if (w->flags & LPC_WF_DATAINFO) {
		if (w->op != LPC_OP_REQUEST && w->op != LPC_OP_CALLBACK)
			return -EPROTO;
		if (lpc_msg_datainfo(m, body) < 0)
			return -EPROTO;
	} else if (m->u2.s2.DataInfoOffset) {
		return -EPROTO;
	}
	return 0;
}

int lpc_wire_check(const void *buf, uint32_t len, enum lpc_wire_dir dir,
		   uint32_t max_msg, int has_fd)
{
	struct lpc_wire w;
	uint32_t body;

	if (len < sizeof(w) || len > LPC_WIRE_MAX)
		return -EPROTO;
	memcpy(&w, buf, sizeof(w));
	if (w.magic != LPC_WIRE_MAGIC || w.version != LPC_WIRE_VERSION ||
	    w.op == 0 || w.op >= LPC_OP_MAX || !dir_ok(w.op, dir))
		return -EPROTO;
	if (w.pad[0] | w.pad[1] | w.pad[2])
		return -EPROTO;
	if (w.tid <= 0 || w.target < 0)
		return -EPROTO;
	if (has_fd != !!(w.flags & LPC_WF_VIEW))
		return -EPROTO;
	if ((w.flags & LPC_WF_VIEW) && w.op != LPC_OP_CONNECT &&
	    w.op != LPC_OP_ACCEPT)
		return -EPROTO;
	if ((w.flags & LPC_WF_WAIT) && w.op != LPC_OP_REPLY)
		return -EPROTO;
	if ((w.flags & LPC_WF_NOIMP) && w.op != LPC_OP_REQUEST)
		return -EPROTO;
	if (w.flags & ~(LPC_WF_VIEW | LPC_WF_NOIMP | LPC_WF_DATAINFO |
			LPC_WF_WAIT))
		return -EPROTO;
	body = len - (uint32_t)sizeof(w);

	if (lpc_wire_is_msg_op(w.op))
		return check_message(buf, len, max_msg);

	switch (w.op) {
	case LPC_OP_CONNECT:
		if (w.msgid == 0 || body > LPC_MAX_DATA_LENGTH)
			return -EPROTO;
		if (!!w.arg0 != has_fd)
			return -EPROTO;
		return 0;
	case LPC_OP_ACCEPT:
		if (w.target <= 0 || w.msgid == 0 ||
		    body > LPC_MAX_DATA_LENGTH || !!w.arg1 != has_fd ||
		    w.aux > LPC_MAX_MESSAGE_LENGTH)
			return -EPROTO;
		return 0;
	case LPC_OP_REJECT:
		if (w.target <= 0 || w.msgid == 0 ||
		    body > LPC_MAX_DATA_LENGTH)
			return -EPROTO;
		return 0;
	case LPC_OP_COMPLETE:
		if (w.target <= 0 || w.msgid == 0)
			return -EPROTO;
		break;
	case LPC_OP_DIED:
		if (w.msgid == 0)
			return -EPROTO;
		break;
	case LPC_OP_VIEWMAP:
	case LPC_OP_CLOSE:
	case LPC_OP_TERMREG:
		break;
	case LPC_OP_DATA_WRITE:
		if (w.target <= 0 || w.msgid == 0 || w.arg1 == 0 ||
		    w.arg1 > LPC_WIRE_CHUNK || body != w.arg1)
			return -EPROTO;
		return 0;
	case LPC_OP_DATA_READ:
		if (w.target <= 0 || w.msgid == 0 || w.arg1 == 0 ||
		    w.arg1 > LPC_WIRE_CHUNK)
			return -EPROTO;
		break;
	case LPC_OP_DATA_RESULT:
		if (w.target <= 0 || w.msgid == 0 || w.arg0 > LPC_WIRE_CHUNK ||
		    body > w.arg0)
			return -EPROTO;
		return 0;
	}
	/* The remaining ops carry no payload. */
	return body ? -EPROTO : 0;
}
