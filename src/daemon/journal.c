/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The journal writer.
 *
 * Why a thread. sd_journal_sendv() is a blocking sendmsg() on journald's datagram socket, whose queue
 * holds only a few datagrams: once journald stops reading (stopped, busy, rate-limiting a storm's
 * worth of disk writes) the sender waits. The event loop must keep reading netlink meanwhile, or the
 * kernel drops process events. So the loop only takes a snapshot of the event and its record (the
 * record may be evicted before the entry goes out; pw_journal_snapshot_new(): a copy, no formatting)
 * and appends it to a queue; one writer thread, named "pw-journal", takes them off, builds each entry
 * into one builder it reuses (no allocation per entry) and sends it.
 *
 * Cheap per entry. The loop queues with journal_submit_deferred(), which does not wake the writer,
 * and calls journal_kick() a little later (MANAGER_JOURNAL_KICK_USEC after the first entry queued
 * since the last kick): the writer then takes every queued entry under one lock, and a storm costs a
 * wake-up per batch of entries, not two futex calls and two context switches per entry.
 * JOURNAL_WAKE_BATCH entries queued wake it at once, so a storm does not leave it idle.
 *
 * Bounds. The queue holds at most JOURNAL_QUEUE_MAX_ENTRIES entries and JOURNAL_QUEUE_MAX_BYTES of
 * entry data; beyond either, journal_submit() frees the entry and counts it (queue full). Memory is
 * bounded whatever journald does, and ingest never waits.
 *
 * The send. The writer speaks journald's native protocol itself (pw_journal_native_encode()): each
 * entry is one contiguous datagram sent with one iovec on a socket connected once, where
 * sd_journal_sendv() named the socket's path in every send (a path lookup each time) and handed the
 * kernel three or four iovecs per field. An entry too large for a datagram goes through
 * sd_journal_sendv(), which passes it in a memfd.
 *
 * Absence. connect() says ENOENT when the socket file is missing and ECONNREFUSED when journald is
 * dead but the file remains; a send on the connection says ECONNREFUSED once journald has gone (a
 * restarted journald has a new socket: the writer connects again once, then gives up on that entry).
 * (sd_journal_sendv() took a missing socket for success, so the writer had to stat() the file before
 * every send.) Both cases are counted as not forwarded
 * (journald unavailable), says so in the log once, then tries again every JOURNAL_RETRY_USEC (the
 * entries in between are counted, not sent) and logs once when journald takes entries again.
 *
 * Honesty. After any drop, the first entry journald takes again is followed by one summary entry
 * (MESSAGE_ID PW_MESSAGE_NOT_FORWARDED): how many entries were not forwarded since the last summary,
 * and why. The counters are in STATUS= and in Stats.
 *
 * Shutdown. The writer gets JOURNAL_FLUSH_USEC to send what is queued. If it has not finished by
 * then (journald stopped: it is blocked in sendmsg()), the rest is counted as dropped at shutdown and
 * logged, and the thread is detached and left, with the Journal it uses, to the process's exit that
 * follows at once. It is not cancelled: libsystemd's send path is not written to be cancelled, and a
 * thread blocked in sendmsg() does no harm to an exiting process. */
#include <errno.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
/* No CODE_FILE=/CODE_LINE= of this file on every process event. */
#define SD_JOURNAL_SUPPRESS_LOCATION 1
#include <systemd/sd-journal.h>
#include <unistd.h>

#include "journal.h"
#include "log.h"
#include "procwatch/message-ids.h"

/* uid -> user name lookups remembered by the writer (NSS can be slow; it is never asked twice). */
#define JOURNAL_USER_CACHE 32U
#define JOURNAL_USER_NAME_MAX 64U

typedef struct UserCacheEntry {
        uint32_t uid;
        bool valid, found;
        char name[JOURNAL_USER_NAME_MAX];
} UserCacheEntry;

struct Journal {
        pthread_t thread;
        bool thread_started;
        pthread_mutex_t lock;
        pthread_cond_t wake;          /* the writer waits for entries or stop */
        pthread_cond_t done;          /* journal_free() waits for the writer to finish */
        char *socket_path;

        /* Under lock. */
        PwJournalEntry *head, *tail;
        size_t n_queued, bytes_queued;
        bool stop, exited;
        bool waiting;                 /* the writer sleeps on wake: a kick must signal */
        bool full_incident;           /* logged "queue full" since the last summary */

        /* Atomic counters (__atomic builtins), read for Stats. The loop writes these... */
        uint64_t offered, dropped[_JOURNAL_DROP_MAX];
        /* ... the writer these, on a cache line of their own. */
        _Alignas(64) uint64_t forwarded, summaries, dropped_writer[_JOURNAL_DROP_MAX];
        uint64_t inflight;            /* taken off the queue, not yet handled: the count at shutdown */
        pid_t tid;

        /* Writer thread only. */
        _Alignas(64) bool unavailable;
        usec_t next_retry_usec;
        int fd;                       /* connected to socket_path, or -EBADF */
        char *dgram;                  /* the datagram being sent, kept between entries */
        size_t dgram_alloc;
        PwJournalBuilder builder;
        struct iovec iov[PW_JOURNAL_FIELDS_MAX];
        uint64_t reported[_JOURNAL_DROP_MAX];
        UserCacheEntry users[JOURNAL_USER_CACHE];
        unsigned next_user;
};

static const char *const drop_reasons[_JOURNAL_DROP_MAX] = {
        [JOURNAL_DROP_QUEUE_FULL] = "queue_full",
        [JOURNAL_DROP_UNAVAILABLE] = "unavailable",
        [JOURNAL_DROP_SHUTDOWN] = "shutdown",
};

const char *journal_drop_reason_to_string(JournalDropReason r) {
        return (unsigned) r < _JOURNAL_DROP_MAX ? drop_reasons[r] : NULL;
}

static void count(uint64_t *c, uint64_t n) {
        __atomic_add_fetch(c, n, __ATOMIC_RELAXED);
}

static uint64_t get(const uint64_t *c) {
        return __atomic_load_n(c, __ATOMIC_RELAXED);
}

static const char *user_name(Journal *j, uint32_t uid) {
        UserCacheEntry *u;
        struct passwd pw, *res = NULL;
        char buf[1024];

        for (unsigned i = 0; i < JOURNAL_USER_CACHE; i++)
                if (j->users[i].valid && j->users[i].uid == uid)
                        return j->users[i].found ? j->users[i].name : NULL;
        u = &j->users[j->next_user++ % JOURNAL_USER_CACHE];
        *u = (UserCacheEntry){ .uid = uid, .valid = true };
        if (getpwuid_r((uid_t) uid, &pw, buf, sizeof(buf), &res) == 0 && res &&
            strlen(res->pw_name) < sizeof(u->name)) {
                strcpy(u->name, res->pw_name);
                u->found = true;
        }
        return u->found ? u->name : NULL;
}

static uint64_t dropped(Journal *j, JournalDropReason r) {
        return get(&j->dropped[r]) + get(&j->dropped_writer[r]);
}

static int journal_connect(Journal *j) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd, sndbuf = 8 * 1024 * 1024;

        if (strlen(j->socket_path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, j->socket_path);
        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        /* As libsystemd does: room for bursts before a send blocks. Best effort. */
        (void) setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
        if (connect(fd, (struct sockaddr *) &sa, SUN_LEN(&sa)) < 0) {
                int r = -errno;

                (void) close(fd);
                return r;
        }
        j->fd = fd;
        return 0;
}

/* One datagram in the native protocol on the connection; connects (again) when needed. */
static int send_native(Journal *j, const struct iovec *iov, size_t n) {
        size_t size = pw_journal_native_encode(iov, n, j->dgram, j->dgram_alloc);
        int r = 0;

        if (size > j->dgram_alloc) {
                size_t na = MAX(size, 2 * j->dgram_alloc);
                char *nd = realloc(j->dgram, na);

                if (!nd)
                        return -ENOMEM;
                j->dgram = nd;
                j->dgram_alloc = na;
                size = pw_journal_native_encode(iov, n, j->dgram, j->dgram_alloc);
        }
        for (unsigned attempt = 0; attempt < 2; attempt++) {
                if (j->fd < 0) {
                        r = journal_connect(j);
                        if (r < 0)
                                return r;
                }
                if (send(j->fd, j->dgram, size, MSG_NOSIGNAL) >= 0)
                        return 0;
                r = -errno;
                if (r == -EMSGSIZE || r == -ENOBUFS)
                        /* Too large for a datagram: libsystemd passes it in a memfd. It sends to
                         * the default path only. */
                        return strcmp(j->socket_path, JOURNAL_SOCKET_PATH) == 0 ? sd_journal_sendv(iov, (int) n) : r;
                /* journald went away (perhaps restarted, with a new socket): once more, afresh. */
                j->fd = safe_close(j->fd);
        }
        return r;
}

/* One send, absence checked first; an event's snapshot is built here. Returns 0 when journald took
 * it, -ENOENT when its socket is not there, or what building or sending failed with. */
static int send_entry(Journal *j, PwJournalEntry *e) {
        char user[sizeof("PROCWATCH_USER=") + JOURNAL_USER_NAME_MAX];
        struct iovec *iov = e->iov;
        size_t n = e->n_iov;
        bool want_user = e->want_user;
        uint32_t uid = e->user_uid;

        if (e->snapshot) {
                int r = pw_journal_builder_build_snapshot(&j->builder, e);

                if (r < 0)
                        return r;
                iov = j->iov;
                n = pw_journal_builder_iov(&j->builder, iov);
                want_user = j->builder.want_user;
                uid = j->builder.user_uid;
        }
        if (want_user && n < PW_JOURNAL_FIELDS_MAX) {
                const char *name = user_name(j, uid);

                if (name) {
                        size_t k = strlen(name);

                        static const char prefix[] = "PROCWATCH_USER=";

                        memcpy(user, prefix, sizeof(prefix) - 1);
                        memcpy(user + sizeof(prefix) - 1, name, k);
                        iov[n++] = (struct iovec){ .iov_base = user, .iov_len = sizeof(prefix) - 1 + k };
                }
        }
        return send_native(j, iov, n);
}

static void write_summary(Journal *j) {
        uint64_t d[_JOURNAL_DROP_MAX], total = 0;
        char msg[256], f0[64], f1[64], f2[64], f3[64];
        const char *extra[5] = { f0, f1, f2, f3, NULL };
        PwJournalEntry *e = NULL;

        for (unsigned i = 0; i < _JOURNAL_DROP_MAX; i++) {
                d[i] = dropped(j, i) - j->reported[i];
                total += d[i];
        }
        if (total == 0)
                return;
        snprintf(msg, sizeof(msg),
                 "%llu process event entries not forwarded (%llu queue full, %llu journald unavailable)",
                 (unsigned long long) total, (unsigned long long) d[JOURNAL_DROP_QUEUE_FULL],
                 (unsigned long long) d[JOURNAL_DROP_UNAVAILABLE]);
        snprintf(f0, sizeof(f0), "PROCWATCH_NOT_FORWARDED=%llu", (unsigned long long) total);
        snprintf(f1, sizeof(f1), "PROCWATCH_NOT_FORWARDED_QUEUE_FULL=%llu",
                 (unsigned long long) d[JOURNAL_DROP_QUEUE_FULL]);
        snprintf(f2, sizeof(f2), "PROCWATCH_NOT_FORWARDED_UNAVAILABLE=%llu",
                 (unsigned long long) d[JOURNAL_DROP_UNAVAILABLE]);
        snprintf(f3, sizeof(f3), "PROCWATCH_FORWARDED=%llu", (unsigned long long) get(&j->forwarded));
        if (pw_journal_entry_message(PW_MESSAGE_NOT_FORWARDED, PW_JOURNAL_PRIORITY_WARNING, msg, extra, &e) < 0)
                return; /* tried again after the next entry */
        if (send_entry(j, e) >= 0) {
                for (unsigned i = 0; i < _JOURNAL_DROP_MAX; i++)
                        j->reported[i] += d[i];
                count(&j->summaries, 1);
                log_warning("%s.", msg);
                (void) pthread_mutex_lock(&j->lock);
                j->full_incident = false;
                (void) pthread_mutex_unlock(&j->lock);
        }
        free(e);
}

static void handle(Journal *j, PwJournalEntry *e) {
        usec_t now = now_usec(CLOCK_MONOTONIC);
        int r;

        if (j->unavailable && now < j->next_retry_usec) {
                count(&j->dropped_writer[JOURNAL_DROP_UNAVAILABLE], 1);
                return;
        }
        r = send_entry(j, e);
        if (r == -ENOMEM && e->snapshot) {
                /* Not journald's fault: counted, and journald is not marked unavailable. */
                count(&j->dropped_writer[JOURNAL_DROP_UNAVAILABLE], 1);
                return;
        }
        if (r < 0) {
                count(&j->dropped_writer[JOURNAL_DROP_UNAVAILABLE], 1);
                if (!j->unavailable)
                        log_warning_errno(r, "journald is not available (%s), process events are not "
                                             "forwarded until it is back, trying every %llu ms: %m",
                                          r == -ENOENT ? "no socket " JOURNAL_SOCKET_PATH : "send failed",
                                          (unsigned long long) (JOURNAL_RETRY_USEC / USEC_PER_MSEC));
                j->unavailable = true;
                j->next_retry_usec = now + JOURNAL_RETRY_USEC;
                return;
        }
        count(&j->forwarded, 1);
        if (j->unavailable) {
                log_info("journald takes entries again, forwarding process events.");
                j->unavailable = false;
        }
        write_summary(j);
}

static void *writer_main(void *userdata) {
        Journal *j = userdata;

        __atomic_store_n(&j->tid, gettid(), __ATOMIC_RELAXED);
        for (;;) {
                PwJournalEntry *batch;

                /* Everything queued at once: one lock per batch. */
                (void) pthread_mutex_lock(&j->lock);
                while (!j->head && !j->stop) {
                        j->waiting = true;
                        (void) pthread_cond_wait(&j->wake, &j->lock);
                        j->waiting = false;
                }
                batch = j->head;
                if (!batch) {
                        j->exited = true;
                        (void) pthread_cond_broadcast(&j->done);
                        (void) pthread_mutex_unlock(&j->lock);
                        return NULL;
                }
                __atomic_store_n(&j->inflight, j->n_queued, __ATOMIC_RELAXED);
                j->head = j->tail = NULL;
                j->n_queued = 0;
                j->bytes_queued = 0;
                (void) pthread_mutex_unlock(&j->lock);

                while (batch) {
                        PwJournalEntry *e = batch;

                        batch = e->next;
                        handle(j, e);
                        free(e);
                        __atomic_sub_fetch(&j->inflight, 1, __ATOMIC_RELAXED);
                }
        }
}

int journal_new(Journal **ret, const char *socket_path) {
        Journal *j;
        pthread_condattr_t ca;
        sigset_t all, old;
        int r;

        j = calloc(1, sizeof(*j));
        if (!j)
                return -ENOMEM;
        j->socket_path = strdup(socket_path ?: JOURNAL_SOCKET_PATH);
        if (!j->socket_path) {
                free(j);
                return -ENOMEM;
        }
        (void) pthread_mutex_init(&j->lock, NULL);
        j->fd = -EBADF;
        (void) pthread_cond_init(&j->wake, NULL);
        (void) pthread_condattr_init(&ca);
        (void) pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        (void) pthread_cond_init(&j->done, &ca);
        (void) pthread_condattr_destroy(&ca);

        /* Signals stay with the event loop's thread. */
        sigfillset(&all);
        (void) pthread_sigmask(SIG_SETMASK, &all, &old);
        r = -pthread_create(&j->thread, NULL, writer_main, j);
        (void) pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (r < 0) {
                journal_free(j);
                return r;
        }
        j->thread_started = true;
        (void) pthread_setname_np(j->thread, "pw-journal");
        *ret = j;
        return 0;
}

static void free_queue(PwJournalEntry *e) {
        while (e) {
                PwJournalEntry *next = e->next;

                free(e);
                e = next;
        }
}

Journal *journal_free(Journal *j) {
        struct timespec deadline;
        uint64_t left = 0;
        bool exited;

        if (!j)
                return NULL;
        if (j->thread_started) {
                (void) clock_gettime(CLOCK_MONOTONIC, &deadline);
                deadline.tv_nsec += (long) (JOURNAL_FLUSH_USEC * 1000U);
                deadline.tv_sec += deadline.tv_nsec / 1000000000L;
                deadline.tv_nsec %= 1000000000L;

                (void) pthread_mutex_lock(&j->lock);
                j->stop = true;
                (void) pthread_cond_signal(&j->wake);
                while (!j->exited)
                        if (pthread_cond_timedwait(&j->done, &j->lock, &deadline) == ETIMEDOUT)
                                break;
                exited = j->exited;
                if (!exited) {
                        /* Blocked on journald: what is left will not be sent. */
                        left = j->n_queued + __atomic_load_n(&j->inflight, __ATOMIC_RELAXED);
                        free_queue(j->head);
                        j->head = j->tail = NULL;
                        j->n_queued = j->bytes_queued = 0;
                }
                (void) pthread_mutex_unlock(&j->lock);
                if (!exited) {
                        count(&j->dropped[JOURNAL_DROP_SHUTDOWN], left);
                        log_warning("journald did not take %llu queued process event entries within %llu ms "
                                    "of shutdown; they are not forwarded.",
                                    (unsigned long long) left, (unsigned long long) (JOURNAL_FLUSH_USEC / USEC_PER_MSEC));
                        /* Blocked in sendmsg(): left to the process's exit (see the top). */
                        (void) pthread_detach(j->thread);
                        return NULL;
                }
                (void) pthread_join(j->thread, NULL);
        }
        free_queue(j->head);
        pw_journal_builder_done(&j->builder);
        safe_close(j->fd);
        free(j->dgram);
        (void) pthread_cond_destroy(&j->wake);
        (void) pthread_cond_destroy(&j->done);
        (void) pthread_mutex_destroy(&j->lock);
        free(j->socket_path);
        free(j);
        return NULL;
}

static int queue(Journal *j, PwJournalEntry *e, bool wake) {
        bool first = false;

        e->next = NULL;
        count(&j->offered, 1);
        (void) pthread_mutex_lock(&j->lock);
        if (j->stop || j->n_queued >= JOURNAL_QUEUE_MAX_ENTRIES || j->bytes_queued + e->bytes > JOURNAL_QUEUE_MAX_BYTES) {
                first = !j->full_incident;
                j->full_incident = true;
                (void) pthread_mutex_unlock(&j->lock);
                count(&j->dropped[JOURNAL_DROP_QUEUE_FULL], 1);
                free(e);
                if (first)
                        log_warning("The journal queue is full (%u entries or %u MiB): journald is not keeping up; "
                                    "process event entries are dropped and counted until it does.",
                                    JOURNAL_QUEUE_MAX_ENTRIES, JOURNAL_QUEUE_MAX_BYTES >> 20);
                return -ENOBUFS;
        }
        if (j->tail)
                j->tail->next = e;
        else
                j->head = e;
        j->tail = e;
        j->n_queued++;
        j->bytes_queued += e->bytes;
        if (j->waiting && (wake || j->n_queued >= JOURNAL_WAKE_BATCH)) {
                j->waiting = false; /* one signal is enough */
                (void) pthread_cond_signal(&j->wake);
        }
        (void) pthread_mutex_unlock(&j->lock);
        return 0;
}

int journal_submit(Journal *j, PwJournalEntry *e) {
        return queue(j, e, true);
}

int journal_submit_deferred(Journal *j, PwJournalEntry *e) {
        return queue(j, e, false);
}

void journal_kick(Journal *j) {
        if (!j)
                return;
        (void) pthread_mutex_lock(&j->lock);
        if (j->waiting && j->head) {
                j->waiting = false;
                (void) pthread_cond_signal(&j->wake);
        }
        (void) pthread_mutex_unlock(&j->lock);
}

void journal_get_stats(Journal *j, JournalStats *ret) {
        *ret = (JournalStats){};
        if (!j)
                return;
        ret->offered = get(&j->offered);
        ret->forwarded = get(&j->forwarded);
        for (unsigned i = 0; i < _JOURNAL_DROP_MAX; i++)
                ret->dropped[i] = dropped(j, i);
        ret->summaries = get(&j->summaries);
        ret->writer_tid = __atomic_load_n(&j->tid, __ATOMIC_RELAXED);
        (void) pthread_mutex_lock(&j->lock);
        ret->queued = j->n_queued + __atomic_load_n(&j->inflight, __ATOMIC_RELAXED);
        (void) pthread_mutex_unlock(&j->lock);
}

uint64_t journal_stats_dropped(const JournalStats *s) {
        uint64_t t = 0;

        for (unsigned i = 0; i < _JOURNAL_DROP_MAX; i++)
                t += s->dropped[i];
        return t;
}
