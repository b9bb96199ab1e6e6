/* SPDX-License-Identifier: GPL-2.0-or-later */
/* One journal entry per forwarded event: the "FIELD=value" fields, built from the event, what applying
 * it did and the process record, and their encoding in journald's native protocol. Pure: no I/O, no
 * logging, no clocks read (the realtime offset is passed in). What the entry needs of the record is
 * copied (a snapshot, or the entry itself), each in one block of memory: the record may be evicted
 * before the writer thread sends it.
 *
 * Values are raw bytes (the native protocol is binary-safe: a newline or 0xff in a comm goes through
 * intact). MESSAGE is one readable line: control characters (C0 and C1), '\\' and invalid UTF-8 are
 * escaped (\n, \t, \\, \xNN) by the one display escape, utf8_escape_next(). Long values are cut at
 * named bounds and marked. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "cnproc-parse.h"
#include "journal-filter.h"
#include "proctree.h"

/* PROCWATCH_CMDLINE carries at most this many bytes of the command line (words joined by spaces);
 * beyond, it is cut and PROCWATCH_CMDLINE_TRUNCATED=1 is added (also when the tree's copy of argv
 * was already cut, see --argv-max). */
#define PW_JOURNAL_CMDLINE_MAX (16U * 1024U)
/* MESSAGE shows at most this many bytes of the command line, then "...". */
#define PW_JOURNAL_MESSAGE_CMDLINE_MAX 512U
/* exe, cgroup and unit are paths below PATH_MAX already; this bounds any other value. */
#define PW_JOURNAL_VALUE_MAX (PW_PATH_MAX + 64U)
/* Fields in one entry, with room for the ones the writer adds (PROCWATCH_USER). */
#define PW_JOURNAL_FIELDS_MAX 72U

/* PRIORITY: warning for a death by signal or a core dump, notice for a non-zero exit code,
 * info for everything else (and for daemon messages as given). */
#define PW_JOURNAL_PRIORITY_INFO 6
#define PW_JOURNAL_PRIORITY_NOTICE 5
#define PW_JOURNAL_PRIORITY_WARNING 4

/* What the writer thread needs to build an event's entry, copied off the tree on the event loop (see
 * pw_journal_snapshot_new()). Opaque. */
typedef struct PwJournalSnapshot PwJournalSnapshot;

/* One malloc'ed block (free()): either a ready-built entry (n_iov iovecs, with room for one more, the
 * PROCWATCH_USER= the writer adds) or, when snapshot is set, an event to build in the writer thread
 * (n_iov 0). */
typedef struct PwJournalEntry PwJournalEntry;
struct PwJournalEntry {
        PwJournalEntry *next;         /* the writer's queue */
        size_t n_iov;
        size_t bytes;                 /* the block's payload, for the queue's byte bound */
        bool want_user;               /* the writer adds PROCWATCH_USER= for user_uid */
        bool pooled;                  /* a block of the writer's free list (journal.c), free() still fine */
        uint32_t user_uid;
        struct iovec *iov;            /* in data */
        PwJournalSnapshot *snapshot;  /* in data */
        _Alignas(16) char data[];
};

/* Builds entries, already in journald's native protocol (pw_journal_native_encode()), one after the
 * other into storage it keeps: the writer thread builds a batch of datagrams into one builder and sends
 * them with one sendmmsg(), and reuses it for every batch, so an entry costs no allocation once the
 * buffers have grown to the largest batch seen. Each build appends one entry (the current one) after
 * those held; pw_journal_builder_reset() empties it. Zero-initialise; free the storage with
 * pw_journal_builder_done(). */
typedef struct PwJournalBuilder {
        char *buf, *tmp, *flat;
        size_t len, alloc, tmp_alloc, flat_alloc;
        size_t start;                 /* where the current entry begins in buf */
        size_t n;                     /* its fields */
        bool failed;
        bool want_user;               /* the entry's PROCWATCH_USER= is for user_uid */
        uint32_t user_uid;
        /* Its fields: offset in buf, name and value lengths; binary: in the binary-safe form. */
        size_t off[PW_JOURNAL_FIELDS_MAX], name_len[PW_JOURNAL_FIELDS_MAX], value_len[PW_JOURNAL_FIELDS_MAX];
        bool binary[PW_JOURNAL_FIELDS_MAX];
} PwJournalBuilder;

/* Drops every entry held. */
void pw_journal_builder_reset(PwJournalBuilder *b);
void pw_journal_builder_done(PwJournalBuilder *b);
/* Starts a new current entry after those held (the build functions below do this themselves). */
void pw_journal_builder_begin(PwJournalBuilder *b);
/* Drops the current entry (one that failed), keeping those before it. */
void pw_journal_builder_drop(PwJournalBuilder *b);
/* Adds a field to the current entry: "NAME=" then n raw bytes. Returns 0 or -ENOMEM (the entry is then
 * incomplete: drop it). */
int pw_journal_builder_add(PwJournalBuilder *b, const char *name, const void *value, size_t n);
/* The current entry as one datagram of the native protocol: its offset in b->buf (valid until b is
 * used again) and its size. */
size_t pw_journal_builder_datagram(const PwJournalBuilder *b, size_t *ret_offset);
/* The current entry's fields as "NAME=value" iovecs (into b's storage, valid until b is used again);
 * returns how many, or 0 when out of memory. iov has room for PW_JOURNAL_FIELDS_MAX. */
size_t pw_journal_builder_iov(PwJournalBuilder *b, struct iovec *iov);
/* A ready-built entry's fields (e->iov) as a new current entry, with e's want_user. */
int pw_journal_builder_add_entry(PwJournalBuilder *b, const PwJournalEntry *e);

typedef struct PwJournalContext {
        const PwJournalFilter *filter;  /* argv privacy; NULL: full */
        int64_t realtime_offset_ns;     /* CLOCK_REALTIME - CLOCK_MONOTONIC */
        bool resources;                 /* taskstats is on: an exit without its record says so */
} PwJournalContext;

/* Builds the entry for ev (as applied: res, and p its record, which must not be NULL). The entry is
 * malloc'ed (free()). Returns 0, -EINVAL (no record), -ENOMEM. */
int pw_journal_entry_build(const PwEvent *ev, const PwApplyResult *res, const PwProcess *p,
                           const PwJournalContext *ctx, PwJournalEntry **ret);
/* The same fields, into b as a new current entry. */
int pw_journal_builder_build(PwJournalBuilder *b, const PwEvent *ev, const PwApplyResult *res,
                             const PwProcess *p, const PwJournalContext *ctx);

/* What pw_journal_entry_build() reads of the event, its record, the parent's comm, the record's own
 * resources and the strings (argv, exe, cgroup, units), copied into one block: the record may change
 * or be evicted before the writer thread builds the entry, and the tree's strings are not shared
 * across threads (their reference counts and budget charges belong to the loop). ctx->filter is kept
 * by pointer and must outlive the snapshot. No formatting is done here.
 *
 * pw_journal_snapshot_size() is the block's size for p (0: p NULL); pw_journal_snapshot_init() fills
 * block (at least that size, 16-byte aligned, e.g. from malloc()) and returns the entry at its start;
 * pw_journal_snapshot_new() does both in a malloc'ed block. Return 0, -EINVAL, -ENOMEM. */
size_t pw_journal_snapshot_size(const PwProcess *p);
int pw_journal_snapshot_init(void *block, size_t size, const PwEvent *ev, const PwApplyResult *res,
                             const PwProcess *p, const PwJournalContext *ctx, PwJournalEntry **ret);
int pw_journal_snapshot_new(const PwEvent *ev, const PwApplyResult *res, const PwProcess *p,
                            const PwJournalContext *ctx, PwJournalEntry **ret);
/* Builds the entry e->snapshot describes into b as a new current entry: exactly what
 * pw_journal_builder_build() gives for the event and record as they were when the snapshot was
 * taken. */
int pw_journal_builder_build_snapshot(PwJournalBuilder *b, const PwJournalEntry *e);

/* journald's native protocol: the datagram for the fields iov[0..n) ("NAME=value" each) is
 * "NAME=value\n" per field, or, for a value holding a newline, "NAME\n", the value's length as a
 * 64-bit little-endian number, the value and "\n" (binary-safe). Writes it into buf when it fits in
 * size bytes; returns its size either way. */
size_t pw_journal_native_encode(const struct iovec *iov, size_t n, char *buf, size_t size);

/* A daemon message: MESSAGE, MESSAGE_ID, PRIORITY, SYSLOG_IDENTIFIER and the extra "FIELD=value"
 * strings (NULL-terminated list, may be NULL). */
int pw_journal_entry_message(const char *message_id, int priority, const char *message,
                             const char *const *extra, PwJournalEntry **ret);

/* PRIORITY of an event entry (see above). */
int pw_journal_priority(const PwEvent *ev, const PwApplyResult *res, const PwProcess *p);

/* Appends s (n bytes) to out (size bytes, always NUL-terminated) escaped for MESSAGE as set out at
 * the top; returns the length it would have (like snprintf). */
size_t pw_journal_escape(const char *s, size_t n, char *out, size_t size);
