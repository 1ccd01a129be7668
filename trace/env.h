/* SPDX-License-Identifier: MIT */
/* lpctrace's command line. */
#ifndef LPCTRACE_ENV_H
#define LPCTRACE_ENV_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "output.h"

enum lpct_mode {
	MODE_TRACE,	/* live records */
	MODE_STAT,	/* counters and histograms */
	MODE_WAITS,	/* who waits on whom */
	MODE_PORTS,	/* which ports exist */
};

#define ENV_MAX_BINARIES 32

struct env {
	enum lpct_mode mode;
	/* Filters, applied in the kernel. */
	pid_t pid;
	pid_t tid;
	long uid;			/* -1: any */
	const char *comm;
	const char *port;		/* NT name of a connection port */
	uint32_t types;			/* bit per message type; 0: all */
	bool api_set;
	uint32_t api;
	bool failed;
	/* Output. */
	enum output_fmt fmt;
	const char *output;		/* NULL: stdout */
	unsigned snaplen;
	bool json;			/* ports */
	const char *profile;
	/* Timing. */
	double duration;		/* s; 0: until Ctrl-C or the command ends */
	double interval;		/* s; stat and waits */
	/* Attaching. */
	const char *binaries[ENV_MAX_BINARIES];
	int nbinaries;
	unsigned buffer_mb;		/* ring buffer size */
	const char *root;		/* $LPC_ROOT for ports */
	char **command;			/* after "--", or NULL */
	int verbose;
	bool quiet;
};

/* Parses argv into env; prints usage or an error and returns -1 (bad
 * usage), 1 (--help printed), or 0. */
int env__parse(struct env *env, int argc, char **argv);

#endif
