/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Varlink framing: NUL-terminated JSON messages on a stream socket, and the message shapes. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "json-util.h"
#include "varlink.h"

void varlink_conn_init(VarlinkConn *c, int fd, size_t in_max, size_t out_max) {
        *c = (VarlinkConn){
                .fd = fd,
                .in_max = in_max,
                .out_max = out_max,
        };
}

void varlink_conn_done(VarlinkConn *c) {
        c->in = mfree(c->in);
        c->out = mfree(c->out);
        c->in_start = c->in_len = c->in_alloc = c->in_scan = 0;
        c->out_start = c->out_len = c->out_alloc = 0;
        c->fd = safe_close(c->fd);
}

/* Makes room for n more bytes after in_len, first moving what is unconsumed to the front. */
static int in_reserve(VarlinkConn *c, size_t n) {
        size_t used;

        if (c->in_start > 0) {
                used = c->in_len - c->in_start;
                memmove(c->in, c->in + c->in_start, used);
                c->in_scan -= c->in_start;
                c->in_len = used;
                c->in_start = 0;
        }
        if (n > SIZE_MAX - c->in_len - 1)
                return -ENOMEM;
        /* One byte more than asked for, so that a message can always be NUL-terminated in place. */
        if (c->in_len + n + 1 > c->in_alloc) {
                size_t na = c->in_alloc ? c->in_alloc : 4096;
                char *nb;

                while (na < c->in_len + n + 1)
                        na = na > SIZE_MAX / 2 ? c->in_len + n + 1 : na * 2;
                nb = realloc(c->in, na);
                if (!nb)
                        return -ENOMEM;
                c->in = nb;
                c->in_alloc = na;
        }
        return 0;
}

int varlink_conn_feed(VarlinkConn *c, const void *data, size_t n) {
        int r;

        if (n == 0)
                return 0;
        r = in_reserve(c, n);
        if (r < 0)
                return r;
        memcpy(c->in + c->in_len, data, n);
        c->in_len += n;
        return 0;
}

ssize_t varlink_conn_read(VarlinkConn *c, size_t chunk) {
        ssize_t n;
        int r;

        r = in_reserve(c, chunk);
        if (r < 0)
                return r;
        n = read(c->fd, c->in + c->in_len, chunk);
        if (n < 0)
                return negative_errno(); /* -EAGAIN when nothing is there */
        c->in_len += (size_t) n;
        return n;
}

int varlink_conn_next(VarlinkConn *c, char **ret, size_t *ret_len) {
        char *nul;
        size_t len;

        nul = c->in_scan < c->in_len ? memchr(c->in + c->in_scan, '\0', c->in_len - c->in_scan) : NULL;
        if (!nul) {
                c->in_scan = c->in_len;
                /* Too long already, whatever follows. */
                if (c->in_len - c->in_start > c->in_max)
                        return -EMSGSIZE;
                return 0;
        }
        len = (size_t) (nul - (c->in + c->in_start));
        if (len > c->in_max)
                return -EMSGSIZE;
        *ret = c->in + c->in_start;
        if (ret_len)
                *ret_len = len;
        c->in_start += len + 1;
        c->in_scan = c->in_start;
        if (c->in_start == c->in_len)
                c->in_start = c->in_len = c->in_scan = 0; /* the message stays readable until the next read */
        return 1;
}

void varlink_conn_discard_input(VarlinkConn *c) {
        c->in_start = c->in_len = c->in_scan = 0;
}

int varlink_conn_queue(VarlinkConn *c, const void *data, size_t n) {
        size_t pending = c->out_len - c->out_start;

        if (n > c->out_max || pending > c->out_max - n)
                return -ENOBUFS;
        if (n == 0)
                return 0;
        if (c->out_start > 0 && c->out_len + n > c->out_alloc) {
                memmove(c->out, c->out + c->out_start, pending);
                c->out_len = pending;
                c->out_start = 0;
        }
        if (c->out_len + n > c->out_alloc) {
                size_t na = c->out_alloc ? c->out_alloc : 4096;
                char *nb;

                while (na < c->out_len + n)
                        na *= 2; /* out_max bounds this long before it could overflow */
                nb = realloc(c->out, na);
                if (!nb)
                        return -ENOMEM;
                c->out = nb;
                c->out_alloc = na;
        }
        memcpy(c->out + c->out_len, data, n);
        c->out_len += n;
        return 0;
}

typedef struct DumpState {
        VarlinkConn *c;
        int error;
} DumpState;

static int dump_cb(const char *buffer, size_t size, void *data) {
        DumpState *d = data;

        d->error = varlink_conn_queue(d->c, buffer, size);
        return d->error < 0 ? -1 : 0;
}

int varlink_conn_queue_json(VarlinkConn *c, const json_t *j, bool terminate) {
        DumpState d = { .c = c };
        size_t old_len = c->out_len, old_start = c->out_start;
        int r;

        /* Dumped straight into the queue: no intermediate copy of a large reply. */
        if (json_dump_callback(j, dump_cb, &d, JSON_COMPACT) < 0)
                r = d.error < 0 ? d.error : -ENOMEM;
        else
                r = terminate ? varlink_conn_queue(c, "", 1) : 0;
        if (r < 0) {
                /* Take the partial text back out (the queue may have been compacted meanwhile). */
                size_t added = (c->out_len - c->out_start) - (old_len - old_start);

                c->out_len -= added;
        }
        return r;
}

ssize_t varlink_conn_write(VarlinkConn *c) {
        size_t pending = c->out_len - c->out_start;
        ssize_t n;

        if (pending == 0)
                return 0;
        n = send(c->fd, c->out + c->out_start, pending, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) {
                if (errno == EAGAIN || errno == EINTR)
                        return 0;
                return negative_errno();
        }
        c->out_start += (size_t) n;
        if (c->out_start == c->out_len)
                c->out_start = c->out_len = 0;
        return n;
}

/* --- messages ------------------------------------------------------------------------------------ */

int varlink_message_parse(const char *msg, size_t len, unsigned depth_max, json_t **ret) {
        json_error_t err;
        json_t *j;

        /* jansson would go 2048 levels deep before refusing. */
        if (json_nesting_exceeds(msg, len, depth_max))
                return -ELOOP;
        j = json_loadb(msg, len, JSON_REJECT_DUPLICATES, &err);
        if (!j)
                return -EBADMSG;
        if (!json_is_object(j)) {
                json_decref(j);
                return -EBADMSG;
        }
        *ret = j;
        return 0;
}

static int get_flag(json_t *msg, const char *key, bool *ret) {
        json_t *v = json_object_get(msg, key);

        if (!v || json_is_null(v)) {
                *ret = false;
                return 0;
        }
        if (!json_is_boolean(v))
                return -EINVAL;
        *ret = json_is_true(v);
        return 0;
}

int varlink_call_parse(json_t *msg, VarlinkCall *ret, const char **bad_field) {
        json_t *m, *p;

        m = json_object_get(msg, "method");
        if (!json_is_string(m) || json_string_length(m) == 0)
                return -EBADMSG;
        p = json_object_get(msg, "parameters");
        if (!p || json_is_null(p)) {
                /* The message outlives the call: park an empty object in it. */
                p = json_object();
                if (!p || json_object_set_new(msg, "parameters", p) < 0)
                        return -ENOMEM;
        } else if (!json_is_object(p)) {
                *bad_field = "parameters";
                return -EINVAL;
        }
        *ret = (VarlinkCall){ .method = json_string_value(m), .parameters = p };
        if (get_flag(msg, "oneway", &ret->oneway) < 0) {
                *bad_field = "oneway";
                return -EINVAL;
        }
        if (get_flag(msg, "more", &ret->more) < 0) {
                *bad_field = "more";
                return -EINVAL;
        }
        if (get_flag(msg, "upgrade", &ret->upgrade) < 0) {
                *bad_field = "upgrade";
                return -EINVAL;
        }
        return 0;
}

json_t *varlink_call_new(const char *method, json_t *parameters, bool more, bool oneway) {
        json_t *j = json_object();

        if (!parameters)
                parameters = json_object();
        if (!j || !parameters || json_object_set_new(j, "method", json_string(method)) < 0 ||
            json_object_set_new(j, "parameters", parameters) < 0) {
                json_decref(j);
                return NULL;
        }
        if ((more && json_object_set_new(j, "more", json_true()) < 0) ||
            (oneway && json_object_set_new(j, "oneway", json_true()) < 0)) {
                json_decref(j);
                return NULL;
        }
        return j;
}

json_t *varlink_reply_new(json_t *parameters) {
        json_t *j = json_object();

        if (!parameters)
                parameters = json_object();
        if (!j || !parameters || json_object_set_new(j, "parameters", parameters) < 0) {
                json_decref(j);
                return NULL;
        }
        return j;
}

json_t *varlink_error_new(const char *error, json_t *parameters) {
        json_t *j = varlink_reply_new(parameters);

        if (j && json_object_set_new(j, "error", json_string(error)) < 0) {
                json_decref(j);
                return NULL;
        }
        return j;
}

int varlink_reply_parse(json_t *msg, const char **error, json_t **parameters, bool *continues) {
        json_t *e = json_object_get(msg, "error"), *p = json_object_get(msg, "parameters"),
               *c = json_object_get(msg, "continues");

        if (e && !json_is_string(e))
                return -EBADMSG;
        if (p && !json_is_null(p) && !json_is_object(p))
                return -EBADMSG;
        if (c && !json_is_boolean(c))
                return -EBADMSG;
        if (!p || json_is_null(p)) {
                p = json_object();
                if (!p || json_object_set_new(msg, "parameters", p) < 0)
                        return -ENOMEM;
        }
        *error = e ? json_string_value(e) : NULL;
        *parameters = p;
        if (continues)
                *continues = c && json_is_true(c);
        return 0;
}
