/* SPDX-License-Identifier: MIT */
/*
 * usersrv.c - the user server DLL (USERSRV, index 3): ExitWindowsEx and
 * EndTask.
 *
 * csrd runs as root, so both are privilege questions before anything
 * else.  ExitWindowsEx is always refused: csrd never shuts the machine
 * down, and tells a caller without the privilege so rather than "not
 * supported".  EndTask signals a CSR client, but only one of the caller's
 * own uid unless the caller is root: without that check any user could
 * have csrd kill another user's processes.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "srv.h"

#define USER_INDEX USERSRV_SERVERDLL_INDEX

#define EWX_VALID                                                             \
	(EWX_LOGOFF | EWX_SHUTDOWN | EWX_REBOOT | EWX_FORCE | EWX_POWEROFF |  \
	 EWX_FORCEIFHUNG)

/* ------------------------------------------------------------------ */
/* pidfd syscalls (Linux 5.1 / 5.3), returning -errno                  */
/* ------------------------------------------------------------------ */

static int sys_pidfd_open(pid_t pid)
{
#ifdef SYS_pidfd_open
	long r = syscall(SYS_pidfd_open, pid, 0);

	return r < 0 ? -errno : (int)r;
#else
	(void)pid;
	return -ENOSYS;
#endif
}

static int sys_pidfd_send_signal(int pidfd, int sig)
{
#ifdef SYS_pidfd_send_signal
	return syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) < 0 ? -errno
									  : 0;
#else
	(void)pidfd;
	(void)sig;
	return -ENOSYS;
#endif
}

/* What a failed pidfd call means for the caller: the process went (or
 * the pid names no process), or csrd could not do it. */
static NTSTATUS pidfd_status(int err)
{
	switch (err) {
	case ESRCH:
	case EINVAL:
		return STATUS_INVALID_CID;
	case EPERM:
		return STATUS_ACCESS_DENIED;
	case ENOSYS:
		return STATUS_NOT_SUPPORTED;
	case EMFILE:
	case ENFILE:
	case ENOMEM:
		return STATUS_INSUFFICIENT_RESOURCES;
	default:
		return STATUS_UNSUCCESSFUL;
	}
}

/* ------------------------------------------------------------------ */
/* Refusals                                                            */
/* ------------------------------------------------------------------ */

static NTSTATUS __attribute__((format(printf, 4, 5)))
refuse(struct csr_call *c, const char *api, NTSTATUS st, const char *fmt, ...)
{
	const PORT_MESSAGE *h = &c->msg->Header;
	pid_t tid = c->thread ? c->thread->tid :
				(pid_t)(uintptr_t)h->ClientId.UniqueThread;
	char why[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	csr_log(c->srv, 0, "%s: pid %d tid %d: %s (0x%08x)", api,
		c->process ? (int)c->process->pid : 0, (int)tid, why,
		(unsigned)st);
	return st;
}

/* ------------------------------------------------------------------ */
/* APIs                                                                */
/* ------------------------------------------------------------------ */

static NTSTATUS user_exit_windows(struct csr_call *c)
{
	static const char api[] = "UserpExitWindowsEx";
	USER_EXIT_REACTOS *e = &c->msg->Data.ExitReactosRequest;
	ULONG flags = e->Flags;

	if (flags & ~(ULONG)EWX_VALID)
		return refuse(c, api, STATUS_INVALID_PARAMETER, "flags %#x",
			      (unsigned)flags);
	if (!c->process || c->process->uid != 0)
		return refuse(c, api, STATUS_PRIVILEGE_NOT_HELD,
			      "flags %#x: uid %d may not shut down",
			      (unsigned)flags,
			      c->process ? (int)c->process->uid : -1);
	return refuse(c, api, STATUS_NOT_SUPPORTED,
		      "flags %#x: csrd never shuts the machine down",
		      (unsigned)flags);
}

/*
 * May caller end target?  Root may end anyone (but csrd, refused before);
 * anyone may end itself; otherwise both must belong to the same uid.
 * "Root" and "same uid" hold only if they hold both for the uid csrd
 * recorded at registration and for the euid the process has now: a
 * process that changed identity since it connected gets the narrower of
 * the two.  target's /proc entry is read while its pidfd is open and its
 * create time is checked again afterwards, by the caller.
 */
static bool may_end(struct csr_process *caller, struct csr_process *target)
{
	uid_t now = csr_proc_uid(caller->pid);

	if (caller == target || caller->pid == target->pid)
		return true;
	if (now != caller->uid)
		return false;
	if (caller->uid == 0)
		return true;
	return target->uid == caller->uid &&
	       csr_proc_uid(target->pid) == caller->uid;
}

static NTSTATUS user_end_task(struct csr_call *c)
{
	static const char api[] = "UserpEndTask";
	USER_END_TASK *e = &c->msg->Data.EndTaskRequest;
	struct csr_server *s = c->srv;
	uintptr_t v = (uintptr_t)e->ProcessId;
	int sig = e->Force ? SIGKILL : SIGTERM;
	struct csr_process *t;
	NTSTATUS st = STATUS_SUCCESS;
	const char *why = NULL;
	int fd, err;
	pid_t pid;

	if (!v || v > INT_MAX)
		return refuse(c, api, STATUS_INVALID_CID, "process id %#lx",
			      (unsigned long)v);
	pid = (pid_t)v;
	if (pid == s->pid)
		return refuse(c, api, STATUS_ACCESS_DENIED,
			      "pid %d is csrd itself", (int)pid);
	if (!c->process)
		return refuse(c, api, STATUS_ACCESS_DENIED, "unknown caller");
	t = csr_process_get(s, pid);
	if (!t)
		return refuse(c, api, STATUS_INVALID_CID,
			      "pid %d is no CSR process", (int)pid);

	/* The pidfd pins the process that has pid now; its create time
	 * says whether that is still the one csrd registered, and the
	 * signal goes through the pidfd, so a pid recycled after this
	 * check can never be hit. */
	fd = sys_pidfd_open(pid);
	if (fd < 0) {
		st = pidfd_status(-fd);
		why = strerror(-fd);
		goto put_target;
	}
	if (csr_proc_ctime(pid, 0) != t->ctime) {
		st = STATUS_INVALID_CID;
		why = "the process has exited";
		goto close_fd;
	}
	if (!may_end(c->process, t)) {
		st = STATUS_ACCESS_DENIED;
		why = "it belongs to another user";
		goto close_fd;
	}
	/* may_end read /proc/<pid>: it was the same process only if the
	 * create time still matches. */
	if (csr_proc_ctime(pid, 0) != t->ctime) {
		st = STATUS_INVALID_CID;
		why = "the process has exited";
		goto close_fd;
	}
	err = sys_pidfd_send_signal(fd, sig);
	if (err) {
		st = pidfd_status(-err);
		why = strerror(-err);
		goto close_fd;
	}
	csr_log(s, 1, "pid %d (uid %d) ended pid %d (uid %d) with %s",
		(int)c->process->pid, (int)c->process->uid, (int)pid,
		(int)t->uid, sig == SIGKILL ? "SIGKILL" : "SIGTERM");

close_fd:
	close(fd);
put_target:
	csr_process_put(s, t);
	if (st)
		return refuse(c, api, st, "end pid %d: %s", (int)pid, why);
	return STATUS_SUCCESS;
}

/* ------------------------------------------------------------------ */
/* The DLL                                                             */
/* ------------------------------------------------------------------ */

static NTSTATUS usersrv_connect(struct csr_call *c, void *info, ULONG *len)
{
	static const char api[] = "USERSRV connect";
	USERSRV_API_CONNECTINFO ui;
	const struct csr_dll_def *def = c->srv->dlls[USER_INDEX].def;

	if (!info || !len || *len != sizeof(ui))
		return refuse(c, api, STATUS_INVALID_PARAMETER,
			      "connection info of %u bytes",
			      len ? (unsigned)*len : 0);
	memcpy(&ui, info, sizeof(ui));
	if (ui.ulVersion != USERSRV_VERSION)
		return refuse(c, api, STATUS_REVISION_MISMATCH,
			      "version %#x, csrd speaks %#x",
			      (unsigned)ui.ulVersion, USERSRV_VERSION);
	ui.ulCurrentVersion = USERSRV_VERSION;
	ui.dwDispatchCount = def ? def->count : 0;
	ui.Reserved = 0;
	memcpy(info, &ui, sizeof(ui));
	return STATUS_SUCCESS;
}

static const struct csr_api_impl usersrv_apis[] = {
	{ "UserpExitWindowsEx", user_exit_windows },
	{ "UserpEndTask", user_end_task },
	{ NULL, NULL },
};

/* No state: every answer comes from the process table. */
const struct csr_dll_impl csr_usersrv_dll = {
	.name = "USERSRV",
	.index = USERSRV_SERVERDLL_INDEX,
	.apis = usersrv_apis,
	.connect = usersrv_connect,
};
