/* SPDX-License-Identifier: MIT */
/*
 * child.c - the server processes (forked, or forked and exec'd like
 * csrd): fork, readiness handshake, CPU placement, and making sure every
 * one of them is killed and reaped on every exit path.  A dead server must never leave the client blocked:
 * its sockets then read EOF and LPC returns STATUS_LPC_REPLY_LOST, so
 * signals and the watchdog work by killing the servers.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#define HELLO_TIMEOUT_MS	10000
#define FINISH_TIMEOUT_MS	3000

enum bench_pin bench_pin = BENCH_PIN_NONE;
volatile sig_atomic_t bench_signal;

struct child {
	volatile pid_t pid;	/* 0 once reaped */
	char name[64];
	bool killed;		/* by us: its death is no failure */
	bool stopped;		/* asked to exit with SIGTERM (an exec'd server) */
};

static struct child kids[BENCH_MAX_MECHS];
static int nkids;
static int private_fds[4 * BENCH_MAX_MECHS];
static int nprivate;

struct hello {
	int32_t status;
	char info[124];
};

int bench_pin_self(bool server, char *err, size_t errlen)
{
	cpu_set_t set;
	int cpu;

	if (bench_pin == BENCH_PIN_NONE)
		return 0;
	cpu = bench_pin == BENCH_PIN_CROSS && server ? 1 : 0;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) < 0) {
		snprintf(err, errlen, "sched_setaffinity(CPU %d): %s", cpu,
			 strerror(errno));
		return -1;
	}
	return 0;
}

void bench_private_fd(int fd)
{
	if (nprivate < (int)(sizeof(private_fds) / sizeof(private_fds[0])))
		private_fds[nprivate++] = fd;
}

void bench_private_fd_drop(int fd)
{
	for (int i = 0; i < nprivate; i++) {
		if (private_fds[i] == fd) {
			private_fds[i] = private_fds[--nprivate];
			return;
		}
	}
}

void bench_hello(int hello_fd, int status, const char *info)
{
	struct hello h = { .status = status };
	ssize_t n;

	snprintf(h.info, sizeof(h.info), "%s", info ? info : "");
	/* Smaller than PIPE_BUF: one atomic write. */
	do {
		n = write(hello_fd, &h, sizeof(h));
	} while (n < 0 && errno == EINTR);
	close(hello_fd);
}

/* In a new child: drop everything that belongs to the client side. */
static void child_init(pid_t parent)
{
	struct sigaction sa = { .sa_handler = SIG_DFL };

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGALRM, &sa, NULL);
	alarm(0);
	/* The siblings are not ours to kill. */
	nkids = 0;
	for (int i = 0; i < nprivate; i++)
		close(private_fds[i]);
	nprivate = 0;
	/* Die with the client, even if it is SIGKILLed. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(1);
}

static void child_status_text(int st, char *buf, size_t len)
{
	if (WIFSIGNALED(st))
		snprintf(buf, len, "killed by signal %d (%s)", WTERMSIG(st),
			 strsignal(WTERMSIG(st)));
	else
		snprintf(buf, len, "exited with status %d", WEXITSTATUS(st));
}

static int reap(struct child *k, int *st)
{
	pid_t r;

	do {
		r = waitpid(k->pid, st, 0);
	} while (r < 0 && errno == EINTR);
	k->pid = 0;
	return r < 0 ? -1 : 0;
}

static void kill_one(struct child *k)
{
	int st;

	if (!k->pid)
		return;
	k->killed = true;
	kill(k->pid, SIGKILL);
	reap(k, &st);
}

/* Wait for the hello; the child's exit (EOF) or a timeout is a failure. */
static int read_hello(struct mech *m, struct child *k, int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	struct hello h;
	ssize_t n;
	int r, st;

	do {
		r = poll(&p, 1, HELLO_TIMEOUT_MS);
	} while (r < 0 && errno == EINTR && !bench_signal);
	if (r == 0) {
		snprintf(m->err, sizeof(m->err),
			 "server not ready after %d s", HELLO_TIMEOUT_MS / 1000);
		kill_one(k);
		return -1;
	}
	if (r < 0) {
		snprintf(m->err, sizeof(m->err), "poll: %s", strerror(errno));
		kill_one(k);
		return -1;
	}
	do {
		n = read(fd, &h, sizeof(h));
	} while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(h)) {
		char why[64];

		kill(k->pid, SIGKILL);
		reap(k, &st);
		child_status_text(st, why, sizeof(why));
		snprintf(m->err, sizeof(m->err),
			 "server died during setup (%s)", why);
		return -1;
	}
	h.info[sizeof(h.info) - 1] = 0;
	if (h.status == 0) {
		snprintf(m->server_info, sizeof(m->server_info), "%.15s",
			 h.info);
		return 0;
	}
	snprintf(m->err, sizeof(m->err), "%s", h.info);
	/* A server that skips or fails exits by itself. */
	reap(k, &st);
	return h.status == BENCH_SKIP ? BENCH_SKIP : -1;
}

/* Fork a server child: 0 in the child (initialised, pinned, hp[0]
 * closed), its pid in the parent (hp[1] closed), or -1 with m->err. */
static pid_t fork_server(struct mech *m, int hp[2])
{
	pid_t parent = getpid(), pid;

	if (nkids == BENCH_MAX_MECHS) {
		snprintf(m->err, sizeof(m->err), "too many servers");
		return -1;
	}
	if (pipe2(hp, O_CLOEXEC) < 0) {
		snprintf(m->err, sizeof(m->err), "pipe2: %s", strerror(errno));
		return -1;
	}
	/* Nothing buffered may be flushed twice. */
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		snprintf(m->err, sizeof(m->err), "fork: %s", strerror(errno));
		close(hp[0]);
		close(hp[1]);
		return -1;
	}
	if (pid == 0) {
		char err[128];

		close(hp[0]);
		/* PR_SET_PDEATHSIG and the affinity survive an exec. */
		child_init(parent);
		if (bench_pin_self(true, err, sizeof(err))) {
			bench_hello(hp[1], -1, err);
			_exit(1);
		}
		return 0;
	}
	close(hp[1]);
	return pid;
}

int bench_spawn(struct mech *m, int (*serve)(struct mech *m, int hello_fd))
{
	struct child *k;
	char payload[24];
	int hp[2], r;
	pid_t pid = fork_server(m, hp);

	if (pid < 0)
		return -1;
	if (pid == 0)
		_exit(serve(m, hp[1]) ? 1 : 0);
	k = &kids[nkids++];
	snprintf(k->name, sizeof(k->name), "%s [%s%s%s]", m->name,
		 report_payload(m, payload, sizeof(payload)),
		 m->backend ? ", " : "", m->backend ? m->backend : "");
	k->killed = false;
	k->pid = pid;
	r = read_hello(m, k, hp[0]);
	close(hp[0]);
	return r;
}

static void on_signal(int sig)
{
	bench_signal = sig;
	/* kill() is async-signal-safe; the reaping happens on the way out. */
	for (int i = 0; i < nkids; i++) {
		pid_t pid = kids[i].pid;

		if (pid > 0) {
			kids[i].killed = true;
			kill(pid, SIGKILL);
		}
	}
}

int bench_signals_install(void)
{
	/* No SA_RESTART: a blocked call returns EINTR and the run unwinds. */
	struct sigaction sa = { .sa_handler = on_signal };
	struct sigaction ign = { .sa_handler = SIG_IGN };
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGALRM };

	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (sigaction(sigs[i], &sa, NULL) < 0)
			return -1;
	/* A server's death shows as EPIPE/EOF, never as a fatal signal. */
	return sigaction(SIGPIPE, &ign, NULL);
}

void bench_watchdog(unsigned seconds)
{
	alarm(seconds);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reap k if it has exited; true (and reported) if it failed by itself. */
static bool reaped_on_its_own(struct child *k)
{
	char why[64];
	pid_t r;
	int st;

	do {
		r = waitpid(k->pid, &st, WNOHANG);
	} while (r < 0 && errno == EINTR);
	if (r != k->pid)
		return false;
	k->pid = 0;
	if (k->killed || (WIFEXITED(st) && WEXITSTATUS(st) == 0))
		return false;
	child_status_text(st, why, sizeof(why));
	fprintf(stderr, "lpcbench: server %s (pid %d) %s\n", k->name, (int)r,
		why);
	return true;
}

int bench_children_finish(bool graceful)
{
	int64_t deadline = now_ms() + (graceful ? FINISH_TIMEOUT_MS : 50);
	int ret = 0, alive;

	alarm(0);
	/*
	 * Gracefully, every server has seen EOF (or SIGTERM, for an exec'd
	 * one) and is on its way out.
	 * Otherwise a short grace period still catches a server that died
	 * by itself, which is most likely why the run failed.
	 */
	do {
		alive = 0;
		for (int i = 0; i < nkids; i++) {
			if (!kids[i].pid)
				continue;
			if (reaped_on_its_own(&kids[i]))
				ret = -1;
			else if (kids[i].pid)
				alive++;
		}
		if (alive)
			usleep(1000);
	} while (alive && now_ms() < deadline);

	for (int i = 0; i < nkids; i++) {
		struct child *k = &kids[i];

		if (!k->pid)
			continue;
		if (graceful) {
			fprintf(stderr,
				"lpcbench: server %s (pid %d) did not exit "
				"after %s; killing it\n",
				k->name, (int)k->pid,
				k->stopped ? "SIGTERM" : "EOF");
			ret = -1;
		}
		kill_one(k);
	}
	return ret;
}

/*
 * An exec'd server cannot say hello: it is ready once ready_path (the
 * socket of the port it creates) exists.  The pipe carries only a failure
 * before or at exec; EOF on it without one means the exec succeeded.
 * Every way out is bounded: the server's exit, a signal, a timeout.
 */
static int wait_ready(struct mech *m, struct child *k, int fd,
		      const char *ready_path)
{
	int64_t deadline = now_ms() + HELLO_TIMEOUT_MS;
	bool execd = false;
	struct hello h;
	struct stat st;
	char why[64];
	ssize_t n;
	pid_t r;
	int wst;

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		if (!execd && poll(&p, 1, 1) > 0) {
			n = read(fd, &h, sizeof(h));
			if (n == 0)
				execd = true;
			else if (n == (ssize_t)sizeof(h))
				break; /* it failed and is exiting */
		} else if (execd) {
			usleep(1000);
		}
		if (execd && stat(ready_path, &st) == 0 && S_ISSOCK(st.st_mode))
			return 0;
		do {
			r = waitpid(k->pid, &wst, WNOHANG);
		} while (r < 0 && errno == EINTR);
		if (r == k->pid) {
			k->pid = 0;
			/* Written before it exited, if at all. */
			if (!execd && read(fd, &h, sizeof(h)) ==
					      (ssize_t)sizeof(h))
				break;
			child_status_text(wst, why, sizeof(why));
			snprintf(m->err, sizeof(m->err),
				 "%s exited during setup (%s)", k->name, why);
			return -1;
		}
		if (bench_signal) {
			snprintf(m->err, sizeof(m->err), "interrupted");
			kill_one(k);
			return -1;
		}
		if (now_ms() >= deadline) {
			snprintf(m->err, sizeof(m->err),
				 "no %s after %d s", ready_path,
				 HELLO_TIMEOUT_MS / 1000);
			kill_one(k);
			return -1;
		}
	}
	h.info[sizeof(h.info) - 1] = 0;
	snprintf(m->err, sizeof(m->err), "%s", h.info);
	if (k->pid)
		reap(k, &wst);
	return -1;
}

pid_t bench_spawn_exec(struct mech *m, char *const argv[],
		       const char *ready_path)
{
	struct child *k;
	int hp[2], r;
	pid_t pid = fork_server(m, hp);

	if (pid < 0)
		return -1;
	if (pid == 0) {
		char err[128];

		if (m->backend)
			setenv("LPC_BACKEND", m->backend, 1);
		execv(argv[0], argv);
		snprintf(err, sizeof(err), "exec %s: %s", argv[0],
			 strerror(errno));
		bench_hello(hp[1], -1, err);
		_exit(127);
	}
	k = &kids[nkids++];
	snprintf(k->name, sizeof(k->name), "%s", strrchr(argv[0], '/') ?
		 strrchr(argv[0], '/') + 1 : argv[0]);
	k->killed = false;
	k->stopped = false;
	k->pid = pid;
	r = wait_ready(m, k, hp[0], ready_path);
	close(hp[0]);
	return r ? -1 : pid;
}

void bench_child_stop(pid_t pid)
{
	for (int i = 0; i < nkids; i++) {
		if (pid > 0 && kids[i].pid == pid) {
			kids[i].stopped = true;
			kill(pid, SIGTERM);
		}
	}
}
