/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The Varlink server: the control socket on the sd-event loop, answering from the process tree.
 *
 * Design. Everything runs on the daemon's one sd-event loop, beside the proc-connector socket, so a
 * client must never make the loop wait: every socket is non-blocking and every client-controlled
 * resource has a bound (server.h, SERVER_*):
 *
 * - Input. Bytes are read 64 KiB at a time into the connection's buffer and cut into messages at
 *   their NUL. A request longer than SERVER_REQUEST_MAX (with or without its NUL yet) cannot be
 *   told apart from garbage: it gets InvalidParameter ("request") and the connection is closed once
 *   that is written. Nesting is checked by a scan of the raw bytes before jansson parses them.
 *   Malformed JSON, unknown methods and bad parameters get their Varlink error; the connection
 *   carries on.
 *
 * - Output. Replies are queued and written as the socket takes them; the rest waits for EPOLLOUT.
 *   List and Tree replies can be tens of megabytes (30,000 processes), more than the loop should
 *   write at once while events arrive: so the request takes a snapshot of the identities (pid, start
 *   time) to list, and the reply is generated from it SERVER_OUTPUT_CHUNK bytes at a time, only when
 *   the client has read the previous chunk. Each step yields to the loop. Records are written as
 *   JSON text directly (procjson_write_process(), json-writer.h), never as a jansson object tree:
 *   the one code path for a record in Show, List, Tree and Events. A record evicted meanwhile is skipped; one that changed (a process
 *   that exited) is shown as it is when its turn comes.
 *
 * - Backpressure. While a reply is being generated, or more than SERVER_OUTPUT_CHUNK bytes wait,
 *   nothing more is read from that client: pipelined requests wait in the kernel's socket buffer,
 *   not in ours. A client's queue is therefore one chunk plus one message; SERVER_OUTPUT_MAX is a
 *   hard bound beyond which the client is dropped. A client that does not read what is queued for
 *   SERVER_STALL_USEC is dropped, so a reader that never reads cannot hold a snapshot forever.
 *
 * - Events. A client that calls Events with "more" becomes a subscriber: it reads nothing more (its
 *   further input is discarded, only its end is noticed) and is kept on a list of its own, so that
 *   publishing looks at subscribers only. Each event the tree applies is matched against every
 *   subscriber's filter; on the first match it is serialised once, into one NUL-terminated message,
 *   and that text is copied into each matching subscriber's output queue. A queue holds at most
 *   SERVER_EVENTS_BUFFER_MAX bytes: an event that does not fit is not queued but counted, and once
 *   the subscriber has read enough a {"missed": N} record is queued ahead of the next event. So a
 *   slow subscriber costs a bounded copy per event and a bounded buffer, never a wait, and another
 *   subscriber sees no difference. One that reads nothing at all is dropped after SERVER_STALL_USEC
 *   like any client that does not read its replies. The record PwApplyResult names is valid only
 *   until the tree changes again (an exited one may be evicted), hence serialising at once.
 *
 * - Who sees what. Reading is open to every local user, as ps is; what each caller sees of each
 *   record is the one access policy's decision (access-policy.h: what /proc would show it, argv as
 *   the journal's privacy settings say for others' processes), in every method and in Events. The
 *   caller's credentials are taken once, at accept. An event is serialised once per distinct view
 *   (caller ids and rights) among the subscribers it goes to, not once per subscriber. Methods that
 *   change the daemon (DropRetained, Reload) are for root only.
 *
 * - Connections. At most SERVER_CLIENTS_MAX, fewer when RLIMIT_NOFILE would not leave
 *   SERVER_FD_RESERVE descriptors for the daemon's own /proc reads; one more is accepted and closed
 *   at once (no reply: it has sent no call to reply to), so that it learns at once rather than
 *   waiting in the backlog. SO_PEERCRED is read at accept and recorded for access decisions.
 *
 * - Fair shares. What the connections of one uid hold together is kept in its UidShare: a user
 *   other than root gets at most SERVER_CLIENTS_PER_UID_MAX connections, SERVER_SUBSCRIBERS_PER_UID_MAX
 *   Events streams and SERVER_OUTPUT_PER_UID_MAX queued bytes (beyond, its requests are not read,
 *   its List and Tree not generated further, its events counted as missed, until it reads); users
 *   other than root together get all places but SERVER_CLIENTS_ROOT_RESERVE, so root is always
 *   answered. A connection with nothing in progress for SERVER_IDLE_USEC is closed.
 *
 * - Cost per event. Whether an event's process is in a subscriber's subtree is decided once per
 *   event for all subscribers: its ancestors are followed once (at most SERVER_SUBTREE_DEPTH_MAX)
 *   and looked up in the sorted set of the subtree roots subscribers named.
 *
 * Client-caused failures are logged at debug level only (a local user must not be able to flood
 * the journal) and counted in Stats. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "access-policy.h"
#include "fileio.h"
#include "json-util.h"
#include "log.h"
#include "procwatch/protocol.h"
#include "server.h"
#include "varlink-idl.h"
#include "varlink.h"

/* Bytes read per read(). */
#define SERVER_READ_CHUNK (64U * 1024U)
/* Connections accepted per wake-up of the listening socket. */
#define SERVER_ACCEPT_BATCH 32
/* Records looked at per generation step, whether or not they still exist. */
#define SERVER_STREAM_STEP_MAX 4096U
/* After running out of file descriptors, accepting pauses this long. */
#define SERVER_ACCEPT_RETRY_USEC (250 * USEC_PER_MSEC)
/* Warnings that clients can provoke over and over are logged at most this often. */
#define SERVER_WARN_INTERVAL_USEC (60 * USEC_PER_SEC)

typedef struct StreamItem {
        pid_t pid;
        uint64_t start_ns;
} StreamItem;

/* A List or Tree reply being generated. */
typedef struct Stream {
        StreamItem *items;
        size_t n, pos;
        ProcJsonContext ctx;
        JsonWriter out;             /* the records of one step, before they are queued */
} Stream;

/* What an Events subscriber asked for. */
typedef struct Subscription {
        unsigned kinds;             /* bit per PwEventKind; all when none were named */
        pid_t pid;                  /* subtree root; 0: all */
        bool has_uid;
        uint32_t uid;
        char *comm, *unit, *user_unit;
        bool threads;               /* also events about threads other than the leader */
        uint64_t missed;            /* events not queued since the last "missed" record */
} Subscription;

typedef struct Client Client;

/* What the connections of one uid hold together. */
typedef struct UidShare {
        struct UidShare *next;
        uint32_t uid;
        unsigned n_clients, n_subscribers;
        size_t queued;              /* bytes queued for all of them */
} UidShare;

struct Server {
        sd_event *event;
        ProcTree *tree;
        ServerLimits limits;
        ServerCallbacks cb;
        void *userdata;

        int listen_fd;
        sd_event_source *listen_source;
        sd_event_source *retry_timer;
        sd_event_source *stall_timer;
        char *path;                 /* the socket file we made, removed at the end */
        dev_t path_dev;
        ino_t path_ino;

        Client *clients;
        unsigned n_clients;
        Client *subscribers;        /* clients with a Subscription, linked by sub_prev/sub_next */
        unsigned n_subscribers;
        PwAccessPolicy policy;      /* who sees what (access-policy.h) */
        unsigned n_clients_nonroot;
        UidShare *shares;
        /* The distinct subtree roots subscribers named, sorted, with how many named each; per event,
         * which of them the event's process descends from. */
        pid_t *roots;
        unsigned *root_refs;
        bool *root_hit;
        size_t n_roots, roots_alloc;
        usec_t warned_full_usec;    /* warnings a client can provoke: at most one per interval */
        usec_t warned_accept_usec;

        uint64_t clients_total, clients_refused, clients_dropped, requests;
        uint64_t events_published, events_missed;
        uint64_t subtree_steps;     /* ancestors followed for subtree filters, in all */
};

struct Client {
        Server *server;
        Client *prev, *next;
        VarlinkConn conn;
        sd_event_source *source;
        struct ucred ucred;
        PwCaller caller;            /* for the access policy, taken at accept */
        UidShare *share;
        size_t accounted;           /* bytes of ours counted in share->queued */
        usec_t progress_usec;       /* the queue last became non-empty or was written to */
        usec_t active_usec;         /* a request was last answered or a reply written to */
        Stream *stream;
        Subscription *sub;
        Client *sub_prev, *sub_next;
        bool read_eof;              /* the client will send nothing more */
        bool closing;               /* close once the queue is written */
};

/* --- fair shares ---------------------------------------------------------------------------------- */

static int client_update_events(Client *c, bool input_waiting);

static UidShare *share_find(const Server *s, uint32_t uid) {
        for (UidShare *sh = s->shares; sh; sh = sh->next)
                if (sh->uid == uid)
                        return sh;
        return NULL;
}

static UidShare *share_get(Server *s, uint32_t uid) {
        UidShare *sh = share_find(s, uid);

        if (sh)
                return sh;
        sh = calloc(1, sizeof(*sh));
        if (!sh)
                return NULL;
        sh->uid = uid;
        sh->next = s->shares;
        s->shares = sh;
        return sh;
}

static void share_put(Server *s, UidShare *sh) {
        if (!sh || sh->n_clients > 0)
                return;
        for (UidShare **p = &s->shares; *p; p = &(*p)->next)
                if (*p == sh) {
                        *p = sh->next;
                        break;
                }
        free(sh);
}

/* Root is bound only by the totals: it is who must be able to look when others misbehave. */
static bool share_capped(const UidShare *sh) {
        return sh->uid != 0;
}

/* This uid's queue is full: nothing more is read or generated for it until some is read. */
static bool share_full(const Server *s, const UidShare *sh) {
        return share_capped(sh) && sh->queued >= s->limits.output_per_uid_max;
}

/* Counts what c has queued now in its share; once the share has room again, its other connections
 * that waited for it are polled again. */
static void client_account(Client *c) {
        Server *s = c->server;
        UidShare *sh = c->share;
        size_t now = varlink_conn_pending_out(&c->conn);
        bool was_full = share_full(s, sh);

        sh->queued = sh->queued - c->accounted + now;
        c->accounted = now;
        if (was_full && !share_full(s, sh))
                for (Client *o = s->clients; o; o = o->next)
                        if (o != c && o->share == sh && !o->sub)
                                (void) client_update_events(o, varlink_conn_pending_in(&o->conn) > 0);
}

unsigned server_clients_max_for_nofile(uint64_t nofile, unsigned cap) {
        if (nofile == UINT64_MAX)
                return MAX(cap, 1U);
        if (nofile <= SERVER_FD_RESERVE + 1)
                return 1;
        return (unsigned) MAX(MIN((uint64_t) cap, nofile - SERVER_FD_RESERVE), (uint64_t) 1);
}

/* Why a connection of uid may not be taken now, or NULL. */
static const char *admission_refused(const Server *s, uint32_t uid) {
        unsigned reserve = MIN(s->limits.clients_root_reserve, s->limits.clients_max / 2);
        const UidShare *sh;

        if (s->n_clients >= s->limits.clients_max)
                return "all places are taken";
        if (uid == 0)
                return NULL;
        if (s->n_clients_nonroot >= s->limits.clients_max - reserve)
                return "the rest is kept for root";
        sh = share_find(s, uid);
        if (sh && sh->n_clients >= s->limits.clients_per_uid_max)
                return "this user has its share";
        return NULL;
}

/* --- subtree roots ---------------------------------------------------------------------------------- */

/* Where pid is in s->roots, or where it would go (*found false). */
static size_t roots_find(const Server *s, pid_t pid, bool *found) {
        size_t lo = 0, hi = s->n_roots;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;

                if (s->roots[mid] < pid)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        *found = lo < s->n_roots && s->roots[lo] == pid;
        return lo;
}

static int roots_add(Server *s, pid_t pid) {
        bool found;
        size_t i = roots_find(s, pid, &found);

        if (found) {
                s->root_refs[i]++;
                return 0;
        }
        if (s->n_roots == s->roots_alloc) {
                size_t na = s->roots_alloc ? s->roots_alloc * 2 : 16;
                pid_t *nr = reallocarray(s->roots, na, sizeof(pid_t));
                unsigned *nc;
                bool *nh;

                if (!nr)
                        return -ENOMEM;
                s->roots = nr;
                nc = reallocarray(s->root_refs, na, sizeof(unsigned));
                if (!nc)
                        return -ENOMEM;
                s->root_refs = nc;
                nh = reallocarray(s->root_hit, na, sizeof(bool));
                if (!nh)
                        return -ENOMEM;
                s->root_hit = nh;
                s->roots_alloc = na;
        }
        memmove(s->roots + i + 1, s->roots + i, (s->n_roots - i) * sizeof(pid_t));
        memmove(s->root_refs + i + 1, s->root_refs + i, (s->n_roots - i) * sizeof(unsigned));
        s->roots[i] = pid;
        s->root_refs[i] = 1;
        s->n_roots++;
        return 0;
}

static void roots_remove(Server *s, pid_t pid) {
        bool found;
        size_t i = roots_find(s, pid, &found);

        if (!found || --s->root_refs[i] > 0)
                return;
        memmove(s->roots + i, s->roots + i + 1, (s->n_roots - i - 1) * sizeof(pid_t));
        memmove(s->root_refs + i, s->root_refs + i + 1, (s->n_roots - i - 1) * sizeof(unsigned));
        s->n_roots--;
}

static unsigned roots_mark(Server *s, pid_t pid) {
        bool found;
        size_t i = roots_find(s, pid, &found);

        if (!found || s->root_hit[i])
                return 0;
        s->root_hit[i] = true;
        return 1;
}

/* Which roots p descends from, by the rule of proctree_in_subtree(), following its ancestors once for
 * every subscriber: at most SERVER_SUBTREE_DEPTH_MAX steps, fewer once every root was found. */
static void roots_walk(Server *s, const PwProcess *p) {
        unsigned hits = 0;

        memset(s->root_hit, 0, s->n_roots * sizeof(bool));
        for (unsigned depth = 0; p && depth < SERVER_SUBTREE_DEPTH_MAX && hits < s->n_roots;
             p = proctree_parent(p), depth++) {
                s->subtree_steps++;
                hits += roots_mark(s, p->pid);
                if (!proctree_parent(p))
                        hits += roots_mark(s, p->ppid);
                if (proctree_parent(p) == p)
                        break;
        }
}

/* --- snapshots ------------------------------------------------------------------------------------- */

static Stream *stream_free(Stream *st) {
        if (st) {
                free(st->items);
                json_writer_done(&st->out);
                free(st);
        }
        return NULL;
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

static int cmp_start_desc(const void *a, const void *b) {
        const PwProcess *x = *(const PwProcess *const *) a, *y = *(const PwProcess *const *) b;

        if (x->start_ns != y->start_ns)
                return x->start_ns > y->start_ns ? -1 : 1;
        return (x->pid < y->pid) - (x->pid > y->pid);
}

/* How many records the tree holds, alive or not. */
static size_t tree_size(const ProcTree *t) {
        ProcTreeStats ts;

        proctree_get_stats(t, &ts);
        return (size_t) ts.live + ts.displaced_now + ts.retained;
}

/* Live and displaced records (sorted by pid each), then exited ones in exit order. */
static int collect_all(const ProcTree *t, PwProcess ***ret, size_t *ret_n) {
        size_t cap = tree_size(t), n, n_live;
        PwProcess **v;

        v = calloc(cap + 1, sizeof(*v));
        if (!v)
                return -ENOMEM;
        n = n_live = proctree_collect(t, PROCTREE_WALK_LIVE, v, cap);
        qsort(v, n, sizeof(*v), cmp_pid);
        n += proctree_collect(t, PROCTREE_WALK_DISPLACED, v + n, cap - n);
        qsort(v + n_live, n - n_live, sizeof(*v), cmp_pid);
        n += proctree_collect(t, PROCTREE_WALK_RETAINED, v + n, cap - n);
        *ret = v;
        *ret_n = n;
        return 0;
}

typedef struct ListFilter {
        bool has_uid;
        uint32_t uid;
        const char *comm;
        const char *unit, *user_unit;
        PwStateFilter state;
} ListFilter;

static bool list_match(const PwProcess *p, const ListFilter *f) {
        if (f->has_uid && p->uid != f->uid && p->euid != f->uid)
                return false;
        if (f->comm && strcmp(p->comm, f->comm) != 0)
                return false;
        if (f->unit && (!p->unit || strcmp(p->unit->data, f->unit) != 0))
                return false;
        if (f->user_unit && (!p->user_unit || strcmp(p->user_unit->data, f->user_unit) != 0))
                return false;
        if (!pw_state_filter_match(f->state, p))
                return false;
        return true;
}

/* Does this caller see p at all (access-policy.h)? */
static bool client_sees(const Client *c, const PwProcess *p) {
        return pw_access_visible(&c->server->policy, &c->caller, p);
}

/* The record as JSON for this caller. */
static void client_json_context(const Client *c, ProcJsonContext *ctx) {
        ctx->policy = &c->server->policy;
        ctx->caller = &c->caller;
}

static int snapshot_list(const ProcTree *t, const ListFilter *f, Stream *st) {
        _cleanup_(freep) PwProcess **all = NULL;
        size_t n, alloc = 0;
        int r;

        r = collect_all(t, &all, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++)
                if (list_match(all[i], f)) {
                        r = stream_push(st, &alloc, all[i]);
                        if (r < 0)
                                return r;
                }
        return 0;
}

static bool tree_wanted(const PwProcess *p, bool include_exited) {
        return include_exited || pw_process_alive(p);
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
                if (k > 1)
                        qsort(kids, k, sizeof(*kids), cmp_start_desc);
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

/* Processes without a listed parent: pid 1, kthreadd, and anything whose parent is unknown or (without
 * include_exited) no longer alive. */
static int tree_roots(const ProcTree *t, bool include_exited, PwProcess ***ret, size_t *ret_n) {
        PwProcess **all;
        size_t n, k = 0;
        int r;

        r = collect_all(t, &all, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                PwProcess *p = all[i];

                if (!tree_wanted(p, include_exited))
                        continue;
                if (proctree_parent(p) && proctree_parent(p) != p && tree_wanted(proctree_parent(p), include_exited))
                        continue;
                all[k++] = p;
        }
        *ret = all;
        *ret_n = k;
        return 0;
}

/* --- replies --------------------------------------------------------------------------------------- */

static void client_sample_clock(ProcJsonContext *ctx) {
        ctx->now_ns = now_nsec(CLOCK_MONOTONIC);
        ctx->realtime_offset_ns = (int64_t) now_nsec(CLOCK_REALTIME) - (int64_t) ctx->now_ns;
}

static void client_note_queued(Client *c, size_t before) {
        usec_t now;

        client_account(c);
        /* The stall clock starts when the queue stops being empty. */
        if (before == 0 && varlink_conn_pending_out(&c->conn) > 0 &&
            sd_event_now(c->server->event, CLOCK_MONOTONIC, &now) >= 0)
                c->progress_usec = now;
}

/* Queues a whole message; parameters stolen. */
static int client_queue_message(Client *c, json_t *msg) {
        size_t before = varlink_conn_pending_out(&c->conn);
        int r;

        if (!msg)
                return -ENOMEM;
        r = varlink_conn_queue_json(&c->conn, msg, true);
        json_decref(msg);
        client_note_queued(c, before);
        return r;
}

static int reply(Client *c, const VarlinkCall *call, json_t *parameters) {
        if (call->oneway) {
                json_decref(parameters);
                return 0;
        }
        return client_queue_message(c, varlink_reply_new(parameters));
}

static int reply_error(Client *c, const VarlinkCall *call, const char *error, json_t *parameters) {
        if (call && call->oneway) {
                json_decref(parameters);
                return 0;
        }
        return client_queue_message(c, varlink_error_new(error, parameters));
}

/* A parameters object {key: value} with value a string of any bytes. */
static json_t *param_object(const char *key, const char *value) {
        json_t *p = json_object();

        if (p && json_object_set_new(p, key, json_string_sanitized(value, strlen(value))) < 0) {
                json_decref(p);
                return NULL;
        }
        return p;
}

static int reply_invalid(Client *c, const VarlinkCall *call, const char *parameter) {
        return reply_error(c, call, PW_VARLINK_ERROR_INVALID_PARAMETER, param_object("parameter", parameter));
}

static int reply_no_such_process(Client *c, const VarlinkCall *call, bool has_pid, int64_t pid, const char *id) {
        json_t *p = json_object();

        if (!p)
                return -ENOMEM;
        if ((has_pid && json_object_set_new(p, "pid", json_integer(pid)) < 0) ||
            (id && json_object_set_new(p, "id", json_string_sanitized(id, strlen(id))) < 0)) {
                json_decref(p);
                return -ENOMEM;
        }
        return reply_error(c, call, PW_VARLINK_ERROR_NO_SUCH_PROCESS, p);
}

/* --- parameters ------------------------------------------------------------------------------------ */

/* Every key must be one of allowed (NULL-terminated); returns the first that is not. */
static const char *unknown_parameter(json_t *params, const char *const *allowed) {
        const char *key;
        json_t *v;

        json_object_foreach(params, key, v) {
                bool ok = false;

                for (const char *const *a = allowed; *a; a++)
                        if (strcmp(key, *a) == 0) {
                                ok = true;
                                break;
                        }
                if (!ok)
                        return key;
        }
        return NULL;
}

/* 1 and the value when given, 0 when absent or null, -EINVAL when not an integer in [min, max]. */
static int param_int(json_t *params, const char *key, int64_t min, int64_t max, int64_t *ret) {
        json_t *v = json_object_get(params, key);

        if (!v || json_is_null(v))
                return 0;
        if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
                return -EINVAL;
        *ret = json_integer_value(v);
        return 1;
}

static int param_string(json_t *params, const char *key, const char **ret) {
        json_t *v = json_object_get(params, key);

        if (!v || json_is_null(v))
                return 0;
        if (!json_is_string(v))
                return -EINVAL;
        *ret = json_string_value(v);
        return 1;
}

static int param_bool(json_t *params, const char *key, bool *ret) {
        json_t *v = json_object_get(params, key);

        if (!v || json_is_null(v))
                return 0;
        if (!json_is_boolean(v))
                return -EINVAL;
        *ret = json_is_true(v);
        return 1;
}

/* --- methods --------------------------------------------------------------------------------------- */

static int method_get_info(Client *c, const VarlinkCall *call) {
        json_t *p = json_pack("{s:s, s:s, s:s, s:s, s:[s, s], s:i}", "vendor", PW_VARLINK_VENDOR, "product",
                              PW_VARLINK_PRODUCT, "version", PACKAGE_VERSION, "url", PW_VARLINK_URL,
                              "interfaces", PW_VARLINK_SERVICE_INTERFACE, PW_VARLINK_INTERFACE,
                              "interface_version", PW_VARLINK_INTERFACE_VERSION);

        if (!p)
                return -ENOMEM;
        return reply(c, call, p);
}

static int method_get_interface_description(Client *c, const VarlinkCall *call) {
        const char *name = NULL, *text;

        if (param_string(call->parameters, "interface", &name) <= 0)
                return reply_invalid(c, call, "interface");
        if (strcmp(name, PW_VARLINK_INTERFACE) == 0)
                text = pw_idl_io_procwatch;
        else if (strcmp(name, PW_VARLINK_SERVICE_INTERFACE) == 0)
                text = pw_idl_org_varlink_service;
        else
                return reply_error(c, call, PW_VARLINK_ERROR_INTERFACE_NOT_FOUND, param_object("interface", name));
        return reply(c, call, json_pack("{s:s}", "description", text));
}

static int method_show(Client *c, const VarlinkCall *call) {
        const ProcTree *t = c->server->tree;
        const char *id = NULL;
        int64_t pid = 0;
        ProcJsonContext ctx = {};
        _cleanup_(json_writer_done) JsonWriter w = JSON_WRITER_INIT;
        size_t before;
        PwProcess *p;
        int has_pid, has_id, r;

        has_pid = param_int(call->parameters, "pid", 1, INT32_MAX, &pid);
        if (has_pid < 0)
                return reply_invalid(c, call, "pid");
        has_id = param_string(call->parameters, "id", &id);
        if (has_id < 0)
                return reply_invalid(c, call, "id");
        if (!has_pid && !has_id)
                return reply_invalid(c, call, "pid");

        if (has_id) {
                p = proctree_get_by_id(t, id);
                if (p && has_pid && p->pid != (pid_t) pid)
                        p = NULL;
        } else
                p = proctree_get(t, (pid_t) pid);
        if (!p || !client_sees(c, p))
                return reply_no_such_process(c, call, has_pid, pid, has_id ? id : NULL);

        if (call->oneway)
                return 0;
        client_sample_clock(&ctx);
        client_json_context(c, &ctx);
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
        before = varlink_conn_pending_out(&c->conn);
        r = varlink_conn_queue(&c->conn, w.buf, w.len);
        client_note_queued(c, before);
        return r;
}

static int stream_start(Client *c, const VarlinkCall *call, Stream *st) {
        static const char head[] = "{\"parameters\":{\"processes\":[";
        size_t before = varlink_conn_pending_out(&c->conn);
        int r;

        if (call->oneway) {
                stream_free(st);
                return 0;
        }
        r = varlink_conn_queue(&c->conn, head, sizeof(head) - 1);
        if (r < 0) {
                stream_free(st);
                return r;
        }
        client_note_queued(c, before);
        client_sample_clock(&st->ctx);
        client_json_context(c, &st->ctx);
        c->stream = st;
        return 0;
}

/* Appends the next records of the reply, up to a chunk; ends the message after the last. The
 * records of a step are written into st->out, then queued at once. */
static int stream_step(Client *c) {
        Stream *st = c->stream;
        size_t before = varlink_conn_pending_out(&c->conn), chunk = c->server->limits.output_chunk;
        unsigned looked = 0;
        int r;

        /* The reply's array is open: the first record follows "[", the others a comma. */
        while (st->pos < st->n && before + st->out.len < chunk && !share_full(c->server, c->share) &&
               looked++ < SERVER_STREAM_STEP_MAX) {
                const StreamItem *it = &st->items[st->pos++];
                PwProcess *p = proctree_get_by_identity(c->server->tree, it->pid, it->start_ns);

                if (!p || !client_sees(c, p))
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
        r = varlink_conn_queue(&c->conn, st->out.buf, st->out.len);
        if (r < 0)
                return r;
        json_writer_clear_text(&st->out);
        if (st->pos == st->n)
                c->stream = stream_free(st);
        client_note_queued(c, before);
        return 0;
}

static int method_list(Client *c, const VarlinkCall *call) {
        ListFilter f = {};
        const char *state = NULL;
        int64_t uid;
        Stream *st;
        int r;

        r = param_int(call->parameters, "uid", 0, UINT32_MAX, &uid);
        if (r < 0)
                return reply_invalid(c, call, "uid");
        if (r > 0) {
                f.has_uid = true;
                f.uid = (uint32_t) uid;
        }
        if (param_string(call->parameters, "comm", &f.comm) < 0)
                return reply_invalid(c, call, "comm");
        if (param_string(call->parameters, "unit", &f.unit) < 0)
                return reply_invalid(c, call, "unit");
        if (param_string(call->parameters, "user_unit", &f.user_unit) < 0)
                return reply_invalid(c, call, "user_unit");
        r = param_string(call->parameters, "state", &state);
        if (r < 0)
                return reply_invalid(c, call, "state");
        if (r > 0 && pw_state_filter_from_string(state, &f.state) < 0)
                return reply_invalid(c, call, "state");
        if (call->oneway)
                return 0;

        st = calloc(1, sizeof(*st));
        if (!st)
                return -ENOMEM;
        r = snapshot_list(c->server->tree, &f, st);
        if (r < 0) {
                stream_free(st);
                return r;
        }
        return stream_start(c, call, st);
}

static int method_tree(Client *c, const VarlinkCall *call) {
        const ProcTree *t = c->server->tree;
        _cleanup_(freep) PwProcess **roots = NULL;
        PwProcess *root;
        bool include_exited = false;
        int64_t root_pid = 0, depth = -1;
        size_t n_roots;
        Stream *st;
        int r, has_root;

        has_root = param_int(call->parameters, "root", 1, INT32_MAX, &root_pid);
        if (has_root < 0)
                return reply_invalid(c, call, "root");
        if (param_int(call->parameters, "depth", 0, INT32_MAX, &depth) < 0)
                return reply_invalid(c, call, "depth");
        if (param_bool(call->parameters, "include_exited", &include_exited) < 0)
                return reply_invalid(c, call, "include_exited");

        if (has_root) {
                root = proctree_get(t, (pid_t) root_pid);
                if (!root || !client_sees(c, root))
                        return reply_no_such_process(c, call, true, root_pid, NULL);
                roots = calloc(1, sizeof(*roots));
                if (!roots)
                        return -ENOMEM;
                roots[0] = root;
                n_roots = 1;
        } else {
                r = tree_roots(t, include_exited, &roots, &n_roots);
                if (r < 0)
                        return r;
        }
        if (call->oneway)
                return 0;

        st = calloc(1, sizeof(*st));
        if (!st)
                return -ENOMEM;
        st->ctx.children_alive_only = !include_exited;
        r = snapshot_tree(t, roots, n_roots, (int) depth, include_exited, st);
        if (r < 0) {
                stream_free(st);
                return r;
        }
        return stream_start(c, call, st);
}

static int method_stats(Client *c, const VarlinkCall *call) {
        Server *s = c->server;
        PwDaemonStats stats = { .tree = s->tree };
        json_t *j;
        int r;

        if (s->cb.get_stats)
                s->cb.get_stats(s->userdata, &stats);
        stats.clients = s->n_clients;
        stats.clients_total = s->clients_total;
        stats.clients_refused = s->clients_refused;
        stats.clients_dropped = s->clients_dropped;
        stats.requests = s->requests;
        stats.subscribers = s->n_subscribers;
        stats.events_published = s->events_published;
        stats.events_missed = s->events_missed;
        stats.subtree_steps = s->subtree_steps;
        r = procjson_stats(&stats, &j);
        if (r < 0)
                return r;
        return reply(c, call, j);
}

/* --- events ---------------------------------------------------------------------------------------- */

static Subscription *subscription_free(Subscription *sub) {
        if (sub) {
                free(sub->comm);
                free(sub->unit);
                free(sub->user_unit);
                free(sub);
        }
        return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(Subscription *, subscription_free);

static void subscriber_unlink(Client *c) {
        Server *s = c->server;

        if (!c->sub)
                return;
        if (c->sub_prev)
                c->sub_prev->sub_next = c->sub_next;
        else
                s->subscribers = c->sub_next;
        if (c->sub_next)
                c->sub_next->sub_prev = c->sub_prev;
        c->sub_prev = c->sub_next = NULL;
        s->n_subscribers--;
        c->share->n_subscribers--;
        if (c->sub->pid)
                roots_remove(s, c->sub->pid);
        c->sub = subscription_free(c->sub);
}

static int parse_kinds(json_t *params, unsigned *ret) {
        json_t *v = json_object_get(params, "kinds"), *k;
        unsigned kinds = 0;
        size_t i;

        if (!v || json_is_null(v)) {
                *ret = 0;
                return 0;
        }
        if (!json_is_array(v))
                return -EINVAL;
        json_array_foreach(v, i, k) {
                PwEventKind kind;

                if (!json_is_string(k))
                        return -EINVAL;
                kind = pw_event_kind_from_string(json_string_value(k));
                /* "ack" is the kernel's reply to us, never a process event. */
                if ((int) kind <= PW_EVENT_NONE || kind >= _PW_EVENT_KIND_MAX)
                        return -EINVAL;
                kinds |= 1U << kind;
        }
        *ret = kinds;
        return 0;
}

static int method_events(Client *c, const VarlinkCall *call) {
        static const char ready[] = "{\"parameters\":{\"ready\":true},\"continues\":true}";
        _cleanup_(subscription_freep) Subscription *sub = NULL;
        Server *s = c->server;
        const char *comm = NULL, *unit = NULL, *user_unit = NULL;
        unsigned kinds;
        int64_t v;
        int r;

        sub = calloc(1, sizeof(*sub));
        if (!sub)
                return -ENOMEM;
        if (parse_kinds(call->parameters, &kinds) < 0)
                return reply_invalid(c, call, "kinds");
        sub->kinds = kinds;
        r = param_int(call->parameters, "pid", 1, INT32_MAX, &v);
        if (r < 0)
                return reply_invalid(c, call, "pid");
        if (r > 0)
                sub->pid = (pid_t) v;
        r = param_int(call->parameters, "uid", 0, UINT32_MAX, &v);
        if (r < 0)
                return reply_invalid(c, call, "uid");
        if (r > 0) {
                sub->has_uid = true;
                sub->uid = (uint32_t) v;
        }
        if (param_string(call->parameters, "comm", &comm) < 0)
                return reply_invalid(c, call, "comm");
        if (param_string(call->parameters, "unit", &unit) < 0)
                return reply_invalid(c, call, "unit");
        if (param_string(call->parameters, "user_unit", &user_unit) < 0)
                return reply_invalid(c, call, "user_unit");
        if (param_bool(call->parameters, "threads", &sub->threads) < 0)
                return reply_invalid(c, call, "threads");
        /* A stream needs "more"; "oneway" asks for no reply at all, so it gets nothing. */
        if (!call->more || call->oneway)
                return reply_error(c, call, PW_VARLINK_ERROR_EXPECTED_MORE, NULL);
        if (share_capped(c->share) && c->share->n_subscribers >= s->limits.subscribers_per_uid_max) {
                log_debug("Refused an Events stream to uid %u: it has %u already.", (unsigned) c->ucred.uid,
                          c->share->n_subscribers);
                return reply_error(c, call, PW_VARLINK_ERROR_LIMIT_REACHED, param_object("limit", "subscribers"));
        }
        if ((comm && !(sub->comm = strdup(comm))) || (unit && !(sub->unit = strdup(unit))) ||
            (user_unit && !(sub->user_unit = strdup(user_unit))))
                return -ENOMEM;
        if (sub->pid && roots_add(s, sub->pid) < 0)
                return -ENOMEM;

        /* The first reply says the subscription is in place: what happens from now on is seen. */
        r = varlink_conn_queue(&c->conn, ready, sizeof(ready)); /* with its NUL */
        if (r < 0) {
                if (sub->pid)
                        roots_remove(s, sub->pid);
                return r;
        }
        client_note_queued(c, 0);
        c->share->n_subscribers++;
        c->sub = TAKE_PTR(sub);
        c->sub_next = s->subscribers;
        if (s->subscribers)
                s->subscribers->sub_prev = c;
        s->subscribers = c;
        s->n_subscribers++;
        /* Whatever the client sent after the call is not a request any more. */
        varlink_conn_discard_input(&c->conn);
        return 0;
}

/* Whether p is in the subtree of root, the ancestors followed once per event (*walked). */
static bool subtree_hit(Server *s, const PwProcess *p, pid_t root, bool *walked) {
        bool found;
        size_t i;

        if (!*walked) {
                roots_walk(s, p);
                *walked = true;
        }
        i = roots_find(s, root, &found);
        return found && s->root_hit[i];
}

static bool subscription_match(const Client *c, const PwEvent *ev, const PwApplyResult *res, bool *walked) {
        const Subscription *sub = c->sub;
        const PwProcess *p = res->process;

        if (sub->kinds && !(sub->kinds & (1U << ev->kind)))
                return false;
        if (res->thread && !sub->threads)
                return false;
        if (!p)
                /* An event about nothing the tree holds: only an unfiltered subscriber wants it. */
                return !sub->pid && !sub->has_uid && !sub->comm && !sub->unit && !sub->user_unit &&
                       pw_access_sees_all(&c->server->policy, &c->caller);
        if (!client_sees(c, p))
                return false;
        if (sub->has_uid && p->uid != sub->uid && p->euid != sub->uid)
                return false;
        if (sub->comm && strcmp(p->comm, sub->comm) != 0)
                return false;
        if (sub->unit && (!p->unit || strcmp(p->unit->data, sub->unit) != 0))
                return false;
        if (sub->user_unit && (!p->user_unit || strcmp(p->user_unit->data, sub->user_unit) != 0))
                return false;
        if (sub->pid && !subtree_hit(c->server, p, sub->pid, walked))
                return false;
        return true;
}


/* The whole reply message for one event as c may see it, NUL-terminated, malloc'ed. */
static char *event_message(const Client *c, const PwEvent *ev, const PwApplyResult *res, size_t *ret_len) {
        _cleanup_(json_writer_done) JsonWriter w = JSON_WRITER_INIT;
        ProcJsonContext ctx = {};
        const PwProcess *parent = res->process ? proctree_parent(res->process) : NULL;
        bool parent_shown;

        client_sample_clock(&ctx);
        client_json_context(c, &ctx);
        /* The fork's parent is named only to a caller that sees it. */
        parent_shown = pw_access_sees_all(ctx.policy, ctx.caller) ||
                       (parent && parent->pid == ev->fork.parent_tgid && pw_access_visible(ctx.policy, ctx.caller, parent));
        json_writer_object_begin(&w);
        json_writer_key(&w, "parameters");
        json_writer_object_begin(&w);
        json_writer_key(&w, "event");
        json_writer_object_begin(&w);
        json_writer_key(&w, "kind");
        json_writer_cstring(&w, pw_event_kind_to_string(ev->kind));
        json_writer_key(&w, "time_monotonic_ns");
        json_writer_int(&w, (int64_t) ev->timestamp_ns);
        json_writer_key(&w, "time_realtime_usec");
        json_writer_int(&w, ((int64_t) ev->timestamp_ns + ctx.realtime_offset_ns) / 1000);
        json_writer_key(&w, "pid");
        json_writer_int(&w, pw_event_tgid(ev));
        json_writer_key(&w, "tid");
        json_writer_int(&w, pw_event_tid(ev));
        json_writer_key(&w, "thread");
        json_writer_bool(&w, res->thread);
        if (res->process) {
                json_writer_key(&w, "process");
                if (procjson_write_process(&w, res->process, &ctx) < 0)
                        return NULL;
        }
        if (ev->kind == PW_EVENT_FORK && parent_shown) {
                json_writer_key(&w, "parent_pid");
                json_writer_int(&w, ev->fork.parent_tgid);
        }
        if (res->process_ended && res->process && res->process->exit_ns >= res->process->start_ns) {
                json_writer_key(&w, "lifetime_usec");
                json_writer_int(&w, (int64_t) ((res->process->exit_ns - res->process->start_ns) / 1000));
        }
        json_writer_object_end(&w);
        json_writer_object_end(&w);
        json_writer_key(&w, "continues");
        json_writer_bool(&w, true);
        json_writer_object_end(&w);
        json_writer_append(&w, "", 1); /* the NUL ends the message */
        if (json_writer_error(&w) < 0)
                return NULL;
        *ret_len = w.len;
        return TAKE_PTR(w.buf);
}

/* Queues the {"missed": N} record when it fits with room to spare for the event that follows. */
static void subscriber_flush_missed(Client *c, size_t room_after) {
        char buf[96];
        size_t before = varlink_conn_pending_out(&c->conn);
        int n;

        if (c->sub->missed == 0)
                return;
        n = snprintf(buf, sizeof(buf), "{\"parameters\":{\"missed\":%" PRIu64 "},\"continues\":true}", c->sub->missed);
        if (n < 0 || (size_t) n >= sizeof(buf))
                return;
        if (before + (size_t) n + 1 + room_after > c->server->limits.events_buffer_max)
                return;
        if (varlink_conn_queue(&c->conn, buf, (size_t) n + 1) < 0)
                return;
        c->sub->missed = 0;
        client_note_queued(c, before);
}

/* An event's text for each distinct view among its subscribers: callers with the same ids, the same
 * CAP_SYS_PTRACE and the same "sees every process" get the same bytes. Views beyond
 * SERVER_EVENT_VIEWS_MAX in one event are serialised for each subscriber. */
#define SERVER_EVENT_VIEWS_MAX 8U

typedef struct EventView {
        uint32_t uid, gid;
        bool cap, all;
        char *text;
        size_t len;
} EventView;

static const EventView *event_view(EventView *views, size_t *n_views, EventView *scratch, const Client *c,
                                   const PwEvent *ev, const PwApplyResult *res) {
        EventView key = {
                .uid = c->caller.uid,
                .gid = c->caller.gid,
                .cap = c->caller.cap_sys_ptrace,
                .all = pw_access_sees_all(&c->server->policy, &c->caller),
        };
        EventView *v;

        for (size_t i = 0; i < *n_views; i++)
                if (views[i].uid == key.uid && views[i].gid == key.gid && views[i].cap == key.cap &&
                    views[i].all == key.all)
                        return views[i].text ? &views[i] : NULL;
        v = *n_views < SERVER_EVENT_VIEWS_MAX ? &views[(*n_views)++] : scratch;
        free(scratch->text);
        *v = key;
        v->text = event_message(c, ev, res, &v->len);
        return v->text ? v : NULL;
}

void server_publish_event(Server *s, const PwEvent *ev, const PwApplyResult *res) {
        EventView views[SERVER_EVENT_VIEWS_MAX], scratch = {};
        size_t n_views = 0;
        bool walked = false;

        if (!s || !s->subscribers || ev->kind <= PW_EVENT_NONE || ev->kind >= _PW_EVENT_KIND_MAX)
                return;
        s->events_published++;
        for (Client *c = s->subscribers, *next; c; c = next) {
                size_t before = varlink_conn_pending_out(&c->conn), len;
                const EventView *view;
                const char *text;

                next = c->sub_next;
                if (!subscription_match(c, ev, res, &walked))
                        continue;
                view = event_view(views, &n_views, &scratch, c, ev, res);
                if (!view) {
                        /* Out of memory: the subscriber learns of it as missed events. */
                        c->sub->missed++;
                        s->events_missed++;
                        continue;
                }
                text = view->text;
                len = view->len;
                subscriber_flush_missed(c, len);
                if (c->sub->missed > 0 || before + len > s->limits.events_buffer_max ||
                    (share_capped(c->share) && c->share->queued + len > s->limits.output_per_uid_max) ||
                    varlink_conn_queue(&c->conn, text, len) < 0) {
                        c->sub->missed++;
                        s->events_missed++;
                        continue;
                }
                client_note_queued(c, before);
                if (before == 0)
                        (void) client_update_events(c, false);
        }
        for (size_t i = 0; i < n_views; i++)
                free(views[i].text);
        free(scratch.text);
}

/* --- methods that change the daemon ---------------------------------------------------------------- */

static bool client_is_root(const Client *c) {
        return c->ucred.uid == 0;
}

static int reply_permission_denied(Client *c, const VarlinkCall *call) {
        return reply_error(c, call, PW_VARLINK_ERROR_PERMISSION_DENIED, param_object("method", call->method));
}

static int method_drop_retained(Client *c, const VarlinkCall *call) {
        unsigned n;

        if (!client_is_root(c))
                return reply_permission_denied(c, call);
        n = proctree_drop_retained(c->server->tree);
        log_info("Dropped %u retained exited process records, as asked by pid %d.", n, (int) c->ucred.pid);
        return reply(c, call, json_pack("{s:i}", "dropped", (int) n));
}

/* /proc's mount options as the policy needs them. A /proc mount whose options cannot be read fully
 * counts as hidepid=invisible: when in doubt, hide. */
static int read_proc_mount(PwProcMount *ret) {
        _cleanup_(freep) char *text = NULL;
        int r;

        r = read_full_file("/proc/self/mountinfo", &text, NULL);
        if (r < 0)
                return r;
        r = pw_parse_proc_mount(text, ret);
        if (r == -EINVAL && ret->hidepid != PW_HIDEPID_OFF)
                return 0;
        return r;
}

void server_reread_proc_mount(Server *s) {
        PwProcMount m;
        int r;

        r = read_proc_mount(&m);
        if (r < 0)
                log_warning_errno(r, "Failed to read /proc's mount options, keeping hidepid=%s: %m",
                                  pw_hidepid_to_string(s->policy.proc.hidepid));
        else
                s->policy.proc = m;
}

static int method_reload(Client *c, const VarlinkCall *call) {
        Server *s = c->server;
        bool hidepid;
        int r;

        if (!client_is_root(c))
                return reply_permission_denied(c, call);
        /* /proc's mount first, then the configuration files (the callback), as SIGHUP does. */
        server_reread_proc_mount(s);
        hidepid = s->policy.proc.hidepid != PW_HIDEPID_OFF;
        if (s->cb.reload) {
                json_t *out = NULL;

                log_info("Reload asked by pid %d.", (int) c->ucred.pid);
                r = s->cb.reload(s->userdata, &out);
                if (r < 0)
                        return reply_error(c, call, PW_VARLINK_ERROR_CONFIG_INVALID, out);
                if (out && json_object_set_new(out, "hidepid", json_boolean(hidepid)) < 0)
                        out = (json_decref(out), NULL);
                return reply(c, call, out);
        }
        return reply(c, call, json_pack("{s:b}", "hidepid", hidepid));
}

static int method_get_config(Client *c, const VarlinkCall *call) {
        Server *s = c->server;

        if (!s->cb.get_config)
                return reply_error(c, call, PW_VARLINK_ERROR_METHOD_NOT_IMPLEMENTED, param_object("method", call->method));
        return reply(c, call, s->cb.get_config(s->userdata));
}

typedef int (*MethodFunc)(Client *c, const VarlinkCall *call);

static const char *const params_none[] = { NULL };
static const char *const params_get_interface_description[] = { "interface", NULL };
static const char *const params_show[] = { "pid", "id", NULL };
static const char *const params_list[] = { "uid", "comm", "unit", "user_unit", "state", NULL };
static const char *const params_tree[] = { "root", "depth", "include_exited", NULL };
static const char *const params_events[] = { "kinds", "pid", "uid", "comm", "unit", "user_unit", "threads", NULL };

static const struct {
        const char *name;
        MethodFunc func;
        const char *const *params;
} methods[] = {
        { "org.varlink.service.GetInfo", method_get_info, params_none },
        { "org.varlink.service.GetInterfaceDescription", method_get_interface_description,
          params_get_interface_description },
        { "io.procwatch.Show", method_show, params_show },
        { "io.procwatch.List", method_list, params_list },
        { "io.procwatch.Tree", method_tree, params_tree },
        { "io.procwatch.Stats", method_stats, params_none },
        { "io.procwatch.Events", method_events, params_events },
        { "io.procwatch.DropRetained", method_drop_retained, params_none },
        { "io.procwatch.Reload", method_reload, params_none },
        { "io.procwatch.GetConfig", method_get_config, params_none },
};

static int dispatch_call(Client *c, const VarlinkCall *call) {
        const char *dot, *bad;
        char iface[256];

        for (size_t i = 0; i < ELEMENTSOF(methods); i++) {
                if (strcmp(call->method, methods[i].name) != 0)
                        continue;
                if (call->upgrade)
                        /* Nothing here speaks another protocol after a call. */
                        return reply_error(c, call, PW_VARLINK_ERROR_METHOD_NOT_IMPLEMENTED,
                                           param_object("method", call->method));
                bad = unknown_parameter(call->parameters, methods[i].params);
                if (bad)
                        return reply_invalid(c, call, bad);
                return methods[i].func(c, call);
        }

        dot = strrchr(call->method, '.');
        if (dot && (size_t) (dot - call->method) < sizeof(iface)) {
                memcpy(iface, call->method, (size_t) (dot - call->method));
                iface[dot - call->method] = '\0';
                if (strcmp(iface, PW_VARLINK_INTERFACE) != 0 && strcmp(iface, PW_VARLINK_SERVICE_INTERFACE) != 0)
                        return reply_error(c, call, PW_VARLINK_ERROR_INTERFACE_NOT_FOUND,
                                           param_object("interface", iface));
        }
        return reply_error(c, call, PW_VARLINK_ERROR_METHOD_NOT_FOUND, param_object("method", call->method));
}

/* One message. Returns 0, or a negative errno that ends the connection. */
static int handle_message(Client *c, const char *msg, size_t len) {
        _cleanup_(json_decrefp) json_t *j = NULL;
        VarlinkCall call;
        const char *bad = NULL;
        int r;

        c->server->requests++;
        (void) sd_event_now(c->server->event, CLOCK_MONOTONIC, &c->active_usec);
        r = varlink_message_parse(msg, len, c->server->limits.depth_max, &j);
        if (r < 0)
                return reply_invalid(c, NULL, PW_VARLINK_PARAMETER_REQUEST);
        r = varlink_call_parse(j, &call, &bad);
        if (r == -ENOMEM)
                return r;
        if (r == -EBADMSG)
                return reply_invalid(c, NULL, PW_VARLINK_PARAMETER_METHOD);
        if (r < 0)
                return reply_invalid(c, NULL, bad);
        return dispatch_call(c, &call);
}

/* --- connections ----------------------------------------------------------------------------------- */

static Client *client_free(Client *c) {
        Server *s;

        if (!c)
                return NULL;
        s = c->server;
        if (c->prev)
                c->prev->next = c->next;
        else
                s->clients = c->next;
        if (c->next)
                c->next->prev = c->prev;
        s->n_clients--;
        subscriber_unlink(c);
        sd_event_source_disable_unref(c->source);
        c->source = NULL;
        stream_free(c->stream);
        c->stream = NULL;
        varlink_conn_done(&c->conn);
        if (c->share) {
                if (share_capped(c->share))
                        s->n_clients_nonroot--;
                c->share->n_clients--;
                client_account(c); /* nothing queued any more */
                share_put(s, c->share);
        }
        free(c);
        return NULL;
}

static void client_drop(Client *c, int error, const char *why) {
        log_debug_errno(error, "Dropping client (pid %d, uid %u): %s: %m", (int) c->ucred.pid,
                        (unsigned) c->ucred.uid, why);
        c->server->clients_dropped++;
        client_free(c);
}

static bool client_wants_input(const Client *c) {
        if (c->sub)
                return !c->read_eof; /* only to notice its end */
        return !c->read_eof && !c->closing && !c->stream &&
               varlink_conn_pending_out(&c->conn) < c->server->limits.output_chunk &&
               !share_full(c->server, c->share);
}

/* Answers what is complete in the input buffer, until a reply is in progress or the queue is full.
 * Returns 1 when every complete message was answered, 0 when some must wait, or a negative errno. */
static int client_handle_input(Client *c) {
        while (!c->closing && !c->stream && !c->sub &&
               varlink_conn_pending_out(&c->conn) < c->server->limits.output_chunk &&
               !share_full(c->server, c->share)) {
                char *msg;
                size_t len;
                int r;

                r = varlink_conn_next(&c->conn, &msg, &len);
                if (r == 0)
                        return 1;
                if (r == -EMSGSIZE) {
                        /* Where the next message starts is unknowable: answer, then hang up. */
                        c->server->requests++;
                        c->closing = true;
                        return reply_invalid(c, NULL, PW_VARLINK_PARAMETER_REQUEST);
                }
                if (r < 0)
                        return r;
                r = handle_message(c, msg, len);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int client_flush(Client *c) {
        ssize_t n = varlink_conn_write(&c->conn);
        usec_t now;

        if (n < 0)
                return (int) n;
        if (n > 0) {
                if (sd_event_now(c->server->event, CLOCK_MONOTONIC, &now) >= 0)
                        c->progress_usec = c->active_usec = now;
                client_account(c);
        }
        return 0;
}

static int client_update_events(Client *c, bool input_waiting) {
        uint32_t events = 0;

        if (client_wants_input(c))
                events |= EPOLLIN;
        /* With a reply in progress, or requests waiting in our buffer, and the queue drained, EPOLLOUT
         * fires at once: that is the next step, after the loop has served everyone else. */
        if (varlink_conn_pending_out(&c->conn) > 0 ||
            ((c->stream || (input_waiting && !c->closing && !c->sub)) && !share_full(c->server, c->share)))
                events |= EPOLLOUT;
        return sd_event_source_set_io_events(c->source, events);
}

/* Rounds of answering buffered requests per wake-up before yielding to the loop. */
#define CLIENT_ROUNDS 4

/* An Events subscriber: write what is queued, notice its end, say what it missed once there is room. */
static int subscriber_process(Client *c, uint32_t revents) {
        int r;

        r = client_flush(c);
        if (r < 0) {
                client_drop(c, r, "write");
                return r;
        }
        if (revents & (EPOLLHUP | EPOLLERR)) {
                /* Both directions are shut: nobody will read the stream. */
                client_free(c);
                return 1;
        }
        if (!c->read_eof && (revents & EPOLLIN)) {
                ssize_t n = varlink_conn_read(&c->conn, SERVER_READ_CHUNK);

                varlink_conn_discard_input(&c->conn);
                if (n == 0 || (n < 0 && n != -EAGAIN)) {
                        /* The subscriber hung up: the stream ends with it. */
                        client_free(c);
                        return 1;
                }
        }
        /* Half the buffer free before the record goes in: room for what follows, no flapping. */
        subscriber_flush_missed(c, c->server->limits.events_buffer_max / 2);
        r = client_update_events(c, false);
        if (r < 0) {
                client_drop(c, r, "poll");
                return r;
        }
        return 0;
}

/* Returns 0 to keep the connection, 1 when it ended cleanly, or a negative errno (then it is gone). */
static int client_process(Client *c, uint32_t revents) {
        const char *why = "write";
        bool exhausted = false;
        int r;

        if (c->sub)
                return subscriber_process(c, revents);

        /* Writing first makes room for what this turn produces. */
        r = client_flush(c);
        if (r < 0)
                goto fail;

        if (client_wants_input(c) && (revents & (EPOLLIN | EPOLLHUP | EPOLLERR))) {
                ssize_t n = varlink_conn_read(&c->conn, SERVER_READ_CHUNK);

                if (n == 0)
                        c->read_eof = true;
                else if (n < 0 && n != -EAGAIN) {
                        r = (int) n;
                        why = "read";
                        goto fail;
                }
        }

        for (unsigned round = 0; round < CLIENT_ROUNDS; round++) {
                r = client_handle_input(c);
                if (r >= 0) {
                        exhausted = r > 0;
                        if (c->stream && varlink_conn_pending_out(&c->conn) < c->server->limits.output_chunk)
                                r = stream_step(c);
                }
                if (r < 0) {
                        why = r == -ENOBUFS ? "too much output queued" : "reply";
                        goto fail;
                }
                r = client_flush(c);
                if (r < 0)
                        goto fail;
                /* One generation step per wake-up; more only for requests already buffered. */
                if (exhausted || c->stream || c->closing ||
                    varlink_conn_pending_out(&c->conn) >= c->server->limits.output_chunk)
                        break;
        }

        if (c->sub) {
                /* It subscribed this turn: from now on a subscriber. */
                r = client_update_events(c, false);
                if (r < 0) {
                        why = "poll";
                        goto fail;
                }
                return 0;
        }

        /* Done when nothing more can come and everything went out. */
        if (!c->stream && varlink_conn_pending_out(&c->conn) == 0 && (c->closing || (c->read_eof && exhausted))) {
                if (c->closing) {
                        c->server->clients_dropped++;
                        log_debug("Closed client (pid %d, uid %u) after an oversized request.", (int) c->ucred.pid,
                                  (unsigned) c->ucred.uid);
                }
                client_free(c);
                return 1;
        }

        r = client_update_events(c, !exhausted);
        if (r < 0) {
                why = "poll";
                goto fail;
        }
        return 0;

fail:
        client_drop(c, r, why);
        return r;
}

static int on_client_io(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        (void) client_process(userdata, revents);
        return 0; /* a client's failure is never the loop's */
}

static int client_new(Server *s, int fd, const struct ucred *ucred) {
        Client *c;
        int r;

        c = calloc(1, sizeof(*c));
        if (!c) {
                safe_close(fd);
                return -ENOMEM;
        }
        c->server = s;
        varlink_conn_init(&c->conn, fd, s->limits.request_max, s->limits.output_max);
        c->ucred = *ucred;
        c->share = share_get(s, ucred->uid);
        if (!c->share) {
                varlink_conn_done(&c->conn);
                free(c);
                return -ENOMEM;
        }
        c->share->n_clients++;
        if (share_capped(c->share))
                s->n_clients_nonroot++;
        (void) sd_event_now(s->event, CLOCK_MONOTONIC, &c->active_usec);
        (void) pw_caller_from_socket(fd, &c->caller); /* a failure leaves it fewer rights */

        c->next = s->clients;
        if (s->clients)
                s->clients->prev = c;
        s->clients = c;
        s->n_clients++;
        s->clients_total++;

        r = sd_event_add_io(s->event, &c->source, fd, EPOLLIN, on_client_io, c);
        if (r < 0) {
                client_free(c);
                return r;
        }
        return 0;
}

static int on_retry_timer(sd_event_source *source, uint64_t usec, void *userdata) {
        Server *s = userdata;

        return sd_event_source_set_enabled(s->listen_source, SD_EVENT_ON);
}

static bool warn_now(Server *s, usec_t *last) {
        usec_t now;

        if (sd_event_now(s->event, CLOCK_MONOTONIC, &now) < 0)
                return true;
        if (*last != 0 && now < *last + SERVER_WARN_INTERVAL_USEC)
                return false;
        *last = now;
        return true;
}

static int on_accept(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        Server *s = userdata;
        int r;

        for (unsigned i = 0; i < SERVER_ACCEPT_BATCH; i++) {
                int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

                if (cfd < 0) {
                        if (errno == EAGAIN)
                                return 0;
                        if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
                                continue;
                        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                                /* The pending connection stays readable: pause rather than spin. */
                                if (warn_now(s, &s->warned_accept_usec))
                                        log_warning_errno(errno, "Failed to accept a control connection, pausing: %m");
                                r = sd_event_source_set_enabled(s->listen_source, SD_EVENT_OFF);
                                if (r >= 0)
                                        r = sd_event_source_set_time_relative(s->retry_timer,
                                                                              SERVER_ACCEPT_RETRY_USEC);
                                if (r >= 0)
                                        r = sd_event_source_set_enabled(s->retry_timer, SD_EVENT_ONESHOT);
                                return r < 0 ? log_error_errno(r, "Failed to pause accepting: %m") : 0;
                        }
                        /* Returning an error would disable the listening socket for good. */
                        log_error_errno(errno, "Failed to accept a control connection, ignoring: %m");
                        return 0;
                }
                socklen_t sl = sizeof(struct ucred);
                struct ucred uc;
                const char *why;

                if (getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &uc, &sl) < 0)
                        /* Nobody in particular: capped like any user but root. */
                        uc = (struct ucred){ .pid = 0, .uid = UINT32_MAX, .gid = UINT32_MAX };
                why = admission_refused(s, uc.uid);
                if (why) {
                        safe_close(cfd);
                        s->clients_refused++;
                        if (warn_now(s, &s->warned_full_usec))
                                log_warning("Refusing a control connection of uid %u (pid %d): %s (%u clients, %u "
                                            "of users other than root; %" PRIu64 " refused since start).",
                                            (unsigned) uc.uid, (int) uc.pid, why, s->n_clients,
                                            s->n_clients_nonroot, s->clients_refused);
                        continue;
                }
                r = client_new(s, cfd, &uc);
                if (r < 0)
                        log_warning_errno(r, "Failed to set up a control connection, ignoring: %m");
        }
        return 0;
}

/* How often stalled and idle connections are looked for. */
static usec_t timer_interval(const Server *s) {
        return MIN(MIN(s->limits.stall_usec, s->limits.idle_usec) / 4, USEC_PER_SEC);
}

static int on_stall_timer(sd_event_source *source, uint64_t usec, void *userdata) {
        Server *s = userdata;
        Client *c, *next;
        usec_t now;

        if (sd_event_now(s->event, CLOCK_MONOTONIC, &now) < 0)
                now = usec;
        for (c = s->clients; c; c = next) {
                next = c->next;
                if (varlink_conn_pending_out(&c->conn) > 0) {
                        if (now >= c->progress_usec + s->limits.stall_usec)
                                client_drop(c, -ETIMEDOUT, "reply not read");
                } else if (!c->sub && !c->stream && now >= c->active_usec + s->limits.idle_usec)
                        client_drop(c, -ETIMEDOUT, "idle");
        }
        return sd_event_source_set_time(source, usec + timer_interval(s));
}

/* --- the server ------------------------------------------------------------------------------------ */

int server_new(Server **ret, sd_event *event, ProcTree *tree, const ServerLimits *limits,
               const ServerCallbacks *cb, void *userdata) {
        _cleanup_(server_freep) Server *s = NULL;
        struct rlimit rl;
        int r;

        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->event = sd_event_ref(event);
        s->tree = tree;
        s->listen_fd = -EBADF;
        s->limits = limits ? *limits : SERVER_LIMITS_DEFAULT;
        if (s->limits.events_buffer_max == 0)
                s->limits.events_buffer_max = SERVER_EVENTS_BUFFER_MAX;
        if (s->limits.clients_per_uid_max == 0)
                s->limits.clients_per_uid_max = SERVER_CLIENTS_PER_UID_MAX;
        if (s->limits.clients_root_reserve == 0)
                s->limits.clients_root_reserve = SERVER_CLIENTS_ROOT_RESERVE;
        if (s->limits.subscribers_per_uid_max == 0)
                s->limits.subscribers_per_uid_max = SERVER_SUBSCRIBERS_PER_UID_MAX;
        if (s->limits.output_per_uid_max == 0)
                s->limits.output_per_uid_max = SERVER_OUTPUT_PER_UID_MAX;
        if (s->limits.idle_usec == 0)
                s->limits.idle_usec = SERVER_IDLE_USEC;
        if (s->limits.stall_usec == 0 || s->limits.output_chunk > s->limits.output_max || s->limits.clients_max == 0)
                return -EINVAL;
        /* One descriptor per client: leave the daemon its own. */
        if (getrlimit(RLIMIT_NOFILE, &rl) >= 0) {
                unsigned cap = server_clients_max_for_nofile(
                        rl.rlim_cur == RLIM_INFINITY ? UINT64_MAX : (uint64_t) rl.rlim_cur, s->limits.clients_max);

                if (cap < s->limits.clients_max)
                        log_info("RLIMIT_NOFILE is %llu: serving at most %u control clients, not %u.",
                                 (unsigned long long) rl.rlim_cur, cap, s->limits.clients_max);
                s->limits.clients_max = cap;
        }
        if (cb)
                s->cb = *cb;
        s->userdata = userdata;
        if (read_proc_mount(&s->policy.proc) < 0)
                s->policy.proc = (PwProcMount){}; /* no /proc mount listed: nothing to hide behind */

        r = sd_event_add_time_relative(event, &s->stall_timer, CLOCK_MONOTONIC,
                                       timer_interval(s), 0, on_stall_timer, s);
        if (r < 0)
                return r;
        /* Timers start as one-shot; this one rearms itself. */
        r = sd_event_source_set_enabled(s->stall_timer, SD_EVENT_ON);
        if (r < 0)
                return r;
        r = sd_event_add_time_relative(event, &s->retry_timer, CLOCK_MONOTONIC, SERVER_ACCEPT_RETRY_USEC, 0,
                                       on_retry_timer, s);
        if (r < 0)
                return r;
        r = sd_event_source_set_enabled(s->retry_timer, SD_EVENT_OFF);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(s);
        return 0;
}

Server *server_free(Server *s) {
        struct stat st;

        if (!s)
                return NULL;
        while (s->clients)
                client_free(s->clients);
        sd_event_source_disable_unref(s->listen_source);
        sd_event_source_disable_unref(s->retry_timer);
        sd_event_source_disable_unref(s->stall_timer);
        safe_close(s->listen_fd);
        /* Only our own socket: another instance may have taken the path since. */
        if (s->path && lstat(s->path, &st) >= 0 && st.st_dev == s->path_dev && st.st_ino == s->path_ino)
                (void) unlink(s->path);
        free(s->path);
        free(s->roots);
        free(s->root_refs);
        free(s->root_hit);
        sd_event_unref(s->event);
        free(s);
        return NULL;
}

int server_listen_fd(Server *s, int fd) {
        int r;

        if (s->listen_fd >= 0) {
                safe_close(fd);
                return -EBUSY;
        }
        s->listen_fd = fd;
        r = sd_event_add_io(s->event, &s->listen_source, fd, EPOLLIN, on_accept, s);
        if (r < 0)
                return r;
        return 0;
}

int server_listen_activated(Server *s) {
        int n, r, fd = SD_LISTEN_FDS_START, flags;

        n = sd_listen_fds(true);
        if (n <= 0)
                return n;
        if (n > 1)
                return -EINVAL;
        r = sd_is_socket_unix(fd, SOCK_STREAM, 1, NULL, 0);
        if (r < 0)
                return r;
        if (r == 0)
                return -EINVAL;
        /* Passed without O_NONBLOCK and without FD_CLOEXEC: the loop must never wait on accept(). */
        flags = fcntl(fd, F_GETFL);
        if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0 || fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
                return negative_errno();
        r = server_listen_fd(s, fd);
        return r < 0 ? r : 1;
}

/* Creates the missing folders of path's parent, 0755 whatever the umask. */
static int make_parents(const char *path) {
        _cleanup_(freep) char *dir = strdup(path);
        char *slash;

        if (!dir)
                return -ENOMEM;
        slash = strrchr(dir, '/');
        if (!slash || slash == dir)
                return 0;
        *slash = '\0';
        for (char *p = dir + 1;; p++) {
                bool last = *p == '\0';

                if (*p != '/' && !last)
                        continue;
                *p = '\0';
                if (mkdir(dir, 0755) >= 0) {
                        if (chmod(dir, 0755) < 0)
                                return negative_errno();
                } else if (errno != EEXIST)
                        return negative_errno();
                if (last)
                        return 0;
                *p = '/';
        }
}

/* Does something accept connections at sa? A full backlog (EAGAIN) counts as yes. */
static bool socket_in_use(const struct sockaddr_un *sa) {
        _cleanup_(closep) int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

        if (fd < 0)
                return false;
        return connect(fd, (const struct sockaddr *) sa, sizeof(*sa)) >= 0 || errno == EAGAIN;
}

int server_listen(Server *s, const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_(closep) int fd = -EBADF;
        struct stat st;
        int r;

        if (strlen(path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        memcpy(sa.sun_path, path, strlen(path) + 1);
        if (s->listen_fd >= 0)
                return -EBUSY;

        r = make_parents(path);
        if (r < 0)
                return r;
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return negative_errno();

        /* A socket a live daemon serves stays its own. */
        if (socket_in_use(&sa))
                return -EADDRINUSE;
        /* A socket left by an earlier run (or a racing start) is replaced; anything else stays. */
        for (unsigned attempt = 0;; attempt++) {
                if (lstat(path, &st) >= 0) {
                        if (!S_ISSOCK(st.st_mode))
                                return -EEXIST;
                        if (unlink(path) < 0 && errno != ENOENT)
                                return negative_errno();
                }
                if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) >= 0)
                        break;
                if (errno != EADDRINUSE || attempt >= 3)
                        return negative_errno();
        }
        /* bind() honoured the umask; local users must be able to connect. */
        if (chmod(path, 0666) < 0 || lstat(path, &st) < 0)
                return negative_errno();
        if (listen(fd, SOMAXCONN) < 0)
                return negative_errno();

        s->path = strdup(path);
        if (!s->path)
                return -ENOMEM;
        s->path_dev = st.st_dev;
        s->path_ino = st.st_ino;
        return server_listen_fd(s, TAKE_FD(fd));
}

void server_set_proc_mount(Server *s, const PwProcMount *m) {
        s->policy.proc = *m;
}

void server_set_argv_privacy(Server *s, const PwJournalFilter *f) {
        s->policy.argv_privacy = f;
}

unsigned server_n_subscribers(const Server *s) {
        return s->n_subscribers;
}

unsigned server_n_clients(const Server *s) {
        return s->n_clients;
}

unsigned server_clients_max(const Server *s) {
        return s->limits.clients_max;
}

size_t server_max_backlog(const Server *s) {
        size_t m = 0;

        for (const Client *c = s->clients; c; c = c->next)
                m = MAX(m, varlink_conn_pending_out(&c->conn));
        return m;
}
