/* SPDX-License-Identifier: MIT */
/*
 * test_impersonate.c - NtImpersonateClientOfPort and reverting
 * (spec 5.14): a root server impersonating a client opens exactly the
 * files the client could, on that thread only.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helpers.h"

TestSuite(impersonate, .init = lpct_setup, .fini = lpct_teardown,
	  .timeout = 30);

#define PORT "\\RPC Control\\imp"
#define CLIENT_UID 12345

static char root_only[512], client_only[512], world[512];

static void make_file(const char *path, mode_t mode, uid_t uid)
{
	int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, mode);

	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, "data", 4), 4);
	close(fd);
	cr_assert_eq(chown(path, uid, uid), 0);
	cr_assert_eq(chmod(path, mode), 0);
}

static void need_root_files(void)
{
	if (geteuid() != 0)
		cr_skip_test("needs root to switch uids");
	snprintf(root_only, sizeof(root_only), "%s/root-only", lpct_root());
	snprintf(client_only, sizeof(client_only), "%s/client-only",
		 lpct_root());
	snprintf(world, sizeof(world), "%s/world", lpct_root());
	make_file(root_only, 0600, 0);
	make_file(client_only, 0600, CLIENT_UID);
	make_file(world, 0644, 0);
}

/* 0 if path opens for reading now, else errno. */
static int try_open(const char *path)
{
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}

static HANDLE null_token;

static NTSTATUS revert(void)
{
	return NtSetInformationThread(NtCurrentThread(),
				      ThreadImpersonationToken, &null_token,
				      sizeof(HANDLE));
}

static void drop_to_client(void)
{
	if (setgroups(0, NULL) || setgid(CLIENT_UID) || setuid(CLIENT_UID))
		_exit(90);
}

/* Child: connect as the unprivileged client and send n plain requests
 * and one LPC_NO_IMPERSONATE request. */
static void child_client(void *arg)
{
	SECURITY_QUALITY_OF_SERVICE qos = *lpct_qos();
	HANDLE port;
	lpct_msg req, rep;

	qos.ImpersonationLevel = (SECURITY_IMPERSONATION_LEVEL)(intptr_t)arg;
	drop_to_client();
	if (NtConnectPort(&port, lpct_ustr(PORT), &qos, NULL, NULL, NULL, NULL,
			  NULL))
		_exit(91);
	for (int i = 0; i < 2; i++) {
		lpct_msg_init(&req, "x", 1);
		if (i == 1)
			req.h.u2.s2.Type = LPC_NO_IMPERSONATE;
		if (NtRequestWaitReplyPort(port, &req.h, &rep.h))
			_exit(92 + i);
	}
	NtClose(port);
	_exit(0);
}

struct other {
	int denied_root;
	pthread_barrier_t *b;
};

static void *other_thread(void *arg)
{
	struct other *o = arg;

	pthread_barrier_wait(o->b);	/* main thread is impersonating */
	o->denied_root = try_open(root_only);
	pthread_barrier_wait(o->b);
	return NULL;
}

Test(impersonate, server_gets_exactly_the_clients_access_on_one_thread)
{
	HANDLE port, comm;
	pthread_barrier_t b;
	struct other o = { .b = &b };
	pthread_t t;
	pid_t pid;
	lpct_msg m;

	need_root_files();
	port = lpct_create(PORT, 0, 0x100);
	pid = lpct_fork(child_client, (void *)(intptr_t)SecurityImpersonation);
	comm = lpct_accept_next(port, NULL);
	cr_assert_status(NtReplyWaitReceivePort(port, NULL, NULL, &m.h),
			 STATUS_SUCCESS);

	/* Another server thread, started before: it keeps its identity.
	 * (A thread created while impersonating inherits the fs ids, as
	 * Linux clones credentials: docs/decisions.md.) */
	pthread_barrier_init(&b, NULL, 2);
	t = lpct_thread(other_thread, &o);

	/* Only a server communication port can impersonate. */
	cr_assert_status(NtImpersonateClientOfPort(port, &m.h),
			 STATUS_INVALID_PORT_HANDLE);
	cr_assert_eq(try_open(root_only), 0);
	cr_assert_status(NtImpersonateClientOfPort(comm, &m.h),
			 STATUS_SUCCESS);
	cr_assert_eq(try_open(root_only), EACCES);
	cr_assert_eq(try_open(client_only), 0);
	cr_assert_eq(try_open(world), 0);

	pthread_barrier_wait(&b);
	pthread_barrier_wait(&b);
	lpct_join(t);
	cr_assert_eq(o.denied_root, 0, "impersonation leaked to a thread");

	cr_assert_status(revert(), STATUS_SUCCESS);
	cr_assert_eq(try_open(root_only), 0);
	cr_assert_status(revert(), STATUS_SUCCESS);

	cr_assert_status(NtReplyPort(port, &m.h), STATUS_SUCCESS);
	/* The client no longer waits on that message. */
	cr_assert_status(NtImpersonateClientOfPort(comm, &m.h),
			 STATUS_REPLY_MESSAGE_MISMATCH);

	/* The second request forbids impersonation. */
	cr_assert_status(NtReplyWaitReceivePort(port, NULL, NULL, &m.h),
			 STATUS_SUCCESS);
	cr_assert_eq(m.h.u2.s2.Type, LPC_REQUEST);
	cr_assert_status(NtImpersonateClientOfPort(comm, &m.h),
			 STATUS_ACCESS_DENIED);
	/* Spec 5.14 order: the no-impersonation mark is checked before
	 * the MessageId. */
	m.h.MessageId++;
	cr_assert_status(NtImpersonateClientOfPort(comm, &m.h),
			 STATUS_ACCESS_DENIED);
	m.h.MessageId--;
	cr_assert_status(NtReplyPort(port, &m.h), STATUS_SUCCESS);
	cr_assert_eq(lpct_wait(pid), 0);
	NtClose(comm);
	NtClose(port);
}

Test(impersonate, anonymous_clients_get_nobody)
{
	HANDLE port, comm;
	pid_t pid;
	lpct_msg m;

	need_root_files();
	port = lpct_create(PORT, 0, 0x100);
	pid = lpct_fork(child_client, (void *)(intptr_t)SecurityAnonymous);
	comm = lpct_accept_next(port, NULL);
	cr_assert_status(NtReplyWaitReceivePort(port, NULL, NULL, &m.h),
			 STATUS_SUCCESS);
	cr_assert_status(NtImpersonateClientOfPort(comm, &m.h),
			 STATUS_SUCCESS);
	/* Not even the client's own file: an anonymous client lends no
	 * identity. */
	cr_assert_eq(try_open(client_only), EACCES);
	cr_assert_eq(try_open(world), 0);
	cr_assert_status(revert(), STATUS_SUCCESS);
	for (int i = 0; i < 2; i++) {
		cr_assert_status(NtReplyPort(port, &m.h), STATUS_SUCCESS);
		if (i == 0)
			cr_assert_status(NtReplyWaitReceivePort(port, NULL,
								NULL, &m.h),
					 STATUS_SUCCESS);
	}
	cr_assert_eq(lpct_wait(pid), 0);
	NtClose(comm);
	NtClose(port);
}

/* A root client that connects, then drops to CLIENT_UID: static tracking
 * keeps the identity of connect time, dynamic tracking follows it. */
static void child_tracking(void *arg)
{
	SECURITY_QUALITY_OF_SERVICE qs = *lpct_qos(), qd = *lpct_qos();
	HANDLE ps, pd;
	lpct_msg req, rep;

	(void)arg;
	qs.ContextTrackingMode = SECURITY_STATIC_TRACKING;
	qd.ContextTrackingMode = SECURITY_DYNAMIC_TRACKING;
	if (NtConnectPort(&ps, lpct_ustr(PORT), &qs, NULL, NULL, NULL, NULL,
			  NULL) ||
	    NtConnectPort(&pd, lpct_ustr(PORT), &qd, NULL, NULL, NULL, NULL,
			  NULL))
		_exit(91);
	drop_to_client();
	lpct_msg_init(&req, "s", 1);
	if (NtRequestWaitReplyPort(ps, &req.h, &rep.h))
		_exit(92);
	lpct_msg_init(&req, "d", 1);
	if (NtRequestWaitReplyPort(pd, &req.h, &rep.h))
		_exit(93);
	_exit(0);
}

Test(impersonate, static_and_dynamic_tracking)
{
	HANDLE port, c1, c2;
	pid_t pid;
	lpct_msg m;
	void *ctx;

	need_root_files();
	port = lpct_create(PORT, 0, 0x100);
	pid = lpct_fork(child_tracking, NULL);
	c1 = lpct_accept_next(port, (PVOID)1);
	c2 = lpct_accept_next(port, (PVOID)2);
	for (int i = 0; i < 2; i++) {
		cr_assert_status(NtReplyWaitReceivePort(port, &ctx, NULL, &m.h),
				 STATUS_SUCCESS);
		cr_assert_status(NtImpersonateClientOfPort(ctx == (PVOID)1 ? c1
									    : c2,
							   &m.h),
				 STATUS_SUCCESS);
		if (m.data[0] == 's')
			cr_assert_eq(try_open(root_only), 0,
				     "static: identity at connect (root)");
		else
			cr_assert_eq(try_open(root_only), EACCES,
				     "dynamic: identity now");
		cr_assert_status(revert(), STATUS_SUCCESS);
		cr_assert_status(NtReplyPort(port, &m.h), STATUS_SUCCESS);
	}
	cr_assert_eq(lpct_wait(pid), 0);
	NtClose(c1);
	NtClose(c2);
	NtClose(port);
}

Test(impersonate, revert_argument_checks)
{
	HANDLE tok = (HANDLE)4;

	cr_assert_status(revert(), STATUS_SUCCESS);
	cr_assert_status(NtSetInformationThread(NtCurrentThread(),
						ThreadImpersonationToken, &tok,
						sizeof(HANDLE)),
			 STATUS_INVALID_HANDLE);
	cr_assert_status(NtSetInformationThread(NtCurrentThread(),
						ThreadImpersonationToken,
						&null_token, 4),
			 STATUS_INFO_LENGTH_MISMATCH);
	cr_assert_status(NtSetInformationThread(NtCurrentThread(),
						ThreadBasicInformation,
						&null_token, sizeof(HANDLE)),
			 STATUS_INVALID_INFO_CLASS);
	cr_assert_status(NtSetInformationThread(NtCurrentProcess(),
						ThreadImpersonationToken,
						&null_token, sizeof(HANDLE)),
			 STATUS_INVALID_HANDLE);
	cr_assert_status(NtSetInformationThread(NtCurrentThread(),
						ThreadImpersonationToken, NULL,
						sizeof(HANDLE)),
			 STATUS_ACCESS_VIOLATION);
}
