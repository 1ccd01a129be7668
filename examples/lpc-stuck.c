/* SPDX-License-Identifier: MIT */
/*
 * lpc-stuck - five ways an LPC server leaves its client waiting for a
 * reply, each produced on purpose so that `lpctrace waits` can be used to
 * find the server thread responsible (docs/examples/stuck-server.md).
 *
 *   lpc-stuck FAULT [--hold SECS]    produce it, hold it (default 5 s, or
 *                                    until Ctrl-C), clean up
 *   lpc-stuck FAULT --diagnose       produce it, run `lpctrace waits`
 *
 * FAULT:
 *   busy          both worker threads of a server sit in a handler
 *                 blocked on a lock; a third request stays queued
 *   deadlock      servers X and Y each call the other from a handler,
 *                 each with a single thread: a cycle of reply waits
 *   wrong-client  two workers share one message buffer: A's answer goes
 *                 out with B's MessageId and ClientId
 *   wrong-port    the server answers A through B's communication port
 *   reply-fails   the server's replies are refused (too long, bad
 *                 lengths) and it ignores the status
 *
 * Servers and clients are separate processes (forked), as they would be
 * in life; every line says who printed it as PID/TID, the form lpctrace
 * uses.  Each ends with "stuck:" lines naming the waiting client thread
 * and the server thread responsible, as this program knows them: what
 * lpctrace should find.  Clients never get out of their waits by
 * themselves: the program kills every child at the end.
 *
 * $LPC_ROOT is used if set, else a fresh temporary one (removed at the
 * end).  lpctrace is $LPC_BUILD/lpctrace, or ../lpctrace next to this
 * program.
 */
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <lpc/lpc.h>

typedef struct {
	PORT_MESSAGE h;
	char data[LPC_MAX_MESSAGE_LENGTH];
} msg_t;

/* ------------------------------------------------------------------ */
/* Small things                                                        */
/* ------------------------------------------------------------------ */

static const char *status_name(NTSTATUS s)
{
	switch ((uint32_t)s) {
	case 0x00000000: return "STATUS_SUCCESS";
	case 0x00000102: return "STATUS_TIMEOUT";
	case 0xC000000D: return "STATUS_INVALID_PARAMETER";
	case 0xC000000B: return "STATUS_INVALID_CID";
	case 0xC0000037: return "STATUS_PORT_DISCONNECTED";
	case 0xC000002F: return "STATUS_PORT_MESSAGE_TOO_LONG";
	case 0xC000021F: return "STATUS_REPLY_MESSAGE_MISMATCH";
	case 0xC0000253: return "STATUS_LPC_REPLY_LOST";
	case 0xC0000008: return "STATUS_INVALID_HANDLE";
	default: return "(another status)";
	}
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

static unsigned long cid_pid(const PORT_MESSAGE *h)
{
	return (unsigned long)(uintptr_t)h->ClientId.UniqueProcess;
}

static unsigned long cid_tid(const PORT_MESSAGE *h)
{
	return (unsigned long)(uintptr_t)h->ClientId.UniqueThread;
}

/* "who[PID/TID]: ..." on one line. */
static void say(const char *who, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void say(const char *who, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	n = snprintf(line, sizeof(line), "%-12s %d/%d: ", who, (int)getpid(),
		     (int)gettid());
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	printf("%s\n", line);
	fflush(stdout);
}

static HANDLE create_port(const char *name, ULONG max_msg)
{
	UNICODE_STRING us;
	WCHAR buf[128];
	OBJECT_ATTRIBUTES oa;
	HANDLE port = NULL;
	NTSTATUS s;

	to_unicode(name, &us, buf, 128);
	InitializeObjectAttributes(&oa, &us, 0, NULL, NULL);
	s = NtCreatePort(&port, &oa, 0, max_msg, 0);
	if (s != STATUS_SUCCESS) {
		fprintf(stderr, "lpc-stuck: NtCreatePort(%s): %s\n", name,
			status_name(s));
		_exit(3);
	}
	return port;
}

static HANDLE connect_port(const char *name)
{
	SECURITY_QUALITY_OF_SERVICE qos = { sizeof(qos), SecurityImpersonation,
					    SECURITY_DYNAMIC_TRACKING, TRUE };
	UNICODE_STRING us;
	WCHAR buf[128];
	HANDLE port = NULL;
	NTSTATUS s;

	to_unicode(name, &us, buf, 128);
	s = NtConnectPort(&port, &us, &qos, NULL, NULL, NULL, NULL, NULL);
	if (s != STATUS_SUCCESS) {
		fprintf(stderr, "lpc-stuck: NtConnectPort(%s): %s\n", name,
			status_name(s));
		_exit(3);
	}
	return port;
}

static HANDLE accept_conn(const msg_t *m, PVOID ctx)
{
	HANDLE comm = NULL;
	NTSTATUS s = NtAcceptConnectPort(&comm, ctx, (PPORT_MESSAGE)&m->h, TRUE,
					 NULL, NULL);

	if (s == STATUS_SUCCESS)
		s = NtCompleteConnectPort(comm);
	if (s != STATUS_SUCCESS) {
		fprintf(stderr, "lpc-stuck: accept: %s\n", status_name(s));
		_exit(3);
	}
	return comm;
}

static void set_text(msg_t *m, const char *text)
{
	memset(&m->h, 0, sizeof(m->h));
	snprintf(m->data, sizeof(m->data), "%s", text);
	m->h.u1.s1.DataLength = (CSHORT)(strlen(m->data) + 1);
	m->h.u1.s1.TotalLength =
		(CSHORT)(sizeof(PORT_MESSAGE) + m->h.u1.s1.DataLength);
}

/* The reply text in m, keeping m's header (MessageId, ClientId). */
static void set_answer(msg_t *m, const char *text)
{
	snprintf(m->data, sizeof(m->data), "%s", text);
	m->h.u1.s1.DataLength = (CSHORT)(strlen(m->data) + 1);
	m->h.u1.s1.TotalLength =
		(CSHORT)(sizeof(PORT_MESSAGE) + m->h.u1.s1.DataLength);
}

/* ------------------------------------------------------------------ */
/* Between the parent and its children                                 */
/* ------------------------------------------------------------------ */

/* Events, written by the children to one pipe (each write atomic). */
enum { EV_READY = 1, EV_CONNECTED, EV_SENDING, EV_RECEIVED, EV_REPLIED,
       EV_GOT, EV_LOCKED };

struct ev {
	int tag;
	uint32_t msgid;
	int pid, tid;
	int32_t status;
};

static int ev_fd = -1;		/* children write */
static int ev_rfd = -1;		/* the parent reads */

static void ev_send(int tag, uint32_t msgid, NTSTATUS s)
{
	struct ev e = { tag, msgid, (int)getpid(), (int)gettid(), (int32_t)s };

	if (write(ev_fd, &e, sizeof(e)) != (ssize_t)sizeof(e))
		_exit(4);
}

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* The next event, which must be tag, within 10 s. */
static struct ev ev_expect(int rfd, int tag, const char *what)
{
	struct pollfd p = { .fd = rfd, .events = POLLIN };
	struct ev e;

	for (;;) {
		int r = poll(&p, 1, 10000);

		if (r < 0 && errno == EINTR && !stop)
			continue;
		if (r != 1 || read(rfd, &e, sizeof(e)) != (ssize_t)sizeof(e)) {
			fprintf(stderr, "lpc-stuck: %s did not happen "
				"(a child failed?)\n", what);
			exit(1);
		}
		break;
	}
	if (e.tag != tag) {
		fprintf(stderr, "lpc-stuck: waiting for %s, got event %d\n",
			what, e.tag);
		exit(1);
	}
	return e;
}

/* The events of tags[0..n), in whatever order they come: out[i] is
 * tags[i]'s. */
static void ev_collect(int rfd, const int *tags, struct ev *out, int n,
		       const char *what)
{
	bool seen[4] = { false };

	for (int k = 0; k < n; k++) {
		struct pollfd p = { .fd = rfd, .events = POLLIN };
		struct ev e;
		int i, r;

		do
			r = poll(&p, 1, 10000);
		while (r < 0 && errno == EINTR && !stop);
		if (r != 1 || read(rfd, &e, sizeof(e)) != (ssize_t)sizeof(e)) {
			fprintf(stderr, "lpc-stuck: %s did not happen "
				"(a child failed?)\n", what);
			exit(1);
		}
		for (i = 0; i < n; i++)
			if (tags[i] == e.tag && !seen[i])
				break;
		if (i == n) {
			fprintf(stderr, "lpc-stuck: waiting for %s, got event "
				"%d\n", what, e.tag);
			exit(1);
		}
		seen[i] = true;
		out[i] = e;
	}
}

/* Go-ahead bytes from the parent to one child. */
struct gate {
	int r, w;
};

static void gate_init(struct gate *g)
{
	int p[2];

	if (pipe(p) < 0) {
		perror("pipe");
		exit(1);
	}
	g->r = p[0];
	g->w = p[1];
}

static void gate_open(struct gate *g)
{
	if (write(g->w, "g", 1) != 1)
		perror("lpc-stuck: gate");
}

static void gate_pass(struct gate *g)
{
	char c;

	if (read(g->r, &c, 1) != 1)
		_exit(0);	/* the parent is gone */
}

#define MAX_KIDS 8
static pid_t kids[MAX_KIDS];
static int nkids;

/* fn in a child process that dies with its parent. */
static pid_t spawn(void (*fn)(void *), void *arg)
{
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		perror("fork");
		exit(1);
	}
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		fn(arg);
		_exit(0);
	}
	kids[nkids++] = pid;
	return pid;
}

/* A client: connect, report, wait for the go-ahead, ask and wait. */
struct client {
	const char *who;	/* "client A" */
	const char *port;
	const char *question;
	struct gate go;
	pid_t pid;
	int tid;
};

static void client_main(void *arg)
{
	struct client *c = arg;
	msg_t req, rep;
	HANDLE port = connect_port(c->port);
	NTSTATUS s;

	say(c->who, "connected to %s", c->port);
	ev_send(EV_CONNECTED, 0, 0);
	gate_pass(&c->go);
	set_text(&req, c->question);
	memset(&rep.h, 0, sizeof(rep.h));
	say(c->who, "NtRequestWaitReplyPort(\"%s\") ...", c->question);
	ev_send(EV_SENDING, 0, 0);
	s = NtRequestWaitReplyPort(port, &req.h, &rep.h);
	if (s == STATUS_SUCCESS)
		say(c->who, "got %s: reply MessageId %u: \"%s\"",
		    status_name(s), rep.h.MessageId, rep.data);
	else
		say(c->who, "NtRequestWaitReplyPort: %s", status_name(s));
	ev_send(EV_GOT, rep.h.MessageId, s);
	/* Done: it stays until the end, as an application would. */
	for (;;)
		pause();
}

static void start_client(struct client *c)
{
	struct ev e;

	gate_init(&c->go);
	c->pid = spawn(client_main, c);
	e = ev_expect(ev_rfd, EV_CONNECTED, "a client's connection");
	c->tid = e.tid;
}

/* ------------------------------------------------------------------ */
/* busy: every worker in a handler blocked on a lock                   */
/* ------------------------------------------------------------------ */

#define BUSY_PORT "\\RPC Control\\StuckBusy"
#define BUSY_WORKERS 2

static pthread_mutex_t db_lock = PTHREAD_MUTEX_INITIALIZER;
static HANDLE busy_port;

static void *busy_worker(void *arg)
{
	msg_t m;
	PVOID ctx;
	bool have_reply = false;

	(void)arg;
	for (;;) {
		NTSTATUS s = NtReplyWaitReceivePort(busy_port, &ctx,
						    have_reply ? &m.h : NULL,
						    &m.h);
		int type;

		have_reply = false;
		if (s != STATUS_SUCCESS) {
			say("worker", "NtReplyWaitReceivePort: %s",
			    status_name(s));
			continue;
		}
		type = m.h.u2.s2.Type & 0xfff;
		if (type == LPC_CONNECTION_REQUEST) {
			accept_conn(&m, NULL);
			continue;
		}
		if (type != LPC_REQUEST)
			continue;
		say("worker", "received msg %u \"%s\" from %lu/%lu; looking it "
		    "up (needs the database lock)", m.h.MessageId, m.data,
		    cid_pid(&m.h), cid_tid(&m.h));
		ev_send(EV_RECEIVED, m.h.MessageId, 0);
		pthread_mutex_lock(&db_lock);
		set_answer(&m, "found");
		pthread_mutex_unlock(&db_lock);
		have_reply = true;
	}
	return NULL;
}

static void busy_server(void *arg)
{
	struct gate *go = arg;
	pthread_t t;

	busy_port = create_port(BUSY_PORT, LPC_MAX_MESSAGE_LENGTH);
	say("server", "serving %s with %d worker threads", BUSY_PORT,
	    BUSY_WORKERS);
	for (int i = 0; i < BUSY_WORKERS; i++)
		pthread_create(&t, NULL, busy_worker, NULL);
	ev_send(EV_READY, 0, 0);
	/* This thread is the maintenance thread: on the go-ahead it takes
	 * the database lock for a long reindex. */
	gate_pass(go);
	pthread_mutex_lock(&db_lock);
	say("maintenance", "took the database lock for a long reindex");
	ev_send(EV_LOCKED, 0, 0);
	for (;;)
		pause();
}

static int fault_busy(void)
{
	static struct client c[3] = {
		{ "client A", BUSY_PORT, "who is 1?", { -1, -1 }, 0, 0 },
		{ "client B", BUSY_PORT, "who is 2?", { -1, -1 }, 0, 0 },
		{ "client C", BUSY_PORT, "who is 3?", { -1, -1 }, 0, 0 },
	};
	struct gate go;
	struct ev maint, held[2];

	gate_init(&go);
	spawn(busy_server, &go);
	ev_expect(ev_rfd, EV_READY, "the server's start");
	for (int i = 0; i < 3; i++)
		start_client(&c[i]);
	gate_open(&go);
	maint = ev_expect(ev_rfd, EV_LOCKED, "the maintenance lock");
	/* A and B each occupy a worker; C finds none. */
	for (int i = 0; i < 2; i++) {
		gate_open(&c[i].go);
		ev_expect(ev_rfd, EV_SENDING, "a request");
		held[i] = ev_expect(ev_rfd, EV_RECEIVED, "a worker's receive");
	}
	gate_open(&c[2].go);
	ev_expect(ev_rfd, EV_SENDING, "client C's request");
	for (int i = 0; i < 2; i++)
		printf("stuck: client %c (%d/%d) waits; the responsible server "
		       "thread is %d/%d: it holds msg %u, blocked on the "
		       "database lock\n", 'A' + i, (int)c[i].pid, c[i].tid,
		       held[i].pid, held[i].tid, held[i].msgid);
	printf("stuck: client C (%d/%d) waits; no server thread has taken "
	       "its request: both workers are busy (%d/%d, %d/%d)\n",
	       (int)c[2].pid, c[2].tid, held[0].pid, held[0].tid, held[1].pid,
	       held[1].tid);
	printf("stuck: root cause: thread %d/%d holds the database lock the "
	       "workers wait for (not an LPC wait: see its stack)\n",
	       maint.pid, maint.tid);
	return 0;
}

/* ------------------------------------------------------------------ */
/* deadlock: X calls Y, Y calls X, one thread each                     */
/* ------------------------------------------------------------------ */

#define X_PORT "\\RPC Control\\StuckX"
#define Y_PORT "\\RPC Control\\StuckY"

struct peer_server {
	const char *who;
	const char *name;	/* its port */
	const char *other;	/* the one it calls */
	struct gate go;		/* 1: connect to the other; 2: call it */
	HANDLE peer;
};

static void *peer_connect(void *arg)
{
	struct peer_server *ps = arg;

	gate_pass(&ps->go);
	ps->peer = connect_port(ps->other);
	say(ps->who, "connected to %s (to ask it things)", ps->other);
	ev_send(EV_CONNECTED, 0, 0);
	return NULL;
}

static void peer_server_main(void *arg)
{
	struct peer_server *ps = arg;
	HANDLE port = create_port(ps->name, LPC_MAX_MESSAGE_LENGTH);
	bool have_reply = false;
	pthread_t t;
	msg_t m, q, a;
	PVOID ctx;

	say(ps->who, "serving %s with one thread", ps->name);
	pthread_create(&t, NULL, peer_connect, ps);
	ev_send(EV_READY, 0, 0);
	for (;;) {
		NTSTATUS s = NtReplyWaitReceivePort(port, &ctx,
						    have_reply ? &m.h : NULL,
						    &m.h);
		int type;

		have_reply = false;
		if (s != STATUS_SUCCESS)
			continue;
		type = m.h.u2.s2.Type & 0xfff;
		if (type == LPC_CONNECTION_REQUEST) {
			accept_conn(&m, NULL);
			continue;
		}
		if (type != LPC_REQUEST)
			continue;
		say(ps->who, "received msg %u \"%s\" from %lu/%lu",
		    m.h.MessageId, m.data, cid_pid(&m.h), cid_tid(&m.h));
		ev_send(EV_RECEIVED, m.h.MessageId, 0);
		if (!strncmp(m.data, "peer:", 5)) {
			/* The other server asks: answered at once. */
			set_answer(&m, "here you are");
			have_reply = true;
			continue;
		}
		/* A client asks: first the other server must be asked.  (The
		 * go-ahead lets both requests arrive first: in life, a race.) */
		gate_pass(&ps->go);
		{
			char text[96];

			snprintf(text, sizeof(text), "peer: about \"%.64s\"",
				 m.data);
			set_text(&q, text);
		}
		say(ps->who, "handling it: NtRequestWaitReplyPort(%s) ...",
		    ps->other);
		s = NtRequestWaitReplyPort(ps->peer, &q.h, &a.h);
		say(ps->who, "the other server answered: %s", status_name(s));
		set_answer(&m, "answered");
		have_reply = true;
	}
}

static int fault_deadlock(void)
{
	static struct peer_server x = { "server X", X_PORT, Y_PORT,
					{ -1, -1 }, NULL };
	static struct peer_server y = { "server Y", Y_PORT, X_PORT,
					{ -1, -1 }, NULL };
	static struct client a = { "client A", X_PORT, "ask X", { -1, -1 },
				   0, 0 };
	static struct client b = { "client B", Y_PORT, "ask Y", { -1, -1 },
				   0, 0 };
	struct ev rx, ry;

	gate_init(&x.go);
	gate_init(&y.go);
	spawn(peer_server_main, &x);
	ev_expect(ev_rfd, EV_READY, "server X's start");
	spawn(peer_server_main, &y);
	ev_expect(ev_rfd, EV_READY, "server Y's start");
	gate_open(&x.go);
	ev_expect(ev_rfd, EV_CONNECTED, "X's connection to Y");
	gate_open(&y.go);
	ev_expect(ev_rfd, EV_CONNECTED, "Y's connection to X");
	start_client(&a);
	start_client(&b);
	gate_open(&a.go);
	ev_expect(ev_rfd, EV_SENDING, "A's request");
	rx = ev_expect(ev_rfd, EV_RECEIVED, "X's receive");
	gate_open(&b.go);
	ev_expect(ev_rfd, EV_SENDING, "B's request");
	ry = ev_expect(ev_rfd, EV_RECEIVED, "Y's receive");
	/* Now each server calls the other. */
	gate_open(&x.go);
	gate_open(&y.go);
	usleep(100000);
	printf("stuck: client A (%d/%d) waits; the responsible server thread "
	       "is %d/%d (X, holds msg %u, waits for Y), in a DEADLOCK with "
	       "%d/%d (Y)\n", (int)a.pid, a.tid, rx.pid, rx.tid, rx.msgid,
	       ry.pid, ry.tid);
	printf("stuck: client B (%d/%d) waits; the responsible server thread "
	       "is %d/%d (Y, holds msg %u, waits for X), in a DEADLOCK with "
	       "%d/%d (X)\n", (int)b.pid, b.tid, ry.pid, ry.tid, ry.msgid,
	       rx.pid, rx.tid);
	return 0;
}

/* ------------------------------------------------------------------ */
/* wrong-client: two workers, one shared message buffer                */
/* ------------------------------------------------------------------ */

#define WC_PORT "\\RPC Control\\StuckWrongClient"

static HANDLE wc_port;
static msg_t wc_msg;	/* THE BUG: one buffer for every worker */
static pthread_mutex_t wc_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wc_cond = PTHREAD_COND_INITIALIZER;
static int wc_arrived, wc_turn;

static void *wc_worker(void *arg)
{
	PVOID ctx;

	(void)arg;
	for (;;) {
		char question[64], answer[96];
		uint32_t got_id;
		unsigned long got_pid, got_tid;
		NTSTATUS s = NtReplyWaitReceivePort(wc_port, &ctx, NULL,
						    &wc_msg.h);
		int type, me;

		if (s != STATUS_SUCCESS)
			continue;
		type = wc_msg.h.u2.s2.Type & 0xfff;
		if (type == LPC_CONNECTION_REQUEST) {
			accept_conn(&wc_msg, NULL);
			continue;
		}
		if (type != LPC_REQUEST)
			continue;
		got_id = wc_msg.h.MessageId;
		got_pid = cid_pid(&wc_msg.h);
		got_tid = cid_tid(&wc_msg.h);
		snprintf(question, sizeof(question), "%.63s", wc_msg.data);
		say("worker", "received msg %u \"%s\" from %lu/%lu (into the "
		    "shared buffer)", got_id, question, got_pid, got_tid);
		pthread_mutex_lock(&wc_lock);
		me = ++wc_arrived;
		pthread_mutex_unlock(&wc_lock);
		ev_send(EV_RECEIVED, got_id, 0);
		/* The slow part: which worker finishes first is, in life,
		 * luck; here the parent decides (turn 1 first). */
		pthread_mutex_lock(&wc_lock);
		while (wc_turn < me)
			pthread_cond_wait(&wc_cond, &wc_lock);
		pthread_mutex_unlock(&wc_lock);
		snprintf(answer, sizeof(answer), "the answer to \"%s\"",
			 question);
		set_answer(&wc_msg, answer);
		s = NtReplyPort(wc_port, &wc_msg.h);
		say("worker", "answered msg %u (%s) with NtReplyPort naming "
		    "msg %u of %lu/%lu: %s%s", got_id, question,
		    wc_msg.h.MessageId, cid_pid(&wc_msg.h), cid_tid(&wc_msg.h),
		    status_name(s), s != STATUS_SUCCESS ? " (ignored)" : "");
		ev_send(EV_REPLIED, wc_msg.h.MessageId, s);
	}
	return NULL;
}

static void wc_server(void *arg)
{
	struct gate *go = arg;
	pthread_t t;

	wc_port = create_port(WC_PORT, LPC_MAX_MESSAGE_LENGTH);
	say("server", "serving %s with 2 workers sharing one message buffer",
	    WC_PORT);
	for (int i = 0; i < 2; i++)
		pthread_create(&t, NULL, wc_worker, NULL);
	ev_send(EV_READY, 0, 0);
	for (;;) {
		gate_pass(go);
		pthread_mutex_lock(&wc_lock);
		wc_turn++;
		pthread_cond_broadcast(&wc_cond);
		pthread_mutex_unlock(&wc_lock);
	}
}

static int fault_wrong_client(void)
{
	static struct client a = { "client A", WC_PORT, "A's question",
				   { -1, -1 }, 0, 0 };
	static struct client b = { "client B", WC_PORT, "B's question",
				   { -1, -1 }, 0, 0 };
	struct gate go;
	struct ev ra, rb, two[2], second;

	gate_init(&go);
	spawn(wc_server, &go);
	ev_expect(ev_rfd, EV_READY, "the server's start");
	start_client(&a);
	start_client(&b);
	gate_open(&a.go);
	ev_expect(ev_rfd, EV_SENDING, "A's request");
	ra = ev_expect(ev_rfd, EV_RECEIVED, "A's request received");
	gate_open(&b.go);
	ev_expect(ev_rfd, EV_SENDING, "B's request");
	rb = ev_expect(ev_rfd, EV_RECEIVED, "B's request received");
	/* A's worker finishes first: its reply carries B's header. */
	gate_open(&go);
	ev_collect(ev_rfd, (const int[]){ EV_REPLIED, EV_GOT }, two, 2,
		   "the first reply, and B's wakeup");
	gate_open(&go);
	second = ev_expect(ev_rfd, EV_REPLIED, "the second reply");
	printf("stuck: client A (%d/%d) waits; the responsible server thread "
	       "is %d/%d: it received msg %u and replied naming msg %u of "
	       "client B instead\n", (int)a.pid, a.tid, ra.pid, ra.tid,
	       ra.msgid, rb.msgid);
	printf("stuck: client B (%d/%d) got A's answer; %d/%d's own reply "
	       "to B was refused: %s\n", (int)b.pid, b.tid, rb.pid, rb.tid,
	       status_name(second.status));
	return 0;
}

/* ------------------------------------------------------------------ */
/* wrong-port: the answer to A goes through B's port                   */
/* ------------------------------------------------------------------ */

#define WP_PORT "\\RPC Control\\StuckWrongPort"

static void wp_server(void *arg)
{
	HANDLE port = create_port(WP_PORT, LPC_MAX_MESSAGE_LENGTH);
	HANDLE comms[8] = { NULL };
	HANDLE last = NULL;	/* THE BUG: the port it replies through */
	uintptr_t nconn = 0;
	msg_t m;
	PVOID ctx;

	(void)arg;
	say("server", "serving %s with one thread, replying through each "
	    "connection's port", WP_PORT);
	ev_send(EV_READY, 0, 0);
	for (;;) {
		NTSTATUS s = NtReplyWaitReceivePort(port, &ctx, NULL, &m.h);
		uintptr_t c = (uintptr_t)ctx;
		int type;

		if (s != STATUS_SUCCESS)
			continue;
		type = m.h.u2.s2.Type & 0xfff;
		if (type == LPC_CONNECTION_REQUEST) {
			if (nconn + 1 < 8) {
				nconn++;
				comms[nconn] = accept_conn(&m, (PVOID)nconn);
				last = comms[nconn];
				say("server", "accepted connection %lu from "
				    "%lu/%lu", (unsigned long)nconn,
				    cid_pid(&m.h), cid_tid(&m.h));
			}
			continue;
		}
		if (type != LPC_REQUEST)
			continue;
		say("server", "received msg %u \"%s\" from %lu/%lu on "
		    "connection %lu", m.h.MessageId, m.data, cid_pid(&m.h),
		    cid_tid(&m.h), (unsigned long)c);
		ev_send(EV_RECEIVED, m.h.MessageId, 0);
		set_answer(&m, "answer");
		/* Should be comms[c] (or the connection port itself). */
		s = NtReplyPort(last, &m.h);
		say("server", "NtReplyPort through connection %lu's port "
		    "(the request came on connection %lu): %s%s",
		    (unsigned long)nconn, (unsigned long)c, status_name(s),
		    s != STATUS_SUCCESS ? " (ignored)" : "");
		ev_send(EV_REPLIED, m.h.MessageId, s);
	}
}

static int fault_wrong_port(void)
{
	static struct client a = { "client A", WP_PORT, "A's question",
				   { -1, -1 }, 0, 0 };
	static struct client b = { "client B", WP_PORT, "B's question",
				   { -1, -1 }, 0, 0 };
	struct ev ra, rep_a, two[2];

	spawn(wp_server, NULL);
	ev_expect(ev_rfd, EV_READY, "the server's start");
	start_client(&a);
	start_client(&b);
	gate_open(&a.go);
	ev_expect(ev_rfd, EV_SENDING, "A's request");
	ra = ev_expect(ev_rfd, EV_RECEIVED, "A's request received");
	rep_a = ev_expect(ev_rfd, EV_REPLIED, "the reply to A");
	/* B, the last to connect, is answered: the bug hides with one
	 * client. */
	gate_open(&b.go);
	ev_expect(ev_rfd, EV_SENDING, "B's request");
	ev_expect(ev_rfd, EV_RECEIVED, "B's request received");
	ev_collect(ev_rfd, (const int[]){ EV_REPLIED, EV_GOT }, two, 2,
		   "the reply to B, and B's wakeup");
	printf("stuck: client A (%d/%d) waits; the responsible server thread "
	       "is %d/%d: it received msg %u, and its reply through B's port "
	       "was refused: %s\n", (int)a.pid, a.tid, ra.pid, ra.tid,
	       ra.msgid, status_name(rep_a.status));
	return 0;
}

/* ------------------------------------------------------------------ */
/* reply-fails: refused replies, statuses ignored                      */
/* ------------------------------------------------------------------ */

#define RF_PORT "\\RPC Control\\StuckReplyFails"
#define RF_MAX 256	/* the port's MaxMessageLength */

static void rf_server(void *arg)
{
	HANDLE port = create_port(RF_PORT, RF_MAX);
	PORT_MESSAGE *reply = NULL;
	uint32_t replying = 0;
	msg_t m;
	PVOID ctx;

	(void)arg;
	say("server", "serving %s (MaxMessageLength %d) with one thread",
	    RF_PORT, RF_MAX);
	ev_send(EV_READY, 0, 0);
	for (;;) {
		NTSTATUS s = NtReplyWaitReceivePort(port, &ctx, reply, &m.h);
		int type;

		if (reply) {
			/* The reply's status arrives here, mixed with the
			 * receive's: this loop just goes on (THE BUG). */
			say("server", "the reply to msg %u: %s%s", replying,
			    status_name(s),
			    s != STATUS_SUCCESS ? " (ignored)" : "");
			ev_send(EV_REPLIED, replying, s);
		}
		reply = NULL;
		if (s != STATUS_SUCCESS)
			continue;
		type = m.h.u2.s2.Type & 0xfff;
		if (type == LPC_CONNECTION_REQUEST) {
			accept_conn(&m, NULL);
			continue;
		}
		if (type != LPC_REQUEST)
			continue;
		say("server", "received msg %u \"%s\" from %lu/%lu",
		    m.h.MessageId, m.data, cid_pid(&m.h), cid_tid(&m.h));
		ev_send(EV_RECEIVED, m.h.MessageId, 0);
		replying = m.h.MessageId;
		if (!strcmp(m.data, "list everything")) {
			/* More than the port carries (spec 3.3 rule 4). */
			memset(m.data, 'x', 300);
			m.h.u1.s1.DataLength = 300;
			m.h.u1.s1.TotalLength =
				(CSHORT)(sizeof(PORT_MESSAGE) + 300);
		} else {
			/* DataLength set, TotalLength left at the header
			 * alone (spec 3.3 rule 1). */
			set_answer(&m, "ok");
			m.h.u1.s1.TotalLength = (CSHORT)sizeof(PORT_MESSAGE);
		}
		say("server", "replying with DataLength %d TotalLength %d",
		    m.h.u1.s1.DataLength, m.h.u1.s1.TotalLength);
		reply = &m.h;
	}
}

static int fault_reply_fails(void)
{
	static struct client a = { "client A", RF_PORT, "list everything",
				   { -1, -1 }, 0, 0 };
	static struct client b = { "client B", RF_PORT, "ping",
				   { -1, -1 }, 0, 0 };
	struct ev ra, rb, fa, fb;

	spawn(rf_server, NULL);
	ev_expect(ev_rfd, EV_READY, "the server's start");
	start_client(&a);
	start_client(&b);
	gate_open(&a.go);
	ev_expect(ev_rfd, EV_SENDING, "A's request");
	ra = ev_expect(ev_rfd, EV_RECEIVED, "A's request received");
	fa = ev_expect(ev_rfd, EV_REPLIED, "the reply to A");
	gate_open(&b.go);
	ev_expect(ev_rfd, EV_SENDING, "B's request");
	rb = ev_expect(ev_rfd, EV_RECEIVED, "B's request received");
	fb = ev_expect(ev_rfd, EV_REPLIED, "the reply to B");
	printf("stuck: client A (%d/%d) waits; the responsible server thread "
	       "is %d/%d: it received msg %u and its reply failed: %s\n",
	       (int)a.pid, a.tid, ra.pid, ra.tid, ra.msgid,
	       status_name(fa.status));
	printf("stuck: client B (%d/%d) waits; the responsible server thread "
	       "is %d/%d: it received msg %u and its reply failed: %s\n",
	       (int)b.pid, b.tid, rb.pid, rb.tid, rb.msgid,
	       status_name(fb.status));
	return 0;
}

/* ------------------------------------------------------------------ */
/* main: the namespace, the fault, the hold, lpctrace, cleanup         */
/* ------------------------------------------------------------------ */

static const struct {
	const char *name;
	int (*fn)(void);
	const char *what;
} faults[] = {
	{ "busy", fault_busy, "every server thread busy, requests queue" },
	{ "deadlock", fault_deadlock, "two servers waiting on each other" },
	{ "wrong-client", fault_wrong_client,
	  "a reply with another client's MessageId and ClientId" },
	{ "wrong-port", fault_wrong_port,
	  "a reply through another client's port" },
	{ "reply-fails", fault_reply_fails,
	  "replies refused, statuses ignored" },
};

static int rm_entry(const char *path, const struct stat *st, int flag,
		    struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

/* $LPC_BUILD/lpctrace, or ../lpctrace next to this program. */
static bool find_lpctrace(char *out, size_t len)
{
	const char *b = getenv("LPC_BUILD");
	char self[PATH_MAX];
	ssize_t n;
	char *slash;

	if (b && *b) {
		snprintf(out, len, "%s/lpctrace", b);
		return access(out, X_OK) == 0;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return false;
	self[n] = '\0';
	slash = strrchr(self, '/');
	if (!slash)
		return false;
	*slash = '\0';
	if ((size_t)snprintf(out, len, "%.*s/../lpctrace", PATH_MAX - 16,
			     self) >= len)
		return false;
	return access(out, X_OK) == 0;
}

static void run_waits(void)
{
	char path[PATH_MAX];
	pid_t pid;
	int st;

	if (!find_lpctrace(path, sizeof(path))) {
		printf("lpc-stuck: lpctrace not found (%s); build it (make) or "
		       "set $LPC_BUILD\n", path);
		return;
	}
	printf("\n$ lpctrace waits\n");
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		execl(path, "lpctrace", "waits", (char *)NULL);
		perror("lpc-stuck: exec lpctrace");
		_exit(127);
	}
	if (pid > 0)
		waitpid(pid, &st, 0);
}

static void usage(void)
{
	fprintf(stderr, "usage: lpc-stuck FAULT [--hold SECS] [--diagnose]\n");
	for (size_t i = 0; i < sizeof(faults) / sizeof(faults[0]); i++)
		fprintf(stderr, "  %-13s %s\n", faults[i].name,
			faults[i].what);
}

int main(int argc, char **argv)
{
	char tmp_root[] = "/tmp/lpc-stuck.XXXXXX";
	bool diagnose = false, own_root = false;
	double hold = -1;
	int fi = -1, p[2], r;
	struct sigaction sa;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--diagnose") || !strcmp(argv[i], "demo")) {
			diagnose = true;
		} else if (!strcmp(argv[i], "--hold") && i + 1 < argc) {
			hold = atof(argv[++i]);
		} else if (fi < 0) {
			for (size_t k = 0; k < sizeof(faults) / sizeof(faults[0]);
			     k++)
				if (!strcmp(argv[i], faults[k].name))
					fi = (int)k;
			if (fi < 0) {
				usage();
				return 2;
			}
		} else {
			usage();
			return 2;
		}
	}
	if (fi < 0) {
		usage();
		return 2;
	}
	if (hold < 0)
		hold = diagnose ? 0 : 5;
	if (!getenv("LPC_ROOT")) {
		if (!mkdtemp(tmp_root)) {
			perror("lpc-stuck: mkdtemp");
			return 1;
		}
		setenv("LPC_ROOT", tmp_root, 1);
		own_root = true;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (pipe(p) < 0) {
		perror("pipe");
		return 1;
	}
	ev_rfd = p[0];
	ev_fd = p[1];
	printf("lpc-stuck %s: %s (LPC_ROOT %s, backend %s)\n",
	       faults[fi].name, faults[fi].what, getenv("LPC_ROOT"),
	       lpc_backend_name());
	r = faults[fi].fn();
	/* Let the waits begin before anyone looks (the last client
	 * announced its request just before sending it). */
	usleep(200000);
	if (diagnose)
		run_waits();
	if (hold > 0) {
		struct timespec ts = { (time_t)hold,
				       (long)((hold - (time_t)hold) * 1e9) };

		printf("holding for %.0f s (Ctrl-C ends it): run `lpctrace "
		       "waits` in another terminal\n", hold);
		fflush(stdout);
		while (!stop && nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
	}
	for (int i = 0; i < nkids; i++)
		kill(kids[i], SIGKILL);
	for (int i = 0; i < nkids; i++)
		waitpid(kids[i], NULL, 0);
	if (own_root)
		nftw(tmp_root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	printf("lpc-stuck: children killed, done\n");
	return r;
}
