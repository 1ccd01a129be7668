/* SPDX-License-Identifier: MIT */
/*
 * profile.c - the CSR dispatch profiles of profile.h as const data, and the
 * three lookups over them.
 *
 * Provenance (clean room: public tables only, no Windows source, no
 * disassembly, no ReactOS or Wine code):
 *  - ws03 is shared/spec/csr-api-numbers.md slot for slot;
 *  - xp, win7 and nt4 are read off the version columns of Geoff Chappell's
 *    dispatch-table studies (the GC_* pages below, read from their copy at
 *    geoffchappellmirror.github.io), which list every routine with the API
 *    number it has in each version.  A DLL goes into a profile only when
 *    those columns fill every slot of its table; where they do not, the DLL
 *    is left out and the profile says why.
 *
 * Naming, as profile.h asks: an API keeps its spec name in every version
 * that has it, even where the routine was renamed (Chappell's rows keep a
 * renamed routine in the same slot, e.g. BaseSrvCreateActivationContext in
 * 6.1); an API the spec lacks gets "Basep"/"Userp"/"Csrp" plus Chappell's
 * routine name without its "BaseSrv"/"Srv"/"CsrSrv" prefix; a slot whose
 * routine fails trivially (BaseSrvDeadEntry, CsrSrvUnusedFunction, or a
 * named routine Chappell marks "fails trivially") is "DeadEntry".
 * Routines that *succeed* trivially keep their names: "DeadEntry" fails, and
 * a client of that version expects success.
 *
 * server_call_ok is Chappell's "invalid as server call" remark for that
 * version.  His BASESRV and CSRSRV pages make valid the default; his console
 * and user pages say the opposite ("invalid as a server call unless
 * explicitly noted as valid"), so CONSRV and USERSRV rows are CLIENT unless
 * he notes them valid.  ws03 takes its flags from the same pages (5.2), as
 * the spec has none.
 */
#include <stddef.h>
#include <strings.h>

#include "profile.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* May also be called from inside the server (CsrCallServerFromServer). */
#define API(n) { .name = (n), .server_call_ok = true }
/* May only be called by a client through the port. */
#define CLIENT(n) { .name = (n), .server_call_ok = false }

#define DLL(n, base, table)                                                    \
	{                                                                      \
		.name = (n), .api_base = (base), .count = ARRAY_SIZE(table),  \
		.apis = (table)                                                \
	}

#define GC	   "https://www.geoffchappell.com/studies/windows/win32/"
#define GC_CSRSRV  GC "csrsrv/api/srvinit/apidispatch.htm"
#define GC_BASESRV GC "basesrv/api/srvinit/apidispatch.htm"
#define GC_CONSRV  GC "winsrv/api/wincon/srvinit/apidispatch.htm"
#define GC_USERSRV GC "winsrv/api/user/server/apidispatch.htm"

/*
 * ws03: Windows Server 2003, NT 5.2 (the default).
 *
 * CSRSRV: from 5.2 Chappell has slots 1-4 all pointing at
 * CsrSrvUnusedFunction, which fails trivially.  They keep the spec's names
 * here on purpose rather than "DeadEntry": ws03 is the spec verbatim, so
 * traces, fuzz dictionaries and csrd's handlers (bound by these names) all
 * speak the spec's vocabulary.  It costs nothing in behaviour: a name with
 * no handler answers STATUS_NOT_IMPLEMENTED, exactly as a DeadEntry does.
 * The same holds for BasepDebugProcess and BasepDebugProcessStop below,
 * which fail trivially in 5.2 too.
 */
static const struct csr_api_def ws03_csrsrv[] = {
	API("CsrpClientConnect"),			/* 0x00000000 */
	CLIENT("CsrpThreadConnect"),			/* 0x00000001 */
	CLIENT("CsrpProfileControl"),			/* 0x00000002 */
	CLIENT("CsrpIdentifyAlertable"),		/* 0x00000003 */
	CLIENT("CsrpSetPriorityClass"),			/* 0x00000004 */
};

/*
 * The spec's BASESRV is late 5.2 (0x1E = BaseSrvNlsGetUserInfo).  Chappell
 * records an early 5.2 with BaseSrvCheckApplicationCompatibility at 0x1E and
 * NlsGetUserInfo at 0x1F; the spec, and so this profile, does not model it.
 */
static const struct csr_api_def ws03_basesrv[] = {
	API("BasepCreateProcess"),			/* 0x00010000 */
	API("BasepCreateThread"),			/* 0x00010001 */
	API("BasepGetTempFile"),			/* 0x00010002 */
	CLIENT("BasepExitProcess"),			/* 0x00010003 */
	CLIENT("BasepDebugProcess"),			/* 0x00010004 */
	API("BasepCheckVDM"),				/* 0x00010005 */
	API("BasepUpdateVDMEntry"),			/* 0x00010006 */
	API("BasepGetNextVDMCommand"),			/* 0x00010007 */
	API("BasepExitVDM"),				/* 0x00010008 */
	API("BasepIsFirstVDM"),				/* 0x00010009 */
	API("BasepGetVDMExitCode"),			/* 0x0001000A */
	API("BasepSetReenterCount"),			/* 0x0001000B */
	API("BasepSetProcessShutdownParam"),		/* 0x0001000C */
	API("BasepGetProcessShutdownParam"),		/* 0x0001000D */
	API("BasepNlsSetUserInfo"),			/* 0x0001000E */
	API("BasepNlsSetMultipleUserInfo"),		/* 0x0001000F */
	API("BasepNlsCreateSection"),			/* 0x00010010 */
	API("BasepSetVDMCurDirs"),			/* 0x00010011 */
	API("BasepGetVDMCurDirs"),			/* 0x00010012 */
	API("BasepBatNotification"),			/* 0x00010013 */
	API("BasepRegisterWowExec"),			/* 0x00010014 */
	API("BasepSoundSentryNotification"),		/* 0x00010015 */
	API("BasepRefreshIniFileMapping"),		/* 0x00010016 */
	API("BasepDefineDosDevice"),			/* 0x00010017 */
	API("BasepSetTermsrvAppInstallMode"),		/* 0x00010018 */
	API("BasepNlsUpdateCacheCount"),		/* 0x00010019 */
	API("BasepSetTermsrvClientTimeZone"),		/* 0x0001001A */
	API("BasepSxsCreateActivationContext"),		/* 0x0001001B */
	API("BasepDebugProcessStop"),			/* 0x0001001C */
	API("BasepRegisterThread"),			/* 0x0001001D */
	API("BasepNlsGetUserInfo"),			/* 0x0001001E */
};

/* Only SrvGetConsoleDisplayMode (0x233) is valid as a server call. */
static const struct csr_api_def ws03_consrv[] = {
	CLIENT("ConsolepOpenConsole"),			/* 0x00020200 */
	CLIENT("ConsolepGetConsoleInput"),		/* 0x00020201 */
	CLIENT("ConsolepWriteConsoleInput"),		/* 0x00020202 */
	CLIENT("ConsolepReadConsoleOutput"),		/* 0x00020203 */
	CLIENT("ConsolepWriteConsoleOutput"),		/* 0x00020204 */
	CLIENT("ConsolepReadConsoleOutputString"),	/* 0x00020205 */
	CLIENT("ConsolepWriteConsoleOutputString"),	/* 0x00020206 */
	CLIENT("ConsolepFillConsoleOutput"),		/* 0x00020207 */
	CLIENT("ConsolepGetMode"),			/* 0x00020208 */
	CLIENT("ConsolepGetNumberOfFonts"),		/* 0x00020209 */
	CLIENT("ConsolepGetNumberOfInputEvents"),	/* 0x0002020A */
	CLIENT("ConsolepGetScreenBufferInfo"),		/* 0x0002020B */
	CLIENT("ConsolepGetCursorInfo"),		/* 0x0002020C */
	CLIENT("ConsolepGetMouseInfo"),			/* 0x0002020D */
	CLIENT("ConsolepGetFontInfo"),			/* 0x0002020E */
	CLIENT("ConsolepGetFontSize"),			/* 0x0002020F */
	CLIENT("ConsolepGetCurrentFont"),		/* 0x00020210 */
	CLIENT("ConsolepSetMode"),			/* 0x00020211 */
	CLIENT("ConsolepSetActiveScreenBuffer"),	/* 0x00020212 */
	CLIENT("ConsolepFlushInputBuffer"),		/* 0x00020213 */
	CLIENT("ConsolepGetLargestWindowSize"),		/* 0x00020214 */
	CLIENT("ConsolepSetScreenBufferSize"),		/* 0x00020215 */
	CLIENT("ConsolepSetCursorPosition"),		/* 0x00020216 */
	CLIENT("ConsolepSetCursorInfo"),		/* 0x00020217 */
	CLIENT("ConsolepSetWindowInfo"),		/* 0x00020218 */
	CLIENT("ConsolepScrollScreenBuffer"),		/* 0x00020219 */
	CLIENT("ConsolepSetTextAttribute"),		/* 0x0002021A */
	CLIENT("ConsolepSetFont"),			/* 0x0002021B */
	CLIENT("ConsolepSetIcon"),			/* 0x0002021C */
	CLIENT("ConsolepReadConsole"),			/* 0x0002021D */
	CLIENT("ConsolepWriteConsole"),			/* 0x0002021E */
	CLIENT("ConsolepDuplicateHandle"),		/* 0x0002021F */
	CLIENT("ConsolepGetHandleInformation"),		/* 0x00020220 */
	CLIENT("ConsolepSetHandleInformation"),		/* 0x00020221 */
	CLIENT("ConsolepCloseHandle"),			/* 0x00020222 */
	CLIENT("ConsolepVerifyIoHandle"),		/* 0x00020223 */
	CLIENT("ConsolepAlloc"),			/* 0x00020224 */
	CLIENT("ConsolepFree"),				/* 0x00020225 */
	CLIENT("ConsolepGetTitle"),			/* 0x00020226 */
	CLIENT("ConsolepSetTitle"),			/* 0x00020227 */
	CLIENT("ConsolepCreateScreenBuffer"),		/* 0x00020228 */
	CLIENT("ConsolepInvalidateBitMapRect"),		/* 0x00020229 */
	CLIENT("ConsolepVDMOperation"),			/* 0x0002022A */
	CLIENT("ConsolepSetCursor"),			/* 0x0002022B */
	CLIENT("ConsolepShowCursor"),			/* 0x0002022C */
	CLIENT("ConsolepMenuControl"),			/* 0x0002022D */
	CLIENT("ConsolepSetPalette"),			/* 0x0002022E */
	CLIENT("ConsolepSetDisplayMode"),		/* 0x0002022F */
	CLIENT("ConsolepRegisterVDM"),			/* 0x00020230 */
	CLIENT("ConsolepGetHardwareState"),		/* 0x00020231 */
	CLIENT("ConsolepSetHardwareState"),		/* 0x00020232 */
	API("ConsolepGetDisplayMode"),			/* 0x00020233 */
	CLIENT("ConsolepAddAlias"),			/* 0x00020234 */
	CLIENT("ConsolepGetAlias"),			/* 0x00020235 */
	CLIENT("ConsolepGetAliasesLength"),		/* 0x00020236 */
	CLIENT("ConsolepGetAliasExesLength"),		/* 0x00020237 */
	CLIENT("ConsolepGetAliases"),			/* 0x00020238 */
	CLIENT("ConsolepGetAliasExes"),			/* 0x00020239 */
	CLIENT("ConsolepExpungeCommandHistory"),	/* 0x0002023A */
	CLIENT("ConsolepSetNumberOfCommands"),		/* 0x0002023B */
	CLIENT("ConsolepGetCommandHistoryLength"),	/* 0x0002023C */
	CLIENT("ConsolepGetCommandHistory"),		/* 0x0002023D */
	CLIENT("ConsolepSetCommandHistoryMode"),	/* 0x0002023E */
	CLIENT("ConsolepGetCP"),			/* 0x0002023F */
	CLIENT("ConsolepSetCP"),			/* 0x00020240 */
	CLIENT("ConsolepSetKeyShortcuts"),		/* 0x00020241 */
	CLIENT("ConsolepSetMenuClose"),			/* 0x00020242 */
	CLIENT("ConsolepNotifyLastClose"),		/* 0x00020243 */
	CLIENT("ConsolepGenerateCtrlEvent"),		/* 0x00020244 */
	CLIENT("ConsolepGetKeyboardLayoutName"),	/* 0x00020245 */
	CLIENT("ConsolepGetConsoleWindow"),		/* 0x00020246 */
	CLIENT("ConsolepCharType"),			/* 0x00020247 */
	CLIENT("ConsolepSetLocalEUDC"),			/* 0x00020248 */
	CLIENT("ConsolepSetCursorMode"),		/* 0x00020249 */
	CLIENT("ConsolepGetCursorMode"),		/* 0x0002024A */
	CLIENT("ConsolepRegisterOS2"),			/* 0x0002024B */
	CLIENT("ConsolepSetOS2OemFormat"),		/* 0x0002024C */
	CLIENT("ConsolepGetNlsMode"),			/* 0x0002024D */
	CLIENT("ConsolepSetNlsMode"),			/* 0x0002024E */
	CLIENT("ConsolepRegisterConsoleIME"),		/* 0x0002024F */
	CLIENT("ConsolepUnregisterConsoleIME"),		/* 0x00020250 */
	CLIENT("ConsolepGetLangId"),			/* 0x00020251 */
	CLIENT("ConsolepAttach"),			/* 0x00020252 */
	CLIENT("ConsolepGetSelectionInfo"),		/* 0x00020253 */
	CLIENT("ConsolepGetProcessList"),		/* 0x00020254 */
};

/*
 * SrvExitWindowsEx (0x400) is valid as a server call in 5.0-5.2 only on a
 * Terminal Server (Chappell); csrd does not model product suites, so it is
 * CLIENT here and in xp.
 */
static const struct csr_api_def ws03_usersrv[] = {
	CLIENT("UserpExitWindowsEx"),			/* 0x00030400 */
	CLIENT("UserpEndTask"),				/* 0x00030401 */
	CLIENT("UserpLogon"),				/* 0x00030402 */
	CLIENT("UserpRegisterServicesProcess"),		/* 0x00030403 */
	CLIENT("UserpActivateDebugger"),		/* 0x00030404 */
	API("UserpGetThreadConsoleDesktop"),		/* 0x00030405 */
	CLIENT("UserpDeviceEvent"),			/* 0x00030406 */
	CLIENT("UserpRegisterLogonProcess"),		/* 0x00030407 */
	CLIENT("UserpCreateSystemThreads"),		/* 0x00030408 */
	API("UserpRecordShutdownReason"),		/* 0x00030409 */
};

_Static_assert(ARRAY_SIZE(ws03_csrsrv) == 5, "spec: CSRSRV 0x0-0x4");
_Static_assert(ARRAY_SIZE(ws03_basesrv) == 31, "spec: BASESRV 0x0-0x1E");
_Static_assert(ARRAY_SIZE(ws03_consrv) == 85, "spec: CONSRV 0x200-0x254");
_Static_assert(ARRAY_SIZE(ws03_usersrv) == 10, "spec: USERSRV 0x400-0x409");

static const struct csr_profile profile_ws03 = {
	.name = "ws03",
	.description = "Windows Server 2003 (NT 5.2)",
	.source = "shared/spec/csr-api-numbers.md (ReactOS headers citing "
		  "j00ru's CSRSS cross-version API table, checked against "
		  "Geoff Chappell); server_call_ok from the 5.2 remarks of "
		  GC_CSRSRV " " GC_BASESRV " " GC_CONSRV " " GC_USERSRV,
	.dlls = {
		[0] = DLL("CSRSRV", 0, ws03_csrsrv),
		[1] = DLL("BASESRV", 0, ws03_basesrv),
		[2] = DLL("CONSRV", 0x200, ws03_consrv),
		[3] = DLL("USERSRV", 0x400, ws03_usersrv),
	},
};

/*
 * xp: Windows XP, NT 5.1 (late 5.1 builds for BASESRV, see below).
 *
 * CSRSRV: slots 1 and 2 are CsrSrvUnusedFunction from 5.0; slot 2 becomes
 * invalid as a server call only in 5.2.  CsrSrvIdentifyAlertableThread and
 * CsrSrvSetPriorityClass live until 5.1 (the latter succeeds trivially).
 */
static const struct csr_api_def xp_csrsrv[] = {
	API("CsrpClientConnect"),			/* 0x00000000 */
	CLIENT("DeadEntry"),				/* 0x00000001 */
	API("DeadEntry"),				/* 0x00000002 */
	API("CsrpIdentifyAlertable"),			/* 0x00000003 */
	API("CsrpSetPriorityClass"),			/* 0x00000004 */
};

/*
 * Same slots as 5.2 up to 0x1E, but BaseSrvDebugProcess (0x04) and
 * BaseSrvDebugProcessStop (0x1C) fail trivially in 5.1, hence DeadEntry.
 * 0x1F, BaseSrvAppHelpQueryModuleData, exists only in what Chappell calls
 * late 5.1; early 5.1 ends at 0x1E.  Keeping it costs an early-5.1 client
 * nothing, since it never asks for 0x1F.
 */
static const struct csr_api_def xp_basesrv[] = {
	API("BasepCreateProcess"),			/* 0x00010000 */
	API("BasepCreateThread"),			/* 0x00010001 */
	API("BasepGetTempFile"),			/* 0x00010002 */
	CLIENT("BasepExitProcess"),			/* 0x00010003 */
	CLIENT("DeadEntry"),				/* 0x00010004 */
	API("BasepCheckVDM"),				/* 0x00010005 */
	API("BasepUpdateVDMEntry"),			/* 0x00010006 */
	API("BasepGetNextVDMCommand"),			/* 0x00010007 */
	API("BasepExitVDM"),				/* 0x00010008 */
	API("BasepIsFirstVDM"),				/* 0x00010009 */
	API("BasepGetVDMExitCode"),			/* 0x0001000A */
	API("BasepSetReenterCount"),			/* 0x0001000B */
	API("BasepSetProcessShutdownParam"),		/* 0x0001000C */
	API("BasepGetProcessShutdownParam"),		/* 0x0001000D */
	API("BasepNlsSetUserInfo"),			/* 0x0001000E */
	API("BasepNlsSetMultipleUserInfo"),		/* 0x0001000F */
	API("BasepNlsCreateSection"),			/* 0x00010010 */
	API("BasepSetVDMCurDirs"),			/* 0x00010011 */
	API("BasepGetVDMCurDirs"),			/* 0x00010012 */
	API("BasepBatNotification"),			/* 0x00010013 */
	API("BasepRegisterWowExec"),			/* 0x00010014 */
	API("BasepSoundSentryNotification"),		/* 0x00010015 */
	API("BasepRefreshIniFileMapping"),		/* 0x00010016 */
	API("BasepDefineDosDevice"),			/* 0x00010017 */
	API("BasepSetTermsrvAppInstallMode"),		/* 0x00010018 */
	API("BasepNlsUpdateCacheCount"),		/* 0x00010019 */
	API("BasepSetTermsrvClientTimeZone"),		/* 0x0001001A */
	API("BasepSxsCreateActivationContext"),		/* 0x0001001B */
	API("DeadEntry"),				/* 0x0001001C */
	API("BasepRegisterThread"),			/* 0x0001001D */
	API("BasepNlsGetUserInfo"),			/* 0x0001001E */
	API("BasepAppHelpQueryModuleData"),		/* 0x0001001F */
};

/*
 * 0x408 and 0x409 are SrvWin32HeapStat and SrvWin32HeapFail, but Chappell
 * notes that the two routines share one address (both succeed trivially),
 * so which number belongs to which name is unknown.  The order is his
 * table's; nothing can tell the two apart, and whatever serves one should
 * serve both.
 */
static const struct csr_api_def xp_usersrv[] = {
	CLIENT("UserpExitWindowsEx"),			/* 0x00030400 */
	CLIENT("UserpEndTask"),				/* 0x00030401 */
	CLIENT("UserpLogon"),				/* 0x00030402 */
	CLIENT("UserpRegisterServicesProcess"),		/* 0x00030403 */
	CLIENT("UserpActivateDebugger"),		/* 0x00030404 */
	API("UserpGetThreadConsoleDesktop"),		/* 0x00030405 */
	CLIENT("UserpDeviceEvent"),			/* 0x00030406 */
	CLIENT("UserpRegisterLogonProcess"),		/* 0x00030407 */
	CLIENT("UserpWin32HeapStat"),			/* 0x00030408 */
	CLIENT("UserpWin32HeapFail"),			/* 0x00030409 */
	CLIENT("UserpCreateSystemThreads"),		/* 0x0003040A */
};

static const struct csr_profile profile_xp = {
	.name = "xp",
	.description = "Windows XP (NT 5.1)",
	.source = "Geoff Chappell's dispatch-table studies, 5.1 columns "
		  "(BASESRV: late 5.1): " GC_CSRSRV " " GC_BASESRV " " GC_CONSRV
		  " " GC_USERSRV,
	.dlls = {
		[0] = DLL("CSRSRV", 0, xp_csrsrv),
		[1] = DLL("BASESRV", 0, xp_basesrv),
		/*
		 * Chappell gives one console numbering for 5.0-5.2, and
		 * dates its last three APIs (0x252-0x254) from 5.1.
		 */
		[2] = DLL("CONSRV", 0x200, ws03_consrv),
		[3] = DLL("USERSRV", 0x400, xp_usersrv),
	},
};

/*
 * win7: Windows 7, NT 6.1.
 *
 * CSRSRV: ClientConnect and four CsrSrvUnusedFunction slots, as in 5.2.
 */
static const struct csr_api_def win7_csrsrv[] = {
	API("CsrpClientConnect"),			/* 0x00000000 */
	CLIENT("DeadEntry"),				/* 0x00000001 */
	CLIENT("DeadEntry"),				/* 0x00000002 */
	CLIENT("DeadEntry"),				/* 0x00000003 */
	CLIENT("DeadEntry"),				/* 0x00000004 */
};

/*
 * 6.0 removed 5.2's 0x0E-0x10 (NlsSetUserInfo, NlsSetMultipleUserInfo,
 * NlsCreateSection) and moved NlsUpdateCacheCount (5.2's 0x19) to the end,
 * so the APIs after 0x0D moved down by three or four.  The slots of
 * GetTempFile (0x02), DebugProcess (0x04) and DebugProcessStop (0x18) stayed,
 * as BaseSrvDeadEntry; only 0x18 stays valid as a server call.  0x17 is
 * BaseSrvCreateActivationContext in 6.1: the 5.1-6.0
 * SxsCreateActivationContext renamed in the same slot, so it keeps the
 * spec's name.  NlsUpdateCacheCount is 0x1C, the slot 6.0 gave
 * NlsSetUserInfo before 6.1 dropped it again.
 */
static const struct csr_api_def win7_basesrv[] = {
	API("BasepCreateProcess"),			/* 0x00010000 */
	API("BasepCreateThread"),			/* 0x00010001 */
	CLIENT("DeadEntry"),				/* 0x00010002 */
	CLIENT("BasepExitProcess"),			/* 0x00010003 */
	CLIENT("DeadEntry"),				/* 0x00010004 */
	API("BasepCheckVDM"),				/* 0x00010005 */
	API("BasepUpdateVDMEntry"),			/* 0x00010006 */
	API("BasepGetNextVDMCommand"),			/* 0x00010007 */
	API("BasepExitVDM"),				/* 0x00010008 */
	API("BasepIsFirstVDM"),				/* 0x00010009 */
	API("BasepGetVDMExitCode"),			/* 0x0001000A */
	API("BasepSetReenterCount"),			/* 0x0001000B */
	API("BasepSetProcessShutdownParam"),		/* 0x0001000C */
	API("BasepGetProcessShutdownParam"),		/* 0x0001000D */
	API("BasepSetVDMCurDirs"),			/* 0x0001000E */
	API("BasepGetVDMCurDirs"),			/* 0x0001000F */
	API("BasepBatNotification"),			/* 0x00010010 */
	API("BasepRegisterWowExec"),			/* 0x00010011 */
	API("BasepSoundSentryNotification"),		/* 0x00010012 */
	API("BasepRefreshIniFileMapping"),		/* 0x00010013 */
	API("BasepDefineDosDevice"),			/* 0x00010014 */
	API("BasepSetTermsrvAppInstallMode"),		/* 0x00010015 */
	API("BasepSetTermsrvClientTimeZone"),		/* 0x00010016 */
	API("BasepSxsCreateActivationContext"),		/* 0x00010017 */
	API("DeadEntry"),				/* 0x00010018 */
	API("BasepRegisterThread"),			/* 0x00010019 */
	API("BasepDeferredCreateProcess"),		/* 0x0001001A */
	API("BasepNlsGetUserInfo"),			/* 0x0001001B */
	API("BasepNlsUpdateCacheCount"),		/* 0x0001001C */
};

/*
 * Chappell's user-server page is marked as a sketch, but its kernel-mode
 * table gives every 6.1 number from 0x400 to 0x409 exactly once.
 * SrvRegisterServicesProcess, SrvGetThreadConsoleDesktop and
 * SrvRegisterLogonProcess ended with 6.0; SrvExitWindowsEx is valid as a
 * server call from 6.0.
 */
static const struct csr_api_def win7_usersrv[] = {
	API("UserpExitWindowsEx"),			/* 0x00030400 */
	CLIENT("UserpEndTask"),				/* 0x00030401 */
	CLIENT("UserpLogon"),				/* 0x00030402 */
	CLIENT("UserpActivateDebugger"),		/* 0x00030403 */
	CLIENT("UserpDeviceEvent"),			/* 0x00030404 */
	CLIENT("UserpCreateSystemThreads"),		/* 0x00030405 */
	API("UserpRecordShutdownReason"),		/* 0x00030406 */
	CLIENT("UserpCancelShutdown"),			/* 0x00030407 */
	CLIENT("UserpConsoleHandleOperation"),		/* 0x00030408 */
	CLIENT("UserpGetSetShutdownBlockReason"),	/* 0x00030409 */
};

static const struct csr_profile profile_win7 = {
	.name = "win7",
	.description = "Windows 7 (NT 6.1)",
	.source = "Geoff Chappell's dispatch-table studies, 6.1 columns: "
		  GC_CSRSRV " " GC_BASESRV " " GC_USERSRV "; CONSRV has no "
		  "dispatch table in 6.1: " GC_CONSRV,
	.dlls = {
		[0] = DLL("CSRSRV", 0, win7_csrsrv),
		[1] = DLL("BASESRV", 0, win7_basesrv),
		/*
		 * Windows 7 still loads the console server (index 2 on the
		 * csrss command line) but, conhost.exe having taken the work,
		 * it has no dispatch table: every 0x0002xxxx number is out of
		 * range.  With no table there is no ApiBase to record either.
		 */
		[2] = { .name = "CONSRV", .api_base = 0, .count = 0,
			.apis = NULL },
		[3] = DLL("USERSRV", 0x400, win7_usersrv),
		/*
		 * SXSSRV is index 4 on the Windows 7 command line, but no
		 * public table found gives its API numbers, so it is not
		 * loaded here rather than guessed.
		 */
	},
};

/*
 * nt4: Windows NT 4.0.
 *
 * CSRSRV is numbered from CsrSrvNullApiCall at 0, so ClientConnect is 1.
 * Slot 2 (CsrSrvThreadConnect until 3.51) holds a NULL pointer in 4.0 and
 * CsrSrvProfileControl (3) fails trivially: both DeadEntry.  Chappell notes
 * no server-call restriction for any 4.0 CSRSRV routine.  He also mentions
 * a coding error in the range check of versions before 5.0; the lookups
 * below apply the correct check to every profile.
 */
static const struct csr_api_def nt4_csrsrv[] = {
	API("CsrpNullApiCall"),				/* 0x00000000 */
	API("CsrpClientConnect"),			/* 0x00000001 */
	API("DeadEntry"),				/* 0x00000002 */
	API("DeadEntry"),				/* 0x00000003 */
	API("CsrpIdentifyAlertable"),			/* 0x00000004 */
	API("CsrpSetPriorityClass"),			/* 0x00000005 */
};

/*
 * 0x00-0x0F and 0x12-0x18 are the APIs 5.2 has at 0x00-0x0F and 0x11-0x17.
 * 0x10 and 0x11 are the 4.0-only NLS sort-section routines; 5.0's
 * BaseSrvNlsCreateSection took slot 0x10 with a different job, so 0x10 is
 * its own API here.  Chappell marks neither 0x02 (GetTempFile) nor 0x04
 * (DebugProcess) as failing trivially in 4.0, so both keep their names.
 */
static const struct csr_api_def nt4_basesrv[] = {
	API("BasepCreateProcess"),			/* 0x00010000 */
	API("BasepCreateThread"),			/* 0x00010001 */
	API("BasepGetTempFile"),			/* 0x00010002 */
	CLIENT("BasepExitProcess"),			/* 0x00010003 */
	CLIENT("BasepDebugProcess"),			/* 0x00010004 */
	API("BasepCheckVDM"),				/* 0x00010005 */
	API("BasepUpdateVDMEntry"),			/* 0x00010006 */
	API("BasepGetNextVDMCommand"),			/* 0x00010007 */
	API("BasepExitVDM"),				/* 0x00010008 */
	API("BasepIsFirstVDM"),				/* 0x00010009 */
	API("BasepGetVDMExitCode"),			/* 0x0001000A */
	API("BasepSetReenterCount"),			/* 0x0001000B */
	API("BasepSetProcessShutdownParam"),		/* 0x0001000C */
	API("BasepGetProcessShutdownParam"),		/* 0x0001000D */
	API("BasepNlsSetUserInfo"),			/* 0x0001000E */
	API("BasepNlsSetMultipleUserInfo"),		/* 0x0001000F */
	API("BasepNlsCreateSortSection"),		/* 0x00010010 */
	API("BasepNlsPreserveSection"),			/* 0x00010011 */
	API("BasepSetVDMCurDirs"),			/* 0x00010012 */
	API("BasepGetVDMCurDirs"),			/* 0x00010013 */
	API("BasepBatNotification"),			/* 0x00010014 */
	API("BasepRegisterWowExec"),			/* 0x00010015 */
	API("BasepSoundSentryNotification"),		/* 0x00010016 */
	API("BasepRefreshIniFileMapping"),		/* 0x00010017 */
	API("BasepDefineDosDevice"),			/* 0x00010018 */
};

/*
 * The 5.2 table without the 5.0 additions: no Get/SetHandleInformation
 * (5.2's 0x220-0x221), and it ends at SrvGetConsoleKeyboardLayoutName.
 * Chappell prints SrvSetConsoleTitle's 4.0 number as 0x00020025 and
 * SrvSetConsoleCommandHistoryMode's as 0x00020023C; their neighbours make
 * them 0x00020225 and 0x0002023C.
 */
static const struct csr_api_def nt4_consrv[] = {
	CLIENT("ConsolepOpenConsole"),			/* 0x00020200 */
	CLIENT("ConsolepGetConsoleInput"),		/* 0x00020201 */
	CLIENT("ConsolepWriteConsoleInput"),		/* 0x00020202 */
	CLIENT("ConsolepReadConsoleOutput"),		/* 0x00020203 */
	CLIENT("ConsolepWriteConsoleOutput"),		/* 0x00020204 */
	CLIENT("ConsolepReadConsoleOutputString"),	/* 0x00020205 */
	CLIENT("ConsolepWriteConsoleOutputString"),	/* 0x00020206 */
	CLIENT("ConsolepFillConsoleOutput"),		/* 0x00020207 */
	CLIENT("ConsolepGetMode"),			/* 0x00020208 */
	CLIENT("ConsolepGetNumberOfFonts"),		/* 0x00020209 */
	CLIENT("ConsolepGetNumberOfInputEvents"),	/* 0x0002020A */
	CLIENT("ConsolepGetScreenBufferInfo"),		/* 0x0002020B */
	CLIENT("ConsolepGetCursorInfo"),		/* 0x0002020C */
	CLIENT("ConsolepGetMouseInfo"),			/* 0x0002020D */
	CLIENT("ConsolepGetFontInfo"),			/* 0x0002020E */
	CLIENT("ConsolepGetFontSize"),			/* 0x0002020F */
	CLIENT("ConsolepGetCurrentFont"),		/* 0x00020210 */
	CLIENT("ConsolepSetMode"),			/* 0x00020211 */
	CLIENT("ConsolepSetActiveScreenBuffer"),	/* 0x00020212 */
	CLIENT("ConsolepFlushInputBuffer"),		/* 0x00020213 */
	CLIENT("ConsolepGetLargestWindowSize"),		/* 0x00020214 */
	CLIENT("ConsolepSetScreenBufferSize"),		/* 0x00020215 */
	CLIENT("ConsolepSetCursorPosition"),		/* 0x00020216 */
	CLIENT("ConsolepSetCursorInfo"),		/* 0x00020217 */
	CLIENT("ConsolepSetWindowInfo"),		/* 0x00020218 */
	CLIENT("ConsolepScrollScreenBuffer"),		/* 0x00020219 */
	CLIENT("ConsolepSetTextAttribute"),		/* 0x0002021A */
	CLIENT("ConsolepSetFont"),			/* 0x0002021B */
	CLIENT("ConsolepSetIcon"),			/* 0x0002021C */
	CLIENT("ConsolepReadConsole"),			/* 0x0002021D */
	CLIENT("ConsolepWriteConsole"),			/* 0x0002021E */
	CLIENT("ConsolepDuplicateHandle"),		/* 0x0002021F */
	CLIENT("ConsolepCloseHandle"),			/* 0x00020220 */
	CLIENT("ConsolepVerifyIoHandle"),		/* 0x00020221 */
	CLIENT("ConsolepAlloc"),			/* 0x00020222 */
	CLIENT("ConsolepFree"),				/* 0x00020223 */
	CLIENT("ConsolepGetTitle"),			/* 0x00020224 */
	CLIENT("ConsolepSetTitle"),			/* 0x00020225 */
	CLIENT("ConsolepCreateScreenBuffer"),		/* 0x00020226 */
	CLIENT("ConsolepInvalidateBitMapRect"),		/* 0x00020227 */
	CLIENT("ConsolepVDMOperation"),			/* 0x00020228 */
	CLIENT("ConsolepSetCursor"),			/* 0x00020229 */
	CLIENT("ConsolepShowCursor"),			/* 0x0002022A */
	CLIENT("ConsolepMenuControl"),			/* 0x0002022B */
	CLIENT("ConsolepSetPalette"),			/* 0x0002022C */
	CLIENT("ConsolepSetDisplayMode"),		/* 0x0002022D */
	CLIENT("ConsolepRegisterVDM"),			/* 0x0002022E */
	CLIENT("ConsolepGetHardwareState"),		/* 0x0002022F */
	CLIENT("ConsolepSetHardwareState"),		/* 0x00020230 */
	API("ConsolepGetDisplayMode"),			/* 0x00020231 */
	CLIENT("ConsolepAddAlias"),			/* 0x00020232 */
	CLIENT("ConsolepGetAlias"),			/* 0x00020233 */
	CLIENT("ConsolepGetAliasesLength"),		/* 0x00020234 */
	CLIENT("ConsolepGetAliasExesLength"),		/* 0x00020235 */
	CLIENT("ConsolepGetAliases"),			/* 0x00020236 */
	CLIENT("ConsolepGetAliasExes"),			/* 0x00020237 */
	CLIENT("ConsolepExpungeCommandHistory"),	/* 0x00020238 */
	CLIENT("ConsolepSetNumberOfCommands"),		/* 0x00020239 */
	CLIENT("ConsolepGetCommandHistoryLength"),	/* 0x0002023A */
	CLIENT("ConsolepGetCommandHistory"),		/* 0x0002023B */
	CLIENT("ConsolepSetCommandHistoryMode"),	/* 0x0002023C */
	CLIENT("ConsolepGetCP"),			/* 0x0002023D */
	CLIENT("ConsolepSetCP"),			/* 0x0002023E */
	CLIENT("ConsolepSetKeyShortcuts"),		/* 0x0002023F */
	CLIENT("ConsolepSetMenuClose"),			/* 0x00020240 */
	CLIENT("ConsolepNotifyLastClose"),		/* 0x00020241 */
	CLIENT("ConsolepGenerateCtrlEvent"),		/* 0x00020242 */
	CLIENT("ConsolepGetKeyboardLayoutName"),	/* 0x00020243 */
};

/*
 * 4.0 is the first kernel-mode-windowing user server; its low words start
 * at 0xA00 (0x400 from 5.0).  Only SrvInitSoundDriver, SrvPlaySound and
 * SrvGetThreadConsoleDesktop are noted valid as server calls.
 */
static const struct csr_api_def nt4_usersrv[] = {
	CLIENT("UserpExitWindowsEx"),			/* 0x00030A00 */
	CLIENT("UserpEndTask"),				/* 0x00030A01 */
	API("UserpInitSoundDriver"),			/* 0x00030A02 */
	API("UserpPlaySound"),				/* 0x00030A03 */
	CLIENT("UserpLogon"),				/* 0x00030A04 */
	CLIENT("UserpServiceMessageBox"),		/* 0x00030A05 */
	CLIENT("UserpRegisterServicesProcess"),		/* 0x00030A06 */
	CLIENT("UserpActivateDebugger"),		/* 0x00030A07 */
	API("UserpGetThreadConsoleDesktop"),		/* 0x00030A08 */
};

static const struct csr_profile profile_nt4 = {
	.name = "nt4",
	.description = "Windows NT 4.0",
	.source = "Geoff Chappell's dispatch-table studies, 4.0 columns: "
		  GC_CSRSRV " " GC_BASESRV " " GC_CONSRV " " GC_USERSRV,
	.dlls = {
		[0] = DLL("CSRSRV", 0, nt4_csrsrv),
		[1] = DLL("BASESRV", 0, nt4_basesrv),
		[2] = DLL("CONSRV", 0x200, nt4_consrv),
		[3] = DLL("USERSRV", 0xA00, nt4_usersrv),
	},
};

const struct csr_profile *const csr_profiles[] = {
	&profile_ws03, /* the default */
	&profile_xp,
	&profile_win7,
	&profile_nt4,
	NULL,
};

const struct csr_profile *csr_profile_find(const char *name)
{
	const struct csr_profile *const *p;

	if (!name)
		return NULL;
	for (p = csr_profiles; *p; p++)
		if (!strcasecmp((*p)->name, name))
			return *p;
	return NULL;
}

/*
 * The checks Chappell describes for CsrCallServerFromServer: the high word
 * picks a loaded server DLL, and the low word must lie in
 * [ApiNumberBase, MaxApiNumber).
 */
const char *csr_profile_api_name(const struct csr_profile *p,
				 unsigned api_number)
{
	unsigned index = api_number >> 16;
	unsigned low = api_number & 0xffff;
	const struct csr_dll_def *dll;

	if (!p || index >= CSR_SERVER_DLL_MAX)
		return NULL;
	dll = &p->dlls[index];
	if (!dll->name || low < dll->api_base ||
	    low - dll->api_base >= dll->count)
		return NULL;
	return dll->apis[low - dll->api_base].name;
}

/*
 * "DeadEntry" names several slots; the lowest is returned, which is as good
 * as any since they all answer alike.
 */
long csr_profile_api_number(const struct csr_profile *p, const char *name)
{
	unsigned i, j;

	if (!p || !name)
		return -1;
	for (i = 0; i < CSR_SERVER_DLL_MAX; i++) {
		const struct csr_dll_def *dll = &p->dlls[i];

		if (!dll->name)
			continue;
		for (j = 0; j < dll->count; j++)
			if (!strcasecmp(dll->apis[j].name, name))
				return (long)(i << 16 | (dll->api_base + j));
	}
	return -1;
}
