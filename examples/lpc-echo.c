/* SPDX-License-Identifier: MIT */
/*
 * lpc-echo - the classic NT LPC server loop and a client, on Linux.
 *
 *   lpc-echo server [NAME]        serve until interrupted
 *   lpc-echo client [NAME] [N]    connect, send N requests, report
 *   lpc-echo demo [N]             both, in two processes, then exit
 *
 * NAME defaults to "\RPC Control\LpcEcho".  The server accepts every
 * connection, answers each request with its data upper-cased, and prints
 * what it sees: connection requests, LPC_CLIENT_DIED and LPC_PORT_CLOSED
 * notices, and the first requests and datagrams (printing them all would
 * time the terminal, not LPC).
 */
#include <ctype.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <lpc/lpc.h>

#define DEFAULT_NAME "\\RPC Control\\LpcEcho"

typedef struct {
	PORT_MESSAGE h;
	char data[LPC_MAX_MESSAGE_LENGTH];
} msg_t;

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

static const char *type_name(int type)
{
	static const char *const names[] = {
		"NEW", "REQUEST", "REPLY", "DATAGRAM", "LOST_REPLY",
		"PORT_CLOSED", "CLIENT_DIED", "EXCEPTION", "DEBUG_EVENT",
		"ERROR_EVENT", "CONNECTION_REQUEST",
	};

	type &= 0x0fff;
	return type >= 0 && type <= 10 ? names[type] : "?";
}

static int die(const char *what, NTSTATUS s)
{
	fprintf(stderr, "lpc-echo: %s failed: status 0x%08x\n", what,
		(unsigned)s);
	return 1;
}

static int server(const char *name, int ready_fd)
{
	UNICODE_STRING us;
	WCHAR buf[256];
	OBJECT_ATTRIBUTES oa;
	HANDLE port, comm;
	msg_t m;
	PVOID ctx;
	NTSTATUS s;
	bool have_reply = false;
	unsigned long conn_id = 0, shown = 0;
	/* Each connection's server port, by its context (its number):
	 * closed when the client's LPC_PORT_CLOSED arrives. */
	HANDLE *comms = NULL;

	to_unicode(name, &us, buf, 256);
	InitializeObjectAttributes(&oa, &us, 0, NULL, NULL);
	s = NtCreatePort(&port, &oa, 0, LPC_MAX_MESSAGE_LENGTH, 0);
	if (!NT_SUCCESS(s))
		return die("NtCreatePort", s);
	printf("server: listening on %s (backend %s)\n", name,
	       lpc_backend_name());
	fflush(stdout);
	if (ready_fd >= 0) {
		(void)!write(ready_fd, "r", 1);
		close(ready_fd);
	}
	for (;;) {
		s = NtReplyWaitReceivePort(port, &ctx, have_reply ? &m.h : NULL,
					   &m.h);
		have_reply = false;
		if (s != STATUS_SUCCESS)
			return die("NtReplyWaitReceivePort", s);
		int type = m.h.u2.s2.Type & 0x0fff;

		if ((type == LPC_REQUEST || type == LPC_DATAGRAM) &&
		    ++shown > 5) {
			if (shown == 6)
				printf("server: (further requests and datagrams "
				       "not shown)\n");
		} else {
			printf("server: %-18s from %lu.%lu id %u ctx %lu "
			       "len %d\n", type_name(m.h.u2.s2.Type),
			       (unsigned long)(uintptr_t)
				       m.h.ClientId.UniqueProcess,
			       (unsigned long)(uintptr_t)
				       m.h.ClientId.UniqueThread,
			       m.h.MessageId, (unsigned long)(uintptr_t)ctx,
			       m.h.u1.s1.DataLength);
		}
		switch (type) {
		case LPC_CONNECTION_REQUEST:
			s = NtAcceptConnectPort(&comm, (PVOID)++conn_id, &m.h,
						TRUE, NULL, NULL);
			if (NT_SUCCESS(s))
				s = NtCompleteConnectPort(comm);
			if (!NT_SUCCESS(s))
				return die("accept", s);
			if (!(conn_id & (conn_id - 1))) {
				/* Grown at each power of two. */
				HANDLE *n = realloc(comms, 2 * conn_id *
							   sizeof(*n));

				if (!n)
					return die("realloc", STATUS_NO_MEMORY);
				comms = n;
			}
			comms[conn_id] = comm;
			break;
		case LPC_REQUEST:
			for (int i = 0; i < m.h.u1.s1.DataLength; i++)
				m.data[i] = (char)toupper(
					(unsigned char)m.data[i]);
			have_reply = true;
			break;
		case LPC_PORT_CLOSED: {
			unsigned long id = (unsigned long)(uintptr_t)ctx;

			printf("server: connection %lu closed\n", id);
			if (id && id <= conn_id && comms[id]) {
				NtClose(comms[id]);
				comms[id] = NULL;
			}
			break;
		}
		default:
			break;
		}
		fflush(stdout);
	}
}

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int client(const char *name, long n)
{
	SECURITY_QUALITY_OF_SERVICE qos = { sizeof(qos), SecurityImpersonation,
					    SECURITY_DYNAMIC_TRACKING, TRUE };
	UNICODE_STRING us;
	WCHAR buf[256];
	HANDLE port;
	ULONG maxlen = 0;
	msg_t req, rep;
	NTSTATUS s;
	double t0, t1;

	to_unicode(name, &us, buf, 256);
	s = NtConnectPort(&port, &us, &qos, NULL, NULL, &maxlen, NULL, NULL);
	if (!NT_SUCCESS(s))
		return die("NtConnectPort", s);
	printf("client: connected, MaxMessageLength %u\n", maxlen);
	NtRegisterThreadTerminatePort(port);

	memset(&req, 0, sizeof(req));
	strcpy(req.data, "a datagram needs no answer");
	req.h.u1.s1.DataLength = (CSHORT)(strlen(req.data) + 1);
	req.h.u1.s1.TotalLength =
		(CSHORT)(sizeof(PORT_MESSAGE) + req.h.u1.s1.DataLength);
	s = NtRequestPort(port, &req.h);
	if (!NT_SUCCESS(s))
		return die("NtRequestPort", s);

	t0 = now_us();
	for (long i = 0; i < n; i++) {
		memset(&req.h, 0, sizeof(req.h));
		snprintf(req.data, sizeof(req.data), "hello %ld", i);
		req.h.u1.s1.DataLength = (CSHORT)(strlen(req.data) + 1);
		req.h.u1.s1.TotalLength =
			(CSHORT)(sizeof(PORT_MESSAGE) + req.h.u1.s1.DataLength);
		s = NtRequestWaitReplyPort(port, &req.h, &rep.h);
		if (!NT_SUCCESS(s))
			return die("NtRequestWaitReplyPort", s);
		if (i < 3 || i == n - 1)
			printf("client: sent \"%s\", got \"%s\"\n", req.data,
			       rep.data);
	}
	t1 = now_us();
	printf("client: %ld round trips, %.2f us each\n", n,
	       n ? (t1 - t0) / (double)n : 0.0);
	NtClose(port);
	return 0;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "demo";

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(cmd, "server"))
		return server(argc > 2 ? argv[2] : DEFAULT_NAME, -1);
	if (!strcmp(cmd, "client"))
		return client(argc > 2 ? argv[2] : DEFAULT_NAME,
			      argc > 3 ? atol(argv[3]) : 5);
	if (!strcmp(cmd, "demo")) {
		long n = argc > 2 ? atol(argv[2]) : 1000;
		int p[2], st = 0, r;
		pid_t srv;
		char c;

		if (pipe(p) < 0)
			return 1;
		srv = fork();
		if (srv == 0) {
			close(p[0]);
			_exit(server(DEFAULT_NAME, p[1]));
		}
		close(p[1]);
		if (read(p[0], &c, 1) != 1) {
			fprintf(stderr, "lpc-echo: server did not start\n");
			waitpid(srv, &st, 0);
			return 1;
		}
		/* The client in a process of its own, so that its exit shows
		 * in the server as LPC_CLIENT_DIED and LPC_PORT_CLOSED. */
		pid_t cli = fork();

		if (cli == 0)
			_exit(client(DEFAULT_NAME, n));
		waitpid(cli, &st, 0);
		r = WIFEXITED(st) ? WEXITSTATUS(st) : 1;
		/* Let the server print the notices, then stop it. */
		usleep(200000);
		kill(srv, SIGTERM);
		waitpid(srv, &st, 0);
		return r;
	}
	fprintf(stderr, "usage: lpc-echo server|client|demo [NAME] [N]\n");
	return 2;
}
