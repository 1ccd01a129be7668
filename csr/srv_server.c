/* SPDX-License-Identifier: MIT */
/*
 * The server object: the profile's tables bound to the DLLs' handlers,
 * start-up and shutdown, logging.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "srv.h"

static const struct csr_dll_impl *const impls[CSR_SERVER_DLL_MAX] = {
	[CSRSRV_SERVERDLL_INDEX] = &csr_csrsrv_dll,
	[BASESRV_SERVERDLL_INDEX] = &csr_basesrv_dll,
	[CONSRV_SERVERDLL_INDEX] = &csr_consrv_dll,
	[USERSRV_SERVERDLL_INDEX] = &csr_usersrv_dll,
};

void csr_options_default(struct csr_options *o)
{
	memset(o, 0, sizeof(*o));
	o->object_directory = CSR_DEFAULT_OBJECT_DIRECTORY;
	o->profile = NULL;	/* the first profile */
	o->static_threads = 2;
	o->max_threads = 16;	/* csrss's MaxRequestThreads=16 */
	o->max_processes = 4096;
	o->max_threads_per_process = 1024;
}

void csr_log(const struct csr_server *s, int level, const char *fmt, ...)
{
	char buf[512];
	struct timespec ts;
	va_list ap;

	if (level > s->opt.verbose)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	clock_gettime(CLOCK_REALTIME, &ts);
	/* One write per line: lines from several threads never mix. */
	dprintf(STDERR_FILENO, "csrd[%d] %lld.%03ld %s\n", (int)s->pid,
		(long long)ts.tv_sec, ts.tv_nsec / 1000000, buf);
}

/* Bind every table entry to the handler of the same name, if any. */
static int bind_dll(struct csr_server *s, unsigned i)
{
	struct csr_dll_slot *slot = &s->dlls[i];
	const struct csr_dll_def *def = &s->profile->dlls[i];
	const struct csr_dll_impl *impl = impls[i];

	if (!def->name)
		return 0;
	slot->def = def;
	slot->impl = impl;
	slot->dispatch = calloc(def->count ? def->count : 1,
				sizeof(*slot->dispatch));
	if (!slot->dispatch)
		return -ENOMEM;
	if (!impl)
		return 0;
	for (unsigned k = 0; k < def->count; k++)
		for (const struct csr_api_impl *a = impl->apis; a && a->name;
		     a++)
			if (!strcasecmp(a->name, def->apis[k].name)) {
				slot->dispatch[k] = a->fn;
				break;
			}
	return 0;
}

int csr_server_init(struct csr_server *s, const struct csr_options *o)
{
	int r;

	memset(s, 0, sizeof(*s));
	s->opt = *o;
	s->pid = getpid();
	pthread_mutex_init(&s->lock, NULL);
	s->self.pid = s->pid;
	s->self.uid = geteuid();
	s->self.ctime = csr_proc_ctime(s->pid, 0);
	s->self.state = CSR_PROCESS_CONNECTED;
	s->self.refs = 1;
	s->self.priority_class = CSR_PRIORITY_CLASS_NORMAL;
	pthread_mutex_init(&s->self.lock, NULL);
	s->profile = o->profile ? csr_profile_find(o->profile) : csr_profiles[0];
	if (!s->profile) {
		csr_log(s, -1, "unknown profile '%s' (see --list-profiles)",
			o->profile);
		return -EINVAL;
	}
	for (unsigned i = 0; i < CSR_SERVER_DLL_MAX; i++) {
		r = bind_dll(s, i);
		if (r)
			goto fail;
	}
	for (unsigned i = 0; i < CSR_SERVER_DLL_MAX; i++) {
		if (!s->dlls[i].def || !s->dlls[i].impl ||
		    !s->dlls[i].impl->init)
			continue;
		r = s->dlls[i].impl->init(s);
		if (r) {
			csr_log(s, -1, "%s: initialisation failed: %s",
				s->dlls[i].def->name, strerror(-r));
			goto fail;
		}
	}
	return 0;

fail:
	csr_server_fini(s);
	return r;
}

void csr_server_fini(struct csr_server *s)
{
	csr_process_destroy_all(s);
	/* What server-to-server calls attached to csrd itself. */
	for (unsigned i = 0; i < CSR_SERVER_DLL_MAX; i++)
		if (s->dlls[i].impl && s->dlls[i].impl->disconnect &&
		    (s->dlls[i].state || !s->dlls[i].impl->init))
			s->dlls[i].impl->disconnect(s, &s->self);
	for (unsigned i = CSR_SERVER_DLL_MAX; i-- > 0;) {
		struct csr_dll_slot *slot = &s->dlls[i];

		/* Only DLLs whose init ran to completion have state. */
		if (slot->state && slot->impl && slot->impl->fini)
			slot->impl->fini(s);
		free(slot->dispatch);
		memset(slot, 0, sizeof(*slot));
	}
	pthread_mutex_destroy(&s->self.lock);
	pthread_mutex_destroy(&s->lock);
}
