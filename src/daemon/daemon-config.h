/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The daemon's configuration: /etc/procwatchd.conf, its drop-ins and the command line, merged into
 * one PwConfig that says for every key where its value came from. Design at the top of config.c.
 * No logging: problems are collected as diagnostics with file:line for the caller to report. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event-print.h"
#include "journal-filter.h"
#include "macro.h"

/* The files, relative to the configuration root ("/" outside tests). */
#define PW_CONFIG_MAIN_FILE "/etc/procwatchd.conf"
/* Drop-in folders, highest priority first: a file name in one masks that name in the later ones. */
#define PW_CONFIG_DROPIN_DIRS                                                                             \
        "/etc/procwatchd.conf.d", "/run/procwatchd.conf.d", "/usr/local/lib/procwatchd.conf.d",           \
                "/usr/lib/procwatchd.conf.d"
#define PW_CONFIG_N_DROPIN_DIRS 4U

/* Limits on what a configuration can make the daemon read or hold. */
#define PW_CONFIG_FILE_MAX (1024U * 1024U)   /* bytes of one file */
#define PW_CONFIG_FILES_MAX 1024U            /* drop-ins over all folders */
#define PW_CONFIG_DIAGS_MAX 64U              /* diagnostics kept; the rest are counted */

/* Ranges of the values (the same for the command line). */
#define PW_CONFIG_RCVBUF_MIN (64ULL * 1024U)
#define PW_CONFIG_RCVBUF_MAX (1024ULL * 1024U * 1024U)
#define PW_CONFIG_RETAIN_COUNT_MAX 10000000ULL
#define PW_CONFIG_RETAIN_AGE_MAX ((uint64_t) UINT32_MAX)
#define PW_CONFIG_STRING_BUDGET_MIN (1ULL << 20)
#define PW_CONFIG_STRING_BUDGET_MAX (16ULL << 30)
#define PW_CONFIG_ARGV_MAX_MIN (4ULL << 10)
#define PW_CONFIG_ARGV_MAX_MAX (2ULL << 20) /* the kernel's own limit on argv+envp is about that */
#define PW_CONFIG_RECONCILE_MAX 86400ULL
#define PW_CONFIG_UID_SHARE_MIN 1ULL
#define PW_CONFIG_UID_SHARE_MAX 100ULL

typedef enum PwConfigKey {
        PW_CONFIG_LOG_LEVEL,
        PW_CONFIG_PRINT_EVENTS,
        PW_CONFIG_RECEIVE_BUFFER,
        PW_CONFIG_RECONCILE_INTERVAL,
        PW_CONFIG_TASKSTATS,
        PW_CONFIG_RETAIN_COUNT,
        PW_CONFIG_RETAIN_AGE,
        PW_CONFIG_STRING_BUDGET,
        PW_CONFIG_UID_SHARE,
        PW_CONFIG_ARGV_MAX,
        PW_CONFIG_JOURNAL_FORWARD,
        PW_CONFIG_JOURNAL_EVENTS,
        PW_CONFIG_JOURNAL_THREADS,
        PW_CONFIG_JOURNAL_PID,
        PW_CONFIG_JOURNAL_UID,
        PW_CONFIG_JOURNAL_COMM,
        PW_CONFIG_JOURNAL_UNIT,
        PW_CONFIG_JOURNAL_USER_UNIT,
        PW_CONFIG_JOURNAL_ARGV,
        PW_CONFIG_JOURNAL_REDACT,
        PW_CONFIG_SOCKET,
        _PW_CONFIG_KEY_MAX,
        _PW_CONFIG_KEY_INVALID = -1,
} PwConfigKey;

typedef struct PwConfigKeyInfo {
        const char *section, *name;
        const char *option;  /* the command-line option that sets it, "--rcvbuf" */
        bool list;           /* may be given many times; an empty value empties the list */
        bool live;           /* a reload applies it; otherwise a change needs a restart */
} PwConfigKeyInfo;

const PwConfigKeyInfo *pw_config_key_info(PwConfigKey k);
/* By "Section" and "Name" (case-sensitive, as systemd's). */
PwConfigKey pw_config_key_from_name(const char *section, const char *name);

/* Where a value came from: file NULL for the built-in default, PW_CONFIG_SOURCE_CMDLINE for an
 * option. */
#define PW_CONFIG_SOURCE_CMDLINE "command line"
typedef struct PwConfigSource {
        char *file;
        unsigned line;
} PwConfigSource;

typedef struct PwConfig {
        int log_level;
        PwPrintEvents print_events;
        uint64_t rcvbuf;
        uint64_t reconcile_sec;     /* 0: only after loss */
        bool taskstats;             /* resource use at exit from the kernel's taskstats */
        uint64_t retain_count;
        uint64_t retain_age_sec;
        uint64_t string_budget;
        uint64_t uid_share_percent; /* PW_CONFIG_UID_SHARE_MIN..MAX */
        uint64_t argv_max;
        bool journal;               /* forward to the journal at all */
        PwJournalFilter journal_filter;
        char *socket;               /* NULL: PW_SOCKET_PATH_DEFAULT, best effort */
        PwConfigSource sources[_PW_CONFIG_KEY_MAX];
} PwConfig;

/* Defaults; never fails. */
void pw_config_init(PwConfig *c);
void pw_config_done(PwConfig *c);
/* Deep copy of src into an uninitialised dst. Returns 0 or -ENOMEM (dst then empty but valid). */
int pw_config_copy(PwConfig *dst, const PwConfig *src);
/* Sets key k of dst to its value and source in src (restart-only keys kept at their running value).
 * Returns 0 or -ENOMEM. */
int pw_config_copy_key(PwConfig *dst, const PwConfig *src, PwConfigKey k);

/* One problem found: an error makes the whole configuration invalid, a warning does not. */
typedef struct PwConfigDiag {
        bool error;
        char *file;          /* NULL when about the configuration as a whole */
        unsigned line;       /* 0: the file as a whole */
        char *message;
} PwConfigDiag;

typedef struct PwConfigDiags {
        PwConfigDiag items[PW_CONFIG_DIAGS_MAX];
        size_t n;
        unsigned n_errors, n_warnings;  /* all, kept or not */
        unsigned n_dropped;             /* beyond PW_CONFIG_DIAGS_MAX */
} PwConfigDiags;

void pw_config_diags_done(PwConfigDiags *d);
/* "file:line: message" (or "file: ..." or the message alone); caller frees. NULL on OOM. */
char *pw_config_diag_format(const PwConfigDiag *d);

/* Assigns value to key k (value "" resets a scalar to its default and empties a list), recording
 * file:line as its source. Returns 0, -ENOMEM, or -EINVAL / -E2BIG with *reason saying why (a
 * static string). */
int pw_config_assign(PwConfig *c, PwConfigKey k, const char *value, const char *file, unsigned line,
                     const char **reason);

/* Parses the text of one file (len bytes; NULs refused) named file into c, on top of what is there.
 * Unknown sections and keys are warnings; bad values, syntax errors and overlong lines are errors.
 * Returns 0 (look at d), or -ENOMEM. */
int pw_config_parse_text(PwConfig *c, const char *file, const char *text, size_t len, PwConfigDiags *d);

/* Checks what involves more than one key (Argv=redact needs a Redact=, and the reverse). Adds an
 * error per problem; returns the number of errors added. */
unsigned pw_config_check(const PwConfig *c, PwConfigDiags *d);

/* The command line as a layer over the files: assignments in the order given. The first assignment
 * of a list key resets the list, so that options replace what the files say. */
typedef struct PwConfigLayerItem {
        PwConfigKey key;
        char *value;
} PwConfigLayerItem;
typedef struct PwConfigLayer {
        PwConfigLayerItem *items;
        size_t n;
} PwConfigLayer;
int pw_config_layer_add(PwConfigLayer *l, PwConfigKey k, const char *value);
void pw_config_layer_done(PwConfigLayer *l);
/* Applies the layer to c; errors go to d. Returns 0 or -ENOMEM. */
int pw_config_layer_apply(PwConfig *c, const PwConfigLayer *l, PwConfigDiags *d);

/* Drop-in merging, pure: names[i] is a file name found in folder dir_index[i] (0 = highest
 * priority). Keeps, per name, the entry of the highest-priority folder, sorted by name (strcmp).
 * Fills order[] with indexes into names[]; returns how many. */
size_t pw_config_merge_dropins(const char *const *names, const unsigned *dir_index, size_t n, size_t *order);

/* The files to read, in order: the main file if it exists, then every drop-in "*.conf" after
 * merging. root: prefix of every path (NULL or "/" for the real one). Paths returned include the
 * root. A drop-in that is empty or a symlink to /dev/null masks without being listed. Returns the
 * count, or a negative errno when a folder cannot be read (a missing folder is fine). */
int pw_config_find_files(const char *root, char ***ret);
void pw_config_files_free(char **files);

/* Reads the files (pw_config_find_files), then the layer (may be NULL), and checks the result,
 * into c (initialised here). Diagnostics name each file by its path without the root. *ret_files
 * (may be NULL) gets the paths read. Returns 0 with c usable when d->n_errors is 0; -ENOMEM or an
 * error reading a file (also recorded in d). */
int pw_config_load(PwConfig *c, const char *root, const PwConfigLayer *layer, PwConfigDiags *d, char ***ret_files);

/* The value of key k as strings: one for a scalar, one per element for a list (none for an empty
 * one). Feeding each back through pw_config_assign (after "" for a list) gives the same value.
 * Returns the count, or -ENOMEM. */
int pw_config_key_values(const PwConfig *c, PwConfigKey k, char ***ret);
void pw_strv_free(char **v);
/* Whether key k has the same value in a and b. -ENOMEM as a negative return. */
int pw_config_key_equal(const PwConfig *a, const PwConfig *b, PwConfigKey k);

/* The effective configuration as JSON for io.procwatch.GetConfig: {"settings": [{"section", "key",
 * "option", "value" (string, or array for a list), "source" (null for the default), "line" (null
 * unless from a file), "live"}]}. NULL on OOM. */
json_t *pw_config_to_json(const PwConfig *c);
