/* SPDX-License-Identifier: MIT */
/*
 * covcount.c - what varies between runs of one input (docs/fuzzing.md,
 * "Stability").  Linked as the main of a harness built with
 * -fsanitize-coverage=trace-pc-guard (scripts/fuzz-stability does it);
 * itself built without coverage.
 *
 *   covcount [-n RUNS] INPUT...
 *
 * Runs the inputs RUNS + 1 times each, round-robin in one process as a
 * persistent fuzzer does (the first round warms up), keeps the hit count
 * of every guard per run in AFL++'s buckets, and reports the guards whose
 * bucket is not the same in every run of an input: per input, then the
 * guards that vary most, as offsets in the binary for addr2line.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../fuzz.h"

static uint32_t nguards;
static uint32_t *hits;		/* per guard, this run */
static uintptr_t *pcs;		/* per guard, first caller seen */

void __sanitizer_cov_trace_pc_guard_init(uint32_t *start, uint32_t *stop)
{
	if (start == stop || *start)
		return;
	for (uint32_t *g = start; g < stop; g++)
		*g = ++nguards;
}

void __sanitizer_cov_trace_pc_guard(uint32_t *g)
{
	if (!hits || !*g)
		return;
	__atomic_fetch_add(&hits[*g], 1, __ATOMIC_RELAXED);
	if (!pcs[*g])
		pcs[*g] = (uintptr_t)__builtin_return_address(0);
}

/* AFL++'s hit-count classes. */
static uint8_t bucket(uint32_t c)
{
	return c == 0 ? 0 : c == 1 ? 1 : c == 2 ? 2 : c == 3 ? 3 :
	       c < 8 ? 4 : c < 16 ? 5 : c < 32 ? 6 : c < 128 ? 7 : 8;
}

static uint8_t *load(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	size_t cap = 1 << 16, n = 0, r;
	uint8_t *b;

	if (!f)
		return NULL;
	b = malloc(cap);
	while (b && (r = fread(b + n, 1, cap - n, f)) > 0)
		if ((n += r) == cap) {
			uint8_t *nb = realloc(b, cap *= 2);

			if (!nb)
				free(b);
			b = nb;
		}
	fclose(f);
	*len = n;
	return b;
}

int main(int argc, char **argv)
{
	int runs = 4, opt, nin;
	uint8_t **first;	/* per input: its buckets in the first run */
	uint8_t **vary;		/* per input: which guards varied */
	uint32_t *inputs_varying_at;
	uintptr_t base = 0;
	Dl_info di;

	while ((opt = getopt(argc, argv, "n:")) != -1) {
		if (opt != 'n' || (runs = atoi(optarg)) < 2) {
			fprintf(stderr, "usage: %s [-n RUNS>=2] INPUT...\n",
				argv[0]);
			return 2;
		}
	}
	nin = argc - optind;
	if (nin < 1) {
		fprintf(stderr, "usage: %s [-n RUNS>=2] INPUT...\n", argv[0]);
		return 2;
	}
	LLVMFuzzerInitialize(&argc, &argv);
	hits = calloc(nguards + 1, sizeof(*hits));
	pcs = calloc(nguards + 1, sizeof(*pcs));
	first = calloc((size_t)nin, sizeof(*first));
	vary = calloc((size_t)nin, sizeof(*vary));
	inputs_varying_at = calloc(nguards + 1, sizeof(*inputs_varying_at));
	if (!hits || !pcs || !first || !vary || !inputs_varying_at)
		return 1;
	for (int r = 0; r <= runs; r++) {
		for (int i = 0; i < nin; i++) {
			size_t len;
			uint8_t *in = load(argv[optind + i], &len);

			if (!in) {
				perror(argv[optind + i]);
				return 1;
			}
			memset(hits, 0, (nguards + 1) * sizeof(*hits));
			fuzz_current_input(in, len);
			LLVMFuzzerTestOneInput(in, len);
			free(in);
			if (r == 0)
				continue;
			if (r == 1) {
				first[i] = calloc(nguards + 1, 1);
				vary[i] = calloc(nguards + 1, 1);
				if (!first[i] || !vary[i])
					return 1;
				for (uint32_t g = 1; g <= nguards; g++)
					first[i][g] = bucket(hits[g]);
				continue;
			}
			for (uint32_t g = 1; g <= nguards; g++)
				if (bucket(hits[g]) != first[i][g])
					vary[i][g] = 1;
		}
	}
	if (dladdr((void *)main, &di))
		base = (uintptr_t)di.dli_fbase;
	{
		int varying = 0;

		for (int i = 0; i < nin; i++) {
			uint32_t v = 0, h = 0;

			for (uint32_t g = 1; g <= nguards; g++) {
				h += first[i][g] != 0;
				if (vary[i][g]) {
					v++;
					inputs_varying_at[g]++;
				}
			}
			varying += v > 0;
			if (v)
				printf("input %s: %u of %u guards vary\n",
				       argv[optind + i], v, h);
		}
		printf("inputs: %d, varying: %d, runs each: %d\n", nin,
		       varying, runs);
	}
	for (uint32_t g = 1; g <= nguards; g++)
		if (inputs_varying_at[g])
			printf("guard 0x%lx %u\n",
			       (unsigned long)(pcs[g] ? pcs[g] - base : 0),
			       inputs_varying_at[g]);
	return 0;
}
