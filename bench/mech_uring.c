/* SPDX-License-Identifier: MIT */
/*
 * mech_uring.c - a further reference: the 64 B SEQPACKET ping-pong driven
 * through io_uring, one io_uring_submit_and_wait per side per round trip
 * (the client submits send + recv, the server its reply + the next recv).
 * It shows where io_uring stands against blocking calls on this machine.
 */
#include <errno.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench.h"

#define RING_ENTRIES 8

enum { TAG_SEND = 1, TAG_RECV };

struct uring_client {
	int fd;
	bool ring_up;
	struct io_uring ring;
};

int bench_uring_usable(void)
{
	struct io_uring r;
	int e = io_uring_queue_init(2, &r, 0);

	if (e < 0)
		return e;
	io_uring_queue_exit(&r);
	return 0;
}

static void queue_send_recv(struct io_uring *ring, int fd,
			    const struct small_msg *out, struct small_msg *in)
{
	struct io_uring_sqe *sqe;

	/* RING_ENTRIES > 2 and everything is reaped before the next
	 * round trip, so get_sqe cannot fail here. */
	sqe = io_uring_get_sqe(ring);
	io_uring_prep_send(sqe, fd, out, sizeof(*out), MSG_NOSIGNAL);
	sqe->user_data = TAG_SEND;
	sqe = io_uring_get_sqe(ring);
	io_uring_prep_recv(sqe, fd, in, sizeof(*in), 0);
	sqe->user_data = TAG_RECV;
}

/* Collect the send and recv completions; 0 or -errno from the ring. */
static int reap_pair(struct io_uring *ring, int *sent, int *got)
{
	for (int i = 0; i < 2; i++) {
		struct io_uring_cqe *cqe;
		int r = io_uring_wait_cqe(ring, &cqe);

		if (r < 0)
			return r;
		if (cqe->user_data == TAG_SEND)
			*sent = cqe->res;
		else
			*got = cqe->res;
		io_uring_cqe_seen(ring, cqe);
	}
	return 0;
}

static int serve_uring(struct mech *m, int hello_fd)
{
	struct small_msg in, out;
	struct io_uring ring;
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	int fd = m->peer_fd[0], r, sent = sizeof(out), got;
	char why[96];

	r = io_uring_queue_init(RING_ENTRIES, &ring, 0);
	if (r < 0) {
		snprintf(why, sizeof(why), "io_uring_queue_init: %s",
			 strerror(-r));
		bench_hello(hello_fd, BENCH_SKIP, why);
		return 0;
	}
	bench_hello(hello_fd, 0, "");
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_recv(sqe, fd, &in, sizeof(in), 0);
	r = io_uring_submit_and_wait(&ring, 1);
	if (r >= 0)
		r = io_uring_wait_cqe(&ring, &cqe);
	if (r < 0)
		goto fail;
	got = cqe->res;
	io_uring_cqe_seen(&ring, cqe);
	for (;;) {
		if (got == 0)
			return 0; /* the client closed: done */
		if (got != (int)sizeof(in) || sent != (int)sizeof(out)) {
			r = got < 0 ? got : sent < 0 ? sent : -EPROTO;
			goto fail;
		}
		out = in;
		out.w[1]++;
		queue_send_recv(&ring, fd, &out, &in);
		r = io_uring_submit_and_wait(&ring, 2);
		if (r >= 0)
			r = reap_pair(&ring, &sent, &got);
		if (r < 0)
			goto fail;
	}
fail:
	fprintf(stderr, "lpcbench: server %s: %s\n", m->name, strerror(-r));
	return -1;
}

static int uring_spawn(struct mech *m)
{
	struct uring_client *c = calloc(1, sizeof(*c));
	int sv[2], r;

	if (!c) {
		snprintf(m->err, sizeof(m->err), "out of memory");
		return -1;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		snprintf(m->err, sizeof(m->err), "socketpair: %s",
			 strerror(errno));
		free(c);
		return -1;
	}
	c->fd = sv[0];
	m->priv = c;
	bench_private_fd(sv[0]);
	m->peer_fd[0] = sv[1];
	r = bench_spawn(m, serve_uring);
	close(sv[1]);
	m->peer_fd[0] = -1;
	return r;
}

static int uring_connect(struct mech *m)
{
	struct uring_client *c = m->priv;
	int r = io_uring_queue_init(RING_ENTRIES, &c->ring, 0);

	if (r < 0) {
		snprintf(m->err, sizeof(m->err), "io_uring_queue_init: %s",
			 strerror(-r));
		return BENCH_SKIP;
	}
	c->ring_up = true;
	return 0;
}

static int uring_run(struct mech *m, uint64_t iters)
{
	struct uring_client *c = m->priv;
	struct small_msg req = { { 0 } }, rep;
	int r, sent = 0, got = 0;

	for (uint64_t i = 0; i < iters; i++) {
		uint64_t seq = m->seq++;

		req.w[1] = seq;
		queue_send_recv(&c->ring, c->fd, &req, &rep);
		r = io_uring_submit_and_wait(&c->ring, 2);
		if (r >= 0)
			r = reap_pair(&c->ring, &sent, &got);
		if (r < 0) {
			snprintf(m->err, sizeof(m->err),
				 "io_uring_submit_and_wait: %s", strerror(-r));
			return -1;
		}
		if (sent != (int)sizeof(req) || got != (int)sizeof(rep)) {
			int e = sent < 0 ? sent : got;

			snprintf(m->err, sizeof(m->err), "%s: %s",
				 sent != (int)sizeof(req) ? "send" : "recv",
				 e < 0	   ? strerror(-e)
				 : e == 0 ? "EOF (server gone)"
					  : "short transfer");
			return -1;
		}
		if (rep.w[1] != seq + 1) {
			snprintf(m->err, sizeof(m->err),
				 "reply %llu to request %llu",
				 (unsigned long long)rep.w[1],
				 (unsigned long long)seq);
			return -1;
		}
	}
	return 0;
}

static void uring_close(struct mech *m)
{
	struct uring_client *c = m->priv;

	if (!c)
		return;
	if (c->ring_up)
		io_uring_queue_exit(&c->ring);
	bench_private_fd_drop(c->fd);
	close(c->fd);
	free(c);
	m->priv = NULL;
}

const struct mech_ops mech_uring_ops = {
	.spawn = uring_spawn,
	.connect = uring_connect,
	.run = uring_run,
	.close = uring_close,
};
