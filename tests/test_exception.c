/* SPDX-License-Identifier: MIT */
/*
 * test_exception.c - NtSetInformationProcess(ProcessExceptionPort)
 * (spec 5.18): fatal signals become LPC_EXCEPTION requests and the
 * faulting thread waits for the verdict.
 */
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "helpers.h"

TestSuite(exception, .init = lpct_setup, .fini = lpct_teardown,
	  .timeout = 30);

#define PORT "\\RPC Control\\exc"

static volatile int *trap_page;

static void *client_loop(void *arg)
{
	HANDLE port;
	lpct_msg req, rep;

	(void)arg;
	if (lpct_connect(&port, PORT, NULL, NULL))
		return (void *)1;
	NtRegisterThreadTerminatePort(port);
	for (int i = 0; i < 10; i++) {
		lpct_msg_init(&req, NULL, 1);
		req.data[0] = (UCHAR)(i + 1);
		if (NtRequestWaitReplyPort(port, &req.h, &rep.h))
			return (void *)2;
	}
	/* Fault; the server makes the page writable and says continue. */
	*trap_page = 42;
	return *trap_page == 42 ? NULL : (void *)3;
}

/* ring3k's test_port_loop: the server's own connection port is the
 * exception port; the fault arrives with PortContext NULL, the server
 * repairs the cause and answers DBG_CONTINUE, the thread goes on and
 * later dies (LPC_CLIENT_DIED). */
Test(exception, local_exception_port_continue)
{
	HANDLE port = lpct_create(PORT, 0x100, 0x100), comm = NULL;
	int seq = 0, connections = 0, caught = 0;
	bool finished = false;
	pthread_t t;
	lpct_msg m;
	void *ctx;

	trap_page = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
			 -1, 0);
	cr_assert_neq((void *)trap_page, MAP_FAILED);
	cr_assert_status(NtSetInformationProcess(NtCurrentProcess(),
						 ProcessExceptionPort, &port,
						 sizeof(port)),
			 STATUS_SUCCESS);
	cr_assert_status(NtSetInformationProcess(NtCurrentProcess(),
						 ProcessExceptionPort, &port,
						 sizeof(port)),
			 STATUS_PORT_ALREADY_SET);
	t = lpct_thread(client_loop, NULL);
	while (!finished) {
		cr_assert_status(NtReplyWaitReceivePort(port, &ctx, NULL, &m.h),
				 STATUS_SUCCESS);
		switch (m.h.u2.s2.Type) {
		case LPC_CONNECTION_REQUEST:
			connections++;
			cr_assert_null(ctx);
			cr_assert_status(NtAcceptConnectPort(&comm, (PVOID)1234,
							     &m.h, TRUE, NULL,
							     NULL),
					 STATUS_SUCCESS);
			cr_assert_status(NtCompleteConnectPort(comm),
					 STATUS_SUCCESS);
			break;
		case LPC_REQUEST:
			cr_assert_eq(ctx, (PVOID)1234);
			cr_assert_eq(m.data[0], ++seq);
			cr_assert_status(NtReplyPort(port, &m.h),
					 STATUS_SUCCESS);
			break;
		case LPC_EXCEPTION: {
			DBGKM_APIMSG *x = (DBGKM_APIMSG *)&m;
			EXCEPTION_RECORD *er = &x->u.Exception.ExceptionRecord;

			cr_assert_null(ctx);
			cr_assert_eq(m.h.u1.s1.TotalLength, sizeof(DBGKM_APIMSG));
			cr_assert_eq(m.h.u1.s1.DataLength,
				     sizeof(DBGKM_APIMSG) - sizeof(PORT_MESSAGE));
			cr_assert_eq(x->ApiNumber, DbgKmExceptionApi);
			cr_assert_eq(x->ReturnedStatus, STATUS_PENDING);
			cr_assert_eq(er->ExceptionCode, STATUS_ACCESS_VIOLATION);
			cr_assert_eq(er->NumberParameters, 2);
			cr_assert_eq(er->ExceptionInformation[0], 1, "a write");
			cr_assert_eq(er->ExceptionInformation[1],
				     (ULONG_PTR)trap_page);
			cr_assert_eq(x->u.Exception.FirstChance, 0);
			cr_assert_eq(mprotect((void *)trap_page, 4096,
					      PROT_READ | PROT_WRITE),
				     0);
			x->ReturnedStatus = DBG_CONTINUE;
			cr_assert_status(NtReplyPort(port, &m.h),
					 STATUS_SUCCESS);
			caught++;
			break;
		}
		case LPC_CLIENT_DIED:
			finished = true;
			break;
		default:
			cr_assert_fail("unexpected type %d", m.h.u2.s2.Type);
		}
	}
	cr_assert_null(lpct_join(t));
	cr_assert_eq(seq, 10);
	cr_assert_eq(connections, 1);
	cr_assert_eq(caught, 1);
	NtClose(comm);
	NtClose(port);
}

static void child_crash(void *arg)
{
	HANDLE port;
	int mode = (int)(intptr_t)arg;

	if (lpct_connect(&port, PORT, NULL, NULL))
		_exit(50);
	if (NtSetInformationProcess(NtCurrentProcess(), ProcessExceptionPort,
				    &port, sizeof(port)))
		_exit(51);
	if (mode == 0) {
		/* A real fault; the server does not handle it. */
		volatile int *volatile bad = (volatile int *)16;

		*bad = 1;
		_exit(52);
	}
	/* A sent signal the server continues: raise() returns. */
	raise(SIGILL);
	_exit(0);
}

static EXCEPTION_RECORD serve_one(HANDLE port, NTSTATUS verdict,
				  HANDLE expect_ctx)
{
	lpct_msg m;
	void *ctx;
	DBGKM_APIMSG *x = (DBGKM_APIMSG *)&m;

	cr_assert_status(NtReplyWaitReceivePort(port, &ctx, NULL, &m.h),
			 STATUS_SUCCESS);
	cr_assert_eq(m.h.u2.s2.Type, LPC_EXCEPTION);
	cr_assert_eq(ctx, expect_ctx);
	x->ReturnedStatus = verdict;
	cr_assert_status(NtReplyPort(port, &m.h), STATUS_SUCCESS);
	return x->u.Exception.ExceptionRecord;
}

Test(exception, unhandled_fault_kills_the_client_process)
{
	HANDLE port = lpct_create(PORT, 0, 0x100), comm;
	pid_t pid = lpct_fork(child_crash, (void *)0);
	EXCEPTION_RECORD er;

	comm = lpct_accept_next(port, (PVOID)77);
	er = serve_one(port, DBG_EXCEPTION_NOT_HANDLED, (PVOID)77);
	cr_assert_eq(er.ExceptionCode, STATUS_ACCESS_VIOLATION);
	cr_assert_eq(er.ExceptionInformation[1], 16);
#if defined(__SANITIZE_ADDRESS__)
	/* The previous disposition is ASan's own SEGV handler, which
	 * reports and exits: the fault was handed on, as it should be. */
	cr_assert_neq(lpct_wait(pid), 0);
#else
	cr_assert_eq(lpct_wait(pid), 128 + SIGSEGV);
#endif
	NtClose(comm);
	NtClose(port);
}

Test(exception, continued_signal_lets_the_client_go_on)
{
	HANDLE port = lpct_create(PORT, 0, 0x100), comm;
	pid_t pid = lpct_fork(child_crash, (void *)1);
	EXCEPTION_RECORD er;

	comm = lpct_accept_next(port, (PVOID)78);
	er = serve_one(port, DBG_CONTINUE, (PVOID)78);
	cr_assert_eq(er.ExceptionCode, STATUS_ILLEGAL_INSTRUCTION);
	cr_assert_eq(lpct_wait(pid), 0);
	NtClose(comm);
	NtClose(port);
}

Test(exception, argument_checks)
{
	HANDLE port = lpct_create(NULL, 0, 0x100), bogus = (HANDLE)0x7774;

	cr_assert_status(NtSetInformationProcess(NtCurrentProcess(),
						 ProcessBasicInformation, &port,
						 sizeof(port)),
			 STATUS_INVALID_INFO_CLASS);
	cr_assert_status(NtSetInformationProcess(NtCurrentProcess(),
						 ProcessExceptionPort, &port, 4),
			 STATUS_INFO_LENGTH_MISMATCH);
	cr_assert_status(NtSetInformationProcess(NtCurrentProcess(),
						 ProcessExceptionPort, NULL,
						 sizeof(port)),
			 STATUS_ACCESS_VIOLATION);
	cr_assert_status(NtSetInformationProcess(NtCurrentProcess(),
						 ProcessExceptionPort, &bogus,
						 sizeof(port)),
			 STATUS_INVALID_HANDLE);
	cr_assert_status(NtSetInformationProcess(bogus, ProcessExceptionPort,
						 &port, sizeof(port)),
			 STATUS_INVALID_HANDLE);
	NtClose(port);
}
