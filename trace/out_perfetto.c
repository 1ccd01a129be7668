/* SPDX-License-Identifier: MIT */
/*
 * Chrome/Perfetto trace-event JSON (the "JSON Object Format" of the Trace
 * Event Format document), for ui.perfetto.dev and chrome://tracing.
 *
 * - Every process is a process track, every thread a thread track, named
 *   by "M" metadata events from comm.
 * - Every record is a thread-scoped instant ("ph":"i") carrying its
 *   arguments, named "lpc:send", "csrd:api", ...
 * - Waits (wait_begin .. wait_end) and server handling (a receive of a
 *   request or connection request .. the reply or accept with the same
 *   MessageId by that thread) are complete slices ("ph":"X").
 * - A message's path is a flow ("s", "t"..., "f") whose id is the
 *   MessageId (flow_id() has the exceptions): send, receive, reply, the
 *   client's wait_end; connect_request, receive, accept, connect_done.
 *
 * Two importer facts shape this file:
 * - Perfetto drops an X slice that partially overlaps another on the same
 *   thread, so slices are kept strictly nested per thread (close_span).
 * - Flow events bind to the slice open on their thread at their
 *   timestamp.  Each flow event is written after the instant of its
 *   record, at the same timestamp; importers sort stably, so it binds to
 *   that instant.  A flow is written only once it has two points or more,
 *   all at once, so every "s" has its "f" and a lone point writes nothing.
 *
 * Timestamps are microseconds since opts.t0 with three decimals: exact
 * nanoseconds, as Perfetto rounds them back.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <lpc/lpc.h>

#include "out_json.h"

#define SPAN_DEPTH 16		/* open slices per thread; deeper ones are not
				 * drawn */
#define FLOWS_MAX (1u << 18)	/* flows waiting for their last point */
#define IDS_MAX (1u << 20)	/* flow ids remembered, to never reuse one */
#define ID_RENUMBERED (1ULL << 52)	/* ids given to a reused MessageId */

/* ------------------------------------------------------------------ */
/* A map of nonzero u64 keys to pointers (linear probing)             */
/* ------------------------------------------------------------------ */

struct pmap {
	uint64_t *keys;		/* 0: empty */
	void **vals;
	size_t cap, n;		/* cap: a power of two, or 0 */
};

static size_t pmap_slot(const struct pmap *m, uint64_t key)
{
	/* splitmix64's finaliser: tids and MessageIds are sequential. */
	key ^= key >> 30;
	key *= 0xbf58476d1ce4e5b9ULL;
	key ^= key >> 27;
	key *= 0x94d049bb133111ebULL;
	key ^= key >> 31;
	return (size_t)key & (m->cap - 1);
}

static void *pmap_get(const struct pmap *m, uint64_t key)
{
	if (!m->cap)
		return NULL;
	for (size_t i = pmap_slot(m, key);; i = (i + 1) & (m->cap - 1)) {
		if (m->keys[i] == key)
			return m->vals[i];
		if (!m->keys[i])
			return NULL;
	}
}

static int pmap_grow(struct pmap *m)
{
	struct pmap g = { .cap = m->cap ? m->cap * 2 : 64 };

	g.keys = calloc(g.cap, sizeof(*g.keys));
	g.vals = calloc(g.cap, sizeof(*g.vals));
	if (!g.keys || !g.vals) {
		free(g.keys);
		free(g.vals);
		return -ENOMEM;
	}
	for (size_t i = 0; i < m->cap; i++) {
		size_t j;

		if (!m->keys[i])
			continue;
		for (j = pmap_slot(&g, m->keys[i]); g.keys[j];
		     j = (j + 1) & (g.cap - 1))
			;
		g.keys[j] = m->keys[i];
		g.vals[j] = m->vals[i];
	}
	g.n = m->n;
	free(m->keys);
	free(m->vals);
	*m = g;
	return 0;
}

/* Adds a key that is not in the map yet. */
static int pmap_add(struct pmap *m, uint64_t key, void *val)
{
	size_t i;

	/* At most half full: probes stay short. */
	if ((m->n + 1) * 2 > m->cap && pmap_grow(m))
		return -ENOMEM;
	for (i = pmap_slot(m, key); m->keys[i]; i = (i + 1) & (m->cap - 1))
		;
	m->keys[i] = key;
	m->vals[i] = val;
	m->n++;
	return 0;
}

/* Removes key; backward-shift deletion keeps the probe chains whole. */
static void pmap_del(struct pmap *m, uint64_t key)
{
	size_t mask = m->cap - 1, i, j;

	if (!m->cap)
		return;
	for (i = pmap_slot(m, key); m->keys[i] != key; i = (i + 1) & mask)
		if (!m->keys[i])
			return;
	m->keys[i] = 0;
	m->vals[i] = NULL;
	m->n--;
	for (j = (i + 1) & mask; m->keys[j]; j = (j + 1) & mask) {
		size_t home = pmap_slot(m, m->keys[j]);

		/* Move j into the hole at i unless its home lies in the
		 * cyclic range (i, j]. */
		if (i <= j ? (home > i && home <= j) : (home > i || home <= j))
			continue;
		m->keys[i] = m->keys[j];
		m->vals[i] = m->vals[j];
		m->keys[j] = 0;
		m->vals[j] = NULL;
		i = j;
	}
}

/* Frees the map, and every value with free_vals. */
static void pmap_free(struct pmap *m, bool free_vals)
{
	for (size_t i = 0; free_vals && i < m->cap; i++)
		free(m->vals[i]);
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof(*m));
}

/* ------------------------------------------------------------------ */
/* State                                                              */
/* ------------------------------------------------------------------ */

enum span_kind {
	SPAN_WAIT = 1,		/* wait_begin .. wait_end */
	SPAN_HANDLE,		/* receive .. reply (or accept) */
};

/* Why a slice ended other than by its own end event. */
enum span_flag {
	SF_UNFINISHED = 1,	/* still open at the end of the trace, or a
				 * wait whose wait_end was lost */
	SF_DEFERRED = 2,	/* the server went back to its queue first */
	SF_TRUNCATED = 4,	/* ended where a slice nested in it began */
};

struct span {
	enum span_kind kind;
	uint32_t sub;		/* wait kind, or message type */
	uint64_t begin;		/* CLOCK_MONOTONIC ns */
	uint64_t obj;		/* domain (wait) or port (handling) */
	uint32_t msgid, cb;
	uint32_t peer_pid, peer_tid;	/* the client (handling) */
	uint32_t wait_tid;	/* wait_begin's tid argument */
	const char *api;	/* csrd:api's name (handling), static */
	char port[LPCT_NAME_LEN + 1];	/* the port's name, or "" */
};

/* How a slice ended, for its args. */
struct span_end {
	unsigned flags;
	bool has_done, done;
	int64_t error;
	bool has_status;
	int64_t status;
	uint64_t latency;
};

struct tstate {
	uint32_t pid, tid;
	char comm[LPCT_COMM_LEN];
	uint64_t last_send;	/* flow key of this thread's last send */
	unsigned depth, cap;
	struct span *stack;	/* open slices, innermost last; grows */
};

struct pstate {
	char comm[LPCT_COMM_LEN];
	bool from_main;		/* named by its main thread (tid == pid) */
};

enum flow_kind {
	FLOW_REQUEST = 1,	/* send, receive, reply, wait_end */
	FLOW_DATAGRAM,		/* send, receive */
	FLOW_CONNECT,		/* connect_request, receive, accept, connect_done */
};

/* A flow's points by role, in the order the arrows go. */
enum flow_role { PT_SEND, PT_RECEIVE, PT_ANSWER, PT_END, PT_N };

struct fpoint {
	uint64_t ts;
	uint32_t pid, tid;
	bool set;
};

struct flow {
	uint64_t key;
	uint32_t msgid, cb;
	enum flow_kind kind;
	struct fpoint pt[PT_N];
};

struct perfetto {
	struct pmap threads;	/* tid + 1 -> struct tstate */
	struct pmap procs;	/* pid + 1 -> struct pstate */
	struct pmap flows;	/* flow_key() -> struct flow */
	struct pmap ids;	/* flow ids written, + 1 (no values) */
	uint64_t renumbered;	/* flows that got an ID_RENUMBERED id */
	uint64_t last_ts;	/* the latest record's timestamp */
	uint64_t nwritten;	/* trace events written */
	uint64_t flows_written, flows_untracked, spans_dropped;
	int err;		/* the first allocation failure */
};

/* ------------------------------------------------------------------ */
/* Writing events                                                     */
/* ------------------------------------------------------------------ */

/* ns since t0 as microseconds with three decimals, exactly. */
static void put_us(FILE *f, const struct output *o, uint64_t ts)
{
	int64_t d = (int64_t)(ts - o->opts.t0);
	uint64_t a = d < 0 ? -(uint64_t)d : (uint64_t)d;

	fprintf(f, "%s%" PRIu64 ".%03u", d < 0 ? "-" : "", a / 1000,
		(unsigned)(a % 1000));
}

/* Opens one trace event: the separator, then `{"ph":"<ph>"`. */
static void ev_open(struct output *o, const char *ph)
{
	struct perfetto *p = o->priv;

	fprintf(o->f, "%s\n{\"ph\":\"%s\"", p->nwritten++ ? "," : "", ph);
}

static void ev_who(struct output *o, uint32_t pid, uint32_t tid)
{
	fprintf(o->f, ",\"pid\":%" PRIu32 ",\"tid\":%" PRIu32, pid, tid);
}

static void ev_ts(struct output *o, uint64_t ts)
{
	fputs(",\"ts\":", o->f);
	put_us(o->f, o, ts);
}

static void meta_name(struct output *o, const char *what, uint32_t pid,
		      uint32_t tid, const char *comm)
{
	ev_open(o, "M");
	fprintf(o->f, ",\"name\":\"%s\"", what);
	ev_who(o, pid, tid);
	fputs(",\"args\":{\"name\":", o->f);
	json__str(o->f, comm, LPCT_COMM_LEN);
	fputs("}}", o->f);
}

/* Process and thread tracks get their names the first time they are
 * seen, and again when comm changes (exec, prctl). */
static struct tstate *track(struct output *o, const struct lpct_event *e)
{
	struct perfetto *p = o->priv;
	struct pstate *pr = pmap_get(&p->procs, (uint64_t)e->pid + 1);
	struct tstate *t = pmap_get(&p->threads, (uint64_t)e->tid + 1);
	bool main_thread = e->tid == e->pid;

	if (!pr) {
		pr = calloc(1, sizeof(*pr));
		if (!pr || pmap_add(&p->procs, (uint64_t)e->pid + 1, pr)) {
			free(pr);
			p->err = -ENOMEM;
			return NULL;
		}
		memcpy(pr->comm, e->comm, LPCT_COMM_LEN);
		pr->from_main = main_thread;
		meta_name(o, "process_name", e->pid, e->pid, pr->comm);
	} else if (main_thread &&
		   (!pr->from_main ||
		    memcmp(pr->comm, e->comm, LPCT_COMM_LEN))) {
		memcpy(pr->comm, e->comm, LPCT_COMM_LEN);
		pr->from_main = true;
		meta_name(o, "process_name", e->pid, e->pid, pr->comm);
	}

	if (t && t->pid != e->pid) {
		/* A tid reused by another process: what the old thread left
		 * open is dropped. */
		t->depth = 0;
		t->last_send = 0;
		t->pid = e->pid;
		t->tid = e->tid;
		memcpy(t->comm, e->comm, LPCT_COMM_LEN);
		meta_name(o, "thread_name", e->pid, e->tid, t->comm);
	} else if (!t) {
		t = calloc(1, sizeof(*t));
		if (!t || pmap_add(&p->threads, (uint64_t)e->tid + 1, t)) {
			free(t);
			p->err = -ENOMEM;
			return NULL;
		}
		t->pid = e->pid;
		t->tid = e->tid;
		memcpy(t->comm, e->comm, LPCT_COMM_LEN);
		meta_name(o, "thread_name", e->pid, e->tid, t->comm);
	} else if (memcmp(t->comm, e->comm, LPCT_COMM_LEN)) {
		memcpy(t->comm, e->comm, LPCT_COMM_LEN);
		meta_name(o, "thread_name", e->pid, e->tid, t->comm);
	}
	return t;
}

static void instant(struct output *o, const struct lpct_event *e)
{
	const struct probe_desc *d = decode__probe(e->probe);
	FILE *f = o->f;

	ev_open(o, "i");
	fputs(",\"s\":\"t\",\"name\":", f);
	if (d)
		fprintf(f, "\"%s:%s\",\"cat\":\"%s\"", d->provider, d->name,
			d->provider);
	else
		fprintf(f, "\"probe %u\",\"cat\":\"lpc\"", (unsigned)e->probe);
	ev_ts(o, e->ts);
	ev_who(o, e->pid, e->tid);
	fprintf(f, ",\"args\":{\"uid\":%" PRIu32 ",\"cpu\":%" PRIu32,
		(uint32_t)e->uid, (uint32_t)e->cpu);
	json__event_fields(f, o, e);
	fputs("}}", f);
}


/* ------------------------------------------------------------------ */
/* Slices                                                             */
/* ------------------------------------------------------------------ */

static const char *handled_what(uint32_t type)
{
	switch (type) {
	case LPC_CONNECTION_REQUEST:
		return "handle connect";
	case LPC_EXCEPTION:
		return "handle exception";
	case LPC_DEBUG_EVENT:
		return "handle debug event";
	default:
		return "handle request";
	}
}

static void span_label(const struct span *s, char *buf, size_t len)
{
	const char *sep = s->port[0] ? " " : "";

	if (s->kind == SPAN_WAIT)
		snprintf(buf, len, "%s%swait %s", s->port, sep,
			 decode__wait_kind_name(s->sub));
	else
		snprintf(buf, len, "%s%s%s", s->port, sep,
			 s->api ? s->api : handled_what(s->sub));
}

static void write_span(struct output *o, const struct tstate *t,
		       const struct span *s, uint64_t end,
		       const struct span_end *x)
{
	FILE *f = o->f;
	char buf[LPCT_NAME_LEN + 96];
	const char *n;

	ev_open(o, "X");
	span_label(s, buf, sizeof(buf));
	fputs(",\"name\":", f);
	json__strz(f, buf);
	fputs(",\"cat\":\"lpc\"", f);
	ev_ts(o, s->begin);
	/* Both ends are whole ns: the duration is exact too. */
	fprintf(f, ",\"dur\":%" PRIu64 ".%03u", (end - s->begin) / 1000,
		(unsigned)((end - s->begin) % 1000));
	ev_who(o, t->pid, t->tid);
	fprintf(f, ",\"args\":{\"msgid\":%" PRIu32, s->msgid);
	if (s->port[0]) {
		fputs(",\"port_name\":", f);
		json__strz(f, s->port);
	}
	if (s->kind == SPAN_WAIT) {
		fprintf(f,
			",\"wait\":%" PRIu32 ",\"wait_name\":\"%s\""
			",\"domain\":\"0x%" PRIx64 "\",\"wait_tid\":%" PRIu32,
			s->sub, decode__wait_kind_name(s->sub), s->obj,
			s->wait_tid);
		if (x->has_done) {
			n = x->error ? decode__err_name(x->error, buf,
							sizeof(buf))
				     : NULL;
			fprintf(f,
				",\"done\":%s,\"error\":%" PRId64
				",\"error_name\":",
				x->done ? "true" : "false", x->error);
			json__strz(f, n == buf ? NULL : n);
		}
	} else {
		fprintf(f,
			",\"callback_id\":%" PRIu32 ",\"type\":%" PRIu32
			",\"type_name\":",
			s->cb, s->sub);
		json__strz(f, decode__type_name(s->sub));
		fprintf(f,
			",\"port\":\"0x%" PRIx64 "\",\"client_pid\":%" PRIu32
			",\"client_tid\":%" PRIu32,
			s->obj, s->peer_pid, s->peer_tid);
		if (s->api) {
			fputs(",\"api_name\":", f);
			json__strz(f, s->api);
		}
		if (x->has_status) {
			fprintf(f, ",\"status\":\"0x%08" PRIx32 "\"",
				(uint32_t)x->status);
			fputs(",\"status_name\":", f);
			json__strz(f, decode__status_name(x->status));
		}
	}
	if (x->latency)
		fprintf(f, ",\"latency_ns\":%" PRIu64, x->latency);
	if (x->flags & SF_UNFINISHED)
		fputs(",\"unfinished\":true", f);
	if (x->flags & SF_DEFERRED)
		fputs(",\"deferred\":true", f);
	if (x->flags & SF_TRUNCATED)
		fputs(",\"truncated\":true", f);
	fputs("}}", f);
}

/*
 * Ends t->stack[i] at end.  A slice with others still open above it ends
 * where the one just above it began instead, so that the slices written
 * stay nested (Perfetto drops an X that straddles another's end).  Slices
 * that were above it and already ended lie before that point: one
 * thread's records arrive in order.
 */
static void close_span(struct output *o, struct tstate *t, unsigned i,
		       uint64_t end, struct span_end x)
{
	struct span *s = &t->stack[i];

	if (i + 1 < t->depth) {
		end = t->stack[i + 1].begin;
		x.flags |= SF_TRUNCATED;
	}
	if (end < s->begin)
		end = s->begin;
	write_span(o, t, s, end, &x);
	memmove(&t->stack[i], &t->stack[i + 1],
		(t->depth - i - 1) * sizeof(t->stack[0]));
	t->depth--;
}

static struct span *push_span(struct output *o, struct tstate *t,
			      enum span_kind kind, const struct lpct_event *e)
{
	struct perfetto *p = o->priv;
	const char *port = o->pn ? portnames__of_event(o->pn, e) : NULL;
	struct span *s;

	if (t->depth == SPAN_DEPTH) {
		p->spans_dropped++;
		return NULL;
	}
	if (t->depth == t->cap) {
		unsigned cap = t->cap ? 2 * t->cap : 2;

		s = realloc(t->stack, cap * sizeof(*s));
		if (!s) {
			p->err = -ENOMEM;
			return NULL;
		}
		t->stack = s;
		t->cap = cap;
	}
	s = &t->stack[t->depth++];
	memset(s, 0, sizeof(*s));
	s->kind = kind;
	s->begin = e->ts;
	if (port)
		snprintf(s->port, sizeof(s->port), "%s", port);
	return s;
}

/* The innermost open slice of a kind, matching MessageId and CallbackId
 * when match is set; -1 if none. */
static int find_span(const struct tstate *t, enum span_kind kind,
		     bool match, uint32_t msgid, uint32_t cb)
{
	for (unsigned i = t->depth; i-- > 0;) {
		const struct span *s = &t->stack[i];

		if (s->kind == kind &&
		    (!match || (s->msgid == msgid && s->cb == cb)))
			return (int)i;
	}
	return -1;
}

/*
 * A server thread that goes back to its queue (a receive, or a receive
 * wait) while it still handles a message has deferred the reply: that
 * handling ends here.  The reply, from this thread or another, is then an
 * instant on the message's flow.
 */
static void defer_handling(struct output *o, struct tstate *t, uint64_t ts)
{
	for (unsigned i = t->depth; i-- > 0;)
		if (t->stack[i].kind == SPAN_HANDLE)
			close_span(o, t, i, ts,
				   (struct span_end){ .flags = SF_DEFERRED });
}

/* Message types a server answers: the handling lasts until then. */
static bool answered(uint32_t type)
{
	return type == LPC_REQUEST || type == LPC_EXCEPTION ||
	       type == LPC_DEBUG_EVENT || type == LPC_CONNECTION_REQUEST;
}

static void spans_event(struct output *o, struct tstate *t,
			const struct lpct_event *e)
{
	const __s64 *a = e->arg;
	struct span *s;
	int i;

	switch (e->probe) {
	case LPCT_P_WAIT_BEGIN:
		/* A thread waits for one thing at a time: an open wait lost
		 * its wait_end. */
		i = find_span(t, SPAN_WAIT, false, 0, 0);
		if (i >= 0)
			close_span(o, t, (unsigned)i, e->ts,
				   (struct span_end){ .flags = SF_UNFINISHED });
		if (a[1] == LPCT_W_RECEIVE)
			defer_handling(o, t, e->ts);
		s = push_span(o, t, SPAN_WAIT, e);
		if (s) {
			s->obj = (uint64_t)a[0];
			s->sub = (uint32_t)a[1];
			s->msgid = (uint32_t)a[2];
			s->wait_tid = (uint32_t)a[3];
		}
		break;
	case LPCT_P_WAIT_END:
		i = find_span(t, SPAN_WAIT, false, 0, 0);
		if (i >= 0)
			close_span(o, t, (unsigned)i, e->ts,
				   (struct span_end){
					   .has_done = true,
					   .done = a[3] != 0,
					   .error = a[4],
					   .latency = e->latency,
				   });
		break;
	case LPCT_P_RECEIVE:
		defer_handling(o, t, e->ts);
		if (!answered((uint32_t)a[1]))
			break;
		s = push_span(o, t, SPAN_HANDLE, e);
		if (s) {
			s->obj = (uint64_t)a[0];
			s->sub = (uint32_t)a[1];
			s->msgid = (uint32_t)a[2];
			s->cb = (uint32_t)a[3];
			s->peer_pid = (uint32_t)a[4];
			s->peer_tid = (uint32_t)a[5];
		}
		break;
	case LPCT_P_REPLY:
		i = find_span(t, SPAN_HANDLE, true, (uint32_t)a[1],
			      (uint32_t)a[2]);
		if (i >= 0)
			close_span(o, t, (unsigned)i, e->ts,
				   (struct span_end){
					   .has_status = true,
					   .status = a[7],
					   .latency = e->latency,
				   });
		break;
	case LPCT_P_ACCEPT:
		i = find_span(t, SPAN_HANDLE, true, (uint32_t)a[0], 0);
		if (i >= 0)
			close_span(o, t, (unsigned)i, e->ts,
				   (struct span_end){
					   .has_status = true,
					   .status = a[6],
				   });
		break;
	case LPCT_P_CSR_API:
		/* csrd names the request its thread is handling. */
		i = find_span(t, SPAN_HANDLE, true, (uint32_t)a[3], 0);
		if (i >= 0)
			t->stack[i].api = decode__api_name((uint32_t)a[2]);
		break;
	default:
		break;
	}
}

/* ------------------------------------------------------------------ */
/* Flows                                                              */
/* ------------------------------------------------------------------ */

/* Kind, CallbackId and MessageId in one key: a callback reuses the
 * MessageId of the request it is made for. */
static uint64_t flow_key(enum flow_kind kind, uint32_t msgid, uint32_t cb)
{
	return (uint64_t)kind << 62 | (uint64_t)(cb & 0x3fffffff) << 32 |
	       msgid;
}

/*
 * The id written: the MessageId, plus 2^32 times the CallbackId (mod
 * 2^20) for a callback.  Perfetto never forgets a flow id it has seen end,
 * and drops a second flow with it: a MessageId seen again (several
 * $LPC_ROOTs traced at once, or wrap-around) gets ID_RENUMBERED + n.  All
 * ids stay below 2^53, which JavaScript reads exactly.
 */
static uint64_t flow_id(struct perfetto *p, const struct flow *fl)
{
	uint64_t id = (uint64_t)(fl->cb & 0xfffff) << 32 | fl->msgid;

	if (pmap_get(&p->ids, id + 1))
		return ID_RENUMBERED + ++p->renumbered;
	/* Past IDS_MAX, ids are no longer checked (nor memory spent). */
	if (p->ids.n < IDS_MAX && pmap_add(&p->ids, id + 1, p))
		p->err = -ENOMEM;
	return id;
}

static const char *flow_name(const struct flow *fl)
{
	switch (fl->kind) {
	case FLOW_DATAGRAM:
		return "datagram";
	case FLOW_CONNECT:
		return "connect";
	default:
		return fl->cb ? "callback" : "request";
	}
}

static void write_flow(struct output *o, const struct flow *fl)
{
	struct perfetto *p = o->priv;
	unsigned n = 0, k = 0;
	uint64_t id;

	for (unsigned r = 0; r < PT_N; r++)
		n += fl->pt[r].set;
	/* One point draws no arrow; without an "f", an "s" would dangle. */
	if (n < 2)
		return;
	id = flow_id(p, fl);
	for (unsigned r = 0; r < PT_N; r++) {
		const struct fpoint *pt = &fl->pt[r];

		if (!pt->set)
			continue;
		ev_open(o, k == 0 ? "s" : k + 1 == n ? "f" : "t");
		k++;
		fprintf(o->f,
			",\"name\":\"%s\",\"cat\":\"lpc\",\"id\":%" PRIu64,
			flow_name(fl), id);
		ev_ts(o, pt->ts);
		ev_who(o, pt->pid, pt->tid);
		/* Bind to the enclosing slice: the record's own instant. */
		fputs(",\"bp\":\"e\"}", o->f);
	}
	p->flows_written++;
}

static struct flow *flow_point(struct output *o, enum flow_kind kind,
			       uint32_t msgid, uint32_t cb, enum flow_role role,
			       const struct lpct_event *e)
{
	struct perfetto *p = o->priv;
	uint64_t key = flow_key(kind, msgid, cb);
	struct flow *fl;

	if (!msgid)
		return NULL;
	fl = pmap_get(&p->flows, key);
	if (!fl) {
		if (p->flows.n >= FLOWS_MAX) {
			p->flows_untracked++;
			return NULL;
		}
		fl = calloc(1, sizeof(*fl));
		if (!fl || pmap_add(&p->flows, key, fl)) {
			free(fl);
			p->err = -ENOMEM;
			return NULL;
		}
		fl->key = key;
		fl->kind = kind;
		fl->msgid = msgid;
		fl->cb = cb;
	}
	fl->pt[role] = (struct fpoint){
		.ts = e->ts, .pid = e->pid, .tid = e->tid, .set = true
	};
	return fl;
}

static void flow_finish(struct output *o, struct flow *fl)
{
	struct perfetto *p = o->priv;

	write_flow(o, fl);
	pmap_del(&p->flows, fl->key);
	free(fl);
}

static bool failed_status(int64_t status)
{
	return (int32_t)status < 0;
}

/*
 * A callback for msgid is under way: the server is still handling the
 * request, so a wait_end the client recorded for it delivered the
 * callback, not the answer.  (Its send and the client's reply race with
 * that wait_end; whichever comes second undoes it.)
 */
static void callback_seen(struct output *o, uint32_t msgid)
{
	struct perfetto *p = o->priv;
	struct flow *fl = pmap_get(&p->flows, flow_key(FLOW_REQUEST, msgid, 0));

	if (fl)
		fl->pt[PT_END].set = false;
}

/*
 * A flow is written when its last point is known: for a request, both
 * the reply and the client's wait_end (they race: the woken client may
 * record first), or a wait_end that gave up, or a refused reply.
 */
static void flows_event(struct output *o, struct tstate *t,
			const struct lpct_event *e)
{
	struct perfetto *p = o->priv;
	const __s64 *a = e->arg;
	struct flow *fl;
	uint32_t msgid, cb;

	switch (e->probe) {
	case LPCT_P_SEND:
		if (failed_status(a[7]))
			break;	/* refused: it went nowhere */
		msgid = (uint32_t)a[2];
		cb = (uint32_t)a[3];
		if (a[1] == LPC_DATAGRAM) {
			fl = flow_point(o, FLOW_DATAGRAM, msgid, cb, PT_SEND, e);
			if (fl && fl->pt[PT_RECEIVE].set)
				flow_finish(o, fl);
		} else {
			fl = flow_point(o, FLOW_REQUEST, msgid, cb, PT_SEND, e);
			if (fl)
				t->last_send = fl->key;
			if (cb)
				callback_seen(o, msgid);
		}
		break;
	case LPCT_P_RECEIVE:
		msgid = (uint32_t)a[2];
		cb = (uint32_t)a[3];
		if (a[1] == LPC_DATAGRAM) {
			fl = flow_point(o, FLOW_DATAGRAM, msgid, cb, PT_RECEIVE,
					e);
			if (fl && fl->pt[PT_SEND].set)
				flow_finish(o, fl);
		} else if (a[1] == LPC_CONNECTION_REQUEST) {
			flow_point(o, FLOW_CONNECT, msgid, 0, PT_RECEIVE, e);
		} else if (answered((uint32_t)a[1])) {
			flow_point(o, FLOW_REQUEST, msgid, cb, PT_RECEIVE, e);
		}
		break;
	case LPCT_P_REPLY:
		if (a[2])
			callback_seen(o, (uint32_t)a[1]);
		fl = flow_point(o, FLOW_REQUEST, (uint32_t)a[1], (uint32_t)a[2],
				PT_ANSWER, e);
		if (fl && (fl->pt[PT_END].set || failed_status(a[7])))
			flow_finish(o, fl);
		break;
	case LPCT_P_WAIT_END:
		if (a[1] != LPCT_W_REPLY)
			break;
		/* The thread waits for the answer to its last send: that
		 * names the CallbackId, which wait_end does not carry. */
		msgid = (uint32_t)a[2];
		if (t->last_send >> 62 == FLOW_REQUEST &&
		    (uint32_t)t->last_send == msgid)
			fl = pmap_get(&p->flows, t->last_send);
		else
			fl = pmap_get(&p->flows,
				      flow_key(FLOW_REQUEST, msgid, 0));
		if (!fl)
			break;
		fl->pt[PT_END] = (struct fpoint){
			.ts = e->ts, .pid = e->pid, .tid = e->tid, .set = true
		};
		if (!a[3] || fl->pt[PT_ANSWER].set)
			flow_finish(o, fl);
		break;
	case LPCT_P_CONNECT_REQUEST:
		flow_point(o, FLOW_CONNECT, (uint32_t)a[1], 0, PT_SEND, e);
		break;
	case LPCT_P_ACCEPT:
		fl = flow_point(o, FLOW_CONNECT, (uint32_t)a[0], 0, PT_ANSWER,
				e);
		if (fl && fl->pt[PT_END].set)
			flow_finish(o, fl);
		break;
	case LPCT_P_CONNECT_DONE:
		fl = flow_point(o, FLOW_CONNECT, (uint32_t)a[1], 0, PT_END, e);
		/* A failure the server never saw has no accept to wait
		 * for. */
		if (fl && (fl->pt[PT_ANSWER].set ||
			   (failed_status(a[3]) && !fl->pt[PT_RECEIVE].set)))
			flow_finish(o, fl);
		break;
	default:
		break;
	}
}

/* ------------------------------------------------------------------ */
/* The format                                                         */
/* ------------------------------------------------------------------ */

static int perfetto_begin(struct output *o)
{
	struct perfetto *p = calloc(1, sizeof(*p));

	if (!p)
		return -ENOMEM;
	o->priv = p;
	/* displayTimeUnit only sets the UI's unit: "ts" stays in us. */
	fputs("{\"displayTimeUnit\":\"ns\",\"traceEvents\":[", o->f);
	return 0;
}

static int perfetto_event(struct output *o, const struct lpct_event *e)
{
	struct perfetto *p = o->priv;
	struct tstate *t;

	if (e->ts > p->last_ts)
		p->last_ts = e->ts;
	t = track(o, e);
	if (!t)
		return p->err ? p->err : -ENOMEM;
	/* The instant first: the flow events written for this record
	 * bind to it. */
	instant(o, e);
	spans_event(o, t, e);
	flows_event(o, t, e);
	return p->err;
}

static void free_state(struct perfetto *p)
{
	for (size_t i = 0; i < p->threads.cap; i++)
		if (p->threads.keys[i])
			free(((struct tstate *)p->threads.vals[i])->stack);
	pmap_free(&p->threads, true);
	pmap_free(&p->procs, true);
	pmap_free(&p->flows, true);
	pmap_free(&p->ids, false);
	free(p);
}

static int perfetto_end(struct output *o, const struct output_summary *s)
{
	struct perfetto *p = o->priv;
	FILE *f = o->f;

	if (!p)
		return 0;
	/* Whatever is still open ends with the trace. */
	for (size_t i = 0; i < p->threads.cap; i++) {
		struct tstate *t = p->threads.vals[i];

		while (t && t->depth)
			close_span(o, t, t->depth - 1, p->last_ts,
				   (struct span_end){ .flags = SF_UNFINISHED });
	}
	/* Flows with two points or more draw what they have. */
	for (size_t i = 0; i < p->flows.cap; i++)
		if (p->flows.keys[i])
			write_flow(o, p->flows.vals[i]);

	fputs("\n],\"otherData\":{\"tool\":\"lpctrace\",\"trace_start\":", f);
	json__time(f, (int64_t)o->opts.t0 + o->opts.realtime_off);
	if (s) {
		fprintf(f, ",\"events\":%" PRIu64 ",\"duration_ns\":%" PRIu64,
			s->events, s->duration_ns);
		for (unsigned i = 0; i < LPCT_DROP_MAX; i++)
			fprintf(f, ",\"drops_%s\":%" PRIu64, decode__drop_name(i),
				s->drops[i]);
	} else {
		fputs(",\"aborted\":true", f);
	}
	fprintf(f,
		",\"flows\":%" PRIu64 ",\"flows_renumbered\":%" PRIu64
		",\"flows_untracked\":%" PRIu64
		",\"slices_untracked\":%" PRIu64 "}}\n",
		p->flows_written, p->renumbered, p->flows_untracked,
		p->spans_dropped);
	free_state(p);
	o->priv = NULL;
	return ferror(f) ? -EIO : 0;
}

const struct output_ops out_perfetto_ops = {
	.name = "perfetto",
	.begin = perfetto_begin,
	.event = perfetto_event,
	.end = perfetto_end,
};
