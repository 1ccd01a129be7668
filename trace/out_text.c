/* SPDX-License-Identifier: MIT */
/* Text output: one aligned line per record, then its payload's hexdump. */
#include <ctype.h>
#include <errno.h>
#include <string.h>

#include "output.h"

#define HDR_FMT "%-12s %7s %7s %-15s %-16s %-22s %-28s %6s %5s %-26s %9s %s\n"
#define ROW_FMT "%-12s %7u %7u %-15s %-16s %-22s %-28s %6s %5s %-26s %9s %s\n"

static int text_begin(struct output *o)
{
	fprintf(o->f, HDR_FMT, "TIME(s)", "PID", "TID", "COMM", "EVENT",
		"PORT", "TYPE/API", "MSGID", "LEN", "STATUS", "LAT(us)",
		"DETAIL");
	return ferror(o->f) ? -EIO : 0;
}

/* Which argument fills each column (-1: none). */
struct cols {
	int type, msgid, len, status;
};

static struct cols cols_of(unsigned probe)
{
	switch (probe) {
	case LPCT_P_SEND:
		return (struct cols){ 1, 2, 4, 7 };
	case LPCT_P_RECEIVE:
		return (struct cols){ 1, 2, 6, -1 };
	case LPCT_P_REPLY:
		return (struct cols){ -1, 1, 5, 7 };
	case LPCT_P_WAIT_BEGIN:
		return (struct cols){ 1, 2, -1, -1 };
	case LPCT_P_WAIT_END:
		return (struct cols){ 1, 2, -1, 4 };
	case LPCT_P_CONNECT_REQUEST:
		return (struct cols){ -1, 1, 2, -1 };
	case LPCT_P_CONNECT_DONE:
		return (struct cols){ -1, 1, -1, 3 };
	case LPCT_P_ACCEPT:
		return (struct cols){ -1, 0, -1, 6 };
	case LPCT_P_CSR_CONNECT:
		return (struct cols){ -1, 2, -1, -1 };
	case LPCT_P_CSR_API:
		return (struct cols){ 2, 3, -1, 4 };
	case LPCT_P_REQUEST_DATA:
		return (struct cols){ -1, -1, 3, 5 };
	case LPCT_P_VIEW:
		return (struct cols){ -1, -1, 3, -1 };
	default:
		return (struct cols){ -1, -1, -1, decode__status_arg(probe) };
	}
}

static void hexdump(FILE *f, const uint8_t *p, unsigned n)
{
	for (unsigned off = 0; off < n; off += 16) {
		fprintf(f, "    %04x ", off);
		for (unsigned i = 0; i < 16; i++) {
			if (off + i < n)
				fprintf(f, " %02x", p[off + i]);
			else
				fputs("   ", f);
			if (i == 7)
				fputc(' ', f);
		}
		fputs("  |", f);
		for (unsigned i = 0; i < 16 && off + i < n; i++)
			fputc(isprint(p[off + i]) ? p[off + i] : '.', f);
		fputs("|\n", f);
	}
}

static int text_event(struct output *o, const struct lpct_event *e)
{
	const struct probe_desc *d = decode__probe(e->probe);
	char ts[32], comm[LPCT_COMM_LEN + 1], ev[32], lat[24] = "";
	char tbuf[96], mbuf[24] = "", lbuf[24] = "", sbuf[48];
	char detail[512] = "", abuf[96];
	const char *type = "", *status = "", *port;
	struct cols c;
	size_t dl = 0;

	if (!d)
		return 0;
	c = cols_of(e->probe);
	snprintf(ts, sizeof(ts), "%.6f",
		 (double)(int64_t)(e->ts - o->opts.t0) / 1e9);
	memcpy(comm, e->comm, LPCT_COMM_LEN);
	comm[LPCT_COMM_LEN] = '\0';
	snprintf(ev, sizeof(ev), "%s%s",
		 e->probe >= LPCT_P_CSR_CONNECT ? "csrd:" : "", d->name);
	port = portnames__of_event(o->pn, e);
	if (c.type >= 0 && d->fmt[c.type] == ARG_API &&
	    decode__api_name((uint32_t)e->arg[c.type]))
		type = decode__api_name((uint32_t)e->arg[c.type]);
	else if (c.type >= 0)
		type = decode__arg(e, (unsigned)c.type, tbuf, sizeof(tbuf));
	if (c.msgid >= 0)
		snprintf(mbuf, sizeof(mbuf), "%lld",
			 (long long)e->arg[c.msgid]);
	if (c.len >= 0)
		snprintf(lbuf, sizeof(lbuf), "%lld", (long long)e->arg[c.len]);
	if (c.status >= 0)
		status = decode__arg(e, (unsigned)c.status, sbuf, sizeof(sbuf));
	if (e->probe == LPCT_P_WAIT_END && e->arg[3] && !e->arg[4])
		status = "";	/* answered, nothing to say */
	if (e->latency)
		snprintf(lat, sizeof(lat), "%.1f", e->latency / 1e3);
	/* The rest as name=value, skipping what the columns show and
	 * pointers nobody reads in a live trace (-v shows them). */
	for (unsigned i = 0; i < d->nargs; i++) {
		int n;

		if (((int)i == c.type && d->fmt[i] != ARG_API) ||
		    (int)i == c.msgid || (int)i == c.len ||
		    (int)i == c.status || d->fmt[i] == ARG_STR)
			continue;
		if (!o->opts.verbose &&
		    (!strcmp(d->arg[i], "msg") || !strcmp(d->arg[i], "domain") ||
		     (!strcmp(d->arg[i], "port") && port) ||
		     (!strcmp(d->arg[i], "callback_id") && !e->arg[i])))
			continue;
		if (d->fmt[i] == ARG_API)	/* its name is in a column */
			snprintf(abuf, sizeof(abuf), "0x%x",
				 (unsigned)e->arg[i]);
		n = snprintf(detail + dl, sizeof(detail) - dl, "%s%s=%s",
			     dl ? " " : "", d->arg[i],
			     d->fmt[i] == ARG_API ? abuf
				: decode__arg(e, i, abuf, sizeof(abuf)));
		if (n < 0 || (size_t)n >= sizeof(detail) - dl)
			break;
		dl += (size_t)n;
	}
	fprintf(o->f, ROW_FMT, ts, e->pid, e->tid, comm, ev,
		port ? port : "", type, mbuf, lbuf, status, lat, detail);
	if (e->snap_len)
		hexdump(o->f, e->snap,
			e->snap_len < o->opts.snaplen ? e->snap_len
						      : o->opts.snaplen);
	if (ferror(o->f))
		return errno ? -errno : -EIO;
	return 0;
}

static int text_end(struct output *o, const struct output_summary *s)
{
	(void)s;	/* lpctrace prints the summary on stderr */
	fflush(o->f);
	return ferror(o->f) ? -EIO : 0;
}

const struct output_ops out_text_ops = {
	.name = "text",
	.begin = text_begin,
	.event = text_event,
	.end = text_end,
};
