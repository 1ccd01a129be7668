/* SPDX-License-Identifier: MIT */
/*
 * test_connect.c - connection establishment (spec 5.3-5.7, 6): the order
 * of NtConnectPort/NtSecureConnectPort's checks, connection information
 * both ways, rejection, accept-then-complete, PortContext, the errors of
 * NtListenPort, NtAcceptConnectPort and NtCompleteConnectPort, and
 * RequiredServerSid.  Client and server are threads of one process, as in
 * the Windows tests, except where a second process or uid matters.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"

TestSuite(connect, .init = lpct_setup, .fini = lpct_teardown, .timeout = 30);

#define PORT "\\RPC Control\\connect"
#define PORT_FILE "RPC Control/connect"

#define SENTINEL ((HANDLE)(uintptr_t)0x55555555)

/* ------------------------------------------------------------------ */
/* Local helpers                                                       */
/* ------------------------------------------------------------------ */

/* A connecting client thread.  Everything it passes and gets back. */
struct client {
	const char *name;
	PSID sid;		/* NtSecureConnectPort when set */
	PSECURITY_QUALITY_OF_SERVICE qos;	/* lpct_qos() when NULL */
	PPORT_VIEW cview;
	PREMOTE_PORT_VIEW sview;
	bool use_info;		/* pass info/infolen at all */
	char info[LPC_MAX_DATA_LENGTH];
	ULONG infolen;
	ULONG maxlen;
	HANDLE handle;		/* the engine writes it */
	NTSTATUS status;
	_Atomic pid_t tid;
	atomic_bool returned;
	bool hold;		/* stay alive until released */
	sem_t release;
	sem_t done;		/* posted when the connect call returned */
};

static void client_init(struct client *c, const char *name)
{
	memset(c, 0, sizeof(*c));
	c->name = name;
	c->handle = SENTINEL;
	c->status = (NTSTATUS)0x7fffffff;
	c->maxlen = 0xdeadbeef;
	memset(c->info, 'X', sizeof(c->info));
	cr_assert_eq(sem_init(&c->release, 0, 0), 0);
	cr_assert_eq(sem_init(&c->done, 0, 0), 0);
}

static void client_info(struct client *c, const void *data, ULONG len)
{
	c->use_info = true;
	memcpy(c->info, data, len);
	c->infolen = len;
}

static void *client_main(void *arg)
{
	struct client *c = arg;

	atomic_store(&c->tid, lpct_gettid());
	c->status = NtSecureConnectPort(&c->handle, lpct_ustr(c->name),
					c->qos ? c->qos : lpct_qos(),
					c->cview, c->sid,
					c->sview, &c->maxlen,
					c->use_info ? c->info : NULL,
					c->use_info ? &c->infolen : NULL);
	atomic_store(&c->returned, true);
	sem_post(&c->done);
	if (c->hold)
		sem_wait(&c->release);
	return NULL;
}

static pthread_t client_start(struct client *c)
{
	return lpct_thread(client_main, c);
}

static void client_finish(struct client *c, pthread_t t)
{
	if (c->hold)
		sem_post(&c->release);
	lpct_join(t);
	sem_destroy(&c->release);
	sem_destroy(&c->done);
}

/* Wait up to ms for the client's connect call to return; true if it did. */
static bool client_returned_within(struct client *c, long ms)
{
	struct timespec ts;
	int r;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	while ((r = sem_timedwait(&c->done, &ts)) < 0 && errno == EINTR)
		;
	if (r == 0)
		sem_post(&c->done);	/* leave it posted */
	return r == 0;
}

/* Receive the next connection request into m (prefilled with 0xff so
 * that unwritten fields show). */
static void listen_next(HANDLE port, lpct_msg *m)
{
	memset(m, 0xff, sizeof(*m));
	cr_assert_status(NtListenPort(port, &m->h), STATUS_SUCCESS);
	cr_assert_eq(m->h.u2.s2.Type, LPC_CONNECTION_REQUEST);
}

/* Start client c and receive its connection request into m. */
static pthread_t client_start_listen(struct client *c, HANDLE port,
				     lpct_msg *m)
{
	pthread_t t = client_start(c);

	listen_next(port, m);
	return t;
}

static void accept_complete(lpct_msg *m, PVOID ctx, HANDLE *comm)
{
	*comm = NULL;
	cr_assert_status(NtAcceptConnectPort(comm, ctx, &m->h, TRUE, NULL,
					     NULL),
			 STATUS_SUCCESS);
	cr_assert_not_null(*comm);
	cr_assert_status(NtCompleteConnectPort(*comm), STATUS_SUCCESS);
}

/* Accept the request in m with ctx and complete it, then collect the
 * client thread, which must have connected; returns the comm port. */
static HANDLE accept_client(struct client *c, pthread_t t, lpct_msg *m,
			    PVOID ctx)
{
	HANDLE comm;

	accept_complete(m, ctx, &comm);
	client_finish(c, t);
	cr_assert_status(c->status, STATUS_SUCCESS);
	return comm;
}

/* Close both ends of an established connection. */
static void close_connection(struct client *c, HANDLE comm)
{
	cr_assert_status(NtClose(c->handle), STATUS_SUCCESS);
	cr_assert_status(NtClose(comm), STATUS_SUCCESS);
}

/* Connect a client thread and accept it; returns the server comm port. */
static HANDLE connect_pair(HANDLE port, const char *name, PVOID ctx,
			   HANDLE *client)
{
	struct client c;
	pthread_t t;
	lpct_msg m;
	HANDLE comm;

	client_init(&c, name);
	t = client_start_listen(&c, port, &m);
	comm = accept_client(&c, t, &m, ctx);
	*client = c.handle;
	return comm;
}

/*
 * After failed connection attempts: prove that none of them queued a
 * request, by connecting once more with marker info and checking that it
 * is the very next request the server sees.
 */
static void assert_next_request_is_fresh(HANDLE port, const char *name)
{
	struct client c;
	pthread_t t;
	lpct_msg m;
	HANDLE comm;

	client_init(&c, name);
	client_info(&c, "fresh", 6);
	t = client_start_listen(&c, port, &m);
	cr_assert_eq(m.h.u1.s1.DataLength, 6);
	cr_assert_str_eq((char *)m.data, "fresh",
			 "an earlier failed connect left a request queued");
	cr_assert_eq((uintptr_t)m.h.ClientId.UniqueThread,
		     (uintptr_t)atomic_load(&c.tid));
	comm = accept_client(&c, t, &m, NULL);
	close_connection(&c, comm);
}

/* SIDs built on lpc.h's SID, with room for two sub-authorities. */
typedef union {
	SID sid;
	UCHAR raw[8 + 4 * sizeof(ULONG)];
} sidbuf;

static PSID make_sid(sidbuf *b, UCHAR rev, UCHAR authority, int count,
		     ULONG sub0, ULONG sub1)
{
	ULONG sub[2] = { sub0, sub1 };

	memset(b, 0, sizeof(*b));
	b->sid.Revision = rev;
	b->sid.SubAuthorityCount = (UCHAR)count;
	b->sid.IdentifierAuthority.Value[5] = authority;
	memcpy(b->raw + offsetof(SID, SubAuthority), sub,
	       (size_t)count * sizeof(ULONG));
	return &b->sid;
}

static PSID local_system_sid(sidbuf *b)
{
	SID_IDENTIFIER_AUTHORITY nt = SECURITY_NT_AUTHORITY;
	PSID s = make_sid(b, SID_REVISION, 0, 1, SECURITY_LOCAL_SYSTEM_RID, 0);

	b->sid.IdentifierAuthority = nt;
	return s;
}

static PSID unix_user_sid(sidbuf *b, uid_t uid)
{
	SID_IDENTIFIER_AUTHORITY ux = SECURITY_UNIX_USER_AUTHORITY;
	PSID s = make_sid(b, SID_REVISION, 0, 2, 1, uid);

	b->sid.IdentifierAuthority = ux;
	return s;
}

static NTSTATUS secure_connect(HANDLE *h, const char *name, PSID sid,
			       PPORT_VIEW cview)
{
	return NtSecureConnectPort(h, lpct_ustr(name), lpct_qos(), cview, sid,
				   NULL, NULL, NULL, NULL);
}

static NTSTATUS new_section(HANDLE *s)
{
	LARGE_INTEGER size = { .QuadPart = 0x1000 };

	return NtCreateSection(s, SECTION_ALL_ACCESS, NULL, &size,
			       PAGE_READWRITE, SEC_COMMIT, NULL);
}

/* ------------------------------------------------------------------ */
/* NtConnectPort / NtSecureConnectPort: the order of checks (spec 5.4)  */
/* ------------------------------------------------------------------ */

Test(connect, null_port_handle_pointer_is_checked_first)
{
	HANDLE port = lpct_create(PORT, 0x100, 0x100);
	PORT_VIEW cv = { .Length = 0 };
	REMOTE_PORT_VIEW sv = { .Length = 0 };
	sidbuf sb;

	cr_assert_status(NtConnectPort(NULL, lpct_ustr(PORT), lpct_qos(), NULL,
				       NULL, NULL, NULL, NULL),
			 STATUS_ACCESS_VIOLATION);
	/* Before the view lengths, the name and the QoS. */
	cr_assert_status(NtConnectPort(NULL, NULL, NULL, &cv, &sv, NULL, NULL,
				       NULL),
			 STATUS_ACCESS_VIOLATION);
	cr_assert_status(NtConnectPort(NULL, lpct_ustr("\\RPC Control\\none"),
				       lpct_qos(), NULL, NULL, NULL, NULL,
				       NULL),
			 STATUS_ACCESS_VIOLATION);
	cr_assert_status(NtSecureConnectPort(NULL, lpct_ustr(PORT), lpct_qos(),
					     &cv, unix_user_sid(&sb, 12345),
					     &sv, NULL, NULL, NULL),
			 STATUS_ACCESS_VIOLATION);
	cr_assert_status(NtConnectPort((PHANDLE)(uintptr_t)8, lpct_ustr(PORT),
				       lpct_qos(), NULL, NULL, NULL, NULL,
				       NULL),
			 STATUS_ACCESS_VIOLATION);
	assert_next_request_is_fresh(port, PORT);
	cr_assert_status(NtClose(port), STATUS_SUCCESS);
}

/* Windows checks the view Lengths before the QoS pointer (R3K-T, Q14). */
Test(connect, view_lengths_checked_before_qos_and_name)
{
	HANDLE port = lpct_create(PORT, 0x100, 0x100), h = SENTINEL, s;
	PORT_VIEW cv;
	REMOTE_PORT_VIEW sv;
	static const ULONG bad_cv[] = { 0, 1, sizeof(PORT_VIEW) - 1,
					sizeof(PORT_VIEW) + 1,
					sizeof(REMOTE_PORT_VIEW), 0xffffffff };
	static const ULONG bad_sv[] = { 0, sizeof(REMOTE_PORT_VIEW) - 1,
					sizeof(REMOTE_PORT_VIEW) + 1,
					sizeof(PORT_VIEW), 0xffffffff };

	cr_assert_status(new_section(&s), STATUS_SUCCESS);
	for (size_t i = 0; i < sizeof(bad_cv) / sizeof(bad_cv[0]); i++) {
		memset(&cv, 0, sizeof(cv));
		cv.Length = bad_cv[i];
		cv.SectionHandle = s;
		cv.ViewSize = 0x1000;
		cr_assert_status(NtConnectPort(&h, lpct_ustr(PORT), NULL, &cv,
					       NULL, NULL, NULL, NULL),
				 STATUS_INVALID_PARAMETER);
		cr_assert_status(NtConnectPort(&h, NULL, NULL, &cv, NULL, NULL,
					       NULL, NULL),
				 STATUS_INVALID_PARAMETER);
		cr_assert_status(NtConnectPort(&h, lpct_ustr(PORT), lpct_qos(),
					       &cv, NULL, NULL, NULL, NULL),
				 STATUS_INVALID_PARAMETER);
	}
	for (size_t i = 0; i < sizeof(bad_sv) / sizeof(bad_sv[0]); i++) {
		memset(&sv, 0, sizeof(sv));
		sv.Length = bad_sv[i];
		cr_assert_status(NtConnectPort(&h, lpct_ustr(PORT), NULL, NULL,
					       &sv, NULL, NULL, NULL),
				 STATUS_INVALID_PARAMETER);
		cr_assert_status(NtConnectPort(&h, NULL, NULL, NULL, &sv, NULL,
					       NULL, NULL),
				 STATUS_INVALID_PARAMETER);
		/* A good ClientView does not hide a bad ServerView. */
		memset(&cv, 0, sizeof(cv));
		cv.Length = sizeof(PORT_VIEW);
		cv.SectionHandle = s;
		cv.ViewSize = 0x1000;
		cr_assert_status(NtSecureConnectPort(&h, NULL, NULL, &cv, NULL,
						     &sv, NULL, NULL, NULL),
				 STATUS_INVALID_PARAMETER);
	}
	/* Also before the name lookup. */
	cv.Length = 0;
	cr_assert_status(NtConnectPort(&h, lpct_ustr("\\RPC Control\\none"),
				       lpct_qos(), &cv, NULL, NULL, NULL, NULL),
			 STATUS_INVALID_PARAMETER);
	cr_assert_eq(h, SENTINEL);
	assert_next_request_is_fresh(port, PORT);
	cr_assert_status(NtClose(s), STATUS_SUCCESS);
	cr_assert_status(NtClose(port), STATUS_SUCCESS);
}

Test(connect, null_name_or_qos_is_access_violation)
{
	HANDLE port = lpct_create(PORT, 0x100, 0x100), h = SENTINEL;
	REMOTE_PORT_VIEW sv = { .Length = sizeof(REMOTE_PORT_VIEW) };

	cr_assert_status(NtConnectPort(&h, NULL, lpct_qos(), NULL, NULL, NULL,
				       NULL, NULL),
			 STATUS_ACCESS_VIOLATION);
	cr_assert_status(NtConnectPort(&h, lpct_ustr(PORT), NULL, NULL, NULL,
				       NULL, NULL, NULL),
			 STATUS_ACCESS_VIOLATION);
	cr_assert_status(NtConnectPort(&h, NULL, NULL, NULL, NULL, NULL, NULL,
				       NULL),
			 STATUS_ACCESS_VIOLATION);
	/* Good view Lengths do not change that. */
	cr_assert_status(NtConnectPort(&h, lpct_ustr(PORT), NULL, NULL, &sv,
				       NULL, NULL, NULL),
			 STATUS_ACCESS_VIOLATION);
	/* The QoS is mandatory before the name is looked at. */
	cr_assert_status(NtConnectPort(&h, lpct_ustr("\\RPC Control\\none"),
				       NULL, NULL, NULL, NULL, NULL, NULL),
			 STATUS_ACCESS_VIOLATION);
	cr_assert_status(NtConnectPort(&h, lpct_ustr(""), NULL, NULL, NULL,
				       NULL, NULL, NULL),
			 STATUS_ACCESS_VIOLATION);
	cr_assert_status(NtSecureConnectPort(&h, lpct_ustr(PORT), NULL, NULL,
					     NULL, NULL, NULL, NULL, NULL),
			 STATUS_ACCESS_VIOLATION);
	/* Unmapped pointers too. */
	cr_assert_status(NtConnectPort(&h, (PUNICODE_STRING)(uintptr_t)8,
				       lpct_qos(), NULL, NULL, NULL, NULL,
				       NULL),
			 STATUS_ACCESS_VIOLATION);
	cr_assert_status(NtConnectPort(&h, lpct_ustr(PORT),
				       (PSECURITY_QUALITY_OF_SERVICE)(uintptr_t)8,
				       NULL, NULL, NULL, NULL, NULL),
			 STATUS_ACCESS_VIOLATION);
	cr_assert_eq(h, SENTINEL);
	assert_next_request_is_fresh(port, PORT);
	cr_assert_status(NtClose(port), STATUS_SUCCESS);
}

/* The QoS Length field is not checked (spec 5.4 step 3). */
Test(connect, qos_length_is_not_checked)
{
	HANDLE port = lpct_create(PORT, 0x100, 0x100), comm;
	SECURITY_QUALITY_OF_SERVICE qos = { 0, SecurityImpersonation,
					    SECURITY_STATIC_TRACKING, FALSE };
	struct client c;
	pthread_t t;
	lpct_msg m;

	client_init(&c, PORT);
	c.qos = &qos;
	t = client_start_listen(&c, port, &m);
	comm = accept_client(&c, t, &m, NULL);
	close_connection(&c, comm);
	cr_assert_status(NtClose(port), STATUS_SUCCESS);
}

Test(connect, empty_name_is_object_name_invalid)
{
	static WCHAR buf[4] = { '\\', 'x', 0 };
	UNICODE_STRING empty = { 0, 0, NULL };
	UNICODE_STRING empty_buf = { 0, sizeof(buf), buf };
	UNICODE_STRING null_buf = { 4, 4, NULL };
	HANDLE port = lpct_create(PORT, 0x100, 0x100), h = SENTINEL;

	cr_assert_status(NtConnectPort(&h, &empty, lpct_qos(), NULL, NULL, NULL,
				       NULL, NULL),
			 STATUS_OBJECT_NAME_INVALID);
	cr_assert_status(NtConnectPort(&h, &empty_buf, lpct_qos(), NULL, NULL,
				       NULL, NULL, NULL),
			 STATUS_OBJECT_NAME_INVALID);
	/* A Length with no Buffer: an empty name too (spec 5.4 step 4). */
	cr_assert_status(NtConnectPort(&h, &null_buf, lpct_qos(), NULL, NULL,
				       NULL, NULL, NULL),
			 STATUS_OBJECT_NAME_INVALID);
	cr_assert_eq(h, SENTINEL);
	assert_next_request_is_fresh(port, PORT);
	cr_assert_status(NtClose(port), STATUS_SUCCESS);
}

Test(connect, missing_port_is_object_name_not_found)
{
	HANDLE port = lpct_create(PORT, 0x100, 0x100), h = SENTINEL;

	cr_assert_status(lpct_connect(&h, "\\RPC Control\\none", NULL, NULL),
			 STATUS_OBJECT_NAME_NOT_FOUND);
	cr_assert_status(lpct_connect(&h, "\\RPC Control\\connec", NULL, NULL),
			 STATUS_OBJECT_NAME_NOT_FOUND);
	cr_assert_status(lpct_connect(&h, "\\Windows\\ApiPort", NULL, NULL),
			 STATUS_OBJECT_NAME_NOT_FOUND);
	cr_assert_status(lpct_connect(&h, "\\none", NULL, NULL),
			 STATUS_OBJECT_NAME_NOT_FOUND);
	cr_assert_eq(h, SENTINEL);
	cr_assert_status(NtClose(port), STATUS_SUCCESS);
	/* A closed port's name is gone (spec 8.1). */
	cr_assert_status(lpct_connect(&h, PORT, NULL, NULL),
			 STATUS_OBJECT_NAME_NOT_FOUND);
	cr_assert_eq(h, SENTINEL);
}

Test(connect, malformed_names_fail_like_create)
{
	HANDLE h = SENTINEL;

	cr_assert_status(lpct_connect(&h, "RPC Control\\connect", NULL, NULL),
			 STATUS_OBJECT_PATH_SYNTAX_BAD);
	cr_assert_status(lpct_connect(&h, "connect", NULL, NULL),
			 STATUS_OBJECT_PATH_SYNTAX_BAD);
	cr_assert_status(lpct_connect(&h, "\\RPC Control\\\\connect", NULL,
				      NULL),
			 STATUS_OBJECT_NAME_INVALID);
	cr_assert_status(lpct_connect(&h, "\\RPC Control\\", NULL, NULL),
			 STATUS_OBJECT_NAME_INVALID);
	cr_assert_status(lpct_connect(&h, "\\RPC Control\\..\\x", NULL, NULL),
			 STATUS_OBJECT_NAME_INVALID);
	cr_assert_status(lpct_connect(&h, "\\RPC Control\\.", NULL, NULL),
			 STATUS_OBJECT_NAME_INVALID);
	cr_assert_status(lpct_connect(&h, "\\RPC Control\\a/b", NULL, NULL),
			 STATUS_OBJECT_NAME_INVALID);
	cr_assert_status(lpct_connect(&h, "\\NoSuchDir\\x", NULL, NULL),
			 STATUS_OBJECT_PATH_NOT_FOUND);
	cr_assert_status(lpct_connect(&h, "\\RPC Control\\NoSuchDir\\x", NULL,
				      NULL),
			 STATUS_OBJECT_PATH_NOT_FOUND);
	cr_assert_eq(h, SENTINEL);
}

Test(connect, non_socket_at_name_is_object_type_mismatch)
{
	HANDLE h = SENTINEL, port = lpct_create(PORT, 0x100, 0x100);
	int fd;

	fd = open(lpct_path("RPC Control/file"), O_CREAT | O_WRONLY, 0666);
	cr_assert_geq(fd, 0);
	close(fd);
	cr_assert_eq(mkdir(lpct_path("RPC Control/dir"), 0777), 0);
	cr_assert_status(lpct_connect(&h, "\\RPC Control\\file", NULL, NULL),
			 STATUS_OBJECT_TYPE_MISMATCH);
	cr_assert_status(lpct_connect(&h, "\\RPC Control\\FILE", NULL, NULL),
			 STATUS_OBJECT_TYPE_MISMATCH);
	cr_assert_status(lpct_connect(&h, "\\RPC Control\\dir", NULL, NULL),
			 STATUS_OBJECT_TYPE_MISMATCH);
	cr_assert_status(lpct_connect(&h, "\\RPC Control", NULL, NULL),
			 STATUS_OBJECT_TYPE_MISMATCH);
	cr_assert_status(lpct_connect(&h, "\\Windows", NULL, NULL),
			 STATUS_OBJECT_TYPE_MISMATCH);
	cr_assert_eq(h, SENTINEL);
	cr_assert_status(NtClose(port), STATUS_SUCCESS);
}

/* A socket whose server was killed: the port is gone, as a name whose
 * port was deleted (spec 8.1). */
Test(connect, stale_socket_is_object_name_not_found)
{
	pid_t pid = lpct_fork(lpct_create_and_die, PORT);
	struct stat st;
	HANDLE h = SENTINEL;

	cr_assert_eq(lpct_wait(pid), 128 + SIGKILL);
	cr_assert_eq(lstat(lpct_path(PORT_FILE), &st), 0);
	cr_assert(S_ISSOCK(st.st_mode));
	cr_assert_status(lpct_connect(&h, PORT, NULL, NULL),
			 STATUS_OBJECT_NAME_NOT_FOUND);
	cr_assert_eq(h, SENTINEL);
}

/* Spec 5.4 step 7: the section handle is referenced after the name. */
Test(connect, bad_section_handle_checked_after_name_lookup)
{
	HANDLE port = lpct_create(PORT, 0x100, 0x100), h = SENTINEL;
	PORT_VIEW cv = { .Length = sizeof(PORT_VIEW), .ViewSize = 0x1000 };

	cr_assert_status(NtConnectPort(&h, lpct_ustr("\\RPC Control\\none"),
				       lpct_qos(), &cv, NULL, NULL, NULL, NULL),
			 STATUS_OBJECT_NAME_NOT_FOUND);
	cr_assert_status(NtConnectPort(&h, lpct_ustr(""), lpct_qos(), &cv,
				       NULL, NULL, NULL, NULL),
			 STATUS_OBJECT_NAME_INVALID);
	cr_assert_status(NtConnectPort(&h, lpct_ustr(PORT), lpct_qos(), &cv,
				       NULL, NULL, NULL, NULL),
			 STATUS_INVALID_HANDLE);
	cv.SectionHandle = (HANDLE)(uintptr_t)0x7ffff000;
	cr_assert_status(NtConnectPort(&h, lpct_ustr(PORT), lpct_qos(), &cv,
				       NULL, NULL, NULL, NULL),
			 STATUS_INVALID_HANDLE);
	cr_assert_eq(h, SENTINEL);
	assert_next_request_is_fresh(port, PORT);
	cr_assert_status(NtClose(port), STATUS_SUCCESS);
}

/* A handle that is not a section fails as NT's object manager fails a
 * handle of the wrong type. */
Test(connect, port_handle_as_section_is_object_type_mismatch)
{
	HANDLE port = lpct_create(PORT, 0x100, 0x100), h = SENTINEL;
	PORT_VIEW cv = { .Length = sizeof(PORT_VIEW), .ViewSize = 0x1000 };

	cv.SectionHandle = port;
	cr_assert_status(NtConnectPort(&h, lpct_ustr(PORT), lpct_qos(), &cv,
				       NULL, NULL, NULL, NULL),
			 STATUS_OBJECT_TYPE_MISMATCH);
	cr_assert_eq(h, SENTINEL);
	assert_next_request_is_fresh(port, PORT);
	cr_assert_status(NtClose(port), STATUS_SUCCESS);
}

/* ------------------------------------------------------------------ */
/* The connection request and connection information                   */
/* ------------------------------------------------------------------ */

/* R3K-T test_port_connect_param. */
Test(connect, connection_information_both_ways)
{
	HANDLE port = lpct_create(PORT, 0x100, 0x100), comm;
	struct client c;
	pthread_t t;
	lpct_msg m;

	client_init(&c, PORT);
	client_info(&c, "Hello", 6);
	t = client_start_listen(&c, port, &m);
	cr_assert_eq(m.h.u2.s2.Type, LPC_CONNECTION_REQUEST);
	cr_assert_eq(m.h.u2.s2.DataInfoOffset, 0);
	cr_assert_eq(m.h.u1.s1.DataLength, 6);
	cr_assert_eq(m.h.u1.s1.TotalLength, sizeof(PORT_MESSAGE) + 6);
	cr_assert_eq(m.h.u1.s1.TotalLength, 46);
	cr_assert_neq(m.h.MessageId, 0);
	cr_assert_eq(m.h.ClientViewSize, 0);
	cr_assert_eq((uintptr_t)m.h.ClientId.UniqueProcess, (uintptr_t)getpid());
	cr_assert_eq((uintptr_t)m.h.ClientId.UniqueThread,
		     (uintptr_t)atomic_load(&c.tid));
	cr_assert_str_eq((char *)m.data, "Hello");

	strcpy((char *)m.data, "Welcome");
	m.h.u1.s1.DataLength = 8;
	m.h.u1.s1.TotalLength = sizeof(PORT_MESSAGE) + 8;
	comm = accept_client(&c, t, &m, NULL);
	cr_assert_neq(c.handle, SENTINEL);
	cr_assert_not_null(c.handle);
	cr_assert_eq(c.infolen, 6);
	cr_assert_eq(memcmp(c.info, "Welcom", 6), 0, "got %.6s", c.info);
	cr_assert_eq(c.info[6], 'X', "wrote past the client's length");
	cr_assert_eq(c.maxlen, 0x100);
	/* The accept did not modify the server's buffer. */
	cr_assert_eq(m.h.u1.s1.DataLength, 8);
	cr_assert_eq(m.h.u2.s2.Type, LPC_CONNECTION_REQUEST);
	cr_assert_str_eq((char *)m.data, "Welcome");
	close_connection(&c, comm);
	cr_assert_status(NtClose(port), STATUS_SUCCESS);
}

Test(connect, shorter_reply_information_sets_client_length)
{
	HANDLE port = lpct_create(PORT, 0x100, 0x100), comm;
	struct client c;
	pthread_t t;
	lpct_msg m;

	client_init(&c, PORT);
	client_info(&c, "Hello, server", 14);
	t = client_start_listen(&c, port, &m);
	cr_assert_eq(m.h.u1.s1.DataLength, 14);
	cr_assert_eq(m.h.u1.s1.TotalLength, sizeof(PORT_MESSAGE) + 14);
	memcpy(m.data, "Hi!", 4);
	m.h.u1.s1.DataLength = 4;
	comm = accept_client(&c, t, &m, NULL);
	cr_assert_eq(c.infolen, 4);
	cr_assert_str_eq(c.info, "Hi!");
	close_connection(&c, comm);
	cr_assert_status(NtClose(port), STATUS_SUCCESS);
}

Test(connect, no_connection_information)
{
	HANDLE port = lpct_create(PORT, 0x100, 0x100), comm;
	struct client c;
	pthread_t t;
	lpct_msg m;

	/* No pointers at all. */
	client_init(&c, PORT);
	t = client_start_listen(&c, port, &m);
	cr_assert_eq(m.h.u1.s1.DataLength, 0);
	cr_assert_eq(m.h.u1.s1.TotalLength, sizeof(PORT_MESSAGE));
	cr_assert_eq(m.h.ClientViewSize, 0);
	memcpy(m.data, "ignored", 8);
	m.h.u1.s1.DataLength = 8;
	comm = accept_client(&c, t, &m, NULL);
	close_connection(&c, comm);

	/* A zero length: nothing goes either way. */
	client_init(&c, PORT);
	client_info(&c, "", 0);
	t = client_start_listen(&c, port, &m);
	cr_assert_eq(m.h.u1.s1.DataLength, 0);
	cr_assert_eq(m.h.u1.s1.TotalLength, sizeof(PORT_MESSAGE));
	memcpy(m.data, "ignored", 8);
	m.h.u1.s1.DataLength = 8;
	comm = accept_client(&c, t, &m, NULL);
	cr_assert_eq(c.infolen, 0);
	cr_assert_eq(c.info[0], 'X', "wrote past the client's length");
	close_connection(&c, comm);
	cr_assert_status(NtClose(port), STATUS_SUCCESS);
}

/* A connection request read by NtReplyWaitReceivePort: PortContext NULL
 * (spec 5.11). */
Test(connect, request_received_by_reply_wait_receive)
{
	HANDLE port = lpct_create(PORT, 0x100, 0x100), comm;
	struct client c;
	PVOID ctx = (PVOID)(uintptr_t)0x1234;
	pthread_t t;
	lpct_msg m;

	client_init(&c, PORT);
	client_info(&c, "Hello", 6);
	t = client_start(&c);
	memset(&m, 0xff, sizeof(m));
	cr_assert_status(NtReplyWaitReceivePort(port, &ctx, NULL, &m.h),
			 STATUS_SUCCESS);
	cr_assert_eq(m.h.u2.s2.Type, LPC_CONNECTION_REQUEST);
	cr_assert_null(ctx);
	cr_assert_eq(m.h.u1.s1.DataLength, 6);
	cr_assert_eq(m.h.u1.s1.TotalLength, sizeof(PORT_MESSAGE) + 6);
	cr_assert_eq(m.h.ClientViewSize, 0);
	cr_assert_neq(m.h.MessageId, 0);
	cr_assert_eq((uintptr_t)m.h.ClientId.UniqueThread,
		     (uintptr_t)atomic_load(&c.tid));
	comm = accept_client(&c, t, &m, NULL);
	close_connection(&c, comm);
	cr_assert_status(NtClose(port), STATUS_SUCCESS);
}

Test(connect, each_request_gets_a_new_message_id)
{
	HANDLE port = lpct_create(PORT, 0x100, 0x100), comm[2];
	struct client c[2];
	pthread_t t[2];
	lpct_msg m[2];

	for (int i = 0; i < 2; i++) {
		client_init(&c[i], PORT);
		t[i] = client_start(&c[i]);
		listen_next(port, &m[i]);
		cr_assert_neq(m[i].h.MessageId, 0);
		cr_assert_eq((uintptr_t)m[i].h.ClientId.UniqueThread,
			     (uintptr_t)atomic_load(&c[i].tid));
	}
	cr_assert_neq(m[0].h.MessageId, m[1].h.MessageId);
	/* Accepted in the other order: each request names its client. */
	comm[1] = accept_client(&c[1], t[1], &m[1], NULL);
	comm[0] = accept_client(&c[0], t[0], &m[0], NULL);
	for (int i = 0; i < 2; i++) {
		cr_assert_status(c[i].status, STATUS_SUCCESS);
		cr_assert_status(NtClose(c[i].handle), STATUS_SUCCESS);
		cr_assert_status(NtClose(comm[i]), STATUS_SUCCESS);
	}
	cr_assert_status(NtClose(port), STATUS_SUCCESS);
}

Test(connect, max_message_length_is_returned)
{
	static const ULONG lens[] = { 0x100, LPC_MAX_MESSAGE_LENGTH, 0x28,
				      0x101 };

	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		HANDLE port = lpct_create(PORT, 0x100, lens[i]), comm;
		struct client c;
		pthread_t t;
		lpct_msg m;

		client_init(&c, PORT);
		t = client_start_listen(&c, port, &m);
		comm = accept_client(&c, t, &m, NULL);
		cr_assert_eq(c.maxlen, lens[i], "got 0x%x for a port of 0x%x",
			     c.maxlen, lens[i]);
		close_connection(&c, comm);
		cr_assert_status(NtClose(port), STATUS_SUCCESS);
	}
}

Test(connect, name_lookup_ignores_case)
{
	HANDLE port = lpct_create("\\RPC Control\\CaseTest", 0x100, 0x100);
	struct client c;
	pthread_t t;
	lpct_msg m;
	HANDLE comm;

	client_init(&c, "\\rpc control\\CASETEST");
	t = client_start_listen(&c, port, &m);
	comm = accept_client(&c, t, &m, NULL);
	close_connection(&c, comm);
	cr_assert_status(NtClose(port), STATUS_SUCCESS);
}

Test(connect, waitable_port_accepts_connections)
{
	HANDLE port = lpct_create_waitable(PORT, 0x100, 0x100), client, comm;

	comm = connect_pair(port, PORT, NULL, &client);
	cr_assert_status(NtClose(client), STATUS_SUCCESS);
	cr_assert_status(NtClose(comm), STATUS_SUCCESS);
	cr_assert_status(NtClose(port), STATUS_SUCCESS);
}

/* Spec 5.4: with no server section, ServerView comes back empty with its
 * Length set to 0. */
Test(connect, server_view_without_server_section)
{
	HANDLE port = lpct_create(PORT, 0x100, 0x100), comm;
	REMOTE_PORT_VIEW sv = { sizeof(REMOTE_PORT_VIEW), 0x1234,
				(PVOID)(uintptr_t)0x5678 };
	struct client c;
	pthread_t t;
	lpct_msg m;

	client_init(&c, PORT);
	c.sview = &sv;
	t = client_start_listen(&c, port, &m);
	comm = accept_client(&c, t, &m, NULL);
	cr_assert_eq(sv.Length, 0);
	cr_assert_eq(sv.ViewSize, 0);
	cr_assert_null(sv.ViewBase);
	close_connection(&c, comm);
	cr_assert_status(NtClose(port), STATUS_SUCCESS);
}

/* ------------------------------------------------------------------ */
/* Rejection, accept, complete                                         */
/* ------------------------------------------------------------------ */

Test(connect, rejected_client_gets_connection_refused)
{
	HANDLE port = lpct_create(PORT, 0x100, 0x100);
	HANDLE hs = SENTINEL, minus1 = (HANDLE)(intptr_t)-1;
	LARGE_INTEGER zero = { .QuadPart = 0 };
	struct client c;
	pthread_t t;
	lpct_msg m, m2;

	client_init(&c, PORT);
	client_info(&c, "Hello", 6);
	c.hold = true;
	t = client_start_listen(&c, port, &m);
	cr_assert_status(NtAcceptConnectPort(&hs, NULL, &m.h, FALSE, NULL,
					     NULL),
			 STATUS_SUCCESS);
	cr_assert_eq(hs, SENTINEL, "reject wrote *PortHandle");
	/* The request is spent: neither accept nor reject finds it. */
	cr_assert_status(NtAcceptConnectPort(&minus1, NULL, &m.h, TRUE, NULL,
					     NULL),
			 STATUS_REPLY_MESSAGE_MISMATCH);
	cr_assert_status(NtAcceptConnectPort(&minus1, NULL, &m.h, FALSE, NULL,
					     NULL),
			 STATUS_REPLY_MESSAGE_MISMATCH);
	cr_assert_eq(minus1, (HANDLE)(intptr_t)-1);
	/* The client wakes at once. */
	cr_assert(client_returned_within(&c, 10000), "refused client hangs");
	cr_assert_status(c.status, STATUS_PORT_CONNECTION_REFUSED);
	cr_assert_eq(c.handle, SENTINEL, "refused client's handle written");
	/* Nothing else arrived for the server. */
	cr_assert_status(NtReplyWaitReceivePortEx(port, NULL, NULL, &m2.h,
						  &zero),
			 STATUS_TIMEOUT);
	client_finish(&c, t);
	assert_next_request_is_fresh(port, PORT);
	cr_assert_status(NtClose(port), STATUS_SUCCESS);
}

/* Spec 5.4 (ReactOS order): the server's reply data still comes back on
 * rejection. */
Test(connect, rejection_returns_reply_information)
{
	HANDLE port = lpct_create(PORT, 0x100, 0x100), hs = SENTINEL;
	struct client c;
	pthread_t t;
	lpct_msg m;

	client_init(&c, PORT);
	client_info(&c, "Hello", 6);
	t = client_start_listen(&c, port, &m);
	memcpy(m.data, "Nope", 5);
	m.h.u1.s1.DataLength = 5;
	cr_assert_status(NtAcceptConnectPort(&hs, NULL, &m.h, FALSE, NULL,
					     NULL),
			 STATUS_SUCCESS);
	client_finish(&c, t);
	cr_assert_status(c.status, STATUS_PORT_CONNECTION_REFUSED);
	cr_assert_eq(c.handle, SENTINEL);
	cr_assert_eq(c.infolen, 5);
	cr_assert_str_eq(c.info, "Nope");
	cr_assert_status(NtClose(port), STATUS_SUCCESS);
}

/* R3K-T test_port_connect_handle_output: the client's output handle is
 * still unwritten after the accept and is written after the complete. */
Test(connect, accept_does_not_wake_client_before_complete)
{
	HANDLE port = lpct_create(PORT, 0x100, 0x100), comm;
	struct client c;
	pthread_t t;
	lpct_msg m;

	client_init(&c, PORT);
	t = client_start_listen(&c, port, &m);
	comm = NULL;
	cr_assert_status(NtAcceptConnectPort(&comm, NULL, &m.h, TRUE, NULL,
					     NULL),
			 STATUS_SUCCESS);
	cr_assert_not_null(comm);
	/* Something that must not happen: give a wrongly woken client
	 * 200 ms to show itself. */
	cr_assert(!client_returned_within(&c, 200), "accept woke the client");
	cr_assert_eq(*(volatile HANDLE *)&c.handle, SENTINEL,
		     "handle written before NtCompleteConnectPort");
	cr_assert_status(NtCompleteConnectPort(comm), STATUS_SUCCESS);
	client_finish(&c, t);
	cr_assert_status(c.status, STATUS_SUCCESS);
	cr_assert(c.handle != SENTINEL && c.handle != NULL);
	close_connection(&c, comm);
	cr_assert_status(NtClose(port), STATUS_SUCCESS);
}

static PVOID receive_context(HANDLE on, HANDLE from, const char *text)
{
	lpct_msg m;
	PVOID ctx = (PVOID)(uintptr_t)0x1111;
	CSHORT len = (CSHORT)(strlen(text) + 1);

	lpct_msg_init(&m, text, len);
	cr_assert_status(NtRequestPort(from, &m.h), STATUS_SUCCESS);
	memset(&m, 0, sizeof(m));
	cr_assert_status(NtReplyWaitReceivePort(on, &ctx, NULL, &m.h),
			 STATUS_SUCCESS);
	cr_assert_eq(m.h.u2.s2.Type, LPC_DATAGRAM);
	cr_assert_str_eq((char *)m.data, text);
	return ctx;
}

/* Spec 4.2: PortContext defaults to the comm port's handle value; given
 * values come back with every message of that connection. */
Test(connect, port_context_default_and_given_values)
{
	HANDLE port = lpct_create(PORT, 0x100, 0x100);
	HANDLE ca, cb, cc, sa, sb, sc;
	PVOID ctx;
	lpct_msg m;

	sa = connect_pair(port, PORT, NULL, &ca);
	sb = connect_pair(port, PORT, (PVOID)(uintptr_t)0xf00baa, &cb);
	sc = connect_pair(port, PORT, (PVOID)(uintptr_t)1234, &cc);
	cr_assert_eq(receive_context(port, ca, "a"), sa);
	cr_assert_eq(receive_context(port, cb, "b"),
		     (PVOID)(uintptr_t)0xf00baa);
	cr_assert_eq(receive_context(port, cc, "c"), (PVOID)(uintptr_t)1234);
	/* The same through a comm port handle (one shared queue). */
	cr_assert_eq(receive_context(sa, cb, "b2"),
		     (PVOID)(uintptr_t)0xf00baa);
	cr_assert_eq(receive_context(sc, ca, "a2"), sa);
	/* And with LPC_PORT_CLOSED when the client goes. */
	cr_assert_status(NtClose(cb), STATUS_SUCCESS);
	ctx = NULL;
	memset(&m, 0, sizeof(m));
	cr_assert_status(NtReplyWaitReceivePort(port, &ctx, NULL, &m.h),
			 STATUS_SUCCESS);
	cr_assert_eq(m.h.u2.s2.Type, LPC_PORT_CLOSED);
	cr_assert_eq(ctx, (PVOID)(uintptr_t)0xf00baa);
	cr_assert_status(NtClose(ca), STATUS_SUCCESS);
	cr_assert_status(NtClose(cc), STATUS_SUCCESS);
	cr_assert_status(NtClose(sa), STATUS_SUCCESS);
	cr_assert_status(NtClose(sb), STATUS_SUCCESS);
	cr_assert_status(NtClose(sc), STATUS_SUCCESS);
	cr_assert_status(NtClose(port), STATUS_SUCCESS);
}

Test(connect, complete_connect_errors)
{
	HANDLE port = lpct_create(PORT, 0x100, 0x100);
	HANDLE u = lpct_create(NULL, 0, 0x100), s, comm;
	struct client c;
	pthread_t t;
	lpct_msg m;

	cr_assert_status(new_section(&s), STATUS_SUCCESS);
	cr_assert_status(NtCompleteConnectPort(NULL), STATUS_INVALID_HANDLE);
	cr_assert_status(NtCompleteConnectPort((HANDLE)(uintptr_t)0x7ffff000),
			 STATUS_INVALID_HANDLE);
	cr_assert_status(NtCompleteConnectPort(port),
			 STATUS_INVALID_PORT_HANDLE);
	cr_assert_status(NtCompleteConnectPort(u), STATUS_INVALID_PORT_HANDLE);
	cr_assert_status(NtCompleteConnectPort(s), STATUS_OBJECT_TYPE_MISMATCH);
	cr_assert_status(NtCompleteConnectPort(NtCurrentProcess()),
			 STATUS_OBJECT_TYPE_MISMATCH);
	cr_assert_status(NtCompleteConnectPort(NtCurrentThread()),
			 STATUS_OBJECT_TYPE_MISMATCH);

	client_init(&c, PORT);
	t = client_start_listen(&c, port, &m);
	comm = NULL;
	cr_assert_status(NtAcceptConnectPort(&comm, NULL, &m.h, TRUE, NULL,
					     NULL),
			 STATUS_SUCCESS);
	/* The failed calls above did not complete anything. */
	cr_assert(!atomic_load(&c.returned));
	cr_assert_status(NtCompleteConnectPort(comm), STATUS_SUCCESS);
	cr_assert_status(NtCompleteConnectPort(comm), STATUS_INVALID_PARAMETER);
	client_finish(&c, t);
	cr_assert_status(c.status, STATUS_SUCCESS);
	/* A client port is not a server communication port. */
	cr_assert_status(NtCompleteConnectPort(c.handle),
			 STATUS_INVALID_PORT_HANDLE);
	close_connection(&c, comm);
	cr_assert_status(NtCompleteConnectPort(comm), STATUS_INVALID_HANDLE);
	cr_assert_status(NtClose(s), STATUS_SUCCESS);
	cr_assert_status(NtClose(u), STATUS_SUCCESS);
	cr_assert_status(NtClose(port), STATUS_SUCCESS);
}

Test(connect, accept_connect_errors)
{
	HANDLE port = lpct_create(PORT, 0x100, 0x100), comm = SENTINEL, s;
	PORT_VIEW sv;
	REMOTE_PORT_VIEW cv;
	PORT_MESSAGE bad;
	struct client c;
	pthread_t t;
	lpct_msg m;

	cr_assert_status(new_section(&s), STATUS_SUCCESS);
	client_init(&c, PORT);
	c.hold = true;
	t = client_start_listen(&c, port, &m);

	/* 1. The handle pointer, even when rejecting. */
	cr_assert_status(NtAcceptConnectPort(NULL, NULL, &m.h, TRUE, NULL,
					     NULL),
			 STATUS_ACCESS_VIOLATION);
	cr_assert_status(NtAcceptConnectPort(NULL, NULL, &m.h, FALSE, NULL,
					     NULL),
			 STATUS_ACCESS_VIOLATION);
	cr_assert_status(NtAcceptConnectPort((PHANDLE)(uintptr_t)8, NULL, &m.h,
					     FALSE, NULL, NULL),
			 STATUS_ACCESS_VIOLATION);
	/* 2. The request itself. */
	cr_assert_status(NtAcceptConnectPort(&comm, NULL, NULL, TRUE, NULL,
					     NULL),
			 STATUS_ACCESS_VIOLATION);
	cr_assert_status(NtAcceptConnectPort(&comm, NULL,
					     (PPORT_MESSAGE)(uintptr_t)8, FALSE,
					     NULL, NULL),
			 STATUS_ACCESS_VIOLATION);
	/* 3. View Lengths, before the ClientId is looked up. */
	memset(&bad, 0, sizeof(bad));
	memset(&sv, 0, sizeof(sv));
	sv.SectionHandle = s;
	memset(&cv, 0, sizeof(cv));
	cr_assert_status(NtAcceptConnectPort(&comm, NULL, &m.h, TRUE, &sv,
					     NULL),
			 STATUS_INVALID_PARAMETER);
	cr_assert_status(NtAcceptConnectPort(&comm, NULL, &m.h, TRUE, NULL,
					     &cv),
			 STATUS_INVALID_PARAMETER);
	cr_assert_status(NtAcceptConnectPort(&comm, NULL, &bad, TRUE, &sv,
					     NULL),
			 STATUS_INVALID_PARAMETER);
	sv.Length = sizeof(REMOTE_PORT_VIEW);
	cr_assert_status(NtAcceptConnectPort(&comm, NULL, &m.h, TRUE, &sv,
					     NULL),
			 STATUS_INVALID_PARAMETER);
	cv.Length = sizeof(PORT_VIEW);
	cr_assert_status(NtAcceptConnectPort(&comm, NULL, &m.h, TRUE, NULL,
					     &cv),
			 STATUS_INVALID_PARAMETER);
	/* 4. A zeroed request names no thread. */
	cr_assert_status(NtAcceptConnectPort(&comm, NULL, &bad, TRUE, NULL,
					     NULL),
			 STATUS_INVALID_CID);
	cr_assert_status(NtAcceptConnectPort(&comm, NULL, &bad, FALSE, NULL,
					     NULL),
			 STATUS_INVALID_CID);
	bad.ClientId.UniqueProcess = (HANDLE)(uintptr_t)getpid();
	bad.ClientId.UniqueThread = (HANDLE)(uintptr_t)0x7ffffff0;
	bad.MessageId = m.h.MessageId;
	cr_assert_status(NtAcceptConnectPort(&comm, NULL, &bad, TRUE, NULL,
					     NULL),
			 STATUS_INVALID_CID);
	/* 5. Right thread, wrong MessageId. */
	bad.ClientId = m.h.ClientId;
	bad.MessageId = 0;
	cr_assert_status(NtAcceptConnectPort(&comm, NULL, &bad, TRUE, NULL,
					     NULL),
			 STATUS_REPLY_MESSAGE_MISMATCH);
	cr_assert_status(NtAcceptConnectPort(&comm, NULL, &bad, FALSE, NULL,
					     NULL),
			 STATUS_REPLY_MESSAGE_MISMATCH);
	bad.MessageId = m.h.MessageId + 1000;
	cr_assert_status(NtAcceptConnectPort(&comm, NULL, &bad, TRUE, NULL,
					     NULL),
			 STATUS_REPLY_MESSAGE_MISMATCH);
	/* A live thread that is not connecting. */
	bad.ClientId.UniqueThread = (HANDLE)(uintptr_t)lpct_gettid();
	bad.MessageId = m.h.MessageId;
	cr_assert_status(NtAcceptConnectPort(&comm, NULL, &bad, TRUE, NULL,
					     NULL),
			 STATUS_REPLY_MESSAGE_MISMATCH);
	cr_assert_eq(comm, SENTINEL, "a failed accept wrote the handle");
	cr_assert(!atomic_load(&c.returned), "a failed accept woke the client");

	/* No TotalLength check: ClientId and MessageId are enough. */
	memset(&bad, 0, sizeof(bad));
	bad.ClientId = m.h.ClientId;
	bad.MessageId = m.h.MessageId;
	cr_assert_status(NtAcceptConnectPort(&comm, NULL, &bad, TRUE, NULL,
					     NULL),
			 STATUS_SUCCESS);
	cr_assert_neq(comm, SENTINEL);
	/* Accepted once: again, or a late reject, mismatches. */
	cr_assert_status(NtAcceptConnectPort(&comm, NULL, &m.h, TRUE, NULL,
					     NULL),
			 STATUS_REPLY_MESSAGE_MISMATCH);
	cr_assert_status(NtAcceptConnectPort(&comm, NULL, &m.h, FALSE, NULL,
					     NULL),
			 STATUS_REPLY_MESSAGE_MISMATCH);
	cr_assert_status(NtCompleteConnectPort(comm), STATUS_SUCCESS);
	client_finish(&c, t);
	cr_assert_status(c.status, STATUS_SUCCESS);
	close_connection(&c, comm);
	cr_assert_status(NtClose(s), STATUS_SUCCESS);
	cr_assert_status(NtClose(port), STATUS_SUCCESS);
}

/* R3K-T: bad receive pointers fail at once and consume nothing.  A
 * waitable port lets the test wait until the request is queued. */
Test(connect, listen_pointer_checks_do_not_consume_request)
{
	HANDLE port = lpct_create_waitable(PORT, 0x100, 0x100), comm;
	struct client c;
	pthread_t t;
	lpct_msg m;

	client_init(&c, PORT);
	client_info(&c, "Hello", 6);
	t = client_start(&c);
	cr_assert_status(NtWaitForSingleObject(port, FALSE, NULL),
			 STATUS_SUCCESS);
	cr_assert_status(NtListenPort(port, NULL), STATUS_ACCESS_VIOLATION);
	cr_assert_status(NtListenPort(port, (PPORT_MESSAGE)(uintptr_t)1),
			 STATUS_DATATYPE_MISALIGNMENT);
	cr_assert_status(NtListenPort(port, (PPORT_MESSAGE)(uintptr_t)4),
			 STATUS_ACCESS_VIOLATION);
	cr_assert_status(NtListenPort(port, (PPORT_MESSAGE)((char *)&m + 2)),
			 STATUS_DATATYPE_MISALIGNMENT);
	listen_next(port, &m);
	cr_assert_eq(m.h.u1.s1.DataLength, 6);
	cr_assert_str_eq((char *)m.data, "Hello");
	cr_assert_eq((uintptr_t)m.h.ClientId.UniqueThread,
		     (uintptr_t)atomic_load(&c.tid));
	comm = accept_client(&c, t, &m, NULL);
	close_connection(&c, comm);
	cr_assert_status(NtClose(port), STATUS_SUCCESS);
}

Test(connect, listen_bad_handles)
{
	HANDLE s;
	lpct_msg m;

	cr_assert_status(new_section(&s), STATUS_SUCCESS);
	cr_assert_status(NtListenPort(NULL, &m.h), STATUS_INVALID_HANDLE);
	cr_assert_status(NtListenPort((HANDLE)(uintptr_t)0x7ffff000, &m.h),
			 STATUS_INVALID_HANDLE);
	cr_assert_status(NtListenPort(s, &m.h), STATUS_OBJECT_TYPE_MISMATCH);
	cr_assert_status(NtListenPort(NtCurrentProcess(), &m.h),
			 STATUS_OBJECT_TYPE_MISMATCH);
	cr_assert_status(NtClose(s), STATUS_SUCCESS);
}

/* ------------------------------------------------------------------ */
/* RequiredServerSid (spec 5.4 step 6)                                  */
/* ------------------------------------------------------------------ */

Test(connect, secure_connect_without_sid_is_plain_connect)
{
	HANDLE port = lpct_create(PORT, 0x100, 0x100), comm;
	struct client c;
	pthread_t t;
	lpct_msg m;

	client_init(&c, PORT);
	client_info(&c, "Hello", 6);
	t = client_start(&c);	/* NtSecureConnectPort with sid NULL */
	listen_next(port, &m);
	cr_assert_eq(m.h.u1.s1.DataLength, 6);
	comm = accept_client(&c, t, &m, NULL);
	cr_assert_eq(c.maxlen, 0x100);
	close_connection(&c, comm);
	cr_assert_status(NtClose(port), STATUS_SUCCESS);
}

static void sid_connect_ok(HANDLE port, PSID sid)
{
	struct client c;
	pthread_t t;
	lpct_msg m;
	HANDLE comm;

	client_init(&c, PORT);
	c.sid = sid;
	t = client_start_listen(&c, port, &m);
	comm = accept_client(&c, t, &m, NULL);
	close_connection(&c, comm);
}

Test(connect, server_sid_matches_root_server)
{
	HANDLE port;
	sidbuf sb;

	if (geteuid() != 0)
		cr_skip_test("the server must run as root");
	port = lpct_create(PORT, 0x100, 0x100);
	sid_connect_ok(port, local_system_sid(&sb));
	sid_connect_ok(port, unix_user_sid(&sb, 0));
	cr_assert_status(NtClose(port), STATUS_SUCCESS);
}

Test(connect, server_sid_mismatch)
{
	HANDLE port, h = SENTINEL;
	SID_IDENTIFIER_AUTHORITY nt = SECURITY_NT_AUTHORITY;
	sidbuf sb;

	if (geteuid() != 0)
		cr_skip_test("the server must run as root");
	port = lpct_create(PORT, 0x100, 0x100);
	/* Another uid. */
	cr_assert_status(secure_connect(&h, PORT,
					unix_user_sid(&sb, LPCT_NOBODY), NULL),
			 STATUS_SERVER_SID_MISMATCH);
	cr_assert_status(secure_connect(&h, PORT, unix_user_sid(&sb, 1), NULL),
			 STATUS_SERVER_SID_MISMATCH);
	/* S-1-22-2-0 is a Unix group, not a user. */
	cr_assert_status(secure_connect(&h, PORT,
					make_sid(&sb, SID_REVISION, 22, 2, 2,
						 0),
					NULL),
			 STATUS_SERVER_SID_MISMATCH);
	/* S-1-5-32-544 (Administrators), S-1-1-0 (Everyone), S-1-5-19. */
	make_sid(&sb, SID_REVISION, 0, 2, 32, 544);
	sb.sid.IdentifierAuthority = nt;
	cr_assert_status(secure_connect(&h, PORT, &sb.sid, NULL),
			 STATUS_SERVER_SID_MISMATCH);
	cr_assert_status(secure_connect(&h, PORT,
					make_sid(&sb, SID_REVISION, 1, 1, 0,
						 0),
					NULL),
			 STATUS_SERVER_SID_MISMATCH);
	make_sid(&sb, SID_REVISION, 0, 1, 19, 0);
	sb.sid.IdentifierAuthority = nt;
	cr_assert_status(secure_connect(&h, PORT, &sb.sid, NULL),
			 STATUS_SERVER_SID_MISMATCH);
	/* S-1-5-18 with a bad revision is not LocalSystem. */
	local_system_sid(&sb);
	sb.sid.Revision = 2;
	cr_assert_status(secure_connect(&h, PORT, &sb.sid, NULL),
			 STATUS_SERVER_SID_MISMATCH);
	/* S-1-5-18-0: one sub-authority too many. */
	make_sid(&sb, SID_REVISION, 0, 2, 18, 0);
	sb.sid.IdentifierAuthority = nt;
	cr_assert_status(secure_connect(&h, PORT, &sb.sid, NULL),
			 STATUS_SERVER_SID_MISMATCH);
	cr_assert_eq(h, SENTINEL);
	assert_next_request_is_fresh(port, PORT);
	cr_assert_status(NtClose(port), STATUS_SUCCESS);
}

/* The SID is compared after the name lookup and before the section
 * handle is referenced (spec 5.4 steps 4, 6, 7). */
Test(connect, server_sid_checked_between_name_and_section)
{
	HANDLE port = lpct_create(PORT, 0x100, 0x100), h = SENTINEL;
	PORT_VIEW cv = { .Length = sizeof(PORT_VIEW), .ViewSize = 0x1000 };
	sidbuf sb;
	uid_t other = geteuid() == LPCT_NOBODY ? 1 : LPCT_NOBODY;

	cr_assert_status(secure_connect(&h, "\\RPC Control\\none",
					unix_user_sid(&sb, other), NULL),
			 STATUS_OBJECT_NAME_NOT_FOUND);
	cr_assert_status(secure_connect(&h, PORT, unix_user_sid(&sb, other),
					&cv),
			 STATUS_SERVER_SID_MISMATCH);
	cr_assert_status(secure_connect(&h, PORT, unix_user_sid(&sb, geteuid()),
					&cv),
			 STATUS_INVALID_HANDLE);
	cr_assert_eq(h, SENTINEL);
	assert_next_request_is_fresh(port, PORT);
	cr_assert_status(NtClose(port), STATUS_SUCCESS);
}

/* A server running as uid 65534 in another process. */
struct sid_server {
	int ready[2];
};

static void nobody_server(void *arg)
{
	struct sid_server *ss = arg;
	HANDLE port, comm = NULL;
	NTSTATUS s;
	lpct_msg m;
	PVOID ctx;

	close(ss->ready[0]);
	if (setgroups(0, NULL) || setgid(LPCT_NOBODY) || setuid(LPCT_NOBODY))
		_exit(90);
	s = lpct_try_create(&port, PORT, 0x100, 0x100);
	if (write(ss->ready[1], &s, sizeof(s)) != sizeof(s) || s)
		_exit(1);
	close(ss->ready[1]);
	/* The first request must be the one that passed the SID check. */
	memset(&m, 0, sizeof(m));
	if (NtListenPort(port, &m.h))
		_exit(2);
	if (m.h.u1.s1.DataLength != 5 || strcmp((char *)m.data, "good"))
		_exit(3);
	if (NtAcceptConnectPort(&comm, NULL, &m.h, TRUE, NULL, NULL) ||
	    NtCompleteConnectPort(comm))
		_exit(4);
	/* Until the client closes its port. */
	do {
		if (NtReplyWaitReceivePort(port, &ctx, NULL, &m.h))
			_exit(5);
	} while (m.h.u2.s2.Type != LPC_PORT_CLOSED);
	_exit(0);
}

Test(connect, server_sid_matches_server_uid)
{
	struct sid_server ss;
	HANDLE h = SENTINEL;
	NTSTATUS s = -1;
	char info[8] = "good";
	ULONG infolen = 5;
	sidbuf sb;
	pid_t pid;

	if (geteuid() != 0)
		cr_skip_test("needs root to switch to uid %d", LPCT_NOBODY);
	lpct_ns_init();
	cr_assert_eq(pipe(ss.ready), 0);
	pid = lpct_fork(nobody_server, &ss);
	close(ss.ready[1]);
	cr_assert_eq(read(ss.ready[0], &s, sizeof(s)), (ssize_t)sizeof(s));
	close(ss.ready[0]);
	cr_assert_status(s, STATUS_SUCCESS);

	cr_assert_status(secure_connect(&h, PORT, local_system_sid(&sb), NULL),
			 STATUS_SERVER_SID_MISMATCH);
	cr_assert_status(secure_connect(&h, PORT, unix_user_sid(&sb, 0), NULL),
			 STATUS_SERVER_SID_MISMATCH);
	cr_assert_status(secure_connect(&h, PORT,
					unix_user_sid(&sb, LPCT_NOBODY + 1),
					NULL),
			 STATUS_SERVER_SID_MISMATCH);
	cr_assert_eq(h, SENTINEL);
	cr_assert_status(NtSecureConnectPort(&h, lpct_ustr(PORT), lpct_qos(),
					     NULL,
					     unix_user_sid(&sb, LPCT_NOBODY),
					     NULL, NULL, info, &infolen),
			 STATUS_SUCCESS);
	cr_assert(h != SENTINEL && h != NULL);
	cr_assert_status(NtClose(h), STATUS_SUCCESS);
	cr_assert_eq(lpct_wait(pid), 0, "server process failed");
}

/* ------------------------------------------------------------------ */
/* Across users and processes                                          */
/* ------------------------------------------------------------------ */

static NTSTATUS connect_and_close(void *name)
{
	HANDLE h = SENTINEL;
	NTSTATUS s = lpct_connect(&h, name, NULL, NULL);

	if (s == STATUS_SUCCESS && NtClose(h) != STATUS_SUCCESS)
		return STATUS_UNSUCCESSFUL;
	if (s != STATUS_SUCCESS && h != SENTINEL)
		return STATUS_UNSUCCESSFUL;
	return s;
}

Test(connect, other_user_connects_across_processes)
{
	HANDLE port = lpct_create(PORT, 0x100, 0x100), comm;
	struct lpct_nobody n;
	lpct_msg m;

	lpct_nobody_start(&n, connect_and_close, PORT);
	listen_next(port, &m);
	cr_assert_eq((uintptr_t)m.h.ClientId.UniqueProcess, (uintptr_t)n.pid);
	cr_assert_neq((uintptr_t)m.h.ClientId.UniqueThread, 0);
	accept_complete(&m, NULL, &comm);
	cr_assert_status(lpct_nobody_finish(&n), STATUS_SUCCESS);
	cr_assert_status(NtClose(comm), STATUS_SUCCESS);
	cr_assert_status(NtClose(port), STATUS_SUCCESS);
}

/* The socket file's mode is the port's security descriptor. */
Test(connect, socket_mode_restricts_connect)
{
	HANDLE port = lpct_create(PORT, 0x100, 0x100);
	struct lpct_nobody n;

	cr_assert_eq(chmod(lpct_path(PORT_FILE), 0600), 0);
	lpct_nobody_start(&n, connect_and_close, PORT);
	cr_assert_status(lpct_nobody_finish(&n), STATUS_ACCESS_DENIED);
	/* The owner still connects, and nothing was queued meanwhile. */
	assert_next_request_is_fresh(port, PORT);
	cr_assert_status(NtClose(port), STATUS_SUCCESS);
}
