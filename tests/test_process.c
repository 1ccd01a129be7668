/* SPDX-License-Identifier: MIT */
/*
 * test_process.c - processes: fork() (design.md section 1: the child
 * starts with an empty handle table and none of the parent's sockets),
 * a client running under another uid (the socket file's mode is the
 * port's security descriptor), and a multi-process, multi-thread stress
 * run in which every reply must match its request.
 *
 * Forked children cannot use Criterion's asserts: they report the failing
 * step through their exit code and the parent asserts lpct_wait() == 0.
 */
#include <errno.h>
#include <grp.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"

TestSuite(process, .init = lpct_setup, .fini = lpct_teardown, .timeout = 30);

#define PORT "\\RPC Control\\process"
#define PORT_FILE "RPC Control/process"
#define CHILD_PORT "\\RPC Control\\process-child"

#define H(x) ((HANDLE)(uintptr_t)(x))

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

/* Block until the write end is closed everywhere. */
static void hold_until_eof(int fd)
{
	char b;
	ssize_t n;

	for (;;) {
		n = read(fd, &b, 1);
		if (n == 0 || (n < 0 && errno != EINTR))
			return;
	}
}

/* CLOCK_MONOTONIC seconds since t0. */
static double secs_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) +
	       (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

static NTSTATUS send_quit(HANDLE port)
{
	lpct_msg m;

	lpct_msg_init(&m, "quit", 5);
	return NtRequestPort(port, &m.h);
}

/*
 * The server threads' common part: a reply-and-receive loop on a
 * connection port that accepts everything (PortContext defaults to the
 * comm handle, closed again on LPC_PORT_CLOSED).  Errors are recorded,
 * never asserted (not the main thread).
 */
struct srv {
	HANDLE port;
	atomic_int served, connects, closed, errors;
	atomic_uint first_error;
	sem_t closed_sem;
};

static void srv_error(struct srv *s, unsigned code)
{
	unsigned zero = 0;

	atomic_compare_exchange_strong(&s->first_error, &zero, code);
	atomic_fetch_add(&s->errors, 1);
}

/* Accept a connection request, or close the comm handle (ctx) of a
 * closed connection: true if rx was either. */
static bool srv_connection(struct srv *s, lpct_msg *rx, PVOID ctx)
{
	HANDLE comm = NULL;
	NTSTATUS st;

	switch (lpct_msg_type(rx)) {
	case LPC_CONNECTION_REQUEST:
		st = NtAcceptConnectPort(&comm, NULL, &rx->h, TRUE, NULL, NULL);
		if (!st)
			st = NtCompleteConnectPort(comm);
		if (st)
			srv_error(s, (unsigned)st);
		else
			atomic_fetch_add(&s->connects, 1);
		return true;
	case LPC_PORT_CLOSED:
		st = NtClose((HANDLE)ctx);
		if (st)
			srv_error(s, (unsigned)st);
		atomic_fetch_add(&s->closed, 1);
		sem_post(&s->closed_sem);
		return true;
	default:
		return false;
	}
}

/* The loop.  handle(s, rx, tx) takes every other message: 1 to reply
 * with tx (in the next receive), 0 not to, -1 to stop the server. */
static void srv_run(struct srv *s,
		    int (*handle)(struct srv *s, lpct_msg *rx, lpct_msg *tx))
{
	lpct_msg rx, tx;
	bool have = false;
	PVOID ctx;
	NTSTATUS st;
	int r;

	for (;;) {
		LARGE_INTEGER to = lpct_timeout_ms(LPCT_RECV_MS * 2);

		ctx = NULL;
		st = NtReplyWaitReceivePortEx(s->port, &ctx,
					      have ? &tx.h : NULL, &rx.h, &to);
		have = false;
		if (st != STATUS_SUCCESS) {
			srv_error(s, (unsigned)st);
			if (st == STATUS_TIMEOUT ||
			    atomic_load(&s->errors) > 100)
				return;
			continue;
		}
		if (srv_connection(s, &rx, ctx))
			continue;
		r = handle(s, &rx, &tx);
		if (r < 0)
			return;
		have = r;
	}
}

/* Wait until the server has seen n more LPC_PORT_CLOSED. */
static void srv_wait_closed(struct srv *s, int n)
{
	struct timespec ts;

	for (int i = 0; i < n; i++) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += LPCT_RECV_MS / 1000;
		cr_assert_eq(sem_timedwait(&s->closed_sem, &ts), 0,
			     "no LPC_PORT_CLOSED within %d ms", LPCT_RECV_MS);
	}
}

static void srv_assert_no_errors(struct srv *s)
{
	cr_assert_eq(atomic_load(&s->errors), 0,
		     "server: %d errors, first 0x%08x",
		     atomic_load(&s->errors), atomic_load(&s->first_error));
}

/* An echo server thread: answers requests by reply-and-receive, stops on
 * a "quit" datagram. */
struct echo_srv {
	struct srv srv;
	pid_t tid;
	sem_t started;
};

static int echo_handle(struct srv *s, lpct_msg *rx, lpct_msg *tx)
{
	switch (lpct_msg_type(rx)) {
	case LPC_REQUEST:
		memcpy(tx, rx, sizeof(PORT_MESSAGE) + rx->h.u1.s1.DataLength);
		for (int i = 0; i < rx->h.u1.s1.DataLength; i++)
			tx->data[i]++;
		atomic_fetch_add(&s->served, 1);
		return 1;
	case LPC_DATAGRAM:
		return strcmp((char *)rx->data, "quit") ? 0 : -1;
	case LPC_CLIENT_DIED:
		return 0;
	default:
		srv_error(s, 0xbad00000u | (unsigned)lpct_msg_type(rx));
		return 0;
	}
}

static void *echo_server(void *arg)
{
	struct echo_srv *e = arg;

	e->tid = lpct_gettid();
	sem_post(&e->started);
	srv_run(&e->srv, echo_handle);
	return NULL;
}

static pthread_t echo_start(struct echo_srv *e, HANDLE port)
{
	pthread_t t;

	memset(e, 0, sizeof(*e));
	e->srv.port = port;
	sem_init(&e->srv.closed_sem, 0, 0);
	sem_init(&e->started, 0, 0);
	t = lpct_thread(echo_server, e);
	sem_wait(&e->started);
	return t;
}

/*
 * fork() from a multi-threaded process: the child inherits whatever locks
 * other threads held at that instant.  glibc's allocator guards itself
 * with atfork handlers, AddressSanitizer's (gcc 12) does not, so fork only
 * while the other threads are parked in a blocking call (as a real server
 * would be, blocked in NtReplyWaitReceivePort).
 */
static pid_t fork_when_idle(pid_t busy_tid, void (*fn)(void *), void *arg)
{
	cr_assert(lpct_wait_sleeping(getpid(), busy_tid),
		  "thread %d never blocked", (int)busy_tid);
	return lpct_fork(fn, arg);
}

static void echo_stop(struct echo_srv *e, pthread_t t)
{
	cr_assert_status(send_quit(e->srv.port), STATUS_SUCCESS);
	lpct_join(t);
	srv_assert_no_errors(&e->srv);
}

/* ------------------------------------------------------------------ */
/* fork()                                                              */
/* ------------------------------------------------------------------ */

struct inherited {
	HANDLE port, client, unnamed, section;
};

static void child_inherited_handles(void *arg)
{
	struct inherited *in = arg;
	lpct_msg m, r;
	LARGE_INTEGER zero = { .QuadPart = 0 };
	HANDLE h = NULL;

	lpct_child_enter();
	lpct_msg_init(&m, "x", 2);
	CHILD_CHECK(NtRequestPort(in->client, &m.h) == STATUS_INVALID_HANDLE,
		    10);
	CHILD_CHECK(NtRequestWaitReplyPort(in->client, &m.h, &r.h) ==
			    STATUS_INVALID_HANDLE,
		    11);
	CHILD_CHECK(NtReplyWaitReceivePortEx(in->port, NULL, NULL, &r.h,
					     &zero) == STATUS_INVALID_HANDLE,
		    12);
	CHILD_CHECK(NtListenPort(in->port, &r.h) == STATUS_INVALID_HANDLE, 13);
	CHILD_CHECK(NtRegisterThreadTerminatePort(in->client) ==
			    STATUS_INVALID_HANDLE,
		    14);
	CHILD_CHECK(NtRequestPort(in->unnamed, &m.h) == STATUS_INVALID_HANDLE,
		    15);
	/* Closing them here must not close anything in the parent (nor
	 * unlink the parent's port name). */
	CHILD_CHECK(NtClose(in->port) == STATUS_INVALID_HANDLE, 16);
	CHILD_CHECK(NtClose(in->client) == STATUS_INVALID_HANDLE, 17);
	CHILD_CHECK(NtClose(in->unnamed) == STATUS_INVALID_HANDLE, 18);
	CHILD_CHECK(NtClose(in->section) == STATUS_INVALID_HANDLE, 19);
	/* The child's own table works. */
	CHILD_CHECK(lpct_try_create(&h, NULL, 0x100, 0x100) == 0, 20);
	CHILD_CHECK(NtClose(h) == 0, 21);
}

static void *thread_echo(void *arg)
{
	HANDLE port = NULL;
	int r;

	(void)arg;
	if (lpct_connect(&port, PORT, NULL, NULL))
		return (void *)1;
	r = lpct_echo_request(port, 42);
	if (r)
		return (void *)(uintptr_t)(10 + r);
	return NtClose(port) ? (void *)2 : NULL;
}

Test(process, fork_child_sees_inherited_handles_as_invalid)
{
	struct inherited in = { .port = lpct_create(PORT, 0x100, 0x100) };
	LARGE_INTEGER size = { .QuadPart = 0x10000 };
	struct echo_srv s;
	pthread_t ts = echo_start(&s, in.port);
	struct stat st;
	pid_t pid;

	in.unnamed = lpct_create(NULL, 0x100, 0x100);
	cr_assert_status(NtCreateSection(&in.section, SECTION_ALL_ACCESS, NULL,
					 &size, PAGE_READWRITE, SEC_COMMIT,
					 NULL),
			 STATUS_SUCCESS);
	cr_assert_status(lpct_connect(&in.client, PORT, NULL, NULL),
			 STATUS_SUCCESS);
	cr_assert_eq(lpct_echo_request(in.client, 1), 0);
	pid = fork_when_idle(s.tid, child_inherited_handles, &in);
	cr_assert_eq(lpct_wait(pid), 0);
	/* The parent is unaffected. */
	cr_assert_eq(stat(lpct_path(PORT_FILE), &st), 0, "name unlinked");
	cr_assert_eq(lpct_echo_request(in.client, 2), 0);
	cr_assert_null(lpct_join(lpct_thread(thread_echo, NULL)));
	cr_assert_status(NtClose(in.client), STATUS_SUCCESS);
	srv_wait_closed(&s.srv, 2);
	echo_stop(&s, ts);
	cr_assert_eq(atomic_load(&s.srv.served), 3);
	cr_assert_status(NtClose(in.unnamed), STATUS_SUCCESS);
	cr_assert_status(NtClose(in.section), STATUS_SUCCESS);
	cr_assert_status(NtClose(in.port), STATUS_SUCCESS);
}

#define CHILD_REQS 50

/* The child: its own named port with its own server thread, a loop-back
 * unnamed port, and a client connection to the parent's port. */
static void child_own_ports(void *arg)
{
	struct echo_srv s;
	HANDLE own = NULL, c_own = NULL, c_parent = NULL, u = NULL, dup = NULL;
	LARGE_INTEGER zero = { .QuadPart = 0 };
	pthread_t ts;
	lpct_msg m;

	(void)arg;
	lpct_child_enter();
	/* The parent's port still exists: its name is taken. */
	CHILD_CHECK(lpct_try_create(&dup, PORT, 0x100, 0x100) ==
			    STATUS_OBJECT_NAME_COLLISION,
		    10);
	CHILD_CHECK(lpct_try_create(&own, CHILD_PORT, 0x100, 0x100) == 0, 11);
	memset(&s, 0, sizeof(s));
	s.srv.port = own;
	sem_init(&s.srv.closed_sem, 0, 0);
	sem_init(&s.started, 0, 0);
	CHILD_CHECK(pthread_create(&ts, NULL, echo_server, &s) == 0, 12);
	CHILD_CHECK(lpct_connect(&c_own, CHILD_PORT, NULL, NULL) == 0, 13);
	CHILD_CHECK(lpct_connect(&c_parent, PORT, NULL, NULL) == 0, 14);
	for (uint32_t i = 0; i < CHILD_REQS; i++) {
		CHILD_CHECK(lpct_echo_request(c_own, i) == 0, 15);
		CHILD_CHECK(lpct_echo_request(c_parent, i) == 0, 16);
	}
	/* Loop-back through an unnamed port. */
	CHILD_CHECK(lpct_try_create(&u, NULL, 0x100, 0x100) == 0, 17);
	lpct_msg_init(&m, "loop", 5);
	CHILD_CHECK(NtRequestPort(u, &m.h) == 0, 18);
	CHILD_CHECK(NtReplyWaitReceivePortEx(u, NULL, NULL, &m.h, &zero) == 0,
		    19);
	CHILD_CHECK(lpct_msg_type(&m) == LPC_DATAGRAM &&
			    !strcmp((char *)m.data, "loop"),
		    20);
	CHILD_CHECK(NtClose(u) == 0, 21);
	CHILD_CHECK(NtClose(c_own) == 0, 22);
	CHILD_CHECK(NtClose(c_parent) == 0, 23);
	{
		struct timespec ts_dl;

		clock_gettime(CLOCK_REALTIME, &ts_dl);
		ts_dl.tv_sec += LPCT_RECV_MS / 1000;
		CHILD_CHECK(sem_timedwait(&s.srv.closed_sem, &ts_dl) == 0, 24);
	}
	CHILD_CHECK(send_quit(own) == 0, 25);
	pthread_join(ts, NULL);
	CHILD_CHECK(atomic_load(&s.srv.errors) == 0, 26);
	CHILD_CHECK(atomic_load(&s.srv.served) == CHILD_REQS, 27);
	CHILD_CHECK(NtClose(own) == 0, 28);
}

Test(process, fork_child_creates_and_uses_own_ports)
{
	HANDLE port = lpct_create(PORT, 0x100, 0x100), client = NULL;
	struct echo_srv s;
	pthread_t ts = echo_start(&s, port);
	struct stat st;
	pid_t pid;

	cr_assert_status(lpct_connect(&client, PORT, NULL, NULL),
			 STATUS_SUCCESS);
	cr_assert_eq(lpct_echo_request(client, 1), 0);
	pid = fork_when_idle(s.tid, child_own_ports, NULL);
	cr_assert_eq(lpct_wait(pid), 0);
	/* The child's port name went with its last handle. */
	cr_assert_neq(stat(lpct_path("RPC Control/process-child"), &st), 0);
	srv_wait_closed(&s.srv, 1);
	cr_assert_eq(lpct_echo_request(client, 2), 0);
	cr_assert_status(NtClose(client), STATUS_SUCCESS);
	srv_wait_closed(&s.srv, 1);
	echo_stop(&s, ts);
	cr_assert_eq(atomic_load(&s.srv.served), CHILD_REQS + 2);
	cr_assert_eq(atomic_load(&s.srv.connects), 2);
	cr_assert_status(NtClose(port), STATUS_SUCCESS);
}

struct holder {
	int hold_r, hold_w;
	HANDLE client;
};

static void child_hold(void *arg)
{
	struct holder *h = arg;
	lpct_msg m;

	lpct_child_enter();
	close(h->hold_w);
	hold_until_eof(h->hold_r);
	lpct_msg_init(&m, "x", 2);
	CHILD_CHECK(NtRequestPort(h->client, &m.h) == STATUS_INVALID_HANDLE,
		    10);
}

/* A parent with a server thread blocked in NtReplyWaitReceivePort and a
 * live connection forks: its connection keeps working while the child
 * lives and after it exits. */
Test(process, fork_parent_connections_work_while_child_lives_and_after)
{
	HANDLE port = lpct_create(PORT, 0x100, 0x100);
	struct holder h = { 0 };
	struct echo_srv s;
	pthread_t ts = echo_start(&s, port);
	int pfd[2];
	pid_t pid;

	cr_assert_status(lpct_connect(&h.client, PORT, NULL, NULL),
			 STATUS_SUCCESS);
	cr_assert_eq(lpct_echo_request(h.client, 0), 0);
	cr_assert_eq(pipe(pfd), 0);
	h.hold_r = pfd[0];
	h.hold_w = pfd[1];
	pid = fork_when_idle(s.tid, child_hold, &h);
	close(pfd[0]);
	for (uint32_t i = 1; i <= 100; i++)
		cr_assert_eq(lpct_echo_request(h.client, i), 0, "request %u",
			     i);
	cr_assert_null(lpct_join(lpct_thread(thread_echo, NULL)));
	close(pfd[1]);
	cr_assert_eq(lpct_wait(pid), 0);
	for (uint32_t i = 101; i <= 200; i++)
		cr_assert_eq(lpct_echo_request(h.client, i), 0, "request %u",
			     i);
	cr_assert_null(lpct_join(lpct_thread(thread_echo, NULL)));
	cr_assert_status(NtClose(h.client), STATUS_SUCCESS);
	srv_wait_closed(&s.srv, 3);
	echo_stop(&s, ts);
	cr_assert_eq(atomic_load(&s.srv.served), 203);
	cr_assert_status(NtClose(port), STATUS_SUCCESS);
}

static void child_exit_now(void *arg)
{
	(void)arg;
}

struct pending {
	HANDLE port;
	NTSTATUS s;
	int echo;
};

static void *thread_pending_request(void *arg)
{
	struct pending *p = arg;

	p->s = lpct_connect(&p->port, PORT, NULL, NULL);
	if (!p->s)
		p->echo = lpct_echo_request(p->port, 77);
	return NULL;
}

/* A fork while a request is pending on both sides (a client thread
 * waiting for its reply, the server holding the request) disturbs
 * neither: no wait is inherited, nothing is sent by the child's exit. */
Test(process, fork_during_pending_request_does_not_disturb_it)
{
	HANDLE port = lpct_create(PORT, 0x100, 0x100), comm;
	struct pending p = { 0 };
	pthread_t t = lpct_thread(thread_pending_request, &p);
	PVOID ctx;
	lpct_msg m;
	pid_t pid;

	comm = lpct_accept_next(port, NULL);
	lpct_recv_ok(port, &ctx, &m);
	cr_assert_eq(lpct_msg_type(&m), LPC_REQUEST);
	/* The client thread is blocked waiting for its reply. */
	pid = fork_when_idle((pid_t)(uintptr_t)m.h.ClientId.UniqueThread,
			     child_exit_now, NULL);
	cr_assert_eq(lpct_wait(pid), 0);
	lpct_assert_quiet(port);
	cr_assert_status(lpct_reply_echo(comm, &m), STATUS_SUCCESS);
	lpct_join(t);
	cr_assert_status(p.s, STATUS_SUCCESS);
	cr_assert_eq(p.echo, 0);
	cr_assert_status(NtClose(p.port), STATUS_SUCCESS);
	lpct_recv_ok(port, &ctx, &m);
	cr_assert_eq(lpct_msg_type(&m), LPC_PORT_CLOSED);
	cr_assert_status(NtClose(comm), STATUS_SUCCESS);
	cr_assert_status(NtClose(port), STATUS_SUCCESS);
}

/* A client process P forks a grandchild G that outlives P.  P's death
 * must still be seen by the server: G holds none of P's sockets. */
struct dying_parent {
	int hold_r, hold_w;
	bool kill_me;
};

static void grandchild(struct dying_parent *d, HANDLE inherited)
{
	lpct_msg m;

	/* No PDEATHSIG here: G must outlive P.  It ends when the test's
	 * end of the hold pipe closes. */
	close(d->hold_w);
	hold_until_eof(d->hold_r);
	lpct_msg_init(&m, "x", 2);
	_exit(NtRequestPort(inherited, &m.h) == STATUS_INVALID_HANDLE ? 0
								      : 50);
}

static void child_forks_then_dies(void *arg)
{
	struct dying_parent *d = arg;
	HANDLE port = NULL;
	pid_t g;
	lpct_msg m;

	lpct_child_enter();
	CHILD_CHECK(lpct_connect(&port, PORT, NULL, NULL) == 0, 10);
	CHILD_CHECK(lpct_echo_request(port, 5) == 0, 11);
	g = fork();
	CHILD_CHECK(g >= 0, 12);
	if (g == 0)
		grandchild(d, port);
	lpct_msg_init(&m, &g, sizeof(g));
	CHILD_CHECK(NtRequestPort(port, &m.h) == 0, 13);
	if (!d->kill_me)
		_exit(0);
	for (;;)
		pause();
}

static bool alive_not_zombie(pid_t pid)
{
	char state = lpct_proc_state(pid, 0);

	return state && state != 'Z' && state != 'X';
}

static void parent_death_with_live_child(bool killed)
{
	HANDLE port = lpct_create(PORT, 0x100, 0x100), comm;
	struct dying_parent d = { .kill_me = killed };
	int pfd[2];
	pid_t p, g;
	PVOID ctx;
	lpct_msg m;

	/* Orphaned grandchildren are re-parented to this process. */
	cr_assert_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
	cr_assert_eq(pipe(pfd), 0);
	d.hold_r = pfd[0];
	d.hold_w = pfd[1];
	p = lpct_fork(child_forks_then_dies, &d);
	close(pfd[0]);
	comm = lpct_accept_next(port, (PVOID)0x99);
	lpct_recv_ok(port, &ctx, &m);
	cr_assert_eq(lpct_msg_type(&m), LPC_REQUEST);
	cr_assert_status(lpct_reply_echo(comm, &m), STATUS_SUCCESS);
	lpct_recv_ok(port, &ctx, &m);
	cr_assert_eq(lpct_msg_type(&m), LPC_DATAGRAM);
	memcpy(&g, m.data, sizeof(g));
	cr_assert_gt(g, 0);
	lpct_end_child(p, killed);
	/* P is gone, G lives (and inherited P's fds before the engine's
	 * fork handler dropped them). */
	cr_assert(alive_not_zombie(g));
	lpct_recv_ok(port, &ctx, &m);
	cr_assert_eq(lpct_msg_type(&m), LPC_PORT_CLOSED);
	cr_assert_eq(m.h.ClientId.UniqueProcess, H(p));
	cr_assert_eq(ctx, (PVOID)0x99);
	cr_assert(alive_not_zombie(g));
	close(pfd[1]);
	cr_assert_eq(lpct_wait(g), 0);
	lpct_assert_quiet(port);
	cr_assert_status(NtClose(comm), STATUS_SUCCESS);
	cr_assert_status(NtClose(port), STATUS_SUCCESS);
}

Test(process, parent_killed_seen_while_forked_child_lives)
{
	parent_death_with_live_child(true);
}

Test(process, parent_exit_seen_while_forked_child_lives)
{
	parent_death_with_live_child(false);
}

/* A server process S forks G while a client waits for a reply, then S is
 * killed: the client learns it although G lives on. */
struct dying_server {
	int pipe_w;
	int hold_r, hold_w;
};

static void server_forks_then_dies(void *arg)
{
	struct dying_server *d = arg;
	HANDLE port = NULL, comm = NULL;
	PVOID ctx;
	lpct_msg m;
	pid_t g;

	lpct_child_enter();
	close(d->hold_w);
	CHILD_CHECK(lpct_try_create(&port, PORT, 0x100, 0x100) == 0, 10);
	CHILD_CHECK(write(d->pipe_w, "r", 1) == 1, 11);
	CHILD_CHECK(NtListenPort(port, &m.h) == 0, 12);
	CHILD_CHECK(NtAcceptConnectPort(&comm, NULL, &m.h, TRUE, NULL, NULL) ==
			    0,
		    13);
	CHILD_CHECK(NtCompleteConnectPort(comm) == 0, 14);
	CHILD_CHECK(lpct_recv_ms(port, &ctx, &m.h, LPCT_RECV_MS) == 0, 15);
	CHILD_CHECK(lpct_msg_type(&m) == LPC_REQUEST, 16);
	g = fork();
	CHILD_CHECK(g >= 0, 17);
	if (g == 0) {
		close(d->pipe_w);
		hold_until_eof(d->hold_r);
		_exit(NtClose(port) == STATUS_INVALID_HANDLE ? 0 : 50);
	}
	CHILD_CHECK(write(d->pipe_w, &g, sizeof(g)) == sizeof(g), 18);
	for (;;)
		pause();
}

struct waiter {
	HANDLE port;
	NTSTATUS s;
};

static void *thread_wait_reply(void *arg)
{
	struct waiter *w = arg;
	lpct_msg m, r;

	lpct_msg_init(&m, "req", 4);
	w->s = NtRequestWaitReplyPort(w->port, &m.h, &r.h);
	return NULL;
}

Test(process, server_killed_seen_while_its_forked_child_lives)
{
	struct dying_server d;
	struct waiter w = { 0 };
	int pfd[2], hfd[2];
	pthread_t t;
	pid_t s, g = 0;
	lpct_msg m;
	HANDLE h = NULL;
	NTSTATUS st;

	cr_assert_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
	cr_assert_eq(pipe(pfd), 0);
	cr_assert_eq(pipe(hfd), 0);
	d = (struct dying_server){ .pipe_w = pfd[1], .hold_r = hfd[0],
				   .hold_w = hfd[1] };
	s = lpct_fork(server_forks_then_dies, &d);
	close(pfd[1]);
	close(hfd[0]);
	cr_assert_eq(lpct_read_byte(pfd[0]), 'r');
	cr_assert_status(lpct_connect(&w.port, PORT, NULL, NULL),
			 STATUS_SUCCESS);
	t = lpct_thread(thread_wait_reply, &w);
	cr_assert_eq(read(pfd[0], &g, sizeof(g)), (ssize_t)sizeof(g));
	lpct_end_child(s, true);
	cr_assert(alive_not_zombie(g));
	lpct_join(t);
	cr_assert_status(w.s, STATUS_LPC_REPLY_LOST);
	lpct_msg_init(&m, "late", 5);
	cr_assert_status(NtRequestPort(w.port, &m.h), STATUS_PORT_DISCONNECTED);
	cr_assert_status(NtClose(w.port), STATUS_SUCCESS);
	/* Nobody listens on the name any more (G must not hold the
	 * listening socket, or this connect would wait forever). */
	st = lpct_connect(&h, PORT, NULL, NULL);
	cr_assert(st == STATUS_OBJECT_NAME_NOT_FOUND ||
			  st == STATUS_PORT_CONNECTION_REFUSED,
		  "connect to a dead server: 0x%08x", (unsigned)st);
	cr_assert(alive_not_zombie(g));
	close(hfd[1]);
	cr_assert_eq(lpct_wait(g), 0);
	close(pfd[0]);
}

/* ------------------------------------------------------------------ */
/* Another uid                                                         */
/* ------------------------------------------------------------------ */

#define UNPRIV_REQS 20

static void drop_privileges(void)
{
	CHILD_CHECK(setgroups(0, NULL) == 0, 5);
	CHILD_CHECK(setgid(LPCT_NOBODY) == 0, 6);
	CHILD_CHECK(setuid(LPCT_NOBODY) == 0, 7);
	CHILD_CHECK(getuid() == LPCT_NOBODY && geteuid() == LPCT_NOBODY &&
			    getegid() == LPCT_NOBODY,
		    8);
	/* Credential changes clear the parent-death signal: set it again. */
	lpct_child_enter();
}

static void child_unprivileged_client(void *arg)
{
	HANDLE port = NULL;
	NTSTATUS s;

	(void)arg;
	lpct_child_enter();
	drop_privileges();
	s = lpct_connect(&port, PORT, NULL, NULL);
	CHILD_CHECK(s != STATUS_ACCESS_DENIED, 20);
	CHILD_CHECK(s == STATUS_SUCCESS, 21);
	for (uint32_t i = 0; i < UNPRIV_REQS; i++)
		CHILD_CHECK(lpct_echo_request(port, i) == 0, 22);
	CHILD_CHECK(NtClose(port) == 0, 23);
}

static void child_unprivileged_denied(void *arg)
{
	HANDLE port = H(0x55555555);
	NTSTATUS s;

	(void)arg;
	lpct_child_enter();
	drop_privileges();
	s = lpct_connect(&port, PORT, NULL, NULL);
	CHILD_CHECK(s != STATUS_SUCCESS, 20);
	CHILD_CHECK(s == STATUS_ACCESS_DENIED, 21);
	CHILD_CHECK(port == H(0x55555555), 22);
}

/* Fail with the child's exit status instead of a bare timeout. */
static void recv_or_child_status(HANDLE port, PVOID *ctx, lpct_msg *m,
				 pid_t pid)
{
	NTSTATUS s = lpct_recv_ms(port, ctx, &m->h, LPCT_RECV_MS);

	if (s != STATUS_SUCCESS) {
		kill(pid, SIGKILL);
		cr_assert_fail("receive: 0x%08x; child exit status %d",
			       (unsigned)s, lpct_wait(pid));
	}
}

Test(process, unprivileged_client_connects_and_requests)
{
	HANDLE port, comm = NULL;
	int served = 0;
	PVOID ctx;
	lpct_msg m;
	pid_t pid;

	if (geteuid() != 0)
		cr_skip_test("needs root to switch to uid %d", LPCT_NOBODY);
	port = lpct_create(PORT, 0x100, 0x100);
	pid = lpct_fork(child_unprivileged_client, NULL);
	recv_or_child_status(port, &ctx, &m, pid);
	cr_assert_eq(lpct_msg_type(&m), LPC_CONNECTION_REQUEST);
	cr_assert_eq(m.h.ClientId.UniqueProcess, H(pid));
	cr_assert_status(NtAcceptConnectPort(&comm, (PVOID)0x65534, &m.h, TRUE,
					     NULL, NULL),
			 STATUS_SUCCESS);
	cr_assert_status(NtCompleteConnectPort(comm), STATUS_SUCCESS);
	for (;;) {
		recv_or_child_status(port, &ctx, &m, pid);
		cr_assert_eq(m.h.ClientId.UniqueProcess, H(pid));
		cr_assert_eq(ctx, (PVOID)0x65534);
		if (lpct_msg_type(&m) == LPC_PORT_CLOSED)
			break;
		cr_assert_eq(lpct_msg_type(&m), LPC_REQUEST, "type %d",
			     lpct_msg_type(&m));
		cr_assert_status(lpct_reply_echo(comm, &m), STATUS_SUCCESS);
		served++;
	}
	cr_assert_eq(served, UNPRIV_REQS);
	cr_assert_eq(lpct_wait(pid), 0);
	cr_assert_status(NtClose(comm), STATUS_SUCCESS);
	cr_assert_status(NtClose(port), STATUS_SUCCESS);
}

/* The socket file's mode is the port's security descriptor: 0600 keeps
 * other uids from connecting (STATUS_ACCESS_DENIED, spec 5.4 step 4). */
Test(process, socket_mode_0600_denies_unprivileged_client)
{
	HANDLE port;
	struct stat st;
	pid_t pid;

	if (geteuid() != 0)
		cr_skip_test("needs root to switch to uid %d", LPCT_NOBODY);
	port = lpct_create(PORT, 0x100, 0x100);
	cr_assert_eq(chmod(lpct_path(PORT_FILE), 0600), 0, "chmod: %s",
		     strerror(errno));
	pid = lpct_fork(child_unprivileged_denied, NULL);
	cr_assert_eq(lpct_wait(pid), 0);
	/* No connection request reached the server. */
	lpct_assert_quiet(port);
	cr_assert_eq(stat(lpct_path(PORT_FILE), &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600);
	cr_assert_status(NtClose(port), STATUS_SUCCESS);
}

/* ------------------------------------------------------------------ */
/* Stress                                                              */
/* ------------------------------------------------------------------ */

struct receiver {
	HANDLE port;
	pid_t tid;
	sem_t ready;
	NTSTATUS s;
	char data[8];
};

static void *thread_receive(void *arg)
{
	struct receiver *r = arg;
	LARGE_INTEGER to = lpct_timeout_ms(5000);
	lpct_msg m;

	r->tid = lpct_gettid();
	sem_post(&r->ready);
	memset(&m.h, 0, sizeof(m.h));
	r->s = NtReplyWaitReceivePortEx(r->port, NULL, NULL, &m.h, &to);
	memcpy(r->data, m.data, sizeof(r->data));
	return NULL;
}

/* What the stress server relies on: with two server threads blocked
 * receiving on one port, two messages queued back to back wake both
 * threads at once (each gets one), not one now and one at its timeout. */
Test(process, two_receivers_each_get_one_of_two_queued_messages)
{
	HANDLE port = lpct_create(PORT, 0x100, 0x100);
	struct receiver r[2];
	pthread_t t[2];
	struct timespec t0;
	lpct_msg m;
	double secs;

	for (int i = 0; i < 2; i++) {
		memset(&r[i], 0, sizeof(r[i]));
		r[i].port = port;
		sem_init(&r[i].ready, 0, 0);
		t[i] = lpct_thread(thread_receive, &r[i]);
	}
	for (int i = 0; i < 2; i++) {
		sem_wait(&r[i].ready);
		cr_assert(lpct_wait_sleeping(getpid(), r[i].tid));
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	lpct_msg_init(&m, "one", 4);
	cr_assert_status(NtRequestPort(port, &m.h), STATUS_SUCCESS);
	lpct_msg_init(&m, "two", 4);
	cr_assert_status(NtRequestPort(port, &m.h), STATUS_SUCCESS);
	for (int i = 0; i < 2; i++)
		lpct_join(t[i]);
	secs = secs_since(&t0);
	cr_assert_status(r[0].s, STATUS_SUCCESS);
	cr_assert_status(r[1].s, STATUS_SUCCESS);
	cr_assert(!strcmp(r[0].data, "one") ^ !strcmp(r[1].data, "one"));
	cr_assert(!strcmp(r[0].data, "two") ^ !strcmp(r[1].data, "two"));
	cr_assert_lt(secs, 1.0, "second receiver woke after %.2f s", secs);
	cr_assert_status(NtClose(port), STATUS_SUCCESS);
}

#define STRESS_PROCS 2
#define STRESS_THREADS 4
#define STRESS_REQS 2000
#define STRESS_SERVERS 2
#define STRESS_MAXPAD 200

struct stress_req {
	uint32_t proc, thread, seq, pid, tid, pad, check;
	uint8_t data[STRESS_MAXPAD];
};

#define STRESS_HDR offsetof(struct stress_req, data)

static uint32_t stress_check(const struct stress_req *q)
{
	return q->proc * 1000003u ^ q->thread * 7919u ^ q->seq * 2654435761u;
}

struct stress_srv {
	struct srv srv;
	atomic_int mismatches;
};

/* The reply transforms the request. */
static int stress_handle(struct srv *s, lpct_msg *rx, lpct_msg *tx)
{
	struct stress_srv *ss = (struct stress_srv *)s;
	struct stress_req q;

	switch (lpct_msg_type(rx)) {
	case LPC_REQUEST:
		memset(&q, 0, sizeof(q));
		memcpy(&q, rx->data,
		       rx->h.u1.s1.DataLength < (CSHORT)sizeof(q)
			       ? (size_t)rx->h.u1.s1.DataLength
			       : sizeof(q));
		if (q.pad > STRESS_MAXPAD ||
		    (size_t)rx->h.u1.s1.DataLength != STRESS_HDR + q.pad ||
		    rx->h.ClientId.UniqueProcess != H(q.pid) ||
		    rx->h.ClientId.UniqueThread != H(q.tid))
			atomic_fetch_add(&ss->mismatches, 1);
		memcpy(&tx->h, &rx->h, sizeof(PORT_MESSAGE));
		q.check = stress_check(&q);
		for (uint32_t i = 0; i < q.pad && i < STRESS_MAXPAD; i++)
			q.data[i] ^= 0x5a;
		memcpy(tx->data, &q, STRESS_HDR + q.pad);
		atomic_fetch_add(&s->served, 1);
		return 1;
	case LPC_DATAGRAM:
		if (!strcmp((char *)rx->data, "quit"))
			return -1;
		srv_error(s, 0xdddd0000u);
		return 0;
	default:
		srv_error(s, 0xbad00000u | (unsigned)lpct_msg_type(rx));
		return 0;
	}
}

static void *stress_server(void *arg)
{
	struct stress_srv *ss = arg;

	srv_run(&ss->srv, stress_handle);
	return NULL;
}

struct stress_client {
	HANDLE port;
	uint32_t proc, thread;
	int fail;
	NTSTATUS status;
};

static void *stress_client_thread(void *arg)
{
	struct stress_client *c = arg;
	uint32_t tid = (uint32_t)lpct_gettid();
	lpct_msg m, r;

	for (uint32_t seq = 0; seq < STRESS_REQS; seq++) {
		struct stress_req q = { .proc = c->proc, .thread = c->thread,
					.seq = seq, .pid = (uint32_t)getpid(),
					.tid = tid };
		struct stress_req a;
		CSHORT len;

		q.pad = (seq * 7 + c->thread * 13) % STRESS_MAXPAD;
		for (uint32_t i = 0; i < q.pad; i++)
			q.data[i] = (uint8_t)(seq + i + c->proc);
		len = (CSHORT)(STRESS_HDR + q.pad);
		lpct_msg_init(&m, &q, len);
		memset(&r.h, 0, sizeof(r.h));
		c->status = NtRequestWaitReplyPort(c->port, &m.h, &r.h);
		if (c->status) {
			c->fail = 1;
			return NULL;
		}
		if (lpct_msg_type(&r) != LPC_REPLY) {
			c->fail = 2;
			return NULL;
		}
		if (r.h.u1.s1.DataLength != len) {
			c->fail = 3;
			return NULL;
		}
		memcpy(&a, r.data, (size_t)len);
		if (a.proc != q.proc || a.thread != q.thread ||
		    a.seq != q.seq || a.pid != q.pid || a.tid != q.tid ||
		    a.pad != q.pad || a.check != stress_check(&q)) {
			c->fail = 4;
			return NULL;
		}
		for (uint32_t i = 0; i < q.pad; i++) {
			if (a.data[i] != (q.data[i] ^ 0x5a)) {
				c->fail = 5;
				return NULL;
			}
		}
	}
	return NULL;
}

static void stress_child(void *arg)
{
	struct stress_client c[STRESS_THREADS];
	pthread_t t[STRESS_THREADS];
	HANDLE port = NULL;

	lpct_child_enter();
	/* One client port shared by all threads of the process. */
	CHILD_CHECK(lpct_connect(&port, PORT, NULL, NULL) == 0, 10);
	for (int i = 0; i < STRESS_THREADS; i++) {
		c[i] = (struct stress_client){ .port = port,
					       .proc = (uint32_t)(uintptr_t)arg,
					       .thread = (uint32_t)i };
		CHILD_CHECK(pthread_create(&t[i], NULL, stress_client_thread,
					   &c[i]) == 0,
			    11);
	}
	for (int i = 0; i < STRESS_THREADS; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < STRESS_THREADS; i++)
		CHILD_CHECK(c[i].fail == 0, 20 + 10 * i + c[i].fail);
	CHILD_CHECK(NtClose(port) == 0, 12);
}

Test(process, stress_two_processes_eight_threads_two_server_threads)
{
	HANDLE port = lpct_create(PORT, 0x100, LPC_MAX_MESSAGE_LENGTH);
	struct stress_srv s = { .srv.port = port };
	pthread_t ts[STRESS_SERVERS];
	pid_t pid[STRESS_PROCS];
	struct timespec t0;
	double secs;

	sem_init(&s.srv.closed_sem, 0, 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* Fork while single-threaded (see fork_when_idle); the clients'
	 * connection requests wait in the backlog for the servers. */
	for (int i = 0; i < STRESS_PROCS; i++)
		pid[i] = lpct_fork(stress_child, (void *)(uintptr_t)(i + 1));
	for (int i = 0; i < STRESS_SERVERS; i++)
		ts[i] = lpct_thread(stress_server, &s);
	for (int i = 0; i < STRESS_PROCS; i++) {
		int st = lpct_wait(pid[i]);

		cr_assert_eq(st, 0, "client %d: exit %d", i, st);
	}
	srv_wait_closed(&s.srv, STRESS_PROCS);
	for (int i = 0; i < STRESS_SERVERS; i++)
		cr_assert_status(send_quit(port), STATUS_SUCCESS);
	for (int i = 0; i < STRESS_SERVERS; i++)
		lpct_join(ts[i]);
	secs = secs_since(&t0);
	srv_assert_no_errors(&s.srv);
	cr_assert_eq(atomic_load(&s.mismatches), 0);
	cr_assert_eq(atomic_load(&s.srv.served),
		     STRESS_PROCS * STRESS_THREADS * STRESS_REQS);
	cr_assert_eq(atomic_load(&s.srv.connects), STRESS_PROCS);
	cr_assert_eq(atomic_load(&s.srv.closed), STRESS_PROCS);
	/* Requests, teardown and the server threads' exit included. */
	cr_assert_lt(secs, 10.0, "took %.2f s", secs);
	cr_assert_status(NtClose(port), STATUS_SUCCESS);
}
