/* SPDX-License-Identifier: MIT */
/*
 * seq_prog.h - the connection-sequence harness's program format, shared by
 * fuzz/seq.c (which decodes and runs it) and fuzz/tools/seq-asm.c (which
 * assembles text into it and disassembles it back).
 *
 * An input is a sequence of 8-byte operations, nothing else:
 *
 *   byte 0     op     (taken modulo SEQ_NOPS)
 *   byte 1     thread (low 3 bits) | flags << 3 (5 flag bits, per op)
 *   byte 2     a      usually a port / handle selector
 *   byte 3     b      usually an item selector (a received message)
 *   byte 4-5   len    little endian: a data length, a maximum, ...
 *   byte 6     c      per op: timeout, index, raw TotalLength, pages
 *   byte 7     d      per op: the reply "mode" (right, wrong id, ...)
 *
 * A trailing partial operation is ignored.  decode() is total (every byte
 * string is a program) and encode(decode(x)) is decode's normal form, so
 * decode(encode(decode(x))) == decode(x); the harness checks that.
 *
 * Threads: four actors ("processes" of the model, one Linux process in
 * fact), two threads each: s0 s1 (the server actor), a0 a1, b0 b1, c0 c1.
 *
 * Selectors (a, b): 0 picks the natural target (the actor's own port of
 * the kind the op wants, the oldest message still awaiting its answer);
 * 1..254 pick among all live handles / all received items, modulo their
 * number; 255 names a handle value that is not open.
 *
 * Text form (seq-asm): one op a line, "op thread key[=value]...", '#'
 * starts a comment.  Keys are the generic fields (a= b= c= d= len= f=)
 * and the per-op aliases of seq_alias[] below.
 */
#ifndef LPC_FUZZ_SEQ_PROG_H
#define LPC_FUZZ_SEQ_PROG_H

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum seq_opcode {
	SEQ_CREATE,	/* NtCreatePort / NtCreateWaitablePort */
	SEQ_CONNECT,	/* NtConnectPort (blocks until complete/refused) */
	SEQ_LISTEN,	/* NtListenPort */
	SEQ_RECV,	/* NtReplyWaitReceivePortEx, optionally replying */
	SEQ_ACCEPT,	/* NtAcceptConnectPort, accept or reject */
	SEQ_COMPLETE,	/* NtCompleteConnectPort */
	SEQ_REQUEST,	/* NtRequestWaitReplyPort, a new request */
	SEQ_DATAGRAM,	/* NtRequestPort */
	SEQ_REPLY,	/* NtReplyPort */
	SEQ_RWR,	/* NtReplyWaitReplyPort */
	SEQ_CALLBACK,	/* NtRequestWaitReplyPort with Type LPC_REQUEST */
	SEQ_READ,	/* NtReadRequestData */
	SEQ_WRITE,	/* NtWriteRequestData */
	SEQ_IMPERSONATE, /* NtImpersonateClientOfPort, then revert */
	SEQ_REGISTER,	/* NtRegisterThreadTerminatePort */
	SEQ_CLOSE,	/* NtClose */
	SEQ_KILL,	/* the thread exits */
	SEQ_TEARDOWN,	/* the actor: its idle threads exit, its handles close */
	SEQ_WAIT,	/* NtWaitForSingleObject (waitable ports) */
	SEQ_NOPS
};

#define SEQ_OP_BYTES 8
#define SEQ_MAX_OPS 64
#define SEQ_NTHREADS 8

/* Flag bits (5), per op. */
#define SEQ_F_NAMED	0x01	/* create */
#define SEQ_F_WAITABLE	0x02	/* create */
#define SEQ_F_RAWMAX	0x04	/* create: len is MaxMessageLength as is */
#define SEQ_F_VIEW	0x01	/* connect: a client section view */
#define SEQ_F_SVIEW	0x02	/* connect: REMOTE_PORT_VIEW; accept: server view */
#define SEQ_F_CVIEW	0x02	/* accept: REMOTE_PORT_VIEW for the client's */
#define SEQ_F_ACC_SVIEW	0x01	/* accept: a server section view */
#define SEQ_F_REJECT	0x04	/* accept */
#define SEQ_F_CTX	0x08	/* accept: a PortContext of our own */
#define SEQ_F_RAW	0x01	/* messages: DataLength=len, TotalLength from c */
#define SEQ_F_DINFO	0x02	/* request: a data-information block */
#define SEQ_F_NOIMP	0x04	/* request: LPC_NO_IMPERSONATE */
#define SEQ_F_WITHREPLY	0x01	/* recv: reply to item b first */
#define SEQ_F_NOCTX	0x02	/* recv: no PortContext pointer */
#define SEQ_F_NODINFO	0x02	/* read/write: DataInfoOffset 0 in the msg */

/* d: how a reply (callback, accept, data, impersonation) names its target. */
enum seq_mode {
	SEQ_M_RIGHT,	/* the item's MessageId and ClientId */
	SEQ_M_WRONGID,	/* MessageId + 1 */
	SEQ_M_WRONGCID,	/* another live actor thread's ClientId */
	SEQ_M_DEADCID,	/* a thread that exited */
	SEQ_M_ZEROID,	/* MessageId 0 */
	SEQ_M_DGRAMID,	/* a datagram's (or notice's) MessageId and ClientId */
	SEQ_M_SELF,	/* the caller's own ClientId */
	SEQ_M_CONNCID,	/* a thread blocked in NtConnectPort, its connect id */
	SEQ_NMODES
};

/* c of recv/wait: the timeout. */
enum seq_timeout {
	SEQ_T_INF,
	SEQ_T_ZERO,
	SEQ_T_1MS,
	SEQ_T_ZERO2,
};

/* With SEQ_F_RAW, c gives TotalLength: bit 7 set, DataLength + 40 (the
 * header) + the low 7 bits -- rule 1 holds, the maximum may not; else
 * the low 7 bits times 8, whatever DataLength is. */
static inline uint16_t seq_raw_total(uint8_t c, uint16_t dl)
{
	return (uint16_t)(c & 0x80 ? dl + 40u + (c & 0x7fu) : (c & 0x7fu) * 8u);
}

struct seq_op {
	uint8_t op;
	uint8_t thread;
	uint8_t flags;
	uint8_t a, b, c, d;
	uint16_t len;
};

static const char *const seq_op_names[SEQ_NOPS] = {
	"create",   "connect",	"listen",   "recv",	"accept",
	"complete", "request",	"datagram", "reply",	"rwr",
	"callback", "read",	"write",    "impersonate", "register",
	"close",    "kill",	"teardown", "wait",
};

static const char *const seq_thread_names[SEQ_NTHREADS] = {
	"s0", "s1", "a0", "a1", "b0", "b1", "c0", "c1",
};

static const char *const seq_mode_names[SEQ_NMODES] = {
	"right", "wrongid", "wrongcid", "deadcid",
	"zeroid", "dgramid", "self", "conncid",
};

static inline void seq_decode_op(const uint8_t *p, struct seq_op *o)
{
	o->op = (uint8_t)(p[0] % SEQ_NOPS);
	o->thread = p[1] & 7;
	o->flags = p[1] >> 3;
	o->a = p[2];
	o->b = p[3];
	o->len = (uint16_t)(p[4] | p[5] << 8);
	o->c = p[6];
	o->d = p[7];
}

static inline void seq_encode_op(const struct seq_op *o, uint8_t *p)
{
	p[0] = o->op;
	p[1] = (uint8_t)((o->thread & 7) | (o->flags << 3));
	p[2] = o->a;
	p[3] = o->b;
	p[4] = (uint8_t)o->len;
	p[5] = (uint8_t)(o->len >> 8);
	p[6] = o->c;
	p[7] = o->d;
}

/* Decode a whole input: returns the number of ops (at most max). */
static inline int seq_decode(const uint8_t *data, size_t size,
			     struct seq_op *ops, int max)
{
	int n = 0;

	for (size_t off = 0; off + SEQ_OP_BYTES <= size && n < max;
	     off += SEQ_OP_BYTES)
		seq_decode_op(data + off, &ops[n++]);
	return n;
}

static inline int seq_op_eq(const struct seq_op *x, const struct seq_op *y)
{
	return x->op == y->op && x->thread == y->thread &&
	       x->flags == y->flags && x->a == y->a && x->b == y->b &&
	       x->c == y->c && x->d == y->d && x->len == y->len;
}

/* ------------------------------------------------------------------ */
/* Text form                                                           */
/* ------------------------------------------------------------------ */

enum seq_field { SF_FLAGS, SF_A, SF_B, SF_C, SF_D, SF_LEN };

enum seq_alias_kind {
	SA_FLAG,	/* a flag bit: "name" */
	SA_VALUE,	/* "name=N" sets the field */
	SA_CONST,	/* "name" sets the field to val */
};

struct seq_alias {
	int op;		/* -1: every op */
	const char *name;
	uint8_t field;
	uint8_t kind;
	uint16_t val;	/* flag mask or constant */
};

/* Per-op names for fields, tried in order by the disassembler. */
static const struct seq_alias seq_alias[] = {
	{ SEQ_CREATE, "named", SF_FLAGS, SA_FLAG, SEQ_F_NAMED },
	{ SEQ_CREATE, "waitable", SF_FLAGS, SA_FLAG, SEQ_F_WAITABLE },
	{ SEQ_CREATE, "rawmax", SF_FLAGS, SA_FLAG, SEQ_F_RAWMAX },
	{ SEQ_CREATE, "name", SF_B, SA_VALUE, 0 },
	{ SEQ_CREATE, "max", SF_LEN, SA_VALUE, 0 },
	{ SEQ_CREATE, "maxinfo4", SF_C, SA_VALUE, 0 },
	{ SEQ_CONNECT, "view", SF_FLAGS, SA_FLAG, SEQ_F_VIEW },
	{ SEQ_CONNECT, "sview", SF_FLAGS, SA_FLAG, SEQ_F_SVIEW },
	{ SEQ_CONNECT, "name", SF_B, SA_VALUE, 0 },
	{ SEQ_CONNECT, "info", SF_LEN, SA_VALUE, 0 },
	{ SEQ_CONNECT, "pages", SF_C, SA_VALUE, 0 },
	{ SEQ_ACCEPT, "sview", SF_FLAGS, SA_FLAG, SEQ_F_ACC_SVIEW },
	{ SEQ_ACCEPT, "cview", SF_FLAGS, SA_FLAG, SEQ_F_CVIEW },
	{ SEQ_ACCEPT, "reject", SF_FLAGS, SA_FLAG, SEQ_F_REJECT },
	{ SEQ_ACCEPT, "ctx", SF_FLAGS, SA_FLAG, SEQ_F_CTX },
	{ SEQ_ACCEPT, "info", SF_LEN, SA_VALUE, 0 },
	{ SEQ_ACCEPT, "pages", SF_C, SA_VALUE, 0 },
	{ SEQ_RECV, "reply", SF_FLAGS, SA_FLAG, SEQ_F_WITHREPLY },
	{ SEQ_RECV, "noctx", SF_FLAGS, SA_FLAG, SEQ_F_NOCTX },
	{ SEQ_REQUEST, "dinfo", SF_FLAGS, SA_FLAG, SEQ_F_DINFO },
	{ SEQ_REQUEST, "noimp", SF_FLAGS, SA_FLAG, SEQ_F_NOIMP },
	{ SEQ_READ, "nodinfo", SF_FLAGS, SA_FLAG, SEQ_F_NODINFO },
	{ SEQ_WRITE, "nodinfo", SF_FLAGS, SA_FLAG, SEQ_F_NODINFO },
	{ SEQ_READ, "index", SF_C, SA_VALUE, 0 },
	{ SEQ_WRITE, "index", SF_C, SA_VALUE, 0 },
	{ SEQ_RECV, "inf", SF_C, SA_CONST, SEQ_T_INF },
	{ SEQ_RECV, "zero", SF_C, SA_CONST, SEQ_T_ZERO },
	{ SEQ_RECV, "1ms", SF_C, SA_CONST, SEQ_T_1MS },
	{ SEQ_RECV, "timeout", SF_C, SA_VALUE, 0 },
	{ SEQ_WAIT, "zero", SF_C, SA_CONST, SEQ_T_ZERO },
	{ SEQ_WAIT, "1ms", SF_C, SA_CONST, SEQ_T_1MS },
	{ SEQ_WAIT, "timeout", SF_C, SA_VALUE, 0 },
	{ -1, "raw", SF_FLAGS, SA_FLAG, SEQ_F_RAW },
	{ -1, "port", SF_A, SA_VALUE, 0 },
	{ -1, "item", SF_B, SA_VALUE, 0 },
	{ -1, "total", SF_C, SA_VALUE, 0 },
	{ -1, "len", SF_LEN, SA_VALUE, 0 },
	{ -1, "a", SF_A, SA_VALUE, 0 },
	{ -1, "b", SF_B, SA_VALUE, 0 },
	{ -1, "c", SF_C, SA_VALUE, 0 },
	{ -1, "d", SF_D, SA_VALUE, 0 },
	{ -1, "f", SF_FLAGS, SA_VALUE, 0 },
};

#define SEQ_NALIAS (sizeof(seq_alias) / sizeof(seq_alias[0]))

/* Flag aliases only apply to ops that own them ("raw" is a message flag). */
static inline int seq_alias_applies(const struct seq_alias *al, int op)
{
	if (al->op == op)
		return 1;
	if (al->op != -1)
		return 0;
	if (al->kind == SA_FLAG) /* raw */
		return op == SEQ_REQUEST || op == SEQ_DATAGRAM ||
		       op == SEQ_REPLY || op == SEQ_RWR ||
		       op == SEQ_CALLBACK;
	return 1;
}

static inline unsigned seq_get_field(const struct seq_op *o, int f)
{
	switch (f) {
	case SF_FLAGS: return o->flags;
	case SF_A: return o->a;
	case SF_B: return o->b;
	case SF_C: return o->c;
	case SF_D: return o->d;
	default: return o->len;
	}
}

static inline void seq_set_field(struct seq_op *o, int f, unsigned v)
{
	switch (f) {
	case SF_FLAGS: o->flags = (uint8_t)(v & 31); break;
	case SF_A: o->a = (uint8_t)v; break;
	case SF_B: o->b = (uint8_t)v; break;
	case SF_C: o->c = (uint8_t)v; break;
	case SF_D: o->d = (uint8_t)v; break;
	default: o->len = (uint16_t)v; break;
	}
}

/* Does op use d as a mode (printed by name)? */
static inline int seq_op_has_mode(int op)
{
	return op == SEQ_RECV || op == SEQ_ACCEPT || op == SEQ_REPLY ||
	       op == SEQ_RWR || op == SEQ_CALLBACK || op == SEQ_READ ||
	       op == SEQ_WRITE || op == SEQ_IMPERSONATE;
}

/* One op as text (canonical: decode(parse(print(x))) == x). */
static inline void seq_print_op(const struct seq_op *o, char *out, size_t n)
{
	unsigned done_flags = 0;
	int at;
	int fdone[6] = { 0 };

	at = snprintf(out, n, "%s %s", seq_op_names[o->op % SEQ_NOPS],
		      seq_thread_names[o->thread & 7]);
#define PUT(...)                                                           \
	do {                                                               \
		if (at >= 0 && (size_t)at < n)                             \
			at += snprintf(out + at, n - (size_t)at, __VA_ARGS__); \
	} while (0)
	for (size_t i = 0; i < SEQ_NALIAS; i++) {
		const struct seq_alias *al = &seq_alias[i];

		if (!seq_alias_applies(al, o->op))
			continue;
		if (al->kind == SA_FLAG) {
			if ((o->flags & al->val) && !(done_flags & al->val)) {
				PUT(" %s", al->name);
				done_flags |= al->val;
			}
		} else if (al->kind == SA_CONST) {
			if (!fdone[al->field] &&
			    seq_get_field(o, al->field) == al->val &&
			    al->val != 0) {
				PUT(" %s", al->name);
				fdone[al->field] = 1;
			}
		}
	}
	if (o->flags & ~done_flags)
		PUT(" f=%u", (unsigned)(o->flags & ~done_flags));
	fdone[SF_FLAGS] = 1;
	if (seq_op_has_mode(o->op) && o->d) {
		if (o->d < SEQ_NMODES)
			PUT(" %s", seq_mode_names[o->d]);
		else
			PUT(" d=%u", o->d);
		fdone[SF_D] = 1;
	}
	for (size_t i = 0; i < SEQ_NALIAS; i++) {
		const struct seq_alias *al = &seq_alias[i];
		unsigned v;

		if (al->kind != SA_VALUE || fdone[al->field] ||
		    !seq_alias_applies(al, o->op))
			continue;
		v = seq_get_field(o, al->field);
		fdone[al->field] = 1;
		if (v)
			PUT(" %s=%u", al->name, v);
	}
#undef PUT
}

/* Parse one line: 1 an op, 0 blank/comment, -1 error (msg in err). */
static inline int seq_parse_line(const char *line, struct seq_op *o,
				 char *err, size_t errn)
{
	char buf[512], *tok, *save = NULL;
	int i;

	snprintf(buf, sizeof(buf), "%s", line);
	if ((tok = strchr(buf, '#')))
		*tok = 0;
	memset(o, 0, sizeof(*o));
	tok = strtok_r(buf, " \t\r\n", &save);
	if (!tok)
		return 0;
	for (i = 0; i < SEQ_NOPS && strcmp(tok, seq_op_names[i]); i++)
		;
	if (i == SEQ_NOPS) {
		snprintf(err, errn, "unknown op '%s'", tok);
		return -1;
	}
	o->op = (uint8_t)i;
	tok = strtok_r(NULL, " \t\r\n", &save);
	if (!tok) {
		snprintf(err, errn, "missing thread");
		return -1;
	}
	for (i = 0; i < SEQ_NTHREADS && strcmp(tok, seq_thread_names[i]); i++)
		;
	if (i == SEQ_NTHREADS) {
		snprintf(err, errn, "unknown thread '%s'", tok);
		return -1;
	}
	o->thread = (uint8_t)i;
	while ((tok = strtok_r(NULL, " \t\r\n", &save))) {
		char *eq = strchr(tok, '=');
		size_t k;
		int found = 0;

		if (eq)
			*eq++ = 0;
		if (!eq && seq_op_has_mode(o->op)) {
			for (k = 0; k < SEQ_NMODES; k++) {
				if (!strcmp(tok, seq_mode_names[k])) {
					o->d = (uint8_t)k;
					found = 1;
				}
			}
		}
		for (k = 0; k < SEQ_NALIAS && !found; k++) {
			const struct seq_alias *al = &seq_alias[k];

			if (strcmp(al->name, tok) || !seq_alias_applies(al, o->op))
				continue;
			if (al->kind == SA_VALUE) {
				char *end;
				unsigned long v;

				if (!eq) {
					snprintf(err, errn, "'%s' needs =N", tok);
					return -1;
				}
				v = strtoul(eq, &end, 0);
				if (*end || v > 0xffff) {
					snprintf(err, errn, "bad value '%s'", eq);
					return -1;
				}
				if (al->field == SF_FLAGS) /* f=N adds bits */
					v |= o->flags;
				seq_set_field(o, al->field, (unsigned)v);
			} else if (al->kind == SA_FLAG) {
				o->flags |= (uint8_t)al->val;
			} else {
				seq_set_field(o, al->field, al->val);
			}
			found = 1;
		}
		if (!found) {
			snprintf(err, errn, "unknown key '%s' for %s", tok,
				 seq_op_names[o->op]);
			return -1;
		}
	}
	return 1;
}

#endif
