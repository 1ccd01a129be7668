/* SPDX-License-Identifier: MIT */
/*
 * consrv.c - the console server DLL (CONSRV, index 2).
 *
 * A console here has no window: its "screen" is an append-only log file,
 * <console_dir>/console-<pid>.log (a new console of the same pid appends
 * to it), and its input buffer is filled by ConsolepWriteConsoleInput.
 * One console per process, reachable only from that process, through
 * small per-process handles.
 *
 * Model and rules (the parts NT leaves to the implementation):
 *  - Handles are table indices: value 4*i+3 (console handles on NT have the
 *    low two bits set, so they never look like kernel handles), i < 64.
 *    AllocConsole takes slots 0 (input) and 1 (output); a full table is
 *    STATUS_QUOTA_EXCEEDED.  FreeConsole closes every handle.
 *  - Modes belong to the console (its input buffer and its screen), not to
 *    the handle, as on NT: every input handle sees the same input mode.
 *  - Text: Unicode is UTF-16LE and goes to the log as UTF-8 (an unpaired
 *    surrogate becomes U+FFFD).  The ANSI code page is ISO-8859-1: a byte
 *    is the code point of the same value both ways, and a character above
 *    U+00FF read through an ANSI ReadConsole becomes '?'.
 *  - Without ENABLE_PROCESSED_OUTPUT, C0 controls and DEL are written as
 *    the four characters "\xNN" (lower-case hex) instead of raw.
 *  - The input buffer holds CON_INPUT_CHARS characters; WriteConsoleInput
 *    queues what fits and reports the bytes it took in NumBytes.
 *  - ReadConsole returns what is readable at once, else waits (deferred
 *    reply).  Readable: everything queued; with ENABLE_LINE_INPUT, only up
 *    to and including the first '\n', and nothing while no '\n' is queued
 *    unless the buffer is full (a full buffer with no line end would
 *    otherwise never drain).  At most what fits in the caller's buffer is
 *    returned; the rest stays queued.  With LINE and ECHO both set, what a
 *    read takes is echoed to the log, as a console echoes typed lines.
 *  - Waiting reads are served first come, first served, at most
 *    CON_MAX_WAITS per console (then STATUS_QUOTA_EXCEEDED).  FreeConsole,
 *    and closing the handle a read waits on, complete it with
 *    STATUS_CANCELLED and NumBytes 0.  The process's death abandons its
 *    waits (no reply to a dead client).  A datagram read is refused: no
 *    one would receive what it took.
 *  - GetTitle's buffer rules are at con_get_title.
 *
 * Locking: one mutex for the DLL (the console list and every console,
 * p->dll_data[CONSRV] included).  csr_call_defer may be called under it
 * (it takes the server lock, which never wraps a call into a DLL);
 * csr_wait_complete and csr_wait_abandon never are, because they may drop
 * the last reference to a process (srv.h's rule).  Waits leave every list
 * under the lock and are finished after it is released.
 *
 * A process that csrd destroys gets CON_GONE in its dll_data, under the
 * same lock, so a handler of that process still running cannot attach a
 * console or a wait after consrv_disconnect has run: whichever of the two
 * takes the lock second sees what the first did.  (This does the job of
 * srv.h's p->dead check for this DLL.)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "srv.h"

#define CON_INDEX	CONSRV_SERVERDLL_INDEX
#define CON_MAX_HANDLES	64
#define CON_MAX_WAITS	16
#define CON_INPUT_CHARS	4096
#define CON_IO_MAX	65536	/* NumBytes of one read or write */
#define CON_TITLE_BYTES	(CONSOLE_MAX_TITLE_CHARS * sizeof(WCHAR))

#define CON_INPUT_MODES	0x00ff	/* ENABLE_PROCESSED_INPUT..EXTENDED_FLAGS */
#define CON_OUTPUT_MODES (ENABLE_PROCESSED_OUTPUT | ENABLE_WRAP_AT_EOL_OUTPUT)

struct console {
	struct console *next, **pprev;	/* consrv.consoles */
	struct csr_process *process;	/* not referenced: see disconnect */
	int log_fd;			/* -1: no console_dir, count only */
	uint64_t written;		/* bytes that went to the log */
	ULONG input_mode, output_mode;
	ULONG title_len;		/* bytes */
	unsigned char title[CON_TITLE_BYTES];
	unsigned in_len;		/* characters queued */
	WCHAR input[CON_INPUT_CHARS];
	uint8_t handles[CON_MAX_HANDLES]; /* 0 or CONSOLE_*_HANDLE_TYPE */
	struct csr_wait *waits, **waits_tail;	/* pending reads, FIFO */
	unsigned nwaits;
};

struct consrv {
	pthread_mutex_t lock;
	struct console *consoles;
	unsigned count;			/* consoles */
};

/* p->dll_data[CON_INDEX] after the process went: a call still running for
 * it must not make a console nobody would free. */
static char consrv_gone;
#define CON_GONE ((void *)&consrv_gone)

static struct consrv *consrv_of(struct csr_server *s)
{
	return s->dlls[CON_INDEX].state;
}

/* ------------------------------------------------------------------ */
/* Refusals                                                            */
/* ------------------------------------------------------------------ */

static pid_t call_tid(const struct csr_call *c)
{
	if (c->thread)
		return c->thread->tid;
	return (pid_t)(uintptr_t)c->msg->Header.ClientId.UniqueThread;
}

/* Every refusal is logged at level 0 with who asked and why. */
static NTSTATUS __attribute__((format(printf, 4, 5)))
refuse(struct csr_call *c, const char *api, NTSTATUS st, const char *fmt, ...)
{
	char why[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	csr_log(c->srv, 0, "%s: pid %d tid %d: %s (0x%08x)", api,
		c->process ? (int)c->process->pid : 0, (int)call_tid(c), why,
		(unsigned)st);
	return st;
}

/* ------------------------------------------------------------------ */
/* Unaligned UTF-16 access                                             */
/* ------------------------------------------------------------------ */

/* Captured buffers sit at any offset of the capture copy: UTF-16 is read
 * and written through memcpy, never through a WCHAR pointer. */
static inline WCHAR get_wchar(const unsigned char *p, size_t i)
{
	WCHAR w;

	memcpy(&w, p + 2 * i, sizeof(w));
	return w;
}

static inline void put_wchar(unsigned char *p, size_t i, WCHAR w)
{
	memcpy(p + 2 * i, &w, sizeof(w));
}

/* ------------------------------------------------------------------ */
/* The log                                                             */
/* ------------------------------------------------------------------ */

static NTSTATUS errno_status(int err)
{
	switch (err) {
	case EACCES:
	case EPERM:
	case ELOOP:
		return STATUS_ACCESS_DENIED;
	case ENOMEM:
		return STATUS_NO_MEMORY;
	case EMFILE:
	case ENFILE:
	case ENOSPC:
	case EDQUOT:
		return STATUS_INSUFFICIENT_RESOURCES;
	case ENOENT:
	case ENOTDIR:
		return STATUS_OBJECT_PATH_NOT_FOUND;
	default:
		return STATUS_UNSUCCESSFUL;
	}
}

/*
 * Open (creating) the console log of pid in console_dir; *fd = -1 when
 * the server keeps no logs.  csrd runs as root and the directory may have
 * been made by someone else: the file must be a regular file of ours with
 * one link, so that a planted symlink or hard link never redirects a
 * console into another file.
 */
static int log_open(const struct csr_server *s, pid_t pid, int *fd)
{
	const char *dir = s->opt.console_dir;
	char name[64];
	struct stat st;
	int dfd, f, err;

	*fd = -1;
	if (!dir || !*dir)
		return 0;
	if (mkdir(dir, 0700) && errno != EEXIST)
		return -errno;
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	snprintf(name, sizeof(name), "console-%d.log", (int)pid);
	/* O_NONBLOCK: a planted FIFO fails the open instead of hanging it. */
	f = openat(dfd, name,
		   O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW |
			   O_NOCTTY | O_NONBLOCK,
		   0600);
	err = errno;
	close(dfd);
	if (f < 0)
		return -err;
	if (fstat(f, &st) || !S_ISREG(st.st_mode) || st.st_nlink != 1 ||
	    st.st_uid != geteuid()) {
		close(f);
		return -EACCES;
	}
	*fd = f;
	return 0;
}

/* Text on its way to the log, in bounded chunks: a 64 KiB write expands
 * (escapes, UTF-8) without one big allocation. */
struct sink {
	struct console *con;
	int err;		/* first write error, as errno */
	size_t len;
	char buf[1024];
};

static void sink_flush(struct sink *k)
{
	size_t off = 0;

	while (off < k->len && !k->err) {
		ssize_t n;

		if (k->con->log_fd < 0) {
			k->con->written += k->len - off;
			break;
		}
		n = write(k->con->log_fd, k->buf + off, k->len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			k->err = n < 0 ? errno : ENOSPC;
			break;
		}
		off += (size_t)n;
		k->con->written += (uint64_t)n;
	}
	k->len = 0;
}

static void sink_put(struct sink *k, const char *p, size_t n)
{
	if (k->len + n > sizeof(k->buf))
		sink_flush(k);
	memcpy(k->buf + k->len, p, n);
	k->len += n;
}

/* One code point, raw or (controls, unprocessed output) escaped. */
static void sink_char(struct sink *k, uint32_t cp, bool processed)
{
	char b[4];

	if (!processed && (cp < 0x20 || cp == 0x7f)) {
		static const char hex[] = "0123456789abcdef";
		char e[4] = { '\\', 'x', hex[cp >> 4], hex[cp & 15] };

		sink_put(k, e, 4);
	} else if (cp < 0x80) {
		b[0] = (char)cp;
		sink_put(k, b, 1);
	} else if (cp < 0x800) {
		b[0] = (char)(0xc0 | cp >> 6);
		b[1] = (char)(0x80 | (cp & 0x3f));
		sink_put(k, b, 2);
	} else if (cp < 0x10000) {
		b[0] = (char)(0xe0 | cp >> 12);
		b[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		b[2] = (char)(0x80 | (cp & 0x3f));
		sink_put(k, b, 3);
	} else {
		b[0] = (char)(0xf0 | cp >> 18);
		b[1] = (char)(0x80 | (cp >> 12 & 0x3f));
		b[2] = (char)(0x80 | (cp >> 6 & 0x3f));
		b[3] = (char)(0x80 | (cp & 0x3f));
		sink_put(k, b, 4);
	}
}

/* UTF-16 code units to code points; an unpaired surrogate is U+FFFD. */
static void sink_utf16(struct sink *k, const unsigned char *p, size_t n,
		       bool processed)
{
	for (size_t i = 0; i < n; i++) {
		uint32_t cp = get_wchar(p, i);

		if (cp >= 0xd800 && cp < 0xdc00 && i + 1 < n) {
			uint32_t lo = get_wchar(p, i + 1);

			if (lo >= 0xdc00 && lo < 0xe000) {
				cp = 0x10000 + ((cp - 0xd800) << 10) +
				     (lo - 0xdc00);
				i++;
			} else {
				cp = 0xfffd;
			}
		} else if (cp >= 0xd800 && cp < 0xe000) {
			cp = 0xfffd;
		}
		sink_char(k, cp, processed);
	}
}

/* Caller holds the lock.  Returns 0 or the errno of the failed write. */
static int con_output(struct console *con, const unsigned char *p, size_t n,
		      bool unicode)
{
	bool processed = con->output_mode & ENABLE_PROCESSED_OUTPUT;
	struct sink k = { .con = con };

	if (unicode)
		sink_utf16(&k, p, n / 2, processed);
	else
		for (size_t i = 0; i < n; i++)
			sink_char(&k, p[i], processed);
	sink_flush(&k);
	return k.err;
}

/* ------------------------------------------------------------------ */
/* Consoles and handles                                                */
/* ------------------------------------------------------------------ */

/* The caller's console or NULL; caller holds the lock. */
static struct console *con_of(struct csr_process *p)
{
	void *d = p ? p->dll_data[CON_INDEX] : NULL;

	return d == CON_GONE ? NULL : d;
}

static HANDLE handle_value(unsigned i)
{
	return (HANDLE)(uintptr_t)(4 * i + 3);
}

/* The slot a client's handle value names, or -1.  Any value is accepted
 * as input: it is only ever compared, never dereferenced. */
static int handle_slot(HANDLE h)
{
	uintptr_t v = (uintptr_t)h;

	if ((v & 3) != 3 || v >> 2 >= CON_MAX_HANDLES)
		return -1;
	return (int)(v >> 2);
}

static int handle_new(struct console *con, uint8_t type)
{
	for (unsigned i = 0; i < CON_MAX_HANDLES; i++)
		if (!con->handles[i]) {
			con->handles[i] = type;
			return (int)i;
		}
	return -1;
}

/* The slot of h if it is an open handle of type in con (type 0: any). */
static int handle_check(const struct console *con, HANDLE h, uint8_t type)
{
	int i = handle_slot(h);

	if (!con || i < 0 || !con->handles[i])
		return -1;
	if (type && con->handles[i] != type)
		return -1;
	return i;
}

/* Move the waits that match slot (-1: all) to *out with status. */
static void waits_take(struct console *con, int slot, NTSTATUS status,
		       struct csr_wait **out)
{
	struct csr_wait **pp = &con->waits, *w;

	while ((w = *pp)) {
		if (slot >= 0 && (uintptr_t)w->ctx != (uintptr_t)slot) {
			pp = &w->next;
			continue;
		}
		*pp = w->next;
		con->nwaits--;
		w->msg.Data.ReadConsoleRequest.NumBytes = 0;
		w->msg.Status = status;
		w->next = *out;
		*out = w;
	}
	con->waits_tail = &con->waits;
	for (w = con->waits; w; w = w->next)
		con->waits_tail = &w->next;
}

/* Unlink and free con; its waits go to *waits.  Caller holds the lock. */
static void con_destroy(struct consrv *cs, struct console *con,
			NTSTATUS status, struct csr_wait **waits)
{
	waits_take(con, -1, status, waits);
	*con->pprev = con->next;
	if (con->next)
		con->next->pprev = con->pprev;
	cs->count--;
	if (con->log_fd >= 0)
		close(con->log_fd);
	free(con);
}

/* Outside the lock: answer or drop the waits taken off a console. */
static void waits_complete(struct csr_server *s, struct csr_wait *w)
{
	while (w) {
		struct csr_wait *next = w->next;

		w->next = NULL;
		csr_wait_complete(s, w, w->msg.Status);
		w = next;
	}
}

static void waits_abandon(struct csr_server *s, struct csr_wait *w)
{
	while (w) {
		struct csr_wait *next = w->next;

		w->next = NULL;
		csr_wait_abandon(s, w);
		w = next;
	}
}

/* ------------------------------------------------------------------ */
/* The input buffer                                                    */
/* ------------------------------------------------------------------ */

/* How many queued characters a read may take now (the rule above). */
static unsigned con_readable(const struct console *con)
{
	if (!(con->input_mode & ENABLE_LINE_INPUT))
		return con->in_len;
	for (unsigned i = 0; i < con->in_len; i++)
		if (con->input[i] == '\n')
			return i + 1;
	return con->in_len == CON_INPUT_CHARS ? con->in_len : 0;
}

/* Move up to what is readable into buf (size bytes); returns the bytes
 * stored.  Caller holds the lock and checked that something is readable. */
static ULONG con_take(struct console *con, unsigned char *buf, ULONG size,
		      bool unicode)
{
	unsigned n = con_readable(con);
	ULONG room = unicode ? size / 2 : size;

	if (n > room)
		n = (unsigned)room;
	for (unsigned i = 0; i < n; i++) {
		WCHAR ch = con->input[i];

		if (unicode)
			put_wchar(buf, i, ch);
		else
			buf[i] = ch > 0xff ? '?' : (unsigned char)ch;
	}
	if ((con->input_mode & (ENABLE_LINE_INPUT | ENABLE_ECHO_INPUT)) ==
	    (ENABLE_LINE_INPUT | ENABLE_ECHO_INPUT)) {
		/* The characters are still queued here, as UTF-16. */
		struct sink k = { .con = con };

		sink_utf16(&k, (const unsigned char *)con->input, n,
			   con->output_mode & ENABLE_PROCESSED_OUTPUT);
		sink_flush(&k);
	}
	memmove(con->input, con->input + n,
		(con->in_len - n) * sizeof(con->input[0]));
	con->in_len -= n;
	return unicode ? 2 * n : n;
}

/* Serve waiting reads in order while input is readable; the served waits
 * go to *done.  Caller holds the lock. */
static void con_wake(struct console *con, struct csr_wait **done)
{
	struct csr_wait **tail = done;

	while (*tail)
		tail = &(*tail)->next;
	while (con->waits && con_readable(con)) {
		struct csr_wait *w = con->waits;
		CONSOLE_READCONSOLE *r = &w->msg.Data.ReadConsoleRequest;
		uintptr_t buf = (uintptr_t)r->Buffer;
		uintptr_t lo = (uintptr_t)w->cap.copy, hi = lo + w->cap.size;

		con->waits = w->next;
		if (!con->waits)
			con->waits_tail = &con->waits;
		con->nwaits--;
		w->next = NULL;
		/* Validated when the read came in; the wait owns the copy.
		 * Checked again because a stale pointer here would be a
		 * write into the heap. */
		if (!w->cap.copy || buf < lo || buf > hi ||
		    r->NumBytes > hi - buf || !r->NumBytes) {
			r->NumBytes = 0;
			w->msg.Status = STATUS_INVALID_PARAMETER;
		} else {
			r->NumBytes = con_take(con, (unsigned char *)buf,
					       r->NumBytes, r->Unicode);
			w->msg.Status = STATUS_SUCCESS;
		}
		*tail = w;
		tail = &w->next;
	}
}

/* ------------------------------------------------------------------ */
/* APIs                                                                */
/* ------------------------------------------------------------------ */

static NTSTATUS con_alloc(struct csr_call *c)
{
	static const char api[] = "ConsolepAlloc";
	CONSOLE_ALLOCCONSOLE *a = &c->msg->Data.AllocConsoleRequest;
	struct csr_server *s = c->srv;
	struct consrv *cs = consrv_of(s);
	ULONG len = a->TitleLength;
	struct console *con;
	int err;

	if (!cs || !c->process)
		return refuse(c, api, STATUS_INVALID_PARAMETER, "no process");
	if (len % 2 || len > CON_TITLE_BYTES)
		return refuse(c, api, STATUS_INVALID_PARAMETER,
			      "title length %u", (unsigned)len);
	if (!csr_validate_buffer(c, &a->Title, len, 1))
		return refuse(c, api, STATUS_INVALID_PARAMETER,
			      "title not captured (%u bytes)", (unsigned)len);
	/* Checked again under the lock; this only saves the file work. */
	pthread_mutex_lock(&cs->lock);
	con = c->process->dll_data[CON_INDEX];
	pthread_mutex_unlock(&cs->lock);
	if (con)
		return refuse(c, api, STATUS_ACCESS_DENIED, "%s",
			      con == CON_GONE ? "the process is gone" :
						"the process has a console");

	con = calloc(1, sizeof(*con));
	if (!con)
		return refuse(c, api, STATUS_NO_MEMORY, "out of memory");
	err = log_open(s, c->process->pid, &con->log_fd);
	if (err) {
		free(con);
		return refuse(c, api, errno_status(-err),
			      "console log in %s: %s", s->opt.console_dir,
			      strerror(-err));
	}
	con->process = c->process;
	con->input_mode = ENABLE_PROCESSED_INPUT | ENABLE_LINE_INPUT |
			  ENABLE_ECHO_INPUT;
	con->output_mode = ENABLE_PROCESSED_OUTPUT | ENABLE_WRAP_AT_EOL_OUTPUT;
	if (len)
		memcpy(con->title, a->Title, len);
	con->title_len = len;
	con->handles[0] = CONSOLE_INPUT_HANDLE_TYPE;
	con->handles[1] = CONSOLE_OUTPUT_HANDLE_TYPE;
	con->waits_tail = &con->waits;

	pthread_mutex_lock(&cs->lock);
	if (c->process->dll_data[CON_INDEX]) {
		/* Another thread won, or the process is gone. */
		pthread_mutex_unlock(&cs->lock);
		if (con->log_fd >= 0)
			close(con->log_fd);
		free(con);
		return refuse(c, api, STATUS_ACCESS_DENIED,
			      "the process has a console");
	}
	c->process->dll_data[CON_INDEX] = con;
	con->next = cs->consoles;
	if (con->next)
		con->next->pprev = &con->next;
	con->pprev = &cs->consoles;
	cs->consoles = con;
	cs->count++;
	pthread_mutex_unlock(&cs->lock);

	a->InputHandle = handle_value(0);
	a->OutputHandle = handle_value(1);
	csr_log(s, 1, "pid %d: console allocated", (int)c->process->pid);
	return STATUS_SUCCESS;
}

static NTSTATUS con_free(struct csr_call *c)
{
	struct consrv *cs = consrv_of(c->srv);
	struct csr_wait *cancelled = NULL;
	struct console *con;

	if (!cs)
		return STATUS_INVALID_HANDLE;
	pthread_mutex_lock(&cs->lock);
	con = con_of(c->process);
	if (con) {
		c->process->dll_data[CON_INDEX] = NULL;
		con_destroy(cs, con, STATUS_CANCELLED, &cancelled);
	}
	pthread_mutex_unlock(&cs->lock);
	if (!con)
		return refuse(c, "ConsolepFree", STATUS_INVALID_HANDLE,
			      "no console");
	waits_complete(c->srv, cancelled);
	return STATUS_SUCCESS;
}

static NTSTATUS con_open(struct csr_call *c)
{
	static const char api[] = "ConsolepOpenConsole";
	CONSOLE_OPENCONSOLE *o = &c->msg->Data.OpenConsoleRequest;
	struct consrv *cs = consrv_of(c->srv);
	ULONG type = o->HandleType;
	struct console *con;
	int i = -1;

	/* DesiredAccess, InheritHandle and ShareMode: csrd has no access
	 * checks within a process and no handle inheritance. */
	if (type != CONSOLE_INPUT_HANDLE_TYPE &&
	    type != CONSOLE_OUTPUT_HANDLE_TYPE)
		return refuse(c, api, STATUS_INVALID_PARAMETER,
			      "handle type %u", (unsigned)type);
	if (!cs)
		return STATUS_INVALID_HANDLE;
	pthread_mutex_lock(&cs->lock);
	con = con_of(c->process);
	if (con)
		i = handle_new(con, (uint8_t)type);
	pthread_mutex_unlock(&cs->lock);
	if (!con)
		return refuse(c, api, STATUS_INVALID_HANDLE, "no console");
	if (i < 0)
		return refuse(c, api, STATUS_QUOTA_EXCEEDED,
			      "%d handles open", CON_MAX_HANDLES);
	o->Handle = handle_value((unsigned)i);
	return STATUS_SUCCESS;
}

static NTSTATUS con_close(struct csr_call *c)
{
	CONSOLE_CLOSEHANDLE *h = &c->msg->Data.CloseHandleRequest;
	struct consrv *cs = consrv_of(c->srv);
	struct csr_wait *cancelled = NULL;
	struct console *con;
	int i = -1;

	if (!cs)
		return STATUS_INVALID_HANDLE;
	pthread_mutex_lock(&cs->lock);
	con = con_of(c->process);
	i = handle_check(con, h->Handle, 0);
	if (i >= 0) {
		con->handles[i] = 0;
		waits_take(con, i, STATUS_CANCELLED, &cancelled);
	}
	pthread_mutex_unlock(&cs->lock);
	if (i < 0)
		return refuse(c, "ConsolepCloseHandle", STATUS_INVALID_HANDLE,
			      "handle %#lx",
			      (unsigned long)(uintptr_t)h->Handle);
	waits_complete(c->srv, cancelled);
	return STATUS_SUCCESS;
}

/*
 * GetTitle: Length is the size in bytes of the captured Title buffer (even).
 * The title is copied, truncated to whole characters that fit; a NUL
 * follows when there is room for it.  Length comes back as the bytes of
 * title copied, without the NUL.  A truncated title is not an error, as
 * GetConsoleTitle truncates.
 */
static NTSTATUS con_get_title(struct csr_call *c)
{
	static const char api[] = "ConsolepGetTitle";
	CONSOLE_GETSETCONSOLETITLE *t = &c->msg->Data.TitleRequest;
	struct consrv *cs = consrv_of(c->srv);
	ULONG size = t->Length, n = 0;
	struct console *con;

	if (size % 2)
		return refuse(c, api, STATUS_INVALID_PARAMETER,
			      "odd length %u", (unsigned)size);
	if (!csr_validate_buffer(c, &t->Title, size, 1))
		return refuse(c, api, STATUS_INVALID_PARAMETER,
			      "buffer not captured (%u bytes)", (unsigned)size);
	if (!cs)
		return STATUS_INVALID_HANDLE;
	pthread_mutex_lock(&cs->lock);
	con = con_of(c->process);
	if (con) {
		n = con->title_len < size ? con->title_len : size;
		if (n)
			memcpy(t->Title, con->title, n);
		if (n + 2 <= size)
			put_wchar((unsigned char *)t->Title, n / 2, 0);
	}
	pthread_mutex_unlock(&cs->lock);
	if (!con)
		return refuse(c, api, STATUS_INVALID_HANDLE, "no console");
	t->Length = n;
	return STATUS_SUCCESS;
}

/* SetTitle: Length bytes (even, at most CONSOLE_MAX_TITLE_CHARS
 * characters) of the captured Title become the title, NULs included. */
static NTSTATUS con_set_title(struct csr_call *c)
{
	static const char api[] = "ConsolepSetTitle";
	CONSOLE_GETSETCONSOLETITLE *t = &c->msg->Data.TitleRequest;
	struct consrv *cs = consrv_of(c->srv);
	ULONG len = t->Length;
	struct console *con;

	if (len % 2 || len > CON_TITLE_BYTES)
		return refuse(c, api, STATUS_INVALID_PARAMETER,
			      "title length %u", (unsigned)len);
	if (!csr_validate_buffer(c, &t->Title, len, 1))
		return refuse(c, api, STATUS_INVALID_PARAMETER,
			      "title not captured (%u bytes)", (unsigned)len);
	if (!cs)
		return STATUS_INVALID_HANDLE;
	pthread_mutex_lock(&cs->lock);
	con = con_of(c->process);
	if (con) {
		if (len)
			memcpy(con->title, t->Title, len);
		con->title_len = len;
	}
	pthread_mutex_unlock(&cs->lock);
	if (!con)
		return refuse(c, api, STATUS_INVALID_HANDLE, "no console");
	return STATUS_SUCCESS;
}

static NTSTATUS con_get_mode(struct csr_call *c)
{
	CONSOLE_GETSETCONSOLEMODE *m = &c->msg->Data.ConsoleModeRequest;
	struct consrv *cs = consrv_of(c->srv);
	struct console *con;
	int i;

	if (!cs)
		return STATUS_INVALID_HANDLE;
	pthread_mutex_lock(&cs->lock);
	con = con_of(c->process);
	i = handle_check(con, m->Handle, 0);
	if (i >= 0)
		m->Mode = con->handles[i] == CONSOLE_INPUT_HANDLE_TYPE ?
				  con->input_mode :
				  con->output_mode;
	pthread_mutex_unlock(&cs->lock);
	if (i < 0)
		return refuse(c, "ConsolepGetMode", STATUS_INVALID_HANDLE,
			      "handle %#lx",
			      (unsigned long)(uintptr_t)m->Handle);
	return STATUS_SUCCESS;
}

static NTSTATUS con_set_mode(struct csr_call *c)
{
	static const char api[] = "ConsolepSetMode";
	CONSOLE_GETSETCONSOLEMODE *m = &c->msg->Data.ConsoleModeRequest;
	struct consrv *cs = consrv_of(c->srv);
	struct csr_wait *done = NULL;
	ULONG mode = m->Mode;
	struct console *con;
	NTSTATUS st = STATUS_SUCCESS;
	int i;

	if (!cs)
		return STATUS_INVALID_HANDLE;
	pthread_mutex_lock(&cs->lock);
	con = con_of(c->process);
	i = handle_check(con, m->Handle, 0);
	if (i < 0) {
		st = STATUS_INVALID_HANDLE;
	} else if (con->handles[i] == CONSOLE_INPUT_HANDLE_TYPE) {
		if (mode & ~(ULONG)CON_INPUT_MODES) {
			st = STATUS_INVALID_PARAMETER;
		} else {
			con->input_mode = mode;
			/* Leaving line mode makes a partial line readable. */
			con_wake(con, &done);
		}
	} else if (mode & ~(ULONG)CON_OUTPUT_MODES) {
		st = STATUS_INVALID_PARAMETER;
	} else {
		con->output_mode = mode;
	}
	pthread_mutex_unlock(&cs->lock);
	waits_complete(c->srv, done);
	if (st == STATUS_INVALID_HANDLE)
		return refuse(c, api, st, "handle %#lx",
			      (unsigned long)(uintptr_t)m->Handle);
	if (st)
		return refuse(c, api, st, "mode %#x", (unsigned)mode);
	return STATUS_SUCCESS;
}

/* The I/O buffer of a read or write: size checks, then the capture. */
static bool io_buffer_ok(struct csr_call *c, const char *api, PVOID *field,
			 ULONG bytes, BOOLEAN unicode, bool need_bytes,
			 NTSTATUS *st)
{
	*st = STATUS_INVALID_PARAMETER;
	if (bytes > CON_IO_MAX || (unicode && bytes % 2) ||
	    (need_bytes && !bytes)) {
		refuse(c, api, *st, "NumBytes %u%s", (unsigned)bytes,
		       unicode ? " (Unicode)" : "");
		return false;
	}
	if (!csr_validate_buffer(c, field, bytes, 1)) {
		refuse(c, api, *st, "buffer not captured (%u bytes)",
		       (unsigned)bytes);
		return false;
	}
	*st = STATUS_SUCCESS;
	return true;
}

static NTSTATUS con_write(struct csr_call *c)
{
	static const char api[] = "ConsolepWriteConsole";
	CONSOLE_WRITECONSOLE *w = &c->msg->Data.WriteConsoleRequest;
	struct consrv *cs = consrv_of(c->srv);
	ULONG n = w->NumBytes;
	struct console *con;
	NTSTATUS st;
	int i, err = 0;

	if (!io_buffer_ok(c, api, &w->Buffer, n, w->Unicode, false, &st))
		return st;
	if (!cs)
		return STATUS_INVALID_HANDLE;
	pthread_mutex_lock(&cs->lock);
	con = con_of(c->process);
	i = handle_check(con, w->OutputHandle, CONSOLE_OUTPUT_HANDLE_TYPE);
	if (i >= 0 && n)
		err = con_output(con, w->Buffer, n, w->Unicode);
	pthread_mutex_unlock(&cs->lock);
	if (i < 0)
		return refuse(c, api, STATUS_INVALID_HANDLE,
			      "handle %#lx is no output handle",
			      (unsigned long)(uintptr_t)w->OutputHandle);
	if (err) {
		w->NumBytes = 0;
		return refuse(c, api, errno_status(err), "console log: %s",
			      strerror(err));
	}
	w->NumBytes = n;
	return STATUS_SUCCESS;
}

static NTSTATUS con_read(struct csr_call *c)
{
	static const char api[] = "ConsolepReadConsole";
	CONSOLE_READCONSOLE *r = &c->msg->Data.ReadConsoleRequest;
	struct consrv *cs = consrv_of(c->srv);
	struct csr_wait *w = NULL;
	struct console *con;
	NTSTATUS st = STATUS_SUCCESS;
	int i;

	/* Nobody would receive what a datagram read took. */
	if (c->datagram)
		return refuse(c, api, STATUS_INVALID_PARAMETER,
			      "a read cannot be a datagram");
	if (!io_buffer_ok(c, api, &r->Buffer, r->NumBytes, r->Unicode, true,
			  &st))
		return st;
	if (!cs)
		return STATUS_INVALID_HANDLE;
	pthread_mutex_lock(&cs->lock);
	con = con_of(c->process);
	i = handle_check(con, r->InputHandle, CONSOLE_INPUT_HANDLE_TYPE);
	if (i < 0) {
		st = STATUS_INVALID_HANDLE;
	} else if (con_readable(con) && !con->waits) {
		r->NumBytes = con_take(con, r->Buffer, r->NumBytes,
				       r->Unicode);
	} else if (con->nwaits >= CON_MAX_WAITS) {
		st = STATUS_QUOTA_EXCEEDED;
	} else if (!(w = csr_call_defer(c))) {
		st = STATUS_NO_MEMORY;
	} else {
		w->ctx = (void *)(uintptr_t)i;
		w->next = NULL;
		*con->waits_tail = w;
		con->waits_tail = &w->next;
		con->nwaits++;
		st = STATUS_PENDING;
	}
	pthread_mutex_unlock(&cs->lock);
	switch (st) {
	case STATUS_SUCCESS:
	case STATUS_PENDING:
		return st;
	case STATUS_INVALID_HANDLE:
		return refuse(c, api, st, "handle %#lx is no input handle",
			      (unsigned long)(uintptr_t)r->InputHandle);
	case STATUS_QUOTA_EXCEEDED:
		return refuse(c, api, st, "%d reads already wait",
			      CON_MAX_WAITS);
	default:
		return refuse(c, api, st, "out of memory");
	}
}

static NTSTATUS con_write_input(struct csr_call *c)
{
	static const char api[] = "ConsolepWriteConsoleInput";
	CONSOLE_WRITEINPUT *wi = &c->msg->Data.WriteInputRequest;
	struct consrv *cs = consrv_of(c->srv);
	const unsigned char *p = wi->Buffer;
	struct csr_wait *done = NULL;
	ULONG n = wi->NumBytes, chars, room = 0;
	struct console *con;
	NTSTATUS st;
	int i;

	if (!io_buffer_ok(c, api, &wi->Buffer, n, wi->Unicode, false, &st))
		return st;
	if (!cs)
		return STATUS_INVALID_HANDLE;
	chars = wi->Unicode ? n / 2 : n;
	pthread_mutex_lock(&cs->lock);
	con = con_of(c->process);
	i = handle_check(con, wi->InputHandle, CONSOLE_INPUT_HANDLE_TYPE);
	if (i >= 0) {
		room = CON_INPUT_CHARS - con->in_len;
		if (room > chars)
			room = chars;
		for (ULONG k = 0; k < room; k++)
			con->input[con->in_len + k] =
				wi->Unicode ? get_wchar(p, k) : p[k];
		con->in_len += room;
		con_wake(con, &done);
	}
	pthread_mutex_unlock(&cs->lock);
	if (i < 0)
		return refuse(c, api, STATUS_INVALID_HANDLE,
			      "handle %#lx is no input handle",
			      (unsigned long)(uintptr_t)wi->InputHandle);
	waits_complete(c->srv, done);
	wi->NumBytes = wi->Unicode ? 2 * room : room;
	return STATUS_SUCCESS;
}

/* ------------------------------------------------------------------ */
/* The DLL                                                             */
/* ------------------------------------------------------------------ */

static NTSTATUS consrv_connect(struct csr_call *c, void *info, ULONG *len)
{
	struct consrv *cs = consrv_of(c->srv);
	CONSRV_API_CONNECTINFO ci = { 0 };
	struct console *con;

	if (!info || !len || *len != sizeof(ci))
		return refuse(c, "CONSRV connect", STATUS_INVALID_PARAMETER,
			      "connection info of %u bytes",
			      len ? (unsigned)*len : 0);
	if (cs) {
		pthread_mutex_lock(&cs->lock);
		con = con_of(c->process);
		for (unsigned i = 0; con && i < CON_MAX_HANDLES; i++)
			if (con->handles[i] == CONSOLE_OUTPUT_HANDLE_TYPE) {
				ci.ConsoleHandle = handle_value(i);
				break;
			}
		ci.ConsoleCount = cs->count;
		pthread_mutex_unlock(&cs->lock);
	}
	memcpy(info, &ci, sizeof(ci));
	return STATUS_SUCCESS;
}

/* csrd destroyed the process (death, exit, EndTask): its console goes,
 * and its waiting reads are dropped without a reply.  Runs once, with no
 * lock held. */
static void consrv_disconnect(struct csr_server *s, struct csr_process *p)
{
	struct consrv *cs = consrv_of(s);
	struct csr_wait *dropped = NULL;
	struct console *con;

	if (!cs || !p)
		return;
	pthread_mutex_lock(&cs->lock);
	con = con_of(p);
	if (con)
		con_destroy(cs, con, STATUS_CANCELLED, &dropped);
	p->dll_data[CON_INDEX] = CON_GONE;
	pthread_mutex_unlock(&cs->lock);
	waits_abandon(s, dropped);
}

static int consrv_init(struct csr_server *s)
{
	struct consrv *cs = calloc(1, sizeof(*cs));

	if (!cs)
		return -ENOMEM;
	pthread_mutex_init(&cs->lock, NULL);
	s->dlls[CON_INDEX].state = cs;
	return 0;
}

/* Shutdown.  The core destroys every process first, so normally nothing
 * is left; a console still listed belongs to a process not destroyed yet,
 * whose record (the table holds it) is still there to be detached. */
static void consrv_fini(struct csr_server *s)
{
	struct consrv *cs = consrv_of(s);
	struct csr_wait *dropped = NULL;

	if (!cs)
		return;
	pthread_mutex_lock(&cs->lock);
	while (cs->consoles) {
		struct console *con = cs->consoles;

		con->process->dll_data[CON_INDEX] = NULL;
		con_destroy(cs, con, STATUS_CANCELLED, &dropped);
	}
	pthread_mutex_unlock(&cs->lock);
	waits_abandon(s, dropped);
	s->dlls[CON_INDEX].state = NULL;
	pthread_mutex_destroy(&cs->lock);
	free(cs);
}

static const struct csr_api_impl consrv_apis[] = {
	{ "ConsolepAlloc", con_alloc },
	{ "ConsolepFree", con_free },
	{ "ConsolepOpenConsole", con_open },
	{ "ConsolepCloseHandle", con_close },
	{ "ConsolepGetTitle", con_get_title },
	{ "ConsolepSetTitle", con_set_title },
	{ "ConsolepGetMode", con_get_mode },
	{ "ConsolepSetMode", con_set_mode },
	{ "ConsolepWriteConsole", con_write },
	{ "ConsolepReadConsole", con_read },
	{ "ConsolepWriteConsoleInput", con_write_input },
	{ NULL, NULL },
};

const struct csr_dll_impl csr_consrv_dll = {
	.name = "CONSRV",
	.index = CONSRV_SERVERDLL_INDEX,
	.apis = consrv_apis,
	.init = consrv_init,
	.fini = consrv_fini,
	.connect = consrv_connect,
	.disconnect = consrv_disconnect,
};
