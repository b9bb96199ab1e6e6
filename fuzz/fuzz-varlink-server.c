/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Fuzz target: the Varlink server as a client drives it: framing, parsing, dispatch and every method,
 * through the real code (the generic server in varlink-server.c and varlink.c, the io.procwatch
 * methods in methods.c, Events in subscriptions.c, put together by server.c) on a real sd-event loop
 * and a real connection.
 *
 * Each input is one connection to a fresh server over a fresh tree of a few processes (live, exited,
 * displaced, a thread, odd bytes in comm and argv, two users). The server listens on an autobound
 * abstract AF_UNIX socket and accepts the connection itself, so the accept path, SO_PEERCRED and the
 * non-blocking reads and writes are the daemon's own. The input is:
 *
 *   byte 0     flags: FLAG_*
 *   bytes 1-3  chunk sizes (each + 1), used in turn
 *   the rest   what the client sends: Varlink messages, each ending in NUL (or anything else)
 *
 * The client writes the rest in those odd-sized chunks and runs the loop after each, reading every
 * reply as it comes; once an Events subscription is in place, the loop also publishes events the
 * tree applies. Then the client shuts its sending side and runs the loop until the server closes the
 * connection. Every loop run is counted against a bound, so no input can hang it.
 *
 * Beyond memory errors and leaks, it aborts when a promise of the server breaks: every reply is a
 * NUL-terminated JSON object (valid UTF-8, whatever bytes the processes hold) with "parameters" or
 * "error"; the server ends the connection once the client has stopped sending; nothing is left
 * behind (no client, no subscriber). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>
#include <systemd/sd-event.h>

#include "fuzz.h"
#include "log.h"
#include "proctree.h"
#include "server.h"

#define HZ 100
#define MS 1000000ULL

/* Limits narrow enough that short inputs reach them: an oversized request, a deep one, replies
 * generated in many steps, a reply too large to queue, a subscriber's full buffer. */
#define FLAG_NARROW_LIMITS 0x01
#define FLAG_HIDEPID 0x02
/* Connect with effective uid 65534, so that SO_PEERCRED says "not root" (when we are root). */
#define FLAG_NOBODY 0x04
#define HEADER_SIZE 4

/* Loop runs per input: far above what any input needs (one per chunk plus the replies). */
#define ROUNDS_MAX 200000U
/* A reply larger than this is a broken bound: output_max is 16 MiB at most. */
#define REPLY_MAX (VARLINK_SERVER_OUTPUT_MAX + 1U)

static void check(int ok, const char *what) {
        if (!ok) {
                fprintf(stderr, "fuzz-varlink-server: broken promise: %s\n", what);
                abort();
        }
}

static void get_stats(void *userdata, PwDaemonStats *ret) {
        static const CnProcStats cnproc = { .datagrams = 3, .events = 5, .events_by_kind = { 1, 2, 2 }, .malformed = 1 };

        ret->cnproc = &cnproc;
        ret->tree = userdata;
        ret->lost = 2;
}

static void add_proc(ProcTree *t, pid_t pid, pid_t ppid, uint64_t start_ns, const char *comm, const char *argv,
                     size_t argv_len, const char *cgroup, const char *unit, uint32_t uid) {
        PwProcInfo i = {
                .stat = { .pid = pid, .ppid = ppid, .sid = 1, .state = 'S' },
                .start_ns = start_ns,
                .start_boot_ns = start_ns,
                .have_status = true,
                .uid = uid, .euid = uid, .gid = uid, .egid = uid,
                .tgid = pid,
                .exe = argv ? (char *) "/usr/bin/\xff\"odd\"" : NULL,
                .exe_error = argv ? 0 : -ENOENT,
                .argv = (char *) argv,
                .argv_len = argv_len,
                .cgroup = (char *) cgroup,
                .unit = (char *) unit,
        };

        strncpy(i.stat.comm, comm, PW_COMM_MAX);
        check(proctree_add_from_proc(t, &i, PW_SOURCE_SCAN, HZ) == 0, "the tree builds");
}

static PwEvent ev_fork(uint64_t ts, pid_t ppid, pid_t pid, pid_t tgid) {
        return (PwEvent){ .kind = PW_EVENT_FORK, .timestamp_ns = ts,
                          .fork = { .parent_pid = ppid, .parent_tgid = ppid, .child_pid = pid, .child_tgid = tgid } };
}

static PwEvent ev_exit(uint64_t ts, pid_t pid, pid_t tgid, uint32_t code) {
        return (PwEvent){ .kind = PW_EVENT_EXIT, .timestamp_ns = ts,
                          .exit = { .pid = pid, .tgid = tgid, .code = code, .signal = pid == tgid ? SIGCHLD : -1 } };
}

static void apply(ProcTree *t, PwEvent ev) {
        check(proctree_apply(t, &ev, NULL) == 0, "the tree builds");
}

/* init(1) -> bash(100, uid 1000) -> sleep(200), "odd"(201, uid 65534, bytes that are not UTF-8),
 * exited false(202), crashed(203); 300 displaced by a new 300; kthreadd(2) -> kworker(3). */
static ProcTree *build_tree(void) {
        static const char sleep_argv[] = "sleep\0" "100";
        static const char odd_argv[] = "we ird\n arg0\0\0\xff\xfe\0a b\0\"quote\\";
        ProcTree *t;

        check(proctree_new(&t, NULL) == 0, "a tree");
        add_proc(t, 1, 0, 1 * MS, "init", "/sbin/init", 11, "/init.scope", "init.scope", 0);
        add_proc(t, 2, 0, 2 * MS, "kthreadd", NULL, 0, NULL, NULL, 0);
        add_proc(t, 3, 2, 3 * MS, "kworker/0:0", NULL, 0, NULL, NULL, 0);
        add_proc(t, 100, 1, 50 * MS, "bash", "bash", 5, "/user.slice/user-1000.slice/user@1000.service",
                 "user@1000.service", 1000);
        add_proc(t, 200, 100, 100 * MS, "sleep", sleep_argv, sizeof(sleep_argv),
                 "/user.slice/user-1000.slice/user@1000.service", "user@1000.service", 1000);
        add_proc(t, 201, 100, 105 * MS, ") (x\ny\\z\xff", odd_argv, sizeof(odd_argv), "/a:b c/\xc3(.service",
                 NULL, 65534);
        apply(t, ev_fork(110 * MS, 100, 202, 202));
        apply(t, ev_exit(120 * MS, 202, 202, 1 << 8));
        apply(t, ev_fork(130 * MS, 100, 203, 203));
        apply(t, ev_exit(140 * MS, 203, 203, SIGSEGV | 0x80));
        apply(t, ev_fork(150 * MS, 1, 300, 300));
        apply(t, ev_fork(160 * MS, 300, 301, 300)); /* a thread */
        apply(t, (PwEvent){ .kind = PW_EVENT_COMM, .timestamp_ns = 165 * MS,
                            .comm = { .pid = 300, .tgid = 300, .comm = "renamed\x80" } });
        apply(t, ev_fork(400 * MS, 1, 300, 300)); /* the first 300's EXIT never came: displaced */
        return t;
}

/* What the tree goes through while a subscriber listens: every kind, a thread, a new and an ended
 * process, and a user's and nobody's. */
static PwEvent next_event(unsigned i) {
        uint64_t ts = (1000 + i) * MS;

        switch (i % 8) {
        case 0:
                return ev_fork(ts, 100, 500 + (pid_t) i, 500 + (pid_t) i);
        case 1:
                return (PwEvent){ .kind = PW_EVENT_EXEC, .timestamp_ns = ts, .exec = { .pid = 500 + (pid_t) i - 1,
                                                                                      .tgid = 500 + (pid_t) i - 1 } };
        case 2:
                return (PwEvent){ .kind = PW_EVENT_COMM, .timestamp_ns = ts,
                                  .comm = { .pid = 200, .tgid = 200, .comm = "z\xff\"\n" } };
        case 3:
                return ev_fork(ts, 100, 600 + (pid_t) i, 200);
        case 4:
                return (PwEvent){ .kind = PW_EVENT_UID, .timestamp_ns = ts,
                                  .id = { .pid = 201, .tgid = 201, .real = 65534, .effective = 0 } };
        case 5:
                return ev_exit(ts, 600 + (pid_t) i - 2, 200, 0);
        case 6:
                return (PwEvent){ .kind = PW_EVENT_PTRACE, .timestamp_ns = ts,
                                  .ptrace = { .pid = 201, .tgid = 201, .tracer_pid = 100, .tracer_tgid = 100 } };
        default:
                return ev_exit(ts, 500 + (pid_t) i - 7, 500 + (pid_t) i - 7, 9);
        }
}

typedef struct Session {
        sd_event *event;
        ProcTree *tree;
        Server *server;
        int fd;                      /* the client's end */
        char *in;                    /* reply bytes not yet cut into messages */
        size_t in_len, in_alloc;
        bool closed;                 /* the server ended the connection */
        unsigned rounds;
        unsigned events;             /* events published */
} Session;

static void check_reply(const char *msg, size_t len) {
        static int show = -1;
        json_error_t err;
        json_t *j;

        /* FUZZ_SHOW_REPLIES=1: print them, to see what a seed reaches. */
        if (show < 0)
                show = getenv("FUZZ_SHOW_REPLIES") != NULL;
        if (show)
                fprintf(stderr, "reply: %.*s\n", (int) MIN(len, (size_t) 300), msg);

        j = json_loadb(msg, len, 0, &err);
        check(j != NULL, "a reply is JSON (and UTF-8)");
        check(json_is_object(j), "a reply is an object");
        check(json_is_object(json_object_get(j, "parameters")) || json_is_string(json_object_get(j, "error")),
              "a reply has parameters or an error");
        json_decref(j);
}

/* Reads what the server wrote and checks each complete message. */
static void client_drain(Session *s) {
        for (;;) {
                ssize_t n;
                size_t start = 0;

                if (s->in_alloc - s->in_len < 65536) {
                        size_t na = s->in_alloc ? s->in_alloc * 2 : 65536;
                        char *nb;

                        check(na <= 2 * REPLY_MAX + 65536, "a reply is bounded");
                        nb = realloc(s->in, na);
                        check(nb != NULL, "memory");
                        s->in = nb;
                        s->in_alloc = na;
                }
                n = recv(s->fd, s->in + s->in_len, s->in_alloc - s->in_len, MSG_DONTWAIT);
                if (n < 0) {
                        check(errno == EAGAIN || errno == ECONNRESET, "the connection reads");
                        if (errno == ECONNRESET)
                                s->closed = true;
                        return;
                }
                if (n == 0) {
                        s->closed = true;
                        return;
                }
                s->in_len += (size_t) n;
                for (char *nul; (nul = memchr(s->in + start, '\0', s->in_len - start));) {
                        check_reply(s->in + start, (size_t) (nul - (s->in + start)));
                        start = (size_t) (nul - s->in) + 1;
                }
                memmove(s->in, s->in + start, s->in_len - start);
                s->in_len -= start;
        }
}

/* Runs the loop until it has nothing to do, reading replies and publishing events as they come. */
static void pump(Session *s) {
        for (; s->rounds < ROUNDS_MAX; s->rounds++) {
                int r = sd_event_run(s->event, 0);

                check(r >= 0, "the loop runs");
                client_drain(s);
                if (server_n_subscribers(s->server) > 0 && s->events < 32) {
                        PwEvent ev = next_event(s->events++);
                        PwApplyResult res;

                        check(proctree_apply(s->tree, &ev, &res) == 0, "the tree applies");
                        server_publish_event(s->server, &ev, &res);
                        continue;
                }
                if (r == 0)
                        return;
        }
}

/* A listening socket with an abstract address the kernel picks, and a connection to it. */
static int connect_pair(int *ret_listen, int *ret_client, bool nobody) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        socklen_t sl = sizeof(sa_family_t);
        int lfd, cfd, r = 0;
        bool switched = false;

        lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (lfd < 0)
                return -errno;
        if (bind(lfd, (struct sockaddr *) &sa, sl) < 0 || listen(lfd, 4) < 0)
                goto fail;
        sl = sizeof(sa);
        if (getsockname(lfd, (struct sockaddr *) &sa, &sl) < 0)
                goto fail;
        cfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (cfd < 0)
                goto fail;
        /* The peer credentials are taken at connect(). Only this thread's effective uid changes (the
         * raw syscall, not glibc's process-wide seteuid()); without the privilege, we stay who we are. */
        if (nobody && geteuid() == 0)
                switched = syscall(SYS_setresuid, -1, 65534, -1) == 0;
        if (connect(cfd, (struct sockaddr *) &sa, sl) < 0)
                r = -errno;
        if (switched)
                check(syscall(SYS_setresuid, -1, 0, -1) == 0, "root again");
        if (r < 0) {
                close(cfd);
                close(lfd);
                return r;
        }
        *ret_listen = lfd;
        *ret_client = cfd;
        return 0;
fail:
        r = -errno;
        close(lfd);
        return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static const PwMethodsCallbacks cb = { .get_stats = get_stats };
        ServerLimits limits = SERVER_LIMITS_DEFAULT;
        Session s = { .fd = -EBADF };
        size_t pos = HEADER_SIZE;
        unsigned k = 0;
        uint8_t flags;
        int lfd = -EBADF;

        if (size < HEADER_SIZE)
                return 0;
        flags = data[0];
        /* Dropping clients and DropRetained log; a fuzzer's output is for its findings. */
        log_set_max_level(LOG_CRIT);

        if (flags & FLAG_NARROW_LIMITS)
                limits = (ServerLimits){
                        .transport = {
                                .clients_max = 4,
                                .request_max = 1024,
                                .depth_max = 8,
                                .output_chunk = 512,
                                .output_max = 8192,
                                .stall_usec = VARLINK_SERVER_STALL_USEC, /* a time-based drop would not replay */
                        },
                        .events = { .events_buffer_max = 1024 },
                };
        check(sd_event_new(&s.event) >= 0, "an event loop");
        s.tree = build_tree();
        check(server_new(&s.server, s.event, s.tree, &limits, &cb, s.tree) == 0, "a server");
        server_set_proc_mount(s.server, &(PwProcMount){ .hidepid = flags & FLAG_HIDEPID ? PW_HIDEPID_INVISIBLE : PW_HIDEPID_OFF });
        check(connect_pair(&lfd, &s.fd, flags & FLAG_NOBODY) == 0, "a connection");
        check(server_listen_fd(s.server, lfd) == 0, "the server listens");

        pump(&s);
        check(server_n_clients(s.server) == 1, "the connection is accepted");

        while (pos < size && !s.closed && s.rounds < ROUNDS_MAX) {
                size_t chunk = (size_t) data[1 + k++ % 3] + 1, n = MIN(chunk, size - pos);
                ssize_t w = send(s.fd, data + pos, n, MSG_NOSIGNAL | MSG_DONTWAIT);

                if (w > 0)
                        pos += (size_t) w;
                else if (w < 0 && errno != EAGAIN) {
                        check(errno == EPIPE || errno == ECONNRESET, "the connection writes");
                        break; /* the server hung up (an oversized request) */
                }
                pump(&s);
        }

        /* Nothing more to send: the server must finish what it has and hang up. */
        (void) shutdown(s.fd, SHUT_WR);
        while (!s.closed && s.rounds < ROUNDS_MAX) {
                unsigned before = s.rounds;

                pump(&s);
                if (s.rounds == before)
                        s.rounds++; /* an idle loop still counts */
        }
        check(s.closed, "the server ends the connection once the client is done");
        check(s.in_len == 0, "the last reply is complete");
        check(server_n_clients(s.server) == 0 && server_n_subscribers(s.server) == 0, "nothing is left behind");

        server_free(s.server);
        proctree_free(s.tree);
        sd_event_unref(s.event);
        close(s.fd);
        free(s.in);
        return 0;
}
