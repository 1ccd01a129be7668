/* SPDX-License-Identifier: MIT */
/*
 * test_csr_base.c - BASESRV (csr/basesrv.c) through the public client API
 * only, against a real csrd: per API the success path and every refusal
 * at and past its boundary, pointers that were never captured (or were
 * captured for another field), and the DLL's global state seen from
 * several threads and processes.
 *
 * Forked children cannot use Criterion's asserts: they return the number
 * of the step that failed and the parent asserts on it.
 */
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "csrt.h"

TestSuite(csr_base, .init = csrt_setup, .fini = csrt_teardown, .timeout = 30);

#define H(x) ((HANDLE)(uintptr_t)(x))

/* cr_assert_status with a note on which case failed. */
#define assert_status_at(expr, want, fmt, ...)                                 \
	do {                                                                   \
		NTSTATUS s__ = (expr);                                         \
		cr_assert_eq(s__, (NTSTATUS)(want),                            \
			     "%s: got 0x%08x, want %s (" fmt ")", #expr,       \
			     (unsigned)s__, #want, __VA_ARGS__);               \
	} while (0)
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* basesrv.c's limits, as the behaviour shows them. */
#define SHUTDOWN_LEVEL_MAX	0x4ff
#define SHUTDOWN_LEVEL_DEFAULT	0x280
#define DOS_MAX_NAMES		256
#define DOS_MAX_DEFS		32
#define DOS_MAX_NAME_CHARS	260
#define DOS_MAX_TARGET_BYTES	(1u << 20)
#define NLS_MAX_BYTES		(NLS_MAX_VALUE_CHARS * 2)

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

/* ASCII to UTF-16 (NUL-terminated) in a ring of buffers long enough for
 * the longest device name; per thread, as several threads build requests
 * at once. */
static const WCHAR *w(const char *ascii)
{
	static __thread WCHAR ring[8][DOS_MAX_NAME_CHARS + 8];
	static __thread unsigned next;
	WCHAR *out = ring[next++ % 8];
	size_t n = strlen(ascii);

	cr_assert_lt(n, DOS_MAX_NAME_CHARS + 8);
	for (size_t i = 0; i <= n; i++)
		out[i] = (unsigned char)ascii[i];
	return out;
}

/* A forked child's connection (no Criterion there). */
static NTSTATUS child_connect(void)
{
	return CsrClientConnectToServer(NULL, CSRSRV_SERVERDLL_INDEX, NULL,
					NULL, NULL);
}

static NTSTATUS base_connect_info(BASESRV_API_CONNECTINFO *ci, ULONG len)
{
	return CsrClientConnectToServer(NULL, BASESRV_SERVERDLL_INDEX, ci,
					&len, NULL);
}

static NTSTATUS base_connect(BASESRV_API_CONNECTINFO *out)
{
	BASESRV_API_CONNECTINFO ci = { .ExpectedVersion = BASESRV_VERSION };
	NTSTATUS st = base_connect_info(&ci, sizeof(ci));

	if (out)
		*out = ci;
	return st;
}

static ULONG temp_id(void)
{
	CSR_API_MESSAGE m;

	csrt_msg(&m);
	cr_assert_status(csrt_call(&m, NULL, BASESRV_GET_TEMP_FILE,
				   sizeof(BASE_GET_TEMP_FILE)),
			 STATUS_SUCCESS);
	return m.Data.GetTempFileRequest.UniqueId;
}

static NTSTATUS shutdown_set(ULONG level, ULONG flags)
{
	CSR_API_MESSAGE m;

	csrt_msg(&m);
	m.Data.ShutdownParametersRequest.ShutdownLevel = level;
	m.Data.ShutdownParametersRequest.ShutdownFlags = flags;
	return csrt_call(&m, NULL, BASESRV_SET_PROCESS_SHUTDOWN_PARAM,
			 sizeof(BASE_GETSET_PROCESS_SHUTDOWN_PARAMS));
}

static NTSTATUS shutdown_get(ULONG *level, ULONG *flags)
{
	CSR_API_MESSAGE m;
	NTSTATUS st;

	csrt_msg(&m);
	/* Garbage in: the answer must overwrite it. */
	m.Data.ShutdownParametersRequest.ShutdownLevel = 0xdeadbeef;
	m.Data.ShutdownParametersRequest.ShutdownFlags = 0xdeadbeef;
	st = csrt_call(&m, NULL, BASESRV_GET_PROCESS_SHUTDOWN_PARAM,
		       sizeof(BASE_GETSET_PROCESS_SHUTDOWN_PARAMS));
	*level = m.Data.ShutdownParametersRequest.ShutdownLevel;
	*flags = m.Data.ShutdownParametersRequest.ShutdownFlags;
	return st;
}

static void expect_shutdown(ULONG level, ULONG flags)
{
	ULONG l, f;

	cr_assert_status(shutdown_get(&l, &f), STATUS_SUCCESS);
	cr_assert_eq(l, level, "level %#x, want %#x", (unsigned)l,
		     (unsigned)level);
	cr_assert_eq(f, flags, "flags %#x, want %#x", (unsigned)f,
		     (unsigned)flags);
}

/* Bytes from a captured pointer (client address, before the call) to the
 * end of its capture buffer.  That is what csrd's validators measure
 * (spec 12.7: the rest of the buffer, not the pointer's own allocation),
 * and libcsr pads every buffer, so a boundary test must use it. */
static ULONG capture_room(PCSR_CAPTURE_BUFFER cb, const void *ptr)
{
	return (ULONG)((const char *)cb + cb->Size - (const char *)ptr);
}

/* BasepNlsSetUserInfo with cap bytes of buf captured for pData and
 * DataLength len. */
static NTSTATUS nls_set_raw(ULONG lctype, const void *buf, ULONG cap,
			    ULONG len)
{
	PCSR_CAPTURE_BUFFER cb;
	CSR_API_MESSAGE m;
	NTSTATUS st;

	csrt_msg(&m);
	cb = CsrAllocateCaptureBuffer(1, cap);
	cr_assert_not_null(cb);
	CsrCaptureMessageBuffer(cb, (PVOID)buf, cap,
				(PVOID *)&m.Data.NlsSetUserInfo.pData);
	m.Data.NlsSetUserInfo.LCType = lctype;
	m.Data.NlsSetUserInfo.DataLength = len;
	st = csrt_call(&m, cb, BASESRV_NLS_SET_USER_INFO,
		       sizeof(BASE_NLS_SET_USER_INFO));
	CsrFreeCaptureBuffer(cb);
	return st;
}

/* "abc" captured, with DataLength reaching extra bytes past the end of
 * the capture buffer. */
static NTSTATUS nls_set_to_end(int extra)
{
	PCSR_CAPTURE_BUFFER cb;
	CSR_API_MESSAGE m;
	NTSTATUS st;

	csrt_msg(&m);
	cb = CsrAllocateCaptureBuffer(1, 8);
	cr_assert_not_null(cb);
	CsrCaptureMessageBuffer(cb, u"abc", 8,
				(PVOID *)&m.Data.NlsSetUserInfo.pData);
	m.Data.NlsSetUserInfo.LCType = LOCALE_SLIST;
	m.Data.NlsSetUserInfo.DataLength =
		capture_room(cb, m.Data.NlsSetUserInfo.pData) + extra;
	cr_assert_leq(m.Data.NlsSetUserInfo.DataLength, NLS_MAX_BYTES);
	st = csrt_call(&m, cb, BASESRV_NLS_SET_USER_INFO,
		       sizeof(BASE_NLS_SET_USER_INFO));
	CsrFreeCaptureBuffer(cb);
	return st;
}

/* An ASCII value with its NUL, captured exactly. */
static NTSTATUS nls_set(ULONG lctype, const char *ascii)
{
	ULONG len = (ULONG)(strlen(ascii) + 1) * 2;

	return nls_set_raw(lctype, w(ascii), len, len);
}

/* BasepNlsGetUserInfo with cap bytes captured for NlsUserInfo and
 * SizeOfNlsUserInfo size; *room (if given) gets capture_room. */
static NTSTATUS nls_get_raw(NLS_USER_INFO *out, ULONG cap, ULONG size,
			    ULONG *room)
{
	PCSR_CAPTURE_BUFFER cb;
	CSR_API_MESSAGE m;
	NTSTATUS st;

	csrt_msg(&m);
	cb = CsrAllocateCaptureBuffer(1, cap);
	cr_assert_not_null(cb);
	CsrAllocateMessagePointer(cb, cap,
				  (PVOID *)&m.Data.NlsGetUserInfo.NlsUserInfo);
	cr_assert_not_null(m.Data.NlsGetUserInfo.NlsUserInfo);
	if (room)
		*room = capture_room(cb, m.Data.NlsGetUserInfo.NlsUserInfo);
	memset(m.Data.NlsGetUserInfo.NlsUserInfo, 0xa5, cap);
	m.Data.NlsGetUserInfo.SizeOfNlsUserInfo = size;
	st = csrt_call(&m, cb, BASESRV_NLS_GET_USER_INFO,
		       sizeof(BASE_NLS_GET_USER_INFO));
	if (out)
		memcpy(out, m.Data.NlsGetUserInfo.NlsUserInfo,
		       cap < sizeof(*out) ? cap : sizeof(*out));
	CsrFreeCaptureBuffer(cb);
	return st;
}

static void nls_get(NLS_USER_INFO *out)
{
	cr_assert_status(nls_get_raw(out, sizeof(*out), sizeof(*out), NULL),
			 STATUS_SUCCESS);
}

/* A UNICODE_STRING argument of BasepDefineDosDevice, described in full so
 * that tests can make it inconsistent. */
struct ustr_spec {
	const WCHAR *data;	/* NULL: no Buffer */
	ULONG cap;		/* bytes captured for Buffer (0: none) */
	USHORT len, max;
	bool uncaptured;	/* Buffer = data, a client address */
	/* Length = MaximumLength = the room from Buffer to the end of the
	 * capture buffer, plus extra. */
	bool to_end;
	int extra;
};

/* The spec of an ASCII string (NULL: empty, no Buffer), captured. */
static struct ustr_spec us(const char *ascii)
{
	struct ustr_spec s = { 0 };
	size_t n = ascii ? strlen(ascii) : 0;

	if (!n)
		return s;
	s.data = w(ascii);
	s.len = (USHORT)(n * 2);
	s.max = s.len;
	s.cap = s.len;
	return s;
}

/* The same from a UTF-16 array of n chars. */
static struct ustr_spec usw(const WCHAR *w, size_t n)
{
	struct ustr_spec s = {
		.data = w, .len = (USHORT)(n * 2), .max = (USHORT)(n * 2),
		.cap = (ULONG)(n * 2),
	};

	return s;
}

static void ustr_fill(PCSR_CAPTURE_BUFFER cb, UNICODE_STRING *u,
		      const struct ustr_spec *s)
{
	u->Length = s->len;
	u->MaximumLength = s->max;
	u->Buffer = NULL;
	if (s->uncaptured)
		u->Buffer = (PWSTR)s->data;
	else if (s->cap)
		CsrCaptureMessageBuffer(cb, (PVOID)s->data, s->cap,
					(PVOID *)&u->Buffer);
}

/* The to_end strings, once every argument has its place. */
static void ustr_to_end(PCSR_CAPTURE_BUFFER cb, UNICODE_STRING *u,
			const struct ustr_spec *s)
{
	if (!s->to_end)
		return;
	cr_assert_not_null(u->Buffer);
	u->Length = (USHORT)(capture_room(cb, u->Buffer) + s->extra);
	u->MaximumLength = u->Length;
}

static NTSTATUS ddd_raw(ULONG flags, struct ustr_spec name,
			struct ustr_spec target)
{
	PCSR_CAPTURE_BUFFER cb;
	CSR_API_MESSAGE m;
	NTSTATUS st;

	csrt_msg(&m);
	cb = CsrAllocateCaptureBuffer(2, name.cap + target.cap + 8);
	cr_assert_not_null(cb);
	m.Data.DefineDosDeviceRequest.Flags = flags;
	ustr_fill(cb, &m.Data.DefineDosDeviceRequest.DeviceName, &name);
	ustr_fill(cb, &m.Data.DefineDosDeviceRequest.TargetPath, &target);
	ustr_to_end(cb, &m.Data.DefineDosDeviceRequest.DeviceName, &name);
	ustr_to_end(cb, &m.Data.DefineDosDeviceRequest.TargetPath, &target);
	st = csrt_call(&m, cb, BASESRV_DEFINE_DOS_DEVICE,
		       sizeof(BASE_DEFINE_DOS_DEVICE));
	CsrFreeCaptureBuffer(cb);
	return st;
}

static NTSTATUS ddd(ULONG flags, const char *name, const char *target)
{
	return ddd_raw(flags, us(name), us(target));
}

/* Remove definitions of name until none is left; returns how many went. */
static int ddd_drain(const char *name)
{
	int n = 0;
	NTSTATUS st;

	while ((st = ddd(DDD_REMOVE_DEFINITION, name, NULL)) ==
	       STATUS_SUCCESS)
		n++;
	cr_assert_status(st, STATUS_OBJECT_NAME_NOT_FOUND);
	return n;
}

/* Run fn in a csrt_child and assert that no step failed. */
#define expect_child(fn, arg)                                                  \
	do {                                                                   \
		int rc__ = csrt_child(fn, arg);                                \
		cr_assert_eq(rc__, 0, "%s failed at step %d", #fn, rc__);      \
	} while (0)

static void sleeper(void *arg)
{
	(void)arg;
	lpct_child_enter();
	for (;;)
		pause();
}

static NTSTATUS create_process(HANDLE pid, HANDLE tid)
{
	CSR_API_MESSAGE m;

	csrt_msg(&m);
	m.Data.CreateProcessRequest.ClientId.UniqueProcess = pid;
	m.Data.CreateProcessRequest.ClientId.UniqueThread = tid;
	return csrt_call(&m, NULL, BASESRV_CREATE_PROCESS,
			 sizeof(BASE_CREATE_PROCESS));
}

static NTSTATUS create_thread(HANDLE pid, HANDLE tid)
{
	CSR_API_MESSAGE m;

	csrt_msg(&m);
	m.Data.CreateThreadRequest.ClientId.UniqueProcess = pid;
	m.Data.CreateThreadRequest.ClientId.UniqueThread = tid;
	return csrt_call(&m, NULL, BASESRV_CREATE_THREAD,
			 sizeof(BASE_CREATE_THREAD));
}

/* ------------------------------------------------------------------ */
/* Connection                                                          */
/* ------------------------------------------------------------------ */

Test(csr_base, connect_fills_info)
{
	BASESRV_API_CONNECTINFO ci = {
		.DebugFlags = 0, .ExpectedVersion = BASESRV_VERSION,
		.TempFileCounter = 0xdeadbeef, .SessionId = 0xdeadbeef,
	};

	csrt_connect();
	cr_assert_status(base_connect_info(&ci, sizeof(ci)), STATUS_SUCCESS);
	cr_assert_eq(ci.SessionId, 0);
	cr_assert_eq(ci.ExpectedVersion, BASESRV_VERSION);
	/* The counter is the id the next BasepGetTempFile hands out (this
	 * process is csrd's only client). */
	cr_assert_neq(ci.TempFileCounter, 0);
	cr_assert_eq(temp_id(), ci.TempFileCounter);
	cr_assert_status(base_connect(&ci), STATUS_SUCCESS);
	cr_assert_eq(temp_id(), ci.TempFileCounter);
}

Test(csr_base, connect_refuses_bad_info)
{
	struct {
		BASESRV_API_CONNECTINFO ci;
		ULONG extra;
	} big = { .ci = { .ExpectedVersion = BASESRV_VERSION } };
	BASESRV_API_CONNECTINFO ci = { .ExpectedVersion = BASESRV_VERSION };
	ULONG len = 0;

	csrt_connect();
	/* Sizes either side of the structure's. */
	cr_assert_status(base_connect_info(&ci, sizeof(ci) - 4),
			 STATUS_INVALID_PARAMETER);
	cr_assert_status(base_connect_info(&ci, sizeof(ci) - 1),
			 STATUS_INVALID_PARAMETER);
	cr_assert_status(base_connect_info(&big.ci, sizeof(big)),
			 STATUS_INVALID_PARAMETER);
	cr_assert_status(CsrClientConnectToServer(NULL,
						  BASESRV_SERVERDLL_INDEX,
						  NULL, &len, NULL),
			 STATUS_INVALID_PARAMETER);
	/* Versions either side of BASESRV_VERSION. */
	ci.ExpectedVersion = BASESRV_VERSION + 1;
	cr_assert_status(base_connect_info(&ci, sizeof(ci)),
			 STATUS_REVISION_MISMATCH);
	ci.ExpectedVersion = BASESRV_VERSION - 1;
	cr_assert_status(base_connect_info(&ci, sizeof(ci)),
			 STATUS_REVISION_MISMATCH);
	ci.ExpectedVersion = 0;
	cr_assert_status(base_connect_info(&ci, sizeof(ci)),
			 STATUS_REVISION_MISMATCH);
	/* None of that broke the DLL. */
	cr_assert_status(base_connect(NULL), STATUS_SUCCESS);
}

/* ------------------------------------------------------------------ */
/* BasepGetTempFile                                                    */
/* ------------------------------------------------------------------ */

Test(csr_base, temp_file_ids_count_up_from_one)
{
	csrt_connect();
	/* A fresh csrd: the first id is 1, never 0. */
	cr_assert_eq(temp_id(), 1);
	cr_assert_eq(temp_id(), 2);
	cr_assert_eq(temp_id(), 3);
}

#define TEMP_THREADS 8
#define TEMP_PER_THREAD 250

struct temp_worker {
	ULONG ids[TEMP_PER_THREAD];
	NTSTATUS st;
};

static void *temp_thread(void *arg)
{
	struct temp_worker *w = arg;
	CSR_API_MESSAGE m;

	for (int i = 0; i < TEMP_PER_THREAD; i++) {
		csrt_msg(&m);
		w->st = csrt_call(&m, NULL, BASESRV_GET_TEMP_FILE,
				  sizeof(BASE_GET_TEMP_FILE));
		if (w->st != STATUS_SUCCESS)
			break;
		w->ids[i] = m.Data.GetTempFileRequest.UniqueId;
	}
	return NULL;
}

static int cmp_ulong(const void *a, const void *b)
{
	ULONG x = *(const ULONG *)a, y = *(const ULONG *)b;

	return x < y ? -1 : x > y;
}

struct temp_proc {
	ULONG *ids;		/* shared with the child */
	int ready[2], go[2];	/* child -> parent, parent -> child */
	int status;
};

static int temp_child(void *arg)
{
	struct temp_proc *tp = arg;
	CSR_API_MESSAGE m;
	char b = 0;

	if (child_connect())
		return 1;
	/* The parent starts its threads only once this process exists, so
	 * fork() never copies a libcsr caught mid-call; then all start
	 * together. */
	if (write(tp->ready[1], &b, 1) != 1 || read(tp->go[0], &b, 1) != 1)
		return 2;
	for (int i = 0; i < TEMP_PER_THREAD; i++) {
		csrt_msg(&m);
		if (CsrClientCallServer(&m, NULL, BASESRV_GET_TEMP_FILE,
					sizeof(BASE_GET_TEMP_FILE)))
			return 3;
		tp->ids[i] = m.Data.GetTempFileRequest.UniqueId;
	}
	return 0;
}

static void *temp_child_thread(void *arg)
{
	struct temp_proc *tp = arg;

	tp->status = csrt_child(temp_child, tp);
	return NULL;
}

Test(csr_base, temp_file_ids_unique_across_threads_and_processes)
{
	static struct temp_worker wk[TEMP_THREADS];
	const size_t n = (TEMP_THREADS + 1) * TEMP_PER_THREAD;
	pthread_t t[TEMP_THREADS], pt;
	struct temp_proc tp;
	ULONG *all;
	size_t k = 0;

	csrt_connect();
	cr_assert_eq(pipe(tp.ready), 0);
	cr_assert_eq(pipe(tp.go), 0);
	/* The child's ids come back through shared memory. */
	tp.ids = mmap(NULL, TEMP_PER_THREAD * sizeof(ULONG),
		      PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1,
		      0);
	cr_assert_neq(tp.ids, MAP_FAILED);
	pt = lpct_thread(temp_child_thread, &tp);
	lpct_read_byte(tp.ready[0]);
	for (int i = 0; i < TEMP_THREADS; i++)
		t[i] = lpct_thread(temp_thread, &wk[i]);
	cr_assert_eq(write(tp.go[1], "g", 1), 1);
	for (int i = 0; i < TEMP_THREADS; i++)
		lpct_join(t[i]);
	lpct_join(pt);
	cr_assert_eq(tp.status, 0, "child failed at step %d", tp.status);
	all = calloc(n, sizeof(*all));
	cr_assert_not_null(all);
	for (int i = 0; i < TEMP_THREADS; i++) {
		cr_assert_status(wk[i].st, STATUS_SUCCESS);
		memcpy(all + k, wk[i].ids, sizeof(wk[i].ids));
		k += TEMP_PER_THREAD;
	}
	memcpy(all + k, tp.ids, TEMP_PER_THREAD * sizeof(ULONG));
	qsort(all, n, sizeof(*all), cmp_ulong);
	cr_assert_neq(all[0], 0);
	for (size_t i = 1; i < n; i++)
		cr_assert_neq(all[i], all[i - 1], "id %u handed out twice",
			      (unsigned)all[i]);
	/* Nobody else asked: exactly 1..n went out. */
	cr_assert_eq(all[0], 1);
	cr_assert_eq(all[n - 1], n);
	free(all);
	munmap(tp.ids, TEMP_PER_THREAD * sizeof(ULONG));
	for (int i = 0; i < 2; i++) {
		close(tp.ready[i]);
		close(tp.go[i]);
	}
}

/* ------------------------------------------------------------------ */
/* BasepSetProcessShutdownParam / BasepGetProcessShutdownParam         */
/* ------------------------------------------------------------------ */

Test(csr_base, shutdown_params_default_and_set)
{
	csrt_connect();
	expect_shutdown(SHUTDOWN_LEVEL_DEFAULT, 0);
	/* The highest level and the only flag. */
	cr_assert_status(shutdown_set(SHUTDOWN_LEVEL_MAX, SHUTDOWN_NORETRY),
			 STATUS_SUCCESS);
	expect_shutdown(SHUTDOWN_LEVEL_MAX, SHUTDOWN_NORETRY);
	cr_assert_status(shutdown_set(0x100, 0), STATUS_SUCCESS);
	expect_shutdown(0x100, 0);
	/* Level 0 is a value, not "never set". */
	cr_assert_status(shutdown_set(0, 0), STATUS_SUCCESS);
	expect_shutdown(0, 0);
}

Test(csr_base, shutdown_params_refused)
{
	csrt_connect();
	cr_assert_status(shutdown_set(0x3ff, SHUTDOWN_NORETRY), STATUS_SUCCESS);
	/* Just past the level range, and far past it. */
	cr_assert_status(shutdown_set(SHUTDOWN_LEVEL_MAX + 1, 0),
			 STATUS_INVALID_PARAMETER);
	cr_assert_status(shutdown_set(0xffffffff, 0), STATUS_INVALID_PARAMETER);
	cr_assert_status(shutdown_set(0x80000000, 0), STATUS_INVALID_PARAMETER);
	/* Every flag bit but SHUTDOWN_NORETRY. */
	for (int b = 1; b < 32; b++)
		cr_assert_status(shutdown_set(0x200, 1u << b),
				 STATUS_INVALID_PARAMETER);
	cr_assert_status(shutdown_set(0x200, SHUTDOWN_NORETRY | 2),
			 STATUS_INVALID_PARAMETER);
	/* A refused set changes nothing. */
	expect_shutdown(0x3ff, SHUTDOWN_NORETRY);
}

static int shutdown_child(void *arg)
{
	CSR_API_MESSAGE m;

	(void)arg;
	if (child_connect())
		return 4;
	csrt_msg(&m);
	if (CsrClientCallServer(&m, NULL, BASESRV_GET_PROCESS_SHUTDOWN_PARAM,
				sizeof(BASE_GETSET_PROCESS_SHUTDOWN_PARAMS)))
		return 1;
	if (m.Data.ShutdownParametersRequest.ShutdownLevel !=
	    SHUTDOWN_LEVEL_DEFAULT)
		return 2;
	if (m.Data.ShutdownParametersRequest.ShutdownFlags)
		return 3;
	return 0;
}

Test(csr_base, shutdown_params_are_per_process)
{
	csrt_connect();
	cr_assert_status(shutdown_set(0x123, SHUTDOWN_NORETRY), STATUS_SUCCESS);
	expect_child(shutdown_child, NULL);
	expect_shutdown(0x123, SHUTDOWN_NORETRY);
}

/* ------------------------------------------------------------------ */
/* BasepExitProcess                                                    */
/* ------------------------------------------------------------------ */

static int exit_child(void *arg)
{
	CSR_API_MESSAGE m;
	BASESRV_API_CONNECTINFO ci = { .ExpectedVersion = BASESRV_VERSION };
	ULONG len = sizeof(ci);

	(void)arg;
	if (CsrClientConnectToServer(NULL, BASESRV_SERVERDLL_INDEX, &ci, &len,
				     NULL))
		return 1;
	csrt_msg(&m);
	m.Data.ShutdownParametersRequest.ShutdownLevel = 0x123;
	if (CsrClientCallServer(&m, NULL, BASESRV_SET_PROCESS_SHUTDOWN_PARAM,
				sizeof(BASE_GETSET_PROCESS_SHUTDOWN_PARAMS)))
		return 2;
	csrt_msg(&m);
	m.Data.ExitProcessRequest.uExitCode = 42;
	/* Answered before csrd forgets the process. */
	if (CsrClientCallServer(&m, NULL, BASESRV_EXIT_PROCESS,
				sizeof(BASE_EXIT_PROCESS)))
		return 3;
	/* The record goes right after the reply, and the connection with
	 * it: within a second nothing is served any more.  (csrd replies
	 * before it destroys the record, so a call that races the
	 * destruction may still be served.) */
	for (int i = 0;; i++) {
		csrt_msg(&m);
		if (CsrClientCallServer(&m, NULL, BASESRV_GET_TEMP_FILE,
					sizeof(BASE_GET_TEMP_FILE)) !=
		    STATUS_SUCCESS)
			break;
		if (i == 200)
			return 4;
		usleep(5000);
	}
	/* A new connection is a new record: the shutdown level set through
	 * the old one went with it. */
	CsrClientDisconnect();
	len = sizeof(ci);
	if (CsrClientConnectToServer(NULL, BASESRV_SERVERDLL_INDEX, &ci, &len,
				     NULL))
		return 5;
	csrt_msg(&m);
	if (CsrClientCallServer(&m, NULL, BASESRV_GET_PROCESS_SHUTDOWN_PARAM,
				sizeof(BASE_GETSET_PROCESS_SHUTDOWN_PARAMS)))
		return 6;
	if (m.Data.ShutdownParametersRequest.ShutdownLevel !=
	    SHUTDOWN_LEVEL_DEFAULT)
		return 7;
	return 0;
}

Test(csr_base, exit_process_forgets_the_process)
{
	csrt_connect();
	expect_child(exit_child, NULL);
	/* The server is fine, and so is this process's record. */
	cr_assert_status(shutdown_set(0x300, 0), STATUS_SUCCESS);
	expect_shutdown(0x300, 0);
}

/* ------------------------------------------------------------------ */
/* BasepNlsSetUserInfo / BasepNlsGetUserInfo                           */
/* ------------------------------------------------------------------ */

Test(csr_base, nls_defaults)
{
	NLS_USER_INFO n;

	csrt_connect();
	nls_get(&n);
	cr_assert(csrt_weq(n.sDecimal, "."));
	cr_assert(csrt_weq(n.sThousand, ","));
	cr_assert(csrt_weq(n.sList, ";"));
	cr_assert(csrt_weq(n.sTimeFormat, "HH:mm:ss"));
	cr_assert(csrt_weq(n.sShortDate, "M/d/yyyy"));
	cr_assert(csrt_weq(n.sLongDate, "dddd, MMMM d, yyyy"));
	cr_assert(csrt_weq(n.sCurrency, "$"));
	cr_assert_eq(n.UserLocaleId, 0x409);
	cr_assert_eq(n.ulCacheUpdateCount, 0);
}

Test(csr_base, nls_set_every_lctype)
{
	static const struct {
		ULONG lctype;
		const char *value;
		size_t off;
	} f[] = {
		{ LOCALE_SDECIMAL, ",", offsetof(NLS_USER_INFO, sDecimal) },
		{ LOCALE_STHOUSAND, ".", offsetof(NLS_USER_INFO, sThousand) },
		{ LOCALE_SLIST, "|", offsetof(NLS_USER_INFO, sList) },
		{ LOCALE_STIMEFORMAT, "H.mm", offsetof(NLS_USER_INFO,
						       sTimeFormat) },
		{ LOCALE_SSHORTDATE, "dd.MM.yy", offsetof(NLS_USER_INFO,
							  sShortDate) },
		{ LOCALE_SLONGDATE, "d MMMM yyyy", offsetof(NLS_USER_INFO,
							    sLongDate) },
		{ LOCALE_SCURRENCY, "EUR", offsetof(NLS_USER_INFO,
						    sCurrency) },
	};
	NLS_USER_INFO n;

	csrt_connect();
	for (size_t i = 0; i < ARRAY_SIZE(f); i++) {
		cr_assert_status(nls_set(f[i].lctype, f[i].value),
				 STATUS_SUCCESS);
		nls_get(&n);
		cr_assert(csrt_weq((const WCHAR *)((const char *)&n +
						   f[i].off), f[i].value),
			  "LCType %#x", (unsigned)f[i].lctype);
		cr_assert_eq(n.ulCacheUpdateCount, i + 1);
	}
	/* Each set touched only its own field. */
	for (size_t i = 0; i < ARRAY_SIZE(f); i++)
		cr_assert(csrt_weq((const WCHAR *)((const char *)&n +
						   f[i].off), f[i].value));
	cr_assert_eq(n.UserLocaleId, 0x409);
	/* A shorter value leaves nothing of the longer one behind. */
	cr_assert_status(nls_set(LOCALE_SLONGDATE, "y"), STATUS_SUCCESS);
	nls_get(&n);
	cr_assert(csrt_weq(n.sLongDate, "y"));
	for (int i = 2; i < NLS_MAX_VALUE_CHARS; i++)
		cr_assert_eq(n.sLongDate[i], 0);
}

Test(csr_base, nls_set_data_length_bounds)
{
	WCHAR v[NLS_MAX_VALUE_CHARS + 2];
	NLS_USER_INFO n;

	csrt_connect();
	for (size_t i = 0; i < ARRAY_SIZE(v); i++)
		v[i] = 'a' + i % 26;
	/* Exactly the maximum: 79 chars and the NUL. */
	v[NLS_MAX_VALUE_CHARS - 1] = 0;
	cr_assert_status(nls_set_raw(LOCALE_SLONGDATE, v, NLS_MAX_BYTES,
				     NLS_MAX_BYTES),
			 STATUS_SUCCESS);
	nls_get(&n);
	cr_assert_eq(memcmp(n.sLongDate, v, NLS_MAX_BYTES), 0);
	/* One char more. */
	v[NLS_MAX_VALUE_CHARS - 1] = 'x';
	v[NLS_MAX_VALUE_CHARS] = 0;
	cr_assert_status(nls_set_raw(LOCALE_SLONGDATE, v, NLS_MAX_BYTES + 2,
				     NLS_MAX_BYTES + 2),
			 STATUS_INVALID_PARAMETER);
	/* The minimum: the NUL alone, an empty value. */
	cr_assert_status(nls_set_raw(LOCALE_SLIST, u"", 2, 2), STATUS_SUCCESS);
	nls_get(&n);
	cr_assert_eq(n.sList[0], 0);
	cr_assert_eq(n.ulCacheUpdateCount, 2);
	/* Below it, and odd lengths. */
	cr_assert_status(nls_set_raw(LOCALE_SLIST, u"ab", 6, 0),
			 STATUS_INVALID_PARAMETER);
	cr_assert_status(nls_set_raw(LOCALE_SLIST, u"ab", 6, 1),
			 STATUS_INVALID_PARAMETER);
	cr_assert_status(nls_set_raw(LOCALE_SLIST, u"ab", 6, 3),
			 STATUS_INVALID_PARAMETER);
	cr_assert_status(nls_set_raw(LOCALE_SLIST, u"ab", 6, 5),
			 STATUS_INVALID_PARAMETER);
	cr_assert_status(nls_set_raw(LOCALE_SLIST, u"ab", 6, 0xffffffff),
			 STATUS_INVALID_PARAMETER);
	cr_assert_status(nls_set_raw(LOCALE_SLIST, u"ab", 6, 0xfffffffe),
			 STATUS_INVALID_PARAMETER);
	/* No NUL within DataLength, though the buffer has one after it. */
	cr_assert_status(nls_set_raw(LOCALE_SLIST, u"ab", 6, 4),
			 STATUS_INVALID_PARAMETER);
	/* A NUL before DataLength ends the value. */
	cr_assert_status(nls_set_raw(LOCALE_SLIST, u"a\0b", 8, 8),
			 STATUS_SUCCESS);
	nls_get(&n);
	cr_assert(csrt_weq(n.sList, "a"));
	cr_assert_eq(n.ulCacheUpdateCount, 3);
}

Test(csr_base, nls_set_refuses_bad_lctype_and_pointers)
{
	static const ULONG bad[] = {
		0, 1, 0xd, 0x10, 0x1e, 0x21, 0x1002, 0x1004,
		LOCALE_SLIST | 0x80000000, 0xffffffff,
	};
	PCSR_CAPTURE_BUFFER cb;
	CSR_API_MESSAGE m;
	WCHAR local[4] = { 'x', 0 };
	NLS_USER_INFO n;

	csrt_connect();
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		assert_status_at(nls_set(bad[i], "x"),
				 STATUS_INVALID_PARAMETER, "LCType %#x",
				 (unsigned)bad[i]);
	/* Captured, but fewer bytes than DataLength: one char past the
	 * capture buffer's end, and well past it. */
	cr_assert_status(nls_set_to_end(2), STATUS_INVALID_PARAMETER);
	cr_assert_status(nls_set_to_end(4), STATUS_INVALID_PARAMETER);
	cr_assert_status(nls_set_raw(LOCALE_SLIST, local, 8, NLS_MAX_BYTES),
			 STATUS_INVALID_PARAMETER);

	/* A client address that was never captured, with no capture
	 * buffer at all... */
	csrt_msg(&m);
	m.Data.NlsSetUserInfo.LCType = LOCALE_SLIST;
	m.Data.NlsSetUserInfo.pData = local;
	m.Data.NlsSetUserInfo.DataLength = 4;
	cr_assert_status(csrt_call(&m, NULL, BASESRV_NLS_SET_USER_INFO,
				   sizeof(BASE_NLS_SET_USER_INFO)),
			 STATUS_INVALID_PARAMETER);
	/* ...NULL... */
	csrt_msg(&m);
	m.Data.NlsSetUserInfo.LCType = LOCALE_SLIST;
	m.Data.NlsSetUserInfo.DataLength = 4;
	cr_assert_status(csrt_call(&m, NULL, BASESRV_NLS_SET_USER_INFO,
				   sizeof(BASE_NLS_SET_USER_INFO)),
			 STATUS_INVALID_PARAMETER);
	/* ...or inside a capture buffer, but captured for another slot of
	 * the message (the last word of Data), so never rebased. */
	csrt_msg(&m);
	cb = CsrAllocateCaptureBuffer(1, 8);
	cr_assert_not_null(cb);
	CsrCaptureMessageBuffer(cb, local, 8,
				(PVOID *)&m.Data.ApiMessageData[38]);
	m.Data.NlsSetUserInfo.LCType = LOCALE_SLIST;
	m.Data.NlsSetUserInfo.pData = (PWSTR)m.Data.ApiMessageData[38];
	m.Data.NlsSetUserInfo.DataLength = 4;
	cr_assert_status(csrt_call(&m, cb, BASESRV_NLS_SET_USER_INFO,
				   sizeof(m.Data)),
			 STATUS_INVALID_PARAMETER);
	CsrFreeCaptureBuffer(cb);

	/* Nothing was set. */
	nls_get(&n);
	cr_assert(csrt_weq(n.sList, ";"));
	cr_assert_eq(n.ulCacheUpdateCount, 0);
	/* Up to the end exactly is captured. */
	cr_assert_status(nls_set_to_end(0), STATUS_SUCCESS);
	nls_get(&n);
	cr_assert(csrt_weq(n.sList, "abc"));
	cr_assert_eq(n.ulCacheUpdateCount, 1);
}

Test(csr_base, nls_get_refuses_bad_size_and_pointers)
{
	const ULONG size = sizeof(NLS_USER_INFO);
	NLS_USER_INFO local, n;
	CSR_API_MESSAGE m;
	int fits = 0, short_ = 0;

	csrt_connect();
	/* SizeOfNlsUserInfo either side of the structure's, with enough
	 * captured for both. */
	cr_assert_status(nls_get_raw(NULL, size + 8, size - 1, NULL),
			 STATUS_INVALID_PARAMETER);
	cr_assert_status(nls_get_raw(NULL, size + 8, size + 1, NULL),
			 STATUS_INVALID_PARAMETER);
	cr_assert_status(nls_get_raw(NULL, size + 8, size + 4, NULL),
			 STATUS_INVALID_PARAMETER);
	cr_assert_status(nls_get_raw(NULL, size + 8, 0, NULL),
			 STATUS_INVALID_PARAMETER);
	cr_assert_status(nls_get_raw(NULL, size + 8, 0xffffffff, NULL),
			 STATUS_INVALID_PARAMETER);
	/* The right size, with less and less captured: refused exactly
	 * when the room to the capture buffer's end falls short of it. */
	for (ULONG cap = size - 32; cap <= size; cap += 4) {
		ULONG room;
		NTSTATUS st = nls_get_raw(&n, cap, size, &room);

		if (room >= size) {
			assert_status_at(st, STATUS_SUCCESS, "room %u",
					 (unsigned)room);
			cr_assert(csrt_weq(n.sDecimal, "."));
			fits++;
		} else {
			assert_status_at(st, STATUS_INVALID_PARAMETER,
					 "room %u", (unsigned)room);
			short_++;
		}
	}
	cr_assert(fits && short_, "the boundary was not crossed");

	/* Never captured: a client address, then NULL.  The local copy must
	 * stay untouched. */
	memset(&local, 0x5a, sizeof(local));
	csrt_msg(&m);
	m.Data.NlsGetUserInfo.NlsUserInfo = &local;
	m.Data.NlsGetUserInfo.SizeOfNlsUserInfo = size;
	cr_assert_status(csrt_call(&m, NULL, BASESRV_NLS_GET_USER_INFO,
				   sizeof(BASE_NLS_GET_USER_INFO)),
			 STATUS_INVALID_PARAMETER);
	cr_assert_eq(local.UserLocaleId, 0x5a5a5a5a);
	csrt_msg(&m);
	m.Data.NlsGetUserInfo.SizeOfNlsUserInfo = size;
	cr_assert_status(csrt_call(&m, NULL, BASESRV_NLS_GET_USER_INFO,
				   sizeof(BASE_NLS_GET_USER_INFO)),
			 STATUS_INVALID_PARAMETER);
}

static int nls_child(void *arg)
{
	PCSR_CAPTURE_BUFFER cb;
	CSR_API_MESSAGE m;
	NLS_USER_INFO *n;

	(void)arg;
	if (child_connect())
		return 7;
	cb = CsrAllocateCaptureBuffer(1, sizeof(*n));
	if (!cb)
		return 1;
	csrt_msg(&m);
	CsrAllocateMessagePointer(cb, sizeof(*n),
				  (PVOID *)&m.Data.NlsGetUserInfo.NlsUserInfo);
	m.Data.NlsGetUserInfo.SizeOfNlsUserInfo = sizeof(*n);
	if (CsrClientCallServer(&m, cb, BASESRV_NLS_GET_USER_INFO,
				sizeof(BASE_NLS_GET_USER_INFO)))
		return 2;
	n = m.Data.NlsGetUserInfo.NlsUserInfo;
	if (!csrt_weq(n->sCurrency, "CHF"))
		return 3;
	if (n->ulCacheUpdateCount != 1)
		return 4;
	CsrFreeCaptureBuffer(cb);
	/* And the other way round. */
	cb = CsrAllocateCaptureBuffer(1, 8);
	if (!cb)
		return 5;
	csrt_msg(&m);
	CsrCaptureMessageBuffer(cb, u"kr", 6,
				(PVOID *)&m.Data.NlsSetUserInfo.pData);
	m.Data.NlsSetUserInfo.LCType = LOCALE_SCURRENCY;
	m.Data.NlsSetUserInfo.DataLength = 6;
	if (CsrClientCallServer(&m, cb, BASESRV_NLS_SET_USER_INFO,
				sizeof(BASE_NLS_SET_USER_INFO)))
		return 6;
	CsrFreeCaptureBuffer(cb);
	return 0;
}

Test(csr_base, nls_settings_are_system_wide)
{
	NLS_USER_INFO n;

	csrt_connect();
	cr_assert_status(nls_set(LOCALE_SCURRENCY, "CHF"), STATUS_SUCCESS);
	expect_child(nls_child, NULL);
	nls_get(&n);
	cr_assert(csrt_weq(n.sCurrency, "kr"));
	cr_assert_eq(n.ulCacheUpdateCount, 2);
}

/* ------------------------------------------------------------------ */
/* BasepDefineDosDevice                                                */
/* ------------------------------------------------------------------ */

Test(csr_base, dos_device_define_and_remove_most_recent)
{
	csrt_connect();
	/* Nothing defined yet. */
	cr_assert_status(ddd(DDD_REMOVE_DEFINITION, "X:", NULL),
			 STATUS_OBJECT_NAME_NOT_FOUND);
	cr_assert_status(ddd(0, "X:", "\\Device\\A"), STATUS_SUCCESS);
	cr_assert_status(ddd(0, "x:", "\\Device\\B"), STATUS_SUCCESS);
	cr_assert_status(ddd(DDD_RAW_TARGET_PATH | DDD_NO_BROADCAST_SYSTEM,
			     "X:", "\\Device\\C"),
			 STATUS_SUCCESS);
	/* Pops C (most recent), then an exact remove of C finds nothing. */
	cr_assert_status(ddd(DDD_REMOVE_DEFINITION, "x:", NULL),
			 STATUS_SUCCESS);
	cr_assert_status(ddd(DDD_REMOVE_DEFINITION | DDD_EXACT_MATCH_ON_REMOVE,
			     "X:", "\\Device\\C"),
			 STATUS_OBJECT_NAME_NOT_FOUND);
	/* A stays under B: exact remove of A (any case) works once. */
	cr_assert_status(ddd(DDD_REMOVE_DEFINITION | DDD_EXACT_MATCH_ON_REMOVE,
			     "X:", "\\DEVICE\\a"),
			 STATUS_SUCCESS);
	cr_assert_status(ddd(DDD_REMOVE_DEFINITION | DDD_EXACT_MATCH_ON_REMOVE,
			     "X:", "\\Device\\A"),
			 STATUS_OBJECT_NAME_NOT_FOUND);
	/* B is the last one. */
	cr_assert_status(ddd(DDD_REMOVE_DEFINITION | DDD_EXACT_MATCH_ON_REMOVE,
			     "X:", "\\Device\\B"),
			 STATUS_SUCCESS);
	cr_assert_status(ddd(DDD_REMOVE_DEFINITION, "X:", NULL),
			 STATUS_OBJECT_NAME_NOT_FOUND);
}

Test(csr_base, dos_device_remove_counts_match_defines)
{
	static const char *const names[] = { "COM5", "LPT1", "A:", "$x_y-z:" };
	char target[32];

	csrt_connect();
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		for (size_t j = 0; j <= i + 1; j++) {
			snprintf(target, sizeof(target), "\\Device\\T%zu", j);
			cr_assert_status(ddd(0, names[i], target),
					 STATUS_SUCCESS);
		}
	/* Names do not share definitions, whatever their case. */
	cr_assert_eq(ddd_drain("lpt1"), 3);
	cr_assert_eq(ddd_drain("com5"), 2);
	cr_assert_eq(ddd_drain("$X_Y-Z:"), 5);
	cr_assert_eq(ddd_drain("a:"), 4);
	cr_assert_eq(ddd_drain("COM5"), 0);
}

Test(csr_base, dos_device_remove_by_prefix_and_exact)
{
	csrt_connect();
	cr_assert_status(ddd(0, "D:", "\\Device\\Harddisk1\\Partition1"),
			 STATUS_SUCCESS);
	cr_assert_status(ddd(0, "D:", "\\Device\\Floppy0"), STATUS_SUCCESS);
	cr_assert_status(ddd(0, "D:", "\\Device\\Harddisk1"), STATUS_SUCCESS);
	/* An exact match needs the whole target: a prefix is not one. */
	cr_assert_status(ddd(DDD_REMOVE_DEFINITION | DDD_EXACT_MATCH_ON_REMOVE,
			     "D:", "\\Device\\Hard"),
			 STATUS_OBJECT_NAME_NOT_FOUND);
	/* Nor is a longer string, for either kind of remove. */
	cr_assert_status(ddd(DDD_REMOVE_DEFINITION | DDD_EXACT_MATCH_ON_REMOVE,
			     "D:", "\\Device\\Floppy01"),
			 STATUS_OBJECT_NAME_NOT_FOUND);
	cr_assert_status(ddd(DDD_REMOVE_DEFINITION, "D:", "\\Device\\Floppy01"),
			 STATUS_OBJECT_NAME_NOT_FOUND);
	/* An exact remove with no target matches nothing (no definition
	 * is empty). */
	cr_assert_status(ddd(DDD_REMOVE_DEFINITION | DDD_EXACT_MATCH_ON_REMOVE,
			     "D:", NULL),
			 STATUS_OBJECT_NAME_NOT_FOUND);
	/* Without the flag the target is a prefix, matched from the most
	 * recent down: takes \Device\Harddisk1 first... */
	cr_assert_status(ddd(DDD_REMOVE_DEFINITION, "D:", "\\device\\hard"),
			 STATUS_SUCCESS);
	cr_assert_status(ddd(DDD_REMOVE_DEFINITION | DDD_EXACT_MATCH_ON_REMOVE,
			     "D:", "\\Device\\Harddisk1"),
			 STATUS_OBJECT_NAME_NOT_FOUND);
	/* ...then skips over Floppy0 to the partition. */
	cr_assert_status(ddd(DDD_REMOVE_DEFINITION, "D:", "\\Device\\Hard"),
			 STATUS_SUCCESS);
	cr_assert_status(ddd(DDD_REMOVE_DEFINITION, "D:", "\\Device\\Hard"),
			 STATUS_OBJECT_NAME_NOT_FOUND);
	cr_assert_status(ddd(DDD_REMOVE_DEFINITION | DDD_EXACT_MATCH_ON_REMOVE,
			     "D:", "\\Device\\Floppy0"),
			 STATUS_SUCCESS);
	cr_assert_eq(ddd_drain("D:"), 0);
}

Test(csr_base, dos_device_flags)
{
	csrt_connect();
	/* Every DDD_* bit together is a (failing) remove, not a refusal. */
	cr_assert_status(ddd(0xf, "F:", "\\Device\\F"),
			 STATUS_OBJECT_NAME_NOT_FOUND);
	/* Any other bit is refused, before the table is looked at. */
	for (int b = 4; b < 32; b++)
		assert_status_at(ddd(1u << b, "F:", "\\Device\\F"),
				 STATUS_INVALID_PARAMETER, "bit %d", b);
	cr_assert_eq(ddd_drain("F:"), 0);
	/* DDD_EXACT_MATCH_ON_REMOVE alone only defines. */
	cr_assert_status(ddd(DDD_EXACT_MATCH_ON_REMOVE, "F:", "\\Device\\F"),
			 STATUS_SUCCESS);
	cr_assert_eq(ddd_drain("F:"), 1);
	/* Defining needs a target. */
	cr_assert_status(ddd(0, "F:", NULL), STATUS_INVALID_PARAMETER);
	cr_assert_status(ddd(DDD_RAW_TARGET_PATH, "F:", NULL),
			 STATUS_INVALID_PARAMETER);
	cr_assert_eq(ddd_drain("F:"), 0);
}

Test(csr_base, dos_device_name_rules)
{
	static const char *const bad[] = {
		"A\\B", "\\", "A B", "A/B", "A.B", "A*", "A?", "\"", "<", "|",
		"\t", "%",
	};
	WCHAR wn[DOS_MAX_NAME_CHARS + 2];
	char ascii[DOS_MAX_NAME_CHARS + 2];

	csrt_connect();
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		assert_status_at(ddd(0, bad[i], "\\Device\\N"),
				 STATUS_OBJECT_NAME_INVALID, "\"%s\"", bad[i]);
	/* Empty: no Buffer, and a captured Buffer with Length 0. */
	cr_assert_status(ddd(0, NULL, "\\Device\\N"),
			 STATUS_OBJECT_NAME_INVALID);
	cr_assert_status(ddd_raw(0, (struct ustr_spec){ .data = u"AB",
							.cap = 4, .max = 4 },
				 us("\\Device\\N")),
			 STATUS_OBJECT_NAME_INVALID);
	/* Non-ASCII and an embedded NUL. */
	cr_assert_status(ddd_raw(0, usw(u"C\u00e9:", 3), us("\\Device\\N")),
			 STATUS_OBJECT_NAME_INVALID);
	cr_assert_status(ddd_raw(0, usw(u"C\0:", 3), us("\\Device\\N")),
			 STATUS_OBJECT_NAME_INVALID);
	/* The longest name, and one char more. */
	for (int i = 0; i < DOS_MAX_NAME_CHARS + 1; i++) {
		wn[i] = 'A' + i % 26;
		ascii[i] = (char)wn[i];
	}
	cr_assert_status(ddd_raw(0, usw(wn, DOS_MAX_NAME_CHARS),
				 us("\\Device\\Long")),
			 STATUS_SUCCESS);
	cr_assert_status(ddd_raw(0, usw(wn, DOS_MAX_NAME_CHARS + 1),
				 us("\\Device\\Long")),
			 STATUS_OBJECT_NAME_INVALID);
	ascii[DOS_MAX_NAME_CHARS] = 0;
	cr_assert_eq(ddd_drain(ascii), 1);
	/* Every allowed character class. */
	cr_assert_status(ddd(0, "az-AZ_09$:", "\\Device\\N"), STATUS_SUCCESS);
	cr_assert_eq(ddd_drain("AZ-az_09$:"), 1);
}

Test(csr_base, dos_device_string_checks)
{
	struct ustr_spec name = us("G:"), target = us("\\Device\\G");
	struct ustr_spec s;
	WCHAR local[] = u"\\Device\\G";

	csrt_connect();
	/* Odd Length. */
	s = name;
	s.len = 3;
	cr_assert_status(ddd_raw(0, s, target), STATUS_INVALID_PARAMETER);
	s = target;
	s.len = 7;
	cr_assert_status(ddd_raw(0, name, s), STATUS_INVALID_PARAMETER);
	/* Length past MaximumLength (by one char), and equal to it. */
	s = name;
	s.max = s.len - 2;
	cr_assert_status(ddd_raw(0, s, target), STATUS_INVALID_PARAMETER);
	s = target;
	s.max = s.len - 2;
	cr_assert_status(ddd_raw(0, name, s), STATUS_INVALID_PARAMETER);
	s = target;
	s.max = s.len + 2;
	cr_assert_status(ddd_raw(0, name, s), STATUS_SUCCESS);
	/* Length up to the capture buffer's end is captured (the name then
	 * runs into the target's bytes and the padding); a char more is
	 * not. */
	s = name;
	s.to_end = true;
	cr_assert_status(ddd_raw(0, s, target), STATUS_OBJECT_NAME_INVALID);
	s.extra = 2;
	cr_assert_status(ddd_raw(0, s, target), STATUS_INVALID_PARAMETER);
	s.extra = 0x100;
	cr_assert_status(ddd_raw(0, s, target), STATUS_INVALID_PARAMETER);
	s = target;
	s.to_end = true;
	s.extra = 2;
	cr_assert_status(ddd_raw(0, name, s), STATUS_INVALID_PARAMETER);
	cr_assert_status(ddd_raw(DDD_REMOVE_DEFINITION, name, s),
			 STATUS_INVALID_PARAMETER);
	s.extra = 0;
	cr_assert_status(ddd_raw(0, name, s), STATUS_SUCCESS);
	/* A Buffer that is a client address, never captured. */
	s = target;
	s.data = local;
	s.uncaptured = true;
	cr_assert_status(ddd_raw(0, name, s), STATUS_INVALID_PARAMETER);
	cr_assert_status(ddd_raw(DDD_REMOVE_DEFINITION |
					 DDD_EXACT_MATCH_ON_REMOVE,
				 name, s),
			 STATUS_INVALID_PARAMETER);
	s = name;
	s.data = u"G:";
	s.uncaptured = true;
	cr_assert_status(ddd_raw(0, s, target), STATUS_INVALID_PARAMETER);
	/* Even with Length 0: a non-NULL Buffer must be captured. */
	s = (struct ustr_spec){ .data = local, .uncaptured = true };
	cr_assert_status(ddd_raw(DDD_REMOVE_DEFINITION, name, s),
			 STATUS_INVALID_PARAMETER);
	/* Only the definition made with a valid request is there. */
	cr_assert_eq(ddd_drain("G:"), 2);
}

Test(csr_base, dos_device_buffer_captured_for_the_other_field)
{
	PCSR_CAPTURE_BUFFER cb;
	CSR_API_MESSAGE m;
	BASE_DEFINE_DOS_DEVICE *r = &m.Data.DefineDosDeviceRequest;

	csrt_connect();
	csrt_msg(&m);
	cb = CsrAllocateCaptureBuffer(1, 16);
	cr_assert_not_null(cb);
	CsrCaptureMessageBuffer(cb, u"H:", 4, (PVOID *)&r->DeviceName.Buffer);
	r->DeviceName.Length = r->DeviceName.MaximumLength = 4;
	/* Inside the capture buffer, but recorded for DeviceName only: the
	 * server sees the client's address. */
	r->TargetPath = r->DeviceName;
	cr_assert_status(csrt_call(&m, cb, BASESRV_DEFINE_DOS_DEVICE,
				   sizeof(*r)),
			 STATUS_INVALID_PARAMETER);
	CsrFreeCaptureBuffer(cb);
	cr_assert_eq(ddd_drain("H:"), 0);
}

Test(csr_base, dos_device_quota_per_name)
{
	char target[32];

	csrt_connect();
	for (int i = 0; i < DOS_MAX_DEFS; i++) {
		snprintf(target, sizeof(target), "\\Device\\Q%d", i);
		assert_status_at(ddd(0, "Q:", target), STATUS_SUCCESS,
				 "definition %d", i);
	}
	cr_assert_status(ddd(0, "Q:", "\\Device\\Over"), STATUS_QUOTA_EXCEEDED);
	/* The refused one was not pushed: the newest is still Q31. */
	cr_assert_status(ddd(DDD_REMOVE_DEFINITION | DDD_EXACT_MATCH_ON_REMOVE,
			     "Q:", "\\Device\\Over"),
			 STATUS_OBJECT_NAME_NOT_FOUND);
	cr_assert_status(ddd(DDD_REMOVE_DEFINITION | DDD_EXACT_MATCH_ON_REMOVE,
			     "Q:", "\\Device\\Q31"),
			 STATUS_SUCCESS);
	/* Room for one again. */
	cr_assert_status(ddd(0, "Q:", "\\Device\\Again"), STATUS_SUCCESS);
	cr_assert_status(ddd(0, "Q:", "\\Device\\Over"), STATUS_QUOTA_EXCEEDED);
	cr_assert_eq(ddd_drain("Q:"), DOS_MAX_DEFS);
}

Test(csr_base, dos_device_quota_names)
{
	char name[16];

	csrt_connect();
	for (int i = 0; i < DOS_MAX_NAMES; i++) {
		snprintf(name, sizeof(name), "N%d", i);
		assert_status_at(ddd(0, name, "\\Device\\N"), STATUS_SUCCESS,
				 "name %d", i);
	}
	cr_assert_status(ddd(0, "Over", "\\Device\\N"), STATUS_QUOTA_EXCEEDED);
	/* A known name still takes definitions. */
	cr_assert_status(ddd(0, "N7", "\\Device\\M"), STATUS_SUCCESS);
	/* Emptying a name frees its slot. */
	cr_assert_eq(ddd_drain("N0"), 1);
	cr_assert_status(ddd(0, "Over", "\\Device\\N"), STATUS_SUCCESS);
	cr_assert_status(ddd(0, "Over2", "\\Device\\N"), STATUS_QUOTA_EXCEEDED);
	cr_assert_eq(ddd_drain("N7"), 2);
	cr_assert_eq(ddd_drain("Over"), 1);
}

Test(csr_base, dos_device_quota_bytes)
{
	/* 16383 chars: 32766 bytes, the longest even Length under 32 KiB. */
	const size_t big = 16383, nbig = DOS_MAX_TARGET_BYTES / (big * 2);
	const size_t left = DOS_MAX_TARGET_BYTES - nbig * big * 2;
	WCHAR *wb = malloc(big * sizeof(WCHAR));
	char name[16];

	cr_assert_not_null(wb);
	csrt_connect();
	for (size_t i = 0; i < big; i++)
		wb[i] = 'a' + i % 26;
	for (size_t i = 0; i < nbig; i++) {
		snprintf(name, sizeof(name), "B%zu", i);
		assert_status_at(ddd_raw(0, us(name), usw(wb, big)),
				 STATUS_SUCCESS, "target %zu", i);
	}
	/* What is left fits exactly; one char more does not. */
	cr_assert_status(ddd_raw(0, us("Rest"), usw(wb, left / 2 + 1)),
			 STATUS_QUOTA_EXCEEDED);
	cr_assert_status(ddd_raw(0, us("Rest"), usw(wb, left / 2)),
			 STATUS_SUCCESS);
	cr_assert_status(ddd_raw(0, us("Rest"), usw(wb, 1)),
			 STATUS_QUOTA_EXCEEDED);
	/* Removing gives the bytes back. */
	cr_assert_eq(ddd_drain("B0"), 1);
	cr_assert_status(ddd_raw(0, us("B0"), usw(wb, big)), STATUS_SUCCESS);
	cr_assert_status(ddd_raw(0, us("Rest"), usw(wb, 1)),
			 STATUS_QUOTA_EXCEEDED);
	free(wb);
}

#define DDD_THREADS 6
#define DDD_ROUNDS 20

static int ddd_pushed, ddd_popped;

static void *ddd_thread(void *arg)
{
	uintptr_t id = (uintptr_t)arg;
	char name[16], target[32];
	NTSTATUS st;

	snprintf(name, sizeof(name), "T%u:", (unsigned)id);
	for (int r = 0; r < DDD_ROUNDS; r++) {
		snprintf(target, sizeof(target), "\\Device\\T%d", r);
		if (ddd(0, name, target) != STATUS_SUCCESS)
			return (void *)1;
		/* A name every thread pushes onto: some pushes find it
		 * full. */
		st = ddd(0, "Shared", target);
		if (st == STATUS_SUCCESS)
			__atomic_add_fetch(&ddd_pushed, 1, __ATOMIC_RELAXED);
		else if (st != STATUS_QUOTA_EXCEEDED)
			return (void *)2;
	}
	for (int r = DDD_ROUNDS; r-- > 0;) {
		snprintf(target, sizeof(target), "\\Device\\T%d", r);
		if (ddd(DDD_REMOVE_DEFINITION | DDD_EXACT_MATCH_ON_REMOVE, name,
			target) != STATUS_SUCCESS)
			return (void *)3;
		if (r % 2)
			continue;
		st = ddd(DDD_REMOVE_DEFINITION, "Shared", NULL);
		if (st == STATUS_SUCCESS)
			__atomic_add_fetch(&ddd_popped, 1, __ATOMIC_RELAXED);
		else if (st != STATUS_OBJECT_NAME_NOT_FOUND)
			return (void *)4;
	}
	return NULL;
}

Test(csr_base, dos_device_table_under_concurrency)
{
	pthread_t t[DDD_THREADS];

	csrt_connect();
	for (uintptr_t i = 0; i < DDD_THREADS; i++)
		t[i] = lpct_thread(ddd_thread, (void *)i);
	for (int i = 0; i < DDD_THREADS; i++) {
		void *rc = lpct_join(t[i]);

		cr_assert_null(rc, "thread %d failed at step %d", i,
			       (int)(uintptr_t)rc);
	}
	/* The table filled up (120 pushes for 32 slots), and every push
	 * that succeeded is either popped or still there. */
	cr_assert_geq(ddd_pushed, DOS_MAX_DEFS);
	cr_assert_eq(ddd_drain("Shared"), ddd_pushed - ddd_popped);
	for (int i = 0; i < DDD_THREADS; i++) {
		char name[16];

		snprintf(name, sizeof(name), "T%d:", i);
		cr_assert_eq(ddd_drain(name), 0);
	}
}

/* ------------------------------------------------------------------ */
/* BasepCreateProcess                                                  */
/* ------------------------------------------------------------------ */

Test(csr_base, create_process_registers_a_child_once)
{
	pid_t child, other;

	csrt_connect();
	child = lpct_fork(sleeper, NULL);
	other = lpct_fork(sleeper, NULL);
	cr_assert_status(create_process(H(child), H(child)), STATUS_SUCCESS);
	cr_assert_status(create_process(H(child), H(child)),
			 STATUS_OBJECT_NAME_COLLISION);
	/* A thread that is not the child's. */
	cr_assert_status(create_process(H(other), H(lpct_gettid())),
			 STATUS_INVALID_CID);
	cr_assert_status(create_process(H(other), H(other)), STATUS_SUCCESS);
	lpct_end_child(child, true);
	lpct_end_child(other, true);
}

Test(csr_base, create_process_refuses_bad_client_ids)
{
	const uintptr_t past = (uintptr_t)INT_MAX + 1;
	pid_t child;

	csrt_connect();
	child = lpct_fork(sleeper, NULL);
	/* Out of range on either side, in either field. */
	cr_assert_status(create_process(H(0), H(child)),
			 STATUS_INVALID_PARAMETER);
	cr_assert_status(create_process(H(child), H(0)),
			 STATUS_INVALID_PARAMETER);
	cr_assert_status(create_process(H(past), H(child)),
			 STATUS_INVALID_PARAMETER);
	cr_assert_status(create_process(H(child), H(past)),
			 STATUS_INVALID_PARAMETER);
	cr_assert_status(create_process(H(-1), H(-1)),
			 STATUS_INVALID_PARAMETER);
	cr_assert_status(create_process(H(0xffffffffu), H(child)),
			 STATUS_INVALID_PARAMETER);
	/* INT_MAX is in range, but above any pid_max: no such process. */
	cr_assert_status(create_process(H(INT_MAX), H(INT_MAX)),
			 STATUS_INVALID_CID);
	/* None of it registered the child. */
	cr_assert_status(create_process(H(child), H(child)), STATUS_SUCCESS);
	lpct_end_child(child, true);
}

Test(csr_base, create_process_root_may_register_anyone)
{
	csrt_connect();
	if (geteuid() != 0)
		cr_skip_test("needs root");
	/* pid 1 is nobody's child here, but root may speak for it. */
	cr_assert_status(create_process(H(1), H(1)), STATUS_SUCCESS);
	cr_assert_status(create_process(H(1), H(1)),
			 STATUS_OBJECT_NAME_COLLISION);
}

static int drop_to_nobody(void)
{
	if (setgroups(0, NULL) || setgid(LPCT_NOBODY) || setuid(LPCT_NOBODY))
		return -1;
	return 0;
}

static NTSTATUS child_create_process(pid_t pid)
{
	CSR_API_MESSAGE m;

	csrt_msg(&m);
	m.Data.CreateProcessRequest.ClientId.UniqueProcess = H(pid);
	m.Data.CreateProcessRequest.ClientId.UniqueThread = H(pid);
	return CsrClientCallServer(&m, NULL, BASESRV_CREATE_PROCESS,
				   sizeof(BASE_CREATE_PROCESS));
}

/* As nobody: pid 1 and the test's own child are not ours; our child is. */
static int nobody_registers(void *arg)
{
	pid_t strangers_child = *(pid_t *)arg, mine;
	NTSTATUS st;
	int rc = 0;

	if (drop_to_nobody())
		return 1;
	if (child_connect())
		return 7;
	if (child_create_process(1) != STATUS_ACCESS_DENIED)
		return 2;
	if (child_create_process(strangers_child) != STATUS_ACCESS_DENIED)
		return 3;
	mine = fork();
	if (mine < 0)
		return 4;
	if (mine == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		for (;;)
			pause();
	}
	st = child_create_process(mine);
	if (st != STATUS_SUCCESS)
		rc = 5;
	else if (child_create_process(mine) != STATUS_OBJECT_NAME_COLLISION)
		rc = 6;
	kill(mine, SIGKILL);
	waitpid(mine, NULL, 0);
	return rc;
}

Test(csr_base, create_process_as_non_root)
{
	pid_t child;

	if (geteuid() != 0)
		cr_skip_test("needs root to switch to uid %d", LPCT_NOBODY);
	csrt_connect();
	/* Before the child drops its privileges. */
	lpct_ns_init();
	child = lpct_fork(sleeper, NULL);
	expect_child(nobody_registers, &child);
	/* The refusals left the test's child unregistered. */
	cr_assert_status(create_process(H(child), H(child)), STATUS_SUCCESS);
	lpct_end_child(child, true);
}

/* ------------------------------------------------------------------ */
/* BasepCreateThread                                                   */
/* ------------------------------------------------------------------ */

struct idle_thread {
	int fd[2];
	pid_t tid;
	pthread_mutex_t lock;
	pthread_cond_t cond;
};

/* A thread that never calls csrd: it reports its tid and waits. */
static void *idle(void *arg)
{
	struct idle_thread *it = arg;
	char b;

	pthread_mutex_lock(&it->lock);
	it->tid = lpct_gettid();
	pthread_cond_signal(&it->cond);
	pthread_mutex_unlock(&it->lock);
	while (read(it->fd[0], &b, 1) < 0 && errno == EINTR)
		;
	return NULL;
}

Test(csr_base, create_thread_registers_own_threads_only)
{
	struct idle_thread it = {
		.lock = PTHREAD_MUTEX_INITIALIZER,
		.cond = PTHREAD_COND_INITIALIZER,
	};
	const uintptr_t past = (uintptr_t)INT_MAX + 1;
	HANDLE me = H(getpid());
	pthread_t t;
	pid_t child;

	csrt_connect();
	cr_assert_eq(pipe(it.fd), 0);
	t = lpct_thread(idle, &it);
	pthread_mutex_lock(&it.lock);
	while (!it.tid)
		pthread_cond_wait(&it.cond, &it.lock);
	pthread_mutex_unlock(&it.lock);
	child = lpct_fork(sleeper, NULL);

	cr_assert_status(create_thread(me, H(it.tid)), STATUS_SUCCESS);
	/* Known already, same thread: fine again. */
	cr_assert_status(create_thread(me, H(it.tid)), STATUS_SUCCESS);
	cr_assert_status(create_thread(me, H(lpct_gettid())), STATUS_SUCCESS);
	/* Another process, or none, in UniqueProcess. */
	cr_assert_status(create_thread(H(child), H(child)),
			 STATUS_ACCESS_DENIED);
	cr_assert_status(create_thread(H(child), H(it.tid)),
			 STATUS_ACCESS_DENIED);
	cr_assert_status(create_thread(H(0), H(it.tid)), STATUS_ACCESS_DENIED);
	cr_assert_status(create_thread(H((uintptr_t)getpid() + (1ull << 32)),
				       H(it.tid)),
			 STATUS_ACCESS_DENIED);
	/* Our pid, but another process's thread. */
	cr_assert_status(create_thread(me, H(child)), STATUS_INVALID_CID);
	/* Thread ids out of range, and in range but absent. */
	cr_assert_status(create_thread(me, H(0)), STATUS_INVALID_PARAMETER);
	cr_assert_status(create_thread(me, H(past)), STATUS_INVALID_PARAMETER);
	cr_assert_status(create_thread(me, H(-1)), STATUS_INVALID_PARAMETER);
	cr_assert_status(create_thread(me, H(INT_MAX)), STATUS_INVALID_CID);

	cr_assert_eq(write(it.fd[1], "x", 1), 1);
	lpct_join(t);
	close(it.fd[0]);
	close(it.fd[1]);
	lpct_end_child(child, true);
}

/* ------------------------------------------------------------------ */
/* The server log                                                      */
/* ------------------------------------------------------------------ */

static int exit_42_child(void *arg)
{
	CSR_API_MESSAGE m;

	(void)arg;
	if (child_connect())
		return 1;
	csrt_msg(&m);
	m.Data.ExitProcessRequest.uExitCode = 42;
	if (CsrClientCallServer(&m, NULL, BASESRV_EXIT_PROCESS,
				sizeof(BASE_EXIT_PROCESS)))
		return 2;
	return 0;
}

static void expect_log(const char *line)
{
	cr_assert_not_null(strstr(csrt_log(), line),
			   "no \"%s\" in the log:\n%s", line, csrt_log());
}

Test(csr_base, log_refusals_exits_and_the_dos_table)
{
	WCHAR t[80];
	char line[160];
	int st;

	/* This test's own csrd, at verbose level 1. */
	st = csrt_stop(csrt_server_pid());
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	csrt_start("-v", "-v", NULL);
	csrt_connect();

	/* Refusals name the API, the reason and the status. */
	cr_assert_status(shutdown_set(0x500, 0), STATUS_INVALID_PARAMETER);
	snprintf(line, sizeof(line), "pid %d tid %d "
		 "BasepSetProcessShutdownParam: ShutdownLevel 0x500 > 0x4ff "
		 "-> STATUS_INVALID_PARAMETER", (int)getpid(),
		 (int)lpct_gettid());
	expect_log(line);
	cr_assert_status(ddd(0, "A B", "\\Device\\X"),
			 STATUS_OBJECT_NAME_INVALID);
	expect_log("BasepDefineDosDevice: DeviceName char 1 is U+0020 -> "
		   "STATUS_OBJECT_NAME_INVALID");
	cr_assert_status(create_process(H(INT_MAX), H(INT_MAX)),
			 STATUS_INVALID_CID);
	expect_log("BasepCreateProcess: pid 2147483647 tid 2147483647 not "
		   "registered -> STATUS_INVALID_CID");

	/* The exit code. */
	expect_child(exit_42_child, NULL);
	expect_log("BasepExitProcess: exit code 0x0000002a");

	/* The table after each change: non-ASCII escaped, long targets
	 * cut, the newest definition first. */
	for (int i = 0; i < 79; i++)
		t[i] = 'a' + i % 26;
	t[0] = 0xe9;
	cr_assert_status(ddd_raw(DDD_RAW_TARGET_PATH, us("LOG:"), usw(t, 79)),
			 STATUS_SUCCESS);
	expect_log("BasepDefineDosDevice: table: 1 name(s), 158 target "
		   "byte(s)");
	expect_log("BasepDefineDosDevice: table: LOG: #0 -> \"\\u00e9"
		   "bcdefghijklmnopqrstuvwxyz" "abcdefghijklmnopqrstuvwxyz"
		   "abcdefghijkl...\" (raw)");
	cr_assert_status(ddd(0, "log:", "\\Device\\Second"), STATUS_SUCCESS);
	expect_log("BasepDefineDosDevice: table: LOG: #1 -> "
		   "\"\\Device\\Second\"");
	cr_assert_eq(ddd_drain("LOG:"), 2);
	expect_log("BasepDefineDosDevice: table: 0 name(s), 0 target byte(s)");
}

/* ------------------------------------------------------------------ */
/* The rest of the table, and hostile input                            */
/* ------------------------------------------------------------------ */

Test(csr_base, unimplemented_apis)
{
	/* Slots of the ws03 table basesrv.c has no handler for. */
	static const ULONG idx[] = { 0x04, 0x05, 0x0b, 0x0f, 0x10, 0x16,
				     0x19, 0x1c, 0x1d };
	CSR_API_MESSAGE m;

	csrt_connect();
	for (size_t i = 0; i < ARRAY_SIZE(idx); i++) {
		csrt_msg(&m);
		assert_status_at(csrt_call(&m, NULL,
					   CSR_MAKE_API_NUMBER(1, idx[i]),
					   sizeof(m.Data)),
				 STATUS_NOT_IMPLEMENTED, "API %#x",
				 (unsigned)idx[i]);
	}
	/* Past the table's end. */
	csrt_msg(&m);
	cr_assert_status(csrt_call(&m, NULL, CSR_MAKE_API_NUMBER(1, 0x1f),
				   sizeof(m.Data)),
			 STATUS_ILLEGAL_FUNCTION);
}

/* xorshift64: reproducible junk. */
static uint64_t junk(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

Test(csr_base, survives_junk)
{
	static const CSR_API_NUMBER apis[] = {
		BASESRV_CREATE_PROCESS, BASESRV_CREATE_THREAD,
		BASESRV_GET_TEMP_FILE, BASESRV_SET_PROCESS_SHUTDOWN_PARAM,
		BASESRV_GET_PROCESS_SHUTDOWN_PARAM, BASESRV_NLS_SET_USER_INFO,
		BASESRV_NLS_GET_USER_INFO, BASESRV_DEFINE_DOS_DEVICE,
	};
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	CSR_API_MESSAGE m;
	PCSR_CAPTURE_BUFFER cb;
	NLS_USER_INFO n;

	csrt_connect();
	for (int i = 0; i < 3000; i++) {
		CSR_API_NUMBER api = apis[junk(&seed) % ARRAY_SIZE(apis)];
		bool capture = junk(&seed) & 1;
		NTSTATUS st;

		csrt_msg(&m);
		for (size_t k = 0; k < 8; k++)
			m.Data.ApiMessageData[k] = junk(&seed);
		/* Small numbers are more interesting than random ones. */
		if (junk(&seed) & 1)
			for (size_t k = 0; k < 8; k++)
				m.Data.ApiMessageData[k] &= 0x1ff01ff;
		/* Never register real processes or threads by chance. */
		if (api == BASESRV_CREATE_PROCESS ||
		    api == BASESRV_CREATE_THREAD)
			m.Data.ApiMessageData[2] |= 0x80000000u;
		cb = NULL;
		if (capture) {
			ULONG size = (ULONG)(junk(&seed) % 512);
			ULONG_PTR *slot =
				&m.Data.ApiMessageData[junk(&seed) % 4];

			cb = CsrAllocateCaptureBuffer(1, size);
			cr_assert_not_null(cb);
			CsrAllocateMessagePointer(cb, size, (PVOID *)slot);
			if (*slot)
				memset((void *)*slot, (int)junk(&seed), size);
		}
		st = csrt_call(&m, cb, api, sizeof(m.Data));
		/* Refused or done: never a dead connection. */
		cr_assert(st == STATUS_SUCCESS || (st & 0xc0000000u) ==
							  0xc0000000u);
		cr_assert_neq(st, STATUS_PORT_DISCONNECTED);
		cr_assert_neq(st, STATUS_LPC_REPLY_LOST);
		if (cb)
			CsrFreeCaptureBuffer(cb);
	}
	/* Still serving, with sane state. */
	cr_assert_neq(temp_id(), 0);
	nls_get(&n);
	cr_assert_eq(n.UserLocaleId, 0x409);
}
