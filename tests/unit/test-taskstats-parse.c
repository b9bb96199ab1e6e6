/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Tests of the taskstats decoder: datagrams captured from the real kernel (version 16), and the same
 * records cut and re-versioned as older and newer kernels send them, plus malformed ones. */
#include <errno.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <linux/taskstats.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "macro.h"
#include "taskstats-parse.h"
#include "test-cleanup.h"
#include "test-taskstats-parse-data.h"

#define FAMILY 31 /* the family id of the captures */

/* In a captured single record: nlmsghdr, genlmsghdr, AGGR_PID header, PID attribute, STATS header. */
#define OFF_STATS ((size_t) (NLMSG_HDRLEN + GENL_HDRLEN + NLA_HDRLEN + NLA_HDRLEN + 4 + NLA_HDRLEN))

static void put_u16(uint8_t *p, uint16_t v) {
        memcpy(p, &v, sizeof(v));
}

static void put_u32(uint8_t *p, uint32_t v) {
        memcpy(p, &v, sizeof(v));
}

static size_t put_attr(uint8_t *p, uint16_t type, const void *data, size_t len) {
        put_u16(p, (uint16_t) (NLA_HDRLEN + len));
        put_u16(p + 2, type);
        if (len)
                memcpy(p + NLA_HDRLEN, data, len);
        return NLA_ALIGN(NLA_HDRLEN + len);
}

/* Builds one record datagram: AGGR_PID {PID pid, STATS stats[0..len)} with version forced (0: as is),
 * and optional extra attributes before it (raw bytes). Returns its length. */
static size_t build(uint8_t *buf, uint32_t pid, const uint8_t *stats, size_t len, uint16_t version,
                    const uint8_t *extra, size_t extra_len) {
        uint8_t inner[1024], st[1024];
        size_t n = NLMSG_HDRLEN + GENL_HDRLEN, in = 0;

        memset(buf, 0, NLMSG_HDRLEN + GENL_HDRLEN);
        memcpy(st, stats, len);
        if (version && len >= 2)
                put_u16(st, version);
        in += put_attr(inner + in, TASKSTATS_TYPE_PID, &pid, 4);
        in += put_attr(inner + in, TASKSTATS_TYPE_STATS, st, len);
        if (extra_len) {
                memcpy(buf + n, extra, extra_len);
                n += extra_len;
        }
        n += put_attr(buf + n, TASKSTATS_TYPE_AGGR_PID, inner, in);
        put_u32(buf, (uint32_t) n);
        put_u16(buf + 4, FAMILY);
        buf[NLMSG_HDRLEN] = TASKSTATS_CMD_NEW;
        return n;
}

static int parse(const uint8_t *buf, size_t len, PwTsMsg *m, PwTsParseError *why) {
        size_t used = 0;
        int r = pw_taskstats_parse(buf, len, FAMILY, m, &used, why);

        assert_true(used <= len);
        return r;
}

static void test_captured_exit(void **state) {
        PwTsMsg m;
        PwTsParseError why;

        assert_int_equal(parse(ts_exit3, sizeof(ts_exit3), &m, &why), 0);
        assert_int_equal(m.kind, PW_TS_MSG_RECORD);
        assert_int_equal(m.task.version, 16);
        assert_int_equal(m.task.payload_len, PW_TS_SIZE_V16);
        assert_int_equal(m.task.exitcode, 3 << 8);
        assert_true(m.task.flag & PW_TS_AGROUP);
        assert_false(m.has_group);
        assert_int_equal(m.task.pid, m.task.tgid);
        assert_string_equal(m.task.comm, "work");
        assert_true(m.task.have & PW_TS_HAVE_BASIC);
        assert_true(m.task.have & PW_TS_HAVE_IRQ);
        assert_true(m.task.have & PW_TS_HAVE_DELAY_MAXMIN);
        assert_false(m.task.layout_untrusted);
        /* ~10 ms of CPU: exact and sampled are both there. */
        assert_true(m.task.cpu_run_virtual_total_ns > 1000000);
        assert_true(m.task.etime_usec >= m.task.cpu_run_virtual_total_ns / 1000 / 2);
        assert_true(m.task.hiwater_rss_kib > 0);
        assert_true(m.task.btime > 1600000000);
        assert_true(m.task.delay_max_ns[PW_TS_DELAY_CPU] >= m.task.delay_min_ns[PW_TS_DELAY_CPU]);
        (void) state;
}

static void test_captured_threads(void **state) {
        PwTsMsg m;
        PwTsParseError why;

        assert_int_equal(parse(ts_thread1, sizeof(ts_thread1), &m, &why), 0);
        assert_false(m.task.flag & PW_TS_AGROUP);
        assert_int_not_equal(m.task.pid, m.task.tgid);
        assert_false(m.has_group);

        assert_int_equal(parse(ts_threads_last, sizeof(ts_threads_last), &m, &why), 0);
        assert_true(m.task.flag & PW_TS_AGROUP);
        assert_int_equal(m.task.exitcode, 5 << 8);
        assert_true(m.has_group);
        assert_int_equal(m.group.version, 16);
        assert_int_equal(m.group.tgid, m.task.tgid);
        assert_int_equal(m.task.tgid, m.task.pid);

        /* Kernels that never stamp the thread-group record send version 0 (this one stamped it):
         * it is read with the per-task record's version. */
        {
                uint8_t copy[sizeof(ts_threads_last)];
                size_t off = OFF_STATS + PW_TS_SIZE_V16 + NLA_HDRLEN + NLA_HDRLEN + 4 + NLA_HDRLEN;

                memcpy(copy, ts_threads_last, sizeof(copy));
                assert_int_equal(copy[off], 16);
                put_u16(copy + off, 0);
                assert_int_equal(parse(copy, sizeof(copy), &m, &why), 0);
                assert_int_equal(m.group.version_sent, 0);
                assert_int_equal(m.group.version, 16);
                assert_true(m.group.have & PW_TS_HAVE_DELAY_MAXMIN);
        }
        (void) state;
}

static void test_captured_killed(void **state) {
        PwTsMsg m;
        PwTsParseError why;

        assert_int_equal(parse(ts_killed, sizeof(ts_killed), &m, &why), 0);
        assert_int_equal(m.task.exitcode, 9);
        assert_true(m.task.flag & PW_TS_AXSIG);
        assert_true(m.task.flag & PW_TS_AGROUP);
        (void) state;
}

/* The same record as each kernel generation would send it. */
static void test_versions_by_length(void **state) {
        static const struct {
                uint16_t version;
                size_t len;
                uint32_t have, have_not;
                bool untrusted;
        } cases[] = {
                { 13, PW_TS_SIZE_V13, PW_TS_HAVE_WPCOPY | PW_TS_HAVE_TGID | PW_TS_HAVE_BTIME64, PW_TS_HAVE_IRQ, false },
                { 14, PW_TS_SIZE_V14, PW_TS_HAVE_IRQ, PW_TS_HAVE_DELAY_MAXMIN, false },
                { 16, PW_TS_SIZE_V16, PW_TS_HAVE_DELAY_MAXMIN, 0, false },
                /* A newer kernel: longer, decoded as far as known. */
                { 17, PW_TS_SIZE_V16 + 64, PW_TS_HAVE_DELAY_MAXMIN | PW_TS_HAVE_BASIC, 0, false },
                /* Withdrawn v15: nothing past cpu_delay_total is believed. */
                { 15, 560, 0, PW_TS_HAVE_BASIC | PW_TS_HAVE_DELAY, true },
                /* A v16 record cut at v13's size: fields must end inside the payload. */
                { 16, PW_TS_SIZE_V13, PW_TS_HAVE_WPCOPY, PW_TS_HAVE_IRQ | PW_TS_HAVE_DELAY_MAXMIN, false },
                /* Version 12 ends before wpcopy. */
                { 12, 400, PW_TS_HAVE_TGID, PW_TS_HAVE_WPCOPY, false },
                /* Version 1: delays only. */
                { 1, 80, PW_TS_HAVE_DELAY, PW_TS_HAVE_BASIC, false },
                /* Only the version field. */
                { 16, 2, 0, PW_TS_HAVE_DELAY | PW_TS_HAVE_BASIC, false },
        };
        uint8_t stats[1024] = {}, buf[2048];

        memcpy(stats, ts_exit3 + OFF_STATS, PW_TS_SIZE_V16);
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                size_t n = build(buf, 4242, stats, cases[i].len, cases[i].version, NULL, 0);
                PwTsParseError why;
                PwTsMsg m;

                assert_int_equal(parse(buf, n, &m, &why), 0);
                assert_int_equal(m.task.version, cases[i].version);
                assert_int_equal(m.task.payload_len, cases[i].len);
                assert_int_equal(m.task.have & cases[i].have, cases[i].have);
                assert_int_equal(m.task.have & cases[i].have_not, 0);
                assert_int_equal(m.task.layout_untrusted, cases[i].untrusted);
                assert_int_equal(m.task.pid, 4242);
                if (cases[i].len >= 8)
                        assert_int_equal(m.task.exitcode, 3 << 8);
                if (!(m.task.have & PW_TS_HAVE_BASIC)) {
                        assert_int_equal(m.task.utime_usec, 0);
                        assert_int_equal(m.task.comm[0], '\0');
                }
                if (!(m.task.have & PW_TS_HAVE_TGID))
                        assert_int_equal(m.task.tgid, 0);
        }
        (void) state;
}

static void test_skips_null_and_unknown(void **state) {
        uint8_t extra[64], buf[2048];
        size_t e = 0, n;
        uint32_t junk = 0xdeadbeef;
        PwTsParseError why;
        PwTsMsg m;

        e += put_attr(extra + e, TASKSTATS_TYPE_NULL, NULL, 0);
        e += put_attr(extra + e, 99, &junk, sizeof(junk));
        n = build(buf, 77, ts_exit3 + OFF_STATS, PW_TS_SIZE_V16, 0, extra, e);
        assert_int_equal(parse(buf, n, &m, &why), 0);
        assert_int_equal(m.kind, PW_TS_MSG_RECORD);
        assert_int_equal(m.task.pid, 77);
        (void) state;
}

static void test_malformed(void **state) {
        uint8_t buf[2048];
        size_t n;
        PwTsParseError why;
        PwTsMsg m;

        /* Shorter than a netlink header; a length past the buffer. */
        assert_int_equal(parse(ts_exit3, 10, &m, &why), -EBADMSG);
        assert_int_equal(why, PW_TS_PARSE_TRUNCATED);
        assert_int_equal(parse(ts_exit3, sizeof(ts_exit3) - 4, &m, &why), -EBADMSG);
        assert_int_equal(why, PW_TS_PARSE_TRUNCATED);

        /* An attribute that claims more than its container. */
        memcpy(buf, ts_exit3, sizeof(ts_exit3));
        put_u16(buf + NLMSG_HDRLEN + GENL_HDRLEN, 0x7fff);
        assert_int_equal(parse(buf, sizeof(ts_exit3), &m, &why), -EBADMSG);
        assert_int_equal(why, PW_TS_PARSE_BAD_ATTR);

        /* A per-task record of version 0. */
        n = build(buf, 1, ts_exit3 + OFF_STATS, PW_TS_SIZE_V16, 0, NULL, 0);
        put_u16(buf + OFF_STATS, 0);
        assert_int_equal(parse(buf, n, &m, &why), -EBADMSG);
        assert_int_equal(why, PW_TS_PARSE_BAD_VERSION);

        /* A STATS of one byte. */
        n = build(buf, 1, ts_exit3 + OFF_STATS, 1, 0, NULL, 0);
        assert_int_equal(parse(buf, n, &m, &why), -EBADMSG);
        assert_int_equal(why, PW_TS_PARSE_BAD_AGGR);

        /* TASKSTATS_CMD_NEW with no AGGR_PID. */
        memset(buf, 0, sizeof(buf));
        put_u32(buf, NLMSG_HDRLEN + GENL_HDRLEN);
        put_u16(buf + 4, FAMILY);
        buf[NLMSG_HDRLEN] = TASKSTATS_CMD_NEW;
        assert_int_equal(parse(buf, NLMSG_HDRLEN + GENL_HDRLEN, &m, &why), -EBADMSG);
        assert_int_equal(why, PW_TS_PARSE_NO_RECORD);

        /* Another family's message is skipped, not rejected. */
        put_u16(buf + 4, FAMILY + 1);
        assert_int_equal(parse(buf, NLMSG_HDRLEN + GENL_HDRLEN, &m, &why), 0);
        assert_int_equal(m.kind, PW_TS_MSG_OTHER);
        for (unsigned e = 0; e < _PW_TS_PARSE_ERROR_MAX; e++)
                assert_non_null(pw_ts_parse_error_to_string((PwTsParseError) e));
        (void) state;
}

static void test_ack(void **state) {
        uint8_t buf[64] = {};
        struct nlmsgerr e = { .error = -EPERM, .msg = { .nlmsg_seq = 7 } };
        PwTsParseError why;
        PwTsMsg m;

        put_u32(buf, NLMSG_HDRLEN + sizeof(e));
        put_u16(buf + 4, NLMSG_ERROR);
        memcpy(buf + NLMSG_HDRLEN, &e, sizeof(e));
        assert_int_equal(parse(buf, NLMSG_HDRLEN + sizeof(e), &m, &why), 0);
        assert_int_equal(m.kind, PW_TS_MSG_ACK);
        assert_int_equal(m.error, -EPERM);
        assert_int_equal(m.acked_seq, 7);
        (void) state;
}

static void test_two_in_one(void **state) {
        uint8_t buf[4096];
        size_t used = 0, a = sizeof(ts_exit3);
        PwTsParseError why;
        PwTsMsg m;

        memcpy(buf, ts_exit3, a);
        memcpy(buf + a, ts_killed, sizeof(ts_killed));
        assert_int_equal(pw_taskstats_parse(buf, a + sizeof(ts_killed), FAMILY, &m, &used, &why), 0);
        assert_int_equal(used, a);
        assert_int_equal(pw_taskstats_parse(buf + used, sizeof(ts_killed), FAMILY, &m, &used, &why), 0);
        assert_int_equal(m.task.exitcode, 9);
        (void) state;
}

static void test_family_reply(void **state) {
        uint8_t buf[128] = {};
        uint16_t id = 0, want = 31;
        size_t n = NLMSG_HDRLEN + GENL_HDRLEN;
        struct nlmsgerr e = { .error = -ENOENT };

        n += put_attr(buf + n, CTRL_ATTR_FAMILY_NAME, "TASKSTATS", 10);
        n += put_attr(buf + n, CTRL_ATTR_FAMILY_ID, &want, 2);
        put_u32(buf, (uint32_t) n);
        put_u16(buf + 4, GENL_ID_CTRL);
        buf[NLMSG_HDRLEN] = CTRL_CMD_NEWFAMILY;
        assert_int_equal(pw_genl_family_id_parse(buf, n, &id), 0);
        assert_int_equal(id, 31);
        assert_int_equal(pw_genl_family_id_parse(buf, n - 1, &id), -EBADMSG);

        memset(buf, 0, sizeof(buf));
        put_u32(buf, NLMSG_HDRLEN + sizeof(e));
        put_u16(buf + 4, NLMSG_ERROR);
        memcpy(buf + NLMSG_HDRLEN, &e, sizeof(e));
        assert_int_equal(pw_genl_family_id_parse(buf, NLMSG_HDRLEN + sizeof(e), &id), -ENOENT);
        (void) state;
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_captured_exit),
                cmocka_unit_test(test_captured_threads),
                cmocka_unit_test(test_captured_killed),
                cmocka_unit_test(test_versions_by_length),
                cmocka_unit_test(test_skips_null_and_unknown),
                cmocka_unit_test(test_malformed),
                cmocka_unit_test(test_ack),
                cmocka_unit_test(test_two_in_one),
                cmocka_unit_test(test_family_reply),
        };

        tc_init("taskstats-parse");
        return cmocka_run_group_tests(tests, NULL, NULL);
}
