/* SPDX-License-Identifier: MIT */
/*
 * test_csr_profile.c - the CSR dispatch profiles: the default, lookup by
 * name, the number <-> name round trip, the range checks, and numbers
 * checked by hand against their sources (the spec for ws03, Geoff
 * Chappell's dispatch-table pages for the others).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "profile.h"
#include "status_names.h"

static const struct csr_profile *must_find(const char *name)
{
	const struct csr_profile *p = csr_profile_find(name);

	cr_assert_not_null(p, "no profile \"%s\"", name);
	return p;
}

/* csr_profile_api_name, with NULL turned into "(null)" for messages. */
static const char *api_name(const struct csr_profile *p, unsigned number)
{
	const char *name = csr_profile_api_name(p, number);

	return name ? name : "(null)";
}

static void expect_api(const char *profile, unsigned number, const char *name)
{
	const struct csr_profile *p = must_find(profile);

	cr_expect_str_eq(api_name(p, number), name, "%s 0x%08X", profile,
			 number);
}

static void expect_none(const char *profile, unsigned number)
{
	const struct csr_profile *p = must_find(profile);

	cr_expect_null(csr_profile_api_name(p, number),
		       "%s 0x%08X names \"%s\"", profile, number,
		       api_name(p, number));
}

Test(csr_profile, default_is_ws03)
{
	cr_assert_not_null(csr_profiles[0]);
	cr_expect_str_eq(csr_profiles[0]->name, "ws03");
	cr_expect_eq(csr_profile_find("ws03"), csr_profiles[0]);
}

Test(csr_profile, find_is_case_insensitive)
{
	cr_expect_eq(csr_profile_find("WS03"), csr_profiles[0]);
	cr_expect_eq(csr_profile_find("Ws03"), csr_profiles[0]);
	cr_expect_eq(csr_profile_find("WIN7"), csr_profile_find("win7"));
}

Test(csr_profile, find_unknown_is_null)
{
	cr_expect_null(csr_profile_find("win95"));
	cr_expect_null(csr_profile_find(""));
	cr_expect_null(csr_profile_find("ws03 "));
	cr_expect_null(csr_profile_find(NULL));
}

Test(csr_profile, names_are_unique_and_described)
{
	const struct csr_profile *const *p, *const *q;

	for (p = csr_profiles; *p; p++) {
		cr_expect_not_null((*p)->description);
		cr_expect_not_null((*p)->source);
		cr_expect_not_null((*p)->dlls[0].name, "%s has no CSRSRV",
				   (*p)->name);
		for (q = p + 1; *q; q++)
			cr_expect(strcasecmp((*p)->name, (*q)->name),
				  "two profiles called %s", (*p)->name);
	}
}

/*
 * Every slot's name maps back to that slot, except DeadEntry, which names
 * several slots and maps to the lowest.  This also proves no canonical name
 * appears twice in a profile.
 */
Test(csr_profile, names_round_trip)
{
	const struct csr_profile *const *p;
	unsigned i, j;

	for (p = csr_profiles; *p; p++) {
		long dead = csr_profile_api_number(*p, "DeadEntry");

		for (i = 0; i < CSR_SERVER_DLL_MAX; i++) {
			const struct csr_dll_def *dll = &(*p)->dlls[i];

			if (!dll->name)
				continue;
			cr_expect(dll->count == 0 || dll->apis, "%s %s",
				  (*p)->name, dll->name);
			for (j = 0; j < dll->count; j++) {
				unsigned number = i << 16 | (dll->api_base + j);
				const char *name = dll->apis[j].name;
				long back;

				cr_assert_not_null(name);
				cr_expect_str_eq(api_name(*p, number), name);
				back = csr_profile_api_number(*p, name);
				if (!strcmp(name, "DeadEntry")) {
					cr_expect_leq(dead, (long)number);
					continue;
				}
				cr_expect_eq(back, (long)number,
					     "%s %s: 0x%08X -> 0x%08lX",
					     (*p)->name, name, number,
					     (unsigned long)back);
			}
		}
	}
}

Test(csr_profile, number_lookup_is_case_insensitive)
{
	const struct csr_profile *p = must_find("ws03");

	cr_expect_eq(csr_profile_api_number(p, "basepcreateprocess"),
		     0x00010000);
	cr_expect_eq(csr_profile_api_number(p, "CONSOLEPSETTITLE"),
		     0x00020227);
}

Test(csr_profile, unknown_name_is_minus_one)
{
	const struct csr_profile *p = must_find("ws03");

	cr_expect_eq(csr_profile_api_number(p, "BasepNoSuchThing"), -1);
	cr_expect_eq(csr_profile_api_number(p, ""), -1);
	cr_expect_eq(csr_profile_api_number(p, NULL), -1);
	/* An API of another version is not one of this version. */
	cr_expect_eq(csr_profile_api_number(p, "BasepDeferredCreateProcess"),
		     -1);
	cr_expect_eq(csr_profile_api_number(p, "DeadEntry"), -1);
}

Test(csr_profile, ws03_known_numbers)
{
	expect_api("ws03", 0x00000000, "CsrpClientConnect");
	expect_api("ws03", 0x00000004, "CsrpSetPriorityClass");
	expect_api("ws03", 0x00010000, "BasepCreateProcess");
	expect_api("ws03", 0x0001001E, "BasepNlsGetUserInfo");
	expect_api("ws03", 0x00020200, "ConsolepOpenConsole");
	expect_api("ws03", 0x00020227, "ConsolepSetTitle");
	expect_api("ws03", 0x00020254, "ConsolepGetProcessList");
	expect_api("ws03", 0x00030400, "UserpExitWindowsEx");
	expect_api("ws03", 0x00030401, "UserpEndTask");
	expect_api("ws03", 0x00030409, "UserpRecordShutdownReason");
}

/* The spec's table sizes: 5, 31, 85 and 10 entries, nothing at index 4. */
Test(csr_profile, ws03_matches_spec_shape)
{
	const struct csr_profile *p = must_find("ws03");
	static const struct {
		const char *name;
		unsigned base, count;
	} want[] = {
		{ "CSRSRV", 0, 5 },
		{ "BASESRV", 0, 31 },
		{ "CONSRV", 0x200, 85 },
		{ "USERSRV", 0x400, 10 },
	};
	unsigned i;

	for (i = 0; i < 4; i++) {
		cr_expect_str_eq(p->dlls[i].name, want[i].name);
		cr_expect_eq(p->dlls[i].api_base, want[i].base);
		cr_expect_eq(p->dlls[i].count, want[i].count);
	}
	cr_expect_null(p->dlls[4].name);
}

Test(csr_profile, out_of_range_numbers_are_null)
{
	const struct csr_profile *const *p;
	unsigned i;

	expect_none("ws03", 0x00050000);	/* server index 5 */
	expect_none("ws03", 0x00040000);	/* index 4 not loaded */
	expect_none("ws03", 0xFFFF0000);
	expect_none("ws03", 0x0000FFFF);
	expect_none("ws03", 0xFFFFFFFF);
	expect_none("ws03", 0x000201FF);	/* below CONSRV's ApiBase */
	expect_none("ws03", 0x00020000);
	expect_none("ws03", 0x000303FF);	/* below USERSRV's ApiBase */

	/* One past the end of every loaded DLL of every profile. */
	for (p = csr_profiles; *p; p++)
		for (i = 0; i < CSR_SERVER_DLL_MAX; i++) {
			const struct csr_dll_def *dll = &(*p)->dlls[i];
			unsigned end = i << 16 | (dll->api_base + dll->count);

			if (!dll->name)
				continue;
			cr_expect_null(csr_profile_api_name(*p, end),
				       "%s 0x%08X", (*p)->name, end);
		}
	expect_none("ws03", 0x00000005);
	expect_none("ws03", 0x0001001F);
	expect_none("ws03", 0x00020255);
	expect_none("ws03", 0x0003040A);
}

Test(csr_profile, null_profile_is_safe)
{
	cr_expect_null(csr_profile_api_name(NULL, 0));
	cr_expect_eq(csr_profile_api_number(NULL, "CsrpClientConnect"), -1);
}

/* Chappell, 5.1 columns (BASESRV: late 5.1). */
Test(csr_profile, xp_known_numbers)
{
	expect_api("xp", 0x00000000, "CsrpClientConnect");
	expect_api("xp", 0x00000001, "DeadEntry");
	expect_api("xp", 0x00000003, "CsrpIdentifyAlertable");
	expect_api("xp", 0x00010004, "DeadEntry");
	expect_api("xp", 0x0001001E, "BasepNlsGetUserInfo");
	expect_api("xp", 0x0001001F, "BasepAppHelpQueryModuleData");
	expect_api("xp", 0x00020227, "ConsolepSetTitle");
	expect_api("xp", 0x00020254, "ConsolepGetProcessList");
	expect_api("xp", 0x00030405, "UserpGetThreadConsoleDesktop");
	expect_api("xp", 0x0003040A, "UserpCreateSystemThreads");
	expect_none("xp", 0x00010020);
	expect_none("xp", 0x0003040B);
}

/* Chappell, 6.1 columns. */
Test(csr_profile, win7_known_numbers)
{
	const struct csr_profile *p = must_find("win7");

	expect_api("win7", 0x00000000, "CsrpClientConnect");
	expect_api("win7", 0x00000004, "DeadEntry");
	expect_api("win7", 0x00010002, "DeadEntry");
	expect_api("win7", 0x0001000E, "BasepSetVDMCurDirs");
	expect_api("win7", 0x00010017, "BasepSxsCreateActivationContext");
	expect_api("win7", 0x0001001A, "BasepDeferredCreateProcess");
	expect_api("win7", 0x0001001C, "BasepNlsUpdateCacheCount");
	expect_api("win7", 0x00030403, "UserpActivateDebugger");
	expect_api("win7", 0x00030409, "UserpGetSetShutdownBlockReason");
	expect_none("win7", 0x0001001D);
	expect_none("win7", 0x0003040A);

	/* The console server is loaded but has no dispatch table. */
	cr_expect_str_eq(p->dlls[2].name, "CONSRV");
	cr_expect_eq(p->dlls[2].count, 0);
	expect_none("win7", 0x00020200);
	expect_none("win7", 0x00020227);
	cr_expect_eq(csr_profile_api_number(p, "ConsolepSetTitle"), -1);

	/* No public numbers for SXSSRV, so it is not loaded. */
	cr_expect_null(p->dlls[4].name);
	expect_none("win7", 0x00040000);
}

/* Chappell, 4.0 columns. */
Test(csr_profile, nt4_known_numbers)
{
	expect_api("nt4", 0x00000000, "CsrpNullApiCall");
	expect_api("nt4", 0x00000001, "CsrpClientConnect");
	expect_api("nt4", 0x00000005, "CsrpSetPriorityClass");
	expect_api("nt4", 0x00010010, "BasepNlsCreateSortSection");
	expect_api("nt4", 0x00010018, "BasepDefineDosDevice");
	expect_api("nt4", 0x00020220, "ConsolepCloseHandle");
	expect_api("nt4", 0x00020225, "ConsolepSetTitle");
	expect_api("nt4", 0x00020243, "ConsolepGetKeyboardLayoutName");
	expect_api("nt4", 0x00030A01, "UserpEndTask");
	expect_api("nt4", 0x00030A08, "UserpGetThreadConsoleDesktop");
	expect_none("nt4", 0x00030400); /* USERSRV's base is 0xA00 */
	expect_none("nt4", 0x00030A09);
	expect_none("nt4", 0x00020244);
}

/* Chappell's "invalid as server call" remarks, per version. */
Test(csr_profile, server_call_flags)
{
	const struct csr_profile *ws03 = must_find("ws03");
	const struct csr_profile *xp = must_find("xp");
	const struct csr_profile *win7 = must_find("win7");
	const struct csr_profile *nt4 = must_find("nt4");

	cr_expect(ws03->dlls[0].apis[0].server_call_ok);
	cr_expect_not(ws03->dlls[0].apis[2].server_call_ok);
	cr_expect(xp->dlls[0].apis[2].server_call_ok); /* invalid from 5.2 */
	cr_expect_not(ws03->dlls[1].apis[3].server_call_ok); /* ExitProcess */
	cr_expect(ws03->dlls[1].apis[0].server_call_ok);
	cr_expect(ws03->dlls[2].apis[0x33].server_call_ok); /* GetDisplayMode */
	cr_expect_not(ws03->dlls[2].apis[0x27].server_call_ok);
	cr_expect_not(ws03->dlls[3].apis[0].server_call_ok);
	cr_expect(win7->dlls[3].apis[0].server_call_ok); /* from 6.0 */
	cr_expect(win7->dlls[1].apis[0x18].server_call_ok);
	cr_expect_not(win7->dlls[1].apis[0x02].server_call_ok);
	cr_expect(nt4->dlls[3].apis[2].server_call_ok); /* InitSoundDriver */
}

/* Every NTSTATUS the public headers define has its name in the table
 * lpctrace and csrcall print with (the headers are read from the
 * checkout, where make test runs). */
Test(csr_profile, every_public_status_has_a_name)
{
	static const char *const headers[] = { "include/lpc/lpc.h",
					       "include/lpc/csr.h" };
	int checked = 0;

	for (size_t i = 0; i < sizeof(headers) / sizeof(headers[0]); i++) {
		FILE *f = fopen(headers[i], "r");
		char line[512], name[128];
		unsigned long value;

		if (!f)
			cr_skip_test("%s not found: not run from the checkout",
				     headers[i]);
		while (fgets(line, sizeof(line), f)) {
			if (sscanf(line, "#define %127s ((NTSTATUS)%lxL)", name,
				   &value) != 2 ||
			    (strncmp(name, "STATUS_", 7) &&
			     strncmp(name, "DBG_", 4)))
				continue;
			const char *got = csr_status_name((NTSTATUS)value);

			/* (two names for one value: either will do) */
			cr_expect(got != NULL, "%s (0x%08lx) has no name", name,
				  value);
			checked++;
		}
		fclose(f);
	}
	cr_assert_gt(checked, 50, "only %d statuses found", checked);
}
