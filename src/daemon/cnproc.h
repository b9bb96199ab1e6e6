/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The proc-connector socket: subscribe, read in batches, account for every loss, unsubscribe.
 *
 * Loss has three witnesses and all are counted: ENOBUFS from recv (the receive queue overflowed;
 * later events are dropped until it drains), jumps in the per-CPU sequence numbers (the only sign of
 * a failed allocation in the kernel, and the measure of how many events an overflow cost), and the
 * socket's Drops column in /proc/net/netlink. NETLINK_NO_ENOBUFS is never set. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "cnproc-parse.h"
#include "macro.h"
#include "nl-batch.h"
#include "seqtrack.h"

typedef struct CnProc CnProc;

/* Default receive buffer: deep enough for ~100k queued events (each costs about 768 bytes of skb
 * truesize), i.e. well over a second of a fork storm on a small machine. */
#define CNPROC_RCVBUF_DEFAULT (16U * 1024U * 1024U)
/* Per-form wait for the kernel's ack; the ack is queued before our send() returns, so this is only a
 * bound for a kernel that ignores us (another pid or user namespace, no proc events). */
#define CNPROC_ACK_TIMEOUT_USEC (500U * 1000U)

typedef struct CnProcStats {
        uint64_t datagrams;
        uint64_t events;
        uint64_t events_by_kind[_PW_EVENT_KIND_MAX];
        uint64_t enobufs;          /* overflow reports from recv() */
        uint64_t malformed;        /* messages the decoder rejected, plus truncated datagrams */
        uint64_t malformed_by_reason[_PW_PARSE_ERROR_MAX];
        uint64_t foreign;          /* datagrams not sent by the kernel */
        uint64_t foreign_acks;     /* acks of other listeners' requests */
        uint64_t socket_drops;     /* last Drops value read from /proc/net/netlink */
} CnProcStats;

typedef enum CnProcLossKind {
        CNPROC_LOSS_ENOBUFS,
        CNPROC_LOSS_SEQ_GAP,
        CNPROC_LOSS_SOCKET_DROPS,
} CnProcLossKind;

typedef struct CnProcCallbacks {
        /* Every decoded event except our own acks, in order. A recvmmsg() batch is decoded whole
         * first, then handed over event by event. */
        void (*event)(const PwEvent *ev, void *userdata);
        /* A loss was seen: count is events lost (a gap, a rise in Drops), or 1 for ENOBUFS; cpu is
         * PW_CPU_NONE unless the loss is a gap on one CPU. */
        void (*loss)(CnProcLossKind kind, uint32_t cpu, uint64_t count, void *userdata);
} CnProcCallbacks;

/* Opens and binds the socket and sizes its receive buffer (rcvbuf bytes; SO_RCVBUFFORCE, falling back
 * to SO_RCVBUF capped by rmem_max without CAP_NET_ADMIN). Does not subscribe. */
int cnproc_new(CnProc **ret, uint32_t rcvbuf, const CnProcCallbacks *cb, void *userdata);
/* Sends IGNORE when subscribed, then closes. Accepts NULL. */
CnProc *cnproc_free(CnProc *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(CnProc *, cnproc_free);

int cnproc_get_fd(const CnProc *c);
/* Resizes the receive buffer of a running socket (a reload); queued events stay. Logs failures. */
int cnproc_set_rcvbuf(CnProc *c, uint32_t rcvbuf);
/* The receive buffer the kernel granted (as SO_RCVBUF reports it). */
uint32_t cnproc_get_rcvbuf(const CnProc *c);
const CnProcStats *cnproc_get_stats(const CnProc *c);
const SeqTrack *cnproc_get_seqtrack(const CnProc *c);
bool cnproc_uses_filter_api(const CnProc *c);

/* Subscribes to every event kind and waits (dispatching whatever arrives meanwhile) for the kernel's
 * ack. Returns 0, -ECONNREFUSED when the kernel refuses the send (another network namespace),
 * -ETIMEDOUT when no ack came (another pid or user namespace, or no CONFIG_PROC_EVENTS), or the
 * negative errno the kernel put in its ack. */
int cnproc_subscribe(CnProc *c);
/* Did the kernel answer our subscription with an error? */
bool cnproc_ack_refused(const CnProc *c);
/* Sends IGNORE; idempotent. */
int cnproc_unsubscribe(CnProc *c);

/* Reads and dispatches what is queued, at most max_batches recvmmsg() calls. Returns 1 when the
 * queue may still hold more, 0 when drained, or a negative errno on a hard error. */
int cnproc_read(CnProc *c, unsigned max_batches);

/* Receiving apart from dispatching, for a receive thread (cnproc-thread.h): that thread receives
 * into a batch of its own (nl_batch_recv() on cnproc_get_fd()) and may look for EXECs in it with
 * cnproc_find_execs(), which only decodes (it touches no state of the CnProc, so it runs beside
 * the loop);
 * the loop then hands the batch to cnproc_dispatch(), which does all the accounting.
 * cnproc_batch_new() makes a batch of the size cnproc_read() uses. */
int cnproc_batch_new(NlBatch **ret);
/* The decoder's CPU count for c's events, for cnproc_find_execs(). */
uint32_t cnproc_get_ncpus(const CnProc *c);
/* Calls exec() for each EXEC in datagrams [from, to) of b. */
void cnproc_find_execs(const NlBatch *b, unsigned from, unsigned to, uint32_t ncpus,
                       void (*exec)(const PwEvent *ev, void *userdata), void *userdata);
/* n: what nl_batch_recv() returned for b (datagrams received, or a negative errno: -ENOBUFS is
 * counted as a loss and returns 0; another one is returned: the caller decides, and logs). */
int cnproc_dispatch(CnProc *c, const NlBatch *b, int n);

/* Reads the socket's Drops from /proc/net/netlink and reports a rise through the loss callback. */
int cnproc_update_socket_drops(CnProc *c);
