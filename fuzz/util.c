/* SPDX-License-Identifier: MIT */
/* Shared by the harnesses (fuzz.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"

int fuzz_verbose(void)
{
	static int v = -1;

	if (v < 0)
		v = getenv("LPC_FUZZ_VERBOSE") != NULL;
	return v;
}

static const uint8_t *cur_data;
static size_t cur_size;

void fuzz_current_input(const uint8_t *data, size_t size)
{
	cur_data = data;
	cur_size = size;
}

static bool write_file(const char *path, const void *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	bool ok;

	if (fd < 0)
		return false;
	ok = write(fd, p, n) == (ssize_t)n;
	return close(fd) == 0 && ok;
}

static int count_dir(const char *path);

/*
 * Leaves the input and the line in $LPC_FUZZ_FAILLOG, named by the
 * input's FNV-1a hash (a crash seen again overwrites its own files), at
 * most 2000 files: a bug hit on every input must not fill the disk.
 */
static void log_failure(const char *line)
{
	const char *dir = getenv("LPC_FUZZ_FAILLOG");
	uint64_t h = 0xcbf29ce484222325ull;
	char path[512];

	if (!dir || !*dir || !cur_data || count_dir(dir) + 1 >= 2000)
		return;
	for (size_t i = 0; i < cur_size; i++)
		h = (h ^ cur_data[i]) * 0x100000001b3ull;
	snprintf(path, sizeof(path), "%s/%016llx.msg", dir,
		 (unsigned long long)h);
	if (!write_file(path, line, strlen(line)))
		return;
	snprintf(path, sizeof(path), "%s/%016llx.input", dir,
		 (unsigned long long)h);
	write_file(path, cur_data, cur_size);
}

static __attribute__((noreturn)) void fail_with(const char *prefix,
						const char *fmt, va_list ap)
{
	char line[1024];
	int n = snprintf(line, sizeof(line), "%s", prefix);

	if (n < 0 || (size_t)n >= sizeof(line))
		n = 0;
	vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	strcat(line, "\n");
	fputs(line, stderr);
	log_failure(line);
	abort();
}

void fuzz_fail(const char *file, int line, const char *cond, const char *fmt,
	       ...)
{
	char prefix[512];
	va_list ap;

	snprintf(prefix, sizeof(prefix), "INVARIANT BROKEN at %s:%d: %s: ",
		 file, line, cond);
	va_start(ap, fmt);
	fail_with(prefix, fmt, ap);
}

void fuzz_hang(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fail_with("HANG: ", fmt, ap);
}

static int count_dir(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n - 1;	/* the DIR's own fd */
}

/*
 * Mappings of files and memfds (views, sections, shared pages): what a
 * harness can leak.  Anonymous mappings are left out: allocators map
 * and keep arenas as they please (ASan's grows for every new size
 * class), which would read as a leak in every sanitizer build.
 */
static int count_maps(void)
{
	FILE *f = fopen("/proc/self/maps", "re");
	char line[512];
	int n = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		const char *p = line;

		/* address perms offset dev inode [path] */
		for (int field = 0; field < 5 && *p; field++) {
			while (*p && *p != ' ')
				p++;
			while (*p == ' ')
				p++;
		}
		n += *p == '/';
		/* a line longer than the buffer: skip its rest */
		while (!strchr(line, '\n') && fgets(line, sizeof(line), f))
			;
	}
	fclose(f);
	return n;
}

void fuzz_snapshot_take(struct fuzz_snapshot *s)
{
	s->fds = count_dir("/proc/self/fd");
	s->maps = count_maps();
	s->threads = count_dir("/proc/self/task") + 1;
}

void fuzz_snapshot_check(const struct fuzz_snapshot *s, const char *what)
{
	struct fuzz_snapshot now;

	fuzz_snapshot_take(&now);
	FUZZ_CHECK(now.fds <= s->fds, "%s: %d fds leaked", what,
		   now.fds - s->fds);
	FUZZ_CHECK(now.maps <= s->maps, "%s: %d mappings leaked", what,
		   now.maps - s->maps);
	FUZZ_CHECK(now.threads <= s->threads, "%s: %d threads left", what,
		   now.threads - s->threads);
}

/* sanitizer/common_interface_defs.h; absent without a sanitizer. */
void __sanitizer_symbolize_pc(void *pc, const char *fmt, char *out,
			      size_t size) __attribute__((weak));

void fuzz_init(void)
{
	fuzz_root();
	fuzz_verbose();
	if (__sanitizer_symbolize_pc) {
		char buf[256];

		__sanitizer_symbolize_pc(__builtin_return_address(0), "%p %F %L",
					 buf, sizeof(buf));
	}
}

static int rm_entry(const char *path, const struct stat *st, int flag,
		    struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

/*
 * The roots of harness processes that are gone.  A harness killed by
 * its fuzzer (a timeout, the end of a campaign) never cleans up, so each
 * one removes what the dead left: the roots stay as many as the live
 * harnesses.
 */
static void remove_stale_roots(const char *base)
{
	DIR *d = opendir(base);
	struct dirent *e;
	char path[300];

	if (!d)
		return;
	while ((e = readdir(d))) {
		char *end;
		long pid;

		if (strncmp(e->d_name, "lpc-fuzz-", 9))
			continue;
		pid = strtol(e->d_name + 9, &end, 10);
		if (*end || pid <= 0 || pid == getpid() ||
		    kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		snprintf(path, sizeof(path), "%s/%s", base, e->d_name);
		nftw(path, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	}
	closedir(d);
}

const char *fuzz_root(void)
{
	static char root[64];

	if (!root[0]) {
		struct stat st;
		/* tmpfs lists a directory in creation order, whatever was
		 * deleted before: the engine's case-insensitive lookups read
		 * the same entries in every iteration (ext4 reuses freed
		 * slots, and AFL++ saw that as instability). */
		const char *base = stat("/dev/shm", &st) == 0 &&
					   S_ISDIR(st.st_mode) &&
					   access("/dev/shm", W_OK) == 0
				   ? "/dev/shm"
				   : "/tmp";

		remove_stale_roots(base);
		snprintf(root, sizeof(root), "%s/lpc-fuzz-%d", base,
			 (int)getpid());
		mkdir(root, 0700);
		setenv("LPC_ROOT", root, 1);
	}
	return root;
}

size_t fuzz_bytes(struct fuzz_in *in, void *out, size_t n)
{
	size_t have = in->off < in->n ? in->n - in->off : 0;
	size_t k = have < n ? have : n;

	memcpy(out, in->p + in->off, k);
	memset((uint8_t *)out + k, 0, n - k);
	in->off += k;
	return k;
}
