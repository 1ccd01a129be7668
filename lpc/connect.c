/* SPDX-License-Identifier: MIT */
/*
 * connect.c - NtConnectPort and NtSecureConnectPort (spec 5.3, 5.4, 6).
 *
 * The client connects a socket to the port's name, sends a CONNECT packet
 * (connection information, view size, QoS, and its section as an fd), and
 * blocks until NtCompleteConnectPort, a rejection, or the server going
 * away.  Accepting alone does not wake it (spec 5.4): an ACCEPT packet is
 * handled inside the wait (mapping the server's section if there is one)
 * and the wait goes on.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ids.h"
#include "lpc_int.h"
#include "name.h"
#include "ns.h"
#include "probes.h"
#include "section.h"
#include "uaccess.h"

/* RequiredServerSid (spec 5.4 step 6): S-1-5-18 is root; S-1-22-1-<uid>
 * is any uid.  Anything else cannot name a Linux server. */
static int check_sid(PSID usid, uid_t server_uid)
{
	static const UCHAR nt[6] = { 0, 0, 0, 0, 0, 5 };
	static const UCHAR unix_user[6] = { 0, 0, 0, 0, 0, 22 };
	struct {
		UCHAR rev, count;
		UCHAR auth[6];
		ULONG sub[2];
	} sid;

	if (lpc_copy_from_user(&sid, usid, 8))
		return -EFAULT;
	if (sid.rev != SID_REVISION || sid.count == 0 || sid.count > 2)
		return -LPC_ESIDMISMATCH;
	if (lpc_copy_from_user(sid.sub, (char *)usid + 8, sid.count * 4u))
		return -EFAULT;
	if (!memcmp(sid.auth, nt, 6) && sid.count == 1 &&
	    sid.sub[0] == SECURITY_LOCAL_SYSTEM_RID)
		return server_uid == 0 ? 0 : -LPC_ESIDMISMATCH;
	if (!memcmp(sid.auth, unix_user, 6) && sid.count == 2 &&
	    sid.sub[0] == 1)
		return server_uid == sid.sub[1] ? 0 : -LPC_ESIDMISMATCH;
	return -LPC_ESIDMISMATCH;
}

static int capture_port_name(PUNICODE_STRING uname, char *rel, size_t relsz)
{
	UNICODE_STRING us;
	uint16_t *w;
	int r;

	if (lpc_copy_from_user(&us, uname, sizeof(us)))
		return -EFAULT;
	if (us.Length == 0 || !us.Buffer || (us.Length & 1))
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
	return r;
}

/* Wait for the next connection event (ACCEPT, COMPLETE, REJECT); the
 * thread stays registered between events. */
static int next_event(struct lpc_domain *d, struct lpc_thread *t,
		      struct lpc_pkt **out)
{
	int r;

	lpc_dom_lock(d);
	r = lpc_dom_wait(d, t, NULL);
	if (r == 0)
		r = t->wstatus;
	*out = t->wpkt;
	if (*out) {
		t->wpkt = (*out)->next;
		(*out)->next = NULL;
	}
	t->wdone = t->wpkt != NULL;
	lpc_dom_unlock(d);
	if (r == 0 && !*out)
		r = -LPC_EREFUSED;
	return r;
}

static int connect_port(PHANDLE uhandle, PUNICODE_STRING uname,
			PSECURITY_QUALITY_OF_SERVICE uqos, PPORT_VIEW ucview,
			PSID usid, PREMOTE_PORT_VIEW usview, PULONG umaxlen,
			PVOID uinfo, PULONG uinfolen)
{
	char rel[LPC_NAME_MAX_BYTES];
	uint8_t info[LPC_MAX_DATA_LENGTH];
	struct lpc_thread *t = lpc_self();
	SECURITY_QUALITY_OF_SERVICE qos;
	PORT_VIEW cview;
	REMOTE_PORT_VIEW sview;
	struct lpc_section *sec = NULL;
	struct lpc_domain *d = NULL;
	struct lpc_link *l = NULL;
	struct lpc_port *p = NULL, *made = NULL;
	struct lpc_pkt *pkt = NULL;
	struct lpc_map cmap = { 0 }, smap = { 0 };
	struct lpc_wire w = { .op = LPC_OP_CONNECT };
	uint64_t cview_off = 0;
	ULONG infolen = 0, maxlen;
	bool waiting = false;
	HANDLE h;
	int r, fd;

	if (!t)
		return -ENOMEM;
	/* Spec 5.4 order (Windows-tested): output handle; view Lengths
	 * (before the QoS pointer); name and QoS pointers; the name;
	 * the server SID; the section handle; connection information. */
	if (lpc_probe_out(uhandle, sizeof(HANDLE)))
		return -EFAULT;
	if (ucview) {
		if (lpc_copy_from_user(&cview, ucview, sizeof(cview)))
			return -EFAULT;
		if (cview.Length != sizeof(PORT_VIEW))
			return -EINVAL;
	}
	if (usview) {
		if (lpc_copy_from_user(&sview, usview, sizeof(sview)))
			return -EFAULT;
		if (sview.Length != sizeof(REMOTE_PORT_VIEW))
			return -EINVAL;
	}
	if (!uname || !uqos)
		return -EFAULT;
	if (lpc_copy_from_user(&qos, uqos, sizeof(qos)))
		return -EFAULT;
	r = capture_port_name(uname, rel, sizeof(rel));
	if (r)
		return r;
	if (uinfolen && lpc_copy_from_user(&infolen, uinfolen, sizeof(infolen)))
		return -EFAULT;
	if (umaxlen && lpc_probe_out(umaxlen, sizeof(ULONG)))
		return -EFAULT;

	fd = lpc_ns_connect(rel);
	if (fd < 0)
		return fd;
	lpc_fd_track(fd);
	d = lpc_dom_new(LPC_DOM_CLIENT);
	if (!d) {
		lpc_fd_close(fd);
		return -ENOMEM;
	}
	snprintf(d->name, sizeof(d->name), "%.*s",
			 (int)sizeof(d->name) - 1, rel);
	d->be = &lpc_backend_client;
	l = lpc_link_new(d, fd, false);
	if (!l) {
		lpc_fd_close(fd);
		r = -ENOMEM;
		goto out;
	}
	lpc_dom_add_link(d, l);
	r = lpc_link_peercred(l);
	if (r)
		goto out;
	if (usid) {
		r = check_sid(usid, l->peer_uid);
		if (r)
			goto out;
	}
	if (ucview) {
		r = lpc_handle_get(cview.SectionHandle, LPC_OBJ_SECTION,
				   (void **)&sec);
		if (r)
			goto out;
		r = lpc_section_map(sec, cview.SectionOffset, cview.ViewSize,
				    &cmap, &cview_off);
		if (r)
			goto out;
	}
	/* Connection information is clamped to the system limit (spec 3.3;
	 * docs/decisions.md Q3/Q4). */
	if (infolen > LPC_MAX_DATA_LENGTH)
		infolen = LPC_MAX_DATA_LENGTH;
	if (infolen && lpc_copy_from_user(info, uinfo, infolen)) {
		r = -EFAULT;
		goto out;
	}

	w.tid = t->tid;
	w.msgid = lpc_next_message_id();
	w.arg0 = cmap.len;
	w.arg1 = cview_off;
	w.aux = (uint32_t)(qos.ImpersonationLevel & 0xff) |
		(qos.ContextTrackingMode ? 0x100u : 0) |
		(qos.EffectiveOnly ? 0x200u : 0);
	if (sec)
		w.flags |= LPC_WF_VIEW;
	LPC_PROBE(lpc, connect_request, rel, (long)w.msgid, (long)infolen,
		  (long)cmap.len);
	lpc_dom_lock(d);
	lpc_dom_wait_begin(d, t, LPC_TW_CONNECT, l, t->tid, w.msgid);
	waiting = true;
	r = lpc_link_send(l, &w, NULL, 0, info, infolen, sec ? sec->fd : -1);
	lpc_dom_unlock(d);
	if (r)
		goto refused;

	/* ACCEPT (maybe), then COMPLETE or REJECT. */
	for (;;) {
		r = next_event(d, t, &pkt);
		if (r)
			goto refused;
		if (pkt->w.op != LPC_OP_ACCEPT)
			break;
		maxlen = pkt->w.aux;
		l->max_msg = maxlen;
		if (ucview)
			cview.ViewRemoteBase = (PVOID)(uintptr_t)pkt->w.arg0;
		memcpy(info, pkt->payload, pkt->len);
		infolen = infolen < pkt->len ? infolen : pkt->len;
		if (pkt->fd >= 0) {
			struct lpc_wire vm = { .op = LPC_OP_VIEWMAP };

			r = lpc_map_peer_fd(pkt->fd, 0, pkt->w.arg1, &smap);
			vm.tid = t->tid;
			vm.arg0 = (uintptr_t)smap.base;
			vm.aux = (uint32_t)-r;
			lpc_link_send(l, &vm, NULL, 0, NULL, 0, -1);
		}
		lpc_pkt_free(pkt);
		pkt = NULL;
	}
	if (pkt->w.op == LPC_OP_REJECT) {
		/* The reply data still comes back (spec 5.4); the handle is
		 * not written. */
		ULONG n = infolen < pkt->len ? infolen : pkt->len;

		if (uinfolen) {
			lpc_copy_to_user(uinfo, pkt->payload, n);
			lpc_copy_to_user(uinfolen, &n, sizeof(n));
		}
		r = -LPC_EREFUSED;
		goto out;
	}

	/* COMPLETE: build the client port. */
	p = lpc_port_alloc(LPC_PORT_CLIENT, d);
	if (!p) {
		r = -ENOMEM;
		goto out;
	}
	p->max_msg = l->max_msg;
	p->link = l;
	lpc_link_ref(l);
	lpc_dom_lock(d);
	l->port = p;
	lpc_dom_unlock(d);
	p->views[0] = cmap;
	p->views[1] = smap;
	cmap.base = smap.base = NULL;
	r = lpc_handle_new(p, &h);
	if (r)
		goto out;
	lpc_port_probe_views(p, 1);
	made = p;
	p = NULL;
	lpc_copy_to_user(uhandle, &h, sizeof(h));
	if (umaxlen)
		lpc_copy_to_user(umaxlen, &l->max_msg, sizeof(ULONG));
	if (uinfolen) {
		lpc_copy_to_user(uinfo, info, infolen);
		lpc_copy_to_user(uinfolen, &infolen, sizeof(infolen));
	}
	if (ucview) {
		struct lpc_port *cp;

		lpc_port_get(h, &cp);
		cview.ViewBase = cp->views[0].base;
		cview.ViewSize = cp->views[0].len;
		cview.SectionOffset = (ULONG)cview_off;
		lpc_obj_unref(cp);
		lpc_copy_to_user(ucview, &cview, sizeof(cview));
	}
	if (usview) {
		struct lpc_port *cp;

		lpc_port_get(h, &cp);
		memset(&sview, 0, sizeof(sview));
		/* Length comes back 0 (spec 5.4, Windows-tested). */
		sview.ViewBase = cp->views[1].base;
		sview.ViewSize = cp->views[1].len;
		lpc_obj_unref(cp);
		lpc_copy_to_user(usview, &sview, sizeof(sview));
	}
	r = 0;
	goto out;

refused:
	if (r == -LPC_EREPLYLOST || r == -LPC_EDISCONNECTED)
		r = -LPC_EREFUSED;
out:
	/* Accepted and completed (0), refused, or failed. */
	if (waiting)
		LPC_PROBE(lpc, connect_done, rel, (long)w.msgid,
			  r == 0 ? made : NULL, (long)lpc_status(r));
	if (waiting) {
		lpc_dom_lock(d);
		lpc_dom_wait_end(d, t);
		lpc_dom_unlock(d);
	}
	lpc_pkt_free(pkt);
	if (cmap.base)
		munmap(cmap.base, cmap.len);
	if (smap.base)
		munmap(smap.base, smap.len);
	if (sec)
		lpc_obj_unref(sec);
	if (p)
		lpc_obj_unref(p);
	if (l) {
		if (r) {
			lpc_dom_lock(d);
			lpc_link_shutdown(l);
			lpc_dom_unlock(d);
		}
		lpc_link_unref(l);
	}
	lpc_dom_unref(d);
	return r;
}

NTSTATUS NTAPI NtConnectPort(PHANDLE PortHandle, PUNICODE_STRING PortName,
			     PSECURITY_QUALITY_OF_SERVICE SecurityQos,
			     PPORT_VIEW ClientView,
			     PREMOTE_PORT_VIEW ServerView,
			     PULONG MaxMessageLength,
			     PVOID ConnectionInformation,
			     PULONG ConnectionInformationLength)
{
	return lpc_status(connect_port(PortHandle, PortName, SecurityQos,
				       ClientView, NULL, ServerView,
				       MaxMessageLength, ConnectionInformation,
				       ConnectionInformationLength));
}

NTSTATUS NTAPI NtSecureConnectPort(PHANDLE PortHandle,
				   PUNICODE_STRING PortName,
				   PSECURITY_QUALITY_OF_SERVICE SecurityQos,
				   PPORT_VIEW ClientView,
				   PSID RequiredServerSid,
				   PREMOTE_PORT_VIEW ServerView,
				   PULONG MaxMessageLength,
				   PVOID ConnectionInformation,
				   PULONG ConnectionInformationLength)
{
	return lpc_status(connect_port(PortHandle, PortName, SecurityQos,
				       ClientView, RequiredServerSid,
				       ServerView, MaxMessageLength,
				       ConnectionInformation,
				       ConnectionInformationLength));
}
