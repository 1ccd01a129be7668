/* SPDX-License-Identifier: MIT */
/*
 * test_create.c - NtCreatePort / NtCreateWaitablePort (spec 3.2, 5.1, 5.2),
 * port names and the $LPC_ROOT namespace (docs/namespace.md), NtClose
 * (5.17, 8.1), NtQueryInformationPort (5.15, Q8), NtCreateSection's
 * argument checks, RtlInitUnicodeString, InitializeObjectAttributes and
 * NT_SUCCESS.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"

TestSuite(create, .init = lpct_setup, .fini = lpct_teardown, .timeout = 30);

#define PORT "\\RPC Control\\create"
#define PORT_FILE "RPC Control/create"

#define SENTINEL ((HANDLE)(uintptr_t)0x55555555)

/* cr_assert_status, saying which case of a table failed. */
#define assert_status_in(expr, want, fmt, ...)                                 \
	do {                                                                   \
		NTSTATUS s__ = (expr);                                         \
		cr_assert_eq(s__, (NTSTATUS)(want),                            \
			     "%s: got 0x%08x, want 0x%08x (%s); " fmt, #expr,  \
			     (unsigned)s__, (unsigned)(want), #want,           \
			     __VA_ARGS__);                                     \
	} while (0)

/* ------------------------------------------------------------------ */
/* Local helpers                                                       */
/* ------------------------------------------------------------------ */

/* 0 when a socket file exists at rel, else -errno / -1 for another type. */
static int socket_at(const char *rel, mode_t *mode)
{
	struct stat st;

	if (lstat(lpct_path(rel), &st) < 0)
		return -errno;
	if (mode)
		*mode = st.st_mode & 07777;
	return S_ISSOCK(st.st_mode) ? 0 : -1;
}

/* A UNICODE_STRING over nwch raw WCHARs (may hold NULs and anything). */
static void raw_ustr(UNICODE_STRING *us, WCHAR *buf, const char *ascii,
		     size_t n)
{
	for (size_t i = 0; i < n; i++)
		buf[i] = (WCHAR)(unsigned char)ascii[i];
	us->Buffer = buf;
	us->Length = (USHORT)(n * 2);
	us->MaximumLength = (USHORT)(n * 2);
}

static NTSTATUS create_with_oa(HANDLE *h, OBJECT_ATTRIBUTES *oa)
{
	return NtCreatePort(h, oa, 0, 0x100, 0);
}

/* ------------------------------------------------------------------ */
/* NtCreatePort / NtCreateWaitablePort argument checks (spec 3.2, 5.1)  */
/* ------------------------------------------------------------------ */

Test(create, null_port_handle_is_access_violation_before_length_checks)
{
	OBJECT_ATTRIBUTES oa;

	InitializeObjectAttributes(&oa, lpct_ustr(PORT), 0, NULL, NULL);
	cr_assert_status(NtCreatePort(NULL, &oa, 0, 0, 0),
			 STATUS_ACCESS_VIOLATION);
	cr_assert_status(NtCreatePort(NULL, &oa, 0x100000, 0x100000, 0),
			 STATUS_ACCESS_VIOLATION);
	cr_assert_status(NtCreatePort(NULL, NULL, 0x100000, 0x100000, 0),
			 STATUS_ACCESS_VIOLATION);
	cr_assert_status(NtCreateWaitablePort(NULL, &oa, 0x100000, 0x100000,
					      0),
			 STATUS_ACCESS_VIOLATION);
	/* An unmapped output pointer is probed the same way. */
	cr_assert_status(NtCreatePort((PHANDLE)8, &oa, 0, 0, 0),
			 STATUS_ACCESS_VIOLATION);
	/* Nothing was created. */
	cr_assert_eq(socket_at(PORT_FILE, NULL), -ENOENT);
}

Test(create, null_object_attributes_is_access_violation)
{
	HANDLE h = SENTINEL;

	cr_assert_status(NtCreatePort(&h, NULL, 0, 0, 0),
			 STATUS_ACCESS_VIOLATION);
	cr_assert_status(NtCreateWaitablePort(&h, NULL, 0, 0, 0),
			 STATUS_ACCESS_VIOLATION);
	cr_assert_status(NtCreatePort(&h, (POBJECT_ATTRIBUTES)8, 0, 0, 0),
			 STATUS_ACCESS_VIOLATION);
	cr_assert_eq(h, SENTINEL, "handle written on failure");
}

Test(create, max_message_length_boundary)
{
	HANDLE h = SENTINEL;

	cr_assert_status(lpct_try_create(&h, NULL, 0, 0x289),
			 STATUS_INVALID_PARAMETER_4);
	cr_assert_status(lpct_try_create(&h, PORT, 0, 0x289),
			 STATUS_INVALID_PARAMETER_4);
	cr_assert_status(lpct_try_create(&h, PORT, 0, 0xffffffff),
			 STATUS_INVALID_PARAMETER_4);
	cr_assert_eq(h, SENTINEL);
	cr_assert_eq(socket_at(PORT_FILE, NULL), -ENOENT);
	cr_assert_status(lpct_try_create(&h, PORT, 0, 0x288), STATUS_SUCCESS);
	cr_assert_neq(h, SENTINEL);
	cr_assert_not_null(h);
	cr_assert_status(NtClose(h), STATUS_SUCCESS);
	cr_assert_eq(LPC_MAX_MESSAGE_LENGTH, 0x288);
}

Test(create, max_connection_info_length_boundary)
{
	HANDLE h = SENTINEL;

	cr_assert_status(lpct_try_create(&h, NULL, 0x209, 0),
			 STATUS_INVALID_PARAMETER_3);
	cr_assert_status(lpct_try_create(&h, PORT, 0x209, 0x100),
			 STATUS_INVALID_PARAMETER_3);
	cr_assert_status(lpct_try_create(&h, PORT, 0xffffffff, 0x100),
			 STATUS_INVALID_PARAMETER_3);
	cr_assert_eq(h, SENTINEL);
	cr_assert_status(lpct_try_create(&h, PORT, 0x208, 0x100),
			 STATUS_SUCCESS);
	cr_assert_neq(h, SENTINEL);
	cr_assert_status(NtClose(h), STATUS_SUCCESS);
	cr_assert_eq(LPC_MAX_DATA_LENGTH, 0x208);
}

/* Windows checks parameter 4 before parameter 3 (R3K-T; ReactOS differs). */
Test(create, message_length_checked_before_connection_info_length)
{
	HANDLE h = SENTINEL;

	cr_assert_status(lpct_try_create(&h, PORT, 0x100000, 0x289),
			 STATUS_INVALID_PARAMETER_4);
	cr_assert_status(lpct_try_create(&h, PORT, 0x209, 0x289),
			 STATUS_INVALID_PARAMETER_4);
	cr_assert_status(lpct_try_create(&h, PORT, 0x100000, 0x288),
			 STATUS_INVALID_PARAMETER_3);
	cr_assert_status(lpct_try_create(&h, NULL, 0x100000, 0x100000),
			 STATUS_INVALID_PARAMETER_4);
	cr_assert_eq(h, SENTINEL);
}

Test(create, waitable_port_has_the_same_checks)
{
	OBJECT_ATTRIBUTES oa;
	HANDLE h = SENTINEL, w = SENTINEL;

	InitializeObjectAttributes(&oa, lpct_ustr(PORT), 0, NULL, NULL);
	cr_assert_status(NtCreateWaitablePort(&w, &oa, 0x100000, 0x289, 0),
			 STATUS_INVALID_PARAMETER_4);
	cr_assert_status(NtCreateWaitablePort(&w, &oa, 0x209, 0x288, 0),
			 STATUS_INVALID_PARAMETER_3);
	cr_assert_eq(w, SENTINEL);
	cr_assert_status(NtCreateWaitablePort(&w, &oa, 0x208, 0x288, 0),
			 STATUS_SUCCESS);
	cr_assert_neq(w, SENTINEL);
	cr_assert_eq(socket_at(PORT_FILE, NULL), 0);
	/* Waitable and ordinary ports share one namespace. */
	cr_assert_status(lpct_try_create(&h, PORT, 0, 0x100),
			 STATUS_OBJECT_NAME_COLLISION);
	cr_assert_status(NtCreateWaitablePort(&h, &oa, 0, 0x100, 0),
			 STATUS_OBJECT_NAME_COLLISION);
	cr_assert_eq(h, SENTINEL);
	cr_assert_status(NtClose(w), STATUS_SUCCESS);
	cr_assert_eq(socket_at(PORT_FILE, NULL), -ENOENT);

	h = lpct_create(PORT, 0, 0x100);
	cr_assert_status(NtCreateWaitablePort(&w, &oa, 0, 0x100, 0),
			 STATUS_OBJECT_NAME_COLLISION);
	cr_assert_status(NtClose(h), STATUS_SUCCESS);
	/* Unnamed waitable ports too. */
	InitializeObjectAttributes(&oa, NULL, 0, NULL, NULL);
	cr_assert_status(NtCreateWaitablePort(&w, &oa, 0, 0, 0),
			 STATUS_SUCCESS);
	cr_assert_status(NtClose(w), STATUS_SUCCESS);
}

Test(create, zero_lengths_accepted)
{
	HANDLE h = SENTINEL, u = SENTINEL;

	cr_assert_status(lpct_try_create(&h, PORT, 0, 0), STATUS_SUCCESS);
	cr_assert_status(lpct_try_create(&u, NULL, 0, 0), STATUS_SUCCESS);
	cr_assert_neq(h, SENTINEL);
	cr_assert_neq(u, SENTINEL);
	cr_assert_neq(h, u);
	cr_assert_status(NtClose(h), STATUS_SUCCESS);
	cr_assert_status(NtClose(u), STATUS_SUCCESS);
}

Test(create, max_pool_usage_is_ignored)
{
	static const ULONG_PTR pools[] = {
		0, 1, 0x1000, 0xdeadbeef, (ULONG_PTR)-1,
		(ULONG_PTR)&pools,
	};
	OBJECT_ATTRIBUTES oa;
	HANDLE h;

	InitializeObjectAttributes(&oa, lpct_ustr(PORT), 0, NULL, NULL);
	for (size_t i = 0; i < sizeof(pools) / sizeof(pools[0]); i++) {
		h = NULL;
		cr_assert_status(NtCreatePort(&h, &oa, 0x100, 0x100, pools[i]),
				 STATUS_SUCCESS);
		cr_assert_not_null(h);
		cr_assert_status(NtClose(h), STATUS_SUCCESS);
		cr_assert_status(NtCreateWaitablePort(&h, &oa, 0x100, 0x100,
						      pools[i]),
				 STATUS_SUCCESS);
		cr_assert_status(NtClose(h), STATUS_SUCCESS);
	}
}

Test(create, handles_are_distinct_nonzero_multiples_of_four)
{
	HANDLE a = lpct_create(PORT, 0, 0x100);
	HANDLE b = lpct_create(NULL, 0, 0x100);
	HANDLE c = lpct_create("\\Windows\\create", 0, 0x100);

	cr_assert(a && b && c);
	cr_assert(a != b && b != c && a != c);
	cr_assert_eq((uintptr_t)a & 3, 0);
	cr_assert_eq((uintptr_t)b & 3, 0);
	cr_assert_eq((uintptr_t)c & 3, 0);
	cr_assert(a != NtCurrentProcess() && a != NtCurrentThread());
	cr_assert_status(NtClose(a), STATUS_SUCCESS);
	cr_assert_status(NtClose(b), STATUS_SUCCESS);
	cr_assert_status(NtClose(c), STATUS_SUCCESS);
}

/* Freed handles come back newest first; once none is open, the values
 * start again from the first, whatever order they were closed in (the
 * seq harness runs input after input in one process and relies on it:
 * AFL++ counted the difference as instability). */
Test(create, handle_values_depend_on_what_is_open_not_on_history)
{
	HANDLE a = lpct_create(NULL, 0, 0x100);
	HANDLE b = lpct_create(NULL, 0, 0x100);
	HANDLE c = lpct_create(NULL, 0, 0x100);
	HANDLE d, e, first;

	cr_assert_status(NtClose(a), STATUS_SUCCESS);
	cr_assert_status(NtClose(b), STATUS_SUCCESS);
	d = lpct_create(NULL, 0, 0x100);
	cr_assert_eq(d, b, "the newest freed handle is reused first");
	e = lpct_create(NULL, 0, 0x100);
	cr_assert_eq(e, a);
	/* Close them in a different order than they were made. */
	cr_assert_status(NtClose(e), STATUS_SUCCESS);
	cr_assert_status(NtClose(c), STATUS_SUCCESS);
	cr_assert_status(NtClose(d), STATUS_SUCCESS);
	first = lpct_create(NULL, 0, 0x100);
	cr_assert_eq(first, a, "with nothing open, the first value again");
	cr_assert_eq(lpct_create(NULL, 0, 0x100), b);
	cr_assert_status(NtClose(first), STATUS_SUCCESS);
	cr_assert_status(NtClose(b), STATUS_SUCCESS);
}

/* ------------------------------------------------------------------ */
/* Unnamed ports and collisions                                        */
/* ------------------------------------------------------------------ */

static int nentries;

static int count_one(const char *path, const struct stat *st, int flag,
		     struct FTW *ftw)
{
	(void)path;
	(void)st;
	(void)flag;
	(void)ftw;
	nentries++;
	return 0;
}

/* Files and directories under $LPC_ROOT/<rel>, rel included. */
static int count_entries(const char *rel)
{
	nentries = 0;
	cr_assert_eq(nftw(lpct_path(rel), count_one, 16, FTW_PHYS), 0);
	return nentries;
}

Test(create, unnamed_port_with_null_object_name)
{
	OBJECT_ATTRIBUTES oa;
	HANDLE a = SENTINEL, b = SENTINEL;
	int before;

	lpct_ns_init();
	before = count_entries("");
	InitializeObjectAttributes(&oa, NULL, 0, NULL, NULL);
	cr_assert_status(NtCreatePort(&a, &oa, 0x100, 0x100, 0),
			 STATUS_SUCCESS);
	/* Unnamed ports never collide. */
	cr_assert_status(NtCreatePort(&b, &oa, 0x100, 0x100, 0),
			 STATUS_SUCCESS);
	cr_assert(a != SENTINEL && b != SENTINEL && a != b);
	cr_assert_eq(count_entries(""), before, "unnamed port made a file");
	cr_assert_status(NtClose(a), STATUS_SUCCESS);
	cr_assert_status(NtClose(b), STATUS_SUCCESS);
}

Test(create, unnamed_port_with_empty_name)
{
	static WCHAR buf[4] = { 'x', 0 };
	UNICODE_STRING empty = { 0, 0, NULL };
	UNICODE_STRING empty_buf = { 0, sizeof(buf), buf };
	OBJECT_ATTRIBUTES oa;
	HANDLE a = SENTINEL, b = SENTINEL;
	int before;

	lpct_ns_init();
	before = count_entries("");
	InitializeObjectAttributes(&oa, &empty, 0, NULL, NULL);
	cr_assert_status(create_with_oa(&a, &oa), STATUS_SUCCESS);
	InitializeObjectAttributes(&oa, &empty_buf, OBJ_CASE_INSENSITIVE, NULL,
				   NULL);
	cr_assert_status(create_with_oa(&b, &oa), STATUS_SUCCESS);
	cr_assert(a != SENTINEL && b != SENTINEL && a != b);
	cr_assert_eq(count_entries(""), before, "unnamed port made a file");
	/* An unnamed port is unconnected: completing on it is wrong. */
	cr_assert_status(NtCompleteConnectPort(a), STATUS_INVALID_PORT_HANDLE);
	cr_assert_status(NtClose(a), STATUS_SUCCESS);
	cr_assert_status(NtClose(b), STATUS_SUCCESS);
}

Test(create, same_name_twice_collides)
{
	HANDLE h = lpct_create(PORT, 0x100, 0x100), h2 = SENTINEL, c, comm;

	cr_assert_status(lpct_try_create(&h2, PORT, 0x100, 0x100),
			 STATUS_OBJECT_NAME_COLLISION);
	cr_assert_status(lpct_try_create(&h2, PORT, 0, 0),
			 STATUS_OBJECT_NAME_COLLISION);
	cr_assert_eq(h2, SENTINEL);
	/* The failed attempt left the first port intact. */
	cr_assert_eq(socket_at(PORT_FILE, NULL), 0);
	c = lpct_connect_client(h, PORT, NULL, &comm);
	cr_assert_status(NtClose(c), STATUS_SUCCESS);
	cr_assert_status(NtClose(comm), STATUS_SUCCESS);
	cr_assert_status(NtClose(h), STATUS_SUCCESS);
	/* Free again once closed. */
	h = lpct_create(PORT, 0x100, 0x100);
	cr_assert_status(NtClose(h), STATUS_SUCCESS);
}

Test(create, name_collision_ignores_case)
{
	HANDLE h = lpct_create("\\RPC Control\\MixedCase", 0, 0x100);
	HANDLE h2 = SENTINEL;

	cr_assert_status(lpct_try_create(&h2, "\\RPC Control\\mixedcase", 0,
					 0x100),
			 STATUS_OBJECT_NAME_COLLISION);
	cr_assert_status(lpct_try_create(&h2, "\\RPC Control\\MIXEDCASE", 0,
					 0x100),
			 STATUS_OBJECT_NAME_COLLISION);
	cr_assert_status(lpct_try_create(&h2, "\\rpc control\\mIXEDcASE", 0,
					 0x100),
			 STATUS_OBJECT_NAME_COLLISION);
	cr_assert_eq(h2, SENTINEL);
	/* Only one file, spelled as first created. */
	cr_assert_eq(socket_at("RPC Control/MixedCase", NULL), 0);
	cr_assert_eq(socket_at("RPC Control/mixedcase", NULL), -ENOENT);
	cr_assert_status(NtClose(h), STATUS_SUCCESS);
}

static void *create_thread(void *arg)
{
	HANDLE h = SENTINEL;
	NTSTATUS s = lpct_try_create(&h, arg, 0, 0x100);

	if (s == STATUS_SUCCESS)
		NtClose(h);
	return (void *)(uintptr_t)(ULONG)s;
}

Test(create, name_collision_across_threads)
{
	HANDLE h = lpct_create(PORT, 0, 0x100);
	pthread_t t = lpct_thread(create_thread, "\\RPC Control\\CREATE");

	cr_assert_eq((ULONG)(uintptr_t)lpct_join(t),
		     (ULONG)STATUS_OBJECT_NAME_COLLISION);
	cr_assert_status(NtClose(h), STATUS_SUCCESS);
	t = lpct_thread(create_thread, PORT);
	cr_assert_eq((ULONG)(uintptr_t)lpct_join(t), (ULONG)STATUS_SUCCESS);
}

/* ------------------------------------------------------------------ */
/* OBJECT_ATTRIBUTES                                                   */
/* ------------------------------------------------------------------ */

Test(create, object_attributes_length_must_match)
{
	static const ULONG lens[] = { 0, 1, sizeof(OBJECT_ATTRIBUTES) - 1,
				      sizeof(OBJECT_ATTRIBUTES) + 1, 24,
				      0xffffffff };
	OBJECT_ATTRIBUTES oa;
	HANDLE h = SENTINEL;

	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		InitializeObjectAttributes(&oa, lpct_ustr(PORT), 0, NULL, NULL);
		oa.Length = lens[i];
		cr_assert_status(create_with_oa(&h, &oa),
				 STATUS_INVALID_PARAMETER);
		InitializeObjectAttributes(&oa, NULL, 0, NULL, NULL);
		oa.Length = lens[i];
		cr_assert_status(create_with_oa(&h, &oa),
				 STATUS_INVALID_PARAMETER);
	}
	cr_assert_eq(h, SENTINEL);
	cr_assert_eq(socket_at(PORT_FILE, NULL), -ENOENT);
}

Test(create, only_case_insensitive_attribute_is_valid)
{
	static const ULONG bad[] = {
		OBJ_INHERIT,	   OBJ_PERMANENT,	   OBJ_EXCLUSIVE,
		OBJ_OPENIF,	   OBJ_OPENLINK,	   OBJ_KERNEL_HANDLE,
		OBJ_FORCE_ACCESS_CHECK, 0x1,		   0x800,
		0x80000000,	   OBJ_VALID_ATTRIBUTES,
		OBJ_CASE_INSENSITIVE | OBJ_OPENIF,
	};
	OBJECT_ATTRIBUTES oa;
	HANDLE h = SENTINEL;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		InitializeObjectAttributes(&oa, lpct_ustr(PORT), bad[i], NULL,
					   NULL);
		cr_assert_status(create_with_oa(&h, &oa),
				 STATUS_INVALID_PARAMETER);
		InitializeObjectAttributes(&oa, NULL, bad[i], NULL, NULL);
		cr_assert_status(create_with_oa(&h, &oa),
				 STATUS_INVALID_PARAMETER);
	}
	cr_assert_eq(h, SENTINEL);
	cr_assert_eq(socket_at(PORT_FILE, NULL), -ENOENT);
	InitializeObjectAttributes(&oa, lpct_ustr(PORT), OBJ_CASE_INSENSITIVE,
				   NULL, NULL);
	cr_assert_status(create_with_oa(&h, &oa), STATUS_SUCCESS);
	cr_assert_status(NtClose(h), STATUS_SUCCESS);
}

/* There are no directory objects: any RootDirectory fails as NT's object
 * manager fails it (not a handle; a handle that is not a directory). */
Test(create, root_directory_must_be_null)
{
	HANDLE other = lpct_create(NULL, 0, 0x100), h = SENTINEL;
	OBJECT_ATTRIBUTES oa;

	InitializeObjectAttributes(&oa, lpct_ustr("create"), 0,
				   (HANDLE)(uintptr_t)0x7ffff000, NULL);
	cr_assert_status(create_with_oa(&h, &oa), STATUS_INVALID_HANDLE);
	InitializeObjectAttributes(&oa, lpct_ustr("create"), 0, other, NULL);
	cr_assert_status(create_with_oa(&h, &oa), STATUS_OBJECT_TYPE_MISMATCH);
	cr_assert_eq(h, SENTINEL);
	cr_assert_status(NtClose(other), STATUS_SUCCESS);
}

Test(create, bad_object_name_pointers_are_access_violation)
{
	UNICODE_STRING us = { 8, 8, (PWSTR)(uintptr_t)8 };
	OBJECT_ATTRIBUTES oa;
	HANDLE h = SENTINEL;

	InitializeObjectAttributes(&oa, (PUNICODE_STRING)(uintptr_t)8, 0, NULL,
				   NULL);
	cr_assert_status(create_with_oa(&h, &oa), STATUS_ACCESS_VIOLATION);
	InitializeObjectAttributes(&oa, &us, 0, NULL, NULL);
	cr_assert_status(create_with_oa(&h, &oa), STATUS_ACCESS_VIOLATION);
	us.Buffer = NULL;
	cr_assert_status(create_with_oa(&h, &oa), STATUS_ACCESS_VIOLATION);
	cr_assert_eq(h, SENTINEL);
}

/* ------------------------------------------------------------------ */
/* Names                                                               */
/* ------------------------------------------------------------------ */

static NTSTATUS create_raw(HANDLE *h, const char *name, size_t n)
{
	static WCHAR buf[256];
	UNICODE_STRING us;
	OBJECT_ATTRIBUTES oa;

	raw_ustr(&us, buf, name, n);
	InitializeObjectAttributes(&oa, &us, 0, NULL, NULL);
	return create_with_oa(h, &oa);
}

Test(create, malformed_names_are_object_name_invalid)
{
	static const char *const names[] = {
		"\\RPC Control\\",	   "\\\\RPC Control\\x",
		"\\RPC Control\\\\x",	   "\\RPC Control\\.",
		"\\RPC Control\\..",	   "\\RPC Control\\.\\x",
		"\\RPC Control\\..\\x",	   "\\..\\x",
		"\\RPC Control\\a/b",	   "\\RPC Control/x",
		"\\RPC Control\\x\\",
	};
	HANDLE h = SENTINEL;
	int before;

	lpct_ns_init();
	before = count_entries("");
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		assert_status_in(create_raw(&h, names[i], strlen(names[i])),
				 STATUS_OBJECT_NAME_INVALID, "name %s",
				 names[i]);
	/* An embedded NUL. */
	cr_assert_status(create_raw(&h, "\\RPC Control\\a\0b", 16),
			 STATUS_OBJECT_NAME_INVALID);
	/* A trailing NUL counted in Length. */
	cr_assert_status(create_raw(&h, "\\RPC Control\\ab\0", 16),
			 STATUS_OBJECT_NAME_INVALID);
	cr_assert_eq(h, SENTINEL);
	cr_assert_eq(count_entries(""), before);
}

Test(create, odd_name_length_is_object_name_invalid)
{
	UNICODE_STRING us;
	OBJECT_ATTRIBUTES oa;
	HANDLE h = SENTINEL;

	us = *lpct_ustr(PORT);
	us.Length -= 1;
	InitializeObjectAttributes(&oa, &us, 0, NULL, NULL);
	cr_assert_status(create_with_oa(&h, &oa), STATUS_OBJECT_NAME_INVALID);
	cr_assert_eq(h, SENTINEL);
}

Test(create, relative_name_is_path_syntax_bad)
{
	static const char *const names[] = {
		"create", "RPC Control\\create", "x\\", ".",
	};
	HANDLE h = SENTINEL;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		assert_status_in(lpct_try_create(&h, names[i], 0, 0x100),
				 STATUS_OBJECT_PATH_SYNTAX_BAD, "name %s",
				 names[i]);
	cr_assert_eq(h, SENTINEL);
}

Test(create, missing_directory_is_path_not_found)
{
	HANDLE h = SENTINEL, p;

	cr_assert_status(lpct_try_create(&h, "\\NoSuchDir\\x", 0, 0x100),
			 STATUS_OBJECT_PATH_NOT_FOUND);
	cr_assert_status(lpct_try_create(&h, "\\RPC Control\\NoSuchDir\\x", 0,
					 0x100),
			 STATUS_OBJECT_PATH_NOT_FOUND);
	cr_assert_status(lpct_try_create(&h, "\\A\\B\\C\\D", 0, 0x100),
			 STATUS_OBJECT_PATH_NOT_FOUND);
	cr_assert_eq(h, SENTINEL);
	cr_assert_eq(access(lpct_path("NoSuchDir"), F_OK), -1,
		     "a directory was created");
	cr_assert_eq(access(lpct_path("RPC Control/NoSuchDir"), F_OK), -1);
	/* A directory made by hand under the root is usable. */
	cr_assert_eq(mkdir(lpct_path("RPC Control/Sub"), 0755), 0);
	p = lpct_create("\\RPC Control\\Sub\\x", 0, 0x100);
	cr_assert_eq(socket_at("RPC Control/Sub/x", NULL), 0);
	cr_assert_status(NtClose(p), STATUS_SUCCESS);
}

Test(create, existing_directory_or_file_at_name_collides)
{
	HANDLE h = SENTINEL;
	int fd;

	cr_assert_status(lpct_try_create(&h, "\\RPC Control", 0, 0x100),
			 STATUS_OBJECT_NAME_COLLISION);
	cr_assert_status(lpct_try_create(&h, "\\windows", 0, 0x100),
			 STATUS_OBJECT_NAME_COLLISION);
	fd = open(lpct_path("RPC Control/file"), O_CREAT | O_WRONLY, 0644);
	cr_assert_geq(fd, 0);
	close(fd);
	cr_assert_status(lpct_try_create(&h, "\\RPC Control\\FILE", 0, 0x100),
			 STATUS_OBJECT_NAME_COLLISION);
	cr_assert_eq(h, SENTINEL);
	/* The file was left alone. */
	cr_assert_eq(access(lpct_path("RPC Control/file"), F_OK), 0);
}

Test(create, fixed_directories_exist)
{
	struct stat st;
	HANDLE h = lpct_create("\\Windows\\ApiPort", 0, 0x100);

	cr_assert_eq(lstat(lpct_path("RPC Control"), &st), 0);
	cr_assert(S_ISDIR(st.st_mode));
	cr_assert_eq(st.st_mode & 07777, 01777, "mode %o",
		     st.st_mode & 07777);
	cr_assert_eq(lstat(lpct_path("Windows"), &st), 0);
	cr_assert(S_ISDIR(st.st_mode));
	cr_assert_eq(socket_at("Windows/ApiPort", NULL), 0);
	cr_assert_status(NtClose(h), STATUS_SUCCESS);
}

/* ------------------------------------------------------------------ */
/* The socket file                                                     */
/* ------------------------------------------------------------------ */

Test(create, socket_file_appears_with_default_mode)
{
	mode_t mode = 0, old = umask(077);
	HANDLE h = lpct_create(PORT, 0, 0x100);
	HANDLE w, r;
	OBJECT_ATTRIBUTES oa;

	umask(old);
	cr_assert_eq(socket_at(PORT_FILE, &mode), 0);
	cr_assert_eq(mode, 0666, "mode %o despite umask 077", mode);
	InitializeObjectAttributes(&oa, lpct_ustr("\\Windows\\waitable"), 0,
				   NULL, NULL);
	cr_assert_status(NtCreateWaitablePort(&w, &oa, 0, 0x100, 0),
			 STATUS_SUCCESS);
	cr_assert_eq(socket_at("Windows/waitable", &mode), 0);
	cr_assert_eq(mode, 0666);
	/* Spaces and case are kept as given. */
	r = lpct_create("\\RPC Control\\Spaced Out Name", 0, 0x100);
	cr_assert_eq(socket_at("RPC Control/Spaced Out Name", NULL), 0);
	cr_assert_status(NtClose(h), STATUS_SUCCESS);
	cr_assert_status(NtClose(w), STATUS_SUCCESS);
	cr_assert_status(NtClose(r), STATUS_SUCCESS);
}

Test(create, socket_file_disappears_on_close)
{
	HANDLE h = lpct_create(PORT, 0, 0x100);
	OBJECT_ATTRIBUTES oa;

	cr_assert_eq(socket_at(PORT_FILE, NULL), 0);
	cr_assert_status(NtClose(h), STATUS_SUCCESS);
	cr_assert_eq(socket_at(PORT_FILE, NULL), -ENOENT);
	InitializeObjectAttributes(&oa, lpct_ustr(PORT), 0, NULL, NULL);
	cr_assert_status(NtCreateWaitablePort(&h, &oa, 0, 0x100, 0),
			 STATUS_SUCCESS);
	cr_assert_eq(socket_at(PORT_FILE, NULL), 0);
	cr_assert_status(NtClose(h), STATUS_SUCCESS);
	cr_assert_eq(socket_at(PORT_FILE, NULL), -ENOENT);
}

Test(create, directory_lookup_ignores_case)
{
	HANDLE h = lpct_create("\\rpc control\\Lower", 0, 0x100), h2;

	cr_assert_eq(socket_at("RPC Control/Lower", NULL), 0);
	cr_assert_eq(access(lpct_path("rpc control"), F_OK), -1,
		     "a second directory was made");
	h2 = lpct_create("\\WINDOWS\\Upper", 0, 0x100);
	cr_assert_eq(socket_at("Windows/Upper", NULL), 0);
	cr_assert_status(NtClose(h), STATUS_SUCCESS);
	cr_assert_status(NtClose(h2), STATUS_SUCCESS);
	cr_assert_eq(socket_at("RPC Control/Lower", NULL), -ENOENT);
	cr_assert_eq(socket_at("Windows/Upper", NULL), -ENOENT);
}

/* Spec 8.1: the last handle to a connection port deletes the name, while
 * established connections keep working. */
Test(create, name_vanishes_on_close_while_connections_live)
{
	HANDLE port = lpct_create(PORT, 0, 0x100), client, comm, h2, c2;
	lpct_msg m;
	PVOID ctx = NULL;

	client = lpct_connect_client(port, PORT, NULL, &comm);
	cr_assert_status(NtClose(port), STATUS_SUCCESS);
	cr_assert_eq(socket_at(PORT_FILE, NULL), -ENOENT);
	cr_assert_status(lpct_connect(&c2, PORT, NULL, NULL),
			 STATUS_OBJECT_NAME_NOT_FOUND);
	/* The name is free again. */
	h2 = lpct_create(PORT, 0, 0x100);
	cr_assert_eq(socket_at(PORT_FILE, NULL), 0);
	/* The old connection still carries messages. */
	lpct_msg_init(&m, "still", 6);
	cr_assert_status(NtRequestPort(client, &m.h), STATUS_SUCCESS);
	memset(&m, 0, sizeof(m));
	cr_assert_status(NtReplyWaitReceivePort(comm, &ctx, NULL, &m.h),
			 STATUS_SUCCESS);
	cr_assert_eq(m.h.u2.s2.Type, LPC_DATAGRAM);
	cr_assert_str_eq((char *)m.data, "still");
	cr_assert_eq(ctx, comm);
	cr_assert_status(NtClose(client), STATUS_SUCCESS);
	cr_assert_status(NtClose(comm), STATUS_SUCCESS);
	cr_assert_status(NtClose(h2), STATUS_SUCCESS);
	cr_assert_eq(socket_at(PORT_FILE, NULL), -ENOENT);
}

Test(create, stale_socket_of_killed_server_is_reclaimed)
{
	pid_t pid = lpct_fork(lpct_create_and_die, PORT);
	HANDLE h = SENTINEL, client, comm;

	cr_assert_eq(lpct_wait(pid), 128 + SIGKILL);
	cr_assert_eq(socket_at(PORT_FILE, NULL), 0, "no stale socket left");
	cr_assert_status(lpct_try_create(&h, PORT, 0, 0x100), STATUS_SUCCESS);
	cr_assert_neq(h, SENTINEL);
	cr_assert_eq(socket_at(PORT_FILE, NULL), 0);
	/* It is the new port that answers. */
	client = lpct_connect_client(h, PORT, NULL, &comm);
	cr_assert_status(NtClose(client), STATUS_SUCCESS);
	cr_assert_status(NtClose(comm), STATUS_SUCCESS);
	cr_assert_status(NtClose(h), STATUS_SUCCESS);
	cr_assert_eq(socket_at(PORT_FILE, NULL), -ENOENT);
}

struct holder {
	const char *name;
	int ready[2];
	int release[2];
};

static void create_and_hold(void *arg)
{
	struct holder *ho = arg;
	HANDLE h;
	NTSTATUS s;
	char c;

	close(ho->ready[0]);
	close(ho->release[1]);
	s = lpct_try_create(&h, ho->name, 0, 0x100);
	if (write(ho->ready[1], &s, sizeof(s)) != sizeof(s))
		_exit(1);
	/* Until the parent closes its end. */
	while (read(ho->release[0], &c, 1) > 0)
		;
	_exit(s == STATUS_SUCCESS ? 0 : 2);
}

Test(create, live_server_in_other_process_collides)
{
	struct holder ho = { PORT, { -1, -1 }, { -1, -1 } };
	NTSTATUS s = -1;
	HANDLE h = SENTINEL;
	pid_t pid;

	cr_assert_eq(pipe(ho.ready), 0);
	cr_assert_eq(pipe(ho.release), 0);
	pid = lpct_fork(create_and_hold, &ho);
	close(ho.ready[1]);
	close(ho.release[0]);
	cr_assert_eq(read(ho.ready[0], &s, sizeof(s)), (ssize_t)sizeof(s));
	cr_assert_status(s, STATUS_SUCCESS);
	cr_assert_status(lpct_try_create(&h, PORT, 0, 0x100),
			 STATUS_OBJECT_NAME_COLLISION);
	cr_assert_status(lpct_try_create(&h, "\\RPC CONTROL\\CREATE", 0,
					 0x100),
			 STATUS_OBJECT_NAME_COLLISION);
	cr_assert_eq(h, SENTINEL);
	/* The probe did not disturb the other server's socket. */
	cr_assert_eq(socket_at(PORT_FILE, NULL), 0);
	close(ho.release[1]);
	close(ho.ready[0]);
	cr_assert_eq(lpct_wait(pid), 0);
	/* Gone (or stale): creatable again. */
	cr_assert_status(lpct_try_create(&h, PORT, 0, 0x100), STATUS_SUCCESS);
	cr_assert_status(NtClose(h), STATUS_SUCCESS);
}

/* ------------------------------------------------------------------ */
/* Permissions                                                         */
/* ------------------------------------------------------------------ */

Test(create, root_can_create_in_namespace_root)
{
	HANDLE h;

	if (geteuid() != 0)
		cr_skip_test("needs root");
	h = lpct_create("\\MyPort", 0, 0x100);
	cr_assert_eq(socket_at("MyPort", NULL), 0);
	cr_assert_status(NtClose(h), STATUS_SUCCESS);
	cr_assert_eq(socket_at("MyPort", NULL), -ENOENT);
}

static NTSTATUS create_and_close(void *name)
{
	HANDLE h = NULL;
	NTSTATUS s = lpct_try_create(&h, name, 0, 0x100);

	if (s == STATUS_SUCCESS && NtClose(h) != STATUS_SUCCESS)
		return STATUS_UNSUCCESSFUL;
	return s;
}

Test(create, nobody_cannot_create_in_namespace_root)
{
	cr_assert_status(lpct_as_nobody(create_and_close, "\\MyPort"),
			 STATUS_ACCESS_DENIED);
	cr_assert_eq(socket_at("MyPort", NULL), -ENOENT);
	cr_assert_status(lpct_as_nobody(create_and_close, "\\Windows\\x"),
			 STATUS_ACCESS_DENIED);
	cr_assert_eq(socket_at("Windows/x", NULL), -ENOENT);
}

Test(create, nobody_can_create_in_rpc_control)
{
	HANDLE h = lpct_create(PORT, 0, 0x100);

	cr_assert_status(lpct_as_nobody(create_and_close,
				   "\\RPC Control\\nobody"),
			 STATUS_SUCCESS);
	cr_assert_eq(socket_at("RPC Control/nobody", NULL), -ENOENT);
	/* Another user's live port still collides (not ACCESS_DENIED). */
	cr_assert_status(lpct_as_nobody(create_and_close, PORT),
			 STATUS_OBJECT_NAME_COLLISION);
	cr_assert_eq(socket_at(PORT_FILE, NULL), 0);
	cr_assert_status(NtClose(h), STATUS_SUCCESS);
}

/* ------------------------------------------------------------------ */
/* NtClose                                                             */
/* ------------------------------------------------------------------ */

Test(create, close_invalid_handles)
{
	cr_assert_status(NtClose(NULL), STATUS_INVALID_HANDLE);
	cr_assert_status(NtClose((HANDLE)(uintptr_t)4), STATUS_INVALID_HANDLE);
	cr_assert_status(NtClose((HANDLE)(uintptr_t)0x7ffff000),
			 STATUS_INVALID_HANDLE);
	cr_assert_status(NtClose((HANDLE)(uintptr_t)0xdeadbeef0),
			 STATUS_INVALID_HANDLE);
	/* Never a raw fd. */
	cr_assert_status(NtClose((HANDLE)(uintptr_t)1), STATUS_INVALID_HANDLE);
	cr_assert_status(NtClose((HANDLE)(uintptr_t)2), STATUS_INVALID_HANDLE);
}

/* Pseudo-handles are not closable: the close fails and they keep working
 * (there are no process/thread objects here to close anyway). */
Test(create, close_pseudo_handles_fails)
{
	HANDLE h = lpct_create(PORT, 0, 0x100);

	cr_assert_status(NtClose(NtCurrentProcess()), STATUS_INVALID_HANDLE);
	cr_assert_status(NtClose(NtCurrentThread()), STATUS_INVALID_HANDLE);
	/* Nothing else was closed by it. */
	cr_assert_status(NtQueryInformationPort(h, PortBasicInformation, NULL,
						0, NULL),
			 STATUS_SUCCESS);
	cr_assert_status(NtClose(h), STATUS_SUCCESS);
}

Test(create, double_close_is_invalid_handle)
{
	HANDLE p = lpct_create(PORT, 0, 0x100), u = lpct_create(NULL, 0, 0x100);
	HANDLE s = NULL;
	LARGE_INTEGER size = { .QuadPart = 0x1000 };

	cr_assert_status(NtCreateSection(&s, SECTION_ALL_ACCESS, NULL, &size,
					 PAGE_READWRITE, SEC_COMMIT, NULL),
			 STATUS_SUCCESS);
	cr_assert_status(NtClose(p), STATUS_SUCCESS);
	cr_assert_status(NtClose(p), STATUS_INVALID_HANDLE);
	cr_assert_status(NtClose(u), STATUS_SUCCESS);
	cr_assert_status(NtClose(u), STATUS_INVALID_HANDLE);
	cr_assert_status(NtClose(s), STATUS_SUCCESS);
	cr_assert_status(NtClose(s), STATUS_INVALID_HANDLE);
}

Test(create, close_every_port_kind_succeeds)
{
	HANDLE port = lpct_create(PORT, 0, 0x100), u = lpct_create(NULL, 0, 0);
	HANDLE client, comm, w;
	OBJECT_ATTRIBUTES oa;

	InitializeObjectAttributes(&oa, lpct_ustr("\\Windows\\w"), 0, NULL,
				   NULL);
	cr_assert_status(NtCreateWaitablePort(&w, &oa, 0, 0x100, 0),
			 STATUS_SUCCESS);
	client = lpct_connect_client(port, PORT, NULL, &comm);
	cr_assert_status(NtClose(client), STATUS_SUCCESS);
	cr_assert_status(NtClose(comm), STATUS_SUCCESS);
	cr_assert_status(NtClose(port), STATUS_SUCCESS);
	cr_assert_status(NtClose(u), STATUS_SUCCESS);
	cr_assert_status(NtClose(w), STATUS_SUCCESS);
	/* Closed handles are dead for every call. */
	cr_assert_status(NtQueryInformationPort(port, PortBasicInformation,
						NULL, 0, NULL),
			 STATUS_INVALID_HANDLE);
	cr_assert_status(NtQueryInformationPort(client, PortBasicInformation,
						NULL, 0, NULL),
			 STATUS_INVALID_HANDLE);
	cr_assert_status(NtCompleteConnectPort(comm), STATUS_INVALID_HANDLE);
}

/* NtClose never waits for a peer (design.md: nothing may hang), however
 * many connections the port carried. */
Test(create, closing_a_server_with_several_connections_is_prompt)
{
	HANDLE port = lpct_create(PORT, 0, 0x100), c[3], s[3];
	long t0, ms;

	for (int i = 0; i < 3; i++)
		c[i] = lpct_connect_client(port, PORT, NULL, &s[i]);
	t0 = lpct_now_ms();
	for (int i = 0; i < 3; i++)
		cr_assert_status(NtClose(c[i]), STATUS_SUCCESS);
	for (int i = 0; i < 3; i++)
		cr_assert_status(NtClose(s[i]), STATUS_SUCCESS);
	cr_assert_status(NtClose(port), STATUS_SUCCESS);
	ms = lpct_now_ms() - t0;
	cr_assert_lt(ms, 1000, "closing took %ld ms", ms);
	cr_assert_eq(socket_at(PORT_FILE, NULL), -ENOENT);
}

Test(create, closing_one_port_leaves_others_alone)
{
	HANDLE a = lpct_create(PORT, 0, 0x100);
	HANDLE b = lpct_create("\\RPC Control\\other", 0, 0x100);

	cr_assert_status(NtClose(a), STATUS_SUCCESS);
	cr_assert_eq(socket_at("RPC Control/other", NULL), 0);
	cr_assert_status(NtQueryInformationPort(b, PortBasicInformation, NULL,
						0, NULL),
			 STATUS_SUCCESS);
	cr_assert_status(NtClose(b), STATUS_SUCCESS);
}

/* ------------------------------------------------------------------ */
/* NtQueryInformationPort (spec 5.15, Q8 as decided)                   */
/* ------------------------------------------------------------------ */

Test(create, query_basic_information_succeeds_with_zero_return_length)
{
	HANDLE port = lpct_create(PORT, 0, 0x100), u = lpct_create(NULL, 0, 0);
	HANDLE client, comm, kinds[4];
	UCHAR info[64];
	ULONG rl;

	client = lpct_connect_client(port, PORT, NULL, &comm);
	kinds[0] = port;
	kinds[1] = u;
	kinds[2] = client;
	kinds[3] = comm;
	for (int i = 0; i < 4; i++) {
		memset(info, 0xa5, sizeof(info));
		rl = 0xdead;
		assert_status_in(NtQueryInformationPort(kinds[i],
							PortBasicInformation,
							info, sizeof(info),
							&rl),
				 STATUS_SUCCESS, "port kind %d", i);
		cr_assert_eq(rl, 0);
		for (size_t k = 0; k < sizeof(info); k++)
			cr_assert_eq(info[k], 0xa5, "info written");
		cr_assert_status(NtQueryInformationPort(kinds[i],
							PortBasicInformation,
							info, sizeof(info),
							NULL),
				 STATUS_SUCCESS);
		/* A zero-length buffer is not probed. */
		cr_assert_status(NtQueryInformationPort(kinds[i],
							PortBasicInformation,
							NULL, 0, &rl),
				 STATUS_SUCCESS);
	}
	cr_assert_status(NtClose(client), STATUS_SUCCESS);
	cr_assert_status(NtClose(comm), STATUS_SUCCESS);
	cr_assert_status(NtClose(port), STATUS_SUCCESS);
	cr_assert_status(NtClose(u), STATUS_SUCCESS);
}

Test(create, query_other_classes_are_invalid_info_class)
{
	HANDLE port = lpct_create(PORT, 0, 0x100);
	UCHAR info[64];
	ULONG rl = 0xdead;

	cr_assert_status(NtQueryInformationPort(port, PortDumpInformation, info,
						sizeof(info), &rl),
			 STATUS_INVALID_INFO_CLASS);
	cr_assert_status(NtQueryInformationPort(port,
						(PORT_INFORMATION_CLASS)2,
						info, sizeof(info), &rl),
			 STATUS_INVALID_INFO_CLASS);
	cr_assert_status(NtQueryInformationPort(port,
						(PORT_INFORMATION_CLASS)-1,
						info, sizeof(info), &rl),
			 STATUS_INVALID_INFO_CLASS);
	cr_assert_eq(rl, 0xdead);
	/* The class is checked before the handle. */
	cr_assert_status(NtQueryInformationPort(NULL, PortDumpInformation, info,
						sizeof(info), &rl),
			 STATUS_INVALID_INFO_CLASS);
	cr_assert_status(NtQueryInformationPort((HANDLE)(uintptr_t)0x7ffff000,
						(PORT_INFORMATION_CLASS)7,
						NULL, 0, NULL),
			 STATUS_INVALID_INFO_CLASS);
	cr_assert_status(NtClose(port), STATUS_SUCCESS);
}

Test(create, query_probes_buffers_first)
{
	HANDLE port = lpct_create(PORT, 0, 0x100);
	UCHAR info[16];
	ULONG rl;

	cr_assert_status(NtQueryInformationPort(port, PortBasicInformation,
						(PVOID)(uintptr_t)8, 16, &rl),
			 STATUS_ACCESS_VIOLATION);
	cr_assert_status(NtQueryInformationPort(port, PortBasicInformation,
						NULL, 16, &rl),
			 STATUS_ACCESS_VIOLATION);
	cr_assert_status(NtQueryInformationPort(port, PortBasicInformation,
						info, sizeof(info),
						(PULONG)(uintptr_t)8),
			 STATUS_ACCESS_VIOLATION);
	/* Before the class and the handle. */
	cr_assert_status(NtQueryInformationPort(NULL, PortDumpInformation,
						(PVOID)(uintptr_t)8, 16, NULL),
			 STATUS_ACCESS_VIOLATION);
	cr_assert_status(NtQueryInformationPort(NULL, (PORT_INFORMATION_CLASS)9,
						info, sizeof(info),
						(PULONG)(uintptr_t)8),
			 STATUS_ACCESS_VIOLATION);
	cr_assert_status(NtClose(port), STATUS_SUCCESS);
}

Test(create, query_bad_handles)
{
	HANDLE s = NULL;
	LARGE_INTEGER size = { .QuadPart = 0x1000 };
	ULONG rl = 0xdead;

	cr_assert_status(NtQueryInformationPort(NULL, PortBasicInformation,
						NULL, 0, &rl),
			 STATUS_INVALID_HANDLE);
	cr_assert_status(NtQueryInformationPort((HANDLE)(uintptr_t)0x7ffff000,
						PortBasicInformation, NULL, 0,
						&rl),
			 STATUS_INVALID_HANDLE);
	cr_assert_status(NtQueryInformationPort(NtCurrentProcess(),
						PortBasicInformation, NULL, 0,
						&rl),
			 STATUS_OBJECT_TYPE_MISMATCH);
	cr_assert_status(NtQueryInformationPort(NtCurrentThread(),
						PortBasicInformation, NULL, 0,
						&rl),
			 STATUS_OBJECT_TYPE_MISMATCH);
	cr_assert_status(NtCreateSection(&s, SECTION_ALL_ACCESS, NULL, &size,
					 PAGE_READWRITE, SEC_COMMIT, NULL),
			 STATUS_SUCCESS);
	cr_assert_status(NtQueryInformationPort(s, PortBasicInformation, NULL,
						0, &rl),
			 STATUS_OBJECT_TYPE_MISMATCH);
	cr_assert_eq(rl, 0xdead);
	cr_assert_status(NtClose(s), STATUS_SUCCESS);
}

/* ------------------------------------------------------------------ */
/* NtCreateSection argument checks                                     */
/* ------------------------------------------------------------------ */

Test(create, create_section_succeeds)
{
	LARGE_INTEGER size = { .QuadPart = 0x10000 };
	OBJECT_ATTRIBUTES oa;
	HANDLE s = SENTINEL, s2 = SENTINEL;

	cr_assert_status(NtCreateSection(&s, SECTION_ALL_ACCESS, NULL, &size,
					 PAGE_READWRITE, SEC_COMMIT, NULL),
			 STATUS_SUCCESS);
	cr_assert(s != SENTINEL && s != NULL);
	cr_assert_eq((uintptr_t)s & 3, 0);
	/* Unnamed object attributes are fine; SEC_RESERVE too (CSR). */
	InitializeObjectAttributes(&oa, NULL, 0, NULL, NULL);
	size.QuadPart = 1;
	cr_assert_status(NtCreateSection(&s2, SECTION_ALL_ACCESS, &oa, &size,
					 PAGE_READWRITE, SEC_RESERVE, NULL),
			 STATUS_SUCCESS);
	cr_assert(s2 != SENTINEL && s2 != s);
	/* A section is not a port. */
	cr_assert_status(NtCompleteConnectPort(s), STATUS_OBJECT_TYPE_MISMATCH);
	cr_assert_status(NtClose(s), STATUS_SUCCESS);
	cr_assert_status(NtClose(s2), STATUS_SUCCESS);
}

Test(create, create_section_null_handle_pointer)
{
	LARGE_INTEGER size = { .QuadPart = 0x1000 };

	cr_assert_status(NtCreateSection(NULL, SECTION_ALL_ACCESS, NULL, &size,
					 PAGE_READWRITE, SEC_COMMIT, NULL),
			 STATUS_ACCESS_VIOLATION);
	cr_assert_status(NtCreateSection((PHANDLE)(uintptr_t)8,
					 SECTION_ALL_ACCESS, NULL, &size,
					 PAGE_READWRITE, SEC_COMMIT, NULL),
			 STATUS_ACCESS_VIOLATION);
	/* The output pointer comes first. */
	cr_assert_status(NtCreateSection(NULL, SECTION_ALL_ACCESS, NULL, NULL,
					 PAGE_READWRITE, SEC_COMMIT,
					 (HANDLE)(uintptr_t)4),
			 STATUS_ACCESS_VIOLATION);
}

Test(create, create_section_file_backed_not_supported)
{
	LARGE_INTEGER size = { .QuadPart = 0x1000 };
	HANDLE s = SENTINEL, port = lpct_create(NULL, 0, 0x100);

	cr_assert_status(NtCreateSection(&s, SECTION_ALL_ACCESS, NULL, &size,
					 PAGE_READWRITE, SEC_COMMIT,
					 (HANDLE)(uintptr_t)4),
			 STATUS_NOT_SUPPORTED);
	cr_assert_status(NtCreateSection(&s, SECTION_ALL_ACCESS, NULL, &size,
					 PAGE_READWRITE, SEC_COMMIT, port),
			 STATUS_NOT_SUPPORTED);
	cr_assert_eq(s, SENTINEL);
	cr_assert_status(NtClose(port), STATUS_SUCCESS);
}

Test(create, create_section_named_not_supported)
{
	LARGE_INTEGER size = { .QuadPart = 0x1000 };
	OBJECT_ATTRIBUTES oa;
	HANDLE s = SENTINEL;

	InitializeObjectAttributes(&oa, lpct_ustr("\\RPC Control\\section"), 0,
				   NULL, NULL);
	cr_assert_status(NtCreateSection(&s, SECTION_ALL_ACCESS, &oa, &size,
					 PAGE_READWRITE, SEC_COMMIT, NULL),
			 STATUS_NOT_SUPPORTED);
	cr_assert_eq(s, SENTINEL);
	cr_assert_eq(access(lpct_path("RPC Control/section"), F_OK), -1);
}

Test(create, create_section_bad_size_is_invalid_parameter_4)
{
	static const LONGLONG sizes[] = { 0, -1, -0x1000, INT64_MIN };
	LARGE_INTEGER size;
	HANDLE s = SENTINEL;

	cr_assert_status(NtCreateSection(&s, SECTION_ALL_ACCESS, NULL, NULL,
					 PAGE_READWRITE, SEC_COMMIT, NULL),
			 STATUS_INVALID_PARAMETER_4);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size.QuadPart = sizes[i];
		assert_status_in(NtCreateSection(&s, SECTION_ALL_ACCESS, NULL,
						 &size, PAGE_READWRITE,
						 SEC_COMMIT, NULL),
				 STATUS_INVALID_PARAMETER_4, "size %lld",
				 (long long)sizes[i]);
	}
	cr_assert_eq(s, SENTINEL);
}

/* ------------------------------------------------------------------ */
/* RtlInitUnicodeString, InitializeObjectAttributes, NT_SUCCESS        */
/* ------------------------------------------------------------------ */

Test(create, rtl_init_unicode_string)
{
	static const WCHAR abc[] = { 'a', 'b', 'c', 0 };
	static const WCHAR empty[] = { 0 };
	UNICODE_STRING us;
	WCHAR *big;
	size_t n = 0x9000;

	memset(&us, 0xcc, sizeof(us));
	RtlInitUnicodeString(&us, abc);
	cr_assert_eq(us.Length, 6);
	cr_assert_eq(us.MaximumLength, 8);
	cr_assert_eq(us.Buffer, abc, "the string is not copied");

	memset(&us, 0xcc, sizeof(us));
	RtlInitUnicodeString(&us, empty);
	cr_assert_eq(us.Length, 0);
	cr_assert_eq(us.MaximumLength, 2);
	cr_assert_eq(us.Buffer, empty);

	memset(&us, 0xcc, sizeof(us));
	RtlInitUnicodeString(&us, NULL);
	cr_assert_eq(us.Length, 0);
	cr_assert_eq(us.MaximumLength, 0);
	cr_assert_null(us.Buffer);

	/* u"" literals work as PCWSTR. */
	RtlInitUnicodeString(&us, u"\\RPC Control\\x");
	cr_assert_eq(us.Length, 28);
	cr_assert_eq(us.MaximumLength, 30);

	/* Longer than a USHORT can count: capped at 0xFFFC/0xFFFE. */
	big = malloc((n + 1) * sizeof(WCHAR));
	cr_assert_not_null(big);
	for (size_t i = 0; i < n; i++)
		big[i] = 'x';
	big[n] = 0;
	RtlInitUnicodeString(&us, big);
	cr_assert_eq(us.Length, 0xFFFC);
	cr_assert_eq(us.MaximumLength, 0xFFFE);
	cr_assert_eq(us.Buffer, big);
	free(big);
}

Test(create, rtl_init_unicode_string_name_creates_port)
{
	UNICODE_STRING us;
	OBJECT_ATTRIBUTES oa;
	HANDLE h = SENTINEL;

	RtlInitUnicodeString(&us, u"\\RPC Control\\create");
	InitializeObjectAttributes(&oa, &us, OBJ_CASE_INSENSITIVE, NULL, NULL);
	cr_assert_status(create_with_oa(&h, &oa), STATUS_SUCCESS);
	cr_assert_eq(socket_at(PORT_FILE, NULL), 0);
	cr_assert_status(NtClose(h), STATUS_SUCCESS);
}

Test(create, initialize_object_attributes_sets_every_field)
{
	OBJECT_ATTRIBUTES oa;
	UNICODE_STRING us;
	int sd;

	memset(&oa, 0xcc, sizeof(oa));
	InitializeObjectAttributes(&oa, &us, OBJ_CASE_INSENSITIVE,
				   (HANDLE)(uintptr_t)0x10, &sd);
	cr_assert_eq(oa.Length, sizeof(OBJECT_ATTRIBUTES));
	cr_assert_eq(oa.Length, 48);
	cr_assert_eq(oa.RootDirectory, (HANDLE)(uintptr_t)0x10);
	cr_assert_eq(oa.ObjectName, &us);
	cr_assert_eq(oa.Attributes, OBJ_CASE_INSENSITIVE);
	cr_assert_eq(oa.SecurityDescriptor, &sd);
	cr_assert_null(oa.SecurityQualityOfService);

	memset(&oa, 0xcc, sizeof(oa));
	InitializeObjectAttributes(&oa, NULL, 0, NULL, NULL);
	cr_assert_eq(oa.Length, sizeof(OBJECT_ATTRIBUTES));
	cr_assert_null(oa.RootDirectory);
	cr_assert_null(oa.ObjectName);
	cr_assert_eq(oa.Attributes, 0);
	cr_assert_null(oa.SecurityDescriptor);
	cr_assert_null(oa.SecurityQualityOfService);
}

Test(create, nt_success_classifies_statuses)
{
	cr_assert(NT_SUCCESS(STATUS_SUCCESS));
	cr_assert(NT_SUCCESS(STATUS_TIMEOUT));
	cr_assert(NT_SUCCESS(STATUS_PENDING));
	cr_assert(NT_SUCCESS(STATUS_USER_APC));
	cr_assert(NT_SUCCESS(DBG_CONTINUE));
	cr_assert(NT_SUCCESS(0x3fffffff));
	cr_assert(!NT_SUCCESS(STATUS_DATATYPE_MISALIGNMENT));
	cr_assert(!NT_SUCCESS(STATUS_ACCESS_VIOLATION));
	cr_assert(!NT_SUCCESS(STATUS_INVALID_PARAMETER_4));
	cr_assert(!NT_SUCCESS(STATUS_SERVER_SID_MISMATCH));
	cr_assert(!NT_SUCCESS(0x80000000u));
	cr_assert(!NT_SUCCESS(0xffffffffu));
	/* The values themselves (spec 1.4). */
	cr_assert_eq((ULONG)STATUS_INVALID_PARAMETER_3, 0xC00000F1u);
	cr_assert_eq((ULONG)STATUS_INVALID_PARAMETER_4, 0xC00000F2u);
	cr_assert_eq((ULONG)STATUS_OBJECT_NAME_COLLISION, 0xC0000035u);
	cr_assert_eq((ULONG)STATUS_PORT_CONNECTION_REFUSED, 0xC0000041u);
	cr_assert_eq((ULONG)STATUS_SERVER_SID_MISMATCH, 0xC00002A0u);
	cr_assert_eq((ULONG)STATUS_REPLY_MESSAGE_MISMATCH, 0xC000021Fu);
}

/*
 * Regression: NtCreatePort bound the name before listening on it.  In
 * between, a second creator of the same name took the socket for one a
 * dead server had left, removed it and bound its own: both creates
 * succeeded and the first server was left listening on nothing.  Clients
 * in that window were refused as well.  Two processes racing for one name
 * must now give exactly one winner, every round.
 */
struct prober {
	volatile bool stop;
	long refused;	/* the name existed, yet nobody listened */
};

static void *probe_name(void *arg)
{
	struct prober *p = arg;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s",
		 lpct_path("RPC Control/visible"));
	while (!p->stop) {
		int fd;

		if (stat(sa.sun_path, &st) < 0)
			continue;
		fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 &&
		    errno == ECONNREFUSED && stat(sa.sun_path, &st) == 0)
			p->refused++;
		close(fd);
	}
	return NULL;
}

/* Regression (same bug): a client that found the name could be refused
 * because the server had not listened yet. */
Test(create, name_appears_only_with_a_listener)
{
	struct prober p = { 0 };
	pthread_t t;

	lpct_ns_init();
	pthread_create(&t, NULL, probe_name, &p);
	for (int i = 0; i < 3000; i++) {
		HANDLE h = lpct_create("\\RPC Control\\visible", 0, 0x100);

		NtClose(h);
	}
	p.stop = true;
	pthread_join(t, NULL);
	cr_assert_eq(p.refused, 0, "%ld connects refused by a name that "
		     "existed", p.refused);
}

Test(create, racing_creators_of_one_name_give_one_winner)
{
	for (int round = 0; round < 40; round++) {
		int go[2][2], res[2];
		char name[64];
		pid_t kids[2];
		int wins = 0;

		snprintf(name, sizeof(name), "\\RPC Control\\race%d", round);
		cr_assert_eq(pipe(res), 0);
		for (int k = 0; k < 2; k++) {
			cr_assert_eq(pipe(go[k]), 0);
			kids[k] = fork();
			cr_assert_geq(kids[k], 0);
			if (kids[k] == 0) {
				HANDLE h;
				char c, won;

				prctl(PR_SET_PDEATHSIG, SIGKILL);
				if (read(go[k][0], &c, 1) != 1)
					_exit(1);
				won = lpct_try_create(&h, name, 0, 0x100) ==
				      STATUS_SUCCESS;
				if (write(res[1], &won, 1) != 1)
					_exit(1);
				/* Hold the port until both have tried. */
				if (read(go[k][0], &c, 1) != 1)
					_exit(1);
				_exit(0);
			}
		}
		for (int k = 0; k < 2; k++)
			cr_assert_eq(write(go[k][1], "g", 1), 1);
		for (int k = 0; k < 2; k++) {
			char won;

			cr_assert_eq(read(res[0], &won, 1), 1);
			wins += won;
		}
		for (int k = 0; k < 2; k++) {
			cr_assert_eq(write(go[k][1], "x", 1), 1);
			waitpid(kids[k], NULL, 0);
			close(go[k][0]);
			close(go[k][1]);
		}
		close(res[0]);
		close(res[1]);
		cr_assert_eq(wins, 1, "round %d: %d creators won", round,
			     wins);
	}
}

/* A server that dies while its ring has an accept armed: the kernel tears
 * the ring down after the process is gone, and until then its listening
 * socket accepts connections nobody will take. */
static void create_listen_forever(void *name)
{
	HANDLE h;
	lpct_msg m;

	if (lpct_try_create(&h, name, 0, 0x100) != STATUS_SUCCESS)
		_exit(1);
	NtListenPort(h, &m.h);
	_exit(2);
}

static pid_t kill_a_listening_server(void)
{
	pid_t pid = lpct_fork(create_listen_forever, PORT);
	long t0 = lpct_now_ms();

	while (socket_at(PORT_FILE, NULL) != 0 || !lpct_wait_sleeping(pid, pid)) {
		cr_assert_lt(lpct_now_ms() - t0, 5000, "server never listened");
		usleep(1000);
	}
	kill(pid, SIGKILL);
	cr_assert_eq(lpct_wait(pid), 128 + SIGKILL);
	return pid;
}

Test(create, name_of_a_server_killed_while_listening_is_free_at_once)
{
	HANDLE h = SENTINEL;

	kill_a_listening_server();
	/* Straight after the reap: no retry, no collision. */
	cr_assert_status(lpct_try_create(&h, PORT, 0, 0x100), STATUS_SUCCESS);
	cr_assert_status(NtClose(h), STATUS_SUCCESS);
}

Test(create, connecting_to_a_server_killed_while_listening_is_not_found)
{
	SECURITY_QUALITY_OF_SERVICE qos = { sizeof(qos), SecurityImpersonation,
					    SECURITY_DYNAMIC_TRACKING, TRUE };
	HANDLE c = SENTINEL;

	kill_a_listening_server();
	cr_assert_status(NtConnectPort(&c, lpct_ustr(PORT), &qos, NULL, NULL,
				       NULL, NULL, NULL),
			 STATUS_OBJECT_NAME_NOT_FOUND);
}
