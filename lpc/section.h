/* SPDX-License-Identifier: MIT */
/*
 * section.h - pagefile-backed sections (memfds) and the views that ports
 * map of them (spec 2.2, 2.3, 5.6.1).
 */
#ifndef LPC_SECTION_H
#define LPC_SECTION_H

#include "lpc_int.h"

/*
 * Map size bytes of sec at offset (rounded down to a page; the rounding
 * is added to the mapping, as NT's mapper adjusts SectionOffset).  size 0
 * maps to the end of the section.  *off_out receives the rounded offset.
 */
int lpc_section_map(struct lpc_section *sec, uint64_t offset, uint64_t size,
		    struct lpc_map *out, uint64_t *off_out);
/* Map a section fd received from a peer: size bytes at offset. */
int lpc_map_fd(int fd, uint64_t offset, uint64_t size, struct lpc_map *out);
/* lpc_map_fd for an fd a peer sent: refused (-EINVAL) unless it is a memfd
 * sealed against shrinking. */
int lpc_map_peer_fd(int fd, uint64_t offset, uint64_t size,
		    struct lpc_map *out);

#endif
