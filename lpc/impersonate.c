/* SPDX-License-Identifier: MIT */
/*
 * impersonate.c - NtImpersonateClientOfPort and its revert (spec 5.14).
 *
 * Impersonating sets the calling thread's filesystem uid, gid and groups
 * to the client's, with raw per-thread system calls: a server running as
 * root can then open exactly the files the client could, and no others,
 * on that thread only.  The client's credentials are the ones captured at
 * connect time (SECURITY_STATIC_TRACKING) or the waiting client thread's
 * current ones (SECURITY_DYNAMIC_TRACKING).  Reverting is NT's way:
 * NtSetInformationThread(NtCurrentThread(), ThreadImpersonationToken,
 * &null_handle, sizeof(HANDLE)).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lpc_int.h"
#include "message.h"
#include "probes.h"
#include "sys.h"
#include "uaccess.h"

#define NOBODY 65534
#define MAX_GROUPS 256

struct creds {
	uid_t uid;
	gid_t gid;
	int ngroups;
	gid_t groups[MAX_GROUPS];
};

/* Per-thread saved identity while impersonating. */
static __thread struct creds saved;

/* The filesystem ids and groups of a live thread, from /proc. */
static int thread_creds(pid_t pid, pid_t tid, struct creds *c)
{
	char path[64], buf[4096], *line;
	unsigned a, b, cc, d;
	ssize_t n;
	int fd, got = 0;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/status", (int)pid,
		 (int)tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = 0;
	c->ngroups = 0;
	for (line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
		if (sscanf(line, "Uid: %u %u %u %u", &a, &b, &cc, &d) == 4) {
			c->uid = d;	/* fsuid: what file access uses */
			got |= 1;
		} else if (sscanf(line, "Gid: %u %u %u %u", &a, &b, &cc, &d) ==
			   4) {
			c->gid = d;
			got |= 2;
		} else if (!strncmp(line, "Groups:", 7)) {
			char *p = line + 7, *end;

			while (c->ngroups < MAX_GROUPS) {
				unsigned long g = strtoul(p, &end, 10);

				if (end == p)
					break;
				c->groups[c->ngroups++] = (gid_t)g;
				p = end;
			}
		}
	}
	return got == 3 ? 0 : -EIO;
}

static bool same_groups(const struct creds *c)
{
	gid_t cur[MAX_GROUPS];
	int n = lpc_sys_getgroups(MAX_GROUPS, cur);

	if (n != c->ngroups)
		return false;
	for (int i = 0; i < n; i++) {
		int j;

		for (j = 0; j < n && cur[i] != c->groups[j]; j++)
			;
		if (j == n)
			return false;
	}
	return true;
}

static int apply(const struct creds *c)
{
	int r;

	/* Groups and gid first, while the fs capabilities still hold.
	 * Setting the groups we already have needs no privilege: skip it,
	 * so an unprivileged server can impersonate its own uid. */
	if (!same_groups(c)) {
		r = lpc_sys_setgroups((size_t)c->ngroups, c->groups);
		if (r)
			return r;
	}
	r = lpc_sys_setfsgid(c->gid);
	if (r)
		return r;
	return lpc_sys_setfsuid(c->uid);
}

static int current_creds(struct creds *c)
{
	int n = lpc_sys_getgroups(MAX_GROUPS, c->groups);

	if (n < 0)
		return n;
	c->ngroups = n;
	c->uid = (uid_t)lpc_sys_setfsuid_query();
	c->gid = (gid_t)lpc_sys_setfsgid_query();
	return 0;
}

static int impersonate(HANDLE hp, PPORT_MESSAGE umsg)
{
	struct lpc_thread *t = lpc_self();
	struct lpc_waiter *w;
	struct lpc_port *p;
	struct lpc_link *l;
	struct creds c;
	PORT_MESSAGE h;
	uint32_t qos;
	int r, level;
	bool dynamic;

	if (!t)
		return -ENOMEM;
	if (lpc_read_header(&h, umsg))
		return -EFAULT;
	r = lpc_port_get(hp, &p);
	if (r)
		return r;
	if (p->kind != LPC_PORT_SERVER) {
		r = -LPC_EPORTHANDLE;
		goto out;
	}
	lpc_dom_lock(p->dom);
	l = p->link;
	w = lpc_dom_find_waiter(p->dom,
				(pid_t)(uintptr_t)h.ClientId.UniqueProcess,
				(pid_t)(uintptr_t)h.ClientId.UniqueThread);
	if (!w) {
		lpc_dom_unlock(p->dom);
		r = lpc_match_waiter(p->dom, p, &h, LPC_W_REQUEST, &w);
		goto out;
	}
	if (!l || l->hung_up) {
		r = -LPC_EDISCONNECTED;
	} else if (w->flags & LPC_W_NOIMP) {
		r = -EACCES;
	} else {
		r = lpc_match_waiter(p->dom, p, &h, LPC_W_REQUEST, &w);
	}
	if (r) {
		lpc_dom_unlock(p->dom);
		goto out;
	}
	qos = l->qos;
	c.uid = l->peer_uid;
	c.gid = l->peer_gid;
	c.ngroups = l->ngroups < MAX_GROUPS ? l->ngroups : MAX_GROUPS;
	memcpy(c.groups, l->groups, (size_t)c.ngroups * sizeof(gid_t));
	lpc_dom_unlock(p->dom);

	level = (int)(qos & 0xff);
	dynamic = qos & 0x100;
	/* The client waits in its request, so its thread is alive. */
	if (dynamic && level >= SecurityImpersonation &&
	    thread_creds((pid_t)(uintptr_t)h.ClientId.UniqueProcess,
			 (pid_t)(uintptr_t)h.ClientId.UniqueThread, &c) < 0) {
		r = -LPC_EREPLYLOST;
		goto out;
	}
	/* Below SecurityImpersonation a server may identify the client but
	 * not act as it: such impersonation opens files as nobody. */
	if (level < SecurityImpersonation) {
		c.uid = NOBODY;
		c.gid = NOBODY;
		c.ngroups = 0;
	}
	if (!t->impersonating) {
		r = current_creds(&saved);
		if (r)
			goto out;
	}
	r = apply(&c);
	if (r) {
		apply(&saved);
		r = r == -EPERM ? -LPC_ENOPRIV : r;
		goto out;
	}
	t->impersonating = true;
out:
	lpc_obj_unref(p);
	return r;
}

NTSTATUS NTAPI NtImpersonateClientOfPort(HANDLE PortHandle,
					 PPORT_MESSAGE Message)
{
	NTSTATUS st = lpc_status(impersonate(PortHandle, Message));

	LPC_PROBE(lpc, impersonate, PortHandle, Message, (long)st);
	return st;
}

NTSTATUS NTAPI NtSetInformationThread(HANDLE ThreadHandle,
				      THREADINFOCLASS InfoClass, PVOID Info,
				      ULONG Length)
{
	struct lpc_thread *t = lpc_self();
	HANDLE token;

	if (!t)
		return STATUS_NO_MEMORY;
	if (ThreadHandle != NtCurrentThread())
		return STATUS_INVALID_HANDLE;
	if (InfoClass != ThreadImpersonationToken)
		return STATUS_INVALID_INFO_CLASS;
	if (Length != sizeof(HANDLE))
		return STATUS_INFO_LENGTH_MISMATCH;
	if (lpc_copy_from_user(&token, Info, sizeof(token)))
		return STATUS_ACCESS_VIOLATION;
	/* Only a NULL token (revert to self): there are no token objects. */
	if (token)
		return STATUS_INVALID_HANDLE;
	if (t->impersonating) {
		if (apply(&saved)) {
			LPC_PROBE(lpc, revert, (long)STATUS_ACCESS_DENIED);
			return STATUS_ACCESS_DENIED;
		}
		t->impersonating = false;
	}
	LPC_PROBE(lpc, revert, (long)STATUS_SUCCESS);
	return STATUS_SUCCESS;
}
