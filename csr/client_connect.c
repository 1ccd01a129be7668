/* SPDX-License-Identifier: MIT */
/*
 * libcsr: the connection to csrd and the call path (ntdll's csr/connect.c
 * role, spec 12.1 and 12.4).
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "client.h"

struct csr_client csr_client = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* The connection (by generation) this thread registered as its
 * termination port, for its LPC_CLIENT_DIED. */
static __thread unsigned thread_gen;

/* Caller holds csr_client.lock (or is a fresh fork child). */
static void forget_connection(void)
{
	csr_client.port = NULL;
	csr_client.view = NULL;
	csr_client.view_size = 0;
	csr_client.delta = 0;
	csr_client.server_pid = NULL;
	csr_heap_reset(NULL, 0);
}

static void after_fork_child(void)
{
	/* liblpc gives the child an empty handle table: none of the
	 * parent's connection is usable here. */
	pthread_mutex_init(&csr_client.lock, NULL);
	forget_connection();
	thread_gen = 0;
}

static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void install_atfork(void)
{
	pthread_atfork(NULL, NULL, after_fork_child);
}

/* "<dir>\ApiPort" as UTF-16; dir NULL means "\Windows". */
static int port_name(PWSTR dir, WCHAR *buf, size_t cap, UNICODE_STRING *us)
{
	static const char def[] = CSR_DEFAULT_OBJECT_DIRECTORY;
	static const char tail[] = "\\" CSR_PORT_NAME;
	size_t n = 0;

	if (dir) {
		while (dir[n]) {
			if (n + sizeof(tail) >= cap)
				return -1;
			buf[n] = dir[n];
			n++;
		}
	} else {
		for (; def[n]; n++)
			buf[n] = (WCHAR)def[n];
	}
	for (size_t i = 0; tail[i]; i++)
		buf[n++] = (WCHAR)tail[i];
	buf[n] = 0;
	RtlInitUnicodeString(us, buf);
	return 0;
}

static NTSTATUS connect_port(PWSTR dir)
{
	SECURITY_QUALITY_OF_SERVICE qos = {
		.Length = sizeof(qos),
		.ImpersonationLevel = SecurityImpersonation,
		.ContextTrackingMode = SECURITY_DYNAMIC_TRACKING,
		.EffectiveOnly = TRUE,
	};
	/* LocalSystem, S-1-5-18: ntdll will only talk to a CSR running as
	 * SYSTEM; liblpc maps it to root. */
	struct {
		SID sid;
	} system_sid = { { SID_REVISION, 1, { { 0, 0, 0, 0, 0, 5 } },
			   { 18 } } };
	struct {
		SID sid;
		ULONG more;
	} user_sid = { { SID_REVISION, 2, { { 0, 0, 0, 0, 0, 22 } }, { 1 } },
		       (ULONG)geteuid() };
	CSR_API_CONNECTINFO info;
	ULONG infolen = sizeof(info);
	LARGE_INTEGER size = { .QuadPart = CSR_PORT_VIEW_SIZE };
	PORT_VIEW view = { .Length = sizeof(view) };
	REMOTE_PORT_VIEW sview = { .Length = sizeof(sview) };
	UNICODE_STRING us;
	WCHAR name[512];
	HANDLE section = NULL, port = NULL;
	NTSTATUS st;

	if (port_name(dir, name, 512, &us))
		return STATUS_OBJECT_NAME_INVALID;
	st = NtCreateSection(&section, SECTION_ALL_ACCESS, NULL, &size,
			     PAGE_READWRITE, SEC_RESERVE, NULL);
	if (st != STATUS_SUCCESS)
		return st;
	view.SectionHandle = section;
	view.ViewSize = CSR_PORT_VIEW_SIZE;
	memset(&info, 0, sizeof(info));
	st = NtSecureConnectPort(&port, &us, &qos, &view, &system_sid.sid,
				 &sview, NULL, &info, &infolen);
	/* A user's own csrd is no escalation: accept it too. */
	if (st == STATUS_SERVER_SID_MISMATCH && geteuid() != 0) {
		view.ViewBase = view.ViewRemoteBase = NULL;
		infolen = sizeof(info);
		memset(&info, 0, sizeof(info));
		st = NtSecureConnectPort(&port, &us, &qos, &view,
					 &user_sid.sid, &sview, NULL, &info,
					 &infolen);
	}
	NtClose(section);
	if (st != STATUS_SUCCESS)
		return st;
	csr_client.port = port;
	csr_client.view = view.ViewBase;
	csr_client.view_size = view.ViewSize;
	csr_client.delta = (intptr_t)view.ViewRemoteBase -
			   (intptr_t)view.ViewBase;
	csr_client.server_pid = infolen >= sizeof(info) ?
					info.ServerProcessId : NULL;
	if (++csr_client.gen == 0)
		++csr_client.gen;
	csr_heap_reset(view.ViewBase, view.ViewSize);
	return STATUS_SUCCESS;
}

/* Death notices for this thread go to csrd (NT's CSR learns of thread
 * deaths the same way). */
static void register_thread(void)
{
	if (thread_gen == csr_client.gen)
		return;
	if (NtRegisterThreadTerminatePort(csr_client.port) == STATUS_SUCCESS)
		thread_gen = csr_client.gen;
}

NTSTATUS csr_client_ensure(PWSTR dir)
{
	NTSTATUS st = STATUS_SUCCESS;

	pthread_once(&atfork_once, install_atfork);
	pthread_mutex_lock(&csr_client.lock);
	if (!csr_client.port)
		st = connect_port(dir);
	if (st == STATUS_SUCCESS)
		register_thread();
	pthread_mutex_unlock(&csr_client.lock);
	return st;
}

NTSTATUS NTAPI CsrClientConnectToServer(PWSTR ObjectDirectory, ULONG ServerId,
					PVOID ConnectionInfo,
					PULONG ConnectionInfoSize,
					PBOOLEAN ServerToServerCall)
{
	CSR_API_MESSAGE msg;
	PCSR_CAPTURE_BUFFER cb = NULL;
	ULONG size = ConnectionInfoSize ? *ConnectionInfoSize : 0;
	NTSTATUS st;

	if (ServerToServerCall)
		*ServerToServerCall = FALSE;
	if (ServerId >= 0x10000 || (size && !ConnectionInfo))
		return STATUS_INVALID_PARAMETER;
	st = csr_client_ensure(ObjectDirectory);
	if (st != STATUS_SUCCESS)
		return st;
	/* The per-server-DLL connection: a CsrpClientConnect call with the
	 * information captured (spec 12.1). */
	if (!ConnectionInfo && ServerId == CSRSRV_SERVERDLL_INDEX)
		return STATUS_SUCCESS;
	memset(&msg, 0, sizeof(msg));
	msg.Data.CsrClientConnect.ServerId = ServerId;
	msg.Data.CsrClientConnect.ConnectionInfoSize = size;
	if (size) {
		cb = CsrAllocateCaptureBuffer(1, size);
		if (!cb)
			return STATUS_NO_MEMORY;
		CsrCaptureMessageBuffer(cb, ConnectionInfo, size,
				(PVOID *)&msg.Data.CsrClientConnect.ConnectionInfo);
	}
	st = CsrClientCallServer(&msg, cb, CSRSRV_CLIENT_CONNECT,
				 sizeof(CSR_CLIENT_CONNECT));
	if (st == STATUS_SUCCESS && size) {
		ULONG out = msg.Data.CsrClientConnect.ConnectionInfoSize;

		if (out > size)
			out = size;
		memcpy(ConnectionInfo, msg.Data.CsrClientConnect.ConnectionInfo,
		       out);
		*ConnectionInfoSize = out;
	}
	if (cb)
		CsrFreeCaptureBuffer(cb);
	return st;
}

/* The message's pointer fields, per the capture buffer's records, moved
 * between the client's addresses and the server's view (spec 12.4 steps
 * 3 and 5). */
static void fix_up(PCSR_API_MESSAGE m, PCSR_CAPTURE_BUFFER cb, bool to_server)
{
	intptr_t delta = csr_client.delta;

	for (ULONG i = 0; i < cb->PointerCount; i++) {
		ULONG_PTR *e = &cb->PointerOffsetsArray[i];
		uintptr_t *field;

		if (!*e)
			continue;
		if (to_server) {
			field = (uintptr_t *)*e;
			/* A NULL pointer (zero-length capture) is not
			 * recorded: the server would refuse it. */
			if (!*field) {
				*e = 0;
				continue;
			}
			*field += (uintptr_t)delta;
			*e -= (uintptr_t)m;
		} else {
			*e += (uintptr_t)m;
			field = (uintptr_t *)*e;
			*field -= (uintptr_t)delta;
		}
	}
}

NTSTATUS NTAPI CsrClientCallServer(PCSR_API_MESSAGE ApiMessage,
				   PCSR_CAPTURE_BUFFER CaptureBuffer,
				   CSR_API_NUMBER ApiNumber, ULONG DataLength)
{
	const ULONG head = CSR_API_MESSAGE_HEADER_SIZE;
	PCSR_API_MESSAGE m = ApiMessage;
	NTSTATUS st;

	if (!m)
		return STATUS_INVALID_PARAMETER;
	st = csr_client_ensure(NULL);
	if (st != STATUS_SUCCESS) {
		m->Status = st;
		return st;
	}
	if (DataLength > 0xffff - head) {
		m->Status = STATUS_INVALID_PARAMETER;
		return m->Status;
	}
	/* Spec 12.4 step 1: TotalLength covers the fixed part of the message
	 * and the per-API data; DataLength the same without the header. */
	m->Header.u1.s1.TotalLength = (CSHORT)(DataLength + head);
	m->Header.u1.s1.DataLength =
		(CSHORT)(DataLength + head - sizeof(PORT_MESSAGE));
	m->Header.u2.ZeroInit = 0;
	m->ApiNumber = ApiNumber;
	if (CaptureBuffer) {
		m->CsrCaptureData = (PCSR_CAPTURE_BUFFER)((uintptr_t)CaptureBuffer +
							  (uintptr_t)csr_client.delta);
		fix_up(m, CaptureBuffer, true);
		CaptureBuffer->BufferEnd = NULL;
	} else {
		m->CsrCaptureData = NULL;
	}
	st = NtRequestWaitReplyPort(csr_client.port, &m->Header, &m->Header);
	if (CaptureBuffer) {
		m->CsrCaptureData = CaptureBuffer;
		fix_up(m, CaptureBuffer, false);
	}
	if (st != STATUS_SUCCESS)
		m->Status = st;
	return m->Status;
}

HANDLE NTAPI CsrGetProcessId(VOID)
{
	return csr_client.server_pid;
}

VOID NTAPI CsrClientDisconnect(VOID)
{
	pthread_mutex_lock(&csr_client.lock);
	if (csr_client.port)
		NtClose(csr_client.port);
	forget_connection();
	pthread_mutex_unlock(&csr_client.lock);
}
