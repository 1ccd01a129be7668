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
#include "probes.h"
#include "sys.h"
#include "uaccess.h"

/* ------------------------------------------------------------------ */
/* Capturing the caller's message                                      */
/* ------------------------------------------------------------------ */

/* gcc says ASan with a macro, clang (afl-clang-fast, libFuzzer) with a
 * feature test. */
#if defined(__SANITIZE_ADDRESS__)
#define LPC_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LPC_ASAN 1
#endif
#endif
#ifndef LPC_ASAN
#define LPC_ASAN 0
#endif

int lpc_read_header(PORT_MESSAGE *h, const PORT_MESSAGE *u)
{
	if (!u || lpc_copy_from_user(h, u, sizeof(*h)))
		return -EFAULT;
	return 0;
}

/*
 * Read the caller's message into t->sbuf and probe up to two output
 * buffers for writing, in one kernel copy (each costs several ordinary
 * system calls).  The length is not known before the header is read, so
 * the copy takes the header and whatever follows it up to the largest
 * message -- but never past the page the header starts in: it touches no
 * page the message does not occupy.  Data beyond that page is read by
 * have_data() once the header says how much there is.  Sanitizer builds
 * read exactly, since their interceptors cannot know the kernel's copy
 * of the page's other bytes is harmless.
 */
static int capture(struct lpc_thread *t, const PORT_MESSAGE *u, void *out1,
		   size_t n1, void *out2, size_t n2)
{
	size_t page = 4096 - ((uintptr_t)u & 4095), want, got;
	struct lpc_ucopy c[3] = {
		{ out1, out1, n1 },
		{ out2, out2, n2 },
		{ t->sbuf, u, 0 },
	};

	want = LPC_HDR + LPC_MAX_MESSAGE_LENGTH;
	if (want > page)
		want = page > LPC_HDR ? page : LPC_HDR;
#if LPC_ASAN
	want = LPC_HDR;
#endif
	c[2].n = want;
	if (!u || lpc_ucopy_partial(c, 3, &got) || got < LPC_HDR)
		return -EFAULT;
	t->sbuf_have = (uint32_t)got;
	return 0;
}

static PORT_MESSAGE *cap_hdr(struct lpc_thread *t)
{
	return (PORT_MESSAGE *)(void *)t->sbuf;
}

/* After the length checks: the data the header announces, read if the
 * first copy stopped short of it; -EFAULT if it is not all readable. */
/*
 * lpc:send, from the captured (stamped) header: a request, datagram or
 * callback.  Fired with status 0 just before the handover, so that the
 * record exists even if the sender dies the moment after and comes before
 * the peer's receive; fired with the failure when the call refuses the
 * message, or (a second record) when the handover itself fails.
 */
static void probe_send(struct lpc_port *p, const PORT_MESSAGE *u,
		       struct lpc_thread *t, int r)
{
	if (LPC_PROBE_ENABLED(lpc, send)) {
		const PORT_MESSAGE *h = cap_hdr(t);
		long type = (uint16_t)h->u2.s2.Type, id = h->MessageId;
		long cb = h->CallbackId, dl = (uint16_t)h->u1.s1.DataLength;
		long tl = (uint16_t)h->u1.s1.TotalLength;
		long st = (long)lpc_status(r);

		STAP_PROBEV(lpc, send, p, type, id, cb, dl, tl, u, st);
	}
}

static int have_data(struct lpc_thread *t, const PORT_MESSAGE *u)
{
	uint32_t len = lpc_msg_copy_len(cap_hdr(t));

	if (len <= t->sbuf_have)
		return 0;
	/* Whatever the caller checked: no message outgrows what any port
	 * accepts, and the capture buffer is that big. */
	if (len > sizeof(t->sbuf))
		return -LPC_ETOOLONG;
	if (lpc_copy_from_user(t->sbuf + t->sbuf_have,
			       (const uint8_t *)u + t->sbuf_have,
			       len - t->sbuf_have))
		return -EFAULT;
	t->sbuf_have = len;
	return 0;
}

/* The captured message as a queued packet. */
static struct lpc_pkt *cap_pkt(struct lpc_thread *t)
{
	uint32_t len = lpc_msg_copy_len(cap_hdr(t));
	struct lpc_pkt *p = lpc_pkt_new(len);

	if (p) {
		memcpy(p->payload, t->sbuf, len);
		p->local = true;
	}
	return p;
}

static void stamp_new(PORT_MESSAGE *m, struct lpc_thread *t, uint16_t type,
		      uint32_t msgid)
{
	m->u2.s2.Type = (CSHORT)type;
	m->ClientId.UniqueProcess = (HANDLE)(uintptr_t)lpc_sys_pid();
	m->ClientId.UniqueThread = (HANDLE)(uintptr_t)t->tid;
	m->MessageId = msgid;
	m->ClientViewSize = 0;	/* CallbackId 0 for new messages */
}

static bool is_remote(const struct lpc_port *p)
{
	return p->kind == LPC_PORT_CLIENT || p->kind == LPC_PORT_SERVER;
}

/* Whether a port can still send. */
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

static void wire_for(struct lpc_wire *w, int op, uint8_t flags,
		     struct lpc_thread *t, pid_t target, uint32_t msgid,
		     uint32_t aux)
{
	memset(w, 0, sizeof(*w));
	w->op = (uint8_t)op;
	w->flags = flags;
	w->tid = t->tid;
	w->target = target;
	w->msgid = msgid;
	w->aux = aux;
}

static void drop_dinfo(struct lpc_thread *t);

/* Send the captured message (its header already stamped). */
static int send_captured(struct lpc_link *l, int op, uint8_t flags,
			 struct lpc_thread *t, pid_t target, uint32_t msgid,
			 uint32_t aux)
{
	struct lpc_wire w;

	wire_for(&w, op, flags, t, target, msgid, aux);
	return lpc_link_send(l, &w, t->sbuf, lpc_msg_copy_len(cap_hdr(t)),
			     NULL, 0, -1);
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
 * Deliver the captured reply (op REPLY, flags LPC_WF_WAIT for
 * NtReplyWaitReplyPort) or callback (op CALLBACK) to waiter w, which the
 * caller has matched.  Domain lock held.  On success the waiter is
 * consumed.  defer: leave a remote reply for the next drive to submit.
 */
static int deliver(struct lpc_domain *d, struct lpc_waiter *w,
		   struct lpc_thread *self, int op, uint8_t flags,
		   uint32_t cbid, bool defer)
{
	struct lpc_pkt *p;

	if (w->flags & LPC_W_REMOTE) {
		if (op == LPC_OP_CALLBACK && cap_hdr(self)->u2.s2.DataInfoOffset)
			flags |= LPC_WF_DATAINFO;
		if (defer) {
			uint32_t len = lpc_msg_copy_len(cap_hdr(self));

			wire_for(&self->psend.w, op, flags, self, w->tid,
				 w->msgid, cbid);
			self->psend.link = w->link;
			lpc_link_ref(w->link);
			self->psend.iov[1].iov_base = self->sbuf;
			self->psend.iov[1].iov_len = len;
			self->psend.active = true;
		} else if (send_captured(w->link, op, flags, self, w->tid,
					 w->msgid, cbid) == -LPC_EDISCONNECTED) {
			/* The requester's process is gone (its hangup not yet
			 * read): answer as NT does for a thread that no longer
			 * exists. */
			int r = lpc_sys_thread_exists(w->pid, w->tid) == 0
					? -LPC_EMISMATCH
					: -LPC_EINVALCID;

			lpc_dom_remove_waiter(d, w);
			lpc_waiter_free(w);
			return r;
		}
		lpc_dom_remove_waiter(d, w);
		lpc_waiter_free(w);
		return 0;
	}
	p = cap_pkt(self);
	if (!p)
		return -ENOMEM;
	lpc_dom_remove_waiter(d, w);
	lpc_dom_complete(d, w->thread, 0, p);
	return 0;
}

/* The header a reply carries (spec 5.10): the caller's, Type LPC_REPLY,
 * no data info. */
static void reply_header(PORT_MESSAGE *h)
{
	h->u2.s2.Type = LPC_REPLY;
	h->u2.s2.DataInfoOffset = 0;
}

/* NtReplyPort's checks and delivery of the captured reply; with
 * wait_again, the caller then waits for MessageId as NtReplyWaitReplyPort
 * does (returns with the wait registered).  Domain lock NOT held. */
static int reply_core(struct lpc_port *p, struct lpc_thread *t,
		      const PORT_MESSAGE *u, bool wait_again, bool defer)
{
	struct lpc_domain *d = p->dom;
	PORT_MESSAGE *h = cap_hdr(t);
	struct lpc_waiter *w;
	uint32_t id;
	int r;

	r = lpc_msg_check_max(h, p->max_msg);
	if (r)
		return r;
	r = have_data(t, u);
	if (r)
		return r;
	reply_header(h);
	lpc_dom_lock(d);
	r = lpc_match_waiter(d, p, h, LPC_W_REQUEST, &w);
	if (r)
		goto out;
	id = w->msgid;
	if (!wait_again) {
		r = deliver(d, w, t, LPC_OP_REPLY, 0, 0, defer);
	} else if (w->flags & LPC_W_REMOTE) {
		lpc_dom_wait_begin(d, t, LPC_TW_REPLY, w->link, t->tid, id);
		r = deliver(d, w, t, LPC_OP_REPLY, LPC_WF_WAIT, 0, false);
	} else {
		lpc_dom_wait_begin(d, t, LPC_TW_REPLY, NULL, t->tid, id);
		r = deliver(d, w, t, LPC_OP_REPLY, 0, 0, false);
		if (r == 0) {
			lpc_dom_index_self(d, t, p, t->tid, id, 0);
		}
	}
	if (r && wait_again)
		lpc_dom_wait_end(d, t);
out:
	lpc_dom_unlock(d);
	return r;
}

/* A reply attempt, delivered (r 0) or refused: lpc:reply, and the
 * thread's published last reply (dbg.c). */
static void reply_done(struct lpc_port *p, struct lpc_thread *t,
		       const PORT_MESSAGE *u, int r)
{
	const PORT_MESSAGE *h = cap_hdr(t);

	lpc_dbg_replied(t, h->MessageId,
			(uint32_t)(uintptr_t)h->ClientId.UniqueProcess,
			(uint32_t)(uintptr_t)h->ClientId.UniqueThread,
			(uint32_t)lpc_status(r));
	if (LPC_PROBE_ENABLED(lpc, reply)) {
		long id = h->MessageId, cb = h->CallbackId;
		long pid = (long)(uintptr_t)h->ClientId.UniqueProcess;
		long tid = (long)(uintptr_t)h->ClientId.UniqueThread;
		long dl = (uint16_t)h->u1.s1.DataLength;
		long st = (long)lpc_status(r);

		STAP_PROBEV(lpc, reply, p, id, cb, pid, tid, dl, u, st);
	}
}

/* A reply, matched to its requester (status 0) or refused. */
static int reply(struct lpc_port *p, struct lpc_thread *t,
		 const PORT_MESSAGE *u, bool wait_again, bool defer)
{
	int r = reply_core(p, t, u, wait_again, defer);

	reply_done(p, t, u, r);
	return r;
}

/* A reply refused by the checks made before the handle is referenced
 * (spec 3.3: lengths, MessageId 0): reported like any refused reply, on
 * the port of the handle if it names one (the status stays the
 * check's). */
static int reply_refused(HANDLE hp, struct lpc_thread *t,
			 const PORT_MESSAGE *u, int r)
{
	struct lpc_port *p;

	if (lpc_port_get(hp, &p) == 0) {
		reply_done(p, t, u, r);
		lpc_obj_unref(p);
	}
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
	drop_dinfo(t);
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
	PORT_MESSAGE *h;
	bool announced = false;
	int r;

	if (!t)
		return -ENOMEM;
	if (capture(t, u, NULL, 0, NULL, 0))
		return -EFAULT;
	h = cap_hdr(t);
	/* Datagrams carry no data info (spec 5.8). */
	if (h->u2.s2.DataInfoOffset)
		return -EINVAL;
	r = lpc_msg_check_lengths(h);
	if (r)
		return r;
	r = lpc_port_get(hp, &p);
	if (r)
		return r;
	r = lpc_msg_check_max(h, p->max_msg);
	if (!r)
		r = have_data(t, u);
	if (!r)
		r = can_send(p);
	if (r)
		goto out;
	stamp_new(h, t, LPC_DATAGRAM, lpc_next_message_id());
	probe_send(p, u, t, 0);
	announced = true;
	if (is_remote(p)) {
		r = send_captured(p->link, LPC_OP_DATAGRAM, 0, t, 0,
				  h->MessageId, 0);
	} else {
		struct lpc_pkt *k = cap_pkt(t);

		if (!k) {
			r = -ENOMEM;
			goto out;
		}
		lpc_dom_lock(p->dom);
		if ((r = can_send(p)) == 0)
			lpc_dom_enqueue(p->dom, k);
		else
			lpc_pkt_free(k);
		lpc_dom_unlock(p->dom);
	}
out:
	if (!announced || r)
		probe_send(p, u, t, r);
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

/* The captured message's data-info block, copied for the wait (the
 * requester's side serves NtRead/WriteRequestData from it). */
static int keep_dinfo(struct lpc_thread *t)
{
	uint32_t len = lpc_msg_copy_len(cap_hdr(t));

	if (!cap_hdr(t)->u2.s2.DataInfoOffset)
		return 0;
	free(t->sent);
	t->sent = malloc(len);
	if (!t->sent)
		return -ENOMEM;
	memcpy(t->sent, t->sbuf, len);
	t->sent_len = len;
	return 0;
}

static void drop_dinfo(struct lpc_thread *t)
{
	free(t->sent);
	t->sent = NULL;
	t->sent_len = 0;
}

/* A callback (spec 7.2): an LPC_REQUEST sent to a thread waiting on our
 * side, delivered as its reply; we then wait for its answer. */
static int callback(struct lpc_port *p, struct lpc_thread *t,
		    PORT_MESSAGE *urep)
{
	struct lpc_domain *d = p->dom;
	PORT_MESSAGE *h = cap_hdr(t);
	struct lpc_waiter *w;
	uint32_t id = h->MessageId, cbid;
	bool remote;
	int r;

	lpc_dom_lock(d);
	r = lpc_match_waiter(d, p, h, LPC_W_REQUEST, &w);
	if (r) {
		lpc_dom_unlock(d);
		probe_send(p, urep, t, r);
		drop_dinfo(t);
		return r;
	}
	remote = w->flags & LPC_W_REMOTE;
	cbid = lpc_next_callback_id();
	h->u2.s2.Type = LPC_REQUEST;
	h->ClientId.UniqueProcess = (HANDLE)(uintptr_t)lpc_sys_pid();
	h->ClientId.UniqueThread = (HANDLE)(uintptr_t)t->tid;
	h->ClientViewSize = 0;
	h->CallbackId = cbid;
	lpc_dom_wait_begin(d, t, LPC_TW_REPLY, remote ? w->link : NULL, t->tid,
			   id);
	probe_send(p, urep, t, 0);
	r = deliver(d, w, t, LPC_OP_CALLBACK, 0, cbid, false);
	if (r == 0 && !remote) {
		lpc_dom_index_self(d, t, p, t->tid, id, 0);
	}
	if (r) {
		probe_send(p, urep, t, r);
		drop_dinfo(t);
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
	PORT_MESSAGE *h;
	bool noimp, cb;
	uint16_t type;
	int r;

	if (!t)
		return -ENOMEM;
	if (t->exiting)
		return -LPC_ETERMINATING;
	/* The request in, the reply buffer probed: one system call. */
	if (!urep || capture(t, u, urep, sizeof(*urep), NULL, 0))
		return -EFAULT;
	h = cap_hdr(t);
	/* Spec 5.9: LPC_NO_IMPERSONATE (and the kernel-mode bit, which
	 * user mode cannot set) are stripped; 0 is a new request, and
	 * LPC_REQUEST a callback; anything else is refused. */
	noimp = (uint16_t)h->u2.s2.Type & (uint16_t)LPC_NO_IMPERSONATE;
	type = (uint16_t)h->u2.s2.Type &
	       (uint16_t) ~(LPC_NO_IMPERSONATE | LPC_KERNELMODE_MESSAGE);
	if (type != 0 && type != LPC_REQUEST)
		return -EINVAL;
	cb = type == LPC_REQUEST;
	r = lpc_msg_check_lengths(h);
	if (r)
		return r;
	if (cb && h->MessageId == 0)
		return -EINVAL;
	if (h->u2.s2.DataInfoOffset) {
		/* The data information lies in the data, read before the
		 * port (and its maximum, rule 4) is known: a message longer
		 * than any port takes is refused here (regression
		 * request-datainfo-sbuf-overflow). */
		if (lpc_msg_check_max(h, LPC_MAX_MESSAGE_LENGTH))
			return -LPC_ETOOLONG;
		r = have_data(t, u);
		if (r)
			return r;
		if (lpc_msg_datainfo(t->sbuf, lpc_msg_copy_len(h)) < 0)
			return -EINVAL;
	}
	r = lpc_port_get(hp, &p);
	if (r)
		return r;
	r = lpc_msg_check_max(h, p->max_msg);
	if (!r)
		r = have_data(t, u);
	if (!r)
		r = keep_dinfo(t);
	if (r)
		goto err;
	if (cb) {
		r = callback(p, t, urep);
		lpc_obj_unref(p);
		return r;
	}
	r = can_send(p);
	if (r)
		goto err;
	d = p->dom;
	stamp_new(h, t, LPC_REQUEST, lpc_next_message_id());
	if (is_remote(p)) {
		uint8_t flags = (noimp ? LPC_WF_NOIMP : 0) |
				(t->sent ? LPC_WF_DATAINFO : 0);

		lpc_dom_lock(d);
		lpc_dom_wait_begin(d, t, LPC_TW_REPLY, p->link, t->tid,
				   h->MessageId);
		probe_send(p, u, t, 0);
		r = send_captured(p->link, LPC_OP_REQUEST, flags, t, 0,
				  h->MessageId, 0);
		if (r) {
			lpc_dom_wait_end(d, t);
			lpc_dom_unlock(d);
			goto err;
		}
	} else {
		struct lpc_pkt *k = cap_pkt(t);

		if (!k) {
			r = -ENOMEM;
			goto err;
		}
		lpc_dom_lock(d);
		r = can_send(p);
		if (r) {
			lpc_dom_unlock(d);
			lpc_pkt_free(k);
			goto err;
		}
		lpc_dom_wait_begin(d, t, LPC_TW_REPLY, NULL, t->tid,
				   h->MessageId);
		lpc_dom_index_self(d, t, p, t->tid, h->MessageId,
				   noimp ? LPC_W_NOIMP : 0);
		probe_send(p, u, t, 0);
		lpc_dom_enqueue(d, k);
	}
	r = finish_wait(d, t, urep);
	lpc_obj_unref(p);
	return r;

err:
	probe_send(p, u, t, r);
	drop_dinfo(t);
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
	int r;

	if (!t)
		return -ENOMEM;
	if (capture(t, u, NULL, 0, NULL, 0))
		return -EFAULT;
	r = lpc_reply_precheck(cap_hdr(t));
	if (r)
		return reply_refused(hp, t, u, r);
	r = lpc_port_get(hp, &p);
	if (r)
		return r;
	r = reply(p, t, u, false, false);
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
	int r;

	if (!t)
		return -ENOMEM;
	if (capture(t, u, u, sizeof(*u), NULL, 0))
		return -EFAULT;
	r = lpc_reply_precheck(cap_hdr(t));
	if (r)
		return reply_refused(hp, t, u, r);
	r = lpc_port_get(hp, &p);
	if (r)
		return r;
	r = reply(p, t, u, true, false);
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
	lpc_dom_catch_up(d, t);
	for (;;) {
		k = lpc_dom_dequeue(d, listen_only);
		if (k)
			break;
		/* Waiting: a pending reply goes out with the wait. */
		if (d->dead) {
			r = -LPC_EDISCONNECTED;
			break;
		}
		t->listen_only = listen_only;
		t->peek_only = false;
		lpc_dom_wait_begin(d, t, LPC_TW_RECEIVE, NULL, 0, 0);
		r = lpc_dom_wait(d, t, dl);
		lpc_dom_wait_end(d, t);
		if (r)
			break;
	}
	lpc_dom_unlock(d);
	if (!k)
		return r;
	ctx = LPC_TYPE(lpc_pkt_msg(k)->u2.s2.Type) == LPC_CONNECTION_REQUEST
		      ? NULL
		      : k->context;
	{
		struct lpc_ucopy c[2] = { { urecv, k->payload, k->len },
					  { uctx, &ctx, sizeof(ctx) } };

		/* A buffer that cannot take the message leaves it queued
		 * (spec 13: never dequeue into a buffer that then faults). */
		if (lpc_ucopy(c, 2)) {
			lpc_dom_lock(d);
			lpc_dom_requeue_head(d, k);
			lpc_dom_unlock(d);
			return -EFAULT;
		}
	}
	{
		const PORT_MESSAGE *m = lpc_pkt_msg(k);
		unsigned type = (uint16_t)m->u2.s2.Type & 0x0fff;

		/* NT's LpcReceivedMessageId: what this thread now holds. */
		if (type == LPC_REQUEST || type == LPC_EXCEPTION)
			lpc_dbg_received(t, p->dom, type, m->MessageId,
				(uint32_t)(uintptr_t)m->ClientId.UniqueProcess,
				(uint32_t)(uintptr_t)m->ClientId.UniqueThread);
	}
	if (LPC_PROBE_ENABLED(lpc, receive)) {
		const PORT_MESSAGE *m = lpc_pkt_msg(k);
		long type = (uint16_t)m->u2.s2.Type, id = m->MessageId;
		/* The union holds ClientViewSize in a connection request. */
		long cb = (type & 0x0fff) == LPC_CONNECTION_REQUEST
				  ? 0 : (long)m->CallbackId;
		long pid = (long)(uintptr_t)m->ClientId.UniqueProcess;
		long tid = (long)(uintptr_t)m->ClientId.UniqueThread;
		long dlen = (uint16_t)m->u1.s1.DataLength;
		long tlen = (uint16_t)m->u1.s1.TotalLength;

		STAP_PROBEV(lpc, receive, p, type, id, cb, pid, tid, dlen,
			    tlen, urecv, ctx);
	}
	lpc_pkt_free(k);
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
	int r;

	if (!t)
		return -ENOMEM;
	if (!urecv)
		return -EFAULT;
	if ((uintptr_t)urecv & 3)
		return -LPC_EMISALIGNED;
	if (urep) {
		/* The reply in, both output buffers probed, before anything
		 * is consumed: one system call. */
		if (capture(t, urep, urecv, sizeof(*urecv), uctx,
			    uctx ? sizeof(*uctx) : 0))
			return -EFAULT;
		r = lpc_reply_precheck(cap_hdr(t));
		if (r)
			return reply_refused(hp, t, urep, r);
	} else {
		struct lpc_ucopy c[2] = { { urecv, urecv, sizeof(*urecv) },
					  { uctx, uctx, sizeof(*uctx) } };

		if (lpc_ucopy(c, 2))
			return -EFAULT;
	}
	if (utimeout && lpc_copy_from_user(&to, utimeout, sizeof(to)))
		return -EFAULT;
	r = lpc_port_get(hp, &p);
	if (r)
		return r;
	if (urep) {
		/* The reply rides with the wait for the next message (one
		 * io_uring submission), or goes out before it. */
		r = reply(p, t, urep, false, true);
		if (r)
			goto out;
	}
	dl = lpc_deadline(utimeout ? &to : NULL, &ts);
	r = lpc_receive(t, p, urecv, uctx, dl, false);
out:
	lpc_psend_flush(t);
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
