/* SPDX-License-Identifier: MIT */
/* lpctrace's options (env.h). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "env.h"

static const char usage[] =
"usage: lpctrace [OPTIONS] [-- COMMAND [ARG...]]   trace LPC operations live\n"
"       lpctrace stat [OPTIONS] [-- COMMAND...]     counts, errors, latency\n"
"       lpctrace waits [OPTIONS]                    who waits on whom\n"
"       lpctrace ports [--json] [-v] [-p PID]       which ports exist\n"
"\n"
"Without -p or a COMMAND, every process using liblpc (or carrying its\n"
"probes) is traced, including ones that start later.\n"
"\n"
"Filters (applied in the kernel):\n"
"  -p, --pid PID          only this process\n"
"  -t, --tid TID          only this thread\n"
"  -u, --uid UID          only processes of this user\n"
"  -c, --comm NAME        only processes with this command name\n"
"  -P, --port NAME        only this port and its connections (NT name,\n"
"                         e.g. '\\Windows\\ApiPort'; the port must be\n"
"                         created or connected while tracing)\n"
"  -T, --type LIST        message records of these types only: request,\n"
"                         reply, datagram, port_closed, client_died,\n"
"                         exception, connection_request, or numbers\n"
"  -a, --api API          csrd:api records of this API only (name or number)\n"
"  -x, --failed           only calls that failed and waits that timed out\n"
"Output:\n"
"  -f, --format FMT       text (default), ndjson, perfetto, pcapng\n"
"  -o, --output FILE      write there instead of stdout\n"
"  -s, --snaplen N        copy up to N bytes of each message (max 512)\n"
"      --profile NAME     CSR profile for API names (ws03, xp, win7, nt4)\n"
"      --json             ports: NDJSON\n"
"Timing and attaching:\n"
"  -d, --duration SECS    stop after SECS\n"
"  -i, --interval SECS    stat, waits: print every SECS\n"
"  -b, --binary PATH      also attach to this program or library\n"
"  -B, --buffer MB        ring buffer size (default 8)\n"
"      --root DIR         ports: the namespace root (default: $LPC_ROOT)\n"
"  -q, --quiet            no banner or summary on stderr\n"
"  -v, --verbose          more detail; -vv adds libbpf's debug output\n"
"  -h, --help\n";

enum { OPT_PROFILE = 256, OPT_JSON, OPT_ROOT };

static const struct option opts[] = {
	{ "pid", required_argument, NULL, 'p' },
	{ "tid", required_argument, NULL, 't' },
	{ "uid", required_argument, NULL, 'u' },
	{ "comm", required_argument, NULL, 'c' },
	{ "port", required_argument, NULL, 'P' },
	{ "type", required_argument, NULL, 'T' },
	{ "api", required_argument, NULL, 'a' },
	{ "failed", no_argument, NULL, 'x' },
	{ "format", required_argument, NULL, 'f' },
	{ "output", required_argument, NULL, 'o' },
	{ "snaplen", required_argument, NULL, 's' },
	{ "profile", required_argument, NULL, OPT_PROFILE },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "duration", required_argument, NULL, 'd' },
	{ "interval", required_argument, NULL, 'i' },
	{ "binary", required_argument, NULL, 'b' },
	{ "buffer", required_argument, NULL, 'B' },
	{ "root", required_argument, NULL, OPT_ROOT },
	{ "quiet", no_argument, NULL, 'q' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ 0 },
};

static int bad(const char *what, const char *arg)
{
	fprintf(stderr, "lpctrace: invalid %s: '%s'\n", what, arg);
	return -1;
}

static int parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 0);
	if (errno || !*s || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

static int parse_secs(const char *s, double *out)
{
	char *end;
	double v = strtod(s, &end);

	if (!*s || *end || !(v > 0) || v > 1e7)
		return -1;
	*out = v;
	return 0;
}

static int parse_types(const char *list, uint32_t *mask)
{
	char buf[256], *save = NULL, *tok;

	if (strlen(list) >= sizeof(buf))
		return -1;
	strcpy(buf, list);
	*mask = 0;
	for (tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		int t = decode__type_by_name(tok);

		if (t < 0 || t >= 32)
			return -1;
		*mask |= 1u << t;
	}
	return *mask ? 0 : -1;
}

int env__parse(struct env *env, int argc, char **argv)
{
	const char *api = NULL;
	long v;
	int c;

	memset(env, 0, sizeof(*env));
	env->uid = -1;
	env->fmt = OUT_TEXT;
	env->buffer_mb = 8;
	if (argc > 1) {
		static const struct {
			const char *name;
			enum lpct_mode mode;
		} modes[] = { { "trace", MODE_TRACE }, { "stat", MODE_STAT },
			      { "waits", MODE_WAITS }, { "ports", MODE_PORTS } };

		for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
			if (!strcmp(argv[1], modes[i].name)) {
				env->mode = modes[i].mode;
				argv[1] = argv[0];
				argc--;
				argv++;
				break;
			}
		}
	}
	while ((c = getopt_long(argc, argv, "p:t:u:c:P:T:a:xf:o:s:d:i:b:B:qvh",
				opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (parse_long(optarg, 1, 0x3fffffff, &v))
				return bad("pid", optarg);
			env->pid = (pid_t)v;
			break;
		case 't':
			if (parse_long(optarg, 1, 0x3fffffff, &v))
				return bad("tid", optarg);
			env->tid = (pid_t)v;
			break;
		case 'u':
			if (parse_long(optarg, 0, 0xfffffffe, &v))
				return bad("uid", optarg);
			env->uid = v;
			break;
		case 'c':
			if (strlen(optarg) >= LPCT_COMM_LEN)
				return bad("comm (at most 15 characters)",
					   optarg);
			env->comm = optarg;
			break;
		case 'P':
			if (optarg[0] != '\\' || strlen(optarg) > LPCT_NAME_LEN)
				return bad("port (an NT name such as "
					   "'\\Windows\\ApiPort')", optarg);
			env->port = optarg;
			break;
		case 'T':
			if (parse_types(optarg, &env->types))
				return bad("type list", optarg);
			break;
		case 'a':
			api = optarg;
			break;
		case 'x':
			env->failed = true;
			break;
		case 'f':
			if (output__fmt_by_name(optarg) < 0)
				return bad("format (text, ndjson, perfetto, "
					   "pcapng)", optarg);
			env->fmt = (enum output_fmt)output__fmt_by_name(optarg);
			break;
		case 'o':
			env->output = optarg;
			break;
		case 's':
			if (parse_long(optarg, 0, LPCT_SNAP_MAX, &v))
				return bad("snap length (0..512)", optarg);
			env->snaplen = (unsigned)v;
			break;
		case OPT_PROFILE:
			if (decode__set_profile(optarg))
				return bad("profile (ws03, xp, win7, nt4)",
					   optarg);
			env->profile = optarg;
			break;
		case OPT_JSON:
			env->json = true;
			break;
		case 'd':
			if (parse_secs(optarg, &env->duration))
				return bad("duration", optarg);
			break;
		case 'i':
			if (parse_secs(optarg, &env->interval))
				return bad("interval", optarg);
			break;
		case 'b':
			if (env->nbinaries == ENV_MAX_BINARIES) {
				fprintf(stderr, "lpctrace: at most %d -b\n",
					ENV_MAX_BINARIES);
				return -1;
			}
			env->binaries[env->nbinaries++] = optarg;
			break;
		case 'B':
			if (parse_long(optarg, 1, 1024, &v))
				return bad("buffer size in MiB (1..1024)",
					   optarg);
			env->buffer_mb = (unsigned)v;
			break;
		case OPT_ROOT:
			env->root = optarg;
			break;
		case 'q':
			env->quiet = true;
			break;
		case 'v':
			env->verbose++;
			break;
		case 'h':
			fputs(usage, stdout);
			return 1;
		default:
			fputs(usage, stderr);
			return -1;
		}
	}
	/* After the profile option, wherever it was given. */
	if (api) {
		long n = decode__api_by_name(api);

		if (n < 0)
			return bad("API (a name of the profile, or a number)",
				   api);
		env->api_set = true;
		env->api = (uint32_t)n;
	}
	if (optind < argc) {
		if (strcmp(argv[optind - 1], "--") != 0) {
			fprintf(stderr, "lpctrace: unexpected argument '%s' "
				"(a command goes after '--')\n", argv[optind]);
			return -1;
		}
		env->command = &argv[optind];
	}
	if (env->command && env->pid) {
		fprintf(stderr, "lpctrace: -p and a command exclude each other\n");
		return -1;
	}
	if (env->mode == MODE_PORTS && env->command) {
		fprintf(stderr, "lpctrace: ports takes no command\n");
		return -1;
	}
	return 0;
}
