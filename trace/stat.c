/* SPDX-License-Identifier: MIT */
/* lpctrace stat: per-port and per-API counters and log2 latency
 * histograms, aggregated in the kernel (lpct_stats). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "env.h"
#include "lpctrace.skel.h"
#include "session.h"
#include "snapshot.h"

struct row {
	struct lpct_stat_key k;
	struct lpct_stat v;
};

static int cmp_rows(const void *a, const void *b)
{
	const struct row *x = a, *y = b;

	if (x->k.kind != y->k.kind)
		return x->k.kind < y->k.kind ? -1 : 1;
	if (x->k.pid != y->k.pid)
		return x->k.pid < y->k.pid ? -1 : 1;
	return x->k.id < y->k.id ? -1 : x->k.id > y->k.id;
}

static size_t read_stats(int fd, struct row **out)
{
	struct lpct_stat_key k, next, *prev = NULL;
	struct row *v = NULL;
	size_t n = 0, cap = 0;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		if (n == cap) {
			size_t c = cap ? cap * 2 : 64;
			struct row *nv = realloc(v, c * sizeof(*v));

			if (!nv)
				break;
			v = nv;
			cap = c;
		}
		if (bpf_map_lookup_elem(fd, &next, &v[n].v) == 0) {
			v[n].k = next;
			n++;
		}
		k = next;
		prev = &k;
	}
	if (n)
		qsort(v, n, sizeof(*v), cmp_rows);
	*out = v;
	return n;
}

static const char *unit(double ns, double *scaled)
{
	if (ns < 1e3) {
		*scaled = ns;
		return "ns";
	}
	if (ns < 1e6) {
		*scaled = ns / 1e3;
		return "us";
	}
	if (ns < 1e9) {
		*scaled = ns / 1e6;
		return "ms";
	}
	*scaled = ns / 1e9;
	return "s";
}

/* bcc's log2 histogram layout, in adaptive units. */
static void print_hist(FILE *f, const struct lpct_stat *v)
{
	int first = -1, last = -1;
	uint64_t max = 0;

	for (int i = 0; i < LPCT_HIST_SLOTS; i++) {
		if (!v->hist[i])
			continue;
		if (first < 0)
			first = i;
		last = i;
		if (v->hist[i] > max)
			max = v->hist[i];
	}
	if (first < 0)
		return;
	fprintf(f, "    %21s : %-8s distribution\n", "latency", "count");
	for (int i = first; i <= last; i++) {
		double lo, hi;
		const char *ul = unit((double)(1ull << i), &lo);
		const char *uh = unit((double)(2ull << i), &hi);
		char range[40], bar[41];
		int w = (int)(v->hist[i] * 40 / max);

		/* Slot i holds [2^i, 2^(i+1)) ns. */
		snprintf(range, sizeof(range), "%.3g%s -> %.3g%s", lo, ul, hi,
			 uh);
		memset(bar, '*', (size_t)w);
		bar[w] = '\0';
		fprintf(f, "    %21s : %-8llu |%-40s|\n", range,
			(unsigned long long)v->hist[i], bar);
	}
}

static void fmt_lat(char *buf, size_t len, double ns)
{
	if (ns <= 0)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%.1f", ns / 1e3);
}

void stat__print(struct session *s, FILE *f, bool final)
{
	int fd = bpf_map__fd(s->skel->maps.lpct_stats);
	double secs = (now_ns(CLOCK_MONOTONIC) - s->start) / 1e9;
	struct snapshot *snap = snapshot__read(s);
	struct row *rows = NULL;
	size_t n = read_stats(fd, &rows);
	bool any_api = false, hist = final || s->env->verbose;

	fprintf(f, "\nlpctrace stat: %.1f s%s\n", secs,
		final ? " (final)" : "");
	fprintf(f, "%7s %-15s %-24s %8s %8s %8s %8s %7s %7s %9s %9s %9s\n",
		"PID", "COMM", "PORT", "SENT", "DGRAMS", "RECVD", "REPLIED",
		"ERRORS", "TMOUTS", "MSGS/s", "AVG(us)", "MAX(us)");
	for (size_t i = 0; i < n; i++) {
		const struct lpct_stat *v = &rows[i].v;
		char avg[24], max[24];
		const char *name;

		if (rows[i].k.kind != LPCT_STAT_DOMAIN) {
			any_api = true;
			continue;
		}
		name = snapshot__domain_name(snap, rows[i].k.pid, rows[i].k.id);
		fmt_lat(avg, sizeof(avg), v->lat_count ?
			(double)v->lat_sum / (double)v->lat_count : 0);
		fmt_lat(max, sizeof(max), (double)v->lat_max);
		fprintf(f, "%7u %-15s %-24s %8llu %8llu %8llu %8llu %7llu "
			"%7llu %9.1f %9s %9s\n", rows[i].k.pid,
			v->comm[0] ? v->comm : snapshot__comm(snap, rows[i].k.pid),
			name ? name : "?",
			(unsigned long long)v->sends,
			(unsigned long long)v->datagrams,
			(unsigned long long)v->receives,
			(unsigned long long)v->replies,
			(unsigned long long)v->errors,
			(unsigned long long)v->timeouts,
			secs > 0 ? (double)(v->sends + v->datagrams +
					    v->receives) / secs : 0.0,
			avg, max);
		if (hist)
			print_hist(f, v);
	}
	if (any_api) {
		fprintf(f, "\n%-34s %10s %8s %8s %9s %9s %9s\n", "CSR API",
			"NUMBER", "CALLS", "ERRORS", "CALLS/s", "AVG(us)",
			"MAX(us)");
		for (size_t i = 0; i < n; i++) {
			const struct lpct_stat *v = &rows[i].v;
			const char *name;
			char avg[24], max[24];

			if (rows[i].k.kind != LPCT_STAT_API)
				continue;
			name = decode__api_name((uint32_t)rows[i].k.id);
			fmt_lat(avg, sizeof(avg), v->lat_count ?
				(double)v->lat_sum / (double)v->lat_count : 0);
			fmt_lat(max, sizeof(max), (double)v->lat_max);
			fprintf(f, "%-34s %#10llx %8llu %8llu %9.1f %9s %9s\n",
				name ? name : "(not in the profile)",
				(unsigned long long)rows[i].k.id,
				(unsigned long long)v->receives,
				(unsigned long long)v->errors,
				secs > 0 ? (double)v->receives / secs : 0.0,
				avg, max);
			if (hist)
				print_hist(f, v);
		}
	}
	if (!n)
		fprintf(f, "(no LPC traffic yet)\n");
	free(rows);
	snapshot__free(snap);
}
