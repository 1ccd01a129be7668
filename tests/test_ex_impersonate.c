/* SPDX-License-Identifier: MIT */
/*
 * test_ex_impersonate.c - examples/lpc-impersonate, a root server reading
 * files on behalf of clients (issue 6, experiment 1), held to what it
 * claims: a client running as uid 65534 is refused a 0600 root file and
 * gets the exact bytes of a readable one, a root client gets the secret,
 * the --no-impersonate server leaks it (so these tests can fail), and the
 * server stays root and reverts after every request.  One test does the
 * same with liblpc directly, to see the reverted thread read the secret
 * again.
 *
 * The example runs from $LPC_BUILD (default build/) under each test's
 * private $LPC_ROOT.  Its clients become uid 65534 with `client --as`
 * before they connect.  Every read of a child's output and every wait is
 * bounded; children die with the test (PDEATHSIG) or are killed in .fini.
 * Without root the tests skip visibly.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"

static void suite_init(void);
static void suite_fini(void);

TestSuite(ex_impersonate, .init = suite_init, .fini = suite_fini,
	  .timeout = 30);

#define SECRET "SECRET-0600-root-only-bytes\n"
#define PUBLIC "public: 0123456789abcdef\n"
#define CHILD_MS 10000
#define OUT_MAX 16384

static char bin[1024], secret_path[512], public_path[512];
static pid_t kids[16];
static int nkids;

/* ------------------------------------------------------------------ */
/* Fixture                                                             */
/* ------------------------------------------------------------------ */

static void write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

	cr_assert_geq(fd, 0, "%s: %s", path, strerror(errno));
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	cr_assert_eq(fchown(fd, 0, 0), 0);
	cr_assert_eq(fchmod(fd, mode), 0);
	close(fd);
}

static void suite_init(void)
{
	const char *b = getenv("LPC_BUILD");
	char dir[400];

	lpct_setup();
	snprintf(bin, sizeof(bin), "%s/examples/lpc-impersonate",
		 b ? b : "build");
	if (geteuid() != 0)
		return;	/* every test skips */
	/* The namespace root is 0755: uid 65534 reaches files/ too. */
	snprintf(dir, sizeof(dir), "%s/files", lpct_root());
	cr_assert_eq(mkdir(dir, 0755), 0);
	cr_assert_eq(chmod(dir, 0755), 0);
	snprintf(secret_path, sizeof(secret_path), "%s/secret.txt", dir);
	snprintf(public_path, sizeof(public_path), "%s/public.txt", dir);
	write_file(secret_path, SECRET, 0600);
	write_file(public_path, PUBLIC, 0644);
}

static void suite_fini(void)
{
	for (int i = 0; i < nkids; i++) {
		kill(kids[i], SIGKILL);
		waitpid(kids[i], NULL, 0);
	}
	nkids = 0;
	lpct_teardown();
}

static void need_root(void)
{
	if (geteuid() != 0)
		cr_skip_test("needs root: the server is privileged and the "
			     "client switches to uid %d", LPCT_NOBODY);
	cr_assert_eq(access(bin, X_OK), 0,
		     "%s: %s (build it, or set LPC_BUILD)", bin,
		     strerror(errno));
}

static void kid_forget(pid_t pid)
{
	for (int i = 0; i < nkids; i++)
		if (kids[i] == pid) {
			kids[i] = kids[--nkids];
			return;
		}
}

/* ------------------------------------------------------------------ */
/* Running the example                                                 */
/* ------------------------------------------------------------------ */

struct proc {
	pid_t pid;
	int fd;			/* its stdout and stderr */
	char out[OUT_MAX];
	size_t len;
};

static void spawn(struct proc *p, const char *const *args)
{
	const char *argv[16];
	int pfd[2], n = 0;

	argv[n++] = bin;
	for (; *args && n < 15; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	cr_assert_eq(pipe2(pfd, O_CLOEXEC), 0);
	p->len = 0;
	p->out[0] = 0;
	p->pid = fork();
	cr_assert_neq(p->pid, -1);
	if (p->pid == 0) {
		lpct_child_enter();
		dup2(pfd[1], 1);
		dup2(pfd[1], 2);
		execv(bin, (char *const *)argv);
		_exit(127);
	}
	close(pfd[1]);
	p->fd = pfd[0];
	cr_assert_lt(nkids, 16);
	kids[nkids++] = p->pid;
}

/* Read p's output until needle shows (needle NULL: until EOF), for at
 * most CHILD_MS.  True if found (or EOF reached). */
static bool read_until(struct proc *p, const char *needle)
{
	long end = lpct_now_ms() + CHILD_MS;

	for (;;) {
		struct pollfd pfd = { .fd = p->fd, .events = POLLIN };
		long left = end - lpct_now_ms();
		ssize_t n;

		if (needle && strstr(p->out, needle))
			return true;
		if (left <= 0)
			return false;
		if (poll(&pfd, 1, (int)left) <= 0)
			continue;
		n = read(p->fd, p->out + p->len, sizeof(p->out) - 1 - p->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return !needle;
		p->len += (size_t)n;
		p->out[p->len] = 0;
	}
}

/* Collect the rest of p's output and its exit status. */
static int finish(struct proc *p)
{
	long end = lpct_now_ms() + CHILD_MS;
	int st;

	cr_assert(read_until(p, NULL), "pid %d: no EOF in %d ms; output:\n%s",
		  (int)p->pid, CHILD_MS, p->out);
	close(p->fd);
	while (waitpid(p->pid, &st, WNOHANG) == 0) {
		cr_assert_lt(lpct_now_ms(), end, "pid %d did not exit",
			     (int)p->pid);
		usleep(2000);
	}
	kid_forget(p->pid);
	cr_assert(WIFEXITED(st), "pid %d died of signal %d; output:\n%s",
		  (int)p->pid, WIFSIGNALED(st) ? WTERMSIG(st) : 0, p->out);
	return WEXITSTATUS(st);
}

static void start_server(struct proc *srv, bool impersonate)
{
	const char *with[] = { "server", NULL };
	const char *without[] = { "server", "--no-impersonate", NULL };

	spawn(srv, impersonate ? with : without);
	cr_assert(read_until(srv, "listening on"),
		  "the server did not start; output:\n%s", srv->out);
}

/* SIGTERM: the server prints its summary and must exit 0. */
static void stop_server(struct proc *srv)
{
	cr_assert_eq(kill(srv->pid, SIGTERM), 0);
	cr_assert_eq(finish(srv), 0, "server output:\n%s", srv->out);
}

/* One client request; its exit code (0 success, 3 refused), output in c. */
static int client(struct proc *c, const char *as, const char *qos,
		  const char *path, const char *off, const char *len)
{
	const char *argv[12];
	int n = 0;

	argv[n++] = "client";
	if (as) {
		argv[n++] = "--as";
		argv[n++] = as;
	}
	if (qos) {
		argv[n++] = "--qos";
		argv[n++] = qos;
	}
	argv[n++] = path;
	if (off) {
		argv[n++] = off;
		argv[n++] = len;
	}
	argv[n] = NULL;
	spawn(c, argv);
	return finish(c);
}

static int count(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

#define NOBODY_STR "65534"

/* ------------------------------------------------------------------ */
/* Through the example                                                 */
/* ------------------------------------------------------------------ */

Test(ex_impersonate, nobody_client_is_denied_the_root_only_file)
{
	struct proc srv, c;

	need_root();
	start_server(&srv, true);
	cr_assert_eq(client(&c, NOBODY_STR, NULL, secret_path, NULL, NULL), 3,
		     "client output:\n%s", c.out);
	cr_assert(strstr(c.out, "client: uid 65534 gid 65534"), "%s", c.out);
	cr_assert(strstr(c.out, "got STATUS_ACCESS_DENIED (0xc0000022)"),
		  "%s", c.out);
	cr_assert_null(strstr(c.out, "SECRET"), "leaked:\n%s", c.out);
	stop_server(&srv);
	cr_assert(strstr(srv.out, "this thread now opens files as uid 65534 "
				  "gid 65534"), "%s", srv.out);
	cr_assert(strstr(srv.out, "answer STATUS_ACCESS_DENIED"), "%s",
		  srv.out);
}

Test(ex_impersonate, nobody_client_gets_the_bytes_of_a_readable_file)
{
	struct proc srv, c;

	need_root();
	start_server(&srv, true);
	/* PUBLIC[8..13] */
	cr_assert_eq(client(&c, NOBODY_STR, NULL, public_path, "8", "6"), 0,
		     "client output:\n%s", c.out);
	cr_assert(strstr(c.out, "got STATUS_SUCCESS (0x00000000); the server "
				"acted as uid 65534 gid 65534, 6 bytes: "
				"\"012345\"\n"), "%s", c.out);
	stop_server(&srv);
}

Test(ex_impersonate, root_client_gets_the_secret)
{
	struct proc srv, c;

	need_root();
	start_server(&srv, true);
	cr_assert_eq(client(&c, NULL, NULL, secret_path, NULL, NULL), 0,
		     "client output:\n%s", c.out);
	cr_assert(strstr(c.out, "acted as uid 0 gid 0, 28 bytes: "
				"\"SECRET-0600-root-only-bytes\\n\""),
		  "%s", c.out);
	stop_server(&srv);
}

Test(ex_impersonate, identification_qos_makes_the_server_act_as_nobody)
{
	struct proc srv, c;

	need_root();
	start_server(&srv, true);
	cr_assert_eq(client(&c, NULL, "identification", secret_path, NULL,
			    NULL), 3, "client output:\n%s", c.out);
	cr_assert(strstr(c.out, "got STATUS_ACCESS_DENIED (0xc0000022); the "
				"server acted as uid 65534"), "%s", c.out);
	stop_server(&srv);
}

/* The bug the example demonstrates: this is what the tests above would
 * see if the server forgot to impersonate. */
Test(ex_impersonate, no_impersonate_server_leaks_the_secret)
{
	struct proc srv, c;

	need_root();
	start_server(&srv, false);
	cr_assert_eq(client(&c, NOBODY_STR, NULL, secret_path, NULL, NULL), 0,
		     "client output:\n%s", c.out);
	cr_assert(strstr(c.out, "client: uid 65534 gid 65534"), "%s", c.out);
	cr_assert(strstr(c.out, "\"SECRET-0600-root-only-bytes\\n\""), "%s",
		  c.out);
	cr_assert(strstr(c.out, "(it did not impersonate)"), "%s", c.out);
	stop_server(&srv);
	cr_assert(strstr(srv.out, "(0 impersonated, 0 reverted)"), "%s",
		  srv.out);
}

Test(ex_impersonate, server_stays_root_and_reverts_after_each_request)
{
	struct proc srv, c;

	need_root();
	start_server(&srv, true);
	cr_assert_eq(client(&c, NOBODY_STR, NULL, secret_path, NULL, NULL), 3);
	cr_assert_eq(client(&c, NOBODY_STR, NULL, public_path, NULL, NULL), 0);
	cr_assert_eq(client(&c, NULL, NULL, secret_path, NULL, NULL), 0);
	/* A nobody request after the root one: nothing carried over. */
	cr_assert_eq(client(&c, NOBODY_STR, NULL, secret_path, NULL, NULL), 3);
	stop_server(&srv);
	cr_assert_eq(count(srv.out, "reverted: thread back to uid 0 gid 0\n"),
		     4, "%s", srv.out);
	cr_assert(strstr(srv.out, "stopping after 4 requests (4 impersonated, "
				  "4 reverted); process uid 0 euid 0, thread "
				  "fsuid 0 fsgid 0\n"), "%s", srv.out);
}

Test(ex_impersonate, demo_checks_every_answer)
{
	const char *argv[] = { "demo", NULL };
	struct proc d;

	need_root();
	spawn(&d, argv);
	cr_assert_eq(finish(&d), 0, "demo output:\n%s", d.out);
	cr_assert(strstr(d.out, "every answer as expected"), "%s", d.out);
	cr_assert_eq(count(d.out, "got STATUS_ACCESS_DENIED"), 2, "%s", d.out);
	cr_assert(strstr(d.out, "demo: LEAKED"), "%s", d.out);
}

/* ------------------------------------------------------------------ */
/* With liblpc directly                                                */
/* ------------------------------------------------------------------ */

#define DIRECT_PORT "\\RPC Control\\ImpDirect"

/* In the uid 65534 child: the file is really closed to it; then one
 * request, answered by the test's thread. */
static NTSTATUS nobody_request(void *arg)
{
	HANDLE port;
	lpct_msg req, rep;
	NTSTATUS s;

	(void)arg;
	if (open(secret_path, O_RDONLY) >= 0 || errno != EACCES)
		return STATUS_UNSUCCESSFUL;
	s = lpct_connect(&port, DIRECT_PORT, NULL, NULL);
	if (!NT_SUCCESS(s))
		return s;
	lpct_msg_init(&req, "r", 1);
	s = NtRequestWaitReplyPort(port, &req.h, &rep.h);
	NtClose(port);
	return s;
}

/* 0 if path opens for reading on this thread now, else errno. */
static int try_open(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}

Test(ex_impersonate, reverted_thread_reads_the_secret_again)
{
	struct lpct_nobody n;
	HANDLE port, comm, null_token = NULL;
	uid_t ruid, euid, suid;
	lpct_msg m;

	need_root();
	port = lpct_create(DIRECT_PORT, 0, 0x100);
	lpct_nobody_start(&n, nobody_request, NULL);
	comm = lpct_accept_next(port, NULL);
	lpct_recv_ok(port, NULL, &m);
	cr_assert_eq(lpct_msg_type(&m), LPC_REQUEST);

	cr_assert_eq(try_open(secret_path), 0);
	cr_assert_status(NtImpersonateClientOfPort(comm, &m.h),
			 STATUS_SUCCESS);
	cr_assert_eq(try_open(secret_path), EACCES);
	cr_assert_eq(try_open(public_path), 0);
	/* setfsuid(-1) changes nothing and returns the current fsuid. */
	cr_assert_eq(syscall(SYS_setfsuid, -1), LPCT_NOBODY);
	cr_assert_eq(getuid(), 0, "impersonation changed the real uid");
	cr_assert_eq(geteuid(), 0);

	cr_assert_status(NtSetInformationThread(NtCurrentThread(),
						ThreadImpersonationToken,
						&null_token, sizeof(HANDLE)),
			 STATUS_SUCCESS);
	cr_assert_eq(try_open(secret_path), 0, "reverted, yet denied");
	cr_assert_eq(syscall(SYS_setfsuid, -1), 0);
	cr_assert_eq(syscall(SYS_setfsgid, -1), 0);
	cr_assert_eq(getresuid(&ruid, &euid, &suid), 0);
	cr_assert(ruid == 0 && euid == 0 && suid == 0);

	cr_assert_status(NtReplyPort(comm, &m.h), STATUS_SUCCESS);
	cr_assert_status(lpct_nobody_finish(&n), STATUS_SUCCESS);
	NtClose(comm);
	NtClose(port);
}
