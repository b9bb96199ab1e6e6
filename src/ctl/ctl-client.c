/* SPDX-License-Identifier: GPL-2.0-or-later */
/* procwatchctl's Varlink client: one call at a time over a non-blocking socket and poll(). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl-client.h"

/* Bytes per read(): replies are often megabytes. */
#define CTL_READ_CHUNK (1024U * 1024U)
/* The largest request procwatchctl sends is a few hundred bytes. */
#define CTL_REQUEST_MAX (64U * 1024U)

int ctl_connect(CtlClient *c, const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd;

        if (strlen(path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        memcpy(sa.sun_path, path, strlen(path) + 1);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return negative_errno();
        /* Blocking connect: a local listener answers at once, or its backlog is full (EAGAIN). */
        if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 || fcntl(fd, F_SETFL, O_NONBLOCK) < 0) {
                int r = negative_errno();

                safe_close(fd);
                return r;
        }
        varlink_conn_init(&c->conn, fd, CTL_REPLY_MAX, CTL_REQUEST_MAX);
        c->deadline = now_usec(CLOCK_MONOTONIC) + CTL_TIMEOUT_USEC;
        return 0;
}

void ctl_disconnect(CtlClient *c) {
        varlink_conn_done(&c->conn);
}

void ctl_reply_done(CtlReply *r) {
        if (r->message)
                json_decref(r->message);
        *r = (CtlReply){};
}

/* Waits for events on the socket until the deadline. */
static int wait_for(CtlClient *c, short events) {
        struct pollfd p = { .fd = c->conn.fd, .events = events };
        usec_t now = now_usec(CLOCK_MONOTONIC);
        int n;

        if (now >= c->deadline)
                return -ETIMEDOUT;
        n = poll(&p, 1, (int) MIN((c->deadline - now + USEC_PER_MSEC - 1) / USEC_PER_MSEC, (usec_t) INT32_MAX));
        if (n < 0)
                return errno == EINTR ? 0 : negative_errno();
        return n == 0 ? -ETIMEDOUT : 0;
}

int ctl_send(CtlClient *c, const char *method, json_t *parameters, bool more) {
        _cleanup_(json_decrefp) json_t *call = varlink_call_new(method, parameters, more, false);
        int r;

        if (!call)
                return -ENOMEM;
        r = varlink_conn_queue_json(&c->conn, call, true);
        if (r < 0)
                return r;
        while (varlink_conn_pending_out(&c->conn) > 0) {
                ssize_t n = varlink_conn_write(&c->conn);

                if (n < 0)
                        return n == -EPIPE ? -ECONNRESET : (int) n;
                if (n == 0 && (r = wait_for(c, POLLOUT)) < 0)
                        return r;
        }
        return 0;
}

int ctl_read_message_progress(CtlClient *c, char **ret, size_t *ret_len,
                              int (*progress)(const char *so_far, size_t len, void *userdata), void *userdata) {
        for (;;) {
                ssize_t n;
                int r;

                r = varlink_conn_next(&c->conn, ret, ret_len);
                if (r < 0)
                        return r == -EMSGSIZE ? -EFBIG : r;
                if (r > 0)
                        return 0;
                if (progress && varlink_conn_pending_in(&c->conn) > 0) {
                        r = progress(c->conn.in + c->conn.in_start, varlink_conn_pending_in(&c->conn), userdata);
                        if (r < 0)
                                return r;
                }
                n = varlink_conn_read(&c->conn, CTL_READ_CHUNK);
                if (n == 0)
                        return -ECONNRESET;
                if (n == -EAGAIN && (r = wait_for(c, POLLIN)) < 0)
                        return r;
                if (n < 0 && n != -EAGAIN && n != -EINTR)
                        return (int) n;
        }
}

int ctl_read_message(CtlClient *c, char **ret, size_t *ret_len) {
        return ctl_read_message_progress(c, ret, ret_len, NULL, NULL);
}

int ctl_parse_reply(const char *m, size_t len, CtlReply *ret) {
        _cleanup_(json_decrefp) json_t *msg = NULL;
        const char *error;
        json_t *params;
        bool continues;
        int r;

        /* Replies nest no deeper than a Process: jansson's own limit is plenty. */
        r = varlink_message_parse(m, len, 2048, &msg);
        if (r < 0)
                return -EBADMSG;
        r = varlink_reply_parse(msg, &error, &params, &continues);
        if (r < 0)
                return r;
        *ret = (CtlReply){ .message = TAKE_PTR(msg), .error = error, .parameters = params, .continues = continues };
        return 0;
}

int ctl_read_reply(CtlClient *c, CtlReply *ret) {
        char *m;
        size_t len;
        int r;

        r = ctl_read_message(c, &m, &len);
        if (r < 0)
                return r;
        return ctl_parse_reply(m, len, ret);
}

int ctl_call(CtlClient *c, const char *method, json_t *parameters, CtlReply *ret) {
        int r;

        r = ctl_send(c, method, parameters, false);
        if (r < 0)
                return r;
        return ctl_read_reply(c, ret);
}

int ctl_exit_status_for_connect(int error) {
        switch (error) {
        case -ENOENT:
        case -ECONNREFUSED:
        case -ENOTDIR:
                return CTL_EXIT_NOT_RUNNING;
        case -EACCES:
        case -EPERM:
                return CTL_EXIT_PERMISSION;
        default:
                return CTL_EXIT_FAILURE;
        }
}
