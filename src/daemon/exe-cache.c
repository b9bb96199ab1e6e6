/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "exe-cache.h"

typedef struct Entry {
        char *path;              /* NULL: a free slot */
        uint64_t dev, ino;
        uint64_t used;           /* when last noted, in notes */
} Entry;

/* An index of the slots by device and inode, open addressing with linear probing at most half full:
 * every exit notes its executable, which is almost always there already, so finding it must not
 * scan all the slots. A cell holds a slot's number + 1; 0 is an empty cell. */
#define INDEX_CELLS (EXE_CACHE_SLOTS * 2U)

struct ExeCache {
        Entry slots[EXE_CACHE_SLOTS];
        uint16_t index[INDEX_CELLS];
        uint64_t clock;
        ExeCacheStats stats;
};

static unsigned cell_of(uint64_t dev, uint64_t ino) {
        /* A 64-bit mix: inode numbers of one file system are often close together. */
        uint64_t h = (ino ^ (dev * 0x9e3779b97f4a7c15ULL)) * 0xff51afd7ed558ccdULL;

        return (unsigned) ((h ^ (h >> 29)) % INDEX_CELLS);
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

static bool keepable(const char *path) {
        static const char deleted[] = " (deleted)";
        size_t len = strnlen(path, EXE_CACHE_PATH_MAX);

        if (len == 0 || len >= EXE_CACHE_PATH_MAX || path[0] != '/')
                return false;
        return !(len >= sizeof(deleted) - 1 && strcmp(path + len - (sizeof(deleted) - 1), deleted) == 0);
}

/* The cell that holds dev:ino's slot, or the empty cell where it would go. */
static unsigned index_find(const ExeCache *c, uint64_t dev, uint64_t ino) {
        for (unsigned i = cell_of(dev, ino);; i = (i + 1) % INDEX_CELLS) {
                const Entry *e;

                if (c->index[i] == 0)
                        return i;
                e = &c->slots[c->index[i] - 1];
                if (e->ino == ino && e->dev == dev)
                        return i;
        }
}

/* Empties cell i and moves later cells of the same probe run back, so that every lookup still finds
 * its slot before an empty cell (deletion without tombstones). */
static void index_remove(ExeCache *c, unsigned i) {
        unsigned j = i;

        c->index[i] = 0;
        for (;;) {
                const Entry *e;
                unsigned home;

                j = (j + 1) % INDEX_CELLS;
                if (c->index[j] == 0)
                        return;
                e = &c->slots[c->index[j] - 1];
                home = cell_of(e->dev, e->ino);
                /* Cell j's entry may move to i unless its home lies cyclically in (i, j]. */
                if (i <= j ? (i < home && home <= j) : (i < home || home <= j))
                        continue;
                c->index[i] = c->index[j];
                c->index[j] = 0;
                i = j;
        }
}

int exe_cache_note(ExeCache *c, const char *path, uint64_t dev, uint64_t ino) {
        Entry *victim = NULL;
        unsigned cell;
        char *copy;

        if (!c || !path || ino == 0 || !keepable(path))
                return 0;
        c->clock++;
        cell = index_find(c, dev, ino);
        if (c->index[cell] != 0) {
                c->slots[c->index[cell] - 1].used = c->clock;
                return 0;
        }
        /* A new file: a free slot first, else the least recently noted file's. */
        for (unsigned i = 0; i < EXE_CACHE_SLOTS; i++) {
                Entry *e = &c->slots[i];

                if (!e->path) {
                        victim = e;
                        break;
                }
                if (!victim || e->used < victim->used)
                        victim = e;
        }
        copy = strdup(path);
        if (!copy)
                return -ENOMEM;
        if (victim->path) {
                index_remove(c, index_find(c, victim->dev, victim->ino));
                free(victim->path);
                /* The removal may have moved the new file's empty cell back. */
                cell = index_find(c, dev, ino);
        }
        *victim = (Entry){ .path = copy, .dev = dev, .ino = ino, .used = c->clock };
        c->index[cell] = (uint16_t) (victim - c->slots + 1);
        c->stats.noted++;
        return 0;
}

const char *exe_cache_find(ExeCache *c, uint64_t dev, uint64_t ino) {
        unsigned cell;

        if (!c || ino == 0)
                return NULL;
        c->stats.lookups++;
        cell = index_find(c, dev, ino);
        if (c->index[cell] == 0)
                return NULL;
        c->stats.named++;
        return c->slots[c->index[cell] - 1].path;
}

const ExeCacheStats *exe_cache_get_stats(const ExeCache *c) {
        return &c->stats;
}
