/* SPDX-License-Identifier: MIT */
/* A checking pcapng reader for lpctrace's output (pcapng.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pcapng.h"

/* Block types and option codes (draft-ietf-opsawg-pcapng). */
#define BT_SHB 0x0a0d0d0au
#define BT_IDB 0x00000001u
#define BT_ISB 0x00000005u
#define BT_EPB 0x00000006u
#define BYTE_ORDER_MAGIC 0x1a2b3c4du

#define OPT_END 0
#define OPT_COMMENT 1
#define SHB_USERAPPL 4
#define IF_TSRESOL 9
#define ISB_IFRECV 4
#define ISB_IFDROP 5

/* The LPCT pseudo-header, version 1: 32 bytes, the arguments, comm (16),
 * name (64), the snap length (4), the snapped bytes. */
#define LPCT_ARGS_OFF 32
#define LPCT_FIXED 116
#define LPCT_SNAP_MAX 512

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

static int bad(char *err, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int bad(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return -1;
}

static void copy_str(char *dst, size_t cap, const uint8_t *src, size_t n)
{
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, src, n);
	dst[n] = 0;
}

/*
 * The options of a block: [o, end).  Each is code, length, value padded
 * to 32 bits; opt_endofopt ends the list (and may be omitted if the list
 * fills the block).  cb sees each one.
 */
typedef int (*opt_fn)(void *ctx, uint16_t code, const uint8_t *v,
		      uint16_t len, char *err, size_t errlen);

static int options(const uint8_t *o, const uint8_t *end, opt_fn cb, void *ctx,
		   char *err, size_t errlen)
{
	while (o < end) {
		uint16_t code, len;
		size_t padded;

		if (end - o < 4)
			return bad(err, errlen, "an option header runs past "
				   "its block");
		code = le16(o);
		len = le16(o + 2);
		if (code == OPT_END) {
			if (len)
				return bad(err, errlen, "opt_endofopt with "
					   "length %u", len);
			o += 4;
			if (o != end)
				return bad(err, errlen, "%zu bytes after "
					   "opt_endofopt",
					   (size_t)(end - o));
			return 0;
		}
		padded = ((size_t)len + 3) & ~(size_t)3;
		if ((size_t)(end - o - 4) < padded)
			return bad(err, errlen, "option %u (%u bytes) runs "
				   "past its block", code, len);
		if (cb && cb(ctx, code, o + 4, len, err, errlen))
			return -1;
		o += 4 + padded;
	}
	return 0;
}

static int shb_opt(void *ctx, uint16_t code, const uint8_t *v, uint16_t len,
		   char *err, size_t errlen)
{
	struct pcapng *p = ctx;

	(void)err;
	(void)errlen;
	if (code == SHB_USERAPPL)
		copy_str(p->userappl, sizeof(p->userappl), v, len);
	return 0;
}

static int idb_opt(void *ctx, uint16_t code, const uint8_t *v, uint16_t len,
		   char *err, size_t errlen)
{
	struct pcapng *p = ctx;

	if (code == IF_TSRESOL) {
		if (len != 1)
			return bad(err, errlen, "if_tsresol of %u bytes", len);
		p->tsresol = v[0];
	}
	return 0;
}

static int epb_opt(void *ctx, uint16_t code, const uint8_t *v, uint16_t len,
		   char *err, size_t errlen)
{
	struct pcapng_rec *r = ctx;

	(void)err;
	(void)errlen;
	if (code == OPT_COMMENT)
		copy_str(r->comment, sizeof(r->comment), v, len);
	return 0;
}

static int isb_opt(void *ctx, uint16_t code, const uint8_t *v, uint16_t len,
		   char *err, size_t errlen)
{
	struct pcapng *p = ctx;

	if (code == ISB_IFRECV || code == ISB_IFDROP) {
		if (len != 8)
			return bad(err, errlen, "isb option %u of %u bytes",
				   code, len);
		if (code == ISB_IFRECV) {
			p->isb_recv = le64(v);
			p->isb_recv_set = true;
		} else {
			p->isb_drop = le64(v);
			p->isb_drop_set = true;
		}
	} else if (code == OPT_COMMENT) {
		copy_str(p->isb_comment, sizeof(p->isb_comment), v, len);
	}
	return 0;
}

/* One EPB's body (after type and length, before the trailing length). */
static int epb(struct pcapng *p, const uint8_t *b, size_t n, char *err,
	       size_t errlen)
{
	struct pcapng_rec r;
	uint32_t caplen, origlen, hdr, snap;
	const uint8_t *pkt;
	size_t padded;

	memset(&r, 0, sizeof(r));
	if (n < 20)
		return bad(err, errlen, "EPB too short (%zu bytes)", n);
	if (le32(b) != 0)
		return bad(err, errlen, "EPB on interface %u", le32(b));
	/* The timestamp's upper 32 bits come first (spec 4.3). */
	r.ts = (uint64_t)le32(b + 4) << 32 | le32(b + 8);
	caplen = le32(b + 12);
	origlen = le32(b + 16);
	if (caplen != origlen)
		return bad(err, errlen, "EPB captured %u of %u bytes", caplen,
			   origlen);
	padded = ((size_t)caplen + 3) & ~(size_t)3;
	if (padded > n - 20)
		return bad(err, errlen, "EPB packet (%u bytes) runs past its "
			   "block", caplen);
	if (caplen > p->snaplen)
		return bad(err, errlen, "EPB packet of %u bytes, snaplen %u",
			   caplen, p->snaplen);
	for (size_t i = 20 + caplen; i < 20 + padded; i++)
		if (b[i])
			return bad(err, errlen, "EPB padding not zero");
	pkt = b + 20;
	if (caplen < LPCT_FIXED || memcmp(pkt, "LPCT", 4))
		return bad(err, errlen, "packet without the LPCT magic");
	if (le16(pkt + 4) != 1)
		return bad(err, errlen, "LPCT version %u", le16(pkt + 4));
	r.probe = le16(pkt + 8);
	r.nargs = le16(pkt + 10);
	if (r.nargs > PCAPNG_NARGS_MAX)
		return bad(err, errlen, "LPCT with %u arguments", r.nargs);
	hdr = LPCT_FIXED + 8u * r.nargs;
	if (le16(pkt + 6) != hdr)
		return bad(err, errlen, "LPCT header length %u, 116 + 8 * %u "
			   "is %u", le16(pkt + 6), r.nargs, hdr);
	if (caplen < hdr)
		return bad(err, errlen, "packet (%u bytes) shorter than its "
			   "LPCT header (%u)", caplen, hdr);
	r.pid = le32(pkt + 12);
	r.tid = le32(pkt + 16);
	r.uid = le32(pkt + 20);
	r.latency = le64(pkt + 24);
	for (unsigned i = 0; i < r.nargs; i++)
		r.arg[i] = (int64_t)le64(pkt + LPCT_ARGS_OFF + 8 * i);
	copy_str(r.comm, sizeof(r.comm), pkt + LPCT_ARGS_OFF + 8 * r.nargs,
		 16);
	r.comm[strnlen(r.comm, 16)] = 0;
	copy_str(r.name, sizeof(r.name), pkt + LPCT_ARGS_OFF + 8 * r.nargs + 16,
		 64);
	r.name[strnlen(r.name, 64)] = 0;
	snap = le32(pkt + hdr - 4);
	if (snap > LPCT_SNAP_MAX || hdr + snap != caplen)
		return bad(err, errlen, "LPCT snap length %u in a %u-byte "
			   "packet with a %u-byte header", snap, caplen, hdr);
	r.snap_len = snap;
	if (options(b + 20 + padded, b + n, epb_opt, &r, err, errlen))
		return -1;
	if (!(p->nrec & (p->nrec + 1))) {
		size_t cap = 2 * (p->nrec + 1);
		struct pcapng_rec *v = realloc(p->rec, cap * sizeof(*v));

		if (!v)
			return bad(err, errlen, "out of memory");
		p->rec = v;
	}
	p->rec[p->nrec++] = r;
	return 0;
}

static int block(struct pcapng *p, uint32_t type, const uint8_t *b, size_t n,
		 char *err, size_t errlen)
{
	switch (type) {
	case BT_SHB:
		if (p->nshb++)
			return bad(err, errlen, "a second section");
		if (n < 16)
			return bad(err, errlen, "SHB too short");
		if (le32(b) != BYTE_ORDER_MAGIC)
			return bad(err, errlen, "byte-order magic 0x%08x, not "
				   "little-endian 0x1a2b3c4d", le32(b));
		p->major = le16(b + 4);
		p->minor = le16(b + 6);
		return options(b + 16, b + n, shb_opt, p, err, errlen);
	case BT_IDB:
		if (p->nidb++)
			return bad(err, errlen, "a second interface");
		if (p->nrec)
			return bad(err, errlen, "IDB after a packet");
		if (n < 8)
			return bad(err, errlen, "IDB too short");
		p->linktype = le16(b);
		p->snaplen = le32(b + 4);
		return options(b + 8, b + n, idb_opt, p, err, errlen);
	case BT_EPB:
		if (!p->nidb)
			return bad(err, errlen, "EPB before the IDB");
		if (p->nisb)
			return bad(err, errlen, "EPB after the statistics");
		return epb(p, b, n, err, errlen);
	case BT_ISB:
		if (p->nisb++)
			return bad(err, errlen, "a second ISB");
		if (n < 12 || le32(b))
			return bad(err, errlen, "ISB too short or not for "
				   "interface 0");
		return options(b + 12, b + n, isb_opt, p, err, errlen);
	default:
		p->nother++;
		return 0;
	}
}

int pcapng__read(const char *path, struct pcapng *p, char *err,
		 size_t errlen)
{
	uint8_t *data = NULL;
	size_t len = 0, cap = 0, off = 0;
	FILE *f;
	int r = 0;

	memset(p, 0, sizeof(*p));
	p->tsresol = -1;
	f = fopen(path, "rb");
	if (!f)
		return bad(err, errlen, "%s: %s", path, strerror(errno));
	for (;;) {
		size_t got;

		if (len == cap) {
			uint8_t *nd;

			cap = cap ? 2 * cap : 65536;
			nd = realloc(data, cap);
			if (!nd) {
				fclose(f);
				free(data);
				return bad(err, errlen, "out of memory");
			}
			data = nd;
		}
		got = fread(data + len, 1, cap - len, f);
		if (!got)
			break;
		len += got;
	}
	fclose(f);
	if (len < 4 || le32(data) != BT_SHB) {
		free(data);
		return bad(err, errlen, "%zu bytes, not starting with a "
			   "Section Header Block", len);
	}
	while (off < len) {
		uint32_t type, blen;
		char why[200];

		if (len - off < 12) {
			r = bad(err, errlen, "%zu stray bytes at offset %zu",
				len - off, off);
			break;
		}
		type = le32(data + off);
		blen = le32(data + off + 4);
		if (blen < 12 || blen % 4) {
			r = bad(err, errlen, "block 0x%x at offset %zu: total "
				"length %u (at least 12, a multiple of 4)",
				type, off, blen);
			break;
		}
		if (blen > len - off) {
			r = bad(err, errlen, "block 0x%x at offset %zu: %u "
				"bytes, %zu left in the file", type, off, blen,
				len - off);
			break;
		}
		if (le32(data + off + blen - 4) != blen) {
			r = bad(err, errlen, "block 0x%x at offset %zu: "
				"trailing length %u, leading %u", type, off,
				le32(data + off + blen - 4), blen);
			break;
		}
		if (block(p, type, data + off + 8, blen - 12, why,
			  sizeof(why))) {
			r = bad(err, errlen, "block 0x%x at offset %zu: %s",
				type, off, why);
			break;
		}
		off += blen;
	}
	free(data);
	return r;
}

void pcapng__free(struct pcapng *p)
{
	if (!p)
		return;
	free(p->rec);
	p->rec = NULL;
	p->nrec = 0;
}
