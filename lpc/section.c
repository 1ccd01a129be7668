/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "section.h"
#include "sys.h"
#include "uaccess.h"

static size_t page_size(void)
{
	static size_t ps;

	if (!ps)
		ps = (size_t)sysconf(_SC_PAGESIZE);
	return ps;
}

int lpc_map_fd(int fd, uint64_t offset, uint64_t size, struct lpc_map *out)
{
	struct stat st;
	void *p;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (offset % page_size() || offset > (uint64_t)st.st_size)
		return -EINVAL;
	if (size == 0)
		size = (uint64_t)st.st_size - offset;
	if (size == 0 || size > (uint64_t)st.st_size - offset)
		return -EINVAL;
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		 (off_t)offset);
	if (p == MAP_FAILED)
		return -errno;
	out->base = p;
	out->len = size;
	return 0;
}

/*
 * A peer's view is mapped only when its size can never shrink: a memfd
 * sealed against shrinking.  Any other fd (a file someone may truncate, a
 * memfd without the seal, a pipe) could turn every later read of the view
 * into SIGBUS in this process.
 */
int lpc_map_peer_fd(int fd, uint64_t offset, uint64_t size,
		    struct lpc_map *out)
{
	int seals = fcntl(fd, F_GET_SEALS);

	if (seals < 0 || !(seals & F_SEAL_SHRINK))
		return -EINVAL;
	return lpc_map_fd(fd, offset, size, out);
}

int lpc_section_map(struct lpc_section *sec, uint64_t offset, uint64_t size,
		    struct lpc_map *out, uint64_t *off_out)
{
	uint64_t aligned = offset & ~(uint64_t)(page_size() - 1);

	if (offset > sec->size)
		return -EINVAL;
	if (size)
		size += offset - aligned;
	*off_out = aligned;
	return lpc_map_fd(sec->fd, aligned, size, out);
}

void lpc_section_destroy(struct lpc_section *s)
{
	lpc_fd_close(s->fd);
	free(s);
}

NTSTATUS NTAPI NtCreateSection(PHANDLE SectionHandle, ACCESS_MASK DesiredAccess,
			       POBJECT_ATTRIBUTES ObjectAttributes,
			       PLARGE_INTEGER MaximumSize,
			       ULONG SectionPageProtection,
			       ULONG AllocationAttributes, HANDLE FileHandle)
{
	struct lpc_section *s;
	LARGE_INTEGER size;
	HANDLE h;
	int fd, r;

	(void)DesiredAccess;
	if (lpc_probe_out(SectionHandle, sizeof(HANDLE)))
		return STATUS_ACCESS_VIOLATION;
	if (ObjectAttributes) {
		OBJECT_ATTRIBUTES oa;

		if (lpc_copy_from_user(&oa, ObjectAttributes, sizeof(oa)))
			return STATUS_ACCESS_VIOLATION;
		/* Named sections would need a namespace of their own. */
		if (oa.ObjectName)
			return STATUS_NOT_SUPPORTED;
	}
	/* Only pagefile-backed sections: they are what ports share. */
	if (FileHandle)
		return STATUS_NOT_SUPPORTED;
	if (!MaximumSize)
		return STATUS_INVALID_PARAMETER_4;
	if (lpc_copy_from_user(&size, MaximumSize, sizeof(size)))
		return STATUS_ACCESS_VIOLATION;
	if (size.QuadPart <= 0 || size.QuadPart > (1LL << 40))
		return STATUS_INVALID_PARAMETER_4;
	switch (SectionPageProtection) {
	case PAGE_READONLY:
	case PAGE_READWRITE:
	case PAGE_EXECUTE_READ:
	case PAGE_EXECUTE_READWRITE:
	case PAGE_WRITECOPY:
		break;
	default:
		return STATUS_INVALID_PARAMETER;
	}
	if (AllocationAttributes & ~(ULONG)(SEC_COMMIT | SEC_RESERVE))
		return STATUS_INVALID_PARAMETER;
	lpc_init();
	fd = lpc_sys_memfd("lpc-section", (size_t)size.QuadPart);
	if (fd < 0)
		return lpc_status(fd);
	lpc_fd_track(fd);
	s = calloc(1, sizeof(*s));
	if (!s) {
		lpc_fd_close(fd);
		return STATUS_NO_MEMORY;
	}
	s->obj.type = LPC_OBJ_SECTION;
	atomic_init(&s->obj.refs, 1);
	s->fd = fd;
	s->size = (uint64_t)size.QuadPart;
	s->protect = SectionPageProtection;
	r = lpc_handle_new(s, &h);
	if (r) {
		lpc_section_destroy(s);
		return lpc_status(r);
	}
	if (lpc_copy_to_user(SectionHandle, &h, sizeof(h))) {
		NtClose(h);
		return STATUS_ACCESS_VIOLATION;
	}
	return STATUS_SUCCESS;
}
