/* SPDX-License-Identifier: MIT */
/*
 * csrd's core against a real csrd process: the connection (spec 12.1),
 * dispatch and illegal numbers (12.3, 12.5), every capture-buffer rule
 * of 12.6 at and past its boundary, the 12.7 validators, unknown threads,
 * datagrams, dying clients, concurrent client processes and profiles.
 *
 * The capture-buffer tests build messages by hand in the client view and
 * send them with NtRequestWaitReplyPort on libcsr's own port, so that
 * nothing in the client library tidies them up.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "client.h"
#include "csrt.h"

TestSuite(csr_core, .init = csrt_setup, .fini = csrt_teardown,
	  .timeout = 60);

#define HDR CSR_CAPTURE_BUFFER_HEADER_SIZE

static NTSTATUS call0(CSR_API_NUMBER api, ULONG len)
{
	CSR_API_MESSAGE m;

	csrt_msg(&m);
	return CsrClientCallServer(&m, NULL, api, len);
}

static ULONG temp_id(void)
{
	CSR_API_MESSAGE m;

	csrt_msg(&m);
	cr_assert_eq(CsrClientCallServer(&m, NULL, BASESRV_GET_TEMP_FILE,
					 sizeof(BASE_GET_TEMP_FILE)),
		     STATUS_SUCCESS);
	return m.Data.GetTempFileRequest.UniqueId;
}

/* ------------------------------------------------------------------ */
/* Connection                                                          */
/* ------------------------------------------------------------------ */

Test(csr_core, connect_reports_server_pid_and_maps_a_64k_view)
{
	csrt_connect();
	cr_assert_eq((pid_t)(uintptr_t)CsrGetProcessId(), csrt_server_pid());
	cr_assert_not_null(csr_client.view);
	cr_assert_eq(csr_client.view_size, CSR_PORT_VIEW_SIZE);
	cr_assert_neq(csr_client.delta, 0, "the server maps its own view");
}

Test(csr_core, second_connect_reuses_the_connection)
{
	HANDLE port;

	csrt_connect();
	port = csr_client.port;
	csrt_connect();
	cr_assert_eq(csr_client.port, port);
}

Test(csr_core, wrong_object_directory_is_not_found)
{
	NTSTATUS st = CsrClientConnectToServer(csrt_w("\\Nowhere"), 0, NULL,
					       NULL, NULL);

	cr_assert_neq(st, STATUS_SUCCESS);
	cr_assert_null(csr_client.port);
}

/* The LPC connection itself must carry a CSR_API_CONNECTINFO. */
Test(csr_core, connection_without_connect_info_is_refused)
{
	HANDLE port = NULL;
	char small[8] = { 0 };
	ULONG len = sizeof(small);
	NTSTATUS st;

	st = NtConnectPort(&port, lpct_ustr("\\Windows\\ApiPort"), lpct_qos(),
			   NULL, NULL, NULL, small, &len);
	cr_assert_eq(st, STATUS_PORT_CONNECTION_REFUSED, "0x%08x",
		     (unsigned)st);
}

/* One connection per process: a second LPC connection is refused. */
Test(csr_core, second_lpc_connection_of_a_process_is_refused)
{
	CSR_API_CONNECTINFO info = { 0 };
	ULONG len = sizeof(info);
	HANDLE port = NULL;

	csrt_connect();
	cr_assert_eq(NtConnectPort(&port, lpct_ustr("\\Windows\\ApiPort"),
				   lpct_qos(), NULL, NULL, NULL, &info, &len),
		     STATUS_PORT_CONNECTION_REFUSED);
	cr_assert_eq(temp_id() > 0, true, "the first one still works");
}

Test(csr_core, refusals_are_logged_when_not_quiet)
{
	pid_t old = csrt_server_pid();
	HANDLE port = NULL;
	char small[8] = { 0 };
	ULONG len = sizeof(small);

	csrt_stop(old);
	csrt_start("-v", NULL);
	cr_assert_eq(NtConnectPort(&port, lpct_ustr("\\Windows\\ApiPort"),
				   lpct_qos(), NULL, NULL, NULL, small, &len),
		     STATUS_PORT_CONNECTION_REFUSED);
	csrt_connect();
	call0(0x00050000, 0);
	usleep(100000);
	cr_assert(strstr(csrt_log(), "refused connection from pid"),
		  "%s", csrt_log());
	cr_assert(strstr(csrt_log(), "no server DLL 5"), "%s", csrt_log());
}

/* ------------------------------------------------------------------ */
/* Numbers                                                             */
/* ------------------------------------------------------------------ */

Test(csr_core, bad_server_index_is_illegal_function)
{
	csrt_connect();
	cr_assert_eq(call0(CSR_MAKE_API_NUMBER(4, 0), 0),
		     STATUS_ILLEGAL_FUNCTION);
	cr_assert_eq(call0(CSR_MAKE_API_NUMBER(5, 0), 0),
		     STATUS_ILLEGAL_FUNCTION);
	cr_assert_eq(call0(0xffff0000, 0), STATUS_ILLEGAL_FUNCTION);
}

Test(csr_core, api_index_at_and_past_each_table_end)
{
	csrt_connect();
	/* Last entries exist (implemented or not: never illegal). */
	cr_assert_neq(call0(CSR_MAKE_API_NUMBER(0, 4), 0),
		      STATUS_ILLEGAL_FUNCTION);
	cr_assert_neq(call0(CSR_MAKE_API_NUMBER(1, 0x1e), 0),
		      STATUS_ILLEGAL_FUNCTION);
	cr_assert_neq(call0(CSR_MAKE_API_NUMBER(2, 0x254), 0),
		      STATUS_ILLEGAL_FUNCTION);
	cr_assert_neq(call0(CSR_MAKE_API_NUMBER(3, 0x409), 0),
		      STATUS_ILLEGAL_FUNCTION);
	/* One past. */
	cr_assert_eq(call0(CSR_MAKE_API_NUMBER(0, 5), 0),
		     STATUS_ILLEGAL_FUNCTION);
	cr_assert_eq(call0(CSR_MAKE_API_NUMBER(1, 0x1f), 0),
		     STATUS_ILLEGAL_FUNCTION);
	cr_assert_eq(call0(CSR_MAKE_API_NUMBER(2, 0x255), 0),
		     STATUS_ILLEGAL_FUNCTION);
	cr_assert_eq(call0(CSR_MAKE_API_NUMBER(3, 0x40a), 0),
		     STATUS_ILLEGAL_FUNCTION);
	cr_assert_eq(call0(CSR_MAKE_API_NUMBER(1, 0xffff), 0),
		     STATUS_ILLEGAL_FUNCTION);
}

/* The low word is absolute: below CONSRV's base it wraps and fails. */
Test(csr_core, api_index_below_the_base_is_illegal_function)
{
	csrt_connect();
	cr_assert_eq(call0(CSR_MAKE_API_NUMBER(2, 0x1ff), 0),
		     STATUS_ILLEGAL_FUNCTION);
	cr_assert_eq(call0(CSR_MAKE_API_NUMBER(2, 0), 0),
		     STATUS_ILLEGAL_FUNCTION);
	cr_assert_eq(call0(CSR_MAKE_API_NUMBER(3, 0x3ff), 0),
		     STATUS_ILLEGAL_FUNCTION);
}

Test(csr_core, table_entry_without_handler_is_not_implemented)
{
	csrt_connect();
	cr_assert_eq(call0(CSR_MAKE_API_NUMBER(1, 5), 0), /* CheckVDM */
		     STATUS_NOT_IMPLEMENTED);
	cr_assert_eq(call0(CSRSRV_PROFILE_CONTROL, 0),
		     STATUS_NOT_IMPLEMENTED);
	cr_assert_eq(call0(CSR_MAKE_API_NUMBER(3, 0x402), 0), /* Logon */
		     STATUS_NOT_IMPLEMENTED);
}

Test(csr_core, message_longer_than_the_port_allows_fails_in_lpc)
{
	csrt_connect();
	cr_assert_eq(call0(BASESRV_GET_TEMP_FILE, sizeof(((CSR_API_MESSAGE *)0)->Data) + 1),
		     STATUS_PORT_MESSAGE_TOO_LONG);
	cr_assert_eq(call0(BASESRV_GET_TEMP_FILE,
			   sizeof(((CSR_API_MESSAGE *)0)->Data)),
		     STATUS_SUCCESS);
}

/* ------------------------------------------------------------------ */
/* Capture buffers (spec 12.6), built by hand                          */
/* ------------------------------------------------------------------ */

/* A capture buffer at client address cb (inside the view) whose one
 * pointer field is NlsSetUserInfo.pData, pointing at ptr; sent raw. */
struct raw {
	CSR_API_MESSAGE m;
	char *cb;
	ULONG size, count;
	ULONG_PTR offset;	/* recorded offset */
	char *ptr;		/* client address the field holds */
};

static char *view(void)
{
	return csr_client.view;
}

static void raw_init(struct raw *r, ULONG at, ULONG size)
{
	WCHAR comma[2] = { ',', 0 };

	memset(r, 0, sizeof(*r));
	r->cb = view() + at;
	r->size = size;
	r->count = 1;
	r->offset = offsetof(CSR_API_MESSAGE, Data.NlsSetUserInfo.pData);
	r->ptr = r->cb + HDR + 8;
	/* The value the API receives, wherever ptr ends up. */
	memcpy(r->ptr, comma, sizeof(comma));
}

static NTSTATUS raw_send(struct raw *r)
{
	CSR_CAPTURE_BUFFER *cb = (CSR_CAPTURE_BUFFER *)r->cb;
	CSR_API_MESSAGE *m = &r->m;
	uintptr_t d = (uintptr_t)csr_client.delta, p;
	NTSTATUS st;

	cb->Size = r->size;
	cb->PointerCount = r->count;
	cb->PointerOffsetsArray[0] = r->offset;
	m->Data.NlsSetUserInfo.LCType = LOCALE_SLIST;
	m->Data.NlsSetUserInfo.DataLength = 4;
	p = (uintptr_t)r->ptr + d;
	if (r->offset >= CSR_API_MESSAGE_HEADER_SIZE &&
	    r->offset <= sizeof(*m) - 8)
		memcpy((char *)m + r->offset, &p, sizeof(p));
	memcpy(&m->Data.NlsSetUserInfo.pData, &p, sizeof(p));
	m->CsrCaptureData = (PCSR_CAPTURE_BUFFER)((uintptr_t)r->cb + d);
	m->ApiNumber = BASESRV_NLS_SET_USER_INFO;
	m->Header.u1.s1.TotalLength = CSR_API_MESSAGE_HEADER_SIZE +
				      sizeof(BASE_NLS_SET_USER_INFO);
	m->Header.u1.s1.DataLength = m->Header.u1.s1.TotalLength -
				     sizeof(PORT_MESSAGE);
	m->Header.u2.ZeroInit = 0;
	st = NtRequestWaitReplyPort(csr_client.port, &m->Header, &m->Header);
	cr_assert_eq(st, STATUS_SUCCESS, "LPC: 0x%08x", (unsigned)st);
	return m->Status;
}

#define OK STATUS_SUCCESS
#define BAD STATUS_INVALID_PARAMETER

Test(csr_core, capture_well_formed_buffer_is_accepted)
{
	struct raw r;

	csrt_connect();
	raw_init(&r, 4096, 64);
	cr_assert_eq(raw_send(&r), OK);
}

/* GetTempFile with a capture buffer of no pointers at view offset at:
 * only the 12.6 checks decide. */
static NTSTATUS plain_capture(long at, ULONG size, ULONG count)
{
	CSR_API_MESSAGE m;
	CSR_CAPTURE_BUFFER *cb = (CSR_CAPTURE_BUFFER *)(view() + at);

	if (at >= 0 && at + HDR <= CSR_PORT_VIEW_SIZE) {
		cb->Size = size;
		cb->PointerCount = count;
	}
	csrt_msg(&m);
	m.CsrCaptureData = (PCSR_CAPTURE_BUFFER)((uintptr_t)view() + at +
						 (uintptr_t)csr_client.delta);
	m.Header.u1.s1.TotalLength = 64 + 4;
	m.Header.u1.s1.DataLength = 24 + 4;
	m.ApiNumber = BASESRV_GET_TEMP_FILE;
	cr_assert_eq(NtRequestWaitReplyPort(csr_client.port, &m.Header,
					    &m.Header), STATUS_SUCCESS);
	return m.Status;
}

/* Rule 1: the header must lie inside the view, ending strictly below
 * its end. */
Test(csr_core, capture_rule1_header_before_the_view)
{
	csrt_connect();
	cr_assert_eq(plain_capture(0, HDR + 8, 0), OK);
	cr_assert_eq(plain_capture(-8, HDR + 8, 0), BAD);
	cr_assert_eq(plain_capture(-(long)(intptr_t)view() + 0x1000, 64, 0),
		     BAD);
}

Test(csr_core, capture_rule1_header_at_the_view_end)
{
	csrt_connect();
	cr_assert_eq(plain_capture(CSR_PORT_VIEW_SIZE - HDR - 8, HDR + 7, 0),
		     OK);
	cr_assert_eq(plain_capture(CSR_PORT_VIEW_SIZE - HDR, HDR, 0), BAD);
	cr_assert_eq(plain_capture(CSR_PORT_VIEW_SIZE, HDR, 0), BAD);
}

/* A buffer need not be aligned: fields are read byte-wise. */
Test(csr_core, capture_unaligned_buffer_is_read_safely)
{
	CSR_API_MESSAGE m;
	ULONG size = HDR + 8, count = 0;
	char *cb;

	csrt_connect();
	cb = view() + 1001;
	memcpy(cb + offsetof(CSR_CAPTURE_BUFFER, Size), &size, 4);
	memcpy(cb + offsetof(CSR_CAPTURE_BUFFER, PointerCount), &count, 4);
	csrt_msg(&m);
	m.CsrCaptureData = (PCSR_CAPTURE_BUFFER)((uintptr_t)cb +
						 (uintptr_t)csr_client.delta);
	m.Header.u1.s1.TotalLength = 64 + 4;
	m.Header.u1.s1.DataLength = 24 + 4;
	m.ApiNumber = BASESRV_GET_TEMP_FILE;
	cr_assert_eq(NtRequestWaitReplyPort(csr_client.port, &m.Header,
					    &m.Header), STATUS_SUCCESS);
	cr_assert_eq(m.Status, OK);
}

/* Rule 2: the buffer must end strictly below the view's end. */
Test(csr_core, capture_rule2_size_ending_at_the_view_end)
{
	struct raw r;
	ULONG at = CSR_PORT_VIEW_SIZE - 256;

	csrt_connect();
	raw_init(&r, at, 255);
	cr_assert_eq(raw_send(&r), OK);
	raw_init(&r, at, 256);
	cr_assert_eq(raw_send(&r), BAD);
	raw_init(&r, at, 0xffffffff);	/* wraps or runs off */
	cr_assert_eq(raw_send(&r), BAD);
}

/* Rule 3: PointerCount fits the buffer and is at most 0xFFFF. */
Test(csr_core, capture_rule3_pointer_count)
{
	csrt_connect();
	memset(view() + 4096, 0, 256);	/* every offset 0: skipped */
	cr_assert_eq(plain_capture(4096, 64, (64 - HDR) / 8), OK);
	cr_assert_eq(plain_capture(4096, 64, (64 - HDR) / 8 + 1), BAD);
	cr_assert_eq(plain_capture(4096, 64, 0x10000), BAD);
	cr_assert_eq(plain_capture(4096, 64, 0xffffffff), BAD);
}

/* Rule 5: offsets aligned, within Data, below the message end. */
Test(csr_core, capture_rule5_offset_alignment_and_range)
{
	struct raw r;

	csrt_connect();
	raw_init(&r, 4096, 64);
	r.offset += 4;
	cr_assert_eq(raw_send(&r), BAD);
	raw_init(&r, 4096, 64);
	r.offset = CSR_API_MESSAGE_HEADER_SIZE - 8;	/* Reserved/Status */
	cr_assert_eq(raw_send(&r), BAD);
	raw_init(&r, 4096, 64);
	r.offset = sizeof(CSR_API_MESSAGE);		/* past the end */
	cr_assert_eq(raw_send(&r), BAD);
	/* The last slot is a legal place for a pointer (the API then finds
	 * its own field uncaptured: rule 12.7, not 12.6). */
	raw_init(&r, 4096, 64);
	r.offset = sizeof(CSR_API_MESSAGE) - 8;
	cr_assert_eq(raw_send(&r), BAD);
	cr_assert_eq(r.m.Status, BAD);
}

Test(csr_core, capture_rule5_pointer_bounds)
{
	struct raw r;

	csrt_connect();
	/* Into the offsets array: refused. */
	raw_init(&r, 4096, 64);
	r.ptr = r.cb + HDR + 8 - 4;
	cr_assert_eq(raw_send(&r), BAD);
	/* Last legal place: End - 8. */
	raw_init(&r, 4096, 64);
	r.ptr = r.cb + 64 - 8;
	memcpy(r.ptr, (WCHAR[]){ ';', 0 }, 4);
	cr_assert_eq(raw_send(&r), OK);
	raw_init(&r, 4096, 64);
	r.ptr = r.cb + 64 - 7;
	cr_assert_eq(raw_send(&r), BAD);
	/* Outside the buffer entirely. */
	raw_init(&r, 4096, 64);
	r.ptr = view() + 100;
	cr_assert_eq(raw_send(&r), BAD);
}

/* A field recorded twice: rebasing it a second time would turn the copy's
 * address into a wild one; it is refused, and the message goes back to
 * the client as it came. */
Test(csr_core, capture_field_recorded_twice_is_refused)
{
	CSR_CAPTURE_BUFFER *cb;
	struct raw r;
	uintptr_t sent;

	csrt_connect();
	raw_init(&r, 4096, 64);
	r.count = 2;
	r.ptr = r.cb + HDR + 16;
	memcpy(r.ptr, (WCHAR[]){ ';', 0 }, 4);
	cb = (CSR_CAPTURE_BUFFER *)r.cb;
	cb->PointerOffsetsArray[1] = r.offset;
	cr_assert_eq(raw_send(&r), BAD);
	memcpy(&sent, &r.m.Data.NlsSetUserInfo.pData, sizeof(sent));
	cr_assert_eq(sent, (uintptr_t)r.ptr + (uintptr_t)csr_client.delta);
	/* The same buffer with the field recorded once is fine. */
	raw_init(&r, 4096, 64);
	r.count = 2;
	r.ptr = r.cb + HDR + 16;
	memcpy(r.ptr, (WCHAR[]){ ';', 0 }, 4);
	((CSR_CAPTURE_BUFFER *)r.cb)->PointerOffsetsArray[1] = 0;
	cr_assert_eq(raw_send(&r), OK);
}

/* Rule 12.7: a pointer into the buffer whose field was not recorded. */
Test(csr_core, validator_refuses_a_pointer_that_was_not_captured)
{
	struct raw r;

	csrt_connect();
	raw_init(&r, 4096, 64);
	r.offset = 0;		/* recorded slot empty */
	cr_assert_eq(raw_send(&r), BAD);
}

/* A failed capture leaves the message's pointers as the client sent
 * them. */
Test(csr_core, refused_capture_leaves_the_message_untouched)
{
	struct raw r;
	uintptr_t sent;

	csrt_connect();
	raw_init(&r, 4096, 64);
	r.ptr = r.cb + 64 - 7;
	cr_assert_eq(raw_send(&r), BAD);
	memcpy(&sent, &r.m.Data.NlsSetUserInfo.pData, sizeof(sent));
	cr_assert_eq(sent, (uintptr_t)r.ptr + (uintptr_t)csr_client.delta);
}

/* The client's buffer is copied back after the call (release), and the
 * client may rewrite its view meanwhile without affecting the server's
 * copy (read once). */
Test(csr_core, output_comes_back_through_the_capture_buffer)
{
	CSR_API_MESSAGE m;
	PCSR_CAPTURE_BUFFER cb;
	NLS_USER_INFO *info;

	csrt_connect();
	csrt_msg(&m);
	cb = CsrAllocateCaptureBuffer(1, sizeof(NLS_USER_INFO));
	cr_assert_not_null(cb);
	CsrAllocateMessagePointer(cb, sizeof(NLS_USER_INFO),
				  (PVOID *)&m.Data.NlsGetUserInfo.NlsUserInfo);
	m.Data.NlsGetUserInfo.SizeOfNlsUserInfo = sizeof(NLS_USER_INFO);
	cr_assert_eq(CsrClientCallServer(&m, cb, BASESRV_NLS_GET_USER_INFO,
					 sizeof(BASE_NLS_GET_USER_INFO)),
		     STATUS_SUCCESS);
	info = m.Data.NlsGetUserInfo.NlsUserInfo;
	cr_assert((char *)info > (char *)cb && (char *)info < view() +
		  CSR_PORT_VIEW_SIZE, "pointer moved back to the client");
	cr_assert_neq(info->sDecimal[0], 0, "the server filled it in");
	CsrFreeCaptureBuffer(cb);
}

/* libcsr's string capture: bounded by MaximumLength, NUL-terminated when
 * there is room, recorded for the fix-ups. */
Test(csr_core, capture_message_string)
{
	PCSR_CAPTURE_BUFFER cb;
	STRING str;

	csrt_connect();
	cb = CsrAllocateCaptureBuffer(2, 32);
	cr_assert_not_null(cb);
	CsrCaptureMessageString(cb, "hello", 5, 16, &str);
	cr_assert_eq(str.Length, 5);
	cr_assert_eq(str.MaximumLength, 16);
	cr_assert_str_eq(str.Buffer, "hello");
	cr_assert_eq(cb->PointerCount, 1);
	cr_assert_eq(cb->PointerOffsetsArray[0], (ULONG_PTR)&str.Buffer);
	/* Longer than the maximum: cut, no room for a NUL. */
	CsrCaptureMessageString(cb, "0123456789", 10, 4, &str);
	cr_assert_eq(str.Length, 4);
	cr_assert_eq(memcmp(str.Buffer, "0123", 4), 0);
	cr_assert_eq(cb->PointerCount, 2);
	CsrFreeCaptureBuffer(cb);
}

/* ------------------------------------------------------------------ */
/* Threads, datagrams, deaths                                          */
/* ------------------------------------------------------------------ */

static void *second_thread(void *arg)
{
	(void)arg;
	return (void *)(uintptr_t)temp_id();
}

/* Linux threads are not created through csrd: a connected process's
 * other threads are registered at their first call. */
Test(csr_core, other_threads_are_registered_at_first_call)
{
	pthread_t t;
	void *id;

	csrt_connect();
	pthread_create(&t, NULL, second_thread, NULL);
	pthread_join(t, &id);
	cr_assert_gt((uintptr_t)id, 0);
}

static void *strict_thread(void *arg)
{
	NTSTATUS *st = arg;
	CSR_API_MESSAGE m;

	st[0] = call0(BASESRV_GET_TEMP_FILE, sizeof(BASE_GET_TEMP_FILE));
	csrt_msg(&m);
	st[1] = CsrClientCallServer(&m, NULL, CSRSRV_THREAD_CONNECT, 0);
	st[2] = call0(BASESRV_GET_TEMP_FILE, sizeof(BASE_GET_TEMP_FILE));
	return NULL;
}

static int strict_child(void *arg)
{
	pthread_t t;
	NTSTATUS st[3];

	(void)arg;
	if (CsrClientConnectToServer(NULL, 0, NULL, NULL, NULL))
		return 10;
	if (call0(BASESRV_GET_TEMP_FILE, sizeof(BASE_GET_TEMP_FILE)))
		return 11;
	pthread_create(&t, NULL, strict_thread, st);
	pthread_join(t, NULL);
	if (st[0] != STATUS_ILLEGAL_FUNCTION)
		return 12;
	if (st[1] != STATUS_SUCCESS)
		return 13;
	if (st[2] != STATUS_SUCCESS)
		return 14;
	return 0;
}

static int unregistered_user(void *arg)
{
	(void)arg;
	if (setuid(65534))
		return 99;
	return CsrClientConnectToServer(NULL, 0, NULL, NULL, NULL) ==
			       STATUS_PORT_CONNECTION_REFUSED ? 0 : 20;
}

/* NT's rules: a process must be registered (BasepCreateProcess, by its
 * parent) before it connects -- root's processes stand for the ones CSR
 * starts itself -- and an unknown thread's request is an illegal function
 * until the thread connects. */
Test(csr_core, strict_registration_follows_nt)
{
	CSR_API_MESSAGE m;
	int ready[2], go[2], status;
	pid_t child;
	char c;

	csrt_stop(csrt_server_pid());
	csrt_start("--strict-registration", NULL);
	csrt_connect();		/* root */
	cr_assert_eq(csrt_child(unregistered_user, NULL), 0);

	cr_assert_eq(pipe(ready), 0);
	cr_assert_eq(pipe(go), 0);
	child = fork();
	cr_assert_geq(child, 0);
	if (child == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		CsrClientDisconnect();
		if (setuid(65534))
			_exit(99);
		if (write(ready[1], "r", 1) != 1 || read(go[0], &c, 1) != 1)
			_exit(30);
		_exit(strict_child(NULL));
	}
	cr_assert_eq(read(ready[0], &c, 1), 1);
	csrt_msg(&m);
	m.Data.CreateProcessRequest.ClientId.UniqueProcess =
		(HANDLE)(uintptr_t)child;
	m.Data.CreateProcessRequest.ClientId.UniqueThread =
		(HANDLE)(uintptr_t)child;
	cr_assert_eq(CsrClientCallServer(&m, NULL, BASESRV_CREATE_PROCESS,
					 sizeof(BASE_CREATE_PROCESS)),
		     STATUS_SUCCESS);
	cr_assert_eq(write(go[1], "g", 1), 1);
	cr_assert_eq(waitpid(child, &status, 0), child);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "status 0x%x; log:\n%s", status, csrt_log());
}

Test(csr_core, datagram_is_dispatched_without_a_reply)
{
	CSR_API_MESSAGE m;
	ULONG a, b;

	csrt_connect();
	a = temp_id();
	csrt_msg(&m);
	m.ApiNumber = BASESRV_GET_TEMP_FILE;
	m.Header.u1.s1.TotalLength = 64 + 4;
	m.Header.u1.s1.DataLength = 24 + 4;
	cr_assert_eq(NtRequestPort(csr_client.port, &m.Header), STATUS_SUCCESS);
	/* A bad number as a datagram: dropped, nothing comes back. */
	m.ApiNumber = 0x00090000;
	cr_assert_eq(NtRequestPort(csr_client.port, &m.Header), STATUS_SUCCESS);
	b = temp_id();
	cr_assert_eq(b, a + 2, "a %u b %u", a, b);
}

static int call_then_die(void *arg)
{
	(void)arg;
	if (CsrClientConnectToServer(NULL, 0, NULL, NULL, NULL))
		return 1;
	temp_id();
	raise(SIGKILL);
	return 2;
}

/* Killed clients are forgotten; csrd keeps serving. */
Test(csr_core, killed_clients_are_forgotten)
{
	pid_t pid;
	int status;

	for (int i = 0; i < 5; i++) {
		pid = fork();
		cr_assert_geq(pid, 0);
		if (pid == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			call_then_die(NULL);
			_exit(3);
		}
		waitpid(pid, &status, 0);
		cr_assert(WIFSIGNALED(status));
	}
	csrt_connect();
	cr_assert_gt(temp_id(), 5);
}

struct hammer {
	int calls;
	ULONG last;
};

static int hammer_child(void *arg)
{
	struct hammer *h = arg;
	ULONG prev = 0;

	if (CsrClientConnectToServer(NULL, 0, NULL, NULL, NULL))
		return 1;
	for (int i = 0; i < h->calls; i++) {
		ULONG id = temp_id();

		/* Unique and increasing as seen by any one client. */
		if (id <= prev)
			return 2;
		prev = id;
	}
	return 0;
}

/* Several client processes, each with several threads, at once. */
Test(csr_core, concurrent_client_processes)
{
	struct hammer h = { .calls = 300 };
	pid_t pids[6];
	int status;

	for (int i = 0; i < 6; i++) {
		pids[i] = fork();
		cr_assert_geq(pids[i], 0);
		if (pids[i] == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			_exit(hammer_child(&h));
		}
	}
	for (int i = 0; i < 6; i++) {
		cr_assert_eq(waitpid(pids[i], &status, 0), pids[i]);
		cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
			  "client %d: status 0x%x", i, status);
	}
	csrt_connect();
	cr_assert_eq(temp_id(), 6 * 300 + 1);
}

/* ------------------------------------------------------------------ */
/* Profiles                                                            */
/* ------------------------------------------------------------------ */

Test(csr_core, win7_profile_has_no_console_table)
{
	csrt_stop(csrt_server_pid());
	csrt_start("--profile", "win7", NULL);
	csrt_connect();
	cr_assert_eq(call0(CONSRV_ALLOC_CONSOLE, sizeof(CONSOLE_ALLOCCONSOLE)),
		     STATUS_ILLEGAL_FUNCTION);
	/* GetTempFile's slot is dead from 6.0 on. */
	cr_assert_eq(call0(BASESRV_GET_TEMP_FILE, sizeof(BASE_GET_TEMP_FILE)),
		     STATUS_NOT_IMPLEMENTED);
	cr_assert_eq(call0(CSRSRV_CLIENT_CONNECT, sizeof(CSR_CLIENT_CONNECT)),
		     STATUS_SUCCESS);
}

Test(csr_core, nt4_profile_numbers_client_connect_1)
{
	CSR_API_MESSAGE m;

	csrt_stop(csrt_server_pid());
	csrt_start("--profile", "nt4", NULL);
	csrt_connect();
	csrt_msg(&m);
	m.Data.CsrClientConnect.ServerId = 0;
	cr_assert_eq(CsrClientCallServer(&m, NULL, CSR_MAKE_API_NUMBER(0, 1),
					 sizeof(CSR_CLIENT_CONNECT)),
		     STATUS_SUCCESS);
	/* 0 is CsrSrvNullApiCall there: not implemented, not illegal. */
	cr_assert_eq(call0(CSR_MAKE_API_NUMBER(0, 0), 0),
		     STATUS_NOT_IMPLEMENTED);
}

Test(csr_core, unknown_profile_is_refused_at_start)
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);

		dup2(fd, 2);
		char path[512];

		snprintf(path, sizeof(path), "%s/csrd",
			 getenv("LPC_BUILD") ? getenv("LPC_BUILD") : "build");
		execl(path, "csrd", "--profile", "win95", (char *)NULL);
		_exit(127);
	}
	waitpid(pid, &status, 0);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 1,
		  "status 0x%x", status);
}

/* ------------------------------------------------------------------ */
/* Exceptions                                                          */
/* ------------------------------------------------------------------ */

static int fault_child(void *arg)
{
	HANDLE port;

	(void)arg;
	if (CsrClientConnectToServer(NULL, 0, NULL, NULL, NULL))
		return 1;
	temp_id();
	/* csrd is this process's exception port, as CSR is every Win32
	 * process's: a fault becomes an LPC_EXCEPTION from a known thread. */
	port = csr_client.port;
	if (NtSetInformationProcess(NtCurrentProcess(), ProcessExceptionPort,
				    &port, sizeof(port)) != STATUS_SUCCESS)
		return 2;
	{
		/* Not NULL: UBSan would catch a NULL store before it
		 * faults. */
		volatile int *volatile bad = (volatile int *)16;

		*bad = 1;
	}
	return 3;
}

/* NT's CSR terminates a process whose known thread raised an exception
 * (spec 12.5): the child dies of SIGKILL, not of its SIGSEGV. */
Test(csr_core, exception_from_a_known_thread_terminates_the_process)
{
	pid_t pid = fork();
	int status;

	cr_assert_geq(pid, 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		_exit(fault_child(NULL));
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
		  "status 0x%x; log:\n%s", status, csrt_log());
	csrt_connect();
	cr_assert_gt(temp_id(), 0, "csrd still serves");
}
