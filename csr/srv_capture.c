/* SPDX-License-Identifier: MIT */
/*
 * Capture buffers on the server side: spec 12.6 (CsrCaptureArguments /
 * CsrReleaseCapturedArguments, the newest and strictest rules) and 12.7
 * (the per-API buffer and string validators).
 *
 * The client's buffer lives in its view, which the client can rewrite at
 * any moment: every field is read once, the whole buffer is copied to the
 * server's heap before any pointer in it is trusted, and handlers only
 * ever see the copy.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "srv.h"

#define HDR CSR_CAPTURE_BUFFER_HEADER_SIZE
#define MSG_DATA CSR_API_MESSAGE_HEADER_SIZE

static inline uintptr_t load_ptr(const CSR_API_MESSAGE *msg, ULONG_PTR off)
{
	uintptr_t v;

	memcpy(&v, (const char *)msg + off, sizeof(v));
	return v;
}

static inline void store_ptr(CSR_API_MESSAGE *msg, ULONG_PTR off, uintptr_t v)
{
	memcpy((char *)msg + off, &v, sizeof(v));
}

NTSTATUS csr_capture_arguments(const struct csr_process *p,
			       CSR_API_MESSAGE *msg, struct csr_capture *cap)
{
	uintptr_t cb = (uintptr_t)msg->CsrCaptureData, end, first, last;
	ULONG length, count;
	CSR_CAPTURE_BUFFER *copy;

	memset(cap, 0, sizeof(*cap));
	/* 1. The header lies inside the view (strictly: a header ending at
	 *    the bound is refused, as csrsrv does). */
	if (!p->view_base || cb < p->view_base || cb > p->view_end - HDR - 1 ||
	    p->view_end - p->view_base <= HDR)
		return STATUS_INVALID_PARAMETER;
	/* 2. Size, read once (the client may rewrite it at any time, and
	 *    need not align it); the end must not wrap and must be below the
	 *    bound (a buffer ending exactly at the view's end is refused). */
	memcpy(&length, (const char *)cb + offsetof(CSR_CAPTURE_BUFFER, Size),
	       sizeof(length));
	if (cb + length < cb || cb + length >= p->view_end)
		return STATUS_INVALID_PARAMETER;
	end = cb + length;
	/* 3. PointerCount, read once. */
	memcpy(&count,
	       (const char *)cb + offsetof(CSR_CAPTURE_BUFFER, PointerCount),
	       sizeof(count));
	if (count > 0xffff ||
	    HDR + (uint64_t)count * sizeof(PVOID) > (uint64_t)length)
		return STATUS_INVALID_PARAMETER;
	/* 4. The copy, with the validated values forced into it. */
	copy = malloc(length);
	if (!copy)
		return STATUS_NO_MEMORY;
	memcpy(copy, (const void *)cb, length);
	copy->Size = length;
	copy->PointerCount = count;
	/* 5. Each recorded pointer field: aligned, inside Data, pointing
	 *    past the offsets array and at least a pointer short of the end;
	 *    then rebased into the copy.  One pass, as csrsrv: a field
	 *    recorded twice is refused the second time, because its value
	 *    already points into the copy. */
	first = cb + HDR + (uintptr_t)count * sizeof(PVOID);
	last = end - sizeof(PVOID);
	for (ULONG i = 0; i < count; i++) {
		ULONG_PTR off = copy->PointerOffsetsArray[i];
		uintptr_t ptr;

		if (!off)
			continue;
		if (off % sizeof(PVOID) || off < MSG_DATA ||
		    off > sizeof(CSR_API_MESSAGE) - sizeof(PVOID))
			goto invalid;
		ptr = load_ptr(msg, off);
		if (ptr < first || ptr > last)
			goto invalid;
		store_ptr(msg, off, ptr - cb + (uintptr_t)copy);
	}
	/* 6. */
	copy->PreviousCaptureBuffer = (PCSR_CAPTURE_BUFFER)cb;
	msg->CsrCaptureData = copy;
	cap->copy = copy;
	cap->client = cb;
	cap->size = length;
	cap->count = count;
	return STATUS_SUCCESS;

invalid:
	/* Undo the rebasing already done: the message goes back to the
	 * client as it came. */
	for (ULONG i = 0; i < count; i++) {
		ULONG_PTR off = copy->PointerOffsetsArray[i];
		uintptr_t ptr;

		if (!off || off % sizeof(PVOID) || off < MSG_DATA ||
		    off > sizeof(CSR_API_MESSAGE) - sizeof(PVOID))
			continue;
		ptr = load_ptr(msg, off);
		if (ptr >= (uintptr_t)copy && ptr < (uintptr_t)copy + length)
			store_ptr(msg, off, ptr - (uintptr_t)copy + cb);
	}
	free(copy);
	return STATUS_INVALID_PARAMETER;
}

void csr_release_arguments(const struct csr_process *p, CSR_API_MESSAGE *msg,
			   struct csr_capture *cap)
{
	CSR_CAPTURE_BUFFER *copy = cap->copy;

	if (!copy)
		return;
	msg->CsrCaptureData = (PCSR_CAPTURE_BUFFER)cap->client;
	for (ULONG i = 0; i < cap->count; i++) {
		ULONG_PTR off = copy->PointerOffsetsArray[i];
		uintptr_t ptr;

		/* The offsets were validated at capture, and the copy is
		 * ours: only handlers wrote to it, never the offsets. */
		if (!off)
			continue;
		ptr = load_ptr(msg, off);
		/* A handler may have replaced a pointer with NULL or with
		 * another place in the copy; anything else goes back as
		 * is rather than being turned into a wild client address. */
		if (ptr >= (uintptr_t)copy && ptr < (uintptr_t)copy + cap->size)
			store_ptr(msg, off, ptr - (uintptr_t)copy + cap->client);
	}
	/* Spec 12.6: the whole copy, header included, goes back over the
	 * client's buffer (the range was validated at capture). */
	if (p && p->view_base && cap->client >= p->view_base &&
	    cap->client + cap->size < p->view_end)
		memcpy((void *)cap->client, copy, cap->size);
	free(copy);
	cap->copy = NULL;
}

/* Spec 12.7.  field is the address of a pointer field in the message;
 * the pointer must have been captured for that field. */
bool csr_validate_buffer(struct csr_call *c, void *field, ULONG count,
			 ULONG size)
{
	const CSR_CAPTURE_BUFFER *cb = c->cap.copy;
	uintptr_t off, ptr, avail;
	uint64_t need;

	if (!field || !size)
		return false;
	need = (uint64_t)count * size;
	if (need > 0xffffffffu)
		return false;
	off = (uintptr_t)field - (uintptr_t)c->msg;
	if ((uintptr_t)field < (uintptr_t)c->msg ||
	    off > sizeof(CSR_API_MESSAGE) - sizeof(PVOID))
		return false;
	memcpy(&ptr, field, sizeof(ptr));
	if (!ptr && !count)
		return true;
	if (!cb)
		return c->from_server;
	if (ptr < (uintptr_t)cb || ptr >= (uintptr_t)cb + c->cap.size)
		return false;
	avail = (uintptr_t)cb + c->cap.size - ptr;
	if (avail < need)
		return false;
	for (ULONG i = 0; i < c->cap.count; i++)
		if (cb->PointerOffsetsArray[i] == off)
			return true;
	return false;
}

bool csr_validate_string(struct csr_call *c, PWSTR *field, ULONG *chars)
{
	const CSR_CAPTURE_BUFFER *cb = c->cap.copy;
	uintptr_t ptr, end;
	ULONG n = 0;

	if (!field)
		return false;
	memcpy(&ptr, field, sizeof(ptr));
	if (!cb || ptr < (uintptr_t)cb || ptr >= (uintptr_t)cb + c->cap.size)
		return false;
	/* wcslen bounded by the copy: an unterminated string fails
	 * instead of reading past the buffer. */
	end = (uintptr_t)cb + c->cap.size;
	for (;; n++) {
		WCHAR ch;

		if (ptr + 2 * (uintptr_t)n + 2 > end)
			return false;
		memcpy(&ch, (const char *)ptr + 2 * (uintptr_t)n, 2);
		if (!ch)
			break;
	}
	if (chars)
		*chars = n;
	return csr_validate_buffer(c, field, n + 1, sizeof(WCHAR));
}
