/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Tests of per-CPU sequence-gap accounting. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "cnproc-parse.h"
#include "macro.h"
#include "seqtrack.h"
#include "test-cleanup.h"

static SeqTrack *track_new(uint32_t ncpus) {
        SeqTrack *t = NULL;

        assert_int_equal(seqtrack_new(&t, ncpus), 0);
        assert_non_null(t);
        assert_int_equal(t->ncpus, ncpus);
        return t;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(SeqTrack *, seqtrack_free);

static void assert_totals(const SeqTrack *t, uint64_t lost, uint64_t gaps, uint64_t backwards) {
        assert_int_equal(t->lost, lost);
        assert_int_equal(t->gaps, gaps);
        assert_int_equal(t->backwards, backwards);
}

static void assert_cpu(const SeqTrack *t, uint32_t cpu, uint64_t lost, uint64_t gaps, uint64_t backwards) {
        assert_int_equal(t->cpu[cpu].lost, lost);
        assert_int_equal(t->cpu[cpu].gaps, gaps);
        assert_int_equal(t->cpu[cpu].backwards, backwards);
}

static void test_new_limits(void **state) {
        SeqTrack *t = NULL;

        assert_int_equal(seqtrack_new(&t, 0), -EINVAL);
        assert_null(t);
        assert_int_equal(seqtrack_new(&t, 65537), -EINVAL);
        assert_null(t);
        assert_int_equal(seqtrack_new(NULL, 1), -EINVAL);

        assert_int_equal(seqtrack_new(&t, 65536), 0);
        assert_non_null(t);
        assert_int_equal(seqtrack_observe(t, 65535, 1), 0);
        assert_int_equal(seqtrack_observe(t, 65536, 1), -ERANGE);
        assert_null(seqtrack_free(t));
        assert_null(seqtrack_free(NULL));
}

static void test_first_is_baseline(void **state) {
        _cleanup_(seqtrack_freep) SeqTrack *t = track_new(2);

        /* Whatever number a CPU starts at, nothing before it counts as lost. */
        assert_int_equal(seqtrack_observe(t, 0, 1000000), 0);
        assert_int_equal(seqtrack_observe(t, 1, 0xfffffff0U), 0);
        assert_true(t->cpu[0].seen);
        assert_true(t->cpu[1].seen);
        assert_int_equal(t->cpu[0].next, 1000001);
        assert_int_equal(t->cpu[1].next, 0xfffffff1U);
        assert_totals(t, 0, 0, 0);
}

static void test_consecutive(void **state) {
        _cleanup_(seqtrack_freep) SeqTrack *t = track_new(1);

        for (uint32_t seq = 500; seq < 1500; seq++)
                assert_int_equal(seqtrack_observe(t, 0, seq), 0);
        assert_totals(t, 0, 0, 0);
        assert_cpu(t, 0, 0, 0, 0);
}

static void test_gap_counts_missing(void **state) {
        _cleanup_(seqtrack_freep) SeqTrack *t = track_new(2);

        assert_int_equal(seqtrack_observe(t, 1, 1000), 0);
        /* 1001..1004 never came. */
        assert_int_equal(seqtrack_observe(t, 1, 1005), 4);
        assert_cpu(t, 1, 4, 1, 0);
        assert_totals(t, 4, 1, 0);
        assert_int_equal(seqtrack_observe(t, 1, 1006), 0);
        /* A single missing number. */
        assert_int_equal(seqtrack_observe(t, 1, 1008), 1);
        assert_int_equal(seqtrack_observe(t, 1, 1100), 91);
        assert_cpu(t, 1, 96, 3, 0);
        assert_totals(t, 96, 3, 0);
        assert_cpu(t, 0, 0, 0, 0);
}

static void test_wrap_is_not_loss(void **state) {
        _cleanup_(seqtrack_freep) SeqTrack *t = track_new(1);

        assert_int_equal(seqtrack_observe(t, 0, 0xfffffffeU), 0);
        assert_int_equal(seqtrack_observe(t, 0, 0xffffffffU), 0);
        assert_int_equal(seqtrack_observe(t, 0, 0), 0);
        assert_int_equal(seqtrack_observe(t, 0, 1), 0);
        assert_totals(t, 0, 0, 0);
}

static void test_gap_across_wrap(void **state) {
        _cleanup_(seqtrack_freep) SeqTrack *t = track_new(1);

        assert_int_equal(seqtrack_observe(t, 0, 0xfffffffdU), 0);
        /* 0xfffffffe, 0xffffffff, 0, 1 never came. */
        assert_int_equal(seqtrack_observe(t, 0, 2), 4);
        assert_totals(t, 4, 1, 0);
        assert_int_equal(seqtrack_observe(t, 0, 3), 0);

        /* A stale number rebases at the very top; then 0 goes missing across the wrap. */
        assert_int_equal(seqtrack_observe(t, 0, 0xffffffffU), 0);
        assert_int_equal(t->backwards, 1);
        assert_int_equal(seqtrack_observe(t, 0, 1), 1);
        assert_totals(t, 5, 2, 1);
}

static void test_backwards(void **state) {
        _cleanup_(seqtrack_freep) SeqTrack *t = track_new(2);

        assert_int_equal(seqtrack_observe(t, 0, 100), 0);
        assert_int_equal(seqtrack_observe(t, 0, 101), 0);
        assert_int_equal(seqtrack_observe(t, 0, 50), 0);
        assert_cpu(t, 0, 0, 0, 1);
        assert_totals(t, 0, 0, 1);
        /* The stale number is the new baseline: what follows it is not a gap. */
        assert_int_equal(seqtrack_observe(t, 0, 51), 0);
        assert_totals(t, 0, 0, 1);

        /* A repeat is behind by one. */
        assert_int_equal(seqtrack_observe(t, 0, 51), 0);
        assert_cpu(t, 0, 0, 0, 2);

        /* Just under half the number space ahead is a gap; just over it is behind. */
        assert_int_equal(seqtrack_observe(t, 1, 0), 0);
        assert_int_equal(seqtrack_observe(t, 1, 0x80000000U), 0x7fffffff);
        assert_cpu(t, 1, 0x7fffffff, 1, 0);
        /* Expected 0x80000001: 2 is 0x80000001 ahead of it, so behind. */
        assert_int_equal(seqtrack_observe(t, 1, 2), 0);
        assert_cpu(t, 1, 0x7fffffff, 1, 1);
        assert_totals(t, 0x7fffffff, 1, 3);
}

static void test_cpu_out_of_range(void **state) {
        _cleanup_(seqtrack_freep) SeqTrack *t = track_new(4);

        assert_int_equal(seqtrack_observe(t, 4, 1), -ERANGE);
        assert_int_equal(seqtrack_observe(t, 1000, 1), -ERANGE);
        /* An old kernel's ack: the caller must not feed it, and gets a refusal if it does. */
        assert_int_equal(seqtrack_observe(t, PW_CPU_NONE, 1), -ERANGE);
        for (uint32_t cpu = 0; cpu < 4; cpu++)
                assert_false(t->cpu[cpu].seen);
        assert_totals(t, 0, 0, 0);
        assert_int_equal(seqtrack_observe(t, 3, 1), 0);
        assert_true(t->cpu[3].seen);
}

static void test_cpus_independent(void **state) {
        _cleanup_(seqtrack_freep) SeqTrack *t = track_new(3);

        /* Interleaved as they arrive; each CPU's numbers run on their own. */
        assert_int_equal(seqtrack_observe(t, 0, 10), 0);
        assert_int_equal(seqtrack_observe(t, 1, 5000), 0);
        assert_int_equal(seqtrack_observe(t, 0, 11), 0);
        assert_int_equal(seqtrack_observe(t, 2, 7), 0);
        assert_int_equal(seqtrack_observe(t, 1, 5001), 0);
        assert_int_equal(seqtrack_observe(t, 0, 12), 0);
        assert_totals(t, 0, 0, 0);

        assert_int_equal(seqtrack_observe(t, 1, 5011), 9);
        assert_int_equal(seqtrack_observe(t, 2, 10), 2);
        assert_int_equal(seqtrack_observe(t, 0, 13), 0);
        assert_int_equal(seqtrack_observe(t, 2, 11), 0);
        /* A number another CPU used is not a repeat here. */
        assert_int_equal(seqtrack_observe(t, 0, 14), 0);

        assert_cpu(t, 0, 0, 0, 0);
        assert_cpu(t, 1, 9, 1, 0);
        assert_cpu(t, 2, 2, 1, 0);
        assert_totals(t, 11, 2, 0);
}

static void test_reset_baselines(void **state) {
        _cleanup_(seqtrack_freep) SeqTrack *t = track_new(2);

        assert_int_equal(seqtrack_observe(t, 0, 10), 0);
        assert_int_equal(seqtrack_observe(t, 0, 13), 2);
        assert_int_equal(seqtrack_observe(t, 1, 100), 0);

        seqtrack_reset_baselines(t);
        assert_false(t->cpu[0].seen);
        assert_false(t->cpu[1].seen);

        /* Far ahead and behind of the old numbers: both are fresh baselines now. */
        assert_int_equal(seqtrack_observe(t, 0, 100000), 0);
        assert_int_equal(seqtrack_observe(t, 1, 5), 0);
        assert_int_equal(seqtrack_observe(t, 0, 100001), 0);
        assert_int_equal(seqtrack_observe(t, 1, 6), 0);
        /* What was counted before the reset stays counted. */
        assert_cpu(t, 0, 2, 1, 0);
        assert_totals(t, 2, 1, 0);

        assert_int_equal(seqtrack_observe(t, 1, 9), 2);
        assert_totals(t, 4, 2, 0);
}

typedef struct Arrival {
        PwEventKind kind;
        uint32_t cpu, seq;
} Arrival;

/* A subscription as a current kernel delivers it: the ack takes the next number of its CPU's counter,
 * between events. */
static const Arrival stream_with_ack[] = {
        { PW_EVENT_FORK, 0, 40 },
        { PW_EVENT_EXEC, 1, 900 },
        { PW_EVENT_NONE, 0, 41 },
        { PW_EVENT_EXIT, 0, 42 },
        { PW_EVENT_FORK, 1, 901 },
        { PW_EVENT_NONE, 1, 902 },
        { PW_EVENT_EXEC, 1, 903 },
        { PW_EVENT_EXIT, 0, 43 },
};

static void test_ack_takes_a_number(void **state) {
        _cleanup_(seqtrack_freep) SeqTrack *all = track_new(2), *events_only = track_new(2);

        for (size_t i = 0; i < ELEMENTSOF(stream_with_ack); i++) {
                const Arrival *a = &stream_with_ack[i];

                assert_int_equal(seqtrack_observe(all, a->cpu, a->seq), 0);
                if (a->kind != PW_EVENT_NONE)
                        (void) seqtrack_observe(events_only, a->cpu, a->seq);
        }
        assert_totals(all, 0, 0, 0);

        /* Leaving the acks out turns each into a phantom lost event. */
        assert_totals(events_only, 2, 2, 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_new_limits),
                cmocka_unit_test(test_first_is_baseline),
                cmocka_unit_test(test_consecutive),
                cmocka_unit_test(test_gap_counts_missing),
                cmocka_unit_test(test_wrap_is_not_loss),
                cmocka_unit_test(test_gap_across_wrap),
                cmocka_unit_test(test_backwards),
                cmocka_unit_test(test_cpu_out_of_range),
                cmocka_unit_test(test_cpus_independent),
                cmocka_unit_test(test_reset_baselines),
                cmocka_unit_test(test_ack_takes_a_number),
        };

        tc_init("seqtrack");

        return cmocka_run_group_tests(tests, NULL, NULL);
}
