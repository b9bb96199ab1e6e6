/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The kinds of process event and their names: the one list behind the daemon's --journal-events,
 * the Events method's "kinds", procwatchctl's --kind and its shell completion. Pure. */
#pragma once

#include <stdbool.h>

/* The process event kinds, in the order of the enum, with their names: the one list, from which the
 * enum, the names table and PW_EVENT_KINDS_TEXT are made. */
#define PW_EVENT_KIND_LIST(X)                                                                             \
        X(PW_EVENT_FORK, "fork")                                                                          \
        X(PW_EVENT_EXEC, "exec")                                                                          \
        X(PW_EVENT_UID, "uid")                                                                            \
        X(PW_EVENT_GID, "gid")                                                                            \
        X(PW_EVENT_SID, "sid")                                                                            \
        X(PW_EVENT_PTRACE, "ptrace")                                                                      \
        X(PW_EVENT_COMM, "comm")                                                                          \
        X(PW_EVENT_COREDUMP, "coredump")                                                                  \
        X(PW_EVENT_EXIT, "exit")

#define PW_EVENT_KIND_ENUM_(e, name) e,
typedef enum PwEventKind {
        PW_EVENT_NONE, /* the kernel's ack of a (un)subscription ("ack"), never a process event */
        PW_EVENT_KIND_LIST(PW_EVENT_KIND_ENUM_)
        _PW_EVENT_KIND_MAX,
} PwEventKind;

/* " fork exec uid gid sid ptrace comm coredump exit", each after a space: a string literal for help
 * texts and error messages. */
#define PW_EVENT_KIND_WORD_(e, name) " " name
#define PW_EVENT_KINDS_WORDS PW_EVENT_KIND_LIST(PW_EVENT_KIND_WORD_)

/* A set of kinds is a bit mask of these. */
#define PW_EVENT_KIND_BIT(k) (1U << (unsigned) (k))
/* Every process event kind (the ack is none). */
#define PW_EVENT_KINDS_ALL (((1U << _PW_EVENT_KIND_MAX) - 1U) & ~PW_EVENT_KIND_BIT(PW_EVENT_NONE))

/* "fork", "exec", ..., "ack" for PW_EVENT_NONE; NULL beyond the enum. */
const char *pw_event_kind_to_string(PwEventKind k);
PwEventKind pw_event_kind_from_string(const char *s); /* -1 (as PwEventKind) if unknown */
/* Is k a process event kind (not the ack, not out of range)? */
bool pw_event_kind_is_process_event(PwEventKind k);

/* "exec,exit,fork", or "all": 0 and the PW_EVENT_KIND_BIT()s in *ret, or -EINVAL (an empty list,
 * an empty word, an unknown kind, "ack"). */
int pw_event_kinds_from_string(const char *s, unsigned *ret);
/* The kinds in the order of the enum, joined by sep ("all" for PW_EVENT_KINDS_ALL when all_word):
 * malloc'ed, NULL when out of memory. */
char *pw_event_kinds_to_string(unsigned kinds, const char *sep, bool all_word);
