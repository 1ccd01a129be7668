/* SPDX-License-Identifier: MIT */
/*
 * examples/lpc-stuck against `lpctrace waits`: for each fault the example
 * produces, the server thread that waits names as responsible is the one
 * the example knows (its "stuck:" lines), with the right diagnosis, and
 * the replies fail with the statuses the spec fixes (3.3, 5.10, 7.1).
 * waits reads the state each process publishes: no BPF, no root.  One
 * test traces the refused replies live (root and BTF, else skipped).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"

TestSuite(ex_stuck, .init = lpct_setup, .fini = lpct_teardown,
	  .timeout = 60);

static const char *build_dir(void)
{
	const char *b = getenv("LPC_BUILD");

	return b && *b ? b : "build";
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "re");
	char *buf;
	long n;

	if (!f)
		return strdup("");
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = calloc(1, (size_t)n + 1);
	cr_assert_not_null(buf);
	if (n > 0 && fread(buf, 1, (size_t)n, f) != (size_t)n)
		buf[0] = '\0';
	fclose(f);
	return buf;
}

/* argv[0..] with stdout and stderr to out. */
static pid_t run(char *const argv[], const char *out)
{
	pid_t pid = fork();

	cr_assert_geq(pid, 0);
	if (pid == 0) {
		int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
			      0644);

		if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(126);
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

/* A running `lpc-stuck FAULT --hold 60`, once it holds the fault. */
struct stuck {
	pid_t pid;
	char *out;	/* what it printed up to "holding" */
};

static struct stuck stuck_start(const char *fault)
{
	char exe[512], out[512];
	struct stuck s;

	snprintf(exe, sizeof(exe), "%s/examples/lpc-stuck", build_dir());
	if (access(exe, X_OK))
		cr_skip_test("%s is not built", exe);
	snprintf(out, sizeof(out), "%s", lpct_path("stuck.out"));
	{
		char *argv[] = { exe, (char *)fault, "--hold", "60", NULL };

		s.pid = run(argv, out);
	}
	s.out = NULL;
	for (int i = 0; i < 300; i++) {
		int st;

		free(s.out);
		s.out = slurp(out);
		if (strstr(s.out, "holding for"))
			return s;
		if (waitpid(s.pid, &st, WNOHANG) == s.pid)
			cr_assert_fail("lpc-stuck %s ended early:\n%s", fault,
				       s.out);
		usleep(50000);
	}
	kill(s.pid, SIGKILL);
	cr_assert_fail("lpc-stuck %s did not get stuck in 15 s:\n%s", fault,
		       s.out);
	return s;
}

/* SIGTERM: it must clean up (kill its children) and exit 0. */
static void stuck_end(struct stuck *s)
{
	int st = 0;

	kill(s->pid, SIGTERM);
	cr_assert_eq(waitpid(s->pid, &st, 0), s->pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		  "lpc-stuck did not end cleanly (status 0x%x):\n%s", st,
		  s->out);
	free(s->out);
}

/* The "stuck: client X (P/T) waits; the responsible server thread is
 * P/T" line for client X: the pids, false if there is none. */
static bool responsible(const char *out, char client, int *cp, int *ct,
			int *sp, int *stid)
{
	char want[32];
	const char *l;

	snprintf(want, sizeof(want), "stuck: client %c (", client);
	l = strstr(out, want);
	return l && sscanf(l, "stuck: client %*c (%d/%d) waits; the "
			   "responsible server thread is %d/%d", cp, ct, sp,
			   stid) == 4;
}

/* The block `lpctrace waits` prints for thread pid/tid: its line and the
 * "->" lines below it (owned), or NULL. */
static char *waits_block(const char *text, int pid, int tid)
{
	char key[40];
	const char *l = text, *end;

	snprintf(key, sizeof(key), "%d/%d ", pid, tid);
	for (;;) {
		l = strstr(l, key);
		if (!l)
			return NULL;
		if (l == text || l[-1] == '\n')
			break;
		l++;
	}
	end = strchr(l, '\n');
	while (end && (!strncmp(end + 1, "    ->", 6) ||
		       !strncmp(end + 1, "       busy:", 12)))
		end = strchr(end + 1, '\n');
	return strndup(l, end ? (size_t)(end - l) : strlen(l));
}

static char *run_waits(void)
{
	char exe[512], out[512];
	int st;
	pid_t pid;

	snprintf(exe, sizeof(exe), "%s/lpctrace", build_dir());
	if (access(exe, X_OK))
		cr_skip_test("%s is not built", exe);
	snprintf(out, sizeof(out), "%s", lpct_path("waits.out"));
	{
		char *argv[] = { exe, "waits", NULL };

		pid = run(argv, out);
	}
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		  "lpctrace waits failed (0x%x):\n%s", st, slurp(out));
	return slurp(out);
}

/*
 * Waits (up to ~5 s: the machine may be loaded) until the block of
 * thread pid/tid in `lpctrace waits` contains every string of want[];
 * the last block seen (owned) is returned for the failure message.
 */
static bool waits_says(int pid, int tid, const char *const *want,
		       char **last)
{
	*last = NULL;
	for (int i = 0; i < 50; i++) {
		char *text = run_waits();
		char *b = waits_block(text, pid, tid);
		bool ok = b != NULL;

		for (int k = 0; ok && want[k]; k++)
			ok = strstr(b, want[k]) != NULL;
		free(*last);
		*last = b ? b : text;
		if (b)
			free(text);
		if (ok)
			return true;
		usleep(100000);
	}
	return false;
}

#define assert_waits(pid, tid, ...)                                            \
	do {                                                                   \
		const char *const w__[] = { __VA_ARGS__, NULL };               \
		char *last__;                                                  \
		bool ok__ = waits_says(pid, tid, w__, &last__);                \
		cr_assert(ok__, "waits for %d/%d should say \"%s\"...; it "    \
			  "says:\n%s", (int)(pid), (int)(tid), w__[0],         \
			  last__);                                             \
		free(last__);                                                  \
	} while (0)

Test(ex_stuck, busy_names_the_workers_and_the_queued_request)
{
	struct stuck s = stuck_start("busy");
	int cp[2], ct[2], sp[2], stid[2], c3p, c3t;
	char held[2][64], busy[64];
	const char *l;

	for (int i = 0; i < 2; i++) {
		cr_assert(responsible(s.out, 'A' + i, &cp[i], &ct[i], &sp[i],
				      &stid[i]), "%s", s.out);
		snprintf(held[i], sizeof(held[i]), "held by %d/%d ", sp[i],
			 stid[i]);
		assert_waits(cp[i], ct[i], held[i], "not in an LPC wait");
	}
	cr_assert_neq(stid[0], stid[1], "two workers, one request each");
	l = strstr(s.out, "stuck: client C (");
	cr_assert(l && sscanf(l, "stuck: client C (%d/%d)", &c3p, &c3t) == 2);
	snprintf(busy, sizeof(busy), "busy: %d/%d holds message", sp[0],
		 stid[0]);
	assert_waits(c3p, c3t, "no server thread has received message",
		     "no thread is receiving on \\RPC Control\\StuckBusy",
		     busy);
	stuck_end(&s);
}

Test(ex_stuck, deadlock_is_named_for_both_clients)
{
	struct stuck s = stuck_start("deadlock");
	int cp, ct, sp, stid;
	char held[64];

	for (char c = 'A'; c <= 'B'; c++) {
		cr_assert(responsible(s.out, c, &cp, &ct, &sp, &stid), "%s",
			  s.out);
		snprintf(held, sizeof(held), "held by %d/%d ", sp, stid);
		assert_waits(cp, ct, held, "it waits for the reply to message",
			     "DEADLOCK");
	}
	stuck_end(&s);
}

Test(ex_stuck, wrong_client_reply_goes_to_b_and_a_waits)
{
	struct stuck s = stuck_start("wrong-client");
	int cp, ct, sp, stid, bp, bt, bs, bst;
	char held[64];

	cr_assert(responsible(s.out, 'A', &cp, &ct, &sp, &stid), "%s", s.out);
	cr_assert(strstr(s.out, "stuck: client B (") &&
			  sscanf(strstr(s.out, "stuck: client B ("),
				 "stuck: client B (%d/%d) got A's answer; "
				 "%d/%d",
				 &bp, &bt, &bs, &bst) == 4,
		  "%s", s.out);
	/* The first reply is delivered, to B (it names B's request); the
	 * second, B's own, finds B no longer waiting (spec 7.1). */
	cr_assert(strstr(s.out, "reply MessageId") &&
			  strstr(s.out, "\"the answer to \"A's question\"\""),
		  "B should get A's answer:\n%s", s.out);
	cr_assert(strstr(s.out, "STATUS_REPLY_MESSAGE_MISMATCH (ignored)"),
		  "%s", s.out);
	snprintf(held, sizeof(held), "held by %d/%d ", sp, stid);
	{
		/* The MessageId is B's: whatever it is, the client named is
		 * B's thread. */
		char tail[64];

		snprintf(tail, sizeof(tail), " of %d/%d instead", bp, bt);
		assert_waits(cp, ct, held, "receiving again", tail,
			     "STATUS_SUCCESS");
	}
	stuck_end(&s);
}

Test(ex_stuck, wrong_port_reply_is_a_mismatch)
{
	struct stuck s = stuck_start("wrong-port");
	int cp, ct, sp, stid;
	char recv[64];

	cr_assert(responsible(s.out, 'A', &cp, &ct, &sp, &stid), "%s", s.out);
	/* Spec 5.10 (c): B's port is not related to A's request. */
	cr_assert(strstr(s.out, "(the request came on connection 1): "
				"STATUS_REPLY_MESSAGE_MISMATCH"), "%s", s.out);
	cr_assert(strstr(s.out, "(the request came on connection 2): "
				"STATUS_SUCCESS"), "%s", s.out);
	snprintf(recv, sizeof(recv), "was received by %d/%d ", sp, stid);
	assert_waits(cp, ct, recv, "never answered",
		     "FAILED with STATUS_REPLY_MESSAGE_MISMATCH");
	stuck_end(&s);
}

Test(ex_stuck, reply_fails_names_both_refusals)
{
	struct stuck s = stuck_start("reply-fails");
	int cp, ct, sp, stid;
	char who[64];

	/* Spec 3.3: rule 4 (longer than the port's maximum), rule 1
	 * (DataLength + header > TotalLength). */
	cr_assert(strstr(s.out, "STATUS_PORT_MESSAGE_TOO_LONG (ignored)"),
		  "%s", s.out);
	cr_assert(strstr(s.out, "STATUS_INVALID_PARAMETER (ignored)"), "%s",
		  s.out);
	cr_assert(responsible(s.out, 'A', &cp, &ct, &sp, &stid), "%s", s.out);
	snprintf(who, sizeof(who), "was received by %d/%d ", sp, stid);
	/* Set aside: the server has received B's request since. */
	assert_waits(cp, ct, who, "FAILED with STATUS_PORT_MESSAGE_TOO_LONG",
		     "it has since received message");
	cr_assert(responsible(s.out, 'B', &cp, &ct, &sp, &stid), "%s", s.out);
	snprintf(who, sizeof(who), "held by %d/%d ", sp, stid);
	assert_waits(cp, ct, who, "receiving again",
		     "FAILED", "STATUS_INVALID_PARAMETER");
	stuck_end(&s);
}

/* The live trace shows both refused replies, the one refused before the
 * handle is looked at (rule 1) included. */
Test(ex_stuck, live_trace_shows_the_refused_replies)
{
	char exe[512], tr[512], out[512], *text;
	int st;
	pid_t pid;

	if (geteuid() != 0)
		cr_skip_test("lpctrace needs root to load its BPF programs");
	if (access("/sys/kernel/btf/vmlinux", R_OK))
		cr_skip_test("this kernel has no BTF: lpctrace cannot load");
	snprintf(tr, sizeof(tr), "%s/lpctrace", build_dir());
	snprintf(exe, sizeof(exe), "%s/examples/lpc-stuck", build_dir());
	if (access(tr, X_OK) || access(exe, X_OK))
		cr_skip_test("lpctrace or lpc-stuck is not built");
	snprintf(out, sizeof(out), "%s", lpct_path("trace.out"));
	{
		char *argv[] = { tr, "-x", "--", exe, "reply-fails", "--hold",
				 "0", NULL };

		pid = run(argv, out);
	}
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	text = slurp(out);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		  "lpctrace -x -- lpc-stuck reply-fails: 0x%x\n%s", st, text);
	{
		const char *a = strstr(text, "STATUS_PORT_MESSAGE_TOO_LONG");
		const char *b = strstr(text, "STATUS_INVALID_PARAMETER");
		bool ra = false, rb = false;

		/* On reply records (the example prints them too). */
		for (const char *l = text; *l;) {
			const char *e = strchr(l, '\n');
			size_t n = e ? (size_t)(e - l) : strlen(l);
			char line[512];

			snprintf(line, sizeof(line), "%.*s", (int)n, l);
			if (strstr(line, " reply ")) {
				ra |= strstr(line, "STATUS_PORT_MESSAGE_TOO_"
						   "LONG") != NULL;
				rb |= strstr(line, "STATUS_INVALID_PARAMETER")
				      != NULL;
			}
			l += n + (e != NULL);
		}
		cr_assert(a && b && ra && rb, "reply records with both "
			  "statuses expected:\n%s", text);
	}
	free(text);
}
