/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The journal writer without a journald: absence is detected (never counted as forwarded), the queue
 * accounts for every entry, the thread is findable by name, and shutdown is quick. The path checked
 * for journald's socket is a scratch one, so this never writes to a journal of the host. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "journal.h"
#include "proctree.h"
#include "procwatch/message-ids.h"
#include "test-cleanup.h"

static void wait_drained(Journal *j, JournalStats *s) {
        usec_t deadline = now_usec(CLOCK_MONOTONIC) + 10 * USEC_PER_SEC;

        for (;;) {
                journal_get_stats(j, s);
                if (s->queued == 0 && s->offered == s->forwarded + journal_stats_dropped(s))
                        return;
                assert_true(now_usec(CLOCK_MONOTONIC) < deadline);
                (void) usleep(1000);
        }
}

static void test_absent(void **state) {
        Journal *j = NULL;
        JournalStats s;
        char comm[64] = "", path[128];
        FILE *f;
        usec_t t0;

        assert_int_equal(journal_new(&j, "/nonexistent/procwatchd-test/journal/socket"), 0);
        for (unsigned i = 0; i < 1000; i++) {
                PwJournalEntry *e;

                assert_int_equal(pw_journal_entry_message(PW_MESSAGE_STARTED, 6, "test", NULL, &e), 0);
                (void) journal_submit(j, e);
        }
        wait_drained(j, &s);
        assert_int_equal(s.offered, 1000);
        assert_int_equal(s.forwarded, 0);
        assert_int_equal(s.dropped[JOURNAL_DROP_UNAVAILABLE] + s.dropped[JOURNAL_DROP_QUEUE_FULL], 1000);
        assert_int_equal(s.summaries, 0);

        /* The benchmark finds the writer by its name. */
        assert_true(s.writer_tid > 0);
        snprintf(path, sizeof(path), "/proc/self/task/%d/comm", (int) s.writer_tid);
        f = fopen(path, "re");
        assert_non_null(f);
        assert_non_null(fgets(comm, sizeof(comm), f));
        fclose(f);
        assert_string_equal(comm, "pw-journal\n");

        t0 = now_usec(CLOCK_MONOTONIC);
        journal_free(j);
        assert_true(now_usec(CLOCK_MONOTONIC) - t0 < JOURNAL_FLUSH_USEC + 100 * USEC_PER_MSEC);
}

static void test_queue_full(void **state) {
        Journal *j = NULL;
        JournalStats s;
        unsigned refused = 0, n = JOURNAL_QUEUE_MAX_ENTRIES * 4;

        /* The writer drops entries fast here, but submitting 4x the bound in a tight loop overtakes
         * it now and then: whatever happens, every entry is accounted for exactly once. */
        assert_int_equal(journal_new(&j, "/nonexistent/procwatchd-test/journal/socket"), 0);
        for (unsigned i = 0; i < n; i++) {
                PwJournalEntry *e;

                assert_int_equal(pw_journal_entry_message(PW_MESSAGE_STARTED, 6, "x", NULL, &e), 0);
                refused += journal_submit(j, e) == -ENOBUFS;
        }
        wait_drained(j, &s);
        assert_int_equal(s.offered, n);
        assert_int_equal(s.dropped[JOURNAL_DROP_QUEUE_FULL], refused);
        assert_int_equal(s.dropped[JOURNAL_DROP_UNAVAILABLE] + refused, n);
        journal_free(j);
        /* NULL is accepted. */
        assert_null(journal_free(NULL));
}

/* A stand-in for journald's socket at path: a real datagram socket the test reads. */
static int bind_dgram(const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0), big = 4 * 1024 * 1024;

        assert_true(fd >= 0);
        assert_true(strlen(path) < sizeof(sa.sun_path));
        strcpy(sa.sun_path, path);
        (void) setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big));
        assert_int_equal(bind(fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
        return fd;
}

/* A "journald" socket at dir/socket (dir: a template, made here; path: at least 128 bytes) and a
 * writer sending to it in *ret; returns the socket. */
static int writer_at(char *dir, char *path, Journal **ret) {
        int fd;

        assert_int_equal(tc_mkdtemp(dir), 0);
        snprintf(path, 128, "%s/socket", dir);
        fd = bind_dgram(path);
        assert_int_equal(journal_new(ret, path), 0);
        return fd;
}

/* Receives datagrams until want have come (deadline 10 s); each must be the native form of the entry
 * "MESSAGE=<prefix><i>" in submission order. */
static void receive(int fd, const char *prefix, unsigned first, unsigned want) {
        usec_t deadline = now_usec(CLOCK_MONOTONIC) + 10 * USEC_PER_SEC;

        for (unsigned i = first; i < first + want;) {
                char buf[4096], expect[128];
                struct pollfd pfd = { .fd = fd, .events = POLLIN };
                ssize_t n;

                assert_true(now_usec(CLOCK_MONOTONIC) < deadline);
                if (poll(&pfd, 1, 100) <= 0)
                        continue;
                n = recv(fd, buf, sizeof(buf) - 1, 0);
                assert_true(n > 0);
                buf[n] = '\0';
                /* Whole fields, each ended by a newline, in the order they were built. */
                snprintf(expect, sizeof(expect), "MESSAGE=%s%u\nMESSAGE_ID=%s\nPRIORITY=6\nSYSLOG_IDENTIFIER=procwatchd\n",
                         prefix, i, PW_MESSAGE_STARTED);
                assert_string_equal(buf, expect);
                i++;
        }
}

static void submit_n(Journal *j, const char *prefix, unsigned first, unsigned n, bool deferred) {
        for (unsigned i = first; i < first + n; i++) {
                PwJournalEntry *e;
                char msg[64];

                snprintf(msg, sizeof(msg), "%s%u", prefix, i);
                assert_int_equal(pw_journal_entry_message(PW_MESSAGE_STARTED, 6, msg, NULL, &e), 0);
                assert_int_equal(deferred ? journal_submit_deferred(j, e) : journal_submit(j, e), 0);
        }
}

/* The writer's own native-protocol sender against a real datagram socket: entries arrive whole and in
 * order; deferred entries go out once JOURNAL_WAKE_BATCH wait, the rest on a kick; a restarted
 * "journald" (a new socket at the same path) gets the entries after it. */
static void test_native_socket(void **state) {
        char dir[] = "/tmp/pw-journal-writer.XXXXXX", path[128];
        Journal *j = NULL;
        JournalStats s;
        int fd;

        fd = writer_at(dir, path, &j);

        submit_n(j, "now ", 0, 3, false);
        receive(fd, "now ", 0, 3);

        /* A batch's worth wakes the writer without a kick. */
        submit_n(j, "batch ", 0, JOURNAL_WAKE_BATCH, true);
        receive(fd, "batch ", 0, JOURNAL_WAKE_BATCH);
        /* Fewer wait for the kick. */
        submit_n(j, "kicked ", 0, 5, true);
        journal_kick(j);
        receive(fd, "kicked ", 0, 5);
        wait_drained(j, &s);
        assert_int_equal(s.forwarded, 3 + JOURNAL_WAKE_BATCH + 5);
        assert_int_equal(journal_stats_dropped(&s), 0);

        /* journald restarted: the old socket is gone, a new one is at the path. */
        assert_int_equal(close(fd), 0);
        assert_int_equal(unlink(path), 0);
        fd = bind_dgram(path);
        submit_n(j, "again ", 0, 4, false);
        receive(fd, "again ", 0, 4);
        wait_drained(j, &s);
        assert_int_equal(s.forwarded, 3 + JOURNAL_WAKE_BATCH + 5 + 4);
        assert_int_equal(journal_stats_dropped(&s), 0);

        /* And gone: counted, never taken for forwarded. */
        assert_int_equal(close(fd), 0);
        assert_int_equal(unlink(path), 0);
        submit_n(j, "gone ", 0, 2, false);
        wait_drained(j, &s);
        assert_int_equal(s.forwarded, 3 + JOURNAL_WAKE_BATCH + 5 + 4);
        assert_int_equal(s.dropped[JOURNAL_DROP_UNAVAILABLE], 2);
        journal_free(j);
}

/* One datagram (deadline 10 s) into buf, NUL-terminated; returns its length. */
static size_t recv_one(int fd, char *buf, size_t size) {
        usec_t deadline = now_usec(CLOCK_MONOTONIC) + 10 * USEC_PER_SEC;

        for (;;) {
                struct pollfd pfd = { .fd = fd, .events = POLLIN };
                ssize_t n;

                assert_true(now_usec(CLOCK_MONOTONIC) < deadline);
                if (poll(&pfd, 1, 100) <= 0)
                        continue;
                n = recv(fd, buf, size - 1, 0);
                assert_true(n > 0);
                buf[n] = '\0';
                return (size_t) n;
        }
}

/* journald's queue full (the test reads nothing until everything is submitted: the writer finds the
 * socket's queue full and waits in the kernel, mid-batch): everything arrives once, in order, and
 * nothing is counted as dropped. */
static void test_queue_of_journald_full(void **state) {
        char dir[] = "/tmp/pw-journal-writer.XXXXXX", path[128];
        unsigned n = 4 * JOURNAL_SEND_BATCH + 7;
        Journal *j = NULL;
        JournalStats s;
        int fd;

        fd = writer_at(dir, path, &j);
        submit_n(j, "full ", 0, n, true);
        journal_kick(j);
        receive(fd, "full ", 0, n);
        wait_drained(j, &s);
        assert_int_equal(s.forwarded, n);
        assert_int_equal(journal_stats_dropped(&s), 0);
        journal_free(j);
        assert_int_equal(close(fd), 0);
}

/* A batch with a datagram that cannot go (larger than any socket's send buffer can be: sendmmsg()
 * stops there) among others: every other entry arrives once, in order, the one that could not go is
 * counted by its reason (on this path, not journald's: there is no memfd fallback but to the real
 * journald), a summary follows, and journald is not taken for gone. */
static void test_partial_batch(void **state) {
        char dir[] = "/tmp/pw-journal-writer.XXXXXX", path[128], buf[4096];
        size_t huge_len = 17U << 20; /* beyond 2 x the 8 MiB SO_SNDBUF the writer asks for */
        _cleanup_(freep) char *huge = malloc(huge_len + 1);
        Journal *j = NULL;
        PwJournalEntry *e;
        JournalStats s;
        int fd;

        assert_non_null(huge);
        memset(huge, 'h', huge_len);
        huge[huge_len] = '\0';
        fd = writer_at(dir, path, &j);

        submit_n(j, "before ", 0, 5, true);
        assert_int_equal(pw_journal_entry_message(PW_MESSAGE_STARTED, 6, huge, NULL, &e), 0);
        assert_int_equal(journal_submit_deferred(j, e), 0);
        submit_n(j, "after ", 0, 5, true);
        journal_kick(j);
        receive(fd, "before ", 0, 5);
        receive(fd, "after ", 0, 5);
        (void) recv_one(fd, buf, sizeof(buf));
        assert_non_null(strstr(buf, "MESSAGE_ID=" PW_MESSAGE_NOT_FORWARDED "\n"));
        assert_non_null(strstr(buf, "\nPROCWATCH_NOT_FORWARDED=1\n"));
        assert_non_null(strstr(buf, "\nPROCWATCH_NOT_FORWARDED_UNAVAILABLE=1\n"));
        assert_non_null(strstr(buf, "\nPROCWATCH_FORWARDED=10\n"));
        wait_drained(j, &s);
        assert_int_equal(s.offered, 11);
        assert_int_equal(s.forwarded, 10);
        assert_int_equal(s.dropped[JOURNAL_DROP_UNAVAILABLE], 1);
        assert_int_equal(s.dropped[JOURNAL_DROP_QUEUE_FULL], 0);
        /* Counted once journald has taken it, a moment after the test received it. */
        for (usec_t deadline = now_usec(CLOCK_MONOTONIC) + 10 * USEC_PER_SEC; s.summaries == 0; journal_get_stats(j, &s)) {
                assert_true(now_usec(CLOCK_MONOTONIC) < deadline);
                (void) usleep(1000);
        }
        assert_int_equal(s.summaries, 1);

        /* Not marked unavailable: the next entries go at once. */
        submit_n(j, "next ", 0, 3, false);
        receive(fd, "next ", 0, 3);
        wait_drained(j, &s);
        assert_int_equal(s.forwarded, 13);
        assert_int_equal(journal_stats_dropped(&s), 1);
        journal_free(j);
        assert_int_equal(close(fd), 0);
}

/* Events through journal_submit_event(): snapshots taken into blocks the writer has sent and handed
 * back, many rounds over, and one too large for such a block between them: each arrives whole, once,
 * in order, built from what the record was when it was submitted (the record changes at once). */
static void test_events_recycled(void **state) {
        char dir[] = "/tmp/pw-journal-writer.XXXXXX", path[128], buf[8192], want[64];
        size_t argv_len = 3 * JOURNAL_POOL_BLOCK;
        _cleanup_(freep) PwStr *argv = malloc(sizeof(PwStr) + argv_len + 1);
        PwProcess p = { .pid = 1, .comm = "worker", .uncertain = PW_UNCERTAIN_START };
        Journal *j = NULL;
        JournalStats s;
        unsigned rounds = 3 * JOURNAL_POOL_MAX / 50, per = 50, pid = 1000;
        int fd;

        assert_non_null(argv);
        *argv = (PwStr){ .ref = 1, .len = argv_len };
        memset(argv->data, 'a', argv_len);
        argv->data[argv_len] = '\0';
        fd = writer_at(dir, path, &j);

        for (unsigned r = 0; r < rounds; r++) {
                for (unsigned i = 0; i < per; i++) {
                        PwEvent ev = { .kind = PW_EVENT_EXEC, .exec = { .pid = (pid_t) (pid + i), .tgid = (pid_t) (pid + i) } };
                        PwApplyResult res = { .process = &p };

                        p.pid = (pid_t) (pid + i);
                        /* One in the middle of the second round is too large for a block. */
                        p.argv = r == 1 && i == per / 2 ? argv : NULL;
                        assert_int_equal(journal_submit_event(j, &ev, &res, &p, NULL), 0);
                        p.pid = -1;
                }
                journal_kick(j);
                for (unsigned i = 0; i < per; i++) {
                        size_t n = recv_one(fd, buf, sizeof(buf));

                        snprintf(want, sizeof(want), "\nPROCWATCH_PID=%u\n", pid + i);
                        assert_non_null(strstr(buf, want));
                        snprintf(want, sizeof(want), "MESSAGE=exec %u worker", pid + i);
                        assert_memory_equal(buf, want, strlen(want));
                        assert_int_equal(buf[n - 1], '\n');
                        assert_int_equal(strstr(buf, "PROCWATCH_CMDLINE=") != NULL, r == 1 && i == per / 2);
                }
                pid += per;
        }
        wait_drained(j, &s);
        assert_int_equal(s.offered, rounds * per);
        assert_int_equal(s.forwarded, rounds * per);
        assert_int_equal(journal_stats_dropped(&s), 0);
        /* No record: refused, not counted. */
        assert_int_equal(journal_submit_event(j, &(PwEvent){ .kind = PW_EVENT_EXEC }, &(PwApplyResult){}, NULL, NULL),
                         -EINVAL);
        journal_get_stats(j, &s);
        assert_int_equal(s.offered, rounds * per);
        journal_free(j);
        assert_int_equal(close(fd), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_absent),
                cmocka_unit_test(test_queue_full),
                cmocka_unit_test(test_native_socket),
                cmocka_unit_test(test_queue_of_journald_full),
                cmocka_unit_test(test_partial_batch),
                cmocka_unit_test(test_events_recycled),
        };

        tc_init("journal-writer");

        return cmocka_run_group_tests(tests, NULL, NULL);
}
