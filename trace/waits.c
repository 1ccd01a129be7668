/* SPDX-License-Identifier: MIT */
/*
 * lpctrace waits: the LPC hang checklist as one view.  For each thread in
 * a reply wait: which server thread received its message (or that none
 * has), and what that thread is doing now: receiving again, waiting for a
 * reply of its own (followed; a cycle is a deadlock), busy, sleeping,
 * stopped, or gone, from /proc.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

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

		if (!same_ns(h->ns, ns) || strcmp(h->port, name))
			continue;
		if (!in_chain(seen, nseen, h->v.tid))
			(*free_servers)++;
	}
}

/* Follows "waits for message M, held by T, which waits for ..." */
static void explain(struct snapshot *snap, FILE *f, const struct snap_wait *w)
{
	uint32_t seen[MAX_CHAIN];
	int depth = 0;

	while (w && w->w.kind == LPCT_W_REPLY && depth < MAX_CHAIN) {
		const struct snap_held *h = snapshot__held(snap, w->w.msgid,
							   w->ns);
		const struct snap_wait *next;
		char sbuf[160];
		const char *st;

		seen[depth++] = w->w.tid;
		if (!h) {
			const char *port = wait_port(snap, w);
			int r, busy;

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
				fprintf(f, ": no thread is receiving on %s "
					"(all busy, stuck, or the server is not "
					"serving the port)\n", port);
			} else {
				fprintf(f, ": %d thread%s receiving on %s; "
					"if %s not running, it cannot take "
					"the request (see STATE)\n", r,
					r == 1 ? " is" : "s are", port,
					r == 1 ? "it is" : "they are");
			}
			return;
		}
		fprintf(f, "    -> message %u held by %u/%u (%s) for %.3f s: ",
			w->w.msgid, h->v.pid, h->v.tid,
			snapshot__comm(snap, h->v.pid), secs(snap, h->v.since));
		if (in_chain(seen, depth, h->v.tid)) {
			fprintf(f, "DEADLOCK: it waits, directly or not, for "
				"this very thread\n");
			return;
		}
		next = snapshot__wait_of(snap, h->v.pid, h->v.tid);
		if (next && next->w.kind == LPCT_W_REPLY) {
			fprintf(f, "it waits for the reply to message %u on "
				"%s (%.3f s)\n", next->w.msgid,
				name_or(wait_port(snap, next)),
				secs(snap, next->w.since));
			w = next;
			continue;
		}
		if (next && next->w.kind == LPCT_W_RECEIVE) {
			fprintf(f, "it is receiving again without having "
				"replied (the reply is lost or was sent to "
				"the wrong client)\n");
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
