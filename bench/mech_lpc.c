/* SPDX-License-Identifier: MIT */
/*
 * mech_lpc.c - the thing being measured: NtRequestWaitReplyPort in the
 * client against the classic NtReplyWaitReceivePort reply-and-receive
 * loop in the server, with 64 B each way, and with 64 KiB each way
 * through port views (spec sections 2.2, 2.3, 5.6.1 and 6 step 6): the
 * client writes into its own section and sends the data's address as the
 * server maps it; the server checksums it in place, writes its answer
 * into a section of its own, and replies with that answer's address as
 * the client maps it.  No payload byte crosses a socket.
 *
 * The server process sets LPC_BACKEND before its first LPC call, so each
 * server runs the backend it was asked for (checked with
 * lpc_backend_name()); the client side is the same in both cases.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lpc/lpc.h>

#include "bench.h"

#define MAX_MSG		0x100	/* NtCreatePort MaxMessageLength */
#define TYPE_MASK	0x3fff	/* Type without the 0x8000/0x4000 flags */

enum { OP_ECHO = 1, OP_VIEW = 2 };

/* A view request and its reply: where the payload is, as the receiver
 * maps it. */
struct view_msg {
	uint64_t op;
	uint64_t seq;
	uint64_t len;
	uint64_t ptr;
};

struct port_msg {
	PORT_MESSAGE h;
	union {
		struct small_msg small;	/* w[0] = OP_ECHO */
		struct view_msg view;
		uint8_t max[MAX_MSG - sizeof(PORT_MESSAGE)];
	};
};

struct lpc_client {
	HANDLE port;
	HANDLE section;
	PORT_VIEW view;			/* our section: requests */
	REMOTE_PORT_VIEW server_view;	/* the server's section: answers */
	struct port_msg req, rep;
};

static bool is_view(const struct mech *m)
{
	return m->ops == &mech_lpc_view_ops;
}

static void port_name(const struct mech *m, UNICODE_STRING *us,
		      WCHAR *buf, size_t cap)
{
	char ascii[64];
	size_t n;

	snprintf(ascii, sizeof(ascii), "\\RPC Control\\lpcbench-%s%s",
		 m->backend, is_view(m) ? "-view" : "");
	n = strlen(ascii);
	if (n >= cap)
		n = cap - 1;
	for (size_t i = 0; i <= n; i++)
		buf[i] = (WCHAR)(unsigned char)ascii[i];
	buf[n] = 0;
	us->Buffer = buf;
	us->Length = (USHORT)(n * sizeof(WCHAR));
	us->MaximumLength = (USHORT)((n + 1) * sizeof(WCHAR));
}

static void msg_init(struct port_msg *msg, size_t len)
{
	msg->h.u1.s1.DataLength = (CSHORT)len;
	msg->h.u1.s1.TotalLength = (CSHORT)(sizeof(PORT_MESSAGE) + len);
	msg->h.u2.ZeroInit = 0;
}

static int set_status_err(struct mech *m, const char *what, NTSTATUS s)
{
	snprintf(m->err, sizeof(m->err), "%s: 0x%08x (%s)", what, (unsigned)s,
		 report_status(s));
	return -1;
}

static bool in_range(uint64_t p, uint64_t len, const void *base, SIZE_T size)
{
	uint64_t b = (uint64_t)(uintptr_t)base;

	return p >= b && len <= size && p - b <= size - len;
}

static int create_section(HANDLE *h)
{
	LARGE_INTEGER size = { .QuadPart = BENCH_BIG };

	return NtCreateSection(h, SECTION_ALL_ACCESS, NULL, &size,
			       PAGE_READWRITE, SEC_COMMIT, NULL);
}

/* ---- the server (in the child) ---- */

struct server {
	REMOTE_PORT_VIEW client_view;	/* the client's section, mapped here */
	PORT_VIEW own_view;		/* our answer section */
};

/* Answer one request in place; false if it is malformed. */
static bool answer(struct server *sv, struct port_msg *msg, bool view)
{
	struct view_msg *v = &msg->view;
	uint64_t sum;

	if (!view) {
		if (msg->h.u1.s1.DataLength != BENCH_SMALL ||
		    msg->small.w[0] != OP_ECHO)
			return false;
		msg->small.w[1]++;
		return true;
	}
	if (msg->h.u1.s1.DataLength != sizeof(*v) || v->op != OP_VIEW ||
	    v->len != BENCH_BIG ||
	    !in_range(v->ptr, v->len, sv->client_view.ViewBase,
		      sv->client_view.ViewSize))
		return false;
	/* Read every byte where the client wrote it, answer in our view. */
	sum = payload_sum((const void *)(uintptr_t)v->ptr, v->len);
	payload_fill(sv->own_view.ViewBase, BENCH_BIG,
		     payload_answer_byte(sum));
	v->ptr = (uint64_t)(uintptr_t)sv->own_view.ViewRemoteBase;
	return true;
}

static int serve_loop(struct mech *m, struct server *sv, HANDLE port,
		      bool view)
{
	struct port_msg msg;
	bool have_reply = false;
	PVOID ctx;
	NTSTATUS s;

	for (;;) {
		s = NtReplyWaitReceivePort(port, &ctx,
					   have_reply ? &msg.h : NULL, &msg.h);
		if (s != STATUS_SUCCESS) {
			fprintf(stderr,
				"lpcbench: server %s: NtReplyWaitReceivePort: "
				"0x%08x (%s)\n",
				m->name, (unsigned)s, report_status(s));
			return -1;
		}
		have_reply = false;
		switch (msg.h.u2.s2.Type & TYPE_MASK) {
		case LPC_REQUEST:
			if (!answer(sv, &msg, view)) {
				fprintf(stderr,
					"lpcbench: server %s: malformed "
					"request\n",
					m->name);
				return -1;
			}
			have_reply = true;
			break;
		case LPC_PORT_CLOSED:
		case LPC_CLIENT_DIED:
			return 0; /* the client is gone: done */
		case LPC_CONNECTION_REQUEST: {
			HANDLE none;

			NtAcceptConnectPort(&none, NULL, &msg.h, FALSE, NULL,
					    NULL);
			break;
		}
		default:
			break;
		}
	}
}

static int serve_lpc(struct mech *m, int hello_fd)
{
	bool view = is_view(m);
	struct server sv = {
		.client_view = { .Length = sizeof(REMOTE_PORT_VIEW) },
		.own_view = { .Length = sizeof(PORT_VIEW),
			      .ViewSize = BENCH_BIG },
	};
	HANDLE port = NULL, comm = NULL, section = NULL;
	OBJECT_ATTRIBUTES oa;
	UNICODE_STRING name;
	WCHAR buf[64];
	struct port_msg msg;
	const char *be;
	char why[128];
	NTSTATUS s;
	int r;

	/* Before the first LPC call: the backend is chosen at first use. */
	setenv("LPC_BACKEND", m->backend, 1);
	if (!strcmp(m->backend, "uring") && (r = bench_uring_usable()) < 0) {
		snprintf(why, sizeof(why), "io_uring unavailable: %s",
			 strerror(-r));
		bench_hello(hello_fd, BENCH_SKIP, why);
		return 0;
	}
	port_name(m, &name, buf, sizeof(buf) / sizeof(buf[0]));
	InitializeObjectAttributes(&oa, &name, 0, NULL, NULL);
	s = NtCreatePort(&port, &oa, 0, MAX_MSG, 0);
	if (s == STATUS_SUCCESS && view)
		s = create_section(&section);
	if (s != STATUS_SUCCESS) {
		snprintf(why, sizeof(why), "%s: 0x%08x (%s)",
			 port ? "NtCreateSection" : "NtCreatePort",
			 (unsigned)s, report_status(s));
		bench_hello(hello_fd, -1, why);
		return -1;
	}
	be = lpc_backend_name();
	if (strcmp(be, m->backend)) {
		snprintf(why, sizeof(why),
			 "backend is %s despite LPC_BACKEND=%s", be,
			 m->backend);
		bench_hello(hello_fd, -1, why);
		return -1;
	}
	bench_hello(hello_fd, 0, be);

	s = NtListenPort(port, &msg.h);
	if (s != STATUS_SUCCESS) {
		snprintf(why, sizeof(why), "NtListenPort");
		goto fail;
	}
	sv.own_view.SectionHandle = section;
	s = NtAcceptConnectPort(&comm, NULL, &msg.h, TRUE,
				view ? &sv.own_view : NULL,
				view ? &sv.client_view : NULL);
	if (s != STATUS_SUCCESS) {
		snprintf(why, sizeof(why), "NtAcceptConnectPort");
		goto fail;
	}
	if (view && (!sv.own_view.ViewBase || !sv.own_view.ViewRemoteBase ||
		     sv.own_view.ViewSize < BENCH_BIG ||
		     !sv.client_view.ViewBase ||
		     sv.client_view.ViewSize < BENCH_BIG)) {
		fprintf(stderr, "lpcbench: server %s: views not mapped\n",
			m->name);
		return -1;
	}
	s = NtCompleteConnectPort(comm);
	if (s != STATUS_SUCCESS) {
		snprintf(why, sizeof(why), "NtCompleteConnectPort");
		goto fail;
	}
	r = serve_loop(m, &sv, port, view);
	NtClose(comm);
	if (section)
		NtClose(section);
	NtClose(port);
	return r;

fail:
	fprintf(stderr, "lpcbench: server %s: %s: 0x%08x (%s)\n", m->name,
		why, (unsigned)s, report_status(s));
	return -1;
}

/* ---- the client side ---- */

static int lpc_spawn(struct mech *m)
{
	return bench_spawn(m, serve_lpc);
}

static int lpc_connect(struct mech *m)
{
	SECURITY_QUALITY_OF_SERVICE qos = {
		sizeof(qos), SecurityImpersonation, SECURITY_DYNAMIC_TRACKING,
		TRUE
	};
	struct lpc_client *c = calloc(1, sizeof(*c));
	bool view = is_view(m);
	UNICODE_STRING name;
	ULONG maxlen = 0;
	WCHAR buf[64];
	NTSTATUS s;

	if (!c) {
		snprintf(m->err, sizeof(m->err), "out of memory");
		return -1;
	}
	m->priv = c;
	if (view) {
		s = create_section(&c->section);
		if (s != STATUS_SUCCESS)
			return set_status_err(m, "NtCreateSection", s);
		c->view.Length = sizeof(c->view);
		c->view.SectionHandle = c->section;
		c->view.ViewSize = BENCH_BIG;
		c->server_view.Length = sizeof(c->server_view);
	}
	port_name(m, &name, buf, sizeof(buf) / sizeof(buf[0]));
	s = NtConnectPort(&c->port, &name, &qos, view ? &c->view : NULL,
			  view ? &c->server_view : NULL, &maxlen, NULL, NULL);
	if (s != STATUS_SUCCESS) {
		c->port = NULL;
		return set_status_err(m, "NtConnectPort", s);
	}
	if (maxlen < sizeof(PORT_MESSAGE) + BENCH_SMALL) {
		snprintf(m->err, sizeof(m->err),
			 "port takes %u-byte messages, need %zu",
			 (unsigned)maxlen, sizeof(PORT_MESSAGE) + BENCH_SMALL);
		return -1;
	}
	if (view && (!c->view.ViewBase || !c->view.ViewRemoteBase ||
		     c->view.ViewSize < BENCH_BIG ||
		     !c->server_view.ViewBase ||
		     c->server_view.ViewSize < BENCH_BIG)) {
		snprintf(m->err, sizeof(m->err),
			 "NtConnectPort: views not mapped (ours %p/%zu, "
			 "server's %p/%zu)",
			 c->view.ViewBase, (size_t)c->view.ViewSize,
			 c->server_view.ViewBase,
			 (size_t)c->server_view.ViewSize);
		return -1;
	}
	return 0;
}

static int check_reply(struct mech *m, struct lpc_client *c, NTSTATUS s)
{
	if (s != STATUS_SUCCESS)
		return set_status_err(m, "NtRequestWaitReplyPort", s);
	if ((c->rep.h.u2.s2.Type & TYPE_MASK) != LPC_REPLY) {
		snprintf(m->err, sizeof(m->err),
			 "NtRequestWaitReplyPort: reply of type %d",
			 c->rep.h.u2.s2.Type);
		return -1;
	}
	return 0;
}

static int lpc_run(struct mech *m, uint64_t iters)
{
	struct lpc_client *c = m->priv;
	NTSTATUS s;

	c->req.small.w[0] = OP_ECHO;
	for (uint64_t i = 0; i < iters; i++) {
		uint64_t seq = m->seq++;

		msg_init(&c->req, BENCH_SMALL);
		c->req.small.w[1] = seq;
		s = NtRequestWaitReplyPort(c->port, &c->req.h, &c->rep.h);
		if (check_reply(m, c, s))
			return -1;
		if (c->rep.h.u1.s1.DataLength != BENCH_SMALL ||
		    c->rep.small.w[1] != seq + 1) {
			snprintf(m->err, sizeof(m->err),
				 "reply %llu (%d bytes) to request %llu",
				 (unsigned long long)c->rep.small.w[1],
				 c->rep.h.u1.s1.DataLength,
				 (unsigned long long)seq);
			return -1;
		}
	}
	return 0;
}

static int lpc_view_run(struct mech *m, uint64_t iters)
{
	struct lpc_client *c = m->priv;
	struct view_msg *req = &c->req.view, *rep = &c->rep.view;
	NTSTATUS s;

	for (uint64_t i = 0; i < iters; i++) {
		uint64_t seq = m->seq++, got, want;
		uint8_t b = payload_request_byte(seq);

		want = payload_expected_sum(
			BENCH_BIG,
			payload_answer_byte(payload_expected_sum(BENCH_BIG, b)));
		payload_fill(c->view.ViewBase, BENCH_BIG, b);
		msg_init(&c->req, sizeof(*req));
		req->op = OP_VIEW;
		req->seq = seq;
		req->len = BENCH_BIG;
		/* The payload's address as the server maps our section. */
		req->ptr = (uint64_t)(uintptr_t)c->view.ViewRemoteBase;
		s = NtRequestWaitReplyPort(c->port, &c->req.h, &c->rep.h);
		if (check_reply(m, c, s))
			return -1;
		if (rep->seq != seq || rep->len != BENCH_BIG ||
		    !in_range(rep->ptr, rep->len, c->server_view.ViewBase,
			      c->server_view.ViewSize)) {
			snprintf(m->err, sizeof(m->err),
				 "reply %llu to request %llu points outside "
				 "the server's view",
				 (unsigned long long)rep->seq,
				 (unsigned long long)seq);
			return -1;
		}
		got = payload_sum((const void *)(uintptr_t)rep->ptr, rep->len);
		if (got != want) {
			snprintf(m->err, sizeof(m->err),
				 "answer checksum %#llx, want %#llx",
				 (unsigned long long)got,
				 (unsigned long long)want);
			return -1;
		}
	}
	return 0;
}

static void lpc_close(struct mech *m)
{
	struct lpc_client *c = m->priv;

	if (!c)
		return;
	/* The server receives LPC_PORT_CLOSED and exits. */
	if (c->port)
		NtClose(c->port);
	if (c->section)
		NtClose(c->section);
	free(c);
	m->priv = NULL;
}

const struct mech_ops mech_lpc_ops = {
	.spawn = lpc_spawn,
	.connect = lpc_connect,
	.run = lpc_run,
	.close = lpc_close,
};

const struct mech_ops mech_lpc_view_ops = {
	.spawn = lpc_spawn,
	.connect = lpc_connect,
	.run = lpc_view_run,
	.close = lpc_close,
};
