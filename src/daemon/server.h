/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The control socket: the daemon's glue that puts the generic Varlink server (varlink-server.h), the
 * io.procwatch methods (methods.h), Events subscriptions (subscriptions.h) and one access policy
 * together, answering from the process tree. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "access-policy.h"
#include "macro.h"
#include "methods.h"
#include "proctree.h"
#include "subscriptions.h"
#include "varlink-server.h"

typedef struct ServerLimits {
        VarlinkServerLimits transport;
        SubscriptionLimits events;
} ServerLimits;

/* The limits in force unless a caller (a test) narrows one of them. */
#define SERVER_LIMITS_DEFAULT                                                                             \
        ((ServerLimits){                                                                                  \
                .transport = VARLINK_SERVER_LIMITS_DEFAULT,                                               \
                .events = { .events_buffer_max = SUBSCRIPTIONS_EVENTS_BUFFER_MAX,                         \
                            .subscribers_per_uid_max = SUBSCRIPTIONS_PER_UID_MAX },                       \
        })

typedef struct Server Server;

/* tree is borrowed and must outlive the server. limits NULL: the defaults. The client cap is lowered
 * to fit RLIMIT_NOFILE (varlink_server_clients_max_for_nofile()). /proc's mount options are read
 * from /proc/self/mountinfo. */
int server_new(Server **ret, sd_event *event, ProcTree *tree, const ServerLimits *limits,
               const PwMethodsCallbacks *cb, void *userdata);
/* Closes every connection and the listening socket, and removes the socket file if it is still the
 * one server_listen() made. Accepts NULL. */
Server *server_free(Server *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(Server *, server_free);

/* As varlink_server_listen(), varlink_server_listen_fd() and varlink_server_listen_activated(). */
int server_listen(Server *s, const char *path);
int server_listen_fd(Server *s, int fd);
int server_listen_activated(Server *s);

/* As subscriptions_publish(). */
void server_publish_event(Server *s, const PwEvent *ev, const PwApplyResult *res);

/* /proc's mount options for the access policy (access-policy.h). */
void server_set_proc_mount(Server *s, const PwProcMount *m);
/* Reads /proc's mount options again (Reload and SIGHUP); on failure keeps the old ones, logged. */
void server_reread_proc_mount(Server *s);
/* argv for callers other than root and the process's owner: the journal's --journal-argv and
 * --journal-redact (borrowed; must outlive the server). NULL: argv in full to everyone. */
void server_set_argv_privacy(Server *s, const PwJournalFilter *f);

unsigned server_n_clients(const Server *s);
/* The client cap in force (after RLIMIT_NOFILE). */
unsigned server_clients_max(const Server *s);
unsigned server_n_subscribers(const Server *s);
/* The most bytes queued for any one client now (tests check the bound). */
size_t server_max_backlog(const Server *s);
