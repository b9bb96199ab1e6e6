/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The journal writer.
 *
 * Why a thread. sd_journal_sendv() is a blocking sendmsg() on journald's datagram socket, whose queue
 * holds only a few datagrams: once journald stops reading (stopped, busy, rate-limiting a storm's
 * worth of disk writes) the sender waits. The event loop must keep reading netlink meanwhile, or the
 * kernel drops process events. So the loop only takes a snapshot of the event and its record (the
 * record may be evicted before the entry goes out; pw_journal_snapshot_init(): a copy, no formatting)
 * and appends it to a queue; one writer thread, named "pw-journal", takes them off, builds each entry
 * into one builder it reuses (no allocation per entry) and sends them.
 *
 * Blocks recycled. A snapshot is taken into a block of JOURNAL_POOL_BLOCK bytes (nearly every one
 * fits) that the writer, once the entry is sent, keeps on a list and hands back under the lock it
 * takes for the next batch anyway; the loop takes that list under the lock it takes to queue. A block
 * allocated on one thread and freed on the other went through glibc's arena locks and bins at each
 * entry (a 2 KiB block is beyond the per-thread cache); now a storm allocates nothing per entry. At
 * most JOURNAL_POOL_MAX blocks wait on each side; the rest are freed.
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
 * The send. The writer speaks journald's native protocol itself: the builder writes each field in it
 * as it goes, so each entry is one contiguous datagram with no second pass, sent on a socket connected
 * once, where sd_journal_sendv() named the socket's path in every send (a path lookup each time) and
 * handed the kernel three or four iovecs per field. Up to JOURNAL_SEND_BATCH entries are built one
 * after the other into the builder and go in one sendmmsg(): one system call per batch. sendmmsg()
 * stops at the first datagram that fails; the writer goes on from there, so that each entry is
 * counted exactly once, forwarded or dropped with its reason (send_batch()). An entry too large for a
 * datagram goes through sd_journal_sendv(), which passes it in a memfd, and the rest of the batch
 * goes on after it.
 *
 * Absence. connect() says ENOENT when the socket file is missing and ECONNREFUSED when journald is
 * dead but the file remains; a send on the connection says ECONNREFUSED once journald has gone (a
 * restarted journald has a new socket: the writer connects again once, then gives up on that entry).
 * (sd_journal_sendv() took a missing socket for success, so the writer had to stat() the file before
 * every send.) Both cases are counted as not forwarded
 * (journald unavailable), says so in the log once, then tries again every JOURNAL_RETRY_USEC (the
 * entries in between are counted, not sent) and logs once when journald takes entries again.
 *
 * Honesty. After any drop, the first batch journald takes again is followed by one summary entry
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
        /* Snapshot blocks the writer is done with, for the loop to fill again. */
        PwJournalEntry *pool_returned;
        unsigned n_pool_returned;

        /* Counters read for Stats (__atomic builtins), each written by one thread, on a cache line of
         * its own (no locked instruction, no line shared with the other thread's writes). The
         * submitting thread (the loop) writes these, and takes snapshots into pool_loop's blocks... */
        _Alignas(64) uint64_t offered, dropped[_JOURNAL_DROP_MAX];
        PwJournalEntry *pool_loop;
        /* ... the writer these. */
        _Alignas(64) uint64_t forwarded, summaries, dropped_writer[_JOURNAL_DROP_MAX];
        uint64_t inflight;            /* taken off the queue, not yet handled: the count at shutdown */
        pid_t tid;

        /* Writer thread only. */
        _Alignas(64) bool unavailable;
        usec_t next_retry_usec;
        int fd;                       /* connected to socket_path, or -EBADF */
        PwJournalBuilder builder;     /* the batch's datagrams, one after the other */
        PwJournalBuilder spare;       /* an entry too large for a datagram, rebuilt for libsystemd */
        PwJournalEntry *sent[JOURNAL_SEND_BATCH];
        size_t n_sent;
        struct mmsghdr msgs[JOURNAL_SEND_BATCH];
        struct iovec msg_iov[JOURNAL_SEND_BATCH];
        PwJournalEntry *pool_writer, *pool_writer_tail;
        unsigned n_pool_writer;
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

/* A counter only one thread writes: a plain add, read whole by the others. */
static void count(uint64_t *c, uint64_t n) {
        __atomic_store_n(c, __atomic_load_n(c, __ATOMIC_RELAXED) + n, __ATOMIC_RELAXED);
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

/* Adds the current entry's PROCWATCH_USER= when it wants one and the name is known. */
static void add_user(Journal *j, PwJournalBuilder *b) {
        const char *name;

        if (!b->want_user)
                return;
        name = user_name(j, b->user_uid);
        if (name)
                (void) pw_journal_builder_add(b, "PROCWATCH_USER", name, strlen(name));
}

/* e as a new current entry of b, with its PROCWATCH_USER=. */
static int build(Journal *j, PwJournalBuilder *b, const PwJournalEntry *e) {
        int r = e->snapshot ? pw_journal_builder_build_snapshot(b, e) : pw_journal_builder_add_entry(b, e);

        if (r < 0) {
                pw_journal_builder_drop(b);
                return r;
        }
        add_user(j, b);
        return 0;
}

/* An entry too large for a datagram: libsystemd passes it in a memfd. It sends to the default path
 * only; another (a test's) gets the error. */
static int send_large(Journal *j, const PwJournalEntry *e, int error) {
        struct iovec iov[PW_JOURNAL_FIELDS_MAX];
        size_t n;
        int r;

        if (strcmp(j->socket_path, JOURNAL_SOCKET_PATH) != 0)
                return error;
        pw_journal_builder_reset(&j->spare);
        r = build(j, &j->spare, e);
        if (r < 0)
                return r;
        n = pw_journal_builder_iov(&j->spare, iov);
        if (n == 0)
                return -ENOMEM;
        return sd_journal_sendv(iov, (int) n);
}

/* journald did not take entries: n of them (the rest of a batch) are counted, and it is tried again
 * in JOURNAL_RETRY_USEC. */
static void count_unavailable(Journal *j, int r, uint64_t n) {
        usec_t now = now_usec(CLOCK_MONOTONIC);

        count(&j->dropped_writer[JOURNAL_DROP_UNAVAILABLE], n);
        if (!j->unavailable)
                log_warning_errno(r, "journald is not available (%s), process events are not "
                                     "forwarded until it is back, trying every %llu ms: %m",
                                  r == -ENOENT ? "no socket " JOURNAL_SOCKET_PATH : "send failed",
                                  (unsigned long long) (JOURNAL_RETRY_USEC / USEC_PER_MSEC));
        j->unavailable = true;
        j->next_retry_usec = now + JOURNAL_RETRY_USEC;
}

/* Sends the n datagrams built in j->builder (entries j->sent[0..n)) with sendmmsg() on the connection,
 * connecting (again) when needed. Every entry is counted once: forwarded, or dropped (too large for a
 * datagram and not passed on, or journald unavailable: then the rest of the batch too; events false:
 * the summary, which is not an event's entry and is not counted). sendmmsg() stops at the first
 * datagram that fails and returns how many went; the next call says why that one failed. Returns how
 * many journald took. */
static size_t send_batch(Journal *j, const size_t *offset, const size_t *size, size_t n, bool events) {
        size_t done = 0, taken = 0;
        bool retried = false;

        for (size_t i = 0; i < n; i++) {
                j->msg_iov[i] = (struct iovec){ .iov_base = j->builder.buf + offset[i], .iov_len = size[i] };
                j->msgs[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &j->msg_iov[i], .msg_iovlen = 1 } };
        }
        while (done < n) {
                int k, r;

                if (j->fd < 0) {
                        r = journal_connect(j);
                        if (r < 0) {
                                count_unavailable(j, r, events ? n - done : 0);
                                return taken;
                        }
                }
                k = sendmmsg(j->fd, j->msgs + done, (unsigned) (n - done), MSG_NOSIGNAL);
                if (k > 0) {
                        if (events)
                                count(&j->forwarded, (uint64_t) k);
                        if (j->unavailable) {
                                log_info("journald takes entries again, forwarding process events.");
                                j->unavailable = false;
                        }
                        done += (size_t) k;
                        taken += (size_t) k;
                        continue;
                }
                r = k < 0 ? -errno : -EIO;
                if (r == -EINTR)
                        continue;
                if (r == -EMSGSIZE || r == -ENOBUFS) {
                        /* This one is too large for a datagram; the rest go on. */
                        if (send_large(j, j->sent[done], r) >= 0) {
                                if (events)
                                        count(&j->forwarded, 1);
                                taken++;
                        } else if (events)
                                count(&j->dropped_writer[JOURNAL_DROP_UNAVAILABLE], 1);
                        done++;
                        continue;
                }
                j->fd = safe_close(j->fd);
                if (!retried) {
                        /* journald went away (perhaps restarted, with a new socket): once more, afresh. */
                        retried = true;
                        continue;
                }
                count_unavailable(j, r, events ? n - done : 0);
                return taken;
        }
        return taken;
}

/* Builds entries es[0..n) (n <= JOURNAL_SEND_BATCH) into one batch and sends it; returns how many
 * journald took. */
static size_t send_entries(Journal *j, PwJournalEntry *const *es, size_t n, bool events) {
        size_t offset[JOURNAL_SEND_BATCH], size[JOURNAL_SEND_BATCH], k = 0;

        pw_journal_builder_reset(&j->builder);
        for (size_t i = 0; i < n; i++) {
                if (build(j, &j->builder, es[i]) < 0) {
                        /* Not journald's fault (no memory): counted, and journald is not marked
                         * unavailable. */
                        if (events)
                                count(&j->dropped_writer[JOURNAL_DROP_UNAVAILABLE], 1);
                        continue;
                }
                size[k] = pw_journal_builder_datagram(&j->builder, &offset[k]);
                j->sent[k++] = es[i];
        }
        return k > 0 ? send_batch(j, offset, size, k, events) : 0;
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
                return; /* tried again after the next batch */
        if (send_entries(j, &e, 1, false) == 1) {
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

/* A block the writer is done with: kept for the loop (up to JOURNAL_POOL_MAX), or freed. */
static void release(Journal *j, PwJournalEntry *e) {
        if (!e->pooled || j->n_pool_writer >= JOURNAL_POOL_MAX) {
                free(e);
                return;
        }
        e->next = j->pool_writer;
        if (!j->pool_writer)
                j->pool_writer_tail = e;
        j->pool_writer = e;
        j->n_pool_writer++;
}

static void free_list(PwJournalEntry *e) {
        while (e) {
                PwJournalEntry *next = e->next;

                free(e);
                e = next;
        }
}

/* Hands the blocks the writer is done with to the loop (under lock); returns those the loop has no
 * room for, to free outside the lock. */
static PwJournalEntry *give_back_locked(Journal *j) {
        PwJournalEntry *surplus = NULL;

        if (!j->pool_writer)
                return NULL;
        if (j->n_pool_returned < JOURNAL_POOL_MAX) {
                j->pool_writer_tail->next = j->pool_returned;
                j->pool_returned = j->pool_writer;
                j->n_pool_returned += j->n_pool_writer;
        } else
                surplus = j->pool_writer; /* the loop is not taking them */
        j->pool_writer = j->pool_writer_tail = NULL;
        j->n_pool_writer = 0;
        return surplus;
}

/* Sends what was taken off the queue, JOURNAL_SEND_BATCH entries per sendmmsg(). While journald is
 * unavailable, entries are counted, not built, until the next try. */
static void handle(Journal *j, PwJournalEntry *batch) {
        while (batch) {
                PwJournalEntry *es[JOURNAL_SEND_BATCH];
                size_t n = 0, taken = 0;

                while (batch && n < JOURNAL_SEND_BATCH) {
                        es[n++] = batch;
                        batch = batch->next;
                }
                if (j->unavailable && now_usec(CLOCK_MONOTONIC) < j->next_retry_usec)
                        count(&j->dropped_writer[JOURNAL_DROP_UNAVAILABLE], n);
                else
                        taken = send_entries(j, es, n, true);
                for (size_t i = 0; i < n; i++)
                        release(j, es[i]);
                __atomic_sub_fetch(&j->inflight, n, __ATOMIC_RELAXED);
                if (batch && j->n_pool_writer >= JOURNAL_SEND_BATCH) {
                        /* A long batch: the loop gets the blocks back as they are done with, or it
                         * would allocate new ones meanwhile. */
                        PwJournalEntry *surplus;

                        (void) pthread_mutex_lock(&j->lock);
                        surplus = give_back_locked(j);
                        (void) pthread_mutex_unlock(&j->lock);
                        free_list(surplus);
                }
                if (taken > 0)
                        write_summary(j);
        }
}

static void *writer_main(void *userdata) {
        Journal *j = userdata;

        __atomic_store_n(&j->tid, gettid(), __ATOMIC_RELAXED);
        for (;;) {
                PwJournalEntry *batch, *surplus;

                /* Everything queued at once: one lock per batch, which also hands the blocks done
                 * with back to the loop. */
                (void) pthread_mutex_lock(&j->lock);
                surplus = give_back_locked(j);
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
                        free_list(surplus);
                        return NULL;
                }
                __atomic_store_n(&j->inflight, j->n_queued, __ATOMIC_RELAXED);
                j->head = j->tail = NULL;
                j->n_queued = 0;
                j->bytes_queued = 0;
                (void) pthread_mutex_unlock(&j->lock);
                free_list(surplus);

                handle(j, batch);
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
                        free_list(j->head);
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
        free_list(j->head);
        free_list(j->pool_loop);
        free_list(j->pool_returned);
        free_list(j->pool_writer);
        pw_journal_builder_done(&j->builder);
        pw_journal_builder_done(&j->spare);
        safe_close(j->fd);
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
                if (e->pooled) {
                        /* Taken again at once: a storm that fills the queue costs no malloc(). */
                        e->next = j->pool_loop;
                        j->pool_loop = e;
                } else
                        free(e);
                if (first)
                        log_warning("The journal queue is full (%u entries or %u MiB): journald is not keeping up; "
                                    "process event entries are dropped and counted until it does.",
                                    JOURNAL_QUEUE_MAX_ENTRIES, JOURNAL_QUEUE_MAX_BYTES >> 20);
                return -ENOBUFS;
        }
        if (!j->pool_loop && j->pool_returned) {
                /* The blocks the writer is done with, under the lock taken anyway. */
                j->pool_loop = j->pool_returned;
                j->pool_returned = NULL;
                j->n_pool_returned = 0;
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

int journal_submit_event(Journal *j, const PwEvent *ev, const PwApplyResult *res, const PwProcess *p,
                         const PwJournalContext *ctx) {
        size_t size = pw_journal_snapshot_size(p);
        bool pooled = size <= JOURNAL_POOL_BLOCK;
        PwJournalEntry *e;
        void *block;
        int r;

        if (size == 0)
                return -EINVAL;
        if (pooled && j->pool_loop) {
                block = j->pool_loop;
                j->pool_loop = j->pool_loop->next;
        } else
                block = malloc(pooled ? JOURNAL_POOL_BLOCK : size);
        if (!block)
                return -ENOMEM;
        r = pw_journal_snapshot_init(block, pooled ? JOURNAL_POOL_BLOCK : size, ev, res, p, ctx, &e);
        if (r < 0) {
                free(block);
                return r;
        }
        e->pooled = pooled;
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
