/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The control socket: a Varlink server on the sd-event loop answering from the process tree. The
 * design (buffers, limits and why) is set out at the top of server.c. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "access-policy.h"
#include "macro.h"
#include "procjson.h"
#include "proctree.h"
#include "time-util.h"

/* Limits on what a client can make the daemon hold or do; each is hit by a test (test-varlink). */
/* Concurrent connections; one more is accepted and closed at once, without a reply. */
#define SERVER_CLIENTS_MAX 256U
/* Longest request, its NUL not counted: a longer one gets InvalidParameter ("request") and the
 * connection is closed, since the stream cannot be resynchronised. */
#define SERVER_REQUEST_MAX (64U * 1024U)
/* Nesting of arrays and objects in a request (jansson alone would allow 2048). */
#define SERVER_DEPTH_MAX 64U
/* Bytes queued for one client. No new request is read, and no more of a List or Tree reply is
 * generated, while SERVER_OUTPUT_CHUNK bytes wait; so the queue holds at most that plus one message
 * (one process object: argv is at most 2 MiB, 12 MiB with JSON escapes). Beyond SERVER_OUTPUT_MAX
 * the client is dropped. */
#define SERVER_OUTPUT_CHUNK (256U * 1024U)
#define SERVER_OUTPUT_MAX (16U * 1024U * 1024U)
/* A client whose queued reply bytes were not read for this long is dropped; this is also how long
 * an Events subscriber may stay stuck with a full buffer before it is disconnected. */
#define SERVER_STALL_USEC (30 * USEC_PER_SEC)
/* Event bytes queued for one Events subscriber. An event that would go beyond is not queued but
 * counted; once the subscriber has read enough, a {"missed": N} record goes first in its stream. */
#define SERVER_EVENTS_BUFFER_MAX (256U * 1024U)
/* Connections of one user other than root; one more is accepted and closed at once. Root has no
 * cap of its own but the total. */
#define SERVER_CLIENTS_PER_UID_MAX 32U
/* Places kept for root: users other than root hold at most clients_max minus this many (or minus
 * half of clients_max, when that is smaller), so that root's `procwatchctl stats` is answered
 * whoever holds the rest. */
#define SERVER_CLIENTS_ROOT_RESERVE 16U
/* Events subscriptions of one user other than root; one more gets LimitReached ("subscribers"). */
#define SERVER_SUBSCRIBERS_PER_UID_MAX 8U
/* Bytes queued for all the connections of one user other than root, replies and events alike.
 * Beyond, that user's List and Tree replies are not generated further and its requests not read
 * until some of it is read; its events are counted as missed. */
#define SERVER_OUTPUT_PER_UID_MAX (4U * 1024U * 1024U)
/* A connection with nothing in progress (no request being answered, nothing queued for it, no
 * subscription) for this long is closed. A request sent a byte at a time does not count as
 * progress until it is whole. */
#define SERVER_IDLE_USEC (60 * USEC_PER_SEC)
/* Descriptors kept for the daemon's own use (the proc connector, the journal, /proc reads, the
 * loop's own): the client cap is RLIMIT_NOFILE's soft limit minus this, and at most
 * SERVER_CLIENTS_MAX. */
#define SERVER_FD_RESERVE 64U

typedef struct ServerLimits {
        unsigned clients_max;
        size_t request_max;
        unsigned depth_max;
        size_t output_chunk;
        size_t output_max;
        usec_t stall_usec;
        size_t events_buffer_max;
        /* Fair shares; 0 in any of these: its SERVER_* default. */
        unsigned clients_per_uid_max;
        unsigned clients_root_reserve;
        unsigned subscribers_per_uid_max;
        size_t output_per_uid_max;
        usec_t idle_usec;
} ServerLimits;

/* The limits in force unless a caller (a test) narrows one of them. */
#define SERVER_LIMITS_DEFAULT                                                                             \
        ((ServerLimits){                                                                                  \
                .clients_max = SERVER_CLIENTS_MAX,                                                        \
                .request_max = SERVER_REQUEST_MAX,                                                        \
                .depth_max = SERVER_DEPTH_MAX,                                                            \
                .output_chunk = SERVER_OUTPUT_CHUNK,                                                      \
                .output_max = SERVER_OUTPUT_MAX,                                                          \
                .stall_usec = SERVER_STALL_USEC,                                                          \
                .events_buffer_max = SERVER_EVENTS_BUFFER_MAX,                                            \
                .clients_per_uid_max = SERVER_CLIENTS_PER_UID_MAX,                                        \
                .clients_root_reserve = SERVER_CLIENTS_ROOT_RESERVE,                                      \
                .subscribers_per_uid_max = SERVER_SUBSCRIBERS_PER_UID_MAX,                                \
                .output_per_uid_max = SERVER_OUTPUT_PER_UID_MAX,                                          \
                .idle_usec = SERVER_IDLE_USEC,                                                            \
        })

/* The client cap for a soft RLIMIT_NOFILE of nofile (UINT64_MAX: unlimited): cap, or fewer so that
 * SERVER_FD_RESERVE descriptors stay for the daemon's own use; at least 1. server_new() applies it
 * to limits->clients_max. */
unsigned server_clients_max_for_nofile(uint64_t nofile, unsigned cap);

typedef struct ServerCallbacks {
        /* Fills the daemon's figures for Stats (the server adds its own client counts). */
        void (*get_stats)(void *userdata, PwDaemonStats *ret);
        /* Reload: re-reads the configuration. Returns 0 with *ret the reply's fields, or a negative
         * errno with *ret the parameters of io.procwatch.ConfigInvalid (the running configuration
         * stays). NULL: Reload re-reads /proc's mount options only. */
        int (*reload)(void *userdata, json_t **ret);
        /* GetConfig: the effective configuration (a new reference); NULL when out of memory. */
        json_t *(*get_config)(void *userdata);
} ServerCallbacks;

typedef struct Server Server;

/* tree is borrowed and must outlive the server. limits NULL: the SERVER_* defaults. The client cap
 * is lowered to fit RLIMIT_NOFILE (server_clients_max_for_nofile()). */
int server_new(Server **ret, sd_event *event, ProcTree *tree, const ServerLimits *limits,
               const ServerCallbacks *cb, void *userdata);
/* Closes every connection and the listening socket, and removes the socket file if it is still the
 * one server_listen() made. Accepts NULL. */
Server *server_free(Server *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(Server *, server_free);

/* Creates the socket at path: the missing parent folder (0755), a stale socket file removed first,
 * mode 0666 after bind (the unit's UMask= is 0077). Returns 0 or a negative errno: -EADDRINUSE when
 * a live daemon answers there, -EEXIST when something other than a socket is in the way,
 * -ENAMETOOLONG. */
int server_listen(Server *s, const char *path);
/* Serves an already listening socket (socket activation; tests). Takes ownership of fd. */
int server_listen_fd(Server *s, int fd);
/* Serves the socket the service manager passed (sd_listen_fds(), LISTEN_FDS=1): it must be one
 * listening AF_UNIX stream socket. Returns 1 when one was taken, 0 when none was passed, or a
 * negative errno (-EINVAL: more than one, or of another kind). */
int server_listen_activated(Server *s);

/* Sends an event the tree has just applied to every Events subscriber whose filter takes it. res
 * as proctree_apply() filled it; its record is read now, not later. Never blocks: what does not fit
 * a subscriber's buffer is counted as missed for it. */
void server_publish_event(Server *s, const PwEvent *ev, const PwApplyResult *res);

/* /proc's mount options for the access policy (access-policy.h). server_new() reads them from
 * /proc/self/mountinfo; Reload reads them again. */
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
