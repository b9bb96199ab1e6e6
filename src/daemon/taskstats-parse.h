/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The taskstats decoder: generic-netlink datagrams of the TASKSTATS family as plain structs. Pure: no
 * sockets, no logging, no clocks; fuzzed (fuzz/fuzz-taskstats-parse.c).
 *
 * Parsing by version and length. struct taskstats only ever grows at the end, but the header a
 * distribution ships (Debian 12: version 13, 416 bytes) is older than the kernels it runs (6.18:
 * version 16, 560 bytes), and version 15 (withdrawn) put fields in the middle. So the payload is
 * copied, min(payload, our size), into a zeroed buffer, and a field is taken only when it ends inside
 * the payload and the record's version has it; past cpu_delay_total nothing of a version-15 record
 * is believed. Fields of versions 14 and 16 are defined here, at their fixed offsets. Never an exact
 * size: a longer struct from a newer kernel decodes as far as we know it.
 *
 * The thread-group record (AGGR_TGID) carries version 0 (the kernel never stamps it): it is read with
 * the version of the per-task record of the same datagram. NULL (padding) and unknown attributes
 * are skipped. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Accounting flags (ac_flag, <linux/acct.h>). */
#define PW_TS_AFORK 0x01U  /* the leader never exec'ed after fork */
#define PW_TS_ASU 0x02U    /* a capability check passed */
#define PW_TS_ACORE 0x08U  /* a core dump was attempted */
#define PW_TS_AXSIG 0x10U  /* killed by a signal (threads reaped by exit_group() too) */
#define PW_TS_AGROUP 0x20U /* the last task of its thread group */

/* struct taskstats sizes by version, as the kernel sends them. */
#define PW_TS_SIZE_V13 416U
#define PW_TS_SIZE_V14 432U
#define PW_TS_SIZE_V16 560U
/* What this decoder knows: a longer payload is cut there. */
#define PW_TS_SIZE_KNOWN PW_TS_SIZE_V16

/* Which groups of fields a record had (by version and length). */
typedef enum PwTsHave {
        PW_TS_HAVE_DELAY = 1 << 0,     /* v1: cpu/blkio/swapin delays, cpu_run_{real,virtual}_total */
        PW_TS_HAVE_BASIC = 1 << 1,     /* comm, ids, btime, etime, utime, stime, faults */
        PW_TS_HAVE_XACCT = 1 << 2,     /* coremem, virtmem, hiwater_*, *_char, *_syscalls */
        PW_TS_HAVE_IO = 1 << 3,        /* read_bytes, write_bytes, cancelled_write_bytes */
        PW_TS_HAVE_CTXSW = 1 << 4,     /* nvcsw, nivcsw */
        PW_TS_HAVE_FREEPAGES = 1 << 5,
        PW_TS_HAVE_THRASHING = 1 << 6, /* v9 */
        PW_TS_HAVE_BTIME64 = 1 << 7,   /* v10 */
        PW_TS_HAVE_COMPACT = 1 << 8,   /* v11 */
        PW_TS_HAVE_TGID = 1 << 9,      /* v12: ac_tgid, ac_tgetime, ac_exe_dev, ac_exe_inode */
        PW_TS_HAVE_WPCOPY = 1 << 10,   /* v13 */
        PW_TS_HAVE_IRQ = 1 << 11,      /* v14 */
        PW_TS_HAVE_DELAY_MAXMIN = 1 << 12, /* v16 */
} PwTsHave;

typedef enum PwTsDelay {
        PW_TS_DELAY_CPU,
        PW_TS_DELAY_BLKIO,
        PW_TS_DELAY_SWAPIN,
        PW_TS_DELAY_FREEPAGES,
        PW_TS_DELAY_THRASHING,
        PW_TS_DELAY_COMPACT,
        PW_TS_DELAY_WPCOPY,
        PW_TS_DELAY_IRQ,
        _PW_TS_DELAY_MAX,
} PwTsDelay;

/* One struct taskstats, decoded. Absent fields are 0 (see have). Units as the kernel gives them. */
typedef struct PwTaskstats {
        uint16_t version;        /* the version used to decode (for a TGID record: the PID record's) */
        uint16_t version_sent;   /* the version field as sent */
        uint32_t payload_len;    /* bytes of struct taskstats received */
        uint32_t have;           /* PwTsHave */
        bool layout_untrusted;   /* version 15: fields past cpu_delay_total were not decoded */

        uint32_t exitcode;       /* wait status */
        uint8_t flag;            /* PW_TS_A* */
        uint8_t nice;
        char comm[33];
        uint32_t uid, gid, pid, ppid, tgid;
        uint64_t btime;          /* wall seconds of the start (ac_btime64 when sent, else ac_btime) */
        uint64_t etime_usec;     /* since this task started */
        uint64_t tgetime_usec;   /* since the thread group's leader started */
        uint64_t utime_usec, stime_usec;     /* tick-sampled */
        uint64_t minflt, majflt;
        uint64_t coremem, virtmem;           /* MB*usec */
        uint64_t hiwater_rss_kib, hiwater_vm_kib;
        uint64_t read_char, write_char, read_syscalls, write_syscalls; /* rounded down to KiB */
        uint64_t read_bytes, write_bytes, cancelled_write_bytes;
        uint64_t nvcsw, nivcsw;
        uint64_t cpu_run_real_total_ns, cpu_run_virtual_total_ns;
        uint64_t exe_dev, exe_inode;
        uint64_t delay_count[_PW_TS_DELAY_MAX];
        uint64_t delay_total_ns[_PW_TS_DELAY_MAX];
        uint64_t delay_max_ns[_PW_TS_DELAY_MAX];
        uint64_t delay_min_ns[_PW_TS_DELAY_MAX];
} PwTaskstats;

typedef enum PwTsMsgKind {
        PW_TS_MSG_RECORD,  /* an exit record */
        PW_TS_MSG_ACK,     /* NLMSG_ERROR: error 0 is an ack */
        PW_TS_MSG_OTHER,   /* anything else well-formed: skipped */
} PwTsMsgKind;

typedef struct PwTsMsg {
        PwTsMsgKind kind;
        uint32_t seq;            /* nlmsg_seq: the kernel's per-CPU counter for a record */
        int32_t error;           /* ACK: 0 or a negative errno */
        uint32_t acked_seq;      /* ACK: the seq of the request it answers */
        PwTaskstats task;        /* RECORD: the per-task record (AGGR_PID) */
        bool has_group;          /* RECORD: the datagram also held the thread-group record */
        PwTaskstats group;       /* RECORD: AGGR_TGID */
} PwTsMsg;

typedef enum PwTsParseError {
        PW_TS_PARSE_TRUNCATED,      /* shorter than its netlink or genetlink header */
        PW_TS_PARSE_BAD_ATTR,       /* an attribute runs past its container */
        PW_TS_PARSE_NO_RECORD,      /* no AGGR_PID in a TASKSTATS_CMD_NEW message */
        PW_TS_PARSE_BAD_AGGR,       /* an AGGR without its id or its STATS, or with bad sizes */
        PW_TS_PARSE_BAD_VERSION,    /* per-task record of version 0 */
        _PW_TS_PARSE_ERROR_MAX,
} PwTsParseError;

/* Decodes the first netlink message in buf (one datagram may hold several). family is the resolved
 * TASKSTATS family id. Sets *consumed to the bytes to skip to the next message (0: stop), also on
 * failure. Returns 0, or -EBADMSG with *why set. */
int pw_taskstats_parse(const uint8_t *buf, size_t len, uint16_t family, PwTsMsg *ret, size_t *consumed,
                       PwTsParseError *why);

/* Decodes a struct taskstats payload of any length; version_override (when not 0) replaces a version
 * of 0 (the thread-group record). Returns 0 or -EBADMSG (shorter than the version field, or version
 * 0 without override). */
int pw_taskstats_decode(const uint8_t *payload, size_t len, uint16_t version_override, PwTaskstats *ret);

/* The family id in a CTRL_CMD_NEWFAMILY reply (message type GENL_ID_CTRL): 0 and *id set; -ENOENT
 * for an error reply saying so; -EBADMSG for anything else. A non-zero error reply gives its errno. */
int pw_genl_family_id_parse(const uint8_t *buf, size_t len, uint16_t *id);

const char *pw_ts_parse_error_to_string(PwTsParseError e);
const char *pw_ts_delay_to_string(PwTsDelay d);
