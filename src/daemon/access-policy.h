/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Who sees what: the one access policy for every method and every streamed event. Pure, apart from
 * pw_caller_from_socket() at the edge.
 *
 * A caller sees what /proc would show it, read from the kernel's fs/proc/base.c:
 *
 * - Existence, and what every /proc/PID file that is world-readable shows (cmdline, comm, stat,
 *   status, cgroup; here pid, argv, comm, ids, session, times, cgroup, units, exit): to everyone,
 *   unless /proc is mounted with hidepid=. Then has_pid_permissions() decides: with hidepid=1
 *   (noaccess), 2 (invisible) a member of the mount's gid= group sees every process, anyone else
 *   only the processes ptrace_may_access(PTRACE_MODE_READ_FSCREDS) allows; with hidepid=4
 *   (ptraceable) that rule alone, gid= not considered. hidepid=noaccess lists /proc/PID but
 *   refuses its files; the daemon hides such a record whole, a bare pid being all /proc would give.
 *
 * - The ptrace-guarded data (/proc/PID/exe, and cwd, root, environ, fd, which the daemon does not
 *   keep): __ptrace_may_access() with PTRACE_MODE_READ_FSCREDS: the caller's fsuid equals the
 *   target's real, effective and saved uid, its fsgid the real, effective and saved gid, and the
 *   target's mm is dumpable (get_dumpable() == SUID_DUMP_USER; a kernel thread has no mm); or the
 *   caller has CAP_SYS_PTRACE. Yama's ptrace_scope restricts attaching only, not reading.
 *   The tree knows the saved ids and dumpability as /proc showed them at the last read
 *   (PwProcess.creds_read); a UID or GID event since, or no read at all, counts as a mismatch.
 *   A process looking at itself (the kernel's same-thread-group case) is not recognised: a pid
 *   taken at connect can be reused.
 *
 * - What a process cost (taskstats, resources.h), read as /proc shows the same figures: CPU times,
 *   faults (stat), peak memory and context switches (status), CPU and block-I/O delays (schedstat,
 *   stat's delayacct_blkio_ticks) are world-readable, so they go with the record. I/O
 *   (/proc/PID/io, do_io_accounting()) is ptrace-guarded, and the other delays (swap-in, memory
 *   reclaim, thrashing, compaction, write-protect copy, IRQ) have no /proc file at all (taskstats
 *   itself needs CAP_NET_ADMIN): both follow the ptrace-read rule, else null.
 *
 * - Subtree totals (a process's own and its exited descendants' summed cost) must not tell a
 *   caller about processes it could not read one by one, and a sum cannot be taken apart after the
 *   summed records are gone. So the tree keeps, per subtree, whose processes were summed (one owner
 *   whose ids would pass the ptrace-read rule, or several): a caller with CAP_SYS_PTRACE, or whose
 *   ids are that one owner's, gets the whole total; a caller that sees every record (no hidepid,
 *   gid= member) gets it with the I/O and the guarded delays null; anyone else gets null.
 *
 * - No leak through relatives: a caller that does not see every process gets ppid 0 and parent_id
 *   null unless it sees the parent record, children only those it sees, original_ppid and tracer
 *   null, and an event's parent_pid null unless it sees the parent.
 *
 * - argv: in full to root (uid 0) and to the process's owner (the caller's uid is the process's
 *   real and effective uid); to every other caller as the journal's --journal-argv and
 *   --journal-redact say (none: no words; redact: values replaced by "***").
 *
 * - Global counters (Stats) stay public.
 *
 * The caller's credentials are SO_PEERCRED's (the effective ids when it connected, which is what
 * fsuid and fsgid are unless set apart with setfsuid()) and SO_PEERGROUPS's supplementary groups.
 * CAP_SYS_PTRACE counts only for a caller whose effective uid was 0 when it connected, and whose
 * effective capability set holds it when the daemon accepts the connection (CapEff of
 * /proc/PID/status, read while a pidfd from SO_PEERPIDFD shows that same process still alive, so a
 * reused pid cannot lend its capabilities). A non-root caller with CAP_SYS_PTRACE (file
 * capabilities) is therefore treated as without it: it sees less than /proc would show it, never
 * more. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "journal-filter.h"
#include "proctree.h"
#include "resources.h"

typedef enum PwHidePid {
        PW_HIDEPID_OFF = 0,
        PW_HIDEPID_NOACCESS = 1,
        PW_HIDEPID_INVISIBLE = 2,
        PW_HIDEPID_PTRACEABLE = 4,
} PwHidePid;

/* What of /proc's mount options decides visibility. */
typedef struct PwProcMount {
        PwHidePid hidepid;
        bool has_gid;
        uint32_t gid;           /* gid=: its members see every process (not with hidepid=4) */
} PwProcMount;

/* hidepid= and gid= of the topmost /proc mount in the text of /proc/self/mountinfo. Returns 0, or
 * -EINVAL when no /proc mount is listed or hidepid= has a value the kernel does not take (then
 * *ret says hidepid=invisible: when in doubt, hide). */
int pw_parse_proc_mount(const char *mountinfo, PwProcMount *ret);
const char *pw_hidepid_to_string(PwHidePid h);
/* The edge: /proc's mount options, from /proc/self/mountinfo. A /proc mount whose options cannot be
 * read fully counts as hidepid=invisible: when in doubt, hide. Returns 0 or a negative errno. */
int pw_proc_mount_read(PwProcMount *ret);

/* Supplementary groups kept per caller; one with more is taken to be in none of those beyond. */
#define PW_CALLER_GROUPS_MAX 64U

typedef struct PwCaller {
        pid_t pid;              /* 0: unknown */
        uint32_t uid, gid;      /* SO_PEERCRED; UINT32_MAX when unknown */
        uint32_t groups[PW_CALLER_GROUPS_MAX];
        size_t n_groups;
        bool cap_sys_ptrace;    /* as set out at the top */
} PwCaller;

/* A caller nothing is known of: sees what an unknown user would. */
#define PW_CALLER_UNKNOWN ((PwCaller){ .uid = UINT32_MAX, .gid = UINT32_MAX })

typedef struct PwAccessPolicy {
        PwProcMount proc;
        /* argv for callers other than root and the owner: mode and --journal-redact patterns
         * (borrowed). NULL: full. */
        const PwJournalFilter *argv_privacy;
} PwAccessPolicy;

typedef struct PwAccess {
        bool visible;           /* the record at all */
        bool ptrace_read;       /* exe */
        PwArgvMode argv;        /* PW_ARGV_FULL, PW_ARGV_NONE or PW_ARGV_REDACT for this caller */
} PwAccess;

/* The kernel's ptrace-read rule for caller on p, as set out at the top. */
bool pw_access_ptrace_read(const PwCaller *caller, const PwProcess *p);
/* The one uid and gid a caller without CAP_SYS_PTRACE must have to pass the ptrace-read rule on p;
 * false when no such caller does (ids set apart, not dumpable, or not known). */
bool pw_access_ptrace_owner(const PwProcess *p, uint32_t *ret_uid, uint32_t *ret_gid);
/* Does the caller see every record (no hidepid, a gid= member, or CAP_SYS_PTRACE)? */
bool pw_access_sees_all(const PwAccessPolicy *pol, const PwCaller *caller);
/* Does the caller see p at all? */
bool pw_access_visible(const PwAccessPolicy *pol, const PwCaller *caller, const PwProcess *p);
/* Everything about p for caller. */
PwAccess pw_access_check(const PwAccessPolicy *pol, const PwCaller *caller, const PwProcess *p);
typedef enum PwSubtreeAccess {
        PW_SUBTREE_HIDDEN,   /* subtree_resources null */
        PW_SUBTREE_PUBLIC,   /* without I/O and the guarded delays */
        PW_SUBTREE_FULL,
} PwSubtreeAccess;

/* How much of p's subtree totals the caller may read, as set out at the top. policy NULL: all. */
PwSubtreeAccess pw_access_subtree(const PwAccessPolicy *pol, const PwCaller *caller, const PwProcess *p);

/* argv as this caller may read it: *ret_argv points either into p (full) or to a malloc'ed copy in
 * *ret_free; with PW_ARGV_NONE, NULL. Returns 0 or -ENOMEM. */
int pw_access_argv(const PwAccessPolicy *pol, PwArgvMode mode, const PwProcess *p, const char **ret_argv,
                   size_t *ret_len, char **ret_free);

/* Whether CapEff in the text of /proc/PID/status holds CAP_SYS_PTRACE, and its effective uid. Returns
 * 0, or -EBADMSG. */
int pw_parse_status_cap_ptrace(const char *status, bool *ret_cap, uint32_t *ret_euid);

/* The edge: the credentials of the peer of a connected AF_UNIX socket, as set out at the top. A
 * failure leaves the caller with fewer rights, never more; returns 0 or a negative errno
 * (then *ret is PW_CALLER_UNKNOWN). */
int pw_caller_from_socket(int fd, PwCaller *ret);
