/* SPDX-License-Identifier: MIT */
/*
 * CSRSRV, server DLL 0: the connection of a process to each server DLL,
 * thread connection, alertable threads and priority classes.
 */
#include <string.h>

#include "srv.h"

/* CsrpClientConnect: run server DLL ServerId's connect routine on the
 * captured connection information and send it back (spec 12.1). */
static NTSTATUS client_connect(struct csr_call *c)
{
	CSR_CLIENT_CONNECT *r = &c->msg->Data.CsrClientConnect;
	struct csr_server *s = c->srv;
	const struct csr_dll_slot *dll;
	ULONG id = r->ServerId, len = r->ConnectionInfoSize;
	NTSTATUS st;

	if (id >= CSR_SERVER_DLL_MAX) {
		csr_log(s, 0, "pid %d CsrpClientConnect: ServerId %u out of "
			"range -> STATUS_INVALID_PARAMETER",
			(int)c->process->pid, (unsigned)id);
		return STATUS_INVALID_PARAMETER;
	}
	dll = &s->dlls[id];
	if (!dll->def) {
		csr_log(s, 0, "pid %d CsrpClientConnect: no server DLL %u "
			"-> STATUS_OBJECT_NAME_NOT_FOUND",
			(int)c->process->pid, (unsigned)id);
		return STATUS_OBJECT_NAME_NOT_FOUND;
	}
	if (!csr_validate_buffer(c, &r->ConnectionInfo, len, 1)) {
		csr_log(s, 0, "pid %d CsrpClientConnect: ConnectionInfo (%u "
			"bytes) not captured -> STATUS_INVALID_PARAMETER",
			(int)c->process->pid, (unsigned)len);
		return STATUS_INVALID_PARAMETER;
	}
	if (dll->impl && dll->impl->connect) {
		st = dll->impl->connect(c, r->ConnectionInfo, &len);
		if (st != STATUS_SUCCESS)
			return st;
		if (len > r->ConnectionInfoSize)
			len = r->ConnectionInfoSize;
		r->ConnectionInfoSize = len;
	}
	pthread_mutex_lock(&c->process->lock);
	c->process->dll_connected |= 1u << id;
	pthread_mutex_unlock(&c->process->lock);
	csr_log(s, 1, "pid %d connected to %s", (int)c->process->pid,
		dll->def->name);
	return STATUS_SUCCESS;
}

/* CsrpThreadConnect from a thread csrd already knows: nothing to do.
 * (From an unknown thread it is answered before dispatch.) */
static NTSTATUS thread_connect(struct csr_call *c)
{
	(void)c;
	return STATUS_SUCCESS;
}

static NTSTATUS identify_alertable(struct csr_call *c)
{
	CLIENT_ID *cid = &c->msg->Data.IdentifyAlertable.Cid;
	struct csr_process *p = c->process;
	struct csr_thread *t;
	NTSTATUS st = STATUS_SUCCESS;

	if ((uintptr_t)cid->UniqueProcess != (uintptr_t)p->pid) {
		csr_log(c->srv, 0, "pid %d CsrpIdentifyAlertable: thread of "
			"another process (%zu) -> STATUS_ACCESS_DENIED",
			(int)p->pid, (size_t)(uintptr_t)cid->UniqueProcess);
		return STATUS_ACCESS_DENIED;
	}
	pthread_mutex_lock(&p->lock);
	t = (uintptr_t)cid->UniqueThread <= 0x7fffffff ?
		    csr_thread_find(p, (pid_t)(uintptr_t)cid->UniqueThread) :
		    NULL;
	if (t)
		t->flags |= CSR_THREAD_ALERTABLE;
	else
		st = STATUS_INVALID_CID;
	pthread_mutex_unlock(&p->lock);
	if (st != STATUS_SUCCESS)
		csr_log(c->srv, 0, "pid %d CsrpIdentifyAlertable: unknown "
			"thread %zu -> STATUS_INVALID_CID", (int)p->pid,
			(size_t)(uintptr_t)cid->UniqueThread);
	return st;
}

/* The class is csrd's record of the process (what NT's CSR hands to
 * the scheduler); csrd does not renice anyone on a client's word. */
static NTSTATUS set_priority_class(struct csr_call *c)
{
	CSR_SET_PRIORITY_CLASS *r = &c->msg->Data.SetPriorityClass;
	struct csr_server *s = c->srv;
	struct csr_process *target = c->process;
	uintptr_t h = (uintptr_t)r->ProcessHandle;
	ULONG cls = r->PriorityClass;
	NTSTATUS st = STATUS_SUCCESS;

	if (cls != CSR_PRIORITY_CLASS_NORMAL &&
	    cls != CSR_PRIORITY_CLASS_BACKGROUND &&
	    cls != CSR_PRIORITY_CLASS_FOREGROUND) {
		csr_log(s, 0, "pid %d CsrpSetPriorityClass: class 0x%x "
			"-> STATUS_INVALID_PARAMETER",
			(int)c->process->pid, (unsigned)cls);
		return STATUS_INVALID_PARAMETER;
	}
	if (r->ProcessHandle != NtCurrentProcess() &&
	    h != (uintptr_t)c->process->pid) {
		target = h && h <= 0x7fffffff ? csr_process_get(s, (pid_t)h) :
						 NULL;
		if (!target)
			st = STATUS_INVALID_CID;
		else if (c->process->uid && target->uid != c->process->uid)
			st = STATUS_ACCESS_DENIED;
		if (st != STATUS_SUCCESS) {
			csr_log(s, 0, "pid %d CsrpSetPriorityClass: process "
				"%zu -> 0x%08x", (int)c->process->pid,
				(size_t)h, (unsigned)st);
			csr_process_put(s, target);
			return st;
		}
	}
	pthread_mutex_lock(&target->lock);
	target->priority_class = cls;
	pthread_mutex_unlock(&target->lock);
	if (target != c->process)
		csr_process_put(s, target);
	return STATUS_SUCCESS;
}

static const struct csr_api_impl apis[] = {
	{ "CsrpClientConnect", client_connect },
	{ "CsrpThreadConnect", thread_connect },
	{ "CsrpIdentifyAlertable", identify_alertable },
	{ "CsrpSetPriorityClass", set_priority_class },
	{ NULL, NULL },
};

const struct csr_dll_impl csr_csrsrv_dll = {
	.name = "CSRSRV",
	.index = CSRSRV_SERVERDLL_INDEX,
	.apis = apis,
};
