/* SPDX-License-Identifier: MIT */
/*
 * What every harness shares.  A harness is one fuzz/<target>.c with
 *
 *   int LLVMFuzzerInitialize(int *argc, char ***argv);   (optional)
 *   int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
 *
 * built three ways from the same source (Makefile, scripts/fuzz):
 *   - with fuzz/driver.c and afl-clang-fast: AFL++ persistent mode,
 *     shared-memory input, deferred init (__AFL_INIT after the harness's
 *     one-time set-up, before the loop);
 *   - with fuzz/driver.c and cc: a replay program, each file argument (or
 *     stdin) run once, for regression tests and triage;
 *   - with clang -fsanitize=fuzzer: a libFuzzer target (no driver.c).
 */
#ifndef LPC_FUZZ_H
#define LPC_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * An invariant broke: a logic bug, not a memory error.  Prints why (in
 * replay and under LPC_FUZZ_VERBOSE) and aborts, so that every engine
 * reports it as a crash with this stack.
 */
#define FUZZ_CHECK(cond, ...)                                                \
	do {                                                                  \
		if (__builtin_expect(!(cond), 0))                             \
			fuzz_fail(__FILE__, __LINE__, #cond, __VA_ARGS__);    \
	} while (0)

__attribute__((noreturn, format(printf, 4, 5)))
void fuzz_fail(const char *file, int line, const char *cond,
	       const char *fmt, ...);

/*
 * A wait that can never end: reported deliberately, as a crash whose
 * message says "hang", instead of leaving it to a timeout's luck.
 */
__attribute__((noreturn, format(printf, 1, 2)))
void fuzz_hang(const char *fmt, ...);

/*
 * The input being run, for the failure log: when LPC_FUZZ_FAILLOG names
 * a directory, fuzz_fail and fuzz_hang leave there the input (<hash>.input)
 * and the line they print (<hash>.msg), so that a campaign's report can
 * say what broke even when the crash does not reproduce in a fresh
 * process (AFL++ keeps the input, never the output).
 */
void fuzz_current_input(const uint8_t *data, size_t size);

/* Whether LPC_FUZZ_VERBOSE is set (harnesses stay silent otherwise). */
int fuzz_verbose(void);

/* Resources a harness checks are back where they were after an input. */
struct fuzz_snapshot {
	int fds;
	int maps;
	int threads;
};

void fuzz_snapshot_take(struct fuzz_snapshot *s);
/* Aborts (FUZZ_CHECK) when fds, mappings or threads leaked since s. */
void fuzz_snapshot_check(const struct fuzz_snapshot *s, const char *what);

/* A private $LPC_ROOT for this process, made once; its path. */
const char *fuzz_root(void);

/*
 * A harness's LLVMFuzzerInitialize calls this first: fuzz_root(), and
 * what the fuzzing runtime would otherwise start lazily in the middle of
 * an input, where the leak snapshots would count it (libFuzzer's first
 * NEW_FUNC line starts the sanitizer's symbolizer: two pipe fds).
 */
void fuzz_init(void);

/* Byte reader over an input: reads past the end give zeros. */
struct fuzz_in {
	const uint8_t *p;
	size_t n, off;
};

static inline uint8_t fuzz_u8(struct fuzz_in *in)
{
	return in->off < in->n ? in->p[in->off++] : 0;
}

/* Little-endian; each read sequenced (two calls in one expression would
 * be read in an order C leaves to the compiler). */
static inline uint16_t fuzz_u16(struct fuzz_in *in)
{
	uint16_t lo = fuzz_u8(in);

	return (uint16_t)(lo | fuzz_u8(in) << 8);
}

static inline uint32_t fuzz_u32(struct fuzz_in *in)
{
	uint32_t lo = fuzz_u16(in);

	return lo | (uint32_t)fuzz_u16(in) << 16;
}

static inline uint64_t fuzz_u64(struct fuzz_in *in)
{
	uint64_t lo = fuzz_u32(in);

	return lo | (uint64_t)fuzz_u32(in) << 32;
}

/* Up to n bytes into out (the rest zeroed); returns how many were read. */
size_t fuzz_bytes(struct fuzz_in *in, void *out, size_t n);

static inline int fuzz_done(const struct fuzz_in *in)
{
	return in->off >= in->n;
}

#endif
