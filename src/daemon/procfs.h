/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Reading processes from /proc: pure parsers over file contents, and readers that go through a
 * /proc/PID directory fd whose start time is checked first, so a reused pid never lends its data to
 * another process. The proc root is a parameter (a dirfd), so tests run the same code on a fake
 * /proc folder. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cnproc-parse.h"

/* argv kept per process: whole up to this, truncated (and marked) beyond. */
#define PW_ARGV_MAX_DEFAULT (64U * 1024U)
/* exe and cgroup paths are shorter than this (the kernel's PATH_MAX); a longer one is treated as
 * unreadable (exe_error -ENAMETOOLONG, cgroup NULL), never truncated. */
#define PW_PATH_MAX 4096U

/* What /proc/PID/stat gives us. */
typedef struct PwStat {
        pid_t pid;
        char comm[PW_COMM_MAX + 1]; /* between the first '(' and the LAST ')': comm may hold ')';
                                     * cut to PW_COMM_MAX (kthread/workqueue names are longer) */
        char state;
        pid_t ppid;
        pid_t sid;
        uint32_t flags;             /* PF_KTHREAD (0x00200000) marks a kernel thread */
        uint64_t starttime_ticks;   /* field 22: CLOCK_BOOTTIME in USER_HZ ticks */
} PwStat;

/* Everything read about one process. Strings are malloc'ed (free with pw_proc_info_done()). */
typedef struct PwProcInfo {
        PwStat stat;
        uint64_t start_ns;         /* starttime converted to CLOCK_MONOTONIC ns (at the offset now) */
        uint64_t start_boot_ns;    /* starttime in CLOCK_BOOTTIME ns: unchanged across a suspend, so
                                    * this, not start_ns, identifies the process */
        bool kthread;
        bool have_status;
        uint32_t uid, euid, gid, egid; /* real and effective, from /proc/PID/status */
        uint32_t suid, sgid;       /* saved, from the same lines */
        /* Whether the kernel's ptrace-read rule can pass for the process's own user: its mm is
         * dumpable (SUID_DUMP_USER). The kernel owns /proc/PID/status by root when it is not
         * (task_dump_owner()), and by the effective uid when it is; with euid 0 the two cannot be told
         * apart, and this says false. Read with the status. */
        bool dumpable;
        bool have_owner;           /* PW_READ_OWNER: status_owner was read */
        uint32_t status_owner;     /* the owner of /proc/PID/status (or of cmdline, owned alike,
                                    * when that was read), without reading status */
        pid_t tgid;                /* Tgid: from status */
        char *exe;                 /* NULL when unreadable (kernel thread, no permission, gone) */
        int exe_error;             /* negative errno when exe is NULL (0 when exe was not asked for) */
        char *argv;                /* NUL-separated arguments, argv_len bytes; NULL if empty/unread */
        size_t argv_len;
        bool argv_truncated;
        char *cgroup;              /* the unified (0::) path, e.g. /system.slice/sshd.service */
        char *unit;                /* the system unit derived from cgroup, e.g. sshd.service */
        char *user_unit;           /* below a user@UID.service: the user manager's unit */
        pid_t *tids;               /* threads from /proc/PID/task, when asked for */
        size_t n_tids;
} PwProcInfo;

void pw_proc_info_done(PwProcInfo *info);

/* Pure parsers. Each returns 0 or a negative errno (-EBADMSG for malformed text). */
int pw_parse_stat(const char *text, PwStat *ret);
/* Real and effective uid and gid, and Tgid, from the text of /proc/PID/status. */
int pw_parse_status(const char *text, uint32_t *uid, uint32_t *euid, uint32_t *gid, uint32_t *egid, pid_t *tgid);
/* The unified hierarchy's path ("0::/path") from /proc/PID/cgroup; on a v1-only system, or when the
 * unified line is a bare "/" beside one (legacy mode), the name=systemd line. A zombie's " (deleted)"
 * suffix is dropped. -ENOENT when neither line is there. Returns a malloc'ed copy in *ret. */
int pw_parse_cgroup(const char *text, char **ret);
/* The units a cgroup path belongs to, as systemd itself reads them (cg_path_get_unit() and
 * cg_path_get_user_unit()): leading ".slice" components are skipped, and the next component is the
 * system unit if it is a valid unit name ending in .service, .scope, .socket, .mount, .swap or
 * .device (systemd's '_' escape undone), else there is none. Only the service manager creates that
 * level; anything below it may be a delegated subtree named by whoever runs there, so it never
 * names the system unit. Below a "user@UID.service", the same rule again gives the user unit, e.g.
 * "/user.slice/user-1000.slice/user@1000.service/app.slice/foo.service" -> "user@1000.service" and
 * user unit "foo.service"; "/system.slice/sshd.service" -> "sshd.service";
 * "/user.slice/user-1000.slice/session-3.scope" -> "session-3.scope";
 * "/system.slice/docker-abc.scope/payload/x.service" -> "docker-abc.scope"; "/", "/user.slice" and
 * "/machine/x.service" -> none. Each of *ret_unit and *ret_user_unit (either pointer may be NULL) is
 * a malloc'ed name or NULL. Returns 0, -EINVAL for a relative path, or -ENOMEM. */
int pw_cgroup_to_units(const char *cgroup, char **ret_unit, char **ret_user_unit);
/* The saved uid and gid, from the Uid: and Gid: lines of /proc/PID/status. */
int pw_parse_status_saved(const char *text, uint32_t *suid, uint32_t *sgid);
/* Copies argv (cmdline bytes) keeping at most max bytes, ensuring the kept part ends in NUL; sets
 * *truncated when it cut (the last argument kept is then partial). Empty input: *ret NULL, length 0. */
int pw_parse_cmdline(const char *data, size_t len, size_t max, char **ret, size_t *ret_len, bool *truncated);

/* The kernel owns /proc/PID/status by the effective uid when the process is dumpable
 * (SUID_DUMP_USER), and by root when it is not (task_dump_owner()); with euid 0 the two cannot be
 * told apart, and this says false. */
bool pw_status_owner_dumpable(uint32_t owner, uint32_t euid);

/* Conversion of a /proc starttime (BOOTTIME ticks) to CLOCK_MONOTONIC ns, given the current
 * BOOTTIME - MONOTONIC offset and ticks per second. */
uint64_t pw_starttime_to_mono_ns(uint64_t ticks, uint64_t boot_minus_mono_ns, uint64_t hz);
/* Two start times of one process agree when within one tick (the /proc value is rounded). */
bool pw_start_matches(uint64_t a_ns, uint64_t b_ns, uint64_t hz);

typedef enum PwReadFlags {
        PW_READ_STAT = 1 << 0,    /* always done: needed to check identity */
        PW_READ_STATUS = 1 << 1,
        PW_READ_EXE = 1 << 2,
        PW_READ_CMDLINE = 1 << 3,
        PW_READ_CGROUP = 1 << 4,
        PW_READ_TASKS = 1 << 5,
        PW_READ_ALL = 0x3f,
        /* Only the owner of status (no text formatted; an fstat() of cmdline when that is read, which
         * the kernel owns alike, else an fstatat() of status): with an euid the events told, whether
         * the process is dumpable (pw_status_owner_dumpable()). */
        PW_READ_OWNER = 1 << 6,
} PwReadFlags;

typedef struct PwProcReader {
        int proc_fd;               /* dirfd of the proc root (/proc or a test folder) */
        uint64_t boot_minus_mono_ns;
        uint64_t hz;
        size_t argv_max;           /* set with pw_proc_reader_set_argv_max() */
        char *scratch;             /* argv_max + 1 bytes: cmdline, then stat, status and cgroup
                                    * are read here, each in one read() (a reader serves one
                                    * thread at a time) */
        size_t scratch_size;
} PwProcReader;

/* Opens the proc root (path NULL: "/proc") and samples the clock offset and USER_HZ. */
int pw_proc_reader_open(PwProcReader *r, const char *root);
void pw_proc_reader_close(PwProcReader *r);
/* Sets the command line kept per process (and sizes the buffer it is read into). */
int pw_proc_reader_set_argv_max(PwProcReader *r, size_t argv_max);
/* Re-samples BOOTTIME - MONOTONIC (it grows across a suspend). */
void pw_proc_reader_refresh_clock(PwProcReader *r);

/* Reads process pid: cmdline and exe first (they vanish when the process exits), then stat. When
 * expect_start_boot_ns is not 0, stat's start time (CLOCK_BOOTTIME ns) must match it (within a tick)
 * or -ESRCH is returned and nothing read is handed out: the pid belongs to another process. Returns
 * -ESRCH when the process is gone, or reaped before stat vouched for what was read. Then status,
 * cgroup and tasks. Partial reads of optional files (exe of another user, a process that exited
 * between files) leave those fields empty and are not errors; a process that exited before its
 * cmdline was read has argv NULL. *ret is overwritten (not freed) and left empty on failure. */
int pw_proc_read(const PwProcReader *r, pid_t pid, uint64_t expect_start_boot_ns, PwReadFlags flags,
                 PwProcInfo *ret);

/* The same in two steps, for a caller that reads more of the process later: pw_proc_open() returns
 * a directory fd of /proc/PID (O_CLOEXEC; the caller closes it), -ESRCH when gone;
 * pw_proc_read_at() reads through it as pw_proc_read() does (it does not take the fd). */
int pw_proc_open(const PwProcReader *r, pid_t pid);
int pw_proc_read_at(const PwProcReader *r, int dirfd, pid_t pid, uint64_t expect_start_boot_ns, PwReadFlags flags,
                    PwProcInfo *ret);
/* Reads status, cgroup and tasks (those of flags) into info, which pw_proc_read_at() filled and
 * checked through the same dirfd: the fd still names that process, so no second identity check is
 * needed; once it is reaped the files fail and their fields stay empty. Returns 0 or -ENOMEM. */
int pw_proc_read_more(const PwProcReader *r, int dirfd, PwReadFlags flags, PwProcInfo *info);

/* Lists the numeric entries of the proc root (every process). Returns the count, pids in *ret
 * (malloc'ed), or a negative errno. */
int pw_proc_list_pids(const PwProcReader *r, pid_t **ret);
