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

        assert_int_equal(tc_mkdtemp(dir), 0);
        snprintf(path, sizeof(path), "%s/socket", dir);
        fd = bind_dgram(path);
        assert_int_equal(journal_new(&j, path), 0);

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

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_absent),
                cmocka_unit_test(test_queue_full),
                cmocka_unit_test(test_native_socket),
        };

        tc_init("journal-writer");

        return cmocka_run_group_tests(tests, NULL, NULL);
}
