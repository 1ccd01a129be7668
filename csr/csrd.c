/* SPDX-License-Identifier: MIT */
/*
 * csrd - a CSRSS-like server on liblpc.
 *
 * Creates <ObjectDirectory>\ApiPort and serves it with a pool of request
 * threads: --threads static ones, plus dynamic ones started whenever every
 * thread is busy, up to --max-threads (csrss's MaxRequestThreads); an idle
 * dynamic thread retires.  SIGTERM or SIGINT stops it cleanly: every
 * thread finishes its call, every client is disconnected, exit status 0.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "srv.h"

/* How often an idle request thread looks at the stop flag, and how long
 * an idle dynamic thread lives. */
#define POLL_MS 250
#define RETIRE_MS 5000

static struct csr_server srv;
static int stopping;	/* __atomic: read by every request thread */
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pool_cond = PTHREAD_COND_INITIALIZER;
static unsigned nthreads, peak_threads;	/* pool_lock */
static unsigned nidle;				/* __atomic */

static void *request_thread(void *arg);

/* Caller holds pool_lock. */
static int spawn_locked(bool dynamic)
{
	pthread_attr_t a;
	pthread_t t;
	int r;

	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	r = pthread_create(&t, &a, request_thread,
			   (void *)(uintptr_t)dynamic);
	pthread_attr_destroy(&a);
	if (r)
		return -r;
	nthreads++;
	if (nthreads > peak_threads)
		peak_threads = nthreads;
	return 0;
}

static void *request_thread(void *arg)
{
	bool dynamic = (uintptr_t)arg;
	LARGE_INTEGER timeout = { .QuadPart = -POLL_MS * 10000LL };
	CSR_API_MESSAGE msg;
	struct csr_process *reply_to = NULL;
	bool reply = false;
	unsigned idle_ms = 0;
	size_t got;
	void *ctx;
	NTSTATUS st;

	for (;;) {
		HANDLE rport = reply && reply_to ? reply_to->port : srv.api_port;

		/* Counted without the pool lock: two atomic operations per
		 * message instead of two lock round trips. */
		__atomic_add_fetch(&nidle, 1, __ATOMIC_RELAXED);
		/* Reply and receive in one call, as csrss does: the reply
		 * goes through the client's own comm port. */
		st = NtReplyWaitReceivePortEx(rport, &ctx,
					      reply ? &msg.Header : NULL,
					      &msg.Header, &timeout);
		__atomic_sub_fetch(&nidle, 1, __ATOMIC_RELAXED);
		csr_process_put(&srv, reply_to);
		reply_to = NULL;
		reply = false;
		if (__atomic_load_n(&stopping, __ATOMIC_ACQUIRE))
			break;
		if (st == STATUS_TIMEOUT) {
			idle_ms += POLL_MS;
			if (dynamic && idle_ms >= RETIRE_MS)
				break;
			continue;
		}
		idle_ms = 0;
		if (st != STATUS_SUCCESS) {
			/* A reply to a client that died, or a bizarre
			 * status: nothing was received; start over. */
			csr_log(&srv, 1, "receive: status 0x%08x", (unsigned)st);
			continue;
		}
		/* Every thread busy: one more, if the pool may grow. */
		if (__atomic_load_n(&nidle, __ATOMIC_RELAXED) == 0) {
			pthread_mutex_lock(&pool_lock);
			if (nthreads < srv.opt.max_threads &&
			    spawn_locked(true) == 0)
				csr_log(&srv, 1, "all %u request threads busy: "
					"started one more", nthreads - 1);
			pthread_mutex_unlock(&pool_lock);
		}
		/* Bytes past what was delivered (the header and DataLength
		 * rounded up to 4) are zero, never a previous message's. */
		got = sizeof(PORT_MESSAGE) +
		      (((USHORT)msg.Header.u1.s1.DataLength + 3u) & ~3u);
		if (got < sizeof(msg))
			memset((char *)&msg + got, 0, sizeof(msg) - got);
		reply = csr_server_handle(&srv, ctx, &msg, &reply_to);
	}
	if (reply_to)
		csr_process_put(&srv, reply_to);
	pthread_mutex_lock(&pool_lock);
	nthreads--;
	pthread_cond_broadcast(&pool_cond);
	pthread_mutex_unlock(&pool_lock);
	return NULL;
}

static int to_unicode(const char *s, UNICODE_STRING *us, WCHAR *buf,
		      size_t cap)
{
	size_t n = strlen(s);

	if (n >= cap)
		return -ENAMETOOLONG;
	for (size_t i = 0; i < n; i++)
		buf[i] = (WCHAR)(unsigned char)s[i];
	buf[n] = 0;
	RtlInitUnicodeString(us, buf);
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
"usage: csrd [options]\n"
"  -d, --object-directory DIR  serve DIR\\ApiPort (default \\Windows)\n"
"  -p, --profile NAME          dispatch tables of a Windows version\n"
"      --list-profiles         print the profiles and exit\n"
"  -t, --threads N             static request threads (default 2)\n"
"  -m, --max-threads N         with dynamic ones, at most N (default 16)\n"
"  -c, --console-dir DIR       where console logs go (default: none)\n"
"      --strict-registration   NT's rule: only processes registered with\n"
"                              BasepCreateProcess may connect\n"
"      --max-processes N       connected processes at most (default 4096)\n"
"  -q, --quiet                 no log line for refusals\n"
"  -v, --verbose               connections (-vv: every call)\n"
"Environment: LPC_ROOT (the namespace), LPC_BACKEND (sync|uring).\n");
}

static int parse_uint(const char *s, unsigned min, unsigned max,
		      unsigned *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return -1;
	*out = (unsigned)v;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "object-directory", required_argument, NULL, 'd' },
		{ "profile", required_argument, NULL, 'p' },
		{ "list-profiles", no_argument, NULL, 'L' },
		{ "threads", required_argument, NULL, 't' },
		{ "max-threads", required_argument, NULL, 'm' },
		{ "console-dir", required_argument, NULL, 'c' },
		{ "strict-registration", no_argument, NULL, 'S' },
		{ "max-processes", required_argument, NULL, 'P' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct csr_options o;
	char name[512];
	WCHAR wname[512];
	UNICODE_STRING us;
	OBJECT_ATTRIBUTES oa = { .Length = sizeof(oa) };
	sigset_t set;
	NTSTATUS st;
	int c, sig;

	csr_options_default(&o);
	while ((c = getopt_long(argc, argv, "d:p:t:m:c:qvh", longopts,
				NULL)) != -1) {
		switch (c) {
		case 'd':
			o.object_directory = optarg;
			break;
		case 'p':
			o.profile = optarg;
			break;
		case 'L':
			for (unsigned i = 0; csr_profiles[i]; i++)
				printf("%-6s %s%s\n", csr_profiles[i]->name,
				       csr_profiles[i]->description,
				       i ? "" : " (default)");
			return 0;
		case 't':
			if (parse_uint(optarg, 1, 64, &o.static_threads))
				goto bad;
			break;
		case 'm':
			if (parse_uint(optarg, 1, 256, &o.max_threads))
				goto bad;
			break;
		case 'c':
			o.console_dir = optarg;
			break;
		case 'S':
			o.strict_registration = true;
			break;
		case 'P':
			if (parse_uint(optarg, 1, 1 << 20, &o.max_processes))
				goto bad;
			break;
		case 'q':
			o.verbose = -1;
			break;
		case 'v':
			o.verbose++;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc)
		goto bad_arg;
	if (o.max_threads < o.static_threads)
		o.max_threads = o.static_threads;

	/* Signals are taken synchronously by the main thread only. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (csr_server_init(&srv, &o))
		return 1;
	if ((size_t)snprintf(name, sizeof(name), "%s\\%s", o.object_directory,
			     CSR_PORT_NAME) >= sizeof(name) ||
	    to_unicode(name, &us, wname, 512)) {
		csr_log(&srv, -1, "object directory name too long");
		goto fail;
	}
	oa.ObjectName = &us;
	st = NtCreatePort(&srv.api_port, &oa, sizeof(CSR_API_CONNECTINFO),
			  sizeof(CSR_API_MESSAGE), 16 * 4096);
	if (st != STATUS_SUCCESS) {
		csr_log(&srv, -1, "cannot create %s: status 0x%08x%s", name,
			(unsigned)st,
			st == STATUS_OBJECT_NAME_COLLISION ?
				" (another csrd serves it)" : "");
		goto fail;
	}
	pthread_mutex_lock(&pool_lock);
	for (unsigned i = 0; i < o.static_threads; i++)
		if (spawn_locked(false)) {
			pthread_mutex_unlock(&pool_lock);
			csr_log(&srv, -1, "cannot start request threads");
			goto fail;
		}
	pthread_mutex_unlock(&pool_lock);
	csr_log(&srv, 0, "serving %s (profile %s, %u-%u threads, backend %s)",
		name, srv.profile->name, o.static_threads, o.max_threads,
		lpc_backend_name());

	do {
		if (sigwait(&set, &sig))
			sig = SIGTERM;
	} while (sig == SIGHUP);

	__atomic_store_n(&stopping, 1, __ATOMIC_RELEASE);
	pthread_mutex_lock(&pool_lock);
	while (nthreads)
		pthread_cond_wait(&pool_cond, &pool_lock);
	pthread_mutex_unlock(&pool_lock);
	csr_log(&srv, 0, "stopping on signal %d: %lu calls (%lu refused), "
		"%lu connections (%lu refused), %u threads at most",
		sig, srv.calls, srv.refused_calls, srv.connects,
		srv.refused_connects, peak_threads);
	NtClose(srv.api_port);
	csr_server_fini(&srv);
	return 0;

bad:
	fprintf(stderr, "csrd: bad value for option: %s\n", optarg);
	return 2;
bad_arg:
	fprintf(stderr, "csrd: unexpected argument: %s\n", argv[optind]);
	return 2;
fail:
	csr_server_fini(&srv);
	return 1;
}
