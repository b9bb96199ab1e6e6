/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Cleanup on every path for test programs.
 *
 * A failed cmocka assertion jumps out of the test function, and meson kills a test that times out
 * with SIGTERM; code at the end of a test function runs in neither case. So a test program calls
 * tc_init() first thing in main() and makes its scratch folders with tc_mkdtemp(): at exit, and on
 * SIGTERM, SIGINT and SIGHUP, the folders are removed and every process the program started
 * (daemons, workloads, their orphans) is killed. Processes are found through a cgroup of the
 * program's own, made under the cgroup it was started in, so nothing depends on where that is (the
 * root cgroup on some machines, a session scope or a service on others). Where no cgroup can be
 * made (not root, no cgroup2 mounted), folders are still removed and processes rely on their parent
 * death signal. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* name: a short tag for the cgroup's name ("tree", "ctl-daemon"). Safe to call once only. */
void tc_init(const char *name);

/* mkdtemp() whose folder is removed, with everything below it, when the program ends. template as
 * for mkdtemp ("/tmp/pwtree-XXXXXX"), rewritten in place. Returns 0 or a negative errno. */
int tc_mkdtemp(char *template_buf);

/* The cgroup the program runs in (its path in the unified hierarchy's mount, e.g.
 * /sys/fs/cgroup/unified/pwtest-tree-123), or NULL when tc_init() could not make one. */
const char *tc_cgroup(void);

/* Runs the cleanup now (idempotent; also run at exit and on the signals above). */
void tc_cleanup(void);
