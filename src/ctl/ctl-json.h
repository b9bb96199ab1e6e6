/* SPDX-License-Identifier: GPL-2.0-or-later */
/* procwatchctl ps --json and tree --json without jansson: the daemon's reply text, checked and
 * re-indented as it stands, each record with its "user" added, the tree nested by parent_id.
 *
 * Why. Parsing a reply over 30,000 processes into jansson objects, nesting them and dumping them
 * again cost procwatchctl several times what the daemon spends. This scans the text once, keeps
 * only where each record and its few looked-at fields are, and writes the output straight from the
 * reply's bytes.
 *
 * The output is byte for byte what the object path prints (json_dumpf(..., JSON_INDENT(2)) of the
 * records after ctl_add_user() and, for tree, ctl_nest_tree()): tested. That holds for text in the
 * form jansson writes; anything else (a real number, an escape jansson would not write, an integer
 * beyond 64 bits, "-0", a duplicate key where it matters) makes these functions return -EDOM, and
 * the caller takes the object path. Text that is not JSON gives -EBADMSG. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* msg (len bytes, no NUL needed) is a whole Varlink reply: {"parameters":{"processes":[...]}}. An
 * error reply, or one without that array, gives -ENOMSG (the caller takes the object path, which
 * reports it). Writes the array of records (ps) or of the tree's roots (tree) to f, then a newline.
 * Returns 0, -EBADMSG, -EDOM, -ENOMSG, -ENOMEM or -EIO (writing failed). */
int ctl_json_print_processes(FILE *f, const char *msg, size_t len, bool nest_tree, bool resolve_names);

/* The same, with the records scanned while the reply is still coming: a reply over 30,000 processes
 * takes the daemon tens of milliseconds to write, time in which its first pass is done. */
typedef struct CtlJsonReply CtlJsonReply;

int ctl_json_reply_new(CtlJsonReply **ret);
CtlJsonReply *ctl_json_reply_free(CtlJsonReply *x);
static inline void ctl_json_reply_freep(CtlJsonReply **x) {
        ctl_json_reply_free(*x);
}
/* msg (len bytes) is what has come of the reply so far, its NUL not yet; the buffer may have moved
 * since the last call, its bytes not. Scans the records that are complete; what does not scan is
 * left to ctl_json_reply_print(), which reports it. Returns 0 or -ENOMEM. */
int ctl_json_reply_feed(CtlJsonReply *x, const char *msg, size_t len);
/* As ctl_json_print_processes() for the whole message msg, which begins with what was fed. Once per
 * CtlJsonReply. */
int ctl_json_reply_print(CtlJsonReply *x, FILE *f, const char *msg, size_t len, bool nest_tree, bool resolve_names);
