/* SPDX-License-Identifier: MIT */
/*
 * test_hostile.c - peers that write raw bytes onto the socket: garbage,
 * truncated packets, forged ClientIds, duplicated MessageIds, oversized
 * lengths.  Each must be disconnected (the server learns of it as
 * LPC_PORT_CLOSED once connected) while the server goes on serving its
 * other clients.
 */
#include <errno.h>
#include <poll.h>
#include <semaphore.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "helpers.h"
#include "lpc_int.h"
#include "sys.h"
#include "wire.h"

TestSuite(hostile, .init = lpct_setup, .fini = lpct_teardown, .timeout = 30);

#define NAME "hostile"
#define PORT "\\RPC Control\\" NAME
#define MAXMSG 0x100

static int raw_socket(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s",
		 lpct_path("RPC Control/" NAME));
	cr_assert_geq(fd, 0);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0,
		     "connect: %s", strerror(errno));
	return fd;
}

static void put(int fd, struct lpc_wire *w, const void *body, size_t n)
{
	char buf[LPC_WIRE_MAX + 64];

	w->magic = LPC_WIRE_MAGIC;
	w->version = LPC_WIRE_VERSION;
	memcpy(buf, w, sizeof(*w));
	if (n)
		memcpy(buf + sizeof(*w), body, n);
	cr_assert_eq(send(fd, buf, sizeof(*w) + n, MSG_NOSIGNAL),
		     (ssize_t)(sizeof(*w) + n));
}

/* put() w with a message of the given Type and lengths (MessageId that of
 * w), of which n bytes go on the wire. */
static void put_msg(int fd, struct lpc_wire *w, CSHORT type, CSHORT dlen,
		    CSHORT tlen, size_t n)
{
	union {
		PORT_MESSAGE h;
		char b[sizeof(PORT_MESSAGE) + 0x200];
	} body;

	memset(&body, 0, sizeof(body));
	body.h.u1.s1.DataLength = dlen;
	body.h.u1.s1.TotalLength = tlen;
	body.h.u2.s2.Type = type;
	body.h.MessageId = w->msgid;
	put(fd, w, &body, n);
}

/* Send w alone, with the descriptor pass attached (SCM_RIGHTS). */
static void put_fd(int fd, struct lpc_wire *w, int pass)
{
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct iovec iov = { .iov_base = w, .iov_len = sizeof(*w) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = ctl.b,
			     .msg_controllen = sizeof(ctl.b) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);

	w->magic = LPC_WIRE_MAGIC;
	w->version = LPC_WIRE_VERSION;
	memset(&ctl, 0, sizeof(ctl));
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &pass, sizeof(int));
	cr_assert_eq(sendmsg(fd, &mh, 0), (ssize_t)sizeof(*w));
}

/* True when the peer shut the socket (EOF) within two seconds. */
static bool disconnected(int fd)
{
	char buf[LPC_WIRE_MAX];
	struct pollfd p = { .fd = fd, .events = POLLIN };

	for (;;) {
		ssize_t n;

		if (poll(&p, 1, 2000) <= 0)
			return false;
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno == ECONNRESET))
			return true;
		if (n < 0 && errno != EAGAIN)
			return true;
	}
}

/* Raw client thread: handshake, then whatever `attack` sends. */
struct raw {
	void (*attack)(int fd, struct raw *r);
	bool handshake;
	bool eof;
	pid_t tid;
};

static void *raw_thread(void *arg)
{
	struct raw *r = arg;
	int fd = raw_socket();

	r->tid = lpct_gettid();
	if (r->handshake) {
		struct lpc_wire w = { .op = LPC_OP_CONNECT, .tid = r->tid,
				      .msgid = 7 };
		char buf[LPC_WIRE_MAX];

		put(fd, &w, NULL, 0);
		/* ACCEPT, then COMPLETE. */
		for (int i = 0; i < 2; i++)
			cr_assert_gt(recv(fd, buf, sizeof(buf), 0), 0);
	}
	r->attack(fd, r);
	r->eof = disconnected(fd);
	close(fd);
	return NULL;
}

/* A well-behaved client doing one request after the attack. */
static void *good_client(void *arg)
{
	HANDLE port;
	lpct_msg req, rep;

	(void)arg;
	if (lpct_connect(&port, PORT, NULL, NULL))
		return (void *)1;
	lpct_msg_init(&req, "ok?", 4);
	if (NtRequestWaitReplyPort(port, &req.h, &rep.h) ||
	    strcmp((char *)rep.data, "ok!"))
		return (void *)2;
	NtClose(port);
	return NULL;
}

/* Serve: accept the hostile client (if it handshakes), expect its
 * LPC_PORT_CLOSED, then serve a good client fully. */
static void run(void (*attack)(int, struct raw *), bool handshake)
{
	HANDLE port = lpct_create(PORT, 0, MAXMSG), comm = NULL, gcomm;
	struct raw r = { .attack = attack, .handshake = handshake };
	pthread_t t = lpct_thread(raw_thread, &r), g;
	lpct_msg m;
	void *ctx;

	if (handshake) {
		comm = lpct_accept_next(port, (PVOID)0xbad);
		cr_assert_status(NtReplyWaitReceivePort(port, &ctx, NULL, &m.h),
				 STATUS_SUCCESS);
		cr_assert_eq(m.h.u2.s2.Type, LPC_PORT_CLOSED,
			     "hostile peer: got type %d", m.h.u2.s2.Type);
		cr_assert_eq(ctx, (PVOID)0xbad);
	} else {
		/* Serve while the peer misbehaves: nothing gets queued. */
		LARGE_INTEGER to = lpct_timeout_ms(2500);

		cr_assert_status(NtReplyWaitReceivePortEx(port, &ctx, NULL,
							  &m.h, &to),
				 STATUS_TIMEOUT);
	}
	lpct_join(t);
	cr_assert(r.eof, "the hostile peer was not disconnected");
	if (comm) {
		lpct_msg_init(&m, "x", 1);
		cr_assert_status(NtRequestPort(comm, &m.h),
				 STATUS_PORT_DISCONNECTED);
		NtClose(comm);
	}
	g = lpct_thread(good_client, NULL);
	gcomm = lpct_accept_next(port, NULL);
	cr_assert_status(NtReplyWaitReceivePort(port, NULL, NULL, &m.h),
			 STATUS_SUCCESS);
	cr_assert_eq(m.h.u2.s2.Type, LPC_REQUEST);
	strcpy((char *)m.data, "ok!");
	cr_assert_status(NtReplyPort(port, &m.h), STATUS_SUCCESS);
	cr_assert_null(lpct_join(g));
	NtClose(gcomm);
	NtClose(port);
}

static void garbage(int fd, struct raw *r)
{
	char junk[300];

	(void)r;
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (char)(i * 31 + 7);
	cr_assert_eq(send(fd, junk, sizeof(junk), 0), (ssize_t)sizeof(junk));
}

Test(hostile, garbage_before_connect)
{
	run(garbage, false);
}

Test(hostile, garbage_after_connect)
{
	run(garbage, true);
}

static void truncated(int fd, struct raw *r)
{
	struct lpc_wire w = { .op = LPC_OP_REQUEST, .tid = r->tid };

	w.magic = LPC_WIRE_MAGIC;
	w.version = LPC_WIRE_VERSION;
	cr_assert_eq(send(fd, &w, sizeof(w) / 2, 0), (ssize_t)sizeof(w) / 2);
}

Test(hostile, truncated_packet)
{
	run(truncated, true);
}

static void forged_tid(int fd, struct raw *r)
{
	struct lpc_wire w = { .op = LPC_OP_REQUEST, .msgid = 9 };

	(void)r;
	/* Thread 1 is alive, and belongs to another process. */
	w.tid = 1;
	put_msg(fd, &w, LPC_REQUEST, 4, sizeof(PORT_MESSAGE) + 4,
		sizeof(PORT_MESSAGE) + 4);
}

Test(hostile, forged_client_id)
{
	run(forged_tid, true);
}

static void duplicate_ids(int fd, struct raw *r)
{
	struct lpc_wire w = { .op = LPC_OP_REQUEST, .tid = r->tid,
			      .msgid = 11 };

	/* One thread, two outstanding requests with one MessageId: a real
	 * thread can only wait for one reply at a time. */
	for (int i = 0; i < 2; i++)
		put_msg(fd, &w, LPC_REQUEST, 4, sizeof(PORT_MESSAGE) + 4,
			sizeof(PORT_MESSAGE) + 4);
}

/* The first request is genuine and queued; the server takes it, then
 * sees the connection drop. */
Test(hostile, duplicated_message_ids)
{
	HANDLE port = lpct_create(PORT, 0, MAXMSG), comm;
	struct raw r = { .attack = duplicate_ids, .handshake = true };
	pthread_t t = lpct_thread(raw_thread, &r);
	lpct_msg m;

	comm = lpct_accept_next(port, NULL);
	cr_assert_status(NtReplyWaitReceivePort(port, NULL, NULL, &m.h),
			 STATUS_SUCCESS);
	cr_assert_eq(m.h.u2.s2.Type, LPC_REQUEST);
	cr_assert_status(NtReplyWaitReceivePort(port, NULL, NULL, &m.h),
			 STATUS_SUCCESS);
	cr_assert_eq(m.h.u2.s2.Type, LPC_PORT_CLOSED);
	/* The genuine request's thread is gone as far as we know. */
	lpct_join(t);
	cr_assert(r.eof);
	NtClose(comm);
	NtClose(port);
}

static void too_long(int fd, struct raw *r)
{
	struct lpc_wire w = { .op = LPC_OP_DATAGRAM, .tid = r->tid,
			      .msgid = 12 };

	/* TotalLength beyond the port's maximum. */
	put_msg(fd, &w, LPC_DATAGRAM, 0x180, sizeof(PORT_MESSAGE) + 0x180,
		sizeof(PORT_MESSAGE) + 0x180);
}

Test(hostile, oversized_total_length)
{
	run(too_long, true);
}

static void lying_length(int fd, struct raw *r)
{
	struct lpc_wire w = { .op = LPC_OP_DATAGRAM, .tid = r->tid,
			      .msgid = 13 };

	/* DataLength says 60, the packet carries 8. */
	put_msg(fd, &w, LPC_DATAGRAM, 60, sizeof(PORT_MESSAGE) + 60,
		sizeof(PORT_MESSAGE) + 8);
}

Test(hostile, data_length_disagrees_with_packet)
{
	run(lying_length, true);
}

static void negative_length(int fd, struct raw *r)
{
	struct lpc_wire w = { .op = LPC_OP_DATAGRAM, .tid = r->tid,
			      .msgid = 14 };

	put_msg(fd, &w, LPC_DATAGRAM, (CSHORT)0x8004, (CSHORT)0x8030,
		sizeof(PORT_MESSAGE) + 4);
}

Test(hostile, lengths_with_the_sign_bit)
{
	run(negative_length, true);
}

static void huge_packet(int fd, struct raw *r)
{
	static char big[LPC_WIRE_MAX * 2];
	struct lpc_wire w = { .op = LPC_OP_DATAGRAM, .tid = r->tid,
			      .msgid = 15, .magic = LPC_WIRE_MAGIC,
			      .version = LPC_WIRE_VERSION };
	int sz = sizeof(big) * 2;

	memcpy(big, &w, sizeof(w));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	cr_assert_eq(send(fd, big, sizeof(big), 0), (ssize_t)sizeof(big));
}

Test(hostile, packet_larger_than_any_message)
{
	run(huge_packet, true);
}

static void unsolicited_reply(int fd, struct raw *r)
{
	struct lpc_wire w = { .op = LPC_OP_REPLY, .tid = r->tid,
			      .target = lpct_gettid(), .msgid = 16 };

	put_msg(fd, &w, LPC_REPLY, 4, sizeof(PORT_MESSAGE) + 4,
		sizeof(PORT_MESSAGE) + 4);
}

Test(hostile, reply_nobody_asked_for)
{
	run(unsolicited_reply, true);
}

static void server_only_op(int fd, struct raw *r)
{
	struct lpc_wire w = { .op = LPC_OP_COMPLETE, .tid = r->tid,
			      .target = r->tid, .msgid = 7 };

	put(fd, &w, NULL, 0);
}

Test(hostile, op_only_a_server_may_send)
{
	run(server_only_op, true);
}

static void fd_without_view(int fd, struct raw *r)
{
	struct lpc_wire w = { .op = LPC_OP_CONNECT, .tid = r->tid,
			      .msgid = 17 };

	put_fd(fd, &w, 0); /* stdin */
}

Test(hostile, passed_fd_without_a_view)
{
	run(fd_without_view, false);
}

static void bogus_view(int fd, struct raw *r)
{
	(void)fd;
	(void)r;
}

/* A connect request whose "section" is a pipe: accepting must fail
 * cleanly and refuse the client, not crash. */
Test(hostile, view_that_is_not_a_section)
{
	HANDLE port = lpct_create(PORT, 0, MAXMSG), comm = (HANDLE)0x55;
	int fd = raw_socket(), p[2];
	struct lpc_wire w = { .op = LPC_OP_CONNECT, .tid = lpct_gettid(),
			      .msgid = 18, .flags = LPC_WF_VIEW,
			      .arg0 = 4096 };
	lpct_msg m;

	(void)bogus_view;
	cr_assert_eq(pipe(p), 0);
	put_fd(fd, &w, p[0]);
	cr_assert_status(NtListenPort(port, &m.h), STATUS_SUCCESS);
	cr_assert_eq(m.h.ClientViewSize, 4096);
	cr_assert_neq(NtAcceptConnectPort(&comm, NULL, &m.h, TRUE, NULL, NULL),
		      STATUS_SUCCESS);
	cr_assert_eq(comm, (HANDLE)0x55);
	cr_assert(disconnected(fd));
	close(fd);
	NtClose(port);
}

/* Regression: a peer's view was mapped whatever its fd was, so a client
 * could pass a memfd, let the server map it, then shrink it: the server's
 * next read of the view (csrd validating a capture buffer) died of SIGBUS.
 * An unsealed memfd is now refused at accept. */
Test(hostile, view_that_may_shrink)
{
	HANDLE port = lpct_create(PORT, 0, MAXMSG), comm = (HANDLE)0x55;
	int fd = raw_socket();
	int mfd = (int)syscall(SYS_memfd_create, "unsealed", MFD_CLOEXEC);
	struct lpc_wire w = { .op = LPC_OP_CONNECT, .tid = lpct_gettid(),
			      .msgid = 19, .flags = LPC_WF_VIEW,
			      .arg0 = 4096 };
	lpct_msg m;

	cr_assert_geq(mfd, 0);
	cr_assert_eq(ftruncate(mfd, 4096), 0);
	put_fd(fd, &w, mfd);
	cr_assert_status(NtListenPort(port, &m.h), STATUS_SUCCESS);
	cr_assert_neq(NtAcceptConnectPort(&comm, NULL, &m.h, TRUE, NULL, NULL),
		      STATUS_SUCCESS);
	cr_assert_eq(comm, (HANDLE)0x55);
	cr_assert(disconnected(fd));
	close(mfd);
	close(fd);
	NtClose(port);
}

/* The engine's own sections are sealed: their size cannot change. */
Test(hostile, sections_cannot_shrink)
{
	int fd = lpc_sys_memfd("t", 8192);

	cr_assert_geq(fd, 0);
	cr_assert_eq(ftruncate(fd, 0), -1);
	cr_assert_eq(errno, EPERM);
	cr_assert_eq(ftruncate(fd, 16384), -1);
	close(fd);
}

/* A client floods datagrams at a server whose only thread waits in
 * NtListenPort: that thread drives the transport but takes no datagram.
 * The server must not buffer without bound: past its quota for the
 * connection it stops reading, the flooder's socket fills and its sends
 * fail with STATUS_NO_MEMORY (NT's answer when a port's message quota is
 * used up).  Every datagram that was sent is delivered, and once the
 * server drains, the flooder can send again. */
struct flood {
	HANDLE port;
	long sent;
	NTSTATUS stop, retry;
	sem_t flooded;
	pthread_barrier_t drained;
};

static void *flooder(void *arg)
{
	struct flood *f = arg;
	lpct_msg m;

	for (f->sent = 0; f->sent < 1000000; f->sent++) {
		lpct_msg_init(&m, "flood", 6);
		f->stop = NtRequestPort(f->port, &m.h);
		if (f->stop != STATUS_SUCCESS)
			break;
	}
	/* Give the server, still driving in NtListenPort, time to read on:
	 * held back, it leaves the socket full and the retry fails too. */
	usleep(300000);
	lpct_msg_init(&m, "flood", 6);
	f->retry = NtRequestPort(f->port, &m.h);
	if (f->retry == STATUS_SUCCESS)
		f->sent++;
	sem_post(&f->flooded);
	pthread_barrier_wait(&f->drained);
	lpct_msg_init(&m, "again", 6);
	f->stop = NtRequestPort(f->port, &m.h);
	return NULL;
}

static void *connector(void *arg)
{
	HANDLE *h = arg;

	return (void *)(uintptr_t)lpct_connect(h, PORT, NULL, NULL);
}

/* Connect once the flood has stopped: that releases NtListenPort. */
static void *late_connector(void *arg)
{
	struct flood *f = arg;
	HANDLE h;

	sem_wait(&f->flooded);
	return (void *)(uintptr_t)lpct_connect(&h, PORT, NULL, NULL);
}

Test(hostile, flooding_client_is_held_back_not_buffered)
{
	HANDLE port = lpct_create(PORT, 0, MAXMSG), comm, late;
	LARGE_INTEGER to = lpct_timeout_ms(300);
	struct flood f = { 0 };
	pthread_t ct, ft, lt;
	long got = 0;
	lpct_msg m;

	sem_init(&f.flooded, 0, 0);
	pthread_barrier_init(&f.drained, NULL, 2);
	ct = lpct_thread(connector, &f.port);
	comm = lpct_accept_next(port, NULL);
	cr_assert_null(lpct_join(ct));
	ft = lpct_thread(flooder, &f);
	lt = lpct_thread(late_connector, &f);
	late = lpct_accept_next(port, NULL);
	cr_assert_null(lpct_join(lt));
	cr_assert_status(f.stop, STATUS_NO_MEMORY);
	cr_assert_status(f.retry, STATUS_NO_MEMORY);
	cr_assert_gt(f.sent, 100, "the server took some before holding back");
	/* Bounded: the connection's quota in the server, the ring's buffers,
	 * and what the kernel keeps in the socket (its send buffer, charged
	 * to the sender).  A server that buffered without bound would have
	 * taken all of the million. */
	cr_assert_lt(f.sent, 100000, "sent %ld", f.sent);
	while (NtReplyWaitReceivePortEx(port, NULL, NULL, &m.h, &to) ==
	       STATUS_SUCCESS) {
		cr_assert_eq(m.h.u2.s2.Type, LPC_DATAGRAM);
		cr_assert_str_eq((char *)m.data, "flood");
		got++;
	}
	cr_assert_eq(got, f.sent, "sent %ld, delivered %ld", f.sent, got);
	pthread_barrier_wait(&f.drained);
	cr_assert_null(lpct_join(ft));
	cr_assert_status(f.stop, STATUS_SUCCESS);
	cr_assert_status(NtReplyWaitReceivePortEx(port, NULL, NULL, &m.h, &to),
			 STATUS_SUCCESS);
	cr_assert_str_eq((char *)m.data, "again");
	NtClose(late);
	NtClose(comm);
	NtClose(f.port);
	NtClose(port);
}
