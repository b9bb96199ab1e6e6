/* SPDX-License-Identifier: GPL-2.0-or-later */
/* minlisten: the least a proc-connector consumer can do, as the benchmark's floor.
 *
 * Subscribes as ../shared/docs/proc-connector.md says (kernel-chosen port id, PROC_CN_MCAST_LISTEN,
 * receive buffer forced to the daemon's default), then only reads: ppoll() for readiness, recvmmsg()
 * in batches until EAGAIN, counts events by kind and per-CPU sequence gaps (events this socket lost)
 * and ENOBUFS. No tree, no /proc, no output until the end. On SIGTERM or SIGINT it drains what is
 * queued, sends PROC_CN_MCAST_IGNORE and prints one key=value line.
 *
 * --read=cmdline: also reads /proc/PID/cmdline at each EXEC (open, one read, close), the least any
 * consumer that keeps command lines must do (forkstat does about this). --read=image: reads at each
 * EXEC what procwatchd's receive thread reads, the same way: a /proc/PID fd, cmdline and an fstat() of
 * it, the exe link, stat and cgroup through it. Nothing is parsed or kept. These are floors for the
 * benchmark: what the reads alone cost, without a tree. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define BATCH 128
#define SLOT 256
#define CPUS_MAX 4096
#define DEFAULT_RCVBUF (16 * 1024 * 1024) /* procwatchd's default --rcvbuf */

static uint8_t bufs[BATCH][SLOT] __attribute__((aligned(8)));
static struct mmsghdr msgs[BATCH];
static struct iovec iov[BATCH];
static struct sockaddr_nl addrs[BATCH];

static uint32_t last_seq[CPUS_MAX];
static bool seen_cpu[CPUS_MAX];

static uint64_t events, gaps, enobufs, malformed, acks, by_kind[8], reads, read_failures;
static enum { READ_NONE, READ_CMDLINE, READ_IMAGE } read_mode;
static int proc_fd = -1;
static char read_buf[65536];

/* One /proc file of dirfd, read once (a /proc/PID text file is one record: one read() takes it). */
static bool read_file(int dirfd, const char *name, bool want_stat) {
        struct stat st;
        int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        bool ok;

        if (fd < 0)
                return false;
        ok = (!want_stat || fstat(fd, &st) == 0) && read(fd, read_buf, sizeof(read_buf)) >= 0;
        close(fd);
        return ok;
}

static void read_exec(pid_t pid) {
        char name[32];
        bool ok;

        if (read_mode == READ_CMDLINE) {
                snprintf(name, sizeof(name), "%d/cmdline", (int) pid);
                ok = read_file(proc_fd, name, false);
        } else {
                int d;

                snprintf(name, sizeof(name), "%d", (int) pid);
                d = openat(proc_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (d < 0)
                        ok = false;
                else {
                        ok = read_file(d, "cmdline", true);
                        ok = readlinkat(d, "exe", read_buf, sizeof(read_buf)) >= 0 && ok;
                        ok = read_file(d, "stat", false) && ok;
                        ok = read_file(d, "cgroup", false) && ok;
                        close(d);
                }
        }
        reads++;
        if (!ok)
                read_failures++;
}

static void on_signal(int sig) {
        (void) sig; /* only to interrupt ppoll() */
}

static int send_op(int fd, uint32_t op) {
        struct {
                struct nlmsghdr nlh;
                struct cn_msg cn;
                uint32_t op;
        } __attribute__((packed)) req = {
                .nlh = { .nlmsg_len = sizeof(req), .nlmsg_type = NLMSG_DONE },
                .cn = { .id = { .idx = CN_IDX_PROC, .val = CN_VAL_PROC }, .ack = 1, .len = sizeof(uint32_t) },
                .op = op,
        };
        struct sockaddr_nl to = { .nl_family = AF_NETLINK };

        return sendto(fd, &req, sizeof(req), 0, (struct sockaddr *) &to, sizeof(to)) < 0 ? -errno : 0;
}

static int kind_index(uint32_t what) {
        switch (what) {
        case PROC_EVENT_FORK:
                return 0;
        case PROC_EVENT_EXEC:
                return 1;
        case PROC_EVENT_EXIT:
                return 2;
        default:
                return 3;
        }
}

static void handle(const uint8_t *buf, size_t len) {
        const struct nlmsghdr *nlh = (const struct nlmsghdr *) (const void *) buf;
        const struct cn_msg *cn;
        const struct proc_event *ev;

        if (len < NLMSG_HDRLEN || nlh->nlmsg_len < NLMSG_HDRLEN || nlh->nlmsg_len > len ||
            nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(*cn)) {
                malformed++;
                return;
        }
        cn = NLMSG_DATA(nlh);
        if (cn->id.idx != CN_IDX_PROC || cn->id.val != CN_VAL_PROC ||
            nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(*cn) + cn->len ||
            cn->len < offsetof(struct proc_event, event_data)) {
                malformed++;
                return;
        }
        ev = (const struct proc_event *) (const void *) cn->data;
        if (ev->what == PROC_EVENT_NONE) {
                acks++;
                return;
        }
        events++;
        by_kind[kind_index(ev->what)]++;
        if (read_mode != READ_NONE && ev->what == PROC_EVENT_EXEC &&
            cn->len >= offsetof(struct proc_event, event_data) + sizeof(ev->event_data.exec))
                read_exec(ev->event_data.exec.process_tgid);
        if (ev->cpu < CPUS_MAX) {
                if (seen_cpu[ev->cpu]) {
                        uint32_t d = cn->seq - last_seq[ev->cpu];
                        /* Per CPU the order is kept: d == 1 normally; a large d is a gap. */
                        if (d > 1 && d < 0x80000000U)
                                gaps += d - 1;
                        if (d != 0 && d < 0x80000000U)
                                last_seq[ev->cpu] = cn->seq;
                } else {
                        seen_cpu[ev->cpu] = true;
                        last_seq[ev->cpu] = cn->seq;
                }
        }
}

/* Reads until EAGAIN. Returns <0 on a hard error. */
static int drain(int fd) {
        for (;;) {
                int n;

                for (int i = 0; i < BATCH; i++) {
                        msgs[i].msg_hdr.msg_namelen = sizeof(addrs[i]);
                        msgs[i].msg_hdr.msg_flags = 0;
                }
                n = recvmmsg(fd, msgs, BATCH, MSG_DONTWAIT, NULL);
                if (n < 0) {
                        if (errno == EAGAIN)
                                return 0;
                        if (errno == EINTR)
                                continue;
                        if (errno == ENOBUFS) {
                                enobufs++;
                                continue;
                        }
                        return -errno;
                }
                for (int i = 0; i < n; i++) {
                        if (addrs[i].nl_pid != 0 || (msgs[i].msg_hdr.msg_flags & MSG_TRUNC)) {
                                malformed++;
                                continue;
                        }
                        handle(bufs[i], msgs[i].msg_len);
                }
                if (n < BATCH)
                        return 0;
        }
}

int main(int argc, char *argv[]) {
        struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = CN_IDX_PROC, .nl_pid = 0 };
        int rcvbuf = DEFAULT_RCVBUF, fd, r;
        socklen_t sl = sizeof(rcvbuf);
        sigset_t block, orig;
        struct stat st;
        struct timespec t0, t1;

        for (int i = 1; i < argc; i++) {
                if (strcmp(argv[i], "--read=cmdline") == 0)
                        read_mode = READ_CMDLINE;
                else if (strcmp(argv[i], "--read=image") == 0)
                        read_mode = READ_IMAGE;
                else if (argv[i][0] != '-')
                        rcvbuf = atoi(argv[i]);
                else {
                        fprintf(stderr, "usage: minlisten [RCVBUF] [--read=cmdline|--read=image]\n");
                        return 2;
                }
        }
        if (read_mode != READ_NONE) {
                proc_fd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (proc_fd < 0) {
                        perror("/proc");
                        return 1;
                }
        }

        fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_CONNECTOR);
        if (fd < 0) {
                perror("socket(NETLINK_CONNECTOR)");
                return 1;
        }
        if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                perror("bind");
                return 1;
        }
        if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) < 0) {
                perror("SO_RCVBUFFORCE");
                return 1;
        }
        (void) getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, &sl);
        if (fstat(fd, &st) < 0) {
                perror("fstat");
                return 1;
        }
        for (int i = 0; i < BATCH; i++) {
                iov[i] = (struct iovec){ .iov_base = bufs[i], .iov_len = SLOT };
                msgs[i].msg_hdr = (struct msghdr){
                        .msg_name = &addrs[i],
                        .msg_iov = &iov[i],
                        .msg_iovlen = 1,
                };
        }

        /* Signals are only taken inside ppoll(): no race between a check and a blocking read. */
        sigemptyset(&block);
        sigaddset(&block, SIGTERM);
        sigaddset(&block, SIGINT);
        sigprocmask(SIG_BLOCK, &block, &orig);
        sigdelset(&orig, SIGTERM);
        sigdelset(&orig, SIGINT);
        sigaction(SIGTERM, &(struct sigaction){ .sa_handler = on_signal }, NULL);
        sigaction(SIGINT, &(struct sigaction){ .sa_handler = on_signal }, NULL);

        r = send_op(fd, PROC_CN_MCAST_LISTEN);
        if (r < 0) {
                fprintf(stderr, "PROC_CN_MCAST_LISTEN: %s\n", strerror(-r));
                return 1;
        }
        /* The ack (what == NONE) tells the subscription took; wait for it briefly. */
        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (;;) {
                struct pollfd p = { .fd = fd, .events = POLLIN };

                clock_gettime(CLOCK_MONOTONIC, &t1);
                if (acks > 0 || (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000 > 1000)
                        break;
                (void) poll(&p, 1, 100);
                (void) drain(fd);
        }
        printf("ready inode=%lu rcvbuf=%d ack=%s\n", (unsigned long) st.st_ino, rcvbuf, acks > 0 ? "yes" : "no");
        fflush(stdout);
        events = gaps = enobufs = reads = read_failures = 0;
        memset(by_kind, 0, sizeof(by_kind));

        for (;;) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                int k = ppoll(&p, 1, NULL, &orig);

                if (k < 0 && errno == EINTR)
                        break;
                if (k < 0) {
                        perror("ppoll");
                        return 1;
                }
                r = drain(fd);
                if (r < 0) {
                        fprintf(stderr, "recvmmsg: %s\n", strerror(-r));
                        return 1;
                }
        }
        (void) drain(fd);
        (void) send_op(fd, PROC_CN_MCAST_IGNORE);
        printf("events=%llu lost=%llu enobufs=%llu malformed=%llu fork=%llu exec=%llu exit=%llu other=%llu "
               "reads=%llu read_failures=%llu\n",
               (unsigned long long) events, (unsigned long long) gaps, (unsigned long long) enobufs,
               (unsigned long long) malformed, (unsigned long long) by_kind[0], (unsigned long long) by_kind[1],
               (unsigned long long) by_kind[2], (unsigned long long) by_kind[3], (unsigned long long) reads,
               (unsigned long long) read_failures);
        close(fd);
        return 0;
}
