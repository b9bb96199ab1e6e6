/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The proc-connector socket, built on libmnl. See cnproc.h for how loss is detected. */
#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>

#include "cnproc.h"
#include "fileio.h"
#include "log.h"
#include "macro.h"
#include "nl-batch.h"

/* recvmmsg() batch: each proc-connector datagram is 76 bytes; a slot of 256 leaves room for kernels
 * that grow struct proc_event, and a larger datagram is reported as truncated, not misread. */
#define BATCH_SLOTS 128
#define SLOT_SIZE 256
/* Decoded events held until the batch is handed over: normally one per slot; a datagram holding
 * more messages fills this sooner, and what is held is then handed over early. */
#define PENDING_MAX (BATCH_SLOTS * 2)

/* struct proc_input of kernels >= 6.6, missing from Debian 12's uapi header. */
struct pw_proc_input {
        uint32_t mcast_op;
        uint32_t event_type; /* 0: every kind */
};

struct CnProc {
        struct mnl_socket *nl;
        unsigned long inode;
        uint32_t rcvbuf;
        uint32_t ncpus;
        uint32_t nlseq;

        bool subscribed;
        bool filter_api; /* subscribed with struct proc_input (>= 6.6) */

        /* The ack we wait for, and what it said. */
        uint32_t ack_expected;
        bool ack_received;
        uint32_t ack_err;

        SeqTrack *seq;
        CnProcStats stats;
        CnProcCallbacks cb;
        void *userdata;

        /* Events of the current batch, decoded but not yet handed to cb.event. */
        PwEvent pending[PENDING_MAX];
        unsigned n_pending;

        NlBatch *batch;
};

static int possible_cpus(uint32_t *ret) {
        _cleanup_(freep) char *text = NULL;
        long n;

        if (read_full_file("/sys/devices/system/cpu/possible", &text, NULL) >= 0 &&
            pw_parse_cpu_count(text, ret) >= 0)
                return 0;
        n = sysconf(_SC_NPROCESSORS_CONF);
        if (n <= 0)
                return -EIO;
        *ret = (uint32_t) n;
        return 0;
}

static int set_rcvbuf(CnProc *c, uint32_t want) {
        int r = nl_socket_set_rcvbuf(mnl_socket_get_fd(c->nl), want, &c->rcvbuf);

        if (r < 0)
                return log_error_errno(r, "Failed to set the receive buffer to %u bytes: %m", want);
        if (r == 0)
                /* Without CAP_NET_ADMIN the kernel caps SO_RCVBUF at net.core.rmem_max. */
                log_warning("No CAP_NET_ADMIN to force a %u byte receive buffer; asked for it within "
                            "net.core.rmem_max and got %u.", want, c->rcvbuf);
        return 0;
}

int cnproc_new(CnProc **ret, uint32_t rcvbuf, const CnProcCallbacks *cb, void *userdata) {
        _cleanup_(cnproc_freep) CnProc *c = NULL;
        struct stat st;
        int r;

        c = calloc(1, sizeof(*c));
        if (!c)
                return log_oom();
        if (cb)
                c->cb = *cb;
        c->userdata = userdata;

        r = possible_cpus(&c->ncpus);
        if (r < 0)
                return log_error_errno(r, "Failed to learn the number of possible CPUs: %m");
        r = seqtrack_new(&c->seq, c->ncpus);
        if (r < 0)
                return log_error_errno(r, "Failed to set up sequence tracking: %m");

        c->nl = mnl_socket_open2(NETLINK_CONNECTOR, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (!c->nl) {
                r = negative_errno();
                if (r == -EPROTONOSUPPORT || r == -EAFNOSUPPORT)
                        return log_error_errno(r, "The kernel has no process events connector "
                                                  "(CONFIG_CONNECTOR and CONFIG_PROC_EVENTS): %m");
                return log_error_errno(r, "Failed to open the netlink connector socket: %m");
        }
        /* Port id chosen by the kernel: getpid() would collide with a second socket of ours. */
        if (mnl_socket_bind(c->nl, CN_IDX_PROC, MNL_SOCKET_AUTOPID) < 0)
                return log_error_errno(errno, "Failed to join the proc connector group: %m");
        if (fstat(mnl_socket_get_fd(c->nl), &st) < 0)
                return log_error_errno(errno, "Failed to stat the netlink socket: %m");
        c->inode = (unsigned long) st.st_ino;

        r = set_rcvbuf(c, rcvbuf);
        if (r < 0)
                return r;
        r = cnproc_batch_new(&c->batch);
        if (r < 0)
                return log_oom();

        *ret = TAKE_PTR(c);
        return 0;
}

CnProc *cnproc_free(CnProc *c) {
        if (!c)
                return NULL;
        if (c->nl) {
                (void) cnproc_unsubscribe(c);
                mnl_socket_close(c->nl);
        }
        seqtrack_free(c->seq);
        nl_batch_free(c->batch);
        free(c);
        return NULL;
}

int cnproc_get_fd(const CnProc *c) {
        return mnl_socket_get_fd(c->nl);
}

int cnproc_set_rcvbuf(CnProc *c, uint32_t rcvbuf) {
        return set_rcvbuf(c, rcvbuf);
}

uint32_t cnproc_get_rcvbuf(const CnProc *c) {
        return c->rcvbuf;
}

const CnProcStats *cnproc_get_stats(const CnProc *c) {
        return &c->stats;
}

const SeqTrack *cnproc_get_seqtrack(const CnProc *c) {
        return c->seq;
}

bool cnproc_uses_filter_api(const CnProc *c) {
        return c->filter_api;
}

/* Sends a (un)subscription: the 8-byte struct proc_input form when extended, else the 4-byte op. */
static int send_op(CnProc *c, uint32_t op, bool extended, uint32_t ack) {
        uint8_t buf[NLMSG_HDRLEN + sizeof(struct cn_msg) + sizeof(struct pw_proc_input)]
                __attribute__((aligned(8))) = {};
        struct nlmsghdr *nlh;
        struct cn_msg *cn;
        struct pw_proc_input in = { .mcast_op = op, .event_type = 0 };
        size_t dlen = extended ? sizeof(in) : sizeof(op);

        nlh = mnl_nlmsg_put_header(buf);
        nlh->nlmsg_type = NLMSG_DONE;
        nlh->nlmsg_seq = ++c->nlseq;
        nlh->nlmsg_pid = mnl_socket_get_portid(c->nl);
        cn = mnl_nlmsg_put_extra_header(nlh, sizeof(struct cn_msg) + dlen);
        cn->id.idx = CN_IDX_PROC;
        cn->id.val = CN_VAL_PROC;
        cn->seq = c->nlseq;
        cn->ack = ack;
        cn->len = (uint16_t) dlen;
        memcpy(cn->data, &in, dlen);

        if (mnl_socket_sendto(c->nl, nlh, nlh->nlmsg_len) < 0)
                return negative_errno();
        return 0;
}

static uint64_t mono_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000ULL;
}

/* Sends LISTEN in one form and reads (dispatching events) until its ack or the timeout. */
static int listen_and_wait(CnProc *c, bool extended, uint32_t ack) {
        uint64_t deadline;
        int r;

        c->ack_expected = ack + 1;
        c->ack_received = false;
        r = send_op(c, PROC_CN_MCAST_LISTEN, extended, ack);
        if (r < 0)
                return r;

        deadline = mono_usec() + CNPROC_ACK_TIMEOUT_USEC;
        while (!c->ack_received) {
                uint64_t now = mono_usec();
                struct pollfd p = { .fd = mnl_socket_get_fd(c->nl), .events = POLLIN };

                if (now >= deadline)
                        return -ETIMEDOUT;
                r = poll(&p, 1, (int) ((deadline - now + 999) / 1000));
                if (r < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                r = cnproc_read(c, 4);
                if (r < 0)
                        return r;
        }
        return c->ack_err == 0 ? 0 : -(int) c->ack_err;
}

int cnproc_subscribe(CnProc *c) {
        uint32_t ack;
        int r;

        if (c->subscribed)
                return 0;

        /* A random ack tells our reply apart from other listeners' acks, which are multicast too. */
        if (getrandom(&ack, sizeof(ack), GRND_NONBLOCK) != sizeof(ack))
                ack = (uint32_t) mono_usec() ^ ((uint32_t) getpid() << 16);
        ack &= 0x3fffffffU;

        /* Kernels >= 6.6 take struct proc_input (mask 0: every kind); older ones ignore it without an
         * ack and need the 4-byte op. Probing beats reading uname: backports exist. */
        r = listen_and_wait(c, true, ack);
        if (r == -ETIMEDOUT) {
                log_debug("No ack for the proc_input subscription, trying the legacy form.");
                r = listen_and_wait(c, false, ack + 2);
                c->filter_api = false;
        } else
                c->filter_api = true;
        if (r < 0)
                return r;
        c->subscribed = true;
        return 0;
}

bool cnproc_ack_refused(const CnProc *c) {
        return c->ack_received && c->ack_err != 0;
}

int cnproc_unsubscribe(CnProc *c) {
        int r;

        if (!c->subscribed)
                return 0;
        /* The same form that subscribed; without this the kernel keeps counting us as a listener
         * and every fork on the machine keeps paying for an event. */
        r = send_op(c, PROC_CN_MCAST_IGNORE, c->filter_api, 0);
        c->subscribed = false;
        if (r < 0)
                return log_warning_errno(r, "Failed to unsubscribe from process events: %m");
        return 0;
}

static void report_loss(CnProc *c, CnProcLossKind kind, uint32_t cpu, uint64_t count) {
        if (c->cb.loss)
                c->cb.loss(kind, cpu, count, c->userdata);
}

static void count_malformed(CnProc *c, PwParseError why) {
        c->stats.malformed++;
        if ((unsigned) why < _PW_PARSE_ERROR_MAX)
                c->stats.malformed_by_reason[why]++;
}

/* Hands the events decoded so far to cb.event, in order. */
static void flush_pending(CnProc *c) {
        for (unsigned i = 0; i < c->n_pending; i++)
                if (c->cb.event)
                        c->cb.event(&c->pending[i], c->userdata);
        c->n_pending = 0;
}

static void handle_event(CnProc *c, const PwEvent *ev) {
        /* Every event and, on kernels that number it, every ack takes a number from its CPU. */
        if (ev->cpu != PW_CPU_NONE) {
                int64_t lost = seqtrack_observe(c->seq, ev->cpu, ev->seq);
                if (lost > 0)
                        report_loss(c, CNPROC_LOSS_SEQ_GAP, ev->cpu, (uint64_t) lost);
        }

        if (ev->kind == PW_EVENT_NONE) {
                if (c->ack_expected != 0 && ev->cn_ack == c->ack_expected) {
                        c->ack_received = true;
                        c->ack_err = ev->ack.err;
                        c->ack_expected = 0;
                } else
                        c->stats.foreign_acks++;
                return;
        }

        c->stats.events++;
        c->stats.events_by_kind[ev->kind]++;
        if (c->n_pending == PENDING_MAX)
                flush_pending(c);
        c->pending[c->n_pending++] = *ev;
}

static void handle_datagram(CnProc *c, const uint8_t *buf, size_t len) {
        /* One datagram normally holds one message; walk it anyway and count what does not parse. */
        while (len > 0) {
                PwParseError why = _PW_PARSE_ERROR_MAX;
                size_t used = 0;
                PwEvent ev;
                int r;

                r = pw_event_parse(buf, len, c->ncpus, &ev, &used, &why);
                if (r < 0)
                        count_malformed(c, why);
                else
                        handle_event(c, &ev);
                if (used == 0 || used > len)
                        break;
                buf += used;
                len -= used;
        }
}

int cnproc_batch_new(NlBatch **ret) {
        return nl_batch_new(ret, BATCH_SLOTS, SLOT_SIZE);
}

uint32_t cnproc_get_ncpus(const CnProc *c) {
        return c->ncpus;
}

void cnproc_find_execs(const NlBatch *b, unsigned from, unsigned to, uint32_t ncpus,
                       void (*exec)(const PwEvent *ev, void *userdata), void *userdata) {
        for (unsigned i = from; i < to; i++) {
                const uint8_t *buf;
                size_t len;

                if (nl_batch_get(b, i, &buf, &len) != NL_DATAGRAM_KERNEL)
                        continue;
                while (len > 0) {
                        PwParseError why;
                        size_t used = 0;
                        PwEvent ev;

                        if (pw_event_parse(buf, len, ncpus, &ev, &used, &why) >= 0 && ev.kind == PW_EVENT_EXEC)
                                exec(&ev, userdata);
                        if (used == 0 || used > len)
                                break;
                        buf += used;
                        len -= used;
                }
        }
}

int cnproc_dispatch(CnProc *c, const NlBatch *b, int n) {
        if (n == -ENOBUFS) {
                /* The queue overflowed: events were dropped. The sequence numbers tell how many; here
                 * we only learn that it happened. */
                c->stats.enobufs++;
                report_loss(c, CNPROC_LOSS_ENOBUFS, PW_CPU_NONE, 1);
                return 0;
        }
        if (n < 0)
                return n; /* the caller decides, and logs */

        for (int i = 0; i < n; i++) {
                const uint8_t *data;
                size_t len;

                c->stats.datagrams++;
                switch (nl_batch_get(b, (unsigned) i, &data, &len)) {
                case NL_DATAGRAM_FOREIGN:
                        /* Only the kernel speaks for the connector; a local process can unicast to
                         * our port id, and we will not believe it. */
                        c->stats.foreign++;
                        break;
                case NL_DATAGRAM_TRUNCATED:
                        count_malformed(c, PW_PARSE_TRUNCATED);
                        break;
                case NL_DATAGRAM_KERNEL:
                        handle_datagram(c, data, len);
                        break;
                }
        }
        flush_pending(c);
        return 0;
}

int cnproc_read(CnProc *c, unsigned max_batches) {
        int fd = mnl_socket_get_fd(c->nl);

        for (unsigned b = 0; b < max_batches; b++) {
                int n, r;

                n = nl_batch_recv(c->batch, fd);
                if (n == -EINTR)
                        continue;
                if (n == 0)
                        return 0;
                r = cnproc_dispatch(c, c->batch, n);
                if (r < 0)
                        return r;
                if (n > 0 && n < BATCH_SLOTS)
                        return 0;
        }
        return 1;
}

int cnproc_update_socket_drops(CnProc *c) {
        _cleanup_(freep) char *text = NULL;
        uint64_t drops;
        int r;

        r = read_full_file("/proc/net/netlink", &text, NULL);
        if (r < 0)
                return r;
        r = pw_parse_netlink_drops(text, c->inode, &drops);
        if (r < 0)
                return r;
        if (drops > c->stats.socket_drops) {
                uint64_t delta = drops - c->stats.socket_drops;
                c->stats.socket_drops = drops;
                report_loss(c, CNPROC_LOSS_SOCKET_DROPS, PW_CPU_NONE, delta);
        }
        return 0;
}
