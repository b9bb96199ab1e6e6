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

/* Fields are written in journald's native protocol as they are added, into the builder's growing
 * buffer (kept between entries and batches by a reused builder), and remembered by offset, since the
 * buffer may move: the datagram is the buffer itself, with no second pass to encode it. */
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

/* One field: "NAME=value\n", or "NAME\n", the value's length (64-bit little-endian), the value and
 * "\n" when the value holds a newline (may_newline false: the caller knows it does not). At most max
 * fields; beyond, a field is dropped (the event entries keep one slot for the writer's
 * PROCWATCH_USER=, and cannot reach it with the fixed list below). */
static void field_raw(PwJournalBuilder *b, const char *name, size_t nl, const void *value, size_t n,
                      bool may_newline, size_t max) {
        bool bin = may_newline && n > 0 && memchr(value, '\n', n);
        size_t size = nl + 1 + (bin ? 8 : 0) + n + 1;
        char *o;

        if (b->n >= max || !reserve(b, size))
                return;
        o = b->buf + b->len;
        b->off[b->n] = b->len;
        b->name_len[b->n] = nl;
        b->value_len[b->n] = n;
        b->binary[b->n] = bin;
        memcpy(o, name, nl);
        o += nl;
        if (bin) {
                uint64_t le = htole64((uint64_t) n);

                *o++ = '\n';
                memcpy(o, &le, 8);
                o += 8;
        } else
                *o++ = '=';
        if (n > 0)
                memcpy(o, value, n);
        o[n] = '\n';
        b->len += size;
        b->n++;
}

static void field_n(PwJournalBuilder *b, const char *name, size_t nl, const void *value, size_t n) {
        field_raw(b, name, nl, value, n, true, PW_JOURNAL_FIELDS_MAX - 1);
}

/* name is a string literal: its length is known at compile time. */
#define field(b, name, value, n) field_n(b, name, strlen(name), value, n)
/* The same for a value that holds no newline (numbers, names of ours, MESSAGE, which is escaped). */
#define field_plain(b, name, value, n) field_raw(b, name, strlen(name), value, n, false, PW_JOURNAL_FIELDS_MAX - 1)

#define field_str(b, name, s) field(b, name, s, strlen(s))

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

static void field_u64_n(PwJournalBuilder *b, const char *name, size_t nl, uint64_t v) {
        char s[24];

        field_raw(b, name, nl, s, format_u64(s, v), false, PW_JOURNAL_FIELDS_MAX - 1);
}

/* name: a string literal, as above. */
#define field_u64(b, name, v) field_u64_n(b, name, strlen(name), v)

static void field_i64_n(PwJournalBuilder *b, const char *name, size_t nl, int64_t v) {
        char s[24];
        size_t n = 0;

        if (v < 0)
                s[n++] = '-';
        n += format_u64(s + n, v < 0 ? -(uint64_t) v : (uint64_t) v);
        field_raw(b, name, nl, s, n, false, PW_JOURNAL_FIELDS_MAX - 1);
}

/* name: a string literal, as above. */
#define field_i64(b, name, v) field_i64_n(b, name, strlen(name), v)

void pw_journal_builder_begin(PwJournalBuilder *b) {
        b->start = b->len;
        b->n = 0;
        b->failed = false;
        b->want_user = false;
        b->user_uid = 0;
}

void pw_journal_builder_reset(PwJournalBuilder *b) {
        b->len = 0;
        pw_journal_builder_begin(b);
}

void pw_journal_builder_drop(PwJournalBuilder *b) {
        b->len = b->start;
        pw_journal_builder_begin(b);
}

void pw_journal_builder_done(PwJournalBuilder *b) {
        b->buf = mfree(b->buf);
        b->tmp = mfree(b->tmp);
        b->flat = mfree(b->flat);
        b->alloc = b->tmp_alloc = b->flat_alloc = 0;
        pw_journal_builder_reset(b);
}

int pw_journal_builder_add(PwJournalBuilder *b, const char *name, const void *value, size_t n) {
        size_t before = b->n;

        field_raw(b, name, strlen(name), value, n, true, PW_JOURNAL_FIELDS_MAX);
        return b->failed || b->n == before ? -ENOMEM : 0;
}

size_t pw_journal_builder_datagram(const PwJournalBuilder *b, size_t *ret_offset) {
        *ret_offset = b->start;
        return b->len - b->start;
}

/* A buffer of at least size bytes in *p (kept, grown as needed). */
static char *grow(char **p, size_t *alloc, size_t size) {
        if (size > *alloc) {
                char *np = realloc(*p, size);

                if (!np)
                        return NULL;
                *p = np;
                *alloc = size;
        }
        return *p;
}

/* The builder's second buffer (the joined command line), at least size bytes. */
static char *builder_tmp(PwJournalBuilder *b, size_t size) {
        return grow(&b->tmp, &b->tmp_alloc, size);
}

size_t pw_journal_builder_iov(PwJournalBuilder *b, struct iovec *iov) {
        size_t flat = 0, o = 0;

        if (b->failed)
                return 0;
        /* A field in the binary-safe form is not "NAME=value" in buf: those are copied flat. */
        for (size_t i = 0; i < b->n; i++)
                if (b->binary[i])
                        flat += b->name_len[i] + 1 + b->value_len[i];
        if (flat > 0 && !grow(&b->flat, &b->flat_alloc, flat))
                return 0;
        for (size_t i = 0; i < b->n; i++) {
                size_t nl = b->name_len[i], vl = b->value_len[i];
                char *f = b->buf + b->off[i];

                if (b->binary[i]) {
                        memcpy(b->flat + o, f, nl);
                        b->flat[o + nl] = '=';
                        memcpy(b->flat + o + nl + 1, f + nl + 1 + 8, vl);
                        f = b->flat + o;
                        o += nl + 1 + vl;
                }
                iov[i] = (struct iovec){ .iov_base = f, .iov_len = nl + 1 + vl };
        }
        return b->n;
}

int pw_journal_builder_add_entry(PwJournalBuilder *b, const PwJournalEntry *e) {
        pw_journal_builder_begin(b);
        for (size_t i = 0; i < e->n_iov; i++) {
                const char *f = e->iov[i].iov_base, *eq = memchr(f, '=', e->iov[i].iov_len);

                if (eq)
                        field_raw(b, f, (size_t) (eq - f), eq + 1, e->iov[i].iov_len - (size_t) (eq - f) - 1, true,
                                  PW_JOURNAL_FIELDS_MAX - 1);
        }
        if (b->failed)
                return -ENOMEM;
        b->want_user = e->want_user;
        b->user_uid = e->user_uid;
        return 0;
}

/* Copies the current entry of b into one malloc'ed entry of "NAME=value" iovecs, with room for the
 * iovec the writer adds. */
static int builder_finish(PwJournalBuilder *b, PwJournalEntry **ret) {
        struct iovec iov[PW_JOURNAL_FIELDS_MAX];
        size_t n = pw_journal_builder_iov(b, iov), iov_size = (n + 1) * sizeof(struct iovec), bytes = 0;
        PwJournalEntry *e;
        char *o;

        if (b->failed || (n == 0 && b->n > 0))
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                bytes += iov[i].iov_len;
        e = malloc(sizeof(*e) + iov_size + bytes + 1);
        if (!e)
                return -ENOMEM;
        *e = (PwJournalEntry){ .n_iov = n, .bytes = bytes, .iov = (struct iovec *) (void *) e->data,
                               .want_user = b->want_user, .user_uid = b->user_uid };
        o = e->data + iov_size;
        for (size_t i = 0; i < n; i++) {
                memcpy(o, iov[i].iov_base, iov[i].iov_len);
                e->iov[i] = (struct iovec){ .iov_base = o, .iov_len = iov[i].iov_len };
                o += iov[i].iov_len;
        }
        *o = '\0';
        *ret = e;
        return 0;
}

/* Appends s (n bytes) escaped at out[o] (out: size bytes); returns the length it would have. Stops
 * writing, never in the middle of a sequence, where the next would not fit. */
static size_t escape_at(const char *s, size_t n, char *out, size_t size, size_t o) {
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

size_t pw_journal_escape(const char *s, size_t n, char *out, size_t size) {
        return escape_at(s, n, out, size, strnlen(out, size));
}

/* The MESSAGE line, its length kept (no strlen() per part): at most sizeof(buf) - 1 bytes, always
 * NUL-terminated; what does not fit is cut. */
typedef struct Msg {
        size_t len;
        char buf[PW_JOURNAL_MESSAGE_CMDLINE_MAX * 4 + 512];
} Msg;

/* Appends printf output to the MESSAGE line (the rare kinds; exec and exit use the ones below). */
_printf_(2, 3) static void msg_fmt(Msg *m, const char *fmt, ...) {
        va_list ap;
        int r;

        if (m->len + 1 >= sizeof(m->buf))
                return;
        va_start(ap, fmt);
        r = vsnprintf(m->buf + m->len, sizeof(m->buf) - m->len, fmt, ap);
        va_end(ap);
        if (r > 0)
                m->len = MIN(m->len + (size_t) r, sizeof(m->buf) - 1);
}

static void msg_esc(Msg *m, const char *s, size_t n) {
        m->len = MIN(escape_at(s, n, m->buf, sizeof(m->buf), m->len), sizeof(m->buf) - 1);
}

static void msg_mem(Msg *m, const char *s, size_t n) {
        if (m->len + 1 >= sizeof(m->buf))
                return;
        n = MIN(n, sizeof(m->buf) - m->len - 1);
        memcpy(m->buf + m->len, s, n);
        m->len += n;
        m->buf[m->len] = '\0';
}

static void msg_str(Msg *m, const char *s) {
        msg_mem(m, s, strlen(s));
}

static void msg_int(Msg *m, int64_t v) {
        char s[24];
        size_t n = 0;

        if (v < 0)
                s[n++] = '-';
        n += format_u64(s + n, v < 0 ? -(uint64_t) v : (uint64_t) v);
        msg_mem(m, s, n);
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

/* The entry of ev as a new current entry of b; parent_comm: the parent's comm (PW_COMM_MAX bytes at
 * most, raw), NULL when the record has no parent. */
static int build_entry(PwJournalBuilder *b, const PwEvent *ev, const PwApplyResult *res, const PwProcess *p,
                       const char *parent_comm, const PwJournalContext *ctx) {
        /* Not zeroed: only what len says is written. */
        Msg msg;
        char sig[32], dur[32];
        const char *kind = pw_event_kind_to_string(ev->kind), *mid = message_id(ev->kind);
        PwArgvMode mode = ctx && ctx->filter ? ctx->filter->argv_mode : PW_ARGV_FULL;
        _cleanup_(freep) char *redacted = NULL;
        char *cmdline = NULL;
        const char *argv = NULL;
        size_t argv_len = 0, cmdline_len = 0;
        bool cmdline_cut = false, start_known, ids_known;
        uint64_t duration_usec = 0;
        int status = -1, r;

        pw_journal_builder_begin(b);
        msg.len = 0;
        msg.buf[0] = '\0';
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
        msg_str(&msg, kind);
        msg_str(&msg, " ");
        msg_int(&msg, (int) p->pid);
        msg_str(&msg, " ");
        if (res->thread && !res->process_ended && pw_event_tid(ev) != p->pid)
                msg_fmt(&msg, "thread %d ", (int) pw_event_tid(ev));
        switch (ev->kind) {
        case PW_EVENT_EXEC:
                if (p->exe)
                        msg_esc(&msg, p->exe->data, p->exe->len);
                else
                        msg_esc(&msg, p->comm, strnlen(p->comm, sizeof(p->comm)));
                if (cmdline) {
                        /* argv[0] is said by the exe already. */
                        const char *args = memchr(cmdline, ' ', cmdline_len);

                        if (args) {
                                size_t n = cmdline_len - (size_t) (args - cmdline);

                                msg_esc(&msg, args, MIN(n, PW_JOURNAL_MESSAGE_CMDLINE_MAX));
                                if (n > PW_JOURNAL_MESSAGE_CMDLINE_MAX || cmdline_cut)
                                        msg_fmt(&msg, "...");
                        }
                }
                msg_str(&msg, " (parent ");
                msg_int(&msg, (int) p->ppid);
                msg_str(&msg, " ");
                if (parent_comm)
                        msg_esc(&msg, parent_comm, strnlen(parent_comm, sizeof(p->comm)));
                else
                        msg_fmt(&msg, "?");
                if (ids_known) {
                        msg_str(&msg, ", uid ");
                        msg_int(&msg, p->uid);
                        msg_str(&msg, ")");
                } else
                        msg_fmt(&msg, ")");
                break;
        case PW_EVENT_EXIT:
                msg_esc(&msg, p->comm, strnlen(p->comm, sizeof(p->comm)));
                if (status < 0)
                        msg_fmt(&msg, ": status unknown (events were lost)");
                else if (WIFSIGNALED(status))
                        msg_fmt(&msg, ": killed by %s%s", format_signal(sig, sizeof(sig), WTERMSIG(status)),
                                WCOREDUMP(status) || (res->process_ended && p->coredumped) ? " (core dumped)" : "");
                else {
                        msg_str(&msg, ": status ");
                        msg_int(&msg, WEXITSTATUS(status));
                }
                if (start_known) {
                        format_duration(dur, sizeof(dur), duration_usec, FORMAT_DURATION_MSEC);
                        msg_str(&msg, " after ");
                        msg_str(&msg, dur);
                }
                if (res->process_ended && (pw_process_has_resources(p) || (ctx && ctx->resources)))
                        msg.len = MIN(pw_resources_message(p, msg.buf, sizeof(msg.buf)), sizeof(msg.buf) - 1);
                break;
        case PW_EVENT_FORK:
                msg_esc(&msg, p->comm, strnlen(p->comm, sizeof(p->comm)));
                msg_fmt(&msg, " (parent %d)", (int) p->ppid);
                break;
        case PW_EVENT_UID:
        case PW_EVENT_GID:
                msg_esc(&msg, p->comm, strnlen(p->comm, sizeof(p->comm)));
                msg_fmt(&msg, ": %s %" PRIu32 ", effective %" PRIu32, kind, ev->id.real, ev->id.effective);
                break;
        case PW_EVENT_SID:
                msg_esc(&msg, p->comm, strnlen(p->comm, sizeof(p->comm)));
                msg_fmt(&msg, ": new session %d", (int) ev->sid.pid);
                break;
        case PW_EVENT_PTRACE:
                msg_esc(&msg, p->comm, strnlen(p->comm, sizeof(p->comm)));
                if (ev->ptrace.tracer_tgid > 0)
                        msg_fmt(&msg, ": traced by %d", (int) ev->ptrace.tracer_tgid);
                else
                        msg_fmt(&msg, ": no longer traced");
                break;
        case PW_EVENT_COMM:
                if (!res->thread && p->n_comm_history > 0) {
                        const PwCommChange *c = &p->comm_history[p->n_comm_history - 1];

                        msg_esc(&msg, c->old_comm, strnlen(c->old_comm, sizeof(c->old_comm)));
                        msg_fmt(&msg, " -> ");
                }
                msg_esc(&msg, ev->comm.comm, strnlen(ev->comm.comm, sizeof(ev->comm.comm)));
                break;
        case PW_EVENT_COREDUMP:
                msg_esc(&msg, p->comm, strnlen(p->comm, sizeof(p->comm)));
                msg_fmt(&msg, ": dumping core");
                break;
        default:
                break;
        }

        field_plain(b, "MESSAGE", msg.buf, msg.len);
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
        if (parent_comm)
                field(b, "PROCWATCH_PARENT_COMM", parent_comm, strnlen(parent_comm, sizeof(p->comm)));
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
                        memcpy(name + sizeof(prefix) - 1, rf[i].name, k);
                        field_u64_n(b, name, sizeof(prefix) - 1 + k, rf[i].value);
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

int pw_journal_builder_build(PwJournalBuilder *b, const PwEvent *ev, const PwApplyResult *res,
                             const PwProcess *p, const PwJournalContext *ctx) {
        const PwProcess *parent = p ? proctree_parent(p) : NULL;

        return build_entry(b, ev, res, p, parent ? parent->comm : NULL, ctx);
}

int pw_journal_entry_build(const PwEvent *ev, const PwApplyResult *res, const PwProcess *p,
                           const PwJournalContext *ctx, PwJournalEntry **ret) {
        _cleanup_(pw_journal_builder_done) PwJournalBuilder b = {};
        int r;

        r = pw_journal_builder_build(&b, ev, res, p, ctx);
        if (r < 0)
                return r;
        return builder_finish(&b, ret);
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

                if (eq)
                        field_n(&b, extra[i], (size_t) (eq - extra[i]), eq + 1, strlen(eq + 1));
        }
        return builder_finish(&b, ret);
}

/* --- snapshots ------------------------------------------------------------------------------------ */

struct PwJournalSnapshot {
        PwEvent ev;
        PwApplyResult res;            /* res.process: &proc */
        PwJournalContext ctx;
        PwProcess proc;               /* strings and resources point into this block; no links */
        PwCommChange last_comm;       /* the builder reads only the latest name change */
        bool has_parent;
        char parent_comm[PW_COMM_MAX + 1]; /* all the builder reads of a parent */
        _Alignas(16) char data[];     /* the resources, when the record has them, then PwStr copies */
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

static size_t snapshot_head(void) {
        return align_up(sizeof(PwJournalEntry));
}

size_t pw_journal_snapshot_size(const PwProcess *p) {
        if (!p)
                return 0;
        return snapshot_head() + sizeof(PwJournalSnapshot) + (p->resources ? align_up(sizeof(PwProcResources)) : 0) +
               str_size(p->exe) + str_size(p->argv) + str_size(p->cgroup) + str_size(p->unit) +
               str_size(p->user_unit);
}

int pw_journal_snapshot_init(void *block, size_t size, const PwEvent *ev, const PwApplyResult *res,
                             const PwProcess *p, const PwJournalContext *ctx, PwJournalEntry **ret) {
        size_t need = pw_journal_snapshot_size(p);
        PwJournalSnapshot *s;
        PwJournalEntry *e = block;
        const PwProcess *parent;
        char *cursor;

        if (!p || !pw_event_kind_to_string(ev->kind) || !message_id(ev->kind) || size < need)
                return -EINVAL;
        s = (PwJournalSnapshot *) (void *) ((char *) e + snapshot_head());
        *e = (PwJournalEntry){ .bytes = need, .snapshot = s };
        s->ev = *ev;
        s->res = *res;
        s->res.process = &s->proc;
        /* The work orders are the tree's, and the writer thread has no use for them. */
        s->res.enrich = s->res.reparent = NULL;
        s->res.n_enrich = s->res.n_reparent = 0;
        s->ctx = ctx ? *ctx : (PwJournalContext){};
        s->proc = *p;
        proctree_detach_copy(&s->proc, p, NULL);
        parent = proctree_parent(p);
        s->has_parent = parent;
        if (parent)
                memcpy(s->parent_comm, parent->comm, sizeof(s->parent_comm));
        /* The history belongs to the tree (allocated at the first name change), which may free it
         * before the writer builds the entry. */
        s->proc.comm_history = NULL;
        s->proc.n_comm_history = 0;
        if (p->comm_history && p->n_comm_history > 0) {
                s->last_comm = p->comm_history[p->n_comm_history - 1];
                s->proc.comm_history = &s->last_comm;
                s->proc.n_comm_history = 1;
        }
        cursor = s->data;
        s->proc.resources = NULL;
        if (p->resources) {
                s->proc.resources = (PwProcResources *) (void *) cursor;
                *s->proc.resources = *p->resources;
                cursor += align_up(sizeof(PwProcResources));
        }
        s->proc.exe = str_copy(&cursor, p->exe);
        s->proc.argv = str_copy(&cursor, p->argv);
        s->proc.cgroup = str_copy(&cursor, p->cgroup);
        s->proc.unit = str_copy(&cursor, p->unit);
        s->proc.user_unit = str_copy(&cursor, p->user_unit);
        *ret = e;
        return 0;
}

int pw_journal_snapshot_new(const PwEvent *ev, const PwApplyResult *res, const PwProcess *p,
                            const PwJournalContext *ctx, PwJournalEntry **ret) {
        size_t size = pw_journal_snapshot_size(p);
        void *block;
        int r;

        if (size == 0)
                return -EINVAL;
        block = malloc(size);
        if (!block)
                return -ENOMEM;
        r = pw_journal_snapshot_init(block, size, ev, res, p, ctx, ret);
        if (r < 0)
                free(block);
        return r;
}

int pw_journal_builder_build_snapshot(PwJournalBuilder *b, const PwJournalEntry *e) {
        const PwJournalSnapshot *s = e->snapshot;

        if (!s)
                return -EINVAL;
        return build_entry(b, &s->ev, &s->res, &s->proc, s->has_parent ? s->parent_comm : NULL, &s->ctx);
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
