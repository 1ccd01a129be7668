/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <sys/uio.h>
#include <unistd.h>

#include "lpc_int.h"
#include "sys.h"
#include "uaccess.h"

/*
 * Copies through the kernel, so that a bad caller pointer is EFAULT and
 * never a fault in the engine (design.md, "Surface").  Two mechanisms:
 *
 *  - a per-thread pipe: writev() the sources in, readv() them out to the
 *    destinations.  A fault stops either call short; the pipe is then
 *    drained.  About 1.0 us for the hot-path shape here, against 2.0 us
 *    for the same through process_vm_writev (docs/decisions.md);
 *  - process_vm_writev on our own pid, when the pipe is unavailable or the
 *    copy is larger than the pipe.
 */
#define BOUNCE_MAX 32768

static __thread int bounce[2] = { -1, -1 };

static bool bounce_ready(void)
{
	int p[2];

	if (bounce[0] >= 0)
		return true;
	/* The thread's LPC state closes the pipe when the thread exits. */
	if (!lpc_self() || pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0)
		return false;
	bounce[0] = lpc_fd_track(p[0]);
	bounce[1] = lpc_fd_track(p[1]);
	return true;
}

void lpc_uaccess_thread_exit(void)
{
	lpc_fd_close(bounce[0]);
	lpc_fd_close(bounce[1]);
	bounce[0] = bounce[1] = -1;
}

void lpc_uaccess_atfork_child(void)
{
	/* The fd registry closed them in the child. */
	bounce[0] = bounce[1] = -1;
}

static void drain(void)
{
	char junk[4096];

	while (read(bounce[0], junk, sizeof(junk)) > 0)
		;
}

/* Copy through the pipe: returns bytes that reached their destinations
 * (a prefix, in order), or -1 when the pipe cannot be used. */
static ssize_t pipe_copy(const struct iovec *src, const struct iovec *dst,
			 int k, size_t total)
{
	struct iovec out[4];
	ssize_t w, r;
	size_t left;
	int m;

	w = writev(bounce[1], src, k);
	if (w < 0)
		return errno == EFAULT ? 0 : -1;
	/* Read back exactly what went in. */
	for (m = 0, left = (size_t)w; m < k && left; m++) {
		out[m] = dst[m];
		if (out[m].iov_len > left)
			out[m].iov_len = left;
		left -= out[m].iov_len;
	}
	r = m ? readv(bounce[0], out, m) : 0;
	if (r < 0)
		r = 0;
	if (r != w || (size_t)w != total)
		drain();
	return r;
}

int lpc_copy_from_user(void *dst, const void *usrc, size_t n)
{
	struct lpc_ucopy c = { dst, usrc, n };

	if (n && !usrc)
		return -EFAULT;
	return lpc_ucopy(&c, 1);
}

int lpc_copy_to_user(void *udst, const void *src, size_t n)
{
	struct lpc_ucopy c = { udst, src, n };

	if (n && !udst)
		return -EFAULT;
	return lpc_ucopy(&c, 1);
}

static int ucopy(const struct lpc_ucopy *c, int n, size_t *last)
{
	struct iovec local[4], remote[4];
	size_t want = 0, lastn = 0;
	int k = 0;
	ssize_t r;

	/* process_vm_writev reads the local side and writes the remote
	 * side, both fault-safe, so one call can read a caller buffer into
	 * ours and probe another in place. */
	for (int i = 0; i < n && k < 4; i++) {
		if (!c[i].dst || !c[i].n)
			continue;
		if (!c[i].src)
			return -EFAULT;
		local[k].iov_base = (void *)c[i].src;
		local[k].iov_len = c[i].n;
		remote[k].iov_base = c[i].dst;
		remote[k].iov_len = c[i].n;
		if (last && i == n - 1)
			lastn = c[i].n;
		else
			want += c[i].n;
		k++;
	}
	if (k == 0)
		return 0;
	r = -1;
	if (want + lastn <= BOUNCE_MAX && bounce_ready())
		r = pipe_copy(local, remote, k, want + lastn);
	if (r < 0)
		r = lpc_sys_vm_writev(local, remote, k);
	if (r < 0 || (size_t)r < want)
		return -EFAULT;
	if (last)
		*last = (size_t)r - want;
	return (size_t)r == want + lastn || last ? 0 : -EFAULT;
}

int lpc_ucopy(const struct lpc_ucopy *c, int n)
{
	return ucopy(c, n, NULL);
}

int lpc_ucopy_partial(const struct lpc_ucopy *c, int n, size_t *last)
{
	*last = 0;
	return ucopy(c, n, last);
}

int lpc_probe_write(void *p, size_t n)
{
	/* process_vm_writev with the same range as source and destination:
	 * the source side proves it readable, the destination writable. */
	return lpc_copy_to_user(p, p, n);
}
