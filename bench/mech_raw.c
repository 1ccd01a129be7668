/* SPDX-License-Identifier: MIT */
/*
 * mech_raw.c - the baselines LPC is measured against: a blocking pipe
 * ping-pong (two pipes) and a blocking AF_UNIX SOCK_SEQPACKET ping-pong
 * (send + recv on each side), with 64 B and with 64 KiB each way.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench.h"

struct raw_client {
	int rfd, wfd;		/* the same socket, or two pipes */
	void *sbuf, *rbuf;	/* BENCH_BIG each, 64 KiB mechanism only */
};

/* The only place that reads errno: each returns a count or -errno. */
static ssize_t sys_read(int fd, void *buf, size_t n, bool sock)
{
	ssize_t r = sock ? recv(fd, buf, n, 0) : read(fd, buf, n);

	return r < 0 ? -errno : r;
}

static ssize_t sys_write(int fd, const void *buf, size_t n, bool sock)
{
	ssize_t r = sock ? send(fd, buf, n, MSG_NOSIGNAL) : write(fd, buf, n);

	return r < 0 ? -errno : r;
}

/* A pipe may hand out a message in pieces; a SEQPACKET never does. */
static ssize_t read_full(int fd, void *buf, size_t n, bool sock)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = sys_read(fd, (char *)buf + got, n - got, sock);

		if (r <= 0 || sock)
			return r;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

static int fail(struct mech *m, const char *what, ssize_t r, size_t want)
{
	if (r < 0)
		snprintf(m->err, sizeof(m->err), "%s: %s", what,
			 strerror((int)-r));
	else if (r == 0)
		snprintf(m->err, sizeof(m->err), "%s: EOF (server gone)", what);
	else
		snprintf(m->err, sizeof(m->err), "%s: %zd bytes, want %zu",
			 what, r, want);
	return -1;
}

/* ---- servers (in the child) ---- */

static int serve_small(struct mech *m, int hello_fd, bool sock)
{
	int in = m->peer_fd[0], out = sock ? in : m->peer_fd[1];
	struct small_msg msg;
	ssize_t r;

	bench_hello(hello_fd, 0, "");
	for (;;) {
		r = read_full(in, &msg, sizeof(msg), sock);
		if (r == 0)
			return 0; /* the client closed: done */
		if (r == -EINTR)
			continue;
		if (r != (ssize_t)sizeof(msg))
			goto fail;
		msg.w[1]++;
		r = sys_write(out, &msg, sizeof(msg), sock);
		if (r != (ssize_t)sizeof(msg))
			goto fail;
	}
fail:
	fprintf(stderr, "lpcbench: server %s: %s\n", m->name,
		r < 0 ? strerror((int)-r) : "short transfer");
	return -1;
}

static int serve_pipe(struct mech *m, int hello_fd)
{
	return serve_small(m, hello_fd, false);
}

static int serve_seqpacket(struct mech *m, int hello_fd)
{
	return serve_small(m, hello_fd, true);
}

static int serve_seqpacket_big(struct mech *m, int hello_fd)
{
	void *in = aligned_alloc(4096, BENCH_BIG);
	void *out = aligned_alloc(4096, BENCH_BIG);
	int fd = m->peer_fd[0];
	ssize_t r;

	if (!in || !out) {
		bench_hello(hello_fd, -1, "out of memory");
		return -1;
	}
	bench_hello(hello_fd, 0, "");
	for (;;) {
		r = sys_read(fd, in, BENCH_BIG, true);
		if (r == 0)
			return 0;
		if (r == -EINTR)
			continue;
		if (r != BENCH_BIG)
			goto fail;
		payload_fill(out, BENCH_BIG,
			     payload_answer_byte(payload_sum(in, BENCH_BIG)));
		r = sys_write(fd, out, BENCH_BIG, true);
		if (r != BENCH_BIG)
			goto fail;
	}
fail:
	fprintf(stderr, "lpcbench: server %s: %s\n", m->name,
		r < 0 ? strerror((int)-r) : "short transfer");
	return -1;
}

/* ---- client side ---- */

static int client_new(struct mech *m, int rfd, int wfd)
{
	struct raw_client *c = calloc(1, sizeof(*c));

	if (!c) {
		snprintf(m->err, sizeof(m->err), "out of memory");
		return -1;
	}
	c->rfd = rfd;
	c->wfd = wfd;
	m->priv = c;
	bench_private_fd(rfd);
	if (wfd != rfd)
		bench_private_fd(wfd);
	return 0;
}

static void raw_close(struct mech *m)
{
	struct raw_client *c = m->priv;

	if (!c)
		return;
	bench_private_fd_drop(c->rfd);
	close(c->rfd);
	if (c->wfd != c->rfd) {
		bench_private_fd_drop(c->wfd);
		close(c->wfd);
	}
	free(c->sbuf);
	free(c->rbuf);
	free(c);
	m->priv = NULL;
}

static void close_peer(struct mech *m)
{
	for (int i = 0; i < 2; i++) {
		if (m->peer_fd[i] >= 0)
			close(m->peer_fd[i]);
		m->peer_fd[i] = -1;
	}
}

static int pipe_spawn(struct mech *m)
{
	int req[2], rep[2], r;

	if (pipe2(req, O_CLOEXEC) < 0) {
		snprintf(m->err, sizeof(m->err), "pipe2: %s", strerror(errno));
		return -1;
	}
	if (pipe2(rep, O_CLOEXEC) < 0) {
		snprintf(m->err, sizeof(m->err), "pipe2: %s", strerror(errno));
		close(req[0]);
		close(req[1]);
		return -1;
	}
	m->peer_fd[0] = req[0];
	m->peer_fd[1] = rep[1];
	if (client_new(m, rep[0], req[1])) {
		close(rep[0]);
		close(req[1]);
		close_peer(m);
		return -1;
	}
	r = bench_spawn(m, serve_pipe);
	close_peer(m);
	return r;
}

static int set_bufs(struct mech *m, int fd)
{
	int sz = 4 * BENCH_BIG, got = 0;
	socklen_t len = sizeof(got);

	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz)) < 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &got, &len) < 0) {
		snprintf(m->err, sizeof(m->err), "SO_SNDBUF/SO_RCVBUF: %s",
			 strerror(errno));
		return -1;
	}
	/* One packet must fit the send buffer, skb overhead included. */
	if (got < BENCH_BIG + 8192) {
		snprintf(m->err, sizeof(m->err),
			 "SO_SNDBUF is %d bytes, too small for %d-byte packets "
			 "(raise net.core.wmem_max)",
			 got, BENCH_BIG);
		return -1;
	}
	return 0;
}

static int seqpacket_spawn_common(struct mech *m, bool big,
				  int (*serve)(struct mech *m, int hello_fd))
{
	int sv[2], r;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		snprintf(m->err, sizeof(m->err), "socketpair: %s",
			 strerror(errno));
		return -1;
	}
	if (big && (set_bufs(m, sv[0]) || set_bufs(m, sv[1]))) {
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	m->peer_fd[0] = sv[1];
	m->peer_fd[1] = -1;
	if (client_new(m, sv[0], sv[0])) {
		close(sv[0]);
		close_peer(m);
		return -1;
	}
	r = bench_spawn(m, serve);
	close_peer(m);
	return r;
}

static int seqpacket_spawn(struct mech *m)
{
	return seqpacket_spawn_common(m, false, serve_seqpacket);
}

static int seqpacket_big_spawn(struct mech *m)
{
	return seqpacket_spawn_common(m, true, serve_seqpacket_big);
}

static int raw_connect(struct mech *m)
{
	(void)m;
	return 0;
}

static int seqpacket_big_connect(struct mech *m)
{
	struct raw_client *c = m->priv;

	c->sbuf = aligned_alloc(4096, BENCH_BIG);
	c->rbuf = aligned_alloc(4096, BENCH_BIG);
	if (!c->sbuf || !c->rbuf) {
		snprintf(m->err, sizeof(m->err), "out of memory");
		return -1;
	}
	return 0;
}

static int run_small(struct mech *m, uint64_t iters, bool sock)
{
	struct raw_client *c = m->priv;
	struct small_msg req = { { 0 } }, rep;
	ssize_t r;

	for (uint64_t i = 0; i < iters; i++) {
		uint64_t seq = m->seq++;

		req.w[1] = seq;
		r = sys_write(c->wfd, &req, sizeof(req), sock);
		if (r != (ssize_t)sizeof(req))
			return fail(m, sock ? "send" : "write", r, sizeof(req));
		r = read_full(c->rfd, &rep, sizeof(rep), sock);
		if (r != (ssize_t)sizeof(rep))
			return fail(m, sock ? "recv" : "read", r, sizeof(rep));
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

static int pipe_run(struct mech *m, uint64_t iters)
{
	return run_small(m, iters, false);
}

static int seqpacket_run(struct mech *m, uint64_t iters)
{
	return run_small(m, iters, true);
}

static int seqpacket_big_run(struct mech *m, uint64_t iters)
{
	struct raw_client *c = m->priv;
	ssize_t r;

	for (uint64_t i = 0; i < iters; i++) {
		uint8_t b = payload_request_byte(m->seq++);
		uint64_t want = payload_expected_sum(
			BENCH_BIG,
			payload_answer_byte(payload_expected_sum(BENCH_BIG, b)));
		uint64_t got;

		payload_fill(c->sbuf, BENCH_BIG, b);
		r = sys_write(c->wfd, c->sbuf, BENCH_BIG, true);
		if (r != BENCH_BIG)
			return fail(m, "send", r, BENCH_BIG);
		r = sys_read(c->rfd, c->rbuf, BENCH_BIG, true);
		if (r != BENCH_BIG)
			return fail(m, "recv", r, BENCH_BIG);
		got = payload_sum(c->rbuf, BENCH_BIG);
		if (got != want) {
			snprintf(m->err, sizeof(m->err),
				 "reply checksum %#llx, want %#llx",
				 (unsigned long long)got,
				 (unsigned long long)want);
			return -1;
		}
	}
	return 0;
}

const struct mech_ops mech_pipe_ops = {
	.spawn = pipe_spawn,
	.connect = raw_connect,
	.run = pipe_run,
	.close = raw_close,
};

const struct mech_ops mech_seqpacket_ops = {
	.spawn = seqpacket_spawn,
	.connect = raw_connect,
	.run = seqpacket_run,
	.close = raw_close,
};

const struct mech_ops mech_seqpacket_big_ops = {
	.spawn = seqpacket_big_spawn,
	.connect = seqpacket_big_connect,
	.run = seqpacket_big_run,
	.close = raw_close,
};
