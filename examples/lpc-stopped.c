/* SPDX-License-Identifier: MIT */
/*
 * lpc-stopped - a debugger stops the client in the middle of an LPC
 * conversation: what the server sees meanwhile, and what happens to
 * timeouts (issue 6, experiment 3).
 *
 *   lpc-stopped demo [--ptrace] [STOP_MS]   the experiment, end to end
 *   lpc-stopped server [NAME]               2 worker threads, until ^C
 *   lpc-stopped client [NAME] [N]           a request a second, N times
 *                                           (0: until killed)
 *
 * NAME defaults to "\RPC Control\LpcStopped".  The server answers each
 * request with its text upper-cased, except a request starting with
 * "callback": the worker then calls the client back (spec 7.2: an
 * LPC_REQUEST sent with NtRequestWaitReplyPort on the communication port,
 * carrying the request's MessageId and ClientId) and replies once the
 * client has answered.  While it waits for that answer, the CLIENT is the
 * one the server waits on.
 *
 * demo forks the server and a client and plays the debugger: it stops the
 * client (SIGSTOP, or with --ptrace PTRACE_SEIZE + PTRACE_INTERRUPT on
 * each of its threads, as a debugger's break-in does) twice for STOP_MS
 * (default 1500), runs `lpctrace waits` and `lpctrace ports -v` while it
 * is stopped, and resumes it (SIGCONT / PTRACE_DETACH):
 *   2. the client stopped while its request is being served: the server's
 *      reply does not wait, it is queued and read on resume; a timed wait
 *      of the stopped client expires while it is stopped;
 *   3. the client stopped before the server calls it back: the worker
 *      waits (NtRequestWaitReplyPort has no timeout) while the other
 *      worker's receive times out as usual.
 * lpctrace is found through $LPC_BUILD or next to this program.  The demo
 * uses a fresh $LPC_ROOT unless one is set.  Exit status 0 when the
 * conversation completed as described.
 */
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <lpc/lpc.h>

#define DEFAULT_NAME "\\RPC Control\\LpcStopped"
#define TIMER_NAME "\\RPC Control\\LpcStoppedTimer"
#define WORKERS 2
#define MAX_CONNS 64
/* The workers' receive timeout, and the client timer's. */
#define RECV_TIMEOUT_MS 500
#define TIMER_MS 500
/* Every wait of the demo's processes for each other is bounded by this. */
#define BOUND_MS 15000

typedef struct {
	PORT_MESSAGE h;
	char data[LPC_MAX_MESSAGE_LENGTH];
} msg_t;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static pid_t gettid_(void)
{
	return (pid_t)syscall(SYS_gettid);
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

static const char *status_name(NTSTATUS s)
{
	switch (s) {
	case STATUS_SUCCESS: return "STATUS_SUCCESS";
	case STATUS_TIMEOUT: return "STATUS_TIMEOUT";
	case STATUS_PORT_DISCONNECTED: return "STATUS_PORT_DISCONNECTED";
	case STATUS_LPC_REPLY_LOST: return "STATUS_LPC_REPLY_LOST";
	case STATUS_REPLY_MESSAGE_MISMATCH:
		return "STATUS_REPLY_MESSAGE_MISMATCH";
	case STATUS_INVALID_CID: return "STATUS_INVALID_CID";
	case STATUS_OBJECT_NAME_NOT_FOUND:
		return "STATUS_OBJECT_NAME_NOT_FOUND";
	default: return "?";
	}
}

static void set_text(msg_t *m, const char *text)
{
	size_t n = strlen(text) + 1;

	if (n > sizeof(m->data))
		n = sizeof(m->data);
	memcpy(m->data, text, n);
	m->data[n - 1] = '\0';
	m->h.u1.s1.DataLength = (CSHORT)n;
	m->h.u1.s1.TotalLength = (CSHORT)(sizeof(PORT_MESSAGE) + n);
}

/* The request's text, NUL-terminated whatever the peer sent. */
static const char *text_of(msg_t *m)
{
	int n = m->h.u1.s1.DataLength;

	if (n <= 0)
		return "";
	if (n >= (int)sizeof(m->data))
		n = sizeof(m->data) - 1;
	m->data[n] = '\0';
	return m->data;
}

/* One byte from fd within ms: the byte, or -1 (timeout, EOF, error). */
static int read_byte(int fd, int ms)
{
	struct pollfd p = { fd, POLLIN, 0 };
	char c;
	int r;

	do
		r = poll(&p, 1, ms);
	while (r < 0 && errno == EINTR);
	if (r <= 0 || read(fd, &c, 1) != 1)
		return -1;
	return (unsigned char)c;
}

static void write_str(int fd, const char *s)
{
	(void)!write(fd, s, strlen(s));
}

/* ------------------------------------------------------------------ */
/* The server: WORKERS threads on one port                             */
/* ------------------------------------------------------------------ */

struct server {
	HANDLE port;
	/* demo: events to the debugger ("H/C tid msgid\n", "R\n") and its
	 * go-ahead; -1 otherwise. */
	int evt_fd, go_fd;
	bool exit_when_idle;
	atomic_int stop;
	atomic_int in_callback;		/* workers waiting for an answer */
	atomic_int timeouts_during_callback;
	pthread_mutex_t lock;
	HANDLE comms[MAX_CONNS + 1];	/* by PortContext */
	int conns, ever;
};

struct worker {
	struct server *srv;
	int n;
	pthread_t thread;
};

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

/* demo: tell the debugger what this worker holds, wait for its go. */
static void hold_for_debugger(struct server *srv, int n, char kind,
			      ULONG msgid)
{
	char line[64];

	if (srv->evt_fd < 0)
		return;
	printf("worker %d: holding message %u until the client is stopped\n",
	       n, msgid);
	snprintf(line, sizeof(line), "%c %d %u\n", kind, (int)gettid_(),
		 msgid);
	write_str(srv->evt_fd, line);
	if (read_byte(srv->go_fd, BOUND_MS) < 0)
		printf("worker %d: no go-ahead from the debugger; going on\n",
		       n);
}

static void accept_one(struct server *srv, int n, msg_t *m)
{
	HANDLE comm = NULL;
	NTSTATUS s;
	int slot = 0;

	pthread_mutex_lock(&srv->lock);
	for (int i = 1; i <= MAX_CONNS; i++) {
		if (!srv->comms[i]) {
			slot = i;
			srv->comms[i] = (HANDLE)1;	/* taken */
			break;
		}
	}
	pthread_mutex_unlock(&srv->lock);
	s = NtAcceptConnectPort(&comm, (PVOID)(uintptr_t)slot, &m->h,
				slot != 0, NULL, NULL);
	if (NT_SUCCESS(s) && slot)
		s = NtCompleteConnectPort(comm);
	pthread_mutex_lock(&srv->lock);
	if (slot && NT_SUCCESS(s)) {
		srv->comms[slot] = comm;
		srv->conns++;
		srv->ever++;
	} else if (slot) {
		srv->comms[slot] = NULL;
		if (comm)
			NtClose(comm);
	}
	pthread_mutex_unlock(&srv->lock);
	printf("worker %d: connection from %lu.%lu %s (connection %d)\n", n,
	       (unsigned long)(uintptr_t)m->h.ClientId.UniqueProcess,
	       (unsigned long)(uintptr_t)m->h.ClientId.UniqueThread,
	       slot && NT_SUCCESS(s) ? "accepted" : "refused", slot);
}

static void closed_one(struct server *srv, int n, PVOID ctx)
{
	uintptr_t slot = (uintptr_t)ctx;

	printf("worker %d: LPC_PORT_CLOSED: connection %lu closed\n", n,
	       (unsigned long)slot);
	pthread_mutex_lock(&srv->lock);
	if (slot >= 1 && slot <= MAX_CONNS && srv->comms[slot]) {
		NtClose(srv->comms[slot]);
		srv->comms[slot] = NULL;
		srv->conns--;
	}
	if (srv->exit_when_idle && srv->ever && !srv->conns)
		atomic_store(&srv->stop, 1);
	pthread_mutex_unlock(&srv->lock);
}

/*
 * The callback (spec 7.2): an LPC_REQUEST with the request's MessageId
 * and ClientId, sent on the client's communication port.  It is
 * delivered as the client's reply; this thread then waits for the
 * client's answer as a client waits for a server's: without a timeout.
 */
static void call_back(struct server *srv, int n, PVOID ctx, msg_t *m)
{
	uintptr_t slot = (uintptr_t)ctx;
	HANDLE comm = NULL;
	msg_t cb, ans;
	NTSTATUS s;
	double t0, took;
	char text[160];

	pthread_mutex_lock(&srv->lock);
	if (slot >= 1 && slot <= MAX_CONNS)
		comm = srv->comms[slot];
	pthread_mutex_unlock(&srv->lock);
	memset(&cb, 0, sizeof(cb));
	set_text(&cb, "are you still there?");
	cb.h.u2.s2.Type = LPC_REQUEST;
	cb.h.MessageId = m->h.MessageId;
	cb.h.ClientId = m->h.ClientId;
	printf("worker %d: calling the client back on message %u "
	       "(NtRequestWaitReplyPort: no timeout)\n", n, m->h.MessageId);
	fflush(stdout);
	atomic_fetch_add(&srv->in_callback, 1);
	t0 = now_s();
	s = comm ? NtRequestWaitReplyPort(comm, &cb.h, &ans.h)
		 : STATUS_INVALID_PORT_HANDLE;
	took = now_s() - t0;
	atomic_fetch_sub(&srv->in_callback, 1);
	if (s == STATUS_SUCCESS) {
		printf("worker %d: the client answered the callback after "
		       "%.2f s: \"%s\"\n", n, took, text_of(&ans));
		snprintf(text, sizeof(text), "done; your answer to the "
			 "callback took %.2f s", took);
	} else {
		printf("worker %d: callback failed after %.2f s: 0x%08x %s\n",
		       n, took, (unsigned)s, status_name(s));
		snprintf(text, sizeof(text), "callback failed: 0x%08x",
			 (unsigned)s);
	}
	set_text(m, text);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct server *srv = w->srv;
	msg_t m;
	PVOID ctx;
	bool have_reply = false;

	while (!atomic_load(&srv->stop) && !interrupted) {
		LARGE_INTEGER to = { .QuadPart = -(LONGLONG)RECV_TIMEOUT_MS *
						 10000 };
		double t0 = now_s();
		NTSTATUS s = NtReplyWaitReceivePortEx(
			srv->port, &ctx, have_reply ? &m.h : NULL, &m.h, &to);
		int type;

		have_reply = false;
		if (s == STATUS_TIMEOUT) {
			/* Shown while another worker waits for a callback:
			 * this one's timeout runs as ever. */
			if (atomic_load(&srv->in_callback)) {
				atomic_fetch_add(&srv->timeouts_during_callback,
						 1);
				printf("worker %d: NtReplyWaitReceivePortEx "
				       "-> STATUS_TIMEOUT after %.2f s "
				       "(nothing to receive)\n", w->n,
				       now_s() - t0);
			}
			continue;
		}
		if (s != STATUS_SUCCESS) {
			/* A reply whose client went away, typically. */
			printf("worker %d: NtReplyWaitReceivePortEx: 0x%08x "
			       "%s\n", w->n, (unsigned)s, status_name(s));
			continue;
		}
		type = m.h.u2.s2.Type & 0x0fff;
		switch (type) {
		case LPC_CONNECTION_REQUEST:
			accept_one(srv, w->n, &m);
			break;
		case LPC_PORT_CLOSED:
			closed_one(srv, w->n, ctx);
			break;
		case LPC_CLIENT_DIED:
			printf("worker %d: LPC_CLIENT_DIED from %lu.%lu\n",
			       w->n,
			       (unsigned long)(uintptr_t)
				       m.h.ClientId.UniqueProcess,
			       (unsigned long)(uintptr_t)
				       m.h.ClientId.UniqueThread);
			break;
		case LPC_REQUEST: {
			const char *t = text_of(&m);

			printf("worker %d: LPC_REQUEST \"%s\" (message %u) "
			       "from %lu.%lu\n", w->n, t, m.h.MessageId,
			       (unsigned long)(uintptr_t)
				       m.h.ClientId.UniqueProcess,
			       (unsigned long)(uintptr_t)
				       m.h.ClientId.UniqueThread);
			if (!strncmp(t, "callback", 8)) {
				hold_for_debugger(srv, w->n, 'C',
						  m.h.MessageId);
				call_back(srv, w->n, ctx, &m);
				have_reply = true;
			} else if (!strncmp(t, "hold", 4)) {
				double r0;

				hold_for_debugger(srv, w->n, 'H',
						  m.h.MessageId);
				for (char *p = m.data; *p; p++)
					if (*p >= 'a' && *p <= 'z')
						*p = (char)(*p - 'a' + 'A');
				r0 = now_s();
				s = NtReplyPort(srv->port, &m.h);
				printf("worker %d: NtReplyPort -> 0x%08x %s "
				       "in %.0f us: a reply never waits for "
				       "its client\n", w->n, (unsigned)s,
				       status_name(s), (now_s() - r0) * 1e6);
				if (srv->evt_fd >= 0)
					write_str(srv->evt_fd, "R\n");
			} else {
				for (char *p = m.data; *p; p++)
					if (*p >= 'a' && *p <= 'z')
						*p = (char)(*p - 'a' + 'A');
				have_reply = true;
			}
			break;
		}
		default:
			printf("worker %d: message type %d ignored\n", w->n,
			       type);
		}
		fflush(stdout);
	}
	/* A reply still owed (stop came between receive and reply). */
	if (have_reply)
		NtReplyPort(srv->port, &m.h);
	return NULL;
}

static int server(const char *name, int ready_fd, int evt_fd, int go_fd)
{
	static struct server srv;
	struct worker w[WORKERS];
	UNICODE_STRING us;
	WCHAR buf[256];
	OBJECT_ATTRIBUTES oa;
	NTSTATUS s;
	int started = 0;

	srv.evt_fd = evt_fd;
	srv.go_fd = go_fd;
	srv.exit_when_idle = evt_fd >= 0;
	pthread_mutex_init(&srv.lock, NULL);
	to_unicode(name, &us, buf, 256);
	InitializeObjectAttributes(&oa, &us, 0, NULL, NULL);
	s = NtCreatePort(&srv.port, &oa, 0, LPC_MAX_MESSAGE_LENGTH, 0);
	if (!NT_SUCCESS(s)) {
		fprintf(stderr, "lpc-stopped: NtCreatePort(%s): 0x%08x %s\n",
			name, (unsigned)s, status_name(s));
		return 1;
	}
	for (int i = 0; i < WORKERS; i++) {
		w[i] = (struct worker){ .srv = &srv, .n = i + 1 };
		if (pthread_create(&w[i].thread, NULL, worker_main, &w[i]))
			break;
		started++;
	}
	printf("server %d: %s served by %d worker threads, each in "
	       "NtReplyWaitReceivePortEx with a %d ms timeout (backend %s)\n",
	       (int)getpid(), name, started, RECV_TIMEOUT_MS,
	       lpc_backend_name());
	fflush(stdout);
	if (ready_fd >= 0) {
		write_str(ready_fd, "r");
		close(ready_fd);
	}
	for (int i = 0; i < started; i++)
		pthread_join(w[i].thread, NULL);
	for (int i = 1; i <= MAX_CONNS; i++)
		if (srv.comms[i])
			NtClose(srv.comms[i]);
	NtClose(srv.port);
	pthread_mutex_destroy(&srv.lock);
	printf("server: stopped\n");
	return started == WORKERS ? 0 : 1;
}

/* ------------------------------------------------------------------ */
/* The client                                                          */
/* ------------------------------------------------------------------ */

/*
 * One request, answering any callbacks: NtRequestWaitReplyPort may return
 * an LPC_REQUEST (the server calling back); the answer goes with
 * NtReplyWaitReplyPort, which then waits again for the real reply.
 */
static NTSTATUS call(HANDLE port, const char *text, msg_t *rep,
		     double *took)
{
	msg_t req;
	NTSTATUS s;
	double t0 = now_s();

	memset(&req, 0, sizeof(req));
	set_text(&req, text);
	s = NtRequestWaitReplyPort(port, &req.h, &rep->h);
	while (s == STATUS_SUCCESS &&
	       (rep->h.u2.s2.Type & 0x0fff) == LPC_REQUEST) {
		printf("client: the server calls back: \"%s\" (message %u, "
		       "CallbackId %u, from thread %lu)\n", text_of(rep),
		       rep->h.MessageId, rep->h.CallbackId,
		       (unsigned long)(uintptr_t)rep->h.ClientId.UniqueThread);
		set_text(rep, "yes, here I am");
		s = NtReplyWaitReplyPort(port, &rep->h);
	}
	if (took)
		*took = now_s() - t0;
	return s;
}

static HANDLE connect_to(const char *name)
{
	SECURITY_QUALITY_OF_SERVICE qos = { sizeof(qos), SecurityImpersonation,
					    SECURITY_DYNAMIC_TRACKING, TRUE };
	UNICODE_STRING us;
	WCHAR buf[256];
	HANDLE port = NULL;
	ULONG maxlen = 0;
	NTSTATUS s;

	to_unicode(name, &us, buf, 256);
	s = NtConnectPort(&port, &us, &qos, NULL, NULL, &maxlen, NULL, NULL);
	if (!NT_SUCCESS(s)) {
		fprintf(stderr, "lpc-stopped: NtConnectPort(%s): 0x%08x %s\n",
			name, (unsigned)s, status_name(s));
		return NULL;
	}
	printf("client %d: connected to %s\n", (int)getpid(), name);
	return port;
}

/* The client's second thread: one timed receive on a port of its own. */
struct timer {
	pthread_t thread;
	pid_t tid;
	NTSTATUS status;
	double took;
	int ready[2];
};

static void *timer_main(void *arg)
{
	struct timer *tm = arg;
	UNICODE_STRING us;
	WCHAR buf[64];
	OBJECT_ATTRIBUTES oa;
	LARGE_INTEGER to = { .QuadPart = -(LONGLONG)TIMER_MS * 10000 };
	HANDLE port;
	msg_t m;
	PVOID ctx;
	double t0;

	tm->tid = gettid_();
	to_unicode(TIMER_NAME, &us, buf, 64);
	InitializeObjectAttributes(&oa, &us, 0, NULL, NULL);
	tm->status = NtCreatePort(&port, &oa, 0, LPC_MAX_MESSAGE_LENGTH, 0);
	write_str(tm->ready[1], "r");
	if (!NT_SUCCESS(tm->status))
		return NULL;
	t0 = now_s();
	tm->status = NtReplyWaitReceivePortEx(port, &ctx, NULL, &m.h, &to);
	tm->took = now_s() - t0;
	NtClose(port);
	return NULL;
}

/* Is thread tid of this process asleep (in its wait), twice 5 ms apart?
 * Bounded; false if it never was. */
static bool asleep(pid_t tid)
{
	char path[64], line[512], *paren;
	int seen = 0;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)tid);
	for (int tries = 0; tries < 2000 && seen < 2; tries++) {
		FILE *f = fopen(path, "re");
		bool s = false;

		if (!f)
			return false;
		if (fgets(line, sizeof(line), f)) {
			paren = strrchr(line, ')');
			s = paren && paren[1] && paren[2] == 'S';
		}
		fclose(f);
		seen = s ? seen + 1 : 0;
		usleep(5000);
	}
	return seen >= 2;
}

/* demo: the client's script, one step per go-ahead from the debugger. */
static int client_demo(const char *name, int ctl_fd, int done_fd)
{
	struct timer tm = { 0 };
	HANDLE port;
	msg_t rep;
	NTSTATUS s;
	double took;
	int bad = 0;

	port = connect_to(name);
	if (!port)
		return 1;
	for (int i = 1; i <= 2; i++) {
		char text[32];

		snprintf(text, sizeof(text), "hello %d", i);
		s = call(port, text, &rep, &took);
		printf("client: \"%s\" -> 0x%08x %s \"%s\" in %.0f us\n", text,
		       (unsigned)s, status_name(s), s ? "" : text_of(&rep),
		       took * 1e6);
		bad |= s != STATUS_SUCCESS;
	}
	write_str(done_fd, "1");

	/* 2: a timed wait in a second thread, then a request the debugger
	 * stops us in. */
	if (read_byte(ctl_fd, BOUND_MS) < 0 || pipe(tm.ready))
		return 1;
	if (pthread_create(&tm.thread, NULL, timer_main, &tm))
		return 1;
	if (read_byte(tm.ready[0], BOUND_MS) < 0 || !asleep(tm.tid))
		bad = 1;
	printf("client: thread %d waits on %s for a message, with a %d ms "
	       "timeout\n", (int)tm.tid, TIMER_NAME, TIMER_MS);
	printf("client: sending \"hold me\" and waiting for the reply\n");
	fflush(stdout);
	s = call(port, "hold me", &rep, &took);
	printf("client: \"hold me\" -> 0x%08x %s \"%s\" after %.2f s\n",
	       (unsigned)s, status_name(s), s ? "" : text_of(&rep), took);
	bad |= s != STATUS_SUCCESS;
	pthread_join(tm.thread, NULL);
	close(tm.ready[0]);
	close(tm.ready[1]);
	printf("client: the timer thread's NtReplyWaitReceivePortEx (%d ms) "
	       "-> 0x%08x %s after %.2f s\n", TIMER_MS, (unsigned)tm.status,
	       status_name(tm.status), tm.took);
	if (tm.status == STATUS_TIMEOUT && tm.took > TIMER_MS / 1000.0 + 0.3)
		printf("client: (its %d ms ran out while the process was "
		       "stopped: the wait ended as soon as it ran again)\n",
		       TIMER_MS);
	bad |= tm.status != STATUS_TIMEOUT;
	fflush(stdout);
	write_str(done_fd, "2");

	/* 3: a request the server answers with a callback. */
	if (read_byte(ctl_fd, BOUND_MS) < 0)
		return 1;
	printf("client: sending \"callback please\"\n");
	fflush(stdout);
	s = call(port, "callback please", &rep, &took);
	printf("client: \"callback please\" -> 0x%08x %s \"%s\" after %.2f s\n",
	       (unsigned)s, status_name(s), s ? "" : text_of(&rep), took);
	bad |= s != STATUS_SUCCESS;
	fflush(stdout);
	write_str(done_fd, "3");

	if (read_byte(ctl_fd, BOUND_MS) < 0)
		bad = 1;
	NtClose(port);
	printf("client: closed its port, exiting\n");
	return bad;
}

/* client mode: a request a second, every other one with a callback. */
static int client(const char *name, long n)
{
	HANDLE port = connect_to(name);
	msg_t rep;

	if (!port)
		return 1;
	for (long i = 1; (n == 0 || i <= n) && !interrupted; i++) {
		char text[48];
		double took;
		NTSTATUS s;

		snprintf(text, sizeof(text), "%s %ld",
			 i % 2 ? "tick" : "callback tick", i);
		s = call(port, text, &rep, &took);
		printf("client: \"%s\" -> 0x%08x %s \"%s\" in %.3f s\n", text,
		       (unsigned)s, status_name(s), s ? "" : text_of(&rep),
		       took);
		fflush(stdout);
		if (s != STATUS_SUCCESS) {
			NtClose(port);
			return 1;
		}
		if (n == 0 || i < n)
			sleep(1);
	}
	NtClose(port);
	return 0;
}

/* ------------------------------------------------------------------ */
/* demo: the debugger                                                  */
/* ------------------------------------------------------------------ */

static char lpctrace_path[PATH_MAX];

static void find_lpctrace(void)
{
	const char *b = getenv("LPC_BUILD");
	char self[PATH_MAX - 64], *slash;
	ssize_t n;

	if (b) {
		snprintf(lpctrace_path, sizeof(lpctrace_path), "%s/lpctrace",
			 b);
		if (!access(lpctrace_path, X_OK))
			return;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		slash = strrchr(self, '/');
		if (slash) {
			*slash = '\0';
			/* build/examples/lpc-stopped: build/lpctrace */
			snprintf(lpctrace_path, sizeof(lpctrace_path),
				 "%s/../lpctrace", self);
			if (!access(lpctrace_path, X_OK))
				return;
			snprintf(lpctrace_path, sizeof(lpctrace_path),
				 "%s/lpctrace", self);
			if (!access(lpctrace_path, X_OK))
				return;
		}
	}
	lpctrace_path[0] = '\0';
}

static bool is_ours(const char *line, const pid_t *pids, int npids)
{
	char *end;
	long pid = strtol(line, &end, 10);

	if (end == line || *end != '/')
		return false;
	for (int i = 0; i < npids; i++)
		if (pid == pids[i])
			return true;
	return false;
}

/*
 * Runs `lpctrace ARGS`, bounded, and prints its output indented.  For
 * waits, rows of processes other than ours (a busy machine) are left out
 * and counted.
 */
static void run_lpctrace(const char *const *args, const pid_t *pids,
			 int npids, char *raw, size_t rawlen)
{
	char *argv[8], buf[65536], *line, *save;
	size_t len = 0;
	int p[2], st, other = 0;
	bool waits = !strcmp(args[0], "waits"), keep = true;
	double t0 = now_s();
	pid_t pid;

	if (raw && rawlen)
		raw[0] = '\0';
	printf("debugger$ lpctrace");
	for (int i = 0; args[i]; i++)
		printf(" %s", args[i]);
	printf("\n");
	fflush(stdout);
	if (!lpctrace_path[0]) {
		printf("  (lpctrace not found: build it (make) or set "
		       "LPC_BUILD; skipped)\n");
		return;
	}
	if (pipe(p))
		return;
	argv[0] = lpctrace_path;
	for (int i = 0; i < 6 && args[i]; i++) {
		argv[i + 1] = (char *)args[i];
		argv[i + 2] = NULL;
	}
	pid = fork();
	if (pid == 0) {
		dup2(p[1], 1);
		dup2(p[1], 2);
		close(p[0]);
		close(p[1]);
		execv(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	while (pid > 0 && len < sizeof(buf) - 1) {
		struct pollfd pf = { p[0], POLLIN, 0 };
		int left = 10000 - (int)((now_s() - t0) * 1000);
		ssize_t n;

		if (left <= 0 || poll(&pf, 1, left) <= 0)
			break;
		n = read(p[0], buf + len, sizeof(buf) - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	close(p[0]);
	if (raw && rawlen)
		snprintf(raw, rawlen, "%s", buf);
	while (pid > 0 && waitpid(pid, &st, WNOHANG) == 0) {
		if (now_s() - t0 > 10.0) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			printf("  (lpctrace did not finish in 10 s: killed)\n");
			break;
		}
		usleep(2000);
	}
	/* One write, so that the server's lines do not cut through it. */
	{
		char out[sizeof(buf) + 8192];
		size_t o = 0;

		for (line = strtok_r(buf, "\n", &save); line;
		     line = strtok_r(NULL, "\n", &save)) {
			if (waits && line[0] >= '0' && line[0] <= '9') {
				keep = is_ours(line, pids, npids);
				other += !keep;
			} else if (waits && strncmp(line, "    ->", 6)) {
				keep = true;
			}
			if (!keep)
				continue;
			o += (size_t)snprintf(out + o, sizeof(out) - o,
					      "  | %s\n", line);
			if (o >= sizeof(out) - 256)
				break;
		}
		if (other)
			o += (size_t)snprintf(out + o, sizeof(out) - o,
					      "  | (%d rows of other processes "
					      "left out)\n", other);
		(void)!write(1, out, o);
	}
}

/* Waits until every thread of pid is stopped ('T' or 't'), bounded. */
static bool all_stopped(pid_t pid)
{
	for (int tries = 0; tries < 500; tries++) {
		char path[320], line[512];
		struct dirent *e;
		bool all = true;
		int n = 0;
		DIR *d;

		snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
		d = opendir(path);
		if (!d)
			return false;
		while ((e = readdir(d))) {
			FILE *f;
			char *paren;

			if (e->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "/proc/%d/task/%s/stat",
				 (int)pid, e->d_name);
			f = fopen(path, "re");
			if (!f)
				continue;
			if (fgets(line, sizeof(line), f)) {
				paren = strrchr(line, ')');
				if (!paren || (paren[2] != 'T' &&
					       paren[2] != 't'))
					all = false;
				n++;
			}
			fclose(f);
		}
		closedir(d);
		if (all && n)
			return true;
		usleep(10000);
	}
	return false;
}

/* The threads of pid, for ptrace (a debugger attaches to each). */
static int list_tasks(pid_t pid, pid_t *tids, int cap)
{
	char path[64];
	struct dirent *e;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (!d)
		return 0;
	while ((e = readdir(d)) && n < cap)
		if (e->d_name[0] != '.')
			tids[n++] = (pid_t)atoi(e->d_name);
	closedir(d);
	return n;
}

struct debugger {
	bool ptrace;
	pid_t tids[16];
	int ntids;
};

static bool stop_client(struct debugger *dbg, pid_t pid)
{
	if (!dbg->ptrace) {
		printf("debugger: kill(%d, SIGSTOP)\n", (int)pid);
		fflush(stdout);
		if (kill(pid, SIGSTOP))
			return false;
		return all_stopped(pid);
	}
	dbg->ntids = list_tasks(pid, dbg->tids, 16);
	printf("debugger: PTRACE_SEIZE + PTRACE_INTERRUPT on each of the %d "
	       "threads of %d\n", dbg->ntids, (int)pid);
	fflush(stdout);
	for (int i = 0; i < dbg->ntids; i++) {
		if (ptrace(PTRACE_SEIZE, dbg->tids[i], 0, 0) ||
		    ptrace(PTRACE_INTERRUPT, dbg->tids[i], 0, 0)) {
			printf("debugger: ptrace(%d): %s\n", (int)dbg->tids[i],
			       strerror(errno));
			return false;
		}
	}
	/* Each tracee reports its stop to us, the tracer. */
	for (int i = 0; i < dbg->ntids; i++) {
		double t0 = now_s();
		int st;

		while (waitpid(dbg->tids[i], &st, __WALL | WNOHANG) == 0) {
			if (now_s() - t0 > BOUND_MS / 1000.0)
				return false;
			usleep(2000);
		}
	}
	return all_stopped(pid);
}

static void resume_client(struct debugger *dbg, pid_t pid)
{
	if (!dbg->ptrace) {
		printf("debugger: kill(%d, SIGCONT)\n", (int)pid);
		fflush(stdout);
		kill(pid, SIGCONT);
		return;
	}
	printf("debugger: PTRACE_DETACH from each thread of %d\n", (int)pid);
	fflush(stdout);
	for (int i = 0; i < dbg->ntids; i++)
		ptrace(PTRACE_DETACH, dbg->tids[i], 0, 0);
	dbg->ntids = 0;
}

/* One "K tid msgid" line from the server, bounded. */
static bool server_event(int fd, char want, int *tid, unsigned *msgid)
{
	char line[64];
	size_t n = 0;
	int c;

	while (n < sizeof(line) - 1) {
		c = read_byte(fd, BOUND_MS);
		if (c < 0)
			return false;
		if (c == '\n')
			break;
		line[n++] = (char)c;
	}
	line[n] = '\0';
	if (line[0] != want)
		return false;
	if (tid && sscanf(line + 1, "%d %u", tid, msgid) != 2)
		return false;
	return true;
}

static void sleep_until(double t)
{
	double left = t - now_s();

	if (left > 0)
		usleep((useconds_t)(left * 1e6));
}

static int remove_entry(const char *path, const struct stat *sb, int flag,
			struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

/* A child's exit status within ms, or -1 (then it is killed). */
static int reap(pid_t pid, int ms)
{
	double t0 = now_s();
	int st;

	for (;;) {
		pid_t r = waitpid(pid, &st, WNOHANG);

		if (r == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st)
					     : 128 + WTERMSIG(st);
		if (r < 0)
			return -1;
		if (now_s() - t0 > ms / 1000.0) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			return -1;
		}
		usleep(5000);
	}
}

static void header(const char *title)
{
	printf("\n== %s\n", title);
	fflush(stdout);
}

static int demo(bool use_ptrace, int stop_ms)
{
	struct debugger dbg = { .ptrace = use_ptrace };
	char root[] = "/tmp/lpc-stopped-XXXXXX";
	bool own_root = !getenv("LPC_ROOT");
	int ready[2], evt[2], go[2], ctl[2], done[2];
	int bad = 0, rc_srv, rc_cli, tid;
	unsigned msgid;
	pid_t srv, cli, pids[2];
	double t_stop;
	const char *waits[] = { "waits", NULL };
	const char *ports[] = { "ports", "-v", NULL };
	static char out[65536];

	if (own_root) {
		if (!mkdtemp(root)) {
			perror("lpc-stopped: mkdtemp");
			return 1;
		}
		setenv("LPC_ROOT", root, 1);
	}
	find_lpctrace();
	printf("lpc-stopped demo: LPC_ROOT=%s, the client is stopped with %s "
	       "for %d ms, twice\n", getenv("LPC_ROOT"),
	       use_ptrace ? "ptrace (PTRACE_SEIZE + PTRACE_INTERRUPT)"
			  : "SIGSTOP", stop_ms);
	printf("lpctrace: %s\n", lpctrace_path[0] ? lpctrace_path :
	       "not found (set LPC_BUILD); its views are skipped");
	if (pipe(ready) || pipe(evt) || pipe(go) || pipe(ctl) || pipe(done))
		return 1;

	header("1. a server with 2 worker threads, a client, a conversation");
	fflush(stdout);
	srv = fork();
	if (srv == 0) {
		close(ready[0]);
		close(evt[0]);
		close(go[1]);
		close(ctl[0]);
		close(ctl[1]);
		close(done[0]);
		close(done[1]);
		_exit(server(DEFAULT_NAME, ready[1], evt[1], go[0]));
	}
	close(ready[1]);
	close(evt[1]);
	close(go[0]);
	if (srv < 0 || read_byte(ready[0], BOUND_MS) < 0) {
		fprintf(stderr, "lpc-stopped: the server did not start\n");
		bad = 1;
		cli = -1;
		goto out_server;
	}
	cli = fork();
	if (cli == 0) {
		close(ready[0]);
		close(evt[0]);
		close(go[1]);
		close(ctl[1]);
		close(done[0]);
		_exit(client_demo(DEFAULT_NAME, ctl[0], done[1]));
	}
	close(ctl[0]);
	close(done[1]);
	pids[0] = srv;
	pids[1] = cli;
	if (cli < 0 || read_byte(done[0], BOUND_MS) != '1') {
		bad = 1;
		goto out_client;
	}

	header("2. the client is stopped while the server holds its request");
	write_str(ctl[1], "g");
	if (!server_event(evt[0], 'H', &tid, &msgid)) {
		bad = 1;
		goto out_client;
	}
	if (!stop_client(&dbg, cli)) {
		printf("debugger: could not stop the client\n");
		bad = 1;
		goto out_client;
	}
	t_stop = now_s();
	printf("debugger: the client is stopped; server thread %d holds its "
	       "message %u. Who waits on whom:\n", tid, msgid);
	run_lpctrace(waits, pids, 2, NULL, 0);
	printf("debugger: the client waits for message %u, STOPPED; its "
	       "timer thread too. The server\n"
	       "  thread holding %u runs as ever: nothing on the server "
	       "side says the client is stopped.\n", msgid, msgid);
	printf("debugger: now the worker replies to the stopped client\n");
	fflush(stdout);
	write_str(go[1], "g");
	if (!server_event(evt[0], 'R', NULL, NULL))
		bad = 1;
	run_lpctrace(ports, pids, 2, NULL, 0);
	printf("debugger: the reply is queued, unread, in the client's "
	       "socket (client_queued)\n");
	run_lpctrace(waits, pids, 2, out, sizeof(out));
	printf("debugger: lpctrace waits knows message %u was answered (the "
	       "server's published\n"
	       "  last reply): the answer waits for the stopped client to "
	       "run and read it\n", msgid);
	sleep_until(t_stop + stop_ms / 1000.0);
	resume_client(&dbg, cli);
	if (read_byte(done[0], BOUND_MS) != '2') {
		bad = 1;
		goto out_client;
	}

	header("3. the client is stopped when the server calls it back");
	write_str(ctl[1], "g");
	if (!server_event(evt[0], 'C', &tid, &msgid)) {
		bad = 1;
		goto out_client;
	}
	if (!stop_client(&dbg, cli)) {
		printf("debugger: could not stop the client\n");
		bad = 1;
		goto out_client;
	}
	t_stop = now_s();
	printf("debugger: the client is stopped; server thread %d now calls "
	       "it back on message %u\n", tid, msgid);
	fflush(stdout);
	write_str(go[1], "g");
	usleep(300000);
	run_lpctrace(waits, pids, 2, out, sizeof(out));
	printf("debugger: server thread %d waits for the answer to its "
	       "callback (a reply wait on\n"
	       "  message %u); the client that must answer is STOPPED and "
	       "has not even read it.\n", tid, msgid);
	printf("debugger: lpctrace waits follows the callback to the client "
	       "thread that must\n"
	       "  answer it, and shows it STOPPED: that is where the chain "
	       "ends, not a deadlock.\n");
	sleep_until(t_stop + stop_ms / 1000.0 - 0.1);
	printf("debugger: %.1f s later the server thread still waits: "
	       "NtRequestWaitReplyPort has no timeout\n",
	       now_s() - t_stop);
	run_lpctrace(waits, pids, 2, NULL, 0);
	sleep_until(t_stop + stop_ms / 1000.0);
	resume_client(&dbg, cli);
	if (read_byte(done[0], BOUND_MS) != '3') {
		bad = 1;
		goto out_client;
	}

	header("4. resumed: the conversation completes");
	write_str(ctl[1], "g");
out_client:
	/* Never leave the client stopped or traced behind us. */
	if (cli > 0) {
		if (dbg.ntids)
			resume_client(&dbg, cli);
		kill(cli, SIGCONT);
		close(ctl[1]);
		rc_cli = reap(cli, BOUND_MS);
		if (rc_cli)
			printf("lpc-stopped: the client exited with %d\n",
			       rc_cli);
		bad |= rc_cli != 0;
	} else {
		close(ctl[1]);
	}
	close(done[0]);
out_server:
	/* The server ends at its client's LPC_PORT_CLOSED. */
	close(go[1]);
	if (srv > 0) {
		rc_srv = reap(srv, bad ? 1000 : BOUND_MS);
		if (rc_srv)
			printf("lpc-stopped: the server exited with %d\n",
			       rc_srv);
		bad |= rc_srv != 0;
	}
	close(evt[0]);
	close(ready[0]);
	if (own_root)
		nftw(root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	printf("\nlpc-stopped demo: %s\n", bad ? "FAILED" : "done");
	return bad;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "demo";
	struct sigaction sa = { .sa_handler = on_signal };

	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	if (!strcmp(cmd, "server") || !strcmp(cmd, "client")) {
		/* No SA_RESTART: a wait in the demo's own code ends. */
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
	}
	if (!strcmp(cmd, "server"))
		return server(argc > 2 ? argv[2] : DEFAULT_NAME, -1, -1, -1);
	if (!strcmp(cmd, "client"))
		return client(argc > 2 ? argv[2] : DEFAULT_NAME,
			      argc > 3 ? atol(argv[3]) : 60);
	if (!strcmp(cmd, "demo")) {
		bool use_ptrace = false;
		int stop_ms = 1500;

		for (int i = 2; i < argc; i++) {
			if (!strcmp(argv[i], "--ptrace"))
				use_ptrace = true;
			else
				stop_ms = atoi(argv[i]);
		}
		if (stop_ms < 800 || stop_ms > 10000) {
			fprintf(stderr, "lpc-stopped: STOP_MS is 800 to "
				"10000\n");
			return 2;
		}
		return demo(use_ptrace, stop_ms);
	}
	fprintf(stderr, "usage: lpc-stopped demo [--ptrace] [STOP_MS]\n"
			"       lpc-stopped server [NAME]\n"
			"       lpc-stopped client [NAME] [N]\n");
	return 2;
}
