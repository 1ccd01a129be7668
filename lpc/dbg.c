/* SPDX-License-Identifier: MIT */
/*
 * dbg.c - the per-thread LPC state published for debuggers and lpctrace
 * (include/lpc/lpcdbg.h): what each thread waits for, and which request
 * it holds.  Best effort: if the table cannot be made, nothing is
 * published and LPC works as before.
 */
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <lpc/lpcdbg.h>

#include "lpc_int.h"
#include "ns.h"
#include "sys.h"

/*
 * A leaf lock: nothing else is taken while it is held.  (Claiming under
 * lpc_glock from a wait, with a domain lock held, deadlocked csrd against
 * a thread holding lpc_glock and wanting that domain.)
 */
static pthread_mutex_t dbg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct lpc_dbg_table *table;	/* dbg_lock */
static bool table_failed;		/* dbg_lock: do not retry */

static struct lpc_dbg_table *table_create(uint64_t root_dev,
					  uint64_t root_ino)
{
	struct lpc_dbg_table *tb;
	int fd = memfd_create("lpc-threads", MFD_CLOEXEC);

	if (fd < 0)
		return NULL;
	if (ftruncate(fd, sizeof(*tb)) < 0) {
		close(fd);
		return NULL;
	}
	/* Shared, so that it is a named mapping in /proc/PID/maps. */
	tb = mmap(NULL, sizeof(*tb), PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		  0);
	close(fd);
	if (tb == MAP_FAILED)
		return NULL;
	/* A forked child would share the parent's slots: it makes its own. */
	madvise(tb, sizeof(*tb), MADV_DONTFORK);
	memcpy(tb->magic, LPC_DBG_MAGIC, sizeof(LPC_DBG_MAGIC));
	tb->version = 2;
	tb->slot_size = sizeof(struct lpc_dbg_thread);
	tb->nslots = LPC_DBG_SLOTS;
	tb->pid = (uint32_t)lpc_sys_pid();
	tb->root_dev = root_dev;
	tb->root_ino = root_ino;
	return tb;
}

/* Claims the calling thread's slot; called by lpc_self(), which holds no
 * lock, when the thread has none (new, or the child of a fork). */
LPC_NOCOV void lpc_dbg_claim(struct lpc_thread *t)
{
	struct lpc_dbg_thread *s = NULL;
	uint64_t dev = 0, ino = 0;

	if (t->dbg || t->dbg_none)
		return;
	if (!table) {
		/* The namespace has its own (leaf) lock. */
		struct stat st;
		int fd = lpc_ns_root_fd();

		if (fd >= 0 && fstat(fd, &st) == 0) {
			dev = st.st_dev;
			ino = st.st_ino;
		}
	}
	pthread_mutex_lock(&dbg_lock);
	if (!table && !table_failed) {
		table = table_create(dev, ino);
		table_failed = !table;
	}
	for (unsigned i = 0; table && i < LPC_DBG_SLOTS; i++) {
		if (!table->slot[i].tid) {
			s = &table->slot[i];
			memset(s, 0, sizeof(*s));
			atomic_store_explicit((_Atomic uint32_t *)&s->tid,
					      (uint32_t)t->tid,
					      memory_order_release);
			break;
		}
	}
	pthread_mutex_unlock(&dbg_lock);
	/* More threads than slots: this one goes unpublished. */
	t->dbg = s;
	t->dbg_none = !s;
}

static void write_begin(struct lpc_dbg_thread *s)
{
	atomic_store_explicit((_Atomic uint32_t *)&s->seq, s->seq + 1,
			      memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
}

static void write_end(struct lpc_dbg_thread *s)
{
	atomic_store_explicit((_Atomic uint32_t *)&s->seq, s->seq + 1,
			      memory_order_release);
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void lpc_dbg_wait_begin(struct lpc_thread *t, const struct lpc_domain *d,
			int kind, uint32_t msgid)
{
	struct lpc_dbg_thread *s = t->dbg;

	if (!s)
		return;
	write_begin(s);
	s->wait_kind = (uint32_t)kind;
	s->wait_msgid = msgid;
	s->wait_since = mono_ns();
	s->wait_queue = (uint64_t)(uintptr_t)d;
	/* Waits repeat on one queue: copy its name once.  By serial, not
	 * address: a new domain may take a freed one's. */
	if (t->dbg_wait_dom != d->serial) {
		memcpy(s->wait_port, d->name, LPC_DBG_NAME_LEN);
		t->dbg_wait_dom = d->serial;
	}
	write_end(s);
}

void lpc_dbg_wait_end(struct lpc_thread *t)
{
	struct lpc_dbg_thread *s = t->dbg;

	if (!s)
		return;
	write_begin(s);
	s->wait_kind = LPC_DBG_WAIT_NONE;
	write_end(s);
}

void lpc_dbg_received(struct lpc_thread *t, const struct lpc_domain *d,
		      uint32_t type, uint32_t msgid, uint32_t client_pid,
		      uint32_t client_tid)
{
	struct lpc_dbg_thread *s = t->dbg;

	if (!s)
		return;
	write_begin(s);
	if (s->recv_msgid) {
		/* It had not replied to the one it held: keep it aside, with
		 * what its reply to it got if it tried (NT forgets it). */
		memmove(&s->prev[1], &s->prev[0],
			sizeof(s->prev) - sizeof(s->prev[0]));
		s->prev[0].msgid = s->recv_msgid;
		s->prev[0].status = s->reply_msgid == s->recv_msgid
					    ? s->reply_status : 0;
		s->prev[0].client_pid = s->recv_client_pid;
		s->prev[0].client_tid = s->recv_client_tid;
		s->prev[0].since = s->recv_since;
	}
	s->recv_msgid = msgid;
	s->recv_type = type;
	s->recv_client_pid = client_pid;
	s->recv_client_tid = client_tid;
	s->recv_since = mono_ns();
	/* A server receives on one port over and over: copy its name once
	 * (this runs for every request received). */
	if (t->dbg_recv_dom != d->serial) {
		memcpy(s->recv_port, d->name, LPC_DBG_NAME_LEN);
		t->dbg_recv_dom = d->serial;
	}
	write_end(s);
}

void lpc_dbg_replied(struct lpc_thread *t, uint32_t msgid,
		     uint32_t client_pid, uint32_t client_tid, uint32_t status)
{
	struct lpc_dbg_thread *s = t->dbg;

	if (!s)
		return;
	write_begin(s);
	s->reply_msgid = msgid;
	s->reply_status = status;
	s->reply_client_pid = client_pid;
	s->reply_client_tid = client_tid;
	s->reply_at = mono_ns();
	if (status == 0 && s->recv_msgid == msgid)
		s->recv_msgid = 0;
	for (unsigned i = 0; msgid && i < LPC_DBG_PREV; i++) {
		if (s->prev[i].msgid != msgid)
			continue;
		if (status == 0)
			s->prev[i].msgid = 0;
		else
			s->prev[i].status = status;
	}
	write_end(s);
}

void lpc_dbg_thread_exit(struct lpc_thread *t)
{
	struct lpc_dbg_thread *s = t->dbg;

	if (!s)
		return;
	t->dbg = NULL;
	atomic_store_explicit((_Atomic uint32_t *)&s->tid, 0,
			      memory_order_release);
}

void lpc_dbg_atfork_child(struct lpc_thread *t)
{
	/* The mapping was not inherited (MADV_DONTFORK); the lock may have
	 * been held by a thread that does not exist here. */
	pthread_mutex_init(&dbg_lock, NULL);
	table = NULL;
	table_failed = false;
	if (t) {
		t->dbg = NULL;
		t->dbg_none = false;
		t->dbg_wait_dom = 0;
		t->dbg_recv_dom = 0;
	}
}
