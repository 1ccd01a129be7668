/* SPDX-License-Identifier: MIT */
/*
 * The LPC state liblpc publishes for debuggers and lpctrace (`lpctrace
 * waits`): for every thread of the process, the wait it is in and the
 * request it received and has not replied to yet.  NT keeps the same two
 * facts in each thread object (LpcReplyMessageId and
 * LpcReceivedMessageId), which is how a kernel debugger answers "who
 * holds the message this thread waits for".
 *
 * Where: one shared mapping per process, visible in /proc/PID/maps as
 * "/memfd:lpc-threads (deleted)", read from outside with
 * process_vm_readv() or /proc/PID/mem (the reader needs ptrace access:
 * the same user, or root).  It is created at the process's first LPC call
 * and is not inherited across fork() (a child makes its own).
 *
 * Consistency: the owning thread writes its slot between two increments
 * of seq (odd while writing).  A reader copies a slot, and keeps the copy
 * if seq was even and unchanged around it.
 *
 * This is an ABI: fields are only ever added at the end of a slot, and
 * slot_size says how big a slot is.  Version 1 ends at recv_port;
 * version 2 adds the last reply and the requests set aside (a reader of
 * a version 1 table takes them as zero).
 */
#ifndef LPC_LPCDBG_H
#define LPC_LPCDBG_H

#include <stdint.h>

#define LPC_DBG_MAGIC		"LPC-THREADS-V1"	/* 15 bytes + NUL */
#define LPC_DBG_MAPPING		"/memfd:lpc-threads"
#define LPC_DBG_SLOTS		1024
#define LPC_DBG_NAME_LEN	48
#define LPC_DBG_PREV		4

/* wait_kind values (lpc:wait_begin's kind). */
enum {
	LPC_DBG_WAIT_NONE = 0,
	LPC_DBG_WAIT_REPLY = 1,		/* NtRequestWaitReplyPort & co */
	LPC_DBG_WAIT_CONNECT = 2,	/* NtConnectPort */
	LPC_DBG_WAIT_DATA = 3,		/* NtRead/WriteRequestData */
	LPC_DBG_WAIT_VIEW = 4,		/* NtAcceptConnectPort's view step */
	LPC_DBG_WAIT_RECEIVE = 5,	/* NtReplyWaitReceivePort, NtListenPort */
};

struct lpc_dbg_thread {
	uint32_t tid;			/* 0: a free slot */
	uint32_t seq;			/* odd while the thread writes */
	/* The wait the thread is in. */
	uint32_t wait_kind;
	uint32_t wait_msgid;		/* the message whose answer it awaits */
	uint64_t wait_since;		/* CLOCK_MONOTONIC ns */
	uint64_t wait_queue;		/* identifies the queue (lpc:wait_* domain) */
	char wait_port[LPC_DBG_NAME_LEN]; /* the port's path under $LPC_ROOT */
	/* The last request (or exception) it received and has not replied
	 * to; recv_msgid 0 when none. */
	uint32_t recv_msgid;
	uint32_t recv_type;
	uint32_t recv_client_pid;
	uint32_t recv_client_tid;
	uint64_t recv_since;		/* CLOCK_MONOTONIC ns */
	char recv_port[LPC_DBG_NAME_LEN];
	/* Version 2.  The last reply the thread attempted (NtReplyPort, or
	 * the reply half of NtReplyWaitReceivePort / NtReplyWaitReplyPort),
	 * delivered or refused: the MessageId and ClientId its message named
	 * and the NTSTATUS it got.  reply_msgid 0: none yet.  NT keeps no
	 * such record; it tells a reply that failed, or that named another
	 * request, from one never sent. */
	uint32_t reply_msgid;
	uint32_t reply_status;
	uint32_t reply_client_pid;
	uint32_t reply_client_tid;
	uint64_t reply_at;		/* CLOCK_MONOTONIC ns */
	/* Requests it set aside: it received another before replying to
	 * them (NT overwrites LpcReceivedMessageId and forgets them).  Newest
	 * first; msgid 0 is an unused entry.  status: what its last reply
	 * naming that MessageId got (0: it never tried).  An entry goes when
	 * this thread replies to it; a reply by another thread does not
	 * clear it, so an entry only means something while its client still
	 * waits for that MessageId. */
	struct lpc_dbg_prev {
		uint32_t msgid;
		uint32_t status;
		uint32_t client_pid;
		uint32_t client_tid;
		uint64_t since;		/* when it was received */
	} prev[LPC_DBG_PREV];
};

struct lpc_dbg_table {
	char magic[16];			/* LPC_DBG_MAGIC */
	uint32_t version;		/* 2 (1: slots end at recv_port) */
	uint32_t slot_size;		/* sizeof(struct lpc_dbg_thread) */
	uint32_t nslots;		/* LPC_DBG_SLOTS */
	uint32_t pid;			/* the owner (a forked child remakes it) */
	/* The namespace ($LPC_ROOT) the process uses, as the directory's
	 * st_dev/st_ino (0 if unknown): MessageIds are unique within one. */
	uint64_t root_dev;
	uint64_t root_ino;
	struct lpc_dbg_thread slot[LPC_DBG_SLOTS];
};

#endif
