/* SPDX-License-Identifier: MIT */
/*
 * port.c - NtCreatePort, NtCreateWaitablePort, NtClose, port deletion per
 * kind (spec 8.1), NtRegisterThreadTerminatePort and thread-exit notices,
 * NtQueryInformationPort, NtWaitForSingleObject and lpc_port_fd.
 */
#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ids.h"
#include "lpc_int.h"
#include "name.h"
#include "ns.h"
#include "probes.h"
#include "sys.h"
#include "uaccess.h"

struct lpc_port *lpc_port_alloc(int kind, struct lpc_domain *d)
{
	struct lpc_port *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->obj.type = LPC_OBJ_PORT;
	atomic_init(&p->obj.refs, 1);
	p->kind = (uint8_t)kind;
	p->dom = d;
	lpc_dom_ref(d);
	return p;
}

/* Readiness for lpc_port_fd: an epoll set holding the transport's own
 * readiness fd and the queue's eventfd. */
static int make_waitable(struct lpc_domain *d, int transport_fd)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int nfd = lpc_sys_eventfd(), ep;

	if (nfd < 0)
		return nfd;
	d->notify_fd = lpc_fd_track(nfd);
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		return -errno;
	d->wait_fd = lpc_fd_track(ep);
	if (epoll_ctl(ep, EPOLL_CTL_ADD, nfd, &ev) < 0)
		return -errno;
	if (transport_fd >= 0 &&
	    epoll_ctl(ep, EPOLL_CTL_ADD, transport_fd, &ev) < 0)
		return -errno;
	d->waitable = true;
	return 0;
}

/* Read an OBJECT_ATTRIBUTES name into a namespace path.  *named = false
 * for no name.  Order follows NT's object-attribute capture. */
static int capture_name(POBJECT_ATTRIBUTES uoa, char *rel, size_t relsz,
			bool *named)
{
	OBJECT_ATTRIBUTES oa;
	UNICODE_STRING us;
	uint16_t *w;
	int r;

	*named = false;
	if (lpc_copy_from_user(&oa, uoa, sizeof(oa)))
		return -EFAULT;
	if (oa.Length != sizeof(OBJECT_ATTRIBUTES))
		return -EINVAL;
	if (oa.Attributes & ~(ULONG)OBJ_CASE_INSENSITIVE)
		return -EINVAL;
	if (oa.RootDirectory) {
		void *o;

		/* There are no directory objects to be relative to. */
		r = lpc_handle_get(oa.RootDirectory, LPC_OBJ_PORT, &o);
		if (r == 0)
			lpc_obj_unref(o);
		return r == -EBADF ? -EBADF : -LPC_ETYPE;
	}
	if (!oa.ObjectName)
		return 0;
	if (lpc_copy_from_user(&us, oa.ObjectName, sizeof(us)))
		return -EFAULT;
	if (us.Length == 0)
		return 0;
	if (us.Length & 1)
		return -LPC_ENAMEINVALID;
	w = malloc(us.Length);
	if (!w)
		return -ENOMEM;
	if (lpc_copy_from_user(w, us.Buffer, us.Length)) {
		free(w);
		return -EFAULT;
	}
	r = lpc_name_to_path(w, us.Length / 2, rel, relsz);
	free(w);
	if (r == 0)
		*named = true;
	return r;
}

static int create_port(PHANDLE uhandle, POBJECT_ATTRIBUTES uoa,
		       ULONG max_info, ULONG max_msg, bool waitable)
{
	char rel[LPC_NAME_MAX_BYTES];
	struct lpc_domain *d = NULL;
	struct lpc_port *p = NULL;
	HANDLE h = NULL;
	dev_t dev = 0;
	ino_t ino = 0;
	bool named;
	int r, lfd = -1;

	/* Spec 3.2 and R3K-T: the output pointer first, then the object
	 * attributes pointer, then MaxMessageLength before
	 * MaxConnectionInfoLength. */
	if (lpc_probe_out(uhandle, sizeof(HANDLE)))
		return -EFAULT;
	if (!uoa)
		return -EFAULT;
	if (max_msg > LPC_MAX_MESSAGE_LENGTH)
		return -LPC_EPARAM4;
	if (max_info > LPC_MAX_DATA_LENGTH)
		return -LPC_EPARAM3;
	r = capture_name(uoa, rel, sizeof(rel), &named);
	if (r)
		return r;
	lpc_init();
	if (named) {
		lfd = lpc_ns_listen(rel, &dev, &ino);
		if (lfd < 0)
			return lfd;
		lpc_fd_track(lfd);
		fcntl(lfd, F_SETFL, O_NONBLOCK);
		d = lpc_dom_new(LPC_DOM_SERVER);
	} else {
		d = lpc_dom_new(LPC_DOM_LOCAL);
	}
	if (!d) {
		r = -ENOMEM;
		goto err;
	}
	d->max_msg = max_msg;
	p = lpc_port_alloc(named ? LPC_PORT_CONNECTION : LPC_PORT_UNCONNECTED,
			   d);
	if (!p) {
		r = -ENOMEM;
		goto err;
	}
	p->max_msg = max_msg;
	p->max_info = max_info;
	p->waitable = waitable;
	if (named) {
		p->rel = strdup(rel);
		p->dev = dev;
		p->ino = ino;
		if (!p->rel) {
			r = -ENOMEM;
			goto err;
		}
		d->listen_fd = lfd;
		lfd = -1;
		d->conn_port = p;
		snprintf(d->name, sizeof(d->name), "%.*s",
			 (int)sizeof(d->name) - 1, rel);
		d->be = lpc_server_backend();
		r = d->be->init(d);
		if (r)
			goto err;
	}
	if (waitable) {
		/* The transport's readiness: the ring, or (sync) the
		 * listening socket here and each client socket as it comes
		 * (domain.c). */
		r = make_waitable(d, d->be && d->be->ready_fd ? d->be->ready_fd(d)
							     : d->listen_fd);
		if (r)
			goto err;
	}
	r = lpc_handle_new(p, &h);
	if (r)
		goto err;
	lpc_dom_unref(d);	/* the port holds it now */
	if (lpc_copy_to_user(uhandle, &h, sizeof(h))) {
		lpc_handle_close(h);
		return -EFAULT;
	}
	return 0;

err:
	if (p) {
		/* Destroying the port removes the name and the domain. */
		if (p->kind == LPC_PORT_CONNECTION)
			lpc_conn_unname(p);
		lpc_obj_unref(p);
	} else if (named) {
		lpc_ns_unlink(rel, dev, ino);
	}
	if (lfd >= 0)
		lpc_fd_close(lfd);
	lpc_dom_unref(d);
	return r;
}

NTSTATUS NTAPI NtCreatePort(PHANDLE PortHandle,
			    POBJECT_ATTRIBUTES ObjectAttributes,
			    ULONG MaxConnectionInfoLength,
			    ULONG MaxMessageLength, ULONG_PTR MaxPoolUsage)
{
	(void)MaxPoolUsage; /* ignored, as by NT (spec 3.2) */
	return lpc_status(create_port(PortHandle, ObjectAttributes,
				      MaxConnectionInfoLength,
				      MaxMessageLength, false));
}

NTSTATUS NTAPI NtCreateWaitablePort(PHANDLE PortHandle,
				    POBJECT_ATTRIBUTES ObjectAttributes,
				    ULONG MaxConnectionInfoLength,
				    ULONG MaxMessageLength,
				    ULONG_PTR MaxPoolUsage)
{
	(void)MaxPoolUsage;
	return lpc_status(create_port(PortHandle, ObjectAttributes,
				      MaxConnectionInfoLength,
				      MaxMessageLength, true));
}

/* ------------------------------------------------------------------ */
/* Closing                                                             */
/* ------------------------------------------------------------------ */

/* The last handle to a connection port is gone (spec 8.1): the name
 * disappears, connecting clients are refused, threads that sent straight
 * to it get STATUS_LPC_REPLY_LOST and queued messages are discarded.
 * Established connections keep working. */
void lpc_conn_unname(struct lpc_port *p)
{
	struct lpc_domain *d = p->dom;
	struct lpc_link *l, *next;
	int lfd;

	lpc_dom_lock(d);
	if (p->name_deleted) {
		lpc_dom_unlock(d);
		return;
	}
	p->name_deleted = true;
	lpc_ns_unlink(p->rel, p->dev, p->ino);
	lfd = d->listen_fd;
	d->listen_fd = -1;
	if (lfd >= 0 && d->be && d->be->unlisten)
		d->be->unlisten(d, lfd);
	for (l = d->links; l; l = next) {
		next = l->next;
		if (l->state == LPC_LINK_NEW || l->state == LPC_LINK_REQUESTED)
			lpc_link_shutdown(l);
	}
	/* Local threads that sent on the connection port itself. */
	for (struct lpc_thread *t = d->waiting; t; t = t->wnext) {
		if (t->w_indexed && t->w.port == p) {
			lpc_dom_remove_waiter(d, &t->w);
			lpc_dom_complete(d, t, -LPC_EREPLYLOST, NULL);
		}
	}
	lpc_dom_flush_queue(d);
	if (d->driving && d->be && d->be->wake)
		d->be->wake(d);
	lpc_dom_unlock(d);
	/* A driver blocked in poll() keeps the socket open until it
	 * returns; the wakeup above makes that prompt. */
	lpc_fd_close(lfd);
}

void lpc_port_last_handle(struct lpc_port *p)
{
	if (p->kind == LPC_PORT_CONNECTION)
		lpc_conn_unname(p);
}

void lpc_port_probe_views(const struct lpc_port *p, long mapped)
{
	if (!LPC_PROBE_ENABLED(lpc, view))
		return;
	/* views[0] is this side's own section, views[1] the peer's. */
	for (long i = 0; i < 2; i++) {
		const void *base = p->views[i].base;
		long len = (long)p->views[i].len;

		if (base)
			STAP_PROBEV(lpc, view, p, i, base, len, mapped);
	}
}

static void unmap_views(struct lpc_port *p)
{
	lpc_port_probe_views(p, 0);
	for (int i = 0; i < 2; i++) {
		if (p->views[i].base)
			munmap(p->views[i].base, p->views[i].len);
		p->views[i].base = NULL;
	}
}

void lpc_port_destroy(struct lpc_port *p)
{
	struct lpc_domain *d = p->dom;
	struct lpc_link *l = p->link;

	LPC_PROBE(lpc, port_close, p, p->kind, d);

	switch (p->kind) {
	case LPC_PORT_CONNECTION:
		lpc_conn_unname(p);
		lpc_dom_lock(d);
		d->conn_port = NULL;
		lpc_dom_unlock(d);
		free(p->rel);
		break;
	case LPC_PORT_UNCONNECTED:
		lpc_dom_lock(d);
		d->dead = true;
		lpc_dom_fail_waits(d, NULL, -LPC_EREPLYLOST);
		lpc_dom_flush_queue(d);
		lpc_dom_unlock(d);
		break;
	case LPC_PORT_SERVER:
		/* Spec 8.1: disconnect; waiting clients get
		 * STATUS_LPC_REPLY_LOST, later sends STATUS_PORT_DISCONNECTED;
		 * no message goes to the client. */
		if (l) {
			lpc_dom_lock(d);
			lpc_link_shutdown(l);
			l->port = NULL;
			lpc_dom_unlock(d);
			lpc_link_unref(l);
		}
		unmap_views(p);
		lpc_obj_unref(p->conn);
		break;
	case LPC_PORT_CLIENT:
		if (l) {
			struct lpc_thread *t = lpc_self();
			struct lpc_wire w = { .op = LPC_OP_CLOSE };

			/* LPC_PORT_CLOSED names the thread that dropped the
			 * last reference (spec 4.4). */
			if (l->state == LPC_LINK_CONNECTED && !l->hung_up &&
			    t) {
				w.tid = t->tid;
				lpc_link_send(l, &w, NULL, 0, NULL, 0, -1);
			}
			lpc_dom_lock(d);
			lpc_link_shutdown(l);
			l->port = NULL;
			lpc_dom_unlock(d);
			lpc_link_unref(l);
		}
		unmap_views(p);
		break;
	}
	lpc_dom_unref(d);
	free(p);
}

NTSTATUS NTAPI NtClose(HANDLE Handle)
{
	return lpc_status(lpc_handle_close(Handle));
}

/* ------------------------------------------------------------------ */
/* Termination ports                                                   */
/* ------------------------------------------------------------------ */

NTSTATUS NTAPI NtRegisterThreadTerminatePort(HANDLE PortHandle)
{
	struct lpc_thread *t = lpc_self();
	struct lpc_port *p;
	int r;

	if (!t)
		return STATUS_NO_MEMORY;
	r = lpc_port_get(PortHandle, &p);
	if (r)
		return lpc_status(r);
	if (t->nterm == t->capterm) {
		int cap = t->capterm ? t->capterm * 2 : 4;
		struct lpc_port **n = realloc(t->term, (size_t)cap * sizeof(*n));

		if (!n) {
			lpc_obj_unref(p);
			return STATUS_INSUFFICIENT_RESOURCES;
		}
		t->term = n;
		t->capterm = cap;
	}
	/* Tell the peer, so that it can speak for this thread if our whole
	 * process dies without running thread-exit code. */
	if ((p->kind == LPC_PORT_CLIENT || p->kind == LPC_PORT_SERVER) &&
	    p->link) {
		struct lpc_wire w = { .op = LPC_OP_TERMREG };

		w.tid = t->tid;
		w.arg0 = (uint64_t)lpc_thread_ctime(t);
		lpc_link_send(p->link, &w, NULL, 0, NULL, 0, -1);
	}
	t->term[t->nterm++] = p;	/* keeps the reference */
	return STATUS_SUCCESS;
}

/* LPC_CLIENT_DIED through port p for thread t (spec 5.16). */
static void send_died(struct lpc_port *p, struct lpc_thread *t)
{
	struct lpc_domain *d = p->dom;
	uint32_t id = lpc_next_message_id();
	int64_t ctime = lpc_thread_ctime(t);

	if ((p->kind == LPC_PORT_CLIENT || p->kind == LPC_PORT_SERVER) &&
	    p->link) {
		struct lpc_wire w = { .op = LPC_OP_DIED };

		w.tid = t->tid;
		w.msgid = id;
		w.arg0 = (uint64_t)ctime;
		lpc_link_send(p->link, &w, NULL, 0, NULL, 0, -1);
		return;
	}
	if (p->kind == LPC_PORT_CONNECTION || p->kind == LPC_PORT_UNCONNECTED) {
		struct lpc_pkt *k = lpc_notice_pkt(LPC_CLIENT_DIED, lpc_sys_pid(),
						   t->tid, id, ctime, NULL);

		if (!k)
			return;
		k->local = true;
		lpc_dom_lock(d);
		if (p->kind == LPC_PORT_CONNECTION && p->name_deleted)
			lpc_pkt_free(k);
		else
			lpc_dom_enqueue(d, k);
		lpc_dom_unlock(d);
	}
}

void lpc_thread_exit_notices(struct lpc_thread *t)
{
	struct lpc_port *exc;

	/* Newest registration first; duplicates each send one. */
	for (int i = t->nterm - 1; i >= 0; i--)
		send_died(t->term[i], t);
	if (t->nterm == 0 && (exc = lpc_exception_port())) {
		send_died(exc, t);
		lpc_obj_unref(exc);
	}
}

/* ------------------------------------------------------------------ */
/* Queries and waits                                                   */
/* ------------------------------------------------------------------ */

NTSTATUS NTAPI NtQueryInformationPort(HANDLE PortHandle,
				      PORT_INFORMATION_CLASS InfoClass,
				      PVOID PortInformation, ULONG Length,
				      PULONG ReturnLength)
{
	struct lpc_port *p;
	ULONG zero = 0;
	int r;

	/* Spec Q8 (docs/decisions.md): the buffers are probed, the class
	 * is checked, then the handle; PortBasicInformation has no fields,
	 * so success writes nothing and returns length 0. */
	if (Length && lpc_probe_write(PortInformation, Length))
		return STATUS_ACCESS_VIOLATION;
	if (ReturnLength && lpc_probe_write(ReturnLength, sizeof(ULONG)))
		return STATUS_ACCESS_VIOLATION;
	if (InfoClass != PortBasicInformation)
		return STATUS_INVALID_INFO_CLASS;
	r = lpc_port_get(PortHandle, &p);
	if (r)
		return lpc_status(r);
	lpc_obj_unref(p);
	if (ReturnLength)
		lpc_copy_to_user(ReturnLength, &zero, sizeof(zero));
	return STATUS_SUCCESS;
}

NTSTATUS NTAPI NtWaitForSingleObject(HANDLE Handle, BOOLEAN Alertable,
				     PLARGE_INTEGER Timeout)
{
	struct lpc_thread *t = lpc_self();
	struct timespec ts;
	const struct timespec *dl;
	LARGE_INTEGER to;
	struct lpc_port *p;
	struct lpc_domain *d;
	int r;

	(void)Alertable; /* there are no APCs to deliver */
	if (!t)
		return STATUS_NO_MEMORY;
	if (Timeout && lpc_copy_from_user(&to, Timeout, sizeof(to)))
		return STATUS_ACCESS_VIOLATION;
	r = lpc_port_get(Handle, &p);
	if (r)
		return lpc_status(r == -EBADF ? -EBADF : -LPC_ETYPE);
	if (!p->waitable) {
		lpc_obj_unref(p);
		return STATUS_OBJECT_TYPE_MISMATCH;
	}
	d = p->dom;
	dl = lpc_deadline(Timeout ? &to : NULL, &ts);
	lpc_dom_lock(d);
	t->listen_only = false;
	t->peek_only = true;
	d->npeek++;
	lpc_dom_wait_begin(d, t, LPC_TW_RECEIVE, NULL, 0, 0);
	r = lpc_dom_wait(d, t, dl);
	lpc_dom_wait_end(d, t);
	d->npeek--;
	t->peek_only = false;
	/* Signalled while a message is queued; a dead client port is
	 * signalled too, so waiters learn of it. */
	if (r == 0 && !d->qhead && !d->dead)
		r = -ETIMEDOUT;
	lpc_dom_unlock(d);
	lpc_obj_unref(p);
	if (r == -ETIMEDOUT)
		return STATUS_TIMEOUT;
	return lpc_status(r);
}

int lpc_port_fd(HANDLE PortHandle)
{
	struct lpc_port *p;
	int r = lpc_port_get(PortHandle, &p);

	if (r)
		return r == -EBADF ? -EBADF : -EINVAL;
	r = p->waitable ? p->dom->wait_fd : -EINVAL;
	lpc_obj_unref(p);
	return r;
}
