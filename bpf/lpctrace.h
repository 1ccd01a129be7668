/* SPDX-License-Identifier: MIT */
/*
 * Records and map values shared by bpf/lpctrace.bpf.c and lpctrace.
 * Fixed-width fields only, every struct 8-byte aligned; no vmlinux.h and
 * no libc here (the BPF side defines the __u* types from vmlinux.h, user
 * space from <linux/types.h>).
 */
#ifndef LPCTRACE_H
#define LPCTRACE_H

#define LPCT_COMM_LEN	16
#define LPCT_NAME_LEN	64	/* a port's path under $LPC_ROOT, truncated */
#define LPCT_NARGS	10	/* the most arguments a probe has (receive) */
#define LPCT_SNAP_MAX	512	/* payload bytes a record can carry */
#define LPCT_HIST_SLOTS	32	/* log2(ns) buckets: 1 ns .. 2 s and over */

/* Record types on the ring buffer. */
enum lpct_rec_type {
	LPCT_REC_EVENT = 1,
};

/* Probes, in docs/probes.md order; lpc:* then csrd:*. */
enum lpct_probe {
	LPCT_P_PORT_CREATE = 1,
	LPCT_P_PORT_CLOSE,
	LPCT_P_CONNECT_REQUEST,
	LPCT_P_CONNECT_DONE,
	LPCT_P_LISTEN,
	LPCT_P_ACCEPT,
	LPCT_P_COMPLETE,
	LPCT_P_SEND,
	LPCT_P_RECEIVE,
	LPCT_P_REPLY,
	LPCT_P_WAIT_BEGIN,
	LPCT_P_WAIT_END,
	LPCT_P_REQUEST_DATA,
	LPCT_P_IMPERSONATE,
	LPCT_P_REVERT,
	LPCT_P_EXCEPTION,
	LPCT_P_VIEW,
	LPCT_P_CSR_CONNECT,
	LPCT_P_CSR_API,
	LPCT_P_MAX,
};

/* Wait kinds of lpc:wait_begin. */
enum lpct_wait_kind {
	LPCT_W_REPLY = 1,
	LPCT_W_CONNECT = 2,
	LPCT_W_DATA = 3,
	LPCT_W_VIEW = 4,
	LPCT_W_RECEIVE = 5,
};

/*
 * One probe hit.  arg[] holds the probe's arguments in the order of
 * docs/probes.md; name[] the string the probe points at (port_create,
 * connect_request, connect_done); snap[] the first snap_len bytes of the
 * message (send, receive, reply) when a snap length was asked for.
 */
struct lpct_event {
	__u16 rec;		/* LPCT_REC_EVENT */
	__u16 probe;		/* enum lpct_probe */
	__u32 cpu;
	__u64 ts;		/* CLOCK_MONOTONIC, ns */
	__u32 pid;		/* process (tgid) */
	__u32 tid;
	__u32 uid;
	__u32 snap_len;
	/* ns: reply since its receive; wait_end of a reply or connect wait
	 * since its wait_begin; csrd:api since the request's receive. */
	__u64 latency;
	__s64 arg[LPCT_NARGS];
	char comm[LPCT_COMM_LEN];
	char name[LPCT_NAME_LEN];
	__u8 snap[];		/* LPCT_SNAP_MAX bytes reserved when snapping */
};

/* Drop counters (lpct_drops, an array indexed by these). */
enum lpct_drop {
	LPCT_DROP_RINGBUF,	/* a record the ring buffer had no room for */
	LPCT_DROP_WAITS,	/* a wait the waits map had no room for */
	LPCT_DROP_HELD,		/* a received message held[] had no room for */
	LPCT_DROP_STATS,	/* a counter slot the stats map had no room for */
	LPCT_DROP_PORTS,	/* a port the ports map had no room for */
	LPCT_DROP_MAX,
};

/* lpct_waits, keyed by tid: a thread inside an LPC wait. */
struct lpct_wait {
	__u64 since;		/* wait_begin's timestamp */
	__u64 domain;
	__u32 pid;
	__u32 tid;
	__u32 kind;		/* enum lpct_wait_kind */
	__u32 msgid;		/* the message whose answer it waits for */
	__u32 peer_tid;		/* wait_begin's tid argument */
	__u32 uid;
	char comm[LPCT_COMM_LEN];
};

/* lpct_held, keyed by MessageId (unique in one $LPC_ROOT): a request a
 * server thread received and has not replied to yet. */
struct lpct_held {
	__u64 since;		/* the receive's timestamp */
	__u64 port;		/* the port it was received on */
	__u32 pid;		/* the server thread that holds it */
	__u32 tid;
	__u32 client_pid;
	__u32 client_tid;
	__u32 type;
	__u32 pad;
};

/* lpct_ports, keyed by (pid, port object address): live ports. */
struct lpct_port_key {
	__u32 pid;
	__u32 pad;
	__u64 port;
};

struct lpct_port_info {
	__u64 created;
	__u64 domain;
	__u32 kind;		/* 1 connection, 2 unconnected, 3 server, 4 client */
	__u32 handle;
	__u32 closed;		/* deleted: kept (LRU) so counters keep a name */
	__u32 pad;
	char name[LPCT_NAME_LEN];
};

/* lpct_stats: counters per (pid, domain) and per CSR API number. */
enum lpct_stat_kind {
	LPCT_STAT_DOMAIN = 1,
	LPCT_STAT_API = 2,
};

struct lpct_stat_key {
	__u32 pid;		/* the process; 0 for LPCT_STAT_API */
	__u32 kind;		/* enum lpct_stat_kind */
	__u64 id;		/* domain address, or the ApiNumber */
};

struct lpct_stat {
	__u64 sends;		/* requests and callbacks sent */
	__u64 datagrams;
	__u64 receives;
	__u64 replies;
	__u64 errors;		/* calls that returned a failure status */
	__u64 timeouts;		/* waits that ended without their event */
	__u64 lat_count;	/* latencies recorded into hist[] */
	__u64 lat_sum;		/* ns */
	__u64 lat_max;		/* ns */
	__u64 hist[LPCT_HIST_SLOTS];
	char comm[LPCT_COMM_LEN];	/* the process's, at the first count */
};

#endif
