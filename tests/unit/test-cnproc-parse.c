/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Tests of the proc-connector decoder over datagrams laid out exactly as the kernel sends them. */
#include <errno.h>
#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cnproc-parse.h"
#include "macro.h"
#include "test-cleanup.h"

#define NCPUS 4U

/* The kernel always sends the whole proc_event, whatever the kind needs. */
#define OFF_CN ((size_t) NLMSG_HDRLEN)
#define OFF_EV (OFF_CN + sizeof(struct cn_msg))
#define MSG_LEN ((size_t) NLMSG_LENGTH(sizeof(struct cn_msg) + sizeof(struct proc_event)))

#define OFF_NL_LEN offsetof(struct nlmsghdr, nlmsg_len)
#define OFF_NL_TYPE offsetof(struct nlmsghdr, nlmsg_type)
#define OFF_CN_IDX (OFF_CN + offsetof(struct cn_msg, id.idx))
#define OFF_CN_VAL (OFF_CN + offsetof(struct cn_msg, id.val))
#define OFF_CN_LEN (OFF_CN + offsetof(struct cn_msg, len))
#define OFF_EV_WHAT (OFF_EV + offsetof(struct proc_event, what))
#define OFF_EV_CPU (OFF_EV + offsetof(struct proc_event, cpu))

/* The numbers every offset below depends on; a uapi change must fail here, not in a puzzling case. */
_Static_assert(NLMSG_HDRLEN == 16, "nlmsghdr");
_Static_assert(sizeof(struct cn_msg) == 20, "cn_msg");
_Static_assert(sizeof(struct proc_event) == 40, "proc_event");
_Static_assert(MSG_LEN == 76, "datagram");

/* PROC_EVENT_NONZERO_EXIT is a filter bit of >= 6.6 kernels, never a delivered kind; Debian 12's
 * header does not know it. */
#define PROC_EVENT_NONZERO_EXIT_BIT 0x20000000U

static void put_u16(uint8_t *buf, size_t off, uint16_t v) {
        memcpy(buf + off, &v, sizeof(v));
}

static void put_u32(uint8_t *buf, size_t off, uint32_t v) {
        memcpy(buf + off, &v, sizeof(v));
}

/* Writes, at buf (any alignment), the datagram the kernel builds for ev and returns its length. */
static size_t build_msg(uint8_t *buf, const struct proc_event *ev, uint32_t seq, uint32_t ack) {
        struct nlmsghdr nlh = {
                .nlmsg_len = (uint32_t) MSG_LEN,
                .nlmsg_type = NLMSG_DONE,
                .nlmsg_seq = seq,
        };
        struct cn_msg cn = {
                .id = { .idx = CN_IDX_PROC, .val = CN_VAL_PROC },
                .seq = seq,
                .ack = ack,
                .len = (uint16_t) sizeof(struct proc_event),
        };

        memcpy(buf, &nlh, sizeof(nlh));
        memcpy(buf + OFF_CN, &cn, sizeof(cn));
        memcpy(buf + OFF_EV, ev, sizeof(*ev));
        return MSG_LEN;
}

/* The shortest event_data each kind can be decoded from, taken from the kernel's own structs. */
static size_t kind_data_size(uint32_t what) {
        const struct proc_event *ev = NULL;

        switch (what) {
        case PROC_EVENT_NONE:
                return sizeof(ev->event_data.ack);
        case PROC_EVENT_FORK:
                return sizeof(ev->event_data.fork);
        case PROC_EVENT_EXEC:
                return sizeof(ev->event_data.exec);
        case PROC_EVENT_UID:
        case PROC_EVENT_GID:
                return sizeof(ev->event_data.id);
        case PROC_EVENT_SID:
                return sizeof(ev->event_data.sid);
        case PROC_EVENT_PTRACE:
                return sizeof(ev->event_data.ptrace);
        case PROC_EVENT_COMM:
                return sizeof(ev->event_data.comm);
        case PROC_EVENT_COREDUMP:
                return sizeof(ev->event_data.coredump);
        case PROC_EVENT_EXIT:
                return sizeof(ev->event_data.exit);
        default:
                fail_msg("no kind 0x%x", what);
                return 0;
        }
}

typedef struct ParseCase {
        const char *name;
        uint32_t seq, ack;      /* cn_msg.seq, cn_msg.ack */
        struct proc_event ev;   /* as the kernel fills it */
        PwEvent want;
        pid_t tgid;             /* pw_event_tgid() */
        const char *line;       /* pw_event_format() */
} ParseCase;

#define TS_BIG 0x0123456789abcdefULL /* 81985529216486895: all eight bytes differ */

static const ParseCase parse_cases[] = {
        {
                .name = "ack",
                .seq = 5,
                .ack = 43,
                .ev = { .what = PROC_EVENT_NONE, .cpu = 1, .timestamp_ns = 1000, .event_data.ack = { 0 } },
                .want = { .kind = PW_EVENT_NONE, .cpu = 1, .seq = 5, .cn_ack = 43, .timestamp_ns = 1000,
                          .ack = { 0 } },
                .tgid = 0,
                .line = "ts=1000 cpu=1 seq=5 event=ack ack=43 err=0",
        },
        {
                /* Old kernels sent the ack outside the per-CPU numbering, with cpu = ~0. */
                .name = "ack-old-kernel",
                .seq = 0,
                .ack = 1,
                .ev = { .what = PROC_EVENT_NONE, .cpu = 0xffffffffU, .timestamp_ns = 0,
                        .event_data.ack = { EINVAL } },
                .want = { .kind = PW_EVENT_NONE, .cpu = PW_CPU_NONE, .seq = 0, .cn_ack = 1,
                          .timestamp_ns = 0, .ack = { EINVAL } },
                .tgid = 0,
                .line = "ts=0 cpu=-1 seq=0 event=ack ack=1 err=22",
        },
        {
                .name = "fork-process",
                .seq = 7,
                .ev = { .what = PROC_EVENT_FORK, .cpu = NCPUS - 1, .timestamp_ns = TS_BIG,
                        .event_data.fork = { .parent_pid = 1, .parent_tgid = 1, .child_pid = 4242,
                                             .child_tgid = 4242 } },
                .want = { .kind = PW_EVENT_FORK, .cpu = NCPUS - 1, .seq = 7, .timestamp_ns = TS_BIG,
                          .fork = { .parent_pid = 1, .parent_tgid = 1, .child_pid = 4242,
                                    .child_tgid = 4242 } },
                .tgid = 4242,
                .line = "ts=81985529216486895 cpu=3 seq=7 event=fork parent_pid=1 parent_tgid=1 "
                        "child_pid=4242 child_tgid=4242",
        },
        {
                /* A new thread: its parent is the creating process's real_parent, not the creator. */
                .name = "fork-thread",
                .seq = 0xfffffffeU,
                .ev = { .what = PROC_EVENT_FORK, .cpu = 0, .timestamp_ns = 2,
                        .event_data.fork = { .parent_pid = 100, .parent_tgid = 100, .child_pid = 4243,
                                             .child_tgid = 4242 } },
                .want = { .kind = PW_EVENT_FORK, .cpu = 0, .seq = 0xfffffffeU, .timestamp_ns = 2,
                          .fork = { .parent_pid = 100, .parent_tgid = 100, .child_pid = 4243,
                                    .child_tgid = 4242 } },
                .tgid = 4242,
                .line = "ts=2 cpu=0 seq=4294967294 event=fork parent_pid=100 parent_tgid=100 child_pid=4243 "
                        "child_tgid=4242",
        },
        {
                .name = "exec",
                .seq = 8,
                .ev = { .what = PROC_EVENT_EXEC, .cpu = 2, .timestamp_ns = 3,
                        .event_data.exec = { .process_pid = 4242, .process_tgid = 4242 } },
                .want = { .kind = PW_EVENT_EXEC, .cpu = 2, .seq = 8, .timestamp_ns = 3,
                          .exec = { .pid = 4242, .tgid = 4242 } },
                .tgid = 4242,
                .line = "ts=3 cpu=2 seq=8 event=exec pid=4242 tgid=4242",
        },
        {
                .name = "uid",
                .seq = 9,
                .ev = { .what = PROC_EVENT_UID, .cpu = 1, .timestamp_ns = 4,
                        .event_data.id = { .process_pid = 4243, .process_tgid = 4242, .r.ruid = 1000,
                                           .e.euid = 0 } },
                .want = { .kind = PW_EVENT_UID, .cpu = 1, .seq = 9, .timestamp_ns = 4,
                          .id = { .pid = 4243, .tgid = 4242, .real = 1000, .effective = 0 } },
                .tgid = 4242,
                .line = "ts=4 cpu=1 seq=9 event=uid pid=4243 tgid=4242 ruid=1000 euid=0",
        },
        {
                .name = "gid",
                .seq = 10,
                .ev = { .what = PROC_EVENT_GID, .cpu = 1, .timestamp_ns = 5,
                        .event_data.id = { .process_pid = 4242, .process_tgid = 4242, .r.rgid = 4294967294U,
                                           .e.egid = 65534 } },
                .want = { .kind = PW_EVENT_GID, .cpu = 1, .seq = 10, .timestamp_ns = 5,
                          .id = { .pid = 4242, .tgid = 4242, .real = 4294967294U, .effective = 65534 } },
                .tgid = 4242,
                .line = "ts=5 cpu=1 seq=10 event=gid pid=4242 tgid=4242 rgid=4294967294 egid=65534",
        },
        {
                .name = "sid",
                .seq = 11,
                .ev = { .what = PROC_EVENT_SID, .cpu = 0, .timestamp_ns = 6,
                        .event_data.sid = { .process_pid = 5000, .process_tgid = 5000 } },
                .want = { .kind = PW_EVENT_SID, .cpu = 0, .seq = 11, .timestamp_ns = 6,
                          .sid = { .pid = 5000, .tgid = 5000 } },
                .tgid = 5000,
                .line = "ts=6 cpu=0 seq=11 event=sid pid=5000 tgid=5000",
        },
        {
                .name = "ptrace-attach",
                .seq = 12,
                .ev = { .what = PROC_EVENT_PTRACE, .cpu = 3, .timestamp_ns = 7,
                        .event_data.ptrace = { .process_pid = 4243, .process_tgid = 4242, .tracer_pid = 777,
                                               .tracer_tgid = 776 } },
                .want = { .kind = PW_EVENT_PTRACE, .cpu = 3, .seq = 12, .timestamp_ns = 7,
                          .ptrace = { .pid = 4243, .tgid = 4242, .tracer_pid = 777, .tracer_tgid = 776 } },
                .tgid = 4242,
                .line = "ts=7 cpu=3 seq=12 event=ptrace pid=4243 tgid=4242 tracer_pid=777 tracer_tgid=776",
        },
        {
                .name = "ptrace-detach",
                .seq = 13,
                .ev = { .what = PROC_EVENT_PTRACE, .cpu = 3, .timestamp_ns = 8,
                        .event_data.ptrace = { .process_pid = 4242, .process_tgid = 4242, .tracer_pid = 0,
                                               .tracer_tgid = 0 } },
                .want = { .kind = PW_EVENT_PTRACE, .cpu = 3, .seq = 13, .timestamp_ns = 8,
                          .ptrace = { .pid = 4242, .tgid = 4242, .tracer_pid = 0, .tracer_tgid = 0 } },
                .tgid = 4242,
                .line = "ts=8 cpu=3 seq=13 event=ptrace pid=4242 tgid=4242 tracer_pid=0 tracer_tgid=0",
        },
        {
                /* A full-length comm has no NUL on the wire. */
                .name = "comm-16-bytes",
                .seq = 14,
                .ev = { .what = PROC_EVENT_COMM, .cpu = 0, .timestamp_ns = 9,
                        .event_data.comm = { .process_pid = 4242, .process_tgid = 4242,
                                             .comm = { '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 'a',
                                                       'b', 'c', 'd', 'e', 'f' } } },
                .want = { .kind = PW_EVENT_COMM, .cpu = 0, .seq = 14, .timestamp_ns = 9,
                          .comm = { .pid = 4242, .tgid = 4242, .comm = "0123456789abcdef" } },
                .tgid = 4242,
                .line = "ts=9 cpu=0 seq=14 event=comm pid=4242 tgid=4242 comm=0123456789abcdef",
        },
        {
                .name = "comm-escaped",
                .seq = 15,
                .ev = { .what = PROC_EVENT_COMM, .cpu = 0, .timestamp_ns = 10,
                        .event_data.comm = { .process_pid = 4243, .process_tgid = 4242,
                                             .comm = "a b=c\\d\n\x7f~\t\xff" } },
                .want = { .kind = PW_EVENT_COMM, .cpu = 0, .seq = 15, .timestamp_ns = 10,
                          .comm = { .pid = 4243, .tgid = 4242, .comm = "a b=c\\d\n\x7f~\t\xff" } },
                .tgid = 4242,
                .line = "ts=10 cpu=0 seq=15 event=comm pid=4243 tgid=4242 "
                        "comm=a\\x20b\\x3dc\\x5cd\\x0a\\x7f~\\x09\\xff",
        },
        {
                /* The longest line a comm can give: every one of the 16 bytes escaped. */
                .name = "comm-all-escaped",
                .seq = 16,
                .ev = { .what = PROC_EVENT_COMM, .cpu = 0, .timestamp_ns = 11,
                        .event_data.comm = { .process_pid = 1, .process_tgid = 1,
                                             .comm = { '\xff', '\xfe', '\x80', '\x01', '\x02', '\x1f', ' ',
                                                       ' ', ' ', ' ', '=', '=', '=', '=', '\\', '\\' } } },
                .want = { .kind = PW_EVENT_COMM, .cpu = 0, .seq = 16, .timestamp_ns = 11,
                          .comm = { .pid = 1, .tgid = 1, .comm = "\xff\xfe\x80\x01\x02\x1f    ====\\\\" } },
                .tgid = 1,
                .line = "ts=11 cpu=0 seq=16 event=comm pid=1 tgid=1 "
                        "comm=\\xff\\xfe\\x80\\x01\\x02\\x1f\\x20\\x20\\x20\\x20"
                        "\\x3d\\x3d\\x3d\\x3d\\x5c\\x5c",
        },
        {
                /* The kernel pads with NULs; whatever follows the first NUL is not part of the name. */
                .name = "comm-junk-after-nul",
                .seq = 17,
                .ev = { .what = PROC_EVENT_COMM, .cpu = 0, .timestamp_ns = 12,
                        .event_data.comm = { .process_pid = 9, .process_tgid = 9,
                                             .comm = { 'a', 'b', '\0', 'x', ' ', '\xff' } } },
                .want = { .kind = PW_EVENT_COMM, .cpu = 0, .seq = 17, .timestamp_ns = 12,
                          .comm = { .pid = 9, .tgid = 9, .comm = "ab" } },
                .tgid = 9,
                .line = "ts=12 cpu=0 seq=17 event=comm pid=9 tgid=9 comm=ab",
        },
        {
                .name = "comm-empty",
                .seq = 17,
                .ev = { .what = PROC_EVENT_COMM, .cpu = 0, .timestamp_ns = 12,
                        .event_data.comm = { .process_pid = 9, .process_tgid = 9, .comm = "" } },
                .want = { .kind = PW_EVENT_COMM, .cpu = 0, .seq = 17, .timestamp_ns = 12,
                          .comm = { .pid = 9, .tgid = 9, .comm = "" } },
                .tgid = 9,
                .line = "ts=12 cpu=0 seq=17 event=comm pid=9 tgid=9 comm=",
        },
        {
                .name = "coredump",
                .seq = 18,
                .ev = { .what = PROC_EVENT_COREDUMP, .cpu = 2, .timestamp_ns = 13,
                        .event_data.coredump = { .process_pid = 4243, .process_tgid = 4242, .parent_pid = 1,
                                                 .parent_tgid = 1 } },
                .want = { .kind = PW_EVENT_COREDUMP, .cpu = 2, .seq = 18, .timestamp_ns = 13,
                          .coredump = { .pid = 4243, .tgid = 4242, .parent_pid = 1, .parent_tgid = 1 } },
                .tgid = 4242,
                .line = "ts=13 cpu=2 seq=18 event=coredump pid=4243 tgid=4242 parent_pid=1 parent_tgid=1",
        },
        {
                /* exit(1) of a process: a wait status, so 1 << 8; exit_signal SIGCHLD. */
                .name = "exit-process",
                .seq = 19,
                .ev = { .what = PROC_EVENT_EXIT, .cpu = 1, .timestamp_ns = TS_BIG,
                        .event_data.exit = { .process_pid = 4242, .process_tgid = 4242, .exit_code = 0x100,
                                             .exit_signal = 17, .parent_pid = 1, .parent_tgid = 1 } },
                .want = { .kind = PW_EVENT_EXIT, .cpu = 1, .seq = 19, .timestamp_ns = TS_BIG,
                          .exit = { .pid = 4242, .tgid = 4242, .code = 0x100, .signal = 17, .parent_pid = 1,
                                    .parent_tgid = 1 } },
                .tgid = 4242,
                .line = "ts=81985529216486895 cpu=1 seq=19 event=exit pid=4242 tgid=4242 exit_code=256 "
                        "exit_signal=17 parent_pid=1 parent_tgid=1",
        },
        {
                /* SIGSEGV with a core: 11 | 0x80. */
                .name = "exit-core-dumped",
                .seq = 20,
                .ev = { .what = PROC_EVENT_EXIT, .cpu = 2, .timestamp_ns = 14,
                        .event_data.exit = { .process_pid = 4242, .process_tgid = 4242, .exit_code = 0x8b,
                                             .exit_signal = 17, .parent_pid = 300, .parent_tgid = 300 } },
                .want = { .kind = PW_EVENT_EXIT, .cpu = 2, .seq = 20, .timestamp_ns = 14,
                          .exit = { .pid = 4242, .tgid = 4242, .code = 0x8b, .signal = 17, .parent_pid = 300,
                                    .parent_tgid = 300 } },
                .tgid = 4242,
                .line = "ts=14 cpu=2 seq=20 event=exit pid=4242 tgid=4242 exit_code=139 exit_signal=17 "
                        "parent_pid=300 parent_tgid=300",
        },
        {
                /* A thread: exit_signal -1 on the wire as 0xffffffff, parent 0 as it is already reaped. */
                .name = "exit-thread",
                .seq = 21,
                .ev = { .what = PROC_EVENT_EXIT, .cpu = 0, .timestamp_ns = 15,
                        .event_data.exit = { .process_pid = 4243, .process_tgid = 4242, .exit_code = 0,
                                             .exit_signal = 0xffffffffU, .parent_pid = 0,
                                             .parent_tgid = 0 } },
                .want = { .kind = PW_EVENT_EXIT, .cpu = 0, .seq = 21, .timestamp_ns = 15,
                          .exit = { .pid = 4243, .tgid = 4242, .code = 0, .signal = -1, .parent_pid = 0,
                                    .parent_tgid = 0 } },
                .tgid = 4242,
                .line = "ts=15 cpu=0 seq=21 event=exit pid=4243 tgid=4242 exit_code=0 exit_signal=-1 "
                        "parent_pid=0 parent_tgid=0",
        },
};

static const ParseCase *find_case(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(parse_cases); i++)
                if (strcmp(parse_cases[i].name, name) == 0)
                        return &parse_cases[i];
        fail_msg("no case %s", name);
        abort(); /* not reached: fail_msg() does not return, but is not declared so */
}

static void assert_event_equal(const PwEvent *want, const PwEvent *got) {
        assert_int_equal(got->kind, want->kind);
        assert_int_equal(got->cpu, want->cpu);
        assert_int_equal(got->seq, want->seq);
        assert_int_equal(got->cn_ack, want->cn_ack);
        assert_int_equal(got->timestamp_ns, want->timestamp_ns);

        switch (want->kind) {
        case PW_EVENT_NONE:
                assert_int_equal(got->ack.err, want->ack.err);
                break;
        case PW_EVENT_FORK:
                assert_int_equal(got->fork.parent_pid, want->fork.parent_pid);
                assert_int_equal(got->fork.parent_tgid, want->fork.parent_tgid);
                assert_int_equal(got->fork.child_pid, want->fork.child_pid);
                assert_int_equal(got->fork.child_tgid, want->fork.child_tgid);
                break;
        case PW_EVENT_EXEC:
                assert_int_equal(got->exec.pid, want->exec.pid);
                assert_int_equal(got->exec.tgid, want->exec.tgid);
                break;
        case PW_EVENT_SID:
                assert_int_equal(got->sid.pid, want->sid.pid);
                assert_int_equal(got->sid.tgid, want->sid.tgid);
                break;
        case PW_EVENT_UID:
        case PW_EVENT_GID:
                assert_int_equal(got->id.pid, want->id.pid);
                assert_int_equal(got->id.tgid, want->id.tgid);
                assert_int_equal(got->id.real, want->id.real);
                assert_int_equal(got->id.effective, want->id.effective);
                break;
        case PW_EVENT_PTRACE:
                assert_int_equal(got->ptrace.pid, want->ptrace.pid);
                assert_int_equal(got->ptrace.tgid, want->ptrace.tgid);
                assert_int_equal(got->ptrace.tracer_pid, want->ptrace.tracer_pid);
                assert_int_equal(got->ptrace.tracer_tgid, want->ptrace.tracer_tgid);
                break;
        case PW_EVENT_COMM:
                assert_int_equal(got->comm.pid, want->comm.pid);
                assert_int_equal(got->comm.tgid, want->comm.tgid);
                assert_non_null(memchr(got->comm.comm, '\0', sizeof(got->comm.comm)));
                assert_string_equal(got->comm.comm, want->comm.comm);
                break;
        case PW_EVENT_COREDUMP:
                assert_int_equal(got->coredump.pid, want->coredump.pid);
                assert_int_equal(got->coredump.tgid, want->coredump.tgid);
                assert_int_equal(got->coredump.parent_pid, want->coredump.parent_pid);
                assert_int_equal(got->coredump.parent_tgid, want->coredump.parent_tgid);
                break;
        case PW_EVENT_EXIT:
                assert_int_equal(got->exit.pid, want->exit.pid);
                assert_int_equal(got->exit.tgid, want->exit.tgid);
                assert_int_equal(got->exit.code, want->exit.code);
                assert_int_equal(got->exit.signal, want->exit.signal);
                assert_int_equal(got->exit.parent_pid, want->exit.parent_pid);
                assert_int_equal(got->exit.parent_tgid, want->exit.parent_tgid);
                break;
        default:
                fail_msg("unexpected kind %d", (int) want->kind);
        }
}

/* A copy of the first len bytes in a heap block of exactly that size, so that ASan and valgrind see
 * any read past the end. */
static uint8_t *exact_copy(const uint8_t *buf, size_t len) {
        uint8_t *p = malloc(MAX(len, (size_t) 1));

        assert_non_null(p);
        memcpy(p, buf, len);
        return p;
}

static void test_decode_every_kind(void **state) {
        for (size_t i = 0; i < ELEMENTSOF(parse_cases); i++) {
                const ParseCase *c = &parse_cases[i];
                uint8_t msg[MSG_LEN];
                PwParseError why = _PW_PARSE_ERROR_MAX;
                size_t used = 0;
                PwEvent ev;

                print_message("case %s\n", c->name);
                memset(&ev, 0xaa, sizeof(ev));
                assert_int_equal(build_msg(msg, &c->ev, c->seq, c->ack), MSG_LEN);
                assert_int_equal(pw_event_parse(msg, sizeof(msg), NCPUS, &ev, &used, &why), 0);
                assert_int_equal(used, MSG_LEN);
                assert_event_equal(&c->want, &ev);
                assert_int_equal(pw_event_tgid(&ev), c->tgid);

                /* Every out-pointer is optional. */
                assert_int_equal(pw_event_parse(msg, sizeof(msg), NCPUS, NULL, NULL, NULL), 0);
        }
}

static void test_decode_unaligned(void **state) {
        for (size_t i = 0; i < ELEMENTSOF(parse_cases); i++) {
                const ParseCase *c = &parse_cases[i];

                print_message("case %s\n", c->name);
                for (size_t shift = 1; shift < 8; shift++) {
                        uint8_t raw[MSG_LEN + 8] __attribute__((aligned(8)));
                        size_t used = 0;
                        PwEvent ev;

                        build_msg(raw + shift, &c->ev, c->seq, c->ack);
                        assert_int_equal(pw_event_parse(raw + shift, MSG_LEN, NCPUS, &ev, &used, NULL), 0);
                        assert_int_equal(used, MSG_LEN);
                        assert_event_equal(&c->want, &ev);
                }
        }
}

static void test_format_every_kind(void **state) {
        for (size_t i = 0; i < ELEMENTSOF(parse_cases); i++) {
                const ParseCase *c = &parse_cases[i];
                char line[512];
                uint8_t msg[MSG_LEN];
                PwEvent ev;

                print_message("case %s\n", c->name);
                build_msg(msg, &c->ev, c->seq, c->ack);
                assert_int_equal(pw_event_parse(msg, sizeof(msg), NCPUS, &ev, NULL, NULL), 0);
                assert_int_equal(pw_event_format(&ev, line, sizeof(line)), strlen(c->line));
                assert_string_equal(line, c->line);
        }
}

static void test_format_truncates(void **state) {
        /* The longest line there is. */
        const ParseCase *c = find_case("comm-all-escaped");
        size_t full = strlen(c->line);
        char buf[512];

        assert_true(full < sizeof(buf) - 1);

        for (size_t size = 1; size <= full + 2; size++) {
                size_t want = MIN(full, size - 1);

                memset(buf, '#', sizeof(buf));
                assert_int_equal(pw_event_format(&c->want, buf, size), want);
                assert_int_equal(buf[want], '\0');
                assert_memory_equal(buf, c->line, want);
                assert_int_equal(buf[size], '#');
        }

        memset(buf, '#', sizeof(buf));
        assert_int_equal(pw_event_format(&c->want, buf, 0), 0);
        assert_int_equal(buf[0], '#');
}

static void test_format_unknown_kind(void **state) {
        PwEvent ev = { .kind = _PW_EVENT_KIND_MAX, .cpu = 0, .seq = 1, .timestamp_ns = 2 };
        char line[128];

        assert_int_equal(pw_event_format(&ev, line, sizeof(line)), strlen("ts=2 cpu=0 seq=1 event=?"));
        assert_string_equal(line, "ts=2 cpu=0 seq=1 event=?");
        assert_int_equal(pw_event_tgid(&ev), 0);
}

/* Every prefix of a valid datagram: the kernel never sends one, a broken or hostile sender might. */
static void test_truncated_at_every_offset(void **state) {
        for (size_t i = 0; i < ELEMENTSOF(parse_cases); i++) {
                const ParseCase *c = &parse_cases[i];
                uint8_t msg[MSG_LEN];

                print_message("case %s\n", c->name);
                build_msg(msg, &c->ev, c->seq, c->ack);
                for (size_t len = 0; len < MSG_LEN; len++) {
                        _cleanup_(freep) uint8_t *p = exact_copy(msg, len);
                        PwParseError why = _PW_PARSE_ERROR_MAX;
                        size_t used = 12345;
                        PwEvent ev;

                        assert_int_equal(pw_event_parse(p, len, NCPUS, &ev, &used, &why), -EBADMSG);
                        assert_int_equal(why, PW_PARSE_TRUNCATED);
                        /* nlmsg_len says more than there is: nothing here can be skipped over. */
                        assert_int_equal(used, 0);
                }
        }
}

/* Every length with the headers agreeing with it: the decoder must rely on cn_msg.len and the size
 * the kind needs, and accept exactly from that size on. */
static void test_shortened_at_every_offset(void **state) {
        for (size_t i = 0; i < ELEMENTSOF(parse_cases); i++) {
                const ParseCase *c = &parse_cases[i];
                size_t need = OFF_EV + offsetof(struct proc_event, event_data) + kind_data_size(c->ev.what);
                uint8_t msg[MSG_LEN];

                print_message("case %s (needs %zu bytes)\n", c->name, need);
                for (size_t len = 0; len < MSG_LEN; len++) {
                        _cleanup_(freep) uint8_t *p = NULL;
                        PwParseError why = _PW_PARSE_ERROR_MAX;
                        size_t used = 12345;
                        PwEvent ev;
                        int r;

                        build_msg(msg, &c->ev, c->seq, c->ack);
                        put_u32(msg, OFF_NL_LEN, (uint32_t) len);
                        put_u16(msg, OFF_CN_LEN, (uint16_t) (len > OFF_EV ? len - OFF_EV : 0));
                        p = exact_copy(msg, len);

                        r = pw_event_parse(p, len, NCPUS, &ev, &used, &why);
                        if (len >= need) {
                                assert_int_equal(r, 0);
                                assert_event_equal(&c->want, &ev);
                        } else {
                                assert_int_equal(r, -EBADMSG);
                                assert_int_equal(why, PW_PARSE_TRUNCATED);
                        }
                        /* A well-formed netlink header can be skipped; one shorter than itself cannot. */
                        assert_int_equal(used, len < NLMSG_HDRLEN ? 0 : len);
                }
        }
}

typedef struct Patch {
        size_t off;
        size_t width; /* 2 or 4; 0 ends the list */
        uint32_t value;
} Patch;

typedef struct BadCase {
        const char *name;
        uint32_t what, cpu;
        size_t cut;             /* bytes taken off the end of the buffer */
        Patch patch[2];
        PwParseError reason;
        size_t consumed;
} BadCase;

static const BadCase bad_cases[] = {
        { "nlmsg_len past the buffer", PROC_EVENT_EXIT, 0, 0, { { OFF_NL_LEN, 4, MSG_LEN + 4 } },
          PW_PARSE_TRUNCATED, 0 },
        { "nlmsg_len one past the buffer", PROC_EVENT_EXIT, 0, 1, { { 0 } }, PW_PARSE_TRUNCATED, 0 },
        { "nlmsg_len huge", PROC_EVENT_FORK, 0, 0, { { OFF_NL_LEN, 4, 0xffffffffU } },
          PW_PARSE_TRUNCATED, 0 },
        { "nlmsg_len 0", PROC_EVENT_FORK, 0, 0, { { OFF_NL_LEN, 4, 0 } }, PW_PARSE_TRUNCATED, 0 },
        { "nlmsg_len 15", PROC_EVENT_FORK, 0, 0, { { OFF_NL_LEN, 4, 15 } }, PW_PARSE_TRUNCATED, 0 },
        { "nlmsg_len header only", PROC_EVENT_FORK, 0, 0, { { OFF_NL_LEN, 4, 16 } },
          PW_PARSE_TRUNCATED, 16 },
        { "nlmsg_len cuts cn_msg", PROC_EVENT_FORK, 0, 0, { { OFF_NL_LEN, 4, 35 } },
          PW_PARSE_TRUNCATED, 36 },
        { "type NLMSG_NOOP", PROC_EVENT_FORK, 0, 0, { { OFF_NL_TYPE, 2, NLMSG_NOOP } }, PW_PARSE_BAD_TYPE,
          MSG_LEN },
        { "type NLMSG_ERROR", PROC_EVENT_FORK, 0, 0, { { OFF_NL_TYPE, 2, NLMSG_ERROR } }, PW_PARSE_BAD_TYPE,
          MSG_LEN },
        { "type 0x10", PROC_EVENT_FORK, 0, 0, { { OFF_NL_TYPE, 2, 0x10 } }, PW_PARSE_BAD_TYPE, MSG_LEN },
        { "id.idx", PROC_EVENT_FORK, 0, 0, { { OFF_CN_IDX, 4, CN_IDX_PROC + 1 } },
          PW_PARSE_BAD_ID, MSG_LEN },
        { "id.idx 0", PROC_EVENT_FORK, 0, 0, { { OFF_CN_IDX, 4, 0 } }, PW_PARSE_BAD_ID, MSG_LEN },
        { "id.val", PROC_EVENT_FORK, 0, 0, { { OFF_CN_VAL, 4, CN_VAL_PROC + 1 } },
          PW_PARSE_BAD_ID, MSG_LEN },
        { "cn.len one past", PROC_EVENT_FORK, 0, 0, { { OFF_CN_LEN, 2, 41 } }, PW_PARSE_BAD_LEN, MSG_LEN },
        { "cn.len 0xffff", PROC_EVENT_FORK, 0, 0, { { OFF_CN_LEN, 2, 0xffff } }, PW_PARSE_BAD_LEN, MSG_LEN },
        { "cn.len past a short nlmsg_len", PROC_EVENT_FORK, 0, 0, { { OFF_NL_LEN, 4, 75 } },
          PW_PARSE_BAD_LEN, MSG_LEN },
        { "cn.len 0", PROC_EVENT_FORK, 0, 0, { { OFF_CN_LEN, 2, 0 } }, PW_PARSE_TRUNCATED, MSG_LEN },
        { "cn.len 15", PROC_EVENT_FORK, 0, 0, { { OFF_CN_LEN, 2, 15 } }, PW_PARSE_TRUNCATED, MSG_LEN },
        { "cn.len short for ack", PROC_EVENT_NONE, 0, 0, { { OFF_CN_LEN, 2, 19 } },
          PW_PARSE_TRUNCATED, MSG_LEN },
        { "cn.len short for fork", PROC_EVENT_FORK, 0, 0, { { OFF_CN_LEN, 2, 31 } },
          PW_PARSE_TRUNCATED, MSG_LEN },
        { "cn.len short for exec", PROC_EVENT_EXEC, 0, 0, { { OFF_CN_LEN, 2, 23 } },
          PW_PARSE_TRUNCATED, MSG_LEN },
        { "cn.len short for comm", PROC_EVENT_COMM, 0, 0, { { OFF_CN_LEN, 2, 39 } },
          PW_PARSE_TRUNCATED, MSG_LEN },
        { "cn.len short for exit", PROC_EVENT_EXIT, 0, 0, { { OFF_CN_LEN, 2, 39 } },
          PW_PARSE_TRUNCATED, MSG_LEN },
        { "cpu == ncpus", PROC_EVENT_FORK, NCPUS, 0, { { 0 } }, PW_PARSE_BAD_CPU, MSG_LEN },
        { "cpu ~0 on a fork", PROC_EVENT_FORK, 0xffffffffU, 0, { { 0 } }, PW_PARSE_BAD_CPU, MSG_LEN },
        { "cpu ~0 on an exit", PROC_EVENT_EXIT, 0xffffffffU, 0, { { 0 } }, PW_PARSE_BAD_CPU, MSG_LEN },
        { "cpu == ncpus on an ack", PROC_EVENT_NONE, NCPUS, 0, { { 0 } }, PW_PARSE_BAD_CPU, MSG_LEN },
        { "cpu ~0 - 1 on an ack", PROC_EVENT_NONE, 0xfffffffeU, 0, { { 0 } }, PW_PARSE_BAD_CPU, MSG_LEN },
        { "what 0x400", PROC_EVENT_FORK, 0, 0, { { OFF_EV_WHAT, 4, 0x400 } },
          PW_PARSE_UNKNOWN_KIND, MSG_LEN },
        { "what NONZERO_EXIT", PROC_EVENT_EXIT, 0, 0, { { OFF_EV_WHAT, 4, PROC_EVENT_NONZERO_EXIT_BIT } },
          PW_PARSE_UNKNOWN_KIND, MSG_LEN },
        { "what FORK|EXEC", PROC_EVENT_FORK, 0, 0, { { OFF_EV_WHAT, 4, PROC_EVENT_FORK | PROC_EVENT_EXEC } },
          PW_PARSE_UNKNOWN_KIND, MSG_LEN },
        { "what 0x8", PROC_EVENT_FORK, 0, 0, { { OFF_EV_WHAT, 4, 0x8 } }, PW_PARSE_UNKNOWN_KIND, MSG_LEN },
        { "what ~0", PROC_EVENT_FORK, 0, 0, { { OFF_EV_WHAT, 4, 0xffffffffU } },
          PW_PARSE_UNKNOWN_KIND, MSG_LEN },
};

static void test_malformed(void **state) {
        for (size_t i = 0; i < ELEMENTSOF(bad_cases); i++) {
                const BadCase *c = &bad_cases[i];
                struct proc_event pev;
                uint8_t msg[MSG_LEN];
                _cleanup_(freep) uint8_t *p = NULL;
                PwParseError why = _PW_PARSE_ERROR_MAX;
                size_t used = 12345, len = MSG_LEN - c->cut;

                print_message("case %s\n", c->name);
                memset(&pev, 0, sizeof(pev));
                pev.what = c->what;
                pev.cpu = c->cpu;
                pev.event_data.exit.process_pid = 42;
                pev.event_data.exit.process_tgid = 42;
                build_msg(msg, &pev, 1, 0);
                for (const Patch *q = c->patch; q < c->patch + ELEMENTSOF(c->patch) && q->width > 0; q++) {
                        if (q->width == 2)
                                put_u16(msg, q->off, (uint16_t) q->value);
                        else
                                put_u32(msg, q->off, q->value);
                }
                p = exact_copy(msg, len);

                assert_int_equal(pw_event_parse(p, len, NCPUS, NULL, &used, &why), -EBADMSG);
                assert_string_equal(pw_parse_error_to_string(why), pw_parse_error_to_string(c->reason));
                assert_int_equal(why, c->reason);
                assert_int_equal(used, c->consumed);
        }
}

/* The same messages with the patches undone parse, so each case above fails for its own reason. */
static void test_malformed_controls(void **state) {
        for (size_t i = 0; i < ELEMENTSOF(bad_cases); i++) {
                const BadCase *c = &bad_cases[i];
                struct proc_event pev;
                uint8_t msg[MSG_LEN];
                size_t used = 0;
                PwEvent ev;

                memset(&pev, 0, sizeof(pev));
                pev.what = c->what;
                pev.cpu = c->cpu < NCPUS ? c->cpu : NCPUS - 1;
                build_msg(msg, &pev, 1, 0);
                assert_int_equal(pw_event_parse(msg, sizeof(msg), NCPUS, &ev, &used, NULL), 0);
                assert_int_equal(used, MSG_LEN);
        }
}

/* The ack may carry cpu ~0 (old kernels), any other kind may not; ncpus is the bound otherwise. */
static void test_cpu_bounds(void **state) {
        struct proc_event pev;
        uint8_t msg[MSG_LEN];
        PwParseError why;
        PwEvent ev;

        memset(&pev, 0, sizeof(pev));
        pev.what = PROC_EVENT_NONE;
        pev.cpu = 0xffffffffU;
        build_msg(msg, &pev, 0, 1);
        assert_int_equal(pw_event_parse(msg, sizeof(msg), 1, &ev, NULL, &why), 0);
        assert_int_equal(ev.cpu, PW_CPU_NONE);

        pev.what = PROC_EVENT_EXEC;
        for (uint32_t cpu = 0; cpu < 4; cpu++) {
                pev.cpu = cpu;
                build_msg(msg, &pev, 0, 0);
                assert_int_equal(pw_event_parse(msg, sizeof(msg), 2, &ev, NULL, &why),
                                 cpu < 2 ? 0 : -EBADMSG);
                if (cpu >= 2)
                        assert_int_equal(why, PW_PARSE_BAD_CPU);
                else
                        assert_int_equal(ev.cpu, cpu);
        }
}

/* Walks a buffer the way the daemon does; returns how many events decoded, and counts rejects. */
static size_t walk(const uint8_t *buf, size_t len, PwEvent *events, size_t max, size_t *rejected,
                   size_t *walked) {
        size_t n = 0;

        *rejected = 0;
        *walked = 0;
        while (len > 0) {
                size_t used = 0;
                PwEvent ev;

                if (pw_event_parse(buf, len, NCPUS, &ev, &used, NULL) >= 0) {
                        assert_true(n < max);
                        events[n++] = ev;
                } else
                        (*rejected)++;
                assert_true(used <= len);
                if (used == 0)
                        break;
                buf += used;
                len -= used;
                *walked += used;
        }
        return n;
}

static void test_two_messages(void **state) {
        const ParseCase *fk = find_case("fork-process"), *ex = find_case("exit-process");
        uint8_t buf[2 * MSG_LEN];
        size_t used = 0, rejected, walked;
        PwEvent ev[4];

        build_msg(buf, &fk->ev, fk->seq, 0);
        build_msg(buf + MSG_LEN, &ex->ev, ex->seq, 0);

        assert_int_equal(pw_event_parse(buf, sizeof(buf), NCPUS, &ev[0], &used, NULL), 0);
        assert_int_equal(used, MSG_LEN);
        assert_event_equal(&fk->want, &ev[0]);
        assert_int_equal(pw_event_parse(buf + used, sizeof(buf) - used, NCPUS, &ev[1], &used, NULL), 0);
        assert_int_equal(used, MSG_LEN);
        assert_event_equal(&ex->want, &ev[1]);

        assert_int_equal(walk(buf, sizeof(buf), ev, ELEMENTSOF(ev), &rejected, &walked), 2);
        assert_int_equal(rejected, 0);
        assert_int_equal(walked, sizeof(buf));
        assert_event_equal(&fk->want, &ev[0]);
        assert_event_equal(&ex->want, &ev[1]);
}

/* A message whose nlmsg_len is not a multiple of 4 is followed by padding: consumed includes it. */
static void test_unaligned_length_then_message(void **state) {
        const ParseCase *ec = find_case("exec"), *fk = find_case("fork-process");
        uint8_t buf[64 + MSG_LEN + 8];
        size_t used = 0, rejected, walked;
        PwEvent ev[4];

        memset(buf, 0x5a, sizeof(buf));
        build_msg(buf, &ec->ev, ec->seq, 0);
        /* 16 + 20 + 16 + 8 bytes of exec data, plus one stray byte: 61, aligned to 64. */
        put_u32(buf, OFF_NL_LEN, 61);
        put_u16(buf, OFF_CN_LEN, 25);
        build_msg(buf + 64, &fk->ev, fk->seq, 0);

        assert_int_equal(pw_event_parse(buf, 64 + MSG_LEN, NCPUS, &ev[0], &used, NULL), 0);
        assert_int_equal(used, 64);
        assert_event_equal(&ec->want, &ev[0]);

        assert_int_equal(walk(buf, 64 + MSG_LEN, ev, ELEMENTSOF(ev), &rejected, &walked), 2);
        assert_int_equal(rejected, 0);
        assert_int_equal(walked, 64 + MSG_LEN);
        assert_event_equal(&ec->want, &ev[0]);
        assert_event_equal(&fk->want, &ev[1]);

        /* Without room for the padding, consumed stops at the end of the buffer, never past it. */
        assert_int_equal(pw_event_parse(buf, 61, NCPUS, &ev[0], &used, NULL), 0);
        assert_int_equal(used, 61);
        assert_int_equal(pw_event_parse(buf, 62, NCPUS, &ev[0], &used, NULL), 0);
        assert_int_equal(used, 62);

        /* Trailing bytes too short for a header end the walk as one reject. */
        assert_int_equal(walk(buf, 64 + MSG_LEN + 8, ev, ELEMENTSOF(ev), &rejected, &walked), 2);
        assert_int_equal(rejected, 1);
        assert_int_equal(walked, 64 + MSG_LEN);
}

/* A rejected message with a sound netlink header is skipped, and the walk goes on. */
static void test_walk_skips_bad_message(void **state) {
        const ParseCase *a = find_case("exec"), *b = find_case("coredump");
        uint8_t buf[3 * MSG_LEN];
        size_t rejected, walked;
        PwEvent ev[4];

        build_msg(buf, &a->ev, a->seq, 0);
        build_msg(buf + MSG_LEN, &a->ev, a->seq, 0);
        put_u32(buf, MSG_LEN + OFF_CN_IDX, 7);
        build_msg(buf + 2 * MSG_LEN, &b->ev, b->seq, 0);

        assert_int_equal(walk(buf, sizeof(buf), ev, ELEMENTSOF(ev), &rejected, &walked), 2);
        assert_int_equal(rejected, 1);
        assert_int_equal(walked, sizeof(buf));
        assert_event_equal(&a->want, &ev[0]);
        assert_event_equal(&b->want, &ev[1]);
}

static void test_null_and_empty_buffer(void **state) {
        PwParseError why = _PW_PARSE_ERROR_MAX;
        size_t used = 1;
        uint8_t byte = 0;

        assert_int_equal(pw_event_parse(NULL, 0, NCPUS, NULL, &used, &why), -EBADMSG);
        assert_int_equal(why, PW_PARSE_TRUNCATED);
        assert_int_equal(used, 0);
        used = 1;
        assert_int_equal(pw_event_parse(NULL, MSG_LEN, NCPUS, NULL, &used, &why), -EBADMSG);
        assert_int_equal(used, 0);
        assert_int_equal(pw_event_parse(&byte, 0, NCPUS, NULL, &used, &why), -EBADMSG);
        assert_int_equal(why, PW_PARSE_TRUNCATED);
}

static void test_kind_strings(void **state) {
        static const char *const names[_PW_EVENT_KIND_MAX] = {
                [PW_EVENT_NONE] = "ack",        [PW_EVENT_FORK] = "fork",   [PW_EVENT_EXEC] = "exec",
                [PW_EVENT_UID] = "uid",         [PW_EVENT_GID] = "gid",     [PW_EVENT_SID] = "sid",
                [PW_EVENT_PTRACE] = "ptrace",   [PW_EVENT_COMM] = "comm",   [PW_EVENT_COREDUMP] = "coredump",
                [PW_EVENT_EXIT] = "exit",
        };

        for (int k = 0; k < _PW_EVENT_KIND_MAX; k++) {
                assert_string_equal(pw_event_kind_to_string((PwEventKind) k), names[k]);
                assert_int_equal(pw_event_kind_from_string(names[k]), k);
        }
        assert_null(pw_event_kind_to_string(_PW_EVENT_KIND_MAX));
        assert_null(pw_event_kind_to_string((PwEventKind) -1));
        assert_int_equal(pw_event_kind_from_string("none"), (PwEventKind) -1);
        assert_int_equal(pw_event_kind_from_string("FORK"), (PwEventKind) -1);
        assert_int_equal(pw_event_kind_from_string("fork "), (PwEventKind) -1);
        assert_int_equal(pw_event_kind_from_string(""), (PwEventKind) -1);
        assert_int_equal(pw_event_kind_from_string(NULL), (PwEventKind) -1);
}

static void test_parse_error_strings(void **state) {
        for (int i = 0; i < _PW_PARSE_ERROR_MAX; i++) {
                const char *s = pw_parse_error_to_string((PwParseError) i);

                assert_non_null(s);
                for (int j = 0; j < i; j++)
                        assert_string_not_equal(s, pw_parse_error_to_string((PwParseError) j));
        }
        assert_string_equal(pw_parse_error_to_string(PW_PARSE_BAD_CPU), "bad-cpu");
        assert_null(pw_parse_error_to_string(_PW_PARSE_ERROR_MAX));
        assert_null(pw_parse_error_to_string((PwParseError) -1));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_decode_every_kind),
                cmocka_unit_test(test_decode_unaligned),
                cmocka_unit_test(test_format_every_kind),
                cmocka_unit_test(test_format_truncates),
                cmocka_unit_test(test_format_unknown_kind),
                cmocka_unit_test(test_truncated_at_every_offset),
                cmocka_unit_test(test_shortened_at_every_offset),
                cmocka_unit_test(test_malformed),
                cmocka_unit_test(test_malformed_controls),
                cmocka_unit_test(test_cpu_bounds),
                cmocka_unit_test(test_two_messages),
                cmocka_unit_test(test_unaligned_length_then_message),
                cmocka_unit_test(test_walk_skips_bad_message),
                cmocka_unit_test(test_null_and_empty_buffer),
                cmocka_unit_test(test_kind_strings),
                cmocka_unit_test(test_parse_error_strings),
        };

        tc_init("cnproc-parse");

        return cmocka_run_group_tests(tests, NULL, NULL);
}
