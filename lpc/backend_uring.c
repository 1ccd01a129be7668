/* SPDX-License-Identifier: MIT */
/*
 * backend_uring.c - the server transport on io_uring (design.md 1).
 *
 * One ring per connection port: a multishot accept on the listening
 * socket, a multishot recvmsg (with a provided-buffer ring, so received
 * packets cost no submission) on every client socket, and a read on the
 * wakeup eventfd.  A thread waiting in NtReplyWaitReceivePort drives the
 * ring with one io_uring_enter that submits what is pending and waits for
 * the next completion from any client.
 *
 * Ownership: every armed multishot request holds a reference on its link,
 * dropped by the completion without IORING_CQE_F_MORE.  Requests die with
 * the task that submitted them (io_uring cancels them at thread exit):
 * their -ECANCELED completions simply re-arm.  The ring is set up without
 * COOP_TASKRUN on purpose: completions run as task work of the submitting
 * thread, which may not be the thread now waiting in the ring, and it must
 * be interrupted to post them.
 */
#include <errno.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "lpc_int.h"
#include "sys.h"

#define RING_ENTRIES 256
#define NBUF 128
#define BGID 1
#define CTL_SPACE CMSG_SPACE(sizeof(int) * 4)
#define BUFSZ (sizeof(struct io_uring_recvmsg_out) + CTL_SPACE + LPC_WIRE_MAX)

enum { TAG_ACCEPT = 1, TAG_WAKE, TAG_RECV, TAG_SEND, TAG_CANCEL };
#define TAG_MASK 0x7ull

struct uring_state {
	struct io_uring ring;
	struct lpc_link *armed;	/* links with a receive in flight */
	struct io_uring_buf_ring *br;
	uint8_t *bufs;
	struct msghdr mh;	/* the multishot recvmsg template */
	uint64_t wake_val;
	bool accept_armed;
	bool wake_armed;
};

static inline uint64_t ud(void *p, unsigned tag)
{
	return (uint64_t)(uintptr_t)p | tag;
}

bool lpc_uring_usable(void)
{
	struct io_uring r;
	struct utsname u;
	int major = 0, minor = 0;

	/* Multishot recvmsg with provided buffers needs Linux 6.0. */
	if (uname(&u) < 0 || sscanf(u.release, "%d.%d", &major, &minor) != 2 ||
	    major < 6)
		return false;
	if (io_uring_queue_init(2, &r, 0) < 0)
		return false;
	io_uring_queue_exit(&r);
	return true;
}

static int uring_init(struct lpc_domain *d)
{
	struct uring_state *s = calloc(1, sizeof(*s));
	struct io_uring_params p = { .flags = IORING_SETUP_CLAMP };
	struct io_uring_buf_reg reg = { 0 };
	int r, fd;

	if (!s)
		return -ENOMEM;
	r = io_uring_queue_init_params(RING_ENTRIES, &s->ring, &p);
	if (r < 0) {
		free(s);
		return r;
	}
	lpc_fd_track(s->ring.ring_fd);
	io_uring_ring_dontfork(&s->ring);
	s->br = mmap(NULL, NBUF * sizeof(struct io_uring_buf),
		     PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
	s->bufs = malloc((size_t)NBUF * BUFSZ);
	if (s->br == MAP_FAILED || !s->bufs) {
		r = -ENOMEM;
		goto fail;
	}
	reg.ring_addr = (uintptr_t)s->br;
	reg.ring_entries = NBUF;
	reg.bgid = BGID;
	r = io_uring_register_buf_ring(&s->ring, &reg, 0);
	if (r < 0)
		goto fail;
	io_uring_buf_ring_init(s->br);
	for (unsigned i = 0; i < NBUF; i++)
		io_uring_buf_ring_add(s->br, s->bufs + (size_t)i * BUFSZ, BUFSZ,
				      (unsigned short)i,
				      io_uring_buf_ring_mask(NBUF), (int)i);
	io_uring_buf_ring_advance(s->br, NBUF);
	s->mh.msg_controllen = CTL_SPACE;
	fd = lpc_sys_eventfd();
	if (fd < 0) {
		r = fd;
		goto fail;
	}
	d->wake_fd = lpc_fd_track(fd);
	d->be_state = s;
	return 0;

fail:
	if (s->br != MAP_FAILED && s->br)
		munmap(s->br, NBUF * sizeof(struct io_uring_buf));
	free(s->bufs);
	lpc_fd_untrack(s->ring.ring_fd);
	io_uring_queue_exit(&s->ring);
	free(s);
	return r;
}

static void recycle(struct uring_state *s, unsigned bid)
{
	io_uring_buf_ring_add(s->br, s->bufs + (size_t)bid * BUFSZ, BUFSZ,
			      (unsigned short)bid, io_uring_buf_ring_mask(NBUF),
			      0);
	io_uring_buf_ring_advance(s->br, 1);
}

static void arm_link(struct uring_state *s, struct lpc_link *l)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&s->ring);

	if (!sqe)
		return;	/* tried again on the next drive */
	io_uring_prep_recvmsg_multishot(sqe, l->fd, &s->mh, MSG_CMSG_CLOEXEC);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = BGID;
	io_uring_sqe_set_data64(sqe, ud(l, TAG_RECV));
	lpc_link_ref(l);
	l->armed = true;
	l->anext = s->armed;
	if (s->armed)
		s->armed->apprev = &l->anext;
	l->apprev = &s->armed;
	s->armed = l;
}

static void disarm(struct lpc_link *l)
{
	l->cancelling = false;
	*l->apprev = l->anext;
	if (l->anext)
		l->anext->apprev = l->apprev;
	l->anext = NULL;
	l->apprev = NULL;
	l->armed = false;
	lpc_link_unref(l);
}

/* Domain lock held: prepare every request that should be in flight. */
static void arm(struct lpc_domain *d, struct uring_state *s)
{
	struct io_uring_sqe *sqe;

	if (!s->accept_armed && d->listen_fd >= 0 &&
	    (sqe = io_uring_get_sqe(&s->ring))) {
		io_uring_prep_multishot_accept(sqe, d->listen_fd, NULL, NULL,
					       SOCK_CLOEXEC);
		io_uring_sqe_set_data64(sqe, TAG_ACCEPT);
		s->accept_armed = true;
	}
	if (!s->wake_armed && (sqe = io_uring_get_sqe(&s->ring))) {
		io_uring_prep_read(sqe, d->wake_fd, &s->wake_val,
				   sizeof(s->wake_val), 0);
		io_uring_sqe_set_data64(sqe, TAG_WAKE);
		s->wake_armed = true;
	}
	for (struct lpc_link *l = d->links; l; l = l->next) {
		if (!l->armed && !l->hung_up && !l->throttled)
			arm_link(s, l);
		else if (l->armed && l->throttled && !l->cancelling &&
			 (sqe = io_uring_get_sqe(&s->ring))) {
			/* Stop reading a peer that has filled its share of
			 * the queue; arm_link() resumes it. */
			io_uring_prep_cancel64(sqe, ud(l, TAG_RECV), 0);
			io_uring_sqe_set_data64(sqe, TAG_CANCEL);
			l->cancelling = true;
		}
	}
}

/* The driver's pending reply goes into the same submission as its wait
 * (NtReplyWaitReceivePort: reply, then wait for any client, one
 * io_uring_enter).  The reply was captured into engine memory, so the
 * send cannot fault; MSG_DONTWAIT keeps it from ever parking in the ring:
 * a client that does not drain its socket is disconnected, not waited
 * for. */
static void submit_reply(struct uring_state *s, struct lpc_thread *t)
{
	struct io_uring_sqe *sqe;

	if (!t || !t->psend.active)
		return;
	sqe = io_uring_get_sqe(&s->ring);
	if (!sqe) {
		lpc_psend_flush(t);
		return;
	}
	lpc_wire_seal(&t->psend.w);
	t->psend.iov[0].iov_base = &t->psend.w;
	t->psend.iov[0].iov_len = sizeof(t->psend.w);
	memset(&t->psend.mh, 0, sizeof(t->psend.mh));
	t->psend.mh.msg_iov = t->psend.iov;
	t->psend.mh.msg_iovlen = 2;
	io_uring_prep_sendmsg(sqe, t->psend.link->fd, &t->psend.mh,
			      MSG_NOSIGNAL | MSG_DONTWAIT);
	/* The link reference moves to the request. */
	io_uring_sqe_set_data64(sqe, ud(t->psend.link, TAG_SEND));
	t->psend.link = NULL;
	t->psend.active = false;
}

static void on_recv(struct lpc_domain *d, struct uring_state *s,
		    struct lpc_link *l, struct io_uring_cqe *cqe)
{
	bool more = cqe->flags & IORING_CQE_F_MORE;

	if (cqe->flags & IORING_CQE_F_BUFFER) {
		unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
		uint8_t *buf = s->bufs + (size_t)bid * BUFSZ;
		struct io_uring_recvmsg_out *o = NULL;
		int fd = -1;

		if (cqe->res > 0)
			o = io_uring_recvmsg_validate(buf, cqe->res, &s->mh);
		if (o) {
			struct cmsghdr *c;
			uint32_t len = o->payloadlen;
			bool trunc = o->flags & (MSG_TRUNC | MSG_CTRUNC);

			for (c = io_uring_recvmsg_cmsg_firsthdr(o, &s->mh); c;
			     c = io_uring_recvmsg_cmsg_nexthdr(o, &s->mh, c)) {
				if (c->cmsg_level != SOL_SOCKET ||
				    c->cmsg_type != SCM_RIGHTS)
					continue;
				for (size_t i = 0;
				     i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
				     i++) {
					int f;

					memcpy(&f, CMSG_DATA(c) + i * sizeof(int),
					       sizeof(int));
					if (fd < 0)
						fd = f;
					else
						close(f);
				}
			}
			if (len == 0 || len > LPC_WIRE_MAX) {
				/* End of stream, or more than fits. */
				if (fd >= 0)
					close(fd);
				if (len == 0)
					lpc_link_hangup(l);
				else
					lpc_link_input(l, NULL, 0, -1, true);
			} else {
				lpc_link_input(l,
					       io_uring_recvmsg_payload(o, &s->mh),
					       len, fd, trunc);
			}
		}
		recycle(s, bid);
	} else if (cqe->res == 0) {
		lpc_link_hangup(l);
	} else if (cqe->res < 0 && cqe->res != -ENOBUFS &&
		   cqe->res != -ECANCELED && cqe->res != -EINTR &&
		   cqe->res != -ECONNRESET) {
		lpc_link_hangup(l);
	}
	if (!more)
		/* -ENOBUFS and -ECANCELED just stop it: arm() restarts it.
		 * So does -ECONNRESET, reported once ahead of the packets
		 * a closing peer sent (see backend_client.c). */
		disarm(l);
}

static void on_cqe(struct lpc_domain *d, struct uring_state *s,
		   struct io_uring_cqe *cqe)
{
	uint64_t data = io_uring_cqe_get_data64(cqe);
	void *ptr = (void *)(uintptr_t)(data & ~TAG_MASK);

	switch (data & TAG_MASK) {
	case TAG_ACCEPT:
		if (cqe->res >= 0) {
			if (d->listen_fd >= 0)
				lpc_link_accept(d, cqe->res);
			else
				close(cqe->res);
		}
		if (!(cqe->flags & IORING_CQE_F_MORE))
			s->accept_armed = false;
		break;
	case TAG_WAKE:
		s->wake_armed = false;
		break;
	case TAG_RECV:
		on_recv(d, s, ptr, cqe);
		break;
	case TAG_SEND:
		/* A peer already gone hangs up on its own; one that will not
		 * take its reply is cut off. */
		if (cqe->res < 0 && cqe->res != -EPIPE &&
		    cqe->res != -ECONNRESET)
			lpc_link_hangup(ptr);
		lpc_link_unref(ptr);
		break;
	default:
		break;
	}
}

static int reap(struct lpc_domain *d, struct uring_state *s)
{
	struct io_uring_cqe *cqe;
	unsigned head, n = 0;

	io_uring_for_each_cqe(&s->ring, head, cqe) {
		on_cqe(d, s, cqe);
		n++;
	}
	io_uring_cq_advance(&s->ring, n);
	return (int)n;
}

static int uring_drive(struct lpc_domain *d, const struct timespec *deadline)
{
	struct uring_state *s = d->be_state;
	struct __kernel_timespec kts, *pkts = NULL;
	struct io_uring_cqe *cqe;
	int r;

	lpc_dom_lock(d);
	arm(d, s);
	submit_reply(s, d->driver);
	lpc_dom_unlock(d);
	if (deadline) {
		int ms = lpc_deadline_ms(deadline);

		kts.tv_sec = ms / 1000;
		kts.tv_nsec = (long long)(ms % 1000) * 1000000;
		pkts = &kts;
	}
	r = io_uring_submit_and_wait_timeout(&s->ring, &cqe, 1, pkts, NULL);
	if (r == -ETIME)
		r = -ETIMEDOUT;
	lpc_dom_lock(d);
	if (reap(d, s) > 0 && r == -ETIMEDOUT)
		r = 0;
	/* New clients were armed while reaping: get their requests in
	 * flight now, so that a waitable port's fd sees their data. */
	arm(d, s);
	if (io_uring_sq_ready(&s->ring))
		io_uring_submit(&s->ring);
	lpc_dom_unlock(d);
	if (r == -EINTR || r == -EAGAIN || r == -EBUSY)
		return -EINTR;
	return r < 0 ? r : 0;
}

static void uring_wake(struct lpc_domain *d)
{
	lpc_sys_eventfd_signal(d->wake_fd);
}

static void uring_unlisten(struct lpc_domain *d, int fd)
{
	struct uring_state *s = d->be_state;
	struct io_uring_sync_cancel_reg reg = {
		.addr = TAG_ACCEPT,
		.fd = fd,
		.timeout = { .tv_sec = -1, .tv_nsec = -1 },
	};

	/* Stop accepting now, from whichever thread closes the port: the
	 * cancel needs no submission queue, so no driver. */
	if (s && s->accept_armed)
		io_uring_register_sync_cancel(&s->ring, &reg);
}

static int uring_ready_fd(struct lpc_domain *d)
{
	struct uring_state *s = d->be_state;

	return s ? s->ring.ring_fd : -1;
}

static void uring_fini(struct lpc_domain *d)
{
	struct uring_state *s = d->be_state;
	struct io_uring_sync_cancel_reg reg = {
		.flags = IORING_ASYNC_CANCEL_ANY,
		.timeout = { .tv_sec = -1, .tv_nsec = -1 },
	};

	if (!s)
		return;
	/* Cancel everything and reap, so armed links drop their
	 * references before the ring goes; whatever the kernel still had
	 * not completed is released by hand. */
	io_uring_submit(&s->ring);
	io_uring_register_sync_cancel(&s->ring, &reg);
	lpc_dom_lock(d);
	reap(d, s);
	while (s->armed)
		disarm(s->armed);
	lpc_dom_unlock(d);
	lpc_fd_untrack(s->ring.ring_fd);
	io_uring_queue_exit(&s->ring);
	munmap(s->br, NBUF * sizeof(struct io_uring_buf));
	free(s->bufs);
	free(s);
	d->be_state = NULL;
}

const struct lpc_backend lpc_backend_uring = {
	.name = "uring",
	.init = uring_init,
	.fini = uring_fini,
	.drive = uring_drive,
	.wake = uring_wake,
	.unlisten = uring_unlisten,
	.ready_fd = uring_ready_fd,
	.sends = true,
};
