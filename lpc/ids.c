/* SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ids.h"
#include "ns.h"

#define IDS_FILE ".lpc-ids"
#define IDS_MAGIC 0x4c504349u /* "LPCI" */

struct lpc_ids_page {
	uint32_t magic;
	_Atomic uint32_t message_id;
	_Atomic uint32_t callback_id;
};

static struct lpc_ids_page *ids_page;
static struct lpc_ids_page ids_local = { IDS_MAGIC, 1, 1 };
static pthread_once_t ids_once = PTHREAD_ONCE_INIT;

/* Create the page under a temporary name and link it into place, so no
 * process ever maps a file that is still being sized. */
static int create_page(int root)
{
	struct lpc_ids_page init = { IDS_MAGIC, 1, 1 };
	char tmp[64];
	int fd;

	snprintf(tmp, sizeof(tmp), ".lpc-ids.%d", (int)getpid());
	fd = openat(root, tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
	if (fd < 0)
		return -1;
	fchmod(fd, 0666);
	if (pwrite(fd, &init, sizeof(init), 0) != (ssize_t)sizeof(init) ||
	    ftruncate(fd, 4096) < 0) {
		close(fd);
		unlinkat(root, tmp, 0);
		return -1;
	}
	/* Losing the race to another creator is fine: use theirs. */
	linkat(root, tmp, root, IDS_FILE, 0);
	unlinkat(root, tmp, 0);
	close(fd);
	return 0;
}

static void ids_init(void)
{
	struct stat st;
	void *p;
	int root = lpc_ns_root_fd(), fd;

	ids_page = &ids_local;
	if (root < 0)
		return;
	fd = openat(root, IDS_FILE, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && create_page(root) == 0)
		fd = openat(root, IDS_FILE, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size >= 4096) {
		p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (p != MAP_FAILED) {
			if (((struct lpc_ids_page *)p)->magic == IDS_MAGIC)
				ids_page = p;
			else
				munmap(p, 4096);
		}
	}
	close(fd);
}

static uint32_t next(_Atomic uint32_t *ctr)
{
	uint32_t v;

	do {
		v = atomic_fetch_add_explicit(ctr, 1, memory_order_relaxed);
	} while (v == 0);
	return v;
}

uint32_t lpc_next_message_id(void)
{
	pthread_once(&ids_once, ids_init);
	return next(&ids_page->message_id);
}

uint32_t lpc_next_callback_id(void)
{
	pthread_once(&ids_once, ids_init);
	return next(&ids_page->callback_id);
}
