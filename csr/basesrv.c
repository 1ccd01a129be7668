/* SPDX-License-Identifier: MIT */
/*
 * basesrv.c - BASESRV (server DLL index 1): the kernel32 side of csrd.
 *
 * Process and thread registration, temp-file ids, process exit, shutdown
 * parameters, the system-wide NLS user settings and the DOS device table.
 * Every other BASESRV slot of the profile has no handler and answers
 * STATUS_NOT_IMPLEMENTED through the dispatcher.
 *
 * Everything a handler reads comes from the client: each field is read
 * once, lengths and counts are checked against their bounds before any
 * arithmetic, and a pointer is used only after csr_validate_buffer has
 * shown that it was captured for that very field and covers the bytes
 * read.  The captured data sits in the server's heap copy, which the
 * client can no longer change, but spec 12.6 does not align captured
 * pointers, so strings are copied out with memcpy rather than read as
 * WCHARs in place.
 *
 * Locking: one mutex in struct base_state for the DLL's global state (NLS
 * settings, DOS device table); p->lock for a process's shutdown
 * parameters and dll_data.  The two are never held together.  The
 * temp-file counter is a lone atomic.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "srv.h"
#include "status_names.h"

#define BASE_INDEX BASESRV_SERVERDLL_INDEX

/* Windows' reserved range is 0-0x4FF (applications get 0x100-0x3FF); a
 * process that never set its level is shut down at 0x280. */
#define SHUTDOWN_LEVEL_MAX	0x4ff
#define SHUTDOWN_LEVEL_DEFAULT	0x280

/*
 * DOS device table limits.  The byte cap matters more than the others:
 * without it 256 names x 32 definitions of 64 KiB targets would let any
 * client pin half a gigabyte of csrd's memory.
 */
#define DOS_MAX_NAMES		256
#define DOS_MAX_DEFS		32	/* per name */
#define DOS_MAX_NAME_CHARS	260	/* MAX_PATH */
#define DOS_MAX_TARGET_BYTES	(1u << 20) /* all targets together */
/* Characters of a target shown per definition in the verbose table dump. */
#define DOS_LOG_TARGET_CHARS	64

#define NLS_MAX_VALUE_BYTES (NLS_MAX_VALUE_CHARS * sizeof(WCHAR))

struct dos_def {
	WCHAR *target;		/* not NUL-terminated */
	USHORT len;		/* chars */
	ULONG flags;		/* DDD_RAW_TARGET_PATH as defined */
};

struct dos_name {
	char name[DOS_MAX_NAME_CHARS + 1];	/* ASCII by validation */
	unsigned ndefs;
	struct dos_def defs[DOS_MAX_DEFS];	/* [ndefs - 1]: most recent */
};

struct base_state {
	/* Next id BasepGetTempFile hands out: never 0. */
	ULONG temp_next;

	pthread_mutex_t lock;	/* everything below */
	NLS_USER_INFO nls;
	struct dos_name *names[DOS_MAX_NAMES];
	unsigned nnames;
	size_t target_bytes;	/* sum of every definition's target */
};

/* p->dll_data[BASE_INDEX], made on the first BasepSetProcessShutdownParam
 * (under p->lock, never once p->dead): whether p->shutdown_level/flags
 * hold a set value, since level 0 with no flags is itself a value a
 * process may set. */
struct base_process {
	bool shutdown_set;
};

static struct base_state *base_of(const struct csr_server *s)
{
	return s->dlls[BASE_INDEX].state;
}

/* ------------------------------------------------------------------ */
/* Logging                                                             */
/* ------------------------------------------------------------------ */

static NTSTATUS refuse(struct csr_call *c, const char *api, NTSTATUS st,
		       const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Log a refused call at level 0 ("pid P tid T Api: reason -> STATUS")
 * and return st. */
static NTSTATUS refuse(struct csr_call *c, const char *api, NTSTATUS st,
		       const char *fmt, ...)
{
	const char *name = csr_status_name(st);
	char why[256], hex[16];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (!name) {
		snprintf(hex, sizeof(hex), "0x%08x", (unsigned)st);
		name = hex;
	}
	csr_log(c->srv, 0, "pid %d tid %d %s: %s -> %s",
		c->process ? (int)c->process->pid : 0,
		c->thread ? (int)c->thread->tid : 0, api, why, name);
	return st;
}

/* ------------------------------------------------------------------ */
/* UTF-16 helpers                                                      */
/* ------------------------------------------------------------------ */

static void wset_ascii(WCHAR *dst, size_t cap, const char *src)
{
	size_t i;

	for (i = 0; i + 1 < cap && src[i]; i++)
		dst[i] = (unsigned char)src[i];
	for (; i < cap; i++)
		dst[i] = 0;
}

/* Case folding for names and targets is ASCII-only: device names are
 * ASCII by validation, and targets are NT paths whose non-ASCII
 * characters are compared exactly rather than through a table csrd does
 * not have. */
static WCHAR wfold(WCHAR ch)
{
	return ch >= 'a' && ch <= 'z' ? (WCHAR)(ch - 'a' + 'A') : ch;
}

static bool wcase_eq(const WCHAR *a, const WCHAR *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (wfold(a[i]) != wfold(b[i]))
			return false;
	return true;
}

/* Append up to max chars of w (len chars) to out, non-printable ASCII and
 * non-ASCII as \uXXXX; out always stays NUL-terminated. */
static void wlog(char *out, size_t cap, const WCHAR *w, size_t len, size_t max)
{
	size_t used = strlen(out);

	for (size_t i = 0; i < len && i < max && used + 8 < cap; i++) {
		if (w[i] >= 0x20 && w[i] < 0x7f)
			used += snprintf(out + used, cap - used, "%c",
					 (char)w[i]);
		else
			used += snprintf(out + used, cap - used, "\\u%04x",
					 (unsigned)w[i]);
	}
	if (len > max && used + 4 < cap)
		snprintf(out + used, cap - used, "...");
}

/* ------------------------------------------------------------------ */
/* BasepCreateProcess, BasepCreateThread                               */
/* ------------------------------------------------------------------ */

/* A pid or tid from a CLIENT_ID: 1..INT_MAX, else -1. */
static pid_t cid_value(HANDLE h)
{
	uintptr_t v = (uintptr_t)h;

	return v >= 1 && v <= INT_MAX ? (pid_t)v : -1;
}

static NTSTATUS base_create_process(struct csr_call *c)
{
	static const char api[] = "BasepCreateProcess";
	const BASE_CREATE_PROCESS *r = &c->msg->Data.CreateProcessRequest;
	HANDLE hp = r->ClientId.UniqueProcess, ht = r->ClientId.UniqueThread;
	pid_t pid = cid_value(hp), tid = cid_value(ht);
	NTSTATUS st;

	if (pid < 0 || tid < 0)
		return refuse(c, api, STATUS_INVALID_PARAMETER,
			      "ClientId %#lx.%#lx out of range",
			      (unsigned long)(uintptr_t)hp,
			      (unsigned long)(uintptr_t)ht);
	/* ProcessHandle, ThreadHandle, CreationFlags and VdmBinaryType
	 * describe an NT process creation that has no Linux counterpart:
	 * the child already exists when its parent announces it. */
	st = csr_process_register(c->srv, c->process, pid, tid);
	if (st != STATUS_SUCCESS)
		return refuse(c, api, st, "pid %d tid %d not registered",
			      (int)pid, (int)tid);
	return STATUS_SUCCESS;
}

static NTSTATUS base_create_thread(struct csr_call *c)
{
	static const char api[] = "BasepCreateThread";
	const BASE_CREATE_THREAD *r = &c->msg->Data.CreateThreadRequest;
	HANDLE hp = r->ClientId.UniqueProcess, ht = r->ClientId.UniqueThread;
	pid_t tid = cid_value(ht);
	NTSTATUS st;

	/* Only a process's own threads: registering another process's
	 * thread would let it speak for that process. */
	if (!c->process || (uintptr_t)hp != (uintptr_t)c->process->pid)
		return refuse(c, api, STATUS_ACCESS_DENIED,
			      "UniqueProcess %#lx is not the caller",
			      (unsigned long)(uintptr_t)hp);
	if (tid < 0)
		return refuse(c, api, STATUS_INVALID_PARAMETER,
			      "UniqueThread %#lx out of range",
			      (unsigned long)(uintptr_t)ht);
	st = csr_thread_register(c->srv, c->process, tid);
	if (st != STATUS_SUCCESS)
		return refuse(c, api, st, "thread %d not registered",
			      (int)tid);
	return STATUS_SUCCESS;
}

/* ------------------------------------------------------------------ */
/* BasepGetTempFile, BasepExitProcess                                  */
/* ------------------------------------------------------------------ */

/* Unique across every client and thread until the 32-bit space wraps;
 * 0 is skipped because to GetTempFileName a unique number of 0 means
 * "none given". */
static ULONG temp_id_next(struct base_state *b)
{
	ULONG id = __atomic_load_n(&b->temp_next, __ATOMIC_RELAXED), next;

	do {
		next = id + 1 ? id + 1 : 1;
	} while (!__atomic_compare_exchange_n(&b->temp_next, &id, next, true,
					      __ATOMIC_RELAXED,
					      __ATOMIC_RELAXED));
	return id;
}

static NTSTATUS base_get_temp_file(struct csr_call *c)
{
	BASE_GET_TEMP_FILE *r = &c->msg->Data.GetTempFileRequest;

	r->UniqueId = temp_id_next(base_of(c->srv));
	return STATUS_SUCCESS;
}

static NTSTATUS base_exit_process(struct csr_call *c)
{
	csr_log(c->srv, 1, "pid %d tid %d BasepExitProcess: exit code 0x%08x",
		c->process ? (int)c->process->pid : 0,
		c->thread ? (int)c->thread->tid : 0,
		(unsigned)c->msg->Data.ExitProcessRequest.uExitCode);
	/* The dispatcher replies first, then forgets the process: its
	 * death notices would only arrive later, if at all. */
	c->reply = CsrReplyDeadClient;
	return STATUS_SUCCESS;
}

/* ------------------------------------------------------------------ */
/* Shutdown parameters                                                 */
/* ------------------------------------------------------------------ */

static NTSTATUS base_set_shutdown(struct csr_call *c)
{
	static const char api[] = "BasepSetProcessShutdownParam";
	const BASE_GETSET_PROCESS_SHUTDOWN_PARAMS *r =
		&c->msg->Data.ShutdownParametersRequest;
	ULONG level = r->ShutdownLevel, flags = r->ShutdownFlags;
	struct csr_process *p = c->process;
	struct base_process *bp;

	if (level > SHUTDOWN_LEVEL_MAX)
		return refuse(c, api, STATUS_INVALID_PARAMETER,
			      "ShutdownLevel %#x > %#x", (unsigned)level,
			      SHUTDOWN_LEVEL_MAX);
	if (flags & ~(ULONG)SHUTDOWN_NORETRY)
		return refuse(c, api, STATUS_INVALID_PARAMETER,
			      "ShutdownFlags %#x has unknown bits",
			      (unsigned)flags);
	if (!p)
		return refuse(c, api, STATUS_INVALID_PARAMETER,
			      "no calling process");
	pthread_mutex_lock(&p->lock);
	/* Destroyed while this call ran: base_disconnect has been, or is
	 * about to be, and would never free a new allocation. */
	if (p->dead) {
		pthread_mutex_unlock(&p->lock);
		return refuse(c, api, STATUS_PROCESS_IS_TERMINATING,
			      "the process is being destroyed");
	}
	bp = p->dll_data[BASE_INDEX];
	if (!bp) {
		bp = calloc(1, sizeof(*bp));
		if (!bp) {
			pthread_mutex_unlock(&p->lock);
			return refuse(c, api, STATUS_NO_MEMORY,
				      "no memory for process data");
		}
		p->dll_data[BASE_INDEX] = bp;
	}
	p->shutdown_level = level;
	p->shutdown_flags = flags;
	bp->shutdown_set = true;
	pthread_mutex_unlock(&p->lock);
	return STATUS_SUCCESS;
}

static NTSTATUS base_get_shutdown(struct csr_call *c)
{
	BASE_GETSET_PROCESS_SHUTDOWN_PARAMS *r =
		&c->msg->Data.ShutdownParametersRequest;
	struct csr_process *p = c->process;
	const struct base_process *bp;
	ULONG level = SHUTDOWN_LEVEL_DEFAULT, flags = 0;

	if (!p)
		return refuse(c, "BasepGetProcessShutdownParam",
			      STATUS_INVALID_PARAMETER, "no calling process");
	pthread_mutex_lock(&p->lock);
	bp = p->dll_data[BASE_INDEX];
	if (bp && bp->shutdown_set) {
		level = p->shutdown_level;
		flags = p->shutdown_flags;
	}
	pthread_mutex_unlock(&p->lock);
	r->ShutdownLevel = level;
	r->ShutdownFlags = flags;
	return STATUS_SUCCESS;
}

/* ------------------------------------------------------------------ */
/* NLS user settings                                                   */
/* ------------------------------------------------------------------ */

static void nls_defaults(NLS_USER_INFO *n)
{
	memset(n, 0, sizeof(*n));
	wset_ascii(n->sDecimal, NLS_MAX_VALUE_CHARS, ".");
	wset_ascii(n->sThousand, NLS_MAX_VALUE_CHARS, ",");
	wset_ascii(n->sList, NLS_MAX_VALUE_CHARS, ";");
	wset_ascii(n->sTimeFormat, NLS_MAX_VALUE_CHARS, "HH:mm:ss");
	wset_ascii(n->sShortDate, NLS_MAX_VALUE_CHARS, "M/d/yyyy");
	wset_ascii(n->sLongDate, NLS_MAX_VALUE_CHARS, "dddd, MMMM d, yyyy");
	wset_ascii(n->sCurrency, NLS_MAX_VALUE_CHARS, "$");
	n->UserLocaleId = 0x409;	/* en-US */
}

/* The field of n an LCTYPE sets, or NULL for one csrd does not keep. */
static WCHAR *nls_field(NLS_USER_INFO *n, ULONG lctype)
{
	switch (lctype) {
	case LOCALE_SDECIMAL:
		return n->sDecimal;
	case LOCALE_STHOUSAND:
		return n->sThousand;
	case LOCALE_SLIST:
		return n->sList;
	case LOCALE_STIMEFORMAT:
		return n->sTimeFormat;
	case LOCALE_SSHORTDATE:
		return n->sShortDate;
	case LOCALE_SLONGDATE:
		return n->sLongDate;
	case LOCALE_SCURRENCY:
		return n->sCurrency;
	default:
		return NULL;
	}
}

static NTSTATUS base_nls_set(struct csr_call *c)
{
	static const char api[] = "BasepNlsSetUserInfo";
	BASE_NLS_SET_USER_INFO *r = &c->msg->Data.NlsSetUserInfo;
	ULONG lctype = r->LCType, bytes = r->DataLength, chars;
	struct base_state *b = base_of(c->srv);
	WCHAR value[NLS_MAX_VALUE_CHARS];
	ULONG n;
	WCHAR *field;

	if (!nls_field(&b->nls, lctype))
		return refuse(c, api, STATUS_INVALID_PARAMETER,
			      "LCType %#x is not one csrd keeps",
			      (unsigned)lctype);
	if (bytes < sizeof(WCHAR) || bytes > NLS_MAX_VALUE_BYTES ||
	    bytes % sizeof(WCHAR))
		return refuse(c, api, STATUS_INVALID_PARAMETER,
			      "DataLength %u not even in 2..%zu",
			      (unsigned)bytes, NLS_MAX_VALUE_BYTES);
	chars = bytes / sizeof(WCHAR);
	if (!csr_validate_buffer(c, &r->pData, chars, sizeof(WCHAR)))
		return refuse(c, api, STATUS_INVALID_PARAMETER,
			      "pData does not hold %u captured bytes",
			      (unsigned)bytes);
	memcpy(value, r->pData, bytes);
	for (n = 0; n < chars && value[n]; n++)
		;
	if (n == chars)
		return refuse(c, api, STATUS_INVALID_PARAMETER,
			      "pData has no NUL within %u bytes",
			      (unsigned)bytes);
	pthread_mutex_lock(&b->lock);
	field = nls_field(&b->nls, lctype);
	memset(field, 0, NLS_MAX_VALUE_BYTES);
	memcpy(field, value, (n + 1) * sizeof(WCHAR));
	b->nls.ulCacheUpdateCount++;
	pthread_mutex_unlock(&b->lock);
	return STATUS_SUCCESS;
}

static NTSTATUS base_nls_get(struct csr_call *c)
{
	static const char api[] = "BasepNlsGetUserInfo";
	BASE_NLS_GET_USER_INFO *r = &c->msg->Data.NlsGetUserInfo;
	ULONG size = r->SizeOfNlsUserInfo;
	struct base_state *b = base_of(c->srv);

	if (size != sizeof(NLS_USER_INFO))
		return refuse(c, api, STATUS_INVALID_PARAMETER,
			      "SizeOfNlsUserInfo %u != %zu", (unsigned)size,
			      sizeof(NLS_USER_INFO));
	if (!csr_validate_buffer(c, &r->NlsUserInfo, 1, sizeof(NLS_USER_INFO)))
		return refuse(c, api, STATUS_INVALID_PARAMETER,
			      "NlsUserInfo does not hold %zu captured bytes",
			      sizeof(NLS_USER_INFO));
	/* The capture copy goes back to the client after the reply is
	 * built, so writing it is how the data reaches the caller. */
	pthread_mutex_lock(&b->lock);
	memcpy(r->NlsUserInfo, &b->nls, sizeof(NLS_USER_INFO));
	pthread_mutex_unlock(&b->lock);
	return STATUS_SUCCESS;
}

/* ------------------------------------------------------------------ */
/* DOS devices                                                         */
/* ------------------------------------------------------------------ */

static bool dos_name_char(WCHAR ch)
{
	return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
	       (ch >= '0' && ch <= '9') || ch == '$' || ch == '_' ||
	       ch == '-' || ch == ':';
}

/* Caller holds b->lock. */
static int dos_find(const struct base_state *b, const char *name)
{
	for (unsigned i = 0; i < b->nnames; i++)
		if (!strcasecmp(b->names[i]->name, name))
			return (int)i;
	return -1;
}

/* Caller holds b->lock.  One line per definition, most recent first;
 * names and targets are cut short so that a line fits csr_log's 512
 * bytes even when every char of the target needs an escape. */
static void dos_log_table(struct csr_server *s, const struct base_state *b)
{
	char t[DOS_LOG_TARGET_CHARS * 6 + 8];

	if (s->opt.verbose < 1)
		return;
	csr_log(s, 1, "BasepDefineDosDevice: table: %u name(s), %zu target "
		"byte(s)", b->nnames, b->target_bytes);
	for (unsigned i = 0; i < b->nnames; i++) {
		const struct dos_name *d = b->names[i];

		for (unsigned j = d->ndefs; j-- > 0;) {
			t[0] = 0;
			wlog(t, sizeof(t), d->defs[j].target, d->defs[j].len,
			     DOS_LOG_TARGET_CHARS);
			csr_log(s, 1, "BasepDefineDosDevice: table: %.64s%s "
				"#%u -> \"%s\"%s", d->name,
				strlen(d->name) > 64 ? "..." : "", j, t,
				d->defs[j].flags & DDD_RAW_TARGET_PATH ?
					" (raw)" : "");
		}
	}
}

/* Index of the definition a remove takes, or -1.  Per DefineDosDevice's
 * documentation: exact match, else the target given as a prefix of the
 * definition, else (no target) the most recent; searched from the most
 * recent down. */
static int dos_pick(const struct dos_name *d, const WCHAR *t, size_t tlen,
		    bool exact)
{
	for (unsigned j = d->ndefs; j-- > 0;) {
		const struct dos_def *def = &d->defs[j];

		if (exact) {
			if (def->len == tlen && wcase_eq(def->target, t, tlen))
				return (int)j;
		} else if (def->len >= tlen && wcase_eq(def->target, t, tlen)) {
			return (int)j;
		}
	}
	return -1;
}

static NTSTATUS dos_remove(struct csr_call *c, const char *name,
			   const WCHAR *t, size_t tlen, bool exact)
{
	static const char api[] = "BasepDefineDosDevice";
	struct base_state *b = base_of(c->srv);
	struct dos_name *d;
	int i, j;

	pthread_mutex_lock(&b->lock);
	i = dos_find(b, name);
	if (i < 0) {
		pthread_mutex_unlock(&b->lock);
		return refuse(c, api, STATUS_OBJECT_NAME_NOT_FOUND,
			      "%s is not defined", name);
	}
	d = b->names[i];
	j = dos_pick(d, t, tlen, exact);
	if (j < 0) {
		pthread_mutex_unlock(&b->lock);
		return refuse(c, api, STATUS_OBJECT_NAME_NOT_FOUND,
			      "%s has no definition %s the target given",
			      name, exact ? "equal to" : "starting with");
	}
	b->target_bytes -= d->defs[j].len * sizeof(WCHAR);
	free(d->defs[j].target);
	memmove(&d->defs[j], &d->defs[j + 1],
		(d->ndefs - (unsigned)j - 1) * sizeof(d->defs[0]));
	d->ndefs--;
	if (!d->ndefs) {
		free(d);
		b->names[i] = b->names[--b->nnames];
		b->names[b->nnames] = NULL;
	}
	dos_log_table(c->srv, b);
	pthread_mutex_unlock(&b->lock);
	return STATUS_SUCCESS;
}

/* Takes target (malloc'd) over on success. */
static NTSTATUS dos_define(struct csr_call *c, const char *name, WCHAR *target,
			   size_t tlen, ULONG flags)
{
	static const char api[] = "BasepDefineDosDevice";
	struct base_state *b = base_of(c->srv);
	struct dos_name *d = NULL;
	struct dos_def *def;
	size_t bytes = tlen * sizeof(WCHAR);
	int i;

	pthread_mutex_lock(&b->lock);
	if (bytes > DOS_MAX_TARGET_BYTES - b->target_bytes) {
		pthread_mutex_unlock(&b->lock);
		return refuse(c, api, STATUS_QUOTA_EXCEEDED,
			      "%zu target bytes in use, %zu more exceed %u",
			      b->target_bytes, bytes, DOS_MAX_TARGET_BYTES);
	}
	i = dos_find(b, name);
	if (i >= 0) {
		d = b->names[i];
		if (d->ndefs >= DOS_MAX_DEFS) {
			pthread_mutex_unlock(&b->lock);
			return refuse(c, api, STATUS_QUOTA_EXCEEDED,
				      "%s already has %u definitions", name,
				      DOS_MAX_DEFS);
		}
	} else {
		if (b->nnames >= DOS_MAX_NAMES) {
			pthread_mutex_unlock(&b->lock);
			return refuse(c, api, STATUS_QUOTA_EXCEEDED,
				      "table already has %u names",
				      DOS_MAX_NAMES);
		}
		d = calloc(1, sizeof(*d));
		if (!d) {
			pthread_mutex_unlock(&b->lock);
			return refuse(c, api, STATUS_NO_MEMORY,
				      "no memory for %s", name);
		}
		/* name fits: its length was checked against the array. */
		strcpy(d->name, name);
		b->names[b->nnames++] = d;
	}
	def = &d->defs[d->ndefs++];
	def->target = target;
	def->len = (USHORT)tlen;
	def->flags = flags & DDD_RAW_TARGET_PATH;
	b->target_bytes += bytes;
	dos_log_table(c->srv, b);
	pthread_mutex_unlock(&b->lock);
	return STATUS_SUCCESS;
}

/* Check a UNICODE_STRING of the message whose Buffer must have been
 * captured for Length bytes (MaximumLength only bounds Length: the server
 * never reads past Length, so only those bytes need to be captured). */
static bool ustr_valid(struct csr_call *c, const char *api, const char *what,
		       UNICODE_STRING *u, NTSTATUS *st)
{
	USHORT len = u->Length, max = u->MaximumLength;

	*st = STATUS_INVALID_PARAMETER;
	if (len > max) {
		refuse(c, api, STATUS_INVALID_PARAMETER,
		       "%s.Length %u > MaximumLength %u", what, len, max);
		return false;
	}
	if (len % sizeof(WCHAR)) {
		refuse(c, api, STATUS_INVALID_PARAMETER,
		       "%s.Length %u is odd", what, len);
		return false;
	}
	if (!csr_validate_buffer(c, &u->Buffer, len / sizeof(WCHAR),
				 sizeof(WCHAR))) {
		refuse(c, api, STATUS_INVALID_PARAMETER,
		       "%s.Buffer does not hold %u captured bytes", what, len);
		return false;
	}
	return true;
}

static NTSTATUS base_define_dos_device(struct csr_call *c)
{
	static const char api[] = "BasepDefineDosDevice";
	BASE_DEFINE_DOS_DEVICE *r = &c->msg->Data.DefineDosDeviceRequest;
	const ULONG known = DDD_RAW_TARGET_PATH | DDD_REMOVE_DEFINITION |
			    DDD_EXACT_MATCH_ON_REMOVE | DDD_NO_BROADCAST_SYSTEM;
	ULONG flags = r->Flags;
	WCHAR wname[DOS_MAX_NAME_CHARS];
	char name[DOS_MAX_NAME_CHARS + 1];
	size_t nlen, tlen;
	WCHAR *target = NULL;
	NTSTATUS st;

	if (flags & ~known)
		return refuse(c, api, STATUS_INVALID_PARAMETER,
			      "Flags %#x has unknown bits", (unsigned)flags);
	if (!ustr_valid(c, api, "DeviceName", &r->DeviceName, &st) ||
	    !ustr_valid(c, api, "TargetPath", &r->TargetPath, &st))
		return st;
	nlen = r->DeviceName.Length / sizeof(WCHAR);
	tlen = r->TargetPath.Length / sizeof(WCHAR);
	if (!nlen || nlen > DOS_MAX_NAME_CHARS)
		return refuse(c, api, STATUS_OBJECT_NAME_INVALID,
			      "DeviceName has %zu chars, not 1..%u", nlen,
			      DOS_MAX_NAME_CHARS);
	memcpy(wname, r->DeviceName.Buffer, nlen * sizeof(WCHAR));
	for (size_t i = 0; i < nlen; i++) {
		if (!dos_name_char(wname[i]))
			return refuse(c, api, STATUS_OBJECT_NAME_INVALID,
				      "DeviceName char %zu is U+%04X", i,
				      (unsigned)wname[i]);
		name[i] = (char)wname[i];
	}
	name[nlen] = 0;
	if (tlen) {
		target = malloc(tlen * sizeof(WCHAR));
		if (!target)
			return refuse(c, api, STATUS_NO_MEMORY,
				      "no memory for a %zu-char target", tlen);
		memcpy(target, r->TargetPath.Buffer, tlen * sizeof(WCHAR));
	}
	if (flags & DDD_REMOVE_DEFINITION) {
		st = dos_remove(c, name, target, tlen,
				flags & DDD_EXACT_MATCH_ON_REMOVE);
		free(target);
		return st;
	}
	if (!tlen)
		return refuse(c, api, STATUS_INVALID_PARAMETER,
			      "defining %s with an empty TargetPath", name);
	st = dos_define(c, name, target, tlen, flags);
	if (st != STATUS_SUCCESS)
		free(target);
	return st;
}

/* ------------------------------------------------------------------ */
/* The DLL                                                             */
/* ------------------------------------------------------------------ */

static NTSTATUS base_connect(struct csr_call *c, void *info, ULONG *len)
{
	static const char api[] = "BASESRV connect";
	BASESRV_API_CONNECTINFO ci;

	if (!info || !len || *len != sizeof(ci))
		return refuse(c, api, STATUS_INVALID_PARAMETER,
			      "ConnectionInfo of %u bytes, not %zu",
			      len ? (unsigned)*len : 0, sizeof(ci));
	/* The copy lies in the capture buffer, with no promise of
	 * alignment. */
	memcpy(&ci, info, sizeof(ci));
	if (ci.ExpectedVersion != BASESRV_VERSION)
		return refuse(c, api, STATUS_REVISION_MISMATCH,
			      "ExpectedVersion %#x, not %#x",
			      (unsigned)ci.ExpectedVersion, BASESRV_VERSION);
	/* The id the next BasepGetTempFile will hand out. */
	ci.TempFileCounter =
		__atomic_load_n(&base_of(c->srv)->temp_next, __ATOMIC_RELAXED);
	ci.SessionId = 0;
	memcpy(info, &ci, sizeof(ci));
	return STATUS_SUCCESS;
}

/* Runs once, when csrd destroys p; calls of p may still be running, so
 * under p->lock (p->dead, already set, keeps base_set_shutdown from
 * allocating again). */
static void base_disconnect(struct csr_server *s, struct csr_process *p)
{
	void *bp;

	(void)s;
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	bp = p->dll_data[BASE_INDEX];
	p->dll_data[BASE_INDEX] = NULL;
	pthread_mutex_unlock(&p->lock);
	free(bp);
}

static int base_init(struct csr_server *s)
{
	struct base_state *b = calloc(1, sizeof(*b));
	int err;

	if (!b)
		return -ENOMEM;
	err = pthread_mutex_init(&b->lock, NULL);
	if (err) {
		free(b);
		return -err;
	}
	b->temp_next = 1;
	nls_defaults(&b->nls);
	s->dlls[BASE_INDEX].state = b;
	return 0;
}

static void base_fini(struct csr_server *s)
{
	struct base_state *b = s->dlls[BASE_INDEX].state;

	if (!b)
		return;
	for (unsigned i = 0; i < b->nnames; i++) {
		for (unsigned j = 0; j < b->names[i]->ndefs; j++)
			free(b->names[i]->defs[j].target);
		free(b->names[i]);
	}
	pthread_mutex_destroy(&b->lock);
	free(b);
	s->dlls[BASE_INDEX].state = NULL;
}

static const struct csr_api_impl base_apis[] = {
	{ "BasepCreateProcess", base_create_process },
	{ "BasepCreateThread", base_create_thread },
	{ "BasepGetTempFile", base_get_temp_file },
	{ "BasepExitProcess", base_exit_process },
	{ "BasepSetProcessShutdownParam", base_set_shutdown },
	{ "BasepGetProcessShutdownParam", base_get_shutdown },
	{ "BasepNlsSetUserInfo", base_nls_set },
	{ "BasepNlsGetUserInfo", base_nls_get },
	{ "BasepDefineDosDevice", base_define_dos_device },
	{ NULL, NULL },
};

const struct csr_dll_impl csr_basesrv_dll = {
	.name = "BASESRV",
	.index = BASE_INDEX,
	.apis = base_apis,
	.init = base_init,
	.fini = base_fini,
	.connect = base_connect,
	.disconnect = base_disconnect,
};
