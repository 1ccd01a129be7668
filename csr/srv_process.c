/* SPDX-License-Identifier: MIT */
/*
 * CSR process and thread records (csrsrv's CSR_PROCESS / CSR_THREAD).
 *
 * NT creates them when a parent registers its child (BaseSrvCreateProcess)
 * and destroys them on the death notices; a connection from a process CSR
 * does not know is refused.  Linux processes are not born through csrd, so
 * by default the record is made at connect time ("open" registration);
 * --strict-registration restores NT's rule.  Create times (from /proc, in
 * the units LPC_CLIENT_DIED carries) tell a recycled pid or tid from the
 * one that was registered.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "srv.h"

/* ------------------------------------------------------------------ */
/* /proc                                                               */
/* ------------------------------------------------------------------ */

static int read_file(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, cap - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	return (int)n;
}

/* The stat field after the command name (which may hold spaces or ')'). */
static const char *stat_field(const char *buf, int field)
{
	const char *p = strrchr(buf, ')');

	if (!p)
		return NULL;
	for (int f = 2; *p && f < field; p++)
		if (*p == ' ')
			f++;
	return *p ? p : NULL;
}

/* Same formula as liblpc's notices: boot time plus the start tick, in
 * 100 ns units since 1601. */
static long ctime_hz;
static long long ctime_btime = -1;
static pthread_once_t ctime_once = PTHREAD_ONCE_INIT;

/* Once for every thread: one that saw hz set but not btime would date
 * every process to 1601 and refuse it. */
static void ctime_init(void)
{
	char sbuf[8192];
	const char *b;

	if (read_file("/proc/stat", sbuf, sizeof(sbuf)) < 0)
		return;
	b = strstr(sbuf, "\nbtime ");
	if (!b || sscanf(b + 7, "%lld", &ctime_btime) != 1)
		return;
	ctime_hz = sysconf(_SC_CLK_TCK);
}

int64_t csr_proc_ctime(pid_t pid, pid_t tid)
{
	char path[64], buf[1024];
	unsigned long long start;
	const char *p;
	long hz;
	long long btime;

	pthread_once(&ctime_once, ctime_init);
	hz = ctime_hz;
	btime = ctime_btime;
	if (pid <= 0 || tid < 0 || hz <= 0 || btime < 0)
		return 0;
	if (tid)
		snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)pid,
			 (int)tid);
	else
		snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (read_file(path, buf, sizeof(buf)) < 0)
		return 0;
	p = stat_field(buf, 22);
	if (!p || sscanf(p, "%llu", &start) != 1)
		return 0;
	return btime * 10000000LL + (int64_t)start * (10000000LL / hz) +
	       116444736000000000LL;
}

uid_t csr_proc_uid(pid_t pid)
{
	char path[64], buf[4096];
	unsigned long r, e;
	const char *u;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if (pid <= 0 || read_file(path, buf, sizeof(buf)) < 0)
		return (uid_t)-1;
	u = strstr(buf, "\nUid:");
	if (!u || sscanf(u + 5, "%lu %lu", &r, &e) != 2)
		return (uid_t)-1;
	return (uid_t)e;
}

pid_t csr_proc_ppid(pid_t pid)
{
	char path[64], buf[1024];
	const char *p;
	int ppid;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (pid <= 0 || read_file(path, buf, sizeof(buf)) < 0)
		return -1;
	p = stat_field(buf, 4);
	if (!p || sscanf(p, "%d", &ppid) != 1)
		return -1;
	return ppid;
}

/* ------------------------------------------------------------------ */
/* The table                                                           */
/* ------------------------------------------------------------------ */

static void process_free(struct csr_server *s, struct csr_process *p)
{
	struct csr_thread *t, *next;

	(void)s;
	for (t = p->threads; t; t = next) {
		next = t->next;
		free(t);
	}
	if (p->port)
		NtClose(p->port);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

/* Caller holds s->lock. */
static struct csr_process *find_locked(struct csr_server *s, pid_t pid)
{
	for (struct csr_process *p = s->processes; p; p = p->next)
		if (p->pid == pid)
			return p;
	return NULL;
}

struct csr_process *csr_process_get(struct csr_server *s, pid_t pid)
{
	struct csr_process *p;

	pthread_mutex_lock(&s->lock);
	p = find_locked(s, pid);
	if (p)
		p->refs++;
	pthread_mutex_unlock(&s->lock);
	return p;
}

void csr_process_put(struct csr_server *s, struct csr_process *p)
{
	bool last;

	if (!p)
		return;
	pthread_mutex_lock(&s->lock);
	last = --p->refs == 0;
	pthread_mutex_unlock(&s->lock);
	/* Only a record already out of the table can reach zero. */
	if (last)
		process_free(s, p);
}

struct csr_process *csr_process_by_sequence(struct csr_server *s, ULONG seq)
{
	struct csr_process *p;

	pthread_mutex_lock(&s->lock);
	for (p = s->processes; p; p = p->next)
		if (p->sequence == seq && p->state == CSR_PROCESS_CONNECTED)
			break;
	if (p)
		p->refs++;
	pthread_mutex_unlock(&s->lock);
	return p;
}

static struct csr_thread *thread_new(struct csr_process *p, pid_t tid,
				     int64_t ctime)
{
	struct csr_thread *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->tid = tid;
	t->ctime = ctime;
	t->process = p;
	t->next = p->threads;
	p->threads = t;
	p->nthreads++;
	return t;
}

struct csr_process *csr_process_new(struct csr_server *s, pid_t pid,
				    pid_t tid, NTSTATUS *status)
{
	int64_t ctime = csr_proc_ctime(pid, 0), tctime = csr_proc_ctime(pid, tid);
	uid_t uid = csr_proc_uid(pid);
	struct csr_process *p;

	*status = STATUS_INVALID_CID;
	if (!ctime || !tctime || uid == (uid_t)-1)
		return NULL;
	*status = STATUS_NO_MEMORY;
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->pid = pid;
	p->uid = uid;
	p->ctime = ctime;
	p->refs = 1;	/* the table's */
	p->state = CSR_PROCESS_REGISTERED;
	p->priority_class = CSR_PRIORITY_CLASS_NORMAL;
	pthread_mutex_init(&p->lock, NULL);
	if (!thread_new(p, tid, tctime)) {
		pthread_mutex_destroy(&p->lock);
		free(p);
		return NULL;
	}
	pthread_mutex_lock(&s->lock);
	if (find_locked(s, pid)) {
		*status = STATUS_OBJECT_NAME_COLLISION;
	} else if (s->nprocesses >= s->opt.max_processes) {
		*status = STATUS_QUOTA_EXCEEDED;
	} else {
		/* Sequence numbers are the PortContext: never 0, never
		 * reused while the old one may still be in flight. */
		if (++s->next_sequence == 0)
			++s->next_sequence;
		p->sequence = s->next_sequence;
		p->next = s->processes;
		s->processes = p;
		s->nprocesses++;
		p->refs++;	/* the caller's */
		*status = STATUS_SUCCESS;
	}
	pthread_mutex_unlock(&s->lock);
	if (*status != STATUS_SUCCESS) {
		p->refs = 1;
		process_free(s, p);
		return NULL;
	}
	return p;
}

NTSTATUS csr_process_register(struct csr_server *s, struct csr_process *parent,
			      pid_t pid, pid_t tid)
{
	struct csr_process *p;
	NTSTATUS st;
	pid_t ppid;

	if (pid <= 0 || tid <= 0)
		return STATUS_INVALID_CID;
	ppid = csr_proc_ppid(pid);
	if (ppid < 0)
		return STATUS_INVALID_CID;
	/* NT needs a handle to the child; here the caller must be its
	 * parent, or root. */
	if (parent && parent->uid != 0 && ppid != parent->pid)
		return STATUS_ACCESS_DENIED;
	p = csr_process_new(s, pid, tid, &st);
	if (!p)
		return st;
	csr_log(s, 1, "pid %d registered by pid %d (thread %d)", (int)pid,
		parent ? (int)parent->pid : 0, (int)tid);
	csr_process_put(s, p);
	return STATUS_SUCCESS;
}

struct csr_thread *csr_thread_find(struct csr_process *p, pid_t tid)
{
	for (struct csr_thread *t = p->threads; t; t = t->next)
		if (t->tid == tid)
			return t;
	return NULL;
}

NTSTATUS csr_thread_register(struct csr_server *s, struct csr_process *p,
			     pid_t tid)
{
	int64_t ctime;
	struct csr_thread *t;
	NTSTATUS st = STATUS_SUCCESS;

	if (tid <= 0)
		return STATUS_INVALID_CID;
	ctime = csr_proc_ctime(p->pid, tid);
	if (!ctime)
		return STATUS_INVALID_CID;
	pthread_mutex_lock(&p->lock);
	t = csr_thread_find(p, tid);
	if (t && t->ctime == ctime) {
		/* already known */
	} else if (t) {
		/* A recycled tid: the old record's thread is gone. */
		t->ctime = ctime;
		t->flags = 0;
	} else if (p->nthreads >= s->opt.max_threads_per_process) {
		st = STATUS_QUOTA_EXCEEDED;
	} else if (!thread_new(p, tid, ctime)) {
		st = STATUS_NO_MEMORY;
	}
	pthread_mutex_unlock(&p->lock);
	return st;
}

/* Remove thread tid of p if its create time matches (LPC_CLIENT_DIED);
 * returns true when p has no thread left. */
bool csr_thread_died(struct csr_process *p, pid_t tid, int64_t ctime,
		     bool *found)
{
	struct csr_thread **pp, *t;
	bool empty;

	*found = false;
	pthread_mutex_lock(&p->lock);
	for (pp = &p->threads; (t = *pp); pp = &t->next)
		if (t->tid == tid && t->ctime == ctime) {
			*pp = t->next;
			p->nthreads--;
			free(t);
			*found = true;
			break;
		}
	empty = p->nthreads == 0;
	pthread_mutex_unlock(&p->lock);
	return empty;
}

void csr_process_destroy(struct csr_server *s, struct csr_process *p)
{
	struct csr_process **pp;
	bool unlinked = false;

	pthread_mutex_lock(&s->lock);
	for (pp = &s->processes; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			s->nprocesses--;
			unlinked = true;
			break;
		}
	if (unlinked)
		p->state = CSR_PROCESS_DEAD;
	pthread_mutex_unlock(&s->lock);
	if (!unlinked)
		return;
	pthread_mutex_lock(&p->lock);
	p->dead = true;
	pthread_mutex_unlock(&p->lock);
	/* Once, outside every lock: the DLLs let go of the process (and
	 * abandon its deferred calls, which hold references). */
	for (unsigned i = 0; i < CSR_SERVER_DLL_MAX; i++)
		if (s->dlls[i].impl && s->dlls[i].impl->disconnect)
			s->dlls[i].impl->disconnect(s, p);
	/* The table's reference: the record goes when the last call that
	 * holds it finishes. */
	{
		csr_log(s, 1, "pid %d forgotten", (int)p->pid);
		csr_process_put(s, p);
	}
}

void csr_process_destroy_all(struct csr_server *s)
{
	struct csr_process *p;

	for (;;) {
		pthread_mutex_lock(&s->lock);
		p = s->processes;
		if (p)
			p->refs++;
		pthread_mutex_unlock(&s->lock);
		if (!p)
			return;
		csr_process_destroy(s, p);
		csr_process_put(s, p);
	}
}
