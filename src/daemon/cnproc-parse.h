/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The proc-connector decoder: bytes in, a typed event out. Pure: no I/O, no logging, no clocks.
 *
 * One kernel datagram is one netlink message: nlmsghdr, struct cn_msg, struct proc_event. Every length
 * (nlmsg_len, cn_msg.len, the size the event kind needs) and the connector id are checked before a
 * field is read; nothing is read past the buffer, whatever it holds. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "event-kind.h"

/* Why a message was rejected; each has its own counter. */
typedef enum PwParseError {
        PW_PARSE_TRUNCATED,     /* shorter than the headers or the payload its kind needs */
        PW_PARSE_BAD_TYPE,      /* nlmsg_type is not NLMSG_DONE */
        PW_PARSE_BAD_ID,        /* cn_msg.id is not CN_IDX_PROC / CN_VAL_PROC */
        PW_PARSE_BAD_LEN,       /* cn_msg.len runs past the netlink message */
        PW_PARSE_BAD_CPU,       /* proc_event.cpu beyond the possible CPUs */
        PW_PARSE_UNKNOWN_KIND,  /* proc_event.what names no kind we know */
        _PW_PARSE_ERROR_MAX,
} PwParseError;

/* cpu of acks from old kernels, which did not go through the per-CPU counter. */
#define PW_CPU_NONE UINT32_MAX

/* Length of a comm plus its terminating NUL (TASK_COMM_LEN). */
#define PW_COMM_MAX 16

typedef struct PwEvent {
        PwEventKind kind;
        uint32_t cpu;          /* PW_CPU_NONE for an old kernel's ack */
        uint32_t seq;          /* cn_msg.seq: per-CPU counter */
        uint32_t cn_ack;       /* cn_msg.ack: the request's ack + 1 in an ack */
        uint64_t timestamp_ns; /* CLOCK_MONOTONIC */
        union {
                struct {
                        uint32_t err; /* positive errno, 0 on success */
                } ack;
                struct {
                        pid_t parent_pid, parent_tgid; /* real_parent: for a thread, its process's parent */
                        pid_t child_pid, child_tgid;   /* child_pid != child_tgid: a new thread */
                } fork;
                struct {
                        pid_t pid, tgid;
                } exec, sid;
                struct {
                        pid_t pid, tgid;
                        uint32_t real, effective; /* uid or gid, by kind */
                } id;
                struct {
                        pid_t pid, tgid;
                        pid_t tracer_pid, tracer_tgid; /* 0: detached */
                } ptrace;
                struct {
                        pid_t pid, tgid;
                        char comm[PW_COMM_MAX + 1]; /* always NUL-terminated, may hold any other byte */
                } comm;
                struct {
                        pid_t pid, tgid;
                        pid_t parent_pid, parent_tgid;
                } coredump;
                struct {
                        pid_t pid, tgid;
                        uint32_t code;  /* a wait status: WIFEXITED(), WTERMSIG(), 0x80 = core dumped */
                        int32_t signal; /* exit_signal: SIGCHLD for processes, -1 for threads */
                        pid_t parent_pid, parent_tgid; /* 0 when already reaped */
                } exit;
        };
} PwEvent;

/* Decodes one netlink message of at most len bytes at buf (which need not be aligned). ncpus is the
 * number of possible CPUs: an event naming a CPU at or above it is rejected, except the old kernels'
 * ack with PW_CPU_NONE. On success fills *ret, sets *consumed to the aligned message length (so a
 * caller can walk a buffer holding several) and returns 0. On failure returns -EBADMSG and sets
 * *reason; *consumed is then the number of bytes to skip, or 0 when the rest of buf is unusable. */
int pw_event_parse(const void *buf, size_t len, uint32_t ncpus, PwEvent *ret, size_t *consumed,
                   PwParseError *reason);

const char *pw_parse_error_to_string(PwParseError e);

/* The pid whose process an event is about (tgid), or 0 for an ack. */
pid_t pw_event_tgid(const PwEvent *ev);
/* The task (thread) an event is about: the new task for a fork; 0 for an ack. */
pid_t pw_event_tid(const PwEvent *ev);

/* Finds the Drops column of our socket's line (matched by inode) in the text of /proc/net/netlink.
 * Returns 0 and the count; -ENOENT when no line has that inode with a readable Drops value;
 * -EBADMSG when the header lacks the columns. */
int pw_parse_netlink_drops(const char *text, unsigned long inode, uint64_t *ret);

/* Parses a CPU list such as /sys/devices/system/cpu/possible ("0-3", "0,2-5\n") and returns the
 * number of CPU slots it spans (highest + 1), or -EINVAL. */
int pw_parse_cpu_count(const char *text, uint32_t *ret);

/* Formats an event as one line of "key=value" pairs, the --print-events form (without newline):
 *   ts=NS cpu=N seq=N event=KIND <fields of the kind>
 * comm bytes outside printable ASCII, and space, '\\' and '=', are written as \xNN, so a line always
 * splits cleanly on spaces. Returns the length written (truncated to size - 1 if needed). */
size_t pw_event_format(const PwEvent *ev, char *buf, size_t size);
