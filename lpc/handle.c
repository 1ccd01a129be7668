/* SPDX-License-Identifier: MIT */
/*
 * handle.c - the per-process handle table.  Handle values are NT-style:
 * multiples of 4 starting at 4 (the low two bits are ignored, as NT's
 * object manager ignores them), never raw fds.  Freed slots are reused
 * newest-first, as NT reuses them.
 */
#include <errno.h>
#include <stdlib.h>

#include "lpc_int.h"
#include "sys.h"
#include "probes.h"

struct hent {
	void *obj;
	uint32_t next_free;	/* index + 1 of the next free slot, 0 = none */
};

static struct hent *htab;
static uint32_t hcap, hused, hfree, hlive;

static struct lpc_obj *slot(HANDLE h, uint32_t *idx)
{
	uintptr_t v = (uintptr_t)h >> 2;

	if (v == 0 || v > hused)
		return NULL;
	*idx = (uint32_t)(v - 1);
	return htab[*idx].obj;
}

int lpc_handle_get(HANDLE h, int type, void **out)
{
	struct lpc_obj *o;
	uint32_t i;
	int r = 0;

	/* Pseudo-handles are not ports. */
	if (h == NtCurrentProcess() || h == NtCurrentThread())
		return -LPC_ETYPE;
	pthread_mutex_lock(&lpc_glock);
	o = slot(h, &i);
	if (!o)
		r = -EBADF;
	else if (o->type != type)
		r = -LPC_ETYPE;
	else
		atomic_fetch_add(&o->refs, 1);
	pthread_mutex_unlock(&lpc_glock);
	if (!r)
		*out = o;
	return r;
}

int lpc_handle_new(void *obj, HANDLE *out)
{
	struct lpc_obj *o = obj;
	uint32_t i;

	pthread_mutex_lock(&lpc_glock);
	if (hfree) {
		i = hfree - 1;
		hfree = htab[i].next_free;
	} else {
		if (hused == hcap) {
			uint32_t ncap = hcap ? hcap * 2 : 64;
			struct hent *n;

			/* 2^24 handles, as NT's per-process limit. */
			if (ncap > (1u << 24)) {
				pthread_mutex_unlock(&lpc_glock);
				return -ENOBUFS;
			}
			n = realloc(htab, ncap * sizeof(*n));
			if (!n) {
				pthread_mutex_unlock(&lpc_glock);
				return -ENOMEM;
			}
			htab = n;
			hcap = ncap;
		}
		i = hused++;
	}
	htab[i].obj = o;
	htab[i].next_free = 0;
	hlive++;
	atomic_fetch_add(&o->handles, 1);
	pthread_mutex_unlock(&lpc_glock);
	*out = (HANDLE)(uintptr_t)((i + 1) << 2);
	if (o->type == LPC_OBJ_PORT && LPC_PROBE_ENABLED(lpc, port_create)) {
		/* Every port gets its first handle here: created,
		 * accepted or connected. */
		struct lpc_port *p = obj;
		long kind = p->kind, mm = p->max_msg, mi = p->max_info;
		const char *name = p->rel ? p->rel : (p->conn ? p->conn->rel
							    : NULL);

		STAP_PROBEV(lpc, port_create, p, *out, kind, name, p->dom, mm,
			    mi);
	}
	return 0;
}

int lpc_handle_close(HANDLE h)
{
	struct lpc_obj *o;
	uint32_t i;

	pthread_mutex_lock(&lpc_glock);
	o = slot(h, &i);
	if (!o) {
		pthread_mutex_unlock(&lpc_glock);
		return -EBADF;
	}
	htab[i].obj = NULL;
	htab[i].next_free = hfree;
	hfree = i + 1;
	if (--hlive == 0)
		hused = hfree = 0;
	pthread_mutex_unlock(&lpc_glock);

	if (atomic_fetch_sub(&o->handles, 1) == 1 && o->type == LPC_OBJ_PORT)
		lpc_port_last_handle((struct lpc_port *)o);
	lpc_obj_unref(o);
	return 0;
}

void lpc_obj_ref(void *obj)
{
	atomic_fetch_add(&((struct lpc_obj *)obj)->refs, 1);
}

LPC_NOCOV void lpc_obj_unref(void *obj)
{
	struct lpc_obj *o = obj;

	if (!o || atomic_fetch_sub(&o->refs, 1) != 1)
		return;
	if (o->type == LPC_OBJ_PORT)
		lpc_port_destroy((struct lpc_port *)o);
	else
		lpc_section_destroy((struct lpc_section *)o);
}

void lpc_handles_atfork_child(void)
{
	/* The child starts with an empty table (design.md, fork): the
	 * parent's objects stay allocated but unreachable. */
	htab = NULL;
	hcap = hused = hfree = hlive = 0;
}
