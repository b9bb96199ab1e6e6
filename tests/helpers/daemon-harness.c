/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Test harness: the real daemon under a real notify socket. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "daemon-harness.h"
#include "test-cleanup.h"

uint64_t harness_now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

static int append(char **buf, size_t *len, size_t *alloc, const char *data, size_t n) {
        if (*len + n + 1 > *alloc) {
                size_t na = *alloc ? *alloc : 65536;
                char *nb;

                while (*len + n + 1 > na)
                        na *= 2;
                nb = realloc(*buf, na);
                if (!nb)
                        return -ENOMEM;
                *buf = nb;
                *alloc = na;
        }
        memcpy(*buf + *len, data, n);
        *len += n;
        (*buf)[*len] = '\0';
        return 0;
}

static void *notify_reader(void *arg);

static size_t argv_len(char *const argv[]) {
        size_t n = 0;

        while (argv[n])
                n++;
        return n;
}

/* Does an argument start with "--"-option prefix (or, for "-journal", contain it: --no-journal,
 * --journal-events=, ...)? */
static bool has_arg(char *const argv[], const char *prefix) {
        for (size_t i = 1; argv[i]; i++)
                if (prefix[0] == '-' && prefix[1] == '-' ? strncmp(argv[i], prefix, strlen(prefix)) == 0
                                                         : strstr(argv[i], prefix) != NULL)
                        return true;
        return false;
}

int harness_start(Daemon *d, const char *binary, char *const argv[], char *const extra_env[],
                  uint64_t watchdog_usec) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int one = 1, out[2], r;

        memset(d, 0, sizeof(*d));
        d->pid = -1;
        d->notify_fd = d->stdout_fd = -1;
        pthread_mutex_init(&d->lock, NULL);

        snprintf(d->dir, sizeof(d->dir), "/tmp/pwtest-XXXXXX");
        r = tc_mkdtemp(d->dir);
        if (r < 0)
                return r;
        snprintf(d->stderr_path, sizeof(d->stderr_path), "%s/stderr", d->dir);
        snprintf(d->socket_path, sizeof(d->socket_path), "%s/io.procwatch", d->dir);
        snprintf(d->socket_arg, sizeof(d->socket_arg), "--socket=%s", d->socket_path);
        /* An empty folder of its own, readable by all: a daemon run as another user (setpriv) must
         * find no file there rather than be refused the scratch folder (0700). */
        snprintf(d->config_root, sizeof(d->config_root), "/tmp/pwtest-config-XXXXXX");
        r = tc_mkdtemp(d->config_root);
        if (r < 0)
                return r;
        if (chmod(d->config_root, 0755) < 0)
                return -errno;
        snprintf(d->config_root_arg, sizeof(d->config_root_arg), "--config-root=%s", d->config_root);
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/notify", d->dir);

        d->notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (d->notify_fd < 0)
                return -errno;
        if (bind(d->notify_fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                return -errno;
        /* The sender's credentials: what NotifyAccess=main checks. */
        if (setsockopt(d->notify_fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) < 0)
                return -errno;

        if (pipe2(out, O_CLOEXEC) < 0)
                return -errno;

        d->pid = fork();
        if (d->pid < 0)
                return -errno;
        d->notify_pid = d->pid;
        if (d->pid == 0) {
                char buf[64];
                int errfd;

                /* A test that dies (a failed assertion, a timeout kill) takes its daemon with it. */
                if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() == 1)
                        _exit(127);

                setenv("NOTIFY_SOCKET", sa.sun_path, 1);
                if (watchdog_usec > 0) {
                        snprintf(buf, sizeof(buf), "%llu", (unsigned long long) watchdog_usec);
                        setenv("WATCHDOG_USEC", buf, 1);
                        snprintf(buf, sizeof(buf), "%d", (int) getpid());
                        setenv("WATCHDOG_PID", buf, 1);
                } else {
                        unsetenv("WATCHDOG_USEC");
                        unsetenv("WATCHDOG_PID");
                }
                unsetenv("JOURNAL_STREAM");
                for (char *const *e = extra_env; e && *e; e++)
                        putenv(*e);
                {
                        /* Every test daemon gets its own control socket, so tests can run side by
                         * side and never touch the system's; it keeps out of the machine's journal
                         * unless the test is about the journal; and it reads no configuration file
                         * of the machine's (its root is the scratch folder). Its retention is as
                         * large as the daemon allows unless the test sets it: the connector is
                         * multicast, so whatever else runs on the machine (a storm of 40,000
                         * processes, say) would otherwise evict the test's own exited records
                         * before it reads them. */
                        char **nargv = calloc(argv_len(argv) + 6, sizeof(char *));
                        size_t k = 0;

                        if (!nargv)
                                _exit(127);
                        for (; argv[k]; k++)
                                nargv[k] = argv[k];
                        if (!has_arg(argv, "--socket="))
                                nargv[k++] = d->socket_arg;
                        if (!has_arg(argv, "-journal"))
                                nargv[k++] = (char *) "--no-journal";
                        if (!has_arg(argv, "--config-root="))
                                nargv[k++] = d->config_root_arg;
                        if (!has_arg(argv, "--retain-count="))
                                nargv[k++] = (char *) "--retain-count=10000000";
                        if (!has_arg(argv, "--string-budget="))
                                nargv[k++] = (char *) "--string-budget=4G";
                        nargv[k] = NULL;
                        argv = nargv;
                }
                errfd = open(d->stderr_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
                if (errfd < 0 || dup2(out[1], STDOUT_FILENO) < 0 || dup2(errfd, STDERR_FILENO) < 0)
                        _exit(127);
                execv(binary, argv);
                _exit(127);
        }
        close(out[1]);
        d->stdout_fd = out[0];
        (void) fcntl(d->stdout_fd, F_SETFL, O_NONBLOCK);
        if (pthread_create(&d->notify_thread, NULL, notify_reader, d) != 0)
                return -ENOMEM;
        d->notify_thread_started = true;
        return 0;
}

static void read_notify(Daemon *d) {
        for (;;) {
                char buf[4096], cbuf[CMSG_SPACE(sizeof(struct ucred))];
                struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) - 1 };
                struct msghdr mh = {
                        .msg_iov = &iov,
                        .msg_iovlen = 1,
                        .msg_control = cbuf,
                        .msg_controllen = sizeof(cbuf),
                };
                const struct ucred *uc = NULL;
                ssize_t n;

                n = recvmsg(d->notify_fd, &mh, MSG_DONTWAIT);
                if (n < 0)
                        return;
                for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
                        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS)
                                uc = (const struct ucred *) (void *) CMSG_DATA(c);
                if (!uc || uc->pid != d->notify_pid) {
                        pthread_mutex_lock(&d->lock);
                        d->notify_wrong_pid++;
                        pthread_mutex_unlock(&d->lock);
                        continue;
                }
                /* One datagram may carry several assignments, one per line. */
                buf[n] = '\0';
                pthread_mutex_lock(&d->lock);
                (void) append(&d->notify, &d->notify_len, &d->notify_alloc, buf, (size_t) n);
                if (n == 0 || buf[n - 1] != '\n')
                        (void) append(&d->notify, &d->notify_len, &d->notify_alloc, "\n", 1);
                pthread_mutex_unlock(&d->lock);
        }
}

static void *notify_reader(void *arg) {
        Daemon *d = arg;

        while (!d->notify_stop) {
                struct pollfd p = { .fd = d->notify_fd, .events = POLLIN };

                (void) poll(&p, 1, 50);
                read_notify(d);
        }
        return NULL;
}

char *harness_notify_copy(Daemon *d) {
        char *c;

        pthread_mutex_lock(&d->lock);
        c = strdup(d->notify ? d->notify : "");
        pthread_mutex_unlock(&d->lock);
        return c;
}

void harness_notify_clear(Daemon *d) {
        pthread_mutex_lock(&d->lock);
        d->notify_len = 0;
        if (d->notify)
                d->notify[0] = '\0';
        pthread_mutex_unlock(&d->lock);
}

unsigned harness_notify_wrong_pid(Daemon *d) {
        unsigned n;

        pthread_mutex_lock(&d->lock);
        n = d->notify_wrong_pid;
        pthread_mutex_unlock(&d->lock);
        return n;
}

static void read_stdout(Daemon *d) {
        for (;;) {
                char buf[65536];
                ssize_t n = read(d->stdout_fd, buf, sizeof(buf));

                if (n <= 0)
                        return;
                (void) append(&d->out, &d->out_len, &d->out_alloc, buf, (size_t) n);
        }
}

void harness_pump(Daemon *d, int timeout_ms) {
        struct pollfd p = { .fd = d->stdout_fd, .events = POLLIN };

        /* The notify socket is the reader thread's; wake up now and then to look at its results. */
        (void) poll(&p, 1, timeout_ms < 0 || timeout_ms > 50 ? 50 : timeout_ms);
        read_stdout(d);
}

static bool notify_has(Daemon *d, const char *msg, bool prefix) {
        size_t l = strlen(msg);
        bool found = false;

        pthread_mutex_lock(&d->lock);
        for (const char *p = d->notify; p && *p;) {
                const char *eol = strchr(p, '\n');
                size_t n = eol ? (size_t) (eol - p) : strlen(p);

                if (prefix ? (n >= l && strncmp(p, msg, l) == 0) : (n == l && strncmp(p, msg, l) == 0)) {
                        found = true;
                        break;
                }
                p += n + (eol ? 1 : 0);
        }
        pthread_mutex_unlock(&d->lock);
        return found;
}

bool harness_wait_notify(Daemon *d, const char *msg, bool prefix, int timeout_ms) {
        uint64_t deadline = harness_now_ms() + (uint64_t) timeout_ms;

        for (;;) {
                uint64_t now;

                if (notify_has(d, msg, prefix))
                        return true;
                now = harness_now_ms();
                if (now >= deadline)
                        return false;
                harness_pump(d, (int) (deadline - now));
        }
}

static bool has_token(const char *line, size_t len, const char *tok, size_t tlen) {
        for (const char *p = line; p + tlen <= line + len;) {
                const char *sp = memchr(p, ' ', (size_t) (line + len - p));
                size_t n = sp ? (size_t) (sp - p) : (size_t) (line + len - p);

                if (n == tlen && memcmp(p, tok, tlen) == 0)
                        return true;
                if (!sp)
                        break;
                p = sp + 1;
        }
        return false;
}

static bool line_matches(const char *line, size_t len, const char *want) {
        for (const char *w = want; *w;) {
                size_t n = strcspn(w, " ");

                if (n > 0 && !has_token(line, len, w, n))
                        return false;
                w += n;
                w += strspn(w, " ");
        }
        return true;
}

char *harness_wait_line(Daemon *d, const char *want, int timeout_ms) {
        uint64_t deadline = harness_now_ms() + (uint64_t) timeout_ms;
        size_t pos = 0;

        for (;;) {
                uint64_t now;

                /* Complete lines only; the daemon writes whole lines but a read may split one. */
                while (d->out && pos < d->out_len) {
                        const char *line = d->out + pos, *eol = memchr(line, '\n', d->out_len - pos);
                        size_t n;

                        if (!eol)
                                break;
                        n = (size_t) (eol - line);
                        if (line_matches(line, n, want))
                                return strndup(line, n);
                        pos += n + 1;
                }
                now = harness_now_ms();
                if (now >= deadline)
                        return NULL;
                harness_pump(d, (int) (deadline - now));
        }
}

bool harness_line_get(const char *line, const char *key, char *buf, size_t size) {
        size_t kl = strlen(key);

        for (const char *p = line; p && *p;) {
                size_t n = strcspn(p, " ");

                if (n > kl && strncmp(p, key, kl) == 0 && p[kl] == '=') {
                        size_t vl = n - kl - 1;

                        if (vl >= size)
                                vl = size - 1;
                        memcpy(buf, p + kl + 1, vl);
                        buf[vl] = '\0';
                        return true;
                }
                p += n;
                p += strspn(p, " ");
        }
        return false;
}

int harness_stop(Daemon *d, int sig, int timeout_ms, uint64_t *elapsed_ms) {
        uint64_t start = harness_now_ms();
        int status;

        if (d->pid <= 0)
                return -1;
        if (kill(d->pid, sig) < 0)
                return -1;
        for (;;) {
                pid_t p = waitpid(d->pid, &status, WNOHANG);

                if (p == d->pid) {
                        d->pid = -1;
                        if (elapsed_ms)
                                *elapsed_ms = harness_now_ms() - start;
                        harness_pump(d, 0);
                        return status;
                }
                if (harness_now_ms() - start > (uint64_t) timeout_ms) {
                        kill(d->pid, SIGKILL);
                        (void) waitpid(d->pid, &status, 0);
                        d->pid = -1;
                        return -1;
                }
                /* Keep draining so a daemon blocked on a full stdout pipe can finish. */
                harness_pump(d, 10);
        }
}

void harness_cleanup(Daemon *d, bool show_stderr) {
        char path[160];

        if (d->notify_thread_started) {
                d->notify_stop = true;
                (void) pthread_join(d->notify_thread, NULL);
                d->notify_thread_started = false;
        }
        if (!d->dir[0])
                return; /* never started */
        if (d->pid > 0) {
                kill(d->pid, SIGKILL);
                (void) waitpid(d->pid, NULL, 0);
                d->pid = -1;
        }
        if (show_stderr) {
                FILE *f = fopen(d->stderr_path, "re");
                char line[1024];

                fprintf(stderr, "--- procwatchd stderr ---\n");
                while (f && fgets(line, sizeof(line), f))
                        fputs(line, stderr);
                if (f)
                        fclose(f);
                fprintf(stderr, "--- notify messages ---\n%s", d->notify ? d->notify : "");
        }
        if (d->notify_fd >= 0)
                close(d->notify_fd);
        if (d->stdout_fd >= 0)
                close(d->stdout_fd);
        snprintf(path, sizeof(path), "%s/notify", d->dir);
        (void) unlink(path);
        (void) unlink(d->socket_path);
        (void) unlink(d->stderr_path);
        (void) rmdir(d->dir);
        free(d->out);
        free(d->notify);
        pthread_mutex_destroy(&d->lock);
        memset(d, 0, sizeof(*d));
        d->pid = -1;
        d->notify_fd = d->stdout_fd = -1;
        pthread_mutex_init(&d->lock, NULL);
}

int harness_start_ready(Daemon *d, const char *binary, char *const argv[], uint64_t watchdog_usec, int timeout_ms) {
        int r = harness_start(d, binary, argv, NULL, watchdog_usec);

        if (r < 0) {
                fprintf(stderr, "Failed to start %s: %s\n", binary, strerror(-r));
                return -1;
        }
        if (!harness_wait_notify(d, "READY=1", false, timeout_ms)) {
                fprintf(stderr, "%s sent no READY=1 within %d ms\n", binary, timeout_ms);
                harness_cleanup(d, true);
                return -1;
        }
        return 0;
}

int harness_stop_cleanup(Daemon *d, int timeout_ms) {
        int status = harness_stop(d, SIGTERM, timeout_ms, NULL);

        harness_cleanup(d, status != 0);
        return status == 0 ? 0 : -1;
}

long harness_vm_rss_kb(pid_t pid) {
        char path[64], line[256];
        long kb = -1;
        FILE *f;

        snprintf(path, sizeof(path), "/proc/%d/status", (int) pid);
        f = fopen(path, "re");
        if (!f)
                return -1;
        while (fgets(line, sizeof(line), f))
                if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
                        break;
        fclose(f);
        return kb;
}

int harness_run_capture(char *const argv[], char *buf, size_t size, int timeout_ms) {
        uint64_t deadline = harness_now_ms() + (uint64_t) timeout_ms;
        char scratch[256];
        size_t len = 0, dropped = 0;
        int p[2], status;
        pid_t pid;

        if (pipe2(p, O_CLOEXEC) < 0)
                return -1;
        pid = fork();
        if (pid < 0)
                return -1;
        if (pid == 0) {
                dup2(p[1], STDOUT_FILENO);
                dup2(p[1], STDERR_FILENO);
                execvp(argv[0], argv);
                _exit(127);
        }
        close(p[1]);
        (void) fcntl(p[0], F_SETFL, O_NONBLOCK);
        buf[0] = '\0';
        for (;;) {
                struct pollfd pf = { .fd = p[0], .events = POLLIN };
                uint64_t now = harness_now_ms();
                ssize_t n;

                if (now >= deadline) {
                        kill(pid, SIGKILL);
                        (void) waitpid(pid, NULL, 0);
                        close(p[0]);
                        return -1;
                }
                (void) poll(&pf, 1, (int) (deadline - now));
                if (len + 1 < size)
                        n = read(p[0], buf + len, size - 1 - len);
                else
                        n = read(p[0], scratch, sizeof(scratch)); /* keep the pipe flowing, drop */
                if (n > 0) {
                        if (len + 1 < size) {
                                len += (size_t) n;
                                buf[len] = '\0';
                        } else
                                dropped += (size_t) n;
                        continue;
                }
                if (n < 0 && errno != EAGAIN && errno != EINTR)
                        break;
                if (n == 0)
                        break;
        }
        close(p[0]);
        (void) waitpid(pid, &status, 0);
        /* Said, so that a failure to parse what was kept is not a mystery. */
        if (dropped > 0)
                fprintf(stderr, "harness: the output of %s was cut at %zu bytes (%zu more dropped)\n", argv[0], len,
                        dropped);
        return status;
}
