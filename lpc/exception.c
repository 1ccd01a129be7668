/* SPDX-License-Identifier: MIT */
/*
 * exception.c - NtSetInformationProcess(ProcessExceptionPort) (spec 5.18).
 *
 * Once a process registers an exception port, its fatal signals (SIGSEGV,
 * SIGBUS, SIGILL, SIGFPE, SIGTRAP: NT's hardware exceptions) become
 * LPC_EXCEPTION requests.  The faulting thread waits for the server's
 * verdict: DBG_CONTINUE resumes it (retrying the faulting instruction, as
 * NT does); anything else, or no answer, hands the signal to whatever
 * disposition was there before, normally death.
 *
 * A signal handler may only do async-signal-safe things, so it does not
 * touch the engine: it writes the fault to a socketpair and blocks reading
 * the verdict.  A forwarder thread, started at registration, turns each
 * fault into the request, sent in the faulting thread's name (its
 * ClientId), and waits for the reply.  That also serves an exception port
 * that is a local port of this very process (the connection port itself,
 * as in the Windows-tested scenario), which a blocked handler could not.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <ucontext.h>
#include <unistd.h>

#include "ids.h"
#include "lpc_int.h"
#include "probes.h"
#include "sys.h"
#include "uaccess.h"

static const int exc_signals[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP };
#define NSIG_EXC (sizeof(exc_signals) / sizeof(exc_signals[0]))

static struct lpc_port *exc_port;		/* lpc_glock */
static struct sigaction exc_old[NSIG_EXC];
static int exc_sv[2] = { -1, -1 };		/* [0] forwarder, [1] handlers */
static atomic_int exc_busy;

struct fault {
	pid_t tid;
	int32_t signo;
	int32_t code;
	uint32_t write;
	uint64_t addr;
	uint64_t ip;
};

struct lpc_port *lpc_exception_port(void)
{
	struct lpc_port *p;

	pthread_mutex_lock(&lpc_glock);
	p = exc_port;
	if (p)
		lpc_obj_ref(p);
	pthread_mutex_unlock(&lpc_glock);
	return p;
}

void lpc_exception_atfork_child(void)
{
	/* The forwarder thread does not exist in the child: faults there
	 * go to the previous dispositions (the handler checks exc_sv). */
	exc_port = NULL;
	exc_sv[0] = exc_sv[1] = -1;
	atomic_store(&exc_busy, 0);
}

/* ------------------------------------------------------------------ */
/* The message                                                         */
/* ------------------------------------------------------------------ */

static NTSTATUS fault_code(const struct fault *f, ULONG *nparams)
{
	*nparams = 0;
	switch (f->signo) {
	case SIGSEGV:
		*nparams = 2;
		return STATUS_ACCESS_VIOLATION;
	case SIGBUS:
		if (f->code == BUS_ADRALN)
			return STATUS_DATATYPE_MISALIGNMENT;
		*nparams = 2;
		return STATUS_IN_PAGE_ERROR;
	case SIGILL:
		return f->code == ILL_PRVOPC ? STATUS_PRIVILEGED_INSTRUCTION
					     : STATUS_ILLEGAL_INSTRUCTION;
	case SIGFPE:
		switch (f->code) {
		case FPE_INTDIV: return STATUS_INTEGER_DIVIDE_BY_ZERO;
		case FPE_INTOVF: return STATUS_INTEGER_OVERFLOW;
		case FPE_FLTDIV: return STATUS_FLOAT_DIVIDE_BY_ZERO;
		case FPE_FLTOVF: return STATUS_FLOAT_OVERFLOW;
		case FPE_FLTUND: return STATUS_FLOAT_UNDERFLOW;
		default:	 return STATUS_FLOAT_INVALID_OPERATION;
		}
	case SIGTRAP:
		return f->code == TRAP_TRACE ? STATUS_SINGLE_STEP
					     : STATUS_BREAKPOINT;
	}
	return STATUS_ACCESS_VIOLATION;
}

static void build(DBGKM_APIMSG *m, const struct fault *f)
{
	EXCEPTION_RECORD *er = &m->u.Exception.ExceptionRecord;

	memset(m, 0, sizeof(*m));
	m->h.u1.s1.TotalLength = sizeof(*m);
	m->h.u1.s1.DataLength = sizeof(*m) - sizeof(PORT_MESSAGE);
	m->h.u2.s2.Type = LPC_EXCEPTION;
	m->h.ClientId.UniqueProcess = (HANDLE)(uintptr_t)lpc_sys_pid();
	m->h.ClientId.UniqueThread = (HANDLE)(uintptr_t)f->tid;
	m->ApiNumber = DbgKmExceptionApi;
	m->ReturnedStatus = STATUS_PENDING;
	er->ExceptionCode = fault_code(f, &er->NumberParameters);
	er->ExceptionFlags = 0;
	er->ExceptionAddress = (PVOID)(uintptr_t)f->ip;
	er->ExceptionInformation[0] = f->write;
	er->ExceptionInformation[1] = (ULONG_PTR)f->addr;
	/* The exception port sees only what no handler took: last chance. */
	m->u.Exception.FirstChance = 0;
}

/* Send m through port p in thread f->tid's name and wait for the reply. */
static NTSTATUS forward(struct lpc_port *p, struct lpc_thread *t,
			const struct fault *f)
{
	struct lpc_domain *d = p->dom;
	DBGKM_APIMSG m;
	struct lpc_pkt *k = NULL;
	NTSTATUS verdict = DBG_EXCEPTION_NOT_HANDLED;
	int r;

	build(&m, f);
	if (sizeof(m) > p->max_msg)
		return verdict;
	m.h.MessageId = lpc_next_message_id();
	lpc_dom_lock(d);
	if (p->kind == LPC_PORT_CLIENT || p->kind == LPC_PORT_SERVER) {
		struct lpc_wire w = { .op = LPC_OP_EXCEPTION };

		if (!p->link || p->kind == LPC_PORT_SERVER) {
			lpc_dom_unlock(d);
			return verdict;
		}
		w.tid = f->tid;
		w.msgid = m.h.MessageId;
		lpc_dom_wait_begin(d, t, LPC_TW_REPLY, p->link, f->tid,
				   m.h.MessageId);
		r = lpc_link_send(p->link, &w, &m, sizeof(m), NULL, 0, -1);
	} else {
		k = lpc_pkt_new(sizeof(m));
		if (!k || (p->kind == LPC_PORT_CONNECTION && p->name_deleted)) {
			lpc_dom_unlock(d);
			lpc_pkt_free(k);
			return verdict;
		}
		memcpy(k->payload, &m, sizeof(m));
		k->local = true;
		lpc_dom_wait_begin(d, t, LPC_TW_REPLY, NULL, f->tid,
				   m.h.MessageId);
		lpc_dom_index_self(d, t, p, f->tid, m.h.MessageId, 0);
		lpc_dom_enqueue(d, k);
		r = 0;
	}
	if (r == 0)
		r = lpc_dom_wait(d, t, NULL);
	if (r == 0)
		r = t->wstatus;
	if (t->w_indexed)
		lpc_dom_remove_waiter(d, &t->w);
	if (r == 0 && t->wpkt &&
	    t->wpkt->len >= offsetof(DBGKM_APIMSG, ReturnedStatus) + 4)
		memcpy(&verdict, t->wpkt->payload +
				  offsetof(DBGKM_APIMSG, ReturnedStatus),
		       sizeof(verdict));
	lpc_dom_wait_end(d, t);
	lpc_dom_unlock(d);
	return verdict;
}

static void *forwarder(void *arg)
{
	int fd = (int)(intptr_t)arg;
	struct lpc_thread *t;
	sigset_t all;

	/* Faults of this thread cannot be forwarded by itself. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	t = lpc_self();
	for (;;) {
		struct fault f;
		struct lpc_port *p;
		NTSTATUS verdict = DBG_EXCEPTION_NOT_HANDLED;
		ssize_t n = recv(fd, &f, sizeof(f), 0);

		if (n == 0 || (n < 0 && errno != EINTR))
			break;
		if (n != sizeof(f))
			continue;
		p = lpc_exception_port();
		if (p && t)
			verdict = forward(p, t, &f);
		LPC_PROBE(lpc, exception, p, (long)f.tid, (long)f.signo,
			  (long)f.addr, (long)verdict);
		lpc_obj_unref(p);
		send(fd, &verdict, sizeof(verdict), MSG_NOSIGNAL);
	}
	return NULL;
}

/* ------------------------------------------------------------------ */
/* The handler (async-signal-safe only)                                */
/* ------------------------------------------------------------------ */

static int sig_index(int sig)
{
	for (unsigned i = 0; i < NSIG_EXC; i++)
		if (exc_signals[i] == sig)
			return (int)i;
	return -1;
}

static void handler(int sig, siginfo_t *si, void *uctx)
{
	int saved_errno = errno, i = sig_index(sig), fd = exc_sv[1];
	NTSTATUS verdict = DBG_EXCEPTION_NOT_HANDLED;
	struct fault f = { 0 };

	if (fd >= 0) {
		/* One fault at a time: the channel carries no thread id in
		 * its replies. */
		while (atomic_exchange(&exc_busy, 1))
			sched_yield();
		f.tid = lpc_sys_gettid();
		f.signo = sig;
		f.code = si->si_code;
		f.addr = (uintptr_t)si->si_addr;
#if defined(__x86_64__)
		{
			ucontext_t *uc = uctx;

			f.ip = (uint64_t)uc->uc_mcontext.gregs[REG_RIP];
			/* Page-fault error code bit 1: a write. */
			f.write = sig == SIGSEGV &&
				  (uc->uc_mcontext.gregs[REG_ERR] & 2);
		}
#else
		(void)uctx;
#endif
		if (send(fd, &f, sizeof(f), MSG_NOSIGNAL) == sizeof(f))
			while (recv(fd, &verdict, sizeof(verdict), 0) < 0 &&
			       errno == EINTR)
				;
		atomic_store(&exc_busy, 0);
	}
	if (verdict != DBG_CONTINUE && i >= 0) {
		/* Not handled: the previous disposition decides.  A fault
		 * re-executes and meets it; a sent signal is re-raised. */
		sigaction(sig, &exc_old[i], NULL);
		if (si->si_code <= 0)
			raise(sig);
	}
	errno = saved_errno;
}

static int install(void)
{
	struct sigaction sa;
	pthread_attr_t attr;
	pthread_t th;
	int sv[2], r;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	lpc_fd_track(sv[0]);
	lpc_fd_track(sv[1]);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	r = pthread_create(&th, &attr, forwarder, (void *)(intptr_t)sv[0]);
	pthread_attr_destroy(&attr);
	if (r) {
		lpc_fd_close(sv[0]);
		lpc_fd_close(sv[1]);
		return -r;
	}
	exc_sv[0] = sv[0];
	exc_sv[1] = sv[1];
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = handler;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	for (unsigned i = 0; i < NSIG_EXC; i++)
		sigaction(exc_signals[i], &sa, &exc_old[i]);
	return 0;
}

NTSTATUS NTAPI NtSetInformationProcess(HANDLE ProcessHandle,
				       PROCESSINFOCLASS InfoClass, PVOID Info,
				       ULONG Length)
{
	struct lpc_port *p;
	HANDLE h;
	int r;

	if (ProcessHandle != NtCurrentProcess()) {
		void *o;

		r = lpc_handle_get(ProcessHandle, LPC_OBJ_PORT, &o);
		if (r == 0) {
			lpc_obj_unref(o);
			r = -LPC_ETYPE;
		}
		return lpc_status(r == -LPC_ETYPE ? r : -EBADF);
	}
	if (InfoClass != ProcessExceptionPort)
		return STATUS_INVALID_INFO_CLASS;
	if (Length != sizeof(HANDLE))
		return STATUS_INFO_LENGTH_MISMATCH;
	if (lpc_copy_from_user(&h, Info, sizeof(h)))
		return STATUS_ACCESS_VIOLATION;
	r = lpc_port_get(h, &p);
	if (r)
		return lpc_status(r);
	pthread_mutex_lock(&lpc_glock);
	if (exc_port) {
		pthread_mutex_unlock(&lpc_glock);
		lpc_obj_unref(p);
		return STATUS_PORT_ALREADY_SET;
	}
	exc_port = p;
	pthread_mutex_unlock(&lpc_glock);
	r = install();
	if (r) {
		pthread_mutex_lock(&lpc_glock);
		exc_port = NULL;
		pthread_mutex_unlock(&lpc_glock);
		lpc_obj_unref(p);
		return lpc_status(r);
	}
	return STATUS_SUCCESS;
}
