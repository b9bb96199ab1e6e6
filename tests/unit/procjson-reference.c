/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The Process object as procwatchd built it before records were streamed (commit 59ff5dd's
 * procjson_process(), a jansson object tree per record), kept for one purpose: test-procjson checks
 * that the streamed record (procjson_write_process()) is the same JSON, field for field and byte for
 * byte, for hostile records. Not part of any program. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "json-util.h"
#include "procjson-reference.h"
#include "resources.h"

static const char *const uncertain_names[] = {
        "start", /* PW_UNCERTAIN_START */
        "parent",
        "image",
        "exit",
        "ids",
};

static const char *ref_state(const PwProcess *p) {
        if (p->exited)
                return "exited";
        if (p->displaced)
                return "displaced";
        return "alive";
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

static void put_int(Builder *b, const char *key, int64_t v) {
        put(b, key, json_integer((json_int_t) v));
}

static void put_u64(Builder *b, const char *key, uint64_t v) {
        /* Counters never get near 2^63; clamp rather than wrap if one did. */
        put(b, key, json_integer(v > INT64_MAX ? INT64_MAX : (json_int_t) v));
}

static void put_int_or_null(Builder *b, const char *key, int64_t v, bool is_null) {
        put(b, key, is_null ? json_null() : json_integer((json_int_t) v));
}

static void put_str(Builder *b, const char *key, const char *s, size_t n) {
        put(b, key, json_string_sanitized(s, n));
}

static void put_pwstr(Builder *b, const char *key, const PwStr *s) {
        put(b, key, s ? json_string_sanitized(s->data, s->len) : json_null());
}

static uint64_t realtime_usec(const ProcJsonContext *ctx, uint64_t mono_ns) {
        int64_t t;

        if (mono_ns > INT64_MAX)
                return 0;
        if (__builtin_add_overflow((int64_t) mono_ns, ctx->realtime_offset_ns, &t) || t < 0)
                return 0;
        return (uint64_t) t / 1000U;
}

/* argv: NUL-separated words, len bytes, the last NUL not counted. */
static json_t *argv_json(const char *argv, size_t len) {
        json_t *a = json_array();

        if (!a || !argv)
                return a;
        for (size_t i = 0;;) {
                const char *w = argv + i, *end = memchr(w, '\0', len - i);
                size_t n = end ? (size_t) (end - w) : len - i;

                if (json_array_append_new(a, json_string_sanitized(w, n)) < 0) {
                        json_decref(a);
                        return NULL;
                }
                if (!end)
                        break;
                i += n + 1;
        }
        return a;
}

static json_t *comm_history_json(const PwProcess *p, const ProcJsonContext *ctx) {
        json_t *a = json_array();

        if (!a)
                return NULL;
        for (unsigned i = 0; i < p->n_comm_history && i < PROCTREE_COMM_HISTORY_MAX; i++) {
                const PwCommChange *c = &p->comm_history[i];
                Builder b = { .obj = json_object() };

                if (!b.obj) {
                        json_decref(a);
                        return NULL;
                }
                put_u64(&b, "time_realtime_usec", realtime_usec(ctx, c->ts_ns));
                put_u64(&b, "time_monotonic_ns", c->ts_ns);
                put_str(&b, "old", c->old_comm, strnlen(c->old_comm, sizeof(c->old_comm)));
                put_str(&b, "new", c->new_comm, strnlen(c->new_comm, sizeof(c->new_comm)));
                if (b.failed || json_array_append_new(a, b.obj) < 0) {
                        if (b.failed)
                                json_decref(b.obj);
                        json_decref(a);
                        return NULL;
                }
        }
        return a;
}

/* {code, signal, core_dumped} from the wait status; both null when the status is unknown (events
 * were lost) or is no exit at all. */
static json_t *exit_json(const PwProcess *p) {
        Builder b;
        int status = (int) p->exit_code;
        bool exited = false, killed = false;

        if (!p->exited)
                return json_null();
        if (!(p->uncertain & PW_UNCERTAIN_EXIT)) {
                exited = WIFEXITED(status);
                killed = WIFSIGNALED(status);
        }
        b = (Builder){ .obj = json_object() };
        if (!b.obj)
                return NULL;
        put_int_or_null(&b, "code", WEXITSTATUS(status), !exited);
        put_int_or_null(&b, "signal", WTERMSIG(status), !killed);
        put(&b, "core_dumped", json_boolean(killed && WCOREDUMP(status)));
        if (b.failed) {
                json_decref(b.obj);
                return NULL;
        }
        return b.obj;
}

static int cmp_child(const void *a, const void *b) {
        const PwProcess *x = *(const PwProcess *const *) a, *y = *(const PwProcess *const *) b;

        if (x->start_ns != y->start_ns)
                return x->start_ns < y->start_ns ? -1 : 1;
        return (x->pid > y->pid) - (x->pid < y->pid);
}

/* Does the context's caller see q? */
static bool ctx_sees(const ProcJsonContext *ctx, const PwProcess *q) {
        return !ctx->policy || pw_access_visible(ctx->policy, ctx->caller, q);
}

/* Children's pids, oldest first; only those the caller sees (hidden is true when it does not see
 * every process). */
static json_t *children_json(const PwProcess *p, const ProcJsonContext *ctx, bool hidden) {
        bool alive_only = ctx->children_alive_only;
        _cleanup_(freep) PwProcess **v = NULL;
        json_t *a = json_array();
        size_t n = 0, all;

        if (!a || proctree_n_children(p) == 0)
                return a;
        v = calloc(proctree_n_children(p), sizeof(*v));
        if (!v) {
                json_decref(a);
                return NULL;
        }
        all = proctree_collect_children(p, v, proctree_n_children(p));
        for (size_t i = 0; i < all; i++)
                if ((!alive_only || pw_process_alive(v[i])) && (!hidden || ctx_sees(ctx, v[i])))
                        v[n++] = v[i];
        qsort(v, n, sizeof(*v), cmp_child);
        for (size_t i = 0; i < n; i++)
                if (json_array_append_new(a, json_integer(v[i]->pid)) < 0) {
                        json_decref(a);
                        return NULL;
                }
        return a;
}

static json_t *uncertain_json(unsigned uncertain) {
        json_t *a = json_array();

        if (!a)
                return NULL;
        for (unsigned i = 0; i < ELEMENTSOF(uncertain_names); i++)
                if ((uncertain & (1U << i)) && json_array_append_new(a, json_string(uncertain_names[i])) < 0) {
                        json_decref(a);
                        return NULL;
                }
        return a;
}

int ref_procjson_process(const PwProcess *p, const ProcJsonContext *ctx, json_t **ret) {
        Builder b = {};
        char parent_id[sizeof(p->id)];
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
        parent_shown = !hidden || (proctree_parent(p) && proctree_parent(p)->pid == p->ppid &&
                                   ctx_sees(ctx, proctree_parent(p)));

        b.obj = json_object();
        if (!b.obj)
                return -ENOMEM;
        put_str(&b, "id", p->id, strnlen(p->id, sizeof(p->id)));
        put_int(&b, "pid", p->pid);
        put_int(&b, "ppid", parent_shown ? p->ppid : 0);
        if (parent_shown && p->ppid > 0 && p->parent_start_ns > 0) {
                snprintf(parent_id, sizeof(parent_id), "%d:%" PRIu64, (int) p->ppid, p->parent_start_ns);
                put_str(&b, "parent_id", parent_id, strlen(parent_id));
        } else
                put(&b, "parent_id", json_null());
        put_int_or_null(&b, "original_ppid", p->original_ppid, hidden || p->original_ppid <= 0);
        put_str(&b, "comm", p->comm, strnlen(p->comm, sizeof(p->comm)));
        put(&b, "comm_history", comm_history_json(p, ctx));
        put_int(&b, "comm_changes", p->n_comm_changes);
        put_pwstr(&b, "exe", access.ptrace_read ? p->exe : NULL);
        put(&b, "argv", argv_json(argv, argv_len));
        put(&b, "argv_truncated", json_boolean(p->argv_truncated));
        put(&b, "argv_redacted", json_boolean(p->argv && access.argv != PW_ARGV_FULL));
        put_int(&b, "uid", p->uid);
        put_int(&b, "euid", p->euid);
        put_int(&b, "gid", p->gid);
        put_int(&b, "egid", p->egid);
        put_int(&b, "sid", p->sid);
        put_pwstr(&b, "unit", p->unit);
        put_pwstr(&b, "user_unit", p->user_unit);
        put_pwstr(&b, "cgroup", p->cgroup);
        put_int_or_null(&b, "tracer", p->tracer, hidden || p->tracer <= 0);
        put_int(&b, "threads", p->n_tasks);
        put_int(&b, "execs", p->n_execs);
        put(&b, "kthread", json_boolean(p->kthread));
        put(&b, "state", json_string(ref_state(p)));

        put_u64(&b, "start_realtime_usec", realtime_usec(ctx, p->start_ns));
        put_u64(&b, "start_monotonic_ns", p->start_ns);
        put_int_or_null(&b, "exit_realtime_usec", (int64_t) realtime_usec(ctx, p->exit_ns), !p->exited);
        put_int_or_null(&b, "exit_monotonic_ns", (int64_t) MIN(p->exit_ns, (uint64_t) INT64_MAX), !p->exited);
        /* Exited: its lifetime; otherwise (alive, or displaced with no end known yet) so far. */
        end_ns = p->exited ? p->exit_ns : ctx->now_ns;
        put_u64(&b, "duration_usec", end_ns > p->start_ns ? (end_ns - p->start_ns) / 1000U : 0);
        put(&b, "exit", exit_json(p));

        put(&b, "source", json_string(pw_source_to_string(p->source) ?: "unknown"));
        put(&b, "uncertain", uncertain_json(p->uncertain));
        put(&b, "children", children_json(p, ctx, hidden));
        /* What it cost (taskstats), and its exited descendants with it. */
        put(&b, "resources", pw_resources_json(p, access.ptrace_read));
        put(&b, "resources_state", p->resources && p->resources->state == PW_RESOURCES_JOINED    ? json_string("joined")
                                   : p->resources && p->resources->state == PW_RESOURCES_MISSING ? json_string("missing")
                                                                                                 : json_null());
        subtree = ctx->policy ? pw_access_subtree(ctx->policy, ctx->caller, p) : PW_SUBTREE_FULL;
        put(&b, "subtree_resources", subtree == PW_SUBTREE_HIDDEN ? json_null()
                                                                   : pw_subtree_resources_json(p, subtree == PW_SUBTREE_FULL));

        if (b.failed) {
                json_decref(b.obj);
                return -ENOMEM;
        }
        *ret = b.obj;
        return 0;
}

