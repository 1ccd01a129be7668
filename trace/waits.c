/* SPDX-License-Identifier: MIT */
/*
 * lpctrace waits: the LPC hang checklist as one view.  For each thread in
 * a reply wait: which server thread received its message (or that none
 * has), and what that thread is doing now: receiving again, waiting for a
 * reply of its own (followed; a cycle is a deadlock), busy, sleeping,
 * stopped, or gone, from /proc.  Where the process publishes them
 * (lpcdbg.h version 2), the holder's last reply attempt and the requests
 * it set aside say where a reply went or why it failed.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "env.h"
#include "session.h"
#include "snapshot.h"

#define MAX_CHAIN 16

/* "R, running", "S, sleeping in futex_wait_queue", "T, STOPPED"... */
static const char *thread_state(uint32_t pid, uint32_t tid, char *buf,
				size_t len)
{
	char path[96], line[512], wchan[64] = "";
	const char *paren, *what;
	FILE *f;
	char st;

	snprintf(path, sizeof(path), "/proc/%u/task/%u/stat", pid, tid);
	f = fopen(path, "re");
	if (!f)
		return NULL;
	if (!fgets(line, sizeof(line), f)) {
		fclose(f);
		return NULL;
	}
	fclose(f);
	paren = strrchr(line, ')');
	if (!paren || !paren[1] || !paren[2])
		return NULL;
	st = paren[2];
	snprintf(path, sizeof(path), "/proc/%u/task/%u/wchan", pid, tid);
	f = fopen(path, "re");
	if (f) {
		if (!fgets(wchan, sizeof(wchan), f) || !strcmp(wchan, "0"))
			wchan[0] = '\0';
		fclose(f);
	}
	switch (st) {
	case 'R':
		what = "running";
		break;
	case 'S':
		what = "sleeping";
		break;
	case 'D':
		what = "in uninterruptible sleep";
		break;
	case 'T':
		what = "STOPPED (SIGSTOP)";
		break;
	case 't':
		what = "STOPPED by a debugger (ptrace)";
		break;
	case 'Z':
	case 'X':
		what = "exiting";
		break;
	default:
		what = "?";
	}
	if (wchan[0] && (st == 'S' || st == 'D'))
		snprintf(buf, len, "%c, %s in %s", st, what, wchan);
	else
		snprintf(buf, len, "%c, %s", st, what);
	return buf;
}

static const char *name_or(const char *n)
{
	return n ? n : "(unnamed port)";
}

static double secs(const struct snapshot *snap, uint64_t since)
{
	return snap->now > since ? (snap->now - since) / 1e9 : 0.0;
}

static const char *wait_port(const struct snapshot *snap,
			     const struct snap_wait *w)
{
	return snapshot__domain_name(snap, w->w.pid, w->w.domain);
}

static bool same_ns(snap_ns a, snap_ns b)
{
	return !a || !b || a == b;
}

static bool in_chain(const uint32_t *seen, int n, uint32_t tid)
{
	for (int i = 0; i < n; i++)
		if (seen[i] == tid)
			return true;
	return false;
}

/*
 * The server threads of the port named name: those receiving on it, and
 * those holding a request that came through it.  Counts the receivers
 * and the servers that are not in the chain being followed.
 */
static void port_servers(const struct snapshot *snap, const char *name,
			 snap_ns ns, const uint32_t *seen, int nseen,
			 int *receivers, int *free_servers)
{
	*receivers = *free_servers = 0;
	for (size_t i = 0; name && i < snap->nwaits; i++) {
		const struct snap_wait *w = &snap->waits[i];
		const char *wn;

		if (w->w.kind != LPCT_W_RECEIVE || !same_ns(w->ns, ns))
			continue;
		wn = wait_port(snap, w);
		if (wn && !strcmp(wn, name))
			(*receivers)++;
	}
	for (size_t i = 0; name && i < snap->nheld; i++) {
		const struct snap_held *h = &snap->held[i];

		/* A thread counts once, by the request it holds now. */
		if (h->set_aside || !same_ns(h->ns, ns) || strcmp(h->port, name))
			continue;
		if (!in_chain(seen, nseen, h->v.tid))
			(*free_servers)++;
	}
}

/* "; it holds 12 (3.1 s): 123/456 (S, sleeping in futex_wait_queue)..."
 * for each thread busy with a request from the port. */
static void print_busy(struct snapshot *snap, FILE *f, const char *name,
		       snap_ns ns, const uint32_t *seen, int nseen)
{
	int n = 0;

	for (size_t i = 0; name && i < snap->nheld; i++) {
		const struct snap_held *h = &snap->held[i];
		char sbuf[160];
		const char *st;

		if (h->set_aside || !same_ns(h->ns, ns) ||
		    strcmp(h->port, name) || in_chain(seen, nseen, h->v.tid))
			continue;
		st = thread_state(h->v.pid, h->v.tid, sbuf, sizeof(sbuf));
		fprintf(f, "       busy: %u/%u holds message %u (%.3f s): %s\n",
			h->v.pid, h->v.tid, h->msgid, secs(snap, h->v.since),
			st ? st : "gone");
		if (++n == 8)
			break;
	}
}

/* The one thread busy with a request from port, outside the chain. */
static const struct snap_held *only_busy(const struct snapshot *snap,
					 const char *name, snap_ns ns,
					 const uint32_t *seen, int nseen)
{
	for (size_t i = 0; name && i < snap->nheld; i++) {
		const struct snap_held *h = &snap->held[i];

		if (!h->set_aside && same_ns(h->ns, ns) &&
		    !strcmp(h->port, name) && !in_chain(seen, nseen, h->v.tid))
			return h;
	}
	return NULL;
}

static const char *status_str(uint32_t st, char *buf, size_t len)
{
	const char *n = decode__status_name((int32_t)st);

	if (n)
		return n;
	snprintf(buf, len, "0x%08x", st);
	return buf;
}

/* The holder received msgid, did not reply, and went back to receiving:
 * what its last reply attempt says about where the answer went. */
static void print_lost(struct snapshot *snap, FILE *f,
		       const struct snap_held *h)
{
	const struct snap_reply *l = &h->last;
	char b[16];

	if (!l->msgid || l->at < h->v.since) {
		fprintf(f, "it is receiving again without having replied (the "
			"reply is lost or was sent to the wrong client)\n");
		return;
	}
	if (l->msgid == h->msgid && l->status) {
		fprintf(f, "it is receiving again: its reply to it FAILED "
			"%.3f s ago with %s and was never sent\n",
			secs(snap, l->at), status_str(l->status, b, sizeof(b)));
		return;
	}
	fprintf(f, "it is receiving again without having replied: its last "
		"reply (%.3f s ago, %s) named message %u of %u/%u instead; the "
		"answer meant for this client went to the wrong one\n",
		secs(snap, l->at), status_str(l->status, b, sizeof(b)),
		l->msgid, l->client_pid, l->client_tid);
}

/* The holder received msgid, then received another without replying. */
static void print_set_aside(struct snapshot *snap, FILE *f,
			    const struct snap_held *h)
{
	const struct snap_wait *now = snapshot__wait_of(snap, h->v.pid,
							  h->v.tid);
	char b[16], sbuf[160];
	const char *st;

	fprintf(f, "    -> message %u was received by %u/%u (%s) %.3f s ago, "
		"never answered: ", h->msgid, h->v.pid, h->v.tid,
		snapshot__comm(snap, h->v.pid), secs(snap, h->v.since));
	if (h->status)
		fprintf(f, "its reply to it FAILED with %s; ",
			status_str(h->status, b, sizeof(b)));
	else if (h->last.msgid && h->last.at >= h->v.since)
		fprintf(f, "its last reply named message %u of %u/%u (%s); ",
			h->last.msgid, h->last.client_pid, h->last.client_tid,
			status_str(h->last.status, b, sizeof(b)));
	fprintf(f, "it has since received ");
	if (h->now_msgid)
		fprintf(f, "message %u, which it holds", h->now_msgid);
	else
		fprintf(f, "other requests");
	if (now && now->w.kind == LPCT_W_RECEIVE) {
		fprintf(f, ", and is receiving again\n");
		return;
	}
	if (now && now->w.kind == LPCT_W_REPLY) {
		fprintf(f, ", and waits for the reply to message %u\n",
			now->w.msgid);
		return;
	}
	st = thread_state(h->v.pid, h->v.tid, sbuf, sizeof(sbuf));
	fprintf(f, " (now %s)\n", st ? st : "gone");
}

/* Follows "waits for message M, held by T, which waits for ..." */
/*
 * A callback on the request h holds: a thread of the holder's process
 * (the holder itself, or another one given the message) in a reply wait
 * for h's own MessageId.  hw: the holder's wait, or NULL.
 */
static const struct snap_wait *callback_wait(const struct snapshot *snap,
					     const struct snap_held *h,
					     const struct snap_wait *hw)
{
	if (hw && hw->w.kind == LPCT_W_REPLY && hw->w.msgid == h->msgid)
		return hw;
	for (size_t i = 0; i < snap->nwaits; i++) {
		const struct snap_wait *x = &snap->waits[i];

		if (x->w.kind == LPCT_W_REPLY && x->w.msgid == h->msgid &&
		    x->w.pid == h->v.pid && x->w.tid != h->v.client_tid &&
		    same_ns(x->ns, h->ns))
			return x;
	}
	return NULL;
}

/*
 * A thread of the server (hw) waits for a reply to the message M that h
 * holds: it called the client of M back.  The client's thread takes the callback in its own
 * wait for M's reply and answers it; until then the chain ends there,
 * at whatever that thread is doing.
 */
static void print_callback(FILE *f, const struct snapshot *snap,
			   const struct snap_held *h,
			   const struct snap_wait *hw,
			   const struct snap_wait *w)
{
	uint32_t cpid = h->v.client_pid, ctid = h->v.client_tid;
	const struct snap_wait *cw = snapshot__wait_of(snap, cpid, ctid);
	char sbuf[160];
	const char *st = thread_state(cpid, ctid, sbuf, sizeof(sbuf));

	if (hw->w.tid == h->v.tid)
		fprintf(f, "it called the client back on it (a callback, "
			"%.3f s): ", secs(snap, hw->w.since));
	else
		fprintf(f, "%u/%u called the client back on it (a callback, "
			"%.3f s): ", hw->w.pid, hw->w.tid,
			secs(snap, hw->w.since));
	fprintf(f, "the answer must come from %u/%u", cpid, ctid);
	if (!st)
		fprintf(f, ", which is gone\n");
	else if (cw && cw->w.kind == LPCT_W_REPLY &&
		 cw->w.msgid == h->msgid)
		fprintf(f, "%s, still in its wait for message %u: it has "
			"not taken the callback yet (%s)\n",
			cw == w ? " (this thread)" : "", h->msgid, st);
	else
		fprintf(f, " (%s)\n", st);
}

static void explain(struct snapshot *snap, FILE *f, const struct snap_wait *w)
{
	uint32_t seen[MAX_CHAIN];
	int depth = 0;

	while (w && w->w.kind == LPCT_W_REPLY && depth < MAX_CHAIN) {
		const struct snap_held *h = snapshot__held(snap, w->w.msgid,
							   w->ns);
		const struct snap_wait *next, *cb;
		char sbuf[160];
		const char *st;

		seen[depth++] = w->w.tid;
		if (!h) {
			const char *port = wait_port(snap, w);
			const struct snap_replier *a =
				snapshot__answered(snap, w->w.msgid, w->ns);
			int r, busy;

			if (a && a->last.client_tid == w->w.tid) {
				/* Answered; the waiter has not read it. */
				fprintf(f, "    -> message %u was answered by "
					"%u/%u (%s) %.3f s ago: the reply "
					"waits, unread, until thread %u runs "
					"(see its STATE)\n", w->w.msgid,
					a->pid, a->tid,
					snapshot__comm(snap, a->pid),
					secs(snap, a->last.at), w->w.tid);
				return;
			}

			port_servers(snap, port, w->ns, seen, depth, &r, &busy);
			fprintf(f, "    -> no server thread has received "
				"message %u yet", w->w.msgid);
			if (!port) {
				fprintf(f, " (its port was created before "
					"tracing began)\n");
			} else if (r == 0 && depth > 1 && busy == 0) {
				/* Every thread serving the port is a link
				 * of this very chain. */
				fprintf(f, ": DEADLOCK: every thread serving "
					"%s is in this chain, waiting for a "
					"reply that needs %s\n", port, port);
			} else if (r == 0) {
				const struct snap_held *b;

				fprintf(f, ": no thread is receiving on %s "
					"(all busy, stuck, or the server is not "
					"serving the port)\n", port);
				print_busy(snap, f, port, w->ns, seen, depth);
				/* One thread serves the port and waits for a
				 * reply itself: the request waits for that
				 * wait, which is followed (a crossed
				 * deadlock closes through it). */
				b = busy == 1 ? only_busy(snap, port, w->ns,
							  seen, depth)
					      : NULL;
				next = b ? snapshot__wait_of(snap, b->v.pid,
							     b->v.tid)
					 : NULL;
				if (next && next->w.kind == LPCT_W_REPLY &&
				    depth < MAX_CHAIN) {
					fprintf(f, "    -> %u/%u, the one "
						"thread busy serving %s, "
						"waits for the reply to "
						"message %u on %s (%.3f s)\n",
						b->v.pid,
						b->v.tid, port, next->w.msgid,
						name_or(wait_port(snap, next)),
						secs(snap, next->w.since));
					w = next;
					continue;
				}
			} else {
				fprintf(f, ": %d thread%s receiving on %s; "
					"if %s not running, it cannot take "
					"the request (see STATE)\n", r,
					r == 1 ? " is" : "s are", port,
					r == 1 ? "it is" : "they are");
			}
			return;
		}
		if (h->set_aside) {
			print_set_aside(snap, f, h);
			return;
		}
		fprintf(f, "    -> message %u held by %u/%u (%s) for %.3f s: ",
			w->w.msgid, h->v.pid, h->v.tid,
			snapshot__comm(snap, h->v.pid), secs(snap, h->v.since));
		next = snapshot__wait_of(snap, h->v.pid, h->v.tid);
		cb = callback_wait(snap, h, next);
		if (cb) {
			/* A callback (spec 7.2) reuses the request's
			 * MessageId: the server waits for the client of that
			 * request to take it and answer, not for itself. */
			print_callback(f, snap, h, cb, w);
			return;
		}
		if (in_chain(seen, depth, h->v.tid)) {
			fprintf(f, "DEADLOCK: it waits, directly or not, for "
				"this very thread\n");
			return;
		}
		if (next && next->w.kind == LPCT_W_REPLY) {
			fprintf(f, "it waits for the reply to message %u on "
				"%s (%.3f s)\n", next->w.msgid,
				name_or(wait_port(snap, next)),
				secs(snap, next->w.since));
			w = next;
			continue;
		}
		if (next && next->w.kind == LPCT_W_RECEIVE) {
			print_lost(snap, f, h);
			return;
		}
		st = thread_state(h->v.pid, h->v.tid, sbuf, sizeof(sbuf));
		if (!st)
			fprintf(f, "that thread is gone; it will never "
				"reply\n");
		else
			fprintf(f, "it is serving it, not in an LPC wait (%s)\n",
				st);
		return;
	}
	if (depth == MAX_CHAIN)
		fprintf(f, "    -> (chain longer than %d, cut)\n", MAX_CHAIN);
}

static int cmp_since(const void *a, const void *b)
{
	const struct snap_wait *x = a, *y = b;

	return x->w.since < y->w.since ? -1 : x->w.since > y->w.since;
}

size_t waits__print(struct snapshot *snap, FILE *f, pid_t only)
{
	size_t nreply = 0, nrecv = 0;

	if (snap->nwaits)
		qsort(snap->waits, snap->nwaits, sizeof(*snap->waits),
		      cmp_since);
	fprintf(f, "%-16s %-16s %-8s %-24s %8s %10s  %s\n", "THREAD", "COMM",
		"WAIT", "PORT", "MSGID", "FOR(s)", "STATE");
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < snap->nwaits; i++) {
			const struct snap_wait *w = &snap->waits[i];
			char who[40], comm[LPCT_COMM_LEN + 1], sbuf[160];
			bool recv = w->w.kind == LPCT_W_RECEIVE;
			const char *st;

			if (only && w->w.pid != (uint32_t)only)
				continue;
			/* Waits for something first, idle receivers after. */
			if (recv != (pass == 1))
				continue;
			if (pass == 1 && nrecv++ == 0)
				fprintf(f, "receiving (idle server threads):\n");
			if (!recv)
				nreply++;
			snprintf(who, sizeof(who), "%u/%u", w->w.pid, w->w.tid);
			memcpy(comm, w->w.comm, LPCT_COMM_LEN);
			comm[LPCT_COMM_LEN] = '\0';
			st = thread_state(w->w.pid, w->w.tid, sbuf, sizeof(sbuf));
			fprintf(f, "%-16s %-16s %-8s %-24s %8u %10.3f  %s\n",
				who, comm, decode__wait_kind_name(w->w.kind),
				name_or(wait_port(snap, w)), w->w.msgid,
				secs(snap, w->w.since), st ? st : "gone");
			if (w->w.kind == LPCT_W_REPLY)
				explain(snap, f, w);
		}
	}
	if (!nreply && !nrecv)
		fprintf(f, "(no thread is in an LPC wait)\n");
	else if (!nreply)
		fprintf(f, "(no thread waits for a reply)\n");
	return nreply;
}
