/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Integration: one user's processes against the string budget of the real daemon (issue 10, attack 2).
 *
 * With --string-budget=1M --argv-max=4K, a user (uid 4242) first runs and ends marked processes (kept
 * as retained records) and root keeps one process alive with a multi-word argv; then uid 65534 (through setpriv) holds
 * 300 processes alive, each with a 4 KiB argument, more than the whole budget; and root starts
 * another multi-word process while they live. The retained records of uid 4242 must all still be
 * there (root's own churn on a busy machine may evict root's records, so root's history is checked
 * through its evicted_for_others), both root argvs whole, and Stats must say that the budget of uid 65534 bit.
 *
 * Needs root; exits 77 without. Matches only the pids it made; polls with deadlines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon-harness.h"
#include "test-cleanup.h"

#define TIMEOUT_MS 30000
#define N_MARKED 200
#define N_HOG 300
#define HOG_ARG 4096
#define OUT_MAX (16U << 20)
/* The user whose history the attack must not wipe: one no other test uses, so that the busy
 * machine's own churn (root's, 65534's) never competes with it. */
#define MARK_UID 4242
#define MARK_UID_S "4242"

static const char *daemon_path, *ctl_path;
static char self_path[4096];
static char socket_path[128];
static Daemon d;

/* --- the unprivileged workload, run as this binary with "hog N" --------------------------------- */

/* Starts n processes "sh -c 'read x' AAAA..." (a 4 KiB argument) that live until stdin closes,
 * prints "ready", then waits for its own stdin to close and ends them. */
static int run_hog(unsigned n) {
        static char big[HOG_ARG];
        pid_t *kids = calloc(n, sizeof(pid_t));
        int p[2];
        char c;

        if (!kids || pipe(p) < 0)
                return 90;
        memset(big, 'A', sizeof(big) - 1);
        for (unsigned i = 0; i < n; i++) {
                kids[i] = fork();
                if (kids[i] < 0)
                        return 91;
                if (kids[i] == 0) {
                        dup2(p[0], STDIN_FILENO);
                        close(p[0]);
                        close(p[1]);
                        execl("/bin/sh", "sh", "-c", "read x", big, (char *) NULL);
                        _exit(127);
                }
        }
        close(p[0]);
        printf("ready\n");
        fflush(stdout);
        while (read(STDIN_FILENO, &c, 1) > 0)
                ;
        close(p[1]);
        for (unsigned i = 0; i < n; i++)
                (void) waitpid(kids[i], NULL, 0);
        free(kids);
        return 0;
}

/* --- helpers -------------------------------------------------------------------------------------- */

static json_t *ctl_json(const char *verb, const char *a1, const char *a2) {
        char sock[160], *out = malloc(OUT_MAX);
        char *argv[] = { (char *) ctl_path, sock, (char *) verb, (char *) "--json", (char *) a1, (char *) a2, NULL };
        json_error_t err;
        json_t *j = NULL;
        int status;

        assert_non_null(out);
        snprintf(sock, sizeof(sock), "--socket=%s", socket_path);
        status = harness_run_capture(argv, out, OUT_MAX, TIMEOUT_MS);
        assert_true(status != -1 && WIFEXITED(status));
        if (WEXITSTATUS(status) == 0) {
                j = json_loads(out, 0, &err);
                if (!j) {
                        print_error("procwatchctl %s printed no JSON: %s: %.400s\n", verb, err.text, out);
                        free(out);
                        fail();
                }
        }
        free(out);
        return j;
}

static json_t *show(pid_t pid) {
        char a[32];

        snprintf(a, sizeof(a), "%d", (int) pid);
        return ctl_json("show", a, NULL);
}

/* Starts "sh -c 'read x' WORDS..." as root with stdin on a pipe; *wfd ends it. */
static pid_t spawn_reader(char *const words[], int *wfd) {
        char *argv[16] = { (char *) "sh", (char *) "-c", (char *) "read x" };
        int p[2], n = 3;
        pid_t pid;

        for (int i = 0; words[i] && n < 15; i++)
                argv[n++] = words[i];
        argv[n] = NULL;
        assert_int_equal(pipe2(p, O_CLOEXEC), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                dup2(p[0], STDIN_FILENO);
                execv("/bin/sh", argv);
                _exit(127);
        }
        close(p[0]);
        *wfd = p[1];
        return pid;
}

/* Polls Show until the process is alive with its image read; returns it (caller decrefs). */
static json_t *wait_image(pid_t pid) {
        uint64_t deadline = harness_now_ms() + TIMEOUT_MS;

        for (;;) {
                json_t *p = show(pid);

                if (p && json_is_string(json_object_get(p, "exe")) && json_is_array(json_object_get(p, "argv")))
                        return p;
                json_decref(p);
                if (harness_now_ms() > deadline)
                        fail_msg("process %d never showed its image", (int) pid);
                harness_pump(&d, 20);
        }
}

/* How many words of want[] p's argv has, in order, before the first difference; whole: all and no
 * more, not truncated. */
static size_t argv_words_kept(const json_t *p, char *const want[], bool *whole) {
        const json_t *argv = json_object_get(p, "argv");
        size_t n = 0, total = 0;

        while (want[total])
                total++;
        for (; n < total; n++) {
                const char *s = json_string_value(json_array_get(argv, n));

                if (!s || strcmp(s, want[n]) != 0)
                        break;
        }
        *whole = n == total && json_array_size(argv) == total && !json_is_true(json_object_get(p, "argv_truncated"));
        return n;
}

static char mark_prefix[64];

/* Fills in the ids of the marked processes ("sh -c 'read x' MARK-K" of uid MARK_UID), ended ones
 * or live ones; returns how many ids are known. */
static unsigned find_marked(char ids[][40], bool ended) {
        json_t *list = ctl_json("ps", ended ? "--exited" : "--alive", "--uid=" MARK_UID_S), *e;
        size_t plen = strlen(mark_prefix), i;
        unsigned found = 0;

        json_array_foreach(list, i, e) {
                const char *w = json_string_value(json_array_get(json_object_get(e, "argv"), 3));
                const char *id = json_string_value(json_object_get(e, "id"));
                int k;

                if (!w || !id || strncmp(w, mark_prefix, plen) != 0)
                        continue;
                k = atoi(w + plen);
                if (k >= 0 && k < N_MARKED && !ids[k][0])
                        snprintf(ids[k], 40, "%s", id);
        }
        json_decref(list);
        for (int k = 0; k < N_MARKED; k++)
                found += ids[k][0] != '\0';
        return found;
}

/* The Stats entry of uid in budget_uids, or NULL. */
static const json_t *budget_uid(const json_t *stats, uint32_t uid) {
        const json_t *arr = json_object_get(stats, "budget_uids"), *e;
        size_t i;

        json_array_foreach(arr, i, e)
                if (json_integer_value(json_object_get(e, "uid")) == (json_int_t) uid)
                        return e;
        return NULL;
}

static int start_daemon(void) {
        char sockarg[160];
        char *argv[] = { (char *) "procwatchd", sockarg, (char *) "--string-budget=1M", (char *) "--argv-max=4K", NULL };

        snprintf(sockarg, sizeof(sockarg), "--socket=%s", socket_path);
        if (harness_start(&d, daemon_path, argv, NULL, 0) < 0)
                return -1;
        if (!harness_wait_notify(&d, "READY=1", false, TIMEOUT_MS)) {
                harness_cleanup(&d, true);
                return -1;
        }
        return 0;
}

/* --- the test -------------------------------------------------------------------------------------- */

static void test_one_user_cannot_wipe_history(void **state) {
        static char *const root_a[] = { (char *) "sh", (char *) "-c", (char *) "read x", (char *) "root-alpha",
                                        (char *) "--beta=1", (char *) "gamma delta", NULL };
        /* A word of 3.7 KiB: more than the room the attack leaves in the whole budget. */
        static char long_word[3800];
        static char *const root_b[] = { (char *) "sh", (char *) "-c", (char *) "read x", (char *) "root-during",
                                        long_word, (char *) "last", NULL };
        char *hog_argv[] = { (char *) "setpriv", (char *) "--reuid=65534", (char *) "--regid=65534",
                             (char *) "--clear-groups", (char *) "--pdeathsig=SIGKILL", self_path, (char *) "hog", NULL };
        char nbuf[16], ready[16] = "";
        pid_t marked[N_MARKED], a, b, hog;
        char marked_id[N_MARKED][40];
        int wa, wb, to_hog[2], from_hog[2], hold[2];
        unsigned kept = 0, hog_seen = 0;
        size_t a_words, b_words;
        bool a_whole, b_whole;
        uint64_t deadline;
        json_t *j, *list, *e;
        const json_t *st65534, *st0, *stm;
        char *dump65534 = NULL, *dump0 = NULL;
        size_t i;

        memset(long_word, 'r', sizeof(long_word) - 1);
        snprintf(mark_prefix, sizeof(mark_prefix), "pwbudget-mark-%d-", (int) getpid());
        memset(marked_id, 0, sizeof(marked_id));
        /* Another user's history: marked processes that live until their image has been read (a
         * process of 1 ms may be gone before), then end and stay as retained records. */
        assert_int_equal(pipe2(hold, O_CLOEXEC), 0);
        for (int k = 0; k < N_MARKED; k++) {
                char mark[96];

                snprintf(mark, sizeof(mark), "%s%d", mark_prefix, k);
                marked[k] = fork();
                assert_true(marked[k] >= 0);
                if (marked[k] == 0) {
                        dup2(hold[0], STDIN_FILENO);
                        execl("/usr/bin/setpriv", "setpriv", "--reuid=" MARK_UID_S, "--regid=" MARK_UID_S,
                              "--clear-groups", "/bin/sh", "-c", "read x", mark, (char *) NULL);
                        _exit(127);
                }
        }
        close(hold[0]);
        deadline = harness_now_ms() + TIMEOUT_MS;
        for (unsigned found = 0; found < N_MARKED;) {
                char alive_id[N_MARKED][40];

                memset(alive_id, 0, sizeof(alive_id));
                found = find_marked(alive_id, false);
                if (found < N_MARKED && harness_now_ms() > deadline)
                        fail_msg("only %u of %d marked processes showed with their argv", found, N_MARKED);
                harness_pump(&d, 50);
        }
        close(hold[1]);
        for (int k = 0; k < N_MARKED; k++)
                assert_int_equal(waitpid(marked[k], NULL, 0), marked[k]);
        /* Found by their mark, not by pid: on a busy machine a pid may already be reused. */
        deadline = harness_now_ms() + TIMEOUT_MS;
        for (unsigned found = 0; found < N_MARKED;) {
                found = find_marked(marked_id, true);
                if (found < N_MARKED && harness_now_ms() > deadline)
                        fail_msg("only %u of %d marked processes showed as ended", found, N_MARKED);
                harness_pump(&d, 50);
        }

        /* A root process alive with a multi-word argv, from before the attack. */
        a = spawn_reader(root_a + 3, &wa);
        json_decref(wait_image(a));

        /* The attack: uid 65534 holds N_HOG processes with a 4 KiB argument each. */
        assert_int_equal(pipe2(to_hog, O_CLOEXEC), 0);
        assert_int_equal(pipe2(from_hog, O_CLOEXEC), 0);
        snprintf(nbuf, sizeof(nbuf), "%d", N_HOG);
        hog = fork();
        assert_true(hog >= 0);
        if (hog == 0) {
                char *av[] = { hog_argv[0], hog_argv[1], hog_argv[2], hog_argv[3], hog_argv[4], hog_argv[5],
                               hog_argv[6], nbuf, NULL };

                dup2(to_hog[0], STDIN_FILENO);
                dup2(from_hog[1], STDOUT_FILENO);
                execv("/usr/bin/setpriv", av);
                _exit(127);
        }
        close(to_hog[0]);
        close(from_hog[1]);
        if (read(from_hog[0], ready, sizeof(ready) - 1) <= 0 || strncmp(ready, "ready", 5) != 0) {
                kill(hog, SIGKILL);
                (void) waitpid(hog, NULL, 0);
                fail_msg("the unprivileged workload did not start");
        }

        /* Until the daemon has read every one of them (their argv, or that it could not keep it). */
        deadline = harness_now_ms() + TIMEOUT_MS;
        for (;;) {
                list = ctl_json("ps", "--alive", "--uid=65534");
                hog_seen = 0;
                json_array_foreach(list, i, e) {
                        const char *comm = json_string_value(json_object_get(e, "comm"));

                        /* comm is the parent's until the exec has been read. */
                        if (json_integer_value(json_object_get(e, "ppid")) == hog && comm && strcmp(comm, "sh") == 0)
                                hog_seen++;
                }
                json_decref(list);
                if (hog_seen >= N_HOG || harness_now_ms() > deadline)
                        break;
                harness_pump(&d, 50);
        }

        /* Root starts a process while they live. */
        b = spawn_reader(root_b + 3, &wb);
        j = wait_image(b);
        b_words = argv_words_kept(j, root_b, &b_whole);
        json_decref(j);
        j = show(a);
        assert_non_null(j);
        a_words = argv_words_kept(j, root_a, &a_whole);
        json_decref(j);

        /* That history: the same records, by exact id. */
        {
                char now_id[N_MARKED][40];

                memset(now_id, 0, sizeof(now_id));
                (void) find_marked(now_id, true);
                for (int k = 0; k < N_MARKED; k++)
                        kept += strcmp(now_id[k], marked_id[k]) == 0;
        }

        j = ctl_json("stats", NULL, NULL);
        assert_non_null(j);
        st65534 = budget_uid(j, 65534);
        st0 = budget_uid(j, 0);
        print_message("uid 65534 processes read: %u of %d; uid " MARK_UID_S " records kept: %u of %d; root argv before the "
                      "attack: %zu of 6 words%s; during: %zu of 6 words%s; string bytes %lld of %lld; "
                      "uid 65534: %s; root: %s\n",
                      hog_seen, N_HOG, kept, N_MARKED, a_words, a_whole ? " (whole)" : "", b_words,
                      b_whole ? " (whole)" : "", (long long) json_integer_value(json_object_get(j, "string_bytes")),
                      (long long) json_integer_value(json_object_get(j, "string_budget")),
                      st65534 ? (dump65534 = json_dumps(st65534, JSON_COMPACT)) : "-",
                      st0 ? (dump0 = json_dumps(st0, JSON_COMPACT)) : "-");
        free(dump65534);
        free(dump0);

        /* End the attack before asserting, so that every path cleans up. */
        close(to_hog[1]);
        close(from_hog[0]);
        assert_int_equal(waitpid(hog, NULL, 0), hog);
        close(wa);
        close(wb);
        assert_int_equal(waitpid(a, NULL, 0), a);
        assert_int_equal(waitpid(b, NULL, 0), b);

        assert_int_equal(hog_seen, N_HOG);
        assert_int_equal(kept, N_MARKED);
        assert_true(a_whole);
        assert_true(b_whole);
        /* The budget bit, and says whose: uid 65534's argv were cut. */
        assert_non_null(st65534);
        assert_true(json_integer_value(json_object_get(st65534, "argv_cut")) > 0);
        assert_true(json_integer_value(json_object_get(j, "string_bytes")) <=
                    json_integer_value(json_object_get(j, "string_budget")));
        /* Nothing of root's or of uid MARK_UID went to make room for another user. */
        if (st0)
                assert_int_equal(json_integer_value(json_object_get(st0, "evicted_for_others")), 0);
        stm = budget_uid(j, MARK_UID);
        if (stm)
                assert_int_equal(json_integer_value(json_object_get(stm, "evicted")), 0);
        json_decref(j);
}

int main(int argc, char *argv[]) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_one_user_cannot_wipe_history),
        };
        char dir[] = "/tmp/pwbudget-XXXXXX";
        ssize_t n;
        int r;

        if (argc == 3 && strcmp(argv[1], "hog") == 0)
                return run_hog((unsigned) atoi(argv[2]));
        if (argc < 3) {
                fprintf(stderr, "usage: %s PROCWATCHD PROCWATCHCTL\n", argv[0]);
                return 2;
        }
        daemon_path = argv[1];
        ctl_path = argv[2];
        if (geteuid() != 0) {
                fprintf(stderr, "needs root: skipping\n");
                return 77;
        }
        n = readlink("/proc/self/exe", self_path, sizeof(self_path) - 1);
        if (n <= 0)
                return 1;
        self_path[n] = '\0';
        tc_init("budget");
        if (tc_mkdtemp(dir) < 0)
                return 1;
        snprintf(socket_path, sizeof(socket_path), "%s/io.procwatch", dir);
        if (start_daemon() < 0) {
                rmdir(dir);
                return 1;
        }
        r = cmocka_run_group_tests_name("string budget per uid against the real daemon", tests, NULL, NULL);
        harness_cleanup(&d, r != 0);
        unlink(socket_path);
        rmdir(dir);
        return r;
}
