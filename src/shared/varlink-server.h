/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A generic Varlink server on sd-event: the listening socket, connections, limits, fair shares,
 * backpressure, streamed replies, the method table and parameter dispatch tables. It knows nothing
 * of processes; the daemon registers its methods (src/daemon/methods.c, subscriptions.c). The
 * design (buffers, limits and why) is set out at the top of varlink-server.c. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <systemd/sd-event.h>

#include "macro.h"
#include "time-util.h"
#include "varlink.h"

/* Limits on what a client can make the server hold or do; each is hit by a test
 * (test-varlink-server). */
/* Concurrent connections; one more is accepted and closed at once, without a reply. */
#define VARLINK_SERVER_CLIENTS_MAX 256U
/* Longest request, its NUL not counted: a longer one gets InvalidParameter ("request") and the
 * connection is closed, since the stream cannot be resynchronised. */
#define VARLINK_SERVER_REQUEST_MAX (64U * 1024U)
/* Nesting of arrays and objects in a request (jansson alone would allow 2048). */
#define VARLINK_SERVER_DEPTH_MAX 64U
/* Bytes queued for one client. No new request is read, and no more of a streamed reply is
 * generated, while VARLINK_SERVER_OUTPUT_CHUNK bytes wait; so the queue holds at most that plus one
 * message (one process object: argv is at most 2 MiB, 12 MiB with JSON escapes). Beyond
 * VARLINK_SERVER_OUTPUT_MAX the client is dropped. */
#define VARLINK_SERVER_OUTPUT_CHUNK (256U * 1024U)
#define VARLINK_SERVER_OUTPUT_MAX (16U * 1024U * 1024U)
/* A client whose queued bytes were not read for this long is dropped; this is also how long a
 * stream (an Events subscriber) may stay stuck with a full buffer before it is disconnected. */
#define VARLINK_SERVER_STALL_USEC (30 * USEC_PER_SEC)
/* Connections of one user other than root; one more is accepted and closed at once. Root has no
 * cap of its own but the total. */
#define VARLINK_SERVER_CLIENTS_PER_UID_MAX 32U
/* Places kept for root: users other than root hold at most clients_max minus this many (or minus
 * half of clients_max, when that is smaller), so that root's `procwatchctl stats` is answered
 * whoever holds the rest. */
#define VARLINK_SERVER_CLIENTS_ROOT_RESERVE 16U
/* Bytes queued for all the connections of one user other than root, replies and streams alike.
 * Beyond, that user's streamed replies are not generated further and its requests not read until
 * some of it is read; what is offered to its sinks is refused (its events counted as missed). */
#define VARLINK_SERVER_OUTPUT_PER_UID_MAX (4U * 1024U * 1024U)
/* A connection with nothing in progress (no request being answered, nothing queued for it, not a
 * sink) for this long is closed. A request sent a byte at a time does not count as progress until
 * it is whole. */
#define VARLINK_SERVER_IDLE_USEC (60 * USEC_PER_SEC)
/* Descriptors kept for the daemon's own use (the proc connector, the journal, /proc reads, the
 * loop's own): the client cap is RLIMIT_NOFILE's soft limit minus this, and at most
 * VARLINK_SERVER_CLIENTS_MAX. */
#define VARLINK_SERVER_FD_RESERVE 64U

typedef struct VarlinkServerLimits {
        unsigned clients_max;
        size_t request_max;
        unsigned depth_max;
        size_t output_chunk;
        size_t output_max;
        usec_t stall_usec;
        /* Fair shares; 0 in any of these: its VARLINK_SERVER_* default. */
        unsigned clients_per_uid_max;
        unsigned clients_root_reserve;
        size_t output_per_uid_max;
        usec_t idle_usec;
} VarlinkServerLimits;

/* The limits in force unless a caller (a test) narrows one of them. */
#define VARLINK_SERVER_LIMITS_DEFAULT                                                                     \
        ((VarlinkServerLimits){                                                                           \
                .clients_max = VARLINK_SERVER_CLIENTS_MAX,                                                \
                .request_max = VARLINK_SERVER_REQUEST_MAX,                                                \
                .depth_max = VARLINK_SERVER_DEPTH_MAX,                                                    \
                .output_chunk = VARLINK_SERVER_OUTPUT_CHUNK,                                              \
                .output_max = VARLINK_SERVER_OUTPUT_MAX,                                                  \
                .stall_usec = VARLINK_SERVER_STALL_USEC,                                                  \
                .clients_per_uid_max = VARLINK_SERVER_CLIENTS_PER_UID_MAX,                                \
                .clients_root_reserve = VARLINK_SERVER_CLIENTS_ROOT_RESERVE,                              \
                .output_per_uid_max = VARLINK_SERVER_OUTPUT_PER_UID_MAX,                                  \
                .idle_usec = VARLINK_SERVER_IDLE_USEC,                                                    \
        })

/* The client cap for a soft RLIMIT_NOFILE of nofile (UINT64_MAX: unlimited): cap, or fewer so that
 * VARLINK_SERVER_FD_RESERVE descriptors stay for the daemon's own use; at least 1.
 * varlink_server_new() applies it to limits->clients_max. */
unsigned varlink_server_clients_max_for_nofile(uint64_t nofile, unsigned cap);

/* Why a client is dropped: conditions its peer caused, never the daemon's own failure (which is a
 * negative errno, logged as such). Client-caused drops are logged at debug level only (a local user
 * must not be able to flood the journal) and counted in the server's stats. */
typedef enum VarlinkPeerFault {
        VARLINK_PEER_OK = 0,
        VARLINK_PEER_HANGUP,        /* it closed or reset the connection while we wrote or read */
        VARLINK_PEER_BAD_FRAMING,   /* a request beyond request_max: the stream cannot be resynchronised */
        VARLINK_PEER_OUTPUT_FULL,   /* more than output_max bytes queued for it */
        VARLINK_PEER_STALLED,       /* what is queued for it was not read for stall_usec */
        VARLINK_PEER_IDLE,          /* nothing in progress for idle_usec */
        _VARLINK_PEER_FAULT_MAX,
} VarlinkPeerFault;

const char *varlink_peer_fault_to_string(VarlinkPeerFault f);

/* --- parameter dispatch tables ----------------------------------------------------------------- */

typedef enum VarlinkFieldType {
        VARLINK_FIELD_BOOL,         /* bool */
        VARLINK_FIELD_INT,          /* int64_t, an integer (not a real) in [min, max] */
        VARLINK_FIELD_STRING,       /* const char *, borrowed from the message */
        VARLINK_FIELD_CUSTOM,       /* parse() decides, from the JSON value */
} VarlinkFieldType;

/* One parameter: its name, its type, where it goes in the method's parameter struct. A field absent
 * or null leaves the struct's default; a mandatory one must be there and not null. */
typedef struct VarlinkField {
        const char *name;
        VarlinkFieldType type;
        size_t offset;
        bool mandatory;
        int64_t min, max;                         /* VARLINK_FIELD_INT */
        int (*parse)(json_t *v, void *dest);      /* VARLINK_FIELD_CUSTOM: 0 or -EINVAL */
} VarlinkField;

/* Fills dest from params by fields (ended by an entry without a name). Any parameter the table does
 * not name, a value of the wrong type or out of range, or a mandatory one missing: -EINVAL, with that
 * parameter's name in *ret_bad (for org.varlink.service.InvalidParameter). Unknown names are looked
 * for first, in the message's order; then the fields in the table's order. */
int varlink_server_dispatch(json_t *params, const VarlinkField *fields, void *dest, const char **ret_bad);

/* --- the server --------------------------------------------------------------------------------- */

typedef struct VarlinkServer VarlinkServer;
typedef struct VarlinkServerConn VarlinkServerConn;

/* Largest parameter struct a method may have. */
#define VARLINK_SERVER_PARAMS_MAX 256U

/* A method's handler: params is its struct, filled by its dispatch table. Replies go through
 * varlink_server_reply*() or a stream; what the peer causes meanwhile (a full queue) is kept on the
 * connection, not returned. Returns 0, or a negative errno for the daemon's own failure (-ENOMEM):
 * the connection is then closed and the failure logged. */
typedef int (*VarlinkMethodFunc)(VarlinkServerConn *c, const VarlinkCall *call, void *params, void *userdata);

typedef struct VarlinkMethod {
        const char *name;                         /* "interface.Method" */
        VarlinkMethodFunc func;
        const VarlinkField *fields;               /* NULL: takes no parameters */
        size_t params_size;                       /* at most VARLINK_SERVER_PARAMS_MAX */
        const void *params_default;               /* NULL: all zero */
} VarlinkMethod;

typedef struct VarlinkServerHooks {
        /* Called at accept with the new connection's fd; fills the per-connection data (conn_data_size
         * bytes, zeroed first) with whatever the handlers need of the caller. A negative errno closes
         * the connection. NULL: no per-connection data. */
        int (*identify)(int fd, void *conn_data);
        size_t conn_data_size;
} VarlinkServerHooks;

/* limits NULL: the VARLINK_SERVER_* defaults. The client cap is lowered to fit RLIMIT_NOFILE
 * (varlink_server_clients_max_for_nofile()). Returns 0, -EINVAL for inconsistent limits, -ENOMEM. */
int varlink_server_new(VarlinkServer **ret, sd_event *event, const VarlinkServerLimits *limits,
                       const VarlinkServerHooks *hooks);
/* Closes every connection and the listening socket, and removes the socket file if it is still the
 * one varlink_server_listen() made. Accepts NULL. */
VarlinkServer *varlink_server_free(VarlinkServer *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(VarlinkServer *, varlink_server_free);

/* Adds methods to the table; they stay borrowed (a static table). userdata is handed to each. Their
 * interfaces are the ones the server answers InterfaceNotFound for when missing. Returns 0, -EEXIST,
 * -EINVAL (params_size too large), -ENOMEM. */
int varlink_server_add_methods(VarlinkServer *s, const VarlinkMethod *methods, size_t n, void *userdata);

/* Creates the socket at path: the missing parent folder (0755), a stale socket file removed first,
 * mode 0666 after bind (the unit's UMask= is 0077). Returns 0 or a negative errno: -EADDRINUSE when
 * a live server answers there, -EEXIST when something other than a socket is in the way,
 * -ENAMETOOLONG. */
int varlink_server_listen(VarlinkServer *s, const char *path);
/* Serves an already listening socket (socket activation; tests). Takes ownership of fd. */
int varlink_server_listen_fd(VarlinkServer *s, int fd);
/* Serves the socket the service manager passed (sd_listen_fds(), LISTEN_FDS=1): it must be one
 * listening AF_UNIX stream socket. Returns 1 when one was taken, 0 when none was passed, or a
 * negative errno (-EINVAL: more than one, or of another kind). */
int varlink_server_listen_activated(VarlinkServer *s);

typedef struct VarlinkServerStats {
        unsigned clients;
        uint64_t clients_total, clients_refused, clients_dropped, requests;
        /* clients_dropped split by cause: what their peers did, and the daemon's own failures. */
        uint64_t dropped_by_fault[_VARLINK_PEER_FAULT_MAX];
        uint64_t clients_failed;
} VarlinkServerStats;

void varlink_server_get_stats(const VarlinkServer *s, VarlinkServerStats *ret);
unsigned varlink_server_n_clients(const VarlinkServer *s);
/* The client cap in force (after RLIMIT_NOFILE). */
unsigned varlink_server_clients_max(const VarlinkServer *s);
/* The most bytes queued for any one client now (tests check the bound). */
size_t varlink_server_max_backlog(const VarlinkServer *s);
sd_event *varlink_server_event(const VarlinkServer *s);

/* --- one connection, for handlers ----------------------------------------------------------------- */

/* The peer's SO_PEERCRED, read at accept (uid UINT32_MAX when it could not be read). */
const struct ucred *varlink_server_conn_ucred(const VarlinkServerConn *c);
/* The per-connection data VarlinkServerHooks.identify filled. */
const void *varlink_server_conn_data(const VarlinkServerConn *c);

/* Replies. parameters are stolen (NULL: {}). Nothing is sent for a oneway call. Returns 0 or
 * -ENOMEM; a queue over output_max is the peer's fault, kept on the connection (it is dropped). */
int varlink_server_reply(VarlinkServerConn *c, const VarlinkCall *call, json_t *parameters);
int varlink_server_reply_error(VarlinkServerConn *c, const VarlinkCall *call, const char *error,
                               json_t *parameters);
/* org.varlink.service.InvalidParameter {"parameter": name}. */
int varlink_server_reply_invalid(VarlinkServerConn *c, const VarlinkCall *call, const char *name);
/* A parameters object {key: value} with value a string of any bytes (sanitised); NULL on ENOMEM. */
json_t *varlink_server_param_object(const char *key, const char *value);

/* Queues bytes of a reply as they are (a message the caller wrote, with its NUL). Returns 0 or
 * -ENOMEM, a full queue kept as the peer's fault like the replies above. */
int varlink_server_conn_send(VarlinkServerConn *c, const void *data, size_t n);

/* A streamed reply: the server calls step whenever the client has read what was queued, with budget
 * the bytes it may write this time (0 while the user's share is full: nothing but its end then).
 * step queues with varlink_server_conn_send() and returns 0 while more is to come, 1 when the reply
 * is complete (state is freed with free_state then), or a negative errno. Meanwhile nothing more is
 * read from the client. Takes ownership of state, also on failure. */
typedef int (*VarlinkStreamStep)(VarlinkServerConn *c, void *state, size_t budget);
int varlink_server_conn_stream(VarlinkServerConn *c, VarlinkStreamStep step, void *state,
                               void (*free_state)(void *state));

/* A sink: from now on the connection only receives what is offered to it (varlink_server_conn_offer())
 * until either end closes it; its further input is discarded. on_writable is called after what was
 * queued has been written (to queue what waited), on_close when the connection goes, whoever closes
 * it. Sinks count per uid (varlink_server_conn_uid_sinks()). */
typedef struct VarlinkSinkOps {
        void (*on_writable)(VarlinkServerConn *c, void *userdata);
        void (*on_close)(VarlinkServerConn *c, void *userdata);
} VarlinkSinkOps;
int varlink_server_conn_make_sink(VarlinkServerConn *c, const VarlinkSinkOps *ops, void *userdata);
/* Sinks of this connection's uid. */
unsigned varlink_server_conn_uid_sinks(const VarlinkServerConn *c);
/* Whether the uid's connections are held to the per-uid shares (every uid but root). */
bool varlink_server_conn_capped(const VarlinkServerConn *c);

/* Whether n more bytes stay within the share of this connection's user (always, for root). */
bool varlink_server_conn_share_fits(const VarlinkServerConn *c, size_t n);
/* Queues n bytes if they fit: at most limit (and output_max) bytes pending for this connection
 * afterwards. Returns 0, -ENOBUFS when they do not fit (nothing queued, not a fault), -ENOMEM. */
int varlink_server_conn_offer(VarlinkServerConn *c, const void *data, size_t n, size_t limit);
/* Bytes queued for this connection, not yet written. */
size_t varlink_server_conn_pending_out(const VarlinkServerConn *c);
