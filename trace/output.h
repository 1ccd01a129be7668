/* SPDX-License-Identifier: MIT */
/*
 * Output formats.  Every format gets the same records, in ring-buffer
 * order, with the decoder's port names, and a summary at the end.
 */
#ifndef LPCTRACE_OUTPUT_H
#define LPCTRACE_OUTPUT_H

#include <stdint.h>
#include <stdio.h>

#include "decode.h"

enum output_fmt {
	OUT_TEXT,	/* aligned columns (out_text.c) */
	OUT_NDJSON,	/* one JSON object per event (out_ndjson.c) */
	OUT_PERFETTO,	/* Chrome/Perfetto trace-event JSON (out_perfetto.c) */
	OUT_PCAPNG,	/* pcapng, LINKTYPE_USER0 (out_pcapng.c) */
};

struct output_opts {
	unsigned snaplen;	/* hexdump/payload bytes to show (text) */
	uint64_t t0;		/* CLOCK_MONOTONIC ns of the trace's start */
	int64_t realtime_off;	/* CLOCK_REALTIME - CLOCK_MONOTONIC, ns */
	int verbose;
};

/* What the trace saw, for the closing lines of each format. */
struct output_summary {
	uint64_t events;		/* records received */
	uint64_t drops[LPCT_DROP_MAX];	/* kernel-side drop counters */
	uint64_t duration_ns;
};

struct output;

/* Format-specific state and callbacks (one struct per out_*.c). */
struct output_ops {
	const char *name;	/* "text", "ndjson", "perfetto", "pcapng" */
	/* Writes any header; returns 0 or -errno. */
	int (*begin)(struct output *o);
	/* One record; returns 0 or -errno (a write error ends the trace). */
	int (*event)(struct output *o, const struct lpct_event *e);
	/* Writes any trailer and frees o->priv; returns 0 or -errno. */
	int (*end)(struct output *o, const struct output_summary *s);
};

struct output {
	const struct output_ops *ops;
	FILE *f;
	const struct portnames *pn;
	struct output_opts opts;
	void *priv;
};

extern const struct output_ops out_text_ops;
extern const struct output_ops out_ndjson_ops;
extern const struct output_ops out_perfetto_ops;
extern const struct output_ops out_pcapng_ops;

/* The format called name, or -1. */
int output__fmt_by_name(const char *name);

/*
 * Opens path ("-" or NULL: stdout) and writes the header.  NULL and errno
 * on failure.  The caller keeps pn alive until output__close().
 */
struct output *output__open(enum output_fmt fmt, const char *path,
			    const struct portnames *pn,
			    const struct output_opts *opts);
int output__event(struct output *o, const struct lpct_event *e);
/* Writes the trailer, closes the file (not stdout), frees o.  NULL-safe. */
int output__close(struct output *o, const struct output_summary *s);

#endif
