/* SPDX-License-Identifier: MIT */
/*
 * measure.c - timing: calibration (which doubles as warm-up); rounds made
 * of several passes over every mechanism, each pass in a fresh shuffled
 * order, so that drift (frequency, noisy neighbours, the other vCPU's
 * load) hits every mechanism alike; and the statistics over rounds.  All
 * times are CLOCK_MONOTONIC.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"

#define CHUNK_NS	2e6	/* one run() call */
#define WARMUP_NS	60e6	/* per mechanism, before any round */
#define MAX_CHUNK	1000000
#define WATCHDOG_S	30	/* per timed burst, far above any burst */

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

int bench_calibrate(struct mech *m)
{
	double t0, t, spent = 0;
	uint64_t iters = 4;

	bench_watchdog(WATCHDOG_S);
	/* Grow a chunk to ~CHUNK_NS, then keep going until warm. */
	for (;;) {
		t0 = now_ns();
		if (m->ops->run(m, iters))
			goto fail;
		t = now_ns() - t0;
		spent += t;
		if (t >= CHUNK_NS || iters >= MAX_CHUNK)
			break;
		iters *= 2;
	}
	m->chunk = (uint64_t)(CHUNK_NS * (double)iters / t);
	if (m->chunk < 1)
		m->chunk = 1;
	while (spent < WARMUP_NS) {
		t0 = now_ns();
		if (m->ops->run(m, m->chunk))
			goto fail;
		spent += now_ns() - t0;
	}
	bench_watchdog(0);
	return 0;
fail:
	bench_watchdog(0);
	return -1;
}

/*
 * One timed burst: whole chunks until burst_ns have passed, so that a
 * slow phase stretches no round (the run keeps to its time budget).
 * Reading the clock between chunks costs ~30 ns per ~2 ms.  Adds the
 * time and the round trips to *t and *n.
 */
static int timed_burst(struct mech *m, double burst_ns, double *t, double *n)
{
	double t0, dt;
	uint64_t done = 0;
	int r;

	bench_watchdog(WATCHDOG_S);
	t0 = now_ns();
	do {
		r = m->ops->run(m, m->chunk);
		done += m->chunk;
		dt = now_ns() - t0;
	} while (!r && dt < burst_ns);
	bench_watchdog(0);
	*t += dt;
	*n += (double)done;
	return r ? -1 : 0;
}

/* xorshift64*: reproducible from the printed seed. */
static uint64_t rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dull;
}

static void shuffle(struct mech **v, int n, uint64_t *s)
{
	for (int i = n - 1; i > 0; i--) {
		int j = (int)(rnd(s) % (uint64_t)(i + 1));
		struct mech *t = v[i];

		v[i] = v[j];
		v[j] = t;
	}
}

int bench_rounds(struct mech **ms, int n, int rounds, int passes,
		 double slot_ms, uint64_t seed)
{
	struct mech *order[BENCH_MAX_MECHS];
	double t[BENCH_MAX_MECHS], cnt[BENCH_MAX_MECHS];
	uint64_t s = seed ? seed : 1;
	int k = 0;

	for (int i = 0; i < n; i++)
		if (!ms[i]->skipped)
			order[k++] = ms[i];
	for (int r = 0; r < rounds; r++) {
		for (int i = 0; i < k; i++)
			t[i] = cnt[i] = 0;
		/*
		 * A round is several passes over every mechanism, each pass
		 * in a new order: the mechanisms of one round share one
		 * window of time, so a drift within it hits them alike and
		 * the per-round ratios stay steady.
		 */
		for (int p = 0; p < passes; p++) {
			shuffle(order, k, &s);
			for (int i = 0; i < k; i++) {
				struct mech *m = order[i];
				if (bench_signal)
					return -1;
				if (timed_burst(m, slot_ms * 1e6 / passes,
						&t[m->index], &cnt[m->index]))
					return -1;
			}
		}
		for (int i = 0; i < n; i++) {
			struct mech *m = ms[i];

			if (m->skipped)
				continue;
			m->us[r] = t[m->index] / 1e3 / cnt[m->index];
			m->iters[r] = cnt[m->index];
			m->rounds = r + 1;
		}
	}
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double bench_median(const double *v, int n)
{
	double s[BENCH_MAX_ROUNDS];

	if (n <= 0)
		return 0;
	memcpy(s, v, (size_t)n * sizeof(*s));
	qsort(s, (size_t)n, sizeof(*s), cmp_double);
	return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

double bench_ratio(const struct mech *a, const struct mech *b)
{
	double q[BENCH_MAX_ROUNDS];
	int n = a->rounds < b->rounds ? a->rounds : b->rounds;

	if (a->skipped || b->skipped || n <= 0)
		return -1;
	for (int r = 0; r < n; r++)
		q[r] = a->us[r] / b->us[r];
	return bench_median(q, n);
}
