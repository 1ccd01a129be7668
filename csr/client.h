/* SPDX-License-Identifier: MIT */
/* libcsr's private state, shared by its files. */
#ifndef CSR_CLIENT_H
#define CSR_CLIENT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <lpc/csr.h>

struct csr_client {
	pthread_mutex_t lock;
	HANDLE port;		/* to <dir>\ApiPort, NULL: not connected */
	void *view;		/* the client view, here */
	SIZE_T view_size;
	intptr_t delta;		/* server's address - ours (CsrPortMemoryDelta) */
	HANDLE server_pid;
	unsigned gen;		/* connections made so far */
};

extern struct csr_client csr_client;

/* Connect if needed (to dir, NULL: "\Windows"); registers the calling
 * thread's termination port. */
NTSTATUS csr_client_ensure(PWSTR dir);

/* The capture heap inside the view (ntdll's CsrPortHeap): reset to an
 * empty heap over [base, base+size), or to none. */
void csr_heap_reset(void *base, SIZE_T size);
void *csr_heap_alloc(SIZE_T size);
void csr_heap_free(void *p);

#endif
