/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The io.procwatch methods (and org.varlink.service's) on the generic Varlink server: each with its
 * parameter dispatch table, answering from the process tree as the access policy lets each caller
 * see it. To add a method: its entry and dispatch table in methods.c, its IDL in
 * include/procwatch/io.procwatch.varlink. Events is subscriptions.c's. */
#pragma once

#include <jansson.h>

#include "access-policy.h"
#include "procjson.h"
#include "proctree.h"
#include "subscriptions.h"
#include "varlink-server.h"

typedef struct PwMethodsCallbacks {
        /* Fills the daemon's figures for Stats (the server and the subscriptions add their own). */
        void (*get_stats)(void *userdata, PwDaemonStats *ret);
        /* Reload: re-reads the configuration. Returns 0 with *ret the reply's fields, or a negative
         * errno with *ret the parameters of io.procwatch.ConfigInvalid (the running configuration
         * stays). NULL: Reload re-reads /proc's mount options only. */
        int (*reload)(void *userdata, json_t **ret);
        /* GetConfig: the effective configuration (a new reference); NULL when out of memory. */
        json_t *(*get_config)(void *userdata);
} PwMethodsCallbacks;

typedef struct PwMethods PwMethods;

/* Registers the methods on vs. Everything is borrowed and must outlive the methods: vs, tree,
 * policy (Reload re-reads its /proc mount options), subs (for Stats). The callers' per-connection
 * data must be their PwCaller (pw_methods_identify()). cb NULL: no callbacks. */
int pw_methods_new(PwMethods **ret, VarlinkServer *vs, ProcTree *tree, PwAccessPolicy *policy,
                   const Subscriptions *subs, const PwMethodsCallbacks *cb, void *userdata);
PwMethods *pw_methods_free(PwMethods *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(PwMethods *, pw_methods_free);

/* The identify hook for the server: the caller's PwCaller, read from the socket at accept. */
int pw_methods_identify(int fd, void *conn_data);

/* Reads /proc's mount options again (Reload and SIGHUP); on failure keeps the old ones, logged. */
void pw_methods_reread_proc_mount(PwMethods *m);
