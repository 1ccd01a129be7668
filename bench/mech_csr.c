/* SPDX-License-Identifier: MIT */
/*
 * mech_csr.c - CSR calls per second: CsrClientCallServer (libcsr) in this
 * process against the real csrd, exec'd as a server child in the run's
 * LPC_ROOT.  Two calls:
 *
 *   csr          BasepGetTempFile, no capture buffer: a 4-byte id back,
 *                csrd's work an atomic increment.  What the CSR layer
 *                (message header, dispatch, the process and thread
 *                lookups) adds to a bare LPC round trip.
 *   csr-capture  BasepNlsGetUserInfo as kernel32 makes it, every call:
 *                a capture buffer for one 1128-byte NLS_USER_INFO
 *                allocated in the client view, the pointer fix-ups both
 *                ways, csrd's validation and its copies of the buffer in
 *                and out (spec 12.6), the copy to the caller's structure
 *                and the free.
 *
 * Both share one csrd, since libcsr keeps one connection per process.
 * csrd runs one request thread and no dynamic ones, like the LPC echo
 * servers, with its LPC_BACKEND forced like theirs; report.c sets each
 * call against the bare 64 B LPC round trip of that backend.
 *
 * The namespace is the run's private LPC_ROOT (lpcbench.c makes it with
 * mkdtemp, exports it before any fork and removes it at the end): liblpc
 * picks a process's root once, at its first call, and this process must
 * reach csrd and the LPC echo servers alike.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lpc/csr.h>

#include "bench.h"

/* The Makefile passes the csrd built with this lpcbench. */
#ifndef LPCBENCH_CSRD
#define LPCBENCH_CSRD "build/csrd"
#endif

#define CONNECT_RETRY_MS 2000

/* The one csrd both mechanisms use: started by the first to spawn,
 * stopped when the last closes. */
static struct {
	pid_t pid;		/* 0: not running */
	int users;		/* mechanisms holding it */
	int status;		/* why it is not running: BENCH_SKIP or -1 */
	char err[256];
} csrd;

struct csr_client {
	bool has_server;	/* counted in csrd.users */
	CSR_API_MESSAGE msg;
	ULONG next_id;		/* BasepGetTempFile's next answer */
	NLS_USER_INFO nls;	/* the first answer; every later one equals it */
	NLS_USER_INFO out;	/* the caller's copy, as kernel32 makes it */
};

const char *bench_csrd_path(void)
{
	return LPCBENCH_CSRD;
}

const char *bench_csr_backend(void)
{
	const char *env = getenv("LPC_BACKEND");

	if (env && !strcmp(env, "sync"))
		return "sync";
	if (env && !strcmp(env, "uring"))
		return "uring";
	/* process.c's choice when LPC_BACKEND is unset: csrd as deployed. */
	return bench_uring_usable() == 0 ? "uring" : "sync";
}

static int set_status_err(struct mech *m, const char *what, NTSTATUS s)
{
	snprintf(m->err, sizeof(m->err), "%s: 0x%08x (%s)", what, (unsigned)s,
		 report_status(s));
	return -1;
}

/*
 * Not being able to start csrd (not built, io_uring missing, csrd failing
 * at start-up) skips the CSR rows, never the run.  csrd's own complaint,
 * if any, is on stderr above the table.
 */
static int csrd_start(struct mech *m)
{
	char *argv[] = { (char *)bench_csrd_path(), "-q", "--threads", "1",
			 "--max-threads", "1", NULL };
	const char *root = getenv("LPC_ROOT");
	char sock[512];
	pid_t pid;
	int r;

	if (!root || !*root) {
		snprintf(m->err, sizeof(m->err), "LPC_ROOT is not set");
		return -1;
	}
	if (access(argv[0], X_OK) < 0) {
		snprintf(m->err, sizeof(m->err),
			 "no csrd at %s (%s; make builds it)", argv[0],
			 strerror(errno));
		return BENCH_SKIP;
	}
	if (!strcmp(m->backend, "uring") && (r = bench_uring_usable()) < 0) {
		snprintf(m->err, sizeof(m->err), "io_uring unavailable: %s",
			 strerror(-r));
		return BENCH_SKIP;
	}
	/* NtCreatePort binds the port's socket: csrd serves from then on. */
	if ((size_t)snprintf(sock, sizeof(sock), "%s/Windows/%s", root,
			     CSR_PORT_NAME) >= sizeof(sock)) {
		snprintf(m->err, sizeof(m->err), "LPC_ROOT too long");
		return -1;
	}
	pid = bench_spawn_exec(m, argv, sock);
	if (pid < 0)
		return bench_signal ? -1 : BENCH_SKIP;
	csrd.pid = pid;
	return 0;
}

static int csr_spawn(struct mech *m)
{
	struct csr_client *c = calloc(1, sizeof(*c));
	int r;

	if (!c) {
		snprintf(m->err, sizeof(m->err), "out of memory");
		return -1;
	}
	m->priv = c;
	if (!csrd.pid && !csrd.status) {
		r = csrd_start(m);
		if (r) {
			/* The other CSR mechanism says the same. */
			csrd.status = r;
			snprintf(csrd.err, sizeof(csrd.err), "%s", m->err);
			return r;
		}
	}
	if (!csrd.pid) {
		snprintf(m->err, sizeof(m->err), "%s", csrd.err);
		return csrd.status;
	}
	csrd.users++;
	c->has_server = true;
	/* Forced, as csrd -q does not say which it runs. */
	snprintf(m->server_info, sizeof(m->server_info), "%s", m->backend);
	return 0;
}

/* The next id after id: csrd never hands out 0. */
static ULONG id_after(ULONG id)
{
	return id + 1 ? id + 1 : 1;
}

static int get_temp_file(struct mech *m, struct csr_client *c, ULONG *id)
{
	NTSTATUS s;

	c->msg.Data.GetTempFileRequest.UniqueId = 0;
	s = CsrClientCallServer(&c->msg, NULL, BASESRV_GET_TEMP_FILE,
				sizeof(BASE_GET_TEMP_FILE));
	if (s != STATUS_SUCCESS)
		return set_status_err(m, "BasepGetTempFile", s);
	*id = c->msg.Data.GetTempFileRequest.UniqueId;
	return 0;
}

/* One BasepNlsGetUserInfo, the capture buffer made and freed around it,
 * the answer copied to c->out. */
static int nls_get_user_info(struct mech *m, struct csr_client *c)
{
	BASE_NLS_GET_USER_INFO *r = &c->msg.Data.NlsGetUserInfo;
	PCSR_CAPTURE_BUFFER cb;
	NTSTATUS s;

	cb = CsrAllocateCaptureBuffer(1, sizeof(NLS_USER_INFO));
	if (!cb) {
		snprintf(m->err, sizeof(m->err),
			 "CsrAllocateCaptureBuffer(1, %zu) failed",
			 sizeof(NLS_USER_INFO));
		return -1;
	}
	CsrAllocateMessagePointer(cb, sizeof(NLS_USER_INFO),
				  (PVOID *)&r->NlsUserInfo);
	r->SizeOfNlsUserInfo = sizeof(NLS_USER_INFO);
	s = CsrClientCallServer(&c->msg, cb, BASESRV_NLS_GET_USER_INFO,
				sizeof(*r));
	if (s == STATUS_SUCCESS)
		memcpy(&c->out, r->NlsUserInfo, sizeof(c->out));
	CsrFreeCaptureBuffer(cb);
	if (s != STATUS_SUCCESS)
		return set_status_err(m, "BasepNlsGetUserInfo", s);
	return 0;
}

static int csr_connect(struct mech *m)
{
	struct csr_client *c = m->priv;
	NTSTATUS s;
	ULONG id;

	/*
	 * The second mechanism reuses the first one's connection.  csrd's
	 * socket exists from bind(), a moment before listen() (lpc/ns.c): a
	 * connect in between is refused, which liblpc reports as
	 * OBJECT_NAME_NOT_FOUND.  A pinned csrd sharing our CPU may sit in
	 * that gap, so retry for a while.
	 */
	for (int ms = 0;; ms++) {
		s = CsrClientConnectToServer(NULL, CSRSRV_SERVERDLL_INDEX,
					     NULL, NULL, NULL);
		if (s != STATUS_OBJECT_NAME_NOT_FOUND ||
		    ms >= CONNECT_RETRY_MS || bench_signal)
			break;
		usleep(1000);
	}
	if (s != STATUS_SUCCESS)
		return set_status_err(m, "CsrClientConnectToServer", s);
	/*
	 * A first call, untimed: it registers this thread with csrd (once
	 * per connection) and gives the answers every timed call is checked
	 * against.
	 */
	if (m->ops == &mech_csr_ops) {
		if (get_temp_file(m, c, &id))
			return -1;
		/* Nobody else asks this csrd for ids: they come in order. */
		c->next_id = id_after(id);
		return 0;
	}
	if (nls_get_user_info(m, c))
		return -1;
	/* CsrAllocateCaptureBuffer zeroes the buffer: a csrd that wrote
	 * nothing would answer zeros, every time. */
	if (!c->out.UserLocaleId) {
		snprintf(m->err, sizeof(m->err),
			 "BasepNlsGetUserInfo: no UserLocaleId in the answer");
		return -1;
	}
	c->nls = c->out;
	return 0;
}

static int csr_run(struct mech *m, uint64_t iters)
{
	struct csr_client *c = m->priv;
	ULONG id;

	for (uint64_t i = 0; i < iters; i++) {
		if (get_temp_file(m, c, &id))
			return -1;
		if (id != c->next_id) {
			snprintf(m->err, sizeof(m->err),
				 "BasepGetTempFile: id %u, want %u",
				 (unsigned)id, (unsigned)c->next_id);
			return -1;
		}
		c->next_id = id_after(id);
	}
	return 0;
}

static int csr_capture_run(struct mech *m, uint64_t iters)
{
	struct csr_client *c = m->priv;

	for (uint64_t i = 0; i < iters; i++) {
		if (nls_get_user_info(m, c))
			return -1;
		if (memcmp(&c->out, &c->nls, sizeof(c->nls))) {
			snprintf(m->err, sizeof(m->err),
				 "BasepNlsGetUserInfo: the answer changed");
			return -1;
		}
	}
	return 0;
}

static void csr_close(struct mech *m)
{
	struct csr_client *c = m->priv;

	if (!c)
		return;
	if (c->has_server && --csrd.users == 0) {
		/* Our port closes first, so csrd forgets this process
		 * before it is told to stop. */
		CsrClientDisconnect();
		bench_child_stop(csrd.pid);
		csrd.pid = 0;
	}
	free(c);
	m->priv = NULL;
}

const struct mech_ops mech_csr_ops = {
	.spawn = csr_spawn,
	.connect = csr_connect,
	.run = csr_run,
	.close = csr_close,
};

const struct mech_ops mech_csr_capture_ops = {
	.spawn = csr_spawn,
	.connect = csr_connect,
	.run = csr_capture_run,
	.close = csr_close,
};
