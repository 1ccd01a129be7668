/* SPDX-License-Identifier: MIT */
/*
 * csrd's object model and the contract between the dispatcher and the
 * server DLLs (csrsrv.c, basesrv.c, consrv.c, usersrv.c).  Private to
 * csrd and to the fuzz harness that drives the dispatcher in-process.
 */
#ifndef CSR_SRV_H
#define CSR_SRV_H

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <lpc/csr.h>

#include "profile.h"

struct csr_server;
struct csr_process;

/* ------------------------------------------------------------------ */
/* Processes and threads                                               */
/* ------------------------------------------------------------------ */

enum csr_process_state {
	CSR_PROCESS_REGISTERED,	/* announced by BasepCreateProcess */
	CSR_PROCESS_CONNECTED,	/* its ApiPort connection is up */
	CSR_PROCESS_DEAD,	/* removed from the table; last refs drain */
};

struct csr_thread {
	pid_t tid;
	int64_t ctime;		/* 100 ns since 1601, as LPC_CLIENT_DIED has */
	ULONG flags;		/* CSR_THREAD_* */
	struct csr_process *process;
	struct csr_thread *next;
};
#define CSR_THREAD_ALERTABLE 0x1

struct csr_process {
	pid_t pid;
	uid_t uid;		/* effective uid when csrd first saw it */
	int64_t ctime;
	ULONG sequence;		/* PortContext of its connection */
	enum csr_process_state state;
	unsigned refs;		/* under the server lock */

	HANDLE port;		/* server comm port, NULL until connected */
	/* The client's 64 KiB view as mapped in csrd: [view_base, view_end).
	 * Both 0 when the client connected without a view. */
	uintptr_t view_base, view_end;

	pthread_mutex_t lock;	/* everything below */
	bool dead;		/* destroyed: attach nothing new to it */
	struct csr_thread *threads;
	unsigned nthreads;
	ULONG priority_class;
	ULONG shutdown_level, shutdown_flags;
	uint32_t dll_connected;	/* bit per server DLL index */
	void *dll_data[CSR_SERVER_DLL_MAX]; /* owned by each DLL */

	struct csr_process *next;	/* server table */
};

/* A referenced process by pid, or NULL.  Drop with csr_process_put. */
struct csr_process *csr_process_get(struct csr_server *s, pid_t pid);
void csr_process_put(struct csr_server *s, struct csr_process *p);

/*
 * Register pid (with its thread tid) before it connects, on behalf of
 * parent (BasepCreateProcess).  Returns STATUS_SUCCESS, or
 * STATUS_INVALID_CID (no such process or thread), STATUS_ACCESS_DENIED
 * (parent may not register it), STATUS_OBJECT_NAME_COLLISION (already
 * known), STATUS_NO_MEMORY / STATUS_QUOTA_EXCEEDED (table full).
 */
NTSTATUS csr_process_register(struct csr_server *s, struct csr_process *parent,
			      pid_t pid, pid_t tid);

/* Register thread tid of p (it must be alive and belong to p).  Returns
 * STATUS_SUCCESS (also when already known with the same create time),
 * STATUS_INVALID_CID, STATUS_NO_MEMORY or STATUS_QUOTA_EXCEEDED. */
NTSTATUS csr_thread_register(struct csr_server *s, struct csr_process *p,
			     pid_t tid);

/* The thread tid of p, or NULL; caller holds p->lock. */
struct csr_thread *csr_thread_find(struct csr_process *p, pid_t tid);

/* Forget p (death notice, BasepExitProcess, exception): it leaves the
 * table, p->dead is set, every DLL's disconnect callback runs once; its
 * comm port closes when the last reference goes.  Idempotent. */
void csr_process_destroy(struct csr_server *s, struct csr_process *p);
void csr_process_destroy_all(struct csr_server *s);

/* Internal to the core. */
struct csr_process *csr_process_new(struct csr_server *s, pid_t pid,
				    pid_t tid, NTSTATUS *status);
struct csr_process *csr_process_by_sequence(struct csr_server *s, ULONG seq);
bool csr_thread_died(struct csr_process *p, pid_t tid, int64_t ctime,
		     bool *found);

/* /proc helpers: create time in NT units (0 if gone), euid (-1 if gone),
 * parent pid (-1). */
int64_t csr_proc_ctime(pid_t pid, pid_t tid);
uid_t csr_proc_uid(pid_t pid);
pid_t csr_proc_ppid(pid_t pid);

/* ------------------------------------------------------------------ */
/* Calls                                                               */
/* ------------------------------------------------------------------ */

enum csr_reply_code {
	CsrReplyImmediately = 0,
	CsrReplyPending = 1,	/* the handler called csr_call_defer */
	CsrReplyDeadClient = 2,	/* reply, then destroy the process */
	CsrReplyAlreadySent = 3,
};

/* Captured arguments (spec 12.6): the server's heap copy of the client's
 * capture buffer, and where it came from. */
struct csr_capture {
	CSR_CAPTURE_BUFFER *copy;	/* NULL: no capture buffer */
	uintptr_t client;		/* CB, a server-view address */
	ULONG size, count;		/* validated Size and PointerCount */
};

struct csr_call {
	struct csr_server *srv;
	CSR_API_MESSAGE *msg;	/* request in, reply out (Data is shared) */
	struct csr_process *process;	/* referenced for the call */
	struct csr_thread *thread;	/* NULL for unknown-thread datagrams */
	bool datagram;			/* no reply will be sent */
	bool from_server;		/* csrd calling itself (in-process) */
	enum csr_reply_code reply;
	struct csr_capture cap;
};

typedef NTSTATUS (*csr_api_fn)(struct csr_call *call);

/*
 * Per-API validators (spec 12.7), for handlers.
 * csr_validate_buffer: *field points at count*size bytes that were
 * captured for this very field of the message.  A NULL *field with count 0
 * is valid.
 * csr_validate_string: *field is a NUL-terminated UTF-16 string lying
 * entirely inside the capture buffer; *chars gets its length without the
 * terminator.
 */
bool csr_validate_buffer(struct csr_call *c, void *field, ULONG count,
			 ULONG size);
bool csr_validate_string(struct csr_call *c, PWSTR *field, ULONG *chars);

/* A deferred reply (CsrReplyPending): owns a copy of the message and its
 * captured arguments until completed or abandoned. */
struct csr_wait {
	CSR_API_MESSAGE msg;
	struct csr_process *process;	/* referenced */
	struct csr_capture cap;
	struct csr_wait *next;		/* for the owner's list */
	void *ctx;			/* owner's */
};

/* Take the call over: returns the wait (or NULL on ENOMEM, leaving the
 * call untouched) and sets call->reply = CsrReplyPending. */
struct csr_wait *csr_call_defer(struct csr_call *call);

/* Finish a deferred call: Status = status, captured arguments copied back
 * to the client, reply sent.  Frees w. */
void csr_wait_complete(struct csr_server *s, struct csr_wait *w,
		       NTSTATUS status);

/* The client died: free w without replying. */
void csr_wait_abandon(struct csr_server *s, struct csr_wait *w);

/* ------------------------------------------------------------------ */
/* Server DLLs                                                         */
/* ------------------------------------------------------------------ */

struct csr_api_impl {
	const char *name;	/* canonical name, as in the profiles */
	csr_api_fn fn;
};

struct csr_dll_impl {
	const char *name;		/* "BASESRV" */
	unsigned index;
	const struct csr_api_impl *apis;	/* NULL-name terminated */
	/* Global state: init stores it in s->dlls[index].state (non-NULL)
	 * and returns 0 or -errno; fini runs only for a non-NULL state. */
	int (*init)(struct csr_server *s);
	void (*fini)(struct csr_server *s);
	/* CsrpClientConnect for this DLL: validate and fill *info (*len
	 * bytes in, bytes to copy back out). */
	NTSTATUS (*connect)(struct csr_call *c, void *info, ULONG *len);
	/* The process was destroyed: release its dll_data and abandon its
	 * deferred calls.  Runs once per process, with no lock held; p->dead
	 * is already set (under p->lock), so a handler still running for p
	 * must check it under p->lock before attaching anything new.
	 * Locking rule for DLLs: never call csr_wait_complete,
	 * csr_wait_abandon or csr_process_put while holding a DLL lock (they
	 * may free a process): collect under the lock, finish after it. */
	void (*disconnect)(struct csr_server *s, struct csr_process *p);
};

extern const struct csr_dll_impl csr_csrsrv_dll;
extern const struct csr_dll_impl csr_basesrv_dll;
extern const struct csr_dll_impl csr_consrv_dll;
extern const struct csr_dll_impl csr_usersrv_dll;

/* ------------------------------------------------------------------ */
/* The server                                                          */
/* ------------------------------------------------------------------ */

struct csr_options {
	const char *object_directory;	/* "\\Windows" */
	const char *profile;		/* "ws03" */
	const char *console_dir;	/* where console logs go */
	bool strict_registration;	/* only BasepCreateProcess'd clients */
	unsigned static_threads, max_threads;
	unsigned max_processes, max_threads_per_process;
	int verbose;			/* -1 quiet, 0 default, 1.. more */
};

struct csr_dll_slot {
	const struct csr_dll_def *def;	/* NULL: no DLL at this index */
	const struct csr_dll_impl *impl;
	csr_api_fn *dispatch;		/* def->count entries, NULL: none */
	void *state;			/* the DLL's global state */
};

struct csr_server {
	struct csr_options opt;
	const struct csr_profile *profile;
	struct csr_dll_slot dlls[CSR_SERVER_DLL_MAX];
	HANDLE api_port;
	pid_t pid;

	pthread_mutex_t lock;		/* the process table */
	struct csr_process *processes;
	unsigned nprocesses;
	ULONG next_sequence;

	/* csrd itself, for server-to-server calls; never in the table. */
	struct csr_process self;

	/* Counters, updated atomically. */
	unsigned long calls, refused_calls, connects, refused_connects;
};

/* Fill o with csrd's defaults. */
void csr_options_default(struct csr_options *o);

/* Build the server (profile, DLL tables, DLL init) without any port: the
 * fuzz harness drives it this way.  Returns 0 or -errno; on failure the
 * reason has been logged. */
int csr_server_init(struct csr_server *s, const struct csr_options *o);
void csr_server_fini(struct csr_server *s);

/*
 * Handle one message received on the API port with its PortContext.
 * Returns true when msg (now holding the answer) must be sent as the reply;
 * then *reply_to, if set, is a referenced process whose port carries the
 * reply (put it after replying), else reply through the API port.
 */
bool csr_server_handle(struct csr_server *s, void *context,
		       CSR_API_MESSAGE *msg, struct csr_process **reply_to);

/*
 * Dispatch an API call of p's thread t (spec 12.5 steps 1-6) in msg.
 * Returns the reply code; msg->Status holds the result.  Exposed for the
 * fuzz harness, which provides p with a view of its own.
 */
enum csr_reply_code csr_dispatch(struct csr_server *s, struct csr_process *p,
				 struct csr_thread *t, CSR_API_MESSAGE *msg,
				 bool datagram);

/*
 * CsrCallServerFromServer: an API call made inside csrd (spec 12.5): the
 * same ServerId/ApiId checks, plus the DLL's "valid from server" table,
 * else STATUS_ILLEGAL_FUNCTION; pointers in msg are csrd's own and no
 * capture buffer is used.  Returns the API's status (also in msg).
 */
NTSTATUS csr_call_server_from_server(struct csr_server *s,
				     CSR_API_MESSAGE *msg);

/* Spec 12.6: validate and copy the capture buffer msg->CsrCaptureData
 * points at, inside p's view.  STATUS_SUCCESS, STATUS_INVALID_PARAMETER
 * or STATUS_NO_MEMORY. */
NTSTATUS csr_capture_arguments(const struct csr_process *p,
			       CSR_API_MESSAGE *msg, struct csr_capture *cap);
/* Copy the server copy back to the client and restore msg's pointers. */
void csr_release_arguments(const struct csr_process *p, CSR_API_MESSAGE *msg,
			   struct csr_capture *cap);

/* The API's name in the active profile ("?" when none). */
const char *csr_api_name(const struct csr_server *s, ULONG api_number);

/* Logging: level -1 errors (always), 0 refusals and malformed calls
 * (silenced by -q), 1 connections, 2 every call. */
void csr_log(const struct csr_server *s, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
