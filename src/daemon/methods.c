/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The io.procwatch methods: what each call means, over the generic Varlink server.
 *
 * Each method has a dispatch table (name, type, offset, mandatory) that the server applies before the
 * handler runs, so a handler sees its parameters typed and in range. Records are written as JSON
 * text directly (procjson_write_process(), json-writer.h), never as a jansson object tree: the one
 * code path for a record in Show, List, Tree and Events.
 *
 * List and Tree replies can be tens of megabytes (30,000 processes), more than the loop should
 * write at once while events arrive: so the request takes a snapshot of the identities (pid, start
 * time) to list, and the reply is a stream the server asks for a chunk at a time, once the client
 * has read the previous one. A record evicted meanwhile is skipped; one that changed (a process that
 * exited) is shown as it is when its turn comes.
 *
 * Who sees what. Reading is open to every local user, as ps is; what each caller sees of each record
 * is the one access policy's decision (access-policy.h: what /proc would show it, argv as the
 * journal's privacy settings say for others' processes). The caller's credentials are taken once, at
 * accept (pw_methods_identify()). Methods that change the daemon (DropRetained, Reload) are for root
 * only. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json-util.h"
#include "log.h"
#include "methods.h"
#include "process-filter.h"
#include "procwatch/protocol.h"
#include "varlink-idl.h"

/* Records looked at per generation step, whether or not they still exist. */
#define METHODS_STREAM_STEP_MAX 4096U

struct PwMethods {
        VarlinkServer *server;
        ProcTree *tree;
        PwAccessPolicy *policy;
        const Subscriptions *subs;
        PwMethodsCallbacks cb;
        void *userdata;
};

static const PwCaller *caller_of(const VarlinkServerConn *c) {
        return varlink_server_conn_data(c);
}

int pw_methods_identify(int fd, void *conn_data) {
        (void) pw_caller_from_socket(fd, conn_data); /* a failure leaves it fewer rights */
        return 0;
}

/* Does this caller see p at all (access-policy.h)? */
static bool caller_sees(const PwMethods *m, const VarlinkServerConn *c, const PwProcess *p) {
        return pw_access_visible(m->policy, caller_of(c), p);
}

/* --- snapshots ------------------------------------------------------------------------------------- */

typedef struct StreamItem {
        pid_t pid;
        uint64_t start_ns;
} StreamItem;

/* A List or Tree reply being generated. */
typedef struct Stream {
        const ProcTree *tree;
        StreamItem *items;
        size_t n, pos;
        ProcJsonContext ctx;
        JsonWriter out;             /* the records of one step, before they are queued */
} Stream;

static void stream_free(void *state) {
        Stream *st = state;

        if (st) {
                free(st->items);
                json_writer_done(&st->out);
                free(st);
        }
}

static int stream_push(Stream *st, size_t *alloc, const PwProcess *p) {
        if (st->n == *alloc) {
                size_t na = *alloc ? *alloc * 2 : 256;
                StreamItem *ni = reallocarray(st->items, na, sizeof(StreamItem));

                if (!ni)
                        return -ENOMEM;
                st->items = ni;
                *alloc = na;
        }
        st->items[st->n++] = (StreamItem){ .pid = p->pid, .start_ns = p->start_ns };
        return 0;
}

static int cmp_pid(const void *a, const void *b) {
        const PwProcess *x = *(const PwProcess *const *) a, *y = *(const PwProcess *const *) b;
        return (x->pid > y->pid) - (x->pid < y->pid);
}

/* How many records the tree holds, alive or not. */
static size_t tree_size(const ProcTree *t) {
        ProcTreeStats ts;

        proctree_get_stats(t, &ts);
        return (size_t) ts.live + ts.displaced_now + ts.retained;
}

/* The records of one kind of walk that keep() takes, at v; how many. */
static size_t collect_kept(const ProcTree *t, ProcTreeWalk walk, bool (*keep)(const PwProcess *p, const void *userdata),
                           const void *userdata, PwProcess **v, size_t max) {
        size_t n = 0, all = proctree_collect(t, walk, v, max);

        for (size_t i = 0; i < all; i++)
                if (keep(v[i], userdata))
                        v[n++] = v[i];
        return n;
}

/* Live and displaced records (sorted by pid each), then exited ones in exit order; only those keep()
 * takes, which are all that is sorted (a Tree's few roots, not 30,000 records). */
static int collect_all(const ProcTree *t, bool (*keep)(const PwProcess *p, const void *userdata), const void *userdata,
                       PwProcess ***ret, size_t *ret_n) {
        size_t cap = tree_size(t), n, k;
        PwProcess **v;

        v = calloc(cap + 1, sizeof(*v));
        if (!v)
                return -ENOMEM;
        n = collect_kept(t, PROCTREE_WALK_LIVE, keep, userdata, v, cap);
        qsort(v, n, sizeof(*v), cmp_pid);
        k = collect_kept(t, PROCTREE_WALK_DISPLACED, keep, userdata, v + n, cap - n);
        qsort(v + n, k, sizeof(*v), cmp_pid);
        n += k;
        n += collect_kept(t, PROCTREE_WALK_RETAINED, keep, userdata, v + n, cap - n);
        *ret = v;
        *ret_n = n;
        return 0;
}

/* What a List call asked for: uid, comm, unit, user_unit and state of the one process filter. */
typedef PwProcessFilter ListFilter;

static bool list_match(const PwProcess *p, const void *f) {
        return pw_process_filter_match(f, p, NULL, NULL);
}

static int snapshot_list(const ProcTree *t, const ListFilter *f, Stream *st) {
        _cleanup_(freep) PwProcess **all = NULL;
        size_t n, alloc = 0;
        int r;

        r = collect_all(t, list_match, f, &all, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                r = stream_push(st, &alloc, all[i]);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Tree's one filter is the state: alive only, or every record, by the rule the process filter's
 * state uses (pw_state_filter_match()); a whole PwProcessFilter (2 KiB) per record walked is not. */
static bool tree_wanted(const PwProcess *p, bool include_exited) {
        return pw_state_filter_match(include_exited ? PW_STATE_FILTER_ALL : PW_STATE_FILTER_ALIVE, p);
}

/* Depth-first from each root, children oldest first, depth levels below the roots (-1: all). The
 * count of pushed records is bounded by the tree's size, so a parent cycle, which the tree should
 * never hold, cannot make this run forever. */
static int snapshot_tree(const ProcTree *t, PwProcess **roots, size_t n_roots, int depth, bool include_exited,
                         Stream *st) {
        typedef struct Frame {
                PwProcess *p;
                int level;
        } Frame;
        size_t total = tree_size(t), alloc = 0, n_stack = 0, stack_alloc;
        _cleanup_(freep) Frame *stack = NULL;
        _cleanup_(freep) PwProcess **kids = NULL;
        size_t kids_alloc = 0;
        int r;

        stack_alloc = n_roots + 16;
        stack = calloc(stack_alloc, sizeof(Frame));
        if (!stack)
                return -ENOMEM;
        /* Pushed in reverse so that the first root comes out first. */
        for (size_t i = n_roots; i > 0; i--)
                stack[n_stack++] = (Frame){ roots[i - 1], 0 };

        while (n_stack > 0 && st->n <= total) {
                Frame f = stack[--n_stack];
                size_t k = 0;

                r = stream_push(st, &alloc, f.p);
                if (r < 0)
                        return r;
                if (depth >= 0 && f.level >= depth)
                        continue;
                if (proctree_n_children(f.p) > kids_alloc) {
                        PwProcess **nk = reallocarray(kids, proctree_n_children(f.p), sizeof(*nk));

                        if (!nk)
                                return -ENOMEM;
                        kids = nk;
                        kids_alloc = proctree_n_children(f.p);
                }
                for (size_t i = 0, n = proctree_collect_children(f.p, kids, kids_alloc); i < n; i++)
                        if (tree_wanted(kids[i], include_exited))
                                kids[k++] = kids[i];
                /* Newest first onto the stack: the oldest child is popped first. */
                procjson_sort_by_start(kids, k, true);
                if (n_stack + k > stack_alloc) {
                        size_t na = MAX(stack_alloc * 2, n_stack + k);
                        Frame *ns = reallocarray(stack, na, sizeof(Frame));

                        if (!ns)
                                return -ENOMEM;
                        stack = ns;
                        stack_alloc = na;
                }
                for (size_t i = 0; i < k; i++)
                        stack[n_stack++] = (Frame){ kids[i], f.level + 1 };
        }
        return 0;
}

/* A root of the tree: listed (alive, or include_exited), its parent not (unknown, or without
 * include_exited no longer alive). */
static bool tree_root(const PwProcess *p, const void *include_exited) {
        const PwProcess *parent = proctree_parent(p);
        bool all = *(const bool *) include_exited;

        return tree_wanted(p, all) && !(parent && parent != p && tree_wanted(parent, all));
}

/* Processes without a listed parent: pid 1, kthreadd, and anything whose parent is unknown or (without
 * include_exited) no longer alive. */
static int tree_roots(const ProcTree *t, bool include_exited, PwProcess ***ret, size_t *ret_n) {
        return collect_all(t, tree_root, &include_exited, ret, ret_n);
}

/* --- streamed replies ---------------------------------------------------------------------------------- */

/* Appends the next records of the reply, up to budget bytes; ends the message after the last. The
 * records of a step are written into st->out, then queued at once. */
static int stream_step(VarlinkServerConn *c, void *state, size_t budget) {
        Stream *st = state;
        unsigned looked = 0;
        int r;

        /* The reply's array is open: the first record follows "[", the others a comma. */
        while (st->pos < st->n && st->out.len < budget && looked++ < METHODS_STREAM_STEP_MAX) {
                const StreamItem *it = &st->items[st->pos++];
                PwProcess *p = proctree_get_by_identity(st->tree, it->pid, it->start_ns);

                if (!p || !pw_access_visible(st->ctx.policy, st->ctx.caller, p))
                        continue; /* evicted since the snapshot, or hidden from this caller */
                r = procjson_write_process(&st->out, p, &st->ctx);
                if (r < 0)
                        return r;
        }
        if (st->pos == st->n)
                json_writer_append(&st->out, "]}}", 4); /* with the NUL that ends the message */
        r = json_writer_error(&st->out);
        if (r < 0)
                return r;
        r = varlink_server_conn_send(c, st->out.buf, st->out.len);
        if (r < 0)
                return r;
        json_writer_clear_text(&st->out);
        return st->pos == st->n;
}

static int stream_start(PwMethods *m, VarlinkServerConn *c, const VarlinkCall *call, Stream *st) {
        static const char head[] = "{\"parameters\":{\"processes\":[";
        int r;

        if (call->oneway) {
                stream_free(st);
                return 0;
        }
        r = varlink_server_conn_send(c, head, sizeof(head) - 1);
        if (r < 0) {
                stream_free(st);
                return r;
        }
        st->tree = m->tree;
        procjson_context_now(&st->ctx, m->policy, caller_of(c));
        return varlink_server_conn_stream(c, stream_step, st, stream_free);
}

/* --- methods --------------------------------------------------------------------------------------- */

static int reply_no_such_process(VarlinkServerConn *c, const VarlinkCall *call, bool has_pid, int64_t pid,
                                 const char *id) {
        json_t *p = json_object();

        if (!p)
                return -ENOMEM;
        if ((has_pid && json_object_set_new(p, "pid", json_integer(pid)) < 0) ||
            (id && json_object_set_new(p, "id", json_string_sanitized(id, strlen(id))) < 0)) {
                json_decref(p);
                return -ENOMEM;
        }
        return varlink_server_reply_error(c, call, PW_VARLINK_ERROR_NO_SUCH_PROCESS, p);
}

static int method_get_info(VarlinkServerConn *c, const VarlinkCall *call, void *params, void *userdata) {
        json_t *p = json_pack("{s:s, s:s, s:s, s:s, s:[s, s], s:i}", "vendor", PW_VARLINK_VENDOR, "product",
                              PW_VARLINK_PRODUCT, "version", PACKAGE_VERSION, "url", PW_VARLINK_URL,
                              "interfaces", PW_VARLINK_SERVICE_INTERFACE, PW_VARLINK_INTERFACE,
                              "interface_version", PW_VARLINK_INTERFACE_VERSION);

        if (!p)
                return -ENOMEM;
        return varlink_server_reply(c, call, p);
}

typedef struct InterfaceParams {
        const char *interface;
} InterfaceParams;

static const VarlinkField interface_fields[] = {
        { "interface", VARLINK_FIELD_STRING, offsetof(InterfaceParams, interface), .mandatory = true },
        {}
};

static int method_get_interface_description(VarlinkServerConn *c, const VarlinkCall *call, void *params,
                                            void *userdata) {
        const InterfaceParams *p = params;
        const char *text;

        if (strcmp(p->interface, PW_VARLINK_INTERFACE) == 0)
                text = pw_idl_io_procwatch;
        else if (strcmp(p->interface, PW_VARLINK_SERVICE_INTERFACE) == 0)
                text = pw_idl_org_varlink_service;
        else
                return varlink_server_reply_error(c, call, PW_VARLINK_ERROR_INTERFACE_NOT_FOUND,
                                                  varlink_server_param_object("interface", p->interface));
        return varlink_server_reply(c, call, json_pack("{s:s}", "description", text));
}

typedef struct ShowParams {
        int64_t pid;                /* 0: not given */
        const char *id;
} ShowParams;

static const VarlinkField show_fields[] = {
        { "pid", VARLINK_FIELD_INT, offsetof(ShowParams, pid), .min = 1, .max = INT32_MAX },
        { "id", VARLINK_FIELD_STRING, offsetof(ShowParams, id) },
        {}
};

static int method_show(VarlinkServerConn *c, const VarlinkCall *call, void *params, void *userdata) {
        const ShowParams *a = params;
        PwMethods *m = userdata;
        ProcJsonContext ctx = {};
        _cleanup_(json_writer_done) JsonWriter w = JSON_WRITER_INIT;
        bool has_pid = a->pid > 0;
        PwProcess *p;
        int r;

        if (!has_pid && !a->id)
                return varlink_server_reply_invalid(c, call, "pid");

        if (a->id) {
                p = proctree_get_by_id(m->tree, a->id);
                if (p && has_pid && p->pid != (pid_t) a->pid)
                        p = NULL;
        } else
                p = proctree_get(m->tree, (pid_t) a->pid);
        if (!p || !caller_sees(m, c, p))
                return reply_no_such_process(c, call, has_pid, a->pid, a->id);

        if (call->oneway)
                return 0;
        procjson_context_now(&ctx, m->policy, caller_of(c));
        json_writer_object_begin(&w);
        json_writer_key(&w, "parameters");
        json_writer_object_begin(&w);
        json_writer_key(&w, "process");
        r = procjson_write_process(&w, p, &ctx);
        if (r < 0)
                return r;
        json_writer_object_end(&w);
        json_writer_object_end(&w);
        json_writer_append(&w, "", 1); /* the NUL that ends the message */
        r = json_writer_error(&w);
        if (r < 0)
                return r;
        return varlink_server_conn_send(c, w.buf, w.len);
}

typedef struct ListParams {
        int64_t uid;                /* -1: not given */
        const char *comm, *unit, *user_unit, *state;
} ListParams;

static const VarlinkField list_fields[] = {
        { "uid", VARLINK_FIELD_INT, offsetof(ListParams, uid), .min = 0, .max = UINT32_MAX },
        { "comm", VARLINK_FIELD_STRING, offsetof(ListParams, comm) },
        { "unit", VARLINK_FIELD_STRING, offsetof(ListParams, unit) },
        { "user_unit", VARLINK_FIELD_STRING, offsetof(ListParams, user_unit) },
        { "state", VARLINK_FIELD_STRING, offsetof(ListParams, state) },
        {}
};

static const ListParams list_default = { .uid = -1 };

static int method_list(VarlinkServerConn *c, const VarlinkCall *call, void *params, void *userdata) {
        const ListParams *a = params;
        PwMethods *m = userdata;
        _cleanup_(pw_process_filter_done) ListFilter f;
        const char *bad = NULL;
        Stream *st;
        int r;

        pw_process_filter_init(&f);
        r = pw_process_filter_add_selectors(&f, a->uid, a->comm, a->unit, a->user_unit, &bad);
        if (r == -EINVAL)
                return varlink_server_reply_invalid(c, call, bad);
        if (r < 0)
                return r;
        if (a->state) {
                if (strcmp(a->state, "alive") == 0)
                        f.state = PW_STATE_FILTER_ALIVE;
                else if (strcmp(a->state, "exited") == 0)
                        f.state = PW_STATE_FILTER_EXITED;
                else if (strcmp(a->state, "all") != 0)
                        return varlink_server_reply_invalid(c, call, "state");
        }
        if (call->oneway)
                return 0;

        st = calloc(1, sizeof(*st));
        if (!st)
                return -ENOMEM;
        r = snapshot_list(m->tree, &f, st);
        if (r < 0) {
                stream_free(st);
                return r;
        }
        return stream_start(m, c, call, st);
}

typedef struct TreeParams {
        int64_t root;               /* 0: not given */
        int64_t depth;              /* -1: all */
        bool include_exited;
} TreeParams;

static const VarlinkField tree_fields[] = {
        { "root", VARLINK_FIELD_INT, offsetof(TreeParams, root), .min = 1, .max = INT32_MAX },
        { "depth", VARLINK_FIELD_INT, offsetof(TreeParams, depth), .min = 0, .max = INT32_MAX },
        { "include_exited", VARLINK_FIELD_BOOL, offsetof(TreeParams, include_exited) },
        {}
};

static const TreeParams tree_default = { .depth = -1 };

static int method_tree(VarlinkServerConn *c, const VarlinkCall *call, void *params, void *userdata) {
        const TreeParams *a = params;
        PwMethods *m = userdata;
        const ProcTree *t = m->tree;
        _cleanup_(freep) PwProcess **roots = NULL;
        PwProcess *root;
        size_t n_roots;
        Stream *st;
        int r;

        if (a->root > 0) {
                root = proctree_get(t, (pid_t) a->root);
                if (!root || !caller_sees(m, c, root))
                        return reply_no_such_process(c, call, true, a->root, NULL);
                roots = calloc(1, sizeof(*roots));
                if (!roots)
                        return -ENOMEM;
                roots[0] = root;
                n_roots = 1;
        } else {
                r = tree_roots(t, a->include_exited, &roots, &n_roots);
                if (r < 0)
                        return r;
        }
        if (call->oneway)
                return 0;

        st = calloc(1, sizeof(*st));
        if (!st)
                return -ENOMEM;
        st->ctx.children_alive_only = !a->include_exited;
        r = snapshot_tree(t, roots, n_roots, (int) a->depth, a->include_exited, st);
        if (r < 0) {
                stream_free(st);
                return r;
        }
        return stream_start(m, c, call, st);
}

static int method_stats(VarlinkServerConn *c, const VarlinkCall *call, void *params, void *userdata) {
        PwMethods *m = userdata;
        PwDaemonStats stats = { .tree = m->tree };
        VarlinkServerStats vs;
        SubscriptionStats ss;
        json_t *j;
        int r;

        if (m->cb.get_stats)
                m->cb.get_stats(m->userdata, &stats);
        varlink_server_get_stats(m->server, &vs);
        subscriptions_get_stats(m->subs, &ss);
        stats.clients = vs.clients;
        stats.clients_total = vs.clients_total;
        stats.clients_refused = vs.clients_refused;
        stats.clients_dropped = vs.clients_dropped;
        stats.requests = vs.requests;
        stats.subscribers = ss.subscribers;
        stats.events_published = ss.events_published;
        stats.events_missed = ss.events_missed;
        stats.subtree_steps = ss.subtree_steps;
        r = procjson_stats(&stats, &j);
        if (r < 0)
                return r;
        return varlink_server_reply(c, call, j);
}

/* --- methods that change the daemon ---------------------------------------------------------------- */

static bool caller_is_root(const VarlinkServerConn *c) {
        return varlink_server_conn_ucred(c)->uid == 0;
}

static int reply_permission_denied(VarlinkServerConn *c, const VarlinkCall *call) {
        return varlink_server_reply_error(c, call, PW_VARLINK_ERROR_PERMISSION_DENIED,
                                          varlink_server_param_object("method", call->method));
}

static int method_drop_retained(VarlinkServerConn *c, const VarlinkCall *call, void *params, void *userdata) {
        PwMethods *m = userdata;
        unsigned n;

        if (!caller_is_root(c))
                return reply_permission_denied(c, call);
        n = proctree_drop_retained(m->tree);
        log_info("Dropped %u retained exited process records, as asked by pid %d.", n,
                 (int) varlink_server_conn_ucred(c)->pid);
        return varlink_server_reply(c, call, json_pack("{s:i}", "dropped", (int) n));
}

void pw_methods_reread_proc_mount(PwMethods *m) {
        PwProcMount pm;
        int r;

        r = pw_proc_mount_read(&pm);
        if (r < 0)
                log_warning_errno(r, "Failed to read /proc's mount options, keeping hidepid=%s: %m",
                                  pw_hidepid_to_string(m->policy->proc.hidepid));
        else
                m->policy->proc = pm;
}

static int method_reload(VarlinkServerConn *c, const VarlinkCall *call, void *params, void *userdata) {
        PwMethods *m = userdata;
        bool hidepid;
        int r;

        if (!caller_is_root(c))
                return reply_permission_denied(c, call);
        /* /proc's mount first, then the configuration files (the callback), as SIGHUP does. */
        pw_methods_reread_proc_mount(m);
        hidepid = m->policy->proc.hidepid != PW_HIDEPID_OFF;
        if (m->cb.reload) {
                json_t *out = NULL;

                log_info("Reload asked by pid %d.", (int) varlink_server_conn_ucred(c)->pid);
                r = m->cb.reload(m->userdata, &out);
                if (r < 0)
                        return varlink_server_reply_error(c, call, PW_VARLINK_ERROR_CONFIG_INVALID, out);
                if (out && json_object_set_new(out, "hidepid", json_boolean(hidepid)) < 0)
                        out = (json_decref(out), NULL);
                return varlink_server_reply(c, call, out);
        }
        return varlink_server_reply(c, call, json_pack("{s:b}", "hidepid", hidepid));
}

static int method_get_config(VarlinkServerConn *c, const VarlinkCall *call, void *params, void *userdata) {
        PwMethods *m = userdata;

        if (!m->cb.get_config)
                return varlink_server_reply_error(c, call, PW_VARLINK_ERROR_METHOD_NOT_IMPLEMENTED,
                                                  varlink_server_param_object("method", call->method));
        return varlink_server_reply(c, call, m->cb.get_config(m->userdata));
}

/* The method table: a method without fields takes no parameters. */
static const VarlinkMethod methods[] = {
        { "org.varlink.service.GetInfo", method_get_info },
        { "org.varlink.service.GetInterfaceDescription", method_get_interface_description, interface_fields,
          sizeof(InterfaceParams) },
        { "io.procwatch.Show", method_show, show_fields, sizeof(ShowParams) },
        { "io.procwatch.List", method_list, list_fields, sizeof(ListParams), &list_default },
        { "io.procwatch.Tree", method_tree, tree_fields, sizeof(TreeParams), &tree_default },
        { "io.procwatch.Stats", method_stats },
        { "io.procwatch.DropRetained", method_drop_retained },
        { "io.procwatch.Reload", method_reload },
        { "io.procwatch.GetConfig", method_get_config },
};

int pw_methods_new(PwMethods **ret, VarlinkServer *vs, ProcTree *tree, PwAccessPolicy *policy,
                   const Subscriptions *subs, const PwMethodsCallbacks *cb, void *userdata) {
        _cleanup_(pw_methods_freep) PwMethods *m = NULL;
        int r;

        m = calloc(1, sizeof(*m));
        if (!m)
                return -ENOMEM;
        m->server = vs;
        m->tree = tree;
        m->policy = policy;
        m->subs = subs;
        if (cb)
                m->cb = *cb;
        m->userdata = userdata;
        r = varlink_server_add_methods(vs, methods, ELEMENTSOF(methods), m);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(m);
        return 0;
}

PwMethods *pw_methods_free(PwMethods *m) {
        free(m);
        return NULL;
}
