/* SPDX-License-Identifier: MIT */
/*
 * ns.h - the object namespace on the filesystem (docs/namespace.md).
 *
 * $LPC_ROOT (default /run/lpc for root, else $XDG_RUNTIME_DIR/lpc, else
 * /tmp/lpc-$UID) holds one directory per NT object directory and one
 * AF_UNIX socket per named connection port.  "\RPC Control" (mode 1777)
 * and "\Windows" always exist.  The socket's file mode is the port's
 * security descriptor.
 */
#ifndef LPC_NS_H
#define LPC_NS_H

#include <sys/types.h>

/* An O_PATH fd of the root, created on first use; or -errno. */
int lpc_ns_root_fd(void);

/*
 * Create and bind a listening socket for the relative path rel.
 * On success returns the listening fd and fills *dev and *ino so the name can
 * be removed later only if it is still ours.  Errors: -EEXIST (collision,
 * checked case-insensitively), -LPC_EPATHNOTFOUND, -EACCES, -ENAMETOOLONG.
 */
int lpc_ns_listen(const char *rel, dev_t *dev, ino_t *ino);
/* Remove the name rel if it is still the socket (dev, ino). */
void lpc_ns_unlink(const char *rel, dev_t dev, ino_t ino);
/*
 * Connect a new SOCK_SEQPACKET socket to rel (case-insensitive lookup).
 * Returns the fd or -ENOENT, -LPC_EPATHNOTFOUND, -EACCES, -LPC_ETYPE (the
 * name is not a port), -ENAMETOOLONG.
 */
int lpc_ns_connect(const char *rel);

/* Forget cached state after fork (the child re-resolves lazily). */
void lpc_ns_atfork_child(void);

#endif
