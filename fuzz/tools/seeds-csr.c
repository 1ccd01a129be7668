/* SPDX-License-Identifier: MIT */
/*
 * seeds-csr - write the seed corpus of fuzz/csr.c.
 *
 *   build/fuzz/tools/seeds-csr OUTDIR
 *
 * Each seed is a list of calls in the harness's encoding (fuzz/csr.c):
 * sessions that drive every handler with valid arguments and capture
 * buffers laid out as libcsr lays them out (consoles with a pending read
 * completed later, the DOS device table, NLS settings, process and
 * thread registration, CSRSRV and USERSRV calls), every API of every
 * profile with a small valid capture buffer, the capture-buffer edges of
 * spec 12.6, and the LPC message types csrd's loop handles.  Replay with
 * LPC_FUZZ_VERBOSE=1 build/fuzz/csr SEED.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <lpc/csr.h>

#include "profile.h"

#define OFF(f) ((unsigned)offsetof(CSR_API_MESSAGE, f))
#define DATA 64u
#define MSGSZ ((unsigned)sizeof(CSR_API_MESSAGE))

struct prog {
	uint8_t b[32768];
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

/* Fix-up sources (the harness writes them into Data at run time). */
enum { FIX_PID, FIX_TID, FIX_PARKED, FIX_PID1, FIX_CURRENT };

/* One argument captured into the buffer: the message field it fills
 * (an offset in the message), its bytes. */
struct arg {
	unsigned field;
	unsigned len;
	const void *bytes;
};

/* One call, as fuzz/csr.c reads it. */
struct call {
	unsigned kind;		/* 0 request, 10 datagram, 11 type, 12 dispatch */
	unsigned who;
	int type;		/* kind 11 */
	unsigned api;		/* index in the profile's table, or 0xe0+ */
	uint32_t api_raw;	/* 0xe0: the ApiNumber itself */
	unsigned api_dll;	/* 0xe1..0xe3: which DLL's edge */
	uint32_t tid_raw;	/* who & 3 == 2 */
	unsigned dl, tl;
	uint8_t data[312];	/* Data, as the client fills it */
	unsigned ndata;
	unsigned fix[3][2];
	unsigned nfix;
	/* capture buffer: 0 none, 1 at ViewBase + pos, 2 at ViewEnd - pos */
	unsigned where, pos;
	struct arg args[8];
	unsigned nargs;
	int64_t size;		/* >= 0: Size overridden */
	int64_t count;		/* >= 0: PointerCount overridden */
	int slack;		/* >= 0: slack bytes (else 8) */
	int dup;		/* >= 0: argument recorded twice */
	int move;		/* >= 0: pointer of argument moved by delta */
	int delta;
	int entry, entry_val;	/* >= 0: an offsets entry overwritten */
	unsigned queries;	/* validator queries on the copy */
};

static void call_init(struct call *c, unsigned api, unsigned argsize)
{
	memset(c, 0, sizeof(*c));
	c->api = api;
	/* libcsr: DataLength = ArgLength + 24 (from the header to Data). */
	c->dl = argsize + (DATA - 40);
	c->tl = 0;
	c->ndata = argsize > 312 ? 312 : argsize;
	c->size = c->count = c->slack = c->dup = c->move = c->entry = -1;
}

static void put32(struct call *c, unsigned field, uint32_t v)
{
	memcpy(c->data + (field - DATA), &v, 4);
	if (field - DATA + 4 > c->ndata)
		c->ndata = field - DATA + 4;
}

static void put16(struct call *c, unsigned field, uint16_t v)
{
	memcpy(c->data + (field - DATA), &v, 2);
	if (field - DATA + 2 > c->ndata)
		c->ndata = field - DATA + 2;
}

static void fixup(struct call *c, unsigned field, unsigned what)
{
	c->fix[c->nfix][0] = (field - DATA) / 8;
	c->fix[c->nfix][1] = what;
	c->nfix++;
}

static void arg(struct call *c, unsigned field, const void *bytes,
		unsigned len)
{
	c->args[c->nargs].field = field;
	c->args[c->nargs].bytes = bytes;
	c->args[c->nargs].len = len;
	c->nargs++;
	if (!c->where) {
		c->where = 1;
		c->pos = 256;
	}
}

static void emit(struct prog *p, const struct call *c)
{
	unsigned ctl;

	u8(p, c->kind);
	u8(p, c->who);
	if (c->kind % 16 == 11)
		u8(p, c->type);
	if ((c->who & 3) == 2)
		u32(p, c->tid_raw);
	u8(p, c->api);
	if (c->api == 0xe0)
		u32(p, c->api_raw);
	if (c->api >= 0xe1 && c->api <= 0xe3)
		u8(p, c->api_dll);
	u16(p, c->dl);
	u8(p, c->tl);
	u8(p, c->ndata);
	for (unsigned i = 0; i < c->ndata; i++)
		u8(p, c->data[i]);
	u8(p, c->nfix);
	for (unsigned i = 0; i < c->nfix; i++) {
		u8(p, c->fix[i][0]);
		u8(p, c->fix[i][1]);
	}
	if (!c->where) {
		u8(p, 0);
		return;
	}
	ctl = c->where | (c->size >= 0 ? 4 : 0) | (c->count >= 0 ? 8 : 0) |
	      (c->slack >= 0 ? 16 : 0) | (c->entry >= 0 ? 32 : 0) |
	      (c->move >= 0 ? 64 : 0) | (c->dup >= 0 ? 128 : 0);
	u8(p, ctl);
	u16(p, c->pos);
	u8(p, c->nargs);
	for (unsigned i = 0; i < c->nargs; i++) {
		if (c->args[i].field % 8 || c->args[i].field < DATA) {
			u8(p, 0xff);
			u16(p, c->args[i].field);
		} else {
			u8(p, (c->args[i].field - DATA) / 8);
		}
		u16(p, c->args[i].len);
	}
	if (c->slack >= 0)
		u8(p, c->slack);
	for (unsigned i = 0; i < c->nargs; i++) {
		unsigned n = c->args[i].len < 255 ? c->args[i].len : 255;

		if (!c->args[i].len)
			continue;
		if (!c->args[i].bytes)
			n = 0;
		u8(p, n);
		for (unsigned j = 0; j < n; j++)
			u8(p, ((const uint8_t *)c->args[i].bytes)[j]);
	}
	if (c->dup >= 0)
		u8(p, c->dup);
	if (c->size >= 0)
		u32(p, (uint32_t)c->size);
	if (c->count >= 0)
		u32(p, (uint32_t)c->count);
	if (c->entry >= 0) {
		u8(p, c->entry);
		u16(p, c->entry_val);
	}
	if (c->move >= 0) {
		u8(p, c->move);
		u16(p, (uint16_t)c->delta);
	}
	/* validator queries on the copy (the harness checks the capture
	 * when the call names a process it knows): each argument */
	if (c->kind % 16 == 13 || ((c->who >> 2) & 3) >= 2)
		return;
	u8(p, c->queries);
	for (unsigned i = 0; i < c->queries; i++) {
		const struct arg *a = &c->args[i % c->nargs];

		u8(p, i & 1);		/* odd: the string validator */
		u8(p, (a->field - DATA) / 8);
		u16(p, i & 2 ? a->len + 1 : a->len);
		u8(p, 1);
	}
}

/* The index of an API in a profile's table, as the harness lists them:
 * by server DLL, then by number. */
static unsigned api_index(const char *prof, const char *name)
{
	const struct csr_profile *pr = csr_profile_find(prof);
	unsigned n = 0;

	for (unsigned i = 0; i < CSR_SERVER_DLL_MAX; i++)
		for (unsigned k = 0; k < pr->dlls[i].count; k++, n++)
			if (!strcmp(pr->dlls[i].apis[k].name, name))
				return n;
	fprintf(stderr, "seeds-csr: %s has no %s\n", prof, name);
	exit(1);
}

static unsigned api_count(const char *prof)
{
	const struct csr_profile *pr = csr_profile_find(prof);
	unsigned n = 0;

	for (unsigned i = 0; i < CSR_SERVER_DLL_MAX; i++)
		n += pr->dlls[i].count;
	return n;
}

static int save(const char *dir, const char *name, const struct prog *p)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(p->b, 1, p->n, f) != p->n) {
		fprintf(stderr, "seeds-csr: %s: %s\n", path, strerror(errno));
		if (f)
			fclose(f);
		return -1;
	}
	return fclose(f);
}

/* UTF-16 of an ASCII string, with its NUL. */
static unsigned wstr(uint16_t *w, const char *s)
{
	unsigned n = 0;

	while (*s)
		w[n++] = (uint8_t)*s++;
	w[n++] = 0;
	return n * 2;
}

#define API(name) api_index("ws03", name)

/* ------------------------------------------------------------------ */
/* --from-ndjson: seeds from a recording of real traffic               */
/* ------------------------------------------------------------------ */

/*
 * An lpctrace NDJSON recording (-s 512 or more) becomes one list of
 * calls per process that talked to csrd: each csrd:api record gives the
 * ApiNumber; the message csrd received for it (the lpc:receive record
 * with the same MessageId, else the api record's own snapshot) gives
 * DataLength, TotalLength and the per-API data as the client sent them;
 * CsrCaptureData, read against the client's view as csrd mapped it (the
 * lpc:view record that follows the connection request), gives where the
 * capture buffer lay, and the Data fields that point into it give its
 * arguments: their fields, and lengths from the distances between them
 * (the last one's from the smallest plausible length field; the bytes
 * themselves are in the view, which is not recorded: they are zeros).
 * Fields holding the client's pid or tid become the harness's fix-ups.
 * LPC_CLIENT_DIED and LPC_PORT_CLOSED csrd received from the process
 * end its list.  The profile is ws03 (csrd's default).
 */
#include "ndjson.h"

#define HDRSZ 40u

struct rec_client {
	int64_t csrd, pid;
	char comm[32];
	uint64_t vbase;
	struct call calls[96];
	unsigned ncalls;
};

/* The arguments of a capture buffer at cb from the message's fields. */
static void rec_capture(struct call *c, const uint8_t *m, size_t n,
			uint64_t cb)
{
	struct {
		unsigned field;
		uint64_t v;
	} a[8];
	unsigned na = 0;
	static const uint8_t zeros[255];

	for (unsigned f = DATA; f + 8 <= n && f + 8 <= MSGSZ && na < 8; f += 8) {
		uint64_t v = nd_get(m, n, f, 8);

		if (v >= cb + CSR_CAPTURE_BUFFER_HEADER_SIZE &&
		    v < cb + CSR_PORT_VIEW_SIZE) {
			unsigned i = na++;

			while (i && a[i - 1].v > v) {
				a[i] = a[i - 1];
				i--;
			}
			a[i].field = f;
			a[i].v = v;
		}
	}
	for (unsigned i = 0; i < na; i++) {
		unsigned len;

		if (i + 1 < na) {
			len = (unsigned)(a[i + 1].v - a[i].v);
		} else {
			/* The smallest length-like field not a pointer. */
			len = 0;
			for (unsigned f = DATA; f + 4 <= n && f + 4 <= MSGSZ;
			     f += 4) {
				uint32_t v = (uint32_t)nd_get(m, n, f, 4);
				bool ptr = false;

				for (unsigned k = 0; k < na; k++)
					ptr |= f >= a[k].field &&
					       f < a[k].field + 8;
				if (!ptr && v >= 2 && v <= 0x1000 &&
				    (!len || v < len))
					len = v;
			}
			if (!len)
				len = 8;
		}
		if (len > 0x3fff)
			len = 0x3fff;
		c->args[c->nargs].field = a[i].field;
		c->args[c->nargs].len = len;
		c->args[c->nargs].bytes = zeros;
		c->nargs++;
	}
	if (na)
		c->where = 1;
}

static void rec_call(struct rec_client *cl, const struct nd_rec *api,
		     const struct nd_rec *msg, int type)
{
	struct call *c;
	const uint8_t *m = msg ? msg->payload : NULL;
	size_t n = msg ? msg->npayload : 0;
	unsigned dl, tl, got;

	if (cl->ncalls == sizeof(cl->calls) / sizeof(cl->calls[0]))
		return;
	c = &cl->calls[cl->ncalls++];
	call_init(c, 0xe0, 0);
	c->api_raw = api ? (uint32_t)api->api_number
			 : (uint32_t)nd_get(m, n, 48, 4);
	if (type == LPC_DATAGRAM)
		c->kind = 10;
	else if (type != LPC_REQUEST) {
		c->kind = 11;
		c->type = type;
	}
	dl = (unsigned)nd_get(m, n, 0, 2);
	tl = (unsigned)nd_get(m, n, 2, 2);
	if (dl > MSGSZ - HDRSZ)
		dl = MSGSZ - HDRSZ;
	c->dl = dl;
	c->tl = tl > HDRSZ + dl ? (tl - HDRSZ - dl) & 0xff : 0;
	/* Data as delivered: header + ALIGN4(DataLength), what was
	 * snapped of it. */
	got = HDRSZ + ((dl + 3) & ~3u);
	if (got > n)
		got = (unsigned)n;
	c->ndata = got > DATA ? got - DATA : 0;
	if (c->ndata > sizeof(c->data))
		c->ndata = sizeof(c->data);
	memcpy(c->data, m + DATA, c->ndata);
	for (unsigned s = 0; s + 8 <= c->ndata && c->nfix < 3; s += 8) {
		uint64_t v;

		memcpy(&v, c->data + s, 8);
		if (v && v == (uint64_t)cl->pid)
			fixup(c, DATA + s, FIX_PID);
		else if (v && api && v == (uint64_t)api->client_tid)
			fixup(c, DATA + s, FIX_TID);
	}
	if (type == LPC_REQUEST || type == LPC_DATAGRAM) {
		uint64_t cb = nd_get(m, n, 40, 8);

		if (cb && cl->vbase && cb >= cl->vbase &&
		    cb + CSR_CAPTURE_BUFFER_HEADER_SIZE <=
			    cl->vbase + CSR_PORT_VIEW_SIZE) {
			rec_capture(c, m, got, cb);
			c->pos = (unsigned)(cb - cl->vbase);
		}
	}
}

static int from_ndjson(const char *path, const char *dir)
{
	static struct rec_client cls[64];
	unsigned ncl = 0, written = 0;
	struct nd_rec *r;
	size_t n;
	int bad = 0;

	r = nd_load(path, &n, "seeds-csr");
	mkdir(dir, 0755);
	for (size_t i = 0; i < n; i++) {
		const struct nd_rec *x = &r[i];
		struct rec_client *cl = NULL;
		bool is_api = !strcmp(x->provider, "csrd") &&
			      !strcmp(x->probe, "api");
		bool is_notice = !strcmp(x->provider, "lpc") &&
				 !strcmp(x->probe, "receive") &&
				 (x->type == LPC_CLIENT_DIED ||
				  x->type == LPC_PORT_CLOSED);
		bool is_creq = !strcmp(x->provider, "lpc") &&
			       !strcmp(x->probe, "receive") &&
			       x->type == LPC_CONNECTION_REQUEST &&
			       !strcmp(x->comm, "csrd");

		if (!strcmp(x->provider, "lpc") && !strcmp(x->probe, "view") &&
		    x->which == 1 && x->mapped) {
			/* csrd mapping a client's view: the connection
			 * request this thread received last. */
			for (size_t j = i; j-- > 0;)
				if (r[j].pid == x->pid && r[j].tid == x->tid &&
				    !strcmp(r[j].probe, "receive") &&
				    r[j].type == LPC_CONNECTION_REQUEST) {
					for (unsigned k = ncl; k-- > 0;)
						if (cls[k].csrd == x->pid &&
						    cls[k].pid == r[j].client_pid) {
							cls[k].vbase = x->base;
							break;
						}
					break;
				}
			continue;
		}
		if (!is_api && !is_notice && !is_creq)
			continue;
		if (is_notice) {
			/* Only a process csrd dispatched for. */
			for (unsigned k = ncl; k-- > 0 && !cl;)
				if (cls[k].csrd == x->pid &&
				    cls[k].pid == x->client_pid)
					cl = &cls[k];
			if (cl && x->has_payload)
				rec_call(cl, NULL, x, (int)x->type);
			continue;
		}
		for (unsigned k = ncl; k-- > 0 && !cl;)
			if (cls[k].csrd == x->pid && cls[k].pid == x->client_pid)
				cl = &cls[k];
		if (is_creq || !cl) {
			if (ncl == sizeof(cls) / sizeof(cls[0]))
				continue;
			cl = &cls[ncl++];
			memset(cl, 0, sizeof(*cl));
			cl->csrd = x->pid;
			cl->pid = x->client_pid;
			snprintf(cl->comm, sizeof(cl->comm), "client");
			for (size_t j = 0; j < n; j++)
				if (r[j].pid == x->client_pid && r[j].comm[0] &&
				    !strcmp(r[j].probe, "connect_request")) {
					snprintf(cl->comm, sizeof(cl->comm), "%s",
						 r[j].comm);
					break;
				}
			if (is_creq)
				continue;
		}
		{
			const struct nd_rec *msg = NULL;
			int type = LPC_REQUEST;

			for (size_t j = i; j-- > 0;)
				if (r[j].pid == x->pid && r[j].has_payload &&
				    !strcmp(r[j].probe, "receive") &&
				    r[j].msgid == x->msgid &&
				    r[j].client_pid == x->client_pid) {
					msg = &r[j];
					type = (int)r[j].type;
					break;
				}
			if (!msg && x->has_payload)
				msg = x;
			if (msg)
				rec_call(cl, x, msg, type);
		}
	}
	for (unsigned k = 0; k < ncl; k++) {
		for (unsigned first = 0, part = 0; first < cls[k].ncalls;
		     first += 24, part++) {
			static struct prog p;
			char name[96], comm[32];
			size_t m = 0;

			for (const char *s = cls[k].comm; *s && m + 1 < sizeof(comm); s++)
				comm[m++] = (*s >= 'a' && *s <= 'z') ||
						    (*s >= '0' && *s <= '9') ||
						    *s == '-'
					    ? *s
					    : '_';
			comm[m] = 0;
			memset(&p, 0, sizeof(p));
			u8(&p, 0);	/* ws03, open, a real connection */
			for (unsigned i = first; i < cls[k].ncalls && i < first + 24;
			     i++)
				emit(&p, &cls[k].calls[i]);
			snprintf(name, sizeof(name), "rec-csr-%s-%u-%u", comm, k,
				 part);
			bad |= save(dir, name, &p);
			written += !bad;
		}
	}
	fprintf(stderr, "seeds-csr: %s: %zu records, %u csrd clients, %u seeds "
		"in %s\n", path, n, ncl, written, dir);
	free(r);
	return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
	static uint16_t title[64], text[64], dev[16], target[64], nls[16];
	static uint8_t info[64], buf[4096];
	const char *dir;
	struct prog p;
	struct call c;
	int bad = 0;
	unsigned n;

	if (argc == 4 && !strcmp(argv[1], "--from-ndjson"))
		return from_ndjson(argv[2], argv[3]);
	if (argc != 2) {
		fprintf(stderr, "usage: %s OUTDIR\n"
				"       %s --from-ndjson RECORDING OUTDIR\n",
			argv[0], argv[0]);
		return 2;
	}
	dir = argv[1];
	mkdir(dir, 0755);

	/* 1. A console session: alloc with a title, title get/set, modes,
	 * writes (ANSI and Unicode, processed and raw), input queued and
	 * read, a read that waits and is completed by later input, a
	 * second handle opened and closed, the console freed. */
	memset(&p, 0, sizeof(p));
	u8(&p, 0 | 0 << 3);		/* ws03, open, a real connection */
	call_init(&c, API("ConsolepAlloc"), sizeof(CONSOLE_ALLOCCONSOLE));
	n = wstr(title, "fuzz console") - 2;
	put32(&c, OFF(Data.AllocConsoleRequest.TitleLength), n);
	arg(&c, OFF(Data.AllocConsoleRequest.Title), title, n);
	c.queries = 2;
	emit(&p, &c);
	call_init(&c, API("ConsolepGetTitle"), sizeof(CONSOLE_GETSETCONSOLETITLE));
	put32(&c, OFF(Data.TitleRequest.Length), 64);
	arg(&c, OFF(Data.TitleRequest.Title), NULL, 64);
	emit(&p, &c);
	call_init(&c, API("ConsolepSetTitle"), sizeof(CONSOLE_GETSETCONSOLETITLE));
	n = wstr(title, "renamed") - 2;
	put32(&c, OFF(Data.TitleRequest.Length), n);
	arg(&c, OFF(Data.TitleRequest.Title), title, n);
	emit(&p, &c);
	call_init(&c, API("ConsolepGetMode"), sizeof(CONSOLE_GETSETCONSOLEMODE));
	put32(&c, OFF(Data.ConsoleModeRequest.Handle), 3);
	emit(&p, &c);
	call_init(&c, API("ConsolepSetMode"), sizeof(CONSOLE_GETSETCONSOLEMODE));
	put32(&c, OFF(Data.ConsoleModeRequest.Handle), 7);
	put32(&c, OFF(Data.ConsoleModeRequest.Mode), 0);	/* raw output */
	emit(&p, &c);
	call_init(&c, API("ConsolepWriteConsole"), sizeof(CONSOLE_WRITECONSOLE));
	put32(&c, OFF(Data.WriteConsoleRequest.OutputHandle), 7);
	put32(&c, OFF(Data.WriteConsoleRequest.NumBytes), 12);
	arg(&c, OFF(Data.WriteConsoleRequest.Buffer), "hello\tworld\n", 12);
	emit(&p, &c);
	call_init(&c, API("ConsolepWriteConsole"), sizeof(CONSOLE_WRITECONSOLE));
	n = wstr(text, "wide \xe9") - 2;
	text[5] = 0xd83d;	/* and an unpaired surrogate */
	put32(&c, OFF(Data.WriteConsoleRequest.OutputHandle), 7);
	put32(&c, OFF(Data.WriteConsoleRequest.NumBytes), n);
	c.data[OFF(Data.WriteConsoleRequest.Unicode) - DATA] = 1;
	arg(&c, OFF(Data.WriteConsoleRequest.Buffer), text, n);
	emit(&p, &c);
	call_init(&c, API("ConsolepReadConsole"), sizeof(CONSOLE_READCONSOLE));
	put32(&c, OFF(Data.ReadConsoleRequest.InputHandle), 3);
	put32(&c, OFF(Data.ReadConsoleRequest.NumBytes), 32);
	arg(&c, OFF(Data.ReadConsoleRequest.Buffer), NULL, 32);
	c.pos = 1024;			/* waits: its buffer stays put */
	emit(&p, &c);
	call_init(&c, API("ConsolepWriteConsoleInput"), sizeof(CONSOLE_WRITEINPUT));
	put32(&c, OFF(Data.WriteInputRequest.InputHandle), 3);
	put32(&c, OFF(Data.WriteInputRequest.NumBytes), 10);
	arg(&c, OFF(Data.WriteInputRequest.Buffer), "line one\nx", 10);
	c.pos = 2048;
	emit(&p, &c);
	call_init(&c, API("ConsolepReadConsole"), sizeof(CONSOLE_READCONSOLE));
	put32(&c, OFF(Data.ReadConsoleRequest.InputHandle), 3);
	put32(&c, OFF(Data.ReadConsoleRequest.NumBytes), 16);
	c.data[OFF(Data.ReadConsoleRequest.Unicode) - DATA] = 1;
	arg(&c, OFF(Data.ReadConsoleRequest.Buffer), NULL, 16);
	c.pos = 3072;
	emit(&p, &c);
	call_init(&c, API("ConsolepOpenConsole"), sizeof(CONSOLE_OPENCONSOLE));
	put32(&c, OFF(Data.OpenConsoleRequest.HandleType), 1);
	emit(&p, &c);
	call_init(&c, API("ConsolepReadConsole"), sizeof(CONSOLE_READCONSOLE));
	put32(&c, OFF(Data.ReadConsoleRequest.InputHandle), 11);
	put32(&c, OFF(Data.ReadConsoleRequest.NumBytes), 8);
	arg(&c, OFF(Data.ReadConsoleRequest.Buffer), NULL, 8);
	c.pos = 4096;
	emit(&p, &c);
	call_init(&c, API("ConsolepCloseHandle"), sizeof(CONSOLE_CLOSEHANDLE));
	put32(&c, OFF(Data.CloseHandleRequest.Handle), 11);
	emit(&p, &c);
	call_init(&c, API("ConsolepReadConsole"), sizeof(CONSOLE_READCONSOLE));
	put32(&c, OFF(Data.ReadConsoleRequest.InputHandle), 3);
	put32(&c, OFF(Data.ReadConsoleRequest.NumBytes), 8);
	arg(&c, OFF(Data.ReadConsoleRequest.Buffer), NULL, 8);
	c.pos = 5120;
	emit(&p, &c);
	call_init(&c, API("ConsolepFree"), 0);
	emit(&p, &c);
	bad |= save(dir, "console-session", &p);

	/* 2. BASESRV: connect, temp files, shutdown parameters, NLS values,
	 * DOS devices defined and removed, a thread and a process
	 * registered, the process exiting last. */
	memset(&p, 0, sizeof(p));
	u8(&p, 0 | 0x40);		/* ws03, the parked thread known */
	call_init(&c, API("CsrpClientConnect"), sizeof(CSR_CLIENT_CONNECT));
	{
		BASESRV_API_CONNECTINFO bi = { .ExpectedVersion =
						       BASESRV_VERSION };

		memcpy(info, &bi, sizeof(bi));
	}
	put32(&c, OFF(Data.CsrClientConnect.ServerId), 1);
	put32(&c, OFF(Data.CsrClientConnect.ConnectionInfoSize),
	      sizeof(BASESRV_API_CONNECTINFO));
	arg(&c, OFF(Data.CsrClientConnect.ConnectionInfo), info,
	    sizeof(BASESRV_API_CONNECTINFO));
	emit(&p, &c);
	call_init(&c, API("BasepGetTempFile"), sizeof(BASE_GET_TEMP_FILE));
	emit(&p, &c);
	call_init(&c, API("BasepSetProcessShutdownParam"),
		  sizeof(BASE_GETSET_PROCESS_SHUTDOWN_PARAMS));
	put32(&c, OFF(Data.ShutdownParametersRequest.ShutdownLevel), 0x4ff);
	put32(&c, OFF(Data.ShutdownParametersRequest.ShutdownFlags), 1);
	emit(&p, &c);
	call_init(&c, API("BasepGetProcessShutdownParam"),
		  sizeof(BASE_GETSET_PROCESS_SHUTDOWN_PARAMS));
	emit(&p, &c);
	call_init(&c, API("BasepNlsSetUserInfo"), sizeof(BASE_NLS_SET_USER_INFO));
	n = wstr(nls, "|");
	put32(&c, OFF(Data.NlsSetUserInfo.LCType), LOCALE_SLIST);
	put32(&c, OFF(Data.NlsSetUserInfo.DataLength), n);
	arg(&c, OFF(Data.NlsSetUserInfo.pData), nls, n);
	c.queries = 3;
	emit(&p, &c);
	call_init(&c, API("BasepNlsGetUserInfo"), sizeof(BASE_NLS_GET_USER_INFO));
	put32(&c, OFF(Data.NlsGetUserInfo.SizeOfNlsUserInfo),
	      sizeof(NLS_USER_INFO));
	arg(&c, OFF(Data.NlsGetUserInfo.NlsUserInfo), NULL,
	    sizeof(NLS_USER_INFO));
	emit(&p, &c);
	for (int rm = 0; rm < 3; rm++) {
		unsigned dn = wstr(dev, "FUZZ:") - 2, tn;

		call_init(&c, API("BasepDefineDosDevice"),
			  sizeof(BASE_DEFINE_DOS_DEVICE));
		tn = wstr(target, rm == 1 ? "\\??\\C:\\other" : "\\??\\C:\\tmp") - 2;
		put32(&c, OFF(Data.DefineDosDeviceRequest.Flags),
		      rm == 2 ? DDD_REMOVE_DEFINITION | DDD_EXACT_MATCH_ON_REMOVE
			      : DDD_RAW_TARGET_PATH);
		put16(&c, OFF(Data.DefineDosDeviceRequest.DeviceName.Length), dn);
		put16(&c, OFF(Data.DefineDosDeviceRequest.DeviceName.MaximumLength),
		      dn + 2);
		put16(&c, OFF(Data.DefineDosDeviceRequest.TargetPath.Length), tn);
		put16(&c, OFF(Data.DefineDosDeviceRequest.TargetPath.MaximumLength),
		      tn + 2);
		arg(&c, OFF(Data.DefineDosDeviceRequest.DeviceName.Buffer), dev, dn);
		arg(&c, OFF(Data.DefineDosDeviceRequest.TargetPath.Buffer), target,
		    tn);
		emit(&p, &c);
	}
	call_init(&c, API("BasepCreateThread"), sizeof(BASE_CREATE_THREAD));
	fixup(&c, OFF(Data.CreateThreadRequest.ClientId.UniqueProcess), FIX_PID);
	fixup(&c, OFF(Data.CreateThreadRequest.ClientId.UniqueThread),
	      FIX_PARKED);
	emit(&p, &c);
	call_init(&c, API("BasepCreateProcess"), sizeof(BASE_CREATE_PROCESS));
	fixup(&c, OFF(Data.CreateProcessRequest.ClientId.UniqueProcess),
	      FIX_PID1);
	fixup(&c, OFF(Data.CreateProcessRequest.ClientId.UniqueThread),
	      FIX_PID1);
	emit(&p, &c);
	call_init(&c, API("BasepExitProcess"), sizeof(BASE_EXIT_PROCESS));
	put32(&c, OFF(Data.ExitProcessRequest.uExitCode), 3);
	emit(&p, &c);
	bad |= save(dir, "base-session", &p);

	/* 3. CSRSRV and USERSRV, strict registration: a thread connecting,
	 * alertable, priority classes, the per-DLL connects, shutting
	 * down (refused), ending pid 1 (a CSR client here; the signal is
	 * intercepted) and this very process. */
	memset(&p, 0, sizeof(p));
	u8(&p, 0 | 4 | 0x80);		/* ws03, strict, pid 1 known */
	call_init(&c, API("CsrpThreadConnect"), 0);
	c.who = 1;			/* the parked, unknown thread */
	emit(&p, &c);
	call_init(&c, API("CsrpIdentifyAlertable"),
		  sizeof(CSR_IDENTIFY_ALTERTABLE_THREAD));
	fixup(&c, OFF(Data.IdentifyAlertable.Cid.UniqueProcess), FIX_PID);
	fixup(&c, OFF(Data.IdentifyAlertable.Cid.UniqueThread), FIX_TID);
	emit(&p, &c);
	call_init(&c, API("CsrpSetPriorityClass"), sizeof(CSR_SET_PRIORITY_CLASS));
	fixup(&c, OFF(Data.SetPriorityClass.ProcessHandle), FIX_CURRENT);
	put32(&c, OFF(Data.SetPriorityClass.PriorityClass),
	      CSR_PRIORITY_CLASS_BACKGROUND);
	emit(&p, &c);
	call_init(&c, API("CsrpSetPriorityClass"), sizeof(CSR_SET_PRIORITY_CLASS));
	fixup(&c, OFF(Data.SetPriorityClass.ProcessHandle), FIX_PID1);
	put32(&c, OFF(Data.SetPriorityClass.PriorityClass),
	      CSR_PRIORITY_CLASS_FOREGROUND);
	emit(&p, &c);
	{
		CONSRV_API_CONNECTINFO ci = { 0 };
		USERSRV_API_CONNECTINFO ui = { .ulVersion = USERSRV_VERSION };

		call_init(&c, API("CsrpClientConnect"), sizeof(CSR_CLIENT_CONNECT));
		memcpy(info, &ci, sizeof(ci));
		put32(&c, OFF(Data.CsrClientConnect.ServerId), 2);
		put32(&c, OFF(Data.CsrClientConnect.ConnectionInfoSize),
		      sizeof(ci));
		arg(&c, OFF(Data.CsrClientConnect.ConnectionInfo), info,
		    sizeof(ci));
		emit(&p, &c);
		call_init(&c, API("CsrpClientConnect"), sizeof(CSR_CLIENT_CONNECT));
		memcpy(info + 32, &ui, sizeof(ui));
		put32(&c, OFF(Data.CsrClientConnect.ServerId), 3);
		put32(&c, OFF(Data.CsrClientConnect.ConnectionInfoSize),
		      sizeof(ui));
		arg(&c, OFF(Data.CsrClientConnect.ConnectionInfo), info + 32,
		    sizeof(ui));
		emit(&p, &c);
	}
	call_init(&c, API("UserpExitWindowsEx"), sizeof(USER_EXIT_REACTOS));
	put32(&c, OFF(Data.ExitReactosRequest.Flags), EWX_SHUTDOWN);
	emit(&p, &c);
	call_init(&c, API("UserpEndTask"), sizeof(USER_END_TASK));
	fixup(&c, OFF(Data.EndTaskRequest.ProcessId), FIX_PID1);
	c.data[OFF(Data.EndTaskRequest.Force) - DATA] = 1;
	emit(&p, &c);
	call_init(&c, API("UserpEndTask"), sizeof(USER_END_TASK));
	fixup(&c, OFF(Data.EndTaskRequest.ProcessId), FIX_PID);
	emit(&p, &c);
	bad |= save(dir, "csrsrv-usersrv-strict", &p);

	/* 4. Every API of every profile, a call each with a small capture
	 * buffer of two arguments (Data slots 1 and 2). */
	{
		static const char *const profs[4] = { "ws03", "xp", "win7",
						      "nt4" };

		for (unsigned pi = 0; pi < 4; pi++) {
			unsigned total = api_count(profs[pi]);

			for (unsigned first = 0, part = 0; first < total;
			     first += 20, part++) {
				char name[64];

				memset(&p, 0, sizeof(p));
				u8(&p, pi);
				for (unsigned k = first; k < total && k < first + 20;
				     k++) {
					call_init(&c, k, 48);
					memset(buf, 0x41 + (k & 15), 64);
					put32(&c, DATA + 16, 16);
					arg(&c, DATA + 8, buf, 16);
					arg(&c, DATA + 24, buf + 16, 8);
					c.pos = 128 * (k - first);
					emit(&p, &c);
				}
				snprintf(name, sizeof(name), "all-apis-%s-%u",
					 profs[pi], part);
				bad |= save(dir, name, &p);
			}
		}
	}

	/* 5. Capture buffers at the edges of spec 12.6: ending one byte
	 * before the view's end (accepted) and at it (refused), a header
	 * reaching the bound, a pointer at the last allowed place and one
	 * past it, a field recorded twice, offsets at 63/64/368/376, a
	 * PointerCount too large, a Size that wraps, buffers outside the
	 * view; a 4 KiB view.  NlsSetUserInfo carries them. */
	{
		static const struct {
			const char *name;
			unsigned view;	/* bits 3..5 of the set-up byte */
			int end_gap;	/* ViewEnd - CB */
			int64_t size;
			int count, dup, move, delta, entry, val;
		} e[] = {
			{ "cb-ends-before-view-end", 1, 96, 95, -1, -1, -1, 0, -1, 0 },
			{ "cb-ends-at-view-end", 1, 96, 96, -1, -1, -1, 0, -1, 0 },
			{ "cb-header-at-bound", 1, 32, -1, -1, -1, -1, 0, -1, 0 },
			{ "pointer-last-allowed", 1, 200, 80, -1, -1, 0, 32, -1, 0 },
			{ "pointer-past-last", 1, 200, 80, -1, -1, 0, 33, -1, 0 },
			{ "pointer-before-first", 1, 200, -1, -1, -1, 0, -8, -1, 0 },
			{ "field-recorded-twice", 1, 300, -1, -1, 0, -1, 0, -1, 0 },
			{ "offset-63", 1, 300, -1, -1, -1, -1, 0, 0, 63 },
			{ "offset-64", 1, 300, -1, -1, -1, -1, 0, 0, 64 },
			{ "offset-368", 1, 300, -1, -1, -1, -1, 0, 0, 368 },
			{ "offset-376", 1, 300, -1, -1, -1, -1, 0, 0, 376 },
			{ "count-0x10000", 1, 300, -1, 0x10000, -1, -1, 0, -1, 0 },
			{ "count-past-size", 1, 300, -1, 20, -1, -1, 0, -1, 0 },
			{ "size-wraps", 1, 300, 0xfffffff0, -1, -1, -1, 0, -1, 0 },
			{ "view-4k-cb-at-end", 2, 56, -1, -1, -1, -1, 0, -1, 0 },
			{ "view-100-bytes", 7, 90, -1, -1, -1, -1, 0, -1, 0 },
			{ "real-view-cb-at-end", 0, 96, 95, -1, -1, -1, 0, -1, 0 },
		};

		for (unsigned i = 0; i < sizeof(e) / sizeof(e[0]); i++) {
			char name[96];

			memset(&p, 0, sizeof(p));
			u8(&p, e[i].view << 3);
			call_init(&c, API("BasepNlsSetUserInfo"),
				  sizeof(BASE_NLS_SET_USER_INFO));
			n = wstr(nls, ";");
			put32(&c, OFF(Data.NlsSetUserInfo.LCType), LOCALE_SLIST);
			put32(&c, OFF(Data.NlsSetUserInfo.DataLength), n);
			arg(&c, OFF(Data.NlsSetUserInfo.pData), nls, n);
			c.where = 2;
			c.pos = e[i].end_gap;
			c.size = e[i].size;
			c.count = e[i].count;
			c.dup = e[i].dup;
			c.move = e[i].move;
			c.delta = e[i].delta;
			c.entry = e[i].entry;
			c.entry_val = e[i].val;
			c.queries = 4;
			emit(&p, &c);
			snprintf(name, sizeof(name), "capture-%s", e[i].name);
			bad |= save(dir, name, &p);
		}
	}

	/* 6. Capture buffers outside the view (the client's own address,
	 * just before, at the end, csrd's heap, the top of the address
	 * space, low addresses). */
	memset(&p, 0, sizeof(p));
	u8(&p, 0);
	for (unsigned w = 0; w < 6; w++) {
		call_init(&c, API("BasepGetTempFile"), sizeof(BASE_GET_TEMP_FILE));
		emit(&p, &c);
		p.n--;			/* replace "no capture buffer" */
		u8(&p, 3);		/* a chosen address */
		u8(&p, w);
		u8(&p, 0);		/* no validator queries */
	}
	bad |= save(dir, "capture-outside-the-view", &p);

	/* 7. The message types csrd's loop handles: a datagram call, an
	 * exception of a known thread (its process is "terminated": the
	 * signal is intercepted), LPC_PORT_CLOSED, LPC_CLIENT_DIED,
	 * a connection request, an unknown PortContext, an unknown thread;
	 * numbers outside the tables. */
	memset(&p, 0, sizeof(p));
	u8(&p, 0 | 0x80);
	call_init(&c, API("BasepSetProcessShutdownParam"),
		  sizeof(BASE_GETSET_PROCESS_SHUTDOWN_PARAMS));
	c.kind = 10;			/* datagram */
	put32(&c, OFF(Data.ShutdownParametersRequest.ShutdownLevel), 0x100);
	emit(&p, &c);
	for (unsigned dll = 0; dll < 5; dll++) {
		call_init(&c, 0xe1, 0);	/* one past each table */
		c.api_dll = dll;
		emit(&p, &c);
		call_init(&c, 0xe2, 0);	/* just below its base */
		c.api_dll = dll;
		emit(&p, &c);
	}
	call_init(&c, 0xe4, 0);		/* server index 5 */
	emit(&p, &c);
	call_init(&c, API("CsrpThreadConnect"), 0);
	c.who = 2;			/* a thread id that is no thread */
	c.tid_raw = 0x7ffffff0;
	emit(&p, &c);
	call_init(&c, API("BasepGetTempFile"), 4);
	c.who = 3 << 2;			/* PortContext NULL */
	emit(&p, &c);
	call_init(&c, API("BasepGetTempFile"), 4);
	c.kind = 11;
	c.type = LPC_CLIENT_DIED;
	emit(&p, &c);
	call_init(&c, API("BasepGetTempFile"), 4);
	c.kind = 11;
	c.type = LPC_CONNECTION_REQUEST;
	emit(&p, &c);
	call_init(&c, API("BasepGetTempFile"), 4);
	c.kind = 11;
	c.type = LPC_EXCEPTION;
	emit(&p, &c);
	call_init(&c, API("BasepGetTempFile"), 4);
	c.kind = 11;
	c.type = LPC_PORT_CLOSED;
	c.who = 1 << 2;			/* pid 1's connection */
	emit(&p, &c);
	call_init(&c, API("BasepGetTempFile"), 4);
	c.kind = 12;			/* straight to csr_dispatch */
	emit(&p, &c);
	call_init(&c, API("BasepGetTempFile"), 4);
	c.kind = 13;			/* from the server itself */
	emit(&p, &c);
	bad |= save(dir, "message-types", &p);

	return bad ? 1 : 0;
}
