/* SPDX-License-Identifier: MIT */
/*
 * What csrd does with each message its request threads receive: spec
 * 12.1 (connection requests), 12.5 (the dispatch of known and unknown
 * threads' messages, reply codes) and deferred replies.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "srv.h"
#include "srv_probes.h"

unsigned short csrd_api_semaphore __attribute__((section(".probes"), used));
unsigned short csrd_connect_semaphore
	__attribute__((section(".probes"), used));

static const char *type_name(int type)
{
	static const char *const names[] = {
		"NEW", "REQUEST", "REPLY", "DATAGRAM", "LOST_REPLY",
		"PORT_CLOSED", "CLIENT_DIED", "EXCEPTION", "DEBUG_EVENT",
		"ERROR_EVENT", "CONNECTION_REQUEST",
	};

	return type >= 0 && type <= 10 ? names[type] : "?";
}

/* ------------------------------------------------------------------ */
/* Connections (spec 12.1)                                             */
/* ------------------------------------------------------------------ */

static void refuse(struct csr_server *s, CSR_API_MESSAGE *msg,
		   const char *why)
{
	HANDLE none = NULL;

	csr_log(s, 0, "refused connection from pid %d tid %d: %s",
		(int)(uintptr_t)msg->Header.ClientId.UniqueProcess,
		(int)(uintptr_t)msg->Header.ClientId.UniqueThread, why);
	__atomic_add_fetch(&s->refused_connects, 1, __ATOMIC_RELAXED);
	CSRD_PROBE(connect, (long)(uintptr_t)msg->Header.ClientId.UniqueProcess,
		   (long)(uintptr_t)msg->Header.ClientId.UniqueThread,
		   (long)msg->Header.MessageId, 0L);
	NtAcceptConnectPort(&none, NULL, &msg->Header, FALSE, NULL, NULL);
}

static void handle_connect(struct csr_server *s, CSR_API_MESSAGE *msg)
{
	pid_t pid = (pid_t)(uintptr_t)msg->Header.ClientId.UniqueProcess;
	pid_t tid = (pid_t)(uintptr_t)msg->Header.ClientId.UniqueThread;
	REMOTE_PORT_VIEW view = { .Length = sizeof(view) };
	CSR_API_CONNECTINFO *info = &msg->ConnectionInfo;
	struct csr_process *p;
	HANDLE port = NULL;
	NTSTATUS st;

	if (msg->Header.u1.s1.DataLength != sizeof(CSR_API_CONNECTINFO)) {
		refuse(s, msg, "connection information is not a "
			       "CSR_API_CONNECTINFO");
		return;
	}
	p = csr_process_get(s, pid);
	if (p && p->state != CSR_PROCESS_REGISTERED) {
		csr_process_put(s, p);
		refuse(s, msg, "the process is already connected");
		return;
	}
	/* NT's rule, where SYSTEM's processes play the part of the ones
	 * CSR starts itself: root may connect unannounced, anyone else must
	 * have been registered by a connected parent. */
	if (!p && s->opt.strict_registration && csr_proc_uid(pid) != 0) {
		refuse(s, msg, "the process was never registered "
			       "(BasepCreateProcess)");
		return;
	}
	if (!p) {
		p = csr_process_new(s, pid, tid, &st);
		if (!p) {
			refuse(s, msg, st == STATUS_QUOTA_EXCEEDED ?
					       "too many processes" :
					       "the process is gone");
			return;
		}
	} else {
		/* Registered earlier: the connecting thread joins it. */
		st = csr_thread_register(s, p, tid);
		/* It may have changed identity since it was announced. */
		pthread_mutex_lock(&s->lock);
		p->uid = csr_proc_uid(pid);
		pthread_mutex_unlock(&s->lock);
		if (st != STATUS_SUCCESS || csr_proc_ctime(pid, 0) != p->ctime) {
			csr_process_destroy(s, p);
			csr_process_put(s, p);
			refuse(s, msg, "the registered process is gone");
			return;
		}
	}

	memset(info, 0, sizeof(*info));
	info->ServerProcessId = (HANDLE)(uintptr_t)s->pid;
	for (unsigned i = 0; i < CSR_SERVER_DLL_MAX; i++)
		if (s->dlls[i].def)
			info->NumberOfServerDllNames++;

	st = NtAcceptConnectPort(&port, (PVOID)(uintptr_t)p->sequence,
				 &msg->Header, TRUE, NULL, &view);
	if (st != STATUS_SUCCESS) {
		csr_log(s, 0, "pid %d: NtAcceptConnectPort failed: 0x%08x",
			(int)pid, (unsigned)st);
		csr_process_destroy(s, p);
		csr_process_put(s, p);
		return;
	}
	pthread_mutex_lock(&p->lock);
	p->port = port;
	if (view.ViewBase && view.ViewSize) {
		p->view_base = (uintptr_t)view.ViewBase;
		p->view_end = p->view_base + view.ViewSize;
	}
	pthread_mutex_unlock(&p->lock);
	pthread_mutex_lock(&s->lock);
	p->state = CSR_PROCESS_CONNECTED;
	pthread_mutex_unlock(&s->lock);
	st = NtCompleteConnectPort(port);
	if (st != STATUS_SUCCESS) {
		csr_log(s, 0, "pid %d: NtCompleteConnectPort failed: 0x%08x",
			(int)pid, (unsigned)st);
		csr_process_destroy(s, p);
	} else {
		__atomic_add_fetch(&s->connects, 1, __ATOMIC_RELAXED);
		CSRD_PROBE(connect, (long)pid, (long)tid,
			   (long)msg->Header.MessageId, 1L);
		csr_log(s, 1, "pid %d connected (thread %d, uid %u, view %zu "
			"bytes)", (int)pid, (int)tid, (unsigned)p->uid,
			(size_t)view.ViewSize);
	}
	csr_process_put(s, p);
}

/* ------------------------------------------------------------------ */
/* Dispatch (spec 12.5)                                                */
/* ------------------------------------------------------------------ */

const char *csr_api_name(const struct csr_server *s, ULONG api_number)
{
	const char *n = csr_profile_api_name(s->profile, api_number);

	return n ? n : "?";
}

static enum csr_reply_code dispatch(struct csr_server *s,
				    struct csr_process *p,
				    struct csr_thread *t, CSR_API_MESSAGE *msg,
				    bool datagram, long *capture);

/* csrd:api fires once per dispatched call: who, which ApiNumber, the
 * status, the reply code and the capture buffer's verdict (0: none, 1:
 * accepted, else the refusal status). */
enum csr_reply_code csr_dispatch(struct csr_server *s, struct csr_process *p,
				 struct csr_thread *t, CSR_API_MESSAGE *msg,
				 bool datagram)
{
	long capture = 0;
	enum csr_reply_code rc = dispatch(s, p, t, msg, datagram, &capture);

	CSRD_PROBE(api, (long)p->pid, (long)(t ? t->tid : 0),
		   (long)msg->ApiNumber, (long)msg->Header.MessageId,
		   (long)msg->Status, (long)rc, capture, msg);
	return rc;
}

static enum csr_reply_code dispatch(struct csr_server *s,
				    struct csr_process *p,
				    struct csr_thread *t, CSR_API_MESSAGE *msg,
				    bool datagram, long *capture)
{
	ULONG api = msg->ApiNumber, server = CSR_API_NUMBER_TO_SERVER_ID(api);
	struct csr_call c = {
		.srv = s, .msg = msg, .process = p, .thread = t,
		.datagram = datagram, .reply = CsrReplyImmediately,
	};
	const struct csr_dll_slot *dll;
	ULONG index;
	csr_api_fn fn;
	NTSTATUS st;

	__atomic_add_fetch(&s->calls, 1, __ATOMIC_RELAXED);
	/* 1-2: the server DLL, then the API index relative to its base (an
	 * index below the base wraps to a huge value and fails too). */
	if (server >= CSR_SERVER_DLL_MAX || !s->dlls[server].def) {
		csr_log(s, 0, "pid %d tid %d: ApiNumber 0x%08x: no server DLL "
			"%u -> STATUS_ILLEGAL_FUNCTION", (int)p->pid,
			t ? (int)t->tid : 0, (unsigned)api, (unsigned)server);
		goto illegal;
	}
	dll = &s->dlls[server];
	index = CSR_API_NUMBER_TO_API_ID(api) - dll->def->api_base;
	if (index >= dll->def->count) {
		csr_log(s, 0, "pid %d tid %d: ApiNumber 0x%08x: %s has no API "
			"%u -> STATUS_ILLEGAL_FUNCTION", (int)p->pid,
			t ? (int)t->tid : 0, (unsigned)api, dll->def->name,
			(unsigned)CSR_API_NUMBER_TO_API_ID(api));
		goto illegal;
	}
	/* 3-4. */
	msg->Status = STATUS_SUCCESS;
	if (msg->CsrCaptureData) {
		st = csr_capture_arguments(p, msg, &c.cap);
		*capture = st == STATUS_SUCCESS ? 1 : (long)st;
		if (st != STATUS_SUCCESS) {
			csr_log(s, 0, "pid %d tid %d: %s: capture buffer %p "
				"refused -> 0x%08x", (int)p->pid,
				t ? (int)t->tid : 0, dll->def->apis[index].name,
				(void *)msg->CsrCaptureData, (unsigned)st);
			__atomic_add_fetch(&s->refused_calls, 1,
					   __ATOMIC_RELAXED);
			msg->Status = st;
			return CsrReplyImmediately;
		}
	}
	/* 5. */
	fn = dll->dispatch[index];
	if (fn) {
		st = fn(&c);
	} else {
		csr_log(s, 1, "pid %d: %s is not implemented", (int)p->pid,
			dll->def->apis[index].name);
		st = STATUS_NOT_IMPLEMENTED;
	}
	csr_log(s, 2, "pid %d tid %d: %s -> 0x%08x%s", (int)p->pid,
		t ? (int)t->tid : 0, dll->def->apis[index].name,
		(unsigned)st, c.reply == CsrReplyPending ? " (pending)" : "");
	/* 6. A pending call's message and captured arguments now belong to
	 * its wait. */
	if (c.reply == CsrReplyPending)
		return CsrReplyPending;
	msg->Status = st;
	csr_release_arguments(p, msg, &c.cap);
	return c.reply;

illegal:
	__atomic_add_fetch(&s->refused_calls, 1, __ATOMIC_RELAXED);
	msg->Status = STATUS_ILLEGAL_FUNCTION;
	return CsrReplyImmediately;
}

NTSTATUS csr_call_server_from_server(struct csr_server *s,
				     CSR_API_MESSAGE *msg)
{
	ULONG api = msg->ApiNumber, server = CSR_API_NUMBER_TO_SERVER_ID(api);
	struct csr_call c = {
		.srv = s, .msg = msg, .process = &s->self,
		.from_server = true, .reply = CsrReplyImmediately,
	};
	const struct csr_dll_slot *dll;
	ULONG index;

	msg->Status = STATUS_ILLEGAL_FUNCTION;
	if (server >= CSR_SERVER_DLL_MAX || !s->dlls[server].def)
		return msg->Status;
	dll = &s->dlls[server];
	index = CSR_API_NUMBER_TO_API_ID(api) - dll->def->api_base;
	if (index >= dll->def->count || !dll->def->apis[index].server_call_ok)
		return msg->Status;
	msg->CsrCaptureData = NULL;
	msg->Status = dll->dispatch[index] ? dll->dispatch[index](&c) :
					     STATUS_NOT_IMPLEMENTED;
	return msg->Status;
}

/* LPC_EXCEPTION from a known thread: NT terminates the process with
 * STATUS_ABANDONED.  pidfd plus the create time make sure the pid still
 * names the process that faulted. */
static void terminate(struct csr_server *s, struct csr_process *p)
{
	int fd = (int)syscall(SYS_pidfd_open, p->pid, 0);

	if (fd < 0)
		return;
	if (csr_proc_ctime(p->pid, 0) == p->ctime) {
		csr_log(s, 0, "pid %d raised an exception: terminated",
			(int)p->pid);
		syscall(SYS_pidfd_send_signal, fd, SIGKILL, NULL, 0);
	}
	close(fd);
}

static bool is_thread_connect(struct csr_server *s, const CSR_API_MESSAGE *m)
{
	const char *n = csr_profile_api_name(s->profile, m->ApiNumber);

	return n && !strcmp(n, "CsrpThreadConnect");
}

bool csr_server_handle(struct csr_server *s, void *context,
		       CSR_API_MESSAGE *msg, struct csr_process **reply_to)
{
	int type = msg->Header.u2.s2.Type & 0xff;
	pid_t pid = (pid_t)(uintptr_t)msg->Header.ClientId.UniqueProcess;
	pid_t tid = (pid_t)(uintptr_t)msg->Header.ClientId.UniqueThread;
	struct csr_process *p = NULL;
	struct csr_thread *t = NULL;
	enum csr_reply_code rc;
	bool found, reply = false;

	*reply_to = NULL;
	if (type == LPC_CONNECTION_REQUEST) {
		handle_connect(s, msg);
		return false;
	}
	if (context) {
		p = csr_process_by_sequence(s, (ULONG)(uintptr_t)context);
		/* The engine vouches for ClientId: a mismatch means the
		 * sequence was reused by another process. */
		if (p && p->pid != pid) {
			csr_process_put(s, p);
			p = NULL;
		}
	}
	if (p) {
		pthread_mutex_lock(&p->lock);
		t = csr_thread_find(p, tid);
		pthread_mutex_unlock(&p->lock);
		/* Linux threads are not born through csrd: a connected
		 * process's new thread is registered at its first message,
		 * unless NT's rules were asked for. */
		if (!t && !s->opt.strict_registration &&
		    (type == LPC_REQUEST || type == LPC_DATAGRAM) &&
		    csr_thread_register(s, p, tid) == STATUS_SUCCESS) {
			pthread_mutex_lock(&p->lock);
			t = csr_thread_find(p, tid);
			pthread_mutex_unlock(&p->lock);
			csr_log(s, 1, "pid %d: thread %d registered at its "
				"first call", (int)pid, (int)tid);
		}
	}

	switch (type) {
	case LPC_PORT_CLOSED:
		/* The client's port is gone: so is the process's CSR
		 * connection, whichever thread dropped it. */
		if (p) {
			csr_log(s, 1, "pid %d closed its port", (int)pid);
			csr_process_destroy(s, p);
		}
		break;
	case LPC_CLIENT_DIED:
		if (p && t) {
			const CLIENT_DIED_MSG *d = (const void *)msg;
			bool empty = csr_thread_died(p, tid, d->CreateTime.QuadPart,
						     &found);

			csr_log(s, 1, "pid %d: thread %d died%s", (int)pid,
				(int)tid, found ? "" : " (another incarnation)");
			if (found && empty && s->opt.strict_registration)
				csr_process_destroy(s, p);
		}
		break;
	case LPC_EXCEPTION: {
		DBGKM_APIMSG *x = (DBGKM_APIMSG *)msg;

		/* An unknown thread's exception is continued; a known
		 * one's process is terminated (spec 12.5). */
		if (p && t) {
			terminate(s, p);
			csr_process_destroy(s, p);
		}
		x->ReturnedStatus = DBG_CONTINUE;
		reply = true;
		break;
	}
	case LPC_REQUEST:
		if (!p) {
			csr_log(s, 0, "pid %d tid %d: request from a process "
				"csrd does not know -> STATUS_ILLEGAL_FUNCTION",
				(int)pid, (int)tid);
			msg->Status = STATUS_ILLEGAL_FUNCTION;
			reply = true;
			break;
		}
		if (!t && is_thread_connect(s, msg)) {
			msg->Status = csr_thread_register(s, p, tid);
			csr_log(s, 1, "pid %d: thread %d connected -> 0x%08x",
				(int)pid, (int)tid, (unsigned)msg->Status);
			reply = true;
			break;
		}
		if (!t) {
			csr_log(s, 0, "pid %d tid %d: request from a thread "
				"csrd does not know -> STATUS_ILLEGAL_FUNCTION",
				(int)pid, (int)tid);
			msg->Status = STATUS_ILLEGAL_FUNCTION;
			reply = true;
			break;
		}
		rc = csr_dispatch(s, p, t, msg, false);
		if (rc == CsrReplyDeadClient) {
			/* Forget it, then answer: the client's next call (or
			 * reconnect) must not find the old record.  This call's
			 * reference keeps the port open for the reply. */
			csr_process_destroy(s, p);
			NtReplyPort(p->port, &msg->Header);
		} else if (rc == CsrReplyImmediately) {
			reply = true;
		}
		break;
	case LPC_DATAGRAM:
		/* No reply: a bad number is dropped without a word to the
		 * sender (it is logged). */
		if (p && csr_dispatch(s, p, t, msg, true) ==
				 CsrReplyDeadClient)
			csr_process_destroy(s, p);
		break;
	default:
		csr_log(s, 1, "pid %d tid %d: %s ignored", (int)pid, (int)tid,
			type_name(type));
		break;
	}
	if (reply && p) {
		*reply_to = p;	/* the caller replies, then puts it */
		return true;
	}
	csr_process_put(s, p);
	return reply;
}

/* ------------------------------------------------------------------ */
/* Deferred replies                                                    */
/* ------------------------------------------------------------------ */

struct csr_wait *csr_call_defer(struct csr_call *c)
{
	struct csr_wait *w;

	if (c->datagram)
		return NULL;	/* nobody to answer later */
	w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	/* The copy keeps the captured pointers: they point into the copy
	 * of the capture buffer, which the wait now owns. */
	memcpy(&w->msg, c->msg, sizeof(w->msg));
	w->cap = c->cap;
	memset(&c->cap, 0, sizeof(c->cap));
	pthread_mutex_lock(&c->srv->lock);
	c->process->refs++;
	pthread_mutex_unlock(&c->srv->lock);
	w->process = c->process;
	c->reply = CsrReplyPending;
	return w;
}

void csr_wait_complete(struct csr_server *s, struct csr_wait *w,
		       NTSTATUS status)
{
	struct csr_process *p = w->process;

	/* The pointers in w->msg were rebased into w->cap.copy; releasing
	 * moves them back and writes the copy into the client's view. */
	w->msg.Status = status;
	csr_release_arguments(p, &w->msg, &w->cap);
	if (p->port)
		NtReplyPort(p->port, &w->msg.Header);
	csr_process_put(s, p);
	free(w);
}

void csr_wait_abandon(struct csr_server *s, struct csr_wait *w)
{
	free(w->cap.copy);
	csr_process_put(s, w->process);
	free(w);
}
