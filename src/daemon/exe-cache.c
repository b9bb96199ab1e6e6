/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "exe-cache.h"

typedef struct Entry {
        char *path;              /* NULL: a free slot */
        uint64_t hash;
        uint64_t used;           /* when last noted, in notes */
        bool statted, stat_ok;
        uint64_t major, minor, ino;
} Entry;

/* An index of the slots by path hash, open addressing with linear probing at most half full: every
 * exit notes its executable, and the path is almost always there already, so finding it must not
 * scan all the slots. A cell holds a slot's number + 1; 0 is an empty cell. */
#define INDEX_CELLS (EXE_CACHE_SLOTS * 2U)

struct ExeCache {
        Entry slots[EXE_CACHE_SLOTS];
        uint16_t index[INDEX_CELLS];
        uint64_t clock;
        ExeCacheStats stats;
};

/* FNV-1a: the paths are short and few. */
static uint64_t hash_path(const char *s, size_t *ret_len) {
        uint64_t h = 1469598103934665603ULL;
        size_t n = 0;

        for (; s[n]; n++)
                h = (h ^ (unsigned char) s[n]) * 1099511628211ULL;
        *ret_len = n;
        return h;
}

ExeCache *exe_cache_new(void) {
        return calloc(1, sizeof(ExeCache));
}

ExeCache *exe_cache_free(ExeCache *c) {
        if (!c)
                return NULL;
        for (unsigned i = 0; i < EXE_CACHE_SLOTS; i++)
                free(c->slots[i].path);
        free(c);
        return NULL;
}

static bool keepable(const char *path, size_t len) {
        static const char deleted[] = " (deleted)";

        if (len == 0 || len >= EXE_CACHE_PATH_MAX || path[0] != '/')
                return false;
        return !(len >= sizeof(deleted) - 1 && strcmp(path + len - (sizeof(deleted) - 1), deleted) == 0);
}

static unsigned cell_of(uint64_t h) {
        return (unsigned) (h % INDEX_CELLS);
}

/* The cell that holds path's slot, or the empty cell where it would go. */
static unsigned index_find(const ExeCache *c, uint64_t h, const char *path) {
        unsigned i = cell_of(h);

        for (;; i = (i + 1) % INDEX_CELLS) {
                const Entry *e;

                if (c->index[i] == 0)
                        return i;
                e = &c->slots[c->index[i] - 1];
                if (e->hash == h && strcmp(e->path, path) == 0)
                        return i;
        }
}

/* Empties cell i and moves later cells of the same probe run back, so that every lookup still finds
 * its slot before an empty cell (deletion without tombstones). */
static void index_remove(ExeCache *c, unsigned i) {
        unsigned j = i;

        c->index[i] = 0;
        for (;;) {
                unsigned home;

                j = (j + 1) % INDEX_CELLS;
                if (c->index[j] == 0)
                        return;
                home = cell_of(c->slots[c->index[j] - 1].hash);
                /* Cell j's entry may move to i unless its home lies cyclically in (i, j]. */
                if (i <= j ? (i < home && home <= j) : (i < home || home <= j))
                        continue;
                c->index[i] = c->index[j];
                c->index[j] = 0;
                i = j;
        }
}

int exe_cache_note(ExeCache *c, const char *path) {
        Entry *victim = NULL;
        unsigned cell;
        size_t len;
        uint64_t h;
        char *copy;

        if (!c || !path)
                return 0;
        h = hash_path(path, &len);
        if (!keepable(path, len))
                return 0;
        c->clock++;
        cell = index_find(c, h, path);
        if (c->index[cell] != 0) {
                Entry *e = &c->slots[c->index[cell] - 1];

                e->used = c->clock;
                /* Seen running again: the next lookup stats it anew (it may be a new file). */
                e->statted = false;
                return 0;
        }
        /* A new path: a free slot first, else the least recently noted path's. */
        for (unsigned i = 0; i < EXE_CACHE_SLOTS; i++) {
                Entry *e = &c->slots[i];

                if (!e->path) {
                        victim = e;
                        break;
                }
                if (!victim || e->used < victim->used)
                        victim = e;
        }
        copy = strndup(path, len);
        if (!copy)
                return -ENOMEM;
        if (victim->path) {
                index_remove(c, index_find(c, victim->hash, victim->path));
                free(victim->path);
                /* The removal may have moved the new path's empty cell back. */
                cell = index_find(c, h, path);
        }
        *victim = (Entry){ .path = copy, .hash = h, .used = c->clock };
        c->index[cell] = (uint16_t) (victim - c->slots + 1);
        c->stats.noted++;
        return 0;
}

static bool stat_entry(ExeCache *c, Entry *e) {
        struct stat st;

        c->stats.stats++;
        e->statted = true;
        e->stat_ok = stat(e->path, &st) == 0 && S_ISREG(st.st_mode);
        if (e->stat_ok) {
                e->major = major(st.st_dev);
                e->minor = minor(st.st_dev);
                e->ino = st.st_ino;
        }
        return e->stat_ok;
}

/* The kernel's new_encode_dev(): minor's low byte, major, then the rest of minor. */
static void decode_kernel_dev(uint64_t dev, uint64_t *ret_major, uint64_t *ret_minor) {
        *ret_major = (dev & 0xfff00U) >> 8;
        *ret_minor = (dev & 0xffU) | ((dev >> 12) & 0xfff00U);
}

const char *exe_cache_find(ExeCache *c, uint64_t dev, uint64_t ino) {
        uint64_t maj, min;

        if (!c || ino == 0)
                return NULL;
        c->stats.lookups++;
        decode_kernel_dev(dev, &maj, &min);
        for (unsigned i = 0; i < EXE_CACHE_SLOTS; i++) {
                Entry *e = &c->slots[i];

                if (!e->path || (e->statted && !e->stat_ok))
                        continue;
                if (!e->statted && !stat_entry(c, e))
                        continue;
                if (e->ino != ino || e->major != maj || e->minor != min)
                        continue;
                /* What was stat'ed once may have been replaced since (an upgrade): look again. */
                if (!stat_entry(c, e) || e->ino != ino || e->major != maj || e->minor != min)
                        continue;
                c->stats.named++;
                return e->path;
        }
        return NULL;
}

const ExeCacheStats *exe_cache_get_stats(const ExeCache *c) {
        return &c->stats;
}
