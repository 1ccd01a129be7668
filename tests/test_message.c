/* SPDX-License-Identifier: MIT */
/*
 * test_message.c - what a message is and where it goes: the length rules
 * of spec 3.3 in their order, ALIGN4 copies, capture at send time,
 * unconnected (loop-back) ports, requests straight to a connection port,
 * datagrams, FIFO order, NtListenPort leaving other messages queued, the
 * receive buffer probes, and waitable ports (spec 3, 4.2, 5.5, 5.8, 5.9,
 * 5.11, 7.4, 13).
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "helpers.h"

TestSuite(message, .init = lpct_setup, .fini = lpct_teardown, .timeout = 30);

#define PORT "\\RPC Control\\message"
#define HDR ((CSHORT)sizeof(PORT_MESSAGE))
#define ALIGN4(n) (((n) + 3) & ~3)
#define BAD_HANDLE ((HANDLE)(uintptr_t)0x7ff0)
/* A receive buffer that survives a bogus ALIGN4(DataLength) copy. */
#define BIG_BUF 0x20000

/* Receive the next message into m within ms (0: poll); of type type. */
static void recv_type(HANDLE port, PVOID *ctx, lpct_msg *m, long ms,
		      int type)
{
	cr_assert_status(lpct_recv_ms(port, ctx, &m->h, ms), STATUS_SUCCESS);
	cr_assert_eq(m->h.u2.s2.Type, type, "type %d, want %d",
		     m->h.u2.s2.Type, type);
}

static void assert_queue_empty(HANDLE port)
{
	void *buf = aligned_alloc(8, BIG_BUF);

	cr_assert_not_null(buf);
	cr_assert_status(lpct_recv_ms(port, NULL, buf, 0), STATUS_TIMEOUT);
	free(buf);
}

/* ---------------------------------------------------------------- */
/* A requester thread                                                */
/* ---------------------------------------------------------------- */

struct req {
	HANDLE port;
	lpct_msg in, out;
	NTSTATUS s;
	pid_t tid;
};

static void *request_thread(void *a)
{
	struct req *r = a;

	r->tid = lpct_gettid();
	r->s = NtRequestWaitReplyPort(r->port, &r->in.h, &r->out.h);
	return NULL;
}

/* Start the request in through port; the reply buffer is prefilled 0xff. */
static pthread_t start_request_msg(struct req *r, HANDLE port,
				   const lpct_msg *in)
{
	memset(r, 0, sizeof(*r));
	r->port = port;
	r->s = -1;
	r->in = *in;
	memset(&r->out, 0xff, sizeof(r->out));
	return lpct_thread(request_thread, r);
}

static pthread_t start_request(struct req *r, HANDLE port, const void *data,
			       CSHORT len)
{
	lpct_msg in;

	lpct_msg_init(&in, data, len);
	return start_request_msg(r, port, &in);
}

/* ---------------------------------------------------------------- */
/* An echo responder on an unconnected port                          */
/* ---------------------------------------------------------------- */

struct responder {
	HANDLE port;
	pthread_t t;
	int replies;
};

static void *responder_main(void *a)
{
	struct responder *r = a;
	PORT_MESSAGE *m = aligned_alloc(8, BIG_BUF);

	if (!m)
		return NULL;
	for (;;) {
		if (lpct_recv_ms(r->port, NULL, m, 10000) != STATUS_SUCCESS)
			break;
		if (m->u2.s2.Type == LPC_DATAGRAM)
			break;	/* stop */
		if (m->u2.s2.Type != LPC_REQUEST)
			continue;
		lpct_set_lengths(m, 0, HDR);
		if (NtReplyPort(r->port, m) == STATUS_SUCCESS)
			r->replies++;
	}
	free(m);
	return NULL;
}

static void responder_start(struct responder *r, HANDLE port)
{
	r->port = port;
	r->replies = 0;
	r->t = lpct_thread(responder_main, r);
}

static void responder_stop(struct responder *r)
{
	lpct_msg m;

	lpct_msg_init(&m, NULL, 0);
	cr_assert_status(NtRequestPort(r->port, &m.h), STATUS_SUCCESS);
	lpct_join(r->t);
}

/* ---------------------------------------------------------------- */
/* Length rules (spec 3.3), in their order                           */
/* ---------------------------------------------------------------- */

/* Rule 1 comes before the handle is referenced (ring3k: DataSize 0x1000
 * with MessageSize header+1). */
Test(message, data_length_beyond_total_length_checked_before_handle)
{
	HANDLE port = lpct_create(NULL, 0, 0x100);
	HANDLE handles[] = { BAD_HANDLE, NULL, port };
	lpct_msg m, out;

	for (size_t i = 0; i < sizeof(handles) / sizeof(handles[0]); i++) {
		HANDLE h = handles[i];

		lpct_msg_init(&m, "x", 1);
		lpct_set_lengths(&m.h, 0x1000, HDR + 1);
		m.h.MessageId = 1;
		cr_assert_status(NtRequestPort(h, &m.h),
				 STATUS_INVALID_PARAMETER);
		cr_assert_status(NtRequestWaitReplyPort(h, &m.h, &out.h),
				 STATUS_INVALID_PARAMETER);
		cr_assert_status(NtReplyPort(h, &m.h),
				 STATUS_INVALID_PARAMETER);
		cr_assert_status(NtReplyWaitReceivePort(h, NULL, &m.h, &out.h),
				 STATUS_INVALID_PARAMETER);
		cr_assert_status(NtReplyWaitReplyPort(h, &m.h),
				 STATUS_INVALID_PARAMETER);
		/* One byte too many. */
		lpct_set_lengths(&m.h, 2, HDR + 1);
		cr_assert_status(NtRequestPort(h, &m.h),
				 STATUS_INVALID_PARAMETER);
		cr_assert_status(NtRequestWaitReplyPort(h, &m.h, &out.h),
				 STATUS_INVALID_PARAMETER);
		cr_assert_status(NtReplyPort(h, &m.h),
				 STATUS_INVALID_PARAMETER);
	}
	/* Consistent lengths: now the bad handle is what fails. */
	lpct_msg_init(&m, "x", 1);
	m.h.MessageId = 1;
	cr_assert_status(NtRequestPort(BAD_HANDLE, &m.h), STATUS_INVALID_HANDLE);
	cr_assert_status(NtRequestWaitReplyPort(BAD_HANDLE, &m.h, &out.h),
			 STATUS_INVALID_HANDLE);
	cr_assert_status(NtReplyPort(BAD_HANDLE, &m.h), STATUS_INVALID_HANDLE);
	cr_assert_status(NtReplyWaitReceivePort(BAD_HANDLE, NULL, &m.h, &out.h),
			 STATUS_INVALID_HANDLE);
	assert_queue_empty(port);
	cr_assert_status(NtClose(port), STATUS_SUCCESS);
}

/* Rule 2 (replies only): MessageId 0 before the handle. */
Test(message, reply_message_id_zero_checked_before_handle)
{
	HANDLE port = lpct_create(NULL, 0, 0x100);
	HANDLE handles[] = { BAD_HANDLE, NULL, port };
	lpct_msg m, out;

	for (size_t i = 0; i < sizeof(handles) / sizeof(handles[0]); i++) {
		HANDLE h = handles[i];

		lpct_msg_init(&m, "x", 1);
		m.h.ClientId.UniqueProcess = (HANDLE)(uintptr_t)getpid();
		m.h.ClientId.UniqueThread = (HANDLE)(uintptr_t)lpct_gettid();
		m.h.MessageId = 0;
		cr_assert_status(NtReplyPort(h, &m.h),
				 STATUS_INVALID_PARAMETER);
		cr_assert_status(NtReplyWaitReceivePort(h, NULL, &m.h, &out.h),
				 STATUS_INVALID_PARAMETER);
		cr_assert_status(NtReplyWaitReplyPort(h, &m.h),
				 STATUS_INVALID_PARAMETER);
	}
	lpct_msg_init(&m, "x", 1);
	m.h.MessageId = 7;
	cr_assert_status(NtReplyPort(BAD_HANDLE, &m.h), STATUS_INVALID_HANDLE);
	cr_assert_status(NtReplyWaitReplyPort(BAD_HANDLE, &m.h),
			 STATUS_INVALID_HANDLE);
	cr_assert_status(NtClose(port), STATUS_SUCCESS);
}

/* Rule 4: TotalLength above the port's MaxMessageLength, on every path;
 * exactly the maximum is fine. */
Test(message, total_length_above_port_maximum_is_too_long)
{
	HANDLE port = lpct_create(NULL, 0, 0x100), tiny;
	struct responder rs;
	struct req r;
	pthread_t t;
	lpct_msg m, out;

	lpct_msg_init(&m, "x", 1);
	lpct_set_lengths(&m.h, 1, 0x101);
	cr_assert_status(NtRequestPort(port, &m.h),
			 STATUS_PORT_MESSAGE_TOO_LONG);
	cr_assert_status(NtRequestWaitReplyPort(port, &m.h, &out.h),
			 STATUS_PORT_MESSAGE_TOO_LONG);
	/* TotalLength is checked before the target thread is looked up. */
	m.h.MessageId = 5;
	cr_assert_status(NtReplyPort(port, &m.h), STATUS_PORT_MESSAGE_TOO_LONG);
	cr_assert_status(NtReplyWaitReceivePort(port, NULL, &m.h, &out.h),
			 STATUS_PORT_MESSAGE_TOO_LONG);
	cr_assert_status(NtReplyWaitReplyPort(port, &m.h),
			 STATUS_PORT_MESSAGE_TOO_LONG);
	assert_queue_empty(port);

	lpct_msg_init(&m, "x", 1);
	lpct_set_lengths(&m.h, 1, 0x100);
	cr_assert_status(NtRequestPort(port, &m.h), STATUS_SUCCESS);
	memset(&out, 0xff, sizeof(out));
	cr_assert_status(lpct_recv_ms(port, NULL, &out.h, 0), STATUS_SUCCESS);
	cr_assert_eq(out.h.u1.s1.TotalLength, 0x100);
	cr_assert_eq(out.h.u1.s1.DataLength, 1);
	responder_start(&rs, port);
	cr_assert_status(NtRequestWaitReplyPort(port, &m.h, &out.h),
			 STATUS_SUCCESS);
	responder_stop(&rs);
	cr_assert_eq(rs.replies, 1);

	/* A reply that is too long is refused; the requester still waits
	 * and takes the right-sized one. */
	t = start_request(&r, port, "q", 1);
	recv_type(port, NULL, &m, 10000, LPC_REQUEST);
	lpct_set_lengths(&m.h, 1, 0x101);
	cr_assert_status(NtReplyPort(port, &m.h), STATUS_PORT_MESSAGE_TOO_LONG);
	lpct_set_lengths(&m.h, 1, 0x100);
	m.data[0] = 'R';
	cr_assert_status(NtReplyPort(port, &m.h), STATUS_SUCCESS);
	lpct_join(t);
	cr_assert_status(r.s, STATUS_SUCCESS);
	cr_assert_eq(r.out.h.u1.s1.TotalLength, 0x100);
	cr_assert_eq(r.out.data[0], 'R');

	/* ring3k: DataSize 1, MessageSize 0x1000 on a port of max 28. */
	tiny = lpct_create(NULL, 0, 28);
	lpct_msg_init(&m, "x", 1);
	lpct_set_lengths(&m.h, 1, 0x1000);
	cr_assert_status(NtRequestPort(tiny, &m.h),
			 STATUS_PORT_MESSAGE_TOO_LONG);
	cr_assert_status(NtRequestWaitReplyPort(tiny, &m.h, &out.h),
			 STATUS_PORT_MESSAGE_TOO_LONG);
	cr_assert_status(NtClose(tiny), STATUS_SUCCESS);
	cr_assert_status(NtClose(port), STATUS_SUCCESS);
}

/* Communication ports inherit the connection port's maximum. */
Test(message, communication_ports_inherit_the_maximum)
{
	HANDLE port = lpct_create(PORT, 0, 0x80), comm, client;
	struct req r;
	pthread_t t;
	lpct_msg m, out;

	client = lpct_connect_client(port, PORT, NULL, &comm);
	lpct_msg_init(&m, "x", 1);
	lpct_set_lengths(&m.h, 1, 0x81);
	cr_assert_status(NtRequestPort(client, &m.h),
			 STATUS_PORT_MESSAGE_TOO_LONG);
	cr_assert_status(NtRequestWaitReplyPort(client, &m.h, &out.h),
			 STATUS_PORT_MESSAGE_TOO_LONG);
	cr_assert_status(NtRequestPort(comm, &m.h),
			 STATUS_PORT_MESSAGE_TOO_LONG);
	lpct_set_lengths(&m.h, 1, 0x80);
	cr_assert_status(NtRequestPort(client, &m.h), STATUS_SUCCESS);
	recv_type(port, NULL, &out, 10000, LPC_DATAGRAM);
	cr_assert_eq(out.h.u1.s1.TotalLength, 0x80);

	t = start_request(&r, client, "q", 1);
	recv_type(port, NULL, &m, 10000, LPC_REQUEST);
	lpct_set_lengths(&m.h, 1, 0x81);
	cr_assert_status(NtReplyPort(comm, &m.h), STATUS_PORT_MESSAGE_TOO_LONG);
	cr_assert_status(NtReplyPort(port, &m.h), STATUS_PORT_MESSAGE_TOO_LONG);
	lpct_set_lengths(&m.h, 1, 0x80);
	cr_assert_status(NtReplyPort(comm, &m.h), STATUS_SUCCESS);
	lpct_join(t);
	cr_assert_status(r.s, STATUS_SUCCESS);
	cr_assert_eq(r.out.h.u1.s1.TotalLength, 0x80);
	cr_assert_status(NtClose(client), STATUS_SUCCESS);
	cr_assert_status(NtClose(comm), STATUS_SUCCESS);
	cr_assert_status(NtClose(port), STATUS_SUCCESS);
}

/* Spec 3.2: MaxMessageLength 0 is accepted at creation, then every send
 * fails, even a header-only message. */
Test(message, zero_max_message_length_port_refuses_every_send)
{
	HANDLE loop = NULL, port, comm, client;
	lpct_msg m, out;

	cr_assert_status(lpct_try_create(&loop, NULL, 0, 0), STATUS_SUCCESS);
	lpct_msg_init(&m, NULL, 0);
	cr_assert_status(NtRequestPort(loop, &m.h),
			 STATUS_PORT_MESSAGE_TOO_LONG);
	cr_assert_status(NtRequestWaitReplyPort(loop, &m.h, &out.h),
			 STATUS_PORT_MESSAGE_TOO_LONG);
	assert_queue_empty(loop);

	port = lpct_create(PORT, 0, 0);
	cr_assert_status(NtRequestPort(port, &m.h),
			 STATUS_PORT_MESSAGE_TOO_LONG);
	client = lpct_connect_client(port, PORT, NULL, &comm);
	cr_assert_status(NtRequestPort(client, &m.h),
			 STATUS_PORT_MESSAGE_TOO_LONG);
	cr_assert_status(NtRequestWaitReplyPort(client, &m.h, &out.h),
			 STATUS_PORT_MESSAGE_TOO_LONG);
	cr_assert_status(NtRequestPort(comm, &m.h),
			 STATUS_PORT_MESSAGE_TOO_LONG);
	lpct_msg_init(&m, "abcd", 4);
	cr_assert_status(NtRequestPort(client, &m.h),
			 STATUS_PORT_MESSAGE_TOO_LONG);
	assert_queue_empty(port);
	cr_assert_status(NtClose(client), STATUS_SUCCESS);
	cr_assert_status(NtClose(comm), STATUS_SUCCESS);
	cr_assert_status(NtClose(port), STATUS_SUCCESS);
	cr_assert_status(NtClose(loop), STATUS_SUCCESS);
}

/* ROS-AT: TotalLength 48 with DataLength 4 arrives unchanged, in a
 * datagram, a request and a reply; only ALIGN4(DataLength) data bytes
 * are copied, not TotalLength - 40. */
Test(message, total_length_above_data_length_is_delivered_unchanged)
{
	HANDLE port = lpct_create(PORT, 0, 0x100), comm, client;
	static const char data[16] = "ABCDEFGHIJKLMNO";
	struct req r;
	pthread_t t;
	lpct_msg m;
	PVOID ctx;

	client = lpct_connect_client(port, PORT, (PVOID)0x1234, &comm);
	lpct_msg_init(&m, data, 16);
	lpct_set_lengths(&m.h, 4, 48);
	cr_assert_status(NtRequestPort(client, &m.h), STATUS_SUCCESS);
	memset(&m, 0xff, sizeof(m));
	ctx = NULL;
	cr_assert_status(lpct_recv_ms(port, &ctx, &m.h, 10000), STATUS_SUCCESS);
	cr_assert_eq(ctx, (PVOID)0x1234);
	cr_assert_eq(m.h.u2.s2.Type, LPC_DATAGRAM);
	cr_assert_eq(m.h.u1.s1.DataLength, 4);
	cr_assert_eq(m.h.u1.s1.TotalLength, 48);
	cr_assert_eq(memcmp(m.data, "ABCD", 4), 0);
	cr_assert_eq(m.data[4], 0xff, "only ALIGN4(DataLength) is copied");

	lpct_msg_init(&m, data, 16);
	lpct_set_lengths(&m.h, 4, 48);
	t = start_request_msg(&r, client, &m);
	memset(&m, 0xff, sizeof(m));
	recv_type(port, NULL, &m, 10000, LPC_REQUEST);
	cr_assert_eq(m.h.u1.s1.DataLength, 4);
	cr_assert_eq(m.h.u1.s1.TotalLength, 48);
	cr_assert_eq(memcmp(m.data, "ABCD", 4), 0);
	cr_assert_eq(m.data[4], 0xff);
	memcpy(m.data, "wxyz1234", 8);
	lpct_set_lengths(&m.h, 4, 48);
	cr_assert_status(NtReplyPort(comm, &m.h), STATUS_SUCCESS);
	lpct_join(t);
	cr_assert_status(r.s, STATUS_SUCCESS);
	cr_assert_eq(r.out.h.u2.s2.Type, LPC_REPLY);
	cr_assert_eq(r.out.h.u1.s1.DataLength, 4);
	cr_assert_eq(r.out.h.u1.s1.TotalLength, 48);
	cr_assert_eq(memcmp(r.out.data, "wxyz", 4), 0);
	cr_assert_eq(r.out.data[4], 0xff);
	cr_assert_status(NtClose(client), STATUS_SUCCESS);
	cr_assert_status(NtClose(comm), STATUS_SUCCESS);
	cr_assert_status(NtClose(port), STATUS_SUCCESS);
}

/* Header-only messages are legal in every direction. */
Test(message, data_length_zero_is_legal)
{
	HANDLE port = lpct_create(NULL, 0, 0x100);
	struct req r;
	pthread_t t;
	lpct_msg m;

	lpct_msg_init(&m, "zz", 2);
	lpct_set_lengths(&m.h, 0, HDR);
	cr_assert_status(NtRequestPort(port, &m.h), STATUS_SUCCESS);
	memset(&m, 0xff, sizeof(m));
	recv_type(port, NULL, &m, 0, LPC_DATAGRAM);
	cr_assert_eq(m.h.u1.s1.DataLength, 0);
	cr_assert_eq(m.h.u1.s1.TotalLength, HDR);
	cr_assert_eq(m.data[0], 0xff, "no data byte is copied");

	lpct_msg_init(&m, "zz", 2);
	lpct_set_lengths(&m.h, 0, HDR);
	t = start_request_msg(&r, port, &m);
	memset(&m, 0xff, sizeof(m));
	recv_type(port, NULL, &m, 10000, LPC_REQUEST);
	cr_assert_eq(m.h.u1.s1.DataLength, 0);
	cr_assert_eq(m.h.u1.s1.TotalLength, HDR);
	cr_assert_eq(m.data[0], 0xff);
	m.data[0] = 'x';
	lpct_set_lengths(&m.h, 0, HDR);
	cr_assert_status(NtReplyPort(port, &m.h), STATUS_SUCCESS);
	lpct_join(t);
	cr_assert_status(r.s, STATUS_SUCCESS);
	cr_assert_eq(r.out.h.u2.s2.Type, LPC_REPLY);
	cr_assert_eq(r.out.h.u1.s1.DataLength, 0);
	cr_assert_eq(r.out.h.u1.s1.TotalLength, HDR);
	cr_assert_eq(r.out.data[0], 0xff);
	cr_assert_status(NtClose(port), STATUS_SUCCESS);
}

static const struct {
	int data, total;
} huge_lengths[] = {
	{ 0x8000, 0x7fff }, { 0, 0x8000 },	 { 0x8000, 0x8028 },
	{ 0xffff, HDR },    { 0xfffc, HDR + 4 }, { 0x8000, 0xffff },
	{ 4, 0xffff },	    { 0x7fff, 0xffff },	 { 0xfff0, 0x8000 },
};

#define N_HUGE (sizeof(huge_lengths) / sizeof(huge_lengths[0]))

static bool is_length_error(NTSTATUS s)
{
	return s == STATUS_INVALID_PARAMETER ||
	       s == STATUS_PORT_MESSAGE_TOO_LONG;
}

/* CSHORT lengths >= 0x8000 always fail (spec 2.1, 3.3), whichever way
 * they are read. */
Test(message, lengths_of_0x8000_and_above_fail)
{
	HANDLE port = lpct_create(NULL, 0, LPC_MAX_MESSAGE_LENGTH);
	PORT_MESSAGE *big = aligned_alloc(8, BIG_BUF);
	PORT_MESSAGE *out = aligned_alloc(8, BIG_BUF);
	struct responder rs;
	struct req r;
	pthread_t t;
	lpct_msg m;
	NTSTATUS s;

	cr_assert(big && out);
	memset(big, 'b', BIG_BUF);
	memset(big, 0, sizeof(*big));
	for (size_t i = 0; i < N_HUGE; i++) {
		lpct_set_lengths(big, huge_lengths[i].data,
				 huge_lengths[i].total);
		s = NtRequestPort(port, big);
		cr_assert(is_length_error(s),
			  "NtRequestPort DataLength 0x%x TotalLength 0x%x: "
			  "got 0x%08x",
			  huge_lengths[i].data, huge_lengths[i].total,
			  (unsigned)s);
	}
	assert_queue_empty(port);

	responder_start(&rs, port);
	for (size_t i = 0; i < N_HUGE; i++) {
		lpct_set_lengths(big, huge_lengths[i].data,
				 huge_lengths[i].total);
		big->u2.ZeroInit = 0;
		s = NtRequestWaitReplyPort(port, big, out);
		cr_assert(is_length_error(s),
			  "NtRequestWaitReplyPort DataLength 0x%x TotalLength "
			  "0x%x: got 0x%08x",
			  huge_lengths[i].data, huge_lengths[i].total,
			  (unsigned)s);
	}
	responder_stop(&rs);
	cr_assert_eq(rs.replies, 0);

	/* Replies to a thread that really waits. */
	t = start_request(&r, port, "q", 1);
	recv_type(port, NULL, &m, 10000, LPC_REQUEST);
	memcpy(big, &m.h, sizeof(m.h));
	for (size_t i = 0; i < N_HUGE; i++) {
		lpct_set_lengths(big, huge_lengths[i].data,
				 huge_lengths[i].total);
		s = NtReplyPort(port, big);
		cr_assert(is_length_error(s),
			  "NtReplyPort DataLength 0x%x TotalLength 0x%x: "
			  "got 0x%08x",
			  huge_lengths[i].data, huge_lengths[i].total,
			  (unsigned)s);
	}
	lpct_msg_init(&m, "ok", 3);
	memcpy(&m.h, big, sizeof(m.h));
	lpct_set_lengths(&m.h, 3, HDR + 3);
	cr_assert_status(NtReplyPort(port, &m.h), STATUS_SUCCESS);
	lpct_join(t);
	cr_assert_status(r.s, STATUS_SUCCESS);
	cr_assert_eq(r.out.h.u1.s1.DataLength, 3);
	cr_assert_str_eq((char *)r.out.data, "ok");
	free(big);
	free(out);
	cr_assert_status(NtClose(port), STATUS_SUCCESS);
}

/* ---------------------------------------------------------------- */
/* Copies                                                            */
/* ---------------------------------------------------------------- */

static void check_align4(const lpct_msg *m, const char *src, int n,
			 const char *what)
{
	for (int i = 0; i < ALIGN4(n); i++)
		cr_assert_eq(m->data[i], (UCHAR)src[i],
			     "%s DataLength %d: byte %d not copied", what, n,
			     i);
	cr_assert_eq(m->data[ALIGN4(n)], 0xff,
		     "%s DataLength %d: byte %d beyond ALIGN4 was written",
		     what, n, ALIGN4(n));
}

/* ring3k server_ping: the receiver's 0xff-prefilled buffer gets exactly
 * header + ALIGN4(DataLength) bytes, requests and replies, both ways. */
Test(message, copies_align4_data_bytes_in_both_directions)
{
	HANDLE port = lpct_create(PORT, 0, 0x100), comm, client, loop;
	char up[64], down[64];
	lpct_msg in, m;

	for (int i = 0; i < 64; i++) {
		up[i] = (char)('a' + i % 26);
		down[i] = (char)('A' + i % 26);
	}
	client = lpct_connect_client(port, PORT, NULL, &comm);
	loop = lpct_create(NULL, 0, 0x100);
	for (int n = 1; n <= 9; n++) {
		struct req r;
		pthread_t t;

		lpct_msg_init(&in, up, 64);
		lpct_set_lengths(&in.h, n, HDR + n);
		t = start_request_msg(&r, client, &in);
		memset(&m, 0xff, sizeof(m));
		recv_type(port, NULL, &m, 10000, LPC_REQUEST);
		cr_assert_eq(m.h.u1.s1.DataLength, n);
		check_align4(&m, up, n, "request");
		memcpy(m.data, down, 64);
		lpct_set_lengths(&m.h, n, HDR + n);
		cr_assert_status(NtReplyPort(comm, &m.h), STATUS_SUCCESS);
		lpct_join(t);
		cr_assert_status(r.s, STATUS_SUCCESS);
		cr_assert_eq(r.out.h.u1.s1.DataLength, n);
		check_align4(&r.out, down, n, "reply");

		/* Server to client datagram. */
		lpct_msg_init(&in, down, 64);
		lpct_set_lengths(&in.h, n, HDR + n);
		cr_assert_status(NtRequestPort(comm, &in.h), STATUS_SUCCESS);
		memset(&m, 0xff, sizeof(m));
		recv_type(client, NULL, &m, 10000, LPC_DATAGRAM);
		check_align4(&m, down, n, "server datagram");

		/* Through an unconnected port. */
		lpct_msg_init(&in, up, 64);
		lpct_set_lengths(&in.h, n, HDR + n);
		cr_assert_status(NtRequestPort(loop, &in.h), STATUS_SUCCESS);
		memset(&m, 0xff, sizeof(m));
		cr_assert_status(lpct_recv_ms(loop, NULL, &m.h, 0),
				 STATUS_SUCCESS);
		check_align4(&m, up, n, "loop-back datagram");
	}
	cr_assert_status(NtClose(loop), STATUS_SUCCESS);
	cr_assert_status(NtClose(client), STATUS_SUCCESS);
	cr_assert_status(NtClose(comm), STATUS_SUCCESS);
	cr_assert_status(NtClose(port), STATUS_SUCCESS);
}

/* ring3k test_port_message_copy: what the receiver sees is the sender's
 * buffer as it was when it sent, not when the message is received. */
Test(message, message_captured_at_send_time)
{
	HANDLE port = lpct_create_waitable(PORT, 0, 0x100), comm, client, loop;
	LARGE_INTEGER to = lpct_timeout_ms(10000);
	struct req r;
	pthread_t t;
	lpct_msg m, d;

	/* Datagram on an unconnected port. */
	loop = lpct_create(NULL, 0, 0x100);
	lpct_msg_init(&d, "XXXXXXXX", 8);
	cr_assert_status(NtRequestPort(loop, &d.h), STATUS_SUCCESS);
	memset(d.data, 'Y', 8);
	cr_assert_status(lpct_recv_ms(loop, NULL, &m.h, 0), STATUS_SUCCESS);
	cr_assert_eq(memcmp(m.data, "XXXXXXXX", 8), 0);

	/* Datagram through a client port. */
	client = lpct_connect_client(port, PORT, NULL, &comm);
	lpct_msg_init(&d, "XXXXXXXX", 8);
	cr_assert_status(NtRequestPort(client, &d.h), STATUS_SUCCESS);
	memset(d.data, 'Y', 8);
	recv_type(port, NULL, &m, 10000, LPC_DATAGRAM);
	cr_assert_eq(memcmp(m.data, "XXXXXXXX", 8), 0);

	/* A request, changed once it is queued but before it is received. */
	t = start_request(&r, client, "XXXXXXXX", 8);
	cr_assert_status(NtWaitForSingleObject(port, FALSE, &to),
			 STATUS_SUCCESS);
	memset(r.in.data, 'Y', 8);
	recv_type(port, NULL, &m, 10000, LPC_REQUEST);
	cr_assert_eq(memcmp(m.data, "XXXXXXXX", 8), 0);

	/* The reply, changed as soon as NtReplyPort returns. */
	memcpy(m.data, "RRRRRRRR", 8);
	cr_assert_status(NtReplyPort(comm, &m.h), STATUS_SUCCESS);
	memset(m.data, 'Z', 8);
	lpct_join(t);
	cr_assert_status(r.s, STATUS_SUCCESS);
	cr_assert_eq(memcmp(r.out.data, "RRRRRRRR", 8), 0);
	cr_assert_status(NtClose(loop), STATUS_SUCCESS);
	cr_assert_status(NtClose(client), STATUS_SUCCESS);
	cr_assert_status(NtClose(comm), STATUS_SUCCESS);
	cr_assert_status(NtClose(port), STATUS_SUCCESS);
}

/* ---------------------------------------------------------------- */
/* Where messages go (spec 4.2)                                      */
/* ---------------------------------------------------------------- */

/* An unnamed port is a loop-back queue: request, reply and datagram all
 * through the one handle, across threads. */
Test(message, unconnected_port_loops_back)
{
	HANDLE port = lpct_create(NULL, 0, 0x100);
	struct req r;
	pthread_t t;
	lpct_msg m;
	ULONG id;
	PVOID ctx;

	t = start_request(&r, port, "ping", 5);
	ctx = (PVOID)0x55;
	memset(&m, 0xff, sizeof(m));
	cr_assert_status(NtReplyWaitReceivePort(port, &ctx, NULL, &m.h),
			 STATUS_SUCCESS);
	cr_assert_null(ctx);
	cr_assert_eq(m.h.u2.s2.Type, LPC_REQUEST);
	cr_assert_str_eq((char *)m.data, "ping");
	cr_assert(lpct_cid_is(&m.h, getpid(), r.tid));
	cr_assert_neq(m.h.MessageId, 0);
	id = m.h.MessageId;
	strcpy((char *)m.data, "pong");
	cr_assert_status(NtReplyPort(port, &m.h), STATUS_SUCCESS);
	lpct_join(t);
	cr_assert_status(r.s, STATUS_SUCCESS);
	cr_assert_eq(r.out.h.u2.s2.Type, LPC_REPLY);
	cr_assert_eq(r.out.h.MessageId, id);
	cr_assert(lpct_cid_is(&r.out.h, getpid(), r.tid));
	cr_assert_str_eq((char *)r.out.data, "pong");

	lpct_msg_init(&m, "dgram", 6);
	cr_assert_status(NtRequestPort(port, &m.h), STATUS_SUCCESS);
	ctx = (PVOID)0x55;
	memset(&m, 0xff, sizeof(m));
	cr_assert_status(lpct_recv_ms(port, &ctx, &m.h, 0), STATUS_SUCCESS);
	cr_assert_null(ctx);
	cr_assert_eq(m.h.u2.s2.Type, LPC_DATAGRAM);
	cr_assert(lpct_cid_is(&m.h, getpid(), lpct_gettid()));
	cr_assert_neq(m.h.MessageId, 0);
	cr_assert_neq(m.h.MessageId, id);
	cr_assert_str_eq((char *)m.data, "dgram");
	assert_queue_empty(port);
	cr_assert_status(NtClose(port), STATUS_SUCCESS);
}

struct two_req {
	HANDLE port;
	lpct_msg out[2];
	NTSTATUS s[2];
	pid_t tid;
};

static void *two_requests(void *a)
{
	struct two_req *q = a;
	lpct_msg in;

	q->tid = lpct_gettid();
	for (int i = 0; i < 2; i++) {
		lpct_msg_init(&in, i ? "second" : "first", i ? 7 : 6);
		memset(&q->out[i], 0xff, sizeof(q->out[i]));
		q->s[i] = NtRequestWaitReplyPort(q->port, &in.h, &q->out[i].h);
		if (q->s[i])
			break;
	}
	return NULL;
}

/* ring3k share_handle: requests sent straight through the connection
 * port handle, no connection; answered through the same handle. */
Test(message, connection_port_handle_takes_requests_without_connecting)
{
	HANDLE port = lpct_create(PORT, 0, 0x100);
	struct two_req q = { .port = port, .s = { -1, -1 } };
	pthread_t t = lpct_thread(two_requests, &q);
	ULONG ids[2];
	lpct_msg m;
	PVOID ctx;

	for (int i = 0; i < 2; i++) {
		ctx = (PVOID)0x77;
		memset(&m, 0xff, sizeof(m));
		cr_assert_status(NtReplyWaitReceivePort(port, &ctx, NULL, &m.h),
				 STATUS_SUCCESS);
		cr_assert_null(ctx, "PortContext of a connection port message");
		cr_assert_eq(m.h.u2.s2.Type, LPC_REQUEST);
		cr_assert_str_eq((char *)m.data, i ? "second" : "first");
		cr_assert(lpct_cid_is(&m.h, getpid(), q.tid));
		ids[i] = m.h.MessageId;
		cr_assert_neq(ids[i], 0);
		if (i)
			cr_assert_eq(ids[1], ids[0] + 1,
				     "MessageIds %u then %u in a quiet test",
				     ids[0], ids[1]);
		strcpy((char *)m.data, i ? "reply1" : "reply0");
		cr_assert_status(NtReplyPort(port, &m.h), STATUS_SUCCESS);
	}
	lpct_join(t);
	for (int i = 0; i < 2; i++) {
		cr_assert_status(q.s[i], STATUS_SUCCESS);
		cr_assert_eq(q.out[i].h.u2.s2.Type, LPC_REPLY);
		cr_assert_eq(q.out[i].h.MessageId, ids[i]);
		cr_assert_str_eq((char *)q.out[i].data, i ? "reply1" : "reply0");
	}
	cr_assert_status(NtClose(port), STATUS_SUCCESS);
}

/* Spec 5.8: LPC_DATAGRAM, the sender's ClientId, a fresh MessageId,
 * CallbackId/ClientViewSize zero (all 8 bytes), the sender's buffer
 * untouched (Wine: Type stays 0); PortContext per spec 4.2. */
Test(message, datagram_delivered_as_lpc_datagram_sender_buffer_unchanged)
{
	HANDLE port = lpct_create(PORT, 0, 0x100), comm, client, loop;
	HANDLE senders[3], receivers[3];
	PVOID contexts[3] = { (PVOID)0xf00baa, NULL, NULL };
	lpct_msg m, before, out;
	PVOID ctx;

	client = lpct_connect_client(port, PORT, (PVOID)0xf00baa, &comm);
	loop = lpct_create(NULL, 0, 0x100);
	senders[0] = client, receivers[0] = port;
	senders[1] = comm, receivers[1] = client;
	senders[2] = loop, receivers[2] = loop;
	for (int i = 0; i < 3; i++) {
		lpct_msg_init(&m, "Request1", 9);
		m.h.ClientViewSize = (SIZE_T)0xdeadbeefcafef00dULL;
		m.h.ClientId.UniqueProcess = (HANDLE)(uintptr_t)0x1111;
		m.h.ClientId.UniqueThread = (HANDLE)(uintptr_t)0x2222;
		m.h.MessageId = 0x3333;
		before = m;
		cr_assert_status(NtRequestPort(senders[i], &m.h),
				 STATUS_SUCCESS);
		cr_assert_eq(memcmp(&m, &before, sizeof(m)), 0,
			     "sender's buffer modified (sender %d)", i);
		cr_assert_eq(m.h.u2.s2.Type, 0);

		ctx = (PVOID)0x99;
		memset(&out, 0xff, sizeof(out));
		cr_assert_status(lpct_recv_ms(receivers[i], &ctx, &out.h,
					      10000),
				 STATUS_SUCCESS);
		cr_assert_eq(ctx, contexts[i], "sender %d: PortContext %p", i,
			     ctx);
		cr_assert_eq(out.h.u2.s2.Type, LPC_DATAGRAM);
		cr_assert_eq(out.h.u2.s2.DataInfoOffset, 0);
		cr_assert_eq(out.h.u1.s1.DataLength, 9);
		cr_assert_eq(out.h.u1.s1.TotalLength, HDR + 9);
		cr_assert(lpct_cid_is(&out.h, getpid(), lpct_gettid()),
			  "sender %d: ClientId %p.%p", i,
			  out.h.ClientId.UniqueProcess,
			  out.h.ClientId.UniqueThread);
		cr_assert_neq(out.h.MessageId, 0);
		cr_assert_neq(out.h.MessageId, 0x3333);
		cr_assert_eq(out.h.ClientViewSize, 0,
			     "ClientViewSize 0x%zx: all 8 bytes are zeroed",
			     (size_t)out.h.ClientViewSize);
		cr_assert_str_eq((char *)out.data, "Request1");
	}

	/* No data info on datagrams. */
	lpct_msg_init(&m, "Request1", 9);
	m.h.u2.s2.DataInfoOffset = HDR;
	cr_assert_status(NtRequestPort(client, &m.h), STATUS_INVALID_PARAMETER);
	cr_assert_status(NtRequestPort(loop, &m.h), STATUS_INVALID_PARAMETER);
	assert_queue_empty(port);
	assert_queue_empty(loop);
	cr_assert_status(NtClose(loop), STATUS_SUCCESS);
	cr_assert_status(NtClose(client), STATUS_SUCCESS);
	cr_assert_status(NtClose(comm), STATUS_SUCCESS);
	cr_assert_status(NtClose(port), STATUS_SUCCESS);
}

/* Spec 5.9: Type after stripping LPC_NO_IMPERSONATE: 0 is a new request,
 * LPC_REQUEST a callback, anything else INVALID_PARAMETER; new requests
 * get CallbackId/ClientViewSize zeroed. */
Test(message, request_type_rules)
{
	static const CSHORT bad[] = {
		LPC_REPLY,	   LPC_DATAGRAM,    LPC_LOST_REPLY,
		LPC_PORT_CLOSED,   LPC_CLIENT_DIED, LPC_EXCEPTION,
		LPC_DEBUG_EVENT,   LPC_ERROR_EVENT, LPC_CONNECTION_REQUEST,
		LPC_CONNECTION_REFUSED, 0x1234,
		LPC_NO_IMPERSONATE | LPC_REPLY,
		LPC_NO_IMPERSONATE | LPC_DATAGRAM,
	};
	HANDLE port = lpct_create(NULL, 0, 0x100);
	struct responder rs;
	struct req r;
	pthread_t t;
	lpct_msg m, out;

	responder_start(&rs, port);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		lpct_msg_init(&m, "t", 1);
		m.h.u2.s2.Type = bad[i];
		m.h.MessageId = 1;
		cr_assert_status(NtRequestWaitReplyPort(port, &m.h, &out.h),
				 STATUS_INVALID_PARAMETER);
	}
	/* A callback needs a MessageId. */
	lpct_msg_init(&m, "t", 1);
	m.h.u2.s2.Type = LPC_REQUEST;
	cr_assert_status(NtRequestWaitReplyPort(port, &m.h, &out.h),
			 STATUS_INVALID_PARAMETER);
	m.h.u2.s2.Type = LPC_REQUEST | LPC_NO_IMPERSONATE;
	cr_assert_status(NtRequestWaitReplyPort(port, &m.h, &out.h),
			 STATUS_INVALID_PARAMETER);
	responder_stop(&rs);
	cr_assert_eq(rs.replies, 0, "a refused request was delivered");

	/* LPC_NO_IMPERSONATE alone is a new request. */
	lpct_msg_init(&m, "noimp", 6);
	m.h.u2.s2.Type = LPC_NO_IMPERSONATE;
	m.h.ClientViewSize = (SIZE_T)0xdeadbeefcafef00dULL;
	t = start_request_msg(&r, port, &m);
	memset(&m, 0xff, sizeof(m));
	recv_type(port, NULL, &m, 10000, LPC_REQUEST);
	cr_assert_eq(m.h.ClientViewSize, 0,
		     "CallbackId/ClientViewSize 0x%zx: all 8 bytes zeroed",
		     (size_t)m.h.ClientViewSize);
	cr_assert_str_eq((char *)m.data, "noimp");
	cr_assert_status(NtReplyPort(port, &m.h), STATUS_SUCCESS);
	lpct_join(t);
	cr_assert_status(r.s, STATUS_SUCCESS);
	cr_assert_eq(r.out.h.u2.s2.Type, LPC_REPLY);
	cr_assert_status(NtClose(port), STATUS_SUCCESS);
}

/* ---------------------------------------------------------------- */
/* Ordering                                                          */
/* ---------------------------------------------------------------- */

static void send_dgram(HANDLE port, const char *s)
{
	lpct_msg m;

	lpct_msg_init(&m, s, (CSHORT)(strlen(s) + 1));
	cr_assert_status(NtRequestPort(port, &m.h), STATUS_SUCCESS);
}

static void expect_msg(HANDLE port, int type, const char *data, lpct_msg *m,
		       PVOID want_ctx)
{
	PVOID ctx = (PVOID)0x5a5a;

	memset(m, 0, sizeof(*m));
	cr_assert_status(lpct_recv_ms(port, &ctx, &m->h, 10000),
			 STATUS_SUCCESS);
	cr_assert_eq(m->h.u2.s2.Type, type, "want type %d (%s), got %d (%s)",
		     type, data, m->h.u2.s2.Type, (char *)m->data);
	cr_assert_str_eq((char *)m->data, data);
	cr_assert_eq(ctx, want_ctx, "%s: PortContext %p", data, ctx);
}

struct fifo {
	HANDLE client;
	int fail;
};

static void *fifo_client(void *a)
{
	struct fifo *f = a;
	lpct_msg in, out;

	lpct_msg_init(&in, "R1", 3);
	if (NtRequestWaitReplyPort(f->client, &in.h, &out.h) ||
	    out.h.u2.s2.Type != LPC_REPLY || strcmp((char *)out.data, "A1")) {
		f->fail = 1;
		return NULL;
	}
	lpct_msg_init(&in, "D4", 3);
	if (NtRequestPort(f->client, &in.h)) {
		f->fail = 2;
		return NULL;
	}
	lpct_msg_init(&in, "R2", 3);
	if (NtRequestWaitReplyPort(f->client, &in.h, &out.h) ||
	    out.h.u2.s2.Type != LPC_REPLY || strcmp((char *)out.data, "A2"))
		f->fail = 3;
	return NULL;
}

/* Spec 7.4: one FIFO per connection port; datagrams and requests, from
 * several threads and through several handles, in the order sent. */
Test(message, fifo_order_across_datagrams_and_requests)
{
	HANDLE port = lpct_create(PORT, 0, 0x100), comm, client;
	PVOID c = (PVOID)0xc1;
	struct fifo f;
	pthread_t t;
	lpct_msg m1, m2, m;

	client = lpct_connect_client(port, PORT, c, &comm);
	f.client = client;
	f.fail = 0;
	send_dgram(client, "D1");
	send_dgram(client, "D2");
	t = lpct_thread(fifo_client, &f);
	expect_msg(port, LPC_DATAGRAM, "D1", &m, c);
	expect_msg(port, LPC_DATAGRAM, "D2", &m, c);
	expect_msg(port, LPC_REQUEST, "R1", &m1, c);
	send_dgram(client, "D3");
	strcpy((char *)m1.data, "A1");
	cr_assert_status(NtReplyPort(comm, &m1.h), STATUS_SUCCESS);
	expect_msg(port, LPC_DATAGRAM, "D3", &m, c);
	expect_msg(port, LPC_DATAGRAM, "D4", &m, c);
	expect_msg(port, LPC_REQUEST, "R2", &m2, c);
	/* The connection port handle, a client port, the connection port
	 * again: one queue, in the order the calls returned. */
	send_dgram(port, "D5");
	send_dgram(client, "D6");
	send_dgram(port, "D7");
	send_dgram(client, "D8");
	expect_msg(port, LPC_DATAGRAM, "D5", &m, NULL);
	expect_msg(port, LPC_DATAGRAM, "D6", &m, c);
	expect_msg(port, LPC_DATAGRAM, "D7", &m, NULL);
	expect_msg(port, LPC_DATAGRAM, "D8", &m, c);
	strcpy((char *)m2.data, "A2");
	cr_assert_status(NtReplyPort(comm, &m2.h), STATUS_SUCCESS);
	lpct_join(t);
	cr_assert_eq(f.fail, 0);
	assert_queue_empty(port);
	cr_assert_status(NtClose(client), STATUS_SUCCESS);
	cr_assert_status(NtClose(comm), STATUS_SUCCESS);
	cr_assert_status(NtClose(port), STATUS_SUCCESS);
}

/* Q6 as decided: NtListenPort takes the oldest connection request and
 * leaves the datagram queued before it in place. */
Test(message, listen_leaves_queued_datagram_in_place)
{
	HANDLE port = lpct_create(PORT, 0, 0x100), comm, client;
	lpct_msg m;
	PVOID ctx;

	send_dgram(port, "queued");
	client = lpct_connect_client(port, PORT, NULL, &comm);
	send_dgram(client, "after");
	ctx = (PVOID)1;
	memset(&m, 0, sizeof(m));
	recv_type(port, &ctx, &m, 0, LPC_DATAGRAM);
	cr_assert_str_eq((char *)m.data, "queued");
	cr_assert_null(ctx);
	expect_msg(port, LPC_DATAGRAM, "after", &m, comm);
	assert_queue_empty(port);
	cr_assert_status(NtClose(client), STATUS_SUCCESS);
	cr_assert_status(NtClose(comm), STATUS_SUCCESS);
	cr_assert_status(NtClose(port), STATUS_SUCCESS);
}

/* ---------------------------------------------------------------- */
/* The receive buffer (spec 5.5, 5.11, 13)                           */
/* ---------------------------------------------------------------- */

/* Alignment and writability are checked before waiting, and a message is
 * never dequeued into a buffer that cannot take it. */
Test(message, receive_buffer_checked_before_waiting_nothing_consumed)
{
	HANDLE port = lpct_create(PORT, 0, 0x100);
	LARGE_INTEGER zero = { .QuadPart = 0 };
	long pg = sysconf(_SC_PAGESIZE);
	_Alignas(8) char raw[sizeof(lpct_msg) + 8];
	char *page;
	lpct_msg m;

	page = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	cr_assert_neq(page, MAP_FAILED);
	/* Inaccessible, and unlike a hole nothing else can be mapped there. */
	cr_assert_eq(mprotect(page + pg, pg, PROT_NONE), 0);

	/* Empty queue: these return at once instead of blocking. */
	cr_assert_status(NtReplyWaitReceivePort(port, NULL, NULL,
						(PPORT_MESSAGE)(raw + 1)),
			 STATUS_DATATYPE_MISALIGNMENT);
	cr_assert_status(NtReplyWaitReceivePort(port, NULL, NULL, NULL),
			 STATUS_ACCESS_VIOLATION);
	cr_assert_status(NtReplyWaitReceivePort(port, NULL, NULL,
						(PPORT_MESSAGE)4),
			 STATUS_ACCESS_VIOLATION);
	cr_assert_status(NtReplyWaitReceivePort(port, NULL, NULL,
						(PPORT_MESSAGE)(page + pg)),
			 STATUS_ACCESS_VIOLATION);
	cr_assert_status(NtListenPort(port, (PPORT_MESSAGE)1),
			 STATUS_DATATYPE_MISALIGNMENT);
	cr_assert_status(NtListenPort(port, (PPORT_MESSAGE)4),
			 STATUS_ACCESS_VIOLATION);
	cr_assert_status(NtListenPort(port, NULL), STATUS_ACCESS_VIOLATION);
	cr_assert_status(NtReplyWaitReceivePortEx(port, NULL, NULL,
						  (PPORT_MESSAGE)(raw + 2),
						  &zero),
			 STATUS_DATATYPE_MISALIGNMENT);

	/* A queued message stays queued through every failed call. */
	lpct_msg_init(&m, "keep-me-queued!", 16);
	cr_assert_status(NtRequestPort(port, &m.h), STATUS_SUCCESS);
	cr_assert_status(NtReplyWaitReceivePort(port, NULL, NULL,
						(PPORT_MESSAGE)(raw + 1)),
			 STATUS_DATATYPE_MISALIGNMENT);
	cr_assert_status(NtReplyWaitReceivePort(port, NULL, NULL, NULL),
			 STATUS_ACCESS_VIOLATION);
	cr_assert_status(NtReplyWaitReceivePort(port, NULL, NULL,
						(PPORT_MESSAGE)4),
			 STATUS_ACCESS_VIOLATION);
	/* The header fits in the page, the data does not. */
	cr_assert_status(NtReplyWaitReceivePort(
				 port, NULL, NULL,
				 (PPORT_MESSAGE)(page + pg - sizeof(PORT_MESSAGE))),
			 STATUS_ACCESS_VIOLATION);
	cr_assert_status(NtReplyWaitReceivePortEx(port, NULL, NULL,
						  (PPORT_MESSAGE)(raw + 3),
						  &zero),
			 STATUS_DATATYPE_MISALIGNMENT);
	memset(&m, 0, sizeof(m));
	recv_type(port, NULL, &m, 0, LPC_DATAGRAM);
	cr_assert_str_eq((char *)m.data, "keep-me-queued!");
	assert_queue_empty(port);
	munmap(page, 2 * pg);
	cr_assert_status(NtClose(port), STATUS_SUCCESS);
}

/* Sends through a NULL message fault before anything is queued or
 * waited for. */
Test(message, null_messages_are_access_violations)
{
	HANDLE port = lpct_create(NULL, 0, 0x100);
	lpct_msg m, out;
	PVOID ctx;

	lpct_msg_init(&m, "x", 1);
	cr_assert_status(NtRequestPort(port, NULL), STATUS_ACCESS_VIOLATION);
	cr_assert_status(NtRequestWaitReplyPort(port, NULL, NULL),
			 STATUS_ACCESS_VIOLATION);
	cr_assert_status(NtRequestWaitReplyPort(port, NULL, &out.h),
			 STATUS_ACCESS_VIOLATION);
	cr_assert_status(NtRequestWaitReplyPort(port, &m.h, NULL),
			 STATUS_ACCESS_VIOLATION);
	cr_assert_status(NtRequestWaitReplyPort(port, &m.h, (PPORT_MESSAGE)8),
			 STATUS_ACCESS_VIOLATION);
	cr_assert_status(NtReplyPort(port, NULL), STATUS_ACCESS_VIOLATION);
	cr_assert_status(NtReplyWaitReceivePort(port, &ctx, NULL, NULL),
			 STATUS_ACCESS_VIOLATION);
	cr_assert_status(NtReplyWaitReplyPort(port, NULL),
			 STATUS_ACCESS_VIOLATION);
	assert_queue_empty(port);
	cr_assert_status(NtClose(port), STATUS_SUCCESS);
}

/* Receiving on a client port whose server communication port is closed. */
Test(message, client_port_receive_after_server_close_is_disconnected)
{
	HANDLE port = lpct_create(PORT, 0, 0x100), comm, client;
	lpct_msg m, out;

	client = lpct_connect_client(port, PORT, NULL, &comm);
	cr_assert_status(NtClose(comm), STATUS_SUCCESS);
	cr_assert_status(lpct_recv_ms(client, NULL, &m.h, 5000),
			 STATUS_PORT_DISCONNECTED);
	lpct_msg_init(&m, "x", 1);
	cr_assert_status(NtRequestPort(client, &m.h), STATUS_PORT_DISCONNECTED);
	cr_assert_status(NtRequestWaitReplyPort(client, &m.h, &out.h),
			 STATUS_PORT_DISCONNECTED);
	cr_assert_status(NtClose(client), STATUS_SUCCESS);
	cr_assert_status(NtClose(port), STATUS_SUCCESS);
}

struct gone_server {
	int ready[2];
	int go[2];
};

static void gone_server_main(void *a)
{
	struct gone_server *g = a;
	OBJECT_ATTRIBUTES oa;
	HANDLE port = NULL, comm = NULL;
	lpct_msg m;
	char c = 1;

	close(g->ready[0]);
	InitializeObjectAttributes(&oa, lpct_ustr(PORT), 0, NULL, NULL);
	if (NtCreatePort(&port, &oa, 0, 0x100, 0))
		_exit(10);
	if (write(g->ready[1], &c, 1) != 1)
		_exit(11);
	if (NtListenPort(port, &m.h))
		_exit(12);
	if (NtAcceptConnectPort(&comm, NULL, &m.h, TRUE, NULL, NULL))
		_exit(13);
	if (NtCompleteConnectPort(comm))
		_exit(14);
	_exit(0);	/* the server process goes away */
}

/* The server is another process that exits after the connection. */
Test(message, client_port_receive_after_server_exit_is_disconnected)
{
	struct gone_server g;
	HANDLE client = NULL;
	pid_t pid;
	lpct_msg m;
	char c;

	cr_assert_eq(pipe(g.ready), 0);
	pid = lpct_fork(gone_server_main, &g);
	close(g.ready[1]);
	cr_assert_eq(read(g.ready[0], &c, 1), 1);
	cr_assert_status(lpct_connect(&client, PORT, NULL, NULL),
			 STATUS_SUCCESS);
	cr_assert_eq(lpct_wait(pid), 0);
	cr_assert_status(lpct_recv_ms(client, NULL, &m.h, 5000),
			 STATUS_PORT_DISCONNECTED);
	lpct_msg_init(&m, "x", 1);
	cr_assert_status(NtRequestPort(client, &m.h), STATUS_PORT_DISCONNECTED);
	close(g.ready[0]);
	cr_assert_status(NtClose(client), STATUS_SUCCESS);
}

/* ---------------------------------------------------------------- */
/* Waitable ports                                                    */
/* ---------------------------------------------------------------- */

Test(message, waitable_port_signalled_while_a_message_is_queued)
{
	HANDLE port = lpct_create_waitable(PORT, 0, 0x100), plain, comm, client;
	LARGE_INTEGER zero = { .QuadPart = 0 };
	LARGE_INTEGER t50 = lpct_timeout_ms(50), t10s = lpct_timeout_ms(10000);
	struct lpct_conn c = { .name = PORT };
	struct req r;
	pthread_t t;
	lpct_msg m;
	long t0;

	plain = lpct_create(NULL, 0, 0x100);
	cr_assert_status(NtWaitForSingleObject(plain, FALSE, &zero),
			 STATUS_OBJECT_TYPE_MISMATCH);
	cr_assert_eq(lpc_port_fd(plain), -EINVAL);
	cr_assert_eq(lpc_port_fd(BAD_HANDLE), -EBADF);

	cr_assert_status(NtWaitForSingleObject(port, FALSE, &zero),
			 STATUS_TIMEOUT);
	t0 = lpct_now_ms();
	cr_assert_status(NtWaitForSingleObject(port, FALSE, &t50),
			 STATUS_TIMEOUT);
	cr_assert_geq(lpct_now_ms() - t0, 40);

	send_dgram(port, "here");
	cr_assert_status(NtWaitForSingleObject(port, FALSE, &zero),
			 STATUS_SUCCESS);
	cr_assert_status(NtWaitForSingleObject(port, FALSE, NULL),
			 STATUS_SUCCESS);
	expect_msg(port, LPC_DATAGRAM, "here", &m, NULL);
	cr_assert_status(NtWaitForSingleObject(port, FALSE, &zero),
			 STATUS_TIMEOUT);

	/* A blocking wait woken by a connection request, then a request. */
	t = lpct_thread(lpct_connect_thread, &c);
	cr_assert_status(NtWaitForSingleObject(port, FALSE, NULL),
			 STATUS_SUCCESS);
	comm = lpct_accept_next(port, NULL);
	lpct_join(t);
	cr_assert_status(c.s, STATUS_SUCCESS);
	client = c.h;
	t = start_request(&r, client, "wake", 5);
	cr_assert_status(NtWaitForSingleObject(port, FALSE, &t10s),
			 STATUS_SUCCESS);
	recv_type(port, NULL, &m, 0, LPC_REQUEST);
	cr_assert_str_eq((char *)m.data, "wake");
	cr_assert_status(NtReplyPort(comm, &m.h), STATUS_SUCCESS);
	lpct_join(t);
	cr_assert_status(r.s, STATUS_SUCCESS);
	cr_assert_status(NtWaitForSingleObject(port, FALSE, &zero),
			 STATUS_TIMEOUT);
	cr_assert_status(NtClose(client), STATUS_SUCCESS);
	cr_assert_status(NtClose(comm), STATUS_SUCCESS);
	cr_assert_status(NtClose(plain), STATUS_SUCCESS);
	cr_assert_status(NtClose(port), STATUS_SUCCESS);
}

/* lpc_port_fd polls readable for a queued message, whether it was
 * queued through the connection port handle or sent by a client port. */
Test(message, waitable_port_fd_readable_while_a_message_is_queued)
{
	HANDLE port = lpct_create_waitable(PORT, 0, 0x100), comm, client;
	int fd = lpc_port_fd(port);
	struct pollfd p = { .fd = fd, .events = POLLIN };
	lpct_msg m;

	cr_assert_geq(fd, 0);
	send_dgram(port, "local");
	cr_assert_eq(poll(&p, 1, 0), 1, "not readable with a queued message");
	cr_assert_status(lpct_recv_ms(port, NULL, &m.h, 0), STATUS_SUCCESS);
	cr_assert_str_eq((char *)m.data, "local");

	client = lpct_connect_client(port, PORT, NULL, &comm);
	send_dgram(client, "remote");
	p.revents = 0;
	cr_assert_eq(poll(&p, 1, 10000), 1,
		     "not readable after a client port's NtRequestPort");
	for (int i = 0; lpct_recv_ms(port, NULL, &m.h, 0) == STATUS_TIMEOUT;
	     i++) {
		cr_assert_lt(i, 1000, "readable, but nothing to receive");
		cr_assert_eq(poll(&p, 1, 10000), 1);
	}
	cr_assert_str_eq((char *)m.data, "remote");
	cr_assert_status(NtClose(client), STATUS_SUCCESS);
	cr_assert_status(NtClose(comm), STATUS_SUCCESS);
	cr_assert_status(NtClose(port), STATUS_SUCCESS);
}

static void waitable_client_main(void *a)
{
	HANDLE port = NULL;
	lpct_msg m, out;

	(void)a;
	if (lpct_connect(&port, PORT, NULL, NULL))
		_exit(10);
	lpct_msg_init(&m, "hello", 6);
	if (NtRequestPort(port, &m.h))
		_exit(11);
	lpct_msg_init(&m, "ping", 5);
	if (NtRequestWaitReplyPort(port, &m.h, &out.h))
		_exit(12);
	if (out.h.u2.s2.Type != LPC_REPLY || strcmp((char *)out.data, "pong"))
		_exit(13);
	if (NtClose(port))
		_exit(14);
	_exit(0);
}

/* A waitable connection port served from poll() on lpc_port_fd, with the
 * client in another process. */
Test(message, waitable_port_fd_polls_readable_for_a_forked_client)
{
	HANDLE port = lpct_create_waitable(PORT, 0, 0x100), comm = NULL;
	LARGE_INTEGER t10s = lpct_timeout_ms(10000);
	bool hello = false, ping = false, closed = false;
	int fd = lpc_port_fd(port), spurious = 0;
	PVOID ctx;
	pid_t pid;
	lpct_msg m;
	NTSTATUS s;

	cr_assert_geq(fd, 0);
	cr_assert_eq(lpc_port_fd(port), fd);
	pid = lpct_fork(waitable_client_main, NULL);
	cr_assert_status(NtWaitForSingleObject(port, FALSE, &t10s),
			 STATUS_SUCCESS);
	while (!closed) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		cr_assert_eq(poll(&p, 1, 10000), 1,
			     "fd not readable (comm %p hello %d ping %d)",
			     comm, hello, ping);
		cr_assert(p.revents & POLLIN);
		ctx = (PVOID)1;
		s = lpct_recv_ms(port, &ctx, &m.h, 0);
		if (s == STATUS_TIMEOUT) {
			cr_assert_lt(++spurious, 1000,
				     "fd readable, nothing to receive (comm %p "
				     "hello %d ping %d)",
				     comm, hello, ping);
			continue;
		}
		cr_assert_status(s, STATUS_SUCCESS);
		switch (m.h.u2.s2.Type) {
		case LPC_CONNECTION_REQUEST:
			cr_assert_null(comm);
			cr_assert_eq((uintptr_t)m.h.ClientId.UniqueProcess,
				     (uintptr_t)pid);
			cr_assert_status(NtAcceptConnectPort(&comm, NULL, &m.h,
							     TRUE, NULL, NULL),
					 STATUS_SUCCESS);
			cr_assert_status(NtCompleteConnectPort(comm),
					 STATUS_SUCCESS);
			break;
		case LPC_DATAGRAM:
			cr_assert_str_eq((char *)m.data, "hello");
			cr_assert_eq(ctx, comm);
			hello = true;
			break;
		case LPC_REQUEST:
			cr_assert(hello, "datagram first");
			cr_assert_str_eq((char *)m.data, "ping");
			strcpy((char *)m.data, "pong");
			cr_assert_status(NtReplyPort(port, &m.h),
					 STATUS_SUCCESS);
			ping = true;
			break;
		case LPC_PORT_CLOSED:
			cr_assert(ping);
			closed = true;
			break;
		default:
			cr_assert_fail("unexpected type %d", m.h.u2.s2.Type);
		}
	}
	cr_assert_eq(lpct_wait(pid), 0);
	cr_assert_status(NtClose(comm), STATUS_SUCCESS);
	cr_assert_status(NtClose(port), STATUS_SUCCESS);
}
