/* SPDX-License-Identifier: MIT */
/*
 * seq.c - the connection-sequence harness (design.md section 4).
 *
 * An input is a program (fuzz/seq_prog.h) of operations by four actors --
 * a server and three clients, two threads each -- run on the real engine
 * in this one process: create, connect, listen, accept/reject, complete,
 * request, datagram, reply (right or wrong MessageId/ClientId), reply-wait-
 * receive, reply-wait-reply, callbacks, request data, impersonation,
 * termination ports, close, thread death, actor teardown.
 *
 * Determinism.  Actor threads are created once and reused.  The scheduler
 * (the fuzzing thread) hands one operation at a time to an actor and then
 * waits until the whole process is quiescent: every actor either idle, or
 * blocked inside the engine with nothing that could wake it.  "Blocked" is
 * read from the engine's own per-thread state (lpc_int.h: the thread is on
 * a domain's waiting list, its wait not done, asleep on its condition
 * variable and not kicked -- or it is the domain's driver and sits in
 * poll()/recvmsg(), which /proc/self/task/TID/syscall tells exactly).
 * Nothing is timed except the bound on that wait (2 s, then fuzz_hang()).
 *
 * Checks (abort through FUZZ_CHECK / fuzz_hang):
 *  - statuses the spec makes certain in the situation the model knows
 *    (lpc-semantics.md 3.3, 5.x, 7.1, 8.1; docs/decisions.md for the open
 *    questions); where the model is not sure, only the set of statuses
 *    that can make sense;
 *  - every delivered message: to the right thread, once, with the header
 *    and bytes that were sent (each message carries a unique cookie and a
 *    pattern derived from it), PortContext, per-sender FIFO order, nothing
 *    written past header + ALIGN4(DataLength) in the receive buffer;
 *  - no message lost: what was sent successfully and could still be
 *    received is received by the drain at the end;
 *  - LPC_CLIENT_DIED / LPC_PORT_CLOSED at most once per registration or
 *    connection (and exactly once where nothing discarded them);
 *  - teardown: every wait ends once every handle is closed (receivers in
 *    a server's own queue, which NT lets wait forever, are woken by a
 *    message put in their queue; waits on unconnected ports, likewise
 *    endless in NT, are ended as port deletion would); then no handle,
 *    fd, mapping or thread is left.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <lpc/lpc.h>

#include "fuzz.h"
#include "ids.h"
#include "lpc_int.h"
#include "seq_prog.h"

#define NTH SEQ_NTHREADS
#define NACT 4
#define MAXPORT 160
#define MAXH 160
#define MAXCONN 80
#define MAXREC 768
#define DBUF 256
#define NDBUF 2
#define DATA_MAX (LPC_MAX_MESSAGE_LENGTH - LPC_HDR)
#define COOKIE_TAG 0xc5000000u
#define COOKIE_MASK 0xff000000u
#define KICK_COOKIE 0xc4c4c4c4u
#define SENTINEL ((HANDLE)(uintptr_t)0x5555555555555555ull)
/* Never allocated: the table would need 8188 handles first. */
#define BAD_HANDLE ((HANDLE)(uintptr_t)0x7ff0)
#define FILL 0xa5
#define SETTLE_NS 2000000000LL

/* The scheduler's polling is not the engine's behaviour: keep its loop
 * counts out of the coverage map (AFL++ stability).  The attribute is
 * for clang's own coverage (libFuzzer); AFL++ reads the same markers
 * through scripts/fuzz's deny list (docs/fuzzing.md, "Stability"). */
#if defined(__clang__)
#define NOCOV __attribute__((noinline, no_sanitize("coverage")))
#else
#define NOCOV __attribute__((noinline))
#endif

typedef struct {
	PORT_MESSAGE h;
	uint8_t d[1100]; /* room for any raw DataLength the rules let through */
} msgbuf;

/* ------------------------------------------------------------------ */
/* Model                                                               */
/* ------------------------------------------------------------------ */

enum { PK_CONN = 1, PK_UNCONN, PK_SERVER, PK_CLIENT };

struct mport {
	int kind, owner, name;
	bool waitable;
	uint32_t max_msg;
	int handles, regs, calls;
	bool unnamed, destroyed;
	int conn;		/* SERVER, CLIENT */
	int P;			/* SERVER: its connection port */
	int nserv;		/* CONN: live server ports holding it */
	HANDLE first;
};

struct mhandle {
	bool live;
	HANDLE v;
	int port;
	int owner;
};

enum { CS_PENDING = 1, CS_RECEIVED, CS_ACCEPTED, CS_CONNECTED, CS_DONE };

struct mconn {
	int state;
	int cth;		/* connecting thread */
	pid_t ctid;
	uint32_t msgid;
	bool msgid_known;
	int P, S, C;
	void *ctx;
	bool s_destroyed, c_destroyed;
	bool completed;		/* NtCompleteConnectPort succeeded */
	uint32_t cookie;	/* the client's info cookie */
	uint16_t infolen;	/* after the engine's clamp */
	size_t view_size;
	/* the outcome the client must see: 0 none yet */
	bool has_exp;
	NTSTATUS exp;
	uint16_t reply_infolen;
	uint32_t reply_cookie;
	void *srv_cview_base;	/* server's mapping of the client's view */
	size_t srv_cview_size;
	void *srv_sview_base, *srv_sview_remote;
	size_t srv_sview_size;
	bool closed_sent;	/* LPC_PORT_CLOSED queued for it */
	bool rejected;		/* by NtAcceptConnectPort */
};

enum { R_REQUEST = 1, R_DATAGRAM, R_CONNREQ, R_DIED, R_CLOSED, R_CALLBACK };

struct mrec {
	int type;
	uint32_t cookie;	/* 0: anonymous (DataLength < 8) */
	int sender;		/* thread index, -1: none */
	pid_t stid;
	int dest;		/* port model whose queue takes it */
	int conn;		/* connection it crossed, -1: local */
	uint16_t dl, tl, dioff;
	int dinfo_n;
	bool received;
	uint32_t msgid;
	int recv_port;		/* port model it was received through */
	int recv_slot;		/* handle slot */
	bool answered;
	bool sent;
	bool via_client;	/* sent through a client port */
	bool ambig;		/* received without its PortContext: another
				   notice of the same kind might have been it */
	int hole;		/* data bytes [hole, hole + 4) zeroed: a raw
				   data-info count; -1: none */
	int await_conn;		/* dest is this connection's client port,
				   once its connect returns; -1: none */
};

struct th;

/* What the scheduler asks an actor to do, and what came back. */
struct job {
	int op;
	HANDLE h;
	bool timed;
	int timeout;
	bool with_reply, noctx, listen;
	msgbuf msg, out;
	/* create / connect */
	bool named, waitable;
	int name;
	ULONG max_msg, max_info;
	bool view, sview;
	uint32_t view_size;
	ULONG infolen;
	uint8_t info[LPC_MAX_DATA_LENGTH + 96];
	PORT_VIEW cview;
	REMOTE_PORT_VIEW rview;
	HANDLE section;
	ULONG maxlen;
	/* accept */
	void *ctx;
	bool accept, asview, acview;
	uint32_t spages;
	PORT_VIEW asv;
	REMOTE_PORT_VIEW acv;
	/* data */
	ULONG index;
	uint8_t dbuf[DBUF + 64];
	SIZE_T dlen, done;
	bool write;
	/* results */
	NTSTATUS st, st2;
	HANDLE hout;
	PVOID ctx_out;
	uint32_t fsuid_after;
};

struct th {
	int idx;
	bool alive;
	pthread_t pt;
	pid_t tid;
	struct lpc_thread *lt;
	int fd_sys;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int cmd;
	_Atomic int busy;
	_Atomic int ready;
	struct job job;
	/* model of the op in progress */
	int opn;		/* program index, -1 idle */
	int opk;		/* seq opcode */
	uint64_t start;
	bool blocked;		/* seen blocked */
	int held;		/* port model the op references, -1 */
	bool timed;
	/* the predicted immediate status (only when pred_exact) */
	bool pred_exact;
	NTSTATUS pred;
	bool pred_block;	/* must block */
	/* a reply wait */
	bool waiting;		/* blocked waiting for a reply */
	uint32_t wmsgid;
	bool wknown, west;	/* msgid known; waiter established */
	int wport;		/* port model of the waiter record */
	int wdom;		/* domain (port model) the waiter lives in */
	int wrec;		/* REQUEST: its record */
	int wkind;		/* R_REQUEST original request, else 0 */
	bool wremote;		/* its waiter came through a link */
	bool wplace;		/* wport/wdom are known */
	int wconn;		/* remote: the connection the wait rides */
	bool kicked;		/* teardown put a message in its queue */
	bool wdinfo;
	bool wnoimp;
	/* what may be delivered to it */
	uint32_t exp_cookie;
	int exp_rec;
	bool exp_must;
	NTSTATUS exp_status;	/* an outcome forced by an event */
	bool exp_status_must;
	/* the op's own pending effects */
	int rep_target;		/* reply/rwr/callback: target thread, -1 */
	int rep_rec;		/* record of what it sent */
	int item;		/* item it acted on */
	int conn;		/* connect: connection */
	/* termination registrations, oldest first */
	int regs[64];
	int nregs;
	/* data-info buffers and what they should hold */
	uint8_t dbuf[NDBUF][DBUF];
	uint8_t shadow[NDBUF][DBUF];
};

static struct {
	struct th th[NTH];
	struct mport port[MAXPORT];
	int nport;
	struct mhandle h[MAXH];
	int nh;
	struct mconn conn[MAXCONN];
	int nconn;
	struct mrec rec[MAXREC];
	int nrec;
	pid_t dead[64];
	int ndead;
	HANDLE last_closed;
	uint32_t cookie;
	uint64_t seq;
	struct seq_op ops[SEQ_MAX_OPS];
	int nops, cur;
	bool teardown;
	uintptr_t max_handle;
	uint32_t last_cbid;
} M;

static pid_t my_pid, sched_tid;
static struct fuzz_snapshot base;
static bool inited, started, warming, have_base;

static const char *tname(int i)
{
	return seq_thread_names[i & 7];
}

/* The program so far, for reports. */
static void print_program(FILE *f)
{
	char line[256];

	for (int i = 0; i < M.nops; i++) {
		seq_print_op(&M.ops[i], line, sizeof(line));
		fprintf(f, "  %s%3d: %s\n", i == M.cur ? "=>" : "  ", i, line);
	}
}

#define CHECK(cond, ...)                                                      \
	do {                                                                  \
		if (__builtin_expect(!(cond), 0)) {                           \
			fprintf(stderr, "program (op %d):\n", M.cur);         \
			print_program(stderr);                                \
			fuzz_fail(__FILE__, __LINE__, #cond, __VA_ARGS__);    \
		}                                                             \
	} while (0)

__attribute__((noreturn, format(printf, 1, 2))) static void hang(const char *fmt,
								   ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "program (op %d):\n", M.cur);
	print_program(stderr);
	fuzz_hang("%s", msg);
}

#define CHECK_ST(got, want, what)                                             \
	CHECK((got) == (want), "%s by %s: status 0x%08x, want 0x%08x", what,  \
	      tname(th->idx), (unsigned)(got), (unsigned)(want))

static uint32_t new_cookie(void)
{
	return COOKIE_TAG | (++M.cookie & 0xffffff);
}

static bool is_cookie(uint32_t c)
{
	return (c & COOKIE_MASK) == COOKIE_TAG;
}

static uint8_t pat(uint32_t cookie, size_t i)
{
	return (uint8_t)(cookie * 7u + i * 13u + 1);
}

/* Data: [cookie][ref][pattern...] (only what fits). */
static void fill_data(uint8_t *d, size_t len, size_t cap, uint32_t cookie,
		      uint32_t ref)
{
	for (size_t i = 0; i < cap; i++)
		d[i] = pat(cookie, i);
	if (len >= 4)
		memcpy(d, &cookie, 4);
	if (len >= 8)
		memcpy(d + 4, &ref, 4);
}

static uint32_t data_cookie(const uint8_t *d, size_t len)
{
	uint32_t c = 0;

	if (len >= 8)
		memcpy(&c, d, 4);
	return is_cookie(c) || c == KICK_COOKIE ? c : 0;
}


/* Whether connection c's request was sent and no thread has received it
 * yet, whatever has become of the connection since. */
static bool connreq_queued(int c)
{
	for (int i = 0; i < M.nrec; i++)
		if (M.rec[i].type == R_CONNREQ && M.rec[i].conn == c &&
		    M.rec[i].sent && !M.rec[i].received)
			return true;
	return false;
}

/* Bytes [from, len) follow the cookie's pattern, except bytes
 * [hole, hole + 4), which are zero (hole -1: none). */
static bool data_ok_hole(const uint8_t *d, size_t from, size_t len,
			 uint32_t cookie, int hole)
{
	for (size_t i = from; i < len; i++) {
		bool in = hole >= 0 && i >= (size_t)hole && i < (size_t)hole + 4;

		if (d[i] != (in ? 0 : pat(cookie, i)))
			return false;
	}
	return true;
}

static bool data_ok(const uint8_t *d, size_t from, size_t len, uint32_t cookie)
{
	return data_ok_hole(d, from, len, cookie, -1);
}

/* ------------------------------------------------------------------ */
/* Actor threads                                                       */
/* ------------------------------------------------------------------ */

enum { CMD_NONE, CMD_RUN, CMD_EXIT };

static void exec_job(struct th *th);

static void *actor_main(void *arg)
{
	struct th *th = arg;
	ULONG rl;
	HANDLE u = NULL;
	OBJECT_ATTRIBUTES oa;
	msgbuf m;
	LARGE_INTEGER zero = { .QuadPart = 0 };

	th->tid = (pid_t)syscall(SYS_gettid);
	th->lt = lpc_self();
	/* Warm up what the engine makes at a thread's first calls: the copy
	 * pipe and the published-state slot (whose first claim takes the
	 * global lock under a domain lock: never while we inspect). */
	NtQueryInformationPort(NULL, PortBasicInformation, NULL, 0, &rl);
	InitializeObjectAttributes(&oa, NULL, 0, NULL, NULL);
	if (NtCreatePort(&u, &oa, 0, 0x100, 0) == STATUS_SUCCESS) {
		NtReplyWaitReceivePortEx(u, NULL, NULL, &m.h, &zero);
		NtClose(u);
	}
	atomic_store(&th->ready, 1);
	for (;;) {
		int cmd;

		pthread_mutex_lock(&th->mu);
		while (th->cmd == CMD_NONE)
			pthread_cond_wait(&th->cv, &th->mu);
		cmd = th->cmd;
		th->cmd = CMD_NONE;
		pthread_mutex_unlock(&th->mu);
		if (cmd == CMD_EXIT)
			break;
		exec_job(th);
		atomic_store_explicit(&th->busy, 0, memory_order_release);
	}
	return NULL;
}

NOCOV static void spawn(struct th *th)
{
	char path[64];

	th->cmd = CMD_NONE;
	atomic_store(&th->busy, 0);
	atomic_store(&th->ready, 0);
	if (pthread_create(&th->pt, NULL, actor_main, th))
		abort();
	while (!atomic_load(&th->ready))
		sched_yield();
	snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", (int)th->tid);
	th->fd_sys = open(path, O_RDONLY | O_CLOEXEC);
	th->alive = true;
	th->opn = -1;
	th->held = -1;
	th->nregs = 0;
}

static void hand(struct th *th)
{
	atomic_store(&th->busy, 1);
	pthread_mutex_lock(&th->mu);
	th->cmd = CMD_RUN;
	pthread_cond_signal(&th->cv);
	pthread_mutex_unlock(&th->mu);
}

static void reap(struct th *th)
{
	pthread_mutex_lock(&th->mu);
	th->cmd = CMD_EXIT;
	pthread_cond_signal(&th->cv);
	pthread_mutex_unlock(&th->mu);
	pthread_join(th->pt, NULL);
	close(th->fd_sys);
	th->fd_sys = -1;
	th->alive = false;
	th->lt = NULL;
	if (M.ndead < 64)
		M.dead[M.ndead++] = th->tid;
}

/* ------------------------------------------------------------------ */
/* Reading the engine's state: is a thread blocked for good?           */
/* ------------------------------------------------------------------ */

NOCOV static bool conn_request_queued(struct lpc_domain *d)
{
	for (struct lpc_pkt *p = d->qhead; p; p = p->next)
		if (LPC_TYPE(lpc_pkt_msg(p)->u2.s2.Type) ==
		    LPC_CONNECTION_REQUEST)
			return true;
	return false;
}

/* The driver sits in the transport's blocking call (not on a lock, not
 * runnable): then it has looked at its fds and nothing was there. */
NOCOV static bool in_transport(struct th *th)
{
	char buf[256];
	ssize_t n;
	long nr;

	if (th->fd_sys < 0)
		return false;
	n = pread(th->fd_sys, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return false;
	buf[n] = 0;
	if (!strncmp(buf, "running", 7))
		return false;
	nr = strtol(buf, NULL, 10);
	return nr == SYS_poll || nr == SYS_ppoll || nr == SYS_recvmsg ||
	       nr == SYS_recvfrom || nr == SYS_epoll_wait ||
	       nr == SYS_epoll_pwait;
}

/* Under lpc_glock: the domain th waits in, locked, or NULL. */
NOCOV static struct lpc_domain *wait_dom(struct lpc_thread *lt)
{
	for (struct lpc_domain *d = lpc_domains; d; d = d->gnext) {
		lpc_dom_lock(d);
		for (struct lpc_thread *t = d->waiting; t; t = t->wnext)
			if (t == lt)
				return d;
		lpc_dom_unlock(d);
	}
	return NULL;
}

/* Is any fd the domain's driver polls readable?  (Domain lock held.) */
NOCOV static bool input_pending(struct lpc_domain *d)
{
	struct pollfd pf[66];
	int n = 0;

	if (d->wake_fd >= 0)
		pf[n++] = (struct pollfd){ d->wake_fd, POLLIN, 0 };
	if (d->listen_fd >= 0)
		pf[n++] = (struct pollfd){ d->listen_fd, POLLIN, 0 };
	for (struct lpc_link *l = d->links; l && n < 66; l = l->next)
		if (!l->hung_up && !l->throttled)
			pf[n++] = (struct pollfd){ l->fd, POLLIN, 0 };
	return n && poll(pf, (nfds_t)n, 0) > 0;
}

enum { Q_BUSY, Q_QUIET, Q_LOST };

NOCOV static int quiet_locked(struct th *th, struct lpc_domain *d)
{
	struct lpc_thread *t = th->lt;
	bool ready = t->wkind == LPC_TW_RECEIVE &&
		     (d->dead ||
		      (t->listen_only ? conn_request_queued(d) : !!d->qhead));

	if (t->wdone || th->timed)
		return Q_BUSY;
	if (d->driving && d->driver == t) {
		if (!in_transport(th))
			return Q_BUSY;
		/* Asleep in poll()/recvmsg() with what it waits for already
		 * queued, and nothing that could wake it: lost for good. */
		if (ready)
			return input_pending(d) ? Q_BUSY : Q_LOST;
		return Q_QUIET;
	}
	if (!t->sleeping || t->kicked)
		return Q_BUSY;
	/* Asleep, not signalled, with what it waits for queued: only a
	 * running thread could still wake it (all_quiet() sees to that). */
	return ready ? Q_LOST : Q_QUIET;
}

/* Q_QUIET: idle or blocked for good; Q_BUSY: running or about to. */
NOCOV static int th_quiet(struct th *th)
{
	struct lpc_domain *d;
	int r = Q_BUSY;

	if (!atomic_load_explicit(&th->busy, memory_order_acquire))
		return Q_QUIET;
	pthread_mutex_lock(&lpc_glock);
	d = wait_dom(th->lt);
	if (d) {
		r = quiet_locked(th, d);
		lpc_dom_unlock(d);
	}
	pthread_mutex_unlock(&lpc_glock);
	return r;
}

/* Q_QUIET when every actor is; Q_LOST when one is lost, *who. */
NOCOV static int all_quiet(int *who)
{
	int r = Q_QUIET;

	/* Lost only while nobody runs who could still make up for it. */
	for (int i = 0; i < NTH; i++) {
		int q;

		if (!M.th[i].alive)
			continue;
		q = th_quiet(&M.th[i]);
		if (q == Q_BUSY)
			return Q_BUSY;
		if (q == Q_LOST) {
			*who = i;
			r = Q_LOST;
		}
	}
	return r;
}

NOCOV static uint64_t signature(void)
{
	uint64_t s = 0;

	for (int i = 0; i < NTH; i++) {
		struct th *th = &M.th[i];

		s = s * 31 + (uint64_t)atomic_load(&th->busy);
		if (th->alive && th->lt && th->lt->dbg)
			s = s * 31 + th->lt->dbg->seq;
	}
	return s;
}

NOCOV static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static const char *op_name(int k)
{
	return k >= 0 && k < SEQ_NOPS ? seq_op_names[k] : "?";
}

/* A thread's engine state, for reports. */
NOCOV static size_t describe(struct th *th, char *out, size_t n)
{
	struct lpc_domain *d;
	char sys[64] = "?";
	int r = 0;

	if (th->fd_sys >= 0) {
		ssize_t k = pread(th->fd_sys, sys, sizeof(sys) - 1, 0);

		sys[k > 0 ? k : 0] = 0;
		for (char *c = sys; *c; c++)
			if (*c == ' ' || *c == '\n') {
				*c = 0;
				break;
			}
	}
	pthread_mutex_lock(&lpc_glock);
	d = wait_dom(th->lt);
	if (d) {
		struct lpc_thread *t = th->lt;

		r = snprintf(out, n,
			     " %s(%s: wkind %d done %d sleeping %d kicked %d "
			     "driving %d driver %d q %d dead %d syscall %s)",
			     tname(th->idx), op_name(th->opk), t->wkind, t->wdone,
			     t->sleeping, t->kicked, d->driving,
			     d->driver == t, !!d->qhead, d->dead, sys);
		lpc_dom_unlock(d);
	} else {
		r = snprintf(out, n, " %s(%s: not waiting, syscall %s)",
			     tname(th->idx), op_name(th->opk), sys);
	}
	pthread_mutex_unlock(&lpc_glock);
	return r > 0 ? (size_t)r : 0;
}

/* Wait until every actor is idle or blocked for good (twice in a row,
 * nothing changed in between). */
NOCOV static void settle(void)
{
	int64_t limit = now_ns() + SETTLE_NS;
	unsigned spins = 0;
	uint64_t sig = 0;
	int stable = 0, lost = 0;

	for (;;) {
		int who = -1, q = all_quiet(&who);

		if (M.teardown && !(spins & 7))
			for (int i = 0; i < NTH; i++)
				if (M.th[i].alive && M.th[i].kicked &&
				    atomic_load(&M.th[i].busy) &&
				    in_transport(&M.th[i]))
					pthread_kill(M.th[i].pt, SIGUSR1);
		if (q == Q_LOST && M.th[who].kicked && in_transport(&M.th[who])) {
			/* Our signal came before it entered recvmsg(). */
			pthread_kill(M.th[who].pt, SIGUSR1);
			q = Q_BUSY;
		}
		if (q == Q_LOST) {
			/* Twice, apart: the state holds. */
			if (++lost >= 3) {
				char desc[512];

				describe(&M.th[who], desc, sizeof(desc));
				hang("lost wakeup: %s waits in the engine for what "
				     "is already queued, and nothing will wake it:%s",
				     tname(who), desc);
			}
		} else {
			lost = 0;
		}
		if (q == Q_QUIET) {
			uint64_t s = signature();

			if (stable && s == sig)
				return;
			sig = s;
			stable = 1;
		} else {
			stable = 0;
		}
		if (++spins > 64) {
			struct timespec ts = { 0, 20000 };

			if (now_ns() > limit) {
				char list[1024] = "";
				size_t at = 0;

				for (int i = 0; i < NTH; i++)
					if (M.th[i].alive &&
					    th_quiet(&M.th[i]) != Q_QUIET)
						at += describe(&M.th[i], list + at,
							       sizeof(list) - at);
				hang("actors did not settle within 2 s:%s", list);
			}
			nanosleep(&ts, NULL);
		} else {
			sched_yield();
		}
	}
}

/* A server or client domain whose sockets hold input while threads wait
 * in it and nobody drives: a lost wakeup. */
static void check_drivers(void)
{
	pthread_mutex_lock(&lpc_glock);
	for (struct lpc_domain *d = lpc_domains; d; d = d->gnext) {
		struct pollfd pf[64];
		int n = 0;
		bool need = false;

		lpc_dom_lock(d);
		for (struct lpc_thread *t = d->waiting; t; t = t->wnext)
			if (!t->wdone && !t->kicked)
				need = true;
		if (need && d->be && !d->driving) {
			if (d->listen_fd >= 0)
				pf[n++] = (struct pollfd){ d->listen_fd, POLLIN, 0 };
			for (struct lpc_link *l = d->links; l && n < 64;
			     l = l->next)
				if (!l->hung_up && !l->throttled)
					pf[n++] = (struct pollfd){ l->fd, POLLIN,
								   0 };
			if (n && poll(pf, (nfds_t)n, 0) > 0) {
				lpc_dom_unlock(d);
				pthread_mutex_unlock(&lpc_glock);
				hang("domain %s: threads wait, input is pending, "
				     "nobody drives",
				     d->name[0] ? d->name : "(client)");
			}
		}
		lpc_dom_unlock(d);
	}
	pthread_mutex_unlock(&lpc_glock);
}

/* ------------------------------------------------------------------ */
/* Executing a job (on the actor thread: only NT calls)                */
/* ------------------------------------------------------------------ */

static const WCHAR *port_name(int i)
{
	static const WCHAR n0[] = u"\\RPC Control\\seq0";
	static const WCHAR n1[] = u"\\RPC Control\\seq1";

	return i ? n1 : n0;
}

static void init_name(UNICODE_STRING *us, int i)
{
	const WCHAR *w = port_name(i);
	size_t n = 0;

	while (w[n])
		n++;
	us->Buffer = (PWSTR)w;
	us->Length = (USHORT)(n * 2);
	us->MaximumLength = (USHORT)(n * 2 + 2);
}

static LARGE_INTEGER *timeout_of(int t, LARGE_INTEGER *li)
{
	switch (t) {
	case SEQ_T_ZERO:
	case SEQ_T_ZERO2:
		li->QuadPart = 0;
		return li;
	case SEQ_T_1MS:
		li->QuadPart = -10000;
		return li;
	default:
		return NULL;
	}
}

static void exec_job(struct th *th)
{
	struct job *j = &th->job;
	SECURITY_QUALITY_OF_SERVICE qos = { sizeof(qos), SecurityImpersonation,
					    SECURITY_DYNAMIC_TRACKING, FALSE };
	LARGE_INTEGER li, *to;
	OBJECT_ATTRIBUTES oa;
	UNICODE_STRING us;
	HANDLE nul = NULL;

	switch (j->op) {
	case SEQ_CREATE:
		if (j->named) {
			init_name(&us, j->name);
			InitializeObjectAttributes(&oa, &us, 0, NULL, NULL);
		} else {
			InitializeObjectAttributes(&oa, NULL, 0, NULL, NULL);
		}
		j->hout = NULL;
		j->st = j->waitable ? NtCreateWaitablePort(&j->hout, &oa,
							   j->max_info,
							   j->max_msg, 0)
				    : NtCreatePort(&j->hout, &oa, j->max_info,
						   j->max_msg, 0);
		break;
	case SEQ_CONNECT: {
		LARGE_INTEGER size = { .QuadPart = j->view_size };
		ULONG il = j->infolen;

		init_name(&us, j->name);
		j->section = NULL;
		if (j->view) {
			j->st2 = NtCreateSection(&j->section, SECTION_ALL_ACCESS,
						 NULL, &size, PAGE_READWRITE,
						 SEC_COMMIT, NULL);
			memset(&j->cview, 0, sizeof(j->cview));
			j->cview.Length = sizeof(PORT_VIEW);
			j->cview.SectionHandle = j->section;
			j->cview.ViewSize = j->view_size;
		}
		memset(&j->rview, 0, sizeof(j->rview));
		j->rview.Length = sizeof(REMOTE_PORT_VIEW);
		j->hout = SENTINEL;
		j->maxlen = 0xdead;
		j->st = NtConnectPort(&j->hout, &us, &qos,
				      j->view ? &j->cview : NULL,
				      j->sview ? &j->rview : NULL, &j->maxlen,
				      j->info, &il);
		j->infolen = il;
		if (j->section)
			j->st2 = NtClose(j->section);
		break;
	}
	case SEQ_LISTEN:
		memset(&j->out, FILL, sizeof(j->out));
		j->st = NtListenPort(j->h, &j->out.h);
		break;
	case SEQ_RECV:
		memset(&j->out, FILL, sizeof(j->out));
		j->ctx_out = SENTINEL;
		j->st = NtReplyWaitReceivePortEx(j->h, j->noctx ? NULL : &j->ctx_out,
						 j->with_reply ? &j->msg.h : NULL,
						 &j->out.h,
						 timeout_of(j->timeout, &li));
		break;
	case SEQ_ACCEPT: {
		LARGE_INTEGER size = { .QuadPart = (LONGLONG)j->spages * 4096 };

		j->section = NULL;
		if (j->asview) {
			NtCreateSection(&j->section, SECTION_ALL_ACCESS, NULL,
					&size, PAGE_READWRITE, SEC_COMMIT, NULL);
			memset(&j->asv, 0, sizeof(j->asv));
			j->asv.Length = sizeof(PORT_VIEW);
			j->asv.SectionHandle = j->section;
			j->asv.ViewSize = (SIZE_T)size.QuadPart;
		}
		memset(&j->acv, 0, sizeof(j->acv));
		j->acv.Length = sizeof(REMOTE_PORT_VIEW);
		j->hout = SENTINEL;
		j->st = NtAcceptConnectPort(&j->hout, j->ctx, &j->msg.h,
					    (BOOLEAN)j->accept,
					    j->asview ? &j->asv : NULL,
					    j->acview ? &j->acv : NULL);
		if (j->section)
			NtClose(j->section);
		break;
	}
	case SEQ_COMPLETE:
		j->st = NtCompleteConnectPort(j->h);
		break;
	case SEQ_REQUEST:
	case SEQ_CALLBACK:
		memset(&j->out, FILL, sizeof(j->out));
		j->st = NtRequestWaitReplyPort(j->h, &j->msg.h, &j->out.h);
		break;
	case SEQ_DATAGRAM:
		j->st = NtRequestPort(j->h, &j->msg.h);
		break;
	case SEQ_REPLY:
		j->st = NtReplyPort(j->h, &j->msg.h);
		break;
	case SEQ_RWR:
		/* The same buffer takes the answer: only the header and data
		 * announced are written. */
		if (LPC_HDR + LPC_ALIGN4((uint16_t)j->msg.h.u1.s1.DataLength) <
		    sizeof(j->msg))
			memset((uint8_t *)&j->msg + LPC_HDR +
				       LPC_ALIGN4((uint16_t)j->msg.h.u1.s1.DataLength),
			       FILL,
			       sizeof(j->msg) - LPC_HDR -
				       LPC_ALIGN4((uint16_t)j->msg.h.u1.s1
							   .DataLength));
		memcpy(&j->out, &j->msg, sizeof(j->out));
		j->st = NtReplyWaitReplyPort(j->h, &j->out.h);
		break;
	case SEQ_READ:
	case SEQ_WRITE:
		j->done = (SIZE_T)-1;
		if (j->write)
			j->st = NtWriteRequestData(j->h, &j->msg.h, j->index,
						   j->dbuf, j->dlen, &j->done);
		else
			j->st = NtReadRequestData(j->h, &j->msg.h, j->index,
						  j->dbuf, j->dlen, &j->done);
		break;
	case SEQ_IMPERSONATE:
		j->st = NtImpersonateClientOfPort(j->h, &j->msg.h);
		j->st2 = NtSetInformationThread(NtCurrentThread(),
						ThreadImpersonationToken, &nul,
						sizeof(nul));
		j->fsuid_after = (uint32_t)setfsuid((uid_t)-1);
		break;
	case SEQ_REGISTER:
		j->st = NtRegisterThreadTerminatePort(j->h);
		break;
	case SEQ_CLOSE:
		j->st = NtClose(j->h);
		break;
	case SEQ_WAIT:
		to = timeout_of(j->timeout, &li);
		j->st = NtWaitForSingleObject(j->h, FALSE, to);
		break;
	}
}

/* ------------------------------------------------------------------ */
/* Model helpers                                                       */
/* ------------------------------------------------------------------ */

static int actor_of(int t)
{
	return t / 2;
}

static int dom_of(int p)
{
	return M.port[p].kind == PK_SERVER ? M.port[p].P : p;
}

/* Spec 5.10 (c), as the engine reads it (architecture.md): the port the
 * request went through, its connection port, or a server port of the
 * connection port it went to. */
static bool related(int h, int w)
{
	if (h == w)
		return true;
	if (M.port[w].kind == PK_SERVER && h == M.port[w].P)
		return true;
	if (M.port[w].kind == PK_CONN && M.port[h].kind == PK_SERVER &&
	    M.port[h].P == w)
		return true;
	return false;
}

static int new_port(int kind, int owner)
{
	struct mport *p;

	if (M.nport >= MAXPORT)
		return -1;
	p = &M.port[M.nport];
	memset(p, 0, sizeof(*p));
	p->kind = kind;
	p->owner = owner;
	p->conn = -1;
	p->P = -1;
	return M.nport++;
}

static int add_handle(HANDLE v, int port, int owner)
{
	struct mhandle *h;

	if (M.nh >= MAXH)
		return -1;
	h = &M.h[M.nh];
	h->live = true;
	h->v = v;
	h->port = port;
	h->owner = owner;
	M.port[port].handles++;
	if (!M.port[port].first)
		M.port[port].first = v;
	if ((uintptr_t)v > M.max_handle)
		M.max_handle = (uintptr_t)v;
	return M.nh++;
}

static int slot_of(HANDLE v)
{
	for (int i = 0; i < M.nh; i++)
		if (M.h[i].live && M.h[i].v == v)
			return i;
	return -1;
}

static int new_rec(int type)
{
	struct mrec *r;

	if (M.nrec >= MAXREC)
		return -1;
	r = &M.rec[M.nrec];
	memset(r, 0, sizeof(*r));
	r->type = type;
	r->sender = -1;
	r->dest = -1;
	r->conn = -1;
	r->recv_port = -1;
	r->recv_slot = -1;
	r->await_conn = -1;
	r->hole = -1;
	return M.nrec++;
}

static int thread_by_tid(pid_t tid)
{
	for (int i = 0; i < NTH; i++)
		if (M.th[i].alive && M.th[i].tid == tid)
			return i;
	return -1;
}

static bool tid_dead(pid_t tid)
{
	if (thread_by_tid(tid) >= 0)
		return false;
	for (int i = 0; i < M.ndead; i++)
		if (M.dead[i] == tid)
			return true;
	return tid == 0x7ffffff0;
}

static void expect_status(struct th *t, NTSTATUS st)
{
	if (!t->alive || t->opn < 0)
		return;
	if (t->exp_status_must && t->exp_status != st)
		return; /* keep the first */
	t->exp_status = st;
	t->exp_status_must = true;
}

static void port_destroy(int pi);

static void maybe_destroy(int pi)
{
	struct mport *p;

	if (pi < 0)
		return;
	p = &M.port[pi];
	if (p->destroyed || p->handles || p->regs || p->calls)
		return;
	if (p->kind == PK_CONN && p->nserv)
		return;
	port_destroy(pi);
}

/* The last handle of a connection port (spec 8.1): name gone, connects
 * refused, direct requesters get STATUS_LPC_REPLY_LOST, queue discarded. */
static void port_last_handle(int pi)
{
	struct mport *p = &M.port[pi];

	if (p->kind != PK_CONN || p->unnamed)
		return;
	p->unnamed = true;
	for (int c = 0; c < M.nconn; c++) {
		struct mconn *k = &M.conn[c];

		if (k->P == pi && (k->state == CS_PENDING ||
				   k->state == CS_RECEIVED) && !k->has_exp) {
			k->has_exp = true, k->exp = STATUS_PORT_CONNECTION_REFUSED;
			k->state = CS_DONE;
		}
	}
	for (int i = 0; i < NTH; i++) {
		struct th *t = &M.th[i];

		if (t->waiting && t->wdom == pi && t->wport == pi)
			expect_status(t, STATUS_LPC_REPLY_LOST);
	}
}

/* Spec 8.1: a connection going down (either comm port deleted) wakes
 * every thread waiting through it with STATUS_LPC_REPLY_LOST. */
static void link_down_waits(int c)
{
	for (int i = 0; i < NTH; i++) {
		struct th *t = &M.th[i];

		if (t->waiting && t->wremote && t->wconn == c)
			expect_status(t, STATUS_LPC_REPLY_LOST);
	}
}

static void port_destroy(int pi)
{
	struct mport *p = &M.port[pi];
	struct mconn *k = p->conn >= 0 ? &M.conn[p->conn] : NULL;

	p->destroyed = true;
	switch (p->kind) {
	case PK_SERVER:
		k->s_destroyed = true;
		if (k->state == CS_ACCEPTED && !k->has_exp) {
			/* docs/decisions.md Q13 */
			k->has_exp = true, k->exp = STATUS_PORT_CONNECTION_REFUSED;
			k->state = CS_DONE;
		}
		if (k->state == CS_CONNECTED && !k->c_destroyed)
			link_down_waits(p->conn);
		M.port[p->P].nserv--;
		maybe_destroy(p->P);
		break;
	case PK_CLIENT:
		k->c_destroyed = true;
		if (!k->s_destroyed)
			link_down_waits(p->conn);
		if (k->state == CS_CONNECTED && !k->closed_sent) {
			int r = new_rec(R_CLOSED);

			k->closed_sent = true;
			if (r >= 0) {
				M.rec[r].dest = k->P;
				M.rec[r].conn = p->conn;
				M.rec[r].sent = true;
				M.rec[r].dl = 8;
				M.rec[r].tl = sizeof(CLIENT_DIED_MSG);
			}
		}
		break;
	default:
		break;
	}
}

static void release_handle(int slot)
{
	struct mhandle *h = &M.h[slot];
	struct mport *p = &M.port[h->port];

	h->live = false;
	M.last_closed = h->v;
	p->handles--;
	if (p->handles == 0)
		port_last_handle(h->port);
	maybe_destroy(h->port);
}

static void release_call(struct th *th)
{
	if (th->held >= 0) {
		M.port[th->held].calls--;
		maybe_destroy(th->held);
		th->held = -1;
	}
}

/* ------------------------------------------------------------------ */
/* Selecting targets                                                   */
/* ------------------------------------------------------------------ */

static int nlive(void)
{
	int n = 0;

	for (int i = 0; i < M.nh; i++)
		n += M.h[i].live;
	return n;
}

static int live_at(int k)
{
	for (int i = 0; i < M.nh; i++)
		if (M.h[i].live && k-- == 0)
			return i;
	return -1;
}

/* The actor's newest live handle of a kind (0: any). */
static int own_handle(int actor, int kind)
{
	for (int i = M.nh - 1; i >= 0; i--)
		if (M.h[i].live && M.h[i].owner == actor &&
		    (!kind || M.port[M.h[i].port].kind == kind))
			return i;
	return -1;
}

/* Resolve a handle selector: a slot (>= 0), or -1 with *v a value that
 * names no handle of the model (BAD_HANDLE or the last closed one). */
static int pick_handle(uint8_t sel, int def, HANDLE *v)
{
	int n = nlive();

	if (sel == 255 || (sel == 0 && def < 0) || n == 0) {
		*v = BAD_HANDLE;
		return -1;
	}
	if (sel == 254 && M.last_closed && slot_of(M.last_closed) < 0) {
		*v = M.last_closed;
		return -1;
	}
	if (sel == 0) {
		*v = M.h[def].v;
		return def;
	}
	{
		int s = live_at((sel - 1) % n);

		*v = M.h[s].v;
		return s;
	}
}

static int def_send_port(int actor)
{
	int s = own_handle(actor, PK_CLIENT);

	if (s < 0)
		s = own_handle(actor, PK_UNCONN);
	if (s < 0)
		s = own_handle(actor, PK_CONN);
	if (s < 0)
		s = own_handle(actor, 0);
	return s;
}

static int def_recv_port(int actor)
{
	int s = own_handle(actor, PK_CONN);

	if (s < 0)
		s = own_handle(actor, PK_CLIENT);
	if (s < 0)
		s = own_handle(actor, PK_UNCONN);
	if (s < 0)
		s = own_handle(actor, 0);
	return s;
}

static bool rec_replyable(const struct mrec *r)
{
	return r->received && !r->answered &&
	       (r->type == R_REQUEST || r->type == R_CALLBACK);
}

/* Items: received records.  0 = the oldest answerable one whose sender
 * still waits for it (or just the oldest answerable). */
static int pick_item(uint8_t sel, bool (*want)(const struct mrec *))
{
	int n = 0, first = -1;

	for (int i = 0; i < M.nrec; i++)
		n += M.rec[i].received;
	if (!n)
		return -1;
	if (sel == 0) {
		for (int i = 0; i < M.nrec; i++) {
			struct mrec *r = &M.rec[i];

			if (!want(r))
				continue;
			if (first < 0)
				first = i;
			if (r->sender >= 0 && M.th[r->sender].waiting &&
			    M.th[r->sender].wknown &&
			    M.th[r->sender].wmsgid == r->msgid)
				return i;
		}
		return first;
	}
	sel = (uint8_t)((sel - 1) % n);
	for (int i = 0; i < M.nrec; i++)
		if (M.rec[i].received && sel-- == 0)
			return i;
	return -1;
}

static bool want_conn(const struct mrec *r)
{
	return r->received && r->type == R_CONNREQ &&
	       M.conn[r->conn].state == CS_RECEIVED;
}

static bool want_dinfo(const struct mrec *r)
{
	return rec_replyable(r) && r->dinfo_n > 0;
}

static bool want_reply(const struct mrec *r)
{
	return rec_replyable(r);
}

/* ------------------------------------------------------------------ */
/* Predicting a reply's match (spec 7.1)                               */
/* ------------------------------------------------------------------ */

enum { MATCH_UNKNOWN, MATCH_OK, MATCH_FAIL };

/* Target (tid, msgid) through port model hp; *st the failure status. */
static int predict_match(pid_t tid, uint32_t msgid, int hp, bool want_conn_kind,
			 NTSTATUS *st)
{
	int x = thread_by_tid(tid);
	struct th *t;

	*st = STATUS_REPLY_MESSAGE_MISMATCH;
	if (x < 0) {
		if (tid_dead(tid)) {
			*st = STATUS_INVALID_CID;
			return MATCH_FAIL;
		}
		return MATCH_UNKNOWN;
	}
	t = &M.th[x];
	if (want_conn_kind)
		return MATCH_UNKNOWN;
	if (!t->waiting)
		return MATCH_FAIL;
	if (!t->wknown) {
		/* A MessageId we have seen is somebody else's. */
		for (int i = 0; i < M.nrec; i++)
			if (M.rec[i].received && M.rec[i].msgid == msgid &&
			    i != t->wrec)
				return MATCH_FAIL;
		return MATCH_UNKNOWN;
	}
	if (t->wmsgid != msgid)
		return MATCH_FAIL;
	if (!t->west || !t->wplace)
		return MATCH_UNKNOWN;
	if (dom_of(hp) != t->wdom)
		return MATCH_FAIL;
	return related(hp, t->wport) ? MATCH_OK : MATCH_FAIL;
}

/* The spec 3.3 length rules, as the engine computes them. */
static NTSTATUS len_rule1(uint16_t dl, uint16_t tl)
{
	uint64_t d = lpc_len((CSHORT)dl), t = lpc_len((CSHORT)tl);

	return d + LPC_HDR > t ? STATUS_INVALID_PARAMETER : 0;
}

static NTSTATUS len_rule4(uint16_t dl, uint16_t tl, uint32_t max)
{
	uint64_t d = lpc_len((CSHORT)dl), t = lpc_len((CSHORT)tl);

	return t > max || t <= d ? STATUS_PORT_MESSAGE_TOO_LONG : 0;
}

/* ------------------------------------------------------------------ */
/* Building messages                                                   */
/* ------------------------------------------------------------------ */

static uint16_t fit_len(uint16_t len, uint32_t max)
{
	uint32_t room = max > LPC_HDR ? max - LPC_HDR : 0;

	if (room > DATA_MAX)
		room = DATA_MAX;
	return (uint16_t)(len % (room + 1));
}

/* Lengths for a message through a port of maximum max. */
static void set_lengths(msgbuf *m, const struct seq_op *o, uint32_t max,
			uint16_t min)
{
	uint16_t dl, tl;

	if (o->flags & SEQ_F_RAW) {
		dl = o->len;
		tl = seq_raw_total(o->c, dl);
	} else {
		dl = fit_len(o->len, max);
		if (dl < min && min + LPC_HDR <= max)
			dl = min;
		tl = (uint16_t)(LPC_HDR + dl);
	}
	m->h.u1.s1.DataLength = (CSHORT)dl;
	m->h.u1.s1.TotalLength = (CSHORT)tl;
}

static uint16_t msg_dl(const msgbuf *m)
{
	return (uint16_t)m->h.u1.s1.DataLength;
}

static uint16_t msg_tl(const msgbuf *m)
{
	return (uint16_t)m->h.u1.s1.TotalLength;
}

static uint32_t port_max(int slot)
{
	return slot >= 0 ? M.port[M.h[slot].port].max_msg : 0x288;
}

/* ------------------------------------------------------------------ */
/* Checking a received message                                         */
/* ------------------------------------------------------------------ */

/* Nothing past header + ALIGN4(DataLength) was written (spec 13). */
static void check_tail(const msgbuf *m, const char *what, size_t from)
{
	if (from < LPC_HDR + LPC_ALIGN4(msg_dl(m)))
		from = LPC_HDR + LPC_ALIGN4(msg_dl(m));
	const uint8_t *b = (const uint8_t *)m;

	if (msg_dl(m) > DATA_MAX)
		return;
	for (size_t i = from; i < sizeof(*m); i++)
		CHECK(b[i] == FILL, "%s: byte %zu past the message written",
		      what, i);
}

static bool cid_is(const PORT_MESSAGE *h, pid_t tid)
{
	return (uintptr_t)h->ClientId.UniqueProcess == (uintptr_t)my_pid &&
	       (uintptr_t)h->ClientId.UniqueThread == (uintptr_t)tid;
}

static void *conn_ctx(int c)
{
	return c >= 0 ? M.conn[c].ctx : NULL;
}

/* Spec 4.4: every new message (request, datagram, connection request,
 * notice) draws a new MessageId. */
static void check_fresh_id(uint32_t id, int self)
{
	for (int i = 0; i < M.nrec; i++) {
		const struct mrec *o = &M.rec[i];

		if (i == self || !o->received || o->msgid != id)
			continue;
		CHECK(o->type != R_REQUEST && o->type != R_DATAGRAM &&
			      o->type != R_CONNREQ && o->type != R_DIED &&
			      o->type != R_CLOSED,
		      "MessageId %u given to two new messages", (unsigned)id);
	}
}

/* A message received through handle slot hs by thread th. */
static void got_message(struct th *th, int hs, const msgbuf *m, PVOID ctx,
			bool have_ctx)
{
	const PORT_MESSAGE *h = &m->h;
	int type = LPC_TYPE(h->u2.s2.Type);
	int hp = hs >= 0 ? M.h[hs].port : th->held;
	int dom = hp >= 0 ? dom_of(hp) : -1;
	uint16_t dl = msg_dl(m), tl = msg_tl(m);
	uint32_t ck = data_cookie(m->d, dl);
	int found = -1;

	if (ck == KICK_COOKIE)
		return;
	CHECK((uint16_t)h->u2.s2.Type == type, "receive: Type 0x%x has flags",
	      (unsigned)(uint16_t)h->u2.s2.Type);
	CHECK(h->MessageId != 0, "receive: MessageId 0");
	check_tail(m, "receive", 0);
	switch (type) {
	case LPC_CONNECTION_REQUEST: {
		pid_t tid = (pid_t)(uintptr_t)h->ClientId.UniqueThread;

		/* The oldest request of this thread still queued: one
		 * answered by a guessed MessageId before anyone received it
		 * is still delivered (docs/decisions.md; regression
		 * accepted-connect-request-still-queued). */
		for (int c = 0; c < M.nconn && found < 0; c++)
			if (M.conn[c].ctid == tid && dom_of(M.conn[c].P) == dom &&
			    (M.conn[c].state == CS_PENDING ||
			     connreq_queued(c)))
				found = c;
		CHECK(found >= 0, "connection request from tid %d nobody sent "
		      "(or twice)", (int)tid);
		{
			struct mconn *k = &M.conn[found];
			struct mrec *r = NULL;

			CHECK(cid_is(h, k->ctid), "connection request ClientId");
			CHECK(dl == k->infolen && tl == LPC_HDR + dl,
			      "connection request lengths %u/%u, want %u/%u",
			      dl, tl, k->infolen, (unsigned)(LPC_HDR + k->infolen));
			CHECK(h->ClientViewSize == k->view_size,
			      "ClientViewSize %zu, want %zu",
			      (size_t)h->ClientViewSize, k->view_size);
			CHECK(data_ok(m->d, dl >= 8 ? 8 : dl, dl, k->cookie),
			      "connection information corrupted");
			CHECK(!have_ctx || ctx == NULL,
			      "PortContext %p for a connection request", ctx);
			if (k->state == CS_PENDING) {
				k->state = CS_RECEIVED;
				k->msgid = h->MessageId;
				k->msgid_known = true;
			}
			for (int i = 0; i < M.nrec; i++)
				if (M.rec[i].type == R_CONNREQ &&
				    M.rec[i].conn == found && !M.rec[i].received)
					r = &M.rec[i];
			CHECK(r, "no record of the connection request");
			check_fresh_id(h->MessageId, (int)(r - M.rec));
			r->received = true;
			r->msgid = h->MessageId;
			r->recv_port = hp;
			r->recv_slot = hs;
		}
		return;
	}
	case LPC_REQUEST:
	case LPC_DATAGRAM: {
		int want = type == LPC_REQUEST ? R_REQUEST : R_DATAGRAM;
		pid_t tid = (pid_t)(uintptr_t)h->ClientId.UniqueThread;
		struct mrec *r;

		for (int i = 0; i < M.nrec; i++) {
			r = &M.rec[i];
			if (r->type != want || !r->sent || r->received ||
			    r->stid != tid)
				continue;
			if (ck ? r->cookie == ck
			       : (!r->cookie && r->dl == dl && r->tl == tl &&
				  r->dest >= 0 && dom_of(r->dest) == dom)) {
				found = i;
				break;
			}
		}
		CHECK(found >= 0,
		      "%s (cookie %08x, tid %d, len %u) nobody sent, or "
		      "received twice",
		      type == LPC_REQUEST ? "request" : "datagram", ck,
		      (int)tid, dl);
		r = &M.rec[found];
		CHECK(cid_is(h, r->stid), "ClientId is not the sender");
		CHECK(dl == r->dl && tl == r->tl,
		      "lengths %u/%u, sent %u/%u", dl, tl, r->dl, r->tl);
		CHECK(dom_of(r->dest) == dom,
		      "message for another queue received here");
		CHECK(h->CallbackId == 0, "CallbackId %u on a new message",
		      (unsigned)h->CallbackId);
		CHECK((uint16_t)h->u2.s2.DataInfoOffset ==
			      (type == LPC_REQUEST ? r->dioff : 0),
		      "DataInfoOffset %u, sent %u",
		      (unsigned)(uint16_t)h->u2.s2.DataInfoOffset, r->dioff);
		if (ck)
			CHECK(data_ok_hole(m->d, r->dinfo_n ? 8u + 8 + 16u * (unsigned)r->dinfo_n
							    : 8,
					   dl, ck, r->hole),
			      "message data corrupted (cookie %08x)", ck);
		if (have_ctx)
			CHECK(ctx == (r->via_client ? conn_ctx(r->conn) : NULL),
			      "PortContext %p, want %p", ctx,
			      r->via_client ? conn_ctx(r->conn) : NULL);
		/* Spec 7.4: one sender's messages arrive in order. */
		for (int i = 0; i < found; i++) {
			struct mrec *o = &M.rec[i];

			CHECK(!(o->sent && !o->received && o->stid == r->stid &&
				dom_of(o->dest) == dom &&
				(o->type == R_REQUEST || o->type == R_DATAGRAM) &&
				o->conn == r->conn),
			      "message overtook an earlier one of its sender");
		}
		check_fresh_id(h->MessageId, found);
		r->received = true;
		r->msgid = h->MessageId;
		r->recv_port = hp;
		r->recv_slot = hs;
		if (type == LPC_REQUEST && r->sender >= 0) {
			struct th *x = &M.th[r->sender];

			if (x->waiting && x->wrec == found) {
				x->wmsgid = h->MessageId;
				x->wknown = true;
				x->west = true;
			}
		}
		return;
	}
	case LPC_CLIENT_DIED:
	case LPC_PORT_CLOSED: {
		int want = type == LPC_CLIENT_DIED ? R_DIED : R_CLOSED;
		pid_t tid = (pid_t)(uintptr_t)h->ClientId.UniqueThread;

		CHECK(dl == 8 && tl == sizeof(CLIENT_DIED_MSG),
		      "notice lengths %u/%u", dl, tl);
		CHECK((uintptr_t)h->ClientId.UniqueProcess == (uintptr_t)my_pid,
		      "notice pid");
		for (int i = 0; i < M.nrec && found < 0; i++) {
			struct mrec *r = &M.rec[i];

			if (r->type == want && r->sent && !r->received &&
			    r->dest >= 0 && dom_of(r->dest) == dom &&
			    (want == R_CLOSED || r->stid == tid) &&
			    (!have_ctx || ctx == conn_ctx(r->conn)))
				found = i;
		}
		/* A receive that did not ask for the PortContext took
		 * one of two notices the model cannot tell apart; if it
		 * was this one, it was the other (regression
		 * died-twice-context-asked-once). */
		for (int i = 0; i < M.nrec && found < 0 && have_ctx; i++) {
			struct mrec *r = &M.rec[i];

			if (r->type != want || !r->received || !r->ambig ||
			    r->dest < 0 || dom_of(r->dest) != dom ||
			    (want == R_DIED && r->stid != tid) ||
			    ctx != conn_ctx(r->conn))
				continue;
			for (int k = 0; k < M.nrec; k++) {
				struct mrec *o = &M.rec[k];

				if (o->type != want || !o->sent || o->received ||
				    o->dest < 0 || dom_of(o->dest) != dom ||
				    (want == R_DIED && o->stid != tid))
					continue;
				o->received = true;
				o->ambig = true;
				o->msgid = r->msgid;
				r->received = false;
				found = i;
				break;
			}
		}
		CHECK(found >= 0, "%s (tid %d, ctx %p) not expected here: "
		      "duplicated or never sent",
		      type == LPC_CLIENT_DIED ? "LPC_CLIENT_DIED"
					      : "LPC_PORT_CLOSED",
		      (int)tid, ctx);
		check_fresh_id(h->MessageId, found);
		M.rec[found].received = true;
		M.rec[found].ambig = !have_ctx;
		M.rec[found].msgid = h->MessageId;
		return;
	}
	default:
		CHECK(0, "received message of type %d", type);
	}
}

/* ------------------------------------------------------------------ */
/* Op planning (scheduler side)                                        */
/* ------------------------------------------------------------------ */

static void predict(struct th *th, NTSTATUS st)
{
	th->pred_exact = true;
	th->pred = st;
	th->pred_block = false;
}

static void predict_block(struct th *th)
{
	th->pred_exact = false;
	th->pred_block = true;
}

/* The target of a reply-like op: mode applied to item r. */
static void target_of(struct th *th, const struct mrec *r, int mode,
		      pid_t *tid, uint32_t *msgid)
{
	*tid = r ? r->stid : th->tid;
	*msgid = r ? r->msgid : 1;
	switch (mode % SEQ_NMODES) {
	case SEQ_M_WRONGID:
		*msgid += 1;
		break;
	case SEQ_M_WRONGCID: {
		for (int k = 1; k < NTH; k++) {
			int x = (th->idx + k) % NTH;

			if (M.th[x].alive && M.th[x].tid != *tid) {
				*tid = M.th[x].tid;
				break;
			}
		}
		break;
	}
	case SEQ_M_DEADCID:
		*tid = M.ndead ? M.dead[M.ndead - 1] : 0x7ffffff0;
		break;
	case SEQ_M_ZEROID:
		*msgid = 0;
		break;
	case SEQ_M_DGRAMID:
		for (int i = M.nrec - 1; i >= 0; i--)
			if (M.rec[i].received && (M.rec[i].type == R_DATAGRAM ||
						  M.rec[i].type == R_DIED)) {
				*tid = M.rec[i].stid ? M.rec[i].stid : *tid;
				*msgid = M.rec[i].msgid;
				break;
			}
		break;
	case SEQ_M_SELF:
		*tid = th->tid;
		break;
	case SEQ_M_CONNCID:
		for (int c = M.nconn - 1; c >= 0; c--)
			if (M.conn[c].msgid_known &&
			    M.th[M.conn[c].cth].alive) {
				*tid = M.conn[c].ctid;
				*msgid = M.conn[c].msgid;
				break;
			}
		break;
	}
}

static void set_cid(PORT_MESSAGE *h, pid_t tid)
{
	h->ClientId.UniqueProcess = (HANDLE)(uintptr_t)my_pid;
	h->ClientId.UniqueThread = (HANDLE)(uintptr_t)tid;
}

/* The default port for answering item r: where it was received. */
static int def_answer_port(const struct mrec *r, int actor)
{
	if (r && r->recv_slot >= 0 && M.h[r->recv_slot].live)
		return r->recv_slot;
	if (r && r->conn >= 0) {
		struct mconn *k = &M.conn[r->conn];
		int want = r->via_client ? k->S : k->C;

		for (int i = M.nh - 1; i >= 0; i--)
			if (M.h[i].live && M.h[i].port == want)
				return i;
	}
	return def_recv_port(actor);
}

/* Reply-like message: header and data; returns the prediction. */
static int plan_answer(struct th *th, const struct seq_op *o, int *item,
		       int *hslot, HANDLE *hv, pid_t *tid, uint32_t *msgid,
		       NTSTATUS *fail, bool callback, int force)
{
	struct job *j = &th->job;
	struct mrec *r;
	uint32_t cookie = new_cookie();
	int m, hp;
	NTSTATUS st;

	*item = pick_item(o->b, want_reply);
	r = *item >= 0 ? &M.rec[*item] : NULL;
	if (force == -2)
		*hslot = pick_handle(o->a, def_answer_port(r, actor_of(th->idx)),
				     hv);
	else
		*hslot = force;
	target_of(th, r, o->d, tid, msgid);
	memset(&j->msg, 0, sizeof(j->msg));
	set_lengths(&j->msg, o, port_max(*hslot), 8);
	fill_data(j->msg.d, msg_dl(&j->msg), sizeof(j->msg.d), cookie,
		  r ? r->cookie : 0);
	j->msg.h.u2.s2.Type = callback ? LPC_REQUEST : LPC_REPLY;
	set_cid(&j->msg.h, *tid);
	j->msg.h.MessageId = *msgid;
	th->rep_rec = -1;
	{
		int k = new_rec(callback ? R_CALLBACK : R_REQUEST);

		if (k >= 0) {
			M.rec[k].type = callback ? R_CALLBACK : 0;
			M.rec[k].cookie = data_cookie(j->msg.d, msg_dl(&j->msg));
			M.rec[k].sender = th->idx;
			M.rec[k].stid = th->tid;
			M.rec[k].dl = msg_dl(&j->msg);
			M.rec[k].tl = msg_tl(&j->msg);
			M.rec[k].msgid = *msgid;
			th->rep_rec = k;
		}
	}
	th->rep_target = thread_by_tid(*tid);
	/* Spec 3.3 order: lengths, MessageId, handle, maximum, match. */
	if ((st = len_rule1(msg_dl(&j->msg), msg_tl(&j->msg)))) {
		*fail = st;
		return MATCH_FAIL;
	}
	if (*msgid == 0) {
		*fail = STATUS_INVALID_PARAMETER;
		return MATCH_FAIL;
	}
	if (*hslot < 0) {
		*fail = STATUS_INVALID_HANDLE;
		return MATCH_FAIL;
	}
	hp = M.h[*hslot].port;
	if ((st = len_rule4(msg_dl(&j->msg), msg_tl(&j->msg),
			    M.port[hp].max_msg))) {
		*fail = st;
		return MATCH_FAIL;
	}
	m = predict_match(*tid, *msgid, hp, false, fail);
	return m;
}

/* Returns false to skip the op. */
static bool plan(struct th *th, const struct seq_op *o)
{
	struct job *j = &th->job;
	int actor = actor_of(th->idx);
	int hs, item, m;
	HANDLE hv;
	pid_t tid;
	uint32_t msgid;
	NTSTATUS fail;

	memset(&j->msg.h, 0, sizeof(j->msg.h));
	j->op = o->op;
	th->pred_exact = false;
	th->pred_block = false;
	th->timed = false;
	th->rep_target = -1;
	th->rep_rec = -1;
	th->item = -1;
	th->conn = -1;
	th->held = -1;
	switch (o->op) {
	case SEQ_CREATE: {
		bool taken = false;

		j->named = o->flags & SEQ_F_NAMED;
		j->waitable = o->flags & SEQ_F_WAITABLE;
		j->name = o->b & 1;
		j->max_msg = o->len == 0 ? 0x100
			     : (o->flags & SEQ_F_RAWMAX) ? o->len
							 : o->len % 0x289;
		j->max_info = o->c * 4u;
		for (int i = 0; i < M.nport; i++)
			if (M.port[i].kind == PK_CONN && !M.port[i].unnamed &&
			    M.port[i].name == j->name)
				taken = true;
		if (j->max_msg > LPC_MAX_MESSAGE_LENGTH)
			predict(th, STATUS_INVALID_PARAMETER_4);
		else if (j->max_info > LPC_MAX_DATA_LENGTH)
			predict(th, STATUS_INVALID_PARAMETER_3);
		else if (j->named && taken)
			predict(th, STATUS_OBJECT_NAME_COLLISION);
		else
			predict(th, STATUS_SUCCESS);
		return true;
	}
	case SEQ_CONNECT: {
		int P = -1;

		j->name = o->b & 1;
		j->view = o->flags & SEQ_F_VIEW;
		j->sview = o->flags & SEQ_F_SVIEW;
		j->view_size = (uint32_t)((o->c % 4) + 1) * 4096;
		j->infolen = o->len % 600;
		th->item = (int)new_cookie();
		fill_data(j->info, j->infolen, sizeof(j->info),
			  (uint32_t)th->item, 0);
		for (int i = 0; i < M.nport; i++)
			if (M.port[i].kind == PK_CONN && !M.port[i].unnamed &&
			    M.port[i].name == j->name)
				P = i;
		th->conn = P; /* the port, until it blocks */
		if (P < 0)
			predict(th, STATUS_OBJECT_NAME_NOT_FOUND);
		else
			predict_block(th);
		return true;
	}
	case SEQ_LISTEN:
	case SEQ_RECV:
	case SEQ_WAIT:
		hs = pick_handle(o->a, def_recv_port(actor), &hv);
		j->h = hv;
		j->timeout = o->op == SEQ_LISTEN ? SEQ_T_INF : o->c % 4;
		j->noctx = o->flags & SEQ_F_NOCTX;
		j->with_reply = o->op == SEQ_RECV && (o->flags & SEQ_F_WITHREPLY);
		th->timed = j->timeout != SEQ_T_INF;
		th->item = hs; /* the slot received through */
		if (hs >= 0) {
			th->held = M.h[hs].port;
			M.port[th->held].calls++;
		}
		if (o->op == SEQ_WAIT) {
			if (hs < 0)
				predict(th, STATUS_INVALID_HANDLE);
			else if (!M.port[M.h[hs].port].waitable)
				predict(th, STATUS_OBJECT_TYPE_MISMATCH);
			return true;
		}
		if (j->with_reply) {
			int rs;
			HANDLE rv;
			struct seq_op q = *o;

			/* The reply goes through the receive handle. */
			q.a = o->a;
			q.flags = 0;
			rv = hv;
			m = plan_answer(th, &q, &item, &rs, &rv, &tid, &msgid,
					&fail, false, hs);
			j->h = hv;
			if (m == MATCH_FAIL)
				predict(th, fail);
			th->item = hs;
			th->pred_block = false;
			if (m == MATCH_OK && th->rep_target >= 0) {
				struct th *x = &M.th[th->rep_target];

				x->exp_cookie = M.rec[th->rep_rec].cookie;
				x->exp_rec = th->rep_rec;
				x->exp_must = true;
			} else if (m == MATCH_UNKNOWN && th->rep_target >= 0) {
				M.th[th->rep_target].exp_cookie =
					M.rec[th->rep_rec].cookie;
				M.th[th->rep_target].exp_rec = th->rep_rec;
			}
			th->conn = item;
			if (m == MATCH_OK && item >= 0 &&
			    M.rec[item].msgid == msgid && M.rec[item].stid == tid)
				M.rec[item].answered = true;
		} else if (hs < 0) {
			predict(th, STATUS_INVALID_HANDLE);
		}
		j->listen = o->op == SEQ_LISTEN;
		return true;
	case SEQ_ACCEPT: {
		struct mrec *r;
		struct mconn *k = NULL;
		uint32_t cookie = new_cookie();

		item = pick_item(o->b, want_conn);
		r = item >= 0 ? &M.rec[item] : NULL;
		if (r && r->type != R_CONNREQ && o->b == 0)
			r = NULL;
		th->item = item;
		j->accept = !(o->flags & SEQ_F_REJECT);
		j->ctx = (o->flags & SEQ_F_CTX) ? (void *)(uintptr_t)(0x10000 + cookie % 0x1000)
					       : NULL;
		j->asview = o->flags & SEQ_F_ACC_SVIEW;
		j->acview = o->flags & SEQ_F_CVIEW;
		j->spages = (uint32_t)(o->c % 4) + 1;
		memset(&j->msg, 0, sizeof(j->msg));
		target_of(th, r, o->d, &tid, &msgid);
		if (r && r->type == R_CONNREQ) {
			k = &M.conn[r->conn];
			j->msg.h.u1.s1.TotalLength = (CSHORT)(LPC_HDR + k->infolen);
			j->msg.h.u2.s2.Type = LPC_CONNECTION_REQUEST;
		}
		{
			uint16_t il = (uint16_t)(o->len % 600);

			j->msg.h.u1.s1.DataLength = (CSHORT)il;
			fill_data(j->msg.d, il, sizeof(j->msg.d), cookie, 0);
		}
		set_cid(&j->msg.h, tid);
		j->msg.h.MessageId = msgid;
		/* Which connection does (tid, msgid) name? */
		th->conn = -1;
		for (int c = 0; c < M.nconn; c++)
			if (M.conn[c].ctid == tid && M.conn[c].msgid_known &&
			    M.conn[c].msgid == msgid &&
			    thread_by_tid(tid) == M.conn[c].cth)
				th->conn = c;
		th->rep_rec = (int)cookie;
		{
			int x = thread_by_tid(tid);

			/* A request read but not yet received may be it. */
			if (th->conn < 0 && x >= 0)
				for (int c = 0; c < M.nconn; c++)
					if (M.conn[c].cth == x &&
					    M.conn[c].state == CS_PENDING &&
					    !M.conn[c].msgid_known)
						th->conn = c;

			if (x < 0 && tid_dead(tid))
				predict(th, STATUS_INVALID_CID);
			else if (x < 0)
				;
			else if (th->conn >= 0 &&
				 M.conn[th->conn].state == CS_RECEIVED &&
				 M.th[x].opk == SEQ_CONNECT && M.th[x].opn >= 0)
				predict(th, STATUS_SUCCESS);
			else if (th->conn >= 0 && M.conn[th->conn].state == CS_PENDING)
				;
			else if (!(M.th[x].opn >= 0 && M.th[x].opk == SEQ_CONNECT &&
				   M.th[x].blocked) || th->conn >= 0)
				predict(th, STATUS_REPLY_MESSAGE_MISMATCH);
			else {
				/* thread in connect, id not its own */
				bool mine = false;

				for (int c = 0; c < M.nconn; c++)
					if (M.conn[c].cth == x &&
					    M.conn[c].msgid_known &&
					    M.conn[c].state != CS_DONE &&
					    M.conn[c].msgid != msgid)
						mine = true;
				if (mine)
					predict(th, STATUS_REPLY_MESSAGE_MISMATCH);
			}
		}
		return true;
	}
	case SEQ_COMPLETE: {
		int def = -1;

		for (int i = M.nh - 1; i >= 0 && def < 0; i--)
			if (M.h[i].live && M.port[M.h[i].port].kind == PK_SERVER &&
			    !M.conn[M.port[M.h[i].port].conn].completed)
				def = i;
		hs = pick_handle(o->a, def, &hv);
		j->h = hv;
		th->item = hs;
		if (hs < 0)
			predict(th, STATUS_INVALID_HANDLE);
		else if (M.port[M.h[hs].port].kind != PK_SERVER)
			predict(th, STATUS_INVALID_PORT_HANDLE);
		else if (M.conn[M.port[M.h[hs].port].conn].completed)
			predict(th, STATUS_INVALID_PARAMETER);
		else
			predict(th, STATUS_SUCCESS);
		return true;
	}
	case SEQ_REQUEST:
	case SEQ_DATAGRAM: {
		bool dinfo = o->op == SEQ_REQUEST && (o->flags & SEQ_F_DINFO);
		int n = dinfo ? (o->c % 2) + 1 : 0, hole = -1;
		uint32_t cookie = new_cookie();
		uint16_t need = (uint16_t)(dinfo ? 16 + 16 * n : 0);
		int k, hp = -1, dest = -1, conn = -1;
		NTSTATUS st;

		hs = pick_handle(o->a, def_send_port(actor), &hv);
		j->h = hv;
		memset(&j->msg, 0, sizeof(j->msg));
		set_lengths(&j->msg, o, port_max(hs), need);
		fill_data(j->msg.d, msg_dl(&j->msg), sizeof(j->msg.d), cookie, 0);
		if (o->flags & SEQ_F_RAW && o->op == SEQ_DATAGRAM && o->d)
			j->msg.h.u2.s2.DataInfoOffset = (CSHORT)o->d;
		if (dinfo && msg_dl(&j->msg) >= need && !(o->flags & SEQ_F_RAW)) {
			uint32_t cnt = (uint32_t)n;

			j->msg.h.u2.s2.DataInfoOffset = (CSHORT)(LPC_HDR + 8);
			memset(j->msg.d + 8, 0, 8);
			memcpy(j->msg.d + 8, &cnt, 4);
			for (int e = 0; e < n; e++) {
				PORT_DATA_ENTRY de = { th->dbuf[e], DBUF };

				memcpy(j->msg.d + 16 + 16 * e, &de, sizeof(de));
				for (int b = 0; b < DBUF; b++)
					th->dbuf[e][b] = th->shadow[e][b] =
						pat(cookie ^ 0x5a5a, (size_t)(b + e));
			}
		} else {
			n = 0;
			if (dinfo && (o->flags & SEQ_F_RAW)) {
				/* A raw offset: where it lands, the data's
				 * pattern is the count.  One the engine would
				 * take is made 0, so that no entry points
				 * anywhere (the model cannot know where);
				 * the offset itself is still checked and
				 * delivered (regression
				 * raw-datainfo-offset-delivered). */
				int c;

				j->msg.h.u2.s2.DataInfoOffset = (CSHORT)o->d;
				c = lpc_msg_datainfo(&j->msg,
						     lpc_msg_copy_len(&j->msg.h));
				if (c > 0) {
					memset((uint8_t *)&j->msg + o->d, 0, 4);
					hole = o->d - LPC_HDR;
				}
			}
		}
		if (o->flags & SEQ_F_NOIMP)
			j->msg.h.u2.s2.Type = LPC_NO_IMPERSONATE;
		k = new_rec(o->op == SEQ_REQUEST ? R_REQUEST : R_DATAGRAM);
		th->rep_rec = k;
		if (k >= 0) {
			struct mrec *r = &M.rec[k];

			r->cookie = data_cookie(j->msg.d, msg_dl(&j->msg));
			r->sender = th->idx;
			r->stid = th->tid;
			r->dl = msg_dl(&j->msg);
			r->tl = msg_tl(&j->msg);
			r->dioff = o->op == SEQ_REQUEST
					   ? (uint16_t)j->msg.h.u2.s2.DataInfoOffset
					   : 0;
			r->dinfo_n = n;
			r->hole = hole;
		}
		if (hs >= 0) {
			hp = M.h[hs].port;
			th->held = hp;
			M.port[hp].calls++;
			switch (M.port[hp].kind) {
			case PK_CLIENT:
				conn = M.port[hp].conn;
				dest = M.conn[conn].P;
				break;
			case PK_SERVER:
				conn = M.port[hp].conn;
				dest = M.conn[conn].C;
				break;
			default:
				dest = hp;
			}
			if (k >= 0) {
				M.rec[k].dest = dest;
				M.rec[k].conn = conn;
				M.rec[k].via_client = M.port[hp].kind == PK_CLIENT;
			}
		}
		/* Immediate outcomes, in the engine's order (spec 3.3, 5.8,
		 * 5.9); unknown when the raw flags make data info odd. */
		if (o->op == SEQ_DATAGRAM && j->msg.h.u2.s2.DataInfoOffset) {
			predict(th, STATUS_INVALID_PARAMETER);
		} else if ((st = len_rule1(msg_dl(&j->msg), msg_tl(&j->msg)))) {
			predict(th, st);
		} else if ((o->flags & SEQ_F_RAW) &&
			   j->msg.h.u2.s2.DataInfoOffset) {
			/* data-info validation: not predicted */
		} else if (hs < 0) {
			predict(th, STATUS_INVALID_HANDLE);
		} else if ((st = len_rule4(msg_dl(&j->msg), msg_tl(&j->msg),
					   M.port[hp].max_msg))) {
			predict(th, st);
		} else {
			struct mport *p = &M.port[hp];
			bool down = false;

			if (p->kind == PK_CLIENT || p->kind == PK_SERVER) {
				struct mconn *c = &M.conn[p->conn];

				down = c->s_destroyed || c->c_destroyed ||
				       c->state != CS_CONNECTED ||
				       (p->kind == PK_SERVER && !c->completed);
			} else if (p->kind == PK_CONN) {
				down = p->unnamed;
			}
			if (down)
				predict(th, STATUS_PORT_DISCONNECTED);
			else if (o->op == SEQ_DATAGRAM)
				predict(th, STATUS_SUCCESS);
			else
				predict_block(th);
		}
		return true;
	}
	case SEQ_REPLY:
	case SEQ_RWR:
	case SEQ_CALLBACK:
		m = plan_answer(th, o, &item, &hs, &hv, &tid, &msgid, &fail,
				o->op == SEQ_CALLBACK, -2);
		j->h = hv;
		th->item = item;
		if (hs >= 0) {
			th->held = M.h[hs].port;
			M.port[th->held].calls++;
		}
		if (m == MATCH_FAIL)
			predict(th, fail);
		else if (m == MATCH_OK && o->op == SEQ_REPLY)
			predict(th, STATUS_SUCCESS);
		else if (m == MATCH_OK)
			predict_block(th);
		if (th->rep_target >= 0 && m != MATCH_FAIL) {
			struct th *x = &M.th[th->rep_target];

			x->exp_cookie = M.rec[th->rep_rec].cookie;
			x->exp_rec = th->rep_rec;
			x->exp_must = m == MATCH_OK;
		}
		return true;
	case SEQ_READ:
	case SEQ_WRITE: {
		struct mrec *r;
		uint32_t cookie = new_cookie();
		int hp;

		item = pick_item(o->b, want_dinfo);
		r = item >= 0 ? &M.rec[item] : NULL;
		th->item = item;
		hs = pick_handle(o->a, def_answer_port(r, actor), &hv);
		j->h = hv;
		target_of(th, r, o->d, &tid, &msgid);
		memset(&j->msg, 0, sizeof(j->msg));
		set_cid(&j->msg.h, tid);
		j->msg.h.MessageId = msgid;
		if (r && !(o->flags & SEQ_F_NODINFO))
			j->msg.h.u2.s2.DataInfoOffset =
				(CSHORT)(r->dioff ? r->dioff : LPC_HDR + 8);
		j->msg.h.u1.s1.DataLength = (CSHORT)(r ? r->dl : 0);
		j->msg.h.u1.s1.TotalLength = (CSHORT)(r ? r->tl : LPC_HDR);
		j->index = o->c % 3;
		j->dlen = o->len % 300;
		j->write = o->op == SEQ_WRITE;
		for (size_t b = 0; b < sizeof(j->dbuf); b++)
			j->dbuf[b] = j->write ? pat(cookie, b) : FILL;
		th->rep_rec = (int)cookie;
		if (!j->msg.h.u2.s2.DataInfoOffset) {
			predict(th, STATUS_INVALID_PARAMETER);
			return true;
		}
		if (hs < 0) {
			predict(th, STATUS_INVALID_HANDLE);
			return true;
		}
		hp = M.h[hs].port;
		m = predict_match(tid, msgid, hp, false, &fail);
		th->rep_target = thread_by_tid(tid);
		if (m == MATCH_FAIL) {
			predict(th, fail);
		} else if (m == MATCH_OK) {
			struct th *x = &M.th[thread_by_tid(tid)];

			if (x->wkind != R_REQUEST)
				;
			else if (!x->wdinfo || j->index >=
						       (ULONG)M.rec[x->wrec].dinfo_n ||
				 j->dlen > DBUF)
				predict(th, STATUS_INVALID_PARAMETER);
			else
				predict(th, STATUS_SUCCESS);
		}
		return true;
	}
	case SEQ_IMPERSONATE: {
		struct mrec *r;
		int hp;

		item = pick_item(o->b, want_reply);
		r = item >= 0 ? &M.rec[item] : NULL;
		th->item = item;
		hs = pick_handle(o->a, def_answer_port(r, actor), &hv);
		j->h = hv;
		target_of(th, r, o->d, &tid, &msgid);
		memset(&j->msg, 0, sizeof(j->msg));
		set_cid(&j->msg.h, tid);
		j->msg.h.MessageId = msgid;
		if (hs < 0) {
			predict(th, STATUS_INVALID_HANDLE);
			return true;
		}
		hp = M.h[hs].port;
		if (M.port[hp].kind != PK_SERVER) {
			predict(th, STATUS_INVALID_PORT_HANDLE);
			return true;
		}
		m = predict_match(tid, msgid, hp, false, &fail);
		th->rep_target = thread_by_tid(tid);
		if (m == MATCH_FAIL && thread_by_tid(tid) >= 0 &&
		    M.th[thread_by_tid(tid)].waiting &&
		    M.th[thread_by_tid(tid)].west &&
		    M.th[thread_by_tid(tid)].wdom == dom_of(hp)) {
			/* a waiter exists: the no-impersonation flag and the
			 * link come first (spec 5.14) -- not predicted */
		} else if (m == MATCH_FAIL) {
			predict(th, fail);
		} else if (m == MATCH_OK) {
			struct th *x = &M.th[thread_by_tid(tid)];

			th->rep_target = thread_by_tid(tid);
			if (x->wnoimp)
				predict(th, STATUS_ACCESS_DENIED);
		}
		return true;
	}
	case SEQ_REGISTER: {
		int def = own_handle(actor, PK_CLIENT);

		if (def < 0)
			def = own_handle(actor, 0);
		hs = pick_handle(o->a, def, &hv);
		j->h = hv;
		th->item = hs;
		predict(th, hs < 0 ? STATUS_INVALID_HANDLE : STATUS_SUCCESS);
		return true;
	}
	case SEQ_CLOSE:
		hs = pick_handle(o->a, own_handle(actor, 0), &hv);
		j->h = hv;
		th->item = hs;
		predict(th, hs < 0 ? STATUS_INVALID_HANDLE : STATUS_SUCCESS);
		return true;
	}
	return false;
}

/* ------------------------------------------------------------------ */
/* Outcomes                                                            */
/* ------------------------------------------------------------------ */

static void clear_wait(struct th *th)
{
	th->waiting = false;
	th->wknown = th->west = false;
	th->wrec = -1;
	th->wkind = 0;
	th->wdinfo = false;
	th->wnoimp = false;
	th->wport = th->wdom = -1;
	th->wremote = th->wplace = false;
	th->wconn = -1;
}

static void start_wait(struct th *th, int port, int dom, uint32_t msgid,
		       bool known, bool est)
{
	th->waiting = true;
	th->wport = port;
	th->wdom = dom;
	th->wmsgid = msgid;
	th->wknown = known;
	th->west = est;
	th->wplace = port >= 0;
	th->wremote = false;
}

/* Where a waiter for a request sent through port model hp lives, and its
 * port (architecture.md "Reply matching"). */
static void waiter_place(int hp, int *port, int *dom)
{
	struct mport *p = &M.port[hp];

	if (p->kind == PK_CLIENT) {
		*port = M.conn[p->conn].S;
		*dom = M.conn[p->conn].P;
	} else if (p->kind == PK_SERVER) {
		*port = M.conn[p->conn].C;
		*dom = M.conn[p->conn].C;
	} else {
		*port = hp;
		*dom = dom_of(hp);
	}
}

/* The op just handed out is blocked: what that implies. */
static void blocked_effects(struct th *th)
{
	struct job *j = &th->job;

	th->blocked = true;
	switch (th->opk) {
	case SEQ_CONNECT: {
		int c = M.nconn < MAXCONN ? M.nconn++ : -1;
		int r;
		struct mconn *k;

		CHECK(th->conn >= 0, "connect to a missing name blocked");
		if (c < 0)
			return;
		k = &M.conn[c];
		memset(k, 0, sizeof(*k));
		k->state = CS_PENDING;
		k->cth = th->idx;
		k->ctid = th->tid;
		k->P = th->conn;
		k->S = k->C = -1;
		k->cookie = (uint32_t)th->item;
		k->infolen = (uint16_t)(j->infolen > LPC_MAX_DATA_LENGTH
						? LPC_MAX_DATA_LENGTH
						: j->infolen);
		k->view_size = j->view ? j->view_size : 0;
		th->conn = c;
		r = new_rec(R_CONNREQ);
		if (r >= 0) {
			M.rec[r].conn = c;
			M.rec[r].dest = k->P;
			M.rec[r].sender = th->idx;
			M.rec[r].stid = th->tid;
			M.rec[r].sent = true;
		}
		break;
	}
	case SEQ_REQUEST: {
		int port, dom, kind;
		struct mrec *r = th->rep_rec >= 0 ? &M.rec[th->rep_rec] : NULL;

		CHECK(th->held >= 0, "request on a bad handle blocked");
		if (r)
			r->sent = true;
		kind = M.port[th->held].kind;
		waiter_place(th->held, &port, &dom);
		/* A local request's waiter is this thread, at once; a remote
		 * one exists once the peer has read it. */
		start_wait(th, port, dom, 0, false,
			   kind != PK_CLIENT && kind != PK_SERVER);
		th->wremote = kind == PK_CLIENT || kind == PK_SERVER;
		th->wconn = th->wremote ? M.port[th->held].conn : -1;
		th->wrec = th->rep_rec;
		th->wkind = R_REQUEST;
		th->wdinfo = r && r->dinfo_n > 0;
		th->wnoimp = j->msg.h.u2.s2.Type & LPC_NO_IMPERSONATE;
		break;
	}
	case SEQ_RECV:
		/* Blocked in the receive: the reply half went out. */
		if (j->with_reply && th->rep_target >= 0) {
			struct th *x = &M.th[th->rep_target];

			CHECK(x->waiting,
			      "reply-wait-receive answered a thread that waits "
			      "for nothing");
			x->exp_cookie = M.rec[th->rep_rec].cookie;
			x->exp_rec = th->rep_rec;
			x->exp_must = true;
		}
		break;
	case SEQ_RWR:
	case SEQ_CALLBACK: {
		int hp = th->held;
		struct th *x = th->rep_target >= 0 ? &M.th[th->rep_target] : NULL;
		uint32_t id = j->msg.h.MessageId;
		int port = -1, dom = -1;
		bool place = false, remote;

		CHECK(x && x->waiting, "%s to a thread not waiting blocked",
		      op_name(th->opk));
		if (th->opk == SEQ_RWR)
			M.rec[th->rep_rec].type = 0;
		/* The answer is delivered: its target must wake. */
		x->exp_cookie = M.rec[th->rep_rec].cookie;
		x->exp_rec = th->rep_rec;
		x->exp_must = true;
		remote = x->wremote;
		if (!remote) {
			/* We index ourselves where we sent (message.c). */
			port = hp;
			dom = dom_of(hp);
			place = true;
		} else if (th->opk == SEQ_CALLBACK) {
			/* Our waiter is made on x's side of its link. */
			if (x->held >= 0 && (M.port[x->held].kind == PK_CLIENT ||
					     M.port[x->held].kind == PK_SERVER)) {
				port = x->held;
				dom = dom_of(x->held);
				place = true;
			}
		} else if (M.port[hp].kind == PK_CLIENT) {
			struct mconn *k = &M.conn[M.port[hp].conn];

			port = k->S;
			dom = k->P;
			place = true;
		} else if (M.port[hp].kind == PK_SERVER) {
			struct mconn *k = &M.conn[M.port[hp].conn];

			port = dom = k->C;
			place = true;
		}
		start_wait(th, port, dom, id, true, !remote);
		th->wremote = remote;
		th->wplace = place;
		th->wconn = remote ? x->wconn : -1;
		th->wkind = 0;
		break;
	}
	default:
		break;
	}
}

static void check_pred(struct th *th, NTSTATUS st, const char *what)
{
	if (th->pred_exact)
		CHECK_ST(st, th->pred, what);
	if (th->pred_block && !th->blocked)
		CHECK(0, "%s by %s returned 0x%08x at once; it must wait", what,
		      tname(th->idx), (unsigned)st);
}

/* A reply-wait ended with message m (REQUEST, RWR, CALLBACK ops). */
static void got_answer(struct th *th, NTSTATUS st, const msgbuf *m)
{
	int type = LPC_TYPE(m->h.u2.s2.Type);
	uint16_t dl = msg_dl(m);
	uint32_t ck = data_cookie(m->d, dl);
	struct mrec *r;

	if (th->exp_status_must)
		CHECK(st == th->exp_status ||
			      (st == STATUS_SUCCESS && th->exp_rec >= 0),
		      "%s by %s: status 0x%08x, want 0x%08x", op_name(th->opk),
		      tname(th->idx), (unsigned)st, (unsigned)th->exp_status);
	if (st != STATUS_SUCCESS) {
		CHECK(st == STATUS_LPC_REPLY_LOST &&
			      (th->exp_status_must || M.teardown),
		      "%s by %s ended with 0x%08x, no reason for it",
		      op_name(th->opk), tname(th->idx), (unsigned)st);
		return;
	}
	/* NtReplyWaitReplyPort's buffer still holds what it sent. */
	check_tail(m, "answer",
		   th->opk == SEQ_RWR
			   ? LPC_HDR + LPC_ALIGN4(msg_dl(&th->job.msg))
			   : 0);
	CHECK(th->exp_rec >= 0 && ck == M.rec[th->exp_rec].cookie,
	      "%s by %s got an answer (cookie %08x, MessageId %u) meant for "
	      "nobody here (expected %08x)",
	      op_name(th->opk), tname(th->idx), ck, (unsigned)m->h.MessageId,
	      th->exp_rec >= 0 ? M.rec[th->exp_rec].cookie : 0);
	r = &M.rec[th->exp_rec];
	CHECK(dl == r->dl && msg_tl(m) == r->tl,
	      "answer lengths %u/%u, sent %u/%u", dl, msg_tl(m), r->dl, r->tl);
	if (ck)
		CHECK(data_ok(m->d, 8, dl, ck), "answer data corrupted");
	if (th->wknown)
		CHECK(m->h.MessageId == th->wmsgid,
		      "answer MessageId %u, waited for %u",
		      (unsigned)m->h.MessageId, (unsigned)th->wmsgid);
	else
		CHECK(m->h.MessageId == r->msgid,
		      "answer MessageId %u, sent as %u",
		      (unsigned)m->h.MessageId, (unsigned)r->msgid);
	if (type == LPC_REPLY) {
		CHECK(r->type != R_CALLBACK, "callback delivered as a reply");
		CHECK((uint16_t)m->h.u2.s2.Type == LPC_REPLY &&
			      m->h.u2.s2.DataInfoOffset == 0,
		      "reply header");
		/* docs/decisions.md Q5: the replier's ClientId as written. */
		CHECK(cid_is(&m->h, th->tid),
		      "reply ClientId is not the replier's buffer's");
	} else {
		CHECK(type == LPC_REQUEST && r->type == R_CALLBACK,
		      "answer of type %d (record type %d)", type, r->type);
		CHECK(cid_is(&m->h, r->stid), "callback ClientId");
		CHECK(m->h.CallbackId != 0, "callback with CallbackId 0");
		/* Spec 7.2: a fresh CallbackId per callback. */
		CHECK(m->h.CallbackId != M.last_cbid,
		      "CallbackId %u reused", (unsigned)m->h.CallbackId);
		M.last_cbid = m->h.CallbackId;
		CHECK((uint16_t)m->h.u2.s2.Type == LPC_REQUEST, "callback Type");
		/* Now an item: the callback's sender waits for our answer. */
		r->received = true;
		r->recv_port = th->held;
		r->recv_slot = slot_of(th->job.h);
		if (r->sender >= 0 && M.th[r->sender].waiting)
			M.th[r->sender].west = true;
	}
	/* An answer to a reply-wait-reply: its sender's waiter exists now. */
	for (int i = 0; i < NTH; i++) {
		struct th *w = &M.th[i];

		if (w->waiting && w->opk == SEQ_RWR && w->rep_rec == th->exp_rec)
			w->west = true;
	}
	th->exp_cookie = 0;
	th->exp_rec = -1;
	th->exp_must = false;
}

static void finish_connect(struct th *th, NTSTATUS st)
{
	struct job *j = &th->job;
	struct mconn *k;

	if (!th->blocked) {
		check_pred(th, st, "connect");
		return;
	}
	k = &M.conn[th->conn];
	CHECK(k->has_exp, "connect by %s returned 0x%08x though nobody answered "
	      "it", tname(th->idx), (unsigned)st);
	CHECK_ST(st, k->exp, "connect");
	k->state = CS_DONE;
	if (st == STATUS_SUCCESS) {
		int cp = new_port(PK_CLIENT, actor_of(th->idx));
		ULONG want_il = k->infolen < k->reply_infolen ? k->infolen
							       : k->reply_infolen;

		CHECK(j->hout != SENTINEL && j->hout, "connect: no handle");
		CHECK(j->maxlen == M.port[k->P].max_msg,
		      "connect: MaxMessageLength %u, want %u", (unsigned)j->maxlen,
		      M.port[k->P].max_msg);
		CHECK(j->infolen == want_il,
		      "connect: information length %u, want %u",
		      (unsigned)j->infolen, (unsigned)want_il);
		CHECK(data_ok(j->info, want_il >= 8 ? 8 : want_il, want_il,
			      k->reply_cookie),
		      "connect: reply information corrupted");
		if (j->view) {
			CHECK(j->cview.ViewBase && j->cview.ViewSize >= j->view_size,
			      "connect: client view not mapped");
			if (k->srv_cview_base)
				CHECK(j->cview.ViewRemoteBase == k->srv_cview_base,
				      "ClientView.ViewRemoteBase %p, server "
				      "mapped it at %p",
				      j->cview.ViewRemoteBase, k->srv_cview_base);
			/* Both mappings are the same memory (spec 5.6.1). */
			if (k->srv_cview_base) {
				volatile uint8_t *a = j->cview.ViewBase;
				volatile uint8_t *b = k->srv_cview_base;

				a[0] = 0x3c;
				CHECK(b[0] == 0x3c, "views do not share memory");
			}
		}
		if (j->sview) {
			CHECK(j->rview.Length == 0, "ServerView.Length not 0");
			if (k->srv_sview_base) {
				CHECK(j->rview.ViewBase == k->srv_sview_remote &&
					      j->rview.ViewBase,
				      "ServerView.ViewBase %p, server says %p",
				      j->rview.ViewBase, k->srv_sview_remote);
				CHECK(j->rview.ViewSize == k->srv_sview_size,
				      "ServerView.ViewSize");
			} else {
				CHECK(!j->rview.ViewBase, "server view without one");
			}
		}
		if (cp >= 0) {
			M.port[cp].conn = th->conn;
			M.port[cp].max_msg = M.port[k->P].max_msg;
			k->C = cp;
			for (int i = 0; i < M.nrec; i++)
				if (M.rec[i].await_conn == th->conn) {
					M.rec[i].dest = cp;
					M.rec[i].await_conn = -1;
				}
			k->state = CS_CONNECTED;
			add_handle(j->hout, cp, actor_of(th->idx));
		}
	} else if (st == STATUS_PORT_CONNECTION_REFUSED) {
		CHECK(j->hout == SENTINEL, "refused connect wrote the handle");
		if (k->rejected) {
			ULONG want_il = k->infolen < k->reply_infolen
						? k->infolen
						: k->reply_infolen;

			CHECK(j->infolen == want_il,
			      "rejected: information length %u, want %u",
			      (unsigned)j->infolen, (unsigned)want_il);
		}
	}
}

static void finish(struct th *th)
{
	struct job *j = &th->job;
	NTSTATUS st = j->st;
	int opk = th->opk;

	switch (opk) {
	case SEQ_CREATE:
		check_pred(th, st, "create");
		if (st == STATUS_SUCCESS) {
			int p = new_port(j->named ? PK_CONN : PK_UNCONN,
					 actor_of(th->idx));

			if (p >= 0) {
				M.port[p].name = j->name;
				M.port[p].waitable = j->waitable;
				M.port[p].max_msg = j->max_msg;
				add_handle(j->hout, p, actor_of(th->idx));
			}
		}
		break;
	case SEQ_CONNECT:
		finish_connect(th, st);
		break;
	case SEQ_LISTEN:
	case SEQ_RECV:
		check_pred(th, st, op_name(opk));
		if (j->with_reply && th->rep_target >= 0 &&
		    M.th[th->rep_target].exp_rec == th->rep_rec) {
			struct th *x = &M.th[th->rep_target];
			bool failed = st == STATUS_REPLY_MESSAGE_MISMATCH ||
				      st == STATUS_INVALID_CID ||
				      st == STATUS_INVALID_PARAMETER ||
				      st == STATUS_INVALID_HANDLE ||
				      st == STATUS_PORT_MESSAGE_TOO_LONG;

			if (failed) {
				x->exp_cookie = 0;
				x->exp_rec = -1;
				x->exp_must = false;
			} else if (!th->blocked) {
				CHECK(x->waiting, "reply-wait-receive answered a "
				      "thread that waits for nothing");
				x->exp_must = true;
			}
		}
		if (st == STATUS_SUCCESS) {
			got_message(th, th->item, &j->out, j->ctx_out,
				    opk == SEQ_RECV && !j->noctx);
			if (opk == SEQ_LISTEN)
				CHECK(LPC_TYPE(j->out.h.u2.s2.Type) ==
						      LPC_CONNECTION_REQUEST ||
					      data_cookie(j->out.d,
							  msg_dl(&j->out)) ==
						      KICK_COOKIE,
				      "NtListenPort returned type %d",
				      LPC_TYPE(j->out.h.u2.s2.Type));
		} else {
			CHECK(st == STATUS_TIMEOUT || st == STATUS_PORT_DISCONNECTED ||
				      st == STATUS_INVALID_HANDLE ||
				      st == STATUS_REPLY_MESSAGE_MISMATCH ||
				      st == STATUS_INVALID_CID ||
				      st == STATUS_INVALID_PARAMETER ||
				      st == STATUS_PORT_MESSAGE_TOO_LONG,
			      "%s by %s: status 0x%08x", op_name(opk),
			      tname(th->idx), (unsigned)st);
			CHECK(st != STATUS_TIMEOUT || j->timeout != SEQ_T_INF,
			      "infinite receive timed out");
		}
		break;
	case SEQ_WAIT:
		check_pred(th, st, "wait");
		CHECK(st == STATUS_SUCCESS || st == STATUS_TIMEOUT ||
			      st == STATUS_INVALID_HANDLE ||
			      st == STATUS_OBJECT_TYPE_MISMATCH,
		      "wait: status 0x%08x", (unsigned)st);
		break;
	case SEQ_ACCEPT: {
		struct mconn *k = th->conn >= 0 ? &M.conn[th->conn] : NULL;

		check_pred(th, st, "accept");
		if (st != STATUS_SUCCESS) {
			CHECK(st == STATUS_REPLY_MESSAGE_MISMATCH ||
				      st == STATUS_INVALID_CID ||
				      st == STATUS_PORT_CONNECTION_REFUSED,
			      "accept: status 0x%08x", (unsigned)st);
			break;
		}
		CHECK(k && (k->state == CS_RECEIVED || k->state == CS_PENDING),
		      "accept succeeded for no pending connection request");
		k->msgid = j->msg.h.MessageId;
		k->msgid_known = true;
		k->reply_cookie = (uint32_t)th->rep_rec;
		k->reply_infolen = (uint16_t)((uint16_t)j->msg.h.u1.s1.DataLength >
							      LPC_MAX_DATA_LENGTH
						      ? LPC_MAX_DATA_LENGTH
						      : (uint16_t)j->msg.h.u1.s1
								.DataLength);
		if (!j->accept) {
			CHECK(j->hout == SENTINEL, "reject wrote *PortHandle");
			k->rejected = true;
			k->has_exp = true, k->exp = STATUS_PORT_CONNECTION_REFUSED;
			k->state = CS_DONE;
			break;
		}
		CHECK(j->hout != SENTINEL && j->hout, "accept: no handle");
		{
			int sp = new_port(PK_SERVER, actor_of(th->idx));

			if (sp < 0)
				break;
			M.port[sp].conn = th->conn;
			M.port[sp].P = k->P;
			M.port[sp].max_msg = M.port[k->P].max_msg;
			M.port[sp].waitable = M.port[k->P].waitable;
			M.port[k->P].nserv++;
			k->S = sp;
			k->state = CS_ACCEPTED;
			k->ctx = j->ctx ? j->ctx : j->hout;
			add_handle(j->hout, sp, actor_of(th->idx));
		}
		if (j->acview) {
			CHECK(j->acv.Length == sizeof(REMOTE_PORT_VIEW),
			      "accept: ClientView.Length changed");
			if (k->view_size) {
				CHECK(j->acv.ViewBase &&
					      j->acv.ViewSize == k->view_size,
				      "accept: client view %p/%zu, want size %zu",
				      j->acv.ViewBase, (size_t)j->acv.ViewSize,
				      k->view_size);
				k->srv_cview_base = j->acv.ViewBase;
			}
		}
		if (j->asview) {
			CHECK(j->asv.ViewBase && j->asv.ViewRemoteBase &&
				      j->asv.ViewBase != j->asv.ViewRemoteBase,
			      "accept: ServerView %p/%p", j->asv.ViewBase,
			      j->asv.ViewRemoteBase);
			k->srv_sview_base = j->asv.ViewBase;
			k->srv_sview_remote = j->asv.ViewRemoteBase;
			k->srv_sview_size = j->asv.ViewSize;
		}
		break;
	}
	case SEQ_COMPLETE:
		check_pred(th, st, "complete");
		if (st == STATUS_SUCCESS) {
			struct mconn *k = &M.conn[M.port[M.h[th->item].port].conn];

			k->completed = true;
			if (k->state == CS_ACCEPTED && !k->has_exp) {
				k->has_exp = true, k->exp = STATUS_SUCCESS;
				k->state = CS_CONNECTED;
			}
		}
		break;
	case SEQ_REQUEST:
	case SEQ_CALLBACK:
	case SEQ_RWR:
		if (!th->blocked) {
			check_pred(th, st, op_name(opk));
			CHECK(st != STATUS_SUCCESS,
			      "%s by %s succeeded at once", op_name(opk),
			      tname(th->idx));
			CHECK(st != STATUS_LPC_REPLY_LOST || opk != SEQ_REQUEST,
			      "request lost its reply at once");
			if (opk != SEQ_REQUEST && th->rep_target >= 0 &&
			    M.th[th->rep_target].exp_rec == th->rep_rec) {
				M.th[th->rep_target].exp_cookie = 0;
				M.th[th->rep_target].exp_rec = -1;
				M.th[th->rep_target].exp_must = false;
			}
			break;
		}
		got_answer(th, st, &j->out);
		if (opk == SEQ_REQUEST && th->wdinfo) {
			for (int e = 0; e < NDBUF; e++)
				CHECK(!memcmp(th->dbuf[e], th->shadow[e], DBUF),
				      "request data buffer %d changed behind our "
				      "back",
				      e);
		}
		break;
	case SEQ_DATAGRAM:
		check_pred(th, st, "datagram");
		if (st == STATUS_SUCCESS && th->rep_rec >= 0)
			M.rec[th->rep_rec].sent = true;
		break;
	case SEQ_REPLY:
		check_pred(th, st, "reply");
		if (th->rep_target >= 0 && M.th[th->rep_target].exp_rec == th->rep_rec) {
			struct th *x = &M.th[th->rep_target];

			if (st == STATUS_SUCCESS)
				x->exp_must = true;
			else {
				x->exp_cookie = 0;
				x->exp_rec = -1;
				x->exp_must = false;
			}
		}
		if (st == STATUS_SUCCESS) {
			CHECK(th->rep_target >= 0 && M.th[th->rep_target].waiting,
			      "reply succeeded to a thread that waits for nothing");
			if (th->item >= 0 &&
			    M.rec[th->item].stid == M.th[th->rep_target].tid &&
			    M.rec[th->item].msgid == th->job.msg.h.MessageId)
				M.rec[th->item].answered = true;
		} else {
			CHECK(st == STATUS_REPLY_MESSAGE_MISMATCH ||
				      st == STATUS_INVALID_CID ||
				      st == STATUS_INVALID_PARAMETER ||
				      st == STATUS_INVALID_HANDLE ||
				      st == STATUS_PORT_MESSAGE_TOO_LONG,
			      "reply: status 0x%08x", (unsigned)st);
		}
		break;
	case SEQ_READ:
	case SEQ_WRITE:
		check_pred(th, st, op_name(opk));
		if (st == STATUS_SUCCESS) {
			struct th *x;

			CHECK(j->done == j->dlen, "%s: %zu bytes of %zu",
			      op_name(opk), (size_t)j->done, (size_t)j->dlen);
			x = th->rep_target >= 0 ? &M.th[th->rep_target] : NULL;
			CHECK(x && x->waiting && x->wdinfo,
			      "%s succeeded for a thread that waits for nothing",
			      op_name(opk));
			if (j->write)
				memcpy(x->shadow[j->index], j->dbuf, j->dlen);
			else
				CHECK(!memcmp(j->dbuf, x->shadow[j->index], j->dlen),
				      "read request data differs");
			CHECK(j->dbuf[j->dlen] == (j->write ? pat((uint32_t)th->rep_rec, j->dlen) : FILL),
			      "%s: wrote past the buffer", op_name(opk));
		}
		break;
	case SEQ_IMPERSONATE:
		check_pred(th, st, "impersonate");
		if (st == STATUS_SUCCESS) {
			CHECK(th->rep_target >= 0 && M.th[th->rep_target].waiting,
			      "impersonated a thread that waits for nothing");
			CHECK(j->st2 == STATUS_SUCCESS, "revert: 0x%08x",
			      (unsigned)j->st2);
			CHECK(j->fsuid_after == (uint32_t)geteuid(),
			      "revert left fsuid %u", j->fsuid_after);
		}
		break;
	case SEQ_REGISTER:
		check_pred(th, st, "register");
		if (st == STATUS_SUCCESS && th->nregs < 64) {
			int p = M.h[th->item].port;

			th->regs[th->nregs++] = p;
			M.port[p].regs++;
		}
		break;
	case SEQ_CLOSE:
		check_pred(th, st, "close");
		if (st == STATUS_SUCCESS)
			release_handle(th->item);
		break;
	}
}

/* ------------------------------------------------------------------ */
/* Rounds                                                              */
/* ------------------------------------------------------------------ */

static void end_op(struct th *th)
{
	if (fuzz_verbose())
		fprintf(stderr, "seq:     %s %s -> 0x%08x\n", tname(th->idx),
			op_name(th->opk), (unsigned)th->job.st);
	finish(th);
	if (th->opk == SEQ_REQUEST || th->opk == SEQ_RWR ||
	    th->opk == SEQ_CALLBACK)
		clear_wait(th);
	th->opn = -1;
	th->blocked = false;
	th->timed = false;
	th->kicked = false;
	th->exp_status_must = false;
	th->exp_cookie = 0;
	th->exp_rec = -1;
	th->exp_must = false;
	release_call(th);
}

/* After settle(): the newest op first (its effects explain the others'),
 * then older ones that finished, in the order they started. */
static void process_round(struct th *newest)
{
	/* The newest op first: its effects explain the others' outcomes. */
	if (newest) {
		if (!atomic_load(&newest->busy) &&
		    ((newest->pred_block &&
		      (newest->opk == SEQ_REQUEST || newest->opk == SEQ_RWR ||
		       newest->opk == SEQ_CALLBACK) &&
		      (newest->job.st == STATUS_SUCCESS ||
		       newest->job.st == STATUS_LPC_REPLY_LOST)) ||
		     (newest->opk == SEQ_RECV && newest->job.with_reply &&
		      newest->rep_target >= 0 &&
		      newest->job.st == STATUS_SUCCESS))) {
			/* It waited, and what its own effects set off ended
			 * the wait within the round (a callback that let its
			 * target drop the last reference to its port; a
			 * reply whose receiver then let go of a port closed
			 * meanwhile, so that the receive half takes its
			 * LPC_PORT_CLOSED: regression
			 * reply-wakes-closer-then-receives-closed): it
			 * finishes after the others. */
			blocked_effects(newest);
		} else if (!atomic_load(&newest->busy)) {
			end_op(newest);
		} else {
			if (fuzz_verbose())
				fprintf(stderr, "seq:     %s %s blocked\n",
					tname(newest->idx), op_name(newest->opk));
			blocked_effects(newest);
		}
	}
	/* Then every finished op has dropped its port reference already:
	 * that may have deleted a port, which explains others. */
	for (int i = 0; i < NTH; i++)
		if (M.th[i].alive && M.th[i].opn >= 0 &&
		    !atomic_load(&M.th[i].busy))
			release_call(&M.th[i]);
	for (;;) {
		struct th *first = NULL;

		for (int i = 0; i < NTH; i++) {
			struct th *t = &M.th[i];

			if (t->alive && t->opn >= 0 && !atomic_load(&t->busy) &&
			    (!first || t->start < first->start))
				first = t;
		}
		if (!first)
			break;
		end_op(first);
	}
	/* What had to happen this round. */
	for (int i = 0; i < NTH; i++) {
		struct th *t = &M.th[i];

		if (!t->alive || t->opn < 0)
			continue;
		CHECK(!t->exp_must,
		      "%s (%s) was answered but did not wake", tname(i),
		      op_name(t->opk));
		CHECK(!t->exp_status_must,
		      "%s (%s) should have ended with 0x%08x", tname(i),
		      op_name(t->opk), (unsigned)t->exp_status);
		if (t->opk == SEQ_CONNECT && t->conn >= 0 && t->blocked)
			CHECK(!M.conn[t->conn].has_exp,
			      "%s: connect should have returned 0x%08x", tname(i),
			      (unsigned)M.conn[t->conn].exp);
	}
	/* The engine's list of domains is whole: every link points back
	 * where it came from, every domain has a kind. */
	pthread_mutex_lock(&lpc_glock);
	{
		struct lpc_domain **pp = &lpc_domains;
		int n = 0;

		for (struct lpc_domain *d = lpc_domains; d && n < 100000;
		     pp = &d->gnext, d = d->gnext, n++)
			if (d->gpprev != pp || d->kind < LPC_DOM_LOCAL ||
			    d->kind > LPC_DOM_CLIENT) {
				pthread_mutex_unlock(&lpc_glock);
				CHECK(0, "the engine's domain list is corrupted "
				      "(domain %d: kind %d, back link %s)",
				      n, d->kind, d->gpprev == pp ? "ok" : "wrong");
			}
	}
	pthread_mutex_unlock(&lpc_glock);
	/* An idle actor's engine state is at rest (a corrupted struct
	 * lpc_thread shows here first). */
	for (int i = 0; i < NTH; i++) {
		struct th *t = &M.th[i];
		struct lpc_thread *lt = t->lt;

		if (!t->alive || t->opn >= 0 || atomic_load(&t->busy) || !lt)
			continue;
		/* bools read as bytes: a corrupted one is no UB here */
		uint8_t exiting = *(volatile uint8_t *)&lt->exiting;
		uint8_t active = *(volatile uint8_t *)&lt->psend.active;
		uint8_t indexed = *(volatile uint8_t *)&lt->w_indexed;

		CHECK(lt->tid == t->tid && !exiting && !active &&
			      lt->wkind == LPC_TW_NONE && !indexed &&
			      !lt->wpkt && lt->nterm == t->nregs &&
			      lt->nterm <= lt->capterm,
		      "%s's engine thread state is not at rest (tid %d/%d, "
		      "psend %d, wkind %d, indexed %d, nterm %d/%d): "
		      "corrupted?",
		      tname(i), (int)lt->tid, (int)t->tid, active,
		      lt->wkind, indexed, lt->nterm, t->nregs);
	}
	check_drivers();
}

static void kill_thread(struct th *th);

static void run_op(const struct seq_op *o)
{
	struct th *th = &M.th[o->thread];

	if (!th->alive) {
		spawn(th);
	}
	if (th->opn >= 0)
		return; /* still in its previous op */
	switch (o->op) {
	case SEQ_KILL:
		kill_thread(th);
		return;
	case SEQ_TEARDOWN: {
		int a = actor_of(th->idx);

		for (int k = 0; k < 2; k++)
			if (M.th[a * 2 + k].alive && M.th[a * 2 + k].opn < 0 &&
			    a * 2 + k != th->idx)
				kill_thread(&M.th[a * 2 + k]);
		for (int i = M.nh - 1; i >= 0; i--) {
			struct seq_op c = { .op = SEQ_CLOSE,
					    .thread = (uint8_t)th->idx };

			if (!M.h[i].live || M.h[i].owner != a)
				continue;
			/* close slot i: selector 1 + its live index */
			{
				int k = 0;

				for (int s = 0; s < i; s++)
					k += M.h[s].live;
				c.a = (uint8_t)(1 + k);
				if (k + 1 > 250)
					continue;
			}
			run_op(&c);
		}
		kill_thread(th);
		return;
	}
	default:
		break;
	}
	if (!plan(th, o))
		return;
	th->opn = M.cur;
	th->opk = o->op;
	th->start = ++M.seq;
	th->blocked = false;
	th->exp_status_must = false;
	hand(th);
	settle();
	process_round(th);
}

/* Thread exit: LPC_CLIENT_DIED per registration, newest first (5.16). */
static void kill_thread(struct th *th)
{
	if (!th->alive || th->opn >= 0)
		return;
	for (int i = th->nregs - 1; i >= 0; i--) {
		int p = th->regs[i], r, dest = -1, conn = -1, await = -1;
		struct mport *mp = &M.port[p];

		switch (mp->kind) {
		case PK_CLIENT:
			conn = mp->conn;
			if (M.conn[conn].state == CS_CONNECTED &&
			    !M.conn[conn].s_destroyed && !M.conn[conn].c_destroyed)
				dest = M.conn[conn].P;
			break;
		case PK_SERVER:
			/* A server port registered between accept and complete
			 * sends its notice to a client port that exists only
			 * once the connect returns (regression
			 * died-before-complete-reaches-client). */
			conn = mp->conn;
			if ((M.conn[conn].state == CS_ACCEPTED ||
			     M.conn[conn].state == CS_CONNECTED) &&
			    !M.conn[conn].s_destroyed &&
			    !M.conn[conn].c_destroyed) {
				if (M.conn[conn].C >= 0)
					dest = M.conn[conn].C;
				else
					await = conn;
			}
			break;
		case PK_CONN:
			if (!mp->unnamed)
				dest = p;
			break;
		default:
			dest = p;
		}
		if (dest < 0 && await < 0)
			continue;
		r = new_rec(R_DIED);
		if (r < 0)
			continue;
		M.rec[r].dest = dest;
		M.rec[r].await_conn = await;
		M.rec[r].conn = mp->kind == PK_CLIENT ? conn : -1;
		M.rec[r].via_client = mp->kind == PK_CLIENT;
		M.rec[r].stid = th->tid;
		M.rec[r].sent = true;
		M.rec[r].dl = 8;
		M.rec[r].tl = sizeof(CLIENT_DIED_MSG);
	}
	reap(th);
	for (int i = th->nregs - 1; i >= 0; i--) {
		M.port[th->regs[i]].regs--;
		maybe_destroy(th->regs[i]);
	}
	th->nregs = 0;
	settle();
	process_round(NULL);
}

/* ------------------------------------------------------------------ */
/* The end of an input: drain, check, tear down                        */
/* ------------------------------------------------------------------ */

static bool owed(const struct mrec *r)
{
	const struct mport *d;

	if (!r->sent || r->received || r->dest < 0)
		return false;
	if (r->type == R_REQUEST) {
		const struct th *s = r->sender >= 0 ? &M.th[r->sender] : NULL;

		if (!s || !s->waiting || s->wrec != (int)(r - M.rec))
			return false;
	}
	if (r->type != R_REQUEST && r->type != R_DATAGRAM &&
	    r->type != R_DIED && r->type != R_CLOSED)
		return false;
	d = &M.port[r->dest];
	if (d->destroyed || d->handles == 0 || d->unnamed)
		return false;
	if (r->conn >= 0) {
		const struct mconn *k = &M.conn[r->conn];

		if (k->s_destroyed)
			return false;
		/* toward the client: its port must still be there */
		if (d->kind == PK_CLIENT && k->c_destroyed)
			return false;
	}
	return true;
}

static void drain(void)
{
	for (int round = 0; round < 4; round++) {
		bool any = false;

		for (int s = 0; s < M.nh; s++) {
			int kind, quiet = 0, guard = 0;

			if (!M.h[s].live)
				continue;
			kind = M.port[M.h[s].port].kind;
			if (kind == PK_SERVER && !M.port[M.port[M.h[s].port].P].unnamed)
				continue; /* the connection port drains it */
			while (quiet < 3 && guard++ < 200 && M.h[s].live) {
				struct seq_op o = { .op = SEQ_RECV, .c = SEQ_T_ZERO };
				int t = -1, k = 0;

				for (int i = 0; i < M.nh && i < s; i++)
					k += M.h[i].live;
				o.a = (uint8_t)(1 + k);
				for (int i = 0; i < NTH; i++)
					if (M.th[i].alive && M.th[i].opn < 0) {
						t = i;
						break;
					}
				if (t < 0) {
					for (int i = 0; i < NTH; i++)
						if (!M.th[i].alive) {
							t = i;
							break;
						}
				}
				if (t < 0)
					return;
				o.thread = (uint8_t)t;
				run_op(&o);
				if (M.th[t].job.st == STATUS_SUCCESS) {
					quiet = 0;
					any = true;
				} else {
					quiet++;
				}
			}
		}
		if (!any)
			break;
	}
	for (int i = 0; i < M.nrec; i++) {
		struct mrec *r = &M.rec[i];

		CHECK(!owed(r),
		      "message lost: %s cookie %08x from tid %d (len %u) was "
		      "never received",
		      r->type == R_REQUEST	? "request"
		      : r->type == R_DATAGRAM ? "datagram"
		      : r->type == R_DIED	? "LPC_CLIENT_DIED"
					: "LPC_PORT_CLOSED",
		      r->cookie, (int)r->stid, r->dl);
	}
}

static void kick(struct lpc_domain *d, struct lpc_thread *t)
{
	struct lpc_pkt *k = lpc_pkt_new(LPC_HDR + 8);
	PORT_MESSAGE *m;
	uint32_t c = KICK_COOKIE;

	if (!k)
		return;
	m = lpc_pkt_msg(k);
	memset(m, 0, LPC_HDR + 8);
	m->u1.s1.DataLength = 8;
	m->u1.s1.TotalLength = LPC_HDR + 8;
	m->u2.s2.Type = t->listen_only ? LPC_CONNECTION_REQUEST : LPC_DATAGRAM;
	m->ClientId.UniqueProcess = (HANDLE)(uintptr_t)my_pid;
	m->ClientId.UniqueThread = (HANDLE)(uintptr_t)sched_tid;
	m->MessageId = lpc_next_message_id();
	memcpy(m + 1, &c, 4);
	memcpy((uint8_t *)(m + 1) + 4, &c, 4);
	k->local = true;
	lpc_dom_enqueue(d, k);
	/* The enqueue wakes one sleeping receiver, which may not be the
	 * one this is for (see lost-wakeup-listener-kicked): wake ours,
	 * and let the driver look too. */
	if (t->sleeping && !t->kicked) {
		t->kicked = true;
		pthread_cond_signal(&t->cond);
	}
	if (d->driving && d->be && d->be->wake)
		d->be->wake(d);
}

/* End the waits NT would let last forever (see the file comment):
 * receivers (a message in their queue), waits on unconnected ports or
 * indexed on a server port (as deletion of the port would); with
 * cycles, remote waits whose connection the model knows is still up
 * (threads blocked on each other's ports).  Returns how many. */
static int end_endless_waits(bool cycles)
{
	int n = 0;

	for (int i = 0; i < NTH; i++) {
		struct th *th = &M.th[i];
		struct lpc_domain *d;

		if (!th->alive || !atomic_load(&th->busy))
			continue;
		pthread_mutex_lock(&lpc_glock);
		d = wait_dom(th->lt);
		if (d) {
			struct lpc_thread *t = th->lt;

			if (t->wkind == LPC_TW_RECEIVE && !t->wdone) {
				kick(d, t);
				th->kicked = true;
				/* A client domain's driver sits in recvmsg(),
				 * which nothing local interrupts but a signal
				 * (its EINTR makes it look at the queue). */
				if (d->kind == LPC_DOM_CLIENT && d->driving)
					for (int k = 0; k < NTH; k++)
						if (M.th[k].alive &&
						    M.th[k].lt == d->driver)
							pthread_kill(M.th[k].pt,
								     SIGUSR1);
				n++;
			} else if (t->wkind == LPC_TW_REPLY && !t->wlink &&
				   !t->wdone &&
				   (d->kind == LPC_DOM_LOCAL ||
				    !(t->w_indexed && t->w.port &&
				      t->w.port->kind == LPC_PORT_CONNECTION))) {
				lpc_dom_complete(d, t, -LPC_EREPLYLOST, NULL);
				n++;
			} else if (cycles && t->wkind == LPC_TW_REPLY && t->wlink &&
				   !t->wdone && th->waiting && th->wconn >= 0 &&
				   !M.conn[th->wconn].s_destroyed &&
				   !M.conn[th->wconn].c_destroyed) {
				lpc_dom_complete(d, t, -LPC_EREPLYLOST, NULL);
				/* A client driver is told only by its socket:
				 * interrupt its recvmsg(). */
				if (d->kind == LPC_DOM_CLIENT && d->driver == t) {
					th->kicked = true;
					pthread_kill(th->pt, SIGUSR1);
				}
				n++;
			}
			lpc_dom_unlock(d);
		}
		pthread_mutex_unlock(&lpc_glock);
	}
	return n;
}

static int live_engine_handles(void)
{
	int n = 0;

	for (uintptr_t v = 4; v <= M.max_handle + 256; v += 4) {
		void *o;

		if (lpc_handle_get((HANDLE)v, LPC_OBJ_PORT, &o) == 0) {
			lpc_obj_unref(o);
			n++;
		} else if (lpc_handle_get((HANDLE)v, LPC_OBJ_SECTION, &o) == 0) {
			lpc_obj_unref(o);
			n++;
		}
	}
	return n;
}

static void teardown(void)
{
	M.teardown = true;
	M.cur = M.nops;
	/* Close every handle, each by an idle thread of its owner (or any). */
	for (int s = 0; s < M.nh; s++) {
		struct seq_op o = { .op = SEQ_CLOSE };
		int t = -1, k = 0;

		if (!M.h[s].live)
			continue;
		for (int i = 0; i < s; i++)
			k += M.h[i].live;
		o.a = (uint8_t)(1 + k);
		for (int i = 0; i < NTH && t < 0; i++)
			if (M.th[i].alive && M.th[i].opn < 0)
				t = i;
		for (int i = 0; i < NTH && t < 0; i++)
			if (!M.th[i].alive)
				t = i;
		if (t < 0)
			break;
		o.thread = (uint8_t)t;
		if (k + 1 > 250)
			break;
		run_op(&o);
	}
	for (int pass = 0, still = 0; pass < 32; pass++) {
		int busy = 0, ended = 0;

		for (int i = 0; i < NTH; i++)
			if (M.th[i].alive && M.th[i].nregs && M.th[i].opn < 0) {
				kill_thread(&M.th[i]);
				ended++;
			}
		ended += end_endless_waits(still > 0);
		settle();
		process_round(NULL);
		for (int i = 0; i < NTH; i++)
			busy += M.th[i].alive && M.th[i].opn >= 0;
		if (!busy)
			break;
		still = ended ? 0 : still + 1;
		if (still < 3)
			continue;
		for (int i = 0; i < NTH; i++) {
			struct th *th = &M.th[i];
			int kind = -1;

			if (!th->alive || th->opn < 0)
				continue;
			pthread_mutex_lock(&lpc_glock);
			{
				struct lpc_domain *d = wait_dom(th->lt);

				if (d) {
					kind = th->lt->wkind;
					lpc_dom_unlock(d);
				}
			}
			pthread_mutex_unlock(&lpc_glock);
			hang("after every handle was closed, %s is still "
			     "blocked in %s (engine wait kind %d)",
			     tname(i), op_name(th->opk), kind);
		}
	}
	for (int i = 0; i < NTH; i++)
		if (M.th[i].alive && M.th[i].nregs)
			kill_thread(&M.th[i]);
	for (int i = 0; i < NTH; i++) {
		CHECK(!M.th[i].alive || M.th[i].opn < 0,
		      "%s still busy after teardown", tname(i));
		if (!M.th[i].alive)
			spawn(&M.th[i]);
	}
	CHECK(live_engine_handles() == 0, "%d handles left in the engine's table",
	      live_engine_handles());
	if (!warming) {
		/* Another thread of the process (libFuzzer's RSS watcher)
		 * may hold a /proc file open for a moment: a leak stays. */
		for (int i = 0; i < 20; i++) {
			struct fuzz_snapshot now;
			struct timespec ms = { 0, 1000000 };

			fuzz_snapshot_take(&now);
			if (now.fds <= base.fds && now.maps <= base.maps &&
			    now.threads <= base.threads)
				break;
			nanosleep(&ms, NULL);
		}
		fuzz_snapshot_check(&base, "seq teardown");
	}
}

/* ------------------------------------------------------------------ */
/* Entry points                                                        */
/* ------------------------------------------------------------------ */

static void reset_model(void)
{
	for (int i = 0; i < NTH; i++) {
		struct th *th = &M.th[i];

		th->idx = i;
		th->opn = -1;
		th->held = -1;
		th->nregs = 0;
		clear_wait(th);
		th->exp_cookie = 0;
		th->exp_rec = -1;
		th->exp_must = false;
		th->exp_status_must = false;
		th->blocked = false;
	}
	M.nport = M.nh = M.nconn = M.nrec = 0;
	M.last_closed = NULL;
	M.teardown = false;
	M.seq = 0;
}

static void on_usr1(int sig)
{
	(void)sig;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (inited)
		return 0;
	inited = true;
	/* Before any LPC call; threads and sockets come later, after
	 * AFL++'s fork server has forked (fuzz.h: deferred init). */
	setenv("LPC_BACKEND", "sync", 1);
	fuzz_init();
	{
		/* No SA_RESTART: interrupts a client driver's recvmsg(). */
		struct sigaction sa = { .sa_handler = on_usr1 };

		sigemptyset(&sa.sa_mask);
		sigaction(SIGUSR1, &sa, NULL);
	}
	return 0;
}

/* Under afl-fuzz: clear the coverage map (the shared memory it names). */
static void clear_afl_map(void)
{
	const char *id = getenv("__AFL_SHM_ID");
	struct shmid_ds ds;
	unsigned char *p;
	int shm;

	if (!id)
		return;
	shm = atoi(id);
	if (shmctl(shm, IPC_STAT, &ds))
		return;
	p = shmat(shm, NULL, 0);
	if (p == (void *)-1)
		return;
	memset(p, 0, ds.shm_segsz);
	p[0] = 1;
	shmdt(p);
}

/* In the process that runs the inputs: the actors, and a warm-up. */
static void start(void)
{
	static const uint8_t warm[] = {
		SEQ_CREATE, SEQ_F_NAMED << 3, 0, 0, 0, 0, 0, 0,
		SEQ_CONNECT, 2, 0, 0, 8, 0, 0, 0,
		SEQ_LISTEN, 0, 0, 0, 0, 0, 0, 0,
		SEQ_ACCEPT, 0, 0, 0, 4, 0, 0, 0,
		SEQ_COMPLETE, 0, 0, 0, 0, 0, 0, 0,
		SEQ_REQUEST, 2, 0, 0, 8, 0, 0, 0,
		SEQ_RECV, 0, 0, 0, 0, 0, 0, 0,
		SEQ_REPLY, 0, 0, 0, 8, 0, 0, 0,
	};
	cpu_set_t set;

	started = true;
	/* One CPU: actor handoffs stay on it (shared/perf-notes.md). */
	if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 1) {
		int cpu = sched_getcpu();

		CPU_ZERO(&set);
		CPU_SET(cpu < 0 ? 0 : cpu, &set);
		sched_setaffinity(0, sizeof(set), &set);
	}
	my_pid = getpid();
	sched_tid = (pid_t)syscall(SYS_gettid);
	for (int i = 0; i < NTH; i++) {
		M.th[i].idx = i;
		pthread_mutex_init(&M.th[i].mu, NULL);
		pthread_cond_init(&M.th[i].cv, NULL);
		M.th[i].fd_sys = -1;
		spawn(&M.th[i]);
	}
	/* What the engine makes lazily, once per process (namespace root,
	 * MessageId page, published-state table), before the baseline. */
	warming = true;
	LLVMFuzzerTestOneInput(warm, sizeof(warm));
	warming = false;
	/* That ran inside the first input's execution: its coverage is not
	 * the input's (AFL++ would see it as instability). */
	clear_afl_map();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct seq_op again[SEQ_MAX_OPS];
	uint8_t enc[SEQ_MAX_OPS * SEQ_OP_BYTES];

	if (!inited)
		LLVMFuzzerInitialize(NULL, NULL);
	if (!started)
		start();
	/* The baseline: after the warm-up, with whatever the driver holds
	 * open while it hands us an input (replay keeps the file open). */
	if (!warming && !have_base) {
		fuzz_snapshot_take(&base);
		have_base = true;
	}
	reset_model();
	M.nops = seq_decode(data, size, M.ops, SEQ_MAX_OPS);
	/* decode(encode(x)) == x */
	for (int i = 0; i < M.nops; i++)
		seq_encode_op(&M.ops[i], enc + i * SEQ_OP_BYTES);
	FUZZ_CHECK(seq_decode(enc, (size_t)M.nops * SEQ_OP_BYTES, again,
			      SEQ_MAX_OPS) == M.nops,
		   "re-decoded op count");
	for (int i = 0; i < M.nops; i++) {
		char line[256], err[128];
		struct seq_op t;

		FUZZ_CHECK(seq_op_eq(&M.ops[i], &again[i]),
			   "decode(encode(op %d)) differs", i);
		/* and the text form seq-asm shows and reads back */
		seq_print_op(&M.ops[i], line, sizeof(line));
		FUZZ_CHECK(seq_parse_line(line, &t, err, sizeof(err)) == 1 &&
				   seq_op_eq(&M.ops[i], &t),
			   "parse(print(op %d)) differs: %s", i, line);
	}
	for (M.cur = 0; M.cur < M.nops; M.cur++) {
		if (fuzz_verbose()) {
			char line[256];

			seq_print_op(&M.ops[M.cur], line, sizeof(line));
			fprintf(stderr, "seq: %3d %s\n", M.cur, line);
		}
		run_op(&M.ops[M.cur]);
	}
	drain();
	teardown();
	return 0;
}
