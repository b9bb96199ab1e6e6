/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The configuration layer: drop-in ordering and masking on a real folder tree, every key from a file
 * to the effective value and back, the command line over the files, and every kind of bad file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon-config.h"
#include "proctree.h"
#include "test-cleanup.h"

static void write_file(const char *root, const char *path, const char *text) {
        char full[512], dir[512];
        char *slash;
        FILE *f;

        snprintf(full, sizeof(full), "%s%s", root, path);
        snprintf(dir, sizeof(dir), "%s", full);
        /* mkdir -p of the parent. */
        for (char *p = dir + strlen(root) + 1; (slash = strchr(p, '/')); p = slash + 1) {
                *slash = '\0';
                (void) mkdir(dir, 0755);
                *slash = '/';
        }
        f = fopen(full, "we");
        assert_non_null(f);
        assert_int_equal(fputs(text, f) >= 0, 1);
        assert_int_equal(fclose(f), 0);
}

static void make_root(char *buf) {
        strcpy(buf, "/tmp/pwconfig-XXXXXX");
        assert_int_equal(tc_mkdtemp(buf), 0);
}

static void assert_value(const PwConfig *c, PwConfigKey k, const char *want) {
        char **v = NULL;
        int n = pw_config_key_values(c, k, &v);

        assert_int_equal(n, 1);
        assert_string_equal(v[0], want);
        pw_strv_free(v);
}

static void assert_source(const PwConfig *c, PwConfigKey k, const char *file, unsigned line) {
        if (!file) {
                assert_null(c->sources[k].file);
                return;
        }
        assert_non_null(c->sources[k].file);
        assert_string_equal(c->sources[k].file, file);
        assert_int_equal(c->sources[k].line, line);
}

/* Loads root; expects no error. */
static void load_ok(PwConfig *c, const char *root, const PwConfigLayer *layer, char ***files) {
        PwConfigDiags d = {};

        assert_int_equal(pw_config_load(c, root, layer, &d, files), 0);
        for (size_t i = 0; i < d.n; i++)
                print_message("diag: %s:%u: %s\n", d.items[i].file ?: "-", d.items[i].line, d.items[i].message);
        assert_int_equal(d.n_errors, 0);
        pw_config_diags_done(&d);
}

static void test_merge_pure(void **state) {
        const char *names[] = { "b.conf", "a.conf", "b.conf", "c.conf", "a.conf", "b.conf" };
        const unsigned dirs[] = { 3, 2, 0, 1, 3, 1 };
        size_t order[6];
        size_t n = pw_config_merge_dropins(names, dirs, 6, order);

        assert_int_equal(n, 3);
        /* a from folder 2 (masks 3), b from folder 0 (masks 1 and 3), c from 1: by name. */
        assert_int_equal(order[0], 1);
        assert_int_equal(order[1], 2);
        assert_int_equal(order[2], 3);
        assert_int_equal(pw_config_merge_dropins(names, dirs, 0, order), 0);
}

static void test_dropin_order_and_masking(void **state) {
        char root[64], p[256], **files = NULL;
        PwConfig c;
        int n;

        make_root(root);
        write_file(root, "/etc/procwatchd.conf", "[Tree]\nRetainCount=1\nRetainAge=11\n");
        /* Same name in three folders: only /etc's is read. */
        write_file(root, "/usr/lib/procwatchd.conf.d/50-same.conf", "[Tree]\nRetainCount=100\n");
        write_file(root, "/run/procwatchd.conf.d/50-same.conf", "[Tree]\nRetainCount=200\n");
        write_file(root, "/etc/procwatchd.conf.d/50-same.conf", "[Tree]\nRetainCount=300\n");
        /* /run masks /usr/local/lib, which masks /usr/lib. */
        write_file(root, "/usr/lib/procwatchd.conf.d/40-run.conf", "[Tree]\nStringBudget=2M\n");
        write_file(root, "/usr/local/lib/procwatchd.conf.d/40-run.conf", "[Tree]\nStringBudget=3M\n");
        write_file(root, "/run/procwatchd.conf.d/40-run.conf", "[Tree]\nStringBudget=4M\n");
        write_file(root, "/usr/local/lib/procwatchd.conf.d/45-local.conf", "[Tree]\nArgvMax=8K\n");
        write_file(root, "/usr/lib/procwatchd.conf.d/45-local.conf", "[Tree]\nArgvMax=16K\n");
        /* File-name order across folders, later wins: 10 (usr/lib) < 90 (etc) for RetainAge. */
        write_file(root, "/usr/lib/procwatchd.conf.d/90-late.conf", "[Tree]\nRetainAge=90\n");
        write_file(root, "/etc/procwatchd.conf.d/10-early.conf", "[Tree]\nRetainAge=10\n");
        /* Masked by a symlink to /dev/null in /etc. */
        write_file(root, "/usr/lib/procwatchd.conf.d/60-masked.conf", "[Daemon]\nLogLevel=debug\n");
        snprintf(p, sizeof(p), "%s/etc/procwatchd.conf.d/60-masked.conf", root);
        assert_int_equal(symlink("/dev/null", p), 0);
        /* Not drop-ins: another suffix, hidden, a folder. */
        write_file(root, "/etc/procwatchd.conf.d/70-x.conf.orig", "[Daemon]\nLogLevel=debug\n");
        write_file(root, "/etc/procwatchd.conf.d/.80-hidden.conf", "[Daemon]\nLogLevel=debug\n");
        snprintf(p, sizeof(p), "%s/etc/procwatchd.conf.d/85-dir.conf", root);
        assert_int_equal(mkdir(p, 0755), 0);

        n = pw_config_find_files(root, &files);
        assert_int_equal(n, 6);
        {
                const char *want[] = { "/etc/procwatchd.conf", "/etc/procwatchd.conf.d/10-early.conf",
                                       "/run/procwatchd.conf.d/40-run.conf",
                                       "/usr/local/lib/procwatchd.conf.d/45-local.conf",
                                       "/etc/procwatchd.conf.d/50-same.conf", "/usr/lib/procwatchd.conf.d/90-late.conf" };

                for (int i = 0; i < n; i++) {
                        snprintf(p, sizeof(p), "%s%s", root, want[i]);
                        assert_string_equal(files[i], p);
                }
        }
        pw_config_files_free(files);

        load_ok(&c, root, NULL, NULL);
        assert_value(&c, PW_CONFIG_RETAIN_COUNT, "300");
        assert_source(&c, PW_CONFIG_RETAIN_COUNT, "/etc/procwatchd.conf.d/50-same.conf", 2);
        assert_value(&c, PW_CONFIG_STRING_BUDGET, "4M");
        assert_value(&c, PW_CONFIG_ARGV_MAX, "8K");
        assert_value(&c, PW_CONFIG_RETAIN_AGE, "90");
        assert_source(&c, PW_CONFIG_RETAIN_AGE, "/usr/lib/procwatchd.conf.d/90-late.conf", 2);
        assert_value(&c, PW_CONFIG_LOG_LEVEL, "info");
        assert_source(&c, PW_CONFIG_LOG_LEVEL, NULL, 0);
        pw_config_done(&c);
}

static void test_no_files(void **state) {
        char root[64], **files = NULL;
        PwConfig c, d;

        make_root(root);
        assert_int_equal(pw_config_find_files(root, &files), 0);
        pw_config_files_free(files);
        load_ok(&c, root, NULL, NULL);
        pw_config_init(&d);
        for (int k = 0; k < _PW_CONFIG_KEY_MAX; k++)
                assert_int_equal(pw_config_key_equal(&c, &d, (PwConfigKey) k), 1);
        pw_config_done(&c);
        pw_config_done(&d);
}

/* Every key, a value other than its default, and how the effective configuration shows it. */
static const struct {
        PwConfigKey key;
        const char *assignments; /* lines of the file's section */
        const char *want[4];     /* the values, in order */
} round_trips[] = {
        { PW_CONFIG_LOG_LEVEL, "LogLevel=debug", { "debug" } },
        { PW_CONFIG_PRINT_EVENTS, "PrintEvents=yes", { "yes" } },
        { PW_CONFIG_PRINT_EVENTS, "PrintEvents=raw", { "raw" } },
        { PW_CONFIG_RECEIVE_BUFFER, "ReceiveBuffer=4M", { "4M" } },
        { PW_CONFIG_RECONCILE_INTERVAL, "ReconcileInterval=0", { "0" } },
        { PW_CONFIG_TASKSTATS, "Taskstats=off", { "no" } },
        { PW_CONFIG_RETAIN_COUNT, "RetainCount=12345", { "12345" } },
        { PW_CONFIG_RETAIN_AGE, "RetainAge=7", { "7" } },
        { PW_CONFIG_STRING_BUDGET, "StringBudget=1536K", { "1536K" } },
        { PW_CONFIG_UID_SHARE, "UidShare=40", { "40" } },
        { PW_CONFIG_ARGV_MAX, "ArgvMax=5000", { "5000" } },
        { PW_CONFIG_JOURNAL_FORWARD, "Forward=no", { "no" } },
        { PW_CONFIG_JOURNAL_EVENTS, "Events=fork,exit,comm", { "fork,comm,exit" } },
        { PW_CONFIG_JOURNAL_THREADS, "Threads=true", { "yes" } },
        { PW_CONFIG_JOURNAL_PID, "Pid=1\nPid=42", { "1", "42" } },
        { PW_CONFIG_JOURNAL_UID, "Uid=0\nUid=1000", { "0", "1000" } },
        { PW_CONFIG_JOURNAL_COMM, "Comm=ssh*\nComm=cron", { "ssh*", "cron" } },
        { PW_CONFIG_JOURNAL_UNIT, "Unit=*.service", { "*.service" } },
        { PW_CONFIG_JOURNAL_USER_UNIT, "UserUnit=app-*.scope\nUserUnit=dbus.service", { "app-*.scope", "dbus.service" } },
        { PW_CONFIG_JOURNAL_ARGV, "Argv=none", { "none" } },
        { PW_CONFIG_JOURNAL_REDACT, "Redact=--password=*\nRedact=-p", { "--password=*", "-p" } },
        { PW_CONFIG_SOCKET, "Socket=/run/other/socket", { "/run/other/socket" } },
};

static void test_every_key_round_trips(void **state) {
        bool covered[_PW_CONFIG_KEY_MAX] = {};

        for (size_t i = 0; i < ELEMENTSOF(round_trips); i++) {
                const PwConfigKeyInfo *info = pw_config_key_info(round_trips[i].key);
                char root[64], text[512], **v = NULL;
                PwConfig c, again, defaults;
                int n, want_n = 0;

                make_root(root);
                /* Argv=none so that Redact= alone is consistent; a comment and a blank line first. */
                snprintf(text, sizeof(text), "# comment\n\n[%s]\n%s\n%s", info->section, round_trips[i].assignments,
                         round_trips[i].key == PW_CONFIG_JOURNAL_REDACT ? "Argv=redact\n" : "");
                write_file(root, "/etc/procwatchd.conf", text);
                load_ok(&c, root, NULL, NULL);

                n = pw_config_key_values(&c, round_trips[i].key, &v);
                while (want_n < 4 && round_trips[i].want[want_n])
                        want_n++;
                assert_int_equal(n, want_n);
                for (int j = 0; j < n; j++)
                        assert_string_equal(v[j], round_trips[i].want[j]);
                /* The source is the file and the line of the last assignment. */
                assert_source(&c, round_trips[i].key, "/etc/procwatchd.conf", (unsigned) (3 + want_n));
                if (round_trips[i].key == PW_CONFIG_JOURNAL_PID || round_trips[i].key == PW_CONFIG_JOURNAL_UID ||
                    round_trips[i].key == PW_CONFIG_JOURNAL_COMM || round_trips[i].key == PW_CONFIG_JOURNAL_REDACT ||
                    round_trips[i].key == PW_CONFIG_JOURNAL_USER_UNIT)
                        assert_int_equal(c.sources[round_trips[i].key].line, 5);
                /* Not the default. */
                pw_config_init(&defaults);
                assert_int_equal(pw_config_key_equal(&c, &defaults, round_trips[i].key), 0);
                pw_config_done(&defaults);

                /* What it shows, assigned again, is the same value. */
                pw_config_init(&again);
                for (int j = 0; j < n; j++) {
                        const char *reason = NULL;
                        assert_int_equal(pw_config_assign(&again, round_trips[i].key, v[j], "x", 1, &reason), 0);
                }
                assert_int_equal(pw_config_key_equal(&c, &again, round_trips[i].key), 1);
                pw_config_done(&again);

                /* And a copy carries value and source. */
                assert_int_equal(pw_config_copy(&again, &c), 0);
                for (int k = 0; k < _PW_CONFIG_KEY_MAX; k++)
                        assert_int_equal(pw_config_key_equal(&c, &again, (PwConfigKey) k), 1);
                assert_source(&again, round_trips[i].key, "/etc/procwatchd.conf", c.sources[round_trips[i].key].line);
                pw_config_done(&again);

                pw_strv_free(v);
                pw_config_done(&c);
                covered[round_trips[i].key] = true;
        }
        for (int k = 0; k < _PW_CONFIG_KEY_MAX; k++)
                assert_true(covered[k]);
}

static void test_layers(void **state) {
        PwConfigLayer layer = {};
        char root[64];
        PwConfig c;
        char **v = NULL;

        make_root(root);
        write_file(root, "/etc/procwatchd.conf",
                   "[Journal]\nComm=a\nComm=b\nUid=5\nUserUnit=a.service\n[Tree]\nRetainCount=10\nUidShare=50\n"
                   "[Ingest]\nTaskstats=yes\n");
        /* An empty assignment resets: the list, and a scalar to its default. */
        write_file(root, "/etc/procwatchd.conf.d/20.conf", "[Journal]\nComm=\nComm=c\n[Tree]\nRetainCount=\n");
        assert_int_equal(pw_config_layer_add(&layer, PW_CONFIG_JOURNAL_UID, "7"), 0);
        assert_int_equal(pw_config_layer_add(&layer, PW_CONFIG_JOURNAL_UID, "8"), 0);
        assert_int_equal(pw_config_layer_add(&layer, PW_CONFIG_RETAIN_AGE, "3"), 0);
        /* What main() adds for --journal-user-unit=, --uid-share= and --no-taskstats. */
        assert_int_equal(pw_config_layer_add(&layer, PW_CONFIG_JOURNAL_USER_UNIT, "b.service"), 0);
        assert_int_equal(pw_config_layer_add(&layer, PW_CONFIG_UID_SHARE, "100"), 0);
        assert_int_equal(pw_config_layer_add(&layer, PW_CONFIG_TASKSTATS, "no"), 0);
        load_ok(&c, root, &layer, NULL);

        assert_int_equal(pw_config_key_values(&c, PW_CONFIG_JOURNAL_COMM, &v), 1);
        assert_string_equal(v[0], "c");
        pw_strv_free(v);
        {
                char def[32];

                snprintf(def, sizeof(def), "%u", PROCTREE_RETAIN_COUNT_DEFAULT);
                assert_value(&c, PW_CONFIG_RETAIN_COUNT, def);
        }
        assert_source(&c, PW_CONFIG_RETAIN_COUNT, "/etc/procwatchd.conf.d/20.conf", 5);
        /* The command line replaces the files' list, not adds to it. */
        assert_int_equal(pw_config_key_values(&c, PW_CONFIG_JOURNAL_UID, &v), 2);
        assert_string_equal(v[0], "7");
        assert_string_equal(v[1], "8");
        pw_strv_free(v);
        assert_source(&c, PW_CONFIG_JOURNAL_UID, PW_CONFIG_SOURCE_CMDLINE, 0);
        assert_value(&c, PW_CONFIG_RETAIN_AGE, "3");
        assert_int_equal(pw_config_key_values(&c, PW_CONFIG_JOURNAL_USER_UNIT, &v), 1);
        assert_string_equal(v[0], "b.service");
        pw_strv_free(v);
        assert_int_equal(c.journal_filter.match.n_user_units, 1);
        assert_value(&c, PW_CONFIG_UID_SHARE, "100");
        assert_int_equal(c.uid_share_percent, 100);
        assert_source(&c, PW_CONFIG_UID_SHARE, PW_CONFIG_SOURCE_CMDLINE, 0);
        assert_value(&c, PW_CONFIG_TASKSTATS, "no");
        assert_false(c.taskstats);
        assert_source(&c, PW_CONFIG_TASKSTATS, PW_CONFIG_SOURCE_CMDLINE, 0);
        pw_config_done(&c);
        pw_config_layer_done(&layer);
}

/* Parses text as one file; returns the diagnostics. */
static void parse(const char *text, size_t len, PwConfigDiags *d) {
        PwConfig c;

        pw_config_init(&c);
        *d = (PwConfigDiags){};
        assert_int_equal(pw_config_parse_text(&c, "/etc/procwatchd.conf", text, len, d), 0);
        (void) pw_config_check(&c, d);
        pw_config_done(&c);
}

static void assert_diag(const PwConfigDiags *d, size_t i, bool error, unsigned line, const char *substring) {
        assert_true(i < d->n);
        print_message("%s:%u: %s\n", d->items[i].file ?: "-", d->items[i].line, d->items[i].message);
        assert_int_equal(d->items[i].error, error);
        assert_int_equal(d->items[i].line, line);
        assert_non_null(strstr(d->items[i].message, substring));
}

static void test_bad_files(void **state) {
        static const struct {
                const char *text;
                unsigned line;
                const char *says;
        } bad[] = {
                { "[Tree]\nRetainCount=lots\n", 2, "RetainCount=lots" },
                { "[Tree]\nRetainCount=10000001\n", 2, "RetainCount" },
                { "[Tree]\nRetainAge=-1\n", 2, "RetainAge" },
                { "[Tree]\nStringBudget=1K\n", 2, "StringBudget" },
                { "[Tree]\nArgvMax=3G\n", 2, "ArgvMax" },
                { "[Ingest]\nReceiveBuffer=1\n", 2, "ReceiveBuffer" },
                { "[Ingest]\nReconcileInterval=86401\n", 2, "ReconcileInterval" },
                { "[Ingest]\nTaskstats=sometimes\n", 2, "boolean" },
                { "[Tree]\nUidShare=0\n", 2, "UidShare" },
                { "[Tree]\nUidShare=101\n", 2, "1 to 100" },
                { "[Tree]\nUidShare=50%\n", 2, "UidShare" },
                { "[Daemon]\nLogLevel=loud\n", 2, "LogLevel" },
                { "[Daemon]\n\nPrintEvents=maybe\n", 3, "boolean" },
                { "[Journal]\nForward=2\n", 2, "Forward" },
                { "[Journal]\nEvents=fork,bogus\n", 2, "Events" },
                { "[Journal]\nPid=0\n", 2, "Pid" },
                { "[Journal]\nUid=root\n", 2, "Uid" },
                { "[Journal]\nArgv=some\n", 2, "Argv" },
                { "[Control]\nSocket=relative/path\n", 2, "absolute" },
                { "[Tree]\nthis line has no equals sign\n", 2, "Syntax error" },
                { "[Tree\nRetainCount=1\n", 1, "Syntax error" },
                { "[Journal]\nArgv=redact\n", 2, "Redact=" },
                { "[Journal]\nRedact=-p\n", 2, "Argv=redact" },
        };
        PwConfigDiags d;
        char text[8192];

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                size_t e = 0;

                parse(bad[i].text, strlen(bad[i].text), &d);
                assert_int_equal(d.n_errors, 1);
                while (e < d.n && !d.items[e].error)
                        e++;
                assert_diag(&d, e, true, bad[i].line, bad[i].says);
                assert_string_equal(d.items[e].file, "/etc/procwatchd.conf");
                pw_config_diags_done(&d);
        }

        /* 65 values for a list. */
        strcpy(text, "[Journal]\n");
        for (int i = 0; i < 65; i++)
                snprintf(text + strlen(text), sizeof(text) - strlen(text), "Uid=%d\n", i);
        parse(text, strlen(text), &d);
        assert_int_equal(d.n_errors, 1);
        assert_diag(&d, 0, true, 66, "too many");
        pw_config_diags_done(&d);
        strcpy(text, "[Journal]\n");
        for (int i = 0; i < 65; i++)
                snprintf(text + strlen(text), sizeof(text) - strlen(text), "UserUnit=app-%d.scope\n", i);
        parse(text, strlen(text), &d);
        assert_int_equal(d.n_errors, 1);
        assert_diag(&d, 0, true, 66, "too many");
        pw_config_diags_done(&d);

        /* A NUL byte, and a line longer than the parser takes: errors on their lines, the rest read. */
        {
                static const char nul[] = "[Tree]\nRetain\0Count=1\nRetainAge=5\n";

                parse(nul, sizeof(nul) - 1, &d);
                assert_int_equal(d.n_errors, 1);
                assert_diag(&d, 0, true, 2, "NUL");
                pw_config_diags_done(&d);
        }
        strcpy(text, "[Journal]\nComm=");
        memset(text + strlen(text), 'x', 3000);
        strcpy(text + strlen("[Journal]\nComm=") + 3000, "\nComm=ok\n");
        parse(text, strlen(text), &d);
        assert_int_equal(d.n_errors, 1);
        assert_diag(&d, 0, true, 2, "longer than");
        pw_config_diags_done(&d);

        /* Unknown things are warnings, with their lines. */
        {
                static const char unknown[] = "LogLevel=debug\n[Nope]\nA=1\n[Tree]\nRetainCoutn=5\n";

                parse(unknown, strlen(unknown), &d);
        }
        assert_int_equal(d.n_errors, 0);
        assert_int_equal(d.n_warnings, 3);
        assert_diag(&d, 0, false, 1, "outside any section");
        assert_diag(&d, 1, false, 3, "Unknown section [Nope]");
        assert_diag(&d, 2, false, 5, "Unknown key RetainCoutn=");
        pw_config_diags_done(&d);

        /* Many problems: kept up to the limit, the rest counted. */
        {
                char *big = malloc(100 * 32);
                size_t len = 0;

                assert_non_null(big);
                len += (size_t) sprintf(big, "[Tree]\n");
                for (int i = 0; i < 99; i++)
                        len += (size_t) sprintf(big + len, "RetainAge=x%d\n", i);
                parse(big, len, &d);
                assert_int_equal(d.n_errors, 99);
                assert_int_equal(d.n, PW_CONFIG_DIAGS_MAX);
                assert_int_equal(d.n_dropped, 99 - PW_CONFIG_DIAGS_MAX);
                pw_config_diags_done(&d);
                free(big);
        }
}

static void test_load_errors_name_files(void **state) {
        PwConfigDiags d = {};
        char root[64], p[256], *s;
        PwConfig c;

        make_root(root);
        write_file(root, "/etc/procwatchd.conf", "[Tree]\nRetainCount=1\n");
        write_file(root, "/run/procwatchd.conf.d/x.conf", "[Tree]\n\n\nRetainAge=soon\n");
        assert_int_equal(pw_config_load(&c, root, NULL, &d, NULL), 0);
        assert_int_equal(d.n_errors, 1);
        s = pw_config_diag_format(&d.items[0]);
        assert_non_null(s);
        assert_non_null(strstr(s, "/run/procwatchd.conf.d/x.conf:4: Invalid RetainAge=soon"));
        free(s);
        pw_config_diags_done(&d);
        pw_config_done(&c);

        /* Too big a file. */
        snprintf(p, sizeof(p), "%s/run/procwatchd.conf.d/x.conf", root);
        assert_int_equal(truncate(p, PW_CONFIG_FILE_MAX + 1), 0);
        assert_int_equal(pw_config_load(&c, root, NULL, &d, NULL), 0);
        assert_int_equal(d.n_errors, 1);
        assert_non_null(strstr(d.items[0].message, "larger than"));
        pw_config_diags_done(&d);
        pw_config_done(&c);
}

static void test_json(void **state) {
        PwConfig c;
        json_t *j, *s;
        const char *reason;

        pw_config_init(&c);
        assert_int_equal(pw_config_assign(&c, PW_CONFIG_JOURNAL_COMM, "a\xff", "/etc/x.conf", 3, &reason), 0);
        j = pw_config_to_json(&c);
        assert_non_null(j);
        s = json_object_get(j, "settings");
        assert_int_equal(json_array_size(s), _PW_CONFIG_KEY_MAX);
        for (size_t i = 0; i < json_array_size(s); i++) {
                json_t *o = json_array_get(s, i);

                if (strcmp(json_string_value(json_object_get(o, "key")), "Comm") == 0) {
                        assert_string_equal(json_string_value(json_object_get(o, "source")), "/etc/x.conf");
                        assert_int_equal(json_integer_value(json_object_get(o, "line")), 3);
                        /* Not UTF-8: replaced, never refused. */
                        assert_string_equal(json_string_value(json_array_get(json_object_get(o, "value"), 0)),
                                            "a\xef\xbf\xbd");
                } else
                        assert_true(json_is_null(json_object_get(o, "source")));
        }
        json_decref(j);
        pw_config_done(&c);
}

static const char *example_path;

/* The installed example: with every "#Key=value" uncommented, it parses without a word and gives
 * exactly the built-in defaults, so the defaults it documents are true. */
static void test_example_file(void **state) {
        PwConfigDiags d = {};
        PwConfig c, defaults;
        FILE *f = fopen(example_path, "re");
        char *text = calloc(1, 65536), line[512];
        size_t len = 0;
        unsigned keys = 0;

        assert_non_null(f);
        assert_non_null(text);
        while (fgets(line, sizeof(line), f)) {
                const char *l = line;

                if (line[0] == '#' && line[1] >= 'A' && line[1] <= 'Z' && strchr(line, '=')) {
                        l = line + 1;
                        keys++;
                }
                len += (size_t) snprintf(text + len, 65536 - len, "%s", l);
        }
        fclose(f);
        pw_config_init(&c);
        assert_int_equal(pw_config_parse_text(&c, example_path, text, len, &d), 0);
        assert_int_equal(d.n, 0);
        assert_int_equal(keys, _PW_CONFIG_KEY_MAX);
        pw_config_init(&defaults);
        for (int k = 0; k < _PW_CONFIG_KEY_MAX; k++)
                assert_int_equal(pw_config_key_equal(&c, &defaults, (PwConfigKey) k), 1);
        pw_config_done(&defaults);
        pw_config_done(&c);
        free(text);
}

int main(int argc, char *argv[]) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_merge_pure),
                cmocka_unit_test(test_dropin_order_and_masking),
                cmocka_unit_test(test_no_files),
                cmocka_unit_test(test_every_key_round_trips),
                cmocka_unit_test(test_layers),
                cmocka_unit_test(test_bad_files),
                cmocka_unit_test(test_load_errors_name_files),
                cmocka_unit_test(test_json),
                cmocka_unit_test(test_example_file),
        };

        tc_init("daemon-config");
        if (argc < 2) {
                fprintf(stderr, "usage: %s EXAMPLE-CONF\n", argv[0]);
                return 2;
        }
        example_path = argv[1];
        return cmocka_run_group_tests_name("configuration", tests, NULL, NULL);
}
