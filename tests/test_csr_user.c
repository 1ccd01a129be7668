/* SPDX-License-Identifier: MIT */
/*
 * USERSRV against a real csrd: its connect routine, ExitWindowsEx (always
 * refused, for the right reason) and EndTask, whose uid check is what
 * stands between a user and csrd's root privileges.
 */
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "csrt.h"

#define H(v) ((HANDLE)(uintptr_t)(v))

/* USERSRV's table in the default profile (ws03): 0x400..0x409. */
#define WS03_USERSRV_COUNT 10

/* Every test starts as a connected CSR client (children forked later
 * start disconnected and connect on their own). */
static void setup(void)
{
	csrt_setup();
	csrt_connect();
}

TestSuite(csr_user, .init = setup, .fini = csrt_teardown, .timeout = 30);

/* ------------------------------------------------------------------ */
/* Calls (no Criterion asserts: children use them)                     */
/* ------------------------------------------------------------------ */

static NTSTATUS exit_windows(ULONG flags)
{
	CSR_API_MESSAGE m;

	csrt_msg(&m);
	m.Data.ExitReactosRequest.Flags = flags;
	return csrt_call(&m, NULL, USERSRV_EXIT_WINDOWS_EX,
			 sizeof(USER_EXIT_REACTOS));
}

static NTSTATUS end_task_h(HANDLE pid, BOOLEAN force)
{
	CSR_API_MESSAGE m;

	csrt_msg(&m);
	m.Data.EndTaskRequest.ProcessId = pid;
	m.Data.EndTaskRequest.Force = force;
	return csrt_call(&m, NULL, USERSRV_END_TASK, sizeof(USER_END_TASK));
}

static NTSTATUS end_task(pid_t pid, BOOLEAN force)
{
	return end_task_h(H(pid), force);
}

static NTSTATUS user_connect(ULONG version, ULONG size,
			     USERSRV_API_CONNECTINFO *out)
{
	unsigned char buf[sizeof(USERSRV_API_CONNECTINFO) + 16];
	USERSRV_API_CONNECTINFO *ui = (USERSRV_API_CONNECTINFO *)buf;
	ULONG len = size;
	NTSTATUS st;

	memset(buf, 0xcc, sizeof(buf));
	ui->ulVersion = version;
	st = CsrClientConnectToServer(NULL, USERSRV_SERVERDLL_INDEX, buf, &len,
				      NULL);
	if (out)
		memcpy(out, buf, sizeof(*out));
	return st;
}

static bool drop_to_nobody(void)
{
	return !setgroups(0, NULL) && !setgid(LPCT_NOBODY) &&
	       !setuid(LPCT_NOBODY);
}

/* ------------------------------------------------------------------ */
/* Targets: CSR clients that wait to be ended                          */
/* ------------------------------------------------------------------ */

enum { TARGET_NOBODY = 1, TARGET_IGNORE_TERM = 2, TARGET_NO_CSR = 4 };

static pid_t target_start(int flags)
{
	int pfd[2];
	pid_t pid;

	if ((flags & TARGET_NOBODY) && geteuid() != 0)
		cr_skip_test("needs root to switch to uid %d", LPCT_NOBODY);
	cr_assert_eq(pipe(pfd), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		char ok = 't';

		close(pfd[0]);
		if (flags & TARGET_IGNORE_TERM)
			signal(SIGTERM, SIG_IGN);
		if ((flags & TARGET_NOBODY) && !drop_to_nobody())
			_exit(90);
		/* After setuid, which clears the death signal. */
		lpct_child_enter();
		if (!(flags & TARGET_NO_CSR) &&
		    CsrClientConnectToServer(NULL, 0, NULL, NULL, NULL) !=
			    STATUS_SUCCESS)
			_exit(91);
		if (write(pfd[1], &ok, 1) != 1)
			_exit(92);
		for (;;)
			pause();
	}
	close(pfd[1]);
	cr_assert_eq(lpct_read_byte(pfd[0]), 't');
	close(pfd[0]);
	return pid;
}

/* Still running (not even a zombie) after a moment to die in. */
static bool still_alive(pid_t pid)
{
	int st;

	usleep(100000);
	if (waitpid(pid, &st, WNOHANG) != 0)
		return false;
	return lpct_proc_state(pid, 0) != 0 && lpct_proc_state(pid, 0) != 'Z';
}

static void target_kill(pid_t pid)
{
	lpct_end_child(pid, true);
}

/* What a nobody child calls; arg is the request. */
struct nobody_call {
	int what;		/* 0 ExitWindowsEx, 1 EndTask */
	ULONG flags;
	pid_t pid;
	BOOLEAN force;
};

static NTSTATUS nobody_call(void *arg)
{
	struct nobody_call *n = arg;
	NTSTATUS st;

	lpct_child_enter();
	st = CsrClientConnectToServer(NULL, 0, NULL, NULL, NULL);
	if (st != STATUS_SUCCESS)
		return st;
	return n->what ? end_task(n->pid, n->force) : exit_windows(n->flags);
}

/* ------------------------------------------------------------------ */
/* USERSRV's connect routine                                           */
/* ------------------------------------------------------------------ */

Test(csr_user, connect_reports_version_and_table)
{
	USERSRV_API_CONNECTINFO ui;

	csrt_connect();
	cr_assert_status(user_connect(USERSRV_VERSION, sizeof(ui), &ui),
			 STATUS_SUCCESS);
	cr_assert_eq(ui.ulVersion, USERSRV_VERSION);
	cr_assert_eq(ui.ulCurrentVersion, USERSRV_VERSION);
	cr_assert_eq(ui.dwDispatchCount, WS03_USERSRV_COUNT);
}

Test(csr_user, connect_refuses_size_and_version)
{
	USERSRV_API_CONNECTINFO ui;

	csrt_connect();
	cr_assert_status(user_connect(USERSRV_VERSION - 1, sizeof(ui), &ui),
			 STATUS_REVISION_MISMATCH);
	cr_assert_eq(ui.ulCurrentVersion, 0xcccccccc);
	cr_assert_status(user_connect(USERSRV_VERSION + 0x10000, sizeof(ui),
				      &ui),
			 STATUS_REVISION_MISMATCH);
	cr_assert_status(user_connect(0, sizeof(ui), &ui),
			 STATUS_REVISION_MISMATCH);
	/* A size that is not the structure's, either way. */
	cr_assert_status(user_connect(USERSRV_VERSION, sizeof(ui) - 4, &ui),
			 STATUS_INVALID_PARAMETER);
	cr_assert_status(user_connect(USERSRV_VERSION, sizeof(ui) + 4, &ui),
			 STATUS_INVALID_PARAMETER);
	cr_assert_status(user_connect(USERSRV_VERSION, 4, &ui),
			 STATUS_INVALID_PARAMETER);
	/* The right one still works afterwards. */
	cr_assert_status(user_connect(USERSRV_VERSION, sizeof(ui), &ui),
			 STATUS_SUCCESS);
}

/* ------------------------------------------------------------------ */
/* ExitWindowsEx                                                       */
/* ------------------------------------------------------------------ */

static const ULONG good_flags[] = {
	EWX_LOGOFF, EWX_SHUTDOWN, EWX_REBOOT, EWX_FORCE, EWX_POWEROFF,
	EWX_FORCEIFHUNG, EWX_SHUTDOWN | EWX_FORCE, 0x1f,
};
static const ULONG bad_flags[] = {
	0x20, 0x40, 0x100, 0x21, 0x3f, 0x80000000, 0xffffffff,
};

Test(csr_user, exit_windows_is_not_supported_for_root)
{
	if (geteuid() != 0)
		cr_skip_test("the caller must be root");
	csrt_connect();
	for (unsigned i = 0; i < sizeof(good_flags) / sizeof(*good_flags); i++)
		cr_assert_eq(exit_windows(good_flags[i]), STATUS_NOT_SUPPORTED,
			     "flags %#x", (unsigned)good_flags[i]);
	for (unsigned i = 0; i < sizeof(bad_flags) / sizeof(*bad_flags); i++)
		cr_assert_eq(exit_windows(bad_flags[i]),
			     STATUS_INVALID_PARAMETER, "flags %#x",
			     (unsigned)bad_flags[i]);
	/* csrd is still there. */
	cr_assert_eq(kill(csrt_server_pid(), 0), 0);
	cr_assert_status(exit_windows(EWX_LOGOFF), STATUS_NOT_SUPPORTED);
}

Test(csr_user, exit_windows_needs_the_privilege)
{
	struct nobody_call n = { .what = 0 };

	for (unsigned i = 0; i < sizeof(good_flags) / sizeof(*good_flags);
	     i += 3) {
		n.flags = good_flags[i];
		cr_assert_eq(lpct_as_nobody(nobody_call, &n),
			     STATUS_PRIVILEGE_NOT_HELD, "flags %#x",
			     (unsigned)n.flags);
	}
	/* Malformed flags are refused as such, privilege or not. */
	n.flags = 0x20;
	cr_assert_status(lpct_as_nobody(nobody_call, &n),
			 STATUS_INVALID_PARAMETER);
}

/* ------------------------------------------------------------------ */
/* EndTask                                                             */
/* ------------------------------------------------------------------ */

Test(csr_user, end_task_terminates_a_child)
{
	pid_t pid = target_start(0);

	csrt_connect();
	cr_assert_status(end_task(pid, FALSE), STATUS_SUCCESS);
	cr_assert_eq(lpct_wait(pid), 128 + SIGTERM);
}

Test(csr_user, end_task_force_kills)
{
	pid_t pid = target_start(TARGET_IGNORE_TERM);

	csrt_connect();
	/* SIGTERM is ignored: without Force the child lives on. */
	cr_assert_status(end_task(pid, FALSE), STATUS_SUCCESS);
	cr_assert(still_alive(pid));
	cr_assert_status(end_task(pid, TRUE), STATUS_SUCCESS);
	cr_assert_eq(lpct_wait(pid), 128 + SIGKILL);
}

Test(csr_user, end_task_of_another_users_process_is_denied)
{
	pid_t root_target = target_start(0);
	struct nobody_call n = { .what = 1, .pid = root_target };

	csrt_connect();
	cr_assert_status(lpct_as_nobody(nobody_call, &n), STATUS_ACCESS_DENIED);
	n.force = TRUE;
	cr_assert_status(lpct_as_nobody(nobody_call, &n), STATUS_ACCESS_DENIED);
	cr_assert(still_alive(root_target), "csrd killed a root process for "
					    "uid %d", LPCT_NOBODY);
	/* This (root) process is a CSR client too. */
	n.pid = getpid();
	cr_assert_status(lpct_as_nobody(nobody_call, &n), STATUS_ACCESS_DENIED);
	/* And csrd is refused to nobody as to everyone. */
	n.pid = csrt_server_pid();
	cr_assert_status(lpct_as_nobody(nobody_call, &n), STATUS_ACCESS_DENIED);
	cr_assert(still_alive(root_target));
	target_kill(root_target);
}

Test(csr_user, end_task_within_one_user)
{
	pid_t target = target_start(TARGET_NOBODY);
	struct nobody_call n = { .what = 1, .pid = target };

	cr_assert_status(lpct_as_nobody(nobody_call, &n), STATUS_SUCCESS);
	cr_assert_eq(lpct_wait(target), 128 + SIGTERM);
}

Test(csr_user, root_may_end_anyone)
{
	pid_t target = target_start(TARGET_NOBODY);

	csrt_connect();
	cr_assert_status(end_task(target, TRUE), STATUS_SUCCESS);
	cr_assert_eq(lpct_wait(target), 128 + SIGKILL);
}

Test(csr_user, end_task_of_csrd_is_denied)
{
	csrt_connect();
	cr_assert_status(end_task(csrt_server_pid(), FALSE),
			 STATUS_ACCESS_DENIED);
	cr_assert_status(end_task(csrt_server_pid(), TRUE),
			 STATUS_ACCESS_DENIED);
	cr_assert_eq(kill(csrt_server_pid(), 0), 0);
	/* It still answers. */
	cr_assert_status(exit_windows(0x20), STATUS_INVALID_PARAMETER);
}

static void end_self(void *arg)
{
	(void)arg;
	lpct_child_enter();
	if (CsrClientConnectToServer(NULL, 0, NULL, NULL, NULL))
		_exit(2);
	end_task(getpid(), FALSE);
	/* The signal is pending by the time the reply comes. */
	sleep(5);
	_exit(3);
}

Test(csr_user, end_task_of_oneself)
{
	pid_t pid;

	csrt_connect();
	pid = lpct_fork(end_self, NULL);
	cr_assert_eq(lpct_wait(pid), 128 + SIGTERM);
	/* csrd goes on. */
	cr_assert_status(end_task(csrt_server_pid(), FALSE),
			 STATUS_ACCESS_DENIED);
}

static void connect_and_exit(void *arg)
{
	(void)arg;
	lpct_child_enter();
	_exit(CsrClientConnectToServer(NULL, 0, NULL, NULL, NULL) ? 2 : 0);
}

Test(csr_user, end_task_of_unknown_pids)
{
	pid_t stranger = target_start(TARGET_NO_CSR), gone;

	csrt_connect();
	/* Alive, but never a CSR client. */
	cr_assert_status(end_task(stranger, TRUE), STATUS_INVALID_CID);
	cr_assert(still_alive(stranger));
	/* Values that are no pid at all. */
	cr_assert_status(end_task_h(H(0), FALSE), STATUS_INVALID_CID);
	cr_assert_status(end_task_h(H(-1), FALSE), STATUS_INVALID_CID);
	cr_assert_status(end_task_h(H(0x80000000u), FALSE), STATUS_INVALID_CID);
	cr_assert_status(end_task_h(H(0x100000000ull + getpid()), FALSE),
			 STATUS_INVALID_CID);
	cr_assert_status(end_task_h(H(INT_MAX), FALSE), STATUS_INVALID_CID);
	/* A client that has exited and been reaped. */
	gone = lpct_fork(connect_and_exit, NULL);
	cr_assert_eq(lpct_wait(gone), 0);
	cr_assert_status(end_task(gone, TRUE), STATUS_INVALID_CID);
	target_kill(stranger);
}

Test(csr_user, refusals_are_logged)
{
	char want[128];
	const char *log;
	int status;

	/* The suite's server is quiet (-q): restart it with refusals on. */
	CsrClientDisconnect();
	status = csrt_stop(csrt_server_pid());
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	csrt_start("-v", NULL);
	csrt_connect();
	cr_assert_status(exit_windows(EWX_SHUTDOWN), STATUS_NOT_SUPPORTED);
	cr_assert_status(end_task(csrt_server_pid(), FALSE),
			 STATUS_ACCESS_DENIED);
	log = csrt_log();
	snprintf(want, sizeof(want), "UserpExitWindowsEx: pid %d tid %d: ",
		 (int)getpid(), (int)lpct_gettid());
	cr_assert_not_null(strstr(log, want), "no '%s' in:\n%s", want, log);
	cr_assert_not_null(strstr(log, "never shuts the machine down"));
	snprintf(want, sizeof(want), "UserpEndTask: pid %d tid %d: ",
		 (int)getpid(), (int)lpct_gettid());
	cr_assert_not_null(strstr(log, want), "no '%s' in:\n%s", want, log);
	cr_assert_not_null(strstr(log, "csrd itself"));
}
