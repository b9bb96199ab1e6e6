/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The proc-connector decoder. Fields are copied out with memcpy at fixed offsets of the kernel's
 * layout, so an unaligned or hostile buffer is never dereferenced as a struct. */
#include <errno.h>
#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cnproc-parse.h"
#include "macro.h"

/* Offsets in struct proc_event (uapi, stable since the fields were added). */
#define EV_OFF_WHAT 0
#define EV_OFF_CPU 4
#define EV_OFF_TIMESTAMP 8
#define EV_OFF_DATA 16

static const struct {
        uint32_t what;
        size_t data_size; /* bytes of event_data this kind needs */
} kinds[_PW_EVENT_KIND_MAX] = {
        [PW_EVENT_NONE] = { PROC_EVENT_NONE, 4 },
        [PW_EVENT_FORK] = { PROC_EVENT_FORK, 16 },
        [PW_EVENT_EXEC] = { PROC_EVENT_EXEC, 8 },
        [PW_EVENT_UID] = { PROC_EVENT_UID, 16 },
        [PW_EVENT_GID] = { PROC_EVENT_GID, 16 },
        [PW_EVENT_SID] = { PROC_EVENT_SID, 8 },
        [PW_EVENT_PTRACE] = { PROC_EVENT_PTRACE, 16 },
        [PW_EVENT_COMM] = { PROC_EVENT_COMM, 8 + PW_COMM_MAX },
        [PW_EVENT_COREDUMP] = { PROC_EVENT_COREDUMP, 16 },
        [PW_EVENT_EXIT] = { PROC_EVENT_EXIT, 24 },
};

static const char *const parse_errors[_PW_PARSE_ERROR_MAX] = {
        [PW_PARSE_TRUNCATED] = "truncated",
        [PW_PARSE_BAD_TYPE] = "bad-type",
        [PW_PARSE_BAD_ID] = "bad-id",
        [PW_PARSE_BAD_LEN] = "bad-len",
        [PW_PARSE_BAD_CPU] = "bad-cpu",
        [PW_PARSE_UNKNOWN_KIND] = "unknown-kind",
};

const char *pw_parse_error_to_string(PwParseError e) {
        if ((unsigned) e >= _PW_PARSE_ERROR_MAX)
                return NULL;
        return parse_errors[e];
}

static uint32_t get_u32(const uint8_t *p) {
        uint32_t v;
        memcpy(&v, p, sizeof(v));
        return v;
}

static uint16_t get_u16(const uint8_t *p) {
        uint16_t v;
        memcpy(&v, p, sizeof(v));
        return v;
}

static uint64_t get_u64(const uint8_t *p) {
        uint64_t v;
        memcpy(&v, p, sizeof(v));
        return v;
}

static pid_t get_pid(const uint8_t *p) {
        return (pid_t) get_u32(p);
}

static int reject(PwParseError why, PwParseError *reason) {
        if (reason)
                *reason = why;
        return -EBADMSG;
}

int pw_event_parse(const void *buf, size_t len, uint32_t ncpus, PwEvent *ret, size_t *consumed,
                   PwParseError *reason) {
        const uint8_t *p = buf, *cn, *ev, *d;
        size_t skip = 0, nl_len, payload, cn_len;
        uint32_t what;
        int kind = -1;

        if (consumed)
                *consumed = 0;

        /* The netlink header: its own length must fit in what we were given. */
        if (!p || len < NLMSG_HDRLEN)
                return reject(PW_PARSE_TRUNCATED, reason);
        nl_len = get_u32(p + offsetof(struct nlmsghdr, nlmsg_len));
        if (nl_len < NLMSG_HDRLEN || nl_len > len)
                return reject(PW_PARSE_TRUNCATED, reason);
        skip = MIN((size_t) NLMSG_ALIGN(nl_len), len);
        if (consumed)
                *consumed = skip;

        /* The connector sends every event as NLMSG_DONE. */
        if (get_u16(p + offsetof(struct nlmsghdr, nlmsg_type)) != NLMSG_DONE)
                return reject(PW_PARSE_BAD_TYPE, reason);

        payload = nl_len - NLMSG_HDRLEN;
        if (payload < sizeof(struct cn_msg))
                return reject(PW_PARSE_TRUNCATED, reason);
        cn = p + NLMSG_HDRLEN;
        if (get_u32(cn + offsetof(struct cn_msg, id.idx)) != CN_IDX_PROC ||
            get_u32(cn + offsetof(struct cn_msg, id.val)) != CN_VAL_PROC)
                return reject(PW_PARSE_BAD_ID, reason);

        cn_len = get_u16(cn + offsetof(struct cn_msg, len));
        if (cn_len > payload - sizeof(struct cn_msg))
                return reject(PW_PARSE_BAD_LEN, reason);
        if (cn_len < EV_OFF_DATA)
                return reject(PW_PARSE_TRUNCATED, reason);

        ev = cn + sizeof(struct cn_msg);
        what = get_u32(ev + EV_OFF_WHAT);
        for (unsigned k = 0; k < _PW_EVENT_KIND_MAX; k++)
                if (kinds[k].what == what) {
                        kind = (int) k;
                        break;
                }
        if (kind < 0)
                return reject(PW_PARSE_UNKNOWN_KIND, reason);
        if (cn_len < EV_OFF_DATA + kinds[kind].data_size)
                return reject(PW_PARSE_TRUNCATED, reason);

        PwEvent e = {
                .kind = (PwEventKind) kind,
                .cpu = get_u32(ev + EV_OFF_CPU),
                .seq = get_u32(cn + offsetof(struct cn_msg, seq)),
                .cn_ack = get_u32(cn + offsetof(struct cn_msg, ack)),
                .timestamp_ns = get_u64(ev + EV_OFF_TIMESTAMP),
        };
        if (e.cpu >= ncpus && !(e.kind == PW_EVENT_NONE && e.cpu == PW_CPU_NONE))
                return reject(PW_PARSE_BAD_CPU, reason);

        d = ev + EV_OFF_DATA;
        switch (e.kind) {
        case PW_EVENT_NONE:
                e.ack.err = get_u32(d);
                break;
        case PW_EVENT_FORK:
                e.fork.parent_pid = get_pid(d);
                e.fork.parent_tgid = get_pid(d + 4);
                e.fork.child_pid = get_pid(d + 8);
                e.fork.child_tgid = get_pid(d + 12);
                break;
        case PW_EVENT_EXEC:
                e.exec.pid = get_pid(d);
                e.exec.tgid = get_pid(d + 4);
                break;
        case PW_EVENT_SID:
                e.sid.pid = get_pid(d);
                e.sid.tgid = get_pid(d + 4);
                break;
        case PW_EVENT_UID:
        case PW_EVENT_GID:
                e.id.pid = get_pid(d);
                e.id.tgid = get_pid(d + 4);
                e.id.real = get_u32(d + 8);
                e.id.effective = get_u32(d + 12);
                break;
        case PW_EVENT_PTRACE:
                e.ptrace.pid = get_pid(d);
                e.ptrace.tgid = get_pid(d + 4);
                e.ptrace.tracer_pid = get_pid(d + 8);
                e.ptrace.tracer_tgid = get_pid(d + 12);
                break;
        case PW_EVENT_COMM:
                e.comm.pid = get_pid(d);
                e.comm.tgid = get_pid(d + 4);
                memcpy(e.comm.comm, d + 8, PW_COMM_MAX);
                e.comm.comm[PW_COMM_MAX] = '\0';
                break;
        case PW_EVENT_COREDUMP:
                e.coredump.pid = get_pid(d);
                e.coredump.tgid = get_pid(d + 4);
                e.coredump.parent_pid = get_pid(d + 8);
                e.coredump.parent_tgid = get_pid(d + 12);
                break;
        case PW_EVENT_EXIT:
                e.exit.pid = get_pid(d);
                e.exit.tgid = get_pid(d + 4);
                e.exit.code = get_u32(d + 8);
                e.exit.signal = (int32_t) get_u32(d + 12);
                e.exit.parent_pid = get_pid(d + 16);
                e.exit.parent_tgid = get_pid(d + 20);
                break;
        default:
                return reject(PW_PARSE_UNKNOWN_KIND, reason);
        }

        if (ret)
                *ret = e;
        return 0;
}

pid_t pw_event_tid(const PwEvent *ev) {
        switch (ev->kind) {
        case PW_EVENT_FORK:
                return ev->fork.child_pid;
        case PW_EVENT_EXEC:
                return ev->exec.pid;
        case PW_EVENT_SID:
                return ev->sid.pid;
        case PW_EVENT_UID:
        case PW_EVENT_GID:
                return ev->id.pid;
        case PW_EVENT_PTRACE:
                return ev->ptrace.pid;
        case PW_EVENT_COMM:
                return ev->comm.pid;
        case PW_EVENT_COREDUMP:
                return ev->coredump.pid;
        case PW_EVENT_EXIT:
                return ev->exit.pid;
        default:
                return 0;
        }
}

pid_t pw_event_tgid(const PwEvent *ev) {
        switch (ev->kind) {
        case PW_EVENT_FORK:
                return ev->fork.child_tgid;
        case PW_EVENT_EXEC:
                return ev->exec.tgid;
        case PW_EVENT_SID:
                return ev->sid.tgid;
        case PW_EVENT_UID:
        case PW_EVENT_GID:
                return ev->id.tgid;
        case PW_EVENT_PTRACE:
                return ev->ptrace.tgid;
        case PW_EVENT_COMM:
                return ev->comm.tgid;
        case PW_EVENT_COREDUMP:
                return ev->coredump.tgid;
        case PW_EVENT_EXIT:
                return ev->exit.tgid;
        default:
                return 0;
        }
}

int pw_parse_netlink_drops(const char *text, unsigned long inode, uint64_t *ret) {
        int col_drops = -1, col_inode = -1, col = 0;
        const char *p = text, *eol;

        if (!text)
                return -EINVAL;

        /* The header names the columns; find ours by name, not by position. */
        eol = strchrnul(p, '\n');
        for (const char *q = p; q < eol;) {
                size_t n;

                q += strspn(q, " \t");
                if (q >= eol)
                        break;
                n = strcspn(q, " \t\n");
                if (n == 5 && strncmp(q, "Drops", 5) == 0)
                        col_drops = col;
                else if (n == 5 && strncmp(q, "Inode", 5) == 0)
                        col_inode = col;
                col++;
                q += n;
        }
        if (col_drops < 0 || col_inode < 0)
                return -EBADMSG;

        for (p = *eol ? eol + 1 : eol; *p; p = *eol ? eol + 1 : eol) {
                unsigned long long v_drops = 0, v_inode = 0;
                bool have_drops = false, have_inode = false;

                eol = strchrnul(p, '\n');
                col = 0;
                for (const char *q = p; q < eol; col++) {
                        char *end;
                        unsigned long long v;
                        size_t n;

                        q += strspn(q, " \t");
                        if (q >= eol)
                                break;
                        n = strcspn(q, " \t\n");
                        if (col == col_drops || col == col_inode) {
                                errno = 0;
                                v = strtoull(q, &end, 10);
                                if (errno == 0 && end == q + n) {
                                        if (col == col_drops) {
                                                v_drops = v;
                                                have_drops = true;
                                        } else {
                                                v_inode = v;
                                                have_inode = true;
                                        }
                                }
                        }
                        q += n;
                }
                if (have_drops && have_inode && v_inode == inode) {
                        *ret = v_drops;
                        return 0;
                }
        }
        return -ENOENT;
}

int pw_parse_cpu_count(const char *text, uint32_t *ret) {
        unsigned long highest = 0;
        bool any = false;
        const char *p = text;

        if (!text)
                return -EINVAL;
        for (;;) {
                unsigned long a, b;
                char *end;

                p += strspn(p, " \t");
                if (*p == '\n' || *p == '\0')
                        break;
                if (*p < '0' || *p > '9')
                        return -EINVAL;
                errno = 0;
                a = strtoul(p, &end, 10);
                if (errno != 0)
                        return -EINVAL;
                b = a;
                p = end;
                if (*p == '-') {
                        p++;
                        if (*p < '0' || *p > '9')
                                return -EINVAL;
                        b = strtoul(p, &end, 10);
                        if (errno != 0 || b < a)
                                return -EINVAL;
                        p = end;
                }
                if (b >= 65536)
                        return -EINVAL;
                highest = MAX(highest, b);
                any = true;
                if (*p == ',')
                        p++;
                else if (*p != '\n' && *p != '\0' && *p != ' ')
                        return -EINVAL;
        }
        if (!any)
                return -EINVAL;
        *ret = (uint32_t) highest + 1;
        return 0;
}

static void escape_comm(const char *in, char *out, size_t size) {
        static const char hex[] = "0123456789abcdef";
        size_t o = 0;

        for (const unsigned char *p = (const unsigned char *) in; *p && o + 5 <= size; p++) {
                if (*p > ' ' && *p < 0x7f && *p != '\\' && *p != '=')
                        out[o++] = (char) *p;
                else {
                        out[o++] = '\\';
                        out[o++] = 'x';
                        out[o++] = hex[*p >> 4];
                        out[o++] = hex[*p & 15];
                }
        }
        out[o] = '\0';
}

size_t pw_event_format(const PwEvent *ev, char *buf, size_t size) {
        char comm[PW_COMM_MAX * 4 + 1];
        int n, m = 0;

        if (size == 0)
                return 0;
        n = snprintf(buf, size, "ts=%llu cpu=%lld seq=%u event=%s", (unsigned long long) ev->timestamp_ns,
                     ev->cpu == PW_CPU_NONE ? -1LL : (long long) ev->cpu, ev->seq,
                     pw_event_kind_to_string(ev->kind) ?: "?");
        if (n < 0 || (size_t) n >= size)
                return n < 0 ? 0 : size - 1;

        switch (ev->kind) {
        case PW_EVENT_NONE:
                m = snprintf(buf + n, size - n, " ack=%u err=%u", ev->cn_ack, ev->ack.err);
                break;
        case PW_EVENT_FORK:
                m = snprintf(buf + n, size - n, " parent_pid=%d parent_tgid=%d child_pid=%d child_tgid=%d",
                             ev->fork.parent_pid, ev->fork.parent_tgid, ev->fork.child_pid,
                             ev->fork.child_tgid);
                break;
        case PW_EVENT_EXEC:
                m = snprintf(buf + n, size - n, " pid=%d tgid=%d", ev->exec.pid, ev->exec.tgid);
                break;
        case PW_EVENT_SID:
                m = snprintf(buf + n, size - n, " pid=%d tgid=%d", ev->sid.pid, ev->sid.tgid);
                break;
        case PW_EVENT_UID:
                m = snprintf(buf + n, size - n, " pid=%d tgid=%d ruid=%u euid=%u", ev->id.pid, ev->id.tgid,
                             ev->id.real, ev->id.effective);
                break;
        case PW_EVENT_GID:
                m = snprintf(buf + n, size - n, " pid=%d tgid=%d rgid=%u egid=%u", ev->id.pid, ev->id.tgid,
                             ev->id.real, ev->id.effective);
                break;
        case PW_EVENT_PTRACE:
                m = snprintf(buf + n, size - n, " pid=%d tgid=%d tracer_pid=%d tracer_tgid=%d", ev->ptrace.pid,
                             ev->ptrace.tgid, ev->ptrace.tracer_pid, ev->ptrace.tracer_tgid);
                break;
        case PW_EVENT_COMM:
                escape_comm(ev->comm.comm, comm, sizeof(comm));
                m = snprintf(buf + n, size - n, " pid=%d tgid=%d comm=%s", ev->comm.pid, ev->comm.tgid, comm);
                break;
        case PW_EVENT_COREDUMP:
                m = snprintf(buf + n, size - n, " pid=%d tgid=%d parent_pid=%d parent_tgid=%d",
                             ev->coredump.pid, ev->coredump.tgid, ev->coredump.parent_pid,
                             ev->coredump.parent_tgid);
                break;
        case PW_EVENT_EXIT:
                m = snprintf(buf + n, size - n,
                             " pid=%d tgid=%d exit_code=%u exit_signal=%d parent_pid=%d parent_tgid=%d",
                             ev->exit.pid, ev->exit.tgid, ev->exit.code, ev->exit.signal, ev->exit.parent_pid,
                             ev->exit.parent_tgid);
                break;
        default:
                break;
        }
        if (m < 0)
                return (size_t) n;
        return MIN((size_t) n + (size_t) m, size - 1);
}
