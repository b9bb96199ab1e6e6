/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The taskstats socket: the kernel's per-task exit records (CPU, memory, I/O) over generic netlink.
 *
 * The family id is dynamic and resolved by name (CTRL_CMD_GETFAMILY). Registration sends the
 * possible-CPU list (/sys/devices/system/cpu/possible, verbatim: lists are kept per possible CPU and
 * hotplug leaves them) from this very socket, since the kernel keys listeners by the sender's port id.
 * It needs CAP_NET_ADMIN in the initial user namespace and the initial pid namespace; from another
 * network namespace it "succeeds" and nothing ever arrives, so callers check that first.
 * Deregistration on every way out: a closed socket stays listed until an exit on each CPU fails to
 * reach it, and a new socket that gets the same port id would receive records unasked.
 *
 * Loss: records carry no usable sequence (one counter per CPU, interleaved on one socket), so loss
 * shows as ENOBUFS and in the socket's Drops column of /proc/net/netlink; both are counted and
 * reported. The receive buffer is raised with SO_RCVBUFFORCE as for the connector; 596 bytes of
 * record cost 1280 of buffer. NETLINK_NO_ENOBUFS is never set. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "macro.h"
#include "taskstats-parse.h"

typedef struct Taskstats Taskstats;

/* Default receive buffer: ~6,500 records of queue, ~0.4 s of a 15,000 exits/s storm. */
#define TASKSTATS_RCVBUF_DEFAULT (8U * 1024U * 1024U)
/* Wait for the kernel's ack of a (de)registration. */
#define TASKSTATS_ACK_TIMEOUT_USEC (1000U * 1000U)

typedef struct TaskstatsStats {
        uint64_t datagrams;
        uint64_t records;          /* per-task records decoded */
        uint64_t group_records;    /* ... of which the last task of a thread group (AGROUP) */
        uint64_t malformed;
        uint64_t malformed_by_reason[_PW_TS_PARSE_ERROR_MAX];
        uint64_t foreign;          /* datagrams not from the kernel */
        uint64_t enobufs;
        uint64_t socket_drops;     /* last Drops value of /proc/net/netlink */
} TaskstatsStats;

typedef struct TaskstatsCallbacks {
        /* Every decoded exit record. */
        void (*record)(const PwTsMsg *m, void *userdata);
        /* Records were lost: enobufs (count 1) or a rise of the socket's drop count (count records). */
        void (*loss)(bool enobufs, uint64_t count, void *userdata);
} TaskstatsCallbacks;

/* Opens the socket, resolves family_name (NULL: "TASKSTATS") and sizes the receive buffer. Does not
 * register. Returns -ENOENT when the kernel has no such family (no CONFIG_TASKSTATS); other errors
 * as the kernel gave them. Logs nothing: the caller decides what a failure means. */
int taskstats_new(Taskstats **ret, const char *family_name, uint32_t rcvbuf, const TaskstatsCallbacks *cb,
                  void *userdata);
/* Deregisters when registered, then closes. Accepts NULL. */
Taskstats *taskstats_free(Taskstats *t);
DEFINE_TRIVIAL_CLEANUP_FUNC(Taskstats *, taskstats_free);

/* Registers for every possible CPU and waits for the ack (dispatching records meanwhile). Returns 0,
 * -EPERM (no CAP_NET_ADMIN in the initial user namespace), -EINVAL (not the initial pid namespace),
 * -ETIMEDOUT (no ack), or the kernel's error. */
int taskstats_register(Taskstats *t);
/* Deregisters; idempotent. Returns 0 or the kernel's error (logged by the caller). */
int taskstats_deregister(Taskstats *t);
bool taskstats_registered(const Taskstats *t);

int taskstats_get_fd(const Taskstats *t);
uint16_t taskstats_get_family(const Taskstats *t);
uint32_t taskstats_get_rcvbuf(const Taskstats *t);
/* The cpumask registered, as read from sysfs. */
const char *taskstats_get_cpumask(const Taskstats *t);
const TaskstatsStats *taskstats_get_stats(const Taskstats *t);

/* Reads and dispatches what is queued, at most max_batches recvmmsg() calls. Returns 1 when more may
 * be queued, 0 when drained, or a negative errno. */
int taskstats_read(Taskstats *t, unsigned max_batches);
/* Reads the socket's Drops from /proc/net/netlink and reports a rise through the loss callback. */
int taskstats_update_socket_drops(Taskstats *t);

/* After registering: forks a child that exits at once and waits up to TASKSTATS_ACK_TIMEOUT_USEC for
 * its record (dispatching others). Returns 0, or -ENODATA when none came: registered from another
 * network namespace, the kernel files us under a port id of the initial one and we get nothing. */
int taskstats_probe(Taskstats *t);

/* Is this process in the initial network namespace? (/proc/self/ns/net against /proc/1/ns/net; true
 * when that cannot be told.) Registration from any other succeeds and delivers nothing. */
bool taskstats_in_initial_netns(void);
