/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Varlink framing and messages, shared by the server in procwatchd and the client in procwatchctl.
 *
 * On a UNIX stream socket every Varlink message is one JSON object followed by a NUL byte. A
 * VarlinkConn holds one connection's buffers: bytes read but not yet cut into messages (bounded by
 * in_max per message), and bytes queued but not yet written (bounded by out_max). Reading and
 * writing never block on their own: the caller decides, from poll() or sd-event, when to call them,
 * so the same code serves a non-blocking daemon and a waiting client. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "macro.h"

typedef struct VarlinkConn {
        int fd;                  /* owned: closed by varlink_conn_done() */

        char *in;                /* [in_start, in_len) not yet returned as messages */
        size_t in_start, in_len, in_alloc;
        size_t in_scan;          /* [in_start, in_scan) is known to hold no NUL */
        size_t in_max;           /* longest message accepted, NUL not counted */

        char *out;               /* [out_start, out_len) queued, not yet written */
        size_t out_start, out_len, out_alloc;
        size_t out_max;          /* most bytes queued at once */
} VarlinkConn;

/* Takes ownership of fd (may be -EBADF for a buffer-only connection, as in tests). */
void varlink_conn_init(VarlinkConn *c, int fd, size_t in_max, size_t out_max);
/* Frees the buffers and closes the fd. */
void varlink_conn_done(VarlinkConn *c);

/* Appends received bytes (what varlink_conn_read() does after read()). Returns 0 or -ENOMEM. */
int varlink_conn_feed(VarlinkConn *c, const void *data, size_t n);
/* One read() of at most chunk bytes. Returns the byte count, 0 at end of file, or a negative errno
 * (-EAGAIN when nothing is there on a non-blocking socket). */
ssize_t varlink_conn_read(VarlinkConn *c, size_t chunk);

/* Cuts the next complete message from what was read. Returns 1 and the message (NUL-terminated, valid
 * until the next feed or read) in *ret, 0 when no complete message is there yet, or -EMSGSIZE when
 * the message is longer than in_max (with or without its NUL yet): the stream cannot be resynchronised
 * and the connection should end. */
int varlink_conn_next(VarlinkConn *c, char **ret, size_t *ret_len);
/* Forgets every byte read but not yet returned as a message (a connection whose further input
 * is ignored). */
void varlink_conn_discard_input(VarlinkConn *c);
/* Bytes read but not yet returned as messages. */
static inline size_t varlink_conn_pending_in(const VarlinkConn *c) {
        return c->in_len - c->in_start;
}

/* Queues raw bytes for writing. Returns 0, -ENOBUFS when that would queue more than out_max (nothing
 * is queued then), or -ENOMEM. */
int varlink_conn_queue(VarlinkConn *c, const void *data, size_t n);
/* Queues the compact JSON text of j, followed by the NUL that ends a message when terminate. Partial
 * text is removed again on failure. Returns 0, -ENOBUFS or -ENOMEM. */
int varlink_conn_queue_json(VarlinkConn *c, const json_t *j, bool terminate);
/* Queued bytes not yet written. */
static inline size_t varlink_conn_pending_out(const VarlinkConn *c) {
        return c->out_len - c->out_start;
}
/* Writes what the socket takes (send() with MSG_NOSIGNAL, never blocking). Returns the number of
 * bytes written (0 when the socket is full or nothing is queued), or a negative errno (-EPIPE,
 * -ECONNRESET: the peer is gone). */
ssize_t varlink_conn_write(VarlinkConn *c);

/* --- messages ------------------------------------------------------------------------------------ */

/* Parses one message. Returns 0 and the object in *ret, -ELOOP when it nests deeper than depth_max
 * (checked before parsing), or -EBADMSG when it is not a JSON object. */
int varlink_message_parse(const char *msg, size_t len, unsigned depth_max, json_t **ret);

typedef struct VarlinkCall {
        const char *method;      /* borrowed from the message */
        json_t *parameters;      /* borrowed; an empty object when the call had none */
        bool oneway, more, upgrade;
} VarlinkCall;

/* Reads a call out of a parsed message. Returns 0, -EBADMSG when "method" is missing or not a string,
 * or -EINVAL with the offending field's name in *bad_field ("parameters", "oneway", ...). The
 * message must outlive the call. */
int varlink_call_parse(json_t *msg, VarlinkCall *ret, const char **bad_field);

/* {"method": method, "parameters": parameters, ...}; parameters is stolen (NULL: {}). */
json_t *varlink_call_new(const char *method, json_t *parameters, bool more, bool oneway);
/* {"parameters": parameters}; parameters stolen (NULL: {}). */
json_t *varlink_reply_new(json_t *parameters);
/* {"error": error, "parameters": parameters}; parameters stolen (NULL: {}). */
json_t *varlink_error_new(const char *error, json_t *parameters);

/* Reads a reply: *error is the error name or NULL, *parameters the parameters object (borrowed; never
 * NULL on success), *continues whether more replies follow. Returns 0 or -EBADMSG. */
int varlink_reply_parse(json_t *msg, const char **error, json_t **parameters, bool *continues);
