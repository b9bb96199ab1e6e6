/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The control socket: one generic Varlink server carrying the io.procwatch methods and Events, under
 * one access policy. The transport's design is at the top of src/shared/varlink-server.c, the
 * methods' at the top of methods.c, the event fan-out's at the top of subscriptions.c. */
#include <errno.h>
#include <stdlib.h>

#include "server.h"

struct Server {
        VarlinkServer *varlink;
        Subscriptions *subs;
        PwMethods *methods;
        PwAccessPolicy policy;      /* who sees what (access-policy.h) */
};

int server_new(Server **ret, sd_event *event, ProcTree *tree, const ServerLimits *limits,
               const PwMethodsCallbacks *cb, void *userdata) {
        static const VarlinkServerHooks hooks = {
                .identify = pw_methods_identify,
                .conn_data_size = sizeof(PwCaller),
        };
        _cleanup_(server_freep) Server *s = NULL;
        int r;

        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        if (pw_proc_mount_read(&s->policy.proc) < 0)
                s->policy.proc = (PwProcMount){}; /* no /proc mount listed: nothing to hide behind */
        r = varlink_server_new(&s->varlink, event, limits ? &limits->transport : NULL, &hooks);
        if (r < 0)
                return r;
        r = subscriptions_new(&s->subs, limits ? &limits->events : NULL, &s->policy);
        if (r < 0)
                return r;
        r = pw_methods_new(&s->methods, s->varlink, tree, &s->policy, s->subs, cb, userdata);
        if (r < 0)
                return r;
        r = subscriptions_register(s->subs, s->varlink);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(s);
        return 0;
}

Server *server_free(Server *s) {
        if (!s)
                return NULL;
        /* The server first: closing its connections ends the subscriptions. */
        varlink_server_free(s->varlink);
        subscriptions_free(s->subs);
        pw_methods_free(s->methods);
        free(s);
        return NULL;
}

int server_listen(Server *s, const char *path) {
        return varlink_server_listen(s->varlink, path);
}

int server_listen_fd(Server *s, int fd) {
        return varlink_server_listen_fd(s->varlink, fd);
}

int server_listen_activated(Server *s) {
        return varlink_server_listen_activated(s->varlink);
}

void server_publish_event(Server *s, const PwEvent *ev, const PwApplyResult *res) {
        if (s)
                subscriptions_publish(s->subs, ev, res);
}

void server_set_proc_mount(Server *s, const PwProcMount *m) {
        s->policy.proc = *m;
}

void server_reread_proc_mount(Server *s) {
        pw_methods_reread_proc_mount(s->methods);
}

void server_set_argv_privacy(Server *s, const PwJournalFilter *f) {
        s->policy.argv_privacy = f;
}

unsigned server_n_clients(const Server *s) {
        return varlink_server_n_clients(s->varlink);
}

unsigned server_clients_max(const Server *s) {
        return varlink_server_clients_max(s->varlink);
}

unsigned server_n_subscribers(const Server *s) {
        return subscriptions_count(s->subs);
}

size_t server_max_backlog(const Server *s) {
        return varlink_server_max_backlog(s->varlink);
}
