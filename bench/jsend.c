/* SPDX-License-Identifier: GPL-2.0-or-later */
/* jsend: the least a sender of journal entries pays per entry, as bench/journal-run's floor.
 *
 * jsend SOCKET FILE RATE SECONDS
 *
 * FILE holds one entry in journald's native protocol (bench/journal-run takes one of procwatchd's
 * own from the journal). jsend connects a datagram socket to SOCKET once, as procwatchd's writer does,
 * and for SECONDS sends that entry RATE times a second, in batches of up to 64 with one blocking
 * sendmmsg() each (the writer's batch size; the writer is woken at most every 10 ms or 64 entries),
 * building nothing. It prints the entries sent and its own CPU time per entry (every thread of it:
 * one), so what procwatchd pays per forwarded entry can be set beside what the send alone costs. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64
#define TICK_NS 10000000LL /* the daemon's journal kick: 10 ms */

static long long now_ns(clockid_t c) {
        struct timespec t;

        clock_gettime(c, &t);
        return t.tv_sec * 1000000000LL + t.tv_nsec;
}

int main(int argc, char *argv[]) {
        static char entry[256 * 1024];
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        struct mmsghdr msgs[BATCH];
        struct iovec iov = {};
        double rate, seconds;
        long long start, cpu0, due = 0, sent = 0, failed = 0;
        int fd, sndbuf = 8 * 1024 * 1024;
        ssize_t len;

        if (argc != 5 || strlen(argv[1]) >= sizeof(sa.sun_path)) {
                fprintf(stderr, "usage: jsend SOCKET FILE RATE SECONDS\n");
                return 2;
        }
        rate = atof(argv[3]);
        seconds = atof(argv[4]);
        fd = open(argv[2], O_RDONLY | O_CLOEXEC);
        if (fd < 0 || (len = read(fd, entry, sizeof(entry))) <= 0 || (size_t) len == sizeof(entry)) {
                fprintf(stderr, "jsend: cannot read one entry from %s\n", argv[2]);
                return 1;
        }
        close(fd);
        iov = (struct iovec){ .iov_base = entry, .iov_len = (size_t) len };
        for (int i = 0; i < BATCH; i++)
                msgs[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &iov, .msg_iovlen = 1 } };

        strcpy(sa.sun_path, argv[1]);
        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0) {
                perror("socket");
                return 1;
        }
        (void) setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
        if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                perror("connect");
                return 1;
        }

        start = now_ns(CLOCK_MONOTONIC);
        cpu0 = now_ns(CLOCK_PROCESS_CPUTIME_ID);
        for (;;) {
                long long t = now_ns(CLOCK_MONOTONIC) - start;
                long long want = (long long) ((double) t * rate / 1e9);
                struct timespec ts = { .tv_nsec = TICK_NS };

                if (t > (long long) (seconds * 1e9))
                        break;
                if (want > due)
                        due = want;
                while (sent + failed < due) {
                        unsigned n = (unsigned) (due - sent - failed < BATCH ? due - sent - failed : BATCH);
                        int k = sendmmsg(fd, msgs, n, MSG_NOSIGNAL);

                        if (k > 0)
                                sent += k;
                        else if (k < 0 && errno == EINTR)
                                continue;
                        else
                                failed++;
                }
                /* The next batch: 64 entries or the next tick, whichever comes first. */
                if (rate > 0 && BATCH * 1e9 / rate < TICK_NS)
                        ts.tv_nsec = (long) (BATCH * 1e9 / rate);
                nanosleep(&ts, NULL);
        }
        printf("sent=%lld failed=%lld bytes=%zd cpu_us_per_entry=%.3f\n", sent, failed, len,
               sent > 0 ? (double) (now_ns(CLOCK_PROCESS_CPUTIME_ID) - cpu0) / 1e3 / (double) sent : 0.0);
        return sent > 0 ? 0 : 1;
}
