/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "sys.h"

pid_t lpc_sys_gettid(void)
{
	return (pid_t)syscall(SYS_gettid);
}

static pid_t cached_pid;

pid_t lpc_sys_pid(void)
{
	pid_t p = __atomic_load_n(&cached_pid, __ATOMIC_RELAXED);

	if (!p) {
		p = getpid();
		__atomic_store_n(&cached_pid, p, __ATOMIC_RELAXED);
	}
	return p;
}

void lpc_sys_pid_reset(void)
{
	cached_pid = 0;
}

int lpc_sys_thread_exists(pid_t pid, pid_t tid)
{
	if (pid <= 0 || tid <= 0)
		return -ESRCH;
	/* Signal 0 checks existence; EPERM still means "it exists". */
	if (syscall(SYS_tgkill, pid, tid, 0) == 0 || errno == EPERM)
		return 0;
	return -errno;
}

static ssize_t vm_copy(void *dst, const void *src, size_t n, int write)
{
	struct iovec local, remote;
	ssize_t r;

	if (n == 0)
		return 0;
	if (write) {
		local.iov_base = (void *)src;
		remote.iov_base = dst;
	} else {
		local.iov_base = dst;
		remote.iov_base = (void *)src;
	}
	local.iov_len = remote.iov_len = n;
	do {
		r = write ? process_vm_writev(lpc_sys_pid(), &local, 1, &remote,
					      1, 0)
			  : process_vm_readv(lpc_sys_pid(), &local, 1, &remote,
					     1, 0);
	} while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : r;
}

ssize_t lpc_sys_vm_read(void *dst, const void *src, size_t n)
{
	return vm_copy(dst, src, n, 0);
}

ssize_t lpc_sys_vm_write(void *dst, const void *src, size_t n)
{
	return vm_copy(dst, src, n, 1);
}

ssize_t lpc_sys_vm_writev(const struct iovec *local, const struct iovec *remote,
			  int n)
{
	ssize_t r;

	do {
		r = process_vm_writev(lpc_sys_pid(), local, (unsigned long)n,
				      remote, (unsigned long)n, 0);
	} while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : r;
}

int lpc_sys_memfd(const char *name, size_t size)
{
	int fd = (int)syscall(SYS_memfd_create, name,
			      MFD_CLOEXEC | MFD_ALLOW_SEALING);

	if (fd < 0)
		return -errno;
	/* A section's size is fixed for life: the peer that maps it must
	 * never fault on a page its owner truncated away (SIGBUS). */
	if (ftruncate(fd, (off_t)size) < 0 ||
	    fcntl(fd, F_ADD_SEALS,
		  F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0) {
		int e = -errno;

		close(fd);
		return e;
	}
	return fd;
}

int lpc_sys_eventfd(void)
{
	int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

	return fd < 0 ? -errno : fd;
}

int lpc_sys_eventfd_signal(int fd)
{
	uint64_t one = 1;

	/* EAGAIN means the counter is saturated: it is signalled anyway. */
	if (write(fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		return -errno;
	return 0;
}

LPC_NOCOV int lpc_sys_eventfd_drain(int fd)
{
	uint64_t v;

	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return -errno;
	return 0;
}

int lpc_sys_close(int fd)
{
	if (fd < 0)
		return 0;
	/* Linux always releases the fd, even on EINTR: never retry. */
	return close(fd) < 0 && errno != EINTR ? -errno : 0;
}

int lpc_sys_shutdown(int fd)
{
	return shutdown(fd, SHUT_RDWR) < 0 ? -errno : 0;
}

ssize_t lpc_sys_send(int fd, const struct iovec *iov, int iovcnt, int pass_fd)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct msghdr mh = { .msg_iov = (struct iovec *)iov,
			     .msg_iovlen = (size_t)iovcnt };
	ssize_t r;

	if (pass_fd >= 0) {
		struct cmsghdr *c;

		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.buf;
		mh.msg_controllen = sizeof(ctl.buf);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &pass_fd, sizeof(int));
	}
	do {
		r = sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
	} while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : r;
}

ssize_t lpc_sys_recv(int fd, void *buf, size_t len, int *fd_out, int *trunc,
		     int block)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int) * 4)];
	} ctl;
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = ctl.buf,
			     .msg_controllen = sizeof(ctl.buf) };
	struct cmsghdr *c;
	ssize_t r;

	*fd_out = -1;
	*trunc = 0;
	r = recvmsg(fd, &mh, (block ? 0 : MSG_DONTWAIT) | MSG_CMSG_CLOEXEC);
	if (r < 0)
		return -errno;
	for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			int fds[4];

			memcpy(fds, CMSG_DATA(c), n * sizeof(int));
			/* Keep the first, close any extra a hostile peer sent. */
			for (size_t i = 0; i < n; i++) {
				if (*fd_out < 0)
					*fd_out = fds[i];
				else
					close(fds[i]);
			}
		}
	}
	if (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC))
		*trunc = 1;
	return r;
}

int lpc_sys_poll1(int fd, short events, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = events };
	int r = poll(&p, 1, timeout_ms);

	if (r < 0)
		return -errno;
	return r == 0 ? 0 : p.revents;
}

int lpc_sys_setfsuid(uid_t uid)
{
	/* setfsuid reports no error: read the value back to check it. */
	syscall(SYS_setfsuid, uid);
	return (uid_t)syscall(SYS_setfsuid, (uid_t)-1) == uid ? 0 : -EPERM;
}

int lpc_sys_setfsuid_query(void)
{
	return (int)syscall(SYS_setfsuid, (uid_t)-1);
}

int lpc_sys_setfsgid_query(void)
{
	return (int)syscall(SYS_setfsgid, (gid_t)-1);
}

int lpc_sys_setfsgid(gid_t gid)
{
	syscall(SYS_setfsgid, gid);
	return (gid_t)syscall(SYS_setfsgid, (gid_t)-1) == gid ? 0 : -EPERM;
}

int lpc_sys_setgroups(size_t n, const gid_t *groups)
{
	/* The raw syscall changes only the calling thread; glibc's wrapper
	 * would broadcast to every thread of the process. */
	return syscall(SYS_setgroups, n, groups) < 0 ? -errno : 0;
}

int lpc_sys_getgroups(int n, gid_t *groups)
{
	long r = syscall(SYS_getgroups, n, groups);

	return r < 0 ? -errno : (int)r;
}
