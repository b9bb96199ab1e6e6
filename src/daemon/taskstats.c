/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The taskstats socket, built on libmnl. See taskstats.h for registration and loss. */
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <linux/taskstats.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <time.h>

#include "cnproc-parse.h"
#include "fileio.h"
#include "macro.h"
#include "nl-batch.h"
#include "taskstats.h"

/* A record is 596 bytes, 1172 with the thread-group part; a larger datagram is counted as truncated. */
#define BATCH_SLOTS 32
#define SLOT_SIZE 2048
/* The kernel's limit on a cpulist is 100 + 6 * NR_CPUS bytes; this covers NR_CPUS = 8192. */
#define CPUMASK_MAX (100U + 6U * 8192U)

struct Taskstats {
        struct mnl_socket *nl;
        unsigned long inode;
        uint16_t family;
        uint32_t rcvbuf;
        uint32_t nlseq;
        char *cpumask;
        bool registered;

        pid_t probe_pid;       /* taskstats_probe(): the child whose record we wait for */
        bool probe_seen;

        uint32_t ack_expected; /* seq of the request whose ack we wait for; 0: none */
        bool ack_received;
        int32_t ack_err;

        TaskstatsStats stats;
        TaskstatsCallbacks cb;
        void *userdata;

        NlBatch *batch;
};

static uint64_t mono_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000ULL;
}

/* One request, one reply: the family lookup, on the socket before it is registered. */
static int resolve_family(Taskstats *t, const char *name) {
        uint8_t buf[8192] __attribute__((aligned(8)));
        struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
        struct genlmsghdr *g;
        uint32_t seq = ++t->nlseq, portid = mnl_socket_get_portid(t->nl);
        uint64_t deadline = mono_usec() + TASKSTATS_ACK_TIMEOUT_USEC;

        nlh->nlmsg_type = GENL_ID_CTRL;
        nlh->nlmsg_flags = NLM_F_REQUEST;
        nlh->nlmsg_seq = seq;
        g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
        g->cmd = CTRL_CMD_GETFAMILY;
        g->version = 1;
        mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, name);
        if (mnl_socket_sendto(t->nl, nlh, nlh->nlmsg_len) < 0)
                return negative_errno();

        for (;;) {
                struct pollfd p = { .fd = mnl_socket_get_fd(t->nl), .events = POLLIN };
                struct nlmsghdr h;
                uint64_t now = mono_usec();
                ssize_t n;
                int r;

                if (now >= deadline)
                        return -ETIMEDOUT;
                r = poll(&p, 1, (int) ((deadline - now + 999) / 1000));
                if (r < 0 && errno != EINTR)
                        return negative_errno();
                if (r <= 0)
                        continue;
                n = recv(p.fd, buf, sizeof(buf), MSG_DONTWAIT);
                if (n < 0) {
                        if (errno == EAGAIN || errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if ((size_t) n < sizeof(h))
                        continue;
                memcpy(&h, buf, sizeof(h));
                if (h.nlmsg_seq != seq || h.nlmsg_pid != portid)
                        continue;
                r = pw_genl_family_id_parse(buf, (size_t) n, &t->family);
                return r == -EBADMSG ? -EPROTO : r;
        }
}

static int set_rcvbuf(Taskstats *t, uint32_t want) {
        /* Without CAP_NET_ADMIN the kernel caps SO_RCVBUF at net.core.rmem_max; we could not register
         * anyway, but the socket stays usable. */
        int r = nl_socket_set_rcvbuf(mnl_socket_get_fd(t->nl), want, &t->rcvbuf);

        return r < 0 ? r : 0;
}

static int read_cpumask(char **ret) {
        _cleanup_(freep) char *text = NULL;
        size_t n;
        int r;

        r = read_full_file("/sys/devices/system/cpu/possible", &text, &n);
        if (r < 0)
                return r;
        /* Verbatim but for the trailing newline; the kernel parses it with cpulist_parse(). */
        while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == ' '))
                text[--n] = '\0';
        if (n == 0 || n + 1 > CPUMASK_MAX)
                return -EINVAL;
        *ret = TAKE_PTR(text);
        return 0;
}

int taskstats_new(Taskstats **ret, const char *family_name, uint32_t rcvbuf, const TaskstatsCallbacks *cb,
                  void *userdata) {
        _cleanup_(taskstats_freep) Taskstats *t = NULL;
        struct stat st;
        int r;

        t = calloc(1, sizeof(*t));
        if (!t)
                return -ENOMEM;
        if (cb)
                t->cb = *cb;
        t->userdata = userdata;

        r = read_cpumask(&t->cpumask);
        if (r < 0)
                return r;
        t->nl = mnl_socket_open2(NETLINK_GENERIC, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (!t->nl)
                return negative_errno();
        /* A kernel-chosen port id: the kernel keys our registration by it. */
        if (mnl_socket_bind(t->nl, 0, MNL_SOCKET_AUTOPID) < 0)
                return negative_errno();
        if (fstat(mnl_socket_get_fd(t->nl), &st) < 0)
                return negative_errno();
        t->inode = (unsigned long) st.st_ino;

        r = resolve_family(t, family_name ?: TASKSTATS_GENL_NAME);
        if (r < 0)
                return r;
        r = set_rcvbuf(t, rcvbuf);
        if (r < 0)
                return r;
        r = nl_batch_new(&t->batch, BATCH_SLOTS, SLOT_SIZE);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(t);
        return 0;
}

Taskstats *taskstats_free(Taskstats *t) {
        if (!t)
                return NULL;
        if (t->nl) {
                (void) taskstats_deregister(t);
                mnl_socket_close(t->nl);
        }
        free(t->cpumask);
        nl_batch_free(t->batch);
        free(t);
        return NULL;
}

int taskstats_get_fd(const Taskstats *t) {
        return mnl_socket_get_fd(t->nl);
}

uint16_t taskstats_get_family(const Taskstats *t) {
        return t->family;
}

uint32_t taskstats_get_rcvbuf(const Taskstats *t) {
        return t->rcvbuf;
}

const char *taskstats_get_cpumask(const Taskstats *t) {
        return t->cpumask;
}

const TaskstatsStats *taskstats_get_stats(const Taskstats *t) {
        return &t->stats;
}

bool taskstats_registered(const Taskstats *t) {
        return t->registered;
}

/* TASKSTATS_CMD_GET with a (de)register cpumask and NLM_F_ACK, then waits for the ack, dispatching
 * the records that come first. */
static int send_cpumask(Taskstats *t, uint16_t attr) {
        uint8_t buf[NLMSG_HDRLEN + GENL_HDRLEN + NLA_HDRLEN + CPUMASK_MAX + 8] __attribute__((aligned(8)));
        struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
        struct genlmsghdr *g;
        uint64_t deadline;
        int r;

        nlh->nlmsg_type = t->family;
        nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
        nlh->nlmsg_seq = ++t->nlseq;
        nlh->nlmsg_pid = mnl_socket_get_portid(t->nl);
        g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
        g->cmd = TASKSTATS_CMD_GET;
        g->version = TASKSTATS_GENL_VERSION;
        mnl_attr_put_strz(nlh, attr, t->cpumask);

        t->ack_expected = nlh->nlmsg_seq;
        t->ack_received = false;
        if (mnl_socket_sendto(t->nl, nlh, nlh->nlmsg_len) < 0) {
                t->ack_expected = 0;
                return negative_errno();
        }
        deadline = mono_usec() + TASKSTATS_ACK_TIMEOUT_USEC;
        while (!t->ack_received) {
                struct pollfd p = { .fd = mnl_socket_get_fd(t->nl), .events = POLLIN };
                uint64_t now = mono_usec();

                if (now >= deadline) {
                        t->ack_expected = 0;
                        return -ETIMEDOUT;
                }
                r = poll(&p, 1, (int) ((deadline - now + 999) / 1000));
                if (r < 0 && errno != EINTR)
                        return negative_errno();
                r = taskstats_read(t, 4);
                if (r < 0)
                        return r;
        }
        return t->ack_err;
}

int taskstats_register(Taskstats *t) {
        int r;

        if (t->registered)
                return 0;
        r = send_cpumask(t, TASKSTATS_CMD_ATTR_REGISTER_CPUMASK);
        if (r < 0)
                return r;
        t->registered = true;
        return 0;
}

int taskstats_deregister(Taskstats *t) {
        if (!t->registered)
                return 0;
        t->registered = false;
        return send_cpumask(t, TASKSTATS_CMD_ATTR_DEREGISTER_CPUMASK);
}

int taskstats_probe(Taskstats *t) {
        uint64_t deadline;
        pid_t pid;
        int r;

        pid = fork();
        if (pid < 0)
                return negative_errno();
        if (pid == 0)
                _exit(0);
        (void) waitpid(pid, NULL, 0);
        t->probe_pid = pid;
        t->probe_seen = false;
        deadline = mono_usec() + TASKSTATS_ACK_TIMEOUT_USEC;
        while (!t->probe_seen) {
                struct pollfd p = { .fd = mnl_socket_get_fd(t->nl), .events = POLLIN };
                uint64_t now = mono_usec();

                if (now >= deadline)
                        break;
                r = poll(&p, 1, (int) ((deadline - now + 999) / 1000));
                if (r < 0 && errno != EINTR)
                        break;
                r = taskstats_read(t, 4);
                if (r < 0)
                        break;
        }
        t->probe_pid = 0;
        return t->probe_seen ? 0 : -ENODATA;
}

static void report_loss(Taskstats *t, bool enobufs, uint64_t count) {
        if (t->cb.loss)
                t->cb.loss(enobufs, count, t->userdata);
}

static void count_malformed(Taskstats *t, PwTsParseError why) {
        t->stats.malformed++;
        if ((unsigned) why < _PW_TS_PARSE_ERROR_MAX)
                t->stats.malformed_by_reason[why]++;
}

static void handle_datagram(Taskstats *t, const uint8_t *buf, size_t len) {
        while (len > 0) {
                PwTsParseError why = _PW_TS_PARSE_ERROR_MAX;
                size_t used = 0;
                PwTsMsg m;

                if (pw_taskstats_parse(buf, len, t->family, &m, &used, &why) < 0)
                        count_malformed(t, why);
                else if (m.kind == PW_TS_MSG_ACK) {
                        if (t->ack_expected != 0 && m.acked_seq == t->ack_expected) {
                                t->ack_received = true;
                                t->ack_err = m.error;
                                t->ack_expected = 0;
                        }
                } else if (m.kind == PW_TS_MSG_RECORD) {
                        if (t->probe_pid > 0 && m.task.pid == (uint32_t) t->probe_pid)
                                t->probe_seen = true;
                        t->stats.records++;
                        if (m.task.flag & PW_TS_AGROUP)
                                t->stats.group_records++;
                        if (t->cb.record)
                                t->cb.record(&m, t->userdata);
                }
                if (used == 0 || used > len)
                        break;
                buf += used;
                len -= used;
        }
}

int taskstats_read(Taskstats *t, unsigned max_batches) {
        int fd = mnl_socket_get_fd(t->nl);

        for (unsigned b = 0; b < max_batches; b++) {
                int n;

                n = nl_batch_recv(t->batch, fd);
                if (n == -EINTR)
                        continue;
                if (n == -ENOBUFS) {
                        /* Records were dropped; the socket's Drops says how many. Keep reading. */
                        t->stats.enobufs++;
                        report_loss(t, true, 1);
                        continue;
                }
                if (n <= 0)
                        return n;
                for (int i = 0; i < n; i++) {
                        const uint8_t *data;
                        size_t len;

                        t->stats.datagrams++;
                        switch (nl_batch_get(t->batch, (unsigned) i, &data, &len)) {
                        case NL_DATAGRAM_FOREIGN:
                                /* Only the kernel sends records; anyone can unicast to our port id. */
                                t->stats.foreign++;
                                break;
                        case NL_DATAGRAM_TRUNCATED:
                                count_malformed(t, PW_TS_PARSE_TRUNCATED);
                                break;
                        case NL_DATAGRAM_KERNEL:
                                handle_datagram(t, data, len);
                                break;
                        }
                }
                if (n < BATCH_SLOTS)
                        return 0;
        }
        return 1;
}

int taskstats_update_socket_drops(Taskstats *t) {
        _cleanup_(freep) char *text = NULL;
        uint64_t drops;
        int r;

        r = read_full_file("/proc/net/netlink", &text, NULL);
        if (r < 0)
                return r;
        r = pw_parse_netlink_drops(text, t->inode, &drops);
        if (r < 0)
                return r;
        if (drops > t->stats.socket_drops) {
                uint64_t delta = drops - t->stats.socket_drops;

                t->stats.socket_drops = drops;
                report_loss(t, false, delta);
        }
        return 0;
}

bool taskstats_in_initial_netns(void) {
        struct stat self, init;

        if (stat("/proc/self/ns/net", &self) < 0 || stat("/proc/1/ns/net", &init) < 0)
                return true;
        return self.st_dev == init.st_dev && self.st_ino == init.st_ino;
}
