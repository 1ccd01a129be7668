/* SPDX-License-Identifier: MIT */
/*
 * test_ex_exception.c - issue 6, experiment 2: a server that is also its
 * client's exception port, and the death notices it gets when the client
 * process dies (examples/lpc-exception.c, docs/examples/exception.md).
 *
 * Two halves.  The example_* tests run the built example
 * ($LPC_BUILD/examples/lpc-exception, in this test's private $LPC_ROOT)
 * and hold its printed conversation to what must happen.  The others play
 * the same scenes on liblpc directly, so that what the walkthrough says
 * does not rest on the example's own report: the child's wait status is
 * read here, every message is checked here.
 *
 * Under AddressSanitizer the previous disposition of SIGSEGV is ASan's own
 * handler: a refused fault ends the client with ASan's exit code, not the
 * signal (as in test_exception.c).  Every receive and every child is
 * bounded; children die with the test (PR_SET_PDEATHSIG).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"

TestSuite(ex_exception, .init = lpct_setup, .fini = lpct_teardown,
	  .timeout = 30);

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#else
#define UNDER_ASAN 0
#endif

#define PORT "\\RPC Control\\exexc"
#define CTX ((PVOID)0xe6)
#define RUN_MS 15000		/* one run of the example */
#define EXAMPLE_CTX 0xc11e47UL	/* the example's PortContext */

/* ------------------------------------------------------------------ */
/* Running the example                                                 */
/* ------------------------------------------------------------------ */

struct ev {
	char type[32];
	unsigned long pid, tid, ctx;
	unsigned msgid;
	/* LPC_EXCEPTION only */
	unsigned code;
	unsigned long long addr;	/* ExceptionInformation[1] */
	char verdict[32];
};

struct run {
	char out[32768];
	int status;		/* the example's wait status */
	pid_t client;		/* from "forked client process N" */
	struct ev ev[16];
	int nev;
	int client_sig;		/* "was killed by signal N", or 0 */
	int client_exit;	/* "exited with status N", or -1 */
};

static const char *example_path(void)
{
	static char p[PATH_MAX];
	const char *b = getenv("LPC_BUILD");

	snprintf(p, sizeof(p), "%s/examples/lpc-exception",
		 b && *b ? b : "build");
	return p;
}

static void parse(struct run *r)
{
	char *save = NULL, *line;
	char *copy = strdup(r->out);

	cr_assert_not_null(copy);
	r->client_exit = -1;
	for (line = strtok_r(copy, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		struct ev *e = r->nev ? &r->ev[r->nev - 1] : NULL;
		int pid, n;

		if (sscanf(line, "server: forked client process %d", &pid) == 1)
			r->client = pid;
		else if (sscanf(line, "server: client %*d was killed by signal "
				      "%d", &n) == 1)
			r->client_sig = n;
		else if (sscanf(line, "server: client %*d exited with status %d",
				&n) == 1)
			r->client_exit = n;
		if (!strncmp(line, "server: received ", 17)) {
			cr_assert_lt(r->nev, 16, "too many messages:\n%s",
				     r->out);
			e = &r->ev[r->nev++];
			memset(e, 0, sizeof(*e));
			cr_assert_eq(sscanf(line, "server: received %31s from "
						  "%lu.%lu MessageId %u ctx "
						  "%lx",
					    e->type, &e->pid, &e->tid,
					    &e->msgid, &e->ctx) >= 4,
				     1, "unparsed: %s", line);
		} else if (e && sscanf(line, "server: ExceptionCode %x",
					&e->code) == 1) {
			continue;
		} else if (e && strstr(line, "NumberParameters 2")) {
			char *p = strstr(line, "[1] 0x");

			if (p)
				e->addr = strtoull(p + 4, NULL, 16);
		} else if (e && strstr(line, "server:   decision:")) {
			char *p = strrchr(line, ' ');

			snprintf(e->verdict, sizeof(e->verdict), "%s", p + 1);
		}
	}
	free(copy);
}

/* Run "lpc-exception demo [arg]", bounded, with its output in r. */
static void run_example(const char *arg, struct run *r)
{
	const char *path = example_path();
	int pfd[2], st = 0;
	size_t len = 0;
	long start;
	pid_t pid;

	memset(r, 0, sizeof(*r));
	cr_assert_eq(access(path, X_OK), 0,
		     "%s: %s (build it: make %s)", path, strerror(errno), path);
	cr_assert_eq(pipe2(pfd, O_CLOEXEC), 0);
	pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		lpct_child_enter();
		dup2(pfd[1], 1);
		dup2(pfd[1], 2);
		execl(path, path, "demo", arg, (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	start = lpct_now_ms();
	for (;;) {
		struct pollfd p = { .fd = pfd[0], .events = POLLIN };
		long left = RUN_MS - (lpct_now_ms() - start);
		ssize_t n;

		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			break;
		n = read(pfd[0], r->out + len, sizeof(r->out) - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
		if (len == sizeof(r->out) - 1)
			break;
	}
	r->out[len] = 0;
	close(pfd[0]);
	if (waitpid(pid, &st, WNOHANG) != pid) {
		/* Give it what is left of its bound, then end it. */
		for (int i = 0; i < 100 && waitpid(pid, &st, WNOHANG) != pid;
		     i++)
			usleep(10000);
		if (kill(pid, 0) == 0) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			cr_assert_fail("the example did not end within %d ms:\n"
				       "%s", RUN_MS, r->out);
		}
	}
	r->status = st;
	parse(r);
}

/* The conversation must be exactly these messages, all from the client's
 * main thread, on its connection, in MessageId order. */
static void expect_sequence(const struct run *r, const char *const *types,
			    int n)
{
	cr_assert_gt(r->client, 0, "no client pid in:\n%s", r->out);
	cr_assert_eq(r->nev, n, "%d messages, want %d:\n%s", r->nev, n,
		     r->out);
	for (int i = 0; i < n; i++) {
		const struct ev *e = &r->ev[i];

		cr_assert_str_eq(e->type, types[i], "message %d:\n%s", i,
				 r->out);
		cr_assert_eq(e->pid, (unsigned long)r->client,
			     "message %d's ClientId:\n%s", i, r->out);
		cr_assert_eq(e->tid, (unsigned long)r->client,
			     "message %d names the main thread:\n%s", i,
			     r->out);
		if (i > 0) {
			cr_assert_eq(e->ctx, EXAMPLE_CTX, "message %d:\n%s", i,
				     r->out);
			cr_assert_gt(e->msgid, r->ev[i - 1].msgid,
				     "MessageIds in order:\n%s", r->out);
		}
	}
}

static void example_fault(const char *arg, unsigned code, int sig)
{
	static const char *const seq[] = {
		"LPC_CONNECTION_REQUEST", "LPC_REQUEST", "LPC_EXCEPTION",
		"LPC_REQUEST", "LPC_EXCEPTION", "LPC_CLIENT_DIED",
		"LPC_PORT_CLOSED",
	};
	struct run r;

	run_example(arg, &r);
	cr_assert(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0,
		  "exit status 0x%x:\n%s", (unsigned)r.status, r.out);
	cr_assert_not_null(strstr(r.out, "\nresult: ok"), "%s", r.out);
	cr_assert_not_null(strstr(r.out, lpct_root()),
			   "$LPC_ROOT not used:\n%s", r.out);
	expect_sequence(&r, seq, 7);
	/* The first fault: in the window, repaired, continued ... */
	cr_assert_eq(r.ev[2].code, (unsigned)STATUS_IN_PAGE_ERROR, "%s", r.out);
	cr_assert_neq(r.ev[2].addr, 0);
	cr_assert_str_eq(r.ev[2].verdict, "DBG_CONTINUE", "%s", r.out);
	/* ... and the retried store really happened, on both sides. */
	cr_assert_not_null(strstr(r.out, "client: the store went through: "
					 "the window holds 42"),
			   "%s", r.out);
	cr_assert_not_null(strstr(r.out, "my own mapping of the file reads "
					 "42"),
			   "%s", r.out);
	/* The second: refused, so the signal took its course. */
	cr_assert_eq(r.ev[4].code, code, "%s", r.out);
	if (code == (unsigned)STATUS_ACCESS_VIOLATION)
		cr_assert_eq(r.ev[4].addr, 0, "a write to 0:\n%s", r.out);
	cr_assert_str_eq(r.ev[4].verdict, "DBG_EXCEPTION_NOT_HANDLED", "%s",
			 r.out);
	cr_assert_null(strstr(r.out, "still alive"), "%s", r.out);
	if (UNDER_ASAN)
		cr_assert(r.client_sig == sig || r.client_exit > 0, "%s",
			  r.out);
	else
		cr_assert_eq(r.client_sig, sig, "%s", r.out);
	/* Its port's name went with it. */
	cr_assert_neq(access(lpct_path("RPC Control/LpcException"), F_OK), 0);
}

Test(ex_exception, example_segv_continue_then_death)
{
	example_fault(NULL, (unsigned)STATUS_ACCESS_VIOLATION, SIGSEGV);
}

Test(ex_exception, example_fpe_continue_then_death)
{
	example_fault("--fpe", (unsigned)STATUS_INTEGER_DIVIDE_BY_ZERO, SIGFPE);
}

Test(ex_exception, example_sigkill_mid_request)
{
	static const char *const seq[] = {
		"LPC_CONNECTION_REQUEST", "LPC_REQUEST", "LPC_REQUEST",
		"LPC_CLIENT_DIED", "LPC_PORT_CLOSED",
	};
	struct run r;
	const char *late;
	unsigned st = 0;

	run_example("--kill", &r);
	cr_assert(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0,
		  "exit status 0x%x:\n%s", (unsigned)r.status, r.out);
	expect_sequence(&r, seq, 5);
	cr_assert_eq(r.client_sig, SIGKILL, "%s", r.out);
	late = strstr(r.out, "late reply to the held request");
	cr_assert_not_null(late, "%s", r.out);
	cr_assert_eq(sscanf(strchr(late, ':') + 1, " 0x%x", &st), 1);
	cr_assert(!NT_SUCCESS((NTSTATUS)st), "late reply 0x%08x", st);
}

Test(ex_exception, example_usage)
{
	struct run r;

	run_example("--bogus", &r);
	cr_assert(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 2,
		  "exit status 0x%x:\n%s", (unsigned)r.status, r.out);
}

/* ------------------------------------------------------------------ */
/* The same scenes on liblpc directly                                  */
/* ------------------------------------------------------------------ */

static void null_write(void)
{
#if defined(__x86_64__)
	__asm__ volatile("movl $42, (%0)" : : "r"((uintptr_t)0) : "memory");
#else
	volatile int *volatile p = NULL;

	*p = 42;
#endif
}

struct scene {
	int memfd;
	bool register_term;	/* NtRegisterThreadTerminatePort */
	int end;		/* 0 fault, 1 block in a request */
};

static void request(HANDLE port, uint64_t v, int code)
{
	lpct_msg m, r;

	lpct_msg_init(&m, &v, sizeof(v));
	CHILD_CHECK(NtRequestWaitReplyPort(port, &m.h, &r.h) ==
			    STATUS_SUCCESS,
		    code);
}

static void scene_child(void *arg)
{
	struct scene *sc = arg;
	volatile uint32_t *win;
	HANDLE port;

	lpct_child_enter();
	alarm(20);
	CHILD_CHECK(lpct_connect(&port, PORT, NULL, NULL) == STATUS_SUCCESS,
		    40);
	CHILD_CHECK(NtSetInformationProcess(NtCurrentProcess(),
					    ProcessExceptionPort, &port,
					    sizeof(port)) == STATUS_SUCCESS,
		    41);
	CHILD_CHECK(NtSetInformationProcess(NtCurrentProcess(),
					    ProcessDebugPort, &port,
					    sizeof(port)) ==
			    STATUS_INVALID_INFO_CLASS,
		    42);
	if (sc->register_term)
		CHILD_CHECK(NtRegisterThreadTerminatePort(port) ==
				    STATUS_SUCCESS,
			    43);
	win = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, sc->memfd,
		   0);
	CHILD_CHECK(win != MAP_FAILED, 44);
	/* 1: the window's address. */
	request(port, (uintptr_t)win, 45);
	if (sc->end == 1) {
		request(port, 2, 46);	/* held until the end */
		_exit(47);
	}
	*win = 42;			/* SIGBUS until the server backs it */
	request(port, *win, 48);	/* 42: the store went through */
	null_write();
	_exit(49);
}

/* A request from the child: its 64-bit datum. */
static uint64_t recv_request(HANDLE port, pid_t pid, lpct_msg *m)
{
	uint64_t v;
	PVOID ctx;

	lpct_recv_ok(port, &ctx, m);
	cr_assert_eq(lpct_msg_type(m), LPC_REQUEST, "type %d",
		     lpct_msg_type(m));
	cr_assert_eq(ctx, CTX);
	cr_assert(lpct_cid_is(&m->h, pid, pid));
	memcpy(&v, m->data, sizeof(v));
	return v;
}

static EXCEPTION_RECORD recv_exception(HANDLE port, pid_t pid, lpct_msg *m)
{
	DBGKM_APIMSG *x = (DBGKM_APIMSG *)(void *)m;
	PVOID ctx;

	lpct_recv_ok(port, &ctx, m);
	cr_assert_eq(lpct_msg_type(m), LPC_EXCEPTION, "type %d",
		     lpct_msg_type(m));
	cr_assert_eq(ctx, CTX, "through the client's connection");
	cr_assert(lpct_cid_is(&m->h, pid, pid),
		  "in the faulting thread's name");
	cr_assert_eq(m->h.u1.s1.TotalLength, sizeof(DBGKM_APIMSG));
	cr_assert_eq(x->ApiNumber, DbgKmExceptionApi);
	cr_assert_eq(x->ReturnedStatus, STATUS_PENDING);
	cr_assert_eq(x->u.Exception.FirstChance, 0);
	return x->u.Exception.ExceptionRecord;
}

static void send_verdict(HANDLE port, lpct_msg *m, NTSTATUS verdict)
{
	((DBGKM_APIMSG *)(void *)m)->ReturnedStatus = verdict;
	cr_assert_status(NtReplyPort(port, &m->h), STATUS_SUCCESS);
}

/* A death notice: type, ClientId, context, the CLIENT_DIED_MSG shape. */
static void recv_notice(HANDLE port, int type, pid_t pid, pid_t tid)
{
	lpct_msg m;
	CLIENT_DIED_MSG *d = (CLIENT_DIED_MSG *)(void *)&m;
	PVOID ctx;
	int64_t now = (int64_t)time(NULL) * 10000000 + 116444736000000000LL;

	lpct_recv_ok(port, &ctx, &m);
	cr_assert_eq(lpct_msg_type(&m), type, "type %d, want %d",
		     lpct_msg_type(&m), type);
	cr_assert_eq(ctx, CTX);
	cr_assert(lpct_cid_is(&m.h, pid, tid), "ClientId %zu.%zu, want %d.%d",
		  (size_t)m.h.ClientId.UniqueProcess,
		  (size_t)m.h.ClientId.UniqueThread, (int)pid, (int)tid);
	cr_assert_eq(m.h.u1.s1.DataLength, sizeof(LARGE_INTEGER));
	cr_assert_eq(m.h.u1.s1.TotalLength, sizeof(CLIENT_DIED_MSG));
	/* The thread started during this test (in clock ticks, 10 ms). */
	cr_assert_gt(d->CreateTime.QuadPart, now - 600000000LL);
	cr_assert_leq(d->CreateTime.QuadPart, now + 20000000LL);
}

/* The signal pid died of (ASan: its handler reported and exited). */
static int dead_of(pid_t pid, int sig)
{
	int st = lpct_wait(pid);

	if (UNDER_ASAN && sig != SIGKILL && st > 0 && st < 128)
		return sig;
	return st > 128 ? st - 128 : -st;
}

static int new_window(volatile uint32_t **mine)
{
	int fd = memfd_create("exexc", MFD_CLOEXEC);

	cr_assert_geq(fd, 0);
	*mine = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
	cr_assert_neq((void *)*mine, MAP_FAILED);
	return fd;
}

Test(ex_exception, verdicts_honoured_then_death_announced)
{
	HANDLE port = lpct_create(PORT, 0, 0x100), comm;
	struct scene sc = { .register_term = true, .end = 0 };
	volatile uint32_t *mine;
	EXCEPTION_RECORD er;
	uintptr_t win;
	lpct_msg m;
	pid_t pid;

	sc.memfd = new_window(&mine);
	pid = lpct_fork(scene_child, &sc);
	comm = lpct_accept_next(port, CTX);
	win = (uintptr_t)recv_request(port, pid, &m);
	cr_assert_status(NtReplyPort(port, &m.h), STATUS_SUCCESS);

	/* The store into the unbacked window: back it, then continue (a
	 * retry before the file grew would fault again: a second
	 * LPC_EXCEPTION where the request below is expected). */
	er = recv_exception(port, pid, &m);
	cr_assert_eq(er.ExceptionCode, STATUS_IN_PAGE_ERROR, "0x%08x",
		     (unsigned)er.ExceptionCode);
	cr_assert_eq(er.NumberParameters, 2);
	cr_assert_eq(er.ExceptionInformation[1], win);
	cr_assert_eq(ftruncate(sc.memfd, 4096), 0);
	send_verdict(port, &m, DBG_CONTINUE);
	cr_assert_eq(recv_request(port, pid, &m), 42u,
		     "the retried store went through");
	cr_assert_eq(*mine, 42);
	cr_assert_status(NtReplyPort(port, &m.h), STATUS_SUCCESS);

	/* The NULL write: refused, the signal takes its course. */
	er = recv_exception(port, pid, &m);
	cr_assert_eq(er.ExceptionCode, STATUS_ACCESS_VIOLATION);
	cr_assert_eq(er.ExceptionInformation[0], 1, "a write");
	cr_assert_eq(er.ExceptionInformation[1], 0);
	send_verdict(port, &m, DBG_EXCEPTION_NOT_HANDLED);
	cr_assert_eq(dead_of(pid, SIGSEGV), SIGSEGV);

	/* One connection request, yet these two: the thread's registration
	 * and the connection's end, spoken for the dead process. */
	recv_notice(port, LPC_CLIENT_DIED, pid, pid);
	recv_notice(port, LPC_PORT_CLOSED, pid, pid);
	lpct_assert_quiet(port);
	munmap((void *)mine, 4096);
	close(sc.memfd);
	NtClose(comm);
	NtClose(port);
}

/* SIGKILL cannot be caught: no LPC_EXCEPTION, only the notices; the held
 * request can no longer be answered. */
Test(ex_exception, sigkill_mid_request_announces_death)
{
	HANDLE port = lpct_create(PORT, 0, 0x100), comm;
	struct scene sc = { .register_term = true, .end = 1 };
	volatile uint32_t *mine;
	lpct_msg m, held;
	pid_t pid;

	sc.memfd = new_window(&mine);
	pid = lpct_fork(scene_child, &sc);
	comm = lpct_accept_next(port, CTX);
	recv_request(port, pid, &m);
	cr_assert_status(NtReplyPort(port, &m.h), STATUS_SUCCESS);
	cr_assert_eq(recv_request(port, pid, &held), 2);
	cr_assert_eq(kill(pid, SIGKILL), 0);
	cr_assert_eq(dead_of(pid, SIGKILL), SIGKILL);
	recv_notice(port, LPC_CLIENT_DIED, pid, pid);
	recv_notice(port, LPC_PORT_CLOSED, pid, pid);
	cr_assert(!NT_SUCCESS(NtReplyPort(comm, &held.h)));
	lpct_assert_quiet(port);
	munmap((void *)mine, 4096);
	close(sc.memfd);
	NtClose(comm);
	NtClose(port);
}

/* Linux differs from NT here (docs/examples/exception.md): a dead
 * process's peer can speak only for the threads that told it about their
 * registration.  NT's kernel runs every thread's exit, and a thread with
 * no termination port sends LPC_CLIENT_DIED to the exception port (spec
 * 5.16); here a killed process whose thread only set the exception port
 * produces LPC_PORT_CLOSED alone. */
Test(ex_exception, killed_unregistered_thread_gives_port_closed_only)
{
	HANDLE port = lpct_create(PORT, 0, 0x100), comm;
	struct scene sc = { .register_term = false, .end = 1 };
	volatile uint32_t *mine;
	lpct_msg m, held;
	pid_t pid;

	sc.memfd = new_window(&mine);
	pid = lpct_fork(scene_child, &sc);
	comm = lpct_accept_next(port, CTX);
	recv_request(port, pid, &m);
	cr_assert_status(NtReplyPort(port, &m.h), STATUS_SUCCESS);
	recv_request(port, pid, &held);
	cr_assert_eq(kill(pid, SIGKILL), 0);
	cr_assert_eq(dead_of(pid, SIGKILL), SIGKILL);
	recv_notice(port, LPC_PORT_CLOSED, pid, pid);
	lpct_assert_quiet(port);
	munmap((void *)mine, 4096);
	close(sc.memfd);
	NtClose(comm);
	NtClose(port);
}

/* A thread that exits normally (pthread key destructor) does send its
 * own notice: with no termination port, through the exception port (spec
 * 5.16), as NT does.  Only a thread that used liblpc has the state. */
static void *short_thread(void *arg)
{
	request(*(HANDLE *)arg, 7, 60);
	return (void *)(intptr_t)lpct_gettid();
}

static void exiting_thread_child(void *arg)
{
	HANDLE port;
	pthread_t t;
	void *tid;
	int fd = (int)(intptr_t)arg;

	lpct_child_enter();
	alarm(20);
	CHILD_CHECK(lpct_connect(&port, PORT, NULL, NULL) == STATUS_SUCCESS,
		    61);
	CHILD_CHECK(NtSetInformationProcess(NtCurrentProcess(),
					    ProcessExceptionPort, &port,
					    sizeof(port)) == STATUS_SUCCESS,
		    62);
	CHILD_CHECK(pthread_create(&t, NULL, short_thread, &port) == 0, 63);
	CHILD_CHECK(pthread_join(t, &tid) == 0, 64);
	CHILD_CHECK(write(fd, &tid, sizeof(tid)) == sizeof(tid), 65);
	/* Wait for the server's word, then exit: LPC_PORT_CLOSED. */
	request(port, 8, 66);
	_exit(0);
}

Test(ex_exception, thread_exit_without_registration_uses_exception_port)
{
	HANDLE port = lpct_create(PORT, 0, 0x100), comm;
	int pfd[2];
	void *tid = NULL;
	lpct_msg m;
	pid_t pid;

	cr_assert_eq(pipe(pfd), 0);
	pid = lpct_fork(exiting_thread_child, (void *)(intptr_t)pfd[1]);
	close(pfd[1]);
	comm = lpct_accept_next(port, CTX);
	lpct_recv_ok(port, NULL, &m);
	cr_assert_eq(lpct_msg_type(&m), LPC_REQUEST);
	cr_assert_status(NtReplyPort(port, &m.h), STATUS_SUCCESS);
	cr_assert_eq(read(pfd[0], &tid, sizeof(tid)), (ssize_t)sizeof(tid));
	close(pfd[0]);
	cr_assert_neq((pid_t)(intptr_t)tid, pid);
	recv_notice(port, LPC_CLIENT_DIED, pid, (pid_t)(intptr_t)tid);
	cr_assert_eq(recv_request(port, pid, &m), 8);
	cr_assert_status(NtReplyPort(port, &m.h), STATUS_SUCCESS);
	cr_assert_eq(lpct_wait(pid), 0);
	recv_notice(port, LPC_PORT_CLOSED, pid, pid);
	lpct_assert_quiet(port);
	NtClose(comm);
	NtClose(port);
}
