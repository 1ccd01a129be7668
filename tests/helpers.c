/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
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

void lpct_msg_init(lpct_msg *m, const void *data, CSHORT len)
{
	memset(m, 0, sizeof(*m));
	m->h.u1.s1.DataLength = len;
	m->h.u1.s1.TotalLength = (CSHORT)(sizeof(PORT_MESSAGE) + len);
	if (data && len > 0)
		memcpy(m->data, data, (size_t)len);
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
