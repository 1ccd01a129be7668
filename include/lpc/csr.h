/* SPDX-License-Identifier: MIT */
/*
 * lpc/csr.h - the CSR (Client/Server Runtime) client API and message
 * layouts, on top of lpc/lpc.h.
 *
 * A process talks to csrd (the CSRSS-like server) through one LPC
 * connection to <ObjectDirectory>\ApiPort with a 64 KiB section as its
 * client view.  Every call is a CSR_API_MESSAGE whose ApiNumber is
 * (ServerDllIndex << 16) | ApiIndex; variable-length arguments travel in a
 * capture buffer allocated inside the client view, which the server
 * validates and copies (spec section 12).
 *
 * Layouts are the x86-64 ones: sizeof(CSR_API_MESSAGE) is 376, its Data
 * union starts at 64 and holds 312 bytes.  The per-API structures below are
 * this project's (fields named as NT's clients name them); each fits in
 * Data.
 */
#ifndef LPC_CSR_H
#define LPC_CSR_H

#include <lpc/lpc.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Statuses CSR servers answer with that lpc.h does not list. */
#ifndef STATUS_QUOTA_EXCEEDED
#define STATUS_QUOTA_EXCEEDED		((NTSTATUS)0xC0000044L)
#endif
#ifndef STATUS_REVISION_MISMATCH
#define STATUS_REVISION_MISMATCH	((NTSTATUS)0xC0000059L)
#endif
#ifndef STATUS_PROCESS_IS_TERMINATING
#define STATUS_PROCESS_IS_TERMINATING	((NTSTATUS)0xC000010AL)
#endif
#ifndef STATUS_CANCELLED
#define STATUS_CANCELLED		((NTSTATUS)0xC0000120L)
#endif
#ifndef STATUS_ALERTED
#define STATUS_ALERTED			((NTSTATUS)0x00000101L)
#endif

/* ------------------------------------------------------------------ */
/* API numbers                                                         */
/* ------------------------------------------------------------------ */

typedef ULONG CSR_API_NUMBER;

#define CSR_MAKE_API_NUMBER(ServerId, ApiIndex)                               \
	((CSR_API_NUMBER)(((ULONG)(ServerId) << 16) | ((ULONG)(ApiIndex) & 0xffff)))
#define CSR_API_NUMBER_TO_SERVER_ID(n) ((ULONG)(n) >> 16)
#define CSR_API_NUMBER_TO_API_ID(n)    ((ULONG)(n) & 0xffff)

/* Server DLL indices (spec 12.8). */
#define CSRSRV_SERVERDLL_INDEX	0
#define BASESRV_SERVERDLL_INDEX	1
#define CONSRV_SERVERDLL_INDEX	2
#define USERSRV_SERVERDLL_INDEX	3
#define SXSSRV_SERVERDLL_INDEX	4

/* The numbers of the APIs csrd implements, in the Windows Server 2003
 * numbering (csrd's default profile; other profiles renumber). */
#define CSRSRV_CLIENT_CONNECT		CSR_MAKE_API_NUMBER(0, 0x0000)
#define CSRSRV_THREAD_CONNECT		CSR_MAKE_API_NUMBER(0, 0x0001)
#define CSRSRV_PROFILE_CONTROL		CSR_MAKE_API_NUMBER(0, 0x0002)
#define CSRSRV_IDENTIFY_ALERTABLE	CSR_MAKE_API_NUMBER(0, 0x0003)
#define CSRSRV_SET_PRIORITY_CLASS	CSR_MAKE_API_NUMBER(0, 0x0004)

#define BASESRV_CREATE_PROCESS		CSR_MAKE_API_NUMBER(1, 0x0000)
#define BASESRV_CREATE_THREAD		CSR_MAKE_API_NUMBER(1, 0x0001)
#define BASESRV_GET_TEMP_FILE		CSR_MAKE_API_NUMBER(1, 0x0002)
#define BASESRV_EXIT_PROCESS		CSR_MAKE_API_NUMBER(1, 0x0003)
#define BASESRV_SET_PROCESS_SHUTDOWN_PARAM CSR_MAKE_API_NUMBER(1, 0x000c)
#define BASESRV_GET_PROCESS_SHUTDOWN_PARAM CSR_MAKE_API_NUMBER(1, 0x000d)
#define BASESRV_NLS_SET_USER_INFO	CSR_MAKE_API_NUMBER(1, 0x000e)
#define BASESRV_DEFINE_DOS_DEVICE	CSR_MAKE_API_NUMBER(1, 0x0017)
#define BASESRV_NLS_GET_USER_INFO	CSR_MAKE_API_NUMBER(1, 0x001e)

#define CONSRV_OPEN_CONSOLE		CSR_MAKE_API_NUMBER(2, 0x0200)
#define CONSRV_WRITE_CONSOLE_INPUT	CSR_MAKE_API_NUMBER(2, 0x0202)
#define CONSRV_GET_MODE			CSR_MAKE_API_NUMBER(2, 0x0208)
#define CONSRV_SET_MODE			CSR_MAKE_API_NUMBER(2, 0x0211)
#define CONSRV_READ_CONSOLE		CSR_MAKE_API_NUMBER(2, 0x021d)
#define CONSRV_WRITE_CONSOLE		CSR_MAKE_API_NUMBER(2, 0x021e)
#define CONSRV_CLOSE_HANDLE		CSR_MAKE_API_NUMBER(2, 0x0222)
#define CONSRV_ALLOC_CONSOLE		CSR_MAKE_API_NUMBER(2, 0x0224)
#define CONSRV_FREE_CONSOLE		CSR_MAKE_API_NUMBER(2, 0x0225)
#define CONSRV_GET_TITLE		CSR_MAKE_API_NUMBER(2, 0x0226)
#define CONSRV_SET_TITLE		CSR_MAKE_API_NUMBER(2, 0x0227)

#define USERSRV_EXIT_WINDOWS_EX		CSR_MAKE_API_NUMBER(3, 0x0400)
#define USERSRV_END_TASK		CSR_MAKE_API_NUMBER(3, 0x0401)

/* ------------------------------------------------------------------ */
/* Connection                                                          */
/* ------------------------------------------------------------------ */

/* The client view every process creates (ntdll's CSR_CSRSS_SECTION_SIZE). */
#define CSR_PORT_VIEW_SIZE 65536

/* The default object directory; the port is <directory>\ApiPort. */
#define CSR_DEFAULT_OBJECT_DIRECTORY "\\Windows"
#define CSR_PORT_NAME "ApiPort"

/* Connection information of the LPC connection itself, both ways (spec
 * 12.1; 56 bytes on x86-64). */
typedef struct _CSR_API_CONNECTINFO {
	HANDLE ObjectDirectory;
	PVOID SharedSectionBase;
	PVOID SharedStaticServerData;
	PVOID SharedSectionHeap;
	ULONG DebugFlags;
	ULONG SizeOfPebData;
	ULONG SizeOfTebData;
	ULONG NumberOfServerDllNames;
	HANDLE ServerProcessId;
} CSR_API_CONNECTINFO, *PCSR_API_CONNECTINFO;

/* ------------------------------------------------------------------ */
/* Capture buffers                                                     */
/* ------------------------------------------------------------------ */

typedef struct _CSR_CAPTURE_BUFFER {
	ULONG Size;
	struct _CSR_CAPTURE_BUFFER *PreviousCaptureBuffer;
	ULONG PointerCount;
	PVOID BufferEnd;
	ULONG_PTR PointerOffsetsArray[];
} CSR_CAPTURE_BUFFER, *PCSR_CAPTURE_BUFFER;

#define CSR_CAPTURE_BUFFER_HEADER_SIZE 32

typedef const CHAR *PCSTR;

/* ANSI counted string (CsrCaptureMessageString's output). */
typedef struct _STRING {
	USHORT Length;
	USHORT MaximumLength;
	PCHAR Buffer;
} STRING, *PSTRING, ANSI_STRING, *PANSI_STRING;

/* ------------------------------------------------------------------ */
/* Per-API messages (this project's layouts)                           */
/* ------------------------------------------------------------------ */

/* CSRSRV */
typedef struct _CSR_CLIENT_CONNECT {
	ULONG ServerId;
	PVOID ConnectionInfo;		/* captured */
	ULONG ConnectionInfoSize;
} CSR_CLIENT_CONNECT, *PCSR_CLIENT_CONNECT;

typedef struct _CSR_IDENTIFY_ALTERTABLE_THREAD {
	CLIENT_ID Cid;
} CSR_IDENTIFY_ALTERTABLE_THREAD, *PCSR_IDENTIFY_ALTERTABLE_THREAD;

/* PriorityClass values csrd accepts. */
#define CSR_PRIORITY_CLASS_NORMAL	2
#define CSR_PRIORITY_CLASS_BACKGROUND	0x10
#define CSR_PRIORITY_CLASS_FOREGROUND	0x20

typedef struct _CSR_SET_PRIORITY_CLASS {
	HANDLE ProcessHandle;		/* NtCurrentProcess() or a pid */
	ULONG PriorityClass;
} CSR_SET_PRIORITY_CLASS, *PCSR_SET_PRIORITY_CLASS;

/* Per-server-DLL connection information (CsrClientConnectToServer). */
typedef struct _BASESRV_API_CONNECTINFO {
	ULONG DebugFlags;		/* in */
	ULONG ExpectedVersion;		/* in: BASESRV_VERSION */
	ULONG TempFileCounter;		/* out */
	ULONG SessionId;		/* out */
} BASESRV_API_CONNECTINFO, *PBASESRV_API_CONNECTINFO;
#define BASESRV_VERSION 0x10000

typedef struct _CONSRV_API_CONNECTINFO {
	HANDLE ConsoleHandle;		/* out: the process's console, if any */
	ULONG ConsoleCount;		/* out */
	ULONG Reserved;
} CONSRV_API_CONNECTINFO, *PCONSRV_API_CONNECTINFO;

typedef struct _USERSRV_API_CONNECTINFO {
	ULONG ulVersion;		/* in: USERSRV_VERSION */
	ULONG ulCurrentVersion;		/* out */
	ULONG dwDispatchCount;		/* out: USERSRV's table size */
	ULONG Reserved;
} USERSRV_API_CONNECTINFO, *PUSERSRV_API_CONNECTINFO;
#define USERSRV_VERSION 0x50002

/* BASESRV */
typedef struct _BASE_CREATE_PROCESS {
	HANDLE ProcessHandle;		/* ignored on Linux */
	HANDLE ThreadHandle;		/* ignored on Linux */
	CLIENT_ID ClientId;		/* the new process and its thread */
	ULONG CreationFlags;
	ULONG VdmBinaryType;
} BASE_CREATE_PROCESS, *PBASE_CREATE_PROCESS;

typedef struct _BASE_CREATE_THREAD {
	HANDLE ThreadHandle;		/* ignored on Linux */
	CLIENT_ID ClientId;		/* a thread of the caller's process */
} BASE_CREATE_THREAD, *PBASE_CREATE_THREAD;

typedef struct _BASE_GET_TEMP_FILE {
	ULONG UniqueId;			/* out */
} BASE_GET_TEMP_FILE, *PBASE_GET_TEMP_FILE;

typedef struct _BASE_EXIT_PROCESS {
	ULONG uExitCode;
} BASE_EXIT_PROCESS, *PBASE_EXIT_PROCESS;

#define SHUTDOWN_NORETRY 0x00000001
typedef struct _BASE_GETSET_PROCESS_SHUTDOWN_PARAMS {
	ULONG ShutdownLevel;		/* 0..0x4ff */
	ULONG ShutdownFlags;		/* SHUTDOWN_NORETRY */
} BASE_GETSET_PROCESS_SHUTDOWN_PARAMS,
	*PBASE_GETSET_PROCESS_SHUTDOWN_PARAMS;

/* The NLS user settings csrd keeps (one value per LCTYPE it knows). */
#define NLS_MAX_VALUE_CHARS 80
typedef struct _NLS_USER_INFO {
	WCHAR sDecimal[NLS_MAX_VALUE_CHARS];
	WCHAR sThousand[NLS_MAX_VALUE_CHARS];
	WCHAR sList[NLS_MAX_VALUE_CHARS];
	WCHAR sTimeFormat[NLS_MAX_VALUE_CHARS];
	WCHAR sShortDate[NLS_MAX_VALUE_CHARS];
	WCHAR sLongDate[NLS_MAX_VALUE_CHARS];
	WCHAR sCurrency[NLS_MAX_VALUE_CHARS];
	ULONG UserLocaleId;
	ULONG ulCacheUpdateCount;
} NLS_USER_INFO, *PNLS_USER_INFO;

/* LCTYPE values BasepNlsSetUserInfo accepts (winnls.h numbers). */
#define LOCALE_SLIST		0x0000000C
#define LOCALE_SDECIMAL		0x0000000E
#define LOCALE_STHOUSAND	0x0000000F
#define LOCALE_SCURRENCY	0x00000014
#define LOCALE_SSHORTDATE	0x0000001F
#define LOCALE_SLONGDATE	0x00000020
#define LOCALE_STIMEFORMAT	0x00001003

typedef struct _BASE_NLS_SET_USER_INFO {
	ULONG LCType;
	PWSTR pData;			/* captured, NUL-terminated */
	ULONG DataLength;		/* bytes, including the NUL */
} BASE_NLS_SET_USER_INFO, *PBASE_NLS_SET_USER_INFO;

typedef struct _BASE_NLS_GET_USER_INFO {
	PNLS_USER_INFO NlsUserInfo;	/* captured */
	ULONG SizeOfNlsUserInfo;	/* sizeof(NLS_USER_INFO) */
} BASE_NLS_GET_USER_INFO, *PBASE_NLS_GET_USER_INFO;

/* DefineDosDevice flags (winbase.h values). */
#define DDD_RAW_TARGET_PATH		0x00000001
#define DDD_REMOVE_DEFINITION		0x00000002
#define DDD_EXACT_MATCH_ON_REMOVE	0x00000004
#define DDD_NO_BROADCAST_SYSTEM		0x00000008

typedef struct _BASE_DEFINE_DOS_DEVICE {
	ULONG Flags;
	UNICODE_STRING DeviceName;	/* Buffer captured */
	UNICODE_STRING TargetPath;	/* Buffer captured, or empty */
} BASE_DEFINE_DOS_DEVICE, *PBASE_DEFINE_DOS_DEVICE;

/* CONSRV */
#define CONSOLE_INPUT_HANDLE_TYPE	1
#define CONSOLE_OUTPUT_HANDLE_TYPE	2

typedef struct _CONSOLE_OPENCONSOLE {
	HANDLE Handle;			/* out */
	ULONG HandleType;		/* CONSOLE_{INPUT,OUTPUT}_HANDLE_TYPE */
	ACCESS_MASK DesiredAccess;
	BOOLEAN InheritHandle;
	ULONG ShareMode;
} CONSOLE_OPENCONSOLE, *PCONSOLE_OPENCONSOLE;

typedef struct _CONSOLE_ALLOCCONSOLE {
	PWSTR Title;			/* captured, or NULL */
	ULONG TitleLength;		/* bytes */
	HANDLE InputHandle;		/* out */
	HANDLE OutputHandle;		/* out */
} CONSOLE_ALLOCCONSOLE, *PCONSOLE_ALLOCCONSOLE;

typedef struct _CONSOLE_GETSETCONSOLETITLE {
	ULONG Length;			/* bytes; get: in buffer size, out used */
	PWSTR Title;			/* captured */
} CONSOLE_GETSETCONSOLETITLE, *PCONSOLE_GETSETCONSOLETITLE;
#define CONSOLE_MAX_TITLE_CHARS 1024

/* Console modes (wincon.h values). */
#define ENABLE_PROCESSED_INPUT		0x0001
#define ENABLE_LINE_INPUT		0x0002
#define ENABLE_ECHO_INPUT		0x0004
#define ENABLE_WINDOW_INPUT		0x0008
#define ENABLE_MOUSE_INPUT		0x0010
#define ENABLE_INSERT_MODE		0x0020
#define ENABLE_QUICK_EDIT_MODE		0x0040
#define ENABLE_EXTENDED_FLAGS		0x0080
#define ENABLE_PROCESSED_OUTPUT		0x0001
#define ENABLE_WRAP_AT_EOL_OUTPUT	0x0002

typedef struct _CONSOLE_GETSETCONSOLEMODE {
	HANDLE Handle;
	ULONG Mode;
} CONSOLE_GETSETCONSOLEMODE, *PCONSOLE_GETSETCONSOLEMODE;

typedef struct _CONSOLE_WRITECONSOLE {
	HANDLE OutputHandle;
	PVOID Buffer;			/* captured */
	ULONG NumBytes;			/* in: bytes to write; out: written */
	BOOLEAN Unicode;
} CONSOLE_WRITECONSOLE, *PCONSOLE_WRITECONSOLE;

/* ReadConsole waits (the server answers later: CsrReplyPending) until
 * input arrives through WriteConsoleInput. */
typedef struct _CONSOLE_READCONSOLE {
	HANDLE InputHandle;
	PVOID Buffer;			/* captured */
	ULONG NumBytes;			/* in: buffer size; out: bytes read */
	BOOLEAN Unicode;
} CONSOLE_READCONSOLE, *PCONSOLE_READCONSOLE;

typedef struct _CONSOLE_WRITEINPUT {
	HANDLE InputHandle;
	PVOID Buffer;			/* captured: characters to queue */
	ULONG NumBytes;			/* in; out: bytes queued */
	BOOLEAN Unicode;
} CONSOLE_WRITEINPUT, *PCONSOLE_WRITEINPUT;

typedef struct _CONSOLE_CLOSEHANDLE {
	HANDLE Handle;
} CONSOLE_CLOSEHANDLE, *PCONSOLE_CLOSEHANDLE;

/* USERSRV */
#define EWX_LOGOFF	0x00000000
#define EWX_SHUTDOWN	0x00000001
#define EWX_REBOOT	0x00000002
#define EWX_FORCE	0x00000004
#define EWX_POWEROFF	0x00000008
#define EWX_FORCEIFHUNG	0x00000010

typedef struct _USER_EXIT_REACTOS {
	ULONG Flags;			/* EWX_* */
	ULONG Reserved;
	CLIENT_ID LastThreadId;		/* out */
} USER_EXIT_REACTOS, *PUSER_EXIT_REACTOS;

typedef struct _USER_END_TASK {
	HANDLE ProcessId;		/* the process to end (a CSR client) */
	BOOLEAN Force;			/* SIGKILL instead of SIGTERM */
	CLIENT_ID LastThreadId;		/* out */
} USER_END_TASK, *PUSER_END_TASK;

/* ------------------------------------------------------------------ */
/* The message                                                         */
/* ------------------------------------------------------------------ */

typedef struct _CSR_API_MESSAGE {
	PORT_MESSAGE Header;
	union {
		CSR_API_CONNECTINFO ConnectionInfo; /* the LPC connect only */
		struct {
			PCSR_CAPTURE_BUFFER CsrCaptureData;
			CSR_API_NUMBER ApiNumber;
			NTSTATUS Status;
			ULONG Reserved;
			union {
				CSR_CLIENT_CONNECT CsrClientConnect;
				CSR_IDENTIFY_ALTERTABLE_THREAD IdentifyAlertable;
				CSR_SET_PRIORITY_CLASS SetPriorityClass;
				BASE_CREATE_PROCESS CreateProcessRequest;
				BASE_CREATE_THREAD CreateThreadRequest;
				BASE_GET_TEMP_FILE GetTempFileRequest;
				BASE_EXIT_PROCESS ExitProcessRequest;
				BASE_GETSET_PROCESS_SHUTDOWN_PARAMS
					ShutdownParametersRequest;
				BASE_NLS_SET_USER_INFO NlsSetUserInfo;
				BASE_NLS_GET_USER_INFO NlsGetUserInfo;
				BASE_DEFINE_DOS_DEVICE DefineDosDeviceRequest;
				CONSOLE_OPENCONSOLE OpenConsoleRequest;
				CONSOLE_ALLOCCONSOLE AllocConsoleRequest;
				CONSOLE_GETSETCONSOLETITLE TitleRequest;
				CONSOLE_GETSETCONSOLEMODE ConsoleModeRequest;
				CONSOLE_WRITECONSOLE WriteConsoleRequest;
				CONSOLE_READCONSOLE ReadConsoleRequest;
				CONSOLE_WRITEINPUT WriteInputRequest;
				CONSOLE_CLOSEHANDLE CloseHandleRequest;
				USER_EXIT_REACTOS ExitReactosRequest;
				USER_END_TASK EndTaskRequest;
				ULONG_PTR ApiMessageData[39];
			} Data;
		};
	};
} CSR_API_MESSAGE, *PCSR_API_MESSAGE;

#define CSR_API_MESSAGE_HEADER_SIZE 64	/* FIELD_OFFSET(.., Data) */

/* ------------------------------------------------------------------ */
/* The client API (libcsr)                                             */
/* ------------------------------------------------------------------ */

/*
 * CsrClientConnectToServer - connect this process to csrd (once; later
 * calls reuse the connection) and, when ServerId is not CSRSRV, call that
 * server DLL's connect routine with ConnectionInfo (in/out,
 * *ConnectionInfoSize bytes).  ObjectDirectory NULL means "\Windows".
 * *ServerToServerCall, if given, is set to FALSE (csrd never runs clients
 * in its own process).
 *
 * The server must run as root (LocalSystem), as ntdll requires; a client
 * that is not root also accepts a server running under its own uid.
 */
NTSYSAPI NTSTATUS NTAPI CsrClientConnectToServer(PWSTR ObjectDirectory,
						  ULONG ServerId,
						  PVOID ConnectionInfo,
						  PULONG ConnectionInfoSize,
						  PBOOLEAN ServerToServerCall);

/*
 * CsrClientCallServer - send ApiMessage to csrd and wait for its answer in
 * the same buffer; DataLength is the size of the per-API structure.  With
 * a CaptureBuffer, pointer fields recorded in it are moved into the
 * server's view of the section for the call and moved back after it
 * (spec 12.4).  Returns the server's Status (also left in ApiMessage), or
 * the LPC failure.  A thread's first call registers it with csrd.
 */
NTSYSAPI NTSTATUS NTAPI CsrClientCallServer(PCSR_API_MESSAGE ApiMessage,
					     PCSR_CAPTURE_BUFFER CaptureBuffer,
					     CSR_API_NUMBER ApiNumber,
					     ULONG DataLength);

/* A capture buffer for ArgumentCount pointers and BufferSize bytes, inside
 * the client view; NULL when the process is not connected or the view is
 * full.  Free with CsrFreeCaptureBuffer. */
NTSYSAPI PCSR_CAPTURE_BUFFER NTAPI CsrAllocateCaptureBuffer(ULONG ArgumentCount,
							    ULONG BufferSize);

/* Hand out MessageLength bytes (rounded up to 4) of the buffer and point
 * *CapturedData at them, recording CapturedData (a field of the message
 * to be sent) for the fix-ups.  Returns the rounded length; 0 (and
 * *CapturedData NULL) for MessageLength 0. */
NTSYSAPI ULONG NTAPI CsrAllocateMessagePointer(PCSR_CAPTURE_BUFFER CaptureBuffer,
					       ULONG MessageLength,
					       PVOID *CapturedData);

/* CsrAllocateMessagePointer, then copy MessageBuffer in (if non-NULL). */
NTSYSAPI VOID NTAPI CsrCaptureMessageBuffer(PCSR_CAPTURE_BUFFER CaptureBuffer,
					    PVOID MessageBuffer,
					    ULONG MessageLength,
					    PVOID *CapturedData);

/* Capture an ANSI string of StringLength bytes into a buffer of
 * MaximumLength bytes (NUL-terminated when it fits) described by
 * CapturedString. */
NTSYSAPI VOID NTAPI CsrCaptureMessageString(PCSR_CAPTURE_BUFFER CaptureBuffer,
					    PCSTR String, ULONG StringLength,
					    ULONG MaximumLength,
					    PSTRING CapturedString);

NTSYSAPI VOID NTAPI CsrFreeCaptureBuffer(PCSR_CAPTURE_BUFFER CaptureBuffer);

/* csrd's process id as its connection reported it; NULL before the first
 * connection. */
NTSYSAPI HANDLE NTAPI CsrGetProcessId(VOID);

/* Linux extension: forget the connection (closes the port and unmaps the
 * view).  The next call connects again.  A forked child starts
 * disconnected without calling this. */
NTSYSAPI VOID NTAPI CsrClientDisconnect(VOID);

/* The x86-64 layouts of spec 12 (sizes compiled with MS alignment). */
#if defined(__x86_64__) || defined(__aarch64__)
#ifdef __cplusplus
#define CSR__ASSERT(c, m) static_assert(c, m)
#else
#define CSR__ASSERT(c, m) _Static_assert(c, m)
#endif
#define LPC__ASSERT_OFF(t, f, o) CSR__ASSERT(offsetof(t, f) == (o), #t "." #f)
#define LPC__ASSERT_SIZE(t, s) CSR__ASSERT(sizeof(t) == (s), "sizeof " #t)
LPC__ASSERT_SIZE(CSR_API_CONNECTINFO, 56);
LPC__ASSERT_SIZE(CSR_API_MESSAGE, 376);
LPC__ASSERT_OFF(CSR_API_MESSAGE, CsrCaptureData, 40);
LPC__ASSERT_OFF(CSR_API_MESSAGE, ApiNumber, 48);
LPC__ASSERT_OFF(CSR_API_MESSAGE, Status, 52);
LPC__ASSERT_OFF(CSR_API_MESSAGE, Reserved, 56);
LPC__ASSERT_OFF(CSR_API_MESSAGE, Data, CSR_API_MESSAGE_HEADER_SIZE);
LPC__ASSERT_OFF(CSR_CAPTURE_BUFFER, PreviousCaptureBuffer, 8);
LPC__ASSERT_OFF(CSR_CAPTURE_BUFFER, PointerCount, 16);
LPC__ASSERT_OFF(CSR_CAPTURE_BUFFER, BufferEnd, 24);
LPC__ASSERT_OFF(CSR_CAPTURE_BUFFER, PointerOffsetsArray,
		CSR_CAPTURE_BUFFER_HEADER_SIZE);
CSR__ASSERT(sizeof(NLS_USER_INFO) <= 65536 - 64, "NLS_USER_INFO fits a view");
#undef LPC__ASSERT_OFF
#undef LPC__ASSERT_SIZE
#undef CSR__ASSERT
#endif

#ifdef __cplusplus
}
#endif

#endif
