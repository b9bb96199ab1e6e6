/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Fuzz target: the whole configuration layer on any bytes. The input is split at each "\n----\n"
 * into up to 8 files, parsed in order into one configuration as drop-ins would be; then the last
 * part, line by line as "KEY-INDEX VALUE", is a command-line layer; then the cross-key check, the
 * JSON of GetConfig, and the comparison a reload makes.
 *
 * Beyond memory errors, it aborts when a promise breaks: every diagnostic has a message and, when
 * about a file, that file's name and a line within it; a configuration without errors shows every
 * key as values that, assigned again to a fresh configuration, give the same values (what
 * `procwatchctl config` prints can be read back); a copy equals its original. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon-config.h"
#include "fuzz.h"

static void check(int ok, const char *what) {
        if (!ok) {
                fprintf(stderr, "fuzz-config: broken promise: %s\n", what);
                abort();
        }
}

static const char *const names[] = { "/etc/procwatchd.conf", "/etc/procwatchd.conf.d/a.conf",
                                     "/run/procwatchd.conf.d/b.conf", "/usr/lib/procwatchd.conf.d/c.conf" };

static unsigned count_lines(const char *s, size_t n) {
        unsigned lines = 1;

        for (size_t i = 0; i < n; i++)
                lines += s[i] == '\n';
        return lines;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static const char sep[] = "\n----\n";
        const char *p = (const char *) data, *end = p + size;
        PwConfigDiags d = {};
        PwConfigLayer layer = {};
        PwConfig c, again;
        unsigned lines[8] = {};
        size_t n_parts = 0;
        json_t *j;

        if (size > 64 * 1024)
                return 0;
        pw_config_init(&c);
        while (p <= end && n_parts < 8) {
                const char *next = memmem(p, (size_t) (end - p), sep, sizeof(sep) - 1);
                size_t len = next ? (size_t) (next - p) : (size_t) (end - p);

                if (!next && n_parts > 0) {
                        /* The last part: a command-line layer, "INDEX VALUE" per line. */
                        char *copy = strndup(p, len), *save = NULL;

                        if (!copy)
                                break;
                        for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
                                unsigned k = (unsigned char) l[0] % _PW_CONFIG_KEY_MAX;

                                if (pw_config_layer_add(&layer, (PwConfigKey) k, l[0] ? l + 1 : l) < 0)
                                        break;
                        }
                        free(copy);
                        break;
                }
                lines[n_parts] = count_lines(p, len);
                if (pw_config_parse_text(&c, names[n_parts % 4], p, len, &d) < 0)
                        goto finish;
                n_parts++;
                if (!next)
                        break;
                p = next + sizeof(sep) - 1;
        }
        if (pw_config_layer_apply(&c, &layer, &d) < 0)
                goto finish;
        (void) pw_config_check(&c, &d);

        check(d.n <= PW_CONFIG_DIAGS_MAX, "diagnostics bounded");
        check(d.n + d.n_dropped == d.n_errors + d.n_warnings, "every diagnostic counted once");
        for (size_t i = 0; i < d.n; i++) {
                check(d.items[i].message && d.items[i].message[0], "a diagnostic says something");
                if (d.items[i].file && d.items[i].line > 0) {
                        unsigned max = 0;

                        for (size_t k = 0; k < n_parts; k++)
                                if (strcmp(names[k % 4], d.items[i].file) == 0 && lines[k] > max)
                                        max = lines[k];
                        check(max == 0 || d.items[i].line <= max, "a diagnostic's line is in its file");
                }
        }

        j = pw_config_to_json(&c);
        check(j != NULL, "JSON of any configuration");
        json_decref(j);

        if (d.n_errors == 0) {
                pw_config_init(&again);
                for (int k = 0; k < _PW_CONFIG_KEY_MAX; k++) {
                        char **v = NULL;
                        const char *reason = NULL;
                        int n = pw_config_key_values(&c, (PwConfigKey) k, &v);

                        if (n < 0)
                                break;
                        check(pw_config_assign(&again, (PwConfigKey) k, "", "x", 1, &reason) == 0, "reset");
                        for (int i = 0; i < n; i++)
                                check(pw_config_assign(&again, (PwConfigKey) k, v[i], "x", 1, &reason) == 0,
                                      "a shown value is accepted again");
                        pw_strv_free(v);
                        check(pw_config_key_equal(&c, &again, (PwConfigKey) k) == 1, "a shown value round-trips");
                }
                pw_config_done(&again);
                if (pw_config_copy(&again, &c) == 0) {
                        for (int k = 0; k < _PW_CONFIG_KEY_MAX; k++)
                                check(pw_config_key_equal(&c, &again, (PwConfigKey) k) == 1, "a copy is equal");
                        pw_config_done(&again);
                }
        }
finish:
        pw_config_layer_done(&layer);
        pw_config_diags_done(&d);
        pw_config_done(&c);
        return 0;
}
