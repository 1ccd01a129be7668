/* SPDX-License-Identifier: MIT */
/*
 * test_fuzz_corpus.c - every input under corpus/regressions/<target>/ (a
 * crash or hang a campaign found, fixed since) and every seed under
 * corpus/<target>/ replayed through the harness's replay build: each must
 * run to the end, with no crash, no broken invariant and no hang.  Under
 * make SANITIZE=1 test the harnesses are the ASan/UBSan builds.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "../fuzz/fuzz.h"

#define REPLAY_SECONDS 20

static const char *build_dir(void)
{
	const char *b = getenv("LPC_BUILD");

	return b && *b ? b : "build";
}

/* Runs harness on one input; 0 when it ran clean, else a description. */
static int replay(const char *harness, const char *input, char *why,
		  size_t len)
{
	int out[2], st;
	pid_t pid;
	char log[2048];
	ssize_t n, got = 0;

	if (pipe(out) < 0)
		return snprintf(why, len, "pipe: %s", strerror(errno));
	pid = fork();
	if (pid == 0) {
		dup2(out[1], 1);
		dup2(out[1], 2);
		close(out[0]);
		alarm(REPLAY_SECONDS);	/* a hang ends as SIGALRM */
		execl(harness, harness, input, (char *)NULL);
		_exit(127);
	}
	close(out[1]);
	while (got < (ssize_t)sizeof(log) - 1 &&
	       (n = read(out[0], log + got, sizeof(log) - 1 - got)) > 0)
		got += n;
	log[got] = '\0';
	/* Drain the rest so the child never blocks on a full pipe. */
	while (read(out[0], why, len) > 0)
		;
	close(out[0]);
	waitpid(pid, &st, 0);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	if (WIFSIGNALED(st) && WTERMSIG(st) == SIGALRM)
		snprintf(why, len, "%s: hang (no end in %d s)", input,
			 REPLAY_SECONDS);
	else if (WIFSIGNALED(st))
		snprintf(why, len, "%s: killed by signal %d\n%.1500s", input,
			 WTERMSIG(st), log);
	else
		snprintf(why, len, "%s: exit %d\n%.1500s", input,
			 WEXITSTATUS(st), log);
	return 1;
}

/* Replays every regular file of dir (text programs and notes aside). */
static int replay_dir(const char *harness, const char *dir, int *count)
{
	struct dirent *de;
	int failed = 0;
	DIR *d = opendir(dir);

	*count = 0;
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		char path[512], why[4096];
		const char *dot = strrchr(de->d_name, '.');
		struct stat st;

		if (de->d_name[0] == '.' ||
		    (dot && (!strcmp(dot, ".txt") || !strcmp(dot, ".md"))))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (stat(path, &st) || !S_ISREG(st.st_mode))
			continue;
		(*count)++;
		if (replay(harness, path, why, sizeof(why))) {
			cr_log_error("%s", why);
			failed++;
		}
	}
	closedir(d);
	return failed;
}

static void check_target(const char *target)
{
	char harness[512], dir[512];
	int n, failed;

	snprintf(harness, sizeof(harness), "%s/fuzz/%s", build_dir(), target);
	if (access(harness, X_OK))
		cr_assert_fail("%s is not built (make fuzz-bins)", harness);
	snprintf(dir, sizeof(dir), "corpus/regressions/%s", target);
	failed = replay_dir(harness, dir, &n);
	cr_log_info("%s: %d regression inputs", target, n);
	cr_expect_eq(failed, 0, "%d of %d regression inputs of %s failed",
		     failed, n, target);
	snprintf(dir, sizeof(dir), "corpus/%s", target);
	failed = replay_dir(harness, dir, &n);
	cr_assert_gt(n, 0, "%s has no seeds in corpus/%s", target, target);
	cr_expect_eq(failed, 0, "%d of %d seeds of %s failed", failed, n,
		     target);
}

TestSuite(fuzz_corpus, .timeout = 300);

Test(fuzz_corpus, header_regressions_and_seeds_replay_clean)
{
	check_target("header");
}

Test(fuzz_corpus, csr_regressions_and_seeds_replay_clean)
{
	check_target("csr");
}

Test(fuzz_corpus, seq_regressions_and_seeds_replay_clean)
{
	check_target("seq");
}

/*
 * The failure log (fuzz.h): a broken invariant leaves the input and the
 * line it printed in $LPC_FUZZ_FAILLOG, so that the campaign report can
 * say what a crash that does not reproduce alone printed in the campaign.
 */
static void fail_in_child(const char *dir, const uint8_t *in, size_t n,
			  int hang)
{
	pid_t pid = fork();
	int st;

	cr_assert_geq(pid, 0);
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 2);
		if (dir)
			setenv("LPC_FUZZ_FAILLOG", dir, 1);
		else
			unsetenv("LPC_FUZZ_FAILLOG");
		fuzz_current_input(in, n);
		if (hang)
			fuzz_hang("receiver %d never wakes", 7);
		FUZZ_CHECK(n == 0, "reply to tid %d delivered twice", 42);
		_exit(0);
	}
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT,
		  "the failing child did not abort (status %#x)", st);
}

static size_t read_all(const char *dir, const char *suffix, char *buf,
		       size_t cap, int *files)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t got = 0;

	*files = 0;
	cr_assert(d);
	while ((de = readdir(d))) {
		const char *dot = strrchr(de->d_name, '.');
		char path[512];
		FILE *f;

		if (!dot || strcmp(dot, suffix))
			continue;
		(*files)++;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		f = fopen(path, "rb");
		cr_assert(f);
		got += fread(buf + got, 1, cap - got, f);
		fclose(f);
	}
	closedir(d);
	return got;
}

Test(fuzz_corpus, a_broken_invariant_leaves_its_input_and_message)
{
	char dir[] = "/tmp/lpc-faillog-XXXXXX", buf[4096];
	static const uint8_t in[] = { 0x30, 0x00, 0x7f, 0xff, 0x01 };
	int files;
	size_t n;

	cr_assert(mkdtemp(dir));
	fail_in_child(NULL, in, sizeof(in), 0);
	read_all(dir, ".msg", buf, sizeof(buf), &files);
	cr_expect_eq(files, 0, "written without LPC_FUZZ_FAILLOG");

	fail_in_child(dir, in, sizeof(in), 0);
	n = read_all(dir, ".input", buf, sizeof(buf), &files);
	cr_assert_eq(files, 1);
	cr_expect(n == sizeof(in) && !memcmp(buf, in, n),
		  "the logged input is not the one that failed");
	n = read_all(dir, ".msg", buf, sizeof(buf) - 1, &files);
	buf[n] = '\0';
	cr_expect(strstr(buf, "INVARIANT BROKEN at tests/test_fuzz_corpus.c:") &&
			  strstr(buf, "reply to tid 42 delivered twice\n"),
		  "message: %s", buf);

	/* The same input again overwrites; a hang is logged as one. */
	fail_in_child(dir, in, sizeof(in), 0);
	read_all(dir, ".msg", buf, sizeof(buf), &files);
	cr_expect_eq(files, 1, "one input, one entry");
	fail_in_child(dir, in, 3, 1);
	n = read_all(dir, ".msg", buf, sizeof(buf) - 1, &files);
	buf[n] = '\0';
	cr_expect_eq(files, 2);
	cr_expect(strstr(buf, "HANG: receiver 7 never wakes\n"), "%s", buf);

	{
		char cmd[600];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		cr_expect_eq(system(cmd), 0);
	}
}
