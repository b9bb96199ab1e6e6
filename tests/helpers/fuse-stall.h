/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A FUSE file system (root only) whose one file "f" never answers a read until released, as a hung
 * network file system does. The kernel keeps /proc/PID/cmdline and environ reads away from
 * file-backed pages (FOLL_ANON) and a userfaultfd page fails them at once, so neither can make such
 * a read wait by itself; the target's mmap_lock can (fuse_stall_lock_mm()).
 *
 * Spoken over /dev/fuse by a thread of the test, with no libfuse. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

typedef struct FuseStall FuseStall;

/* Mounts a fresh instance under a scratch folder of the caller (dir must exist and be empty).
 * Returns 0, or a negative errno (-EPERM, -ENODEV: no FUSE here; callers skip). */
int fuse_stall_start(FuseStall **ret, const char *dir);
/* The path of the stalling file. */
const char *fuse_stall_file(const FuseStall *s);
/* How many reads of the file are waiting for an answer now. */
unsigned fuse_stall_pending(FuseStall *s);
/* Answers every waiting read and every later one with EIO: whoever waited goes on. */
void fuse_stall_release(FuseStall *s);
/* Releases, unmounts (lazily), stops the thread, frees. Accepts NULL. */
void fuse_stall_stop(FuseStall *s);

/* Makes a process whose mmap_lock no new reader can take until fuse_stall_release(): the victim
 * maps the file; the holder reads that page through /proc/VICTIM/mem and waits for the file system
 * with the victim's mmap_lock held for reading; then the victim calls mmap(), which queues for the
 * lock as a writer, and readers that come after a waiting writer wait too. Returns once the victim
 * waits (state D), with both pids (the caller kills and reaps them, after releasing), or a negative
 * errno (everything cleaned up). The mount is detached once the victim mapped the file.
 *
 * exec_path NULL: the victim is a fork of the caller. Else it execs exec_path with the arguments
 * FUSE_STALL_VICTIM_ARG and the file (an EXEC event of a process whose image cannot be read once it
 * waits): that program's main() calls fuse_stall_victim_main(argv[2]) when it sees them. */
#define FUSE_STALL_VICTIM_ARG "fuse-stall-victim"
int fuse_stall_lock_mm(FuseStall *s, const char *exec_path, pid_t *ret_victim, pid_t *ret_holder);
_Noreturn void fuse_stall_victim_main(const char *file);
