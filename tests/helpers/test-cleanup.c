/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Cleanup on every path for test programs: see test-cleanup.h. */
#include "test-cleanup.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

#define TC_DIRS_MAX 64

static char tc_dirs[TC_DIRS_MAX][256];
static unsigned tc_n_dirs;
static char tc_cg[512];      /* our own cgroup, "" when none */
static char tc_cg_home[512]; /* the cgroup we were started in */
static pid_t tc_owner;       /* only the process that called tc_init() cleans up */
static volatile sig_atomic_t tc_done;

static long long now_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int write_string(const char *path, const char *s) {
        int fd = open(path, O_WRONLY | O_CLOEXEC);
        ssize_t n;

        if (fd < 0)
                return -errno;
        n = write(fd, s, strlen(s));
        n = n < 0 ? -errno : 0;
        close(fd);
        return (int) n;
}

/* The unified hierarchy's mount: /sys/fs/cgroup on a pure cgroup2 host, /sys/fs/cgroup/unified on
 * a hybrid one. */
static const char *unified_mount(void) {
        static const char *const candidates[] = { "/sys/fs/cgroup", "/sys/fs/cgroup/unified" };
        struct statfs sfs;

        for (size_t i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++)
                if (statfs(candidates[i], &sfs) == 0 && sfs.f_type == CGROUP2_SUPER_MAGIC)
                        return candidates[i];
        return NULL;
}

/* Our path in the unified hierarchy, from the "0::" line of /proc/self/cgroup. */
static int own_cgroup_path(char *buf, size_t size) {
        char line[1024];
        FILE *f = fopen("/proc/self/cgroup", "re");
        int r = -ENOENT;

        if (!f)
                return -errno;
        while (fgets(line, sizeof(line), f))
                if (strncmp(line, "0::", 3) == 0) {
                        line[strcspn(line, "\n")] = '\0';
                        r = (size_t) snprintf(buf, size, "%s", line + 3) < size ? 0 : -ENAMETOOLONG;
                        break;
                }
        fclose(f);
        return r;
}

static void make_cgroup(const char *name) {
        const char *mnt = unified_mount();
        char path[256], procs[600];

        if (!mnt || geteuid() != 0 || own_cgroup_path(path, sizeof(path)) < 0)
                return;
        if ((size_t) snprintf(tc_cg_home, sizeof(tc_cg_home), "%s%s", mnt, strcmp(path, "/") == 0 ? "" : path) >=
                    sizeof(tc_cg_home) - 64 ||
            strlen(name) > 32) {
                tc_cg_home[0] = '\0';
                return;
        }
        snprintf(tc_cg, sizeof(tc_cg), "%.440s/pwtest-%.32s-%d", tc_cg_home, name, (int) getpid());
        if (mkdir(tc_cg, 0755) < 0) {
                fprintf(stderr, "# test-cleanup: cannot make %s: %m; processes rely on their parent death signal\n",
                        tc_cg);
                tc_cg[0] = '\0';
                return;
        }
        snprintf(procs, sizeof(procs), "%s/cgroup.procs", tc_cg);
        if (write_string(procs, "0") < 0) {
                fprintf(stderr, "# test-cleanup: cannot enter %s: %m\n", tc_cg);
                (void) rmdir(tc_cg);
                tc_cg[0] = '\0';
        }
}

static bool cgroup_populated(const char *cg) {
        char path[600], line[128];
        FILE *f;
        bool populated = false;

        snprintf(path, sizeof(path), "%s/cgroup.events", cg);
        f = fopen(path, "re");
        if (!f)
                return false;
        while (fgets(line, sizeof(line), f))
                if (strncmp(line, "populated ", 10) == 0)
                        populated = line[10] == '1';
        fclose(f);
        return populated;
}

static void kill_cgroup_members(const char *cg) {
        char path[600];
        FILE *f;
        int pid;

        snprintf(path, sizeof(path), "%s/cgroup.kill", cg);
        if (write_string(path, "1") == 0)
                return;
        /* Kernels before 5.14: one by one (new forks are caught by the next round). */
        snprintf(path, sizeof(path), "%s/cgroup.procs", cg);
        f = fopen(path, "re");
        if (!f)
                return;
        while (fscanf(f, "%d", &pid) == 1)
                if (pid != getpid())
                        (void) kill(pid, SIGKILL);
        fclose(f);
}

static void remove_cgroup(void) {
        char path[600], self[32];
        long long deadline = now_ms() + 10000;

        if (!tc_cg[0])
                return;
        /* Leave it first: cgroup.kill would take us too. */
        snprintf(path, sizeof(path), "%s/cgroup.procs", tc_cg_home);
        snprintf(self, sizeof(self), "%d", (int) getpid());
        if (write_string(path, self) < 0) {
                fprintf(stderr, "# test-cleanup: cannot leave %s: %m; it stays\n", tc_cg);
                return;
        }
        for (;;) {
                kill_cgroup_members(tc_cg);
                /* Reap our own children so that none lingers as a zombie. */
                while (waitpid(-1, NULL, WNOHANG) > 0)
                        ;
                if (!cgroup_populated(tc_cg) && rmdir(tc_cg) == 0)
                        break;
                if (now_ms() > deadline) {
                        fprintf(stderr, "# test-cleanup: %s still busy after 10 s: %m\n", tc_cg);
                        return;
                }
                usleep(10000);
        }
        tc_cg[0] = '\0';
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        (void) st;
        (void) ftw;
        if (flag == FTW_DP)
                (void) rmdir(path);
        else
                (void) unlink(path);
        return 0;
}

void tc_cleanup(void) {
        if (tc_done || getpid() != tc_owner)
                return;
        tc_done = 1;
        remove_cgroup();
        for (unsigned i = 0; i < tc_n_dirs; i++)
                (void) nftw(tc_dirs[i], remove_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
        tc_n_dirs = 0;
}

static void on_signal(int sig) {
        tc_cleanup();
        signal(sig, SIG_DFL);
        raise(sig);
}

void tc_init(const char *name) {
        static const int sigs[] = { SIGTERM, SIGINT, SIGHUP };

        tc_owner = getpid();
        make_cgroup(name);
        atexit(tc_cleanup);
        for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
                signal(sigs[i], on_signal);
}

int tc_mkdtemp(char *template_buf) {
        if (tc_n_dirs >= TC_DIRS_MAX || strlen(template_buf) >= sizeof(tc_dirs[0]))
                return -ENOSPC;
        if (!mkdtemp(template_buf))
                return -errno;
        snprintf(tc_dirs[tc_n_dirs++], sizeof(tc_dirs[0]), "%s", template_buf);
        return 0;
}

const char *tc_cgroup(void) {
        return tc_cg[0] ? tc_cg : NULL;
}
