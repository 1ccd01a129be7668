/* SPDX-License-Identifier: MIT */
/*
 * CONSRV against a real csrd: console allocation, handles, titles, modes,
 * output to the console log, input and reads that wait (deferred replies),
 * and what a dying reader leaves behind.  Only the public libcsr API is
 * used; every message is built as a client would build it.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "csrt.h"

/* consrv.c's documented limits. */
#define MAX_HANDLES	64
#define MAX_WAITS	16
#define INPUT_CHARS	4096
#define IO_MAX		65536
#define TITLE_BYTES	(CONSOLE_MAX_TITLE_CHARS * 2)

/* A status no server returns: the client side of a helper failed. */
#define HELPER_FAILED ((NTSTATUS)0xdead0001)

#define H(v) ((HANDLE)(uintptr_t)(v))

/* Every test starts as a connected CSR client (children forked later
 * start disconnected and connect on their own). */
static void setup(void)
{
	csrt_setup();
	csrt_connect();
}

TestSuite(csr_console, .init = setup, .fini = csrt_teardown,
	  .timeout = 30);

/* ------------------------------------------------------------------ */
/* Calls (no Criterion asserts: forked children use them too)          */
/* ------------------------------------------------------------------ */

struct con {
	HANDLE in, out;
};

/* AllocConsole with caplen bytes of title captured and TitleLength len;
 * title NULL: nothing captured. */
static NTSTATUS alloc_raw(const void *title, ULONG caplen, ULONG len,
			  struct con *c)
{
	PCSR_CAPTURE_BUFFER cb = NULL;
	CSR_API_MESSAGE m;
	NTSTATUS st;

	csrt_msg(&m);
	if (title) {
		cb = CsrAllocateCaptureBuffer(1, caplen);
		if (!cb)
			return HELPER_FAILED;
		CsrCaptureMessageBuffer(cb, (PVOID)title, caplen,
				(PVOID *)&m.Data.AllocConsoleRequest.Title);
	}
	m.Data.AllocConsoleRequest.TitleLength = len;
	st = csrt_call(&m, cb, CONSRV_ALLOC_CONSOLE,
		       sizeof(CONSOLE_ALLOCCONSOLE));
	if (cb)
		CsrFreeCaptureBuffer(cb);
	if (c) {
		c->in = m.Data.AllocConsoleRequest.InputHandle;
		c->out = m.Data.AllocConsoleRequest.OutputHandle;
	}
	return st;
}

static NTSTATUS alloc_con(struct con *c)
{
	return alloc_raw(NULL, 0, 0, c);
}

static NTSTATUS free_con(void)
{
	CSR_API_MESSAGE m;

	csrt_msg(&m);
	return csrt_call(&m, NULL, CONSRV_FREE_CONSOLE, 0);
}

static NTSTATUS open_con(ULONG type, HANDLE *h)
{
	CSR_API_MESSAGE m;
	NTSTATUS st;

	csrt_msg(&m);
	m.Data.OpenConsoleRequest.HandleType = type;
	m.Data.OpenConsoleRequest.DesiredAccess = 0xc0000000;
	st = csrt_call(&m, NULL, CONSRV_OPEN_CONSOLE,
		       sizeof(CONSOLE_OPENCONSOLE));
	if (h)
		*h = m.Data.OpenConsoleRequest.Handle;
	return st;
}

static NTSTATUS close_con(HANDLE h)
{
	CSR_API_MESSAGE m;

	csrt_msg(&m);
	m.Data.CloseHandleRequest.Handle = h;
	return csrt_call(&m, NULL, CONSRV_CLOSE_HANDLE,
			 sizeof(CONSOLE_CLOSEHANDLE));
}

static NTSTATUS get_mode(HANDLE h, ULONG *mode)
{
	CSR_API_MESSAGE m;
	NTSTATUS st;

	csrt_msg(&m);
	m.Data.ConsoleModeRequest.Handle = h;
	m.Data.ConsoleModeRequest.Mode = 0xdeadbeef;
	st = csrt_call(&m, NULL, CONSRV_GET_MODE,
		       sizeof(CONSOLE_GETSETCONSOLEMODE));
	if (mode)
		*mode = m.Data.ConsoleModeRequest.Mode;
	return st;
}

static NTSTATUS set_mode(HANDLE h, ULONG mode)
{
	CSR_API_MESSAGE m;

	csrt_msg(&m);
	m.Data.ConsoleModeRequest.Handle = h;
	m.Data.ConsoleModeRequest.Mode = mode;
	return csrt_call(&m, NULL, CONSRV_SET_MODE,
			 sizeof(CONSOLE_GETSETCONSOLEMODE));
}

/* SetTitle: caplen bytes captured (title NULL: none), Length len. */
static NTSTATUS set_title_raw(const void *title, ULONG caplen, ULONG len)
{
	PCSR_CAPTURE_BUFFER cb = NULL;
	CSR_API_MESSAGE m;
	NTSTATUS st;

	csrt_msg(&m);
	if (title) {
		cb = CsrAllocateCaptureBuffer(1, caplen);
		if (!cb)
			return HELPER_FAILED;
		CsrCaptureMessageBuffer(cb, (PVOID)title, caplen,
					(PVOID *)&m.Data.TitleRequest.Title);
	}
	m.Data.TitleRequest.Length = len;
	st = csrt_call(&m, cb, CONSRV_SET_TITLE,
		       sizeof(CONSOLE_GETSETCONSOLETITLE));
	if (cb)
		CsrFreeCaptureBuffer(cb);
	return st;
}

static NTSTATUS set_title(const char *ascii)
{
	ULONG n = (ULONG)strlen(ascii) * 2;

	return set_title_raw(csrt_w(ascii), n, n);
}

/* GetTitle into a captured buffer of caplen bytes (prefilled with 0xAA)
 * claiming Length len; the buffer comes back in out (caplen bytes). */
static NTSTATUS get_title_raw(void *out, ULONG caplen, ULONG len,
			      ULONG *got)
{
	PCSR_CAPTURE_BUFFER cb = NULL;
	CSR_API_MESSAGE m;
	NTSTATUS st;

	csrt_msg(&m);
	if (caplen) {
		cb = CsrAllocateCaptureBuffer(1, caplen);
		if (!cb)
			return HELPER_FAILED;
		CsrAllocateMessagePointer(cb, caplen,
					  (PVOID *)&m.Data.TitleRequest.Title);
		memset(m.Data.TitleRequest.Title, 0xaa, caplen);
	}
	m.Data.TitleRequest.Length = len;
	st = csrt_call(&m, cb, CONSRV_GET_TITLE,
		       sizeof(CONSOLE_GETSETCONSOLETITLE));
	if (cb) {
		memcpy(out, m.Data.TitleRequest.Title, caplen);
		CsrFreeCaptureBuffer(cb);
	}
	if (got)
		*got = m.Data.TitleRequest.Length;
	return st;
}

/*
 * The three I/O calls share a layout (handle, buffer, NumBytes, Unicode).
 * caplen bytes of data are captured (data NULL: none captured, or just
 * allocated when out is given); NumBytes is numbytes.  For a read, out
 * gets what came back (caplen bytes).  *nb gets NumBytes from the reply.
 */
static NTSTATUS io_raw(CSR_API_NUMBER api, HANDLE h, const void *data,
		       ULONG caplen, ULONG numbytes, bool unicode, void *out,
		       ULONG *nb)
{
	PCSR_CAPTURE_BUFFER cb = NULL;
	CSR_API_MESSAGE m;
	PVOID *field;
	NTSTATUS st;

	csrt_msg(&m);
	switch (api) {
	case CONSRV_WRITE_CONSOLE:
		m.Data.WriteConsoleRequest.OutputHandle = h;
		m.Data.WriteConsoleRequest.NumBytes = numbytes;
		m.Data.WriteConsoleRequest.Unicode = unicode;
		field = &m.Data.WriteConsoleRequest.Buffer;
		break;
	case CONSRV_READ_CONSOLE:
		m.Data.ReadConsoleRequest.InputHandle = h;
		m.Data.ReadConsoleRequest.NumBytes = numbytes;
		m.Data.ReadConsoleRequest.Unicode = unicode;
		field = &m.Data.ReadConsoleRequest.Buffer;
		break;
	default:
		m.Data.WriteInputRequest.InputHandle = h;
		m.Data.WriteInputRequest.NumBytes = numbytes;
		m.Data.WriteInputRequest.Unicode = unicode;
		field = &m.Data.WriteInputRequest.Buffer;
		break;
	}
	if (data || out) {
		cb = CsrAllocateCaptureBuffer(1, caplen);
		if (!cb)
			return HELPER_FAILED;
		if (data)
			CsrCaptureMessageBuffer(cb, (PVOID)data, caplen, field);
		else
			CsrAllocateMessagePointer(cb, caplen, field);
	}
	st = csrt_call(&m, cb, api, sizeof(CONSOLE_WRITECONSOLE));
	if (out && *field)
		memcpy(out, *field, caplen);
	if (cb)
		CsrFreeCaptureBuffer(cb);
	if (nb) {
		switch (api) {
		case CONSRV_WRITE_CONSOLE:
			*nb = m.Data.WriteConsoleRequest.NumBytes;
			break;
		case CONSRV_READ_CONSOLE:
			*nb = m.Data.ReadConsoleRequest.NumBytes;
			break;
		default:
			*nb = m.Data.WriteInputRequest.NumBytes;
			break;
		}
	}
	return st;
}

static NTSTATUS write_con(HANDLE h, const void *data, ULONG len, bool unicode,
			  ULONG *nb)
{
	return io_raw(CONSRV_WRITE_CONSOLE, h, data, len, len, unicode, NULL,
		      nb);
}

static NTSTATUS write_input(HANDLE h, const void *data, ULONG len,
			    bool unicode, ULONG *nb)
{
	return io_raw(CONSRV_WRITE_CONSOLE_INPUT, h, data, len, len, unicode,
		      NULL, nb);
}

static NTSTATUS read_con(HANDLE h, void *out, ULONG size, bool unicode,
			 ULONG *nb)
{
	return io_raw(CONSRV_READ_CONSOLE, h, NULL, size, size, unicode, out,
		      nb);
}

/* CONSRV's connect routine: ConsoleCount, and the console handle. */
static NTSTATUS consrv_info(CONSRV_API_CONNECTINFO *ci)
{
	ULONG len = sizeof(*ci);

	memset(ci, 0xee, sizeof(*ci));
	return CsrClientConnectToServer(NULL, CONSRV_SERVERDLL_INDEX, ci, &len,
					NULL);
}

/* ------------------------------------------------------------------ */
/* Test-side helpers                                                   */
/* ------------------------------------------------------------------ */

static void alloc_ok(struct con *c)
{
	csrt_connect();
	cr_assert_status(alloc_con(c), STATUS_SUCCESS);
}

static ULONG console_count(void)
{
	CONSRV_API_CONNECTINFO ci;

	cr_assert_status(consrv_info(&ci), STATUS_SUCCESS);
	return ci.ConsoleCount;
}

static const char *log_path(pid_t pid)
{
	char rel[64];

	snprintf(rel, sizeof(rel), "consoles/console-%d.log", (int)pid);
	return lpct_path(rel);
}

/* The console log of pid (NUL-terminated in a static buffer); its length
 * in *len, -1 when there is no log. */
static const char *read_log(pid_t pid, ssize_t *len)
{
	static char buf[1 << 18];
	int fd = open(log_path(pid), O_RDONLY | O_CLOEXEC);
	ssize_t n = 0, r;

	buf[0] = 0;
	*len = -1;
	if (fd < 0)
		return buf;
	while ((r = read(fd, buf + n, sizeof(buf) - 1 - (size_t)n)) > 0)
		n += r;
	close(fd);
	buf[n] = 0;
	*len = n;
	return buf;
}

static void assert_log(const char *want, size_t wantlen)
{
	ssize_t n;
	const char *got = read_log(getpid(), &n);

	cr_assert_eq(n, (ssize_t)wantlen, "log has %zd bytes, want %zu: '%s'",
		     n, wantlen, got);
	cr_assert(!memcmp(got, want, wantlen), "log is '%s'", got);
}

/* A thread blocked in ReadConsole. */
struct reader {
	HANDLE h;
	ULONG size;
	bool unicode;
	pid_t tid;
	int done;
	NTSTATUS st;
	ULONG got;
	unsigned char buf[512];
};

static void *reader_main(void *arg)
{
	struct reader *r = arg;

	__atomic_store_n(&r->tid, lpct_gettid(), __ATOMIC_SEQ_CST);
	r->st = read_con(r->h, r->buf, r->size, r->unicode, &r->got);
	__atomic_store_n(&r->done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

static bool reader_done(struct reader *r)
{
	return __atomic_load_n(&r->done, __ATOMIC_SEQ_CST);
}

/* Wait up to ms for r to finish. */
static bool reader_wait(struct reader *r, long ms)
{
	long end = lpct_now_ms() + ms;

	while (!reader_done(r) && lpct_now_ms() < end)
		usleep(2000);
	return reader_done(r);
}

/* Start a reader on h and see it block: asleep in its call and still
 * not answered a moment later. */
static pthread_t reader_start(struct reader *r, HANDLE h, ULONG size)
{
	pthread_t t;

	memset(r, 0, sizeof(*r));
	r->h = h;
	r->size = size;
	r->st = HELPER_FAILED;
	t = lpct_thread(reader_main, r);
	while (!__atomic_load_n(&r->tid, __ATOMIC_SEQ_CST))
		usleep(1000);
	cr_assert(lpct_wait_sleeping(getpid(), r->tid));
	usleep(50000);
	cr_assert(!reader_done(r), "ReadConsole returned 0x%08x at once",
		  (unsigned)r->st);
	return t;
}

/* ------------------------------------------------------------------ */
/* AllocConsole / FreeConsole                                          */
/* ------------------------------------------------------------------ */

Test(csr_console, alloc_gives_two_handles_and_default_modes)
{
	struct con c = { H(0), H(0) };
	ULONG mode;

	alloc_ok(&c);
	cr_assert_neq(c.in, H(0));
	cr_assert_neq(c.out, H(0));
	cr_assert_neq(c.in, H(-1));
	cr_assert_neq(c.out, H(-1));
	cr_assert_neq(c.in, c.out);
	/* Console handles have the low two bits set, as on NT. */
	cr_assert_eq((uintptr_t)c.in & 3, 3);
	cr_assert_eq((uintptr_t)c.out & 3, 3);
	cr_assert_status(get_mode(c.in, &mode), STATUS_SUCCESS);
	cr_assert_eq(mode, ENABLE_PROCESSED_INPUT | ENABLE_LINE_INPUT |
				   ENABLE_ECHO_INPUT);
	cr_assert_status(get_mode(c.out, &mode), STATUS_SUCCESS);
	cr_assert_eq(mode, ENABLE_PROCESSED_OUTPUT | ENABLE_WRAP_AT_EOL_OUTPUT);
	cr_assert_eq(console_count(), 1);
}

Test(csr_console, alloc_twice_is_denied)
{
	struct con c, d = { H(0x55), H(0x55) };
	ULONG mode;

	alloc_ok(&c);
	cr_assert_status(alloc_con(&d), STATUS_ACCESS_DENIED);
	cr_assert_status(alloc_raw(csrt_w("x"), 2, 2, NULL),
			 STATUS_ACCESS_DENIED);
	/* The first console is untouched. */
	cr_assert_status(get_mode(c.in, &mode), STATUS_SUCCESS);
	cr_assert_eq(console_count(), 1);
}

Test(csr_console, alloc_creates_a_private_log)
{
	struct con c;
	struct stat st;

	alloc_ok(&c);
	cr_assert_eq(stat(lpct_path("consoles"), &st), 0);
	cr_assert(S_ISDIR(st.st_mode));
	cr_assert_eq(st.st_mode & 0777, 0700, "dir mode %o", st.st_mode);
	cr_assert_eq(lstat(log_path(getpid()), &st), 0, "%s: %s",
		     log_path(getpid()), strerror(errno));
	cr_assert(S_ISREG(st.st_mode));
	cr_assert_eq(st.st_mode & 0777, 0600, "log mode %o", st.st_mode);
	cr_assert_eq(st.st_size, 0);
}

Test(csr_console, alloc_refuses_a_planted_link)
{
	struct con c;
	char target[512];
	ssize_t n;

	csrt_connect();
	/* csrd runs as root: a symlink where the log goes must not make it
	 * write somewhere else. */
	snprintf(target, sizeof(target), "%s", lpct_path("victim"));
	cr_assert_eq(mkdir(lpct_path("consoles"), 0700), 0);
	cr_assert_eq(symlink(target, log_path(getpid())), 0);
	cr_assert_status(alloc_con(&c), STATUS_ACCESS_DENIED);
	cr_assert_eq(access(target, F_OK), -1);
	/* A hard link to another file is refused as well. */
	cr_assert_eq(unlink(log_path(getpid())), 0);
	cr_assert_eq(close(open(target, O_CREAT | O_WRONLY, 0600)), 0);
	cr_assert_eq(link(target, log_path(getpid())), 0);
	cr_assert_status(alloc_con(&c), STATUS_ACCESS_DENIED);
	read_log(getpid(), &n);
	cr_assert_eq(n, 0);
	cr_assert_eq(console_count(), 0);
	/* Once the path is clean the console comes. */
	cr_assert_eq(unlink(log_path(getpid())), 0);
	cr_assert_status(alloc_con(&c), STATUS_SUCCESS);
}

Test(csr_console, alloc_title_bounds)
{
	static WCHAR big[CONSOLE_MAX_TITLE_CHARS + 2];
	unsigned char out[TITLE_BYTES + 8];
	WCHAR ab[2] = { 'a', 'b' };
	ULONG got;

	csrt_connect();
	for (unsigned i = 0; i < CONSOLE_MAX_TITLE_CHARS + 2; i++)
		big[i] = (WCHAR)('A' + i % 26);
	/* Odd lengths, and one character past the maximum. */
	cr_assert_status(alloc_raw(ab, 4, 3, NULL), STATUS_INVALID_PARAMETER);
	cr_assert_status(alloc_raw(ab, 4, 1, NULL), STATUS_INVALID_PARAMETER);
	cr_assert_status(alloc_raw(big, TITLE_BYTES + 2, TITLE_BYTES + 2, NULL),
			 STATUS_INVALID_PARAMETER);
	cr_assert_status(alloc_raw(big, 4, 0xfffffffe, NULL),
			 STATUS_INVALID_PARAMETER);
	/* A length with no captured title behind it, and one longer than
	 * what was captured. */
	cr_assert_status(alloc_raw(NULL, 0, 2, NULL), STATUS_INVALID_PARAMETER);
	cr_assert_status(alloc_raw(big, 8, 512, NULL),
			 STATUS_INVALID_PARAMETER);
	cr_assert_eq(console_count(), 0);
	/* Exactly the maximum. */
	cr_assert_status(alloc_raw(big, TITLE_BYTES, TITLE_BYTES, NULL),
			 STATUS_SUCCESS);
	cr_assert_status(get_title_raw(out, sizeof(out), sizeof(out), &got),
			 STATUS_SUCCESS);
	cr_assert_eq(got, TITLE_BYTES);
	cr_assert(!memcmp(out, big, TITLE_BYTES));
	cr_assert_eq(out[TITLE_BYTES], 0);
	cr_assert_eq(out[TITLE_BYTES + 1], 0);
	cr_assert_status(free_con(), STATUS_SUCCESS);
	/* No title at all: an empty one. */
	cr_assert_status(alloc_raw(NULL, 0, 0, NULL), STATUS_SUCCESS);
	cr_assert_status(get_title_raw(out, 8, 8, &got), STATUS_SUCCESS);
	cr_assert_eq(got, 0);
}

Test(csr_console, alloc_title_pointer_must_be_captured)
{
	CSR_API_MESSAGE m;

	csrt_connect();
	/* A pointer into the client's own memory, no capture buffer. */
	csrt_msg(&m);
	m.Data.AllocConsoleRequest.Title = csrt_w("title");
	m.Data.AllocConsoleRequest.TitleLength = 10;
	cr_assert_status(csrt_call(&m, NULL, CONSRV_ALLOC_CONSOLE,
				   sizeof(CONSOLE_ALLOCCONSOLE)),
			 STATUS_INVALID_PARAMETER);
	cr_assert_eq(console_count(), 0);
}

Test(csr_console, free_closes_the_console)
{
	struct con c, d;
	ULONG mode;

	csrt_connect();
	cr_assert_status(free_con(), STATUS_INVALID_HANDLE);
	alloc_ok(&c);
	cr_assert_status(free_con(), STATUS_SUCCESS);
	cr_assert_eq(console_count(), 0);
	/* Every handle went with it. */
	cr_assert_status(get_mode(c.in, &mode), STATUS_INVALID_HANDLE);
	cr_assert_status(get_mode(c.out, &mode), STATUS_INVALID_HANDLE);
	cr_assert_status(close_con(c.in), STATUS_INVALID_HANDLE);
	cr_assert_status(free_con(), STATUS_INVALID_HANDLE);
	/* And a new one may come. */
	cr_assert_status(alloc_con(&d), STATUS_SUCCESS);
	cr_assert_status(get_mode(d.out, &mode), STATUS_SUCCESS);
	cr_assert_eq(console_count(), 1);
}

/* ------------------------------------------------------------------ */
/* Handles                                                             */
/* ------------------------------------------------------------------ */

Test(csr_console, open_console_types)
{
	HANDLE h = H(0), g = H(0);
	struct con c;
	ULONG mode;

	csrt_connect();
	cr_assert_status(open_con(CONSOLE_INPUT_HANDLE_TYPE, &h),
			 STATUS_INVALID_HANDLE);
	alloc_ok(&c);
	cr_assert_status(open_con(0, NULL), STATUS_INVALID_PARAMETER);
	cr_assert_status(open_con(3, NULL), STATUS_INVALID_PARAMETER);
	cr_assert_status(open_con(0xffffffff, NULL), STATUS_INVALID_PARAMETER);
	cr_assert_status(open_con(CONSOLE_INPUT_HANDLE_TYPE, &h),
			 STATUS_SUCCESS);
	cr_assert_status(open_con(CONSOLE_OUTPUT_HANDLE_TYPE, &g),
			 STATUS_SUCCESS);
	cr_assert(h != c.in && h != c.out && g != c.in && g != c.out && h != g);
	cr_assert_eq((uintptr_t)h & 3, 3);
	/* Each is of the type asked for: modes tell them apart. */
	cr_assert_status(set_mode(h, ENABLE_WINDOW_INPUT), STATUS_SUCCESS);
	cr_assert_status(set_mode(g, ENABLE_WINDOW_INPUT),
			 STATUS_INVALID_PARAMETER);
	cr_assert_status(get_mode(g, &mode), STATUS_SUCCESS);
	cr_assert_eq(mode, ENABLE_PROCESSED_OUTPUT | ENABLE_WRAP_AT_EOL_OUTPUT);
}

Test(csr_console, handle_table_is_capped)
{
	HANDLE h[MAX_HANDLES], last = H(0);
	struct con c;
	int n = 0;

	alloc_ok(&c);
	/* Two slots are taken by AllocConsole. */
	for (int i = 0; i < MAX_HANDLES - 2; i++, n++)
		cr_assert_status(open_con(CONSOLE_OUTPUT_HANDLE_TYPE, &h[i]),
				 STATUS_SUCCESS);
	cr_assert_status(open_con(CONSOLE_OUTPUT_HANDLE_TYPE, &last),
			 STATUS_QUOTA_EXCEEDED);
	cr_assert_status(open_con(CONSOLE_INPUT_HANDLE_TYPE, &last),
			 STATUS_QUOTA_EXCEEDED);
	/* All distinct. */
	for (int i = 0; i < n; i++)
		for (int k = i + 1; k < n; k++)
			cr_assert_neq(h[i], h[k]);
	/* A closed slot is used again. */
	cr_assert_status(close_con(h[10]), STATUS_SUCCESS);
	cr_assert_status(open_con(CONSOLE_INPUT_HANDLE_TYPE, &last),
			 STATUS_SUCCESS);
	cr_assert_eq(last, h[10]);
	cr_assert_status(open_con(CONSOLE_INPUT_HANDLE_TYPE, NULL),
			 STATUS_QUOTA_EXCEEDED);
}

Test(csr_console, close_handle)
{
	static const uintptr_t bad[] = {
		0, 1, 2, 4, 8, (uintptr_t)-1, (uintptr_t)-4 + 3,
		4 * MAX_HANDLES + 3, 4 * (MAX_HANDLES - 1) + 3, 0xffffffff,
		0x100000003ull,
	};
	struct con c;
	HANDLE h;
	ULONG mode;

	csrt_connect();
	cr_assert_status(close_con(H(3)), STATUS_INVALID_HANDLE);
	alloc_ok(&c);
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(close_con(H(bad[i])), STATUS_INVALID_HANDLE,
			     "handle %#lx", (unsigned long)bad[i]);
	cr_assert_status(open_con(CONSOLE_INPUT_HANDLE_TYPE, &h),
			 STATUS_SUCCESS);
	cr_assert_status(close_con(h), STATUS_SUCCESS);
	cr_assert_status(close_con(h), STATUS_INVALID_HANDLE);
	cr_assert_status(get_mode(h, &mode), STATUS_INVALID_HANDLE);
	/* The console itself stays, as do its other handles. */
	cr_assert_status(close_con(c.out), STATUS_SUCCESS);
	cr_assert_status(get_mode(c.in, &mode), STATUS_SUCCESS);
	cr_assert_status(write_con(c.out, "x", 1, false, NULL),
			 STATUS_INVALID_HANDLE);
	cr_assert_eq(console_count(), 1);
}

Test(csr_console, consoles_are_per_process)
{
	struct con c;
	ULONG mode;
	pid_t pid;
	int pfd[2];

	alloc_ok(&c);
	cr_assert_status(set_title("parent"), STATUS_SUCCESS);
	cr_assert_eq(pipe(pfd), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct con k;
		unsigned char t[32];
		ULONG got;
		char ok = 'k';

		lpct_child_enter();
		close(pfd[0]);
		/* A fresh process has no console, whatever its parent has:
		 * the parent's handle values mean nothing here. */
		CHILD_CHECK(get_mode(c.in, &mode) == STATUS_INVALID_HANDLE, 2);
		CHILD_CHECK(get_title_raw(t, 32, 32, &got) ==
				    STATUS_INVALID_HANDLE, 3);
		CHILD_CHECK(alloc_con(&k) == STATUS_SUCCESS, 4);
		CHILD_CHECK(get_title_raw(t, 32, 32, &got) == STATUS_SUCCESS,
			    5);
		CHILD_CHECK(got == 0, 6);
		CHILD_CHECK(write_con(k.out, "child\n", 6, false, NULL) ==
				    STATUS_SUCCESS, 7);
		CHILD_CHECK(write(pfd[1], &ok, 1) == 1, 8);
		pause();
		_exit(9);
	}
	close(pfd[1]);
	cr_assert_eq(lpct_read_byte(pfd[0]), 'k');
	cr_assert_eq(console_count(), 2);
	{
		ssize_t n;
		const char *l = read_log(pid, &n);

		cr_assert_eq(n, 6);
		cr_assert_str_eq(l, "child\n");
	}
	kill(pid, SIGKILL);
	cr_assert_eq(lpct_wait(pid), 128 + SIGKILL);
	close(pfd[0]);
	/* The child's console goes with it. */
	for (int i = 0; i < 500 && console_count() != 1; i++)
		usleep(10000);
	cr_assert_eq(console_count(), 1);
	cr_assert_status(get_mode(c.in, &mode), STATUS_SUCCESS);
}

/* ------------------------------------------------------------------ */
/* Titles                                                              */
/* ------------------------------------------------------------------ */

Test(csr_console, title_round_trip)
{
	unsigned char out[64];
	ULONG got = 0;
	struct con c;

	csrt_connect();
	cr_assert_status(alloc_raw(csrt_w("first"), 10, 10, &c),
			 STATUS_SUCCESS);
	cr_assert_status(get_title_raw(out, 64, 64, &got), STATUS_SUCCESS);
	cr_assert_eq(got, 10);
	cr_assert(csrt_weq((WCHAR *)out, "first"));
	cr_assert_status(set_title("second title"), STATUS_SUCCESS);
	cr_assert_status(get_title_raw(out, 64, 64, &got), STATUS_SUCCESS);
	cr_assert_eq(got, 24);
	cr_assert(csrt_weq((WCHAR *)out, "second title"));
	/* Empty. */
	cr_assert_status(set_title_raw(NULL, 0, 0), STATUS_SUCCESS);
	cr_assert_status(get_title_raw(out, 64, 64, &got), STATUS_SUCCESS);
	cr_assert_eq(got, 0);
	cr_assert_eq(out[0], 0);
	cr_assert_eq(out[1], 0);
	cr_assert_eq(out[2], 0xaa);
}

Test(csr_console, get_title_truncates_and_terminates)
{
	unsigned char out[64];
	struct con c;
	ULONG got;

	alloc_ok(&c);
	cr_assert_status(set_title("hello"), STATUS_SUCCESS);
	/* Room for the title and its NUL. */
	cr_assert_status(get_title_raw(out, 12, 12, &got), STATUS_SUCCESS);
	cr_assert_eq(got, 10);
	cr_assert(csrt_weq((WCHAR *)out, "hello"));
	/* Exactly the title: no NUL, nothing past Length touched. */
	cr_assert_status(get_title_raw(out, 12, 10, &got), STATUS_SUCCESS);
	cr_assert_eq(got, 10);
	cr_assert(!memcmp(out, csrt_w("hello"), 10));
	cr_assert_eq(out[10], 0xaa);
	cr_assert_eq(out[11], 0xaa);
	/* Truncated to whole characters that fit. */
	cr_assert_status(get_title_raw(out, 12, 4, &got), STATUS_SUCCESS);
	cr_assert_eq(got, 4);
	cr_assert(!memcmp(out, csrt_w("he"), 4));
	cr_assert_eq(out[4], 0xaa);
	/* No buffer at all. */
	cr_assert_status(get_title_raw(out, 0, 0, &got), STATUS_SUCCESS);
	cr_assert_eq(got, 0);
	/* Odd, or more than was captured (the capture has some slack:
	 * 64 bytes past it is outside). */
	cr_assert_status(get_title_raw(out, 12, 11, &got),
			 STATUS_INVALID_PARAMETER);
	cr_assert_status(get_title_raw(out, 12, 1, &got),
			 STATUS_INVALID_PARAMETER);
	cr_assert_status(get_title_raw(out, 12, 12 + 64, &got),
			 STATUS_INVALID_PARAMETER);
	cr_assert_status(get_title_raw(out, 0, 2, &got),
			 STATUS_INVALID_PARAMETER);
}

Test(csr_console, set_title_bounds)
{
	static WCHAR big[CONSOLE_MAX_TITLE_CHARS + 1];
	static unsigned char out[TITLE_BYTES + 4];
	struct con c;
	ULONG got;

	alloc_ok(&c);
	for (unsigned i = 0; i <= CONSOLE_MAX_TITLE_CHARS; i++)
		big[i] = (WCHAR)(0x410 + i % 32);
	cr_assert_status(set_title_raw(big, TITLE_BYTES, TITLE_BYTES),
			 STATUS_SUCCESS);
	cr_assert_status(get_title_raw(out, sizeof(out), sizeof(out), &got),
			 STATUS_SUCCESS);
	cr_assert_eq(got, TITLE_BYTES);
	cr_assert(!memcmp(out, big, TITLE_BYTES));
	/* One character more, odd, uncaptured, longer than captured: all
	 * refused, and the title stays. */
	cr_assert_status(set_title_raw(big, TITLE_BYTES + 2, TITLE_BYTES + 2),
			 STATUS_INVALID_PARAMETER);
	cr_assert_status(set_title_raw(big, 8, 7), STATUS_INVALID_PARAMETER);
	cr_assert_status(set_title_raw(NULL, 0, 8), STATUS_INVALID_PARAMETER);
	cr_assert_status(set_title_raw(big, 8, 200), STATUS_INVALID_PARAMETER);
	cr_assert_status(set_title_raw(big, 8, 0x80000000),
			 STATUS_INVALID_PARAMETER);
	cr_assert_status(get_title_raw(out, sizeof(out), sizeof(out), &got),
			 STATUS_SUCCESS);
	cr_assert_eq(got, TITLE_BYTES);
}

Test(csr_console, title_needs_a_console)
{
	unsigned char out[16];
	ULONG got;

	csrt_connect();
	cr_assert_status(set_title("x"), STATUS_INVALID_HANDLE);
	cr_assert_status(get_title_raw(out, 16, 16, &got),
			 STATUS_INVALID_HANDLE);
	/* A malformed request is refused as such first. */
	cr_assert_status(set_title_raw(NULL, 0, 3), STATUS_INVALID_PARAMETER);
}

/* ------------------------------------------------------------------ */
/* Modes                                                               */
/* ------------------------------------------------------------------ */

Test(csr_console, input_modes)
{
	struct con c;
	HANDLE h;
	ULONG mode;

	alloc_ok(&c);
	for (ULONG bit = 1; bit <= 0x80; bit <<= 1) {
		cr_assert_status(set_mode(c.in, bit), STATUS_SUCCESS);
		cr_assert_status(get_mode(c.in, &mode), STATUS_SUCCESS);
		cr_assert_eq(mode, bit);
	}
	cr_assert_status(set_mode(c.in, 0), STATUS_SUCCESS);
	cr_assert_status(set_mode(c.in, 0xff), STATUS_SUCCESS);
	cr_assert_status(set_mode(c.in, 0x100), STATUS_INVALID_PARAMETER);
	cr_assert_status(set_mode(c.in, 0x1ff), STATUS_INVALID_PARAMETER);
	cr_assert_status(set_mode(c.in, 0x80000000), STATUS_INVALID_PARAMETER);
	cr_assert_status(get_mode(c.in, &mode), STATUS_SUCCESS);
	cr_assert_eq(mode, 0xff);
	/* The mode is the input buffer's: every input handle shares it. */
	cr_assert_status(open_con(CONSOLE_INPUT_HANDLE_TYPE, &h),
			 STATUS_SUCCESS);
	cr_assert_status(get_mode(h, &mode), STATUS_SUCCESS);
	cr_assert_eq(mode, 0xff);
	cr_assert_status(set_mode(h, ENABLE_LINE_INPUT), STATUS_SUCCESS);
	cr_assert_status(get_mode(c.in, &mode), STATUS_SUCCESS);
	cr_assert_eq(mode, ENABLE_LINE_INPUT);
}

Test(csr_console, output_modes)
{
	struct con c;
	ULONG mode;

	alloc_ok(&c);
	for (ULONG m = 0; m <= 3; m++) {
		cr_assert_status(set_mode(c.out, m), STATUS_SUCCESS);
		cr_assert_status(get_mode(c.out, &mode), STATUS_SUCCESS);
		cr_assert_eq(mode, m);
	}
	cr_assert_status(set_mode(c.out, 4), STATUS_INVALID_PARAMETER);
	cr_assert_status(set_mode(c.out, ENABLE_LINE_INPUT | 4),
			 STATUS_INVALID_PARAMETER);
	cr_assert_status(set_mode(c.out, 0xffffffff), STATUS_INVALID_PARAMETER);
	cr_assert_status(get_mode(c.out, &mode), STATUS_SUCCESS);
	cr_assert_eq(mode, 3);
	/* Output modes did not touch the input buffer's. */
	cr_assert_status(get_mode(c.in, &mode), STATUS_SUCCESS);
	cr_assert_eq(mode, 7);
}

Test(csr_console, mode_handles)
{
	struct con c;
	ULONG mode;

	csrt_connect();
	cr_assert_status(get_mode(H(3), &mode), STATUS_INVALID_HANDLE);
	cr_assert_status(set_mode(H(3), 0), STATUS_INVALID_HANDLE);
	alloc_ok(&c);
	cr_assert_status(get_mode(H(0), &mode), STATUS_INVALID_HANDLE);
	cr_assert_status(get_mode(H(-1), &mode), STATUS_INVALID_HANDLE);
	cr_assert_status(get_mode(H(11), &mode), STATUS_INVALID_HANDLE);
	cr_assert_status(set_mode(H(11), 0), STATUS_INVALID_HANDLE);
	cr_assert_status(set_mode(H((uintptr_t)c.in + 1), 0),
			 STATUS_INVALID_HANDLE);
	/* A bad handle wins over a bad mode. */
	cr_assert_status(set_mode(H(11), 0x12345), STATUS_INVALID_HANDLE);
}

/* ------------------------------------------------------------------ */
/* WriteConsole                                                        */
/* ------------------------------------------------------------------ */

Test(csr_console, write_ansi_reaches_the_log)
{
	struct con c;
	ULONG nb = 0;

	alloc_ok(&c);
	cr_assert_status(write_con(c.out, "hello, console\n", 15, false, &nb),
			 STATUS_SUCCESS);
	cr_assert_eq(nb, 15);
	cr_assert_status(write_con(c.out, "second\tline\n", 12, false, &nb),
			 STATUS_SUCCESS);
	cr_assert_eq(nb, 12);
	assert_log("hello, console\nsecond\tline\n", 27);
	/* ANSI is ISO-8859-1: a high byte becomes its UTF-8 form. */
	cr_assert_status(write_con(c.out, "\xe9", 1, false, &nb),
			 STATUS_SUCCESS);
	cr_assert_eq(nb, 1);
	assert_log("hello, console\nsecond\tline\n\xc3\xa9", 29);
	/* Another output handle writes to the same screen. */
	{
		HANDLE h;

		cr_assert_status(open_con(CONSOLE_OUTPUT_HANDLE_TYPE, &h),
				 STATUS_SUCCESS);
		cr_assert_status(write_con(h, "!", 1, false, &nb),
				 STATUS_SUCCESS);
		assert_log("hello, console\nsecond\tline\n\xc3\xa9!", 30);
	}
}

Test(csr_console, write_unicode_is_utf8_in_the_log)
{
	/* h, e-acute, euro, U+1F600 (a pair), an unpaired high surrogate,
	 * x, an unpaired low surrogate, a high surrogate at the end. */
	static const WCHAR text[] = { 'h', 0xe9, 0x20ac, 0xd83d, 0xde00,
				      0xd800, 'x', 0xdc00, '\n', 0xd801 };
	static const char want[] = "h\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"
				   "\xef\xbf\xbdx\xef\xbf\xbd\n\xef\xbf\xbd";
	struct con c;
	ULONG nb = 0;

	alloc_ok(&c);
	cr_assert_status(write_con(c.out, text, sizeof(text), true, &nb),
			 STATUS_SUCCESS);
	cr_assert_eq(nb, sizeof(text));
	assert_log(want, sizeof(want) - 1);
}

Test(csr_console, write_unprocessed_escapes_controls)
{
	static const WCHAR wtext[] = { 'u', 0x1b, 0xe9, 0x7f };
	struct con c;
	ULONG nb;

	alloc_ok(&c);
	cr_assert_status(write_con(c.out, "a\tb\n", 4, false, NULL),
			 STATUS_SUCCESS);
	cr_assert_status(set_mode(c.out, ENABLE_WRAP_AT_EOL_OUTPUT),
			 STATUS_SUCCESS);
	cr_assert_status(write_con(c.out, "a\tb\x01\x7f\\\n", 7, false, &nb),
			 STATUS_SUCCESS);
	cr_assert_eq(nb, 7);
	cr_assert_status(write_con(c.out, wtext, sizeof(wtext), true, &nb),
			 STATUS_SUCCESS);
	cr_assert_eq(nb, sizeof(wtext));
	cr_assert_status(set_mode(c.out, ENABLE_PROCESSED_OUTPUT),
			 STATUS_SUCCESS);
	cr_assert_status(write_con(c.out, "\n", 1, false, NULL),
			 STATUS_SUCCESS);
	{
		static const char want[] = "a\tb\n"
					   "a\\x09b\\x01\\x7f\\\\x0a"
					   "u\\x1b\xc3\xa9\\x7f\n";

		assert_log(want, sizeof(want) - 1);
	}
}

Test(csr_console, write_refusals)
{
	char data[64];
	struct con c;
	ULONG nb;
	ssize_t n;

	memset(data, 'z', sizeof(data));
	csrt_connect();
	cr_assert_status(write_con(H(7), "x", 1, false, NULL),
			 STATUS_INVALID_HANDLE);
	alloc_ok(&c);
	/* Not an output handle. */
	cr_assert_status(write_con(c.in, "x", 1, false, NULL),
			 STATUS_INVALID_HANDLE);
	cr_assert_status(write_con(H(0), "x", 1, false, NULL),
			 STATUS_INVALID_HANDLE);
	cr_assert_status(write_con(H(4 * 40 + 3), "x", 1, false, NULL),
			 STATUS_INVALID_HANDLE);
	/* Odd Unicode, past the limit, past the capture, not captured. */
	cr_assert_status(write_con(c.out, data, 3, true, NULL),
			 STATUS_INVALID_PARAMETER);
	cr_assert_status(io_raw(CONSRV_WRITE_CONSOLE, c.out, data, 64,
				IO_MAX + 1, false, NULL, NULL),
			 STATUS_INVALID_PARAMETER);
	cr_assert_status(io_raw(CONSRV_WRITE_CONSOLE, c.out, data, 64,
				IO_MAX + 2, true, NULL, NULL),
			 STATUS_INVALID_PARAMETER);
	cr_assert_status(io_raw(CONSRV_WRITE_CONSOLE, c.out, data, 16, 16 + 64,
				false, NULL, NULL),
			 STATUS_INVALID_PARAMETER);
	cr_assert_status(io_raw(CONSRV_WRITE_CONSOLE, c.out, NULL, 0, 4, false,
				NULL, NULL),
			 STATUS_INVALID_PARAMETER);
	{
		CSR_API_MESSAGE m;

		csrt_msg(&m);
		m.Data.WriteConsoleRequest.OutputHandle = c.out;
		m.Data.WriteConsoleRequest.Buffer = data;
		m.Data.WriteConsoleRequest.NumBytes = 4;
		cr_assert_status(csrt_call(&m, NULL, CONSRV_WRITE_CONSOLE,
					   sizeof(CONSOLE_WRITECONSOLE)),
				 STATUS_INVALID_PARAMETER);
	}
	read_log(getpid(), &n);
	cr_assert_eq(n, 0, "a refused write reached the log");
	/* Nothing to write is fine. */
	nb = 0xffff;
	cr_assert_status(io_raw(CONSRV_WRITE_CONSOLE, c.out, NULL, 0, 0, true,
				NULL, &nb),
			 STATUS_SUCCESS);
	cr_assert_eq(nb, 0);
	read_log(getpid(), &n);
	cr_assert_eq(n, 0);
}

Test(csr_console, write_large)
{
	static char data[48 * 1024];
	struct con c;
	ULONG nb = 0;
	ssize_t n;
	const char *l;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (char)('a' + i % 26);
	alloc_ok(&c);
	cr_assert_status(write_con(c.out, data, sizeof(data), false, &nb),
			 STATUS_SUCCESS);
	cr_assert_eq(nb, sizeof(data));
	l = read_log(getpid(), &n);
	cr_assert_eq(n, (ssize_t)sizeof(data));
	cr_assert(!memcmp(l, data, sizeof(data)));
	/* Unprocessed, every control character grows to four bytes. */
	memset(data, 1, 16 * 1024);
	cr_assert_status(set_mode(c.out, 0), STATUS_SUCCESS);
	cr_assert_status(write_con(c.out, data, 16 * 1024, false, &nb),
			 STATUS_SUCCESS);
	l = read_log(getpid(), &n);
	cr_assert_eq(n, (ssize_t)sizeof(data) + 4 * 16 * 1024);
	cr_assert(!memcmp(l + sizeof(data), "\\x01\\x01", 8));
}

/* ------------------------------------------------------------------ */
/* Input and ReadConsole                                               */
/* ------------------------------------------------------------------ */

Test(csr_console, read_returns_queued_input_at_once)
{
	unsigned char out[64];
	struct con c;
	ULONG nb = 0;

	alloc_ok(&c);
	cr_assert_status(write_input(c.in, "abc\ndef\n", 8, false, &nb),
			 STATUS_SUCCESS);
	cr_assert_eq(nb, 8);
	/* Line mode: one line per read, the '\n' included. */
	cr_assert_status(read_con(c.in, out, 64, false, &nb), STATUS_SUCCESS);
	cr_assert_eq(nb, 4);
	cr_assert(!memcmp(out, "abc\n", 4));
	cr_assert_status(read_con(c.in, out, 64, false, &nb), STATUS_SUCCESS);
	cr_assert_eq(nb, 4);
	cr_assert(!memcmp(out, "def\n", 4));
	/* Without line mode: whatever is queued. */
	cr_assert_status(set_mode(c.in, ENABLE_PROCESSED_INPUT),
			 STATUS_SUCCESS);
	cr_assert_status(write_input(c.in, "x\ny", 3, false, &nb),
			 STATUS_SUCCESS);
	cr_assert_status(read_con(c.in, out, 64, false, &nb), STATUS_SUCCESS);
	cr_assert_eq(nb, 3);
	cr_assert(!memcmp(out, "x\ny", 3));
}

Test(csr_console, read_takes_what_fits)
{
	unsigned char out[64];
	struct con c;
	ULONG nb;

	alloc_ok(&c);
	cr_assert_status(write_input(c.in, "abcdefg\n", 8, false, &nb),
			 STATUS_SUCCESS);
	cr_assert_status(read_con(c.in, out, 2, false, &nb), STATUS_SUCCESS);
	cr_assert_eq(nb, 2);
	cr_assert(!memcmp(out, "ab", 2));
	/* Unicode: a 4-byte buffer holds two characters. */
	cr_assert_status(read_con(c.in, out, 4, true, &nb), STATUS_SUCCESS);
	cr_assert_eq(nb, 4);
	cr_assert(!memcmp(out, csrt_w("cd"), 4));
	cr_assert_status(read_con(c.in, out, 64, false, &nb), STATUS_SUCCESS);
	cr_assert_eq(nb, 4);
	cr_assert(!memcmp(out, "efg\n", 4));
}

Test(csr_console, input_conversions)
{
	static const WCHAR in[] = { 'A', 0xe9, 0x20ac, '\n' };
	unsigned char out[16];
	WCHAR w[4];
	struct con c;
	ULONG nb;

	alloc_ok(&c);
	cr_assert_status(write_input(c.in, in, sizeof(in), true, &nb),
			 STATUS_SUCCESS);
	cr_assert_eq(nb, sizeof(in));
	/* ANSI read: ISO-8859-1, '?' for what it cannot hold. */
	cr_assert_status(read_con(c.in, out, 16, false, &nb), STATUS_SUCCESS);
	cr_assert_eq(nb, 4);
	cr_assert(!memcmp(out, "A\xe9?\n", 4));
	/* ANSI in, Unicode out. */
	cr_assert_status(write_input(c.in, "\xe9\xff\n", 3, false, &nb),
			 STATUS_SUCCESS);
	cr_assert_eq(nb, 3);
	cr_assert_status(read_con(c.in, out, 16, true, &nb), STATUS_SUCCESS);
	cr_assert_eq(nb, 6);
	memcpy(w, out, 6);
	cr_assert_eq(w[0], 0xe9);
	cr_assert_eq(w[1], 0xff);
	cr_assert_eq(w[2], '\n');
}

Test(csr_console, echo_in_line_mode)
{
	unsigned char out[16];
	struct con c;
	ULONG nb;

	alloc_ok(&c);
	/* The default mode echoes what a line read takes. */
	cr_assert_status(write_input(c.in, "hi\n", 3, false, NULL),
			 STATUS_SUCCESS);
	assert_log("", 0);
	cr_assert_status(read_con(c.in, out, 16, false, &nb), STATUS_SUCCESS);
	assert_log("hi\n", 3);
	cr_assert_status(set_mode(c.in, ENABLE_LINE_INPUT), STATUS_SUCCESS);
	cr_assert_status(write_input(c.in, "no\n", 3, false, NULL),
			 STATUS_SUCCESS);
	cr_assert_status(read_con(c.in, out, 16, false, &nb), STATUS_SUCCESS);
	cr_assert_eq(nb, 3);
	assert_log("hi\n", 3);
}

Test(csr_console, input_buffer_is_capped)
{
	static char data[INPUT_CHARS + 1000];
	static unsigned char out[2 * INPUT_CHARS + 16];
	struct con c;
	ULONG nb = 0;

	memset(data, 'q', sizeof(data));
	alloc_ok(&c);
	cr_assert_status(write_input(c.in, data, sizeof(data), false, &nb),
			 STATUS_SUCCESS);
	cr_assert_eq(nb, INPUT_CHARS);
	cr_assert_status(write_input(c.in, data, 10, false, &nb),
			 STATUS_SUCCESS);
	cr_assert_eq(nb, 0);
	cr_assert_status(write_input(c.in, data, 10, true, &nb),
			 STATUS_SUCCESS);
	cr_assert_eq(nb, 0);
	/* A full buffer is readable even without a line end. */
	cr_assert_status(read_con(c.in, out, sizeof(out), true, &nb),
			 STATUS_SUCCESS);
	cr_assert_eq(nb, 2 * INPUT_CHARS);
	for (unsigned i = 0; i < INPUT_CHARS; i++) {
		WCHAR w;

		memcpy(&w, out + 2 * i, 2);
		cr_assert_eq(w, 'q');
	}
	/* Room again. */
	cr_assert_status(write_input(c.in, "ok\n", 3, false, &nb),
			 STATUS_SUCCESS);
	cr_assert_eq(nb, 3);
}

Test(csr_console, read_and_input_refusals)
{
	unsigned char out[16];
	struct con c;
	ULONG nb;

	csrt_connect();
	cr_assert_status(read_con(H(3), out, 16, false, &nb),
			 STATUS_INVALID_HANDLE);
	cr_assert_status(write_input(H(3), "a", 1, false, &nb),
			 STATUS_INVALID_HANDLE);
	alloc_ok(&c);
	/* Queue a line so a wrongly accepted read would return at once. */
	cr_assert_status(write_input(c.in, "line\n", 5, false, &nb),
			 STATUS_SUCCESS);
	cr_assert_status(read_con(c.out, out, 16, false, &nb),
			 STATUS_INVALID_HANDLE);
	cr_assert_status(write_input(c.out, "a", 1, false, &nb),
			 STATUS_INVALID_HANDLE);
	cr_assert_status(read_con(H(0), out, 16, false, &nb),
			 STATUS_INVALID_HANDLE);
	/* NumBytes 0, odd Unicode, past the limit, past the capture, no
	 * capture. */
	cr_assert_status(io_raw(CONSRV_READ_CONSOLE, c.in, NULL, 0, 0, false,
				NULL, &nb),
			 STATUS_INVALID_PARAMETER);
	cr_assert_status(read_con(c.in, out, 3, true, &nb),
			 STATUS_INVALID_PARAMETER);
	cr_assert_status(io_raw(CONSRV_READ_CONSOLE, c.in, NULL, 16,
				IO_MAX + 1, false, out, &nb),
			 STATUS_INVALID_PARAMETER);
	cr_assert_status(io_raw(CONSRV_READ_CONSOLE, c.in, NULL, 16, 16 + 64,
				false, out, &nb),
			 STATUS_INVALID_PARAMETER);
	cr_assert_status(io_raw(CONSRV_READ_CONSOLE, c.in, NULL, 0, 8, false,
				NULL, &nb),
			 STATUS_INVALID_PARAMETER);
	cr_assert_status(write_input(c.in, "abc", 3, true, &nb),
			 STATUS_INVALID_PARAMETER);
	cr_assert_status(io_raw(CONSRV_WRITE_CONSOLE_INPUT, c.in, "abc", 4,
				IO_MAX + 2, true, NULL, &nb),
			 STATUS_INVALID_PARAMETER);
	cr_assert_status(io_raw(CONSRV_WRITE_CONSOLE_INPUT, c.in, NULL, 0, 4,
				false, NULL, &nb),
			 STATUS_INVALID_PARAMETER);
	/* The line is still there, whole. */
	cr_assert_status(read_con(c.in, out, 16, false, &nb), STATUS_SUCCESS);
	cr_assert_eq(nb, 5);
	cr_assert(!memcmp(out, "line\n", 5));
}

Test(csr_console, read_waits_for_input_from_another_thread)
{
	struct reader r;
	struct con c;
	pthread_t t;
	ULONG nb;

	alloc_ok(&c);
	t = reader_start(&r, c.in, 64);
	/* Half a line does not finish a line-mode read. */
	cr_assert_status(write_input(c.in, "partial ", 8, false, &nb),
			 STATUS_SUCCESS);
	cr_assert_eq(nb, 8);
	usleep(100000);
	cr_assert(!reader_done(&r), "read returned before the line ended");
	cr_assert_status(write_input(c.in, "line\nnext", 9, false, &nb),
			 STATUS_SUCCESS);
	cr_assert(reader_wait(&r, 5000), "the reader was never answered");
	lpct_join(t);
	cr_assert_status(r.st, STATUS_SUCCESS);
	cr_assert_eq(r.got, 13);
	cr_assert(!memcmp(r.buf, "partial line\n", 13));
	/* "next" stays queued for the next line. */
	t = reader_start(&r, c.in, 64);
	cr_assert_status(write_input(c.in, "\n", 1, false, &nb),
			 STATUS_SUCCESS);
	cr_assert(reader_wait(&r, 5000));
	lpct_join(t);
	cr_assert_eq(r.got, 5);
	cr_assert(!memcmp(r.buf, "next\n", 5));
}

Test(csr_console, leaving_line_mode_wakes_a_reader)
{
	struct reader r;
	struct con c;
	pthread_t t;

	alloc_ok(&c);
	t = reader_start(&r, c.in, 64);
	cr_assert_status(write_input(c.in, "ab", 2, false, NULL),
			 STATUS_SUCCESS);
	usleep(50000);
	cr_assert(!reader_done(&r));
	cr_assert_status(set_mode(c.in, 0), STATUS_SUCCESS);
	cr_assert(reader_wait(&r, 5000));
	lpct_join(t);
	cr_assert_status(r.st, STATUS_SUCCESS);
	cr_assert_eq(r.got, 2);
	cr_assert(!memcmp(r.buf, "ab", 2));
}

Test(csr_console, free_cancels_a_waiting_read)
{
	struct reader r;
	struct con c;
	pthread_t t;

	alloc_ok(&c);
	t = reader_start(&r, c.in, 32);
	cr_assert_status(free_con(), STATUS_SUCCESS);
	cr_assert(reader_wait(&r, 5000), "FreeConsole left the reader waiting");
	lpct_join(t);
	cr_assert_status(r.st, STATUS_CANCELLED);
	cr_assert_eq(r.got, 0);
	cr_assert_eq(console_count(), 0);
}

Test(csr_console, close_cancels_reads_on_that_handle_only)
{
	struct reader r;
	struct con c;
	pthread_t t;
	HANDLE h;

	alloc_ok(&c);
	cr_assert_status(open_con(CONSOLE_INPUT_HANDLE_TYPE, &h),
			 STATUS_SUCCESS);
	t = reader_start(&r, h, 32);
	cr_assert_status(close_con(c.in), STATUS_SUCCESS);
	usleep(100000);
	cr_assert(!reader_done(&r), "closing another handle ended the read");
	cr_assert_status(close_con(h), STATUS_SUCCESS);
	cr_assert(reader_wait(&r, 5000));
	lpct_join(t);
	cr_assert_status(r.st, STATUS_CANCELLED);
	cr_assert_eq(r.got, 0);
}

Test(csr_console, waiting_reads_are_capped)
{
	struct reader r[MAX_WAITS + 1];
	pthread_t t[MAX_WAITS + 1];
	bool seen[MAX_WAITS] = { false };
	char lines[MAX_WAITS * 4 + 1], *p = lines;
	struct con c;
	int refused = -1;
	ULONG nb;

	alloc_ok(&c);
	for (int i = 0; i < MAX_WAITS; i++)
		t[i] = reader_start(&r[i], c.in, 16);
	/* One more: refused at once. */
	memset(&r[MAX_WAITS], 0, sizeof(r[0]));
	r[MAX_WAITS].h = c.in;
	r[MAX_WAITS].size = 16;
	t[MAX_WAITS] = lpct_thread(reader_main, &r[MAX_WAITS]);
	cr_assert(reader_wait(&r[MAX_WAITS], 5000),
		  "a 17th read was not refused");
	for (int i = 0; i <= MAX_WAITS; i++)
		if (reader_done(&r[i])) {
			cr_assert_eq(refused, -1, "two reads ended");
			refused = i;
		}
	cr_assert_status(r[refused].st, STATUS_QUOTA_EXCEEDED);
	lpct_join(t[refused]);
	/* Sixteen lines: one for each waiting reader. */
	for (int i = 0; i < MAX_WAITS; i++)
		p += sprintf(p, "%c\n", 'a' + i);
	cr_assert_status(write_input(c.in, lines, (ULONG)(p - lines), false,
				     &nb),
			 STATUS_SUCCESS);
	cr_assert_eq(nb, (ULONG)(p - lines));
	for (int i = 0; i <= MAX_WAITS; i++) {
		if (i == refused)
			continue;
		cr_assert(reader_wait(&r[i], 5000), "reader %d waits on", i);
		lpct_join(t[i]);
		cr_assert_status(r[i].st, STATUS_SUCCESS);
		cr_assert_eq(r[i].got, 2);
		cr_assert_eq(r[i].buf[1], '\n');
		cr_assert(r[i].buf[0] >= 'a' && r[i].buf[0] < 'a' + MAX_WAITS);
		cr_assert(!seen[r[i].buf[0] - 'a'], "a line read twice");
		seen[r[i].buf[0] - 'a'] = true;
	}
}

/* A child with a console, blocked in ReadConsole until it is killed. */
static void blocked_reader(void *arg)
{
	int fd = *(int *)arg;
	unsigned char out[16];
	struct con c;
	ULONG nb;
	char ok = 'r';

	lpct_child_enter();
	CHILD_CHECK(alloc_con(&c) == STATUS_SUCCESS, 2);
	CHILD_CHECK(write(fd, &ok, 1) == 1, 3);
	read_con(c.in, out, sizeof(out), false, &nb);
	_exit(4);
}

/* A child that uses a console from start to end. */
static int full_client(void *arg)
{
	unsigned char out[16];
	struct con c;
	ULONG nb;

	(void)arg;
	if (alloc_con(&c) != STATUS_SUCCESS)
		return 2;
	if (write_con(c.out, "alive\n", 6, false, &nb) != STATUS_SUCCESS)
		return 3;
	if (write_input(c.in, "in\n", 3, false, &nb) != STATUS_SUCCESS)
		return 4;
	if (read_con(c.in, out, 16, false, &nb) != STATUS_SUCCESS || nb != 3)
		return 5;
	return free_con() == STATUS_SUCCESS ? 0 : 6;
}

Test(csr_console, killed_reader_leaves_nothing_behind)
{
	int pfd[2];
	pid_t pid;
	struct con c;
	int i;

	csrt_connect();
	cr_assert_eq(pipe(pfd), 0);
	pid = lpct_fork(blocked_reader, &pfd[1]);
	close(pfd[1]);
	cr_assert_eq(lpct_read_byte(pfd[0]), 'r');
	close(pfd[0]);
	cr_assert(lpct_wait_sleeping(pid, pid));
	usleep(50000);
	cr_assert_eq(console_count(), 1);
	cr_assert_eq(kill(pid, SIGKILL), 0);
	cr_assert_eq(lpct_wait(pid), 128 + SIGKILL);
	/* Its wait is dropped, and its console with it. */
	for (i = 0; i < 500 && console_count() != 0; i++)
		usleep(10000);
	cr_assert_eq(console_count(), 0, "the dead reader's console stayed");
	/* The server goes on serving: another process, and this one. */
	cr_assert_eq(csrt_child(full_client, NULL), 0);
	alloc_ok(&c);
	cr_assert_status(write_con(c.out, "after\n", 6, false, NULL),
			 STATUS_SUCCESS);
	assert_log("after\n", 6);
	cr_assert_eq(kill(csrt_server_pid(), 0), 0);
}

/* ------------------------------------------------------------------ */
/* CONSRV's connect routine                                            */
/* ------------------------------------------------------------------ */

Test(csr_console, connect_info)
{
	CONSRV_API_CONNECTINFO ci;
	unsigned char big[sizeof(ci) + 8];
	ULONG len;
	struct con c;

	csrt_connect();
	cr_assert_status(consrv_info(&ci), STATUS_SUCCESS);
	cr_assert_null(ci.ConsoleHandle);
	cr_assert_eq(ci.ConsoleCount, 0);
	cr_assert_status(alloc_con(&c), STATUS_SUCCESS);
	cr_assert_status(consrv_info(&ci), STATUS_SUCCESS);
	cr_assert_eq(ci.ConsoleHandle, c.out);
	cr_assert_eq(ci.ConsoleCount, 1);
	/* With its output handle closed the process has none to report. */
	cr_assert_status(close_con(c.out), STATUS_SUCCESS);
	cr_assert_status(consrv_info(&ci), STATUS_SUCCESS);
	cr_assert_null(ci.ConsoleHandle);
	cr_assert_eq(ci.ConsoleCount, 1);
	/* The size must be exact. */
	len = sizeof(ci) - 8;
	cr_assert_status(CsrClientConnectToServer(NULL, CONSRV_SERVERDLL_INDEX,
						  &ci, &len, NULL),
			 STATUS_INVALID_PARAMETER);
	len = sizeof(big);
	memset(big, 0, sizeof(big));
	cr_assert_status(CsrClientConnectToServer(NULL, CONSRV_SERVERDLL_INDEX,
						  big, &len, NULL),
			 STATUS_INVALID_PARAMETER);
	len = 0;
	cr_assert_status(CsrClientConnectToServer(NULL, CONSRV_SERVERDLL_INDEX,
						  NULL, &len, NULL),
			 STATUS_INVALID_PARAMETER);
}
