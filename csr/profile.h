/* SPDX-License-Identifier: MIT */
/*
 * CSR dispatch profiles: which server DLLs a Windows version loads, at which
 * index and ApiBase, and the name of every API in its dispatch table.  The
 * tables are data; csrd binds each name to a handler at start-up (an API
 * with no handler answers STATUS_NOT_IMPLEMENTED).
 *
 * Names are the canonical ones of shared/spec/csr-api-numbers.md
 * ("BasepCreateProcess", "ConsolepSetTitle", ...) whenever the API exists in
 * the profile's version under any routine name, so that one handler serves
 * every version that has the API.  Slots a version keeps but does not serve
 * use "DeadEntry" (fails trivially, STATUS_NOT_IMPLEMENTED).
 */
#ifndef CSR_PROFILE_H
#define CSR_PROFILE_H

#include <stdbool.h>

/* Index slots: CSRSRV 0, BASESRV 1, CONSRV 2, USERSRV 3, SXSSRV 4. */
#define CSR_SERVER_DLL_MAX 5

struct csr_api_def {
	const char *name;	/* canonical name, or "DeadEntry" */
	bool server_call_ok;	/* "valid from server" (ValidTable) */
};

struct csr_dll_def {
	const char *name;		/* "CSRSRV", "BASESRV", ... */
	unsigned api_base;		/* subtracted from the low word */
	unsigned count;			/* HighestApiSupported */
	const struct csr_api_def *apis; /* count entries */
};

struct csr_profile {
	const char *name;	 /* --profile value: "ws03", "win7", ... */
	const char *description; /* "Windows Server 2003 (NT 5.2)" */
	const char *source;	 /* where the numbers come from */
	/* By server index; a slot with name == NULL is not loaded. */
	struct csr_dll_def dlls[CSR_SERVER_DLL_MAX];
};

/* NULL-terminated list of every profile; the first one is the default. */
extern const struct csr_profile *const csr_profiles[];

/* The profile named name (case-insensitive), or NULL. */
const struct csr_profile *csr_profile_find(const char *name);

/* The API's name for ApiNumber in profile p, or NULL when the number names
 * no table entry (bad server index, index below ApiBase, past the end). */
const char *csr_profile_api_name(const struct csr_profile *p,
				 unsigned api_number);

/* The ApiNumber of the API called name in profile p (case-insensitive),
 * or -1 when the profile has no such API. */
long csr_profile_api_number(const struct csr_profile *p, const char *name);

#endif
