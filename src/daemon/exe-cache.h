/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Naming an executable from its device and inode: what a lost race can still recover.
 *
 * A process that exits before the daemon reads /proc/PID/exe after its EXEC keeps no exe. Its
 * taskstats record still carries the device and inode of the file it ran (ac_exe_dev, ac_exe_inode).
 * This cache remembers, for processes that were read, the path of their executable together with
 * the device and inode their own taskstats record gave, and names a device and inode that one of
 * them ran. Nothing is stat(2)'ed: a path on a hung network file system or a stalled FUSE mount
 * cannot block the caller (the event loop). The path is where the file was when its process was
 * read; a process in another mount namespace may have known the same file by another name.
 *
 * Bounded: EXE_CACHE_SLOTS files, the least recently noted replaced first; noting and finding are
 * O(1) through an index on device and inode. Not thread-safe; no logging. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#define EXE_CACHE_SLOTS 256U
/* Paths longer than this are not kept. */
#define EXE_CACHE_PATH_MAX 4096U

typedef struct ExeCache ExeCache;

typedef struct ExeCacheStats {
        uint64_t noted;          /* files added (not counting ones already there) */
        uint64_t lookups;
        uint64_t named;          /* lookups that found the file */
} ExeCacheStats;

ExeCache *exe_cache_new(void);
ExeCache *exe_cache_free(ExeCache *c);

/* Remembers that a process ran the file dev:ino (dev in the kernel's encoding, as taskstats gives it)
 * found at path. A file noted again keeps its first path and becomes the most recent. Files that
 * have no path to name them by (" (deleted)" ones, relative ones, inode 0) are not kept. Returns 0,
 * or -ENOMEM (nothing changes). */
int exe_cache_note(ExeCache *c, const char *path, uint64_t dev, uint64_t ino);

/* The path of a remembered file dev:ino, or NULL. The string stays valid until the next note. */
const char *exe_cache_find(ExeCache *c, uint64_t dev, uint64_t ino);

const ExeCacheStats *exe_cache_get_stats(const ExeCache *c);
