/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Journal entries for process events (see journal-entry.h). */
#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "format-util.h"
#include "journal-entry.h"
#include "resources.h"
#include "procfs.h"
#include "procwatch/message-ids.h"
#include "utf8.h"

/* Fields are collected in the builder's growing buffer (kept between entries by a reused builder),
 * by offset, since the buffer may move; the iovecs are set once it is complete. */
static bool reserve(PwJournalBuilder *b, size_t more) {
        size_t na;
        char *nb;

        if (b->failed)
                return false;
        if (b->len + more <= b->alloc)
                return true;
        na = MAX(b->alloc * 2, b->len + more + 1024);
        nb = realloc(b->buf, na);
        if (!nb) {
                b->failed = true;
                return false;
        }
        b->buf = nb;
        b->alloc = na;
        return true;
}

/* One field: "NAME=" then n raw bytes. Fields beyond PW_JOURNAL_FIELDS_MAX - 1 (one slot is kept for
 * the writer) cannot happen with the fixed list below; they would be dropped. */
static void field_n(PwJournalBuilder *b, const char *name, size_t nl, const void *value, size_t n) {
        if (b->n >= PW_JOURNAL_FIELDS_MAX - 1 || !reserve(b, nl + 1 + n))
                return;
        b->off[b->n] = b->len;
        memcpy(b->buf + b->len, name, nl);
        b->buf[b->len + nl] = '=';
        if (n > 0)
                memcpy(b->buf + b->len + nl + 1, value, n);
        b->len += nl + 1 + n;
        b->flen[b->n] = nl + 1 + n;
        b->n++;
}

/* name is a string literal: its length is known at compile time. */
#define field(b, name, value, n) field_n(b, name, strlen(name), value, n)

static void field_str(PwJournalBuilder *b, const char *name, const char *s) {
        field(b, name, s, strlen(s));
}

/* Numbers in decimal, as printf's %llu and %lld write them: these are most of an entry's fields. */
static size_t format_u64(char *buf, uint64_t v) {
        char tmp[20];
        size_t n = 0, i = 0;

        do
                tmp[n++] = (char) ('0' + v % 10);
        while ((v /= 10) > 0);
        while (n > 0)
                buf[i++] = tmp[--n];
        return i;
}

static void field_u64(PwJournalBuilder *b, const char *name, uint64_t v) {
        char s[24];

        field(b, name, s, format_u64(s, v));
}

static void field_i64(PwJournalBuilder *b, const char *name, int64_t v) {
        char s[24];

        if (v >= 0)
                field(b, name, s, format_u64(s, (uint64_t) v));
        else {
                s[0] = '-';
                field(b, name, s, 1 + format_u64(s + 1, -(uint64_t) v));
        }
}

void pw_journal_builder_reset(PwJournalBuilder *b) {
        b->len = 0;
        b->n = 0;
        b->failed = false;
}

void pw_journal_builder_done(PwJournalBuilder *b) {
        b->buf = mfree(b->buf);
        b->tmp = mfree(b->tmp);
        b->alloc = b->tmp_alloc = 0;
        pw_journal_builder_reset(b);
}

/* The builder's second buffer (the joined command line), at least size bytes. */
static char *builder_tmp(PwJournalBuilder *b, size_t size) {
        if (size > b->tmp_alloc) {
                char *nt = realloc(b->tmp, size);

                if (!nt)
                        return NULL;
                b->tmp = nt;
                b->tmp_alloc = size;
        }
        return b->tmp;
}

size_t pw_journal_builder_iov(PwJournalBuilder *b, struct iovec *iov) {
        for (size_t i = 0; i < b->n; i++)
                iov[i] = (struct iovec){ .iov_base = b->buf + b->off[i], .iov_len = b->flen[i] };
        return b->n;
}

/* Copies what b holds into one malloc'ed entry, with room for the iovec the writer adds. */
static int builder_finish(PwJournalBuilder *b, PwJournalEntry **ret) {
        PwJournalEntry *e;
        size_t iov_size = (b->n + 1) * sizeof(struct iovec);

        if (b->failed)
                return -ENOMEM;
        e = malloc(sizeof(*e) + iov_size + b->len + 1);
        if (!e)
                return -ENOMEM;
        *e = (PwJournalEntry){ .n_iov = b->n, .bytes = b->len, .iov = (struct iovec *) (void *) e->data };
        if (b->len > 0)
                memcpy(e->data + iov_size, b->buf, b->len);
        e->data[iov_size + b->len] = '\0';
        for (size_t i = 0; i < b->n; i++)
                e->iov[i] = (struct iovec){ .iov_base = e->data + iov_size + b->off[i], .iov_len = b->flen[i] };
        *ret = e;
        return 0;
}

size_t pw_journal_escape(const char *s, size_t n, char *out, size_t size) {
        size_t o = strnlen(out, size);

        for (size_t i = 0, k; i < n; i += k) {
                char tmp[UTF8_ESCAPE_MAX];
                size_t tl;

                /* Printable ASCII, most of what is written, as it is. */
                if ((unsigned char) s[i] >= 0x20 && (unsigned char) s[i] < 0x7f && s[i] != '\\') {
                        if (size > 0 && o + 1 < size)
                                out[o] = s[i];
                        else if (size > 0 && o < size)
                                size = o + 1;
                        o++;
                        k = 1;
                        continue;
                }
                tl = utf8_escape_next(s + i, n - i, true, tmp, &k);
                if (size > 0 && o + tl < size)
                        memcpy(out + o, tmp, tl);
                else if (size > 0 && o < size)
                        size = o + 1; /* stop writing: never cut a sequence in two */
                o += tl;
        }
        if (size > 0)
                out[MIN(o, size - 1)] = '\0';
        return o;
}

/* Appends printf output to the MESSAGE line. */
_printf_(3, 4) static void msg_fmt(char *msg, size_t size, const char *fmt, ...) {
        size_t o = strnlen(msg, size);
        va_list ap;

        if (o + 1 >= size)
                return;
        va_start(ap, fmt);
        (void) vsnprintf(msg + o, size - o, fmt, ap);
        va_end(ap);
}

static void msg_esc(char *msg, size_t size, const char *s, size_t n) {
        (void) pw_journal_escape(s, n, msg, size);
}

/* msg_fmt(msg, size, "%s", s) and "%d" without printf: the parts every exec and exit entry has. */
static void msg_str(char *msg, size_t size, const char *s) {
        size_t o = strnlen(msg, size), n = strlen(s);

        if (o + 1 >= size)
                return;
        n = MIN(n, size - o - 1);
        memcpy(msg + o, s, n);
        msg[o + n] = '\0';
}

static void msg_int(char *msg, size_t size, int64_t v) {
        char s[24];
        size_t n = 0;

        if (v < 0)
                s[n++] = '-';
        n += format_u64(s + n, v < 0 ? -(uint64_t) v : (uint64_t) v);
        s[n] = '\0';
        msg_str(msg, size, s);
}

/* The wait status of a process's end: -1 when not known (events were lost). */
static int exit_status(const PwEvent *ev, const PwApplyResult *res, const PwProcess *p) {
        if (res->process_ended) {
                if (p->uncertain & PW_UNCERTAIN_EXIT)
                        return -1;
                return (int) p->exit_code;
        }
        return (int) ev->exit.code;
}

int pw_journal_priority(const PwEvent *ev, const PwApplyResult *res, const PwProcess *p) {
        int st;

        if (ev->kind == PW_EVENT_COREDUMP)
                return PW_JOURNAL_PRIORITY_WARNING;
        if (ev->kind != PW_EVENT_EXIT || !p)
                return PW_JOURNAL_PRIORITY_INFO;
        st = exit_status(ev, res, p);
        if (st < 0)
                return PW_JOURNAL_PRIORITY_INFO;
        if (WIFSIGNALED(st) || (res->process_ended && p->coredumped))
                return PW_JOURNAL_PRIORITY_WARNING;
        if (WIFEXITED(st) && WEXITSTATUS(st) != 0)
                return PW_JOURNAL_PRIORITY_NOTICE;
        return PW_JOURNAL_PRIORITY_INFO;
}

static const char *message_id(PwEventKind k) {
        switch (k) {
        case PW_EVENT_FORK:
                return PW_MESSAGE_FORK;
        case PW_EVENT_EXEC:
                return PW_MESSAGE_EXEC;
        case PW_EVENT_EXIT:
                return PW_MESSAGE_EXIT;
        case PW_EVENT_UID:
                return PW_MESSAGE_UID;
        case PW_EVENT_GID:
                return PW_MESSAGE_GID;
        case PW_EVENT_SID:
                return PW_MESSAGE_SID;
        case PW_EVENT_PTRACE:
                return PW_MESSAGE_PTRACE;
        case PW_EVENT_COMM:
                return PW_MESSAGE_COMM;
        case PW_EVENT_COREDUMP:
                return PW_MESSAGE_COREDUMP;
        default:
                return NULL;
        }
}


/* The command line for PROCWATCH_CMDLINE: words joined by spaces, cut at PW_JOURNAL_CMDLINE_MAX. */
static char *join_argv(PwJournalBuilder *b, const char *argv, size_t len, size_t max, size_t *ret_len,
                       bool *truncated) {
        size_t n = MIN(len, max);
        char *s = builder_tmp(b, n + 1);

        if (!s)
                return NULL;
        for (size_t i = 0; i < n; i++)
                s[i] = argv[i] == '\0' ? ' ' : argv[i];
        s[n] = '\0';
        *ret_len = n;
        *truncated = len > max;
        return s;
}

int pw_journal_builder_build(PwJournalBuilder *b, const PwEvent *ev, const PwApplyResult *res,
                             const PwProcess *p, const PwJournalContext *ctx) {
        /* Not zeroed: msg_fmt() and msg_esc() append after the first NUL. */
        char msg[PW_JOURNAL_MESSAGE_CMDLINE_MAX * 4 + 512], sig[32], dur[32];
        const char *kind = pw_event_kind_to_string(ev->kind), *mid = message_id(ev->kind);
        PwArgvMode mode = ctx && ctx->filter ? ctx->filter->argv_mode : PW_ARGV_FULL;
        _cleanup_(freep) char *redacted = NULL;
        char *cmdline = NULL;
        const char *argv = NULL;
        size_t argv_len = 0, cmdline_len = 0;
        bool cmdline_cut = false, start_known, ids_known;
        uint64_t duration_usec = 0;
        int status = -1, r;

        pw_journal_builder_reset(b);
        msg[0] = '\0';
        if (!p || !kind || !mid)
                return -EINVAL;
        start_known = !(p->uncertain & PW_UNCERTAIN_START) && p->start_ns > 0;
        ids_known = !(p->uncertain & PW_UNCERTAIN_IDS);

        /* The command line, redacted as asked, before anything is built from it. */
        if (p->argv && mode != PW_ARGV_NONE) {
                argv = p->argv->data;
                argv_len = p->argv->len;
                if (mode == PW_ARGV_REDACT && ctx->filter->n_redact > 0) {
                        r = pw_journal_redact_argv(ctx->filter, argv, argv_len, &redacted, &argv_len);
                        if (r < 0)
                                return r;
                        argv = redacted;
                }
                cmdline = join_argv(b, argv, argv_len, PW_JOURNAL_CMDLINE_MAX, &cmdline_len, &cmdline_cut);
                if (!cmdline)
                        return -ENOMEM;
                cmdline_cut = cmdline_cut || p->argv_truncated;
        }
        if (ev->kind == PW_EVENT_EXIT) {
                status = exit_status(ev, res, p);
                if (start_known && p->exit_ns > p->start_ns)
                        duration_usec = (p->exit_ns - p->start_ns) / 1000U;
        }

        /* MESSAGE: one line, "KIND PID ..." */
        msg_str(msg, sizeof(msg), kind);
        msg_str(msg, sizeof(msg), " ");
        msg_int(msg, sizeof(msg), (int) p->pid);
        msg_str(msg, sizeof(msg), " ");
        if (res->thread && !res->process_ended && pw_event_tid(ev) != p->pid)
                msg_fmt(msg, sizeof(msg), "thread %d ", (int) pw_event_tid(ev));
        switch (ev->kind) {
        case PW_EVENT_EXEC:
                if (p->exe)
                        msg_esc(msg, sizeof(msg), p->exe->data, p->exe->len);
                else
                        msg_esc(msg, sizeof(msg), p->comm, strnlen(p->comm, sizeof(p->comm)));
                if (cmdline) {
                        /* argv[0] is said by the exe already. */
                        const char *args = memchr(cmdline, ' ', cmdline_len);

                        if (args) {
                                size_t n = cmdline_len - (size_t) (args - cmdline);

                                msg_esc(msg, sizeof(msg), args, MIN(n, PW_JOURNAL_MESSAGE_CMDLINE_MAX));
                                if (n > PW_JOURNAL_MESSAGE_CMDLINE_MAX || cmdline_cut)
                                        msg_fmt(msg, sizeof(msg), "...");
                        }
                }
                msg_str(msg, sizeof(msg), " (parent ");
                msg_int(msg, sizeof(msg), (int) p->ppid);
                msg_str(msg, sizeof(msg), " ");
                if (proctree_parent(p))
                        msg_esc(msg, sizeof(msg), proctree_parent(p)->comm,
                                strnlen(proctree_parent(p)->comm, sizeof(p->comm)));
                else
                        msg_fmt(msg, sizeof(msg), "?");
                if (ids_known) {
                        msg_str(msg, sizeof(msg), ", uid ");
                        msg_int(msg, sizeof(msg), p->uid);
                        msg_str(msg, sizeof(msg), ")");
                } else
                        msg_fmt(msg, sizeof(msg), ")");
                break;
        case PW_EVENT_EXIT:
                msg_esc(msg, sizeof(msg), p->comm, strnlen(p->comm, sizeof(p->comm)));
                if (status < 0)
                        msg_fmt(msg, sizeof(msg), ": status unknown (events were lost)");
                else if (WIFSIGNALED(status))
                        msg_fmt(msg, sizeof(msg), ": killed by %s%s", format_signal(sig, sizeof(sig), WTERMSIG(status)),
                                WCOREDUMP(status) || (res->process_ended && p->coredumped) ? " (core dumped)" : "");
                else {
                        msg_str(msg, sizeof(msg), ": status ");
                        msg_int(msg, sizeof(msg), WEXITSTATUS(status));
                }
                if (start_known) {
                        format_duration(dur, sizeof(dur), duration_usec, FORMAT_DURATION_MSEC);
                        msg_str(msg, sizeof(msg), " after ");
                        msg_str(msg, sizeof(msg), dur);
                }
                if (res->process_ended && (pw_process_has_resources(p) || (ctx && ctx->resources)))
                        (void) pw_resources_message(p, msg, sizeof(msg));
                break;
        case PW_EVENT_FORK:
                msg_esc(msg, sizeof(msg), p->comm, strnlen(p->comm, sizeof(p->comm)));
                msg_fmt(msg, sizeof(msg), " (parent %d)", (int) p->ppid);
                break;
        case PW_EVENT_UID:
        case PW_EVENT_GID:
                msg_esc(msg, sizeof(msg), p->comm, strnlen(p->comm, sizeof(p->comm)));
                msg_fmt(msg, sizeof(msg), ": %s %" PRIu32 ", effective %" PRIu32, kind, ev->id.real, ev->id.effective);
                break;
        case PW_EVENT_SID:
                msg_esc(msg, sizeof(msg), p->comm, strnlen(p->comm, sizeof(p->comm)));
                msg_fmt(msg, sizeof(msg), ": new session %d", (int) ev->sid.pid);
                break;
        case PW_EVENT_PTRACE:
                msg_esc(msg, sizeof(msg), p->comm, strnlen(p->comm, sizeof(p->comm)));
                if (ev->ptrace.tracer_tgid > 0)
                        msg_fmt(msg, sizeof(msg), ": traced by %d", (int) ev->ptrace.tracer_tgid);
                else
                        msg_fmt(msg, sizeof(msg), ": no longer traced");
                break;
        case PW_EVENT_COMM:
                if (!res->thread && p->n_comm_history > 0) {
                        const PwCommChange *c = &p->comm_history[p->n_comm_history - 1];

                        msg_esc(msg, sizeof(msg), c->old_comm, strnlen(c->old_comm, sizeof(c->old_comm)));
                        msg_fmt(msg, sizeof(msg), " -> ");
                }
                msg_esc(msg, sizeof(msg), ev->comm.comm, strnlen(ev->comm.comm, sizeof(ev->comm.comm)));
                break;
        case PW_EVENT_COREDUMP:
                msg_esc(msg, sizeof(msg), p->comm, strnlen(p->comm, sizeof(p->comm)));
                msg_fmt(msg, sizeof(msg), ": dumping core");
                break;
        default:
                break;
        }

        field_str(b, "MESSAGE", msg);
        field_str(b, "MESSAGE_ID", mid);
        field_i64(b, "PRIORITY", pw_journal_priority(ev, res, p));
        field_str(b, "SYSLOG_IDENTIFIER", "procwatchd");
        field_str(b, "PROCWATCH_EVENT", kind);
        field(b, "PROCWATCH_ID", p->id, strnlen(p->id, sizeof(p->id)));
        field_i64(b, "PROCWATCH_PID", (int) p->pid);
        if (pw_event_tid(ev) > 0)
                field_i64(b, "PROCWATCH_TID", (int) pw_event_tid(ev));
        if (p->ppid > 0)
                field_i64(b, "PROCWATCH_PPID", (int) p->ppid);
        if (proctree_parent(p))
                field(b, "PROCWATCH_PARENT_COMM", proctree_parent(p)->comm, strnlen(proctree_parent(p)->comm, sizeof(p->comm)));
        field(b, "PROCWATCH_COMM", p->comm, strnlen(p->comm, sizeof(p->comm)));
        if (p->exe)
                field(b, "PROCWATCH_EXE", p->exe->data, MIN(p->exe->len, PW_JOURNAL_VALUE_MAX));
        if (cmdline) {
                field(b, "PROCWATCH_CMDLINE", cmdline, cmdline_len);
                if (cmdline_cut)
                        field_str(b, "PROCWATCH_CMDLINE_TRUNCATED", "1");
        }
        if (ids_known) {
                field_u64(b, "PROCWATCH_UID", p->uid);
                field_u64(b, "PROCWATCH_EUID", p->euid);
                field_u64(b, "PROCWATCH_GID", p->gid);
                field_u64(b, "PROCWATCH_EGID", p->egid);
        }
        if (p->sid > 0)
                field_i64(b, "PROCWATCH_SID", (int) p->sid);
        /* System and user unit apart, from the cgroup's system part and its user manager's part
         * (pw_cgroup_to_units()): no user can give its process a system unit's name. */
        if (p->unit) {
                field(b, "PROCWATCH_UNIT", p->unit->data, MIN(p->unit->len, PW_JOURNAL_VALUE_MAX));
                field(b, "OBJECT_SYSTEMD_UNIT", p->unit->data, MIN(p->unit->len, PW_JOURNAL_VALUE_MAX));
        }
        if (p->user_unit) {
                field(b, "PROCWATCH_USER_UNIT", p->user_unit->data, MIN(p->user_unit->len, PW_JOURNAL_VALUE_MAX));
                field(b, "OBJECT_SYSTEMD_USER_UNIT", p->user_unit->data,
                      MIN(p->user_unit->len, PW_JOURNAL_VALUE_MAX));
        }
        if (p->cgroup)
                field(b, "PROCWATCH_CGROUP", p->cgroup->data, MIN(p->cgroup->len, PW_JOURNAL_VALUE_MAX));
        if (ev->kind == PW_EVENT_EXIT && status >= 0) {
                if (WIFEXITED(status))
                        field_i64(b, "PROCWATCH_EXIT_CODE", WEXITSTATUS(status));
                if (WIFSIGNALED(status)) {
                        field_i64(b, "PROCWATCH_EXIT_SIGNAL", WTERMSIG(status));
                        field_str(b, "PROCWATCH_CORE_DUMPED",
                                  WCOREDUMP(status) || (res->process_ended && p->coredumped) ? "1" : "0");
                }
        }
        if (ev->kind == PW_EVENT_EXIT && start_known)
                field_u64(b, "PROCWATCH_DURATION_USEC", duration_usec);
        if (ev->kind == PW_EVENT_EXIT && res->process_ended) {
                PwResourcesField rf[PW_RESOURCES_FIELDS_MAX];
                size_t n = pw_resources_journal_fields(p, rf, ELEMENTSOF(rf));

                for (size_t i = 0; i < n; i++) {
                        static const char prefix[] = "PROCWATCH_";
                        char name[64];
                        size_t k = strlen(rf[i].name);

                        if (sizeof(prefix) + k > sizeof(name))
                                continue;
                        memcpy(name, prefix, sizeof(prefix) - 1);
                        memcpy(name + sizeof(prefix) - 1, rf[i].name, k + 1);
                        field_u64(b, name, rf[i].value);
                }
                if (n == 0 && ctx && ctx->resources)
                        field_str(b, "PROCWATCH_RESOURCES", "unknown");
        }
        if (start_known && ctx) {
                int64_t t;

                if (p->start_ns <= INT64_MAX &&
                    !__builtin_add_overflow((int64_t) p->start_ns, ctx->realtime_offset_ns, &t) && t > 0)
                        field_u64(b, "PROCWATCH_START_REALTIME_USEC", (uint64_t) t / 1000U);
        }
        field_u64(b, "PROCWATCH_KERNEL_TIMESTAMP_NS", ev->timestamp_ns);
        if (ev->kind == PW_EVENT_PTRACE)
                field_i64(b, "PROCWATCH_TRACER_PID", (int) ev->ptrace.tracer_tgid);
        else if (p->tracer > 0)
                field_i64(b, "PROCWATCH_TRACER_PID", (int) p->tracer);
        if (ev->kind == PW_EVENT_COMM && !res->thread && p->n_comm_history > 0) {
                const PwCommChange *c = &p->comm_history[p->n_comm_history - 1];

                field(b, "PROCWATCH_OLD_COMM", c->old_comm, strnlen(c->old_comm, sizeof(c->old_comm)));
        }

        if (b->failed)
                return -ENOMEM;
        b->want_user = ids_known;
        b->user_uid = p->uid;
        return 0;
}

int pw_journal_entry_build(const PwEvent *ev, const PwApplyResult *res, const PwProcess *p,
                           const PwJournalContext *ctx, PwJournalEntry **ret) {
        _cleanup_(pw_journal_builder_done) PwJournalBuilder b = {};
        int r;

        r = pw_journal_builder_build(&b, ev, res, p, ctx);
        if (r < 0)
                return r;
        r = builder_finish(&b, ret);
        if (r < 0)
                return r;
        (*ret)->want_user = b.want_user;
        (*ret)->user_uid = b.user_uid;
        return 0;
}

int pw_journal_entry_message(const char *mid, int priority, const char *message, const char *const *extra,
                             PwJournalEntry **ret) {
        _cleanup_(pw_journal_builder_done) PwJournalBuilder b = {};

        field_str(&b, "MESSAGE", message);
        field_str(&b, "MESSAGE_ID", mid);
        field_i64(&b, "PRIORITY", priority);
        field_str(&b, "SYSLOG_IDENTIFIER", "procwatchd");
        for (size_t i = 0; extra && extra[i]; i++) {
                const char *eq = strchr(extra[i], '=');

                if (!eq)
                        continue;
                /* field() wants the name apart. */
                if (b.n < PW_JOURNAL_FIELDS_MAX - 1 && reserve(&b, strlen(extra[i]))) {
                        b.off[b.n] = b.len;
                        b.flen[b.n] = strlen(extra[i]);
                        memcpy(b.buf + b.len, extra[i], b.flen[b.n]);
                        b.len += b.flen[b.n];
                        b.n++;
                }
        }
        return builder_finish(&b, ret);
}

/* --- snapshots ------------------------------------------------------------------------------------ */

struct PwJournalSnapshot {
        PwEvent ev;
        PwApplyResult res;            /* res.process: &proc */
        PwJournalContext ctx;
        PwProcess proc;               /* strings, parent and resources point into this block */
        PwProcess parent;             /* pid and comm only: all the builder reads of a parent */
        PwProcResources resources;
        PwCommChange last_comm;       /* the builder reads only the latest name change */
        _Alignas(16) char strings[];  /* PwStr copies */
};

#define SNAP_ALIGN 16U

static size_t align_up(size_t n) {
        return (n + SNAP_ALIGN - 1) & ~(size_t) (SNAP_ALIGN - 1);
}

static size_t str_size(const PwStr *s) {
        return s ? align_up(sizeof(PwStr) + s->len + 1) : 0;
}

static PwStr *str_copy(char **cursor, const PwStr *s) {
        PwStr *c;

        if (!s)
                return NULL;
        c = (PwStr *) (void *) *cursor;
        memcpy(c, s, sizeof(PwStr) + s->len + 1);
        c->ref = 1;
        *cursor += str_size(s);
        return c;
}

int pw_journal_snapshot_new(const PwEvent *ev, const PwApplyResult *res, const PwProcess *p,
                            const PwJournalContext *ctx, PwJournalEntry **ret) {
        size_t strings = str_size(p ? p->exe : NULL) + str_size(p ? p->argv : NULL) +
                         str_size(p ? p->cgroup : NULL) + str_size(p ? p->unit : NULL) +
                         str_size(p ? p->user_unit : NULL);
        size_t head = align_up(sizeof(PwJournalEntry)), size = head + sizeof(PwJournalSnapshot) + strings;
        PwJournalSnapshot *s;
        PwJournalEntry *e;
        char *cursor;

        if (!p || !pw_event_kind_to_string(ev->kind) || !message_id(ev->kind))
                return -EINVAL;
        e = malloc(size);
        if (!e)
                return -ENOMEM;
        s = (PwJournalSnapshot *) (void *) ((char *) e + head);
        *e = (PwJournalEntry){ .bytes = size, .snapshot = s };
        s->ev = *ev;
        s->res = *res;
        s->res.process = &s->proc;
        /* The work orders are the tree's, and the writer thread has no use for them. */
        s->res.enrich = s->res.reparent = NULL;
        s->res.n_enrich = s->res.n_reparent = 0;
        s->ctx = ctx ? *ctx : (PwJournalContext){};
        s->proc = *p;
        proctree_detach_copy(&s->proc, p, &s->parent);
        /* The history belongs to the tree (allocated at the first name change), which may free it
         * before the writer builds the entry. */
        s->proc.comm_history = NULL;
        s->proc.n_comm_history = 0;
        if (p->comm_history && p->n_comm_history > 0) {
                s->last_comm = p->comm_history[p->n_comm_history - 1];
                s->proc.comm_history = &s->last_comm;
                s->proc.n_comm_history = 1;
        }
        s->proc.resources = NULL;
        if (p->resources) {
                s->resources = *p->resources;
                s->proc.resources = &s->resources;
        }
        cursor = s->strings;
        s->proc.exe = str_copy(&cursor, p->exe);
        s->proc.argv = str_copy(&cursor, p->argv);
        s->proc.cgroup = str_copy(&cursor, p->cgroup);
        s->proc.unit = str_copy(&cursor, p->unit);
        s->proc.user_unit = str_copy(&cursor, p->user_unit);
        *ret = e;
        return 0;
}

int pw_journal_builder_build_snapshot(PwJournalBuilder *b, const PwJournalEntry *e) {
        const PwJournalSnapshot *s = e->snapshot;

        if (!s)
                return -EINVAL;
        return pw_journal_builder_build(b, &s->ev, &s->res, &s->proc, &s->ctx);
}

/* --- the native protocol -------------------------------------------------------------------------- */

size_t pw_journal_native_encode(const struct iovec *iov, size_t n, char *buf, size_t size) {
        size_t need = 0, o = 0;

        for (size_t i = 0; i < n; i++) {
                const char *f = iov[i].iov_base, *eq = memchr(f, '=', iov[i].iov_len);
                size_t nl = eq ? (size_t) (eq - f) : iov[i].iov_len, vl = eq ? iov[i].iov_len - nl - 1 : 0;

                if (eq && memchr(eq + 1, '\n', vl))
                        need += nl + 1 + 8 + vl + 1;
                else
                        need += iov[i].iov_len + 1;
        }
        if (need > size)
                return need;
        for (size_t i = 0; i < n; i++) {
                const char *f = iov[i].iov_base, *eq = memchr(f, '=', iov[i].iov_len);
                size_t nl = eq ? (size_t) (eq - f) : iov[i].iov_len, vl = eq ? iov[i].iov_len - nl - 1 : 0;

                if (eq && memchr(eq + 1, '\n', vl)) {
                        uint64_t le = htole64((uint64_t) vl);

                        memcpy(buf + o, f, nl);
                        buf[o + nl] = '\n';
                        memcpy(buf + o + nl + 1, &le, 8);
                        memcpy(buf + o + nl + 9, eq + 1, vl);
                        o += nl + 9 + vl;
                } else {
                        memcpy(buf + o, f, iov[i].iov_len);
                        o += iov[i].iov_len;
                }
                buf[o++] = '\n';
        }
        return o;
}
