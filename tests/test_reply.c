/* SPDX-License-Identifier: MIT */
/*
 * test_reply.c - reply matching (spec 5.10, 7.1), NtReplyWaitReceivePort
 * with a reply and with timeouts (5.11), NtReplyWaitReplyPort (5.12),
 * callbacks (7.2), a reply buffer that goes away (5.9), and many threads
 * sharing one client port.
 */
#include <stdio.h>
#include <semaphore.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"

TestSuite(reply, .init = lpct_setup, .fini = lpct_teardown, .timeout = 30);

#define PORT "\\RPC Control\\reply"
#define PORT2 "\\RPC Control\\reply2"
#define HDR ((CSHORT)sizeof(PORT_MESSAGE))

/* cr_assert_status with a message of our own. */
#define assert_status_m(expr, want, fmt, ...)                                  \
	do {                                                                   \
		NTSTATUS s__ = (expr);                                         \
		cr_assert_eq(s__, (NTSTATUS)(want),                            \
			     "%s: got 0x%08x, want 0x%08x (%s): " fmt, #expr,  \
			     (unsigned)s__, (unsigned)(want), #want,           \
			     __VA_ARGS__);                                     \
	} while (0)

static void set_cid(PORT_MESSAGE *m, pid_t pid, pid_t tid)
{
	m->ClientId.UniqueProcess = (HANDLE)(uintptr_t)pid;
	m->ClientId.UniqueThread = (HANDLE)(uintptr_t)tid;
}

static void set_data(lpct_msg *m, const char *s)
{
	CSHORT n = (CSHORT)(strlen(s) + 1);

	memcpy(m->data, s, (size_t)n);
	lpct_set_lengths(&m->h, n, HDR + n);
}

/* A (pid, tid) that names no thread: a reaped child. */
static void noop(void *a)
{
	(void)a;
}

static pid_t dead_pid(void)
{
	pid_t pid = lpct_fork(noop, NULL);

	cr_assert_eq(lpct_wait(pid), 0);
	return pid;
}

/* ---------------------------------------------------------------- */
/* Connections and requester threads                                  */
/* ---------------------------------------------------------------- */

/* A requester thread.  It lingers after its call until finish_request,
 * so that its ClientId keeps naming a live thread that waits for nothing
 * (a reply to it is then MISMATCH, not INVALID_CID). */
struct req {
	HANDLE port;
	lpct_msg in, out;
	NTSTATUS s;
	pid_t tid;
	sem_t release;
};

static void *request_thread(void *a)
{
	struct req *r = a;

	r->tid = lpct_gettid();
	r->s = NtRequestWaitReplyPort(r->port, &r->in.h, &r->out.h);
	while (sem_wait(&r->release))
		;
	return NULL;
}

static pthread_t start_request(struct req *r, HANDLE port, const char *s)
{
	memset(r, 0, sizeof(*r));
	r->port = port;
	r->s = -1;
	lpct_msg_init(&r->in, s, (CSHORT)(strlen(s) + 1));
	memset(&r->out, 0xff, sizeof(r->out));
	sem_init(&r->release, 0, 0);
	return lpct_thread(request_thread, r);
}

/* Receive the next message, which must be a request carrying s. */
static void recv_request(HANDLE port, lpct_msg *m, const char *s)
{
	memset(m, 0, sizeof(*m));
	cr_assert_status(lpct_recv_ms(port, NULL, &m->h, 10000),
			 STATUS_SUCCESS);
	cr_assert_eq(m->h.u2.s2.Type, LPC_REQUEST, "type %d",
		     m->h.u2.s2.Type);
	cr_assert_str_eq((char *)m->data, s);
}

static void finish_request(struct req *r, pthread_t t, const char *want)
{
	sem_post(&r->release);
	lpct_join(t);
	sem_destroy(&r->release);
	cr_assert_status(r->s, STATUS_SUCCESS);
	cr_assert_eq(r->out.h.u2.s2.Type, LPC_REPLY);
	cr_assert_str_eq((char *)r->out.data, want);
}

/* A named port with one connected client. */
struct setup {
	HANDLE port, comm, client;
};

static void setup_connected(struct setup *s, PVOID context)
{
	s->port = lpct_create(PORT, 0, 0x100);
	s->client = lpct_connect_client(s->port, PORT, context, &s->comm);
}

/* setup_connected, then a client request "req", received into m. */
static pthread_t setup_request(struct setup *s, struct req *r, lpct_msg *m)
{
	pthread_t t;

	setup_connected(s, NULL);
	t = start_request(r, s->client, "req");
	recv_request(s->port, m, "req");
	return t;
}

static void close_connected(struct setup *s)
{
	cr_assert_status(NtClose(s->client), STATUS_SUCCESS);
	cr_assert_status(NtClose(s->comm), STATUS_SUCCESS);
	cr_assert_status(NtClose(s->port), STATUS_SUCCESS);
}

/* ---------------------------------------------------------------- */
/* Reply matching (spec 5.10, 7.1)                                   */
/* ---------------------------------------------------------------- */

/* Exactly one reply per request. */
Test(reply, second_reply_is_a_mismatch)
{
	struct setup s;
	struct req r;
	pthread_t t;
	lpct_msg m;

	t = setup_request(&s, &r, &m);
	set_data(&m, "rep");
	cr_assert_status(NtReplyPort(s.comm, &m.h), STATUS_SUCCESS);
	cr_assert_status(NtReplyPort(s.comm, &m.h),
			 STATUS_REPLY_MESSAGE_MISMATCH);
	cr_assert_status(NtReplyPort(s.port, &m.h),
			 STATUS_REPLY_MESSAGE_MISMATCH);
	finish_request(&r, t, "rep");
	close_connected(&s);
}

Test(reply, wrong_message_id_is_a_mismatch)
{
	static const ULONG delta[] = { 1, (ULONG)-1, 0x10000, 0x80000000u };
	struct setup s;
	struct req r;
	pthread_t t;
	lpct_msg m, bad;

	t = setup_request(&s, &r, &m);
	set_data(&m, "rep");
	for (size_t i = 0; i < sizeof(delta) / sizeof(delta[0]); i++) {
		bad = m;
		bad.h.MessageId = m.h.MessageId + delta[i];
		if (!bad.h.MessageId)
			continue;
		cr_assert_status(NtReplyPort(s.comm, &bad.h),
				 STATUS_REPLY_MESSAGE_MISMATCH);
		cr_assert_status(NtReplyPort(s.port, &bad.h),
				 STATUS_REPLY_MESSAGE_MISMATCH);
	}
	cr_assert_status(NtReplyPort(s.comm, &m.h), STATUS_SUCCESS);
	finish_request(&r, t, "rep");
	close_connected(&s);
}

static void *record_tid(void *a)
{
	*(pid_t *)a = lpct_gettid();
	return NULL;
}

/* A ClientId naming no thread: a reaped child's pid, a joined thread of
 * this process, or zero. */
Test(reply, client_id_of_no_thread_is_invalid_cid)
{
	struct setup s;
	struct req r;
	pthread_t t;
	lpct_msg m, bad, out;
	pid_t dead = dead_pid(), gone_tid = 0;

	lpct_join(lpct_thread(record_tid, &gone_tid));
	cr_assert_neq(gone_tid, 0);
	t = setup_request(&s, &r, &m);
	set_data(&m, "rep");
	bad = m;
	set_cid(&bad.h, dead, dead);
	cr_assert_status(NtReplyPort(s.comm, &bad.h), STATUS_INVALID_CID);
	cr_assert_status(NtReplyPort(s.port, &bad.h), STATUS_INVALID_CID);
	cr_assert_status(NtReplyWaitReplyPort(s.comm, &bad.h),
			 STATUS_INVALID_CID);
	cr_assert_status(NtReplyWaitReceivePort(s.comm, NULL, &bad.h, &out.h),
			 STATUS_INVALID_CID);
	set_cid(&bad.h, getpid(), gone_tid);
	cr_assert_status(NtReplyPort(s.comm, &bad.h), STATUS_INVALID_CID);
	set_cid(&bad.h, 0, 0);
	cr_assert_status(NtReplyPort(s.comm, &bad.h), STATUS_INVALID_CID);
	cr_assert_status(NtReplyPort(s.comm, &m.h), STATUS_SUCCESS);
	finish_request(&r, t, "rep");
	close_connected(&s);
}

struct idle {
	int pipe[2];
	pthread_barrier_t started;
	pid_t tid;
};

static void *idle_thread(void *a)
{
	struct idle *i = a;
	char c;

	i->tid = lpct_gettid();
	pthread_barrier_wait(&i->started);
	if (read(i->pipe[0], &c, 1) != 1)
		return (void *)1;
	return NULL;
}

/* A thread that exists but does not wait for this MessageId. */
Test(reply, thread_not_waiting_is_a_mismatch)
{
	struct idle idle = { .tid = 0 };
	struct setup s;
	struct req r;
	pthread_t t, it;
	lpct_msg m, bad, out;
	char c = 1;

	cr_assert_eq(pipe(idle.pipe), 0);
	pthread_barrier_init(&idle.started, NULL, 2);
	it = lpct_thread(idle_thread, &idle);
	pthread_barrier_wait(&idle.started);
	t = setup_request(&s, &r, &m);
	set_data(&m, "rep");
	bad = m;
	set_cid(&bad.h, getpid(), lpct_gettid());
	cr_assert_status(NtReplyPort(s.comm, &bad.h),
			 STATUS_REPLY_MESSAGE_MISMATCH);
	cr_assert_status(NtReplyWaitReplyPort(s.comm, &bad.h),
			 STATUS_REPLY_MESSAGE_MISMATCH);
	cr_assert_status(NtReplyWaitReceivePort(s.comm, NULL, &bad.h, &out.h),
			 STATUS_REPLY_MESSAGE_MISMATCH);
	/* A thread blocked in read(), nothing to do with LPC. */
	set_cid(&bad.h, getpid(), idle.tid);
	cr_assert_status(NtReplyPort(s.comm, &bad.h),
			 STATUS_REPLY_MESSAGE_MISMATCH);
	cr_assert_status(NtReplyPort(s.comm, &m.h), STATUS_SUCCESS);
	finish_request(&r, t, "rep");
	cr_assert_eq(write(idle.pipe[1], &c, 1), 1);
	cr_assert_null(lpct_join(it));
	close(idle.pipe[0]);
	close(idle.pipe[1]);
	pthread_barrier_destroy(&idle.started);
	close_connected(&s);
}

struct dg_then_req {
	HANDLE client;
	lpct_msg out;
	NTSTATUS s;
};

static void *datagram_then_request(void *a)
{
	struct dg_then_req *d = a;
	lpct_msg m;

	d->s = -1;
	lpct_msg_init(&m, "dgram", 6);
	if (NtRequestPort(d->client, &m.h))
		return NULL;
	lpct_msg_init(&m, "req", 4);
	d->s = NtRequestWaitReplyPort(d->client, &m.h, &d->out.h);
	return NULL;
}

/* Datagrams are never answered: replying to one names a sender that is
 * not waiting for it, even while it waits for a later request. */
Test(reply, reply_to_a_datagram_is_a_mismatch)
{
	HANDLE loop = lpct_create(NULL, 0, 0x100);
	struct dg_then_req d;
	struct setup s;
	pthread_t t;
	lpct_msg dg, m;

	setup_connected(&s, NULL);
	d.client = s.client;
	t = lpct_thread(datagram_then_request, &d);
	memset(&dg, 0, sizeof(dg));
	cr_assert_status(lpct_recv_ms(s.port, NULL, &dg.h, 10000),
			 STATUS_SUCCESS);
	cr_assert_eq(dg.h.u2.s2.Type, LPC_DATAGRAM);
	recv_request(s.port, &m, "req");
	cr_assert_eq(memcmp(&dg.h.ClientId, &m.h.ClientId, sizeof(CLIENT_ID)),
		     0);
	cr_assert_neq(dg.h.MessageId, m.h.MessageId);
	cr_assert_status(NtReplyPort(s.comm, &dg.h),
			 STATUS_REPLY_MESSAGE_MISMATCH);
	cr_assert_status(NtReplyPort(s.port, &dg.h),
			 STATUS_REPLY_MESSAGE_MISMATCH);
	set_data(&m, "rep");
	cr_assert_status(NtReplyPort(s.comm, &m.h), STATUS_SUCCESS);
	lpct_join(t);
	cr_assert_status(d.s, STATUS_SUCCESS);
	cr_assert_str_eq((char *)d.out.data, "rep");

	/* Our own datagram through a loop-back port. */
	lpct_msg_init(&dg, "self", 5);
	cr_assert_status(NtRequestPort(loop, &dg.h), STATUS_SUCCESS);
	cr_assert_status(lpct_recv_ms(loop, NULL, &dg.h, 0), STATUS_SUCCESS);
	cr_assert_eq(dg.h.u2.s2.Type, LPC_DATAGRAM);
	cr_assert_status(NtReplyPort(loop, &dg.h),
			 STATUS_REPLY_MESSAGE_MISMATCH);
	cr_assert_status(NtClose(loop), STATUS_SUCCESS);
	close_connected(&s);
}

/* Spec 5.10 (c): the connection port handle and the client's own server
 * communication port may answer; another client's may not, nor an
 * unrelated port. */
Test(reply, only_ports_related_to_the_request_may_answer)
{
	HANDLE port = lpct_create(PORT, 0, 0x100), other, loop;
	HANDLE c1, c2, comm1, comm2;
	struct req r;
	pthread_t t;
	lpct_msg m;
	PVOID ctx;
	long t0;

	c1 = lpct_connect_client(port, PORT, (PVOID)1, &comm1);
	c2 = lpct_connect_client(port, PORT, (PVOID)2, &comm2);
	other = lpct_create(PORT2, 0, 0x100);
	loop = lpct_create(NULL, 0, 0x100);

	t = start_request(&r, c1, "from1");
	ctx = NULL;
	cr_assert_status(lpct_recv_ms(port, &ctx, &m.h, 10000), STATUS_SUCCESS);
	cr_assert_eq(ctx, (PVOID)1);
	set_data(&m, "via comm1");
	cr_assert_status(NtReplyPort(comm2, &m.h),
			 STATUS_REPLY_MESSAGE_MISMATCH);
	cr_assert_status(NtReplyPort(other, &m.h),
			 STATUS_REPLY_MESSAGE_MISMATCH);
	cr_assert_status(NtReplyPort(loop, &m.h),
			 STATUS_REPLY_MESSAGE_MISMATCH);
	cr_assert_status(NtReplyPort(c2, &m.h), STATUS_REPLY_MESSAGE_MISMATCH);
	cr_assert_status(NtReplyPort(comm1, &m.h), STATUS_SUCCESS);
	finish_request(&r, t, "via comm1");

	t = start_request(&r, c1, "again1");
	recv_request(port, &m, "again1");
	set_data(&m, "via port");
	cr_assert_status(NtReplyPort(comm2, &m.h),
			 STATUS_REPLY_MESSAGE_MISMATCH);
	cr_assert_status(NtReplyPort(port, &m.h), STATUS_SUCCESS);
	finish_request(&r, t, "via port");

	t = start_request(&r, c2, "from2");
	ctx = NULL;
	cr_assert_status(lpct_recv_ms(comm1, &ctx, &m.h, 10000),
			 STATUS_SUCCESS);
	cr_assert_eq(ctx, (PVOID)2, "comm ports read the shared queue");
	set_data(&m, "via comm2");
	cr_assert_status(NtReplyPort(comm1, &m.h),
			 STATUS_REPLY_MESSAGE_MISMATCH);
	cr_assert_status(NtReplyPort(comm2, &m.h), STATUS_SUCCESS);
	finish_request(&r, t, "via comm2");

	cr_assert_status(NtClose(loop), STATUS_SUCCESS);
	cr_assert_status(NtClose(other), STATUS_SUCCESS);
	cr_assert_status(NtClose(c1), STATUS_SUCCESS);
	cr_assert_status(NtClose(c2), STATUS_SUCCESS);
	cr_assert_status(NtClose(comm1), STATUS_SUCCESS);
	cr_assert_status(NtClose(comm2), STATUS_SUCCESS);
	t0 = lpct_now_ms();
	cr_assert_status(NtClose(port), STATUS_SUCCESS);
	cr_assert_lt(lpct_now_ms() - t0, 2000,
		     "NtClose of the connection port took %ld ms",
		     lpct_now_ms() - t0);
}

struct replier {
	HANDLE port;
	lpct_msg m;
	NTSTATUS s;
};

static void *reply_thread(void *a)
{
	struct replier *p = a;

	p->s = NtReplyPort(p->port, &p->m.h);
	return NULL;
}

/* Any server thread may answer, not only the one that received. */
Test(reply, any_server_thread_may_reply)
{
	struct replier p;
	struct setup s;
	struct req r;
	pthread_t t;

	setup_connected(&s, NULL);
	t = start_request(&r, s.client, "one");
	recv_request(s.port, &p.m, "one");
	set_data(&p.m, "from another thread");
	p.port = s.comm;
	p.s = -1;
	lpct_join(lpct_thread(reply_thread, &p));
	cr_assert_status(p.s, STATUS_SUCCESS);
	finish_request(&r, t, "from another thread");

	t = start_request(&r, s.client, "two");
	recv_request(s.comm, &p.m, "two");
	set_data(&p.m, "through the connection port");
	p.port = s.port;
	p.s = -1;
	lpct_join(lpct_thread(reply_thread, &p));
	cr_assert_status(p.s, STATUS_SUCCESS);
	finish_request(&r, t, "through the connection port");
	close_connected(&s);
}

/* Spec 5.10 (b), ring3k test_port_no_connect: a thread blocked in
 * NtConnectPort cannot be "replied to", whatever the reply's Type (type 1
 * hung on Windows and is left out, Q7). */
Test(reply, thread_blocked_in_connect_cannot_be_replied_to)
{
	static const CSHORT types[] = { 10, 2, 0, 5, 6, 7, 9, 8, 3 };
	HANDLE port = lpct_create(PORT, 0x100, 0x100), comm = NULL;
	struct lpct_conn c = { .name = PORT };
	pthread_t t = lpct_thread(lpct_connect_thread, &c);
	lpct_msg m, bad;

	memset(&m, 0, sizeof(m));
	cr_assert_status(NtListenPort(port, &m.h), STATUS_SUCCESS);
	cr_assert_eq(m.h.u2.s2.Type, LPC_CONNECTION_REQUEST);
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		bad = m;
		bad.h.u2.s2.Type = types[i];
		assert_status_m(NtReplyPort(port, &bad.h),
				STATUS_REPLY_MESSAGE_MISMATCH, "type %d",
				types[i]);
	}
	cr_assert_status(NtAcceptConnectPort(&comm, NULL, &m.h, TRUE, NULL,
					     NULL),
			 STATUS_SUCCESS);
	cr_assert_status(NtCompleteConnectPort(comm), STATUS_SUCCESS);
	lpct_join(t);
	cr_assert_status(c.s, STATUS_SUCCESS);
	cr_assert_status(NtClose(c.h), STATUS_SUCCESS);
	cr_assert_status(NtClose(comm), STATUS_SUCCESS);
	cr_assert_status(NtClose(port), STATUS_SUCCESS);
}

/* Spec 5.10 effect, Q5 as decided: Type LPC_REPLY whatever the replier
 * wrote, ClientId and the other header fields from the replier's buffer,
 * never a DataInfoOffset; the replier's buffer is not modified. */
Test(reply, reply_header_is_the_repliers_with_type_lpc_reply)
{
	static const CSHORT types[] = { LPC_REQUEST, 0, LPC_DATAGRAM,
					LPC_REPLY };
	struct setup s;
	struct req r;
	pthread_t t;
	lpct_msg m, before;
	ULONG id;

	setup_connected(&s, NULL);
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		t = start_request(&r, s.client, "req");
		recv_request(s.port, &m, "req");
		id = m.h.MessageId;
		set_data(&m, "rep");
		m.h.u2.s2.Type = types[i];
		m.h.u2.s2.DataInfoOffset = HDR;
		m.h.ClientViewSize = 0x55;
		before = m;
		cr_assert_status(NtReplyPort(s.comm, &m.h), STATUS_SUCCESS);
		cr_assert_eq(memcmp(&m, &before, sizeof(m)), 0,
			     "replier's buffer modified");
		sem_post(&r.release);
		lpct_join(t);
		sem_destroy(&r.release);
		cr_assert_status(r.s, STATUS_SUCCESS);
		cr_assert_eq(r.out.h.u2.s2.Type, LPC_REPLY,
			     "replier's Type %d gave %d", types[i],
			     r.out.h.u2.s2.Type);
		cr_assert_eq(r.out.h.u2.s2.DataInfoOffset, 0);
		cr_assert_eq(r.out.h.MessageId, id);
		cr_assert(lpct_cid_is(&r.out.h, getpid(), r.tid));
		cr_assert_eq(r.out.h.ClientViewSize, 0x55);
		cr_assert_eq(r.out.h.u1.s1.DataLength, 4);
		cr_assert_eq(r.out.h.u1.s1.TotalLength, HDR + 4);
		cr_assert_str_eq((char *)r.out.data, "rep");
	}
	close_connected(&s);
}

/* ---------------------------------------------------------------- */
/* NtReplyWaitReceivePort(Ex) (spec 5.11)                            */
/* ---------------------------------------------------------------- */

struct two_req {
	HANDLE port;
	lpct_msg out[2];
	NTSTATUS s[2];
};

static void *two_requests(void *a)
{
	struct two_req *q = a;
	lpct_msg in;

	for (int i = 0; i < 2; i++) {
		lpct_msg_init(&in, i ? "second" : "first", i ? 7 : 6);
		q->s[i] = NtRequestWaitReplyPort(q->port, &in.h, &q->out[i].h);
		if (q->s[i])
			break;
	}
	return NULL;
}

/* One call answers the first request and receives the second, which the
 * client sends only once it has the first answer. */
Test(reply, reply_wait_receive_replies_then_receives)
{
	struct two_req q = { .s = { -1, -1 } };
	struct setup s;
	pthread_t t;
	lpct_msg m, rep;
	PVOID ctx = NULL;

	setup_connected(&s, (PVOID)0xabc);
	q.port = s.client;
	t = lpct_thread(two_requests, &q);
	cr_assert_status(NtReplyWaitReceivePort(s.comm, &ctx, NULL, &m.h),
			 STATUS_SUCCESS);
	cr_assert_eq(ctx, (PVOID)0xabc);
	cr_assert_str_eq((char *)m.data, "first");
	rep = m;
	set_data(&rep, "answer1");
	ctx = NULL;
	memset(&m, 0, sizeof(m));
	cr_assert_status(NtReplyWaitReceivePort(s.comm, &ctx, &rep.h, &m.h),
			 STATUS_SUCCESS);
	cr_assert_eq(ctx, (PVOID)0xabc);
	cr_assert_eq(m.h.u2.s2.Type, LPC_REQUEST);
	cr_assert_str_eq((char *)m.data, "second");
	assert_status_m(NtReplyPort(s.comm, &rep.h),
			STATUS_REPLY_MESSAGE_MISMATCH, "%s",
			"the first request is answered once");
	set_data(&m, "answer2");
	cr_assert_status(NtReplyPort(s.port, &m.h), STATUS_SUCCESS);
	lpct_join(t);
	cr_assert_status(q.s[0], STATUS_SUCCESS);
	cr_assert_status(q.s[1], STATUS_SUCCESS);
	cr_assert_str_eq((char *)q.out[0].data, "answer1");
	cr_assert_str_eq((char *)q.out[1].data, "answer2");
	close_connected(&s);
}

/* A reply that fails is returned as the error, and nothing is received:
 * the queued datagram stays, the receive buffer is untouched. */
Test(reply, reply_wait_receive_with_failing_reply_receives_nothing)
{
	LARGE_INTEGER t1s = lpct_timeout_ms(1000);
	struct setup s;
	struct req r;
	pthread_t t;
	lpct_msg m, bad, out, dg;

	t = setup_request(&s, &r, &m);
	lpct_msg_init(&dg, "queued", 7);
	cr_assert_status(NtRequestPort(s.port, &dg.h), STATUS_SUCCESS);
	set_data(&m, "rep");

	memset(&out, 0xab, sizeof(out));
	bad = m;
	bad.h.MessageId++;
	cr_assert_status(NtReplyWaitReceivePort(s.port, NULL, &bad.h, &out.h),
			 STATUS_REPLY_MESSAGE_MISMATCH);
	cr_assert_status(NtReplyWaitReceivePortEx(s.comm, NULL, &bad.h, &out.h,
						  &t1s),
			 STATUS_REPLY_MESSAGE_MISMATCH);
	bad = m;
	set_cid(&bad.h, dead_pid(), 1);
	cr_assert_status(NtReplyWaitReceivePort(s.port, NULL, &bad.h, &out.h),
			 STATUS_INVALID_CID);
	bad = m;
	bad.h.MessageId = 0;
	cr_assert_status(NtReplyWaitReceivePort(s.port, NULL, &bad.h, &out.h),
			 STATUS_INVALID_PARAMETER);
	bad = m;
	lpct_set_lengths(&bad.h, 4, 0x101);
	cr_assert_status(NtReplyWaitReceivePort(s.port, NULL, &bad.h, &out.h),
			 STATUS_PORT_MESSAGE_TOO_LONG);
	bad = m;
	lpct_set_lengths(&bad.h, 8, HDR + 4);
	cr_assert_status(NtReplyWaitReceivePort(s.port, NULL, &bad.h, &out.h),
			 STATUS_INVALID_PARAMETER);
	for (size_t i = 0; i < sizeof(out); i++)
		cr_assert_eq(((UCHAR *)&out)[i], 0xab,
			     "receive buffer written at byte %zu", i);

	memset(&out, 0, sizeof(out));
	cr_assert_status(lpct_recv_ms(s.port, NULL, &out.h, 10000),
			 STATUS_SUCCESS);
	cr_assert_eq(out.h.u2.s2.Type, LPC_DATAGRAM);
	cr_assert_str_eq((char *)out.data, "queued");
	cr_assert_status(NtReplyPort(s.comm, &m.h), STATUS_SUCCESS);
	finish_request(&r, t, "rep");
	close_connected(&s);
}

/* NT timeouts: negative = relative, in 100 ns units; STATUS_TIMEOUT. */
Test(reply, reply_wait_receive_ex_relative_timeout_expires)
{
	LARGE_INTEGER t100 = lpct_timeout_ms(100);
	HANDLE loop = lpct_create(NULL, 0, 0x100), ports[4];
	struct setup s;
	lpct_msg m;
	long t0, dt;

	setup_connected(&s, NULL);
	ports[0] = s.port, ports[1] = s.comm;
	ports[2] = s.client, ports[3] = loop;
	for (size_t i = 0; i < sizeof(ports) / sizeof(ports[0]); i++) {
		memset(&m, 0xab, sizeof(m));
		t0 = lpct_now_ms();
		cr_assert_status(NtReplyWaitReceivePortEx(ports[i], NULL, NULL,
							  &m.h, &t100),
				 STATUS_TIMEOUT);
		dt = lpct_now_ms() - t0;
		cr_assert_geq(dt, 90, "port %zu: timed out after %ld ms", i,
			      dt);
		cr_assert_lt(dt, 5000, "port %zu: timed out after %ld ms", i,
			     dt);
		cr_assert_eq(m.h.u1.Length, 0xabababab, "buffer written");
	}
	cr_assert_status(NtClose(loop), STATUS_SUCCESS);
	close_connected(&s);
}

/* A datagram text sent through from is received at once on on by a
 * zero-timeout NtReplyWaitReceivePortEx. */
static void send_then_poll(HANDLE from, HANDLE on, const char *text)
{
	LARGE_INTEGER zero = { .QuadPart = 0 };
	lpct_msg m;

	lpct_msg_init(&m, text, (CSHORT)(strlen(text) + 1));
	cr_assert_status(NtRequestPort(from, &m.h), STATUS_SUCCESS);
	memset(&m, 0, sizeof(m));
	cr_assert_status(NtReplyWaitReceivePortEx(on, NULL, NULL, &m.h, &zero),
			 STATUS_SUCCESS);
	cr_assert_str_eq((char *)m.data, text);
}

/* A zero timeout polls: STATUS_TIMEOUT at once on an empty queue, the
 * message when one is queued, including one a client port has sent. */
Test(reply, reply_wait_receive_ex_zero_timeout_polls)
{
	LARGE_INTEGER zero = { .QuadPart = 0 };
	HANDLE loop = lpct_create(NULL, 0, 0x100), ports[4];
	struct setup s;
	lpct_msg m;
	long t0;

	setup_connected(&s, (PVOID)0x42);
	ports[0] = s.port, ports[1] = s.comm;
	ports[2] = s.client, ports[3] = loop;
	for (size_t i = 0; i < sizeof(ports) / sizeof(ports[0]); i++) {
		t0 = lpct_now_ms();
		cr_assert_status(NtReplyWaitReceivePortEx(ports[i], NULL, NULL,
							  &m.h, &zero),
				 STATUS_TIMEOUT);
		cr_assert_lt(lpct_now_ms() - t0, 1000);
	}
	send_then_poll(loop, loop, "local");
	/* NtRequestPort has returned: the datagram is queued. */
	send_then_poll(s.client, s.port, "remote");
	send_then_poll(s.comm, s.client, "to client");
	cr_assert_status(NtClose(loop), STATUS_SUCCESS);
	close_connected(&s);
}

struct late {
	HANDLE client;
	NTSTATUS s;
	lpct_msg out;
};

static void *late_sender(void *a)
{
	struct late *l = a;
	struct timespec ts = { 0, 100 * 1000 * 1000 };
	lpct_msg m;

	/* Not a wait for an event: the message must arrive while the
	 * receiver is already blocked. */
	nanosleep(&ts, NULL);
	lpct_msg_init(&m, "late", 5);
	l->s = NtRequestPort(l->client, &m.h);
	if (l->s)
		return NULL;
	nanosleep(&ts, NULL);
	lpct_msg_init(&m, "later", 6);
	l->s = NtRequestWaitReplyPort(l->client, &m.h, &l->out.h);
	return NULL;
}

/* A message arriving before the timeout ends the wait with it, and a
 * reply sent by an Ex call that then times out is delivered. */
Test(reply, reply_wait_receive_ex_returns_message_arriving_in_time)
{
	LARGE_INTEGER t10s = lpct_timeout_ms(10000);
	LARGE_INTEGER zero = { .QuadPart = 0 };
	struct late l = { .s = -1 };
	struct setup s;
	pthread_t t;
	lpct_msg m, m2;
	long t0;

	setup_connected(&s, NULL);
	l.client = s.client;
	t = lpct_thread(late_sender, &l);
	t0 = lpct_now_ms();
	memset(&m, 0, sizeof(m));
	cr_assert_status(NtReplyWaitReceivePortEx(s.port, NULL, NULL, &m.h,
						  &t10s),
			 STATUS_SUCCESS);
	cr_assert_lt(lpct_now_ms() - t0, 5000);
	cr_assert_eq(m.h.u2.s2.Type, LPC_DATAGRAM);
	cr_assert_str_eq((char *)m.data, "late");
	t0 = lpct_now_ms();
	memset(&m, 0, sizeof(m));
	cr_assert_status(NtReplyWaitReceivePortEx(s.comm, NULL, NULL, &m.h,
						  &t10s),
			 STATUS_SUCCESS);
	cr_assert_lt(lpct_now_ms() - t0, 5000);
	cr_assert_eq(m.h.u2.s2.Type, LPC_REQUEST);
	cr_assert_str_eq((char *)m.data, "later");
	set_data(&m, "in time");
	cr_assert_status(NtReplyWaitReceivePortEx(s.port, NULL, &m.h, &m2.h,
						  &zero),
			 STATUS_TIMEOUT);
	lpct_join(t);
	cr_assert_status(l.s, STATUS_SUCCESS);
	cr_assert_eq(l.out.h.u2.s2.Type, LPC_REPLY);
	cr_assert_str_eq((char *)l.out.data, "in time");
	close_connected(&s);
}

/* ---------------------------------------------------------------- */
/* NtReplyWaitReplyPort (spec 5.12) and NULL messages                 */
/* ---------------------------------------------------------------- */

Test(reply, reply_wait_reply_port_errors)
{
	struct setup s;
	struct req r;
	pthread_t t;
	lpct_msg m, bad;

	t = setup_request(&s, &r, &m);
	set_data(&m, "rep");
	cr_assert_status(NtReplyWaitReplyPort(s.comm, NULL),
			 STATUS_ACCESS_VIOLATION);
	cr_assert_status(NtReplyWaitReplyPort(s.comm, (PPORT_MESSAGE)8),
			 STATUS_ACCESS_VIOLATION);
	bad = m;
	bad.h.MessageId = 0;
	cr_assert_status(NtReplyWaitReplyPort(s.comm, &bad.h),
			 STATUS_INVALID_PARAMETER);
	bad = m;
	bad.h.MessageId++;
	cr_assert_status(NtReplyWaitReplyPort(s.comm, &bad.h),
			 STATUS_REPLY_MESSAGE_MISMATCH);
	bad = m;
	set_cid(&bad.h, getpid(), lpct_gettid());
	cr_assert_status(NtReplyWaitReplyPort(s.comm, &bad.h),
			 STATUS_REPLY_MESSAGE_MISMATCH);
	bad = m;
	lpct_set_lengths(&bad.h, 4, 0x101);
	cr_assert_status(NtReplyWaitReplyPort(s.comm, &bad.h),
			 STATUS_PORT_MESSAGE_TOO_LONG);
	cr_assert_status(NtReplyPort(s.comm, &m.h), STATUS_SUCCESS);
	finish_request(&r, t, "rep");
	close_connected(&s);
}

Test(reply, null_messages_are_access_violations)
{
	struct setup s;
	HANDLE ports[3];
	PVOID ctx;

	setup_connected(&s, NULL);
	ports[0] = s.port, ports[1] = s.comm, ports[2] = s.client;
	for (size_t i = 0; i < sizeof(ports) / sizeof(ports[0]); i++) {
		cr_assert_status(NtRequestWaitReplyPort(ports[i], NULL, NULL),
				 STATUS_ACCESS_VIOLATION);
		cr_assert_status(NtReplyPort(ports[i], NULL),
				 STATUS_ACCESS_VIOLATION);
		cr_assert_status(NtReplyWaitReceivePort(ports[i], &ctx, NULL,
							NULL),
				 STATUS_ACCESS_VIOLATION);
		cr_assert_status(NtReplyWaitReplyPort(ports[i], NULL),
				 STATUS_ACCESS_VIOLATION);
	}
	close_connected(&s);
}

/* ---------------------------------------------------------------- */
/* The requester's reply buffer goes away (ring3k test_port_bad_address) */
/* ---------------------------------------------------------------- */

struct freed {
	HANDLE port;
	PORT_MESSAGE *reply;
	NTSTATUS s;
	int done[2], release[2];
};

/* Requests, reports, then stays alive until released: its ClientId must
 * still name a thread when the server tries to answer it again. */
static void *freed_requester(void *a)
{
	struct freed *f = a;
	lpct_msg m;
	char c = 1;

	lpct_msg_init(&m, "req", 4);
	f->s = NtRequestWaitReplyPort(f->port, &m.h, f->reply);
	if (write(f->done[1], &c, 1) != 1 || read(f->release[0], &c, 1) != 1)
		return (void *)1;
	return NULL;
}

static void freed_buffer_case(HANDLE send, HANDLE recv, HANDLE answer)
{
	long pg = sysconf(_SC_PAGESIZE);
	struct freed f = { .port = send, .s = -1 };
	void *page, *pin;
	pthread_t t;
	lpct_msg m;
	char c = 1;

	page = mmap(NULL, pg, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	cr_assert_neq(page, MAP_FAILED);
	f.reply = page;
	cr_assert_eq(pipe(f.done), 0);
	cr_assert_eq(pipe(f.release), 0);
	t = lpct_thread(freed_requester, &f);
	recv_request(recv, &m, "req");
	cr_assert_eq(munmap(page, pg), 0);
	/* Keep the hole a hole: nothing else may be mapped there. */
	pin = mmap(page, pg, PROT_NONE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	cr_assert_eq(pin, page);
	set_data(&m, "rep");
	cr_assert_status(NtReplyPort(answer, &m.h), STATUS_SUCCESS);
	cr_assert_eq(read(f.done[0], &c, 1), 1);
	cr_assert_status(f.s, STATUS_ACCESS_VIOLATION);
	/* The request is over: the live requester waits for nothing. */
	cr_assert_status(NtReplyPort(answer, &m.h),
			 STATUS_REPLY_MESSAGE_MISMATCH);
	cr_assert_eq(write(f.release[1], &c, 1), 1);
	cr_assert_null(lpct_join(t));
	for (int i = 0; i < 2; i++) {
		close(f.done[i]);
		close(f.release[i]);
	}
	munmap(pin, pg);
}

Test(reply, freed_reply_buffer_gives_requester_access_violation)
{
	HANDLE loop = lpct_create(NULL, 0, 0x100);
	struct setup s;
	struct req r;
	pthread_t t;
	lpct_msg m;

	setup_connected(&s, NULL);
	freed_buffer_case(s.client, s.port, s.comm);
	freed_buffer_case(loop, loop, loop);
	/* The connection still works. */
	t = start_request(&r, s.client, "after");
	recv_request(s.port, &m, "after");
	set_data(&m, "fine");
	cr_assert_status(NtReplyPort(s.comm, &m.h), STATUS_SUCCESS);
	finish_request(&r, t, "fine");
	cr_assert_status(NtClose(loop), STATUS_SUCCESS);
	close_connected(&s);
}

/* ---------------------------------------------------------------- */
/* Callbacks (spec 7.2)                                              */
/* ---------------------------------------------------------------- */

#define N_CALLBACKS 2

struct cb_client {
	sem_t release;	/* process-shared: the client lingers until posted */
	HANDLE client;
	pid_t pid, tid;
	int callbacks, fail;
	NTSTATUS first, final_status;
	ULONG cbid[N_CALLBACKS];
	ULONG cb_msgid[N_CALLBACKS];
	CLIENT_ID cb_cid[N_CALLBACKS];
	char cb_data[N_CALLBACKS][16];
	lpct_msg final;
};

/* The client: one request; answers every callback with
 * NtReplyWaitReplyPort, which also waits again for the request's answer. */
static void *cb_client_main(void *a)
{
	struct cb_client *c = a;
	lpct_msg req, m;
	NTSTATUS s;

	c->pid = getpid();
	c->tid = lpct_gettid();
	lpct_msg_init(&req, "request", 8);
	memset(&m, 0xff, sizeof(m));
	s = NtRequestWaitReplyPort(c->client, &req.h, &m.h);
	c->first = s;
	while (s == STATUS_SUCCESS && m.h.u2.s2.Type == LPC_REQUEST) {
		int i = c->callbacks;

		if (i >= N_CALLBACKS) {
			c->fail = 1;
			return NULL;
		}
		c->cbid[i] = m.h.CallbackId;
		c->cb_msgid[i] = m.h.MessageId;
		c->cb_cid[i] = m.h.ClientId;
		memcpy(c->cb_data[i], m.data, sizeof(c->cb_data[i]));
		c->cb_data[i][15] = 0;
		memcpy(m.data, "answer0", 8);
		m.data[6] = (UCHAR)('0' + i);
		lpct_set_lengths(&m.h, 8, HDR + 8);
		c->callbacks++;
		s = NtReplyWaitReplyPort(c->client, &m.h);
	}
	c->final_status = s;
	c->final = m;
	while (sem_wait(&c->release))
		;
	return NULL;
}

/* The server: receive the request, call the client back N_CALLBACKS
 * times (through the comm port, then the connection port), answer. */
static void serve_callbacks(HANDLE port, HANDLE comm, pid_t client_pid,
			    sem_t *release, ULONG *msgid)
{
	lpct_msg m, cb, cbr;
	ULONG id;

	recv_request(port, &m, "request");
	cr_assert_eq((uintptr_t)m.h.ClientId.UniqueProcess,
		     (uintptr_t)client_pid);
	id = m.h.MessageId;
	*msgid = id;
	for (int i = 0; i < N_CALLBACKS; i++) {
		char text[24];

		snprintf(text, sizeof(text), "callback%d", i);
		lpct_msg_init(&cb, text, 10);
		cb.h.u2.s2.Type = LPC_REQUEST;
		cb.h.MessageId = id;
		cb.h.ClientId = m.h.ClientId;
		memset(&cbr, 0xff, sizeof(cbr));
		assert_status_m(NtRequestWaitReplyPort(i ? port : comm, &cb.h,
						       &cbr.h),
				STATUS_SUCCESS, "callback %d", i);
		cr_assert_eq(cbr.h.u2.s2.Type, LPC_REPLY);
		cr_assert_eq(cbr.h.MessageId, id);
		cr_assert(lpct_cid_is(&cbr.h, getpid(), lpct_gettid()),
			  "the client answered the server thread");
		cr_assert_eq(cbr.h.u1.s1.DataLength, 8);
		snprintf(text, sizeof(text), "answer%d", i);
		cr_assert_str_eq((char *)cbr.data, text);
	}
	set_data(&m, "final");
	cr_assert_status(NtReplyPort(comm, &m.h), STATUS_SUCCESS);
	cr_assert_status(NtReplyPort(comm, &m.h),
			 STATUS_REPLY_MESSAGE_MISMATCH);
	sem_post(release);
}

static void check_cb_client(const struct cb_client *c, ULONG id)
{
	cr_assert_eq(c->fail, 0);
	cr_assert_status(c->first, STATUS_SUCCESS);
	cr_assert_eq(c->callbacks, N_CALLBACKS);
	for (int i = 0; i < N_CALLBACKS; i++) {
		char text[24];

		cr_assert_neq(c->cbid[i], 0, "callback %d: CallbackId 0", i);
		if (i)
			cr_assert_neq(c->cbid[i], c->cbid[i - 1],
				      "a fresh CallbackId per callback");
		cr_assert_eq(c->cb_msgid[i], id);
		cr_assert_eq((uintptr_t)c->cb_cid[i].UniqueProcess,
			     (uintptr_t)getpid());
		cr_assert_eq((uintptr_t)c->cb_cid[i].UniqueThread,
			     (uintptr_t)lpct_gettid(),
			     "callback ClientId is the server thread");
		snprintf(text, sizeof(text), "callback%d", i);
		cr_assert_str_eq(c->cb_data[i], text);
	}
	cr_assert_status(c->final_status, STATUS_SUCCESS);
	cr_assert_eq(c->final.h.u2.s2.Type, LPC_REPLY);
	cr_assert_eq(c->final.h.MessageId, id);
	cr_assert_str_eq((char *)c->final.data, "final");
}

Test(reply, callback_in_one_process)
{
	struct cb_client c = { 0 };
	struct setup s;
	pthread_t t;
	ULONG id;

	setup_connected(&s, NULL);
	c.client = s.client;
	sem_init(&c.release, 1, 0);
	t = lpct_thread(cb_client_main, &c);
	serve_callbacks(s.port, s.comm, getpid(), &c.release, &id);
	lpct_join(t);
	check_cb_client(&c, id);
	close_connected(&s);
}

static void cb_client_fork(void *a)
{
	struct cb_client *c = a;

	if (lpct_connect(&c->client, PORT, NULL, NULL))
		_exit(10);
	cb_client_main(c);
	NtClose(c->client);
	_exit(0);
}

Test(reply, callback_with_client_in_another_process)
{
	HANDLE port = lpct_create(PORT, 0, 0x100), comm = NULL;
	struct cb_client *c;
	lpct_msg m;
	pid_t pid;
	ULONG id;

	c = mmap(NULL, sizeof(*c), PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	cr_assert_neq(c, MAP_FAILED);
	memset(c, 0, sizeof(*c));
	cr_assert_eq(sem_init(&c->release, 1, 0), 0);
	pid = lpct_fork(cb_client_fork, c);
	cr_assert_status(lpct_recv_ms(port, NULL, &m.h, 10000), STATUS_SUCCESS);
	cr_assert_eq(m.h.u2.s2.Type, LPC_CONNECTION_REQUEST);
	cr_assert_status(NtAcceptConnectPort(&comm, NULL, &m.h, TRUE, NULL,
					     NULL),
			 STATUS_SUCCESS);
	cr_assert_status(NtCompleteConnectPort(comm), STATUS_SUCCESS);
	serve_callbacks(port, comm, pid, &c->release, &id);
	cr_assert_eq(lpct_wait(pid), 0);
	cr_assert_eq(c->pid, pid);
	check_cb_client(c, id);
	munmap(c, sizeof(*c));
	cr_assert_status(NtClose(comm), STATUS_SUCCESS);
	cr_assert_status(NtClose(port), STATUS_SUCCESS);
}

/* A callback is matched like a reply: MessageId 0 is INVALID_PARAMETER,
 * a thread not waiting for it MISMATCH, no thread INVALID_CID; none of
 * them reaches the client, which then gets its ordinary reply. */
Test(reply, callback_errors)
{
	HANDLE loop = lpct_create(NULL, 0, 0x100);
	struct setup s;
	struct req r;
	pthread_t t;
	lpct_msg m, cb, out;

	t = setup_request(&s, &r, &m);

	lpct_msg_init(&cb, "cb", 3);
	cb.h.u2.s2.Type = LPC_REQUEST;
	cb.h.ClientId = m.h.ClientId;
	cb.h.MessageId = 0;
	cr_assert_status(NtRequestWaitReplyPort(s.comm, &cb.h, &out.h),
			 STATUS_INVALID_PARAMETER);
	cb.h.MessageId = m.h.MessageId + 1;
	cr_assert_status(NtRequestWaitReplyPort(s.comm, &cb.h, &out.h),
			 STATUS_REPLY_MESSAGE_MISMATCH);
	cb.h.MessageId = m.h.MessageId;
	set_cid(&cb.h, getpid(), lpct_gettid());
	cr_assert_status(NtRequestWaitReplyPort(s.comm, &cb.h, &out.h),
			 STATUS_REPLY_MESSAGE_MISMATCH);
	set_cid(&cb.h, dead_pid(), 1);
	cr_assert_status(NtRequestWaitReplyPort(s.comm, &cb.h, &out.h),
			 STATUS_INVALID_CID);
	/* Through a port unrelated to the request. */
	cb.h.ClientId = m.h.ClientId;
	cr_assert_status(NtRequestWaitReplyPort(loop, &cb.h, &out.h),
			 STATUS_REPLY_MESSAGE_MISMATCH);
	cr_assert_status(NtClose(loop), STATUS_SUCCESS);

	set_data(&m, "plain");
	cr_assert_status(NtReplyPort(s.comm, &m.h), STATUS_SUCCESS);
	finish_request(&r, t, "plain");
	close_connected(&s);
}

/* ---------------------------------------------------------------- */
/* Many threads, one client port handle                              */
/* ---------------------------------------------------------------- */

#define N_WORKERS 8
#define N_REQS 500

struct worker {
	HANDLE client;
	uint32_t idx;
	int fail;
	uint32_t done;
};

static void *worker_main(void *a)
{
	struct worker *w = a;
	pid_t tid = lpct_gettid();

	for (uint32_t i = 0; i < N_REQS; i++) {
		uint32_t q[4] = { w->idx, i, w->idx * 7919u + i * 104729u, 0 };
		uint32_t a4[4];
		lpct_msg in, out;
		NTSTATUS s;

		lpct_msg_init(&in, q, sizeof(q));
		memset(&out, 0, sizeof(out));
		s = NtRequestWaitReplyPort(w->client, &in.h, &out.h);
		if (s) {
			w->fail = 1;
			return NULL;
		}
		memcpy(a4, out.data, sizeof(a4));
		if (out.h.u2.s2.Type != LPC_REPLY ||
		    out.h.u1.s1.DataLength != sizeof(a4) ||
		    !lpct_cid_is(&out.h, getpid(), tid) || a4[0] != ~q[0] ||
		    a4[1] != ~q[1] || a4[2] != ~q[2] ||
		    a4[3] != q[0] * N_REQS + q[1]) {
			w->fail = 2;
			return NULL;
		}
		w->done++;
	}
	return NULL;
}

Test(reply, threads_sharing_a_client_port_get_their_own_replies)
{
	LARGE_INTEGER t10s = lpct_timeout_ms(10000);
	struct worker w[N_WORKERS];
	pthread_t t[N_WORKERS];
	int seen[N_WORKERS] = { 0 };
	struct setup s;
	lpct_msg m, rep;
	bool have = false;

	setup_connected(&s, (PVOID)0x5e);
	for (int i = 0; i < N_WORKERS; i++) {
		w[i] = (struct worker){ .client = s.client, .idx = (uint32_t)i };
		t[i] = lpct_thread(worker_main, &w[i]);
	}
	for (int n = 0; n < N_WORKERS * N_REQS; n++) {
		uint32_t q[4];
		PVOID ctx = NULL;

		assert_status_m(NtReplyWaitReceivePortEx(s.port, &ctx,
							 have ? &rep.h : NULL,
							 &m.h, &t10s),
				STATUS_SUCCESS, "after %d requests", n);
		cr_assert_eq(m.h.u2.s2.Type, LPC_REQUEST);
		cr_assert_eq(ctx, (PVOID)0x5e);
		cr_assert_eq(m.h.u1.s1.DataLength, sizeof(q));
		memcpy(q, m.data, sizeof(q));
		cr_assert_lt(q[0], N_WORKERS);
		cr_assert_eq(q[1], (uint32_t)seen[q[0]],
			     "worker %u: request %u out of order", q[0], q[1]);
		seen[q[0]]++;
		rep = m;
		q[3] = q[0] * N_REQS + q[1];
		q[0] = ~q[0];
		q[1] = ~q[1];
		q[2] = ~q[2];
		memcpy(rep.data, q, sizeof(q));
		have = true;
	}
	cr_assert_status(NtReplyPort(s.comm, &rep.h), STATUS_SUCCESS);
	for (int i = 0; i < N_WORKERS; i++) {
		lpct_join(t[i]);
		cr_assert_eq(w[i].fail, 0, "worker %d failed (%d) after %u", i,
			     w[i].fail, w[i].done);
		cr_assert_eq(w[i].done, N_REQS);
		cr_assert_eq(seen[i], N_REQS);
	}
	close_connected(&s);
}
