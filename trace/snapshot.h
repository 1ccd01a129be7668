/* SPDX-License-Identifier: MIT */
/* A copy of the tracking maps (ports, waits, held requests), taken at one
 * moment, for stat and waits to read without racing the kernel. */
#ifndef LPCTRACE_SNAPSHOT_H
#define LPCTRACE_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include "session.h"

struct snap_port {
	struct lpct_port_key k;
	struct lpct_port_info v;
	char nt[LPCT_NAME_LEN + 2];	/* "\Windows\ApiPort", or "" */
};

/* A namespace ($LPC_ROOT) as a number, 0 when unknown: MessageIds are
 * unique within one only. */
typedef uint64_t snap_ns;

struct snap_wait {
	struct lpct_wait w;
	snap_ns ns;
};

/* The last reply a thread attempted (published state version 2 only). */
struct snap_reply {
	uint32_t msgid;			/* 0: none known */
	uint32_t status;		/* NTSTATUS */
	uint32_t client_pid, client_tid;	/* the ClientId it named */
	uint64_t at;
};

struct snap_held {
	uint32_t msgid;
	struct lpct_held v;
	snap_ns ns;
	char port[LPCT_NAME_LEN + 2];	/* NT name it was received on, or "" */
	/* From published state only (zero from BPF maps): */
	struct snap_reply last;		/* the holder's last reply attempt */
	bool set_aside;			/* it received another since */
	uint32_t status;		/* set aside: its reply's status, or 0 */
	uint32_t now_msgid;		/* set aside: the one it holds now */
};

/* A thread's last reply attempt, for every thread that made one
 * (published state version 2 only). */
struct snap_replier {
	uint32_t pid, tid;
	snap_ns ns;
	struct snap_reply last;
};

struct snapshot {
	struct snap_replier *repliers;
	size_t nrepliers;
	struct snap_port *ports;
	size_t nports;
	struct snap_wait *waits;
	size_t nwaits;
	struct snap_held *held;
	size_t nheld;
	uint64_t now;			/* CLOCK_MONOTONIC ns when taken */
	struct {
		uint32_t pid;
		char comm[LPCT_COMM_LEN + 1];
	} comms[256];
	size_t ncomms;
};

/* From the BPF maps of a running session.  NULL and errno on failure. */
struct snapshot *snapshot__read(struct session *s);
/*
 * From the state liblpc publishes in every process (pubthreads.c), or in
 * process only: no BPF needed.  nprocs counts the processes read, denied
 * those whose memory could not be read (not root).
 */
struct snapshot *snapshot__from_tables(pid_t only, int *nprocs, int *denied);
/* Whether process pid publishes its LPC state. */
bool snapshot__publishes(pid_t pid);
void snapshot__free(struct snapshot *snap);

/* The name of the port whose domain (or address) is id in pid, or NULL. */
const char *snapshot__domain_name(const struct snapshot *snap, uint32_t pid,
				  uint64_t id);
/* The command name of pid, "?" once it is gone. */
const char *snapshot__comm(struct snapshot *snap, uint32_t pid);
/* The wait of thread tid of process pid, or NULL. */
const struct snap_wait *snapshot__wait_of(const struct snapshot *snap,
					  uint32_t pid, uint32_t tid);
/* The server thread holding request msgid in namespace ns (0: any), or
 * NULL; one holding it now before one that set it aside. */
/* The thread whose last reply delivered message msgid (status 0), or
 * NULL: a reply the waiter has not read yet. */
const struct snap_replier *snapshot__answered(const struct snapshot *snap,
					      uint32_t msgid, snap_ns ns);
const struct snap_held *snapshot__held(const struct snapshot *snap,
				       uint32_t msgid, snap_ns ns);

#endif
