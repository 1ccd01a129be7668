/* SPDX-License-Identifier: MIT */
/*
 * Issue 6, experiments 3 and 4: a client stopped by a debugger in the
 * middle of a conversation (examples/lpc-stopped, docs/examples/
 * debugger.md), and the port namespace as `lpctrace ports` lists it
 * (examples/ports-tour, docs/examples/ports.md).
 *
 * What is held to reality here:
 *  - while a client is stopped, `lpctrace waits` shows it waiting for its
 *    message with the state "T, STOPPED (SIGSTOP)", held by the server
 *    thread that received it;
 *  - a reply to a stopped client does not wait: it is queued in the
 *    client's socket (`lpctrace ports -v`: client_queued) and read on
 *    resume;
 *  - a callback to a stopped client waits as long as the client is
 *    stopped (NtRequestWaitReplyPort has no timeout) while another
 *    server thread's NtReplyWaitReceivePortEx times out as usual;
 *  - the timeout of a stopped thread keeps running: on resume its wait
 *    ends at once with STATUS_TIMEOUT, it is not restarted;
 *  - the demo runs end to end with SIGSTOP and with ptrace;
 *  - `lpctrace ports` lists \Windows\ApiPort with its connections and
 *    the example's port; ports-tour runs clean.
 *
 * lpctrace waits and ports need no BPF; reading another process's
 * published state needs ptrace access to it (root, or the same user with
 * Yama's ptrace_scope 0): otherwise those tests skip visibly.  Every wait
 * is bounded and every child is killed and reaped in .fini.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "csrt.h"
#include "helpers.h"
#include "json.h"

#define PORT_NAME "\\RPC Control\\DbgStopped"
#define BOUND_MS 10000

static pid_t kids[16];
static int nkids;

static void kid_add(pid_t pid)
{
	if (nkids < 16)
		kids[nkids++] = pid;
}

static void suite_fini(void)
{
	/* SIGKILL ends a stopped child too. */
	for (int i = 0; i < nkids; i++) {
		int st;

		kill(kids[i], SIGKILL);
		waitpid(kids[i], &st, 0);
	}
	nkids = 0;
	lpct_teardown();
}

TestSuite(ex_debugger, .init = lpct_setup, .fini = suite_fini,
	  .timeout = 60);

/* ------------------------------------------------------------------ */
/* Running the tools                                                   */
/* ------------------------------------------------------------------ */

/* $LPC_BUILD/rel; 16 results live at once (argv arrays hold several). */
static const char *build_path(const char *rel)
{
	static char buf[16][512];
	static int next;
	const char *b = getenv("LPC_BUILD");
	char *p = buf[next++ % 16];

	snprintf(p, sizeof(buf[0]), "%s/%s", b && *b ? b : "build", rel);
	return p;
}

/* A child that dies with the test (PDEATHSIG) runs argv; its stdout and
 * stderr are read into out (NUL-terminated) within ms.  Returns the exit
 * status, 128 + signal, or -1 when it had to be killed. */
static int run(const char *const *argv, char *out, size_t len, long ms)
{
	long t0 = lpct_now_ms();
	size_t n = 0;
	int p[2], st;
	pid_t pid;

	cr_assert_eq(pipe(p), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(p[1], 1);
		dup2(p[1], 2);
		close(p[0]);
		close(p[1]);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(p[1]);
	for (;;) {
		struct pollfd pf = { p[0], POLLIN, 0 };
		long left = ms - (lpct_now_ms() - t0);
		ssize_t r;

		if (left <= 0 || poll(&pf, 1, (int)left) <= 0)
			break;
		r = read(p[0], out + n, len - 1 - n);
		if (r <= 0)
			break;
		n += (size_t)r;
		if (n == len - 1)
			break;
	}
	out[n] = '\0';
	close(p[0]);
	while (waitpid(pid, &st, WNOHANG) == 0) {
		if (lpct_now_ms() - t0 > ms) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			return -1;
		}
		usleep(5000);
	}
	return WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
}

static void need_lpctrace(void)
{
	char buf[8];
	FILE *f;

	if (access(build_path("lpctrace"), X_OK))
		cr_skip_test("%s not built", build_path("lpctrace"));
	if (geteuid() == 0)
		return;
	/* Reading another process's state is a ptrace access. */
	f = fopen("/proc/sys/kernel/yama/ptrace_scope", "re");
	if (f && fgets(buf, sizeof(buf), f) && buf[0] != '0') {
		fclose(f);
		cr_skip_test("lpctrace waits reads other processes' LPC "
			     "state: needs root, or Yama ptrace_scope 0");
	}
	if (f)
		fclose(f);
}

/* `lpctrace waits -p pid` into out. */
static void waits_of(pid_t pid, char *out, size_t len)
{
	char p[16];
	const char *argv[] = { build_path("lpctrace"), "waits", "-p", p,
			       NULL };

	snprintf(p, sizeof(p), "%d", (int)pid);
	cr_assert_eq(run(argv, out, len, BOUND_MS), 0, "lpctrace waits: %s",
		     out);
}

/* The row of thread pid/tid in a waits table, NUL-terminated in line. */
static bool row_of(const char *table, pid_t pid, pid_t tid, char *line,
		   size_t len)
{
	char who[40];
	const char *p = table;
	size_t wl;

	wl = (size_t)snprintf(who, sizeof(who), "%d/%d ", (int)pid, (int)tid);
	while (p && *p) {
		const char *end = strchr(p, '\n');
		size_t n = end ? (size_t)(end - p) : strlen(p);

		if (n >= wl && !strncmp(p, who, wl)) {
			if (n >= len)
				n = len - 1;
			memcpy(line, p, n);
			line[n] = '\0';
			return true;
		}
		p = end ? end + 1 : NULL;
	}
	return false;
}

/* The whitespace-separated field i (0-based) of line, or "". */
static const char *field(const char *line, int i, char *buf, size_t len)
{
	const char *p = line;

	buf[0] = '\0';
	for (int k = 0; *p; k++) {
		size_t n;

		while (*p == ' ')
			p++;
		n = strcspn(p, " ");
		if (k == i) {
			if (n >= len)
				n = len - 1;
			memcpy(buf, p, n);
			buf[n] = '\0';
			return buf;
		}
		p += n;
	}
	return buf;
}

static void stop_and_wait(pid_t pid)
{
	cr_assert_eq(kill(pid, SIGSTOP), 0);
	for (int i = 0; i < 1000 && lpct_proc_state(pid, 0) != 'T'; i++)
		usleep(5000);
	cr_assert_eq(lpct_proc_state(pid, 0), 'T', "the client never stopped");
}

/* Exit status of child pid within ms, or -1. */
static int wait_exit(pid_t pid, long ms)
{
	long t0 = lpct_now_ms();

	for (;;) {
		int st;
		pid_t r = waitpid(pid, &st, WNOHANG);

		if (r == pid) {
			for (int i = 0; i < nkids; i++)
				if (kids[i] == pid)
					kids[i] = kids[--nkids];
			return WIFSIGNALED(st) ? 128 + WTERMSIG(st)
					       : WEXITSTATUS(st);
		}
		if (r < 0 || lpct_now_ms() - t0 > ms)
			return -1;
		usleep(5000);
	}
}

/* ------------------------------------------------------------------ */
/* The clients (forked; no Criterion asserts in them)                  */
/* ------------------------------------------------------------------ */

/* One request; the reply must be "HOLD".  Answers callbacks with
 * "here" on the way.  Exit 0 when all went as expected. */
static void client_main(void *arg)
{
	const char *text = arg;
	HANDLE port;
	lpct_msg req, rep;
	NTSTATUS s;

	lpct_child_enter();
	CHILD_CHECK(lpct_connect(&port, PORT_NAME, NULL, NULL) ==
			    STATUS_SUCCESS, 10);
	lpct_msg_init(&req, text, (CSHORT)(strlen(text) + 1));
	s = NtRequestWaitReplyPort(port, &req.h, &rep.h);
	while (s == STATUS_SUCCESS && lpct_msg_type(&rep) == LPC_REQUEST) {
		CHILD_CHECK(!strcmp((char *)rep.data, "callback?"), 11);
		memcpy(rep.data, "here", 5);
		lpct_set_lengths(&rep.h, 5, (int)sizeof(PORT_MESSAGE) + 5);
		s = NtReplyWaitReplyPort(port, &rep.h);
	}
	CHILD_CHECK(s == STATUS_SUCCESS, 12);
	CHILD_CHECK(lpct_msg_type(&rep) == LPC_REPLY, 13);
	CHILD_CHECK(!strcmp((char *)rep.data, "DONE"), 14);
	NtClose(port);
	_exit(0);
}

static void reply_text(lpct_msg *m, const char *text)
{
	memcpy(m->data, text, strlen(text) + 1);
	lpct_set_lengths(&m->h, (int)strlen(text) + 1,
			 (int)sizeof(PORT_MESSAGE) + (int)strlen(text) + 1);
}

/* Server side: a port, a client started with text, its request. */
static pid_t serve_one(HANDLE *port, HANDLE *comm, lpct_msg *m,
		       const char *text)
{
	pid_t cli;

	*port = lpct_create(PORT_NAME, 0, LPC_MAX_MESSAGE_LENGTH);
	cli = lpct_fork(client_main, (void *)text);
	kid_add(cli);
	*comm = lpct_accept_next(*port, (PVOID)1);
	lpct_recv_ok(*port, NULL, m);
	cr_assert_eq(lpct_msg_type(m), LPC_REQUEST,
		     "message type %d; the client exited %d", lpct_msg_type(m),
		     wait_exit(cli, 1000));
	cr_assert_str_eq((char *)m->data, text);
	return cli;
}

/* ------------------------------------------------------------------ */
/* Experiment 3                                                        */
/* ------------------------------------------------------------------ */

Test(ex_debugger, stopped_client_is_shown_waiting_and_gets_the_reply_on_resume)
{
	static char out[65536];
	char line[512], f[64], want[64];
	HANDLE port, comm;
	lpct_msg m;
	pid_t cli;
	long t0;

	need_lpctrace();
	cli = serve_one(&port, &comm, &m, "hold");
	/* The client is in its reply wait before it is stopped. */
	cr_assert(lpct_wait_sleeping(cli, cli));
	stop_and_wait(cli);

	waits_of(cli, out, sizeof(out));
	cr_assert(row_of(out, cli, cli, line, sizeof(line)),
		  "no row for the stopped client:\n%s", out);
	cr_assert_str_eq(field(line, 2, f, sizeof(f)), "reply", "%s", line);
	snprintf(want, sizeof(want), "%u", m.h.MessageId);
	cr_assert(strstr(line, want), "message %s not in: %s", want, line);
	cr_assert(strstr(line, "T, STOPPED (SIGSTOP)"), "%s", line);
	snprintf(line, sizeof(line), "-> message %u held by %d/%d",
		 m.h.MessageId, (int)getpid(), (int)lpct_gettid());
	cr_assert(strstr(out, line), "want \"%s\" in:\n%s", line, out);

	/* The reply does not wait for the stopped client. */
	reply_text(&m, "DONE");
	t0 = lpct_now_ms();
	cr_assert_status(NtReplyPort(port, &m.h), STATUS_SUCCESS);
	cr_assert_lt(lpct_now_ms() - t0, 1000);

	/* It sits in the client's socket. */
	{
		const char *argv[] = { build_path("lpctrace"), "ports", "-v",
				       NULL };
		char conn[64];
		const char *c;

		cr_assert_eq(run(argv, out, sizeof(out), BOUND_MS), 0, "%s",
			     out);
		snprintf(conn, sizeof(conn), "conn %d/", (int)cli);
		c = strstr(out, conn);
		cr_assert(c, "no connection line for %d:\n%s", (int)cli, out);
		c = strstr(c, "client_queued ");
		cr_assert(c && atoi(c + 14) > 0,
			  "the reply is not queued for the client:\n%s", out);
	}
	/* waits knows it was answered (the server's last reply), and that
	 * the stopped client has not read it. */
	{
		char answered[96];

		waits_of(cli, out, sizeof(out));
		snprintf(answered, sizeof(answered),
			 "-> message %u was answered by %d/", m.h.MessageId,
			 (int)getpid());
		cr_assert(strstr(out, answered), "no '%s' in:\n%s", answered,
			  out);
		cr_assert(!strstr(out, "no server thread has received"),
			  "%s", out);
	}

	/* Still stopped, still waiting; resumed, it reads the reply. */
	usleep(200000);
	cr_assert_eq(lpct_proc_state(cli, 0), 'T');
	cr_assert_eq(wait_exit(cli, 0), -1, "the stopped client exited");
	kill(cli, SIGCONT);
	cr_assert_eq(wait_exit(cli, BOUND_MS), 0,
		     "the client did not get its reply after SIGCONT");
	NtClose(comm);
	NtClose(port);
}

struct receiver {
	HANDLE port;
	volatile int stop;
	int timeouts, other;
};

/* Another server thread, receiving with a 200 ms timeout meanwhile. */
static void *receiver_main(void *arg)
{
	struct receiver *r = arg;

	while (!r->stop) {
		lpct_msg m;
		NTSTATUS s = lpct_recv_ms(r->port, NULL, &m.h, 200);

		if (s == STATUS_TIMEOUT)
			r->timeouts++;
		else
			r->other++;
	}
	return NULL;
}

struct caller {
	HANDLE comm;
	lpct_msg cb, ans;
	pid_t tid;
	NTSTATUS status;
	long took_ms;
	volatile int done;
};

static void *caller_main(void *arg)
{
	struct caller *c = arg;
	long t0 = lpct_now_ms();

	c->tid = lpct_gettid();
	c->status = NtRequestWaitReplyPort(c->comm, &c->cb.h, &c->ans.h);
	c->took_ms = lpct_now_ms() - t0;
	c->done = 1;
	return NULL;
}

Test(ex_debugger, callback_to_a_stopped_client_waits_while_receives_time_out)
{
	static char out[65536];
	struct receiver r = { 0 };
	static struct caller c;
	char line[512], f[64], want[64];
	HANDLE port, comm;
	pthread_t rt, ct;
	lpct_msg m;
	pid_t cli;
	long t_stop;

	need_lpctrace();
	cli = serve_one(&port, &comm, &m, "callback");
	cr_assert(lpct_wait_sleeping(cli, cli));
	stop_and_wait(cli);
	t_stop = lpct_now_ms();

	r.port = port;
	rt = lpct_thread(receiver_main, &r);
	memset(&c, 0, sizeof(c));
	c.comm = comm;
	lpct_msg_init(&c.cb, "callback?", 10);
	c.cb.h.u2.s2.Type = LPC_REQUEST;
	c.cb.h.MessageId = m.h.MessageId;
	c.cb.h.ClientId = m.h.ClientId;
	ct = lpct_thread(caller_main, &c);
	for (int i = 0; i < 1000 && !c.tid; i++)
		usleep(1000);
	cr_assert(c.tid && lpct_wait_sleeping(getpid(), c.tid));

	/* The server thread is in a reply wait on the request's message;
	 * the client, stopped, waits for the same message. */
	waits_of(getpid(), out, sizeof(out));
	cr_assert(row_of(out, getpid(), c.tid, line, sizeof(line)),
		  "no row for the calling-back thread:\n%s", out);
	cr_assert_str_eq(field(line, 2, f, sizeof(f)), "reply", "%s", line);
	snprintf(want, sizeof(want), " %u ", m.h.MessageId);
	cr_assert(strstr(line, want), "message %u not in: %s", m.h.MessageId,
		  line);
	waits_of(cli, out, sizeof(out));
	cr_assert(row_of(out, cli, cli, line, sizeof(line)), "%s", out);
	cr_assert(strstr(line, want), "%s", line);
	cr_assert(strstr(line, "T, STOPPED (SIGSTOP)"), "%s", line);
	/* The chain ends at the client that must answer the callback,
	 * stopped: not a deadlock, although the server thread waits for the
	 * reply to the very message it holds. */
	cr_assert(!strstr(out, "DEADLOCK"), "%s", out);
	cr_assert(strstr(out, "called the client back on it"), "%s", out);
	cr_assert(strstr(out, "it has not taken the callback yet (T, STOPPED"),
		  "%s", out);

	/* No timeout ends the callback; the receiver's timeouts run. */
	while (lpct_now_ms() - t_stop < 1200)
		usleep(20000);
	cr_assert_eq(c.done, 0, "the callback ended while the client was "
		     "stopped: 0x%08x", (unsigned)c.status);
	cr_assert_geq(r.timeouts, 2, "only %d receive timeouts in 1.2 s",
		      r.timeouts);
	cr_assert_eq(r.other, 0, "the receiver got something");

	kill(cli, SIGCONT);
	lpct_join(ct);
	cr_assert_status(c.status, STATUS_SUCCESS);
	cr_assert_eq(lpct_msg_type(&c.ans), LPC_REPLY);
	cr_assert_str_eq((char *)c.ans.data, "here");
	cr_assert_geq(c.took_ms, 1000, "the callback took %ld ms",
		      c.took_ms);
	r.stop = 1;
	lpct_join(rt);
	reply_text(&m, "DONE");
	cr_assert_status(NtReplyPort(port, &m.h), STATUS_SUCCESS);
	cr_assert_eq(wait_exit(cli, BOUND_MS), 0);
	NtClose(comm);
	NtClose(port);
}

struct timed {
	int fd;
};

/* A 2 s timed receive on a port of its own; writes status and ms. */
static void timed_main(void *arg)
{
	struct timed *t = arg;
	HANDLE port;
	lpct_msg m;
	long r[2], t0;

	lpct_child_enter();
	CHILD_CHECK(lpct_try_create(&port, "\\RPC Control\\DbgTimer", 0, 0) ==
			    STATUS_SUCCESS, 10);
	CHILD_CHECK(write(t->fd, "r", 1) == 1, 12);
	t0 = lpct_now_ms();
	r[0] = lpct_recv_ms(port, NULL, &m.h, 2000);
	r[1] = lpct_now_ms() - t0;
	CHILD_CHECK(write(t->fd, r, sizeof(r)) == (ssize_t)sizeof(r), 11);
	_exit(0);
}

Test(ex_debugger, timeout_keeps_running_while_the_waiter_is_stopped)
{
	struct timed t;
	struct pollfd pf;
	long r[2], t_resume;
	int p[2];
	pid_t pid;

	cr_assert_eq(pipe(p), 0);
	t.fd = p[1];
	pid = lpct_fork(timed_main, &t);
	kid_add(pid);
	close(p[1]);
	/* Ready, then asleep: in its timed receive. */
	cr_assert_eq(lpct_read_byte(p[0]), 'r');
	cr_assert(lpct_wait_sleeping(pid, pid));
	stop_and_wait(pid);
	usleep(2500000);
	t_resume = lpct_now_ms();
	kill(pid, SIGCONT);
	pf = (struct pollfd){ p[0], POLLIN, 0 };
	cr_assert_eq(poll(&pf, 1, BOUND_MS), 1, "no result from the waiter");
	cr_assert_eq(read(p[0], r, sizeof(r)), (ssize_t)sizeof(r));
	/* Over while stopped: it ends on resume, with STATUS_TIMEOUT, and
	 * does not start its 2 s again. */
	cr_assert_eq(r[0], STATUS_TIMEOUT, "status 0x%08lx", r[0]);
	cr_assert_geq(r[1], 2500, "waited %ld ms", r[1]);
	cr_assert_lt(lpct_now_ms() - t_resume, 1500,
		     "the wait ended %ld ms after the resume",
		     lpct_now_ms() - t_resume);
	close(p[0]);
	cr_assert_eq(wait_exit(pid, BOUND_MS), 0);
}

/* The example, end to end: both ways of stopping. */
static void demo(const char *how)
{
	static char out[1 << 18];
	const char *argv[] = { build_path("examples/lpc-stopped"), "demo",
			       "1000", how, NULL };
	int rc;

	need_lpctrace();
	if (access(argv[0], X_OK))
		cr_skip_test("%s not built", argv[0]);
	rc = run(argv, out, sizeof(out), 30000);
	cr_assert_eq(rc, 0, "lpc-stopped demo %s exited %d:\n%s",
		     how ? how : "", rc, out);
	cr_assert(strstr(out, how ? "t, STOPPED by a debugger (ptrace)"
				  : "T, STOPPED (SIGSTOP)"), "%s", out);
	cr_assert(strstr(out, "client_queued 88"), "%s", out);
	cr_assert(strstr(out, "-> 0x00000102 STATUS_TIMEOUT after"), "%s",
		  out);
	cr_assert(strstr(out, "ran out while the process was stopped"),
		  "%s", out);
	cr_assert(strstr(out, "the client answered the callback after"),
		  "%s", out);
	cr_assert(strstr(out, "NtReplyWaitReceivePortEx -> STATUS_TIMEOUT"),
		  "%s", out);
	cr_assert(strstr(out, "lpc-stopped demo: done"), "%s", out);
}

Test(ex_debugger, demo_with_sigstop)
{
	demo(NULL);
}

Test(ex_debugger, demo_with_ptrace)
{
	demo("--ptrace");
}

/* ------------------------------------------------------------------ */
/* Experiment 4                                                        */
/* ------------------------------------------------------------------ */

static pid_t spawn(const char *const *argv)
{
	pid_t pid = fork();

	cr_assert_geq(pid, 0);
	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(fd, 1);
		dup2(fd, 2);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	kid_add(pid);
	return pid;
}

/* The --json object of port name, parsed from one `lpctrace ports`. */
static struct json *port_json(const char *name)
{
	static char out[65536];
	const char *argv[] = { build_path("lpctrace"), "ports", "--json",
			       NULL };
	char *line, *save;

	if (run(argv, out, sizeof(out), BOUND_MS))
		return NULL;
	for (line = strtok_r(out, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char err[128];
		struct json *j = json__parse(line, strlen(line), err,
					     sizeof(err));
		const char *p = j ? json__get_str(j, "port") : NULL;

		if (p && !strcmp(p, name))
			return j;
		json__free(j);
	}
	return NULL;
}

static bool has_client(const struct json *j, pid_t pid)
{
	const struct json *c = json__get(j, "clients");

	for (size_t i = 0; c && i < json__len(c); i++)
		if (json__get_int(json__at(c, i), "pid", 0) == pid)
			return true;
	return false;
}

Test(ex_debugger, ports_lists_apiport_with_its_connections_and_the_example)
{
	const char *srv[] = { build_path("examples/lpc-stopped"), "server",
			      NULL };
	const char *cli[] = { build_path("examples/lpc-stopped"), "client",
			      "\\RPC Control\\LpcStopped", "0", NULL };
	const char *reader[] = { build_path("csrcall"), "ConsolepAlloc",
				 "wstr:t", "u32:8", "align:8", "u64:0",
				 "u64:0", "--", "ConsolepReadConsole",
				 "u64:3", "wbuf:64", "u32:64", "u8:0", NULL };
	struct json *api = NULL, *ex = NULL;
	pid_t csrd, s, c, r1, r2;
	long t0;

	if (access(build_path("lpctrace"), X_OK) ||
	    access(build_path("csrcall"), X_OK) || access(srv[0], X_OK))
		cr_skip_test("lpctrace, csrcall or lpc-stopped not built");
	csrd = csrt_start(NULL);
	kid_add(csrd);
	s = spawn(srv);
	for (int i = 0; i < 400 && access(lpct_path("RPC Control/LpcStopped"),
					  F_OK); i++)
		usleep(10000);
	r1 = spawn(reader);
	r2 = spawn(reader);
	c = spawn(cli);
	/* Until every client shows, bounded. */
	for (t0 = lpct_now_ms(); lpct_now_ms() - t0 < BOUND_MS;
	     usleep(50000)) {
		json__free(api);
		json__free(ex);
		api = port_json("\\Windows\\ApiPort");
		ex = port_json("\\RPC Control\\LpcStopped");
		if (api && ex && has_client(api, r1) && has_client(api, r2) &&
		    has_client(ex, c))
			break;
	}
	cr_assert(api, "\\Windows\\ApiPort not listed");
	cr_assert(ex, "\\RPC Control\\LpcStopped not listed");
	cr_expect_eq(json__get_int(api, "connections", -1), 2);
	cr_expect(has_client(api, r1) && has_client(api, r2),
		  "the csrcall readers are not ApiPort's clients");
	cr_expect_str_eq(json__get_str(api, "server_comm"), "csrd");
	{
		int64_t spid = 0;

		json__int(json__at(json__get(api, "server_pids"), 0), &spid);
		cr_expect_eq(spid, csrd, "server_pids[0] %lld, csrd %d",
			     (long long)spid, (int)csrd);
	}
	cr_expect_eq(json__get_int(ex, "connections", -1), 1);
	cr_expect(has_client(ex, c), "the lpc-stopped client is not listed");
	cr_expect_str_eq(json__get_str(ex, "server_comm"), "lpc-stopped");
	{
		bool listening = false;

		json__bool(json__get(api, "listening"), &listening);
		cr_expect(listening);
	}
	(void)s;
	json__free(api);
	json__free(ex);
	kill(c, SIGTERM);
	kill(r1, SIGTERM);
	kill(r2, SIGTERM);
	cr_expect_eq(wait_exit(c, BOUND_MS), 0, "the client did not end well");
	kill(s, SIGTERM);
	cr_expect_eq(wait_exit(s, BOUND_MS), 0, "the server did not end well");
	cr_expect_eq(csrt_stop(csrd), 0);
	for (int i = 0; i < nkids; i++)
		if (kids[i] == csrd)
			kids[i] = kids[--nkids];
}

Test(ex_debugger, ports_tour_runs_and_lists_every_port)
{
	static char out[1 << 18];
	const char *argv[] = { "examples/ports-tour", NULL };
	int rc;

	if (access(argv[0], X_OK))
		cr_skip_test("examples/ports-tour not found (run the suite "
			     "from the checkout)");
	if (geteuid() != 0)
		cr_skip_test("ports-tour runs csrd: it needs root");
	if (access(build_path("lpctrace"), X_OK))
		cr_skip_test("%s not built", build_path("lpctrace"));
	rc = run(argv, out, sizeof(out), 60000);
	cr_assert_eq(rc, 0, "ports-tour exited %d:\n%s", rc, out);
	cr_assert(strstr(out, "\\Windows\\ApiPort "), "%s", out);
	cr_assert(strstr(out, "\\RPC Control\\LpcEcho "), "%s", out);
	cr_assert(strstr(out, "\\RPC Control\\LpcStopped "), "%s", out);
	cr_assert(strstr(out, "/csrcall,"), "two csrcall clients:\n%s", out);
	cr_assert(strstr(out, "stale (no listener)"), "%s", out);
	cr_assert(strstr(out, "removed"), "%s", out);
}
