/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Process records and daemon figures as io.procwatch JSON objects. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "json-util.h"
#include "json-writer.h"
#include "procjson.h"
#include "resources.h"

static const char *const uncertain_names[] = {
        "start", /* PW_UNCERTAIN_START */
        "parent",
        "image",
        "exit",
        "ids",
};

const char *procjson_state(const PwProcess *p) {
        return pw_process_state_to_string(pw_process_state(p));
}

/* Collects failures of json_object_set_new() (which steals the value, NULL included, and fails on
 * NULL), so that building an object is a flat list of fields with one check at the end. */
typedef struct Builder {
        json_t *obj;
        bool failed;
} Builder;

static void put(Builder *b, const char *key, json_t *v) {
        if (json_object_set_new_nocheck(b->obj, key, v) < 0)
                b->failed = true;
}

static void put_u64(Builder *b, const char *key, uint64_t v) {
        /* Counters never get near 2^63; clamp rather than wrap if one did. */
        put(b, key, json_integer(v > INT64_MAX ? INT64_MAX : (json_int_t) v));
}

static uint64_t realtime_usec(const ProcJsonContext *ctx, uint64_t mono_ns) {
        int64_t t;

        if (mono_ns > INT64_MAX)
                return 0;
        if (__builtin_add_overflow((int64_t) mono_ns, ctx->realtime_offset_ns, &t) || t < 0)
                return 0;
        return (uint64_t) t / 1000U;
}

static void write_u64(JsonWriter *w, uint64_t v) {
        /* As put_u64(): clamped to what a jansson integer holds, so both forms agree. */
        json_writer_uint(w, MIN(v, (uint64_t) INT64_MAX));
}

static void write_int_or_null(JsonWriter *w, int64_t v, bool is_null) {
        if (is_null)
                json_writer_null(w);
        else
                json_writer_int(w, v);
}

static void write_pwstr(JsonWriter *w, const PwStr *s) {
        if (s)
                json_writer_string(w, s->data, s->len);
        else
                json_writer_null(w);
}

/* A fixed-size char array holding a NUL-terminated string, or filling it whole (comm, id). */
static void write_chars(JsonWriter *w, const char *s, size_t size) {
        json_writer_string(w, s, strnlen(s, size));
}

static void write_int(JsonWriter *w, int64_t v) {
        json_writer_int(w, v);
}

static void write_bool(JsonWriter *w, bool v) {
        json_writer_bool(w, v);
}

static void write_cstring(JsonWriter *w, const char *s) {
        json_writer_cstring(w, s);
}

/* One member of an object: the key (a literal: its text is made at compile time) and a value
 * written by write_KIND(w, ...). Every record member is one line of this shape. */
#define FIELD(w, key, kind, ...)                                \
        do {                                                    \
                json_writer_key_literal(w, key);                \
                write_##kind(w, __VA_ARGS__);                   \
        } while (0)

/* argv: NUL-separated words, len bytes, the last NUL not counted; [] when there is none. */
static void write_argv(JsonWriter *w, const char *argv, size_t len) {
        json_writer_array_begin(w);
        for (size_t i = 0; argv;) {
                const char *word = argv + i, *end = memchr(word, '\0', len - i);
                size_t n = end ? (size_t) (end - word) : len - i;

                json_writer_string(w, word, n);
                if (!end)
                        break;
                i += n + 1;
        }
        json_writer_array_end(w);
}

static void write_comm_history(JsonWriter *w, const PwProcess *p, const ProcJsonContext *ctx) {
        const PwCommChange *h = p->comm_history;

        json_writer_array_begin(w);
        for (unsigned i = 0; h && i < p->n_comm_history && i < PROCTREE_COMM_HISTORY_MAX; i++) {
                const PwCommChange *c = &h[i];

                json_writer_object_begin(w);
                FIELD(w, "time_realtime_usec", u64, realtime_usec(ctx, c->ts_ns));
                FIELD(w, "time_monotonic_ns", u64, c->ts_ns);
                FIELD(w, "old", chars, c->old_comm, sizeof(c->old_comm));
                FIELD(w, "new", chars, c->new_comm, sizeof(c->new_comm));
                json_writer_object_end(w);
        }
        json_writer_array_end(w);
}

/* {code, signal, core_dumped} from the wait status; both null when the status is unknown (events
 * were lost) or is no exit at all. */
static void write_exit(JsonWriter *w, const PwProcess *p) {
        int status = (int) p->exit_code;
        bool exited = false, killed = false;

        if (!p->exited) {
                json_writer_null(w);
                return;
        }
        if (!(p->uncertain & PW_UNCERTAIN_EXIT)) {
                exited = WIFEXITED(status);
                killed = WIFSIGNALED(status);
        }
        json_writer_object_begin(w);
        FIELD(w, "code", int_or_null, WEXITSTATUS(status), !exited);
        FIELD(w, "signal", int_or_null, WTERMSIG(status), !killed);
        FIELD(w, "core_dumped", bool, killed && WCOREDUMP(status));
        json_writer_object_end(w);
}

/* A process id, "PID:START" (its parent's, in a record): two decimals, without printf's parsing of a
 * format per record. */
static void write_process_id(JsonWriter *w, pid_t pid, uint64_t start_ns) {
        char b[48], *e = b + sizeof(b), *q = e;

        do {
                *--q = (char) ('0' + start_ns % 10);
                start_ns /= 10;
        } while (start_ns > 0);
        *--q = ':';
        for (uint32_t v = (uint32_t) pid;; v /= 10) {
                *--q = (char) ('0' + v % 10);
                if (v < 10)
                        break;
        }
        json_writer_string(w, q, (size_t) (e - q));
}

static int cmp_start(const void *a, const void *b) {
        const PwProcess *x = *(const PwProcess *const *) a, *y = *(const PwProcess *const *) b;

        if (x->start_ns != y->start_ns)
                return x->start_ns < y->start_ns ? -1 : 1;
        return (x->pid > y->pid) - (x->pid < y->pid);
}

static int cmp_start_desc(const void *a, const void *b) {
        return cmp_start(b, a);
}

void procjson_sort_by_start(PwProcess **v, size_t n, bool newest_first) {
        bool asc = true, desc = true;

        for (size_t i = 1; i < n && (asc || desc); i++) {
                int c = cmp_start(&v[i - 1], &v[i]);

                asc = asc && c <= 0;
                desc = desc && c >= 0;
        }
        if (newest_first ? desc : asc)
                return;
        if (newest_first ? asc : desc) {
                for (size_t i = 0; i < n / 2; i++) {
                        PwProcess *x = v[i];

                        v[i] = v[n - 1 - i];
                        v[n - 1 - i] = x;
                }
                return;
        }
        qsort(v, n, sizeof(*v), newest_first ? cmp_start_desc : cmp_start);
}

/* Does the context's caller see q? */
static bool ctx_sees(const ProcJsonContext *ctx, const PwProcess *q) {
        return !ctx->policy || pw_access_visible(ctx->policy, ctx->caller, q);
}

/* Children's pids, oldest first; only those the caller sees (hidden is true when it does not see
 * every process). */
static int write_children(JsonWriter *w, const PwProcess *p, const ProcJsonContext *ctx, bool hidden) {
        bool alive_only = ctx->children_alive_only;
        PwProcess *small[16], **v = small;
        _cleanup_(freep) PwProcess **heap = NULL;
        size_t n = 0, all;

        /* Most processes have a handful of children: no allocation for those. */
        if (proctree_n_children(p) > ELEMENTSOF(small)) {
                v = heap = calloc(proctree_n_children(p), sizeof(*v));
                if (!v)
                        return -ENOMEM;
        }
        all = proctree_collect_children(p, v, MAX(proctree_n_children(p), ELEMENTSOF(small)));
        for (size_t i = 0; i < all; i++)
                if ((!alive_only || pw_process_alive(v[i])) && (!hidden || ctx_sees(ctx, v[i])))
                        v[n++] = v[i];
        procjson_sort_by_start(v, n, false);
        json_writer_array_begin(w);
        for (size_t i = 0; i < n; i++)
                json_writer_int(w, v[i]->pid);
        json_writer_array_end(w);
        return 0;
}

static void write_uncertain(JsonWriter *w, unsigned uncertain) {
        json_writer_array_begin(w);
        for (unsigned i = 0; i < ELEMENTSOF(uncertain_names); i++)
                if (uncertain & (1U << i))
                        json_writer_cstring(w, uncertain_names[i]);
        json_writer_array_end(w);
}

int procjson_write_process(JsonWriter *w, const PwProcess *p, const ProcJsonContext *ctx) {
        const PwProcess *parent;
        PwAccess access = { .visible = true, .ptrace_read = true, .argv = PW_ARGV_FULL };
        _cleanup_(freep) char *argv_copy = NULL;
        const char *argv = NULL;
        size_t argv_len = 0;
        bool hidden = false, parent_shown;
        PwSubtreeAccess subtree;
        uint64_t end_ns;
        int r;

        if (ctx->policy) {
                access = pw_access_check(ctx->policy, ctx->caller, p);
                if (!access.visible)
                        return -EACCES;
                /* Relatives are named only when the caller sees them too. */
                hidden = !pw_access_sees_all(ctx->policy, ctx->caller);
        }
        r = pw_access_argv(ctx->policy, access.argv, p, &argv, &argv_len, &argv_copy);
        if (r < 0)
                return r;
        parent = proctree_parent(p);
        parent_shown = !hidden || (parent && parent->pid == p->ppid && ctx_sees(ctx, parent));

        json_writer_object_begin(w);
        FIELD(w, "id", chars, p->id, sizeof(p->id));
        FIELD(w, "pid", int, p->pid);
        FIELD(w, "ppid", int, parent_shown ? p->ppid : 0);
        json_writer_key_literal(w, "parent_id");
        if (parent_shown && p->ppid > 0 && p->parent_start_ns > 0)
                write_process_id(w, p->ppid, p->parent_start_ns);
        else
                json_writer_null(w);
        FIELD(w, "original_ppid", int_or_null, p->original_ppid, hidden || p->original_ppid <= 0);
        FIELD(w, "comm", chars, p->comm, sizeof(p->comm));
        FIELD(w, "comm_history", comm_history, p, ctx);
        FIELD(w, "comm_changes", int, p->n_comm_changes);
        FIELD(w, "exe", pwstr, access.ptrace_read ? p->exe : NULL);
        FIELD(w, "argv", argv, argv, argv_len);
        FIELD(w, "argv_truncated", bool, p->argv_truncated);
        FIELD(w, "argv_redacted", bool, p->argv && access.argv != PW_ARGV_FULL);
        FIELD(w, "uid", int, p->uid);
        FIELD(w, "euid", int, p->euid);
        FIELD(w, "gid", int, p->gid);
        FIELD(w, "egid", int, p->egid);
        FIELD(w, "sid", int, p->sid);
        FIELD(w, "unit", pwstr, p->unit);
        FIELD(w, "user_unit", pwstr, p->user_unit);
        FIELD(w, "cgroup", pwstr, p->cgroup);
        FIELD(w, "tracer", int_or_null, p->tracer, hidden || p->tracer <= 0);
        FIELD(w, "threads", int, p->n_tasks);
        FIELD(w, "execs", int, p->n_execs);
        FIELD(w, "kthread", bool, p->kthread);
        FIELD(w, "state", cstring, procjson_state(p));

        FIELD(w, "start_realtime_usec", u64, realtime_usec(ctx, p->start_ns));
        FIELD(w, "start_monotonic_ns", u64, p->start_ns);
        FIELD(w, "exit_realtime_usec", int_or_null, (int64_t) realtime_usec(ctx, p->exit_ns), !p->exited);
        FIELD(w, "exit_monotonic_ns", int_or_null, (int64_t) MIN(p->exit_ns, (uint64_t) INT64_MAX), !p->exited);
        /* Exited: its lifetime; otherwise (alive, or displaced with no end known yet) so far. */
        end_ns = p->exited ? p->exit_ns : ctx->now_ns;
        FIELD(w, "duration_usec", u64, end_ns > p->start_ns ? (end_ns - p->start_ns) / 1000U : 0);
        FIELD(w, "exit", exit, p);

        FIELD(w, "source", cstring, pw_source_to_string(p->source) ?: "unknown");
        FIELD(w, "uncertain", uncertain, p->uncertain);
        json_writer_key_literal(w, "children");
        r = write_children(w, p, ctx, hidden);
        if (r < 0)
                return r;
        /* What it cost (taskstats), and its exited descendants with it: built as small objects by
         * resources.c, only for the records that have them. */
        json_writer_key_literal(w, "resources");
        if (pw_process_has_resources(p))
                json_writer_json_steal(w, pw_resources_json(p, access.ptrace_read));
        else
                json_writer_null(w);
        json_writer_key_literal(w, "resources_state");
        if (p->resources && p->resources->state == PW_RESOURCES_JOINED)
                json_writer_cstring(w, "joined");
        else if (p->resources && p->resources->state == PW_RESOURCES_MISSING)
                json_writer_cstring(w, "missing");
        else
                json_writer_null(w);
        json_writer_key_literal(w, "subtree_resources");
        subtree = ctx->policy ? pw_access_subtree(ctx->policy, ctx->caller, p) : PW_SUBTREE_FULL;
        if (p->resources && subtree != PW_SUBTREE_HIDDEN)
                json_writer_json_steal(w, pw_subtree_resources_json(p, subtree == PW_SUBTREE_FULL));
        else
                json_writer_null(w);
        json_writer_object_end(w);

        return json_writer_error(w);
}

int procjson_process(const PwProcess *p, const ProcJsonContext *ctx, json_t **ret) {
        _cleanup_(json_writer_done) JsonWriter w = JSON_WRITER_INIT;
        json_t *j;
        int r;

        r = procjson_write_process(&w, p, ctx);
        if (r < 0)
                return r;
        /* The writer's text is valid JSON by construction; a failure here is memory. */
        j = json_loadb(w.buf, w.len, JSON_DECODE_ANY, NULL);
        if (!j)
                return -ENOMEM;
        *ret = j;
        return 0;
}

static void put_budget_uids(Builder *b, const ProcTree *t) {
        const PwUidBudget *top[PROCJSON_BUDGET_UIDS_MAX];
        size_t n = t ? proctree_uids_bitten(t, top, ELEMENTSOF(top)) : 0;
        json_t *arr = json_array();

        put_u64(b, "budget_uids_bitten", n);
        if (!arr) {
                b->failed = true;
                return;
        }
        for (size_t i = 0; i < MIN(n, ELEMENTSOF(top)); i++) {
                Builder e = { .obj = json_object() };

                if (!e.obj) {
                        b->failed = true;
                        break;
                }
                put_u64(&e, "uid", top[i]->uid);
                put_u64(&e, "string_bytes", top[i]->bytes);
                put_u64(&e, "retained", top[i]->n_retained);
                put_u64(&e, "evicted", top[i]->evicted);
                put_u64(&e, "evicted_for_others", top[i]->evicted_for_others);
                put_u64(&e, "argv_cut", top[i]->argv_cut);
                put_u64(&e, "strings_dropped", top[i]->strings_dropped);
                if (e.failed || json_array_append_new(arr, e.obj) < 0) {
                        json_decref(e.obj);
                        b->failed = true;
                        break;
                }
        }
        put(b, "budget_uids", arr);
}

int procjson_stats(const PwDaemonStats *s, json_t **ret) {
        Builder b = { .obj = json_object() };
        json_t *events = json_object(), *malformed = json_object();
        const CnProcStats *c = s->cnproc;
        const ProcTree *t = s->tree;
        ProcTreeStats ts = {};
        ProcTreeLimits lim = {};

        if (!b.obj || !events || !malformed) {
                json_decref(b.obj);
                json_decref(events);
                json_decref(malformed);
                return -ENOMEM;
        }
        for (unsigned k = 0; k < _PW_EVENT_KIND_MAX; k++)
                if (json_object_set_new(events, pw_event_kind_to_string((PwEventKind) k),
                                        json_integer(c ? (json_int_t) c->events_by_kind[k] : 0)) < 0)
                        b.failed = true;
        for (unsigned e = 0; e < _PW_PARSE_ERROR_MAX; e++)
                if (json_object_set_new(malformed, pw_parse_error_to_string((PwParseError) e),
                                        json_integer(c ? (json_int_t) c->malformed_by_reason[e] : 0)) < 0)
                        b.failed = true;

        put(&b, "events", events);
        put_u64(&b, "events_total", c ? c->events : 0);
        put_u64(&b, "datagrams", c ? c->datagrams : 0);
        put(&b, "events_per_sec", json_real(s->events_per_sec));
        put_u64(&b, "lost", s->lost);
        put_u64(&b, "seq_gaps", s->seq_gaps);
        put_u64(&b, "enobufs", c ? c->enobufs : 0);
        put_u64(&b, "socket_drops", c ? c->socket_drops : 0);
        put_u64(&b, "malformed", c ? c->malformed : 0);
        put(&b, "malformed_by_reason", malformed);
        put_u64(&b, "foreign", c ? c->foreign : 0);
        put_u64(&b, "loss_incidents", s->loss_incidents);
        put_u64(&b, "reconciliations", s->reconciliations);
        put_u64(&b, "queue_overflow", s->queue_overflow);
        put_u64(&b, "enrich_failed", s->enrich_failed);
        put_u64(&b, "proc_reads_slow", s->proc_reads_slow);
        put_u64(&b, "proc_read_stalled_usec", s->proc_read_stalled_usec);
        put_u64(&b, "proc_reads_queued", s->proc_reads_queued);
        put_u64(&b, "proc_reads_dropped", s->proc_reads_dropped);
        put_u64(&b, "rcvbuf", s->rcvbuf);

        if (t) {
                proctree_get_stats(t, &ts);
                lim = *proctree_get_limits(t);
        }
        put_u64(&b, "processes_live", ts.live);
        put_u64(&b, "processes_exited", ts.retained);
        put_u64(&b, "processes_displaced", ts.displaced_now);
        put_u64(&b, "processes_created", ts.processes_created);
        put_u64(&b, "processes_ended", ts.processes_exited);
        put_u64(&b, "placeholders", ts.placeholders);
        put_u64(&b, "pid_reuse_displaced", ts.displaced);
        put_u64(&b, "duplicate_forks", ts.duplicate_forks);
        put_u64(&b, "duplicate_exits", ts.duplicate_exits);
        put_u64(&b, "evicted", ts.evicted);
        put_u64(&b, "evicted_for_bytes", ts.evicted_for_bytes);
        put_u64(&b, "evicted_for_others", ts.evicted_for_others);
        put_u64(&b, "argv_truncated_budget", ts.argv_truncated_budget);
        put_u64(&b, "strings_dropped_budget", ts.strings_dropped_budget);
        put_u64(&b, "reconciled_ended", ts.reconciled_ended);
        put_u64(&b, "reconciled_added", ts.reconciled_added);
        put_u64(&b, "string_bytes", ts.string_bytes);
        put_u64(&b, "string_budget", lim.string_budget);
        put_u64(&b, "retain_count", lim.retain_count);
        put_u64(&b, "retain_age_usec", lim.retain_age_ns / 1000U);
        /* What one uid other than root may hold, and the uids whose budget bit, most bitten first. */
        put_u64(&b, "uid_share_percent", t ? (lim.uid_share_percent ?: PROCTREE_UID_SHARE_PERCENT_DEFAULT) : 0);
        put_u64(&b, "uid_string_share", t ? MIN(proctree_uid_share_bytes(t, 1), lim.string_budget) : 0);
        put_u64(&b, "uid_retain_share", t ? MIN(proctree_uid_share_count(t, 1), lim.retain_count) : 0);
        put_budget_uids(&b, t);

        put_u64(&b, "clients", s->clients);
        put_u64(&b, "clients_total", s->clients_total);
        put_u64(&b, "clients_refused", s->clients_refused);
        put_u64(&b, "clients_dropped", s->clients_dropped);
        put_u64(&b, "requests", s->requests);
        put_u64(&b, "subscribers", s->subscribers);
        put_u64(&b, "events_published", s->events_published);
        put_u64(&b, "events_missed", s->events_missed);
        put_u64(&b, "subtree_steps", s->subtree_steps);

        /* The journal writer (all 0 with --no-journal, journal false). */
        put(&b, "journal", json_boolean(s->journal));
        put_u64(&b, "journal_offered", s->journal_offered);
        put_u64(&b, "journal_forwarded", s->journal_forwarded);
        put_u64(&b, "journal_dropped", s->journal_dropped_queue_full + s->journal_dropped_unavailable +
                                               s->journal_dropped_shutdown);
        put_u64(&b, "journal_dropped_queue_full", s->journal_dropped_queue_full);
        put_u64(&b, "journal_dropped_unavailable", s->journal_dropped_unavailable);
        put_u64(&b, "journal_dropped_shutdown", s->journal_dropped_shutdown);

        if (resmon_figures_json(&s->taskstats, b.obj) < 0)
                b.failed = true;

        if (b.failed) {
                json_decref(b.obj);
                return -ENOMEM;
        }
        *ret = b.obj;
        return 0;
}
