/* SPDX-License-Identifier: MIT */
/*
 * lpctrace: trace LPC port operations with eBPF.
 *
 * This file runs the lifecycle only: options → checks → open → set the
 * filters → load → attach → poll → summary → cleanup.  Options are env.c,
 * attaching attach.c, names decode.c, formats out_*.c, the maps' views
 * stat.c and waits.c, the port listing ports.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "attach.h"
#include "env.h"
#include "lpctrace.skel.h"
#include "ports.h"
#include "session.h"
#include "snapshot.h"

static volatile sig_atomic_t exiting;

static void on_signal(int sig)
{
	(void)sig;
	exiting = 1;
}

static struct env env;

static int print_libbpf(enum libbpf_print_level level, const char *fmt,
			va_list args)
{
	if (level == LIBBPF_DEBUG && env.verbose < 2)
		return 0;
	if (level == LIBBPF_INFO && env.verbose < 1)
		return 0;
	return vfprintf(stderr, fmt, args);
}

uint64_t now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* What this machine must offer, checked before libbpf says it less
 * clearly. */
static int preflight(void)
{
	if (geteuid() != 0) {
		fprintf(stderr, "lpctrace: must run as root (loading BPF "
			"programs needs CAP_BPF and CAP_PERFMON)\n");
		return -EPERM;
	}
	if (access("/sys/kernel/btf/vmlinux", R_OK)) {
		fprintf(stderr, "lpctrace: this kernel has no BTF "
			"(/sys/kernel/btf/vmlinux is missing; it needs "
			"CONFIG_DEBUG_INFO_BTF=y)\n");
		return -ENOTSUP;
	}
	/* libbpf creates uprobes through the uprobe PMU, else through
	 * tracefs. */
	if (access("/sys/bus/event_source/devices/uprobe/type", R_OK) &&
	    access("/sys/kernel/tracing/uprobe_events", W_OK) &&
	    access("/sys/kernel/debug/tracing/uprobe_events", W_OK)) {
		fprintf(stderr, "lpctrace: no uprobe support: neither the "
			"uprobe PMU nor tracefs (mount -t tracefs nodev "
			"/sys/kernel/tracing) is available\n");
		return -ENOTSUP;
	}
	return 0;
}

/* "\Windows\ApiPort" as the probes carry it: "Windows/ApiPort". */
static void rel_name(const char *nt, char *out, size_t len)
{
	size_t j = 0;

	while (*nt == '\\')
		nt++;
	for (; *nt && j + 1 < len; nt++)
		out[j++] = *nt == '\\' ? '/' : *nt;
	out[j] = '\0';
}

static void set_filters(struct lpctrace_bpf *skel)
{
	struct lpctrace_bpf__rodata *ro = skel->rodata;

	ro->targ_pid = env.command ? 0 : (__u32)env.pid;
	ro->targ_follow = env.command != NULL;
	ro->targ_tid = (__u32)env.tid;
	ro->targ_uid = env.uid < 0 ? (__u32)-1 : (__u32)env.uid;
	if (env.comm)
		strncpy((char *)ro->targ_comm, env.comm, LPCT_COMM_LEN - 1);
	ro->targ_failed = env.failed;
	ro->targ_types = env.types;
	ro->targ_api_set = env.api_set;
	ro->targ_api = env.api;
	if (env.port) {
		ro->targ_port = true;
		rel_name(env.port, (char *)ro->targ_port_name, LPCT_NAME_LEN);
	}
	ro->targ_snaplen = env.snaplen;
	ro->targ_emit = env.mode == MODE_TRACE;
}

/*
 * Names the records cannot teach: ports created before a filter let their
 * port_create through (or before tracing).  The kernel's port map knows
 * every port created while attached; read it when a record names an
 * unknown one, at most every 50 ms.
 */
static void learn_from_map(struct session *s, const struct lpct_event *e)
{
	static uint64_t last;
	struct lpct_port_key k, next, *prev = NULL;
	struct lpct_port_info v;
	uint64_t now;
	int fd;

	switch (e->probe) {
	case LPCT_P_PORT_CLOSE: case LPCT_P_LISTEN: case LPCT_P_COMPLETE:
	case LPCT_P_SEND: case LPCT_P_RECEIVE: case LPCT_P_REPLY:
	case LPCT_P_EXCEPTION: case LPCT_P_VIEW: case LPCT_P_WAIT_BEGIN:
	case LPCT_P_WAIT_END:
		break;
	default:
		return;
	}
	if (portnames__of_event(s->pn, e))
		return;
	now = now_ns(CLOCK_MONOTONIC);
	if (now - last < 50000000ull)
		return;
	last = now;
	fd = bpf_map__fd(s->skel->maps.lpct_ports);
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		if (bpf_map_lookup_elem(fd, &next, &v) == 0) {
			char rel[LPCT_NAME_LEN + 1];

			memcpy(rel, v.name, LPCT_NAME_LEN);
			rel[LPCT_NAME_LEN] = '\0';
			portnames__add(s->pn, next.pid, next.port, v.domain,
				       v.kind, rel);
		}
		k = next;
		prev = &k;
	}
}

static int handle_event(void *ctx, void *data, size_t size)
{
	struct session *s = ctx;
	const struct lpct_event *e = data;
	int r;

	/* A record this lpctrace does not understand is skipped, not
	 * fatal: a negative return would stop the polling loop. */
	if (size < sizeof(*e) || e->rec != LPCT_REC_EVENT ||
	    e->snap_len > size - sizeof(*e))
		return 0;
	s->events++;
	portnames__learn(s->pn, e);
	learn_from_map(s, e);
	if (!s->out || s->write_error)
		return 0;
	r = output__event(s->out, e);
	if (r) {
		/* Reader gone (EPIPE) or disk full: stop cleanly. */
		s->write_error = r;
		exiting = 1;
	}
	return 0;
}

/* The command waits for this pipe to close, so that its pid is in the
 * follow set and every probe is attached before it runs. */
static pid_t start_command(char **argv, int *release_fd)
{
	int p[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return -errno;
	}
	if (pid == 0) {
		char c;

		close(p[1]);
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		/* EOF without a byte: lpctrace failed before attaching. */
		if (read(p[0], &c, 1) != 1)
			_exit(127);
		execvp(argv[0], argv);
		fprintf(stderr, "lpctrace: %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(p[0]);
	*release_fd = p[1];
	return pid;
}

static void read_drops(struct session *s, uint64_t *out)
{
	int fd = bpf_map__fd(s->skel->maps.lpct_drops);

	for (__u32 i = 0; i < LPCT_DROP_MAX; i++) {
		__u64 v = 0;

		bpf_map_lookup_elem(fd, &i, &v);
		out[i] = v;
	}
}

static const char *const drop_what[LPCT_DROP_MAX] = {
	[LPCT_DROP_RINGBUF] = "records lost: ring buffer full (enlarge it "
			      "with -B, or filter)",
	[LPCT_DROP_WAITS] = "waits not tracked: waits map full",
	[LPCT_DROP_HELD] = "held requests not tracked: map full",
	[LPCT_DROP_STATS] = "counter updates lost: stats map full",
	[LPCT_DROP_PORTS] = "ports not tracked: ports map full",
};

/* Drops are always reported, as they happen and at the end. */
static void report_drops(struct session *s)
{
	uint64_t d[LPCT_DROP_MAX];

	read_drops(s, d);
	for (int i = 0; i < LPCT_DROP_MAX; i++) {
		if (d[i] != s->drops[i])
			fprintf(stderr, "lpctrace: WARNING: %llu %s\n",
				(unsigned long long)(d[i] - s->drops[i]),
				drop_what[i]);
		s->drops[i] = d[i];
	}
}

static void print_views(struct session *s, bool final)
{
	FILE *f = stdout;

	if (env.mode == MODE_STAT)
		stat__print(s, f, final);
	fflush(f);
}

static int attach_all(struct session *s, int *release_fd)
{
	int r;

	for (int i = 0; i < env.nbinaries; i++) {
		r = attacher__add_file(s->att, env.binaries[i]);
		if (r < 0)
			return r;
		if (r == 0)
			fprintf(stderr, "lpctrace: warning: %s carries no lpc "
				"or csrd probes\n", env.binaries[i]);
	}
	if (env.command) {
		__u8 one = 1;
		__u32 pid;

		s->child = start_command(env.command, release_fd);
		if (s->child < 0) {
			fprintf(stderr, "lpctrace: fork: %s\n",
				strerror((int)-s->child));
			return (int)s->child;
		}
		pid = (__u32)s->child;
		r = bpf_map_update_elem(bpf_map__fd(s->skel->maps.lpct_pids),
					&pid, &one, BPF_ANY);
		if (r)
			return -errno;
		attacher__add_siblings(s->att);
		r = attacher__add_command(s->att, env.command[0]);
		if (r < 0)
			return r;
		attacher__scan(s->att, 0);
	} else if (env.pid) {
		if (kill(env.pid, 0) && errno == ESRCH) {
			fprintf(stderr, "lpctrace: no process %d\n", env.pid);
			return -ESRCH;
		}
		attacher__scan(s->att, env.pid);
		if (!attacher__nfiles(s->att)) {
			fprintf(stderr, "lpctrace: process %d does not use "
				"liblpc (no file it maps carries lpc "
				"probes)\n", env.pid);
			return -ENOENT;
		}
	} else {
		attacher__add_siblings(s->att);
		attacher__scan(s->att, 0);
	}
	if (!attacher__nfiles(s->att)) {
		fprintf(stderr, "lpctrace: no process uses liblpc and no "
			"program with its probes was found; start one, or "
			"name it with -b PATH\n");
		return -ENOENT;
	}
	return 0;
}

static int run(struct session *s)
{
	uint64_t start = now_ns(CLOCK_MONOTONIC), last_scan = start;
	uint64_t last_view = start, dur = (uint64_t)(env.duration * 1e9);
	uint64_t ivl = (uint64_t)(env.interval * 1e9);
	int release_fd = -1, r;

	s->start = start;
	r = attach_all(s, &release_fd);
	if (r)
		goto out;
	if (env.mode == MODE_TRACE) {
		struct output_opts oo = {
			.snaplen = env.snaplen,
			.t0 = start,
			.realtime_off = (int64_t)(now_ns(CLOCK_REALTIME) -
						  now_ns(CLOCK_MONOTONIC)),
			.verbose = env.verbose,
		};

		s->out = output__open(env.fmt, env.output, s->pn, &oo);
		if (!s->out) {
			r = -errno;
			fprintf(stderr, "lpctrace: %s: %s\n",
				env.output ? env.output : "stdout",
				strerror(-r));
			goto out;
		}
	}
	s->rb = ring_buffer__new(bpf_map__fd(s->skel->maps.lpct_events),
				 handle_event, s, NULL);
	if (!s->rb) {
		r = -errno;
		fprintf(stderr, "lpctrace: ring buffer: %s\n", strerror(-r));
		goto out;
	}
	if (!env.quiet)
		fprintf(stderr, "lpctrace: %s %d file%s with LPC probes%s; "
			"Ctrl-C to stop\n",
			env.mode == MODE_TRACE ? "tracing" :
			env.mode == MODE_STAT ? "counting" : "watching",
			attacher__nfiles(s->att),
			attacher__nfiles(s->att) == 1 ? "" : "s",
			env.pid ? " in one process" : "");
	if (release_fd >= 0) {
		(void)!write(release_fd, "g", 1);
		close(release_fd);
		release_fd = -1;
	}
	while (!exiting) {
		uint64_t now;

		r = ring_buffer__poll(s->rb, 100);
		if (r < 0 && r != -EINTR) {
			fprintf(stderr, "lpctrace: polling: %s\n",
				strerror(-r));
			break;
		}
		/* Live means live, into a pipe too: one flush per batch. */
		if (r > 0 && s->out)
			fflush(s->out->f);
		now = now_ns(CLOCK_MONOTONIC);
		if (s->child > 0 && !s->child_done) {
			int st;

			if (waitpid(s->child, &st, WNOHANG) == s->child) {
				s->child_done = true;
				s->child_status = st;
				break;
			}
		}
		if (dur && now - start >= dur)
			break;
		/* -p: the trace ends with its process, as strace -p does. */
		if (env.pid && kill(env.pid, 0) < 0 && errno == ESRCH) {
			if (!env.quiet)
				fprintf(stderr, "lpctrace: process %d exited\n",
					env.pid);
			break;
		}
		if (now - last_scan >= 1000000000ull) {
			/* New programs that carry the probes. */
			if (!env.pid)
				attacher__scan(s->att, 0);
			report_drops(s);
			last_scan = now;
		}
		if (ivl && now - last_view >= ivl) {
			print_views(s, false);
			last_view = now;
		}
	}
	/* What is still queued belongs to the trace. */
	ring_buffer__consume(s->rb);
	report_drops(s);
	s->duration = now_ns(CLOCK_MONOTONIC) - start;
	if (env.mode != MODE_TRACE)
		print_views(s, true);
	r = s->write_error;
	if (r == -EPIPE)
		r = 0;
out:
	if (release_fd >= 0)
		close(release_fd);	/* the command exits 127 unrun */
	return r;
}

/* Ctrl-C's summary: who was still waiting when the trace ended. */
static void print_unanswered(struct session *s)
{
	struct snapshot *snap = snapshot__read(s);
	size_t n = 0;

	for (size_t i = 0; snap && i < snap->nwaits; i++)
		n += snap->waits[i].w.kind == LPCT_W_REPLY;
	if (n) {
		fprintf(stderr, "lpctrace: %zu thread%s still waiting for a "
			"reply at the end:\n", n, n == 1 ? " was" : "s were");
		waits__print(snap, stderr, 0);
	}
	snapshot__free(snap);
}

static int finish_output(struct session *s)
{
	struct output_summary sum = { .events = s->events,
				      .duration_ns = s->duration };

	memcpy(sum.drops, s->drops, sizeof(sum.drops));
	if (!env.quiet) {
		fprintf(stderr, "lpctrace: %llu records in %.3f s",
			(unsigned long long)s->events, s->duration / 1e9);
		if (s->drops[LPCT_DROP_RINGBUF])
			fprintf(stderr, ", %llu LOST (ring buffer full)",
				(unsigned long long)s->drops[LPCT_DROP_RINGBUF]);
		else
			fprintf(stderr, ", none dropped");
		fputc('\n', stderr);
		print_unanswered(s);
	}
	return output__close(s->out, &sum);
}

/*
 * lpctrace waits reads what liblpc publishes in each process: it sees
 * waits that began before it ran, needs no BPF, and can be repeated.
 */
static int run_waits(void)
{
	uint64_t start = now_ns(CLOCK_MONOTONIC);
	uint64_t dur = (uint64_t)(env.duration * 1e9);
	int ret = 0;

	for (;;) {
		int nprocs, denied;
		/* Every process, whatever -p says: the holder of a message
		 * is in another one. */
		struct snapshot *snap = snapshot__from_tables(0, &nprocs,
							      &denied);
		time_t now = time(NULL);
		char when[32];

		if (!snap) {
			fprintf(stderr, "lpctrace: reading /proc: %s\n",
				strerror(errno));
			return 1;
		}
		strftime(when, sizeof(when), "%H:%M:%S", localtime(&now));
		printf("lpctrace waits at %s: %d process%s with LPC state\n",
		       when, nprocs, nprocs == 1 ? "" : "es");
		if (denied)
			fprintf(stderr, "lpctrace: %d process%s could not be "
				"read (not root?)\n", denied,
				denied == 1 ? "" : "es");
		if (env.pid && !snapshot__publishes(env.pid)) {
			fprintf(stderr, "lpctrace: process %d publishes no LPC "
				"state (does it use liblpc? is it running?)\n",
				env.pid);
			ret = 1;
		}
		waits__print(snap, stdout, env.pid);
		snapshot__free(snap);
		fflush(stdout);
		if (!env.interval || exiting)
			break;
		for (double t = 0; t < env.interval && !exiting; t += 0.1)
			usleep(100000);
		if (exiting ||
		    (dur && now_ns(CLOCK_MONOTONIC) - start >= dur))
			break;
		putchar('\n');
	}
	return ret;
}

int main(int argc, char **argv)
{
	struct session s = { 0 };
	struct sigaction sa = { .sa_handler = on_signal };
	int r;

	r = env__parse(&env, argc, argv);
	if (r)
		return r > 0 ? 0 : 2;
	s.env = &env;
	if (env.mode == MODE_PORTS) {
		struct ports_opts po = { .root = env.root, .json = env.json,
					 .pid = env.pid,
					 .verbose = env.verbose };

		return ports__run(&po, stdout) ? 1 : 0;
	}
	if (env.mode == MODE_WAITS) {
		struct sigaction sw = { .sa_handler = on_signal };

		sigaction(SIGINT, &sw, NULL);
		sigaction(SIGTERM, &sw, NULL);
		return run_waits();
	}
	r = preflight();
	if (r)
		return 1;
	libbpf_set_print(print_libbpf);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	s.pn = portnames__new();
	s.skel = lpctrace_bpf__open();
	if (!s.pn || !s.skel) {
		fprintf(stderr, "lpctrace: opening the BPF object: %s\n",
			strerror(errno));
		r = -errno;
		goto cleanup;
	}
	set_filters(s.skel);
	bpf_map__set_max_entries(s.skel->maps.lpct_events,
				 env.buffer_mb << 20);
	r = lpctrace_bpf__load(s.skel);
	if (r) {
		fprintf(stderr, "lpctrace: loading the BPF programs: %s%s\n",
			strerror(-r), env.verbose < 2 ?
			" (-vv shows libbpf's log)" : "");
		goto cleanup;
	}
	/* The two tracepoints; the USDT programs are attached per file. */
	s.links[0] = bpf_program__attach(s.skel->progs.lpct_fork);
	s.links[1] = bpf_program__attach(s.skel->progs.lpct_exit);
	if (!s.links[0] || !s.links[1]) {
		r = -errno;
		fprintf(stderr, "lpctrace: attaching sched tracepoints: %s\n",
			strerror(-r));
		goto cleanup;
	}
	s.att = attacher__new(s.skel->obj, env.command ? 0 : env.pid,
			      env.verbose);
	if (!s.att) {
		r = -errno;
		goto cleanup;
	}
	r = run(&s);
	if (r == 0 || s.out) {
		int r2 = finish_output(&s);

		s.out = NULL;
		if (!r)
			r = r2;
	}
cleanup:
	output__close(s.out, NULL);
	ring_buffer__free(s.rb);
	attacher__free(s.att);
	bpf_link__destroy(s.links[0]);
	bpf_link__destroy(s.links[1]);
	lpctrace_bpf__destroy(s.skel);
	portnames__free(s.pn);
	if (r)
		return 1;
	if (s.child > 0) {
		if (!s.child_done) {
			/* Stopped by Ctrl-C or -d: the command goes too. */
			kill(s.child, SIGTERM);
			waitpid(s.child, &s.child_status, 0);
		}
		if (WIFEXITED(s.child_status))
			return WEXITSTATUS(s.child_status);
		return 128 + WTERMSIG(s.child_status);
	}
	return 0;
}
