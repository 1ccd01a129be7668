/* SPDX-License-Identifier: MIT */
/*
 * lpc.h - Windows NT LPC ("port") API for Linux processes.
 *
 * Names, parameter order, types and x86-64 layouts are those of ntdll's
 * legacy LPC interface, so code written against it compiles unchanged.
 * Semantics, status codes and the order of argument checks follow
 * shared/spec/lpc-semantics.md; where the spec leaves a question open the
 * choice is recorded in docs/decisions.md.
 *
 * Strings: WCHAR is 16 bits.  Use u"..." literals, or build NT code that
 * uses L"..." with -fshort-wchar.
 *
 * Linux specifics:
 *  - ClientId is (process id, Linux thread id).
 *  - Named ports live under $LPC_ROOT (see docs/namespace.md).
 *  - After fork() the child starts with an empty handle table.
 *  - Impersonation is reverted with
 *    NtSetInformationThread(NtCurrentThread(), ThreadImpersonationToken,
 *                           &null_handle, sizeof(HANDLE)).
 */
#ifndef LPC_LPC_H
#define LPC_LPC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ */
/* Basic NT types                                                      */
/* ------------------------------------------------------------------ */

#ifndef NTAPI
#define NTAPI
#endif
#ifndef NTSYSAPI
#define NTSYSAPI __attribute__((visibility("default")))
#endif
#ifndef NTSYSCALLAPI
#define NTSYSCALLAPI NTSYSAPI
#endif
#ifndef IN
#define IN
#endif
#ifndef OUT
#define OUT
#endif
#ifndef OPTIONAL
#define OPTIONAL
#endif

typedef void VOID, *PVOID;
typedef const void *PCVOID;
typedef void *HANDLE, **PHANDLE;
typedef unsigned char UCHAR, *PUCHAR, BOOLEAN, *PBOOLEAN;
typedef char CHAR, *PCHAR;
typedef int16_t SHORT, CSHORT;
typedef uint16_t USHORT, *PUSHORT;
typedef int32_t LONG, *PLONG;
typedef uint32_t ULONG, *PULONG, DWORD;
typedef int64_t LONGLONG;
typedef uint64_t ULONGLONG;
typedef uintptr_t ULONG_PTR, *PULONG_PTR;
typedef intptr_t LONG_PTR;
typedef size_t SIZE_T, *PSIZE_T;
typedef uint16_t WCHAR, *PWCHAR, *PWSTR;
typedef const WCHAR *PCWSTR;
typedef LONG NTSTATUS, *PNTSTATUS;
typedef ULONG ACCESS_MASK;

typedef struct _SID_IDENTIFIER_AUTHORITY {
	UCHAR Value[6];
} SID_IDENTIFIER_AUTHORITY, *PSID_IDENTIFIER_AUTHORITY;

typedef struct _SID {
	UCHAR Revision;
	UCHAR SubAuthorityCount;
	SID_IDENTIFIER_AUTHORITY IdentifierAuthority;
	ULONG SubAuthority[1];
} SID;
typedef PVOID PSID;

#define SID_REVISION 1
#define SECURITY_NT_AUTHORITY { { 0, 0, 0, 0, 0, 5 } }
#define SECURITY_UNIX_USER_AUTHORITY { { 0, 0, 0, 0, 0, 22 } } /* S-1-22-1-uid */
#define SECURITY_LOCAL_SYSTEM_RID 18

#ifndef TRUE
#define TRUE 1
#endif
#ifndef FALSE
#define FALSE 0
#endif

typedef union _LARGE_INTEGER {
	struct {
		ULONG LowPart;
		LONG HighPart;
	};
	struct {
		ULONG LowPart;
		LONG HighPart;
	} u;
	LONGLONG QuadPart;
} LARGE_INTEGER, *PLARGE_INTEGER;

typedef struct _CLIENT_ID {
	HANDLE UniqueProcess;
	HANDLE UniqueThread;
} CLIENT_ID, *PCLIENT_ID;

typedef struct _UNICODE_STRING {
	USHORT Length;		/* bytes, without a terminator */
	USHORT MaximumLength;	/* bytes */
	PWSTR Buffer;
} UNICODE_STRING, *PUNICODE_STRING;
typedef const UNICODE_STRING *PCUNICODE_STRING;

#define OBJ_INHERIT		0x00000002L
#define OBJ_PERMANENT		0x00000010L
#define OBJ_EXCLUSIVE		0x00000020L
#define OBJ_CASE_INSENSITIVE	0x00000040L
#define OBJ_OPENIF		0x00000080L
#define OBJ_OPENLINK		0x00000100L
#define OBJ_KERNEL_HANDLE	0x00000200L
#define OBJ_FORCE_ACCESS_CHECK	0x00000400L
#define OBJ_VALID_ATTRIBUTES	0x000007F2L

typedef struct _OBJECT_ATTRIBUTES {
	ULONG Length;
	HANDLE RootDirectory;
	PUNICODE_STRING ObjectName;
	ULONG Attributes;
	PVOID SecurityDescriptor;
	PVOID SecurityQualityOfService;
} OBJECT_ATTRIBUTES, *POBJECT_ATTRIBUTES;

#define InitializeObjectAttributes(p, n, a, r, s)                              \
	do {                                                                   \
		(p)->Length = sizeof(OBJECT_ATTRIBUTES);                       \
		(p)->RootDirectory = (r);                                      \
		(p)->Attributes = (a);                                         \
		(p)->ObjectName = (n);                                         \
		(p)->SecurityDescriptor = (s);                                 \
		(p)->SecurityQualityOfService = NULL;                          \
	} while (0)

typedef enum _SECURITY_IMPERSONATION_LEVEL {
	SecurityAnonymous,
	SecurityIdentification,
	SecurityImpersonation,
	SecurityDelegation
} SECURITY_IMPERSONATION_LEVEL, *PSECURITY_IMPERSONATION_LEVEL;

typedef BOOLEAN SECURITY_CONTEXT_TRACKING_MODE;
#define SECURITY_DYNAMIC_TRACKING TRUE
#define SECURITY_STATIC_TRACKING FALSE

typedef struct _SECURITY_QUALITY_OF_SERVICE {
	ULONG Length;
	SECURITY_IMPERSONATION_LEVEL ImpersonationLevel;
	SECURITY_CONTEXT_TRACKING_MODE ContextTrackingMode;
	BOOLEAN EffectiveOnly;
} SECURITY_QUALITY_OF_SERVICE, *PSECURITY_QUALITY_OF_SERVICE;

#define NtCurrentProcess() ((HANDLE)(LONG_PTR)-1)
#define NtCurrentThread() ((HANDLE)(LONG_PTR)-2)

#define NT_SUCCESS(Status) (((NTSTATUS)(Status)) >= 0)

/* ------------------------------------------------------------------ */
/* Status codes (spec section 1.4 and the ones the engine adds)         */
/* ------------------------------------------------------------------ */

#define STATUS_SUCCESS			((NTSTATUS)0x00000000L)
#define STATUS_TIMEOUT			((NTSTATUS)0x00000102L)
#define STATUS_PENDING			((NTSTATUS)0x00000103L)
#define STATUS_USER_APC			((NTSTATUS)0x000000C0L)
#define DBG_CONTINUE			((NTSTATUS)0x00010002L)
#define STATUS_DATATYPE_MISALIGNMENT	((NTSTATUS)0x80000002L)
#define STATUS_BREAKPOINT		((NTSTATUS)0x80000003L)
#define STATUS_SINGLE_STEP		((NTSTATUS)0x80000004L)
#define STATUS_PARTIAL_COPY		((NTSTATUS)0x8000000DL)
#define DBG_EXCEPTION_NOT_HANDLED	((NTSTATUS)0x80010001L)
#define STATUS_UNSUCCESSFUL		((NTSTATUS)0xC0000001L)
#define STATUS_NOT_IMPLEMENTED		((NTSTATUS)0xC0000002L)
#define STATUS_INVALID_INFO_CLASS	((NTSTATUS)0xC0000003L)
#define STATUS_INFO_LENGTH_MISMATCH	((NTSTATUS)0xC0000004L)
#define STATUS_ACCESS_VIOLATION		((NTSTATUS)0xC0000005L)
#define STATUS_IN_PAGE_ERROR		((NTSTATUS)0xC0000006L)
#define STATUS_INVALID_HANDLE		((NTSTATUS)0xC0000008L)
#define STATUS_INVALID_CID		((NTSTATUS)0xC000000BL)
#define STATUS_INVALID_PARAMETER	((NTSTATUS)0xC000000DL)
#define STATUS_NO_MEMORY		((NTSTATUS)0xC0000017L)
#define STATUS_ILLEGAL_INSTRUCTION	((NTSTATUS)0xC000001DL)
#define STATUS_ACCESS_DENIED		((NTSTATUS)0xC0000022L)
#define STATUS_BUFFER_TOO_SMALL		((NTSTATUS)0xC0000023L)
#define STATUS_OBJECT_TYPE_MISMATCH	((NTSTATUS)0xC0000024L)
#define STATUS_PORT_MESSAGE_TOO_LONG	((NTSTATUS)0xC000002FL)
#define STATUS_OBJECT_NAME_INVALID	((NTSTATUS)0xC0000033L)
#define STATUS_OBJECT_NAME_NOT_FOUND	((NTSTATUS)0xC0000034L)
#define STATUS_OBJECT_NAME_COLLISION	((NTSTATUS)0xC0000035L)
#define STATUS_PORT_DISCONNECTED	((NTSTATUS)0xC0000037L)
#define STATUS_OBJECT_PATH_INVALID	((NTSTATUS)0xC0000039L)
#define STATUS_OBJECT_PATH_NOT_FOUND	((NTSTATUS)0xC000003AL)
#define STATUS_OBJECT_PATH_SYNTAX_BAD	((NTSTATUS)0xC000003BL)
#define STATUS_PORT_CONNECTION_REFUSED	((NTSTATUS)0xC0000041L)
#define STATUS_INVALID_PORT_HANDLE	((NTSTATUS)0xC0000042L)
#define STATUS_PORT_ALREADY_SET		((NTSTATUS)0xC0000048L)
#define STATUS_THREAD_IS_TERMINATING	((NTSTATUS)0xC000004BL)
#define STATUS_FLOAT_DIVIDE_BY_ZERO	((NTSTATUS)0xC000008EL)
#define STATUS_FLOAT_INVALID_OPERATION	((NTSTATUS)0xC0000090L)
#define STATUS_FLOAT_OVERFLOW		((NTSTATUS)0xC0000091L)
#define STATUS_FLOAT_UNDERFLOW		((NTSTATUS)0xC0000093L)
#define STATUS_INTEGER_DIVIDE_BY_ZERO	((NTSTATUS)0xC0000094L)
#define STATUS_INTEGER_OVERFLOW		((NTSTATUS)0xC0000095L)
#define STATUS_INSUFFICIENT_RESOURCES	((NTSTATUS)0xC000009AL)
#define STATUS_ILLEGAL_FUNCTION		((NTSTATUS)0xC00000AFL)
#define STATUS_PRIVILEGED_INSTRUCTION	((NTSTATUS)0xC0000096L)
#define STATUS_PRIVILEGE_NOT_HELD	((NTSTATUS)0xC0000061L)
#define STATUS_NOT_SUPPORTED		((NTSTATUS)0xC00000BBL)
#define STATUS_INVALID_PARAMETER_1	((NTSTATUS)0xC00000EFL)
#define STATUS_INVALID_PARAMETER_2	((NTSTATUS)0xC00000F0L)
#define STATUS_INVALID_PARAMETER_3	((NTSTATUS)0xC00000F1L)
#define STATUS_INVALID_PARAMETER_4	((NTSTATUS)0xC00000F2L)
#define STATUS_NAME_TOO_LONG		((NTSTATUS)0xC0000106L)
#define STATUS_REPLY_MESSAGE_MISMATCH	((NTSTATUS)0xC000021FL)
#define STATUS_LPC_REPLY_LOST		((NTSTATUS)0xC0000253L)
#define STATUS_SERVER_SID_MISMATCH	((NTSTATUS)0xC00002A0L)

/* ------------------------------------------------------------------ */
/* LPC constants (spec section 1)                                      */
/* ------------------------------------------------------------------ */

#define LPC_NEW_MESSAGE			0
#define LPC_REQUEST			1
#define LPC_REPLY			2
#define LPC_DATAGRAM			3
#define LPC_LOST_REPLY			4
#define LPC_PORT_CLOSED			5
#define LPC_CLIENT_DIED			6
#define LPC_EXCEPTION			7
#define LPC_DEBUG_EVENT			8
#define LPC_ERROR_EVENT			9
#define LPC_CONNECTION_REQUEST		10
/* Internal types; ReactOS and phnt (ALPC era) name them differently. */
#define LPC_CONNECTION_REFUSED		11
#define LPC_INTERNAL_CONNECTION_REPLY	11
#define LPC_MAXIMUM			12
#define LPC_CANCEL_MESSAGE		12
#define LPC_LEGACY_CONNECTION_REPLY	13

/* Flag bits in Type; receivers mask them before comparing types. */
#define LPC_KERNELMODE_MESSAGE		((CSHORT)0x8000)
#define LPC_NO_IMPERSONATE		((CSHORT)0x4000)
#define LPC_CONTINUATION_REQUIRED	((CSHORT)0x2000)
#define LPC_RESERVED_MESSAGE		((CSHORT)0x1000)

#define PORT_CONNECT			0x0001
#define STANDARD_RIGHTS_REQUIRED	0x000F0000L
#define SYNCHRONIZE			0x00100000L
#define PORT_ALL_ACCESS	(STANDARD_RIGHTS_REQUIRED | SYNCHRONIZE | PORT_CONNECT)

/* System limits on x86-64 (spec section 3.1). */
#define PORT_MAXIMUM_MESSAGE_LENGTH		512
#define PORT_TOTAL_MAXIMUM_MESSAGE_LENGTH	688
/* Largest TotalLength and NtCreatePort MaxMessageLength. */
#define LPC_MAX_MESSAGE_LENGTH			0x288
/* Largest connection information and NtCreatePort MaxConnectionInfoLength. */
#define LPC_MAX_DATA_LENGTH			0x208

/* ------------------------------------------------------------------ */
/* Structures (spec section 2; offsets pinned at the end of the file)   */
/* ------------------------------------------------------------------ */

typedef struct _PORT_MESSAGE {
	union {
		struct {
			CSHORT DataLength;
			CSHORT TotalLength;
		} s1;
		ULONG Length;
	} u1;
	union {
		struct {
			CSHORT Type;
			CSHORT DataInfoOffset;
		} s2;
		ULONG ZeroInit;
	} u2;
	union {
		CLIENT_ID ClientId;
		double DoNotUseThisField;
	};
	ULONG MessageId;
	union {
		SIZE_T ClientViewSize;	/* LPC_CONNECTION_REQUEST only */
		ULONG CallbackId;	/* LPC_REQUEST */
	};
	/* UCHAR Data[]; follows: (PUCHAR)(msg + 1) */
} PORT_MESSAGE, *PPORT_MESSAGE;

typedef struct _PORT_DATA_ENTRY {
	PVOID Base;
	ULONG Size;
} PORT_DATA_ENTRY, *PPORT_DATA_ENTRY;

typedef struct _PORT_DATA_INFORMATION {
	ULONG CountDataEntries;
	PORT_DATA_ENTRY DataEntries[1];
} PORT_DATA_INFORMATION, *PPORT_DATA_INFORMATION;

/* The section owner's description of a view (LPC_SECTION_WRITE). */
typedef struct _PORT_VIEW {
	ULONG Length;
	HANDLE SectionHandle;
	ULONG SectionOffset;
	SIZE_T ViewSize;
	PVOID ViewBase;
	PVOID ViewRemoteBase;
} PORT_VIEW, *PPORT_VIEW;

/* The peer's section as mapped locally (LPC_SECTION_READ). */
typedef struct _REMOTE_PORT_VIEW {
	ULONG Length;
	SIZE_T ViewSize;
	PVOID ViewBase;
} REMOTE_PORT_VIEW, *PREMOTE_PORT_VIEW;

/* LPC_CLIENT_DIED and LPC_PORT_CLOSED carry a create time. */
typedef struct _CLIENT_DIED_MSG {
	PORT_MESSAGE PortMsg;
	LARGE_INTEGER CreateTime;
} CLIENT_DIED_MSG, *PCLIENT_DIED_MSG, LPC_CLIENT_DIED_MSG, PORT_CLOSED_MSG;

typedef enum _PORT_INFORMATION_CLASS {
	PortBasicInformation,
	PortDumpInformation
} PORT_INFORMATION_CLASS;

typedef enum _PROCESSINFOCLASS {
	ProcessBasicInformation = 0,
	ProcessDebugPort = 7,
	ProcessExceptionPort = 8,
} PROCESSINFOCLASS;

typedef enum _THREADINFOCLASS {
	ThreadBasicInformation = 0,
	ThreadImpersonationToken = 5,
} THREADINFOCLASS;

/* Exception port messages (LPC_EXCEPTION; spec section 5.18). */
#define EXCEPTION_MAXIMUM_PARAMETERS 15
#define EXCEPTION_NONCONTINUABLE 0x1

typedef struct _EXCEPTION_RECORD {
	NTSTATUS ExceptionCode;
	ULONG ExceptionFlags;
	struct _EXCEPTION_RECORD *ExceptionRecord;
	PVOID ExceptionAddress;
	ULONG NumberParameters;
	ULONG_PTR ExceptionInformation[EXCEPTION_MAXIMUM_PARAMETERS];
} EXCEPTION_RECORD, *PEXCEPTION_RECORD;

typedef struct _DBGKM_EXCEPTION {
	EXCEPTION_RECORD ExceptionRecord;
	ULONG FirstChance;
} DBGKM_EXCEPTION, *PDBGKM_EXCEPTION;

typedef enum _DBGKM_APINUMBER {
	DbgKmExceptionApi = 0,
} DBGKM_APINUMBER;

typedef struct _DBGKM_APIMSG {
	PORT_MESSAGE h;
	DBGKM_APINUMBER ApiNumber;
	NTSTATUS ReturnedStatus;
	union {
		DBGKM_EXCEPTION Exception;
	} u;
} DBGKM_APIMSG, *PDBGKM_APIMSG;

/* Sections (pagefile-backed only). */
#define SECTION_QUERY		0x0001
#define SECTION_MAP_WRITE	0x0002
#define SECTION_MAP_READ	0x0004
#define SECTION_MAP_EXECUTE	0x0008
#define SECTION_EXTEND_SIZE	0x0010
#define SECTION_ALL_ACCESS	(STANDARD_RIGHTS_REQUIRED | 0x001F)

#define PAGE_NOACCESS		0x01
#define PAGE_READONLY		0x02
#define PAGE_READWRITE		0x04
#define PAGE_WRITECOPY		0x08
#define PAGE_EXECUTE		0x10
#define PAGE_EXECUTE_READ	0x20
#define PAGE_EXECUTE_READWRITE	0x40

#define SEC_RESERVE		0x04000000
#define SEC_COMMIT		0x08000000

/* ------------------------------------------------------------------ */
/* The API                                                             */
/* ------------------------------------------------------------------ */

NTSYSAPI VOID NTAPI RtlInitUnicodeString(PUNICODE_STRING DestinationString,
					  PCWSTR SourceString);

NTSYSCALLAPI NTSTATUS NTAPI NtCreatePort(PHANDLE PortHandle,
					  POBJECT_ATTRIBUTES ObjectAttributes,
					  ULONG MaxConnectionInfoLength,
					  ULONG MaxMessageLength,
					  ULONG_PTR MaxPoolUsage);

NTSYSCALLAPI NTSTATUS NTAPI NtCreateWaitablePort(
	PHANDLE PortHandle, POBJECT_ATTRIBUTES ObjectAttributes,
	ULONG MaxConnectionInfoLength, ULONG MaxMessageLength,
	ULONG_PTR MaxPoolUsage);

NTSYSCALLAPI NTSTATUS NTAPI NtConnectPort(
	PHANDLE PortHandle, PUNICODE_STRING PortName,
	PSECURITY_QUALITY_OF_SERVICE SecurityQos, PPORT_VIEW ClientView,
	PREMOTE_PORT_VIEW ServerView, PULONG MaxMessageLength,
	PVOID ConnectionInformation, PULONG ConnectionInformationLength);

/*
 * RequiredServerSid is a binary SID compared with the server process's uid
 * (taken from the listening socket's credentials): S-1-5-18 (LocalSystem)
 * names root, S-1-22-1-<uid> names any Linux uid (Samba's mapping).
 */
NTSYSCALLAPI NTSTATUS NTAPI NtSecureConnectPort(
	PHANDLE PortHandle, PUNICODE_STRING PortName,
	PSECURITY_QUALITY_OF_SERVICE SecurityQos, PPORT_VIEW ClientView,
	PSID RequiredServerSid, PREMOTE_PORT_VIEW ServerView,
	PULONG MaxMessageLength, PVOID ConnectionInformation,
	PULONG ConnectionInformationLength);

NTSYSCALLAPI NTSTATUS NTAPI NtListenPort(HANDLE PortHandle,
					  PPORT_MESSAGE ConnectionRequest);

NTSYSCALLAPI NTSTATUS NTAPI NtAcceptConnectPort(
	PHANDLE PortHandle, PVOID PortContext, PPORT_MESSAGE ConnectionRequest,
	BOOLEAN AcceptConnection, PPORT_VIEW ServerView,
	PREMOTE_PORT_VIEW ClientView);

NTSYSCALLAPI NTSTATUS NTAPI NtCompleteConnectPort(HANDLE PortHandle);

NTSYSCALLAPI NTSTATUS NTAPI NtRequestPort(HANDLE PortHandle,
					   PPORT_MESSAGE RequestMessage);

NTSYSCALLAPI NTSTATUS NTAPI NtRequestWaitReplyPort(
	HANDLE PortHandle, PPORT_MESSAGE RequestMessage,
	PPORT_MESSAGE ReplyMessage);

NTSYSCALLAPI NTSTATUS NTAPI NtReplyPort(HANDLE PortHandle,
					 PPORT_MESSAGE ReplyMessage);

NTSYSCALLAPI NTSTATUS NTAPI NtReplyWaitReplyPort(HANDLE PortHandle,
						  PPORT_MESSAGE ReplyMessage);

NTSYSCALLAPI NTSTATUS NTAPI NtReplyWaitReceivePort(
	HANDLE PortHandle, PVOID *PortContext, PPORT_MESSAGE ReplyMessage,
	PPORT_MESSAGE ReceiveMessage);

NTSYSCALLAPI NTSTATUS NTAPI NtReplyWaitReceivePortEx(
	HANDLE PortHandle, PVOID *PortContext, PPORT_MESSAGE ReplyMessage,
	PPORT_MESSAGE ReceiveMessage, PLARGE_INTEGER Timeout);

NTSYSCALLAPI NTSTATUS NTAPI NtReadRequestData(
	HANDLE PortHandle, PPORT_MESSAGE Message, ULONG DataEntryIndex,
	PVOID Buffer, SIZE_T BufferSize, PSIZE_T NumberOfBytesRead);

NTSYSCALLAPI NTSTATUS NTAPI NtWriteRequestData(
	HANDLE PortHandle, PPORT_MESSAGE Message, ULONG DataEntryIndex,
	PVOID Buffer, SIZE_T BufferSize, PSIZE_T NumberOfBytesWritten);

NTSYSCALLAPI NTSTATUS NTAPI NtImpersonateClientOfPort(HANDLE PortHandle,
						       PPORT_MESSAGE Message);

NTSYSCALLAPI NTSTATUS NTAPI NtQueryInformationPort(
	HANDLE PortHandle, PORT_INFORMATION_CLASS PortInformationClass,
	PVOID PortInformation, ULONG Length, PULONG ReturnLength);

NTSYSCALLAPI NTSTATUS NTAPI NtRegisterThreadTerminatePort(HANDLE PortHandle);

NTSYSCALLAPI NTSTATUS NTAPI NtClose(HANDLE Handle);

NTSYSCALLAPI NTSTATUS NTAPI NtCreateSection(
	PHANDLE SectionHandle, ACCESS_MASK DesiredAccess,
	POBJECT_ATTRIBUTES ObjectAttributes, PLARGE_INTEGER MaximumSize,
	ULONG SectionPageProtection, ULONG AllocationAttributes,
	HANDLE FileHandle);

NTSYSCALLAPI NTSTATUS NTAPI NtWaitForSingleObject(HANDLE Handle,
						   BOOLEAN Alertable,
						   PLARGE_INTEGER Timeout);

NTSYSCALLAPI NTSTATUS NTAPI NtSetInformationProcess(
	HANDLE ProcessHandle, PROCESSINFOCLASS ProcessInformationClass,
	PVOID ProcessInformation, ULONG ProcessInformationLength);

NTSYSCALLAPI NTSTATUS NTAPI NtSetInformationThread(
	HANDLE ThreadHandle, THREADINFOCLASS ThreadInformationClass,
	PVOID ThreadInformation, ULONG ThreadInformationLength);

/* ------------------------------------------------------------------ */
/* Linux extensions (not in NT)                                        */
/* ------------------------------------------------------------------ */

/*
 * lpc_port_fd - a file descriptor that polls readable (POLLIN) whenever a
 * waitable port may have a message to receive.  The fd belongs to the port:
 * do not close it; it stays valid until the port is closed.  After it polls
 * readable, receive with a zero timeout (NtReplyWaitReceivePortEx); a
 * STATUS_TIMEOUT there means the wakeup was spurious.
 * Returns the fd, or -errno: -EBADF for a bad handle, -EINVAL when the port
 * was not created with NtCreateWaitablePort.
 */
NTSYSAPI int lpc_port_fd(HANDLE PortHandle);

/*
 * lpc_backend_name - "uring" or "sync": the transport backend this process
 * uses (chosen at first use, or forced with LPC_BACKEND=sync|uring).
 */
NTSYSAPI const char *lpc_backend_name(void);

/* ------------------------------------------------------------------ */
/* Layout contract (spec section 2, x86-64)                             */
/* ------------------------------------------------------------------ */

#if defined(__x86_64__) || defined(__aarch64__)
#ifdef __cplusplus
#define LPC__STATIC_ASSERT static_assert
#define LPC__ALIGNOF alignof
#else
#define LPC__STATIC_ASSERT _Static_assert
#define LPC__ALIGNOF _Alignof
#endif
#define LPC__ASSERT_OFF(t, f, o)                                               \
	LPC__STATIC_ASSERT(offsetof(t, f) == (o), #t "." #f " offset")
#define LPC__ASSERT_SIZE(t, s)                                                 \
	LPC__STATIC_ASSERT(sizeof(t) == (s), "sizeof " #t)

LPC__ASSERT_OFF(PORT_MESSAGE, u1.s1.DataLength, 0);
LPC__ASSERT_OFF(PORT_MESSAGE, u1.s1.TotalLength, 2);
LPC__ASSERT_OFF(PORT_MESSAGE, u2.s2.Type, 4);
LPC__ASSERT_OFF(PORT_MESSAGE, u2.s2.DataInfoOffset, 6);
LPC__ASSERT_OFF(PORT_MESSAGE, ClientId.UniqueProcess, 8);
LPC__ASSERT_OFF(PORT_MESSAGE, ClientId.UniqueThread, 16);
LPC__ASSERT_OFF(PORT_MESSAGE, MessageId, 24);
LPC__ASSERT_OFF(PORT_MESSAGE, ClientViewSize, 32);
LPC__ASSERT_OFF(PORT_MESSAGE, CallbackId, 32);
LPC__ASSERT_SIZE(PORT_MESSAGE, 40);
LPC__STATIC_ASSERT(LPC__ALIGNOF(PORT_MESSAGE) == 8, "PORT_MESSAGE alignment");

LPC__ASSERT_OFF(PORT_VIEW, Length, 0);
LPC__ASSERT_OFF(PORT_VIEW, SectionHandle, 8);
LPC__ASSERT_OFF(PORT_VIEW, SectionOffset, 16);
LPC__ASSERT_OFF(PORT_VIEW, ViewSize, 24);
LPC__ASSERT_OFF(PORT_VIEW, ViewBase, 32);
LPC__ASSERT_OFF(PORT_VIEW, ViewRemoteBase, 40);
LPC__ASSERT_SIZE(PORT_VIEW, 48);

LPC__ASSERT_OFF(REMOTE_PORT_VIEW, Length, 0);
LPC__ASSERT_OFF(REMOTE_PORT_VIEW, ViewSize, 8);
LPC__ASSERT_OFF(REMOTE_PORT_VIEW, ViewBase, 16);
LPC__ASSERT_SIZE(REMOTE_PORT_VIEW, 24);

LPC__ASSERT_OFF(PORT_DATA_INFORMATION, CountDataEntries, 0);
LPC__ASSERT_OFF(PORT_DATA_INFORMATION, DataEntries, 8);
LPC__ASSERT_SIZE(PORT_DATA_ENTRY, 16);
LPC__ASSERT_SIZE(PORT_DATA_INFORMATION, 24);

LPC__ASSERT_OFF(CLIENT_DIED_MSG, CreateTime, 40);
LPC__ASSERT_SIZE(CLIENT_DIED_MSG, 48);

LPC__ASSERT_SIZE(CLIENT_ID, 16);
LPC__ASSERT_SIZE(UNICODE_STRING, 16);
LPC__ASSERT_OFF(UNICODE_STRING, Buffer, 8);
LPC__ASSERT_SIZE(OBJECT_ATTRIBUTES, 48);
LPC__ASSERT_OFF(OBJECT_ATTRIBUTES, ObjectName, 16);
LPC__ASSERT_OFF(OBJECT_ATTRIBUTES, Attributes, 24);
LPC__ASSERT_OFF(OBJECT_ATTRIBUTES, SecurityQualityOfService, 40);
LPC__ASSERT_SIZE(SECURITY_QUALITY_OF_SERVICE, 12);
LPC__ASSERT_SIZE(LARGE_INTEGER, 8);
LPC__ASSERT_SIZE(WCHAR, 2);

LPC__ASSERT_SIZE(EXCEPTION_RECORD, 152);
LPC__ASSERT_OFF(DBGKM_APIMSG, ApiNumber, 40);
LPC__ASSERT_OFF(DBGKM_APIMSG, ReturnedStatus, 44);
LPC__ASSERT_OFF(DBGKM_APIMSG, u, 48);

#undef LPC__ASSERT_OFF
#undef LPC__ASSERT_SIZE
#undef LPC__STATIC_ASSERT
#undef LPC__ALIGNOF
#endif

#ifdef __cplusplus
}
#endif

#endif /* LPC_LPC_H */
