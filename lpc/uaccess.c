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
