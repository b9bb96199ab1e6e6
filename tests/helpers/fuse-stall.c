/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A FUSE file system whose file never answers reads until released (see fuse-stall.h). */
#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fuse-stall.h"

#define FILE_NODE 2
#define FILE_SIZE (64U * 4096U)
#define MAX_HELD 64

struct FuseStall {
        int fd;          /* /dev/fuse */
        int stop_fd;     /* eventfd: the thread ends */
        char dir[256];
        char file[300];
        bool mounted;
        pthread_t thread;
        bool thread_started;
        pthread_mutex_t lock;
        bool released;
        uint64_t held[MAX_HELD]; /* unique ids of reads not answered */
        unsigned n_held;
};

static void reply(FuseStall *s, uint64_t unique, int error, const void *body, size_t len) {
        struct fuse_out_header h = { .len = (uint32_t) (sizeof(h) + len), .error = error, .unique = unique };
        struct iovec iov[2] = { { &h, sizeof(h) }, { (void *) body, len } };

        /* ENOENT: the request was interrupted meanwhile; nothing to do. */
        (void) writev(s->fd, iov, body ? 2 : 1);
}

static void fill_attr(struct fuse_attr *a, uint64_t node) {
        *a = (struct fuse_attr){ .ino = node, .nlink = 1, .blksize = 4096 };
        if (node == FUSE_ROOT_ID)
                a->mode = S_IFDIR | 0755;
        else {
                a->mode = S_IFREG | 0444;
                a->size = FILE_SIZE;
                a->blocks = FILE_SIZE / 512;
        }
}

static void handle(FuseStall *s, const struct fuse_in_header *in, const void *arg) {
        switch (in->opcode) {
        case FUSE_INIT: {
                const struct fuse_init_in *ii = arg;
                struct fuse_init_out o = {
                        .major = FUSE_KERNEL_VERSION,
                        .minor = FUSE_KERNEL_MINOR_VERSION,
                        .max_readahead = ii->max_readahead,
                        .max_write = 4096,
                        .max_background = 16,
                        .congestion_threshold = 12,
                };
                reply(s, in->unique, 0, &o, sizeof(o));
                break;
        }
        case FUSE_LOOKUP: {
                struct fuse_entry_out o = { .nodeid = FILE_NODE, .generation = 1, .entry_valid = 3600, .attr_valid = 3600 };

                if (in->nodeid != FUSE_ROOT_ID || strcmp(arg, "f") != 0) {
                        reply(s, in->unique, -ENOENT, NULL, 0);
                        break;
                }
                fill_attr(&o.attr, FILE_NODE);
                reply(s, in->unique, 0, &o, sizeof(o));
                break;
        }
        case FUSE_GETATTR: {
                struct fuse_attr_out o = { .attr_valid = 3600 };

                fill_attr(&o.attr, in->nodeid);
                reply(s, in->unique, 0, &o, sizeof(o));
                break;
        }
        case FUSE_OPEN:
        case FUSE_OPENDIR: {
                struct fuse_open_out o = { .fh = 1 };

                reply(s, in->unique, 0, &o, sizeof(o));
                break;
        }
        case FUSE_READ:
                pthread_mutex_lock(&s->lock);
                if (s->released || s->n_held == MAX_HELD)
                        reply(s, in->unique, -EIO, NULL, 0);
                else
                        s->held[s->n_held++] = in->unique;
                pthread_mutex_unlock(&s->lock);
                break;
        case FUSE_FLUSH:
        case FUSE_RELEASE:
        case FUSE_RELEASEDIR:
                reply(s, in->unique, 0, NULL, 0);
                break;
        case FUSE_FORGET:
        case FUSE_BATCH_FORGET:
        case FUSE_INTERRUPT: /* the read stays held: the kernel waits on, killably */
                break;
        default:
                reply(s, in->unique, -ENOSYS, NULL, 0);
        }
}

static void *serve(void *userdata) {
        FuseStall *s = userdata;
        size_t size = 256 * 1024;
        /* uint64_t-aligned: the request header is read in place. */
        uint64_t *buf = malloc(size);

        if (!buf)
                return NULL;
        for (;;) {
                struct pollfd p[2] = { { .fd = s->fd, .events = POLLIN }, { .fd = s->stop_fd, .events = POLLIN } };
                ssize_t n;

                if (poll(p, 2, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        break;
                }
                if (p[1].revents)
                        break;
                n = read(s->fd, buf, size);
                if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == ENOENT))
                        continue;
                if (n < (ssize_t) sizeof(struct fuse_in_header))
                        break; /* ENODEV: unmounted */
                handle(s, (const struct fuse_in_header *) buf, (const char *) buf + sizeof(struct fuse_in_header));
        }
        free(buf);
        return NULL;
}

int fuse_stall_start(FuseStall **ret, const char *dir) {
        FuseStall *s = calloc(1, sizeof(*s));
        char opts[128];
        int r;

        if (!s)
                return -ENOMEM;
        s->stop_fd = -1;
        pthread_mutex_init(&s->lock, NULL);
        snprintf(s->dir, sizeof(s->dir), "%s", dir);
        snprintf(s->file, sizeof(s->file), "%s/f", dir);
        s->fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
        if (s->fd < 0) {
                r = -errno;
                goto fail;
        }
        s->stop_fd = eventfd(0, EFD_CLOEXEC);
        if (s->stop_fd < 0) {
                r = -errno;
                goto fail;
        }
        snprintf(opts, sizeof(opts), "fd=%d,rootmode=40000,user_id=0,group_id=0,allow_other", s->fd);
        if (mount("pwstall", dir, "fuse.pwstall", MS_NOSUID | MS_NODEV, opts) < 0) {
                r = -errno;
                goto fail;
        }
        s->mounted = true;
        r = -pthread_create(&s->thread, NULL, serve, s);
        if (r < 0)
                goto fail;
        s->thread_started = true;
        *ret = s;
        return 0;
fail:
        fuse_stall_stop(s);
        return r;
}

const char *fuse_stall_file(const FuseStall *s) {
        return s->file;
}

unsigned fuse_stall_pending(FuseStall *s) {
        unsigned n;

        pthread_mutex_lock(&s->lock);
        n = s->n_held;
        pthread_mutex_unlock(&s->lock);
        return n;
}

void fuse_stall_release(FuseStall *s) {
        if (!s)
                return;
        pthread_mutex_lock(&s->lock);
        s->released = true;
        for (unsigned i = 0; i < s->n_held; i++)
                reply(s, s->held[i], -EIO, NULL, 0);
        s->n_held = 0;
        pthread_mutex_unlock(&s->lock);
}

void fuse_stall_stop(FuseStall *s) {
        if (!s)
                return;
        if (s->fd >= 0)
                fuse_stall_release(s);
        if (s->mounted)
                (void) umount2(s->dir, MNT_DETACH);
        if (s->thread_started) {
                uint64_t one = 1;

                (void) !write(s->stop_fd, &one, sizeof(one));
                pthread_join(s->thread, NULL);
        }
        if (s->fd >= 0)
                close(s->fd);
        if (s->stop_fd >= 0)
                close(s->stop_fd);
        pthread_mutex_destroy(&s->lock);
        free(s);
}

/* The fds an exec'ed victim finds its pipes on. */
#define VICTIM_ADDR_FD 3
#define VICTIM_CMD_FD 4

/* The victim: maps the file, says where, and on a byte from cmd_fd calls mmap() (wanting its
 * mm's lock for writing), then waits to be killed. */
static _Noreturn void victim(const char *file, int addr_fd, int cmd_fd) {
        void *a;
        char c;
        int fd;

        (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
        fd = open(file, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                _exit(1);
        a = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
        if (a == MAP_FAILED || write(addr_fd, &a, sizeof(a)) != sizeof(a))
                _exit(1);
        if (read(cmd_fd, &c, 1) == 1)
                (void) mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        for (;;)
                pause();
}

_Noreturn void fuse_stall_victim_main(const char *file) {
        victim(file, VICTIM_ADDR_FD, VICTIM_CMD_FD);
}

/* The forked victim, or the program it execs (its pipes on fixed fds, without O_CLOEXEC). */
static _Noreturn void start_victim(const char *file, const char *exec_path, int addr_fd, int cmd_fd) {
        if (!exec_path)
                victim(file, addr_fd, cmd_fd);
        /* Above both targets first: either pipe may sit on the other's target. */
        addr_fd = fcntl(addr_fd, F_DUPFD, 10);
        cmd_fd = fcntl(cmd_fd, F_DUPFD, 10);
        if (addr_fd < 0 || cmd_fd < 0 || dup2(addr_fd, VICTIM_ADDR_FD) < 0 || dup2(cmd_fd, VICTIM_CMD_FD) < 0)
                _exit(1);
        execl(exec_path, exec_path, FUSE_STALL_VICTIM_ARG, file, (char *) NULL);
        _exit(127);
}

/* The holder: reads the victim's page of the file through /proc/PID/mem, which faults it in with
 * the victim's mmap_lock held for reading and without the retry that lets a fault drop it. */
static _Noreturn void holder(pid_t victim_pid, void *addr) {
        char path[64], c;
        int fd;

        (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
        snprintf(path, sizeof(path), "/proc/%d/mem", (int) victim_pid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                _exit(1);
        (void) !pread(fd, &c, 1, (off_t) (uintptr_t) addr);
        for (;;)
                pause();
}

static char proc_state(pid_t pid) {
        char path[64], buf[512], *p;
        ssize_t n;
        int fd;

        snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return 0;
        n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        if (n <= 0)
                return 0;
        buf[n] = '\0';
        p = strrchr(buf, ')');
        return p && p[1] == ' ' ? p[2] : 0;
}

static uint64_t now_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000U + (uint64_t) ts.tv_nsec / 1000000U;
}

int fuse_stall_lock_mm(FuseStall *s, const char *exec_path, pid_t *ret_victim, pid_t *ret_holder) {
        int a[2] = { -1, -1 }, c[2] = { -1, -1 }, r = -EIO;
        pid_t v = -1, h = -1;
        void *addr = NULL;
        uint64_t deadline;

        *ret_victim = *ret_holder = -1;
        if (pipe2(a, O_CLOEXEC) < 0 || pipe2(c, O_CLOEXEC) < 0) {
                r = -errno;
                goto out;
        }
        v = fork();
        if (v < 0) {
                r = -errno;
                goto out;
        }
        if (v == 0)
                start_victim(s->file, exec_path, a[1], c[0]);
        if (read(a[0], &addr, sizeof(addr)) != sizeof(addr))
                goto out;
        /* Mapped: the mapping keeps the file system alive. Detached, nobody else can reach the file,
         * and the mount point is an empty folder again, which cleanup can remove without asking a file
         * system that may no longer answer. */
        if (s->mounted && umount2(s->dir, MNT_DETACH) >= 0)
                s->mounted = false;
        h = fork();
        if (h < 0) {
                r = -errno;
                goto out;
        }
        if (h == 0)
                holder(v, addr);
        deadline = now_ms() + 10000U;
        while (fuse_stall_pending(s) == 0 && now_ms() < deadline)
                usleep(1000);
        if (fuse_stall_pending(s) == 0) {
                r = -ETIMEDOUT;
                goto out;
        }
        /* The writer queues behind the holder; from then on every new reader of the lock waits. */
        if (write(c[1], "w", 1) != 1)
                goto out;
        while (proc_state(v) != 'D' && now_ms() < deadline)
                usleep(1000);
        if (proc_state(v) != 'D') {
                r = -ETIMEDOUT;
                goto out;
        }
        *ret_victim = v;
        *ret_holder = h;
        v = h = -1;
        r = 0;
out:
        for (int i = 0; i < 2; i++) {
                if (a[i] >= 0)
                        close(a[i]);
                if (c[i] >= 0)
                        close(c[i]);
        }
        if (v > 0 || h > 0)
                fuse_stall_release(s);
        if (h > 0) {
                kill(h, SIGKILL);
                (void) waitpid(h, NULL, 0);
        }
        if (v > 0) {
                kill(v, SIGKILL);
                (void) waitpid(v, NULL, 0);
        }
        return r;
}
