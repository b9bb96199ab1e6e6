/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The io.procwatch methods (src/daemon/methods.c) on the real server over a real socket
 * (server-fixture.h): GetInfo, GetInterfaceDescription against the IDL, Show, List, Tree and Stats
 * over a small real tree, and callers of other uids (setresuid() in a child) for the root-only
 * methods and hidepid. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <grp.h>
#include <poll.h>
#include <unistd.h>

#include "json-util.h"
#include "procwatch/protocol.h"
#include "process-filter.h"
#include "proctree.h"
#include "server-fixture.h"
#include "server.h"
#include "time-util.h"
#include "varlink-idl.h"
#include "varlink-server.h"
#include "varlink.h"
#include "test-cleanup.h"

/* The field names of a record in the embedded IDL: the lines "  name: type" after the line that
 * starts with marker, up to the closing ")". */
static json_t *idl_fields(const char *marker) {
        const char *p = strstr(pw_idl_io_procwatch, marker);
        json_t *names = json_object();

        assert_non_null(p);
        p = strchr(p, '\n') + 1;
        while (*p && *p != ')') {
                const char *eol = strchr(p, '\n'), *q = p;

                while (*q == ' ')
                        q++;
                if (*q != '#') {
                        size_t n = strcspn(q, ":");

                        assert_true(n < (size_t) (eol - q));
                        json_object_setn_new(names, q, n, json_true());
                }
                p = eol + 1;
        }
        return names;
}

/* The object has exactly the fields the IDL declares for marker. */
static void expect_idl_shape(const json_t *obj, const char *marker) {
        json_t *names = idl_fields(marker), *v;
        const char *key;

        assert_true(json_object_size(names) > 0);
        json_object_foreach((json_t *) obj, key, v)
                if (!json_object_get(names, key))
                        fail_msg("%s: field %s is not in the IDL", marker, key);
        json_object_foreach(names, key, v)
                if (!json_object_get(obj, key))
                        fail_msg("%s: IDL field %s is missing", marker, key);
        json_decref(names);
}

static void test_server_idl_shapes(void **state) {
        PwEvent comm = { .kind = PW_EVENT_COMM, .timestamp_ns = 150 * MS, .comm = { .pid = 200, .tgid = 200, .comm = "renamed" } };
        TestClient c;
        json_t *msg, *p;

        apply(comm);
        assert_int_equal(tc_connect(&c), 0);
        msg = tc_call(&c, "{\"method\":\"io.procwatch.Show\",\"parameters\":{\"pid\":200}}");
        p = json_object_get(expect_reply(msg), "process");
        expect_idl_shape(p, "type Process (");
        expect_idl_shape(json_array_get(json_object_get(p, "comm_history"), 0), "type CommChange (");
        json_decref(msg);
        msg = tc_call(&c, "{\"method\":\"io.procwatch.Show\",\"parameters\":{\"pid\":202}}");
        p = json_object_get(expect_reply(msg), "process");
        expect_idl_shape(p, "type Process (");
        expect_idl_shape(json_object_get(p, "exit"), "type Exit (");
        json_decref(msg);
        msg = tc_call(&c, "{\"method\":\"io.procwatch.Stats\"}");
        expect_idl_shape(expect_reply(msg), "method Stats() -> (");
        json_decref(msg);
        tc_close(&c);
}

static void test_server_get_info(void **state) {
        TestClient c;
        json_t *msg, *p, *ifaces;

        assert_int_equal(tc_connect(&c), 0);
        msg = tc_call(&c, "{\"method\":\"org.varlink.service.GetInfo\"}");
        p = expect_reply(msg);
        assert_string_equal(json_string_value(json_object_get(p, "vendor")), PW_VARLINK_VENDOR);
        assert_string_equal(json_string_value(json_object_get(p, "product")), PW_VARLINK_PRODUCT);
        assert_string_equal(json_string_value(json_object_get(p, "version")), PACKAGE_VERSION);
        assert_true(json_is_string(json_object_get(p, "url")));
        ifaces = json_object_get(p, "interfaces");
        assert_int_equal(json_array_size(ifaces), 2);
        assert_string_equal(json_string_value(json_array_get(ifaces, 0)), "org.varlink.service");
        assert_string_equal(json_string_value(json_array_get(ifaces, 1)), "io.procwatch");
        assert_int_equal(json_integer_value(json_object_get(p, "interface_version")), PW_VARLINK_INTERFACE_VERSION);
        json_decref(msg);
        tc_close(&c);
}

static void test_server_interface_description(void **state) {
        TestClient c;
        json_t *msg;

        assert_int_equal(tc_connect(&c), 0);
        msg = tc_call(&c, "{\"method\":\"org.varlink.service.GetInterfaceDescription\","
                          "\"parameters\":{\"interface\":\"io.procwatch\"}}");
        /* Byte for byte what include/procwatch/io.procwatch.varlink holds. */
        assert_string_equal(json_string_value(json_object_get(expect_reply(msg), "description")), pw_idl_io_procwatch);
        assert_non_null(strstr(pw_idl_io_procwatch, "\ninterface io.procwatch\n"));
        json_decref(msg);

        msg = tc_call(&c, "{\"method\":\"org.varlink.service.GetInterfaceDescription\","
                          "\"parameters\":{\"interface\":\"org.varlink.service\"}}");
        assert_non_null(strstr(json_string_value(json_object_get(expect_reply(msg), "description")),
                               "interface org.varlink.service"));
        json_decref(msg);

        expect_error(tc_call(&c, "{\"method\":\"org.varlink.service.GetInterfaceDescription\","
                                 "\"parameters\":{\"interface\":\"com.example.nope\"}}"),
                     PW_VARLINK_ERROR_INTERFACE_NOT_FOUND, "interface", "com.example.nope");
        expect_error(tc_call(&c, "{\"method\":\"org.varlink.service.GetInterfaceDescription\"}"),
                     PW_VARLINK_ERROR_INVALID_PARAMETER, "parameter", "interface");
        tc_close(&c);
}

static void test_server_show(void **state) {
        TestClient c;
        json_t *msg, *p;

        assert_int_equal(tc_connect(&c), 0);
        p = json_object_get(expect_reply(msg = tc_call(&c, "{\"method\":\"io.procwatch.Show\",\"parameters\":{\"pid\":200}}")),
                            "process");
        assert_int_equal(json_integer_value(json_object_get(p, "pid")), 200);
        assert_string_equal(json_string_value(json_object_get(p, "state")), "alive");
        assert_string_equal(json_string_value(json_array_get(json_object_get(p, "argv"), 1)), "100");
        assert_true(json_is_integer(json_object_get(p, "duration_usec")));
        json_decref(msg);

        /* An exited process by pid, then by its id. */
        p = json_object_get(expect_reply(msg = tc_call(&c, "{\"method\":\"io.procwatch.Show\",\"parameters\":{\"pid\":202}}")),
                            "process");
        assert_string_equal(json_string_value(json_object_get(p, "state")), "exited");
        assert_int_equal(json_integer_value(json_object_get(json_object_get(p, "exit"), "signal")), SIGSEGV);
        assert_string_equal(json_string_value(json_object_get(p, "id")), "202:130000000");
        json_decref(msg);
        p = json_object_get(
                expect_reply(msg = tc_call(&c, "{\"method\":\"io.procwatch.Show\",\"parameters\":{\"id\":\"201:110000000\"}}")),
                "process");
        assert_int_equal(json_integer_value(json_object_get(json_object_get(p, "exit"), "code")), 1);
        json_decref(msg);

        expect_error(tc_call(&c, "{\"method\":\"io.procwatch.Show\",\"parameters\":{\"pid\":4242}}"),
                     PW_VARLINK_ERROR_NO_SUCH_PROCESS, NULL, NULL);
        msg = tc_call(&c, "{\"method\":\"io.procwatch.Show\",\"parameters\":{\"id\":\"201:1\"}}");
        assert_string_equal(json_string_value(json_object_get(json_object_get(msg, "parameters"), "id")), "201:1");
        expect_error(msg, PW_VARLINK_ERROR_NO_SUCH_PROCESS, NULL, NULL);
        /* pid and id of different processes. */
        expect_error(tc_call(&c, "{\"method\":\"io.procwatch.Show\",\"parameters\":{\"pid\":200,\"id\":\"201:110000000\"}}"),
                     PW_VARLINK_ERROR_NO_SUCH_PROCESS, NULL, NULL);
        expect_error(tc_call(&c, "{\"method\":\"io.procwatch.Show\"}"), PW_VARLINK_ERROR_INVALID_PARAMETER, "parameter", "pid");
        expect_error(tc_call(&c, "{\"method\":\"io.procwatch.Show\",\"parameters\":{\"pid\":\"200\"}}"),
                     PW_VARLINK_ERROR_INVALID_PARAMETER, "parameter", "pid");
        expect_error(tc_call(&c, "{\"method\":\"io.procwatch.Show\",\"parameters\":{\"pid\":-1}}"),
                     PW_VARLINK_ERROR_INVALID_PARAMETER, "parameter", "pid");
        expect_error(tc_call(&c, "{\"method\":\"io.procwatch.Show\",\"parameters\":{\"pid\":4294967297}}"),
                     PW_VARLINK_ERROR_INVALID_PARAMETER, "parameter", "pid");
        expect_error(tc_call(&c, "{\"method\":\"io.procwatch.Show\",\"parameters\":{\"id\":7}}"),
                     PW_VARLINK_ERROR_INVALID_PARAMETER, "parameter", "id");
        expect_error(tc_call(&c, "{\"method\":\"io.procwatch.Show\",\"parameters\":{\"pid\":1,\"bogus\":1}}"),
                     PW_VARLINK_ERROR_INVALID_PARAMETER, "parameter", "bogus");
        tc_close(&c);
}

static size_t list_count(TestClient *c, const char *params, json_t **ret_msg) {
        char req[512];
        json_t *msg, *procs;
        size_t n;

        snprintf(req, sizeof(req), "{\"method\":\"io.procwatch.List\",\"parameters\":%s}", params);
        msg = tc_call(c, req);
        procs = json_object_get(expect_reply(msg), "processes");
        assert_true(json_is_array(procs));
        n = json_array_size(procs);
        if (ret_msg)
                *ret_msg = msg;
        else
                json_decref(msg);
        return n;
}

static void test_server_list(void **state) {
        TestClient c;
        json_t *msg, *procs;

        assert_int_equal(tc_connect(&c), 0);
        /* Live ones by pid, then the exited ones in the order they ended. */
        assert_int_equal(list_count(&c, "{}", &msg), 7);
        procs = json_object_get(json_object_get(msg, "parameters"), "processes");
        {
                static const int want[] = { 1, 2, 3, 100, 200, 201, 202 };
                for (size_t i = 0; i < ELEMENTSOF(want); i++)
                        assert_int_equal(json_integer_value(json_object_get(json_array_get(procs, i), "pid")), want[i]);
        }
        json_decref(msg);
        assert_int_equal(list_count(&c, "{\"state\":\"all\"}", NULL), 7);
        assert_int_equal(list_count(&c, "{\"state\":\"alive\"}", NULL), 5);
        assert_int_equal(list_count(&c, "{\"state\":\"exited\"}", NULL), 2);
        assert_int_equal(list_count(&c, "{\"uid\":1000}", NULL), 4);
        assert_int_equal(list_count(&c, "{\"uid\":1000,\"state\":\"alive\"}", NULL), 2);
        assert_int_equal(list_count(&c, "{\"comm\":\"sleep\"}", NULL), 1);
        assert_int_equal(list_count(&c, "{\"unit\":\"user@1000.service\"}", NULL), 4);
        assert_int_equal(list_count(&c, "{\"unit\":\"nope.service\"}", NULL), 0);
        assert_int_equal(list_count(&c, "{\"uid\":null,\"comm\":null}", NULL), 7);
        /* Names and units match by glob (fnmatch(3)), as in Events and the journal; a plain name
         * still matches exactly that name, not a prefix. */
        assert_int_equal(list_count(&c, "{\"comm\":\"k*\"}", NULL), 2);
        assert_int_equal(list_count(&c, "{\"comm\":\"[ik]*\"}", NULL), 3);
        assert_int_equal(list_count(&c, "{\"comm\":\"kworker/*\"}", NULL), 1);
        assert_int_equal(list_count(&c, "{\"comm\":\"slee\"}", NULL), 0);
        assert_int_equal(list_count(&c, "{\"comm\":\"sleep?\"}", NULL), 0);
        assert_int_equal(list_count(&c, "{\"unit\":\"user@*.service\"}", NULL), 4);
        assert_int_equal(list_count(&c, "{\"unit\":\"*.scope\"}", NULL), 1);
        assert_int_equal(list_count(&c, "{\"unit\":\"*\"}", NULL), 5); /* kernel threads have none */
        assert_int_equal(list_count(&c, "{\"comm\":\"b*\",\"state\":\"exited\"}", NULL), 2);
        expect_error(tc_call(&c, "{\"method\":\"io.procwatch.List\",\"parameters\":{\"state\":\"zombie\"}}"),
                     PW_VARLINK_ERROR_INVALID_PARAMETER, "parameter", "state");
        expect_error(tc_call(&c, "{\"method\":\"io.procwatch.List\",\"parameters\":{\"uid\":-5}}"),
                     PW_VARLINK_ERROR_INVALID_PARAMETER, "parameter", "uid");
        expect_error(tc_call(&c, "{\"method\":\"io.procwatch.List\",\"parameters\":{\"user\":\"root\"}}"),
                     PW_VARLINK_ERROR_INVALID_PARAMETER, "parameter", "user");
        /* A glob beyond PW_PROCESS_FILTER_GLOB_MAX bytes is refused, in List and in Events alike. */
        {
                char req[PW_PROCESS_FILTER_GLOB_MAX + 128], glob[PW_PROCESS_FILTER_GLOB_MAX + 2];

                memset(glob, '*', sizeof(glob) - 1);
                glob[sizeof(glob) - 1] = '\0';
                snprintf(req, sizeof(req), "{\"method\":\"io.procwatch.List\",\"parameters\":{\"unit\":\"%s\"}}", glob);
                expect_error(tc_call(&c, req), PW_VARLINK_ERROR_INVALID_PARAMETER, "parameter", "unit");
                snprintf(req, sizeof(req), "{\"method\":\"io.procwatch.Events\",\"more\":true,\"parameters\":{\"comm\":\"%s\"}}",
                         glob);
                expect_error(tc_call(&c, req), PW_VARLINK_ERROR_INVALID_PARAMETER, "parameter", "comm");
                glob[PW_PROCESS_FILTER_GLOB_MAX] = '\0';
                snprintf(req, sizeof(req), "{\"unit\":\"%s\"}", glob);
                assert_int_equal(list_count(&c, req, NULL), 5);
        }
        tc_close(&c);
}

static void expect_tree(TestClient *c, const char *params, const int *want, size_t n_want) {
        char req[512];
        json_t *msg, *procs;

        snprintf(req, sizeof(req), "{\"method\":\"io.procwatch.Tree\",\"parameters\":%s}", params);
        msg = tc_call(c, req);
        procs = json_object_get(expect_reply(msg), "processes");
        if (json_array_size(procs) != n_want) {
                char *s = json_dumps(procs, 0);
                fail_msg("%s: got %zu processes: %s", params, json_array_size(procs), s);
        }
        for (size_t i = 0; i < n_want; i++)
                assert_int_equal(json_integer_value(json_object_get(json_array_get(procs, i), "pid")), want[i]);
        json_decref(msg);
}

static void test_server_tree(void **state) {
        static const int all_alive[] = { 1, 100, 200, 2, 3 };
        static const int all[] = { 1, 100, 200, 201, 202, 2, 3 };
        static const int from_bash[] = { 100, 200, 201, 202 };
        static const int depth0[] = { 100 };
        static const int depth1[] = { 1, 100 };
        TestClient c;
        json_t *msg, *p;

        assert_int_equal(tc_connect(&c), 0);
        expect_tree(&c, "{}", all_alive, ELEMENTSOF(all_alive));
        expect_tree(&c, "{\"include_exited\":true}", all, ELEMENTSOF(all));
        expect_tree(&c, "{\"root\":100,\"include_exited\":true}", from_bash, ELEMENTSOF(from_bash));
        expect_tree(&c, "{\"root\":100,\"depth\":0}", depth0, ELEMENTSOF(depth0));
        expect_tree(&c, "{\"root\":1,\"depth\":1}", depth1, ELEMENTSOF(depth1));

        /* Children without exited ones unless asked for. */
        msg = tc_call(&c, "{\"method\":\"io.procwatch.Tree\",\"parameters\":{\"root\":100,\"depth\":0}}");
        p = json_array_get(json_object_get(expect_reply(msg), "processes"), 0);
        assert_int_equal(json_array_size(json_object_get(p, "children")), 1);
        json_decref(msg);
        msg = tc_call(&c, "{\"method\":\"io.procwatch.Tree\",\"parameters\":{\"root\":100,\"depth\":0,\"include_exited\":true}}");
        p = json_array_get(json_object_get(expect_reply(msg), "processes"), 0);
        assert_int_equal(json_array_size(json_object_get(p, "children")), 3);
        json_decref(msg);

        msg = tc_call(&c, "{\"method\":\"io.procwatch.Tree\",\"parameters\":{\"root\":4242}}");
        assert_int_equal(json_integer_value(json_object_get(json_object_get(msg, "parameters"), "pid")), 4242);
        expect_error(msg, PW_VARLINK_ERROR_NO_SUCH_PROCESS, NULL, NULL);
        expect_error(tc_call(&c, "{\"method\":\"io.procwatch.Tree\",\"parameters\":{\"depth\":-1}}"),
                     PW_VARLINK_ERROR_INVALID_PARAMETER, "parameter", "depth");
        expect_error(tc_call(&c, "{\"method\":\"io.procwatch.Tree\",\"parameters\":{\"include_exited\":1}}"),
                     PW_VARLINK_ERROR_INVALID_PARAMETER, "parameter", "include_exited");
        tc_close(&c);
}

static void test_server_stats(void **state) {
        TestClient a, b;
        json_t *msg, *p;

        assert_int_equal(tc_connect(&a), 0);
        assert_int_equal(tc_connect(&b), 0);
        msg = tc_call(&a, "{\"method\":\"io.procwatch.Stats\",\"parameters\":{}}");
        p = expect_reply(msg);
        assert_int_equal(json_integer_value(json_object_get(p, "events_total")), 1234);
        assert_int_equal(json_integer_value(json_object_get(p, "enobufs")), 1);
        assert_int_equal(json_integer_value(json_object_get(p, "lost")), 17);
        assert_int_equal(json_integer_value(json_object_get(p, "reconciliations")), 2);
        assert_int_equal(json_integer_value(json_object_get(p, "processes_live")), 5);
        assert_int_equal(json_integer_value(json_object_get(p, "processes_exited")), 2);
        assert_true(json_is_object(json_object_get(p, "events")));
        /* Both connections count (b was accepted while a's call ran). */
        assert_int_equal(json_integer_value(json_object_get(p, "clients")), 2);
        assert_int_equal(json_integer_value(json_object_get(p, "clients_total")), 2);
        json_decref(msg);
        expect_error(tc_call(&a, "{\"method\":\"io.procwatch.Stats\",\"parameters\":{\"x\":1}}"),
                     PW_VARLINK_ERROR_INVALID_PARAMETER, "parameter", "x");
        tc_close(&a);
        tc_close(&b);
}

/* Makes one call as uid (a forked child with setresuid()), the server running here meanwhile.
 * Returns the parsed reply, or NULL when the child could not get one. */
static json_t *call_as(uid_t uid, const char *request) {
        int pfd[2], status;
        char buf[256 * 1024];
        size_t len = 0;
        json_t *j = NULL;
        pid_t pid;

        assert_int_equal(pipe2(pfd, O_CLOEXEC), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                struct sockaddr_un sa = { .sun_family = AF_UNIX };
                int fd;
                char rb[256 * 1024];
                size_t n = 0;

                close(pfd[0]);
                if (setgroups(0, NULL) < 0 || setresgid(uid, uid, uid) < 0 || setresuid(uid, uid, uid) < 0)
                        _exit(2);
                strcpy(sa.sun_path, sock_path);
                fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
                if (fd < 0 || connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                        _exit(3);
                if (write(fd, request, strlen(request) + 1) != (ssize_t) strlen(request) + 1)
                        _exit(4);
                while (n < sizeof(rb)) {
                        ssize_t k = read(fd, rb + n, sizeof(rb) - n);

                        if (k <= 0)
                                _exit(5);
                        n += (size_t) k;
                        if (memchr(rb + n - k, '\0', (size_t) k))
                                break;
                }
                if (write(pfd[1], rb, strnlen(rb, n)) < 0)
                        _exit(6);
                _exit(0);
        }
        close(pfd[1]);
        for (;;) {
                struct pollfd p = { .fd = pfd[0], .events = POLLIN };
                ssize_t k;

                pump(2);
                if (poll(&p, 1, 0) <= 0)
                        continue;
                k = read(pfd[0], buf + len, sizeof(buf) - 1 - len);
                if (k <= 0)
                        break;
                len += (size_t) k;
        }
        close(pfd[0]);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
        buf[len] = '\0';
        assert_int_equal(varlink_message_parse(buf, len, 64, &j), 0);
        return j;
}

static unsigned tree_retained(void) {
        ProcTreeStats st;

        proctree_get_stats(tree, &st);
        return st.retained;
}

static void test_access_root_only(void **state) {
        TestClient c;
        json_t *msg;

        /* The test folder is 0700: others must reach the socket. */
        assert_int_equal(chmod(dir, 0755), 0);

        /* Reading is open to everyone. */
        msg = call_as(65534, "{\"method\":\"io.procwatch.Show\",\"parameters\":{\"pid\":1}}");
        assert_int_equal(json_integer_value(json_object_get(json_object_get(expect_reply(msg), "process"), "pid")), 1);
        json_decref(msg);
        /* Changing the daemon is not. */
        expect_error(call_as(65534, "{\"method\":\"io.procwatch.DropRetained\"}"), PW_VARLINK_ERROR_PERMISSION_DENIED,
                     "method", "io.procwatch.DropRetained");
        expect_error(call_as(1000, "{\"method\":\"io.procwatch.Reload\"}"), PW_VARLINK_ERROR_PERMISSION_DENIED,
                     "method", "io.procwatch.Reload");
        assert_int_equal(tree_retained(), 2);

        /* Root may. */
        assert_int_equal(tc_connect(&c), 0);
        msg = tc_call(&c, "{\"method\":\"io.procwatch.DropRetained\"}");
        assert_int_equal(json_integer_value(json_object_get(expect_reply(msg), "dropped")), 2);
        json_decref(msg);
        assert_int_equal(tree_retained(), 0);
        msg = tc_call(&c, "{\"method\":\"io.procwatch.Reload\"}");
        assert_true(json_is_boolean(json_object_get(expect_reply(msg), "hidepid")));
        json_decref(msg);
        expect_error(tc_call(&c, "{\"method\":\"io.procwatch.DropRetained\",\"parameters\":{\"all\":true}}"),
                     PW_VARLINK_ERROR_INVALID_PARAMETER, "parameter", "all");
        tc_close(&c);
}

static void test_access_hidepid(void **state) {
        json_t *msg, *procs, *p;
        size_t i;

        assert_int_equal(chmod(dir, 0755), 0);
        server_set_proc_mount(server, &(PwProcMount){ .hidepid = PW_HIDEPID_INVISIBLE });

        /* uid 1000 sees bash and what it started, nothing of root's. */
        msg = call_as(1000, "{\"method\":\"io.procwatch.List\"}");
        procs = json_object_get(expect_reply(msg), "processes");
        assert_int_equal(json_array_size(procs), 4); /* bash, sleep, false, crash */
        json_array_foreach(procs, i, p) {
                assert_int_equal(json_integer_value(json_object_get(p, "uid")), 1000);
                /* Its own: the exe too. */
                assert_true(json_is_string(json_object_get(p, "exe")));
                if (json_integer_value(json_object_get(p, "pid")) == 100) {
                        /* bash's parent is init, hidden: not named. */
                        assert_int_equal(json_integer_value(json_object_get(p, "ppid")), 0);
                        assert_true(json_is_null(json_object_get(p, "parent_id")));
                }
        }
        json_decref(msg);
        msg = call_as(1000, "{\"method\":\"io.procwatch.Tree\"}");
        assert_int_equal(json_array_size(json_object_get(expect_reply(msg), "processes")), 2); /* bash, sleep */
        json_decref(msg);
        expect_error(call_as(1000, "{\"method\":\"io.procwatch.Show\",\"parameters\":{\"pid\":1}}"),
                     PW_VARLINK_ERROR_NO_SUCH_PROCESS, NULL, NULL);
        msg = call_as(1000, "{\"method\":\"io.procwatch.Show\",\"parameters\":{\"pid\":200}}");
        expect_reply(msg);
        json_decref(msg);
        /* init's children as root sees them name bash only; as 1000 sees... nothing: init is hidden. */
        expect_error(call_as(1000, "{\"method\":\"io.procwatch.Tree\",\"parameters\":{\"root\":1}}"),
                     PW_VARLINK_ERROR_NO_SUCH_PROCESS, NULL, NULL);
        /* nobody sees nothing; root sees all. */
        msg = call_as(65534, "{\"method\":\"io.procwatch.List\"}");
        assert_int_equal(json_array_size(json_object_get(expect_reply(msg), "processes")), 0);
        json_decref(msg);
        msg = call_as(0, "{\"method\":\"io.procwatch.List\"}");
        assert_int_equal(json_array_size(json_object_get(expect_reply(msg), "processes")), 7);
        json_decref(msg);

        /* A root process that changed its euid to 1000 (as sshd and cron do) is not 1000's. */
        apply((PwEvent){ .kind = PW_EVENT_UID, .timestamp_ns = 900 * MS,
                         .id = { .pid = 1, .tgid = 1, .real = 0, .effective = 1000 } });
        expect_error(call_as(1000, "{\"method\":\"io.procwatch.Show\",\"parameters\":{\"pid\":1}}"),
                     PW_VARLINK_ERROR_NO_SUCH_PROCESS, NULL, NULL);

        /* Without hidepid every record is there, but another user's exe is not. */
        server_set_proc_mount(server, &(PwProcMount){ .hidepid = PW_HIDEPID_OFF });
        msg = call_as(65534, "{\"method\":\"io.procwatch.Show\",\"parameters\":{\"pid\":200}}");
        p = json_object_get(expect_reply(msg), "process");
        assert_true(json_is_null(json_object_get(p, "exe")));
        assert_int_equal(json_array_size(json_object_get(p, "argv")), 2);
        assert_int_equal(json_integer_value(json_object_get(p, "ppid")), 100);
        json_decref(msg);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_server_get_info, setup_server, teardown_server),
                cmocka_unit_test_setup_teardown(test_server_idl_shapes, setup_server, teardown_server),
                cmocka_unit_test_setup_teardown(test_server_interface_description, setup_server, teardown_server),
                cmocka_unit_test_setup_teardown(test_server_show, setup_server, teardown_server),
                cmocka_unit_test_setup_teardown(test_server_list, setup_server, teardown_server),
                cmocka_unit_test_setup_teardown(test_server_tree, setup_server, teardown_server),
                cmocka_unit_test_setup_teardown(test_server_stats, setup_server, teardown_server),
        };
        /* Calls as other users need root to change uid. */
        const struct CMUnitTest access_tests[] = {
                cmocka_unit_test_setup_teardown(test_access_root_only, setup_server, teardown_server),
                cmocka_unit_test_setup_teardown(test_access_hidepid, setup_server, teardown_server),
        };
        int r;

        tc_init("methods");

        r = cmocka_run_group_tests(tests, NULL, NULL);
        if (r != 0)
                return r;
        if (geteuid() != 0) {
                printf("SKIP: the access tests need root to call as other users.\n");
                return 0;
        }
        return cmocka_run_group_tests(access_tests, NULL, NULL);
}
