/* SPDX-License-Identifier: MIT */
/*
 * lpctrace ports: which ports exist, who serves them, their connections
 * and their queues.
 *
 * A port is an AF_UNIX socket file under $LPC_ROOT (docs/namespace.md).
 * The kernel's unix_diag lists every AF_UNIX socket; /proc/PID/fd says
 * which process holds which.  What ties sockets to a port file was
 * measured on Linux 6.18:
 *
 *  - UNIX_DIAG_NAME is the sun_path given to bind(), not the file's name
 *    today.  liblpc binds "/proc/self/fd/N/.lpc-new-PID-N" and then
 *    renames the socket into place (lpc/ns.c), so the name matches
 *    nothing.  UNIX_DIAG_VFS (device, inode of the file) survives the
 *    rename, and is what this file matches on.
 *  - A socket accept() returned carries its listener's address and path:
 *    the same NAME and the same VFS.  A port's connections are the
 *    non-listening sockets with the port file's VFS; their PEER is the
 *    client's socket.
 *  - UNIX_DIAG_VFS holds the kernel's dev_t (major << 20 | minor), not
 *    stat()'s encoding, and the inode number cut to 32 bits.
 *  - A connection request not accepted yet is an embryo socket with no
 *    inode: the client's PEER reads 0, and the listener's ICONS lists the
 *    client's inode.  A listener's RQLEN is (requests waiting, backlog
 *    limit); a connected socket's is (bytes unread, send-buffer memory in
 *    flight, which counts skb overhead and is no byte count).
 *  - Once the client closes, the accepted socket stays ESTABLISHED with
 *    PEER 0 until the server closes it too.
 *
 * unix_diag sees the caller's network namespace and /proc its pid
 * namespace: a server in another container shows as stale or as "?".
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <unistd.h>

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>

#include "ports.h"

/* sk_state of a listener (include/net/tcp_states.h): AF_UNIX reuses TCP's. */
#define SK_LISTEN	10

/* A port being created, bound but not yet renamed into place (lpc/ns.c). */
#define TMP_PREFIX	".lpc-new-"

/* Deeper directories are not walked: a bound on a runaway tree. */
#define MAX_DEPTH	64

/*
 * Room for the largest dump message.  The kernel sizes a dump skb by the
 * largest buffer recvmsg() was given, capped at 32 KiB; a listener with
 * thousands of waiting requests fills most of that with ICONS.
 */
#define DIAG_BUF	65536

#define SEQ		0x4c504350	/* "LPCP": our dump's nlmsg_seq */

static void warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void warn(const char *fmt, ...)
{
	va_list ap;

	fputs("lpctrace: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/*
 * v with room for element n (cap elements of size allocated), possibly
 * moved; NULL when out of memory, v then still valid.
 */
static void *vec_room(void *v, size_t *cap, size_t n, size_t size)
{
	size_t ncap;
	void *p;

	if (n < *cap)
		return v;
	ncap = *cap ? *cap * 2 : 16;
	p = reallocarray(v, ncap, size);
	if (p)
		*cap = ncap;
	return p;
}

/* qsort, which must not be given NULL even for no elements. */
static void sort(void *v, size_t n, size_t size,
		 int (*cmp)(const void *, const void *))
{
	if (n > 1)
		qsort(v, n, size, cmp);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* ---- text ---- */

/*
 * Decodes the UTF-8 sequence at s into *cp.  Returns its length, or 0 for
 * a byte that starts no valid sequence (overlong forms, surrogates and
 * values past U+10FFFF included).
 */
static size_t utf8_dec(const unsigned char *s, uint32_t *cp)
{
	size_t n;
	uint32_t c;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, c = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, c = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, c = s[0] & 0x07;
	else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && c < 0x800) || (n == 4 && c < 0x10000) ||
	    (c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff)
		return 0;
	*cp = c;
	return n;
}

/* C0, DEL and C1: the characters a terminal may act on. */
static bool is_control(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp < 0xa0);
}

/*
 * Makes s safe to print, in place: each control character and each byte
 * that is not UTF-8 becomes one '?'.  Whoever creates a port or names a
 * process chooses those bytes, not the person reading the table.
 */
static void make_printable(char *s)
{
	unsigned char *p = (unsigned char *)s;

	while (*p) {
		uint32_t cp = 0;
		size_t n = utf8_dec(p, &cp);

		if (n && !is_control(cp)) {
			p += n;
			continue;
		}
		n = n ? n : 1;
		*p++ = '?';
		memmove(p, p + n - 1, strlen((char *)p + n - 1) + 1);
	}
}

/*
 * Terminal columns of a printable string.  East Asian wide characters
 * take two, combining marks none: the common blocks of Unicode's
 * EastAsianWidth W and F, not the whole table, enough to keep the
 * columns straight for names people give ports.
 */
static size_t text_width(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t w = 0;

	while (*p) {
		uint32_t c = 0;
		size_t n = utf8_dec(p, &c);

		p += n ? n : 1;
		if (!n)
			w++;
		else if ((c >= 0x300 && c <= 0x36f) || c == 0x200b)
			;
		else if ((c >= 0x1100 && c <= 0x115f) ||
			 (c >= 0x2e80 && c <= 0x303e) ||
			 (c >= 0x3041 && c <= 0x33ff) ||
			 (c >= 0x3400 && c <= 0x4dbf) ||
			 (c >= 0x4e00 && c <= 0x9fff) ||
			 (c >= 0xa000 && c <= 0xa4cf) ||
			 (c >= 0xac00 && c <= 0xd7a3) ||
			 (c >= 0xf900 && c <= 0xfaff) ||
			 (c >= 0xfe30 && c <= 0xfe4f) ||
			 (c >= 0xff00 && c <= 0xff60) ||
			 (c >= 0xffe0 && c <= 0xffe6) ||
			 (c >= 0x1f300 && c <= 0x1f64f) ||
			 (c >= 0x1f900 && c <= 0x1f9ff) ||
			 (c >= 0x20000 && c <= 0x3fffd))
			w += 2;
		else
			w++;
	}
	return w;
}

/* ---- the namespace on disk ---- */

struct port_file {
	char *rel;		/* "Windows/ApiPort", as on disk */
	char *name;		/* "\Windows\ApiPort" */
	char *path;		/* root + "/" + rel */
	uint32_t kdev;		/* st_dev as unix_diag writes it */
	uint32_t ino;		/* st_ino cut to 32 bits, likewise */
	uid_t uid;		/* the file's owner */
};

struct portlist {
	struct port_file *v;
	size_t n, cap;
	const char *root;
};

static void portlist__free(struct portlist *pl)
{
	if (!pl)
		return;
	for (size_t i = 0; i < pl->n; i++) {
		free(pl->v[i].rel);
		free(pl->v[i].name);
		free(pl->v[i].path);
	}
	free(pl->v);
	pl->v = NULL;
	pl->n = pl->cap = 0;
}

static int portlist__add(struct portlist *pl, const char *rel,
			 const struct stat *st)
{
	struct port_file *f, *v;
	size_t len = strlen(rel);

	v = vec_room(pl->v, &pl->cap, pl->n, sizeof(*pl->v));
	if (!v)
		return -ENOMEM;
	pl->v = v;
	f = &pl->v[pl->n];
	memset(f, 0, sizeof(*f));
	f->rel = strdup(rel);
	f->name = malloc(len + 2);
	if (asprintf(&f->path, "%s/%s", pl->root, rel) < 0)
		f->path = NULL;
	if (!f->rel || !f->name || !f->path) {
		free(f->rel);
		free(f->name);
		free(f->path);
		return -ENOMEM;
	}
	f->name[0] = '\\';
	for (size_t i = 0; i <= len; i++)
		f->name[i + 1] = rel[i] == '/' ? '\\' : rel[i];
	f->kdev = (uint32_t)(major(st->st_dev) << 20 |
			     (minor(st->st_dev) & 0xfffff));
	f->ino = (uint32_t)st->st_ino;
	f->uid = st->st_uid;
	pl->n++;
	return 0;
}

/*
 * Adds every socket under the directory fd, whose path below the root is
 * rel[0..len).  rel has PATH_MAX bytes and is restored on return.  Takes fd.
 * Unreadable directories are reported and skipped: the rest still shows.
 */
static int portlist__walk(struct portlist *pl, int fd, char *rel,
			  size_t len, int depth)
{
	struct dirent *e;
	struct stat st;
	DIR *d;
	int r = 0;

	d = fdopendir(fd);
	if (!d) {
		r = -errno;
		close(fd);
		return r;
	}
	while ((e = readdir(d))) {
		const char *n = e->d_name;
		size_t nlen = strlen(n);
		int sub;

		if (!strcmp(n, ".") || !strcmp(n, "..") ||
		    !strncmp(n, TMP_PREFIX, strlen(TMP_PREFIX)))
			continue;
		if (len + 1 + nlen >= PATH_MAX)
			continue;
		if (fstatat(dirfd(d), n, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno != ENOENT)	/* else gone since readdir */
				warn("cannot read %s/%s%s%s: %s", pl->root,
				     rel, len ? "/" : "", n, strerror(errno));
			continue;
		}
		if (len)
			rel[len] = '/';
		memcpy(rel + len + !!len, n, nlen + 1);
		if (S_ISSOCK(st.st_mode)) {
			r = portlist__add(pl, rel, &st);
		} else if (S_ISDIR(st.st_mode) && depth < MAX_DEPTH) {
			sub = openat(dirfd(d), n,
				     O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
					     O_CLOEXEC);
			if (sub >= 0)
				r = portlist__walk(pl, sub, rel,
						   len + !!len + nlen,
						   depth + 1);
			else if (errno != ENOENT)
				warn("cannot read %s/%s: %s", pl->root, rel,
				     strerror(errno));
		}
		rel[len] = 0;
		if (r)
			break;
	}
	closedir(d);
	return r;
}

static int cmp_port_name(const void *a, const void *b)
{
	const struct port_file *x = a, *y = b;

	return strcmp(x->name, y->name);
}

/* ---- unix_diag ---- */

struct usock {
	uint32_t ino;
	uint32_t peer;		/* 0: none, an embryo, or a closed peer */
	uint32_t vfs_dev;	/* kernel dev_t of the file it is bound to */
	uint32_t vfs_ino;
	uint32_t uid;
	uint32_t rqueue;	/* listener: requests waiting; else bytes */
	uint32_t icons;		/* first ICONS entry in socks.icons */
	uint32_t nicons;
	uint8_t state;
	bool has_vfs, has_uid, has_rqlen;
};

struct socks {
	struct usock *v;	/* sorted by ino */
	size_t n, cap;
	uint32_t *icons;
	size_t nicons, icap;
};

static void socks__free(struct socks *ss)
{
	if (!ss)
		return;
	free(ss->v);
	free(ss->icons);
	memset(ss, 0, sizeof(*ss));
}

static int socks__parse(struct socks *ss, const struct nlmsghdr *h)
{
	const struct unix_diag_msg *m = NLMSG_DATA(h);
	const struct rtattr *a;
	struct usock *s, *v;
	int len;

	if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*m)))
		return -EPROTO;
	if (m->udiag_family != AF_UNIX)
		return 0;
	v = vec_room(ss->v, &ss->cap, ss->n, sizeof(*ss->v));
	if (!v)
		return -ENOMEM;
	ss->v = v;
	s = &ss->v[ss->n];
	memset(s, 0, sizeof(*s));
	s->ino = m->udiag_ino;
	s->state = m->udiag_state;
	len = (int)(h->nlmsg_len - NLMSG_LENGTH(sizeof(*m)));
	a = (const struct rtattr *)(m + 1);
	for (; RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		const void *p = RTA_DATA(a);
		size_t plen = RTA_PAYLOAD(a);

		switch (a->rta_type) {
		case UNIX_DIAG_VFS: {
			const struct unix_diag_vfs *vfs = p;

			if (plen < sizeof(*vfs))
				break;
			s->vfs_dev = vfs->udiag_vfs_dev;
			s->vfs_ino = vfs->udiag_vfs_ino;
			s->has_vfs = true;
			break;
		}
		case UNIX_DIAG_PEER:
			if (plen >= sizeof(uint32_t))
				memcpy(&s->peer, p, sizeof(uint32_t));
			break;
		case UNIX_DIAG_UID:
			if (plen >= sizeof(uint32_t)) {
				memcpy(&s->uid, p, sizeof(uint32_t));
				s->has_uid = true;
			}
			break;
		case UNIX_DIAG_RQLEN: {
			const struct unix_diag_rqlen *q = p;

			if (plen < sizeof(*q))
				break;
			s->rqueue = q->udiag_rqueue;
			s->has_rqlen = true;
			break;
		}
		case UNIX_DIAG_ICONS: {
			size_t k = plen / sizeof(uint32_t);
			uint32_t *ic;

			if (!k)
				break;	/* a listener with nothing waiting */
			ic = ss->icons;
			while (ss->icap < ss->nicons + k) {
				ic = vec_room(ic, &ss->icap, ss->icap,
					      sizeof(*ic));
				if (!ic)
					return -ENOMEM;
				ss->icons = ic;
			}
			memcpy(ss->icons + ss->nicons, p, k * sizeof(uint32_t));
			s->icons = (uint32_t)ss->nicons;
			s->nicons = (uint32_t)k;
			ss->nicons += k;
			break;
		}
		}
	}
	ss->n++;
	return 0;
}

static int cmp_usock(const void *a, const void *b)
{
	return cmp_u32(&((const struct usock *)a)->ino,
		       &((const struct usock *)b)->ino);
}

/* Every AF_UNIX socket in this network namespace, sorted by inode. */
static int socks__dump(struct socks *ss)
{
	struct {
		struct nlmsghdr h;
		struct unix_diag_req r;
	} req = {
		.h = {
			.nlmsg_len = sizeof(req),
			.nlmsg_type = SOCK_DIAG_BY_FAMILY,
			.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP,
			.nlmsg_seq = SEQ,
		},
		.r = {
			.sdiag_family = AF_UNIX,
			.udiag_states = ~0u,
			.udiag_show = UDIAG_SHOW_VFS | UDIAG_SHOW_PEER |
				      UDIAG_SHOW_ICONS | UDIAG_SHOW_RQLEN |
				      UDIAG_SHOW_UID,
		},
	};
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	char *buf;
	int fd, r;

	fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (fd < 0)
		return -errno;
	buf = malloc(DIAG_BUF);
	if (!buf) {
		r = -ENOMEM;
		goto out_sock;
	}
	if (sendto(fd, &req, sizeof(req), 0, (struct sockaddr *)&kernel,
		   sizeof(kernel)) < 0) {
		r = -errno;
		goto out_buf;
	}
	for (;;) {
		struct iovec iov = { buf, DIAG_BUF };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
		const struct nlmsghdr *h;
		ssize_t n = recvmsg(fd, &mh, 0);
		size_t off;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			goto out_buf;
		}
		if (n == 0) {
			r = -EPROTO;
			goto out_buf;
		}
		if (mh.msg_flags & MSG_TRUNC) {
			r = -EMSGSIZE;
			goto out_buf;
		}
		/* NLMSG_OK/NEXT by hand: the macros compare signed with
		 * unsigned, which clang's -Wextra reports. */
		for (off = 0; off + sizeof(*h) <= (size_t)n;
		     off += NLMSG_ALIGN(h->nlmsg_len)) {
			h = (const struct nlmsghdr *)(buf + off);
			if (h->nlmsg_len < sizeof(*h) ||
			    h->nlmsg_len > (size_t)n - off)
				break;
			if (h->nlmsg_seq != SEQ)
				continue;
			if (h->nlmsg_type == NLMSG_DONE) {
				r = 0;
				goto out_sort;
			}
			if (h->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(h);

				r = -EPROTO;
				if (h->nlmsg_len >= NLMSG_LENGTH(sizeof(*e)) &&
				    e->error < 0)
					r = e->error;
				goto out_buf;
			}
			if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY)
				continue;
			r = socks__parse(ss, h);
			if (r)
				goto out_buf;
		}
	}
out_sort:
	sort(ss->v, ss->n, sizeof(*ss->v), cmp_usock);
out_buf:
	free(buf);
out_sock:
	close(fd);
	return r;
}

static const struct usock *socks__find(const struct socks *ss, uint32_t ino)
{
	struct usock key = { .ino = ino };

	if (!ino || !ss->n)
		return NULL;
	return bsearch(&key, ss->v, ss->n, sizeof(*ss->v), cmp_usock);
}

/* ---- processes ---- */

struct holder {
	uint32_t ino;		/* a socket... */
	pid_t pid;		/* ...that this process has an fd of */
};

struct proc {
	pid_t pid;
	uid_t uid;		/* effective, from status; if has_uid */
	bool has_uid;
	bool gone;		/* exited during the scan */
	char comm[64];		/* as the process set it: any bytes */
};

struct procmap {
	struct holder *h;	/* sorted by ino, then pid; no duplicates */
	size_t nh, hcap;
	struct proc *p;		/* sorted by pid, each pid once */
	size_t np, pcap;
	bool denied;		/* some /proc/PID/fd could not be read */
};

static void procmap__free(struct procmap *pm)
{
	if (!pm)
		return;
	free(pm->h);
	free(pm->p);
	memset(pm, 0, sizeof(*pm));
}

static int cmp_holder(const void *a, const void *b)
{
	const struct holder *x = a, *y = b;

	if (x->ino != y->ino)
		return x->ino < y->ino ? -1 : 1;
	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

static int cmp_proc(const void *a, const void *b)
{
	const struct proc *x = a, *y = b;

	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

static const struct proc *procmap__find(const struct procmap *pm, pid_t pid)
{
	struct proc key = { .pid = pid };

	if (!pm->np)
		return NULL;
	return bsearch(&key, pm->p, pm->np, sizeof(*pm->p), cmp_proc);
}

static bool want_has(const uint32_t *want, size_t nwant, uint32_t ino)
{
	return bsearch(&ino, want, nwant, sizeof(*want), cmp_u32) != NULL;
}

/* Records which of the wanted sockets pid's fd table (fdfd) holds. */
static int procmap__scan_fds(struct procmap *pm, int fdfd, pid_t pid,
			     const uint32_t *want, size_t nwant)
{
	struct dirent *e;
	DIR *d;
	int r = 0;

	d = fdopendir(fdfd);
	if (!d) {
		close(fdfd);
		return 0;
	}
	while ((e = readdir(d))) {
		char link[64], *end;
		unsigned long ino;
		struct holder *h;
		ssize_t n;

		if (e->d_name[0] == '.')
			continue;
		n = readlinkat(dirfd(d), e->d_name, link, sizeof(link) - 1);
		if (n <= 8)
			continue;	/* closed since readdir, or no socket */
		link[n] = 0;
		if (strncmp(link, "socket:[", 8))
			continue;
		ino = strtoul(link + 8, &end, 10);
		if (*end != ']' || ino > UINT32_MAX ||
		    !want_has(want, nwant, (uint32_t)ino))
			continue;
		h = vec_room(pm->h, &pm->hcap, pm->nh, sizeof(*pm->h));
		if (!h) {
			r = -ENOMEM;
			break;
		}
		pm->h = h;
		pm->h[pm->nh++] = (struct holder){ (uint32_t)ino, pid };
	}
	closedir(d);
	return r;
}

/*
 * Reads pid's comm and effective uid into p.  Returns 0, or -ESRCH when
 * the process is gone.
 */
static int proc_read(int procfd, pid_t pid, struct proc *p)
{
	char path[64], buf[4096], *s;
	ssize_t n;
	int fd;

	memset(p, 0, sizeof(*p));
	p->pid = pid;
	snprintf(path, sizeof(path), "%d/comm", (int)pid);
	fd = openat(procfd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT || errno == ESRCH ? -ESRCH : 0;
	n = read(fd, p->comm, sizeof(p->comm) - 1);
	close(fd);
	if (n < 0)
		return errno == ESRCH ? -ESRCH : 0;
	/* Only the newline the kernel appends: a comm may hold others. */
	if (n > 0 && p->comm[n - 1] == '\n')
		n--;
	p->comm[n] = 0;

	snprintf(path, sizeof(path), "%d/status", (int)pid);
	fd = openat(procfd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	s = strstr(buf, "\nUid:");
	if (s) {
		unsigned ruid, euid;

		if (sscanf(s + 5, "%u %u", &ruid, &euid) == 2) {
			p->uid = euid;
			p->has_uid = true;
		}
	}
	return 0;
}

/*
 * Finds the processes holding the wanted sockets (sorted inodes), and
 * their comm and uid.  Processes that exit meanwhile are dropped.
 */
static int procmap__scan(struct procmap *pm, const uint32_t *want,
			 size_t nwant)
{
	struct dirent *e;
	size_t i, j;
	DIR *d;
	int procfd, r = 0;

	if (!nwant)
		return 0;	/* no socket to find an owner for */
	d = opendir("/proc");
	if (!d)
		return -errno;
	procfd = dirfd(d);
	while ((e = readdir(d))) {
		char path[64], *end;
		long pid = strtol(e->d_name, &end, 10);
		int fd;

		if (*end || pid <= 0)
			continue;
		snprintf(path, sizeof(path), "%ld/fd", pid);
		fd = openat(procfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0) {
			if (errno == EACCES || errno == EPERM)
				pm->denied = true;
			continue;	/* else exited since readdir */
		}
		r = procmap__scan_fds(pm, fd, (pid_t)pid, want, nwant);
		if (r)
			goto out_dir;
	}
	/* One proc per distinct pid. */
	for (i = 0; i < pm->nh; i++) {
		struct proc *v = vec_room(pm->p, &pm->pcap, pm->np,
					  sizeof(*pm->p));

		if (!v) {
			r = -ENOMEM;
			goto out_dir;
		}
		pm->p = v;
		pm->p[pm->np++] = (struct proc){ .pid = pm->h[i].pid };
	}
	sort(pm->p, pm->np, sizeof(*pm->p), cmp_proc);
	for (i = j = 0; i < pm->np; i++)
		if (!j || pm->p[j - 1].pid != pm->p[i].pid)
			pm->p[j++] = pm->p[i];
	pm->np = j;
	for (i = 0; i < pm->np; i++)
		if (proc_read(procfd, pm->p[i].pid, &pm->p[i]) == -ESRCH)
			pm->p[i].gone = true;

	/* A process that exited meanwhile is not shown at all; one holding
	 * a socket on two fds counts once. */
	sort(pm->h, pm->nh, sizeof(*pm->h), cmp_holder);
	for (i = j = 0; i < pm->nh; i++) {
		if (procmap__find(pm, pm->h[i].pid)->gone)
			continue;
		if (j && pm->h[j - 1].ino == pm->h[i].ino &&
		    pm->h[j - 1].pid == pm->h[i].pid)
			continue;
		pm->h[j++] = pm->h[i];
	}
	pm->nh = j;
out_dir:
	closedir(d);
	return r;
}

/* The holders of socket ino: *n entries from the returned one. */
static const struct holder *procmap__holders(const struct procmap *pm,
					     uint32_t ino, size_t *n)
{
	size_t lo = 0, hi = pm->nh;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (pm->h[mid].ino < ino)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (hi = lo; hi < pm->nh && pm->h[hi].ino == ino; hi++)
		;
	*n = hi - lo;
	return pm->h + lo;
}

/* The first process holding ino, or 0. */
static pid_t procmap__pid(const struct procmap *pm, uint32_t ino)
{
	size_t n;
	const struct holder *h = procmap__holders(pm, ino, &n);

	return ino && n ? h->pid : 0;
}

/* The process pid, or NULL when not seen or gone. */
static const struct proc *procmap__proc(const struct procmap *pm, pid_t pid)
{
	const struct proc *p = pid > 0 ? procmap__find(pm, pid) : NULL;

	return p && !p->gone ? p : NULL;
}

/* ---- ports with their sockets ---- */

/* An accepted socket of a port. */
struct conn {
	size_t port;
	const struct usock *srv;
	const struct usock *cli;	/* NULL once the client closed */
	pid_t pid;			/* first holder of cli; 0: unseen */
};

struct view {
	const struct port_file *f;
	const struct usock *listener;	/* NULL: stale */
	const struct conn *conns;
	size_t nconns;
};

struct snapshot {
	struct portlist pl;
	struct socks ss;
	struct procmap pm;
	struct conn *conns;	/* grouped by port, then by client pid */
	size_t nconns, ccap;
	struct view *views;	/* one per port, in name order */
};

static void snapshot__free(struct snapshot *s)
{
	if (!s)
		return;
	free(s->views);
	free(s->conns);
	procmap__free(&s->pm);
	socks__free(&s->ss);
	portlist__free(&s->pl);
}

static int cmp_conn(const void *a, const void *b)
{
	const struct conn *x = a, *y = b;

	if (x->port != y->port)
		return x->port < y->port ? -1 : 1;
	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return cmp_u32(&x->srv->ino, &y->srv->ino);
}

/* Port files sorted by (kdev, ino): the index sockets are matched with. */
struct file_key {
	uint32_t kdev, ino;
	size_t port;
};

static int cmp_file_key(const void *a, const void *b)
{
	const struct file_key *x = a, *y = b;

	if (x->kdev != y->kdev)
		return x->kdev < y->kdev ? -1 : 1;
	return cmp_u32(&x->ino, &y->ino);
}

/* Ties each socket bound to a port file to its view. */
static int snapshot__match(struct snapshot *s)
{
	struct file_key *keys;
	size_t n = s->pl.n;
	int r = 0;

	s->views = calloc(n ? n : 1, sizeof(*s->views));
	keys = calloc(n ? n : 1, sizeof(*keys));
	if (!s->views || !keys) {
		r = -ENOMEM;
		goto out_keys;
	}
	for (size_t i = 0; i < n; i++) {
		s->views[i].f = &s->pl.v[i];
		keys[i] = (struct file_key){ s->pl.v[i].kdev, s->pl.v[i].ino,
					     i };
	}
	sort(keys, n, sizeof(*keys), cmp_file_key);
	for (size_t i = 0; i < s->ss.n; i++) {
		const struct usock *u = &s->ss.v[i];
		struct file_key key, *k;
		struct conn *c;

		if (!u->has_vfs)
			continue;
		key = (struct file_key){ u->vfs_dev, u->vfs_ino, 0 };
		k = bsearch(&key, keys, n, sizeof(*keys), cmp_file_key);
		if (!k)
			continue;
		/* A hard link gives one socket file two names: both are
		 * the port. */
		while (k > keys && !cmp_file_key(k - 1, &key))
			k--;
		for (; k < keys + n && !cmp_file_key(k, &key); k++) {
			if (u->state == SK_LISTEN) {
				if (!s->views[k->port].listener)
					s->views[k->port].listener = u;
				continue;
			}
			c = vec_room(s->conns, &s->ccap, s->nconns, sizeof(*c));
			if (!c) {
				r = -ENOMEM;
				goto out_keys;
			}
			s->conns = c;
			s->conns[s->nconns++] = (struct conn){
				.port = k->port,
				.srv = u,
				.cli = socks__find(&s->ss, u->peer),
			};
		}
	}
out_keys:
	free(keys);
	return r;
}

/* The sockets whose holders matter: listeners, both ends, requests. */
static int snapshot__wanted(const struct snapshot *s, uint32_t **out,
			    size_t *nout)
{
	size_t n = 0, cap = 0;
	uint32_t *w = NULL, *v;

#define WANT(x)                                                   \
	do {                                                      \
		v = vec_room(w, &cap, n, sizeof(*w));             \
		if (!v)                                           \
			goto out_nomem;                           \
		w = v;                                            \
		w[n++] = (x);                                     \
	} while (0)

	for (size_t i = 0; i < s->pl.n; i++) {
		const struct usock *l = s->views[i].listener;

		if (!l)
			continue;
		WANT(l->ino);
		for (uint32_t k = 0; k < l->nicons; k++)
			WANT(s->ss.icons[l->icons + k]);
	}
	for (size_t i = 0; i < s->nconns; i++) {
		WANT(s->conns[i].srv->ino);
		if (s->conns[i].cli)
			WANT(s->conns[i].cli->ino);
	}
#undef WANT
	sort(w, n, sizeof(*w), cmp_u32);
	*out = w;
	*nout = n;
	return 0;

out_nomem:
	free(w);
	return -ENOMEM;
}

/*
 * Whether a process we can inspect lives in another network namespace.
 * unix_diag lists only our namespace's sockets, while a socket file
 * reaches its listener from any namespace: a server that lives elsewhere
 * looks stale from here.
 */
static bool netns_mixed(void)
{
	char self[64], other[64], path[64];
	struct dirent *e;
	bool mixed = false;
	ssize_t n;
	DIR *d;

	n = readlink("/proc/self/ns/net", self, sizeof(self) - 1);
	if (n <= 0)
		return false;
	self[n] = 0;
	d = opendir("/proc");
	if (!d)
		return false;
	while (!mixed && (e = readdir(d))) {
		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "%.20s/ns/net", e->d_name);
		n = readlinkat(dirfd(d), path, other, sizeof(other) - 1);
		if (n <= 0)
			continue;	/* gone, or not ours to inspect */
		other[n] = 0;
		mixed = strcmp(self, other) != 0;
	}
	closedir(d);
	return mixed;
}

static int snapshot__take(struct snapshot *s, const char *root)
{
	char rel[PATH_MAX] = "";
	uint32_t *want;
	size_t nwant;
	int fd, r;

	s->pl.root = root;
	fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		if (r == -ENOENT)
			warn("no LPC namespace at %s (is LPC_ROOT set?)", root);
		else
			warn("cannot read %s: %s", root, strerror(-r));
		return r;
	}
	r = portlist__walk(&s->pl, fd, rel, 0, 0);
	if (r) {
		warn("cannot list %s: %s", root, strerror(-r));
		return r;
	}
	sort(s->pl.v, s->pl.n, sizeof(*s->pl.v), cmp_port_name);

	r = socks__dump(&s->ss);
	if (r) {
		if (r == -ENOENT || r == -EPROTONOSUPPORT)
			warn("the kernel lists no unix sockets (unix_diag: "
			     "CONFIG_UNIX_DIAG, or modprobe unix_diag)");
		else
			warn("cannot list unix sockets (NETLINK_SOCK_DIAG): %s",
			     strerror(-r));
		return r;
	}
	r = snapshot__match(s);
	if (r)
		goto out_nomem;
	for (size_t i = 0; i < s->pl.n; i++) {
		if (s->views[i].listener)
			continue;
		if (netns_mixed())
			warn("processes run in other network namespaces: a "
			     "port served from one of them shows as stale");
		break;
	}
	r = snapshot__wanted(s, &want, &nwant);
	if (r)
		goto out_nomem;
	r = procmap__scan(&s->pm, want, nwant);
	free(want);
	if (r == -ENOMEM)
		goto out_nomem;
	if (r)
		warn("cannot read /proc: %s; processes are not shown",
		     strerror(-r));
	if (s->pm.denied)
		warn("some processes could not be inspected (not root?)");

	for (size_t i = 0; i < s->nconns; i++) {
		struct conn *c = &s->conns[i];

		c->pid = c->cli ? procmap__pid(&s->pm, c->cli->ino) : 0;
	}
	sort(s->conns, s->nconns, sizeof(*s->conns), cmp_conn);
	for (size_t i = 0; i < s->nconns; i++) {
		struct view *v = &s->views[s->conns[i].port];

		if (!v->nconns)
			v->conns = &s->conns[i];
		v->nconns++;
	}
	return 0;

out_nomem:
	warn("out of memory");
	return r;
}

/* ---- what a port shows ---- */

static uint64_t view_queued(const struct view *v)
{
	uint64_t q = 0;

	for (size_t i = 0; i < v->nconns; i++)
		q += v->conns[i].srv->rqueue;
	return q;
}

/*
 * The uid of socket u, held by pid, or -1.  The socket's uid is the
 * kernel's record of its creator, readable without privileges (the
 * process may have changed uid since); /proc is the fallback.
 */
static long long sock_uid(const struct snapshot *s, const struct usock *u,
			  pid_t pid)
{
	const struct proc *p = procmap__proc(&s->pm, pid);

	if (u && u->has_uid)
		return u->uid;
	return p && p->has_uid ? (long long)p->uid : -1;
}

/* The uid the port's server runs as, or -1. */
static long long view_uid(const struct snapshot *s, const struct view *v)
{
	if (!v->listener)
		return v->f->uid;	/* stale: whoever created it */
	return sock_uid(s, v->listener,
			procmap__pid(&s->pm, v->listener->ino));
}

static bool holds(const struct procmap *pm, uint32_t ino, pid_t pid)
{
	size_t n;
	const struct holder *h = procmap__holders(pm, ino, &n);

	for (size_t i = 0; ino && i < n; i++)
		if (h[i].pid == pid)
			return true;
	return false;
}

/* Whether pid serves the port or has a connection or request on it. */
static bool view_has_pid(const struct snapshot *s, const struct view *v,
			 pid_t pid)
{
	const struct usock *l = v->listener;

	if (l && holds(&s->pm, l->ino, pid))
		return true;
	for (uint32_t k = 0; l && k < l->nicons; k++)
		if (holds(&s->pm, s->ss.icons[l->icons + k], pid))
			return true;
	for (size_t i = 0; i < v->nconns; i++)
		if (holds(&s->pm, v->conns[i].srv->ino, pid) ||
		    (v->conns[i].cli &&
		     holds(&s->pm, v->conns[i].cli->ino, pid)))
			return true;
	return false;
}

/* "1234/csrd" into buf; "?" for a process not seen. */
static const char *pid_comm(const struct snapshot *s, pid_t pid, char *buf,
			    size_t len)
{
	const struct proc *p = procmap__proc(&s->pm, pid);

	if (!pid)
		snprintf(buf, len, "?");
	else
		snprintf(buf, len, "%d/%s", (int)pid, p ? p->comm : "?");
	make_printable(buf);
	return buf;
}

/* ---- the table ---- */

enum { COL_PORT, COL_SERVER, COL_UID, COL_CONNS, COL_BACKLOG, COL_QUEUED,
       COL_CLIENTS, NCOLS };

static const char *const col_head[NCOLS] = {
	"PORT", "SERVER", "UID", "CONNS", "BACKLOG", "QUEUED", "CLIENTS",
};

/* Numbers are right-aligned under their header, names left-aligned. */
static const bool col_right[NCOLS] = {
	[COL_UID] = true, [COL_CONNS] = true, [COL_BACKLOG] = true,
	[COL_QUEUED] = true,
};

struct cells {
	char *port;		/* the NT name, made printable */
	char server[256];
	char uid[24];
	char conns[24];
	char backlog[24];
	char queued[24];
};

/*
 * Appends s to buf (len bytes, *at used).  What does not fit is dropped,
 * and the list ends in "..." instead: room for it is always kept.
 */
static void append(char *buf, size_t len, size_t *at, const char *s)
{
	size_t n = strlen(s);

	if (*at >= 3 && !strcmp(buf + *at - 3, "..."))
		return;
	if (*at + n + sizeof("...") > len)
		s = "...", n = 3;
	memcpy(buf + *at, s, n + 1);
	*at += n;
}

static int cells__fill(struct cells *c, const struct snapshot *s,
		       const struct view *v)
{
	const struct usock *l = v->listener;
	long long uid = view_uid(s, v);
	char one[96];
	size_t at = 0, n;
	const struct holder *h;

	c->port = strdup(v->f->name);
	if (!c->port)
		return -ENOMEM;
	make_printable(c->port);

	c->server[0] = 0;
	if (!l) {
		append(c->server, sizeof(c->server), &at,
		       "stale (no listener)");
	} else {
		h = procmap__holders(&s->pm, l->ino, &n);
		for (size_t i = 0; i < n; i++) {
			if (i)
				append(c->server, sizeof(c->server), &at, ",");
			append(c->server, sizeof(c->server), &at,
			       pid_comm(s, h[i].pid, one, sizeof(one)));
		}
		if (!n)
			append(c->server, sizeof(c->server), &at, "?");
	}
	if (uid >= 0)
		snprintf(c->uid, sizeof(c->uid), "%lld", uid);
	else
		snprintf(c->uid, sizeof(c->uid), "-");
	snprintf(c->conns, sizeof(c->conns), "%zu", v->nconns);
	if (l && l->has_rqlen)
		snprintf(c->backlog, sizeof(c->backlog), "%" PRIu32,
			 l->rqueue);
	else if (l)
		snprintf(c->backlog, sizeof(c->backlog), "%" PRIu32,
			 l->nicons);
	else
		snprintf(c->backlog, sizeof(c->backlog), "-");
	snprintf(c->queued, sizeof(c->queued), "%" PRIu64, view_queued(v));
	return 0;
}

static const char *cells__get(const struct cells *c, int col)
{
	switch (col) {
	case COL_PORT: return c->port;
	case COL_SERVER: return c->server;
	case COL_UID: return c->uid;
	case COL_CONNS: return c->conns;
	case COL_BACKLOG: return c->backlog;
	case COL_QUEUED: return c->queued;
	}
	return "";
}

static void put_cell(FILE *out, const char *s, size_t width, bool right)
{
	size_t pad = width - text_width(s);

	if (right)
		fprintf(out, "%*s%s", (int)pad, "", s);
	else
		fprintf(out, "%s%*s", s, (int)pad, "");
}

/* How many of the port's connections the client has closed. */
static size_t view_closed(const struct view *v)
{
	size_t n = 0;

	for (size_t i = 0; i < v->nconns; i++)
		n += !v->conns[i].cli;
	return n;
}

/*
 * Each client process once, in pid order, then the connections whose
 * client is gone but the server has not closed (a server that never
 * closes its communication ports piles them up):
 * "1234/lpc-echo,1250/csrcall +3 closed".
 */
static void put_clients(FILE *out, const struct snapshot *s,
			const struct view *v)
{
	size_t closed = view_closed(v);
	char one[96];
	bool any = false;
	pid_t last = 0;

	for (size_t i = 0; i < v->nconns; i++) {
		const struct conn *c = &v->conns[i];

		if (!c->cli || (any && c->pid == last))
			continue;
		fprintf(out, "%s%s", any ? "," : "",
			pid_comm(s, c->pid, one, sizeof(one)));
		any = true;
		last = c->pid;
	}
	if (closed)
		fprintf(out, "%s+%zu closed", any ? " " : "", closed);
	else if (!any)
		fputc('-', out);
}

/* -v: a line per connection, then a line per request not yet accepted. */
static void put_details(FILE *out, const struct snapshot *s,
			const struct view *v)
{
	const struct usock *l = v->listener;
	char one[96];

	for (size_t i = 0; i < v->nconns; i++) {
		const struct conn *c = &v->conns[i];
		long long uid = sock_uid(s, c->cli, c->pid);

		if (!c->cli) {
			fprintf(out, "    closed by client  server_queued %" PRIu32
				"\n", c->srv->rqueue);
			continue;
		}
		fprintf(out, "    conn %s uid ", pid_comm(s, c->pid, one,
							   sizeof(one)));
		if (uid >= 0)
			fprintf(out, "%lld", uid);
		else
			fputc('-', out);
		fprintf(out, "  server_queued %" PRIu32 "  client_queued %" PRIu32
			"\n", c->srv->rqueue, c->cli->rqueue);
	}
	for (uint32_t k = 0; l && k < l->nicons; k++) {
		uint32_t ino = s->ss.icons[l->icons + k];
		pid_t pid = procmap__pid(&s->pm, ino);
		long long uid = sock_uid(s, socks__find(&s->ss, ino), pid);

		fprintf(out, "    pending %s uid ",
			pid_comm(s, pid, one, sizeof(one)));
		if (uid >= 0)
			fprintf(out, "%lld\n", uid);
		else
			fputs("-\n", out);
	}
}

static bool view_shown(const struct ports_opts *o, const struct snapshot *s,
		       const struct view *v)
{
	return !o->pid || view_has_pid(s, v, o->pid);
}

static int print_table(const struct ports_opts *o, const struct snapshot *s,
		       FILE *out)
{
	size_t width[NCOLS];
	struct cells c;
	int r;

	for (int k = 0; k < NCOLS; k++)
		width[k] = strlen(col_head[k]);
	/* Two passes: the widths first, then the rows. */
	for (size_t i = 0; i < s->pl.n; i++) {
		if (!view_shown(o, s, &s->views[i]))
			continue;
		r = cells__fill(&c, s, &s->views[i]);
		if (r)
			return r;
		for (int k = 0; k < COL_CLIENTS; k++) {
			size_t w = text_width(cells__get(&c, k));

			if (w > width[k])
				width[k] = w;
		}
		free(c.port);
	}
	for (int k = 0; k < NCOLS; k++) {
		if (k == COL_CLIENTS)
			fprintf(out, "%s\n", col_head[k]);
		else
			put_cell(out, col_head[k], width[k], col_right[k]);
		if (k < COL_CLIENTS)
			fputs("  ", out);
	}
	for (size_t i = 0; i < s->pl.n; i++) {
		const struct view *v = &s->views[i];

		if (!view_shown(o, s, v))
			continue;
		r = cells__fill(&c, s, v);
		if (r)
			return r;
		for (int k = 0; k < COL_CLIENTS; k++) {
			put_cell(out, cells__get(&c, k), width[k],
				 col_right[k]);
			fputs("  ", out);
		}
		free(c.port);
		put_clients(out, s, v);
		fputc('\n', out);
		if (o->verbose)
			put_details(out, s, v);
	}
	return 0;
}

/* ---- NDJSON ---- */

/*
 * s as a JSON string.  Controls, C1 included, are escaped; a byte that is
 * not UTF-8 becomes \u00XX, its value read as Latin-1, so that the output
 * stays valid JSON whatever bytes a file name holds.
 */
static void json_str(FILE *out, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;

	fputc('"', out);
	while (*s) {
		uint32_t cp = 0;
		size_t n = utf8_dec(s, &cp);

		if (!n)
			fprintf(out, "\\u%04x", *s);
		else if (cp == '"' || cp == '\\')
			fprintf(out, "\\%c", (char)cp);
		else if (cp == '\n')
			fputs("\\n", out);
		else if (cp == '\t')
			fputs("\\t", out);
		else if (is_control(cp))
			fprintf(out, "\\u%04x", (unsigned)cp);
		else
			fwrite(s, 1, n, out);
		s += n ? n : 1;
	}
	fputc('"', out);
}

static void json_uid(FILE *out, long long uid)
{
	if (uid >= 0)
		fprintf(out, "%lld", uid);
	else
		fputs("null", out);
}

/* "pid":..,"comm":..,"uid":.. of a client socket. */
static void json_client(FILE *out, const struct snapshot *s,
			const struct usock *u, pid_t pid)
{
	const struct proc *p = procmap__proc(&s->pm, pid);

	if (pid)
		fprintf(out, "{\"pid\":%d,\"comm\":", (int)pid);
	else
		fputs("{\"pid\":null,\"comm\":", out);
	if (p)
		json_str(out, p->comm);
	else
		fputs("null", out);
	fputs(",\"uid\":", out);
	json_uid(out, u ? sock_uid(s, u, pid) : -1);
}

static void print_json_one(const struct snapshot *s, const struct view *v,
			   FILE *out)
{
	const struct usock *l = v->listener;
	const struct holder *h = NULL;
	const struct proc *p = NULL;
	size_t n = 0;

	if (l)
		h = procmap__holders(&s->pm, l->ino, &n);
	fputs("{\"port\":", out);
	json_str(out, v->f->name);
	fputs(",\"path\":", out);
	json_str(out, v->f->path);
	fputs(",\"server_pids\":[", out);
	for (size_t i = 0; i < n; i++)
		fprintf(out, "%s%d", i ? "," : "", (int)h[i].pid);
	fputs("],\"server_comm\":", out);
	if (n)
		p = procmap__proc(&s->pm, h[0].pid);
	if (p)
		json_str(out, p->comm);
	else
		fputs("null", out);
	fputs(",\"uid\":", out);
	json_uid(out, view_uid(s, v));
	fprintf(out, ",\"listening\":%s,\"connections\":%zu,\"backlog\":",
		l ? "true" : "false", v->nconns);
	if (l)
		fprintf(out, "%" PRIu32, l->has_rqlen ? l->rqueue : l->nicons);
	else
		fputs("0", out);
	fprintf(out, ",\"queued_bytes\":%" PRIu64
		",\"closed_by_client\":%zu,\"clients\":[",
		view_queued(v), view_closed(v));
	for (size_t i = 0; i < v->nconns; i++) {
		const struct conn *c = &v->conns[i];

		if (i)
			fputc(',', out);
		json_client(out, s, c->cli, c->pid);
		fprintf(out, ",\"server_queued\":%" PRIu32, c->srv->rqueue);
		if (c->cli)
			fprintf(out, ",\"client_queued\":%" PRIu32 "}",
				c->cli->rqueue);
		else
			fputs(",\"client_queued\":null}", out);
	}
	fputs("],\"pending_clients\":[", out);
	for (uint32_t k = 0; l && k < l->nicons; k++) {
		uint32_t ino = s->ss.icons[l->icons + k];

		if (k)
			fputc(',', out);
		json_client(out, s, socks__find(&s->ss, ino),
			    procmap__pid(&s->pm, ino));
		fputc('}', out);
	}
	fputs("]}\n", out);
}

/* ---- the run ---- */

/* liblpc's rule (lpc/ns.c choose_root, docs/namespace.md). */
static int default_root(char *out, size_t len)
{
	const char *env = getenv("LPC_ROOT");
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	int n;

	if (env && *env)
		n = snprintf(out, len, "%s", env);
	else if (geteuid() == 0)
		n = snprintf(out, len, "/run/lpc");
	else if (xdg && *xdg)
		n = snprintf(out, len, "%s/lpc", xdg);
	else
		n = snprintf(out, len, "/tmp/lpc-%u", (unsigned)geteuid());
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int ports__run(const struct ports_opts *o, FILE *out)
{
	struct snapshot s = { 0 };
	char root[PATH_MAX];
	size_t len;
	int r;

	if (o->root && *o->root) {
		if (strlen(o->root) >= sizeof(root)) {
			warn("namespace path too long");
			return -ENAMETOOLONG;
		}
		strcpy(root, o->root);
	} else if ((r = default_root(root, sizeof(root)))) {
		warn("namespace path too long");
		return r;
	}
	/* "root/" would print as "root//Windows/ApiPort". */
	for (len = strlen(root); len > 1 && root[len - 1] == '/'; len--)
		root[len - 1] = 0;

	r = snapshot__take(&s, root);
	if (r)
		goto out_snap;
	if (o->json) {
		for (size_t i = 0; i < s.pl.n; i++)
			if (view_shown(o, &s, &s.views[i]))
				print_json_one(&s, &s.views[i], out);
	} else {
		r = print_table(o, &s, out);
		if (r) {
			warn("out of memory");
			goto out_snap;
		}
	}
	/* A write that failed earlier left only the stream's error flag:
	 * its errno is long gone. */
	if (fflush(out) == EOF)
		r = -errno;
	else if (ferror(out))
		r = -EIO;
	if (r)
		warn("write error: %s", strerror(-r));
out_snap:
	snapshot__free(&s);
	return r;
}
