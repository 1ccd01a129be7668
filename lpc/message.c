/* SPDX-License-Identifier: MIT */
/*
 * message.c - NtRequestPort, NtRequestWaitReplyPort, NtReplyPort,
 * NtReplyWaitReplyPort, NtReplyWaitReceivePort(Ex) (spec 5.8-5.12, 7).
 *
 * Sending: a message through a client or server communication port goes
 * out on its link, straight from the caller's buffer (the kernel copies it
 * at send time, so the message is captured then, spec 3.3); through a
 * connection or unconnected port it is captured into the local queue.
 *
 * Replying: the target thread is found by the message's ClientId in the
 * index of the domain the handle belongs to, then must be waiting for that
 * MessageId, on an ordinary request, through a related port (spec 5.10,
 * 7.1).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ids.h"
#include "lpc_int.h"
#include "message.h"
#include "sys.h"
#include "uaccess.h"

/* ------------------------------------------------------------------ */
/* Capturing the caller's message                                      */
/* ------------------------------------------------------------------ */

int lpc_read_header(PORT_MESSAGE *h, const PORT_MESSAGE *u)
{
	if (!u || lpc_copy_from_user(h, u, sizeof(*h)))
		return -EFAULT;
	return 0;
}

/* Header plus ALIGN4(DataLength) of a checked message, into a packet. */
static struct lpc_pkt *capture(const PORT_MESSAGE *h, const PORT_MESSAGE *u,
			       int *err)
{
	uint32_t len = lpc_msg_copy_len(h);
	struct lpc_pkt *p = lpc_pkt_new(len);

	if (!p) {
		*err = -ENOMEM;
		return NULL;
	}
	memcpy(p->payload, h, sizeof(*h));
	if (lpc_copy_from_user(p->payload + sizeof(*h), u + 1,
			       len - sizeof(*h))) {
		lpc_pkt_free(p);
		*err = -EFAULT;
		return NULL;
	}
	return p;
}

/* Spec 7.3: a data-information block must fit the message. */
static int capture_dinfo(const PORT_MESSAGE *h, const PORT_MESSAGE *u,
			 uint8_t **out, uint32_t *outlen)
{
	uint32_t len = lpc_msg_copy_len(h);
	uint8_t *buf = malloc(len);

	if (!buf)
		return -ENOMEM;
	memcpy(buf, h, sizeof(*h));
	if (lpc_copy_from_user(buf + sizeof(*h), u + 1, len - sizeof(*h))) {
		free(buf);
		return -EFAULT;
	}
	if (lpc_msg_datainfo(buf, len) < 0) {
		free(buf);
		return -EINVAL;
	}
	*out = buf;
	*outlen = len;
	return 0;
}

static void stamp_new(PORT_MESSAGE *m, struct lpc_thread *t, uint16_t type,
		      uint32_t msgid)
{
	m->u2.s2.Type = (CSHORT)type;
	m->ClientId.UniqueProcess = (HANDLE)(uintptr_t)getpid();
	m->ClientId.UniqueThread = (HANDLE)(uintptr_t)t->tid;
	m->MessageId = msgid;
	m->ClientViewSize = 0;	/* CallbackId 0 for new messages */
}

static bool is_remote(const struct lpc_port *p)
{
	return p->kind == LPC_PORT_CLIENT || p->kind == LPC_PORT_SERVER;
}

/* Where a port's own messages go, and whether it can still send. */
static int can_send(struct lpc_port *p)
{
	if (is_remote(p)) {
		struct lpc_link *l = p->link;

		if (!l || l->hung_up || l->state != LPC_LINK_CONNECTED)
			return -LPC_EDISCONNECTED;
		return 0;
	}
	if (p->kind == LPC_PORT_CONNECTION && p->name_deleted)
		return -LPC_EDISCONNECTED;
	return 0;
}

static int send_remote(struct lpc_link *l, int op, uint8_t flags,
		       struct lpc_thread *t, pid_t target, uint32_t msgid,
		       uint32_t aux, const PORT_MESSAGE *h,
		       const PORT_MESSAGE *u, const uint8_t *captured)
{
	struct lpc_wire w = { .op = (uint8_t)op, .flags = flags };
	uint32_t dlen = lpc_msg_copy_len(h) - LPC_HDR;

	w.tid = t->tid;
	w.target = target;
	w.msgid = msgid;
	w.aux = aux;
	/* Data goes straight from the caller's buffer unless it was already
	 * captured (data info): a bad buffer is -EFAULT, nothing sent. */
	return lpc_link_send(l, &w, h, LPC_HDR,
			     captured ? captured + LPC_HDR : (const void *)(u + 1),
			     dlen, -1);
}

/* ------------------------------------------------------------------ */
/* Reply matching                                                      */
/* ------------------------------------------------------------------ */

/* Spec 5.10 (c): the handle must be related to the port the target's
 * request went through. */
static bool related(const struct lpc_port *h, const struct lpc_waiter *w)
{
	const struct lpc_port *p = w->port;

	if (!p)
		return false;
	if (h == p)
		return true;
	if (p->kind == LPC_PORT_SERVER && h == p->conn)
		return true;
	if (p->kind == LPC_PORT_CONNECTION && h->kind == LPC_PORT_SERVER &&
	    h->conn == p)
		return true;
	return false;
}

static int cid(const PORT_MESSAGE *m, pid_t *pid, pid_t *tid)
{
	uintptr_t p = (uintptr_t)m->ClientId.UniqueProcess;
	uintptr_t t = (uintptr_t)m->ClientId.UniqueThread;

	if (p == 0 || t == 0 || p > 0x7fffffff || t > 0x7fffffff)
		return -LPC_EINVALCID;
	*pid = (pid_t)p;
	*tid = (pid_t)t;
	return 0;
}

int lpc_match_waiter(struct lpc_domain *d, struct lpc_port *h,
		     const PORT_MESSAGE *m, int kind, struct lpc_waiter **out)
{
	struct lpc_waiter *w;
	pid_t pid, tid;

	if (cid(m, &pid, &tid))
		return -LPC_EINVALCID;
	w = lpc_dom_find_waiter(d, pid, tid);
	if (!w)
		return lpc_sys_thread_exists(pid, tid) == 0 ? -LPC_EMISMATCH
							    : -LPC_EINVALCID;
	if (w->msgid != m->MessageId || w->kind != kind || !related(h, w))
		return -LPC_EMISMATCH;
	*out = w;
	return 0;
}

/*
 * Deliver a reply (op REPLY, flags LPC_WF_WAIT for NtReplyWaitReplyPort)
 * or a callback (op CALLBACK) to waiter w, which the caller has matched.
 * Domain lock held.  On success the waiter is consumed.
 */
static int deliver(struct lpc_domain *d, struct lpc_waiter *w,
		   PORT_MESSAGE *h, const PORT_MESSAGE *u,
		   struct lpc_thread *self, int op, uint8_t flags,
		   uint32_t cbid, const uint8_t *captured)
{
	struct lpc_thread *target;
	struct lpc_pkt *p;
	int r;

	if (w->flags & LPC_W_REMOTE) {
		if (op == LPC_OP_CALLBACK && captured)
			flags |= LPC_WF_DATAINFO;
		r = send_remote(w->link, op, flags, self, w->tid, w->msgid, cbid,
				h, u, captured);
		if (r == -EFAULT || r == -ENOMEM)
			return r;	/* the target keeps waiting */
		lpc_dom_remove_waiter(d, w);
		lpc_waiter_free(w);
		/* A peer that vanished cannot be answered; NT drops the
		 * reply the same way. */
		return 0;
	}
	target = w->thread;
	if (captured) {
		uint32_t len = lpc_msg_copy_len(h);

		p = lpc_pkt_new(len);
		if (!p)
			return -ENOMEM;
		memcpy(p->payload, captured, len);
		memcpy(p->payload, h, LPC_HDR);
	} else {
		p = capture(h, u, &r);
		if (!p)
			return r;
	}
	lpc_dom_remove_waiter(d, w);
	lpc_dom_complete(d, target, 0, p);
	return 0;
}

/* The header a reply carries (spec 5.10): the caller's, Type LPC_REPLY,
 * no data info. */
static void reply_header(PORT_MESSAGE *h)
{
	h->u2.s2.Type = LPC_REPLY;
	h->u2.s2.DataInfoOffset = 0;
}

/* NtReplyPort's checks and delivery; with wait_again, the caller then
 * waits for MessageId as NtReplyWaitReplyPort does (returns with the wait
 * registered).  Domain lock NOT held. */
static int reply(struct lpc_port *p, struct lpc_thread *t, PORT_MESSAGE *h,
		 const PORT_MESSAGE *u, bool wait_again)
{
	struct lpc_domain *d = p->dom;
	struct lpc_waiter *w;
	int r;

	r = lpc_msg_check_max(h, p->max_msg);
	if (r)
		return r;
	reply_header(h);
	lpc_dom_lock(d);
	r = lpc_match_waiter(d, p, h, LPC_W_REQUEST, &w);
	if (r)
		goto out;
	if (wait_again) {
		if (w->flags & LPC_W_REMOTE) {
			lpc_dom_wait_begin(d, t, LPC_TW_REPLY, w->link, t->tid,
					   w->msgid);
			r = deliver(d, w, h, u, t, LPC_OP_REPLY, LPC_WF_WAIT, 0,
				    NULL);
		} else {
			uint32_t id = w->msgid;

			lpc_dom_wait_begin(d, t, LPC_TW_REPLY, NULL, t->tid, id);
			r = deliver(d, w, h, u, t, LPC_OP_REPLY, 0, 0, NULL);
			if (r == 0) {
				t->w = (struct lpc_waiter){
					.pid = getpid(), .tid = t->tid,
					.msgid = id, .kind = LPC_W_REQUEST,
					.port = p, .thread = t };
				lpc_dom_add_waiter(d, &t->w);
				t->w_indexed = true;
			}
		}
		if (r)
			lpc_dom_wait_end(d, t);
	} else {
		r = deliver(d, w, h, u, t, LPC_OP_REPLY, 0, 0, NULL);
	}
out:
	lpc_dom_unlock(d);
	return r;
}

/* ------------------------------------------------------------------ */
/* Waiting for a reply and handing it to the caller                    */
/* ------------------------------------------------------------------ */

/* Domain lock held, wait registered.  Waits, copies the reply out. */
static int finish_wait(struct lpc_domain *d, struct lpc_thread *t,
		       PORT_MESSAGE *urep)
{
	struct lpc_pkt *p;
	int r = lpc_dom_wait(d, t, NULL);

	if (r == 0)
		r = t->wstatus;
	if (t->w_indexed)
		lpc_dom_remove_waiter(d, &t->w);
	p = t->wpkt;
	t->wpkt = NULL;
	free(t->sent);
	t->sent = NULL;
	lpc_dom_wait_end(d, t);
	lpc_dom_unlock(d);
	if (r == 0 && !p)
		r = -LPC_EREPLYLOST;
	/* The reply is written now; a buffer freed meanwhile loses it
	 * (STATUS_ACCESS_VIOLATION, as on Windows: spec 5.9). */
	if (r == 0 && lpc_copy_to_user(urep, p->payload, p->len))
		r = -EFAULT;
	lpc_pkt_free(p);
	return r;
}

/* ------------------------------------------------------------------ */
/* NtRequestPort                                                       */
/* ------------------------------------------------------------------ */

static int request_port(HANDLE hp, PORT_MESSAGE *u)
{
	struct lpc_thread *t = lpc_self();
	struct lpc_port *p;
	PORT_MESSAGE h;
	int r;

	if (!t)
		return -ENOMEM;
	if (lpc_read_header(&h, u))
		return -EFAULT;
	/* Datagrams carry no data info (spec 5.8). */
	if (h.u2.s2.DataInfoOffset)
		return -EINVAL;
	r = lpc_msg_check_lengths(&h);
	if (r)
		return r;
	r = lpc_port_get(hp, &p);
	if (r)
		return r;
	r = lpc_msg_check_max(&h, p->max_msg);
	if (r)
		goto out;
	r = can_send(p);
	if (r)
		goto out;
	stamp_new(&h, t, LPC_DATAGRAM, lpc_next_message_id());
	if (is_remote(p)) {
		r = send_remote(p->link, LPC_OP_DATAGRAM, 0, t, 0, h.MessageId, 0,
				&h, u, NULL);
	} else {
		struct lpc_pkt *k = capture(&h, u, &r);

		if (k) {
			lpc_dom_lock(p->dom);
			if ((r = can_send(p)) == 0)
				lpc_dom_enqueue(p->dom, k);
			else
				lpc_pkt_free(k);
			lpc_dom_unlock(p->dom);
		}
	}
out:
	lpc_obj_unref(p);
	return r;
}

NTSTATUS NTAPI NtRequestPort(HANDLE PortHandle, PPORT_MESSAGE RequestMessage)
{
	return lpc_status(request_port(PortHandle, RequestMessage));
}

/* ------------------------------------------------------------------ */
/* NtRequestWaitReplyPort                                              */
/* ------------------------------------------------------------------ */

/* A callback (spec 7.2): an LPC_REQUEST sent to a thread waiting on our
 * side, delivered as its reply; we then wait for its answer. */
static int callback(struct lpc_port *p, struct lpc_thread *t, PORT_MESSAGE *h,
		    const PORT_MESSAGE *u, uint8_t *dinfo, uint32_t dlen,
		    PORT_MESSAGE *urep)
{
	struct lpc_domain *d = p->dom;
	struct lpc_waiter *w;
	uint32_t id = h->MessageId, cbid;
	int r;

	lpc_dom_lock(d);
	r = lpc_match_waiter(d, p, h, LPC_W_REQUEST, &w);
	if (r) {
		lpc_dom_unlock(d);
		free(dinfo);
		return r;
	}
	cbid = lpc_next_callback_id();
	h->u2.s2.Type = LPC_REQUEST;
	h->ClientId.UniqueProcess = (HANDLE)(uintptr_t)getpid();
	h->ClientId.UniqueThread = (HANDLE)(uintptr_t)t->tid;
	h->ClientViewSize = 0;
	h->CallbackId = cbid;
	if (w->flags & LPC_W_REMOTE) {
		lpc_dom_wait_begin(d, t, LPC_TW_REPLY, w->link, t->tid, id);
		t->sent = dinfo;
		t->sent_len = dlen;
		r = deliver(d, w, h, u, t, LPC_OP_CALLBACK, 0, cbid, dinfo);
	} else {
		lpc_dom_wait_begin(d, t, LPC_TW_REPLY, NULL, t->tid, id);
		t->sent = dinfo;
		t->sent_len = dlen;
		r = deliver(d, w, h, u, t, LPC_OP_CALLBACK, 0, cbid, dinfo);
		if (r == 0) {
			t->w = (struct lpc_waiter){ .pid = getpid(),
						    .tid = t->tid,
						    .msgid = id,
						    .kind = LPC_W_REQUEST,
						    .port = p,
						    .thread = t };
			lpc_dom_add_waiter(d, &t->w);
			t->w_indexed = true;
		}
	}
	if (r) {
		t->sent = NULL;
		free(dinfo);
		lpc_dom_wait_end(d, t);
		lpc_dom_unlock(d);
		return r;
	}
	return finish_wait(d, t, urep);
}

static int request_wait_reply(HANDLE hp, PORT_MESSAGE *u, PORT_MESSAGE *urep)
{
	struct lpc_thread *t = lpc_self();
	struct lpc_port *p = NULL;
	struct lpc_domain *d;
	uint8_t *dinfo = NULL;
	uint32_t dlen = 0;
	PORT_MESSAGE h;
	bool noimp, cb;
	uint16_t type;
	int r;

	if (!t)
		return -ENOMEM;
	if (t->exiting)
		return -LPC_ETERMINATING;
	if (!urep || lpc_read_header(&h, u) ||
	    lpc_probe_write(urep, sizeof(*urep)))
		return -EFAULT;
	/* Spec 5.9: LPC_NO_IMPERSONATE (and the kernel-mode bit, which
	 * user mode cannot set) are stripped; 0 is a new request, and
	 * LPC_REQUEST a callback; anything else is refused. */
	noimp = (uint16_t)h.u2.s2.Type & (uint16_t)LPC_NO_IMPERSONATE;
	type = (uint16_t)h.u2.s2.Type &
	       (uint16_t) ~(LPC_NO_IMPERSONATE | LPC_KERNELMODE_MESSAGE);
	if (type != 0 && type != LPC_REQUEST)
		return -EINVAL;
	cb = type == LPC_REQUEST;
	r = lpc_msg_check_lengths(&h);
	if (r)
		return r;
	if (cb && h.MessageId == 0)
		return -EINVAL;
	if (h.u2.s2.DataInfoOffset) {
		r = capture_dinfo(&h, u, &dinfo, &dlen);
		if (r)
			return r;
	}
	r = lpc_port_get(hp, &p);
	if (r)
		goto err;
	r = lpc_msg_check_max(&h, p->max_msg);
	if (r)
		goto err;
	if (cb) {
		r = callback(p, t, &h, u, dinfo, dlen, urep);
		lpc_obj_unref(p);
		return r;
	}
	r = can_send(p);
	if (r)
		goto err;
	d = p->dom;
	stamp_new(&h, t, LPC_REQUEST, lpc_next_message_id());
	if (is_remote(p)) {
		uint8_t flags = (noimp ? LPC_WF_NOIMP : 0) |
				(dinfo ? LPC_WF_DATAINFO : 0);

		lpc_dom_lock(d);
		lpc_dom_wait_begin(d, t, LPC_TW_REPLY, p->link, t->tid,
				   h.MessageId);
		t->sent = dinfo;
		t->sent_len = dlen;
		r = send_remote(p->link, LPC_OP_REQUEST, flags, t, 0,
				h.MessageId, 0, &h, u, dinfo);
		if (r) {
			t->sent = NULL;
			lpc_dom_wait_end(d, t);
			lpc_dom_unlock(d);
			goto err;
		}
	} else {
		struct lpc_pkt *k;

		if (dinfo) {
			k = lpc_pkt_new(dlen);
			if (k) {
				memcpy(k->payload, dinfo, dlen);
				memcpy(k->payload, &h, LPC_HDR);
			} else {
				r = -ENOMEM;
			}
		} else {
			k = capture(&h, u, &r);
		}
		if (!k)
			goto err;
		lpc_dom_lock(d);
		r = can_send(p);
		if (r) {
			lpc_dom_unlock(d);
			lpc_pkt_free(k);
			goto err;
		}
		lpc_dom_wait_begin(d, t, LPC_TW_REPLY, NULL, t->tid,
				   h.MessageId);
		t->sent = dinfo;
		t->sent_len = dlen;
		t->w = (struct lpc_waiter){ .pid = getpid(),
					    .tid = t->tid,
					    .msgid = h.MessageId,
					    .kind = LPC_W_REQUEST,
					    .flags = noimp ? LPC_W_NOIMP : 0,
					    .port = p,
					    .thread = t,
					    .dinfo = dinfo,
					    .dinfo_len = dlen };
		lpc_dom_add_waiter(d, &t->w);
		t->w_indexed = true;
		lpc_dom_enqueue(d, k);
	}
	r = finish_wait(d, t, urep);
	lpc_obj_unref(p);
	return r;

err:
	free(dinfo);
	if (p)
		lpc_obj_unref(p);
	return r;
}

NTSTATUS NTAPI NtRequestWaitReplyPort(HANDLE PortHandle,
				      PPORT_MESSAGE RequestMessage,
				      PPORT_MESSAGE ReplyMessage)
{
	return lpc_status(
		request_wait_reply(PortHandle, RequestMessage, ReplyMessage));
}

/* ------------------------------------------------------------------ */
/* NtReplyPort, NtReplyWaitReplyPort                                   */
/* ------------------------------------------------------------------ */

/* Spec 3.3 order for replies: lengths, MessageId, then the handle. */
int lpc_reply_precheck(const PORT_MESSAGE *h)
{
	int r = lpc_msg_check_lengths(h);

	if (r)
		return r;
	return h->MessageId == 0 ? -EINVAL : 0;
}

static int reply_port(HANDLE hp, PORT_MESSAGE *u)
{
	struct lpc_thread *t = lpc_self();
	struct lpc_port *p;
	PORT_MESSAGE h;
	int r;

	if (!t)
		return -ENOMEM;
	if (lpc_read_header(&h, u))
		return -EFAULT;
	r = lpc_reply_precheck(&h);
	if (r)
		return r;
	r = lpc_port_get(hp, &p);
	if (r)
		return r;
	r = reply(p, t, &h, u, false);
	lpc_obj_unref(p);
	return r;
}

NTSTATUS NTAPI NtReplyPort(HANDLE PortHandle, PPORT_MESSAGE ReplyMessage)
{
	return lpc_status(reply_port(PortHandle, ReplyMessage));
}

static int reply_wait_reply(HANDLE hp, PORT_MESSAGE *u)
{
	struct lpc_thread *t = lpc_self();
	struct lpc_port *p;
	PORT_MESSAGE h;
	int r;

	if (!t)
		return -ENOMEM;
	if (lpc_read_header(&h, u) || lpc_probe_write(u, sizeof(*u)))
		return -EFAULT;
	r = lpc_reply_precheck(&h);
	if (r)
		return r;
	r = lpc_port_get(hp, &p);
	if (r)
		return r;
	r = reply(p, t, &h, u, true);
	if (r == 0) {
		lpc_dom_lock(p->dom);
		r = finish_wait(p->dom, t, u);
	}
	lpc_obj_unref(p);
	return r;
}

NTSTATUS NTAPI NtReplyWaitReplyPort(HANDLE PortHandle,
				    PPORT_MESSAGE ReplyMessage)
{
	return lpc_status(reply_wait_reply(PortHandle, ReplyMessage));
}

/* ------------------------------------------------------------------ */
/* Receiving                                                           */
/* ------------------------------------------------------------------ */

int lpc_receive(struct lpc_thread *t, struct lpc_port *p, PORT_MESSAGE *urecv,
		PVOID *uctx, const struct timespec *dl, bool listen_only)
{
	struct lpc_domain *d = p->dom;
	struct lpc_pkt *k;
	void *ctx;
	int r = 0;

	lpc_dom_lock(d);
	for (;;) {
		k = lpc_dom_dequeue(d, listen_only);
		if (k)
			break;
		if (d->dead) {
			r = -LPC_EDISCONNECTED;
			break;
		}
		t->listen_only = listen_only;
		lpc_dom_wait_begin(d, t, LPC_TW_RECEIVE, NULL, 0, 0);
		r = lpc_dom_wait(d, t, dl);
		lpc_dom_wait_end(d, t);
		if (r)
			break;
	}
	lpc_dom_unlock(d);
	if (!k)
		return r;
	/* A buffer that cannot take the message leaves it queued (spec
	 * 13: never dequeue into a buffer that then faults). */
	if (lpc_copy_to_user(urecv, k->payload, k->len)) {
		lpc_dom_lock(d);
		lpc_dom_requeue_head(d, k);
		lpc_dom_unlock(d);
		return -EFAULT;
	}
	ctx = LPC_TYPE(lpc_pkt_msg(k)->u2.s2.Type) == LPC_CONNECTION_REQUEST
		      ? NULL
		      : k->context;
	lpc_pkt_free(k);
	if (uctx)
		lpc_copy_to_user(uctx, &ctx, sizeof(ctx));
	return 0;
}

static int reply_wait_receive(HANDLE hp, PVOID *uctx, PORT_MESSAGE *urep,
			      PORT_MESSAGE *urecv, PLARGE_INTEGER utimeout)
{
	struct lpc_thread *t = lpc_self();
	struct timespec ts;
	const struct timespec *dl;
	LARGE_INTEGER to;
	struct lpc_port *p;
	PORT_MESSAGE h;
	int r;

	if (!t)
		return -ENOMEM;
	if (!urecv)
		return -EFAULT;
	if ((uintptr_t)urecv & 3)
		return -LPC_EMISALIGNED;
	if (lpc_probe_write(urecv, sizeof(*urecv)))
		return -EFAULT;
	if (uctx && lpc_probe_write(uctx, sizeof(*uctx)))
		return -EFAULT;
	if (utimeout && lpc_copy_from_user(&to, utimeout, sizeof(to)))
		return -EFAULT;
	if (urep) {
		if (lpc_read_header(&h, urep))
			return -EFAULT;
		r = lpc_reply_precheck(&h);
		if (r)
			return r;
	}
	r = lpc_port_get(hp, &p);
	if (r)
		return r;
	if (urep) {
		r = reply(p, t, &h, urep, false);
		if (r)
			goto out;
	}
	dl = lpc_deadline(utimeout ? &to : NULL, &ts);
	r = lpc_receive(t, p, urecv, uctx, dl, false);
out:
	lpc_obj_unref(p);
	return r;
}

NTSTATUS NTAPI NtReplyWaitReceivePort(HANDLE PortHandle, PVOID *PortContext,
				      PPORT_MESSAGE ReplyMessage,
				      PPORT_MESSAGE ReceiveMessage)
{
	return lpc_status(reply_wait_receive(PortHandle, PortContext,
					     ReplyMessage, ReceiveMessage,
					     NULL));
}

NTSTATUS NTAPI NtReplyWaitReceivePortEx(HANDLE PortHandle, PVOID *PortContext,
					PPORT_MESSAGE ReplyMessage,
					PPORT_MESSAGE ReceiveMessage,
					PLARGE_INTEGER Timeout)
{
	int r = reply_wait_receive(PortHandle, PortContext, ReplyMessage,
				   ReceiveMessage, Timeout);

	/* STATUS_TIMEOUT is a success-class status (spec 5.11). */
	return r == -ETIMEDOUT ? STATUS_TIMEOUT : lpc_status(r);
}
