/* SPDX-License-Identifier: MIT */
/*
 * wire.h - the packet format between two processes' engines.
 *
 * One AF_UNIX SOCK_SEQPACKET packet carries one operation: a fixed
 * lpc_wire header, then an op-specific payload (for message operations a
 * PORT_MESSAGE and its data).  Nothing a peer puts in a packet is trusted:
 * lpc_wire_check() validates the shape of every packet before the state
 * machine sees it, and the receiver stamps ClientId.UniqueProcess from
 * SO_PEERCRED itself.  Pure: no I/O.
 */
#ifndef LPC_WIRE_H
#define LPC_WIRE_H

#include <stdint.h>

#include <lpc/lpc.h>

#define LPC_WIRE_MAGIC 0x4c50u	/* "LP" */
#define LPC_WIRE_VERSION 1

enum lpc_wire_op {
	LPC_OP_CONNECT = 1,	/* c->s: connection request (+ section fd) */
	LPC_OP_ACCEPT,		/* s->c: accepted, not yet completed (+ fd) */
	LPC_OP_VIEWMAP,		/* c->s: where the server's section landed */
	LPC_OP_COMPLETE,	/* s->c: NtCompleteConnectPort */
	LPC_OP_REJECT,		/* s->c: refused (reply connection info) */
	LPC_OP_REQUEST,		/* either: request, sender waits for a reply */
	LPC_OP_DATAGRAM,	/* either: no reply */
	LPC_OP_REPLY,		/* either: reply to a waiting thread */
	LPC_OP_CALLBACK,	/* either: LPC_REQUEST delivered as a reply */
	LPC_OP_CLOSE,		/* c->s: the client port object was deleted */
	LPC_OP_TERMREG,		/* either: a thread registered this port */
	LPC_OP_DIED,		/* either: a registered thread exited */
	LPC_OP_DATA_READ,	/* either: NtReadRequestData, served in-band */
	LPC_OP_DATA_WRITE,	/* either: NtWriteRequestData */
	LPC_OP_DATA_RESULT,	/* either: answer to DATA_READ/DATA_WRITE */
	LPC_OP_EXCEPTION,	/* c->s: LPC_EXCEPTION request */
	LPC_OP_MAX
};

/* flags */
#define LPC_WF_VIEW	0x01	/* a section fd rides along (CONNECT/ACCEPT) */
#define LPC_WF_NOIMP	0x02	/* request carried LPC_NO_IMPERSONATE */
#define LPC_WF_DATAINFO	0x04	/* message has a data-information block */
#define LPC_WF_WAIT	0x08	/* REPLY from NtReplyWaitReplyPort: wait again */

struct lpc_wire {
	uint16_t magic;
	uint8_t version;
	uint8_t op;
	uint8_t flags;
	uint8_t pad[3];
	int32_t tid;		/* sending thread (the ClientId it speaks for) */
	int32_t target;		/* addressed thread, 0 when none */
	uint32_t msgid;		/* MessageId the operation is about */
	uint32_t aux;		/* op specific: CallbackId, status, index */
	uint64_t arg0;		/* op specific */
	uint64_t arg1;		/* op specific */
};
_Static_assert(sizeof(struct lpc_wire) == 40, "wire header size");

/* Largest payload of a data transfer packet (DATA_WRITE, DATA_RESULT). */
#define LPC_WIRE_CHUNK 8192
/* Largest packet on the wire. */
#define LPC_WIRE_MAX (sizeof(struct lpc_wire) + LPC_WIRE_CHUNK)

/*
 * Per-op meaning of the fields:
 *  CONNECT   tid, msgid, arg0 = client view size (0: none),
 *            arg1 = section offset, aux = QoS (level | tracking << 8 |
 *            effective << 9), payload = connection information.
 *  ACCEPT    target, msgid, arg0 = server address of the client's view,
 *            arg1 = server view size (0: none), aux = max message length,
 *            payload = reply connection information.
 *  VIEWMAP   tid, arg0 = client address of the server view, aux = error.
 *  COMPLETE  target, msgid.
 *  REJECT    target, msgid, payload = reply connection information.
 *  REQUEST   tid, msgid, payload = PORT_MESSAGE + data.
 *  DATAGRAM  tid, msgid, payload = PORT_MESSAGE + data.
 *  REPLY     tid, target, msgid, payload = PORT_MESSAGE + data.
 *  CALLBACK  tid, target, msgid, aux = CallbackId, payload = message.
 *  CLOSE     tid, arg0 = closing process create time.
 *  TERMREG   tid, arg0 = thread create time.
 *  DIED      tid, msgid, arg0 = thread create time.
 *  DATA_READ/WRITE  tid, target, msgid, aux = entry index,
 *            arg0 = offset, arg1 = length; WRITE carries the bytes.
 *  DATA_RESULT  tid, target, msgid, aux = -error, arg0 = bytes done;
 *            the bytes read follow for a read.
 *  EXCEPTION tid, msgid, payload = PORT_MESSAGE + DBGKM data.
 */

enum lpc_wire_dir {
	LPC_WIRE_TO_SERVER,	/* received by the server end of a link */
	LPC_WIRE_TO_CLIENT,	/* received by the client end */
};

/*
 * lpc_wire_check - validate one received packet.
 * @buf/@len: the packet; @dir: which end received it; @max_msg: the
 * connection's MaxMessageLength (0 before it is known); @has_fd: whether
 * an fd arrived with it.
 * Returns 0 if the packet is well formed, -EPROTO otherwise.  Well formed
 * is about shape only; whether the state allows the op is the caller's.
 */
int lpc_wire_check(const void *buf, uint32_t len, enum lpc_wire_dir dir,
		   uint32_t max_msg, int has_fd);

/* The PORT_MESSAGE carried by a message op (valid after lpc_wire_check). */
static inline PORT_MESSAGE *lpc_wire_msg(const struct lpc_wire *w)
{
	return (PORT_MESSAGE *)(void *)(w + 1);
}

static inline void *lpc_wire_payload(const struct lpc_wire *w)
{
	return (void *)(w + 1);
}

/* Fill the fields every packet carries the same way. */
static inline void lpc_wire_seal(struct lpc_wire *w)
{
	w->magic = LPC_WIRE_MAGIC;
	w->version = LPC_WIRE_VERSION;
	w->pad[0] = w->pad[1] = w->pad[2] = 0;
}

int lpc_wire_is_msg_op(unsigned op);

#endif
