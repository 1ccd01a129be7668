/* SPDX-License-Identifier: MIT */
/*
 * bench.h - shared by the lpcbench files.
 *
 * Every mechanism is a client in this process and a server in a forked
 * child.  All children are forked before this process makes its first LPC
 * call: the engine picks its backend once per process, at first use, and
 * a child forked later would inherit the parent's choice instead of the
 * LPC_BACKEND it sets for itself.
 */
#ifndef LPCBENCH_BENCH_H
#define LPCBENCH_BENCH_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define BENCH_SMALL		64		/* bytes each way */
#define BENCH_BIG		(64 * 1024)	/* bytes each way */
#define BENCH_MAX_ROUNDS	101
#define BENCH_MAX_MECHS		16

enum bench_pin { BENCH_PIN_NONE, BENCH_PIN_SAME, BENCH_PIN_CROSS };

struct mech;

struct mech_ops {
	/* Create the channel and fork the server (bench_spawn).
	 * 0, BENCH_SKIP (m->err says why), or -1 (m->err set). */
	int (*spawn)(struct mech *m);
	/* Connect the client side; runs after every spawn.  Same returns. */
	int (*connect)(struct mech *m);
	/* iters round trips.  Timed: never prints; 0, or -1 with m->err. */
	int (*run)(struct mech *m, uint64_t iters);
	/* Close the client side, so the server sees EOF and exits. */
	void (*close)(struct mech *m);
};

#define BENCH_SKIP 1

struct mech {
	const char *id;		/* for --only */
	int index;		/* in the run's list */
	const char *name;	/* row label */
	size_t payload;		/* bytes each way per round trip */
	const struct mech_ops *ops;
	const char *backend;	/* LPC: the server backend to force */
	void *priv;		/* the mechanism's client state */
	int peer_fd[2];		/* the server's ends, until spawned */
	char server_info[16];	/* what the server reported (its backend) */
	bool skipped;
	char err[256];
	uint64_t seq;		/* next request's sequence number */
	uint64_t chunk;		/* round trips per run(): ~2 ms */
	int rounds;
	double us[BENCH_MAX_ROUNDS];	/* µs per round trip, per round */
	double iters[BENCH_MAX_ROUNDS];	/* round trips, per round */
};

/* mech_raw.c, mech_uring.c, mech_lpc.c */
extern const struct mech_ops mech_pipe_ops;
extern const struct mech_ops mech_seqpacket_ops;
extern const struct mech_ops mech_seqpacket_big_ops;
extern const struct mech_ops mech_uring_ops;
extern const struct mech_ops mech_lpc_ops;
extern const struct mech_ops mech_lpc_view_ops;

/* mech_csr.c: CSR calls against build/csrd, one csrd for both. */
extern const struct mech_ops mech_csr_ops;
extern const struct mech_ops mech_csr_capture_ops;
/* The csrd the CSR mechanisms exec. */
const char *bench_csrd_path(void);
/* The backend csrd is forced to: LPC_BACKEND if it names one, else the
 * one the engine picks by itself here (uring when usable). */
const char *bench_csr_backend(void);

/* 0 if this process can set up an io_uring, else -errno. */
int bench_uring_usable(void);

/* child.c: server processes. */
extern enum bench_pin bench_pin;
extern volatile sig_atomic_t bench_signal;

/* Pin the calling process as the client (server = false) or a server. */
int bench_pin_self(bool server, char *err, size_t errlen);
/* Keep fd out of every child forked from now on. */
void bench_private_fd(int fd);
/* Forget fd again (the caller is about to close it). */
void bench_private_fd_drop(int fd);
/*
 * Fork a server that runs serve(m, hello_fd) and exits with its return
 * value.  serve reports readiness with bench_hello() once its channel is
 * up.  Returns 0, BENCH_SKIP or -1, with m->err set for the last two.
 */
int bench_spawn(struct mech *m, int (*serve)(struct mech *m, int hello_fd));
/*
 * Fork a server that execs argv[0] (a program of its own, such as csrd),
 * with LPC_BACKEND=m->backend if set.  It cannot say hello: it is ready
 * once ready_path exists (a port's socket exists a moment before it
 * listens: the client retries a refused connect).  Otherwise a server
 * like the others: pinned, killed by signals and the watchdog, dies with
 * this process, reaped by bench_children_finish.  Returns its pid, or -1
 * with m->err set.
 */
pid_t bench_spawn_exec(struct mech *m, char *const argv[],
		       const char *ready_path);
/* Ask such a server to exit (SIGTERM); bench_children_finish waits for it
 * as for the others, bounded, and SIGKILLs it if it does not. */
void bench_child_stop(pid_t pid);
/* In the server: ready (status 0, info = e.g. its backend), skip
 * (BENCH_SKIP, info = why) or failed (-1, info = why). */
void bench_hello(int hello_fd, int status, const char *info);
/* Signals and the watchdog kill every server, so that blocked calls in
 * this process fail instead of hanging. */
int bench_signals_install(void);
void bench_watchdog(unsigned seconds);
/*
 * Reap every server.  graceful: give them up to a few seconds to see EOF
 * and exit (then SIGKILL), and report any that failed; else SIGKILL at
 * once.  Returns 0, or -1 if a server exited abnormally.
 */
int bench_children_finish(bool graceful);

/* payload.c: the work both sides do on every byte. */
uint8_t payload_request_byte(uint64_t seq);
uint8_t payload_answer_byte(uint64_t sum);
void payload_fill(void *p, size_t n, uint8_t b);
uint64_t payload_sum(const void *p, size_t n);
uint64_t payload_expected_sum(size_t n, uint8_t b);

/* The 64-byte message every small ping-pong carries: the server answers
 * w[1] + 1; w[0] is the LPC server's opcode. */
struct small_msg {
	uint64_t w[BENCH_SMALL / 8];
};

/* measure.c */
/* Warm up and size m->chunk; 0 or -1 (m->err set). */
int bench_calibrate(struct mech *m);
/* Each round gives every mechanism ~slot_ms, in passes bursts, each pass
 * in a new shuffled order.  ms[i]->index must be i. */
int bench_rounds(struct mech **ms, int n, int rounds, int passes,
		 double slot_ms, uint64_t seed);
double bench_median(const double *v, int n);
/* Median over rounds of a->us[r] / b->us[r]: pairs from the same round
 * cancel drift that affects both. */
double bench_ratio(const struct mech *a, const struct mech *b);

/* The mechanisms of one run; report.c pairs them into ratios. */
enum { BE_SYNC, BE_URING, BE_N };

struct bench_set {
	struct mech pipe, seqpacket, uring, seqpacket_big;
	struct mech lpc[BE_N], view[BE_N];
	struct mech csr, csr_capture;
};

/* report.c */
/* "64 B", "64 KiB", "1128 B": m's payload for a label. */
const char *report_payload(const struct mech *m, char *buf, size_t len);
void report_results(struct bench_set *set, struct mech **ms, int n);
const char *report_status(int32_t status);

#endif
