/* SPDX-License-Identifier: MIT */
/*
 * pcapng.h - a checking reader for the pcapng files lpctrace writes
 * (docs/lpctrace-formats.md): one section, little-endian, one interface,
 * an Enhanced Packet Block per record carrying the LPCT pseudo-header, and
 * an Interface Statistics Block at the end.
 *
 * Everything the format promises is checked while reading (block lengths
 * at both ends and 32-bit aligned, options inside their block, the pseudo-
 * header's magic, version and lengths); the first violation stops the read
 * with a message naming the block and its file offset.
 */
#ifndef LPC_TEST_PCAPNG_H
#define LPC_TEST_PCAPNG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PCAPNG_NARGS_MAX 10

/* One Enhanced Packet Block, its LPCT pseudo-header decoded. */
struct pcapng_rec {
	uint64_t ts;			/* in if_tsresol units */
	uint16_t probe;
	uint16_t nargs;
	uint32_t pid, tid, uid;
	uint64_t latency;
	int64_t arg[PCAPNG_NARGS_MAX];
	char comm[17];
	char name[65];
	uint32_t snap_len;
	char comment[256];		/* opt_comment, "" when absent */
};

struct pcapng {
	unsigned nshb, nidb, nisb, nother;
	uint16_t major, minor;		/* the SHB's version */
	char userappl[64];		/* shb_userappl */
	uint16_t linktype;		/* the IDB's */
	uint32_t snaplen;
	int tsresol;			/* if_tsresol, -1 when absent */
	struct pcapng_rec *rec;		/* the EPBs, in file order */
	size_t nrec;
	bool isb_recv_set, isb_drop_set;
	uint64_t isb_recv, isb_drop;	/* isb_ifrecv, isb_ifdrop */
	char isb_comment[256];
};

/*
 * Reads and checks path into p.  Returns 0, or -1 with a description of
 * the first problem in err.  pcapng__free releases p either way.
 */
int pcapng__read(const char *path, struct pcapng *p, char *err,
		 size_t errlen);
void pcapng__free(struct pcapng *p);

#endif
