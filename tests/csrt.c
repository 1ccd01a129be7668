/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "csrt.h"

static pid_t server;

static const char *csrd_path(void)
{
	static char path[512];
	const char *b = getenv("LPC_BUILD");

	snprintf(path, sizeof(path), "%s/csrd", b && *b ? b : "build");
	return path;
}

pid_t csrt_start(const char *arg, ...)
{
	const char *argv[32] = { "csrd", "-q", "--threads", "2",
				 "--console-dir", NULL };
	char consoles[512], sock[512] = "Windows/ApiPort";
	int n = 5, fd;
	va_list ap;
	pid_t pid;

	snprintf(consoles, sizeof(consoles), "%s", lpct_path("consoles"));
	argv[n++] = consoles;
	va_start(ap, arg);
	for (const char *a = arg; a && n < 31; a = va_arg(ap, const char *)) {
		/* Wait for the port where it will be. */
		if (n > 6 && (!strcmp(argv[n - 1], "-d") ||
			      !strcmp(argv[n - 1], "--object-directory"))) {
			size_t k = 0;

			for (const char *c = a + (*a == '\\'); *c && k < 400;
			     c++)
				sock[k++] = *c == '\\' ? '/' : *c;
			snprintf(sock + k, sizeof(sock) - k, "/ApiPort");
		}
		argv[n++] = a;
	}
	va_end(ap);
	argv[n] = NULL;

	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		fd = open(lpct_path("csrd.log"),
			  O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (fd >= 0)
			dup2(fd, 2);
		execv(csrd_path(), (char **)argv);
		dprintf(2, "exec %s: %s\n", csrd_path(), strerror(errno));
		_exit(127);
	}
	/* Ready when the port's socket exists (NtCreatePort binds it). */
	for (int i = 0; i < 1000; i++) {
		struct stat st;
		int status;

		if (stat(lpct_path(sock), &st) == 0)
			break;
		if (waitpid(pid, &status, WNOHANG) == pid)
			cr_assert_fail("csrd exited early (status 0x%x): %s",
				       status, csrt_log());
		usleep(10000);
	}
	server = pid;
	return pid;
}

void csrt_setup(void)
{
	lpct_setup();
	csrt_start(NULL);
}

int csrt_stop(pid_t pid)
{
	int status = 0;

	if (pid <= 0)
		return 0;
	kill(pid, SIGTERM);
	for (int i = 0; i < 1000; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return status;
		usleep(10000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	cr_log_error("csrd did not stop within 10 s: killed");
	return status;
}

void csrt_teardown(void)
{
	int status;

	CsrClientDisconnect();
	status = csrt_stop(server);
	server = 0;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		/* Criterion ignores failed assertions here: exit, which
		 * scripts/run-tests reports as a failed fixture. */
		fprintf(stderr, "csrd did not exit cleanly (status 0x%x); "
			"log:\n%s\n", status, csrt_log());
		lpct_teardown();
		exit(1);
	}
	lpct_teardown();
}

pid_t csrt_server_pid(void)
{
	return server;
}

const char *csrt_log(void)
{
	static char buf[65536];
	int fd = open(lpct_path("csrd.log"), O_RDONLY | O_CLOEXEC);
	ssize_t n = 0;

	buf[0] = 0;
	if (fd < 0)
		return buf;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = 0;
	return buf;
}

void csrt_connect(void)
{
	NTSTATUS st = CsrClientConnectToServer(NULL, 0, NULL, NULL, NULL);

	cr_assert_eq(st, STATUS_SUCCESS, "connect to csrd: 0x%08x; log:\n%s",
		     (unsigned)st, csrt_log());
}

void csrt_msg(CSR_API_MESSAGE *m)
{
	memset(m, 0, sizeof(*m));
}

NTSTATUS csrt_call(CSR_API_MESSAGE *m, PCSR_CAPTURE_BUFFER cb,
		   CSR_API_NUMBER api, ULONG len)
{
	return CsrClientCallServer(m, cb, api, len);
}

PWSTR csrt_w(const char *ascii)
{
	static WCHAR bufs[4][1100];
	static unsigned next;
	WCHAR *w = bufs[next++ % 4];
	size_t i;

	for (i = 0; ascii[i] && i < 1099; i++)
		w[i] = (WCHAR)(unsigned char)ascii[i];
	w[i] = 0;
	return w;
}

bool csrt_weq(const WCHAR *w, const char *ascii)
{
	size_t i;

	for (i = 0; ascii[i]; i++)
		if (w[i] != (WCHAR)(unsigned char)ascii[i])
			return false;
	return w[i] == 0;
}

int csrt_child(int (*fn)(void *), void *arg)
{
	int status;
	pid_t pid = fork();

	cr_assert_geq(pid, 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		_exit(fn(arg));
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status), "child killed by signal %d",
		  WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	return WEXITSTATUS(status);
}
