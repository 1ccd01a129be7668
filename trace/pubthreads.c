/* SPDX-License-Identifier: MIT */
/*
 * Reading the thread state liblpc publishes in each process
 * (include/lpc/lpcdbg.h), for lpctrace waits: what every thread waits for
 * and which request it holds, including waits that began long before
 * anyone looked.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include <lpc/lpcdbg.h>

#include "snapshot.h"

/* The table's address in pid, or 0. */
static uint64_t table_addr(pid_t pid)
{
	char path[64], line[512];
	uint64_t addr = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long lo, off;

		if (!strstr(line, LPC_DBG_MAPPING))
			continue;
		/* The mapping starts at file offset 0: the header. */
		if (sscanf(line, "%llx-%*x %*s %llx", &lo, &off) == 2 &&
		    off == 0) {
			addr = lo;
			break;
		}
	}
	fclose(f);
	return addr;
}

static int read_mem(pid_t pid, uint64_t addr, void *buf, size_t len)
{
	struct iovec local = { buf, len };
	struct iovec remote = { (void *)(uintptr_t)addr, len };
	ssize_t n = process_vm_readv(pid, &local, 1, &remote, 1, 0);

	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

/* A consistent copy of one slot: seq even and unchanged around it. */
static int read_slot(pid_t pid, uint64_t addr, struct lpc_dbg_thread *out,
		     size_t size)
{
	for (int tries = 0; tries < 8; tries++) {
		uint32_t seq;

		if (read_mem(pid, addr, out, size))
			return -1;
		seq = out->seq;
		if (seq & 1)
			continue;
		if (read_mem(pid, addr + offsetof(struct lpc_dbg_thread, seq),
			     &seq, sizeof(seq)))
			return -1;
		if (seq == out->seq)
			return 0;
	}
	return -1;	/* busy the whole time: skip it this once */
}

/* "\Windows\ApiPort" from the path under the root. */
static void nt_name(const char *rel, size_t max, char *out)
{
	size_t j = 0;

	if (rel[0])
		out[j++] = '\\';
	for (size_t c = 0; c < max && rel[c]; c++)
		out[j++] = rel[c] == '/' ? '\\' : rel[c];
	out[j] = '\0';
}

static void add_name(struct snapshot *snap, uint32_t pid, uint64_t queue,
		     const char *name, size_t *cap)
{
	struct snap_port *p;

	if (!name[0] || snapshot__domain_name(snap, pid, queue))
		return;
	if (snap->nports == *cap) {
		size_t c = *cap ? *cap * 2 : 64;
		struct snap_port *v = realloc(snap->ports, c * sizeof(*v));

		if (!v)
			return;
		snap->ports = v;
		*cap = c;
	}
	p = &snap->ports[snap->nports++];
	memset(p, 0, sizeof(*p));
	p->k.pid = pid;
	p->k.port = queue;
	p->v.domain = queue;
	nt_name(name, LPC_DBG_NAME_LEN, p->nt);
}

static int grow(void **v, size_t *cap, size_t n, size_t esz)
{
	if (n < *cap)
		return 0;
	size_t c = *cap ? *cap * 2 : 64;
	void *nv = realloc(*v, c * esz);

	if (!nv)
		return -ENOMEM;
	*v = nv;
	*cap = c;
	return 0;
}

/* A version 1 slot ends at recv_port. */
#define V1_SLOT (offsetof(struct lpc_dbg_thread, recv_port) + LPC_DBG_NAME_LEN)

static void last_reply(struct snap_reply *r, const struct lpc_dbg_thread *s)
{
	r->msgid = s->reply_msgid;
	r->status = s->reply_status;
	r->client_pid = s->reply_client_pid;
	r->client_tid = s->reply_client_tid;
	r->at = s->reply_at;
}

static int read_process(struct snapshot *snap, pid_t pid, size_t *caps)
{
	struct lpc_dbg_table hdr;
	uint64_t base = table_addr(pid);
	struct lpc_dbg_thread *slots;
	size_t hsz = offsetof(struct lpc_dbg_table, slot);
	snap_ns ns;
	int r;

	if (!base)
		return 0;
	r = read_mem(pid, base, &hdr, hsz);
	if (r)
		return r;
	if (memcmp(hdr.magic, LPC_DBG_MAGIC, sizeof(LPC_DBG_MAGIC)) ||
	    hdr.version < 1 || hdr.slot_size < V1_SLOT ||
	    hdr.nslots == 0 || hdr.nslots > 65536)
		return -EPROTO;
	/* dev and ino folded: equal for one directory, 0 when unknown. */
	ns = hdr.root_ino ? (hdr.root_dev << 40) ^ hdr.root_ino : 0;
	slots = calloc(hdr.nslots, hdr.slot_size);
	if (!slots)
		return -ENOMEM;
	/* One bulk copy; slots in flux are read again one by one. */
	r = read_mem(pid, base + hsz, slots, (size_t)hdr.nslots * hdr.slot_size);
	if (r) {
		free(slots);
		return r;
	}
	for (uint32_t i = 0; i < hdr.nslots; i++) {
		struct lpc_dbg_thread s;
		uint64_t at = base + hsz + (uint64_t)i * hdr.slot_size;

		/* A version 1 slot is shorter: the rest reads as zero. */
		memset(&s, 0, sizeof(s));
		memcpy(&s, (uint8_t *)slots + (size_t)i * hdr.slot_size,
		       hdr.slot_size < sizeof(s) ? hdr.slot_size : sizeof(s));
		if (!s.tid)
			continue;
		if ((s.seq & 1) &&
		    read_slot(pid, at, &s,
			      hdr.slot_size < sizeof(s) ? hdr.slot_size
							: sizeof(s)))
			continue;
		if (s.wait_kind != LPC_DBG_WAIT_NONE &&
		    !grow((void **)&snap->waits, &caps[0], snap->nwaits,
			  sizeof(*snap->waits))) {
			struct snap_wait *sw = &snap->waits[snap->nwaits++];
			struct lpct_wait *w = &sw->w;

			memset(sw, 0, sizeof(*sw));
			sw->ns = ns;
			w->since = s.wait_since;
			w->domain = s.wait_queue;
			w->pid = (uint32_t)pid;
			w->tid = s.tid;
			w->kind = s.wait_kind;
			w->msgid = s.wait_msgid;
			snprintf(w->comm, sizeof(w->comm), "%s",
				 snapshot__comm(snap, (uint32_t)pid));
			add_name(snap, (uint32_t)pid, s.wait_queue,
				 s.wait_port, &caps[2]);
		}
		if (s.reply_msgid &&
		    !grow((void **)&snap->repliers, &caps[3], snap->nrepliers,
			  sizeof(*snap->repliers))) {
			struct snap_replier *rp =
				&snap->repliers[snap->nrepliers++];

			rp->pid = (uint32_t)pid;
			rp->tid = s.tid;
			rp->ns = ns;
			last_reply(&rp->last, &s);
		}
		if (s.recv_msgid &&
		    !grow((void **)&snap->held, &caps[1], snap->nheld,
			  sizeof(*snap->held))) {
			struct snap_held *h = &snap->held[snap->nheld++];

			memset(h, 0, sizeof(*h));
			h->msgid = s.recv_msgid;
			h->v.since = s.recv_since;
			h->v.pid = (uint32_t)pid;
			h->v.tid = s.tid;
			h->v.client_pid = s.recv_client_pid;
			h->v.client_tid = s.recv_client_tid;
			h->v.type = s.recv_type;
			h->ns = ns;
			nt_name(s.recv_port, LPC_DBG_NAME_LEN, h->port);
			last_reply(&h->last, &s);
		}
		/* Requests it received before the one it holds and never
		 * answered: a waiter's message may be one of them. */
		for (int k = 0; k < LPC_DBG_PREV; k++) {
			const struct lpc_dbg_prev *pv = &s.prev[k];
			struct snap_held *h;

			if (!pv->msgid || grow((void **)&snap->held, &caps[1],
					       snap->nheld,
					       sizeof(*snap->held)))
				continue;
			h = &snap->held[snap->nheld++];
			memset(h, 0, sizeof(*h));
			h->msgid = pv->msgid;
			h->v.since = pv->since;
			h->v.pid = (uint32_t)pid;
			h->v.tid = s.tid;
			h->v.client_pid = pv->client_pid;
			h->v.client_tid = pv->client_tid;
			h->v.type = 1;	/* LPC_REQUEST (or an exception) */
			h->ns = ns;
			nt_name(s.recv_port, LPC_DBG_NAME_LEN, h->port);
			last_reply(&h->last, &s);
			h->set_aside = true;
			h->status = pv->status;
			h->now_msgid = s.recv_msgid;
		}
	}
	free(slots);
	return 1;
}

bool snapshot__publishes(pid_t pid)
{
	return table_addr(pid) != 0;
}

struct snapshot *snapshot__from_tables(pid_t only, int *nprocs, int *denied)
{
	struct snapshot *snap = calloc(1, sizeof(*snap));
	size_t caps[4] = { 0, 0, 0, 0 };
	struct dirent *de;
	DIR *d;

	*nprocs = *denied = 0;
	if (!snap)
		return NULL;
	snap->now = now_ns(CLOCK_MONOTONIC);
	d = opendir("/proc");
	if (!d) {
		free(snap);
		return NULL;
	}
	while ((de = readdir(d))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);
		int r;

		if (*end || pid <= 0 || (only && pid != only))
			continue;
		r = read_process(snap, (pid_t)pid, caps);
		if (r > 0)
			(*nprocs)++;
		else if (r == -EPERM || r == -EACCES)
			(*denied)++;
	}
	closedir(d);
	return snap;
}
