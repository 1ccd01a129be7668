/* SPDX-License-Identifier: MIT */
/*
 * csrt.h - helpers for the CSR suites: a real build/csrd child per test,
 * under the test's private $LPC_ROOT (lpct_setup), and short-hands around
 * libcsr.
 */
#ifndef LPC_TEST_CSRT_H
#define LPC_TEST_CSRT_H

#include <lpc/csr.h>

#include "helpers.h"

/* Start csrd with extra arguments (NULL-terminated list after the
 * defaults "-q --threads 2"); returns when its ApiPort exists.  The
 * server's stderr goes to $LPC_ROOT/csrd.log, its consoles to
 * $LPC_ROOT/consoles.  Asserts on failure. */
pid_t csrt_start(const char *arg, ...);
/* .init of a suite that needs one csrd on defaults. */
void csrt_setup(void);
/* .fini: stop it (SIGTERM) and assert it exited 0 (not killed, no ASan
 * report), then lpct_teardown. */
void csrt_teardown(void);
/* Stop a server started with csrt_start; returns its wait status. */
int csrt_stop(pid_t pid);
/* The running server's pid (csrt_setup / the last csrt_start). */
pid_t csrt_server_pid(void);
/* The server's log so far (static buffer), for assertions on log lines. */
const char *csrt_log(void);

/* CsrClientConnectToServer(NULL, CSRSRV, NULL...) and assert success. */
void csrt_connect(void);
/* A zeroed message; call it through CsrClientCallServer. */
void csrt_msg(CSR_API_MESSAGE *m);
NTSTATUS csrt_call(CSR_API_MESSAGE *m, PCSR_CAPTURE_BUFFER cb,
		   CSR_API_NUMBER api, ULONG len);

/* UTF-16 helpers: to (static ring of 4 buffers) and compare. */
PWSTR csrt_w(const char *ascii);
bool csrt_weq(const WCHAR *w, const char *ascii);

/* Run fn in a forked child (fresh, disconnected libcsr); returns its exit
 * status; a child killed by a signal fails the test. */
int csrt_child(int (*fn)(void *), void *arg);

#endif
