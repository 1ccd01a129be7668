/* SPDX-License-Identifier: MIT */
/*
 * header.c - raw bytes from a hostile peer through the engine's receive
 * side: lpc_wire_check, the spec 3.3 length rules, data-information
 * blocks, the link state machine (link.c), delivery (domain.c,
 * message.c), accept/complete (accept.c), NtRead/WriteRequestData
 * (data.c) and the client's connect (connect.c).
 *
 * One process plays both parts.  Raw AF_UNIX SOCK_SEQPACKET sockets
 * connected to three real connection ports are hostile clients; a raw
 * listening socket is a hostile server that a real NtConnectPort reaches.
 * The harness drives the real ends through the NT API.  Calls that block
 * (NtAcceptConnectPort with a server view, NtRead/WriteRequestData,
 * NtRequestWaitReplyPort, NtReplyWaitReplyPort, NtConnectPort) run on one
 * worker thread made once and reused; the main thread acts as the raw
 * peer, and only while the worker is done or provably stuck (asleep in
 * poll or recvmsg: nothing it waits for can arrive unless we send it), so
 * that what the engine reads, and in what order, depends on the input
 * alone.  Everything else runs on the main thread with zero timeouts.
 *
 * The input is a program: one opcode byte, then its arguments (reads
 * past the end give zeros).  See the OP_* table at the end; while the
 * worker waits in a call, each further byte says whether to answer it
 * (then an OP_SEND packet follows, without its opcode) or to let every
 * peer go quiet (EOF) so that the call fails.  Fields use compact
 * selectors (sel_tid, sel_msgid, sel_arg, sel_aux: "the thread that sent
 * the last packet", "its MessageId", ...) so that valid conversations
 * are a few bytes away from any mutation.  The seed generator
 * (fuzz/tools/seeds-header.c) writes the same encoding; LPC_FUZZ_VERBOSE=1
 * traces what an input does.
 *
 * Invariants (FUZZ_CHECK):
 *  - lpc_wire_check, lpc_msg_check*, lpc_msg_datainfo agree with a
 *    reference written from docs/wire-protocol.md and spec 3.3 / 7.3 /
 *    decisions Q11, for every packet built, in both directions;
 *    lpc_name_to_path round-trips;
 *  - every message the server receives came from exactly one packet the
 *    reference accepts, on a socket connected to that port, in that
 *    socket's order, once, with its bytes; nothing is written to the
 *    receive buffer past header + ALIGN4(DataLength); types, ClientId,
 *    lengths and PortContext are what the spec says; a thread has one
 *    request (or connection request) outstanding at a time: a second is
 *    never delivered while the first waits on a live connection;
 *  - every packet the engine sends passes the reference in the peer's
 *    direction; a REPLY or CALLBACK answers a request this very socket
 *    sent, once; ACCEPT/REJECT/COMPLETE follow a call that asked for them;
 *    DATA_READ/WRITE stay inside the data-information entry; DATA_RESULT
 *    never reads or writes outside the entry the engine's own request
 *    named (checked against guard bytes and guard pages);
 *  - a reply delivered to a waiting thread is one a peer sent to that
 *    thread for that MessageId; NtConnectPort succeeds only after a valid
 *    ACCEPT and COMPLETE for its request, with the reply information and
 *    MaxMessageLength they carried; NumberOfBytes never exceeds
 *    BufferSize, nothing is written around the buffer, and what was read
 *    is what the requester's engine sent; a mapped view is the file's
 *    bytes at the offset and size asked for;
 *  - every status is one the spec allows for the call;
 *  - after each input: no fd, mapping or thread leaked, the handle table
 *    holds exactly the three ports, the queues and links are empty.
 *
 * Environment: LPC_BACKEND is forced to sync (io_uring completions run as
 * task work of whichever thread submitted: scheduling would decide what
 * the engine reads); LPC_FUZZ_SKIP_KNOWN=1 keeps inputs away from the
 * engine bugs already reported (below).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "fuzz.h"
#include "ids.h"
#include "lpc_int.h"
#include "msg.h"
#include "name.h"
#include "wire.h"

/* Code whose control flow depends on timing (waiting for the worker) is
 * left out of AFL++'s coverage map ("ign." prefix) and libFuzzer's, so
 * that it cannot make runs look unstable. */
#ifdef __clang__
#define UNTRACED_ATTR __attribute__((noinline, no_sanitize("coverage")))
#else
#define UNTRACED_ATTR __attribute__((noinline))
#endif
#define UNTRACED(name) __asm__("ign.header_" #name) UNTRACED_ATTR

/*
 * Engine bugs this harness found (corpus/regressions/header/ reproduces
 * each):
 *  - request-datainfo-overflows-sbuf (lpc/message.c, request_wait_reply):
 *    a request with a DataInfoOffset was copied into the thread's capture
 *    buffer before TotalLength met any maximum (heap overflow of up to
 *    32 KiB).  Fixed in the tree since; the input stays as a regression.
 *  - viewmap-error-accepts-without-handle (lpc/accept.c,
 *    accept_connect): the client's VIEWMAP error is taken as
 *    r = -(int)aux; an aux with its top bit set makes r positive, the
 *    new handle is closed on the error path, and lpc_status() maps any
 *    r >= 0 to STATUS_SUCCESS: the server's NtAcceptConnectPort succeeds
 *    without writing *PortHandle.
 *  - data-result-longer-than-asked, data-result-shorter-than-it-says,
 *    data-result-error-passed-through (lpc/data.c, remote_chunk): a
 *    DATA_RESULT's byte count is checked against the bytes it carries but
 *    not against the chunk asked for (the caller's buffer overflows), the
 *    bytes are copied even when it carries fewer than it says (a heap
 *    over-read), and its error is returned to the caller as it came
 *    (any NTSTATUS, STATUS_TIMEOUT included).  The first fix still let a
 *    peer's EPERM through as STATUS_ACCESS_DENIED, which no NT data call
 *    answers (data-result-eperm-is-access-violation, found by a
 *    ten-minute campaign).  Receive-side: always
 *    reached, unless LPC_FUZZ_SKIP_KNOWN=1 (for campaigns after triage),
 *    which keeps DATA_RESULTs within what a well-behaved engine sends.
 */
static bool skip_known_receive(void)
{
	static int on = -1;

	if (on < 0)
		on = getenv("LPC_FUZZ_SKIP_KNOWN") != NULL;
	return on;
}

/* LPC_FUZZ_VERBOSE=1: what each operation did (for seeds and triage). */
#define TRACE(...)                                                            \
	do {                                                                  \
		if (fuzz_verbose())                                           \
			fprintf(stderr, __VA_ARGS__);                         \
	} while (0)

/* AFL++: the one-time set-up runs inside the first input of every
 * forked child (threads do not survive the fork server's fork); its
 * coverage is discarded so that it does not count against stability. */
#ifdef __AFL_COVERAGE
/* What __AFL_COVERAGE() declares, with prototypes. */
int __afl_selective_coverage = 1;
void __afl_coverage_discard(void);
#define DISCARD_SETUP_COVERAGE() __afl_coverage_discard()
#else
#define DISCARD_SETUP_COVERAGE() ((void)0)
#endif

#define HDR LPC_HDR
#define NPORTS 3
#define NRAW 4		/* hostile clients of our ports */
#define NHOST 2		/* connections to our hostile server */
#define NSOCK (NRAW + NHOST)
#define NREC 8		/* messages the server kept */
#define NCOMM 4		/* server communication ports */
#define NCPORT 2	/* client communication ports */
#define NLOG 64		/* packets sent per input */
#define MAXOPS 64
#define MAXGEN 128	/* sockets opened or accepted per input */
#define RECV_MAX (HDR + LPC_MAX_MESSAGE_LENGTH + 16)
/* A message we hand the engine: as long as any DataLength may claim
 * (the engine reads what the header announces, as NT does). */
#define MSGBUF (HDR + 0x8000 + 64)

static const struct {
	const char *name;
	ULONG max_msg;
	bool waitable;
} port_defs[NPORTS] = {
	{ "\\RPC Control\\fuzz-hdr-a", LPC_MAX_MESSAGE_LENGTH, false },
	{ "\\RPC Control\\fuzz-hdr-b", 0x100, false },
	{ "\\RPC Control\\fuzz-hdr-c", 0x60, true },
};
#define EVIL_NAME "\\RPC Control\\fuzz-hdr-evil"
#define EVIL_PATH "RPC Control/fuzz-hdr-evil"

/* ------------------------------------------------------------------ */
/* The reference: what a receiver must accept (docs/wire-protocol.md,  */
/* wire.h, spec 3.3 and 7.3, decisions.md Q11).                        */
/* ------------------------------------------------------------------ */

/* CSHORT lengths: sign-extended to 32 bits, compared as 64-bit sizes. */
static uint64_t ref_len(CSHORT v)
{
	return (uint64_t)(uint32_t)(int32_t)v;
}

/* Rule 1 of spec 3.3. */
static bool ref_lengths_ok(const PORT_MESSAGE *m)
{
	return ref_len(m->u1.s1.DataLength) + HDR <=
	       ref_len(m->u1.s1.TotalLength);
}

/* Rule 4 of spec 3.3. */
static bool ref_max_ok(const PORT_MESSAGE *m, uint32_t max)
{
	uint64_t t = ref_len(m->u1.s1.TotalLength);

	return t <= max && t > ref_len(m->u1.s1.DataLength);
}

/* Spec 7.3 with Q11: the block lies in the bytes delivered, which are
 * the header and the data rounded up to 4, but never past TotalLength. */
static long ref_datainfo(const void *msg, uint32_t len)
{
	const PORT_MESSAGE *m = msg;
	uint32_t off = (uint16_t)m->u2.s2.DataInfoOffset;
	uint32_t total = (uint16_t)m->u1.s1.TotalLength;
	uint32_t avail = len < total ? len : total;
	uint32_t count;

	if (total < HDR + 24 || off < HDR || off > avail || avail - off < 24)
		return -1;
	memcpy(&count, (const uint8_t *)msg + off, 4);
	if ((uint64_t)count * 16 + 8 > avail - off)
		return -1;
	return count;
}

static bool ref_dir_ok(unsigned op, enum lpc_wire_dir dir)
{
	switch (op) {
	case LPC_OP_CONNECT:
	case LPC_OP_VIEWMAP:
	case LPC_OP_CLOSE:
	case LPC_OP_EXCEPTION:
		return dir == LPC_WIRE_TO_SERVER;
	case LPC_OP_ACCEPT:
	case LPC_OP_COMPLETE:
	case LPC_OP_REJECT:
		return dir == LPC_WIRE_TO_CLIENT;
	default:
		return true;
	}
}

static bool ref_is_msg_op(unsigned op)
{
	return op == LPC_OP_REQUEST || op == LPC_OP_DATAGRAM ||
	       op == LPC_OP_REPLY || op == LPC_OP_CALLBACK ||
	       op == LPC_OP_EXCEPTION;
}

/*
 * The shape a receiver accepts.  Written from the documents, not from
 * wire.c; one leniency of the code is kept on purpose: the DATAINFO flag
 * is only judged on message ops (on the others it has no meaning and is
 * ignored), as lpc_wire_check does.
 */
static bool ref_wire_ok(const uint8_t *buf, uint32_t len,
			enum lpc_wire_dir dir, uint32_t max_msg, bool has_fd)
{
	const uint32_t known = LPC_WF_VIEW | LPC_WF_NOIMP | LPC_WF_DATAINFO |
			       LPC_WF_WAIT;
	struct lpc_wire w;
	uint32_t body;

	if (len < sizeof(w) || len > sizeof(w) + LPC_WIRE_CHUNK)
		return false;
	memcpy(&w, buf, sizeof(w));
	body = len - (uint32_t)sizeof(w);
	if (w.magic != LPC_WIRE_MAGIC || w.version != LPC_WIRE_VERSION)
		return false;
	if (w.op < LPC_OP_CONNECT || w.op > LPC_OP_EXCEPTION ||
	    !ref_dir_ok(w.op, dir))
		return false;
	if (w.pad[0] || w.pad[1] || w.pad[2])
		return false;
	if (w.tid <= 0 || w.target < 0)
		return false;
	if (w.flags & ~known)
		return false;
	if (has_fd != ((w.flags & LPC_WF_VIEW) != 0))
		return false;
	if ((w.flags & LPC_WF_VIEW) && w.op != LPC_OP_CONNECT &&
	    w.op != LPC_OP_ACCEPT)
		return false;
	if ((w.flags & LPC_WF_WAIT) && w.op != LPC_OP_REPLY)
		return false;
	if ((w.flags & LPC_WF_NOIMP) && w.op != LPC_OP_REQUEST)
		return false;

	if (ref_is_msg_op(w.op)) {
		PORT_MESSAGE m;
		uint16_t type;

		if (body < HDR)
			return false;
		memcpy(&m, buf + sizeof(w), HDR);
		if (!ref_lengths_ok(&m) ||
		    !ref_max_ok(&m, max_msg ? max_msg : LPC_MAX_MESSAGE_LENGTH))
			return false;
		if (body != HDR + LPC_ALIGN4((uint16_t)m.u1.s1.DataLength))
			return false;
		if (!w.msgid || m.MessageId != w.msgid)
			return false;
		type = (uint16_t)m.u2.s2.Type & 0x0fff;
		switch (w.op) {
		case LPC_OP_REQUEST:
		case LPC_OP_CALLBACK:
			if (type != LPC_REQUEST)
				return false;
			break;
		case LPC_OP_DATAGRAM:
			if (type != LPC_DATAGRAM || m.u2.s2.DataInfoOffset)
				return false;
			break;
		case LPC_OP_REPLY:
			if (type != LPC_REPLY)
				return false;
			break;
		case LPC_OP_EXCEPTION:
			if (type != LPC_EXCEPTION || m.u2.s2.DataInfoOffset)
				return false;
			break;
		}
		if (w.flags & LPC_WF_DATAINFO) {
			if (w.op != LPC_OP_REQUEST && w.op != LPC_OP_CALLBACK)
				return false;
			return ref_datainfo(buf + sizeof(w), body) >= 0;
		}
		return m.u2.s2.DataInfoOffset == 0;
	}

	switch (w.op) {
	case LPC_OP_CONNECT:
		return w.msgid && body <= LPC_MAX_DATA_LENGTH &&
		       (w.arg0 != 0) == has_fd;
	case LPC_OP_ACCEPT:
		return w.target > 0 && w.msgid && body <= LPC_MAX_DATA_LENGTH &&
		       (w.arg1 != 0) == has_fd &&
		       w.aux <= LPC_MAX_MESSAGE_LENGTH;
	case LPC_OP_REJECT:
		return w.target > 0 && w.msgid && body <= LPC_MAX_DATA_LENGTH;
	case LPC_OP_COMPLETE:
		return w.target > 0 && w.msgid && body == 0;
	case LPC_OP_DIED:
		return w.msgid && body == 0;
	case LPC_OP_VIEWMAP:
	case LPC_OP_CLOSE:
	case LPC_OP_TERMREG:
		return body == 0;
	case LPC_OP_DATA_WRITE:
		return w.target > 0 && w.msgid && w.arg1 &&
		       w.arg1 <= LPC_WIRE_CHUNK && body == w.arg1;
	case LPC_OP_DATA_READ:
		return w.target > 0 && w.msgid && w.arg1 &&
		       w.arg1 <= LPC_WIRE_CHUNK && body == 0;
	case LPC_OP_DATA_RESULT:
		return w.target > 0 && w.msgid && w.arg0 <= LPC_WIRE_CHUNK &&
		       body <= w.arg0;
	}
	return false;
}

/* Every pure check on one packet (no I/O): the validator and the length
 * and data-info rules against the reference. */
static void check_pure(const uint8_t *buf, uint32_t len, uint32_t max_extra)
{
	static const uint32_t maxes[] = { 0, LPC_MAX_MESSAGE_LENGTH, 0x100,
					  0x60 };
	struct lpc_wire w;

	for (int dir = 0; dir < 2; dir++)
		for (int fd = 0; fd < 2; fd++)
			for (unsigned i = 0; i <= sizeof(maxes) / 4; i++) {
				uint32_t mx = i < sizeof(maxes) / 4 ? maxes[i]
								    : max_extra;
				bool want = ref_wire_ok(buf, len, dir, mx, fd);
				int got = lpc_wire_check(buf, len, dir, mx, fd);

				FUZZ_CHECK(want == (got == 0),
					   "lpc_wire_check(len %u, dir %d, max "
					   "%u, fd %d) = %d, reference %s",
					   len, dir, mx, fd, got,
					   want ? "accepts" : "refuses");
				FUZZ_CHECK(got == 0 || got == -EPROTO,
					   "lpc_wire_check returned %d", got);
			}
	if (len < sizeof(w) + HDR)
		return;
	memcpy(&w, buf, sizeof(w));
	{
		const uint8_t *msg = buf + sizeof(w);
		uint32_t blen = len - (uint32_t)sizeof(w);
		PORT_MESSAGE m;
		long want;
		int got;

		memcpy(&m, msg, HDR);
		got = lpc_msg_check_lengths(&m);
		FUZZ_CHECK((got == 0) == ref_lengths_ok(&m) &&
				   (got == 0 || got == -EINVAL),
			   "lpc_msg_check_lengths %d", got);
		got = lpc_msg_check_max(&m, max_extra);
		FUZZ_CHECK((got == 0) == ref_max_ok(&m, max_extra) &&
				   (got == 0 || got == -LPC_ETOOLONG),
			   "lpc_msg_check_max(%u) %d", max_extra, got);
		got = lpc_msg_check(&m, max_extra);
		FUZZ_CHECK(got == (!ref_lengths_ok(&m) ? -EINVAL
				   : !ref_max_ok(&m, max_extra) ? -LPC_ETOOLONG
								 : 0),
			   "lpc_msg_check %d", got);
		FUZZ_CHECK(lpc_msg_copy_len(&m) ==
				   HDR + (((uint32_t)(uint16_t)m.u1.s1.DataLength +
					   3) & ~3u),
			   "lpc_msg_copy_len");
		want = ref_datainfo(msg, blen);
		got = lpc_msg_datainfo(msg, blen);
		FUZZ_CHECK(want == got || (want < 0 && got == -EINVAL),
			   "lpc_msg_datainfo(len %u) = %d, reference %ld",
			   blen, got, want);
		for (long i = 0; i < want && i < 4; i++) {
			PORT_DATA_ENTRY e, r;
			size_t at = (uint16_t)m.u2.s2.DataInfoOffset + 8 +
				    (size_t)i * 16;

			lpc_msg_dataentry(msg, (uint32_t)i, &e);
			memcpy(&r.Base, msg + at, 8);
			memcpy(&r.Size, msg + at + 8, 4);
			FUZZ_CHECK(e.Base == r.Base && e.Size == r.Size,
				   "lpc_msg_dataentry %ld", i);
		}
	}
}

/* lpc_name_to_path: a name it accepts comes back unchanged through the
 * inverse (UTF-8 path to "\..." UTF-16). */
static void check_name(const uint16_t *w, size_t n)
{
	char out[LPC_NAME_MAX_BYTES];
	uint16_t back[LPC_NAME_MAX_BYTES + 2];
	size_t k = 0;
	int r = lpc_name_to_path(w, n, out, sizeof(out));

	FUZZ_CHECK(r == 0 || r == -LPC_EPATHSYNTAX || r == -LPC_ENAMEINVALID ||
			   r == -ENAMETOOLONG,
		   "lpc_name_to_path %d", r);
	if (r)
		return;
	FUZZ_CHECK(n > 0 && w[0] == '\\', "accepted a relative name");
	back[k++] = '\\';
	for (const unsigned char *p = (const unsigned char *)out; *p;) {
		uint32_t c;
		int extra;

		if (*p == '/') {
			back[k++] = '\\';
			p++;
			continue;
		}
		if (*p < 0x80) {
			c = *p;
			extra = 0;
		} else if ((*p & 0xe0) == 0xc0) {
			c = *p & 0x1f;
			extra = 1;
		} else if ((*p & 0xf0) == 0xe0) {
			c = *p & 0x0f;
			extra = 2;
		} else {
			c = *p & 0x07;
			extra = 3;
		}
		p++;
		for (int i = 0; i < extra; i++) {
			FUZZ_CHECK((*p & 0xc0) == 0x80, "bad UTF-8 in path");
			c = c << 6 | (*p++ & 0x3f);
		}
		FUZZ_CHECK(k + 2 < sizeof(back) / 2, "path too long");
		if (c >= 0x10000) {
			c -= 0x10000;
			back[k++] = (uint16_t)(0xd800 | c >> 10);
			back[k++] = (uint16_t)(0xdc00 | (c & 0x3ff));
		} else {
			back[k++] = (uint16_t)c;
		}
	}
	FUZZ_CHECK(k == n && !memcmp(back, w, n * 2),
		   "lpc_name_to_path does not round-trip (%zu vs %zu units)",
		   k, n);
}

/* ------------------------------------------------------------------ */
/* Process-wide state, made once (after AFL's fork server started)     */
/* ------------------------------------------------------------------ */

struct worker;

static struct {
	bool ready;
	pid_t pid, main_tid, parked_tid;
	HANDLE ports[NPORTS];
	char port_path[NPORTS][256];
	int evil_fd;			/* raw listening socket */
	volatile uint32_t *ids;		/* the shared MessageId counter page */
	uint8_t *guard;			/* [g][buf0][g][buf1][g][buf2][g] */
	uint8_t *bufs[3];
	struct fuzz_snapshot snap;
	int handles;			/* live handles at rest */
} G;

#define PAGE 4096
#define GBUF (3 * PAGE)

/* The bytes a guarded buffer holds at rest. */
static uint8_t guard_byte(int b, size_t i)
{
	return (uint8_t)(0x5a ^ (b * 0x31) ^ (i * 7) ^ (i >> 7));
}

static uint8_t guard_pattern[3][GBUF];

static void guard_reset(void)
{
	for (int b = 0; b < 3; b++)
		memcpy(G.bufs[b], guard_pattern[b], GBUF);
}

/* ------------------------------------------------------------------ */
/* The worker: one thread, made once, that runs the calls that block   */
/* ------------------------------------------------------------------ */

struct job;
typedef void (*job_fn)(struct job *);

struct job {
	job_fn fn;
	/* in */
	HANDLE h;
	void *a, *b, *c, *d, *e, *f, *g;
	ULONG u;
	SIZE_T n;
	BOOLEAN flag;
	/* out */
	NTSTATUS st;
};

static struct {
	pthread_t thread;
	pid_t tid;
	int efd;
	int stat_fd, sys_fd;
	atomic_int busy;
	struct job *job;
} W;

static void worker_wait_job(void) UNTRACED(worker_wait_job);
static void worker_wait_job(void)
{
	uint64_t v;

	while (read(W.efd, &v, sizeof(v)) != sizeof(v))
		;
}

static void *worker_main(void *arg)
{
	(void)arg;
	W.tid = (pid_t)syscall(SYS_gettid);
	for (;;) {
		worker_wait_job();
		W.job->fn(W.job);
		atomic_store_explicit(&W.busy, 0, memory_order_release);
	}
	return NULL;
}

static void worker_post(struct job *j)
{
	uint64_t one = 1;

	W.job = j;
	atomic_store_explicit(&W.busy, 1, memory_order_release);
	if (write(W.efd, &one, sizeof(one)) != sizeof(one))
		fuzz_hang("cannot wake the worker");
}

/* The worker sleeps in a call that only a peer's packet can end: poll
 * (the server transport), recvmsg (the client's).  A thread woken by a
 * send is runnable before send() returns, so "asleep there" after our
 * own sends means "waiting for us". */
static int worker_blocked(void) UNTRACED(worker_blocked);
static int worker_blocked(void)
{
	char buf[512];
	const char *p;
	ssize_t n;
	long nr;

	n = pread(W.stat_fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	p = strrchr(buf, ')');
	if (!p || p[1] != ' ' || p[2] != 'S')
		return 0;
	n = pread(W.sys_fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	if (buf[0] < '0' || buf[0] > '9')
		return 0;
	nr = strtol(buf, NULL, 10);
	return nr == SYS_poll || nr == SYS_ppoll || nr == SYS_recvmsg ||
	       nr == SYS_recvfrom;
}

/* ------------------------------------------------------------------ */
/* Per-input state                                                     */
/* ------------------------------------------------------------------ */

enum { SK_NONE, SK_CLIENT, SK_HOST };

struct sock {
	int fd;
	int kind;
	int port;			/* SK_CLIENT: which port */
	bool shut, hup;
	int gen;			/* which socket of this input it is */
	uint32_t cli_max;		/* SK_HOST: the client port's max */
	/* what the engine sent us last, overall and per op */
	struct lpc_wire last, lastop[LPC_OP_MAX];
	bool have_last, haveop[LPC_OP_MAX];
	/* SK_HOST: the CONNECT received */
	uint8_t conn_info[LPC_MAX_DATA_LENGTH];
	uint32_t conn_infolen;
	/* SK_CLIENT: the view memfd sent with a CONNECT */
	int view_fd;
	uint64_t view_off, view_size;
	/* DATA_READ/WRITEs we sent that the reference accepts: the engine
	 * answers them in order, each at most once */
	struct {
		struct lpc_wire w;
		const uint8_t *body;
	} data[8];
	int ndata;
};

/* A packet a raw socket sent. */
struct sent {
	int sock, gen, kind, port;	/* the socket as it was then */
	struct lpc_wire w;
	uint32_t blen;
	uint8_t *body;
	bool has_fd;
	bool ok;		/* the reference accepts it at its receiver */
	bool delivered, answered;
	bool settled;		/* its sender no longer waits (answered, or
				   the server replied or accepted) */
};

/* A message the server received. */
struct rec {
	bool used;
	int port;		/* the handle it was received through */
	int sock;		/* the socket it came from, -1 unknown */
	int log;
	_Alignas(8) uint8_t m[RECV_MAX];
};

/* A request a worker call sent with data info: its entries. */
struct own_req {
	bool active;
	int sock;		/* whose engine serves it: -1 none */
	pid_t tid;
	uint32_t msgid;		/* learnt from the packet */
	long count;
	PORT_DATA_ENTRY e[8];
};

/* An accept in progress: its ACCEPT or REJECT may be read while the
 * worker still waits. */
struct accepting {
	bool active, accept, view;
	pid_t tid;
	uint32_t msgid;
	uint32_t infolen;
	uint8_t info[LPC_MAX_DATA_LENGTH];
	void *ctx;		/* NULL: the handle value */
	int port_max;
};

static struct {
	struct sock s[NSOCK];
	struct sent log[NLOG];
	int nlog;
	uint8_t *arena;
	size_t arena_used;
	struct rec rec[NREC];
	HANDLE comm[NCOMM];
	void *comm_ctx[NCOMM];
	HANDLE cport[NCPORT];
	struct own_req own;
	struct accepting acc;
	bool completing;	/* a NtCompleteConnectPort is in progress */
	/* The worker's request as its peer saw it. */
	struct {
		bool active, seen;
		uint32_t msgid;
	} wreq;
	int host_new;		/* the hostile connection accepted last */
	/* Datagrams our own thread queued on a connection port. */
	struct {
		int port;
		bool delivered;
		_Alignas(8) uint8_t m[RECV_MAX];
	} local[8];
	int nlocal;
	int attach[32];		/* fds we keep until the end */
	int nattach;
	/* Per socket generation: the last delivery (order), the
	 * connection's PortContext. */
	int gens;
	int fifo[MAXGEN];
	void *gctx[MAXGEN];
	bool gctx_known[MAXGEN];
} S;

#define ARENA (NLOG * (LPC_WIRE_MAX + 64))

/* Handles stay small: the table reuses freed slots first.  One past
 * the counted range would hide a leak. */
#define NHANDLES 96
static void note_handle(HANDLE h)
{
	FUZZ_CHECK((uintptr_t)h >> 2 <= NHANDLES,
		   "handle value %p: the table keeps growing", h);
}

/* ------------------------------------------------------------------ */
/* Selectors: compact, semantic encodings of ids, tids and arguments   */
/* ------------------------------------------------------------------ */

static uint32_t next_msgid(void)
{
	return G.ids ? G.ids[1] : 1;
}

static const struct lpc_wire *last_of(int k, unsigned op)
{
	if (k < 0 || k >= NSOCK)
		return NULL;
	if (op == 0)
		return S.s[k].have_last ? &S.s[k].last : NULL;
	op %= LPC_OP_MAX;
	return S.s[k].haveop[op] ? &S.s[k].lastop[op] : NULL;
}

static const PORT_MESSAGE *rec_msg(unsigned i)
{
	i %= NREC;
	return S.rec[i].used ? (const PORT_MESSAGE *)(void *)S.rec[i].m
			     : NULL;
}

static int32_t sel_tid(struct fuzz_in *in, int k)
{
	static const int32_t special[] = { 0, -1, 1, 0x3fffffff, 0x7fffffff,
					   -2 };
	uint8_t b = fuzz_u8(in);
	unsigned mode = b & 7, param = b >> 3;
	const struct lpc_wire *l;
	const PORT_MESSAGE *m;

	switch (mode) {
	case 0:
		return (int32_t)fuzz_u32(in);
	case 1: {
		pid_t t[3] = { G.main_tid, W.tid, G.parked_tid };

		return t[param % 3];
	}
	case 2:
		l = last_of(k, 0);
		return l ? l->tid : 0;
	case 3:
		l = last_of(k, 0);
		return l ? l->target : 0;
	case 4:
		l = last_of(k, param);
		return l ? l->tid : 0;
	case 5:
		m = rec_msg(param);
		return m ? (int32_t)(uintptr_t)m->ClientId.UniqueThread : 0;
	case 6:
		return special[param % 6];
	default:
		return G.pid;
	}
}

static uint32_t sel_msgid(struct fuzz_in *in, int k)
{
	uint8_t b = fuzz_u8(in);
	unsigned mode = b & 7, param = b >> 3;
	const struct lpc_wire *l;
	const PORT_MESSAGE *m;

	switch (mode) {
	case 0:
		return fuzz_u32(in);
	case 1:
		l = last_of(k, 0);
		return (l ? l->msgid : 0) + param - 16;
	case 2:
		l = last_of(k, param);
		return l ? l->msgid : 0;
	case 3:
		return next_msgid() + param;
	case 4:
		m = rec_msg(param);
		return m ? m->MessageId : 0;
	case 5:
		for (int i = S.nlog; i-- > 0;)
			if (S.log[i].sock == k && param-- == 0)
				return S.log[i].w.msgid;
		return 0;
	case 6:
		return 0;
	default:
		return 0xffffffffu - param;
	}
}

static uint64_t sel_arg(struct fuzz_in *in, int k)
{
	static const uint64_t table[] = {
		4096, 65536, LPC_MAX_MESSAGE_LENGTH, LPC_WIRE_CHUNK,
		LPC_WIRE_CHUNK + 1, 1 << 20, 4095, 8192 + 4096,
		LPC_MAX_DATA_LENGTH, LPC_MAX_DATA_LENGTH + 1, 1, 0x7fffffff,
		0xffffffffull, ~0ull, 0x10000 - 1, 12288,
	};
	uint8_t b = fuzz_u8(in);
	unsigned mode = b & 7, param = b >> 3;
	const struct lpc_wire *l = last_of(k, 0);

	switch (mode) {
	case 0:
		return 0;
	case 1:
		return fuzz_u8(in);
	case 2:
		return fuzz_u16(in);
	case 3:
		return fuzz_u32(in);
	case 4:
		return fuzz_u64(in);
	case 5:
		return (l ? l->arg0 : 0) + param;
	case 6:
		return (l ? l->arg1 : 0) + param;
	default:
		return table[param % 16];
	}
}

static uint32_t sel_aux(struct fuzz_in *in, int k)
{
	static const uint32_t table[] = {
		0, LPC_MAX_MESSAGE_LENGTH, LPC_MAX_MESSAGE_LENGTH + 1, 0x100,
		0x60, EINVAL, LPC_EMISMATCH, EFAULT, 1, 2, 0xffffffffu, 0x200,
		HDR, HDR + 1, 0x300, 8,
	};
	uint8_t b = fuzz_u8(in);
	unsigned mode = b & 3, param = b >> 2;
	const struct lpc_wire *l = last_of(k, 0);

	switch (mode) {
	case 0:
		return fuzz_u32(in);
	case 1:
		return table[param % 16];
	case 2:
		return (l ? l->aux : 0) + (param & 7);
	default:
		return (G.ids ? G.ids[2] : 1) + param;
	}
}

/* ------------------------------------------------------------------ */
/* Building messages                                                   */
/* ------------------------------------------------------------------ */

static uint8_t fill_byte(size_t i)
{
	return (uint8_t)(i * 7 + 1);
}

/* A data-information block at off of msg (room bytes available): count
 * and up to 8 entries from the input, naming guarded buffers. */
static void put_dinfo(struct fuzz_in *in, uint8_t *msg, uint32_t off,
		      uint32_t room)
{
	uint8_t cnt = fuzz_u8(in);
	uint32_t count = cnt & 0x80 ? fuzz_u32(in) : cnt & 0x0f;
	uint32_t at;

	if (off + 4 <= room)
		memcpy(msg + off, &count, 4);
	at = off + 8;
	for (unsigned i = 0; i < (cnt & 0x0f) && i < 8; i++, at += 16) {
		uint8_t bs = fuzz_u8(in);
		uint16_t o = fuzz_u16(in) % GBUF;
		uint32_t size = bs & 0x40 ? fuzz_u32(in) : fuzz_u16(in) % 0x3000;
		uintptr_t base;

		switch (bs & 3) {
		case 3:
			base = bs & 0x80 ? 0 : (uintptr_t)fuzz_u64(in);
			break;
		default:
			base = (uintptr_t)G.bufs[bs & 3] + o;
			break;
		}
		if (at + 16 <= room) {
			memcpy(msg + at, &base, 8);
			memcpy(msg + at + 8, &size, 4);
			memset(msg + at + 12, 0, 4);
		}
	}
}

/*
 * A PORT_MESSAGE with its data in out (cap bytes); returns the bytes
 * that make up header + ALIGN4(DataLength), capped.  auto_type is the
 * Type a well-formed message of this use has; msgid the MessageId it
 * carries unless the input says otherwise.
 */
static uint32_t build_msg(struct fuzz_in *in, int k, uint8_t *out,
			  uint32_t cap, uint16_t auto_type, uint32_t msgid)
{
	PORT_MESSAGE *m = (PORT_MESSAGE *)(void *)out;
	uint16_t dl = fuzz_u16(in);
	uint8_t tl = fuzz_u8(in), ts = fuzz_u8(in), dm = fuzz_u8(in);
	uint8_t misc = fuzz_u8(in), nx;
	uint32_t dlen, copy, total;
	uint16_t di = 0;

	memset(out, 0, cap);
	/* dl's top bit makes it negative: keep it only when asked. */
	if (!(tl & 4))
		dl &= 0x3ff;
	switch (tl & 3) {
	case 0:
		total = HDR + dl;
		break;
	case 1:
		total = HDR + dl + fuzz_u8(in);
		break;
	case 2:
		total = fuzz_u16(in);
		break;
	default:
		total = HDR + dl - fuzz_u8(in);
		break;
	}
	m->u1.s1.DataLength = (CSHORT)dl;
	m->u1.s1.TotalLength = (CSHORT)total;
	if (ts == 0)
		m->u2.s2.Type = (CSHORT)auto_type;
	else
		m->u2.s2.Type = (CSHORT)(((ts - 1) & 0xf) |
					 (((ts - 1) >> 4) << 12));
	m->MessageId = misc & 0x10 ? fuzz_u32(in) : msgid;
	switch (misc & 3) {
	case 1:
		m->ClientId.UniqueProcess = (HANDLE)(uintptr_t)G.pid;
		m->ClientId.UniqueThread = (HANDLE)(uintptr_t)sel_tid(in, k);
		break;
	case 2:
		m->ClientId.UniqueProcess = (HANDLE)(uintptr_t)fuzz_u32(in);
		m->ClientId.UniqueThread = (HANDLE)(uintptr_t)fuzz_u32(in);
		break;
	case 3: {
		const PORT_MESSAGE *r = rec_msg(fuzz_u8(in));

		if (r)
			m->ClientId = r->ClientId;
		break;
	}
	}
	if (misc & 4)
		m->CallbackId = fuzz_u32(in);
	else if (misc & 8)
		m->ClientViewSize = (SIZE_T)fuzz_u64(in);
	dlen = (uint32_t)(uint16_t)dl;
	copy = HDR + LPC_ALIGN4(dlen);
	if (copy > cap)
		copy = cap;
	nx = fuzz_u8(in);
	for (uint32_t i = HDR; i < copy && i < RECV_MAX; i++)
		out[i] = i - HDR < nx ? fuzz_u8(in) : fill_byte(i);
	switch (dm & 3) {
	case 0:
		break;
	case 1:	/* a block at a chosen place in the data */
		di = (uint16_t)(HDR + 4 * (dm >> 2));
		put_dinfo(in, out, di, copy);
		break;
	case 2:	/* an offset alone */
		di = fuzz_u16(in);
		break;
	default:	/* an offset, and a block there if it fits */
		di = fuzz_u16(in);
		if (di < copy)
			put_dinfo(in, out, di, copy);
		break;
	}
	m->u2.s2.DataInfoOffset = (CSHORT)di;
	return copy;
}

/* ------------------------------------------------------------------ */
/* Raw sockets                                                         */
/* ------------------------------------------------------------------ */

static void sock_close(int k)
{
	struct sock *s = &S.s[k];

	if (s->fd >= 0)
		close(s->fd);
	if (s->view_fd >= 0)
		close(s->view_fd);
	memset(s, 0, sizeof(*s));
	s->fd = -1;
	s->view_fd = -1;
}

static int raw_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	int sz = 1 << 20;

	if (fd < 0)
		return -1;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* fds to pass with a packet, per the input: a memfd sealed as a section
 * is, one that may shrink, a pipe, or several. */
static int make_fds(struct fuzz_in *in, int *fds, uint64_t *size_out)
{
	static const uint32_t sizes[] = { 4096, 8192, 65536, 1, 4095, 0,
					  12288, 1 << 20 };
	uint8_t kind = fuzz_u8(in);
	uint32_t size = kind & 0x80 ? (uint32_t)fuzz_u16(in) * 16
				    : sizes[(kind >> 4) & 7];
	int n = 0, fd;

	*size_out = size;
	switch (kind & 7) {
	case 0:
	case 1:
	case 2: /* a memfd: sealed against shrinking (0), not (1), only
		   against growing (2) */
		fd = (int)syscall(SYS_memfd_create, "fuzz-view",
				  MFD_CLOEXEC | MFD_ALLOW_SEALING);
		if (fd < 0)
			return 0;
		if (ftruncate(fd, size) < 0) {
			close(fd);
			return 0;
		}
		if ((kind & 7) == 0)
			fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW);
		else if ((kind & 7) == 2)
			fcntl(fd, F_ADD_SEALS, F_SEAL_GROW);
		fds[n++] = fd;
		break;
	case 3: {
		int p[2];

		if (pipe2(p, O_CLOEXEC))
			return 0;
		close(p[1]);
		fds[n++] = p[0];
		break;
	}
	default: /* 2..6 sealed memfds */
		for (int i = 0; i < 2 + (kind & 7) - 4 && n < 6; i++) {
			fd = (int)syscall(SYS_memfd_create, "fuzz-view",
					  MFD_CLOEXEC | MFD_ALLOW_SEALING);
			if (fd < 0)
				break;
			if (ftruncate(fd, size) == 0)
				fcntl(fd, F_ADD_SEALS,
				      F_SEAL_SHRINK | F_SEAL_GROW);
			fds[n++] = fd;
		}
		break;
	}
	return n;
}

static int raw_sendmsg(int fd, const void *buf, size_t len, const int *fds,
		       int nfds)
{
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int) * 8)];
	} ctl;
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (nfds) {
		struct cmsghdr *c;

		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.b;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	return sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT) < 0 ? -errno : 0;
}

static uint32_t sock_max(int k)
{
	const struct sock *s = &S.s[k];

	if (s->kind == SK_CLIENT)
		return port_defs[s->port].max_msg;
	return s->cli_max;
}

/* ------------------------------------------------------------------ */
/* What the engine sends: checked as it is read                        */
/* ------------------------------------------------------------------ */

static void check_data_result(int k, const struct lpc_wire *w,
			      const uint8_t *body, uint32_t blen);
static void check_own_data(int k, const struct lpc_wire *w, uint32_t blen);

/* Whether the connection of log entry e is still up as far as the engine
 * can know: our socket open, not shut by us, not shut by the engine (it
 * shuts a link down the moment it gives up on it). */
static bool sent_link_alive(const struct sent *e)
{
	const struct sock *s = &S.s[e->sock];
	struct pollfd p;

	if (s->gen != e->gen || s->fd < 0 || s->shut || s->hup)
		return false;
	p.fd = s->fd;
	p.events = POLLRDHUP;
	p.revents = 0;
	return poll(&p, 1, 0) == 0 ||
	       !(p.revents & (POLLHUP | POLLRDHUP | POLLERR));
}

/* A request, exception or connection request of ours that the server
 * answered, by whatever means: its thread no longer waits. */
static void mark_answered(int port, pid_t tid, uint32_t msgid, bool connect)
{
	for (int i = 0; i < S.nlog; i++) {
		struct sent *e = &S.log[i];

		if (!e->delivered || e->settled || e->w.tid != tid ||
		    e->w.msgid != msgid || (port >= 0 && e->port != port))
			continue;
		if (connect ? e->w.op == LPC_OP_CONNECT
			    : e->w.op != LPC_OP_CONNECT)
			e->settled = true;
	}
}

/* A REPLY or CALLBACK must answer a request (or a re-registration) this
 * socket sent, for that thread and MessageId, once. */
static void consume_answer(int k, const struct lpc_wire *w)
{
	for (int i = S.nlog; i-- > 0;) {
		struct sent *e = &S.log[i];

		if (e->gen != S.s[k].gen || !e->ok || e->answered ||
		    e->w.tid != w->target || e->w.msgid != w->msgid)
			continue;
		/* What makes its sender wait: a request, an exception, a
		 * callback, a reply that waits again. */
		if (e->w.op == LPC_OP_REQUEST || e->w.op == LPC_OP_CALLBACK ||
		    e->w.op == LPC_OP_EXCEPTION ||
		    (e->w.op == LPC_OP_REPLY && (e->w.flags & LPC_WF_WAIT))) {
			e->answered = e->settled = true;
			return;
		}
	}
	fuzz_fail(__FILE__, __LINE__, "answered",
		  "%s to tid %d msgid %u on socket %d, which sent no such "
		  "request (or it was answered already)",
		  w->op == LPC_OP_REPLY ? "REPLY" : "CALLBACK", w->target,
		  w->msgid, k);
}

static void engine_packet(int k, const uint8_t *buf, uint32_t n, int fd)
{
	struct sock *s = &S.s[k];
	enum lpc_wire_dir dir = s->kind == SK_CLIENT ? LPC_WIRE_TO_CLIENT
						      : LPC_WIRE_TO_SERVER;
	const uint8_t *body = buf + sizeof(struct lpc_wire);
	uint32_t blen;
	struct lpc_wire w;

	FUZZ_CHECK(ref_wire_ok(buf, n, dir, sock_max(k), fd >= 0),
		   "the engine sent a packet its peer must refuse (op %u, "
		   "len %u, socket %d)",
		   n >= 4 ? buf[3] : 0, n, k);
	memcpy(&w, buf, sizeof(w));
	blen = n - (uint32_t)sizeof(w);
	TRACE("  sock %d <- op %u flags %#x tid %d target %d msgid %#x aux "
	      "%#x arg0 %#llx arg1 %#llx body %u%s\n",
	      k, w.op, w.flags, w.tid, w.target, w.msgid, w.aux,
	      (unsigned long long)w.arg0, (unsigned long long)w.arg1, blen,
	      fd >= 0 ? " +fd" : "");
	s->last = w;
	s->have_last = true;
	s->lastop[w.op % LPC_OP_MAX] = w;
	s->haveop[w.op % LPC_OP_MAX] = true;

	if ((w.op == LPC_OP_REQUEST || w.op == LPC_OP_CALLBACK) &&
	    w.tid == W.tid && S.wreq.active) {
		S.wreq.seen = true;
		S.wreq.msgid = w.msgid;
		if ((w.flags & LPC_WF_DATAINFO) && S.own.active) {
			S.own.sock = k;
			S.own.msgid = w.msgid;
		}
	}
	switch (w.op) {
	case LPC_OP_REPLY:
	case LPC_OP_CALLBACK:
		consume_answer(k, &w);
		break;
	case LPC_OP_ACCEPT:
	case LPC_OP_REJECT:
		FUZZ_CHECK(S.acc.active && S.acc.accept ==
				   (w.op == LPC_OP_ACCEPT) &&
				   S.acc.tid == w.target &&
				   S.acc.msgid == w.msgid,
			   "%s for tid %d msgid %u nobody asked for",
			   w.op == LPC_OP_ACCEPT ? "ACCEPT" : "REJECT",
			   w.target, w.msgid);
		FUZZ_CHECK(blen == S.acc.infolen &&
				   !memcmp(body, S.acc.info, blen),
			   "reply connection information altered");
		FUZZ_CHECK(w.op != LPC_OP_ACCEPT ||
				   (w.aux == (uint32_t)S.acc.port_max &&
				    (fd >= 0) == S.acc.view),
			   "ACCEPT: max %u, fd %d", w.aux, fd);
		S.acc.active = false;
		mark_answered(-1, w.target, w.msgid, true);
		if (w.op == LPC_OP_ACCEPT)
			S.gctx_known[s->gen] = false;	/* from the call */
		break;
	case LPC_OP_COMPLETE:
		FUZZ_CHECK(S.completing, "COMPLETE nobody asked for");
		break;
	case LPC_OP_CONNECT:
		FUZZ_CHECK(s->kind == SK_HOST && w.tid == W.tid,
			   "CONNECT from tid %d", w.tid);
		s->conn_infolen = blen;
		memcpy(s->conn_info, body, blen);
		break;
	case LPC_OP_DATA_RESULT:
		check_data_result(k, &w, body, blen);
		break;
	case LPC_OP_DATA_READ:
	case LPC_OP_DATA_WRITE:
		check_own_data(k, &w, blen);
		break;
	}
}

/* Read everything the engine sent to our raw sockets; accept the
 * connections our hostile server has.  Safe to run while the worker
 * is inside a call. */
static void drain(void) UNTRACED(drain);
static void drain(void)
{
	static _Alignas(8) uint8_t buf[2 * LPC_WIRE_MAX];
	struct pollfd pf[NSOCK + 1];
	int idx[NSOCK + 1], n = 0;

	/* One poll for all: accept4() on an empty queue costs a socket
	 * allocation in the kernel, recvmsg a failed call per socket. */
	pf[n].fd = G.evil_fd;
	pf[n].events = POLLIN;
	idx[n++] = -1;
	for (int k = 0; k < NSOCK; k++)
		if (S.s[k].fd >= 0 && !S.s[k].hup) {
			pf[n].fd = S.s[k].fd;
			pf[n].events = POLLIN;
			idx[n++] = k;
		}
	if (poll(pf, (nfds_t)n, 0) <= 0)
		return;
	while (pf[0].revents & POLLIN) {
		int fd = accept4(G.evil_fd, NULL, NULL,
				 SOCK_CLOEXEC | SOCK_NONBLOCK);
		int k;

		if (fd < 0)
			break;
		for (k = NRAW; k < NSOCK && S.s[k].kind != SK_NONE; k++)
			;
		if (k == NSOCK) {
			close(fd);
			continue;
		}
		S.s[k].fd = fd;
		S.s[k].kind = SK_HOST;
		S.s[k].gen = S.gens < MAXGEN - 1 ? S.gens++ : MAXGEN - 1;
		S.host_new = k;
		/* what it sent is read by the next drain */
	}
	for (int i = 1; i < n; i++) {
		struct sock *s = &S.s[idx[i]];

		if (!pf[i].revents)
			continue;
		while (s->fd >= 0 && !s->hup) {
			union {
				struct cmsghdr h;
				char b[CMSG_SPACE(sizeof(int) * 8)];
			} ctl;
			struct iovec iov = { buf, sizeof(buf) };
			struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
					     .msg_control = ctl.b,
					     .msg_controllen = sizeof(ctl.b) };
			int pfd = -1, extra = 0;
			ssize_t r = recvmsg(s->fd, &mh,
					    MSG_DONTWAIT | MSG_CMSG_CLOEXEC);

			if (r < 0 && errno == EAGAIN) {
				if (pf[i].revents & (POLLHUP | POLLERR))
					s->hup = true;
				break;
			}
			if (r <= 0) {
				s->hup = true;
				break;
			}
			for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c;
			     c = CMSG_NXTHDR(&mh, c)) {
				int nf = (int)((c->cmsg_len - CMSG_LEN(0)) /
					       sizeof(int));
				int fds[8];

				memcpy(fds, CMSG_DATA(c), sizeof(int) * nf);
				for (int j = 0; j < nf; j++) {
					if (pfd < 0)
						pfd = fds[j];
					else {
						close(fds[j]);
						extra++;
					}
				}
			}
			FUZZ_CHECK(!(mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) &&
					   !extra,
				   "the engine sent an oversized packet");
			engine_packet(idx[i], buf, (uint32_t)r, pfd);
			if (pfd >= 0)
				close(pfd);
		}
	}
	if (pf[0].revents & POLLIN)
		drain();	/* the new connections' first packets */
}

/* Wait until the worker finished its call (1) or waits for a packet
 * from us (0). */
static int worker_settle(void) UNTRACED(worker_settle);
static int worker_settle(void)
{
	struct timespec t0, now;
	unsigned spins = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		drain();
		if (!atomic_load_explicit(&W.busy, memory_order_acquire))
			return 1;
		if (worker_blocked()) {
			drain();
			return atomic_load_explicit(&W.busy,
						    memory_order_acquire)
				       ? 0
				       : 1;
		}
		sched_yield();
		if (++spins % 4096 == 0) {
			clock_gettime(CLOCK_MONOTONIC, &now);
			if (now.tv_sec - t0.tv_sec > 20)
				fuzz_hang("the worker neither finishes nor "
					  "waits for a peer");
		}
	}
}

/* Make the worker finish: what it waits for will never come, so every
 * peer goes quiet (EOF) until its wait fails. */
static void worker_finish(void)
{
	while (atomic_load_explicit(&W.busy, memory_order_acquire)) {
		bool any = false;

		if (worker_settle())
			break;
		for (int k = 0; k < NSOCK; k++)
			if (S.s[k].fd >= 0 && !S.s[k].shut) {
				shutdown(S.s[k].fd, SHUT_WR);
				S.s[k].shut = true;
				any = true;
			}
		if (!any)
			fuzz_hang("the worker still waits with every peer gone");
	}
	drain();
}

/* Raw peer actions take place only while the worker is idle or waits
 * for us: each packet is then read by a quiescent engine. */
static void peer_turn(void)
{
	if (atomic_load_explicit(&W.busy, memory_order_acquire))
		worker_settle();
}

/* ------------------------------------------------------------------ */
/* Sending packets                                                     */
/* ------------------------------------------------------------------ */

static uint8_t *arena_take(size_t n)
{
	uint8_t *p;

	n = (n + 7) & ~(size_t)7;
	if (S.arena_used + n > ARENA)
		return NULL;
	p = S.arena + S.arena_used;
	S.arena_used += n;
	return p;
}

static void log_packet(int k, const uint8_t *buf, uint32_t len, bool has_fd)
{
	struct sent *e;
	enum lpc_wire_dir dir;

	if (S.nlog == NLOG || len < sizeof(struct lpc_wire))
		return;
	e = &S.log[S.nlog];
	memset(e, 0, sizeof(*e));
	e->sock = k;
	e->gen = S.s[k].gen;
	e->kind = S.s[k].kind;
	e->port = S.s[k].port;
	memcpy(&e->w, buf, sizeof(e->w));
	e->blen = len - (uint32_t)sizeof(e->w);
	e->body = arena_take(e->blen);
	if (!e->body)
		return;
	memcpy(e->body, buf + sizeof(e->w), e->blen);
	e->has_fd = has_fd;
	dir = S.s[k].kind == SK_CLIENT ? LPC_WIRE_TO_SERVER
				       : LPC_WIRE_TO_CLIENT;
	e->ok = ref_wire_ok(buf, len, dir, sock_max(k), has_fd);
	S.nlog++;
}

/*
 * OP_SEND: one packet from the input on socket k.
 *  u8 op, u8 flags, u8 ctl, tid, target, msgid, aux, arg0, arg1 selectors,
 *  then the body: a PORT_MESSAGE for message ops, else u16 length and
 *  bytes; ctl bits: 1 magic, 2 version, 4 pad, 8 fds, 16 raw body,
 *  32 length override, 64 skip the automatic fix-ups.
 */
static void op_send(struct fuzz_in *in)
{
	static _Alignas(8) uint8_t buf[2 * LPC_WIRE_MAX];
	uint8_t ks = fuzz_u8(in);
	int k = ks % NSOCK;
	struct lpc_wire w = { 0 };
	uint8_t ctl;
	uint32_t blen = 0, len;
	int fds[8], nfds = 0;
	uint64_t fsize = 0;
	struct sock *s = &S.s[k];

	w.op = (uint8_t)(fuzz_u8(in) % 20);
	w.flags = fuzz_u8(in);
	ctl = fuzz_u8(in);
	w.magic = LPC_WIRE_MAGIC;
	w.version = LPC_WIRE_VERSION;
	if (ctl & 1)
		w.magic = fuzz_u16(in);
	if (ctl & 2)
		w.version = fuzz_u8(in);
	if (ctl & 4)
		for (int i = 0; i < 3; i++)
			w.pad[i] = fuzz_u8(in);
	w.tid = sel_tid(in, k);
	w.target = sel_tid(in, k);
	w.msgid = sel_msgid(in, k);
	w.aux = sel_aux(in, k);
	w.arg0 = sel_arg(in, k);
	w.arg1 = sel_arg(in, k);
	if (ctl & 8)
		nfds = make_fds(in, fds, &fsize);
	if (!(ctl & 16) && ref_is_msg_op(w.op)) {
		static const uint16_t types[] = {
			[LPC_OP_REQUEST] = LPC_REQUEST,
			[LPC_OP_CALLBACK] = LPC_REQUEST,
			[LPC_OP_DATAGRAM] = LPC_DATAGRAM,
			[LPC_OP_REPLY] = LPC_REPLY,
			[LPC_OP_EXCEPTION] = LPC_EXCEPTION,
		};

		blen = build_msg(in, k, buf + sizeof(w),
				 sizeof(buf) - sizeof(w), types[w.op], w.msgid);
	} else {
		blen = fuzz_u16(in) % (2 * LPC_WIRE_CHUNK);
		for (uint32_t i = 0, nx = fuzz_u8(in); i < blen; i++)
			buf[sizeof(w) + i] = i < nx ? fuzz_u8(in)
						    : fill_byte(i);
	}
	if (!(ctl & 64)) {
		/* The fix-ups a well-behaved peer would make. */
		if (w.op == LPC_OP_DATA_WRITE && w.arg1 <= LPC_WIRE_CHUNK &&
		    !(ctl & 16))
			blen = (uint32_t)w.arg1;
		if ((w.op == LPC_OP_CONNECT || w.op == LPC_OP_ACCEPT) &&
		    nfds) {
			w.flags |= LPC_WF_VIEW;
			if (w.op == LPC_OP_CONNECT && !w.arg0)
				w.arg0 = fsize;
			if (w.op == LPC_OP_ACCEPT && !w.arg1)
				w.arg1 = fsize;
		}
	}
	if (ctl & 32)
		blen = fuzz_u16(in) % (2 * LPC_WIRE_CHUNK);
	if (w.op == LPC_OP_DATA_RESULT && skip_known_receive()) {
		/* What in_data could have answered: no more bytes than asked
		 * or carried, one of its errors. */
		static const uint32_t errs[] = { 0, EINVAL, EFAULT,
						 LPC_EMISMATCH };
		const struct lpc_wire *q = last_of(k, 0);
		uint64_t most = q && (q->op == LPC_OP_DATA_READ ||
				      q->op == LPC_OP_DATA_WRITE)
					? q->arg1
					: 0;

		if (w.arg0 > most)
			w.arg0 = most;
		if (blen > w.arg0)
			blen = (uint32_t)w.arg0;
		if (w.arg0 > blen && q && q->op == LPC_OP_DATA_READ)
			w.arg0 = blen;
		w.aux = errs[w.aux % 4];
	}
	len = (uint32_t)sizeof(w) + blen;
	memcpy(buf, &w, sizeof(w));

	check_pure(buf, len, fuzz_u16(in));

	peer_turn();
	if (s->fd < 0 || s->shut) {
		for (int i = 0; i < nfds; i++)
			close(fds[i]);
		return;
	}
	/* A view a server may map: bytes it can check at both ends.  Only
	 * the first valid CONNECT's: a later or refused one cuts the
	 * connection, and the server maps what the first one asked. */
	if (w.op == LPC_OP_CONNECT && nfds && s->kind == SK_CLIENT &&
	    s->view_fd < 0 &&
	    ref_wire_ok(buf, len, LPC_WIRE_TO_SERVER, sock_max(k), true)) {
		uint8_t b0 = 0xc3, b1 = 0x3c;

		pwrite(fds[0], &b0, 1, (off_t)w.arg1);
		if (w.arg0 && w.arg1 + w.arg0 - 1 < fsize)
			pwrite(fds[0], &b1, 1, (off_t)(w.arg1 + w.arg0 - 1));
		if (s->view_fd >= 0)
			close(s->view_fd);
		s->view_fd = dup(fds[0]);
		s->view_off = w.arg1;
		s->view_size = w.arg0;
	}
	TRACE("  sock %d -> op %u flags %#x tid %d target %d msgid %#x aux "
	      "%#x arg0 %#llx arg1 %#llx body %u fds %d ref %s\n",
	      k, w.op, w.flags, w.tid, w.target, w.msgid, w.aux,
	      (unsigned long long)w.arg0, (unsigned long long)w.arg1, blen,
	      nfds,
	      ref_wire_ok(buf, len,
			  s->kind == SK_CLIENT ? LPC_WIRE_TO_SERVER
					       : LPC_WIRE_TO_CLIENT,
			  sock_max(k), nfds > 0)
		      ? "ok"
		      : "refused");
	if (raw_sendmsg(s->fd, buf, len, fds, nfds) == 0) {
		log_packet(k, buf, len, nfds > 0);
		if ((w.op == LPC_OP_DATA_READ || w.op == LPC_OP_DATA_WRITE) &&
		    S.nlog && S.log[S.nlog - 1].ok && s->ndata < 8) {
			s->data[s->ndata].w = w;
			s->data[s->ndata].body = S.log[S.nlog - 1].body;
			s->ndata++;
		}
	}
	for (int i = 0; i < nfds; i++)
		close(fds[i]);
}

/* OP_RAW: bytes as they come, on socket k (and the pure checks). */
static void op_raw(struct fuzz_in *in)
{
	static uint8_t buf[2 * LPC_WIRE_MAX];
	int k = fuzz_u8(in) % NSOCK;
	uint32_t len = fuzz_u16(in) % sizeof(buf);
	size_t got = fuzz_bytes(in, buf, len);

	for (uint32_t i = (uint32_t)got; i < len; i++)
		buf[i] = fill_byte(i);
	check_pure(buf, len, fuzz_u16(in));
	peer_turn();
	if (S.s[k].fd >= 0 && !S.s[k].shut &&
	    raw_sendmsg(S.s[k].fd, buf, len, NULL, 0) == 0)
		log_packet(k, buf, len, false);
}

static void op_open(struct fuzz_in *in)
{
	uint8_t b = fuzz_u8(in);
	int k = b % NRAW, port = (b >> 2) % NPORTS;

	peer_turn();
	sock_close(k);
	S.s[k].fd = raw_connect(G.port_path[port]);
	if (S.s[k].fd >= 0) {
		S.s[k].kind = SK_CLIENT;
		S.s[k].port = port;
		S.s[k].gen = S.gens < MAXGEN - 1 ? S.gens++ : MAXGEN - 1;
	}
}

static void op_shut(struct fuzz_in *in)
{
	uint8_t b = fuzz_u8(in);
	int k = b % NSOCK;

	peer_turn();
	if (S.s[k].fd < 0)
		return;
	if (b & 0x80) {
		/* Forget it entirely: the peer sees the hangup. */
		drain();
		sock_close(k);
	} else if (!S.s[k].shut) {
		shutdown(S.s[k].fd, SHUT_WR);
		S.s[k].shut = true;
	}
}

/* OP_PURE: a packet, only through the pure functions; and a name. */
static void op_pure(struct fuzz_in *in)
{
	static _Alignas(8) uint8_t buf[LPC_WIRE_MAX + 64];
	struct lpc_wire w = { .magic = LPC_WIRE_MAGIC,
			      .version = LPC_WIRE_VERSION };
	uint16_t names[300];
	uint32_t blen;
	unsigned n;

	w.op = (uint8_t)(fuzz_u8(in) % 20);
	w.flags = fuzz_u8(in);
	w.tid = sel_tid(in, 0);
	w.target = sel_tid(in, 0);
	w.msgid = sel_msgid(in, 0);
	w.aux = sel_aux(in, 0);
	w.arg0 = sel_arg(in, 0);
	w.arg1 = sel_arg(in, 0);
	if (ref_is_msg_op(w.op))
		blen = build_msg(in, 0, buf + sizeof(w), LPC_WIRE_CHUNK, 0,
				 w.msgid);
	else
		blen = fuzz_u16(in) % (LPC_WIRE_CHUNK + 8);
	memcpy(buf, &w, sizeof(w));
	check_pure(buf, (uint32_t)sizeof(w) + blen, fuzz_u32(in));
	n = fuzz_u8(in);
	for (unsigned i = 0; i < n; i++) {
		uint8_t c = fuzz_u8(in);

		names[i] = c == 1 ? '\\' : c == 2 ? '.' : c == 3 ? 0xd800
			 : c == 4 ? 0xdc00 : c >= 0xf0 ? fuzz_u16(in) : c;
	}
	if (n)
		names[0] = names[0] == 5 ? 'x' : '\\';
	check_name(names, n);
}

/* ------------------------------------------------------------------ */
/* Data transfers: checked against the guarded buffers                 */
/* ------------------------------------------------------------------ */

/* Whether [p, p + n) lies in a guarded buffer; and which. */
static int guarded(uintptr_t p, uint64_t n)
{
	for (int b = 0; b < 3; b++) {
		uintptr_t lo = (uintptr_t)G.bufs[b];

		if (p >= lo && p <= lo + GBUF && n <= lo + GBUF - p)
			return b;
	}
	return -1;
}

/* The engine's answer to a DATA_READ/WRITE we sent: it served our own
 * worker's request (S.own) from its memory.  It must never have touched
 * bytes outside the entry, and a refused transfer touches nothing. */
static void check_data_result(int k, const struct lpc_wire *w,
			      const uint8_t *body, uint32_t blen)
{
	struct sock *s = &S.s[k];
	struct lpc_wire qw;
	const struct lpc_wire *q = &qw;
	const uint8_t *qbody;
	bool valid;
	uint64_t off, len;
	const PORT_DATA_ENTRY *e;
	int i;

	/* It answers the oldest of ours it can (those before it got no
	 * answer: the engine refused them); a result for none of ours is
	 * the engine's reply to its own peer's request, not our business. */
	for (i = 0; i < s->ndata; i++)
		if (s->data[i].w.tid == w->target &&
		    s->data[i].w.msgid == w->msgid)
			break;
	if (i == s->ndata)
		return;
	qw = s->data[i].w;
	qbody = s->data[i].body;
	memmove(&s->data[0], &s->data[i + 1],
		sizeof(s->data[0]) * (size_t)(s->ndata - i - 1));
	s->ndata -= i + 1;
	FUZZ_CHECK(w->arg0 <= q->arg1,
		   "DATA_RESULT reports %llu bytes of %llu asked",
		   (unsigned long long)w->arg0, (unsigned long long)q->arg1);
	valid = S.own.active && S.own.sock == k && q->target == S.own.tid &&
		q->msgid == S.own.msgid && q->aux < S.own.count;
	e = valid ? &S.own.e[q->aux < 8 ? q->aux : 0] : NULL;
	off = q->arg0;
	len = q->arg1;
	if (valid && q->aux >= 8)
		valid = false;	/* beyond what we track: only safety */
	if (valid && (off > e->Size || len > e->Size - off)) {
		FUZZ_CHECK(w->aux != 0 && w->arg0 == 0 && blen == 0,
			   "DATA_%s outside entry %u (offset %llu, %llu "
			   "bytes, size %u) was served",
			   q->op == LPC_OP_DATA_READ ? "READ" : "WRITE",
			   q->aux, (unsigned long long)off,
			   (unsigned long long)len, e->Size);
		return;
	}
	if (!valid || w->aux)
		return;
	/* Served: the bytes are those of [Base + off, + arg0). */
	if (q->op == LPC_OP_DATA_WRITE && qbody &&
	    guarded((uintptr_t)e->Base + off, w->arg0) >= 0)
		FUZZ_CHECK(!memcmp((uint8_t *)e->Base + off, qbody,
				   w->arg0),
			   "DATA_WRITE reported done, the bytes differ");
	if (q->op == LPC_OP_DATA_READ) {
		int b = guarded((uintptr_t)e->Base + off, w->arg0);

		FUZZ_CHECK(blen == w->arg0, "DATA_RESULT length");
		if (b >= 0)
			FUZZ_CHECK(!memcmp(body, (uint8_t *)e->Base + off,
					   blen),
				   "DATA_RESULT bytes are not the entry's");
	}
}

/* The engine asks our raw peer for data of a request it received
 * (NtRead/WriteRequestData): inside the entry, within the asked size. */
static void check_own_data(int k, const struct lpc_wire *w, uint32_t blen)
{
	const struct sent *req = NULL;
	long count;
	PORT_DATA_ENTRY e;

	FUZZ_CHECK(w->arg1 > 0 && w->arg1 <= LPC_WIRE_CHUNK,
		   "DATA chunk of %llu", (unsigned long long)w->arg1);
	/* The request a worker received and now reads from.  A hostile
	 * peer may send several with the same ClientId and MessageId (and
	 * other data info): the newest one delivered whose entries hold
	 * the asked range is it (regression data-op-duplicate-msgid). */
	for (int i = S.nlog; i-- > 0;) {
		const struct sent *c = &S.log[i];

		if (c->gen == S.s[k].gen && c->ok && c->delivered &&
		    c->w.tid == w->target && c->w.msgid == w->msgid &&
		    (c->w.flags & LPC_WF_DATAINFO) &&
		    (c->w.op == LPC_OP_REQUEST || c->w.op == LPC_OP_CALLBACK)) {
			if (!req)
				req = c;
			count = ref_datainfo(c->body, c->blen);
			if (count >= 0 && w->aux < (uint64_t)count) {
				lpc_msg_dataentry(c->body, w->aux, &e);
				if (w->arg0 <= e.Size &&
				    w->arg1 <= e.Size - w->arg0) {
					req = c;
					break;
				}
			}
		}
	}
	FUZZ_CHECK(req, "DATA_%s for tid %d msgid %u: no request with data "
			"info from this socket delivered",
		   w->op == LPC_OP_DATA_READ ? "READ" : "WRITE", w->target,
		   w->msgid);
	count = ref_datainfo(req->body, req->blen);
	FUZZ_CHECK(count >= 0 && w->aux < (uint64_t)count,
		   "DATA op names entry %u of %ld", w->aux, count);
	lpc_msg_dataentry(req->body, w->aux, &e);
	FUZZ_CHECK(w->arg0 <= e.Size && w->arg1 <= e.Size - w->arg0,
		   "DATA op [%llu, +%llu) outside entry of %u bytes",
		   (unsigned long long)w->arg0, (unsigned long long)w->arg1,
		   e.Size);
	FUZZ_CHECK(w->op != LPC_OP_DATA_WRITE || blen == w->arg1,
		   "DATA_WRITE length");
}

/* After a worker call with data info: bytes outside what peers may have
 * written are as they were (a DATA_WRITE that was served wrote inside
 * its entry; the guard bytes around it prove nothing else moved). */
static void check_guards(void)
{
	for (int b = 0; b < 3; b++) {
		if (!memcmp(G.bufs[b], guard_pattern[b], GBUF))
			continue;
		for (size_t i = 0; i < GBUF; i++) {
			uintptr_t p = (uintptr_t)G.bufs[b] + i;
			bool in_entry = false;

			if (G.bufs[b][i] == guard_byte(b, i))
				continue;
			for (long j = 0; j < S.own.count && j < 8; j++) {
				uintptr_t lo = (uintptr_t)S.own.e[j].Base;

				if (p >= lo && p - lo < S.own.e[j].Size)
					in_entry = true;
			}
			FUZZ_CHECK(in_entry,
				   "buffer %d byte %zu changed outside every "
				   "data entry",
				   b, i);
		}
	}
}

/* ------------------------------------------------------------------ */
/* The server side                                                     */
/* ------------------------------------------------------------------ */

static HANDLE sel_handle(struct fuzz_in *in)
{
	uint8_t b = fuzz_u8(in);
	unsigned i = b % 16;

	if (i < NPORTS)
		return G.ports[i];
	if (i < NPORTS + NCOMM)
		return S.comm[i - NPORTS];
	if (i < NPORTS + NCOMM + NCPORT)
		return S.cport[i - NPORTS - NCOMM];
	switch (i) {
	case 9:
		return NULL;
	case 10:
		return NtCurrentProcess();
	case 11:
		return (HANDLE)(uintptr_t)0x1234;
	case 12:
		return (HANDLE)(uintptr_t)(4 * (b >> 4) + 1);
	default:
		return G.ports[0];
	}
}

/* Handles name the same object whatever their low two bits. */
static bool same_handle(HANDLE a, HANDLE b)
{
	return a && b && ((uintptr_t)a & ~(uintptr_t)3) ==
			      ((uintptr_t)b & ~(uintptr_t)3);
}

static bool is_cport(HANDLE h)
{
	for (int i = 0; i < NCPORT; i++)
		if (same_handle(h, S.cport[i]))
			return true;
	return false;
}

static bool is_conn_port(HANDLE h)
{
	for (int i = 0; i < NPORTS; i++)
		if (same_handle(h, G.ports[i]))
			return true;
	return false;
}

static int port_of(HANDLE h)
{
	for (int i = 0; i < NPORTS; i++)
		if (same_handle(h, G.ports[i]))
			return i;
	for (int i = 0; i < NCOMM; i++) {
		struct lpc_port *p;
		int r = -1;

		if (!same_handle(h, S.comm[i]))
			continue;
		if (lpc_port_get(h, &p) == 0) {
			for (int j = 0; j < NPORTS; j++) {
				struct lpc_port *cp;

				if (lpc_port_get(G.ports[j], &cp) == 0) {
					if (cp == p->conn)
						r = j;
					lpc_obj_unref(cp);
				}
			}
			lpc_obj_unref(p);
		}
		return r;
	}
	return -1;
}

static bool status_in(NTSTATUS st, const NTSTATUS *set, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (st == set[i])
			return true;
	return false;
}
#define STATUS_IN(st, ...)                                                    \
	status_in(st, (const NTSTATUS[]){ __VA_ARGS__ },                      \
		  sizeof((const NTSTATUS[]){ __VA_ARGS__ }) / sizeof(NTSTATUS))

/* Whether the delivered message buf is what packet e carried: the
 * connection information and view size, or the lengths, data and data
 * information (the rest of the header is the receiver's stamp). */
static bool same_content(const struct sent *e, const uint8_t *buf)
{
	const PORT_MESSAGE *m = (const PORT_MESSAGE *)(const void *)buf;
	const PORT_MESSAGE *sm = (const PORT_MESSAGE *)(void *)e->body;
	uint32_t dl = (uint16_t)m->u1.s1.DataLength;
	uint32_t copy = HDR + LPC_ALIGN4(dl);

	if (e->w.op == LPC_OP_CONNECT)
		return dl == e->blen && !memcmp(buf + HDR, e->body, dl) &&
		       m->ClientViewSize == e->w.arg0;
	if (e->blen < HDR || e->blen != copy)
		return false;
	return m->u1.Length == sm->u1.Length &&
	       !memcmp(buf + HDR, e->body + HDR, copy - HDR) &&
	       (uint16_t)m->u2.s2.DataInfoOffset ==
		       ((e->w.flags & LPC_WF_DATAINFO)
				? (uint16_t)sm->u2.s2.DataInfoOffset
				: 0);
}

/* Whether packet e is the next its socket may deliver: no packet the
 * reference accepts sits undelivered between the socket's last delivery
 * and e. */
static bool next_from_socket(const struct sent *e)
{
	for (int i = S.fifo[e->gen] + 1; i < (int)(e - S.log); i++)
		if (S.log[i].gen == e->gen && S.log[i].ok &&
		    !S.log[i].delivered && S.log[i].kind == SK_CLIENT &&
		    S.log[i].port == e->port)
			return false;
	return true;
}

/* Which of our own NtRequestPort sends, not yet delivered, carried the
 * message in buf; -1: none. */
static int local_match(int port, const PORT_MESSAGE *m, const uint8_t *buf,
		       uint32_t copy)
{
	for (int i = 0; i < S.nlocal; i++) {
		const PORT_MESSAGE *lm =
			(const PORT_MESSAGE *)(void *)S.local[i].m;

		if (S.local[i].port == port && !S.local[i].delivered &&
		    lm->u1.Length == m->u1.Length &&
		    !memcmp(S.local[i].m + HDR, buf + HDR, copy - HDR))
			return i;
	}
	return -1;
}

/* A message the server received: what the spec says it may look like,
 * and where it came from. */
static void check_received(int port, const uint8_t *buf, void *ctx,
			   bool have_ctx)
{
	const PORT_MESSAGE *m = (const PORT_MESSAGE *)(const void *)buf;
	uint16_t type = (uint16_t)m->u2.s2.Type;
	uint32_t dl = (uint16_t)m->u1.s1.DataLength;
	uint32_t tl = (uint16_t)m->u1.s1.TotalLength;
	uint32_t copy = HDR + LPC_ALIGN4(dl);
	pid_t tid = (pid_t)(uintptr_t)m->ClientId.UniqueThread;
	int op = type == LPC_REQUEST     ? LPC_OP_REQUEST
		 : type == LPC_DATAGRAM  ? LPC_OP_DATAGRAM
		 : type == LPC_EXCEPTION ? LPC_OP_EXCEPTION
		 : type == LPC_CONNECTION_REQUEST ? LPC_OP_CONNECT
						  : 0;
	struct sent *src = NULL;

	FUZZ_CHECK(type == LPC_CONNECTION_REQUEST || type == LPC_REQUEST ||
			   type == LPC_DATAGRAM || type == LPC_EXCEPTION ||
			   type == LPC_PORT_CLOSED || type == LPC_CLIENT_DIED,
		   "received Type 0x%x", type);
	FUZZ_CHECK((uintptr_t)m->ClientId.UniqueProcess == (uintptr_t)G.pid &&
			   tid > 0,
		   "received ClientId %p.%p", m->ClientId.UniqueProcess,
		   m->ClientId.UniqueThread);
	FUZZ_CHECK(m->MessageId != 0, "received MessageId 0");
	FUZZ_CHECK(ref_lengths_ok(m), "received lengths %u/%u", dl, tl);
	for (uint32_t i = copy; i < RECV_MAX; i++)
		FUZZ_CHECK(buf[i] == 0xa5,
			   "receive wrote byte %u of a %u-byte message", i,
			   copy);
	if (type == LPC_PORT_CLOSED || type == LPC_CLIENT_DIED) {
		FUZZ_CHECK(dl == 8 && tl == sizeof(CLIENT_DIED_MSG) &&
				   !m->u2.s2.DataInfoOffset,
			   "notice lengths %u/%u", dl, tl);
		return;
	}
	if (type == LPC_CONNECTION_REQUEST) {
		FUZZ_CHECK(dl <= LPC_MAX_DATA_LENGTH && tl == HDR + dl &&
				   !m->u2.s2.DataInfoOffset,
			   "connection request lengths %u/%u", dl, tl);
		FUZZ_CHECK(!have_ctx || ctx == NULL,
			   "connection request with PortContext %p", ctx);
	} else {
		FUZZ_CHECK(tl <= port_defs[port].max_msg,
			   "TotalLength %u past the port's %u", tl,
			   (unsigned)port_defs[port].max_msg);
		FUZZ_CHECK(!m->u2.s2.DataInfoOffset ||
				   (type == LPC_REQUEST &&
				    ref_datainfo(buf, copy) >= 0),
			   "delivered DataInfoOffset %u",
			   (uint16_t)m->u2.s2.DataInfoOffset);
		FUZZ_CHECK(m->CallbackId == 0, "new message with CallbackId");
	}
	/* Provenance: one packet the reference accepts, from a socket
	 * connected to this port, not yet delivered, carried exactly this.
	 * Several may share ClientId and MessageId (a peer may repeat
	 * them): any that carried these bytes will do. */
	{
		struct sent *same_ids = NULL, *refused = NULL;

		for (int i = 0; i < S.nlog && !src; i++) {
			struct sent *e = &S.log[i];

			if (e->kind != SK_CLIENT || e->port != port ||
			    e->delivered || e->w.op != op || e->w.tid != tid ||
			    e->w.msgid != m->MessageId)
				continue;
			same_ids = e;
			if (!same_content(e, buf))
				continue;
			if (e->ok)
				src = e;
			else
				refused = e;
		}
		if (src && op == LPC_OP_DATAGRAM && tid == G.main_tid &&
		    !next_from_socket(src))
			/* The same bytes and ids as one of our own sends
			 * below, but taking it would overtake a packet its
			 * socket sent first: it is ours (regression
			 * local-datagram-ids-forged-fifo). */
			src = local_match(port, m, buf, copy) >= 0 ? NULL : src;
		if (!src && op == LPC_OP_DATAGRAM && tid == G.main_tid) {
			/* Our own NtRequestPort on the connection port.  A
			 * raw packet may forge its ids exactly (regression
			 * local-datagram-ids-forged), so a match on ids
			 * alone does not rule it out. */
			int li = local_match(port, m, buf, copy);

			if (li >= 0) {
				S.local[li].delivered = true;
				return;
			}
		}
		FUZZ_CHECK(src || !refused,
			   "delivered a message the reference refuses (op %u, "
			   "tid %d, msgid %u)",
			   refused ? refused->w.op : 0, tid, m->MessageId);
		FUZZ_CHECK(src || !same_ids,
			   "%s tid %d msgid %u delivered with other bytes "
			   "than any packet carried",
			   op == LPC_OP_CONNECT ? "connection request"
						: "message",
			   tid, m->MessageId);
		FUZZ_CHECK(src,
			   "received %s tid %d msgid %u that no packet carried",
			   op == LPC_OP_CONNECT ? "a connection request"
						: "a message",
			   tid, m->MessageId);
	}
	/* One outstanding request per thread (docs/wire-protocol.md): the
	 * thread's previous request, exception or connection request to
	 * this port must have been answered, or its connection gone. */
	if (op == LPC_OP_REQUEST || op == LPC_OP_EXCEPTION ||
	    op == LPC_OP_CONNECT)
		for (struct sent *e = S.log; e < src; e++) {
			if (!e->delivered || e->settled || e->port != port ||
			    e->w.tid != tid ||
			    (e->w.op != LPC_OP_REQUEST &&
			     e->w.op != LPC_OP_EXCEPTION &&
			     e->w.op != LPC_OP_CONNECT))
				continue;
			FUZZ_CHECK(!sent_link_alive(e),
				   "thread %d: %s msgid %u delivered while its "
				   "%s msgid %u waits on a live connection",
				   tid, op == LPC_OP_CONNECT ? "connect" : "request",
				   m->MessageId,
				   e->w.op == LPC_OP_CONNECT ? "connect" : "request",
				   e->w.msgid);
		}
	src->delivered = true;
	FUZZ_CHECK(src - S.log > S.fifo[src->gen],
		   "socket %d: message %d delivered after %d", src->gen,
		   (int)(src - S.log), S.fifo[src->gen]);
	S.fifo[src->gen] = (int)(src - S.log);
	if (op == LPC_OP_CONNECT)
		return;
	if (have_ctx && S.gctx_known[src->gen])
		FUZZ_CHECK(ctx == S.gctx[src->gen],
			   "PortContext %p, the connection's is %p", ctx,
			   S.gctx[src->gen]);
}

/* What a client port may receive from its server: requests and
 * datagrams, well formed, nothing written past them. */
static void check_client_received(const uint8_t *rbuf)
{
	const PORT_MESSAGE *m = (const PORT_MESSAGE *)(const void *)rbuf;
	uint16_t type = (uint16_t)m->u2.s2.Type;
	uint32_t copy = HDR + LPC_ALIGN4((uint16_t)m->u1.s1.DataLength);

	/* From its server: requests, datagrams, and LPC_CLIENT_DIED for a
	 * server thread that registered its port (DIED goes either way). */
	FUZZ_CHECK(type == LPC_REQUEST || type == LPC_DATAGRAM ||
			   type == LPC_CLIENT_DIED,
		   "client received Type 0x%x", type);
	FUZZ_CHECK(ref_lengths_ok(m) && m->MessageId,
		   "client received lengths/MessageId");
	FUZZ_CHECK(type != LPC_CLIENT_DIED ||
			   ((uint16_t)m->u1.s1.DataLength == 8 &&
			    (uint16_t)m->u1.s1.TotalLength ==
				    sizeof(CLIENT_DIED_MSG)),
		   "client received a notice of %u/%u bytes",
		   (uint16_t)m->u1.s1.DataLength,
		   (uint16_t)m->u1.s1.TotalLength);
	FUZZ_CHECK(!m->u2.s2.DataInfoOffset ||
			   (type == LPC_REQUEST && ref_datainfo(rbuf, copy) >= 0),
		   "client received DataInfoOffset %u",
		   (uint16_t)m->u2.s2.DataInfoOffset);
	for (uint32_t i = copy; i < RECV_MAX; i++)
		FUZZ_CHECK(rbuf[i] == 0xa5, "client receive overrun");
}

static void keep_rec(int port, const uint8_t *buf)
{
	for (int i = 0; i < NREC; i++) {
		if (S.rec[i].used)
			continue;
		S.rec[i].used = true;
		S.rec[i].port = port;
		memcpy(S.rec[i].m, buf, RECV_MAX);
		return;
	}
	/* Full: replace the oldest. */
	memmove(&S.rec[0], &S.rec[1], sizeof(S.rec[0]) * (NREC - 1));
	S.rec[NREC - 1].used = true;
	S.rec[NREC - 1].port = port;
	memcpy(S.rec[NREC - 1].m, buf, RECV_MAX);
}

/*
 * OP_RECV: n receives (NtReplyWaitReceivePortEx, zero timeout) on a
 * handle; optionally with a reply made from a kept request (ctl bit 1)
 * and a PortContext pointer (bit 2); bit 3 makes the receive buffer
 * misaligned.  A zero timeout drives the transport once (accepting a
 * connection, or reading one packet per socket): a receive that times
 * out is tried again, up to four times in all.
 */
static void op_recv(struct fuzz_in *in)
{
	static _Alignas(8) uint8_t rbuf[RECV_MAX + 8], reply[MSGBUF];
	HANDLE h = sel_handle(in);
	uint8_t ctl = fuzz_u8(in);
	unsigned n = 1 + (ctl >> 4);
	int port = port_of(h);
	LARGE_INTEGER zero = { .QuadPart = 0 };

	worker_finish();
	for (unsigned i = 0; i < n; i++) {
		PORT_MESSAGE *rep = NULL;
		void *ctx = (void *)(uintptr_t)0xdead;
		uint8_t *rb = rbuf + ((ctl & 8) ? 2 : 0);
		NTSTATUS st;

		if (ctl & 1) {
			const PORT_MESSAGE *r = rec_msg(fuzz_u8(in));

			build_msg(in, -1, reply, sizeof(reply), LPC_REPLY,
				  r ? r->MessageId : 0);
			if (r && (fuzz_u8(in) & 1))
				((PORT_MESSAGE *)(void *)reply)->ClientId =
					r->ClientId;
			rep = (PORT_MESSAGE *)(void *)reply;
		}
		for (int t = 0; t < 4; t++) {
			memset(rbuf, 0xa5, sizeof(rbuf));
			st = NtReplyWaitReceivePortEx(
				h, (ctl & 2) ? &ctx : NULL, t ? NULL : rep,
				(PORT_MESSAGE *)(void *)rb, &zero);
			/* The reply went (its waiter is no more) when the
			 * call got as far as receiving. */
			if (!t && rep &&
			    (st == STATUS_SUCCESS || st == STATUS_TIMEOUT))
				mark_answered(-1,
					      (pid_t)(uintptr_t)rep->ClientId
						      .UniqueThread,
					      rep->MessageId, false);
			if (st != STATUS_TIMEOUT)
				break;
		}
		FUZZ_CHECK(STATUS_IN(st, STATUS_SUCCESS, STATUS_TIMEOUT,
				     STATUS_INVALID_HANDLE,
				     STATUS_OBJECT_TYPE_MISMATCH,
				     STATUS_PORT_DISCONNECTED,
				     STATUS_DATATYPE_MISALIGNMENT,
				     STATUS_INVALID_PARAMETER,
				     STATUS_PORT_MESSAGE_TOO_LONG,
				     STATUS_REPLY_MESSAGE_MISMATCH,
				     STATUS_INVALID_CID, STATUS_NO_MEMORY,
				     STATUS_ACCESS_VIOLATION),
			   "NtReplyWaitReceivePortEx: 0x%08x", (unsigned)st);
		FUZZ_CHECK(!(ctl & 8) || st != STATUS_SUCCESS,
			   "a misaligned receive buffer was accepted");
		drain();
		TRACE("recv on %p: 0x%08x type %d msgid %#x\n", h, (unsigned)st,
		      st ? -1 : ((PORT_MESSAGE *)(void *)rb)->u2.s2.Type,
		      st ? 0 : ((PORT_MESSAGE *)(void *)rb)->MessageId);
		if (st != STATUS_SUCCESS)
			continue;
		if (is_cport(h)) {
			check_client_received(rb);
			keep_rec(-1, rb);
			continue;
		}
		FUZZ_CHECK(port >= 0, "received through handle %p, no port",
			   h);
		check_received(port, rb, ctx, (ctl & 2) != 0);
		keep_rec(port, rb);
	}
}

/* Whether port p's queue holds a connection request (NtListenPort
 * would otherwise wait forever on the main thread). */
static bool conn_queued(HANDLE h)
{
	struct lpc_port *p;
	bool found = false;

	if (lpc_port_get(h, &p))
		return false;
	lpc_dom_lock(p->dom);
	for (struct lpc_pkt *k = p->dom->qhead; k; k = k->next)
		if (LPC_TYPE(lpc_pkt_msg(k)->u2.s2.Type) ==
		    LPC_CONNECTION_REQUEST)
			found = true;
	lpc_dom_unlock(p->dom);
	lpc_obj_unref(p);
	return found;
}

static void op_listen(struct fuzz_in *in)
{
	static _Alignas(8) uint8_t rbuf[RECV_MAX];
	int port = fuzz_u8(in) % NPORTS;
	NTSTATUS st;

	worker_finish();
	if (!conn_queued(G.ports[port]))
		return;
	memset(rbuf, 0xa5, sizeof(rbuf));
	st = NtListenPort(G.ports[port], (PORT_MESSAGE *)(void *)rbuf);
	FUZZ_CHECK(st == STATUS_SUCCESS, "NtListenPort: 0x%08x", (unsigned)st);
	FUZZ_CHECK(LPC_TYPE(((PORT_MESSAGE *)(void *)rbuf)->u2.s2.Type) ==
			   LPC_CONNECTION_REQUEST,
		   "NtListenPort returned another type");
	check_received(port, rbuf, NULL, false);
	keep_rec(port, rbuf);
}

static void job_accept(struct job *j)
{
	j->st = NtAcceptConnectPort((PHANDLE)j->a, j->b, (PPORT_MESSAGE)j->c,
				    j->flag, (PPORT_VIEW)j->d,
				    (PREMOTE_PORT_VIEW)j->e);
}

/*
 * OP_ACCEPT: NtAcceptConnectPort on a kept connection request (ClientId
 * and MessageId as kept or from the input), accept or reject, with a
 * server section (then on the worker: the client must say where it
 * mapped it) and a client view, then maybe NtCompleteConnectPort.
 */
static void op_accept(struct fuzz_in *in)
{
	static _Alignas(8) uint8_t msg[HDR + LPC_MAX_DATA_LENGTH + 64];
	PORT_MESSAGE *m = (PORT_MESSAGE *)(void *)msg;
	const PORT_MESSAGE *r = rec_msg(fuzz_u8(in));
	uint8_t ctl = fuzz_u8(in);
	uint16_t infolen = fuzz_u16(in) % (LPC_MAX_DATA_LENGTH + 40);
	HANDLE out = (HANDLE)(uintptr_t)0x55555555, sec = NULL;
	PORT_VIEW sv = { .Length = sizeof(sv) };
	REMOTE_PORT_VIEW cv = { .Length = sizeof(cv) };
	void *ctx = ctl & 0x10 ? (void *)(uintptr_t)(0x1000 + fuzz_u8(in))
			       : NULL;
	struct job j = { .fn = job_accept };
	int slot = -1;
	NTSTATUS st;

	worker_finish();
	memset(msg, 0, sizeof(msg));
	if (r)
		memcpy(m, r, HDR);
	if (ctl & 0x20)
		m->ClientId.UniqueThread = (HANDLE)(uintptr_t)sel_tid(in, 0);
	if (ctl & 0x40)
		m->MessageId = sel_msgid(in, 0);
	m->u1.s1.DataLength = (CSHORT)infolen;
	for (unsigned i = 0; i < infolen; i++)
		msg[HDR + i] = fill_byte(i * 3);
	if ((ctl & 1) && (ctl & 2)) {
		LARGE_INTEGER sz = { .QuadPart = 1 + fuzz_u16(in) * 4 };

		st = NtCreateSection(&sec, 0, NULL, &sz, PAGE_READWRITE,
				     SEC_COMMIT, NULL);
		FUZZ_CHECK(st == STATUS_SUCCESS, "NtCreateSection 0x%08x",
			   (unsigned)st);
		note_handle(sec);
		sv.SectionHandle = sec;
		sv.SectionOffset = fuzz_u16(in);
		sv.ViewSize = fuzz_u16(in);
		if (ctl & 0x80)
			sv.Length = fuzz_u8(in);
	}
	if (ctl & 4)
		cv.Length = (ctl & 8) ? sizeof(cv) : fuzz_u8(in);
	/* What must come out on the wire. */
	S.acc.active = true;
	S.acc.accept = ctl & 1;
	S.acc.view = sec && sv.Length == sizeof(sv);
	S.acc.tid = (pid_t)(uintptr_t)m->ClientId.UniqueThread;
	S.acc.msgid = m->MessageId;
	S.acc.infolen = infolen < LPC_MAX_DATA_LENGTH ? infolen
						      : LPC_MAX_DATA_LENGTH;
	memcpy(S.acc.info, msg + HDR, S.acc.infolen);
	S.acc.port_max = -1;
	{
		/* The port the request waits in decides the max: found by
		 * whichever port holds a waiter for that ClientId. */
		for (int p = 0; p < NPORTS; p++) {
			struct lpc_port *cp;

			if (lpc_port_get(G.ports[p], &cp))
				continue;
			lpc_dom_lock(cp->dom);
			if (lpc_dom_find_waiter(cp->dom, G.pid, S.acc.tid))
				S.acc.port_max = (int)port_defs[p].max_msg;
			lpc_dom_unlock(cp->dom);
			lpc_obj_unref(cp);
		}
	}
	j.a = &out;
	j.b = ctx;
	j.c = m;
	j.flag = ctl & 1;
	j.d = (ctl & 2) ? &sv : NULL;
	j.e = (ctl & 4) ? &cv : NULL;
	if (sec) {
		worker_post(&j);
		while (!worker_settle()) {
			/* The client must say where it mapped our section:
			 * the next packets of the input do that. */
			if (fuzz_done(in) || (fuzz_u8(in) & 1) == 0)
				worker_finish();
			else
				op_send(in);
		}
	} else {
		job_accept(&j);
	}
	drain();
	st = j.st;
	TRACE("accept(%d, view %d) tid %d msgid %#x: 0x%08x handle %p\n",
	      ctl & 1, sec != NULL, S.acc.tid, S.acc.msgid, (unsigned)st, out);
	/* With a server section, the client's VIEWMAP reports its own
	 * mapping error (aux), which accept returns as it is: then any
	 * status may come back. */
	FUZZ_CHECK(sec ||
			   STATUS_IN(st, STATUS_SUCCESS, STATUS_ACCESS_VIOLATION,
				     STATUS_INVALID_PARAMETER,
				     STATUS_INVALID_CID,
				     STATUS_REPLY_MESSAGE_MISMATCH,
				     STATUS_INVALID_HANDLE,
				     STATUS_OBJECT_TYPE_MISMATCH,
				     STATUS_NO_MEMORY,
				     STATUS_PORT_CONNECTION_REFUSED,
				     STATUS_INSUFFICIENT_RESOURCES),
		   "NtAcceptConnectPort: 0x%08x", (unsigned)st);
	S.acc.active = false;
	if (sec)
		NtClose(sec);
	if (st != STATUS_SUCCESS || !(ctl & 1)) {
		FUZZ_CHECK(out == (HANDLE)(uintptr_t)0x55555555,
			   "handle written though %s",
			   st ? "the call failed" : "rejected");
		return;
	}
	FUZZ_CHECK(out != (HANDLE)(uintptr_t)0x55555555,
		   "NtAcceptConnectPort accepted (STATUS_SUCCESS) without "
		   "writing *PortHandle");
	note_handle(out);
	if ((ctl & 4) && cv.ViewBase) {
		/* The client's view, as mapped in the server: exactly the
		 * bytes of the file the connection request carried, at the
		 * offset and of the size it asked for (touching both ends
		 * faults if the mapping runs past the file). */
		int k = -1;

		for (int i = 0; i < NRAW; i++)
			if (S.s[i].kind == SK_CLIENT &&
			    S.s[i].haveop[LPC_OP_ACCEPT] &&
			    S.s[i].lastop[LPC_OP_ACCEPT].target == S.acc.tid &&
			    S.s[i].lastop[LPC_OP_ACCEPT].msgid == S.acc.msgid)
				k = i;
		if (k >= 0 && S.s[k].view_fd >= 0) {
			struct sock *s = &S.s[k];
			uint8_t b0 = 0, b1 = 0;
			volatile uint8_t *v = cv.ViewBase;

			FUZZ_CHECK(cv.ViewSize == s->view_size,
				   "client view of %zu bytes, %llu asked",
				   (size_t)cv.ViewSize,
				   (unsigned long long)s->view_size);
			FUZZ_CHECK(pread(s->view_fd, &b0, 1,
					 (off_t)s->view_off) == 1 &&
					   pread(s->view_fd, &b1, 1,
						 (off_t)(s->view_off +
							 cv.ViewSize - 1)) == 1,
				   "client view past its file");
			FUZZ_CHECK(v[0] == b0 && v[cv.ViewSize - 1] == b1,
				   "client view maps other bytes");
		}
	}
	for (int i = 0; i < NCOMM; i++)
		if (!S.comm[i]) {
			slot = i;
			break;
		}
	if (slot < 0) {
		NtClose(out);
		return;
	}
	S.comm[slot] = out;
	S.comm_ctx[slot] = ctx ? ctx : out;
	/* Messages on the connection carry its context from now on. */
	for (int k = 0; k < NRAW; k++)
		if (S.s[k].kind == SK_CLIENT && S.s[k].haveop[LPC_OP_ACCEPT] &&
		    !S.gctx_known[S.s[k].gen] &&
		    S.s[k].lastop[LPC_OP_ACCEPT].target == S.acc.tid &&
		    S.s[k].lastop[LPC_OP_ACCEPT].msgid == S.acc.msgid) {
			S.gctx[S.s[k].gen] = S.comm_ctx[slot];
			S.gctx_known[S.s[k].gen] = true;
		}
	if (!(fuzz_u8(in) & 1)) {
		S.completing = true;
		st = NtCompleteConnectPort(out);
		TRACE("complete: 0x%08x\n", (unsigned)st);
		drain();
		S.completing = false;
		FUZZ_CHECK(st == STATUS_SUCCESS,
			   "NtCompleteConnectPort after accept: 0x%08x",
			   (unsigned)st);
	}
}

static void op_complete(struct fuzz_in *in)
{
	HANDLE h = sel_handle(in);
	NTSTATUS st;

	worker_finish();
	S.completing = true;
	st = NtCompleteConnectPort(h);
	drain();
	S.completing = false;
	FUZZ_CHECK(STATUS_IN(st, STATUS_SUCCESS, STATUS_INVALID_HANDLE,
			     STATUS_INVALID_PORT_HANDLE,
			     STATUS_OBJECT_TYPE_MISMATCH,
			     STATUS_INVALID_PARAMETER),
		   "NtCompleteConnectPort: 0x%08x", (unsigned)st);
}

/* OP_REPLY: NtReplyPort on a handle with a reply made from a kept
 * request (its ClientId and MessageId, unless the input says others). */
static void op_reply(struct fuzz_in *in)
{
	static _Alignas(8) uint8_t reply[MSGBUF];
	HANDLE h = sel_handle(in);
	const PORT_MESSAGE *r = rec_msg(fuzz_u8(in));
	uint8_t ctl = fuzz_u8(in);
	PORT_MESSAGE *m = (PORT_MESSAGE *)(void *)reply;
	NTSTATUS st;

	worker_finish();
	build_msg(in, -1, reply, sizeof(reply), LPC_REPLY,
		  r ? r->MessageId : 0);
	if (r && !(ctl & 1))
		m->ClientId = r->ClientId;
	st = NtReplyPort(h, m);
	TRACE("reply on %p to tid %zu msgid %#x: 0x%08x\n", h,
	      (size_t)(uintptr_t)m->ClientId.UniqueThread, m->MessageId,
	      (unsigned)st);
	drain();
	FUZZ_CHECK(STATUS_IN(st, STATUS_SUCCESS, STATUS_INVALID_HANDLE,
			     STATUS_OBJECT_TYPE_MISMATCH,
			     STATUS_INVALID_PARAMETER,
			     STATUS_PORT_MESSAGE_TOO_LONG,
			     STATUS_REPLY_MESSAGE_MISMATCH, STATUS_INVALID_CID,
			     STATUS_NO_MEMORY, STATUS_ACCESS_VIOLATION,
			     STATUS_PORT_DISCONNECTED),
		   "NtReplyPort: 0x%08x", (unsigned)st);
	if (st == STATUS_SUCCESS) {
		FUZZ_CHECK(m->MessageId != 0 && ref_lengths_ok(m),
			   "NtReplyPort accepted MessageId 0 or bad lengths");
		mark_answered(-1,
			      (pid_t)(uintptr_t)m->ClientId.UniqueThread,
			      m->MessageId, false);
	}
}

static void job_data(struct job *j)
{
	SIZE_T *done = j->d;

	j->st = j->flag ? NtWriteRequestData(j->h, (PPORT_MESSAGE)j->a, j->u,
					     j->b, j->n, done)
			: NtReadRequestData(j->h, (PPORT_MESSAGE)j->a, j->u,
					    j->b, j->n, done);
}

/*
 * OP_DATA: NtRead/WriteRequestData for a kept request, on the worker: the
 * requester's engine (our raw peer, the next packets of the input) serves
 * it chunk by chunk.  The buffer ends at a guard page.
 */
static void op_data(struct fuzz_in *in)
{
	static _Alignas(8) uint8_t msg[RECV_MAX];
	HANDLE h = sel_handle(in);
	const PORT_MESSAGE *r = rec_msg(fuzz_u8(in));
	uint8_t ctl = fuzz_u8(in);
	PORT_MESSAGE *m = (PORT_MESSAGE *)(void *)msg;
	SIZE_T size = ctl & 0x80 ? fuzz_u32(in) : fuzz_u16(in) % 0x3000;
	SIZE_T done = (SIZE_T)0x77777777;
	int b = 2, first_log;
	uint8_t *buf;
	struct job j = { .fn = job_data };
	NTSTATUS st;

	worker_finish();
	memset(msg, 0, sizeof(msg));
	if (r)
		memcpy(msg, r, RECV_MAX);
	if (ctl & 2)
		m->MessageId = sel_msgid(in, 0);
	if (ctl & 4)
		m->ClientId.UniqueThread = (HANDLE)(uintptr_t)sel_tid(in, 0);
	if (ctl & 8)
		m->u2.s2.DataInfoOffset = (CSHORT)fuzz_u16(in);
	/* The buffer: near the end of guarded buffer 2, 64 guard bytes
	 * after it and a guard page after those: a copy past BufferSize
	 * shows in the guard bytes; BufferSize may exceed what is there. */
	buf = G.bufs[b] + (size + 64 <= GBUF ? GBUF - 64 - size : 0);
	j.h = h;
	j.a = m;
	j.u = ctl & 0x10 ? fuzz_u32(in) : fuzz_u8(in) % 4;
	j.b = buf;
	j.n = size;
	j.d = (ctl & 0x20) ? NULL : &done;
	j.flag = ctl & 1;
	first_log = S.nlog;
	worker_post(&j);
	while (!worker_settle()) {
		if (fuzz_done(in) || (fuzz_u8(in) & 1) == 0)
			worker_finish();
		else
			op_send(in);
	}
	drain();
	st = j.st;
	TRACE("%s data entry %u, %zu bytes: 0x%08x done %zu\n",
	      j.flag ? "write" : "read", (unsigned)j.u, (size_t)size,
	      (unsigned)st, (size_t)done);
	FUZZ_CHECK(STATUS_IN(st, STATUS_SUCCESS, STATUS_INVALID_PARAMETER,
			     STATUS_INVALID_HANDLE, STATUS_OBJECT_TYPE_MISMATCH,
			     STATUS_INVALID_CID, STATUS_REPLY_MESSAGE_MISMATCH,
			     STATUS_ACCESS_VIOLATION, STATUS_PARTIAL_COPY,
			     STATUS_NO_MEMORY, STATUS_PORT_DISCONNECTED,
			     STATUS_UNSUCCESSFUL),
		   "NtRead/WriteRequestData: 0x%08x", (unsigned)st);
	if (j.d && (st == STATUS_SUCCESS || st == STATUS_PARTIAL_COPY))
		FUZZ_CHECK(done <= size,
			   "NumberOfBytes %zu exceeds BufferSize %zu",
			   (size_t)done, (size_t)size);
	if (st == STATUS_SUCCESS && j.d)
		FUZZ_CHECK(done == size, "success with %zu of %zu bytes",
			   (size_t)done, (size_t)size);
	if (!j.flag && j.d && (st == STATUS_SUCCESS || st == STATUS_PARTIAL_COPY) &&
	    done <= size) {
		/* What was read is what the requester's engine sent, chunk
		 * after chunk, and nothing else. */
		size_t at = 0;

		for (int i = first_log; i < S.nlog && at < done; i++) {
			const struct sent *e = &S.log[i];
			size_t n = e->w.arg0 < e->blen ? e->w.arg0 : e->blen;

			if (e->w.op != LPC_OP_DATA_RESULT || !e->ok)
				continue;
			if (n > done - at)
				n = done - at;
			FUZZ_CHECK(!memcmp(buf + at, e->body, n),
				   "bytes %zu..%zu read are not the ones sent",
				   at, at + n);
			at += n;
		}
	}
	/* The bytes around the buffer are nobody's. */
	for (size_t i = 0; i < GBUF; i++) {
		uint8_t *p = G.bufs[b] + i;

		if (p >= buf && (size_t)(p - buf) < size)
			continue;
		FUZZ_CHECK(*p == guard_byte(b, i),
			   "NtRead/WriteRequestData wrote %zd bytes from its "
			   "%zu-byte buffer",
			   p - buf, (size_t)size);
	}
	guard_reset();
}

static void job_request(struct job *j)
{
	j->st = j->flag ? NtRequestWaitReplyPort(j->h, (PPORT_MESSAGE)j->a,
						 (PPORT_MESSAGE)j->b)
			: NtReplyWaitReplyPort(j->h, (PPORT_MESSAGE)j->a);
}

/* A reply a worker's wait returned: one a peer sent to this thread for
 * this MessageId (or a callback), with its bytes, and nothing written
 * past it. */
static void check_reply(const uint8_t *rep, uint32_t cap, uint32_t msgid)
{
	const PORT_MESSAGE *m = (const PORT_MESSAGE *)(const void *)rep;
	uint32_t dl = (uint16_t)m->u1.s1.DataLength;
	uint32_t copy = HDR + LPC_ALIGN4(dl);
	uint16_t type = (uint16_t)m->u2.s2.Type;
	const struct sent *src = NULL;

	FUZZ_CHECK(type == LPC_REPLY || type == LPC_REQUEST,
		   "reply of Type 0x%x", type);
	FUZZ_CHECK(ref_lengths_ok(m), "reply lengths");
	for (uint32_t i = copy; i < cap; i++)
		FUZZ_CHECK(rep[i] == 0xa5, "reply wrote byte %u of %u", i,
			   copy);
	for (int i = S.nlog; i-- > 0;) {
		const struct sent *e = &S.log[i];

		if (e->ok && e->w.target == W.tid && e->w.msgid == msgid &&
		    m->MessageId == msgid &&
		    ((type == LPC_REPLY && e->w.op == LPC_OP_REPLY) ||
		     (type == LPC_REQUEST && e->w.op == LPC_OP_CALLBACK)) &&
		    e->blen == copy &&
		    !memcmp(e->body + HDR, rep + HDR, copy - HDR)) {
			src = e;
			break;
		}
	}
	FUZZ_CHECK(src, "a reply (Type %u, MessageId %u) reached thread %d "
			"that no peer sent it for MessageId %u",
		   type, m->MessageId, W.tid, msgid);
}

/*
 * OP_SREQ: the server's own request (or NtReplyWaitReplyPort) through a
 * handle, on the worker, with a data-info block naming guarded buffers:
 * the raw client (next packets of the input) may read and write them,
 * reply, or call back.
 */
static void op_sreq(struct fuzz_in *in, bool client)
{
	static _Alignas(8) uint8_t req[MSGBUF], rep[RECV_MAX];
	HANDLE h = client ? S.cport[fuzz_u8(in) % NCPORT] : sel_handle(in);
	uint8_t ctl = fuzz_u8(in);
	struct job j = { .fn = job_request };
	PORT_MESSAGE *m = (PORT_MESSAGE *)(void *)req;
	uint32_t msgid, dlen;
	long count;

	worker_finish();
	/* A request on a connection port waits in its local queue for a
	 * thread of ours to receive it: no raw peer could end that wait. */
	if (is_conn_port(h))
		return;
	if (ctl & 1) {
		/* A callback or reply-wait-reply: a kept request's ids. */
		const PORT_MESSAGE *r = rec_msg(fuzz_u8(in));

		build_msg(in, -1, req, sizeof(req),
			  (ctl & 2) ? LPC_REPLY : LPC_REQUEST,
			  r ? r->MessageId : 0);
		if (r)
			m->ClientId = r->ClientId;
	} else {
		build_msg(in, -1, req, sizeof(req), 0, 0);
	}
	memset(rep, 0xa5, sizeof(rep));
	/* A DataLength past the buffer reads as the buffer (regression
	 * sreq-datainfo-past-buffer: the reference read past req). */
	dlen = HDR + LPC_ALIGN4((uint16_t)m->u1.s1.DataLength);
	count = m->u2.s2.DataInfoOffset
			? ref_datainfo(req, dlen < sizeof(req) ? dlen
							       : sizeof(req))
			: -1;
	memset(&S.own, 0, sizeof(S.own));
	S.own.sock = -1;
	if (count >= 0) {
		S.own.active = true;
		S.own.tid = W.tid;
		S.own.count = count;
		for (long i = 0; i < count && i < 8; i++)
			lpc_msg_dataentry(req, (uint32_t)i, &S.own.e[i]);
	}
	j.h = h;
	j.a = m;
	j.b = rep;
	j.flag = !((ctl & 1) && (ctl & 2));
	memset(&S.wreq, 0, sizeof(S.wreq));
	S.wreq.active = true;
	worker_post(&j);
	while (!worker_settle()) {
		if (fuzz_done(in) || (fuzz_u8(in) & 3) == 0)
			worker_finish();
		else
			op_send(in);
	}
	drain();
	TRACE("%s request on %p (dinfo %ld): 0x%08x\n",
	      client ? "client" : "server", h, count, (unsigned)j.st);
	FUZZ_CHECK(STATUS_IN(j.st, STATUS_SUCCESS, STATUS_INVALID_HANDLE,
			     STATUS_OBJECT_TYPE_MISMATCH,
			     STATUS_INVALID_PARAMETER,
			     STATUS_PORT_MESSAGE_TOO_LONG,
			     STATUS_REPLY_MESSAGE_MISMATCH, STATUS_INVALID_CID,
			     STATUS_PORT_DISCONNECTED, STATUS_LPC_REPLY_LOST,
			     STATUS_NO_MEMORY, STATUS_ACCESS_VIOLATION,
			     STATUS_INVALID_PORT_HANDLE),
		   "request on the worker: 0x%08x", (unsigned)j.st);
	S.wreq.active = false;
	/* The id the reply must carry: a new request's, as its peer saw it;
	 * else the one the caller named. */
	msgid = j.flag && !(ctl & 1) ? S.wreq.msgid : m->MessageId;
	if (j.st == STATUS_SUCCESS) {
		FUZZ_CHECK(!j.flag || (ctl & 1) || S.wreq.seen,
			   "a request was answered that never went out");
		check_reply(j.flag ? rep : req, j.flag ? sizeof(rep) : 0,
			    msgid);
	}
	if (S.own.active)
		check_guards();
	memset(&S.own, 0, sizeof(S.own));
	guard_reset();
}

/* OP_DGRAM: NtRequestPort on a handle (a datagram to the raw peer). */
static void op_dgram(struct fuzz_in *in)
{
	static _Alignas(8) uint8_t msg[MSGBUF];
	HANDLE h = sel_handle(in);
	NTSTATUS st;

	worker_finish();
	build_msg(in, -1, msg, sizeof(msg), 0, 0);
	st = NtRequestPort(h, (PPORT_MESSAGE)(void *)msg);
	TRACE("datagram on %p: 0x%08x\n", h, (unsigned)st);
	drain();
	if (st == STATUS_SUCCESS && is_conn_port(h) && S.nlocal < 8) {
		S.local[S.nlocal].port = port_of(h);
		S.local[S.nlocal].delivered = false;
		memcpy(S.local[S.nlocal].m, msg, RECV_MAX);
		S.nlocal++;
	}
	FUZZ_CHECK(STATUS_IN(st, STATUS_SUCCESS, STATUS_INVALID_HANDLE,
			     STATUS_OBJECT_TYPE_MISMATCH,
			     STATUS_INVALID_PARAMETER,
			     STATUS_PORT_MESSAGE_TOO_LONG,
			     STATUS_PORT_DISCONNECTED, STATUS_NO_MEMORY,
			     STATUS_ACCESS_VIOLATION),
		   "NtRequestPort: 0x%08x", (unsigned)st);
}

static void op_close(struct fuzz_in *in)
{
	uint8_t b = fuzz_u8(in);
	HANDLE *hp = b & 0x80 ? &S.cport[b % NCPORT] : &S.comm[b % NCOMM];

	worker_finish();
	if (*hp) {
		FUZZ_CHECK(NtClose(*hp) == STATUS_SUCCESS, "NtClose");
		*hp = NULL;
	}
	drain();
}

/* ------------------------------------------------------------------ */
/* The client side: a real NtConnectPort against our hostile server    */
/* ------------------------------------------------------------------ */

static void job_connect(struct job *j)
{
	j->st = NtSecureConnectPort((PHANDLE)j->a, (PUNICODE_STRING)j->b,
				    (PSECURITY_QUALITY_OF_SERVICE)j->c,
				    (PPORT_VIEW)j->d, (PSID)j->g,
				    (PREMOTE_PORT_VIEW)j->e, (PULONG)j->f,
				    j->h, j->n ? (PULONG)&j->u : NULL);
}

/*
 * OP_CONNECT: the worker connects to our hostile server; the next
 * packets of the input answer it (ACCEPT, REJECT, COMPLETE, anything).
 *  ctl bits: 1 client view, 2 server view, 4 MaxMessageLength, 8 info
 *  length pointer, 16 required server SID, 32 a wrong name.
 */
static void op_connect(struct fuzz_in *in)
{
	static WCHAR name[64];
	static uint8_t info[LPC_MAX_DATA_LENGTH + 64];
	static const UCHAR system_sid[12] = { 1, 1, 0, 0, 0, 0, 0, 5,
					      18, 0, 0, 0 };
	UNICODE_STRING us;
	SECURITY_QUALITY_OF_SERVICE qos = { .Length = sizeof(qos) };
	PORT_VIEW cv = { .Length = sizeof(cv) };
	REMOTE_PORT_VIEW sv = { .Length = sizeof(sv) };
	HANDLE out = (HANDLE)(uintptr_t)0x55555555, sec = NULL;
	ULONG maxlen = 0x77777777;
	uint8_t ctl = fuzz_u8(in);
	uint32_t ilen = fuzz_u16(in) % (LPC_MAX_DATA_LENGTH + 40);
	struct job j = { .fn = job_connect };
	int slot = -1, hk = -1;
	const char *n = (ctl & 32) ? "\\RPC Control\\fuzz-hdr-none" : EVIL_NAME;
	size_t nl = strlen(n);

	worker_finish();
	for (int i = 0; i < NCPORT; i++)
		if (!S.cport[i]) {
			slot = i;
			break;
		}
	if (slot < 0)
		return;
	for (size_t i = 0; i < nl; i++)
		name[i] = (WCHAR)n[i];
	us.Buffer = name;
	us.Length = us.MaximumLength = (USHORT)(nl * 2);
	qos.ImpersonationLevel = (SECURITY_IMPERSONATION_LEVEL)(fuzz_u8(in) % 5);
	qos.ContextTrackingMode = ctl & 0x40;
	qos.EffectiveOnly = ctl & 0x80;
	for (uint32_t i = 0; i < ilen; i++)
		info[i] = fill_byte(i + 3);
	if (ctl & 1) {
		LARGE_INTEGER sz = { .QuadPart = 1 + fuzz_u16(in) * 8 };
		NTSTATUS st = NtCreateSection(&sec, 0, NULL, &sz,
					      PAGE_READWRITE, SEC_COMMIT, NULL);

		FUZZ_CHECK(st == STATUS_SUCCESS, "NtCreateSection");
		note_handle(sec);
		cv.SectionHandle = sec;
		cv.SectionOffset = fuzz_u16(in);
		cv.ViewSize = fuzz_u16(in) * 4;
	}
	j.a = &out;
	j.b = &us;
	j.c = &qos;
	j.d = (ctl & 1) ? &cv : NULL;
	j.e = (ctl & 2) ? &sv : NULL;
	j.f = (ctl & 4) ? &maxlen : NULL;
	j.g = (ctl & 16) ? (void *)system_sid : NULL;
	j.h = info;
	j.u = ilen;
	j.n = (ctl & 8) != 0;
	S.host_new = -1;
	worker_post(&j);
	while (!worker_settle()) {
		if (fuzz_done(in) || (fuzz_u8(in) & 3) == 0)
			worker_finish();
		else
			op_send(in);
	}
	drain();
	if (sec)
		NtClose(sec);
	TRACE("connect: 0x%08x handle %p\n", (unsigned)j.st, out);
	FUZZ_CHECK(STATUS_IN(j.st, STATUS_SUCCESS,
			     STATUS_PORT_CONNECTION_REFUSED,
			     STATUS_OBJECT_NAME_NOT_FOUND,
			     STATUS_INVALID_PARAMETER, STATUS_INVALID_HANDLE,
			     STATUS_OBJECT_TYPE_MISMATCH,
			     STATUS_SERVER_SID_MISMATCH, STATUS_NO_MEMORY,
			     STATUS_ACCESS_VIOLATION,
			     STATUS_INSUFFICIENT_RESOURCES),
		   "NtConnectPort: 0x%08x", (unsigned)j.st);
	hk = S.host_new;
	if (j.st != STATUS_SUCCESS) {
		FUZZ_CHECK(out == (HANDLE)(uintptr_t)0x55555555,
			   "handle written by a failed connect");
		/* Its connection is over: free the slot. */
		if (hk >= 0)
			sock_close(hk);
		return;
	}
	/* Connected: the peer completed, after an ACCEPT it sent to this
	 * thread for this request. */
	FUZZ_CHECK(hk >= 0 && S.s[hk].haveop[LPC_OP_CONNECT],
		   "connected without a CONNECT on the wire");
	{
		const struct lpc_wire *c = &S.s[hk].lastop[LPC_OP_CONNECT];
		bool acc = false, comp = false;

		for (int i = 0; i < S.nlog; i++) {
			const struct sent *e = &S.log[i];

			if (e->gen != S.s[hk].gen || !e->ok ||
			    e->w.target != W.tid ||
			    e->w.msgid != c->msgid)
				continue;
			if (e->w.op == LPC_OP_ACCEPT && !acc) {
				acc = true;
				S.s[hk].cli_max = e->w.aux;
				if (ctl & 4)
					FUZZ_CHECK(maxlen == e->w.aux,
						   "MaxMessageLength %u, "
						   "ACCEPT said %u",
						   maxlen, e->w.aux);
				if (ctl & 8) {
					uint32_t want = ilen;

					if (want > LPC_MAX_DATA_LENGTH)
						want = LPC_MAX_DATA_LENGTH;
					if (want > e->blen)
						want = e->blen;
					FUZZ_CHECK(j.u == want &&
							   !memcmp(info,
								   e->body,
								   want),
						   "connection information "
						   "returned: %u bytes, %u "
						   "expected",
						   (unsigned)j.u, want);
				}
			}
			if (e->w.op == LPC_OP_COMPLETE && acc)
				comp = true;
		}
		FUZZ_CHECK(acc && comp,
			   "NtConnectPort succeeded without a valid ACCEPT "
			   "and COMPLETE for tid %d msgid %u",
			   W.tid, c->msgid);
	}
	note_handle(out);
	S.cport[slot] = out;
	{
		struct lpc_port *p;

		if (lpc_port_get(out, &p) == 0) {
			S.s[hk].cli_max = p->max_msg ? p->max_msg : 1;
			lpc_obj_unref(p);
		}
	}
	if ((ctl & 2) && sv.ViewBase) {
		/* The server's section as the client mapped it: touch
		 * both ends (a mapping past the file would fault). */
		volatile uint8_t *v = sv.ViewBase;

		(void)v[0];
		(void)v[sv.ViewSize - 1];
	}
}

/* OP_CRECV: the client port's receive (zero timeout): what the hostile
 * server sent it. */
static void op_crecv(struct fuzz_in *in)
{
	static _Alignas(8) uint8_t rbuf[RECV_MAX];
	HANDLE h = S.cport[fuzz_u8(in) % NCPORT];
	LARGE_INTEGER zero = { .QuadPart = 0 };
	NTSTATUS st;

	worker_finish();
	memset(rbuf, 0xa5, sizeof(rbuf));
	st = NtReplyWaitReceivePortEx(h, NULL, NULL, (PPORT_MESSAGE)(void *)rbuf,
				      &zero);
	TRACE("client recv on %p: 0x%08x\n", h, (unsigned)st);
	drain();
	FUZZ_CHECK(STATUS_IN(st, STATUS_SUCCESS, STATUS_TIMEOUT,
			     STATUS_INVALID_HANDLE, STATUS_PORT_DISCONNECTED),
		   "client receive: 0x%08x", (unsigned)st);
	if (st != STATUS_SUCCESS)
		return;
	check_client_received(rbuf);
	keep_rec(-1, rbuf);
}

/* ------------------------------------------------------------------ */
/* Set-up, the input loop, clean-up                                    */
/* ------------------------------------------------------------------ */

static void *parked_main(void *arg)
{
	(void)arg;
	G.parked_tid = (pid_t)syscall(SYS_gettid);
	for (;;)
		pause();
	return NULL;
}

/* Live handles among the first NHANDLES values (a fixed range: the
 * same loop every time, whatever was handed out before). */
static int count_handles(void)
{
	int n = 0;

	for (int v = 1; v <= NHANDLES; v++) {
		void *o;
		int r = lpc_handle_get((HANDLE)(uintptr_t)(v << 2), LPC_OBJ_PORT,
				       &o);

		if (r == 0) {
			lpc_obj_unref(o);
			n++;
		} else if (r == -LPC_ETYPE) {
			n++;
		}
	}
	return n;
}

/* Each server domain: quiet (nothing queued, no link, no waiter). */
static bool ports_quiet(void)
{
	for (int i = 0; i < NPORTS; i++) {
		struct lpc_port *p;
		bool quiet = true;

		if (lpc_port_get(G.ports[i], &p))
			continue;
		lpc_dom_lock(p->dom);
		if (p->dom->qhead || p->dom->links)
			quiet = false;
		for (int b = 0; b < LPC_WHASH; b++)
			if (p->dom->whash[b])
				quiet = false;
		lpc_dom_unlock(p->dom);
		lpc_obj_unref(p);
		if (!quiet)
			return false;
	}
	return true;
}

static void reset_ids(void)
{
	/* Every input starts from the same MessageId and CallbackId. */
	if (G.ids) {
		G.ids[1] = 0x1000;
		G.ids[2] = 0x1000;
	}
}

static void setup(void)
{
	OBJECT_ATTRIBUTES oa = { .Length = sizeof(oa) };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	LARGE_INTEGER zero = { .QuadPart = 0 };
	static _Alignas(8) uint8_t rbuf[RECV_MAX];
	const char *root = fuzz_root();
	char path[512];
	pthread_t t;
	int fd;

	signal(SIGPIPE, SIG_IGN);
	G.pid = getpid();
	G.main_tid = (pid_t)syscall(SYS_gettid);
	for (int i = 0; i < NPORTS; i++) {
		UNICODE_STRING us;
		WCHAR wn[64];
		size_t n = strlen(port_defs[i].name);
		NTSTATUS st;

		for (size_t c = 0; c < n; c++)
			wn[c] = (WCHAR)port_defs[i].name[c];
		us.Buffer = wn;
		us.Length = us.MaximumLength = (USHORT)(n * 2);
		oa.ObjectName = &us;
		st = port_defs[i].waitable
			     ? NtCreateWaitablePort(&G.ports[i], &oa, 0,
						    port_defs[i].max_msg, 0)
			     : NtCreatePort(&G.ports[i], &oa, 0,
					    port_defs[i].max_msg, 0);
		if (st != STATUS_SUCCESS)
			fuzz_hang("NtCreatePort(%s): 0x%08x", port_defs[i].name,
				  (unsigned)st);
		snprintf(G.port_path[i], sizeof(G.port_path[i]), "%s/%s", root,
			 port_defs[i].name + 1);
		for (char *p = G.port_path[i] + strlen(root); *p; p++)
			if (*p == '\\')
				*p = '/';
	}
	snprintf(path, sizeof(path), "%s/%s", root, EVIL_PATH);
	unlink(path);
	G.evil_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK,
			   0);
	if (strlen(path) >= sizeof(sa.sun_path))
		fuzz_hang("LPC_ROOT too long for a socket path");
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (G.evil_fd < 0 ||
	    bind(G.evil_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(G.evil_fd, 16) < 0)
		fuzz_hang("hostile server socket: %s", strerror(errno));
	/* The shared MessageId page exists once an id has been drawn. */
	lpc_next_message_id();
	snprintf(path, sizeof(path), "%s/.lpc-ids", root);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED,
			       fd, 0);

		if (p != MAP_FAILED)
			G.ids = p;
		close(fd);
	}
	G.guard = mmap(NULL, PAGE + 3 * (GBUF + PAGE), PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (G.guard == MAP_FAILED)
		fuzz_hang("guard pages");
	for (int b = 0; b < 3; b++) {
		G.bufs[b] = G.guard + PAGE + (size_t)b * (GBUF + PAGE);
		mprotect(G.bufs[b], GBUF, PROT_READ | PROT_WRITE);
	}
	for (int b = 0; b < 3; b++)
		for (size_t i = 0; i < GBUF; i++)
			guard_pattern[b][i] = guard_byte(b, i);
	guard_reset();
	S.arena = malloc(ARENA);
	for (int k = 0; k < NSOCK; k++) {
		S.s[k].fd = -1;
		S.s[k].view_fd = -1;
	}
	/* The worker, and a thread whose only job is to be a third tid. */
	W.efd = eventfd(0, EFD_CLOEXEC);
	if (pthread_create(&W.thread, NULL, worker_main, NULL) ||
	    pthread_create(&t, NULL, parked_main, NULL))
		fuzz_hang("threads");
	while (!__atomic_load_n(&W.tid, __ATOMIC_ACQUIRE) ||
	       !__atomic_load_n(&G.parked_tid, __ATOMIC_ACQUIRE))
		sched_yield();
	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)W.tid);
	W.stat_fd = open(path, O_RDONLY | O_CLOEXEC);
	snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", (int)W.tid);
	W.sys_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (W.stat_fd < 0 || W.sys_fd < 0)
		fuzz_hang("cannot watch the worker");
	/* Warm both threads up (their per-thread state, copy pipes and
	 * published slots exist from now on). */
	{
		struct job j = { .fn = job_request };

		NtReplyWaitReceivePortEx(G.ports[0], NULL, NULL,
					 (PPORT_MESSAGE)(void *)rbuf, &zero);
		j.h = NULL;
		j.a = rbuf;
		j.b = rbuf;
		j.flag = 1;
		memset(rbuf, 0, sizeof(rbuf));
		worker_post(&j);
		worker_settle();
	}
	/* And the first-use paths of connecting and of sections. */
	{
		static WCHAR wn[] = { '\\', 'n', 'o', 'n', 'e' };
		UNICODE_STRING us = { sizeof(wn), sizeof(wn), wn };
		SECURITY_QUALITY_OF_SERVICE qos = { .Length = sizeof(qos) };
		LARGE_INTEGER sz = { .QuadPart = 4096 };
		HANDLE h;

		NtConnectPort(&h, &us, &qos, NULL, NULL, NULL, NULL, NULL);
		if (NtCreateSection(&h, 0, NULL, &sz, PAGE_READWRITE,
				    SEC_COMMIT, NULL) == STATUS_SUCCESS)
			NtClose(h);
	}
	G.handles = count_handles();
	fuzz_snapshot_take(&G.snap);
	G.ready = true;
}

/* Triage: what each open fd is. */
static void list_fds(void)
{
	char path[64], link[256];

	for (int fd = 0; fd < 1024; fd++) {
		ssize_t n;

		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		n = readlink(path, link, sizeof(link) - 1);
		if (n > 0) {
			link[n] = 0;
			fprintf(stderr, "  fd %d: %s\n", fd, link);
		}
	}
}

static void cleanup(void)
{
	static _Alignas(8) uint8_t rbuf[RECV_MAX];
	LARGE_INTEGER zero = { .QuadPart = 0 };
	int rounds = 0;

	worker_finish();
	/* Every peer leaves; the server reads the hangups and whatever was
	 * still queued. */
	for (int k = 0; k < NSOCK; k++)
		if (S.s[k].fd >= 0 && !S.s[k].shut) {
			shutdown(S.s[k].fd, SHUT_WR);
			S.s[k].shut = true;
		}
	for (int i = 0; i < NCPORT; i++)
		if (S.cport[i]) {
			NtClose(S.cport[i]);
			S.cport[i] = NULL;
		}
	for (int i = 0; i < NCOMM; i++)
		if (S.comm[i]) {
			NtClose(S.comm[i]);
			S.comm[i] = NULL;
		}
	do {
		drain();
		for (int i = 0; i < NPORTS; i++) {
			NTSTATUS st;

			do {
				memset(rbuf, 0xa5, sizeof(rbuf));
				st = NtReplyWaitReceivePortEx(
					G.ports[i], NULL, NULL,
					(PPORT_MESSAGE)(void *)rbuf, &zero);
				if (st == STATUS_SUCCESS)
					check_received(i, rbuf, NULL, false);
			} while (st == STATUS_SUCCESS);
			FUZZ_CHECK(st == STATUS_TIMEOUT,
				   "draining port %d: 0x%08x", i,
				   (unsigned)st);
		}
		if (++rounds > 10000)
			fuzz_hang("the server never quiets down");
	} while (!ports_quiet());
	drain();
	for (int k = 0; k < NSOCK; k++)
		sock_close(k);
	for (int i = 0; i < S.nattach; i++)
		close(S.attach[i]);
	FUZZ_CHECK(count_handles() == G.handles,
		   "%d handles open after the input, %d before",
		   count_handles(), G.handles);
	if (fuzz_verbose()) {
		struct fuzz_snapshot now;

		fuzz_snapshot_take(&now);
		if (now.fds > G.snap.fds)
			list_fds();
	}
	fuzz_snapshot_check(&G.snap, "header");
	guard_reset();
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
	/* The sync backend: io_uring completions arrive as task work of
	 * whichever thread submitted, which would tie what the engine reads
	 * to scheduling. */
	setenv("LPC_BACKEND", "sync", 1);
	fuzz_init();
	return 0;
}

enum {
	OP_OPEN,
	OP_SEND,
	OP_SEND2,	/* the most common op, twice as likely */
	OP_RAW,
	OP_SHUT,
	OP_RECV,
	OP_RECV2,
	OP_LISTEN,
	OP_ACCEPT,
	OP_COMPLETE,
	OP_REPLY,
	OP_DATA,
	OP_SREQ,
	OP_DGRAM,
	OP_CLOSE,
	OP_CONNECT,
	OP_CREQ,
	OP_CRECV,
	OP_PURE,
	OP_MAX
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size, 0 };
	int ops = 0;

	/* Made here, not in LLVMFuzzerInitialize: AFL++'s fork server
	 * starts after that, and threads do not survive a fork. */
	if (!G.ready) {
		setup();
		DISCARD_SETUP_COVERAGE();
	}
	if (LLVMFuzzerMutate)
		fuzz_snapshot_take(&G.snap);
	reset_ids();
	S.nlog = 0;
	S.arena_used = 0;
	S.nattach = 0;
	S.nlocal = 0;
	S.gens = 0;
	for (int i = 0; i < MAXGEN; i++) {
		S.fifo[i] = -1;
		S.gctx_known[i] = false;
	}
	memset(S.rec, 0, sizeof(S.rec));
	memset(&S.own, 0, sizeof(S.own));
	memset(&S.acc, 0, sizeof(S.acc));
	for (int k = 0; k < NSOCK; k++)
		sock_close(k);

	while (!fuzz_done(&in) && ops++ < MAXOPS) {
		unsigned op = fuzz_u8(&in) % OP_MAX;

		TRACE("op %u at %zu\n", op, in.off - 1);
		switch (op) {
		case OP_OPEN:
			op_open(&in);
			break;
		case OP_SEND:
		case OP_SEND2:
			op_send(&in);
			break;
		case OP_RAW:
			op_raw(&in);
			break;
		case OP_SHUT:
			op_shut(&in);
			break;
		case OP_RECV:
		case OP_RECV2:
			op_recv(&in);
			break;
		case OP_LISTEN:
			op_listen(&in);
			break;
		case OP_ACCEPT:
			op_accept(&in);
			break;
		case OP_COMPLETE:
			op_complete(&in);
			break;
		case OP_REPLY:
			op_reply(&in);
			break;
		case OP_DATA:
			op_data(&in);
			break;
		case OP_SREQ:
			op_sreq(&in, false);
			break;
		case OP_DGRAM:
			op_dgram(&in);
			break;
		case OP_CLOSE:
			op_close(&in);
			break;
		case OP_CONNECT:
			op_connect(&in);
			break;
		case OP_CREQ:
			op_sreq(&in, true);
			break;
		case OP_CRECV:
			op_crecv(&in);
			break;
		case OP_PURE:
			op_pure(&in);
			break;
		}
	}
	cleanup();
	return 0;
}
