/* SPDX-License-Identifier: MIT */
/*
 * thread.c - per-thread LPC state (the ETHREAD fields of spec 4.3) and what
 * happens when a thread exits: LPC_CLIENT_DIED to each termination port,
 * newest first (spec 5.16).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lpc_int.h"
#include "sys.h"
#include "uaccess.h"

static pthread_key_t self_key;
static pthread_once_t self_once = PTHREAD_ONCE_INIT;
static __thread struct lpc_thread *self;
static struct lpc_thread *all_threads;

static void thread_exit(void *arg);

static void key_init(void)
{
	pthread_key_create(&self_key, thread_exit);
}

struct lpc_thread *lpc_self(void)
{
	struct lpc_thread *t = self;
	pthread_condattr_t ca;

	if (t) {
		/* A fork child's thread claims a slot of its own table. */
		if (__builtin_expect(!t->dbg && !t->dbg_none, 0))
			lpc_dbg_claim(t);
		return t;
	}
	lpc_init();
	pthread_once(&self_once, key_init);
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->tid = lpc_sys_gettid();
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&t->cond, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_lock(&lpc_glock);
	t->gnext = all_threads;
	if (all_threads)
		all_threads->gprev = t;
	all_threads = t;
	pthread_mutex_unlock(&lpc_glock);
	self = t;
	pthread_setspecific(self_key, t);
	/* Here, where no lock is held (dbg.c). */
	lpc_dbg_claim(t);
	return t;
}

bool lpc_is_self(const struct lpc_thread *t)
{
	return t && t == self;
}

static long ctime_hz;
static int64_t ctime_btime;
static pthread_once_t ctime_once = PTHREAD_ONCE_INIT;

/* Once, for every thread: a thread that saw hz set but btime not yet
 * read would compute a create time in 1601. */
static void ctime_init(void)
{
	FILE *f = fopen("/proc/stat", "re");
	char line[256];
	long long bt;

	if (f) {
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "btime %lld", &bt) == 1) {
				ctime_btime = bt;
				break;
			}
		fclose(f);
	}
	ctime_hz = sysconf(_SC_CLK_TCK);
}

/* /proc/<pid>[/task/<tid>]/stat field 22 (start time in clock ticks since
 * boot) and /proc/stat's btime give an absolute start time. */
LPC_NOCOV int64_t lpc_proc_ctime(pid_t pid, pid_t tid)
{
	char path[64], buf[1024], *p;
	unsigned long long start = 0;
	ssize_t n;
	int fd, field;

	pthread_once(&ctime_once, ctime_init);
	if (tid)
		snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)pid,
			 (int)tid);
	else
		snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	/* The command name may contain spaces: count fields after ')'. */
	p = strrchr(buf, ')');
	if (!p)
		return 0;
	for (field = 2; *p && field < 22; p++)
		if (*p == ' ')
			field++;
	if (sscanf(p, "%llu", &start) != 1 || ctime_hz <= 0)
		return 0;
	/* 100 ns units since 1601-01-01. */
	return (ctime_btime * 10000000LL +
		(int64_t)start * (10000000LL / ctime_hz)) +
	       116444736000000000LL;
}

int64_t lpc_thread_ctime(struct lpc_thread *t)
{
	if (!t->ctime)
		t->ctime = lpc_proc_ctime(lpc_sys_pid(), t->tid);
	return t->ctime;
}

static void thread_free(struct lpc_thread *t)
{
	lpc_dbg_thread_exit(t);
	pthread_mutex_lock(&lpc_glock);
	if (t->gprev)
		t->gprev->gnext = t->gnext;
	else if (all_threads == t)
		all_threads = t->gnext;
	if (t->gnext)
		t->gnext->gprev = t->gprev;
	pthread_mutex_unlock(&lpc_glock);
	for (int i = 0; i < t->nterm; i++)
		lpc_obj_unref(t->term[i]);
	free(t->term);
	free(t->sent);
	pthread_cond_destroy(&t->cond);
	free(t);
}

static void thread_exit(void *arg)
{
	struct lpc_thread *t = arg;

	/* Keep the TLS pointer valid while notices go out. */
	self = t;
	t->exiting = true;
	lpc_thread_exit_notices(t);
	self = NULL;
	thread_free(t);
	lpc_uaccess_thread_exit();
}

void lpc_threads_atfork_child(void)
{
	struct lpc_thread *t = self;

	/* Only the forking thread exists in the child.  Its parent-side
	 * state (termination ports, waits) belongs to the parent. */
	all_threads = NULL;
	lpc_dbg_atfork_child(t);
	if (!t)
		return;
	t->tid = lpc_sys_gettid();
	t->gnext = t->gprev = NULL;
	all_threads = t;
	t->term = NULL;
	t->nterm = t->capterm = 0;
	t->ctime = 0;
	t->wkind = LPC_TW_NONE;
	t->wdone = false;
	t->w_indexed = false;
	t->wpkt = NULL;
	t->sent = NULL;
	t->impersonating = false;
	{
		pthread_condattr_t ca;

		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&t->cond, &ca);
		pthread_condattr_destroy(&ca);
	}
}
