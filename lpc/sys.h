/* SPDX-License-Identifier: MIT */
/*
 * sys.h - raw system calls, wrapped once.  Each returns -errno on failure;
 * these are the only functions in the engine that read errno.
 */
#ifndef LPC_SYS_H
#define LPC_SYS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/uio.h>

/*
 * Code whose execution counts follow the scheduler, not the input: the
 * transports' poll loops, the leader/follower wait loop, the debug
 * table's slot scan, the parse of /proc/PID/stat (its fields grow as
 * the process runs), and reference drops where whichever thread lets go
 * last frees.  Their outcomes stay visible in their callers.  Fuzzing
 * builds (the macro AFL++'s compilers and
 * OSS-Fuzz define) keep it out of the coverage map, as the harnesses do
 * with their own polling: a count that differs between two runs of one
 * input is what AFL++ calls instability (docs/fuzzing.md, "Stability").
 * Elsewhere it is nothing.
 */
#if defined(FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION) && defined(__clang__)
/* no_sanitize is what clang's -fsanitize-coverage honours; AFL++'s pass
 * does not, so scripts/fuzz lists every LPC_NOCOV function in an
 * AFL_LLVM_DENYLIST; noinline keeps them separate functions for it. */
#define LPC_NOCOV __attribute__((noinline, no_sanitize("coverage")))
#else
#define LPC_NOCOV
#endif

pid_t lpc_sys_gettid(void);
/* Our pid, cached: glibc's getpid() is a system call every time.  The
 * fork child handler resets it. */
pid_t lpc_sys_pid(void);
void lpc_sys_pid_reset(void);
/* 0 if thread tid of process pid exists (even when we may not signal it). */
int lpc_sys_thread_exists(pid_t pid, pid_t tid);
/* Copy n bytes between our own address space and a caller buffer; a bad
 * caller pointer fails with -EFAULT instead of faulting.  Return the bytes
 * copied (short on a fault part-way) or -errno. */
ssize_t lpc_sys_vm_read(void *dst, const void *src, size_t n);
ssize_t lpc_sys_vm_write(void *dst, const void *src, size_t n);
/* process_vm_writev on our own pid with several ranges: local[i] is read
 * (fault-safe), remote[i] written (fault-safe).  Returns bytes copied or
 * -errno. */
ssize_t lpc_sys_vm_writev(const struct iovec *local, const struct iovec *remote,
			  int n);
int lpc_sys_memfd(const char *name, size_t size);
int lpc_sys_eventfd(void);
int lpc_sys_eventfd_signal(int fd);
int lpc_sys_eventfd_drain(int fd);
int lpc_sys_close(int fd);
int lpc_sys_shutdown(int fd);
/* sendmsg with MSG_NOSIGNAL|MSG_DONTWAIT; optional fd to pass. */
ssize_t lpc_sys_send(int fd, const struct iovec *iov, int iovcnt, int pass_fd);
/* recvmsg; *fd_out receives a passed fd or -1.  Sets *trunc when the
 * packet did not fit.  block = 0 adds MSG_DONTWAIT. */
ssize_t lpc_sys_recv(int fd, void *buf, size_t len, int *fd_out, int *trunc,
		     int block);
/* Block until fd is readable (POLLIN) or writable (POLLOUT); timeout_ms < 0
 * waits forever.  Returns revents, 0 on timeout, -errno. */
int lpc_sys_poll1(int fd, short events, int timeout_ms);
int lpc_sys_setfsuid(uid_t uid);
/* Current fs ids (setfs*id(-1) changes nothing and returns them). */
int lpc_sys_setfsuid_query(void);
int lpc_sys_setfsgid_query(void);
int lpc_sys_setfsgid(gid_t gid);
int lpc_sys_setgroups(size_t n, const gid_t *groups);
int lpc_sys_getgroups(int n, gid_t *groups);

#endif
