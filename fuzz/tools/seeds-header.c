/* SPDX-License-Identifier: MIT */
/*
 * seeds-header - write the seed corpus of fuzz/header.c.
 *
 *   build/fuzz/tools/seeds-header OUTDIR
 *
 * Each seed is a program in the harness's encoding (the OP_* opcodes and
 * selectors documented in fuzz/header.c) that reaches a deep state: a
 * full connect, request and reply; data-information blocks served both
 * ways; views; callbacks; the client side against the hostile server;
 * every wire op through the pure checks.  Replay them with
 * LPC_FUZZ_VERBOSE=1 build/fuzz/header SEED to see what each one does.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "wire.h"

/* fuzz/header.c's opcodes. */
enum {
	OP_OPEN, OP_SEND, OP_SEND2, OP_RAW, OP_SHUT, OP_RECV, OP_RECV2,
	OP_LISTEN, OP_ACCEPT, OP_COMPLETE, OP_REPLY, OP_DATA, OP_SREQ,
	OP_DGRAM, OP_CLOSE, OP_CONNECT, OP_CREQ, OP_CRECV, OP_PURE,
};

/* Handle selectors (sel_handle). */
enum { H_PORT0, H_PORT1, H_PORT2, H_COMM0, H_COMM1, H_COMM2, H_COMM3,
       H_CPORT0, H_CPORT1, H_NULL };

#define HDR 40u

struct prog {
	uint8_t b[16384];
	size_t n;
};

static void u8(struct prog *p, unsigned v)
{
	if (p->n < sizeof(p->b))
		p->b[p->n++] = (uint8_t)v;
}

static void u16(struct prog *p, unsigned v)
{
	u8(p, v & 0xff);
	u8(p, v >> 8);
}

static void u32(struct prog *p, uint32_t v)
{
	u16(p, v & 0xffff);
	u16(p, v >> 16);
}

static void u64(struct prog *p, uint64_t v)
{
	u32(p, (uint32_t)v);
	u32(p, (uint32_t)(v >> 32));
}

/* Thread selectors (sel_tid). */
static void tid_main(struct prog *p) { u8(p, 1 | 0 << 3); }
static void tid_worker(struct prog *p) { u8(p, 1 | 1 << 3); }
static void tid_parked(struct prog *p) { u8(p, 1 | 2 << 3); }
static void tid_last(struct prog *p) { u8(p, 2); }
static void tid_zero(struct prog *p) { u8(p, 6 | 0 << 3); }
static void tid_init(struct prog *p) { u8(p, 6 | 2 << 3); }
static __attribute__((unused)) void tid_rec(struct prog *p, unsigned i) { u8(p, 5 | i << 3); }

/* MessageId selectors (sel_msgid). */
static void id_lit(struct prog *p, uint32_t v)
{
	u8(p, 0);
	u32(p, v);
}
static void id_last(struct prog *p) { u8(p, 1 | 16 << 3); }
static __attribute__((unused)) void id_rec(struct prog *p, unsigned i) { u8(p, 4 | i << 3); }

/* aux and argument selectors. */
static void aux_lit(struct prog *p, uint32_t v)
{
	u8(p, 0);
	u32(p, v);
}
static __attribute__((unused)) void aux_last(struct prog *p) { u8(p, 2); }
static void arg_zero(struct prog *p) { u8(p, 0); }
static void arg_u16(struct prog *p, unsigned v)
{
	u8(p, 2);
	u16(p, v);
}
static void arg_u64(struct prog *p, uint64_t v)
{
	u8(p, 4);
	u64(p, v);
}
static __attribute__((unused)) void arg_last0(struct prog *p) { u8(p, 5); }
static void arg_last1(struct prog *p) { u8(p, 6); }

/* A PORT_MESSAGE (build_msg): DataLength dl, exact TotalLength, the
 * op's own Type, no data info; a few explicit data bytes. */
static void msg_plain(struct prog *p, unsigned dl, unsigned extra_total)
{
	u16(p, dl);
	u8(p, extra_total ? 1 : 0);	/* tl */
	u8(p, 0);			/* ts: auto */
	u8(p, 0);			/* dm */
	u8(p, 0);			/* misc */
	if (extra_total)
		u8(p, extra_total);
	/* Explicit data bytes: the harness reads them only where the
	 * message has data. */
	u8(p, dl ? 4 : 0);
	if (dl)
		u32(p, 0x6b6f6f6c);
}

/* A message whose ClientId is a kept message's (replies). */
static __attribute__((unused)) void msg_reply_to(struct prog *p, unsigned dl, unsigned rec)
{
	u16(p, dl);
	u8(p, 0);
	u8(p, 0);
	u8(p, 0);
	u8(p, 3);			/* misc: ClientId of a kept message */
	u8(p, rec);
	u8(p, dl ? 4 : 0);
	if (dl)
		u32(p, 0x21216b6f);
}

/* A message with a data-information block at HDR + 4 * slot naming
 * n entries (buffer, offset, size). */
struct entry {
	unsigned buf, off, size;
};

static void msg_dinfo(struct prog *p, unsigned dl, unsigned slot,
		      const struct entry *e, unsigned n)
{
	u16(p, dl);
	u8(p, 0);
	u8(p, 0);
	u8(p, 1 | slot << 2);		/* dm: a block at HDR + 4 * slot */
	u8(p, 0);
	u8(p, 0);			/* nx: pattern data */
	u8(p, n);			/* count */
	for (unsigned i = 0; i < n; i++) {
		u8(p, e[i].buf);
		u16(p, e[i].off);
		u16(p, e[i].size);
	}
}

/* OP_SEND header: socket, op, flags, ctl. */
static void send_begin(struct prog *p, unsigned k, unsigned op, unsigned flags,
		       unsigned ctl)
{
	u8(p, OP_SEND);
	u8(p, k);
	u8(p, op);
	u8(p, flags);
	u8(p, ctl);
}

/* The same packet as the answer to a worker that waits for us: a byte
 * that says "answer" instead of the opcode (the harness's worker loop). */
static void resp_begin(struct prog *p, unsigned k, unsigned op,
		       unsigned flags, unsigned ctl)
{
	u8(p, 1);
	u8(p, k);
	u8(p, op);
	u8(p, flags);
	u8(p, ctl);
}

/* A body that is not a message: len bytes, the first few explicit. */
static void body_bytes(struct prog *p, unsigned len)
{
	u16(p, len);
	u8(p, len < 8 ? len : 8);
	for (unsigned i = 0; i < len && i < 8; i++)
		u8(p, 'A' + i);
}

static void send_end(struct prog *p)
{
	u16(p, 0x100);			/* the pure checks' extra maximum */
}

/* CONNECT from raw socket k as thread tid_sel, MessageId id, info len. */
static void raw_connect(struct prog *p, unsigned k, void (*tid)(struct prog *),
			uint32_t id, unsigned info)
{
	send_begin(p, k, LPC_OP_CONNECT, 0, 0);
	tid(p);
	tid_zero(p);
	id_lit(p, id);
	aux_lit(p, 2);			/* SecurityImpersonation */
	arg_zero(p);
	arg_zero(p);
	body_bytes(p, info);
	send_end(p);
}

/* The same with a sealed memfd of size bytes as the client's view. */
static void raw_connect_view(struct prog *p, unsigned k, uint32_t id,
			     unsigned size)
{
	send_begin(p, k, LPC_OP_CONNECT, LPC_WF_VIEW, 8);
	tid_main(p);
	tid_zero(p);
	id_lit(p, id);
	aux_lit(p, 2 | 0x100);
	arg_u16(p, size);		/* view size */
	arg_zero(p);			/* offset */
	u8(p, 0x80 | 0);		/* fds: a sealed memfd, explicit size */
	u16(p, size / 16);
	body_bytes(p, 12);
	send_end(p);
}

/* A message op from raw socket k. */
static void raw_msg(struct prog *p, unsigned k, unsigned op, unsigned flags,
		    void (*tid)(struct prog *), uint32_t id, unsigned dl)
{
	send_begin(p, k, op, flags, 0);
	tid(p);
	tid_zero(p);
	id_lit(p, id);
	aux_lit(p, 0);
	arg_zero(p);
	arg_zero(p);
	msg_plain(p, dl, 0);
	send_end(p);
}

/* receive n messages on handle h (no reply). */
static void recv_n(struct prog *p, unsigned h, unsigned n)
{
	u8(p, OP_RECV);
	u8(p, h);
	u8(p, (n - 1) << 4 | 2);	/* with a PortContext pointer */
}

/* accept kept request rec (plain), then complete. */
static void accept_plain(struct prog *p, unsigned rec, unsigned infolen)
{
	u8(p, OP_ACCEPT);
	u8(p, rec);
	u8(p, 0x11);			/* accept, a PortContext */
	u16(p, infolen);
	u8(p, 7);			/* context 0x1007 */
	u8(p, 0);			/* complete */
}

/* A DATA_* packet from socket k answering what the engine sent last:
 * as the requester (tid_main), to the thread that sent the last packet
 * of op `of`, about its MessageId. */
static void data_op(struct prog *p, unsigned k, unsigned op, unsigned of,
		    uint32_t aux, unsigned arg0, unsigned arg1, unsigned body)
{
	resp_begin(p, k, op, 0, 0);
	tid_main(p);
	u8(p, 4 | of << 3);		/* target: that packet's tid */
	u8(p, 2 | of << 3);		/* its MessageId */
	aux_lit(p, aux);
	arg_u16(p, arg0);
	arg_u16(p, arg1);
	body_bytes(p, body);
	send_end(p);
}

static int save(const char *dir, const char *name, const struct prog *p)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(p->b, 1, p->n, f) != p->n) {
		fprintf(stderr, "seeds-header: %s: %s\n", path, strerror(errno));
		if (f)
			fclose(f);
		return -1;
	}
	return fclose(f);
}

/* The connect, request and reply every other seed starts from: raw
 * socket 0 on port 0 connected (kept message 0 = its request). */
static void connected(struct prog *p)
{
	u8(p, OP_OPEN);
	u8(p, 0 | 0 << 2);
	raw_connect(p, 0, tid_main, 100, 8);
	recv_n(p, H_PORT0, 1);
	accept_plain(p, 0, 16);
}

/* ------------------------------------------------------------------ */
/* --from-ndjson: seeds from a recording of real traffic               */
/* ------------------------------------------------------------------ */

/*
 * An lpctrace NDJSON recording (-s 512 or more: the payloads) becomes
 * one program per connection a server accepted or refused: a raw client
 * of port 0 sends the connection request with the connection
 * information that was recorded (and a view of the recorded size), the
 * server receives and accepts or rejects it as it did, then every
 * message the server received on that connection (requests, datagrams,
 * exceptions: header and data as the peer sent them, from the server's
 * receive records) is sent in the recorded order and received, each
 * recorded reply (its data, its MessageId, right or wrong) goes back
 * through NtReplyPort, a recorded LPC_CLIENT_DIED becomes TERMREG and
 * DIED, LPC_PORT_CLOSED the socket's hangup.  Threads keep their roles:
 * the connecting thread is the harness's main thread, the next ones the
 * worker and the parked thread.
 */
#include "ndjson.h"

#define MAXEV 48
#define MAXCONV 256

struct conv_ev {
	int kind;		/* LPC_REQUEST, LPC_DATAGRAM, LPC_EXCEPTION,
				   LPC_REPLY, LPC_PORT_CLOSED, LPC_CLIENT_DIED */
	uint32_t msgid;
	int64_t tid;
	unsigned dl, tl;
	const uint8_t *data;	/* DataLength bytes (or fewer: snapped) */
	unsigned ndata;
};

struct conv {
	int64_t spid, cpid, ctid;
	uint32_t cmsgid;
	char server[32];
	uint64_t ctx;
	bool decided, accepted, died;
	const uint8_t *info;
	unsigned info_len;
	uint64_t view;
	struct conv_ev ev[MAXEV];
	unsigned nev;
};

static void body_data(struct prog *p, const uint8_t *b, unsigned len,
		      unsigned have)
{
	unsigned nx = have < len ? have : len;

	if (nx > 255)
		nx = 255;
	u16(p, len);
	u8(p, nx);
	for (unsigned i = 0; i < nx; i++)
		u8(p, b[i]);
}

/* A PORT_MESSAGE as recorded (build_msg): its DataLength, its
 * TotalLength, the op's own Type, its data bytes (255 at most: the rest
 * is the harness's pattern); an explicit MessageId when id is not 0. */
static void msg_rec(struct prog *p, const struct conv_ev *e, uint32_t id)
{
	unsigned dl = e->dl & 0x3ff, nx = e->ndata < dl ? e->ndata : dl;
	bool exact = e->tl == HDR + dl;

	if (nx > 255)
		nx = 255;
	u16(p, dl);
	u8(p, exact ? 0 : 2);		/* tl */
	u8(p, 0);			/* ts: the op's own Type */
	u8(p, 0);			/* dm: no data information */
	u8(p, id ? 0x10 : 0);		/* misc */
	if (!exact)
		u16(p, e->tl);
	if (id)
		u32(p, id);
	u8(p, nx);
	for (unsigned i = 0; i < nx; i++)
		u8(p, e->data[i]);
}

/* The harness thread that plays recorded thread t. */
static void tid_of(struct prog *p, const struct conv *c, int64_t t)
{
	int64_t seen[3];
	unsigned n = 0;

	seen[n++] = c->ctid;
	for (unsigned i = 0; i < c->nev && n < 3; i++) {
		bool known = false;

		for (unsigned k = 0; k < n; k++)
			known |= seen[k] == c->ev[i].tid;
		if (!known)
			seen[n++] = c->ev[i].tid;
	}
	for (unsigned k = 0; k < n; k++)
		if (seen[k] == t) {
			if (k == 1)
				tid_worker(p);
			else if (k == 2)
				tid_parked(p);
			else
				tid_main(p);
			return;
		}
	tid_main(p);
}

/* Where the message received serial s-th sits in the harness's kept
 * messages after n receives (NREC = 8, the oldest dropped), or -1. */
static int kept_index(int s, int n)
{
	int i = s - (n > 8 ? n - 8 : 0);

	return s >= 0 && i >= 0 ? i : -1;
}

static void emit_conv(struct prog *p, const struct conv *c)
{
	const unsigned k = 0;
	int serial[MAXEV], nrecv = 0, creq;

	memset(p, 0, sizeof(*p));
	u8(p, OP_OPEN);
	u8(p, k | 0 << 2);		/* raw client 0 of port 0 */
	send_begin(p, k, LPC_OP_CONNECT, c->view ? LPC_WF_VIEW : 0,
		   c->view ? 8 : 0);
	tid_main(p);
	tid_zero(p);
	id_lit(p, c->cmsgid ? c->cmsgid : 1);
	aux_lit(p, 2 | (c->view ? 0x100 : 0));
	if (c->view) {
		uint64_t v = c->view > 0xffff0 ? 0xffff0 : c->view;

		arg_u64(p, v);		/* view size */
		arg_zero(p);		/* offset */
		u8(p, 0x80 | 0);	/* a sealed memfd of that size */
		u16(p, (unsigned)((v + 15) / 16));
	} else {
		arg_zero(p);
		arg_zero(p);
	}
	body_data(p, c->info, c->info_len, c->info_len);
	send_end(p);
	recv_n(p, H_PORT0, 1);
	creq = nrecv++;
	if (!c->decided)
		return;
	u8(p, OP_ACCEPT);
	u8(p, kept_index(creq, nrecv));
	if (!c->accepted) {
		u8(p, 0);		/* reject */
		u16(p, 0);
		return;
	}
	u8(p, c->view ? 1 | 4 | 8 | 0x10 : 1 | 0x10);
	u16(p, 0);			/* reply information */
	u8(p, (unsigned)c->ctx);	/* PortContext 0x1000 + ctx */
	u8(p, 0);			/* complete */
	if (c->died) {
		send_begin(p, k, LPC_OP_TERMREG, 0, 0);
		tid_main(p);
		tid_zero(p);
		id_lit(p, 0);
		aux_lit(p, 0);
		arg_u64(p, 123456789);
		arg_zero(p);
		body_bytes(p, 0);
		send_end(p);
	}
	for (unsigned i = 0; i < c->nev; i++) {
		const struct conv_ev *e = &c->ev[i];
		static const unsigned ops[] = {
			[LPC_REQUEST] = LPC_OP_REQUEST,
			[LPC_DATAGRAM] = LPC_OP_DATAGRAM,
			[LPC_EXCEPTION] = LPC_OP_EXCEPTION,
		};

		serial[i] = -1;
		switch (e->kind) {
		case LPC_REQUEST:
		case LPC_DATAGRAM:
		case LPC_EXCEPTION:
			send_begin(p, k, ops[e->kind], 0, 0);
			tid_of(p, c, e->tid);
			tid_zero(p);
			id_lit(p, e->msgid ? e->msgid : 1);
			aux_lit(p, 0);
			arg_zero(p);
			arg_zero(p);
			msg_rec(p, e, 0);
			send_end(p);
			recv_n(p, H_PORT0, 1);
			serial[i] = nrecv++;
			break;
		case LPC_REPLY: {
			int req = -1, idx;

			/* The request it answers: the same MessageId, else
			 * (a wrong one) the thread's last request. */
			for (unsigned j = 0; j < i; j++)
				if (c->ev[j].kind == LPC_REQUEST &&
				    c->ev[j].msgid == e->msgid)
					req = (int)j;
			for (unsigned j = 0; req < 0 && j < i; j++)
				if (c->ev[j].kind == LPC_REQUEST &&
				    c->ev[j].tid == e->tid)
					req = (int)j;
			if (req < 0 ||
			    (idx = kept_index(serial[req], nrecv)) < 0)
				break;
			u8(p, OP_REPLY);
			u8(p, H_PORT0);
			u8(p, idx);
			u8(p, 0);	/* the request's ClientId */
			msg_rec(p, e, c->ev[req].msgid == e->msgid ? 0
								    : e->msgid);
			break;
		}
		case LPC_CLIENT_DIED:
			send_begin(p, k, LPC_OP_DIED, 0, 0);
			tid_main(p);
			tid_zero(p);
			id_lit(p, e->msgid ? e->msgid : 1);
			aux_lit(p, 0);
			arg_u64(p, 123456789);
			arg_zero(p);
			body_bytes(p, 0);
			send_end(p);
			recv_n(p, H_PORT0, 1);
			serial[i] = nrecv++;
			break;
		case LPC_PORT_CLOSED:
			u8(p, OP_SHUT);
			u8(p, k);	/* shutdown(SHUT_WR): the hangup */
			recv_n(p, H_PORT0, 1);
			serial[i] = nrecv++;
			break;
		}
	}
}

/* A file name part from a command name. */
static void name_part(char *out, size_t cap, const char *s)
{
	size_t n = 0;

	for (; *s && n + 1 < cap; s++)
		out[n++] = (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
					   (*s >= '0' && *s <= '9') || *s == '-'
				   ? *s
				   : '_';
	if (!n)
		out[n++] = 'x';
	out[n] = 0;
}

static int from_ndjson(const char *path, const char *dir)
{
	static struct conv convs[MAXCONV];
	struct nd_rec *r;
	size_t n;
	unsigned nconv = 0, written = 0;
	int bad = 0;

	r = nd_load(path, &n, "seeds-header");
	mkdir(dir, 0755);
	for (size_t i = 0; i < n; i++) {
		const struct nd_rec *x = &r[i];
		struct conv *c = NULL;

		if (strcmp(x->provider, "lpc"))
			continue;
		if (!strcmp(x->probe, "receive") && x->has_payload &&
		    x->type == LPC_CONNECTION_REQUEST) {
			if (nconv == MAXCONV)
				continue;
			c = &convs[nconv++];
			memset(c, 0, sizeof(*c));
			c->spid = x->pid;
			c->cpid = x->client_pid;
			c->ctid = x->client_tid;
			c->cmsgid = (uint32_t)x->msgid;
			name_part(c->server, sizeof(c->server), x->comm);
			c->info = x->payload + HDR;
			c->info_len = x->npayload > HDR
					      ? (unsigned)(x->npayload - HDR)
					      : 0;
			if (x->data_len >= 0 && (uint64_t)x->data_len < c->info_len)
				c->info_len = (unsigned)x->data_len;
			c->view = nd_get(x->payload, x->npayload, 32, 8);
			continue;
		}
		if (!strcmp(x->probe, "accept")) {
			for (unsigned j = nconv; j-- > 0;)
				if (convs[j].spid == x->pid &&
				    convs[j].cmsgid == (uint32_t)x->msgid &&
				    convs[j].cpid == x->client_pid &&
				    !convs[j].decided) {
					convs[j].decided = true;
					convs[j].accepted = x->accepted;
					convs[j].ctx = x->context;
					break;
				}
			continue;
		}
		if (!x->has_payload || x->npayload < HDR ||
		    (strcmp(x->probe, "receive") && strcmp(x->probe, "reply")))
			continue;
		/* The connection: the server's, the client's process, and
		 * for a receive its PortContext, for a reply a thread that
		 * made a request on it. */
		for (unsigned j = nconv; j-- > 0 && !c;) {
			struct conv *t = &convs[j];

			if (t->spid != x->pid || t->cpid != x->client_pid ||
			    !t->accepted)
				continue;
			if (x->probe[2] == 'c') {	/* receive */
				if (t->ctx == x->context)
					c = t;
				continue;
			}
			for (unsigned e = 0; e < t->nev; e++)
				if (t->ev[e].kind == LPC_REQUEST &&
				    t->ev[e].tid == x->client_tid)
					c = t;
		}
		if (!c || c->nev == MAXEV)
			continue;
		{
			struct conv_ev *e = &c->ev[c->nev];
			int type = x->probe[2] == 'c' ? (int)x->type : LPC_REPLY;

			if (type != LPC_REQUEST && type != LPC_DATAGRAM &&
			    type != LPC_EXCEPTION && type != LPC_REPLY &&
			    type != LPC_PORT_CLOSED && type != LPC_CLIENT_DIED)
				continue;
			e->kind = type;
			e->msgid = (uint32_t)x->msgid;
			e->tid = x->client_tid;
			e->dl = (unsigned)nd_get(x->payload, x->npayload, 0, 2);
			e->tl = (unsigned)nd_get(x->payload, x->npayload, 2, 2);
			e->data = x->payload + HDR;
			e->ndata = (unsigned)(x->npayload - HDR);
			if (type == LPC_CLIENT_DIED)
				c->died = true;
			c->nev++;
		}
	}
	for (unsigned j = 0; j < nconv; j++) {
		static struct prog p;
		char name[96];

		emit_conv(&p, &convs[j]);
		snprintf(name, sizeof(name), "rec-conn-%s-%u", convs[j].server,
			 j);
		bad |= save(dir, name, &p);
		written += !bad;
	}
	fprintf(stderr, "seeds-header: %s: %zu records, %u connections, %u "
		"seeds in %s\n", path, n, nconv, written, dir);
	free(r);
	return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
	const char *dir, *regdir;
	struct prog p;
	int bad = 0;

	if (argc == 4 && !strcmp(argv[1], "--from-ndjson"))
		return from_ndjson(argv[2], argv[3]);
	if (argc != 2 && argc != 3) {
		fprintf(stderr, "usage: %s OUTDIR [REGRESSIONDIR]\n"
				"       %s --from-ndjson RECORDING OUTDIR\n",
			argv[0], argv[0]);
		return 2;
	}
	dir = argv[1];
	regdir = argc == 3 ? argv[2] : NULL;
	mkdir(dir, 0755);

	/* 1. Connect, request, reply through the port, PORT_CLOSED. */
	memset(&p, 0, sizeof(p));
	connected(&p);
	raw_msg(&p, 0, LPC_OP_REQUEST, 0, tid_main, 101, 16);
	recv_n(&p, H_PORT0, 1);
	u8(&p, OP_REPLY);
	u8(&p, H_PORT0);
	u8(&p, 1);			/* kept message 1: the request */
	u8(&p, 0);			/* its ClientId */
	msg_plain(&p, 8, 0);
	u8(&p, OP_SHUT);
	u8(&p, 0x80);
	recv_n(&p, H_PORT0, 2);
	bad |= save(dir, "connect-request-reply", &p);

	/* 1b. One thread, two requests outstanding: the second one must
	 * cost the connection (LPC_PORT_CLOSED), not be delivered. */
	memset(&p, 0, sizeof(p));
	connected(&p);
	raw_msg(&p, 0, LPC_OP_REQUEST, 0, tid_main, 101, 16);
	raw_msg(&p, 0, LPC_OP_REQUEST, 0, tid_main, 102, 16);
	recv_n(&p, H_PORT0, 3);
	bad |= save(dir, "two-requests-one-thread", &p);

	/* 2. Datagrams and requests, reply-and-receive in one call, through
	 * the server communication port. */
	memset(&p, 0, sizeof(p));
	connected(&p);
	raw_msg(&p, 0, LPC_OP_DATAGRAM, 0, tid_main, 200, 0);
	raw_msg(&p, 0, LPC_OP_REQUEST, LPC_WF_NOIMP, tid_parked, 201, 5);
	raw_msg(&p, 0, LPC_OP_DATAGRAM, 0, tid_worker, 202, 600);
	recv_n(&p, H_COMM0, 3);
	u8(&p, OP_RECV);
	u8(&p, H_COMM0);
	u8(&p, 1);			/* a reply, one receive */
	u8(&p, 2);			/* to kept message 2 */
	msg_plain(&p, 3, 9);
	u8(&p, 1);			/* its ClientId */
	bad |= save(dir, "datagram-request-reply-receive", &p);

	/* 3. A request with data information; the server reads and writes
	 * it (the raw client serves the chunks), then replies. */
	{
		struct entry e[2] = { { 0, 16, 64 }, { 1, 0, 9000 } };

		memset(&p, 0, sizeof(p));
		connected(&p);
		send_begin(&p, 0, LPC_OP_REQUEST, LPC_WF_DATAINFO, 0);
		tid_main(&p);
		tid_zero(&p);
		id_lit(&p, 300);
		aux_lit(&p, 0);
		arg_zero(&p);
		arg_zero(&p);
		msg_dinfo(&p, 48, 2, e, 2);
		send_end(&p);
		recv_n(&p, H_PORT0, 1);
		/* NtReadRequestData(entry 0, 32 bytes) */
		u8(&p, OP_DATA);
		u8(&p, H_COMM0);
		u8(&p, 1);		/* kept message 1 */
		u8(&p, 0);		/* read */
		u16(&p, 32);
		u8(&p, 0);		/* entry 0 */
		resp_begin(&p, 0, LPC_OP_DATA_RESULT, 0, 0);
		tid_last(&p);		/* the requester speaks */
		u8(&p, 4 | LPC_OP_DATA_READ << 3);	/* target: its tid */
		id_last(&p);
		aux_lit(&p, 0);
		arg_u16(&p, 32);	/* 32 bytes done */
		arg_zero(&p);
		body_bytes(&p, 32);
		send_end(&p);
		/* NtWriteRequestData(entry 1, 9000 bytes): two chunks */
		u8(&p, OP_DATA);
		u8(&p, H_COMM0);
		u8(&p, 1);
		u8(&p, 1);		/* write */
		u16(&p, 9000);
		u8(&p, 1);		/* entry 1 */
		for (int c = 0; c < 2; c++) {
			resp_begin(&p, 0, LPC_OP_DATA_RESULT, 0, 0);
			tid_last(&p);
			u8(&p, 4 | LPC_OP_DATA_WRITE << 3);
			id_last(&p);
			aux_lit(&p, 0);
			arg_last1(&p);	/* all of the chunk */
			arg_zero(&p);
			body_bytes(&p, 0);
			send_end(&p);
		}
		u8(&p, OP_REPLY);
		u8(&p, H_COMM0);
		u8(&p, 1);
		u8(&p, 0);
		msg_plain(&p, 0, 0);
		bad |= save(dir, "request-data-info-read-write", &p);
	}

	/* 3d. NtRead/WriteRequestData refused before anything moves (an
	 * entry past the count, a size past the entry, no DataInfoOffset,
	 * a MessageId nobody waits for), then transfers the requester's
	 * engine answers with an error and with less than asked. */
	{
		struct entry e[2] = { { 0, 0, 100 }, { 1, 0, 200 } };

		memset(&p, 0, sizeof(p));
		connected(&p);
		send_begin(&p, 0, LPC_OP_REQUEST, LPC_WF_DATAINFO, 0);
		tid_main(&p);
		tid_zero(&p);
		id_lit(&p, 330);
		aux_lit(&p, 0);
		arg_zero(&p);
		arg_zero(&p);
		msg_dinfo(&p, 40, 0, e, 2);
		send_end(&p);
		recv_n(&p, H_PORT0, 1);
		u8(&p, OP_DATA);	/* entry 2 of 2 */
		u8(&p, H_COMM0);
		u8(&p, 1);
		u8(&p, 0);
		u16(&p, 8);
		u8(&p, 2);
		u8(&p, OP_DATA);	/* 101 bytes of a 100-byte entry */
		u8(&p, H_COMM0);
		u8(&p, 1);
		u8(&p, 1);
		u16(&p, 101);
		u8(&p, 0);
		u8(&p, OP_DATA);	/* DataInfoOffset 0 */
		u8(&p, H_COMM0);
		u8(&p, 1);
		u8(&p, 8);
		u16(&p, 8);
		u16(&p, 0);
		u8(&p, 0);
		u8(&p, OP_DATA);	/* MessageId nobody waits for */
		u8(&p, H_COMM0);
		u8(&p, 1);
		u8(&p, 2);
		u16(&p, 8);
		id_lit(&p, 331);
		u8(&p, 0);
		u8(&p, OP_DATA);	/* answered with EFAULT */
		u8(&p, H_COMM0);
		u8(&p, 1);
		u8(&p, 0);
		u16(&p, 16);
		u8(&p, 1);
		data_op(&p, 0, LPC_OP_DATA_RESULT, LPC_OP_DATA_READ, 14, 0, 0, 0);
		u8(&p, OP_DATA);	/* answered with 5 of 16 bytes */
		u8(&p, H_COMM0);
		u8(&p, 1);
		u8(&p, 0);
		u16(&p, 16);
		u8(&p, 1);
		data_op(&p, 0, LPC_OP_DATA_RESULT, LPC_OP_DATA_READ, 0, 5, 0, 5);
		u8(&p, OP_DATA);	/* a write answered with too little */
		u8(&p, H_COMM0);
		u8(&p, 1);
		u8(&p, 1);
		u16(&p, 200);
		u8(&p, 1);
		data_op(&p, 0, LPC_OP_DATA_RESULT, LPC_OP_DATA_WRITE, 0, 199, 0, 0);
		u8(&p, OP_REPLY);
		u8(&p, H_COMM0);
		u8(&p, 1);
		u8(&p, 0);
		msg_plain(&p, 0, 0);
		bad |= save(dir, "request-data-refusals", &p);
	}

	/* 5b. The server's request with data information, served by its
	 * own engine: entries past the count, ranges past the entry,
	 * MessageIds and threads that wait for nothing, then a reply. */
	{
		struct entry e[2] = { { 0, 100, 200 }, { 2, 4000, 96 } };

		memset(&p, 0, sizeof(p));
		connected(&p);
		u8(&p, OP_SREQ);
		u8(&p, H_COMM0);
		u8(&p, 0);
		msg_dinfo(&p, 56, 0, e, 2);
		data_op(&p, 0, LPC_OP_DATA_READ, LPC_OP_REQUEST, 2, 0, 8, 0);
		data_op(&p, 0, LPC_OP_DATA_READ, LPC_OP_REQUEST, 0, 150, 51, 0);
		data_op(&p, 0, LPC_OP_DATA_READ, LPC_OP_REQUEST, 0, 201, 1, 0);
		data_op(&p, 0, LPC_OP_DATA_WRITE, LPC_OP_REQUEST, 1, 90, 7, 7);
		data_op(&p, 0, LPC_OP_DATA_WRITE, LPC_OP_REQUEST, 1, 0, 96, 96);
		/* a MessageId the thread does not wait for */
		resp_begin(&p, 0, LPC_OP_DATA_READ, 0, 0);
		tid_main(&p);
		u8(&p, 4 | LPC_OP_REQUEST << 3);
		id_lit(&p, 12345);
		aux_lit(&p, 0);
		arg_zero(&p);
		arg_u16(&p, 4);
		body_bytes(&p, 0);
		send_end(&p);
		resp_begin(&p, 0, LPC_OP_REPLY, 0, 0);
		tid_main(&p);
		u8(&p, 4 | LPC_OP_REQUEST << 3);
		u8(&p, 2 | LPC_OP_REQUEST << 3);
		aux_lit(&p, 0);
		arg_zero(&p);
		arg_zero(&p);
		msg_plain(&p, 0, 0);
		send_end(&p);
		bad |= save(dir, "server-data-refusals", &p);
	}

	/* 4b. The client says it could not map the server's section. */
	memset(&p, 0, sizeof(p));
	u8(&p, OP_OPEN);
	u8(&p, 1);
	raw_connect_view(&p, 1, 410, 4096);
	recv_n(&p, H_PORT0, 1);
	u8(&p, OP_ACCEPT);
	u8(&p, 0);
	u8(&p, 1 | 2);			/* accept, server view */
	u16(&p, 0);
	u16(&p, 2048);
	u16(&p, 0);
	u16(&p, 0);
	resp_begin(&p, 1, LPC_OP_VIEWMAP, 0, 0);
	tid_main(&p);
	tid_zero(&p);
	id_lit(&p, 0);
	aux_lit(&p, 22);		/* EINVAL */
	arg_zero(&p);
	arg_zero(&p);
	body_bytes(&p, 0);
	send_end(&p);
	bad |= save(dir, "viewmap-error", &p);

	/* 4. A connection with views both ways: the client's sealed memfd
	 * mapped by the server, the server's section mapped by the client
	 * (it says where with VIEWMAP). */
	memset(&p, 0, sizeof(p));
	u8(&p, OP_OPEN);
	u8(&p, 1 | 0 << 2);
	raw_connect_view(&p, 1, 400, 8192);
	recv_n(&p, H_PORT0, 1);
	u8(&p, OP_ACCEPT);
	u8(&p, 0);
	u8(&p, 1 | 2 | 4 | 8);		/* accept, server view, client view */
	u16(&p, 4);
	u16(&p, 4096 / 4);		/* section of 4097 bytes */
	u16(&p, 0);			/* offset */
	u16(&p, 0);			/* whole */
	resp_begin(&p, 1, LPC_OP_VIEWMAP, 0, 0);
	tid_main(&p);
	tid_zero(&p);
	id_lit(&p, 0);
	aux_lit(&p, 0);
	arg_u64(&p, 0x7f0000000000ull);
	arg_zero(&p);
	body_bytes(&p, 0);
	send_end(&p);
	u8(&p, 0);			/* complete */
	raw_msg(&p, 1, LPC_OP_DATAGRAM, 0, tid_main, 401, 4);
	recv_n(&p, H_PORT0, 1);
	bad |= save(dir, "views-both-ways", &p);

	/* 5. The server's own request to the client with data
	 * information: the raw client reads, writes, then replies. */
	{
		struct entry e[2] = { { 0, 100, 200 }, { 2, 4000, 96 } };

		memset(&p, 0, sizeof(p));
		connected(&p);
		u8(&p, OP_SREQ);
		u8(&p, H_COMM0);
		u8(&p, 0);		/* a new request */
		msg_dinfo(&p, 56, 0, e, 2);
		resp_begin(&p, 0, LPC_OP_DATA_READ, 0, 0);
		tid_main(&p);
		tid_last(&p);		/* target: the requesting thread */
		id_last(&p);
		aux_lit(&p, 0);
		arg_u16(&p, 10);
		arg_u16(&p, 100);
		body_bytes(&p, 0);
		send_end(&p);
		resp_begin(&p, 0, LPC_OP_DATA_WRITE, 0, 0);
		tid_main(&p);
		u8(&p, 4 | LPC_OP_REQUEST << 3);	/* the request's tid */
		u8(&p, 2 | LPC_OP_REQUEST << 3);	/* and its id */
		aux_lit(&p, 1);
		arg_u16(&p, 90);
		arg_u16(&p, 6);
		body_bytes(&p, 6);
		send_end(&p);
		resp_begin(&p, 0, LPC_OP_REPLY, 0, 0);
		tid_main(&p);
		u8(&p, 4 | LPC_OP_REQUEST << 3);
		u8(&p, 2 | LPC_OP_REQUEST << 3);
		aux_lit(&p, 0);
		arg_zero(&p);
		arg_zero(&p);
		u16(&p, 4);		/* the reply message */
		u8(&p, 0);
		u8(&p, 0);
		u8(&p, 0);
		u8(&p, 0);
		u8(&p, 4);
		u32(&p, 0x796c7072);
		send_end(&p);
		bad |= save(dir, "server-request-data-info", &p);
	}

	/* 6. A callback: the server calls back into the raw client's
	 * waiting request; the client answers, then the server replies. */
	memset(&p, 0, sizeof(p));
	connected(&p);
	raw_msg(&p, 0, LPC_OP_REQUEST, 0, tid_parked, 600, 8);
	recv_n(&p, H_PORT0, 1);
	u8(&p, OP_SREQ);
	u8(&p, H_COMM0);
	u8(&p, 1);			/* a callback on kept message 1 */
	u8(&p, 1);
	msg_plain(&p, 12, 0);
	resp_begin(&p, 0, LPC_OP_REPLY, LPC_WF_WAIT, 0);
	tid_parked(&p);			/* the client thread answers */
	tid_last(&p);			/* the server thread */
	id_last(&p);
	aux_lit(&p, 0);
	arg_zero(&p);
	arg_zero(&p);
	u16(&p, 2);
	u8(&p, 0);
	u8(&p, 0);
	u8(&p, 0);
	u8(&p, 0);
	u8(&p, 0);
	send_end(&p);
	u8(&p, OP_REPLY);
	u8(&p, H_COMM0);
	u8(&p, 1);
	u8(&p, 0);
	msg_plain(&p, 1, 0);
	bad |= save(dir, "callback", &p);

	/* 7. The client side: a real NtConnectPort to the hostile server,
	 * ACCEPT and COMPLETE, a request answered, a datagram, a close. */
	memset(&p, 0, sizeof(p));
	u8(&p, OP_CONNECT);
	u8(&p, 4 | 8);			/* MaxMessageLength, info length */
	u16(&p, 24);
	u8(&p, 2);			/* SecurityImpersonation */
	resp_begin(&p, 4, LPC_OP_ACCEPT, 0, 0);
	tid_main(&p);
	tid_last(&p);			/* the connecting thread */
	id_last(&p);
	aux_lit(&p, 0x100);
	arg_zero(&p);
	arg_zero(&p);
	body_bytes(&p, 30);
	send_end(&p);
	resp_begin(&p, 4, LPC_OP_COMPLETE, 0, 0);
	tid_main(&p);
	u8(&p, 4 | LPC_OP_CONNECT << 3);
	u8(&p, 2 | LPC_OP_CONNECT << 3);
	aux_lit(&p, 0);
	arg_zero(&p);
	arg_zero(&p);
	body_bytes(&p, 0);
	send_end(&p);
	u8(&p, OP_CREQ);
	u8(&p, 0);
	u8(&p, 0);
	msg_plain(&p, 20, 0);
	resp_begin(&p, 4, LPC_OP_REPLY, 0, 0);
	tid_main(&p);
	tid_last(&p);
	id_last(&p);
	aux_lit(&p, 0);
	arg_zero(&p);
	arg_zero(&p);
	msg_plain(&p, 7, 0);
	send_end(&p);
	u8(&p, OP_DGRAM);
	u8(&p, H_CPORT0);
	msg_plain(&p, 3, 0);
	u8(&p, OP_CLOSE);
	u8(&p, 0x80);
	bad |= save(dir, "client-connect-request", &p);

	/* 8. The client refused, with reply data. */
	memset(&p, 0, sizeof(p));
	u8(&p, OP_CONNECT);
	u8(&p, 8);
	u16(&p, 600);
	u8(&p, 0);
	resp_begin(&p, 4, LPC_OP_REJECT, 0, 0);
	tid_main(&p);
	tid_last(&p);
	id_last(&p);
	aux_lit(&p, 0);
	arg_zero(&p);
	arg_zero(&p);
	body_bytes(&p, 520);
	send_end(&p);
	bad |= save(dir, "client-rejected", &p);

	/* 9. The client with its own section, and the server's (ACCEPT
	 * carries a sealed memfd), MaxMessageLength at the limit. */
	memset(&p, 0, sizeof(p));
	u8(&p, OP_CONNECT);
	u8(&p, 1 | 2 | 4 | 16);		/* views, max, server SID */
	u16(&p, 0);
	u8(&p, 3);
	u16(&p, 8192 / 8);
	u16(&p, 0);
	u16(&p, 0);
	resp_begin(&p, 4, LPC_OP_ACCEPT, LPC_WF_VIEW, 8);
	tid_main(&p);
	tid_last(&p);
	id_last(&p);
	aux_lit(&p, LPC_MAX_MESSAGE_LENGTH);
	arg_u64(&p, 0x7e0000000000ull);	/* where "we" mapped its view */
	arg_u16(&p, 4096);		/* our view's size */
	u8(&p, 0x80 | 0);
	u16(&p, 4096 / 16);
	body_bytes(&p, 0);
	send_end(&p);
	resp_begin(&p, 4, LPC_OP_COMPLETE, 0, 0);
	tid_main(&p);
	u8(&p, 4 | LPC_OP_CONNECT << 3);
	u8(&p, 2 | LPC_OP_CONNECT << 3);
	aux_lit(&p, 0);
	arg_zero(&p);
	arg_zero(&p);
	body_bytes(&p, 0);
	send_end(&p);
	bad |= save(dir, "client-views", &p);

	/* 10. The client's request with data information served by the
	 * client's engine (DATA_READ, DATA_WRITE), then a callback, then
	 * the reply. */
	{
		struct entry e[2] = { { 0, 0, 4096 }, { 1, 2048, 100 } };

		memset(&p, 0, sizeof(p));
		u8(&p, OP_CONNECT);
		u8(&p, 4);
		u16(&p, 0);
		u8(&p, 2);
		resp_begin(&p, 4, LPC_OP_ACCEPT, 0, 0);
		tid_main(&p);
		tid_last(&p);
		id_last(&p);
		aux_lit(&p, 0x200);
		arg_zero(&p);
		arg_zero(&p);
		body_bytes(&p, 0);
		send_end(&p);
		resp_begin(&p, 4, LPC_OP_COMPLETE, 0, 0);
		tid_main(&p);
		u8(&p, 4 | LPC_OP_CONNECT << 3);
		u8(&p, 2 | LPC_OP_CONNECT << 3);
		aux_lit(&p, 0);
		arg_zero(&p);
		arg_zero(&p);
		body_bytes(&p, 0);
		send_end(&p);
		u8(&p, OP_CREQ);
		u8(&p, 0);
		u8(&p, 0);
		msg_dinfo(&p, 64, 1, e, 2);
		resp_begin(&p, 4, LPC_OP_DATA_READ, 0, 0);
		tid_main(&p);
		tid_last(&p);
		id_last(&p);
		aux_lit(&p, 0);
		arg_u16(&p, 4000);
		arg_u16(&p, 96);
		body_bytes(&p, 0);
		send_end(&p);
		resp_begin(&p, 4, LPC_OP_DATA_WRITE, 0, 0);
		tid_main(&p);
		u8(&p, 4 | LPC_OP_REQUEST << 3);
		u8(&p, 2 | LPC_OP_REQUEST << 3);
		aux_lit(&p, 1);
		arg_u16(&p, 50);
		arg_u16(&p, 50);
		body_bytes(&p, 50);
		send_end(&p);
		resp_begin(&p, 4, LPC_OP_CALLBACK, 0, 0);
		tid_parked(&p);
		u8(&p, 4 | LPC_OP_REQUEST << 3);
		u8(&p, 2 | LPC_OP_REQUEST << 3);
		u8(&p, 3);		/* aux: the next CallbackId */
		arg_zero(&p);
		arg_zero(&p);
		msg_plain(&p, 8, 0);
		send_end(&p);
		/* the worker returns with the callback: answer it */
		u8(&p, OP_REPLY);
		u8(&p, H_CPORT0);
		u8(&p, 0xff);		/* no kept message: ids below */
		u8(&p, 1);		/* ClientId as built */
		u16(&p, 4);
		u8(&p, 0);
		u8(&p, 0);
		u8(&p, 0);
		u8(&p, 0x10 | 1);	/* explicit MessageId, ClientId */
		u32(&p, 0x1001);	/* CONNECT drew 0x1000 */
		tid_parked(&p);
		u8(&p, 0);
		bad |= save(dir, "client-request-data-info", &p);
	}

	/* 11. The hostile server sends the client a request and a datagram;
	 * the client receives them and replies. */
	memset(&p, 0, sizeof(p));
	u8(&p, OP_CONNECT);
	u8(&p, 0);
	u16(&p, 0);
	u8(&p, 2);
	resp_begin(&p, 4, LPC_OP_ACCEPT, 0, 0);
	tid_main(&p);
	tid_last(&p);
	id_last(&p);
	aux_lit(&p, 0x100);
	arg_zero(&p);
	arg_zero(&p);
	body_bytes(&p, 0);
	send_end(&p);
	resp_begin(&p, 4, LPC_OP_COMPLETE, 0, 0);
	tid_main(&p);
	u8(&p, 4 | LPC_OP_CONNECT << 3);
	u8(&p, 2 | LPC_OP_CONNECT << 3);
	aux_lit(&p, 0);
	arg_zero(&p);
	arg_zero(&p);
	body_bytes(&p, 0);
	send_end(&p);
	raw_msg(&p, 4, LPC_OP_REQUEST, 0, tid_main, 1100, 12);
	raw_msg(&p, 4, LPC_OP_DATAGRAM, 0, tid_parked, 1101, 0);
	u8(&p, OP_CRECV);
	u8(&p, 0);
	u8(&p, OP_CRECV);
	u8(&p, 0);
	u8(&p, OP_REPLY);
	u8(&p, H_CPORT0);
	u8(&p, 0);			/* kept message 0: the request */
	u8(&p, 0);
	msg_plain(&p, 2, 0);
	bad |= save(dir, "client-receives-and-replies", &p);

	/* 12. Notices and exceptions from a connected raw client:
	 * TERMREG, DIED, EXCEPTION, CLOSE. */
	memset(&p, 0, sizeof(p));
	connected(&p);
	send_begin(&p, 0, LPC_OP_TERMREG, 0, 0);
	tid_parked(&p);
	tid_zero(&p);
	id_lit(&p, 0);
	aux_lit(&p, 0);
	arg_u64(&p, 123456789);
	arg_zero(&p);
	body_bytes(&p, 0);
	send_end(&p);
	send_begin(&p, 0, LPC_OP_DIED, 0, 0);
	tid_parked(&p);
	tid_zero(&p);
	id_lit(&p, 1200);
	aux_lit(&p, 0);
	arg_u64(&p, 123456789);
	arg_zero(&p);
	body_bytes(&p, 0);
	send_end(&p);
	raw_msg(&p, 0, LPC_OP_EXCEPTION, 0, tid_main, 1201, 16);
	send_begin(&p, 0, LPC_OP_CLOSE, 0, 0);
	tid_main(&p);
	tid_zero(&p);
	id_lit(&p, 0);
	aux_lit(&p, 0);
	arg_zero(&p);
	arg_zero(&p);
	body_bytes(&p, 0);
	send_end(&p);
	recv_n(&p, H_PORT0, 4);
	bad |= save(dir, "notices-exception-close", &p);

	/* 13. Length edges on port 1 (max 0x100): TotalLength at the
	 * maximum and one past, DataLength with the sign bit, a packet
	 * longer than any, one that lies about its length. */
	memset(&p, 0, sizeof(p));
	u8(&p, OP_OPEN);
	u8(&p, 2 | 1 << 2);
	raw_connect(&p, 2, tid_parked, 1300, 0);
	recv_n(&p, H_PORT1, 1);
	accept_plain(&p, 0, 0);
	raw_msg(&p, 2, LPC_OP_DATAGRAM, 0, tid_parked, 1301, 0x100 - HDR);
	raw_msg(&p, 2, LPC_OP_DATAGRAM, 0, tid_parked, 1302, 0x100 - HDR + 1);
	recv_n(&p, H_PORT1, 3);
	u8(&p, OP_RAW);
	u8(&p, 3);
	u16(&p, 9000);
	for (int i = 0; i < 40; i++)
		u8(&p, i == 0 ? 0x50 : i == 1 ? 0x4c : i == 2 ? 1 : i == 3 ? 7 : 0);
	u16(&p, 0x288);
	bad |= save(dir, "length-edges", &p);

	/* 14. Every wire op through the pure checks, valid shapes. */
	memset(&p, 0, sizeof(p));
	for (unsigned op = 1; op < LPC_OP_MAX; op++) {
		u8(&p, OP_PURE);
		u8(&p, op);
		u8(&p, op == LPC_OP_REQUEST ? LPC_WF_DATAINFO : 0);
		tid_main(&p);
		tid_main(&p);
		id_lit(&p, 7);
		aux_lit(&p, 0x100);
		arg_u16(&p, 8);
		arg_u16(&p, 8);
		if (op == LPC_OP_REQUEST) {
			struct entry e = { 0, 0, 8 };

			msg_dinfo(&p, 32, 0, &e, 1);
		} else if (op == LPC_OP_REPLY || op == LPC_OP_CALLBACK ||
			   op == LPC_OP_DATAGRAM || op == LPC_OP_EXCEPTION) {
			msg_plain(&p, 9, 3);
		} else {
			u16(&p, op == LPC_OP_DATA_WRITE ||
					op == LPC_OP_DATA_RESULT ? 8 : 0);
		}
		u32(&p, 0x288);
		u8(&p, 4);		/* a name: \RPC Control-ish */
		u8(&p, 1);
		u8(&p, 'a');
		u8(&p, 1);
		u8(&p, 'b');
	}
	bad |= save(dir, "pure-every-op", &p);

	/* 15. Two connection requests: one received, one listened for; the
	 * first refused, the second accepted; then a forged ClientId on it
	 * and, on a third connection, a reply nobody asked for. */
	memset(&p, 0, sizeof(p));
	u8(&p, OP_OPEN);
	u8(&p, 0);
	u8(&p, OP_OPEN);
	u8(&p, 1);
	raw_connect(&p, 0, tid_main, 1500, 3);
	raw_connect(&p, 1, tid_worker, 1502, 0);
	recv_n(&p, H_PORT0, 1);
	u8(&p, OP_LISTEN);
	u8(&p, 0);
	u8(&p, OP_ACCEPT);
	u8(&p, 0);
	u8(&p, 0);			/* reject */
	u16(&p, 5);
	accept_plain(&p, 1, 0);
	raw_msg(&p, 0, LPC_OP_REQUEST, 0, tid_init, 1501, 4);
	recv_n(&p, H_PORT0, 1);
	u8(&p, OP_OPEN);
	u8(&p, 2);
	raw_connect(&p, 2, tid_parked, 1503, 0);
	recv_n(&p, H_PORT0, 1);
	accept_plain(&p, 3, 0);
	raw_msg(&p, 2, LPC_OP_REPLY, 0, tid_parked, 1504, 4);
	recv_n(&p, H_PORT0, 2);
	bad |= save(dir, "reject-forged-unsolicited", &p);

	if (!regdir)
		return bad ? 1 : 0;
	mkdir(regdir, 0755);
	/* Inputs that hit engine bugs (fuzz/header.c lists them). */
	/* NtRequestWaitReplyPort (the worker, a NULL handle) with a
	 * DataInfoOffset and DataLength 0x7000: copied into the 696-byte
	 * capture buffer before TotalLength meets the port's maximum. */
	memset(&p, 0, sizeof(p));
	u8(&p, OP_SREQ);
	u8(&p, H_NULL);
	u8(&p, 0);
	u16(&p, 0x7000);		/* DataLength */
	u8(&p, 4);			/* TotalLength = 40 + DataLength, kept */
	u8(&p, 0);
	u8(&p, 2);			/* a raw DataInfoOffset */
	u8(&p, 0);
	u8(&p, 0);
	u16(&p, 0x30);
	bad |= save(regdir, "request-datainfo-overflows-sbuf", &p);

	/* 3b. A DATA_RESULT that reports more bytes than the chunk asked
	 * for (a 32-byte read answered with 64). */
	{
		struct entry e[1] = { { 0, 16, 4000 } };

		memset(&p, 0, sizeof(p));
		connected(&p);
		send_begin(&p, 0, LPC_OP_REQUEST, LPC_WF_DATAINFO, 0);
		tid_main(&p);
		tid_zero(&p);
		id_lit(&p, 310);
		aux_lit(&p, 0);
		arg_zero(&p);
		arg_zero(&p);
		msg_dinfo(&p, 24, 0, e, 1);
		send_end(&p);
		recv_n(&p, H_PORT0, 1);
		u8(&p, OP_DATA);
		u8(&p, H_COMM0);
		u8(&p, 1);
		u8(&p, 0);		/* read */
		u16(&p, 32);
		u8(&p, 0);
		resp_begin(&p, 0, LPC_OP_DATA_RESULT, 0, 0);
		tid_main(&p);
		u8(&p, 4 | LPC_OP_DATA_READ << 3);
		id_last(&p);
		aux_lit(&p, 0);
		arg_u16(&p, 64);	/* 64 bytes "done" */
		arg_zero(&p);
		body_bytes(&p, 64);
		send_end(&p);
		bad |= save(regdir, "data-result-longer-than-asked", &p);
	}

	/* 3c. A DATA_RESULT that claims more bytes than it carries. */
	{
		struct entry e[1] = { { 0, 16, 4000 } };

		memset(&p, 0, sizeof(p));
		connected(&p);
		send_begin(&p, 0, LPC_OP_REQUEST, LPC_WF_DATAINFO, 0);
		tid_main(&p);
		tid_zero(&p);
		id_lit(&p, 320);
		aux_lit(&p, 0);
		arg_zero(&p);
		arg_zero(&p);
		msg_dinfo(&p, 24, 0, e, 1);
		send_end(&p);
		recv_n(&p, H_PORT0, 1);
		u8(&p, OP_DATA);
		u8(&p, H_COMM0);
		u8(&p, 1);
		u8(&p, 0);		/* read */
		u16(&p, 32);
		u8(&p, 0);
		resp_begin(&p, 0, LPC_OP_DATA_RESULT, 0, 0);
		tid_main(&p);
		u8(&p, 4 | LPC_OP_DATA_READ << 3);
		id_last(&p);
		aux_lit(&p, 0);
		arg_u16(&p, 32);	/* 32 bytes done ... */
		arg_zero(&p);
		body_bytes(&p, 8);	/* ... 8 carried */
		send_end(&p);
		bad |= save(regdir, "data-result-shorter-than-it-says", &p);
	}

	/* A VIEWMAP whose error has its top bit set (-EINVAL as a u32):
	 * accept's r = -(int)aux is positive, the new handle is closed on
	 * the error path, and lpc_status() maps r >= 0 to STATUS_SUCCESS:
	 * NtAcceptConnectPort "succeeds" without writing *PortHandle. */
	memset(&p, 0, sizeof(p));
	u8(&p, OP_OPEN);
	u8(&p, 1);
	raw_connect_view(&p, 1, 410, 4096);
	recv_n(&p, H_PORT0, 1);
	u8(&p, OP_ACCEPT);
	u8(&p, 0);
	u8(&p, 1 | 2);			/* accept, server view */
	u16(&p, 0);
	u16(&p, 2048);
	u16(&p, 0);
	u16(&p, 0);
	resp_begin(&p, 1, LPC_OP_VIEWMAP, 0, 0);
	tid_main(&p);
	tid_zero(&p);
	id_lit(&p, 0);
	aux_lit(&p, 0xffffffea);
	arg_zero(&p);
	arg_zero(&p);
	body_bytes(&p, 0);
	send_end(&p);
	bad |= save(regdir, "viewmap-error-accepts-without-handle", &p);

	/* A DATA_RESULT whose error is ETIMEDOUT: NtReadRequestData returns
	 * STATUS_TIMEOUT, a success status, having read nothing. */
	{
		struct entry e[1] = { { 0, 16, 4000 } };

		memset(&p, 0, sizeof(p));
		connected(&p);
		send_begin(&p, 0, LPC_OP_REQUEST, LPC_WF_DATAINFO, 0);
		tid_main(&p);
		tid_zero(&p);
		id_lit(&p, 340);
		aux_lit(&p, 0);
		arg_zero(&p);
		arg_zero(&p);
		msg_dinfo(&p, 24, 0, e, 1);
		send_end(&p);
		recv_n(&p, H_PORT0, 1);
		u8(&p, OP_DATA);
		u8(&p, H_COMM0);
		u8(&p, 1);
		u8(&p, 0);
		u16(&p, 16);
		u8(&p, 0);
		data_op(&p, 0, LPC_OP_DATA_RESULT, LPC_OP_DATA_READ, 110, 0, 0, 0);
		bad |= save(regdir, "data-result-error-passed-through", &p);
	}
	return bad ? 1 : 0;
}
