/* SPDX-License-Identifier: MIT */
/*
 * test_view.c - sections and port views (spec 2.2, 2.3, 5.4, 5.6.1, 6).
 */
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "helpers.h"

TestSuite(view, .init = lpct_setup, .fini = lpct_teardown, .timeout = 30);

#define PORT "\\RPC Control\\view"
#define SZ 0x1000

static HANDLE section(LONGLONG size)
{
	LARGE_INTEGER sz = { .QuadPart = size };
	HANDLE s = NULL;

	cr_assert_status(NtCreateSection(&s, SECTION_ALL_ACCESS, NULL, &sz,
					 PAGE_EXECUTE_READWRITE, SEC_COMMIT,
					 NULL),
			 STATUS_SUCCESS);
	cr_assert_not_null(s);
	return s;
}

struct client_views {
	PORT_VIEW wr;
	REMOTE_PORT_VIEW rd;
	NTSTATUS status;
	NTSTATUS order[5];
	UCHAR seen_byte;
};

static void *client_section(void *arg)
{
	struct client_views *cv = arg;
	UNICODE_STRING empty = { 0 };
	HANDLE port = NULL, sec;

	/* ring3k's order of checks (Windows-tested): view Lengths before
	 * the QoS pointer, the QoS before the name, the name before the
	 * section handle. */
	memset(&cv->wr, 0, sizeof(cv->wr));
	memset(&cv->rd, 0, sizeof(cv->rd));
	cv->order[0] = NtConnectPort(&port, &empty, NULL, &cv->wr, &cv->rd,
				     NULL, NULL, NULL);
	cv->wr.Length = sizeof(cv->wr);
	cv->order[1] = NtConnectPort(&port, &empty, NULL, &cv->wr, &cv->rd,
				     NULL, NULL, NULL);
	cv->rd.Length = sizeof(cv->rd);
	cv->order[2] = NtConnectPort(&port, &empty, NULL, &cv->wr, &cv->rd,
				     NULL, NULL, NULL);
	cv->order[3] = NtConnectPort(&port, &empty, lpct_qos(), &cv->wr,
				     &cv->rd, NULL, NULL, NULL);
	cv->order[4] = NtConnectPort(&port, lpct_ustr(PORT), lpct_qos(),
				     &cv->wr, &cv->rd, NULL, NULL, NULL);

	sec = section(SZ);
	memset(&cv->wr, 0, sizeof(cv->wr));
	cv->wr.Length = sizeof(cv->wr);
	cv->wr.SectionHandle = sec;
	cv->wr.ViewSize = SZ;
	memset(&cv->rd, 0, sizeof(cv->rd));
	cv->rd.Length = sizeof(cv->rd);
	cv->rd.ViewSize = ~(SIZE_T)0;
	cv->rd.ViewBase = (PVOID)~(uintptr_t)0;
	cv->status = NtConnectPort(&port, lpct_ustr(PORT), lpct_qos(), &cv->wr,
				   &cv->rd, NULL, NULL, NULL);
	if (cv->status == STATUS_SUCCESS) {
		/* The server wrote 1 at its mapping of our section, which in
		 * one process is our ViewRemoteBase. */
		cv->seen_byte = ((UCHAR *)cv->wr.ViewRemoteBase)[0];
		NtClose(port);
	}
	NtClose(sec);
	return NULL;
}

/* ring3k's test_port_server_section, run on Linux. */
Test(view, server_and_client_sections_cross_check)
{
	HANDLE port = lpct_create(PORT, 0x100, 0x100), comm = NULL, sec;
	struct client_views cv;
	pthread_t t = lpct_thread(client_section, &cv);
	REMOTE_PORT_VIEW rd;
	PORT_VIEW wr;
	lpct_msg m;

	memset(&m, 0xff, sizeof(m));
	cr_assert_status(NtListenPort(port, &m.h), STATUS_SUCCESS);
	cr_assert_eq(m.h.u2.s2.Type, LPC_CONNECTION_REQUEST);
	cr_assert_eq(m.h.u1.s1.DataLength, 0);
	cr_assert_eq(m.h.u1.s1.TotalLength, sizeof(PORT_MESSAGE));
	cr_assert_eq(m.h.ClientViewSize, SZ);

	sec = section(SZ);
	memset(&rd, 0, sizeof(rd));
	rd.Length = sizeof(rd);
	memset(&wr, 0, sizeof(wr));
	wr.Length = sizeof(wr);
	wr.SectionHandle = sec;
	wr.ViewSize = SZ;
	cr_assert_status(NtAcceptConnectPort(&comm, NULL, &m.h, TRUE, &wr, &rd),
			 STATUS_SUCCESS);
	/* The request buffer is not modified by accepting. */
	cr_assert_eq(m.h.u2.s2.Type, LPC_CONNECTION_REQUEST);
	cr_assert_eq(m.h.ClientViewSize, SZ);
	cr_assert_eq(rd.Length, sizeof(rd));
	cr_assert_eq(rd.ViewSize, SZ);
	cr_assert_not_null(rd.ViewBase);
	((UCHAR *)rd.ViewBase)[0] = 1;
	cr_assert_not_null(wr.ViewBase);
	cr_assert_not_null(wr.ViewRemoteBase);
	cr_assert_neq(wr.ViewBase, wr.ViewRemoteBase);
	cr_assert_status(NtCompleteConnectPort(comm), STATUS_SUCCESS);
	lpct_join(t);

	cr_assert_status(cv.order[0], STATUS_INVALID_PARAMETER);
	cr_assert_status(cv.order[1], STATUS_INVALID_PARAMETER);
	cr_assert_status(cv.order[2], STATUS_ACCESS_VIOLATION);
	cr_assert_status(cv.order[3], STATUS_OBJECT_NAME_INVALID);
	cr_assert_status(cv.order[4], STATUS_INVALID_HANDLE);
	cr_assert_status(cv.status, STATUS_SUCCESS);
	cr_assert_eq(cv.rd.Length, 0, "ServerView.Length comes back 0");
	cr_assert_eq(cv.rd.ViewSize, SZ);
	cr_assert_not_null(cv.rd.ViewBase);
	cr_assert_eq(cv.wr.Length, sizeof(PORT_VIEW));
	cr_assert_eq(cv.wr.SectionOffset, 0);
	cr_assert_eq(cv.wr.ViewSize, SZ);
	cr_assert_not_null(cv.wr.ViewBase);
	cr_assert_neq(cv.wr.ViewBase, cv.wr.ViewRemoteBase);
	cr_assert_eq(cv.seen_byte, 1);
	/* The Windows-tested address cross-checks. */
	cr_assert_eq(cv.wr.ViewRemoteBase, rd.ViewBase);
	cr_assert_eq(cv.rd.ViewBase, wr.ViewRemoteBase);
	NtClose(comm);
	NtClose(sec);
	NtClose(port);
}

/* A client in another process: both sides see each other's writes, in
 * both sections, at the addresses each side was given. */
static int pipefd[2];

static void child_view_client(void *arg)
{
	HANDLE port = NULL, sec;
	LARGE_INTEGER sz = { .QuadPart = 2 * SZ };
	PORT_VIEW wr = { .Length = sizeof(wr) };
	REMOTE_PORT_VIEW rd = { .Length = sizeof(rd) };
	lpct_msg req, rep;
	char c;

	(void)arg;
	if (read(pipefd[0], &c, 1) != 1)
		_exit(2);
	if (NtCreateSection(&sec, SECTION_ALL_ACCESS, NULL, &sz, PAGE_READWRITE,
			    SEC_COMMIT, NULL))
		_exit(3);
	wr.SectionHandle = sec;
	wr.ViewSize = 2 * SZ;
	if (NtConnectPort(&port, lpct_ustr(PORT), lpct_qos(), &wr, &rd, NULL,
			  NULL, NULL))
		_exit(4);
	if (rd.ViewSize != SZ || !rd.ViewBase || !wr.ViewBase ||
	    wr.ViewSize != 2 * SZ)
		_exit(5);
	memset(wr.ViewBase, 'c', 2 * SZ);
	lpct_msg_init(&req, NULL, 0);
	memset(&rep, 0, sizeof(rep));
	if (NtRequestWaitReplyPort(port, &req.h, &rep.h))
		_exit(6);
	/* The server answered through its own section. */
	for (int i = 0; i < SZ; i++)
		if (((UCHAR *)rd.ViewBase)[i] != 's')
			_exit(7);
	/* ... and changed ours. */
	if (((UCHAR *)wr.ViewBase)[2 * SZ - 1] != 'S')
		_exit(8);
	NtClose(port);
	NtClose(sec);
	_exit(0);
}

Test(view, cross_process_views_both_directions)
{
	HANDLE port = lpct_create(PORT, 0, 0x100), comm = NULL, sec;
	REMOTE_PORT_VIEW rd = { .Length = sizeof(rd) };
	PORT_VIEW wr = { .Length = sizeof(wr) };
	lpct_msg m;
	pid_t pid;

	cr_assert_eq(pipe(pipefd), 0);
	pid = lpct_fork(child_view_client, NULL);
	cr_assert_eq(write(pipefd[1], "g", 1), 1);
	cr_assert_status(NtListenPort(port, &m.h), STATUS_SUCCESS);
	cr_assert_eq(m.h.ClientViewSize, 2 * SZ);
	sec = section(SZ);
	wr.SectionHandle = sec;
	wr.ViewSize = SZ;
	cr_assert_status(NtAcceptConnectPort(&comm, NULL, &m.h, TRUE, &wr, &rd),
			 STATUS_SUCCESS);
	cr_assert_eq(rd.ViewSize, 2 * SZ);
	cr_assert_status(NtCompleteConnectPort(comm), STATUS_SUCCESS);
	cr_assert_status(NtReplyWaitReceivePort(port, NULL, NULL, &m.h),
			 STATUS_SUCCESS);
	cr_assert_eq(m.h.u2.s2.Type, LPC_REQUEST);
	for (int i = 0; i < 2 * SZ; i++)
		cr_assert_eq(((UCHAR *)rd.ViewBase)[i], 'c');
	memset(wr.ViewBase, 's', SZ);
	((UCHAR *)rd.ViewBase)[2 * SZ - 1] = 'S';
	cr_assert_status(NtReplyPort(port, &m.h), STATUS_SUCCESS);
	cr_assert_eq(lpct_wait(pid), 0);
	NtClose(comm);
	NtClose(sec);
	NtClose(port);
}

Test(view, views_unmapped_when_ports_close)
{
	HANDLE port = lpct_create(PORT, 0, 0x100), sec;
	int before;

	/* Warm up once: lazily created process state is not a leak. */
	for (int round = 0; round < 2; round++) {
		struct client_views cv;
		pthread_t t;
		HANDLE comm = NULL;
		REMOTE_PORT_VIEW rd = { .Length = sizeof(rd) };
		PORT_VIEW wr = { .Length = sizeof(wr) };
		lpct_msg m;

		if (round == 1)
			before = lpct_count_maps();
		t = lpct_thread(client_section, &cv);
		cr_assert_status(NtListenPort(port, &m.h), STATUS_SUCCESS);
		sec = section(SZ);
		wr.SectionHandle = sec;
		wr.ViewSize = SZ;
		cr_assert_status(NtAcceptConnectPort(&comm, NULL, &m.h, TRUE,
						     &wr, &rd),
				 STATUS_SUCCESS);
		cr_assert_status(NtCompleteConnectPort(comm), STATUS_SUCCESS);
		lpct_join(t);
		cr_assert_status(cv.status, STATUS_SUCCESS);
		/* The client closed its port: drain PORT_CLOSED. */
		cr_assert_status(NtReplyWaitReceivePort(port, NULL, NULL, &m.h),
				 STATUS_SUCCESS);
		cr_assert_eq(m.h.u2.s2.Type, LPC_PORT_CLOSED);
		NtClose(comm);
		NtClose(sec);
	}
	cr_assert_eq(lpct_count_maps(), before);
	NtClose(port);
}

Test(view, section_handles_are_checked)
{
	HANDLE port = lpct_create(PORT, 0, 0x100), notsec = NULL;
	PORT_VIEW wr = { .Length = sizeof(wr) };
	HANDLE h = NULL;

	/* A port handle is not a section: the object manager's answer. */
	wr.SectionHandle = port;
	wr.ViewSize = SZ;
	cr_assert_status(NtConnectPort(&h, lpct_ustr(PORT), lpct_qos(), &wr,
				       NULL, NULL, NULL, NULL),
			 STATUS_OBJECT_TYPE_MISMATCH);
	wr.SectionHandle = (HANDLE)(uintptr_t)0x7770;
	cr_assert_status(NtConnectPort(&h, lpct_ustr(PORT), lpct_qos(), &wr,
				       NULL, NULL, NULL, NULL),
			 STATUS_INVALID_HANDLE);
	(void)notsec;
	NtClose(port);
}
