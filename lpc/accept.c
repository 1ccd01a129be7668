/* SPDX-License-Identifier: MIT */
/*
 * accept.c - NtListenPort, NtAcceptConnectPort, NtCompleteConnectPort
 * (spec 5.5-5.7, 6).
 *
 * NtAcceptConnectPort names the connection only by the request's ClientId
 * and MessageId: the pending request is looked up in the waiter index of
 * every connection port of this process, so another process can never
 * accept it (spec 5.6 check 6).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lpc_int.h"
#include "message.h"
#include "probes.h"
#include "section.h"
#include "sys.h"
#include "uaccess.h"

NTSTATUS NTAPI NtListenPort(HANDLE PortHandle, PPORT_MESSAGE ConnectionRequest)
{
	struct lpc_thread *t = lpc_self();
	struct lpc_port *p;
	int r;

	if (!t)
		return STATUS_NO_MEMORY;
	/* Pointer checks come before any wait and consume nothing (spec
	 * 5.5, Windows-tested with NULL, (PVOID)1 and (PVOID)4). */
	if (!ConnectionRequest)
		return STATUS_ACCESS_VIOLATION;
	if ((uintptr_t)ConnectionRequest & 3)
		return STATUS_DATATYPE_MISALIGNMENT;
	if (lpc_probe_write(ConnectionRequest, sizeof(PORT_MESSAGE)))
		return STATUS_ACCESS_VIOLATION;
	r = lpc_port_get(PortHandle, &p);
	if (r)
		return lpc_status(r);
	r = lpc_receive(t, p, ConnectionRequest, NULL, NULL, true);
	LPC_PROBE(lpc, listen, p, (long)lpc_status(r));
	lpc_obj_unref(p);
	return lpc_status(r);
}

/* Find the pending connection request of ClientId in any of our
 * connection ports.  Returns with the domain locked and referenced. */
static int find_request(const PORT_MESSAGE *m, struct lpc_domain **dout,
			struct lpc_waiter **wout)
{
	uintptr_t up = (uintptr_t)m->ClientId.UniqueProcess;
	uintptr_t ut = (uintptr_t)m->ClientId.UniqueThread;
	struct lpc_domain *d;
	struct lpc_waiter *w;

	if (!up || !ut || up > 0x7fffffff || ut > 0x7fffffff)
		return -LPC_EINVALCID;
	pthread_mutex_lock(&lpc_glock);
	for (d = lpc_domains; d; d = d->gnext) {
		if (d->kind != LPC_DOM_SERVER)
			continue;
		lpc_dom_lock(d);
		w = lpc_dom_find_waiter(d, (pid_t)up, (pid_t)ut);
		if (w) {
			lpc_dom_ref(d);
			pthread_mutex_unlock(&lpc_glock);
			*dout = d;
			*wout = w;
			return 0;
		}
		lpc_dom_unlock(d);
	}
	pthread_mutex_unlock(&lpc_glock);
	return lpc_sys_thread_exists((pid_t)up, (pid_t)ut) == 0
		       ? -LPC_EMISMATCH
		       : -LPC_EINVALCID;
}

static int accept_connect(PHANDLE uhandle, PVOID context, PPORT_MESSAGE umsg,
			  BOOLEAN accept, PPORT_VIEW usview,
			  PREMOTE_PORT_VIEW ucview)
{
	uint8_t info[LPC_MAX_DATA_LENGTH];
	struct lpc_thread *t = lpc_self();
	struct lpc_section *sec = NULL;
	struct lpc_domain *d = NULL;
	struct lpc_waiter *w;
	struct lpc_link *l = NULL;
	struct lpc_port *sp = NULL;
	struct lpc_wire aw = { .op = LPC_OP_ACCEPT };
	struct lpc_map smap = { 0 }, cmap = { 0 };
	REMOTE_PORT_VIEW cview;
	PORT_VIEW sview;
	PORT_MESSAGE h;
	uint64_t soff = 0;
	uint32_t infolen, msgid;
	pid_t ctid;
	HANDLE hnew = NULL;
	int r, cfd;

	if (!t)
		return -ENOMEM;
	/* Spec 5.6 checks, in order. */
	if (lpc_probe_out(uhandle, sizeof(HANDLE)))
		return -EFAULT;
	if (lpc_read_header(&h, umsg))
		return -EFAULT;
	/* No TotalLength check here (Windows-tested); DataLength bytes of
	 * reply data are read, clamped to the system limit. */
	infolen = (uint16_t)h.u1.s1.DataLength;
	if (infolen > LPC_MAX_DATA_LENGTH)
		infolen = LPC_MAX_DATA_LENGTH;
	if (lpc_copy_from_user(info, umsg + 1, infolen))
		return -EFAULT;
	if (usview) {
		if (lpc_copy_from_user(&sview, usview, sizeof(sview)))
			return -EFAULT;
		if (sview.Length != sizeof(PORT_VIEW))
			return -EINVAL;
	}
	if (ucview) {
		if (lpc_copy_from_user(&cview, ucview, sizeof(cview)))
			return -EFAULT;
		if (cview.Length != sizeof(REMOTE_PORT_VIEW))
			return -EINVAL;
	}
	r = find_request(&h, &d, &w);
	if (r)
		return r;
	if (w->kind != LPC_W_CONNECT || w->msgid != h.MessageId) {
		r = -LPC_EMISMATCH;
		goto unlock;
	}
	if (accept && usview) {
		r = lpc_handle_get(sview.SectionHandle, LPC_OBJ_SECTION,
				   (void **)&sec);
		if (r)
			goto unlock;
	}
	/* Claim the request: a second accept or reject now mismatches. */
	l = w->link;
	lpc_link_ref(l);
	ctid = w->tid;
	msgid = w->msgid;
	lpc_dom_remove_waiter(d, w);
	lpc_waiter_free(w);

	if (!accept) {
		struct lpc_wire rw = { .op = LPC_OP_REJECT };

		rw.tid = t->tid;
		rw.target = ctid;
		rw.msgid = msgid;
		lpc_link_send(l, &rw, NULL, 0, info, infolen, -1);
		lpc_link_shutdown(l);
		r = 0;	/* *PortHandle is not written (spec 5.6) */
		goto unlock;
	}
	cfd = l->req_fd;
	lpc_dom_unlock(d);

	/* Map the sections outside the lock: mmap may take a while. */
	if (cfd >= 0) {
		r = lpc_map_peer_fd(cfd, l->req_view_off, l->req_view_size, &cmap);
		if (r)
			goto fail;
	}
	if (sec) {
		r = lpc_section_map(sec, sview.SectionOffset, sview.ViewSize,
				    &smap, &soff);
		if (r)
			goto fail;
	}
	sp = lpc_port_alloc(LPC_PORT_SERVER, d);
	if (!sp) {
		r = -ENOMEM;
		goto fail;
	}
	sp->conn = d->conn_port;
	if (!sp->conn) {
		r = -LPC_EREFUSED;
		goto fail;
	}
	lpc_obj_ref(sp->conn);
	sp->max_msg = sp->conn->max_msg;
	sp->waitable = sp->conn->waitable;
	sp->link = l;
	lpc_link_ref(l);
	sp->views[0] = smap;
	sp->views[1] = cmap;
	smap.base = cmap.base = NULL;
	r = lpc_handle_new(sp, &hnew);
	if (r)
		goto fail;
	lpc_port_probe_views(sp, 1);
	/* PortContext defaults to the new handle's value (spec 4.2). */
	sp->context = context ? context : hnew;

	lpc_dom_lock(d);
	l->port = sp;
	l->qos = l->req_qos;
	sp->complete_pending = true;
	if (!l->hung_up)
		l->state = LPC_LINK_ACCEPTED;
	aw.tid = t->tid;
	aw.target = ctid;
	aw.msgid = msgid;
	aw.arg0 = (uintptr_t)sp->views[1].base;
	aw.arg1 = sec ? sp->views[0].len : 0;
	aw.aux = sp->max_msg;
	if (sec) {
		aw.flags |= LPC_WF_VIEW;
		lpc_dom_wait_begin(d, t, LPC_TW_VIEW, l, ctid, msgid);
	}
	r = lpc_link_send(l, &aw, NULL, 0, info, infolen, sec ? sec->fd : -1);
	if (sec) {
		/* The client maps our section and says where (spec 5.6.1:
		 * ServerView->ViewRemoteBase). */
		if (r == 0)
			r = lpc_dom_wait(d, t, NULL);
		if (r == 0)
			r = t->wstatus;
		if (r == 0 && t->wpkt) {
			uint32_t err = t->wpkt->w.aux;

			/* The client's mmap error: an errno and nothing else
			 * (regression viewmap-error-accepts-without-handle:
			 * a lying peer turned this into success). */
			if (err == EINVAL || err == ENOMEM ||
			    err == EACCES || err == ENODEV ||
			    err == EOVERFLOW || err == EPERM)
				r = -(int)err;
			else if (err)
				r = -EPROTO;
			else
				sview.ViewRemoteBase =
					(PVOID)(uintptr_t)t->wpkt->w.arg0;
		}
		lpc_dom_wait_end(d, t);
	}
	/* A client gone meanwhile is not an accept error: completion will
	 * find nobody to wake (spec 5.7). */
	if (r == -LPC_EDISCONNECTED || r == -LPC_EREPLYLOST ||
	    r == -LPC_EREFUSED)
		r = 0;
	lpc_dom_unlock(d);
	if (r) {
		lpc_handle_close(hnew);
		sp = NULL;
		goto fail;
	}
	if (usview) {
		sview.ViewBase = sp->views[0].base;
		sview.ViewSize = sp->views[0].len;
		sview.SectionOffset = (ULONG)soff;
		lpc_copy_to_user(usview, &sview, sizeof(sview));
	}
	if (ucview) {
		cview.ViewBase = sp->views[1].base;
		cview.ViewSize = sp->views[1].len;
		lpc_copy_to_user(ucview, &cview, sizeof(cview));
	}
	lpc_copy_to_user(uhandle, &hnew, sizeof(hnew));
	lpc_link_unref(l);
	if (sec)
		lpc_obj_unref(sec);
	lpc_dom_unref(d);
	return 0;

fail:
	/* The request was claimed: refuse the client rather than leave it
	 * hanging. */
	lpc_dom_lock(d);
	lpc_link_shutdown(l);
	lpc_dom_unlock(d);
	if (sp)
		lpc_obj_unref(sp);
	if (smap.base)
		munmap(smap.base, smap.len);
	if (cmap.base)
		munmap(cmap.base, cmap.len);
	lpc_link_unref(l);
	if (sec)
		lpc_obj_unref(sec);
	lpc_dom_unref(d);
	return r;

unlock:
	lpc_dom_unlock(d);
	if (l)
		lpc_link_unref(l);
	if (sec)
		lpc_obj_unref(sec);
	lpc_dom_unref(d);
	return r;
}

NTSTATUS NTAPI NtAcceptConnectPort(PHANDLE PortHandle, PVOID PortContext,
				   PPORT_MESSAGE ConnectionRequest,
				   BOOLEAN AcceptConnection,
				   PPORT_VIEW ServerView,
				   PREMOTE_PORT_VIEW ClientView)
{
	int r = accept_connect(PortHandle, PortContext, ConnectionRequest,
			       AcceptConnection, ServerView, ClientView);

	if (LPC_PROBE_ENABLED(lpc, accept)) {
		/* Fault-safe second looks, only while traced. */
		PORT_MESSAGE h = { 0 };
		HANDLE nh = NULL;
		long id, pid, tid, yes = AcceptConnection, st = lpc_status(r);

		lpc_read_header(&h, ConnectionRequest);
		if (r == 0 && AcceptConnection)
			lpc_copy_from_user(&nh, PortHandle, sizeof(nh));
		id = h.MessageId;
		pid = (long)(uintptr_t)h.ClientId.UniqueProcess;
		tid = (long)(uintptr_t)h.ClientId.UniqueThread;
		STAP_PROBEV(lpc, accept, id, pid, tid, yes, nh, PortContext,
			    st);
	}
	return lpc_status(r);
}

NTSTATUS NTAPI NtCompleteConnectPort(HANDLE PortHandle)
{
	struct lpc_wire w = { .op = LPC_OP_COMPLETE };
	struct lpc_thread *t = lpc_self();
	struct lpc_port *p;
	struct lpc_link *l;
	int r;

	if (!t)
		return STATUS_NO_MEMORY;
	r = lpc_port_get(PortHandle, &p);
	if (r)
		return lpc_status(r);
	if (p->kind != LPC_PORT_SERVER) {
		lpc_obj_unref(p);
		return STATUS_INVALID_PORT_HANDLE;
	}
	lpc_dom_lock(p->dom);
	if (!p->complete_pending) {
		r = -EINVAL;	/* already completed (spec 5.7) */
	} else {
		p->complete_pending = false;
		l = p->link;
		/* A client no longer waiting: success without effect. */
		if (l && !l->hung_up && l->state == LPC_LINK_ACCEPTED) {
			l->state = LPC_LINK_CONNECTED;
			w.tid = t->tid;
			w.target = l->req_tid;
			w.msgid = l->req_msgid;
			lpc_link_send(l, &w, NULL, 0, NULL, 0, -1);
		}
	}
	lpc_dom_unlock(p->dom);
	LPC_PROBE(lpc, complete, p, PortHandle, (long)lpc_status(r));
	lpc_obj_unref(p);
	return lpc_status(r);
}
