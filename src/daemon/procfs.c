/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Reading processes from /proc: pure parsers over file contents, and a reader that goes through one
 * /proc/PID directory fd per process.
 *
 * Identity. A pid names a process only until it is reaped; the next process may get the same number
 * at any moment. So pw_proc_read() opens /proc/PID once, as a directory fd, and reads every file
 * through it: the proc inode behind the fd holds the kernel's struct pid of the process it was opened
 * for, and a new process that reuses the number gets a new struct pid. Once the old process is
 * reaped, openat() through the old fd fails with ENOENT and reads of files already open fail with
 * ESRCH; the fd never starts to show the newcomer.
 *
 * Order. What vanishes first is read first: cmdline and exe go when the process's mm goes (at exit,
 * long before it is reaped), so they are read right after the open; stat, which stays readable until
 * the process is reaped, comes next, and its start time is compared with the one the caller expects.
 * Because all three go through the same fd, a matching start time vouches for what was read before
 * it; a mismatch (the fd was opened on a newcomer that already reused the pid) or a stat that cannot
 * be read any more (reaped meanwhile: nothing vouches) discards everything. status, cgroup and the
 * task list come last. (An exec from a non-leader thread moves the leader's pid to the exec'ing
 * thread, which also inherits the leader's start time: same process, same identity.) What the dirfd
 * does not freeze is the image: an exec between two files can make comm (stat) newer than exe or
 * cmdline. Callers re-read at EXEC events.
 *
 * cmdline is read with one read() into a buffer of argv_max + 1 bytes: the kernel copies the whole
 * argument area in one call (holding a reference on the mm meanwhile), so a long command line costs
 * no second read, and no partial one can come from a process that exits between two reads. stat,
 * status and cgroup go through the same buffer, one read() each when they fit (read_proc_text()):
 * no allocation, and no read() that only finds the end of the file.
 *
 * Nothing here logs: every failure is a negative errno for the caller to judge. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macro.h"
#include "procfs.h"
#include "time-util.h"

#define PF_KTHREAD_FLAG 0x00200000U

/* The kernel writes a stat line of about 50 numbers and a comm of at most 64 bytes (a workqueue
 * worker's name); anything near this bound is not a stat file. */
#define STAT_FILE_MAX (16U * 1024U)
/* status holds a Groups: line of up to 65536 groups. */
#define STATUS_FILE_MAX (1024U * 1024U)
/* One line per hierarchy, each path below PATH_MAX. */
#define CGROUP_FILE_MAX (256U * 1024U)

/* The start times compare within a tick plus this, for the error of the offset sampling. */
#define START_EPSILON_NS (1000U * 1000U)

static bool is_digit(char c) {
        return c >= '0' && c <= '9';
}

/* A run of decimal digits at *p (no sign, no blanks: the kernel writes none), advancing *p. */
static int parse_u64_digits(const char **p, uint64_t *ret) {
        const char *s = *p;
        uint64_t v = 0;

        if (!is_digit(*s))
                return -EBADMSG;
        for (; is_digit(*s); s++) {
                if (__builtin_mul_overflow(v, 10U, &v) || __builtin_add_overflow(v, (uint64_t) (*s - '0'), &v))
                        return -EBADMSG;
        }
        *p = s;
        *ret = v;
        return 0;
}

/* A decimal number with an optional '-', only checked for shape: the stat fields we skip. */
static int skip_number(const char **p) {
        const char *s = *p;

        if (*s == '-')
                s++;
        if (!is_digit(*s))
                return -EBADMSG;
        while (is_digit(*s))
                s++;
        *p = s;
        return 0;
}

static int parse_pid_field(const char **p, pid_t *ret) {
        uint64_t v;

        if (parse_u64_digits(p, &v) < 0 || v > INT32_MAX)
                return -EBADMSG;
        *ret = (pid_t) v;
        return 0;
}

int pw_parse_stat(const char *text, PwStat *ret) {
        PwStat st = {};
        const char *p, *lparen, *rparen;
        uint64_t v;
        size_t n;

        if (!text || !ret)
                return -EINVAL;

        p = text;
        if (parse_pid_field(&p, &st.pid) < 0 || st.pid <= 0)
                return -EBADMSG;
        if (p[0] != ' ' || p[1] != '(')
                return -EBADMSG;
        lparen = p + 1;

        /* comm is raw bytes (')', '(', spaces, newlines); the fields after it never hold ')', so the
         * last ')' of the whole text closes it. */
        rparen = strrchr(lparen + 1, ')');
        if (!rparen)
                return -EBADMSG;
        n = (size_t) (rparen - (lparen + 1));
        /* Kernel threads and workqueue workers show names longer than TASK_COMM_LEN here; keep what
         * fits, as the COMM event would. */
        memcpy(st.comm, lparen + 1, MIN(n, (size_t) PW_COMM_MAX));
        st.comm[MIN(n, (size_t) PW_COMM_MAX)] = '\0';

        p = rparen + 1;
        if (*p++ != ' ')
                return -EBADMSG;
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z')))
                return -EBADMSG;
        st.state = *p++;

        /* Fields 4..22; field 22 must be followed by a separator, so that a line cut inside the start
         * time is not taken for a smaller one. */
        for (unsigned field = 4; field <= 22; field++) {
                if (*p++ != ' ')
                        return -EBADMSG;

                switch (field) {
                case 4:
                        if (parse_pid_field(&p, &st.ppid) < 0)
                                return -EBADMSG;
                        break;
                case 6:
                        if (parse_pid_field(&p, &st.sid) < 0)
                                return -EBADMSG;
                        break;
                case 9:
                        if (parse_u64_digits(&p, &v) < 0 || v > UINT32_MAX)
                                return -EBADMSG;
                        st.flags = (uint32_t) v;
                        break;
                case 22:
                        if (parse_u64_digits(&p, &st.starttime_ticks) < 0)
                                return -EBADMSG;
                        if (*p != ' ' && *p != '\n')
                                return -EBADMSG;
                        break;
                default:
                        if (skip_number(&p) < 0)
                                return -EBADMSG;
                }
        }

        *ret = st;
        return 0;
}

/* The start of the line after the one at p, or NULL at the end of the text. */
static const char *next_line(const char *p) {
        const char *nl = strchr(p, '\n');

        return nl ? nl + 1 : NULL;
}

static bool is_blank(char c) {
        return c == ' ' || c == '\t';
}

/* Parses "<blank>N<blank>N..." with exactly n numbers up to the end of the line. */
static int parse_u32_list(const char *p, uint32_t *values, size_t n) {
        for (size_t i = 0; i < n; i++) {
                uint64_t v;

                if (!is_blank(*p))
                        return -EBADMSG;
                while (is_blank(*p))
                        p++;
                if (parse_u64_digits(&p, &v) < 0 || v > UINT32_MAX)
                        return -EBADMSG;
                values[i] = (uint32_t) v;
        }
        while (is_blank(*p))
                p++;
        return *p == '\n' || *p == '\0' ? 0 : -EBADMSG;
}

int pw_parse_status(const char *text, uint32_t *uid, uint32_t *euid, uint32_t *gid, uint32_t *egid, pid_t *tgid) {
        uint32_t uids[4] = {}, gids[4] = {}, tg[1] = {};
        bool have_uid = false, have_gid = false, have_tgid = false;

        if (!text)
                return -EINVAL;

        /* Name: holds comm escaped (a newline in it is written as "\n"), so every field starts a line. */
        for (const char *p = text; p && *p; p = next_line(p)) {
                if (!have_uid && strncmp(p, "Uid:", 4) == 0) {
                        if (parse_u32_list(p + 4, uids, ELEMENTSOF(uids)) < 0)
                                return -EBADMSG;
                        have_uid = true;
                } else if (!have_gid && strncmp(p, "Gid:", 4) == 0) {
                        if (parse_u32_list(p + 4, gids, ELEMENTSOF(gids)) < 0)
                                return -EBADMSG;
                        have_gid = true;
                } else if (!have_tgid && strncmp(p, "Tgid:", 5) == 0) {
                        if (parse_u32_list(p + 5, tg, ELEMENTSOF(tg)) < 0 || tg[0] == 0 || tg[0] > INT32_MAX)
                                return -EBADMSG;
                        have_tgid = true;
                }
        }
        if (!have_uid || !have_gid || !have_tgid)
                return -EBADMSG;

        if (uid)
                *uid = uids[0];
        if (euid)
                *euid = uids[1];
        if (gid)
                *gid = gids[0];
        if (egid)
                *egid = gids[1];
        if (tgid)
                *tgid = (pid_t) tg[0];
        return 0;
}

int pw_parse_status_saved(const char *text, uint32_t *suid, uint32_t *sgid) {
        uint32_t uids[4], gids[4];
        bool have_uid = false, have_gid = false;

        if (!text)
                return -EINVAL;
        for (const char *p = text; p && *p && !(have_uid && have_gid); p = next_line(p)) {
                if (!have_uid && strncmp(p, "Uid:", 4) == 0) {
                        if (parse_u32_list(p + 4, uids, ELEMENTSOF(uids)) < 0)
                                return -EBADMSG;
                        have_uid = true;
                } else if (!have_gid && strncmp(p, "Gid:", 4) == 0) {
                        if (parse_u32_list(p + 4, gids, ELEMENTSOF(gids)) < 0)
                                return -EBADMSG;
                        have_gid = true;
                }
        }
        if (!have_uid || !have_gid)
                return -EBADMSG;
        if (suid)
                *suid = uids[2];
        if (sgid)
                *sgid = gids[2];
        return 0;
}

/* Whether the comma-separated controller list [s, s+n) names the v1 systemd hierarchy. */
static bool controllers_have_systemd(const char *s, size_t n) {
        static const char key[] = "name=systemd";
        const char *end = s + n;

        while (s < end) {
                const char *comma = memchr(s, ',', (size_t) (end - s));
                size_t len = (size_t) ((comma ? comma : end) - s);

                if (len == sizeof(key) - 1 && memcmp(s, key, len) == 0)
                        return true;
                if (!comma)
                        break;
                s = comma + 1;
        }
        return false;
}

int pw_parse_cgroup(const char *text, char **ret) {
        static const char deleted[] = " (deleted)";
        const char *v2 = NULL, *v1 = NULL;
        size_t v2_len = 0, v1_len = 0;
        const char *path;
        size_t len;
        char *s;

        if (!text || !ret)
                return -EINVAL;

        /* "ID:controllers:path" per line. Cgroup names may hold ':' and ' ' but never '\n' (mkdir
         * refuses it), so the path runs from the second ':' to the end of the line. */
        for (const char *p = text; p && *p; p = next_line(p)) {
                const char *c1, *c2, *eol;
                uint64_t id;
                const char *q = p;

                eol = strchr(p, '\n');
                if (!eol)
                        eol = p + strlen(p);
                if (parse_u64_digits(&q, &id) < 0 || *q != ':')
                        return -EBADMSG;
                c1 = q;
                c2 = memchr(c1 + 1, ':', (size_t) (eol - (c1 + 1)));
                if (!c2 || c2[1] != '/')
                        return -EBADMSG;

                if (id == 0 && c2 == c1 + 1) {
                        if (!v2) {
                                v2 = c2 + 1;
                                v2_len = (size_t) (eol - v2);
                                /* A zombie whose cgroup was removed: the path it had, with this
                                 * suffix (unified hierarchy only). */
                                if (v2_len > sizeof(deleted) - 1 &&
                                    memcmp(v2 + v2_len - (sizeof(deleted) - 1), deleted, sizeof(deleted) - 1) == 0)
                                        v2_len -= sizeof(deleted) - 1;
                        }
                } else if (!v1 && controllers_have_systemd(c1 + 1, (size_t) (c2 - (c1 + 1)))) {
                        v1 = c2 + 1;
                        v1_len = (size_t) (eol - v1);
                }
        }

        /* The unified line wins, except when it says "/" beside a systemd v1 line: then cgroup2 is
         * mounted but not what systemd manages (legacy mode), and the v1 line holds the unit. */
        if (v2 && !(v2_len == 1 && v1)) {
                path = v2;
                len = v2_len;
        } else if (v1) {
                path = v1;
                len = v1_len;
        } else
                return -ENOENT;

        if (len >= PW_PATH_MAX)
                return -ENAMETOOLONG;
        s = strndup(path, len);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

static bool unit_char_ok(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || strchr(":-_.\\@", c);
}

/* Whether [s, s+n) is the name of a unit a process can run in (systemd's rules for plain and
 * instance names: no templates, which never run). */
static bool is_process_unit(const char *s, size_t n) {
        static const char *const suffixes[] = {
                ".service", ".scope", ".socket", ".mount", ".swap", ".device",
        };
        const char *suffix = NULL, *at;
        size_t stem;

        if (n == 0 || n > 255) /* UNIT_NAME_MAX - 1 */
                return false;
        for (size_t i = 0; i < n; i++)
                if (s[i] == '\0' || !unit_char_ok(s[i]))
                        return false;
        for (size_t i = 0; i < ELEMENTSOF(suffixes); i++) {
                size_t l = strlen(suffixes[i]);

                if (n > l && memcmp(s + n - l, suffixes[i], l) == 0) {
                        suffix = suffixes[i];
                        break;
                }
        }
        if (!suffix)
                return false;
        stem = n - strlen(suffix);
        at = memchr(s, '@', stem);
        if (at && (at == s || at + 1 == s + stem))
                return false;
        return true;
}

/* The component at *p (after any '/'), advancing *p past it; the name with systemd's '_' escape
 * undone in *ret_name, *ret_n. False at the end of the path. */
static bool next_component(const char **p, const char **ret_name, size_t *ret_n) {
        const char *e;

        while (**p == '/')
                (*p)++;
        if (**p == '\0')
                return false;
        e = strchrnul(*p, '/');
        *ret_name = *p;
        *ret_n = (size_t) (e - *p);
        *p = e;
        /* systemd's cg_escape() prefixes '_' to names that would clash with kernel files or
         * controller names ("_cpu.service"). */
        if (*ret_n > 1 && (*ret_name)[0] == '_') {
                (*ret_name)++;
                (*ret_n)--;
        }
        return true;
}

static bool is_slice(const char *s, size_t n) {
        return n > strlen(".slice") && memcmp(s + n - strlen(".slice"), ".slice", strlen(".slice")) == 0;
}

/* From *p: skips slices; the next component, when a process unit, in *ret_name and *ret_n. */
static bool unit_below(const char **p, const char **ret_name, size_t *ret_n) {
        const char *name;
        size_t n;

        while (next_component(p, &name, &n))
                if (!is_slice(name, n)) {
                        if (!is_process_unit(name, n))
                                return false;
                        *ret_name = name;
                        *ret_n = n;
                        return true;
                }
        return false;
}

/* "user@" DIGITS ".service" */
static bool is_user_manager(const char *s, size_t n) {
        size_t i = strlen("user@");

        if (n <= i + strlen(".service") || memcmp(s, "user@", i) != 0 ||
            memcmp(s + n - strlen(".service"), ".service", strlen(".service")) != 0)
                return false;
        for (; i < n - strlen(".service"); i++)
                if (!is_digit(s[i]))
                        return false;
        return true;
}

int pw_cgroup_to_units(const char *cgroup, char **ret_unit, char **ret_user_unit) {
        _cleanup_(freep) char *unit = NULL, *user_unit = NULL;
        const char *p = cgroup, *name;
        size_t n;

        if (!cgroup || cgroup[0] != '/')
                return -EINVAL;
        if (unit_below(&p, &name, &n)) {
                unit = strndup(name, n);
                if (!unit)
                        return -ENOMEM;
                if (is_user_manager(name, n) && unit_below(&p, &name, &n)) {
                        user_unit = strndup(name, n);
                        if (!user_unit)
                                return -ENOMEM;
                }
        }
        if (ret_unit)
                *ret_unit = TAKE_PTR(unit);
        if (ret_user_unit)
                *ret_user_unit = TAKE_PTR(user_unit);
        return 0;
}

int pw_parse_cmdline(const char *data, size_t len, size_t max, char **ret, size_t *ret_len, bool *truncated) {
        size_t keep;
        bool cut;
        char *s;

        if (!ret || !ret_len || (!data && len > 0))
                return -EINVAL;

        /* Kernel threads, zombies and exited processes have no mm, hence no cmdline. */
        if (len == 0 || max == 0) {
                *ret = NULL;
                *ret_len = 0;
                if (truncated)
                        *truncated = len > 0;
                return 0;
        }

        /* A process that rewrote its argv area may leave no final NUL: add one, which counts
         * against max. Past max, the last argument kept is partial (maybe empty) and ends in a NUL. */
        if (data[len - 1] == '\0' && len <= max) {
                keep = len;
                cut = false;
        } else if (data[len - 1] != '\0' && len < max) {
                keep = len + 1;
                cut = false;
        } else {
                keep = max;
                cut = true;
        }

        s = malloc(keep);
        if (!s)
                return -ENOMEM;
        memcpy(s, data, keep - 1);
        s[keep - 1] = '\0';

        *ret = s;
        *ret_len = keep;
        if (truncated)
                *truncated = cut;
        return 0;
}

uint64_t pw_starttime_to_mono_ns(uint64_t ticks, uint64_t boot_minus_mono_ns, uint64_t hz) {
        uint64_t whole, frac, ns;

        if (hz == 0)
                return 0;

        /* ticks * 1e9 / hz without a 128-bit product. frac < NSEC_PER_SEC. */
        if (__builtin_mul_overflow(ticks / hz, NSEC_PER_SEC, &whole))
                return UINT64_MAX;
        if (hz <= UINT64_MAX / NSEC_PER_SEC)
                frac = (ticks % hz) * NSEC_PER_SEC / hz;
        else
                frac = (uint64_t) ((long double) (ticks % hz) * (long double) NSEC_PER_SEC / (long double) hz);
        if (__builtin_add_overflow(whole, frac, &ns))
                return UINT64_MAX;

        /* A process started before the last suspend has a BOOTTIME start smaller than the offset
         * sampled now would imply; there is no better value than 0 then. */
        return ns > boot_minus_mono_ns ? ns - boot_minus_mono_ns : 0;
}

bool pw_start_matches(uint64_t a_ns, uint64_t b_ns, uint64_t hz) {
        /* The kernel rounds the start time down to a tick; round the tick up so that hz values that
         * do not divide a second still cover it. */
        uint64_t tick = hz ? (NSEC_PER_SEC + hz - 1) / hz : 0;
        uint64_t d = a_ns > b_ns ? a_ns - b_ns : b_ns - a_ns;

        return d <= tick + START_EPSILON_NS;
}

bool pw_status_owner_dumpable(uint32_t owner, uint32_t euid) {
        return owner == euid && euid != 0;
}

void pw_proc_info_done(PwProcInfo *info) {
        if (!info)
                return;
        free(info->exe);
        free(info->argv);
        free(info->cgroup);
        free(info->unit);
        free(info->user_unit);
        free(info->tids);
        *info = (PwProcInfo) {};
}

/* BOOTTIME - MONOTONIC. MONOTONIC is read first, so a delay between the two reads can only make the
 * difference larger: the smallest of a few samples is the closest. */
static uint64_t sample_boot_minus_mono(void) {
        uint64_t best = UINT64_MAX;

        for (unsigned i = 0; i < 3; i++) {
                uint64_t mono = now_nsec(CLOCK_MONOTONIC);
                uint64_t boot = now_nsec(CLOCK_BOOTTIME);

                best = MIN(best, boot > mono ? boot - mono : 0);
        }
        return best;
}

int pw_proc_reader_open(PwProcReader *r, const char *root) {
        long hz;
        int k;

        if (!r)
                return -EINVAL;

        *r = (PwProcReader) { .proc_fd = -EBADF };

        r->proc_fd = open(root ?: "/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (r->proc_fd < 0) {
                int e = negative_errno();

                r->proc_fd = -EBADF;
                return e;
        }

        /* USER_HZ, the unit of stat's times; it comes from the aux vector and is 100 everywhere. */
        hz = sysconf(_SC_CLK_TCK);
        r->hz = hz > 0 ? (uint64_t) hz : 100U;
        r->boot_minus_mono_ns = sample_boot_minus_mono();
        k = pw_proc_reader_set_argv_max(r, PW_ARGV_MAX_DEFAULT);
        if (k < 0)
                pw_proc_reader_close(r);
        return k;
}

int pw_proc_reader_set_argv_max(PwProcReader *r, size_t argv_max) {
        char *b;

        if (!r || argv_max == 0 || argv_max >= SIZE_MAX / 2)
                return -EINVAL;
        b = realloc(r->scratch, argv_max + 1);
        if (!b)
                return -ENOMEM;
        r->scratch = b;
        r->scratch_size = argv_max + 1;
        r->argv_max = argv_max;
        return 0;
}

void pw_proc_reader_close(PwProcReader *r) {
        if (!r)
                return;
        r->proc_fd = safe_close(r->proc_fd);
        r->scratch = mfree(r->scratch);
        r->scratch_size = 0;
}

void pw_proc_reader_refresh_clock(PwProcReader *r) {
        if (r)
                r->boot_minus_mono_ns = sample_boot_minus_mono();
}

/* The process (or the file) went away between two steps. */
static bool is_gone(int r) {
        return r == -ENOENT || r == -ESRCH;
}

/* Reads the /proc/PID file name (at most max bytes) NUL-terminated into the reader's scratch buffer,
 * or, when it does not fit there, into one of its own (*ret_own, for the caller to free; else NULL).
 * A /proc/PID text file is one seq_file record: the kernel formats it whole and copies all that fits,
 * so a read() that leaves room in the buffer has read the whole file, and the read() that would only
 * return 0 is spared. ret_st: when not NULL, fstat() of the file while it is open. */
static int read_proc_text(const PwProcReader *r, int dirfd, const char *name, size_t max, char **ret_text,
                          char **ret_own, struct stat *ret_st) {
        _cleanup_(closep) int fd = -EBADF;
        _cleanup_(freep) char *own = NULL;
        char *buf = r->scratch;
        size_t size = 0, alloc = r->scratch ? r->scratch_size : 0;

        fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return negative_errno();
        for (;;) {
                ssize_t n;

                /* Room for one byte beyond max (a file too long is told from one that fits) and the NUL. */
                if (alloc < 2 || size >= alloc - 1) {
                        size_t na = MAX(alloc * 2, (size_t) 4096U);
                        char *nb;

                        if (size > max)
                                return -EFBIG;
                        nb = realloc(own, na);
                        if (!nb)
                                return -ENOMEM;
                        if (!own && size > 0)
                                memcpy(nb, buf, size);
                        buf = own = nb;
                        alloc = na;
                }
                n = read(fd, buf + size, alloc - 1 - size);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                size += (size_t) n;
                if (n == 0 || size < alloc - 1)
                        break;
        }
        if (size > max)
                return -EFBIG;
        buf[size] = '\0';
        if (ret_st && fstat(fd, ret_st) < 0)
                return negative_errno();
        *ret_text = buf;
        *ret_own = TAKE_PTR(own);
        return 0;
}

static int read_status(const PwProcReader *r, int dirfd, PwProcInfo *info) {
        _cleanup_(freep) char *own = NULL;
        struct stat st;
        char *text;
        int k;

        /* The owner is the one of the open (the kernel sets it when the file is looked up), just before
         * the text was read, so ids changed in between make the two disagree, and say "not dumpable". */
        k = read_proc_text(r, dirfd, "status", STATUS_FILE_MAX, &text, &own, &st);
        if (k < 0)
                return k;
        k = pw_parse_status(text, &info->uid, &info->euid, &info->gid, &info->egid, &info->tgid);
        if (k < 0)
                return k;
        k = pw_parse_status_saved(text, &info->suid, &info->sgid);
        if (k < 0)
                return k;
        info->dumpable = pw_status_owner_dumpable(st.st_uid, info->euid);
        info->have_status = true;
        return 0;
}

static int read_exe(int dirfd, PwProcInfo *info) {
        char buf[PW_PATH_MAX + 1];
        ssize_t n;

        /* EACCES for another user's process without CAP_SYS_PTRACE; ENOENT for kernel threads and
         * zombies (no mm). A replaced binary reads as "PATH (deleted)": kept as the kernel says it. */
        n = readlinkat(dirfd, "exe", buf, sizeof(buf));
        if (n < 0)
                return negative_errno();
        if ((size_t) n >= PW_PATH_MAX)
                return -ENAMETOOLONG;
        buf[n] = '\0';
        info->exe = strdup(buf);
        return info->exe ? 0 : -ENOMEM;
}

/* The owner of a /proc/PID file that k (an fstat() or fstatat() of it) gave: the kernel sets it when
 * the file is looked up. */
static void take_owner(int k, const struct stat *st, PwProcInfo *info) {
        if (k >= 0) {
                info->status_owner = st->st_uid;
                info->have_owner = true;
        }
}

static int read_cmdline(const PwProcReader *r, int dirfd, bool want_owner, PwProcInfo *info) {
        struct stat st;
        _cleanup_(closep) int fd = -EBADF;
        _cleanup_(freep) char *own = NULL;
        size_t want = r->argv_max < SIZE_MAX / 2 ? r->argv_max + 1 : SIZE_MAX / 2;
        char *buf;
        ssize_t n;

        fd = openat(dirfd, "cmdline", O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return negative_errno();
        /* cmdline is owned as status is: no lookup of status needed. */
        if (want_owner)
                take_owner(fstat(fd, &st), &st, info);
        /* One byte more than we keep tells a cmdline of exactly argv_max bytes from a longer one. The
         * reader's scratch buffer spares a malloc per exec; a caller that raised argv_max past it gets
         * a buffer of its own. */
        if (r->scratch && r->scratch_size >= want)
                buf = r->scratch;
        else {
                buf = own = malloc(want);
                if (!buf)
                        return -ENOMEM;
        }
        do
                n = read(fd, buf, want);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return negative_errno();
        return pw_parse_cmdline(buf, (size_t) n, r->argv_max, &info->argv, &info->argv_len, &info->argv_truncated);
}

static int read_cgroup(const PwProcReader *r, int dirfd, PwProcInfo *info) {
        _cleanup_(freep) char *own = NULL;
        char *text;
        int k;

        k = read_proc_text(r, dirfd, "cgroup", CGROUP_FILE_MAX, &text, &own, NULL);
        if (k < 0)
                return k;
        k = pw_parse_cgroup(text, &info->cgroup);
        if (k < 0)
                return k;
        return pw_cgroup_to_units(info->cgroup, &info->unit, &info->user_unit);
}

/* A pid as a directory name: digits only, no leading zero, within pid_t. */
static int parse_pid_name(const char *s, pid_t *ret) {
        uint64_t v;

        if (s[0] == '0' || parse_u64_digits(&s, &v) < 0 || *s != '\0' || v > INT32_MAX)
                return -EINVAL;
        *ret = (pid_t) v;
        return 0;
}

static int cmp_pid(const void *a, const void *b) {
        pid_t x = *(const pid_t *) a, y = *(const pid_t *) b;

        return (x > y) - (x < y);
}

/* The numeric subdirectories of dirfd, sorted. Takes ownership of dirfd. */
static int list_numeric_dirs(int dirfd, pid_t **ret, size_t *ret_n) {
        _cleanup_(freep) pid_t *pids = NULL;
        size_t n = 0, alloc = 0;
        DIR *d;

        d = fdopendir(dirfd);
        if (!d) {
                int e = negative_errno();

                safe_close(dirfd);
                return e;
        }

        for (;;) {
                struct dirent *de;
                pid_t pid;

                errno = 0;
                de = readdir(d);
                if (!de) {
                        if (errno != 0) {
                                int e = negative_errno();

                                closedir(d);
                                return e;
                        }
                        break;
                }
                if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN)
                        continue;
                if (parse_pid_name(de->d_name, &pid) < 0)
                        continue;
                if (n == alloc) {
                        size_t na = alloc ? alloc * 2 : 64U;
                        pid_t *np = reallocarray(pids, na, sizeof(pid_t));

                        if (!np) {
                                closedir(d);
                                return -ENOMEM;
                        }
                        pids = np;
                        alloc = na;
                }
                pids[n++] = pid;
        }
        closedir(d);

        if (n > 0)
                qsort(pids, n, sizeof(pid_t), cmp_pid);
        *ret = TAKE_PTR(pids);
        *ret_n = n;
        return 0;
}

static int read_tasks(int dirfd, PwProcInfo *info) {
        int fd;

        fd = openat(dirfd, "task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        return list_numeric_dirs(fd, &info->tids, &info->n_tids);
}

int pw_proc_open(const PwProcReader *r, pid_t pid) {
        char name[16];
        int fd;

        if (!r || r->proc_fd < 0 || pid <= 0)
                return -EINVAL;
        (void) snprintf(name, sizeof(name), "%d", (int) pid);
        fd = openat(r->proc_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return is_gone(-errno) ? -ESRCH : negative_errno();
        return fd;
}

/* The files read after the identity check. A file that fails (the process exited midway, no
 * permission, odd contents) leaves its fields empty; only running out of memory is an error. */
static int read_rest(const PwProcReader *r, int dirfd, PwReadFlags flags, PwProcInfo *info) {
        int k;

        if (flags & PW_READ_STATUS) {
                k = read_status(r, dirfd, info);
                if (k == -ENOMEM)
                        return k;
        }
        if ((flags & PW_READ_OWNER) && !(flags & PW_READ_STATUS) && !info->have_owner) {
                struct stat st;

                take_owner(fstatat(dirfd, "status", &st, 0), &st, info);
        }
        if (flags & PW_READ_CGROUP) {
                k = read_cgroup(r, dirfd, info);
                if (k == -ENOMEM)
                        return k;
        }
        if (flags & PW_READ_TASKS) {
                k = read_tasks(dirfd, info);
                if (k == -ENOMEM)
                        return k;
        }
        return 0;
}

int pw_proc_read_at(const PwProcReader *r, int dirfd, pid_t pid, uint64_t expect_start_boot_ns, PwReadFlags flags,
                    PwProcInfo *ret) {
        _cleanup_(pw_proc_info_done) PwProcInfo info = {};
        _cleanup_(freep) char *own = NULL;
        char *stat_text;
        int k;

        if (!r || !ret || dirfd < 0 || pid <= 0)
                return -EINVAL;
        *ret = (PwProcInfo) {};

        /* What goes with the mm first (see the note at the top); empty fields when it is gone. */
        if (flags & PW_READ_CMDLINE) {
                k = read_cmdline(r, dirfd, flags & PW_READ_OWNER, &info);
                if (k == -ENOMEM)
                        return k;
        }
        if (flags & PW_READ_EXE) {
                k = read_exe(dirfd, &info);
                if (k == -ENOMEM)
                        return k;
                info.exe_error = k < 0 ? k : 0;
        }

        /* Then identity, through the same fd: it vouches for what was read above, or voids it. */
        k = read_proc_text(r, dirfd, "stat", STAT_FILE_MAX, &stat_text, &own, NULL);
        if (is_gone(k))
                return -ESRCH;
        if (k == -EFBIG)
                return -EBADMSG;
        if (k < 0)
                return k;
        k = pw_parse_stat(stat_text, &info.stat);
        if (k < 0)
                return k;
        if (info.stat.pid != pid)
                return -EBADMSG;

        /* Identity is checked on the BOOTTIME value: the monotonic one of an old process shifts by the
         * time suspended once the offset is sampled again after a suspend. */
        info.start_ns = pw_starttime_to_mono_ns(info.stat.starttime_ticks, r->boot_minus_mono_ns, r->hz);
        info.start_boot_ns = pw_starttime_to_mono_ns(info.stat.starttime_ticks, 0, r->hz);
        if (expect_start_boot_ns != 0 && !pw_start_matches(info.start_boot_ns, expect_start_boot_ns, r->hz))
                return -ESRCH;
        info.kthread = info.stat.flags & PF_KTHREAD_FLAG;

        k = read_rest(r, dirfd, flags, &info);
        if (k < 0)
                return k;

        *ret = info;
        info = (PwProcInfo) {};
        return 0;
}

int pw_proc_read_more(const PwProcReader *r, int dirfd, PwReadFlags flags, PwProcInfo *info) {
        if (!r || dirfd < 0 || !info)
                return -EINVAL;
        return read_rest(r, dirfd, flags & (PW_READ_STATUS | PW_READ_OWNER | PW_READ_CGROUP | PW_READ_TASKS), info);
}

int pw_proc_read(const PwProcReader *r, pid_t pid, uint64_t expect_start_boot_ns, PwReadFlags flags,
                 PwProcInfo *ret) {
        _cleanup_(closep) int dirfd = -EBADF;

        if (!r || !ret || r->proc_fd < 0 || pid <= 0)
                return -EINVAL;
        *ret = (PwProcInfo) {};

        dirfd = pw_proc_open(r, pid);
        if (dirfd < 0)
                return dirfd;
        return pw_proc_read_at(r, dirfd, pid, expect_start_boot_ns, flags, ret);
}

int pw_proc_list_pids(const PwProcReader *r, pid_t **ret) {
        pid_t *pids = NULL;
        size_t n = 0;
        int fd, k;

        if (!r || !ret || r->proc_fd < 0)
                return -EINVAL;

        /* A fresh open of ".": readdir() needs its own file position, and the root fd is shared. */
        fd = openat(r->proc_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        k = list_numeric_dirs(fd, &pids, &n);
        if (k < 0)
                return k;
        if (n > INT_MAX) {
                free(pids);
                return -E2BIG;
        }
        *ret = pids;
        return (int) n;
}
