/* SPDX-License-Identifier: MIT */
/*
 * lpc-impersonate - a privileged server, an unprivileged client.
 *
 *   lpc-impersonate server [--no-impersonate] [NAME]
 *       serve until SIGINT/SIGTERM (run it as root)
 *   lpc-impersonate client [--as UID[:GID]] [--qos LEVEL] [--port NAME]
 *                          PATH [OFFSET LEN]
 *       ask the server for LEN bytes (at most 64) of PATH at OFFSET
 *   lpc-impersonate demo
 *       everything below, in one run (as root)
 *
 * NAME defaults to "\RPC Control\LpcImpersonateDemo".  The server reads a
 * few bytes of a file on the client's behalf.  For each request it calls
 * NtImpersonateClientOfPort, opens the file as the client, and reverts
 * with NtSetInformationThread(ThreadImpersonationToken, NULL) before it
 * answers: a client running as nobody gets STATUS_ACCESS_DENIED for a
 * root-only file, although the server runs as root.  --no-impersonate is
 * the bug: the server opens files as itself, and hands any client what
 * only root may read (a confused deputy).
 *
 * --as drops the client process to UID (and GID, default UID) before it
 * connects, so a root shell can play an ordinary user; --qos sets the
 * SecurityQos ImpersonationLevel (anonymous, identification,
 * impersonation, delegation; default impersonation).
 *
 * The demo (root only) makes a private directory with a 0600 root file
 * and a 0644 file, uses a fresh $LPC_ROOT unless one is set, starts the
 * server, runs clients as uid 65534 and as root, then a server started
 * with --no-impersonate, and checks every answer.  Walkthrough:
 * docs/examples/impersonate.md.
 *
 * Exit codes: 0 success (client: the server answered STATUS_SUCCESS),
 * 1 failure, 2 usage (or demo not run as root), 3 the server answered
 * the client with an error status (such as STATUS_ACCESS_DENIED).
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <lpc/lpc.h>

#define DEFAULT_NAME "\\RPC Control\\LpcImpersonateDemo"
#define READ_MAX 64
#define PATH_MAX_CHARS 256
#define NOBODY 65534
/* Every wait is bounded: the server's receive, the client's whole run. */
#define SERVER_TICK_MS 200
#define CLIENT_TIMEOUT_S 10
#define DEMO_CHILD_MS 15000

#define EXIT_USAGE 2
#define EXIT_REFUSED 3

/*
 * The request and its reply, one buffer, as NT servers define their
 * messages (csrss's CSR_API_MESSAGE, lsass's LPC messages): a
 * PORT_MESSAGE header, then the API's fields.  The server answers in
 * the buffer it received.
 */
typedef struct _LPC_READ_FILE_MSG {
	PORT_MESSAGE h;
	NTSTATUS ReturnedStatus;	/* reply: the server's verdict */
	ULONG Offset;			/* request */
	ULONG Length;			/* request: bytes wanted; reply: read */
	ULONG ActedAsUid;		/* reply: whom the server acted as */
	ULONG ActedAsGid;
	ULONG Impersonated;		/* reply: 1 if it impersonated */
	CHAR Path[PATH_MAX_CHARS];	/* request, NUL-terminated */
	UCHAR Data[READ_MAX];		/* reply */
} LPC_READ_FILE_MSG;

_Static_assert(sizeof(LPC_READ_FILE_MSG) <= PORT_MAXIMUM_MESSAGE_LENGTH,
	       "message fits a port");

#define MSG_DATA_LENGTH (sizeof(LPC_READ_FILE_MSG) - sizeof(PORT_MESSAGE))

static const char *status_name(NTSTATUS s)
{
#define S(x) { x, #x }
	static const struct {
		NTSTATUS status;
		const char *name;
	} names[] = {
		S(STATUS_SUCCESS),
		S(STATUS_TIMEOUT),
		S(STATUS_ACCESS_DENIED),
		S(STATUS_OBJECT_NAME_NOT_FOUND),
		S(STATUS_OBJECT_PATH_NOT_FOUND),
		S(STATUS_OBJECT_NAME_INVALID),
		S(STATUS_OBJECT_TYPE_MISMATCH),
		S(STATUS_NAME_TOO_LONG),
		S(STATUS_INVALID_PARAMETER),
		S(STATUS_INVALID_HANDLE),
		S(STATUS_INVALID_PORT_HANDLE),
		S(STATUS_INVALID_CID),
		S(STATUS_UNSUCCESSFUL),
		S(STATUS_NO_MEMORY),
		S(STATUS_PRIVILEGE_NOT_HELD),
		S(STATUS_PORT_DISCONNECTED),
		S(STATUS_PORT_CONNECTION_REFUSED),
		S(STATUS_REPLY_MESSAGE_MISMATCH),
		S(STATUS_LPC_REPLY_LOST),
	};
#undef S
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].status == s)
			return names[i].name;
	return "STATUS_?";
}

static int die(const char *who, const char *what, NTSTATUS s)
{
	fprintf(stderr, "lpc-impersonate %s: %s failed: %s (0x%08x)\n", who,
		what, status_name(s), (unsigned)s);
	return 1;
}

static void to_unicode(const char *s, UNICODE_STRING *us, WCHAR *buf,
		       size_t cap)
{
	size_t n = strlen(s);

	if (n >= cap)
		n = cap - 1;
	for (size_t i = 0; i < n; i++)
		buf[i] = (WCHAR)(unsigned char)s[i];
	buf[n] = 0;
	RtlInitUnicodeString(us, buf);
}

/* Bytes as a C string literal, so a learner sees exactly what came. */
static void print_bytes(const UCHAR *p, ULONG n)
{
	putchar('"');
	for (ULONG i = 0; i < n; i++) {
		if (p[i] == '\n')
			fputs("\\n", stdout);
		else if (p[i] == '"' || p[i] == '\\')
			printf("\\%c", p[i]);
		else if (p[i] >= 0x20 && p[i] < 0x7f)
			putchar(p[i]);
		else
			printf("\\x%02x", p[i]);
	}
	putchar('"');
}

/* ------------------------------------------------------------------ */
/* Server                                                              */
/* ------------------------------------------------------------------ */

/* One accepted connection: its server communication port, which is the
 * handle NtImpersonateClientOfPort wants.  It is the PortContext. */
struct conn {
	HANDLE comm;
	struct conn *next;
};

struct server_stats {
	unsigned long requests, impersonated, reverted;
};

static volatile sig_atomic_t stop_requested;

static void on_stop(int sig)
{
	(void)sig;
	stop_requested = 1;
}

/*
 * Who this thread is for file access, from /proc/thread-self/status:
 * the fourth Uid:/Gid: field is the filesystem id, which open() checks,
 * and which impersonation changes for this thread only.
 */
static void thread_ids(unsigned *uid, unsigned *gid, unsigned *euid)
{
	char line[256];
	unsigned a, b, c, d;
	FILE *f = fopen("/proc/thread-self/status", "re");

	*uid = *gid = *euid = ~0u;
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "Uid: %u %u %u %u", &a, &b, &c, &d) == 4) {
			*uid = d;
			*euid = b;
		} else if (sscanf(line, "Gid: %u %u %u %u", &a, &b, &c, &d) ==
			   4) {
			*gid = d;
		}
	}
	fclose(f);
}

static NTSTATUS errno_status(int e)
{
	switch (e) {
	case EACCES:
	case EPERM:
		return STATUS_ACCESS_DENIED;
	case ENOENT:
		return STATUS_OBJECT_NAME_NOT_FOUND;
	case ENOTDIR:
	case ELOOP:
		return STATUS_OBJECT_PATH_NOT_FOUND;
	case ENAMETOOLONG:
		return STATUS_NAME_TOO_LONG;
	default:
		return STATUS_UNSUCCESSFUL;
	}
}

/* The request's work, done as whoever this thread is now. */
static NTSTATUS read_file(LPC_READ_FILE_MSG *m)
{
	struct stat st;
	ssize_t n;
	int fd, e;

	/* O_NONBLOCK: a FIFO must not stall the server; only regular
	 * files are served. */
	fd = open(m->Path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return errno_status(errno);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return STATUS_OBJECT_TYPE_MISMATCH;
	}
	n = pread(fd, m->Data, m->Length, (off_t)m->Offset);
	e = errno;
	close(fd);
	if (n < 0)
		return errno_status(e);
	m->Length = (ULONG)n;
	return STATUS_SUCCESS;
}

static HANDLE null_token;

/* Answer request m (in place): impersonate, work, revert. */
static int serve_request(struct conn *c, LPC_READ_FILE_MSG *m, bool imp,
			 struct server_stats *ss)
{
	unsigned fsuid, fsgid, euid;
	NTSTATUS s;

	ss->requests++;
	m->Path[PATH_MAX_CHARS - 1] = 0;
	if (m->Length > READ_MAX)
		m->Length = READ_MAX;
	printf("server: request %lu from client %lu.%lu: read \"%s\" offset "
	       "%u length %u\n", ss->requests,
	       (unsigned long)(uintptr_t)m->h.ClientId.UniqueProcess,
	       (unsigned long)(uintptr_t)m->h.ClientId.UniqueThread, m->Path,
	       m->Offset, m->Length);
	m->Impersonated = 0;
	if (imp) {
		s = NtImpersonateClientOfPort(c->comm, &m->h);
		if (!NT_SUCCESS(s)) {
			/* Fail closed: no identity, no work. */
			printf("server:   NtImpersonateClientOfPort: %s; "
			       "refusing\n", status_name(s));
			m->ReturnedStatus = s;
			m->Length = 0;
			return 0;
		}
		ss->impersonated++;
		m->Impersonated = 1;
	}
	thread_ids(&fsuid, &fsgid, &euid);
	m->ActedAsUid = fsuid;
	m->ActedAsGid = fsgid;
	if (imp)
		printf("server:   impersonating the client: this thread now "
		       "opens files as uid %u gid %u\n", fsuid, fsgid);
	else
		printf("server:   BUG (--no-impersonate): opening the file as "
		       "the server itself, uid %u gid %u\n", fsuid, fsgid);
	s = read_file(m);
	if (!NT_SUCCESS(s))
		m->Length = 0;
	if (imp) {
		NTSTATUS r = NtSetInformationThread(
			NtCurrentThread(), ThreadImpersonationToken,
			&null_token, sizeof(HANDLE));

		if (!NT_SUCCESS(r))
			/* Going on as the client would be worse. */
			return die("server", "revert", r);
		ss->reverted++;
		thread_ids(&fsuid, &fsgid, &euid);
		printf("server:   answer %s (%u bytes); reverted: thread back "
		       "to uid %u gid %u\n", status_name(s), m->Length, fsuid,
		       fsgid);
	} else {
		printf("server:   answer %s (%u bytes)\n", status_name(s),
		       m->Length);
	}
	m->ReturnedStatus = s;
	return 0;
}

static void drop_conn(struct conn **list, struct conn *c)
{
	for (struct conn **pp = list; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			NtClose(c->comm);
			free(c);
			return;
		}
	}
}

static int server(const char *name, bool imp, int ready_fd)
{
	LARGE_INTEGER tick = { .QuadPart = -(LONGLONG)SERVER_TICK_MS * 10000 };
	struct server_stats ss = { 0 };
	struct conn *conns = NULL;
	struct sigaction sa;
	UNICODE_STRING us;
	WCHAR buf[256];
	OBJECT_ATTRIBUTES oa;
	LPC_READ_FILE_MSG m;
	HANDLE port;
	PVOID ctx;
	NTSTATUS s;
	bool have_reply = false;
	int rc = 0;
	unsigned fsuid, fsgid, euid;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	to_unicode(name, &us, buf, 256);
	/* The socket is created 0666 (docs/namespace.md): any uid may
	 * connect; what a client may read is decided per request. */
	InitializeObjectAttributes(&oa, &us, 0, NULL, NULL);
	s = NtCreatePort(&port, &oa, 0, sizeof(LPC_READ_FILE_MSG), 0);
	if (!NT_SUCCESS(s))
		return die("server", "NtCreatePort", s);
	printf("server: listening on %s as uid %u euid %u (backend %s)%s\n",
	       name, (unsigned)getuid(), (unsigned)geteuid(),
	       lpc_backend_name(),
	       imp ? "" : " -- WITHOUT impersonation (the bug)");
	if (ready_fd >= 0) {
		(void)!write(ready_fd, "r", 1);
		close(ready_fd);
	}
	while (!stop_requested) {
		/* The answer rides out with the next wait (in m.h itself). */
		s = NtReplyWaitReceivePortEx(port, &ctx,
					     have_reply ? &m.h : NULL, &m.h,
					     &tick);
		have_reply = false;
		if (s == STATUS_TIMEOUT)
			continue;
		if (!NT_SUCCESS(s)) {
			if (stop_requested)
				break;
			rc = die("server", "NtReplyWaitReceivePortEx", s);
			break;
		}
		switch (m.h.u2.s2.Type & 0x0fff) {
		case LPC_CONNECTION_REQUEST: {
			struct conn *c = calloc(1, sizeof(*c));
			HANDLE comm = NULL;

			/* Accept everyone: access is checked per request,
			 * as the client, by the file system. */
			s = NtAcceptConnectPort(&comm, c, &m.h, c != NULL,
						NULL, NULL);
			if (!c)
				break;
			if (NT_SUCCESS(s))
				s = NtCompleteConnectPort(comm);
			if (!NT_SUCCESS(s)) {
				if (comm)
					NtClose(comm);
				free(c);
				break;
			}
			c->comm = comm;
			c->next = conns;
			conns = c;
			break;
		}
		case LPC_REQUEST:
			if (!ctx || m.h.u1.s1.DataLength != MSG_DATA_LENGTH)
				break;	/* not ours: no answer */
			if (serve_request(ctx, &m, imp, &ss)) {
				rc = 1;
				stop_requested = 1;
				break;
			}
			have_reply = true;
			break;
		case LPC_PORT_CLOSED:
			/* The client closed its port: close ours. */
			if (ctx)
				drop_conn(&conns, ctx);
			break;
		default:
			break;
		}
	}
	if (have_reply)
		NtReplyPort(port, &m.h);
	while (conns)
		drop_conn(&conns, conns);
	NtClose(port);
	thread_ids(&fsuid, &fsgid, &euid);
	printf("server: stopping after %lu requests (%lu impersonated, %lu "
	       "reverted); process uid %u euid %u, thread fsuid %u fsgid %u\n",
	       ss.requests, ss.impersonated, ss.reverted, (unsigned)getuid(),
	       euid, fsuid, fsgid);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Client                                                              */
/* ------------------------------------------------------------------ */

struct client_args {
	const char *port;
	const char *path;
	ULONG offset, length;
	SECURITY_IMPERSONATION_LEVEL level;
	long as_uid, as_gid;	/* -1: stay who we are */
};

static const char *const level_names[] = {
	"anonymous", "identification", "impersonation", "delegation"
};

static int drop_to(long uid, long gid)
{
	if (setgroups(0, NULL) || setgid((gid_t)gid) || setuid((uid_t)uid)) {
		fprintf(stderr, "lpc-impersonate client: cannot become uid "
			"%ld gid %ld: %s\n", uid, gid, strerror(errno));
		return 1;
	}
	return 0;
}

static int client(const struct client_args *a)
{
	SECURITY_QUALITY_OF_SERVICE qos = { sizeof(qos), a->level,
					    SECURITY_DYNAMIC_TRACKING, TRUE };
	LPC_READ_FILE_MSG req, rep;
	UNICODE_STRING us;
	WCHAR buf[256];
	HANDLE port;
	NTSTATUS s;

	if (a->as_uid >= 0 && drop_to(a->as_uid, a->as_gid))
		return 1;
	/* NtRequestWaitReplyPort has no timeout: bound the whole client. */
	alarm(CLIENT_TIMEOUT_S);
	to_unicode(a->port, &us, buf, 256);
	s = NtConnectPort(&port, &us, &qos, NULL, NULL, NULL, NULL, NULL);
	if (!NT_SUCCESS(s))
		return die("client", "NtConnectPort", s);

	memset(&req, 0, sizeof(req));
	req.h.u1.s1.DataLength = (CSHORT)MSG_DATA_LENGTH;
	req.h.u1.s1.TotalLength = (CSHORT)sizeof(req);
	req.Offset = a->offset;
	req.Length = a->length;
	snprintf(req.Path, sizeof(req.Path), "%s", a->path);
	printf("client: uid %u gid %u, QoS %s, asks for %u bytes of \"%s\" "
	       "at offset %u\n", (unsigned)getuid(), (unsigned)getgid(),
	       level_names[a->level], req.Length, req.Path, req.Offset);
	memset(&rep, 0, sizeof(rep));
	s = NtRequestWaitReplyPort(port, &req.h, &rep.h);
	NtClose(port);
	if (!NT_SUCCESS(s))
		return die("client", "NtRequestWaitReplyPort", s);
	if (rep.h.u1.s1.DataLength != MSG_DATA_LENGTH ||
	    rep.Length > READ_MAX) {
		fprintf(stderr, "lpc-impersonate client: malformed reply\n");
		return 1;
	}
	printf("client: got %s (0x%08x); the server acted as uid %u gid "
	       "%u%s", status_name(rep.ReturnedStatus),
	       (unsigned)rep.ReturnedStatus, rep.ActedAsUid, rep.ActedAsGid,
	       rep.Impersonated ? "" : " (it did not impersonate)");
	if (NT_SUCCESS(rep.ReturnedStatus)) {
		printf(", %u bytes: ", rep.Length);
		print_bytes(rep.Data, rep.Length);
	}
	putchar('\n');
	return NT_SUCCESS(rep.ReturnedStatus) ? 0 : EXIT_REFUSED;
}

/* ------------------------------------------------------------------ */
/* Demo                                                                */
/* ------------------------------------------------------------------ */

static const char secret_text[] = "TOP SECRET: the launch code is 0000\n";
static const char public_text[] = "Hello from a world-readable file.\n";

/* The wait status of pid, or -1 if it had to be killed after ms. */
static int wait_bounded(pid_t pid, long ms)
{
	struct timespec ts = { 0, 5 * 1000000 };
	int st;

	for (long waited = 0;; waited += 5) {
		pid_t r = waitpid(pid, &st, WNOHANG);

		if (r == pid)
			return st;
		if (r < 0 && errno != EINTR)
			return -1;
		if (waited >= ms) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			fprintf(stderr, "lpc-impersonate demo: pid %d did not "
				"finish in %ld ms: killed\n", (int)pid, ms);
			return -1;
		}
		nanosleep(&ts, NULL);
	}
}

static pid_t start_server(bool imp)
{
	int p[2];
	pid_t pid;
	char c;

	if (pipe(p) < 0)
		return -1;
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		close(p[0]);
		_exit(server(DEFAULT_NAME, imp, p[1]));
	}
	close(p[1]);
	if (read(p[0], &c, 1) != 1) {
		close(p[0]);
		fprintf(stderr, "lpc-impersonate demo: server did not start\n");
		wait_bounded(pid, DEMO_CHILD_MS);
		return -1;
	}
	close(p[0]);
	return pid;
}

static int stop_server(pid_t pid)
{
	int st;

	kill(pid, SIGTERM);
	st = wait_bounded(pid, DEMO_CHILD_MS);
	return st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1;
}

/* Run one client in a child process; 0 if it exited with want. */
static int run_client(const struct client_args *a, int want)
{
	pid_t pid;
	int st;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return 1;
	if (pid == 0)
		_exit(client(a));
	st = wait_bounded(pid, DEMO_CHILD_MS);
	if (st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == want)
		return 0;
	printf("demo: UNEXPECTED: the client exited with %d, expected %d\n",
	       st >= 0 && WIFEXITED(st) ? WEXITSTATUS(st) : -1, want);
	return 1;
}

static int write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	size_t n = strlen(text);
	int r = 0;

	if (fd < 0)
		return -1;
	if (write(fd, text, n) != (ssize_t)n || fchown(fd, 0, 0) ||
	    fchmod(fd, mode))
		r = -1;
	close(fd);
	return r;
}

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static void banner(const char *s)
{
	printf("\n== %s\n", s);
}

static int demo(const char *argv0)
{
	char dir[] = "/tmp/lpc-impersonate-XXXXXX";
	char secret[64], public[64], ns[64];
	struct client_args a = { .port = DEFAULT_NAME, .length = READ_MAX,
				 .level = SecurityImpersonation,
				 .as_uid = -1, .as_gid = -1 };
	int bad = 0;
	pid_t srv;

	if (geteuid() != 0) {
		fprintf(stderr, "lpc-impersonate demo: run it as root (the "
			"server must be privileged, the client switches to uid "
			"%d): sudo %s demo\n", NOBODY, argv0);
		return EXIT_USAGE;
	}
	if (!mkdtemp(dir) || chmod(dir, 0755)) {
		perror("lpc-impersonate demo: mkdtemp");
		return 1;
	}
	snprintf(secret, sizeof(secret), "%s/secret.txt", dir);
	snprintf(public, sizeof(public), "%s/public.txt", dir);
	if (write_file(secret, secret_text, 0600) ||
	    write_file(public, public_text, 0644)) {
		perror("lpc-impersonate demo: writing the files");
		bad = 1;
		goto out_dir;
	}
	if (!getenv("LPC_ROOT")) {
		/* A fresh namespace, searchable by the nobody client. */
		snprintf(ns, sizeof(ns), "%s/ns", dir);
		if (mkdir(ns, 0755) || chmod(ns, 0755)) {
			perror("lpc-impersonate demo: mkdir");
			bad = 1;
			goto out_dir;
		}
		setenv("LPC_ROOT", ns, 1);
	}
	printf("demo: LPC_ROOT=%s\n", getenv("LPC_ROOT"));
	printf("demo: %s  (mode 0600, owner root)\n", secret);
	printf("demo: %s  (mode 0644, owner root)\n", public);

	banner("1. The server runs as root and impersonates each client");
	srv = start_server(true);
	if (srv < 0) {
		bad = 1;
		goto out_dir;
	}
	banner("1a. A client running as uid 65534 (nobody) asks for the "
	       "root-only file");
	a.as_uid = a.as_gid = NOBODY;
	a.path = secret;
	bad |= run_client(&a, EXIT_REFUSED);
	banner("1b. The same nobody client asks for the world-readable file");
	a.path = public;
	bad |= run_client(&a, 0);
	banner("1c. A client running as root asks for the root-only file");
	a.as_uid = a.as_gid = -1;
	a.path = secret;
	bad |= run_client(&a, 0);
	banner("1d. The root client again, with QoS SecurityIdentification: "
	       "the server may know who it is, but not act as it");
	a.level = SecurityIdentification;
	bad |= run_client(&a, EXIT_REFUSED);
	a.level = SecurityImpersonation;
	bad |= stop_server(srv);

	banner("2. THE BUG: the same server with --no-impersonate "
	       "(a confused deputy)");
	srv = start_server(false);
	if (srv < 0) {
		bad = 1;
		goto out_dir;
	}
	banner("2a. The nobody client asks for the root-only file again");
	a.as_uid = a.as_gid = NOBODY;
	a.path = secret;
	if (run_client(&a, 0))
		bad = 1;
	else
		printf("demo: LEAKED: uid %d just read a file only root may "
		       "read, through the root server\n", NOBODY);
	bad |= stop_server(srv);

	printf("\ndemo: %s\n",
	       bad ? "FAILED: see UNEXPECTED above"
		   : "every answer as expected (2a is the bug being "
		     "demonstrated)");
out_dir:
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return bad ? 1 : 0;
}

/* ------------------------------------------------------------------ */

static int usage(void)
{
	fprintf(stderr,
		"usage: lpc-impersonate server [--no-impersonate] [NAME]\n"
		"       lpc-impersonate client [--as UID[:GID]] [--qos LEVEL] "
		"[--port NAME] PATH [OFFSET LEN]\n"
		"       lpc-impersonate demo   (as root)\n");
	return EXIT_USAGE;
}

static int parse_ulong(const char *s, unsigned long max, unsigned long *v)
{
	char *end;

	errno = 0;
	*v = strtoul(s, &end, 0);
	return errno || end == s || *end || *v > max || s[0] == '-' ? -1 : 0;
}

static int client_main(int argc, char **argv)
{
	struct client_args a = { .port = DEFAULT_NAME, .length = READ_MAX,
				 .level = SecurityImpersonation,
				 .as_uid = -1, .as_gid = -1 };
	unsigned long v;
	int i;

	for (i = 2; i < argc && !strncmp(argv[i], "--", 2); i++) {
		if (!strcmp(argv[i], "--as") && i + 1 < argc) {
			char *colon = strchr(argv[++i], ':');

			if (colon)
				*colon = 0;
			if (parse_ulong(argv[i], 0x7fffffff, &v))
				return usage();
			a.as_uid = a.as_gid = (long)v;
			if (colon) {
				if (parse_ulong(colon + 1, 0x7fffffff, &v))
					return usage();
				a.as_gid = (long)v;
			}
		} else if (!strcmp(argv[i], "--qos") && i + 1 < argc) {
			int l;

			i++;
			for (l = 0; l < 4 && strcmp(argv[i], level_names[l]);
			     l++)
				;
			if (l == 4)
				return usage();
			a.level = (SECURITY_IMPERSONATION_LEVEL)l;
		} else if (!strcmp(argv[i], "--port") && i + 1 < argc) {
			a.port = argv[++i];
		} else {
			return usage();
		}
	}
	if (argc - i != 1 && argc - i != 3)
		return usage();
	a.path = argv[i];
	if (argc - i == 3) {
		if (parse_ulong(argv[i + 1], 0xffffffffUL, &v))
			return usage();
		a.offset = (ULONG)v;
		if (parse_ulong(argv[i + 2], READ_MAX, &v))
			return usage();
		a.length = (ULONG)v;
	}
	return client(&a);
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(cmd, "server")) {
		bool imp = true;
		int i = 2;

		if (i < argc && !strcmp(argv[i], "--no-impersonate")) {
			imp = false;
			i++;
		}
		if (argc - i > 1)
			return usage();
		return server(i < argc ? argv[i] : DEFAULT_NAME, imp, -1);
	}
	if (!strcmp(cmd, "client"))
		return client_main(argc, argv);
	if (!strcmp(cmd, "demo") && argc == 2)
		return demo(argv[0]);
	return usage();
}
