/* SPDX-License-Identifier: MIT */
/*
 * process.c - process-wide state: first-use initialisation, the backend
 * choice, the registry of fds the engine owns, and fork().
 *
 * NT has no fork; Linux servers and tests fork.  A child must never drive
 * its parent's rings, queues or sockets: after fork it starts with an
 * empty handle table, no domains, and none of the parent's fds (so a
 * parent's death is still seen by its peers as a hangup).
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lpc_int.h"
#include "ns.h"
#include "sys.h"
#include "uaccess.h"

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static const struct lpc_backend *server_be;

static pthread_mutex_t fd_lock = PTHREAD_MUTEX_INITIALIZER;
static uint8_t *fd_owned;
static size_t fd_cap;

int lpc_fd_track(int fd)
{
	if (fd < 0)
		return fd;
	pthread_mutex_lock(&fd_lock);
	if ((size_t)fd >= fd_cap) {
		size_t ncap = fd_cap ? fd_cap : 256;
		uint8_t *n;

		while (ncap <= (size_t)fd)
			ncap *= 2;
		n = realloc(fd_owned, ncap);
		if (n) {
			memset(n + fd_cap, 0, ncap - fd_cap);
			fd_owned = n;
			fd_cap = ncap;
		}
	}
	if ((size_t)fd < fd_cap)
		fd_owned[fd] = 1;
	pthread_mutex_unlock(&fd_lock);
	return fd;
}

void lpc_fd_untrack(int fd)
{
	if (fd < 0)
		return;
	pthread_mutex_lock(&fd_lock);
	if ((size_t)fd < fd_cap)
		fd_owned[fd] = 0;
	pthread_mutex_unlock(&fd_lock);
}

void lpc_fd_close(int fd)
{
	if (fd < 0)
		return;
	lpc_fd_untrack(fd);
	lpc_sys_close(fd);
}

static void atfork_prepare(void)
{
	pthread_mutex_lock(&lpc_glock);
	pthread_mutex_lock(&fd_lock);
}

static void atfork_parent(void)
{
	pthread_mutex_unlock(&fd_lock);
	pthread_mutex_unlock(&lpc_glock);
}

static void atfork_child(void)
{
	lpc_sys_pid_reset();
	pthread_mutex_init(&fd_lock, NULL);
	pthread_mutex_init(&lpc_glock, NULL);
	for (size_t fd = 0; fd < fd_cap; fd++) {
		if (fd_owned[fd]) {
			fd_owned[fd] = 0;
			lpc_sys_close((int)fd);
		}
	}
	/* The parent's domains, ports and waits are unreachable here. */
	lpc_domains = NULL;
	lpc_handles_atfork_child();
	lpc_threads_atfork_child();
	lpc_exception_atfork_child();
	lpc_ns_atfork_child();
	lpc_uaccess_atfork_child();
}

static void init(void)
{
	const char *env = getenv("LPC_BACKEND");

	pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
	if (env && !strcmp(env, "sync"))
		server_be = &lpc_backend_sync;
	else if (env && !strcmp(env, "uring"))
		server_be = &lpc_backend_uring;
	else
		server_be = lpc_uring_usable() ? &lpc_backend_uring
					       : &lpc_backend_sync;
}

void lpc_init(void)
{
	pthread_once(&init_once, init);
}

const struct lpc_backend *lpc_server_backend(void)
{
	lpc_init();
	return server_be;
}

const char *lpc_backend_name(void)
{
	return lpc_server_backend()->name;
}

/* NT timeouts: negative = relative, in 100 ns units; positive = absolute
 * system time since 1601; zero = poll. */
const struct timespec *lpc_deadline(const LARGE_INTEGER *timeout,
				    struct timespec *ts)
{
	struct timespec now;
	int64_t rel;

	if (!timeout)
		return NULL;
	if (timeout->QuadPart < 0) {
		rel = -timeout->QuadPart;
	} else {
		struct timespec real;
		int64_t abs_nt;

		clock_gettime(CLOCK_REALTIME, &real);
		abs_nt = (int64_t)real.tv_sec * 10000000 + real.tv_nsec / 100 +
			 116444736000000000LL;
		rel = timeout->QuadPart > abs_nt ? timeout->QuadPart - abs_nt
						 : 0;
	}
	clock_gettime(CLOCK_MONOTONIC, &now);
	ts->tv_sec = now.tv_sec + rel / 10000000;
	ts->tv_nsec = now.tv_nsec + (rel % 10000000) * 100;
	if (ts->tv_nsec >= 1000000000) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000;
	}
	return ts;
}

LPC_NOCOV int lpc_deadline_ms(const struct timespec *deadline)
{
	struct timespec now;
	int64_t ms;

	if (!deadline)
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (deadline->tv_sec - now.tv_sec) * 1000 +
	     (deadline->tv_nsec - now.tv_nsec + 999999) / 1000000;
	if (ms < 0)
		return 0;
	return ms > 0x7fffffff ? 0x7fffffff : (int)ms;
}
