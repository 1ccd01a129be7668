/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"

static char root[256];

void lpct_setup(void)
{
	const char *base = getenv("TMPDIR");

	snprintf(root, sizeof(root), "%s/lpct-XXXXXX", base ? base : "/tmp");
	cr_assert_not_null(mkdtemp(root), "mkdtemp: %s", strerror(errno));
	/* Other uids in cross-user tests must reach the namespace. */
	chmod(root, 0755);
	setenv("LPC_ROOT", root, 1);
}

static void rm_rf(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	char sub[1024];

	if (d) {
		while ((e = readdir(d))) {
			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
				continue;
			snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
			rm_rf(sub);
		}
		closedir(d);
		rmdir(path);
	} else {
		unlink(path);
	}
}

void lpct_teardown(void)
{
	if (root[0])
		rm_rf(root);
}

const char *lpct_root(void)
{
	return root;
}

const char *lpct_path(const char *rel)
{
	static char buf[4][1024];
	static int next;
	char *p = buf[next++ % 4];

	snprintf(p, sizeof(buf[0]), "%s/%s", root, rel);
	return p;
}

void lpct_ns_init(void)
{
	HANDLE h = lpct_create("\\RPC Control\\init", 0, 0);

	cr_assert_status(NtClose(h), STATUS_SUCCESS);
}

PUNICODE_STRING lpct_ustr(const char *ascii)
{
	static __thread UNICODE_STRING us[8];
	static __thread WCHAR buf[8][256];
	static __thread int next;
	int i = next++ % 8;
	size_t n = strlen(ascii);

	cr_assert(n < 256);
	for (size_t k = 0; k <= n; k++)
		buf[i][k] = (WCHAR)(unsigned char)ascii[k];
	us[i].Buffer = buf[i];
	us[i].Length = (USHORT)(n * 2);
	us[i].MaximumLength = (USHORT)(n * 2 + 2);
	return &us[i];
}

NTSTATUS lpct_try_create(HANDLE *h, const char *name, ULONG max_info,
			 ULONG max_msg)
{
	OBJECT_ATTRIBUTES oa;

	InitializeObjectAttributes(&oa, name ? lpct_ustr(name) : NULL, 0, NULL,
				   NULL);
	return NtCreatePort(h, &oa, max_info, max_msg, 0);
}

HANDLE lpct_create(const char *name, ULONG max_info, ULONG max_msg)
{
	HANDLE h = NULL;

	cr_assert_status(lpct_try_create(&h, name, max_info, max_msg),
			 STATUS_SUCCESS);
	cr_assert_not_null(h);
	return h;
}

HANDLE lpct_create_waitable(const char *name, ULONG max_info, ULONG max_msg)
{
	OBJECT_ATTRIBUTES oa;
	HANDLE h = NULL;

	InitializeObjectAttributes(&oa, name ? lpct_ustr(name) : NULL, 0, NULL,
				   NULL);
	cr_assert_status(NtCreateWaitablePort(&h, &oa, max_info, max_msg, 0),
			 STATUS_SUCCESS);
	cr_assert_not_null(h);
	return h;
}

SECURITY_QUALITY_OF_SERVICE *lpct_qos(void)
{
	static SECURITY_QUALITY_OF_SERVICE q = {
		sizeof(SECURITY_QUALITY_OF_SERVICE), SecurityImpersonation,
		SECURITY_DYNAMIC_TRACKING, TRUE
	};
	return &q;
}

NTSTATUS lpct_connect(HANDLE *h, const char *name, void *info, ULONG *infolen)
{
	return NtConnectPort(h, lpct_ustr(name), lpct_qos(), NULL, NULL, NULL,
			     info, infolen);
}

void *lpct_connect_thread(void *arg)
{
	struct lpct_conn *c = arg;

	c->s = lpct_connect(&c->h, c->name, NULL, NULL);
	return NULL;
}

HANDLE lpct_connect_client(HANDLE port, const char *name, PVOID context,
			   HANDLE *comm)
{
	struct lpct_conn c = { .name = name, .s = -1 };
	pthread_t t = lpct_thread(lpct_connect_thread, &c);

	*comm = lpct_accept_next(port, context);
	lpct_join(t);
	cr_assert_status(c.s, STATUS_SUCCESS);
	cr_assert_not_null(c.h);
	return c.h;
}

void lpct_msg_init(lpct_msg *m, const void *data, CSHORT len)
{
	memset(m, 0, sizeof(*m));
	m->h.u1.s1.DataLength = len;
	m->h.u1.s1.TotalLength = (CSHORT)(sizeof(PORT_MESSAGE) + len);
	if (data && len > 0)
		memcpy(m->data, data, (size_t)len);
}

void lpct_set_lengths(PORT_MESSAGE *h, int data, int total)
{
	h->u1.s1.DataLength = (CSHORT)data;
	h->u1.s1.TotalLength = (CSHORT)total;
}

int lpct_msg_type(const lpct_msg *m)
{
	return m->h.u2.s2.Type & 0x0fff;
}

bool lpct_cid_is(const PORT_MESSAGE *m, pid_t pid, pid_t tid)
{
	return (uintptr_t)m->ClientId.UniqueProcess == (uintptr_t)pid &&
	       (uintptr_t)m->ClientId.UniqueThread == (uintptr_t)tid;
}

HANDLE lpct_accept_next(HANDLE port, PVOID context)
{
	lpct_msg m;
	HANDLE comm = NULL;

	cr_assert_status(NtListenPort(port, &m.h), STATUS_SUCCESS);
	cr_assert_eq(m.h.u2.s2.Type, LPC_CONNECTION_REQUEST);
	cr_assert_status(NtAcceptConnectPort(&comm, context, &m.h, TRUE, NULL,
					     NULL),
			 STATUS_SUCCESS);
	cr_assert_status(NtCompleteConnectPort(comm), STATUS_SUCCESS);
	return comm;
}

NTSTATUS lpct_recv_ms(HANDLE port, PVOID *ctx, PORT_MESSAGE *m, long ms)
{
	LARGE_INTEGER to = lpct_timeout_ms(ms);

	return NtReplyWaitReceivePortEx(port, ctx, NULL, m, &to);
}

void lpct_recv_ok(HANDLE port, PVOID *ctx, lpct_msg *m)
{
	memset(&m->h, 0, sizeof(m->h));
	cr_assert_status(lpct_recv_ms(port, ctx, &m->h, LPCT_RECV_MS),
			 STATUS_SUCCESS);
}

void lpct_assert_quiet(HANDLE port)
{
	lpct_msg m;
	NTSTATUS s;

	memset(&m.h, 0, sizeof(m.h));
	s = lpct_recv_ms(port, NULL, &m.h, LPCT_QUIET_MS);
	cr_assert_eq(s, STATUS_TIMEOUT,
		     "unexpected: status 0x%08x, message type %d from %zu/%zu",
		     (unsigned)s, lpct_msg_type(&m),
		     (size_t)m.h.ClientId.UniqueProcess,
		     (size_t)m.h.ClientId.UniqueThread);
}

int lpct_echo_request(HANDLE port, uint32_t seq)
{
	lpct_msg m, r;
	uint8_t want[sizeof(seq)];

	lpct_msg_init(&m, &seq, sizeof(seq));
	memset(&r, 0, sizeof(r));
	if (NtRequestWaitReplyPort(port, &m.h, &r.h))
		return 1;
	if (lpct_msg_type(&r) != LPC_REPLY ||
	    r.h.u1.s1.DataLength != sizeof(seq))
		return 2;
	memcpy(want, &seq, sizeof(seq));
	for (unsigned i = 0; i < sizeof(want); i++)
		want[i]++;
	return memcmp(r.data, want, sizeof(want)) ? 3 : 0;
}

NTSTATUS lpct_reply_echo(HANDLE port, lpct_msg *m)
{
	for (int i = 0; i < m->h.u1.s1.DataLength; i++)
		m->data[i]++;
	return NtReplyPort(port, &m->h);
}

pthread_t lpct_thread(void *(*fn)(void *), void *arg)
{
	pthread_t t;

	cr_assert_eq(pthread_create(&t, NULL, fn, arg), 0);
	return t;
}

void *lpct_join(pthread_t t)
{
	void *r = NULL;

	pthread_join(t, &r);
	return r;
}

pid_t lpct_gettid(void)
{
	return (pid_t)syscall(SYS_gettid);
}

pid_t lpct_fork(void (*fn)(void *), void *arg)
{
	pid_t pid = fork();

	cr_assert_neq(pid, -1);
	if (pid == 0) {
		fn(arg);
		_exit(0);
	}
	return pid;
}

int lpct_wait(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return WEXITSTATUS(st);
}

void lpct_end_child(pid_t pid, bool kill_it)
{
	if (kill_it) {
		cr_assert_eq(kill(pid, SIGKILL), 0);
		cr_assert_eq(lpct_wait(pid), 128 + SIGKILL);
	} else {
		cr_assert_eq(lpct_wait(pid), 0);
	}
}

void lpct_child_enter(void)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
}

void lpct_create_and_die(void *name)
{
	HANDLE h;

	if (lpct_try_create(&h, name, 0, 0x100) != STATUS_SUCCESS)
		_exit(1);
	kill(getpid(), SIGKILL);
	_exit(2);
}

/* The child: reports fn's status through the pipe. */
static void nobody_child(void *p)
{
	struct lpct_nobody *n = p;
	NTSTATUS s;

	if (setgroups(0, NULL) || setgid(LPCT_NOBODY) || setuid(LPCT_NOBODY))
		_exit(90);
	s = n->fn(n->arg);
	if (write(n->fd, &s, sizeof(s)) != sizeof(s))
		_exit(91);
	_exit(0);
}

void lpct_nobody_start(struct lpct_nobody *n, NTSTATUS (*fn)(void *),
		       void *arg)
{
	int pfd[2];

	if (geteuid() != 0)
		cr_skip_test("needs root to switch to uid %d", LPCT_NOBODY);
	/* Before the child drops its privileges. */
	lpct_ns_init();
	cr_assert_eq(pipe(pfd), 0);
	n->fn = fn;
	n->arg = arg;
	n->fd = pfd[1];
	n->pid = lpct_fork(nobody_child, n);
	close(pfd[1]);
	n->fd = pfd[0];
}

NTSTATUS lpct_nobody_finish(struct lpct_nobody *n)
{
	NTSTATUS s = (NTSTATUS)0xdeadbeef;

	cr_assert_eq(read(n->fd, &s, sizeof(s)), (ssize_t)sizeof(s),
		     "child did not report a status");
	close(n->fd);
	cr_assert_eq(lpct_wait(n->pid), 0);
	return s;
}

NTSTATUS lpct_as_nobody(NTSTATUS (*fn)(void *), void *arg)
{
	struct lpct_nobody n;

	lpct_nobody_start(&n, fn, arg);
	return lpct_nobody_finish(&n);
}

char lpct_proc_state(pid_t pid, pid_t tid)
{
	char path[96], line[512], *p;
	FILE *f;

	if (tid)
		snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)pid,
			 (int)tid);
	else
		snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	p = fgets(line, sizeof(line), f);
	fclose(f);
	/* The state follows the command name, which may hold anything. */
	p = p ? strrchr(line, ')') : NULL;
	return p && p[1] == ' ' ? p[2] : 0;
}

bool lpct_wait_sleeping(pid_t pid, pid_t tid)
{
	int seen = 0;

	for (int i = 0; i < 2000; i++) {
		char state = lpct_proc_state(pid, tid);

		if (!state)
			return false;
		if (state == 'S' || state == 'D') {
			if (++seen == 2)
				return true;
			usleep(5000);
			continue;
		}
		seen = 0;
		usleep(1000);
	}
	return false;
}

char lpct_read_byte(int fd)
{
	char b = 0;
	ssize_t n;

	do
		n = read(fd, &b, 1);
	while (n < 0 && errno == EINTR);
	cr_assert_eq(n, 1, "the child closed the pipe early");
	return b;
}

static int count_dir(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

int lpct_count_fds(void)
{
	/* Minus the fd opendir itself holds. */
	return count_dir("/proc/self/fd") - 1;
}

int lpct_count_maps(void)
{
	FILE *f = fopen("/proc/self/maps", "re");
	char line[512];
	int n = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		n++;
	fclose(f);
	return n;
}

LARGE_INTEGER lpct_timeout_ms(long ms)
{
	LARGE_INTEGER t;

	t.QuadPart = -(LONGLONG)ms * 10000;
	return t;
}

long lpct_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
