/* SPDX-License-Identifier: MIT */
/*
 * lpc-exception - a server that is also its client's exception port, and
 * the death notices it receives when that client dies.
 *
 *   lpc-exception demo           the client faults twice: the server
 *                                repairs the first fault (DBG_CONTINUE)
 *                                and refuses the second (a NULL write):
 *                                the client dies of SIGSEGV
 *   lpc-exception demo --fpe     the same, the second fault an integer
 *                                divide by zero (SIGFPE)
 *   lpc-exception demo --kill    no fault: the server holds the client's
 *                                second request and kills it (SIGKILL)
 *
 * The server (this process) creates "\RPC Control\LpcException" and forks
 * the client.  The client connects, makes the connection its process's
 * exception port (NtSetInformationProcess(ProcessExceptionPort)) and its
 * thread's termination port (NtRegisterThreadTerminatePort), as a CSRSS
 * client does, and sends a request naming a "window": a page of a shared
 * file that is still empty.  Then it writes into the window: the page has
 * no backing yet, so the store faults (SIGBUS: STATUS_IN_PAGE_ERROR).  The
 * server receives LPC_EXCEPTION, sees that the address is the window it
 * backs, grows the file (it holds the same memfd) and answers
 * DBG_CONTINUE: the store is retried and succeeds, which the server checks
 * through its own mapping of the file.  The second fault touches nothing
 * the server owns: DBG_EXCEPTION_NOT_HANDLED, the signal goes to its
 * previous disposition and the client process dies.  The server then
 * receives LPC_CLIENT_DIED and LPC_PORT_CLOSED although it only ever
 * received one connection request (docs/examples/exception.md says where
 * they come from), closes the connection and reports.
 *
 * Every message received is printed with its type, ClientId, MessageId
 * and PortContext.  Every wait is bounded (NtReplyWaitReceivePortEx, the
 * client's alarm(), a bounded reap); the client dies with the server.
 * Exit status: 0 when everything expected happened, 1 otherwise (the last
 * line says what was missing), 2 for usage.  The demo runs in a fresh
 * temporary $LPC_ROOT unless LPC_ROOT is set.
 *
 * Under AddressSanitizer the previous disposition of SIGSEGV and SIGFPE is
 * ASan's own handler: the refused fault is reported by ASan and the client
 * exits with ASan's exit code instead of dying of the signal.
 */
#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <lpc/lpc.h>

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

#define PORT_NAME "\\RPC Control\\LpcException"
#define CONTEXT ((PVOID)0xc11e47)	/* this connection's PortContext */
#define RECV_MS 5000			/* any one expected message */
#define QUIET_MS 200			/* "nothing else arrives" */
#define REAP_MS 5000			/* the client's end */
#define CLIENT_ALARM_S 20		/* the client's own bound */
#define VALUE 42			/* what the client stores */

enum mode { MODE_SEGV, MODE_FPE, MODE_KILL };

/* What the client says in its requests. */
enum op { OP_HELLO = 1, OP_WROTE, OP_HOLD };

struct req_data {
	uint32_t op;
	uint32_t value;		/* OP_WROTE: what the client read back */
	uint64_t addr;		/* OP_HELLO: the window's address */
	char text[48];
};

typedef struct {
	PORT_MESSAGE h;
	UCHAR data[LPC_MAX_MESSAGE_LENGTH];
} msg_t;

_Static_assert(sizeof(DBGKM_APIMSG) <= sizeof(msg_t), "msg_t too small");

static long page_size;

/* ------------------------------------------------------------------ */
/* Names                                                               */
/* ------------------------------------------------------------------ */

static const char *type_name(int type)
{
	static const char *const names[] = {
		"LPC_NEW_MESSAGE", "LPC_REQUEST", "LPC_REPLY",
		"LPC_DATAGRAM", "LPC_LOST_REPLY", "LPC_PORT_CLOSED",
		"LPC_CLIENT_DIED", "LPC_EXCEPTION", "LPC_DEBUG_EVENT",
		"LPC_ERROR_EVENT", "LPC_CONNECTION_REQUEST",
	};

	type &= 0x0fff;
	return type >= 0 && type <= 10 ? names[type] : "?";
}

static const char *status_name(NTSTATUS s)
{
#define S(x) { x, #x }
	static const struct {
		NTSTATUS s;
		const char *name;
	} names[] = {
		S(STATUS_SUCCESS), S(STATUS_TIMEOUT), S(DBG_CONTINUE),
		S(DBG_EXCEPTION_NOT_HANDLED), S(STATUS_BREAKPOINT),
		S(STATUS_SINGLE_STEP), S(STATUS_DATATYPE_MISALIGNMENT),
		S(STATUS_ACCESS_VIOLATION), S(STATUS_IN_PAGE_ERROR),
		S(STATUS_ILLEGAL_INSTRUCTION), S(STATUS_PRIVILEGED_INSTRUCTION),
		S(STATUS_INTEGER_DIVIDE_BY_ZERO), S(STATUS_INTEGER_OVERFLOW),
		S(STATUS_FLOAT_DIVIDE_BY_ZERO), S(STATUS_FLOAT_OVERFLOW),
		S(STATUS_FLOAT_UNDERFLOW), S(STATUS_FLOAT_INVALID_OPERATION),
		S(STATUS_INVALID_INFO_CLASS), S(STATUS_INFO_LENGTH_MISMATCH),
		S(STATUS_INVALID_HANDLE), S(STATUS_INVALID_CID),
		S(STATUS_PORT_ALREADY_SET), S(STATUS_PORT_DISCONNECTED),
		S(STATUS_REPLY_MESSAGE_MISMATCH), S(STATUS_LPC_REPLY_LOST),
		S(STATUS_OBJECT_NAME_NOT_FOUND),
		S(STATUS_PORT_CONNECTION_REFUSED), S(STATUS_NO_MEMORY),
	};
#undef S

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].s == s)
			return names[i].name;
	return "?";
}

static void to_unicode(const char *s, UNICODE_STRING *us, WCHAR *buf,
		       size_t cap)
{
	size_t n = strlen(s);

	if (n >= cap)
		n = cap - 1;
	for (size_t i = 0; i < n; i++)
		buf[i] = (WCHAR)(unsigned char)s[i];
	buf[n] = 0;
	RtlInitUnicodeString(us, buf);
}

static unsigned long cid_pid(const PORT_MESSAGE *m)
{
	return (unsigned long)(uintptr_t)m->ClientId.UniqueProcess;
}

static unsigned long cid_tid(const PORT_MESSAGE *m)
{
	return (unsigned long)(uintptr_t)m->ClientId.UniqueThread;
}

/* ------------------------------------------------------------------ */
/* The faults.  Written in assembly on x86-64 so that no compiler or     */
/* sanitizer turns them into something else (a NULL store is undefined  */
/* behaviour: GCC may emit ud2, UBSan would abort first).                */
/* ------------------------------------------------------------------ */

static void __attribute__((noinline)) window_write(volatile uint32_t *w)
{
	*w = VALUE;
}

#if defined(__x86_64__)
static void __attribute__((noinline)) null_write(void)
{
	__asm__ volatile("movl $42, (%0)" : : "r"((uintptr_t)0) : "memory");
}

static int __attribute__((noinline)) divide(int n, int d)
{
	int q;

	__asm__ volatile("cltd\n\tidivl %2"
			 : "=a"(q)
			 : "a"(n), "r"(d)
			 : "edx", "cc");
	return q;
}
#else
static void __attribute__((noinline,
			   no_sanitize("address", "undefined")))
null_write(void)
{
	volatile uint32_t *volatile p = NULL;

	*p = VALUE;
}

static int __attribute__((noinline, no_sanitize("undefined")))
divide(int n, int d)
{
	volatile int dd = d;

	return n / dd;	/* traps only where the CPU does (not arm64) */
}
#endif

/* "fn+off" when addr lies in one of the functions above (the client is a
 * fork of this process: same addresses). */
static const char *where(uint64_t addr)
{
	static char buf[64];
	static const struct {
		const char *name;
		uintptr_t fn;
	} fns[] = {
		{ "window_write", (uintptr_t)window_write },
		{ "null_write", (uintptr_t)null_write },
		{ "divide", (uintptr_t)divide },
	};
	const char *best = NULL;
	uintptr_t off = 0;

	for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++)
		if (addr >= fns[i].fn && addr - fns[i].fn < 256 &&
		    (!best || addr - fns[i].fn < off)) {
			best = fns[i].name;
			off = addr - fns[i].fn;
		}
	if (!best)
		return "";
	snprintf(buf, sizeof(buf), " (%s+%lu)", best, (unsigned long)off);
	return buf;
}

/* ------------------------------------------------------------------ */
/* The client                                                          */
/* ------------------------------------------------------------------ */

static void __attribute__((noreturn)) client_fail(const char *what,
						  NTSTATUS s)
{
	printf("client: %s failed: 0x%08x %s\n", what, (unsigned)s,
	       status_name(s));
	_exit(3);
}

static void client_request(HANDLE port, enum op op, uint32_t value,
			   uint64_t addr, const char *text)
{
	msg_t req, rep;
	struct req_data d = { .op = op, .value = value, .addr = addr };
	NTSTATUS s;

	snprintf(d.text, sizeof(d.text), "%s", text);
	memset(&req.h, 0, sizeof(req.h));
	memcpy(req.data, &d, sizeof(d));
	req.h.u1.s1.DataLength = sizeof(d);
	req.h.u1.s1.TotalLength = sizeof(PORT_MESSAGE) + sizeof(d);
	s = NtRequestWaitReplyPort(port, &req.h, &rep.h);
	if (s != STATUS_SUCCESS)
		client_fail("NtRequestWaitReplyPort", s);
}

static void __attribute__((noreturn)) client(enum mode mode, int memfd,
					     pid_t server)
{
	SECURITY_QUALITY_OF_SERVICE qos = { sizeof(qos), SecurityImpersonation,
					    SECURITY_DYNAMIC_TRACKING, TRUE };
	UNICODE_STRING us;
	WCHAR buf[64];
	HANDLE port;
	NTSTATUS s;
	volatile uint32_t *window;
	char text[48];

	/* Die with the server; never outlive a stuck run. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != server)
		_exit(4);
	alarm(CLIENT_ALARM_S);

	to_unicode(PORT_NAME, &us, buf, 64);
	s = NtConnectPort(&port, &us, &qos, NULL, NULL, NULL, NULL, NULL);
	if (s != STATUS_SUCCESS)
		client_fail("NtConnectPort", s);
	printf("client: connected to %s\n", PORT_NAME);

	/* The connection becomes the process's exception port ... */
	s = NtSetInformationProcess(NtCurrentProcess(), ProcessExceptionPort,
				    &port, sizeof(port));
	printf("client: NtSetInformationProcess(ProcessExceptionPort) = "
	       "0x%08x %s\n", (unsigned)s, status_name(s));
	if (s != STATUS_SUCCESS)
		client_fail("ProcessExceptionPort", s);
	/* ... a debug port cannot be set here: the engine refuses it. */
	s = NtSetInformationProcess(NtCurrentProcess(), ProcessDebugPort,
				    &port, sizeof(port));
	printf("client: NtSetInformationProcess(ProcessDebugPort) = "
	       "0x%08x %s%s\n", (unsigned)s, status_name(s),
	       s == STATUS_INVALID_INFO_CLASS ? " (no debug ports here)" : "");
	/* ... and this thread's termination port, as CSRSS clients do. */
	s = NtRegisterThreadTerminatePort(port);
	printf("client: NtRegisterThreadTerminatePort = 0x%08x %s\n",
	       (unsigned)s, status_name(s));
	if (s != STATUS_SUCCESS)
		client_fail("NtRegisterThreadTerminatePort", s);

	/* The window: a page of the server's file, which is still empty. */
	window = mmap(NULL, (size_t)page_size, PROT_READ | PROT_WRITE,
		      MAP_SHARED, memfd, 0);
	if (window == MAP_FAILED)
		client_fail("mmap", STATUS_NO_MEMORY);
	printf("client: request: hello, my window is at %p\n",
	       (void *)window);
	client_request(port, OP_HELLO, 0, (uint64_t)(uintptr_t)window,
		       "hello");

	if (mode == MODE_KILL) {
		printf("client: request: please hold this one\n");
		client_request(port, OP_HOLD, 0, 0, "hold");
		printf("client: still alive after the hold?\n");
		_exit(5);
	}

	printf("client: writing %d into the window (the file has no page "
	       "there yet: SIGBUS)\n", VALUE);
	window_write(window);
	printf("client: the store went through: the window holds %u\n",
	       (unsigned)*window);
	snprintf(text, sizeof(text), "wrote %u", (unsigned)*window);
	printf("client: request: %s\n", text);
	client_request(port, OP_WROTE, *window, 0, text);

	if (mode == MODE_FPE) {
		printf("client: dividing %d by 0 (SIGFPE)\n", VALUE);
		printf("client: the quotient is %d?\n", divide(VALUE, 0));
	} else {
		printf("client: writing to address 0 (SIGSEGV)\n");
		null_write();
		printf("client: still alive after writing to 0?\n");
	}
	_exit(6);
}

/* ------------------------------------------------------------------ */
/* The server                                                          */
/* ------------------------------------------------------------------ */

struct server {
	enum mode mode;
	HANDLE port, comm;
	int memfd;
	pid_t child;
	unsigned long cpid, ctid;	/* the ClientId that connected */
	uint64_t window;		/* the client's address of the page */
	volatile uint32_t *mine;	/* the server's mapping of it */
	msg_t held;			/* --kill: the request held */
	/* what happened */
	int connections, hellos, wrote_ok, held_n;
	int exc_continued, exc_refused, died, closed, unexpected;
	bool died_before_closed, cid_ok;
	NTSTATUS fatal_code, late_reply;
};

static void print_ctime(int64_t t)
{
	time_t secs = (time_t)(t / 10000000 - 11644473600LL);
	int cs = (int)(t % 10000000 / 100000);
	struct tm tm;
	char when[32] = "?";

	if (t > 0 && gmtime_r(&secs, &tm))
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	printf("server:   CreateTime %lld = %s.%02d UTC\n", (long long)t, when,
	       cs);
}

static bool is_client(struct server *sv, const PORT_MESSAGE *m)
{
	return cid_pid(m) == sv->cpid && cid_tid(m) == sv->ctid;
}

/* Printed before the reply: once it is sent the client runs on, and its
 * lines must not race this one. */
static void reply(struct server *sv, msg_t *m, const char *what)
{
	NTSTATUS s;

	printf("server:   -> NtReplyPort: %s\n", what);
	s = NtReplyPort(sv->port, &m->h);
	if (s != STATUS_SUCCESS) {
		printf("server:   NtReplyPort failed: 0x%08x %s\n", (unsigned)s,
		       status_name(s));
		sv->unexpected++;
	}
}

static void on_request(struct server *sv, msg_t *m)
{
	struct req_data d;

	if (m->h.u1.s1.DataLength != sizeof(d) || !is_client(sv, &m->h)) {
		sv->unexpected++;
		return;
	}
	memcpy(&d, m->data, sizeof(d));
	d.text[sizeof(d.text) - 1] = 0;
	printf("server:   \"%s\"\n", d.text);
	switch (d.op) {
	case OP_HELLO:
		sv->hellos++;
		sv->window = d.addr;
		printf("server:   the client's window on my file is at "
		       "0x%llx\n", (unsigned long long)d.addr);
		reply(sv, m, "the answer");
		break;
	case OP_WROTE: {
		uint32_t seen = *sv->mine;

		printf("server:   my own mapping of the file reads %u\n",
		       (unsigned)seen);
		if (d.value == VALUE && seen == VALUE)
			sv->wrote_ok++;
		reply(sv, m, "the answer");
		break;
	}
	case OP_HOLD:
		sv->held = *m;
		sv->held_n++;
		printf("server:   holding it unanswered; killing client %d "
		       "with SIGKILL\n", (int)sv->child);
		kill(sv->child, SIGKILL);
		break;
	default:
		sv->unexpected++;
	}
}

static void on_exception(struct server *sv, msg_t *m)
{
	DBGKM_APIMSG *x = (DBGKM_APIMSG *)(void *)m;
	EXCEPTION_RECORD *er = &x->u.Exception.ExceptionRecord;
	uint64_t addr = er->NumberParameters >= 2 ? er->ExceptionInformation[1]
						  : 0;
	NTSTATUS verdict = DBG_EXCEPTION_NOT_HANDLED;

	printf("server:   ApiNumber %d  ReturnedStatus 0x%08x  FirstChance "
	       "%u\n", (int)x->ApiNumber, (unsigned)x->ReturnedStatus,
	       (unsigned)x->u.Exception.FirstChance);
	printf("server:   ExceptionCode 0x%08x %s\n",
	       (unsigned)er->ExceptionCode, status_name(er->ExceptionCode));
	printf("server:   ExceptionAddress %p%s\n", er->ExceptionAddress,
	       where((uint64_t)(uintptr_t)er->ExceptionAddress));
	printf("server:   NumberParameters %u", (unsigned)er->NumberParameters);
	for (ULONG i = 0; i < er->NumberParameters &&
			  i < EXCEPTION_MAXIMUM_PARAMETERS; i++)
		printf("  [%u] 0x%llx%s", (unsigned)i,
		       (unsigned long long)er->ExceptionInformation[i],
		       i == 0 ? " (1 = write)" : i == 1 ? " (the address)"
							: "");
	printf("\n");
	if (!is_client(sv, &m->h) ||
	    m->h.u1.s1.TotalLength != sizeof(DBGKM_APIMSG)) {
		sv->unexpected++;
	} else if (er->ExceptionCode == STATUS_IN_PAGE_ERROR &&
		   er->NumberParameters >= 2 && sv->window &&
		   addr >= sv->window &&
		   addr - sv->window < (uint64_t)page_size) {
		/* Ours to repair: give the page a backing, then the retried
		 * store finds it. */
		if (ftruncate(sv->memfd, page_size) == 0) {
			printf("server:   decision: 0x%llx is in the window I "
			       "back; file grown to %ld bytes: "
			       "DBG_CONTINUE\n", (unsigned long long)addr,
			       page_size);
			verdict = DBG_CONTINUE;
			sv->exc_continued++;
		}
	} else {
		printf("server:   decision: not a fault I can repair: "
		       "DBG_EXCEPTION_NOT_HANDLED\n");
		sv->exc_refused++;
		sv->fatal_code = er->ExceptionCode;
	}
	x->ReturnedStatus = verdict;
	reply(sv, m, "the verdict in ReturnedStatus");
}

/* One message, printed and acted on.  Returns false when the conversation
 * is over (LPC_PORT_CLOSED, or a receive that failed). */
static bool serve_one(struct server *sv, long ms)
{
	LARGE_INTEGER timeout = { .QuadPart = -(LONGLONG)ms * 10000 };
	msg_t m;
	PVOID ctx = NULL;
	NTSTATUS s;
	int type;

	memset(&m.h, 0, sizeof(m.h));
	s = NtReplyWaitReceivePortEx(sv->port, &ctx, NULL, &m.h, &timeout);
	if (s == STATUS_TIMEOUT) {
		printf("server: nothing received within %ld ms\n", ms);
		return false;
	}
	if (s != STATUS_SUCCESS) {
		printf("server: NtReplyWaitReceivePortEx = 0x%08x %s\n",
		       (unsigned)s, status_name(s));
		sv->unexpected++;
		return false;
	}
	type = m.h.u2.s2.Type & 0x0fff;
	printf("server: received %-22s from %lu.%lu  MessageId %u  ctx %p\n",
	       type_name(type), cid_pid(&m.h), cid_tid(&m.h), m.h.MessageId,
	       ctx);
	if (type != LPC_CONNECTION_REQUEST && ctx != CONTEXT)
		sv->unexpected++;
	switch (type) {
	case LPC_CONNECTION_REQUEST:
		if (sv->connections++ || cid_pid(&m.h) != (unsigned long)
							     sv->child) {
			HANDLE none;

			sv->unexpected++;
			NtAcceptConnectPort(&none, NULL, &m.h, FALSE, NULL,
					    NULL);
			break;
		}
		sv->cpid = cid_pid(&m.h);
		sv->ctid = cid_tid(&m.h);
		/* Printed first: completing releases the client. */
		printf("server:   -> accepting it with PortContext %p\n",
		       CONTEXT);
		s = NtAcceptConnectPort(&sv->comm, CONTEXT, &m.h, TRUE, NULL,
					NULL);
		if (s == STATUS_SUCCESS)
			s = NtCompleteConnectPort(sv->comm);
		if (s != STATUS_SUCCESS) {
			printf("server:   accepting failed: 0x%08x %s\n",
			       (unsigned)s, status_name(s));
			sv->unexpected++;
		}
		break;
	case LPC_REQUEST:
		on_request(sv, &m);
		break;
	case LPC_EXCEPTION:
		on_exception(sv, &m);
		break;
	case LPC_CLIENT_DIED: {
		CLIENT_DIED_MSG *d = (CLIENT_DIED_MSG *)(void *)&m;

		print_ctime(d->CreateTime.QuadPart);
		printf("server:   the thread that registered this connection "
		       "as its termination port is gone\n");
		sv->died++;
		if (!is_client(sv, &m.h) || d->CreateTime.QuadPart <= 0 ||
		    m.h.u1.s1.DataLength != sizeof(LARGE_INTEGER))
			sv->unexpected++;
		break;
	}
	case LPC_PORT_CLOSED: {
		CLIENT_DIED_MSG *d = (CLIENT_DIED_MSG *)(void *)&m;

		print_ctime(d->CreateTime.QuadPart);
		sv->closed++;
		sv->died_before_closed = sv->died > 0;
		if (cid_pid(&m.h) != sv->cpid)
			sv->unexpected++;
		if (sv->held_n) {
			sv->late_reply = NtReplyPort(sv->comm, &sv->held.h);
			printf("server:   late reply to the held request "
			       "(MessageId %u): 0x%08x %s\n",
			       sv->held.h.MessageId, (unsigned)sv->late_reply,
			       status_name(sv->late_reply));
		}
		printf("server:   the client's port is gone: closing my end "
		       "of the connection\n");
		NtClose(sv->comm);
		sv->comm = NULL;
		return false;
	}
	default:
		sv->unexpected++;
	}
	return true;
}

/* The client's wait status within REAP_MS (killed if it takes longer). */
static int reap(pid_t pid)
{
	int st = 0;

	for (int i = 0; i < REAP_MS / 10; i++) {
		pid_t r = waitpid(pid, &st, WNOHANG);

		if (r == pid)
			return st;
		if (r < 0 && errno != EINTR)
			return -1;
		usleep(10000);
	}
	printf("server: client %d did not end within %d ms: killing it\n",
	       (int)pid, REAP_MS);
	kill(pid, SIGKILL);
	return waitpid(pid, &st, 0) == pid ? st : -1;
}

/* Did the client end the way the verdicts say it must? */
static bool judge_end(struct server *sv, int st)
{
	int want = sv->mode == MODE_KILL ? SIGKILL
		   : sv->mode == MODE_FPE ? SIGFPE : SIGSEGV;

	if (st == -1) {
		printf("server: client %d: no wait status\n", (int)sv->child);
		return false;
	}
	if (WIFSIGNALED(st)) {
		const char *abbrev = sigabbrev_np(WTERMSIG(st));

		printf("server: client %d was killed by signal %d (SIG%s)\n",
		       (int)sv->child, WTERMSIG(st), abbrev ? abbrev : "?");
		return WTERMSIG(st) == want;
	}
	printf("server: client %d exited with status %d\n", (int)sv->child,
	       WEXITSTATUS(st));
	if (UNDER_ASAN && want != SIGKILL && WEXITSTATUS(st) != 0) {
		/* The refused fault went to ASan's handler, which reports
		 * and exits: handed on, as it should be. */
		printf("server:   (AddressSanitizer build: ASan's own handler "
		       "was the previous disposition)\n");
		return true;
	}
	return false;
}

static int report(struct server *sv, bool end_ok)
{
	char why[512] = "";
	size_t n = 0;

#define MISSING(cond, text)                                                    \
	do {                                                                   \
		if (!(cond))                                                   \
			n += (size_t)snprintf(why + n, sizeof(why) - n,        \
					      "%s%s", n ? "; " : "", text);    \
		if (n >= sizeof(why))                                          \
			n = sizeof(why) - 1;                                   \
	} while (0)
	MISSING(sv->connections == 1, "one connection request");
	MISSING(sv->hellos == 1, "the hello request");
	if (sv->mode == MODE_KILL) {
		MISSING(sv->held_n == 1, "the held request");
		MISSING(sv->exc_continued + sv->exc_refused == 0,
			"no exception");
		MISSING(!NT_SUCCESS(sv->late_reply),
			"a failed late reply to the killed client");
	} else {
		NTSTATUS want = sv->mode == MODE_FPE
					? STATUS_INTEGER_DIVIDE_BY_ZERO
					: STATUS_ACCESS_VIOLATION;

		MISSING(sv->exc_continued == 1,
			"STATUS_IN_PAGE_ERROR in the window, continued");
		MISSING(sv->wrote_ok == 1, "the store seen in my mapping");
		MISSING(sv->exc_refused == 1 && sv->fatal_code == want,
			sv->mode == MODE_FPE
				? "STATUS_INTEGER_DIVIDE_BY_ZERO, not handled"
				: "STATUS_ACCESS_VIOLATION, not handled");
	}
	MISSING(sv->died == 1, "one LPC_CLIENT_DIED");
	MISSING(sv->closed == 1, "one LPC_PORT_CLOSED");
	MISSING(sv->died_before_closed, "LPC_CLIENT_DIED before LPC_PORT_CLOSED");
	MISSING(end_ok, "the client's end as decided");
	MISSING(sv->unexpected == 0, "no unexpected message or status");
#undef MISSING
	if (n) {
		printf("result: FAILED: missing: %s\n", why);
		return 1;
	}
	if (sv->mode == MODE_KILL)
		printf("result: ok: held request, SIGKILL, LPC_CLIENT_DIED, "
		       "LPC_PORT_CLOSED\n");
	else
		printf("result: ok: 2 exceptions (1 continued, 1 not handled), "
		       "LPC_CLIENT_DIED, LPC_PORT_CLOSED\n");
	return 0;
}

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static int demo(enum mode mode)
{
	struct server sv = { .mode = mode, .memfd = -1,
			     .late_reply = STATUS_SUCCESS };
	char root[64] = "";
	UNICODE_STRING us;
	WCHAR buf[64];
	OBJECT_ATTRIBUTES oa;
	NTSTATUS s;
	int st, rc = 1;
	bool end_ok;

	if (!getenv("LPC_ROOT")) {
		snprintf(root, sizeof(root), "%s/lpc-exception-XXXXXX",
			 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
		if (strlen(root) >= sizeof(root) - 1 || !mkdtemp(root)) {
			perror("lpc-exception: mkdtemp");
			return 1;
		}
		setenv("LPC_ROOT", root, 1);
	}
	/* The file behind the client's window: empty until the server
	 * decides to back it. */
	sv.memfd = memfd_create("lpc-exception-window", MFD_CLOEXEC);
	if (sv.memfd < 0) {
		perror("lpc-exception: memfd_create");
		goto out_root;
	}
	sv.mine = mmap(NULL, (size_t)page_size, PROT_READ, MAP_SHARED,
		       sv.memfd, 0);
	if (sv.mine == MAP_FAILED) {
		perror("lpc-exception: mmap");
		goto out_memfd;
	}

	to_unicode(PORT_NAME, &us, buf, 64);
	InitializeObjectAttributes(&oa, &us, 0, NULL, NULL);
	s = NtCreatePort(&sv.port, &oa, 0, LPC_MAX_MESSAGE_LENGTH, 0);
	if (s != STATUS_SUCCESS) {
		printf("server: NtCreatePort = 0x%08x %s\n", (unsigned)s,
		       status_name(s));
		goto out_map;
	}
	printf("server: created %s in LPC_ROOT=%s (backend %s)\n", PORT_NAME,
	       getenv("LPC_ROOT"), lpc_backend_name());
	fflush(stdout);

	sv.child = fork();
	if (sv.child < 0) {
		perror("lpc-exception: fork");
		goto out_port;
	}
	if (sv.child == 0)
		client(mode, sv.memfd, getppid());
	printf("server: forked client process %d\n", (int)sv.child);

	while (serve_one(&sv, RECV_MS))
		;
	/* Anything after LPC_PORT_CLOSED would be a surprise. */
	if (sv.closed) {
		LARGE_INTEGER quiet = { .QuadPart = -(LONGLONG)QUIET_MS *
						    10000 };
		msg_t m;
		PVOID ctx;

		s = NtReplyWaitReceivePortEx(sv.port, &ctx, NULL, &m.h, &quiet);
		if (s == STATUS_TIMEOUT) {
			printf("server: nothing else within %d ms\n", QUIET_MS);
		} else {
			printf("server: then unexpectedly 0x%08x, %s\n",
			       (unsigned)s, NT_SUCCESS(s) ?
			       type_name(m.h.u2.s2.Type) : status_name(s));
			sv.unexpected++;
		}
	} else if (sv.comm) {
		NtClose(sv.comm);
	}
	st = reap(sv.child);
	end_ok = judge_end(&sv, st);
	rc = report(&sv, end_ok);
out_port:
	NtClose(sv.port);
out_map:
	munmap((void *)sv.mine, (size_t)page_size);
out_memfd:
	close(sv.memfd);
out_root:
	if (root[0])
		nftw(root, rm_one, 8, FTW_DEPTH | FTW_PHYS);
	return rc;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "demo";
	enum mode mode = MODE_SEGV;

	setvbuf(stdout, NULL, _IOLBF, 0);
	page_size = sysconf(_SC_PAGESIZE);
	if (strcmp(cmd, "demo") || argc > 3)
		goto usage;
	if (argc == 3) {
		if (!strcmp(argv[2], "--kill"))
			mode = MODE_KILL;
		else if (!strcmp(argv[2], "--fpe"))
			mode = MODE_FPE;
		else
			goto usage;
	}
	return demo(mode);
usage:
	fprintf(stderr, "usage: lpc-exception demo [--fpe | --kill]\n");
	return 2;
}
