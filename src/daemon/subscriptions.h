/* SPDX-License-Identifier: GPL-2.0-or-later */
/* io.procwatch.Events: live event streams to Varlink clients, each with its own filter, fanned out
 * from the one event the tree has just applied. The design (buffers, missed counts, subtree roots)
 * is set out at the top of subscriptions.c. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "access-policy.h"
#include "cnproc-parse.h"
#include "proctree.h"
#include "varlink-server.h"

/* Limits on what a subscriber can make the daemon hold or do; each is hit by a test
 * (test-subscriptions). */
/* Event bytes queued for one Events subscriber. An event that would go beyond is not queued but
 * counted; once the subscriber has read enough, a {"missed": N} record goes first in its stream. */
#define SUBSCRIPTIONS_EVENTS_BUFFER_MAX (256U * 1024U)
/* Events subscriptions of one user other than root; one more gets LimitReached ("subscribers"). */
#define SUBSCRIPTIONS_PER_UID_MAX 8U

typedef struct SubscriptionLimits {
        /* 0 in any of these: its SUBSCRIPTIONS_* default. */
        size_t events_buffer_max;
        unsigned subscribers_per_uid_max;
} SubscriptionLimits;

typedef struct SubscriptionStats {
        unsigned subscribers;         /* Events streams now */
        uint64_t events_published;    /* events offered to subscribers since start */
        uint64_t events_missed;       /* events a subscriber did not get, summed */
        uint64_t subtree_steps;       /* ancestors followed for subtree filters, in all */
} SubscriptionStats;

typedef struct Subscriptions Subscriptions;

/* policy is borrowed and must outlive subs; limits NULL: the defaults. */
int subscriptions_new(Subscriptions **ret, const SubscriptionLimits *limits, const PwAccessPolicy *policy);
/* Frees what is left; free the server first, which ends every stream. Accepts NULL. */
Subscriptions *subscriptions_free(Subscriptions *subs);
DEFINE_TRIVIAL_CLEANUP_FUNC(Subscriptions *, subscriptions_free);

/* Registers io.procwatch.Events on vs. The callers' per-connection data must be their PwCaller. */
int subscriptions_register(Subscriptions *subs, VarlinkServer *vs);

/* Sends an event the tree has just applied to every subscriber whose filter takes it. res as
 * proctree_apply() filled it; its record is read now, not later. Never blocks: what does not fit a
 * subscriber's buffer is counted as missed for it. */
void subscriptions_publish(Subscriptions *subs, const PwEvent *ev, const PwApplyResult *res);

void subscriptions_get_stats(const Subscriptions *subs, SubscriptionStats *ret);
unsigned subscriptions_count(const Subscriptions *subs);
