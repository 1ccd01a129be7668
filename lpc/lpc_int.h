/* SPDX-License-Identifier: MIT */
/*
 * lpc_int.h - the engine's object model (docs/architecture.md).
 *
 * Objects.  Handles name objects: ports (connection, unconnected, server
 * communication, client communication; spec 4.1) and sections.  An object
 * counts references (handles, calls in flight, internal links) and, apart,
 * open handles, because NT acts both on the last handle close (a connection
 * port loses its name) and on the last reference (a port is deleted).
 *
 * Domains.  Every port belongs to a domain: one mutex, one FIFO message
 * queue, one index of threads waiting for a reply that this domain can
 * deliver, and at most one "driver" that moves bytes:
 *  - LOCAL  (unconnected port): no transport, threads just wait;
 *  - SERVER (connection port and all its server communication ports):
 *    the listening socket and one socket per client, driven through the
 *    io_uring or sync backend;
 *  - CLIENT (one client communication port): one socket, blocking recv.
 * Threads waiting in a domain take turns as its driver (leader/follower):
 * whoever waits while nobody drives becomes the driver, and hands over
 * when its own wait is satisfied.
 *
 * Links.  One connected socket between a client port (client side) and a
 * server communication port (server side).  The peer's identity comes
 * from SO_PEERCRED, never from packets.
 *
 * Lock order: global lock -> domain lock.  Never the reverse.
 */
#ifndef LPC_INT_H
#define LPC_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>

#include <lpc/lpc.h>
#include <lpc/lpcdbg.h>

#include "err.h"
#include "msg.h"
#include "wire.h"

#define LPC_HIDDEN __attribute__((visibility("hidden")))

NTSTATUS lpc_status(int err);

/* ------------------------------------------------------------------ */
/* Objects and handles                                                 */
/* ------------------------------------------------------------------ */

enum lpc_obj_type {
	LPC_OBJ_PORT = 1,
	LPC_OBJ_SECTION,
};

struct lpc_obj {
	uint8_t type;
	atomic_int refs;
	atomic_int handles;
};

struct lpc_section {
	struct lpc_obj obj;
	int fd;
	uint64_t size;
	ULONG protect;
};

enum lpc_port_kind {
	LPC_PORT_CONNECTION = 1,
	LPC_PORT_UNCONNECTED = 2,
	LPC_PORT_SERVER = 3,
	LPC_PORT_CLIENT = 4,
};

struct lpc_map {
	void *base;
	size_t len;
};

struct lpc_port {
	struct lpc_obj obj;
	uint8_t kind;
	bool waitable;
	uint32_t max_msg;
	uint32_t max_info;
	struct lpc_domain *dom;		/* ref */
	struct lpc_port *conn;		/* SERVER: its connection port (ref) */
	struct lpc_link *link;		/* SERVER, CLIENT (ref) */
	void *context;			/* SERVER: PortContext */
	/* CONNECTION: the name, to remove it when the last handle goes. */
	char *rel;
	dev_t dev;
	ino_t ino;
	bool name_deleted;
	/* Views this port mapped in our address space (unmapped at
	 * deletion): [0] our own section, [1] the peer's. */
	struct lpc_map views[2];
	/* SERVER: accepted but not yet completed. */
	bool complete_pending;
};

/* Reference a handle's object.  Returns 0 and a reference in *out, or
 * -EBADF (no such handle) / -LPC_ETYPE (another type). */
int lpc_handle_get(HANDLE h, int type, void **out);
static inline int lpc_port_get(HANDLE h, struct lpc_port **out)
{
	return lpc_handle_get(h, LPC_OBJ_PORT, (void **)out);
}
/* Insert obj (taking over one reference and counting one handle). */
int lpc_handle_new(void *obj, HANDLE *out);
int lpc_handle_close(HANDLE h);
void lpc_obj_ref(void *obj);
void lpc_obj_unref(void *obj);
void lpc_handles_atfork_child(void);

void lpc_port_last_handle(struct lpc_port *p);
void lpc_port_destroy(struct lpc_port *p);
/* lpc:view for each of p's views: mapped (1) or about to be unmapped (0). */
void lpc_port_probe_views(const struct lpc_port *p, long mapped);
void lpc_section_destroy(struct lpc_section *s);
struct lpc_port *lpc_port_alloc(int kind, struct lpc_domain *d);

/* ------------------------------------------------------------------ */
/* Packets: queued messages and deliveries                             */
/* ------------------------------------------------------------------ */

/*
 * One received operation.  For queue entries and message deliveries the
 * payload is a ready PORT_MESSAGE plus data (len bytes), stamped and
 * checked; for connection-protocol deliveries it is the raw payload.
 */
struct lpc_pkt {
	struct lpc_pkt *next;
	void *context;			/* PortContext for the receiver */
	int fd;				/* a passed fd, or -1 */
	bool local;			/* queued by this process, not a socket */
	struct lpc_link *src;		/* the link it came from (ref), if any */
	uint32_t len;			/* payload bytes */
	struct lpc_wire w;
	_Alignas(8) uint8_t payload[];
};

struct lpc_pkt *lpc_pkt_new(uint32_t len);
/* An LPC_CLIENT_DIED or LPC_PORT_CLOSED message (spec 2.4): DataLength 8,
 * the create time; msgid 0 draws a new MessageId. */
struct lpc_pkt *lpc_notice_pkt(uint16_t type, pid_t pid, pid_t tid,
			       uint32_t msgid, int64_t ctime, void *context);
void lpc_pkt_free(struct lpc_pkt *p);
static inline PORT_MESSAGE *lpc_pkt_msg(struct lpc_pkt *p)
{
	return (PORT_MESSAGE *)(void *)p->payload;
}

/* ------------------------------------------------------------------ */
/* Waiters: who may be replied to through this domain                  */
/* ------------------------------------------------------------------ */

enum lpc_waiter_kind {
	LPC_W_REQUEST = 1,	/* blocked in a request: repliable */
	LPC_W_CONNECT,		/* blocked in NtConnectPort: acceptable */
};

#define LPC_W_NOIMP 0x01	/* the request carried LPC_NO_IMPERSONATE */
#define LPC_W_REMOTE 0x02	/* the thread lives behind link */

struct lpc_waiter {
	struct lpc_waiter *hnext;
	pid_t pid, tid;			/* the ClientId it answers to */
	uint32_t msgid;			/* its LpcReplyMessageId */
	uint8_t kind;
	uint8_t flags;
	struct lpc_port *port;		/* port the request went through */
	struct lpc_link *link;		/* remote: where replies go */
	struct lpc_thread *thread;	/* local: who to wake */
	uint8_t *dinfo;			/* message with a data-info block */
	uint32_t dinfo_len;
};

#define LPC_WHASH 64

/* ------------------------------------------------------------------ */
/* Threads                                                             */
/* ------------------------------------------------------------------ */

enum lpc_wait_kind {
	LPC_TW_NONE,
	LPC_TW_REPLY,	/* a reply (or callback) for wmsgid */
	LPC_TW_CONNECT,	/* ACCEPT/REJECT/COMPLETE for wmsgid */
	LPC_TW_DATA,	/* DATA_RESULT for wmsgid */
	LPC_TW_VIEW,	/* VIEWMAP during accept */
	LPC_TW_RECEIVE,	/* a message in the domain queue */
};

struct lpc_thread {
	pid_t tid;
	pthread_cond_t cond;
	/* the domain's list of waiting threads */
	struct lpc_thread *wnext, **wpprev;
	/* Current wait (domain lock). */
	uint8_t wkind;
	bool wdone;
	bool listen_only;		/* RECEIVE: connection requests only */
	bool peek_only;			/* RECEIVE: NtWaitForSingleObject,
					 * which looks and takes nothing */
	bool sleeping;			/* in pthread_cond_wait */
	bool kicked;			/* signalled, has not looked yet */
	int wstatus;			/* internal code when done */
	int wret;			/* the last lpc_dom_wait() result */
	/* Published state (dbg.c): the slot, or none to be had. */
	struct lpc_dbg_thread *dbg;
	bool dbg_none;
	uint64_t dbg_wait_dom;		/* serial of the domain named in */
	uint64_t dbg_recv_dom;		/* wait_port and recv_port */
	uint32_t wmsgid;
	pid_t wtid;			/* ClientId tid the wait speaks for */
	struct lpc_link *wlink;		/* remote waits: the link */
	struct lpc_pkt *wpkt;		/* what was delivered */
	struct lpc_waiter w;		/* local waiter record (loopback) */
	bool w_indexed;
	/* The caller's outgoing message, captured in one system call
	 * (header and data; have = bytes readable). */
	_Alignas(8) uint8_t sbuf[LPC_HDR + LPC_MAX_MESSAGE_LENGTH + 8];
	uint32_t sbuf_have;
	/* A reply to send, left for whoever drives next: the io_uring
	 * backend submits it with the wait for the next message. */
	struct {
		bool active;
		struct lpc_link *link;
		struct lpc_wire w;
		struct iovec iov[2];
		struct msghdr mh;
	} psend;
	/* The request we wait on, when it carries data info: the client
	 * side serves NtRead/WriteRequestData from it. */
	uint8_t *sent;
	uint32_t sent_len;
	/* Termination ports (NtRegisterThreadTerminatePort), newest last. */
	struct lpc_port **term;
	int nterm, capterm;
	int64_t ctime;			/* NT create time, 0 = not read yet */
	bool exiting;
	bool impersonating;
	struct lpc_thread *gnext, *gprev;	/* global thread list */
};

/* The calling thread's state, created on first use; NULL only when out
 * of memory. */
struct lpc_thread *lpc_self(void);
bool lpc_is_self(const struct lpc_thread *t);
int64_t lpc_thread_ctime(struct lpc_thread *t);
/* NT create time of a process or thread from /proc (100 ns since 1601). */
int64_t lpc_proc_ctime(pid_t pid, pid_t tid);
void lpc_threads_atfork_child(void);

/* ------------------------------------------------------------------ */
/* Links                                                               */
/* ------------------------------------------------------------------ */

enum lpc_link_state {
	LPC_LINK_NEW = 1,	/* server: socket accepted, no CONNECT yet */
	LPC_LINK_REQUESTED,	/* server: CONNECT queued, not yet accepted */
	LPC_LINK_CONNECTING,	/* client: waiting for ACCEPT/COMPLETE */
	LPC_LINK_ACCEPTED,	/* accepted, completion pending */
	LPC_LINK_CONNECTED,
	LPC_LINK_DEAD,
};

struct lpc_term_reg {
	pid_t tid;
	int64_t ctime;
};

struct lpc_link {
	struct lpc_link *next, **pprev;	/* domain list */
	struct lpc_domain *dom;
	struct lpc_port *port;		/* local comm port, once there is one */
	int fd;
	atomic_int refs;
	uint8_t state;
	bool server_side;
	bool hung_up;			/* no more traffic either way */
	bool peer_closed;		/* CLOSE received: PORT_CLOSED sent */
	bool in_list;
	pid_t peer_pid;
	uid_t peer_uid;
	gid_t peer_gid;
	gid_t *groups;
	int ngroups;
	int64_t peer_ctime;
	uint32_t max_msg;
	/* server: the pending connection request */
	pid_t req_tid;
	uint32_t req_msgid;
	int req_fd;
	uint64_t req_view_size, req_view_off;
	uint32_t req_qos;
	uint32_t qos;			/* client's QoS after accept */
	/* peer threads that registered this port for LPC_CLIENT_DIED */
	struct lpc_term_reg *term;
	int nterm, capterm;
	pid_t tidcache[8];
	unsigned tidnext;
	/* backend bookkeeping: links with a request in flight stay on the
	 * backend's list until its last completion is reaped */
	bool armed;
	struct lpc_link *anext, **apprev;
	unsigned violations;
	/* Messages from this link waiting in the queue.  A peer that queues
	 * more than LPC_LINK_QUEUE_MAX is not read from until the server has
	 * taken half of them (NT's per-port message quota). */
	unsigned queued;
	bool throttled;
	bool cancelling;
};

#define LPC_LINK_QUEUE_MAX 1024

struct lpc_link *lpc_link_new(struct lpc_domain *d, int fd, bool server_side);
/* Domain lock held: a socket the listening socket accepted. */
void lpc_link_accept(struct lpc_domain *d, int fd);
void lpc_link_ref(struct lpc_link *l);
void lpc_link_unref(struct lpc_link *l);
/* Domain lock held.  Process one received packet (lpc_wire_check'ed by
 * the callee).  fd is a passed fd, consumed. */
void lpc_link_input(struct lpc_link *l, const void *buf, uint32_t len, int fd,
		    bool trunc);
/* Domain lock held.  The socket reported EOF or an error. */
void lpc_link_hangup(struct lpc_link *l);
/* Domain lock held.  Shut the link down from our side (no notices). */
void lpc_link_shutdown(struct lpc_link *l);
/* Send one packet.  data/dlen may point into a caller buffer: the kernel
 * copies it and reports -EFAULT for a bad one.  Lock not required. */
int lpc_link_send(struct lpc_link *l, struct lpc_wire *w, const void *hdr,
		  uint32_t hlen, const void *data, uint32_t dlen, int fd);
/* Read the peer's credentials from the socket. */
int lpc_link_peercred(struct lpc_link *l);

/* ------------------------------------------------------------------ */
/* Domains                                                             */
/* ------------------------------------------------------------------ */

enum lpc_dom_kind {
	LPC_DOM_LOCAL = 1,
	LPC_DOM_SERVER,
	LPC_DOM_CLIENT,
};

struct lpc_domain;

struct lpc_backend {
	const char *name;
	int (*init)(struct lpc_domain *d);
	void (*fini)(struct lpc_domain *d);
	/* Wait for events until the deadline and process them (taking the
	 * domain lock as needed).  Called without the lock, as the driver.
	 * Returns 0, -ETIMEDOUT, or -errno. */
	int (*drive)(struct lpc_domain *d, const struct timespec *deadline);
	/* Domain lock held: make a blocked drive() return soon. */
	void (*wake)(struct lpc_domain *d);
	/* Domain lock held: the listening socket is going away. */
	void (*unlisten)(struct lpc_domain *d, int fd);
	/* An fd that polls readable when drive() has work (waitable ports). */
	int (*ready_fd)(struct lpc_domain *d);
	/* drive() submits the driver's pending reply (t->psend) itself. */
	bool sends;
};

extern const struct lpc_backend lpc_backend_sync;
extern const struct lpc_backend lpc_backend_uring;
extern const struct lpc_backend lpc_backend_client;

struct lpc_domain {
	pthread_mutex_t lock;
	atomic_int refs;
	uint8_t kind;
	bool dead;			/* CLIENT: the link is gone */
	bool waitable;
	struct lpc_pkt *qhead, **qtail, *qlast;
	unsigned qlen;
	unsigned npeek;			/* threads in NtWaitForSingleObject */
	struct lpc_waiter *whash[LPC_WHASH];
	struct lpc_link *links;		/* SERVER: all links; CLIENT: one */
	struct lpc_thread *waiting;	/* threads in lpc_dom_wait */
	bool driving;
	struct lpc_thread *driver;
	const struct lpc_backend *be;
	void *be_state;
	int listen_fd;
	int wake_fd;			/* SERVER: eventfd that wakes drive() */
	int notify_fd;			/* waitable: signalled while queue busy */
	int wait_fd;			/* waitable: epoll fd for lpc_port_fd */
	struct lpc_port *conn_port;	/* SERVER: the connection port */
	uint32_t max_msg;
	/* The port's path under $LPC_ROOT ("" unnamed), for dbg.c. */
	char name[LPC_DBG_NAME_LEN];
	uint64_t serial;		/* unique in the process, never 0 */
	struct lpc_domain *gnext, **gpprev;	/* global list */
};

struct lpc_domain *lpc_dom_new(int kind);
void lpc_dom_ref(struct lpc_domain *d);
void lpc_dom_unref(struct lpc_domain *d);
static inline void lpc_dom_lock(struct lpc_domain *d)
{
	pthread_mutex_lock(&d->lock);
}
static inline void lpc_dom_unlock(struct lpc_domain *d)
{
	pthread_mutex_unlock(&d->lock);
}

/* Queue (domain lock held): the order messages were sent in.  Socket
 * messages keep their arrival order; a local message (id drawn from the
 * global counter at send time) is ordered against them by MessageId. */
void lpc_dom_enqueue(struct lpc_domain *d, struct lpc_pkt *p);
/* Before taking a locally queued head: pull in what sockets already hold
 * (without blocking), so it can take its place in order. */
void lpc_dom_catch_up(struct lpc_domain *d, struct lpc_thread *t);
void lpc_dom_requeue_head(struct lpc_domain *d, struct lpc_pkt *p);
struct lpc_pkt *lpc_dom_dequeue(struct lpc_domain *d, bool conn_only);
void lpc_dom_flush_queue(struct lpc_domain *d);

/* Waiter index (domain lock held). */
struct lpc_waiter *lpc_dom_find_waiter(struct lpc_domain *d, pid_t pid,
				       pid_t tid);
void lpc_dom_add_waiter(struct lpc_domain *d, struct lpc_waiter *w);
void lpc_dom_remove_waiter(struct lpc_domain *d, struct lpc_waiter *w);
/* Remove and free every remote waiter behind link l. */
void lpc_dom_drop_link_waiters(struct lpc_domain *d, struct lpc_link *l);
void lpc_waiter_free(struct lpc_waiter *w);
/* Index thread t itself as waiting (for MessageId msgid, answering for
 * ClientId tid) on a request it sent through local port p. */
void lpc_dom_index_self(struct lpc_domain *d, struct lpc_thread *t,
			struct lpc_port *p, pid_t tid, uint32_t msgid,
			uint8_t flags);

/*
 * Waiting (domain lock held).  A thread registers its wait before it sends
 * what will be answered (so no answer can miss it), waits, possibly takes
 * intermediate deliveries (clearing wdone and wpkt) and waits again, and
 * ends the registration when the operation is over.  lpc_dom_wait returns
 * 0 once the wait is satisfied, -ETIMEDOUT, or a transport error.
 */
void lpc_dom_wait_begin(struct lpc_domain *d, struct lpc_thread *t, int kind,
			struct lpc_link *l, pid_t tid, uint32_t msgid);
int lpc_dom_wait(struct lpc_domain *d, struct lpc_thread *t,
		 const struct timespec *deadline);
void lpc_dom_wait_end(struct lpc_domain *d, struct lpc_thread *t);
/* Complete thread t's wait with status and optional packet. */
void lpc_dom_complete(struct lpc_domain *d, struct lpc_thread *t, int status,
		      struct lpc_pkt *p);
/* Find the local thread waiting (kind) for msgid on link l for tid. */
struct lpc_thread *lpc_dom_find_thread(struct lpc_domain *d, int kind,
				       struct lpc_link *l, pid_t tid,
				       uint32_t msgid);
/* Fail every wait bound to link l (or every wait, l == NULL). */
void lpc_dom_fail_waits(struct lpc_domain *d, struct lpc_link *l, int status);
/* Called when something happened that a waiting thread may want. */
/* Wakes a receiver for a newly queued message (a connection request or not). */
void lpc_dom_kick(struct lpc_domain *d, bool conn_request);
/* Send t's pending reply now, if it still has one. */
void lpc_psend_flush(struct lpc_thread *t);

void lpc_dom_add_link(struct lpc_domain *d, struct lpc_link *l);
void lpc_dom_remove_link(struct lpc_domain *d, struct lpc_link *l);

/* Every SERVER domain of this process, for NtAcceptConnectPort. */
extern pthread_mutex_t lpc_glock;

/* dbg.c: the state include/lpc/lpcdbg.h publishes. */
void lpc_dbg_claim(struct lpc_thread *t);
void lpc_dbg_wait_begin(struct lpc_thread *t, const struct lpc_domain *d,
			int kind, uint32_t msgid);
void lpc_dbg_wait_end(struct lpc_thread *t);
void lpc_dbg_received(struct lpc_thread *t, const struct lpc_domain *d,
		      uint32_t type, uint32_t msgid, uint32_t client_pid,
		      uint32_t client_tid);
/* A reply attempt by t naming msgid and that ClientId; status its
 * NTSTATUS (0 delivered). */
void lpc_dbg_replied(struct lpc_thread *t, uint32_t msgid,
		     uint32_t client_pid, uint32_t client_tid, uint32_t status);
void lpc_dbg_thread_exit(struct lpc_thread *t);
void lpc_dbg_atfork_child(struct lpc_thread *t);
extern struct lpc_domain *lpc_domains;

/* ------------------------------------------------------------------ */
/* Process-wide                                                        */
/* ------------------------------------------------------------------ */

/* Backend chosen for SERVER domains. */
const struct lpc_backend *lpc_server_backend(void);
bool lpc_uring_usable(void);
void lpc_init(void);
void lpc_exception_atfork_child(void);
/* Milliseconds until the deadline for poll(); -1 for none. */
int lpc_deadline_ms(const struct timespec *deadline);

/* fds the engine owns, closed in a forked child. */
int lpc_fd_track(int fd);
void lpc_fd_untrack(int fd);
void lpc_fd_close(int fd);

/* NT relative/absolute timeout to a CLOCK_MONOTONIC deadline; returns
 * NULL for "forever". */
const struct timespec *lpc_deadline(const LARGE_INTEGER *timeout,
				    struct timespec *ts);

/* The exception port, if set (referenced). */
struct lpc_port *lpc_exception_port(void);

/* Thread exit: notices to termination ports. */
void lpc_thread_exit_notices(struct lpc_thread *t);

/* Connection port name deletion (last handle), from port.c */
void lpc_conn_unname(struct lpc_port *p);

#endif
