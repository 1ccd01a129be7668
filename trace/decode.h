/* SPDX-License-Identifier: MIT */
/*
 * Turning records into names: probes and their argument names (the stable
 * field names of every output format), message types, NTSTATUS names, CSR
 * API names from the active profile, and port names learned from the
 * trace itself (port_create, connect_*).
 */
#ifndef LPCTRACE_DECODE_H
#define LPCTRACE_DECODE_H

#include <linux/types.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "lpctrace.h"

/* How an argument is shown. */
enum arg_fmt {
	ARG_DEC,	/* signed decimal */
	ARG_HEX,	/* address, handle, context: 0x... */
	ARG_STR,	/* the string in event.name (the argument is its address) */
	ARG_STATUS,	/* NTSTATUS */
	ARG_TYPE,	/* PORT_MESSAGE type */
	ARG_PORT_KIND,	/* 1 connection .. 4 client */
	ARG_WAIT_KIND,	/* enum lpct_wait_kind */
	ARG_ERR,	/* 0, -errno, or one of the engine's -LPC_E* codes */
	ARG_BOOL,
	ARG_API,	/* CSR ApiNumber */
	ARG_CAPTURE,	/* csrd:api capture verdict: 0, 1, or a status */
	ARG_REPLY_CODE,	/* csrd:api reply code */
	ARG_SIGNO,
};

struct probe_desc {
	const char *provider;	/* "lpc" or "csrd" */
	const char *name;	/* "send" */
	unsigned nargs;
	const char *arg[LPCT_NARGS];	/* stable field names */
	enum arg_fmt fmt[LPCT_NARGS];
};

/* NULL for a probe number out of range. */
const struct probe_desc *decode__probe(unsigned probe);
/* The probe number of "send" or "lpc:send", or -1. */
int decode__probe_by_name(const char *name);

/* "LPC_REQUEST", or NULL. */
const char *decode__type_name(unsigned type);
/* The type number of "LPC_REQUEST", "request", "10", or -1. */
int decode__type_by_name(const char *name);
/* "STATUS_SUCCESS", or NULL when unknown. */
const char *decode__status_name(int64_t status);
/* A wait_end error: "ETIMEDOUT", "LPC_REPLY_LOST", ...; "0" for none. */
const char *decode__err_name(int64_t err, char *buf, size_t len);
const char *decode__port_kind_name(unsigned kind);
const char *decode__wait_kind_name(unsigned kind);
const char *decode__reply_code_name(unsigned code);
/* "ringbuf", "waits", ... for an enum lpct_drop. */
const char *decode__drop_name(unsigned drop);

/* The CSR profile API names come from ("ws03" by default); -1 if unknown. */
int decode__set_profile(const char *name);
/* "BasepCreateProcess", or NULL. */
const char *decode__api_name(uint32_t api_number);
/* The ApiNumber of a name or number in the active profile, or -1. */
long decode__api_by_name(const char *name);

/*
 * Whether a probe's status argument says it failed, and which argument is
 * its status (-1: none).  wait_end fails when done == 0.
 */
int decode__status_arg(unsigned probe);
bool decode__failed(const struct lpct_event *e);

/*
 * Port names, learned as records go by: port_create gives (pid, port) and
 * (pid, domain) a name; connect_done names the client port.  Returns NULL
 * for a port never seen named.
 */
struct portnames;
struct portnames *portnames__new(void);
void portnames__free(struct portnames *pn);
void portnames__learn(struct portnames *pn, const struct lpct_event *e);
/* A port known from the kernel's port map (rel: its path, or ""). */
void portnames__add(struct portnames *pn, uint32_t pid, uint64_t port,
		    uint64_t domain, unsigned kind, const char *rel);
const char *portnames__port(const struct portnames *pn, uint32_t pid,
			    uint64_t port);
const char *portnames__domain(const struct portnames *pn, uint32_t pid,
			      uint64_t domain);
/* The name of the port (or domain) an event is about, or NULL. */
const char *portnames__of_event(const struct portnames *pn,
				const struct lpct_event *e);

/*
 * One argument as text: "0x7f..", "LPC_REQUEST", "STATUS_SUCCESS", the
 * port name for ARG_STR.  buf holds the result when it is built.
 */
const char *decode__arg(const struct lpct_event *e, unsigned i, char *buf,
			size_t len);

#endif
