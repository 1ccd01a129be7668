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
#include <stdint.h>
#include <sys/types.h>
#include <unistd.h>

#include <lpc/lpc.h>

/* .init for every suite: a private, world-searchable $LPC_ROOT. */
void lpct_setup(void);
void lpct_teardown(void);
const char *lpct_root(void);
/* $LPC_ROOT/<rel>, rel with '/' separators (four results live at once). */
const char *lpct_path(const char *rel);
/* Create the fixed directories now: only the namespace root's owner can. */
void lpct_ns_init(void);

/* A UNICODE_STRING for an ASCII name (kept in static storage). */
PUNICODE_STRING lpct_ustr(const char *ascii);
/* NtCreatePort on name (NULL: unnamed); asserts success. */
HANDLE lpct_create(const char *name, ULONG max_info, ULONG max_msg);
NTSTATUS lpct_try_create(HANDLE *h, const char *name, ULONG max_info,
			 ULONG max_msg);
/* NtCreateWaitablePort on name (NULL: unnamed); asserts success. */
HANDLE lpct_create_waitable(const char *name, ULONG max_info, ULONG max_msg);
/* NtConnectPort with a default QoS. */
NTSTATUS lpct_connect(HANDLE *h, const char *name, void *info, ULONG *infolen);
SECURITY_QUALITY_OF_SERVICE *lpct_qos(void);

/* A connecting thread: lpct_thread(lpct_connect_thread, &c), then c.s, c.h. */
struct lpct_conn {
	const char *name;
	HANDLE h;
	NTSTATUS s;
};

void *lpct_connect_thread(void *arg);
/* Connect a thread to name, accept it: the client port (comm in *comm). */
HANDLE lpct_connect_client(HANDLE port, const char *name, PVOID context,
			   HANDLE *comm);

/* A message buffer big enough for any port. */
typedef struct {
	PORT_MESSAGE h;
	UCHAR data[LPC_MAX_MESSAGE_LENGTH];
} lpct_msg;

void lpct_msg_init(lpct_msg *m, const void *data, CSHORT len);
/* Set DataLength and TotalLength as given, consistent or not. */
void lpct_set_lengths(PORT_MESSAGE *h, int data, int total);
/* The Type without its flag bits, as robust receivers read it (spec 1.2). */
int lpct_msg_type(const lpct_msg *m);
/* Does m's ClientId name thread tid of process pid? */
bool lpct_cid_is(const PORT_MESSAGE *m, pid_t pid, pid_t tid);

/* Accept (and complete) the next connection request on port. */
HANDLE lpct_accept_next(HANDLE port, PVOID context);

/* Every receive is bounded: a lost message fails, it never hangs. */
#define LPCT_RECV_MS 10000
/* How long "nothing else arrives" is watched for. */
#define LPCT_QUIET_MS 200

/* NtReplyWaitReceivePortEx waiting up to ms (0: poll); only it writes m. */
NTSTATUS lpct_recv_ms(HANDLE port, PVOID *ctx, PORT_MESSAGE *m, long ms);
/* Receive into m (its header cleared first) within LPCT_RECV_MS; asserts. */
void lpct_recv_ok(HANDLE port, PVOID *ctx, lpct_msg *m);
/* Assert that nothing is received on port within LPCT_QUIET_MS. */
void lpct_assert_quiet(HANDLE port);
/* Request whose reply must be the echo (data bytes + 1): 0 or step 1-3. */
int lpct_echo_request(HANDLE port, uint32_t seq);
/* Reply to request m through port with that echo. */
NTSTATUS lpct_reply_echo(HANDLE port, lpct_msg *m);

/* A thread running fn(arg); join returns its return value. */
pthread_t lpct_thread(void *(*fn)(void *), void *arg);
void *lpct_join(pthread_t t);
/* The calling thread's id (a Linux tid, as in a ClientId). */
pid_t lpct_gettid(void);

/* Run fn in a forked child; returns its pid. */
pid_t lpct_fork(void (*fn)(void *), void *arg);
/* Wait for a child: its exit status, or 128 + signal. */
int lpct_wait(pid_t pid);
/* Kill child pid (it must die of SIGKILL), or else it must exit 0. */
void lpct_end_child(pid_t pid, bool kill_it);
/* First thing in a forked child: die with the test, never linger. */
void lpct_child_enter(void);
/* In a forked child (no Criterion asserts there): exit with code if !cond. */
#define CHILD_CHECK(cond, code)                                                \
	do {                                                                   \
		if (!(cond))                                                   \
			_exit(code);                                           \
	} while (0)
/* Forked child: create the port named name, then die of SIGKILL. */
void lpct_create_and_die(void *name);

#define LPCT_NOBODY 65534

/* fn(arg) in a forked child running as uid/gid LPCT_NOBODY. */
struct lpct_nobody {
	NTSTATUS (*fn)(void *);
	void *arg;
	int fd;
	pid_t pid;
};

/* Start it (the test is skipped unless it runs as root). */
void lpct_nobody_start(struct lpct_nobody *n, NTSTATUS (*fn)(void *),
		       void *arg);
/* fn's status, from the child; asserts that the child exited 0. */
NTSTATUS lpct_nobody_finish(struct lpct_nobody *n);
/* lpct_nobody_start, then lpct_nobody_finish. */
NTSTATUS lpct_as_nobody(NTSTATUS (*fn)(void *), void *arg);

/* /proc state letter of process pid (tid 0) or its thread tid; 0: none. */
char lpct_proc_state(pid_t pid, pid_t tid);
/* Bounded poll: is thread tid of pid asleep in a call (twice, 5 ms apart)? */
bool lpct_wait_sleeping(pid_t pid, pid_t tid);
/* One byte from a pipe; asserts that the writer did not close it first. */
char lpct_read_byte(int fd);

/* Count open fds / mappings of this process. */
int lpct_count_fds(void);
int lpct_count_maps(void);

/* Milliseconds as an NT relative timeout. */
LARGE_INTEGER lpct_timeout_ms(long ms);
/* CLOCK_MONOTONIC in milliseconds. */
long lpct_now_ms(void);

#define cr_assert_status(expr, want)                                           \
	do {                                                                   \
		NTSTATUS s__ = (expr);                                         \
		cr_assert_eq(s__, (NTSTATUS)(want),                            \
			     "%s: got 0x%08x, want 0x%08x (%s)", #expr,        \
			     (unsigned)s__, (unsigned)(want), #want);          \
	} while (0)

#endif
