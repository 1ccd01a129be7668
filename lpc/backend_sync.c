/* SPDX-License-Identifier: MIT */
/*
 * backend_sync.c - the server transport without io_uring: poll() over the
 * wakeup eventfd, the listening socket and every client socket, then
 * non-blocking accept and recvmsg.  Used where io_uring is unavailable
 * (containers often block it) or with LPC_BACKEND=sync.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lpc_int.h"
#include "sys.h"

/* Packets read from one socket per wakeup.  One: reading on until
 * EAGAIN would cost a failing recvmsg per message in the common case,
 * and a socket with more queued polls readable again at once. */
#define SYNC_BATCH 1

/* The poll set, kept between drives: only the driver touches it. */
struct sync_state {
	struct pollfd *pfd;
	struct lpc_link **lk;
	size_t cap;
};

static int sync_init(struct lpc_domain *d)
{
	struct sync_state *s = calloc(1, sizeof(*s));
	int fd;

	if (!s)
		return -ENOMEM;
	fd = lpc_sys_eventfd();
	if (fd < 0) {
		free(s);
		return fd;
	}
	d->wake_fd = lpc_fd_track(fd);
	d->be_state = s;
	return 0;
}

static void sync_fini(struct lpc_domain *d)
{
	struct sync_state *s = d->be_state;

	if (!s)
		return;
	free(s->pfd);
	free(s->lk);
	free(s);
	d->be_state = NULL;
}

static int grow(struct sync_state *s, size_t need)
{
	struct pollfd *pfd;
	struct lpc_link **lk;

	if (need <= s->cap)
		return 0;
	pfd = realloc(s->pfd, need * sizeof(*pfd));
	if (!pfd)
		return -ENOMEM;
	s->pfd = pfd;
	lk = realloc(s->lk, need * sizeof(*lk));
	if (!lk)
		return -ENOMEM;
	s->lk = lk;
	s->cap = need;
	return 0;
}

static void accept_all(struct lpc_domain *d, int lfd)
{
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

		if (fd < 0)
			return;
		lpc_link_accept(d, fd);
	}
}

static void read_link(struct lpc_link *l)
{
	_Alignas(8) static __thread uint8_t buf[LPC_WIRE_MAX];

	for (int i = 0; i < SYNC_BATCH && !l->hung_up; i++) {
		int fd = -1, trunc = 0;
		ssize_t n = lpc_sys_recv(l->fd, buf, sizeof(buf), &fd, &trunc,
					 0);

		if (n == -EAGAIN || n == -EINTR)
			return;
		/* Reported once, ahead of what the peer sent before it
		 * closed (see backend_client.c). */
		if (n == -ECONNRESET)
			continue;
		if (n <= 0) {
			lpc_link_hangup(l);
			return;
		}
		lpc_link_input(l, buf, (uint32_t)n, fd, trunc);
	}
}

LPC_NOCOV static int sync_drive(struct lpc_domain *d,
				 const struct timespec *deadline)
{
	struct sync_state *s = d->be_state;
	struct pollfd *pfd;
	struct lpc_link **lk, *l;
	size_t n = 0, cap = 2, i;
	int lfd, r;

	lpc_dom_lock(d);
	for (l = d->links; l; l = l->next)
		cap++;
	if (grow(s, cap)) {
		lpc_dom_unlock(d);
		return -ENOMEM;
	}
	pfd = s->pfd;
	lk = s->lk;
	pfd[n].fd = d->wake_fd;
	pfd[n++].events = POLLIN;
	lfd = d->listen_fd;
	pfd[n].fd = lfd;
	pfd[n++].events = POLLIN;
	for (l = d->links; l; l = l->next) {
		/* A throttled peer is left in its socket until the queue
		 * has room for it again. */
		if (l->hung_up || l->throttled)
			continue;
		lpc_link_ref(l);
		lk[n] = l;
		pfd[n].fd = l->fd;
		pfd[n++].events = POLLIN;
	}
	lpc_dom_unlock(d);

	r = poll(pfd, n, lpc_deadline_ms(deadline));
	if (r < 0)
		r = -errno;

	lpc_dom_lock(d);
	if (r > 0) {
		if (pfd[0].revents)
			lpc_sys_eventfd_drain(d->wake_fd);
		/* The listening socket may have been closed meanwhile. */
		if (pfd[1].revents && lfd >= 0 && lfd == d->listen_fd)
			accept_all(d, lfd);
		for (i = 2; i < n; i++)
			if (pfd[i].revents && !lk[i]->hung_up)
				read_link(lk[i]);
	}
	lpc_dom_unlock(d);
	for (i = 2; i < n; i++)
		lpc_link_unref(lk[i]);
	if (r == 0)
		return -ETIMEDOUT;
	return r < 0 ? r : 0;
}

static void sync_wake(struct lpc_domain *d)
{
	lpc_sys_eventfd_signal(d->wake_fd);
}

const struct lpc_backend lpc_backend_sync = {
	.name = "sync",
	.init = sync_init,
	.fini = sync_fini,
	.drive = sync_drive,
	.wake = sync_wake,
};
