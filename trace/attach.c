/* SPDX-License-Identifier: MIT */
/* Attaching lpctrace's programs to the files that carry the probes. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "attach.h"

#define MAX_PROBES 64

struct probe_ref {
	char provider[16];
	char name[32];
};

struct file {
	dev_t dev;
	ino_t ino;		/* 0: a file known to carry no probes */
};

struct attacher {
	struct bpf_object *obj;
	pid_t pid;
	int verbose;
	struct file *files;
	int nfiles, capfiles, nattached;
	struct bpf_link **links;
	int nlinks, caplinks;
};

struct attacher *attacher__new(struct bpf_object *obj, pid_t pid, int verbose)
{
	struct attacher *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	a->obj = obj;
	a->pid = pid;
	a->verbose = verbose;
	if (elf_version(EV_CURRENT) == EV_NONE) {
		free(a);
		errno = EINVAL;
		return NULL;
	}
	return a;
}

void attacher__free(struct attacher *a)
{
	if (!a)
		return;
	for (int i = 0; i < a->nlinks; i++)
		bpf_link__destroy(a->links[i]);
	free(a->links);
	free(a->files);
	free(a);
}

int attacher__nfiles(const struct attacher *a)
{
	return a->nattached;
}

/* The (provider, name) pairs of path's stapsdt notes for lpc and csrd. */
static int read_probes(const char *path, struct probe_ref *out, int max)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;
	int fd, n = 0;
	Elf *elf;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	elf = elf_begin(fd, ELF_C_READ, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF ||
	    elf_getshdrstrndx(elf, &shstrndx)) {
		n = 0;	/* not an ELF file: no probes */
		goto out;
	}
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *data;
		const char *sname;
		size_t off = 0, noff, doff;
		GElf_Nhdr nh;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE)
			continue;
		sname = elf_strptr(elf, shstrndx, sh.sh_name);
		if (!sname || strcmp(sname, ".note.stapsdt"))
			continue;
		data = elf_getdata(scn, NULL);
		if (!data)
			continue;
		while ((off = gelf_getnote(data, off, &nh, &noff, &doff)) > 0) {
			const char *desc = (const char *)data->d_buf + doff;
			const char *prov, *name;
			size_t skip = 3 * 8;	/* pc, base, semaphore */

			if (nh.n_type != 3 || nh.n_descsz <= skip ||
			    strcmp((const char *)data->d_buf + noff, "stapsdt"))
				continue;
			prov = desc + skip;
			name = memchr(prov, '\0', nh.n_descsz - skip);
			if (!name)
				continue;
			name++;
			if (strcmp(prov, "lpc") && strcmp(prov, "csrd"))
				continue;
			if ((size_t)(name - desc) >= nh.n_descsz ||
			    !memchr(name, '\0', nh.n_descsz - (size_t)(name - desc)))
				continue;
			if (strlen(prov) >= sizeof(out[0].provider) ||
			    strlen(name) >= sizeof(out[0].name))
				continue;
			/* A probe with several sites has several notes. */
			bool dup = false;

			for (int i = 0; i < n; i++)
				if (!strcmp(out[i].provider, prov) &&
				    !strcmp(out[i].name, name))
					dup = true;
			if (dup || n == max)
				continue;
			strcpy(out[n].provider, prov);
			strcpy(out[n].name, name);
			n++;
		}
	}
out:
	if (elf)
		elf_end(elf);
	close(fd);
	return n;
}

int elf_has_lpc_probes(const char *path)
{
	struct probe_ref p[MAX_PROBES];
	int n = read_probes(path, p, MAX_PROBES);

	return n < 0 ? n : n > 0;
}

static struct file *known(struct attacher *a, const struct stat *st)
{
	for (int i = 0; i < a->nfiles; i++)
		if (a->files[i].dev == st->st_dev &&
		    a->files[i].ino == st->st_ino)
			return &a->files[i];
	return NULL;
}

static int remember(struct attacher *a, const struct stat *st)
{
	if (a->nfiles == a->capfiles) {
		int cap = a->capfiles ? a->capfiles * 2 : 16;
		struct file *f = realloc(a->files, (size_t)cap * sizeof(*f));

		if (!f)
			return -ENOMEM;
		a->files = f;
		a->capfiles = cap;
	}
	a->files[a->nfiles].dev = st->st_dev;
	a->files[a->nfiles].ino = st->st_ino;
	a->nfiles++;
	return 0;
}

static int keep_link(struct attacher *a, struct bpf_link *l)
{
	if (a->nlinks == a->caplinks) {
		int cap = a->caplinks ? a->caplinks * 2 : 64;
		struct bpf_link **v = realloc(a->links,
					      (size_t)cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		a->links = v;
		a->caplinks = cap;
	}
	a->links[a->nlinks++] = l;
	return 0;
}

int attacher__add_file(struct attacher *a, const char *path)
{
	struct probe_ref p[MAX_PROBES];
	char real[PATH_MAX];
	struct stat st;
	int n, attached = 0, r;

	if (!realpath(path, real) || stat(real, &st) < 0) {
		r = -errno;
		fprintf(stderr, "lpctrace: %s: %s\n", path, strerror(-r));
		return r;
	}
	if (known(a, &st))
		return 0;
	r = remember(a, &st);
	if (r)
		return r;
	n = read_probes(real, p, MAX_PROBES);
	if (n < 0) {
		fprintf(stderr, "lpctrace: %s: %s\n", real, strerror(-n));
		return n;
	}
	for (int i = 0; i < n; i++) {
		char prog_name[64];
		struct bpf_program *prog;
		struct bpf_link *l;

		snprintf(prog_name, sizeof(prog_name), "lpct_%.15s_%.31s",
			 p[i].provider, p[i].name);
		prog = bpf_object__find_program_by_name(a->obj, prog_name);
		if (!prog) {
			/* A newer library with a probe this lpctrace does
			 * not know: say so once, trace the rest. */
			if (a->verbose)
				fprintf(stderr, "lpctrace: %s: unknown probe "
					"%s:%s, skipped\n", real,
					p[i].provider, p[i].name);
			continue;
		}
		l = bpf_program__attach_usdt(prog, a->pid ? a->pid : -1, real,
					     p[i].provider, p[i].name, NULL);
		if (!l) {
			r = -errno;
			fprintf(stderr, "lpctrace: attaching %s:%s in %s: %s\n",
				p[i].provider, p[i].name, real, strerror(-r));
			return r;
		}
		r = keep_link(a, l);
		if (r) {
			bpf_link__destroy(l);
			return r;
		}
		attached++;
	}
	if (attached) {
		a->nattached++;
		if (a->verbose)
			fprintf(stderr, "lpctrace: attached %d probes in %s\n",
				attached, real);
	}
	return attached;
}

static int scan_maps(struct attacher *a, pid_t pid)
{
	char path[64], line[PATH_MAX + 128];
	int newfiles = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char perms[8], *file;
		struct stat st;
		unsigned long ino;
		int r;

		/* start-end perms offset dev inode path */
		if (sscanf(line, "%*s %7s %*s %*s %lu", perms, &ino) != 2 ||
		    perms[2] != 'x' || ino == 0)
			continue;
		file = strchr(line, '/');
		if (!file)
			continue;
		file[strcspn(file, "\n")] = '\0';
		if (strstr(file, " (deleted)"))
			continue;
		/* Cheap test first: files seen before are skipped. */
		if (stat(file, &st) < 0 || known(a, &st))
			continue;
		r = attacher__add_file(a, file);
		if (r > 0)
			newfiles++;
	}
	fclose(f);
	return newfiles;
}

int attacher__scan(struct attacher *a, pid_t pid)
{
	struct dirent *de;
	int total = 0;
	DIR *d;

	if (pid)
		return scan_maps(a, pid);
	d = opendir("/proc");
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		char *end;
		long p = strtol(de->d_name, &end, 10);

		if (*end || p <= 0 || p == getpid())
			continue;
		/* A process that exits meanwhile is simply skipped. */
		int r = scan_maps(a, (pid_t)p);

		if (r > 0)
			total += r;
	}
	closedir(d);
	return total;
}

/* 1 if dir/name exists (attached now or before), else 0. */
static int add_if_exists(struct attacher *a, const char *dir,
			 const char *name)
{
	char path[PATH_MAX];

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >=
	    (int)sizeof(path) || access(path, R_OK))
		return 0;
	attacher__add_file(a, path);
	return 1;
}

int attacher__add_siblings(struct attacher *a)
{
	static const char *const names[] = { "liblpc.so.0", "libcsr.so.0",
					     "csrd", "csrcall" };
	char self[PATH_MAX], dir[PATH_MAX + 16];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	int total = 0;
	char *slash;
	DIR *d;

	if (n <= 0)
		return 0;
	self[n] = '\0';
	slash = strrchr(self, '/');
	if (!slash)
		return 0;
	*slash = '\0';
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		total += add_if_exists(a, self, names[i]);
	snprintf(dir, sizeof(dir), "%s/examples", self);
	d = opendir(dir);
	if (d) {
		struct dirent *de;

		while ((de = readdir(d)))
			if (de->d_name[0] != '.' && !strchr(de->d_name, '.'))
				total += add_if_exists(a, dir, de->d_name);
		closedir(d);
	}
	return total;
}

/* $PATH lookup, as execvp will do it. */
static int which(const char *cmd, char *out, size_t len)
{
	const char *path = getenv("PATH");
	char buf[PATH_MAX];

	if (strchr(cmd, '/')) {
		snprintf(out, len, "%s", cmd);
		return access(out, X_OK) ? -errno : 0;
	}
	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin";
	while (*path) {
		size_t n = strcspn(path, ":");

		if (snprintf(buf, sizeof(buf), "%.*s/%s", (int)n,
			     n ? path : ".", cmd) < (int)sizeof(buf) &&
		    !access(buf, X_OK)) {
			snprintf(out, len, "%s", buf);
			return 0;
		}
		path += n + (path[n] == ':');
	}
	return -ENOENT;
}

/* The DT_NEEDED entries of path that name liblpc or libcsr, resolved
 * the way ld.so would for the common cases: RUNPATH/RPATH (with
 * $ORIGIN), LD_LIBRARY_PATH, then the standard directories. */
static int add_needed(struct attacher *a, const char *path)
{
	static const char *const std[] = { "/usr/local/lib",
		"/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu",
		"/usr/lib", "/lib" };
	char needed[4][64], runpath[PATH_MAX] = "", origin[PATH_MAX];
	int nneeded = 0, total = 0, fd;
	Elf_Scn *scn = NULL;
	Elf *elf;

	snprintf(origin, sizeof(origin), "%s", path);
	if (strrchr(origin, '/'))
		*strrchr(origin, '/') = '\0';
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	elf = elf_begin(fd, ELF_C_READ, NULL);
	while (elf && (scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *data;
		GElf_Dyn dyn;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNAMIC)
			continue;
		data = elf_getdata(scn, NULL);
		for (int i = 0; data && gelf_getdyn(data, i, &dyn); i++) {
			const char *s;

			if (dyn.d_tag != DT_NEEDED && dyn.d_tag != DT_RUNPATH &&
			    dyn.d_tag != DT_RPATH)
				continue;
			s = elf_strptr(elf, sh.sh_link, dyn.d_un.d_val);
			if (!s)
				continue;
			if (dyn.d_tag != DT_NEEDED)
				snprintf(runpath, sizeof(runpath), "%s", s);
			else if ((!strncmp(s, "liblpc.so", 9) ||
				  !strncmp(s, "libcsr.so", 9)) &&
				 nneeded < 4 && strlen(s) < 64)
				strcpy(needed[nneeded++], s);
		}
	}
	if (elf)
		elf_end(elf);
	close(fd);
	for (int i = 0; i < nneeded; i++) {
		char dirs[3 * PATH_MAX], *save = NULL, *dir;
		const char *llp = getenv("LD_LIBRARY_PATH");
		bool found = false;

		snprintf(dirs, sizeof(dirs), "%s:%s", runpath, llp ? llp : "");
		for (dir = strtok_r(dirs, ":", &save); dir && !found;
		     dir = strtok_r(NULL, ":", &save)) {
			char d2[PATH_MAX];

			if (!strncmp(dir, "$ORIGIN", 7))
				snprintf(d2, sizeof(d2), "%s%s", origin,
					 dir + 7);
			else
				snprintf(d2, sizeof(d2), "%s", dir);
			found = add_if_exists(a, d2, needed[i]);
			total += found;
		}
		for (size_t k = 0; k < sizeof(std) / sizeof(std[0]) && !found;
		     k++) {
			found = add_if_exists(a, std[k], needed[i]);
			total += found;
		}
	}
	return total;
}

int attacher__add_command(struct attacher *a, const char *cmd)
{
	char path[PATH_MAX];
	int r, total = 0;

	r = which(cmd, path, sizeof(path));
	if (r) {
		fprintf(stderr, "lpctrace: %s: command not found\n", cmd);
		return r;
	}
	r = attacher__add_file(a, path);
	if (r < 0)
		return r;
	total += r > 0;
	return total + add_needed(a, path);
}
