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

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_absent),
                cmocka_unit_test(test_queue_full),
        };

        tc_init("journal-writer");

        return cmocka_run_group_tests(tests, NULL, NULL);
}
