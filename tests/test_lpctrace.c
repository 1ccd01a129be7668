/* SPDX-License-Identifier: MIT */
/*
 * lpctrace against ground truth.  examples/lpc-traffic runs a fixed script
 * of LPC operations and logs exactly what it did (one NDJSON line per
 * operation); these tests trace it and hold every output format, every
 * filter, stat, waits and ports to that log, or to state built here with
 * the engine's own API.
 *
 * Isolation: each test has its own $LPC_ROOT (lpct_setup) and port names
 * carrying the test's pid, because two tests run at once and a
 * system-wide lpctrace sees every process on the machine; records are
 * only ever judged by the pids the test started.
 *
 * Cost: detaching a USDT probe costs ~0.1 s on this kernel (three RCU
 * synchronisations per perf-event uprobe, under the kernel's global
 * event_mutex, so sessions do not overlap either).  Follow-mode tests
 * therefore run a private copy of lpctrace: with no siblings next to it
 * (liblpc.so, csrd, the examples) it attaches only to the command, to
 * what -b names and to running processes, which is what these tests
 * trace anyway.  The system-wide test runs $LPC_BUILD/lpctrace itself.
 *
 * Every wait is bounded, every child dies with the test (PDEATHSIG) and
 * is reaped in .fini.  Without root or BTF, the BPF tests skip visibly.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <lpc/csr.h>

#include "csrt.h"
#include "helpers.h"
#include "ids.h"
#include "json.h"
#include "pcapng.h"

/* lpctrace's exit can take N probes x ~0.1 s, and waits for other
 * sessions' detaching (one kernel mutex): bounds are generous. */
#define TRACE_EXIT_MS 150000
#define BANNER_MS 120000
#define TRAFFIC_MS 90000
#define QUICK_MS 30000

static void suite_init(void);
static void suite_fini(void);

TestSuite(lpctrace, .init = suite_init, .fini = suite_fini, .timeout = 300);

/* ------------------------------------------------------------------ */
/* Children                                                            */
/* ------------------------------------------------------------------ */

static pid_t kids[64];
static int nkids;

static void kid_add(pid_t pid)
{
	if (nkids < (int)(sizeof(kids) / sizeof(kids[0])))
		kids[nkids++] = pid;
}

static void kid_forget(pid_t pid)
{
	for (int i = 0; i < nkids; i++) {
		if (kids[i] == pid) {
			kids[i] = kids[--nkids];
			return;
		}
	}
}

/* The wait status of pid within ms, or -1 (still running). */
static int wait_ms(pid_t pid, long ms)
{
	long start = lpct_now_ms();

	for (;;) {
		int st;
		pid_t r = waitpid(pid, &st, WNOHANG);

		if (r == pid) {
			kid_forget(pid);
			return st;
		}
		if (r < 0 && errno != EINTR) {
			kid_forget(pid);
			return -2;
		}
		if (lpct_now_ms() - start > ms)
			return -1;
		usleep(5000);
	}
}

/* Kill what is left, bounded: a killed lpctrace still detaches. */
static void reap_all(void)
{
	while (nkids > 0) {
		pid_t pid = kids[nkids - 1];

		kill(pid, SIGKILL);
		if (wait_ms(pid, TRACE_EXIT_MS) == -1) {
			fprintf(stderr, "test_lpctrace: child %d did not die\n",
				(int)pid);
			kid_forget(pid);
		}
	}
}

/*
 * Memory the tests allocate is owned here and freed in .fini, so that a
 * failed assertion, which leaves the test body at once, leaks nothing
 * (LeakSanitizer under SANITIZE=1 would report it).
 */
struct owned {
	void (*fn)(void *);
	void *p;
};

static struct owned *owned;
static size_t nowned, capowned;

static void *own_with(void (*fn)(void *), void *p)
{
	if (!p)
		return NULL;
	if (nowned == capowned) {
		size_t cap = capowned ? 2 * capowned : 256;
		struct owned *v = realloc(owned, cap * sizeof(*v));

		if (!v)
			abort();
		owned = v;
		capowned = cap;
	}
	owned[nowned++] = (struct owned){ fn, p };
	return p;
}

static void *own(void *p)
{
	return own_with(free, p);
}

static void free_json(void *p)
{
	json__free(p);
}

static struct json *own_json(struct json *j)
{
	return own_with(free_json, j);
}

/* realloc an owned block (or a new one from NULL). */
static void *grow(void *old, size_t size)
{
	void *p = realloc(old, size ? size : 1);

	if (!p)
		abort();
	for (size_t i = 0; old && i < nowned; i++) {
		if (owned[i].p == old) {
			owned[i].p = p;
			return p;
		}
	}
	return own(p);
}

/* Frees an owned block now (one read in a polling loop). */
static void release(void *p)
{
	for (size_t i = nowned; p && i-- > 0;) {
		if (owned[i].p == p) {
			owned[i].fn(p);
			owned[i] = owned[--nowned];
			return;
		}
	}
}

static void release_all(void)
{
	while (nowned > 0) {
		nowned--;
		owned[nowned].fn(owned[nowned].p);
	}
	free(owned);
	owned = NULL;
	capowned = 0;
}

static void suite_init(void)
{
	lpct_setup();
}

/* A second $LPC_ROOT some tests make, removed with the first. */
static char other_root[PATH_MAX];

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static void suite_fini(void)
{
	reap_all();
	release_all();
	if (other_root[0])
		nftw(other_root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	other_root[0] = 0;
	lpct_teardown();
}

static const char *build_dir(void)
{
	const char *b = getenv("LPC_BUILD");

	return b && *b ? b : "build";
}

/* $LPC_BUILD/rel (owned). */
static const char *bin(const char *rel)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/%s", build_dir(), rel);
	return own(strdup(p));
}

/* $LPC_ROOT/rel, copied (lpct_path keeps only four). */
static char *tpath(const char *rel)
{
	char *p = own(strdup(lpct_path(rel)));

	cr_assert_not_null(p);
	return p;
}

struct spawn_opts {
	const char *out;	/* stdout to this file (NULL: /dev/null) */
	const char *err;	/* stderr to this file (NULL: /dev/null) */
	int out_fd;		/* or stdout to this fd, if >= 0 */
	const char *role;	/* LPCTRACE_TEST_ROLE for a self-exec */
	bool nobody;		/* drop to uid/gid 65534 before exec */
};

static void child_redirect(int fd, const char *path, int from)
{
	int f = from >= 0 ? from
			  : open(path ? path : "/dev/null",
				 O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
				 0644);

	if (f < 0 || dup2(f, fd) < 0)
		_exit(126);
}

/* fork + exec argv with o's redirections; the child dies with us. */
static pid_t spawn(char *const argv[], const struct spawn_opts *o)
{
	pid_t parent = getpid(), pid;

	fflush(NULL);
	pid = fork();
	cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		int in = open("/dev/null", O_RDONLY);

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(125);
		if (in >= 0)
			dup2(in, 0);
		child_redirect(1, o->out, o->out_fd);
		/* One file for both: one open file description, or the
		 * two streams overwrite each other. */
		if (o->err && o->out && !strcmp(o->err, o->out))
			child_redirect(2, NULL, 1);
		else
			child_redirect(2, o->err, -1);
		if (o->role)
			setenv("LPCTRACE_TEST_ROLE", o->role, 1);
		if (o->nobody && (setgroups(0, NULL) || setgid(LPCT_NOBODY) ||
				  setuid(LPCT_NOBODY)))
			_exit(124);
		execv(argv[0], argv);
		dprintf(2, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	kid_add(pid);
	return pid;
}

/* The whole file, NUL-terminated (owned). */
static char *slurp(const char *path, size_t *len)
{
	size_t n = 0, cap = 65536;
	char *b = grow(NULL, cap);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t r;

	if (fd < 0) {
		b[0] = 0;
		if (len)
			*len = 0;
		return b;
	}
	for (;;) {
		if (cap - n < 4096) {
			cap *= 2;
			b = grow(b, cap);
		}
		r = read(fd, b + n, cap - n - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	b[n] = 0;
	if (len)
		*len = n;
	return b;
}

/* The last 3000 bytes of a file, for failure messages. */
static const char *tail_of(const char *path)
{
	static char buf[3001];
	size_t n;
	char *all = slurp(path, &n);
	size_t from = n > 3000 ? n - 3000 : 0;

	snprintf(buf, sizeof(buf), "%s", all + from);
	release(all);
	return buf;
}

/* Waits for needle in the file, while pid lives; false on a timeout or
 * if pid exited first (its status in *status). */
static bool wait_for_text(const char *path, const char *needle, pid_t pid,
			  long ms, int *status)
{
	long start = lpct_now_ms();

	*status = -1;
	for (;;) {
		char *t = slurp(path, NULL);
		bool found = strstr(t, needle) != NULL;

		release(t);
		if (found)
			return true;
		if (pid > 0) {
			int st = wait_ms(pid, 0);

			if (st != -1) {
				*status = st;
				return false;
			}
		}
		if (lpct_now_ms() - start > ms)
			return false;
		usleep(20000);
	}
}

/* A skipped test does not reach .fini: its $LPC_ROOT goes first. */
static void need_bpf(void)
{
	if (geteuid() != 0) {
		suite_fini();
		cr_skip_test("lpctrace needs root (CAP_BPF, CAP_PERFMON) to "
			     "load its BPF programs; run the suite as root");
	}
	if (access("/sys/kernel/btf/vmlinux", R_OK)) {
		suite_fini();
		cr_skip_test("this kernel has no BTF "
			     "(/sys/kernel/btf/vmlinux): lpctrace cannot load");
	}
}

/* A private copy of lpctrace, alone in its directory (see the top). */
static const char *lpctrace_alone(void)
{
	static char path[PATH_MAX];
	char *dir = tpath("bin");
	int in, out;
	char buf[65536];
	ssize_t n;

	mkdir(dir, 0755);
	snprintf(path, sizeof(path), "%s/lpctrace", dir);
	in = open(bin("lpctrace"), O_RDONLY | O_CLOEXEC);
	cr_assert_geq(in, 0, "%s: %s (make %s)", bin("lpctrace"),
		      strerror(errno), bin("lpctrace"));
	out = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	cr_assert_geq(out, 0, "%s: %s", path, strerror(errno));
	while ((n = read(in, buf, sizeof(buf))) > 0)
		cr_assert_eq(write(out, buf, (size_t)n), n);
	close(in);
	close(out);
	return path;
}

static const char *status_str(int st)
{
	static char buf[64];

	if (st == -1)
		snprintf(buf, sizeof(buf), "still running");
	else if (WIFEXITED(st))
		snprintf(buf, sizeof(buf), "exit %d", WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		snprintf(buf, sizeof(buf), "killed by signal %d",
			 WTERMSIG(st));
	else
		snprintf(buf, sizeof(buf), "status 0x%x", st);
	return buf;
}

/* Waits (bounded) for pid; kills it past the bound; returns the status. */
static int finish(pid_t pid, long ms, const char *what, const char *log)
{
	int st = wait_ms(pid, ms);

	if (st == -1) {
		kill(pid, SIGKILL);
		wait_ms(pid, TRACE_EXIT_MS);
		cr_assert_fail("%s did not end within %ld s; its log:\n%s",
			       what, ms / 1000, log ? tail_of(log) : "");
	}
	return st;
}

static void assert_exit0(int st, const char *what, const char *log)
{
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		  "%s: %s; its log:\n%s", what, status_str(st),
		  log ? tail_of(log) : "");
}

/* ------------------------------------------------------------------ */
/* lpctrace sessions                                                   */
/* ------------------------------------------------------------------ */

struct session {
	pid_t pid;
	char *err;		/* its stderr */
	char *out;		/* its stdout */
};

/* Starts lpctrace with args (NULL-terminated); with banner, returns once
 * it says it is tracing (its probes are attached). */
static void session__start(struct session *s, const char *exe,
			   const char *const *args, bool banner)
{
	char *argv[48];
	int n = 0, st;
	struct spawn_opts o = { .out_fd = -1 };
	static int seq;
	char name[64];

	snprintf(name, sizeof(name), "lpctrace-%d.err", seq);
	s->err = tpath(name);
	snprintf(name, sizeof(name), "lpctrace-%d.out", seq++);
	s->out = tpath(name);
	argv[n++] = (char *)exe;
	for (; *args && n < 47; args++)
		argv[n++] = (char *)*args;
	argv[n] = NULL;
	o.out = s->out;
	o.err = s->err;
	s->pid = spawn(argv, &o);
	if (!banner)
		return;
	if (!wait_for_text(s->err, "Ctrl-C to stop", s->pid, BANNER_MS, &st))
		cr_assert_fail("lpctrace did not start tracing (%s); "
			       "stderr:\n%s", status_str(st), tail_of(s->err));
}

/* SIGINT (unless it ends by itself), then its exit status. */
static int session__stop(struct session *s, bool interrupt)
{
	if (interrupt)
		kill(s->pid, SIGINT);
	return finish(s->pid, TRACE_EXIT_MS, "lpctrace", s->err);
}

/* Runs argv to its end (bounded); its stdout / stderr in files. */
static int run(char *const argv[], const char *out, const char *err,
	       long ms)
{
	struct spawn_opts o = { .out = out, .err = err, .out_fd = -1 };
	pid_t pid = spawn(argv, &o);

	return finish(pid, ms, argv[0], err);
}

/* ------------------------------------------------------------------ */
/* NDJSON: lpc-traffic's log and lpctrace's records                    */
/* ------------------------------------------------------------------ */

struct lines {
	struct json **v;
	size_t n;
	struct json *summary;	/* lpctrace's last line, if a summary */
};

/* Every line of path as JSON (each must parse); the summary apart. */
static void lines__load(struct lines *l, const char *path, bool summary)
{
	size_t len, cap = 0;
	char *all = slurp(path, &len), *p = all;
	int lineno = 0;

	memset(l, 0, sizeof(*l));
	while (p < all + len) {
		char *nl = memchr(p, '\n', (size_t)(all + len - p));
		char err[160];
		struct json *j;

		lineno++;
		cr_assert_not_null(nl, "%s:%d: the last line has no newline",
				   path, lineno);
		j = json__parse(p, (size_t)(nl - p), err, sizeof(err));
		cr_assert_not_null(j, "%s:%d is not JSON (%s): %.*s", path,
				   lineno, err, (int)(nl - p), p);
		own_json(j);
		cr_assert_eq(j->type, JSON_OBJECT, "%s:%d is not an object",
			     path, lineno);
		if (summary && json__get(j, "summary")) {
			cr_assert_null(l->summary, "%s: two summaries", path);
			l->summary = j;
		} else {
			cr_assert_null(l->summary, "%s:%d: a record after the "
				       "summary", path, lineno);
			if (l->n == cap) {
				cap = cap ? 2 * cap : 256;
				l->v = grow(l->v, cap * sizeof(*l->v));
			}
			l->v[l->n++] = j;
		}
		p = nl + 1;
	}
	release(all);
	if (summary)
		cr_assert_not_null(l->summary, "%s has no summary line", path);
}

static const char *op_name(const struct json *op)
{
	const char *s = json__get_str(op, "op");

	return s ? s : "?";
}

static bool op_is(const struct json *op, const char *name)
{
	return !strcmp(op_name(op), name);
}

static int64_t opi(const struct json *op, const char *key)
{
	int64_t v;

	cr_assert(json__int(json__get(op, key), &v),
		  "an op line without an integer \"%s\"", key);
	return v;
}

static const char *ops_str(const struct json *op, const char *key)
{
	const char *s = json__get_str(op, key);

	cr_assert_not_null(s, "an op line without a string \"%s\"", key);
	return s;
}

static size_t ops_count(const struct lines *ops, const char *name)
{
	size_t n = 0;

	for (size_t i = 0; i < ops->n; i++)
		n += op_is(ops->v[i], name);
	return n;
}

struct pidset {
	int n;
	pid_t v[16];
};

static bool pidset__has(const struct pidset *s, int64_t pid)
{
	for (int i = 0; i < s->n; i++)
		if (s->v[i] == pid)
			return true;
	return false;
}

static void pidset__add(struct pidset *s, int64_t pid)
{
	if (pid > 0 && !pidset__has(s, pid) && s->n < 16)
		s->v[s->n++] = (pid_t)pid;
}

/* The processes of an lpc-traffic run: every op line's pid (main, server,
 * D). */
static struct pidset ops_pids(const struct lines *ops)
{
	struct pidset s = { 0 };

	for (size_t i = 0; i < ops->n; i++)
		pidset__add(&s, opi(ops->v[i], "pid"));
	return s;
}

/* The pid of the op line's "who" (server, A, D, main...), or 0. */
static pid_t ops_pid_of(const struct lines *ops, const char *who)
{
	for (size_t i = 0; i < ops->n; i++)
		if (!strcmp(ops_str(ops->v[i], "who"), who))
			return (pid_t)opi(ops->v[i], "pid");
	return 0;
}

static const char *rec_probe(const struct json *r)
{
	const char *p = json__get_str(r, "probe");

	return p ? p : "";
}

static bool rec_status_failed(const char *st)
{
	/* "0x%08x": bit 31 is the error/warning severity. */
	return st && strlen(st) == 10 && strchr("89abcdef", st[2]);
}

/* ------------------------------------------------------------------ */
/* Matching records to the operations that must have made them         */
/* ------------------------------------------------------------------ */

enum fkind { F_INT, F_STR, F_BOOL, F_NONZERO_HEX };

struct field {
	const char *key;
	enum fkind kind;
	int64_t i;
	const char *s;
	bool b;
};

struct want {
	const char *probe;
	int nf;
	struct field f[12];
	const struct json *op;	/* the line that demands it */
	size_t line;
	bool may_miss;		/* see lost_send() */
};

/*
 * D's request: lpc-traffic logs it for D (status STATUS_PENDING, the call
 * never returns) and kills D as soon as the server holds it.  liblpc fires
 * lpc:send after delivering, so D can die before its send is recorded
 * (sends_of_killed_clients_are_recorded pins that); the other tests let
 * that one record be missing, and only that one.
 */
static bool lost_send(const struct json *op)
{
	const char *st = json__get_str(op, "status");

	return op_is(op, "request") && st && !strcmp(st, "0x00000103");
}

static size_t ops_lost_sends(const struct lines *ops)
{
	size_t n = 0;

	for (size_t i = 0; i < ops->n; i++)
		n += lost_send(ops->v[i]);
	return n;
}

static void want_int(struct want *w, const char *key, int64_t v)
{
	w->f[w->nf++] = (struct field){ .key = key, .kind = F_INT, .i = v };
}

static void want_str(struct want *w, const char *key, const char *s)
{
	w->f[w->nf++] = (struct field){ .key = key, .kind = F_STR, .s = s };
}

static void want_bool(struct want *w, const char *key, bool b)
{
	w->f[w->nf++] = (struct field){ .key = key, .kind = F_BOOL, .b = b };
}

static void want_nonzero(struct want *w, const char *key)
{
	w->f[w->nf++] = (struct field){ .key = key, .kind = F_NONZERO_HEX };
}

static bool field_matches(const struct json *r, const struct field *f)
{
	const struct json *v = json__get(r, f->key);
	const char *s;
	int64_t i;
	bool b;

	switch (f->kind) {
	case F_INT:
		return json__int(v, &i) && i == f->i;
	case F_STR:
		s = json__str(v);
		return s && !strcmp(s, f->s);
	case F_BOOL:
		return json__bool(v, &b) && b == f->b;
	case F_NONZERO_HEX:
		s = json__str(v);
		return s && !strncmp(s, "0x", 2) && strcmp(s, "0x0") != 0;
	}
	return false;
}

static bool want_matches(const struct json *r, const struct want *w)
{
	if (strcmp(rec_probe(r), w->probe))
		return false;
	for (int i = 0; i < w->nf; i++)
		if (!field_matches(r, &w->f[i]))
			return false;
	return true;
}

static bool want_same(const struct want *a, const struct want *b)
{
	if (strcmp(a->probe, b->probe) || a->nf != b->nf)
		return false;
	for (int i = 0; i < a->nf; i++) {
		const struct field *x = &a->f[i], *y = &b->f[i];

		if (strcmp(x->key, y->key) || x->kind != y->kind ||
		    x->i != y->i || x->b != y->b ||
		    (x->s && (!y->s || strcmp(x->s, y->s))))
			return false;
	}
	return true;
}

static void want_describe(const struct want *w, char *buf, size_t len)
{
	size_t n = (size_t)snprintf(buf, len, "%s", w->probe);

	for (int i = 0; i < w->nf && n < len; i++) {
		const struct field *f = &w->f[i];

		switch (f->kind) {
		case F_INT:
			n += (size_t)snprintf(buf + n, len - n, " %s=%lld",
					      f->key, (long long)f->i);
			break;
		case F_STR:
			n += (size_t)snprintf(buf + n, len - n, " %s=\"%s\"",
					      f->key, f->s);
			break;
		case F_BOOL:
			n += (size_t)snprintf(buf + n, len - n, " %s=%s",
					      f->key, f->b ? "true" : "false");
			break;
		case F_NONZERO_HEX:
			n += (size_t)snprintf(buf + n, len - n, " %s!=0",
					      f->key);
			break;
		}
	}
}

static struct want *want_new(struct want **v, size_t *n, const char *probe,
			     const struct json *op, size_t line)
{
	struct want *w;

	*v = grow(*v, (*n + 1) * sizeof(**v));
	w = &(*v)[(*n)++];
	memset(w, 0, sizeof(*w));
	w->probe = probe;
	w->op = op;
	w->line = line;
	return w;
}

static void want_who(struct want *w, const struct json *op)
{
	want_int(w, "pid", opi(op, "pid"));
	want_int(w, "tid", opi(op, "tid"));
}

static void want_client(struct want *w, const struct json *op)
{
	want_int(w, "client_pid", opi(op, "client_pid"));
	want_int(w, "client_tid", opi(op, "client_tid"));
}

/*
 * The records each line of lpc-traffic's log demands (docs/probes.md,
 * docs/lpctrace-formats.md): the probe, who fired it, and what it must
 * carry.  csrd_pid 0: the run made no CSR calls.
 */
static size_t wants_of(const struct lines *ops, pid_t csrd_pid,
		       struct want **out)
{
	struct want *v = NULL, *w;
	size_t n = 0;

	for (size_t i = 0; i < ops->n; i++) {
		const struct json *op = ops->v[i];
		const char *name = op_name(op);
		const char *status = ops_str(op, "status");

		if (!strcmp(name, "create")) {
			w = want_new(&v, &n, "port_create", op, i + 1);
			want_who(w, op);
			want_int(w, "kind", 1);
			want_str(w, "name", ops_str(op, "port"));
		} else if (!strcmp(name, "listen")) {
			w = want_new(&v, &n, "receive", op, i + 1);
			want_who(w, op);
			want_int(w, "type", 10);
			want_int(w, "msgid", opi(op, "msgid"));
			want_client(w, op);
			want_int(w, "data_len", opi(op, "data_len"));
			w = want_new(&v, &n, "listen", op, i + 1);
			want_who(w, op);
			want_str(w, "status", status);
		} else if (!strcmp(name, "accept") || !strcmp(name, "reject")) {
			w = want_new(&v, &n, "accept", op, i + 1);
			want_who(w, op);
			want_int(w, "msgid", opi(op, "msgid"));
			want_bool(w, "accepted", !strcmp(name, "accept"));
			want_client(w, op);
			want_str(w, "status", status);
		} else if (!strcmp(name, "complete")) {
			w = want_new(&v, &n, "complete", op, i + 1);
			want_who(w, op);
			want_str(w, "status", status);
		} else if (!strcmp(name, "connect")) {
			cr_assert_str_eq(status, "0x00000000");
			w = want_new(&v, &n, "connect_done", op, i + 1);
			want_who(w, op);
			want_int(w, "msgid", opi(op, "msgid"));
			want_str(w, "name", ops_str(op, "port"));
			want_str(w, "status", "0x00000000");
			/* The client port: it used to be reported as 0. */
			want_nonzero(w, "port");
		} else if (!strcmp(name, "connect_refused")) {
			cr_assert_str_eq(status, "0xc0000041");
			w = want_new(&v, &n, "connect_done", op, i + 1);
			want_who(w, op);
			want_int(w, "msgid", opi(op, "msgid"));
			want_str(w, "name", ops_str(op, "port"));
			want_str(w, "status", "0xc0000041");
			want_str(w, "port", "0x0");
		} else if (!strcmp(name, "request") ||
			   !strcmp(name, "datagram")) {
			bool req = !strcmp(name, "request");

			w = want_new(&v, &n, "send", op, i + 1);
			want_who(w, op);
			want_int(w, "type", req ? 1 : 3);
			want_int(w, "msgid", opi(op, "msgid"));
			want_int(w, "data_len", opi(op, "data_len"));
			/* The send itself succeeded; a request's log status
			 * is the whole call's (D's never returns). */
			want_str(w, "status", "0x00000000");
			w->may_miss = lost_send(op);
		} else if (!strcmp(name, "receive") ||
			   !strcmp(name, "client_died") ||
			   !strcmp(name, "port_closed")) {
			w = want_new(&v, &n, "receive", op, i + 1);
			want_who(w, op);
			want_int(w, "type", opi(op, "type"));
			want_int(w, "msgid", opi(op, "msgid"));
			want_client(w, op);
			want_int(w, "data_len", opi(op, "data_len"));
		} else if (!strcmp(name, "reply") ||
			   !strcmp(name, "reply_mismatch")) {
			if (!strcmp(name, "reply_mismatch"))
				cr_assert_str_eq(status, "0xc000021f");
			w = want_new(&v, &n, "reply", op, i + 1);
			want_who(w, op);
			want_int(w, "msgid", opi(op, "msgid"));
			want_client(w, op);
			want_int(w, "data_len", opi(op, "data_len"));
			want_str(w, "status", status);
		} else if (!strcmp(name, "timeout")) {
			w = want_new(&v, &n, "wait_end", op, i + 1);
			want_who(w, op);
			want_int(w, "wait", 5);
			want_bool(w, "done", false);
			want_int(w, "error", -ETIMEDOUT);
			want_str(w, "error_name", "ETIMEDOUT");
		} else if (!strcmp(name, "csr_connect") && csrd_pid) {
			w = want_new(&v, &n, "connect_done", op, i + 1);
			want_who(w, op);
			want_str(w, "name", "\\Windows\\ApiPort");
			want_str(w, "status", status);
			want_nonzero(w, "port");
			w = want_new(&v, &n, "connect", op, i + 1);
			want_int(w, "pid", csrd_pid);
			want_int(w, "client_pid", opi(op, "pid"));
			want_int(w, "client_tid", opi(op, "tid"));
			want_bool(w, "accepted", true);
		} else if (!strcmp(name, "csr_call") && csrd_pid) {
			w = want_new(&v, &n, "api", op, i + 1);
			want_int(w, "pid", csrd_pid);
			want_int(w, "api_number", opi(op, "api_number"));
			want_int(w, "msgid", opi(op, "msgid"));
			want_str(w, "status", status);
			want_int(w, "client_pid", opi(op, "pid"));
			want_int(w, "client_tid", opi(op, "tid"));
		}
		/* kill: not an LPC operation, no record. */
	}
	*out = v;
	return n;
}

/*
 * Each demanded record is there exactly as often as the log demands it:
 * once for every operation with a key of its own (a MessageId), k times
 * for k identical demands (the server's three NtCompleteConnectPort).
 * recs holds only the records of the processes concerned.
 */
static void assert_wants(const struct lines *recs, const struct want *w,
			 size_t nw, const char *what)
{
	size_t bad = 0;

	for (size_t i = 0; i < nw; i++) {
		size_t want = 0, got = 0;
		char desc[512];

		for (size_t j = 0; j < nw; j++)
			want += want_same(&w[i], &w[j]);
		for (size_t j = 0; j < recs->n; j++)
			got += want_matches(recs->v[j], &w[i]);
		if (got == want || (w[i].may_miss && got == 0))
			continue;
		bad++;
		want_describe(&w[i], desc, sizeof(desc));
		cr_expect_eq(got, want,
			     "%s: log line %zu (%s) demands %zu record(s) "
			     "{%s}; the trace has %zu", what, w[i].line,
			     op_name(w[i].op), want, desc, got);
	}
	cr_assert_eq(bad, 0, "%s: %zu demanded record(s) missing or repeated",
		     what, bad);
}

/* The records of the given pids only. */
static void keep_pids(struct lines *recs, const struct pidset *pids)
{
	size_t k = 0;

	for (size_t i = 0; i < recs->n; i++)
		if (pidset__has(pids, json__get_int(recs->v[i], "pid", -1)))
			recs->v[k++] = recs->v[i];
	recs->n = k;
}

/* ------------------------------------------------------------------ */
/* Running lpc-traffic                                                 */
/* ------------------------------------------------------------------ */

struct traffic {
	char port[64];		/* NT name */
	char *log;		/* its NDJSON log */
	char *out;		/* its stdout and stderr */
};

static void traffic__init(struct traffic *t, const char *tag)
{
	char rel[96];

	snprintf(t->port, sizeof(t->port), "\\Lt%s%d", tag, (int)getpid());
	snprintf(rel, sizeof(rel), "ops-%s.ndjson", tag);
	t->log = tpath(rel);
	snprintf(rel, sizeof(rel), "traffic-%s.out", tag);
	t->out = tpath(rel);
}

/* argv for lpc-traffic into v (from index *n on). */
static void traffic__argv(const struct traffic *t, bool csr, char **v, int *n)
{
	v[(*n)++] = (char *)bin("examples/lpc-traffic");
	if (csr)
		v[(*n)++] = "--csr";
	v[(*n)++] = "--port";
	v[(*n)++] = (char *)t->port;
	v[(*n)++] = "--log";
	v[(*n)++] = t->log;
}

/*
 * lpctrace [opts] -f ndjson|... -o out -- lpc-traffic ...: the run's log
 * in ops, lpctrace's exit checked (it is the command's).
 */
static void trace_traffic(const char *exe, const char *const *opts,
			  struct traffic *t, const char *out, struct lines *ops)
{
	const char *args[40];
	char *targv[12];
	int n = 0, k = 0;
	struct session s;
	int st;

	for (; *opts; opts++)
		args[n++] = *opts;
	args[n++] = "-o";
	args[n++] = out;
	args[n++] = "--";
	traffic__argv(t, false, targv, &k);
	for (int i = 0; i < k; i++)
		args[n++] = targv[i];
	args[n] = NULL;
	session__start(&s, exe, args, false);
	st = session__stop(&s, false);
	assert_exit0(st, "lpctrace -- lpc-traffic", s.err);
	lines__load(ops, t->log, false);
	cr_assert_gt(ops->n, 0, "lpc-traffic logged nothing");
}

/* ------------------------------------------------------------------ */
/* 1. NDJSON: every operation of the script, system-wide               */
/* ------------------------------------------------------------------ */

Test(lpctrace, records_every_operation_of_the_script)
{
	/* A larger ring: everything on the machine is traced, and another
	 * LPC flood must not push this run's records out. */
	const char *args[] = { "-B", "64", "-f", "ndjson", "-o", NULL, NULL };
	char *targv[12], *trace = tpath("trace.ndjson");
	struct lines recs, ops;
	struct traffic t;
	struct session s;
	struct pidset pids;
	struct want *w;
	pid_t csrd;
	char *err;
	size_t nw;
	int n = 0, st;

	need_bpf();
	traffic__init(&t, "Rec");
	csrd = csrt_start(NULL);
	kid_add(csrd);
	args[5] = trace;
	/* No -p, no command: every process, including ones that start
	 * later (lpc-traffic is found as lpctrace's sibling). */
	session__start(&s, bin("lpctrace"), args, true);
	traffic__argv(&t, true, targv, &n);
	targv[n] = NULL;
	st = run(targv, t.out, t.out, TRAFFIC_MS);
	assert_exit0(st, "lpc-traffic --csr", t.out);
	st = session__stop(&s, true);
	assert_exit0(st, "lpctrace (system-wide, SIGINT)", s.err);
	st = csrt_stop(csrd);
	kid_forget(csrd);
	assert_exit0(st, "csrd", lpct_path("csrd.log"));

	lines__load(&ops, t.log, false);
	lines__load(&recs, trace, true);
	cr_assert_eq(ops_count(&ops, "csr_call"), 3, "lpc-traffic --csr "
		     "makes three CSR calls");

	/* The summary: nothing lost, and it counts what was written. */
	cr_assert_eq(json__get_int(json__get(recs.summary, "drops"), "ringbuf",
				   -1), 0,
		     "the ring buffer dropped records: the comparison below "
		     "would be meaningless");
	cr_assert_eq(json__get_int(recs.summary, "events", -1),
		     (int64_t)recs.n, "the summary counts %lld events, the "
		     "file has %zu", (long long)json__get_int(recs.summary,
							      "events", -1),
		     recs.n);
	err = slurp(s.err, NULL);
	cr_assert(strstr(err, "none dropped"), "stderr summary:\n%s", err);

	pids = ops_pids(&ops);
	pidset__add(&pids, csrd);
	keep_pids(&recs, &pids);
	nw = wants_of(&ops, csrd, &w);
	cr_assert_gt(nw, 40);
	assert_wants(&recs, w, nw, "system-wide NDJSON");
}

/* ------------------------------------------------------------------ */
/* 2. The other formats                                                */
/* ------------------------------------------------------------------ */

/* Text columns (out_text.c): width and alignment, DETAIL the rest. */
static const struct {
	const char *name;
	int width;
	bool right;
} text_cols[] = {
	{ "TIME(s)", 12, false }, { "PID", 7, true },
	{ "TID", 7, true },	  { "COMM", 15, false },
	{ "EVENT", 16, false },	  { "PORT", 22, false },
	{ "TYPE/API", 28, false }, { "MSGID", 6, true },
	{ "LEN", 5, true },	  { "STATUS", 26, false },
	{ "LAT(us)", 9, true },
};

#define NCOLS (sizeof(text_cols) / sizeof(text_cols[0]))

enum { C_TIME, C_PID, C_TID, C_COMM, C_EVENT, C_PORT, C_TYPE, C_MSGID,
       C_LEN, C_STATUS, C_LAT, C_DETAIL };

struct text_row {
	char f[NCOLS + 1][256];
};

static bool all_digits(const char *s, bool allow_empty)
{
	if (!*s)
		return allow_empty;
	if (*s == '-')
		s++;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

static bool is_decimal(const char *s, bool allow_empty)
{
	char *end;

	if (!*s)
		return allow_empty;
	strtod(s, &end);
	return *end == 0 && strchr(s, '.');
}

static const char *const probe_names[] = {
	"port_create", "port_close", "connect_request", "connect_done",
	"listen", "accept", "complete", "send", "receive", "reply",
	"wait_begin", "wait_end", "request_data", "impersonate", "revert",
	"exception", "view", "csrd:connect", "csrd:api",
};

/*
 * One text line into its columns.  A value wider than its column pushes
 * the rest right by its excess (printf's %-Ns), so each column ends at
 * its width or, past it, at the next space.
 */
static bool text__parse(const char *line, struct text_row *row, char *why,
			size_t wlen)
{
	size_t p = 0, len = strlen(line);

	for (size_t c = 0; c < NCOLS; c++) {
		size_t w = (size_t)text_cols[c].width, end, from;

		if (p + w >= len) {
			snprintf(why, wlen, "too short for column %s",
				 text_cols[c].name);
			return false;
		}
		end = p + w;
		if (line[end] != ' ') {
			/* Overflow: only a value without blanks. */
			while (end < len && line[end] != ' ')
				end++;
			if (end >= len || line[p] == ' ') {
				snprintf(why, wlen, "column %s overflows badly",
					 text_cols[c].name);
				return false;
			}
		}
		from = p;
		if (text_cols[c].right)
			while (from < end && line[from] == ' ')
				from++;
		snprintf(row->f[c], sizeof(row->f[c]), "%.*s",
			 (int)(end - from), line + from);
		/* Left-aligned: padding only at the end. */
		for (size_t k = strlen(row->f[c]); k > 0 &&
		     row->f[c][k - 1] == ' '; k--)
			row->f[c][k - 1] = 0;
		if (!text_cols[c].right && row->f[c][0] == ' ') {
			snprintf(why, wlen, "column %s starts with a blank",
				 text_cols[c].name);
			return false;
		}
		p = end + 1;
	}
	snprintf(row->f[C_DETAIL], sizeof(row->f[C_DETAIL]), "%s", line + p);
	return true;
}

static bool text__valid(const struct text_row *r, char *why, size_t wlen)
{
	bool known = false;

	for (size_t i = 0; i < sizeof(probe_names) / sizeof(probe_names[0]);
	     i++)
		known |= !strcmp(r->f[C_EVENT], probe_names[i]);
	if (!is_decimal(r->f[C_TIME], false))
		snprintf(why, wlen, "TIME \"%.60s\"", r->f[C_TIME]);
	else if (!all_digits(r->f[C_PID], false) || atoi(r->f[C_PID]) <= 0 ||
		 !all_digits(r->f[C_TID], false) || atoi(r->f[C_TID]) <= 0)
		snprintf(why, wlen, "PID/TID \"%.60s\"/\"%.60s\"", r->f[C_PID],
			 r->f[C_TID]);
	else if (!r->f[C_COMM][0])
		snprintf(why, wlen, "empty COMM");
	else if (!known)
		snprintf(why, wlen, "EVENT \"%.60s\"", r->f[C_EVENT]);
	else if (!all_digits(r->f[C_MSGID], true))
		snprintf(why, wlen, "MSGID \"%.60s\"", r->f[C_MSGID]);
	else if (!all_digits(r->f[C_LEN], true))
		snprintf(why, wlen, "LEN \"%.60s\"", r->f[C_LEN]);
	else if (!is_decimal(r->f[C_LAT], true))
		snprintf(why, wlen, "LAT \"%.60s\"", r->f[C_LAT]);
	else
		return true;
	return false;
}

/* The NTSTATUS names of the statuses lpc-traffic's log holds. */
static const char *status_name(const char *hex)
{
	static const struct {
		const char *hex, *name;
	} t[] = {
		{ "0x00000000", "STATUS_SUCCESS" },
		{ "0xc0000041", "STATUS_PORT_CONNECTION_REFUSED" },
		{ "0xc000021f", "STATUS_REPLY_MESSAGE_MISMATCH" },
		{ "0xc000000b", "STATUS_INVALID_CID" },
		{ "0xc00000af", "STATUS_ILLEGAL_FUNCTION" },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (!strcmp(t[i].hex, hex))
			return t[i].name;
	cr_assert_fail("a status this test has no name for: %s", hex);
	return NULL;
}

/* Rows of a text trace matching (event, pid, tid, msgid); -1: any. */
static size_t text_count(const struct text_row *rows, size_t n,
			 const char *event, int64_t pid, int64_t tid,
			 int64_t msgid, const char *status)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		const struct text_row *r = &rows[i];

		if (strcmp(r->f[C_EVENT], event) ||
		    (pid >= 0 && atoll(r->f[C_PID]) != pid) ||
		    (tid >= 0 && atoll(r->f[C_TID]) != tid) ||
		    (msgid >= 0 && (!r->f[C_MSGID][0] ||
				    atoll(r->f[C_MSGID]) != msgid)) ||
		    (status && strcmp(r->f[C_STATUS], status)))
			continue;
		k++;
	}
	return k;
}

Test(lpctrace, text_format_has_every_send_and_names_statuses)
{
	const char *opts[] = { "-f", "text", NULL };
	char *out = tpath("trace.txt"), *all, *line, *save = NULL;
	struct text_row *rows = NULL;
	size_t nrows = 0, sends = 0, lineno = 0;
	struct lines ops;
	struct pidset pids;
	struct traffic t;

	need_bpf();
	traffic__init(&t, "Txt");
	trace_traffic(lpctrace_alone(), opts, &t, out, &ops);
	pids = ops_pids(&ops);

	all = slurp(out, NULL);
	for (line = strtok_r(all, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		struct text_row r;
		char why[160];

		if (lineno++ == 0) {
			char want[512];
			size_t k = 0;

			/* The layout text_cols describes. */
			for (size_t c = 0; c < NCOLS; c++)
				k += (size_t)snprintf(
					want + k, sizeof(want) - k,
					text_cols[c].right ? "%*s " : "%-*s ",
					text_cols[c].width, text_cols[c].name);
			snprintf(want + k, sizeof(want) - k, "DETAIL");
			cr_assert_str_eq(line, want, "the header is not the "
					 "layout this test parses (text_cols)");
			continue;
		}
		cr_assert(text__parse(line, &r, why, sizeof(why)) &&
			  text__valid(&r, why, sizeof(why)),
			  "line %zu does not parse into the columns (%s):\n%s",
			  lineno, why, line);
		rows = grow(rows, (nrows + 1) * sizeof(*rows));
		rows[nrows++] = r;
	}
	release(all);
	cr_assert_gt(nrows, 0);

	for (size_t i = 0; i < nrows; i++)
		if (!strcmp(rows[i].f[C_EVENT], "send") &&
		    pidset__has(&pids, atoll(rows[i].f[C_PID])))
			sends++;
	cr_expect(sends <= ops_count(&ops, "request") +
				  ops_count(&ops, "datagram") &&
			  sends + ops_lost_sends(&ops) >=
				  ops_count(&ops, "request") +
					  ops_count(&ops, "datagram"),
		  "%zu send lines; the log has %zu requests and %zu "
		  "datagrams", sends, ops_count(&ops, "request"),
		  ops_count(&ops, "datagram"));

	/* Statuses by name, in the line of the operation concerned. */
	for (size_t i = 0; i < ops.n; i++) {
		const struct json *op = ops.v[i];
		const char *ev = NULL;
		const char *st = ops_str(op, "status");

		if (op_is(op, "reply") || op_is(op, "reply_mismatch")) {
			ev = "reply";
		} else if (op_is(op, "connect") ||
			   op_is(op, "connect_refused")) {
			ev = "connect_done";
		} else if (op_is(op, "datagram") || op_is(op, "request")) {
			/* The send succeeded, whatever the call returned
			 * later (D's never returns). */
			ev = "send";
			st = "0x00000000";
		}
		if (!ev || (lost_send(op) &&
			    !text_count(rows, nrows, ev, opi(op, "pid"),
					opi(op, "tid"), opi(op, "msgid"),
					NULL)))
			continue;
		cr_expect_eq(text_count(rows, nrows, ev, opi(op, "pid"),
					opi(op, "tid"), opi(op, "msgid"),
					status_name(st)), 1,
			     "log line %zu (%s %s): no %s line with MSGID "
			     "%lld and STATUS %s", i + 1, op_name(op), st, ev,
			     (long long)opi(op, "msgid"), status_name(st));
	}
	/* The receive timeout: its wait_end shows the error's name. */
	for (size_t i = 0; i < ops.n; i++)
		if (op_is(ops.v[i], "timeout"))
			cr_expect_eq(text_count(rows, nrows, "wait_end",
						opi(ops.v[i], "pid"),
						opi(ops.v[i], "tid"), -1,
						"ETIMEDOUT"), 1,
				     "no wait_end line with ETIMEDOUT");
	/* Ports by name: every send of the run is on the traffic port. */
	for (size_t i = 0; i < nrows; i++)
		if (!strcmp(rows[i].f[C_EVENT], "send") &&
		    pidset__has(&pids, atoll(rows[i].f[C_PID])))
			cr_expect_str_eq(rows[i].f[C_PORT], t.port,
					 "a send line's PORT");
}

struct flowcount {
	int64_t id;
	int s, f;
	char name[16];
};

static struct flowcount *flow_of(struct flowcount **v, size_t *n, int64_t id)
{
	for (size_t i = 0; i < *n; i++)
		if ((*v)[i].id == id)
			return &(*v)[i];
	*v = grow(*v, (*n + 1) * sizeof(**v));
	memset(&(*v)[*n], 0, sizeof(**v));
	(*v)[*n].id = id;
	return &(*v)[(*n)++];
}

static const struct flowcount *flow_find(const struct flowcount *v, size_t n,
					 int64_t id)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].id == id)
			return &v[i];
	return NULL;
}

Test(lpctrace, perfetto_format_is_json_with_paired_flows)
{
	const char *opts[] = { "-f", "perfetto", NULL };
	char *out = tpath("trace.json"), *all, err[160];
	const struct json *evs, *other;
	struct flowcount *flows = NULL;
	size_t len, nflows = 0, sends = 0;
	struct pidset pids, named = { 0 };
	struct lines ops;
	struct traffic t;
	struct json *doc;

	need_bpf();
	traffic__init(&t, "Pf");
	trace_traffic(lpctrace_alone(), opts, &t, out, &ops);
	pids = ops_pids(&ops);

	all = slurp(out, &len);
	doc = own_json(json__parse(all, len, err, sizeof(err)));
	cr_assert_not_null(doc, "the Perfetto document is not JSON: %s", err);
	release(all);
	cr_assert_str_eq(json__get_str(doc, "displayTimeUnit"), "ns");
	evs = json__get(doc, "traceEvents");
	cr_assert(evs && evs->type == JSON_ARRAY && evs->n > 0,
		  "no traceEvents");
	other = json__get(doc, "otherData");
	cr_assert_str_eq(json__get_str(other, "tool"), "lpctrace");
	cr_assert_eq(json__get_int(other, "drops_ringbuf", -1), 0);

	for (size_t i = 0; i < evs->n; i++) {
		const struct json *e = evs->v[i];
		const char *ph = json__get_str(e, "ph");
		const char *name = json__get_str(e, "name");
		int64_t pid = json__get_int(e, "pid", -1), id;

		cr_assert(ph && name, "event %zu without ph or name", i);
		if (!strcmp(ph, "M") && !strcmp(name, "process_name") &&
		    pidset__has(&pids, pid)) {
			cr_expect_str_eq(json__get_str(json__get(e, "args"),
						       "name"),
					 "lpc-traffic");
			pidset__add(&named, pid);
		}
		if (!strcmp(ph, "i") && !strcmp(name, "lpc:send") &&
		    pidset__has(&pids, pid))
			sends++;
		if (strcmp(ph, "s") && strcmp(ph, "t") && strcmp(ph, "f"))
			continue;
		cr_assert(json__int(json__get(e, "id"), &id),
			  "flow event %zu without an integer id", i);
		cr_expect_str_eq(json__get_str(e, "cat"), "lpc");
		cr_expect_str_eq(json__get_str(e, "bp"), "e");
		if (!strcmp(ph, "s")) {
			struct flowcount *fc = flow_of(&flows, &nflows, id);

			fc->s++;
			snprintf(fc->name, sizeof(fc->name), "%s", name);
		} else if (!strcmp(ph, "f")) {
			flow_of(&flows, &nflows, id)->f++;
		}
	}
	cr_assert_gt(nflows, 0, "no flows");
	for (size_t i = 0; i < nflows; i++)
		cr_expect(flows[i].s == 1 && flows[i].f == 1,
			  "flow %lld: %d \"s\" and %d \"f\"",
			  (long long)flows[i].id, flows[i].s, flows[i].f);
	cr_assert_eq(json__get_int(other, "flows", -1), (int64_t)nflows,
		     "otherData.flows");
	for (int i = 0; i < pids.n; i++)
		cr_expect(pidset__has(&named, pids.v[i]),
			  "no process_name for lpc-traffic's pid %d",
			  (int)pids.v[i]);
	cr_expect(sends <= ops_count(&ops, "request") +
				  ops_count(&ops, "datagram") &&
			  sends + ops_lost_sends(&ops) >=
				  ops_count(&ops, "request") +
					  ops_count(&ops, "datagram"),
		  "%zu lpc:send instants", sends);
	/* One $LPC_ROOT: the flow id is the MessageId. */
	for (size_t i = 0; i < ops.n; i++) {
		const struct json *op = ops.v[i];
		const char *kind = op_is(op, "request")	 ? "request"
				   : op_is(op, "datagram") ? "datagram"
				   : op_is(op, "connect")  ? "connect"
							   : NULL;
		const struct flowcount *fc;

		if (!kind)
			continue;
		fc = flow_find(flows, nflows, opi(op, "msgid"));
		cr_expect(fc && !strcmp(fc->name, kind),
			  "log line %zu (%s, MessageId %lld): no %s flow with "
			  "that id", i + 1, op_name(op),
			  (long long)opi(op, "msgid"), kind);
	}
}

/* Argument count and MessageId argument per probe (docs/probes.md). */
static const struct {
	int nargs, msgid;
} probe_args[20] = {
	[1] = { 7, -1 },  [2] = { 3, -1 },  [3] = { 4, 1 },  [4] = { 4, 1 },
	[5] = { 2, -1 },  [6] = { 7, 0 },   [7] = { 3, -1 }, [8] = { 8, 2 },
	[9] = { 10, 2 },  [10] = { 8, 1 },  [11] = { 4, 2 }, [12] = { 5, 2 },
	[13] = { 6, -1 }, [14] = { 3, -1 }, [15] = { 1, -1 },
	[16] = { 5, -1 }, [17] = { 5, -1 }, [18] = { 4, 2 }, [19] = { 8, 3 },
};

enum { P_CONNECT_DONE = 4, P_ACCEPT = 6, P_SEND = 8, P_RECEIVE = 9,
       P_REPLY = 10 };

struct tuple {
	int64_t probe, pid, tid, msgid;
};

static int cmp_tuple(const void *a, const void *b)
{
	const struct tuple *x = a, *y = b;
	const int64_t *p = &x->probe, *q = &y->probe;

	for (int i = 0; i < 4; i++)
		if (p[i] != q[i])
			return p[i] < q[i] ? -1 : 1;
	return 0;
}

Test(lpctrace, pcapng_format_is_well_formed_and_complete)
{
	const char *opts[] = { "-f", "pcapng", NULL };
	char *out = tpath("trace.pcapng"), err[300];
	struct tuple *got = NULL, *want = NULL;
	size_t ngot = 0, nwant = 0;
	int st;
	struct pidset pids;
	struct lines ops;
	struct traffic t;
	struct pcapng p;

	need_bpf();
	traffic__init(&t, "Pc");
	trace_traffic(lpctrace_alone(), opts, &t, out, &ops);
	pids = ops_pids(&ops);

	st = pcapng__read(out, &p, err, sizeof(err));
	own(p.rec);
	cr_assert_eq(st, 0, "the pcapng file is malformed: %s", err);
	cr_assert_eq(p.nshb, 1);
	cr_assert(p.major == 1 && p.minor == 0, "pcapng version %u.%u",
		  p.major, p.minor);
	cr_assert_str_eq(p.userappl, "lpctrace");
	cr_assert_eq(p.nidb, 1, "%u interfaces", p.nidb);
	cr_assert_eq(p.linktype, 147, "link type %u, not LINKTYPE_USER0",
		     p.linktype);
	cr_assert_eq(p.snaplen, 708);
	cr_assert_eq(p.tsresol, 9, "if_tsresol %d", p.tsresol);
	cr_assert_eq(p.nisb, 1, "no Interface Statistics Block at the end");
	cr_assert(p.isb_recv_set && p.isb_recv == p.nrec,
		  "isb_ifrecv %llu, %zu packets",
		  (unsigned long long)p.isb_recv, p.nrec);
	cr_assert(p.isb_drop_set && p.isb_drop == 0, "isb_ifdrop %llu",
		  (unsigned long long)p.isb_drop);
	cr_assert_gt(p.nrec, 0);

	for (size_t i = 0; i < p.nrec; i++) {
		const struct pcapng_rec *r = &p.rec[i];
		char head[96];

		cr_assert(r->probe >= 1 && r->probe <= 19, "packet %zu: probe "
			  "%u", i, r->probe);
		cr_assert_eq(r->nargs, probe_args[r->probe].nargs,
			     "packet %zu: probe %u with %u arguments", i,
			     r->probe, r->nargs);
		cr_assert_eq(r->snap_len, 0, "nothing was snapped (no -s)");
		/* opt_comment: "lpc:send pid 200 tid 201 comm ..." */
		snprintf(head, sizeof(head), "%s%s pid %u tid %u comm ",
			 r->probe >= 18 ? "csrd:" : "lpc:",
			 r->probe >= 18 ? probe_names[r->probe - 1] + 5
					: probe_names[r->probe - 1],
			 r->pid, r->tid);
		cr_expect(!strncmp(r->comment, head, strlen(head)),
			  "packet %zu's comment \"%s\"", i, r->comment);
		if (!pidset__has(&pids, r->pid))
			continue;
		cr_expect_str_eq(r->comm, "lpc-traffic");
		switch (r->probe) {
		case P_CONNECT_DONE:
		case P_ACCEPT:
		case P_SEND:
		case P_RECEIVE:
		case P_REPLY:
			got = grow(got, (ngot + 1) * sizeof(*got));
			got[ngot++] = (struct tuple){
				r->probe, r->pid, r->tid,
				(uint32_t)r->arg[probe_args[r->probe].msgid]
			};
			break;
		}
	}
	/* What the log demands of those five probes, no more, no less. */
	for (size_t i = 0; i < ops.n; i++) {
		const struct json *op = ops.v[i];
		int64_t probe = 0;

		if (op_is(op, "connect") || op_is(op, "connect_refused"))
			probe = P_CONNECT_DONE;
		else if (op_is(op, "accept") || op_is(op, "reject"))
			probe = P_ACCEPT;
		else if (op_is(op, "request") || op_is(op, "datagram"))
			probe = P_SEND;
		else if (op_is(op, "listen") || op_is(op, "receive") ||
			 op_is(op, "port_closed") || op_is(op, "client_died"))
			probe = P_RECEIVE;
		else if (op_is(op, "reply") || op_is(op, "reply_mismatch"))
			probe = P_REPLY;
		if (!probe)
			continue;
		want = grow(want, (nwant + 1) * sizeof(*want));
		want[nwant++] = (struct tuple){ probe, opi(op, "pid"),
						opi(op, "tid"),
						opi(op, "msgid") };
	}
	qsort(got, ngot, sizeof(*got), cmp_tuple);
	/* D's send may be lost (lost_send()): then it is not demanded. */
	for (size_t i = 0; i < ops.n; i++) {
		struct tuple d;

		if (!lost_send(ops.v[i]))
			continue;
		d = (struct tuple){ P_SEND, opi(ops.v[i], "pid"),
				    opi(ops.v[i], "tid"),
				    opi(ops.v[i], "msgid") };
		if (bsearch(&d, got, ngot, sizeof(*got), cmp_tuple))
			continue;
		for (size_t k = 0; k < nwant; k++) {
			if (!cmp_tuple(&want[k], &d)) {
				want[k] = want[--nwant];
				break;
			}
		}
	}
	qsort(want, nwant, sizeof(*want), cmp_tuple);
	for (size_t i = 0; i < ngot || i < nwant; i++) {
		const struct tuple *g = i < ngot ? &got[i] : NULL;
		const struct tuple *w = i < nwant ? &want[i] : NULL;

		cr_assert(g && w && !cmp_tuple(g, w),
			  "(probe, pid, tid, msgid) #%zu: the file has "
			  "(%lld, %lld, %lld, %lld), the log demands "
			  "(%lld, %lld, %lld, %lld)", i,
			  g ? (long long)g->probe : -1LL,
			  g ? (long long)g->pid : -1LL,
			  g ? (long long)g->tid : -1LL,
			  g ? (long long)g->msgid : -1LL,
			  w ? (long long)w->probe : -1LL,
			  w ? (long long)w->pid : -1LL,
			  w ? (long long)w->tid : -1LL,
			  w ? (long long)w->msgid : -1LL);
	}
}

/* ------------------------------------------------------------------ */
/* 3. Filters                                                          */
/* ------------------------------------------------------------------ */

/* Keeps the demands for which keep(want) holds. */
static void wants_keep(struct want *w, size_t *n,
		       bool (*keep)(const struct want *))
{
	size_t k = 0;

	for (size_t i = 0; i < *n; i++)
		if (keep(&w[i]))
			w[k++] = w[i];
	*n = k;
}

Test(lpctrace, filter_pid_keeps_only_that_process)
{
	char name[64], nreq[] = "20", *out = tpath("echo-server.out");
	char *cout = tpath("echo-client.out"), *trace = tpath("trace.ndjson");
	char *sargv[] = { (char *)bin("examples/lpc-echo"), "server", name,
			  NULL };
	char *cargv[] = { (char *)bin("examples/lpc-echo"), "client", name,
			  nreq, NULL };
	struct spawn_opts so = { .out = out, .err = out, .out_fd = -1 };
	const char *args[] = { "-p", NULL, "-f", "ndjson", "-o", NULL, NULL };
	size_t requests = 0, replies = 0, connects = 0;
	char spid[16];
	struct session s;
	struct lines recs;
	pid_t srv, cli;
	int st;

	need_bpf();
	snprintf(name, sizeof(name), "\\LtEcho%d", (int)getpid());
	srv = spawn(sargv, &so);
	cr_assert(wait_for_text(out, "server: listening", srv, QUICK_MS, &st),
		  "lpc-echo server did not start (%s):\n%s", status_str(st),
		  tail_of(out));
	snprintf(spid, sizeof(spid), "%d", (int)srv);
	args[1] = spid;
	args[5] = trace;
	session__start(&s, bin("lpctrace"), args, true);
	{
		struct spawn_opts co = { .out = cout, .err = cout,
					 .out_fd = -1 };

		cli = spawn(cargv, &co);
		st = finish(cli, TRAFFIC_MS, "lpc-echo client", cout);
		assert_exit0(st, "lpc-echo client", cout);
	}
	/* The server's LPC_PORT_CLOSED comes after the client's exit. */
	usleep(200000);
	st = session__stop(&s, true);
	assert_exit0(st, "lpctrace -p", s.err);
	kill(srv, SIGTERM);
	finish(srv, QUICK_MS, "lpc-echo server", out);

	lines__load(&recs, trace, true);
	cr_assert_gt(recs.n, 0);
	for (size_t i = 0; i < recs.n; i++) {
		const struct json *r = recs.v[i];
		int64_t type = json__get_int(r, "type", -1);

		cr_assert_eq(json__get_int(r, "pid", -1), srv,
			     "record %zu (%s) from pid %lld, not the server "
			     "%d (the client was %d)", i, rec_probe(r),
			     (long long)json__get_int(r, "pid", -1), (int)srv,
			     (int)cli);
		if (!strcmp(rec_probe(r), "receive") &&
		    json__get_int(r, "client_pid", -1) == cli) {
			requests += type == 1;
			connects += type == 10;
		}
		if (!strcmp(rec_probe(r), "reply") &&
		    json__get_int(r, "client_pid", -1) == cli)
			replies++;
	}
	cr_assert_eq(connects, 1, "the client's connection request");
	cr_assert_eq(requests, 20, "the client's requests, received");
	cr_assert_eq(replies, 20, "the server's replies");
}

static bool keep_request_records(const struct want *w)
{
	int64_t type = -1;

	for (int i = 0; i < w->nf; i++)
		if (!strcmp(w->f[i].key, "type"))
			type = w->f[i].i;
	return (!strcmp(w->probe, "send") || !strcmp(w->probe, "receive")) &&
	       type == 1;
}

Test(lpctrace, filter_type_request_keeps_only_requests)
{
	const char *opts[] = { "-T", "request", "-f", "ndjson", NULL };
	char *trace = tpath("trace.ndjson");
	struct lines recs, ops;
	struct traffic t;
	struct want *w;
	size_t nw;

	need_bpf();
	traffic__init(&t, "Typ");
	trace_traffic(lpctrace_alone(), opts, &t, trace, &ops);
	lines__load(&recs, trace, true);
	for (size_t i = 0; i < recs.n; i++) {
		const char *p = rec_probe(recs.v[i]);

		cr_assert((!strcmp(p, "send") || !strcmp(p, "receive")) &&
				  json__get_int(recs.v[i], "type", -1) == 1,
			  "-T request let through a %s record of type %lld",
			  p, (long long)json__get_int(recs.v[i], "type", -1));
	}
	nw = wants_of(&ops, 0, &w);
	wants_keep(w, &nw, keep_request_records);
	cr_assert_eq(nw, 2 * ops_count(&ops, "request"));
	assert_wants(&recs, w, nw, "-T request");
	cr_assert(recs.n <= nw && recs.n + ops_lost_sends(&ops) >= nw,
		  "%zu records, %zu request sends and receives", recs.n, nw);
}

static bool keep_failures(const struct want *w)
{
	for (int i = 0; i < w->nf; i++) {
		if (!strcmp(w->f[i].key, "status") && w->f[i].kind == F_STR)
			return rec_status_failed(w->f[i].s);
		if (!strcmp(w->f[i].key, "done"))
			return !w->f[i].b;
	}
	return false;
}

Test(lpctrace, filter_failed_keeps_only_failures)
{
	const char *opts[] = { "-x", "-f", "ndjson", NULL };
	char *trace = tpath("trace.ndjson");
	struct lines recs, ops;
	struct traffic t;
	struct want *w;
	size_t nw;

	need_bpf();
	traffic__init(&t, "Fail");
	trace_traffic(lpctrace_alone(), opts, &t, trace, &ops);
	lines__load(&recs, trace, true);
	for (size_t i = 0; i < recs.n; i++) {
		const struct json *r = recs.v[i];
		const char *st = json__get_str(r, "status");
		bool failed = false, done = true;

		cr_assert(json__bool(json__get(r, "failed"), &failed) && failed,
			  "-x let through a record that did not fail: %s",
			  rec_probe(r));
		cr_assert(!st || rec_status_failed(st),
			  "-x let through a %s with status %s", rec_probe(r),
			  st);
		if (!strcmp(rec_probe(r), "wait_end"))
			cr_assert(json__bool(json__get(r, "done"), &done) &&
					  !done,
				  "-x let through an answered wait");
	}
	/* The script's failures: B refused, the mismatched reply, the
	 * receive timeout, the late reply to dead D. */
	nw = wants_of(&ops, 0, &w);
	wants_keep(w, &nw, keep_failures);
	cr_assert_eq(nw, 4, "the script has four failures");
	assert_wants(&recs, w, nw, "-x");
	cr_assert_eq(recs.n, nw, "%zu records; the script has %zu failures",
		     recs.n, nw);
}

/* sh -c: two commands at once, the exit status of both. */
static const char two_at_once[] =
	"\"$1\" --port \"$2\" --log \"$3\" >\"$4\" 2>&1 & a=$!; "
	"\"$1\" --port \"$5\" --log \"$6\" >\"$7\" 2>&1 & b=$!; "
	"wait $a; ra=$?; wait $b; rb=$?; exit $((ra | rb))";

Test(lpctrace, filter_port_keeps_only_that_port)
{
	char *trace = tpath("trace.ndjson");
	struct traffic a, b;
	struct lines recs, opsa, opsb;
	struct pidset pa, pb;
	struct session s;
	struct want *w;
	size_t nw;
	int st;

	need_bpf();
	traffic__init(&a, "PortA");
	traffic__init(&b, "PortB");
	{
		const char *args[] = {
			"-P", a.port, "-f", "ndjson", "-o", trace, "-b",
			bin("examples/lpc-traffic"), "--", "/bin/sh", "-c",
			two_at_once, "sh", bin("examples/lpc-traffic"),
			a.port, a.log, a.out, b.port, b.log, b.out, NULL
		};

		session__start(&s, lpctrace_alone(), args, false);
	}
	st = session__stop(&s, false);
	assert_exit0(st, "lpctrace -P -- two lpc-traffic runs", s.err);
	lines__load(&opsa, a.log, false);
	lines__load(&opsb, b.log, false);
	pa = ops_pids(&opsa);
	pb = ops_pids(&opsb);
	lines__load(&recs, trace, true);
	for (size_t i = 0; i < recs.n; i++) {
		const struct json *r = recs.v[i];
		const char *pn = json__get_str(r, "port_name");

		cr_assert(!pidset__has(&pb, json__get_int(r, "pid", -1)),
			  "a %s record of the other run (port %s)",
			  rec_probe(r), b.port);
		cr_assert(!pn || !strcmp(pn, a.port),
			  "a %s record about port %s", rec_probe(r), pn);
	}
	/* Everything the run on the port did is there. */
	keep_pids(&recs, &pa);
	nw = wants_of(&opsa, 0, &w);
	assert_wants(&recs, w, nw, "-P");
}

static bool keep_temp_file_calls(const struct want *w)
{
	if (strcmp(w->probe, "api"))
		return false;
	for (int i = 0; i < w->nf; i++)
		if (!strcmp(w->f[i].key, "api_number"))
			return w->f[i].i == BASESRV_GET_TEMP_FILE;
	return false;
}

Test(lpctrace, filter_api_keeps_only_that_api)
{
	const char *args[] = { "-p", NULL, "-a", "BasepGetTempFile", "-f",
			       "ndjson", "-o", NULL, NULL };
	char *trace = tpath("trace.ndjson"), *targv[12], cpid[16];
	struct lines recs, ops;
	struct traffic t;
	struct session s;
	struct want *w;
	pid_t csrd;
	size_t nw;
	int n = 0, st;

	need_bpf();
	traffic__init(&t, "Api");
	csrd = csrt_start(NULL);
	kid_add(csrd);
	snprintf(cpid, sizeof(cpid), "%d", (int)csrd);
	args[1] = cpid;
	args[7] = trace;
	session__start(&s, bin("lpctrace"), args, true);
	traffic__argv(&t, true, targv, &n);
	targv[n] = NULL;
	st = run(targv, t.out, t.out, TRAFFIC_MS);
	assert_exit0(st, "lpc-traffic --csr", t.out);
	st = session__stop(&s, true);
	assert_exit0(st, "lpctrace -a", s.err);
	st = csrt_stop(csrd);
	kid_forget(csrd);
	assert_exit0(st, "csrd", lpct_path("csrd.log"));

	lines__load(&ops, t.log, false);
	lines__load(&recs, trace, true);
	for (size_t i = 0; i < recs.n; i++) {
		const struct json *r = recs.v[i];

		cr_assert(!strcmp(rec_probe(r), "api") &&
				  json__get_int(r, "api_number", -1) ==
					  BASESRV_GET_TEMP_FILE,
			  "-a BasepGetTempFile let through %s (api_number "
			  "%lld)", rec_probe(r),
			  (long long)json__get_int(r, "api_number", -1));
		cr_assert_str_eq(json__get_str(r, "api_name"),
				 "BasepGetTempFile");
	}
	nw = wants_of(&ops, csrd, &w);
	wants_keep(w, &nw, keep_temp_file_calls);
	cr_assert_eq(nw, 2, "lpc-traffic calls BasepGetTempFile twice");
	assert_wants(&recs, w, nw, "-a");
	cr_assert_eq(recs.n, nw);
}

static bool keep_sends(const struct want *w)
{
	return !strcmp(w->probe, "send");
}

Test(lpctrace, filter_comm_keeps_only_that_comm)
{
	static const char script[] =
		"\"$1\" demo 300 >\"$2\" 2>&1 & e=$!; "
		"\"$3\" --port \"$4\" --log \"$5\" >\"$6\" 2>&1; r=$?; "
		"wait $e; re=$?; exit $((r | re))";
	char *trace = tpath("trace.ndjson"), *eout = tpath("echo.out");
	struct lines recs, ops;
	struct traffic t;
	struct session s;
	struct pidset pids;
	struct want *w;
	size_t nw;
	int st;

	need_bpf();
	traffic__init(&t, "Comm");
	{
		const char *args[] = {
			"-c", "lpc-traffic", "-f", "ndjson", "-o", trace,
			"-b", bin("examples/lpc-traffic"), "-b",
			bin("examples/lpc-echo"), "--", "/bin/sh", "-c",
			script, "sh", bin("examples/lpc-echo"), eout,
			bin("examples/lpc-traffic"), t.port, t.log, t.out,
			NULL
		};

		session__start(&s, lpctrace_alone(), args, false);
	}
	st = session__stop(&s, false);
	assert_exit0(st, "lpctrace -c -- lpc-echo demo & lpc-traffic", s.err);
	cr_assert(strstr(tail_of(eout), "round trips"),
		  "lpc-echo demo did not run:\n%s", tail_of(eout));
	lines__load(&ops, t.log, false);
	pids = ops_pids(&ops);
	lines__load(&recs, trace, true);
	for (size_t i = 0; i < recs.n; i++) {
		const struct json *r = recs.v[i];

		cr_assert_str_eq(json__get_str(r, "comm"), "lpc-traffic",
				 "-c lpc-traffic let through a %s record",
				 rec_probe(r));
		cr_assert(pidset__has(&pids, json__get_int(r, "pid", -1)),
			  "a record of pid %lld, not lpc-traffic's",
			  (long long)json__get_int(r, "pid", -1));
	}
	nw = wants_of(&ops, 0, &w);
	wants_keep(w, &nw, keep_sends);
	cr_assert_gt(nw, 0);
	assert_wants(&recs, w, nw, "-c");
}

/* ------------------------------------------------------------------ */
/* 4. lpctrace waits                                                   */
/* ------------------------------------------------------------------ */

/* What a child tells the test, in one atomic write. */
struct report {
	uint32_t tag;
	uint32_t msgid;
	int32_t pid, tid;
};

enum { R_READY = 1, R_CONNECTED, R_HELD, R_ACCEPTED, R_LINKED };

static void child_report(int fd, uint32_t tag, uint32_t msgid)
{
	struct report r = { tag, msgid, (int32_t)getpid(),
			    (int32_t)lpct_gettid() };

	CHILD_CHECK(write(fd, &r, sizeof(r)) == (ssize_t)sizeof(r), 40);
}

/* The next report, within 10 s; it must be tag. */
static struct report read_report(int fd, uint32_t tag, const char *who)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	struct report r;
	ssize_t n;

	cr_assert_eq(poll(&p, 1, 10000), 1, "%s: no report %u within 10 s",
		     who, tag);
	n = read(fd, &r, sizeof(r));
	cr_assert_eq(n, (ssize_t)sizeof(r), "%s: the child failed before "
		     "report %u", who, tag);
	cr_assert_eq(r.tag, tag, "%s: report %u, not %u", who, r.tag, tag);
	return r;
}

static void child_wait_byte(int fd)
{
	char c;

	CHILD_CHECK(read(fd, &c, 1) == 1, 41);
}

static HANDLE child_create(const char *name)
{
	OBJECT_ATTRIBUTES oa;
	HANDLE h = NULL;

	InitializeObjectAttributes(&oa, lpct_ustr(name), 0, NULL, NULL);
	CHILD_CHECK(NtCreatePort(&h, &oa, 0, LPC_MAX_MESSAGE_LENGTH, 0) ==
			    STATUS_SUCCESS,
		    42);
	return h;
}

static HANDLE child_accept(HANDLE port)
{
	HANDLE comm = NULL;
	lpct_msg m;

	memset(&m.h, 0, sizeof(m.h));
	CHILD_CHECK(NtListenPort(port, &m.h) == STATUS_SUCCESS, 43);
	CHILD_CHECK(NtAcceptConnectPort(&comm, NULL, &m.h, TRUE, NULL, NULL) ==
			    STATUS_SUCCESS,
		    44);
	CHILD_CHECK(NtCompleteConnectPort(comm) == STATUS_SUCCESS, 45);
	return comm;
}

static HANDLE child_connect(const char *name)
{
	HANDLE h = NULL;

	CHILD_CHECK(NtConnectPort(&h, lpct_ustr(name), lpct_qos(), NULL, NULL,
				  NULL, NULL, NULL) == STATUS_SUCCESS,
		    46);
	return h;
}

/* A request on port that never gets its answer (the child is killed). */
static void __attribute__((noreturn)) child_request_forever(HANDLE port)
{
	lpct_msg m, r;

	lpct_msg_init(&m, "stuck?", 7);
	memset(&r.h, 0, sizeof(r.h));
	NtRequestWaitReplyPort(port, &m.h, &r.h);
	_exit(47);
}

struct wargs {
	const char *name;	/* the port this child serves or uses */
	const char *other;	/* deadlock: the other server's port */
	int wfd;		/* reports to the test */
	int rfd;		/* go-ahead bytes from the test */
	int extra;		/* deadlock: connections besides the peer's */
};

/* Serves one connection, receives one request, never replies. */
static void held_server(void *p)
{
	const struct wargs *a = p;
	HANDLE port;
	lpct_msg m;
	PVOID ctx;

	lpct_child_enter();
	port = child_create(a->name);
	child_report(a->wfd, R_READY, 0);
	child_accept(port);
	memset(&m.h, 0, sizeof(m.h));
	CHILD_CHECK(NtReplyWaitReceivePort(port, &ctx, NULL, &m.h) ==
			    STATUS_SUCCESS,
		    48);
	child_report(a->wfd, R_HELD, m.h.MessageId);
	/* "Serving" it: asleep, not in an LPC wait. */
	sleep(300);
	_exit(0);
}

/* Accepts one connection, then waits in a receive (to be stopped). */
static void receiving_server(void *p)
{
	const struct wargs *a = p;
	HANDLE port;
	lpct_msg m;
	PVOID ctx;

	lpct_child_enter();
	port = child_create(a->name);
	child_report(a->wfd, R_READY, 0);
	child_accept(port);
	child_report(a->wfd, R_ACCEPTED, 0);
	memset(&m.h, 0, sizeof(m.h));
	NtReplyWaitReceivePort(port, &ctx, NULL, &m.h);
	sleep(300);
	_exit(0);
}

/* Connects, reports, waits for the go-ahead, requests forever. */
static void waiting_client(void *p)
{
	const struct wargs *a = p;
	HANDLE port;

	lpct_child_enter();
	port = child_connect(a->name);
	child_report(a->wfd, R_CONNECTED, 0);
	child_wait_byte(a->rfd);
	child_request_forever(port);
}

static void *connector(void *p)
{
	return child_connect(p);
}

/*
 * One of two servers that serve each request by calling the other: it
 * connects to the other while accepting the other's connection, accepts
 * a->extra more, then forwards every request it receives to the other.
 */
static void calling_server(void *p)
{
	const struct wargs *a = p;
	HANDLE port, other;
	pthread_t t;
	lpct_msg m, f, r;
	PVOID ctx;

	lpct_child_enter();
	port = child_create(a->name);
	child_report(a->wfd, R_READY, 0);
	child_wait_byte(a->rfd);
	CHILD_CHECK(pthread_create(&t, NULL, connector, (void *)a->other) == 0,
		    49);
	child_accept(port);
	CHILD_CHECK(pthread_join(t, (void **)&other) == 0 && other, 50);
	child_report(a->wfd, R_LINKED, 0);
	for (int i = 0; i < a->extra; i++)
		child_accept(port);
	for (;;) {
		memset(&m.h, 0, sizeof(m.h));
		CHILD_CHECK(NtReplyWaitReceivePort(port, &ctx, NULL, &m.h) ==
				    STATUS_SUCCESS,
			    51);
		if ((m.h.u2.s2.Type & 0xfff) != LPC_REQUEST)
			continue;
		lpct_msg_init(&f, m.data, m.h.u1.s1.DataLength);
		memset(&r.h, 0, sizeof(r.h));
		if (NtRequestWaitReplyPort(other, &f.h, &r.h) == STATUS_SUCCESS)
			NtReplyPort(port, &m.h);
	}
}

/* Starts fn(a) in a child that reports on a fresh pipe (a->wfd; the
 * test's end in *rfd) and reads go-ahead bytes from another (*gofd). */
static pid_t start_child(void (*fn)(void *), struct wargs *a, int *rfd,
			 int *gofd)
{
	int rep[2], go[2];
	pid_t pid;

	cr_assert_eq(pipe2(rep, O_CLOEXEC), 0);
	cr_assert_eq(pipe2(go, O_CLOEXEC), 0);
	a->wfd = rep[1];
	a->rfd = go[0];
	pid = lpct_fork(fn, a);
	kid_add(pid);
	close(rep[1]);
	close(go[0]);
	*rfd = rep[0];
	*gofd = go[1];
	return pid;
}

static void go_ahead(int fd)
{
	cr_assert_eq(write(fd, "g", 1), 1);
}

/* lpctrace waits [args]: its stdout (caller frees), exit status checked. */
static char *waits(const char *const *args)
{
	char *argv[16], *out = tpath("waits.out"), *err = tpath("waits.err");
	char *text;
	int n = 0, st;

	argv[n++] = (char *)bin("lpctrace");
	argv[n++] = "waits";
	for (; args && *args && n < 15; args++)
		argv[n++] = (char *)*args;
	argv[n] = NULL;
	st = run(argv, out, err, QUICK_MS);
	assert_exit0(st, "lpctrace waits", err);
	text = slurp(out, NULL);
	release(out);
	release(err);
	return text;
}

/* The line of thread pid/tid in waits' output ("" if none; static), and
 * the explanation line after it. */
static const char *waits_line(const char *text, pid_t pid, pid_t tid,
			      const char **explain)
{
	static char line[1024], next[1024];
	char who[40];
	const char *p = text;

	snprintf(who, sizeof(who), "%d/%d ", (int)pid, (int)tid);
	line[0] = next[0] = 0;
	*explain = next;
	while (p && *p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);

		if (!strncmp(p, who, strlen(who))) {
			snprintf(line, sizeof(line), "%.*s", (int)n, p);
			if (nl && !strncmp(nl + 1, "    -> ", 7)) {
				const char *e = strchr(nl + 1, '\n');

				snprintf(next, sizeof(next), "%.*s",
					 (int)(e ? e - nl - 1 :
						   (long)strlen(nl + 1)),
					 nl + 1);
			}
			return line;
		}
		p = nl ? nl + 1 : NULL;
	}
	return line;
}

/* Whitespace-separated field i of s (static). */
static const char *word(const char *s, int i)
{
	static char w[256];
	int k = -1;

	w[0] = 0;
	while (*s) {
		size_t n;

		while (*s == ' ')
			s++;
		n = strcspn(s, " ");
		if (!n)
			break;
		if (++k == i) {
			snprintf(w, sizeof(w), "%.*s", (int)n, s);
			return w;
		}
		s += n;
	}
	return w;
}

/*
 * MessageIds of a range of this test's own.  Each $LPC_ROOT counts from
 * 1, and waits finds a message's holder by MessageId alone, across every
 * process on the machine: a test running next to this one (another root)
 * would otherwise hold "the same" message.  (That confusion has a test
 * of its own: waits_holder_is_found_in_the_waiters_namespace.)
 */
static void own_message_ids(void)
{
	uint32_t n = (uint32_t)getpid() * 16;

	for (uint32_t i = 0; i < n; i++)
		lpc_next_message_id();
}

struct held_scene {
	char name[64];
	pid_t spid, cpid;
	struct report held, client;
};

/* A client waiting for the reply to a request a server holds (received,
 * never answered: the server sleeps), in the current $LPC_ROOT. */
static void held_scene__build(struct held_scene *h, const char *tag)
{
	struct wargs sa = { .name = h->name }, ca = { .name = h->name };
	int srfd, sgo, crfd, cgo;

	snprintf(h->name, sizeof(h->name), "\\LtHeld%s%d", tag,
		 (int)getpid());
	h->spid = start_child(held_server, &sa, &srfd, &sgo);
	read_report(srfd, R_READY, "server");
	h->cpid = start_child(waiting_client, &ca, &crfd, &cgo);
	h->client = read_report(crfd, R_CONNECTED, "client");
	go_ahead(cgo);
	h->held = read_report(srfd, R_HELD, "server");
	cr_assert(lpct_wait_sleeping(h->cpid, h->client.tid),
		  "the client never blocked in its request");
	cr_assert(lpct_wait_sleeping(h->spid, h->held.tid),
		  "the server never went to sleep");
	close(srfd);
	close(sgo);
	close(crfd);
	close(cgo);
}

Test(lpctrace, waits_names_the_stuck_server_thread)
{
	struct held_scene h;
	const char *line, *why;
	char want[160], *text;

	own_message_ids();
	held_scene__build(&h, "");
	text = waits(NULL);
	line = waits_line(text, h.cpid, h.client.tid, &why);
	cr_assert(line[0], "no line for the waiting client %d/%d:\n%s",
		  (int)h.cpid, h.client.tid, text);
	cr_assert_str_eq(word(line, 2), "reply", "%s", line);
	cr_assert_str_eq(word(line, 3), h.name, "%s", line);
	cr_assert_eq(strtoul(word(line, 4), NULL, 10), h.held.msgid,
		     "the MessageId: %s", line);
	snprintf(want, sizeof(want), "message %u held by %d/%d ", h.held.msgid,
		 h.held.pid, h.held.tid);
	cr_assert(strstr(why, want), "\"%s\" expected under the client's "
		  "line; waits says:\n%s", want, text);
}

/* -p: the client's process only, but the explanation still needs to
 * know who holds its message. */
Test(lpctrace, waits_for_one_process_still_names_the_holder)
{
	struct held_scene h;
	const char *line, *why;
	char want[160], pid[16], *text;
	const char *args[] = { "-p", pid, NULL };
	const char *p;

	own_message_ids();
	held_scene__build(&h, "");
	snprintf(pid, sizeof(pid), "%d", (int)h.cpid);
	text = waits(args);
	line = waits_line(text, h.cpid, h.client.tid, &why);
	cr_assert(line[0], "no line for the waiting client %d/%d:\n%s",
		  (int)h.cpid, h.client.tid, text);
	cr_assert_str_eq(word(line, 2), "reply", "%s", line);
	cr_assert_eq(strtoul(word(line, 4), NULL, 10), h.held.msgid, "%s",
		     line);
	/* Only that process's threads are listed. */
	for (p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1
						     : NULL) {
		int lp, lt;

		if (sscanf(p, "%d/%d ", &lp, &lt) == 2)
			cr_assert_eq(lp, h.cpid, "waits -p %d lists a thread "
				     "of %d:\n%s", (int)h.cpid, lp, text);
	}
	snprintf(want, sizeof(want), "message %u held by %d/%d ", h.held.msgid,
		 h.held.pid, h.held.tid);
	cr_assert(strstr(why, want),
		  "waits -p %d: \"%s\" expected; it says: %s", (int)h.cpid,
		  want, why);
}

/*
 * Two namespaces, one MessageId: each $LPC_ROOT counts its own, so the
 * same scene in two roots holds "message 2" twice.  Each waiting client's
 * message is held by the server of its own namespace.
 */
Test(lpctrace, waits_holder_is_found_in_the_waiters_namespace)
{
	struct held_scene a, b;
	const char *why;
	char want[160], *text, *first = own(strdup(lpct_root()));

	cr_assert_not_null(first);
	held_scene__build(&a, "A");
	snprintf(other_root, sizeof(other_root), "%s-other-XXXXXX", first);
	cr_assert_not_null(mkdtemp(other_root));
	setenv("LPC_ROOT", other_root, 1);
	held_scene__build(&b, "B");
	setenv("LPC_ROOT", first, 1);
	cr_assert_eq(a.held.msgid, b.held.msgid, "the scenes should hold the "
		     "same MessageId (%u, %u)", a.held.msgid, b.held.msgid);
	text = waits(NULL);
	waits_line(text, a.cpid, a.client.tid, &why);
	snprintf(want, sizeof(want), "message %u held by %d/%d ", a.held.msgid,
		 a.held.pid, a.held.tid);
	cr_expect(strstr(why, want), "client %d in %s: \"%s\" expected; "
		  "waits says: %s", (int)a.cpid, lpct_root(), want, why);
	waits_line(text, b.cpid, b.client.tid, &why);
	snprintf(want, sizeof(want), "message %u held by %d/%d ", b.held.msgid,
		 b.held.pid, b.held.tid);
	cr_expect(strstr(why, want), "client %d in %s: \"%s\" expected; "
		  "waits says: %s", (int)b.cpid, other_root, want, why);
}

Test(lpctrace, waits_shows_a_stopped_server)
{
	char name[64], *text = NULL;
	struct wargs sa = { .name = name }, ca = { .name = name };
	int srfd, sgo, crfd, cgo;
	const char *line = "", *why = "", *sline, *sw;
	struct report client;
	pid_t spid, cpid;
	unsigned msgid;
	char want[160];

	snprintf(name, sizeof(name), "\\LtStop%d", (int)getpid());
	own_message_ids();
	spid = start_child(receiving_server, &sa, &srfd, &sgo);
	read_report(srfd, R_READY, "server");
	cpid = start_child(waiting_client, &ca, &crfd, &cgo);
	client = read_report(crfd, R_CONNECTED, "client");
	read_report(srfd, R_ACCEPTED, "server");
	cr_assert(lpct_wait_sleeping(spid, spid), "the server never blocked "
		  "in its receive");
	cr_assert_eq(kill(spid, SIGSTOP), 0);
	for (int i = 0; i < 500 && lpct_proc_state(spid, spid) != 'T'; i++)
		usleep(10000);
	cr_assert_eq(lpct_proc_state(spid, spid), 'T', "SIGSTOP did not stop "
		     "the server");
	go_ahead(cgo);
	cr_assert(lpct_wait_sleeping(cpid, client.tid),
		  "the client never blocked in its request");
	/* The client publishes its wait before it blocks; a few looks at
	 * most for the line to appear. */
	for (int i = 0; i < 50; i++) {
		release(text);
		text = waits(NULL);
		line = waits_line(text, cpid, client.tid, &why);
		if (line[0] && !strcmp(word(line, 2), "reply"))
			break;
		usleep(100000);
	}
	cr_assert(line[0] && !strcmp(word(line, 2), "reply"),
		  "no reply wait for the client %d/%d:\n%s", (int)cpid,
		  client.tid, text);
	cr_assert_str_eq(word(line, 3), name, "%s", line);
	msgid = (unsigned)strtoul(word(line, 4), NULL, 10);
	cr_assert_neq(msgid, 0, "%s", line);
	snprintf(want, sizeof(want),
		 "no server thread has received message %u yet", msgid);
	cr_assert(strstr(why, want), "\"%s\" expected; waits says:\n%s", want,
		  text);
	sline = waits_line(text, spid, spid, &sw);
	cr_assert(sline[0], "no line for the stopped server %d:\n%s",
		  (int)spid, text);
	cr_assert_str_eq(word(sline, 2), "receive", "%s", sline);
	cr_assert(strstr(sline, "STOPPED"), "the server's STATE: %s", sline);
	kill(spid, SIGKILL);
	close(srfd);
	close(sgo);
	close(crfd);
	close(cgo);
}

Test(lpctrace, waits_reports_a_two_server_deadlock)
{
	char nx[64], ny[64], *text = NULL;
	struct wargs xa = { .name = nx, .other = ny, .extra = 1 };
	struct wargs ya = { .name = ny, .other = nx, .extra = 0 };
	struct wargs ta = { .name = nx };
	int xr, xg, yr, yg, tr, tg, nwaiting = 0;
	struct report tc, xl, yl;
	pid_t x, y, t;

	snprintf(nx, sizeof(nx), "\\LtDeadX%d", (int)getpid());
	snprintf(ny, sizeof(ny), "\\LtDeadY%d", (int)getpid());
	own_message_ids();
	x = start_child(calling_server, &xa, &xr, &xg);
	y = start_child(calling_server, &ya, &yr, &yg);
	read_report(xr, R_READY, "server X");
	read_report(yr, R_READY, "server Y");
	go_ahead(xg);
	go_ahead(yg);
	xl = read_report(xr, R_LINKED, "server X");
	yl = read_report(yr, R_LINKED, "server Y");
	/* T's request to X: X calls Y, Y calls X, whose only thread is
	 * waiting for Y. */
	t = start_child(waiting_client, &ta, &tr, &tg);
	tc = read_report(tr, R_CONNECTED, "client T");
	go_ahead(tg);
	for (int i = 0; i < 50 && nwaiting < 3; i++) {
		const char *why;
		const char *lt, *lx, *ly;

		release(text);
		text = waits(NULL);
		nwaiting = 0;
		lt = waits_line(text, t, tc.tid, &why);
		nwaiting += lt[0] && !strcmp(word(lt, 2), "reply");
		lx = waits_line(text, x, xl.tid, &why);
		nwaiting += lx[0] && !strcmp(word(lx, 2), "reply");
		ly = waits_line(text, y, yl.tid, &why);
		nwaiting += ly[0] && !strcmp(word(ly, 2), "reply");
		if (nwaiting < 3)
			usleep(100000);
	}
	cr_assert_eq(nwaiting, 3, "T, X and Y should all wait for replies:\n%s",
		     text);
	cr_assert(strstr(text, "DEADLOCK"),
		  "X (%d) and Y (%d) wait for each other; waits does not say "
		  "DEADLOCK:\n%s", (int)x, (int)y, text);
	close(xr);
	close(xg);
	close(yr);
	close(yg);
	close(tr);
	close(tg);
}

/*
 * lpctrace [opts] -f ndjson -o trace -- <this binary> in role: the
 * records, and what the role printed (owned).
 */
static char *trace_role(const char *role, const char *const *opts,
			struct lines *recs)
{
	char self[PATH_MAX], *trace = tpath("role.ndjson");
	char *out = tpath("role.out"), *text, *argv[24];
	struct spawn_opts o = { .out = out, .err = out, .out_fd = -1,
				.role = role };
	ssize_t len;
	int n = 0, st;
	pid_t pid;

	len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	cr_assert_gt(len, 0);
	self[len] = 0;
	argv[n++] = (char *)lpctrace_alone();
	for (; *opts && n < 16; opts++)
		argv[n++] = (char *)*opts;
	argv[n++] = "-f";
	argv[n++] = "ndjson";
	argv[n++] = "-o";
	argv[n++] = trace;
	argv[n++] = "--";
	argv[n++] = self;
	argv[n] = NULL;
	pid = spawn(argv, &o);
	st = finish(pid, TRACE_EXIT_MS, "lpctrace -- role", out);
	text = slurp(out, NULL);
	assert_exit0(st, role, out);
	lines__load(recs, trace, true);
	return text;
}

/* ------------------------------------------------------------------ */
/* 5. Programs traced as this very binary: fork, killed clients, a view */
/* ------------------------------------------------------------------ */

static int role_lpc_call(void)
{
	OBJECT_ATTRIBUTES oa;
	HANDLE h = NULL;

	InitializeObjectAttributes(&oa, NULL, 0, NULL, NULL);
	if (NtCreatePort(&h, &oa, 0, 0x100, 0) != STATUS_SUCCESS)
		return -1;
	return NtClose(h) == STATUS_SUCCESS ? 0 : -1;
}

/*
 * The traced program of fork_after_probes_fired_child_lives, run as this
 * very binary: an LPC call (probes fire), half a second, a fork, another
 * LPC call in the child.  Exit 0 when the child exited 0, 100 + signal
 * when a signal killed it.
 */
static int role_fork(void)
{
	pid_t child;
	int st;

	alarm(30);
	if (role_lpc_call())
		return 10;
	usleep(500000);
	child = fork();
	if (child < 0)
		return 11;
	if (child == 0)
		_exit(role_lpc_call() ? 12 : 0);
	if (waitpid(child, &st, 0) != child)
		return 13;
	printf("parent %d child %d status 0x%x\n", (int)getpid(), (int)child,
	       st);
	fflush(stdout);
	if (WIFSIGNALED(st))
		return 100 + WTERMSIG(st);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 14;
}

#define KILLED_CLIENTS 10

/*
 * The traced program of sends_of_killed_clients_are_recorded: a server
 * that SIGKILLs each client the moment it has received the client's
 * request, as lpc-traffic's step 6 does to D.  One CPU for all, so that
 * the woken server runs before the client is back from sending.  Prints
 * "requests N".
 */
static int role_killsend(void)
{
	OBJECT_ATTRIBUTES oa;
	cpu_set_t one;
	HANDLE port;
	char name[64];
	int n = 0;

	alarm(60);
	CPU_ZERO(&one);
	CPU_SET(0, &one);
	sched_setaffinity(0, sizeof(one), &one);
	snprintf(name, sizeof(name), "\\LtKill%d", (int)getpid());
	InitializeObjectAttributes(&oa, lpct_ustr(name), 0, NULL, NULL);
	if (NtCreatePort(&port, &oa, 0, LPC_MAX_MESSAGE_LENGTH, 0))
		return 20;
	for (int i = 0; i < KILLED_CLIENTS; i++) {
		HANDLE comm = NULL;
		lpct_msg m;
		PVOID ctx;
		pid_t c = fork();
		int st;

		if (c < 0)
			return 21;
		if (c == 0) {
			HANDLE h = NULL;
			lpct_msg q, r;

			prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (NtConnectPort(&h, lpct_ustr(name), lpct_qos(), NULL,
					  NULL, NULL, NULL, NULL))
				_exit(22);
			lpct_msg_init(&q, "kill me", 8);
			NtRequestWaitReplyPort(h, &q.h, &r.h);
			_exit(23);
		}
		memset(&m.h, 0, sizeof(m.h));
		if (NtListenPort(port, &m.h) ||
		    NtAcceptConnectPort(&comm, NULL, &m.h, TRUE, NULL, NULL) ||
		    NtCompleteConnectPort(comm))
			return 24;
		do {
			memset(&m.h, 0, sizeof(m.h));
			if (NtReplyWaitReceivePort(port, &ctx, NULL, &m.h))
				return 25;
		} while ((m.h.u2.s2.Type & 0xfff) != LPC_REQUEST);
		kill(c, SIGKILL);
		if (waitpid(c, &st, 0) != c || !WIFSIGNALED(st))
			return 26;
		NtClose(comm);
		n++;
	}
	printf("requests %d\n", n);
	fflush(stdout);
	return 0;
}

static void *view_client(void *name)
{
	LARGE_INTEGER size = { .QuadPart = 0x10000 };
	PORT_VIEW view = { .Length = sizeof(view) };
	HANDLE sec = NULL, port = NULL;
	lpct_msg m, r;
	NTSTATUS st;

	st = NtCreateSection(&sec, SECTION_ALL_ACCESS, NULL, &size,
			     PAGE_READWRITE, SEC_COMMIT, NULL);
	if (st)
		return (void *)1;
	view.SectionHandle = sec;
	view.ViewSize = 0x10000;
	if (NtConnectPort(&port, lpct_ustr(name), lpct_qos(), &view, NULL,
			  NULL, NULL, NULL))
		return (void *)2;
	lpct_msg_init(&m, "via view", 9);
	memset(&r.h, 0, sizeof(r.h));
	if (NtRequestWaitReplyPort(port, &m.h, &r.h))
		return (void *)3;
	NtClose(port);
	NtClose(sec);
	return NULL;
}

/*
 * The traced program of the tests on one plain exchange: a client
 * thread connects with a 64 KiB client view and makes one request, the
 * server (the main thread) accepts, maps the view and replies.  Prints
 * "port NAME".
 */
static int role_view(void)
{
	REMOTE_PORT_VIEW cview = { .Length = sizeof(cview) };
	OBJECT_ATTRIBUTES oa;
	HANDLE port, comm = NULL;
	char name[64];
	pthread_t t;
	void *ret;
	lpct_msg m;
	PVOID ctx;

	alarm(30);
	snprintf(name, sizeof(name), "\\LtView%d", (int)getpid());
	InitializeObjectAttributes(&oa, lpct_ustr(name), 0, NULL, NULL);
	if (NtCreatePort(&port, &oa, 0, LPC_MAX_MESSAGE_LENGTH, 0))
		return 30;
	if (pthread_create(&t, NULL, view_client, name))
		return 31;
	memset(&m.h, 0, sizeof(m.h));
	if (NtListenPort(port, &m.h) ||
	    NtAcceptConnectPort(&comm, NULL, &m.h, TRUE, NULL, &cview) ||
	    NtCompleteConnectPort(comm))
		return 32;
	do {
		memset(&m.h, 0, sizeof(m.h));
		if (NtReplyWaitReceivePort(port, &ctx, NULL, &m.h))
			return 33;
	} while ((m.h.u2.s2.Type & 0xfff) != LPC_REQUEST);
	if (NtReplyPort(comm, &m.h))
		return 34;
	pthread_join(t, &ret);
	if (ret)
		return 35;
	printf("port %s\n", name);
	fflush(stdout);
	return 0;
}

/* A self-exec of this binary with LPCTRACE_TEST_ROLE set plays a role
 * before Criterion's main runs. */
__attribute__((constructor)) static void role_dispatch(void)
{
	const char *role = getenv("LPCTRACE_TEST_ROLE");

	if (!role)
		return;
	if (!strcmp(role, "fork"))
		_exit(role_fork());
	if (!strcmp(role, "killsend"))
		_exit(role_killsend());
	if (!strcmp(role, "view"))
		_exit(role_view());
	_exit(127);
}

Test(lpctrace, fork_after_probes_fired_child_lives)
{
	char self[PATH_MAX], *trace = tpath("trace.ndjson"), *out, *role;
	const char *args[] = { "-f", "ndjson", "-o", trace, "--", self, NULL };
	struct spawn_opts o = { .out_fd = -1, .role = "fork" };
	char *argv[8];
	int parent = 0, child = 0, wst = 0, st, n = 0;
	bool pfired = false, cfired = false;
	struct lines recs;
	ssize_t len;
	pid_t pid;

	need_bpf();
	len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	cr_assert_gt(len, 0);
	self[len] = 0;
	/* session__start cannot set the role: spawn by hand. */
	out = tpath("role.out");
	o.out = out;
	o.err = out;
	argv[n++] = (char *)lpctrace_alone();
	for (int i = 0; args[i]; i++)
		argv[n++] = (char *)args[i];
	argv[n] = NULL;
	pid = spawn(argv, &o);
	st = finish(pid, TRACE_EXIT_MS, "lpctrace -- fork role", out);
	role = slurp(out, NULL);
	cr_assert(strstr(role, "parent ") &&
			  sscanf(strstr(role, "parent "),
				 "parent %d child %d status 0x%x", &parent,
				 &child, &wst) == 3,
		  "the traced program did not report (lpctrace %s):\n%s",
		  status_str(st), role);
	cr_assert(!WIFSIGNALED(wst), "the child forked after probes fired "
		  "was killed by signal %d", WTERMSIG(wst));
	cr_assert(WIFEXITED(wst) && WEXITSTATUS(wst) == 0,
		  "the child exited %d", WEXITSTATUS(wst));
	assert_exit0(st, "lpctrace -- fork role (the command's status)", out);

	/* Both processes were traced: the child's probe was live. */
	lines__load(&recs, trace, true);
	for (size_t i = 0; i < recs.n; i++) {
		if (strcmp(rec_probe(recs.v[i]), "port_create"))
			continue;
		pfired |= json__get_int(recs.v[i], "pid", -1) == parent;
		cfired |= json__get_int(recs.v[i], "pid", -1) == child;
	}
	cr_assert(pfired, "no port_create from the parent %d", parent);
	cr_assert(cfired, "no port_create from the forked child %d", child);
}

/*
 * A client killed right after its request is delivered: the request was
 * sent (the server received it), so the trace must say so.  liblpc fires
 * lpc:send after handing the message over (lpc/message.c), and a client
 * that dies in between leaves a receive without its send: lpc-traffic's
 * D loses its send in about one traced run in four on a busy machine.
 */
Test(lpctrace, sends_of_killed_clients_are_recorded)
{
	const char *opts[] = { NULL };
	size_t received = 0, lost = 0;
	struct lines recs;
	const char *role;

	need_bpf();
	role = trace_role("killsend", opts, &recs);
	cr_assert(atoi(strstr(role, "requests ") ? strstr(role, "requests ") + 9
						  : "0") == KILLED_CLIENTS,
		  "%s", role);
	for (size_t i = 0; i < recs.n; i++) {
		const struct json *r = recs.v[i];
		int64_t id = json__get_int(r, "msgid", -1);
		int64_t cpid = json__get_int(r, "client_pid", -1);
		bool sent = false;

		if (strcmp(rec_probe(r), "receive") ||
		    json__get_int(r, "type", -1) != 1)
			continue;
		received++;
		for (size_t j = 0; j < recs.n && !sent; j++)
			sent = !strcmp(rec_probe(recs.v[j]), "send") &&
			       json__get_int(recs.v[j], "msgid", -1) == id &&
			       json__get_int(recs.v[j], "pid", -1) == cpid;
		lost += !sent;
	}
	cr_assert_eq(received, KILLED_CLIENTS, "the server's receives");
	cr_assert_eq(lost, 0, "%zu of %zu requests were received by the "
		     "server but have no lpc:send record from their client",
		     lost, received);
}

/*
 * PORT_MESSAGE keeps ClientViewSize and CallbackId in one union; a
 * connection request has a view size and no CallbackId, so its receive
 * must not report the view size as its callback_id (text DETAIL, NDJSON,
 * Perfetto's "handle connect" slice all show it as one).
 */
Test(lpctrace, connection_request_has_no_callback_id)
{
	const char *opts[] = { NULL };
	struct lines recs;
	size_t seen = 0;

	need_bpf();
	trace_role("view", opts, &recs);
	for (size_t i = 0; i < recs.n; i++) {
		const struct json *r = recs.v[i];

		if (strcmp(rec_probe(r), "receive") ||
		    json__get_int(r, "type", -1) != 10)
			continue;
		seen++;
		cr_expect_eq(json__get_int(r, "callback_id", -1), 0,
			     "the connection request's receive has "
			     "callback_id %lld (the client view is 65536 "
			     "bytes)", (long long)json__get_int(r,
							       "callback_id",
							       -1));
	}
	cr_assert_eq(seen, 1, "one connection request");
	/* The view itself is where it belongs. */
	for (size_t i = 0; i < recs.n; i++)
		if (!strcmp(rec_probe(recs.v[i]), "connect_request"))
			cr_assert_eq(json__get_int(recs.v[i], "view_size", -1),
				     0x10000);
}

/*
 * A filter that keeps port_create and connect_done out of the trace
 * must not take the port names with them: the records it keeps are
 * still about a port lpctrace's kernel side knows by name.
 */
Test(lpctrace, filtered_records_still_name_their_port)
{
	const char *opts[] = { "-T", "request", NULL };
	struct lines recs;
	char port[80] = "";
	const char *text, *p;

	need_bpf();
	text = trace_role("view", opts, &recs);
	p = strstr(text, "port ");
	cr_assert(p && sscanf(p, "port %79s", port) == 1, "%s", text);
	cr_assert_eq(recs.n, 2, "-T request: one send, one receive");
	for (size_t i = 0; i < recs.n; i++)
		cr_expect_str_eq(json__get_str(recs.v[i], "port_name") ?
				 json__get_str(recs.v[i], "port_name") : "",
				 port, "-T request: the %s record has no "
				 "port_name", rec_probe(recs.v[i]));
}

/* ------------------------------------------------------------------ */
/* 6. stat                                                             */
/* ------------------------------------------------------------------ */

struct stat_row {
	long pid;
	char comm[32], port[96];
	long long sent, dgrams, recvd, replied, errors, tmouts;
};

/* The rows of stat's final table (histogram lines skipped). */
static size_t stat__parse(const char *text, struct stat_row **rows)
{
	const char *p = strstr(text, "(final)");
	size_t n = 0;

	*rows = NULL;
	cr_assert_not_null(p, "no final table:\n%s", text);
	p = strstr(p, "    PID COMM");
	cr_assert_not_null(p, "no table header:\n%s", text);
	for (p = strchr(p, '\n'); p && *++p && *p != '\n';
	     p = strchr(p, '\n')) {
		struct stat_row r;
		char first[32];

		if (sscanf(p, "%31s", first) != 1 || !all_digits(first, false))
			continue;
		memset(&r, 0, sizeof(r));
		cr_assert_eq(sscanf(p, "%ld %31s %95s %lld %lld %lld %lld "
				    "%lld %lld", &r.pid, r.comm, r.port,
				    &r.sent, &r.dgrams, &r.recvd, &r.replied,
				    &r.errors, &r.tmouts),
			     9, "a table row that does not parse: %.120s", p);
		*rows = grow(*rows, (n + 1) * sizeof(**rows));
		(*rows)[n++] = r;
	}
	return n;
}

static char *run_stat(struct traffic *t, struct lines *ops)
{
	const char *args[16];
	char *targv[12], *text;
	struct session s;
	int n = 0, k = 0, st;

	args[n++] = "stat";
	args[n++] = "-q";
	args[n++] = "--";
	traffic__argv(t, false, targv, &k);
	for (int i = 0; i < k; i++)
		args[n++] = targv[i];
	args[n] = NULL;
	session__start(&s, lpctrace_alone(), args, false);
	st = session__stop(&s, false);
	assert_exit0(st, "lpctrace stat -- lpc-traffic", s.err);
	lines__load(ops, t->log, false);
	text = slurp(s.out, NULL);
	return text;
}

static size_t ops_count_by(const struct lines *ops, const char *name,
			   pid_t pid, const char *status, bool failed)
{
	size_t n = 0;

	for (size_t i = 0; i < ops->n; i++) {
		const struct json *op = ops->v[i];
		const char *st = ops_str(op, "status");

		if (!op_is(op, name) || opi(op, "pid") != pid)
			continue;
		if (status && strcmp(st, status))
			continue;
		if (failed && !rec_status_failed(st))
			continue;
		n++;
	}
	return n;
}

Test(lpctrace, stat_counts_match_the_script)
{
	struct stat_row *rows, sum[16];
	struct lines ops;
	struct traffic t;
	struct pidset pids;
	size_t nrows, nsrv = 0;
	pid_t srv;
	char *text;

	need_bpf();
	traffic__init(&t, "Stat");
	text = run_stat(&t, &ops);
	nrows = stat__parse(text, &rows);
	pids = ops_pids(&ops);
	srv = ops_pid_of(&ops, "server");
	cr_assert_gt(srv, 0);

	/* Per process, over its rows (one per queue): stat.c counts
	 * receives, successful replies and sends, failures of replies and
	 * sends, and waits that ended without their event. */
	memset(sum, 0, sizeof(sum));
	for (size_t i = 0; i < nrows; i++) {
		for (int k = 0; k < pids.n; k++) {
			if (rows[i].pid != pids.v[k])
				continue;
			sum[k].sent += rows[i].sent;
			sum[k].dgrams += rows[i].dgrams;
			sum[k].recvd += rows[i].recvd;
			sum[k].replied += rows[i].replied;
			sum[k].errors += rows[i].errors;
			sum[k].tmouts += rows[i].tmouts;
		}
		nsrv += rows[i].pid == srv;
	}
	cr_assert_eq(nsrv, 1, "the server serves one queue: %zu rows:\n%s",
		     nsrv, text);
	for (int k = 0; k < pids.n; k++) {
		pid_t p = pids.v[k];
		size_t recvd = ops_count_by(&ops, "listen", p, NULL, false) +
			       ops_count_by(&ops, "receive", p, NULL, false) +
			       ops_count_by(&ops, "port_closed", p, NULL,
					    false) +
			       ops_count_by(&ops, "client_died", p, NULL,
					    false);
		size_t replied = ops_count_by(&ops, "reply", p, "0x00000000",
					      false);
		size_t errors = ops_count_by(&ops, "reply", p, NULL, true) +
				ops_count_by(&ops, "reply_mismatch", p, NULL,
					     true);
		size_t sent = ops_count_by(&ops, "request", p, NULL, false);
		/* D's send may go unrecorded: lost_send(). */
		size_t lost = ops_count_by(&ops, "request", p, "0x00000103",
					   false);
		size_t dgrams = ops_count_by(&ops, "datagram", p, NULL, false);
		size_t tmouts = ops_count_by(&ops, "timeout", p, NULL, false);

		cr_expect(sum[k].sent <= (long long)sent &&
				  sum[k].sent + (long long)lost >=
					  (long long)sent,
			  "pid %d: SENT %lld, the log %zu", p, sum[k].sent,
			  sent);
		cr_expect_eq(sum[k].dgrams, (long long)dgrams,
			     "pid %d: DGRAMS %lld, the log %zu", p,
			     sum[k].dgrams, dgrams);
		cr_expect_eq(sum[k].recvd, (long long)recvd,
			     "pid %d: RECVD %lld, the log %zu", p, sum[k].recvd,
			     recvd);
		cr_expect_eq(sum[k].replied, (long long)replied,
			     "pid %d: REPLIED %lld, the log %zu", p,
			     sum[k].replied, replied);
		cr_expect_eq(sum[k].errors, (long long)errors,
			     "pid %d: ERRORS %lld, the log %zu", p,
			     sum[k].errors, errors);
		cr_expect_eq(sum[k].tmouts, (long long)tmouts,
			     "pid %d: TMOUTS %lld, the log %zu", p,
			     sum[k].tmouts, tmouts);
	}
}

/* The final table comes after the command's exit, when every port it
 * had is closed: it must still name the ports its rows count. */
Test(lpctrace, stat_names_the_ports_of_closed_queues)
{
	struct stat_row *rows;
	struct lines ops;
	struct traffic t;
	size_t nrows;
	pid_t srv;
	char *text;
	bool seen = false;

	need_bpf();
	traffic__init(&t, "StatN");
	text = run_stat(&t, &ops);
	nrows = stat__parse(text, &rows);
	srv = ops_pid_of(&ops, "server");
	for (size_t i = 0; i < nrows; i++) {
		if (rows[i].pid != srv)
			continue;
		seen = true;
		cr_expect_str_eq(rows[i].port, t.port,
				 "the server's row names its port \"%s\":\n%s",
				 rows[i].port, text);
	}
	cr_assert(seen, "no row for the server %d:\n%s", (int)srv, text);
}

/* ------------------------------------------------------------------ */
/* 7. lpctrace ports                                                   */
/* ------------------------------------------------------------------ */

/* Connects and stays connected until killed. */
static void idle_client(void *p)
{
	const struct wargs *a = p;

	lpct_child_enter();
	child_connect(a->name);
	child_report(a->wfd, R_CONNECTED, 0);
	child_wait_byte(a->rfd);
	_exit(0);
}

Test(lpctrace, ports_lists_a_served_port)
{
	char name[64], *sout = tpath("echo-server.out");
	char *out = tpath("ports.out"), *err = tpath("ports.err"), *text, *p;
	char *sargv[] = { (char *)bin("examples/lpc-echo"), "server", name,
			  NULL };
	char *pargv[] = { (char *)bin("lpctrace"), "ports", "--json", NULL };
	struct spawn_opts so = { .out = sout, .err = sout, .out_fd = -1 };
	struct wargs ca = { .name = name };
	const struct json *port = NULL, *pids;
	int crfd, cgo, st;
	bool server = false, client = false;
	pid_t srv, cli;
	char path[PATH_MAX];

	snprintf(name, sizeof(name), "\\LtPorts%d", (int)getpid());
	srv = spawn(sargv, &so);
	cr_assert(wait_for_text(sout, "server: listening", srv, QUICK_MS,
				&st),
		  "lpc-echo server did not start (%s):\n%s", status_str(st),
		  tail_of(sout));
	cli = start_child(idle_client, &ca, &crfd, &cgo);
	read_report(crfd, R_CONNECTED, "client");

	st = run(pargv, out, err, QUICK_MS);
	assert_exit0(st, "lpctrace ports --json", err);
	text = slurp(out, NULL);
	for (p = strtok(text, "\n"); p; p = strtok(NULL, "\n")) {
		char why[160];
		struct json *j = own_json(json__parse(p, strlen(p), why,
						      sizeof(why)));

		cr_assert_not_null(j, "ports --json: a line is not JSON (%s): "
				   "%s", why, p);
		if (!strcmp(json__get_str(j, "port") ? json__get_str(j, "port")
						      : "", name))
			port = j;
	}
	cr_assert_not_null(port, "ports --json does not list %s", name);
	snprintf(path, sizeof(path), "%s/LtPorts%d", lpct_root(),
		 (int)getpid());
	cr_expect_str_eq(json__get_str(port, "path"), path);
	pids = json__get(port, "server_pids");
	for (size_t i = 0; i < json__len(pids); i++) {
		int64_t v;

		if (json__int(json__at(pids, i), &v) && v == srv)
			server = true;
	}
	cr_assert(server, "%s: the server %d is not among server_pids", name,
		  (int)srv);
	cr_expect_str_eq(json__get_str(port, "server_comm"), "lpc-echo");
	cr_assert(json__get(port, "listening") &&
		  json__get(port, "listening")->type == JSON_BOOL &&
		  json__get(port, "listening")->b, "not listening");
	cr_assert_geq(json__get_int(port, "connections", -1), 1);
	for (size_t i = 0; i < json__len(json__get(port, "clients")); i++)
		if (json__get_int(json__at(json__get(port, "clients"), i),
				  "pid", -1) == cli)
			client = true;
	cr_assert(client, "%s: the connected client %d is not among its "
		  "clients", name, (int)cli);

	go_ahead(cgo);
	close(crfd);
	close(cgo);
	kill(srv, SIGTERM);
}

/* ------------------------------------------------------------------ */
/* 8. Errors                                                           */
/* ------------------------------------------------------------------ */

/* Runs lpctrace with args; its exit status, stderr in *err (freed by
 * the caller). */
static int lpctrace_fails(const char *const *args, bool nobody, char **err)
{
	char *argv[16], *ep = tpath("lpctrace-err.txt");
	struct spawn_opts o = { .err = ep, .out_fd = -1, .nobody = nobody };
	pid_t pid;
	int n = 0, st;

	argv[n++] = (char *)bin("lpctrace");
	for (; *args && n < 15; args++)
		argv[n++] = (char *)*args;
	argv[n] = NULL;
	pid = spawn(argv, &o);
	st = finish(pid, QUICK_MS, "lpctrace", ep);
	*err = slurp(ep, NULL);
	return st;
}

Test(lpctrace, no_such_pid_is_an_error)
{
	const char *args[] = { "-p", "999999", NULL };
	char *err;
	int st;

	need_bpf();
	/* pid_max is at most 2^22: 999999 may exist only on large ones. */
	if (kill(999999, 0) == 0 || errno != ESRCH)
		cr_skip_test("pid 999999 exists on this machine");
	st = lpctrace_fails(args, false, &err);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) != 0,
		  "lpctrace -p 999999: %s", status_str(st));
	cr_assert(strstr(err, "999999"), "the message does not name the pid:"
		  "\n%s", err);
}

Test(lpctrace, unknown_option_exits_2_with_usage)
{
	const char *args[] = { "--bogus", NULL };
	char *err;
	int st = lpctrace_fails(args, false, &err);

	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 2, "lpctrace --bogus: "
		  "%s", status_str(st));
	cr_assert(strstr(err, "usage: lpctrace"), "no usage:\n%s", err);
	cr_assert(strstr(err, "bogus"), "the option is not named:\n%s", err);
}

Test(lpctrace, unknown_format_is_refused)
{
	const char *args[] = { "-f", "xml", NULL };
	char *err;
	int st = lpctrace_fails(args, false, &err);

	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 2, "lpctrace -f xml: %s",
		  status_str(st));
	cr_assert(strstr(err, "format") && strstr(err, "'xml'"),
		  "no clear error:\n%s", err);
	cr_assert(strstr(err, "ndjson"), "the formats are not listed:\n%s",
		  err);
}

/* Run as root too: the point is what a non-root user is told. */
Test(lpctrace, non_root_is_told_to_run_as_root)
{
	const char *args[] = { "-d", "1", "-f", "ndjson", "-o", "/dev/null",
			       NULL };
	char *err;
	int st = lpctrace_fails(args, geteuid() == 0, &err);

	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) != 0,
		  "lpctrace as uid %d: %s", geteuid() == 0 ? LPCT_NOBODY :
		  (int)geteuid(), status_str(st));
	cr_assert(strstr(err, "must run as root"), "stderr:\n%s", err);
}

/* ------------------------------------------------------------------ */
/* 9. Drops                                                            */
/* ------------------------------------------------------------------ */

Test(lpctrace, drops_are_reported_consistently)
{
	char *errp = tpath("drops.err"), *eout = tpath("echo.out"), *err;
	char *fifo = tpath("drops.fifo");
	char *argv[] = { (char *)lpctrace_alone(), "-B", "1", "-f", "ndjson",
			 "-o", fifo, "--", (char *)bin("examples/lpc-echo"),
			 "demo", "5000", NULL };
	static char last[4096], line[4096];
	size_t lines = 0, ll = 0, lost_warned = 0;
	unsigned long long events = 0, lost = 0;
	long start;
	int fd, st;
	struct json *sum;
	const char *p;
	char why[160];
	pid_t pid;

	need_bpf();
	/* The records through a FIFO, lpc-echo's own output elsewhere. */
	cr_assert_eq(mkfifo(fifo, 0600), 0, "mkfifo: %s", strerror(errno));
	{
		struct spawn_opts o = { .out = eout, .err = errp,
					.out_fd = -1 };

		pid = spawn(argv, &o);
	}
	fd = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	cr_assert_geq(fd, 0, "%s: %s", fifo, strerror(errno));
	/* Nobody reads for a while: lpctrace blocks on its output, the
	 * 1 MiB ring buffer fills behind it and the kernel side drops. */
	sleep(2);
	start = lpct_now_ms();
	for (;;) {
		struct pollfd pf = { .fd = fd, .events = POLLIN };
		char buf[65536];
		ssize_t n;

		cr_assert(lpct_now_ms() - start < TRACE_EXIT_MS,
			  "lpctrace's output did not end");
		if (poll(&pf, 1, 1000) <= 0) {
			siginfo_t si = { 0 };

			/* Gone without ever opening the FIFO? */
			if (!waitid(P_PID, (id_t)pid, &si,
				    WEXITED | WNOHANG | WNOWAIT) &&
			    si.si_pid == pid)
				break;
			continue;
		}
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			break;
		/* Keep the last complete line; count lines. */
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] != '\n') {
				if (ll < sizeof(line) - 1)
					line[ll++] = buf[i];
				continue;
			}
			line[ll] = 0;
			memcpy(last, line, ll + 1);
			ll = 0;
			lines++;
		}
	}
	close(fd);
	st = finish(pid, TRACE_EXIT_MS, "lpctrace -B 1", errp);
	assert_exit0(st, "lpctrace -B 1 -- lpc-echo demo", errp);

	sum = own_json(json__parse(last, strlen(last), why, sizeof(why)));
	cr_assert_not_null(sum, "the last line is not JSON (%s): %s", why,
			   last);
	cr_assert(json__get(sum, "summary"), "the last line is no summary: %s",
		  last);
	err = slurp(errp, NULL);
	p = strstr(err, " records in ");
	cr_assert(p, "no summary on stderr:\n%s", tail_of(errp));
	while (p > err && p[-1] != ' ')
		p--;
	events = strtoull(p, NULL, 10);
	cr_assert_eq(json__get_int(sum, "events", -1), (int64_t)events,
		     "stderr says %llu records, the NDJSON summary %lld",
		     events, (long long)json__get_int(sum, "events", -1));
	cr_assert_eq(lines - 1, events, "%zu record lines, %llu records",
		     lines - 1, events);
	for (const char *w = err; (w = strstr(w, "WARNING: ")); w++) {
		char what[64];
		unsigned long long k;

		if (sscanf(w, "WARNING: %llu %63[^:]", &k, what) == 2 &&
		    !strcmp(what, "records lost"))
			lost_warned += k;
	}
	p = strstr(err, " records in ");
	if (strstr(p, "LOST")) {
		cr_assert_eq(sscanf(strstr(p, ", ") + 2, "%llu LOST", &lost), 1,
			     "%s", p);
		cr_assert_gt(lost, 0);
		cr_assert_eq(json__get_int(json__get(sum, "drops"), "ringbuf",
					   -1),
			     (int64_t)lost, "stderr: %llu LOST; NDJSON: %s",
			     lost, last);
		cr_assert_eq(lost_warned, lost, "warnings add up to %zu, the "
			     "summary says %llu LOST:\n%s", lost_warned, lost,
			     tail_of(errp));
	} else {
		cr_assert(strstr(p, "none dropped"), "%s", p);
		cr_assert_eq(json__get_int(json__get(sum, "drops"), "ringbuf",
					   -1),
			     0, "stderr: none dropped; NDJSON: %s", last);
		cr_assert_eq(lost_warned, 0);
	}
}
