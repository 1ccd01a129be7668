/* SPDX-License-Identifier: MIT */
/* One lpctrace run: what the lifecycle, stat.c and waits.c share. */
#ifndef LPCTRACE_SESSION_H
#define LPCTRACE_SESSION_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <time.h>

#include "decode.h"
#include "output.h"

struct env;
struct lpctrace_bpf;
struct ring_buffer;
struct attacher;
struct bpf_link;

struct session {
	const struct env *env;
	struct lpctrace_bpf *skel;
	struct ring_buffer *rb;
	struct attacher *att;
	struct bpf_link *links[2];
	struct output *out;
	struct portnames *pn;
	uint64_t events;
	uint64_t drops[LPCT_DROP_MAX];	/* last values reported */
	uint64_t start;			/* CLOCK_MONOTONIC ns */
	uint64_t duration;		/* ns, at the end */
	int write_error;
	pid_t child;
	bool child_done;
	int child_status;
};

uint64_t now_ns(clockid_t clk);

/* lpctrace stat: the counters and histograms of the stats map. */
void stat__print(struct session *s, FILE *f, bool final);

struct snapshot;
/* lpctrace waits: every thread in a reply wait or receive (of process
 * only, when not 0), and who holds what it waits for, found anywhere in
 * the snapshot.  Returns the number of threads waiting for a reply. */
size_t waits__print(struct snapshot *snap, FILE *f, pid_t only);

#endif
