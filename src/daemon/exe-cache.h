/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Naming an executable from its device and inode: what a lost race can still recover.
 *
 * A process that exits before the daemon reads /proc/PID/exe after its EXEC keeps no exe. Its
 * taskstats record still carries the device and inode of the file it ran (ac_exe_dev, ac_exe_inode).
 * This cache remembers the executables of processes that were read (their paths, noted as they
 * exit), and names a device and inode when one of them is that same file: stat(2) of the path,
 * made when first needed and made again to confirm a match (a path can name another file by now:
 * then nothing is named). Paths are the daemon's view of the file system; a process in another mount
 * namespace may have known the same file by another name.
 *
 * Bounded: EXE_CACHE_SLOTS paths, the least recently noted replaced first; lookups stat each path
 * at most once until it is noted again, plus once to confirm a match. Not thread-safe; no logging. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#define EXE_CACHE_SLOTS 256U
/* Paths longer than this are not kept. */
#define EXE_CACHE_PATH_MAX 4096U

typedef struct ExeCache ExeCache;

typedef struct ExeCacheStats {
        uint64_t noted;          /* paths added (not counting ones already there) */
        uint64_t lookups;
        uint64_t named;          /* lookups that found the file */
        uint64_t stats;          /* stat(2) calls made */
} ExeCacheStats;

ExeCache *exe_cache_new(void);
ExeCache *exe_cache_free(ExeCache *c);

/* Remembers that path is an executable some process ran. Paths that cannot be stat'ed later (" (deleted)"
 * ones, relative ones) are not kept. Returns 0, or -ENOMEM (nothing changes). */
int exe_cache_note(ExeCache *c, const char *path);

/* The path of a remembered executable that is the file dev:ino (dev in the kernel's encoding, as
 * taskstats and stat(2) give it), or NULL. The string stays valid until the next call. */
const char *exe_cache_find(ExeCache *c, uint64_t dev, uint64_t ino);

const ExeCacheStats *exe_cache_get_stats(const ExeCache *c);
