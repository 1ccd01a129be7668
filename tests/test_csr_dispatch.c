/* SPDX-License-Identifier: MIT */
/*
 * csrd's dispatcher driven in process, without LPC (as the fuzz harness
 * drives it): a server built with csr_server_init, a process record for
 * this very process whose "client view" is a buffer of ours, and messages
 * handed to csr_dispatch and csr_call_server_from_server.
 */
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "srv.h"

static struct csr_server srv;
static struct csr_process *proc;
static char *view;

static void setup(void)
{
	struct csr_options o;
	NTSTATUS st;

	csr_options_default(&o);
	o.verbose = -1;
	cr_assert_eq(csr_server_init(&srv, &o), 0);
	proc = csr_process_new(&srv, getpid(), lpct_gettid(), &st);
	cr_assert_not_null(proc, "0x%08x", (unsigned)st);
	view = aligned_alloc(4096, CSR_PORT_VIEW_SIZE);
	memset(view, 0, CSR_PORT_VIEW_SIZE);
	proc->view_base = (uintptr_t)view;
	proc->view_end = proc->view_base + CSR_PORT_VIEW_SIZE;
	proc->state = CSR_PROCESS_CONNECTED;
}

static void teardown(void)
{
	csr_process_destroy(&srv, proc);
	csr_process_put(&srv, proc);
	csr_server_fini(&srv);
	free(view);
}

TestSuite(csr_dispatch, .init = setup, .fini = teardown, .timeout = 30);

static struct csr_thread *self_thread(void)
{
	return csr_thread_find(proc, lpct_gettid());
}

static NTSTATUS dispatch(CSR_API_MESSAGE *m)
{
	cr_assert_eq(csr_dispatch(&srv, proc, self_thread(), m, false),
		     CsrReplyImmediately);
	return m->Status;
}

Test(csr_dispatch, numbers_outside_the_tables_are_illegal)
{
	CSR_API_MESSAGE m = { .ApiNumber = 0x00040000 };

	cr_assert_eq(dispatch(&m), STATUS_ILLEGAL_FUNCTION);
	m.ApiNumber = CSR_MAKE_API_NUMBER(2, 0x1ff);
	cr_assert_eq(dispatch(&m), STATUS_ILLEGAL_FUNCTION);
	m.ApiNumber = BASESRV_GET_TEMP_FILE;
	cr_assert_eq(dispatch(&m), STATUS_SUCCESS);
}

/* A capture buffer in the process's view: validated, copied, the handler
 * sees the copy, and the result goes back into the view. */
Test(csr_dispatch, capture_buffer_round_trip_through_the_copy)
{
	CSR_API_MESSAGE m = { .ApiNumber = BASESRV_NLS_GET_USER_INFO };
	CSR_CAPTURE_BUFFER *cb = (CSR_CAPTURE_BUFFER *)(view + 256);
	char *data = (char *)cb + CSR_CAPTURE_BUFFER_HEADER_SIZE + 8;
	NLS_USER_INFO *out = (NLS_USER_INFO *)data;

	cb->Size = CSR_CAPTURE_BUFFER_HEADER_SIZE + 8 +
		   sizeof(NLS_USER_INFO) + 8;
	cb->PointerCount = 1;
	cb->PointerOffsetsArray[0] =
		offsetof(CSR_API_MESSAGE, Data.NlsGetUserInfo.NlsUserInfo);
	m.CsrCaptureData = cb;
	m.Data.NlsGetUserInfo.NlsUserInfo = out;
	m.Data.NlsGetUserInfo.SizeOfNlsUserInfo = sizeof(NLS_USER_INFO);
	cr_assert_eq(dispatch(&m), STATUS_SUCCESS);
	cr_assert_eq(m.CsrCaptureData, cb, "restored to the client's address");
	cr_assert_eq(m.Data.NlsGetUserInfo.NlsUserInfo, out);
	cr_assert_neq(out->sDecimal[0], 0, "copied back into the view");
}

Test(csr_dispatch, capture_buffer_outside_the_view_is_refused)
{
	CSR_API_MESSAGE m = { .ApiNumber = BASESRV_GET_TEMP_FILE };
	char local[128] = { 0 };

	m.CsrCaptureData = (PCSR_CAPTURE_BUFFER)local;
	cr_assert_eq(dispatch(&m), STATUS_INVALID_PARAMETER);
	cr_assert_eq(m.CsrCaptureData, (PCSR_CAPTURE_BUFFER)local);
}

/* Server-to-server calls: the "valid from server" table decides. */
Test(csr_dispatch, server_calls_honour_the_valid_table)
{
	CSR_API_MESSAGE m = { .ApiNumber = BASESRV_GET_TEMP_FILE };
	WCHAR semi[] = { ';', 0 };

	cr_assert_eq(csr_call_server_from_server(&srv, &m), STATUS_SUCCESS);
	cr_assert_gt(m.Data.GetTempFileRequest.UniqueId, 0);
	/* ExitProcess is invalid from the server. */
	m.ApiNumber = BASESRV_EXIT_PROCESS;
	cr_assert_eq(csr_call_server_from_server(&srv, &m),
		     STATUS_ILLEGAL_FUNCTION);
	m.ApiNumber = 0x00050000;
	cr_assert_eq(csr_call_server_from_server(&srv, &m),
		     STATUS_ILLEGAL_FUNCTION);
	/* Pointers are csrd's own: no capture buffer needed. */
	memset(&m, 0, sizeof(m));
	m.ApiNumber = BASESRV_NLS_SET_USER_INFO;
	m.Data.NlsSetUserInfo.LCType = LOCALE_SLIST;
	m.Data.NlsSetUserInfo.pData = semi;
	m.Data.NlsSetUserInfo.DataLength = sizeof(semi);
	cr_assert_eq(csr_call_server_from_server(&srv, &m), STATUS_SUCCESS);
	/* The same message from a client, without a capture buffer. */
	m.ApiNumber = BASESRV_NLS_SET_USER_INFO;
	cr_assert_eq(dispatch(&m), STATUS_INVALID_PARAMETER);
}
