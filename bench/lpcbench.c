/* SPDX-License-Identifier: MIT */
/*
 * lpcbench.c - options and the run's lifecycle: private LPC_ROOT → fork
 * every server → connect (this process's first LPC call) → calibrate →
 * shuffled rounds → report → close, reap, remove the root.
 *
 *   lpcbench [--quick] [--rounds N] [--same-core | --cross-core] [--seed N]
 *            [--only IDS]
 */
#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <lpc/csr.h>

#include "bench.h"

#define DEFAULT_ROUNDS	11
#define QUICK_ROUNDS	3
#define SLOT_MS		350	/* per mechanism per round */
#define QUICK_SLOT_MS	40
#define MIN_SLOT_MS	20
#define PASSES		8	/* a round visits each mechanism 8 times */
#define QUICK_PASSES	4
#define BUDGET_MS	45000	/* timed part of a run, calibration aside */
#define SETUP_WATCHDOG_S 60

struct opts {
	int rounds;
	int passes;		/* bursts per mechanism per round */
	double slot_ms;
	uint64_t seed;
	const char *only;	/* comma-separated ids, or NULL: all */
};

static char root[64];

static void usage(FILE *f)
{
	fprintf(f,
		"usage: lpcbench [--quick] [--rounds N] "
		"[--same-core | --cross-core] [--seed N] [--only IDS]\n"
		"  --quick       %d short rounds, for a smoke test\n"
		"  --rounds N    rounds per mechanism (default %d, max %d)\n"
		"  --same-core   pin client and servers to CPU 0\n"
		"  --cross-core  pin the client to CPU 0, servers to CPU 1\n"
		"  --seed N      seed of the per-round shuffle\n"
		"  --only IDS    run only these (comma-separated) of: pipe,\n"
		"                seqpacket, uring, lpc-sync, lpc-uring,\n"
		"                seqpacket-64k, view-sync, view-uring, csr,\n"
		"                csr-capture (e.g. to profile one of them)\n"
		"Default: nothing pinned.  The CSR calls run against %s,\n"
		"forced to LPC_BACKEND's backend if set, else the engine's "
		"default.\n",
		QUICK_ROUNDS, DEFAULT_ROUNDS, BENCH_MAX_ROUNDS,
		bench_csrd_path());
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "quick", no_argument, NULL, 'q' },
		{ "rounds", required_argument, NULL, 'r' },
		{ "same-core", no_argument, NULL, 's' },
		{ "cross-core", no_argument, NULL, 'c' },
		{ "seed", required_argument, NULL, 'S' },
		{ "only", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool quick = false;
	int c, rounds = 0;
	char *end;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'q':
			quick = true;
			break;
		case 'r':
			errno = 0;
			rounds = (int)strtol(optarg, &end, 10);
			if (errno || *end || rounds < 1 ||
			    rounds > BENCH_MAX_ROUNDS) {
				fprintf(stderr,
					"lpcbench: --rounds wants 1..%d, not "
					"'%s'\n",
					BENCH_MAX_ROUNDS, optarg);
				return -1;
			}
			break;
		case 's':
		case 'c':
			if (bench_pin != BENCH_PIN_NONE) {
				fprintf(stderr, "lpcbench: --same-core and "
						"--cross-core exclude each "
						"other\n");
				return -1;
			}
			bench_pin = c == 's' ? BENCH_PIN_SAME : BENCH_PIN_CROSS;
			break;
		case 'S':
			errno = 0;
			o->seed = strtoull(optarg, &end, 0);
			if (errno || *end || !o->seed) {
				fprintf(stderr,
					"lpcbench: --seed wants a non-zero "
					"number, not '%s'\n",
					optarg);
				return -1;
			}
			break;
		case 'o':
			o->only = optarg;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "lpcbench: unexpected argument '%s'\n",
			argv[optind]);
		usage(stderr);
		return -1;
	}
	o->rounds = rounds ? rounds : quick ? QUICK_ROUNDS : DEFAULT_ROUNDS;
	o->slot_ms = quick ? QUICK_SLOT_MS : SLOT_MS;
	o->passes = quick ? QUICK_PASSES : PASSES;
	if (!o->seed) {
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		o->seed = (uint64_t)ts.tv_nsec ^ (uint64_t)getpid() << 32;
		if (!o->seed)
			o->seed = 1;
	}
	return 0;
}

static void set_init(struct bench_set *set)
{
	static const char *const be[BE_N] = { "sync", "uring" };

	memset(set, 0, sizeof(*set));
	set->pipe = (struct mech){ .id = "pipe",
				   .name = "pipe ping-pong (2 pipes)",
				   .payload = BENCH_SMALL,
				   .ops = &mech_pipe_ops };
	set->seqpacket = (struct mech){ .id = "seqpacket",
					.name = "unix SEQPACKET send/recv",
					.payload = BENCH_SMALL,
					.ops = &mech_seqpacket_ops };
	set->uring = (struct mech){ .id = "uring",
				    .name = "io_uring send+recv",
				    .payload = BENCH_SMALL,
				    .ops = &mech_uring_ops };
	set->seqpacket_big = (struct mech){ .id = "seqpacket-64k",
					    .name = "unix SEQPACKET send/recv",
					    .payload = BENCH_BIG,
					    .ops = &mech_seqpacket_big_ops };
	for (int b = 0; b < BE_N; b++) {
		set->lpc[b] = (struct mech){ .id = b ? "lpc-uring" : "lpc-sync",
					     .name = "LPC request/reply",
					     .payload = BENCH_SMALL,
					     .ops = &mech_lpc_ops,
					     .backend = be[b] };
		set->view[b] = (struct mech){ .id = b ? "view-uring"
						      : "view-sync",
					      .name = "LPC port view",
					      .payload = BENCH_BIG,
					      .ops = &mech_lpc_view_ops,
					      .backend = be[b] };
	}
	/* The payload: the API's own data (a 4-byte id; NLS_USER_INFO,
	 * through the capture buffer). */
	set->csr = (struct mech){ .id = "csr",
				  .name = "CSR GetTempFile",
				  .payload = sizeof(ULONG),
				  .ops = &mech_csr_ops,
				  .backend = bench_csr_backend() };
	set->csr_capture = (struct mech){ .id = "csr-capture",
					  .name = "CSR NlsGetUserInfo+capture",
					  .payload = sizeof(NLS_USER_INFO),
					  .ops = &mech_csr_capture_ops,
					  .backend = set->csr.backend };
}

/* The report's row order. */
static int set_list(struct bench_set *set, struct mech **ms)
{
	int n = 0;

	ms[n++] = &set->pipe;
	ms[n++] = &set->seqpacket;
	ms[n++] = &set->uring;
	for (int b = 0; b < BE_N; b++)
		ms[n++] = &set->lpc[b];
	ms[n++] = &set->seqpacket_big;
	for (int b = 0; b < BE_N; b++)
		ms[n++] = &set->view[b];
	ms[n++] = &set->csr;
	ms[n++] = &set->csr_capture;
	for (int i = 0; i < n; i++) {
		ms[i]->index = i;
		ms[i]->peer_fd[0] = ms[i]->peer_fd[1] = -1;
	}
	return n;
}

static bool selected(const char *only, const char *id)
{
	size_t len = strlen(id);

	for (const char *p = only; p && *p;) {
		size_t n = strcspn(p, ",");

		if (n == len && !strncmp(p, id, len))
			return true;
		p += n + (p[n] == ',');
	}
	return !only;
}

static int select_mechs(const char *only, struct mech **ms, int n)
{
	int k = 0;

	for (int i = 0; i < n; i++) {
		if (selected(only, ms[i]->id)) {
			k++;
			continue;
		}
		ms[i]->skipped = true;
		snprintf(ms[i]->err, sizeof(ms[i]->err), "not in --only");
	}
	if (!k)
		fprintf(stderr, "lpcbench: --only %s selects nothing "
				"(see --help)\n",
			only);
	return k;
}

static void mech_error(const struct mech *m, const char *phase)
{
	char payload[24];

	fprintf(stderr, "lpcbench: %s [%s%s%s]: %s: %s\n", m->name,
		report_payload(m, payload, sizeof(payload)),
		m->backend ? ", " : "", m->backend ? m->backend : "", phase,
		m->err);
	if (bench_signal == SIGALRM)
		fprintf(stderr, "lpcbench: watchdog: no progress, servers "
				"killed\n");
	else if (bench_signal)
		fprintf(stderr, "lpcbench: interrupted by signal %d\n",
			(int)bench_signal);
}

/* spawn or connect every mechanism; a skip is shown, never fatal. */
static int setup_all(struct mech **ms, int n, bool connect)
{
	for (int i = 0; i < n; i++) {
		struct mech *m = ms[i];
		int r;

		if (m->skipped)
			continue;
		r = connect ? m->ops->connect(m) : m->ops->spawn(m);
		if (r == BENCH_SKIP) {
			m->skipped = true;
			continue;
		}
		if (r) {
			mech_error(m, connect ? "connect" : "server");
			return -1;
		}
	}
	return 0;
}

static const char *placement(void)
{
	switch (bench_pin) {
	case BENCH_PIN_SAME:
		return "same core (client and servers on CPU 0)";
	case BENCH_PIN_CROSS:
		return "cross core (client on CPU 0, servers on CPU 1)";
	default:
		return "unpinned (the scheduler places every process)";
	}
}

static int check_cpus(void)
{
	cpu_set_t set;

	if (bench_pin == BENCH_PIN_NONE)
		return 0;
	if (sched_getaffinity(0, sizeof(set), &set) < 0) {
		fprintf(stderr, "lpcbench: sched_getaffinity: %s\n",
			strerror(errno));
		return -1;
	}
	if (!CPU_ISSET(0, &set) ||
	    (bench_pin == BENCH_PIN_CROSS && !CPU_ISSET(1, &set))) {
		fprintf(stderr, "lpcbench: %s needs CPU 0%s in this "
				"process's affinity mask\n",
			bench_pin == BENCH_PIN_CROSS ? "--cross-core"
						     : "--same-core",
			bench_pin == BENCH_PIN_CROSS ? " and CPU 1" : "");
		return -1;
	}
	return 0;
}

static int run(const struct opts *o, struct bench_set *set, struct mech **ms,
	       int n)
{
	double slot = o->slot_ms;
	int r, active = select_mechs(o->only, ms, n);
	char err[128];

	if (!active)
		return -1;
	/* Keep the timed part within the budget whatever --rounds says. */
	if (slot * active * o->rounds > BUDGET_MS)
		slot = BUDGET_MS / (double)(active * o->rounds);
	if (slot < MIN_SLOT_MS)
		slot = MIN_SLOT_MS;
	printf("lpcbench: request/reply round trips; client = this process, "
	       "each server a forked process\n");
	printf("  placement  %s, %ld CPUs online\n", placement(),
	       sysconf(_SC_NPROCESSORS_ONLN));
	printf("  rounds     %d; each gives every mechanism ~%.0f ms in %d "
	       "bursts, order shuffled per pass (--seed %llu)\n",
	       o->rounds, slot, o->passes, (unsigned long long)o->seed);
	printf("  LPC_ROOT   %s\n", root);

	if (bench_pin_self(false, err, sizeof(err))) {
		fprintf(stderr, "lpcbench: %s\n", err);
		return -1;
	}
	bench_watchdog(SETUP_WATCHDOG_S);
	/* Every fork before this process's first LPC call (bench.h). */
	r = setup_all(ms, n, false);
	if (!r) {
		printf("  backend    lpc_backend_name() = %s here (the client); "
		       "each LPC server set LPC_BACKEND\n"
		       "             before its first call and reported its "
		       "own (column 'server')\n",
		       lpc_backend_name());
		r = setup_all(ms, n, true);
	}
	bench_watchdog(0);
	if (r)
		return -1;
	fflush(stdout);

	for (int i = 0; i < n; i++) {
		if (ms[i]->skipped)
			continue;
		if (bench_calibrate(ms[i])) {
			mech_error(ms[i], "warm-up");
			return -1;
		}
	}
	if (bench_rounds(ms, n, o->rounds, o->passes, slot, o->seed)) {
		bool any = false;

		for (int i = 0; i < n; i++) {
			if (ms[i]->err[0] && !ms[i]->skipped) {
				mech_error(ms[i], "round trip");
				any = true;
			}
		}
		if (!any)
			fprintf(stderr, "lpcbench: interrupted by signal %d\n",
				(int)bench_signal);
		return -1;
	}
	report_results(set, ms, n);
	return 0;
}

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	if (remove(path) < 0 && errno != ENOENT)
		fprintf(stderr, "lpcbench: remove %s: %s\n", path,
			strerror(errno));
	return 0;
}

int main(int argc, char **argv)
{
	struct mech *ms[BENCH_MAX_MECHS];
	struct bench_set set;
	struct timespec t0, t1;
	struct opts o = { 0 };
	int n, r, rc;

	if (parse_opts(argc, argv, &o) || check_cpus())
		return 2;
	if (bench_signals_install()) {
		fprintf(stderr, "lpcbench: sigaction: %s\n", strerror(errno));
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* A private namespace, before any LPC call here or in a server. */
	snprintf(root, sizeof(root), "/tmp/lpcbench-XXXXXX");
	if (!mkdtemp(root)) {
		fprintf(stderr, "lpcbench: mkdtemp %s: %s\n", root,
			strerror(errno));
		return 1;
	}
	setenv("LPC_ROOT", root, 1);
	set_init(&set);
	n = set_list(&set, ms);

	r = run(&o, &set, ms, n);
	/* Closing the client sides lets every server see EOF and exit. */
	for (int i = 0; i < n; i++)
		ms[i]->ops->close(ms[i]);
	if (bench_children_finish(r == 0 && !bench_signal))
		r = -1;
	nftw(root, rm_one, 8, FTW_DEPTH | FTW_PHYS);

	if (bench_signal && bench_signal != SIGALRM)
		rc = 128 + bench_signal;
	else
		rc = r ? 1 : 0;
	if (!r) {
		clock_gettime(CLOCK_MONOTONIC, &t1);
		printf("\nlpcbench: done in %.1f s\n",
		       (double)(t1.tv_sec - t0.tv_sec) +
			       (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	}
	return rc;
}
