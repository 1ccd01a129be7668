/* SPDX-License-Identifier: MIT */
/* Copies of lpctrace's tracking maps (snapshot.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "lpctrace.skel.h"
#include "snapshot.h"

/* Every entry of a hash map, keys and values side by side in one array
 * of (ksz + vsz)-byte elements; returns the count. */
static size_t dump_map(int fd, size_t ksz, size_t vsz, void **out)
{
	uint8_t key[64], next[64], *v = NULL;
	size_t n = 0, cap = 0, esz = ksz + vsz;
	void *prev = NULL;

	while (bpf_map_get_next_key(fd, prev, next) == 0) {
		if (n == cap) {
			size_t c = cap ? cap * 2 : 64;
			uint8_t *nv = realloc(v, c * esz);

			if (!nv)
				break;
			v = nv;
			cap = c;
		}
		if (bpf_map_lookup_elem(fd, next, v + n * esz + ksz) == 0) {
			memcpy(v + n * esz, next, ksz);
			n++;
		}
		memcpy(key, next, ksz);
		prev = key;
	}
	*out = v;
	return n;
}

struct snapshot *snapshot__read(struct session *s)
{
	struct snapshot *snap = calloc(1, sizeof(*snap));
	struct lpctrace_bpf *skel = s->skel;
	size_t n;
	void *raw;

	if (!snap)
		return NULL;
	snap->now = now_ns(CLOCK_MONOTONIC);

	n = dump_map(bpf_map__fd(skel->maps.lpct_ports),
		     sizeof(struct lpct_port_key),
		     sizeof(struct lpct_port_info), &raw);
	snap->ports = calloc(n ? n : 1, sizeof(*snap->ports));
	for (size_t i = 0; snap->ports && i < n; i++) {
		struct snap_port *p = &snap->ports[i];
		const uint8_t *e = (const uint8_t *)raw +
			i * (sizeof(p->k) + sizeof(p->v));
		size_t j = 0;

		memcpy(&p->k, e, sizeof(p->k));
		memcpy(&p->v, e + sizeof(p->k), sizeof(p->v));
		if (p->v.name[0]) {
			p->nt[j++] = '\\';
			for (size_t c = 0; c < LPCT_NAME_LEN && p->v.name[c];
			     c++)
				p->nt[j++] = p->v.name[c] == '/' ? '\\'
								 : p->v.name[c];
		}
		p->nt[j] = '\0';
	}
	if (snap->ports)
		snap->nports = n;
	free(raw);

	n = dump_map(bpf_map__fd(skel->maps.lpct_waits), sizeof(uint32_t),
		     sizeof(struct lpct_wait), &raw);
	snap->waits = calloc(n ? n : 1, sizeof(*snap->waits));
	for (size_t i = 0; snap->waits && i < n; i++)
		memcpy(&snap->waits[i].w, (const uint8_t *)raw +
		       i * (sizeof(uint32_t) + sizeof(struct lpct_wait)) +
		       sizeof(uint32_t), sizeof(struct lpct_wait));
	if (snap->waits)
		snap->nwaits = n;
	free(raw);

	n = dump_map(bpf_map__fd(skel->maps.lpct_held), sizeof(uint32_t),
		     sizeof(struct lpct_held), &raw);
	snap->held = calloc(n ? n : 1, sizeof(*snap->held));
	for (size_t i = 0; snap->held && i < n; i++) {
		const uint8_t *e = (const uint8_t *)raw +
			i * (sizeof(uint32_t) + sizeof(struct lpct_held));

		memcpy(&snap->held[i].msgid, e, sizeof(uint32_t));
		memcpy(&snap->held[i].v, e + sizeof(uint32_t),
		       sizeof(struct lpct_held));
	}
	if (snap->held)
		snap->nheld = n;
	free(raw);
	if (!snap->ports || !snap->waits || !snap->held) {
		snapshot__free(snap);
		errno = ENOMEM;
		return NULL;
	}
	return snap;
}

void snapshot__free(struct snapshot *snap)
{
	if (!snap)
		return;
	free(snap->repliers);
	free(snap->ports);
	free(snap->waits);
	free(snap->held);
	free(snap);
}

const char *snapshot__domain_name(const struct snapshot *snap, uint32_t pid,
				  uint64_t id)
{
	if (!snap)
		return NULL;
	/* Any named port of the domain will do; live ones first, as a
	 * closed one's address may since have been reused. */
	for (int closed = 0; closed < 2; closed++) {
		for (size_t i = 0; i < snap->nports; i++) {
			const struct snap_port *p = &snap->ports[i];

			if (p->k.pid == pid && p->nt[0] &&
			    (int)!!p->v.closed == closed &&
			    (p->v.domain == id || p->k.port == id))
				return p->nt;
		}
	}
	return NULL;
}

const char *snapshot__comm(struct snapshot *snap, uint32_t pid)
{
	char path[64];
	size_t i;
	FILE *f;

	if (!snap)
		return "?";
	for (i = 0; i < snap->ncomms; i++)
		if (snap->comms[i].pid == pid)
			return snap->comms[i].comm;
	if (snap->ncomms == sizeof(snap->comms) / sizeof(snap->comms[0]))
		return "?";
	i = snap->ncomms++;
	snap->comms[i].pid = pid;
	strcpy(snap->comms[i].comm, "?");
	snprintf(path, sizeof(path), "/proc/%u/comm", pid);
	f = fopen(path, "re");
	if (f) {
		if (fgets(snap->comms[i].comm, sizeof(snap->comms[i].comm), f))
			snap->comms[i].comm[strcspn(snap->comms[i].comm,
						    "\n")] = '\0';
		fclose(f);
	}
	return snap->comms[i].comm;
}

const struct snap_wait *snapshot__wait_of(const struct snapshot *snap,
					  uint32_t pid, uint32_t tid)
{
	for (size_t i = 0; i < snap->nwaits; i++)
		if (snap->waits[i].w.tid == tid && snap->waits[i].w.pid == pid)
			return &snap->waits[i];
	return NULL;
}

const struct snap_replier *snapshot__answered(const struct snapshot *snap,
					      uint32_t msgid, snap_ns ns)
{
	for (size_t i = 0; i < snap->nrepliers; i++) {
		const struct snap_replier *r = &snap->repliers[i];

		if (r->last.msgid == msgid && r->last.status == 0 &&
		    (!ns || !r->ns || r->ns == ns))
			return r;
	}
	return NULL;
}

const struct snap_held *snapshot__held(const struct snapshot *snap,
				       uint32_t msgid, snap_ns ns)
{
	const struct snap_held *aside = NULL;

	for (size_t i = 0; i < snap->nheld; i++) {
		const struct snap_held *h = &snap->held[i];

		if (h->msgid != msgid || (ns && h->ns && h->ns != ns))
			continue;
		if (!h->set_aside)
			return h;
		if (!aside)
			aside = h;
	}
	return aside;
}
