/* SPDX-License-Identifier: MIT */
/*
 * test_basic.c - the Windows-tested flows end to end in one process: a
 * server thread and client threads on one named port.
 */
#include <string.h>
#include <unistd.h>

#include "helpers.h"

TestSuite(basic, .init = lpct_setup, .fini = lpct_teardown, .timeout = 30);

#define PORT "\\RPC Control\\basic"

static void *client_request_datagram(void *arg)
{
	HANDLE port = NULL;
	lpct_msg m, out;
	NTSTATUS s;

	(void)arg;
	s = lpct_connect(&port, PORT, NULL, NULL);
	if (s)
		return (void *)(uintptr_t)s;
	NtRegisterThreadTerminatePort(port);
	lpct_msg_init(&m, "Request1", 9);
	s = NtRequestPort(port, &m.h);
	if (s)
		return (void *)(uintptr_t)s;
	lpct_msg_init(&m, "Request2", 9);
	memset(&out, 0, sizeof(out));
	s = NtRequestWaitReplyPort(port, &m.h, &out.h);
	if (s)
		return (void *)(uintptr_t)s;
	if (out.h.u2.s2.Type != LPC_REPLY || strcmp((char *)out.data, "Reply"))
		return (void *)1;
	return NULL; /* thread exits: LPC_CLIENT_DIED */
}

/* The shape of Wine's port test: datagram, request answered through the
 * connection port handle, then LPC_CLIENT_DIED from the exiting thread. */
Test(basic, datagram_request_reply_and_client_died)
{
	HANDLE port = lpct_create(PORT, 100, 100), comm = NULL;
	pthread_t t = lpct_thread(client_request_datagram, NULL);
	bool got_datagram = false, got_request = false;
	lpct_msg m;

	for (;;) {
		cr_assert_status(NtReplyWaitReceivePort(port, NULL, NULL, &m.h),
				 STATUS_SUCCESS);
		if (m.h.u2.s2.Type == LPC_CONNECTION_REQUEST) {
			cr_assert_status(NtAcceptConnectPort(&comm, NULL, &m.h,
							     TRUE, NULL, NULL),
					 STATUS_SUCCESS);
			cr_assert_status(NtCompleteConnectPort(comm),
					 STATUS_SUCCESS);
		} else if (m.h.u2.s2.Type == LPC_DATAGRAM) {
			cr_assert_str_eq((char *)m.data, "Request1");
			got_datagram = true;
		} else if (m.h.u2.s2.Type == LPC_REQUEST) {
			cr_assert(got_datagram, "datagram first (FIFO)");
			cr_assert_str_eq((char *)m.data, "Request2");
			strcpy((char *)m.data, "Reply");
			cr_assert_status(NtReplyPort(port, &m.h), STATUS_SUCCESS);
			/* The caller's buffer is not modified. */
			cr_assert_eq(m.h.u2.s2.Type, LPC_REQUEST);
			got_request = true;
		} else if (m.h.u2.s2.Type == LPC_CLIENT_DIED) {
			cr_assert(got_request);
			cr_assert_eq(m.h.u1.s1.DataLength, 8);
			cr_assert_eq(m.h.u1.s1.TotalLength, 48);
			break;
		} else {
			cr_assert_fail("unexpected message type %d",
				       m.h.u2.s2.Type);
		}
	}
	cr_assert_null(lpct_join(t));
	cr_assert_status(NtClose(comm), STATUS_SUCCESS);
	cr_assert_status(NtClose(port), STATUS_SUCCESS);
}

static pthread_barrier_t ping_done;

static void *client_ping(void *arg)
{
	HANDLE port = NULL;
	lpct_msg req, rep;
	NTSTATUS s;

	(void)arg;
	s = lpct_connect(&port, PORT, NULL, NULL);
	if (s)
		return (void *)(uintptr_t)s;
	memset(&req, 0, sizeof(req));
	memset(&rep, 0, sizeof(rep));
	req.h.u1.s1.TotalLength = sizeof(PORT_MESSAGE) + 1;
	req.h.u1.s1.DataLength = 1;
	memset(req.data, '>', 64);
	req.h.ClientViewSize = 0xf0f00000;
	s = NtRequestWaitReplyPort(port, &req.h, &rep.h);
	if (s)
		return (void *)(uintptr_t)s;
	if (rep.h.u1.s1.DataLength != 1 ||
	    rep.h.u1.s1.TotalLength != sizeof(PORT_MESSAGE) + 1 ||
	    rep.h.u2.s2.Type != LPC_REPLY || rep.h.MessageId == 0 ||
	    rep.h.ClientViewSize != 0 || rep.data[0] != '<' ||
	    rep.data[1] != '<')
		return (void *)2;
	/* Stay alive while the server replies a second time: a thread
	 * that is gone would make that STATUS_INVALID_CID instead. */
	pthread_barrier_wait(&ping_done);
	NtClose(port);
	return NULL;
}

/* ring3k's ping test: ALIGN4 copies, CallbackId zeroed, PortContext
 * defaulting to the comm port handle, MISMATCH and INVALID_CID. */
Test(basic, server_ping)
{
	HANDLE port = lpct_create(PORT, 0x100, 0x100), comm = NULL, ctx;
	pthread_t t;
	PORT_MESSAGE bad;
	lpct_msg m;

	pthread_barrier_init(&ping_done, NULL, 2);
	t = lpct_thread(client_ping, NULL);
	cr_assert_status(NtCompleteConnectPort(NULL), STATUS_INVALID_HANDLE);
	cr_assert_status(NtCompleteConnectPort(port),
			 STATUS_INVALID_PORT_HANDLE);
	memset(&m, 0xff, sizeof(m));
	cr_assert_status(NtListenPort(port, &m.h), STATUS_SUCCESS);
	memset(&bad, 0, sizeof(bad));
	cr_assert_status(NtAcceptConnectPort(&comm, 0, &bad, TRUE, NULL, NULL),
			 STATUS_INVALID_CID);
	cr_assert_status(NtAcceptConnectPort(&comm, 0, &bad, FALSE, NULL, NULL),
			 STATUS_INVALID_CID);
	bad.ClientId = m.h.ClientId;
	cr_assert_status(NtAcceptConnectPort(&comm, 0, &bad, TRUE, NULL, NULL),
			 STATUS_REPLY_MESSAGE_MISMATCH);
	bad.MessageId = m.h.MessageId;
	cr_assert_status(NtAcceptConnectPort(&comm, 0, &bad, TRUE, NULL, NULL),
			 STATUS_SUCCESS);
	cr_assert_status(NtAcceptConnectPort(&comm, 0, &m.h, TRUE, NULL, NULL),
			 STATUS_REPLY_MESSAGE_MISMATCH);
	cr_assert_status(NtCompleteConnectPort(comm), STATUS_SUCCESS);
	cr_assert_status(NtCompleteConnectPort(comm), STATUS_INVALID_PARAMETER);

	memset(&m, 0xff, sizeof(m));
	ctx = NULL;
	cr_assert_status(NtReplyWaitReceivePort(comm, &ctx, NULL, &m.h),
			 STATUS_SUCCESS);
	cr_assert_eq(ctx, comm);
	cr_assert_eq(m.h.u2.s2.Type, LPC_REQUEST);
	cr_assert_eq(m.h.u1.s1.DataLength, 1);
	cr_assert_eq(m.h.u1.s1.TotalLength, sizeof(PORT_MESSAGE) + 1);
	cr_assert_eq(m.h.u2.s2.DataInfoOffset, 0);
	cr_assert_neq(m.h.MessageId, 0);
	cr_assert_eq(m.h.ClientViewSize, 0);
	cr_assert_eq(m.data[0], '>');
	cr_assert_eq(m.data[3], '>');
	cr_assert_eq(m.data[4], 0xff, "only ALIGN4(DataLength) is copied");
	cr_assert_eq((uintptr_t)m.h.ClientId.UniqueProcess, (uintptr_t)getpid());
	m.data[0] = '<';
	m.data[1] = '<';
	cr_assert_status(NtReplyPort(comm, &m.h), STATUS_SUCCESS);
	cr_assert_status(NtReplyPort(comm, &m.h),
			 STATUS_REPLY_MESSAGE_MISMATCH);
	pthread_barrier_wait(&ping_done);
	cr_assert_null(lpct_join(t));
	cr_assert_status(NtClose(comm), STATUS_SUCCESS);
	cr_assert_status(NtClose(port), STATUS_SUCCESS);
}
