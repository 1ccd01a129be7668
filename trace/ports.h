/* SPDX-License-Identifier: MIT */
/*
 * lpctrace ports: the LPC namespace as WinObj shows it.  Every port under
 * $LPC_ROOT, the process serving it, its connections and what waits in
 * its queues, from the kernel's unix_diag and /proc.  No tracing and no
 * BPF: a snapshot, taken without touching the ports.
 */
#ifndef LPCTRACE_PORTS_H
#define LPCTRACE_PORTS_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

struct ports_opts {
	const char *root;	/* $LPC_ROOT to list; NULL: liblpc's rule */
	bool json;		/* NDJSON, one object per port, not the table */
	pid_t pid;		/* only ports served by or connected from pid; 0 all */
	int verbose;		/* 1: a line per connection and pending request */
};

/*
 * Prints the ports of o->root to out: an aligned table (PORT SERVER UID
 * CONNS BACKLOG QUEUED CLIENTS), or one JSON object per port.  NULL root
 * picks the namespace the way liblpc does (LPC_ROOT, /run/lpc for root,
 * $XDG_RUNTIME_DIR/lpc, /tmp/lpc-EUID).
 *
 * Returns 0, or -errno with a message on stderr: no namespace at the root,
 * no unix_diag in the kernel, out of memory, a write error on out.  What
 * cannot be seen is not an error: processes that exit during the scan are
 * skipped, and /proc entries not readable (not root) are noted once on
 * stderr with their servers and clients shown as "?".
 */
int ports__run(const struct ports_opts *o, FILE *out);

#endif
