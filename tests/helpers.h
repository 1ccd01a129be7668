/* SPDX-License-Identifier: MIT */
/*
 * helpers.h - shared by the Criterion suites.  Every test runs in its own
 * process (Criterion forks) under a fresh $LPC_ROOT, so tests never see
 * each other's ports or MessageIds.
 */
#ifndef LPC_TEST_HELPERS_H
#define LPC_TEST_HELPERS_H

#include <criterion/criterion.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/types.h>

#include <lpc/lpc.h>

/* .init for every suite: a private, world-searchable $LPC_ROOT. */
void lpct_setup(void);
void lpct_teardown(void);
const char *lpct_root(void);

/* A UNICODE_STRING for an ASCII name (kept in static storage). */
PUNICODE_STRING lpct_ustr(const char *ascii);
/* NtCreatePort on name (NULL: unnamed); asserts success. */
HANDLE lpct_create(const char *name, ULONG max_info, ULONG max_msg);
NTSTATUS lpct_try_create(HANDLE *h, const char *name, ULONG max_info,
			 ULONG max_msg);
/* NtConnectPort with a default QoS. */
NTSTATUS lpct_connect(HANDLE *h, const char *name, void *info, ULONG *infolen);
SECURITY_QUALITY_OF_SERVICE *lpct_qos(void);

/* A message buffer big enough for any port. */
typedef struct {
	PORT_MESSAGE h;
	UCHAR data[LPC_MAX_MESSAGE_LENGTH];
} lpct_msg;

void lpct_msg_init(lpct_msg *m, const void *data, CSHORT len);

/* Accept (and complete) the next connection request on port. */
HANDLE lpct_accept_next(HANDLE port, PVOID context);

/* A thread running fn(arg); join returns its return value. */
pthread_t lpct_thread(void *(*fn)(void *), void *arg);
void *lpct_join(pthread_t t);

/* Run fn in a forked child; returns its pid. */
pid_t lpct_fork(void (*fn)(void *), void *arg);
/* Wait for a child: its exit status, or 128 + signal. */
int lpct_wait(pid_t pid);

/* Count open fds / mappings of this process. */
int lpct_count_fds(void);
int lpct_count_maps(void);

/* Seconds as an NT relative timeout. */
LARGE_INTEGER lpct_timeout_ms(long ms);

#define cr_assert_status(expr, want)                                           \
	do {                                                                   \
		NTSTATUS s__ = (expr);                                         \
		cr_assert_eq(s__, (NTSTATUS)(want),                            \
			     "%s: got 0x%08x, want 0x%08x (%s)", #expr,        \
			     (unsigned)s__, (unsigned)(want), #want);          \
	} while (0)

#endif
