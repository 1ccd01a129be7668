/* SPDX-License-Identifier: MIT */
/* Names for the numbers in lpctrace records (see decode.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <lpc/lpc.h>

#include "decode.h"
#include "err.h"
#include "profile.h"
#include "status_names.h"

#define D ARG_DEC
#define H ARG_HEX

/* The argument names are the stable field names of NDJSON (docs/lpctrace-formats.md). */
static const struct probe_desc probes[LPCT_P_MAX] = {
	[LPCT_P_PORT_CREATE] = { "lpc", "port_create", 7,
		{ "port", "handle", "kind", "name", "domain", "max_msg",
		  "max_info" },
		{ H, H, ARG_PORT_KIND, ARG_STR, H, D, D } },
	[LPCT_P_PORT_CLOSE] = { "lpc", "port_close", 3,
		{ "port", "kind", "domain" }, { H, ARG_PORT_KIND, H } },
	[LPCT_P_CONNECT_REQUEST] = { "lpc", "connect_request", 4,
		{ "name", "msgid", "info_len", "view_size" },
		{ ARG_STR, D, D, D } },
	[LPCT_P_CONNECT_DONE] = { "lpc", "connect_done", 4,
		{ "name", "msgid", "port", "status" },
		{ ARG_STR, D, H, ARG_STATUS } },
	[LPCT_P_LISTEN] = { "lpc", "listen", 2, { "port", "status" },
		{ H, ARG_STATUS } },
	[LPCT_P_ACCEPT] = { "lpc", "accept", 7,
		{ "msgid", "client_pid", "client_tid", "accepted", "handle",
		  "context", "status" },
		{ D, D, D, ARG_BOOL, H, H, ARG_STATUS } },
	[LPCT_P_COMPLETE] = { "lpc", "complete", 3,
		{ "port", "handle", "status" }, { H, H, ARG_STATUS } },
	[LPCT_P_SEND] = { "lpc", "send", 8,
		{ "port", "type", "msgid", "callback_id", "data_len",
		  "total_len", "msg", "status" },
		{ H, ARG_TYPE, D, D, D, D, H, ARG_STATUS } },
	[LPCT_P_RECEIVE] = { "lpc", "receive", 10,
		{ "port", "type", "msgid", "callback_id", "client_pid",
		  "client_tid", "data_len", "total_len", "msg", "context" },
		{ H, ARG_TYPE, D, D, D, D, D, D, H, H } },
	[LPCT_P_REPLY] = { "lpc", "reply", 8,
		{ "port", "msgid", "callback_id", "client_pid", "client_tid",
		  "data_len", "msg", "status" },
		{ H, D, D, D, D, D, H, ARG_STATUS } },
	[LPCT_P_WAIT_BEGIN] = { "lpc", "wait_begin", 4,
		{ "domain", "wait", "msgid", "wait_tid" },
		{ H, ARG_WAIT_KIND, D, D } },
	[LPCT_P_WAIT_END] = { "lpc", "wait_end", 5,
		{ "domain", "wait", "msgid", "done", "error" },
		{ H, ARG_WAIT_KIND, D, ARG_BOOL, ARG_ERR } },
	[LPCT_P_REQUEST_DATA] = { "lpc", "request_data", 6,
		{ "handle", "msg", "index", "length", "write", "status" },
		{ H, H, D, D, ARG_BOOL, ARG_STATUS } },
	[LPCT_P_IMPERSONATE] = { "lpc", "impersonate", 3,
		{ "handle", "msg", "status" }, { H, H, ARG_STATUS } },
	[LPCT_P_REVERT] = { "lpc", "revert", 1, { "status" },
		{ ARG_STATUS } },
	[LPCT_P_EXCEPTION] = { "lpc", "exception", 5,
		{ "port", "fault_tid", "signal", "address", "verdict" },
		{ H, D, ARG_SIGNO, H, ARG_STATUS } },
	[LPCT_P_VIEW] = { "lpc", "view", 5,
		{ "port", "which", "base", "length", "mapped" },
		{ H, D, H, D, ARG_BOOL } },
	[LPCT_P_CSR_CONNECT] = { "csrd", "connect", 4,
		{ "client_pid", "client_tid", "msgid", "accepted" },
		{ D, D, D, ARG_BOOL } },
	[LPCT_P_CSR_API] = { "csrd", "api", 8,
		{ "client_pid", "client_tid", "api_number", "msgid", "status",
		  "reply_code", "capture", "msg" },
		{ D, D, ARG_API, D, ARG_STATUS, ARG_REPLY_CODE, ARG_CAPTURE,
		  H } },
};

const struct probe_desc *decode__probe(unsigned probe)
{
	if (probe == 0 || probe >= LPCT_P_MAX)
		return NULL;
	return &probes[probe];
}

int decode__probe_by_name(const char *name)
{
	const char *colon = strchr(name, ':');

	for (unsigned i = 1; i < LPCT_P_MAX; i++) {
		const struct probe_desc *d = &probes[i];

		if (colon) {
			size_t n = (size_t)(colon - name);

			if (strlen(d->provider) == n &&
			    !strncmp(d->provider, name, n) &&
			    !strcmp(d->name, colon + 1))
				return (int)i;
		} else if (!strcmp(d->name, name)) {
			return (int)i;
		}
	}
	return -1;
}

static const char *const type_names[] = {
	[LPC_NEW_MESSAGE] = "LPC_NEW_MESSAGE",
	[LPC_REQUEST] = "LPC_REQUEST",
	[LPC_REPLY] = "LPC_REPLY",
	[LPC_DATAGRAM] = "LPC_DATAGRAM",
	[LPC_LOST_REPLY] = "LPC_LOST_REPLY",
	[LPC_PORT_CLOSED] = "LPC_PORT_CLOSED",
	[LPC_CLIENT_DIED] = "LPC_CLIENT_DIED",
	[LPC_EXCEPTION] = "LPC_EXCEPTION",
	[LPC_DEBUG_EVENT] = "LPC_DEBUG_EVENT",
	[LPC_ERROR_EVENT] = "LPC_ERROR_EVENT",
	[LPC_CONNECTION_REQUEST] = "LPC_CONNECTION_REQUEST",
};

#define NTYPES (sizeof(type_names) / sizeof(type_names[0]))

const char *decode__type_name(unsigned type)
{
	/* The high bits are flags (kernel-mode, ...), not the type. */
	type &= 0x0fff;
	return type < NTYPES ? type_names[type] : NULL;
}

int decode__type_by_name(const char *name)
{
	char *end;
	long v = strtol(name, &end, 0);

	if (*name && !*end)
		return v >= 0 && v < 65536 ? (int)v : -1;
	for (unsigned i = 0; i < NTYPES; i++) {
		if (!type_names[i])
			continue;
		if (!strcasecmp(type_names[i], name) ||
		    !strcasecmp(type_names[i] + 4, name))
			return (int)i;
	}
	/* Short forms: "connect" for LPC_CONNECTION_REQUEST. */
	if (!strcasecmp(name, "connect") || !strcasecmp(name, "connection"))
		return LPC_CONNECTION_REQUEST;
	if (!strcasecmp(name, "closed"))
		return LPC_PORT_CLOSED;
	if (!strcasecmp(name, "died"))
		return LPC_CLIENT_DIED;
	return -1;
}

const char *decode__status_name(int64_t status)
{
	return csr_status_name((NTSTATUS)(int32_t)status);
}

static const char *const lpc_err_names[] = {
	[LPC_EMISMATCH - LPC_EBASE] = "REPLY_MESSAGE_MISMATCH",
	[LPC_EINVALCID - LPC_EBASE] = "INVALID_CID",
	[LPC_ETOOLONG - LPC_EBASE] = "PORT_MESSAGE_TOO_LONG",
	[LPC_EMISALIGNED - LPC_EBASE] = "DATATYPE_MISALIGNMENT",
	[LPC_EPARAM3 - LPC_EBASE] = "INVALID_PARAMETER_3",
	[LPC_EPARAM4 - LPC_EBASE] = "INVALID_PARAMETER_4",
	[LPC_ETYPE - LPC_EBASE] = "OBJECT_TYPE_MISMATCH",
	[LPC_EPORTHANDLE - LPC_EBASE] = "INVALID_PORT_HANDLE",
	[LPC_EDISCONNECTED - LPC_EBASE] = "PORT_DISCONNECTED",
	[LPC_EREPLYLOST - LPC_EBASE] = "LPC_REPLY_LOST",
	[LPC_EREFUSED - LPC_EBASE] = "PORT_CONNECTION_REFUSED",
	[LPC_ENAMEINVALID - LPC_EBASE] = "OBJECT_NAME_INVALID",
	[LPC_EPATHNOTFOUND - LPC_EBASE] = "OBJECT_PATH_NOT_FOUND",
	[LPC_EPATHSYNTAX - LPC_EBASE] = "OBJECT_PATH_SYNTAX_BAD",
	[LPC_EALREADYSET - LPC_EBASE] = "PORT_ALREADY_SET",
	[LPC_ETERMINATING - LPC_EBASE] = "THREAD_IS_TERMINATING",
	[LPC_ESIDMISMATCH - LPC_EBASE] = "SERVER_SID_MISMATCH",
	[LPC_EINFOCLASS - LPC_EBASE] = "INVALID_INFO_CLASS",
	[LPC_EINFOLENGTH - LPC_EBASE] = "INFO_LENGTH_MISMATCH",
	[LPC_EPARTIAL - LPC_EBASE] = "PARTIAL_COPY",
	[LPC_ENOPRIV - LPC_EBASE] = "PRIVILEGE_NOT_HELD",
};

const char *decode__err_name(int64_t err, char *buf, size_t len)
{
	int64_t e = -err;

	if (err == 0)
		return "0";
	if (e > LPC_EBASE && e < LPC_ELAST && lpc_err_names[e - LPC_EBASE])
		return lpc_err_names[e - LPC_EBASE];
	if (e > 0 && e < LPC_EBASE) {
		const char *n = strerrorname_np((int)e);

		if (n)
			return n;
	}
	snprintf(buf, len, "%lld", (long long)err);
	return buf;
}

const char *decode__port_kind_name(unsigned kind)
{
	static const char *const n[] = { "?", "connection", "unconnected",
					 "server", "client" };

	return kind < 5 ? n[kind] : "?";
}

const char *decode__wait_kind_name(unsigned kind)
{
	static const char *const n[] = { "?", "reply", "connect", "data",
					 "view", "receive" };

	return kind < 6 ? n[kind] : "?";
}

const char *decode__reply_code_name(unsigned code)
{
	static const char *const n[] = { "immediate", "pending",
					 "client_died", "already_sent" };

	return code < 4 ? n[code] : "?";
}

const char *decode__drop_name(unsigned drop)
{
	static const char *const names[LPCT_DROP_MAX] = {
		[LPCT_DROP_RINGBUF] = "ringbuf",
		[LPCT_DROP_WAITS] = "waits",
		[LPCT_DROP_HELD] = "held",
		[LPCT_DROP_STATS] = "stats",
		[LPCT_DROP_PORTS] = "ports",
	};

	return drop < LPCT_DROP_MAX && names[drop] ? names[drop] : "?";
}

static const struct csr_profile *profile;

int decode__set_profile(const char *name)
{
	const struct csr_profile *p = csr_profile_find(name);

	if (!p)
		return -1;
	profile = p;
	return 0;
}

static const struct csr_profile *active_profile(void)
{
	return profile ? profile : csr_profiles[0];
}

const char *decode__api_name(uint32_t api_number)
{
	return csr_profile_api_name(active_profile(), api_number);
}

long decode__api_by_name(const char *name)
{
	char *end;
	unsigned long v = strtoul(name, &end, 0);

	if (*name && !*end)
		return v <= 0xffffffffUL ? (long)v : -1;
	return csr_profile_api_number(active_profile(), name);
}

int decode__status_arg(unsigned probe)
{
	switch (probe) {
	case LPCT_P_CONNECT_DONE:
		return 3;
	case LPCT_P_LISTEN:
		return 1;
	case LPCT_P_ACCEPT:
	case LPCT_P_SEND:
	case LPCT_P_REPLY:
		return probe == LPCT_P_ACCEPT ? 6 : 7;
	case LPCT_P_COMPLETE:
	case LPCT_P_IMPERSONATE:
		return 2;
	case LPCT_P_REQUEST_DATA:
		return 5;
	case LPCT_P_REVERT:
		return 0;
	case LPCT_P_CSR_API:
		return 4;
	default:
		return -1;
	}
}

bool decode__failed(const struct lpct_event *e)
{
	int i = decode__status_arg(e->probe);

	if (e->probe == LPCT_P_WAIT_END)
		return e->arg[3] == 0;
	/* Error and warning severities have bit 31 set; success codes
	 * such as STATUS_TIMEOUT are not failures. */
	if (i >= 0)
		return (int32_t)e->arg[i] < 0;
	return false;
}

/* ------------------------------------------------------------------ */
/* Port names                                                          */
/* ------------------------------------------------------------------ */

struct pn_entry {
	uint32_t pid;
	uint64_t key;		/* port or domain address */
	uint64_t domain;	/* a port's domain, when known */
	char name[LPCT_NAME_LEN + 1];
};

struct portnames {
	struct pn_entry *v;
	size_t n, cap;
};

struct portnames *portnames__new(void)
{
	return calloc(1, sizeof(struct portnames));
}

void portnames__free(struct portnames *pn)
{
	if (!pn)
		return;
	free(pn->v);
	free(pn);
}

static struct pn_entry *pn_find(const struct portnames *pn, uint32_t pid,
				uint64_t key)
{
	/* Newest first: addresses are reused after a port is freed. */
	for (size_t i = pn->n; i-- > 0;)
		if (pn->v[i].pid == pid && pn->v[i].key == key)
			return &pn->v[i];
	return NULL;
}

static struct pn_entry *pn_set(struct portnames *pn, uint32_t pid,
			       uint64_t key, const char *name)
{
	struct pn_entry *e;

	if (!key)
		return NULL;
	e = pn_find(pn, pid, key);
	if (!e) {
		if (pn->n == pn->cap) {
			size_t cap = pn->cap ? pn->cap * 2 : 64;
			struct pn_entry *v = realloc(pn->v, cap * sizeof(*v));

			if (!v)
				return NULL;	/* names are a nicety */
			pn->v = v;
			pn->cap = cap;
		}
		e = &pn->v[pn->n++];
		e->pid = pid;
		e->key = key;
		e->domain = 0;
		e->name[0] = '\0';
	}
	if (name[0]) {
		memcpy(e->name, name, LPCT_NAME_LEN);
		e->name[LPCT_NAME_LEN] = '\0';
	}
	return e;
}

/* Records carry the path under $LPC_ROOT ("Windows/ApiPort"); users know
 * the NT name ("\Windows\ApiPort"). */
static void nt_name(const char *rel, char *out)
{
	size_t j = 0;

	out[j++] = '\\';
	for (size_t i = 0; rel[i] && i < LPCT_NAME_LEN && j < LPCT_NAME_LEN;
	     i++)
		out[j++] = rel[i] == '/' ? '\\' : rel[i];
	out[j] = '\0';
}

void portnames__learn(struct portnames *pn, const struct lpct_event *e)
{
	char name[LPCT_NAME_LEN + 1] = "";
	struct pn_entry *pe;

	if (e->name[0])
		nt_name(e->name, name);
	switch (e->probe) {
	case LPCT_P_PORT_CREATE:
		/* Nameless ports too: a client port is named by its
		 * connect_done, which comes after. */
		pe = pn_set(pn, e->pid, (uint64_t)e->arg[0], name);
		if (pe)
			pe->domain = (uint64_t)e->arg[4];
		/* A connection port names its domain (its server ports'
		 * queue); a client port its own. */
		if (name[0] && (e->arg[2] != 3 ||
				!pn_find(pn, e->pid, (uint64_t)e->arg[4] | 1)))
			pn_set(pn, e->pid, (uint64_t)e->arg[4] | 1, name);
		break;
	case LPCT_P_CONNECT_DONE:
		if (!e->arg[2] || !name[0])
			break;
		pe = pn_set(pn, e->pid, (uint64_t)e->arg[2], name);
		if (pe && pe->domain)
			pn_set(pn, e->pid, pe->domain | 1, name);
		break;
	default:
		break;
	}
}

void portnames__add(struct portnames *pn, uint32_t pid, uint64_t port,
		    uint64_t domain, unsigned kind, const char *rel)
{
	char name[LPCT_NAME_LEN + 1] = "";
	struct pn_entry *pe;

	if (rel[0])
		nt_name(rel, name);
	pe = pn_set(pn, pid, port, name);
	if (pe && domain)
		pe->domain = domain;
	if (name[0] && domain &&
	    (kind != 3 || !pn_find(pn, pid, domain | 1)))
		pn_set(pn, pid, domain | 1, name);
}

const char *portnames__port(const struct portnames *pn, uint32_t pid,
			    uint64_t port)
{
	const struct pn_entry *e = port ? pn_find(pn, pid, port) : NULL;

	return e && e->name[0] ? e->name : NULL;
}

/* Domains are keyed with the low bit set: they and ports are both
 * addresses of 8-byte aligned objects, in one table. */
const char *portnames__domain(const struct portnames *pn, uint32_t pid,
			      uint64_t domain)
{
	const struct pn_entry *e = domain ? pn_find(pn, pid, domain | 1) : NULL;

	return e && e->name[0] ? e->name : NULL;
}

const char *portnames__of_event(const struct portnames *pn,
				const struct lpct_event *e)
{
	static char buf[LPCT_NAME_LEN + 1];

	switch (e->probe) {
	case LPCT_P_PORT_CREATE:
	case LPCT_P_CONNECT_REQUEST:
	case LPCT_P_CONNECT_DONE:
		if (!e->name[0])
			return portnames__port(pn, e->pid, (uint64_t)e->arg[0]);
		nt_name(e->name, buf);
		return buf;
	case LPCT_P_PORT_CLOSE:
	case LPCT_P_LISTEN:
	case LPCT_P_COMPLETE:
	case LPCT_P_SEND:
	case LPCT_P_RECEIVE:
	case LPCT_P_REPLY:
	case LPCT_P_EXCEPTION:
	case LPCT_P_VIEW:
		return portnames__port(pn, e->pid, (uint64_t)e->arg[0]);
	case LPCT_P_WAIT_BEGIN:
	case LPCT_P_WAIT_END:
		return portnames__domain(pn, e->pid, (uint64_t)e->arg[0]);
	default:
		return NULL;
	}
}

static const char *hex(int64_t v, char *buf, size_t len)
{
	snprintf(buf, len, "0x%llx", (unsigned long long)v);
	return buf;
}

const char *decode__arg(const struct lpct_event *e, unsigned i, char *buf,
			size_t len)
{
	const struct probe_desc *d = decode__probe(e->probe);
	int64_t v;
	const char *s;

	if (!d || i >= d->nargs)
		return "";
	v = e->arg[i];
	switch (d->fmt[i]) {
	case ARG_HEX:
		return v ? hex(v, buf, len) : "0";
	case ARG_STR:
		if (!e->name[0])
			return v ? "?" : "";
		nt_name(e->name, buf);
		return buf;
	case ARG_STATUS:
		s = decode__status_name(v);
		return s ? s : hex((uint32_t)v, buf, len);
	case ARG_TYPE:
		s = decode__type_name((unsigned)v);
		if (s)
			return s;
		break;
	case ARG_PORT_KIND:
		return decode__port_kind_name((unsigned)v);
	case ARG_WAIT_KIND:
		return decode__wait_kind_name((unsigned)v);
	case ARG_ERR:
		return decode__err_name(v, buf, len);
	case ARG_BOOL:
		return v ? "yes" : "no";
	case ARG_API:
		s = decode__api_name((uint32_t)v);
		if (s) {
			snprintf(buf, len, "%s(0x%x)", s, (unsigned)v);
			return buf;
		}
		return hex((uint32_t)v, buf, len);
	case ARG_CAPTURE:
		if (v == 0)
			return "none";
		if (v == 1)
			return "ok";
		s = decode__status_name(v);
		return s ? s : hex((uint32_t)v, buf, len);
	case ARG_REPLY_CODE:
		return decode__reply_code_name((unsigned)v);
	case ARG_SIGNO:
		s = sigabbrev_np((int)v);
		if (s) {
			snprintf(buf, len, "SIG%s", s);
			return buf;
		}
		break;
	case ARG_DEC:
		break;
	}
	snprintf(buf, len, "%lld", (long long)v);
	return buf;
}
