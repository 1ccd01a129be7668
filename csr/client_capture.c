/* SPDX-License-Identifier: MIT */
/*
 * libcsr: capture buffers (ntdll's csr/capture.c role, spec 12.4) and the
 * heap inside the client view they come from.
 */
#include <string.h>

#include "client.h"

/* ------------------------------------------------------------------ */
/* The heap: first fit over the 64 KiB view, blocks with a 16-byte     */
/* header, neighbours merged on free.  Small and bounded, like the view. */
/* ------------------------------------------------------------------ */

struct block {
	uint32_t size;		/* whole block, header included */
	uint32_t used;
	uint64_t pad;
};

#define BLOCK_HDR sizeof(struct block)
#define BLOCK_MIN (BLOCK_HDR + 16)

static pthread_mutex_t heap_lock = PTHREAD_MUTEX_INITIALIZER;
static char *heap_base;
static SIZE_T heap_size;

void csr_heap_reset(void *base, SIZE_T size)
{
	pthread_mutex_init(&heap_lock, NULL);
	heap_base = base;
	heap_size = size & ~(SIZE_T)15;
	if (heap_base && heap_size >= BLOCK_MIN) {
		struct block *b = (struct block *)heap_base;

		b->size = (uint32_t)heap_size;
		b->used = 0;
	}
}

void *csr_heap_alloc(SIZE_T size)
{
	SIZE_T need = (size + BLOCK_HDR + 15) & ~(SIZE_T)15;
	void *ret = NULL;

	if (size > heap_size)
		return NULL;
	pthread_mutex_lock(&heap_lock);
	for (SIZE_T off = 0; heap_base && off + BLOCK_HDR <= heap_size;) {
		struct block *b = (struct block *)(heap_base + off);

		if (b->size < BLOCK_HDR || off + b->size > heap_size)
			break;	/* corrupt: give up rather than wander */
		if (!b->used && b->size >= need) {
			if (b->size - need >= BLOCK_MIN) {
				struct block *rest =
					(struct block *)((char *)b + need);

				rest->size = b->size - (uint32_t)need;
				rest->used = 0;
				b->size = (uint32_t)need;
			}
			b->used = 1;
			ret = b + 1;
			break;
		}
		off += b->size;
	}
	pthread_mutex_unlock(&heap_lock);
	return ret;
}

void csr_heap_free(void *p)
{
	struct block *prev = NULL;

	if (!p)
		return;
	pthread_mutex_lock(&heap_lock);
	for (SIZE_T off = 0; heap_base && off + BLOCK_HDR <= heap_size;) {
		struct block *b = (struct block *)(heap_base + off);

		if (b->size < BLOCK_HDR || off + b->size > heap_size)
			break;
		if ((void *)(b + 1) == p && b->used) {
			struct block *next = (struct block *)((char *)b + b->size);

			b->used = 0;
			if (off + b->size + BLOCK_HDR <= heap_size &&
			    !next->used)
				b->size += next->size;
			if (prev && !prev->used)
				prev->size += b->size;
			break;
		}
		prev = b;
		off += b->size;
	}
	pthread_mutex_unlock(&heap_lock);
}

/* ------------------------------------------------------------------ */
/* Capture buffers                                                     */
/* ------------------------------------------------------------------ */

PCSR_CAPTURE_BUFFER NTAPI CsrAllocateCaptureBuffer(ULONG ArgumentCount,
						   ULONG BufferSize)
{
	PCSR_CAPTURE_BUFFER cb;
	uint64_t size;

	/* ntdll refuses sizes of MAXLONG and above. */
	if (BufferSize >= 0x7fffffff || ArgumentCount > 0xffff)
		return NULL;
	if (csr_client_ensure(NULL) != STATUS_SUCCESS)
		return NULL;
	size = (uint64_t)BufferSize + CSR_CAPTURE_BUFFER_HEADER_SIZE +
	       (uint64_t)ArgumentCount * sizeof(ULONG_PTR);
	size = (size + 3) & ~(uint64_t)3;
	/* csrsrv refuses a pointer closer than sizeof(PVOID) to the end of
	 * the buffer (spec 12.6 step 5): the slack lets the last argument be
	 * as short as 4 bytes. */
	size += sizeof(PVOID);
	if (size > csr_client.view_size)
		return NULL;
	cb = csr_heap_alloc((SIZE_T)size);
	if (!cb)
		return NULL;
	memset(cb, 0, (size_t)size);
	cb->Size = (ULONG)size;
	cb->PointerCount = 0;
	cb->BufferEnd = &cb->PointerOffsetsArray[ArgumentCount];
	return cb;
}

ULONG NTAPI CsrAllocateMessagePointer(PCSR_CAPTURE_BUFFER CaptureBuffer,
				      ULONG MessageLength, PVOID *CapturedData)
{
	PCSR_CAPTURE_BUFFER cb = CaptureBuffer;
	ULONG len = (MessageLength + 3) & ~3u;
	char *end;

	if (!cb || !CapturedData)
		return 0;
	end = (char *)cb + cb->Size;
	if (!MessageLength || MessageLength > 0xfffffffcu || !cb->BufferEnd ||
	    len > (ULONG)(end - (char *)cb->BufferEnd)) {
		*CapturedData = NULL;
		len = 0;
	} else {
		*CapturedData = cb->BufferEnd;
		cb->BufferEnd = (char *)cb->BufferEnd + len;
	}
	/* Recorded even for length 0, as ntdll does; the call path leaves
	 * NULL pointers out of the fix-ups. */
	if ((char *)&cb->PointerOffsetsArray[cb->PointerCount + 1] <= end)
		cb->PointerOffsetsArray[cb->PointerCount++] =
			(ULONG_PTR)CapturedData;
	return len;
}

VOID NTAPI CsrCaptureMessageBuffer(PCSR_CAPTURE_BUFFER CaptureBuffer,
				   PVOID MessageBuffer, ULONG MessageLength,
				   PVOID *CapturedData)
{
	CsrAllocateMessagePointer(CaptureBuffer, MessageLength, CapturedData);
	if (CapturedData && *CapturedData && MessageBuffer)
		memcpy(*CapturedData, MessageBuffer, MessageLength);
}

VOID NTAPI CsrCaptureMessageString(PCSR_CAPTURE_BUFFER CaptureBuffer,
				   PCSTR String, ULONG StringLength,
				   ULONG MaximumLength, PSTRING CapturedString)
{
	if (!CapturedString)
		return;
	if (MaximumLength > 0xffff)
		MaximumLength = 0xffff;
	if (StringLength > MaximumLength)
		StringLength = MaximumLength;
	CsrAllocateMessagePointer(CaptureBuffer, MaximumLength,
				  (PVOID *)&CapturedString->Buffer);
	CapturedString->Length = 0;
	CapturedString->MaximumLength = 0;
	if (!CapturedString->Buffer)
		return;
	CapturedString->MaximumLength = (USHORT)MaximumLength;
	if (String && StringLength) {
		memcpy(CapturedString->Buffer, String, StringLength);
		CapturedString->Length = (USHORT)StringLength;
	}
	if (StringLength < MaximumLength)
		CapturedString->Buffer[StringLength] = 0;
}

VOID NTAPI CsrFreeCaptureBuffer(PCSR_CAPTURE_BUFFER CaptureBuffer)
{
	csr_heap_free(CaptureBuffer);
}
