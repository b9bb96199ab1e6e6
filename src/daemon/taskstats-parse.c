/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The taskstats decoder: by version and length, never by the size of a header's struct. */
#include <errno.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <linux/taskstats.h>
#include <stddef.h>
#include <string.h>

#include "macro.h"
#include "taskstats-parse.h"

/* Offsets up to version 13 come from the installed header (the layout is ABI); these are checked so
 * that a different header cannot shift them silently. */
_Static_assert(offsetof(struct taskstats, cpu_count) == 16, "taskstats layout");
_Static_assert(offsetof(struct taskstats, wpcopy_delay_total) == 408, "taskstats layout");
_Static_assert(TS_COMM_LEN == 32, "taskstats comm length");

/* Version 14 and 16 fields, missing from older headers. */
#define OFF_IRQ_COUNT 416U
#define OFF_IRQ_DELAY_TOTAL 424U
#define OFF_DELAY_MAXMIN 432U /* 8 pairs of u64 (max, min), in PwTsDelay order */

#define OFF(f) offsetof(struct taskstats, f)
#define END(f) (offsetof(struct taskstats, f) + sizeof(((struct taskstats *) 0)->f))

typedef struct Payload {
        uint8_t b[PW_TS_SIZE_KNOWN];
        size_t len;
} Payload;

static bool ends_inside(const Payload *p, size_t end) {
        return end <= p->len;
}

static uint64_t u64_at(const Payload *p, size_t off) {
        uint64_t v;
        memcpy(&v, p->b + off, sizeof(v));
        return v;
}

static uint32_t u32_at(const Payload *p, size_t off) {
        uint32_t v;
        memcpy(&v, p->b + off, sizeof(v));
        return v;
}

int pw_taskstats_decode(const uint8_t *payload, size_t len, uint16_t version_override, PwTaskstats *ret) {
        Payload p = {};
        PwTaskstats t = {};
        uint16_t v;

        if (len < sizeof(uint16_t))
                return -EBADMSG;
        p.len = MIN(len, sizeof(p.b));
        memcpy(p.b, payload, p.len);
        memcpy(&t.version_sent, p.b, sizeof(uint16_t));
        v = t.version_sent == 0 ? version_override : t.version_sent;
        if (v == 0)
                return -EBADMSG;
        t.version = v;
        t.payload_len = (uint32_t) MIN(len, (size_t) UINT32_MAX);

        if (ends_inside(&p, END(ac_exitcode)))
                t.exitcode = u32_at(&p, OFF(ac_exitcode));
        if (ends_inside(&p, END(ac_nice))) {
                t.flag = p.b[OFF(ac_flag)];
                t.nice = p.b[OFF(ac_nice)];
        }
        /* Version 1: delays and exact run times. */
        if (ends_inside(&p, END(cpu_delay_total))) {
                t.delay_count[PW_TS_DELAY_CPU] = u64_at(&p, OFF(cpu_count));
                t.delay_total_ns[PW_TS_DELAY_CPU] = u64_at(&p, OFF(cpu_delay_total));
        }
        if (v == 15) {
                /* Withdrawn: its max/min fields sat in the middle; nothing further is where we look. */
                t.layout_untrusted = true;
                *ret = t;
                return 0;
        }
        if (ends_inside(&p, END(cpu_run_virtual_total))) {
                t.have |= PW_TS_HAVE_DELAY;
                t.delay_count[PW_TS_DELAY_BLKIO] = u64_at(&p, OFF(blkio_count));
                t.delay_total_ns[PW_TS_DELAY_BLKIO] = u64_at(&p, OFF(blkio_delay_total));
                t.delay_count[PW_TS_DELAY_SWAPIN] = u64_at(&p, OFF(swapin_count));
                t.delay_total_ns[PW_TS_DELAY_SWAPIN] = u64_at(&p, OFF(swapin_delay_total));
                t.cpu_run_real_total_ns = u64_at(&p, OFF(cpu_run_real_total));
                t.cpu_run_virtual_total_ns = u64_at(&p, OFF(cpu_run_virtual_total));
        }
        if (v >= 2 && ends_inside(&p, END(ac_majflt))) {
                t.have |= PW_TS_HAVE_BASIC;
                memcpy(t.comm, p.b + OFF(ac_comm), TS_COMM_LEN);
                t.comm[TS_COMM_LEN] = '\0';
                t.uid = u32_at(&p, OFF(ac_uid));
                t.gid = u32_at(&p, OFF(ac_gid));
                t.pid = u32_at(&p, OFF(ac_pid));
                t.ppid = u32_at(&p, OFF(ac_ppid));
                t.btime = u32_at(&p, OFF(ac_btime));
                t.etime_usec = u64_at(&p, OFF(ac_etime));
                t.utime_usec = u64_at(&p, OFF(ac_utime));
                t.stime_usec = u64_at(&p, OFF(ac_stime));
                t.minflt = u64_at(&p, OFF(ac_minflt));
                t.majflt = u64_at(&p, OFF(ac_majflt));
        }
        if (v >= 2 && ends_inside(&p, END(write_syscalls))) {
                t.have |= PW_TS_HAVE_XACCT;
                t.coremem = u64_at(&p, OFF(coremem));
                t.virtmem = u64_at(&p, OFF(virtmem));
                t.hiwater_rss_kib = u64_at(&p, OFF(hiwater_rss));
                t.hiwater_vm_kib = u64_at(&p, OFF(hiwater_vm));
                t.read_char = u64_at(&p, OFF(read_char));
                t.write_char = u64_at(&p, OFF(write_char));
                t.read_syscalls = u64_at(&p, OFF(read_syscalls));
                t.write_syscalls = u64_at(&p, OFF(write_syscalls));
        }
        if (v >= 2 && ends_inside(&p, END(cancelled_write_bytes))) {
                t.have |= PW_TS_HAVE_IO;
                t.read_bytes = u64_at(&p, OFF(read_bytes));
                t.write_bytes = u64_at(&p, OFF(write_bytes));
                t.cancelled_write_bytes = u64_at(&p, OFF(cancelled_write_bytes));
        }
        if (v >= 2 && ends_inside(&p, END(nivcsw))) {
                t.have |= PW_TS_HAVE_CTXSW;
                t.nvcsw = u64_at(&p, OFF(nvcsw));
                t.nivcsw = u64_at(&p, OFF(nivcsw));
        }
        if (v >= 2 && ends_inside(&p, END(freepages_delay_total))) {
                t.have |= PW_TS_HAVE_FREEPAGES;
                t.delay_count[PW_TS_DELAY_FREEPAGES] = u64_at(&p, OFF(freepages_count));
                t.delay_total_ns[PW_TS_DELAY_FREEPAGES] = u64_at(&p, OFF(freepages_delay_total));
        }
        if (v >= 9 && ends_inside(&p, END(thrashing_delay_total))) {
                t.have |= PW_TS_HAVE_THRASHING;
                t.delay_count[PW_TS_DELAY_THRASHING] = u64_at(&p, OFF(thrashing_count));
                t.delay_total_ns[PW_TS_DELAY_THRASHING] = u64_at(&p, OFF(thrashing_delay_total));
        }
        if (v >= 10 && ends_inside(&p, END(ac_btime64))) {
                t.have |= PW_TS_HAVE_BTIME64;
                t.btime = u64_at(&p, OFF(ac_btime64));
        }
        if (v >= 11 && ends_inside(&p, END(compact_delay_total))) {
                t.have |= PW_TS_HAVE_COMPACT;
                t.delay_count[PW_TS_DELAY_COMPACT] = u64_at(&p, OFF(compact_count));
                t.delay_total_ns[PW_TS_DELAY_COMPACT] = u64_at(&p, OFF(compact_delay_total));
        }
        if (v >= 12 && ends_inside(&p, END(ac_exe_inode))) {
                t.have |= PW_TS_HAVE_TGID;
                t.tgid = u32_at(&p, OFF(ac_tgid));
                t.tgetime_usec = u64_at(&p, OFF(ac_tgetime));
                t.exe_dev = u64_at(&p, OFF(ac_exe_dev));
                t.exe_inode = u64_at(&p, OFF(ac_exe_inode));
        }
        if (v >= 13 && ends_inside(&p, END(wpcopy_delay_total))) {
                t.have |= PW_TS_HAVE_WPCOPY;
                t.delay_count[PW_TS_DELAY_WPCOPY] = u64_at(&p, OFF(wpcopy_count));
                t.delay_total_ns[PW_TS_DELAY_WPCOPY] = u64_at(&p, OFF(wpcopy_delay_total));
        }
        if (v >= 14 && ends_inside(&p, OFF_IRQ_DELAY_TOTAL + 8)) {
                t.have |= PW_TS_HAVE_IRQ;
                t.delay_count[PW_TS_DELAY_IRQ] = u64_at(&p, OFF_IRQ_COUNT);
                t.delay_total_ns[PW_TS_DELAY_IRQ] = u64_at(&p, OFF_IRQ_DELAY_TOTAL);
        }
        if (v >= 16 && ends_inside(&p, OFF_DELAY_MAXMIN + 16 * _PW_TS_DELAY_MAX)) {
                t.have |= PW_TS_HAVE_DELAY_MAXMIN;
                for (unsigned d = 0; d < _PW_TS_DELAY_MAX; d++) {
                        t.delay_max_ns[d] = u64_at(&p, OFF_DELAY_MAXMIN + 16 * d);
                        t.delay_min_ns[d] = u64_at(&p, OFF_DELAY_MAXMIN + 16 * d + 8);
                }
        }
        *ret = t;
        return 0;
}

/* Walks the attributes in [buf, buf+len): calls back with type and payload; false on a bad length. */
typedef struct Attr {
        uint16_t type;
        const uint8_t *data;
        size_t len;
} Attr;

static bool attr_next(const uint8_t **pos, size_t *left, Attr *a) {
        struct nlattr h;
        size_t step;

        if (*left < NLA_HDRLEN)
                return false;
        memcpy(&h, *pos, sizeof(h));
        if (h.nla_len < NLA_HDRLEN || h.nla_len > *left)
                return false;
        a->type = h.nla_type & NLA_TYPE_MASK;
        a->data = *pos + NLA_HDRLEN;
        a->len = h.nla_len - NLA_HDRLEN;
        step = MIN((size_t) NLA_ALIGN(h.nla_len), *left);
        *pos += step;
        *left -= step;
        return true;
}

/* AGGR_PID or AGGR_TGID: {PID or TGID u32, STATS}. */
static int parse_aggr(const uint8_t *data, size_t len, uint16_t id_type, uint16_t version_override,
                      uint32_t *id, PwTaskstats *stats, PwTsParseError *why) {
        bool have_id = false, have_stats = false;
        Attr a;

        while (len > 0) {
                if (!attr_next(&data, &len, &a)) {
                        *why = PW_TS_PARSE_BAD_ATTR;
                        return -EBADMSG;
                }
                if (a.type == id_type) {
                        if (a.len != sizeof(uint32_t)) {
                                *why = PW_TS_PARSE_BAD_AGGR;
                                return -EBADMSG;
                        }
                        memcpy(id, a.data, sizeof(uint32_t));
                        have_id = true;
                } else if (a.type == TASKSTATS_TYPE_STATS) {
                        if (pw_taskstats_decode(a.data, a.len, version_override, stats) < 0) {
                                *why = version_override == 0 && a.len >= 2 ? PW_TS_PARSE_BAD_VERSION
                                                                          : PW_TS_PARSE_BAD_AGGR;
                                return -EBADMSG;
                        }
                        have_stats = true;
                }
                /* TASKSTATS_TYPE_NULL (padding) and types we do not know: skipped. */
        }
        if (!have_id || !have_stats) {
                *why = PW_TS_PARSE_BAD_AGGR;
                return -EBADMSG;
        }
        return 0;
}

int pw_taskstats_parse(const uint8_t *buf, size_t len, uint16_t family, PwTsMsg *ret, size_t *consumed,
                       PwTsParseError *why) {
        struct nlmsghdr nlh;
        const uint8_t *pos, *tgid_data = NULL;
        size_t left, tgid_len = 0;
        bool have_pid = false;
        PwTsMsg m = {};
        uint32_t id;
        Attr a;

        *consumed = 0;
        if (len < NLMSG_HDRLEN) {
                *why = PW_TS_PARSE_TRUNCATED;
                return -EBADMSG;
        }
        memcpy(&nlh, buf, sizeof(nlh));
        if (nlh.nlmsg_len < NLMSG_HDRLEN || nlh.nlmsg_len > len) {
                *why = PW_TS_PARSE_TRUNCATED;
                return -EBADMSG;
        }
        *consumed = MIN((size_t) NLMSG_ALIGN(nlh.nlmsg_len), len);
        m.seq = nlh.nlmsg_seq;

        if (nlh.nlmsg_type == NLMSG_ERROR) {
                struct nlmsgerr e;

                if (nlh.nlmsg_len < NLMSG_HDRLEN + sizeof(int32_t) + sizeof(struct nlmsghdr)) {
                        *why = PW_TS_PARSE_TRUNCATED;
                        return -EBADMSG;
                }
                memcpy(&e, buf + NLMSG_HDRLEN, sizeof(e));
                m.kind = PW_TS_MSG_ACK;
                m.error = e.error > 0 ? -e.error : e.error;
                m.acked_seq = e.msg.nlmsg_seq;
                *ret = m;
                return 0;
        }
        if (nlh.nlmsg_type != family || family == 0) {
                m.kind = PW_TS_MSG_OTHER;
                *ret = m;
                return 0;
        }
        if (nlh.nlmsg_len < NLMSG_HDRLEN + GENL_HDRLEN) {
                *why = PW_TS_PARSE_TRUNCATED;
                return -EBADMSG;
        }
        if (buf[NLMSG_HDRLEN] != TASKSTATS_CMD_NEW) {
                m.kind = PW_TS_MSG_OTHER;
                *ret = m;
                return 0;
        }

        pos = buf + NLMSG_HDRLEN + GENL_HDRLEN;
        left = nlh.nlmsg_len - NLMSG_HDRLEN - GENL_HDRLEN;
        while (left > 0) {
                if (!attr_next(&pos, &left, &a)) {
                        *why = PW_TS_PARSE_BAD_ATTR;
                        return -EBADMSG;
                }
                if (a.type == TASKSTATS_TYPE_AGGR_PID) {
                        if (parse_aggr(a.data, a.len, TASKSTATS_TYPE_PID, 0, &id, &m.task, why) < 0)
                                return -EBADMSG;
                        m.task.pid = id; /* the attribute, whatever ac_pid says */
                        have_pid = true;
                } else if (a.type == TASKSTATS_TYPE_AGGR_TGID) {
                        /* Decoded after the loop: its version comes from the per-task record. */
                        tgid_data = a.data;
                        tgid_len = a.len;
                }
        }
        if (!have_pid) {
                *why = PW_TS_PARSE_NO_RECORD;
                return -EBADMSG;
        }
        if (!(m.task.have & PW_TS_HAVE_TGID))
                m.task.tgid = 0;
        if (tgid_data) {
                if (parse_aggr(tgid_data, tgid_len, TASKSTATS_TYPE_TGID, m.task.version, &id, &m.group, why) < 0)
                        return -EBADMSG;
                m.group.tgid = id;
                m.has_group = true;
                if (m.task.tgid == 0)
                        m.task.tgid = id;
        }
        m.kind = PW_TS_MSG_RECORD;
        *ret = m;
        return 0;
}

int pw_genl_family_id_parse(const uint8_t *buf, size_t len, uint16_t *id) {
        struct nlmsghdr nlh;
        const uint8_t *pos;
        size_t left;
        Attr a;

        if (len < NLMSG_HDRLEN)
                return -EBADMSG;
        memcpy(&nlh, buf, sizeof(nlh));
        if (nlh.nlmsg_len < NLMSG_HDRLEN || nlh.nlmsg_len > len)
                return -EBADMSG;
        if (nlh.nlmsg_type == NLMSG_ERROR) {
                int32_t err;

                if (nlh.nlmsg_len < NLMSG_HDRLEN + sizeof(err))
                        return -EBADMSG;
                memcpy(&err, buf + NLMSG_HDRLEN, sizeof(err));
                return err < 0 ? err : -EBADMSG;
        }
        if (nlh.nlmsg_type != GENL_ID_CTRL || nlh.nlmsg_len < NLMSG_HDRLEN + GENL_HDRLEN ||
            buf[NLMSG_HDRLEN] != CTRL_CMD_NEWFAMILY)
                return -EBADMSG;
        pos = buf + NLMSG_HDRLEN + GENL_HDRLEN;
        left = nlh.nlmsg_len - NLMSG_HDRLEN - GENL_HDRLEN;
        while (left > 0) {
                if (!attr_next(&pos, &left, &a))
                        return -EBADMSG;
                if (a.type == CTRL_ATTR_FAMILY_ID && a.len >= sizeof(uint16_t)) {
                        memcpy(id, a.data, sizeof(uint16_t));
                        return *id != 0 ? 0 : -EBADMSG;
                }
        }
        return -EBADMSG;
}

const char *pw_ts_parse_error_to_string(PwTsParseError e) {
        static const char *const names[_PW_TS_PARSE_ERROR_MAX] = {
                [PW_TS_PARSE_TRUNCATED] = "truncated",
                [PW_TS_PARSE_BAD_ATTR] = "bad-attribute",
                [PW_TS_PARSE_NO_RECORD] = "no-record",
                [PW_TS_PARSE_BAD_AGGR] = "bad-aggregate",
                [PW_TS_PARSE_BAD_VERSION] = "bad-version",
        };
        return (unsigned) e < _PW_TS_PARSE_ERROR_MAX ? names[e] : NULL;
}

const char *pw_ts_delay_to_string(PwTsDelay d) {
        static const char *const names[_PW_TS_DELAY_MAX] = {
                [PW_TS_DELAY_CPU] = "cpu",
                [PW_TS_DELAY_BLKIO] = "blkio",
                [PW_TS_DELAY_SWAPIN] = "swapin",
                [PW_TS_DELAY_FREEPAGES] = "freepages",
                [PW_TS_DELAY_THRASHING] = "thrashing",
                [PW_TS_DELAY_COMPACT] = "compact",
                [PW_TS_DELAY_WPCOPY] = "wpcopy",
                [PW_TS_DELAY_IRQ] = "irq",
        };
        return (unsigned) d < _PW_TS_DELAY_MAX ? names[d] : NULL;
}
