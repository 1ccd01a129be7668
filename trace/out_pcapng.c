/* SPDX-License-Identifier: MIT */
/*
 * pcapng: a Section Header Block, one Interface Description Block of link
 * type LINKTYPE_USER0 with nanosecond timestamps, an Enhanced Packet Block
 * per record and, at the end, an Interface Statistics Block with the
 * record and drop counts.  The packet is the record behind a fixed
 * little-endian pseudo-header (docs/lpctrace-formats.md has the layout;
 * trace/wireshark/lpc.lua dissects it).
 *
 * Everything is written little-endian, whatever the host: the SHB's
 * byte-order magic says so to readers (pcapng spec, section 4.1).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"

/* pcapng block types and option codes (draft-ietf-opsawg-pcapng). */
#define BT_SHB 0x0a0d0d0a
#define BT_IDB 0x00000001
#define BT_ISB 0x00000005
#define BT_EPB 0x00000006
#define BYTE_ORDER_MAGIC 0x1a2b3c4d

#define OPT_ENDOFOPT 0
#define OPT_COMMENT 1
#define SHB_USERAPPL 4
#define IF_NAME 2
#define IF_DESCRIPTION 3
#define IF_TSRESOL 9
#define ISB_STARTTIME 2
#define ISB_ENDTIME 3
#define ISB_IFRECV 4
#define ISB_IFDROP 5

#define LINKTYPE_USER0 147

/* The pseudo-header (version 1).  Offsets past LPCT_ARGS_OFF shift by
 * 8 * nargs. */
#define LPCT_MAGIC "LPCT"
#define LPCT_VERSION 1
#define LPCT_ARGS_OFF 32
#define LPCT_FIXED_LEN (LPCT_ARGS_OFF + LPCT_COMM_LEN + LPCT_NAME_LEN + 4)
#define LPCT_PKT_MAX (LPCT_FIXED_LEN + 8 * LPCT_NARGS + LPCT_SNAP_MAX)

/* An EPB: 28 bytes of header, the packet, a comment, the trailer. */
#define COMMENT_MAX 200
#define BLOCK_MAX (28 + LPCT_PKT_MAX + 4 + COMMENT_MAX + 3 + 4 + 4)

/* A block being built: little-endian puts that stop at the end. */
struct blk {
	size_t n;
	bool overflow;
	uint8_t b[BLOCK_MAX];
};

static void put(struct blk *k, const void *p, size_t n)
{
	if (k->overflow || n > sizeof(k->b) - k->n) {
		k->overflow = true;
		return;
	}
	memcpy(k->b + k->n, p, n);
	k->n += n;
}

static void put_zero(struct blk *k, size_t n)
{
	static const uint8_t zero[8];

	while (n) {
		size_t c = n < sizeof(zero) ? n : sizeof(zero);

		put(k, zero, c);
		n -= c;
	}
}

static void put_u16(struct blk *k, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)v, (uint8_t)(v >> 8) };

	put(k, b, sizeof(b));
}

static void put_u32(struct blk *k, uint32_t v)
{
	uint8_t b[4];

	for (int i = 0; i < 4; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	put(k, b, sizeof(b));
}

static void put_u64(struct blk *k, uint64_t v)
{
	uint8_t b[8];

	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	put(k, b, sizeof(b));
}

/* Timestamps are two 32-bit words, the upper one first (spec 4.3). */
static void put_ts(struct blk *k, uint64_t ts)
{
	put_u32(k, (uint32_t)(ts >> 32));
	put_u32(k, (uint32_t)ts);
}

static void pad32(struct blk *k)
{
	put_zero(k, (4 - (k->n & 3)) & 3);
}

/* One option: code, length, value padded to 32 bits (spec 3.5). */
static void put_opt(struct blk *k, uint16_t code, const void *p, size_t len)
{
	put_u16(k, code);
	put_u16(k, (uint16_t)len);
	put(k, p, len);
	pad32(k);
}

static void put_opt_str(struct blk *k, uint16_t code, const char *s)
{
	put_opt(k, code, s, strlen(s));
}

static void put_opt_u64(struct blk *k, uint16_t code, uint64_t v)
{
	put_u16(k, code);
	put_u16(k, 8);
	put_u64(k, v);
}

static void put_opt_ts(struct blk *k, uint16_t code, uint64_t ts)
{
	put_u16(k, code);
	put_u16(k, 8);
	put_ts(k, ts);
}

static void blk_start(struct blk *k, uint32_t type)
{
	k->n = 0;
	k->overflow = false;
	put_u32(k, type);
	put_u32(k, 0);		/* the length, once known */
}

/* Closes the options, writes the length at both ends, writes it out. */
static int blk_write(struct blk *k, FILE *f)
{
	uint32_t len;

	put_u16(k, OPT_ENDOFOPT);
	put_u16(k, 0);
	len = (uint32_t)(k->n + 4);
	put_u32(k, len);
	if (k->overflow)
		return -EOVERFLOW;	/* a bug: BLOCK_MAX is too small */
	for (int i = 0; i < 4; i++)
		k->b[4 + i] = (uint8_t)(len >> (8 * i));
	if (fwrite(k->b, 1, k->n, f) != k->n)
		return -EIO;
	return 0;
}

static uint64_t wall_ns(const struct output *o, uint64_t mono)
{
	int64_t t = (int64_t)mono + o->opts.realtime_off;

	return t > 0 ? (uint64_t)t : 0;
}

static int pcapng_begin(struct output *o)
{
	struct blk *k = o->priv = malloc(sizeof(*k));
	uint8_t tsresol = 9;	/* 10^-9 s */
	int r;

	if (!k)
		return -ENOMEM;
	blk_start(k, BT_SHB);
	put_u32(k, BYTE_ORDER_MAGIC);
	put_u16(k, 1);		/* major */
	put_u16(k, 0);		/* minor */
	put_u64(k, UINT64_MAX);	/* section length: not given */
	put_opt_str(k, SHB_USERAPPL, "lpctrace");
	r = blk_write(k, o->f);
	if (r)
		goto err;

	blk_start(k, BT_IDB);
	put_u16(k, LINKTYPE_USER0);
	put_u16(k, 0);		/* reserved */
	put_u32(k, LPCT_PKT_MAX);	/* snaplen */
	put_opt_str(k, IF_NAME, "lpc");
	put_opt_str(k, IF_DESCRIPTION,
		    "lpctrace records (LPCT pseudo-header v1)");
	put_opt(k, IF_TSRESOL, &tsresol, 1);
	r = blk_write(k, o->f);
	if (r)
		goto err;
	return 0;

err:
	free(k);
	o->priv = NULL;
	return r;
}

/* Printable ASCII only: an opt_comment must be UTF-8, comm need not be. */
static size_t put_clean(char *dst, size_t room, const char *src, size_t n)
{
	size_t j = 0;

	for (size_t i = 0; i < n && src[i] && j + 1 < room; i++) {
		unsigned char c = (unsigned char)src[i];

		dst[j++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	dst[j] = '\0';
	return j;
}

static void comment(const struct output *o, const struct lpct_event *e,
		    char *buf, size_t len)
{
	const struct probe_desc *d = decode__probe(e->probe);
	const char *port = o->pn ? portnames__of_event(o->pn, e) : NULL;
	char comm[LPCT_COMM_LEN + 1], name[LPCT_NAME_LEN + 2];
	int n;

	put_clean(comm, sizeof(comm), e->comm, sizeof(e->comm));
	if (d)
		n = snprintf(buf, len, "%s:%s pid %u tid %u comm %s",
			     d->provider, d->name, (unsigned)e->pid,
			     (unsigned)e->tid, comm);
	else
		n = snprintf(buf, len, "probe %u pid %u tid %u comm %s",
			     (unsigned)e->probe, (unsigned)e->pid,
			     (unsigned)e->tid, comm);
	if (port && n > 0 && (size_t)n < len) {
		put_clean(name, sizeof(name), port, LPCT_NAME_LEN + 1);
		snprintf(buf + n, len - (size_t)n, " port %s", name);
	}
}

static int pcapng_event(struct output *o, const struct lpct_event *e)
{
	const struct probe_desc *d = decode__probe(e->probe);
	unsigned nargs = d ? d->nargs : LPCT_NARGS;
	uint32_t snap = e->snap_len < LPCT_SNAP_MAX ? e->snap_len
						    : LPCT_SNAP_MAX;
	uint32_t hdr = LPCT_FIXED_LEN + 8 * nargs;
	uint32_t caplen = hdr + snap;
	struct blk *k = o->priv;
	char note[COMMENT_MAX];

	blk_start(k, BT_EPB);
	put_u32(k, 0);		/* interface */
	put_ts(k, wall_ns(o, e->ts));
	put_u32(k, caplen);
	put_u32(k, caplen);	/* original length */

	put(k, LPCT_MAGIC, 4);
	put_u16(k, LPCT_VERSION);
	put_u16(k, (uint16_t)hdr);
	put_u16(k, e->probe);
	put_u16(k, (uint16_t)nargs);
	put_u32(k, e->pid);
	put_u32(k, e->tid);
	put_u32(k, e->uid);
	put_u64(k, e->latency);
	for (unsigned i = 0; i < nargs; i++)
		put_u64(k, (uint64_t)e->arg[i]);
	put(k, e->comm, LPCT_COMM_LEN);
	put(k, e->name, LPCT_NAME_LEN);
	put_u32(k, snap);
	put(k, e->snap, snap);
	pad32(k);

	comment(o, e, note, sizeof(note));
	put_opt_str(k, OPT_COMMENT, note);
	return blk_write(k, o->f);
}

static int pcapng_end(struct output *o, const struct output_summary *s)
{
	struct blk *k = o->priv;
	uint64_t start = wall_ns(o, o->opts.t0);
	char note[COMMENT_MAX];
	size_t n = 0;
	int r = 0;

	if (!k)
		return 0;
	/* The statistics block says how many records the kernel side
	 * lost; an aborted trace (no summary) has none to give. */
	if (s) {
		blk_start(k, BT_ISB);
		put_u32(k, 0);	/* interface */
		put_ts(k, start + s->duration_ns);
		put_opt_ts(k, ISB_STARTTIME, start);
		put_opt_ts(k, ISB_ENDTIME, start + s->duration_ns);
		put_opt_u64(k, ISB_IFRECV, s->events);
		put_opt_u64(k, ISB_IFDROP, s->drops[LPCT_DROP_RINGBUF]);
		n = (size_t)snprintf(note, sizeof(note), "lpctrace drops:");
		for (unsigned i = 0; i < LPCT_DROP_MAX && n < sizeof(note);
		     i++) {
			n += (size_t)snprintf(note + n, sizeof(note) - n,
					      " %s %llu", decode__drop_name(i),
					      (unsigned long long)s->drops[i]);
		}
		put_opt_str(k, OPT_COMMENT, note);
		r = blk_write(k, o->f);
	}
	free(k);
	o->priv = NULL;
	return r;
}

const struct output_ops out_pcapng_ops = {
	.name = "pcapng",
	.begin = pcapng_begin,
	.event = pcapng_event,
	.end = pcapng_end,
};
