/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "err.h"
#include "name.h"
#include "ns.h"

static pthread_mutex_t ns_lock = PTHREAD_MUTEX_INITIALIZER;
static char ns_root[PATH_MAX];
static int ns_root_fd = -1;

static int mkdir_mode(int dirfd, const char *name, mode_t mode)
{
	struct stat st;

	if (mkdirat(dirfd, name, mode) == 0) {
		/* mkdir honours the umask; the namespace's modes are fixed. */
		if (fchmodat(dirfd, name, mode, 0) < 0)
			return -errno;
		return 0;
	}
	if (errno != EEXIST)
		return -errno;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

static int mkdir_p(const char *path)
{
	char buf[PATH_MAX];
	size_t len = strlen(path);

	if (len == 0 || len >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, len + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static int choose_root(char *out, size_t outsz)
{
	const char *env = getenv("LPC_ROOT");
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	int n;

	if (env && *env)
		n = snprintf(out, outsz, "%s", env);
	else if (geteuid() == 0)
		n = snprintf(out, outsz, "/run/lpc");
	else if (xdg && *xdg)
		n = snprintf(out, outsz, "%s/lpc", xdg);
	else
		n = snprintf(out, outsz, "/tmp/lpc-%u", (unsigned)geteuid());
	return n < 0 || (size_t)n >= outsz ? -ENAMETOOLONG : 0;
}

static int open_root(void)
{
	struct stat st;
	int fd, r;

	r = choose_root(ns_root, sizeof(ns_root));
	if (r)
		return r;
	r = mkdir_p(ns_root);
	if (r)
		return r;
	fd = open(ns_root, O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	/* A root someone else owns could be swapped under us. */
	if (fstat(fd, &st) < 0 ||
	    (st.st_uid != geteuid() && st.st_uid != 0)) {
		close(fd);
		return -EACCES;
	}
	/* The fixed directories: "\RPC Control" is world-creatable (sticky,
	 * like /tmp), "\Windows" belongs to whoever set the root up.  Either
	 * may already exist, made by another user. */
	if (st.st_uid == geteuid()) {
		if ((r = mkdir_mode(fd, "RPC Control", 01777)) ||
		    (r = mkdir_mode(fd, "Windows", 0755))) {
			close(fd);
			return r;
		}
	}
	ns_root_fd = fd;
	return 0;
}

int lpc_ns_root_fd(void)
{
	int r = 0;

	pthread_mutex_lock(&ns_lock);
	if (ns_root_fd < 0)
		r = open_root();
	pthread_mutex_unlock(&ns_lock);
	return r < 0 ? r : ns_root_fd;
}

void lpc_ns_atfork_child(void)
{
	/* The fd stays valid in the child; nothing to redo.  Reset the lock
	 * in case another thread held it across fork. */
	pthread_mutex_init(&ns_lock, NULL);
}

/* Find the on-disk name of component comp in dirfd, exactly or ignoring
 * ASCII case.  Writes it to out.  Returns 0 or -ENOENT. */
static int lookup_ci(int dirfd, const char *comp, char *out, size_t outsz)
{
	struct stat st;
	DIR *d;
	struct dirent *e;
	int fd, r = -ENOENT;

	if (fstatat(dirfd, comp, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		snprintf(out, outsz, "%s", comp);
		return 0;
	}
	fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return errno == EACCES ? -EACCES : -ENOENT;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -ENOENT;
	}
	while ((e = readdir(d))) {
		if (lpc_name_equal_ci(e->d_name, comp)) {
			snprintf(out, outsz, "%s", e->d_name);
			r = 0;
			break;
		}
	}
	closedir(d);
	return r;
}

/*
 * Walk the directory part of rel from the root, component by component,
 * refusing symlinks.  Returns an O_PATH fd of the parent directory and
 * points *leaf at the last component inside rel.
 */
static int open_parent(const char *rel, const char **leaf)
{
	char comp[256], found[256];
	const char *p = rel, *slash;
	int dirfd, fd, r;

	r = lpc_ns_root_fd();
	if (r < 0)
		return r;
	dirfd = fcntl(r, F_DUPFD_CLOEXEC, 0);
	if (dirfd < 0)
		return -errno;
	while ((slash = strchr(p, '/'))) {
		size_t n = (size_t)(slash - p);

		if (n >= sizeof(comp)) {
			close(dirfd);
			return -ENAMETOOLONG;
		}
		memcpy(comp, p, n);
		comp[n] = 0;
		r = lookup_ci(dirfd, comp, found, sizeof(found));
		if (r) {
			close(dirfd);
			return r == -ENOENT ? -LPC_EPATHNOTFOUND : r;
		}
		fd = openat(dirfd, found,
			    O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		r = -errno;
		close(dirfd);
		if (fd < 0)
			return r == -ENOENT || r == -ENOTDIR || r == -ELOOP
				       ? -LPC_EPATHNOTFOUND
				       : r;
		dirfd = fd;
		p = slash + 1;
	}
	*leaf = p;
	return dirfd;
}

/* sun_path for name in dirfd: /proc/self/fd/N/name reaches any depth
 * without the 108-byte limit biting on the directory part. */
static int make_addr(int dirfd, const char *name, struct sockaddr_un *sa)
{
	int n;

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	n = snprintf(sa->sun_path, sizeof(sa->sun_path), "/proc/self/fd/%d/%s",
		     dirfd, name);
	if (n < 0 || (size_t)n >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	return 0;
}

static int new_socket(void)
{
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	return fd < 0 ? -errno : fd;
}

/*
 * Whether the listener a socket just connected to belongs to a live
 * process.  A server that dies while an io_uring accept is armed keeps
 * its listening socket alive until the ring's teardown, which the kernel
 * runs asynchronously after the process is gone (tens of ms): connect()
 * succeeds into a backlog nobody will ever accept.  SO_PEERCRED names the
 * process that called listen().
 */
static bool listener_alive(int fd)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);
	char path[64], buf[256];
	const char *paren;
	ssize_t n;
	int sfd;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0 ||
	    cr.pid <= 0)
		return true;	/* cannot tell: trust the connect */
	if (kill(cr.pid, 0) < 0 && errno == ESRCH)
		return false;	/* reaped */
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)cr.pid);
	sfd = open(path, O_RDONLY | O_CLOEXEC);
	if (sfd < 0)
		return true;	/* no /proc here: trust the connect */
	n = read(sfd, buf, sizeof(buf) - 1);
	close(sfd);
	if (n <= 0)
		return true;
	buf[n] = '\0';
	/* "pid (comm) S ...": a zombie or a dying task serves nobody. */
	paren = strrchr(buf, ')');
	return !(paren && paren[1] == ' ' && (paren[2] == 'Z' || paren[2] == 'X'));
}

int lpc_ns_listen(const char *rel, dev_t *dev, ino_t *ino)
{
	static unsigned tmp_seq;
	char found[256], tmp[64];
	struct sockaddr_un sa;
	struct stat st;
	const char *leaf;
	int dirfd, fd, r;

	dirfd = open_parent(rel, &leaf);
	if (dirfd < 0)
		return dirfd;
	r = lookup_ci(dirfd, leaf, found, sizeof(found));
	if (r == 0) {
		/* The name exists.  A socket nobody listens on is what a
		 * crashed server leaves behind: reclaim it.  Anything else
		 * is a collision. */
		int probe;

		if (fstatat(dirfd, found, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISSOCK(st.st_mode)) {
			r = -EEXIST;
			goto out_dir;
		}
		probe = new_socket();
		if (probe < 0) {
			r = probe;
			goto out_dir;
		}
		r = make_addr(dirfd, found, &sa);
		if (r == 0 && connect(probe, (struct sockaddr *)&sa,
				      sizeof(sa)) == 0)
			r = listener_alive(probe) ? -EEXIST : 0;
		else if (r == 0 && errno != ECONNREFUSED)
			r = -EEXIST;
		close(probe);
		if (r)
			goto out_dir;
		unlinkat(dirfd, found, 0);
	} else if (r != -ENOENT) {
		goto out_dir;
	}
	/* Bind and listen under a private name, then move the socket into
	 * place: the name never exists without a listener behind it, so a
	 * client never sees a port that refuses it, and a concurrent
	 * creator's reclaim above never mistakes ours for a dead one. */
	snprintf(tmp, sizeof(tmp), ".lpc-new-%d-%u", (int)getpid(),
		 __atomic_add_fetch(&tmp_seq, 1, __ATOMIC_RELAXED));
	r = make_addr(dirfd, tmp, &sa);
	if (r)
		goto out_dir;
	fd = new_socket();
	if (fd < 0) {
		r = fd;
		goto out_dir;
	}
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = errno == EADDRINUSE ? -EEXIST
		    : errno == ENOENT   ? -LPC_EPATHNOTFOUND
					: -errno;
		goto out_sock;
	}
	/* Everyone may connect unless the owner restricts the mode
	 * (docs/namespace.md); bind() applied the umask. */
	if (fchmodat(dirfd, tmp, 0666, 0) < 0 ||
	    fstatat(dirfd, tmp, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
	    listen(fd, SOMAXCONN) < 0) {
		r = -errno;
		unlinkat(dirfd, tmp, 0);
		goto out_sock;
	}
	if (renameat2(dirfd, tmp, dirfd, leaf, RENAME_NOREPLACE) < 0) {
		r = errno == EEXIST ? -EEXIST : -errno;
		unlinkat(dirfd, tmp, 0);
		goto out_sock;
	}
	*dev = st.st_dev;
	*ino = st.st_ino;
	close(dirfd);
	return fd;

out_sock:
	close(fd);
out_dir:
	close(dirfd);
	return r;
}

void lpc_ns_unlink(const char *rel, dev_t dev, ino_t ino)
{
	struct stat st;
	const char *leaf;
	int dirfd = open_parent(rel, &leaf);

	if (dirfd < 0)
		return;
	if (fstatat(dirfd, leaf, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    st.st_dev == dev && st.st_ino == ino)
		unlinkat(dirfd, leaf, 0);
	close(dirfd);
}

int lpc_ns_connect(const char *rel)
{
	char found[256];
	struct sockaddr_un sa;
	struct stat st;
	const char *leaf;
	int dirfd, fd, r;

	dirfd = open_parent(rel, &leaf);
	if (dirfd < 0)
		return dirfd;
	r = lookup_ci(dirfd, leaf, found, sizeof(found));
	if (r)
		goto out_dir;
	if (fstatat(dirfd, found, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		r = -ENOENT;
		goto out_dir;
	}
	if (!S_ISSOCK(st.st_mode)) {
		r = -LPC_ETYPE;
		goto out_dir;
	}
	r = make_addr(dirfd, found, &sa);
	if (r)
		goto out_dir;
	fd = new_socket();
	if (fd < 0) {
		r = fd;
		goto out_dir;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		/* A socket file with no listener: the server is gone. */
		r = errno == ECONNREFUSED ? -ENOENT
		    : errno == EPROTOTYPE ? -LPC_ETYPE
					  : -errno;
		close(fd);
		goto out_dir;
	}
	if (!listener_alive(fd)) {
		/* Its server is dead, its ring not yet torn down. */
		close(fd);
		r = -ENOENT;
		goto out_dir;
	}
	close(dirfd);
	return fd;

out_dir:
	close(dirfd);
	return r;
}
