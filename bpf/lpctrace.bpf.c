// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * lpctrace's probe programs: one per USDT probe of liblpc and csrd
 * (docs/probes.md).  Each hit is filtered by process in the kernel, kept
 * in the pairing maps (waiting threads, held requests, live ports,
 * counters and latency histograms), then, unless only aggregating, filtered
 * by event and written to the ring buffer as one struct lpct_event.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/usdt.bpf.h>

#include "lpctrace.h"

#define LPC_REQUEST		1
#define LPC_REPLY		2
#define LPC_DATAGRAM		3
#define LPC_EXCEPTION		7

#define PORT_MESSAGE_SIZE	40
#define CSR_API_MESSAGE_SIZE	376

/* Filters, set by lpctrace before load (opensnoop's targ_*). */
const volatile __u32 targ_pid = 0;	/* 0: every process */
const volatile bool targ_follow = false; /* only pids in lpct_pids */
const volatile __u32 targ_tid = 0;
const volatile __u32 targ_uid = (__u32)-1;
const volatile char targ_comm[LPCT_COMM_LEN] = {};
const volatile bool targ_failed = false;	/* failures only */
const volatile __u32 targ_types = 0;	/* bit per message type; 0: all */
const volatile bool targ_api_set = false;
const volatile __u32 targ_api = 0;
const volatile bool targ_port = false;	/* only ports in lpct_match */
const volatile char targ_port_name[LPCT_NAME_LEN] = {};
const volatile __u32 targ_snaplen = 0;
const volatile bool targ_emit = true;	/* false: maps only (stat, waits) */
/* Wake the reader once this much is queued; it also polls on a timer,
 * so a quiet trace is still shown promptly.  A wakeup per record would
 * cost 0.4-0.65 us each (shared/perf-notes.md). */
const volatile __u64 targ_wakeup_bytes = 256 * 1024;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20);
} lpct_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, LPCT_DROP_MAX);
	__type(key, __u32);
	__type(value, __u64);
} lpct_drops SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);		/* tid */
	__type(value, struct lpct_wait);
} lpct_waits SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);		/* MessageId */
	__type(value, struct lpct_held);
} lpct_held SEC(".maps");

/* LRU: closed ports stay, marked, until newer ones push them out, so
 * that stat can still name the queues they counted. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct lpct_port_key);
	__type(value, struct lpct_port_info);
} lpct_ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct lpct_stat_key);
	__type(value, struct lpct_stat);
} lpct_stats SEC(".maps");

/* Ports and domains (address | 1) whose name matched targ_port_name. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct lpct_port_key);
	__type(value, __u8);
} lpct_match SEC(".maps");

/* Threads whose last received message came through a matched port: their
 * accept, impersonate and request-data records belong to it too. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, __u8);
} lpct_tmatch SEC(".maps");

/* Followed processes (lpctrace -- cmd): the command and its children. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u8);
} lpct_pids SEC(".maps");

/* Scratch for a record being built: too big for the BPF stack. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct lpct_event);
} lpct_scratch SEC(".maps");

static __always_inline void count_drop(__u32 what)
{
	__u64 *v = bpf_map_lookup_elem(&lpct_drops, &what);

	if (v)
		__sync_fetch_and_add(v, 1);
}

static __always_inline __u32 log2_u64(__u64 v)
{
	__u32 r = 0, s;

	s = (v > 0xffffffffULL) << 5; v >>= s; r |= s;
	s = (v > 0xffff) << 4; v >>= s; r |= s;
	s = (v > 0xff) << 3; v >>= s; r |= s;
	s = (v > 0xf) << 2; v >>= s; r |= s;
	s = (v > 0x3) << 1; v >>= s; r |= s;
	r |= (v >> 1);
	return r;
}

static __always_inline bool want_process(__u32 pid, __u32 tid)
{
	if (targ_follow) {
		if (!bpf_map_lookup_elem(&lpct_pids, &pid))
			return false;
	} else if (targ_pid && pid != targ_pid) {
		return false;
	}
	if (targ_tid && tid != targ_tid)
		return false;
	if (targ_uid != (__u32)-1 &&
	    (__u32)bpf_get_current_uid_gid() != targ_uid)
		return false;
	if (targ_comm[0]) {
		char comm[LPCT_COMM_LEN];

		bpf_get_current_comm(comm, sizeof(comm));
		for (int i = 0; i < LPCT_COMM_LEN; i++) {
			if (comm[i] != targ_comm[i])
				return false;
			if (!comm[i])
				break;
		}
	}
	return true;
}

static __always_inline struct lpct_stat *stat_of(__u32 pid, __u32 kind,
						  __u64 id)
{
	struct lpct_stat_key k = { .pid = pid, .kind = kind, .id = id };
	struct lpct_stat *s = bpf_map_lookup_elem(&lpct_stats, &k);

	if (s)
		return s;
	/* A zero value in .rodata: struct lpct_stat is too big for the
	 * BPF stack. */
	{
		static const struct lpct_stat zero;

		if (bpf_map_update_elem(&lpct_stats, &k, &zero, BPF_NOEXIST) &&
		    !bpf_map_lookup_elem(&lpct_stats, &k)) {
			count_drop(LPCT_DROP_STATS);
			return NULL;
		}
	}
	s = bpf_map_lookup_elem(&lpct_stats, &k);
	/* Named while the process lives: stat prints after it is gone. */
	if (s && !s->comm[0])
		bpf_get_current_comm(s->comm, sizeof(s->comm));
	return s;
}

static __always_inline void stat_latency(struct lpct_stat *s, __u64 lat)
{
	__u32 slot = log2_u64(lat);

	if (slot >= LPCT_HIST_SLOTS)
		slot = LPCT_HIST_SLOTS - 1;
	__sync_fetch_and_add(&s->lat_count, 1);
	__sync_fetch_and_add(&s->lat_sum, lat);
	if (lat > s->lat_max)
		s->lat_max = lat;	/* racy, a maximum is a hint */
	__sync_fetch_and_add(&s->hist[slot], 1);
}

/* A port's domain when the port was created under the tracer, else the
 * port itself: every counter of one queue lands in one slot. */
static __always_inline __u64 domain_of(__u32 pid, __u64 port)
{
	struct lpct_port_key k = { .pid = pid, .port = port };
	struct lpct_port_info *pi = bpf_map_lookup_elem(&lpct_ports, &k);

	return pi ? pi->domain : port;
}

static __always_inline bool name_matches(const char *name)
{
	for (int i = 0; i < LPCT_NAME_LEN; i++) {
		if (name[i] != targ_port_name[i])
			return false;
		if (!name[i])
			return true;
	}
	return true;
}

static __always_inline void match_add(__u32 pid, __u64 addr)
{
	struct lpct_port_key k = { .pid = pid, .port = addr };
	__u8 one = 1;

	bpf_map_update_elem(&lpct_match, &k, &one, BPF_ANY);
}

static __always_inline bool matched(__u32 pid, __u64 addr)
{
	struct lpct_port_key k = { .pid = pid, .port = addr };

	return bpf_map_lookup_elem(&lpct_match, &k) != NULL;
}

/*
 * The maps: who waits, which requests are held by which server thread,
 * which ports live, the counters.  Returns the latency the record
 * carries, or 0.
 */
static __always_inline __u64 track(struct lpct_event *e, __u32 pid,
				   __u32 tid, __u64 now)
{
	__s64 *a = e->arg;
	struct lpct_stat *s;
	__u64 lat = 0;

	switch (e->probe) {
	case LPCT_P_WAIT_BEGIN: {
		struct lpct_wait w = {
			.since = now, .domain = a[0], .pid = pid, .tid = tid,
			.kind = a[1], .msgid = a[2], .peer_tid = a[3],
			.uid = e->uid,
		};

		__builtin_memcpy(w.comm, e->comm, LPCT_COMM_LEN);
		if (bpf_map_update_elem(&lpct_waits, &tid, &w, BPF_ANY))
			count_drop(LPCT_DROP_WAITS);
		break;
	}
	case LPCT_P_WAIT_END: {
		struct lpct_wait *w = bpf_map_lookup_elem(&lpct_waits, &tid);

		if (w && (w->kind == LPCT_W_REPLY ||
			  w->kind == LPCT_W_CONNECT))
			lat = now - w->since;
		if (w)
			bpf_map_delete_elem(&lpct_waits, &tid);
		s = stat_of(pid, LPCT_STAT_DOMAIN, a[0]);
		if (!s)
			break;
		if (!a[3])
			__sync_fetch_and_add(&s->timeouts, 1);
		else if (a[1] == LPCT_W_REPLY && lat)
			stat_latency(s, lat);
		break;
	}
	case LPCT_P_SEND:
		s = stat_of(pid, LPCT_STAT_DOMAIN, domain_of(pid, a[0]));
		if (!s)
			break;
		if ((__s32)a[7] < 0)
			__sync_fetch_and_add(&s->errors, 1);
		else if (a[1] == LPC_DATAGRAM)
			__sync_fetch_and_add(&s->datagrams, 1);
		else
			__sync_fetch_and_add(&s->sends, 1);
		break;
	case LPCT_P_RECEIVE:
		if (a[1] == LPC_REQUEST || a[1] == LPC_EXCEPTION) {
			struct lpct_held h = {
				.since = now, .port = a[0], .pid = pid,
				.tid = tid, .client_pid = a[4],
				.client_tid = a[5], .type = a[1],
			};
			__u32 id = a[2];

			if (bpf_map_update_elem(&lpct_held, &id, &h, BPF_ANY))
				count_drop(LPCT_DROP_HELD);
		}
		if (targ_port) {
			__u8 m = matched(pid, a[0]) ||
				 matched(pid, domain_of(pid, a[0]) | 1);

			bpf_map_update_elem(&lpct_tmatch, &tid, &m, BPF_ANY);
		}
		s = stat_of(pid, LPCT_STAT_DOMAIN, domain_of(pid, a[0]));
		if (s)
			__sync_fetch_and_add(&s->receives, 1);
		break;
	case LPCT_P_REPLY: {
		__u32 id = a[1];
		struct lpct_held *h = bpf_map_lookup_elem(&lpct_held, &id);

		s = stat_of(pid, LPCT_STAT_DOMAIN, domain_of(pid, a[0]));
		if ((__s32)a[7] < 0) {
			if (s)
				__sync_fetch_and_add(&s->errors, 1);
			break;
		}
		if (h) {
			lat = now - h->since;
			bpf_map_delete_elem(&lpct_held, &id);
		}
		if (!s)
			break;
		__sync_fetch_and_add(&s->replies, 1);
		if (lat)
			stat_latency(s, lat);
		break;
	}
	case LPCT_P_CSR_API: {
		__u32 id = a[3];
		struct lpct_held *h = bpf_map_lookup_elem(&lpct_held, &id);

		if (h)
			lat = now - h->since;
		s = stat_of(0, LPCT_STAT_API, (__u32)a[2]);
		if (!s)
			break;
		__sync_fetch_and_add(&s->receives, 1);
		if ((__s32)a[4] < 0)
			__sync_fetch_and_add(&s->errors, 1);
		if (lat)
			stat_latency(s, lat);
		break;
	}
	case LPCT_P_PORT_CREATE: {
		struct lpct_port_key k = { .pid = pid, .port = a[0] };
		struct lpct_port_info pi = {
			.created = now, .domain = a[4], .kind = a[2],
			.handle = a[1],
		};

		__builtin_memcpy(pi.name, e->name, LPCT_NAME_LEN);
		if (bpf_map_update_elem(&lpct_ports, &k, &pi, BPF_ANY))
			count_drop(LPCT_DROP_PORTS);
		if (targ_port && e->name[0] && name_matches(e->name)) {
			match_add(pid, a[0]);
			match_add(pid, a[4] | 1);
		}
		break;
	}
	case LPCT_P_PORT_CLOSE: {
		struct lpct_port_key k = { .pid = pid, .port = a[0] };
		struct lpct_port_info *pi = bpf_map_lookup_elem(&lpct_ports,
								 &k);

		if (pi)
			pi->closed = 1;
		if (targ_port)
			bpf_map_delete_elem(&lpct_match, &k);
		break;
	}
	case LPCT_P_CONNECT_DONE: {
		/* A client port is created nameless; it is known by the
		 * name it connected to. */
		struct lpct_port_key k = { .pid = pid, .port = a[2] };
		struct lpct_port_info *pi;

		if (!a[2])
			break;
		pi = bpf_map_lookup_elem(&lpct_ports, &k);
		if (pi)
			__builtin_memcpy(pi->name, e->name, LPCT_NAME_LEN);
		if (targ_port && name_matches(e->name)) {
			match_add(pid, a[2]);
			if (pi)
				match_add(pid, pi->domain | 1);
		}
		break;
	}
	default:
		break;
	}
	return lat;
}

static __always_inline bool want_event(const struct lpct_event *e,
				       __u32 pid, __u32 tid)
{
	const __s64 *a = e->arg;
	__u32 type = 0;
	bool has_type = false;

	if (targ_api_set && (e->probe != LPCT_P_CSR_API || a[2] != targ_api))
		return false;
	if (targ_types) {
		if (e->probe == LPCT_P_SEND || e->probe == LPCT_P_RECEIVE) {
			type = a[1];
			has_type = true;
		} else if (e->probe == LPCT_P_REPLY) {
			type = LPC_REPLY;
			has_type = true;
		}
		if (!has_type || type >= 32 || !(targ_types & (1u << type)))
			return false;
	}
	if (targ_failed) {
		bool failed;

		switch (e->probe) {
		case LPCT_P_CONNECT_DONE:
			failed = (__s32)a[3] < 0;
			break;
		case LPCT_P_LISTEN:
			failed = (__s32)a[1] < 0;
			break;
		case LPCT_P_ACCEPT:
			failed = (__s32)a[6] < 0;
			break;
		case LPCT_P_COMPLETE:
		case LPCT_P_IMPERSONATE:
			failed = (__s32)a[2] < 0;
			break;
		case LPCT_P_SEND:
		case LPCT_P_REPLY:
			failed = (__s32)a[7] < 0;
			break;
		case LPCT_P_REQUEST_DATA:
			failed = (__s32)a[5] < 0;
			break;
		case LPCT_P_REVERT:
			failed = (__s32)a[0] < 0;
			break;
		case LPCT_P_CSR_API:
			failed = (__s32)a[4] < 0;
			break;
		case LPCT_P_WAIT_END:
			failed = a[3] == 0;
			break;
		default:
			failed = false;
		}
		if (!failed)
			return false;
	}
	if (targ_port) {
		switch (e->probe) {
		case LPCT_P_PORT_CREATE:
		case LPCT_P_PORT_CLOSE:
		case LPCT_P_LISTEN:
		case LPCT_P_COMPLETE:
		case LPCT_P_SEND:
		case LPCT_P_RECEIVE:
		case LPCT_P_REPLY:
		case LPCT_P_EXCEPTION:
		case LPCT_P_VIEW:
			return matched(pid, a[0]) ||
			       matched(pid, domain_of(pid, a[0]) | 1);
		case LPCT_P_WAIT_BEGIN:
		case LPCT_P_WAIT_END:
			return matched(pid, a[0] | 1) || matched(pid, a[0]);
		case LPCT_P_CONNECT_REQUEST:
		case LPCT_P_CONNECT_DONE:
			return name_matches(e->name);
		default: {
			__u8 *m = bpf_map_lookup_elem(&lpct_tmatch, &tid);

			return m && *m;
		}
		}
	}
	return true;
}

/* The message a record may snap, and how many bytes of it. */
static __always_inline __u32 snap_source(const struct lpct_event *e,
					  __u64 *ptr)
{
	const __s64 *a = e->arg;

	switch (e->probe) {
	case LPCT_P_SEND:
		*ptr = a[6];
		return a[5];
	case LPCT_P_RECEIVE:
		*ptr = a[8];
		return a[7];
	case LPCT_P_REPLY:
		*ptr = a[6];
		return PORT_MESSAGE_SIZE + (__u32)a[5];
	case LPCT_P_CSR_API:
		*ptr = a[7];
		return CSR_API_MESSAGE_SIZE;
	default:
		*ptr = 0;
		return 0;
	}
}

static __always_inline void emit(struct lpct_event *e)
{
	__u64 avail, flags, ptr = 0;
	__u32 len = 0;
	struct lpct_event *r;

	if (targ_snaplen)
		len = snap_source(e, &ptr);
	if (len > targ_snaplen)
		len = targ_snaplen;
	if (!ptr)
		len = 0;
	if (len) {
		r = bpf_ringbuf_reserve(&lpct_events,
					sizeof(*e) + LPCT_SNAP_MAX, 0);
	} else {
		r = bpf_ringbuf_reserve(&lpct_events, sizeof(*e), 0);
	}
	if (!r) {
		count_drop(LPCT_DROP_RINGBUF);
		return;
	}
	__builtin_memcpy(r, e, sizeof(*e));
	if (len) {
		__u64 n = len;

		/* A length the verifier can bound: clang would otherwise
		 * fold the clamps into a value it cannot follow. */
		asm volatile("" : "+r"(n));
		n &= 2 * LPCT_SNAP_MAX - 1;
		if (n > LPCT_SNAP_MAX)
			n = LPCT_SNAP_MAX;
		if (bpf_probe_read_user(r->snap, n, (const void *)ptr))
			n = 0;
		r->snap_len = n;
	}
	avail = bpf_ringbuf_query(&lpct_events, BPF_RB_AVAIL_DATA);
	flags = avail >= targ_wakeup_bytes ? BPF_RB_FORCE_WAKEUP
					   : BPF_RB_NO_WAKEUP;
	bpf_ringbuf_submit(r, flags);
}

static __always_inline int handle(struct pt_regs *ctx, __u16 probe,
				  int nargs, int name_arg)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 pid = pid_tgid >> 32, tid = (__u32)pid_tgid;
	__u32 zero = 0;
	struct lpct_event *e;
	__u64 now;

	if (!want_process(pid, tid))
		return 0;
	e = bpf_map_lookup_elem(&lpct_scratch, &zero);
	if (!e)
		return 0;
	now = bpf_ktime_get_ns();
	e->rec = LPCT_REC_EVENT;
	e->probe = probe;
	e->cpu = bpf_get_smp_processor_id();
	e->ts = now;
	e->pid = pid;
	e->tid = tid;
	e->uid = (__u32)bpf_get_current_uid_gid();
	e->snap_len = 0;
	e->latency = 0;
#pragma unroll
	for (int i = 0; i < LPCT_NARGS; i++) {
		long v = 0;

		if (i < nargs)
			bpf_usdt_arg(ctx, i, &v);
		e->arg[i] = v;
	}
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	e->name[0] = '\0';
	if (name_arg >= 0 && e->arg[name_arg])
		bpf_probe_read_user_str(e->name, sizeof(e->name),
					(const void *)e->arg[name_arg]);
	e->latency = track(e, pid, tid, now);
	if (!targ_emit || !want_event(e, pid, tid))
		return 0;
	emit(e);
	return 0;
}

#define LPCT_PROG(provider, probe, id, nargs, name_arg)                       \
	SEC("usdt")                                                           \
	int lpct_##provider##_##probe(struct pt_regs *ctx)                    \
	{                                                                     \
		return handle(ctx, id, nargs, name_arg);                      \
	}

LPCT_PROG(lpc, port_create, LPCT_P_PORT_CREATE, 7, 3)
LPCT_PROG(lpc, port_close, LPCT_P_PORT_CLOSE, 3, -1)
LPCT_PROG(lpc, connect_request, LPCT_P_CONNECT_REQUEST, 4, 0)
LPCT_PROG(lpc, connect_done, LPCT_P_CONNECT_DONE, 4, 0)
LPCT_PROG(lpc, listen, LPCT_P_LISTEN, 2, -1)
LPCT_PROG(lpc, accept, LPCT_P_ACCEPT, 7, -1)
LPCT_PROG(lpc, complete, LPCT_P_COMPLETE, 3, -1)
LPCT_PROG(lpc, send, LPCT_P_SEND, 8, -1)
LPCT_PROG(lpc, receive, LPCT_P_RECEIVE, 10, -1)
LPCT_PROG(lpc, reply, LPCT_P_REPLY, 8, -1)
LPCT_PROG(lpc, wait_begin, LPCT_P_WAIT_BEGIN, 4, -1)
LPCT_PROG(lpc, wait_end, LPCT_P_WAIT_END, 5, -1)
LPCT_PROG(lpc, request_data, LPCT_P_REQUEST_DATA, 6, -1)
LPCT_PROG(lpc, impersonate, LPCT_P_IMPERSONATE, 3, -1)
LPCT_PROG(lpc, revert, LPCT_P_REVERT, 1, -1)
LPCT_PROG(lpc, exception, LPCT_P_EXCEPTION, 5, -1)
LPCT_PROG(lpc, view, LPCT_P_VIEW, 5, -1)
LPCT_PROG(csrd, connect, LPCT_P_CSR_CONNECT, 4, -1)
LPCT_PROG(csrd, api, LPCT_P_CSR_API, 8, -1)

/* lpctrace -- cmd: the command's children are followed too. */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(lpct_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 ppid = parent->tgid, cpid = child->tgid;
	__u8 one = 1;

	if (!targ_follow || ppid == cpid)
		return 0;
	if (bpf_map_lookup_elem(&lpct_pids, &ppid))
		bpf_map_update_elem(&lpct_pids, &cpid, &one, BPF_ANY);
	return 0;
}

/* A thread that dies inside a wait never reaches wait_end. */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(lpct_exit, struct task_struct *p)
{
	__u32 tid = p->pid, pid = p->tgid;

	bpf_map_delete_elem(&lpct_waits, &tid);
	bpf_map_delete_elem(&lpct_tmatch, &tid);
	if (targ_follow && tid == pid)
		bpf_map_delete_elem(&lpct_pids, &pid);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
