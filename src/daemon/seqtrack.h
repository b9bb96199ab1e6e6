/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Loss detection from the proc connector's per-CPU sequence numbers. Pure: no I/O.
 *
 * The kernel numbers every event (and, on current kernels, every ack) from a per-CPU counter shared
 * by all listeners, and keeps per-CPU order. With the "all events" subscription a jump in a CPU's
 * numbers therefore means this socket missed that many events: after ENOBUFS, or when the kernel
 * failed to allocate the message (which no ENOBUFS reports). The first number seen from a CPU is
 * its baseline; arithmetic is modulo 2^32, so the counter may wrap. A number behind the expected one
 * (a jump forward of 2^31 or more, modulo 2^32) cannot come from a working kernel: it is counted as
 * "backwards" and taken as the new baseline rather than reported as billions of lost events. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

typedef struct SeqCpu {
        bool seen;
        uint32_t next;  /* the number expected next */
        uint64_t lost;  /* events missed on this CPU */
        uint64_t gaps;  /* how many jumps */
        uint64_t backwards;
} SeqCpu;

typedef struct SeqTrack {
        uint32_t ncpus;
        uint64_t lost;  /* sum over CPUs */
        uint64_t gaps;
        uint64_t backwards;
        SeqCpu cpu[];
} SeqTrack;

int seqtrack_new(SeqTrack **ret, uint32_t ncpus);
SeqTrack *seqtrack_free(SeqTrack *t);

/* Records that message number seq arrived from cpu. Returns how many messages were skipped before
 * it (0 normally), or -ERANGE for a cpu outside the table. */
int64_t seqtrack_observe(SeqTrack *t, uint32_t cpu, uint32_t seq);

/* Forgets every baseline (after a resubscription, when numbering gives no continuity). */
void seqtrack_reset_baselines(SeqTrack *t);
