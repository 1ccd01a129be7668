/* SPDX-License-Identifier: MIT */
/*
 * test_global.c - what every process under one $LPC_ROOT shares: the
 * MessageId counter (spec 4.4), and what it does not: the right to
 * accept another process's connection requests (spec 5.6 check 6).
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helpers.h"

TestSuite(global, .init = lpct_setup, .fini = lpct_teardown, .timeout = 30);

#define PORT "\\RPC Control\\global"
#define N 50

static void child_datagrams(void *arg)
{
	HANDLE port;
	lpct_msg m;

	(void)arg;
	if (lpct_connect(&port, PORT, NULL, NULL))
		_exit(10);
	for (int i = 0; i < N; i++) {
		lpct_msg_init(&m, NULL, 4);
		memcpy(m.data, &i, 4);
		if (NtRequestPort(port, &m.h))
			_exit(11);
	}
	NtClose(port);
	_exit(0);
}

Test(global, message_ids_come_from_one_counter_for_all_processes)
{
	HANDLE port = lpct_create(PORT, 0, 0x100), ca, cb, unnamed;
	ULONG last[2] = { 0, 0 }, maxid = 0, ids[2 * N];
	pid_t a = lpct_fork(child_datagrams, NULL), b, who[2];
	int n = 0, closed = 0;
	char path[512];
	struct stat st;
	lpct_msg m;

	ca = lpct_accept_next(port, (PVOID)1);
	b = lpct_fork(child_datagrams, NULL);
	cb = lpct_accept_next(port, (PVOID)2);
	who[0] = a;
	who[1] = b;
	while (closed < 2) {
		void *ctx;
		int k;

		cr_assert_status(NtReplyWaitReceivePort(port, &ctx, NULL, &m.h),
				 STATUS_SUCCESS);
		k = ctx == (PVOID)1 ? 0 : 1;
		cr_assert_eq((pid_t)(uintptr_t)m.h.ClientId.UniqueProcess,
			     who[k]);
		if (m.h.u2.s2.Type == LPC_PORT_CLOSED) {
			closed++;
			continue;
		}
		cr_assert_eq(m.h.u2.s2.Type, LPC_DATAGRAM);
		/* Each process's ids increase... */
		cr_assert_gt(m.h.MessageId, last[k]);
		last[k] = m.h.MessageId;
		/* ... and no id is ever handed out twice. */
		for (int i = 0; i < n; i++)
			cr_assert_neq(ids[i], m.h.MessageId);
		ids[n++] = m.h.MessageId;
		if (m.h.MessageId > maxid)
			maxid = m.h.MessageId;
	}
	cr_assert_eq(n, 2 * N);
	/* This process draws from the same counter: a new message here gets
	 * an id above every id the children drew. */
	unnamed = lpct_create(NULL, 0, 0x100);
	lpct_msg_init(&m, NULL, 0);
	cr_assert_status(NtRequestPort(unnamed, &m.h), STATUS_SUCCESS);
	cr_assert_status(NtReplyWaitReceivePort(unnamed, NULL, NULL, &m.h),
			 STATUS_SUCCESS);
	cr_assert_gt(m.h.MessageId, maxid);
	/* The counter lives in the namespace, shared by mapping. */
	snprintf(path, sizeof(path), "%s/.lpc-ids", lpct_root());
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(lpct_wait(a), 0);
	cr_assert_eq(lpct_wait(b), 0);
	NtClose(unnamed);
	NtClose(ca);
	NtClose(cb);
	NtClose(port);
}

static int req_pipe[2], verdict_pipe[2];

/* A process that did not create the port tries to accept a pending
 * request it knows the ClientId and MessageId of. */
static void child_tries_to_accept(void *arg)
{
	PORT_MESSAGE req;
	HANDLE comm = (HANDLE)0x55;
	NTSTATUS s;

	(void)arg;
	if (read(req_pipe[0], &req, sizeof(req)) != sizeof(req))
		_exit(20);
	s = NtAcceptConnectPort(&comm, NULL, &req, TRUE, NULL, NULL);
	if (write(verdict_pipe[1], &s, sizeof(s)) != sizeof(s))
		_exit(21);
	_exit(comm == (HANDLE)0x55 ? 0 : 22);
}

static void *connect_thread(void *arg)
{
	HANDLE port;

	(void)arg;
	if (lpct_connect(&port, PORT, NULL, NULL))
		return (void *)1;
	NtClose(port);
	return NULL;
}

Test(global, only_the_creating_process_may_accept)
{
	HANDLE port = lpct_create(PORT, 0, 0x100), comm = NULL;
	pthread_t t;
	NTSTATUS s;
	pid_t pid;
	lpct_msg m;

	cr_assert_eq(pipe(req_pipe), 0);
	cr_assert_eq(pipe(verdict_pipe), 0);
	pid = lpct_fork(child_tries_to_accept, NULL);
	t = lpct_thread(connect_thread, NULL);
	cr_assert_status(NtListenPort(port, &m.h), STATUS_SUCCESS);
	cr_assert_eq(write(req_pipe[1], &m.h, sizeof(m.h)), sizeof(m.h));
	cr_assert_eq(read(verdict_pipe[0], &s, sizeof(s)), sizeof(s));
	/* The thread exists and waits, but not on anything that process
	 * owns. */
	cr_assert_status(s, STATUS_REPLY_MESSAGE_MISMATCH);
	cr_assert_eq(lpct_wait(pid), 0);
	/* The creator still can. */
	cr_assert_status(NtAcceptConnectPort(&comm, NULL, &m.h, TRUE, NULL,
					     NULL),
			 STATUS_SUCCESS);
	cr_assert_status(NtCompleteConnectPort(comm), STATUS_SUCCESS);
	cr_assert_null(lpct_join(t));
	NtClose(comm);
	NtClose(port);
}
