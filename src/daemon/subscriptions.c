/* SPDX-License-Identifier: GPL-2.0-or-later */
/* io.procwatch.Events: subscriptions, their filters and the fan-out of each event.
 *
 * Design. A client that calls Events with "more" becomes a sink of the Varlink server
 * (varlink-server.h): it reads nothing more and is kept on a list of its own, so that publishing
 * looks at subscribers only. Each event the tree applies is matched against every subscriber's
 * filter; on the first match it is serialised once, into one NUL-terminated message, and that text
 * is offered to each matching subscriber's output queue. A queue holds at most events_buffer_max
 * bytes: an event that does not fit is not queued but counted, and once the subscriber has read
 * enough a {"missed": N} record is queued ahead of the next event. So a slow subscriber costs a
 * bounded copy per event and a bounded buffer, never a wait, and another subscriber sees no
 * difference. One that reads nothing at all is dropped by the server after its stall limit like any
 * client that does not read its replies. The record PwApplyResult names is valid only until the tree
 * changes again (an exited one may be evicted), hence serialising at once.
 *
 * Who sees what. Each event goes only to callers the access policy lets see its process; an event
 * is serialised once per distinct view (caller ids and rights) among the subscribers it goes to,
 * not once per subscriber.
 *
 * Cost per event. Whether an event's process is in a subscriber's subtree is decided once per event
 * for all subscribers: its ancestors are followed once (at most PW_SUBTREE_DEPTH_MAX) and
 * looked up in the sorted set of the subtree roots subscribers named. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json-writer.h"
#include "log.h"
#include "procjson.h"
#include "procwatch/protocol.h"
#include "process-filter.h"
#include "subscriptions.h"

typedef struct Subscription Subscription;

/* What an Events subscriber asked for. */
struct Subscription {
        Subscriptions *owner;
        VarlinkServerConn *conn;
        Subscription *prev, *next;
        PwProcessFilter filter;     /* kinds 0: all; pids: the subtree roots, also in Subscriptions.roots */
        uint64_t missed;            /* events not queued since the last "missed" record */
};

struct Subscriptions {
        SubscriptionLimits limits;
        const PwAccessPolicy *policy;
        Subscription *subscribers;
        unsigned n_subscribers;
        /* The distinct subtree roots subscribers named, sorted, with how many named each; per event,
         * which of them the event's process descends from. */
        pid_t *roots;
        unsigned *root_refs;
        bool *root_hit;
        size_t n_roots, roots_alloc;

        uint64_t events_published, events_missed;
        uint64_t subtree_steps;     /* ancestors followed for subtree filters, in all */
};

static const PwCaller *sub_caller(const Subscription *sub) {
        return varlink_server_conn_data(sub->conn);
}

/* --- subtree roots ---------------------------------------------------------------------------------- */

/* Where pid is in s->roots, or where it would go (*found false). */
static size_t roots_find(const Subscriptions *s, pid_t pid, bool *found) {
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

static int roots_add(Subscriptions *s, pid_t pid) {
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

static void roots_remove(Subscriptions *s, pid_t pid) {
        bool found;
        size_t i = roots_find(s, pid, &found);

        if (!found || --s->root_refs[i] > 0)
                return;
        memmove(s->roots + i, s->roots + i + 1, (s->n_roots - i - 1) * sizeof(pid_t));
        memmove(s->root_refs + i, s->root_refs + i + 1, (s->n_roots - i - 1) * sizeof(unsigned));
        s->n_roots--;
}

static void roots_remove_all(Subscriptions *s, const PwProcessFilter *f) {
        for (size_t i = 0; i < f->n_pids; i++)
                roots_remove(s, f->pids[i]);
}

static unsigned roots_mark(Subscriptions *s, pid_t pid) {
        bool found;
        size_t i = roots_find(s, pid, &found);

        if (!found || s->root_hit[i])
                return 0;
        s->root_hit[i] = true;
        return 1;
}

/* Which roots p descends from, by the rule of proctree_in_subtree(), following its ancestors once for
 * every subscriber: at most PW_SUBTREE_DEPTH_MAX steps, fewer once every root was found. */
static void roots_walk(Subscriptions *s, const PwProcess *p) {
        unsigned hits = 0;

        memset(s->root_hit, 0, s->n_roots * sizeof(bool));
        for (unsigned depth = 0; p && depth < PW_SUBTREE_DEPTH_MAX && hits < s->n_roots;
             p = proctree_parent(p), depth++) {
                s->subtree_steps++;
                hits += roots_mark(s, p->pid);
                if (!proctree_parent(p))
                        hits += roots_mark(s, p->ppid);
                if (proctree_parent(p) == p)
                        break;
        }
}

/* --- subscriptions ----------------------------------------------------------------------------------- */

static Subscription *subscription_free(Subscription *sub) {
        if (sub) {
                pw_process_filter_done(&sub->filter);
                free(sub);
        }
        return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(Subscription *, subscription_free);

/* The stream ended, whoever ended it. */
static void subscriber_unlink(VarlinkServerConn *c, void *userdata) {
        Subscription *sub = userdata;
        Subscriptions *s = sub->owner;

        if (sub->prev)
                sub->prev->next = sub->next;
        else
                s->subscribers = sub->next;
        if (sub->next)
                sub->next->prev = sub->prev;
        s->n_subscribers--;
        roots_remove_all(s, &sub->filter);
        subscription_free(sub);
}

/* Queues the {"missed": N} record when it fits with room to spare for the event that follows. */
static void subscriber_flush_missed(Subscription *sub, size_t room_after) {
        size_t max = sub->owner->limits.events_buffer_max;
        char buf[96];
        int n;

        if (sub->missed == 0)
                return;
        n = snprintf(buf, sizeof(buf), "{\"parameters\":{\"missed\":%" PRIu64 "},\"continues\":true}", sub->missed);
        if (n < 0 || (size_t) n >= sizeof(buf) || room_after > max)
                return;
        if (varlink_server_conn_offer(sub->conn, buf, (size_t) n + 1, max - room_after) < 0)
                return;
        sub->missed = 0;
}

/* The subscriber has read: half the buffer free before the record goes in, room for what follows,
 * no flapping. */
static void subscriber_writable(VarlinkServerConn *c, void *userdata) {
        Subscription *sub = userdata;

        subscriber_flush_missed(sub, sub->owner->limits.events_buffer_max / 2);
}

static const VarlinkSinkOps subscriber_ops = {
        .on_writable = subscriber_writable,
        .on_close = subscriber_unlink,
};

typedef struct EventsParams {
        unsigned kinds;
        int64_t pid, uid;
        const char *comm, *unit, *user_unit;
        bool threads;
} EventsParams;

static int parse_kinds(json_t *v, void *dest) {
        json_t *k;
        unsigned kinds = 0;
        size_t i;

        if (!json_is_array(v))
                return -EINVAL;
        json_array_foreach(v, i, k) {
                PwEventKind kind;

                if (!json_is_string(k))
                        return -EINVAL;
                kind = pw_event_kind_from_string(json_string_value(k));
                /* "ack" is the kernel's reply to us, never a process event. */
                if (!pw_event_kind_is_process_event(kind))
                        return -EINVAL;
                kinds |= PW_EVENT_KIND_BIT(kind);
        }
        *(unsigned *) dest = kinds;
        return 0;
}

static int method_events(VarlinkServerConn *c, const VarlinkCall *call, void *params, void *userdata) {
        static const char ready[] = "{\"parameters\":{\"ready\":true},\"continues\":true}";
        _cleanup_(subscription_freep) Subscription *sub = NULL;
        const EventsParams *p = params;
        Subscriptions *s = userdata;
        const char *bad = NULL;
        PwProcessFilter *f;
        int r;

        /* A stream needs "more"; "oneway" asks for no reply at all, so it gets nothing. */
        if (!call->more || call->oneway)
                return varlink_server_reply_error(c, call, PW_VARLINK_ERROR_EXPECTED_MORE, NULL);
        if (varlink_server_conn_capped(c) && varlink_server_conn_uid_sinks(c) >= s->limits.subscribers_per_uid_max) {
                log_debug("Refused an Events stream to uid %u: it has %u already.",
                          (unsigned) varlink_server_conn_ucred(c)->uid, varlink_server_conn_uid_sinks(c));
                return varlink_server_reply_error(c, call, PW_VARLINK_ERROR_LIMIT_REACHED,
                                                  varlink_server_param_object("limit", "subscribers"));
        }
        sub = calloc(1, sizeof(*sub));
        if (!sub)
                return -ENOMEM;
        sub->owner = s;
        sub->conn = c;
        f = &sub->filter;
        pw_process_filter_init(f);
        f->kinds = p->kinds;
        f->threads = p->threads;
        if (p->pid > 0 && pw_process_filter_add_pid(f, (pid_t) p->pid) < 0)
                return varlink_server_reply_invalid(c, call, "pid");
        r = pw_process_filter_add_selectors(f, p->uid, p->comm, p->unit, p->user_unit, &bad);
        if (r == -EINVAL)
                return varlink_server_reply_invalid(c, call, bad);
        if (r < 0)
                return r;

        /* The first reply says the subscription is in place: what happens from now on is seen. */
        r = varlink_server_conn_send(c, ready, sizeof(ready)); /* with its NUL */
        if (r < 0)
                return r;
        for (size_t i = 0; i < f->n_pids; i++)
                if (roots_add(s, f->pids[i]) < 0) {
                        while (i-- > 0)
                                roots_remove(s, f->pids[i]);
                        return -ENOMEM;
                }
        r = varlink_server_conn_make_sink(c, &subscriber_ops, sub);
        if (r < 0) {
                roots_remove_all(s, f);
                return r;
        }
        sub->next = s->subscribers;
        if (s->subscribers)
                s->subscribers->prev = sub;
        s->subscribers = TAKE_PTR(sub);
        s->n_subscribers++;
        return 0;
}

static const VarlinkField events_fields[] = {
        { "kinds", VARLINK_FIELD_CUSTOM, offsetof(EventsParams, kinds), .parse = parse_kinds },
        { "pid", VARLINK_FIELD_INT, offsetof(EventsParams, pid), .min = 1, .max = INT32_MAX },
        { "uid", VARLINK_FIELD_INT, offsetof(EventsParams, uid), .min = 0, .max = UINT32_MAX },
        { "comm", VARLINK_FIELD_STRING, offsetof(EventsParams, comm) },
        { "unit", VARLINK_FIELD_STRING, offsetof(EventsParams, unit) },
        { "user_unit", VARLINK_FIELD_STRING, offsetof(EventsParams, user_unit) },
        { "threads", VARLINK_FIELD_BOOL, offsetof(EventsParams, threads) },
        {}
};

static const EventsParams events_default = { .uid = -1 };

static const VarlinkMethod events_method[] = {
        { "io.procwatch.Events", method_events, events_fields, sizeof(EventsParams), &events_default },
};

/* --- publishing -------------------------------------------------------------------------------------- */

/* Whether p is in the subtree of root, the ancestors followed once per event (*walked). */
static bool subtree_hit(Subscriptions *s, const PwProcess *p, pid_t root, bool *walked) {
        bool found;
        size_t i;

        if (!*walked) {
                roots_walk(s, p);
                *walked = true;
        }
        i = roots_find(s, root, &found);
        return found && s->root_hit[i];
}

/* The subtree answer the filter takes: one walk per event for every subscriber. */
typedef struct SubtreeWalk {
        Subscriptions *owner;
        bool *walked;
} SubtreeWalk;

static bool subtree_test(void *userdata, const PwProcess *p, pid_t root) {
        SubtreeWalk *w = userdata;

        return subtree_hit(w->owner, p, root, w->walked);
}

static bool subscription_match(Subscriptions *s, const Subscription *sub, const PwEvent *ev,
                               const PwApplyResult *res, bool *walked) {
        const PwProcessFilter *f = &sub->filter;
        const PwProcess *p = res->process;
        SubtreeWalk w = { .owner = s, .walked = walked };

        if (!pw_process_filter_match_kind(f, ev->kind, res->thread))
                return false;
        if (!p)
                /* An event about nothing the tree holds: only an unfiltered subscriber wants it. */
                return !pw_process_filter_selects_processes(f) && pw_access_sees_all(s->policy, sub_caller(sub));
        if (!pw_access_visible(s->policy, sub_caller(sub), p))
                return false;
        return pw_process_filter_match(f, p, subtree_test, &w);
}

/* The whole reply message for one event as caller may see it, NUL-terminated, malloc'ed. */
static char *event_message(const PwAccessPolicy *policy, const PwCaller *caller, const PwEvent *ev,
                           const PwApplyResult *res, size_t *ret_len) {
        _cleanup_(json_writer_done) JsonWriter w = JSON_WRITER_INIT;
        ProcJsonContext ctx = {};
        const PwProcess *parent = res->process ? proctree_parent(res->process) : NULL;
        bool parent_shown;

        procjson_context_now(&ctx, policy, caller);
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

/* An event's text for each distinct view among its subscribers: callers with the same ids, the same
 * CAP_SYS_PTRACE and the same "sees every process" get the same bytes. Views beyond
 * SUBSCRIPTIONS_EVENT_VIEWS_MAX in one event are serialised for each subscriber. */
#define SUBSCRIPTIONS_EVENT_VIEWS_MAX 8U

typedef struct EventView {
        uint32_t uid, gid;
        bool cap, all;
        char *text;
        size_t len;
} EventView;

static const EventView *event_view(EventView *views, size_t *n_views, EventView *scratch,
                                   const PwAccessPolicy *policy, const PwCaller *caller, const PwEvent *ev,
                                   const PwApplyResult *res) {
        EventView key = {
                .uid = caller->uid,
                .gid = caller->gid,
                .cap = caller->cap_sys_ptrace,
                .all = pw_access_sees_all(policy, caller),
        };
        EventView *v;

        for (size_t i = 0; i < *n_views; i++)
                if (views[i].uid == key.uid && views[i].gid == key.gid && views[i].cap == key.cap &&
                    views[i].all == key.all)
                        return views[i].text ? &views[i] : NULL;
        v = *n_views < SUBSCRIPTIONS_EVENT_VIEWS_MAX ? &views[(*n_views)++] : scratch;
        free(scratch->text);
        *v = key;
        v->text = event_message(policy, caller, ev, res, &v->len);
        return v->text ? v : NULL;
}

void subscriptions_publish(Subscriptions *s, const PwEvent *ev, const PwApplyResult *res) {
        EventView views[SUBSCRIPTIONS_EVENT_VIEWS_MAX], scratch = {};
        size_t n_views = 0;
        bool walked = false;

        if (!s || !s->subscribers || ev->kind <= PW_EVENT_NONE || ev->kind >= _PW_EVENT_KIND_MAX)
                return;
        s->events_published++;
        for (Subscription *sub = s->subscribers, *next; sub; sub = next) {
                const EventView *view;

                next = sub->next;
                if (!subscription_match(s, sub, ev, res, &walked))
                        continue;
                view = event_view(views, &n_views, &scratch, s->policy, sub_caller(sub), ev, res);
                if (!view) {
                        /* Out of memory: the subscriber learns of it as missed events. */
                        sub->missed++;
                        s->events_missed++;
                        continue;
                }
                subscriber_flush_missed(sub, view->len);
                if (sub->missed > 0 || !varlink_server_conn_share_fits(sub->conn, view->len) ||
                    varlink_server_conn_offer(sub->conn, view->text, view->len, s->limits.events_buffer_max) < 0) {
                        sub->missed++;
                        s->events_missed++;
                }
        }
        for (size_t i = 0; i < n_views; i++)
                free(views[i].text);
        free(scratch.text);
}

/* --- the set ----------------------------------------------------------------------------------------- */

int subscriptions_new(Subscriptions **ret, const SubscriptionLimits *limits, const PwAccessPolicy *policy) {
        Subscriptions *s = calloc(1, sizeof(*s));

        if (!s)
                return -ENOMEM;
        if (limits)
                s->limits = *limits;
        if (s->limits.events_buffer_max == 0)
                s->limits.events_buffer_max = SUBSCRIPTIONS_EVENTS_BUFFER_MAX;
        if (s->limits.subscribers_per_uid_max == 0)
                s->limits.subscribers_per_uid_max = SUBSCRIPTIONS_PER_UID_MAX;
        s->policy = policy;
        *ret = s;
        return 0;
}

Subscriptions *subscriptions_free(Subscriptions *s) {
        if (!s)
                return NULL;
        /* The server ends the streams (subscriber_unlink()); none should be left. */
        while (s->subscribers) {
                Subscription *sub = s->subscribers;

                s->subscribers = sub->next;
                subscription_free(sub);
        }
        free(s->roots);
        free(s->root_refs);
        free(s->root_hit);
        free(s);
        return NULL;
}

int subscriptions_register(Subscriptions *s, VarlinkServer *vs) {
        return varlink_server_add_methods(vs, events_method, ELEMENTSOF(events_method), s);
}

void subscriptions_get_stats(const Subscriptions *s, SubscriptionStats *ret) {
        *ret = (SubscriptionStats){
                .subscribers = s->n_subscribers,
                .events_published = s->events_published,
                .events_missed = s->events_missed,
                .subtree_steps = s->subtree_steps,
        };
}

unsigned subscriptions_count(const Subscriptions *s) {
        return s->n_subscribers;
}
