/* SPDX-License-Identifier: MIT */
/*
 * data.c - NtReadRequestData and NtWriteRequestData (spec 5.13, 7.3).
 *
 * The buffers named by a request's data-information block live in the
 * requester's process.  When it is ours, one process_vm_readv/writev on
 * our own pid moves the bytes (safe for either bad pointer).  When it is
 * another process, the copy is done there, by the engine of the waiting
 * requester, in chunks over the connection (DATA_READ/DATA_WRITE): no
 * ptrace rights are needed, and only a requester actually blocked on
 * this very request can be read or written (docs/decisions.md).
 */
#include <errno.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "lpc_int.h"
#include "message.h"
#include "probes.h"
#include "sys.h"
#include "uaccess.h"

static int local_copy(void *ubuf, void *base, size_t n, bool write,
		      size_t *done)
{
	struct iovec local = { .iov_base = ubuf, .iov_len = n };
	struct iovec remote = { .iov_base = base, .iov_len = n };
	ssize_t r;

	*done = 0;
	if (n == 0)
		return 0;
	/* The "remote" side is our own process too: both pointers are
	 * checked by the kernel. */
	r = write ? process_vm_writev(lpc_sys_pid(), &local, 1, &remote, 1, 0)
		  : process_vm_readv(lpc_sys_pid(), &local, 1, &remote, 1, 0);
	if (r < 0)
		return -EFAULT;
	*done = (size_t)r;
	return (size_t)r == n ? 0 : -LPC_EPARTIAL;
}

/* One chunk through the requester's engine.  Domain lock held. */
static int remote_chunk(struct lpc_domain *d, struct lpc_thread *t,
			struct lpc_link *l, pid_t target, uint32_t msgid,
			uint32_t idx, uint64_t off, void *ubuf, uint32_t n,
			bool write, uint32_t *done)
{
	uint8_t chunk[LPC_WIRE_CHUNK];
	struct lpc_wire w = { .op = write ? LPC_OP_DATA_WRITE
					  : LPC_OP_DATA_READ };
	struct lpc_pkt *p;
	int r;

	*done = 0;
	if (write && lpc_copy_from_user(chunk, ubuf, n))
		return -EFAULT;
	w.tid = t->tid;
	w.target = target;
	w.msgid = msgid;
	w.aux = idx;
	w.arg0 = off;
	w.arg1 = n;
	lpc_dom_wait_begin(d, t, LPC_TW_DATA, l, t->tid, msgid);
	r = lpc_link_send(l, &w, NULL, 0, write ? chunk : NULL,
			  write ? n : 0, -1);
	if (r == 0)
		r = lpc_dom_wait(d, t, NULL);
	if (r == 0)
		r = t->wstatus;
	p = t->wpkt;
	t->wpkt = NULL;
	lpc_dom_wait_end(d, t);
	if (r)
		return r == -LPC_EREPLYLOST ? -LPC_EMISMATCH : r;
	if (!p)
		return -LPC_EMISMATCH;
	/* The peer's answer is checked like anything it sends: an error it
	 * can have met (an errno, or no such request), no more bytes than
	 * were asked, and for a read no more than the packet carries
	 * (regressions data-result-*). */
	*done = (uint32_t)p->w.arg0;
	switch (p->w.aux) {
	case 0:
	case LPC_EMISMATCH:	/* no such request (any more) */
	case EINVAL:		/* no such entry, or out of its bounds */
	case EFAULT:		/* the entry's memory is not there */
	case ENOMEM:		/* process_vm_* on the peer's side */
		r = -(int)p->w.aux;
		break;
	case ESRCH:
	case EPERM:
		/* The peer's process_vm_* could not reach the memory: to
		 * the caller, as on NT, the client's buffer could not be
		 * read (STATUS_ACCESS_VIOLATION), not STATUS_ACCESS_DENIED
		 * (regression data-result-eperm-is-access-violation). */
		r = -EFAULT;
		break;
	default:
		r = -EPROTO;
	}
	if (r == 0 && (p->w.arg0 > n || (!write && *done > p->len)))
		r = -EPROTO;
	if (r)
		*done = 0;
	if (!write && *done && lpc_copy_to_user(ubuf, p->payload, *done)) {
		*done = 0;
		r = -EFAULT;
	}
	if (r == 0 && *done < n)
		r = -LPC_EPARTIAL;
	lpc_pkt_free(p);
	return r;
}

static int request_data(HANDLE hp, PPORT_MESSAGE umsg, ULONG idx, PVOID ubuf,
			SIZE_T size, PSIZE_T udone, bool write)
{
	struct lpc_thread *t = lpc_self();
	struct lpc_waiter *w;
	struct lpc_port *p;
	struct lpc_domain *d;
	struct lpc_link *l = NULL;
	PORT_DATA_ENTRY e;
	PORT_MESSAGE h;
	size_t done = 0;
	pid_t target;
	uint32_t msgid;
	int r, count;

	if (!t)
		return -ENOMEM;
	if (lpc_read_header(&h, umsg))
		return -EFAULT;
	if (h.u2.s2.DataInfoOffset == 0)
		return -EINVAL;
	r = lpc_port_get(hp, &p);
	if (r)
		return r;
	d = p->dom;
	lpc_dom_lock(d);
	r = lpc_match_waiter(d, p, &h, LPC_W_REQUEST, &w);
	if (r)
		goto unlock;
	if (!w->dinfo) {
		r = -EINVAL;
		goto unlock;
	}
	count = lpc_msg_datainfo(w->dinfo, w->dinfo_len);
	if (count < 0 || idx >= (ULONG)count) {
		r = -EINVAL;
		goto unlock;
	}
	lpc_msg_dataentry(w->dinfo, idx, &e);
	if (size > e.Size) {
		r = -EINVAL;
		goto unlock;
	}
	if (!(w->flags & LPC_W_REMOTE)) {
		lpc_dom_unlock(d);
		r = local_copy(ubuf, e.Base, size, write, &done);
		goto out;
	}
	l = w->link;
	lpc_link_ref(l);
	target = w->tid;
	msgid = w->msgid;
	/* w may go away while we wait: use only the copies from here. */
	while (done < size) {
		uint32_t n = size - done > LPC_WIRE_CHUNK ? LPC_WIRE_CHUNK
							  : (uint32_t)(size - done);
		uint32_t got;

		r = remote_chunk(d, t, l, target, msgid, idx, done,
				 (char *)ubuf + done, n, write, &got);
		done += got;
		if (r)
			break;
	}
unlock:
	lpc_dom_unlock(d);
out:
	if (l)
		lpc_link_unref(l);
	lpc_obj_unref(p);
	/* Errors writing the count are ignored (spec 5.13). */
	if (udone && (r == 0 || r == -LPC_EPARTIAL))
		lpc_copy_to_user(udone, &done, sizeof(done));
	if (r == -LPC_EPARTIAL && done == 0)
		r = -EFAULT;
	return r;
}

/* The NT calls, and lpc:request_data with their status. */
static NTSTATUS request_data_nt(HANDLE PortHandle, PPORT_MESSAGE Message,
				ULONG DataEntryIndex, PVOID Buffer,
				SIZE_T BufferSize, PSIZE_T NumberOfBytes,
				bool write)
{
	NTSTATUS st = lpc_status(request_data(PortHandle, Message,
					      DataEntryIndex, Buffer,
					      BufferSize, NumberOfBytes, write));

	LPC_PROBE(lpc, request_data, PortHandle, Message, (long)DataEntryIndex,
		  (long)BufferSize, (long)write, (long)st);
	return st;
}

NTSTATUS NTAPI NtReadRequestData(HANDLE PortHandle, PPORT_MESSAGE Message,
				 ULONG DataEntryIndex, PVOID Buffer,
				 SIZE_T BufferSize, PSIZE_T NumberOfBytesRead)
{
	return request_data_nt(PortHandle, Message, DataEntryIndex, Buffer,
			       BufferSize, NumberOfBytesRead, false);
}

NTSTATUS NTAPI NtWriteRequestData(HANDLE PortHandle, PPORT_MESSAGE Message,
				  ULONG DataEntryIndex, PVOID Buffer,
				  SIZE_T BufferSize, PSIZE_T NumberOfBytesWritten)
{
	return request_data_nt(PortHandle, Message, DataEntryIndex, Buffer,
			       BufferSize, NumberOfBytesWritten, true);
}
