/* SPDX-License-Identifier: MIT */
/*
 * csr.c - CSR_API_MESSAGEs with any ApiNumber through csrd's dispatcher
 * (csr_server_handle, csr_dispatch, csr_call_server_from_server), the
 * capture-buffer validation of spec 12.6 and the validators of 12.7
 * (srv_capture.c), and every server DLL's handlers.
 *
 * The client's view is real: a sealed memfd of 64 KiB (what libcsr's
 * section is) mapped twice, MAP_SHARED, as the engine maps a peer's view
 * at accept: once where "csrd" sees it (its end is followed by a guard
 * page, so a read past it faults) and once where "the client" writes its
 * capture buffers.  Message pointers are server-view addresses, as
 * libcsr's fix-ups make them.  The process record of this very process
 * has that view, as csrd's handle_connect sets it.
 *
 * The input chooses the profile (ws03, xp, win7, nt4), open or strict
 * registration, the size of the view, then a list of calls: the LPC
 * message type, who sends it (thread, PortContext, ClientId), the
 * ApiNumber (one byte picks any API of the profile's tables; others give
 * the edges and raw numbers), the data, and a capture buffer: where it
 * lies (inside, at the edges, outside the view), its Size, PointerCount,
 * offsets and the pointers in the message, all from the input.
 *
 * Invariants (FUZZ_CHECK):
 *  - csr_capture_arguments agrees with a reference of spec 12.6 written
 *    from the spec; an accepted copy is the client's bytes with Size and
 *    PointerCount as validated, every rebased pointer inside the copy and
 *    a pointer short of its end; a refused buffer leaves the message as
 *    the client sent it; release restores every pointer;
 *  - csr_validate_buffer / csr_validate_string agree with spec 12.7;
 *  - the dispatcher refuses exactly the buffers the reference refuses,
 *    answers STATUS_ILLEGAL_FUNCTION for numbers outside the tables and
 *    STATUS_NOT_IMPLEMENTED for slots without a handler; a reply carries
 *    the client's CsrCaptureData back;
 *  - nothing in the client's view changes outside a capture buffer csrd
 *    accepted (release writes back there, and only there);
 *  - every status is an NTSTATUS csrd may answer with;
 *  - csrd never signals itself, a process it does not know, or one the
 *    caller may not end (signals are intercepted, never delivered);
 *  - after each input csrd's state is reset (csrd has no reset of its
 *    own: the harness destroys every process record and re-runs each
 *    DLL's fini and init through srv.h), and no fd, mapping or thread
 *    leaked.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "fuzz.h"
#include "ids.h"
#include "lpc_int.h"
#include "profile.h"
#include "srv.h"
#include "sys.h"

#ifdef __AFL_COVERAGE
/* What __AFL_COVERAGE() declares, with prototypes: the one-time set-up
 * (it runs in the first input of every forked child) is not coverage. */
int __afl_selective_coverage = 1;
void __afl_coverage_discard(void);
#define DISCARD_SETUP_COVERAGE() __afl_coverage_discard()
#else
#define DISCARD_SETUP_COVERAGE() ((void)0)
#endif

#define TRACE(...)                                                            \
	do {                                                                  \
		if (fuzz_verbose())                                           \
			fprintf(stderr, __VA_ARGS__);                         \
	} while (0)

#define MSG_SIZE ((uint32_t)sizeof(CSR_API_MESSAGE))
#define HDR_LEN ((uint32_t)sizeof(PORT_MESSAGE))
#define DATA_OFF ((uint32_t)CSR_API_MESSAGE_HEADER_SIZE)
#define CB_HDR CSR_CAPTURE_BUFFER_HEADER_SIZE
#define VIEW_MAP CSR_PORT_VIEW_SIZE
#define PAGE 4096
#define MAXCALLS 24
#define MAXREG 32

/* ------------------------------------------------------------------ */
/* Signals: csrd ends processes (UserpEndTask, a known thread's         */
/* exception) with pidfd_send_signal.  Here they are recorded, checked  */
/* and never sent: every process involved is this one or a real system  */
/* process.                                                            */
/* ------------------------------------------------------------------ */

static struct {
	int count;
	pid_t pid;
	int sig;
} sent_signal;

static pid_t pidfd_pid(int fd)
{
	char path[64], buf[512];
	const char *p;
	ssize_t n;
	int f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = open(path, O_RDONLY | O_CLOEXEC);
	if (f < 0)
		return -1;
	n = read(f, buf, sizeof(buf) - 1);
	close(f);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	p = strstr(buf, "\nPid:");
	return p ? (pid_t)atoi(p + 5) : -1;
}

/* The libc syscall(), wrapped for this program: everything goes through
 * except pidfd_send_signal.  Five arguments at most are read: on x86-64
 * they come in registers, a sixth from the caller's stack, which ASan
 * rightly calls an underflow when the caller passed fewer (and neither
 * the engine nor csrd makes a six-argument call through syscall()). */
long syscall(long nr, ...)
{
	static long (*real)(long, ...);
	long a[5];
	va_list ap;

	va_start(ap, nr);
	for (int i = 0; i < 5; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	if (nr == SYS_pidfd_send_signal) {
		sent_signal.count++;
		sent_signal.pid = pidfd_pid((int)a[0]);
		sent_signal.sig = (int)a[1];
		return 0;
	}
	if (!real)
		real = (long (*)(long, ...))dlsym(RTLD_NEXT, "syscall");
	return real(nr, a[0], a[1], a[2], a[3], a[4]);
}

/* ------------------------------------------------------------------ */
/* The reference: spec 12.6 and 12.7                                   */
/* ------------------------------------------------------------------ */

static uint64_t rd64(const void *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

static uint32_t rd32(const void *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

/*
 * Spec 12.6 (CsrCaptureArguments, newest rules) with csrd's documented
 * choices: Size and PointerCount read once; a field recorded twice is
 * refused the second time.  Reads the view only where the rules have
 * shown it lies inside [base, end).
 */
static bool ref_capture(uintptr_t base, uintptr_t end,
			const CSR_API_MESSAGE *msg)
{
	uintptr_t cb = (uintptr_t)msg->CsrCaptureData, first, last;
	bool seen[MSG_SIZE / 8] = { false };
	uint32_t length, count;

	if (!base || end <= base || end - base <= CB_HDR)
		return false;
	/* 1. CB >= ViewBase and CB + header < ViewBounds. */
	if (cb < base || cb >= end || end - cb <= CB_HDR)
		return false;
	/* 2. End = CB + Size, no wrap, < ViewBounds. */
	length = rd32((const void *)cb);
	if ((uint64_t)length >= end - cb)
		return false;
	/* 3. PointerCount <= 0xFFFF, header + count pointers <= Size. */
	count = rd32((const char *)cb + 16);
	if (count > 0xffff || CB_HDR + (uint64_t)count * 8 > length)
		return false;
	first = cb + CB_HDR + (uintptr_t)count * 8;
	last = cb + length - 8;
	/* 5. Every recorded field. */
	for (uint32_t i = 0; i < count; i++) {
		uint64_t off = rd64((const char *)cb + CB_HDR + 8 * (size_t)i);
		uint64_t ptr;

		if (!off)
			continue;
		if (off % 8 || off < DATA_OFF || off >= MSG_SIZE)
			return false;
		if (seen[off / 8])
			return false;
		seen[off / 8] = true;
		ptr = rd64((const char *)msg + off);
		if (ptr < first || ptr > last)
			return false;
	}
	return true;
}

/* Spec 12.7, CsrValidateMessageBuffer, for a field at offset off. */
static bool ref_validate_buffer(const CSR_API_MESSAGE *msg, size_t off,
				uint32_t count, uint32_t size,
				const struct csr_capture *cap, bool from_server)
{
	uint64_t need = (uint64_t)count * size, ptr;
	uintptr_t cb = (uintptr_t)cap->copy;

	if (!size || need > 0xffffffffu || off > MSG_SIZE - 8)
		return false;
	ptr = rd64((const char *)msg + off);
	if (!ptr && !count)
		return true;
	if (!cb)
		return from_server;
	if (ptr < cb || ptr >= cb + cap->size)
		return false;
	if (cb + cap->size - ptr < need)
		return false;
	for (uint32_t i = 0; i < cap->count; i++)
		if (cap->copy->PointerOffsetsArray[i] == off)
			return true;
	return false;
}

/* Spec 12.7, CsrValidateMessageString: NUL-terminated inside the copy,
 * then the buffer rule for its length + 1 characters. */
static bool ref_validate_string(const CSR_API_MESSAGE *msg, size_t off,
				const struct csr_capture *cap, uint32_t *chars)
{
	uintptr_t cb = (uintptr_t)cap->copy, ptr, endp;
	uint32_t n = 0;

	if (off > MSG_SIZE - 8)
		return false;
	ptr = rd64((const char *)msg + off);
	if (!cb || ptr < cb || ptr >= cb + cap->size)
		return false;
	endp = cb + cap->size;
	for (;; n++) {
		uint16_t ch;

		if (ptr + 2 * (uintptr_t)n + 2 > endp)
			return false;
		memcpy(&ch, (const char *)ptr + 2 * (uintptr_t)n, 2);
		if (!ch)
			break;
	}
	*chars = n;
	return ref_validate_buffer(msg, off, n + 1, 2, cap, false);
}

/* ------------------------------------------------------------------ */
/* State                                                               */
/* ------------------------------------------------------------------ */

#define NPROF 4
static const char *const prof_names[NPROF] = { "ws03", "xp", "win7", "nt4" };

static struct {
	bool ready;
	pid_t pid, main_tid, parked_tid;
	struct csr_server srv[NPROF][2];	/* [profile][strict] */
	unsigned napis[NPROF];
	ULONG apis[NPROF][256];			/* every table entry */
	int memfd;
	HANDLE api_port;	/* \Windows\ApiPort, for real connections */
	char api_path[256];
	uint8_t *server_map;	/* [guard][64 KiB view][guard] */
	/* The messages csrd works on, each ending where a PROT_NONE page
	 * starts: a read or write past CSR_API_MESSAGE faults in every
	 * build, not only under ASan.  [0] the call, [1] capture checks. */
	CSR_API_MESSAGE *msg[2];
	uint8_t *client_map;
	uint8_t shadow[VIEW_MAP];
	struct fuzz_snapshot snap;
} G;

/* Per input. */
static struct {
	struct csr_server *s;
	int prof;
	struct csr_process *me, *other;
	uintptr_t vbase, vend;	/* the client's view as csrd sees it */
	uintptr_t vmap;		/* where csrd maps the memfd */
	int raw;		/* a real connection's client socket, or -1 */
	/* capture buffers csrd accepted: release may write them back */
	struct {
		uintptr_t lo, hi;
	} reg[MAXREG];
	int nreg;
} S;

static uint8_t *to_client(uintptr_t server_addr)
{
	return G.client_map + (server_addr - S.vmap);
}

/* Write bytes the client puts in its view, clipped to the mapping. */
static void client_write(uintptr_t server_addr, const void *src, size_t n)
{
	uintptr_t lo = S.vmap, hi = lo + VIEW_MAP;

	for (size_t i = 0; i < n; i++)
		if (server_addr + i >= lo && server_addr + i < hi)
			*to_client(server_addr + i) = ((const uint8_t *)src)[i];
}

/* ------------------------------------------------------------------ */
/* Set-up and reset                                                    */
/* ------------------------------------------------------------------ */

static void *parked_main(void *arg)
{
	(void)arg;
	__atomic_store_n(&G.parked_tid, (pid_t)syscall(SYS_gettid),
			 __ATOMIC_RELEASE);
	for (;;)
		pause();
	return NULL;
}

static void setup(void)
{
	pthread_t t;
	uint8_t *area;

	G.pid = getpid();
	G.main_tid = (pid_t)syscall(SYS_gettid);
	/* csrd's signals must reach our wrapper, never a process: the
	 * harness registers pid 1 as a CSR client. */
	syscall(SYS_pidfd_send_signal, -1, 0, NULL, 0);
	if (sent_signal.count != 1)
		fuzz_hang("syscall() is not wrapped: csrd could signal");
	for (int p = 0; p < NPROF; p++) {
		const struct csr_profile *pr = csr_profile_find(prof_names[p]);

		for (int strict = 0; strict < 2; strict++) {
			struct csr_options o;

			csr_options_default(&o);
			o.verbose = -1;		/* silent */
			o.profile = prof_names[p];
			o.console_dir = NULL;	/* consoles count, no files */
			o.strict_registration = strict;
			o.max_processes = 8;
			o.max_threads_per_process = 8;
			if (csr_server_init(&G.srv[p][strict], &o))
				fuzz_hang("csr_server_init(%s)", prof_names[p]);
		}
		for (unsigned i = 0; pr && i < CSR_SERVER_DLL_MAX; i++)
			for (unsigned k = 0; k < pr->dlls[i].count &&
					     G.napis[p] < 256;
			     k++)
				G.apis[p][G.napis[p]++] =
					(ULONG)(i << 16 | (pr->dlls[i].api_base + k));
	}
	for (int i = 0; i < 2; i++) {
		uint8_t *two = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE,
				    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (two == MAP_FAILED || mprotect(two + PAGE, PAGE, PROT_NONE))
			fuzz_hang("message pages");
		G.msg[i] = (CSR_API_MESSAGE *)(void *)(two + PAGE - MSG_SIZE);
	}
	/* The view: a sealed memfd, as libcsr's section is; csrd's mapping
	 * with a guard page on either side. */
	G.memfd = lpc_sys_memfd("csr-view", VIEW_MAP);
	if (G.memfd < 0)
		fuzz_hang("memfd: %d", G.memfd);
	area = mmap(NULL, VIEW_MAP + 2 * PAGE, PROT_NONE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (area == MAP_FAILED)
		fuzz_hang("view area");
	G.server_map = mmap(area + PAGE, VIEW_MAP, PROT_READ | PROT_WRITE,
			    MAP_SHARED | MAP_FIXED, G.memfd, 0);
	G.client_map = mmap(NULL, VIEW_MAP, PROT_READ | PROT_WRITE, MAP_SHARED,
			    G.memfd, 0);
	if (G.server_map == MAP_FAILED || G.client_map == MAP_FAILED)
		fuzz_hang("view mappings");
	{
		static WCHAR wn[] = { '\\', 'W', 'i', 'n', 'd', 'o', 'w', 's',
				      '\\', 'A', 'p', 'i', 'P', 'o', 'r', 't' };
		UNICODE_STRING us = { sizeof(wn), sizeof(wn), wn };
		OBJECT_ATTRIBUTES oa = { .Length = sizeof(oa),
					 .ObjectName = &us };
		NTSTATUS st = NtCreatePort(&G.api_port, &oa,
					   sizeof(CSR_API_CONNECTINFO),
					   sizeof(CSR_API_MESSAGE), 0);

		if (st != STATUS_SUCCESS)
			fuzz_hang("NtCreatePort(ApiPort): 0x%08x", (unsigned)st);
		snprintf(G.api_path, sizeof(G.api_path), "%s/Windows/ApiPort",
			 fuzz_root());
	}
	if (pthread_create(&t, NULL, parked_main, NULL))
		fuzz_hang("thread");
	while (!__atomic_load_n(&G.parked_tid, __ATOMIC_ACQUIRE))
		sched_yield();
	/* The engine's per-thread state (copy pipe) exists from now on:
	 * csrd's connection handling and replies use it. */
	{
		static CSR_API_MESSAGE m;
		LARGE_INTEGER zero = { .QuadPart = 0 };
		HANDLE h = NULL;

		NtAcceptConnectPort(&h, NULL, &m.Header, FALSE, NULL, NULL);
		NtReplyPort(NULL, &m.Header);
		/* and the mappings made at first use: the published thread
		 * table (a wait), the MessageId page (a notice) */
		NtReplyWaitReceivePortEx(G.api_port, NULL, NULL, &m.Header,
					 &zero);
		lpc_next_message_id();
	}
	fuzz_snapshot_take(&G.snap);
	G.ready = true;
}

/* csrd has no reset: what csr_server_fini then csr_server_init would
 * do, keeping the bound tables. */
static void reset_server(struct csr_server *s)
{
	csr_process_destroy_all(s);
	for (unsigned i = 0; i < CSR_SERVER_DLL_MAX; i++)
		if (s->dlls[i].impl && s->dlls[i].impl->disconnect &&
		    (s->dlls[i].state || !s->dlls[i].impl->init))
			s->dlls[i].impl->disconnect(s, &s->self);
	for (unsigned i = CSR_SERVER_DLL_MAX; i-- > 0;)
		if (s->dlls[i].state && s->dlls[i].impl &&
		    s->dlls[i].impl->fini)
			s->dlls[i].impl->fini(s);
	for (unsigned i = 0; i < CSR_SERVER_DLL_MAX; i++)
		if (s->dlls[i].def && s->dlls[i].impl && s->dlls[i].impl->init &&
		    s->dlls[i].impl->init(s))
			fuzz_hang("%s init", s->dlls[i].def->name);
	memset(s->self.dll_data, 0, sizeof(s->self.dll_data));
	s->self.dead = false;
	s->self.threads = NULL;
	s->self.nthreads = 0;
	s->self.priority_class = CSR_PRIORITY_CLASS_NORMAL;
	s->self.shutdown_level = s->self.shutdown_flags = 0;
	s->self.dll_connected = 0;
	s->next_sequence = 0;
	s->calls = s->refused_calls = s->connects = s->refused_connects = 0;
	FUZZ_CHECK(!s->processes && !s->nprocesses,
		   "process table not empty after destroy_all");
}

/* ------------------------------------------------------------------ */
/* Checks                                                              */
/* ------------------------------------------------------------------ */

static bool known_status(NTSTATUS st)
{
	static const NTSTATUS ok[] = {
		STATUS_SUCCESS, STATUS_PENDING, DBG_CONTINUE,
		STATUS_UNSUCCESSFUL, STATUS_NOT_IMPLEMENTED,
		STATUS_INVALID_HANDLE, STATUS_INVALID_CID,
		STATUS_INVALID_PARAMETER, STATUS_NO_MEMORY,
		STATUS_ACCESS_DENIED, STATUS_OBJECT_NAME_INVALID,
		STATUS_OBJECT_NAME_NOT_FOUND, STATUS_OBJECT_NAME_COLLISION,
		STATUS_OBJECT_PATH_NOT_FOUND, STATUS_QUOTA_EXCEEDED,
		STATUS_REVISION_MISMATCH, STATUS_PRIVILEGE_NOT_HELD,
		STATUS_NOT_SUPPORTED, STATUS_ILLEGAL_FUNCTION,
		STATUS_PROCESS_IS_TERMINATING, STATUS_CANCELLED,
		STATUS_INSUFFICIENT_RESOURCES,
	};

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (st == ok[i])
			return true;
	return false;
}

/* Nothing in the view changed but inside capture buffers csrd
 * accepted. */
static void check_view(const char *when)
{
	const uint8_t *v = G.server_map;

	if (!memcmp(v, G.shadow, VIEW_MAP))
		return;
	for (size_t i = 0; i < VIEW_MAP; i++) {
		uintptr_t a = S.vmap + i;
		bool ok = false;

		if (v[i] == G.shadow[i])
			continue;
		for (int r = 0; r < S.nreg && !ok; r++)
			ok = a >= S.reg[r].lo && a < S.reg[r].hi;
		FUZZ_CHECK(ok,
			   "%s: view byte %zu changed outside every accepted "
			   "capture buffer",
			   when, i);
	}
	memcpy(G.shadow, v, VIEW_MAP);
}

/* One validator query: u8 kind (bit 0 the string validator, bit 7 a raw
 * field offset, bit 6 a 32-bit count), the field, the count, the size. */
struct query {
	bool string;
	size_t off;
	uint32_t count, size;
};

static void read_query(struct fuzz_in *in, struct query *q)
{
	uint8_t kind = fuzz_u8(in);

	q->string = kind & 1;
	q->off = kind & 0x80 ? fuzz_u8(in) * 2u
			     : DATA_OFF + 8 * (fuzz_u8(in) % 39);
	if (q->off > MSG_SIZE - 8)
		q->off = MSG_SIZE - 8;
	q->count = kind & 0x40 ? fuzz_u32(in) : fuzz_u16(in);
	q->size = fuzz_u8(in);
}

/*
 * The capture step alone, on a copy of the message: against the
 * reference; an accepted copy is checked, then validator queries from
 * the input run on it, then it is released and the message must be back
 * to what it was.  The view is restored afterwards (release writes the
 * copy back into it).
 */
static void check_capture(struct fuzz_in *in, const CSR_API_MESSAGE *msg,
			  struct csr_process *p)
{
	CSR_API_MESSAGE *const mp = G.msg[1];
	struct csr_capture cap;
	uintptr_t cb = (uintptr_t)msg->CsrCaptureData;
	bool want = ref_capture(p->view_base, p->view_end, msg);
	NTSTATUS st;
	uint8_t nq;

	memcpy(mp, msg, sizeof(*mp));
	st = csr_capture_arguments(p, mp, &cap);
	FUZZ_CHECK(st == STATUS_SUCCESS || st == STATUS_INVALID_PARAMETER,
		   "csr_capture_arguments: 0x%08x", (unsigned)st);
	FUZZ_CHECK(want == (st == STATUS_SUCCESS),
		   "capture buffer %p in view [%#lx, %#lx): csrd %s, spec "
		   "12.6 %s",
		   (void *)cb, (unsigned long)p->view_base,
		   (unsigned long)p->view_end,
		   st == STATUS_SUCCESS ? "accepts" : "refuses",
		   want ? "accepts" : "refuses");
	if (st != STATUS_SUCCESS) {
		FUZZ_CHECK(!memcmp(mp, msg, sizeof(*mp)),
			   "a refused capture buffer changed the message");
		FUZZ_CHECK(!cap.copy, "a refused capture left a copy");
		nq = fuzz_u8(in) & 7;
		for (unsigned i = 0; i < nq; i++) {
			/* Without a capture buffer: only csrd itself. */
			struct csr_call c = { .srv = S.s, .msg = mp,
					      .process = p };
			struct query q;
			bool r;

			read_query(in, &q);
			r = csr_validate_buffer(&c, (char *)mp + q.off,
						q.count, q.size);
			FUZZ_CHECK(r == ref_validate_buffer(mp, q.off, q.count,
							    q.size, &cap, false),
				   "csr_validate_buffer without capture: %d",
				   r);
		}
		return;
	}
	/* The copy: the client's bytes, Size and PointerCount as read. */
	FUZZ_CHECK(cap.copy && cap.client == cb && cap.size == rd32((void *)cb) &&
			   cap.count == rd32((char *)cb + 16),
		   "capture bookkeeping");
	FUZZ_CHECK((uintptr_t)mp->CsrCaptureData == (uintptr_t)cap.copy &&
			   (uintptr_t)cap.copy->PreviousCaptureBuffer == cb,
		   "CsrCaptureData / PreviousCaptureBuffer");
	FUZZ_CHECK(cap.copy->Size == cap.size &&
			   cap.copy->PointerCount == cap.count,
		   "copy's Size/PointerCount");
	FUZZ_CHECK(!memcmp((char *)cap.copy + 32, (char *)cb + 32,
			   cap.size - 32),
		   "copy differs from the client's buffer");
	for (uint32_t i = 0; i < cap.count; i++) {
		uint64_t off = cap.copy->PointerOffsetsArray[i], ptr;

		if (!off)
			continue;
		ptr = rd64((char *)mp + off);
		FUZZ_CHECK(ptr >= (uintptr_t)cap.copy + CB_HDR + 8 * cap.count &&
				   ptr + 8 <= (uintptr_t)cap.copy + cap.size,
			   "rebased pointer at %llu outside the copy",
			   (unsigned long long)off);
		FUZZ_CHECK(ptr - (uintptr_t)cap.copy == rd64((char *)msg + off) - cb,
			   "pointer at %llu rebased to another place",
			   (unsigned long long)off);
	}
	/* 12.7 on the copy. */
	nq = fuzz_u8(in) & 7;
	for (unsigned i = 0; i < nq; i++) {
		struct csr_call c = { .srv = S.s, .msg = mp, .process = p,
				      .cap = cap };
		struct query q;
		size_t off;
		uint32_t count, size;

		read_query(in, &q);
		off = q.off;
		count = q.count;
		size = q.size;
		if (q.string) {
			PWSTR *field = (PWSTR *)(void *)((char *)mp + off);
			uint32_t got = 0, ref = 0;
			bool r = csr_validate_string(&c, field, (ULONG *)&got);
			bool w = ref_validate_string(mp, off, &cap, &ref);

			FUZZ_CHECK(r == w && (!r || got == ref),
				   "csr_validate_string(field %zu): %d (%u "
				   "chars), spec 12.7: %d (%u)",
				   off, r, got, w, ref);
		} else {
			bool r = csr_validate_buffer(&c, (char *)mp + off,
						     count, size);

			FUZZ_CHECK(r == ref_validate_buffer(mp, off, count,
							    size, &cap, false),
				   "csr_validate_buffer(field %zu, %u x %u): "
				   "%d against spec 12.7",
				   off, count, size, r);
		}
	}
	csr_release_arguments(p, mp, &cap);
	FUZZ_CHECK(!memcmp(mp, msg, sizeof(*mp)),
		   "release did not give the message back as it came");
	/* Release wrote the copy over the client's buffer: put the view
	 * back as the client left it. */
	memcpy(G.server_map, G.shadow, VIEW_MAP);
}

/* ------------------------------------------------------------------ */
/* Building a call                                                     */
/* ------------------------------------------------------------------ */

static ULONG sel_api(struct fuzz_in *in)
{
	uint8_t b = fuzz_u8(in);
	unsigned n = G.napis[S.prof];

	if (b < 0xe0 && n)
		return G.apis[S.prof][b % n];
	switch (b & 15) {
	case 0:
		return fuzz_u32(in);
	case 1:		/* one past each DLL's table */
	case 2:		/* just below its base */
	case 3: {
		const struct csr_profile *pr = S.s->profile;
		unsigned i = fuzz_u8(in) % CSR_SERVER_DLL_MAX;
		unsigned base = pr->dlls[i].api_base;

		if ((b & 15) == 1)
			return i << 16 | (base + pr->dlls[i].count);
		if ((b & 15) == 2)
			return i << 16 | ((base - 1) & 0xffff);
		return i << 16 | 0xffff;
	}
	case 4:
		return 5u << 16;
	case 5:
		return 0xffffffffu;
	case 6:
		return CSR_SERVER_DLL_MAX << 16 | fuzz_u8(in);
	default:
		{
			ULONG dll = fuzz_u8(in) % 8;

			return dll << 16 | fuzz_u16(in);
		}
	}
}

struct arg {
	size_t field;		/* offset in the message */
	uint32_t len;
	uintptr_t ptr;		/* server address, 0 for none */
};

/*
 * The capture buffer, from the input; written into the view through the
 * client's mapping.  Returns the server address of CB (or whatever the
 * input put in CsrCaptureData) and fills the message's pointer fields.
 *  u8 ctl: bits 0-1 where (0 none, 1 at ViewBase + u16, 2 at ViewEnd -
 *  u16, 3 a chosen address outside); 4 Size u32; 8 PointerCount u32;
 *  16 slack u8; 32 an offsets entry overwritten; 64 a pointer moved;
 *  128 a field recorded twice.  u8 nargs, then per argument: u8 slot
 *  (or 0xff and a raw u16 offset), u16 length, u8 n + n bytes.
 */
static uintptr_t build_capture(struct fuzz_in *in, CSR_API_MESSAGE *msg)
{
	static uint8_t buf[VIEW_MAP];
	uint8_t ctl = fuzz_u8(in), nargs;
	uintptr_t cb = 0;
	struct arg a[8];
	uint32_t size, count, slack = 8, at;
	unsigned n = 0;

	switch (ctl & 3) {
	case 0:
		return 0;
	case 1:
		cb = S.vbase + fuzz_u16(in);
		break;
	case 2:
		cb = S.vend - fuzz_u16(in);
		break;
	default: {
		uint8_t w = fuzz_u8(in);
		static char heap_like[64];

		switch (w & 7) {
		case 0:
			cb = (uintptr_t)G.client_map + (w >> 3) * 8;
			if (cb >= S.vbase && cb < S.vend)
				cb = (uintptr_t)G.server_map + (w >> 3) * 8;
			break;	/* the client's address, not csrd's */
		case 1:
			cb = S.vbase - CB_HDR - (w >> 3);
			break;
		case 2:
			cb = S.vend + (w >> 3);
			break;
		case 3:
			cb = (uintptr_t)heap_like;
			break;
		case 4:
			cb = (uintptr_t)-1 - (w >> 3);
			break;
		case 5:
			cb = 1 + (w >> 3);
			break;
		default:
			cb = (uintptr_t)fuzz_u64(in);
			break;
		}
		msg->CsrCaptureData = (PCSR_CAPTURE_BUFFER)cb;
		return cb;
	}
	}
	nargs = fuzz_u8(in) % 9;
	for (unsigned i = 0; i < nargs; i++) {
		uint8_t slot = fuzz_u8(in);

		/* Data's 39 pointer slots, and the first offset past the
		 * message (376: csrd must refuse it without reading there). */
		a[n].field = slot == 0xff ? fuzz_u16(in)
					  : DATA_OFF + 8 * (slot % 40);
		a[n].len = fuzz_u16(in) % 0x4000;
		a[n].ptr = 0;
		n++;
	}
	/* Layout: header, offsets, then each argument rounded up to 4, as
	 * libcsr hands them out, then slack (libcsr's extra pointer). */
	count = 0;
	for (unsigned i = 0; i < n; i++)
		count += a[i].len != 0;
	if (ctl & 128)
		count++;
	if (ctl & 16)
		slack = fuzz_u8(in);
	at = CB_HDR + 8 * count;
	for (unsigned i = 0; i < n; i++) {
		if (!a[i].len)
			continue;
		a[i].ptr = cb + at;
		at += (a[i].len + 3) & ~3u;
	}
	size = at + slack;
	if (size > sizeof(buf))
		size = sizeof(buf);
	memset(buf, 0, size);
	{
		uint32_t k = 0;
		uint64_t off;

		for (unsigned i = 0; i < n; i++) {
			uint8_t nx = fuzz_u8(in);

			if (!a[i].len)
				continue;
			off = a[i].field;
			memcpy(buf + CB_HDR + 8 * k++, &off, 8);
			for (uint32_t j = 0; j < a[i].len; j++) {
				size_t pos = a[i].ptr - cb + j;

				if (pos < size)
					buf[pos] = j < nx ? fuzz_u8(in)
							  : (uint8_t)(j * 5 + 1);
			}
		}
		if ((ctl & 128) && n) {
			off = a[fuzz_u8(in) % n].field;
			memcpy(buf + CB_HDR + 8 * k++, &off, 8);
		}
	}
	/* Fields of the message: pointers into the buffer (NULL for an
	 * empty argument, as libcsr leaves it). */
	for (unsigned i = 0; i < n; i++)
		if (a[i].field <= MSG_SIZE - 8)
			memcpy((char *)msg + a[i].field, &a[i].ptr, 8);
	if (ctl & 4)
		size = fuzz_u32(in);
	if (ctl & 8)
		count = fuzz_u32(in);
	if (ctl & 32) {
		uint32_t i = fuzz_u8(in) % (count ? count : 1);
		uint64_t v = fuzz_u16(in);

		if (CB_HDR + 8 * (size_t)i + 8 <= sizeof(buf))
			memcpy(buf + CB_HDR + 8 * i, &v, 8);
	}
	if ((ctl & 64) && n) {
		unsigned i = fuzz_u8(in) % n;
		int16_t d = (int16_t)fuzz_u16(in);
		uintptr_t v = a[i].ptr + d;

		if (a[i].field <= MSG_SIZE - 8)
			memcpy((char *)msg + a[i].field, &v, 8);
	}
	memcpy(buf, &size, 4);
	memcpy(buf + 16, &count, 4);
	{
		uint32_t w = at + slack;

		/* What lies past the buffer is the client's too: leave it
		 * as the view had it. */
		client_write(cb, buf, w < sizeof(buf) ? w : sizeof(buf));
	}
	msg->CsrCaptureData = (PCSR_CAPTURE_BUFFER)cb;
	return cb;
}

/* ------------------------------------------------------------------ */
/* One call                                                            */
/* ------------------------------------------------------------------ */

static struct csr_process *proc_of(ULONG seq)
{
	struct csr_process *p = csr_process_by_sequence(S.s, seq);

	if (p)
		csr_process_put(S.s, p);
	return p;
}

static void one_call(struct fuzz_in *in)
{
	static CSR_API_MESSAGE orig;
	CSR_API_MESSAGE *const mp = G.msg[0];
	uint8_t kind = fuzz_u8(in), who = fuzz_u8(in);
	struct csr_server *s = S.s;
	pid_t pid = G.pid, tid;
	void *ctx = NULL;
	uint32_t dl, tl;
	uintptr_t cb;
	uint8_t nx;
	int type = LPC_REQUEST, mode = 0;
	unsigned long calls, refused;
	struct csr_process *target;
	NTSTATUS st;
	bool reply = false, ref_ok = false;

	/* mode 0: csr_server_handle; 1: csr_dispatch; 2: from server */
	switch (kind % 16) {
	case 10:
		type = LPC_DATAGRAM;
		break;
	case 11:
		type = fuzz_u8(in) & 0x0f;
		break;
	case 12:
		mode = 1;
		break;
	case 13:
		mode = 2;
		break;
	}
	switch (who & 3) {
	case 0:
		tid = G.main_tid;
		break;
	case 1:
		tid = G.parked_tid;
		break;
	case 2:
		tid = (pid_t)fuzz_u32(in);
		break;
	default:
		tid = 1;
		break;
	}
	switch ((who >> 2) & 3) {
	case 0:
		ctx = (void *)(uintptr_t)S.me->sequence;
		break;
	case 1:
		ctx = S.other ? (void *)(uintptr_t)S.other->sequence : NULL;
		if (S.other)
			pid = S.other->pid;
		break;
	case 2:
		ctx = (void *)(uintptr_t)fuzz_u32(in);
		break;
	}
	if (who & 16)
		pid = (pid_t)fuzz_u32(in);

	memset(mp, 0, sizeof(*mp));
	mp->ApiNumber = sel_api(in);
	/* What the engine delivers: lengths within the port's maximum,
	 * the caller's bytes up to header + ALIGN4(DataLength), zero past
	 * them (csrd's request loop clears the rest). */
	dl = fuzz_u16(in) % (MSG_SIZE - HDR_LEN + 1);
	tl = HDR_LEN + dl + fuzz_u8(in) % (MSG_SIZE - HDR_LEN - dl + 1);
	mp->Header.u1.s1.DataLength = (CSHORT)dl;
	mp->Header.u1.s1.TotalLength = (CSHORT)tl;
	mp->Header.u2.s2.Type = (CSHORT)type;
	mp->Header.ClientId.UniqueProcess = (HANDLE)(uintptr_t)pid;
	mp->Header.ClientId.UniqueThread = (HANDLE)(uintptr_t)tid;
	mp->Header.MessageId = 0x100 + (uint32_t)in->off;
	nx = fuzz_u8(in);
	for (unsigned i = 0; i < nx && i < 312; i++)
		((uint8_t *)&mp->Data)[i] = fuzz_u8(in);
	/* Ids only known at run time, where the input says: this pid, a
	 * thread of it, pid 1, NtCurrentProcess(). */
	for (unsigned n = fuzz_u8(in) & 3, i = 0; i < n; i++) {
		uint8_t slot = fuzz_u8(in) % 39, what = fuzz_u8(in);
		uint64_t v = what % 5 == 0   ? (uint64_t)G.pid
			     : what % 5 == 1 ? (uint64_t)G.main_tid
			     : what % 5 == 2 ? (uint64_t)G.parked_tid
			     : what % 5 == 3 ? 1
					     : (uint64_t)(uintptr_t)NtCurrentProcess();

		memcpy((char *)&mp->Data + 8 * slot, &v, 8);
	}
	cb = build_capture(in, mp);
	{
		uint32_t got = HDR_LEN + ((dl + 3) & ~3u);

		if (got < MSG_SIZE)
			memset((char *)mp + got, 0, MSG_SIZE - got);
		/* The header fields csrd uses sit past a short message: a
		 * client that sends one gets them zero (and so no capture
		 * buffer, ApiNumber 0). */
		cb = (uintptr_t)mp->CsrCaptureData;
	}
	memcpy(G.shadow, G.server_map, VIEW_MAP);

	target = mode == 2 ? &s->self : proc_of((ULONG)(uintptr_t)ctx);
	if (target && target->pid != pid && mode == 0)
		target = NULL;
	if (mode == 1)
		target = S.me;
	if (cb && target && mode != 2) {
		ref_ok = ref_capture(target->view_base, target->view_end, mp);
		check_capture(in, mp, target);
		if (ref_ok && S.nreg < MAXREG) {
			S.reg[S.nreg].lo = cb;
			S.reg[S.nreg].hi = cb + rd32((void *)cb);
			S.nreg++;
		}
	}
	memcpy(&orig, mp, sizeof(*mp));
	calls = s->calls;
	refused = s->refused_calls;
	sent_signal.count = 0;

	TRACE("call: mode %d type %d pid %d tid %d ctx %p api %#x dl %u cb %p "
	      "(%s)\n",
	      mode, type, (int)pid, (int)tid, ctx, (unsigned)mp->ApiNumber,
	      dl, (void *)cb, cb ? (ref_ok ? "valid" : "invalid") : "none");
	if (mode == 2) {
		/* csrd's own calls carry csrd's own pointers: none here. */
		memset(&mp->Data, 0, sizeof(mp->Data));
		mp->CsrCaptureData = NULL;
		st = csr_call_server_from_server(s, mp);
		FUZZ_CHECK(st == mp->Status, "server call status");
		if (!csr_profile_api_name(s->profile, mp->ApiNumber))
			FUZZ_CHECK(st == STATUS_ILLEGAL_FUNCTION,
				   "server call to %#x: 0x%08x",
				   (unsigned)mp->ApiNumber, (unsigned)st);
	} else if (mode == 1) {
		enum csr_reply_code rc;
		struct csr_thread *t;

		pthread_mutex_lock(&S.me->lock);
		t = csr_thread_find(S.me, tid);
		pthread_mutex_unlock(&S.me->lock);
		rc = csr_dispatch(s, S.me, t, mp, kind & 16);
		FUZZ_CHECK(rc >= CsrReplyImmediately && rc <= CsrReplyAlreadySent,
			   "reply code %d", rc);
		if (rc == CsrReplyDeadClient) {
			csr_process_destroy(s, S.me);
			/* the harness keeps its reference until the end */
		}
		reply = rc == CsrReplyImmediately;
	} else {
		struct csr_process *to = NULL;

		reply = csr_server_handle(s, ctx, mp, &to);
		csr_process_put(s, to);
	}
	st = mp->Status;
	TRACE("  -> %s status 0x%08x calls %lu refused %lu\n",
	      reply ? "reply" : "no reply", (unsigned)st, s->calls - calls,
	      s->refused_calls - refused);

	/* csrd acts for a process only when its PortContext and the
	 * ClientId the engine vouches for name the same one. */
	FUZZ_CHECK(mode != 0 || s->calls == calls ||
			   (target && target->pid == pid),
		   "dispatched for PortContext %p and pid %d, which name no "
		   "one process",
		   ctx, (int)pid);
	/* The dispatcher's verdicts. */
	if (mode != 2 && s->calls != calls) {
		const char *name = csr_profile_api_name(s->profile,
							orig.ApiNumber);

		if (!name) {
			FUZZ_CHECK(st == STATUS_ILLEGAL_FUNCTION &&
					   s->refused_calls == refused + 1,
				   "ApiNumber %#x outside the tables: "
				   "0x%08x",
				   (unsigned)orig.ApiNumber, (unsigned)st);
		} else if (cb && !ref_ok) {
			FUZZ_CHECK(st == STATUS_INVALID_PARAMETER &&
					   s->refused_calls == refused + 1,
				   "%s with a capture buffer spec 12.6 refuses: "
				   "0x%08x",
				   name, (unsigned)st);
			orig.Status = mp->Status;
			FUZZ_CHECK(!memcmp(&orig, mp, sizeof(*mp)),
				   "%s: a refused capture buffer changed the "
				   "message",
				   name);
		} else {
			FUZZ_CHECK(s->refused_calls == refused,
				   "%s refused a valid call", name);
		}
	}
	if (reply) {
		FUZZ_CHECK(known_status(st) ||
				   (mode == 0 && type == LPC_EXCEPTION),
			   "status 0x%08x", (unsigned)st);
		if (type == LPC_REQUEST && cb && ref_ok)
			FUZZ_CHECK((uintptr_t)mp->CsrCaptureData == cb,
				   "CsrCaptureData %p after the reply, %p sent",
				   (void *)mp->CsrCaptureData, (void *)cb);
	}
	if (sent_signal.count) {
		/* Ending a process: never csrd, only a process it knows. */
		FUZZ_CHECK(sent_signal.sig == SIGTERM ||
				   sent_signal.sig == SIGKILL,
			   "signal %d", sent_signal.sig);
		FUZZ_CHECK(sent_signal.pid > 0,
			   "signal through a pidfd of no process");
	}
	check_view("after the call");
}

/* ------------------------------------------------------------------ */
/* The input                                                           */
/* ------------------------------------------------------------------ */

/*
 * A real connection to the ApiPort: a raw client (this process) sends a
 * connection request with the memfd as its view, csrd's handle_connect
 * accepts it and the engine maps the view, as in csrd.  Returns the
 * process record (referenced), or NULL.
 */
static struct csr_process *real_connect(void)
{
	static CSR_API_MESSAGE msg;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct {
		struct lpc_wire w;
		CSR_API_CONNECTINFO ci;
	} pkt = { .w = { .magic = LPC_WIRE_MAGIC,
			 .version = LPC_WIRE_VERSION,
			 .op = LPC_OP_CONNECT,
			 .flags = LPC_WF_VIEW,
			 .msgid = 0x4000,
			 .arg0 = VIEW_MAP,
			 .aux = 2 | 0x100 | 0x200 } };
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct iovec iov = { &pkt, sizeof(pkt) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = ctl.b,
			     .msg_controllen = sizeof(ctl.b) };
	LARGE_INTEGER zero = { .QuadPart = 0 };
	struct csr_process *to = NULL;
	NTSTATUS st = STATUS_TIMEOUT;
	void *ctx = NULL;

	pkt.w.tid = G.main_tid;
	S.raw = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	memcpy(sa.sun_path, G.api_path, strlen(G.api_path) + 1);
	if (S.raw < 0 || connect(S.raw, (struct sockaddr *)&sa, sizeof(sa)))
		fuzz_hang("connecting to the ApiPort");
	memset(&ctl, 0, sizeof(ctl));
	CMSG_FIRSTHDR(&mh)->cmsg_level = SOL_SOCKET;
	CMSG_FIRSTHDR(&mh)->cmsg_type = SCM_RIGHTS;
	CMSG_FIRSTHDR(&mh)->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(CMSG_FIRSTHDR(&mh)), &G.memfd, sizeof(int));
	if (sendmsg(S.raw, &mh, MSG_NOSIGNAL) != (ssize_t)sizeof(pkt))
		fuzz_hang("connection request");
	/* csrd's loop: receive (a zero timeout drives once: accept, then
	 * read), clear past the delivered bytes, handle. */
	for (int i = 0; i < 4 && st == STATUS_TIMEOUT; i++)
		st = NtReplyWaitReceivePortEx(G.api_port, &ctx, NULL,
					      &msg.Header, &zero);
	FUZZ_CHECK(st == STATUS_SUCCESS &&
			   msg.Header.u2.s2.Type == LPC_CONNECTION_REQUEST,
		   "ApiPort receive: 0x%08x", (unsigned)st);
	FUZZ_CHECK(!csr_server_handle(S.s, ctx, &msg, &to) && !to,
		   "a connection request was replied to");
	return csr_process_get(S.s, G.pid);
}

/* The ApiPort's domain is quiet: nothing queued, no connection. */
static bool api_quiet(void)
{
	struct lpc_port *p;
	bool quiet;

	if (lpc_port_get(G.api_port, &p))
		return true;
	lpc_dom_lock(p->dom);
	quiet = !p->dom->qhead && !p->dom->links;
	lpc_dom_unlock(p->dom);
	lpc_obj_unref(p);
	return quiet;
}

/* The raw client leaves; csrd's port reads its hangup. */
static void real_disconnect(void)
{
	static CSR_API_MESSAGE msg;
	LARGE_INTEGER zero = { .QuadPart = 0 };

	if (S.raw >= 0)
		close(S.raw);
	S.raw = -1;
	for (int i = 0; i < 64 && !api_quiet(); i++)
		NtReplyWaitReceivePortEx(G.api_port, NULL, NULL, &msg.Header,
					 &zero);
	FUZZ_CHECK(api_quiet(), "the ApiPort does not quiet down");
}

/*
 * libFuzzer (which defines LLVMFuzzerMutate) opens fds of its own between
 * inputs: the pipes to llvm-symbolizer when it prints a new function.
 * There each input is measured against the state it started from; under
 * AFL++ and in replay nothing else runs, and the state after set-up is
 * the baseline of every input.
 */
extern size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max)
	__attribute__((weak));

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	setenv("LPC_BACKEND", "sync", 1);
	fuzz_init();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* 0: a real connection (the engine maps the view); else the view
	 * of that size at the end of csrd's guarded mapping. */
	static const uint32_t views[8] = { 0, VIEW_MAP, 4096, 8192, 32768,
					   VIEW_MAP - 8, 12288, 100 };
	struct fuzz_in in = { data, size, 0 };
	uint8_t b;
	NTSTATUS st;
	int calls = 0;

	if (!G.ready) {
		setup();
		DISCARD_SETUP_COVERAGE();
	}
	if (LLVMFuzzerMutate)
		fuzz_snapshot_take(&G.snap);
	b = fuzz_u8(&in);
	S.prof = b & 3;
	S.s = &G.srv[S.prof][(b >> 2) & 1];
	S.nreg = 0;
	memset(G.client_map, 0, VIEW_MAP);
	memcpy(G.shadow, G.server_map, VIEW_MAP);
	S.raw = -1;
	if (!views[(b >> 3) & 7]) {
		/* This process connects for real: handle_connect makes its
		 * record and the engine maps its view. */
		S.me = real_connect();
		FUZZ_CHECK(S.me && S.me->view_base &&
				   S.me->view_end - S.me->view_base == VIEW_MAP,
			   "handle_connect left no 64 KiB view");
		S.vmap = S.vbase = S.me->view_base;
		S.vend = S.me->view_end;
	} else {
		/* The view ends where csrd's mapping does (a guard page
		 * follows); the record as handle_connect makes it. */
		S.vmap = (uintptr_t)G.server_map;
		S.vend = S.vmap + VIEW_MAP;
		S.vbase = S.vend - views[(b >> 3) & 7];
		S.me = csr_process_new(S.s, G.pid, G.main_tid, &st);
		FUZZ_CHECK(S.me, "csr_process_new: 0x%08x", (unsigned)st);
		S.me->view_base = S.vbase;
		S.me->view_end = S.vend;
		S.me->state = CSR_PROCESS_CONNECTED;
	}
	/* Maybe a second thread and another process. */
	if (b & 0x40)
		csr_thread_register(S.s, S.me, G.parked_tid);
	S.other = NULL;
	if (b & 0x80) {
		/* pid 1: a real process csrd may be asked about; it has no
		 * view. */
		S.other = csr_process_new(S.s, 1, 1, &st);
		if (S.other)
			S.other->state = CSR_PROCESS_CONNECTED;
	}

	while (!fuzz_done(&in) && calls++ < MAXCALLS)
		one_call(&in);

	csr_process_put(S.s, S.me);
	csr_process_put(S.s, S.other);
	reset_server(S.s);
	real_disconnect();
	check_view("after the reset");
	fuzz_snapshot_check(&G.snap, "csr");
	return 0;
}
