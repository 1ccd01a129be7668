/* SPDX-License-Identifier: MIT */
#ifndef LPC_MESSAGE_H
#define LPC_MESSAGE_H

#include "lpc_int.h"

int lpc_read_header(PORT_MESSAGE *h, const PORT_MESSAGE *u);
/* Reply checks before the handle: lengths, then MessageId (spec 3.3). */
int lpc_reply_precheck(const PORT_MESSAGE *h);
/* Find the waiter the message's ClientId names and check MessageId, kind
 * and relation (spec 5.10).  Domain lock held. */
int lpc_match_waiter(struct lpc_domain *d, struct lpc_port *h,
		     const PORT_MESSAGE *m, int kind, struct lpc_waiter **out);
/* Receive the oldest (connection request, for listen_only) message. */
int lpc_receive(struct lpc_thread *t, struct lpc_port *p, PORT_MESSAGE *urecv,
		PVOID *uctx, const struct timespec *dl, bool listen_only);

#endif
