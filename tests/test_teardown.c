/* SPDX-License-Identifier: MIT */
/*
 * test_teardown.c - what every party observes when a port, a thread or a
 * whole process goes away (spec 5.16, 5.17, 8; design.md "Deaths"):
 * LPC_PORT_CLOSED and LPC_CLIENT_DIED on the server, STATUS_LPC_REPLY_LOST
 * and STATUS_PORT_DISCONNECTED on the client, connection-port rundown,
 * deaths in the middle of a request, and no fd or mapping leaks.
 *
 * Forked children cannot use Criterion's asserts: they report the failing
 * step through their exit code and the parent asserts lpct_wait() == 0.
 */
#include <errno.h>
#include <fcntl.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helpers.h"

TestSuite(teardown, .init = lpct_setup, .fini = lpct_teardown, .timeout = 30);

#define PORT "\\RPC Control\\teardown"
#define PORT_FILE "RPC Control/teardown"

#define CTX ((PVOID)(uintptr_t)0xc0ffee)

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

static HANDLE cid_pid(const lpct_msg *m)
{
	return m->h.ClientId.UniqueProcess;
}

static HANDLE cid_tid(const lpct_msg *m)
{
	return m->h.ClientId.UniqueThread;
}

#define H(x) ((HANDLE)(uintptr_t)(x))

/* Start time of a process (tid 0) or thread as NT system time, from
 * /proc (field 22) and btime, to check CreateTime payloads. */
static int64_t nt_start_time(pid_t pid, pid_t tid)
{
	char path[96], buf[1024], line[256], *p;
	unsigned long long start = 0;
	long long btime = 0;
	long hz = sysconf(_SC_CLK_TCK);
	FILE *f;
	int field;
	ssize_t n;
	int fd;

	f = fopen("/proc/stat", "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "btime %lld", &btime) == 1)
			break;
	fclose(f);
	if (tid)
		snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)pid,
			 (int)tid);
	else
		snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	p = strrchr(buf, ')');
	if (!p)
		return 0;
	for (field = 2; *p && field < 22; p++)
		if (*p == ' ')
			field++;
	if (sscanf(p, "%llu", &start) != 1 || hz <= 0)
		return 0;
	return btime * 10000000LL + (int64_t)start * (10000000LL / hz) +
	       116444736000000000LL;
}

static int64_t create_time(const lpct_msg *m)
{
	LARGE_INTEGER t;

	memcpy(&t, m->data, sizeof(t));
	return t.QuadPart;
}

static void assert_create_time(const lpct_msg *m, int64_t want)
{
	int64_t got = create_time(m);

	cr_assert_neq(want, 0);
	cr_assert(got > want - 20000000 && got < want + 20000000,
		  "CreateTime %lld, expected about %lld", (long long)got,
		  (long long)want);
}

/* The common shape of LPC_PORT_CLOSED and LPC_CLIENT_DIED (spec 2.4). */
static void assert_notice(const lpct_msg *m, PVOID ctx, int type, pid_t pid,
			  pid_t tid, PVOID want_ctx)
{
	cr_assert_eq(lpct_msg_type(m), type, "type %d, want %d",
		     lpct_msg_type(m), type);
	cr_assert_eq(m->h.u1.s1.DataLength, 8);
	cr_assert_eq(m->h.u1.s1.TotalLength, 48);
	cr_assert_eq(m->h.u1.s1.TotalLength, sizeof(CLIENT_DIED_MSG));
	cr_assert_neq(m->h.MessageId, 0);
	cr_assert_eq(cid_pid(m), H(pid), "ClientId pid %zu, want %d",
		     (size_t)cid_pid(m), (int)pid);
	cr_assert_eq(cid_tid(m), H(tid), "ClientId tid %zu, want %d",
		     (size_t)cid_tid(m), (int)tid);
	cr_assert_eq(ctx, want_ctx, "PortContext %p, want %p", ctx, want_ctx);
}

/* Sends through a server communication port whose client is gone. */
static void assert_comm_disconnected(HANDLE comm)
{
	lpct_msg m, r;

	lpct_msg_init(&m, "late", 5);
	cr_assert_status(NtRequestPort(comm, &m.h), STATUS_PORT_DISCONNECTED);
	lpct_msg_init(&m, "late", 5);
	cr_assert_status(NtRequestWaitReplyPort(comm, &m.h, &r.h),
			 STATUS_PORT_DISCONNECTED);
}

/* Listen for one connection request; accept it, but do not complete. */
static HANDLE accept_only(HANDLE port, PVOID ctx, lpct_msg *req)
{
	HANDLE comm = NULL;

	cr_assert_status(NtListenPort(port, &req->h), STATUS_SUCCESS);
	cr_assert_eq(lpct_msg_type(req), LPC_CONNECTION_REQUEST);
	cr_assert_status(NtAcceptConnectPort(&comm, ctx, &req->h, TRUE, NULL,
					     NULL),
			 STATUS_SUCCESS);
	return comm;
}

/* ------------------------------------------------------------------ */
/* Forked clients                                                      */
/* ------------------------------------------------------------------ */

static void child_pause(void)
{
	for (;;)
		pause();
}

/* Accept forked client pid's connection request (into req) with CTX,
 * taking the process's create time while it is surely alive (blocked in
 * NtConnectPort). */
static HANDLE accept_child(HANDLE port, pid_t pid, lpct_msg *req,
			   int64_t *ctime)
{
	HANDLE comm = accept_only(port, CTX, req);

	*ctime = nt_start_time(pid, 0);
	cr_assert_status(NtCompleteConnectPort(comm), STATUS_SUCCESS);
	return comm;
}

/* A client process's last notice: LPC_PORT_CLOSED from thread tid, the
 * comm port disconnected, then nothing more.  Closes comm and port. */
static void assert_last_port_closed(HANDLE port, HANDLE comm, pid_t pid,
				    pid_t tid, int64_t ctime)
{
	PVOID ctx = NULL;
	lpct_msg m;

	lpct_recv_ok(port, &ctx, &m);
	assert_notice(&m, ctx, LPC_PORT_CLOSED, pid, tid, CTX);
	assert_create_time(&m, ctime);
	assert_comm_disconnected(comm);
	lpct_assert_quiet(port);
	cr_assert_status(NtClose(comm), STATUS_SUCCESS);
	cr_assert_status(NtClose(port), STATUS_SUCCESS);
}

/* ------------------------------------------------------------------ */
/* LPC_PORT_CLOSED                                                     */
/* ------------------------------------------------------------------ */

struct closer {
	HANDLE port;
	pid_t tid;
	NTSTATUS s_connect, s_close;
};

static void *client_connect_close(void *arg)
{
	struct closer *c = arg;

	c->tid = lpct_gettid();
	c->s_connect = lpct_connect(&c->port, PORT, NULL, NULL);
	if (c->s_connect == STATUS_SUCCESS)
		c->s_close = NtClose(c->port);
	return NULL;
}

/* R3K-T test_port_server_wait_receive: NtClose of the client port sends
 * LPC_PORT_CLOSED naming the closing thread, with the connection's
 * context and the closing process's create time. */
Test(teardown, client_close_sends_port_closed)
{
	HANDLE port = lpct_create(PORT, 0x100, 0x100), comm;
	struct closer c = { 0 };
	pthread_t t = lpct_thread(client_connect_close, &c);
	PVOID ctx = NULL;
	lpct_msg m;

	comm = lpct_accept_next(port, CTX);
	lpct_recv_ok(port, &ctx, &m);
	lpct_join(t);
	cr_assert_status(c.s_connect, STATUS_SUCCESS);
	cr_assert_status(c.s_close, STATUS_SUCCESS);
	assert_notice(&m, ctx, LPC_PORT_CLOSED, getpid(), c.tid, CTX);
	assert_create_time(&m, nt_start_time(getpid(), 0));
	/* The server's side is now disconnected. */
	assert_comm_disconnected(comm);
	lpct_assert_quiet(port);
	cr_assert_status(NtClose(comm), STATUS_SUCCESS);
	cr_assert_status(NtClose(port), STATUS_SUCCESS);
}

/* PortContext NULL at accept: the notice carries the comm handle. */
Test(teardown, port_closed_default_context_is_comm_handle)
{
	HANDLE port = lpct_create(PORT, 0x100, 0x100), comm;
	struct closer c = { 0 };
	pthread_t t = lpct_thread(client_connect_close, &c);
	PVOID ctx = NULL;
	lpct_msg m;

	comm = lpct_accept_next(port, NULL);
	lpct_recv_ok(port, &ctx, &m);
	lpct_join(t);
	cr_assert_status(c.s_close, STATUS_SUCCESS);
	assert_notice(&m, ctx, LPC_PORT_CLOSED, getpid(), c.tid, comm);
	cr_assert_status(NtClose(comm), STATUS_SUCCESS);
	cr_assert_status(NtClose(port), STATUS_SUCCESS);
}

enum child_end { END_CLOSE_IN_THREAD, END_EXIT, END_KILL };

struct child_closer {
	HANDLE port;
	NTSTATUS s;
};

static void *child_close_thread(void *arg)
{
	struct child_closer *c = arg;
	pid_t tid = lpct_gettid();
	lpct_msg m;

	/* Tell the server who is about to close. */
	lpct_msg_init(&m, &tid, sizeof(tid));
	if (NtRequestPort(c->port, &m.h)) {
		c->s = 1;
		return NULL;
	}
	c->s = NtClose(c->port);
	return NULL;
}

static void child_client_end(void *arg)
{
	enum child_end how = (enum child_end)(uintptr_t)arg;
	struct child_closer c = { 0 };
	pthread_t t;
	pid_t tid = lpct_gettid();
	lpct_msg m;

	lpct_child_enter();
	CHILD_CHECK(lpct_connect(&c.port, PORT, NULL, NULL) == 0, 10);
	CHILD_CHECK(lpct_echo_request(c.port, 7) == 0, 11);
	switch (how) {
	case END_CLOSE_IN_THREAD:
		CHILD_CHECK(pthread_create(&t, NULL, child_close_thread, &c) ==
				    0,
			    12);
		pthread_join(t, NULL);
		CHILD_CHECK(c.s == STATUS_SUCCESS, 13);
		/* Handle gone from the table. */
		CHILD_CHECK(NtClose(c.port) == STATUS_INVALID_HANDLE, 14);
		_exit(0);
	case END_EXIT:
		lpct_msg_init(&m, &tid, sizeof(tid));
		CHILD_CHECK(NtRequestPort(c.port, &m.h) == 0, 15);
		_exit(0); /* without closing anything */
	case END_KILL:
		lpct_msg_init(&m, &tid, sizeof(tid));
		CHILD_CHECK(NtRequestPort(c.port, &m.h) == 0, 16);
		child_pause();
	}
}

/* Server side of the cross-process PORT_CLOSED cases. */
static void port_closed_by_child(enum child_end how)
{
	HANDLE port = lpct_create(PORT, 0x100, 0x100), comm;
	pid_t pid = lpct_fork(child_client_end, (void *)(uintptr_t)how);
	int64_t ctime;
	PVOID ctx = NULL;
	pid_t closer;
	lpct_msg m;

	comm = accept_child(port, pid, &m, &ctime);
	cr_assert_eq(cid_pid(&m), H(pid));
	lpct_recv_ok(port, &ctx, &m);
	cr_assert_eq(lpct_msg_type(&m), LPC_REQUEST);
	cr_assert_eq(ctx, CTX);
	cr_assert_status(lpct_reply_echo(comm, &m), STATUS_SUCCESS);
	lpct_recv_ok(port, &ctx, &m);
	cr_assert_eq(lpct_msg_type(&m), LPC_DATAGRAM);
	memcpy(&closer, m.data, sizeof(closer));
	if (how == END_CLOSE_IN_THREAD)
		cr_assert_neq(closer, pid);
	else
		cr_assert_eq(closer, pid);
	lpct_end_child(pid, how == END_KILL);
	/* A process that dies without closing is seen as its main thread
	 * closing the port. */
	assert_last_port_closed(port, comm, pid, closer, ctime);
}

Test(teardown, client_process_close_from_thread_sends_port_closed)
{
	port_closed_by_child(END_CLOSE_IN_THREAD);
}

Test(teardown, client_process_exit_sends_port_closed)
{
	port_closed_by_child(END_EXIT);
}

Test(teardown, client_process_sigkill_sends_port_closed)
{
	port_closed_by_child(END_KILL);
}

/* ------------------------------------------------------------------ */
/* LPC_CLIENT_DIED                                                     */
/* ------------------------------------------------------------------ */

struct dier {
	int nreg;
	HANDLE port;
	pid_t tid;
	int64_t ctime;
	NTSTATUS s_connect, s_reg, s_dgram;
};

static void *client_register_exit(void *arg)
{
	struct dier *d = arg;
	lpct_msg m;

	d->tid = lpct_gettid();
	d->ctime = nt_start_time(getpid(), d->tid);
	d->s_connect = lpct_connect(&d->port, PORT, NULL, NULL);
	if (d->s_connect)
		return NULL;
	for (int i = 0; i < d->nreg && !d->s_reg; i++)
		d->s_reg = NtRegisterThreadTerminatePort(d->port);
	lpct_msg_init(&m, "bye", 4);
	d->s_dgram = NtRequestPort(d->port, &m.h);
	return NULL; /* exits with the port handle open */
}

/* A client thread that registered its port nreg times exits. */
static void thread_exit_notices(int nreg)
{
	HANDLE port = lpct_create(PORT, 0x100, 0x100), comm;
	struct dier d = { .nreg = nreg };
	pthread_t t = lpct_thread(client_register_exit, &d);
	PVOID ctx = NULL;
	lpct_msg m;

	comm = lpct_accept_next(port, CTX);
	lpct_recv_ok(port, &ctx, &m);
	cr_assert_status(d.s_connect, STATUS_SUCCESS);
	cr_assert_eq(lpct_msg_type(&m), LPC_DATAGRAM);
	cr_assert_str_eq((char *)m.data, "bye");
	for (int i = 0; i < nreg; i++) {
		lpct_recv_ok(port, &ctx, &m);
		assert_notice(&m, ctx, LPC_CLIENT_DIED, getpid(), d.tid, CTX);
		assert_create_time(&m, d.ctime);
	}
	lpct_join(t);
	cr_assert_status(d.s_reg, STATUS_SUCCESS);
	cr_assert_status(d.s_dgram, STATUS_SUCCESS);
	/* Thread exit closes no handle: no LPC_PORT_CLOSED now. */
	lpct_assert_quiet(port);
	/* The connection still works from another thread. */
	lpct_msg_init(&m, "still", 6);
	cr_assert_status(NtRequestPort(d.port, &m.h), STATUS_SUCCESS);
	lpct_recv_ok(port, &ctx, &m);
	cr_assert_eq(lpct_msg_type(&m), LPC_DATAGRAM);
	cr_assert_eq(cid_tid(&m), H(lpct_gettid()));
	cr_assert_eq(ctx, CTX);
	cr_assert_str_eq((char *)m.data, "still");
	/* Closing it now names this thread. */
	cr_assert_status(NtClose(d.port), STATUS_SUCCESS);
	lpct_recv_ok(port, &ctx, &m);
	assert_notice(&m, ctx, LPC_PORT_CLOSED, getpid(), lpct_gettid(), CTX);
	lpct_assert_quiet(port);
	cr_assert_status(NtClose(comm), STATUS_SUCCESS);
	cr_assert_status(NtClose(port), STATUS_SUCCESS);
}

Test(teardown, registered_thread_exit_sends_client_died)
{
	thread_exit_notices(1);
}

Test(teardown, registering_twice_sends_client_died_twice)
{
	thread_exit_notices(2);
}

Test(teardown, unregistered_thread_exit_sends_nothing)
{
	thread_exit_notices(0);
}

Test(teardown, register_terminate_port_bad_handle)
{
	HANDLE port = lpct_create(NULL, 0x100, 0x100);

	cr_assert_status(NtRegisterThreadTerminatePort(NULL),
			 STATUS_INVALID_HANDLE);
	cr_assert_status(NtClose(port), STATUS_SUCCESS);
	/* A closed handle is no longer a handle. */
	cr_assert_status(NtRegisterThreadTerminatePort(port),
			 STATUS_INVALID_HANDLE);
}

struct self_reg {
	HANDLE port;
	pid_t tid;
	int64_t ctime;
	NTSTATUS s;
};

static void *server_thread_register(void *arg)
{
	struct self_reg *r = arg;

	r->tid = lpct_gettid();
	r->ctime = nt_start_time(getpid(), r->tid);
	r->s = NtRegisterThreadTerminatePort(r->port);
	return NULL;
}

/* R3K-T test_port_multi_thread: a server thread registers its own
 * connection port; its exit queues LPC_CLIENT_DIED on that port. */
Test(teardown, server_registers_own_connection_port)
{
	struct self_reg r = { .port = lpct_create(PORT, 0x100, 0x100) };
	PVOID ctx = (PVOID)1;
	lpct_msg m;

	lpct_join(lpct_thread(server_thread_register, &r));
	cr_assert_status(r.s, STATUS_SUCCESS);
	lpct_recv_ok(r.port, &ctx, &m);
	/* Sent through the connection port itself: no connection context
	 * (spec 4.2). */
	assert_notice(&m, ctx, LPC_CLIENT_DIED, getpid(), r.tid, NULL);
	assert_create_time(&m, r.ctime);
	lpct_assert_quiet(r.port);
	cr_assert_status(NtClose(r.port), STATUS_SUCCESS);
}

/* A child whose threads registered the shared client port, then dies:
 * the main thread and t1 registered and are alive, t2 registered and
 * exited earlier (its notice went out then), t3 never registered. */
struct reg_child {
	HANDLE port;
	pthread_barrier_t bar;
	int hold[2];
	pid_t tid[4]; /* main, t1, t2, t3 */
	NTSTATUS s1, s2;
};

static void hold_forever(struct reg_child *c)
{
	char b;

	while (read(c->hold[0], &b, 1) < 0 && errno == EINTR)
		;
}

static void *reg_child_t1(void *arg)
{
	struct reg_child *c = arg;

	c->tid[1] = lpct_gettid();
	c->s1 = NtRegisterThreadTerminatePort(c->port);
	pthread_barrier_wait(&c->bar);
	hold_forever(c);
	return NULL;
}

static void *reg_child_t2(void *arg)
{
	struct reg_child *c = arg;

	c->tid[2] = lpct_gettid();
	c->s2 = NtRegisterThreadTerminatePort(c->port);
	return NULL;
}

static void *reg_child_t3(void *arg)
{
	struct reg_child *c = arg;

	c->tid[3] = lpct_gettid();
	pthread_barrier_wait(&c->bar);
	hold_forever(c);
	return NULL;
}

static void reg_child(void *arg)
{
	bool exit_now = arg != NULL;
	struct reg_child c = { 0 };
	pthread_t t1, t2, t3;
	lpct_msg m;

	lpct_child_enter();
	CHILD_CHECK(pipe(c.hold) == 0, 9);
	CHILD_CHECK(pthread_barrier_init(&c.bar, NULL, 3) == 0, 9);
	CHILD_CHECK(lpct_connect(&c.port, PORT, NULL, NULL) == 0, 10);
	c.tid[0] = lpct_gettid();
	CHILD_CHECK(NtRegisterThreadTerminatePort(c.port) == 0, 11);
	CHILD_CHECK(pthread_create(&t2, NULL, reg_child_t2, &c) == 0, 12);
	pthread_join(t2, NULL);
	CHILD_CHECK(c.s2 == 0, 13);
	CHILD_CHECK(pthread_create(&t1, NULL, reg_child_t1, &c) == 0, 14);
	CHILD_CHECK(pthread_create(&t3, NULL, reg_child_t3, &c) == 0, 14);
	pthread_barrier_wait(&c.bar);
	CHILD_CHECK(c.s1 == 0, 15);
	lpct_msg_init(&m, c.tid, sizeof(c.tid));
	CHILD_CHECK(NtRequestPort(c.port, &m.h) == 0, 16);
	if (exit_now)
		_exit(0); /* t1 and t3 still blocked: no thread-exit code */
	child_pause();
}

static void registered_process_death(bool killed)
{
	HANDLE port = lpct_create(PORT, 0x100, 0x100), comm;
	pid_t pid = lpct_fork(reg_child, killed ? NULL : (void *)1);
	lpct_msg m, died2;
	pid_t tid[4];
	bool seen_main = false, seen_t1 = false;
	int64_t ctime;
	PVOID ctx = NULL, ctx2 = NULL;

	comm = accept_child(port, pid, &m, &ctime);
	/* t2's own exit notice comes before the datagram. */
	lpct_recv_ok(port, &ctx2, &died2);
	lpct_recv_ok(port, &ctx, &m);
	cr_assert_eq(lpct_msg_type(&m), LPC_DATAGRAM, "type %d",
		     lpct_msg_type(&m));
	memcpy(tid, m.data, sizeof(tid));
	cr_assert_eq(tid[0], pid);
	assert_notice(&died2, ctx2, LPC_CLIENT_DIED, pid, tid[2], CTX);
	assert_create_time(&died2, ctime);
	lpct_end_child(pid, killed);
	/* One LPC_CLIENT_DIED per registered live thread, any order... */
	for (int i = 0; i < 2; i++) {
		lpct_recv_ok(port, &ctx, &m);
		cr_assert_eq(lpct_msg_type(&m), LPC_CLIENT_DIED,
			     "message %d: type %d, want LPC_CLIENT_DIED", i,
			     lpct_msg_type(&m));
		if (cid_tid(&m) == H(tid[0])) {
			cr_assert(!seen_main, "main thread reported twice");
			seen_main = true;
			assert_notice(&m, ctx, LPC_CLIENT_DIED, pid, tid[0],
				      CTX);
		} else {
			cr_assert(!seen_t1, "t1 reported twice");
			seen_t1 = true;
			assert_notice(&m, ctx, LPC_CLIENT_DIED, pid, tid[1],
				      CTX);
		}
		assert_create_time(&m, ctime);
	}
	/* ...then LPC_PORT_CLOSED, as from the main thread, and nothing for
	 * t2 (already reported) nor t3 (never registered). */
	assert_last_port_closed(port, comm, pid, pid, ctime);
}

Test(teardown, killed_client_sends_client_died_per_registered_thread)
{
	registered_process_death(true);
}

Test(teardown, exiting_client_sends_client_died_per_registered_thread)
{
	registered_process_death(false);
}

/* ------------------------------------------------------------------ */
/* The server side goes away                                           */
/* ------------------------------------------------------------------ */

struct abandoned {
	HANDLE port;
	NTSTATUS s_connect, s_req, s_dgram, s_req2, s_recv, s_close;
	int recv_type;
};

static void *client_abandoned(void *arg)
{
	struct abandoned *a = arg;
	lpct_msg m, r;

	a->s_connect = lpct_connect(&a->port, PORT, NULL, NULL);
	if (a->s_connect)
		return NULL;
	lpct_msg_init(&m, "wait", 5);
	a->s_req = NtRequestWaitReplyPort(a->port, &m.h, &r.h);
	lpct_msg_init(&m, "dgram", 6);
	a->s_dgram = NtRequestPort(a->port, &m.h);
	lpct_msg_init(&m, "again", 6);
	a->s_req2 = NtRequestWaitReplyPort(a->port, &m.h, &r.h);
	/* No message was sent to this side: the receive reports the
	 * disconnection instead of delivering anything. */
	memset(&r.h, 0, sizeof(r.h));
	a->s_recv = lpct_recv_ms(a->port, NULL, &r.h, LPCT_QUIET_MS);
	a->recv_type = lpct_msg_type(&r);
	a->s_close = NtClose(a->port);
	return NULL;
}

/* Spec 8.1: deleting the server comm port wakes the waiting client with
 * STATUS_LPC_REPLY_LOST; later sends fail with STATUS_PORT_DISCONNECTED. */
Test(teardown, server_comm_close_wakes_requester_with_reply_lost)
{
	HANDLE port = lpct_create(PORT, 0x100, 0x100), comm;
	struct abandoned a = { 0 };
	pthread_t t = lpct_thread(client_abandoned, &a);
	PVOID ctx = NULL;
	lpct_msg m;

	comm = lpct_accept_next(port, CTX);
	lpct_recv_ok(port, &ctx, &m);
	cr_assert_eq(lpct_msg_type(&m), LPC_REQUEST);
	cr_assert_str_eq((char *)m.data, "wait");
	cr_assert_status(NtClose(comm), STATUS_SUCCESS);
	lpct_join(t);
	cr_assert_status(a.s_connect, STATUS_SUCCESS);
	cr_assert_status(a.s_req, STATUS_LPC_REPLY_LOST);
	cr_assert_status(a.s_dgram, STATUS_PORT_DISCONNECTED);
	cr_assert_status(a.s_req2, STATUS_PORT_DISCONNECTED);
	cr_assert_status(a.s_recv, STATUS_PORT_DISCONNECTED);
	cr_assert_status(a.s_close, STATUS_SUCCESS);
	cr_assert_status(NtClose(port), STATUS_SUCCESS);
}

struct receiver {
	HANDLE port;
	pid_t tid;
	sem_t ready;
	NTSTATUS s;
	int type;
};

static void *client_receive(void *arg)
{
	struct receiver *r = arg;
	lpct_msg m;

	r->tid = lpct_gettid();
	sem_post(&r->ready);
	memset(&m.h, 0, sizeof(m.h));
	r->s = NtReplyWaitReceivePort(r->port, NULL, NULL, &m.h);
	r->type = lpct_msg_type(&m);
	return NULL;
}

struct connector {
	HANDLE port;
	pid_t tid;
	sem_t started;
	NTSTATUS s;
};

static void *client_connect(void *arg)
{
	struct connector *c = arg;

	c->tid = lpct_gettid();
	c->port = H(0x55555555);
	sem_post(&c->started);
	c->s = lpct_connect(&c->port, PORT, NULL, NULL);
	return NULL;
}

/* A client thread blocked receiving on its client port is woken with
 * STATUS_PORT_DISCONNECTED when the server comm port goes. */
Test(teardown, server_comm_close_wakes_client_receiver)
{
	HANDLE port = lpct_create(PORT, 0x100, 0x100), comm;
	struct connector c = { 0 };
	struct receiver r = { 0 };
	pthread_t t;
	lpct_msg m;

	sem_init(&c.started, 0, 0);
	sem_init(&r.ready, 0, 0);
	t = lpct_thread(client_connect, &c);
	comm = lpct_accept_next(port, CTX);
	lpct_join(t);
	cr_assert_status(c.s, STATUS_SUCCESS);
	r.port = c.port;
	t = lpct_thread(client_receive, &r);
	sem_wait(&r.ready);
	cr_assert(lpct_wait_sleeping(getpid(), r.tid));
	cr_assert_status(NtClose(comm), STATUS_SUCCESS);
	lpct_join(t);
	cr_assert_status(r.s, STATUS_PORT_DISCONNECTED);
	lpct_msg_init(&m, "late", 5);
	cr_assert_status(NtRequestPort(c.port, &m.h), STATUS_PORT_DISCONNECTED);
	cr_assert_status(NtClose(c.port), STATUS_SUCCESS);
	cr_assert_status(NtClose(port), STATUS_SUCCESS);
}

/* A server in a child process: accepts one connection, receives nreq
 * requests (answering only the first when reply_first), reports 'g' on
 * the pipe, then waits to be killed. */
struct srv_child {
	int pipe_w;
	int nreq;
	bool reply_first;
};

static void server_child(void *arg)
{
	struct srv_child *sc = arg;
	HANDLE port = NULL, comm = NULL;
	PVOID ctx;
	lpct_msg m;

	lpct_child_enter();
	CHILD_CHECK(lpct_try_create(&port, PORT, 0x100, 0x100) == 0, 10);
	CHILD_CHECK(write(sc->pipe_w, "r", 1) == 1, 11);
	CHILD_CHECK(NtListenPort(port, &m.h) == 0, 12);
	CHILD_CHECK(NtAcceptConnectPort(&comm, CTX, &m.h, TRUE, NULL, NULL) ==
			    0,
		    13);
	CHILD_CHECK(NtCompleteConnectPort(comm) == 0, 14);
	for (int i = 0; i < sc->nreq; i++) {
		CHILD_CHECK(lpct_recv_ms(port, &ctx, &m.h, LPCT_RECV_MS) == 0,
			    15);
		CHILD_CHECK(lpct_msg_type(&m) == LPC_REQUEST, 16);
		if (i == 0 && sc->reply_first)
			CHILD_CHECK(lpct_reply_echo(comm, &m) == 0, 17);
	}
	CHILD_CHECK(write(sc->pipe_w, "g", 1) == 1, 18);
	child_pause();
}

struct req_thread {
	HANDLE port;
	uint32_t seq;
	NTSTATUS s;
	int echo_err;
};

static void *client_one_request(void *arg)
{
	struct req_thread *q = arg;
	lpct_msg m, r;

	lpct_msg_init(&m, &q->seq, sizeof(q->seq));
	memset(&r, 0, sizeof(r));
	q->s = NtRequestWaitReplyPort(q->port, &m.h, &r.h);
	if (q->s == STATUS_SUCCESS) {
		uint32_t want = q->seq, got;

		for (unsigned i = 0; i < sizeof(want); i++)
			((unsigned char *)&want)[i]++;
		memcpy(&got, r.data, sizeof(got));
		q->echo_err = lpct_msg_type(&r) != LPC_REPLY || got != want;
	}
	return NULL;
}

/* The server process is killed while nreq client threads wait for
 * replies (one already answered when reply_first) and another client
 * thread waits for a message on the client port. */
static void server_killed(int nreq, bool reply_first)
{
	int pfd[2];
	struct srv_child sc = { .nreq = nreq, .reply_first = reply_first };
	struct req_thread q[4];
	struct receiver r = { 0 };
	pthread_t tq[4], tr;
	HANDLE client = NULL;
	int ok = 0, lost = 0;
	pid_t pid;
	lpct_msg m, rep;

	cr_assert(nreq <= 4);
	cr_assert_eq(pipe(pfd), 0);
	sc.pipe_w = pfd[1];
	pid = lpct_fork(server_child, &sc);
	close(pfd[1]);
	cr_assert_eq(lpct_read_byte(pfd[0]), 'r');
	cr_assert_status(lpct_connect(&client, PORT, NULL, NULL),
			 STATUS_SUCCESS);
	for (int i = 0; i < nreq; i++) {
		q[i] = (struct req_thread){ .port = client, .seq = 100 + i };
		tq[i] = lpct_thread(client_one_request, &q[i]);
	}
	sem_init(&r.ready, 0, 0);
	r.port = client;
	tr = lpct_thread(client_receive, &r);
	cr_assert_eq(lpct_read_byte(pfd[0]), 'g');
	sem_wait(&r.ready);
	cr_assert(lpct_wait_sleeping(getpid(), r.tid));
	lpct_end_child(pid, true);
	for (int i = 0; i < nreq; i++) {
		lpct_join(tq[i]);
		if (q[i].s == STATUS_SUCCESS) {
			cr_assert(!q[i].echo_err, "wrong reply");
			ok++;
		} else {
			cr_assert_status(q[i].s, STATUS_LPC_REPLY_LOST);
			lost++;
		}
	}
	cr_assert_eq(ok, reply_first ? 1 : 0);
	cr_assert_eq(lost, nreq - ok);
	lpct_join(tr);
	cr_assert_status(r.s, STATUS_PORT_DISCONNECTED);
	lpct_msg_init(&m, "late", 5);
	cr_assert_status(NtRequestPort(client, &m.h), STATUS_PORT_DISCONNECTED);
	lpct_msg_init(&m, "late", 5);
	cr_assert_status(NtRequestWaitReplyPort(client, &m.h, &rep.h),
			 STATUS_PORT_DISCONNECTED);
	cr_assert_status(NtClose(client), STATUS_SUCCESS);
	close(pfd[0]);
}

Test(teardown, server_killed_while_client_waits_for_reply)
{
	server_killed(1, false);
}

Test(teardown, server_killed_mid_reply_loses_pending_replies)
{
	server_killed(3, true);
}

/* ------------------------------------------------------------------ */
/* Connection port rundown                                             */
/* ------------------------------------------------------------------ */

/* Spec 8.1: the last handle of the connection port refuses the clients
 * blocked in NtConnectPort (received or still queued), deletes the name,
 * and new connects find nothing. */
Test(teardown, connection_port_close_refuses_pending_connects)
{
	HANDLE port = lpct_create(PORT, 0x100, 0x100), h = NULL;
	struct connector c[3];
	pthread_t t[3];
	HANDLE got[2];
	struct stat st;
	lpct_msg m;
	int unseen = -1;

	cr_assert_eq(stat(lpct_path(PORT_FILE), &st), 0);
	for (int i = 0; i < 3; i++) {
		memset(&c[i], 0, sizeof(c[i]));
		sem_init(&c[i].started, 0, 0);
		t[i] = lpct_thread(client_connect, &c[i]);
	}
	for (int i = 0; i < 3; i++)
		sem_wait(&c[i].started);
	/* Two requests received and left unanswered... */
	for (int i = 0; i < 2; i++) {
		cr_assert_status(NtListenPort(port, &m.h), STATUS_SUCCESS);
		got[i] = cid_tid(&m);
	}
	for (int i = 0; i < 3; i++)
		if (H(c[i].tid) != got[0] && H(c[i].tid) != got[1])
			unseen = i;
	cr_assert_neq(unseen, -1);
	/* ...and one still queued (its thread is blocked in the call). */
	cr_assert(lpct_wait_sleeping(getpid(), c[unseen].tid));
	cr_assert_status(NtClose(port), STATUS_SUCCESS);
	for (int i = 0; i < 3; i++) {
		lpct_join(t[i]);
		cr_assert_status(c[i].s, STATUS_PORT_CONNECTION_REFUSED);
		cr_assert_eq(c[i].port, H(0x55555555),
			     "handle written on refusal");
	}
	cr_assert_status(lpct_connect(&h, PORT, NULL, NULL),
			 STATUS_OBJECT_NAME_NOT_FOUND);
	cr_assert_neq(stat(lpct_path(PORT_FILE), &st), 0);
	cr_assert_eq(errno, ENOENT);
}

struct survivor {
	HANDLE port;
	pid_t tid;
	sem_t go;
	NTSTATUS s_connect, s_dgram, s_req, s_close;
	int reply_type;
	char reply[8];
};

static void *client_survivor(void *arg)
{
	struct survivor *v = arg;
	lpct_msg m, r;

	v->tid = lpct_gettid();
	v->s_connect = lpct_connect(&v->port, PORT, NULL, NULL);
	if (v->s_connect)
		return NULL;
	sem_wait(&v->go);
	lpct_msg_init(&m, "dgram", 6);
	v->s_dgram = NtRequestPort(v->port, &m.h);
	lpct_msg_init(&m, "abc", 4);
	memset(&r, 0, sizeof(r));
	v->s_req = NtRequestWaitReplyPort(v->port, &m.h, &r.h);
	v->reply_type = lpct_msg_type(&r);
	memcpy(v->reply, r.data, sizeof(v->reply));
	v->s_close = NtClose(v->port);
	return NULL;
}

/* Established connections outlive the connection port handle: their
 * messages are still received through the server comm port. */
Test(teardown, connection_port_close_keeps_established_connections)
{
	HANDLE port = lpct_create(PORT, 0x100, 0x100), comm, h = NULL;
	struct survivor v = { 0 };
	pthread_t t;
	struct stat st;
	PVOID ctx = NULL;
	lpct_msg m;

	sem_init(&v.go, 0, 0);
	t = lpct_thread(client_survivor, &v);
	comm = lpct_accept_next(port, CTX);
	cr_assert_status(NtClose(port), STATUS_SUCCESS);
	cr_assert_neq(stat(lpct_path(PORT_FILE), &st), 0,
		      "name still present");
	cr_assert_status(lpct_connect(&h, PORT, NULL, NULL),
			 STATUS_OBJECT_NAME_NOT_FOUND);
	sem_post(&v.go);
	lpct_recv_ok(comm, &ctx, &m);
	cr_assert_eq(lpct_msg_type(&m), LPC_DATAGRAM);
	cr_assert_eq(ctx, CTX);
	cr_assert_str_eq((char *)m.data, "dgram");
	lpct_recv_ok(comm, &ctx, &m);
	cr_assert_eq(lpct_msg_type(&m), LPC_REQUEST);
	cr_assert_eq(ctx, CTX);
	cr_assert_str_eq((char *)m.data, "abc");
	cr_assert_status(lpct_reply_echo(comm, &m), STATUS_SUCCESS);
	lpct_recv_ok(comm, &ctx, &m);
	lpct_join(t);
	cr_assert_status(v.s_connect, STATUS_SUCCESS);
	cr_assert_status(v.s_dgram, STATUS_SUCCESS);
	cr_assert_status(v.s_req, STATUS_SUCCESS);
	cr_assert_eq(v.reply_type, LPC_REPLY);
	cr_assert_eq(memcmp(v.reply, "bcd", 3), 0);
	cr_assert_status(v.s_close, STATUS_SUCCESS);
	assert_notice(&m, ctx, LPC_PORT_CLOSED, getpid(), v.tid, CTX);
	cr_assert_status(NtClose(comm), STATUS_SUCCESS);
}

struct direct {
	HANDLE port;
	pid_t tid;
	sem_t started;
	NTSTATUS s;
};

static void *direct_request(void *arg)
{
	struct direct *d = arg;
	lpct_msg m, r;

	d->tid = lpct_gettid();
	sem_post(&d->started);
	lpct_msg_init(&m, "direct", 7);
	d->s = NtRequestWaitReplyPort(d->port, &m.h, &r.h);
	return NULL;
}

/* Threads that sent NtRequestWaitReplyPort straight to the connection
 * port (no connection) are in its reply chain: its rundown wakes them
 * with STATUS_LPC_REPLY_LOST, received or still queued. */
Test(teardown, connection_port_close_wakes_direct_requesters)
{
	HANDLE port = lpct_create(PORT, 0x100, 0x100);
	struct direct d[2];
	pthread_t t[2];
	PVOID ctx = (PVOID)1;
	lpct_msg m;
	int other;

	for (int i = 0; i < 2; i++) {
		memset(&d[i], 0, sizeof(d[i]));
		d[i].port = port;
		sem_init(&d[i].started, 0, 0);
		t[i] = lpct_thread(direct_request, &d[i]);
	}
	for (int i = 0; i < 2; i++)
		sem_wait(&d[i].started);
	lpct_recv_ok(port, &ctx, &m);
	cr_assert_eq(lpct_msg_type(&m), LPC_REQUEST);
	cr_assert_null(ctx);
	other = cid_tid(&m) == H(d[0].tid) ? 1 : 0;
	cr_assert_eq(cid_tid(&m), H(d[1 - other].tid));
	cr_assert(lpct_wait_sleeping(getpid(), d[other].tid));
	cr_assert_status(NtClose(port), STATUS_SUCCESS);
	for (int i = 0; i < 2; i++) {
		lpct_join(t[i]);
		cr_assert_status(d[i].s, STATUS_LPC_REPLY_LOST);
	}
}

/* ------------------------------------------------------------------ */
/* Deaths in the middle of a request                                   */
/* ------------------------------------------------------------------ */

static void child_request_forever(void *arg)
{
	HANDLE port = NULL;

	lpct_child_enter();
	(void)arg;
	CHILD_CHECK(lpct_connect(&port, PORT, NULL, NULL) == 0, 10);
	lpct_echo_request(port, 1);
	_exit(20); /* must be killed before any reply */
}

struct go_child {
	int pipe_r, pipe_w;
	int nreq;
};

static void child_requests_on_go(void *arg)
{
	struct go_child *g = arg;
	HANDLE port = NULL;
	char b;

	lpct_child_enter();
	close(g->pipe_w);
	CHILD_CHECK(lpct_connect(&port, PORT, NULL, NULL) == 0, 10);
	CHILD_CHECK(read(g->pipe_r, &b, 1) == 1, 11);
	for (int i = 0; i < g->nreq; i++)
		CHILD_CHECK(lpct_echo_request(port, (uint32_t)i) == 0, 12);
	CHILD_CHECK(NtClose(port) == 0, 13);
}

/* Serve requests (echo) until LPC_PORT_CLOSED from pid. */
static int serve_until_closed(HANDLE port, pid_t pid, PVOID want_ctx)
{
	int served = 0;
	PVOID ctx;
	lpct_msg m;

	for (;;) {
		lpct_recv_ok(port, &ctx, &m);
		cr_assert_eq(cid_pid(&m), H(pid));
		cr_assert_eq(ctx, want_ctx);
		if (lpct_msg_type(&m) == LPC_PORT_CLOSED)
			return served;
		cr_assert_eq(lpct_msg_type(&m), LPC_REQUEST, "type %d",
			     lpct_msg_type(&m));
		cr_assert_status(lpct_reply_echo(port, &m), STATUS_SUCCESS);
		served++;
	}
}

/* A client killed after the server received its request: the reply
 * finds nobody (the thread is gone), LPC_PORT_CLOSED follows, and the
 * server keeps serving its other client. */
Test(teardown, client_killed_mid_request)
{
	HANDLE port = lpct_create(PORT, 0x100, 0x100), ca, cb;
	struct go_child g = { .nreq = 5 };
	int pfd[2];
	pid_t a, b;
	PVOID ctx = NULL;
	NTSTATUS s;
	lpct_msg m;

	cr_assert_eq(pipe(pfd), 0);
	g.pipe_r = pfd[0];
	g.pipe_w = pfd[1];
	a = lpct_fork(child_request_forever, NULL);
	ca = lpct_accept_next(port, (PVOID)0xa);
	b = lpct_fork(child_requests_on_go, &g);
	close(pfd[0]);
	cb = lpct_accept_next(port, (PVOID)0xb);
	lpct_recv_ok(port, &ctx, &m);
	cr_assert_eq(lpct_msg_type(&m), LPC_REQUEST);
	cr_assert_eq(cid_pid(&m), H(a));
	cr_assert_eq(ctx, (PVOID)0xa);
	lpct_end_child(a, true);
	/* The requesting thread is gone: nobody to reply to (spec 5.10:
	 * INVALID_CID; MISMATCH if the engine still knows the thread).
	 * Checked with cr_expect so that the rest is still exercised. */
	s = lpct_reply_echo(ca, &m);
	cr_expect(s == STATUS_REPLY_MESSAGE_MISMATCH || s == STATUS_INVALID_CID,
		  "reply to a dead client: 0x%08x", (unsigned)s);
	lpct_recv_ok(port, &ctx, &m);
	assert_notice(&m, ctx, LPC_PORT_CLOSED, a, a, (PVOID)0xa);
	assert_comm_disconnected(ca);
	cr_assert_status(NtClose(ca), STATUS_SUCCESS);
	/* The other client is still served. */
	cr_assert_eq(write(pfd[1], "g", 1), 1);
	cr_assert_eq(serve_until_closed(port, b, (PVOID)0xb), g.nreq);
	cr_assert_eq(lpct_wait(b), 0);
	cr_assert_status(NtClose(cb), STATUS_SUCCESS);
	close(pfd[1]);
	lpct_assert_quiet(port);
	cr_assert_status(NtClose(port), STATUS_SUCCESS);
}

/* ------------------------------------------------------------------ */
/* No fd or mapping leaks                                              */
/* ------------------------------------------------------------------ */

#define LEAK_CYCLES 30

/*
 * Mappings to compare.  Under AddressSanitizer the allocator keeps mapping
 * anonymous regions (its quarantine delays reuse), so there only named
 * mappings count: everything the engine maps has a name (memfd sections,
 * io_uring rings, the ids file); heap leaks are LeakSanitizer's job.
 */
static int count_maps(void)
{
#ifdef __SANITIZE_ADDRESS__
	FILE *f = fopen("/proc/self/maps", "re");
	char line[512];
	int n = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char path[256] = "";

		if (sscanf(line, "%*s %*s %*s %*s %*s %255[^\n]", path) == 1 &&
		    path[0] && path[0] != '[')
			n++;
		else if (strstr(line, "io_uring"))
			n++;
	}
	fclose(f);
	return n;
#else
	return lpct_count_maps();
#endif
}

static void assert_no_leak(void (*cycle)(void))
{
	int fds, maps;

	/* One warm-up cycle creates what is created once (ids mapping,
	 * thread stacks, malloc arenas). */
	cycle();
	fds = lpct_count_fds();
	maps = count_maps();
	for (int i = 0; i < LEAK_CYCLES; i++)
		cycle();
	cr_assert_eq(lpct_count_fds(), fds, "fds: %d before, %d after",
		     fds, lpct_count_fds());
	cr_assert_eq(count_maps(), maps, "maps: %d before, %d after", maps,
		     count_maps());
}

struct cycler {
	bool section;
	NTSTATUS s_sec, s_connect, s_req, s_req2, s_close, s_close_sec;
	int bad;
};

#define SEC_SIZE 0x10000

static void *cycle_client(void *arg)
{
	struct cycler *c = arg;
	HANDLE port = NULL, sec = NULL;
	PORT_VIEW cv = { .Length = sizeof(cv) };
	REMOTE_PORT_VIEW sv = { .Length = sizeof(sv) };
	LARGE_INTEGER size = { .QuadPart = SEC_SIZE };
	lpct_msg m, r;

	if (c->section) {
		c->s_sec = NtCreateSection(&sec, SECTION_ALL_ACCESS, NULL,
					   &size, PAGE_READWRITE, SEC_COMMIT,
					   NULL);
		if (c->s_sec)
			return NULL;
		cv.SectionHandle = sec;
		cv.ViewSize = SEC_SIZE;
		c->s_connect = NtConnectPort(&port, lpct_ustr(PORT), lpct_qos(),
					     &cv, &sv, NULL, NULL, NULL);
	} else {
		c->s_connect = lpct_connect(&port, PORT, NULL, NULL);
	}
	if (c->s_connect)
		goto out;
	if (c->section) {
		if (!cv.ViewBase || !sv.ViewBase) {
			c->bad = 1;
			goto out;
		}
		memset(cv.ViewBase, 'c', 64);
	}
	lpct_msg_init(&m, "xyz", 4);
	memset(&r, 0, sizeof(r));
	c->s_req = NtRequestWaitReplyPort(port, &m.h, &r.h);
	if (!c->s_req && memcmp(r.data, "yz{", 3))
		c->bad = 2;
	if (c->section && ((char *)sv.ViewBase)[0] != 's')
		c->bad = 3;
	c->s_close = NtClose(port);
out:
	if (sec)
		c->s_close_sec = NtClose(sec);
	return NULL;
}

static void cycle_connect_request_close(bool section)
{
	HANDLE port = lpct_create(PORT, 0x100, 0x100), comm = NULL, ssec = NULL;
	struct cycler c = { .section = section };
	pthread_t t = lpct_thread(cycle_client, &c);
	PORT_VIEW sv = { .Length = sizeof(sv) };
	REMOTE_PORT_VIEW cv = { .Length = sizeof(cv) };
	LARGE_INTEGER size = { .QuadPart = SEC_SIZE };
	PVOID ctx;
	lpct_msg m;

	cr_assert_status(NtListenPort(port, &m.h), STATUS_SUCCESS);
	if (section) {
		cr_assert_status(NtCreateSection(&ssec, SECTION_ALL_ACCESS,
						 NULL, &size, PAGE_READWRITE,
						 SEC_COMMIT, NULL),
				 STATUS_SUCCESS);
		sv.SectionHandle = ssec;
		sv.ViewSize = SEC_SIZE;
		cr_assert_status(NtAcceptConnectPort(&comm, CTX, &m.h, TRUE,
						     &sv, &cv),
				 STATUS_SUCCESS);
		cr_assert_not_null(sv.ViewBase);
		cr_assert_not_null(cv.ViewBase);
		memset(sv.ViewBase, 's', 64);
	} else {
		cr_assert_status(NtAcceptConnectPort(&comm, CTX, &m.h, TRUE,
						     NULL, NULL),
				 STATUS_SUCCESS);
	}
	cr_assert_status(NtCompleteConnectPort(comm), STATUS_SUCCESS);
	lpct_recv_ok(port, &ctx, &m);
	cr_assert_eq(lpct_msg_type(&m), LPC_REQUEST);
	if (section)
		cr_assert_eq(((char *)cv.ViewBase)[0], 'c');
	cr_assert_status(lpct_reply_echo(comm, &m), STATUS_SUCCESS);
	lpct_recv_ok(port, &ctx, &m);
	cr_assert_eq(lpct_msg_type(&m), LPC_PORT_CLOSED);
	lpct_join(t);
	cr_assert_status(c.s_connect, STATUS_SUCCESS);
	cr_assert_status(c.s_req, STATUS_SUCCESS);
	cr_assert_eq(c.bad, 0);
	cr_assert_status(c.s_close, STATUS_SUCCESS);
	cr_assert_status(NtClose(comm), STATUS_SUCCESS);
	if (section) {
		cr_assert_status(c.s_close_sec, STATUS_SUCCESS);
		cr_assert_status(NtClose(ssec), STATUS_SUCCESS);
	}
	cr_assert_status(NtClose(port), STATUS_SUCCESS);
}

static void cycle_plain(void)
{
	cycle_connect_request_close(false);
}

static void cycle_sections(void)
{
	cycle_connect_request_close(true);
}

Test(teardown, no_leak_connect_request_close_cycles)
{
	assert_no_leak(cycle_plain);
}

Test(teardown, no_leak_with_section_views)
{
	assert_no_leak(cycle_sections);
}

/* A client with a section view, killed in the middle of a request. */
static void child_section_request_forever(void *arg)
{
	HANDLE port = NULL, sec = NULL;
	PORT_VIEW cv = { .Length = sizeof(cv) };
	LARGE_INTEGER size = { .QuadPart = SEC_SIZE };

	lpct_child_enter();
	(void)arg;
	CHILD_CHECK(NtCreateSection(&sec, SECTION_ALL_ACCESS, NULL, &size,
				    PAGE_READWRITE, SEC_COMMIT, NULL) == 0,
		    10);
	cv.SectionHandle = sec;
	cv.ViewSize = SEC_SIZE;
	CHILD_CHECK(NtConnectPort(&port, lpct_ustr(PORT), lpct_qos(), &cv,
				  NULL, NULL, NULL, NULL) == 0,
		    11);
	lpct_echo_request(port, 1);
	_exit(20);
}

static void cycle_client_death(void)
{
	HANDLE port = lpct_create(PORT, 0x100, 0x100), comm = NULL;
	REMOTE_PORT_VIEW cv = { .Length = sizeof(cv) };
	pid_t pid = lpct_fork(child_section_request_forever, NULL);
	PVOID ctx;
	lpct_msg m;

	cr_assert_status(NtListenPort(port, &m.h), STATUS_SUCCESS);
	cr_assert_status(NtAcceptConnectPort(&comm, CTX, &m.h, TRUE, NULL,
					     &cv),
			 STATUS_SUCCESS);
	cr_assert_not_null(cv.ViewBase);
	cr_assert_status(NtCompleteConnectPort(comm), STATUS_SUCCESS);
	lpct_recv_ok(port, &ctx, &m);
	cr_assert_eq(lpct_msg_type(&m), LPC_REQUEST);
	lpct_end_child(pid, true);
	lpct_recv_ok(port, &ctx, &m);
	cr_assert_eq(lpct_msg_type(&m), LPC_PORT_CLOSED);
	cr_assert_status(NtClose(comm), STATUS_SUCCESS);
	cr_assert_status(NtClose(port), STATUS_SUCCESS);
}

Test(teardown, no_leak_after_client_deaths)
{
	assert_no_leak(cycle_client_death);
}

static void cycle_comm_close(void)
{
	HANDLE port = lpct_create(PORT, 0x100, 0x100), comm;
	struct abandoned a = { 0 };
	pthread_t t = lpct_thread(client_abandoned, &a);
	PVOID ctx;
	lpct_msg m;

	comm = lpct_accept_next(port, CTX);
	lpct_recv_ok(port, &ctx, &m);
	cr_assert_eq(lpct_msg_type(&m), LPC_REQUEST);
	cr_assert_status(NtClose(comm), STATUS_SUCCESS);
	lpct_join(t);
	cr_assert_status(a.s_req, STATUS_LPC_REPLY_LOST);
	cr_assert_status(a.s_close, STATUS_SUCCESS);
	cr_assert_status(NtClose(port), STATUS_SUCCESS);
}

Test(teardown, no_leak_after_server_comm_close)
{
	assert_no_leak(cycle_comm_close);
}
