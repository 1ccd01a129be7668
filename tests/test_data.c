/* SPDX-License-Identifier: MIT */
/*
 * test_data.c - data-information blocks and NtRead/WriteRequestData
 * (spec 2.5, 5.13, 7.3).
 */
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "helpers.h"

TestSuite(data, .init = lpct_setup, .fini = lpct_teardown, .timeout = 30);

#define PORT "\\RPC Control\\data"
#define BIG (100 * 1024)

/* A request whose data holds a tag and a two-entry data-info block. */
struct dreq {
	PORT_MESSAGE h;
	ULONG tag;
	ULONG pad;
	ULONG count;
	ULONG pad2;
	PORT_DATA_ENTRY e[2];
};

static void make_req(struct dreq *r, void *in, ULONG inlen, void *out,
		     ULONG outlen)
{
	memset(r, 0, sizeof(*r));
	r->h.u1.s1.DataLength = sizeof(*r) - sizeof(PORT_MESSAGE);
	r->h.u1.s1.TotalLength = sizeof(*r);
	r->h.u2.s2.DataInfoOffset = offsetof(struct dreq, count);
	r->tag = 0x1234;
	r->count = 2;
	r->e[0].Base = in;
	r->e[0].Size = inlen;
	r->e[1].Base = out;
	r->e[1].Size = outlen;
}

static unsigned char pattern(size_t i)
{
	return (unsigned char)(i * 7 + 3);
}

/* The server side: read entry 0 (checking the pattern), write entry 1,
 * check the error paths, reply.  Returns 0 or a failing step. */
static int serve_data(HANDLE port, HANDLE via, size_t n)
{
	static unsigned char buf[BIG];
	struct dreq m;
	SIZE_T done = 0;
	NTSTATUS s;
	int r = 0;

	memset(&m, 0, sizeof(m));
	s = NtReplyWaitReceivePort(port, NULL, NULL, &m.h);
	if (s || m.h.u2.s2.Type != LPC_REQUEST)
		return 1;
	if (m.h.u2.s2.DataInfoOffset != offsetof(struct dreq, count))
		return 2;
	s = NtReadRequestData(via, &m.h, 0, buf, n, &done);
	if (s || done != n)
		return 3;
	for (size_t i = 0; i < n; i++)
		if (buf[i] != pattern(i))
			return 4;
	/* Errors: index out of range, size beyond the entry, wrong id,
	 * no data info. */
	if (NtReadRequestData(via, &m.h, 2, buf, 1, NULL) !=
	    STATUS_INVALID_PARAMETER)
		return 5;
	if (NtReadRequestData(via, &m.h, 0, buf, n + 1, NULL) !=
	    STATUS_INVALID_PARAMETER)
		return 6;
	m.h.MessageId++;
	if (NtReadRequestData(via, &m.h, 0, buf, 1, NULL) !=
	    STATUS_REPLY_MESSAGE_MISMATCH)
		return 7;
	m.h.MessageId--;
	{
		PORT_MESSAGE plain = m.h;

		plain.u2.s2.DataInfoOffset = 0;
		if (NtReadRequestData(via, &plain, 0, buf, 1, NULL) !=
		    STATUS_INVALID_PARAMETER)
			return 8;
	}
	for (size_t i = 0; i < n; i++)
		buf[i] = (unsigned char)~pattern(i);
	done = 0;
	s = NtWriteRequestData(via, &m.h, 1, buf, n, &done);
	if (s || done != n)
		return 9;
	if (NtWriteRequestData(via, &m.h, 1, (void *)8, 16, NULL) !=
	    STATUS_ACCESS_VIOLATION)
		r = 10;
	m.tag = 0x4321;
	if (NtReplyPort(via, &m.h))
		return 11;
	/* After the reply the request can no longer be read. */
	if (NtReadRequestData(via, &m.h, 0, buf, 1, NULL) == STATUS_SUCCESS)
		return 12;
	return r;
}

static int check_client(struct dreq *rep, unsigned char *out, size_t n)
{
	if (rep->h.u2.s2.Type != LPC_REPLY || rep->tag != 0x4321)
		return 20;
	for (size_t i = 0; i < n; i++)
		if (out[i] != (unsigned char)~pattern(i))
			return 21;
	return 0;
}

struct local_client {
	HANDLE port;
	size_t n;
	int result;
};

static void *local_client(void *arg)
{
	struct local_client *lc = arg;
	unsigned char *in = malloc(lc->n), *out = calloc(1, lc->n);
	struct dreq req, rep;

	for (size_t i = 0; i < lc->n; i++)
		in[i] = pattern(i);
	make_req(&req, in, (ULONG)lc->n, out, (ULONG)lc->n);
	memset(&rep, 0, sizeof(rep));
	lc->result = NtRequestWaitReplyPort(lc->port, &req.h, &rep.h)
			     ? 30
			     : check_client(&rep, out, lc->n);
	free(in);
	free(out);
	return NULL;
}

/* Requester and server in one process (a request sent straight to the
 * connection port): the copy is a local process_vm_* one. */
Test(data, same_process_read_and_write)
{
	HANDLE port = lpct_create(PORT, 0, 0x100);
	struct local_client lc = { .port = port, .n = 3000 };
	pthread_t t = lpct_thread(local_client, &lc);

	cr_assert_eq(serve_data(port, port, lc.n), 0);
	lpct_join(t);
	cr_assert_eq(lc.result, 0);
	NtClose(port);
}

static void child_client(void *arg)
{
	size_t n = (size_t)(uintptr_t)arg;
	struct local_client lc = { .n = n };

	if (lpct_connect(&lc.port, PORT, NULL, NULL))
		_exit(40);
	local_client(&lc);
	NtClose(lc.port);
	_exit(lc.result);
}

/* The requester in another process: the copies are served in-band by the
 * requester's engine, in chunks. */
Test(data, cross_process_read_and_write_in_chunks)
{
	HANDLE port = lpct_create(PORT, 0, 0x100), comm;
	pid_t pid = lpct_fork(child_client, (void *)(uintptr_t)BIG);

	comm = lpct_accept_next(port, NULL);
	cr_assert_eq(serve_data(port, comm, BIG), 0);
	cr_assert_eq(lpct_wait(pid), 0);
	NtClose(comm);
	NtClose(port);
}

Test(data, datagrams_refuse_data_info)
{
	HANDLE port = lpct_create(PORT, 0, 0x100);
	struct dreq req;
	char b[4];

	make_req(&req, b, 4, b, 4);
	cr_assert_status(NtRequestPort(port, &req.h), STATUS_INVALID_PARAMETER);
	NtClose(port);
}

Test(data, malformed_data_info_is_refused_before_sending)
{
	HANDLE port = lpct_create(PORT, 0, 0x100);
	struct dreq req, rep;
	char b[4];

	/* Offset inside the header. */
	make_req(&req, b, 4, b, 4);
	req.h.u2.s2.DataInfoOffset = 8;
	cr_assert_status(NtRequestWaitReplyPort(port, &req.h, &rep.h),
			 STATUS_INVALID_PARAMETER);
	/* More entries than the message holds. */
	make_req(&req, b, 4, b, 4);
	req.count = 100;
	cr_assert_status(NtRequestWaitReplyPort(port, &req.h, &rep.h),
			 STATUS_INVALID_PARAMETER);
	/* Offset past the end. */
	make_req(&req, b, 4, b, 4);
	req.h.u2.s2.DataInfoOffset = sizeof(req) - 4;
	cr_assert_status(NtRequestWaitReplyPort(port, &req.h, &rep.h),
			 STATUS_INVALID_PARAMETER);
	/* Nothing was queued by the refused sends. */
	{
		LARGE_INTEGER zero = { .QuadPart = 0 };
		lpct_msg m;

		cr_assert_status(NtReplyWaitReceivePortEx(port, NULL, NULL,
							  &m.h, &zero),
				 STATUS_TIMEOUT);
	}
	NtClose(port);
}

static void child_bad_entry(void *arg)
{
	HANDLE port;
	struct dreq req, rep;
	/* Reserved but inaccessible, so nothing else can land there. */
	void *gone = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
			  -1, 0);

	(void)arg;
	if (lpct_connect(&port, PORT, NULL, NULL))
		_exit(40);
	/* Entry 0 names memory this process does not have. */
	make_req(&req, gone, 4096, gone, 4096);
	if (NtRequestWaitReplyPort(port, &req.h, &rep.h))
		_exit(41);
	_exit(rep.tag == 0x99 ? 0 : 42);
}

Test(data, unmapped_entry_gives_access_violation_not_a_crash)
{
	HANDLE port = lpct_create(PORT, 0, 0x100), comm;
	pid_t pid = lpct_fork(child_bad_entry, NULL);
	struct dreq m;
	char buf[64];
	SIZE_T done = 77;

	comm = lpct_accept_next(port, NULL);
	cr_assert_status(NtReplyWaitReceivePort(port, NULL, NULL, &m.h),
			 STATUS_SUCCESS);
	cr_assert_status(NtReadRequestData(comm, &m.h, 0, buf, sizeof(buf),
					   &done),
			 STATUS_ACCESS_VIOLATION);
	m.tag = 0x99;
	cr_assert_status(NtReplyPort(comm, &m.h), STATUS_SUCCESS);
	cr_assert_eq(lpct_wait(pid), 0);
	NtClose(comm);
	NtClose(port);
}
