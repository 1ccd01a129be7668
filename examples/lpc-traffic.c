/* SPDX-License-Identifier: MIT */
/*
 * lpc-traffic - a fixed script of LPC operations and an exact log of them:
 * the ground truth lpctrace's tests compare the tracer's records with.
 *
 *   lpc-traffic [--log FILE] [--csr] [--port NAME]
 *
 * NAME defaults to "\LpcTraffic", in $LPC_ROOT like every liblpc program.
 * --csr adds step 7, which talks to a csrd already serving
 * \Windows\ApiPort in the same $LPC_ROOT.  Exit status: 0 when every step
 * behaved as scripted (and, with --log, the log holds exactly the lines
 * the script predicts); 1 with a message naming the step otherwise; 2 for
 * usage.
 *
 * Built by `make` with liblpc and libcsr.
 *
 * Processes.  The main process M forks the server S (steps 1-6), runs
 * clients A, B and C as threads of its own, one after the other (each a
 * thread of its own, so each has its own tid), forks client D, and makes
 * the CSR calls on its main thread.  Every child dies with M
 * (PR_SET_PDEATHSIG), every step runs under alarm(), and every wait for
 * the other side (pipes, NtReplyWaitReceivePortEx) has a timeout, so no
 * run can hang.  Steps run in lockstep through pipes: a side logs its line
 * only after the other side has logged the lines that precede it, so the
 * log's order is the same in every run.
 *
 * The script:
 *   1. S creates the connection port (NtCreatePort).
 *   2. A connects with connection information S accepts (S: NtListenPort,
 *      NtAcceptConnectPort, NtCompleteConnectPort; context 0xA).  A sends
 *      requests of 8, 16 and 24 bytes (NtRequestWaitReplyPort); S receives
 *      the first with NtReplyWaitReceivePort and answers each with the
 *      next NtReplyWaitReceivePort (reply + receive in one call; replies
 *      are 4 bytes longer than their requests).  A sends datagrams of 12
 *      and 20 bytes (NtRequestPort), then closes its port: S receives
 *      LPC_PORT_CLOSED.
 *   3. B's connection information asks to be refused: S rejects it
 *      (NtAcceptConnectPort with FALSE); B gets
 *      STATUS_PORT_CONNECTION_REFUSED and S's reply information.
 *   4. C connects with a client view (a 64 KiB section); S maps it
 *      (context 0xC).  Before C sends anything, S waits 50 ms in
 *      NtReplyWaitReceivePortEx: STATUS_TIMEOUT.  C sends one 16-byte
 *      request naming a string C wrote into the view; S reads the string
 *      through its mapping and writes an answer into the view.
 *   5. S replies to C's request through NtReplyPort, first with a wrong
 *      MessageId (STATUS_REPLY_MESSAGE_MISMATCH), then correctly.  C
 *      checks the reply and the answer in the view, closes its port: S
 *      receives LPC_PORT_CLOSED (logged as step 4).
 *   6. D, a forked process, connects (context 0xD), registers its port as
 *      its thread's termination port (NtRegisterThreadTerminatePort),
 *      sends a 32-byte request and blocks.  S holds it; M kills D with
 *      SIGKILL and reaps it; S then receives LPC_CLIENT_DIED and
 *      LPC_PORT_CLOSED, and replies late through NtReplyPort: that fails
 *      (STATUS_INVALID_CID when the thread is gone; MISMATCH is also
 *      accepted), and whatever it returns is logged.
 *   7. (--csr) M connects to csrd (CsrClientConnectToServer, no per-DLL
 *      information: one LPC connection), calls BasepGetTempFile twice
 *      (STATUS_SUCCESS) and API 0x00017fff, which csrd has no table entry
 *      for (STATUS_ILLEGAL_FUNCTION).
 *
 * The log (--log FILE) is NDJSON: one flat object per line, written with
 * one write() when the operation has returned (O_APPEND, so the processes'
 * lines never interleave).  Every line has the keys below, in this order;
 * csr_call lines add "api_number".  Fields that do not apply are 0, and so
 * is csr_connect's msgid (libcsr does not show the connection request).
 *
 *   op          what was done (below)
 *   step        the script step, 1-7
 *   who         "server", "A", "B", "C", "D" or "main" (kill, CSR)
 *   pid, tid    the process and thread (gettid) that performed it
 *   port        the port name: NAME, or "\Windows\ApiPort" for CSR ops
 *   msgid       the MessageId of the message concerned, as a PORT_MESSAGE
 *               shows it after the call: received messages their own;
 *               a request the reply's; a datagram or connection request
 *               (whose sender gets no message back) the one the server
 *               received; a reply the one in the reply buffer (for
 *               reply_mismatch, the wrong id that was sent)
 *   type        PORT_MESSAGE Type: 1 request (and kill, csr_call), 2 reply,
 *               3 datagram, 5 port closed, 6 client died, 10 connection
 *               request (listen, accept, reject, complete, connect,
 *               connect_refused, csr_connect)
 *   data_len    DataLength: of the request or datagram sent, of the
 *               message received, of the reply sent; connection
 *               information sent (connect, connect_refused: the client's;
 *               listen: as received; accept, reject: the server's answer);
 *               csr_connect 56 (libcsr's CSR_API_CONNECTINFO); csr_call
 *               the reply header's (csrd answers with the request's)
 *   client_pid, client_tid
 *               the ClientId the message concerned carries: the sending
 *               (or closing, or dead) thread; for kill, the killed thread
 *   status      the NTSTATUS the call returned, "0x%08x"; for csr_call the
 *               status csrd answered with
 *   api_number  (csr_call) the CSR API number
 *
 * Ops, with the side that logs them:
 *   create            S  NtCreatePort
 *   listen            S  NtListenPort returned a connection request
 *   accept / reject   S  NtAcceptConnectPort with TRUE / FALSE
 *   complete          S  NtCompleteConnectPort
 *   connect           client  NtConnectPort accepted
 *   connect_refused   client  NtConnectPort refused
 *   request           client  NtRequestWaitReplyPort returned.  D's never
 *                     returns: M logs it for D (D's pid and tid) with
 *                     status 0x00000103 (STATUS_PENDING) once S has it
 *   datagram          client  NtRequestPort
 *   receive           S  NtReplyWaitReceivePort(Ex) returned a request or
 *                     a datagram
 *   reply             S  a reply (NtReplyPort, or the reply half of
 *                     NtReplyWaitReceivePort) with any status but ...
 *   reply_mismatch    S  ... STATUS_REPLY_MESSAGE_MISMATCH
 *   timeout           S  NtReplyWaitReceivePortEx returned STATUS_TIMEOUT
 *   client_died       S  received LPC_CLIENT_DIED
 *   port_closed       S  received LPC_PORT_CLOSED
 *   kill              M  kill(D, SIGKILL)
 *   csr_connect       M  CsrClientConnectToServer
 *   csr_call          M  CsrClientCallServer
 *
 * Closing handles (NtClose) and NtRegisterThreadTerminatePort are not
 * logged.  One run logs 42 lines, 46 with --csr (run it to see them).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <lpc/csr.h>

#define DEFAULT_PORT "\\LpcTraffic"
#define CSR_PORT "\\Windows\\ApiPort"

#define STEP_SECONDS 20		/* alarm() per step: the last resort */
#define WAIT_MS 10000		/* pipes and bounded receives */
#define TIMEOUT_MS 50		/* step 4's NtReplyWaitReceivePortEx */

#define VIEW_SIZE 0x10000
#define VIEW_ASK_OFF 0x100
#define VIEW_ANSWER_OFF 0x800
#define VIEW_ASK "C writes this into its view"
#define VIEW_ANSWER "S read it through its mapping"
#define VIEW_MAGIC 0x43564945u	/* "EIVC" */

#define REPLY_EXTRA 4		/* replies are this much longer */
/* sizeof(CSR_API_CONNECTINFO): what libcsr sends to connect (spec 12.1). */
#define CSR_CONNECTINFO_LEN 56
#define CSR_BAD_API CSR_MAKE_API_NUMBER(BASESRV_SERVERDLL_INDEX, 0x7fff)

#define CTX_A ((PVOID)(uintptr_t)0xA)
#define CTX_C ((PVOID)(uintptr_t)0xC)
#define CTX_D ((PVOID)(uintptr_t)0xD)

static const int a_request_len[3] = { 8, 16, 24 };
static const int a_datagram_len[2] = { 12, 20 };
#define C_REQUEST_LEN 16
#define D_REQUEST_LEN 32

static const char *const step_names[] = {
	"setup",
	"create the port",
	"client A: requests, datagrams, close",
	"client B refused",
	"client C with a view, a receive timeout",
	"a reply with a wrong MessageId",
	"client D killed while waiting",
	"csrd calls",
	"the log",
};

typedef struct {
	PORT_MESSAGE h;
	UCHAR data[LPC_MAX_MESSAGE_LENGTH];
} msg_t;

/* C's request: where its question and S's answer sit in the view. */
struct view_ask {
	uint32_t magic;
	uint32_t ask_off;
	uint32_t ask_len;
	uint32_t answer_off;
};
_Static_assert(sizeof(struct view_ask) == C_REQUEST_LEN, "C's request");

/* ------------------------------------------------------------------ */
/* Process-wide state                                                  */
/* ------------------------------------------------------------------ */

static struct {
	const char *log_path;
	bool csr;
	const char *port_name;	/* ASCII, as given */
	char port_json[512];	/* escaped for the log */
	WCHAR port_w[256];
	UNICODE_STRING port_us;
	int log_fd;
} cfg = { .log_fd = -1 };

/* Token pipes: S to M (and M's client threads), M to S, S to D. */
static int s2m[2] = { -1, -1 }, m2s[2] = { -1, -1 }, s2d[2] = { -1, -1 };

/* Who this process is, for messages and the alarm handler. */
static const char *volatile role = "main";
static volatile sig_atomic_t cur_step;
static volatile pid_t server_pid, d_pid;

static pid_t self_tid(void)
{
	return (pid_t)syscall(SYS_gettid);
}

static void out(int fd, const char *fmt, va_list ap)
{
	char buf[1024];
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);

	if (n < 0)
		return;
	if ((size_t)n >= sizeof(buf))
		n = sizeof(buf) - 1;
	(void)!write(fd, buf, (size_t)n);
}

/* A human-readable line on stdout (write(2): no stdio buffer to inherit
 * across fork). */
static void say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	out(1, fmt, ap);
	va_end(ap);
}

static void reap_children(void)
{
	pid_t p[2] = { d_pid, server_pid };

	for (int i = 0; i < 2; i++) {
		if (p[i] > 0) {
			kill(p[i], SIGKILL);
			waitpid(p[i], NULL, 0);
		}
	}
	d_pid = server_pid = 0;
}

/* The step failed: say so, take the children down, exit 1.  Callable from
 * any thread of any of the processes. */
static void __attribute__((noreturn, format(printf, 1, 2)))
fail(const char *fmt, ...)
{
	char head[160];
	va_list ap;
	int step = cur_step;

	snprintf(head, sizeof(head), "lpc-traffic: %s: step %d (%s): ", role,
		 step, step_names[step]);
	(void)!write(2, head, strlen(head));
	va_start(ap, fmt);
	out(2, fmt, ap);
	va_end(ap);
	(void)!write(2, "\n", 1);
	if (!strcmp(role, "main")) {
		int st;

		/* The server's own message, if it failed first, is above. */
		if (server_pid > 0 && waitpid(server_pid, &st, WNOHANG) > 0) {
			server_pid = 0;
			fprintf(stderr,
				"lpc-traffic: the server exited (%s %d)\n",
				WIFEXITED(st) ? "status" : "signal",
				WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
		}
		reap_children();
	}
	_exit(1);
}

static void on_alarm(int sig)
{
	static const char a[] = "lpc-traffic: ", b[] = ": timed out in step ";
	const char *r = role;
	char d[2] = { (char)('0' + cur_step), '\n' };

	(void)sig;
	(void)!write(2, a, sizeof(a) - 1);
	(void)!write(2, r, strlen(r));
	(void)!write(2, b, sizeof(b) - 1);
	(void)!write(2, d, 2);
	if (!strcmp(r, "main")) {
		if (d_pid > 0)
			kill(d_pid, SIGKILL);
		if (server_pid > 0)
			kill(server_pid, SIGKILL);
	}
	_exit(1);
}

static void set_step(int step)
{
	cur_step = step;
	alarm(STEP_SECONDS);
}

/* A forked child: dies with M's main thread (the one that forks). */
static void become_child(const char *name, pid_t parent)
{
	role = name;
	server_pid = d_pid = 0;
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
		fail("prctl(PR_SET_PDEATHSIG): %s", strerror(errno));
	if (getppid() != parent)
		_exit(1);	/* M died before prctl took effect */
}

/* ------------------------------------------------------------------ */
/* The log                                                             */
/* ------------------------------------------------------------------ */

struct op {
	const char *op;
	int step;
	const char *who;
	const char *port;	/* JSON-escaped; NULL: the traffic port */
	pid_t pid, tid;
	uint32_t msgid;
	int type;
	int data_len;
	pid_t client_pid, client_tid;
	NTSTATUS status;
	long api_number;	/* csr_call only; -1 otherwise */
};

static struct op op_new(const char *name, const char *who)
{
	return (struct op){
		.op = name,
		.step = cur_step,
		.who = who,
		.pid = getpid(),
		.tid = self_tid(),
		.api_number = -1,
	};
}

/* The fields a PORT_MESSAGE gives. */
static void op_msg(struct op *o, const PORT_MESSAGE *h)
{
	o->msgid = h->MessageId;
	o->type = (uint16_t)h->u2.s2.Type;
	o->data_len = (uint16_t)h->u1.s1.DataLength;
	o->client_pid = (pid_t)(uintptr_t)h->ClientId.UniqueProcess;
	o->client_tid = (pid_t)(uintptr_t)h->ClientId.UniqueThread;
}

static void log_op(const struct op *o)
{
	char line[768], api[40] = "";
	int n;

	if (o->api_number >= 0)
		snprintf(api, sizeof(api), ",\"api_number\":%ld",
			 o->api_number);
	n = snprintf(line, sizeof(line),
		     "{\"op\":\"%s\",\"step\":%d,\"who\":\"%s\",\"pid\":%d,"
		     "\"tid\":%d,\"port\":\"%s\",\"msgid\":%u,\"type\":%d,"
		     "\"data_len\":%d,\"client_pid\":%d,\"client_tid\":%d,"
		     "\"status\":\"0x%08x\"%s}\n",
		     o->op, o->step, o->who, (int)o->pid, (int)o->tid,
		     o->port ? o->port : cfg.port_json, o->msgid, o->type,
		     o->data_len, (int)o->client_pid, (int)o->client_tid,
		     (unsigned)o->status, api);
	if (cfg.log_fd < 0)
		return;
	if (n < 0 || (size_t)n >= sizeof(line))
		fail("log line too long");
	if (write(cfg.log_fd, line, (size_t)n) != n)
		fail("writing the log: %s", strerror(errno));
}

/* Replies are logged under a name that follows from their status. */
static const char *reply_op(NTSTATUS s)
{
	return s == STATUS_REPLY_MESSAGE_MISMATCH ? "reply_mismatch" : "reply";
}

static void json_escape(const char *s, char *dst, size_t cap)
{
	size_t n = 0;

	for (; *s && n + 7 < cap; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			dst[n++] = '\\';
			dst[n++] = (char)c;
		} else if (c < 0x20) {
			n += (size_t)snprintf(dst + n, cap - n, "\\u%04x", c);
		} else {
			dst[n++] = (char)c;
		}
	}
	dst[n] = 0;
}

/* ------------------------------------------------------------------ */
/* Lockstep tokens                                                     */
/* ------------------------------------------------------------------ */

enum tag {
	T_READY = 1,	/* S: the port exists */
	T_CONNECTED,	/* S: accepted and completed (msgid: the request) */
	T_DATAGRAM,	/* S: logged a datagram's receive (msgid) */
	T_CLOSED,	/* S: logged LPC_PORT_CLOSED */
	T_REFUSED,	/* S: rejected (msgid) */
	T_GO,		/* S: logged the timeout; C may send */
	T_REPLIED,	/* S: logged its reply to C (msgid) */
	T_HELD,		/* S: holds D's request (msgid, pid, tid; aux:
			 * its DataLength) */
	T_DEAD,		/* M: D is dead and reaped */
	T_LATE,		/* S: done with D (aux: the late reply's
			 * status) */
};

struct token {
	uint32_t tag;
	uint32_t msgid;
	int32_t pid;
	int32_t tid;
	int32_t aux;
};

static void send_token(int fd, enum tag tag, uint32_t msgid, pid_t pid,
		       pid_t tid, int32_t aux)
{
	struct token t = { tag, msgid, pid, tid, aux };

	/* Smaller than PIPE_BUF: one atomic write. */
	if (write(fd, &t, sizeof(t)) != (ssize_t)sizeof(t))
		fail("writing a token: %s", strerror(errno));
}

static struct token get_token(int fd, enum tag want)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	struct token t;
	size_t got = 0;

	while (got < sizeof(t)) {
		int r = poll(&p, 1, WAIT_MS);
		ssize_t n;

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			fail("poll: %s", strerror(errno));
		if (r == 0)
			fail("no word from the other side in %d ms (waiting "
			     "for token %d)", WAIT_MS, want);
		n = read(fd, (char *)&t + got, sizeof(t) - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			fail("the other side is gone (waiting for token %d)",
			     want);
		got += (size_t)n;
	}
	if (t.tag != (uint32_t)want)
		fail("token %u where %d was expected", t.tag, want);
	return t;
}

/* ------------------------------------------------------------------ */
/* Helpers over the API                                                */
/* ------------------------------------------------------------------ */

static SECURITY_QUALITY_OF_SERVICE qos = {
	.Length = sizeof(SECURITY_QUALITY_OF_SERVICE),
	.ImpersonationLevel = SecurityImpersonation,
	.ContextTrackingMode = SECURITY_DYNAMIC_TRACKING,
	.EffectiveOnly = TRUE,
};

static void set_data(msg_t *m, const void *data, int len)
{
	memset(&m->h, 0, sizeof(m->h));
	if (data)
		memcpy(m->data, data, (size_t)len);
	m->h.u1.s1.DataLength = (CSHORT)len;
	m->h.u1.s1.TotalLength = (CSHORT)(sizeof(PORT_MESSAGE) + (size_t)len);
}

/* Request/datagram number k's bytes: a pattern the reply transforms. */
static void fill_pattern(UCHAR *p, int len, int k)
{
	for (int i = 0; i < len; i++)
		p[i] = (UCHAR)('a' + (i + k) % 26);
}

/* The reply to m: its header (ClientId, MessageId), the data upper-cased,
 * and REPLY_EXTRA more bytes. */
static void make_reply(msg_t *r, const msg_t *m)
{
	int len = (uint16_t)m->h.u1.s1.DataLength;

	r->h = m->h;
	for (int i = 0; i < len; i++)
		r->data[i] = (UCHAR)(m->data[i] & ~0x20);
	memcpy(r->data + len, "+ok", REPLY_EXTRA);
	r->h.u1.s1.DataLength = (CSHORT)(len + REPLY_EXTRA);
	r->h.u1.s1.TotalLength =
		(CSHORT)(sizeof(PORT_MESSAGE) + (size_t)len + REPLY_EXTRA);
}

static bool reply_is_for(const msg_t *r, const UCHAR *sent, int len)
{
	if ((uint16_t)r->h.u1.s1.DataLength != len + REPLY_EXTRA ||
	    (r->h.u2.s2.Type & 0xfff) != LPC_REPLY)
		return false;
	for (int i = 0; i < len; i++)
		if (r->data[i] != (UCHAR)(sent[i] & ~0x20))
			return false;
	return !memcmp(r->data + len, "+ok", REPLY_EXTRA);
}

static int msg_type(const msg_t *m)
{
	return m->h.u2.s2.Type & 0xfff;
}

static pid_t cid_pid(const PORT_MESSAGE *h)
{
	return (pid_t)(uintptr_t)h->ClientId.UniqueProcess;
}

static pid_t cid_tid(const PORT_MESSAGE *h)
{
	return (pid_t)(uintptr_t)h->ClientId.UniqueThread;
}

static LARGE_INTEGER rel_ms(long ms)
{
	return (LARGE_INTEGER){ .QuadPart = -(LONGLONG)ms * 10000 };
}

/* ------------------------------------------------------------------ */
/* The server (process S)                                              */
/* ------------------------------------------------------------------ */

struct server {
	HANDLE port;
	msg_t m;	/* the last message received */
	PVOID ctx;
};

/* Receive within WAIT_MS (or with the plain call when plain); the message
 * must be of type want through the connection of context ctx. */
static void srv_receive(struct server *s, PORT_MESSAGE *reply, bool plain,
			int want, PVOID ctx)
{
	LARGE_INTEGER to = rel_ms(WAIT_MS);
	NTSTATUS st;

	memset(&s->m.h, 0, sizeof(s->m.h));
	s->ctx = NULL;
	if (plain)
		st = NtReplyWaitReceivePort(s->port, &s->ctx, reply, &s->m.h);
	else
		st = NtReplyWaitReceivePortEx(s->port, &s->ctx, reply, &s->m.h,
					      &to);
	if (st != STATUS_SUCCESS)
		fail("NtReplyWaitReceivePort%s returned 0x%08x waiting for "
		     "type %d", plain ? "" : "Ex", (unsigned)st, want);
	if (msg_type(&s->m) != want || s->ctx != ctx)
		fail("received type %d with context %p, expected type %d "
		     "with context %p", msg_type(&s->m), s->ctx, want, ctx);
}

/* A reply sent with status st: the engine stamps LPC_REPLY into what it
 * sends, not into the caller's buffer, so the type is set here. */
static void srv_log_reply(const msg_t *r, NTSTATUS st)
{
	struct op o = op_new(reply_op(st), "server");

	op_msg(&o, &r->h);
	o.type = LPC_REPLY;
	o.status = st;
	log_op(&o);
}

static void srv_log_received(const struct server *s, const char *name)
{
	struct op o = op_new(name, "server");

	op_msg(&o, &s->m.h);
	o.status = STATUS_SUCCESS;
	log_op(&o);
}

/* NtListenPort for the next connection request; info must start with
 * who's letter. */
static void srv_listen(struct server *s, char who)
{
	NTSTATUS st;
	struct op o;

	memset(&s->m.h, 0, sizeof(s->m.h));
	st = NtListenPort(s->port, &s->m.h);
	o = op_new("listen", "server");
	op_msg(&o, &s->m.h);
	o.status = st;
	log_op(&o);
	if (st != STATUS_SUCCESS || msg_type(&s->m) != LPC_CONNECTION_REQUEST)
		fail("NtListenPort returned 0x%08x, type %d", (unsigned)st,
		     msg_type(&s->m));
	if (s->m.h.u1.s1.DataLength < 2 || s->m.data[0] != (UCHAR)who)
		fail("connection information from client %c expected", who);
	/* Read as a string below; at most LPC_MAX_DATA_LENGTH bytes came. */
	s->m.data[(uint16_t)s->m.h.u1.s1.DataLength] = 0;
}

/* Accept (and complete) or reject the request in s->m; the reply
 * information is "welcome X" / "refused X".  Returns the comm port. */
static HANDLE srv_answer(struct server *s, bool accept, PVOID ctx,
			 REMOTE_PORT_VIEW *cview)
{
	char who = (char)s->m.data[0];
	HANDLE comm = NULL;
	NTSTATUS st;
	struct op o;
	int n;

	/* Accept iff the client did not ask to be refused. */
	if (accept != !strstr((const char *)s->m.data, "refuse"))
		fail("client %c's connection information: \"%s\"", who,
		     (const char *)s->m.data);
	n = snprintf((char *)s->m.data, 32, "%s %c",
		     accept ? "welcome" : "refused", who) + 1;
	s->m.h.u1.s1.DataLength = (CSHORT)n;
	s->m.h.u1.s1.TotalLength = (CSHORT)(sizeof(PORT_MESSAGE) + (size_t)n);
	st = NtAcceptConnectPort(&comm, ctx, &s->m.h, accept, NULL, cview);
	o = op_new(accept ? "accept" : "reject", "server");
	op_msg(&o, &s->m.h);
	o.status = st;
	log_op(&o);
	if (st != STATUS_SUCCESS)
		fail("NtAcceptConnectPort(%s) returned 0x%08x",
		     accept ? "TRUE" : "FALSE", (unsigned)st);
	if (!accept)
		return NULL;
	st = NtCompleteConnectPort(comm);
	o = op_new("complete", "server");
	op_msg(&o, &s->m.h);
	o.data_len = 0;
	o.status = st;
	log_op(&o);
	if (st != STATUS_SUCCESS)
		fail("NtCompleteConnectPort returned 0x%08x", (unsigned)st);
	return comm;
}

/* NtReplyPort with r; the status must be want. */
static void srv_reply_port(HANDLE comm, msg_t *r, NTSTATUS want)
{
	NTSTATUS st = NtReplyPort(comm, &r->h);

	srv_log_reply(r, st);
	if (st != want)
		fail("NtReplyPort (MessageId %u) returned 0x%08x, expected "
		     "0x%08x", r->h.MessageId, (unsigned)st, (unsigned)want);
}

/* LPC_PORT_CLOSED from the connection of ctx, closed by thread tid. */
static void srv_port_closed(struct server *s, PVOID ctx, pid_t pid,
			    pid_t tid)
{
	srv_receive(s, NULL, false, LPC_PORT_CLOSED, ctx);
	srv_log_received(s, "port_closed");
	if (cid_pid(&s->m.h) != pid || cid_tid(&s->m.h) != tid)
		fail("LPC_PORT_CLOSED names %d/%d, expected %d/%d",
		     (int)cid_pid(&s->m.h), (int)cid_tid(&s->m.h), (int)pid,
		     (int)tid);
}

static void srv_step2(struct server *s)
{
	HANDLE comm;
	pid_t a_pid, a_tid;
	msg_t r;

	set_step(2);
	srv_listen(s, 'A');
	a_pid = cid_pid(&s->m.h);
	a_tid = cid_tid(&s->m.h);
	comm = srv_answer(s, true, CTX_A, NULL);
	send_token(s2m[1], T_CONNECTED, s->m.h.MessageId, 0, 0, 0);

	/* The classic loop: each reply goes out with the next receive. */
	srv_receive(s, NULL, true, LPC_REQUEST, CTX_A);
	for (int i = 0; i < 3; i++) {
		if ((uint16_t)s->m.h.u1.s1.DataLength != a_request_len[i])
			fail("request %d: %d bytes, expected %d", i + 1,
			     (uint16_t)s->m.h.u1.s1.DataLength,
			     a_request_len[i]);
		srv_log_received(s, "receive");
		make_reply(&r, &s->m);
		srv_receive(s, &r.h, true, i < 2 ? LPC_REQUEST : LPC_DATAGRAM,
			    CTX_A);
		/* The call returned success: the reply was delivered. */
		srv_log_reply(&r, STATUS_SUCCESS);
	}
	for (int i = 0; i < 2; i++) {
		if (i)
			srv_receive(s, NULL, true, LPC_DATAGRAM, CTX_A);
		if ((uint16_t)s->m.h.u1.s1.DataLength != a_datagram_len[i])
			fail("datagram %d: %d bytes, expected %d", i + 1,
			     (uint16_t)s->m.h.u1.s1.DataLength,
			     a_datagram_len[i]);
		srv_log_received(s, "receive");
		send_token(s2m[1], T_DATAGRAM, s->m.h.MessageId, 0, 0, 0);
	}
	srv_port_closed(s, CTX_A, a_pid, a_tid);
	NtClose(comm);
	send_token(s2m[1], T_CLOSED, 0, 0, 0, 0);
}

static void srv_step3(struct server *s)
{
	set_step(3);
	srv_listen(s, 'B');
	srv_answer(s, false, NULL, NULL);
	send_token(s2m[1], T_REFUSED, s->m.h.MessageId, 0, 0, 0);
}

static void srv_step45(struct server *s)
{
	REMOTE_PORT_VIEW cview = { .Length = sizeof(cview) };
	LARGE_INTEGER to = rel_ms(TIMEOUT_MS);
	struct view_ask ask;
	pid_t c_pid, c_tid;
	HANDLE comm;
	NTSTATUS st;
	struct op o;
	msg_t r;

	set_step(4);
	srv_listen(s, 'C');
	if (s->m.h.ClientViewSize != VIEW_SIZE)
		fail("ClientViewSize %zu, expected %u",
		     (size_t)s->m.h.ClientViewSize, VIEW_SIZE);
	c_pid = cid_pid(&s->m.h);
	c_tid = cid_tid(&s->m.h);
	comm = srv_answer(s, true, CTX_C, &cview);
	if (!cview.ViewBase || cview.ViewSize != VIEW_SIZE)
		fail("client view mapped at %p, %zu bytes", cview.ViewBase,
		     (size_t)cview.ViewSize);
	send_token(s2m[1], T_CONNECTED, s->m.h.MessageId, 0, 0, 0);

	/* C waits for T_GO: nothing can be queued. */
	memset(&s->m.h, 0, sizeof(s->m.h));
	st = NtReplyWaitReceivePortEx(s->port, &s->ctx, NULL, &s->m.h, &to);
	o = op_new("timeout", "server");
	o.status = st;
	log_op(&o);
	if (st != STATUS_TIMEOUT)
		fail("a %d ms NtReplyWaitReceivePortEx on an empty port "
		     "returned 0x%08x", TIMEOUT_MS, (unsigned)st);
	send_token(s2m[1], T_GO, 0, 0, 0, 0);

	srv_receive(s, NULL, false, LPC_REQUEST, CTX_C);
	srv_log_received(s, "receive");
	if ((uint16_t)s->m.h.u1.s1.DataLength != C_REQUEST_LEN)
		fail("C's request: %d bytes",
		     (uint16_t)s->m.h.u1.s1.DataLength);
	memcpy(&ask, s->m.data, sizeof(ask));
	if (ask.magic != VIEW_MAGIC || ask.ask_len != sizeof(VIEW_ASK) ||
	    ask.ask_off > VIEW_SIZE - sizeof(VIEW_ASK) ||
	    ask.answer_off > VIEW_SIZE - sizeof(VIEW_ANSWER) ||
	    memcmp((char *)cview.ViewBase + ask.ask_off, VIEW_ASK,
		   sizeof(VIEW_ASK)))
		fail("C's question is not in its view");
	memcpy((char *)cview.ViewBase + ask.answer_off, VIEW_ANSWER,
	       sizeof(VIEW_ANSWER));

	set_step(5);
	make_reply(&r, &s->m);
	r.h.MessageId = s->m.h.MessageId + 0x10000;
	srv_reply_port(comm, &r, STATUS_REPLY_MESSAGE_MISMATCH);
	r.h.MessageId = s->m.h.MessageId;
	srv_reply_port(comm, &r, STATUS_SUCCESS);
	send_token(s2m[1], T_REPLIED, r.h.MessageId, 0, 0, 0);

	set_step(4);
	srv_port_closed(s, CTX_C, c_pid, c_tid);
	NtClose(comm);
	send_token(s2m[1], T_CLOSED, 0, 0, 0, 0);
}

static void srv_step6(struct server *s)
{
	pid_t pid, tid;
	HANDLE comm;
	NTSTATUS st;
	msg_t held, r;

	set_step(6);
	srv_listen(s, 'D');
	pid = cid_pid(&s->m.h);
	tid = cid_tid(&s->m.h);
	comm = srv_answer(s, true, CTX_D, NULL);
	send_token(s2d[1], T_CONNECTED, s->m.h.MessageId, 0, 0, 0);

	srv_receive(s, NULL, false, LPC_REQUEST, CTX_D);
	srv_log_received(s, "receive");
	if (cid_pid(&s->m.h) != pid || cid_tid(&s->m.h) != tid)
		fail("D's request comes from %d/%d, its connection from %d/%d",
		     (int)cid_pid(&s->m.h), (int)cid_tid(&s->m.h), (int)pid,
		     (int)tid);
	held = s->m;
	send_token(s2m[1], T_HELD, held.h.MessageId, pid, tid,
		   (uint16_t)held.h.u1.s1.DataLength);
	get_token(m2s[0], T_DEAD);

	srv_receive(s, NULL, false, LPC_CLIENT_DIED, CTX_D);
	srv_log_received(s, "client_died");
	if (cid_pid(&s->m.h) != pid || cid_tid(&s->m.h) != tid)
		fail("LPC_CLIENT_DIED names %d/%d, expected %d/%d",
		     (int)cid_pid(&s->m.h), (int)cid_tid(&s->m.h), (int)pid,
		     (int)tid);
	/* A dead process's LPC_PORT_CLOSED names its main thread. */
	srv_port_closed(s, CTX_D, pid, pid);

	make_reply(&r, &held);
	st = NtReplyPort(comm, &r.h);
	srv_log_reply(&r, st);
	if (NT_SUCCESS(st))
		fail("a reply to a killed client returned 0x%08x",
		     (unsigned)st);
	NtClose(comm);
	NtClose(s->port);
	send_token(s2m[1], T_LATE, 0, 0, 0, st);
}

static void __attribute__((noreturn)) server_main(void)
{
	struct server s = { 0 };
	OBJECT_ATTRIBUTES oa;
	NTSTATUS st;
	struct op o;

	close(s2m[0]);
	close(m2s[1]);
	close(s2d[0]);
	set_step(1);
	InitializeObjectAttributes(&oa, &cfg.port_us, 0, NULL, NULL);
	st = NtCreatePort(&s.port, &oa, 0x100, LPC_MAX_MESSAGE_LENGTH, 0);
	o = op_new("create", "server");
	o.status = st;
	log_op(&o);
	if (st != STATUS_SUCCESS)
		fail("NtCreatePort(%s) returned 0x%08x", cfg.port_name,
		     (unsigned)st);
	send_token(s2m[1], T_READY, 0, 0, 0, 0);
	srv_step2(&s);
	srv_step3(&s);
	srv_step45(&s);
	srv_step6(&s);
	_exit(0);
}

/* ------------------------------------------------------------------ */
/* Clients                                                             */
/* ------------------------------------------------------------------ */

/* NtConnectPort with info "<who> <what>"; checks the server's answer
 * ("welcome X" or "refused X") and logs connect / connect_refused with
 * the MessageId S reports on fd.  Returns the port or NULL. */
static HANDLE client_connect(const char *who, const char *what,
			     PORT_VIEW *view, int token_fd, bool refused)
{
	char info[64], want[32];
	ULONG len, sent, maxlen = 0;
	HANDLE port = NULL;
	struct token t;
	NTSTATUS st;
	struct op o;

	len = sent = (ULONG)snprintf(info, sizeof(info), "%s %s", who, what) +
		     1;
	st = NtConnectPort(&port, &cfg.port_us, &qos, view, NULL,
			   refused ? NULL : &maxlen, info, &len);
	t = get_token(token_fd, refused ? T_REFUSED : T_CONNECTED);
	o = op_new(refused ? "connect_refused" : "connect", who);
	o.msgid = t.msgid;
	o.type = LPC_CONNECTION_REQUEST;
	o.data_len = (int)sent;
	o.client_pid = o.pid;
	o.client_tid = o.tid;
	o.status = st;
	log_op(&o);
	if (st != (refused ? STATUS_PORT_CONNECTION_REFUSED : STATUS_SUCCESS))
		fail("NtConnectPort returned 0x%08x", (unsigned)st);
	snprintf(want, sizeof(want), "%s %s", refused ? "refused" : "welcome",
		 who);
	if (len != strlen(want) + 1 || memcmp(info, want, len))
		fail("the server's connection information: %u bytes, \"%.*s\"",
		     len, (int)len, info);
	if (!refused && maxlen != LPC_MAX_MESSAGE_LENGTH)
		fail("MaxMessageLength %u", maxlen);
	return port;
}

/* NtRequestWaitReplyPort of len pattern bytes (number k); logs it when
 * the reply came, or after token_fd says the server logged its reply. */
static void client_request(HANDLE port, const char *who, int len, int k,
			   int token_fd)
{
	msg_t m, r;
	NTSTATUS st;
	struct op o;

	set_data(&m, NULL, len);
	fill_pattern(m.data, len, k);
	memset(&r.h, 0, sizeof(r.h));
	st = NtRequestWaitReplyPort(port, &m.h, &r.h);
	if (token_fd >= 0 && st == STATUS_SUCCESS) {
		struct token t = get_token(token_fd, T_REPLIED);

		if (t.msgid != r.h.MessageId)
			fail("the reply's MessageId %u, the server's %u",
			     r.h.MessageId, t.msgid);
	}
	o = op_new("request", who);
	op_msg(&o, &r.h);
	o.type = LPC_REQUEST;
	o.data_len = len;
	o.status = st;
	log_op(&o);
	if (st != STATUS_SUCCESS)
		fail("NtRequestWaitReplyPort (%d bytes) returned 0x%08x", len,
		     (unsigned)st);
	if (!reply_is_for(&r, m.data, len))
		fail("the reply to the %d-byte request is wrong", len);
	if (cid_pid(&r.h) != o.pid || cid_tid(&r.h) != o.tid)
		fail("the reply's ClientId is %d/%d", (int)cid_pid(&r.h),
		     (int)cid_tid(&r.h));
}

static void *client_a(void *arg)
{
	HANDLE port = client_connect("A", "accept-me", NULL, s2m[0], false);

	(void)arg;
	for (int i = 0; i < 3; i++)
		client_request(port, "A", a_request_len[i], i, -1);
	for (int i = 0; i < 2; i++) {
		int len = a_datagram_len[i];
		struct token t;
		NTSTATUS st;
		struct op o;
		msg_t m;

		set_data(&m, NULL, len);
		fill_pattern(m.data, len, 10 + i);
		st = NtRequestPort(port, &m.h);
		if (st != STATUS_SUCCESS)
			fail("NtRequestPort (%d bytes) returned 0x%08x", len,
			     (unsigned)st);
		/* NtRequestPort writes nothing back: the MessageId is the
		 * one the server received. */
		t = get_token(s2m[0], T_DATAGRAM);
		o = op_new("datagram", "A");
		o.msgid = t.msgid;
		o.type = LPC_DATAGRAM;
		o.data_len = len;
		o.client_pid = o.pid;
		o.client_tid = o.tid;
		o.status = st;
		log_op(&o);
	}
	if (NtClose(port) != STATUS_SUCCESS)
		fail("NtClose of A's port failed");
	get_token(s2m[0], T_CLOSED);
	return NULL;
}

static void *client_b(void *arg)
{
	(void)arg;
	client_connect("B", "refuse-me", NULL, s2m[0], true);
	return NULL;
}

static void *client_c(void *arg)
{
	LARGE_INTEGER size = { .QuadPart = VIEW_SIZE };
	PORT_VIEW view = { .Length = sizeof(view) };
	struct view_ask ask = { VIEW_MAGIC, VIEW_ASK_OFF, sizeof(VIEW_ASK),
				VIEW_ANSWER_OFF };
	HANDLE sec = NULL, port;
	msg_t m, r;
	NTSTATUS st;
	struct op o;
	struct token t;

	(void)arg;
	st = NtCreateSection(&sec, SECTION_ALL_ACCESS, NULL, &size,
			     PAGE_READWRITE, SEC_COMMIT, NULL);
	if (st != STATUS_SUCCESS)
		fail("NtCreateSection returned 0x%08x", (unsigned)st);
	view.SectionHandle = sec;
	view.ViewSize = VIEW_SIZE;
	port = client_connect("C", "accept-me", &view, s2m[0], false);
	if (!view.ViewBase || view.ViewSize != VIEW_SIZE)
		fail("C's view at %p, %zu bytes", view.ViewBase,
		     (size_t)view.ViewSize);
	memcpy((char *)view.ViewBase + VIEW_ASK_OFF, VIEW_ASK,
	       sizeof(VIEW_ASK));
	get_token(s2m[0], T_GO);

	set_data(&m, &ask, sizeof(ask));
	memset(&r.h, 0, sizeof(r.h));
	st = NtRequestWaitReplyPort(port, &m.h, &r.h);
	if (st == STATUS_SUCCESS) {
		t = get_token(s2m[0], T_REPLIED);
		if (t.msgid != r.h.MessageId)
			fail("the reply's MessageId %u, the server's %u",
			     r.h.MessageId, t.msgid);
	}
	o = op_new("request", "C");
	op_msg(&o, &r.h);
	o.type = LPC_REQUEST;
	o.data_len = sizeof(ask);
	o.status = st;
	log_op(&o);
	if (st != STATUS_SUCCESS)
		fail("NtRequestWaitReplyPort returned 0x%08x", (unsigned)st);
	if (!reply_is_for(&r, m.data, sizeof(ask)))
		fail("the reply to C's request is wrong");
	if (memcmp((char *)view.ViewBase + VIEW_ANSWER_OFF, VIEW_ANSWER,
		   sizeof(VIEW_ANSWER)))
		fail("the server's answer is not in C's view");
	if (NtClose(port) != STATUS_SUCCESS || NtClose(sec) != STATUS_SUCCESS)
		fail("NtClose of C's port or section failed");
	get_token(s2m[0], T_CLOSED);
	return NULL;
}

static void __attribute__((noreturn)) client_d(pid_t parent)
{
	HANDLE port;
	NTSTATUS st;
	msg_t m, r;

	become_child("client D", parent);
	close(s2m[0]);
	close(m2s[1]);
	set_step(6);
	port = client_connect("D", "accept-me", NULL, s2d[0], false);
	st = NtRegisterThreadTerminatePort(port);
	if (st != STATUS_SUCCESS)
		fail("NtRegisterThreadTerminatePort returned 0x%08x",
		     (unsigned)st);
	set_data(&m, NULL, D_REQUEST_LEN);
	fill_pattern(m.data, D_REQUEST_LEN, 20);
	st = NtRequestWaitReplyPort(port, &m.h, &r.h);
	/* M kills this process while it waits: getting here is the bug. */
	fail("NtRequestWaitReplyPort returned 0x%08x instead of waiting",
	     (unsigned)st);
}

/* Run one client thread to its end (its failures exit the process). */
static void run_client(void *(*fn)(void *))
{
	pthread_t t;
	int r = pthread_create(&t, NULL, fn, NULL);

	if (r)
		fail("pthread_create: %s", strerror(r));
	pthread_join(t, NULL);
}

/* waitpid within ms; 0 when pid has exited, -1 on a timeout. */
static int reap(pid_t pid, long ms, int *status)
{
	struct timespec pause = { 0, 5 * 1000 * 1000 };

	for (long waited = 0; waited <= ms; waited += 5) {
		pid_t r = waitpid(pid, status, WNOHANG);

		if (r == pid)
			return 0;
		if (r < 0 && errno != EINTR)
			return -1;
		nanosleep(&pause, NULL);
	}
	return -1;
}

static NTSTATUS step6(void)
{
	struct token t;
	struct op o;
	pid_t me = getpid(), pid;
	int st, r;

	set_step(6);
	pid = fork();
	if (pid < 0)
		fail("fork: %s", strerror(errno));
	if (pid == 0)
		client_d(me);
	d_pid = pid;
	close(s2d[0]);
	s2d[0] = -1;

	t = get_token(s2m[0], T_HELD);
	if (t.pid != pid || t.tid != pid)
		fail("the held request comes from %d/%d, D is %d", t.pid, t.tid,
		     (int)pid);
	/* D's request never returns: logged here, in D's name. */
	o = op_new("request", "D");
	o.pid = o.tid = o.client_pid = o.client_tid = pid;
	o.msgid = t.msgid;
	o.type = LPC_REQUEST;
	o.data_len = t.aux;
	o.status = STATUS_PENDING;
	log_op(&o);

	r = kill(pid, SIGKILL);
	o = op_new("kill", "main");
	o.client_pid = o.client_tid = pid;
	o.msgid = t.msgid;
	o.type = LPC_REQUEST;
	o.status = r ? STATUS_UNSUCCESSFUL : STATUS_SUCCESS;
	log_op(&o);
	if (r)
		fail("kill(%d, SIGKILL): %s", (int)pid, strerror(errno));
	if (reap(pid, WAIT_MS, &st))
		fail("D (%d) did not die", (int)pid);
	d_pid = 0;
	if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGKILL)
		fail("D ended with wait status 0x%x, not SIGKILL", st);
	send_token(m2s[1], T_DEAD, 0, 0, 0, 0);

	t = get_token(s2m[0], T_LATE);
	if (reap(server_pid, WAIT_MS, &st))
		fail("the server did not exit");
	server_pid = 0;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fail("the server ended with wait status 0x%x", st);
	return t.aux;
}

/* ------------------------------------------------------------------ */
/* Step 7: csrd                                                        */
/* ------------------------------------------------------------------ */

static void csr_call(CSR_API_NUMBER api, NTSTATUS want)
{
	CSR_API_MESSAGE m;
	NTSTATUS st;
	struct op o;

	memset(&m, 0, sizeof(m));
	st = CsrClientCallServer(&m, NULL, api, sizeof(BASE_GET_TEMP_FILE));
	o = op_new("csr_call", "main");
	o.port = "\\\\Windows\\\\ApiPort";
	op_msg(&o, &m.Header);
	o.type = LPC_REQUEST;
	o.status = st;
	o.api_number = (long)api;
	log_op(&o);
	if (st != want)
		fail("CSR API 0x%08x returned 0x%08x, expected 0x%08x",
		     (unsigned)api, (unsigned)st, (unsigned)want);
}

static void step7(void)
{
	NTSTATUS st;
	struct op o;

	set_step(7);
	st = CsrClientConnectToServer(NULL, CSRSRV_SERVERDLL_INDEX, NULL, NULL,
				      NULL);
	o = op_new("csr_connect", "main");
	o.port = "\\\\Windows\\\\ApiPort";
	o.type = LPC_CONNECTION_REQUEST;
	o.data_len = CSR_CONNECTINFO_LEN;
	o.client_pid = o.pid;
	o.client_tid = o.tid;
	o.status = st;
	log_op(&o);
	if (st != STATUS_SUCCESS)
		fail("CsrClientConnectToServer returned 0x%08x (is csrd "
		     "serving %s in this $LPC_ROOT?)", (unsigned)st, CSR_PORT);
	csr_call(BASESRV_GET_TEMP_FILE, STATUS_SUCCESS);
	csr_call(BASESRV_GET_TEMP_FILE, STATUS_SUCCESS);
	csr_call(CSR_BAD_API, STATUS_ILLEGAL_FUNCTION);
	CsrClientDisconnect();
	say("step 7: csrd: connected, BasepGetTempFile twice, API 0x%08x "
	    "refused\n", (unsigned)CSR_BAD_API);
}

/* ------------------------------------------------------------------ */
/* Checking the log against the script                                 */
/* ------------------------------------------------------------------ */

struct count {
	const char *op;
	int want, got;
};

static int check_log(NTSTATUS late)
{
	struct count c[] = {
		{ "create", 1, 0 },	{ "listen", 4, 0 },
		{ "accept", 3, 0 },	{ "reject", 1, 0 },
		{ "complete", 3, 0 },	{ "connect", 3, 0 },
		{ "connect_refused", 1, 0 },
		{ "request", 5, 0 },	{ "datagram", 2, 0 },
		{ "receive", 7, 0 },	{ "reply", 4, 0 },
		{ "reply_mismatch", 1, 0 },
		{ "timeout", 1, 0 },	{ "client_died", 1, 0 },
		{ "port_closed", 3, 0 }, { "kill", 1, 0 },
		{ "csr_connect", cfg.csr, 0 },
		{ "csr_call", cfg.csr ? 3 : 0, 0 },
	};
	const size_t nc = sizeof(c) / sizeof(c[0]);
	char line[1024];
	int lines = 0, total = 0;
	FILE *f;

	set_step(8);
	for (size_t i = 0; i < nc; i++)
		if (!strcmp(c[i].op, reply_op(late)))
			c[i].want++;
	f = fopen(cfg.log_path, "r");
	if (!f)
		fail("%s: %s", cfg.log_path, strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		const char *p = strstr(line, "{\"op\":\"");
		size_t i;

		lines++;
		if (p != line)
			fail("line %d is not one of ours", lines);
		p += 7;
		for (i = 0; i < nc; i++) {
			size_t n = strlen(c[i].op);

			if (!strncmp(p, c[i].op, n) && p[n] == '"') {
				c[i].got++;
				break;
			}
		}
		if (i == nc)
			fail("line %d: unknown op", lines);
	}
	fclose(f);
	for (size_t i = 0; i < nc; i++) {
		if (c[i].got != c[i].want)
			fail("%d \"%s\" lines, the script makes %d", c[i].got,
			     c[i].op, c[i].want);
		total += c[i].want;
	}
	return total;
}

/* ------------------------------------------------------------------ */
/* main                                                                */
/* ------------------------------------------------------------------ */

static void usage(FILE *f)
{
	fprintf(f,
"usage: lpc-traffic [--log FILE] [--csr] [--port NAME]\n"
"  Runs a fixed script of LPC operations (see examples/lpc-traffic.c)\n"
"  in $LPC_ROOT and writes what it did, one JSON object a line.\n"
"  --log FILE   the NDJSON log (truncated first)\n"
"  --csr        also call csrd at %s (it must be running)\n"
"  --port NAME  the connection port (default %s)\n", CSR_PORT,
		DEFAULT_PORT);
}

static int parse_args(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "log", required_argument, NULL, 'l' },
		{ "csr", no_argument, NULL, 'c' },
		{ "port", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	size_t n;
	int c;

	cfg.port_name = DEFAULT_PORT;
	while ((c = getopt_long(argc, argv, "l:cp:h", opts, NULL)) != -1) {
		switch (c) {
		case 'l':
			cfg.log_path = optarg;
			break;
		case 'c':
			cfg.csr = true;
			break;
		case 'p':
			cfg.port_name = optarg;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return -1;
	}
	n = strlen(cfg.port_name);
	if (n == 0 || n >= 255 || cfg.port_name[0] != '\\') {
		fprintf(stderr, "lpc-traffic: --port: an absolute NT name of "
				"fewer than 255 characters, like %s\n",
			DEFAULT_PORT);
		return -1;
	}
	for (size_t i = 0; i <= n; i++)
		cfg.port_w[i] = (WCHAR)(unsigned char)cfg.port_name[i];
	RtlInitUnicodeString(&cfg.port_us, cfg.port_w);
	json_escape(cfg.port_name, cfg.port_json, sizeof(cfg.port_json));
	return 0;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_alarm };
	NTSTATUS late;
	pid_t me = getpid(), pid;
	int total;

	if (parse_args(argc, argv))
		return 2;
	sigaction(SIGALRM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (cfg.log_path) {
		cfg.log_fd = open(cfg.log_path,
				  O_WRONLY | O_CREAT | O_TRUNC | O_APPEND |
					  O_CLOEXEC,
				  0644);
		if (cfg.log_fd < 0) {
			fprintf(stderr, "lpc-traffic: %s: %s\n", cfg.log_path,
				strerror(errno));
			return 1;
		}
	}
	if (pipe2(s2m, O_CLOEXEC) || pipe2(m2s, O_CLOEXEC) ||
	    pipe2(s2d, O_CLOEXEC))
		fail("pipe: %s", strerror(errno));

	/* Step 1: the server, in a process of its own. */
	set_step(1);
	pid = fork();
	if (pid < 0)
		fail("fork: %s", strerror(errno));
	if (pid == 0) {
		become_child("server", me);
		server_main();
	}
	server_pid = pid;
	close(s2m[1]);
	close(m2s[0]);
	close(s2d[1]);
	get_token(s2m[0], T_READY);
	say("step 1: server %d created %s\n", (int)pid, cfg.port_name);

	set_step(2);
	run_client(client_a);
	say("step 2: client A connected, made 3 requests (8, 16, 24 bytes), "
	    "sent 2 datagrams, closed\n");
	set_step(3);
	run_client(client_b);
	say("step 3: client B refused\n");
	set_step(4);
	run_client(client_c);
	say("step 4: client C connected with a %u-byte view; a %d ms receive "
	    "timed out; its request went through the view\n", VIEW_SIZE,
	    TIMEOUT_MS);
	say("step 5: a reply with a wrong MessageId mismatched, the right one "
	    "went through\n");
	late = step6();
	say("step 6: client D killed in its request; LPC_CLIENT_DIED, "
	    "LPC_PORT_CLOSED; the late reply got 0x%08x\n", (unsigned)late);
	if (cfg.csr)
		step7();
	alarm(0);
	if (!cfg.log_path) {
		say("lpc-traffic: ok\n");
		return 0;
	}
	total = check_log(late);
	alarm(0);
	say("lpc-traffic: ok, %d operations logged to %s\n", total,
	    cfg.log_path);
	return 0;
}
