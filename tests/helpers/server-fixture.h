/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The control server under test, shared by test-varlink-server, test-methods and
 * test-subscriptions: the real server (the generic Varlink server with the real io.procwatch methods
 * and Events) on a real UNIX socket in a temporary folder, over a small real tree, driven by a real
 * sd-event loop in the test's own process; and a test client that runs the loop while it waits. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "proctree.h"
#include "server.h"
#include "time-util.h"
#include "varlink.h"

#define HZ 100
#define MS 1000000ULL
/* Deadlines for what the tests poll for: far beyond what any build needs (valgrind included); they
 * only keep a broken build from hanging. Speed is measured in bench/, never asserted here. */
#define REPLY_TIMEOUT_MS 600000
#define DEADLINE_USEC (600 * USEC_PER_SEC)

/* What setup_server() made: the loop, the tree, the server and where it listens. */
extern sd_event *event;
extern ProcTree *tree;
extern Server *server;
extern char dir[64], sock_path[128];
/* The proc-connector figures Stats reports (get_stats()). */
extern CnProcStats fake_cnproc;

void get_stats(void *userdata, PwDaemonStats *ret);
/* A process as a /proc scan would add it. */
void add_proc(pid_t pid, pid_t ppid, uint64_t start_ns, const char *comm, const char *argv, size_t argv_len,
              const char *unit, uint32_t uid);
void apply(PwEvent ev);
/* init(1) -> bash(100, uid 1000, user@1000.service) -> sleep(200, alive), false(201, exit 1),
 * crash(202, SIGSEGV); kthreadd(2) -> kworker(3). */
void build_tree(void);
/* Adds n sleeping children of bash with a modest argv (about 700 bytes of JSON each). */
void add_many(unsigned n);
/* A fresh tree and server with these limits, listening at sock_path. */
int start_server(const ServerLimits *limits);
/* SERVER_LIMITS_DEFAULT with the stall and idle limits out of reach (see server-fixture.c). */
ServerLimits untimed_limits(void);
/* cmocka setup and teardown: start_server(untimed_limits()); everything freed and removed. */
int setup_server(void **state);
int teardown_server(void **state);
/* Runs the loop for at most ms. */
void pump(int ms);

typedef struct TestClient {
        VarlinkConn conn;
} TestClient;

int tc_connect(TestClient *c);
void tc_close(TestClient *c);
/* Writes everything, running the server meanwhile. Returns 0 or the write error. */
int tc_send(TestClient *c, const void *data, size_t n);
int tc_send_str(TestClient *c, const char *s);
/* The next message, parsed; NULL at end of file. */
json_t *tc_read(TestClient *c);
json_t *tc_call(TestClient *c, const char *request);
/* The parameters of a successful reply (the message is kept for the caller to free). */
json_t *expect_reply(json_t *msg);
/* The error is name, and its parameters hold key = value (a string) when key is given; msg freed. */
void expect_error(json_t *msg, const char *name, const char *key, const char *value);
/* The server answers a new client promptly. */
void expect_alive(void);
/* Polls until the server holds n clients. */
void wait_clients(unsigned n);
/* Applies an event to the tree and publishes it, as the manager does. */
void publish(PwEvent ev);
/* Subscribes and waits for the {"ready": true} reply. */
void subscribe(TestClient *c, const char *params);
