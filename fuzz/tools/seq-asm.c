/* SPDX-License-Identifier: MIT */
/*
 * seq-asm - assemble a text program for the connection-sequence harness
 * (fuzz/seq.c) into its binary input, or disassemble one back.
 *
 *   seq-asm [-o OUT] [IN.txt]       text (stdin) -> binary (stdout or OUT)
 *   seq-asm -d [-o OUT] [IN]        binary -> text
 *   seq-asm -c DIR                  assemble each DIR/NAME.txt into DIR/NAME
 *
 * The format is fuzz/seq_prog.h's: one op a line, "op thread key...".
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "seq_prog.h"

static int assemble(FILE *in, const char *name, FILE *out)
{
	char line[512], err[128];
	int n = 0, lineno = 0;

	while (fgets(line, sizeof(line), in)) {
		struct seq_op o;
		uint8_t b[SEQ_OP_BYTES];
		int r;

		lineno++;
		r = seq_parse_line(line, &o, err, sizeof(err));
		if (r < 0) {
			fprintf(stderr, "%s:%d: %s\n", name, lineno, err);
			return -1;
		}
		if (r == 0)
			continue;
		if (++n > SEQ_MAX_OPS) {
			fprintf(stderr, "%s:%d: more than %d ops\n", name,
				lineno, SEQ_MAX_OPS);
			return -1;
		}
		seq_encode_op(&o, b);
		if (fwrite(b, 1, sizeof(b), out) != sizeof(b))
			return -1;
	}
	return 0;
}

static int disassemble(FILE *in, FILE *out)
{
	uint8_t b[SEQ_OP_BYTES];
	char line[256];
	size_t got;
	int n = 0;

	while ((got = fread(b, 1, sizeof(b), in)) == sizeof(b)) {
		struct seq_op o;

		if (n++ == SEQ_MAX_OPS) {
			fprintf(out, "# (the harness ignores the rest)\n");
		}
		seq_decode_op(b, &o);
		seq_print_op(&o, line, sizeof(line));
		fprintf(out, "%s\n", line);
	}
	if (got)
		fprintf(out, "# (%zu trailing bytes ignored)\n", got);
	return 0;
}

static int corpus_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int rc = 0;

	if (!d) {
		fprintf(stderr, "%s: %s\n", dir, strerror(errno));
		return 1;
	}
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);
		char in[4096], outp[4096];
		FILE *fi, *fo;

		if (n < 5 || strcmp(de->d_name + n - 4, ".txt"))
			continue;
		snprintf(in, sizeof(in), "%s/%s", dir, de->d_name);
		snprintf(outp, sizeof(outp), "%s/%.*s", dir, (int)(n - 4),
			 de->d_name);
		fi = fopen(in, "r");
		fo = fi ? fopen(outp, "wb") : NULL;
		if (!fi || !fo || assemble(fi, in, fo)) {
			fprintf(stderr, "%s: failed\n", in);
			rc = 1;
		}
		if (fi)
			fclose(fi);
		if (fo)
			fclose(fo);
	}
	closedir(d);
	return rc;
}

int main(int argc, char **argv)
{
	const char *outp = NULL, *dir = NULL;
	FILE *in = stdin, *out = stdout;
	int dis = 0, c, rc;

	while ((c = getopt(argc, argv, "do:c:h")) != -1) {
		switch (c) {
		case 'd':
			dis = 1;
			break;
		case 'o':
			outp = optarg;
			break;
		case 'c':
			dir = optarg;
			break;
		default:
			fprintf(stderr,
				"usage: %s [-d] [-o OUT] [IN] | -c DIR\n",
				argv[0]);
			return c == 'h' ? 0 : 2;
		}
	}
	if (dir)
		return corpus_dir(dir);
	if (optind < argc && !(in = fopen(argv[optind], dis ? "rb" : "r"))) {
		fprintf(stderr, "%s: %s\n", argv[optind], strerror(errno));
		return 1;
	}
	if (outp && !(out = fopen(outp, dis ? "w" : "wb"))) {
		fprintf(stderr, "%s: %s\n", outp, strerror(errno));
		return 1;
	}
	rc = dis ? disassemble(in, out)
		 : assemble(in, optind < argc ? argv[optind] : "stdin", out);
	if (out != stdout && fclose(out))
		rc = -1;
	return rc ? 1 : 0;
}
