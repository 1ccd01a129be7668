/* SPDX-License-Identifier: MIT */
/*
 * domain.c - a domain's queue, waiter index and the wait loop that lets
 * the threads waiting in it take turns driving its transport.
 */
#include <errno.h>
#include <stddef.h>
#include <sys/epoll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lpc_int.h"
#include "probes.h"
#include "sys.h"

pthread_mutex_t lpc_glock = PTHREAD_MUTEX_INITIALIZER;
struct lpc_domain *lpc_domains;

struct lpc_pkt *lpc_pkt_new(uint32_t len)
{
	struct lpc_pkt *p = malloc(sizeof(*p) + len);

	if (!p)
		return NULL;
	memset(p, 0, sizeof(*p));
	p->fd = -1;
	p->len = len;
	return p;
}

void lpc_pkt_free(struct lpc_pkt *p)
{
	if (!p)
		return;
	if (p->fd >= 0)
		lpc_fd_close(p->fd);
	lpc_link_unref(p->src);
	free(p);
}

/* Queue accounting per link (domain lock held). */
static void src_in(struct lpc_pkt *p)
{
	struct lpc_link *l = p->src;

	if (l && ++l->queued >= LPC_LINK_QUEUE_MAX)
		l->throttled = true;
}

static void src_out(struct lpc_domain *d, struct lpc_pkt *p)
{
	struct lpc_link *l = p->src;

	if (!l)
		return;
	l->queued--;
	if (l->throttled && l->queued <= LPC_LINK_QUEUE_MAX / 2) {
		/* Read from it again: the driver rebuilds what it waits on. */
		l->throttled = false;
		if (d->driving && !lpc_is_self(d->driver) && d->be &&
		    d->be->wake)
			d->be->wake(d);
	}
}

struct lpc_domain *lpc_dom_new(int kind)
{
	struct lpc_domain *d = calloc(1, sizeof(*d));
	pthread_mutexattr_t ma;

	if (!d)
		return NULL;
	pthread_mutexattr_init(&ma);
	pthread_mutex_init(&d->lock, &ma);
	pthread_mutexattr_destroy(&ma);
	static atomic_uint_fast64_t serials;

	atomic_init(&d->refs, 1);
	/* Never 0, never reused: an address may be (dbg.c's name caches). */
	d->serial = atomic_fetch_add(&serials, 1) + 1;
	d->kind = (uint8_t)kind;
	d->qtail = &d->qhead;
	d->listen_fd = -1;
	d->wake_fd = -1;
	d->notify_fd = -1;
	d->wait_fd = -1;
	pthread_mutex_lock(&lpc_glock);
	d->gnext = lpc_domains;
	if (lpc_domains)
		lpc_domains->gpprev = &d->gnext;
	d->gpprev = &lpc_domains;
	lpc_domains = d;
	pthread_mutex_unlock(&lpc_glock);
	return d;
}

void lpc_dom_ref(struct lpc_domain *d)
{
	atomic_fetch_add(&d->refs, 1);
}

LPC_NOCOV static void dom_free(struct lpc_domain *d)
{
	pthread_mutex_lock(&lpc_glock);
	*d->gpprev = d->gnext;
	if (d->gnext)
		d->gnext->gpprev = d->gpprev;
	pthread_mutex_unlock(&lpc_glock);

	lpc_dom_lock(d);
	if (d->listen_fd >= 0) {
		int fd = d->listen_fd;

		d->listen_fd = -1;
		if (d->be && d->be->unlisten)
			d->be->unlisten(d, fd);
		lpc_fd_close(fd);
	}
	while (d->links) {
		struct lpc_link *l = d->links;

		lpc_link_shutdown(l);
		lpc_dom_remove_link(d, l);
	}
	lpc_dom_flush_queue(d);
	for (int i = 0; i < LPC_WHASH; i++) {
		while (d->whash[i]) {
			struct lpc_waiter *w = d->whash[i];

			d->whash[i] = w->hnext;
			if (w->flags & LPC_W_REMOTE)
				lpc_waiter_free(w);
		}
	}
	lpc_dom_unlock(d);
	if (d->be && d->be->fini)
		d->be->fini(d);
	lpc_fd_close(d->wake_fd);
	lpc_fd_close(d->notify_fd);
	lpc_fd_close(d->wait_fd);
	pthread_mutex_destroy(&d->lock);
	free(d);
}

LPC_NOCOV void lpc_dom_unref(struct lpc_domain *d)
{
	if (d && atomic_fetch_sub(&d->refs, 1) == 1)
		dom_free(d);
}

/* ------------------------------------------------------------------ */
/* Queue                                                               */
/* ------------------------------------------------------------------ */

static void notify_set(struct lpc_domain *d)
{
	if (d->notify_fd >= 0)
		lpc_sys_eventfd_signal(d->notify_fd);
}

static uint32_t pkt_id(struct lpc_pkt *p)
{
	return lpc_pkt_msg(p)->MessageId;
}

/* a was sent before b (ids wrap: compare by signed distance). */
static bool before(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) < 0;
}

static bool is_conn_request(struct lpc_pkt *p)
{
	return LPC_TYPE(lpc_pkt_msg(p)->u2.s2.Type) == LPC_CONNECTION_REQUEST;
}

void lpc_dom_enqueue(struct lpc_domain *d, struct lpc_pkt *p)
{
	struct lpc_pkt **pp, **after_remote, *q;

	/* Messages from sockets keep their arrival order among themselves:
	 * their ids come from the peer, so they must not decide who goes
	 * first.  A local message (its id drawn here, at send time) is
	 * newest when queued; a socket message that was sent before it but
	 * read after it goes back past it, and past nothing else. */
	if (p->local || !d->qlast || !d->qlast->local) {
		p->next = NULL;
		*d->qtail = p;
		d->qtail = &p->next;
		d->qlast = p;
		goto done;
	}
	after_remote = &d->qhead;
	for (pp = &d->qhead; (q = *pp); pp = &q->next)
		if (!q->local)
			after_remote = &q->next;
	for (pp = after_remote; (q = *pp) && before(pkt_id(q), pkt_id(p));
	     pp = &q->next)
		;
	p->next = *pp;
	*pp = p;
	if (!p->next) {
		d->qtail = &p->next;
		d->qlast = p;
	}
done:
	d->qlen++;
	src_in(p);
	notify_set(d);
	lpc_dom_kick(d, is_conn_request(p));
}

void lpc_dom_requeue_head(struct lpc_domain *d, struct lpc_pkt *p)
{
	src_in(p);
	p->next = d->qhead;
	d->qhead = p;
	if (d->qtail == &d->qhead) {
		d->qtail = &p->next;
		d->qlast = p;
	}
	d->qlen++;
	notify_set(d);
}


struct lpc_pkt *lpc_dom_dequeue(struct lpc_domain *d, bool conn_only)
{
	struct lpc_pkt **pp = &d->qhead, *p;

	/* NtListenPort takes the oldest connection request and leaves other
	 * messages queued (docs/decisions.md, Q6). */
	while ((p = *pp) && conn_only && !is_conn_request(p))
		pp = &p->next;
	if (!p)
		return NULL;
	*pp = p->next;
	if (d->qtail == &p->next) {
		d->qtail = pp;
		d->qlast = NULL;
		if (pp != &d->qhead)
			d->qlast = (struct lpc_pkt *)((char *)pp -
						      offsetof(struct lpc_pkt,
							       next));
	}
	d->qlen--;
	src_out(d, p);
	if (!d->qhead && d->notify_fd >= 0)
		lpc_sys_eventfd_drain(d->notify_fd);
	return p;
}

void lpc_dom_flush_queue(struct lpc_domain *d)
{
	struct lpc_pkt *p;

	while ((p = d->qhead)) {
		d->qhead = p->next;
		src_out(d, p);
		lpc_pkt_free(p);
	}
	d->qtail = &d->qhead;
	d->qlast = NULL;
	d->qlen = 0;
	if (d->notify_fd >= 0)
		lpc_sys_eventfd_drain(d->notify_fd);
}

/* ------------------------------------------------------------------ */
/* Waiter index, keyed by ClientId                                     */
/* ------------------------------------------------------------------ */

static unsigned whash(pid_t pid, pid_t tid)
{
	return ((unsigned)tid * 2654435761u ^ (unsigned)pid) % LPC_WHASH;
}

struct lpc_waiter *lpc_dom_find_waiter(struct lpc_domain *d, pid_t pid,
				       pid_t tid)
{
	struct lpc_waiter *w;

	for (w = d->whash[whash(pid, tid)]; w; w = w->hnext)
		if (w->pid == pid && w->tid == tid)
			return w;
	return NULL;
}

void lpc_dom_add_waiter(struct lpc_domain *d, struct lpc_waiter *w)
{
	unsigned h = whash(w->pid, w->tid);

	w->hnext = d->whash[h];
	d->whash[h] = w;
}

void lpc_dom_remove_waiter(struct lpc_domain *d, struct lpc_waiter *w)
{
	struct lpc_waiter **pp = &d->whash[whash(w->pid, w->tid)];

	for (; *pp; pp = &(*pp)->hnext) {
		if (*pp == w) {
			*pp = w->hnext;
			w->hnext = NULL;
			if (w->thread)
				w->thread->w_indexed = false;
			return;
		}
	}
}

void lpc_dom_index_self(struct lpc_domain *d, struct lpc_thread *t,
			struct lpc_port *p, pid_t tid, uint32_t msgid,
			uint8_t flags)
{
	t->w = (struct lpc_waiter){ .pid = lpc_sys_pid(),
				    .tid = tid,
				    .msgid = msgid,
				    .kind = LPC_W_REQUEST,
				    .flags = flags,
				    .port = p,
				    .thread = t,
				    .dinfo = t->sent,
				    .dinfo_len = t->sent_len };
	lpc_dom_add_waiter(d, &t->w);
	t->w_indexed = true;
}

void lpc_waiter_free(struct lpc_waiter *w)
{
	if (!w)
		return;
	if (w->link)
		lpc_link_unref(w->link);
	free(w->dinfo);
	free(w);
}

void lpc_dom_drop_link_waiters(struct lpc_domain *d, struct lpc_link *l)
{
	for (int i = 0; i < LPC_WHASH; i++) {
		struct lpc_waiter **pp = &d->whash[i];

		while (*pp) {
			struct lpc_waiter *w = *pp;

			if (w->link == l) {
				*pp = w->hnext;
				lpc_waiter_free(w);
			} else {
				pp = &w->hnext;
			}
		}
	}
}

/* ------------------------------------------------------------------ */
/* Waiting                                                             */
/* ------------------------------------------------------------------ */

static bool ready(struct lpc_domain *d, struct lpc_thread *t)
{
	struct lpc_pkt *p;

	if (t->wkind != LPC_TW_RECEIVE)
		return t->wdone;
	if (d->dead)
		return true;
	if (!t->listen_only)
		return d->qhead != NULL;
	for (p = d->qhead; p; p = p->next)
		if (is_conn_request(p))
			return true;
	return false;
}

LPC_NOCOV static bool deadline_passed(const struct timespec *dl)
{
	struct timespec now;

	if (!dl)
		return false;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > dl->tv_sec ||
	       (now.tv_sec == dl->tv_sec && now.tv_nsec >= dl->tv_nsec);
}

/* Let one sleeping thread re-check its condition (and drive, if nobody
 * does).  A registered thread that is busy will look for itself. */
LPC_NOCOV static void wake_one(struct lpc_domain *d,
			       struct lpc_thread *skip)
{
	struct lpc_thread *t;

	for (t = d->waiting; t; t = t->wnext) {
		if (t != skip && t->sleeping && !t->kicked) {
			t->kicked = true;
			pthread_cond_signal(&t->cond);
			return;
		}
	}
}

void lpc_dom_wait_begin(struct lpc_domain *d, struct lpc_thread *t, int kind,
			struct lpc_link *l, pid_t tid, uint32_t msgid)
{
	LPC_PROBE(lpc, wait_begin, d, kind, msgid, tid);
	lpc_dbg_wait_begin(t, d, kind, msgid);
	t->wkind = (uint8_t)kind;
	t->wlink = l;
	t->wtid = tid;
	t->wmsgid = msgid;
	t->wdone = false;
	t->wstatus = 0;
	t->wret = 0;
	t->wpkt = NULL;
	t->wnext = d->waiting;
	if (d->waiting)
		d->waiting->wpprev = &t->wnext;
	t->wpprev = &d->waiting;
	d->waiting = t;
	/* A peer already gone will never answer. */
	if (l && l->hung_up) {
		t->wdone = true;
		t->wstatus = kind == LPC_TW_CONNECT ? -LPC_EREFUSED
						    : -LPC_EREPLYLOST;
	}
}

/* Hand the driver role on: someone still waiting must drive.  Whether
 * somebody drives right now is the scheduler's doing (LPC_NOCOV). */
LPC_NOCOV static void hand_off(struct lpc_domain *d)
{
	if (!d->driving)
		wake_one(d, NULL);
}

void lpc_dom_wait_end(struct lpc_domain *d, struct lpc_thread *t)
{
	/* done 0: the wait itself failed (a timeout, the transport);
	 * error is then why, else the outcome it was answered with. */
	LPC_PROBE(lpc, wait_end, d, t->wkind, t->wmsgid, (long)(t->wret == 0),
		  (long)(t->wret ? t->wret : t->wstatus));
	lpc_dbg_wait_end(t);
	*t->wpprev = t->wnext;
	if (t->wnext)
		t->wnext->wpprev = t->wpprev;
	t->wnext = NULL;
	t->wpprev = NULL;
	t->wkind = LPC_TW_NONE;
	t->wlink = NULL;
	while (t->wpkt) {
		struct lpc_pkt *p = t->wpkt;

		t->wpkt = p->next;
		lpc_pkt_free(p);
	}
	hand_off(d);
}

void lpc_psend_flush(struct lpc_thread *t)
{
	struct lpc_link *l = t->psend.link;

	if (!t->psend.active)
		return;
	t->psend.active = false;
	t->psend.link = NULL;
	lpc_link_send(l, &t->psend.w, t->psend.iov[1].iov_base,
		      (uint32_t)t->psend.iov[1].iov_len, NULL, 0, -1);
	lpc_link_unref(l);
}

LPC_NOCOV static int dom_wait(struct lpc_domain *d, struct lpc_thread *t,
			      const struct timespec *deadline)
{
	bool drove = false;
	int more = 0;

	for (;;) {
		/* A pending reply goes out now unless this thread is about
		 * to drive a backend that submits it with the wait. */
		if (t->psend.active &&
		    (!d->be || !d->be->sends || d->driving || ready(d, t)))
			lpc_psend_flush(t);
		if (ready(d, t))
			return 0;
		/* Even a zero timeout looks at the transport once: that is
		 * what polling a port means. */
		if (deadline_passed(deadline) && (drove || !d->be || d->driving))
			return -ETIMEDOUT;
		if (d->be && !d->driving) {
			int dr;

			drove = true;
			d->driving = true;
			d->driver = t;
			lpc_dom_unlock(d);
			dr = d->be->drive(d, deadline);
			lpc_dom_lock(d);
			d->driving = false;
			d->driver = NULL;
			if (dr < 0 && dr != -ETIMEDOUT && dr != -EINTR &&
			    dr != -EAGAIN) {
				/* The transport itself failed: nothing can
				 * arrive any more; do not spin. */
				wake_one(d, t);
				return dr;
			}
			/* A drive that took something is followed by
			 * another before a passed deadline counts: a poll
			 * sees every packet already sent, and the client
			 * backend reads one per drive, so a message queued
			 * behind notices read as STATUS_TIMEOUT (regression
			 * poll-reads-past-notices).  Bounded: a transport
			 * that always reports progress cannot spin. */
			if (dr == 0 && more < 256) {
				more++;
				drove = false;
			}
			if (!ready(d, t))
				wake_one(d, t);
			continue;
		}
		t->sleeping = true;
		if (deadline)
			pthread_cond_timedwait(&t->cond, &d->lock, deadline);
		else
			pthread_cond_wait(&t->cond, &d->lock);
		t->sleeping = false;
		t->kicked = false;
	}
}

int lpc_dom_wait(struct lpc_domain *d, struct lpc_thread *t,
		 const struct timespec *deadline)
{
	/* Kept for lpc:wait_end: the wait failing (a timeout) is not the
	 * awaited operation failing (wstatus). */
	t->wret = dom_wait(d, t, deadline);
	return t->wret;
}

void lpc_dom_catch_up(struct lpc_domain *d, struct lpc_thread *t)
{
	struct timespec now;
	int kind = t->wkind;

	if (!d->be || d->driving || !d->qhead || !d->qhead->local)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	/* A zero-timeout wait for anything: it drives once and returns. */
	t->wkind = LPC_TW_NONE;
	t->wdone = false;
	d->driving = true;
	d->driver = t;
	lpc_dom_unlock(d);
	d->be->drive(d, &now);
	lpc_dom_lock(d);
	d->driving = false;
	d->driver = NULL;
	t->wkind = (uint8_t)kind;
	wake_one(d, t);
}

void lpc_dom_complete(struct lpc_domain *d, struct lpc_thread *t, int status,
		      struct lpc_pkt *p)
{
	if (t->wdone) {
		/* A connection may see ACCEPT then COMPLETE before the
		 * thread runs: keep them in order.  Any other wait has
		 * exactly one outcome. */
		if (p && t->wkind == LPC_TW_CONNECT && t->wpkt && !status) {
			struct lpc_pkt **pp = &t->wpkt;

			while (*pp)
				pp = &(*pp)->next;
			p->next = NULL;
			*pp = p;
		} else {
			lpc_pkt_free(p);
		}
		return;
	}
	t->wdone = true;
	t->wstatus = status;
	t->wpkt = p;
	if (t == d->driver) {
		/* The driver finds out when it returns from the transport;
		 * only another thread has to interrupt it. */
		if (!lpc_is_self(t) && d->be && d->be->wake)
			d->be->wake(d);
	} else {
		pthread_cond_signal(&t->cond);
	}
}

struct lpc_thread *lpc_dom_find_thread(struct lpc_domain *d, int kind,
				       struct lpc_link *l, pid_t tid,
				       uint32_t msgid)
{
	struct lpc_thread *t;

	for (t = d->waiting; t; t = t->wnext)
		if (t->wkind == kind && (!t->wdone || kind == LPC_TW_CONNECT) &&
		    t->wlink == l && t->wtid == tid && t->wmsgid == msgid)
			return t;
	return NULL;
}

void lpc_dom_fail_waits(struct lpc_domain *d, struct lpc_link *l, int status)
{
	struct lpc_thread *t;

	for (t = d->waiting; t; t = t->wnext) {
		if (t->wkind == LPC_TW_RECEIVE || t->wdone)
			continue;
		if (l && t->wlink != l)
			continue;
		lpc_dom_complete(d, t, status, NULL);
	}
}

void lpc_dom_kick(struct lpc_domain *d, bool conn_request)
{
	struct lpc_thread *t;
	bool taken = false;

	/* A receiver asleep on its condition variable: wake the first not
	 * already woken for an earlier message (each message needs its own
	 * receiver; a second signal to the same sleeper would be lost) and
	 * able to take it: NtListenPort takes connection requests only
	 * (regression lost-wakeup-listener-kicked).  A thread in
	 * NtWaitForSingleObject takes nothing: every one of them is woken,
	 * besides the one receiver (regression lost-wakeup-object-waiters). */
	for (t = d->waiting; t; t = t->wnext) {
		if (t->wkind != LPC_TW_RECEIVE || !t->sleeping || t->kicked ||
		    (!conn_request && t->listen_only))
			continue;
		if (!t->peek_only) {
			if (taken)
				continue;
			taken = true;
		}
		t->kicked = true;
		pthread_cond_signal(&t->cond);
		/* The usual case, no object waiter: the receiver is enough. */
		if (taken && !d->npeek)
			break;
	}
	/* Otherwise the driver itself may be the receiver, blocked in the
	 * transport; an object waiter driving sees the message too. */
	if ((!taken || (d->driver && d->driver->peek_only)) && d->driving &&
	    !lpc_is_self(d->driver) && d->be && d->be->wake)
		d->be->wake(d);
}

/* ------------------------------------------------------------------ */
/* Links in a domain                                                   */
/* ------------------------------------------------------------------ */

void lpc_dom_add_link(struct lpc_domain *d, struct lpc_link *l)
{
	lpc_link_ref(l);
	l->next = d->links;
	if (d->links)
		d->links->pprev = &l->next;
	l->pprev = &d->links;
	d->links = l;
	l->in_list = true;
	if (d->wait_fd >= 0 && d->be && !d->be->ready_fd) {
		struct epoll_event ev = { .events = EPOLLIN };

		epoll_ctl(d->wait_fd, EPOLL_CTL_ADD, l->fd, &ev);
	}
}

void lpc_dom_remove_link(struct lpc_domain *d, struct lpc_link *l)
{
	if (!l->in_list)
		return;
	*l->pprev = l->next;
	if (l->next)
		l->next->pprev = l->pprev;
	l->in_list = false;
	if (d->wait_fd >= 0 && d->be && !d->be->ready_fd)
		epoll_ctl(d->wait_fd, EPOLL_CTL_DEL, l->fd, NULL);
	lpc_link_unref(l);
}
