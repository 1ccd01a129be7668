/* SPDX-License-Identifier: MIT */
#include <errno.h>

#include "sys.h"
#include "uaccess.h"

int lpc_copy_from_user(void *dst, const void *usrc, size_t n)
{
	ssize_t r;

	if (n == 0)
		return 0;
	if (!usrc)
		return -EFAULT;
	r = lpc_sys_vm_read(dst, usrc, n);
	if (r < 0)
		return r == -EFAULT || r == -EINVAL ? -EFAULT : (int)r;
	return (size_t)r == n ? 0 : -EFAULT;
}

int lpc_copy_to_user(void *udst, const void *src, size_t n)
{
	ssize_t r;

	if (n == 0)
		return 0;
	if (!udst)
		return -EFAULT;
	r = lpc_sys_vm_write(udst, src, n);
	if (r < 0)
		return r == -EFAULT || r == -EINVAL ? -EFAULT : (int)r;
	return (size_t)r == n ? 0 : -EFAULT;
}

int lpc_probe_write(void *p, size_t n)
{
	/* process_vm_writev with the same range as source and destination:
	 * the source side proves it readable, the destination writable. */
	return lpc_copy_to_user(p, p, n);
}
