/* SPDX-License-Identifier: MIT */
/*
 * report.c - the result tables: one row per mechanism (median, min and
 * max over rounds, in µs per round trip), then the ratios the issue asks
 * for, each next to its target, then CSR calls per second against the
 * bare LPC round trip.  Printed only after all timing is done.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <lpc/lpc.h>

#include "bench.h"

const char *report_status(int32_t status)
{
	switch ((NTSTATUS)status) {
	case STATUS_SUCCESS:			return "STATUS_SUCCESS";
	case STATUS_TIMEOUT:			return "STATUS_TIMEOUT";
	case STATUS_UNSUCCESSFUL:		return "STATUS_UNSUCCESSFUL";
	case STATUS_NOT_IMPLEMENTED:		return "STATUS_NOT_IMPLEMENTED";
	case STATUS_ACCESS_VIOLATION:		return "STATUS_ACCESS_VIOLATION";
	case STATUS_INVALID_HANDLE:		return "STATUS_INVALID_HANDLE";
	case STATUS_INVALID_PARAMETER:		return "STATUS_INVALID_PARAMETER";
	case STATUS_NO_MEMORY:			return "STATUS_NO_MEMORY";
	case STATUS_ACCESS_DENIED:		return "STATUS_ACCESS_DENIED";
	case STATUS_OBJECT_TYPE_MISMATCH:	return "STATUS_OBJECT_TYPE_MISMATCH";
	case STATUS_PORT_MESSAGE_TOO_LONG:	return "STATUS_PORT_MESSAGE_TOO_LONG";
	case STATUS_OBJECT_NAME_INVALID:	return "STATUS_OBJECT_NAME_INVALID";
	case STATUS_OBJECT_NAME_NOT_FOUND:	return "STATUS_OBJECT_NAME_NOT_FOUND";
	case STATUS_OBJECT_NAME_COLLISION:	return "STATUS_OBJECT_NAME_COLLISION";
	case STATUS_PORT_DISCONNECTED:		return "STATUS_PORT_DISCONNECTED";
	case STATUS_OBJECT_PATH_NOT_FOUND:	return "STATUS_OBJECT_PATH_NOT_FOUND";
	case STATUS_PORT_CONNECTION_REFUSED:	return "STATUS_PORT_CONNECTION_REFUSED";
	case STATUS_INVALID_PORT_HANDLE:	return "STATUS_INVALID_PORT_HANDLE";
	case STATUS_INSUFFICIENT_RESOURCES:	return "STATUS_INSUFFICIENT_RESOURCES";
	case STATUS_NOT_SUPPORTED:		return "STATUS_NOT_SUPPORTED";
	case STATUS_REPLY_MESSAGE_MISMATCH:	return "STATUS_REPLY_MESSAGE_MISMATCH";
	case STATUS_LPC_REPLY_LOST:		return "STATUS_LPC_REPLY_LOST";
	default:				return "unknown status";
	}
}

static double min_of(const double *v, int n)
{
	double lo = v[0];

	for (int i = 1; i < n; i++)
		if (v[i] < lo)
			lo = v[i];
	return lo;
}

static double max_of(const double *v, int n)
{
	double hi = v[0];

	for (int i = 1; i < n; i++)
		if (v[i] > hi)
			hi = v[i];
	return hi;
}

const char *report_payload(const struct mech *m, char *buf, size_t len)
{
	if (m->payload && m->payload % 1024 == 0)
		snprintf(buf, len, "%zu KiB", m->payload / 1024);
	else
		snprintf(buf, len, "%zu B", m->payload);
	return buf;
}

static void print_row(const struct mech *m)
{
	char payload[24];

	/* The server's own lpc_backend_name(), as it reported it. */
	printf("%-26s %-8s %-7s ", m->name,
	       report_payload(m, payload, sizeof(payload)),
	       m->server_info[0] ? m->server_info
	       : m->backend	 ? m->backend
				 : "-");
	if (m->skipped || m->rounds == 0) {
		printf("skipped: %s\n", m->skipped ? m->err : "not run");
		return;
	}
	printf("%11.0f %9.2f %9.2f %9.2f\n", bench_median(m->iters, m->rounds),
	       bench_median(m->us, m->rounds), min_of(m->us, m->rounds),
	       max_of(m->us, m->rounds));
}

static void print_ratio_cell(double q)
{
	if (q < 0)
		printf(" %7s", "n/a");
	else
		printf(" %7.2f", q);
}

/* One row: LPC (per backend) against a baseline, with its target
 * (target <= 0: none). */
static void print_ratio(const char *label, const struct mech *lpc,
			const struct mech *base, double target)
{
	double q[BE_N];

	printf("%-38s", label);
	for (int b = 0; b < BE_N; b++) {
		q[b] = bench_ratio(&lpc[b], base);
		print_ratio_cell(q[b]);
	}
	if (target <= 0) {
		printf("   -\n");
		return;
	}
	printf("   <= %-5.2f", target);
	for (int b = 0; b < BE_N; b++)
		printf("%s%s %s", b ? ", " : "  ", lpc[b].backend,
		       q[b] < 0 ? "n/a"
		       /* Judge the value as printed. */
		       : round(q[b] * 100) / 100 <= target ? "met"
							   : "MISSED");
	printf("\n");
}

/* Median over rounds of calls per second. */
static double calls_per_s(const struct mech *m)
{
	double v[BENCH_MAX_ROUNDS];

	for (int r = 0; r < m->rounds; r++)
		v[r] = 1e6 / m->us[r];
	return bench_median(v, m->rounds);
}

/*
 * The CSR calls: calls per second, and each against the bare LPC 64 B
 * round trip of csrd's backend, the two measured in the same rounds.
 */
static void report_csr(struct bench_set *set)
{
	const struct mech *csr[] = { &set->csr, &set->csr_capture };
	static const char *const label[] = {
		"BasepGetTempFile, no capture buffer",
		"BasepNlsGetUserInfo, 1128 B captured",
	};
	const char *be = set->csr.backend;
	const struct mech *lpc = NULL;
	char head[64];
	double q;

	for (int b = 0; b < BE_N; b++)
		if (!strcmp(set->lpc[b].backend, be))
			lpc = &set->lpc[b];
	snprintf(head, sizeof(head), "vs LPC 64 B [%s]", be);
	printf("\n%-38s %9s %16s\n", "CSR calls (CsrClientCallServer)",
	       "calls/s", head);
	for (size_t i = 0; i < sizeof(csr) / sizeof(csr[0]); i++) {
		printf("%-38s", label[i]);
		if (csr[i]->skipped || !csr[i]->rounds) {
			printf(" skipped: %s\n",
			       csr[i]->skipped ? csr[i]->err : "not run");
			continue;
		}
		q = lpc ? bench_ratio(csr[i], lpc) : -1;
		printf(" %9.0f", calls_per_s(csr[i]));
		if (q < 0)
			printf(" %16s\n", "n/a");
		else
			printf(" %16.2f\n", q);
	}
	printf("(csrd: %s -q --threads 1 --max-threads 1: one request thread;\n"
	       " LPC_BACKEND=%s forced (csrd -q does not report its backend);"
	       "\n ratio: median of per-round ratios of us per call to LPC "
	       "request/reply 64 B [%s]%s;\n"
	       " the capture buffer is allocated, filled by csrd, copied out "
	       "and freed on every call)\n",
	       bench_csrd_path(), be, be,
	       !lpc || lpc->skipped || !lpc->rounds ? ", which did not run"
						    : "");
}

void report_results(struct bench_set *set, struct mech **ms, int n)
{
	double q;

	printf("\n%-26s %-8s %-7s %11s %9s %9s %9s\n", "mechanism", "payload",
	       "server", "iters/round", "median", "min", "max");
	for (int i = 0; i < n; i++)
		print_row(ms[i]);
	printf("(us per round trip; median, min and max over rounds)\n");

	printf("\n%-38s %7s %7s   %s\n", "ratio (median of per-round ratios)",
	       set->lpc[BE_SYNC].backend, set->lpc[BE_URING].backend,
	       "target");
	print_ratio("LPC / unix SEQPACKET, 64 B", set->lpc, &set->seqpacket,
		    1.3);
	print_ratio("LPC / pipe, 64 B", set->lpc, &set->pipe, 0);
	print_ratio("LPC view / unix SEQPACKET, 64 KiB", set->view,
		    &set->seqpacket_big, 1.0);
	q = bench_ratio(&set->uring, &set->seqpacket);
	printf("%-38s", "io_uring / unix SEQPACKET, 64 B");
	print_ratio_cell(q);
	printf(" %7s   %s\n", "", "reference, no target");
	report_csr(set);
}
