/* SPDX-License-Identifier: MIT */
/*
 * uaccess.h - reading and writing caller buffers the way NT probes them.
 *
 * A caller's pointer is never dereferenced directly: bytes move through
 * process_vm_readv/writev on our own pid, which fail with EFAULT where a
 * plain access would fault (design.md, "Surface").
 */
#ifndef LPC_UACCESS_H
#define LPC_UACCESS_H

#include <stddef.h>
#include <stdint.h>

/* 0 or -EFAULT. */
int lpc_copy_from_user(void *dst, const void *usrc, size_t n);
int lpc_copy_to_user(void *udst, const void *src, size_t n);
/* NT's ProbeForWrite: proves n bytes at p are writable, leaving them as
 * they are (the kernel reads and writes back the same bytes). */
int lpc_probe_write(void *p, size_t n);
/*
 * Several ranges in one system call (the hot paths pay one call, not one
 * per pointer).  Each pair copies src[i] to dst[i]; either side may be a
 * caller pointer.  A NULL dst entry is skipped.  0 or -EFAULT.
 */
struct lpc_ucopy {
	void *dst;
	const void *src;
	size_t n;
};
int lpc_ucopy(const struct lpc_ucopy *c, int n);
/* The same, but the last pair may copy short (a buffer that ends before
 * the largest message does): *last gets its byte count.  Every other
 * pair must copy in full. */
int lpc_ucopy_partial(const struct lpc_ucopy *c, int n, size_t *last);

/* The calling thread's copy channel goes with it / is not the child's. */
void lpc_uaccess_thread_exit(void);
void lpc_uaccess_atfork_child(void);

/* Output pointer probe for a HANDLE/ULONG-sized out-parameter. */
static inline int lpc_probe_out(void *p, size_t n)
{
	return p ? lpc_probe_write(p, n) : -14 /* -EFAULT */;
}

#endif
