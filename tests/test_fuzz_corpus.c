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
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

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
