/* SPDX-License-Identifier: MIT */
/*
 * backend_client.c - the client side of a connection: one socket, read
 * with a blocking recvmsg by whichever waiting thread drives.  On this
 * kind of machine a blocking send/recv pair beats io_uring for a single
 * conversation (shared/perf-notes.md; bench/ measures both), so the
 * client uses plain calls under either server backend.
 */
#include <errno.h>
#include <poll.h>

#include "lpc_int.h"
#include "sys.h"

LPC_NOCOV static int client_drive(struct lpc_domain *d,
				   const struct timespec *deadline)
{
	_Alignas(8) uint8_t buf[LPC_WIRE_MAX];
	struct lpc_link *l = d->links;
	int fd = -1, trunc = 0;
	ssize_t n;

	if (!l || l->hung_up)
		return 0;
	if (deadline) {
		int r = lpc_sys_poll1(l->fd, POLLIN, lpc_deadline_ms(deadline));

		if (r == 0)
			return -ETIMEDOUT;
		if (r < 0)
			return r == -EINTR ? -EINTR : r;
	}
	n = lpc_sys_recv(l->fd, buf, sizeof(buf), &fd, &trunc, 1);
	if (n == -EINTR || n == -EAGAIN)
		return (int)n;
	/* A peer that closed with our packets unread makes the kernel
	 * report ECONNRESET once, ahead of the packets it had sent before:
	 * read on, the end of the stream comes after them (regression
	 * client-died-lost-on-econnreset). */
	if (n == -ECONNRESET)
		return 0;
	lpc_dom_lock(d);
	if (n <= 0)
		lpc_link_hangup(l);
	else
		lpc_link_input(l, buf, (uint32_t)n, fd, trunc);
	lpc_dom_unlock(d);
	return 0;
}

static void client_wake(struct lpc_domain *d)
{
	/* Nothing local ever has to interrupt the client's recv: every
	 * event a client thread waits for arrives on the socket. */
	(void)d;
}

const struct lpc_backend lpc_backend_client = {
	.name = "client",
	.drive = client_drive,
	.wake = client_wake,
};
