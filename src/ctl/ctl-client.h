/* SPDX-License-Identifier: GPL-2.0-or-later */
/* procwatchctl's side of the Varlink socket: connect, one call, one reply. Blocking, with a deadline. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "macro.h"
#include "time-util.h"
#include "varlink.h"

/* procwatchctl's exit statuses (procwatchctl(1)). */
#define CTL_EXIT_SUCCESS 0
#define CTL_EXIT_FAILURE 1
#define CTL_EXIT_USAGE 2
#define CTL_EXIT_NOT_RUNNING 3  /* no socket, or nobody listening on it */
#define CTL_EXIT_PERMISSION 4   /* the socket refused us */
#define CTL_EXIT_NO_SUCH_PROCESS 5

/* A reply is read whole before it is printed; a tree of 100,000 processes is about 100 MiB. */
#define CTL_REPLY_MAX (1024U * 1024U * 1024U)
/* How long a call may take, connection to last byte. */
#define CTL_TIMEOUT_USEC (60 * USEC_PER_SEC)

typedef struct CtlClient {
        VarlinkConn conn;
        usec_t deadline;   /* CLOCK_MONOTONIC */
} CtlClient;

/* Connects to the socket at path. Returns 0 or a negative errno: -ENOENT or -ECONNREFUSED when no
 * daemon listens there, -EACCES when not allowed. */
int ctl_connect(CtlClient *c, const char *path);
void ctl_disconnect(CtlClient *c);

typedef struct CtlReply {
        json_t *message;         /* owned */
        const char *error;       /* the Varlink error name, or NULL */
        json_t *parameters;      /* borrowed from message; never NULL after success */
        bool continues;          /* more replies follow (a call made with "more") */
} CtlReply;

void ctl_reply_done(CtlReply *r);

/* Sends one call (parameters stolen; NULL: {}) and reads its reply. Returns 0 (the reply may carry
 * an error: see ret->error), -ECONNRESET when the daemon hung up without a reply (it refuses
 * connections beyond its limit that way), -ETIMEDOUT, -EBADMSG for a reply that is not Varlink, or
 * another negative errno. */
int ctl_call(CtlClient *c, const char *method, json_t *parameters, CtlReply *ret);

/* The two halves of ctl_call(), for calls answered by a stream (Events): sends a call (parameters
 * stolen), and reads the next reply. Both wait no longer than c->deadline; set it far ahead for a
 * stream that lasts. Return values as ctl_call(). */
int ctl_send(CtlClient *c, const char *method, json_t *parameters, bool more);
int ctl_read_reply(CtlClient *c, CtlReply *ret);

/* The next message as it came, unparsed (NUL-terminated, valid until the next read), for replies
 * printed without building objects (ctl-json.h); and the parse ctl_read_reply() does with it.
 * Return values as ctl_call(). */
int ctl_read_message(CtlClient *c, char **ret, size_t *ret_len);
/* The same, calling progress() with the message's bytes so far (no NUL yet; the buffer may move from
 * call to call) whenever more came and it is still incomplete. A negative return from progress()
 * ends the read with it. */
int ctl_read_message_progress(CtlClient *c, char **ret, size_t *ret_len,
                              int (*progress)(const char *so_far, size_t len, void *userdata), void *userdata);
int ctl_parse_reply(const char *m, size_t len, CtlReply *ret);

/* The exit status for a failed connect. */
int ctl_exit_status_for_connect(int error);
