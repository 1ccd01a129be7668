/* SPDX-License-Identifier: MIT */
/*
 * link.c - one socket between a client port and a server communication
 * port: sending packets, and turning received packets into queued
 * messages and completed waits.  A peer that sends anything malformed or
 * out of turn is disconnected; nothing it sends can crash or stall the
 * process (docs/wire-protocol.md).
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "ids.h"
#include "lpc_int.h"
#include "sys.h"

#define LPC_MAX_TERM_REGS 1024

struct lpc_link *lpc_link_new(struct lpc_domain *d, int fd, bool server_side)
{
	struct lpc_link *l = calloc(1, sizeof(*l));
	int sz = 4 << 20;

	if (!l)
		return NULL;
	l->dom = d;
	l->fd = fd;
	l->req_fd = -1;
	l->server_side = server_side;
	l->state = server_side ? LPC_LINK_NEW : LPC_LINK_CONNECTING;
	atomic_init(&l->refs, 1);
	/* Room for bursts; the kernel clamps to wmem_max. */
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	return l;
}

void lpc_link_accept(struct lpc_domain *d, int fd)
{
	struct lpc_link *l;

	lpc_fd_track(fd);
	l = lpc_link_new(d, fd, true);
	if (!l) {
		lpc_fd_close(fd);
		return;
	}
	if (lpc_link_peercred(l) < 0) {
		lpc_link_unref(l);
		return;
	}
	l->max_msg = d->max_msg;
	lpc_dom_add_link(d, l);
	lpc_link_unref(l);
}

void lpc_link_ref(struct lpc_link *l)
{
	atomic_fetch_add(&l->refs, 1);
}

void lpc_link_unref(struct lpc_link *l)
{
	if (!l || atomic_fetch_sub(&l->refs, 1) != 1)
		return;
	lpc_fd_close(l->fd);
	lpc_fd_close(l->req_fd);
	free(l->groups);
	free(l->term);
	free(l);
}

int lpc_link_peercred(struct lpc_link *l)
{
	struct ucred uc;
	socklen_t len = sizeof(uc);
	gid_t groups[64];

	if (getsockopt(l->fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) < 0)
		return -errno;
	l->peer_pid = uc.pid;
	l->peer_uid = uc.uid;
	l->peer_gid = uc.gid;
	len = sizeof(groups);
	if (getsockopt(l->fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) == 0) {
		l->ngroups = (int)(len / sizeof(gid_t));
		l->groups = malloc(len ? len : 1);
		if (!l->groups)
			return -ENOMEM;
		memcpy(l->groups, groups, len);
	}
	l->peer_ctime = lpc_proc_ctime(l->peer_pid, 0);
	return 0;
}

int lpc_link_send(struct lpc_link *l, struct lpc_wire *w, const void *hdr,
		  uint32_t hlen, const void *data, uint32_t dlen, int fd)
{
	struct iovec iov[3];
	int n = 0;
	ssize_t r;

	lpc_wire_seal(w);
	iov[n].iov_base = w;
	iov[n++].iov_len = sizeof(*w);
	if (hlen) {
		iov[n].iov_base = (void *)hdr;
		iov[n++].iov_len = hlen;
	}
	if (dlen) {
		iov[n].iov_base = (void *)data;
		iov[n++].iov_len = dlen;
	}
	for (;;) {
		if (l->hung_up)
			return -LPC_EDISCONNECTED;
		r = lpc_sys_send(l->fd, iov, n, fd);
		if (r >= 0)
			return 0;
		if (r == -EAGAIN)
			/* The peer's queue is full: NT's answer when a
			 * port's message quota is used up.  No send ever
			 * blocks (docs/decisions.md). */
			return -ENOMEM;
		if (r == -EPIPE || r == -ECONNRESET || r == -ENOTCONN)
			return -LPC_EDISCONNECTED;
		return (int)r;
	}
}

/* ------------------------------------------------------------------ */
/* Who is speaking                                                     */
/* ------------------------------------------------------------------ */

static bool tid_cached(struct lpc_link *l, pid_t tid)
{
	for (unsigned i = 0; i < 8; i++)
		if (l->tidcache[i] == tid)
			return true;
	return false;
}

/*
 * Is tid one of the peer's threads?  The process half of every ClientId
 * comes from SO_PEERCRED; the thread half comes from the packet and must
 * name a thread of that process.  A thread that has already exited
 * cannot be checked: that is accepted where the sender need not be alive
 * (a datagram sent just before exiting), refused where it must be blocked
 * waiting.  A tid that is alive in another process is always a forgery.
 */
static bool tid_ok(struct lpc_link *l, pid_t tid, bool must_live)
{
	int r;

	if (tid_cached(l, tid))
		return true;
	r = lpc_sys_thread_exists(l->peer_pid, tid);
	if (r == 0) {
		l->tidcache[l->tidnext++ % 8] = tid;
		return true;
	}
	if (must_live)
		return false;
	return kill(tid, 0) < 0 && errno == ESRCH;
}

/* ------------------------------------------------------------------ */
/* Tearing down                                                        */
/* ------------------------------------------------------------------ */

static void wake_receivers(struct lpc_domain *d)
{
	for (struct lpc_thread *t = d->waiting; t; t = t->wnext)
		if (t->wkind == LPC_TW_RECEIVE)
			pthread_cond_signal(&t->cond);
	if (d->driving && !lpc_is_self(d->driver) && d->be && d->be->wake)
		d->be->wake(d);
}

struct lpc_pkt *lpc_notice_pkt(uint16_t type, pid_t pid, pid_t tid,
			       uint32_t msgid, int64_t ctime, void *context)
{
	struct lpc_pkt *p = lpc_pkt_new(sizeof(CLIENT_DIED_MSG));
	CLIENT_DIED_MSG *m;

	if (!p)
		return NULL;
	m = (CLIENT_DIED_MSG *)(void *)p->payload;
	memset(m, 0, sizeof(*m));
	m->PortMsg.u1.s1.DataLength = sizeof(LARGE_INTEGER);
	m->PortMsg.u1.s1.TotalLength = sizeof(CLIENT_DIED_MSG);
	m->PortMsg.u2.s2.Type = (CSHORT)type;
	m->PortMsg.ClientId.UniqueProcess = (HANDLE)(uintptr_t)pid;
	m->PortMsg.ClientId.UniqueThread = (HANDLE)(uintptr_t)tid;
	m->PortMsg.MessageId = msgid ? msgid : lpc_next_message_id();
	m->CreateTime.QuadPart = ctime;
	p->context = context;
	return p;
}

/* Queue a packet that came from link l, counted against its quota. */
static void enqueue_from(struct lpc_link *l, struct lpc_pkt *p)
{
	p->src = l;
	lpc_link_ref(l);
	lpc_dom_enqueue(l->dom, p);
}

static void *link_context(struct lpc_link *l)
{
	return l->server_side && l->port ? l->port->context : NULL;
}

/* The peer vanished without saying goodbye (exit, kill -9, violation):
 * say for it what its threads and its port would have said (spec 8.1,
 * 8.2) -- LPC_CLIENT_DIED for each registered thread, then, for a client,
 * LPC_PORT_CLOSED. */
static void synthesize_deaths(struct lpc_link *l)
{
	struct lpc_domain *d = l->dom;
	struct lpc_pkt *p;

	for (int i = 0; i < l->nterm; i++) {
		p = lpc_notice_pkt(LPC_CLIENT_DIED, l->peer_pid, l->term[i].tid, 0,
			   l->term[i].ctime, link_context(l));
		if (p)
			lpc_dom_enqueue(d, p);
	}
	l->nterm = 0;
	if (l->server_side && !l->peer_closed) {
		/* Nobody is left to name the closing thread: name the
		 * process's main thread (tid == pid on Linux). */
		p = lpc_notice_pkt(LPC_PORT_CLOSED, l->peer_pid, l->peer_pid, 0,
			   l->peer_ctime, link_context(l));
		if (p)
			lpc_dom_enqueue(d, p);
		l->peer_closed = true;
	}
}

static void link_down(struct lpc_link *l, bool notices)
{
	struct lpc_domain *d = l->dom;
	int status;

	if (l->hung_up)
		return;
	l->hung_up = true;
	lpc_sys_shutdown(l->fd);
	/* Local threads waiting on the peer wake with what NT reports. */
	if (!l->server_side && (l->state == LPC_LINK_CONNECTING ||
				l->state == LPC_LINK_ACCEPTED))
		status = -LPC_EREFUSED;
	else
		status = -LPC_EREPLYLOST;
	lpc_dom_fail_waits(d, l, status);
	lpc_dom_drop_link_waiters(d, l);
	if (l->server_side && l->state == LPC_LINK_REQUESTED) {
		/* A connection request still queued stays queued: accepting
		 * it later reports that its thread is gone. */
		l->state = LPC_LINK_DEAD;
	} else if (l->state == LPC_LINK_ACCEPTED ||
		   l->state == LPC_LINK_CONNECTED) {
		if (notices)
			synthesize_deaths(l);
		l->state = LPC_LINK_DEAD;
	} else {
		l->state = LPC_LINK_DEAD;
	}
	if (!l->server_side) {
		d->dead = true;
		wake_receivers(d);
	} else {
		lpc_dom_remove_link(d, l);
	}
}

void lpc_link_hangup(struct lpc_link *l)
{
	link_down(l, true);
}

void lpc_link_shutdown(struct lpc_link *l)
{
	link_down(l, false);
}

static void violation(struct lpc_link *l)
{
	l->violations++;
	link_down(l, true);
}

/* ------------------------------------------------------------------ */
/* Building received messages                                          */
/* ------------------------------------------------------------------ */

static struct lpc_pkt *msg_pkt(const struct lpc_wire *w, const void *body,
			       uint32_t blen)
{
	struct lpc_pkt *p = lpc_pkt_new(blen);

	if (!p)
		return NULL;
	memcpy(&p->w, w, sizeof(*w));
	memcpy(p->payload, body, blen);
	return p;
}

/* Stamp what the receiving kernel stamps (spec 5.8, 5.9, 7.2). */
static void stamp(PORT_MESSAGE *m, uint16_t type, pid_t pid, pid_t tid,
		  uint32_t msgid, uint32_t callback_id, bool keep_dinfo)
{
	m->u2.s2.Type = (CSHORT)type;
	if (!keep_dinfo)
		m->u2.s2.DataInfoOffset = 0;
	m->ClientId.UniqueProcess = (HANDLE)(uintptr_t)pid;
	m->ClientId.UniqueThread = (HANDLE)(uintptr_t)tid;
	m->MessageId = msgid;
	m->ClientViewSize = 0;
	m->CallbackId = callback_id;
}

static struct lpc_waiter *remote_waiter(struct lpc_link *l, pid_t tid,
					uint32_t msgid, int kind,
					struct lpc_port *port)
{
	struct lpc_waiter *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->pid = l->peer_pid;
	w->tid = tid;
	w->msgid = msgid;
	w->kind = (uint8_t)kind;
	w->flags = LPC_W_REMOTE;
	w->port = port;
	w->link = l;
	lpc_link_ref(l);
	return w;
}

static int save_dinfo(struct lpc_waiter *w, const void *msg, uint32_t len)
{
	w->dinfo = malloc(len);
	if (!w->dinfo)
		return -ENOMEM;
	memcpy(w->dinfo, msg, len);
	w->dinfo_len = len;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Input                                                               */
/* ------------------------------------------------------------------ */

static void in_connect(struct lpc_link *l, const struct lpc_wire *w,
		       const uint8_t *body, uint32_t blen, int *fd)
{
	struct lpc_domain *d = l->dom;
	struct lpc_port *cp = d->conn_port;
	struct lpc_waiter *wt;
	struct lpc_pkt *p;
	PORT_MESSAGE *m;

	if (l->state != LPC_LINK_NEW || !tid_ok(l, w->tid, true) ||
	    lpc_dom_find_waiter(d, l->peer_pid, w->tid))
		return violation(l);
	if (!cp || cp->name_deleted)
		return lpc_link_shutdown(l);
	p = lpc_pkt_new(LPC_HDR + LPC_ALIGN4(blen));
	wt = remote_waiter(l, w->tid, w->msgid, LPC_W_CONNECT, cp);
	if (!p || !wt) {
		lpc_pkt_free(p);
		lpc_waiter_free(wt);
		return lpc_link_shutdown(l);
	}
	memset(p->payload, 0, p->len);
	m = lpc_pkt_msg(p);
	m->u1.s1.DataLength = (CSHORT)blen;
	m->u1.s1.TotalLength = (CSHORT)(LPC_HDR + blen);
	stamp(m, LPC_CONNECTION_REQUEST, l->peer_pid, w->tid, w->msgid, 0,
	      false);
	m->ClientViewSize = (SIZE_T)w->arg0;
	memcpy(m + 1, body, blen);
	p->w = *w;
	l->req_tid = w->tid;
	l->req_msgid = w->msgid;
	l->req_view_size = w->arg0;
	l->req_view_off = w->arg1;
	l->req_qos = w->aux;
	l->req_fd = *fd;
	*fd = -1;
	l->state = LPC_LINK_REQUESTED;
	lpc_dom_add_waiter(d, wt);
	enqueue_from(l, p);
}

static void in_message(struct lpc_link *l, const struct lpc_wire *w,
		       const uint8_t *body, uint32_t blen)
{
	struct lpc_domain *d = l->dom;
	bool waits = w->op != LPC_OP_DATAGRAM;
	bool dinfo = w->flags & LPC_WF_DATAINFO;
	struct lpc_waiter *wt = NULL;
	struct lpc_pkt *p;
	uint16_t type = w->op == LPC_OP_DATAGRAM    ? LPC_DATAGRAM
			: w->op == LPC_OP_EXCEPTION ? LPC_EXCEPTION
						    : LPC_REQUEST;

	if (l->state != LPC_LINK_CONNECTED || !tid_ok(l, w->tid, waits))
		return violation(l);
	if (waits && lpc_dom_find_waiter(d, l->peer_pid, w->tid))
		return violation(l);
	p = msg_pkt(w, body, blen);
	if (!p)
		return lpc_link_shutdown(l);
	stamp(lpc_pkt_msg(p), type, l->peer_pid, w->tid, w->msgid, 0, dinfo);
	p->context = link_context(l);
	if (waits) {
		wt = remote_waiter(l, w->tid, w->msgid, LPC_W_REQUEST, l->port);
		if (!wt || (dinfo && save_dinfo(wt, body, blen))) {
			lpc_waiter_free(wt);
			lpc_pkt_free(p);
			return lpc_link_shutdown(l);
		}
		if (w->flags & LPC_WF_NOIMP)
			wt->flags |= LPC_W_NOIMP;
		lpc_dom_add_waiter(d, wt);
	}
	enqueue_from(l, p);
}

static void in_reply(struct lpc_link *l, const struct lpc_wire *w,
		     const uint8_t *body, uint32_t blen)
{
	struct lpc_domain *d = l->dom;
	bool callback = w->op == LPC_OP_CALLBACK;
	bool again = callback || (w->flags & LPC_WF_WAIT);
	struct lpc_waiter *wt = NULL;
	struct lpc_thread *t;
	struct lpc_pkt *p;
	PORT_MESSAGE *m;

	if (l->state != LPC_LINK_CONNECTED || !tid_ok(l, w->tid, again))
		return violation(l);
	t = lpc_dom_find_thread(d, LPC_TW_REPLY, l, w->target, w->msgid);
	if (!t || (again && lpc_dom_find_waiter(d, l->peer_pid, w->tid)))
		return violation(l);
	p = msg_pkt(w, body, blen);
	if (!p)
		return lpc_link_shutdown(l);
	m = lpc_pkt_msg(p);
	if (callback) {
		stamp(m, LPC_REQUEST, l->peer_pid, w->tid, w->msgid, w->aux,
		      w->flags & LPC_WF_DATAINFO);
	} else {
		/* A reply keeps the header the replier wrote (ClientId
		 * included, spec Q5), with Type LPC_REPLY. */
		m->u2.s2.Type = LPC_REPLY;
		m->u2.s2.DataInfoOffset = 0;
		m->MessageId = w->msgid;
	}
	if (again) {
		wt = remote_waiter(l, w->tid, w->msgid, LPC_W_REQUEST, l->port);
		if (!wt || ((w->flags & LPC_WF_DATAINFO) &&
			    save_dinfo(wt, body, blen))) {
			lpc_waiter_free(wt);
			lpc_pkt_free(p);
			return lpc_link_shutdown(l);
		}
		lpc_dom_add_waiter(d, wt);
	}
	lpc_dom_complete(d, t, 0, p);
}

static void in_notice(struct lpc_link *l, const struct lpc_wire *w)
{
	struct lpc_domain *d = l->dom;
	struct lpc_pkt *p;

	/* A server may register its port between accept and complete (spec
	 * 5.16: any port; regression termreg-before-complete-refuses): its
	 * client is then still ACCEPTED. */
	bool early = l->state == LPC_LINK_ACCEPTED && !l->server_side &&
		     w->op != LPC_OP_CLOSE;

	if ((l->state != LPC_LINK_CONNECTED && !early) ||
	    !tid_ok(l, w->tid, false))
		return violation(l);
	switch (w->op) {
	case LPC_OP_TERMREG:
		if (l->nterm == LPC_MAX_TERM_REGS)
			return violation(l);
		if (l->nterm == l->capterm) {
			int cap = l->capterm ? l->capterm * 2 : 4;
			struct lpc_term_reg *n =
				realloc(l->term, (size_t)cap * sizeof(*n));

			if (!n)
				return lpc_link_shutdown(l);
			l->term = n;
			l->capterm = cap;
		}
		l->term[l->nterm].tid = w->tid;
		l->term[l->nterm++].ctime = (int64_t)w->arg0;
		return;
	case LPC_OP_DIED:
		for (int i = l->nterm - 1; i >= 0; i--) {
			if (l->term[i].tid == w->tid) {
				memmove(&l->term[i], &l->term[i + 1],
					(size_t)(l->nterm - i - 1) *
						sizeof(l->term[0]));
				l->nterm--;
				break;
			}
		}
		p = lpc_notice_pkt(LPC_CLIENT_DIED, l->peer_pid, w->tid, w->msgid,
			   (int64_t)w->arg0, link_context(l));
		if (p)
			lpc_dom_enqueue(d, p);
		return;
	case LPC_OP_CLOSE:
		if (!l->server_side)
			return violation(l);
		p = lpc_notice_pkt(LPC_PORT_CLOSED, l->peer_pid, w->tid, 0,
			   l->peer_ctime, link_context(l));
		if (p)
			lpc_dom_enqueue(d, p);
		l->peer_closed = true;
		/* The client port is gone: disconnect, say nothing more. */
		return lpc_link_shutdown(l);
	}
}

/* Serve NtRead/WriteRequestData for one of our threads waiting on a
 * request that carries data info (spec 7.3): the copy runs here, in the
 * process that owns the buffers, on our own pid. */
static void in_data(struct lpc_link *l, const struct lpc_wire *w,
		    const uint8_t *body, uint32_t blen)
{
	struct lpc_domain *d = l->dom;
	struct lpc_wire out = { .op = LPC_OP_DATA_RESULT };
	uint8_t buf[LPC_WIRE_CHUNK];
	struct lpc_thread *t;
	PORT_DATA_ENTRY e;
	ssize_t n = 0;
	int err = 0, count;

	if (l->state != LPC_LINK_CONNECTED || !tid_ok(l, w->tid, true))
		return violation(l);
	t = lpc_dom_find_thread(d, LPC_TW_REPLY, l, w->target, w->msgid);
	if (!t || !t->sent) {
		err = -LPC_EMISMATCH;
		goto answer;
	}
	count = lpc_msg_datainfo(t->sent, t->sent_len);
	if (count < 0 || w->aux >= (uint32_t)count) {
		err = -EINVAL;
		goto answer;
	}
	lpc_msg_dataentry(t->sent, w->aux, &e);
	if (w->arg0 > e.Size || w->arg1 > e.Size - w->arg0) {
		err = -EINVAL;
		goto answer;
	}
	if (w->op == LPC_OP_DATA_READ)
		n = lpc_sys_vm_read(buf, (char *)e.Base + w->arg0, w->arg1);
	else
		n = lpc_sys_vm_write((char *)e.Base + w->arg0, body, blen);
	if (n < 0) {
		err = n == -EFAULT || n == -EINVAL ? -EFAULT : (int)n;
		n = 0;
	}
answer:
	out.tid = t ? t->tid : w->target;
	out.target = w->tid;
	out.msgid = w->msgid;
	out.aux = (uint32_t)-err;
	out.arg0 = (uint64_t)n;
	lpc_link_send(l, &out, NULL, 0,
		      w->op == LPC_OP_DATA_READ ? buf : NULL,
		      w->op == LPC_OP_DATA_READ ? (uint32_t)n : 0, -1);
}

/* A packet that completes one local thread's wait as it is. */
static void in_deliver(struct lpc_link *l, const struct lpc_wire *w,
		       const uint8_t *body, uint32_t blen, int *fd, int kind)
{
	struct lpc_domain *d = l->dom;
	struct lpc_thread *t;
	struct lpc_pkt *p;
	pid_t who = kind == LPC_TW_VIEW ? w->tid : w->target;

	if (!tid_ok(l, w->tid, false))
		return violation(l);
	t = lpc_dom_find_thread(d, kind, l, who,
				kind == LPC_TW_VIEW ? l->req_msgid : w->msgid);
	if (!t)
		return violation(l);
	p = msg_pkt(w, body, blen);
	if (!p)
		return lpc_link_shutdown(l);
	p->fd = *fd;
	*fd = -1;
	lpc_dom_complete(d, t, 0, p);
}

void lpc_link_input(struct lpc_link *l, const void *buf, uint32_t len, int fd,
		    bool trunc)
{
	struct lpc_wire w;
	const uint8_t *body = (const uint8_t *)buf + sizeof(w);
	uint32_t blen;

	if (l->hung_up)
		goto out;
	if (trunc || lpc_wire_check(buf, len,
				    l->server_side ? LPC_WIRE_TO_SERVER
						   : LPC_WIRE_TO_CLIENT,
				    l->max_msg, fd >= 0)) {
		violation(l);
		goto out;
	}
	memcpy(&w, buf, sizeof(w));
	blen = len - (uint32_t)sizeof(w);

	switch (w.op) {
	case LPC_OP_CONNECT:
		in_connect(l, &w, body, blen, &fd);
		break;
	case LPC_OP_REQUEST:
	case LPC_OP_DATAGRAM:
	case LPC_OP_EXCEPTION:
		in_message(l, &w, body, blen);
		break;
	case LPC_OP_REPLY:
	case LPC_OP_CALLBACK:
		in_reply(l, &w, body, blen);
		break;
	case LPC_OP_CLOSE:
	case LPC_OP_TERMREG:
	case LPC_OP_DIED:
		in_notice(l, &w);
		break;
	case LPC_OP_DATA_READ:
	case LPC_OP_DATA_WRITE:
		in_data(l, &w, body, blen);
		break;
	case LPC_OP_DATA_RESULT:
		if (l->state != LPC_LINK_CONNECTED)
			violation(l);
		else
			in_deliver(l, &w, body, blen, &fd, LPC_TW_DATA);
		break;
	case LPC_OP_VIEWMAP:
		if (l->state != LPC_LINK_ACCEPTED)
			violation(l);
		else
			in_deliver(l, &w, body, blen, &fd, LPC_TW_VIEW);
		break;
	case LPC_OP_ACCEPT:
	case LPC_OP_REJECT:
		if (l->state != LPC_LINK_CONNECTING) {
			violation(l);
			break;
		}
		if (w.op == LPC_OP_ACCEPT)
			l->state = LPC_LINK_ACCEPTED;
		in_deliver(l, &w, body, blen, &fd, LPC_TW_CONNECT);
		break;
	case LPC_OP_COMPLETE:
		if (l->state != LPC_LINK_ACCEPTED) {
			violation(l);
			break;
		}
		l->state = LPC_LINK_CONNECTED;
		in_deliver(l, &w, body, blen, &fd, LPC_TW_CONNECT);
		break;
	}
out:
	if (fd >= 0)
		lpc_fd_close(fd);
}
