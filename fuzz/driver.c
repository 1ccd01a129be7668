/* SPDX-License-Identifier: MIT */
/*
 * main() for the AFL++ and replay builds of a harness (fuzz.h).  Not
 * linked into libFuzzer builds, which bring their own.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"

/* Harnesses without one-time set-up need not define it. */
__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

#ifdef __AFL_FUZZ_TESTCASE_LEN
__AFL_FUZZ_INIT();

int main(int argc, char **argv)
{
	unsigned char *buf;

	LLVMFuzzerInitialize(&argc, &argv);
	/* The fork server starts here: after the set-up, before any
	 * per-input thread or socket. */
	__AFL_INIT();
	buf = __AFL_FUZZ_TESTCASE_BUF;
	while (__AFL_LOOP(10000)) {
		size_t len = (size_t)__AFL_FUZZ_TESTCASE_LEN;

		fuzz_current_input(buf, len);
		LLVMFuzzerTestOneInput(buf, len);
	}
	return 0;
}
#else
/* Replay: each file named, or stdin; exit 0 when every input ran. */
static int run_file(FILE *f, const char *name)
{
	size_t cap = 1 << 16, n = 0;
	uint8_t *buf = malloc(cap);

	if (!buf)
		return -ENOMEM;
	for (;;) {
		size_t r;

		if (n == cap) {
			uint8_t *nb = realloc(buf, cap *= 2);

			if (!nb) {
				free(buf);
				return -ENOMEM;
			}
			buf = nb;
		}
		r = fread(buf + n, 1, cap - n, f);
		if (r == 0)
			break;
		n += r;
	}
	if (ferror(f)) {
		fprintf(stderr, "%s: read error\n", name);
		free(buf);
		return -EIO;
	}
	if (fuzz_verbose())
		fprintf(stderr, "replaying %s (%zu bytes)\n", name, n);
	fuzz_current_input(buf, n);
	LLVMFuzzerTestOneInput(buf, n);
	fuzz_current_input(NULL, 0);
	free(buf);
	return 0;
}

int main(int argc, char **argv)
{
	int rc = 0;

	LLVMFuzzerInitialize(&argc, &argv);
	if (argc < 2)
		return run_file(stdin, "stdin") ? 1 : 0;
	for (int i = 1; i < argc; i++) {
		FILE *f = fopen(argv[i], "rb");

		if (!f) {
			fprintf(stderr, "%s: %s\n", argv[i], strerror(errno));
			rc = 1;
			continue;
		}
		if (run_file(f, argv[i]))
			rc = 1;
		fclose(f);
	}
	return rc;
}
#endif
