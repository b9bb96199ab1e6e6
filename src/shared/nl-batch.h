/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Receiving netlink datagrams in batches, apart from what they mean: the proc connector and
 * taskstats read their sockets the same way (recvmmsg() into fixed slots; only the kernel is
 * believed; a datagram larger than its slot is reported, never misread), and raise their receive
 * buffers the same way. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "macro.h"

typedef struct NlBatch NlBatch;

typedef enum NlDatagram {
        NL_DATAGRAM_KERNEL,    /* from the kernel: use it */
        NL_DATAGRAM_FOREIGN,   /* from a process (anyone can unicast to our port id): ignore it */
        NL_DATAGRAM_TRUNCATED, /* larger than its slot: count it as malformed */
} NlDatagram;

/* slots datagrams of at most slot_size bytes each (8-aligned). Returns 0 or -ENOMEM. */
int nl_batch_new(NlBatch **ret, unsigned slots, size_t slot_size);
NlBatch *nl_batch_free(NlBatch *b);
DEFINE_TRIVIAL_CLEANUP_FUNC(NlBatch *, nl_batch_free);

unsigned nl_batch_slots(const NlBatch *b);

/* Receives what is waiting on fd, up to one datagram per slot, without blocking. Returns how many
 * (0: nothing waiting), -ENOBUFS when the receive queue overflowed (datagrams were lost; read
 * again), -EINTR, or another negative errno. */
int nl_batch_recv(NlBatch *b, int fd);
/* The same into slots first and beyond, keeping what slots before first hold: a batch filled over
 * several calls. Returns how many were received by this call. */
int nl_batch_recv_from(NlBatch *b, int fd, unsigned first);

/* Datagram i (below what nl_batch_recv() returned): its bytes, and whether to believe them. */
NlDatagram nl_batch_get(const NlBatch *b, unsigned i, const uint8_t **ret_data, size_t *ret_len);

/* Raises fd's receive buffer to want bytes: SO_RCVBUFFORCE, or without CAP_NET_ADMIN (EPERM)
 * SO_RCVBUF, which the kernel caps at net.core.rmem_max. *ret_got: the size in force (the kernel
 * doubles what it is asked for). Returns 1 when forced, 0 when asked within rmem_max, or a negative
 * errno. */
int nl_socket_set_rcvbuf(int fd, uint32_t want, uint32_t *ret_got);
